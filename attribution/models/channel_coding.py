"""Channel codings of sufficient statistics, so that partitions encoded apart can merge.

Each partition of whole journeys numbers its channels in sorted name order over the
channels it contains (as the loader does). Statistics of two partitions are merged in
the coding of the union of their channels, again in sorted name order: the coding that
loading all of their journeys at once gives, so a model fitted on merged statistics
credits those journeys directly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def merged_channel_names(*codings: Sequence[str]) -> tuple[str, ...]:
    """Every channel of the codings, in sorted name order."""
    return tuple(sorted(set().union(*codings)))


def channel_positions(old: Sequence[str], new: Sequence[str]) -> np.ndarray:
    """The code in ``new`` of each channel of ``old`` (``new`` must contain them all)."""
    index = {name: code for code, name in enumerate(new)}
    missing = [name for name in old if name not in index]
    if missing:
        raise ValueError(f"channel(s) {', '.join(map(repr, missing))} missing from the coding")
    return np.array([index[name] for name in old], np.int64)
