"""Run models on journeys: window, fit, credit, roll up, reconcile.

One call of :func:`attribute` runs every chosen model on the same journeys: each model
sees the touches in its credit window (the lookback window, unless the model ignores
it), learns from every journey (``fit``; rule models learn nothing) and credits the
converted journeys (``credit``); the per-touch credit is then rolled up by each asked
combination of dimensions and checked against the creditable value.

The steps are functions of a :class:`~attribution.plan.RunPlan` and one partition of
whole journeys, so the distributed engine (:mod:`attribution.dask`) runs the same steps
per partition and merges their sums.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from attribution.io.intake import Intake, Loaded
from attribution.journeys import Journeys
from attribution.errors import ParameterError
from attribution.models.base import AttributionModel, ModelNotApplicable, TouchCredit
from attribution.models.registry import recommended_model
from attribution.notes import Note
from attribution.periods import Cohort, Period
from attribution.plan import Models, RunPlan, plan_run
from attribution.reconciliation import ModelTotals, Reconciliation, WindowSummary
from attribution.rollup import (
    GroupSums,
    present_groups,
    rollup_frame,
    sum_groups,
    untouched_sums,
)
from attribution.bootstrap import Bootstrap
from attribution.replicates import ReplicateRun
from attribution.scorecards import Costs, ScorecardPass

DEFAULT_BY: tuple[str, ...] = ("channel", "team")


@dataclass(frozen=True)
class AttributionResult:
    """Credited pipeline per group and model, with the reconciliation.

    ``credits`` is long: one row per model and group, columns ``model``, the dimension
    columns, ``credited_conversions``, ``credited_value``, ``share`` and any per-channel
    columns a model adds (e.g. ``removal_effect``); conserving models add the untouched
    group ``(no touch)``. ``rollups`` holds the same for every roll-up asked for
    (``credits`` is ``rollups[by]``). ``touch_credits`` (when asked for) has one row per
    model and touch of a converted journey. ``models`` are the fitted models by label.
    ``scorecards`` (when asked for) holds the revenue scorecard of every roll-up
    (:mod:`attribution.scorecards`).
    """

    credits: pd.DataFrame
    reconciliation: Reconciliation
    models: dict[str, AttributionModel]
    by: tuple[str, ...]
    rollups: dict[tuple[str, ...], pd.DataFrame]
    touch_credits: pd.DataFrame | None = None
    scorecards: dict[tuple[str, ...], pd.DataFrame] | None = None
    #: The recommended model for this kind of data (hazard for timed touches, presence
    #: for path tables), which views lead with.
    recommended: str = ""
    #: With a bootstrap: each model's replicate values by roll-up (rows: groups, columns:
    #: replicates), for statistics of the credits such as share errors.
    replicates: dict[tuple[str, tuple[str, ...]], pd.DataFrame] | None = None
    bootstrap: Bootstrap | None = None

    def to_arrow(self, by: Sequence[str] | None = None) -> pa.Table:
        """A roll-up (default: ``credits``) as a pyarrow Table."""
        frame = self.credits if by is None else self.rollups[tuple(by)]
        return pa.Table.from_pandas(frame, preserve_index=False)

    def summary(self) -> str:
        """The credited share of each group under each model, and the reconciliation."""
        pivot = self.credits.pivot_table(
            index=list(self.by), columns="model", values="share", aggfunc="sum", sort=False
        )
        pivot = pivot[[m for m in self.models if m in pivot.columns]]
        shares = pivot.map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
        return f"{shares.to_string()}\n\n{self.reconciliation.to_text()}"


def attribute(
    data: Loaded | Journeys,
    models: Models = "all",
    *,
    by: Sequence[str] = DEFAULT_BY,
    lookback_days: float | None = None,
    touch_credits: bool = False,
    also_by: Sequence[Sequence[str]] = (),
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    period: Period | None = None,
    cohort: Cohort | None = None,
    scorecard: bool = False,
    costs: Costs | None = None,
    bootstrap: Bootstrap | int | None = None,
    progress: Callable[[str], None] | None = None,
) -> AttributionResult:
    """Credit the converted journeys' value to touches with each model, and roll it up.

    ``models``: ``"all"`` (every registered model that fits the input; one that cannot
    run on this data, e.g. Markov without conversions, is left out with a note), one
    model name, a sequence of names and model objects, or a mapping of labels to model
    objects (one model with several settings). ``parameters``: constructor parameters of
    models chosen *by name*, e.g. ``{"time_decay": {"half_life_days": 3}}``; configure a
    model passed as an object on the object itself. ``by``: the dimensions of the
    roll-up (``channel``, ``team``, ``campaign``, ``touch_type``, any dimension read at
    load time, ``period``). ``lookback_days``: touches earlier than this many days
    before the conversion are not credited. ``also_by``: further roll-ups computed from
    the same credits (each exact, also for models that count a group once per journey).
    ``period`` (``"month"``, ``"quarter"``, ``"year"``) adds the dimension ``period``,
    taken per journey from its ``cohort`` date (default ``opportunity_created_at`` when
    the data has it, else ``converted_at``, else the first touch). ``scorecard``: also
    compute the revenue scorecard of every roll-up (:mod:`attribution.scorecards`), with
    the spend of ``costs`` (a :class:`~attribution.scorecards.Costs`) added.
    ``bootstrap``: a :class:`~attribution.bootstrap.Bootstrap` (or a number of
    replicates, with level 0.9 and seed 0) adds standard errors and percentile intervals
    to every credited value and share (:mod:`attribution.bootstrap`).
    """
    journeys = data.journeys if isinstance(data, Loaded) else data
    intake = data.intake if isinstance(data, Loaded) else None
    plan = plan_run(
        journeys,
        models,
        parameters=parameters,
        by=by,
        also_by=also_by,
        lookback_days=lookback_days,
        period=period,
        cohort=cohort,
    )
    if isinstance(bootstrap, int) and not isinstance(bootstrap, bool):
        bootstrap = Bootstrap(bootstrap)
    if bootstrap is not None:
        bootstrap.check()
    journeys = plan.prepare(journeys)
    notes = list(plan.notes)
    windows = {w: window(journeys, w) for w in plan.windows}
    any_untouched = any(s.converted_without_touches > 0 for _, s in windows.values())
    group_sets = {dims: present_groups(journeys, dims) for dims in plan.rollups}
    frames: dict[tuple[str, ...], list[pd.DataFrame]] = {dims: [] for dims in plan.rollups}
    touch_frames: list[pd.DataFrame] = []
    totals: list[ModelTotals] = []
    fitted: dict[str, AttributionModel] = {}
    cards = ScorecardPass(journeys, plan, group_sets, costs) if scorecard else None
    replicates = (
        ReplicateRun(
            bootstrap, journeys, plan, group_sets, {w: v[0] for w, v in windows.items()}, cards
        )
        if bootstrap is not None and journeys.n_journeys
        else None
    )
    if journeys.n_journeys == 0:
        notes.append(
            Note("nothing_to_credit", "nothing left to credit: the input has no valid journey")
        )
    for label, model in plan.models.items():
        windowed, summary = windows[plan.window_of(model)]
        if progress is not None:
            progress(label)
        if journeys.n_journeys == 0:
            continue
        credited = windowed.converted_only if model.credits_converted_only else windowed
        try:
            credit = model.fit(windowed).credit(credited)
        except ModelNotApplicable as error:
            if not plan.every_model:
                raise
            notes.append(Note("left_out", f"left out: {error}", model=label))
            continue
        fitted[label] = model
        sums = {
            dims: sum_groups(
                credited,
                credit,
                dims,
                group_sets[dims],
                counts_groups_once=model.counts_groups_once,
            )
            for dims in plan.rollups
        }
        for dims in plan.rollups:
            frame = rollup_frame(
                sums[dims],
                journeys,
                dims,
                value_in=journeys.total_value,
                untouched=untouched_sums(windowed, dims)
                if any_untouched and plan.shows_untouched(model)
                else None,
            )
            frame = _with_channel_columns(frame, model, journeys)
            frame.insert(0, "model", label)
            frames[dims].append(frame)
        totals.append(model_totals(label, model, credit, summary, sums[plan.by]))
        if cards is not None:
            cards.add(label, model, windowed, credited, credit)
        if replicates is not None:
            replicates.add(label, model, windowed)
        notes.extend(_as_note(note).about(label) for note in model.notes())
        if touch_credits:
            touch_frames.append(touch_frame(label, credited, credit, intake))
    if replicates is not None:
        replicates.run_linear()
        for dims, parts in frames.items():
            frames[dims] = [
                replicates.intervals(label, fitted[label], dims, part)
                for label, part in zip(fitted, parts, strict=True)
            ]
        notes.extend(replicates.notes())
    rollups = {dims: _concat(parts) for dims, parts in frames.items()}
    scorecards = None
    if cards is not None:
        card_intervals = None
        if replicates is not None:
            run = replicates

            def card_intervals(
                label: str, dims: tuple[str, ...], card: pd.DataFrame
            ) -> pd.DataFrame:
                return run.scorecard_intervals(label, fitted[label], dims, card)

        scorecards, card_notes = cards.finish(card_intervals)
        notes.extend(card_notes)
    reconciliation = reconcile(
        journeys, intake, [summary for _, summary in windows.values()], totals, notes
    )
    return AttributionResult(
        credits=rollups[plan.by],
        reconciliation=reconciliation,
        models=fitted,
        by=plan.by,
        rollups=rollups,
        touch_credits=_concat(touch_frames) if touch_credits else None,
        scorecards=scorecards,
        recommended=recommended_model(journeys.has_times),
        replicates=None if replicates is None else replicates.tables(),
        bootstrap=bootstrap,
    )


def scorecard(
    data: Loaded | Journeys | AttributionResult,
    models: Models | None = None,
    *,
    by: Sequence[str] = ("channel",),
    period: Period | None = None,
    cohort: Cohort | None = None,
    costs: Any = None,
    lookback_days: float | None = None,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """The revenue scorecard (:mod:`attribution.scorecards`): one row per model and group
    (and period), with pipeline, win rate, cycle, velocity and cost columns.

    ``models`` default to the recommended data-driven model with ``sourced`` and
    ``influenced``, so what a team sourced, influenced and is credited with stand side by
    side. ``costs``: a costs file, DataFrame or :class:`~attribution.scorecards.Costs`.
    ``data`` may be an :class:`AttributionResult` computed with ``scorecard=True``.
    """
    if isinstance(data, AttributionResult):
        if data.scorecards is None:
            raise ParameterError(
                "this result has no scorecard: run attribute(..., scorecard=True), or pass "
                "the loaded data"
            )
        key = tuple(by) + (("period",) if "period" in data.by and "period" not in by else ())
        if key not in data.scorecards:
            raise ParameterError(
                f"the result has scorecards by {', '.join(' x '.join(k) for k in data.scorecards)}"
                f", not by {' x '.join(key)}"
            )
        frame = data.scorecards[key]
        if models is not None:
            wanted = [models] if isinstance(models, str) else list(models)
            frame = frame[frame["model"].isin([str(m) for m in wanted])]
        return frame.reset_index(drop=True)
    journeys = data.journeys if isinstance(data, Loaded) else data
    if models is None:
        models = [recommended_model(journeys.has_times), "sourced", "influenced"]
    result = attribute(
        data,
        models,
        by=by,
        lookback_days=lookback_days,
        parameters=parameters,
        period=period,
        cohort=cohort,
        scorecard=True,
        costs=None if costs is None else Costs.load(costs),
    )
    assert result.scorecards is not None
    return result.scorecards[result.by]


def window(journeys: Journeys, lookback_days: float | None) -> tuple[Journeys, WindowSummary]:
    """The journeys cut to a credit window, and the window's summary."""
    windowed, counts = journeys.window(lookback_days)
    return windowed, WindowSummary.of(lookback_days, windowed, counts, journeys.lengths)


