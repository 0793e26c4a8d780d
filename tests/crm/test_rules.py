"""Channel rules: order, case, regex, fallback, validation, and the GA4 default set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from attribution.crm import ChannelRules, build_journeys, default_rules
from attribution.crm.rules import _combinations
from attribution.errors import InputError
from attribution.io.parse import Labels


def assign(
    rules: ChannelRules | None, rows: list[dict[str, Any]]
) -> tuple[list[str], list[str | None], Any]:
    """Channel and team of one touch per row (each on its own account with an opportunity
    created after it), and the reconciliation."""
    touches = pd.DataFrame(rows)
    n = len(rows)
    touches["person_id"] = [f"p{i}" for i in range(n)]
    touches["account_id"] = [f"a{i}" for i in range(n)]
    touches["timestamp"] = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(range(n), "h")
    opportunities = pd.DataFrame(
        {
            "opportunity_id": [f"o{i}" for i in range(n)],
            "account_id": [f"a{i}" for i in range(n)],
            "created_at": [pd.Timestamp("2025-02-01", tz="UTC")] * n,
        }
    )
    crm = build_journeys(touches, opportunities, channel_rules=rules)
    frame = crm.touches.to_pandas().set_index("journey_id").loc[opportunities["opportunity_id"]]
    teams = [None if pd.isna(t) else str(t) for t in frame["team"]]
    return frame["channel"].astype(str).tolist(), teams, crm.reconciliation


def rules(*items: dict[str, Any], **top: Any) -> ChannelRules:
    return ChannelRules.from_data({"rules": list(items), **top})


def test_first_matching_rule_wins() -> None:
    set_ = rules(
        {"channel": "brand", "source": "google", "campaign": {"regex": "^brand"}},
        {"channel": "search", "source": "google"},
        {"channel": "never", "source": "google", "medium": "cpc"},
    )
    channels, _, _ = assign(
        set_,
        [
            {"source": "google", "medium": "cpc", "campaign": "brand_q1"},
            {"source": "google", "medium": "cpc", "campaign": "generic"},
        ],
    )
    assert channels == ["brand", "search"]


def test_exact_values_are_case_sensitive_unless_asked() -> None:
    set_ = rules(
        {"channel": "exact", "medium": "cpc"},
        {"channel": "folded", "medium": {"equals_ignore_case": ["email", "e-mail"]}},
        {"channel": "listed", "medium": ["banner", "display"]},
    )
    channels, _, _ = assign(
        set_,
        [{"medium": "cpc"}, {"medium": "CPC"}, {"medium": "EMail"}, {"medium": "display"}],
    )
    assert channels == ["exact", "unassigned", "folded", "listed"]


def test_regex_searches_and_all_fields_must_match() -> None:
    set_ = rules(
        {"channel": "social", "source": {"regex": "(?i)linkedin|facebook"}, "medium": "paid"},
        {"channel": "any_linkedin", "source": {"regex": "linkedin"}},
    )
    channels, _, _ = assign(
        set_,
        [
            {"source": "www.LinkedIn.com", "medium": "paid"},
            {"source": "linkedin", "medium": "organic"},
            {"source": "facebook", "medium": "organic"},
        ],
    )
    assert channels == ["social", "any_linkedin", "unassigned"]


def test_missing_fields_are_empty_text() -> None:
    set_ = rules(
        {"channel": "direct", "source": "", "medium": {"regex": "^$"}},
        {"channel": "by_referrer", "referrer": {"regex": "."}},
    )
    # The touches have no referrer column: every referrer is "".
    channels, _, _ = assign(
        set_, [{"source": None, "medium": None}, {"source": "x", "medium": "y"}]
    )
    assert channels == ["direct", "unassigned"]


def test_fallback_team_and_unmatched_pairs() -> None:
    """fallback_team is the team of the fallback channel and of a matched rule without a
    team (email here); a rule's own team wins."""
    set_ = rules(
        {"channel": "search", "team": "demand", "source": "google"},
        {"channel": "email", "medium": "email"},
        fallback="other",
        fallback_team="ops",
    )
    channels, teams, recon = assign(
        set_,
        [
            {"source": "google", "medium": "cpc"},
            {"source": "bing", "medium": "cpc"},
            {"source": "bing", "medium": "cpc"},
            {"source": "yahoo", "medium": None},
            {"source": "news", "medium": "email"},
        ],
    )
    assert channels == ["search", "other", "other", "other", "email"]
    assert teams == ["demand", "ops", "ops", "ops", "ops"]
    without = rules({"channel": "email", "medium": "email"})
    assert assign(without, [{"source": "news", "medium": "email"}])[1] == [None]
    assert recon.touches_fallback == 3
    assert recon.unmatched_pairs == (("bing", "cpc", 2), ("yahoo", "", 1))
    assert recon.touches_by_rule == (("rule 1 search", 1), ("rule 2 email", 1))


def test_own_channel_and_team_win_over_rules() -> None:
    set_ = rules({"channel": "search", "team": "marketing", "source": "google"})
    channels, teams, recon = assign(
        set_,
        [
            {"source": "google", "channel": "partner_event", "team": None},
            {"source": "google", "channel": None, "team": "sdr"},
            {"source": "google", "channel": " ", "team": None},
        ],
    )
    assert channels == ["partner_event", "search", "search"]
    # A touch with its own channel keeps its own (here missing) team.
    assert teams == [None, "sdr", "marketing"]
    assert recon.touches_with_own_channel == 1


def test_rule_counts_add_up() -> None:
    rows = [{"source": s, "medium": m} for s in ("google", "bing", "x") for m in ("cpc", "organic")]
    _, _, recon = assign(default_rules(), rows)
    assigned = sum(n for _, n in recon.touches_by_rule)
    assert recon.touches_with_own_channel + assigned + recon.touches_fallback == len(rows)


