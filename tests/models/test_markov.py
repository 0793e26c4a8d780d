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
from attribution.io.transitions import write_transitions
from attribution.models import markov_solver
from attribution.models.base import NotFittedError
from attribution.models.markov import (
    Markov,
    NoConversionsError,
    SolverError,
    StateLimitError,
)
from attribution.models.markov_chain import Repeats
from attribution.models.markov_solver import SolverMethod
from attribution.models.registry import make_model
from tests.builders import J, channel_credit, load, touches_frame

# ----------------------------------------------------------------------------- helpers


def channel_name(code: int) -> str:
    """Default test channel names, which sort like their codes."""
    return f"c{code:03d}"


def journeys_of(
    paths: Sequence[Sequence[int]],
    converted: Sequence[bool],
    value: Sequence[float] | None = None,
    weight: Sequence[float] | None = None,
    names: Sequence[str] | None = None,
) -> at.Journeys:
    """Journey records (channel codes per record, in path order), loaded through the
    public path-table API: one path row per record, ``weight`` journeys worth ``value``
    in total when converted. Every code must occur, and ``names`` must sort like the
    codes (the loader codes channels in sorted name order)."""
    n = len(paths)
    used = sorted({c for path in paths for c in path})
    labels = list(names) if names is not None else [channel_name(c) for c in range(len(used))]
    assert used == list(range(len(labels))) and labels == sorted(labels)
    weights = list(weight) if weight is not None else [1.0] * n
    values = list(value) if value is not None else [1.0] * n
    frame = pd.DataFrame(
        {
            "path": [" > ".join(labels[c] for c in path) for path in paths],
            "total_conversions": [w if c else 0.0 for w, c in zip(weights, converted, strict=True)],
            "total_null": [0.0 if c else w for w, c in zip(weights, converted, strict=True)],
            "total_conversion_value": [
                v if c else 0.0 for v, c in zip(values, converted, strict=True)
            ],
        }
    )
    journeys = at.load(frame, paths=True).journeys
    assert journeys.n_journeys == n and journeys.channel_names == tuple(labels)
    return journeys


def without_touches(journeys: list[J]) -> at.Journeys:
    """Hand-written journeys, windowed: a journey converted (``converted_at``) before
    its first touch is left with no touch in the credit window."""
    windowed, _ = load(journeys).journeys.window(None)
    return windowed


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
    value: Sequence[float] | None = None,
) -> tuple[float, np.ndarray, float, np.ndarray]:
    """P, V and both kinds of removal effect by brute force: dict counts over tuple
    states, dense ``np.linalg.solve`` on the full chain.

    States are plain tuples of the last ``order`` channels (shorter at the start of a
    journey, ``()`` is start); removal zeroes every column of a state containing the
    channel (those transitions now go to null) and solves the whole system again. The
    value chain absorbs, per visit of a state, the value of the conversions leaving it
    over its visits.
    """
    counts: dict[tuple[tuple[int, ...], tuple[int, ...] | str], float] = defaultdict(float)
    absorbed: dict[tuple[int, ...], float] = defaultdict(float)
    values = value if value is not None else [1.0] * len(paths)
    for path, did_convert, w, v in zip(paths, converted, weight, values, strict=True):
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
        absorbed[state] += v if did_convert else 0.0
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
    r_value = np.array([absorbed[s] for s in states])
    q /= out[:, None]
    r /= out
    r_value /= out
    start = index[()]
    probability = np.linalg.solve(np.eye(n) - q, r)[start]
    expected_value = np.linalg.solve(np.eye(n) - q, r_value)[start]
    effects = np.zeros(n_channels)
    value_effects = np.zeros(n_channels)
    for c in range(n_channels):
        removed = q.copy()
        removed[:, [index[s] for s in states if c in s]] = 0.0
        effects[c] = 1.0 - np.linalg.solve(np.eye(n) - removed, r)[start] / probability
        kept_value = np.linalg.solve(np.eye(n) - removed, r_value)[start]
        value_effects[c] = 1.0 - kept_value / expected_value
    return float(probability), effects, float(expected_value), value_effects


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
        "C: removal effect > 0 but no touch in a converted journey" in n.message
        for n in model.notes()
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


