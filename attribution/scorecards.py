"""The revenue scorecard: the KPIs marketing and sales review together, by source.

For one model and one roll-up (a channel, a team, any dimension, per period), let
``w_jg`` be the share of journey ``j``'s conversions the model credits to group ``g``:
the sum over the journey's touches in ``g`` of their credited conversions, over the
journey's conversions (for ``influenced``: 1 when ``g`` touched ``j`` in the window; for
``sourced``: 1 for the group of ``j``'s first touch). Every column is a weighted sum over
journeys, so the scorecard is one pass and sums over partitions:

==========================  ===============================================================
``opportunities``           Σ w (credited conversions)
``pipeline``                the model's credited value (Σ w·value for rule models)
``closed``                  Σ w · [closed: ``won`` is known]
``won``                     Σ w · [won]
``won_value``               Σ w · [won] · value
``win_rate``                won / closed (open deals excluded)
``win_rate_by_value``       won_value / Σ w · [closed] · value
``average_won_deal``        won_value / won
``cycle_days``              Σ w · [won] · (closed_at − opportunity_created_at) / Σ w · [won]
                            (won deals with both dates), in days
``days_to_opportunity``     Σ w · (opportunity_created_at − first touch) / Σ w, over the
                            journeys with a first touch at or before the opportunity
``velocity_per_day``        opportunities × win_rate × average_won_deal / cycle_days
``cost``                    spend of the group: the touch table's ``cost`` over the
                            group's touches (each touch in the period of its own time), plus
                            a costs file
``cost_per_opportunity``    cost / opportunities
``cost_per_won``            cost / won
``roi``                     (won_value − cost) / cost
``pipeline_to_cost``        pipeline / cost
``leads``                   with lead milestones: Σ w' over journeys with a lead, w' the
                            model's share of the lead, crediting the touches up to lead
                            creation
``lead_to_opportunity``     Σ w' · [converted] / leads
``opportunity_to_won``      won / opportunities (open deals count as not won)
==========================  ===============================================================

A ratio whose denominator is 0 is undefined: null (NaN), never 0 or infinity. The
untouched group ``(no touch)`` (converted journeys with no touch in the window: w = 1)
has its opportunities, pipeline, win rate and cycle, and no cost. Record weights (path
tables, bootstrap replicates) multiply every count and amount.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from attribution.errors import InputError, ParameterError, Problem
from attribution.journeys import NO_TOUCH_LABEL, Coding, Journeys, Level
from attribution.kernels.scorecard import journey_group_sums
from attribution.kernels.segments import NO_TIME
from attribution.models.base import TouchCredit
from attribution.periods import PERIOD_DIMENSION, PERIOD_FORMS, Period, period_codes
from attribution.rollup import group_index, group_keys, untouched_table

NANOS_PER_DAY = 86_400 * 1_000_000_000
Rollup = tuple[str, ...]

#: Journey quantities summed with the group weights, in column order of the sums.
FEATURES = (
    "opportunities",
    "pipeline",
    "closed",
    "won",
    "won_value",
    "closed_value",
    "won_with_cycle",
    "cycle_won_days",
    "with_both_dates",
    "days_to_opportunity_sum",
)
SUM_COLUMNS = ("opportunities", "pipeline", "closed", "won", "won_value")
#: Lead-stage sums: leads, and of those the ones that became opportunities.
LEAD_COLUMNS = ("leads", "lead_converted")


def journey_features(journeys: Journeys, first_touch: np.ndarray) -> np.ndarray:
    """Per journey record, the quantities of :data:`FEATURES` (weighted by the record's
    weight; ``first_touch``: each journey's first touch time before any window)."""
    weight = journeys.weight
    converted = journeys.converted
    value = journeys.value
    closed = converted & (journeys.won >= 0)
    won = converted & (journeys.won == 1)
    created, closed_at = journeys.opportunity_created_at, journeys.closed_at
    has_cycle = won & (created != NO_TIME) & (closed_at != NO_TIME)
    cycle = np.where(has_cycle, (closed_at - np.where(has_cycle, created, 0)) / NANOS_PER_DAY, 0)
    both = converted & (created != NO_TIME) & (first_touch != NO_TIME) & (first_touch <= created)
    to_opportunity = np.where(both, (created - np.where(both, first_touch, 0)) / NANOS_PER_DAY, 0)
    columns = [
        np.where(converted, weight, 0.0),
        value,
        np.where(closed, weight, 0.0),
        np.where(won, weight, 0.0),
        np.where(won, value, 0.0),
        np.where(closed, value, 0.0),
        np.where(has_cycle, weight, 0.0),
        np.where(has_cycle, weight * cycle, 0.0),
        np.where(both, weight, 0.0),
        np.where(both, weight * to_opportunity, 0.0),
    ]
    return np.ascontiguousarray(np.stack(columns, axis=1), dtype=np.float64)


@dataclass(frozen=True)
class ScorecardSums:
    """Per group key, the weighted feature sums (opportunity stage and, when present,
    lead stage), the credited value and the cost; mergeable across partitions."""

    keys: np.ndarray
    sums: np.ndarray
    pipeline: np.ndarray
    leads: np.ndarray | None
    #: Per untouched group (labels, then :data:`FEATURES` sums).
    untouched: pd.DataFrame

    def merge(
        self,
        other: ScorecardSums,
        untouched: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame] | None = None,
    ) -> ScorecardSums:
        """The two partitions' sums added by key; ``untouched`` merges the untouched
        groups' tables (default :func:`merge_untouched`)."""
        keys = np.concatenate((self.keys, other.keys))
        unique, inverse = np.unique(keys, return_inverse=True)

        def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            stacked = np.concatenate((a, b))
            out = np.zeros((len(unique), *stacked.shape[1:]))
            np.add.at(out, inverse, stacked)
            return out

        leads = None
        if self.leads is not None and other.leads is not None:
            leads = add(self.leads, other.leads)
        return ScorecardSums(
            unique,
            add(self.sums, other.sums),
            add(self.pipeline, other.pipeline),
            leads,
            (untouched or merge_untouched)(self.untouched, other.untouched),
        )


