"""The work of one partition in each pass, as it runs on a worker.

Every pass loads its partition afresh from storage (a load of a few million rows takes a
second; keeping them in cluster memory would tie memory to the data size, and a lost
worker's partitions are simply read again). Each task returns only sums: the validation
pass its :class:`~attribution.dask.checks.Checked`, the fit pass the engine's
:class:`~attribution.passes.PartitionFit`, the credit pass its
:class:`~attribution.passes.PartitionCredit`; per-row outputs (rejects, per-touch credits)
are written by the worker into their datasets. The passes themselves are the local
engine's (:mod:`attribution.passes`), unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from attribution.dask.checks import Checked, found
from attribution.dask.outputs import DatasetOutput, as_table
from attribution.dask.partition import LoadOptions, PartitionInput, prepared, read_part
from attribution.dask.partitioning import Part, Partitioning
from attribution.errors import InputError
from attribution.io.sources import Origins
from attribution.io.validation import REJECT_COLUMNS
from attribution.journeys import LabelTables
from attribution.passes import (
    FittedRun,
    ModelContexts,
    PartitionCredit,
    PartitionFit,
    RunOptions,
    context_pass,
    credit_pass,
    fit_pass,
)
from attribution.plan import DataShape, RunPlan

T = TypeVar("T")


def identity(value: Any) -> Any:
    """``value`` itself: a value the client sends to the partition tasks."""
    return value


def merge_all(items: Sequence[Any]) -> Any:
    """The merge of a run of partition results (one node of the merge tree)."""
    return functools.reduce(lambda a, b: a.merge(b), items)


def check(
    part: Part,
    index: int,
    *,
    partitioning: Partitioning,
    options: LoadOptions,
    rejects: DatasetOutput | None,
) -> Checked:
    """The validation pass of one partition: load it, write its rejected rows, and sum
    what a plan and the reconciliation need. Invalid rows under ``on_invalid="fail"``
    are returned as problems (all partitions' problems are reported together)."""
    data = read_part(partitioning, part, options)
    origins = _origins(data)
    misplaced = data.misplaced(partitioning)
    if misplaced:
        return Checked(None, None, tuple(found(p, origins) for p in misplaced))
    try:
        loaded = data.load(partitioning, options)
    except InputError as error:
        return Checked(None, None, tuple(found(p, origins) for p in error.problems))
    if rejects is not None and not loaded.rejects.empty:
        rejects.part(index, _rejects_table(loaded.rejects, data))
    journeys = loaded.journeys
    return Checked.of(DataShape.of(journeys), loaded.intake, journeys.total_value)


def _origins(data: PartitionInput) -> dict[str, Origins]:
    found_in = {"touches": data.touches.origins}
    if data.outcomes is not None:
        found_in["outcomes"] = data.outcomes.origins
    return found_in


def _rejects_table(rejects: pd.DataFrame, data: PartitionInput) -> Any:
    """The partition's rejects with every input column of both tables, so that all parts
    of the rejects dataset have one schema."""
    inputs = [f"input.{c}" for c in data.touches.table.column_names]
    if data.outcomes is not None:
        inputs += [f"input.{c}" for c in data.outcomes.table.column_names]
    columns = list(dict.fromkeys([*REJECT_COLUMNS, *inputs]))
    frame = rejects.reindex(columns=columns)
    text = [c for c in columns if c != "source_row"]
    return as_table(frame.astype({c: object for c in text}), text, ("source_row",))


def context(
    part: Part,
    *,
    partitioning: Partitioning,
    options: LoadOptions,
    plan: RunPlan,
    tables: LabelTables,
    run_options: RunOptions,
) -> ModelContexts:
    """The context pass of one partition (:func:`attribution.passes.context_pass`)."""
    journeys = read_part(partitioning, part, options).load(partitioning, options).journeys
    return context_pass(prepared(journeys, plan, tables), plan, run_options)


def fit(
    part: Part,
    *,
    partitioning: Partitioning,
    options: LoadOptions,
    plan: RunPlan,
    tables: LabelTables,
    run_options: RunOptions,
    contexts: ModelContexts | None,
) -> PartitionFit:
    """The fit pass of one partition (:func:`attribution.passes.fit_pass`) in the merged
    contexts of all partitions."""
    journeys = read_part(partitioning, part, options).load(partitioning, options).journeys
    return fit_pass(prepared(journeys, plan, tables), plan, run_options, contexts)


def credit(
    part: Part,
    index: int,
    *,
    partitioning: Partitioning,
    options: LoadOptions,
    plan: RunPlan,
    tables: LabelTables,
    run_options: RunOptions,
    fitted: FittedRun,
    fit: PartitionFit,
    touch_credits: DatasetOutput | None,
) -> PartitionCredit:
    """The credit pass of one partition (:func:`attribution.passes.credit_pass`); its
    per-touch credits go to their dataset, not back to the client."""
    data = read_part(partitioning, part, options)
    journeys = prepared(data.load(partitioning, options).journeys, plan, tables)
    asked = replace(run_options, touch_credits=touch_credits is not None)
    result = credit_pass(journeys, plan, fitted, fit, asked, None)
    if touch_credits is None:
        return result
    frames = [_with_origins(f, data.touches.origins) for f in result.touch_frames]
    if frames:
        touch_credits.part(index, as_table(pd.concat(frames, ignore_index=True)))
    return replace(result, touch_frames=())


def _with_origins(frame: pd.DataFrame, origins: Origins) -> pd.DataFrame:
    """A touch-credit frame with each touch's source file and row (as a local run names
    them) in place of its row in the partition."""
    rows = frame["input_row"].to_numpy()
    at = frame.columns.get_loc("input_row")
    out = frame.drop(columns=["input_row"])
    out.insert(at, "source_row", origins.row[rows].astype(np.int64))
    names = np.asarray(origins.files, dtype=object)
    out.insert(at, "source_file", names[origins.file[rows]])
    return out