def test_value_is_credited_by_the_value_chain() -> None:
    # a converts 1 of 2 journeys (value 100), b 1 of 2 (value 10); then a > b converts
    # once with value 60. Transitions: start -> a 3, -> b 2 (of 5); a -> conversion 1,
    # -> null 1, -> b 1 (of 3); b -> conversion 2 (values 10 + 60), -> null 1 (of 3).
    # Conversions: x_b = 2/3, x_a = 1/3 + 1/3 x_b = 5/9, P = 3/5 x_a + 2/5 x_b = 3/5.
    # Without a: P = 2/5 x_b = 4/15, RE_a = 5/9; without b: P = 3/5 · 1/3 = 1/5,
    # RE_b = 2/3. Value chain: r_v(a) = 100/3, r_v(b) = 70/3: x_b = 70/3,
    # x_a = 100/3 + 1/3 x_b = 370/9, V = 3/5 x_a + 2/5 x_b = 34 (= 170 / 5 journeys).
    # Without a: V = 2/5 x_b = 28/3, RE^v_a = 1 - 28/102 = 37/51; without b:
    # V = 3/5 · 100/3 = 20, RE^v_b = 7/17.
    journeys = journeys_of(
        [[0], [0], [1], [1], [0, 1]],
        [True, False, True, False, True],
        [100.0, 0.0, 10.0, 0.0, 60.0],
        names=("a", "b"),
    )
    model = Markov().fit(journeys)
    np.testing.assert_allclose(model.removal_effects_, [5 / 9, 2 / 3], atol=1e-14)
    np.testing.assert_allclose(model.value_removal_effects_, [37 / 51, 7 / 17], atol=1e-14)
    assert model.expected_value_ == pytest.approx(34.0, abs=1e-12)
    # Conversions: 3 x (5/9, 2/3) / (11/9) = (15/11, 18/11); value: 170 x (37, 21) / 58.
    np.testing.assert_allclose(model.channel_conversions_, [15 / 11, 18 / 11], atol=1e-13)
    np.testing.assert_allclose(model.channel_value_, [170 * 37 / 58, 170 * 21 / 58], atol=1e-11)
    credit = model.credit(journeys)
    for amounts, expected in (
        (credit.value, model.channel_value_),
        (credit.conversions, model.channel_conversions_),
    ):
        np.testing.assert_allclose(channel_sums(journeys, amounts), expected, rtol=1e-14)
    # b's value credit goes to its converted journeys by value: 10 : 60.
    np.testing.assert_allclose(credit.value[[2, 5]] / credit.value[[2, 5]].sum(), [1 / 7, 6 / 7])
    columns = model.channel_columns()
    np.testing.assert_allclose(columns["value_removal_effect"], [37 / 51, 7 / 17], atol=1e-14)


def test_equal_values_give_equal_removal_effects() -> None:
    # Every conversion worth the same: the value chain is the conversion chain scaled.
    rng = np.random.default_rng(30)
    paths, converted, _, weight = random_journeys(rng, 200, 4)
    journeys = journeys_of(paths, converted, [7.0 * w for w in weight], weight)
    model = Markov(order=2).fit(journeys)
    np.testing.assert_allclose(model.value_removal_effects_, model.removal_effects_, atol=1e-12)
    total = sum(7.0 * w for w, c in zip(weight, converted, strict=True) if c)
    np.testing.assert_allclose(
        model.channel_value_ / total, model.channel_conversions_ / (total / 7.0), atol=1e-12
    )


def test_unfitted_use_names_the_model() -> None:
    journeys = journeys_of(HAND_PATHS, HAND_CONVERTED, HAND_VALUE)
    for use in (Markov().credit, lambda _: Markov().notes()):
        with pytest.raises(NotFittedError, match="markov is not fitted"):
            use(journeys)


