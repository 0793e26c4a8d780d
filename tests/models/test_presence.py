"""The ``presence`` model: kernels against plain-Python references, the likelihood's
gradient against finite differences, a hand-solved fit, pair selection on data drawn
from the model, partitions, weights, the engine and the CLI."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

import attribution as at
from attribution.cli.main import main
from attribution.kernels.presence import (
    BLOCK_PATTERNS,
    count_patterns,
    journey_terms,
    log_likelihood,
    log_likelihood_terms,
    pattern_rows,
)
from attribution.models.base import NotFittedError
from attribution.models.presence import Presence
from attribution.models.presence_fit import _Design, _newton_segment, fit_presence
from attribution.models.presence_statistics import StepCounts
from attribution.models.registry import make_model
from tests.builders import J, channel_credit, load

# ----------------------------------------------------------------------------- data


def path_table(
    paths: Sequence[str],
    conversions: Sequence[float],
    nulls: Sequence[float],
    value: Sequence[float],
) -> at.Journeys:
    """Journey records from path-table rows (loaded through the public API)."""
    frame = pd.DataFrame(
        {
            "path": list(paths),
            "total_conversions": list(conversions),
            "total_null": list(nulls),
            "total_conversion_value": list(value),
        }
    )
    return at.load(frame, paths=True).journeys


def random_paths(
    seed: int, n: int, channels: str = "abcde", longest: int = 7
) -> tuple[list[list[int]], list[bool], list[float], list[float], at.Journeys]:
    """Random paths over ``channels`` (codes in sorted order), outcomes, weights, values."""
    rng = np.random.default_rng(seed)
    paths = [
        list(rng.integers(0, len(channels), int(rng.integers(1, longest + 1)))) for _ in range(n)
    ]
    for code in range(len(channels)):  # every channel occurs, so codes are as drawn
        paths[code].append(code)
    converted = [bool(rng.random() < 0.4) for _ in paths]
    weight = [float(rng.integers(1, 4)) for _ in paths]
    value = [
        float(rng.integers(1, 90)) * w if c else 0.0 for c, w in zip(converted, weight, strict=True)
    ]
    journeys = path_table(
        [" > ".join(channels[c] for c in p) for p in paths],
        [w if c else 0.0 for c, w in zip(converted, weight, strict=True)],
        [0.0 if c else w for c, w in zip(converted, weight, strict=True)],
        value,
    )
    return paths, converted, weight, value, journeys


def model_journeys(
    seed: int,
    n: int,
    baseline: float,
    presence: dict[int, float],
    pair: tuple[int, int, float] | None,
    n_channels: int = 4,
    guard: int = 1,
) -> at.Journeys:
    """Journeys drawn from the model itself: after each touch the journey converts with
    probability ``1 - exp(-λ)`` (presence effects and a pair, guard ``guard``), else it
    gets another touch, up to a random length."""
    rng = np.random.default_rng(seed)
    rows = []
    names = "abcdefgh"[:n_channels]
    for _ in range(n):
        length = int(rng.integers(1, 9))
        path: list[int] = []
        converted = False
        for k in range(length):
            path.append(int(rng.integers(n_channels)))
            exposed = set(path[: k + 1 - guard]) if k + 1 - guard > 0 else set()
            lam = baseline + sum(presence.get(c, 0.0) for c in exposed)
            if pair is not None and pair[0] in exposed and pair[1] in exposed:
                lam += pair[2]
            if rng.random() < -math.expm1(-lam):
                converted = True
                break
        rows.append((" > ".join(names[c] for c in path), converted))
    return path_table(
        [p for p, _ in rows],
        [1.0 if c else 0.0 for _, c in rows],
        [0.0 if c else 1.0 for _, c in rows],
        [10.0 if c else 0.0 for _, c in rows],
    )


# --------------------------------------------------------------- plain references


def reference_patterns(
    paths: Sequence[Sequence[int]],
    converted: Sequence[bool],
    weight: Sequence[float],
    value: Sequence[float],
    guard: int,
    recent: int,
) -> dict[tuple[int, int], list[float]]:
    """(present mask, recent mask) of every step -> [at risk, conversions, value]."""
    out: dict[tuple[int, int], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for path, did_convert, w, v in zip(paths, converted, weight, value, strict=True):
        for k in range(len(path)):
            exposure = path[: max(0, k + 1 - guard)]
            present = sum(1 << c for c in set(exposure))
            newest = exposure[max(0, len(exposure) - recent) :] if recent else []
            key = (present, sum(1 << c for c in set(newest)))
            if did_convert and k == len(path) - 1:
                out[key][1] += w
                out[key][2] += v
            else:
                out[key][0] += w
    return dict(out)


def reference_terms(
    path: Sequence[int],
    guard: int,
    recent: int,
    b: float,
    beta: Sequence[float],
    rho: Sequence[float],
    pairs: Sequence[tuple[int, int, float]],
) -> tuple[float, dict[int, float], dict[tuple[int, int], float], list[float]]:
    """Base, channel parts, pair parts and touch weights of one path, step by step."""
    parts: dict[int, float] = defaultdict(float)
    pair_parts: dict[tuple[int, int], float] = {}
    weights = [0.0] * len(path)
    for k in range(len(path)):
        exposure = list(range(max(0, k + 1 - guard)))  # positions counted in step k
        seen = {path[i] for i in exposure}
        for c in seen:
            first = min(i for i in exposure if path[i] == c)
            parts[c] += beta[c]
            weights[first] += beta[c]
        for position in exposure[max(0, len(exposure) - recent) :] if recent else []:
            c = path[position]
            newest = max(i for i in exposure if path[i] == c)
            if newest == position:
                parts[c] += rho[c]
                weights[position] += rho[c]
        for a, c, delta in pairs:
            if a in seen and c in seen:
                pair_parts[a, c] = pair_parts.get((a, c), 0.0) + delta
                for channel in (a, c):
                    first = min(i for i in exposure if path[i] == channel)
                    weights[first] += delta / 2
    for a, c, _ in pairs:
        if a in path and c in path:
            pair_parts.setdefault((a, c), 0.0)
    return b * len(path), {c: parts[c] for c in set(path)}, pair_parts, weights


def reference_log_likelihood(
    theta: np.ndarray,
    patterns: dict[tuple[int, int], list[float]],
    n_channels: int,
    pairs: Sequence[tuple[int, int]] = (),
) -> float:
    total = 0.0
    for (present, recent), (at_risk, conversions, _) in patterns.items():
        lam = theta[0] + sum(
            theta[1 + c] * (present >> c & 1) + theta[1 + n_channels + c] * (recent >> c & 1)
            for c in range(n_channels)
        )
        lam += sum(
            theta[1 + 2 * n_channels + q]
            for q, (a, b) in enumerate(pairs)
            if present >> a & 1 and present >> b & 1
        )
        total += conversions * math.log(-math.expm1(-lam)) - at_risk * lam
    return total


# ---------------------------------------------------------------------- kernels


@pytest.mark.parametrize("guard", [0, 1, 2])
@pytest.mark.parametrize("recent", [0, 1, 3])
def test_step_patterns_match_python(guard: int, recent: int) -> None:
    paths, converted, weight, value, journeys = random_paths(guard * 10 + recent, 200)
    got = count_patterns(
        journeys.channel.astype(np.int64),
        journeys.offsets,
        journeys.converted,
        journeys.weight,
        journeys.value,
        guard,
        recent,
    )
    table = {(int(p), int(r)): [a, c, v] for p, r, a, c, v in zip(*got, strict=True)}
    expected = reference_patterns(paths, converted, weight, value, guard, recent)
    assert set(table) == set(expected)
    for key, counts in expected.items():
        assert table[key] == pytest.approx(counts)
    statistics = Presence(guard_steps=guard, recent_steps=recent).statistics(journeys)
    assert statistics.journeys == pytest.approx(sum(weight))
    assert statistics.total_conversions == pytest.approx(
        sum(w for w, c in zip(weight, converted, strict=True) if c)
    )


@pytest.mark.parametrize(("guard", "recent"), [(0, 0), (1, 3), (2, 1)])
def test_pattern_rows_match_python(guard: int, recent: int) -> None:
    _, _, _, _, journeys = random_paths(guard * 10 + recent + 5, 150)
    statistics = Presence(guard_steps=guard, recent_steps=recent).statistics(journeys)
    n_patterns = len(statistics.present)
    lengths, indices, data = pattern_rows(
        journeys.channel, journeys.offsets, journeys.converted, journeys.weight,
        journeys.value, guard, recent, statistics.present, statistics.recent,
    )  # fmt: skip
    masks = zip(statistics.present, statistics.recent, strict=True)
    pattern = {(int(p), int(r)): i for i, (p, r) in enumerate(masks)}
    bounds = np.concatenate(([0], np.cumsum(lengths)))
    for j in range(journeys.n_journeys):
        path = [int(c) for c in journeys.channel[journeys.offsets[j] : journeys.offsets[j + 1]]]
        w, v = float(journeys.weight[j]), float(journeys.value[j])
        expected: dict[int, float] = defaultdict(float)
        for (p, r), (at_risk, conversions, value) in reference_patterns(
            [path], [bool(journeys.converted[j])], [w], [v], guard, recent
        ).items():
            for column, amount in ((0, at_risk), (1, conversions), (2, value)):
                if amount:
                    expected[column * n_patterns + pattern[(p, r)]] += amount
        if path:
            expected[3 * n_patterns] += w
        got: dict[int, float] = defaultdict(float)
        for k in range(bounds[j], bounds[j + 1]):
            got[int(indices[k])] += float(data[k])
        assert got == pytest.approx(dict(expected))


def test_replicate_columns_are_the_counts_of_the_reweighted_journeys() -> None:
    _, _, _, _, journeys = random_paths(4, 120)
    model = Presence()
    statistics = model.statistics(journeys)
    columns = model.replicate_columns(journeys, None, statistics)
    assert columns is not None
    lengths, indices, data = columns.rows(0, journeys.n_journeys)
    rows = np.repeat(np.arange(journeys.n_journeys), lengths)
    factors = np.random.default_rng(1).poisson(1.0, (journeys.n_journeys, 3)).astype(float)
    for r in range(3):
        sums = np.bincount(indices, data * factors[rows, r], minlength=columns.n_columns)
        got = columns.statistics(sums)
        expected = model.statistics(journeys.reweighted(factors[:, r]))
        np.testing.assert_array_equal(got.present, expected.present)
        np.testing.assert_array_equal(got.recent, expected.recent)
        for name in ("at_risk", "conversions", "conversion_value"):
            np.testing.assert_allclose(getattr(got, name), getattr(expected, name), rtol=1e-12)
        assert got.journeys == pytest.approx(expected.journeys, rel=1e-12)


@pytest.mark.parametrize(("guard", "recent"), [(0, 0), (1, 3), (2, 1)])
def test_journey_terms_match_python(guard: int, recent: int) -> None:
    paths, _, _, _, journeys = random_paths(7 + guard, 60)
    rng = np.random.default_rng(3)
    b, beta, rho = 0.05, rng.random(5), rng.random(5)
    pairs = [(0, 2, 0.7), (1, 3, 0.4)]
    terms = journey_terms(
        journeys.channel.astype(np.int64),
        journeys.offsets,
        5,
        guard,
        recent,
        b,
        beta,
        rho,
        np.array([0, 1]),
        np.array([2, 3]),
        np.array([0.7, 0.4]),
        np.ones(journeys.n_journeys, np.bool_),
    )
    base, member_offsets, member_channel, member_part, pair_offsets, pair_members = terms[:6]
    pair_part, touch_weight = terms[6:]
    for j, path in enumerate(paths):
        want_base, parts, pair_parts, weights = reference_terms(
            path, guard, recent, b, beta.tolist(), rho.tolist(), pairs
        )
        assert base[j] == pytest.approx(want_base)
        members = member_channel[member_offsets[j] : member_offsets[j + 1]].tolist()
        assert members == sorted(set(path))
        got = dict(
            zip(members, member_part[member_offsets[j] : member_offsets[j + 1]], strict=True)
        )
        assert got == pytest.approx(parts)
        got_pairs = {
            (members[m0], members[m1]): part
            for (m0, m1), part in zip(
                pair_members[pair_offsets[j] : pair_offsets[j + 1]],
                pair_part[pair_offsets[j] : pair_offsets[j + 1]],
                strict=True,
            )
        }
        assert got_pairs == pytest.approx(pair_parts)
        start = journeys.offsets[j]
        np.testing.assert_allclose(touch_weight[start : start + len(path)], weights, atol=1e-12)


def dense_design(statistics: StepCounts, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Patterns x parameters, 0/1, straight from the masks."""
    c = statistics.n_channels
    rows = []
    for present, recent in zip(
        statistics.present.tolist(), statistics.recent.tolist(), strict=True
    ):
        row = [1.0]
        row += [float(present >> k & 1) for k in range(c)]
        row += [float(recent >> k & 1) for k in range(c)]
        row += [float(present >> a & 1 and present >> b & 1) for a, b in pairs]
        rows.append(row)
    return np.array(rows)


