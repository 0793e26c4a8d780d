"""The journey substrate: validated on construction, equality, recoding, reweighting."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

import attribution as at
from attribution.journeys import Coding, LabelTables, SubstrateError, _trusted, shared_coding
from attribution.kernels.segments import NO_TIME
from tests.builders import J, load


def small(**changes: Any) -> at.Journeys:
    """Two journeys: a > b (converted, 10) and c (not converted)."""
    base: dict[str, Any] = {
        "offsets": [0, 2, 3],
        "channel": [0, 1, 2],
        "channel_names": ("a", "b", "c"),
        "converted": [True, False],
        "value": [10.0, 0.0],
    }
    base.update(changes)
    return at.Journeys.from_arrays(**base)


def test_from_arrays_fills_the_defaults() -> None:
    journeys = small()
    assert journeys.n_journeys == 2 and journeys.n_touches == 3
    assert journeys.team_names == ("unassigned",) and journeys.team.tolist() == [0, 0, 0]
    assert journeys.campaign_names == ("(none)",)
    assert not journeys.has_times and journeys.timestamp.tolist() == [0, 1, 0]
    assert journeys.weight.tolist() == [1.0, 1.0]
    assert journeys.converted_at.tolist() == [NO_TIME, NO_TIME]
    assert journeys.won.tolist() == [-1, -1]
    assert small(value=None).value.tolist() == [1.0, 0.0]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"offsets": [0, 2, 50]}, "offsets claim 50 touches but the touch arrays hold 3"),
        ({"offsets": [1, 2, 3]}, "offsets must start at 0"),
        ({"offsets": [0, 3, 2]}, "offsets must not decrease"),
        ({"channel": [0, 1, 5]}, r"channel codes must lie in 0\.\.2"),
        ({"channel": [0, -1, 2]}, r"channel codes must lie in 0\.\.2"),
        ({"channel_names": ("a", "a", "c")}, "channel_names repeat a name"),
        ({"converted": [True]}, "converted has 1 values, expected 2"),
        ({"value": [10.0, 5.0]}, "value must be 0 for journeys that did not convert"),
        ({"value": [-1.0, 0.0]}, "value must be >= 0"),
        ({"value": [np.inf, 0.0]}, "value must be finite"),
        ({"weight": [0.0, 1.0]}, "weight must be > 0"),
        ({"won": [2, 0]}, "won must be 1, 0 or -1"),
        ({"timestamp": [5, 4, 0]}, "sorted by time within each journey"),
        ({"team": [0, 0, 1]}, r"team codes must lie in 0\.\.0"),
        ({"cost": [1.0, -2.0, 0.0]}, "cost must be finite and >= 0"),
        ({"cost": [1.0, np.inf, 0.0]}, "cost must be finite and >= 0"),
        (
            {"touch_dimensions": {"region": ([0, 0, 3], ("emea", "na"))}},
            r"region codes must lie in 0\.\.1",
        ),
        ({"journey_dimensions": {"segment": ([0], ("smb",))}}, "segment has 1 values"),
    ],
)
def test_each_malformed_field_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(SubstrateError, match=message):
        small(**changes)


def test_dtypes_are_checked_on_the_raw_constructor() -> None:
    journeys = small()
    with pytest.raises(SubstrateError, match="channel must be a numpy array of int32, not int64"):
        replace(journeys, channel=journeys.channel.astype(np.int64))
    with pytest.raises(SubstrateError, match="converted must be a numpy array of bool"):
        replace(journeys, converted=np.array([1, 0]))
    with pytest.raises(SubstrateError, match=r"defined twice"):
        replace(journeys, touch_dimensions={"channel": Coding(journeys.channel, ("x",))})


def test_equality_compares_every_array() -> None:
    first, second = small(), small()
    assert first == second and first is not second
    assert first != small(value=[11.0, 0.0])
    assert first != small(channel_names=("a", "b", "z"))
    assert first != small(journey_dimensions={"segment": ([0, 0], ("smb",))})
    with pytest.raises(TypeError):
        hash(first)


def test_equality_holds_with_unrecorded_costs() -> None:
    first = small(cost=[1.0, np.nan, 0.0])
    assert first == small(cost=[1.0, np.nan, 0.0])
    assert first != small(cost=[1.0, 2.0, 0.0])
    assert small(journey_id=np.array(["x", "y"], dtype=object)) == small(
        journey_id=np.array(["x", "y"], dtype=object)
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"channel": [0.5, 1.0, 2.0]}, r"channel must hold whole numbers, found 0\.5"),
        ({"channel": [0.0, np.nan, 2.0]}, r"channel must hold whole numbers, found nan"),
        ({"team": [0, 1.5, 0], "team_names": ("x", "y")}, "team must hold whole numbers"),
        ({"offsets": [0, 1.5, 3]}, "offsets must hold whole numbers"),
        ({"channel": ["a", "b", "c"]}, "channel must hold integers, not <U1"),
        ({"channel": [0, 2**40, 1]}, "channel has values outside the range of int32"),
        ({"converted": [1, 5]}, r"converted must be true/false \(or 1/0\), found 5"),
        ({"converted": [0.5, 0]}, "converted must be true/false"),
        ({"converted": ["yes", "no"]}, "converted must hold booleans"),
        ({"won": [1, 2]}, "won must be 1, 0 or -1"),
        ({"journey_id": [1.5, 2.5]}, "journey_id must be a numpy array of integers or text"),
        ({"journey_id": [[1], [2]]}, r"journey_id must be 1-D"),
        ({"journey_id": [1, 2, 3]}, "journey_id has 3 values, expected 2"),
    ],
)
def test_from_arrays_refuses_values_it_would_have_to_change(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(SubstrateError, match=message):
        small(**changes)


def test_from_arrays_takes_whole_floats_and_0_1_flags() -> None:
    journeys = small(channel=[0.0, 1.0, 2.0], converted=[1, 0], offsets=np.array([0.0, 2, 3]))
    assert journeys == small()


def test_the_validated_arrays_are_read_only() -> None:
    channel = np.array([0, 1, 2], dtype=np.int32)
    journeys = small(channel=channel)
    with pytest.raises(ValueError, match="read-only"):
        journeys.channel[0] = 40
    with pytest.raises(ValueError, match="read-only"):
        journeys.value[0] = 1e9
    derived = journeys.subset(np.array([0]))
    with pytest.raises(ValueError, match="read-only"):
        derived.offsets[1] = 5
    coded = small(journey_dimensions={"segment": ([0, 0], ("smb",))})
    with pytest.raises(ValueError, match="read-only"):
        coded.journey_dimensions["segment"].codes[0] = 3
    channel[0] = 1  # the caller's own array is left writable
    assert channel.flags.writeable


def test_an_inconsistent_substrate_never_reaches_a_kernel() -> None:
    # Offsets claiming 50 touches on a 3-touch table used to give 50 credits silently.
    with pytest.raises(SubstrateError):
        small(offsets=[0, 2, 50])


def test_skipping_validation_in_one_thread_never_switches_it_off_in_another() -> None:
    journeys = load([J(["a", "b"]), J(["c"], converted=False), J(["b"])]).journeys
    holding = threading.Event()
    order: list[str] = []

    def derive(name: str, enter: threading.Event, leave: threading.Event) -> None:
        # Two derivations interleaved as A enters, B enters, A leaves, B leaves: with a
        # process-wide flag, B restored A's "trusted" on leaving and it stayed on.
        with _trusted():
            order.append(f"{name} in")
            enter.set()
            leave.wait(5)
            journeys.subset(np.array([0, 2]))
        order.append(f"{name} out")

    a_in, b_in, a_may_leave, b_may_leave = (threading.Event() for _ in range(4))
    a = threading.Thread(target=derive, args=("a", a_in, a_may_leave))
    b = threading.Thread(target=derive, args=("b", b_in, b_may_leave))
    a.start()
    a_in.wait(5)
    b.start()
    b_in.wait(5)

    def check_while_others_derive() -> None:
        # Another thread validates while both are inside their derivations.
        with pytest.raises(SubstrateError, match="channel must be a numpy array of int32"):
            replace(journeys, channel=journeys.channel.astype(np.int64))
        holding.set()

    checker = threading.Thread(target=check_while_others_derive)
    checker.start()
    checker.join(5)
    assert holding.is_set()
    a_may_leave.set()
    a.join(5)
    b_may_leave.set()
    b.join(5)
    assert order == ["a in", "b in", "a out", "b out"]
    with pytest.raises(SubstrateError, match="channel must be a numpy array of int32"):
        replace(journeys, channel=journeys.channel.astype(np.int64))


def test_recoded_to_a_larger_coding_keeps_every_label() -> None:
    journeys = small()
    recoded = journeys.recoded(channel_names=("0", "a", "b", "c", "d"))
    assert recoded.channel_names == ("0", "a", "b", "c", "d")
    names = np.asarray(recoded.channel_names)[recoded.channel]
    assert names.tolist() == ["a", "b", "c"]
    with pytest.raises(ValueError, match="lacks 1 label"):
        journeys.recoded(channel_names=("a", "b"))


def test_shared_coding_of_partitions_loaded_apart() -> None:
    first = load([J(["b", "a"]), J(["a"], converted=False)]).journeys
    second = load([J(["c", "b"], value=3)]).journeys
    assert first.channel_names == ("a", "b") and second.channel_names == ("b", "c")
    one, two = shared_coding([first, second])
    assert one.channel_names == two.channel_names == ("a", "b", "c")
    whole = load([J(["b", "a"]), J(["a"], converted=False), J(["c", "b"], value=3)]).journeys
    assert LabelTables.of(one).merge(LabelTables.of(two)) == LabelTables.of(whole)


def test_reweighted_is_duplication() -> None:
    journeys = load([J(["a", "b"], value=10), J(["b"], value=4), J(["c"], converted=False)])
    twice = journeys.journeys.reweighted(np.array([2.0, 0.0, 3.0]))
    assert twice.n_journeys == 2  # a record drawn 0 times stands for no journey
    assert twice.weight.tolist() == [2.0, 3.0]
    assert twice.value.tolist() == [20.0, 0.0]
    with pytest.raises(ValueError, match="one value per journey record"):
        journeys.journeys.reweighted(np.ones(2))


def test_extra_dimensions_are_carried_through_windows_and_subsets() -> None:
    journeys = small(
        timestamp=[0, 5, 0],
        touch_dimensions={"region": ([0, 1, 1], ("emea", "na"))},
        journey_dimensions={"segment": ([1, 0], ("mid", "smb"))},
    )
    assert journeys.dimensions[-2:] == ("region", "segment")
    assert journeys.level("region") == "touch" and journeys.level("segment") == "journey"
    assert journeys.codes("segment").tolist() == [1, 1, 0]
    part = journeys.subset(np.array([0]))
    assert part.codes("region").tolist() == [0, 1] and part.codes("segment").tolist() == [1, 1]
    kept = journeys.keep_touches(np.array([False, True, True]))
    assert kept.codes("region").tolist() == [1, 1]
    assert kept.journey_dimensions["segment"].codes.tolist() == [1, 0]
