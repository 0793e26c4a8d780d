"""Benchmark of the Shapley models: speed targets, peers, and the unobserved-coalition rules.

    python benchmarks/bench_shapley.py [--journeys 1000000] [--repeat 5]
        [--peer-python PY] [--mam1-python PY] [--peer-journeys 20000] [--peer-timeout 120]
        [--skip-targets] [--skip-peers] [--skip-accuracy]

1. **Targets** (1M journeys, ~10M touches from ``benchmarks.synthetic.generate``): exact
   ``shapley`` at 12, 20 and 24 channels and ``shapley_simplified`` at 50, timed after
   encoding with a warm numba cache (one untimed warm-up run), median of ``--repeat`` runs
   of ``fit`` + ``credit``; peak resident memory during those runs (the encoded journeys
   included, reset after loading via ``/proc/self/clear_refs``).
2. **Peers**: the Shapley implementations of ``marketing-attribution-models`` 2.x
   (``mam``: ``MAM.run_shapley(max_size=None)``), 1.x (``marketing_attribution_models``:
   ``attribution_shapley(size=C)``, needs pandas < 3) and ``mta`` (``MTA.shapley()``), each in
   its own subprocess under ``--peer-python`` / ``--mam1-python`` (default: this
   interpreter) with a time limit, on the same journeys as ours, at 4, 8, ... 24 channels.
   A peer that is missing, fails or times out prints a line saying so; after a failure or
   time-out it is not run at more channels ("gives up at C"). Ratios are peer wall time
   over ours on the same data (ours from the same DataFrame, loading included); peers run
   once each (they are slow).
3. **Accuracy of the unobserved-coalition rules** against a simulator with known causal
   effects (the true credit of a channel is the conversions lost when it is switched off,
   same random draws): total variation distance of the channel shares, in a dense regime
   (10 channels) and a sparse one (18 channels, fewer journeys, so most coalitions are
   never observed).

Peers are never project dependencies: install them into a separate environment and pass
its interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import attribution as at
from attribution.journeys import Journeys
from attribution.models.base import AttributionModel
from attribution.models.shapley import Shapley
from attribution.models.shapley_simplified import ShapleySimplified
from benchmarks.memory import peak_memory_mb, reset_peak_memory
from benchmarks.synthetic import generate

PEERS = ("mam2", "mam1", "mta")
PEER_CHANNELS = (4, 8, 12, 16, 20, 24)


# ------------------------------------------------------------------- machine & memory
def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    import numba

    return (
        f"{cpu}; {os.cpu_count()} logical CPUs; {memory} RAM; Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}, numba {numba.__version__} "
        f"({numba.get_num_threads()} threads)"
    )


def peak_gb() -> float:
    return peak_memory_mb() / 1024


# ----------------------------------------------------------------------- 1. targets
def journeys_for(n_journeys: int, n_channels: int, seed: int = 1) -> Journeys:
    data = generate(n_journeys, n_channels, seed=seed)
    windowed, _ = at.load(data.touches, data.outcomes).journeys.window(None)
    return windowed


def time_model(
    make: Callable[[], AttributionModel], journeys: Journeys, repeat: int
) -> tuple[float, float, float, AttributionModel]:
    """Median seconds of fit, of credit and of both, and the peak memory (GB)."""
    model = make()
    model.fit(journeys)
    model.credit(journeys)  # warm-up: numba cache loaded, pages touched
    fits, credits = [], []
    reset_peak_memory()
    for _ in range(repeat):
        model = make()
        start = time.perf_counter()
        model.fit(journeys)
        middle = time.perf_counter()
        model.credit(journeys)
        fits.append(middle - start)
        credits.append(time.perf_counter() - middle)
    totals = [f + c for f, c in zip(fits, credits, strict=True)]
    return statistics.median(fits), statistics.median(credits), statistics.median(totals), model


def observed_rates_shapley() -> Shapley:
    """The model these targets and peers are about: ``shapley`` with the observed-rate
    game (the peers' conversion-rate game; the default game is model-based)."""
    return Shapley(game="observed_rates")


def run_targets(n_journeys: int, repeat: int) -> None:
    print(f"\n## Targets: {n_journeys:,} journeys, median of {repeat} runs after a warm-up")
    print(
        "| model | channels | touches | coalitions | fit s | credit s | total s | target "
        "| peak RSS GB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    cases: list[tuple[str, int, float]] = [
        ("shapley", 12, 0.2),
        ("shapley", 20, 1.0),
        ("shapley", 24, 3.0),
        ("shapley_simplified", 50, 0.5),
    ]
    for name, channels, target in cases:
        journeys = journeys_for(n_journeys, channels)
        make: Callable[[], AttributionModel] = (
            observed_rates_shapley if name == "shapley" else ShapleySimplified
        )
        fit_s, credit_s, total_s, model = time_model(make, journeys, repeat)
        coalitions = f"{len(model.counts_.masks):,}" if isinstance(model, Shapley) else "-"
        verdict = "ok" if total_s <= target else "MISSED"
        print(
            f"| {name} | {channels} | {journeys.n_touches:,} | {coalitions} | {fit_s:.3f} | "
            f"{credit_s:.3f} | {total_s:.3f} | <= {target} s {verdict} | {peak_gb():.2f} |",
            flush=True,
        )
        del journeys, model


# ------------------------------------------------------------------------- 2. peers
PEER_WORKER = r"""
import json, sys, time, warnings, contextlib, io
warnings.simplefilter("ignore")
import pandas as pd
peer, folder, channels = sys.argv[1], sys.argv[2], int(sys.argv[3])
sessions = pd.read_parquet(f"{folder}/sessions.parquet")
paths = pd.read_parquet(f"{folder}/paths.parquet")
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    if peer == "mam2":
        from mam import MAM
        m = MAM(sessions, format_type="session", channels_colname="channel",
                journey_with_conv_colname="converted", datetime_colname="timestamp",
                user_id_colname="journey_id", conversion_value_colname=None)
        credit = m.run_shapley(max_size=None, value_column="conv_rate").to_pandas()
        total = float(credit["attribution"].sum())
    elif peer == "mam1":
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.style as style
        if "seaborn-white" not in style.library and "seaborn-v0_8-white" in style.library:
            style.library["seaborn-white"] = style.library["seaborn-v0_8-white"]
            style.available.append("seaborn-white")
        from marketing_attribution_models import MAM
        journeys = (sessions.groupby("journey_id", sort=False)
                    .agg(channels=("channel", " > ".join), converted=("converted", "max"))
                    .reset_index())
        journeys["time_till_conv"] = journeys["channels"].map(
            lambda p: " > ".join(["0"] * (p.count(" > ") + 1)))
        m = MAM(journeys, channels_colname="channels", journey_with_conv_colname="converted",
                time_till_conv_colname="time_till_conv", conversion_value=1,
                group_channels=False, group_channels_by_id_list=["journey_id"],
                path_separator=" > ")
        m.attribution_shapley(size=channels, order=False, values_col="conv_rate")
        total = float(m.group_by_channels_models.select_dtypes("number").sum().sum())
    else:
        from mta import MTA
        m = MTA(data=paths, allow_loops=False, add_timepoints=False)
        m.shapley()
        total = float(sum(dict(m.attribution["shapley"]).values()))
print(json.dumps({"seconds": time.perf_counter() - start, "total": total}))
"""


def peer_inputs(data_touches: pd.DataFrame, outcomes: pd.DataFrame, folder: Path) -> None:
    """The same journeys in the peers' formats: sessions (one row per touch) and paths."""
    sessions = data_touches[["journey_id", "timestamp", "channel"]].merge(
        outcomes[["journey_id", "converted"]], on="journey_id"
    )
    sessions["channel"] = sessions["channel"].astype(str)
    sessions["timestamp"] = sessions["timestamp"].dt.tz_localize(None)
    sessions.to_parquet(folder / "sessions.parquet", index=False)
    paths = (
        sessions.groupby("journey_id", sort=False)
        .agg(path=("channel", " > ".join), converted=("converted", "max"))
        .groupby("path")["converted"]
        .agg(total_conversions="sum", total_null=lambda c: int((~c).sum()))
        .reset_index()
    )
    paths["total_conversions"] = paths["total_conversions"].astype("int64")
    paths.to_parquet(folder / "paths.parquet", index=False)


def run_peer(python: str, peer: str, folder: Path, channels: int, timeout: float) -> str | float:
    """Seconds, or a short reason the peer did not finish."""
    try:
        done = subprocess.run(
            [python, "-c", PEER_WORKER, peer, str(folder), str(channels)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:g} s"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        if "ModuleNotFoundError" in last or "No module named" in last:
            return f"missing ({last.split(':')[-1].strip()} in {python})"
        return f"failed: {last[:160]}"
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


def run_peers(
    n_journeys: int, peer_python: str, mam1_python: str, timeout: float, repeat: int
) -> None:
    print(f"\n## Peers: {n_journeys:,} journeys, each peer once, time limit {timeout:g} s")
    print("| channels | ours s (load + fit + credit, median) | peer | peer s | peer / ours |")
    print("|---|---|---|---|---|")
    gave_up: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for channels in PEER_CHANNELS:
            data = generate(n_journeys, channels, seed=2)
            peer_inputs(data.touches, data.outcomes, folder)
            ours = []
            observed_rates_shapley().fit(at.load(data.touches, data.outcomes).journeys)  # warm-up
            for _ in range(repeat):
                start = time.perf_counter()
                windowed, _ = at.load(data.touches, data.outcomes).journeys.window(None)
                model = observed_rates_shapley().fit(windowed)
                model.credit(windowed)
                ours.append(time.perf_counter() - start)
            our_s = statistics.median(ours)
            for peer in PEERS:
                if peer in gave_up:
                    print(f"| {channels} | {our_s:.3f} | {peer} | not run: {gave_up[peer]} | - |")
                    continue
                python = mam1_python if peer == "mam1" else peer_python
                outcome = run_peer(python, peer, folder, channels, timeout)
                if isinstance(outcome, float):
                    print(
                        f"| {channels} | {our_s:.3f} | {peer} | {outcome:.2f} | "
                        f"{outcome / our_s:,.0f}x |",
                        flush=True,
                    )
                else:
                    gave_up[peer] = f"gave up at {channels} channels ({outcome})"
                    print(f"| {channels} | {our_s:.3f} | {peer} | {outcome} | - |", flush=True)
    for peer in PEERS:
        finished = f"finished at every channel count up to {PEER_CHANNELS[-1]}"
        print(f"- {peer}: {gave_up.get(peer, finished)}")


# ---------------------------------------------------------------------- 3. accuracy
def simulate(
    n: int, channels: int, mean_touches: float, seed: int
) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Journeys with known causal effects; returns touches, true shares, channel names.

    Conversion: logit p = -3.2 + 0.8 z + sum of the present channels' lifts + 0.6 when
    channels 1 and 2 are both present, z a latent propensity. Channel 0 is a strong "door
    opener" put first in half the journeys; the last channel is a weak "closer" appended
    last, more often to journeys with high z. True credit of c: conversions lost when c is
    switched off, same draws.
    """
    rng = np.random.default_rng(seed)
    lift = rng.uniform(0.1, 0.9, channels)
    lift[0], lift[-1] = 1.4, 0.05
    popularity = 1.0 / np.arange(1, channels + 1) ** 0.7
    popularity[-1] = 0.0
    popularity /= popularity.sum()
    z = rng.normal(0.0, 1.0, n)
    length = 1 + rng.poisson(mean_touches, n)
    journey, channel = [], []
    present = np.zeros((n, channels), bool)
    for j in range(n):
        path = list(rng.choice(channels, length[j], p=popularity))
        if rng.random() < 0.5:
            path = [0, *path]
        if rng.random() < 1.0 / (1.0 + np.exp(-1.5 * z[j] + 0.5)):
            path.append(channels - 1)
        journey += [j] * len(path)
        channel += path
        present[j, path] = True
    draw = rng.random(n)

    def converts(sets: np.ndarray) -> np.ndarray:
        logit = -3.2 + 0.8 * z + sets @ lift + 0.6 * (sets[:, 1] & sets[:, 2])
        return draw < 1.0 / (1.0 + np.exp(-logit))

    observed = converts(present)
    lost = np.array(
        [
            (observed & ~converts(present & (np.arange(channels) != c))).sum()
            for c in range(channels)
        ],
        float,
    )
    names = [f"ch{c:02d}" for c in range(channels)]
    position = np.concatenate([np.arange(k) for k in np.bincount(journey, minlength=n)])
    touches = pd.DataFrame(
        {
            "journey_id": journey,
            "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(position, "D"),
            "channel": [names[c] for c in channel],
        }
    )
    touches["converted"] = observed[touches["journey_id"]]
    touches["value"] = touches["converted"].astype(float)
    return touches, lost / lost.sum(), names


def run_accuracy() -> None:
    print("\n## Unobserved-coalition rules against simulated ground truth (TVD of shares)")
    regimes = {
        "dense: 100k journeys, 10 channels": (100_000, 10, 3.0),
        "sparse: 50k journeys, 18 channels": (50_000, 18, 5.0),
    }
    labels = [
        f"{rule}, smoothing {k:g}"
        for rule in ("mean_subsets", "best_subset", "zero")
        for k in (0.0, 5.0)
    ] + ["shapley_simplified", "linear", "last_touch"]
    print("| model | " + " | ".join(regimes) + " |")
    print("|---|" + "---|" * len(regimes))
    results: dict[str, list[float]] = {label: [] for label in labels}
    for n, channels, mean_touches in regimes.values():
        per_seed: dict[str, list[float]] = {label: [] for label in labels}
        for seed in (1, 2, 3):
            touches, truth, names = simulate(n, channels, mean_touches, seed)
            models: dict[str, AttributionModel] = {
                f"{rule}, smoothing {k:g}": Shapley(
                    game="observed_rates", unobserved=rule, smoothing=k
                )
                for rule in ("mean_subsets", "best_subset", "zero")
                for k in (0.0, 5.0)
            }
            for name in ("shapley_simplified", "linear", "last_touch"):
                models[name] = at.models.make_model(name)
            credits = at.attribute(at.load(touches), models, by=["channel"]).credits
            for label in labels:
                rows = credits[credits["model"] == label].set_index("channel")
                share = rows["credited_value"].reindex(names).fillna(0.0).to_numpy()
                share = share / share.sum()
                per_seed[label].append(0.5 * float(np.abs(share - truth).sum()))
        for label in labels:
            results[label].append(float(np.mean(per_seed[label])))
    for label in labels:
        print(f"| {label} | " + " | ".join(f"{v:.3f}" for v in results[label]) + " |")
    print("(mean over 3 seeds; lower is better)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--peer-python", default=sys.executable)
    parser.add_argument("--mam1-python", default=sys.executable)
    parser.add_argument("--peer-journeys", type=int, default=20_000)
    parser.add_argument("--peer-timeout", type=float, default=120.0)
    parser.add_argument("--skip-targets", action="store_true")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args(argv)
    print(f"Machine: {machine()}")
    if not args.skip_targets:
        run_targets(args.journeys, args.repeat)
    if not args.skip_peers:
        run_peers(
            args.peer_journeys, args.peer_python, args.mam1_python, args.peer_timeout, args.repeat
        )
    if not args.skip_accuracy:
        run_accuracy()


if __name__ == "__main__":
    main()
