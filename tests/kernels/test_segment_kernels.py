"""Substrate and roll-up kernels against plain-Python references."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.kernels.rollup import mixed_radix, sum_by_group, sum_once_per_journey
from attribution.kernels.segments import (
    codes_used,
    concatenated_ranges,
    constant_per_journey,
    expand_rows,
    increasing_runs,
    recode,
)

touches = st.lists(
    st.tuples(st.integers(0, 4), st.integers(0, 3), st.floats(-10, 10), st.floats(0, 100)),
    min_size=0,
    max_size=40,
)


@settings(max_examples=80, deadline=None)
@given(touches)
def test_sum_by_group(rows: list[tuple[int, int, float, float]]) -> None:
    group = np.array([r[1] for r in rows], np.int64)
    conversions = np.array([r[2] for r in rows], np.float64)
    value = np.array([r[3] for r in rows], np.float64)
    expected_c: dict[int, float] = defaultdict(float)
    expected_v: dict[int, float] = defaultdict(float)
    for _, g, c, v in rows:
        expected_c[g] += c
        expected_v[g] += v
    got_c, got_v = sum_by_group(group, conversions, value, 4)
    np.testing.assert_allclose(got_c, [expected_c[g] for g in range(4)], atol=1e-9)
    np.testing.assert_allclose(got_v, [expected_v[g] for g in range(4)], atol=1e-9)


@settings(max_examples=80, deadline=None)
@given(touches)
def test_sum_once_per_journey(rows: list[tuple[int, int, float, float]]) -> None:
    rows = sorted(rows, key=lambda r: r[0])  # touches grouped by journey
    journeys = [r[0] for r in rows]
    offsets = np.searchsorted(journeys, np.arange(6)).astype(np.int64)
    group = np.array([r[1] for r in rows], np.int64)
    conversions = np.array([r[2] for r in rows], np.float64)
    value = np.array([r[3] for r in rows], np.float64)
    best: dict[tuple[int, int], tuple[float, float]] = {}
    for j, g, c, v in rows:
        old = best.get((j, g), (-np.inf, -np.inf))
        best[(j, g)] = (max(old[0], c), max(old[1], v))
    expected_c = [sum(c for (j, g), (c, _) in best.items() if g == k) for k in range(4)]
    expected_v = [sum(v for (j, g), (_, v) in best.items() if g == k) for k in range(4)]
    got_c, got_v = sum_once_per_journey(group, offsets, conversions, value, 4)
    np.testing.assert_allclose(got_c, expected_c, atol=1e-9)
    np.testing.assert_allclose(got_v, expected_v, atol=1e-9)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 999)), max_size=30))
def test_mixed_radix(pairs: list[tuple[int, int]]) -> None:
    high = np.array([p[0] for p in pairs], np.int64)
    low = np.array([p[1] for p in pairs], np.int32)
    assert mixed_radix(high, low, 1000).tolist() == [h * 1000 + lo for h, lo in pairs]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2), st.booleans()), max_size=30))
def test_constant_per_journey(rows: list[tuple[int, int, bool]]) -> None:
    journey = np.array([r[0] for r in rows], np.int64)
    values = np.array([r[1] for r in rows], np.float64)
    present = np.array([r[2] for r in rows], np.bool_)
    got, seen, conflict = constant_per_journey(journey, values, present, 5)
    for j in range(5):
        given_values = [v for jj, v, p in rows if jj == j and p]
        assert seen[j] == bool(given_values)
        assert conflict[j] == (len(set(given_values)) > 1)
        if given_values:
            assert got[j] == given_values[0]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(-3, 3), max_size=30))
def test_increasing_runs(ids: list[int]) -> None:
    ok, codes, firsts = increasing_runs(np.array(ids, np.int64))
    runs = [v for i, v in enumerate(ids) if i == 0 or v != ids[i - 1]]
    assert ok == all(b > a for a, b in itertools.pairwise(runs))
    if ok:
        assert firsts.tolist() == runs
        assert [runs[c] for c in codes] == ids


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=30), st.permutations(range(6)))
def test_recode(codes: list[int], remap: list[int]) -> None:
    got = recode(np.array(codes, np.int64), np.array(remap, np.int32))
    assert got.dtype == np.int32
    assert got.tolist() == [remap[c] for c in codes]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 6)), max_size=10))
def test_concatenated_ranges(pairs: list[tuple[int, int]]) -> None:
    starts = np.array([p[0] for p in pairs], np.int64)
    ends = starts + np.array([p[1] for p in pairs], np.int64)
    expected = [k for s, e in zip(starts, ends, strict=True) for k in range(s, e)]
    assert concatenated_ranges(starts, ends).tolist() == expected


@settings(max_examples=80, deadline=None)
@given(
    segments=st.lists(st.lists(st.integers(0, 5), max_size=4), min_size=1, max_size=8),
    data=st.data(),
)
def test_expand_rows_and_codes_used(segments: list[list[int]], data: st.DataObject) -> None:
    rows = data.draw(st.lists(st.integers(0, len(segments) - 1), max_size=12))
    remap = np.array(data.draw(st.permutations(range(6))), np.int32)
    offsets = np.concatenate(([0], np.cumsum([len(s) for s in segments]))).astype(np.int64)
    codes = np.array([c for s in segments for c in s], np.int64)
    picked = np.array(rows, np.int64)
    channel, position, row = expand_rows(picked, offsets, codes, remap)
    assert channel.tolist() == [int(remap[c]) for r in rows for c in segments[r]]
    assert position.tolist() == [i for r in rows for i in range(len(segments[r]))]
    assert row.tolist() == [r for r in rows for _ in segments[r]]
    used = codes_used(picked, offsets, codes, 6)
    assert used.tolist() == [any(c in segments[r] for r in rows) for c in range(6)]
