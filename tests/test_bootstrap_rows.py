"""Bootstrap intervals attach to the right rows: with every replicate drawing the same
weights, each interval collapses to the value of a plain run on the journeys duplicated
by those weights, for every row of every roll-up and scorecard (untouched groups of a
journey-level dimension, path tables and data-driven models included)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

import attribution as at
from attribution.bootstrap import Bootstrap, journey_keys
from tests.builders import J, touches_frame

MODELS = ["linear", "first_touch", "markov", "sourced", "influenced"]

JOURNEYS = [
    J(["a", "b"], value=100, days=[0, 1], milestones={"converted_at": 2, "closed_at": 30}),
    J(["b"], converted=False, days=[1]),
    J(["a"], value=30, days=[5], milestones={"converted_at": 4}),  # none in the window
    J(["b", "a", "b"], value=50, days=[0, 3, 4], milestones={"converted_at": 6}),
    J(["a"], converted=False, days=[2]),
    J(["b", "b"], value=20, days=[1, 2], milestones={"converted_at": 3, "closed_at": 9}),
]
SEGMENTS = ["Ent", "SMB", "Ent", "Ent", "SMB", "SMB", "Ent", "SMB"]
#: Journey weights of the test's replicates (0 drops a journey).
WEIGHTS = np.array([2, 1, 3, 0, 1, 2, 1, 2])


def tables(weights: np.ndarray | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Touches and outcomes (a journey-level ``segment``; two opportunities without a
    touch), each journey repeated ``weights`` times under new ids."""
    frame = touches_frame(JOURNEYS)
    touches = frame[["journey_id", "timestamp", "channel"]]
    outcomes = frame.groupby("journey_id", as_index=False)[
        ["converted", "value", "converted_at", "closed_at"]
    ].first()
    outcomes["won"] = outcomes["closed_at"].notna()
    extra = pd.DataFrame(
        {
            "journey_id": ["untouched_ent", "untouched_smb"],
            "converted": [True, True],
            "value": [70.0, 40.0],
            "converted_at": pd.to_datetime(pd.Series(["2024-02-01", "2024-02-02"]), utc=True),
        }
    )
    outcomes = pd.concat([outcomes, extra], ignore_index=True)
    outcomes["segment"] = SEGMENTS
    if weights is None:
        return touches, outcomes
    copies_t, copies_o = [], []
    for journey, weight in zip(outcomes["journey_id"], weights, strict=True):
        for copy in range(int(weight)):
            new = f"{journey}_{copy}"
            copies_t.append(touches[touches["journey_id"] == journey].assign(journey_id=new))
            copies_o.append(outcomes[outcomes["journey_id"] == journey].assign(journey_id=new))
    return pd.concat(copies_t, ignore_index=True), pd.concat(copies_o, ignore_index=True)


@dataclass(frozen=True)
class SameWeights(Bootstrap):
    """Every replicate gives each record the weight of ``by_key`` (by journey key)."""

    by_key: dict[int, float] = field(default_factory=dict)

    def multipliers(self, keys: np.ndarray, lam: np.ndarray, first: int, count: int) -> np.ndarray:
        weights = np.array([self.by_key[int(k)] for k in keys], dtype=np.float64)
        return np.repeat((weights / lam)[:, None], count, axis=1)


def weights_by_key(loaded: at.Loaded, weight_of: dict[str, float]) -> dict[int, float]:
    journeys = loaded.journeys
    keys = journey_keys(journeys)
    return {int(k): weight_of[str(j)] for k, j in zip(keys, journeys.journey_id, strict=True)}


def assert_intervals_are_the_plain_values(
    boot: pd.DataFrame, plain: pd.DataFrame, columns: list[str], suffixes: tuple[str, str]
) -> None:
    assert len(boot) == len(plain)
    for column in columns:
        expected = plain[column].to_numpy(dtype=np.float64)
        for suffix in suffixes:
            got = boot[f"{column}{suffix}"].to_numpy(dtype=np.float64)
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9, err_msg=column)


def run(loaded: at.Loaded, **options: object) -> at.AttributionResult:
    return at.attribute(
        loaded,
        MODELS,
        by=("segment",),
        also_by=(("channel",), ("channel", "segment")),
        scorecard=True,
        **options,  # type: ignore[arg-type]
    )


