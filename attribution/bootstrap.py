"""Uncertainty of every credit: the Poisson bootstrap, as a reweighting of journeys.

Replicate ``r`` gives journey record ``j`` the weight ``w_rj ~ Poisson(λ_j)``, where
``λ_j`` is the number of journeys the record stands for (1 for a touch journey, ``n``
for a path-table row with ``n`` journeys). The draws come from a counter-based generator
keyed by (seed, journey key, replicate), :mod:`attribution.kernels.bootstrap`: the key is
a hash of the journey id (of the path and outcome for path-table records, so two rows
holding the same path draw alike), so a journey's weights do not depend on row order, on
the partitioning or on the worker that reads it.

Each replicate is the data reweighted (:meth:`~attribution.journeys.Journeys.reweighted`)
and every model is refitted on it: data-driven models fit the weighted sufficient
statistics (a weighted merge is still a merge, so it works per partition); rule models
are linear in the weights, so all replicates of a rule model come from one credit pass,
as the product of the journeys' credit by group and the replicate weights.

For every credited value (and share) the output has the replicates' standard error and
the percentile interval at level ``ci``: ``credited_value_se``, ``credited_value_low``,
``credited_value_high``, ``share_low``, ``share_high``. One rule for every model: a
replicate that draws no pipeline (no converted value: every share undefined) is left out
of every model's intervals, rule models' included, and counted in the notes
(``bootstrap_empty_replicates``); a replicate in which a data-driven model cannot be
fitted for another reason is reported in the notes (``bootstrap_replicates_failed``) and
left out of that model's intervals, never silently.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from attribution.errors import ParameterError
from attribution.journeys import Journeys
from attribution.kernels.bootstrap import (
    integer_keys,
    poisson_multipliers,
    replicate_sums,
    sequence_keys,
    text_keys,
)
from attribution.seeds import check_seed

INTERVAL_COLUMNS = (
    "credited_value_se",
    "credited_value_low",
    "credited_value_high",
    "share_low",
    "share_high",
)


@dataclass(frozen=True)
class Bootstrap:
    """``replicates`` Poisson-bootstrap replicates, intervals at level ``ci``, ``seed``."""

    replicates: int
    ci: float = 0.9
    seed: int = 0

    def check(self) -> None:
        r = self.replicates
        if isinstance(r, bool) or not isinstance(r, int) or r < 2:
            raise ParameterError(f"bootstrap needs at least 2 replicates, got {r!r}")
        if not (isinstance(self.ci, (int, float)) and 0 < self.ci < 1):
            raise ParameterError(f"ci must be a level between 0 and 1 (e.g. 0.9), got {self.ci!r}")
        check_seed(self.seed)

    def multipliers(self, keys: np.ndarray, lam: np.ndarray, first: int, count: int) -> np.ndarray:
        """Replicate factors ``w_rj / λ_j`` of records with ``keys`` standing for ``lam``
        journeys each, for replicates ``first .. first + count - 1`` (records x count)."""
        return poisson_multipliers(
            np.ascontiguousarray(keys, dtype=np.uint64),
            np.ascontiguousarray(lam, dtype=np.float64),
            np.uint64(self.seed),
            first,
            count,
        )

    def add_sums(
        self,
        indptr: np.ndarray,
        indices: np.ndarray,
        data: np.ndarray,
        keys: np.ndarray,
        lam: np.ndarray,
        first: int,
        out: np.ndarray,
    ) -> None:
        """``out[r] += M^T w_r`` for replicates ``first .. first + len(out) - 1`` of the
        records x columns matrix ``M`` (parts of CSR rows, see
        :func:`~attribution.kernels.bootstrap.replicate_sums`) and the factors of
        :meth:`multipliers`: drawn on the fly by the kernel, or (a subclass with its own
        :meth:`multipliers`, as tests use) taken from that method."""
        keys = np.ascontiguousarray(keys, dtype=np.uint64)
        lam = np.ascontiguousarray(lam, dtype=np.float64)
        if type(self).multipliers is Bootstrap.multipliers:
            replicate_sums(indptr, indices, data, keys, lam, np.uint64(self.seed), first, out)
            return
        factors = self.multipliers(keys, lam, first, len(out))
        n = len(keys)
        for part in range(indptr.shape[0]):
            rows = np.repeat(np.arange(n), np.diff(indptr[part]))
            chosen = slice(indptr[part, 0], indptr[part, -1])
            matrix = sp.csr_matrix((data[chosen], (rows, indices[chosen])), shape=(n, out.shape[1]))
            out += (matrix.T @ factors).T

    def describe(self) -> str:
        return (
            f"{self.replicates} Poisson-bootstrap replicates (seed {self.seed}): standard "
            f"errors and {self.ci:.0%} percentile intervals of every credited value and share"
        )


def bootstrap_option(
    bootstrap: Bootstrap | int | None, ci: float | None = None, seed: int | None = None
) -> Bootstrap | None:
    """The bootstrap of a run from the API's ``bootstrap``, ``ci`` and ``seed``, checked.

    ``bootstrap``: a number of replicates (with ``ci``, default 0.9, and ``seed``,
    default 0) or a :class:`Bootstrap` (which holds its own level and seed, so giving
    ``ci`` or ``seed`` beside it is an error, as is giving them without a bootstrap:
    an option that would be ignored is refused)."""
    if isinstance(bootstrap, bool) or not (
        bootstrap is None or isinstance(bootstrap, (int, Bootstrap))
    ):
        raise ParameterError(
            f"bootstrap must be a number of replicates or a Bootstrap, not {bootstrap!r}"
        )
    given = [name for name, value in (("ci", ci), ("seed", seed)) if value is not None]
    if bootstrap is None:
        if given:
            raise ParameterError(
                f"{' and '.join(given)} set(s) the bootstrap: give bootstrap=B (a number of "
                "replicates) too"
            )
        return None
    if isinstance(bootstrap, Bootstrap):
        if given:
            raise ParameterError(
                f"bootstrap is a Bootstrap, which holds its own ci and seed: give "
                f"{' and '.join(given)} to the Bootstrap, or bootstrap=B (a number of "
                "replicates)"
            )
        chosen = bootstrap
    else:
        chosen = Bootstrap(
            bootstrap,
            ci=0.9 if ci is None else ci,
            seed=0 if seed is None else seed,
        )
    chosen.check()
    return chosen


def journey_keys(journeys: Journeys) -> np.ndarray:
    """A stable 64-bit key per journey record (see the module docstring)."""
    if not journeys.has_times:
        names = pa.array(list(journeys.channel_names), pa.string())
        name_keys = text_keys(
            np.frombuffer(names.buffers()[1], np.int32)[: len(names) + 1].astype(np.int64),
            np.frombuffer(names.buffers()[2], np.uint8) if len(names) else np.zeros(0, np.uint8),
        )
        return sequence_keys(journeys.offsets, journeys.channel, name_keys, journeys.converted)
    ids = journeys.journey_id
    if ids.dtype.kind in "iu":
        return integer_keys(ids.astype(np.int64) if ids.dtype.kind == "i" else ids.view(np.int64))
    texts = pa.array([str(i) for i in ids], pa.string())
    offsets = np.frombuffer(texts.buffers()[1], np.int32)[: len(texts) + 1].astype(np.int64)
    data = texts.buffers()[2]
    raw = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    return text_keys(offsets - offsets[0], raw[offsets[0] :])


def interval(replicates: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standard error and percentile interval of each row's replicates (NaN columns, the
    failed replicates, are left out)."""
    if replicates.size == 0:
        empty = np.zeros(replicates.shape[0])
        return empty, empty, empty
    lower, upper = 100 * (1 - ci) / 2, 100 * (1 + ci) / 2
    se, low, high = (np.empty(replicates.shape[0]) for _ in range(3))
    # Rows without an undefined replicate in one vectorised pass (numpy's nan-aware
    # percentile loops over rows in Python); the others leave their NaN columns out.
    gaps = np.isnan(replicates).any(axis=1)
    full = replicates[~gaps]
    se[~gaps] = np.std(full, axis=1, ddof=1)
    low[~gaps], high[~gaps] = np.percentile(full, [lower, upper], axis=1)
    if gaps.any():
        # A row whose every replicate is undefined (a ratio over nothing) has no interval.
        with warnings.catch_warnings(), np.errstate(invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            partial = replicates[gaps]
            se[gaps] = np.nanstd(partial, axis=1, ddof=1)
        low[gaps], high[gaps] = _percentiles_without_nan(partial, lower, upper)
    return se, low, high


def _percentiles_without_nan(
    rows: np.ndarray, lower: float, upper: float
) -> tuple[np.ndarray, np.ndarray]:
    """``np.nanpercentile`` of each row at ``lower`` and ``upper``, without its loop
    over rows in Python: the rows with the same number ``n`` of defined replicates have
    those values moved to their first ``n`` columns (their order kept; a percentile does
    not depend on it) and take one vectorised ``np.percentile``, so each row's result is
    ``np.percentile`` of its defined values, as numpy's own (bit for bit, but for the
    sign of a zero where a row holds both +0 and -0). A row with none has no interval
    (NaN)."""
    low, high = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    defined = ~np.isnan(rows)
    counts = defined.sum(axis=1)
    for n in np.unique(counts[counts > 0]):
        chosen = counts == n
        first = np.argsort(~defined[chosen], axis=1, kind="stable")[:, :n]
        values = np.take_along_axis(rows[chosen], first, axis=1)
        low[chosen], high[chosen] = np.percentile(values, [lower, upper], axis=1)
    return low, high


def replicate_blocks(total: int, journeys: int, budget: float = 64e6) -> list[tuple[int, int]]:
    """Replicate ranges whose factor matrices (journeys x replicates) stay within a
    memory budget (bytes), so replicates are reduced as they are produced."""
    per_block = max(1, min(total, int(budget / 8 / max(journeys, 1))))
    return [(first, min(per_block, total - first)) for first in range(0, total, per_block)]


def journey_blocks(journeys: int, replicates: int, budget: float = 64e6) -> list[tuple[int, int]]:
    """Journey ranges whose factor matrices (journeys x replicates) stay within budget."""
    per_block = max(1024, int(budget / 8 / max(replicates, 1)))
    return [(start, min(start + per_block, journeys)) for start in range(0, journeys, per_block)]


__all__ = [
    "INTERVAL_COLUMNS",
    "Bootstrap",
    "bootstrap_option",
    "interval",
    "journey_blocks",
    "journey_keys",
    "replicate_blocks",
]
