"""Bootstrap replicates of sums that are linear in the journey weights, in one pass.

A sum over journeys ``Σ_j w_j · m_j`` (a rule model's credit of a group, the value in,
an untouched group, a scorecard feature of a group, a Markov transition count) has the
replicates ``Σ_j w_j · f_jr · m_j``, ``f_jr`` the replicate factors. So every such sum of
a partition is a column of one sparse matrix ``M`` (journeys x columns), and all their
replicates are ``M^T F`` for the factor matrix ``F`` (journeys x replicates), which
:func:`~attribution.kernels.bootstrap.replicate_sums` computes drawing the factors on the
fly: each journey's factors are drawn once for every column, and never held.

:class:`Design` gathers the columns' parts (each built apart, for the records it
concerns) over blocks of records sized to a memory budget, and runs the product.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from attribution.bootstrap import Bootstrap, replicate_blocks

#: Bytes of sparse entries (int64 column + float64 value) built at a time.
ENTRY_BUDGET = 64e6
#: Sparse rows up to this many bytes in all are built once and kept for every block of
#: replicates (larger designs are rebuilt per block of replicates, holding one block of
#: rows at a time).
KEPT_ROWS_BUDGET = 256e6

#: A part's rows over records ``start .. stop`` of the design (positions among its
#: records): each record's entry count, then the entries' columns and values in order.
Rows = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class Design:
    """Columns of sums over a set of journey records (``records``: sorted positions in
    the partition), each added as a part: a function giving its rows for a block of the
    records, and an estimate of its entries per record (to size the blocks)."""

    records: np.ndarray
    n_columns: int = 0
    parts: list[tuple[Callable[[int, int], Rows], float]] = field(default_factory=list)

    def columns(self, count: int) -> int:
        """Reserve ``count`` columns; returns the first."""
        first = self.n_columns
        self.n_columns += count
        return first

    def add(self, rows: Callable[[int, int], Rows], entries_per_record: float) -> None:
        self.parts.append((rows, entries_per_record))

    def block_size(self) -> int:
        per_record = sum(estimate for _, estimate in self.parts) * 16
        return max(1024, int(ENTRY_BUDGET / max(per_record, 1.0)))

    def sums(
        self, boot: Bootstrap, keys: np.ndarray, lam: np.ndarray, budget: float = 64e6
    ) -> np.ndarray:
        """Every replicate of every column: ``(replicates, columns)``, for the records'
        ``keys`` and ``lam`` (aligned with the partition's records)."""
        out = np.zeros((boot.replicates, self.n_columns))
        for first, sums in self.blocks(boot, keys, lam, budget):
            out[first : first + len(sums)] = sums
        return out

    def blocks(
        self, boot: Bootstrap, keys: np.ndarray, lam: np.ndarray, budget: float = 64e6
    ) -> Iterator[tuple[int, np.ndarray]]:
        """The replicates' sums in blocks of replicates whose sums (replicates x columns)
        fit in ``budget`` bytes: ``(first replicate, sums)``, one block held at a time."""
        n = len(self.records)
        keys = np.ascontiguousarray(keys[self.records], dtype=np.uint64)
        lam = np.ascontiguousarray(lam[self.records], dtype=np.float64)
        size = self.block_size()
        blocks = [(start, min(start + size, n)) for start in range(0, n, size)]
        replicates = replicate_blocks(boot.replicates, max(self.n_columns, 1), budget)
        entries = sum(estimate for _, estimate in self.parts) * 16 * n
        # Rows kept across blocks of replicates when there are several and they fit.
        kept: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = (
            {} if len(replicates) > 1 and entries <= KEPT_ROWS_BUDGET else None
        )
        for first, count in replicates:
            out = np.zeros((count, self.n_columns))
            if self.n_columns and self.parts:
                for index, (start, stop) in enumerate(blocks):
                    if kept is not None and index in kept:
                        rows = kept[index]
                    else:
                        rows = self._block(start, stop)
                        if kept is not None:
                            kept[index] = rows
                    boot.add_sums(*rows, keys[start:stop], lam[start:stop], first, out)
            yield first, out

    def _block(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lengths, indices, data = [], [], []
        base = 0
        for rows, _ in self.parts:
            part_lengths, part_indices, part_data = rows(start, stop)
            pointer = np.empty(stop - start + 1, np.int64)
            pointer[0] = base
            np.cumsum(part_lengths, out=pointer[1:])
            pointer[1:] += base
            base = int(pointer[-1])
            lengths.append(pointer)
            indices.append(part_indices)
            data.append(part_data)
        return (
            np.stack(lengths),
            np.ascontiguousarray(np.concatenate(indices), dtype=np.int64),
            np.ascontiguousarray(np.concatenate(data), dtype=np.float64),
        )


def spread(rows: Rows, positions: np.ndarray, start: int, stop: int) -> Rows:
    """A part built over some of a block's records (``positions``: theirs among the
    block's ``start .. stop``), as rows over every record of the block."""
    lengths = np.zeros(stop - start, np.int64)
    lengths[positions - start] = rows[0]
    return lengths, rows[1], rows[2]


__all__ = ["ENTRY_BUDGET", "KEPT_ROWS_BUDGET", "Design", "Rows", "spread"]
