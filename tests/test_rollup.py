"""Roll-up helpers: the groups' table order, shared by every model, rows found by their
labels, and the scorecard sums of partitions merged with their shared untouched tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.passes import _merge_cards
from attribution.rollup import labels_of, sorted_groups
from attribution.run_tables import rows_by_labels
from attribution.scorecards import FEATURES, ScorecardSums


class Names:
    def __init__(self, names: dict[str, tuple[str, ...]]) -> None:
        self._names = names

    def names(self, dimension: str) -> tuple[str, ...]:
        return self._names[dimension]


def test_sorted_groups_are_the_labels_sorted_with_their_key_positions() -> None:
    names = Names({"channel": ("web", "ads", "email"), "team": ("sales", "marketing")})
    keys = np.array([5, 0, 3, 1, 4], np.int64)  # mixed radix: channel * 2 + team
    groups = sorted_groups(keys, names, ("channel", "team"))
    expected = sorted(
        (("web", "ads", "email")[k // 2], ("sales", "marketing")[k % 2], i)
        for i, k in enumerate(keys)
    )
    assert list(groups.labels.itertuples(index=False, name=None)) == [e[:2] for e in expected]
    assert groups.order.tolist() == [e[2] for e in expected]
    labels = labels_of(keys, names, ("channel", "team"))
    pd.testing.assert_frame_equal(labels.iloc[groups.order].reset_index(drop=True), groups.labels)


def test_rows_by_labels_finds_each_row_and_leaves_the_unknown_empty() -> None:
    none = "(no touch)"
    labels = pd.DataFrame({"channel": [none, none], "period": ["2026-Q1", "2026-Q2"]})
    values = np.array([[1.0, 2.0], [3.0, 4.0]])
    wanted = pd.DataFrame({"channel": [none] * 3, "period": ["2026-Q2", "2026-Q3", "2026-Q1"]})
    got = rows_by_labels(wanted, labels, values)
    np.testing.assert_array_equal(got, [[3.0, 4.0], [np.nan, np.nan], [1.0, 2.0]])


def _card(keys: list[int], untouched: pd.DataFrame, scale: float) -> ScorecardSums:
    sums = np.arange(len(keys) * len(FEATURES), dtype=np.float64).reshape(len(keys), -1)
    return ScorecardSums(
        np.array(keys, np.int64), sums * scale, sums[:, 1] * scale, None, untouched
    )


def _untouched(period: str, value: float) -> pd.DataFrame:
    return pd.DataFrame(
        {"channel": ["(no touch)"], "period": [period], **{f: [value] for f in FEATURES}}
    )


def test_merged_cards_equal_merging_each_model_alone_and_share_the_untouched_table() -> None:
    first_u, second_u = _untouched("2026-Q1", 1.0), _untouched("2026-Q2", 2.0)
    other_u = _untouched("2026-Q1", 5.0)  # another window's table
    Cards = dict[tuple[str, tuple[str, ...]], ScorecardSums]
    first: Cards = {("a", ("channel",)): _card([1, 3], first_u, 1.0),
             ("b", ("channel",)): _card([1, 3], first_u, 2.0),
             ("c", ("channel",)): _card([1, 3], other_u, 3.0)}  # fmt: skip
    second: Cards = {("a", ("channel",)): _card([2, 3], second_u, 1.0),
              ("b", ("channel",)): _card([2, 3], second_u, 2.0),
              ("c", ("channel",)): _card([2, 3], second_u, 3.0)}  # fmt: skip
    merged = _merge_cards(first, second)
    for key, card in merged.items():
        alone = first[key].merge(second[key])
        np.testing.assert_array_equal(card.keys, alone.keys)
        np.testing.assert_array_equal(card.sums, alone.sums)
        np.testing.assert_array_equal(card.pipeline, alone.pipeline)
        pd.testing.assert_frame_equal(card.untouched, alone.untouched)
    a, b, c = (merged[(m, ("channel",))].untouched for m in "abc")
    assert a is b and a is not c