# ------------------------------------------------------------------ dense reference


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("repeats", ["keep", "collapse"])
def test_matches_dense_reference(order: int, repeats: Repeats) -> None:
    rng = np.random.default_rng(100 * order + len(repeats))
    paths, converted, value, weight = random_journeys(rng, 300, 4)
    # A channel that only appears in non-converting dead ends has removal effect 0.
    paths.append([4])
    converted.append(False)
    value.append(0.0)
    weight.append(1.0)
    journeys = journeys_of(paths, converted, value, weight)
    probability, effects, expected_value, value_effects = reference_chain(
        paths, converted, weight, order, repeats == "collapse", 5, value
    )
    assert effects[4] == 0.0
    assert np.abs(value_effects - effects).max() > 1e-3  # values differ by path
    for solver in ("direct", "iterative"):
        model = Markov(order=order, repeats=repeats, solver=solver).fit(journeys)
        assert model.conversion_probability_ == pytest.approx(probability, abs=1e-9)
        assert model.expected_value_ == pytest.approx(expected_value, rel=1e-9)
        np.testing.assert_allclose(model.removal_effects_, effects, atol=1e-9)
        np.testing.assert_allclose(model.value_removal_effects_, value_effects, atol=1e-9)
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
            if name.startswith("c0"):
                channels_in[i, int(name[1:])] = True
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
def test_probability_is_the_observed_conversion_rate(
    rows: list, order: int, repeats: Repeats
) -> None:
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
def test_credits_conserve_per_channel_and_in_total(
    rows: list, order: int, repeats: Repeats
) -> None:
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
    renamed = journeys_of(
        [[perm[c] for c in paths[j]] for j in shuffled],
        [converted[j] for j in shuffled],
        [value[j] for j in shuffled],
        [weight[j] for j in shuffled],
    )
    other = Markov(order=order).fit(renamed)
    np.testing.assert_allclose(other.removal_effects_[perm], model.removal_effects_, atol=1e-10)
    np.testing.assert_allclose(
        other.value_removal_effects_[perm], model.value_removal_effects_, atol=1e-10
    )
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
    for column in (
        "credited_conversions",
        "credited_value",
        "removal_effect",
        "value_removal_effect",
    ):
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
    empty = without_touches(
        [J(["a", "b"], False), J(["a"], True, 9.0, milestones={"converted_at": -1})]
    )
    with pytest.raises(NoConversionsError):
        Markov().fit(empty)


def test_journeys_without_touches_are_ignored() -> None:
    with_empty = without_touches(
        [
            J(["a", "b"], True, 4.0),
            J(["b"], True, 100.0, milestones={"converted_at": -1}),
            J(["b"], False),
        ]
    )
    assert with_empty.lengths.tolist() == [2, 0, 1]
    without = journeys_of([[0, 1], [1]], [True, False], [4.0, 0.0], names=("a", "b"))
    a, b = Markov().fit(with_empty), Markov().fit(without)
    np.testing.assert_allclose(a.removal_effects_, b.removal_effects_)
    assert a.conversion_probability_ == pytest.approx(0.5)
    assert a.credit(with_empty).value.sum() == pytest.approx(4.0)


def test_journeys_of_one_touch() -> None:
    # start -> a (1/2) or b (1/2); a converts 2 of 3, b 1 of 3. P = 1/2. Removing a leaves
    # P = 1/6: RE_a = 2/3; RE_b = 1/3. The value chain: a absorbs 9/3 per visit and b 9/3,
    # so V = 3 and RE^v_a = RE^v_b = 1/2: each touch gets its journey's own value.
    paths = [[0], [0], [0], [1], [1], [1]]
    journeys = journeys_of(paths, [True, True, False, True, False, False], [3, 6, 0, 9, 0, 0])
    model = Markov().fit(journeys)
    np.testing.assert_allclose(model.removal_effects_, [2 / 3, 1 / 3], atol=1e-14)
    credit = model.credit(journeys)
    np.testing.assert_allclose(credit.value, [3, 6, 0, 9, 0, 0], atol=1e-12)
    # Conversions by conversion removal effects: a 2/3 of 3, b 1/3 of 3.
    np.testing.assert_allclose(credit.conversions, [1, 1, 0, 1, 0, 0], atol=1e-12)


def test_converted_journeys_without_value_split_value_by_conversions() -> None:
    # b's only converted journey is worth 0, while total value (10, from a's journey) is
    # shared by removal effects: b's value credit is split by conversions instead.
    journeys = journeys_of([[0], [1], [1, 0]], [True, True, False], [10.0, 0.0, 0.0])
    model = Markov().fit(journeys)
    credit = model.credit(journeys)
    assert credit.value.sum() == pytest.approx(10.0)
    assert credit.value[1] == pytest.approx(model.channel_value_[1])
    assert model.channel_value_[1] > 0
    assert any("c001: its converted journeys have no value" in n.message for n in model.notes())


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


def test_unmet_accuracy_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Neither the tolerance nor a backward error of 0 can be met in floating point.
    monkeypatch.setattr(markov_solver, "BACKWARD_FACTOR", 0.0)
    rng = np.random.default_rng(1)
    paths, converted, value, _ = random_journeys(rng, 50, 3)
    journeys = journeys_of(paths, converted, value)
    for solver in ("direct", "iterative"):
        with pytest.raises(SolverError, match=r"relative residual .*backward error"):
            Markov(order=2, solver=solver, tolerance=1e-300).fit(journeys)


