"""Channel rules: assign each touch a channel (and a team) from its raw fields.

A rule set is an ordered list of rules; the first rule that matches a touch gives it its
channel, and optionally its team. A rule matches on any of the fields ``source``,
``medium``, ``campaign``, ``touch_type`` and ``referrer``; with several fields, all must
match. Each field condition is one of

- a text or a list of texts: the field equals one of them exactly;
- ``{equals: TEXT or [TEXTS]}``: the same, written out;
- ``{equals_ignore_case: TEXT or [TEXTS]}``: equal ignoring case (Unicode case folding);
- ``{regex: PATTERN}``: Python's ``re.search`` finds the pattern in the field (anchor
  with ``^...$`` for a whole-value match; ``(?i)`` ignores case).

A missing field (null, or a column the touches do not have) is the empty text ``""``, so
``{equals: ""}`` or ``{regex: "^$"}`` matches it. Touches no rule matches get the
``fallback`` channel (default ``unassigned``). A touch whose channel comes from the
rules gets the matching rule's ``team``, else ``fallback_team`` when given (for a rule
without a team as for the fallback channel), else no team.

The file (YAML or JSON) is either a list of rules or an object::

    fallback: unassigned
    rules:
      - channel: paid_search
        team: marketing
        source: {regex: "(?i)google|bing"}
        medium: [cpc, ppc]

Rules are evaluated once per distinct combination of the five fields, never per row: a
few thousand combinations cover millions of touches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from attribution.errors import InputError, Problem
from attribution.io.parse import Labels

#: The touch fields a rule can match.
FIELDS: tuple[str, ...] = ("source", "medium", "campaign", "touch_type", "referrer")
MatchKind = Literal["equals", "equals_ignore_case", "regex"]
MATCH_KINDS: tuple[str, ...] = ("equals", "equals_ignore_case", "regex")
DEFAULT_FALLBACK = "unassigned"
_RULE_KEYS = ("channel", "team", "name", *FIELDS)
_TOP_KEYS = ("rules", "fallback", "fallback_team")


@dataclass(frozen=True)
class Condition:
    """One field's test: equal to one of ``values``, ignoring case, or a regex search."""

    field: str
    kind: MatchKind
    values: tuple[str, ...]

    def matches(self, texts: Sequence[str]) -> np.ndarray:
        """Which of the (distinct) field values match."""
        if self.kind == "regex":
            pattern = re.compile(self.values[0])
            return np.array([pattern.search(t) is not None for t in texts], bool)
        if self.kind == "equals_ignore_case":
            wanted = {v.casefold() for v in self.values}
            return np.array([t.casefold() in wanted for t in texts], bool)
        exact = set(self.values)
        return np.array([t in exact for t in texts], bool)

    def describe(self) -> str:
        if self.kind == "regex":
            return f"{self.field} ~ /{self.values[0]}/"
        shown = self.values[0] if len(self.values) == 1 else "|".join(self.values)
        operator = "=" if self.kind == "equals" else "≈"
        return (
            f"{self.field} {operator} {shown!r}"
            if len(self.values) == 1
            else (f"{self.field} {operator} {shown}")
        )


@dataclass(frozen=True)
class Rule:
    """Touches meeting every condition get ``channel`` (and ``team`` when given)."""

    channel: str
    conditions: tuple[Condition, ...]
    team: str | None = None
    name: str = ""

    def describe(self) -> str:
        return " and ".join(c.describe() for c in self.conditions)


@dataclass(frozen=True)
class Assignment:
    """The rule each row matched (-1: none, the fallback) and the channel and team that
    gives it, as codes into ``channel_names`` and ``team_names`` (team -1: no team)."""

    rule: np.ndarray
    channel: np.ndarray
    team: np.ndarray
    channel_names: tuple[str, ...]
    team_names: tuple[str, ...]
    #: Per distinct field combination of unmatched rows: (source, medium) and rows.
    unmatched: tuple[tuple[str, str, int], ...]


