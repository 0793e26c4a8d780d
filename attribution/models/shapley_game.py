"""The interface between a fitted model and the model-based Shapley game.

A model that predicts conversion through a *cumulative hazard additive over channels*
can say, for every journey, how likely it was to convert with only some of its channels
kept. For journey ``j`` with distinct channels ``T_j`` and any ``U ⊆ T_j``:

    P_j(U) = 1 - exp(-(base_j + Σ_{c ∈ U} part_jc + Σ_{pairs {a, b} ⊆ U} part_jab)),

all parts ``>= 0``. ``presence`` is such a model (parts are effects times the steps a
channel was present or recent in), and so is an additive-hazard model over time
(parts are the fitted hazard integrated over the journey). :class:`ExposureTerms` holds
these numbers; a model provides them through :class:`ExposureModel`.

**The game** (``shapley``'s default): each converted journey ``j`` of amount ``s_j``
(its conversions, or its value) is a game on the subsets of its own channels,
``g_j(U) = s_j (P_j(U) - P_j(∅)) / (P_j(T_j) - P_j(∅))``, the share of its
channel-driven conversion probability that the channels in ``U`` keep, scaled to its
observed amount. The game of all journeys is their sum,

    v(S) = Σ_j g_j(S ∩ T_j),      v(all channels) = creditable total,   v(∅) = 0,

so efficiency holds against the data: the channel values sum exactly to the
conversions (value) of the converted journeys with touches, and each journey's credits
to its own amount. (``P_j(∅)``, the baseline, is what the model says would have
converted without any tracked touch; it is not a channel, so each journey's amount is
shared by its channels in proportion to what they add.) The Shapley value of ``v`` is the
sum of the journeys' values, each computed exactly in closed form
(:mod:`attribution.kernels.shapley_exposure`). Journeys that did not convert have
amount 0 and play no part: under the model's monotone coupling a journey that did not
convert with all its channels would not convert with fewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from attribution.journeys import Journeys
from attribution.kernels.shapley_exposure import exposure_shares, split_to_touches
from attribution.models.base import TouchCredit


@dataclass(frozen=True)
class ExposureTerms:
    """Every journey's cumulative hazard split by channel and pair (see the module doc).

    Per journey: ``base``. Members (distinct channels, ascending code) of journey ``j``
    are ``member_offsets[j]:member_offsets[j + 1]`` of ``member_channel`` (codes) and
    ``member_part``. Its pairs are ``pair_offsets[j]:pair_offsets[j + 1]`` of
    ``pair_members`` (two columns of member indices local to the journey) and
    ``pair_part``. Per touch: ``touch_weight``, the touch's contribution to the
    journey's hazard, by which a channel's credit in the journey is split over its
    touches (evenly where all of a channel's weights are 0).
    """

    base: np.ndarray
    member_offsets: np.ndarray
    member_channel: np.ndarray
    member_part: np.ndarray
    pair_offsets: np.ndarray
    pair_members: np.ndarray
    pair_part: np.ndarray
    touch_weight: np.ndarray


@runtime_checkable
class ExposureModel(Protocol):
    """A model that, once fitted, splits each journey's cumulative hazard by channel.

    Besides ``exposure_terms``, a fitted model has ``channel_names_`` (the coding of its
    statistics) and the usual ``statistics`` / ``fit_statistics`` / ``notes``.
    """

    name: str

    def exposure_terms(self, journeys: Journeys) -> ExposureTerms:
        """The terms of every journey of ``journeys`` (coded like the fitted statistics)."""
        ...


@dataclass(frozen=True)
class ExposureCredit:
    """Touch credit from exposure terms, and the converted journeys (records and value)
    that no channel explains (every part 0), which were split evenly instead."""

    credit: TouchCredit
    even_journeys: float
    even_value: float


def credited_journeys(journeys: Journeys) -> np.ndarray:
    """The journeys with an amount to credit (conversions or value above 0): the only
    ones whose terms :func:`exposure_credit` reads."""
    return (np.asarray(journeys.conversions, np.float64) > 0) | (
        np.asarray(journeys.value, np.float64) > 0
    )


def exposure_credit(terms: ExposureTerms, journeys: Journeys, *, shapley: bool) -> ExposureCredit:
    """Credit each converted journey's conversions and value to its channels by their
    Shapley values in its game (``shapley``) or by their removal effects, normalised
    within the journey, and split each channel's part over its touches. Only the terms
    of :func:`credited_journeys` are read."""
    conversions = np.asarray(journeys.conversions, np.float64)
    value = np.asarray(journeys.value, np.float64)
    wanted = credited_journeys(journeys)
    shares, even = exposure_shares(
        terms.base,
        terms.member_offsets,
        terms.member_part,
        terms.pair_offsets,
        terms.pair_members,
        terms.pair_part,
        wanted,
        shapley,
    )
    credited_conversions, credited_value = split_to_touches(
        np.ascontiguousarray(journeys.channel),
        np.asarray(journeys.offsets, np.int64),
        terms.member_offsets,
        terms.member_channel,
        shares,
        terms.touch_weight,
        conversions,
        value,
        journeys.n_channels,
    )
    return ExposureCredit(
        TouchCredit(credited_conversions, credited_value),
        even_journeys=float(conversions[even].sum()),
        even_value=float(value[even].sum()),
    )
