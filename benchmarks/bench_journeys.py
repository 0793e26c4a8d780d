"""``attribution journeys`` on large synthetic CRM exports: time and peak memory.

    python -m benchmarks.bench_journeys --touches 10000000 --people 2000000 \\
        --accounts 200000 --opportunities 300000 --repeats 3

The generator writes touches per person (UTM fields, campaigns, sales activities, a cost
for paid clicks), contacts with their account and lead creation, and opportunities per
account: a few accounts with dozens of opportunities (so their touches are copied into
many journeys), the others with a Poisson number. Each run is a fresh process running
the command end to end (read, check, assign channels, join, write the three files); the
table gives the median wall time of the process (interpreter and imports included) and
of the command alone, the command's CPU time (user + system, every thread: on a shared
machine the wall time also counts waiting for a core), the peak memory (``VmHWM``) and
the journey touches written.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.harness import DATA, machine
from benchmarks.memory import peak_memory_mb

DAY = 86_400 * 10**9
START = np.datetime64("2024-01-01", "ns").astype(np.int64)
SPAN_DAYS = 900
#: (source, medium, weight) of web touches; None: a campaign member or sales activity.
UTM = [
    ("google", "cpc", 12),
    ("bing", "cpc", 2),
    ("linkedin", "paid_social", 8),
    ("facebook", "paid_social", 3),
    ("google", "organic", 10),
    ("(direct)", "(none)", 8),
    ("marketo", "email", 10),
    ("partner.com", "referral", 2),
    ("doubleclick", "display", 3),
    ("youtube", "cpv", 1),
    (None, None, 41),
]
TOUCH_TYPES = ["ad_click", "page_view", "email_click", "registered", "attended", "download"]
SALES = ["call_connected", "email_reply", "demo", "discovery_call"]
HEAVY_ACCOUNTS = 20


def generate(
    folder: Path, touches: int, people: int, accounts: int, opportunities: int, seed: int
) -> None:
    """Write ``touches.parquet``, ``contacts.parquet`` and ``opportunities.parquet``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    person_ids = pa.array(np.char.add("P", np.arange(people).astype(str)))
    account_ids = pa.array(np.char.add("A", np.arange(accounts).astype(str)))
    person_account = rng.integers(0, accounts, people)
    lead = START + rng.integers(0, SPAN_DAYS, people) * DAY
    no_account = rng.random(people) < 0.05
    pq.write_table(
        pa.table(
            {
                "person_id": person_ids,
                "account_id": account_ids.take(pa.array(person_account, mask=no_account)),
                "lead_created_at": pa.array(lead, pa.int64()).cast(pa.timestamp("ns", "UTC")),
            }
        ),
        folder / "contacts.parquet",
    )
    heavy = rng.integers(40, 80, HEAVY_ACCOUNTS)
    rest = opportunities - int(heavy.sum())
    opportunity_account = np.concatenate(
        (np.repeat(np.arange(HEAVY_ACCOUNTS), heavy), rng.integers(HEAVY_ACCOUNTS, accounts, rest))
    )
    created = START + rng.integers(30, SPAN_DAYS, opportunities) * DAY
    closed = created + (rng.exponential(60, opportunities) * DAY).astype(np.int64)
    is_open = rng.random(opportunities) < 0.2
    pq.write_table(
        pa.table(
            {
                "opportunity_id": pa.array(np.char.add("O", np.arange(opportunities).astype(str))),
                "account_id": account_ids.take(pa.array(opportunity_account)),
                "created_at": pa.array(created).cast(pa.timestamp("ns", "UTC")),
                "closed_at": pa.array(closed, mask=is_open).cast(pa.timestamp("ns", "UTC")),
                "amount": np.round(rng.lognormal(10, 1, opportunities), 2),
                "won": pa.array(rng.random(opportunities) < 0.3, mask=is_open),
                "stage": np.where(is_open, "Proposal", "Closed"),
            }
        ),
        folder / "opportunities.parquet",
    )
    weights = np.array([w for *_, w in UTM], float)
    kind = rng.choice(len(UTM), touches, p=weights / weights.sum())
    web = np.array([s is not None for s, _, _ in UTM])[kind]
    sales = ~web & (rng.random(touches) < 0.5)
    sources = pa.array([s or "" for s, _, _ in UTM])
    mediums = pa.array([m or "" for _, m, _ in UTM])
    codes = pa.array(kind.astype(np.int32), mask=~web)
    touch_type = np.where(
        sales,
        rng.integers(len(TOUCH_TYPES), len(TOUCH_TYPES) + len(SALES), touches),
        rng.integers(0, len(TOUCH_TYPES), touches),
    )
    campaign = np.where(sales, -1, rng.integers(0, 200, touches))
    paid = np.isin(kind, [0, 1, 2, 3, 8, 9])
    pq.write_table(
        pa.table(
            {
                # Ids as plain text, as a CRM exports them.
                "person_id": person_ids.take(pa.array(rng.integers(0, people, touches))),
                "timestamp": pa.array(
                    START + rng.integers(0, SPAN_DAYS * DAY, touches), pa.int64()
                ).cast(pa.timestamp("ns", "UTC")),
                "source": pa.DictionaryArray.from_arrays(codes, sources),
                "medium": pa.DictionaryArray.from_arrays(codes, mediums),
                "campaign": pa.DictionaryArray.from_arrays(
                    pa.array(campaign.astype(np.int32), mask=campaign < 0),
                    pa.array([f"campaign_{i}" for i in range(200)]),
                ),
                "touch_type": pa.DictionaryArray.from_arrays(
                    pa.array(touch_type.astype(np.int32)), pa.array(TOUCH_TYPES + SALES)
                ),
                "team": pa.DictionaryArray.from_arrays(
                    pa.array(np.zeros(touches, np.int32), mask=~sales), pa.array(["sales"])
                ),
                "cost": pa.array(np.round(rng.lognormal(1.5, 0.5, touches), 2), mask=~paid),
            }
        ),
        folder / "touches.parquet",
    )


