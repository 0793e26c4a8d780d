"""The join kernels against a plain-Python reference, and the mapping's invariant: every
touch is in the journeys of exactly the opportunities whose window holds it, or counted
under exactly one reason."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.crm import build_journeys
from attribution.crm.kernels import count_matches, fill_matches
from attribution.kernels.segments import NO_TIME

DAY = 86_400 * 10**9


def reference(
    group: list[int],
    times: list[int],
    candidates: list[list[tuple[int, int]]],
    lookback: int,
) -> list[list[int]]:
    """For each touch, the candidates (index into the flattened lists) whose window
    [created - lookback, closed] holds it; closed NO_TIME means open, lookback < 0 none."""
    flat_index = 0
    starts = []
    for group_candidates in candidates:
        starts.append(flat_index)
        flat_index += len(group_candidates)
    out = []
    for g, t in zip(group, times, strict=True):
        found = []
        if g >= 0:
            for k, (created, closed) in enumerate(candidates[g]):
                after_start = lookback < 0 or t >= created - lookback
                before_end = closed == NO_TIME or t <= closed
                if after_start and before_end:
                    found.append(starts[g] + k)
        out.append(found)
    return out


windows = st.tuples(st.integers(0, 40), st.one_of(st.none(), st.integers(0, 40)))


@settings(max_examples=200, deadline=None)
@given(
    candidates=st.lists(st.lists(windows, max_size=5), min_size=1, max_size=4),
    touches=st.lists(st.tuples(st.integers(-1, 3), st.integers(0, 60)), max_size=30),
    lookback=st.one_of(st.just(-1), st.integers(0, 20)),
)
def test_kernels_match_the_reference(
    candidates: list[list[tuple[int, int | None]]],
    touches: list[tuple[int, int]],
    lookback: int,
) -> None:
    groups = len(candidates)
    windows_ns = [
        sorted(
            (created * DAY, NO_TIME if length is None else (created + length) * DAY)
            for created, length in group
        )
        for group in candidates
    ]
    group = [g if g < groups else -1 for g, _ in touches]
    times = [day * DAY for _, day in touches]
    lookback_ns = lookback * DAY if lookback >= 0 else -1
    starts = np.cumsum([0] + [len(w) for w in windows_ns]).astype(np.int64)
    created = np.array([c for w in windows_ns for c, _ in w], np.int64)
    closed = np.array([e for w in windows_ns for _, e in w], np.int64)
    group_array, times_array = np.array(group, np.int64), np.array(times, np.int64)
    counts = count_matches(group_array, times_array, starts, created, closed, lookback_ns)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    matched = fill_matches(group_array, times_array, starts, created, closed, lookback_ns, offsets)
    expected = reference(group, times, windows_ns, lookback_ns)
    assert [list(matched[offsets[i] : offsets[i + 1]]) for i in range(len(group))] == expected


START = pd.Timestamp("2025-01-01", tz="UTC")


@st.composite
def crm(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, float | None]:
    n_people = draw(st.integers(1, 6))
    accounts = [draw(st.sampled_from([None, "A", "B", "C"])) for _ in range(n_people)]
    listed = [draw(st.booleans()) or i == 0 for i in range(n_people)]
    contacts = pd.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(n_people) if listed[i]],
            "account_id": [a for a, keep in zip(accounts, listed, strict=True) if keep],
        }
    )
    n_touches = draw(st.integers(1, 25))
    touches = pd.DataFrame(
        {
            "person_id": [f"p{draw(st.integers(0, n_people - 1))}" for _ in range(n_touches)],
            # A distinct second per touch identifies it in the output.
            "timestamp": [
                START + pd.Timedelta(days=draw(st.integers(0, 90)), seconds=i)
                for i in range(n_touches)
            ],
            "channel": "web",
            "cost": [float(draw(st.integers(0, 100))) for _ in range(n_touches)],
        }
    )
    n_opportunities = draw(st.integers(1, 5))
    created = [draw(st.integers(0, 90)) for _ in range(n_opportunities)]
    length = [draw(st.one_of(st.none(), st.integers(0, 40))) for _ in range(n_opportunities)]
    opportunities = pd.DataFrame(
        {
            "opportunity_id": [f"o{i}" for i in range(n_opportunities)],
            "account_id": [draw(st.sampled_from(["A", "B"])) for _ in range(n_opportunities)],
            "created_at": [START + pd.Timedelta(days=c) for c in created],
            "closed_at": [
                pd.NaT if n is None else START + pd.Timedelta(days=c + n, hours=23)
                for c, n in zip(created, length, strict=True)
            ],
            "amount": 1.0,
        }
    )
    lookback = draw(st.one_of(st.none(), st.integers(0, 30).map(float)))
    return touches, contacts, opportunities, lookback


@settings(max_examples=60, deadline=None)
@given(crm())
def test_every_touch_is_mapped_or_has_one_reason(
    case: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, float | None],
) -> None:
    touches, contacts, opportunities, lookback = case
    built = build_journeys(touches, opportunities, contacts=contacts, lookback_days=lookback)
    account_of: dict[str, Any] = dict(
        zip(contacts["person_id"].tolist(), contacts["account_id"].tolist(), strict=True)
    )
    windows: list[tuple[str, Any, pd.Timestamp, pd.Timestamp | None]] = [
        (str(o), a, pd.Timestamp(c), None if pd.isna(e) else pd.Timestamp(e))
        for o, a, c, e in zip(
            opportunities["opportunity_id"].tolist(),
            opportunities["account_id"].tolist(),
            opportunities["created_at"].tolist(),
            opportunities["closed_at"].tolist(),
            strict=True,
        )
    ]
    before = pd.Timedelta(days=lookback) if lookback is not None else None
    expected: Counter[tuple[str, pd.Timestamp]] = Counter()
    in_opportunity = 0
    for person, time in zip(
        touches["person_id"].tolist(), touches["timestamp"].tolist(), strict=True
    ):
        account = account_of.get(person)
        hits = [
            journey
            for journey, opportunity_account, created, closed in windows
            if opportunity_account == account
            and (before is None or time >= created - before)
            and (closed is None or time <= closed)
        ]
        in_opportunity += bool(hits)
        expected.update((journey, pd.Timestamp(time)) for journey in hits)
    frame = built.touches.to_pandas()
    frame = frame[~frame["journey_id"].astype(str).str.startswith("account:")]
    found = Counter(
        (str(j), pd.Timestamp(t))
        for j, t in zip(frame["journey_id"].tolist(), frame["timestamp"].tolist(), strict=True)
    )
    assert found == expected
    # Spend is counted once: copies split their touch's cost (a distinct time per touch).
    output = built.touches.to_pandas()
    used = touches["timestamp"].isin(set(output["timestamp"]))
    assert output["cost"].sum() == pytest.approx(touches["cost"][used].sum(), rel=1e-12)
    recon = built.reconciliation
    assert recon.touches_in_opportunities == in_opportunity
    assert (
        recon.touches_in_opportunities
        + recon.touches_in_non_converting
        + recon.touches_not_in_a_journey
        == len(touches)
    )
    assert recon.journey_touches == sum(k * n for k, n in recon.copies) + (
        recon.touches_in_non_converting
    )
    assert recon.opportunities_with_touches + recon.opportunities_without_touches == len(
        opportunities
    )


@settings(max_examples=40, deadline=None)
@given(crm(), st.data(), st.booleans())
def test_role_mappings_copy_touches_to_the_opportunities_of_their_roles(
    case: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, float | None],
    data: st.DataObject,
    primary_only: bool,
) -> None:
    touches, contacts, opportunities, lookback = case
    people = sorted(set(touches["person_id"]))
    pairs = data.draw(
        st.lists(
            st.tuples(
                st.sampled_from(list(opportunities["opportunity_id"])),
                st.sampled_from(people),
                st.booleans(),
            ),
            max_size=8,
        )
    )
    roles = pd.DataFrame(pairs, columns=["opportunity_id", "person_id", "is_primary"])
    built = build_journeys(
        touches,
        opportunities,
        contacts=contacts,
        contact_roles=roles,
        mapping="primary-contact-role" if primary_only else "contact-role",
        lookback_days=lookback,
    )
    # A repeated (opportunity, person) pair is one role, primary if any row says so.
    qualifying = {(o, p) for o, p, primary in pairs if primary or not primary_only}
    before = pd.Timedelta(days=lookback) if lookback is not None else None
    expected: Counter[tuple[str, pd.Timestamp]] = Counter()
    for person, time in zip(
        touches["person_id"].tolist(), touches["timestamp"].tolist(), strict=True
    ):
        for journey, created, closed in zip(
            opportunities["opportunity_id"].tolist(),
            opportunities["created_at"].tolist(),
            opportunities["closed_at"].tolist(),
            strict=True,
        ):
            if (
                (journey, person) in qualifying
                and (before is None or time >= created - before)
                and (pd.isna(closed) or time <= closed)
            ):
                expected[(str(journey), pd.Timestamp(time))] += 1
    frame = built.touches.to_pandas()
    frame = frame[~frame["journey_id"].astype(str).str.startswith("account:")]
    found = Counter(
        (str(j), pd.Timestamp(t))
        for j, t in zip(frame["journey_id"].tolist(), frame["timestamp"].tolist(), strict=True)
    )
    assert found == expected
    recon = built.reconciliation
    assert (
        recon.touches_in_opportunities
        + recon.touches_in_non_converting
        + recon.touches_not_in_a_journey
        == len(touches)
    )
