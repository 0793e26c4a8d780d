"""Comparison metrics on hand-made share vectors, and the comparison tables."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

import attribution as at
from attribution.compare import (
    AGREEMENT_COLUMNS,
    ERROR_COLUMNS,
    SHARE_COLUMNS,
    check_truth,
    compare,
    rank_correlation,
    read_truth,
    total_variation_distance,
)
from attribution.errors import InputError
from attribution.models.registry import all_models
from attribution.simulate import simulate
from tests.builders import J, load


def test_total_variation_distance_by_hand() -> None:
    assert total_variation_distance([0.5, 0.5, 0.0], [0.0, 0.5, 0.5]) == pytest.approx(0.5)
    assert total_variation_distance([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0
    assert total_variation_distance([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)
    # Signed shares (a negative credit): half the L1 distance, here above 1.
    assert total_variation_distance([1.2, -0.2], [0.0, 1.0]) == pytest.approx(1.2)
    assert math.isnan(total_variation_distance([math.nan, 1.0], [0.5, 0.5]))
    with pytest.raises(ValueError, match="differ in length"):
        total_variation_distance([1.0], [0.5, 0.5])


def test_rank_correlation_by_hand() -> None:
    assert rank_correlation([0.1, 0.2, 0.7], [0.2, 0.3, 0.5]) == pytest.approx(1.0)
    assert rank_correlation([0.1, 0.2, 0.7], [0.5, 0.3, 0.2]) == pytest.approx(-1.0)
    # Ties take their average rank: ranks (1.5, 1.5, 3) against (1, 2, 3), centred
    # (-0.5, -0.5, 1) and (-1, 0, 1): 1.5 / sqrt(1.5 * 2).
    assert rank_correlation([0.1, 0.1, 0.8], [0.2, 0.3, 0.5]) == pytest.approx(1.5 / math.sqrt(3))
    # Four channels: ranks (4, 3, 1.5, 1.5) and (4, 3, 1, 2): 4.5 / sqrt(4.5 * 5).
    assert rank_correlation([0.6, 0.4, 0.0, 0.0], [0.5, 0.3, 0.0, 0.2]) == pytest.approx(
        4.5 / math.sqrt(22.5)
    )


def test_rank_correlation_is_undefined_for_constant_or_short_vectors() -> None:
    assert math.isnan(rank_correlation([0.25] * 4, [0.1, 0.2, 0.3, 0.4]))
    assert math.isnan(rank_correlation([0.1, 0.2, 0.3, 0.4], [0.0] * 4))
    assert math.isnan(rank_correlation([1.0], [1.0]))


def _credits(rows: dict[str, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"model": model, "channel": channel, "credited_value": value}
            for model, values in rows.items()
            for channel, value in values.items()
        ]
    )


def test_compare_against_truth_with_mismatched_channels() -> None:
    credits = _credits({"a": {"ch1": 60, "ch2": 40}, "b": {"ch1": 20, "ch2": 20, "ch3": 60}})
    truth = pd.DataFrame({"channel": ["ch1", "ch2", "ch4"], "true_value": [50.0, 30.0, 20.0]})
    result = compare(credits, truth)
    assert result.errors is not None
    errors = result.errors.set_index("model")
    # Over ch1..ch4: a = (.6, .4, 0, 0), b = (.2, .2, .6, 0), truth = (.5, .3, 0, .2).
    assert errors.loc["a", "share_error_tvd"] == pytest.approx(0.2)
    assert errors.loc["b", "share_error_tvd"] == pytest.approx(0.6)
    assert errors.loc["a", "rank_correlation"] == pytest.approx(4.5 / math.sqrt(22.5))
    assert list(result.errors.columns) == list(ERROR_COLUMNS)
    assert list(result.agreement.columns) == list(AGREEMENT_COLUMNS)
    assert result.agreement.iloc[0].tolist() == ["a", "b", pytest.approx(0.6)]
    shares = result.shares.set_index(["model", "channel"])
    assert shares.loc[("a", "ch4"), "share"] == 0.0
    assert shares.loc[("b", "ch3"), "true_share"] == 0.0
    assert shares.loc[("a", "ch1"), "true_value"] == 50.0
    assert any("ch4 are in the truth but credited by no model" in n for n in result.notes)
    assert any("ch3 are in the data but not in the truth" in n for n in result.notes)


def test_compare_without_truth() -> None:
    result = compare(_credits({"a": {"x": 3, "y": 1}, "b": {"x": 1, "y": 1}}))
    assert result.errors is None
    assert result.agreement["tvd"].tolist() == [pytest.approx(0.25)]
    assert result.share_matrix().loc["x"].tolist() == [0.75, 0.5]
    assert "Error against the truth" not in result.to_text()


def test_negative_credit_keeps_its_sign_and_undefined_totals_give_nan() -> None:
    credits = _credits({"signed": {"x": 120, "y": -20}, "empty": {"x": 0, "y": 0}})
    truth = pd.DataFrame({"channel": ["x", "y"], "true_share": [0.5, 0.5]})
    result = compare(credits, truth)
    assert result.errors is not None
    errors = result.errors.set_index("model")
    assert errors.loc["signed", "share_error_tvd"] == pytest.approx(0.7)
    assert math.isnan(errors.loc["signed", "rank_correlation"]), "the truth is constant"
    assert math.isnan(errors.loc["empty", "share_error_tvd"])
    assert math.isnan(errors.loc["empty", "rank_correlation"])
    assert any("signed gives negative credit to y" in n for n in result.notes)
    assert any("empty credits no positive total" in n for n in result.notes)


def test_compare_on_engine_output() -> None:
    loaded = load([J(["a", "b"], value=10.0), J(["a"], value=10.0), J(["b"], converted=False)])
    result = at.attribute(loaded, ["first_touch", "last_touch"], by=["channel"])
    truth = pd.DataFrame({"channel": ["a", "b"], "true_share": [0.5, 0.5]})
    comparison = compare(result.credits, truth)
    assert comparison.errors is not None
    errors = comparison.errors.set_index("model")["share_error_tvd"]
    # First touch: a = 1, b = 0; last touch: a = .5, b = .5.
    assert errors.to_dict() == {"first_touch": pytest.approx(0.5), "last_touch": pytest.approx(0.0)}
    text = comparison.to_text()
    assert "Share of credited value by channel (%)" in text
    assert "Agreement between models" in text and "Error against the truth" in text


def test_every_registered_model_is_compared() -> None:
    sim = simulate("b2b", journeys=400, seed=2)
    result = at.attribute(sim.load(), "all", by=["channel"])
    assert sim.truth is not None
    comparison = compare(result.credits, sim.truth)
    assert comparison.errors is not None
    assert comparison.errors["model"].tolist() == list(all_models())
    assert len(comparison.agreement) == len(all_models()) * (len(all_models()) - 1) // 2


def test_write_puts_tables_beside_each_other(tmp_path: Path) -> None:
    credits = _credits({"a": {"x": 3, "y": 1}, "b": {"x": 1, "y": 1}})
    truth = pd.DataFrame({"channel": ["x", "y"], "true_share": [0.5, 0.5]})
    written = compare(credits, truth).write(tmp_path / "cmp.json")
    assert [p.name for p in written] == ["cmp.json", "cmp.shares.json", "cmp.agreement.json"]
    errors = json.loads((tmp_path / "cmp.json").read_text())
    assert [row["model"] for row in errors] == ["a", "b"]
    assert set(errors[0]) == set(ERROR_COLUMNS)
    written = compare(credits).write(tmp_path / "plain.csv")
    assert [p.name for p in written] == ["plain.csv", "plain.agreement.csv"]
    assert list(pd.read_csv(written[0]).columns) == list(SHARE_COLUMNS)
    with pytest.raises(ValueError, match="cannot tell the output format"):
        compare(credits).write(tmp_path / "out.xlsx")


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"name": ["x"], "true_share": [1.0]}), "needs a 'channel' column"),
        (pd.DataFrame({"channel": ["x"], "share": [1.0]}), "'true_share' or 'true_value'"),
        (pd.DataFrame({"channel": ["x", "x"], "true_share": [0.5, 0.5]}), "repeat in the truth"),
        (pd.DataFrame({"channel": ["x", "y"], "true_share": [0.5, math.inf]}), "not a finite"),
        (pd.DataFrame({"channel": ["x", "y"], "true_value": [0.0, 0.0]}), "must be positive"),
        (pd.DataFrame({"channel": ["x", None], "true_value": [1.0, 1.0]}), "empty channel"),
    ],
)
def test_invalid_truth_is_refused(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_truth(frame)


def test_read_truth(tmp_path: Path) -> None:
    frame = pd.DataFrame({"channel": ["x", "y"], "true_share": [0.25, 0.75]})
    frame.to_csv(tmp_path / "truth.csv", index=False)
    assert read_truth(tmp_path / "truth.csv")["true_share"].tolist() == [0.25, 0.75]
    with pytest.raises(InputError, match="truth file not found"):
        read_truth(tmp_path / "missing.parquet")
    with pytest.raises(InputError, match="cannot tell the truth's format"):
        read_truth(tmp_path / "truth.txt")
    (tmp_path / "broken.parquet").write_text("not parquet")
    with pytest.raises(InputError, match="cannot read the truth"):
        read_truth(tmp_path / "broken.parquet")


def test_truth_csv_keeps_channel_names_as_text(tmp_path: Path) -> None:
    from attribution.compare import read_truth

    (tmp_path / "truth.csv").write_text("channel,true_share\n001,0.25\n010,0.75\n")
    assert read_truth(tmp_path / "truth.csv")["channel"].tolist() == ["001", "010"]


def test_truth_without_a_common_channel_is_an_error() -> None:
    credits = pd.DataFrame({"model": ["m"], "channel": ["a"], "credited_value": [1.0]})
    truth = pd.DataFrame({"channel": ["z"], "true_share": [1.0]})
    with pytest.raises(InputError, match="shares no channel"):
        compare(credits, truth)
