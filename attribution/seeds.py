"""The one check of a random seed, shared by every parameter that takes one.

A seed is an integer ``0 <= seed < 2**63``: the range the numba kernels' generators
(Shapley's permutation sampler, the bootstrap's Poisson multipliers) take as a signed
64-bit integer. The simulator, whose numpy ``SeedSequence`` would take more, is held to
the same range so one seed means the same thing everywhere.
"""

from __future__ import annotations

import operator

from attribution.errors import ParameterError

SEED_LIMIT = 2**63


def check_seed(seed: object, name: str = "seed") -> int:
    """``seed`` as an int, or a :class:`ParameterError` naming the parameter ``name``
    unless it is an integer (a Python or numpy integer, not a bool) from 0 to ``2**63 - 1``.
    Imports no numpy, so the CLI's ``--help`` stays light."""
    try:
        value = None if isinstance(seed, bool) else operator.index(seed)  # type: ignore[arg-type]
    except TypeError:
        value = None
    if value is None or not 0 <= value < SEED_LIMIT:
        raise ParameterError(f"{name} must be an integer from 0 to 2^63 - 1, got {seed!r}")
    return value
