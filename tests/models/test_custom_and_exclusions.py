"""Custom stage model, last non-direct touch, and exclusions, by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import attribution as at
from attribution.cli.main import main
from attribution.models import CustomStage, LastNonDirect
from tests.builders import J, touches_frame


def credit(frame: pd.DataFrame, models: list, **options: object) -> dict[tuple[str, str], float]:
    loaded_options = {k: options.pop(k) for k in ("milestones",) if k in options}
    result = at.attribute(at.load(frame, **loaded_options), models, by=("channel",), **options)  # type: ignore[arg-type]
    rows = result.credits
    return {
        (m, c): v
        for m, c, v in zip(rows["model"], rows["channel"], rows["credited_value"], strict=True)
        if v
    }


def stage_frame() -> pd.DataFrame:
    # Touches on days 0..4: a, b, c, d, e; MQL on day 1.5 (last touch: b), SQL on day 3 (d).
    frame = touches_frame([J(["a", "b", "c", "d", "e"], value=100)])
    start = frame["timestamp"].min()
    return frame.assign(mql_at=start + pd.Timedelta(days=1.5), sql_at=start + pd.Timedelta(days=3))


def test_custom_stage_by_hand() -> None:
    model = CustomStage(milestones=("mql_at", "sql_at"), weights=(0.3, 0.2, 0.4, 0.1))
    got = credit(stage_frame(), [model], milestones=["mql_at", "sql_at"])
    # FT a 30, MQL b 20, SQL d 40, the rest (c, e) share 10.
    assert got == pytest.approx(
        {("custom_stage", "a"): 30, ("custom_stage", "b"): 20, ("custom_stage", "c"): 5,
         ("custom_stage", "d"): 40, ("custom_stage", "e"): 5}
    )  # fmt: skip


def test_custom_stage_on_the_standard_milestones_is_w_shaped() -> None:
    """Naming lead_created_at and opportunity_created_at as milestones (also at load time,
    as --milestones does) uses the standard columns: with W-shaped's weights it is
    W-shaped."""
    frame = touches_frame(
        [
            J(["a", "b", "c", "d"], value=100, milestones={"lead_created_at": 1.5,
              "opportunity_created_at": 2.5}),
            J(["a", "c"], value=50, milestones={"lead_created_at": 0.5,
              "opportunity_created_at": 1}),
        ]
    )  # fmt: skip
    stages = ("lead_created_at", "opportunity_created_at")
    model = CustomStage(milestones=stages, weights=(0.3, 0.3, 0.3, 0.1))
    got = credit(frame, [model, "w_shaped"], milestones=list(stages))
    custom = {c: v for (m, c), v in got.items() if m == "custom_stage"}
    w_shaped = {c: v for (m, c), v in got.items() if m == "w_shaped"}
    assert custom == pytest.approx(w_shaped) and sum(custom.values()) == pytest.approx(150)


def test_custom_stage_weights_are_checked() -> None:
    frame = stage_frame()
    loaded = at.load(frame, milestones=["mql_at"])
    with pytest.raises(at.ParameterError, match="needs 3 weights"):
        at.attribute(loaded, [CustomStage(milestones=("mql_at",), weights=(0.5, 0.5))])
    with pytest.raises(at.ParameterError, match="sum to 1"):
        at.attribute(loaded, [CustomStage(milestones=("mql_at",), weights=(0.5, 0.5, 0.5))])
    with pytest.raises(at.ParameterError, match="no milestone 'sql_at'"):
        at.attribute(loaded, [CustomStage(milestones=("sql_at",), weights=(0.5, 0.4, 0.1))])
    with pytest.raises(at.InputError, match="no milestone column 'nope'"):
        at.load(frame, milestones=["nope"])
    # Unconfigured, it is not part of "all".
    assert "custom_stage" not in at.attribute(loaded, "all").models


def test_last_non_direct() -> None:
    frame = touches_frame(
        [
            J(["paid_search", "direct"], value=10),
            J(["direct", "direct"], value=4),
            J(["email", "webinar"], value=2),
        ]
    )
    assert credit(frame, [LastNonDirect()]) == pytest.approx(
        {("last_non_direct", "paid_search"): 10, ("last_non_direct", "direct"): 4,
         ("last_non_direct", "webinar"): 2}
    )  # fmt: skip


def test_exclusions_move_share_within_the_journey_and_create_untouched_pipeline() -> None:
    frame = touches_frame([J(["paid_search", "direct"], value=10), J(["direct"], value=6)])
    got = credit(frame, ["linear", "first_touch"], exclude=[("channel", "direct")])
    assert got == pytest.approx(
        {("linear", "paid_search"): 10, ("linear", "(no touch)"): 6,
         ("first_touch", "paid_search"): 10, ("first_touch", "(no touch)"): 6}
    )  # fmt: skip
    result = at.attribute(at.load(frame), ["linear"], exclude=[("channel", "direct")])
    window = result.reconciliation.windows[0]
    assert window.counts.excluded_rows == 2
    assert (window.none_in_window, window.none_in_window_value) == (1, 6)
    assert "touches excluded" in result.reconciliation.to_text()
    with pytest.raises(at.ParameterError, match="no dimension 'source'"):
        at.attribute(at.load(frame), ["linear"], exclude=[("source", "google")])
    none = at.attribute(at.load(frame), ["linear"], exclude=[("channel", "tv")])
    assert none.reconciliation.notes_about(code="exclusion_matches_nothing")


def test_cli_options(tmp_path: Path) -> None:
    stage_frame().to_parquet(tmp_path / "t.parquet")
    out = tmp_path / "c.csv"
    code = main(
        ["run", str(tmp_path / "t.parquet"), "--models", "custom_stage,last_non_direct",
         "--milestones", "mql_at,sql_at", "--milestone-weights", "30,20,40,10",
         "--exclude", "channel=e", "--by", "channel", "--out", str(out), "--quiet"]
    )  # fmt: skip
    assert code == 0
    rows = pd.read_csv(out)
    stage = rows[rows["model"] == "custom_stage"].set_index("channel")["credited_value"]
    # e excluded: the rest (c alone) gets the other 10.
    assert stage.to_dict() == pytest.approx({"a": 30, "b": 20, "c": 10, "d": 40, "e": 0})
