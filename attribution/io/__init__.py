"""Input and output: reading sources, validating and encoding them, writing results."""

from __future__ import annotations

from collections.abc import Mapping

from attribution.columns import ColumnMap
from attribution.io.intake import Intake, Loaded
from attribution.io.paths import load_paths
from attribution.io.sources import Source
from attribution.io.touches import DEFAULT_SEPARATOR, load_touches


def load(
    source: Source,
    outcomes: Source | None = None,
    *,
    paths: bool = False,
    columns: ColumnMap | None = None,
    channel_teams: Mapping[str, str] | None = None,
    on_invalid: str = "fail",
    separator: str = DEFAULT_SEPARATOR,
) -> Loaded:
    """Load a touch table (with outcomes) or, with ``paths=True``, an aggregated path table."""
    if paths:
        if outcomes is not None:
            raise ValueError("a path table carries its own outcomes; do not pass outcomes with it")
        return load_paths(
            source,
            columns=columns,
            channel_teams=channel_teams,
            on_invalid=on_invalid,
            separator=separator,
        )
    return load_touches(
        source,
        outcomes,
        columns=columns,
        channel_teams=channel_teams,
        on_invalid=on_invalid,
        separator=separator,
    )


__all__ = ["DEFAULT_SEPARATOR", "Intake", "Loaded", "load", "load_paths", "load_touches"]
