"""Reconciliation: every input row and every unit of value accounted for.

Touch rows read = rejected + after conversion + outside lookback + in the credit window.
Value in (converted journeys) = value of journeys with a touch in the window + value of
converted journeys left with none. For every conserving model, credited value equals
the former; any difference beyond 1e-9 relative is reported as a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from attribution.io.intake import Intake
from attribution.journeys import Journeys, WindowCounts

RELATIVE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class WindowSummary:
    """The credit window one group of models saw."""

    lookback_days: float | None
    counts: WindowCounts
    touches_in_window: int
    converted_without_touches: int
    value_without_touches: float
    creditable_value: float

    @classmethod
    def of(
        cls, lookback_days: float | None, windowed: Journeys, counts: WindowCounts
    ) -> WindowSummary:
        empty = windowed.converted & (windowed.lengths == 0)
        return cls(
            lookback_days=lookback_days,
            counts=counts,
            touches_in_window=windowed.n_touches,
            converted_without_touches=int(windowed.weight[empty].sum()),
            value_without_touches=float(windowed.value[empty].sum()),
            creditable_value=float(windowed.value[windowed.converted & ~empty].sum()),
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
    def status(self) -> str:
        if not self.conserving:
            return "not conserving by design"
        scale = max(abs(self.expected_value), 1.0)
        return "ok" if abs(self.difference) <= RELATIVE_TOLERANCE * scale else "MISMATCH"


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
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(m.status != "MISMATCH" for m in self.models)

    def to_frame(self) -> pd.DataFrame:
        """The reconciliation as rows of ``section``, ``item``, ``value`` (numbers) and
        ``text`` (statuses and notes)."""
        rows = self._rows()
        return pd.DataFrame(
            {
                "section": [r[0] for r in rows],
                "item": [r[1] for r in rows],
                "value": [_numeric(r[2]) for r in rows],
                "text": [None if _numeric(r[2]) == r[2] else str(r[2]) for r in rows],
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
                (name, "touches in the credit window", window.touches_in_window),
                (
                    name,
                    "converted journeys with no touch in the window",
                    window.converted_without_touches,
                ),
                (name, "value of those journeys (not credited)", window.value_without_touches),
                (name, "creditable value", window.creditable_value),
            ]
        for model in self.models:
            rows += [
                (f"model {model.model}", "touches credited", model.touches_credited),
                (f"model {model.model}", "credited conversions", model.credited_conversions),
                (f"model {model.model}", "credited value", model.credited_value),
                (f"model {model.model}", "difference from creditable value", model.difference),
                (f"model {model.model}", "status", model.status),
            ]
        rows += [("notes", "", note) for note in self.notes]
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
            text = _format(value)
            lines.append(f"    {item:<52} {text}" if item else f"    {text}")
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
                    _format(m.touches_credited),
                    _format(m.credited_conversions),
                    _format(m.credited_value),
                    _format(m.difference),
                    m.status,
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


def _numeric(value: object) -> float | None:
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


def _format(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    text = f"{value:,.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