def test_sums_by_mask_match_a_dense_design() -> None:
    _, _, _, _, journeys = random_paths(22, 120)
    statistics = Presence(recent_steps=2).statistics(journeys)
    pairs = [(0, 1), (2, 4)]
    design = _Design.of(statistics, pairs)
    x = dense_design(statistics, pairs)
    rng = np.random.default_rng(2)
    first, second = rng.normal(size=len(x)), rng.random(len(x))
    gradient, matrix, second_present, by_present = design.sums(first, second, True)
    without = design.sums(first, second, False)
    for full, only in zip((gradient, matrix, second_present), without[:3], strict=True):
        np.testing.assert_array_equal(only, full)
    assert without[3].shape == (0, design.n_parameters)
    np.testing.assert_allclose(gradient, x.T @ first, atol=1e-12)
    np.testing.assert_allclose(matrix, x.T @ (second[:, None] * x), atol=1e-12)
    ids = design.present_id
    np.testing.assert_allclose(second_present, np.bincount(ids, second), atol=1e-12)
    expected = np.array(
        [(second[ids == p, None] * x[ids == p]).sum(axis=0) for p in range(ids.max() + 1)]
    )
    np.testing.assert_allclose(by_present, expected, atol=1e-12)
    theta = rng.random(design.n_parameters)
    np.testing.assert_allclose(design.hazards(theta), x @ theta, atol=1e-12)


