"""Input options shared by every subcommand that reads journeys, and loading from them."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import pandas as pd

from attribution.columns import ColumnMap
from attribution.errors import InputError, Problem
from attribution.io import DEFAULT_SEPARATOR, Loaded, load
from attribution.io.validation import ON_INVALID
from attribution.io.writers import beside


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "input",
        metavar="INPUT",
        help="touch table: a parquet file, a folder of parquet files or a CSV file "
        "(with --paths: an aggregated path table)",
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
        help="read column NAME for ROLE, e.g. --column journey_id=opportunity_id (repeatable)",
    )
    parser.add_argument(
        "--team-map",
        metavar="FILE",
        help="channel-to-team mapping (CSV with columns channel,team, or a JSON object) for "
        "touches without a team",
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
        help="where skipped rows go (default: next to --out, else ./attribution_rejects.csv)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or reconciliation")


def column_map(args: argparse.Namespace) -> ColumnMap:
    overrides: dict[str, str] = {}
    for item in args.column:
        role, sep, name = item.partition("=")
        if not sep or not role.strip() or not name.strip():
            raise ValueError(f"--column expects ROLE=NAME, got {item!r}")
        overrides[role.strip()] = name.strip()
    if args.value_column:
        overrides["value"] = args.value_column
    if args.paths and args.value_column:
        overrides["total_conversion_value"] = args.value_column
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
            mapping = json.loads(file.read_text())
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
        frame = pd.read_csv(file, dtype=str, sep=None, engine="python", keep_default_na=False)
    except (
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        UnicodeDecodeError,
        csv.Error,
    ) as error:
        raise InputError(Problem(f"team map CSV cannot be read ({error})", source=path)) from None
    if not {"channel", "team"} <= set(frame.columns):
        raise InputError(Problem("team map CSV needs columns 'channel' and 'team'", source=path))
    repeated = sorted(set(frame["channel"][frame["channel"].duplicated()]))
    if repeated:
        raise InputError(
            Problem(f"team map lists a channel twice: {', '.join(repeated)}", source=path)
        )
    blank = frame["channel"][frame["team"].str.strip() == ""]
    if len(blank):
        raise InputError(
            Problem(f"team map has no team for {', '.join(blank)}", source=path, column="team")
        )
    return dict(zip(frame["channel"], frame["team"], strict=True))


def load_from_args(args: argparse.Namespace) -> Loaded:
    return load(
        args.input,
        args.outcomes,
        paths=args.paths,
        columns=column_map(args),
        channel_teams=channel_teams(args.team_map),
        on_invalid=args.on_invalid,
        separator=args.separator,
    )


def rejects_path(args: argparse.Namespace) -> Path:
    if args.rejects:
        return Path(args.rejects)
    out = getattr(args, "out", None)
    if out:
        return beside(out, "rejects", ".csv")
    return Path("attribution_rejects.csv")