def child(folder: str, extra: list[str]) -> None:
    """Run the command once in this (fresh) process; print time, peak and output size."""
    from attribution.cli.main import main

    out = Path(folder) / "out"
    start = time.perf_counter()
    cpu = _cpu_seconds()
    code = main(
        [
            "journeys",
            "--touches",
            f"{folder}/touches.parquet",
            "--opportunities",
            f"{folder}/opportunities.parquet",
            "--contacts",
            f"{folder}/contacts.parquet",
            "--out",
            str(out),
            "--quiet",
            *extra,
        ]
    )
    seconds = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu
    assert code == 0, code
    rows = pq.read_metadata(out / "touches.parquet").num_rows
    print(
        json.dumps(
            {"seconds": seconds, "cpu": cpu, "peak_mb": peak_memory_mb(), "journey_touches": rows}
        )
    )


def _cpu_seconds() -> float:
    """CPU time of this process so far (user + system, all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--touches", type=int, default=10_000_000)
    parser.add_argument("--people", type=int, default=2_000_000)
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--opportunities", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], args.child[1:])
        return
    folder = DATA / (
        f"crm_{args.touches}_{args.people}_{args.accounts}_{args.opportunities}_{args.seed}"
    )
    if not (folder / "touches.parquet").exists():
        generate(folder, args.touches, args.people, args.accounts, args.opportunities, args.seed)
    runs = {
        "account, no lookback": [],
        "account, --lookback 180": ["--lookback", "180"],
    }
    warm_up = [sys.executable, "-m", "benchmarks.bench_journeys", "--child", str(folder)]
    subprocess.run(warm_up, check=True, capture_output=True)  # numba's on-disk cache
    print(f"Machine: {machine()}")
    print(
        f"Data: {args.touches:,} touches of {args.people:,} people, {args.accounts:,} accounts, "
        f"{args.opportunities:,} opportunities ({HEAVY_ACCOUNTS} accounts with 40-79 each); "
        f"median of {args.repeats} fresh processes\n"
    )
    print(
        "| mapping | process wall seconds | command wall seconds (after imports) "
        "| command CPU seconds | peak memory (MB) | journey touches written |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, extra in runs.items():
        results = []
        walls = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.bench_journeys", "--child", str(folder), *extra],
                check=True,
                capture_output=True,
                text=True,
            )
            walls.append(time.perf_counter() - start)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        seconds = statistics.median(r["seconds"] for r in results)
        cpu = statistics.median(r["cpu"] for r in results)
        peak = max(r["peak_mb"] for r in results)
        print(
            f"| {label} | {statistics.median(walls):.2f} | {seconds:.2f} | {cpu:.2f} "
            f"| {peak:,.0f} | {results[0]['journey_touches']:,} |"
        )
    print(f"\nLoad average (1, 5, 15 min) at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
