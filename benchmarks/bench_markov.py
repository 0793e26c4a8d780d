"""Markov model: transition counting and all removal effects, against ChannelAttribution.

    python -m benchmarks.bench_markov --journeys 1000000 --channels 12,20 --orders 1,2,3

For each channel count and order, on journeys already loaded and encoded: the median of
``--repeats`` warm runs (numba's on-disk cache compiled once by a warm-up run) of
counting the transitions (``statistics``: one pass over the touches), of solving the
chain for ``P`` and every removal effect (``fit_statistics``), and of the per-touch
credit split; the target is counting + solving <= 0.5 s per order.

If ChannelAttribution (PyPI ``ChannelAttribution``, optional) is installed, its
``markov_model`` runs in the same process on the same journeys, aggregated to its path
table (identical paths merged; building the table is not timed), with its defaults; at
order 1 it also runs with ``max_step`` raised far above the longest path (by default
it stops simulated walks at the longest observed path and counts them as not
converting), and then with ten times its default number of simulated walks, to show
its estimate converging to the exact solution. Reported: its time over ours (counting +
solving), and the largest differences in removal effect and in credited conversions (as
a share of all conversions) against both our repeats options (at order 1 they coincide).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd

import attribution as at
from attribution.journeys import Journeys
from attribution.models.markov import Markov
from benchmarks.harness import dataset, machine, timed

#: max_step for ChannelAttribution's "long walks" runs (its default: the longest path),
#: and nsim_start of its "many walks" run (its default: 1e5).
LONG_WALKS = 10_000
MANY_WALKS = 1_000_000


def path_table(journeys: Journeys) -> pd.DataFrame:
    """ChannelAttribution's input: one row per distinct path with conversions, nulls, value."""
    names = np.asarray(journeys.channel_names, dtype=object)
    has_touches = journeys.lengths > 0
    separators = np.full(journeys.n_touches, ">", dtype=object)
    separators[journeys.offsets[1:][has_touches] - 1] = "|"
    paths = "".join((names[journeys.channel] + separators).tolist()).split("|")[:-1]
    converted = journeys.converted[has_touches]
    weight = journeys.weight[has_touches].astype(np.int64)
    frame = pd.DataFrame(
        {
            "path": paths,
            "conversions": np.where(converted, weight, 0),
            "nulls": np.where(converted, 0, weight),
            "value": journeys.value[has_touches],
        }
    )
    return frame.groupby("path", as_index=False, sort=False).sum()


