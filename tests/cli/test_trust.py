"""The user's files are sacred, every valid input gets an answer, and exit codes mean what
the README says (issue: trust)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from attribution.cli.main import main
from tests.builders import J, touches_frame

JOURNEYS = [
    J(["paid_search", "webinar"], value=100, teams=["marketing", "marketing"]),
    J(["sdr_call"], converted=False, teams=["sdr"]),
    J(["webinar"], value=50, teams=["marketing"]),
]


def run(*args: str | Path) -> int:
    return main([str(a) for a in args])


@pytest.fixture
def data(tmp_path: Path) -> Path:
    frame = touches_frame(JOURNEYS)
    frame.drop(columns=["converted", "value"]).to_csv(tmp_path / "touches.csv", index=False)
    outcomes = frame.groupby("journey_id", as_index=False)[["converted", "value"]].first()
    outcomes.to_csv(tmp_path / "outcomes.csv", index=False)
    (tmp_path / "teams.json").write_text('{"webinar": "marketing"}')
    return tmp_path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


INPUTS = ("touches.csv", "outcomes.csv", "teams.json")
RUN = ("run", "touches.csv", "--outcomes", "outcomes.csv", "--team-map", "teams.json")
OUTPUT_OPTIONS = (
    ("--out", "credits.csv"),
    ("--touch-credits", "touches.csv"),
    ("--reconciliation", "rec.csv"),
    ("--rejects", "rejects.csv"),
    ("--transitions", "transitions.csv"),
    ("--positions", "positions.csv"),
)


def aimed(data: Path, option: str, target: str) -> list[str]:
    """A run whose ``option`` writes to ``target`` (all other outputs elsewhere)."""
    words = [str(data / w) if w.endswith((".csv", ".json")) else w for w in RUN]
    words += [option, str(target)]
    if option != "--out":
        words += ["--out", str(data / "elsewhere.csv")]
    return words


@pytest.mark.parametrize(("option", "_"), OUTPUT_OPTIONS)
@pytest.mark.parametrize("victim", INPUTS)
@pytest.mark.parametrize("how", ["same path", "symlink", "hard link"])
def test_no_output_may_be_an_input(
    data: Path,
    capsys: pytest.CaptureFixture[str],
    option: str,
    _: str,
    victim: str,
    how: str,
) -> None:
    target = data / victim
    if how == "symlink":
        target = data / f"link_to_{victim}.csv"
        target.symlink_to(data / victim)
    elif how == "hard link":
        target = data / f"hard_{victim}.csv"
        os.link(data / victim, target)
    before = snapshot(data)
    assert run(*aimed(data, option, str(target))) == 2
    err = capsys.readouterr().err
    assert "never overwrites what it reads" in err and victim in err and option in err
    assert snapshot(data) == before  # nothing written, not even another output


def test_outputs_may_not_coincide_or_land_in_an_input_folder(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    words = [str(data / w) if w.endswith((".csv", ".json")) else w for w in RUN]
    out = data / "credits.csv"
    assert run(*words, "--out", out, "--reconciliation", out) == 2
    assert "are the same file" in capsys.readouterr().err
    # The per-dimension roll-up beside --out is an output too.
    beside = data / "credits.team.csv"
    assert run(*words, "--out", out, "--by", "channel,team", "--touch-credits", beside) == 2
    assert "are the same file" in capsys.readouterr().err
    folder = data / "dataset"
    folder.mkdir()
    touches_frame(JOURNEYS).to_parquet(folder / "part-0.parquet")
    assert run("run", folder, "--out", folder / "credits.csv") == 2
    assert "inside the input folder" in capsys.readouterr().err
    assert run("run", folder, "--out", folder / "part-0.parquet") == 2
    assert "never overwrites" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["part-0.parquet"]


def test_compare_side_files_are_checked(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth = pd.DataFrame({"channel": ["webinar", "paid_search"], "true_share": [0.6, 0.4]})
    truth.to_csv(data / "truth.csv", index=False)
    before = snapshot(data)
    # cmp.shares.csv would be written beside cmp.csv: aim it at the truth file.
    (data / "cmp.shares.csv").symlink_to(data / "truth.csv")
    code = run(
        "compare", data / "touches.csv", "--outcomes", data / "outcomes.csv",
        "--truth", data / "truth.csv", "--out", data / "cmp.csv",
    )  # fmt: skip
    assert code == 2
    assert "--out (shares)" in capsys.readouterr().err
    assert {k: v for k, v in snapshot(data).items() if k != "cmp.shares.csv"} == before


def test_a_failed_write_leaves_the_previous_file_and_no_partial(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = [str(data / w) if w.endswith((".csv", ".json")) else w for w in RUN]
    out = data / "credits.csv"
    assert run(*words, "--out", out, "--quiet") == 0
    previous = out.read_bytes()

    original: Callable[..., object] = pd.DataFrame.to_csv

    def half_then_fail(self: pd.DataFrame, path: object, *args: object, **kwargs: object) -> None:
        Path(str(path)).write_text("model,chan")  # half a file, then the disk fills up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    assert run(*words, "--out", out, "--quiet") == 2
    monkeypatch.setattr(pd.DataFrame, "to_csv", original)
    assert out.read_bytes() == previous
    assert not [p for p in data.iterdir() if p.name.endswith(".partial")]


def test_the_rejects_file_is_never_stale(data: Path) -> None:
    words = [str(data / w) if w.endswith((".csv", ".json")) else w for w in RUN]
    bad = data / "bad.csv"
    frame = pd.read_csv(data / "touches.csv")
    frame.loc[0, "timestamp"] = "yesterday"
    frame.to_csv(bad, index=False)
    rejects = data / "rejects.csv"
    code = run(
        "run", bad, "--outcomes", data / "outcomes.csv", "--on-invalid", "skip",
        "--rejects", rejects, "--quiet",
    )  # fmt: skip
    assert code == 0
    assert len(pd.read_csv(rejects)) == 3  # the bad row, its journey's touch and outcome
    # A clean run with --rejects rewrites it with its header alone.
    assert run(*words, "--rejects", rejects, "--quiet") == 0
    assert pd.read_csv(rejects).empty
    assert list(pd.read_csv(rejects).columns) == [
        "table",
        "source_file",
        "source_row",
        "journey_id",
        "reason",
    ]


def test_rejects_keep_numbers_as_they_were(data: Path) -> None:
    outcomes = pd.read_csv(data / "outcomes.csv")
    outcomes.loc[0, "value"] = -1
    outcomes.loc[1, "journey_id"] = "=HYPERLINK(1)"
    outcomes.to_csv(data / "outcomes.csv", index=False)
    rejects = data / "rejects.csv"
    code = run(
        "validate", data / "touches.csv", "--outcomes", data / "outcomes.csv",
        "--on-invalid", "skip", "--rejects", rejects, "--untouched", "reject",
    )  # fmt: skip
    assert code == 0
    text = rejects.read_text()
    assert ",-1" in text and "'-1" not in text
    assert "'=HYPERLINK(1)" in text


def test_simulate_no_truth_removes_a_stale_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sim"
    args = ("simulate", "--scenario", "independent", "--journeys", "50", "--out", out)
    assert run(*args) == 0
    assert (out / "truth.parquet").exists()
    assert run(*args, "--no-truth") == 0
    assert not (out / "truth.parquet").exists()
    assert "removed" in capsys.readouterr().err


def test_every_row_invalid_gives_an_empty_answer(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pd.read_csv(data / "touches.csv").assign(channel="")
    frame.to_csv(data / "empty.csv", index=False)
    for command in ("run", "compare"):
        code = run(
            command, data / "empty.csv", "--on-invalid", "skip",
            "--rejects", data / "r.csv", "--models", "linear,markov",
        )  # fmt: skip
        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert "Nothing" in captured.out or "nothing" in captured.out
        assert "Reconciliation" in captured.err
        assert "Traceback" not in captured.err


def test_exit_codes(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    words = [str(data / w) if w.endswith((".csv", ".json")) else w for w in RUN]
    assert run(*words, "--models", " all", "--quiet") == 0
    assert run(*words, "--lookback", "0") == 2
    assert "credits nothing" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:  # argparse refuses it while parsing
        run(*words, "--seed", str(2**63))
    assert exited.value.code == 2
    assert "2^63" in capsys.readouterr().err
    assert run(*words, "--models", "linear", "--half-life", "3") == 2
    assert "not among --models" in capsys.readouterr().err

    def bug(*args: object, **kwargs: object) -> None:
        raise ValueError("an internal check failed")

    monkeypatch.setattr("attribution.engine.attribute", bug)
    assert run(*words) == 3
    err = capsys.readouterr().err
    assert "internal error" in err and "a bug" in err and "Traceback" not in err


def test_import_is_lazy_and_submodules_are_reachable() -> None:
    code = (
        "import sys, attribution\n"
        "heavy = {'numpy', 'pandas', 'scipy', 'networkx', 'numba', 'pyarrow'}\n"
        "assert not heavy & set(sys.modules), heavy & set(sys.modules)\n"
        "sim = attribution.simulate.simulate('independent', journeys=20, seed=1)\n"
        "assert len(sim.outcomes) > 0\n"
        "assert attribution.models.Linear().name == 'linear'\n"
        "import attribution.cli.main\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_report_stays_the_function_after_importing_the_reporting_package() -> None:
    code = (
        "import attribution as at\n"
        "from attribution.reporting import ReportData\n"
        "import attribution.bootstrap, attribution.crm, attribution.dask\n"
        "assert callable(at.report) and at.report.__module__ == 'attribution.reporting.build'\n"
        "assert at.reporting.ReportData is ReportData\n"
        "assert at.bootstrap.Bootstrap and at.crm and at.dask.attribute\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_version_and_help_import_no_numerical_library() -> None:
    code = (
        "import sys\n"
        "from attribution.cli.main import main\n"
        "for argv in (['--version'], ['run', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = {'numpy', 'pandas', 'scipy', 'networkx', 'numba', 'pyarrow'}\n"
        "assert not heavy & set(sys.modules), heavy & set(sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_first_run_says_it_compiles(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from attribution.cli import compile_notice

    class Terminal:
        def isatty(self) -> bool:
            return True

        def write(self, text: str) -> None:
            Terminal.text += text

        def flush(self) -> None:
            pass

        text = ""

    monkeypatch.setattr(sys, "stderr", Terminal())
    monkeypatch.setattr(compile_notice, "kernels_cached", lambda: False)
    compile_notice.announce_compilation(quiet=False)
    assert "compiling kernels, first run only" in Terminal.text
    Terminal.text = ""
    monkeypatch.setattr(compile_notice, "kernels_cached", lambda: True)
    compile_notice.announce_compilation(quiet=False)
    assert Terminal.text == ""
    assert compile_notice.kernels_cached.__module__  # the real check is importable


def test_side_files_of_an_earlier_run_are_named_not_deleted(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    words = [str(data / w) if w.endswith((".csv", ".json")) else w for w in RUN]
    out = data / "c.csv"
    bad = data / "bad.csv"
    frame = pd.read_csv(data / "touches.csv")
    frame.loc[0, "timestamp"] = "yesterday"
    frame.to_csv(bad, index=False)
    code = run(
        "run", bad, "--outcomes", data / "outcomes.csv", "--on-invalid", "skip",
        "--out", out, "--quiet",
    )  # fmt: skip
    assert code == 0
    earlier = {data / "c.rejects.csv", data / "c.channel.csv", data / "c.team.csv"}
    assert all(p.exists() for p in earlier)
    (data / "c.mine.txt").write_text("the user's")  # another extension: not ours to name
    capsys.readouterr()
    reconciliation = data / "rec.csv"
    code = run(*words, "--by", "channel", "--out", out, "--reconciliation", reconciliation)
    assert code == 0
    assert all(p.exists() for p in earlier)  # never deleted: nothing proves they are ours
    err = capsys.readouterr().err
    warning = next(line for line in err.splitlines() if line.startswith("warning:"))
    for path in earlier:
        assert str(path) in warning
    assert "c.mine.txt" not in err and str(out) + "," not in warning
    notes = pd.read_csv(reconciliation)
    (text,) = notes.loc[notes["item"] == "stale_file", "text"]
    assert all(str(path) in text for path in earlier)
    # A run that writes them all again names nothing.
    assert run(*words, "--out", out, "--on-invalid", "skip", "--quiet") == 0
    assert "warning:" not in capsys.readouterr().err


def test_compare_names_side_files_it_does_not_rewrite(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = data / "cmp.csv"
    (data / "cmp.shares.csv").write_text("channel,share\n")
    words = ("compare", data / "touches.csv", "--outcomes", data / "outcomes.csv")
    assert run(*words, "--out", out, "--models", "linear,first_touch", "--quiet") == 0
    assert (data / "cmp.shares.csv").exists()
    assert f"warning: {data / 'cmp.shares.csv'} is not from this run" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--models", "time_decay", "--half-life", "-1"], "error: --half-life must be"),
        (["--models", "hazard", "--hazard-guard-days", "-1"], "error: --hazard-guard-days must"),
        (["--models", "markov", "--markov-order", "0"], "(set by --markov-order)"),
        (
            ["--models", "w_shaped", "--w-weights", "0.5,0.5,0.5,-0.5"],
            "(set by --w-weights)",
        ),
        (["--models", "linear", "--lookback", "-1"], "error: --lookback must be"),
    ],
)
def test_cli_errors_name_the_flag_not_the_parameter(
    data: Path, capsys: pytest.CaptureFixture[str], options: list[str], expected: str
) -> None:
    words = [str(data / w) if w.endswith((".csv", ".json")) else w for w in RUN]
    assert run(*words, *options, "--quiet") == 2
    err = capsys.readouterr().err
    assert expected in err
    for parameter in ("half_life_days", "guard_days", "lookback_days"):
        assert parameter not in err


def test_library_errors_keep_the_parameter_names() -> None:
    import attribution as at
    from tests.builders import load

    with pytest.raises(at.ParameterError, match=r"^half_life_days must be"):
        at.attribute(
            load(JOURNEYS), ["time_decay"], parameters={"time_decay": {"half_life_days": -1}}
        )
