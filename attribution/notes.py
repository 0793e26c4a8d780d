"""Structured statements about a run, for the reconciliation.

A note is data first (who says it, a stable code a caller can test for, and the values
it is about) and a sentence second: :meth:`Note.render` is what the terminal and the
reconciliation file show.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Note:
    """One statement: ``code`` (stable, e.g. ``"left_out"``), ``message`` (the sentence),
    ``model`` (the model label it is about, or None for the input) and ``data`` (the
    values it reports, by name)."""

    code: str
    message: str
    model: str | None = None
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    def render(self) -> str:
        """The sentence, prefixed with the model it is about."""
        return f"{self.model}: {self.message}" if self.model else self.message

    def about(self, model: str) -> Note:
        """The same note attributed to a model label."""
        return replace(self, model=model)

    def __str__(self) -> str:
        return self.render()
