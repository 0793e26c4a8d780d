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

import pandas as pd
import pyarrow as pa

from attribution.bootstrap import Bootstrap, bootstrap_option
from attribution.errors import ParameterError
from attribution.io.intake import Intake, Loaded
from attribution.journeys import Journeys
from attribution.models.base import AttributionModel
from attribution.models.registry import recommended_model
from attribution.passes import (
    Finished,
    FittedRun,
    JourneyCounts,
    RunOptions,
    run_partitions,
    window,
)
from attribution.periods import Cohort, Period
from attribution.plan import Models, RunPlan, plan_run
from attribution.reconciliation import Reconciliation
from attribution.scorecards import Costs

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
    ci: float | None = None,
    seed: int | None = None,
    exclude: Sequence[tuple[str, str]] = (),
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
    ``bootstrap``: a number of replicates ``B`` (with the interval level ``ci``, default
    0.9, and the replicates' ``seed``, default 0) or a
    :class:`~attribution.bootstrap.Bootstrap` adds standard errors and percentile
    intervals to every credited value and share (:mod:`attribution.bootstrap`); ``ci``
    or ``seed`` without ``bootstrap=B`` is an error. ``exclude``:
    (dimension, label) pairs, e.g. ``[("channel", "direct")]``, of touches no model may
    credit; their share goes to the journey's other touches, and a journey left with
    none is untouched pipeline.
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
        exclude=exclude,
    )
    options = RunOptions(
        scorecard=scorecard,
        costs=costs,
        bootstrap=bootstrap_option(bootstrap, ci, seed),
        touch_credits=touch_credits,
    )
    if scorecard and costs is not None:
        costs.check_run(plan.period)
    prepared = plan.prepare(journeys)
    if progress is not None:
        progress("fitting and crediting")
    finished, fitted = run_partitions([prepared], plan, options, intake)
    return result_of(finished, fitted, plan, options, prepared.has_times)


def result_of(
    finished: Finished,
    fitted: FittedRun,
    plan: RunPlan,
    options: RunOptions,
    has_times: bool,
) -> AttributionResult:
    """The result of a run from its finished tables (local or distributed)."""
    return AttributionResult(
        credits=finished.rollups[plan.by],
        reconciliation=finished.reconciliation,
        models=fitted.models,
        by=plan.by,
        rollups=finished.rollups,
        touch_credits=finished.touch_credits,
        scorecards=finished.scorecards,
        recommended=recommended_model(has_times),
        replicates=finished.replicates,
        bootstrap=options.bootstrap,
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
    bootstrap: Bootstrap | int | None = None,
    ci: float | None = None,
    seed: int | None = None,
    exclude: Sequence[tuple[str, str]] = (),
) -> pd.DataFrame:
    """The revenue scorecard (:mod:`attribution.scorecards`): one row per model and group
    (and period), with pipeline, win rate, cycle, velocity and cost columns.

    ``models`` default to the recommended data-driven model with ``sourced`` and
    ``influenced``, so what a team sourced, influenced and is credited with stand side by
    side. ``costs``: a costs file, DataFrame or :class:`~attribution.scorecards.Costs`.
    ``data`` may be an :class:`AttributionResult` computed with ``scorecard=True``.
    ``bootstrap`` (with ``ci`` and ``seed``) adds ``<column>_low``/``_high`` intervals
    (see :func:`attribute`).
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
        bootstrap=bootstrap,
        ci=ci,
        seed=seed,
        exclude=exclude,
    )
    assert result.scorecards is not None
    return result.scorecards[result.by]


def reconcile(
    journeys: Journeys, intake: Intake | None, *, lookback_days: float | None = None
) -> Reconciliation:
    """The reconciliation of the input alone (no models), windowed with ``lookback_days``."""
    summary = window(journeys, lookback_days)[1]
    counts = JourneyCounts.of(journeys)
    return Reconciliation(
        intake=intake,
        journeys=counts.journeys,
        journeys_weighted=counts.weighted,
        converted_journeys=counts.conversions,
        value_in=counts.value_in,
        touches_valid=counts.touches,
        windows=(summary,),
        duplicate_touches=counts.duplicates,
        notes=tuple(intake.notes if intake else ()),
    )


__all__ = [
    "DEFAULT_BY",
    "AttributionResult",
    "RunPlan",
    "attribute",
    "reconcile",
    "result_of",
    "scorecard",
]
