"""Command-line options that set model parameters, declared in one table.

Each option names the models it applies to and the constructor parameter it sets, so a
model's options are parsed, checked and passed the same way for every subcommand. The
defaults shown in ``--help`` are read from the models' own ``__init__`` signatures
(:func:`attribution.models.registry.model_defaults`), never restated here.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from attribution.errors import ParameterError
from attribution.models.registry import make_model, model_defaults, model_names
from attribution.seeds import SEED_LIMIT

#: Models whose parameter holds another model, built from that model's options:
#: ``shapley``'s model-based game uses a ``presence`` model, so ``--presence-*`` options
#: set it too (outer model -> (parameter, inner model)).
GAME_MODELS: dict[str, tuple[str, str]] = {"shapley": ("game_model", "presence")}


def seed_type(text: str) -> int:
    """A seed: an integer 0 <= S < 2^63 (the range the kernels' generators take)."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if not 0 <= seed < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to 2^63 - 1, got {seed}")
    return seed


def _weights(count: int) -> Callable[[str], tuple[float, ...]]:
    def parse(text: str) -> tuple[float, ...]:
        try:
            values = tuple(float(v) for v in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {count} comma-separated numbers") from None
        if len(values) != count:
            raise argparse.ArgumentTypeError(f"expected {count} comma-separated numbers")
        return _fractions(values)

    return parse


def _fractions(values: tuple[float, ...]) -> tuple[float, ...]:
    """Percentages (40,20,40) and fractions (0.4,0.2,0.4) are both accepted; any other sum
    is named here, as the option's problem."""
    try:
        total = math.fsum(values) if all(math.isfinite(v) for v in values) else math.nan
    except OverflowError:
        total = math.inf
    if abs(total - 100) < 1e-6:
        return tuple(v / 100 for v in values)
    if not abs(total - 1) <= 1e-9:
        raise argparse.ArgumentTypeError(
            f"the weights sum to {total:g}: give fractions summing to 1 or percentages "
            "summing to 100"
        )
    return values


def _any_weights(text: str) -> tuple[float, ...]:
    """Comma-separated weights, as fractions or percentages (summing to 100)."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated numbers") from None
    return _fractions(values)


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
    """``auto``, ``none``, or channel pairs written ``A+B,C+D``."""
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
        "hazard: half-lives in days of the decay basis of channel effects",
        {"hazard": "half_lives"},
        type=_days_list,
        metavar="DAYS,...",
    ),
    ModelOption(
        "--hazard-guard-days",
        "hazard: no touch causes a conversion within this many days of itself, which keeps "
        "touches booked on imminent conversions from being credited",
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
        "hazard: channel pairs with a joint effect: auto (forward selection by score test), "
        "none, or A+B,C+D",
        {"hazard": "pairs"},
        type=_pairs,
        metavar="auto|none|A+B,...",
    ),
    ModelOption(
        "--half-life",
        "time_decay half-life in days",
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
        "w_shaped first touch, lead creation, opportunity creation, other shares",
        {"w_shaped": ("first_touch", "lead_creation", "opportunity_creation", "other")},
        type=_weights(4),
        metavar="FT,LC,OC,REST",
    ),
    ModelOption(
        "--milestone-weights",
        "custom_stage shares: first touch, each --milestones milestone in order, the rest",
        {"custom_stage": "weights"},
        type=_any_weights,
        metavar="FT,M1,...,REST",
    ),
    ModelOption(
        "--full-path-weights",
        "full_path first touch, lead creation, opportunity creation, closed, other shares",
        {"full_path": ("first_touch", "lead_creation", "opportunity_creation", "closed", "other")},
        type=_weights(5),
        metavar="FT,LC,OC,CW,REST",
    ),
    ModelOption(
        "--shapley-game",
        "shapley: the game: presence (expected conversions under the fitted presence "
        "model; --presence-* options set that model) or observed_rates (observed "
        "conversion rates of channel sets)",
        {"shapley": "game"},
        type=str,
        choices=("presence", "observed_rates"),
    ),
    ModelOption(
        "--shapley-unobserved",
        "shapley, observed_rates game: rate of channel combinations never observed: "
        "mean_subsets (mean of the one-smaller combinations), best_subset (best observed "
        "subset) or zero",
        {"shapley": "unobserved"},
        type=str,
        choices=("mean_subsets", "best_subset", "zero"),
    ),
    ModelOption(
        "--shapley-smoothing",
        "shapley, observed_rates game: shrink observed rates of sub-combinations toward "
        "the rule's estimate with this many pseudo-journeys",
        {"shapley": "smoothing"},
        metavar="K",
    ),
    ModelOption(
        "--shapley-exact-limit",
        "shapley, observed_rates game: most active channels solved exactly over all 2^C "
        "combinations (memory 5 x 8 x 2^C bytes)",
        {"shapley": "exact_limit"},
        type=int,
        metavar="C",
    ),
    ModelOption(
        "--shapley-sampling",
        "shapley, observed_rates game: above the exact limit, allow permutation sampling "
        "or forbid it (then an error suggests grouping channels)",
        {"shapley": "sampling"},
        type=str,
        choices=("allow", "forbid"),
    ),
    ModelOption(
        "--shapley-tolerance",
        "shapley sampling: stop when every channel's standard error is at most this "
        "fraction of the total",
        {"shapley": "tolerance"},
        metavar="REL",
    ),
    ModelOption(
        "--shapley-max-permutations",
        "shapley sampling: at most this many permutations per channel set, whether or not "
        "the tolerance is met",
        {"shapley": "max_permutations"},
        type=int,
        metavar="N",
    ),
    ModelOption(
        "--markov-order",
        "markov: order k of the chain, states are the last k channels",
        {"markov": "order"},
        type=int,
        metavar="K",
    ),
    ModelOption(
        "--markov-repeats",
        "markov: keep consecutive touches of one channel as transitions or collapse them "
        "into one touch",
        {"markov": "repeats"},
        type=str,
        choices=("keep", "collapse"),
    ),
    ModelOption(
        "--markov-max-states",
        "markov: refuse chains with more states than this",
        {"markov": "max_states"},
        type=int,
        metavar="N",
    ),
    ModelOption(
        "--presence-guard-steps",
        "presence: a touch counts from this many steps after it (1: the touch right "
        "before a conversion cannot take the credit for it)",
        {"presence": "guard_steps"},
        type=int,
        metavar="G",
    ),
    ModelOption(
        "--presence-recent-steps",
        "presence: a channel is recent while it is among the last M touches counted "
        "(0: no recency effects)",
        {"presence": "recent_steps"},
        type=int,
        metavar="M",
    ),
    ModelOption(
        "--presence-penalty",
        "presence: ridge penalty on the effects",
        {"presence": "penalty"},
        metavar="K",
    ),
    ModelOption(
        "--presence-pairs",
        "presence: channel pairs: auto (selected by a score test), none, or A+B,C+D",
        {"presence": "pairs"},
        type=_pairs,
        metavar="auto|none|A+B,...",
    ),
]


def _default_text(option: ModelOption) -> str:
    """``(default ...)`` from the first target model's signature."""
    model, target = next(iter(option.targets.items()))
    defaults = model_defaults(model)
    names = target if isinstance(target, tuple) else (target,)
    values = [defaults.get(n) for n in names]
    if any(v is None for v in values):
        return ""
    if isinstance(target, tuple):
        return " (default " + ",".join(f"{100 * v:g}" for v in values if v is not None) + ")"
    if isinstance(values[0], tuple):
        return " (default " + ",".join(f"{v:g}" for v in values[0]) + ")"
    value = values[0]
    return f" (default {value:g})" if isinstance(value, float) else f" (default {value})"


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model parameters")
    for option in MODEL_OPTIONS:
        group.add_argument(
            option.flag,
            dest=option.dest,
            type=option.type,
            choices=option.choices,
            metavar=option.metavar,
            help=option.help + _default_text(option),
            default=None,
            **option.extra,
        )


#: Parameters of :func:`attribution.attribute` whose option has another name: parameter
#: -> (argument name, flag).
ENGINE_FLAGS = {
    "lookback_days": ("lookback", "--lookback"),
    # The Dask engine's (attribution.dask.attribute).
    "partitioned=True": ("partitioned", "--partitioned"),
    "shuffle_to": ("shuffle_to", "--shuffle-to"),
    "partitions": ("partitions", "--partitions"),
}


def flag_message(message: str, args: argparse.Namespace) -> str:
    """A library ParameterError message in the words of the command line: a model
    parameter the user set through an option is named by its flag. The message of an
    option that sets one parameter and starts with it (``half_life_days must be ...``)
    gets the flag in its place (``--half-life must be ...``); any other message naming a
    parameter an option of this command line set gets ``(set by --flag)`` appended.
    Parameters of :func:`attribution.attribute` named otherwise (:data:`ENGINE_FLAGS`)
    are replaced the same way."""
    for name, (dest, flag) in ENGINE_FLAGS.items():
        if getattr(args, dest, None) is not None and message.startswith((f"{name} ", f"{name}:")):
            return flag + message[len(name) :]
    for option in MODEL_OPTIONS:
        if getattr(args, option.dest, None) is None:
            continue
        for target in option.targets.values():
            names = target if isinstance(target, tuple) else (target,)
            for name in names:
                if isinstance(target, str) and message.startswith(f"{name} "):
                    return option.flag + message[len(name) :]
                if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", message):
                    return f"{message} (set by {option.flag})"
    return message


def model_parameters(
    args: argparse.Namespace, models: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Constructor parameters per model name from the options given on the command line;
    ``models``: the models of the run (None: all), an option for none of them is an error.
    Options of a game model (see :data:`GAME_MODELS`) also build the outer model's game
    model when it plays that game."""
    given: dict[str, dict[str, Any]] = {}
    for option in MODEL_OPTIONS:
        value = getattr(args, option.dest, None)
        if value is None:
            continue
        for model, target in option.targets.items():
            if isinstance(target, tuple):
                given.setdefault(model, {}).update(zip(target, value, strict=True))
            else:
                given.setdefault(model, {})[target] = value
    running = set(model_names() if models is None else models)
    parameters = {model: values for model, values in given.items() if model in running}
    reached = set(parameters)
    for outer, (parameter, inner) in GAME_MODELS.items():
        game = given.get(outer, {}).get("game", model_defaults(outer).get("game"))
        if inner in given and outer in running and game == inner:
            parameters.setdefault(outer, {})[parameter] = make_model(inner, given[inner])
            reached.add(inner)
    if models is not None:
        for option in MODEL_OPTIONS:
            if getattr(args, option.dest, None) is not None and not reached & set(option.targets):
                raise ParameterError(
                    f"{option.flag} sets a parameter of {', '.join(option.targets)}, which is "
                    "not among --models"
                    + (
                        " (nor the game model of a model that is)"
                        if set(option.targets) & {inner for _, inner in GAME_MODELS.values()}
                        else ""
                    )
                )
    return parameters
