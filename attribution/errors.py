"""The exceptions a caller can act on: bad input (naming file, column and rows) and bad
parameters. Anything else raised by the engine is a bug."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One kind of invalid input: where it is, what is wrong, and example rows."""

    reason: str
    source: str | None = None
    column: str | None = None
    rows: Sequence[str] = ()
    count: int = 0
    examples: Sequence[str] = field(default_factory=tuple)

    def describe(self) -> str:
        where = []
        if self.source:
            where.append(self.source)
        if self.column:
            where.append(f"column '{self.column}'")
        text = (": ".join(where) + ": " if where else "") + self.reason
        if self.count:
            text += f" ({self.count} row{'s' if self.count != 1 else ''}"
            if self.rows:
                text += f"; e.g. {', '.join(self.rows)}"
            text += ")"
        if self.examples:
            text += "; e.g. " + ", ".join(self.examples)
        return text


class InputError(ValueError):
    """Input that cannot be attributed as given. The message names file, column and rows."""

    def __init__(self, problems: Problem | Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = (
            (problems,) if isinstance(problems, Problem) else tuple(problems)
        )
        super().__init__(self._message())

    def _message(self) -> str:
        if len(self.problems) == 1:
            return self.problems[0].describe()
        lines = [f"{len(self.problems)} problems in the input:"]
        lines += [f"  - {p.describe()}" for p in self.problems]
        return "\n".join(lines)


class MissingColumnsError(InputError):
    """Columns asked for as dimensions that neither input table has: ``columns`` names
    them, ``where`` lists the tables' columns (so a caller can say which of its options
    asked for them)."""

    def __init__(self, problem: Problem, columns: Sequence[str], where: str) -> None:
        self.columns = tuple(columns)
        self.where = where
        super().__init__(problem)


class ParameterError(ValueError):
    """A parameter (or command-line option) value the caller gave is invalid: an unknown
    model or option, a value out of range, conflicting specifications. The message names
    the parameter."""
