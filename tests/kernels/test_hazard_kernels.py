"""hazard kernels against plain-Python references written from the documented formulas,
the likelihood's gradient and information against finite differences, and the serial
kernels against the parallel ones."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pytest

from attribution.journeys import Journeys
from attribution.kernels import hazard as kernels
from attribution.models.hazard import Hazard
from attribution.models.hazard_fit import Design
from attribution.models.hazard_statistics import HazardHorizon, HazardStatistics
from tests.builders import J, load

DAY = 86_400 * 10**9
CHANNELS = ("a", "b", "c", "d")


def random_journeys(seed: int, n: int = 40) -> Journeys:
    """Journeys of 0-6 touches over 40 days; about half convert, most with a time, some
    without; weights 1-3."""
    rng = np.random.default_rng(seed)
    journeys = []
    for _ in range(n):
        length = int(rng.integers(1, 7))
        days = np.sort(np.round(rng.uniform(0, 40, length), 3))
        path = [str(c) for c in rng.choice(CHANNELS, length)]
        converted = bool(rng.random() < 0.5)
        milestones = {}
        if converted and rng.random() < 0.8:
            milestones["converted_at"] = float(days[-1] + rng.choice([0.0, 0.4, 1.0, 3.5]))
        journeys.append(
            J(path, converted, float(rng.integers(1, 100)), list(days), milestones=milestones)
        )
    loaded = load(journeys).journeys
    weight = rng.integers(1, 4, loaded.n_journeys).astype(np.float64)
    # A record of weight w stands for w identical journeys (value is the record's total).
    return replace(loaded, weight=weight, value=loaded.value * weight)


@dataclass
class Reference:
    """The documented quantities, computed journey by journey with plain Python."""

    totals: np.ndarray
    x: list[np.ndarray]
    z: list[np.ndarray]
    pair_totals: np.ndarray
    x_pair: list[dict[int, np.ndarray]]
    z_pair: list[dict[int, np.ndarray]]
    weight: list[float]
    event_weight: list[float]


def windows(journeys: Journeys, j: int, horizon: int, until: int, guard: int) -> tuple:
    """(start, at-risk end, window end, credit cut, converted, timed) of journey ``j``."""
    lo, hi = journeys.offsets[j], journeys.offsets[j + 1]
    times = [int(t) for t in journeys.timestamp[lo:hi]]
    first, last = times[0], times[-1]
    converted = bool(journeys.converted[j])
    timed = int(journeys.converted_at[j]) != np.iinfo(np.int64).min
    window = first + min(max(until - first, 0), horizon)
    if converted:
        end = int(journeys.converted_at[j]) if timed else last
        cut = end - guard if timed else last + 1
        return first, end, max(end, window), cut, True, timed
    return first, window, window, window - guard, False, False


def reference(
    journeys: Journeys,
    half_lives: tuple[float, ...],
    pair_half_lives: tuple[float, ...],
    guard: int,
    horizon_days: float | None = None,
) -> Reference:
    rates = [math.log(2) / h for h in half_lives]
    pair_rates = [math.log(2) / h for h in pair_half_lives]
    n_channels, g = journeys.n_channels, len(rates)
    horizon = HazardHorizon.of(journeys)
    gap = horizon.longest_gap if horizon.longest_gap >= 0 else horizon.longest_untimed_gap
    if horizon_days is not None:
        gap = round(horizon_days * DAY)
    until = horizon.observed_until
    result = Reference(
        np.zeros(1 + n_channels * g),
        [],
        [],
        np.zeros((n_channels, n_channels, len(pair_rates))),
        [],
        [],
        [],
        [],
    )
    for j in range(journeys.n_journeys):
        lo, hi = journeys.offsets[j], journeys.offsets[j + 1]
        if lo == hi:
            continue
        w = float(journeys.weight[j])
        start, end, window, credit_cut, converted, timed = windows(journeys, j, gap, until, guard)
        cut = end - guard
        touches = [(int(journeys.channel[i]), int(journeys.timestamp[i])) for i in range(lo, hi)]
        result.totals[0] += w * (end - start) / DAY
        x, z = np.zeros(1 + n_channels * g), np.zeros(1 + n_channels * g)
        x[0], z[0] = 1.0, (window - start) / DAY
        for c, s in touches:
            for k, r in enumerate(rates):
                column = 1 + c * g + k
                if s < cut:
                    result.totals[column] += w * (1 - math.exp(-r * (cut - s) / DAY))
                    x[column] += r * math.exp(-r * (cut - s) / DAY)
                if s < credit_cut:
                    z[column] += 1 - math.exp(-r * max(window - guard - s, 0) / DAY)
        first: dict[int, int] = {}
        for c, s in touches:
            first.setdefault(c, s)
        x_pair: dict[int, np.ndarray] = {}
        z_pair: dict[int, np.ndarray] = {}
        for a in first:
            for b in first:
                if a >= b:
                    continue
                complete = max(first[a], first[b])
                code = a * n_channels + b
                if complete < cut:
                    for k, r in enumerate(pair_rates):
                        result.pair_totals[a, b, k] += w * (
                            1 - math.exp(-r * (cut - complete) / DAY)
                        )
                if converted and complete < credit_cut:
                    x_pair[code] = np.array(
                        [
                            r * math.exp(-r * (cut - complete) / DAY) if complete < cut else 0.0
                            for r in pair_rates
                        ]
                    )
                    z_pair[code] = np.array(
                        [
                            1 - math.exp(-r * max(window - guard - complete, 0) / DAY)
                            for r in pair_rates
                        ]
                    )
        if converted:
            result.x.append(x)
            result.z.append(z)
            result.x_pair.append(x_pair)
            result.z_pair.append(z_pair)
            result.weight.append(w)
            result.event_weight.append(w if timed else 0.0)
    return result


def dense_rows(s: HazardStatistics) -> tuple[np.ndarray, np.ndarray]:
    rows = np.repeat(np.arange(s.n_converters), np.diff(s.row_pointer))
    x, z = np.zeros((s.n_converters, s.n_columns)), np.zeros((s.n_converters, s.n_columns))
    np.add.at(x, (rows, s.row_column), s.x_values)
    np.add.at(z, (rows, s.row_column), s.z_values)
    return x, z


def pair_rows(s: HazardStatistics, values: np.ndarray) -> list[dict[int, np.ndarray]]:
    return [
        {int(s.pair_code[e]): values[e] for e in range(s.pair_pointer[r], s.pair_pointer[r + 1])}
        for r in range(s.n_converters)
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(("guard_days", "horizon_days"), [(0.0, None), (1.0, None), (1.0, 3.0)])
def test_statistics_match_the_reference(
    seed: int, guard_days: float, horizon_days: float | None
) -> None:
    """A short horizon puts touches of conversions without a time after their window."""
    journeys = random_journeys(seed)
    model = Hazard(
        half_lives=(1.0, 7.0),
        pair_half_lives=(3.0, 20.0),
        guard_days=guard_days,
        horizon_days=horizon_days,
    )
    s = model.statistics(journeys)
    ref = reference(journeys, (1.0, 7.0), (3.0, 20.0), round(guard_days * DAY), horizon_days)
    np.testing.assert_allclose(s.totals, ref.totals, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s.pair_totals, ref.pair_totals, rtol=1e-12, atol=1e-12)
    x, z = dense_rows(s)
    np.testing.assert_allclose(x, np.array(ref.x), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(z, np.array(ref.z), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(s.weight, ref.weight)
    np.testing.assert_array_equal(s.event_weight, ref.event_weight)
    for mine, theirs in (
        (pair_rows(s, s.x_pairs), ref.x_pair),
        (pair_rows(s, s.z_pairs), ref.z_pair),
    ):
        assert [sorted(row) for row in mine] == [sorted(row) for row in theirs]
        for row, other in zip(mine, theirs, strict=True):
            for code, values in row.items():
                np.testing.assert_allclose(values, other[code], rtol=1e-12, atol=1e-14)


def test_passenger_counts_match_the_reference() -> None:
    journeys = random_journeys(4, n=80)
    s = Hazard(guard_days=1.0).statistics(journeys)
    near, before = np.zeros(journeys.n_channels), np.zeros(journeys.n_channels)
    for j in range(journeys.n_journeys):
        timed = journeys.converted_at[j] != np.iinfo(np.int64).min
        if not (journeys.converted[j] and timed):
            continue
        end = int(journeys.converted_at[j])
        for i in range(journeys.offsets[j], journeys.offsets[j + 1]):
            t, c = int(journeys.timestamp[i]), int(journeys.channel[i])
            if end - DAY <= t <= end:
                near[c] += journeys.weight[j]
            elif end - 2 * DAY <= t < end - DAY:
                before[c] += journeys.weight[j]
    np.testing.assert_array_equal(s.near, near)
    np.testing.assert_array_equal(s.before, before)


def fitted_design(seed: int) -> tuple[Design, np.ndarray]:
    """A design with one pair selected and a positive point to evaluate it at."""
    journeys = random_journeys(seed, n=60)
    s = Hazard(half_lives=(1.0, 7.0), pair_half_lives=(3.0, 20.0)).statistics(journeys)
    code = int(np.flatnonzero(np.bincount(s.pair_code, minlength=s.n_channels**2))[0])
    design = Design.of(s, (code,))
    theta = np.random.default_rng(seed).uniform(0.01, 0.2, design.n_columns)
    return design, theta


def dense_design(design: Design) -> np.ndarray:
    """Every converted journey's features in the design's columns, densely."""
    s = design.statistics
    x, _ = dense_rows(s)
    extra = np.zeros((s.n_converters, design.n_columns - s.n_columns))
    for r, row in enumerate(pair_rows(s, s.x_pairs)):
        for k, code in enumerate(design.pairs):
            if code in row:
                extra[r, 2 * k : 2 * k + 2] = row[code]
    return np.hstack([x, extra])


@pytest.mark.parametrize("seed", [5, 6])
def test_likelihood_gradient_and_information(seed: int) -> None:
    design, theta = fitted_design(seed)
    x = dense_design(design)
    w = design.statistics.event_weight
    value, gradient, information = design.terms(theta, np.ones(design.n_columns, bool))
    eta = x @ theta
    assert value == pytest.approx(float(w @ np.log(eta)), rel=1e-13)
    np.testing.assert_allclose(gradient, x.T @ (w / eta), rtol=1e-12)
    np.testing.assert_allclose(information, (x * (w / eta**2)[:, None]).T @ x, rtol=1e-12)
    # Against finite differences of the likelihood and of its gradient.
    for k in range(design.n_columns):
        step = 1e-6 * theta[k]
        up, down = theta.copy(), theta.copy()
        up[k] += step
        down[k] -= step
        f_up, g_up, _ = design.terms(up, None)
        f_down, g_down, _ = design.terms(down, None)
        assert gradient[k] == pytest.approx((f_up - f_down) / (2 * step), rel=1e-6, abs=1e-9)
        np.testing.assert_allclose(
            -information[:, k], (g_up - g_down) / (2 * step), rtol=1e-5, atol=1e-8
        )
    # Information restricted to a mask: the same entries inside it, zero outside.
    mask = np.zeros(design.n_columns, bool)
    mask[::2] = True
    _, _, masked = design.terms(theta, mask)
    np.testing.assert_allclose(masked[np.ix_(mask, mask)], information[np.ix_(mask, mask)])
    assert not masked[~mask].any() and not masked[:, ~mask].any()


def test_serial_and_parallel_kernels_agree_bit_for_bit() -> None:
    design, theta = fitted_design(7)
    rows, mask = design.rows(), np.ones(design.n_columns, bool)
    p = design.n_columns
    out = []
    for kernel in (kernels.log_likelihood, kernels.log_likelihood_parallel):
        partial = (np.zeros(16), np.zeros((16, p)), np.zeros((16, p, p)))
        kernel(rows, theta, mask, design.width, partial)
        out.append(partial)
    for serial, parallel in zip(*out, strict=True):
        np.testing.assert_array_equal(serial, parallel)


def test_pair_scores_match_the_reference() -> None:
    design, theta = fitted_design(8)
    s = design.statistics
    x = dense_design(design)
    w = s.event_weight
    eta = x @ theta
    candidates = [c for c in np.flatnonzero(np.bincount(s.pair_code)) if c not in design.pairs]
    number = np.full(s.n_channels**2, -1, np.int64)
    number[candidates] = np.arange(len(candidates))
    free = np.arange(design.n_columns)
    m, p = len(candidates), design.n_columns
    partial = (
        np.zeros((16, m, 2)),
        np.zeros((16, m, 2, 2)),
        np.zeros((16, m, 2, p)),
        np.zeros((16, p, p)),
    )
    candidate_rows = (s.pair_pointer, s.pair_code, s.x_pairs)
    kernels.pair_scores(design.rows(), candidate_rows, theta, number, free, design.width, partial)
    gain, own, cross = (part.sum(axis=0) for part in partial[:3])
    rows = pair_rows(s, s.x_pairs)
    for k, code in enumerate(candidates):
        xp = np.array([row.get(int(code), np.zeros(2)) for row in rows])
        np.testing.assert_allclose(gain[k], xp.T @ (w / eta), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(own[k], (xp * (w / eta**2)[:, None]).T @ xp, rtol=1e-12)
        np.testing.assert_allclose(
            cross[k], (xp * (w / eta**2)[:, None]).T @ x, rtol=1e-12, atol=1e-15
        )
    information = kernels.symmetrised(partial[3].sum(axis=0))
    np.testing.assert_allclose(information, (x * (w / eta**2)[:, None]).T @ x, rtol=1e-12)


def removal_reference(journeys: Journeys, model: Hazard) -> tuple[np.ndarray, np.ndarray]:
    """Touch credit from the documented formula, journey by journey."""
    s = model.statistics_
    guard = s.settings.guard
    names = model.channel_names_
    pairs = {(names.index(a), names.index(b)): k for k, (a, b, _, _) in enumerate(model.pairs_)}

    def arrived(beta: np.ndarray, rates: np.ndarray, window: int, t: int) -> float:
        tau = max(window - guard - t, 0) / DAY
        return sum(b * (1 - math.exp(-r * tau)) for b, r in zip(beta, rates, strict=True))

    conversions, value = np.zeros(journeys.n_touches), np.zeros(journeys.n_touches)
    for j in range(journeys.n_journeys):
        lo, hi = journeys.offsets[j], journeys.offsets[j + 1]
        if lo == hi or not journeys.converted[j]:
            continue
        start, _, window, credit_cut, _, _ = windows(
            journeys, j, s.horizon, s.observed_until, guard
        )
        channels = [int(c) for c in journeys.channel[lo:hi]]
        times = [int(t) for t in journeys.timestamp[lo:hi]]
        own = [
            arrived(model.coefficients_[c], s.settings.rates, window, t) if t < credit_cut else 0
            for c, t in zip(channels, times, strict=True)
        ]
        whole = model.baseline_ * (window - start) / DAY + sum(own)
        first = {c: channels.index(c) for c in set(channels)}
        for (a, b), k in pairs.items():
            if a in first and b in first:
                complete = max(times[first[a]], times[first[b]])
                if complete < credit_cut:
                    part = arrived(
                        model.pair_coefficients_[k], s.settings.pair_rates, window, complete
                    )
                    own[first[a]] += part
                    own[first[b]] += part
                    whole += part
        for c in set(channels):
            part = sum(o for o, d in zip(own, channels, strict=True) if d == c)
            if part <= 0:
                continue
            q = math.expm1(part) / math.expm1(whole)
            for i in range(hi - lo):
                if channels[i] == c:
                    share = q * own[i] / part
                    conversions[lo + i] = model.scale_conversions_ * journeys.conversions[j] * share
                    value[lo + i] = model.scale_value_ * journeys.value[j] * share
    return conversions, value


@pytest.mark.parametrize("seed", [9, 10])
@pytest.mark.parametrize("horizon_days", [None, 3.0])
def test_touch_credit_matches_the_reference(seed: int, horizon_days: float | None) -> None:
    journeys = random_journeys(seed, n=120)
    model = Hazard(
        half_lives=(1.0, 7.0),
        pair_half_lives=(3.0, 20.0),
        pairs=[("a", "b"), ("c", "d")],
        horizon_days=horizon_days,
    ).fit(journeys)
    assert model.solution_.identified and model.pairs_
    credit = model.credit(journeys)
    conversions, value = removal_reference(journeys, model)
    np.testing.assert_allclose(credit.value, value, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(credit.conversions, conversions, rtol=1e-10, atol=1e-12)