def merge_untouched(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """The untouched groups of two partitions, summed by label."""
    frame = pd.concat([first, second], ignore_index=True)
    sums = [c for c in frame.columns if c in FEATURES or c in LEAD_COLUMNS]
    frame[sums] = frame[sums].fillna(0.0)
    labels = [c for c in frame.columns if c not in sums]
    return frame.groupby(labels, as_index=False, sort=True).sum() if len(frame) else frame


def untouched_features(windowed: Journeys, by: Sequence[str], features: np.ndarray) -> pd.DataFrame:
    """The feature sums of the converted journeys with no touch in the window, per
    untouched group (``(no touch)`` for touch-level dimensions)."""
    mask = windowed.converted & (windowed.lengths == 0)
    sums = {name: features[mask, i] for i, name in enumerate(FEATURES)}
    return untouched_table(windowed, by, mask, sums)


def with_untouched_leads(
    untouched: pd.DataFrame, staged: Journeys, by: Sequence[str], lead_columns: np.ndarray
) -> pd.DataFrame:
    """The untouched groups' sums with their leads: the lead-stage journeys (``staged``,
    windowed as the model credits them) with no touch up to lead creation, such as a
    lead created before its first touch or a journey with no touch at all. Each lead
    is then in exactly one group, so the ``leads`` column sums to the leads.
    ``lead_columns``: per staged journey its leads and converted leads."""
    mask = staged.converted & (staged.lengths == 0)
    per_lead = {name: lead_columns[mask, i] for i, name in enumerate(LEAD_COLUMNS)}
    leads = untouched_table(staged, by, mask, per_lead)
    merged = untouched.merge(leads, on=list(by), how="outer")
    sums = [c for c in merged.columns if c in FEATURES or c in LEAD_COLUMNS]
    merged[sums] = merged[sums].fillna(0.0)
    return merged.sort_values(list(by), ignore_index=True)


def credit_shares(journeys: Journeys, credit: TouchCredit) -> np.ndarray:
    """Each touch's credited conversions over its journey's conversions (0 where the
    journey has none)."""
    conversions = journeys.touch_conversions
    return np.divide(
        credit.conversions,
        conversions,
        out=np.zeros(len(conversions)),
        where=conversions != 0,
    )


def scorecard_sums(
    journeys: Journeys,
    credit: TouchCredit,
    by: Sequence[str],
    keys: np.ndarray,
    features: np.ndarray,
    untouched: pd.DataFrame,
    *,
    once: bool,
    lead: tuple[Journeys, TouchCredit, np.ndarray] | None = None,
    group: np.ndarray | None = None,
) -> ScorecardSums:
    """The weighted sums of one model's credit of ``journeys`` (the journeys it credited,
    ``features`` their rows of :func:`journey_features`). ``untouched``: the untouched
    groups' sums (:func:`untouched_features`). ``lead``: the lead-stage journeys,
    the model's credit of them, and per lead journey its leads and, of those, the ones
    that became opportunities (two columns). ``group``: each touch's position among
    ``keys``, when already known."""
    if group is None:
        group = group_index(journeys, by, keys)
    sums = journey_group_sums(
        group, journeys.offsets, credit_shares(journeys, credit), features, len(keys), once
    )
    pipeline = np.bincount(group, weights=credit.value, minlength=len(keys))
    if once:
        pipeline = sums[:, FEATURES.index("pipeline")].copy()
    leads = None
    if lead is not None:
        lead_journeys, lead_credit, lead_columns = lead
        lead_group = group_index(lead_journeys, by, keys)
        leads = journey_group_sums(
            lead_group,
            lead_journeys.offsets,
            credit_shares(lead_journeys, lead_credit),
            np.ascontiguousarray(lead_columns, dtype=np.float64),
            len(keys),
            once,
        )
    return ScorecardSums(keys, sums, pipeline, leads, untouched)


def lead_stage(journeys: Journeys) -> tuple[Journeys, np.ndarray]:
    """The journeys with the lead's creation as the conversion (every journey with a
    ``lead_created_at`` converts then, worth 1 per lead), and per journey its leads and,
    of those, the ones that became opportunities."""
    has_lead = journeys.lead_created_at != NO_TIME
    staged = journeys._derive(
        converted=has_lead,
        converted_at=np.where(has_lead, journeys.lead_created_at, NO_TIME),
        value=np.where(has_lead, journeys.weight, 0.0),
    )
    leads = np.where(has_lead, journeys.weight, 0.0)
    columns = np.stack([leads, np.where(journeys.converted, leads, 0.0)], axis=1)
    return staged, columns


def with_period_of(journeys: Journeys, times: np.ndarray, period: Period, level: Level) -> Journeys:
    """The journeys with their period dimension taken from other times, per journey or
    per touch (then a touch-level dimension), in the same period coding."""
    names = journeys.names(PERIOD_DIMENSION)
    coding = Coding(period_codes(times, period, names), names)
    journey_dims = {k: v for k, v in journeys.journey_dimensions.items() if k != PERIOD_DIMENSION}
    touch_dims = dict(journeys.touch_dimensions)
    if level == "journey":
        journey_dims[PERIOD_DIMENSION] = coding
    else:
        touch_dims[PERIOD_DIMENSION] = coding
    return journeys._derive(journey_dimensions=journey_dims, touch_dimensions=touch_dims)


def costs_by_group(
    journeys: Journeys, by: Sequence[str], period: Period | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """The touch table's cost per group: each touch's recorded cost in its own group, a
    period taken from the touch's own time (spend counts when it is spent). Returns the
    keys of the groups with a recorded cost and their costs (None: no cost column)."""
    if journeys.cost is None:
        return None
    costed = journeys
    if PERIOD_DIMENSION in by and period is not None:
        costed = with_period_of(journeys, journeys.timestamp, period, "touch")
    cost = journeys.cost
    recorded = ~np.isnan(cost)
    touch_keys = group_keys(costed, by)[recorded]
    keys, inverse = np.unique(touch_keys, return_inverse=True)
    return keys, np.bincount(inverse, weights=cost[recorded], minlength=len(keys))


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, null where the denominator is 0 (or null)."""
    numerator, denominator = np.broadcast_arrays(
        np.asarray(numerator, dtype=np.float64), np.asarray(denominator, dtype=np.float64)
    )
    defined = (denominator != 0) & ~np.isnan(denominator)
    out = np.full(denominator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=defined)
    return out


def raw_columns(
    sums: ScorecardSums, cost: np.ndarray, labels: pd.DataFrame
) -> dict[str, np.ndarray]:
    """The label and summed columns of one model's scorecard, one row per group
    (``labels``: the labels of ``sums.keys``, :func:`~attribution.rollup.labels_of`), then
    the untouched groups (no cost; no lead counted where they have no lead column): the
    ratios are computed by :func:`kpis`."""
    columns: dict[str, np.ndarray] = {d: labels[d].to_numpy() for d in labels.columns}
    for i, name in enumerate(FEATURES):
        if name != "pipeline":
            columns[name] = sums.sums[:, i]
    columns["pipeline"] = sums.pipeline
    columns["cost"] = cost.astype(np.float64)
    if sums.leads is not None:
        columns["leads"] = sums.leads[:, 0]
        columns["lead_converted"] = sums.leads[:, 1]
    untouched = sums.untouched.assign(cost=np.nan)
    if len(untouched):
        touched = len(labels)
        for name in untouched.columns:
            if name not in columns:
                columns[name] = np.full(touched, np.nan)
        for name, values in columns.items():
            more = (
                untouched[name].to_numpy()
                if name in untouched.columns
                else np.full(len(untouched), np.nan)
            )
            columns[name] = np.concatenate([values, more])
        if sums.leads is not None:
            for name in LEAD_COLUMNS:
                columns[name] = np.where(np.isnan(columns[name]), 0.0, columns[name])
    return columns


#: Scorecard columns that get bootstrap intervals (``<column>_low``, ``<column>_high``).
INTERVAL_KPIS = (
    "opportunities",
    "pipeline",
    "won",
    "won_value",
    "win_rate",
    "win_rate_by_value",
    "average_won_deal",
    "cycle_days",
    "days_to_opportunity",
    "velocity_per_day",
    "cost_per_opportunity",
    "cost_per_won",
    "roi",
    "pipeline_to_cost",
)


def kpis(get: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The scorecard columns from the summed ones (arrays of any one shape: a group per
    row, and a replicate per column for the bootstrap)."""
    out = {name: get[name] for name in SUM_COLUMNS}
    win_rate = _ratio(get["won"], get["closed"])
    average = _ratio(get["won_value"], get["won"])
    cycle = _ratio(get["cycle_won_days"], get["won_with_cycle"])
    cost = get["cost"]
    out.update(
        win_rate=win_rate,
        win_rate_by_value=_ratio(get["won_value"], get["closed_value"]),
        average_won_deal=average,
        cycle_days=cycle,
        days_to_opportunity=_ratio(get["days_to_opportunity_sum"], get["with_both_dates"]),
        velocity_per_day=_ratio(get["opportunities"] * win_rate * average, cycle),
        cost=np.broadcast_to(cost, win_rate.shape),
        cost_per_opportunity=_ratio(cost, get["opportunities"]),
        cost_per_won=_ratio(cost, get["won"]),
        roi=_ratio(get["won_value"] - cost, cost),
        pipeline_to_cost=_ratio(get["pipeline"], cost),
    )
    if "leads" in get:
        out["leads"] = get["leads"]
        out["lead_to_opportunity"] = _ratio(get["lead_converted"], get["leads"])
        out["opportunity_to_won"] = _ratio(get["won"], get["opportunities"])
    return out


#: The label of a dimension a cost row's key does not determine (see
#: :func:`with_file_costs`).
UNALLOCATED_LABEL = "(unallocated)"


@dataclass(frozen=True)
class Costs:
    """Spend from a costs file: one or more dimension columns (``channel``, ``campaign``:
    a row is the spend of that channel's campaign), optional ``period`` (``2026-Q3``),
    ``cost``. Every key and period cell must be filled (a row without its key is spend
    nobody could be credited with: an error naming the row). How the spend reaches each
    scorecard: :func:`with_file_costs`."""

    dimensions: tuple[str, ...]
    table: pd.DataFrame
    has_period: bool
    source: str

    @classmethod
    def load(cls, source: object) -> Costs:
        """Costs from a file (.csv, .parquet), a DataFrame, or any table source."""
        if isinstance(source, Costs):
            return source
        from attribution.io.sources import read_source

        table = read_source(source, what="costs")
        return cls.read(table.table.to_pandas(), table.label)

    @classmethod
    def read(cls, frame: pd.DataFrame, source: str) -> Costs:
        """Validate a costs table (rows are numbered from 1, the header not counted)."""
        frame = frame.reset_index(drop=True)
        columns = [str(c) for c in frame.columns]
        if "cost" not in columns:
            raise InputError(
                Problem(
                    f"costs need a 'cost' column; they have {', '.join(columns)}", source=source
                )
            )
        keys = [c for c in columns if c not in ("cost", PERIOD_DIMENSION)]
        if not keys:
            raise InputError(
                Problem(
                    "costs need a dimension column (e.g. channel or campaign) besides "
                    f"'period' and 'cost'; they have {', '.join(columns)}",
                    source=source,
                )
            )
        problems = [
            _bad_rows(
                _blank(frame[name]),
                f"{'period' if name == PERIOD_DIMENSION else 'key'} is empty: every cost "
                "row needs its "
                + ("period" if name == PERIOD_DIMENSION else f"{name} (the group it is spent on)"),
                source,
                name,
                frame[name],
            )
            for name in [*keys, *([PERIOD_DIMENSION] if PERIOD_DIMENSION in columns else [])]
        ]
        cost = pd.to_numeric(frame["cost"], errors="coerce").to_numpy(dtype=float)
        problems.append(
            _bad_rows(
                ~np.isfinite(cost) | (cost < 0),
                "cost must be a finite number >= 0",
                source,
                "cost",
                frame["cost"],
            )
        )
        found = [p for p in problems if p is not None]
        if found:
            raise InputError(found)
        with np.errstate(over="ignore"):
            if not np.isfinite(cost.sum()):
                raise InputError(Problem("the costs' total is not a finite number", source=source))
        table = pd.DataFrame({key: frame[key].astype(str).str.strip() for key in keys})
        table["cost"] = cost
        if PERIOD_DIMENSION in columns:
            table[PERIOD_DIMENSION] = frame[PERIOD_DIMENSION].astype(str).str.strip()
        return cls(tuple(keys), table, PERIOD_DIMENSION in columns, source)

    def check_run(self, period: Period | None) -> None:
        """The costs against a run's ``period``: a file with a period column gives its
        spend per period, so it needs a run by period (summed over its periods it would
        lose them), and its period labels must have the run's form."""
        if period is None:
            if self.has_period:
                raise InputError(
                    Problem(
                        "costs by period need a run by period (period='month', 'quarter' "
                        "or 'year', the form of these periods); this run has none, and "
                        "the spend is not summed over its periods",
                        source=self.source,
                        column=PERIOD_DIMENSION,
                    )
                )
            return
        self.check_periods(period)

    def check_periods(self, period: Period) -> None:
        """Every period label must have the run's form (``2026-Q3`` for quarters)."""
        if not self.has_period:
            return
        pattern, example = PERIOD_FORMS[period]
        labels = self.table[PERIOD_DIMENSION]
        bad = ~labels.str.fullmatch(pattern).to_numpy(dtype=bool)
        problem = _bad_rows(
            bad,
            f"period is not a {period} like {example!r} (the scorecard is by {period})",
            self.source,
            PERIOD_DIMENSION,
            labels,
        )
        if problem is not None:
            raise InputError(problem)


def _blank(column: pd.Series) -> np.ndarray:
    """Null cells, and text cells that are empty once stripped."""
    text = column.astype("string").str.strip()
    return (column.isna() | (text == "")).to_numpy(dtype=bool)


def _bad_rows(
    bad: np.ndarray, reason: str, source: str, column: str, values: pd.Series
) -> Problem | None:
    if not bad.any():
        return None
    return Problem(
        reason,
        source=source,
        column=column,
        rows=tuple(f"row {i + 1}" for i in np.flatnonzero(bad)[:5]),
        count=int(bad.sum()),
        examples=tuple(repr(v)[:40] for v in values[bad].head(5)),
    )


def with_file_costs(
    raw: pd.DataFrame,
    costs: Costs,
    by: Sequence[str],
    combinations: pd.DataFrame | None,
) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """One model's raw scorecard with a costs file's spend added to its groups.

    The file's key columns ``K`` (e.g. ``channel``) and the scorecard's dimensions ``D``
    (period aside) need not be the same. ``combinations`` holds the distinct label
    combinations of ``K`` and ``D`` on the data's touches. Each cost row goes to one
    group of the scorecard:

    - a dimension of ``D`` in ``K`` takes the row's own label;
    - a dimension of ``D`` not in ``K`` takes the one label every touch with the row's
      key has (by ``team`` with costs by ``channel``: the channel's team, when all its
      touches are one team's), else ``(unallocated)``: spend of a key spread over
      several labels (or on no touch) cannot be split over them exactly, so it is shown
      on its own row (``events, (unallocated)`` by channel x team) and named in a note,
      never divided by a guess nor dropped;
    - key columns not in ``D`` are summed over (costs by channel and campaign in a
      scorecard by channel).

    The row's spend is added to that group's touch cost; the period is the row's own
    (the scorecard by period needs a period column; a card without the period of a
    run by period sums the file's periods, and a file with periods needs a run by
    period: :meth:`Costs.check_run`). A cost row matching no group of the data is shown
    as a row with no opportunities, named in a note. So every card, whatever its
    dimensions, carries the file's whole spend. The untouched group has no cost.
    Returns the card and its notes (code, text): ``costs_unallocated``,
    ``costs_unmatched``.
    """
    dims = [d for d in by if d != PERIOD_DIMENSION]
    by_period = PERIOD_DIMENSION in by
    if by_period and not costs.has_period:
        raise ParameterError(
            f"the costs file {costs.source} has no period column, but the scorecard is by "
            "period: its spend cannot be split over periods"
        )
    key = list(costs.dimensions)
    missing = [k for k in key if combinations is None or k not in combinations.columns]
    if missing:
        raise ParameterError(
            f"the costs of {costs.source} are keyed by {', '.join(map(repr, missing))}, which "
            "the data does not have (read it as a dimension)"
        )
    assert combinations is not None
    table = costs.table
    present = combinations[key].drop_duplicates().assign(_present=True)
    on_touches = table.merge(present, on=key, how="left")["_present"].notna().to_numpy()
    for target in (d for d in dims if d not in key):
        pairs = combinations[[*key, target]].drop_duplicates()
        labels = pairs.groupby(key)[target]
        determined = labels.first().where(labels.nunique() == 1, UNALLOCATED_LABEL)
        table = table.merge(determined.rename(target).reset_index(), on=key, how="left")
        table[target] = table[target].fillna(UNALLOCATED_LABEL)
    keys = [*dims, *([PERIOD_DIMENSION] if by_period else [])]
    unallocated = unallocated_any(table, dims) & on_touches
    notes: list[tuple[str, str]] = []
    if unallocated.any():
        named = sorted(
            {" ".join(row) for row in table.loc[unallocated, key].itertuples(index=False)}
        )
        notes.append(
            (
                "costs_unallocated",
                f"spend of {costs.source} on {', '.join(named)} (keyed by {' and '.join(key)}) "
                f"cannot be split over {' x '.join(d for d in dims if d not in key)}: shown "
                f"under {UNALLOCATED_LABEL} in the scorecard by {' x '.join(by)}",
            )
        )
    spend = table.groupby(keys, as_index=False).agg(file_cost=("cost", "sum"))
    # The card's rows in their order (groups, then untouched), then the cost-only rows.
    merged = raw.merge(spend, on=keys, how="left", indicator=True)
    extra = spend.merge(raw[keys], on=keys, how="left", indicator=True)
    extra = extra[extra["_merge"] == "left_only"].assign(_merge="right_only")
    merged = pd.concat([merged, extra], ignore_index=True)
    cost_only = (merged["_merge"] == "right_only").to_numpy()
    # Cost rows that make a row of their own: a group the data does not have (in that
    # period), or a key on no touch (then under (unallocated) for the other dimensions).
    placed = unallocated_any(merged, dims)
    periods = keys[len(dims) :]
    listed = {
        " ".join(map(str, row))
        for row in merged.loc[cost_only & ~placed, keys].itertuples(index=False)
    } | {
        " ".join(map(str, row))
        for row in table.loc[
            ~on_touches & unallocated_any(table, dims), [*key, *periods]
        ].itertuples(index=False)
    }
    if listed:
        notes.append(
            (
                "costs_unmatched",
                f"cost rows of {costs.source} match no group of the data (shown with no "
                f"opportunities): {', '.join(sorted(listed))}",
            )
        )
    if cost_only.any():
        merged.loc[cost_only, "model"] = raw["model"].iloc[0]
        numeric = [c for c in raw.columns if c not in ("model", *by)]
        merged.loc[cost_only, numeric] = merged.loc[cost_only, numeric].fillna(0.0)
    untouched = (merged[dims] == NO_TOUCH_LABEL).any(axis=1).to_numpy()
    recorded = merged["cost"].notna() | merged["file_cost"].notna()
    total = merged["cost"].fillna(0.0) + merged["file_cost"].fillna(0.0)
    merged["cost"] = np.where(untouched | ~recorded, np.nan, total)
    return merged.drop(columns=["file_cost", "_merge"]), notes


def unallocated_any(frame: pd.DataFrame, dims: Sequence[str]) -> np.ndarray:
    """Rows with an ``(unallocated)`` label in any of ``dims``."""
    return (frame[list(dims)] == UNALLOCATED_LABEL).any(axis=1).to_numpy(dtype=bool)


def stacked(scorecards: dict[tuple[str, ...], pd.DataFrame], by: Sequence[str]) -> pd.DataFrame:
    """The scorecards of each single dimension of ``by`` in one long table: columns
    ``model``, ``dimension``, ``group`` (and ``period``), then the scorecard's."""
    parts = []
    for dims, frame in scorecards.items():
        named = [d for d in dims if d != PERIOD_DIMENSION]
        if len(named) != 1 or named[0] not in by:
            continue
        part = frame.rename(columns={named[0]: "group"})
        part.insert(1, "dimension", named[0])
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
