"""The bootstrap's fused kernels against plain-Python references: the Poisson factors
drawn in blocks, the replicate sums of a sparse journeys x columns matrix, and the
sparse rows of a journey's credit by group."""

from __future__ import annotations

import numpy as np
import pytest

from attribution.journeys import Journeys
from attribution.kernels.bootstrap import poisson, poisson_multipliers, replicate_sums
from attribution.kernels.replicates import group_rows

RNG = np.random.default_rng(5)
KEYS = RNG.integers(0, 2**63, 400).astype(np.uint64)
LAM = np.where(RNG.random(400) < 0.5, 1.0, RNG.choice([0.5, 2.0, 7.0, 30.0, 31.0, 80.0], 400))


def reference_factors(first: int, count: int, seed: int = 3) -> np.ndarray:
    return np.array(
        [
            [poisson(np.uint64(seed), KEYS[j], np.uint64(first + r), LAM[j]) / LAM[j]
             for r in range(count)]
            for j in range(len(KEYS))
        ]
    )  # fmt: skip


def test_block_draws_are_the_scalar_draws() -> None:
    got = poisson_multipliers(KEYS, LAM, np.uint64(3), 5, 11)
    np.testing.assert_array_equal(got, reference_factors(5, 11))


def random_parts(n: int, n_columns: int, n_parts: int) -> tuple[np.ndarray, ...]:
    """``n_parts`` row blocks of a sparse matrix, and the dense matrix they sum to."""
    dense = np.zeros((n, n_columns))
    pointers, indices, data = [], [], []
    base = 0
    for _ in range(n_parts):
        lengths = RNG.integers(0, 4, n)
        pointers.append(base + np.concatenate(([0], np.cumsum(lengths))))
        for j, length in enumerate(lengths):
            columns = RNG.integers(0, n_columns, length)
            values = RNG.normal(size=length)
            np.add.at(dense[j], columns, values)
            indices.append(columns)
            data.append(values)
        base += int(lengths.sum())
    return np.stack(pointers), np.concatenate(indices), np.concatenate(data), dense


@pytest.mark.parametrize("count", [1, 7, 33, 70])
def test_replicate_sums_are_the_product_with_the_factors(count: int) -> None:
    indptr, indices, data, dense = random_parts(len(KEYS), 9, 3)
    out = np.zeros((count, 9))
    replicate_sums(indptr, indices, data, KEYS, LAM, np.uint64(3), 2, out)
    expected = (dense.T @ reference_factors(2, count)).T
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_replicate_sums_add_up_over_record_blocks_exactly() -> None:
    indptr, indices, data, _ = random_parts(len(KEYS), 5, 2)
    whole = np.zeros((40, 5))
    replicate_sums(indptr, indices, data, KEYS, LAM, np.uint64(1), 0, whole)
    blocked = np.zeros((40, 5))
    for start, stop in [(0, 150), (150, 151), (151, 400)]:
        pointer = np.ascontiguousarray(indptr[:, start : stop + 1])
        replicate_sums(
            pointer, indices, data, KEYS[start:stop], LAM[start:stop], np.uint64(1), 0, blocked
        )
    np.testing.assert_array_equal(blocked, whole)


def reference_group_rows(offsets, group, value, n_groups, once, features, column):  # type: ignore[no-untyped-def]
    """Plain Python: each journey's credit by group (sum, or largest from 0), times
    each feature, zeros left out."""
    lengths, indices, data = [], [], []
    for j in range(len(offsets) - 1):
        weight: dict[int, float] = {}
        for t in range(offsets[j], offsets[j + 1]):
            g = int(group[t])
            if once:
                weight[g] = max(weight.get(g, 0.0), value[t])
            else:
                weight[g] = weight.get(g, 0.0) + value[t]
        count = 0
        for g, w in weight.items():
            entries = [(column + g, w)] if features.shape[1] == 0 else [
                (column + g * features.shape[1] + f, w * features[j, f])
                for f in range(features.shape[1])
            ]  # fmt: skip
            for k, x in entries:
                if x != 0.0:
                    indices.append(k)
                    data.append(x)
                    count += 1
        lengths.append(count)
    return np.array(lengths), np.array(indices, np.int64), np.array(data)


