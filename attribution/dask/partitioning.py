"""Partitions of whole journeys, as the passes read them, and how they are found.

A :class:`Partitioning` lists the partitions of a run, each a set of pieces of the touch
files and of the outcome files whose journeys are whole: every touch and the outcome row
of a journey lie in the same partition. It comes from

- a journey layout (:mod:`attribution.dask.layout`): one partition per layout partition,
  the rows carrying their origin; unless this run wrote the layout, every row's journey is
  checked to hash to its partition;
- parquet datasets hive-partitioned by a key the caller vouches for
  (``partitioned=True``): the files under one set of hive values (``region=emea/``) form
  a partition, in both tables; journeys must not cross hive values;
- parquet datasets clustered by journey id (:func:`from_ranges`): the row groups' id
  ranges, from the parquet statistics, are grouped where they overlap, so every id lies
  in one group (a dataset written sorted by journey id, or in chunks of whole journeys);
- anything else, through a shuffle into a layout (:mod:`attribution.dask.shuffle`).

Partitions are loaded in groups (:func:`group_parts`) so that no load is of zero touch
rows or of zero outcome rows (the loader refuses an empty table, and a partition of only
untouched journeys is still whole journeys beside its neighbours).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from attribution.dask.datasets import Dataset, Piece, list_dataset
from attribution.dask.layout import PARTITION_KEY, Layout
from attribution.errors import ParameterError


@dataclass(frozen=True)
class Table:
    """One input table as the passes read it.

    ``dataset``: the files read; ``label``, ``files``, ``in_memory``, ``available`` and
    ``skipped``: the input as a load of all of it names it (its files, for origins);
    ``carries_origins``: rows carry their origin columns (a layout) rather than being
    their own files' rows.
    """

    dataset: Dataset
    label: str
    files: tuple[str, ...]
    in_memory: bool
    available: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]
    carries_origins: bool

    @classmethod
    def of(cls, dataset: Dataset) -> Table:
        """A dataset read as it is (rows are their files' own rows)."""
        return cls(
            dataset,
            dataset.label,
            dataset.names,
            False,
            dataset.available,
            dataset.skipped,
            False,
        )


@dataclass(frozen=True)
class Part:
    """One partition of whole journeys: its pieces of each table, each with the layout
    partition its journeys must hash to (None: not checked)."""

    touches: tuple[tuple[Piece, int | None], ...]
    outcomes: tuple[tuple[Piece, int | None], ...]


@dataclass(frozen=True)
class Partitioning:
    """The partitions of a run (see the module docstring). ``partitions``: the layout's
    partition count, for the hash check (0 when not checked)."""

    touches: Table
    outcomes: Table | None
    parts: tuple[Part, ...]
    id_column: str
    partitions: int = 0


def rows_of(dataset: Dataset, pieces: Sequence[tuple[Piece, int | None]]) -> int:
    return sum(sum(dataset.row_groups[p.file][p.first : p.stop]) for p, _ in pieces)


def group_parts(partitioning: Partitioning) -> list[Part]:
    """Consecutive parts joined so that each has touch rows and, with an outcomes table,
    outcome rows; parts without any row are left out."""
    touches = partitioning.touches.dataset
    outcomes = partitioning.outcomes.dataset if partitioning.outcomes is not None else None
    groups: list[list[Part]] = []
    current: list[Part] = []
    has_touches = has_outcomes = False
    for part in partitioning.parts:
        touch_rows = rows_of(touches, part.touches)
        outcome_rows = rows_of(outcomes, part.outcomes) if outcomes is not None else 1
        if touch_rows == 0 and outcome_rows == 0:
            continue
        current.append(part)
        has_touches = has_touches or touch_rows > 0
        has_outcomes = has_outcomes or outcome_rows > 0
        if has_touches and has_outcomes:
            groups.append(current)
            current, has_touches, has_outcomes = [], False, False
    if current:
        if groups:
            groups[-1].extend(current)
        else:
            groups.append(current)
    return [
        Part(
            tuple(piece for part in group for piece in part.touches),
            tuple(piece for part in group for piece in part.outcomes),
        )
        for group in groups
    ]


def from_layout(layout: Layout) -> Partitioning:
    """The partitions of a journey layout."""
    touches = _layout_table(layout, "touches")
    outcomes = _layout_table(layout, "outcomes") if layout.outcomes is not None else None
    check = layout.hashed and not layout.trusted

    def pieces(table: Table) -> dict[int, list[tuple[Piece, int | None]]]:
        found: dict[int, list[tuple[Piece, int | None]]] = {}
        for piece in table.dataset.pieces(2**62):
            hive = dict(table.dataset.hive[piece.file])
            if PARTITION_KEY not in hive:
                raise ParameterError(
                    f"{table.dataset.names[piece.file]} is not in a {PARTITION_KEY}= folder "
                    "of the layout"
                )
            partition = int(hive[PARTITION_KEY])
            found.setdefault(partition, []).append((piece, partition if check else None))
        return found

    touch_pieces = pieces(touches)
    outcome_pieces = pieces(outcomes) if outcomes is not None else {}
    parts = tuple(
        Part(tuple(touch_pieces.get(p, ())), tuple(outcome_pieces.get(p, ())))
        for p in range(layout.partitions)
    )
    return Partitioning(touches, outcomes, parts, layout.id_column, layout.partitions)


def _layout_table(layout: Layout, name: str) -> Table:
    table = layout.touches if name == "touches" else layout.outcomes
    assert table is not None
    dataset = list_dataset(_url(layout, f"{layout.root}/{name}"), name)
    return Table(
        dataset,
        table.label,
        table.files,
        table.in_memory,
        table.available,
        table.skipped,
        True,
    )


def _url(layout: Layout, path: str) -> str:
    filesystem = layout.filesystem
    if filesystem is None or "file" in _protocols(filesystem):
        return path
    return str(filesystem.unstrip_protocol(path))


def _protocols(filesystem: object) -> tuple[str, ...]:
    protocol = getattr(filesystem, "protocol", ())
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def from_hive(touches: Dataset, outcomes: Dataset | None, id_column: str) -> Partitioning:
    """Datasets whose hive partition values keep journeys whole (the caller's word): the
    files under one set of values form a partition, in both tables."""
    if not any(touches.hive):
        raise ParameterError(
            f"partitioned=True needs hive partition folders (key=value) in {touches.label}, "
            "so that each partition holds whole journeys; it has none"
        )
    by_values: dict[tuple[tuple[str, str], ...], list[Piece]] = {}
    for piece in touches.pieces(2**62):
        by_values.setdefault(touches.hive[piece.file], []).append(piece)
    outcome_values: dict[tuple[tuple[str, str], ...], list[Piece]] = {}
    if outcomes is not None:
        keys = {k for values in touches.hive for k, _ in values}
        outcome_keys = {k for values in outcomes.hive for k, _ in values}
        if keys != outcome_keys:
            raise ParameterError(
                f"partitioned=True: the touches are hive-partitioned by "
                f"{', '.join(sorted(keys))} and the outcomes by "
                f"{', '.join(sorted(outcome_keys)) or 'nothing'}; both tables need the same "
                "partition keys"
            )
        for piece in outcomes.pieces(2**62):
            outcome_values.setdefault(outcomes.hive[piece.file], []).append(piece)
    values = sorted(set(by_values) | set(outcome_values))
    parts = tuple(
        Part(
            tuple((p, None) for p in by_values.get(v, ())),
            tuple((p, None) for p in outcome_values.get(v, ())),
        )
        for v in values
    )
    return Partitioning(
        Table.of(touches),
        Table.of(outcomes) if outcomes is not None else None,
        parts,
        id_column,
    )


def from_ranges(
    touches: Dataset, outcomes: Dataset | None, id_column: str, target_rows: int
) -> Partitioning | None:
    """Datasets whose row groups hold disjoint ranges of journey ids, as partitions.

    Every row group's (min, max) id comes from the parquet statistics; overlapping ranges
    (of either table) are joined into one component, so all rows of an id, touches and
    outcome, are in one component. Consecutive components are packed into partitions of
    about ``target_rows`` touch rows. None when the statistics are missing, the ids of
    the two tables are not of one kind (numbers or text, compared as the loader compares
    them), or a component exceeds four times ``target_rows`` (not clustered by journey:
    shuffle instead)."""
    tables = [touches] if outcomes is None else [touches, outcomes]
    intervals: list[tuple[Any, Any, int, Piece, int]] = []
    for which, dataset in enumerate(tables):
        for file, groups in enumerate(dataset.row_groups):
            start = 0
            for group, rows in enumerate(groups):
                if rows:
                    found = dataset.id_ranges[file][group] if dataset.id_ranges else None
                    if found is None:
                        return None
                    touch_rows = rows if which == 0 else 0
                    intervals.append(
                        (*found, which, Piece(file, group, group + 1, start), touch_rows)
                    )
                start += rows
    kinds = {isinstance(lo, str) for lo, *_ in intervals} | {
        isinstance(hi, str) for _, hi, *_ in intervals
    }
    numbers = all(isinstance(v, (int, float, str)) for lo, hi, *_ in intervals for v in (lo, hi))
    if len(kinds) != 1 or not numbers:
        return None
    intervals.sort(key=lambda item: item[0])
    components: list[list[tuple[Any, Any, int, Piece, int]]] = []
    high: Any = None
    for item in intervals:
        if components and item[0] <= high:
            components[-1].append(item)
            high = max(high, item[1])
        else:
            components.append([item])
            high = item[1]
    sizes = [sum(item[4] for item in component) for component in components]
    if max(sizes, default=0) > 4 * target_rows:
        return None
    packed: list[list[tuple[Any, Any, int, Piece, int]]] = []
    rows = 0
    for component, size in zip(components, sizes, strict=True):
        if packed and rows + size <= target_rows:
            packed[-1].extend(component)
            rows += size
        else:
            packed.append(list(component))
            rows = size
    parts = tuple(
        Part(
            tuple((p, None) for p in _coalesced([i[3] for i in items if i[2] == 0])),
            tuple((p, None) for p in _coalesced([i[3] for i in items if i[2] == 1])),
        )
        for items in packed
    )
    return Partitioning(
        Table.of(touches),
        Table.of(outcomes) if outcomes is not None else None,
        parts,
        id_column,
    )


def _coalesced(pieces: list[Piece]) -> list[Piece]:
    """Pieces of consecutive row groups of one file joined into one."""
    out: list[Piece] = []
    for piece in sorted(pieces, key=lambda p: (p.file, p.first)):
        last = out[-1] if out else None
        if last is not None and last.file == piece.file and last.stop == piece.first:
            out[-1] = Piece(last.file, last.first, piece.stop, last.start)
        else:
            out.append(piece)
    return out