def test_intervals_of_a_journey_level_rollup_with_untouched_pipeline() -> None:
    touches, outcomes = tables()
    loaded = at.load(touches, outcomes, dimensions=["segment"])
    weights = dict(zip(outcomes["journey_id"], WEIGHTS, strict=True))
    boot = SameWeights(2, by_key=weights_by_key(loaded, weights))
    result = run(loaded, bootstrap=boot)
    plain = run(at.load(*tables(WEIGHTS), dimensions=["segment"]))
    unweighted = run(loaded)
    assert result.scorecards is not None and plain.scorecards is not None
    for dims, frame in result.rollups.items():
        # The point estimates are the data's (rows neither repeated nor moved) ...
        pd.testing.assert_frame_equal(
            frame[unweighted.rollups[dims].columns], unweighted.rollups[dims]
        )
        # ... and each row's interval is its own replicate's value.
        expected = plain.rollups[dims]
        pd.testing.assert_frame_equal(frame[expected.columns[:2]], expected[expected.columns[:2]])
        assert_intervals_are_the_plain_values(
            frame, expected, ["credited_value"], ("_low", "_high")
        )
        np.testing.assert_allclose(frame["credited_value_se"], 0.0, atol=1e-9)
    untouched = result.rollups[("segment",)].query("model == 'linear'")
    # Ent and SMB touched, and one (no touch) row for the untouched pipeline of both.
    assert list(untouched["segment"]) == ["Ent", "SMB", "(no touch)"]
    for dims, card in result.scorecards.items():
        expected = plain.scorecards[dims]
        assert_intervals_are_the_plain_values(
            card, expected, ["opportunities", "pipeline", "won", "cycle_days"], ("_low", "_high")
        )


def test_path_table_scorecard_with_bootstrap_and_a_data_driven_model() -> None:
    def table(scale: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "path": ["email > paid", "paid > web", "email", "web > email > paid"],
                "total_conversions": np.array([10, 4, 2, 5]) * scale[:4],
                "total_conversion_value": np.array([1000.0, 400, 100, 800]) * scale[:4],
                "total_null": np.array([5, 8, 3, 2]) * scale[4:],
            }
        )

    # Rows' conversions and nulls are records of their own: a weight each (0 drops one).
    scale = np.array([2, 0, 1, 3, 1, 2, 0, 1])
    loaded = at.load(table(np.ones(8, np.int64)), paths=True)
    journeys = loaded.journeys
    lookup = {
        (path, True): scale[i] for i, path in enumerate(table(np.ones(8, np.int64))["path"])
    } | {(path, False): scale[4 + i] for i, path in enumerate(table(np.ones(8))["path"])}
    names = journeys.channel_names
    by_key = {}
    for j, key in enumerate(journey_keys(journeys)):
        path = " > ".join(
            names[c] for c in journeys.channel[journeys.offsets[j] : journeys.offsets[j + 1]]
        )
        # A record standing for n journeys draws n times its scale.
        by_key[int(key)] = float(lookup[(path, bool(journeys.converted[j]))] * journeys.weight[j])
    boot = SameWeights(2, by_key=by_key)
    models = ["linear", "markov", "presence"]
    result = at.attribute(loaded, models, by=("channel",), scorecard=True, bootstrap=boot)
    plain = at.attribute(at.load(table(scale), paths=True), models, by=("channel",), scorecard=True)
    assert result.scorecards is not None and plain.scorecards is not None
    assert_intervals_are_the_plain_values(
        result.credits, plain.credits, ["credited_value"], ("_low", "_high")
    )
    assert_intervals_are_the_plain_values(
        result.scorecards[("channel",)],
        plain.scorecards[("channel",)],
        ["opportunities", "pipeline"],
        ("_low", "_high"),
    )


def test_scorecard_and_bootstrap_together_on_random_weights() -> None:
    touches, outcomes = tables()
    loaded = at.load(touches, outcomes, dimensions=["segment"])
    result = run(loaded, bootstrap=Bootstrap(5, seed=1))
    unweighted = run(loaded)
    assert result.scorecards is not None and unweighted.scorecards is not None
    for dims, card in unweighted.scorecards.items():
        got = result.scorecards[dims]
        pd.testing.assert_frame_equal(got[card.columns], card)
        rows = got.dropna(subset=["pipeline_low"])
        assert (rows["pipeline_low"] <= rows["pipeline_high"]).all()


def test_scorecard_intervals_by_period_with_untouched_leads() -> None:
    # Found merging: by period, leads with no touch make untouched groups of their own
    # (no untouched pipeline there, so no replicate sums), which shifted the untouched
    # rows' positions. With every replicate equal to the data, each row with pipeline
    # has the interval [value, value], and no row has another's.
    from tests.dask.data import sample

    touches, outcomes = sample(journeys=60, untouched=3)
    loaded = at.load(touches, outcomes, dimensions=["segment"])
    ones = {int(k): 1.0 for k in journey_keys(loaded.journeys)}
    result = at.attribute(
        loaded, ["linear", "sourced"], by=("channel",), also_by=(("segment",),),
        period="quarter", scorecard=True, bootstrap=SameWeights(3, by_key=ones),
    )  # fmt: skip
    assert result.scorecards is not None
    for card in result.scorecards.values():
        with_pipeline = card["pipeline"].fillna(0) > 0
        assert card.loc[with_pipeline, "pipeline_low"].notna().all()
        for column in ("opportunities", "pipeline"):
            rows = card[f"{column}_low"].notna()
            np.testing.assert_allclose(card.loc[rows, f"{column}_low"], card.loc[rows, column])
            np.testing.assert_allclose(card.loc[rows, f"{column}_high"], card.loc[rows, column])