def channel_attribution() -> tuple[Callable[..., dict[str, pd.DataFrame]] | None, str]:
    """ChannelAttribution's ``markov_model``, or None and why it cannot be imported."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            from ChannelAttribution import markov_model
    except ImportError as error:
        return None, f"cannot import ChannelAttribution: {error}"
    return markov_model, ""


def run_channel_attribution(
    markov_model: Callable[..., dict[str, pd.DataFrame]],
    table: pd.DataFrame,
    order: int,
    max_step: int | None,
    walks: int,
) -> tuple[float, pd.DataFrame]:
    """Seconds and the per-channel result (removal effect, credited conversions)."""
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        result = markov_model(
            table,
            "path",
            "conversions",
            var_value="value",
            var_null="nulls",
            order=order,
            max_step=max_step,
            nsim_start=walks,
            out_more=True,
            verbose=False,
            flg_pro=False,
        )
    seconds = time.perf_counter() - start
    effects = result["removal_effects"].set_index("channel_name")["removal_effects_conversion"]
    credits = result["result"].set_index("channel_name")["total_conversions"]
    return seconds, pd.DataFrame({"removal_effect": effects, "conversions": credits})


def differences(model: Markov, theirs: pd.DataFrame, total: float) -> tuple[float, float]:
    """Largest |removal effect difference| and |credit difference| / total conversions."""
    names = list(model.channel_names_)
    theirs = theirs.reindex(names).fillna(0.0)
    effect = np.abs(model.removal_effects_ - theirs["removal_effect"].to_numpy()).max()
    credit = np.abs(model.channel_conversions_ - theirs["conversions"].to_numpy()).max()
    return float(effect), float(credit / total)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--channels", default="12,20", help="comma-separated channel counts")
    parser.add_argument("--orders", default="1,2,3", help="comma-separated orders")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--skip-channelattribution", action="store_true", help="do not run ChannelAttribution"
    )
    args = parser.parse_args(argv)
    orders = [int(o) for o in args.orders.split(",")]
    markov_model, reason = (
        (None, "--skip-channelattribution")
        if args.skip_channelattribution
        else channel_attribution()
    )
    print(f"Machine: {machine()}")
    print(f"Load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if markov_model is None:
        print(f"ChannelAttribution comparison: skipped ({reason})")
    ours_rows = []
    theirs_rows = []
    for n_channels in (int(c) for c in args.channels.split(",")):
        touches, outcomes = dataset(args.journeys, n_channels)
        journeys, _ = at.load(touches, outcomes).journeys.window(None)
        print(
            f"\nData: {journeys.n_journeys:,} journeys, {journeys.n_touches:,} touches, "
            f"{n_channels} channels, {journeys.total_conversions:,.0f} conversions"
        )
        table = path_table(journeys) if markov_model is not None else None
        for order in orders:
            fitted = {}
            for repeats in ("keep", "collapse"):
                model = Markov(order=order, repeats=repeats)
                model.fit(journeys)  # warm-up: numba cache, first touch of the pages
                fitted[repeats] = model
            model = fitted["keep"]
            statistics = model.statistics(journeys)
            count, _ = timed(partial(model.statistics, journeys), args.repeats)
            solve, _ = timed(partial(model.fit_statistics, statistics), args.repeats)
            total, _ = timed(partial(model.fit, journeys), args.repeats)
            split, _ = timed(partial(model.credit, journeys), args.repeats)
            ours_rows.append(
                (n_channels, order, model.n_states_, count, solve, total, split, model.solver_,
                 model.residual_)
            )  # fmt: skip
            if markov_model is None or table is None:
                continue
            runs: list[tuple[str, int | None, int]] = [("defaults", None, 100_000)]
            if order == 1:
                runs.append((f"max_step={LONG_WALKS}", LONG_WALKS, 100_000))
                runs.append((f"max_step={LONG_WALKS}, nsim_start=1e6", LONG_WALKS, MANY_WALKS))
            for label, max_step, walks in runs:
                seconds, theirs = run_channel_attribution(
                    markov_model, table, order, max_step, walks
                )
                keep = differences(fitted["keep"], theirs, journeys.total_conversions)
                collapse = differences(fitted["collapse"], theirs, journeys.total_conversions)
                theirs_rows.append(
                    (n_channels, order, label, seconds, seconds / total, *keep, *collapse)
                )
    print(f"\nLoad average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\nMedian of {args.repeats} warm runs, seconds (repeats=keep)\n")
    print(
        "| channels | order | states | count transitions | solve P + all removal effects "
        "| count + solve | per-touch credit | solver | max residual |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for c, k, states, count, solve, total, split, solver, residual in ours_rows:
        print(
            f"| {c} | {k} | {states:,} | {count:.3f} | {solve:.3f} | {total:.3f} | {split:.3f} "
            f"| {solver} | {residual:.1e} |"
        )
    if theirs_rows:
        print("\nChannelAttribution markov_model (one run each, same journeys)\n")
        print(
            "| channels | order | run | seconds | time / ours | max dRE vs keep "
            "| max dcredit vs keep | max dRE vs collapse | max dcredit vs collapse |"
        )
        print("|---:|---:|---|---:|---:|---:|---:|---:|---:|")
        for c, k, label, seconds, ratio, re_k, cr_k, re_c, cr_c in theirs_rows:
            print(
                f"| {c} | {k} | {label} | {seconds:.1f} | {ratio:.0f}x | {re_k:.4f} "
                f"| {cr_k:.2%} | {re_c:.4f} | {cr_c:.2%} |"
            )


if __name__ == "__main__":
    main()
