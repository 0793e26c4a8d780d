"""Exact solution of many restricted absorbing-chain systems that share one matrix.

Every system the Markov model solves has the form

    (I - Q)[S, S] x[S] = b[S],        x = 0 outside S,

for the transient-to-transient probabilities ``Q`` (n x n, substochastic) and a set of
states ``S``: all states for ``P(conversion)``, the states without channel ``c`` for its
removal effect. Column ``m`` of a boolean ``mask`` (n x M) gives ``S`` of system ``m``.
From every state of ``S`` the chain can leave ``S`` (absorb, or step outside ``S``), so
``(I - Q)[S, S]`` is a nonsingular M-matrix and each system has one solution.

Two methods, both checked the same way:

- ``direct``: a sparse LU factorisation (SuperLU, ``scipy.sparse.linalg.splu``) per
  system. Exact up to rounding, but the fill-in of higher-order chains is nearly dense
  (a 20-channel, order-3 chain of 8,421 states: 54 million LU entries, minutes), so it
  is used for small chains only.
- ``iterative``: BiCGSTAB (van der Vorst 1992) with the Jacobi preconditioner
  ``diag(I - Q)`` (it removes self-loops, which dominate with ``repeats="keep"``), run
  for all M systems at once: the M Krylov recurrences are independent column-wise, but
  every product with ``Q`` is one traversal of the matrix for all columns
  (:func:`attribution.kernels.markov.masked_apply`). Columns stop when their
  recurrence residual meets the tolerance or the recurrence breaks down; the true
  residual is then recomputed and failing columns restart from their current iterate,
  up to ``MAX_RESTARTS`` times.

Whatever the method, the relative residual ``|b - A x|_2 / |b|_2`` of every system is
computed from the returned solution and must be at most ``tolerance``; otherwise
:class:`SolverError` is raised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from attribution.kernels.markov import bicgstab_columns, masked_apply

#: "auto" solves directly up to this many states, iteratively above.
DIRECT_LIMIT = 200
#: BiCGSTAB iterations per round, and rounds after the first (restarts).
MAX_ITERATIONS = 1000
MAX_RESTARTS = 3
METHODS = ("auto", "direct", "iterative")


class SolverError(ValueError):
    """A linear system could not be solved to the required residual."""


@dataclass(frozen=True)
class Solved:
    """Solutions (n x M), the largest relative residual, and the method used."""

    x: np.ndarray
    residual: float
    method: str


def solve_restricted(
    transient: sp.csr_matrix,
    mask: np.ndarray,
    rhs: np.ndarray,
    *,
    method: str = "auto",
    tolerance: float = 1e-13,
) -> Solved:
    """Solve ``(I - Q)[S_m, S_m] x = rhs[S_m]`` for every column ``m`` (see the module doc).

    ``transient`` is ``Q`` (CSR), ``mask`` and ``rhs`` are n x M; ``rhs`` outside the
    mask is ignored.
    """
    if method not in METHODS:
        raise ValueError(f"unknown solver {method!r}; choose from {', '.join(METHODS)}")
    n = transient.shape[0]
    mask = np.ascontiguousarray(mask, dtype=np.bool_)
    rhs = np.where(mask, rhs, 0.0)
    if method == "auto":
        method = "direct" if n <= DIRECT_LIMIT else "iterative"
    if method == "direct":
        x = _direct(transient, mask, rhs)
        label = "sparse LU (SuperLU)"
    else:
        x = _block_bicgstab(transient, mask, rhs, tolerance)
        label = "BiCGSTAB with Jacobi preconditioner"
    residuals = relative_residuals(transient, mask, rhs, x)
    worst = float(residuals.max(initial=0.0))
    if not worst <= tolerance:
        failing = np.flatnonzero(~(residuals <= tolerance))
        raise SolverError(
            f"the {label} solve of {len(failing)} of {mask.shape[1]} linear system(s) of "
            f"the Markov chain ({n:,} states) stopped at relative residual {worst:.2e}, "
            f"above the tolerance {tolerance:.0e}; "
            + (
                "try solver='direct'"
                if method == "iterative"
                else "the chain is too ill-conditioned for this tolerance"
            )
        )
    return Solved(x, worst, label)


def relative_residuals(
    transient: sp.csr_matrix, mask: np.ndarray, rhs: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """``|rhs_m - A_m x_m|_2 / |rhs_m|_2`` per column (0 for a zero right-hand side solved by 0)."""
    residual = rhs - _apply(transient, mask, x)
    norms = np.sqrt((residual * residual).sum(axis=0))
    scale = np.sqrt((rhs * rhs).sum(axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(scale > 0, norms / scale, np.where(norms > 0, np.inf, 0.0))


def _apply(transient: sp.csr_matrix, mask: np.ndarray, x: np.ndarray) -> np.ndarray:
    return masked_apply(
        transient.indptr, transient.indices, transient.data, mask, np.ascontiguousarray(x)
    )


def _direct(transient: sp.csr_matrix, mask: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    x = np.zeros(rhs.shape, np.float64)
    for m in range(mask.shape[1]):
        if not rhs[:, m].any():
            continue
        keep = np.flatnonzero(mask[:, m])
        system = sp.identity(len(keep), format="csc") - transient[keep][:, keep].tocsc()
        x[keep, m] = splu(system).solve(rhs[keep, m])
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
