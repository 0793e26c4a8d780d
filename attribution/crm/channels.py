"""Each touch's channel and team: its own, else the first matching rule's, else the
fallback's (see :mod:`attribution.crm.rules`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attribution.crm.fields import TouchFields
from attribution.crm.rules import FIELDS, ChannelRules
from attribution.io.parse import Labels


@dataclass(frozen=True)
class Channels:
    """Final channel and team codes per input touch, and how they were assigned."""

    channel: np.ndarray
    channel_names: list[str]
    team: np.ndarray
    team_names: list[str]
    own: np.ndarray
    rule: np.ndarray
    unmatched: tuple[tuple[str, str, int], ...]

    @classmethod
    def of(cls, touch: TouchFields, rules: ChannelRules, n: int) -> Channels:
        own_channel = _present(touch.labels["channel"], n)
        own_team = _present(touch.labels["team"], n)
        need = np.flatnonzero(own_channel < 0)
        every = len(need) == n
        fields = {
            name: labels if labels is None or every else Labels(labels.codes[need], labels.names)
            for name, labels in ((f, touch.labels[f]) for f in FIELDS)
        }
        assigned = rules.assign(fields, len(need))

        def spread(values: np.ndarray, fill: int) -> np.ndarray:
            """Per row, from the values of the rows the rules were evaluated on."""
            if every:
                return values
            out = np.full(n, fill, values.dtype)
            out[need] = values
            return out

        own = own_channel >= 0
        rule = spread(assigned.rule, -2)
        n_channels, n_teams = (
            len(_names(touch.labels["channel"])),
            len(_names(touch.labels["team"])),
        )
        channel = np.where(own, own_channel, n_channels + spread(assigned.channel, 0))
        rule_team = spread(assigned.team, -1)
        team = np.where(
            own_team >= 0, own_team, np.where(~own & (rule_team >= 0), n_teams + rule_team, -1)
        )
        channel_names = _names(touch.labels["channel"]) + list(assigned.channel_names)
        team_names = _names(touch.labels["team"]) + list(assigned.team_names)
        return cls(
            channel.astype(np.int32),
            channel_names,
            team.astype(np.int32),
            team_names,
            own,
            rule,
            assigned.unmatched,
        )


def _present(labels: Labels | None, n: int) -> np.ndarray:
    """Codes of non-null, non-blank labels; -1 elsewhere."""
    if labels is None:
        return np.full(n, -1, np.int64)
    blank = np.array([not name.strip() for name in labels.names] + [True])
    codes = labels.codes
    return np.where(blank[np.where(codes >= 0, codes, len(labels.names))], -1, codes)


def _names(labels: Labels | None) -> list[str]:
    return [] if labels is None else list(labels.names)
