"""Reconciliation: every input row and every unit of value accounted for.

Touch rows read = rejected + after conversion + outside lookback + in the credit window.
Value in (converted journeys) = value of journeys with a touch in the window + value of
untouched converted journeys (no touch at all, or none left in the window). For every
conserving model, credited value equals the former; any difference beyond 1e-9 relative
is reported as a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import pandas as pd

from attribution.io.intake import Intake
from attribution.journeys import Journeys, WindowCounts
from attribution.notes import Note

RELATIVE_TOLERANCE = 1e-9


class Status(str, Enum):
    """A model's reconciliation status."""

    OK = "ok"
    NOT_CONSERVING = "not conserving by design"
    MISMATCH = "MISMATCH"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class WindowSummary:
    """The credit window one group of models saw (sums over journeys: mergeable).

    Untouched converted journeys are split into those with no touch at all
    (``never_touched``) and those whose touches all fell outside the window
    (``none_in_window``); ``converted_without_touches`` and ``value_without_touches``
    are their totals.
    """

    lookback_days: float | None
    counts: WindowCounts
    touches_in_window: int
    never_touched: float
    never_touched_value: float
    none_in_window: float
    none_in_window_value: float
    creditable_value: float

    @property
    def converted_without_touches(self) -> float:
        return self.never_touched + self.none_in_window

    @property
    def value_without_touches(self) -> float:
        return self.never_touched_value + self.none_in_window_value

    @classmethod
    def of(
        cls,
        lookback_days: float | None,
        windowed: Journeys,
        counts: WindowCounts,
        original_lengths: np.ndarray,
    ) -> WindowSummary:
        """The summary of a window; ``original_lengths``: touches per journey before it."""
        empty = windowed.converted & (windowed.lengths == 0)
        never = empty & (original_lengths == 0)
        emptied = empty & ~never
        return cls(
            lookback_days=lookback_days,
            counts=counts,
            touches_in_window=windowed.n_touches,
            never_touched=float(windowed.weight[never].sum()),
            never_touched_value=float(windowed.value[never].sum()),
            none_in_window=float(windowed.weight[emptied].sum()),
            none_in_window_value=float(windowed.value[emptied].sum()),
            creditable_value=float(windowed.value[windowed.converted & ~empty].sum()),
        )

    def merge(self, other: WindowSummary) -> WindowSummary:
        return WindowSummary(
            self.lookback_days,
            self.counts.merge(other.counts),
            self.touches_in_window + other.touches_in_window,
            self.never_touched + other.never_touched,
            self.never_touched_value + other.never_touched_value,
            self.none_in_window + other.none_in_window,
            self.none_in_window_value + other.none_in_window_value,
            self.creditable_value + other.creditable_value,
        )


@dataclass(frozen=True)
class ModelTotals:
    """What one model credited, against what it should have."""

    model: str
    conserving: bool
    lookback_days: float | None
    touches_credited: int
    credited_conversions: float
    credited_value: float
    expected_value: float

    @property
    def difference(self) -> float:
        return self.credited_value - self.expected_value

    @property
    def status(self) -> Status:
        if not self.conserving:
            return Status.NOT_CONSERVING
        scale = max(abs(self.expected_value), 1.0)
        ok = abs(self.difference) <= RELATIVE_TOLERANCE * scale
        return Status.OK if ok else Status.MISMATCH


