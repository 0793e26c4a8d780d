"""Exact solution of many restricted absorbing-chain systems that share one matrix.

Every system the Markov model solves has the form

    (I - Q)[S, S] x[S] = b[S],        x = 0 outside S,

for the transient-to-transient probabilities ``Q`` (n x n, substochastic) and a set of
states ``S``: all states for ``P(conversion)`` and the expected value, the states without
channel ``c`` for its removal effects. Column ``m`` of a boolean ``mask`` (n x M) gives
``S`` of system ``m``. From every state of ``S`` the chain can leave ``S`` (absorb, or step
outside ``S``), so ``(I - Q)[S, S]`` is a nonsingular M-matrix and each system has one
solution.

Two methods:

- ``direct``: a sparse LU factorisation (SuperLU, ``scipy.sparse.linalg.splu``) per
  distinct set ``S`` (systems with the same set share it), followed by up to
  ``REFINEMENTS`` steps of iterative refinement (``x += LU⁻¹ (b - A x)``). Exact up to
  rounding, but the fill-in of higher-order chains is nearly dense (a 20-channel,
  order-3 chain of 8,421 states: 54 million LU entries, minutes), so it is used for
  small chains only.
- ``iterative``: BiCGSTAB (van der Vorst 1992) with the Jacobi preconditioner
  ``diag(I - Q)`` (it removes self-loops, which dominate with ``repeats="keep"``), run
  for all M systems at once: the M Krylov recurrences are independent column-wise, but
  every product with ``Q`` is one traversal of the matrix for all columns
  (:func:`attribution.kernels.markov.masked_apply`). Columns stop when their
  recurrence residual meets the tolerance or the recurrence breaks down; the true
  residual is then recomputed and failing columns restart from their current iterate,
  up to ``MAX_RESTARTS`` times. Systems it leaves unsolved are solved directly when the
  chain has at most ``DIRECT_FALLBACK_LIMIT`` states.

**When a solution is accepted.** Each system's relative residual
``|b - A x|_2 / |b|_2`` is computed from the returned solution. It is accepted when it is
at most ``tolerance``, or when the solution is as accurate as the data allow: its
normwise backward error ``|b - A x|_2 / (|A|_2 |x|_2 + |b|_2)`` is at most
``BACKWARD_FACTOR · n · u`` (``u`` the unit roundoff, ``|A|_2`` bounded by
``sqrt(|A|_1 |A|_∞)``), i.e. ``x`` is the exact solution of a system within a few
roundings of this one (Rigal & Gaches 1967). The second rule is what lets a valid but
ill-conditioned chain be solved: one journey of 100,000 touches over 5 channels makes
``I - Q`` nearly singular (self-loops of probability ~0.99999), so ``|x| / |b|`` and with
it the smallest achievable relative residual grow with the path length, while the
backward error stays at the rounding level. Anything else raises :class:`SolverError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from attribution.kernels.markov import bicgstab_columns, masked_apply

SolverMethod = Literal["auto", "direct", "iterative"]
METHODS: tuple[SolverMethod, ...] = ("auto", "direct", "iterative")
#: "auto" solves directly up to this many states, iteratively above.
DIRECT_LIMIT = 200
#: Systems the iterative method leaves unsolved are solved directly up to this many states.
DIRECT_FALLBACK_LIMIT = 5000
#: BiCGSTAB iterations per round, and rounds after the first (restarts).
MAX_ITERATIONS = 1000
MAX_RESTARTS = 3
#: Iterative-refinement steps after a direct solve.
REFINEMENTS = 3
#: Accepted backward error, in units of n × unit roundoff.
BACKWARD_FACTOR = 16.0
UNIT_ROUNDOFF = float(np.finfo(np.float64).eps) / 2


class SolverError(ValueError):
    """A linear system could not be solved to the required accuracy."""


@dataclass(frozen=True)
class Solved:
    """Solutions (n x M), the largest relative residual and backward error, the method."""

    x: np.ndarray
    residual: float
    backward_error: float
    method: str


def solve_restricted(
    transient: sp.csr_matrix,
    mask: np.ndarray,
    rhs: np.ndarray,
    *,
    method: SolverMethod = "auto",
    tolerance: float = 1e-13,
) -> Solved:
    """Solve ``(I - Q)[S_m, S_m] x = rhs[S_m]`` for every column ``m`` (see the module doc).

    ``transient`` is ``Q`` (CSR), ``mask`` and ``rhs`` are n x M; ``rhs`` outside the
    mask is ignored.
    """
    n = transient.shape[0]
    mask = np.ascontiguousarray(mask, dtype=np.bool_)
    rhs = np.where(mask, rhs, 0.0)
    if method == "auto":
        method = "direct" if n <= DIRECT_LIMIT else "iterative"
    labels = []
    if method == "direct":
        x = _direct(transient, mask, rhs, np.ones(mask.shape[1], np.bool_))
        labels.append("sparse LU (SuperLU) with iterative refinement")
    else:
        x = _block_bicgstab(transient, mask, rhs, tolerance)
        labels.append("BiCGSTAB with Jacobi preconditioner")
        accepted = _accepted(transient, mask, rhs, x, tolerance)
        if not accepted.all() and n <= DIRECT_FALLBACK_LIMIT:
            x[:, ~accepted] = _direct(transient, mask, rhs, ~accepted)[:, ~accepted]
            labels.append("sparse LU for the systems it left unsolved")
    label = ", then ".join(labels)
    residuals, backward = _errors(transient, mask, rhs, x)
    accepted = (residuals <= tolerance) | (backward <= backward_limit(n))
    if not accepted.all():
        failing = np.flatnonzero(~accepted)
        raise SolverError(
            f"the {label} solve of {len(failing)} of {mask.shape[1]} linear system(s) of "
            f"the Markov chain ({n:,} states) stopped at relative residual "
            f"{residuals[failing].max():.2e} (backward error {backward[failing].max():.2e}), "
            f"above both the tolerance {tolerance:.0e} and the rounding level of the "
            f"problem {backward_limit(n):.1e}; "
            + (
                "try solver='direct'"
                if method == "iterative" and n > DIRECT_FALLBACK_LIMIT
                else "the chain is too ill-conditioned to be solved in float64"
            )
        )
    return Solved(x, float(residuals.max(initial=0.0)), float(backward.max(initial=0.0)), label)


def backward_limit(n_states: int) -> float:
    """The accepted normwise backward error of a system of ``n_states`` states."""
    return BACKWARD_FACTOR * max(n_states, 1) * UNIT_ROUNDOFF


def relative_residuals(
    transient: sp.csr_matrix, mask: np.ndarray, rhs: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """``|rhs_m - A_m x_m|_2 / |rhs_m|_2`` per column (0 for a zero right-hand side solved by 0)."""
    return _errors(transient, mask, rhs, x)[0]


def _errors(
    transient: sp.csr_matrix, mask: np.ndarray, rhs: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Relative residuals and normwise backward errors per column."""
    residual = rhs - _apply(transient, mask, x)
    norms = np.sqrt((residual * residual).sum(axis=0))
    scale = np.sqrt((rhs * rhs).sum(axis=0))
    x_norm = np.sqrt((x * x).sum(axis=0))
    a_norm = _norm_bound(transient)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(scale > 0, norms / scale, np.where(norms > 0, np.inf, 0.0))
        denominator = a_norm * x_norm + scale
        backward = np.where(denominator > 0, norms / denominator, 0.0)
    return relative, backward