def test_sums_over_many_blocks_match_a_dense_design_whatever_the_threads() -> None:
    """Enough patterns for the sums by mask to be cut into several blocks of patterns."""
    rng = np.random.default_rng(8)
    n, c = 3 * BLOCK_PATTERNS + 11, 6
    assert n // BLOCK_PATTERNS == 3  # three blocks of patterns (far below the caps)
    present = rng.integers(0, 1 << c, n)
    statistics = StepCounts(
        guard=1,
        recent_steps=2,
        channel_names=tuple(f"c{k}" for k in range(c)),
        present=present,
        recent=present & rng.integers(0, 1 << c, n),
        at_risk=rng.random(n),
        conversions=rng.random(n),
        conversion_value=np.zeros(n),
        journeys=float(n),
    )
    pairs = [(0, 1), (2, 4)]
    design = _Design.of(statistics, pairs)
    x = dense_design(statistics, pairs)
    first = rng.normal(size=n)
    second = rng.random(n) * (rng.random(n) < 0.7)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        alone = design.sums(first, second, True)
    finally:
        numba.set_num_threads(threads)
    gradient, matrix, second_present, by_present = design.sums(first, second, True)
    for one, many in zip(alone, (gradient, matrix, second_present, by_present), strict=True):
        np.testing.assert_array_equal(one, many)
    np.testing.assert_allclose(gradient, x.T @ first, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(matrix, x.T @ (second[:, None] * x), rtol=1e-12, atol=1e-9)
    ids = design.present_id
    np.testing.assert_allclose(second_present, np.bincount(ids, second), rtol=1e-12, atol=1e-9)


def test_the_newton_step_is_newton_s_on_the_face_of_the_held_bounds() -> None:
    """Parameter 1 is held (pushed out at its bound); parameter 2's Newton point falls
    below its bound, so it is held too and the step solved again: the step ends at a
    feasible point, and the free parameter takes Newton's step with both on their
    bound (a quadratic: its exact minimiser on that face)."""
    hessian = np.array([[2.0, 0.5, 0.3], [0.5, 1.0, 0.2], [0.3, 0.2, 1.5]])
    theta = np.array([1.0, 0.0, 0.05])
    gradient = np.array([-1.0, 0.4, 2.0])
    lower = np.zeros(3)
    held = np.array([False, True, False])
    step = _newton_segment(theta, gradient, hessian, lower, held)
    assert np.all(theta + step >= lower)
    assert step[1] == 0.0 and step[2] == pytest.approx(-0.05)
    # The free parameter minimises the quadratic model with the others fixed.
    expected = -(gradient[0] + hessian[0, 1:] @ step[1:]) / hessian[0, 0]
    assert step[0] == pytest.approx(expected, rel=1e-12)
    # The unconstrained Newton point would leave the feasible set.
    assert (theta + np.linalg.solve(hessian, -gradient))[2] < 0


def test_gradient_and_hessian_match_finite_differences() -> None:
    _, _, _, _, journeys = random_paths(21, 150)
    statistics = Presence(recent_steps=2).statistics(journeys)
    design = _Design.of(statistics, [(0, 1), (2, 4)])
    rng = np.random.default_rng(5)
    theta = rng.uniform(0.01, 0.3, design.n_parameters)

    def derivatives(t: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        hazards = design.hazards(t)
        derivative, curvature, _ = log_likelihood_terms(
            hazards, statistics.at_risk, statistics.conversions, False
        )
        gradient, hessian, _, _ = design.sums(derivative, curvature, False)
        return (
            log_likelihood(hazards, statistics.at_risk, statistics.conversions),
            gradient,
            hessian,
        )

    value, gradient, hessian = derivatives(theta)
    patterns = reference_patterns(*random_paths(21, 150)[:4], 1, 2)
    assert value == pytest.approx(
        reference_log_likelihood(theta, patterns, 5, [(0, 1), (2, 4)]), rel=1e-12
    )
    step = 1e-6
    unit = np.eye(len(theta))
    numeric = [
        (derivatives(theta + step * e)[0] - derivatives(theta - step * e)[0]) / (2 * step)
        for e in unit
    ]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-6)
    # The Hessian returned is that of -ℓ (ℓ is concave).
    numeric_hessian = [
        -(derivatives(theta + step * e)[1] - derivatives(theta - step * e)[1]) / (2 * step)
        for e in unit
    ]
    np.testing.assert_allclose(hessian, numeric_hessian, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- fit


def test_hand_solved_fit() -> None:
    # Guard 1, no recency. 4 x "c" (1 converts), 4 x "a > c" (2 convert), 4 x "b > c"
    # (1 converts). Every journey's first step has no exposure: 12 steps, 1 conversion,
    # so 1 - e^-b = 1/12. Step 2 of "a > c" has {a} present: 2 of 4 convert, so
    # b + β_a = log 2; of "b > c", {b}: 1 of 4, b + β_b = log(4/3). c is never counted.
    journeys = path_table(["c", "a > c", "b > c"], [1, 2, 1], [3, 2, 3], [10.0, 20.0, 10.0])
    model = Presence(recent_steps=0, penalty=0.0, pairs="none", tolerance=1e-10).fit(journeys)
    assert model.converged_
    assert model.baseline_ == pytest.approx(math.log(12 / 11), rel=1e-6)
    np.testing.assert_allclose(
        model.presence_effects_, [math.log(11 / 6), math.log(11 / 9), 0.0], atol=1e-6
    )
    credit = model.credit(journeys)
    # "c": no channel counted in its only step: split evenly (all to c). "a > c": only a
    # has a part (c's touch is within the guard): all to a; likewise b. Records: each
    # row's converted record, then its null record.
    np.testing.assert_allclose(credit.value, [10, 0, 20, 0, 0, 0, 10, 0, 0, 0], atol=1e-12)
    assert model.even_split_conversions_ == 1.0 and model.even_split_value_ == 10.0
    assert any("split evenly" in note.message for note in model.notes())


@pytest.mark.parametrize("seed", [0, 1])
def test_fit_is_the_maximum_of_the_likelihood(seed: int) -> None:
    paths, converted, weight, value, journeys = random_paths(seed, 120, channels="abc")
    model = Presence(recent_steps=2, penalty=0.5, pairs="none", tolerance=1e-10).fit(journeys)
    patterns = reference_patterns(paths, converted, weight, value, 1, 2)
    penalty = 0.5

    def objective(t: np.ndarray) -> float:
        return -reference_log_likelihood(t, patterns, 3) + penalty / 2 * float(t[1:] @ t[1:])

    theta = np.concatenate(([model.baseline_], model.presence_effects_, model.recent_effects_))
    assert model.log_likelihood_ == pytest.approx(reference_log_likelihood(theta, patterns, 3))
    best = minimize(
        objective,
        theta + 0.05,
        method="L-BFGS-B",
        bounds=[(1e-12, None)] + [(0.0, None)] * 6,
        options={"ftol": 1e-15, "gtol": 1e-10},
    )
    assert objective(theta) <= best.fun + 1e-8
    np.testing.assert_allclose(theta, best.x, atol=1e-4)


def test_small_fits_meet_the_tolerance_not_just_rounding() -> None:
    """With few patterns, the last Newton step's decrease of the objective is below its
    rounding while the gradient it removes is not: the fit takes that step and meets the
    tolerance, rather than stopping one step short at rounding level."""
    for seed in range(12):
        for n in (60, 300, 1500):
            *_, journeys = random_paths(seed, n, channels="abcd")
            model = Presence(pairs="auto").fit(journeys)
            assert model.converged_ and not model.converged_at_rounding_, (seed, n)
            assert model.gradient_norm_ <= model.tolerance, (seed, n)


@pytest.mark.parametrize("patterns", [0, 3])
def test_pair_selection_without_conversions_selects_no_pair(patterns: int) -> None:
    counts = StepCounts(
        guard=1,
        recent_steps=2,
        channel_names=("a", "b"),
        present=np.arange(patterns, dtype=np.int64),
        recent=np.zeros(patterns, np.int64),
        at_risk=np.ones(patterns),
        conversions=np.zeros(patterns),
        conversion_value=np.zeros(patterns),
        journeys=float(patterns),
    )
    fit = fit_presence(
        counts, penalty=1.0, pairs=None, max_pairs=10, pair_z=4.0, max_iterations=50,
        tolerance=1e-8,
    )  # fmt: skip
    assert fit.pairs == () and fit.converged
    assert np.all(fit.theta[1:] == 0.0)


def test_the_note_names_the_stopping_rule_met() -> None:
    """A tolerance below what rounding allows stops at rounding level, and says so; a
    reachable one is met; too few iterations are reported with the gradient."""
    *_, journeys = random_paths(4, 150, channels="abc")
    notes = {}
    for tolerance, iterations in [(1e-300, 200), (1e-6, 200), (1e-12, 1)]:
        model = Presence(pairs="none", tolerance=tolerance, max_iterations=iterations)
        model.fit(journeys)
        note = next(n for n in model.notes() if n.code in ("converged", "not_converged"))
        notes[note.data["stop"]] = (model, note.message)
    assert set(notes) == {"rounding", "tolerance", "iterations"}
    rounding, message = notes["rounding"]
    assert rounding.converged_ and rounding.converged_at_rounding_
    assert (
        rounding.gradient_norm_ > 1e-300 and "no decrease of the objective beyond 1e-14" in message
    )
    met, message = notes["tolerance"]
    assert met.converged_ and not met.converged_at_rounding_
    assert met.gradient_norm_ <= 1e-6 and "within the tolerance 1e-06" in message
    stopped, message = notes["iterations"]
    assert not stopped.converged_ and "did NOT converge after 1 " in message


def test_effects_are_recovered_and_the_true_pair_found() -> None:
    journeys = model_journeys(3, 6000, 0.02, {0: 0.15, 1: 0.0, 2: 0.05, 3: 0.0}, (1, 3, 0.3))
    model = Presence(recent_steps=0, pairs="auto").fit(journeys)
    assert model.pairs_ == (("b", "d"),)
    assert model.pair_z_[0] > 4
    assert model.pair_effects_[0] == pytest.approx(0.3, rel=0.25)
    np.testing.assert_allclose(model.presence_effects_, [0.15, 0.0, 0.05, 0.0], atol=0.03)
    assert model.baseline_ == pytest.approx(0.02, rel=0.25)
    assert "b+d" in model.notes()[0].message
    none = Presence(recent_steps=0, pairs="none").fit(journeys)
    assert none.pairs_ == () and len(none.pair_effects_) == 0
    given = Presence(recent_steps=0, pairs=[("d", "b")]).fit(journeys)
    assert given.pairs_ == (("b", "d"),) and math.isnan(given.pair_z_[0])
    assert given.pair_effects_[0] == pytest.approx(model.pair_effects_[0], rel=1e-4)


def test_no_pair_is_found_without_one() -> None:
    journeys = model_journeys(4, 6000, 0.02, {0: 0.1, 1: 0.05, 2: 0.0, 3: 0.08}, None)
    assert Presence(recent_steps=0).fit(journeys).pairs_ == ()


def test_a_pair_of_unknown_channels_is_an_error() -> None:
    journeys = path_table(["a > b"], [1], [1], [5.0])
    with pytest.raises(ValueError, match="pairs names channel\\(s\\) 'zz'"):
        Presence(pairs=[("a", "zz")]).fit(journeys)


# -------------------------------------------------------------------- credit


def test_credit_conserves_journey_by_journey() -> None:
    _, converted, _, value, journeys = random_paths(9, 200)
    model = Presence().fit(journeys)
    credit = model.credit(journeys)
    per_journey = np.add.reduceat(credit.value, journeys.offsets[:-1])
    np.testing.assert_allclose(per_journey, value, rtol=1e-12, atol=1e-9)
    conversions = np.add.reduceat(credit.conversions, journeys.offsets[:-1])
    np.testing.assert_allclose(conversions, journeys.conversions, rtol=1e-12, atol=1e-12)
    assert (credit.value >= 0).all()
    assert not credit.value[np.repeat(~np.asarray(converted), journeys.lengths)].any()


def test_removal_effect_shares_by_hand() -> None:
    # One converted path "a > b > a" (guard 0, no recency, no pairs) with effects set by
    # a fit on it alone plus others; check the shares against q_c = 1 - P(L - D_c) / P(L).
    journeys = path_table(
        ["a > b > a", "a", "b", "b > b", "a > a > a"], [1, 1, 1, 0, 0], [0, 2, 3, 2, 1],
        [30.0, 5.0, 5.0, 0.0, 0.0],
    )  # fmt: skip
    model = Presence(guard_steps=0, recent_steps=0, pairs="none").fit(journeys)
    b, (beta_a, beta_b) = model.baseline_, model.presence_effects_
    # Path 0: 3 steps, a present in all 3, b in the last 2.
    total = 3 * b + 3 * beta_a + 2 * beta_b

    def p(x: float) -> float:
        return -math.expm1(-x)

    q_a = 1 - p(total - 3 * beta_a) / p(total)
    q_b = 1 - p(total - 2 * beta_b) / p(total)
    credit = model.credit(journeys).value[:3]
    # a's share goes to its first touch (presence is held by the first touch).
    np.testing.assert_allclose(
        credit, [30 * q_a / (q_a + q_b), 30 * q_b / (q_a + q_b), 0.0], rtol=1e-12
    )


def test_effects_the_data_do_not_support_are_exactly_zero() -> None:
    # Found by hypothesis: no channel raises the conversion rate here, and the segment
    # search had left one effect at 2e-17 and another at 0 under one coding of the
    # channels and the other way round under another, so the shares (which divide by the
    # effects) flipped with the channel names. Every effect is now exactly 0, and each
    # converted journey is split evenly, whatever the names.
    paths = ["p", "p > p > p > p > p", "w > p", "w > d > p > w > p", "d > p", "d > w > p"]
    for names in ({"p": "p", "w": "w", "d": "d"}, {"p": "z", "w": "a", "d": "b"}):
        renamed = [" > ".join(names[c] for c in path.split(" > ")) for path in paths]
        journeys = path_table(renamed, [1, 0, 1, 0, 1, 0], [0, 1, 0, 1, 0, 1],
                              [1.0, 0, 1.0, 0, 0, 0])  # fmt: skip
        fitted = Presence().fit(journeys)
        assert not fitted.presence_effects_.any()
        assert not fitted.recent_effects_.any()
        result = at.attribute(journeys, ["presence", "shapley"], by=("channel",))
        for model in ("presence", "shapley"):
            credit = channel_credit(result, model)
            assert credit == pytest.approx({names["p"]: 1.5, names["w"]: 0.5, names["d"]: 0.0})


def test_merged_partitions_fit_and_credit_like_the_whole() -> None:
    _, _, _, _, journeys = random_paths(17, 300)
    whole = Presence().fit(journeys)
    model = Presence()
    parts = [
        journeys.subset(np.arange(0, 110)),
        journeys.subset(np.arange(110, journeys.n_journeys)),
    ]
    merged = model.fit_statistics(model.statistics(parts[0]).merge(model.statistics(parts[1])))
    np.testing.assert_array_equal(merged.presence_effects_, whole.presence_effects_)
    np.testing.assert_array_equal(merged.recent_effects_, whole.recent_effects_)
    assert merged.pairs_ == whole.pairs_
    per_part = [merged.credit(part) for part in parts]
    whole_credit = whole.credit(journeys)
    np.testing.assert_allclose(
        np.concatenate([c.value for c in per_part]), whole_credit.value, rtol=1e-12
    )
    summed = sum(
        np.bincount(part.channel, c.value, minlength=journeys.n_channels)
        for part, c in zip(parts, per_part, strict=True)
    )
    np.testing.assert_allclose(
        summed, np.bincount(journeys.channel, whole_credit.value, minlength=5), rtol=1e-9
    )


def test_weighted_records_equal_repeated_journeys() -> None:
    weighted = path_table(["a > b", "b", "a > c > b"], [2, 1, 1], [1, 3, 2], [30.0, 4.0, 8.0])
    expanded = load(
        [J(["a", "b"], True, 15.0)] * 2
        + [J(["a", "b"], False)]
        + [J(["b"], True, 4.0)]
        + [J(["b"], False)] * 3
        + [J(["a", "c", "b"], True, 8.0)]
        + [J(["a", "c", "b"], False)] * 2
    )
    a = at.attribute(weighted, ["presence"], by=["channel"])
    b = at.attribute(expanded, ["presence"], by=["channel"])
    assert channel_credit(a, "presence") == pytest.approx(channel_credit(b, "presence"), rel=1e-9)


def test_timed_data_is_credited_like_its_path_table() -> None:
    journeys = [
        J(["a", "b", "a"], True, 10.0, days=[0, 5, 9]),
        J(["b", "c"], False, days=[0, 40]),
        J(["c", "a"], True, 7.0, days=[0, 1]),
        J(["a"], False),
        J(["b", "b", "c"], True, 3.0, days=[0, 2, 80]),
    ]
    timed = at.attribute(load(journeys), ["presence"], by=["channel"])
    paths = path_table(["a > b > a", "b > c", "c > a", "a", "b > b > c"], [1, 0, 1, 0, 1],
                       [0, 1, 0, 1, 0], [10.0, 0.0, 7.0, 0.0, 3.0])  # fmt: skip
    model = Presence().fit(paths)
    expected = np.bincount(paths.channel, model.credit(paths).value, minlength=3)
    assert channel_credit(timed, "presence") == pytest.approx(
        dict(zip("abc", expected, strict=True))
    )
    assert timed.reconciliation.ok


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10**6))
def test_engine_conserves(seed: int) -> None:
    _, _, _, value, journeys = random_paths(seed, 40, longest=5)
    model = Presence()
    credit = model.fit(journeys).credit(journeys)
    assert credit.value.sum() == pytest.approx(sum(value), rel=1e-12)
    assert (credit.value >= 0).all() and (credit.conversions >= 0).all()


