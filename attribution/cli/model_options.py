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


def _pairs(text: str) -> str | tuple[tuple[str, str], ...]:
    """``auto``, ``none``, or channel pairs written ``A+B,C+D``."""
    if text in ("auto", "none"):
        return text
    pairs = []
    for item in text.split(","):
        names = [name.strip() for name in item.split("+")]
        if len(names) != 2 or not all(names):
            raise argparse.ArgumentTypeError(
                f"expected auto, none or channel pairs like A+B,C+D; got {item!r}"
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
        "--shapley-game",
        "shapley: the game: presence (expected conversions under the fitted presence "
        "model, default) or observed_rates (observed conversion rates of channel sets)",
        {"shapley": "game"},
        type=str,
        choices=("presence", "observed_rates"),
    ),
    ModelOption(
        "--shapley-unobserved",
        "shapley, observed_rates game: rate of channel combinations never observed: "
        "mean_subsets (mean of the one-smaller combinations, default), best_subset (best "
        "observed subset) or zero",
        {"shapley": "unobserved"},
        type=str,
        choices=("mean_subsets", "best_subset", "zero"),
    ),
    ModelOption(
        "--shapley-smoothing",
        "shapley, observed_rates game: shrink observed rates of sub-combinations toward "
        "the rule's estimate with this many pseudo-journeys (default 0)",
        {"shapley": "smoothing"},
        metavar="K",
    ),
    ModelOption(
        "--shapley-exact-limit",
        "shapley, observed_rates game: most active channels solved exactly over all 2^C "
        "combinations (default 24; memory 5 x 8 x 2^C bytes)",
        {"shapley": "exact_limit"},
        type=int,
        metavar="C",
    ),
    ModelOption(
        "--shapley-sampling",
        "shapley, observed_rates game: above the exact limit, allow permutation sampling "
        "(default) or forbid it (then an error suggests grouping channels)",
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
    ModelOption(
        "--presence-guard-steps",
        "presence: a touch counts from this many steps after it (default 1: the touch "
        "right before a conversion cannot take the credit for it)",
        {"presence": "guard_steps"},
        type=int,
        metavar="G",
    ),
    ModelOption(
        "--presence-recent-steps",
        "presence: a channel is recent while it is among the last M touches counted "
        "(default 3; 0: no recency effects)",
        {"presence": "recent_steps"},
        type=int,
        metavar="M",
    ),
    ModelOption(
        "--presence-penalty",
        "presence: ridge penalty on the effects (default 1)",
        {"presence": "penalty"},
        metavar="K",
    ),
    ModelOption(
        "--presence-pairs",
        "presence: channel pairs: auto (selected by a score test, default), none, or A+B,C+D",
        {"presence": "pairs"},
        type=_pairs,
        metavar="auto|none|A+B,...",
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