@pytest.mark.parametrize("once", [False, True])
@pytest.mark.parametrize("n_features", [0, 3])
def test_group_rows_against_plain_python(once: bool, n_features: int) -> None:
    lengths = RNG.integers(0, 6, 50)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    group = RNG.integers(0, 4, offsets[-1])
    value = np.where(RNG.random(offsets[-1]) < 0.2, 0.0, RNG.random(offsets[-1]))
    features = RNG.integers(0, 3, (50, n_features)).astype(np.float64)
    # A slice of offsets is a run of consecutive journeys, as the engine passes it.
    for a, z in [(0, 50), (10, 31)]:
        got = group_rows(offsets[a : z + 1], group, value, 4, once, features[a:z], 7)
        expected = reference_group_rows(offsets[a : z + 1], group, value, 4, once, features[a:z], 7)
        for left, right in zip(got, expected, strict=True):
            np.testing.assert_array_equal(left, right)


def random_journeys(n: int, seed: int) -> Journeys:
    from tests.builders import J, load

    rng = np.random.default_rng(seed)
    journeys = []
    for _ in range(n):
        length = int(rng.integers(1, 6))
        path = [str(c) for c in rng.choice(list("abcd"), length)]
        journeys.append(
            J(path, converted=bool(rng.random() < 0.4), value=float(rng.integers(1, 9)))
        )
    return load(journeys).journeys


@pytest.mark.parametrize(("order", "repeats"), [(1, "keep"), (2, "keep"), (2, "collapse")])
def test_markov_replicate_columns_are_the_counts_of_the_reweighted_journeys(
    order: int, repeats: str
) -> None:
    from attribution.models import Markov

    journeys = random_journeys(60, order)
    model = Markov(order=order, repeats=repeats)  # type: ignore[arg-type]
    statistics = model.statistics(journeys)
    columns = model.replicate_columns(journeys, None, statistics)
    assert columns is not None
    lengths, indices, data = columns.rows(0, journeys.n_journeys)
    dense = np.zeros((journeys.n_journeys, columns.n_columns))
    np.add.at(dense, (np.repeat(np.arange(journeys.n_journeys), lengths), indices), data)
    for weights in (RNG.integers(0, 4, journeys.n_journeys), np.ones(journeys.n_journeys)):
        got = columns.statistics(weights @ dense)
        expected = model.statistics(journeys.reweighted(weights.astype(float)))
        for name in ("state", "symbol", "count", "conversion_value", "conversions_with",
                     "value_with", "weight_with"):  # fmt: skip
            np.testing.assert_allclose(getattr(got, name), getattr(expected, name), err_msg=name)
        assert got.value == pytest.approx(expected.value)


def test_markov_split_terms_give_its_credit() -> None:
    from attribution.kernels.markov import split_rows
    from attribution.models import Markov

    journeys = random_journeys(80, 3)
    model = Markov().fit(journeys)
    amounts = model.split_amounts(journeys)
    channel = journeys.channel.astype(np.int64)
    _, indices, data = split_rows(
        channel, journeys.offsets, channel, amounts, journeys.n_channels, 0
    )
    # One pair per channel: the credit of channel c is Σ_b rate[c, b] · column(c, b).
    columns = np.bincount(indices, weights=data, minlength=3 * journeys.n_channels)
    got = (columns.reshape(-1, 3) * model.split_rates()).sum(axis=1)
    credit = model.credit(journeys)
    expected = np.bincount(channel, weights=credit.value, minlength=journeys.n_channels)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_coalition_replicate_columns_are_the_counts_of_the_reweighted_journeys() -> None:
    from attribution.models.coalitions import CoalitionCounts

    journeys = random_journeys(70, 3)
    statistics = CoalitionCounts.of(journeys)
    columns = statistics.replicate_columns(journeys)
    assert columns is not None
    lengths, indices, data = columns.rows(0, journeys.n_journeys)
    dense = np.zeros((journeys.n_journeys, columns.n_columns))
    np.add.at(dense, (np.repeat(np.arange(journeys.n_journeys), lengths), indices), data)
    for weights in (RNG.integers(0, 4, journeys.n_journeys), np.ones(journeys.n_journeys)):
        got = columns.statistics(weights @ dense)
        expected = CoalitionCounts.of(journeys.reweighted(weights.astype(float)))
        np.testing.assert_array_equal(got.masks, expected.masks)
        for name in ("journeys", "conversions", "value"):
            np.testing.assert_allclose(getattr(got, name), getattr(expected, name), err_msg=name)


