"""The exact Markov-chain model: a hand-solved chain, a dense reference, a Monte-Carlo
walk, invariants, edge cases, partitions, the engine and the CLI."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attribution as at
from attribution.cli.main import main
from attribution.kernels.segments import NO_TIME
from attribution.models.markov import (
    Markov,
    NoConversionsError,
    SolverError,
    StateLimitError,
    write_transitions,
)
from attribution.models.registry import make_model
from tests.builders import J, channel_credit, load, touches_frame

# ----------------------------------------------------------------------------- helpers


def journeys_of(
    paths: Sequence[Sequence[int]],
    converted: Sequence[bool],
    value: Sequence[float] | None = None,
    weight: Sequence[float] | None = None,
    names: Sequence[str] | None = None,
) -> at.Journeys:
    """Journeys built directly (no IO layer): channel codes per journey, in time order."""
    n = len(paths)
    lengths = np.array([len(p) for p in paths], np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    channel = np.array([c for p in paths for c in p], np.int32)
    n_channels = int(channel.max()) + 1 if len(channel) else 1
    names = tuple(names) if names is not None else tuple(f"ch{i}" for i in range(n_channels))
    converted_array = np.asarray(converted, np.bool_)
    values = np.asarray(value if value is not None else np.ones(n), np.float64)
    zeros = np.zeros(len(channel), np.int32)
    no_time = np.full(n, NO_TIME, np.int64)
    return at.Journeys(
        channel=channel,
        team=zeros,
        campaign=zeros,
        touch_type=zeros,
        timestamp=np.arange(len(channel), dtype=np.int64),
        row=np.arange(len(channel), dtype=np.int64),
        offsets=offsets,
        journey_id=np.arange(n, dtype=np.int64),
        converted=converted_array,
        weight=np.asarray(weight if weight is not None else np.ones(n), np.float64),
        value=np.where(converted_array, values, 0.0),
        converted_at=no_time,
        lead_created_at=no_time,
        opportunity_created_at=no_time,
        closed_at=no_time,
        won=np.full(n, -1, np.int8),
        channel_names=names,
        team_names=("team",),
        has_times=False,
    )


def random_journeys(
    rng: np.random.Generator, n: int, n_channels: int, max_length: int = 6
) -> tuple[list[list[int]], list[bool], list[float], list[float]]:
    """Random paths with runs of repeats, outcomes that depend on the channels, values."""
    paths = []
    for _ in range(n):
        path = [int(rng.integers(n_channels))]
        for _ in range(int(rng.integers(max_length))):
            path.append(path[-1] if rng.random() < 0.3 else int(rng.integers(n_channels)))
        paths.append(path)
    converted = [bool(rng.random() < 0.15 + 0.1 * (p[-1] % 3)) for p in paths]
    converted[0] = True
    value = [float(rng.integers(1, 100)) for _ in paths]
    weight = [float(rng.integers(1, 4)) for _ in paths]
    return paths, converted, value, weight


def reference_chain(
    paths: Sequence[Sequence[int]],
    converted: Sequence[bool],
    weight: Sequence[float],
    order: int,
    collapse: bool,
    n_channels: int,
) -> tuple[float, np.ndarray]:
    """P and removal effects by brute force: dict counts over tuple states, dense inverse.

    States are plain tuples of the last ``order`` channels (shorter at the start of a
    journey, ``()`` is start); removal zeroes every column of a state containing the
    channel (those transitions now go to null) and solves the whole system again.
    """
    counts: dict[tuple[tuple[int, ...], tuple[int, ...] | str], float] = defaultdict(float)
    for path, did_convert, w in zip(paths, converted, weight, strict=True):
        if not path:
            continue
        if collapse:
            path = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
        state: tuple[int, ...] = ()
        for i in range(len(path)):
            following = tuple(path[max(0, i + 1 - order) : i + 1])
            counts[state, following] += w
            state = following
        counts[state, "conversion" if did_convert else "null"] += w
    states = sorted({s for s, _ in counts}, key=lambda s: (len(s), s))
    index = {s: i for i, s in enumerate(states)}
    n = len(states)
    q = np.zeros((n, n))
    r = np.zeros(n)
    out = np.zeros(n)
    for (s, t), w in counts.items():
        out[index[s]] += w
        if t == "conversion":
            r[index[s]] += w
        elif isinstance(t, tuple):
            q[index[s], index[t]] += w
    q /= out[:, None]
    r /= out
    start = index[()]
    probability = np.linalg.solve(np.eye(n) - q, r)[start]
    effects = np.zeros(n_channels)
    for c in range(n_channels):
        removed = q.copy()
        removed[:, [index[s] for s in states if c in s]] = 0.0
        effects[c] = 1.0 - np.linalg.solve(np.eye(n) - removed, r)[start] / probability
    return float(probability), effects


def channel_sums(journeys: at.Journeys, amounts: np.ndarray) -> np.ndarray:
    return np.bincount(journeys.channel, weights=amounts, minlength=journeys.n_channels)


# -------------------------------------------------------------- hand-solved example

# Channels A, B, C (codes 0, 1, 2). Journeys:
#   j1: A > B  converts (value 100)     j2: A > C  no conversion
#   j3: B      converts (value 10)      j4: C > B  no conversion
HAND_PATHS = [[0, 1], [0, 2], [1], [2, 1]]
HAND_CONVERTED = [True, False, True, False]
HAND_VALUE = [100.0, 0.0, 10.0, 0.0]


def test_hand_solved_three_channels() -> None:
    # Transitions: start -> A 2, -> B 1, -> C 1 (of 4); A -> B 1, -> C 1 (of 2);
    # B -> conversion 2, -> null 1 (of 3); C -> B 1, -> null 1 (of 2).
    # Absorption: x_B = 2/3; x_C = 1/2 x_B = 1/3; x_A = 1/2 x_B + 1/2 x_C = 1/2;
    # P = 1/2 x_A + 1/4 x_B + 1/4 x_C = 1/4 + 1/6 + 1/12 = 1/2 (= 2 conversions / 4).
    # Without A: start -> A goes to null: P = 1/4 x_B + 1/4 x_C = 1/4, RE_A = 1 - 1/2 = 1/2.
    # Without B: x_B = 0, so x_C = x_A = 0 and P = 0: RE_B = 1.
    # Without C: x_A = 1/2 x_B = 1/3, P = 1/2 x_A + 1/4 x_B = 1/3: RE_C = 1 - 2/3 = 1/3.
    # Sum 11/6; shares 3/11, 6/11, 2/11 of 2 conversions and of value 110.
    journeys = journeys_of(HAND_PATHS, HAND_CONVERTED, HAND_VALUE, names=("A", "B", "C"))
    for solver in ("direct", "iterative"):
        model = Markov(solver=solver).fit(journeys)
        assert model.conversion_probability_ == pytest.approx(0.5, abs=1e-14)
        np.testing.assert_allclose(model.removal_effects_, [1 / 2, 1, 1 / 3], atol=1e-14)
        share = np.array([Fraction(3, 11), Fraction(6, 11), Fraction(2, 11)], dtype=float)
        np.testing.assert_allclose(model.channel_conversions_, 2 * share, atol=1e-14)
        np.testing.assert_allclose(model.channel_value_, [30, 60, 20], atol=1e-12)
    credit = model.credit(journeys)
    # Touches: j1 A, B | j2 A, C | j3 B | j4 C, B.
    # A: only converted journey with A is j1 -> its A touch gets all of A's 6/11 and 30.
    # B: converted journeys j1, j3 (one conversion each, values 100 and 10) -> 6/11
    #    each; value 60 split 100:10 -> 600/11 and 60/11. j4's B touch: 0 (not converted).
    # C: no converted journey has C (RE_C > 0 anyway: C -> B converts), so its credit is
    #    split over its touches in the non-converted j2 and j4, one journey each.
    np.testing.assert_allclose(
        credit.conversions, [6 / 11, 6 / 11, 0, 2 / 11, 6 / 11, 2 / 11, 0], atol=1e-14
    )
    np.testing.assert_allclose(credit.value, [30, 600 / 11, 0, 10, 60 / 11, 10, 0], atol=1e-12)
    assert any(
        "C: removal effect > 0 but no touch in a converted journey" in n for n in model.notes()
    )


def test_hand_solved_through_the_engine() -> None:
    result = at.attribute(
        load(
            [
                J(["A", "B"], True, 100.0),
                J(["A", "C"], False),
                J(["B"], True, 10.0),
                J(["C", "B"], False),
            ]
        ),
        ["markov"],
        by=["channel"],
    )
    assert channel_credit(result, "markov") == pytest.approx({"A": 30, "B": 60, "C": 20})
    frame = result.credits.set_index("channel")
    assert frame["removal_effect"].to_dict() == pytest.approx({"A": 0.5, "B": 1.0, "C": 1 / 3})
    assert frame["credited_conversions"].sum() == pytest.approx(2.0)
    assert result.reconciliation.ok


# ------------------------------------------------------------------ dense reference


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("repeats", ["keep", "collapse"])
def test_matches_dense_reference(order: int, repeats: str) -> None:
    rng = np.random.default_rng(100 * order + len(repeats))
    paths, converted, value, weight = random_journeys(rng, 300, 4)
    # A channel that only appears in non-converting dead ends has removal effect 0.
    paths.append([4])
    converted.append(False)
    value.append(0.0)
    weight.append(1.0)
    journeys = journeys_of(paths, converted, value, weight)
    probability, effects = reference_chain(
        paths, converted, weight, order, repeats == "collapse", 5
    )
    assert effects[4] == 0.0
    for solver in ("direct", "iterative"):
        model = Markov(order=order, repeats=repeats, solver=solver).fit(journeys)
        assert model.conversion_probability_ == pytest.approx(probability, abs=1e-9)
        np.testing.assert_allclose(model.removal_effects_, effects, atol=1e-9)
        assert model.removal_effects_[4] == 0.0
        assert model.residual_ <= 1e-13


def test_order_one_repeats_do_not_matter_but_higher_orders_see_them() -> None:
    # At order 1, keep only adds self-loops, which do not change absorption probabilities.
    rng = np.random.default_rng(7)
    paths, converted, value, _ = random_journeys(rng, 200, 3)
    journeys = journeys_of(paths, converted, value)
    keep = Markov(order=1, repeats="keep").fit(journeys)
    collapse = Markov(order=1, repeats="collapse").fit(journeys)
    np.testing.assert_allclose(keep.removal_effects_, collapse.removal_effects_, atol=1e-12)
    assert keep.n_states_ == collapse.n_states_
    keep2 = Markov(order=2, repeats="keep").fit(journeys)
    collapse2 = Markov(order=2, repeats="collapse").fit(journeys)
    assert keep2.n_states_ > collapse2.n_states_
    assert np.abs(keep2.removal_effects_ - collapse2.removal_effects_).max() > 1e-3


# --------------------------------------------------------------------- Monte Carlo


def test_monte_carlo_walk_agrees_within_sampling_error() -> None:
    rng = np.random.default_rng(11)
    paths, converted, value, weight = random_journeys(rng, 400, 3)
    journeys = journeys_of(paths, converted, value, weight)
    model = Markov(order=2).fit(journeys)
    table = model.transition_table()
    labels = pd.unique(pd.concat([table["from_state"], table["to_state"]]))
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)))
    matrix[table["from_state"].map(index), table["to_state"].map(index)] = table["probability"]
    cumulative = np.cumsum(matrix, axis=1)
    channels_in = np.zeros((len(labels), 3), bool)
    for label, i in index.items():
        for name in str(label).split(" > "):
            if name.startswith("ch"):
                channels_in[i, int(name[2:])] = True
    n_walks = 40_000
    walk_rng = np.random.default_rng(12)
    state = np.full(n_walks, index["(start)"])
    visited = np.zeros((n_walks, 3), bool)
    absorbing = {index["(conversion)"], index["(null)"]}
    running = np.ones(n_walks, bool)
    while running.any():
        rows = np.flatnonzero(running)
        u = walk_rng.random(len(rows))
        state[rows] = np.minimum(
            (cumulative[state[rows]] < u[:, None]).sum(axis=1), len(labels) - 1
        )
        visited[rows] |= channels_in[state[rows]]
        running[rows] = ~np.isin(state[rows], list(absorbing))
    converts = state == index["(conversion)"]
    p = model.conversion_probability_
    assert abs(converts.mean() - p) <= 4 * np.sqrt(p * (1 - p) / n_walks)
    # P x RE_c is the probability of converting after visiting c.
    through = p * model.removal_effects_
    estimate = (converts[:, None] & visited).mean(axis=0)
    np.testing.assert_array_less(
        np.abs(estimate - through), 4 * np.sqrt(through * (1 - through) / n_walks) + 1e-12
    )


# --------------------------------------------------------------------- invariants

journey_strategy = st.lists(
    st.tuples(
        st.lists(st.integers(0, 3), min_size=1, max_size=6),
        st.booleans(),
        st.integers(1, 3),
        st.integers(0, 50),
    ),
    min_size=1,
    max_size=25,
).filter(lambda rows: any(converted for _, converted, _, _ in rows))


def _unpack(rows: list) -> tuple[list, list, list, list]:
    paths = [list(p) for p, _, _, _ in rows]
    converted = [c for _, c, _, _ in rows]
    weight = [float(w) for _, _, w, _ in rows]
    value = [float(v) for _, _, _, v in rows]
    return paths, converted, weight, value


def _compact(paths: list[list[int]]) -> tuple[list[list[int]], int]:
    """Recode channels to 0..C-1 in order of first use (every channel then occurs)."""
    codes: dict[int, int] = {}
    for path in paths:
        for c in path:
            codes.setdefault(c, len(codes))
    return [[codes[c] for c in path] for path in paths], len(codes)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(journey_strategy, st.integers(1, 3), st.sampled_from(["keep", "collapse"]))
def test_probability_is_the_observed_conversion_rate(rows: list, order: int, repeats: str) -> None:
    paths, converted, weight, value = _unpack(rows)
    paths, _ = _compact(paths)
    journeys = journeys_of(paths, converted, value, weight)
    model = Markov(order=order, repeats=repeats).fit(journeys)
    rate = sum(w for c, w in zip(converted, weight, strict=True) if c) / sum(weight)
    assert model.conversion_probability_ == pytest.approx(rate, rel=1e-10)
    assert model.removal_effects_.sum() > 0
    assert ((model.removal_effects_ >= 0) & (model.removal_effects_ <= 1)).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(journey_strategy, st.integers(1, 3), st.sampled_from(["keep", "collapse"]))
def test_credits_conserve_per_channel_and_in_total(rows: list, order: int, repeats: str) -> None:
    paths, converted, weight, value = _unpack(rows)
    paths, _ = _compact(paths)
    journeys = journeys_of(paths, converted, value, weight)
    model = Markov(order=order, repeats=repeats).fit(journeys)
    credit = model.credit(journeys)
    total_conversions = sum(w for c, w in zip(converted, weight, strict=True) if c)
    total_value = sum(v for c, v in zip(converted, value, strict=True) if c)
    assert credit.conversions.sum() == pytest.approx(total_conversions, rel=1e-9)
    assert credit.value.sum() == pytest.approx(total_value, rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(
        channel_sums(journeys, credit.conversions), model.channel_conversions_, atol=1e-9
    )
    np.testing.assert_allclose(
        channel_sums(journeys, credit.value), model.channel_value_, atol=1e-9
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(journey_strategy, st.integers(1, 3), st.randoms(use_true_random=False))
def test_channel_renaming_and_row_order_change_nothing(
    rows: list, order: int, rnd: random.Random
) -> None:
    paths, converted, weight, value = _unpack(rows)
    paths, n_channels = _compact(paths)
    journeys = journeys_of(paths, converted, value, weight)
    model = Markov(order=order).fit(journeys)
    # Rename: channel i becomes code perm[i]; shuffle the journeys.
    perm = list(range(n_channels))
    rnd.shuffle(perm)
    shuffled = list(range(len(paths)))
    rnd.shuffle(shuffled)
    names = [""] * n_channels
    for i, p in enumerate(perm):
        names[p] = f"ch{i}"
    renamed = journeys_of(
        [[perm[c] for c in paths[j]] for j in shuffled],
        [converted[j] for j in shuffled],
        [value[j] for j in shuffled],
        [weight[j] for j in shuffled],
        names=names,
    )
    other = Markov(order=order).fit(renamed)
    np.testing.assert_allclose(other.removal_effects_[perm], model.removal_effects_, atol=1e-10)
    np.testing.assert_allclose(other.channel_value_[perm], model.channel_value_, atol=1e-9)
    assert other.conversion_probability_ == pytest.approx(model.conversion_probability_, rel=1e-12)


def test_renaming_and_row_order_through_the_public_api() -> None:
    rng = np.random.default_rng(3)
    paths, converted, value, _ = random_journeys(rng, 80, 4)
    names = ["email", "ads", "events", "sdr"]
    written = [
        J([names[c] for c in p], v, val) for p, v, val in zip(paths, converted, value, strict=True)
    ]
    renamed = {"email": "zz_email", "ads": "aa_ads", "events": "mm_events", "sdr": "bb_sdr"}
    frame = touches_frame(written)
    other = frame.assign(channel=frame["channel"].map(renamed)).sample(frac=1.0, random_state=5)
    first = at.attribute(
        at.load(frame), ["markov"], by=["channel"], parameters={"markov": {"order": 2}}
    )
    second = at.attribute(
        at.load(other), ["markov"], by=["channel"], parameters={"markov": {"order": 2}}
    )
    a = first.credits.set_index("channel")
    b = second.credits.set_index("channel").rename(index={v: k for k, v in renamed.items()})
    for column in ("credited_conversions", "credited_value", "removal_effect"):
        np.testing.assert_allclose(b.loc[a.index, column], a[column], rtol=1e-10)


# ------------------------------------------------------------------- edge cases


def test_one_channel_gets_everything() -> None:
    journeys = journeys_of([[0], [0, 0], [0]], [True, False, True], [5.0, 0.0, 7.0])
    for order in (1, 2, 3):
        model = Markov(order=order).fit(journeys)
        assert model.removal_effects_.tolist() == [1.0]
        assert model.channel_value_.tolist() == [12.0]
        assert model.conversion_probability_ == pytest.approx(2 / 3)


def test_every_journey_converting() -> None:
    journeys = journeys_of([[0, 1], [1], [2, 0]], [True] * 3, [1.0, 2.0, 3.0])
    model = Markov().fit(journeys)
    assert model.conversion_probability_ == pytest.approx(1.0, abs=1e-14)
    # start -> 0, 1, 2 w.p. 1/3 each; 0 -> 1 or conversion; 2 -> 0; 1 -> conversion.
    # Without 0: only paths starting at 1 convert (P 1/3): RE_0 = 2/3 (journeys 1 and 3).
    # Without 1: from 0, 1/2 converts directly: P = 1/3·1/2 + 1/3·1/2 = 1/3, RE_1 = 2/3.
    # Without 2: P = 2/3, RE_2 = 1/3.
    np.testing.assert_allclose(model.removal_effects_, [2 / 3, 2 / 3, 1 / 3], atol=1e-14)
    assert model.credit(journeys).value.sum() == pytest.approx(6.0)


def test_no_conversions_is_a_clear_error() -> None:
    journeys = journeys_of([[0, 1], [1]], [False, False])
    with pytest.raises(NoConversionsError, match="at least one converted journey"):
        Markov().fit(journeys)
    # A conversion whose touches all fell out of the window does not count either.
    empty = journeys_of([[0, 1], []], [False, True], [0.0, 9.0])
    with pytest.raises(NoConversionsError):
        Markov().fit(empty)


def test_journeys_without_touches_are_ignored() -> None:
    with_empty = journeys_of([[0, 1], [], [1]], [True, True, False], [4.0, 100.0, 0.0])
    without = journeys_of([[0, 1], [1]], [True, False], [4.0, 0.0])
    a, b = Markov().fit(with_empty), Markov().fit(without)
    np.testing.assert_allclose(a.removal_effects_, b.removal_effects_)
    assert a.conversion_probability_ == pytest.approx(0.5)
    assert a.credit(with_empty).value.sum() == pytest.approx(4.0)


def test_journeys_of_one_touch() -> None:
    # start -> a (1/2) or b (1/2); a converts 2 of 3, b 1 of 3. P = 1/2. Removing a leaves
    # P = 1/6: RE_a = 2/3; RE_b = 1/3. Touch credit is the journey's own value.
    paths = [[0], [0], [0], [1], [1], [1]]
    journeys = journeys_of(paths, [True, True, False, True, False, False], [3, 6, 0, 9, 0, 0])
    model = Markov().fit(journeys)
    np.testing.assert_allclose(model.removal_effects_, [2 / 3, 1 / 3], atol=1e-14)
    credit = model.credit(journeys)
    # a's share 2/3 of value 18 = 12 split 3:6 -> 4, 8; b's 6 all to its converted touch.
    np.testing.assert_allclose(credit.value, [4, 8, 0, 6, 0, 0], atol=1e-12)


def test_converted_journeys_without_value_split_value_by_conversions() -> None:
    # b's only converted journey is worth 0, while total value (10, from a's journey) is
    # shared by removal effects: b's value credit is split by conversions instead.
    journeys = journeys_of([[0], [1], [1, 0]], [True, True, False], [10.0, 0.0, 0.0])
    model = Markov().fit(journeys)
    credit = model.credit(journeys)
    assert credit.value.sum() == pytest.approx(10.0)
    assert credit.value[1] == pytest.approx(model.channel_value_[1])
    assert model.channel_value_[1] > 0
    assert any("ch1: its converted journeys have no value" in n for n in model.notes())


def test_state_limit_names_the_state_count() -> None:
    rng = np.random.default_rng(0)
    paths, converted, value, _ = random_journeys(rng, 200, 6)
    journeys = journeys_of(paths, converted, value)
    n_states = Markov(order=3).fit(journeys).n_states_
    with pytest.raises(StateLimitError, match=f"has {n_states:,} states.*lower order"):
        Markov(order=3, max_states=n_states - 1).fit(journeys)
    assert Markov(order=3, max_states=n_states).fit(journeys).n_states_ == n_states
    # Merged statistics are checked too.
    model = Markov(order=3, max_states=n_states - 1)
    half = model.statistics(journeys.subset(np.arange(100)))
    rest = model.statistics(journeys.subset(np.arange(100, 200)))
    with pytest.raises(StateLimitError, match=f"has {n_states:,} states"):
        model.fit_statistics(half.merge(rest))


def test_unencodable_order_is_refused() -> None:
    journeys = journeys_of([[i] for i in range(200)], [True] * 200)
    with pytest.raises(StateLimitError, match="cannot be encoded"):
        Markov(order=8).fit(journeys)


def test_unmet_residual_is_an_error() -> None:
    rng = np.random.default_rng(1)
    paths, converted, value, _ = random_journeys(rng, 50, 3)
    journeys = journeys_of(paths, converted, value)
    for solver in ("direct", "iterative"):
        with pytest.raises(SolverError, match="relative residual"):
            Markov(order=2, solver=solver, tolerance=1e-300).fit(journeys)


@pytest.mark.parametrize(
    "params",
    [
        {"order": 0},
        {"order": 1.5},
        {"repeats": "drop"},
        {"max_states": 0},
        {"solver": "lu"},
        {"tolerance": 0.0},
    ],
)
def test_invalid_parameters(params: dict) -> None:
    with pytest.raises(ValueError):
        Markov(**params)


def test_statistics_of_another_configuration_are_refused() -> None:
    journeys = journeys_of(HAND_PATHS, HAND_CONVERTED, HAND_VALUE)
    with pytest.raises(ValueError, match="do not match"):
        Markov(order=2).fit_statistics(Markov(order=1).statistics(journeys))
    with pytest.raises(ValueError, match="cannot merge"):
        Markov(order=1).statistics(journeys).merge(Markov(order=2).statistics(journeys))


# ---------------------------------------------------------- partitions and weights


@pytest.mark.parametrize("order", [1, 3])
def test_merged_partition_statistics_equal_the_whole(order: int) -> None:
    rng = np.random.default_rng(21)
    paths, converted, value, weight = random_journeys(rng, 300, 4)
    journeys = journeys_of(paths, converted, value, weight)
    whole = Markov(order=order).fit(journeys)
    model = Markov(order=order)
    parts = [journeys.subset(np.arange(0, 120)), journeys.subset(np.arange(120, 300))]
    model.fit_statistics(model.statistics(parts[0]).merge(model.statistics(parts[1])))
    np.testing.assert_allclose(model.removal_effects_, whole.removal_effects_, atol=1e-14)
    assert model.n_states_ == whole.n_states_
    # Credit per partition, concatenated, equals credit of the whole.
    per_part = [model.credit(part) for part in parts]
    whole_credit = whole.credit(journeys)
    np.testing.assert_allclose(
        np.concatenate([c.value for c in per_part]), whole_credit.value, atol=1e-9
    )
    np.testing.assert_allclose(
        np.concatenate([c.conversions for c in per_part]), whole_credit.conversions, atol=1e-12
    )


def test_empty_partition_merges() -> None:
    journeys = journeys_of([*HAND_PATHS, []], [*HAND_CONVERTED, True], [*HAND_VALUE, 1.0])
    model = Markov()
    empty = model.statistics(journeys.subset(np.array([4])))
    assert len(empty.count) == 0
    merged = empty.merge(model.statistics(journeys.subset(np.arange(4))))
    np.testing.assert_allclose(
        model.fit_statistics(merged).removal_effects_, [1 / 2, 1, 1 / 3], atol=1e-14
    )


def test_weights_equal_repeated_journeys() -> None:
    rng = np.random.default_rng(8)
    paths, converted, value, weight = random_journeys(rng, 60, 3)
    weighted = journeys_of(
        paths, converted, [v * w for v, w in zip(value, weight, strict=True)], weight
    )
    repeat = [int(w) for w in weight]
    expanded = journeys_of(
        [p for p, k in zip(paths, repeat, strict=True) for _ in range(k)],
        [c for c, k in zip(converted, repeat, strict=True) for _ in range(k)],
        [v for v, k in zip(value, repeat, strict=True) for _ in range(k)],
    )
    a, b = Markov(order=2).fit(weighted), Markov(order=2).fit(expanded)
    np.testing.assert_allclose(a.removal_effects_, b.removal_effects_, atol=1e-12)
    np.testing.assert_allclose(a.channel_value_, b.channel_value_, atol=1e-9)


def test_path_table_equals_touch_table(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {
            "path": ["A > B", "A > C", "B", "C > B"],
            "total_conversions": [1, 0, 1, 0],
            "total_null": [0, 1, 0, 1],
            "total_conversion_value": [100.0, 0.0, 10.0, 0.0],
        }
    )
    table.to_csv(tmp_path / "paths.csv", index=False)
    result = at.attribute(at.load_paths(tmp_path / "paths.csv"), ["markov"], by=["channel"])
    assert channel_credit(result, "markov") == pytest.approx({"A": 30, "B": 60, "C": 20})


# ------------------------------------------------------------- engine and export


def test_engine_rollups_by_team_sum_to_channel_totals() -> None:
    rng = np.random.default_rng(4)
    paths, converted, value, _ = random_journeys(rng, 100, 4)
    names = ["email", "ads", "events", "sdr"]
    teams = ["mkt", "mkt", "field", "sales"]
    written = [
        J(
            [names[c] for c in p],
            v,
            val,
            teams=[teams[c] if i % 2 else "other" for i, c in enumerate(p)],
        )
        for p, v, val in zip(paths, converted, value, strict=True)
    ]
    result = at.attribute(
        load(written),
        ["markov"],
        by=["channel", "team"],
        also_by=[["channel"], ["team"]],
        parameters={"markov": {"order": 2, "repeats": "collapse"}},
    )
    model = result.models["markov"]
    assert isinstance(model, Markov)
    by_channel = result.rollups[("channel",)].set_index("channel")["credited_value"]
    order = list(model.channel_names_)
    np.testing.assert_allclose(by_channel.loc[order], model.channel_value_, rtol=1e-12)
    fine = result.rollups[("channel", "team")].groupby("channel")["credited_value"].sum()
    np.testing.assert_allclose(fine.loc[order], model.channel_value_, rtol=1e-12)
    total = sum(v for v, c in zip(value, converted, strict=True) if c)
    assert result.rollups[("team",)]["credited_value"].sum() == pytest.approx(total)
    assert result.reconciliation.ok


def test_registry_and_notes() -> None:
    model = make_model("markov", {"order": 2, "repeats": "collapse"})
    assert isinstance(model, Markov)
    assert model.get_params() == {
        "order": 2,
        "repeats": "collapse",
        "max_states": 250_000,
        "solver": "auto",
        "tolerance": 1e-13,
    }
    model.fit(journeys_of(HAND_PATHS, HAND_CONVERTED, HAND_VALUE))
    assert "P(conversion) = 0.5, observed conversion rate 0.5" in model.notes()[0]
    assert set(model.channel_columns()) == {"removal_effect"}


def test_transition_table_and_graph(tmp_path: Path) -> None:
    journeys = journeys_of(HAND_PATHS, HAND_CONVERTED, HAND_VALUE, names=("A", "B", "C"))
    model = Markov(order=2).fit(journeys)
    table = model.transition_table()
    rows = {(f, t): (c, p) for f, t, c, p in table.itertuples(index=False)}
    assert rows["(start)", "(start) > A"] == (2.0, 0.5)
    assert rows["(start) > A", "A > B"] == (1.0, 0.5)
    assert rows["A > B", "(conversion)"] == (1.0, 1.0)
    assert rows["(start) > C", "C > B"] == (1.0, 1.0)
    assert table.groupby("from_state")["probability"].sum().to_numpy() == pytest.approx(1.0)
    write_transitions(model, tmp_path / "t.graphml")
    graph = nx.read_graphml(tmp_path / "t.graphml")
    assert graph.nodes["(conversion)"]["kind"] == "conversion"
    assert graph.edges["(start) > A", "A > C"]["probability"] == 0.5
    assert graph.edges["(start) > A", "A > C"]["count"] == 1.0
    write_transitions(model, tmp_path / "t.csv")
    assert len(pd.read_csv(tmp_path / "t.csv")) == len(table)


def test_cli_transitions_and_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "touches.csv"
    touches_frame(
        [
            J(["A", "B"], True, 100.0),
            J(["A", "C"], False),
            J(["B"], True, 10.0),
            J(["C", "B"], False),
        ]
    ).to_csv(source, index=False)
    out = tmp_path / "credits.csv"
    graph = tmp_path / "chain.graphml"
    code = main(
        [
            "run",
            str(source),
            "--models",
            "markov",
            "--by",
            "channel",
            "--out",
            str(out),
            "--markov-order",
            "2",
            "--markov-repeats",
            "collapse",
            "--transitions",
            str(graph),
            "--quiet",
        ]
    )
    assert code == 0
    credits = pd.read_csv(out).set_index("channel")
    # At order 2 these short paths are modelled exactly: C never precedes a conversion
    # (RE_C = 0), RE_A = 1/2 and RE_B = 1 as at order 1, so A and B share 110 as 1:2.
    assert credits["credited_value"].to_dict() == pytest.approx(
        {"A": 110 / 3, "B": 220 / 3, "C": 0}
    )
    assert "removal_effect" in credits.columns
    assert nx.read_graphml(graph).has_edge("(start) > A", "A > B")
    code = main(["run", str(source), "--models", "linear", "--transitions", str(graph), "--quiet"])
    assert code == 2
    assert "add markov to --models" in capsys.readouterr().err
    code = main(["run", str(source), "--models", "markov", "--transitions", "t.txt", "--quiet"])
    assert code == 2
    assert ".graphml" in capsys.readouterr().err
    code = main(
        ["run", str(source), "--models", "markov", "--markov-order", "2", "--markov-max-states",
         "3", "--quiet"]
    )  # fmt: skip
    assert code == 2
    assert "has 7 states, more than the limit of 3" in capsys.readouterr().err
    # With every model, markov is left out only if the user did not ask for it in
    # particular: its options, or its transitions, make its failure an error.
    too_small = ["--markov-order", "2", "--markov-max-states", "3", "--quiet"]
    assert main(["run", str(source), *too_small]) == 2
    assert "markov cannot run on this input although its options were given" in (
        capsys.readouterr().err
    )
    code = main(["run", str(source), "--transitions", str(graph), "--quiet"])
    assert code == 0  # markov runs with the default limit
    graph.unlink()
    assert main(["run", str(source), "--models", "linear", "--half-life", "3", "--quiet"]) == 0
    assert "options for time_decay ignored" in capsys.readouterr().err


def test_a_channel_named_like_a_state_cannot_be_exported() -> None:
    journeys = load([J(["(null)", "b"], value=5), J(["b"], converted=False)]).journeys
    model = Markov().fit(journeys)
    # Credits are unaffected: P = 1/2 (b converts half the time); without "(null)" only
    # the direct start -> b half remains, P = 1/4, so RE = 1/2; without b, P = 0.
    assert model.removal_effects_.tolist() == [0.5, 1.0]
    with pytest.raises(ValueError, match="'\\(null\\)' have the name of a state"):
        model.transition_table()
