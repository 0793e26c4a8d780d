"""The engine's two passes over partitions of whole journeys, and the finish.

Every result is a sum over journeys, so a run is: a **fit pass** over each partition
(window counts, the models' sufficient statistics, the groups present, the spend),
merged; the models fitted once on the merged statistics; a **credit pass** over each
partition with the fitted models (group sums of every model's credit, the untouched
groups, the scorecard's weighted sums, the bootstrap replicates), merged; and the
**finish**, which turns the merged sums into tables and the reconciliation. The local
engine (:func:`attribution.attribute`) runs this on one partition; the distributed one
(:mod:`attribution.dask`) on many, with the merges in a tree. Partitions must be coded
alike (:class:`~attribution.journeys.LabelTables`).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from attribution.bootstrap import (
    Bootstrap,
    interval,
    replicate_blocks,
)
from attribution.bootstrap import journey_keys as keys_of
from attribution.io.intake import Intake
from attribution.journeys import MISSING_LABEL, Journeys, LabelTables
from attribution.kernels.markov import split_rows
from attribution.kernels.presence_replicates import MAX_CHUNKS
from attribution.kernels.replicates import group_rows
from attribution.kernels.scorecard import journey_group_sums
from attribution.kernels.segments import NO_TIME
from attribution.models.base import (
    AttributionModel,
    ModelNotApplicable,
    SharesRows,
    TouchCredit,
    clone,
    same_model,
)
from attribution.models.shapley_game import credited_journeys
from attribution.notes import Note
from attribution.periods import PERIOD_DIMENSION, cohort_times
from attribution.plan import RunPlan
from attribution.reconciliation import ModelTotals, Reconciliation, WindowSummary
from attribution.replicate_design import Design, spread
from attribution.rollup import (
    GroupSums,
    group_index,
    labels_of,
    present_groups,
    sorted_groups,
    sum_groups,
    untouched_labels,
    untouched_sums,
)
from attribution.run_tables import rollup_tables
from attribution.scorecards import (
    FEATURES,
    INTERVAL_KPIS,
    Costs,
    ScorecardSums,
    costs_by_group,
    credit_shares,
    journey_features,
    kpis,
    lead_stage,
    merge_untouched,
    raw_columns,
    scorecard_sums,
    untouched_features,
    with_file_costs,
    with_period_of,
    with_untouched_leads,
)

Rollup = tuple[str, ...]
Window = float | None


@dataclass(frozen=True)
class RunOptions:
    """What a run computes beyond the roll-ups."""

    scorecard: bool = False
    costs: Costs | None = None
    bootstrap: Bootstrap | None = None
    touch_credits: bool = False


def window(
    journeys: Journeys, lookback_days: Window, exclude: np.ndarray | None = None
) -> tuple[Journeys, WindowSummary]:
    """The journeys cut to a credit window (without the excluded touches), and the
    window's summary."""
    windowed, counts = journeys.window(lookback_days, exclude)
    return windowed, WindowSummary.of(lookback_days, windowed, counts, journeys.lengths)


def _add(first: dict[Any, Any], second: dict[Any, Any]) -> dict[Any, Any]:
    """Two dicts of mergeable values, merged key by key."""
    out = dict(first)
    for key, value in second.items():
        out[key] = out[key].merge(value) if key in out else value
    return out


