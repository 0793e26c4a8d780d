"""The README's two commands stay true: CI runs exactly the test command, and the main
command's files and options exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from attribution.cli.main import build_parser

ROOT = Path(__file__).resolve().parent.parent


def two_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```\n(.+?)\n```", section)


def test_ci_runs_the_readme_test_command() -> None:
    _, test_command = two_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines
    assert "pytest" in test_command and "pip install -e '.[test]'" in test_command


def test_main_command_uses_the_bundled_fixture() -> None:
    main_command, _ = two_commands()
    run = main_command.split("&& ")[-1]
    words = shlex.split(run)
    assert words[0].endswith("attribution")
    args = build_parser(words[1:]).parse_args(words[1:])
    assert (ROOT / args.input).exists()
    assert (ROOT / args.outcomes).exists()