def _norm_bound(transient: sp.csr_matrix) -> float:
    """An upper bound of ``|I - Q|_2``: ``sqrt(|A|_1 |A|_inf)`` (Hölder)."""
    absolute = abs(sp.identity(transient.shape[0], format="csr") - transient)
    one = np.asarray(absolute.sum(axis=0)).max(initial=0.0)
    inf = np.asarray(absolute.sum(axis=1)).max(initial=0.0)
    return float(np.sqrt(one * inf))


def _accepted(
    transient: sp.csr_matrix, mask: np.ndarray, rhs: np.ndarray, x: np.ndarray, tolerance: float
) -> np.ndarray:
    residuals, backward = _errors(transient, mask, rhs, x)
    return (residuals <= tolerance) | (backward <= backward_limit(transient.shape[0]))


def _apply(transient: sp.csr_matrix, mask: np.ndarray, x: np.ndarray) -> np.ndarray:
    return masked_apply(
        transient.indptr, transient.indices, transient.data, mask, np.ascontiguousarray(x)
    )


def _direct(
    transient: sp.csr_matrix, mask: np.ndarray, rhs: np.ndarray, columns: np.ndarray
) -> np.ndarray:
    """Sparse LU of each distinct restricted system among ``columns``, shared by the
    columns with the same set, then iterative refinement of every solution."""
    x = np.zeros(rhs.shape, np.float64)
    wanted = np.flatnonzero(columns & rhs.any(axis=0))
    groups: dict[bytes, list[int]] = {}
    for m in wanted:
        groups.setdefault(np.packbits(mask[:, m]).tobytes(), []).append(int(m))
    for members in groups.values():
        keep = np.flatnonzero(mask[:, members[0]])
        system = (sp.identity(len(keep), format="csc") - transient[keep][:, keep]).tocsc()
        factor = splu(system)
        b = rhs[keep][:, members]
        solution = factor.solve(b)
        residual = b - system @ solution
        for _ in range(REFINEMENTS):
            refined = solution + factor.solve(residual)
            refined_residual = b - system @ refined
            if not np.abs(refined_residual).sum() < np.abs(residual).sum():
                break
            solution, residual = refined, refined_residual
        x[np.ix_(keep, np.asarray(members, np.int64))] = solution
    return x


def _block_bicgstab(
    transient: sp.csr_matrix, mask: np.ndarray, rhs: np.ndarray, tolerance: float
) -> np.ndarray:
    """Jacobi-preconditioned BiCGSTAB on every column, with restarts (see the module doc)."""
    inverse_diagonal = 1.0 / (1.0 - transient.diagonal())
    target = tolerance * np.sqrt((rhs * rhs).sum(axis=0))
    x = np.zeros(rhs.shape, np.float64)
    for _ in range(1 + MAX_RESTARTS):
        residual = rhs - _apply(transient, mask, x)
        failing = np.flatnonzero(~(np.sqrt((residual * residual).sum(axis=0)) <= target))
        if failing.size == 0:
            break
        x[:, failing] = bicgstab_columns(
            transient.indptr,
            transient.indices,
            transient.data,
            np.ascontiguousarray(mask[:, failing]),
            inverse_diagonal,
            np.ascontiguousarray(x[:, failing]),
            np.ascontiguousarray(residual[:, failing]),
            target[failing],
            MAX_ITERATIONS,
        )
    return x
