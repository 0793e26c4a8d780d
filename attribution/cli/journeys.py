"""``attribution journeys``: build the engine's touch and outcome tables from CRM exports."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from attribution.cli.outputs import OutputPlan
from attribution.cli.progress import Progress
from attribution.crm import CRM_OUTPUTS, MAPPINGS, NON_CONVERTING, CrmColumns, build_journeys
from attribution.errors import ParameterError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "journeys",
        help="build journeys (touches and outcomes) from CRM exports",
        description=textwrap.fill(
            "Join CRM exports, touches per person and opportunities per account, into the "
            "engine's touch table and outcome table: one journey per opportunity (the touches "
            "of its account's people, or of its contact roles, from created_at - lookback to "
            "closed_at) and one non-converting journey per account with touches but no "
            "opportunity. Writes DIR/touches.parquet, DIR/outcomes.parquet and "
            "DIR/reconciliation.csv, ready for: attribution run DIR/touches.parquet "
            "--outcomes DIR/outcomes.parquet. Without --out, only prints the reconciliation.",
            width=88,
        ),
    )
    parser.add_argument("--touches", required=True, metavar="FILE", help="touches per person")
    parser.add_argument(
        "--opportunities", required=True, metavar="FILE", help="opportunities per account"
    )
    parser.add_argument(
        "--contacts", metavar="FILE", help="people with their account (and lead_created_at)"
    )
    parser.add_argument(
        "--contact-roles", metavar="FILE", help="people with a role on an opportunity"
    )
    parser.add_argument(
        "--mapping",
        choices=MAPPINGS,
        default="account",
        help="which people's touches make an opportunity's journey (default: account)",
    )
    parser.add_argument(
        "--lookback",
        type=float,
        metavar="DAYS",
        help="leave out touches more than DAYS before an opportunity's creation",
    )
    parser.add_argument(
        "--channel-rules",
        metavar="FILE",
        help="YAML or JSON channel rules (default: the built-in GA4 channel grouping, for "
        "touches without a channel)",
    )
    parser.add_argument(
        "--non-converting",
        choices=NON_CONVERTING,
        default="account",
        help="unit of the non-converting journeys (default: account, journey id account:<id>)",
    )
    parser.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="ROLE=NAME",
        help="read column NAME for ROLE in every table that has it, or for TABLE.ROLE in one "
        "(e.g. --column person_id=ContactId --column opportunities.amount=Amount)",
    )
    parser.add_argument("--out", metavar="DIR", help="folder to write the three files to")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or reconciliation")
    parser.set_defaults(handler=run_journeys)


def crm_columns(items: list[str]) -> CrmColumns:
    """The column names of the ``--column ROLE=NAME`` options."""
    overrides: dict[str, str] = {}
    for item in items:
        role, sep, name = item.partition("=")
        if not sep or not role.strip() or not name.strip():
            raise ParameterError(f"--column expects ROLE=NAME or TABLE.ROLE=NAME, got {item!r}")
        overrides[role.strip()] = name.strip()
    return CrmColumns().with_overrides(overrides)


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse an ``--out`` that is a file, or that holds (or is inside) an input: every
    file written is compared with every input by resolved path and ``os.path.samefile``,
    and the folder may hold no input (``--crm DIR`` of the next run would read the
    written ``touches.parquet`` as the CRM touches)."""
    if args.out is None:
        return
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ParameterError(
            f"--out {out} is an existing file: journeys writes "
            f"{', '.join(CRM_OUTPUTS.values())} into a folder; give a folder"
        )
    named = [
        ("--touches", args.touches),
        ("--opportunities", args.opportunities),
        ("--contacts", args.contacts),
        ("--contact-roles", args.contact_roles),
        ("--channel-rules", args.channel_rules),
    ]
    inputs = [(option, path) for option, path in named if path]
    folder = OutputPlan()
    folder.add("--out", out, folder=True)
    folder.check(inputs)
    files = OutputPlan()
    for name in CRM_OUTPUTS.values():
        files.add("--out", out / name)
    files.check(inputs)


def run_journeys(args: argparse.Namespace) -> int:
    if args.lookback is not None and not args.lookback >= 0:
        raise ParameterError(f"--lookback must be a number of days >= 0, got {args.lookback}")
    if args.mapping != "account" and args.contact_roles is None:
        raise ParameterError(f"--mapping {args.mapping} needs --contact-roles FILE")
    check_outputs(args)
    with Progress(total=2, quiet=args.quiet) as progress:
        progress.start("building journeys")
        crm = build_journeys(
            args.touches,
            args.opportunities,
            contacts=args.contacts,
            contact_roles=args.contact_roles,
            mapping=args.mapping,
            lookback_days=args.lookback,
            channel_rules=args.channel_rules,
            non_converting=args.non_converting,
            columns=crm_columns(args.column),
        )
        progress.start("writing")
        written = crm.write(args.out) if args.out else {}
    if not args.quiet:
        print(crm.reconciliation.to_text(), file=sys.stderr)
        for path in written.values():
            print(f"wrote {path}", file=sys.stderr)
    return 0