def _as_note(note: Note | str) -> Note:
    # TODO(merge wave2-presence): every model returns Note records; drop this adapter.
    return note if isinstance(note, Note) else Note("model", note)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def reconcile(
    journeys: Journeys,
    intake: Intake | None,
    windows: Sequence[WindowSummary] = (),
    totals: Sequence[ModelTotals] = (),
    notes: Sequence[Note] = (),
    *,
    lookback_days: float | None = None,
) -> Reconciliation:
    """The reconciliation of a run (or, with no windows given, of the input alone,
    windowed with ``lookback_days``)."""
    if not windows:
        windows = [window(journeys, lookback_days)[1]]
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
    known = ~np.isnan(index)
    for name, values in extra.items():
        column = np.full(len(frame), np.nan)
        column[known] = np.asarray(values, dtype=np.float64)[index[known].astype(np.int64)]
        frame[name] = column
    return frame


def model_totals(
    label: str,
    model: AttributionModel,
    credit: TouchCredit,
    summary: WindowSummary,
    primary: GroupSums,
) -> ModelTotals:
    """Totals of a model's credit; for a model that counts a group once per journey the
    totals of its primary roll-up (a sum over touches would count a journey per touch)."""
    if model.counts_groups_once:
        conversions, value = float(primary.conversions.sum()), float(primary.value.sum())
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


def touch_frame(
    label: str, journeys: Journeys, credit: TouchCredit, intake: Intake | None
) -> pd.DataFrame:
    """Credit of every touch of a converted journey, and of any other touch with credit,
    with its origin (file and row, as in the rejects file) and every dimension."""
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
    for dimension in journeys.dimensions:
        names = np.asarray(journeys.names(dimension), dtype=object)
        frame[dimension] = names[journeys.codes(dimension)[touches]]
    frame["credited_conversions"] = credit.conversions[touches]
    frame["credited_value"] = credit.value[touches]
    return frame


__all__ = ["DEFAULT_BY", "AttributionResult", "RunPlan", "attribute", "reconcile", "scorecard"]