# -------------------------------------------------------------- conventions


@pytest.mark.parametrize(
    "params",
    [
        {"guard_steps": -1},
        {"recent_steps": 1.5},
        {"penalty": -1.0},
        {"pairs": "some"},
        {"pairs": [("a", "a")]},
        {"max_pairs": True},
        {"pair_z": float("nan")},
        {"max_iterations": 0},
        {"tolerance": 0.0},
    ],
)
def test_parameters_are_checked_when_used(params: dict[str, object]) -> None:
    model = Presence(**params)  # type: ignore[arg-type]
    name = next(iter(params))
    assert model.get_params()[name] is params[name]
    with pytest.raises(ValueError, match=name):
        model.fit(path_table(["a > b"], [1], [1], [5.0]))


def test_unfitted_use_names_the_model() -> None:
    journeys = path_table(["a > b"], [1], [1], [5.0])
    for use in (Presence().credit, Presence().exposure_terms, lambda _: Presence().notes()):
        with pytest.raises(NotFittedError, match="presence is not fitted"):
            use(journeys)


def test_statistics_of_another_configuration_are_refused() -> None:
    journeys = path_table(["a > b"], [1], [1], [5.0])
    with pytest.raises(ValueError, match="do not match"):
        Presence(guard_steps=2).fit_statistics(Presence().statistics(journeys))
    with pytest.raises(ValueError, match="cannot merge"):
        Presence().statistics(journeys).merge(Presence(recent_steps=1).statistics(journeys))


