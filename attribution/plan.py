"""A run's plan: which models, windows and roll-ups, validated before any work.

Every option of :func:`attribution.attribute` is checked here, strictly: an unknown
model or parameter, a parameter given for a model passed as an object (configure the
object instead), a model listed twice, a roll-up by an unknown dimension, or a lookback
on data without times is a :class:`~attribution.errors.ParameterError` naming it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

import numpy as np

from attribution.errors import ParameterError
from attribution.journeys import CORE_DIMENSIONS, MISSING_LABEL, Coding, Journeys, LabelTables
from attribution.kernels.segments import NO_TIME
from attribution.models.base import AttributionModel
from attribution.models.registry import make_model, model_names
from attribution.notes import Note
from attribution.periods import (
    PERIOD_DIMENSION,
    Cohort,
    Period,
    check_period,
    cohort_times,
    default_cohort,
    months_of,
    period_codes,
    period_names,
)
from attribution.rollup import check_dimensions

#: ``"all"``, one model name, a sequence of names and model objects, or labels -> objects.
Models = str | Sequence[str | AttributionModel] | Mapping[str, AttributionModel]


@dataclass(frozen=True)
class DataShape:
    """What a plan needs to know of the data: its dimensions and their labels, whether it
    has times and which milestones, and the months its times span (for period labels).
    Mergeable, so a distributed run learns it from its partitions."""

    tables: LabelTables
    has_times: bool
    has_opportunity_dates: bool
    has_conversion_dates: bool
    months: np.ndarray
    #: Whether some journey has a ``lead_created_at`` (the scorecard's lead stage).
    has_lead_dates: bool = True

    @classmethod
    def of(cls, journeys: Journeys, *, months: bool = True) -> DataShape:
        """The shape of ``journeys``; ``months=False`` skips the months (a pass over
        every time: needed only for a period)."""
        return cls(
            LabelTables.of(journeys),
            journeys.has_times,
            bool((journeys.opportunity_created_at != NO_TIME).any()),
            bool((journeys.converted_at != NO_TIME).any()),
            months_of(journeys) if months else np.zeros(0, np.int64),
            bool((journeys.lead_created_at != NO_TIME).any()),
        )

    def merge(self, other: DataShape) -> DataShape:
        return DataShape(
            self.tables.merge(other.tables),
            self.has_times and other.has_times,
            self.has_opportunity_dates or other.has_opportunity_dates,
            self.has_conversion_dates or other.has_conversion_dates,
            np.union1d(self.months, other.months),
            self.has_lead_dates or other.has_lead_dates,
        )

    @property
    def dimensions(self) -> tuple[str, ...]:
        return tuple(self.tables.tables)


@dataclass(frozen=True)
class RunPlan:
    """The validated plan of one run.

    ``models``: unfitted models by label, in reporting order; ``rollups``: every roll-up
    (the first is ``by``); ``notes``: statements about the plan (models left out of
    ``all`` for this kind of input, dimensions the input lacks).
    """

    models: dict[str, AttributionModel]
    every_model: bool
    by: tuple[str, ...]
    rollups: tuple[tuple[str, ...], ...]
    lookback_days: float | None
    period: Period | None
    cohort: Cohort | None
    notes: tuple[Note, ...]
    #: The labels of the period dimension (every period of the data's times).
    period_names: tuple[str, ...] = ()
    #: Touches no model may credit: (dimension, label) pairs.
    exclude: tuple[tuple[str, str], ...] = ()
    #: Whether some journey has a lead date: without one the scorecard has no lead stage.
    has_lead_dates: bool = True

    def excluded(self, journeys: Journeys) -> np.ndarray | None:
        """Which touches are excluded (None: none are)."""
        if not self.exclude:
            return None
        mask = np.zeros(journeys.n_touches, bool)
        for dimension, label in self.exclude:
            names = journeys.names(dimension)
            if label in names:
                mask |= journeys.codes(dimension) == names.index(label)
        return mask

    def window_of(self, model: AttributionModel) -> float | None:
        """The lookback window a model sees."""
        return self.lookback_days if model.uses_lookback else None

    @property
    def windows(self) -> tuple[float | None, ...]:
        """The distinct credit windows of the models, in model order."""
        return tuple(dict.fromkeys(self.window_of(m) for m in self.models.values()))

    def shows_untouched(self, model: AttributionModel) -> bool:
        """Whether the model's roll-ups carry the untouched group (conserving models)."""
        return model.conserving

    def prepare(self, journeys: Journeys) -> Journeys:
        """The journeys with the period dimension, when the plan has one. Its labels are
        every period of the data's times (so leads are coded by their creation and spend
        by its touch in the same periods, and every partition alike)."""
        if self.period is None or self.cohort is None:
            return journeys
        times = cohort_times(journeys, self.cohort)
        coding = Coding(period_codes(times, self.period, self.period_names), self.period_names)
        return journeys.with_journey_dimension(PERIOD_DIMENSION, coding)


