"""The absorbing Markov chain of the ``markov`` model: states, counts and exact solution.

**States** (order ``k``): ``start``, the channel states, and the absorbing
``conversion`` and ``null``. A channel state is the tuple of the last ``k`` channels of
the journey so far. The first ``k - 1`` steps of a journey have seen fewer than ``k``
channels; their states are the shorter tuples, written with a leading ``(start)``
(``(start) > email`` for the first touch at order 2), i.e. the tuple padded on the left
with the start symbol. They are distinct from mid-journey states. A journey
``c_1 ... c_n`` that converted is the walk

    start -> (c_1) -> (c_1, c_2) -> ... -> (c_{n-k+1}, ..., c_n) -> conversion

(``null`` instead of ``conversion`` if it did not), ``n + 1`` transitions at every order.
States are coded as integers (see :mod:`attribution.kernels.markov`).

**Transition probabilities** are the weighted transition counts of all journeys with at
least one touch, converted or not, divided by the weighted visits of the from-state.
Journeys with no touch (a converted journey whose touches all fell outside the credit
window) are not part of the chain; the engine reports their value as not creditable.

**Repeats.** ``keep`` counts a repeated touch of the same channel as a self-loop
(order 1) or a move to a state ending in the channel twice; ``collapse`` first merges
consecutive touches of one channel into one.

**Solution.** With ``Q`` the transient-to-transient probabilities and ``r`` the
probabilities of stepping to ``conversion``, the absorption probabilities solve
``(I - Q) x = r`` and ``P = x[start]``. Only states from which ``conversion`` can be
reached enter the systems (the others have ``x = 0`` exactly); every state is reachable
from ``start`` by construction. Removing channel ``c`` redirects every transition into a
state containing ``c`` to ``null``; the states containing ``c`` (set ``R``) become
unreachable and the others (``S``) keep their rows. Rather than solving for
``P_-c`` and subtracting (which loses digits when ``P_-c`` is close to ``P``), the model
solves for the difference ``d = x - x_-c`` on ``S``,

    (I - Q)[S, S] d[S] = Q[S, R] x[R],

which is the probability of converting after visiting a state with ``c``, and
``RE_c = 1 - P_-c / P = d[start] / P``. A channel with no state that can reach
``conversion`` has ``R`` empty and ``RE_c = 0`` exactly.

**Value chain.** The same chain with each conversion transition weighted by the mean
value of the conversions it leads to: ``r_v[s]`` = (value of the conversions leaving
``s``) / (visits of ``s``), and ``(I - Q) x_v = r_v`` gives the expected value absorbed
from each state, ``V = x_v[start]``. Its removal effects ``RE^v_c = d_v[start] / V``
solve the same restricted systems with one more right-hand side per channel,
``Q[S, R] x_v[R]``. So a channel on the paths of large deals has a larger value removal
effect than conversion removal effect. All ``2 + 2C`` systems share ``Q`` and are solved
in one block (:mod:`attribution.models.markov_solver`; the conversion and value systems
of a channel share one factorisation).

**Observed conversion rate.** With counts and chain from the same journeys, ``P`` equals
the observed conversion rate (weighted conversions / weighted journeys with touches) at
every order and with either repeats option: the expected visits ``v`` solve
``v = e_start + Q^T v``, which the observed visits divided by the number of journeys
satisfy (every visit but the start is entered by a counted transition), so ``P = Σ_s v_s
r_s`` = observed conversions / journeys; likewise ``V = Σ_s v_s r_v[s]`` = observed value
/ journeys.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order

from attribution.columns import DEFAULT_SEPARATOR
from attribution.journeys import Journeys
from attribution.kernels.markov import (
    STATE_LIMIT_EXCEEDED,
    count_transitions,
    touch_state_codes,
)
from attribution.models.base import ModelNotApplicable
from attribution.models.channel_coding import channel_positions, merged_channel_names
from attribution.models.markov_solver import SolverMethod, solve_restricted

START_LABEL = "(start)"
CONVERSION_LABEL = "(conversion)"
NULL_LABEL = "(null)"
Repeats = Literal["keep", "collapse"]
REPEATS: tuple[Repeats, ...] = ("keep", "collapse")
#: Largest code of an order-k state times the radix must fit in a signed 64-bit integer.
_CODE_LIMIT = 2**63


class StateLimitError(ModelNotApplicable):
    """The chain has more states than allowed (or than 64-bit state codes can hold)."""


class NoConversionsError(ModelNotApplicable):
    """No converted journey has a touch: the chain never reaches ``conversion``."""


def state_limit_message(n_states: int, max_states: int, order: int, n_channels: int) -> str:
    """The error for a chain over the state limit, with what to do about it."""
    lower = f"use a lower order (order={order - 1}), " if order > 1 else ""
    return (
        f"the order-{order} Markov chain of {n_channels} channels has {n_states:,} states, "
        f"more than the limit of {max_states:,} (max_states); {lower}group channels into "
        "fewer (e.g. map them to broader channel groups before attributing), or raise the "
        "limit"
    )


def check_encodable(order: int, n_channels: int) -> None:
    """Refuse an order whose state codes would overflow 64 bits."""
    if (n_channels + 1) ** (order + 1) >= _CODE_LIMIT:
        raise StateLimitError(
            f"an order-{order} chain of {n_channels} channels cannot be encoded "
            "(states would need more than 64 bits); use a lower order or group channels"
        )


@dataclass(frozen=True)
class TransitionCounts:
    """Sufficient statistics of the chain for one partition of whole journeys.

    ``state`` / ``symbol`` / ``count``: the weighted transition counts as a sparse table
    sorted by (state, symbol): the from-state's code, the symbol (next channel code, or
    ``n_channels`` for conversion, ``n_channels + 1`` for null) and the weighted count;
    ``conversion_value``: the value of the conversions on each transition (0 unless the
    symbol is conversion).
    Per channel (indexed by channel code), over the journeys containing it, each journey
    once: ``conversions_with`` (conversions of converted journeys), ``value_with`` (their
    value) and ``weight_with`` (journeys of any outcome). ``value``: total value of the
    converted journeys with touches.
    """

    order: int
    collapse: bool
    channel_names: tuple[str, ...]
    state: np.ndarray
    symbol: np.ndarray
    count: np.ndarray
    conversion_value: np.ndarray
    conversions_with: np.ndarray
    value_with: np.ndarray
    weight_with: np.ndarray
    value: float

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)

    @property
    def conversions(self) -> float:
        """Weighted conversions of converted journeys with touches."""
        return float(self.count[self.symbol == self.n_channels].sum())

    @property
    def journeys(self) -> float:
        """Weighted journeys with touches (the transitions out of ``start``)."""
        return float(self.count[self.state == 0].sum())

    def merge(self, other: TransitionCounts) -> TransitionCounts:
        """The statistics of both partitions together, in the coding of all their channels."""
        if (self.order, self.collapse) != (other.order, other.collapse):
            raise ValueError(
                "cannot merge Markov statistics of different orders or repeats options"
            )
        names = merged_channel_names(self.channel_names, other.channel_names)
        mine, theirs = self.recoded(names), other.recoded(names)
        width = len(names) + 2
        key = np.concatenate(
            (mine.state * width + mine.symbol, theirs.state * width + theirs.symbol)
        )
        count = np.concatenate((mine.count, theirs.count))
        value = np.concatenate((mine.conversion_value, theirs.conversion_value))
        order = np.argsort(key, kind="stable")
        key, count, value = key[order], count[order], value[order]
        first = np.flatnonzero(np.diff(key, prepend=key[:1] - 1))
        if len(first):
            count = np.add.reduceat(count, first)
            value = np.add.reduceat(value, first)
        key = key[first]
        return TransitionCounts(
            order=self.order,
            collapse=self.collapse,
            channel_names=names,
            state=key // width,
            symbol=(key % width).astype(np.int32),
            count=count,
            conversion_value=value,
            conversions_with=mine.conversions_with + theirs.conversions_with,
            value_with=mine.value_with + theirs.value_with,
            weight_with=mine.weight_with + theirs.weight_with,
            value=self.value + other.value,
        )

    def recoded(self, channel_names: tuple[str, ...]) -> TransitionCounts:
        """The same counts with states and symbols over ``channel_names`` (which holds
        every channel): each state's digits and each symbol are renumbered."""
        if channel_names == self.channel_names:
            return self
        n_new = len(channel_names)
        check_encodable(self.order, n_new)
        position = channel_positions(self.channel_names, channel_names)
        digit = np.concatenate(([0], position + 1))  # digit 0 is the start padding
        digits = digit[state_digits(self.state, self.order, self.n_channels)]
        powers = (n_new + 1) ** np.arange(self.order - 1, -1, -1, dtype=np.int64)
        state = (digits * powers[None, :]).sum(axis=1).astype(np.int64)
        symbol = np.concatenate((position, [n_new, n_new + 1]))[self.symbol].astype(np.int32)
        order = np.lexsort((symbol, state))
        per_channel = {}
        for name in ("conversions_with", "value_with", "weight_with"):
            values = np.zeros(n_new)
            values[position] = getattr(self, name)
            per_channel[name] = values
        return TransitionCounts(
            order=self.order,
            collapse=self.collapse,
            channel_names=channel_names,
            state=state[order],
            symbol=symbol[order],
            count=self.count[order],
            conversion_value=self.conversion_value[order],
            value=self.value,
            **per_channel,
        )


