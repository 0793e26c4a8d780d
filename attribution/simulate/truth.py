"""Ground truth: what each channel is worth, by switching it off with common random numbers.

**Switching channel c off** means: none of its touches happen, and neither does any touch
they triggered (a follow-up whose lineage contains ``c``: no content download, no SDR
call it prompted). Everything else is held fixed — the same buyers with the same kinds,
intents, values and conversion thresholds, and every other touch at the same time.
Other channels do not step in for the missing one (no substitution, no budget moved).

Consequences of this definition:

- A **passenger** channel (touches caused by the impending conversion or by the buyer's
  intent) gets exactly 0: its touches never enter the hazard, so removing them changes
  nothing. If the same channel also has ordinary, causal exposure, only that counts.
- A channel with ``lift = 0`` gets exactly 0, unless its touches trigger follow-ups of
  effective channels: then it is credited with what those follow-ups bring (its total
  effect, direct and through the touches it causes).
- **Interactions**: switching off either channel of a pair loses the pair's effect, so
  both are credited with it. Truths are therefore not additive: their sum differs from
  the conversions the channels produce together. ``true_share`` normalises them.
- Conversion counts within the horizon; a channel that only speeds up a conversion that
  would have happened anyway within the horizon is worth nothing here.

**Estimate.** Given buyer ``j``'s causal touches, its probability of converting within
the horizon is exactly ``1 - exp(-L_j)`` with ``L_j`` its cumulative hazard at the
horizon (:func:`~attribution.simulate.kernels.horizon_hazard`). The conversions lost
when ``c`` is off are ``sum_j exp(-L_j^(-c)) - exp(-L_j)``, where ``L_j - L_j^(-c)`` is
the hazard its removed touches and pairs had delivered
(:func:`~attribution.simulate.kernels.removed_hazard`), the value lost the same
weighted by each buyer's deal value. This is the common-random-numbers difference with
the conversion draw integrated out exactly (its conditional expectation), which removes
that draw's noise; what remains is the Monte-Carlo error of the buyers and their touches.

**Columns** (one row per channel of the scenario, touched or not): ``true_conversions``
and ``true_value`` (expected conversions and value lost), ``true_share`` (``true_value``
over the sum across channels: the share every model's value share is compared with),
``std_error`` (of ``true_value``), ``conversions_std_error``, ``share_std_error``.

**Standard errors** treat buyers as independent draws: ``std_error`` of a total is
``sqrt(n) * sd`` of the per-buyer losses, the error of the total as an estimate of the
scenario's expectation for ``n`` buyers (given these buyers it is exact). The share's
error is the delta-method error of a ratio of sums.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.simulate.kernels import removed_hazard
from attribution.simulate.process import Buyers, CausalTouches, Effects
from attribution.simulate.spec import Scenario

TRUTH_COLUMNS = (
    "channel",
    "true_conversions",
    "true_value",
    "true_share",
    "std_error",
    "conversions_std_error",
    "share_std_error",
)


def lost_conversions(
    scenario: Scenario,
    touches: CausalTouches,
    effects: Effects,
    contribution: np.ndarray,
    at_horizon: np.ndarray,
) -> np.ndarray:
    """Expected conversions each buyer loses when each channel is off: (channels, buyers).

    ``exp(-(L - removed)) - exp(-L)``, written as ``exp(-L) * expm1(removed)`` to keep
    precision when the removed hazard is small.
    """
    removed = removed_hazard(
        touches.offsets,
        touches.channel,
        touches.lineage,
        touches.days,
        contribution,
        len(scenario.channels),
        float(scenario.horizon_days),
        effects.pair_first,
        effects.pair_second,
        effects.pair_lift,
        effects.pair_rate,
    )
    return np.exp(-at_horizon)[None, :] * np.expm1(removed, out=removed)


def ground_truth(
    scenario: Scenario,
    buyers: Buyers,
    touches: CausalTouches,
    effects: Effects,
    contribution: np.ndarray,
    at_horizon: np.ndarray,
) -> pd.DataFrame:
    """The truth table: one row per channel of the scenario (see the module docstring).

    ``contribution`` (per causal touch) and ``at_horizon`` (per buyer) are the hazards
    of :func:`~attribution.simulate.process.contributions` and
    :func:`~attribution.simulate.process.hazard_at_horizon`.
    """
    lost = lost_conversions(scenario, touches, effects, contribution, at_horizon)
    return truth_table(scenario, buyers, lost)


def truth_table(scenario: Scenario, buyers: Buyers, lost: np.ndarray) -> pd.DataFrame:
    """The truth table from the expected conversions each buyer loses when each channel
    is off (``lost``: channels × buyers)."""
    n = buyers.n
    scale = np.sqrt(n / (n - 1)) if n > 1 else np.nan
    n_channels = len(scenario.channels)
    conversions, value = np.zeros(n_channels), np.zeros(n_channels)
    conversions_se, value_se = np.zeros(n_channels), np.zeros(n_channels)
    per_buyer_total = np.zeros(n)
    for c in range(n_channels):
        lost_value = lost[c] * buyers.value
        conversions[c], value[c] = lost[c].sum(), lost_value.sum()
        conversions_se[c] = _sum_error(lost[c], scale)
        value_se[c] = _sum_error(lost_value, scale)
        per_buyer_total += lost_value
    total = value.sum()
    share = value / total if total > 0 else np.zeros(n_channels)
    share_se = np.zeros(n_channels)
    if total > 0:
        for c in range(n_channels):
            residual = lost[c] * buyers.value - share[c] * per_buyer_total
            share_se[c] = np.sqrt(np.dot(residual, residual)) * scale / total
    return pd.DataFrame(
        {
            "channel": list(scenario.channel_names),
            "true_conversions": conversions,
            "true_value": value,
            "true_share": share,
            "std_error": value_se,
            "conversions_std_error": conversions_se,
            "share_std_error": share_se,
        },
        columns=list(TRUTH_COLUMNS),
    )


def _sum_error(per_buyer: np.ndarray, scale: float) -> float:
    """Standard error of ``per_buyer.sum()`` over independent buyers."""
    centred = per_buyer - per_buyer.mean()
    return float(np.sqrt(np.dot(centred, centred)) * scale)
