"""Accuracy of every model of this engine and of the peers against simulated ground truth.

    python -m benchmarks.accuracy [--journeys 30000] [--seeds 1,2,3]
        [--scenarios all|presets|robustness|NAME,...]
        [--peers channelattribution,mam2,mam1,mta] [--peer-python PY] [--mam1-python PY]
        [--peer-timeout 120] [--peer-workers 2] [--json FILE]

For every scenario of :mod:`attribution.simulate` (the presets, then the robustness
scenarios of :mod:`attribution.simulate.robustness`) and every seed: simulate ``--journeys``
buyers (journeys without any touch drop out) with their ground truth, run every model of
this engine (``benchmarks.ours``) with ``attribute(..., by=("channel",))`` and every peer
job that runs in the accuracy benchmark on the same windowed journeys (the touches this
engine credits), then score each model's channel shares of credited value against the
true shares with :func:`attribution.compare.compare`:

- **share_error_tvd**: total variation distance ``1/2 sum_c |share_c - true share_c|``
  (0 = the true split, 1 = disjoint; signed shares when a model credits negative value,
  so it can exceed 1). Lower is better.
- **rank_correlation**: Spearman's rho between the model's and the true shares (1 = the
  channels in the true order). Higher is better.

Reported per model and scenario: the mean and the sample standard deviation over seeds
(``mean ± sd``); the truth's own noise as ``1/2 sum_c`` of its share standard errors
(the TVD scale below which differences between models are not meaningful); and per
scenario this engine's best model against each peer's best (lowest mean error among the
models that finished on every seed). A peer job that is not installed, fails or
exceeds the time limit shows its status instead of numbers; after a time-out it is not
run on the scenario's later seeds. Nothing is timed here, so ``--peer-workers`` peers
run at the same time.

The simulator generates conversions from an additive hazard of decaying touch effects,
which is the ``hazard`` model's own form: it flatters that model. The robustness
scenario ``exposure_response`` generates them otherwise (a logistic response to
saturating touch counts, whatever their timing; the lag after the last touch is
exponential, which an additive hazard can mimic), and ``late_passenger`` has
a passenger lagging beyond the model's guard; the output says so next to the tables.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

import attribution as at
from attribution.compare import compare
from attribution.simulate import simulate
from attribution.simulate.robustness import robustness_names
from benchmarks.harness import report, scenario_list
from benchmarks.ours import our_models
from benchmarks.peers.catalog import PEERS, peer_names
from benchmarks.peers.inputs import write_inputs
from benchmarks.peers.runner import NOT_INSTALLED, JobOutcome, interpreter_has, run_peer

OURS = "this engine"
#: Status of a peer job left out of the accuracy run (its reason is in the notes).
NOT_IN_ACCURACY = "not run here (see notes)"


@dataclass
class Score:
    """One model on one scenario and seed: its errors, or why it has none."""

    scenario: str
    seed: int
    source: str
    model: str
    status: str
    share_error_tvd: float | None = None
    rank_correlation: float | None = None


@dataclass
class DatasetInfo:
    """One simulated dataset: sizes and the truth's noise (TVD scale)."""

    scenario: str
    seed: int
    journeys: int
    touches: int
    channels: int
    conversions: float
    truth_noise: float


@dataclass
class AccuracyResults:
    datasets: list[DatasetInfo] = field(default_factory=list)
    scores: list[Score] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    settings: dict[str, object] = field(default_factory=dict)
    peers: list[str] = field(default_factory=list)


def peer_jobs(
    folder: Path,
    names: list[str],
    pythons: dict[str, str],
    installed: dict[str, str | None],
    gave_up: dict[tuple[str, str], str],
    args: argparse.Namespace,
) -> dict[str, dict[str, JobOutcome]]:
    """Every peer's accuracy jobs on the inputs in ``folder``, ``--peer-workers`` peers at
    a time (nothing is timed here); jobs given up on or not in the accuracy run get their
    status."""
    outcomes: dict[str, dict[str, JobOutcome]] = {}
    with ThreadPoolExecutor(max_workers=max(1, args.peer_workers)) as pool:
        futures = {}
        for name in names:
            info = PEERS[name]
            jobs = [j.name for j in info.jobs if j.accuracy and (name, j.name) not in gave_up]
            if installed[name] and jobs:
                futures[name] = pool.submit(
                    run_peer,
                    info,
                    folder,
                    jobs,
                    timeout=args.peer_timeout,
                    python=pythons[name],
                )
            else:
                outcomes[name] = {job: JobOutcome(name, job, NOT_INSTALLED) for job in jobs}
        for name, future in futures.items():
            outcomes[name] = future.result()
    for name in names:
        for job in PEERS[name].jobs:
            if not job.accuracy:
                outcomes[name][job.name] = JobOutcome(name, job.name, NOT_IN_ACCURACY)
            elif job.name not in outcomes[name]:
                outcomes[name][job.name] = JobOutcome(name, job.name, gave_up[(name, job.name)])
    return outcomes


