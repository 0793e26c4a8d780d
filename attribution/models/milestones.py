"""Milestone models of B2B funnels (as in Marketo Measure).

Milestone touches: FT, the first touch in the credit window; LC, the last touch at or
before ``lead_created_at``; OC, the last touch at or before ``opportunity_created_at``;
CW, the last touch at or before ``closed_at``.

- ``w_shaped``: 30% each to FT, LC and OC, 10% split evenly over the other touches.
- ``full_path``: 22.5% each to FT, LC, OC and CW, 10% split evenly over the others.

Rules: a touch holding several milestones receives all their shares. A milestone is
unknown when its time is missing or no credited touch is at or before it; the shares of
unknown milestones, and the "other" share when every touch holds a milestone, are not
given out, and the journey's weights are renormalised to sum to 1 (so what was not given
out is spread in proportion to what was). Example: W-shaped with FT and LC on one touch
and OC on a second, no others: 60/30 renormalised to 2/3 and 1/3.

The model counts, as it is fitted, how many converted journeys had each milestone
unknown (:class:`MilestoneCoverage`, mergeable across partitions), and says in its
notes how those shares were spread: on a path table, or without milestone columns,
every milestone but the first touch is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from attribution.errors import ParameterError
from attribution.journeys import TIME_FIELDS, Journeys
from attribution.kernels.rules import last_at_or_before, milestone_credit
from attribution.models.base import RuleModel, TouchCredit
from attribution.models.weights import check_weights
from attribution.notes import Note

MILESTONE_LABELS = {
    "first_touch": "first touch",
    "lead_created_at": "lead creation",
    "opportunity_created_at": "opportunity creation",
    "closed_at": "close",
}


def milestone_positions(journeys: Journeys, milestones: tuple[str, ...]) -> np.ndarray:
    """Per milestone and journey, the 0-based position of its touch (-1: unknown)."""
    columns = []
    for milestone in milestones:
        if milestone == "first_touch":
            columns.append(np.where(journeys.lengths > 0, 0, -1).astype(np.int64))
        else:
            times = np.asarray(getattr(journeys, milestone))
            columns.append(last_at_or_before(journeys.offsets, journeys.timestamp, times))
    return np.stack(columns)


@dataclass(frozen=True)
class MilestoneCoverage:
    """Converted journeys with touches (weighted), and how many of them had each
    milestone unknown."""

    milestones: tuple[str, ...]
    journeys: float
    unknown: np.ndarray

    def merge(self, other: MilestoneCoverage) -> MilestoneCoverage:
        return MilestoneCoverage(
            self.milestones, self.journeys + other.journeys, self.unknown + other.unknown
        )


class _MilestoneModel(RuleModel):
    milestones: ClassVar[tuple[str, ...]]
    other: float

    def milestone_shares(self) -> tuple[float, ...]:
        """The share of each milestone, in the order of ``milestones``."""
        raise NotImplementedError

    def _check_params(self) -> None:
        check_weights(self.name, self.get_params())

    def statistics(self, journeys: Journeys) -> MilestoneCoverage:
        credited = journeys.converted & (journeys.lengths > 0)
        positions = milestone_positions(journeys, self.milestones)
        weight = journeys.weight[credited]
        return MilestoneCoverage(
            self.milestones,
            float(weight.sum()),
            np.array([float(weight[row[credited] < 0].sum()) for row in positions]),
        )

    def fit_statistics(self, statistics: Any) -> _MilestoneModel:
        self._check_params()
        coverage: MilestoneCoverage = statistics
        self.coverage_ = coverage
        return self

    def _credit(self, journeys: Journeys) -> TouchCredit:
        return TouchCredit(
            *milestone_credit(
                journeys.offsets,
                journeys.conversions,
                journeys.value,
                milestone_positions(journeys, self.milestones),
                np.asarray(self.milestone_shares(), dtype=np.float64),
                float(self.other),
            )
        )

    def notes(self) -> tuple[Note, ...]:
        coverage: MilestoneCoverage | None = getattr(self, "coverage_", None)
        if coverage is None or coverage.journeys == 0 or not coverage.unknown.any():
            return ()
        parts = [
            f"{MILESTONE_LABELS[m]} in {n:,.0f}"
            for m, n in zip(coverage.milestones, coverage.unknown, strict=True)
            if n > 0
        ]
        return (
            Note(
                "milestones_unknown",
                f"milestone unknown (no time, or no credited touch at or before it) for "
                f"{'; '.join(parts)} of {coverage.journeys:,.0f} converted journeys: the "
                "shares of unknown milestones were spread over the known milestones and "
                "the other touches of each such journey, in proportion to their shares "
                "(each journey's weights renormalised to 1)",
                data={
                    "journeys": coverage.journeys,
                    "unknown": dict(
                        zip(coverage.milestones, coverage.unknown.tolist(), strict=True)
                    ),
                },
            ),
        )


class WShaped(_MilestoneModel):
    """FT / LC / OC shares and the share of the other touches (default 30/30/30/10)."""

    name = "w_shaped"
    milestones = ("first_touch", "lead_created_at", "opportunity_created_at")

    def __init__(
        self,
        first_touch: float = 0.3,
        lead_creation: float = 0.3,
        opportunity_creation: float = 0.3,
        other: float = 0.1,
    ) -> None:
        self.first_touch = first_touch
        self.lead_creation = lead_creation
        self.opportunity_creation = opportunity_creation
        self.other = other

    def milestone_shares(self) -> tuple[float, ...]:
        return (self.first_touch, self.lead_creation, self.opportunity_creation)


class FullPath(_MilestoneModel):
    """FT / LC / OC / CW shares and the others' share (default 22.5 x 4 / 10)."""

    name = "full_path"
    milestones = ("first_touch", "lead_created_at", "opportunity_created_at", "closed_at")

    def __init__(
        self,
        first_touch: float = 0.225,
        lead_creation: float = 0.225,
        opportunity_creation: float = 0.225,
        closed: float = 0.225,
        other: float = 0.1,
    ) -> None:
        self.first_touch = first_touch
        self.lead_creation = lead_creation
        self.opportunity_creation = opportunity_creation
        self.closed = closed
        self.other = other

    def milestone_shares(self) -> tuple[float, ...]:
        return (self.first_touch, self.lead_creation, self.opportunity_creation, self.closed)


