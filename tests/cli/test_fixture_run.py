"""The README's main command, end to end on the bundled fixture."""

from __future__ import annotations

import shlex
from pathlib import Path

import pandas as pd
import pytest

from attribution.cli.main import main
from attribution.models.registry import all_models
from tests.test_readme import ROOT, two_commands


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, pd.DataFrame, pd.DataFrame]:
    main_command, _ = two_commands()
    words = shlex.split(main_command.split("&& ")[-1])[1:]
    folder = tmp_path_factory.mktemp("fixture_run")
    out, rec = folder / "credits.csv", folder / "reconciliation.csv"
    args = [str(ROOT / w) if w.startswith("fixtures/") else w for w in words]
    code = main([*args, "--out", str(out), "--reconciliation", str(rec), "--quiet"])
    return code, pd.read_csv(out), pd.read_csv(rec)


def test_every_model_credits_the_fixture(outputs: tuple[int, pd.DataFrame, pd.DataFrame]) -> None:
    code, credits, reconciliation = outputs
    assert code == 0
    assert set(credits["model"]) == set(all_models())
    # Six opportunities were created before any touch: untouched pipeline, its own group.
    assert set(credits["team"]) == {"marketing", "sdr", "sales", "partner", "(no touch)"}
    assert set(credits.loc[credits["team"] == "(no touch)", "channel"]) == {"(no touch)"}
    assert credits["channel"].nunique() == 13
    statuses = reconciliation[reconciliation["item"] == "status"]["text"]
    assert set(statuses) <= {"ok", "not conserving by design"}


def test_credits_reconcile_with_the_fixture(
    outputs: tuple[int, pd.DataFrame, pd.DataFrame],
) -> None:
    _, credits, reconciliation = outputs
    items = reconciliation.set_index(["section", "item"])["value"]
    value_in = items["journeys", "value in"]
    window = "window (no lookback)"
    creditable = items[window, "creditable value (touched)"]
    uncredited = (
        items[window, "untouched value: no touch at all"]
        + items[window, "untouched value: no touch in the window"]
    )
    assert uncredited > 0
    assert value_in == pytest.approx(creditable + uncredited, rel=1e-12)
    outcomes = pd.read_parquet(ROOT / "fixtures" / "outcomes.parquet")
    assert value_in == pytest.approx(outcomes.loc[outcomes["converted"], "value"].sum(), rel=1e-12)
    for model, rows in credits.groupby("model"):
        if model == "influenced":
            continue
        touched = rows[rows["channel"] != "(no touch)"]["credited_value"].sum()
        assert touched == pytest.approx(creditable, rel=1e-9), model
        # Every conserving model's table, untouched group included, adds up to value in.
        assert rows["credited_value"].sum() == pytest.approx(value_in, rel=1e-9), model
        assert rows["share"].sum() == pytest.approx(1.0, rel=1e-9), model
    read = items["input", "touch rows read"]
    assert read == len(pd.read_parquet(ROOT / "fixtures" / "touches.parquet"))
    assert read == (
        items["input", "touch rows rejected"]
        + items[window, "touches after conversion (never credited)"]
        + items[window, "touches outside the lookback window"]
        + items[window, "touches in the credit window"]
    )


def test_fixture_files_exist_where_the_readme_says() -> None:
    main_command, _ = two_commands()
    for word in shlex.split(main_command):
        if word.startswith("fixtures/"):
            assert (Path(ROOT) / word).exists(), word