def measure(args: argparse.Namespace) -> AccuracyResults:
    results = AccuracyResults(
        settings={
            "journeys": args.journeys,
            "seeds": args.seeds,
            "scenarios": args.scenarios,
            "peer_timeout_s": args.peer_timeout,
        },
        peers=args.peers,
    )
    pythons = {
        name: args.mam1_python if name == "mam1" else args.peer_python for name in args.peers
    }
    installed = {name: interpreter_has(pythons[name], PEERS[name].import_name) for name in pythons}
    for name, version in installed.items():
        results.versions[name] = version or f"{NOT_INSTALLED} ({pythons[name]})"
    for scenario in args.scenarios:
        gave_up: dict[tuple[str, str], str] = {}
        for seed in args.seeds:
            sim = simulate(scenario, journeys=args.journeys, seed=seed)
            assert sim.truth is not None
            loaded = sim.load()
            journeys = loaded.journeys
            results.datasets.append(
                DatasetInfo(
                    scenario=scenario,
                    seed=seed,
                    journeys=journeys.n_journeys,
                    touches=journeys.n_touches,
                    channels=journeys.n_channels,
                    conversions=journeys.total_conversions,
                    truth_noise=0.5 * float(sim.truth["share_std_error"].sum()),
                )
            )
            ours = at.attribute(loaded, our_models(), by=("channel",)).credits
            credits = [ours.assign(model=ours["model"].map(lambda m: f"{OURS}|{m}"))]
            windowed, _ = journeys.window(None)
            available = [name for name in args.peers if installed[name]]
            statuses: list[Score] = []
            with tempfile.TemporaryDirectory(prefix="peer-inputs-") as folder:
                kinds = {PEERS[name].input for name in available}
                if kinds:
                    write_inputs(windowed, Path(folder), kinds)
                outcomes = peer_jobs(Path(folder), args.peers, pythons, installed, gave_up, args)
            for name in args.peers:
                info = PEERS[name]
                for job in info.jobs:
                    outcome = outcomes[name][job.name]
                    if outcome.status.startswith("timeout"):
                        gave_up[(name, job.name)] = f"not run: {outcome.status} on seed {seed}"
                    for model in job.models:
                        if not outcome.ok:
                            statuses.append(
                                Score(scenario, seed, info.label, model.name, outcome.status)
                            )
                            continue
                        per = outcome.credits[model.name]
                        credits.append(
                            pd.DataFrame(
                                {
                                    "model": f"{info.label}|{model.name}",
                                    "channel": list(per),
                                    "credited_value": [v for _, v in per.values()],
                                }
                            )
                        )
            errors = compare(pd.concat(credits, ignore_index=True), sim.truth).errors
            assert errors is not None
            for label, tvd, rho in zip(
                errors["model"], errors["share_error_tvd"], errors["rank_correlation"], strict=True
            ):
                source, name = str(label).split("|", 1)
                results.scores.append(
                    Score(scenario, seed, source, name, "ok", float(tvd), float(rho))
                )
            results.scores.extend(statuses)
            print(f"{scenario} seed {seed} done", file=sys.stderr, flush=True)
    return results