def test_registry_notes_and_columns() -> None:
    model = make_model("presence", {"guard_steps": 2})
    assert isinstance(model, Presence) and model.guard_steps == 2
    _, _, _, _, journeys = random_paths(2, 100)
    model.fit(journeys)
    assert set(model.channel_columns()) == {"presence_effect", "recent_effect"}
    assert "converged after" in model.notes()[1].message


def test_cli_options_reach_the_model(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "path": ["a > b", "b > c > a", "c", "a > c"],
            "total_conversions": [3, 2, 1, 0],
            "total_null": [4, 1, 5, 3],
            "total_conversion_value": [30.0, 20.0, 10.0, 0.0],
        }
    )
    source = tmp_path / "paths.csv"
    frame.to_csv(source, index=False)
    out = tmp_path / "out.csv"
    flags = ["--presence-guard-steps", "0", "--presence-recent-steps", "2",
             "--presence-penalty", "0.5", "--presence-pairs", "a+c"]  # fmt: skip
    code = main(["run", str(source), "--paths", "--models", "presence", "--by", "channel",
                 "--out", str(out), "--quiet", *flags])  # fmt: skip
    assert code == 0
    model = Presence(guard_steps=0, recent_steps=2, penalty=0.5, pairs=[("a", "c")])
    expected = at.attribute(at.load(frame, paths=True), {"presence": model}, by=["channel"])
    got = pd.read_csv(out).set_index("channel")["credited_value"]
    want = expected.credits.set_index("channel")["credited_value"]
    np.testing.assert_allclose(got.loc[want.index], want, rtol=1e-12)
    assert "presence_effect" in pd.read_csv(out).columns
    with pytest.raises(SystemExit) as error:
        main(["run", str(source), "--paths", "--presence-pairs", "a+", "--quiet"])
    assert error.value.code == 2


