"""Render :class:`~attribution.reporting.data.ReportData` to one self-contained HTML file.

The page is a Jinja2 template with autoescaping on: every label a user controls (the
title, channel, team, campaign and model names, notes) reaches the HTML as text. Chart
specifications are embedded as JSON in ``<script type="application/json">`` elements,
with ``<``, ``>``, ``&``, U+2028 and U+2029 written as ``\\u003c`` and so on, so no label
can close the element or start markup; the page's script parses them and draws them
with Vega-Embed, keeping every result on ``window.attributionReport``.

Self-contained: the chart libraries, the style sheet and the page script are inlined;
text uses the system's fonts (nothing to download); the Content-Security-Policy allows
inline scripts and styles and ``data:`` images only, so the file loads nothing. The
output depends only on the data (``generated`` is passed in), so the same data always
gives the same bytes.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attribution.reporting import specs, tables
from attribution.reporting.bundle import chart_bundle, require_report_dependencies
from attribution.reporting.colors import ChannelColors, agreement_order, channel_colors, model_order
from attribution.reporting.data import OPTIONAL_SECTIONS, ReportData

if TYPE_CHECKING:
    import jinja2

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; font-src data:; base-uri 'none'; form-action 'none'"
)
SCRIPT_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
TEMPLATES = Path(__file__).parent / "templates"


def script_json(value: object) -> str:
    """``value`` as JSON safe inside a ``<script>`` element (and as JavaScript)."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for character, escape in SCRIPT_ESCAPES.items():
        text = text.replace(character, escape)
    return text


@dataclass(frozen=True)
class Chart:
    """One chart of the page: ``name`` is its container's ``data-chart``."""

    name: str
    spec: str


def charts(data: ReportData, colors: ChannelColors, models: Sequence[str]) -> dict[str, Chart]:
    """Every chart the data has, by name, with its specification as script-safe JSON."""
    built: dict[str, specs.Spec] = {
        "channel_credits": specs.channel_credits_spec(data, colors, models)
    }
    if data.team_credits is not None:
        built["team_credits"] = specs.team_credits_spec(data)
    if data.agreement is not None:
        built["agreement"] = specs.agreement_spec(data, models)
    if data.errors is not None:
        order = [str(m) for m in tables.best_first(data.errors)["model"]]
        built["errors"] = specs.errors_spec(data, order)
    if data.trend is not None:
        built["trend"] = specs.trend_spec(data, colors)
    if data.top_paths is not None:
        built["top_paths"] = specs.top_paths_spec(data)
    if data.removal_effects is not None:
        built["removal_effects"] = specs.removal_effects_spec(data, colors)
    return {name: Chart(name, script_json(spec)) for name, spec in built.items()}


def page_tables(
    data: ReportData, colors: ChannelColors, models: Sequence[str]
) -> dict[str, tables.Table]:
    """Every table of the page but the scorecard's, by name."""
    result = {"channel_credits": tables.channel_table(data, colors, models)}
    if data.team_credits is not None:
        result["team_credits"] = tables.team_table(data)
    if data.agreement is not None:
        result["agreement"] = tables.agreement_table(data, agreement_order(data, models))
    if data.errors is not None:
        result["errors"] = tables.errors_table(data)
    if data.trend is not None:
        result["trend"] = tables.trend_table(data, colors)
    if data.top_paths is not None:
        result["top_paths"] = tables.top_paths_table(data)
    if data.removal_effects is not None:
        result["removal_effects"] = tables.removal_effects_table(data)
    result["reconciliation"] = tables.reconciliation_table(data)
    return result


SECTIONS = (
    ("headline", "Headline", ()),
    ("channels", "Channels", ()),
    ("teams", "Teams", ("team_credits",)),
    ("agreement", "Model agreement", ("agreement", "errors")),
    ("scorecard", "Scorecard", ("scorecard",)),
    ("trend", "Trend", ("trend",)),
    ("paths", "Paths and removal effects", ("top_paths", "removal_effects")),
    ("reconciliation", "Reconciliation", ()),
)
"""The page's sections in order: id, heading, and the optional frames it shows (a
section whose optional frames are all absent is replaced by their lines)."""


@cache
def environment() -> jinja2.Environment:
    """The page's Jinja2 environment (autoescaping on; an unknown name is an error)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report(data: ReportData) -> str:
    """The report as one self-contained HTML document.

    Raises :class:`~attribution.reporting.bundle.ReportDependencyError` when the optional
    ``report`` dependencies (Jinja2, vl-convert-python) are not installed.
    """
    require_report_dependencies()
    from markupsafe import Markup

    bundle = chart_bundle()
    colors = channel_colors(data)
    models = model_order(data)
    present = {name: getattr(data, name) is not None for name in OPTIONAL_SECTIONS}
    context: dict[str, Any] = {
        "data": data,
        "headline": tables.headline(data),
        "charts": {n: Markup(c.spec) for n, c in charts(data, colors, models).items()},
        "tables": page_tables(data, colors, models),
        "scorecard": tables.scorecard_tables(data) if data.scorecard is not None else None,
        "sections": [
            (id_, title)
            for id_, title, frames in SECTIONS
            if not frames or any(present[f] for f in frames)
        ],
        "omitted": {n: data.omitted_line(n) for n, here in present.items() if not here},
        "bundle": bundle,
        "bundle_script": Markup(bundle.script),
        "csp": CONTENT_SECURITY_POLICY,
        "stylesheet": Markup((TEMPLATES / "report.css").read_text(encoding="utf-8")),
        "page_script": Markup((TEMPLATES / "report.js").read_text(encoding="utf-8")),
    }
    return environment().get_template("report.html.j2").render(context)


def write_report(data: ReportData, path: str | os.PathLike[str]) -> Path:
    """Render the report and write it to ``path`` atomically: to a temporary file in the
    same folder, then renamed over ``path`` (replacing any file there), so a reader never
    sees half a report. Returns the path written."""
    target = Path(path)
    html = render_report(data)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(html)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target