def summarize(results: AccuracyResults) -> pd.DataFrame:
    """Per source, model and scenario: mean and sd of both errors over the seeds that ran.

    Columns: ``source``, ``model``, ``scenario``, ``tvd_mean``, ``tvd_sd``, ``rho_mean``,
    ``rho_sd``, ``runs`` (seeds with numbers), ``seeds``, ``status`` (``ok`` when every
    seed ran, else the first other status).
    """
    frame = pd.DataFrame([asdict(s) for s in results.scores])
    rows = []
    order = list(dict.fromkeys(zip(frame["source"], frame["model"], strict=True)))
    for (source, model), group in frame.groupby(["source", "model"], sort=False):
        for scenario, part in group.groupby("scenario", sort=False):
            ok = part[part["status"] == "ok"]
            bad = part[part["status"] != "ok"]

            def spread(values: pd.Series) -> tuple[float, float]:
                numbers = [float(v) for v in values if not math.isnan(v)]
                if not numbers:
                    return math.nan, math.nan
                sd = statistics.stdev(numbers) if len(numbers) > 1 else math.nan
                return statistics.fmean(numbers), sd

            tvd = spread(ok["share_error_tvd"])
            rho = spread(ok["rank_correlation"])
            rows.append(
                {
                    "source": source,
                    "model": model,
                    "scenario": scenario,
                    "tvd_mean": tvd[0],
                    "tvd_sd": tvd[1],
                    "rho_mean": rho[0],
                    "rho_sd": rho[1],
                    "runs": len(ok),
                    "seeds": len(part),
                    "status": "ok" if bad.empty else str(bad["status"].iloc[0]),
                    "order": order.index((source, model)),
                }
            )
    return pd.DataFrame(rows).sort_values("order", kind="stable").drop(columns="order")


