"""Input options shared by every subcommand that reads journeys, and loading from them.

Heavy libraries are imported inside the functions, so building the parser (``--help``,
``--version``) stays fast.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from attribution.columns import DEFAULT_SEPARATOR, ColumnMap
from attribution.errors import InputError, ParameterError, Problem
from attribution.labels import CORE_DIMENSIONS

if TYPE_CHECKING:
    from attribution.io.intake import Loaded

ON_INVALID = ("fail", "skip")
UNTOUCHED = ("accept", "reject")


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "input",
        metavar="INPUT",
        nargs="?",
        help="touch table: a parquet or CSV file (.csv.gz too), or a folder of them "
        "(with --paths: an aggregated path table); not with --crm",
    )
    parser.add_argument(
        "--crm",
        metavar="DIR",
        help="build the journeys from CRM exports in DIR (touches, opportunities, and "
        "optional contacts, contact_roles, channel_rules.yaml; see 'attribution journeys') "
        "instead of reading INPUT",
    )
    parser.add_argument(
        "--crm-mapping",
        choices=("account", "contact-role", "primary-contact-role"),
        default="account",
        help="with --crm: which people's touches join an opportunity (default account)",
    )
    parser.add_argument("--outcomes", metavar="FILE", help="outcomes table keyed by journey_id")
    parser.add_argument(
        "--paths",
        action="store_true",
        help="INPUT is an aggregated path table (path, total_conversions, total_null, "
        "optional total_conversion_value)",
    )
    parser.add_argument(
        "--separator",
        default=DEFAULT_SEPARATOR,
        metavar="STR",
        help=f"channel separator in paths (default {DEFAULT_SEPARATOR!r})",
    )
    parser.add_argument(
        "--value-column", metavar="NAME", help="column holding the value (default 'value')"
    )
    parser.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="ROLE=NAME",
        help="read column NAME for ROLE, e.g. --column journey_id=opportunity_id (repeatable); "
        "with --crm, a column of the CRM exports: ROLE=NAME or TABLE.ROLE=NAME as in "
        "'attribution journeys' (e.g. --column opportunities.amount=Amount)",
    )
    parser.add_argument(
        "--team-map",
        metavar="FILE",
        help="channel-to-team mapping (CSV with columns channel,team, or a JSON object) for "
        "touches without a team; a team column in the input wins where it has a value",
    )
    parser.add_argument(
        "--journey-level",
        metavar="COLS",
        default="",
        help="touch-table columns named in --by that are journey-level dimensions "
        "(constant within a journey; a conflict is an error)",
    )
    parser.add_argument(
        "--milestones",
        metavar="COLS",
        default="",
        help="further milestone columns (e.g. mql_at,sql_at) for the custom_stage model, "
        "with --milestone-weights",
    )
    parser.add_argument(
        "--untouched",
        choices=UNTOUCHED,
        default="accept",
        help="outcome rows without touches: accept them as untouched pipeline (default) "
        "or reject them as bad input",
    )
    parser.add_argument(
        "--on-invalid",
        choices=ON_INVALID,
        default="fail",
        help="fail on invalid rows (default), or skip them into the rejects file",
    )
    parser.add_argument(
        "--rejects",
        metavar="FILE",
        help="where skipped rows go (default: next to --out, else ./attribution_rejects.csv); "
        "written whenever rows may be skipped, header only when none were",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or reconciliation")


def comma_list(text: str | None) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def column_map(args: argparse.Namespace) -> ColumnMap:
    overrides: dict[str, str] = {}
    for item in args.column:
        role, sep, name = item.partition("=")
        if not sep or not role.strip() or not name.strip():
            raise ParameterError(f"--column expects ROLE=NAME, got {item!r}")
        overrides[role.strip()] = name.strip()
    if args.value_column:
        overrides["total_conversion_value" if args.paths else "value"] = args.value_column
    return ColumnMap().with_overrides(overrides)


def channel_teams(path: str | None) -> dict[str, str] | None:
    """The channel-to-team map of ``--team-map`` (CSV with channel,team, or JSON object)."""
    if path is None:
        return None
    file = Path(path)
    if not file.exists():
        raise InputError(Problem("team map not found", source=path))
    if file.suffix.lower() == ".json":
        try:
            mapping = json.loads(file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise InputError(
                Problem(f"team map is not valid JSON ({error})", source=path)
            ) from None
        if not isinstance(mapping, dict) or not all(
            isinstance(team, str) and team.strip() for team in mapping.values()
        ):
            raise InputError(
                Problem('team map JSON must be an object {"channel": "team", ...}', source=path)
            )
        return {str(k): v for k, v in mapping.items()}
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            sample = handle.read(4096)
            if not sample.strip():
                raise InputError(Problem("team map CSV is empty", source=path))
            handle.seek(0)
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
            rows = list(csv.DictReader(handle, dialect=dialect))
    except (UnicodeDecodeError, csv.Error) as error:
        raise InputError(Problem(f"team map CSV cannot be read ({error})", source=path)) from None
    if not rows or not {"channel", "team"} <= set(rows[0]):
        raise InputError(Problem("team map CSV needs columns 'channel' and 'team'", source=path))
    channels = [(row["channel"] or "").strip() for row in rows]
    repeated = sorted({c for c in channels if channels.count(c) > 1})
    if repeated:
        raise InputError(
            Problem(f"team map lists a channel twice: {', '.join(repeated)}", source=path)
        )
    blank = [c for c, row in zip(channels, rows, strict=True) if not (row["team"] or "").strip()]
    if blank:
        raise InputError(
            Problem(f"team map has no team for {', '.join(blank)}", source=path, column="team")
        )
    return {c: (row["team"] or "").strip() for c, row in zip(channels, rows, strict=True)}


def extra_dimensions(by: list[str]) -> list[str]:
    """The dimensions of ``--by`` that are input columns to read (not the core labels or
    the period)."""
    return [d for d in by if d not in CORE_DIMENSIONS and d != "period"]


def journey_level_of(args: argparse.Namespace, dimensions: Sequence[str]) -> list[str]:
    """The ``--journey-level`` columns, each one of the ``--by`` dimensions."""
    journey_level = comma_list(args.journey_level)
    stray = [d for d in journey_level if d not in dimensions]
    if stray:
        raise ParameterError(f"--journey-level {', '.join(stray)}: not among the --by dimensions")
    return journey_level


def load_from_args(
    args: argparse.Namespace, dimensions: Sequence[str] = (), excluded: Sequence[str] = ()
) -> Loaded:
    """The journeys of the input options, reading ``dimensions`` as roll-up dimensions
    (those of ``--by``, and ``excluded``: the dimensions named by ``--exclude``). A
    dimension the data does not have is an error naming the option that asked for it."""
    from attribution.errors import MissingColumnsError

    try:
        return _load(args, dimensions)
    except MissingColumnsError as error:
        from_exclude = [c for c in error.columns if c in excluded]
        option = (
            f"--exclude {', '.join(f'{c}=...' for c in from_exclude)}"
            if from_exclude
            else f"--by {', '.join(error.columns)}"
        )
        source = error.problems[0].source
        raise ParameterError(
            f"{option}: the data has no column {', '.join(map(repr, error.columns))} "
            f"({f'{source}: ' if source else ''}{error.where})"
        ) from None


def _load(args: argparse.Namespace, dimensions: Sequence[str]) -> Loaded:
    from attribution.io import load

    if args.crm:
        return _load_crm(args, dimensions)
    if not args.input:
        raise ParameterError("give the touches (INPUT) or a folder of CRM exports (--crm DIR)")

    journey_level = journey_level_of(args, dimensions)
    if args.paths and (dimensions or journey_level):
        raise ParameterError(
            "a path table has no columns to roll up by besides channel and team "
            f"(--by {', '.join(dimensions)})"
        )
    return load(
        args.input,
        args.outcomes,
        paths=args.paths,
        columns=column_map(args),
        channel_teams=channel_teams(args.team_map),
        on_invalid=args.on_invalid,
        separator=args.separator,
        dimensions=list(dimensions),
        journey_dimensions=journey_level,
        untouched=args.untouched,
        milestones=comma_list(args.milestones),
    )


def _load_crm(args: argparse.Namespace, dimensions: Sequence[str]) -> Loaded:
    """The journeys of ``--crm DIR``, with the join's reconciliation in the notes."""
    import dataclasses
    import sys

    from attribution.cli.journeys import crm_columns
    from attribution.crm import load_crm
    from attribution.notes import Note

    if args.input or args.outcomes or args.paths:
        raise ParameterError(
            "--crm DIR builds the journeys itself: give no INPUT, --outcomes or --paths"
        )
    if args.value_column:
        raise ParameterError(
            "--crm DIR takes the value from the opportunities' amount: name its column with "
            "--column opportunities.amount=NAME, not --value-column"
        )
    if args.separator != DEFAULT_SEPARATOR:
        raise ParameterError("--separator splits the paths of --paths; --crm DIR has none")
    journey_level = journey_level_of(args, dimensions)
    crm = load_crm(args.crm, mapping=args.crm_mapping, columns=crm_columns(args.column))
    if not args.quiet:
        print(crm.reconciliation.to_text(), file=sys.stderr)
    loaded = crm.load(
        channel_teams=channel_teams(args.team_map),
        on_invalid=args.on_invalid,
        dimensions=list(dimensions),
        journey_dimensions=journey_level,
        untouched=args.untouched,
        milestones=comma_list(args.milestones),
    )
    summary = crm.reconciliation
    note = Note(
        "crm_journeys",
        f"journeys built from the CRM exports in {args.crm} ({args.crm_mapping} mapping): "
        f"{summary.touches_read:,} touches read, {summary.journey_touches:,} journey touches, "
        f"{summary.opportunities_with_touches + summary.opportunities_without_touches:,} "
        f"opportunities ({summary.opportunities_without_touches:,} without a touch)",
    )
    return dataclasses.replace(
        loaded, intake=dataclasses.replace(loaded.intake, notes=(note, *loaded.intake.notes))
    )


def rejects_path(args: argparse.Namespace) -> Path | None:
    """Where rejected rows go: ``--rejects``; with ``--on-invalid skip`` and no
    ``--rejects``, beside ``--out`` (else ``./attribution_rejects.csv``); else nowhere."""
    if args.rejects:
        return Path(args.rejects)
    if args.on_invalid != "skip":
        return None
    out = getattr(args, "out", None)
    if out:
        from attribution.io.writers import beside

        return beside(out, "rejects", ".csv")
    return Path("attribution_rejects.csv")


def input_files(args: argparse.Namespace) -> list[tuple[str, str]]:
    """Every file or folder the command reads, with the option that names it."""
    named = [
        ("INPUT", args.input),
        ("--crm", getattr(args, "crm", None)),
        ("--outcomes", getattr(args, "outcomes", None)),
        ("--team-map", getattr(args, "team_map", None)),
        ("--truth", getattr(args, "truth", None)),
        ("--costs", getattr(args, "costs", None)),
    ]
    return [(option, path) for option, path in named if path]
