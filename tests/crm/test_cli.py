"""``attribution journeys`` end to end on a tiny folder of CSV exports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from attribution.cli.main import main
from attribution.crm import load_crm
from tests.crm import data


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    folder = tmp_path / "crm"
    folder.mkdir()
    data.touches().to_csv(folder / "touches.csv", index=False)
    data.opportunities().rename(columns={"amount": "Amount"}).to_csv(
        folder / "opportunities.csv", index=False
    )
    data.contacts().to_csv(folder / "contacts.csv", index=False)
    data.contact_roles().to_csv(folder / "contact_roles.csv", index=False)
    return folder


def arguments(folder: Path, *extra: str) -> list[str]:
    return [
        "journeys",
        "--touches",
        str(folder / "touches.csv"),
        "--opportunities",
        str(folder / "opportunities.csv"),
        "--contacts",
        str(folder / "contacts.csv"),
        "--column",
        "opportunities.amount=Amount",
        *extra,
    ]


def test_writes_the_engine_input(
    exports: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(arguments(exports, "--lookback", "30", "--out", str(out)))
    assert code == 0
    stderr = capsys.readouterr().err
    assert "Journeys from CRM exports" in stderr and f"wrote {out / 'touches.parquet'}" in stderr
    touches = pd.read_parquet(out / "touches.parquet")
    outcomes = pd.read_parquet(out / "outcomes.parquet")
    reconciliation = pd.read_csv(out / "reconciliation.csv")
    assert len(touches) == 7 and len(outcomes) == 4
    assert list(reconciliation.columns) == ["section", "item", "value", "text"]
    rows = reconciliation.set_index(["section", "item"])["value"]
    assert rows["input", "touch rows read"] == 9
    assert rows["journeys", "journey touches written"] == 7
    run = main(
        [
            "run",
            str(out / "touches.parquet"),
            "--outcomes",
            str(out / "outcomes.parquet"),
            "--models",
            "linear,w_shaped",
            "--quiet",
            "--out",
            str(tmp_path / "credits.csv"),
        ]
    )
    assert run == 0
    credits = pd.read_csv(tmp_path / "credits.csv")
    linear = credits[credits["model"] == "linear"]["credited_value"].sum()
    assert linear == pytest.approx(180.0)


def test_contact_role_mapping_and_quiet(
    exports: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "roles"
    code = main(
        arguments(
            exports,
            "--contact-roles",
            str(exports / "contact_roles.csv"),
            "--mapping",
            "primary-contact-role",
            "--non-converting",
            "none",
            "--quiet",
            "--out",
            str(out),
        )
    )
    assert code == 0 and capsys.readouterr().err == ""
    outcomes = pd.read_parquet(out / "outcomes.parquet")
    assert outcomes["journey_id"].tolist() == ["o1", "o2", "o3"]


def test_channel_rules_file(exports: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {channel: calls, team: sdr, touch_type: call}\n")
    out = tmp_path / "ruled"
    assert (
        main(arguments(exports, "--channel-rules", str(rules), "--out", str(out), "--quiet")) == 0
    )
    touches = pd.read_parquet(out / "touches.parquet")
    assert set(touches["channel"].astype(str)) == {"calls", "unassigned"}


def test_without_out_only_the_reconciliation(
    exports: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(arguments(exports)) == 0
    assert "touches in 2 opportunities' journeys" in capsys.readouterr().err
    assert not (exports / "touches.parquet").exists()


def test_bad_input_exits_2_with_the_message(
    exports: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opportunities = pd.read_csv(exports / "opportunities.csv")
    opportunities.loc[0, "account_id"] = None
    opportunities.to_csv(exports / "opportunities.csv", index=False)
    assert main(arguments(exports)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert "opportunities.csv: column 'account_id': opportunity has no account" in err
    assert "row 1" in err


def test_bad_rules_file_exits_2(
    exports: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {team: sdr, touch_type: call}\n")
    assert main(arguments(exports, "--channel-rules", str(rules))) == 2
    assert "rule 1: missing 'channel'" in capsys.readouterr().err


def test_bad_column_option_exits_2(exports: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(arguments(exports, "--column", "colour=red")) == 2
    assert "unknown column role(s) colour" in capsys.readouterr().err


def test_load_crm_finds_the_exports(exports: Path) -> None:
    (exports / "opportunities.csv").write_text(
        (exports / "opportunities.csv").read_text().replace("Amount", "amount")
    )
    crm = load_crm(exports, lookback_days=30)
    assert crm.reconciliation.contact_roles_read == 3
    assert crm.touches.num_rows == 7
    (exports / "touches.csv").unlink()
    with pytest.raises(ValueError, match="no touches export"):
        load_crm(exports)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("out", ["exports", "exports/touches.csv"])
def test_out_never_overwrites_or_mixes_with_the_inputs(
    exports: Path, out: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--out`` holding the inputs, or being one of them, is refused before anything is
    written, naming the output and the input."""
    before = _snapshot(exports)
    target = exports if out == "exports" else exports / "touches.csv"
    assert main(arguments(exports, "--out", str(target))) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out ") and "Traceback" not in err
    if out == "exports":
        assert "holds the input" in err and "touches.csv" in err
    else:
        assert "is an existing file" in err and "give a folder" in err
    assert _snapshot(exports) == before


def test_out_file_that_is_an_input_under_another_name(
    exports: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A written file that is an input (here a hard link of it) is refused by
    ``os.path.samefile``, though its path differs."""
    parquet = tmp_path / "touches_export.parquet"
    pd.read_csv(exports / "touches.csv").to_parquet(parquet)
    out = tmp_path / "out"
    out.mkdir()
    (out / "touches.parquet").hardlink_to(parquet)
    before = parquet.read_bytes()
    args = arguments(exports, "--out", str(out))
    args[args.index("--touches") + 1] = str(parquet)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"--out {out / 'touches.parquet'} is the input file {parquet} (--touches)" in err
    assert parquet.read_bytes() == before and sorted(p.name for p in out.iterdir()) == [
        "touches.parquet"
    ]


def test_cli_messages_name_flags(
    exports: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(arguments(exports, "--mapping", "contact-role")) == 2
    err = capsys.readouterr().err
    assert "--mapping contact-role needs --contact-roles FILE" in err and "=)" not in err
    (exports / "contact_roles.csv").unlink()
    assert main(["run", "--crm", str(exports), "--crm-mapping", "contact-role", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "the contact-role mapping needs the contact roles: the CRM folder has no" in err
    no_accounts = arguments(exports)
    at = no_accounts.index("--contacts")
    del no_accounts[at : at + 2]
    assert main(no_accounts) == 2
    err = capsys.readouterr().err
    assert (
        "(give the contacts, or an account column on the touches)" in err
        and "=" not in (err.split("(give")[1])
    )
