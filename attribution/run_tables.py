"""A run's roll-up tables from its merged sums: every model's roll-up of each set of
dimensions stacked into one table, with the models' per-channel columns and the
bootstrap intervals.

Each table is assembled once per set of dimensions, for all models together: the
models' rows are built as arrays, the replicate rows of every model are stacked into
one interval computation, and one DataFrame is made at the end. Every value is the one
a table per model would hold (the interval formulas act row by row, so
stacking rows changes nothing); only pandas' fixed cost per operation is paid per set
of dimensions instead of per model and set of dimensions.

Row order of a roll-up table: per model (in the run's model order), the touched groups
sorted by label (:class:`~attribution.rollup.SortedGroups`), then the untouched groups
of conserving models. Columns: ``model``, the dimensions, ``credited_conversions``,
``credited_value``, ``share``, then further columns in the order the models first bring
them (per-channel columns such as ``removal_effect``; the interval columns), missing
values NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from attribution.bootstrap import INTERVAL_COLUMNS, Bootstrap, interval
from attribution.journeys import LabelTables
from attribution.models.base import AttributionModel
from attribution.plan import RunPlan
from attribution.rollup import GroupSums, SortedGroups

if TYPE_CHECKING:
    from attribution.passes import PartitionCredit, ReplicateSums

Rollup = tuple[str, ...]
#: The dtype pandas gives a column of text labels (``str`` from pandas 3 on).
TEXT = pd.Series(["label"]).dtype


@dataclass
class _Block:
    """One model's rows of a table: label columns (pandas, so the table's label dtype
    is the one pandas gives their concatenation) and numeric columns (arrays)."""

    model: str
    rows: int
    labels: list[pd.Series]
    values: dict[str, np.ndarray]


def _stack(blocks: Sequence[_Block], dims: Rollup) -> pd.DataFrame:
    """The blocks' rows in one table: ``model``, the dimensions, then every numeric column
    in the order the blocks first bring it (NaN where a block has none)."""
    if not blocks:
        return pd.DataFrame()
    total = sum(b.rows for b in blocks)
    model = np.repeat(np.array([b.model for b in blocks], dtype=object), [b.rows for b in blocks])
    columns: dict[str, object] = {"model": pd.Series(model, dtype=TEXT)}
    for i, dimension in enumerate(dims):
        columns[dimension] = pd.concat([b.labels[i] for b in blocks], ignore_index=True)
    names = list(dict.fromkeys(name for b in blocks for name in b.values))
    for name in names:
        column = np.full(total, np.nan)
        start = 0
        for b in blocks:
            if name in b.values:
                column[start : start + b.rows] = b.values[name]
            start += b.rows
        columns[name] = column
    return pd.DataFrame(columns, index=pd.RangeIndex(total))


def rollup_tables(
    plan: RunPlan,
    models: dict[str, AttributionModel],
    value_in: float,
    credit: PartitionCredit,
    groups: dict[Rollup, SortedGroups],
    tables: LabelTables,
    replicates: ReplicateSums | None,
    boot: Bootstrap | None,
    any_untouched: bool,
) -> dict[Rollup, pd.DataFrame]:
    """Every roll-up's table (see the module docstring)."""
    channel_codes = {name: code for code, name in enumerate(tables.names("channel"))}
    out = {}
    for dims in plan.rollups:
        order = groups[dims].order
        touched_labels = [groups[dims].labels[d] for d in dims]
        blocks: list[_Block] = []
        reps: list[np.ndarray] = []
        untouched_reps: dict[float | None, np.ndarray] = {}
        for label, model in models.items():
            window = plan.window_of(model)
            sums: GroupSums = credit.sums[(label, dims)]
            untouched = credit.untouched[(window, dims)].frame
            shown = any_untouched and plan.shows_untouched(model) and len(untouched) > 0
            labels = list(touched_labels)
            conversions = sums.conversions[order]
            value = sums.value[order]
            if shown:
                labels = [
                    pd.concat([touched_labels[i], untouched[d]], ignore_index=True)
                    for i, d in enumerate(dims)
                ]
                conversions = np.concatenate(
                    [conversions, untouched["credited_conversions"].to_numpy(np.float64)]
                )
                value = np.concatenate([value, untouched["credited_value"].to_numpy(np.float64)])
            rows = len(value)
            values = {
                "credited_conversions": conversions,
                "credited_value": value,
                "share": value / value_in if value_in > 0 else np.zeros(rows),
            }
            extra = model.channel_columns()
            if extra and "channel" in dims:
                channels = labels[dims.index("channel")]
                index = np.array([channel_codes.get(c, -1) for c in channels], np.int64)
                known = index >= 0
                for name, per_channel in extra.items():
                    column = np.full(rows, np.nan)
                    column[known] = np.asarray(per_channel, dtype=np.float64)[index[known]]
                    values[name] = column
            blocks.append(_Block(label, rows, labels, values))
            if replicates is not None and boot is not None:
                model_reps = [replicates.values[(label, dims)][order]]
                if shown:
                    # Untouched groups are found among the untouched replicate sums by
                    # their labels, unique there; never among the touched groups too (a
                    # journey-level dimension can give a touched and an untouched group
                    # the same labels).
                    if window not in untouched_reps:
                        table = replicates.untouched[(window, dims)].frame
                        untouched_reps[window] = rows_by_labels(
                            untouched[list(dims)],
                            table[list(dims)],
                            table.drop(columns=list(dims)).to_numpy(),
                        )
                    model_reps.append(untouched_reps[window])
                reps.append(np.concatenate(model_reps))
        if reps and replicates is not None and boot is not None:
            _add_intervals(blocks, np.concatenate(reps), replicates.value_in, boot)
        out[dims] = _stack(blocks, dims)
    return out


def _add_intervals(
    blocks: list[_Block], reps: np.ndarray, value_in: np.ndarray, boot: Bootstrap
) -> None:
    """Each block's interval columns from the stacked replicate rows ``reps`` (the
    blocks' rows in order)."""
    se, low, high = interval(reps, boot.ci)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = reps / np.where(value_in > 0, value_in, np.nan)
    _, share_low, share_high = interval(shares, boot.ci)
    start = 0
    for block in blocks:
        part = slice(start, start + block.rows)
        for name, data in zip(
            INTERVAL_COLUMNS, (se, low, high, share_low, share_high), strict=True
        ):
            block.values[name] = data[part]
        start += block.rows


def rows_by_labels(wanted: pd.DataFrame, labels: pd.DataFrame, values: np.ndarray) -> np.ndarray:
    """The rows of ``values`` (one per row of ``labels``, whose rows are unique) of each
    row of ``wanted``, matched on every label; NaN for a row with no match."""
    found = {row: i for i, row in enumerate(labels.itertuples(index=False, name=None))}
    index = np.array(
        [found.get(row, -1) for row in wanted.itertuples(index=False, name=None)], np.int64
    )
    out = np.full((len(index), values.shape[1]), np.nan)
    out[index >= 0] = values[index[index >= 0]]
    return out