@dataclass(frozen=True)
class ChannelRules:
    """An ordered rule set with its fallback; ``origin`` says where it came from."""

    rules: tuple[Rule, ...]
    fallback: str = DEFAULT_FALLBACK
    fallback_team: str | None = None
    origin: str = "rules given in Python"

    @classmethod
    def from_file(cls, path: str | Path) -> ChannelRules:
        """Read and validate a YAML (``.yaml``, ``.yml``) or JSON rules file."""
        file = Path(path)
        if not file.exists():
            raise InputError(Problem("channel rules file not found", source=str(file)))
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise InputError(
                Problem(f"channel rules file is not UTF-8 text ({error})", source=str(file))
            ) from None
        return cls.from_data(_parse(text, file), origin=str(file))

    @classmethod
    def from_data(cls, data: Any, *, origin: str = "rules given in Python") -> ChannelRules:
        """Validate rules given as parsed YAML/JSON: a list of rules or an object with
        ``rules``, ``fallback`` and ``fallback_team``. Every problem is reported, each
        naming its rule by number (1-based, in file order)."""
        problems: list[str] = []
        if isinstance(data, list):
            data = {"rules": data}
        if not isinstance(data, dict):
            raise InputError(
                Problem("channel rules must be a list of rules or an object with 'rules'", origin)
            )
        unknown = sorted(set(map(str, data)) - set(_TOP_KEYS))
        if unknown:
            problems.append(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(_TOP_KEYS)})")
        raw_rules = data.get("rules")
        if not isinstance(raw_rules, list) or not raw_rules:
            problems.append("'rules' must be a non-empty list of rules")
            raw_rules = []
        fallback = _text_or_problem(data.get("fallback", DEFAULT_FALLBACK), "fallback", problems)
        fallback_team = data.get("fallback_team")
        if fallback_team is not None:
            fallback_team = _text_or_problem(fallback_team, "fallback_team", problems)
        rules = []
        for number, raw in enumerate(raw_rules, start=1):
            rule = _rule(raw, number, problems)
            if rule is not None:
                rules.append(rule)
        if problems:
            raise InputError([Problem(f"channel rules: {p}", source=origin) for p in problems])
        return cls(tuple(rules), fallback or DEFAULT_FALLBACK, fallback_team or None, origin)

    def fields(self) -> tuple[str, ...]:
        """The fields some rule reads, in :data:`FIELDS` order."""
        used = {c.field for rule in self.rules for c in rule.conditions}
        return tuple(f for f in FIELDS if f in used)

    def assign(self, fields: Mapping[str, Labels | None], n_rows: int) -> Assignment:
        """Evaluate the rules on every distinct combination of the fields they read and
        give each row the first matching rule's channel and team (or the fallback's).

        ``fields`` maps each field to its dictionary-encoded labels (None: no column).
        """
        # Source and medium always split the combinations: they name the unmatched ones.
        read = set(self.fields()) | {"source", "medium"}
        used = [f for f in FIELDS if f in read and fields.get(f) is not None]
        combo, n_combos = _combinations([fields[name] for name in used], n_rows)
        combo = combo.astype(np.int64, copy=False)
        # The field codes of each combination (every row of one combination has the same).
        per_combo: dict[str, np.ndarray] = {}
        for name in used:
            labels = fields[name]
            assert labels is not None
            codes = np.full(n_combos, -1, np.int64)
            codes[combo] = labels.codes
            per_combo[name] = codes
        first = np.full(n_combos, -1, np.int64)
        for index, rule in enumerate(self.rules):
            hit = first < 0
            for condition in rule.conditions:
                hit &= _condition_on_combos(condition, fields.get(condition.field), per_combo)
            first[hit] = index
        return self._assignment(first, combo, fields, per_combo)

    def _assignment(
        self,
        first: np.ndarray,
        combo: np.ndarray,
        fields: Mapping[str, Labels | None],
        per_combo: dict[str, np.ndarray],
    ) -> Assignment:
        channel_names = tuple(dict.fromkeys([r.channel for r in self.rules] + [self.fallback]))
        teams = [r.team or self.fallback_team for r in self.rules] + [self.fallback_team]
        team_names = tuple(dict.fromkeys(t for t in teams if t is not None))
        rule_channel = np.array([channel_names.index(r.channel) for r in self.rules], np.int64)
        rule_team = np.array([-1 if t is None else team_names.index(t) for t in teams], np.int64)
        fallback = channel_names.index(self.fallback)
        combo_channel = np.where(first >= 0, rule_channel[np.maximum(first, 0)], fallback)
        combo_team = np.where(first >= 0, rule_team[np.maximum(first, 0)], rule_team[-1])
        rows_per_combo = np.bincount(combo, minlength=len(first))
        unmatched: dict[tuple[str, str], int] = {}
        for index in np.flatnonzero((first < 0) & (rows_per_combo > 0)):
            key = (
                _text_at(fields.get("source"), per_combo.get("source"), int(index)),
                _text_at(fields.get("medium"), per_combo.get("medium"), int(index)),
            )
            unmatched[key] = unmatched.get(key, 0) + int(rows_per_combo[index])
        ranked = sorted(unmatched.items(), key=lambda item: (-item[1], item[0]))
        return Assignment(
            rule=first[combo],
            channel=combo_channel[combo],
            team=combo_team[combo],
            channel_names=channel_names,
            team_names=team_names,
            unmatched=tuple((s, m, n) for (s, m), n in ranked),
        )


