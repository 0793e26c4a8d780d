"""The validation pass's sums: what each partition read, rejected and contains, merged.

A partition's load gives its :class:`~attribution.plan.DataShape` (labels, times,
milestones), its :class:`~attribution.io.intake.Intake` (rows read and rejected per
reason, journeys rejected, ...) and, when its rows are invalid and the run fails on
invalid rows, its problems. All of them merge exactly:

- shapes and intakes by their own ``merge`` (counts add; labels are a sorted union);
- problems of one kind (input, column, reason) add their row counts; their example rows
  are the first in input order over all partitions, as a local load lists them; the
  example values are those the partitions holding these rows show;
- the team map's notes, whose counts and unmatched channels depend on the partition, are
  recomputed from the merged counts and the run's channels (:func:`team_map_notes`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from attribution.errors import Problem
from attribution.io.intake import Intake
from attribution.io.sources import Origins
from attribution.journeys import UNASSIGNED_TEAM
from attribution.notes import Note
from attribution.plan import DataShape

TEAM_NOTES = (
    "team_map_with_team_column",
    "team_map_matches_nothing",
    "team_map_unused_entries",
    "team_map_missing_channels",
)
EXAMPLES = 5
#: What makes two partitions' problems one problem: the input, the column, the reason.
Kind = tuple[str | None, str | None, str]


@dataclass(frozen=True)
class FoundProblem:
    """A problem of one partition, with the input order of its example rows."""

    problem: Problem
    order: tuple[int, ...]

    @property
    def kind(self) -> Kind:
        return (self.problem.source, self.problem.column, self.problem.reason)


def found(problem: Problem, origins: dict[str, Origins]) -> FoundProblem:
    """A problem with the order of its example rows, read back from their locations
    (``origins`` by the table the problem's source names)."""
    table = (problem.source or "").split(" ", 1)[0]
    where = origins.get(table)
    order: list[int] = []
    if where is not None:
        index = {name: i for i, name in enumerate(where.files)}
        for text in problem.rows:
            head, _, number = text.rpartition(" ")
            name = head.rpartition(" ")[0]
            file = index.get(name, 0)
            order.append((file << 40) + int(number) if number.isdigit() else 0)
    return FoundProblem(problem, tuple(order))


def merge_problems(
    first: Sequence[FoundProblem], second: Sequence[FoundProblem]
) -> tuple[FoundProblem, ...]:
    """Two partitions' problems: one per kind, in an order consistent with both (each
    partition lists its kinds in the loader's checking order)."""
    kinds = _consistent_order([[p.kind for p in first], [p.kind for p in second]])
    by_kind: dict[Kind, list[FoundProblem]] = {}
    for item in (*first, *second):
        by_kind.setdefault(item.kind, []).append(item)
    return tuple(_combined(by_kind[k]) for k in kinds)


def _consistent_order(sequences: Sequence[Sequence[Kind]]) -> list[Kind]:
    """The items of the sequences in an order keeping each sequence's order (each is a
    subsequence of one order); ties in order of first appearance."""
    items = list(dict.fromkeys(k for s in sequences for k in s))
    after: dict[Kind, set[Kind]] = {k: set() for k in items}
    for sequence in sequences:
        for i, earlier in enumerate(sequence):
            after[earlier].update(sequence[i + 1 :])
    out: list[Kind] = []
    remaining = list(items)
    while remaining:
        ready = next(
            (k for k in remaining if not any(k in after[o] for o in remaining if o != k)),
            remaining[0],
        )
        out.append(ready)
        remaining.remove(ready)
    return out


def _combined(items: list[FoundProblem]) -> FoundProblem:
    if len(items) == 1:
        return items[0]
    rows = sorted(
        (
            (key, text, item)
            for item in items
            for key, text in zip(item.order, item.problem.rows, strict=False)
        ),
        key=lambda row: row[0],
    )[:EXAMPLES]
    holders = list(dict.fromkeys(id(item) for _, _, item in rows)) or [id(items[0])]
    in_order = sorted(items, key=lambda item: item.order[:1])
    examples = [e for item in in_order if id(item) in holders for e in item.problem.examples]
    first = items[0].problem
    problem = replace(
        first,
        rows=tuple(text for _, text, _ in rows),
        count=sum(item.problem.count for item in items),
        examples=tuple(dict.fromkeys(examples))[:EXAMPLES],
    )
    return FoundProblem(problem, tuple(key for key, _, _ in rows))


@dataclass(frozen=True)
class TeamCounts:
    """What the team map's notes count, summed over partitions."""

    with_team_column: bool = False
    filled: int = 0
    left_out: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, notes: Sequence[Note]) -> TeamCounts:
        counts = cls()
        for note in notes:
            if note.code == "team_map_with_team_column":
                counts = replace(counts, with_team_column=True, filled=note.data["touches_filled"])
            elif note.code == "team_map_missing_channels":
                counts = replace(counts, left_out=Counter(note.data["channels"]))
        return counts

    def merge(self, other: TeamCounts) -> TeamCounts:
        return TeamCounts(
            self.with_team_column or other.with_team_column,
            self.filled + other.filled,
            self.left_out + other.left_out,
        )


