"""What a load read and rejected: the first half of every reconciliation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
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
    rejected_journeys: int = 0
    rejected_value: float = 0.0
    journeys_without_outcome: int = 0
    rows_without_journeys: int = 0
    files: tuple[str, ...] = ()
    file_starts: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    in_memory: bool = True
    notes: tuple[str, ...] = ()

    def source_of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Source file and row (1-based within the file; 0-based position for in-memory
        inputs) of touch-table rows, as in the rejects file."""
        if self.in_memory or not self.files:
            return np.full(len(rows), self.files[0] if self.files else "", dtype=object), rows
        index = np.searchsorted(self.file_starts, rows, side="right") - 1
        return np.asarray(self.files, dtype=object)[index], rows - self.file_starts[index] + 1


@dataclass(frozen=True)
class Loaded:
    """Encoded journeys, the rejected rows (empty unless skipping) and the intake counts."""

    journeys: Journeys
    rejects: pd.DataFrame
    intake: Intake