@dataclass(frozen=True)
class Reconciliation:
    """Counts from reading to crediting, for one run."""

    intake: Intake | None
    journeys: int
    journeys_weighted: float
    converted_journeys: float
    value_in: float
    touches_valid: int
    windows: tuple[WindowSummary, ...]
    duplicate_touches: int = 0
    models: tuple[ModelTotals, ...] = ()
    notes: tuple[Note, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(m.status is not Status.MISMATCH for m in self.models)

    def notes_about(self, model: str | None = None, code: str | None = None) -> list[Note]:
        """The notes about a model label (None: about the input) with a given code."""
        return [
            n
            for n in self.notes
            if (model is None or n.model == model) and (code is None or n.code == code)
        ]

    def to_frame(self) -> pd.DataFrame:
        """The reconciliation as rows of ``section``, ``item``, ``value`` (numbers) and
        ``text`` (statuses and notes)."""
        rows = self._rows()
        return pd.DataFrame(
            {
                "section": [r[0] for r in rows],
                "item": [r[1] for r in rows],
                "value": [numeric_value(r[2]) for r in rows],
                "text": [None if numeric_value(r[2]) == r[2] else str(r[2]) for r in rows],
            }
        )

    def _rows(self) -> list[tuple[str, str, object]]:
        rows: list[tuple[str, str, object]] = []
        intake = self.intake
        if intake is not None:
            rows += [
                ("input", f"{_row_kind(intake)} rows read", intake.touch_rows),
                ("input", f"{_row_kind(intake)} rows rejected", intake.rejected_touch_rows),
            ]
            if intake.outcome_rows:
                rows += [
                    ("input", "outcome rows read", intake.outcome_rows),
                    ("input", "outcome rows rejected", intake.rejected_outcome_rows),
                ]
            if intake.rejected_journeys:
                rows += [
                    ("input", "journeys rejected", intake.rejected_journeys),
                    ("input", "value of rejected journeys (not credited)", intake.rejected_value),
                ]
            if intake.journeys_without_touches:
                rows.append(
                    (
                        "input",
                        "journeys with no touch (outcome row only: untouched)",
                        intake.journeys_without_touches,
                    )
                )
            if intake.journeys_without_outcome:
                rows.append(
                    (
                        "input",
                        "journeys without an outcome row (not converted)",
                        intake.journeys_without_outcome,
                    )
                )
            if intake.rows_without_journeys:
                rows.append(("input", "path rows with no journeys", intake.rows_without_journeys))
            rows += [
                ("rejected", reason, count)
                for reason, count in sorted(intake.rejected_by_reason.items())
            ]
        rows += [
            ("journeys", "touches kept", self.touches_valid),
            (
                "journeys",
                "of which duplicates of another touch (credited each)",
                self.duplicate_touches,
            ),
            ("journeys", "journey records", self.journeys),
            ("journeys", "journeys", _number(self.journeys_weighted)),
            ("journeys", "conversions", _number(self.converted_journeys)),
            ("journeys", "value in", self.value_in),
        ]
        for window in self.windows:
            name = _window_name(window.lookback_days)
            rows += [
                (
                    name,
                    "touches after conversion (never credited)",
                    window.counts.after_conversion_rows,
                ),
                (name, "touches outside the lookback window", window.counts.outside_lookback_rows),
                (name, "touches excluded (exclude)", window.counts.excluded_rows),
                (name, "touches in the credit window", window.touches_in_window),
                (
                    name,
                    "untouched converted journeys: no touch at all",
                    _number(window.never_touched),
                ),
                (name, "untouched value: no touch at all", window.never_touched_value),
                (
                    name,
                    "untouched converted journeys: no touch in the window",
                    _number(window.none_in_window),
                ),
                (name, "untouched value: no touch in the window", window.none_in_window_value),
                (name, "creditable value (touched)", window.creditable_value),
            ]
        for model in self.models:
            rows += [
                (f"model {model.model}", "touches credited", model.touches_credited),
                (f"model {model.model}", "credited conversions", model.credited_conversions),
                (f"model {model.model}", "credited value", model.credited_value),
                (f"model {model.model}", "difference from creditable value", model.difference),
                (f"model {model.model}", "status", model.status.value),
            ]
        rows += [("notes", note.code, note.render()) for note in self.notes]
        return rows

    def to_text(self) -> str:
        """A readable report for the terminal: counts by section, then one line per model."""
        lines = ["Reconciliation"]
        section = None
        for item_section, item, value in self._rows():
            if str(item_section).startswith("model "):
                continue
            if item_section != section:
                section = item_section
                lines.append(f"  {section}")
            text = format_value(value)
            if item_section == "notes":
                lines.append(f"    {text}")
            else:
                lines.append(f"    {item:<52} {text}")
        if self.models:
            lines.append("  models")
            header = (
                "model",
                "touches credited",
                "conversions",
                "credited value",
                "difference",
                "status",
            )
            rows = [
                (
                    m.model,
                    format_value(m.touches_credited),
                    format_value(m.credited_conversions),
                    format_value(m.credited_value),
                    format_value(m.difference),
                    m.status.value,
                )
                for m in self.models
            ]
            widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
            for row in [header, *rows]:
                cells = [str(row[0]).ljust(widths[0])]
                cells += [str(c).rjust(w) for c, w in zip(row[1:-1], widths[1:-1], strict=True)]
                cells.append(str(row[-1]))
                lines.append("    " + "  ".join(cells))
        return "\n".join(lines)


def numeric_value(value: object) -> float | None:
    """A row's value as a number, or None for text (statuses, notes)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _row_kind(intake: Intake) -> str:
    return "path" if intake.kind == "paths" else "touch"


def _window_name(lookback_days: float | None) -> str:
    return (
        "window (no lookback)"
        if lookback_days is None
        else f"window (lookback {lookback_days:g} days)"
    )


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def format_value(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    text = f"{value:,.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