def count_journeys(
    journeys: Journeys, order: int, collapse: bool, max_states: int
) -> TransitionCounts:
    """Count the transitions of a partition of whole journeys in one pass."""
    n_channels = journeys.n_channels
    check_encodable(order, n_channels)
    bound = sum(n_channels**i for i in range(order + 1))
    capacity = min(max_states, bound, journeys.n_touches + 1) + 1
    table = 1 << int(2 * capacity - 1).bit_length()
    codes = np.zeros(capacity, np.int64)
    successor = np.zeros(capacity * n_channels, np.int32)
    counts = np.zeros(capacity * (n_channels + 2), np.float64)
    keys = np.zeros(table, np.int64)
    ids = np.zeros(table, np.int64)
    conversions_with = np.zeros(n_channels, np.float64)
    value_with = np.zeros(n_channels, np.float64)
    weight_with = np.zeros(n_channels, np.float64)
    conversion_value = np.zeros(capacity, np.float64)
    channel = np.ascontiguousarray(journeys.channel, dtype=np.int32)
    offsets = np.ascontiguousarray(journeys.offsets, dtype=np.int64)
    status, n_states = count_transitions(
        channel,
        offsets,
        np.ascontiguousarray(journeys.converted, dtype=np.bool_),
        np.ascontiguousarray(journeys.weight, dtype=np.float64),
        np.ascontiguousarray(journeys.value, dtype=np.float64),
        n_channels,
        order,
        collapse,
        max_states,
        codes,
        successor,
        counts,
        keys,
        ids,
        conversions_with,
        value_with,
        weight_with,
        conversion_value,
    )
    if status == STATE_LIMIT_EXCEEDED:
        codes_seen = touch_state_codes(channel, offsets, n_channels, order, collapse)
        n_total = len(np.unique(codes_seen[codes_seen >= 0])) + 1
        raise StateLimitError(state_limit_message(n_total, max_states, order, n_channels))
    by_code = np.argsort(codes[:n_states])
    table_counts = counts[: n_states * (n_channels + 2)].reshape(n_states, n_channels + 2)
    table_counts = table_counts[by_code]
    rows, symbols = np.nonzero(table_counts)
    value_rows = np.where(symbols == n_channels, conversion_value[:n_states][by_code][rows], 0.0)
    has_touches = journeys.lengths > 0
    return TransitionCounts(
        order=order,
        collapse=collapse,
        channel_names=tuple(journeys.channel_names),
        state=codes[:n_states][by_code][rows],
        symbol=symbols.astype(np.int32),
        count=table_counts[rows, symbols],
        conversion_value=value_rows,
        conversions_with=conversions_with,
        value_with=value_with,
        weight_with=weight_with,
        value=float(journeys.value[journeys.converted & has_touches].sum()),
    )