class CustomStage(RuleModel):
    """A custom stage model (as in Marketo Measure): shares to the first touch, to the
    last touch at or before each named milestone (``mql_at``, ``sql_at``: further
    milestone columns read at load time, or the standard ``lead_created_at``,
    ``opportunity_created_at``, ``closed_at``), and to the other touches.

    ``weights`` are (first touch, each milestone in order, the rest) and sum to 1. The
    rules of the milestone models apply: a touch holding several milestones takes all
    their shares; unknown milestones' shares are spread in proportion over the rest.
    """

    name = "custom_stage"
    #: Runs only when configured (it has no default stages), so ``all`` leaves it out.
    needs_configuration: ClassVar[bool] = True

    def __init__(self, milestones: tuple[str, ...] = (), weights: tuple[float, ...] = ()) -> None:
        self.milestones = milestones
        self.weights = weights

    def _check_params(self) -> None:
        if isinstance(self.milestones, str) or not self.milestones:
            raise ParameterError(
                "custom_stage needs milestones: the names of milestone columns, e.g. "
                "('mql_at', 'sql_at')"
            )
        expected = len(self.milestones) + 2
        if len(self.weights) != expected:
            raise ParameterError(
                f"custom_stage needs {expected} weights (first touch, "
                f"{', '.join(self.milestones)}, the rest), got {len(self.weights)}"
            )
        names = ["first_touch", *self.milestones, "other"]
        check_weights(self.name, dict(zip(names, self.weights, strict=True)))

    def _credit(self, journeys: Journeys) -> TouchCredit:
        missing = [m for m in self.milestones if self._times(journeys, m) is None]
        if missing:
            raise ParameterError(
                f"custom_stage: the data has no milestone {', '.join(map(repr, missing))}; "
                "read it at load time: load(..., milestones=[...])"
            )
        positions = [np.where(journeys.lengths > 0, 0, -1).astype(np.int64)]
        for milestone in self.milestones:
            times = self._times(journeys, milestone)
            assert times is not None
            positions.append(last_at_or_before(journeys.offsets, journeys.timestamp, times))
        return TouchCredit(
            *milestone_credit(
                journeys.offsets,
                journeys.conversions,
                journeys.value,
                np.stack(positions),
                np.asarray(self.weights[:-1], dtype=np.float64),
                float(self.weights[-1]),
            )
        )

    @staticmethod
    def _times(journeys: Journeys, milestone: str) -> np.ndarray | None:
        if milestone in journeys.milestone_times:
            return journeys.milestone_times[milestone]
        if milestone in TIME_FIELDS:
            return np.asarray(getattr(journeys, milestone))
        return None