def plan_run(
    data: Journeys | DataShape,
    models: Models,
    *,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    by: Sequence[str] = ("channel", "team"),
    also_by: Sequence[Sequence[str]] = (),
    lookback_days: float | None = None,
    period: Period | None = None,
    cohort: Cohort | None = None,
    exclude: Sequence[tuple[str, str]] = (),
) -> RunPlan:
    """Validate a run's options against the data (its journeys, or their shape) and
    resolve its models. ``exclude``: (dimension, label) pairs of touches no model may
    credit (their share goes to the journey's other touches)."""
    shape = data if isinstance(data, DataShape) else DataShape.of(data, months=period is not None)
    check_lookback(lookback_days, shape.has_times)
    check_period(period, cohort)
    if cohort is not None and period is None:
        raise ParameterError("cohort chooses the date of a period: give period as well")
    if period is not None and cohort is None:
        cohort = default_cohort(shape.has_opportunity_dates, shape.has_conversion_dates)
    if cohort == "first_touch" and not shape.has_times:
        raise ParameterError("the first-touch cohort needs touch timestamps; paths have none")
    resolved, every_model, notes = resolve_models(models, shape.has_times, parameters)
    available = shape.dimensions + ((PERIOD_DIMENSION,) if period else ())
    if isinstance(by, str):
        raise ParameterError("by must be a sequence of dimension names, e.g. ('channel',)")
    by = tuple(by)
    if period is not None and PERIOD_DIMENSION not in by:
        by = (*by, PERIOD_DIMENSION)
    by = check_dimensions(by, available)
    rollups = tuple(dict.fromkeys([by, *(check_dimensions(d, available) for d in also_by)]))
    exclude = tuple((str(d), str(label)) for d, label in exclude)
    for dimension, label in exclude:
        if dimension not in shape.dimensions:
            raise ParameterError(
                f"cannot exclude {dimension}={label}: the data has no dimension {dimension!r} "
                f"(it has {', '.join(shape.dimensions)})"
            )
        if label not in shape.tables.names(dimension):
            notes.append(
                Note(
                    "exclusion_matches_nothing",
                    f"the exclusion {dimension}={label} matches no touch",
                    data={"dimension": dimension, "label": label},
                )
            )
    for dimension in dict.fromkeys(d for dims in rollups for d in dims):
        if dimension in CORE_DIMENSIONS and shape.tables.names(dimension) == (MISSING_LABEL,):
            notes.append(
                Note(
                    "dimension_missing",
                    f"the input has no {dimension}: every touch is in group {MISSING_LABEL}",
                    data={"dimension": dimension},
                )
            )
    return RunPlan(
        models=resolved,
        every_model=every_model,
        by=by,
        rollups=rollups,
        lookback_days=lookback_days,
        period=period,
        cohort=cohort,
        notes=tuple(notes),
        period_names=period_names(shape.months, period) if period is not None else (),
        exclude=exclude,
        has_lead_dates=shape.has_lead_dates,
    )