def state_digits(codes: np.ndarray, order: int, n_channels: int) -> np.ndarray:
    """Digits of state codes, oldest channel first: 0 = start padding, else channel + 1."""
    radix = n_channels + 1
    powers = radix ** np.arange(order - 1, -1, -1, dtype=np.int64)
    return (np.asarray(codes, dtype=np.int64)[:, None] // powers[None, :]) % radix


def state_labels(codes: np.ndarray, order: int, channel_names: tuple[str, ...]) -> list[str]:
    """Readable names: ``(start)``, ``a > b``, ``(start) > a`` for a padded state."""
    names = np.asarray(channel_names, dtype=object)
    labels = []
    for row in state_digits(codes, order, len(channel_names)):
        channels = [str(names[d - 1]) for d in row if d > 0]
        if not channels:
            labels.append(START_LABEL)
        elif row[0] == 0:
            labels.append(DEFAULT_SEPARATOR.join([START_LABEL, *channels]))
        else:
            labels.append(DEFAULT_SEPARATOR.join(channels))
    return labels


@dataclass(frozen=True)
class Chain:
    """The transient part of the chain, restricted to states that can reach conversion.

    ``states``: codes of all transient states (sorted; ``start`` = code 0 first).
    ``live``: which of them can reach ``conversion``. ``transient`` (CSR) and
    ``conversion``: ``Q`` and ``r`` among the live states, in the order of
    ``states[live]``; ``conversion_value``: ``r_v``, the value absorbed per visit (the
    probability of stepping to ``conversion`` times the mean value of those conversions).
    """

    order: int
    n_channels: int
    states: np.ndarray
    live: np.ndarray
    transient: sp.csr_matrix
    conversion: np.ndarray
    conversion_value: np.ndarray

    @cached_property
    def live_states(self) -> np.ndarray:
        return self.states[self.live]

    @property
    def n_states(self) -> int:
        return len(self.states)

    def contains(self) -> np.ndarray:
        """Live states x channels: does the state's tuple contain the channel?"""
        digits = state_digits(self.live_states, self.order, self.n_channels)
        out = np.zeros((len(digits), self.n_channels + 1), np.bool_)
        rows = np.arange(len(digits))
        for position in range(self.order):
            out[rows, digits[:, position]] = True
        return out[:, 1:]


def index_transitions(counts: TransitionCounts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """States (sorted codes) and each counted transition's from and to state index.

    Index ``n`` (the number of states) stands for ``conversion`` and ``n + 1`` for
    ``null``. A channel step from state ``s`` by channel ``c`` goes to the state coded
    ``(s·R + c + 1) mod R^k``, which was counted as a from-state too (every journey
    leaves the state it reaches).
    """
    n_channels = counts.n_channels
    radix = n_channels + 1
    states = np.unique(counts.state)
    source = np.searchsorted(states, counts.state)
    step = counts.symbol < n_channels
    target = len(states) + counts.symbol.astype(np.int64) - n_channels
    following = (counts.state[step] * radix + counts.symbol[step] + 1) % radix**counts.order
    target[step] = np.searchsorted(states, following)
    return states, source, target


def build_chain(counts: TransitionCounts) -> Chain:
    """Transition probabilities from counts, restricted to states that can reach conversion."""
    states, source, target = index_transitions(counts)
    n = len(states)
    visits = np.bincount(source, weights=counts.count, minlength=n)
    to_conversion = target == n
    conversion = np.bincount(
        source[to_conversion], weights=counts.count[to_conversion], minlength=n
    )
    conversion_value = np.bincount(
        source[to_conversion], weights=counts.conversion_value[to_conversion], minlength=n
    )
    step = target < n
    source, target = source[step], target[step]
    probability = counts.count[step] / visits[source]
    live = _can_reach_conversion(source, target, conversion > 0, n)
    renumber = np.cumsum(live) - 1
    both = live[source] & live[target]
    n_live = int(live.sum())
    transient = sp.csr_matrix(
        (probability[both], (renumber[source[both]], renumber[target[both]])),
        shape=(n_live, n_live),
    )
    return Chain(
        order=counts.order,
        n_channels=counts.n_channels,
        states=states,
        live=live,
        transient=transient,
        conversion=(conversion / visits)[live],
        conversion_value=(conversion_value / visits)[live],
    )


def _can_reach_conversion(
    source: np.ndarray, target: np.ndarray, converts: np.ndarray, n: int
) -> np.ndarray:
    """States with a path to ``conversion``: a breadth-first search on reversed edges.

    Node ``n`` stands for ``conversion``; reversed, it links to every state that steps
    to it directly.
    """
    sinks = np.flatnonzero(converts)
    reversed_edges = sp.csr_matrix(
        (
            np.ones(len(source) + len(sinks)),
            (np.concatenate((target, np.full(len(sinks), n))), np.concatenate((source, sinks))),
        ),
        shape=(n + 1, n + 1),
    )
    reached = breadth_first_order(reversed_edges, n, directed=True, return_predecessors=False)
    live = np.zeros(n + 1, np.bool_)
    live[reached] = True
    return live[:n]


@dataclass(frozen=True)
class ChainSolution:
    """``P(conversion)`` and the expected value from start, the removal effects of every
    channel on both, and how they were solved."""

    probability: float
    expected_value: float
    removal_effects: np.ndarray
    value_removal_effects: np.ndarray
    method: str
    residual: float
    backward_error: float


def solve_chain(chain: Chain, *, method: SolverMethod, tolerance: float) -> ChainSolution:
    """Exact ``P``, ``V`` and removal effects (see the module doc)."""
    if not chain.live.any():
        raise NoConversionsError(
            "the markov model needs at least one converted journey with a touch in the "
            "credit window, and there is none"
        )
    transient = chain.transient
    n = transient.shape[0]
    main = solve_restricted(
        transient,
        np.ones((n, 2), np.bool_),
        np.column_stack((chain.conversion, chain.conversion_value)),
        method=method,
        tolerance=tolerance,
    )
    x = main.x
    probability, expected_value = float(x[0, 0]), float(x[0, 1])
    contains = chain.contains()
    present = np.flatnonzero(contains.any(axis=0))
    effects = np.zeros((2, chain.n_channels), np.float64)
    residual, backward = main.residual, main.backward_error
    if present.size:
        removed = contains[:, present]
        # Columns: the conversion system of each present channel, then its value system.
        mask = np.concatenate((~removed, ~removed), axis=1)
        kept = np.concatenate((removed * x[:, :1], removed * x[:, 1:]), axis=1)
        differences = solve_restricted(
            transient, mask, np.asarray(transient @ kept), method=method, tolerance=tolerance
        )
        totals = np.array([probability, expected_value])
        start = differences.x[0].reshape(2, len(present))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = start / totals[:, None]
        # d[start] / P is in [0, 1] exactly; clip rounding of the order of the tolerance.
        effects[:, present] = np.clip(np.where(totals[:, None] > 0, ratio, 0.0), 0.0, 1.0)
        residual = max(residual, differences.residual)
        backward = max(backward, differences.backward_error)
    return ChainSolution(
        probability=probability,
        expected_value=expected_value,
        removal_effects=effects[0],
        value_removal_effects=effects[1],
        method=main.method,
        residual=residual,
        backward_error=backward,
    )