@pytest.mark.parametrize("solver", ["auto", "direct", "iterative"])
def test_a_hard_but_valid_chain_is_solved(solver: SolverMethod) -> None:
    # One journey of 100,000 touches over 5 channels (issue 8): self-loops of probability
    # about 0.99999 make I - Q nearly singular, and no float64 solution has a relative
    # residual below 1e-13 (the old rule refused it). Its backward error is at the
    # rounding level, so it is accepted, and it matches a dense solve of the full chain.
    rng = np.random.default_rng(0)
    path = rng.integers(0, 5, 100_000).tolist()
    journeys = journeys_of([path, [0, 1]], [True, False], [1.0, 0.0])
    model = Markov(solver=solver).fit(journeys)
    assert model.residual_ > 1e-13  # the old rule refused this chain
    assert model.backward_error_ <= markov_solver.backward_limit(model.n_states_)
    probability, effects, _, value_effects = reference_chain(
        [path, [0, 1]], [True, False], [1.0, 1.0], 1, False, 5
    )
    assert model.conversion_probability_ == pytest.approx(probability, rel=1e-9)
    np.testing.assert_allclose(model.removal_effects_, effects, rtol=1e-7)
    np.testing.assert_allclose(model.value_removal_effects_, value_effects, rtol=1e-7)


@pytest.mark.parametrize(
    "params",
    [
        {"order": 0},
        {"order": 1.5},
        {"order": True},
        {"repeats": "drop"},
        {"max_states": 0},
        {"solver": "lu"},
        {"tolerance": 0.0},
    ],
)
def test_invalid_parameters(params: dict) -> None:
    model = Markov(**params)  # stored as given, checked when used
    assert model.get_params()[next(iter(params))] == next(iter(params.values()))
    journeys = journeys_of(HAND_PATHS, HAND_CONVERTED, HAND_VALUE)
    with pytest.raises(ValueError, match=next(iter(params)).split("_")[0]):
        model.fit(journeys)


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
    for amount in ("value", "conversions"):
        summed = sum(
            channel_sums(part, getattr(c, amount)) for part, c in zip(parts, per_part, strict=True)
        )
        np.testing.assert_allclose(
            summed, channel_sums(journeys, getattr(whole_credit, amount)), rtol=1e-9
        )


def test_empty_partition_merges() -> None:
    journeys = journeys_of(HAND_PATHS, HAND_CONVERTED, HAND_VALUE)
    model = Markov()
    empty = model.statistics(journeys.subset(np.array([], np.int64)))
    assert len(empty.count) == 0
    merged = empty.merge(model.statistics(journeys))
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
    assert "P(conversion) = 0.5, observed conversion rate 0.5" in model.notes()[0].message
    assert "expected value per journey 27.5, observed 27.5" in model.notes()[0].message
    assert set(model.channel_columns()) == {"removal_effect", "value_removal_effect"}


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
    # (RE_C = 0), RE_A = 1/2 and RE_B = 1 as at order 1, so A and B share the 2
    # conversions as 1:2. Value: A > B converts worth 100, (start) > B worth 10, so
    # V = 1/2 · 50 + 1/4 · 10 = 27.5, without A 2.5 (RE^v_A = 10/11), without B 0: A and
    # B share 110 as 10:11.
    assert credits["credited_conversions"].to_dict() == pytest.approx(
        {"A": 2 / 3, "B": 4 / 3, "C": 0}
    )
    assert credits["credited_value"].to_dict() == pytest.approx(
        {"A": 1100 / 21, "B": 1210 / 21, "C": 0}
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
    assert main(["run", str(source), "--models", "linear", "--half-life", "3", "--quiet"]) == 2
    assert "--half-life sets a parameter of time_decay, which is not among --models" in (
        capsys.readouterr().err
    )


def test_a_channel_named_like_a_state_cannot_be_exported() -> None:
    journeys = load([J(["(null)", "b"], value=5), J(["b"], converted=False)]).journeys
    model = Markov().fit(journeys)
    # Credits are unaffected: P = 1/2 (b converts half the time); without "(null)" only
    # the direct start -> b half remains, P = 1/4, so RE = 1/2; without b, P = 0.
    assert model.removal_effects_.tolist() == [0.5, 1.0]
    with pytest.raises(ValueError, match="'\\(null\\)' have the name of a state"):
        model.transition_table()