def check_lookback(lookback_days: float | None, has_times: bool) -> None:
    if lookback_days is None:
        return
    if isinstance(lookback_days, bool) or not isinstance(lookback_days, (int, float)):
        raise ParameterError(f"lookback_days must be a number of days, not {lookback_days!r}")
    if not (math.isfinite(lookback_days) and lookback_days > 0):
        raise ParameterError(
            f"lookback_days must be a finite number of days > 0 (a window of 0 days "
            f"credits nothing), got {lookback_days}"
        )
    if not has_times:
        raise ParameterError("a lookback window needs touch timestamps; path tables have none")


def resolve_models(
    models: Models,
    has_times: bool,
    parameters: Mapping[str, Mapping[str, Any]] | None,
) -> tuple[dict[str, AttributionModel], bool, list[Note]]:
    """Models by label, whether every model was asked for, and notes about models
    ``"all"`` leaves out for this kind of input."""
    parameters = dict(parameters or {})
    notes: list[Note] = []
    every_model = isinstance(models, str) and models.strip() == "all"
    named: list[str] = []
    resolved: dict[str, AttributionModel] = {}
    if every_model:
        named = list(model_names())
        entries: list[tuple[str, str | AttributionModel]] = [(n, n) for n in named]
    elif isinstance(models, str):
        name = models.strip()
        if "," in name:
            raise ParameterError(
                f"models={models!r}: pass several models as a list, e.g. ['linear', 'markov']"
            )
        entries = [(name, name)]
    elif isinstance(models, Mapping):
        entries = []
        for label, model in models.items():
            if not isinstance(model, AttributionModel):
                raise ParameterError(
                    f"models[{label!r}] must be a model object, not {type(model).__name__}"
                )
            entries.append((str(label), model))
    elif isinstance(models, Set):
        # The order of the models is the order of the result's tables and columns; a set
        # (or a dict's keys view) would make it change between runs.
        raise ParameterError(
            f"models must be a sequence or mapping; a {type(models).__name__} has no order "
            "(pass a list, e.g. sorted(models))"
        )
    else:
        entries = []
        for spec in models:
            if isinstance(spec, str):
                entries.append((spec.strip(), spec.strip()))
            elif isinstance(spec, AttributionModel):
                entries.append((spec.name, spec))
            else:
                raise ParameterError(
                    f"a model is a name or a model object, not {type(spec).__name__}"
                )
    if not entries:
        raise ParameterError("no models to run")
    by_name = {label for label, spec in entries if isinstance(spec, str)}
    stray = sorted(set(parameters) - by_name)
    if stray:
        objects = {label for label, spec in entries if not isinstance(spec, str)}
        on_objects = [s for s in stray if s in objects]
        if on_objects:
            raise ParameterError(
                f"parameters given for {', '.join(on_objects)}, passed as a model object: "
                "set them on the object (e.g. TimeDecay(half_life_days=3)), not in parameters"
            )
        raise ParameterError(
            f"parameters given for {', '.join(map(repr, stray))}, which is not a model of "
            f"this run (known models: {', '.join(model_names())})"
        )
    for label, spec in entries:
        if label in resolved:
            raise ParameterError(
                f"model {label!r} is listed twice; pass a mapping of labels to models to run "
                "one model with different parameters"
            )
        model = make_model(spec, parameters.get(spec)) if isinstance(spec, str) else spec
        if every_model and model.needs_configuration and spec not in parameters:
            continue
        model._check_params()
        if model.needs_times and not has_times:
            if every_model:
                notes.append(
                    Note(
                        "left_out",
                        "left out: it needs touch timestamps, which path tables lack",
                        model=label,
                    )
                )
                continue
            raise ParameterError(f"{label} needs touch timestamps; path tables have none")
        resolved[label] = model
    return resolved, every_model, notes