def team_map_notes(
    counts: TeamCounts, channel_teams: Mapping[str, str] | None, channels: Sequence[str]
) -> list[Note]:
    """The notes a load of all the data gives about the team map (the sentences of
    :func:`attribution.io.encode.team_codes`, from the merged counts)."""
    if channel_teams is None:
        return []
    mapping = dict(channel_teams)
    notes: list[Note] = []
    if counts.with_team_column:
        notes.append(
            Note(
                "team_map_with_team_column",
                "the input has a team column and a team map was given: the team column "
                "wins where it has a value; the map fills "
                f"{counts.filled:,} touches without a team",
                data={"touches_filled": counts.filled},
            )
        )
    unmatched = sorted(set(mapping) - set(channels))
    if unmatched and len(unmatched) == len(mapping):
        notes.append(
            Note(
                "team_map_matches_nothing",
                "the team map matches no channel of the input (are the channel names "
                f"spelled as in the data?): {', '.join(unmatched[:10])}",
                data={"unmatched": unmatched},
            )
        )
    elif unmatched:
        notes.append(
            Note(
                "team_map_unused_entries",
                f"team map entries for channels not in the input: {', '.join(unmatched[:10])}",
                data={"unmatched": unmatched},
            )
        )
    left_out = [(name, counts.left_out[name]) for name in channels if counts.left_out[name] > 0]
    if left_out:
        listed = ", ".join(f"{name} ({n:,} touches)" for name, n in left_out[:10])
        notes.append(
            Note(
                "team_map_missing_channels",
                f"channels the team map leaves out, so their touches without a team are "
                f"'{UNASSIGNED_TEAM}': {listed}",
                data={"channels": dict(left_out)},
            )
        )
    return notes


@dataclass(frozen=True)
class Checked:
    """The validation pass of one partition (or of several, merged): its shape and
    intake (None when its rows have problems), its problems, its team-map counts and the
    value of its journeys."""

    shape: DataShape | None
    intake: Intake | None
    problems: tuple[FoundProblem, ...] = ()
    team: TeamCounts = field(default_factory=TeamCounts)
    value: float = 0.0

    @classmethod
    def of(cls, shape: DataShape, intake: Intake, value: float) -> Checked:
        team = [n for n in intake.notes if n.code in TEAM_NOTES]
        others = tuple(n for n in intake.notes if n.code not in TEAM_NOTES)
        return cls(shape, replace(intake, notes=others), (), TeamCounts.of(team), value)

    def merge(self, other: Checked) -> Checked:
        return Checked(
            _merge_optional(self.shape, other.shape),
            _merge_optional(self.intake, other.intake),
            merge_problems(self.problems, other.problems),
            self.team.merge(other.team),
            self.value + other.value,
        )

    def finished_intake(self, channel_teams: Mapping[str, str] | None) -> Intake:
        """The merged intake, with the team map's notes of the whole input first (where a
        local load puts them)."""
        assert self.intake is not None and self.shape is not None
        channels = self.shape.tables.names("channel")
        notes = team_map_notes(self.team, channel_teams, channels)
        return replace(self.intake, notes=tuple(notes) + self.intake.notes)


M = TypeVar("M", DataShape, Intake)


def _merge_optional(first: M | None, second: M | None) -> M | None:
    if first is None:
        return second
    if second is None:
        return first
    return first.merge(second)