@pytest.mark.parametrize(
    ("fields", "channel"),
    [
        ({"source": "google", "medium": "cpc"}, "paid_search"),
        ({"source": "bing", "medium": "ppc"}, "paid_search"),
        ({"source": "google", "medium": "cpc", "campaign": "summer_shopping"}, "paid_shopping"),
        ({"source": "google", "medium": "organic"}, "organic_search"),
        ({"source": "duckduckgo", "medium": "referral"}, "organic_search"),
        ({"source": "linkedin", "medium": "paid_social"}, "paid_social"),
        ({"source": "facebook", "medium": "cpc"}, "paid_social"),
        ({"source": "lnkd.in", "medium": "social"}, "organic_social"),
        ({"source": "newsletter", "medium": "social"}, "organic_social"),
        ({"source": "youtube", "medium": "cpv"}, "paid_video"),
        ({"source": "vimeo", "medium": "referral"}, "organic_video"),
        ({"source": "doubleclick", "medium": "display"}, "display"),
        ({"source": "capterra", "medium": "cpc"}, "paid_other"),
        ({"source": "(direct)", "medium": "(none)"}, "direct"),
        ({"source": "partner.com", "medium": "referral"}, "referral"),
        ({"source": "hubspot", "medium": "Email"}, "email"),
        ({"source": "awin", "medium": "affiliate"}, "affiliates"),
        ({"source": "spotify", "medium": "audio"}, "audio"),
        ({"source": "twilio", "medium": "sms"}, "sms"),
        ({"source": "app", "medium": "web_push"}, "mobile_push"),
        ({"campaign": "q3-cross-network"}, "cross_network"),
        ({"referrer": "https://www.google.com/"}, "organic_search"),
        ({"referrer": "https://t.co/abc"}, "organic_social"),
        ({"referrer": "https://news.ycombinator.com/item"}, "referral"),
        ({"touch_type": "page_view"}, "direct"),
        ({"touch_type": "call"}, "unassigned"),
    ],
)
def test_the_default_set_on_typical_values(fields: dict[str, str], channel: str) -> None:
    row = {name: None for name in ("source", "medium", "campaign", "referrer", "touch_type")}
    channels, teams, _ = assign(None, [{**row, **fields}])
    assert channels == [channel]
    assert teams == [None if channel == "unassigned" else "marketing"]


def test_files_yaml_and_json(tmp_path: Path) -> None:
    yaml_file = tmp_path / "rules.yaml"
    yaml_file.write_text("fallback: misc\nrules:\n  - {channel: ads, medium: [cpc, ppc]}\n")
    json_file = tmp_path / "rules.json"
    json_file.write_text('[{"channel": "ads", "medium": {"regex": "^(cpc|ppc)$"}}]')
    for file in (yaml_file, json_file):
        channels, _, _ = assign(ChannelRules.from_file(file), [{"medium": "ppc"}, {"medium": "x"}])
        assert channels[0] == "ads"
    assert assign(ChannelRules.from_file(yaml_file), [{"medium": "x"}])[0] == ["misc"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([{"channel": "a", "source": "x", "colour": "red"}], "rule 1: unknown key(s) colour"),
        ([{"channel": "a", "source": "x"}, {"source": "y"}], "rule 2: missing 'channel'"),
        ([{"channel": "a", "medium": {"regex": "(unclosed"}}], "rule 1: medium: bad regular"),
        ([{"channel": "a"}], "rule 1: no condition"),
        ([{"channel": "a", "medium": {"like": "x"}}], "rule 1: medium: must have exactly one"),
        ([{"channel": "a", "medium": 7}], "rule 1: medium: equals needs a text"),
        ({"rules": [], "fallback": "x"}, "'rules' must be a non-empty list"),
        ({"rules": [{"channel": "a", "medium": "x"}], "default": "x"}, "unknown key(s) default"),
        ("just text", "must be a list of rules"),
    ],
)
def test_invalid_rules_are_named(data: Any, message: str) -> None:
    with pytest.raises(InputError, match=None) as error:
        ChannelRules.from_data(data, origin="rules.yaml")
    assert message in str(error.value)
    assert "rules.yaml" in str(error.value)


def test_every_bad_rule_is_reported_at_once() -> None:
    with pytest.raises(InputError) as error:
        ChannelRules.from_data([{"source": "x"}, {"channel": "b", "medium": {"regex": "["}}])
    assert len(error.value.problems) == 2


def test_bad_files(tmp_path: Path) -> None:
    broken = tmp_path / "rules.yaml"
    broken.write_text("rules: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        ChannelRules.from_file(broken)
    other = tmp_path / "rules.txt"
    other.write_text("[]")
    with pytest.raises(InputError, match="not supported"):
        ChannelRules.from_file(other)
    with pytest.raises(InputError, match="not found"):
        ChannelRules.from_file(tmp_path / "missing.yaml")


def test_combinations_of_many_distinct_values_are_coded_pairwise() -> None:
    """Fields whose codes do not fit one 63-bit key are combined field by field; both ways
    give the same partition of the rows."""
    rng = np.random.default_rng(0)
    rows = 200
    small = [Labels(rng.integers(-1, 3, rows), ["a", "b", "c"]) for _ in range(5)]
    large = [Labels(x.codes, x.names + [f"n{i}" for i in range(20_000)]) for x in small]
    for fields in (small, large):
        combo, n = _combinations(list(fields), rows)
        keys = list(zip(*(f.codes.tolist() for f in fields), strict=True))
        assert n == len(set(keys))
        first: dict[tuple[int, ...], int] = {}
        assert all(first.setdefault(k, c) == c for k, c in zip(keys, combo.tolist(), strict=True))
