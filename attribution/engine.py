"""Run models on journeys: window, fit, credit, roll up, reconcile."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from attribution.io.intake import Intake, Loaded
from attribution.journeys import DIMENSIONS, MISSING_LABEL, Journeys
from attribution.models.base import AttributionModel, ModelNotApplicable, TouchCredit
from attribution.models.registry import make_model, model_names
from attribution.reconciliation import ModelTotals, Reconciliation, WindowSummary
from attribution.rollup import Grouping, check_dimensions, roll_up

ModelSpec = str | AttributionModel
Models = str | Sequence[ModelSpec] | Mapping[str, AttributionModel] | None
DEFAULT_BY: tuple[str, ...] = ("channel", "team")


@dataclass(frozen=True)
class AttributionResult:
    """Credited pipeline per group and model, with the reconciliation.

    ``credits`` is long: one row per model and group, columns ``model``, the dimension
    columns, ``credited_conversions``, ``credited_value``, ``share`` and any per-channel
    columns a model adds (e.g. ``removal_effect``). ``rollups`` holds the same for every
    roll-up asked for (``credits`` is ``rollups[by]``). ``touch_credits`` (when asked
    for) has one row per model and touch of a converted journey. ``models`` are the
    fitted models by label.
    """

    credits: pd.DataFrame
    reconciliation: Reconciliation
    models: dict[str, AttributionModel]
    by: tuple[str, ...]
    rollups: dict[tuple[str, ...], pd.DataFrame]
    touch_credits: pd.DataFrame | None = None


def resolve_models(
    models: Models,
    journeys: Journeys,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[dict[str, AttributionModel], list[str]]:
    """Models by label, and notes about models ``"all"`` left out for this input.

    ``parameters`` holds constructor parameters for models given by name.
    """
    notes: list[str] = []
    parameters = parameters or {}
    if models is None or models == "all":
        resolved = {}
        for name in model_names():
            model = make_model(name, parameters.get(name))
            if model.needs_times and not journeys.has_times:
                notes.append(f"{name} left out: it needs touch timestamps, which path tables lack")
                continue
            resolved[name] = model
        return resolved, notes
    if isinstance(models, str):
        models = [m.strip() for m in models.split(",") if m.strip()]
    if isinstance(models, Mapping):
        resolved = dict(models)
    else:
        resolved = {}
        for spec in models:
            model = make_model(spec, parameters.get(spec)) if isinstance(spec, str) else spec
            if model.name in resolved:
                raise ValueError(
                    f"model {model.name!r} is listed twice; pass a mapping of labels to models "
                    "to run one model with different parameters"
                )
            resolved[model.name] = model
    if not resolved:
        raise ValueError("no models to run")
    for label, model in resolved.items():
        if model.needs_times and not journeys.has_times:
            raise ValueError(f"{label} needs touch timestamps; path tables have none")
    return resolved, notes


def attribute(
    data: Loaded | Journeys,
    models: Models = None,
    *,
    by: Sequence[str] = DEFAULT_BY,
    lookback_days: float | None = None,
    touch_credits: bool = False,
    also_by: Sequence[Sequence[str]] = (),
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> AttributionResult:
    """Credit the converted journeys' value to touches with each model, and roll it up.

    ``models``: ``None`` or ``"all"`` (every registered model that fits the input; one
    that cannot run on this data, e.g. Markov without conversions, is left out with a
    note), a comma-separated string or a sequence of names and model objects, or a
    mapping of labels to models. ``by``: the dimensions of the roll-up (any combination of
    channel, team, campaign, touch_type). ``lookback_days``: touches earlier than this
    many days before the conversion are not credited. ``also_by``: further roll-ups
    computed from the same credits (each exact, also for models that count a group
    once per journey, whose roll-ups cannot be summed from a finer one).
    ``parameters``: constructor parameters of models named in ``models``, by name,
    e.g. ``{"time_decay": {"half_life_days": 3}}``.
    """
    journeys = data.journeys if isinstance(data, Loaded) else data
    intake = data.intake if isinstance(data, Loaded) else None
    by = check_dimensions(by)
    rollup_dims = list(dict.fromkeys([by, *(check_dimensions(d) for d in also_by)]))
    resolved, notes = resolve_models(models, journeys, parameters)
    every_model = models is None or models == "all"
    for dimension in {d for dims in rollup_dims for d in dims}:
        if journeys.names(dimension) == (MISSING_LABEL,):
            notes.append(f"the input has no {dimension}: every touch is in group {MISSING_LABEL}")
    windows: dict[float | None, tuple[Journeys, WindowSummary]] = {}
    groupings: dict[tuple[float | None, bool, tuple[str, ...]], Grouping] = {}
    frames: dict[tuple[str, ...], list[pd.DataFrame]] = {dims: [] for dims in rollup_dims}
    touch_frames: list[pd.DataFrame] = []
    totals: list[ModelTotals] = []
    for label, model in resolved.items():
        window_days = lookback_days if model.uses_lookback else None
        if window_days not in windows:
            windowed, counts = journeys.window(window_days)
            windows[window_days] = (windowed, WindowSummary.of(window_days, windowed, counts))
        windowed, summary = windows[window_days]
        if progress is not None:
            progress(label)
        credited = windowed.converted_only if model.credits_converted_only else windowed
        try:
            credit = model.fit(windowed).credit(credited)
        except ModelNotApplicable as error:
            if not every_model:
                raise
            notes.append(f"{label} left out: {error}")
            continue
        for dims in rollup_dims:
            key = (window_days, model.credits_converted_only, dims)
            if key not in groupings:
                # Groups are those of the whole input, so every model lists the same ones.
                groupings[key] = Grouping.of(journeys, dims, touches=credited)
            frame = roll_up(
                credited, credit, groupings[key], counts_groups_once=model.counts_groups_once
            )
            frame = _with_channel_columns(frame, model, windowed)
            frame.insert(0, "model", label)
            frames[dims].append(frame)
        totals.append(_totals(label, model, credit, summary, frames[by][-1]))
        notes.extend(f"{label}: {note}" for note in model.notes())
        if touch_credits:
            touch_frames.append(_touch_frame(label, credited, credit, intake))
    rollups = {dims: _concat(parts) for dims, parts in frames.items()}
    reconciliation = reconcile(data, [summary for _, summary in windows.values()], totals, notes)
    fitted = {t.model: resolved[t.model] for t in totals}
    return AttributionResult(
        credits=rollups[by],
        reconciliation=reconciliation,
        models=fitted,
        by=by,
        rollups=rollups,
        touch_credits=_concat(touch_frames) if touch_credits else None,
    )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def reconcile(
    data: Loaded | Journeys,
    windows: Sequence[WindowSummary] = (),
    totals: Sequence[ModelTotals] = (),
    notes: Sequence[str] = (),
    *,
    lookback_days: float | None = None,
) -> Reconciliation:
    """The reconciliation of a run (or, with no windows given, of the input alone,
    windowed with ``lookback_days``)."""
    journeys = data.journeys if isinstance(data, Loaded) else data
    intake = data.intake if isinstance(data, Loaded) else None
    if not windows:
        windowed, counts = journeys.window(lookback_days)
        windows = [WindowSummary.of(lookback_days, windowed, counts)]
    return Reconciliation(
        intake=intake,
        journeys=journeys.n_journeys,
        journeys_weighted=float(journeys.weight.sum()),
        converted_journeys=journeys.total_conversions,
        value_in=journeys.total_value,
        touches_valid=journeys.n_touches,
        windows=tuple(windows),
        duplicate_touches=journeys.duplicate_touches,
        models=tuple(totals),
        notes=tuple(list(intake.notes if intake else ()) + list(notes)),
    )


def _with_channel_columns(
    frame: pd.DataFrame, model: AttributionModel, journeys: Journeys
) -> pd.DataFrame:
    extra = model.channel_columns()
    if not extra or "channel" not in frame.columns:
        return frame
    codes = pd.Series(range(journeys.n_channels), index=list(journeys.channel_names))
    index = codes.reindex(frame["channel"]).to_numpy()
    for name, values in extra.items():
        frame[name] = np.asarray(values)[index]
    return frame


def _totals(
    label: str,
    model: AttributionModel,
    credit: TouchCredit,
    summary: WindowSummary,
    primary: pd.DataFrame,
) -> ModelTotals:
    """Totals of a model's credit; for a model that counts a group once per journey the
    totals of its primary roll-up (a sum over touches would count a journey per touch)."""
    if model.counts_groups_once:
        conversions = float(primary["credited_conversions"].sum())
        value = float(primary["credited_value"].sum())
    else:
        conversions, value = float(credit.conversions.sum()), float(credit.value.sum())
    return ModelTotals(
        model=label,
        conserving=model.conserving,
        lookback_days=summary.lookback_days,
        touches_credited=int(np.count_nonzero((credit.value != 0) | (credit.conversions != 0))),
        credited_conversions=conversions,
        credited_value=value,
        expected_value=summary.creditable_value,
    )


def _touch_frame(
    label: str, journeys: Journeys, credit: TouchCredit, intake: Intake | None
) -> pd.DataFrame:
    """Credit of every touch of a converted journey, and of any other touch with credit,
    with its origin (file and row, as in the rejects file)."""
    in_converted = np.repeat(journeys.converted, journeys.lengths)
    touches = np.flatnonzero(in_converted | (credit.value != 0) | (credit.conversions != 0))
    frame = pd.DataFrame(
        {"model": label, "journey_id": np.repeat(journeys.journey_id, journeys.lengths)[touches]}
    )
    rows = journeys.row[touches]
    if intake is not None:
        frame["source_file"], frame["source_row"] = intake.source_of(rows)
    else:
        frame["input_row"] = rows
    if journeys.has_times:
        frame["timestamp"] = pd.to_datetime(journeys.timestamp[touches], utc=True)
    else:
        frame["position"] = journeys.timestamp[touches]
    for dimension in DIMENSIONS:
        names = np.asarray(journeys.names(dimension), dtype=object)
        frame[dimension] = names[journeys.codes(dimension)[touches]]
    frame["credited_conversions"] = credit.conversions[touches]
    frame["credited_value"] = credit.value[touches]
    return frame
