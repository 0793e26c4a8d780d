"""The built-in channel rules: Google Analytics 4's default channel grouping.

Used when the touches have no ``channel`` column and no rules file is given. The rules
follow GA4's definitions and order (Direct, Cross-network, Paid Shopping, Paid Search,
Paid Social, Paid Video, Display, Paid Other, Organic Shopping, Organic Social, Organic
Video, Organic Search, Referral, Email, Affiliates, Audio, SMS, Mobile Push), with these
choices, each needed because a rule here is an AND of field conditions:

- GA4's "A or B" conditions are two rules with the same channel.
- GA4 matches sources against its own lists of search, social, video and shopping
  sites; here each list is a regular expression over the common site names, matched as
  a name or a part of a domain or URL (``google``, ``www.google.com``,
  ``google.co.uk``, ``https://t.co/x``).
- CRM web sessions without UTM tags carry a referrer instead of a source/medium, which
  GA4 would turn into ``referral`` or ``organic``: four rules at the end classify them
  from the referrer (search site, social site, video site, any other site), and a web
  session with no source, medium or referrer is ``direct``, GA4's ``(direct)/(none)``.
- Every rule gives the team ``marketing`` (web traffic is marketing's); a touch's own
  ``team`` column wins over it. Sales activities (calls, meetings) are not web traffic:
  they match no rule and go to the fallback, ``unassigned``, listed in the
  reconciliation, so write rules for them (see ``fixtures/crm/channel_rules.yaml``).

Channel names are GA4's in snake case (``paid_search``, ``organic_social``, ...).
"""

from __future__ import annotations

from typing import Any

from attribution.crm.rules import ChannelRules

_SITE = r"(?i)(^|[./])({names})([./:]|$)"
SEARCH_SITES = _SITE.format(
    names="google|bing|yahoo|baidu|duckduckgo|yandex|ecosia|ask|naver|aol|seznam|qwant"
    "|startpage|sogou|daum|brave"
)
SOCIAL_SITES = _SITE.format(
    names=r"facebook|fb|instagram|ig|linkedin|lnkd|twitter|t\.co|x\.com|reddit|pinterest"
    "|tiktok|snapchat|quora|threads|tumblr|vk|weibo|wechat|whatsapp|discord|telegram"
)
VIDEO_SITES = _SITE.format(
    names=r"youtube|youtu\.be|vimeo|twitch|dailymotion|wistia|vidyard|brightcove"
)
SHOPPING_SITES = _SITE.format(
    names="amazon|ebay|etsy|shopify|walmart|aliexpress|alibaba|mercadolibre|igshopping"
)
SHOPPING_CAMPAIGN = r"(?i)^(.*(([^a-df-z]|^)shop|shopping).*)$"
PAID_MEDIUM = r"(?i)^(.*cp.*|ppc|retargeting|paid.*)$"
EMAIL = r"(?i)^(email|e-mail|e_mail|e mail)$"
WEB_SESSION = r"(?i)^(web|web[ _-]?(session|visit)|session|visit|site[ _-]?visit|page[ _-]?view)$"


def _rule(channel: str, name: str, **conditions: Any) -> dict[str, Any]:
    return {"channel": channel, "team": "marketing", "name": name, **conditions}


GA4_RULES: list[dict[str, Any]] = [
    _rule(
        "direct",
        "source (direct), medium (none)/(not set)",
        source={"equals_ignore_case": "(direct)"},
        medium={"equals_ignore_case": ["(none)", "(not set)", ""]},
    ),
    _rule(
        "direct",
        "a web session with no source, medium or referrer",
        source="",
        medium="",
        referrer="",
        touch_type={"regex": WEB_SESSION},
    ),
    _rule(
        "cross_network", "campaign contains cross-network", campaign={"regex": "(?i)cross-network"}
    ),
    _rule(
        "paid_shopping",
        "shopping site, paid medium",
        source={"regex": SHOPPING_SITES},
        medium={"regex": PAID_MEDIUM},
    ),
    _rule(
        "paid_shopping",
        "shopping campaign, paid medium",
        campaign={"regex": SHOPPING_CAMPAIGN},
        medium={"regex": PAID_MEDIUM},
    ),
    _rule(
        "paid_search",
        "search site, paid medium",
        source={"regex": SEARCH_SITES},
        medium={"regex": PAID_MEDIUM},
    ),
    _rule(
        "paid_social",
        "social site, paid medium",
        source={"regex": SOCIAL_SITES},
        medium={"regex": PAID_MEDIUM},
    ),
    _rule(
        "paid_video",
        "video site, paid medium",
        source={"regex": VIDEO_SITES},
        medium={"regex": PAID_MEDIUM},
    ),
    _rule(
        "display",
        "display medium",
        medium={"equals_ignore_case": ["display", "banner", "expandable", "interstitial", "cpm"]},
    ),
    _rule("paid_other", "any other paid medium", medium={"regex": PAID_MEDIUM}),
    _rule("organic_shopping", "shopping site", source={"regex": SHOPPING_SITES}),
    _rule("organic_shopping", "shopping campaign", campaign={"regex": SHOPPING_CAMPAIGN}),
    _rule("organic_social", "social site", source={"regex": SOCIAL_SITES}),
    _rule(
        "organic_social",
        "social medium",
        medium={
            "equals_ignore_case": [
                "social",
                "social-network",
                "social-media",
                "sm",
                "social network",
                "social media",
            ]
        },
    ),
    _rule("organic_video", "video site", source={"regex": VIDEO_SITES}),
    _rule("organic_video", "medium contains video", medium={"regex": "(?i)video"}),
    _rule("organic_search", "search site", source={"regex": SEARCH_SITES}),
    _rule("organic_search", "medium organic", medium={"equals_ignore_case": "organic"}),
    _rule(
        "referral",
        "medium referral/app/link",
        medium={"equals_ignore_case": ["referral", "app", "link"]},
    ),
    _rule("email", "source email", source={"regex": EMAIL}),
    _rule("email", "medium email", medium={"regex": EMAIL}),
    _rule("affiliates", "medium affiliate", medium={"equals_ignore_case": "affiliate"}),
    _rule("audio", "medium audio", medium={"equals_ignore_case": "audio"}),
    _rule("sms", "source sms", source={"equals_ignore_case": "sms"}),
    _rule("sms", "medium sms", medium={"equals_ignore_case": "sms"}),
    _rule(
        "mobile_push",
        "medium ends in push, or contains mobile or notification",
        medium={"regex": "(?i)(push$|mobile|notification)"},
    ),
    _rule("mobile_push", "source firebase", source={"equals_ignore_case": "firebase"}),
    _rule(
        "organic_search",
        "no source or medium, referrer a search site",
        source="",
        medium="",
        referrer={"regex": SEARCH_SITES},
    ),
    _rule(
        "organic_social",
        "no source or medium, referrer a social site",
        source="",
        medium="",
        referrer={"regex": SOCIAL_SITES},
    ),
    _rule(
        "organic_video",
        "no source or medium, referrer a video site",
        source="",
        medium="",
        referrer={"regex": VIDEO_SITES},
    ),
    _rule(
        "referral",
        "no source or medium, any other referrer",
        source="",
        medium="",
        referrer={"regex": "."},
    ),
]


def default_rules() -> ChannelRules:
    """GA4's default channel grouping as a rule set (fallback channel ``unassigned``)."""
    return ChannelRules.from_data(GA4_RULES, origin="built-in GA4 default channel grouping")
