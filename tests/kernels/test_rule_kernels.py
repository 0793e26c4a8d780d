"""Each compiled rule kernel against a slow, obviously correct plain-Python reference."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.kernels.rules import (
    first_touch_credit,
    last_at_or_before,
    last_touch_credit,
    linear_credit,
    milestone_credit,
    time_decay_credit,
)
from attribution.kernels.segments import (
    NO_TIME,
    duplicate_touches,
    is_sorted,
    keep_mask_for_window,
    sort_order,
)

DAY = 86_400 * 10**9


@st.composite
def journeys(draw: st.DrawFn) -> dict[str, np.ndarray]:
    lengths = draw(st.lists(st.integers(0, 7), min_size=1, max_size=12))
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    n = int(offsets[-1])
    converted = np.array(
        draw(st.lists(st.booleans(), min_size=len(lengths), max_size=len(lengths)))
    )
    weight = np.array(
        draw(
            st.lists(st.sampled_from([1.0, 2.0, 5.0]), min_size=len(lengths), max_size=len(lengths))
        )
    )
    value = np.array(
        draw(st.lists(st.floats(0, 1e6), min_size=len(lengths), max_size=len(lengths)))
    )
    gaps = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    timestamp = np.zeros(n, np.int64)
    for j in range(len(lengths)):
        t = 0
        for k in range(offsets[j], offsets[j + 1]):
            t += gaps[k] * DAY // 2
            timestamp[k] = t
    return {
        "offsets": offsets,
        "conversions": np.where(converted, weight, 0.0),
        "value": np.where(converted, value, 0.0),
        "timestamp": timestamp,
    }


def reference(data: dict[str, np.ndarray], weights_of: object) -> tuple[np.ndarray, np.ndarray]:
    """Credit from per-journey weight lists given by ``weights_of(j, touches)``."""
    offsets = data["offsets"]
    out_c = np.zeros(int(offsets[-1]))
    out_v = np.zeros(int(offsets[-1]))
    for j in range(len(offsets) - 1):
        touches = list(range(offsets[j], offsets[j + 1]))
        if data["conversions"][j] == 0 or not touches:
            continue
        weights = weights_of(j, touches)  # type: ignore[operator]
        total = sum(weights)
        for k, w in zip(touches, weights, strict=True):
            out_c[k] = w / total * data["conversions"][j]
            out_v[k] = w / total * data["value"][j]
    return out_c, out_v


def close(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> None:
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(journeys())
def test_single_touch_and_linear(data: dict[str, np.ndarray]) -> None:
    args = (data["offsets"], data["conversions"], data["value"])
    close(first_touch_credit(*args), reference(data, lambda j, ts: [1.0] + [0.0] * (len(ts) - 1)))
    close(last_touch_credit(*args), reference(data, lambda j, ts: [0.0] * (len(ts) - 1) + [1.0]))
    close(linear_credit(*args), reference(data, lambda j, ts: [1.0] * len(ts)))


@settings(max_examples=60, deadline=None)
@given(journeys(), st.floats(0.25, 30))
def test_time_decay(data: dict[str, np.ndarray], half_life_days: float) -> None:
    t = data["timestamp"]

    def weights(j: int, touches: list[int]) -> list[float]:
        last = t[touches[-1]]
        return [0.5 ** ((last - t[k]) / (half_life_days * DAY)) for k in touches]

    got = time_decay_credit(
        data["offsets"], data["conversions"], data["value"], t, half_life_days * DAY
    )
    close(got, reference(data, weights))


@st.composite
def milestone_cases(draw: st.DrawFn) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, float]:
    data = draw(journeys())
    n_journeys = len(data["offsets"]) - 1
    lengths = np.diff(data["offsets"])
    n_milestones = draw(st.integers(1, 4))
    positions = np.full((n_milestones, n_journeys), -1, np.int64)
    for m in range(n_milestones):
        for j in range(n_journeys):
            if lengths[j] and draw(st.booleans()):
                positions[m, j] = draw(st.integers(0, int(lengths[j]) - 1))
    raw = draw(st.lists(st.integers(0, 10), min_size=n_milestones + 1, max_size=n_milestones + 1))
    total = sum(raw) or 1
    shares = np.array(raw[:-1], float) / total
    return data, positions, shares, raw[-1] / total


@settings(max_examples=80, deadline=None)
@given(milestone_cases())
def test_milestones(case: tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, float]) -> None:
    data, positions, shares, rest = case

    def weights(j: int, touches: list[int]) -> list[float]:
        got = [0.0] * len(touches)
        holders = set()
        for m in range(len(shares)):
            p = positions[m, j]
            if p >= 0:
                got[p] += shares[m]
                holders.add(p)
        others = [i for i in range(len(touches)) if i not in holders]
        for i in others:
            got[i] += rest / len(others)
        return got if sum(got) > 0 else [1.0] * len(touches)

    got = milestone_credit(
        data["offsets"], data["conversions"], data["value"], positions, shares, rest
    )
    close(got, reference(data, weights))


@settings(max_examples=60, deadline=None)
@given(journeys(), st.data())
def test_last_at_or_before(data: dict[str, np.ndarray], draw: st.DataObject) -> None:
    offsets, t = data["offsets"], data["timestamp"]
    n_journeys = len(offsets) - 1
    times = np.array(
        [
            draw.draw(st.sampled_from([NO_TIME, -DAY, 0, 3 * DAY, 40 * DAY]))
            for _ in range(n_journeys)
        ],
        np.int64,
    )
    expected = []
    for j in range(n_journeys):
        found = -1
        if times[j] != NO_TIME:
            for i, k in enumerate(range(offsets[j], offsets[j + 1])):
                if t[k] <= times[j]:
                    found = i
        expected.append(found)
    assert last_at_or_before(offsets, t, times).tolist() == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 4)), min_size=0, max_size=40))
def test_sort_order_is_a_stable_sort(rows: list[tuple[int, int]]) -> None:
    journey = np.array([r[0] for r in rows], np.int64)
    timestamp = np.array([r[1] for r in rows], np.int64)
    expected = sorted(range(len(rows)), key=lambda i: (rows[i][0], rows[i][1], i))
    assert sort_order(journey, timestamp, 6).tolist() == expected
    assert is_sorted(journey, timestamp) == (expected == list(range(len(rows))))


@settings(max_examples=60, deadline=None)
@given(journeys(), st.data())
def test_window(data: dict[str, np.ndarray], draw: st.DataObject) -> None:
    offsets, t = data["offsets"], data["timestamp"]
    n_journeys = len(offsets) - 1
    cutoff = np.array(
        [draw.draw(st.sampled_from([NO_TIME, 0, 2 * DAY, 10 * DAY])) for _ in range(n_journeys)],
        np.int64,
    )
    lookback = draw.draw(st.sampled_from([-1, 0, DAY, 5 * DAY]))
    keep, reason = keep_mask_for_window(t, offsets, cutoff, lookback)
    for j in range(n_journeys):
        touches = range(offsets[j], offsets[j + 1])
        after = {k for k in touches if cutoff[j] != NO_TIME and t[k] > cutoff[j]}
        kept = [k for k in touches if k not in after]
        last_kept = max((t[k] for k in kept), default=0)
        reference_time = cutoff[j] if cutoff[j] != NO_TIME else last_kept
        outside = {k for k in kept if lookback >= 0 and t[k] < reference_time - lookback}
        for k in touches:
            expected = 1 if k in after else 2 if k in outside else 0
            assert reason[k] == expected
            assert keep[k] == (expected == 0)


def test_window_at_the_ends_of_the_time_range() -> None:
    # Times near both ends of int64 nanoseconds (years 1678 and 2262) and lookbacks up to
    # the whole range: ages are exact, nothing overflows.
    low, high = NO_TIME + 1, np.iinfo(np.int64).max
    timestamp = np.array([low, 0, high - DAY, high], np.int64)
    offsets = np.array([0, 4], np.int64)
    no_cutoff = np.array([NO_TIME], np.int64)
    for lookback, kept in [
        (0, [False, False, False, True]),
        (DAY, [False, False, True, True]),
        (high, [False, True, True, True]),
        (np.iinfo(np.int64).max, [False, True, True, True]),
    ]:
        keep, _ = keep_mask_for_window(timestamp, offsets, no_cutoff, lookback)
        assert keep.tolist() == kept, lookback
    cutoff = np.array([0], np.int64)
    keep, reason = keep_mask_for_window(timestamp, offsets, cutoff, np.iinfo(np.int64).max)
    assert keep.tolist() == [True, True, False, False]
    assert reason.tolist() == [0, 0, 1, 1]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 1)), max_size=6),
        min_size=1,
        max_size=6,
    )
)
def test_duplicate_touches(journeys: list[list[tuple[int, int, int]]]) -> None:
    """Touches are (time, channel, team); sorted by time as in the substrate."""
    journeys = [sorted(j, key=lambda t: t[0]) for j in journeys]
    offsets = np.concatenate(([0], np.cumsum([len(j) for j in journeys]))).astype(np.int64)
    flat = [t for j in journeys for t in j]
    timestamp = np.array([t[0] for t in flat], np.int64)
    channel = np.array([t[1] for t in flat], np.int32)
    team = np.array([t[2] for t in flat], np.int32)
    zeros = np.zeros(len(flat), np.int32)
    expected = sum(len(j) - len(set(j)) for j in journeys)
    assert duplicate_touches(offsets, timestamp, channel, team, zeros, zeros) == expected
