"""Command-line options that set model parameters, declared in one table.

Each option names the models it applies to and the constructor parameter it sets, so a
model's options are parsed, checked and passed the same way for every subcommand.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def _weights(count: int) -> Callable[[str], tuple[float, ...]]:
    def parse(text: str) -> tuple[float, ...]:
        try:
            values = tuple(float(v) for v in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {count} comma-separated numbers") from None
        if len(values) != count:
            raise argparse.ArgumentTypeError(f"expected {count} comma-separated numbers")
        total = sum(values)
        # Percentages (40,20,40) and fractions (0.4,0.2,0.4) are both accepted.
        return tuple(v / 100 for v in values) if abs(total - 100) < 1e-6 else values

    return parse


def _days_list(text: str) -> tuple[float, ...]:
    """``1,3,7`` as days; each a positive number."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated numbers of days") from None
    if not values or not all(v > 0 and v != float("inf") for v in values):
        raise argparse.ArgumentTypeError("expected positive numbers of days")
    return values


def _pairs(text: str) -> str | tuple[tuple[str, str], ...]:
    """``auto``, ``none`` or channel pairs ``A+B,C+D``."""
    if text in ("auto", "none"):
        return text
    pairs = []
    for item in text.split(","):
        names = [name.strip() for name in item.split("+")]
        if len(names) != 2 or not all(names) or names[0] == names[1]:
            raise argparse.ArgumentTypeError(
                f"expected auto, none or pairs of two different channels as A+B,C+D; got {item!r}"
            )
        pairs.append((names[0], names[1]))
    return tuple(pairs)


@dataclass(frozen=True)
class ModelOption:
    """One ``--flag`` and the constructor parameter(s) it sets, per model name."""

    flag: str
    help: str
    targets: dict[str, str | tuple[str, ...]]
    type: Callable[[str], Any] = float
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


MODEL_OPTIONS: list[ModelOption] = [
    ModelOption(
        "--hazard-half-lives",
        "hazard: half-lives in days of the decay basis of channel effects (default 1,3,7,14,30)",
        {"hazard": "half_lives"},
        type=_days_list,
        metavar="DAYS,...",
    ),
    ModelOption(
        "--hazard-guard-days",
        "hazard: no touch causes a conversion within this many days of itself, which keeps "
        "touches booked on imminent conversions from being credited (default 1)",
        {"hazard": "guard_days"},
        metavar="DAYS",
    ),
    ModelOption(
        "--hazard-horizon-days",
        "hazard: journeys that did not convert are at risk this many days from their first "
        "touch (default: the longest first-touch-to-conversion gap)",
        {"hazard": "horizon_days"},
        metavar="DAYS",
    ),
    ModelOption(
        "--hazard-pairs",
        "hazard: channel pairs with a joint effect: auto (forward selection by score test, "
        "default), none, or A+B,C+D",
        {"hazard": "pairs"},
        type=_pairs,
        metavar="auto|none|A+B,...",
    ),
    ModelOption(
        "--half-life",
        "time_decay half-life in days (default 7)",
        {"time_decay": "half_life_days"},
        metavar="DAYS",
    ),
    ModelOption(
        "--position-weights",
        "position_based first,middle,last shares, e.g. 40,20,40 or 0.3,0.4,0.3",
        {"position_based": ("first", "middle", "last")},
        type=_weights(3),
        metavar="F,M,L",
    ),
    ModelOption(
        "--w-weights",
        "w_shaped first touch, lead creation, opportunity creation, other shares "
        "(default 30,30,30,10)",
        {"w_shaped": ("first_touch", "lead_creation", "opportunity_creation", "other")},
        type=_weights(4),
        metavar="FT,LC,OC,REST",
    ),
    ModelOption(
        "--full-path-weights",
        "full_path first touch, lead creation, opportunity creation, closed, other shares "
        "(default 22.5,22.5,22.5,22.5,10)",
        {"full_path": ("first_touch", "lead_creation", "opportunity_creation", "closed", "other")},
        type=_weights(5),
        metavar="FT,LC,OC,CW,REST",
    ),
    ModelOption(
        "--shapley-unobserved",
        "shapley: rate of channel combinations never observed: mean_subsets (mean of the "
        "one-smaller combinations, default), best_subset (best observed subset) or zero",
        {"shapley": "unobserved"},
        type=str,
        choices=("mean_subsets", "best_subset", "zero"),
    ),
    ModelOption(
        "--shapley-smoothing",
        "shapley: shrink observed rates of sub-combinations toward the rule's estimate "
        "with this many pseudo-journeys (default 0)",
        {"shapley": "smoothing"},
        metavar="K",
    ),
    ModelOption(
        "--shapley-exact-limit",
        "shapley: most active channels solved exactly over all 2^C combinations "
        "(default 24; memory 5 x 8 x 2^C bytes)",
        {"shapley": "exact_limit"},
        type=int,
        metavar="C",
    ),
    ModelOption(
        "--shapley-sampling",
        "shapley: above the exact limit, allow permutation sampling (default) or forbid "
        "it (then an error suggests grouping channels)",
        {"shapley": "sampling"},
        type=str,
        choices=("allow", "forbid"),
    ),
    ModelOption(
        "--shapley-tolerance",
        "shapley sampling: stop when every channel's standard error is at most this "
        "fraction of the total (default 0.001)",
        {"shapley": "tolerance"},
        metavar="REL",
    ),
    ModelOption(
        "--shapley-max-permutations",
        "shapley sampling: at most this many permutations per channel set, whether or not "
        "the tolerance is met (default 4096)",
        {"shapley": "max_permutations"},
        type=int,
        metavar="N",
    ),
    ModelOption(
        "--seed",
        "random seed of sampled estimates (shapley above the exact limit; default 0)",
        {"shapley": "seed"},
        type=int,
    ),
    ModelOption(
        "--markov-order",
        "markov: order k of the chain, states are the last k channels (default 1)",
        {"markov": "order"},
        type=int,
        metavar="K",
    ),
    ModelOption(
        "--markov-repeats",
        "markov: keep consecutive touches of one channel as transitions (default) or "
        "collapse them into one touch",
        {"markov": "repeats"},
        type=str,
        choices=("keep", "collapse"),
    ),
    ModelOption(
        "--markov-max-states",
        "markov: refuse chains with more states than this (default 250000)",
        {"markov": "max_states"},
        type=int,
        metavar="N",
    ),
]


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model parameters")
    for option in MODEL_OPTIONS:
        group.add_argument(
            option.flag,
            dest=option.dest,
            type=option.type,
            choices=option.choices,
            metavar=option.metavar,
            help=option.help,
            default=None,
            **option.extra,
        )


def model_parameters(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Constructor parameters per model name from the options given on the command line."""
    parameters: dict[str, dict[str, Any]] = {}
    for option in MODEL_OPTIONS:
        value = getattr(args, option.dest, None)
        if value is None:
            continue
        for model, target in option.targets.items():
            if isinstance(target, tuple):
                parameters.setdefault(model, {}).update(zip(target, value, strict=True))
            else:
                parameters.setdefault(model, {})[target] = value
    return parameters
