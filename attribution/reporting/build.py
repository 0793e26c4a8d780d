"""From a run to the report's data: every frame is a table the run itself produced.

:func:`report_data` takes an :class:`~attribution.engine.AttributionResult` (and,
for the top converting paths, the journeys it ran on) and selects, reshapes and labels
its tables for :class:`~attribution.reporting.data.ReportData`; nothing is recomputed
except what the run does not hold (the most common paths, counted from the journeys,
and the comparison of the models' channel shares, by :func:`attribution.compare.compare`,
the same function ``attribution compare`` uses). :func:`report` runs the models the
report needs and writes the page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attribution.columns import DEFAULT_SEPARATOR
from attribution.compare import compare
from attribution.engine import AttributionResult, attribute
from attribution.io.intake import Loaded
from attribution.journeys import NO_TOUCH_LABEL, Journeys
from attribution.kernels.paths import path_keys
from attribution.periods import Period
from attribution.reporting.data import ReportData
from attribution.scorecards import Costs, stacked

TOP_PATHS = 20
NANOS_PER_SECOND = 1_000_000_000


def report(
    data: Loaded | AttributionResult,
    path: str | Path,
    *,
    journeys: Journeys | None = None,
    models: Any = "all",
    truth: pd.DataFrame | None = None,
    title: str = "Pipeline attribution",
    period: Period | None = "quarter",
    costs: Any = None,
    bootstrap: Any = None,
    lookback_days: float | None = None,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    generated: str | None = None,
) -> Path:
    """Write the report of ``data`` to ``path`` (one self-contained HTML file).

    ``data``: loaded journeys (the models are run with every roll-up the report shows:
    by channel, by team, by channel and ``period``, and the scorecard) or a result
    computed already (sections whose tables it lacks are left out, each with a line
    saying why). ``truth``: true channel shares for the error table.
    """
    from attribution.reporting.render import write_report

    if isinstance(data, Loaded):
        journeys = data.journeys
        result = run_for_report(
            data,
            models=models,
            period=period,
            costs=costs,
            bootstrap=bootstrap,
            lookback_days=lookback_days,
            parameters=parameters,
        )
    else:
        result = data
    return write_report(
        report_data(result, journeys=journeys, truth=truth, title=title, generated=generated),
        path,
    )


def run_for_report(
    loaded: Loaded,
    *,
    models: Any = "all",
    period: Period | None = "quarter",
    costs: Any = None,
    bootstrap: Any = None,
    lookback_days: float | None = None,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    exclude: Any = (),
    by: tuple[str, ...] = ("channel", "team"),
) -> AttributionResult:
    """Run the models with the roll-ups the report shows: by channel, by team, by channel
    and period (when the data has times), and the scorecard by each dimension of
    ``by``."""
    dated = period is not None and loaded.journeys.has_times
    also: list[tuple[str, ...]] = list(
        dict.fromkeys([("channel",), ("team",), *((d,) for d in by)])
    )
    if dated:
        also.append(("channel", "period"))
    return attribute(
        loaded,
        models,
        by=("channel", "team", "period") if dated else ("channel", "team"),
        also_by=also,
        period=period if dated else None,
        lookback_days=lookback_days,
        parameters=parameters,
        scorecard=True,
        costs=None if costs is None else Costs.load(costs),
        bootstrap=bootstrap,
        exclude=exclude,
    )


def report_data(
    result: AttributionResult,
    *,
    journeys: Journeys | None = None,
    truth: pd.DataFrame | None = None,
    title: str = "Pipeline attribution",
    generated: str | None = None,
    inputs: Sequence[tuple[str, str]] = (),
) -> ReportData:
    """The report's frames from a run (see the module docstring). ``inputs``: every
    file the run read, as (role, path) pairs (``("outcomes", "o.parquet")``), listed in
    the headline; without them, the touch files the result records."""
    reasons: dict[str, str] = {}
    channels = result.rollups.get(("channel",))
    if channels is None or channels.empty:
        raise ValueError("the report needs a roll-up by channel: run with also_by=[('channel',)]")
    models = list(dict.fromkeys(channels["model"]))
    # The charts are sorted by the recommended model; when it did not run (a model list
    # without it), by the first model, and the report says so.
    ran = result.recommended in models
    lead = result.recommended if ran else models[0]
    credits = channels[
        ["model", "channel", "credited_value", "share"]
        + [
            c
            for c in ("share_low", "share_high", "credited_value_low", "credited_value_high")
            if c in channels.columns
        ]
    ]
    reconciliation = result.reconciliation
    headline = _headline(result, journeys, inputs)
    statuses = pd.DataFrame(
        {
            "model": [m.model for m in reconciliation.models],
            "status": [m.status.value for m in reconciliation.models],
        }
    )
    team = _team_credits(result, lead, reasons)
    agreement, errors = _comparison(result, channels, truth, reasons)
    scorecard = _scorecard(result, [lead, "sourced", "influenced"], reasons)
    trend = _trend(result, lead, reasons)
    paths = _top_paths(journeys, reasons)
    removal = None
    if "removal_effect" in channels.columns and "markov" in models:
        rows = channels[(channels["model"] == "markov") & (channels["channel"] != NO_TOUCH_LABEL)]
        removal = rows[["channel", "removal_effect"]].reset_index(drop=True)
    else:
        reasons["removal_effects"] = "markov did not run"
    currency = "" if any(n.code == "no_value_column" for n in reconciliation.notes) else "$"
    return ReportData(
        title=title,
        generated=generated or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        headline=headline,
        statuses=statuses,
        recommended_model=lead,
        recommended_missing="" if ran else result.recommended,
        channel_credits=credits.reset_index(drop=True),
        reconciliation=reconciliation.to_frame(),
        notes=[n.render() for n in reconciliation.notes],
        team_credits=team,
        agreement=agreement,
        errors=errors,
        scorecard=scorecard,
        trend=trend,
        top_paths=paths,
        removal_effects=removal,
        currency=currency,
        omitted_reasons=reasons,
    )


def _headline(
    result: AttributionResult, journeys: Journeys | None, inputs: Sequence[tuple[str, str]]
) -> pd.DataFrame:
    rec = result.reconciliation
    window = rec.windows[0]
    untouched = window.value_without_touches
    rows: list[tuple[str, object, str]] = [
        ("Pipeline in", rec.value_in, "money"),
        ("Creditable pipeline", window.creditable_value, "money"),
        ("Untouched pipeline", untouched, "money"),
        ("Untouched share", untouched / rec.value_in if rec.value_in else float("nan"), "percent"),
        ("Journeys", rec.journeys_weighted, "count"),
        ("Conversions", rec.converted_journeys, "count"),
        ("Models run", len(result.models), "count"),
    ]
    if journeys is not None and journeys.has_times and journeys.n_touches:
        first = pd.Timestamp(int(journeys.timestamp.min()), tz="UTC").strftime("%Y-%m-%d")
        last = pd.Timestamp(int(journeys.timestamp.max()), tz="UTC").strftime("%Y-%m-%d")
        rows.append(("Data period", f"{first} to {last}", "text"))
    if inputs:
        shown = "; ".join(f"{role}: {Path(path).name}" for role, path in inputs)
        rows.append(("Input files", shown, "text"))
    elif rec.intake is not None and rec.intake.files:
        files = rec.intake.files
        shown = ", ".join(Path(f).name for f in files[:3]) + (
            f" and {len(files) - 3} more" if len(files) > 3 else ""
        )
        rows.append(("Input files", shown, "text"))
    return pd.DataFrame(rows, columns=["item", "value", "kind"])


def _team_credits(
    result: AttributionResult, lead: str, reasons: dict[str, str]
) -> pd.DataFrame | None:
    teams = result.rollups.get(("team",))
    needed = {"sourced", "influenced", lead}
    if teams is None or not needed <= set(teams["model"]):
        reasons["team_credits"] = "it needs the sourced, influenced and recommended models by team"
        return None
    pivot = teams.pivot_table(index="team", columns="model", values="credited_value", aggfunc="sum")
    frame = pd.DataFrame(
        {
            "team": pivot.index.astype(str),
            "sourced": pivot["sourced"].fillna(0.0).to_numpy(),
            "influenced": pivot["influenced"].fillna(0.0).to_numpy(),
            "credited": pivot[lead].fillna(0.0).to_numpy(),
        }
    )
    return frame.sort_values("credited", ascending=False, kind="stable").reset_index(drop=True)


def _comparison(
    result: AttributionResult,
    channels: pd.DataFrame,
    truth: pd.DataFrame | None,
    reasons: dict[str, str],
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    models = list(dict.fromkeys(channels["model"]))
    if len(models) < 2 and truth is None:
        reasons["agreement"] = "only one model ran"
        reasons["errors"] = "no truth was given"
        return None, None
    replicates = None
    if result.replicates is not None and result.bootstrap is not None:
        replicates = {
            m: result.replicates[(m, ("channel",))]
            for m in models
            if (m, ("channel",)) in result.replicates
        }
    comparison = compare(
        channels,
        truth,
        replicates=replicates if replicates and len(replicates) == len(models) else None,
        ci=result.bootstrap.ci if result.bootstrap is not None else 0.9,
    )
    agreement = comparison.agreement[["model", "other", "tvd"]] if len(models) > 1 else None
    if agreement is None:
        reasons["agreement"] = "only one model ran"
    errors = None
    if comparison.errors is not None:
        errors = comparison.errors[["model", "share_error_tvd", "rank_correlation"]]
        errors = errors.sort_values("share_error_tvd", kind="stable").reset_index(drop=True)
    else:
        reasons["errors"] = "no truth was given"
    return agreement, errors


def _scorecard(
    result: AttributionResult, models: list[str], reasons: dict[str, str]
) -> pd.DataFrame | None:
    """The scorecards by channel and by team of the recommended model, sourced and
    influenced (what a team is credited with, sourced and influenced side by side)."""
    if result.scorecards is None:
        reasons["scorecard"] = "the run computed no scorecard"
        return None
    dimensions = [k[0] for k in result.scorecards if len(k) == 1]
    singles = {k: v for k, v in result.scorecards.items() if "period" not in k}
    table = stacked(singles, dimensions)
    if table.empty:
        reasons["scorecard"] = "the run has no scorecard by channel or team"
        return None
    if table["won"].fillna(0).sum() == 0 and table["closed"].fillna(0).sum() == 0:
        reasons["scorecard"] = "the data has no won or closed_at columns"
        return None
    table = table[table["model"].isin(models)]
    table = table[table["opportunities"].fillna(0).ne(0) | table["cost"].notna()]
    return table.reset_index(drop=True)


def _trend(result: AttributionResult, lead: str, reasons: dict[str, str]) -> pd.DataFrame | None:
    frame = result.rollups.get(("channel", "period"))
    if frame is None:
        reasons["trend"] = "no period was given and the run has no cohort dates"
        return None
    rows = frame[(frame["model"] == lead) & (frame["period"] != "(none)")]
    rows = rows[rows["channel"] != NO_TOUCH_LABEL]
    if rows.empty:
        reasons["trend"] = "no credited pipeline has a cohort date"
        return None
    rows = rows.sort_values(["period", "channel"], kind="stable")
    return rows[["period", "channel", "credited_value"]].reset_index(drop=True)


def _top_paths(journeys: Journeys | None, reasons: dict[str, str]) -> pd.DataFrame | None:
    """The most common channel sequences of converted journeys, each with its
    conversions, the journeys that took it, and their conversion rate (touches up to
    the conversion)."""
    if journeys is None:
        reasons["top_paths"] = "the report was given a result without its journeys"
        return None
    windowed, _ = journeys.window(None)
    keys = path_keys(windowed.offsets, windowed.channel)
    touched = windowed.lengths > 0
    if not (windowed.converted & touched).any():
        reasons["top_paths"] = "no converted journey has a touch"
        return None
    unique, inverse = np.unique(keys[touched], return_inverse=True)
    weight = windowed.weight[touched]
    conversions = np.bincount(inverse, weights=windowed.conversions[touched], minlength=len(unique))
    counts = np.bincount(inverse, weights=weight, minlength=len(unique))
    order = np.argsort(-conversions, kind="stable")[:TOP_PATHS]
    order = order[conversions[order] > 0]
    first_of = np.full(len(unique), -1)
    rows = np.flatnonzero(touched)
    first_of[inverse[::-1]] = rows[::-1]
    names = np.asarray(windowed.channel_names, dtype=object)
    paths = []
    for group in order:
        j = first_of[group]
        channel = windowed.channel[windowed.offsets[j] : windowed.offsets[j + 1]]
        paths.append(DEFAULT_SEPARATOR.join(names[channel]))
    return pd.DataFrame(
        {
            "path": paths,
            "conversions": conversions[order],
            "journeys": counts[order],
            "conversion_rate": conversions[order] / counts[order],
        }
    )


__all__ = ["report", "report_data", "run_for_report"]