def best_by_scenario(summary: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and source, the model with the lowest mean share error among those
    that ran on every seed. Columns: ``scenario``, ``source``, ``model``, ``tvd_mean``,
    ``tvd_sd``."""
    complete = summary[(summary["status"] == "ok") & summary["tvd_mean"].notna()]
    best = complete.loc[complete.groupby(["scenario", "source"], sort=False)["tvd_mean"].idxmin()]
    return best[["scenario", "source", "model", "tvd_mean", "tvd_sd"]].reset_index(drop=True)


#: Share errors closer than this count as equal (the same model computed by two libraries).
TIE = 1e-6


@dataclass(frozen=True)
class Verdict:
    """One scenario and peer: this engine's best model against the peer's best.

    ``outcome``: ``lower`` (this engine's best has the lower mean share error), ``tie``
    (equal within :data:`TIE`: the same model, e.g. last touch, in both) or ``higher``.
    """

    scenario: str
    peer: str
    peer_model: str
    peer_tvd: float
    our_model: str
    our_tvd: float
    outcome: str


def comparisons(summary: pd.DataFrame) -> list[Verdict]:
    """Per scenario and peer, this engine's best model against the peer's best."""
    best = best_by_scenario(summary)
    verdicts = []
    for scenario, group in best.groupby("scenario", sort=False):
        ours = group[group["source"] == OURS]
        if ours.empty:
            continue
        our_model, our_tvd = str(ours["model"].iloc[0]), float(ours["tvd_mean"].iloc[0])
        others = group[group["source"] != OURS]
        for peer, model, tvd in zip(
            others["source"], others["model"], others["tvd_mean"], strict=True
        ):
            difference = float(tvd) - our_tvd
            outcome = "tie" if abs(difference) <= TIE else "lower" if difference > 0 else "higher"
            verdicts.append(
                Verdict(
                    str(scenario), str(peer), str(model), float(tvd), our_model, our_tvd, outcome
                )
            )
    return verdicts


def mean_sd(mean: float, sd: float, digits: int = 3) -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:.{digits}f}" if math.isnan(sd) else f"{mean:.{digits}f} ± {sd:.{digits}f}"


def _cell(row: pd.Series, column: str) -> str:
    text = mean_sd(float(row[f"{column}_mean"]), float(row[f"{column}_sd"]))
    if row["status"] == "ok":
        return text
    if row["runs"]:
        return f"{text} ({row['runs']} of {row['seeds']} seeds; {row['status']})"
    return str(row["status"])


def render(results: AccuracyResults) -> str:
    """The accuracy tables as Markdown."""
    summary = summarize(results)
    scenarios = list(dict.fromkeys(d.scenario for d in results.datasets))
    data = pd.DataFrame([asdict(d) for d in results.datasets])
    robust = [s for s in scenarios if s in robustness_names()]
    lines = [
        "The simulator generates conversions from an additive hazard of decaying touch "
        "effects: the form of the `hazard` model, which this flatters."
        + (
            f" Robustness scenarios: {', '.join(robust)}; of them `exposure_response` is "
            "not an additive hazard (a logistic response to saturating touch counts, whatever "
            "their timing; the conversion lag after the last touch is exponential, which an "
            "additive hazard can mimic) and `late_passenger` has a passenger closer "
            "lagging beyond `hazard`'s 1-day guard."
            if robust
            else ""
        ),
        "",
        "| scenario | seeds | journeys (mean) | touches per journey | channels "
        "| conversions (mean) | truth noise (TVD) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario, part in data.groupby("scenario", sort=False):
        lines.append(
            f"| {scenario} | {len(part)} | {part['journeys'].mean():,.0f} "
            f"| {(part['touches'] / part['journeys']).mean():.1f} | {part['channels'].max()} "
            f"| {part['conversions'].mean():,.0f} | {part['truth_noise'].mean():.4f} |"
        )
    for column, title in (
        ("tvd", "Share error (TVD against the true value shares; lower is better), mean ± sd"),
        ("rho", "Rank correlation with the true shares (higher is better), mean ± sd"),
    ):
        lines += ["", f"{title}:", ""]
        lines += [
            "| source | model | " + " | ".join(scenarios) + " | mean over scenarios |",
            "|---|---|" + "---:|" * (len(scenarios) + 1),
        ]
        for (source, model), group in summary.groupby(["source", "model"], sort=False):
            by = group.set_index("scenario")
            cells = [_cell(by.loc[s], column) if s in by.index else "-" for s in scenarios]
            complete = by[(by["status"] == "ok")][f"{column}_mean"].dropna()
            overall = f"{complete.mean():.3f}" if len(complete) == len(scenarios) else "-"
            lines.append(f"| {source} | {model} | " + " | ".join(cells) + f" | {overall} |")
    best = best_by_scenario(summary)
    verdicts = comparisons(summary)
    sources = list(dict.fromkeys(summary["source"]))
    lines += [
        "",
        "Best model per scenario (lowest mean share error among models that ran on every "
        "seed), this engine against each peer:",
        "",
        "| scenario | " + " | ".join(sources) + " | this engine's best lower than every peer's? |",
        "|---|" + "---|" * (len(sources) + 1),
    ]
    for scenario in scenarios:
        group = best[best["scenario"] == scenario].set_index("source")
        cells = [
            f"{group.loc[s, 'model']} {mean_sd(group.loc[s, 'tvd_mean'], group.loc[s, 'tvd_sd'])}"
            if s in group.index
            else "-"
            for s in sources
        ]
        outcomes = {v.outcome for v in verdicts if v.scenario == scenario}
        verdict = (
            "-"
            if not outcomes
            else "no"
            if "higher" in outcomes
            else "tie (same model in a peer)"
            if "tie" in outcomes
            else "yes"
        )
        lines.append(f"| {scenario} | " + " | ".join(cells) + f" | {verdict} |")
    skipped = [
        f"- {info.label} {job.name}: {job.skip_reason}"
        for name in results.peers
        for info in [PEERS[name]]
        for job in info.jobs
        if not job.accuracy
    ]
    if skipped:
        lines += ["", "Peer jobs not run in the accuracy benchmark:", "", *skipped]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=30_000, help="buyers per dataset")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument(
        "--scenarios",
        default="all",
        help="comma-separated names, 'presets', 'robustness' or 'all' (both)",
    )
    parser.add_argument("--peers", default=",".join(PEERS), help="peers to run ('' for none)")
    parser.add_argument("--peer-python", default=sys.executable, help="interpreter of the peers")
    parser.add_argument(
        "--mam1-python", default=sys.executable, help="interpreter of MAM 1.x (pandas < 3)"
    )
    parser.add_argument("--peer-timeout", type=float, default=120.0, help="seconds per step")
    parser.add_argument(
        "--peer-workers", type=int, default=2, help="peers run at the same time (untimed)"
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    args.seeds = [int(s) for s in str(args.seeds).split(",") if s]
    args.scenarios = scenario_list(parser, str(args.scenarios))
    args.peers = peer_names(parser, str(args.peers))
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    report(measure(args), render, args.json)


if __name__ == "__main__":
    main()
