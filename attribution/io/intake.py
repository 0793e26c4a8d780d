"""What a load read and rejected: the first half of every reconciliation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from attribution.journeys import Journeys


@dataclass(frozen=True)
class Intake:
    """Counts of input rows read, rejected (per reason) and turned into journeys.

    For path tables a "touch row" is one path row, and ``journeys`` counts the journeys
    the rows stand for (conversions plus nulls).
    """

    kind: str
    touch_rows: int
    outcome_rows: int
    rejected_touch_rows: int
    rejected_outcome_rows: int
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    journeys_without_outcome: int = 0
    rows_without_journeys: int = 0
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Loaded:
    """Encoded journeys, the rejected rows (empty unless skipping) and the intake counts."""

    journeys: Journeys
    rejects: pd.DataFrame
    intake: Intake