def _merge_cards(
    first: dict[tuple[str, Rollup], ScorecardSums], second: dict[tuple[str, Rollup], ScorecardSums]
) -> dict[tuple[str, Rollup], ScorecardSums]:
    """Two partitions' scorecard sums, merged key by key. The models of one credit window
    share that window's table of untouched groups (one object per window and roll-up,
    :func:`credit_pass`), so each pair of those tables is merged once, and the merged
    table is again shared."""
    merged: dict[tuple[int, int], pd.DataFrame] = {}

    def untouched(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
        pair = (id(a), id(b))
        if pair not in merged:
            merged[pair] = merge_untouched(a, b)
        return merged[pair]

    out = dict(first)
    for key, value in second.items():
        out[key] = out[key].merge(value, untouched) if key in out else value
    return out


def _shared(replicate: Any, data: Any) -> Any:
    """A merged replicate's statistics with the merged data's rows, when its rows do not
    depend on the weights (:class:`~attribution.models.base.SharesRows`)."""
    if data is None or not isinstance(replicate, SharesRows):
        return replicate
    return replicate.with_rows_of(data)


def _union(first: dict[Rollup, np.ndarray], second: dict[Rollup, np.ndarray]) -> dict:
    return {k: np.union1d(first.get(k, np.zeros(0, np.int64)), v) for k, v in second.items()} | {
        k: v for k, v in first.items() if k not in second
    }


@dataclass(frozen=True)
class JourneyCounts:
    """Journey totals of the reconciliation (sums over partitions)."""

    journeys: int
    weighted: float
    conversions: float
    value_in: float
    touches: int
    duplicates: int
    has_leads: bool
    #: With a period dimension: the journeys (weighted), conversions and value of the
    #: journeys without the cohort date, in period ``(none)``.
    without_period: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @classmethod
    def of(cls, journeys: Journeys) -> JourneyCounts:
        without_period = (0.0, 0.0, 0.0)
        if PERIOD_DIMENSION in journeys.journey_dimensions:
            period = journeys.journey_dimensions[PERIOD_DIMENSION]
            none = period.codes == period.names.index(MISSING_LABEL)
            without_period = (
                float(journeys.weight[none].sum()),
                float(journeys.conversions[none].sum()),
                float(journeys.value[none].sum()),
            )
        return cls(
            journeys.n_journeys,
            float(journeys.weight.sum()),
            journeys.total_conversions,
            journeys.total_value,
            journeys.n_touches,
            journeys.duplicate_touches,
            bool((journeys.lead_created_at != NO_TIME).any()),
            without_period,
        )

    def merge(self, other: JourneyCounts) -> JourneyCounts:
        return JourneyCounts(
            self.journeys + other.journeys,
            self.weighted + other.weighted,
            self.conversions + other.conversions,
            self.value_in + other.value_in,
            self.touches + other.touches,
            self.duplicates + other.duplicates,
            self.has_leads or other.has_leads,
            tuple(  # type: ignore[arg-type]
                a + b for a, b in zip(self.without_period, other.without_period, strict=True)
            ),
        )

    def period_note(self, plan: RunPlan) -> Note | None:
        """How many journeys are in period ``(none)`` (no cohort date), when by period."""
        if plan.period is None:
            return None
        journeys, conversions, value = self.without_period
        return Note(
            "period_none",
            f"period {MISSING_LABEL}: {journeys:,.0f} journeys ({conversions:,.0f} "
            f"conversions, value {value:,.0f}) have no {plan.cohort}",
            data={"journeys": journeys, "conversions": conversions, "value": value},
        )


@dataclass(frozen=True)
class GroupCost:
    """Recorded spend per group key (sorted, unique)."""

    keys: np.ndarray
    cost: np.ndarray

    def merge(self, other: GroupCost) -> GroupCost:
        keys = np.concatenate((self.keys, other.keys))
        unique, inverse = np.unique(keys, return_inverse=True)
        cost = np.bincount(inverse, np.concatenate((self.cost, other.cost)), len(unique))
        return GroupCost(unique, cost)


# ----------------------------------------------------------------- fit pass
@dataclass(frozen=True)
class PartitionFit:
    """The fit pass's sums of one partition (or of several, merged)."""

    statistics: dict[str, Any]
    lead_statistics: dict[str, Any]
    #: Per data-driven model, each replicate's statistics (an iterator producing them
    #: when the partition is all the data: see :func:`fit_pass`).
    replicate_statistics: dict[str, Iterable[Any]]
    failed: dict[str, str]
    keys: dict[Rollup, np.ndarray]
    card_keys: dict[Rollup, np.ndarray]
    costs: dict[Rollup, GroupCost]
    #: Per scorecard, the label combinations of the costs' keys and its dimensions.
    combinations: dict[Rollup, pd.DataFrame]
    summaries: dict[Window, WindowSummary]
    counts: JourneyCounts
    #: The scorecard groups of the lead stage (see :meth:`resolved`).
    lead_keys: dict[Rollup, np.ndarray] = field(default_factory=dict)

    def merge(self, other: PartitionFit) -> PartitionFit:
        statistics = _add(self.statistics, other.statistics)
        replicates: dict[str, Iterable[Any]] = {}
        for label in set(self.replicate_statistics) | set(other.replicate_statistics):
            mine = self.replicate_statistics.get(label)
            theirs = other.replicate_statistics.get(label)
            if mine is None:
                replicates[label] = theirs or []
            elif theirs is None:
                replicates[label] = mine
            else:
                replicates[label] = [
                    _shared(a.merge(b), statistics.get(label))
                    for a, b in zip(mine, theirs, strict=True)
                ]
        return PartitionFit(
            statistics=statistics,
            lead_statistics=_add(self.lead_statistics, other.lead_statistics),
            replicate_statistics=replicates,
            failed={**self.failed, **other.failed},
            keys=_union(self.keys, other.keys),
            card_keys=_union(self.card_keys, other.card_keys),
            costs=_add(self.costs, other.costs),
            combinations=_merge_combinations(self.combinations, other.combinations),
            summaries=_add(self.summaries, other.summaries),
            counts=self.counts.merge(other.counts),
            lead_keys=_union(self.lead_keys, other.lead_keys),
        )

    def resolved(self) -> PartitionFit:
        """The merged fit as :func:`fit_models`, the credit pass and the finish read it.

        Whether the scorecard has a lead stage depends on all the data (some journey has a
        lead date), not on one partition: every journey is part of the lead stage (those
        without a lead as not converting), so each partition sums its lead-stage
        statistics and groups, and they are kept here only when some partition has
        leads."""
        if not self.counts.has_leads:
            return replace(self, lead_statistics={}, lead_keys={})
        card_keys = {
            dims: np.union1d(keys, self.lead_keys[dims]) if dims in self.lead_keys else keys
            for dims, keys in self.card_keys.items()
        }
        return replace(self, card_keys=card_keys, lead_keys={})


def _has_lead_stage(plan: RunPlan, options: RunOptions) -> bool:
    """Whether the run computes the scorecard's lead stage: a scorecard, and a lead date
    on some journey of the data (any partition's)."""
    return options.scorecard and plan.has_lead_dates


def _lead_journeys(journeys: Journeys, plan: RunPlan) -> tuple[Journeys, np.ndarray]:
    """The lead stage (each lead in the period of its own creation)."""
    staged, columns = lead_stage(journeys)
    if plan.period is not None and PERIOD_DIMENSION in journeys.dimensions:
        staged = with_period_of(staged, journeys.lead_created_at, plan.period, "journey")
    return staged, columns


def _cost_combinations(
    journeys: Journeys, plan: RunPlan, costs: Costs | None
) -> dict[Rollup, pd.DataFrame]:
    """Per scorecard, the distinct label combinations on the touches of the costs file's
    key columns and the scorecard's dimensions (period aside): what
    :func:`with_file_costs` needs to place each cost row. A card whose key columns are
    not all in the data gets none (:func:`with_file_costs` names them)."""
    if costs is None or not all(k in journeys.dimensions for k in costs.dimensions):
        return {}
    out = {}
    for dims in plan.rollups:
        columns = list(
            dict.fromkeys([*costs.dimensions, *(d for d in dims if d != PERIOD_DIMENSION)])
        )
        out[dims] = labels_of(present_groups(journeys, columns), journeys, columns)
    return out


def _merge_combinations(
    first: dict[Rollup, pd.DataFrame], second: dict[Rollup, pd.DataFrame]
) -> dict[Rollup, pd.DataFrame]:
    merged = dict(first)
    for dims, frame in second.items():
        merged[dims] = (
            pd.concat([merged[dims], frame]).drop_duplicates(ignore_index=True)
            if dims in merged
            else frame
        )
    return merged


@dataclass(frozen=True)
class ModelContexts:
    """The first-pass contexts (:meth:`AttributionModel.context`) of the models that need
    one, by label, for their main and their lead-stage fits; merged over partitions."""

    models: dict[str, Any] = field(default_factory=dict)
    leads: dict[str, Any] = field(default_factory=dict)

    def merge(self, other: ModelContexts) -> ModelContexts:
        return ModelContexts(_add(self.models, other.models), _add(self.leads, other.leads))


def _needing_context(plan: RunPlan) -> dict[str, AttributionModel]:
    return {
        label: model
        for label, model in plan.models.items()
        if type(model).context is not AttributionModel.context
    }


def needs_context(plan: RunPlan) -> bool:
    """Whether some model of the plan has a first pass (:func:`context_pass`): an
    engine over several partitions skips that pass when none has."""
    return bool(_needing_context(plan))


def context_pass(journeys: Journeys, plan: RunPlan, options: RunOptions) -> ModelContexts:
    """The first pass of one partition, for the models whose statistics depend on all the
    data (empty, and nearly free, when no model of the plan needs one)."""
    contexts = ModelContexts()
    needing = _needing_context(plan)
    if not needing:
        return contexts
    excluded = plan.excluded(journeys)
    # Every journey is part of the lead stage (see PartitionFit.resolved).
    leads = (
        _StageWindows(_lead_journeys(journeys, plan)[0], excluded)
        if _has_lead_stage(plan, options)
        else None
    )
    for label, model in needing.items():
        lookback = plan.window_of(model)
        try:
            context = model.context(journeys.window(lookback, excluded)[0])
            if context is not None:
                contexts.models[label] = context
            if leads is not None:
                lead = model.lead_stage_model().context(leads.of(lookback))
                if lead is not None:
                    contexts.leads[label] = lead
        except ModelNotApplicable:
            continue  # the fit pass reports it
    return contexts


class _StageWindows:
    """The credit windows of one set of journeys (the lead stage), each computed once
    and shared by the models with that window."""

    def __init__(self, journeys: Journeys, excluded: np.ndarray | None) -> None:
        self.journeys = journeys
        self.excluded = excluded
        self._windows: dict[Window, Journeys] = {}

    def of(self, lookback: Window) -> Journeys:
        if lookback not in self._windows:
            self._windows[lookback] = self.journeys.window(lookback, self.excluded)[0]
        return self._windows[lookback]


def _learns_from_data(model: AttributionModel) -> bool:
    """Whether a model's statistics depend on the journeys (a rule model's do not: they
    are :class:`~attribution.models.base.NoStatistics` whatever the data)."""
    kind = type(model)
    return any(
        getattr(kind, name) is not getattr(AttributionModel, name)
        for name in ("statistics", "statistics_in_context", "context")
    )


def _inner_twin(model: AttributionModel, plan: RunPlan, candidates: Iterable[str]) -> str | None:
    """The first of ``candidates`` (labels of the plan) that is ``model``'s
    :meth:`~AttributionModel.inner_model` (the same model) in the same window: its
    statistics and its fit are ``model``'s (shapley's presence game and presence)."""
    inner = model.inner_model()
    if inner is None:
        return None
    window_days = plan.window_of(model)
    for label in candidates:
        other = plan.models[label]
        if plan.window_of(other) == window_days and same_model(other, inner):
            return label
    return None


def _statistics(model: AttributionModel, journeys: Journeys, context: Any) -> Any:
    return (
        model.statistics(journeys)
        if context is None
        else model.statistics_in_context(journeys, context)
    )


def fit_pass(
    journeys: Journeys,
    plan: RunPlan,
    options: RunOptions,
    contexts: ModelContexts | None = None,
    *,
    lazy_replicates: bool = False,
) -> PartitionFit:
    """The fit pass of one partition (``journeys``: prepared and in the shared coding).

    ``contexts``: the merged :func:`context_pass` of all partitions; without it (one
    partition) each model's context is this partition's own. Bootstrap replicates use
    the context of the data, not their own: the horizon of a replicate is the data's
    (a design choice like the lookback window, not re-estimated per replicate).
    ``lazy_replicates`` (for a partition that is all the data, never merged): the
    replicate statistics are produced as :func:`fit_models` fits them, so one replicate's
    statistics are held at a time, not all of them.
    """
    excluded = plan.excluded(journeys)
    windows = {w: window(journeys, w, excluded) for w in plan.windows}
    statistics: dict[str, Any] = {}
    failed: dict[str, str] = {}
    replicates: dict[str, Iterable[Any]] = {}
    leads = _lead_journeys(journeys, plan)[0] if _has_lead_stage(plan, options) else None
    # The lead stage first, its windows dropped before the main statistics are computed.
    lead, lead_failed = (
        _lead_statistics(leads, excluded, plan, contexts) if leads is not None else ({}, {})
    )
    boot = options.bootstrap
    keys = keys_of(journeys) if boot is not None else None
    #: Models whose statistics were computed without a context (shareable).
    contextless: list[str] = []
    for label, model in plan.models.items():
        windowed = windows[plan.window_of(model)][0]
        try:
            own = contexts.models.get(label) if contexts else model.context(windowed)
            twin = _inner_twin(model, plan, contextless) if own is None else None
            if twin is not None:
                statistics[label] = statistics[twin]
            else:
                statistics[label] = _statistics(model, windowed, own)
                if own is None:
                    contextless.append(label)
        except ModelNotApplicable as error:
            failed[label] = str(error)
            lead.pop(label, None)
            continue
        if label in lead_failed:
            failed[label] = lead_failed[label]
            continue
        if boot is not None and keys is not None and not model.linear_in_weights:
            # A clone: the plan's model object is fitted before lazy replicates are made.
            unfitted = clone(model)
            produced = replicate_statistics(unfitted, windowed, keys, boot, own, statistics[label])
            replicates[label] = produced if lazy_replicates else list(produced)
    group_keys_ = {dims: present_groups(journeys, dims) for dims in plan.rollups}
    card_keys: dict[Rollup, np.ndarray] = {}
    lead_keys: dict[Rollup, np.ndarray] = {}
    costs: dict[Rollup, GroupCost] = {}
    if options.scorecard:
        for dims in plan.rollups:
            extra = [group_keys_[dims]]
            spend = costs_by_group(journeys, dims, plan.period)
            if spend is not None:
                costs[dims] = GroupCost(*spend)
                extra.append(spend[0])
            if leads is not None:
                # The lead stage differs from the journeys in its period alone.
                lead_keys[dims] = (
                    present_groups(leads, dims) if PERIOD_DIMENSION in dims else group_keys_[dims]
                )
            card_keys[dims] = np.unique(np.concatenate(extra))
    return PartitionFit(
        statistics=statistics,
        lead_statistics=lead,
        replicate_statistics=replicates,
        failed=failed,
        keys=group_keys_,
        card_keys=card_keys,
        costs=costs,
        combinations=_cost_combinations(journeys, plan, options.costs) if options.scorecard else {},
        summaries={w: s for w, (_, s) in windows.items()},
        counts=JourneyCounts.of(journeys),
        lead_keys=lead_keys,
    )


def _lead_statistics(
    staged: Journeys,
    excluded: np.ndarray | None,
    plan: RunPlan,
    contexts: ModelContexts | None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Each model's lead-stage statistics (of its :meth:`~AttributionModel.lead_stage_model`)
    in one partition, and the models that cannot compute them (with the reason). A
    model whose statistics do not depend on the data needs no windowed lead stage; the
    others share one window per lookback."""
    lead: dict[str, Any] = {}
    failed: dict[str, str] = {}
    stage = _StageWindows(staged, excluded)
    for label, model in plan.models.items():
        stage_model = model.lead_stage_model()
        try:
            if not _learns_from_data(stage_model):
                lead[label] = stage_model.statistics(staged)
                continue
            windowed = stage.of(plan.window_of(model))
            context = contexts.leads.get(label) if contexts else stage_model.context(windowed)
            lead[label] = _statistics(stage_model, windowed, context)
        except ModelNotApplicable as error:
            failed[label] = str(error)
    return lead, failed


def replicate_statistics(
    model: AttributionModel,
    windowed: Journeys,
    keys: np.ndarray,
    boot: Bootstrap,
    context: Any,
    statistics: Any,
) -> Iterator[Any]:
    """Each bootstrap replicate's statistics of a data-driven model in one partition, in
    replicate order, produced one at a time (:meth:`AttributionModel.replicate_statistics`:
    they may share arrays with the data's ``statistics``)."""
    columns = model.replicate_columns(windowed, context, statistics)
    if columns is not None:
        # Every replicate's statistics from one pass over the journeys (per block of
        # replicates within the memory budget).
        design = Design(np.arange(windowed.n_journeys))
        design.columns(columns.n_columns)
        design.add(columns.rows, columns.entries_per_record)
        for _, sums in design.blocks(boot, keys, windowed.weight):
            for row in sums:
                yield columns.statistics(row)
        return
    for first, count in replicate_blocks(boot.replicates, windowed.n_journeys):
        factors = boot.multipliers(keys, windowed.weight, first, count)
        for r in range(count):
            yield model.replicate_statistics(windowed, context, statistics, factors[:, r])


# -------------------------------------------------------------- fitting
@dataclass
class FittedRun:
    """The models fitted on merged statistics (those that could be), by label."""

    models: dict[str, AttributionModel]
    lead_models: dict[str, AttributionModel]
    replicate_models: dict[str, list[AttributionModel | None]]
    #: Per data-driven model, the replicates that could not be fitted: (index, reason).
    failures: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)


def fit_models(plan: RunPlan, fit: PartitionFit, options: RunOptions) -> FittedRun:
    """Fit every model of the plan on the merged statistics (``fit``: merged and
    :meth:`~PartitionFit.resolved`). A model that cannot run on
    this data is left out with a note under ``all``, and is an error when asked for."""
    fitted = FittedRun({}, {}, {})
    if fit.counts.journeys == 0:
        fitted.notes.append(
            Note("nothing_to_credit", "nothing left to credit: the input has no valid journey")
        )
        return fitted
    for label, model in plan.models.items():
        try:
            if label in fit.failed:
                raise ModelNotApplicable(fit.failed[label])
            statistics = fit.statistics[label]
            # A model built on another model of the run fitted on the same statistics
            # (the same object) takes that fit instead of repeating it.
            same = [other for other in fitted.models if fit.statistics[other] is statistics]
            twin = _inner_twin(model, plan, same)
            if twin is not None:
                fitted.models[label] = model.fit_on_inner(fitted.models[twin])
            else:
                fitted.models[label] = model.fit_statistics(statistics)
        except ModelNotApplicable as error:
            if not plan.every_model:
                raise
            fitted.notes.append(Note("left_out", f"left out: {error}", model=label))
            continue
        if label in fit.lead_statistics:
            try:
                # Only credited: without what only the model's reports read.
                fitted.lead_models[label] = (
                    model.lead_stage_model().fit_statistics(fit.lead_statistics[label]).for_credit()
                )
            except ModelNotApplicable as error:
                fitted.notes.append(
                    Note("lead_stage_left_out", f"no lead-stage columns: {error}", model=label)
                )
        if twin is not None and twin in fitted.replicate_models:
            # Its replicates' fits are the twin's replicates too (the same warm-started
            # fits of the same statistics): taken, not repeated.
            fitted.replicate_models[label] = [
                None if inner is None else clone(model).fit_on_inner(inner)
                for inner in fitted.replicate_models[twin]
            ]
            if twin in fitted.failures:
                fitted.failures[label] = list(fitted.failures[twin])
        elif label in fit.replicate_statistics:
            models, failures = _fit_replicates(
                fitted.models[label], fit.replicate_statistics[label]
            )
            fitted.replicate_models[label] = models
            if failures:
                fitted.failures.setdefault(label, []).extend(failures)
    return fitted


#: Replicate fits run on this many threads (presence's fit kernels release the GIL;
#: other models' fits gain little), when numba's threading layer is threadsafe.
REPLICATE_FIT_THREADS = max(1, min(4, os.cpu_count() or 1))


def _fit_threads() -> int:
    """Threads for the replicate fits: :data:`REPLICATE_FIT_THREADS` under a threadsafe
    numba threading layer (OpenMP, TBB), else 1 and no pool: the ``workqueue`` layer
    (numba's fallback when neither is installed) aborts the process when parallel
    kernels are launched from two threads at once, as a fit on a worker thread and the
    next replicate's statistics on the calling thread would."""
    import numba

    try:
        layer = numba.threading_layer()
    except ValueError:
        # No parallel kernel has run yet, so no layer is chosen: a tiny one chooses it
        # (on this thread; the layer is fixed for the process from then on).
        from attribution.kernels.presence import log_likelihood

        log_likelihood(np.ones(1), np.zeros(1), np.zeros(1))
        layer = numba.threading_layer()
    return REPLICATE_FIT_THREADS if layer in ("omp", "tbb") else 1


def _fit_replicates(
    model: AttributionModel, statistics: Iterable[Any]
) -> tuple[list[AttributionModel | None], list[tuple[int, str]]]:
    """Each bootstrap replicate's model fitted on its ``statistics`` (``model``: fitted on
    the data), in replicate order, and the replicates that could not be fitted (index,
    reason; their model is None). Fits are independent, so they run on
    :data:`REPLICATE_FIT_THREADS` threads, a few replicates' statistics taken ahead of
    them at a time (:func:`_fit_threads`); each fit's result does not depend on the
    threads."""

    def one(item: Any) -> tuple[AttributionModel | None, str | None]:
        try:
            # Kept for its credit only (the replicates' models are held all at once).
            return model.fit_replicate(item).for_credit(), None
        except ModelNotApplicable as error:
            return None, str(error)

    threads = _fit_threads()
    results: list[tuple[AttributionModel | None, str | None]] = []
    if threads == 1:
        results = [one(item) for item in statistics]
    else:
        with ThreadPoolExecutor(threads) as pool:
            pending: deque[Future[tuple[AttributionModel | None, str | None]]] = deque()
            for item in statistics:
                pending.append(pool.submit(one, item))
                if len(pending) >= 2 * threads:
                    results.append(pending.popleft().result())
            results.extend(future.result() for future in pending)
    failures = [(r, reason) for r, (_, reason) in enumerate(results) if reason is not None]
    return [fitted for fitted, _ in results], failures


# -------------------------------------------------------------- credit pass
@dataclass(frozen=True)
class CreditTotals:
    """A model's credited touches, conversions and value (sums over partitions)."""

    touches: int
    conversions: float
    value: float

    def merge(self, other: CreditTotals) -> CreditTotals:
        return CreditTotals(
            self.touches + other.touches,
            self.conversions + other.conversions,
            self.value + other.value,
        )


def _merge_labelled(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """Two tables of sums keyed by their text (label) columns, added by label."""
    frame = pd.concat([first, second], ignore_index=True)
    if frame.empty:
        return frame
    # Labels are text: object columns, or pandas' string dtype (pandas 3 reads text as it).
    labels = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    return frame.groupby(labels, as_index=False, sort=True).sum()


@dataclass(frozen=True)
class Labelled:
    """A table of sums keyed by label columns, mergeable."""

    frame: pd.DataFrame

    def merge(self, other: Labelled) -> Labelled:
        return Labelled(_merge_labelled(self.frame, other.frame))


@dataclass(frozen=True)
class ReplicateSums:
    """Bootstrap replicate sums of one partition (or several, merged)."""

    values: dict[tuple[str, Rollup], np.ndarray]
    untouched: dict[tuple[Window, Rollup], Labelled]
    value_in: np.ndarray
    card_sums: dict[tuple[str, Rollup], np.ndarray]
    card_pipeline: dict[tuple[str, Rollup], np.ndarray]
    card_untouched: dict[tuple[Window, Rollup], Labelled]

    def merge(self, other: ReplicateSums) -> ReplicateSums:
        def add(a: dict[Any, np.ndarray], b: dict[Any, np.ndarray]) -> dict[Any, np.ndarray]:
            return {k: a[k] + b[k] if k in a else b[k] for k in b} | {
                k: v for k, v in a.items() if k not in b
            }

        return ReplicateSums(
            add(self.values, other.values),
            _add(self.untouched, other.untouched),
            self.value_in + other.value_in,
            add(self.card_sums, other.card_sums),
            add(self.card_pipeline, other.card_pipeline),
            _add(self.card_untouched, other.card_untouched),
        )


@dataclass(frozen=True)
class PartitionCredit:
    """The credit pass's sums of one partition (or of several, merged)."""

    sums: dict[tuple[str, Rollup], GroupSums]
    totals: dict[str, CreditTotals]
    untouched: dict[tuple[Window, Rollup], Labelled]
    cards: dict[tuple[str, Rollup], ScorecardSums]
    replicates: ReplicateSums | None
    touch_frames: tuple[pd.DataFrame, ...] = ()

    def merge(self, other: PartitionCredit) -> PartitionCredit:
        replicates = self.replicates
        if replicates is not None and other.replicates is not None:
            replicates = replicates.merge(other.replicates)
        elif replicates is None:
            replicates = other.replicates
        return PartitionCredit(
            sums=_add(self.sums, other.sums),
            totals=_add(self.totals, other.totals),
            untouched=_add(self.untouched, other.untouched),
            cards=_merge_cards(self.cards, other.cards),
            replicates=replicates,
            touch_frames=self.touch_frames + other.touch_frames,
        )


def credit_pass(
    journeys: Journeys,
    plan: RunPlan,
    fitted: FittedRun,
    fit: PartitionFit,
    options: RunOptions,
    intake: Intake | None = None,
) -> PartitionCredit:
    """The credit pass of one partition with the fitted models."""
    excluded = plan.excluded(journeys)
    windows = {w: window(journeys, w, excluded)[0] for w in plan.windows}
    sums: dict[tuple[str, Rollup], GroupSums] = {}
    totals: dict[str, CreditTotals] = {}
    cards: dict[tuple[str, Rollup], ScorecardSums] = {}
    frames: list[pd.DataFrame] = []
    features = first_touch = None
    leads = None
    if options.scorecard:
        first_touch = _first_touch(journeys)
        features = journey_features(journeys, first_touch)
        if fitted.lead_models:
            leads = _LeadCredit(journeys, plan)
    groups: dict[tuple[int, Rollup], tuple[Journeys, np.ndarray]] = {}
    credits: dict[str, tuple[Journeys, TouchCredit]] = {}

    def group_of(credited: Journeys, dims: Rollup) -> np.ndarray:
        """The touches' group indices, computed once per set of journeys and roll-up."""
        key = (id(credited), dims)
        if key not in groups:
            groups[key] = (credited, group_index(credited, dims, fit.keys[dims]))
        return groups[key][1]

    def card_group_of(credited: Journeys, dims: Rollup) -> np.ndarray:
        """The touches' indices among the scorecard's groups (which hold the roll-up's)."""
        group, keys, card_keys = group_of(credited, dims), fit.keys[dims], fit.card_keys[dims]
        if np.array_equal(keys, card_keys):
            return group
        return np.searchsorted(card_keys, keys)[group]

    untouched_cards: dict[tuple[int, int, Rollup], tuple[Any, pd.DataFrame]] = {}

    def untouched_card_of(
        windowed: Journeys, lead_window: tuple[Journeys, np.ndarray] | None, dims: Rollup
    ) -> pd.DataFrame:
        """The untouched groups' scorecard sums: the same for every model with the same
        window (and lead-stage window), so computed once for them."""
        assert features is not None
        staged = None if lead_window is None else lead_window[0]
        key = (id(windowed), id(staged), dims)
        if key not in untouched_cards:
            card = untouched_features(windowed, dims, features)
            if lead_window is not None:
                card = with_untouched_leads(card, lead_window[0], dims, lead_window[1])
            # The journeys are held with the card, so their ids stay theirs.
            untouched_cards[key] = ((windowed, staged), card)
        return untouched_cards[key][1]

    for label, model in fitted.models.items():
        windowed = windows[plan.window_of(model)]
        credited = windowed.converted_only if model.credits_converted_only else windowed
        credit = model.credit(credited)
        credits[label] = (credited, credit)
        for dims in plan.rollups:
            sums[(label, dims)] = sum_groups(
                credited,
                credit,
                dims,
                fit.keys[dims],
                counts_groups_once=model.counts_groups_once,
                group=group_of(credited, dims),
            )
        primary = sums[(label, plan.by)]
        if model.counts_groups_once:
            totals[label] = CreditTotals(
                _touches_credited(credit),
                float(primary.conversions.sum()),
                float(primary.value.sum()),
            )
        else:
            totals[label] = CreditTotals(
                _touches_credited(credit),
                float(credit.conversions.sum()),
                float(credit.value.sum()),
            )
        if features is not None:
            lead, lead_window = _lead_credit(label, model, fitted, leads, plan)
            rows = np.flatnonzero(windowed.converted) if credited is not windowed else None
            credited_features = features if rows is None else features[rows]
            for dims in plan.rollups:
                untouched_card = untouched_card_of(windowed, lead_window, dims)
                cards[(label, dims)] = scorecard_sums(
                    credited,
                    credit,
                    dims,
                    fit.card_keys[dims],
                    credited_features,
                    untouched_card,
                    once=model.counts_groups_once,
                    lead=lead,
                    group=card_group_of(credited, dims),
                )
        if options.touch_credits:
            frames.append(touch_frame(label, credited, credit, intake))
    untouched = {
        (w, dims): Labelled(untouched_sums(windowed, dims))
        for w, windowed in windows.items()
        for dims in plan.rollups
    }
    replicates = None
    if options.bootstrap is not None and journeys.n_journeys:
        replicates = _replicates(
            journeys, windows, plan, fitted, fit, options, features, first_touch, credits, group_of
        )
    return PartitionCredit(sums, totals, untouched, cards, replicates, tuple(frames))


def _first_touch(journeys: Journeys) -> np.ndarray:
    if journeys.has_times:
        return cohort_times(journeys, "first_touch")
    return np.full(journeys.n_journeys, NO_TIME, np.int64)


def _touches_credited(credit: TouchCredit) -> int:
    return int(np.count_nonzero((credit.value != 0) | (credit.conversions != 0)))


class _LeadCredit:
    """The lead stage of one partition as the lead-stage models credit it: per window and
    per kind of model, the windowed stage and its journeys' lead columns (leads, and of
    those the ones that became opportunities), each computed once. A model that credits
    converted journeys only gets the journeys with a lead alone, cut to them before the
    window (the window is per journey: the same touches as the whole stage's window)."""

    def __init__(self, journeys: Journeys, plan: RunPlan) -> None:
        self.staged, self.columns = _lead_journeys(journeys, plan)
        self.plan = plan
        self._stages: dict[tuple[Window, bool], tuple[Journeys, np.ndarray]] = {}

    def stage(self, lookback: Window, converted_only: bool) -> tuple[Journeys, np.ndarray]:
        key = (lookback, converted_only)
        if key not in self._stages:
            staged, columns = self.staged, self.columns
            if converted_only:
                rows = np.flatnonzero(staged.converted)
                staged, columns = staged.subset(rows), columns[rows]
            windowed = staged.window(lookback, self.plan.excluded(staged))[0]
            self._stages[key] = (windowed, columns)
        return self._stages[key]


def _lead_credit(
    label: str,
    model: AttributionModel,
    fitted: FittedRun,
    leads: _LeadCredit | None,
    plan: RunPlan,
) -> tuple[tuple[Journeys, TouchCredit, np.ndarray] | None, tuple[Journeys, np.ndarray] | None]:
    """The lead-stage model's credit of the leads, with each lead journey's counts, and
    the windowed lead stage with its lead columns (every staged journey with a lead: its
    untouched leads are a group)."""
    if leads is None or label not in fitted.lead_models:
        return None, None
    staged_window, columns = leads.stage(plan.window_of(model), model.credits_converted_only)
    credited = staged_window.converted_only if model.credits_converted_only else staged_window
    credit = fitted.lead_models[label].credit(credited)
    rows = np.flatnonzero(staged_window.converted) if credited is not staged_window else None
    return (credited, credit, columns if rows is None else columns[rows]), (staged_window, columns)


# ------------------------------------------------------------ replicates
def _replicates(
    journeys: Journeys,
    windows: dict[Window, Journeys],
    plan: RunPlan,
    fitted: FittedRun,
    fit: PartitionFit,
    options: RunOptions,
    features: np.ndarray | None,
    first_touch: np.ndarray | None,
    credits: dict[str, tuple[Journeys, TouchCredit]],
    group_of: Callable[[Journeys, Rollup], np.ndarray],
) -> ReplicateSums:
    """The bootstrap replicates of every model's sums in one partition.

    Rule models, the untouched groups and the value in are linear in the journey weights:
    each of their sums is a column of one sparse journeys x columns matrix (a rule
    model's credit of each journey by group, from the credit pass's ``credits``), and
    every replicate of every column comes from one product with the replicate factors
    (:class:`~attribution.replicate_design.Design`). Data-driven models are credited
    with each replicate's model (fitted on that replicate's merged statistics): a split
    by rates (:meth:`AttributionModel.split_amounts`) from the same product; else every
    replicate in one pass (:meth:`AttributionModel.replicate_credit`); else each
    replicate's reweighted journeys credited in turn (and so every data-driven model
    with a scorecard)."""
    boot = options.bootstrap
    assert boot is not None
    b = boot.replicates
    keys = keys_of(journeys)
    card = features is not None
    values: dict[tuple[str, Rollup], np.ndarray] = {}
    card_sums: dict[tuple[str, Rollup], np.ndarray] = {}
    card_pipeline: dict[tuple[str, Rollup], np.ndarray] = {}
    linear = [(lab, m) for lab, m in fitted.models.items() if m.linear_in_weights]
    for label, _ in fitted.models.items():
        for dims in plan.rollups:
            values[(label, dims)] = np.zeros((len(fit.keys[dims]), b))
            if card:
                size = len(fit.card_keys[dims])
                card_sums[(label, dims)] = np.zeros((size, len(FEATURES), b))
                card_pipeline[(label, dims)] = np.zeros((size, b))
    untouched_groups = {
        (w, dims): _untouched_codes(windowed, dims)
        for w, windowed in windows.items()
        for dims in plan.rollups
    }
    # Data-driven models whose credit is a split by rates of the fitted model
    # (AttributionModel.split_amounts): their replicates' roll-ups are sums linear in
    # the weights too, with each replicate model's rates applied after.
    split = {}
    for label, model in fitted.models.items():
        if model.linear_in_weights or card or model.counts_groups_once:
            continue
        amounts = model.split_amounts(credits[label][0])
        if amounts is not None:
            split[label] = (model, np.ascontiguousarray(amounts, dtype=np.float64))
    design, read = _linear_design(
        journeys, windows, plan, fit, linear, credits, group_of, untouched_groups, features,
        split,
    )  # fmt: skip
    out = design.sums(boot, keys, journeys.weight)
    value_in = out[:, read["value_in"]].copy() if "value_in" in read else np.zeros(b)
    for label, _ in linear:
        for dims in plan.rollups:
            first, size = read[(label, dims)]
            values[(label, dims)] = out[:, first : first + size].T.copy()
            if card:
                first, size = read[("card", label, dims)]
                card_sums[(label, dims)] = _features_of(out[:, first : first + size], b)
                first, size = read[("pipeline", label, dims)]
                card_pipeline[(label, dims)] = out[:, first : first + size].T.copy()
    untouched_values = {}
    card_untouched = {}
    for key, (labels, _, _) in untouched_groups.items():
        first, size = read[("untouched", key)]
        untouched_values[key] = out[:, first : first + size].T.copy()
        first, size = read[("untouched_card", key)]
        card_untouched[key] = (
            _features_of(out[:, first : first + size], b)
            if card
            else np.zeros((len(labels), len(FEATURES), b))
        )
    for label, (model, amounts) in split.items():
        models = fitted.replicate_models.get(label, [])
        n_bases = amounts.shape[1]
        for dims in plan.rollups:
            values[(label, dims)][:, :] = np.nan
        for r in range(b):
            replicate_model = models[r] if r < len(models) else None
            if replicate_model is None:
                continue
            every_rate = replicate_model.split_rates(model)  # once for every roll-up
            for dims in plan.rollups:
                first, pairs, pair_key, pair_group = read[("split", label, dims)]
                terms = out[r, first : first + pairs * n_bases].reshape(pairs, n_bases)
                table = values[(label, dims)]
                rates = every_rate[pair_key]
                table[:, r] = np.bincount(
                    pair_group, weights=(terms * rates).sum(axis=1), minlength=len(table)
                )
    done = set(split)
    for label, model in fitted.models.items():
        if model.linear_in_weights or label in done:
            continue
        models = fitted.replicate_models.get(label, [])
        for dims in plan.rollups:
            values[(label, dims)][:, :] = np.nan
            if card:
                card_sums[(label, dims)][:, :, :] = np.nan
                card_pipeline[(label, dims)][:, :] = np.nan
        windowed = windows[plan.window_of(model)]
        if not card and _replicate_credit(
            label, model, models, windowed, credits[label][0], keys, boot, plan, fit,
            group_of, values,
        ):  # fmt: skip
            continue
        for first, count in replicate_blocks(b, windowed.n_journeys):
            factors = boot.multipliers(keys, windowed.weight, first, count)
            for r in range(count):
                replicate_model = models[first + r] if first + r < len(models) else None
                if replicate_model is None:
                    continue
                replicate = windowed.reweighted(factors[:, r])
                credited = replicate.converted_only if model.credits_converted_only else replicate
                # The credited records' positions among the windowed (= all) records:
                # reweighting drops the records drawn 0 times.
                positions = np.flatnonzero(factors[:, r] > 0)
                if credited is not replicate:
                    positions = positions[replicate.converted]
                credit = replicate_model.credit(credited)
                for dims in plan.rollups:
                    values[(label, dims)][:, first + r] = sum_groups(
                        credited,
                        credit,
                        dims,
                        fit.keys[dims],
                        counts_groups_once=model.counts_groups_once,
                    ).value
                if card:
                    assert first_touch is not None
                    _card_replicate(
                        card_sums,
                        card_pipeline,
                        label,
                        model,
                        credited,
                        credit,
                        first_touch[positions],
                        fit,
                        plan,
                        first + r,
                    )
    untouched = {
        key: Labelled(_replicate_frame(labels, untouched_values[key]))
        for key, (labels, _, _) in untouched_groups.items()
    }
    card_untouched_frames = {
        key: Labelled(
            _replicate_frame(labels, card_untouched[key].reshape(len(labels), len(FEATURES) * b))
        )
        for key, (labels, _, _) in untouched_groups.items()
    }
    return ReplicateSums(
        values, untouched, value_in, card_sums, card_pipeline, card_untouched_frames
    )


def _replicate_credit(
    label: str,
    model: AttributionModel,
    models: list[AttributionModel | None],
    windowed: Journeys,
    credited: Journeys,
    keys: np.ndarray,
    boot: Bootstrap,
    plan: RunPlan,
    fit: PartitionFit,
    group_of: Callable[[Journeys, Rollup], np.ndarray],
    values: dict[tuple[str, Rollup], np.ndarray],
) -> bool:
    """Every replicate's roll-ups of a data-driven model from its one-pass replicate
    credit (:meth:`AttributionModel.replicate_credit`) into ``values``, in blocks of
    replicates whose factors fit the memory budget; False (nothing done) when the model
    has no such pass. ``credited``: the journeys the data's model credits (all of
    ``windowed``, or its converted journeys)."""
    if model.counts_groups_once:
        return False
    b = boot.replicates
    rows = np.flatnonzero(credited_journeys(credited) & (credited.value != 0))
    positions = rows if credited is windowed else np.flatnonzero(windowed.converted)[rows]
    sizes = [len(fit.keys[dims]) for dims in plan.rollups]
    starts = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    n_columns = int(starts[-1])
    groups = np.zeros((credited.n_touches, len(sizes)), np.int64)
    for d, dims in enumerate(plan.rollups):
        groups[:, d] = starts[d] + group_of(credited, dims)
    padded = list(models) + [None] * (b - len(models))
    # The kernel holds its factors (rows x block) and its chunks' sums (MAX_CHUNKS x
    # block x columns): blocks of replicates within the budget for both.
    for first, count in replicate_blocks(b, max(len(rows), MAX_CHUNKS * n_columns)):
        factors = boot.multipliers(keys[positions], windowed.weight[positions], first, count)
        sums = model.replicate_credit(
            padded[first : first + count], credited, rows, factors, groups, n_columns
        )
        if sums is None:
            return False
        for d, dims in enumerate(plan.rollups):
            chosen = sums[:, starts[d] : starts[d + 1]]
            values[(label, dims)][:, first : first + count] = chosen.T
    return True


_NO_FEATURES = np.zeros((0, 0))


def _features_of(sums: np.ndarray, b: int) -> np.ndarray:
    """Columns ``g·F + f`` of replicate sums (replicates x columns) as groups x features x
    replicates."""
    return np.ascontiguousarray(sums.reshape(b, -1, len(FEATURES)).transpose(1, 2, 0))


def _linear_design(
    journeys: Journeys,
    windows: dict[Window, Journeys],
    plan: RunPlan,
    fit: PartitionFit,
    linear: list[tuple[str, AttributionModel]],
    credits: dict[str, tuple[Journeys, TouchCredit]],
    group_of: Callable[[Journeys, Rollup], np.ndarray],
    untouched_groups: dict[tuple[Window, Rollup], tuple[pd.DataFrame, np.ndarray, np.ndarray]],
    features: np.ndarray | None,
    split: dict[str, tuple[AttributionModel, np.ndarray]],
) -> tuple[Design, dict[Any, Any]]:
    """The sums of one partition that are linear in the journey weights, as the columns
    of a :class:`Design`, and where to read each (first column and count)."""
    n = journeys.n_journeys
    wanted = journeys.value != 0
    rows_of: dict[str, np.ndarray] = {}
    for label, model in linear:
        credited = credits[label][0]
        windowed = windows[plan.window_of(model)]
        rows = np.flatnonzero(windowed.converted) if credited is not windowed else np.arange(n)
        rows_of[label] = rows
        wanted[rows] = True
    for _, positions, _ in untouched_groups.values():
        wanted[positions] = True
    for label, (model, _) in split.items():
        credited = credits[label][0]
        windowed = windows[plan.window_of(model)]
        rows = np.flatnonzero(windowed.converted) if credited is not windowed else np.arange(n)
        rows_of[label] = rows
        wanted[rows] = True
    records = np.flatnonzero(wanted)
    design = Design(records)
    read: dict[Any, Any] = {}
    n_features = len(FEATURES)

    def add_items(items: np.ndarray, build: Any, estimate: float) -> None:
        """A part over some records (``items``: their partition positions, sorted);
        ``build(a, b)``: the rows of items ``a .. b``."""
        position = np.searchsorted(records, items)

        def rows(start: int, stop: int) -> Any:
            a, z = np.searchsorted(position, (start, stop))
            return spread(build(a, z), position[a:z], start, stop)

        design.add(rows, estimate * len(items) / max(len(records), 1))

    valued = np.flatnonzero(journeys.value != 0)
    if len(valued):
        column = design.columns(1)
        read["value_in"] = column
        amounts = journeys.value[valued]
        add_items(
            valued,
            lambda a, z, column=column, amounts=amounts: (
                np.ones(z - a, np.int64), np.full(z - a, column, np.int64), amounts[a:z]
            ),
            1.0,
        )  # fmt: skip
    for label, model in linear:
        credited, credit = credits[label]
        rows = rows_of[label]
        once = model.counts_groups_once
        mean_length = credited.n_touches / max(credited.n_journeys, 1)
        shares = credit_shares(credited, credit) if features is not None else None
        chosen = features[rows] if features is not None else None
        for dims in plan.rollups:
            size = len(fit.keys[dims])
            first = design.columns(size)
            read[(label, dims)] = (first, size)
            group = group_of(credited, dims)
            add_items(
                rows,
                partial(_group_part, credited.offsets, group, credit.value, size, once,
                        _NO_FEATURES, first),
                min(size, mean_length),
            )  # fmt: skip
            if chosen is None or shares is None:
                continue
            card_size = len(fit.card_keys[dims])
            card_group = group_index(credited, dims, fit.card_keys[dims])
            first = design.columns(card_size * n_features)
            read[("card", label, dims)] = (first, card_size * n_features)
            add_items(
                rows,
                partial(_group_part, credited.offsets, card_group, shares, card_size, once,
                        chosen, first),
                min(card_size, mean_length) * n_features,
            )  # fmt: skip
            first = design.columns(card_size)
            read[("pipeline", label, dims)] = (first, card_size)
            pipeline = (
                partial(_group_part, credited.offsets, card_group, shares, card_size, once,
                        np.ascontiguousarray(chosen[:, 1:2]), first)
                if once
                else partial(_group_part, credited.offsets, card_group, credit.value,
                             card_size, once, _NO_FEATURES, first)
            )  # fmt: skip
            add_items(rows, pipeline, min(card_size, mean_length))
    for label, (model, amounts) in split.items():
        credited = credits[label][0]
        channel = np.ascontiguousarray(credited.channel, dtype=np.int64)
        keys, n_keys = model.split_keys(credited)
        n_bases = amounts.shape[1]
        for dims in plan.rollups:
            group = group_of(credited, dims)
            pair_codes, pair = _present_pairs(group * n_keys + keys, len(fit.keys[dims]) * n_keys)
            first = design.columns(len(pair_codes) * n_bases)
            read[("split", label, dims)] = (
                first, len(pair_codes), pair_codes % n_keys, pair_codes // n_keys
            )  # fmt: skip
            add_items(
                rows_of[label],
                partial(_split_part, credited.offsets, channel, pair, amounts,
                        credited.n_channels, first),
                n_bases * credited.n_touches / max(credited.n_journeys, 1),
            )  # fmt: skip
    for key, (labels, positions, codes) in untouched_groups.items():
        first = design.columns(len(labels))
        read[("untouched", key)] = (first, len(labels))
        value = journeys.value[positions]
        add_items(
            positions,
            lambda a, z, first=first, codes=codes, value=value: (
                np.ones(z - a, np.int64), first + codes[a:z].astype(np.int64), value[a:z]
            ),
            1.0,
        )  # fmt: skip
        if features is None:
            read[("untouched_card", key)] = (0, 0)
            continue
        first = design.columns(len(labels) * n_features)
        read[("untouched_card", key)] = (first, len(labels) * n_features)
        chosen = features[positions]
        add_items(
            positions,
            lambda a, z, first=first, codes=codes, chosen=chosen: (
                np.full(z - a, n_features, np.int64),
                (first + codes[a:z, None].astype(np.int64) * n_features
                 + np.arange(n_features)[None, :]).ravel(),
                np.ascontiguousarray(chosen[a:z]).ravel(),
            ),
            float(n_features),
        )  # fmt: skip
    return design, read


def _present_pairs(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``codes`` (each below ``size``), ascending, and each code's index
    among them: by a table of ``size`` flags when that is small beside the codes, else
    by sorting."""
    if size <= 8 * len(codes) + (1 << 20):
        present = np.zeros(size, np.bool_)
        present[codes] = True
        return np.flatnonzero(present), (np.cumsum(present) - 1)[codes]
    distinct, index = np.unique(codes, return_inverse=True)
    return distinct, np.ascontiguousarray(index.ravel(), dtype=np.int64)


def _split_part(
    offsets: np.ndarray,
    channel: np.ndarray,
    pair: np.ndarray,
    amounts: np.ndarray,
    n_channels: int,
    column: int,
    a: int,
    z: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of journeys ``a .. z`` of :func:`split_rows`."""
    lengths, indices, data = split_rows(
        channel, offsets[a : z + 1], pair, amounts[a:z], n_channels, column
    )
    return lengths, indices, data


def _group_part(
    offsets: np.ndarray,
    group: np.ndarray,
    value: np.ndarray,
    n_groups: int,
    once: bool,
    features: np.ndarray,
    column: int,
    a: int,
    z: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of journeys ``a .. z`` of :func:`group_rows` (features of those journeys)."""
    return group_rows(
        offsets[a : z + 1],
        group,
        value,
        n_groups,
        once,
        features[a:z] if features.shape[0] else _NO_FEATURES,
        column,
    )


def _untouched_codes(
    windowed: Journeys, dims: Rollup
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The untouched groups' labels, the untouched journeys and each one's group."""
    mask = windowed.converted & (windowed.lengths == 0)
    labels = untouched_labels(windowed, dims, mask)
    positions = np.flatnonzero(mask)
    if not len(labels):
        return labels, positions, np.zeros(0, np.int64)
    codes = labels.groupby(list(dims), sort=True).ngroup().to_numpy()
    unique = labels.drop_duplicates().sort_values(list(dims)).reset_index(drop=True)
    return unique, positions, codes


def _replicate_frame(labels: pd.DataFrame, values: np.ndarray) -> pd.DataFrame:
    frame = labels.copy()
    columns = pd.DataFrame(values, columns=[f"r{i}" for i in range(values.shape[1])])
    return pd.concat([frame.reset_index(drop=True), columns], axis=1)


def _card_replicate(
    card_sums: dict[tuple[str, Rollup], np.ndarray],
    card_pipeline: dict[tuple[str, Rollup], np.ndarray],
    label: str,
    model: AttributionModel,
    credited: Journeys,
    credit: TouchCredit,
    first_touch: np.ndarray,
    fit: PartitionFit,
    plan: RunPlan,
    r: int,
) -> None:
    """One replicate's scorecard sums of a refitted model."""
    features = journey_features(credited, first_touch)
    for dims in plan.rollups:
        keys = fit.card_keys[dims]
        group = group_index(credited, dims, keys)
        sums = journey_group_sums(
            group,
            credited.offsets,
            credit_shares(credited, credit),
            features,
            len(keys),
            model.counts_groups_once,
        )
        card_sums[(label, dims)][:, :, r] = sums
        card_pipeline[(label, dims)][:, r] = (
            sums[:, FEATURES.index("pipeline")]
            if model.counts_groups_once
            else np.bincount(group, weights=credit.value, minlength=len(keys))
        )


# ---------------------------------------------------------------- finish
@dataclass(frozen=True)
class Finished:
    """The tables and the reconciliation of a run."""

    rollups: dict[Rollup, pd.DataFrame]
    reconciliation: Reconciliation
    scorecards: dict[Rollup, pd.DataFrame] | None
    replicates: dict[tuple[str, Rollup], pd.DataFrame] | None
    touch_credits: pd.DataFrame | None = None


def finish_run(
    plan: RunPlan,
    fit: PartitionFit,
    credit: PartitionCredit,
    fitted: FittedRun,
    tables: LabelTables,
    intake: Intake | None,
    options: RunOptions,
) -> Finished:
    """The run's tables from the merged sums (see the module docstring)."""
    notes = list(plan.notes) + list(fitted.notes)
    any_untouched = any(s.converted_without_touches > 0 for s in fit.summaries.values())
    totals = []
    replicates = None if credit.replicates is None else _without_empty(credit.replicates)
    groups = {dims: sorted_groups(fit.keys[dims], tables, dims) for dims in plan.rollups}
    rollups = rollup_tables(
        plan,
        fitted.models,
        fit.counts.value_in,
        credit,
        groups,
        tables,
        replicates,
        options.bootstrap,
        any_untouched,
    )
    for label, model in fitted.models.items():
        window_days = plan.window_of(model)
        summary = fit.summaries[window_days]
        total = credit.totals[label]
        totals.append(
            ModelTotals(
                model=label,
                conserving=model.conserving,
                lookback_days=summary.lookback_days,
                touches_credited=total.touches,
                credited_conversions=total.conversions,
                credited_value=total.value,
                expected_value=summary.creditable_value,
            )
        )
        notes.extend(note.about(label) for note in model.notes())
    scorecards = None
    if options.scorecard:
        credit = replace(credit, replicates=replicates)
        scorecards, card_notes = _scorecards(plan, fit, credit, fitted, tables, options)
        notes.extend(card_notes)
    replicate_tables = None
    if replicates is not None and options.bootstrap is not None:
        notes.extend(_bootstrap_notes(options.bootstrap, fitted, replicates.value_in))
        replicate_tables = _replicate_tables(replicates, fit, tables)
    counts = fit.counts
    period_note = counts.period_note(plan)
    if period_note is not None:
        notes.append(period_note)
    reconciliation = Reconciliation(
        intake=intake,
        journeys=counts.journeys,
        journeys_weighted=counts.weighted,
        converted_journeys=counts.conversions,
        value_in=counts.value_in,
        touches_valid=counts.touches,
        windows=tuple(fit.summaries.values()),
        duplicate_touches=counts.duplicates,
        models=tuple(totals),
        notes=tuple(list(intake.notes if intake else ()) + notes),
    )
    touch_credits = None
    if options.touch_credits:
        frames_ = list(credit.touch_frames)
        touch_credits = pd.concat(frames_, ignore_index=True) if frames_ else pd.DataFrame()
    return Finished(rollups, reconciliation, scorecards, replicate_tables, touch_credits)


def _scorecards(
    plan: RunPlan,
    fit: PartitionFit,
    credit: PartitionCredit,
    fitted: FittedRun,
    tables: LabelTables,
    options: RunOptions,
) -> tuple[dict[Rollup, pd.DataFrame], list[Note]]:
    """Every model's scorecard of every roll-up, with costs and intervals."""
    out: dict[Rollup, pd.DataFrame] = {}
    notes: list[Note] = []
    if options.costs is not None:
        options.costs.check_run(plan.period)
    for dims in plan.rollups:
        keys = fit.card_keys[dims]
        cost = np.full(len(keys), np.nan)
        if dims in fit.costs:
            spend = fit.costs[dims]
            cost[np.searchsorted(keys, spend.keys)] = spend.cost
        labels = labels_of(keys, tables, dims)
        parts = []
        for label, model in fitted.models.items():
            columns = raw_columns(credit.cards[(label, dims)], cost, labels)
            # Each row's position (from 1) among the scorecard's groups, then untouched
            # groups: the intervals join on it, as labels can repeat across the two.
            rows = np.arange(1, len(columns["cost"]) + 1, dtype=np.float64)
            if options.costs is not None:
                raw = pd.DataFrame({"model": label, **columns}, index=pd.RangeIndex(len(rows)))
                raw["_row"] = rows
                raw, texts = with_file_costs(raw, options.costs, dims, fit.combinations.get(dims))
                for code, text in texts:
                    note = Note(code, text)
                    if note not in notes:
                        notes.append(note)
                rows = raw.pop("_row").to_numpy()
                columns = {name: raw[name].to_numpy() for name in raw.columns if name != "model"}
            summed = {
                name: np.asarray(values, dtype=np.float64)
                for name, values in columns.items()
                if name not in dims
            }
            card = {**{d: columns[d] for d in dims}, **kpis(summed)}
            replicates = credit.replicates
            if replicates is not None and options.bootstrap is not None:
                card.update(
                    _card_intervals(
                        card, rows, label, model, dims, replicates, fit, plan, options.bootstrap
                    )
                )
            parts.append(pd.DataFrame({"model": label, **card}, index=pd.RangeIndex(len(rows))))
        out[dims] = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return out, notes


def _card_intervals(
    card: Mapping[str, np.ndarray],
    rows: np.ndarray,
    label: str,
    model: AttributionModel,
    dims: Rollup,
    replicates: ReplicateSums,
    fit: PartitionFit,
    plan: RunPlan,
    boot: Bootstrap,
) -> dict[str, np.ndarray]:
    """The ``<column>_low``/``_high`` intervals of one model's scorecard columns
    (``card``: its label and scorecard columns).

    ``rows``: each card row's position (from 1) among the groups of ``fit.card_keys``
    then the untouched groups, the order of the replicate sums; a row of a costs file
    matching no group has none (0 or NaN) and no interval."""
    sums = replicates.card_sums[(label, dims)]
    pipeline = replicates.card_pipeline[(label, dims)]
    untouched = replicates.card_untouched[(plan.window_of(model), dims)].frame
    groups = len(sums)
    if len(untouched):
        extra = (
            untouched.drop(columns=list(dims)).to_numpy().reshape(len(untouched), len(FEATURES), -1)
        )
        sums = np.concatenate([sums, extra])
        pipeline = np.concatenate([pipeline, extra[:, FEATURES.index("pipeline"), :]])
    # The card's untouched rows can include groups of untouched leads alone (no
    # untouched pipeline: no replicate sums), so past the groups a row is found by its
    # labels, unique among the untouched groups, not by its position.
    rows = np.asarray(rows, np.float64).copy()
    tail = rows > groups
    if tail.any():
        found = {
            tuple(map(str, labels)): groups + i + 1
            for i, labels in enumerate(untouched[list(dims)].itertuples(index=False, name=None))
        }
        rows[tail] = [
            found.get(tuple(map(str, labels)), 0)
            for labels in zip(*(card[d][tail] for d in dims), strict=True)
        ]
    known = rows >= 1
    index = rows[known].astype(np.int64) - 1
    cost = np.full(len(sums), np.nan)
    cost[index] = np.asarray(card["cost"], dtype=np.float64)[known]
    get = {name: sums[:, i, :] for i, name in enumerate(FEATURES)}
    get["pipeline"] = pipeline
    get["cost"] = cost[:, None]
    values = kpis(get)
    # Every column's replicates in one interval call: its rows are independent.
    stacked = np.concatenate([values[name] for name in INTERVAL_KPIS])
    _, lows, highs = interval(stacked, boot.ci)
    columns: dict[str, np.ndarray] = {}
    for k, name in enumerate(INTERVAL_KPIS):
        block = slice(k * len(sums), (k + 1) * len(sums))
        for column, data in ((f"{name}_low", lows[block]), (f"{name}_high", highs[block])):
            columns[column] = np.full(len(rows), np.nan)
            columns[column][known] = data[index]
    return columns


def _without_empty(replicates: ReplicateSums) -> ReplicateSums:
    """The replicate sums with the empty replicates (no pipeline drawn: value in 0) left
    out, as NaN, for every model alike: a share is undefined there, a data-driven model
    cannot be fitted, and a rule model's zeros would widen only its own intervals. So
    every interval is over the same replicates (the failed ones of a data-driven model
    aside), and the reconciliation counts the empty ones (:func:`_bootstrap_notes`)."""
    empty = ~(replicates.value_in > 0)
    if not empty.any():
        return replicates

    def blank(values: np.ndarray) -> np.ndarray:
        out = values.copy()
        out[..., empty] = np.nan
        return out

    def blank_frame(labelled: Labelled, features: int) -> Labelled:
        if labelled.frame.empty:
            return labelled
        frame = labelled.frame.copy()
        columns = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        values = frame[columns].to_numpy(dtype=np.float64)
        shaped = blank(values.reshape(len(frame), features, len(empty)))
        frame[columns] = shaped.reshape(len(frame), -1)
        return Labelled(frame)

    return replace(
        replicates,
        values={k: blank(v) for k, v in replicates.values.items()},
        untouched={k: blank_frame(v, 1) for k, v in replicates.untouched.items()},
        card_sums={k: blank(v) for k, v in replicates.card_sums.items()},
        card_pipeline={k: blank(v) for k, v in replicates.card_pipeline.items()},
        card_untouched={
            k: blank_frame(v, len(FEATURES)) for k, v in replicates.card_untouched.items()
        },
    )


def _bootstrap_notes(boot: Bootstrap, fitted: FittedRun, value_in: np.ndarray) -> list[Note]:
    empty = int(np.count_nonzero(~(value_in > 0)))
    notes = [
        Note(
            "bootstrap",
            boot.describe(),
            data={"replicates": boot.replicates, "seed": boot.seed, "ci": boot.ci, "empty": empty},
        )
    ]
    if empty:
        notes.append(
            Note(
                "bootstrap_empty_replicates",
                f"{empty} of {boot.replicates} replicates drew no pipeline (no converted "
                "value): left out of every model's intervals (a share is undefined there)",
                data={"empty": empty},
            )
        )
    for label, failures in fitted.failures.items():
        # The empty replicates are counted above, for every model.
        failed = [f"replicate {r}: {reason}" for r, reason in failures if value_in[r] > 0]
        if not failed:
            continue
        notes.append(
            Note(
                "bootstrap_replicates_failed",
                f"{len(failed)} of {boot.replicates} replicates"
                + (f" (of the {boot.replicates - empty} not empty)" if empty else "")
                + f" could not be fitted and are left out of its intervals: "
                f"{'; '.join(failed[:3])}" + (" ..." if len(failed) > 3 else ""),
                model=label,
                data={"failed": len(failed)},
            )
        )
    return notes


def _replicate_tables(
    replicates: ReplicateSums, fit: PartitionFit, tables: LabelTables
) -> dict[tuple[str, Rollup], pd.DataFrame]:
    """Every model's replicate values per group (rows: group labels; columns:
    replicates), the untouched groups left out. A roll-up's labels are found once for
    all its models; each table gets its own copy of the index (names can be set)."""
    indexes: dict[Rollup, pd.Index] = {}
    out = {}
    for (label, dims), values in replicates.values.items():
        if dims not in indexes:
            labels = labels_of(fit.keys[dims], tables, dims)
            indexes[dims] = (
                pd.Index(labels[dims[0]], name=dims[0])
                if len(dims) == 1
                else pd.MultiIndex.from_frame(labels)
            )
        out[(label, dims)] = pd.DataFrame(values, index=indexes[dims].copy())
    return out


def touch_frame(
    label: str, journeys: Journeys, credit: TouchCredit, intake: Intake | None
) -> pd.DataFrame:
    """Credit of every touch of a converted journey, and of any other touch with credit,
    with its origin (file and row, as in the rejects file) and every dimension."""
    in_converted = np.repeat(journeys.converted, journeys.lengths)
    touches = np.flatnonzero(in_converted | (credit.value != 0) | (credit.conversions != 0))
    columns: dict[str, object] = {
        "model": np.full(len(touches), label, dtype=object),
        "journey_id": np.repeat(journeys.journey_id, journeys.lengths)[touches],
    }
    rows = journeys.row[touches]
    if intake is not None:
        columns["source_file"], columns["source_row"] = intake.source_of(rows)
    else:
        columns["input_row"] = rows
    if journeys.has_times:
        columns["timestamp"] = pd.to_datetime(journeys.timestamp[touches], utc=True)
    else:
        columns["position"] = journeys.timestamp[touches]
    for dimension in journeys.dimensions:
        names = np.asarray(journeys.names(dimension), dtype=object)
        columns[dimension] = names[journeys.codes(dimension)[touches]]
    columns["credited_conversions"] = credit.conversions[touches]
    columns["credited_value"] = credit.value[touches]
    return pd.DataFrame(columns)


def run_partitions(
    partitions: Sequence[Journeys],
    plan: RunPlan,
    options: RunOptions,
    intake: Intake | None = None,
) -> tuple[Finished, FittedRun]:
    """The whole run over in-memory partitions in one coding (the local engine uses one):
    the context pass (only with several partitions), the fit pass, the fit, the credit
    pass."""
    contexts = None
    if len(partitions) > 1 and needs_context(plan):
        contexts = context_pass(partitions[0], plan, options)
        for part in partitions[1:]:
            contexts = contexts.merge(context_pass(part, plan, options))
    lazy = len(partitions) == 1
    fits = [fit_pass(part, plan, options, contexts, lazy_replicates=lazy) for part in partitions]
    fit = fits[0]
    for other in fits[1:]:
        fit = fit.merge(other)
    del fits  # the partitions' sums, merged
    fit = fit.resolved()
    fitted = fit_models(plan, fit, options)
    # The lead-stage statistics are fitted: nothing reads them again.
    fit = replace(fit, lead_statistics={})
    credits = [credit_pass(part, plan, fitted, fit, options, intake) for part in partitions]
    credit: PartitionCredit = credits[0]
    for part_credit in credits[1:]:
        credit = credit.merge(part_credit)
    tables = LabelTables.of(partitions[0])
    return finish_run(plan, fit, credit, fitted, tables, intake, options), fitted
