"""Accuracy on path tables: every model of this engine against simulated ground truth,
when all the data there is is an aggregated path table (no times).

    python -m benchmarks.accuracy_paths [--journeys 20000] [--seeds 1,2] [--scenarios all]
        [--paths windowed,raw] [--timed] [--variants] [--json FILE]

For every scenario of :mod:`attribution.simulate` (``--scenarios all``: the presets, then
the robustness scenarios of :mod:`attribution.simulate.robustness`) and every seed: simulate
``--journeys`` buyers with their truth, turn the loaded journeys into the path table the
ChannelAttribution format uses (:func:`attribution.io.paths.paths_frame`), load it back
with :func:`attribution.load` (``paths=True``) and run every model that runs on paths:
the rule models (``time_decay`` needs times), ``markov``, ``presence``, ``shapley`` (its
default, model-based game) and ``shapley`` with ``game="observed_rates"``
(``shapley_observed_rates``), ``shapley_simplified`` and ``shapley_ordered``. Each
model's channel shares of credited value are scored against the true shares with
:func:`attribution.compare.compare` (``share_error_tvd``, lower is better).

Two path tables per dataset (``--paths``):

- ``windowed`` (default): the paths up to each conversion (the touches the engine
  credits on the touch table), which is what a path table for attribution holds;
- ``raw``: ``paths_frame(loaded.journeys)`` of all touches, including the ones after
  a conversion (the ``b2b`` preset books deal-stage meetings after opportunity
  creation, which a path table cannot tell from the others).

``--timed`` also scores ``shapley``'s two games on the touch tables themselves (with
times). ``--variants`` adds ``presence`` with other settings (guard, recency, pairs,
penalty): the measurements behind its defaults.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

import attribution as at
from attribution.compare import compare
from attribution.io.paths import paths_frame
from attribution.models.base import AttributionModel
from attribution.models.presence import Presence
from attribution.models.registry import RULE_MODELS, all_models, make_model
from attribution.models.shapley import Shapley
from attribution.simulate import simulate
from attribution.simulate.robustness import robustness_names
from benchmarks.harness import report, scenario_list

#: The data-driven models compared with the rule models, by label.
DATA_DRIVEN = ("markov", "presence", "shapley", "shapley_observed_rates")
CLOSED_FORM = ("shapley_simplified", "shapley_ordered")
#: ``presence`` settings measured with ``--variants``.
VARIANTS: dict[str, dict[str, object]] = {
    "presence guard 0": {"guard_steps": 0},
    "presence guard 2": {"guard_steps": 2},
    "presence no recency": {"recent_steps": 0},
    "presence recency 2": {"recent_steps": 2},
    "presence recency 5": {"recent_steps": 5},
    "presence no pairs": {"pairs": "none"},
    "presence penalty 30": {"penalty": 30.0},
}


@dataclass
class Score:
    table: str
    scenario: str
    seed: int
    model: str
    share_error_tvd: float


@dataclass
class Results:
    settings: dict[str, object]
    scores: list[Score] = field(default_factory=list)


def path_models(variants: bool) -> dict[str, AttributionModel]:
    """Fresh models by label: every model that runs on a path table."""
    models: dict[str, AttributionModel] = {
        name: make_model(name)
        for name in RULE_MODELS
        if name in all_models() and not make_model(name).needs_times
    }
    models["markov"] = make_model("markov")
    models["presence"] = Presence()
    models["shapley"] = Shapley()
    models["shapley_observed_rates"] = Shapley(game="observed_rates")
    for name in CLOSED_FORM:
        models[name] = make_model(name)
    if variants:
        for label, params in VARIANTS.items():
            models[label] = Presence(**params)  # type: ignore[arg-type]
    return models


def scores_of(
    data: at.Loaded | at.Journeys, models: dict[str, AttributionModel], truth: pd.DataFrame
) -> dict[str, float]:
    result = at.attribute(data, models, by=("channel",))
    if not result.reconciliation.ok:
        raise AssertionError(f"credits do not reconcile:\n{result.reconciliation.to_text()}")
    errors = compare(result.credits, truth).errors
    assert errors is not None
    return dict(zip(errors["model"], errors["share_error_tvd"], strict=True))


def measure(args: argparse.Namespace) -> Results:
    results = Results(settings={k: v for k, v in vars(args).items() if k != "json"})
    for scenario in args.scenarios:
        for seed in args.seeds:
            sim = simulate(scenario, journeys=args.journeys, seed=seed)
            assert sim.truth is not None
            loaded = sim.load()
            tables = {
                "windowed": loaded.journeys.window(None)[0],
                "raw": loaded.journeys,
            }
            for table in args.paths:
                paths = at.load(paths_frame(tables[table]), paths=True)
                for model, tvd in scores_of(paths, path_models(args.variants), sim.truth).items():
                    results.scores.append(Score(table, scenario, seed, model, tvd))
            if args.timed:
                games: dict[str, AttributionModel] = {
                    "shapley": Shapley(),
                    "shapley_observed_rates": Shapley(game="observed_rates"),
                }
                for model, tvd in scores_of(loaded, games, sim.truth).items():
                    results.scores.append(Score("timed", scenario, seed, model, tvd))
            print(f"{scenario} seed {seed} done", file=sys.stderr, flush=True)
    return results


def _mean_sd(values: list[float]) -> str:
    if len(values) > 1:
        return f"{statistics.fmean(values):.3f} ± {statistics.stdev(values):.3f}"
    return f"{values[0]:.3f}"


def render(results: Results) -> str:
    frame = pd.DataFrame([asdict(s) for s in results.scores])
    rules = set(RULE_MODELS)
    robust = [s for s in dict.fromkeys(frame["scenario"]) if s in robustness_names()]
    lines: list[str] = (
        [
            "",
            f"Robustness scenarios: {', '.join(robust)}. The simulator draws conversions from "
            "an additive hazard of decaying touch effects; a path table keeps only the order "
            "of the touches, so every model here is misspecified for it. `exposure_response` "
            "is not an additive hazard at all (a logistic response to saturating touch "
            "counts, whatever their timing)."
            + (
                " `late_passenger` is `last_touch_trap` with the passenger's touch moved "
                "earlier in time, never before the last causal touch, so its path tables "
                "are `last_touch_trap`'s."
                if "late_passenger" in robust
                else ""
            ),
        ]
        if robust
        else []
    )
    for table, part in frame.groupby("table", sort=False):
        scenarios = list(dict.fromkeys(part["scenario"]))
        means = part.groupby(["model", "scenario"], sort=False)["share_error_tvd"].mean()
        title = {
            "windowed": "Path tables of the paths up to each conversion",
            "raw": "Path tables of all touches (after-conversion touches included)",
            "timed": "Touch tables (with times): the two games of shapley",
        }[str(table)]
        lines += [
            "",
            f"{title}: share error (TVD against the true shares; lower is better), mean ± sd "
            "over seeds:",
            "",
            "| model | " + " | ".join(scenarios) + " | mean |",
            "|---|" + "---:|" * (len(scenarios) + 1),
        ]
        for model, rows in part.groupby("model", sort=False):
            cells = [
                _mean_sd(rows[rows["scenario"] == s]["share_error_tvd"].tolist()) for s in scenarios
            ]
            overall = statistics.fmean(means[model].tolist())
            lines.append(f"| {model} | " + " | ".join(cells) + f" | {overall:.3f} |")
        if table == "timed":
            continue
        best_rule = [
            min(
                (means[m][s], m)
                for m in rules
                if (m, s) in means.index and not math.isnan(means[m][s])
            )
            for s in scenarios
        ]
        lines += [
            "",
            "| scenario | presence | markov | shapley (model game) | shapley_observed_rates "
            "| best rule model | presence lowest? |",
            "|---|---:|---:|---:|---:|---|---|",
        ]
        for s, (tvd, name) in zip(scenarios, best_rule, strict=True):
            mine = means["presence"][s]
            others = [means["markov"][s], means["shapley_observed_rates"][s], tvd]
            verdict = "yes" if mine < min(others) else "no"
            lines.append(
                f"| {s} | {mine:.3f} | {means['markov'][s]:.3f} | {means['shapley'][s]:.3f} | "
                f"{means['shapley_observed_rates'][s]:.3f} | {name} {tvd:.3f} | {verdict} |"
            )
        mean_best_rule = statistics.fmean(t for t, _ in best_rule)
        rule_means = {m: statistics.fmean(means[m].tolist()) for m in rules if m in means}
        best_single = min(rule_means.items(), key=lambda kv: kv[1])
        lines += [
            "",
            f"Mean over scenarios: presence {statistics.fmean(means['presence'].tolist()):.3f}, "
            f"markov {statistics.fmean(means['markov'].tolist()):.3f}, shapley (model game) "
            f"{statistics.fmean(means['shapley'].tolist()):.3f}, shapley_observed_rates "
            f"{statistics.fmean(means['shapley_observed_rates'].tolist()):.3f}, best rule model "
            f"overall {best_single[0]} {best_single[1]:.3f}, best rule model per scenario "
            f"(an oracle choice) {mean_best_rule:.3f}.",
        ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=20_000, help="buyers per dataset")
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument(
        "--scenarios",
        default="all",
        help="comma-separated names, 'presets', 'robustness' or 'all' (both)",
    )
    parser.add_argument("--paths", default="windowed", help="windowed, raw or windowed,raw")
    parser.add_argument("--timed", action="store_true", help="also score the touch tables")
    parser.add_argument("--variants", action="store_true", help="also presence variants")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    args.seeds = [int(s) for s in str(args.seeds).split(",") if s]
    args.scenarios = scenario_list(parser, str(args.scenarios))
    args.paths = [p for p in str(args.paths).split(",") if p]
    if not set(args.paths) <= {"windowed", "raw"}:
        parser.error("--paths takes windowed, raw or both")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    report(measure(args), render, args.json)


if __name__ == "__main__":
    main()
