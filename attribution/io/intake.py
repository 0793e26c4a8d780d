"""What a load read and rejected: the first half of every reconciliation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from attribution.journeys import Journeys
from attribution.notes import Note


@dataclass(frozen=True)
class Intake:
    """Counts of input rows read, rejected (per reason) and turned into journeys.

    For path tables a "touch row" is one path row, and ``journeys`` counts the journeys
    the rows stand for (conversions plus nulls). ``journeys_without_touches``: journeys
    known only from an outcome row (no touch at all), kept as zero-touch journeys.
    ``skipped_files``: files of an input folder that were not read, with the reason.
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
    journeys_without_touches: int = 0
    rows_without_journeys: int = 0
    files: tuple[str, ...] = ()
    file_starts: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    in_memory: bool = True
    skipped_files: tuple[tuple[str, str], ...] = ()
    notes: tuple[Note, ...] = ()

    def source_of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Source file and row (1-based within the file; 0-based position for in-memory
        inputs) of touch-table rows, as in the rejects file."""
        if self.in_memory or not self.files:
            return np.full(len(rows), self.files[0] if self.files else "", dtype=object), rows
        index = np.searchsorted(self.file_starts, rows, side="right") - 1
        return np.asarray(self.files, dtype=object)[index], rows - self.file_starts[index] + 1

    def merge(self, other: Intake) -> Intake:
        """The intake of two partitions of the input read apart (counts added)."""
        return Intake(
            kind=self.kind,
            touch_rows=self.touch_rows + other.touch_rows,
            outcome_rows=self.outcome_rows + other.outcome_rows,
            rejected_touch_rows=self.rejected_touch_rows + other.rejected_touch_rows,
            rejected_outcome_rows=self.rejected_outcome_rows + other.rejected_outcome_rows,
            rejected_by_reason=self.rejected_by_reason + other.rejected_by_reason,
            rejected_journeys=self.rejected_journeys + other.rejected_journeys,
            rejected_value=self.rejected_value + other.rejected_value,
            journeys_without_outcome=self.journeys_without_outcome + other.journeys_without_outcome,
            journeys_without_touches=self.journeys_without_touches + other.journeys_without_touches,
            rows_without_journeys=self.rows_without_journeys + other.rows_without_journeys,
            files=self.files + tuple(f for f in other.files if f not in self.files),
            in_memory=self.in_memory and other.in_memory,
            skipped_files=self.skipped_files
            + tuple(s for s in other.skipped_files if s not in self.skipped_files),
            notes=self.notes + tuple(n for n in other.notes if n not in self.notes),
        )


@dataclass(frozen=True)
class Loaded:
    """Encoded journeys, the rejected rows (empty unless skipping) and the intake counts."""

    journeys: Journeys
    rejects: pd.DataFrame
    intake: Intake