def _combinations(labels: list[Labels | None], n_rows: int) -> tuple[np.ndarray, int]:
    """Per row, the code of its distinct combination of the fields; and their number.

    The field codes are combined in one mixed-radix integer when it fits in 63 bits (one
    hash of the rows), else pairwise, re-coding after each field."""
    present = [x for x in labels if x is not None]
    radices = [len(x.names) + 1 for x in present]
    if float(np.prod(np.array(radices, float))) < 2.0**62:
        key = np.zeros(n_rows, np.int64)
        for field, radix in zip(present, radices, strict=True):
            key = key * radix + (field.codes + 1)
        codes, uniques = pd.factorize(key)
        return codes.astype(np.int64, copy=False), max(len(uniques), 1)
    combo = np.zeros(n_rows, np.int64)
    n_combos = 1
    for field, radix in zip(present, radices, strict=True):
        combo, uniques = pd.factorize(combo * radix + field.codes + 1)
        n_combos = len(uniques)
    return combo.astype(np.int64, copy=False), n_combos


def _condition_on_combos(
    condition: Condition, labels: Labels | None, per_combo: dict[str, np.ndarray]
) -> np.ndarray | bool:
    """The condition on each combination (a scalar when the touches lack the field)."""
    if labels is None:
        return bool(condition.matches([""])[0])
    on_values = np.append(condition.matches(labels.names), condition.matches([""])[0])
    codes = per_combo[condition.field]
    return on_values[np.where(codes >= 0, codes, len(labels.names))]


def _text_at(labels: Labels | None, codes: np.ndarray | None, index: int) -> str:
    if labels is None or codes is None or codes[index] < 0:
        return ""
    return labels.names[int(codes[index])]


def _parse(text: str, file: Path) -> Any:
    if file.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise InputError(
                Problem(f"channel rules file is not valid JSON ({error})", source=str(file))
            ) from None
    if file.suffix.lower() not in (".yaml", ".yml"):
        raise InputError(
            Problem(
                f"channel rules file type '{file.suffix}' is not supported; use .yaml, .yml "
                "or .json",
                source=str(file),
            )
        )
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InputError(
            Problem(f"channel rules file is not valid YAML ({error})", source=str(file))
        ) from None


def _text_or_problem(value: Any, what: str, problems: list[str]) -> str:
    if isinstance(value, str) and value.strip():
        return value
    problems.append(f"{what} must be a non-empty text, not {value!r}")
    return ""


def _rule(raw: Any, number: int, problems: list[str]) -> Rule | None:
    where = f"rule {number}"
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be an object with 'channel' and field conditions")
        return None
    unknown = sorted(set(map(str, raw)) - set(_RULE_KEYS))
    count = len(problems)
    if unknown:
        problems.append(
            f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(_RULE_KEYS)})"
        )
    if "channel" not in raw:
        problems.append(f"{where}: missing 'channel'")
        channel = ""
    else:
        channel = _text_or_problem(raw["channel"], f"{where}: channel", problems)
    team = raw.get("team")
    if team is not None:
        team = _text_or_problem(team, f"{where}: team", problems)
    name = raw.get("name", "")
    if not isinstance(name, str):
        problems.append(f"{where}: name must be a text")
    conditions = []
    for field in FIELDS:
        if field in raw:
            condition = _condition(field, raw[field], where, problems)
            if condition is not None:
                conditions.append(condition)
    if not any(field in raw for field in FIELDS):
        problems.append(
            f"{where}: no condition on any of {', '.join(FIELDS)} (a rule that matches every "
            "touch is the 'fallback')"
        )
    if len(problems) > count:
        return None
    return Rule(channel, tuple(conditions), team or None, name if isinstance(name, str) else "")


def _condition(field: str, raw: Any, where: str, problems: list[str]) -> Condition | None:
    at = f"{where}: {field}"
    if isinstance(raw, dict):
        if len(raw) != 1 or next(iter(raw)) not in MATCH_KINDS:
            problems.append(
                f"{at}: must have exactly one of {', '.join(MATCH_KINDS)}, got "
                f"{', '.join(map(str, raw)) or 'nothing'}"
            )
            return None
        kind, value = next(iter(raw.items()))
    else:
        kind, value = "equals", raw
    if kind == "regex":
        if not isinstance(value, str):
            problems.append(f"{at}: regex must be a text, not {value!r}")
            return None
        try:
            re.compile(value)
        except re.error as error:
            problems.append(f"{at}: bad regular expression {value!r} ({error})")
            return None
        return Condition(field, "regex", (value,))
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) for v in values):
        problems.append(
            f"{at}: {kind} needs a text or a non-empty list of texts (quote numbers and "
            f"yes/no), not {value!r}"
        )
        return None
    return Condition(field, kind, tuple(values))