def test_the_benchmarks_run(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import accuracy_paths, bench_presence

    accuracy_paths.main(["--journeys", "400", "--seeds", "1", "--scenarios", "independent",
                         "--paths", "windowed,raw", "--timed"])  # fmt: skip
    out = capsys.readouterr().out
    assert "| presence |" in out and "presence lowest?" in out and "Touch tables" in out
    _, _, _, _, journeys = random_paths(4, 200)
    text = bench_presence.render(bench_presence.measure(journeys, 1))
    assert "presence fit + credit" in text and "beyond the presence fit" in text


@pytest.mark.parametrize("pairs", ["auto", [("b", "d"), ("a", "c")]])
def test_a_replicate_fit_warm_started_from_the_data_is_the_cold_fit(pairs: object) -> None:
    journeys = model_journeys(5, 3000, 0.02, {0: 0.15, 2: 0.05}, (1, 3, 0.3))
    data = Presence(pairs=pairs, max_pairs=3, pair_z=1.0).fit(journeys)  # type: ignore[arg-type]
    assert len(data.presence_fit_.stages) == (len(data.pairs_) + 1 if pairs == "auto" else 1)
    rng = np.random.default_rng(2)
    for _ in range(3):
        replicate = journeys.reweighted(rng.poisson(1.0, journeys.n_journeys).astype(float))
        counts = data.statistics(replicate)
        cold = Presence(pairs=pairs, max_pairs=3, pair_z=1.0).fit_statistics(counts)  # type: ignore[arg-type]
        warm = data.fit_replicate(counts)
        assert warm is not data and warm.pairs_ == cold.pairs_ and warm.converged_
        # The same optimum, each fit to its tolerance (1e-8 per conversion on the gradient).
        theta = cold.presence_fit_.theta
        np.testing.assert_allclose(warm.presence_fit_.theta, theta, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(
            warm.credit(replicate).value, cold.credit(replicate).value, rtol=1e-4, atol=1e-6
        )


def test_the_baseline_given_the_effects_maximises_the_likelihood_in_it() -> None:
    """A replicate's warm start first moves the baseline to its optimum with the data's
    effects held: ``ℓ`` is then flat in ``b`` there and lower on either side."""
    from attribution.models.presence_fit import (
        MIN_BASELINE,
        _baseline_given_effects,
        _Design,
        _Objective,
    )

    journeys = model_journeys(5, 3000, 0.02, {0: 0.15, 2: 0.05}, (1, 3, 0.3))
    data = Presence(pairs="none").fit(journeys)
    rng = np.random.default_rng(4)
    replicate = journeys.reweighted(rng.poisson(1.0, journeys.n_journeys).astype(float))
    counts = data.statistics(replicate)
    objective = _Objective(counts, _Design.of(counts, ()), float(data.penalty))
    # From the data's baseline, and from far above and below it.
    for scale in (1.0, 8.0, 0.01):
        theta = data.presence_fit_.theta.copy()
        theta[0] *= scale
        best = _baseline_given_effects(objective, theta, MIN_BASELINE)

        def likelihood(b: float, theta: np.ndarray = theta) -> float:
            return objective.log_likelihood(np.concatenate(([b], theta[1:])))

        assert best > MIN_BASELINE
        assert likelihood(best) >= likelihood(best * (1 + 1e-4))
        assert likelihood(best) >= likelihood(best * (1 - 1e-4))
        derivative = (likelihood(best * (1 + 1e-6)) - likelihood(best * (1 - 1e-6))) / (2e-6 * best)
        assert abs(derivative) <= 1e-4 * counts.total_conversions


def test_for_credit_drops_the_counts_and_credits_alike() -> None:
    from attribution.models import Shapley

    journeys = model_journeys(5, 800, 0.02, {0: 0.15, 2: 0.05}, (1, 3, 0.3))
    model = Presence().fit(journeys)
    slim = model.for_credit()
    assert len(slim.statistics_.present) == 0 and len(model.statistics_.present) > 0
    for got, expected in zip(
        (slim.credit(journeys), Shapley().fit(journeys).for_credit().credit(journeys)),
        (model.credit(journeys), Shapley().fit(journeys).credit(journeys)),
        strict=True,
    ):
        np.testing.assert_array_equal(got.value, expected.value)
