"""The report's input: aggregate tables, computed elsewhere, never recomputed here.

:class:`ReportData` is the boundary between the engine and the page. Every number the
report shows is a cell of one of its frames; the renderer only sorts, formats and draws
them. Each frame holds aggregates (per model, channel, team, period, path), never
per-touch or per-journey rows, so the page stays small whatever the size of the data.

Optional sections are ``None`` when the run did not produce them; the page then says so
in one line, with the reason given in ``omitted_reasons`` (by field name) or a generic
one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from types import MappingProxyType

import pandas as pd

from attribution.reporting.formatting import is_null

NO_TOUCH = "(no touch)"
"""The channel (and team) row of pipeline with no tracked touch."""

STATUSES = ("ok", "not conserving by design", "MISMATCH")
"""The reconciliation statuses a model can have."""

HEADLINE_KINDS = ("money", "count", "number", "percent", "text")
"""How a headline value is formatted (optional ``kind`` column of ``headline``)."""


@dataclass(frozen=True)
class Columns:
    """The columns one frame of :class:`ReportData` must and may have.

    ``numeric`` columns hold numbers (null where undefined); ``key`` columns identify a
    row, so no two rows share them (a duplicate would be drawn twice).
    """

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    key: tuple[str, ...] = ()


INTERVAL_COLUMNS = ("share_low", "share_high", "credited_value_low", "credited_value_high")
SCORECARD_METRICS = (
    "opportunities",
    "pipeline",
    "win_rate",
    "cycle_days",
    "velocity_per_day",
    "cost_per_opportunity",
    "roi",
)

COLUMNS: Mapping[str, Columns] = MappingProxyType(
    {
        "headline": Columns(("item", "value"), optional=("kind",)),
        "statuses": Columns(("model", "status"), key=("model",)),
        "channel_credits": Columns(
            ("model", "channel", "credited_value", "share"),
            optional=INTERVAL_COLUMNS,
            numeric=("credited_value", "share", *INTERVAL_COLUMNS),
            key=("model", "channel"),
        ),
        "team_credits": Columns(
            ("team", "sourced", "influenced", "credited"),
            numeric=("sourced", "influenced", "credited"),
            key=("team",),
        ),
        "agreement": Columns(("model", "other", "tvd"), numeric=("tvd",), key=("model", "other")),
        "errors": Columns(
            ("model", "share_error_tvd", "rank_correlation"),
            numeric=("share_error_tvd", "rank_correlation"),
            key=("model",),
        ),
        "scorecard": Columns(
            ("model", "dimension", "group", *SCORECARD_METRICS),
            numeric=SCORECARD_METRICS,
            key=("model", "dimension", "group"),
        ),
        "trend": Columns(
            ("period", "channel", "credited_value"),
            numeric=("credited_value",),
            key=("period", "channel"),
        ),
        "top_paths": Columns(
            ("path", "conversions", "journeys", "conversion_rate"),
            numeric=("conversions", "journeys", "conversion_rate"),
            key=("path",),
        ),
        "removal_effects": Columns(
            ("channel", "removal_effect"), numeric=("removal_effect",), key=("channel",)
        ),
        "reconciliation": Columns(("section", "item", "value", "text"), numeric=("value",)),
    }
)

OPTIONAL_SECTIONS: Mapping[str, str] = MappingProxyType(
    {
        "team_credits": "No team credits",
        "agreement": "No model agreement",
        "errors": "No error against a truth",
        "scorecard": "No scorecard",
        "trend": "No trend",
        "top_paths": "No top converting paths",
        "removal_effects": "No Markov removal effects",
    }
)
"""Optional frames and the start of the line that replaces each when it is ``None``."""

DEFAULT_REASON = "not produced by this run"


@dataclass(frozen=True, kw_only=True, eq=False)
class ReportData:
    """Everything one report shows, as aggregate tables.

    Frames and their columns (``[optional]`` sections may be ``None``):

    - ``headline``: ``item``, ``value`` (number or text), optionally ``kind``, one of
      ``money``, ``count``, ``number``, ``percent``, ``text`` (how to format the value;
      without it numbers are plain numbers). Shown as tiles, in row order.
    - ``statuses``: ``model``, ``status`` (``ok``, ``not conserving by design``,
      ``MISMATCH``).
    - ``recommended_model``: the model the channel section is sorted by, and whose
      credit ``team_credits.credited`` and ``trend`` show; it must be a model of
      ``channel_credits``. ``recommended_missing``: the recommended model's name when
      it did not run (then ``recommended_model`` is only the model the charts are
      sorted by, and the report says so), ``""`` when it ran.
    - ``channel_credits``: ``model``, ``channel``, ``credited_value``, ``share``, and
      optionally the bootstrap intervals ``share_low``, ``share_high``,
      ``credited_value_low``, ``credited_value_high`` (drawn as error bars where not
      null). A ``(no touch)`` channel row (untouched pipeline) is drawn apart.
    - ``team_credits`` [optional]: ``team``, ``sourced``, ``influenced``, ``credited``.
    - ``agreement`` [optional]: ``model``, ``other``, ``tvd``; ``errors`` [optional]:
      ``model``, ``share_error_tvd``, ``rank_correlation`` against a truth.
    - ``scorecard`` [optional]: ``model``, ``dimension`` (e.g. ``channel``, ``team``),
      ``group``, ``opportunities``, ``pipeline``, ``win_rate``, ``cycle_days``,
      ``velocity_per_day``, ``cost_per_opportunity``, ``roi``, and any further columns
      (shown too); null is an undefined ratio, shown as an em dash.
    - ``trend`` [optional]: ``period`` (text, e.g. ``2026-Q3``; shown in the order of
      first appearance), ``channel``, ``credited_value``.
    - ``top_paths`` [optional]: ``path`` (channels joined by ``" > "``),
      ``conversions``, ``journeys``, ``conversion_rate``, in the order given.
    - ``removal_effects`` [optional]: ``channel``, ``removal_effect`` (Markov).
    - ``reconciliation``: ``section``, ``item``, ``value``, ``text`` (the full table) and
      ``notes``, a sequence of strings.

    ``currency`` is written before money amounts (``""`` for plain numbers, e.g. when
    each conversion is worth 1). ``omitted_reasons`` says why an optional section is
    ``None``, by field name, e.g. ``{"scorecard": "the data has no won/closed_at
    columns"}``. The frames are checked on construction: a missing column, a text
    column where numbers belong, a duplicate row or an unknown status is a ``ValueError``
    naming the frame and the column.
    """

    title: str
    generated: str
    headline: pd.DataFrame
    statuses: pd.DataFrame
    recommended_model: str
    channel_credits: pd.DataFrame
    reconciliation: pd.DataFrame
    notes: Sequence[str] = ()
    team_credits: pd.DataFrame | None = None
    agreement: pd.DataFrame | None = None
    errors: pd.DataFrame | None = None
    scorecard: pd.DataFrame | None = None
    trend: pd.DataFrame | None = None
    top_paths: pd.DataFrame | None = None
    removal_effects: pd.DataFrame | None = None
    currency: str = "$"
    recommended_missing: str = ""
    omitted_reasons: Mapping[str, str] = field(default_factory=dict)

    @property
    def sorted_by(self) -> str:
        """How the report names the model its charts are sorted by."""
        if not self.recommended_missing:
            return "the recommended model"
        return f"the first model (the recommended model, {self.recommended_missing}, did not run)"

    def __post_init__(self) -> None:
        for name in ("title", "generated", "recommended_model", "currency", "recommended_missing"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"ReportData.{name} must be text, not {getattr(self, name)!r}")
        if isinstance(self.notes, str) or not all(isinstance(n, str) for n in self.notes):
            raise ValueError("ReportData.notes must be a sequence of strings")
        object.__setattr__(self, "notes", tuple(self.notes))
        for name, columns in COLUMNS.items():
            frame = getattr(self, name)
            if frame is None and name in OPTIONAL_SECTIONS:
                continue
            check_frame(name, frame, columns)
        self._check_values()
        self._check_reasons()

    def _check_values(self) -> None:
        unknown = sorted(set(self.statuses["status"].astype(str)) - set(STATUSES))
        if unknown:
            raise ValueError(
                f"ReportData.statuses: column 'status': unknown status {unknown[0]!r} "
                f"(known: {', '.join(STATUSES)})"
            )
        if "kind" in self.headline.columns:
            kinds = sorted(set(self.headline["kind"].dropna().astype(str)) - set(HEADLINE_KINDS))
            if kinds:
                raise ValueError(
                    f"ReportData.headline: column 'kind': unknown kind {kinds[0]!r} "
                    f"(known: {', '.join(HEADLINE_KINDS)})"
                )
        models = self.channel_credits["model"].astype(str)
        if self.recommended_model not in set(models):
            raise ValueError(
                f"ReportData.recommended_model {self.recommended_model!r} is not a model of "
                f"channel_credits (models: {', '.join(dict.fromkeys(models))})"
            )

    def _check_reasons(self) -> None:
        for name in self.omitted_reasons:
            if name not in OPTIONAL_SECTIONS:
                raise ValueError(
                    f"ReportData.omitted_reasons: {name!r} is not an optional section "
                    f"(optional: {', '.join(OPTIONAL_SECTIONS)})"
                )
            if getattr(self, name) is not None:
                raise ValueError(
                    f"ReportData.omitted_reasons gives a reason for {name!r}, which is present"
                )

    def omitted_line(self, name: str) -> str:
        """The line shown in place of the absent optional section ``name``."""
        reason = self.omitted_reasons.get(name, DEFAULT_REASON)
        return f"{OPTIONAL_SECTIONS[name]}: {reason}."

    @classmethod
    def example(cls) -> ReportData:
        """Realistic small frames: 12 channels, 4 teams, 6 models, 4 quarters."""
        from attribution.reporting.example import example_data

        return example_data()


def check_frame(name: str, frame: object, columns: Columns) -> None:
    """Raise ``ValueError`` naming ``ReportData.<name>`` unless ``frame`` fits ``columns``."""
    where = f"ReportData.{name}"
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{where} must be a pandas DataFrame, not {type(frame).__name__}")
    missing = [c for c in columns.required if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{where}: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)} "
            f"(columns present: {', '.join(repr(str(c)) for c in frame.columns) or 'none'})"
        )
    for column in columns.numeric:
        if column in frame.columns and not is_numbers(frame[column]):
            example = next(v for v in frame[column] if not is_number_or_null(v))
            raise ValueError(
                f"{where}: column {column!r} must hold numbers (null where undefined); "
                f"e.g. {example!r}"
            )
    if columns.key:
        duplicated = frame.duplicated(list(columns.key), keep=False)
        if duplicated.any():
            row = frame.loc[duplicated, list(columns.key)].iloc[0]
            described = ", ".join(f"{k}={row[k]!r}" for k in columns.key)
            raise ValueError(
                f"{where}: {int(duplicated.sum())} rows share the same "
                f"{', '.join(columns.key)} (e.g. {described}); each must appear once"
            )


def is_numbers(column: pd.Series) -> bool:
    """Whether a column holds numbers (of a numeric dtype, or all numbers or nulls)."""
    if pd.api.types.is_bool_dtype(column):
        return False
    if pd.api.types.is_numeric_dtype(column):
        return True
    return all(is_number_or_null(v) for v in column)


def is_number_or_null(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, Real):
        return True
    return is_null(value)
