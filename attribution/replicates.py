"""The bootstrap replicates of one run, model by model, reduced as they are produced.

Rule models (linear in the journey weights) take one pass over blocks of journeys: each
block's credit by journey and group, times the block's replicate factors, is added to a
groups x replicates matrix (a dense product, so B replicates cost one matrix multiply).
Data-driven models are refitted per replicate on the reweighted journeys, in blocks of
replicates whose factors fit a memory budget. The untouched groups and the value in (the
denominator of every share) are weight-linear too and come from the same pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from attribution.bootstrap import (
    INTERVAL_COLUMNS,
    Bootstrap,
    interval,
    journey_blocks,
    journey_keys,
    replicate_blocks,
)
from attribution.journeys import Journeys
from attribution.kernels.replicates import journey_group_matrix
from attribution.kernels.scorecard import journey_group_sums
from attribution.models.base import AttributionModel, ModelNotApplicable, TouchCredit, clone
from attribution.notes import Note
from attribution.plan import RunPlan
from attribution.rollup import group_keys, labels_of, sum_groups, untouched_labels
from attribution.scorecards import (
    FEATURES,
    INTERVAL_KPIS,
    ScorecardPass,
    credit_shares,
    journey_features,
    kpis,
)

Rollup = tuple[str, ...]


class ReplicateRun:
    """Replicate values of every model's roll-ups (groups x replicates)."""

    def __init__(
        self,
        bootstrap: Bootstrap,
        journeys: Journeys,
        plan: RunPlan,
        keys: dict[Rollup, np.ndarray],
        windows: dict[float | None, Journeys],
        cards: ScorecardPass | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.cards = cards
        #: Scorecard replicate sums per (model, roll-up): groups x features x replicates,
        #: and the credited value (groups x replicates).
        self.card_sums: dict[tuple[str, Rollup], np.ndarray] = {}
        self.card_pipeline: dict[tuple[str, Rollup], np.ndarray] = {}
        self.card_untouched: dict[tuple[float | None, Rollup], np.ndarray] = {}
        self.journeys = journeys
        self.plan = plan
        self.keys = keys
        self.windows = windows
        self.journey_keys = journey_keys(journeys)
        self.values: dict[tuple[str, Rollup], np.ndarray] = {}
        self.untouched: dict[tuple[float | None, Rollup], tuple[pd.DataFrame, np.ndarray]] = {}
        self.value_in = np.zeros(bootstrap.replicates)
        self.failures: dict[str, list[str]] = {}
        self._linear: list[tuple[str, AttributionModel]] = []
        self._untouched_rows = {
            (w, dims): self._untouched_groups(windowed, dims)
            for w, windowed in windows.items()
            for dims in plan.rollups
        }

    def _untouched_groups(
        self, windowed: Journeys, dims: Rollup
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """The untouched groups' labels and each untouched journey's group."""
        mask = windowed.converted & (windowed.lengths == 0)
        labels = untouched_labels(windowed, dims, mask)
        if not len(labels):
            return labels, np.zeros(0, np.int64)
        codes = labels.groupby(list(dims), sort=True).ngroup().to_numpy()
        unique = labels.drop_duplicates().sort_values(list(dims)).reset_index(drop=True)
        return unique, codes

    # ------------------------------------------------------------------ models
    def add(self, label: str, model: AttributionModel, windowed: Journeys) -> None:
        """A model's replicates: deferred to the shared pass for rule models, refitted
        per replicate now for data-driven ones."""
        if model.linear_in_weights:
            self._linear.append((label, model))
        else:
            self._refit(label, model, windowed)

    def _refit(self, label: str, model: AttributionModel, windowed: Journeys) -> None:
        b = self.bootstrap
        columns = {
            dims: np.full((len(self.keys[dims]), b.replicates), np.nan)
            for dims in self.plan.rollups
        }
        cards = self.cards
        if cards is not None:
            for dims in self.plan.rollups:
                size = len(cards.keys[dims])
                self.card_sums[(label, dims)] = np.full((size, len(FEATURES), b.replicates), np.nan)
                self.card_pipeline[(label, dims)] = np.full((size, b.replicates), np.nan)
        for first, count in replicate_blocks(b.replicates, windowed.n_journeys):
            factors = b.multipliers(self.journey_keys, windowed.weight, first, count)
            for r in range(count):
                replicate = windowed.reweighted(factors[:, r])
                try:
                    fitted = clone(model).fit(replicate)
                    credited = (
                        replicate.converted_only if model.credits_converted_only else replicate
                    )
                    credit = fitted.credit(credited)
                except ModelNotApplicable as error:
                    self.failures.setdefault(label, []).append(f"replicate {first + r}: {error}")
                    continue
                for dims in self.plan.rollups:
                    sums = sum_groups(
                        credited,
                        credit,
                        dims,
                        self.keys[dims],
                        counts_groups_once=model.counts_groups_once,
                    )
                    columns[dims][:, first + r] = sums.value
                if cards is not None:
                    self._card_replicate(label, model, credited, credit, first + r)
        for dims, values in columns.items():
            self.values[(label, dims)] = values

    def _card_replicate(
        self,
        label: str,
        model: AttributionModel,
        credited: Journeys,
        credit: TouchCredit,
        r: int,
    ) -> None:
        """One replicate's scorecard sums of a refitted model."""
        cards = self.cards
        assert cards is not None
        features = journey_features(credited, self._first_touch_of(credited))
        for dims in self.plan.rollups:
            keys = cards.keys[dims]
            group = np.searchsorted(keys, group_keys(credited, dims))
            sums = journey_group_sums(
                group,
                credited.offsets,
                credit_shares(credited, credit),
                features,
                len(keys),
                model.counts_groups_once,
            )
            self.card_sums[(label, dims)][:, :, r] = sums
            pipeline = (
                sums[:, FEATURES.index("pipeline")]
                if model.counts_groups_once
                else np.bincount(group, weights=credit.value, minlength=len(keys))
            )
            self.card_pipeline[(label, dims)][:, r] = pipeline

    def _first_touch_of(self, journeys: Journeys) -> np.ndarray:
        """First touch times (before any window) of journeys of this run, by id."""
        cards = self.cards
        assert cards is not None
        index = pd.Index(self.journeys.journey_id).get_indexer(journeys.journey_id)
        return cards.first_touch[index]

    def run_linear(self) -> None:
        """The shared pass: rule models' replicates, untouched groups and value in."""
        b = self.bootstrap
        journeys = self.journeys
        for dims in self.plan.rollups:
            for label, _ in self._linear:
                self.values[(label, dims)] = np.zeros((len(self.keys[dims]), b.replicates))
        for (window, dims), (labels, _) in self._untouched_rows.items():
            self.untouched[(window, dims)] = (labels, np.zeros((len(labels), b.replicates)))
            if self.cards is not None:
                shape = (len(labels), len(FEATURES), b.replicates)
                self.card_untouched[(window, dims)] = np.zeros(shape)
        cards = self.cards
        if cards is not None:
            for label, _ in self._linear:
                for dims in self.plan.rollups:
                    size = len(cards.keys[dims])
                    self.card_sums[(label, dims)] = np.zeros((size, len(FEATURES), b.replicates))
                    self.card_pipeline[(label, dims)] = np.zeros((size, b.replicates))
        for start, stop in journey_blocks(journeys.n_journeys, b.replicates):
            rows = np.arange(start, stop)
            factors = b.multipliers(
                self.journey_keys[start:stop], journeys.weight[start:stop], 0, b.replicates
            )
            self.value_in += journeys.value[start:stop] @ factors
            for (window, dims), (_, codes) in self._untouched_rows.items():
                self._add_untouched(window, dims, codes, start, stop, factors)
            for label, model in self._linear:
                windowed = self.windows[self.plan.window_of(model)]
                chosen = (
                    rows[windowed.converted[start:stop]] if model.credits_converted_only else rows
                )
                if not len(chosen):
                    continue
                part = windowed.subset(chosen)
                credit = model.credit(part)
                local = factors[chosen - start]
                once = model.counts_groups_once
                for dims in self.plan.rollups:
                    keys = self.keys[dims]
                    group = np.searchsorted(keys, group_keys(part, dims))
                    matrix = journey_group_matrix(
                        group, part.offsets, credit.value, len(keys), once
                    )
                    self.values[(label, dims)] += matrix.T @ local
                    if cards is not None:
                        self._card_block(label, dims, part, credit, chosen, local, once)

    def _card_block(
        self,
        label: str,
        dims: Rollup,
        part: Journeys,
        credit: TouchCredit,
        chosen: np.ndarray,
        local: np.ndarray,
        once: bool,
    ) -> None:
        """A block's scorecard sums of a rule model, for every replicate at once."""
        cards = self.cards
        assert cards is not None
        keys = cards.keys[dims]
        group = np.searchsorted(keys, group_keys(part, dims))
        shares = journey_group_matrix(
            group, part.offsets, credit_shares(part, credit), len(keys), once
        )
        features = cards.features[chosen]
        sums = self.card_sums[(label, dims)]
        for f in range(len(FEATURES)):
            sums[:, f, :] += (shares * features[:, f : f + 1]).T @ local
        if once:
            self.card_pipeline[(label, dims)] += (shares * features[:, 1:2]).T @ local
        else:
            value = journey_group_matrix(group, part.offsets, credit.value, len(keys), once)
            self.card_pipeline[(label, dims)] += value.T @ local

    def _add_untouched(
        self,
        window: float | None,
        dims: Rollup,
        codes: np.ndarray,
        start: int,
        stop: int,
        factors: np.ndarray,
    ) -> None:
        windowed = self.windows[window]
        mask = windowed.converted & (windowed.lengths == 0)
        positions = np.flatnonzero(mask)
        inside = (positions >= start) & (positions < stop)
        if not inside.any():
            return
        labels, values = self.untouched[(window, dims)]
        chosen = positions[inside]
        contribution = factors[chosen - start] * windowed.value[chosen, None]
        np.add.at(values, codes[inside], contribution)
        if self.cards is not None:
            features = self.cards.features[chosen]
            card = self.card_untouched[(window, dims)]
            for f in range(len(FEATURES)):
                np.add.at(
                    card[:, f, :], codes[inside], factors[chosen - start] * features[:, f : f + 1]
                )

    # ---------------------------------------------------------------- results
    def intervals(
        self, label: str, model: AttributionModel, dims: Rollup, frame: pd.DataFrame
    ) -> pd.DataFrame:
        """The roll-up ``frame`` of one model with its interval columns."""
        ci = self.bootstrap.ci
        values = self.values[(label, dims)]
        labels = pd.DataFrame(self._labels(dims))
        blocks = [(labels, values)]
        if self.plan.shows_untouched(model) and any(
            r[0].shape[0] for k, r in self.untouched.items() if k[1] == dims
        ):
            untouched_labels_, untouched_values = self.untouched[(self.plan.window_of(model), dims)]
            if len(untouched_labels_):
                blocks.append((untouched_labels_, untouched_values))
        parts = []
        for names, reps in blocks:
            se, low, high = interval(reps, ci)
            with np.errstate(divide="ignore", invalid="ignore"):
                shares = reps / np.where(self.value_in > 0, self.value_in, np.nan)
            _, share_low, share_high = interval(shares, ci)
            part = names.copy()
            for column, data in zip(
                INTERVAL_COLUMNS, (se, low, high, share_low, share_high), strict=True
            ):
                part[column] = data
            parts.append(part)
        table = pd.concat(parts, ignore_index=True)
        return frame.merge(table, on=list(dims), how="left")

    def scorecard_intervals(
        self, label: str, model: AttributionModel, dims: Rollup, card: pd.DataFrame
    ) -> pd.DataFrame:
        """One model's finished scorecard with ``<column>_low``/``_high`` intervals."""
        cards = self.cards
        assert cards is not None
        labels = labels_of(cards.keys[dims], self.journeys, dims)
        sums = self.card_sums[(label, dims)]
        pipeline = self.card_pipeline[(label, dims)]
        window = self.plan.window_of(model)
        untouched, _ = self.untouched[(window, dims)]
        if len(untouched):
            extra = self.card_untouched[(window, dims)]
            labels = pd.concat([labels, untouched], ignore_index=True)
            sums = np.concatenate([sums, extra])
            pipeline = np.concatenate([pipeline, extra[:, FEATURES.index("pipeline"), :]])
        cost = labels.merge(card[[*dims, "cost"]], on=list(dims), how="left")["cost"]
        get = {name: sums[:, i, :] for i, name in enumerate(FEATURES)}
        get["pipeline"] = pipeline
        get["cost"] = cost.to_numpy(dtype=np.float64)[:, None]
        values = kpis(get)
        table = labels.copy()
        for name in INTERVAL_KPIS:
            _, low, high = interval(values[name], self.bootstrap.ci)
            table[f"{name}_low"], table[f"{name}_high"] = low, high
        return card.merge(table, on=list(dims), how="left")

    def _labels(self, dims: Rollup) -> dict[str, np.ndarray]:
        return labels_of(self.keys[dims], self.journeys, dims).to_dict("series")

    def tables(self) -> dict[tuple[str, Rollup], pd.DataFrame]:
        """Every model's replicate values per group (rows: the group labels; columns:
        the replicates), the untouched groups left out."""
        out = {}
        for (label, dims), values in self.values.items():
            labels = labels_of(self.keys[dims], self.journeys, dims)
            index = (
                pd.Index(labels[dims[0]], name=dims[0])
                if len(dims) == 1
                else pd.MultiIndex.from_frame(labels)
            )
            out[(label, dims)] = pd.DataFrame(values, index=index)
        return out

    def notes(self) -> list[Note]:
        notes = [
            Note(
                "bootstrap",
                self.bootstrap.describe(),
                data={
                    "replicates": self.bootstrap.replicates,
                    "seed": self.bootstrap.seed,
                    "ci": self.bootstrap.ci,
                },
            )
        ]
        for label, failed in self.failures.items():
            notes.append(
                Note(
                    "bootstrap_replicates_failed",
                    f"{len(failed)} of {self.bootstrap.replicates} replicates could not be "
                    f"fitted and are left out of its intervals: {'; '.join(failed[:3])}"
                    + (" ..." if len(failed) > 3 else ""),
                    model=label,
                    data={"failed": len(failed)},
                )
            )
        return notes