def test_observed_rate_shapley_split_terms_give_every_replicate_models_credit() -> None:
    """The split of the observed-rate game: the touches' terms keyed by (coalition,
    channel), weighted by a replicate's factors and priced by the rates of the model
    fitted on that replicate (keyed like the data's model), give that model's credit of
    the reweighted journeys by channel; and with weights 1, the data model's own."""
    from attribution.kernels.markov import split_rows
    from attribution.models import Shapley

    journeys = random_journeys(90, 3)
    model = Shapley(game="observed_rates").fit(journeys)
    amounts = model.split_amounts(journeys)
    assert amounts is not None
    keys, n_keys = model.split_keys(journeys)
    channel = journeys.channel.astype(np.int64)
    n_bases = amounts.shape[1]
    lengths, indices, data = split_rows(
        channel, journeys.offsets, keys, amounts, journeys.n_channels, 0
    )
    dense = np.zeros((journeys.n_journeys, n_keys * n_bases))
    np.add.at(dense, (np.repeat(np.arange(journeys.n_journeys), lengths), indices), data)
    key_channel = np.arange(n_keys) % journeys.n_channels
    for weights in (np.ones(journeys.n_journeys), RNG.integers(0, 4, journeys.n_journeys)):
        replicate = journeys.reweighted(weights.astype(float))
        fitted = Shapley(game="observed_rates").fit(replicate)
        terms = (weights @ dense).reshape(n_keys, n_bases)
        credited = (terms * fitted.split_rates(model)).sum(axis=1)
        got = np.bincount(key_channel, weights=credited, minlength=journeys.n_channels)
        credit = fitted.credit(replicate)
        expected = np.bincount(
            replicate.channel.astype(np.int64),
            weights=credit.value,
            minlength=journeys.n_channels,
        )
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("kept", [True, False])
def test_design_blocks_of_replicates_and_journeys_give_the_dense_product(
    kept: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several blocks of replicates (a small budget for the sums) and of journeys (a
    small entry budget), the rows kept across replicate blocks or rebuilt: the same sums
    as the dense matrix times the factors."""
    from attribution import replicate_design
    from attribution.bootstrap import Bootstrap
    from attribution.replicate_design import Design

    monkeypatch.setattr(replicate_design, "ENTRY_BUDGET", 16 * 3 * 50.0)
    monkeypatch.setattr(replicate_design, "KEPT_ROWS_BUDGET", 1e12 if kept else 0.0)
    n, n_columns = 2500, 9  # journey blocks hold at least 1024 journeys
    keys = RNG.integers(0, 2**63, n).astype(np.uint64)
    lam = RNG.choice([1.0, 3.0], n)
    dense = RNG.random((n, n_columns)) * (RNG.random((n, n_columns)) < 0.3)
    built = []

    def rows(start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        built.append((start, stop))
        block = dense[start:stop]
        lengths = (block != 0).sum(axis=1)
        r, c = np.nonzero(block)
        return lengths.astype(np.int64), c.astype(np.int64), block[r, c]

    design = Design(np.arange(n))
    design.columns(n_columns)
    design.add(rows, 3.0)
    boot = Bootstrap(7, seed=3)
    got = dict(design.blocks(boot, keys, lam, budget=8 * n_columns * 2))
    assert sorted(got) == [0, 2, 4, 6]
    sums = np.concatenate([got[first] for first in sorted(got)])
    # The factors of the block draws, which a test above checks against the scalar ones.
    expected = poisson_multipliers(keys, lam, np.uint64(3), 0, 7).T @ dense
    np.testing.assert_allclose(sums, expected, rtol=1e-12, atol=1e-12)
    journey_blocks = len(set(built))
    assert journey_blocks > 1
    assert len(built) == (journey_blocks if kept else 4 * journey_blocks)
