"""Realistic example frames for :class:`~attribution.reporting.data.ReportData`.

They stand in for the engine's output in the tests and the screenshot until the report
is wired to a real run. The numbers are made up (seeded, so every call gives the same
page) but consistent the way the engine's are: every model credits the creditable
pipeline in full, ``(no touch)`` holds the untouched pipeline, shares are fractions of
the whole pipeline in, the trend of a channel sums to its recommended-model credit, and
the agreement and error tables are computed from the example shares.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from attribution.reporting.data import NO_TOUCH, ReportData

CHANNELS = (
    "ae_meeting",
    "sdr_call",
    "sdr_email",
    "email_nurture",
    "paid_social",
    "paid_search",
    "organic_search",
    "direct",
    "events",
    "partner_referral",
    "content_syndication",
    "webinar",
)
TEAMS = ("marketing", "sdr", "sales", "partner")
TEAM_OF = {
    "ae_meeting": "sales",
    "sdr_call": "sdr",
    "sdr_email": "sdr",
    "partner_referral": "partner",
}
PAID = {"paid_social", "paid_search", "events", "content_syndication", "webinar"}
MODELS = ("first_touch", "last_touch", "linear", "time_decay", "markov", "hazard")
RECOMMENDED = "hazard"
PIPELINE_IN = 67_851_640.0
UNTOUCHED = 4_071_098.0
JOURNEYS = 5_000
CONVERSIONS = 1_469


def example_data(n_channels: int = 12, n_periods: int = 4, seed: int = 15) -> ReportData:
    """Example report data with ``n_channels`` channels and ``n_periods`` quarters.

    The first 12 channels are those of the bundled fixture; further ones are named
    ``channel_013`` and so on (for scale tests).
    """
    rng = np.random.default_rng(seed)
    channels = [*CHANNELS[:n_channels]]
    channels += [f"channel_{i + 1:03d}" for i in range(len(channels), n_channels)]
    teams = {
        c: TEAM_OF.get(c, "marketing") if c in CHANNELS else TEAMS[i % 4]
        for i, c in enumerate(channels)
    }
    base = np.sort(rng.gamma(2.0, 1.0, n_channels))[::-1]
    creditable = PIPELINE_IN - UNTOUCHED
    shares = {m: _normalised(base * rng.lognormal(0.0, 0.35, n_channels)) for m in MODELS}
    credits = _channel_credits(channels, shares, creditable, rng)
    truth = _normalised(base * rng.lognormal(0.0, 0.3, n_channels))
    return ReportData(
        title="Pipeline attribution, FY2026",
        generated="2026-12-01T09:30:00+00:00",
        headline=_headline(),
        statuses=pd.DataFrame(
            {
                "model": [*MODELS, "influenced"],
                "status": ["ok"] * len(MODELS) + ["not conserving by design"],
            }
        ),
        recommended_model=RECOMMENDED,
        channel_credits=credits,
        team_credits=_team_credits(channels, teams, shares, creditable, rng),
        agreement=_agreement(shares),
        errors=_errors(shares, truth),
        scorecard=_scorecard(channels, teams, shares, creditable, rng),
        trend=_trend(credits, n_periods, rng),
        top_paths=_top_paths(channels, base, rng),
        removal_effects=pd.DataFrame(
            {
                "channel": channels,
                "removal_effect": 0.68 * shares["markov"] / shares["markov"].max(),
            }
        ),
        reconciliation=_reconciliation(creditable),
        notes=(
            "markov: order 1, repeats keep: 13 transient states (13 can reach conversion), "
            "solved by sparse LU (SuperLU), largest relative residual 1.3e-15",
            "hazard: kernel half-lives 3, 14 and 60 days, guard 1 day; fitted in 41 "
            "iterations, relative gradient 2.1e-10",
            "influenced: every team with a touch in the window gets the journey's full "
            "value, so its totals exceed the pipeline by design",
            "intervals: 200 Poisson bootstrap replicates, 95% percentile intervals",
        ),
    )


def _normalised(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum()


def _channel_credits(
    channels: list[str],
    shares: dict[str, np.ndarray],
    creditable: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    frames = []
    for model, share in shares.items():
        value = np.append(share * creditable, UNTOUCHED)
        spread = np.append(rng.uniform(0.06, 0.22, len(channels)), 0.03)
        frames.append(
            pd.DataFrame(
                {
                    "model": model,
                    "channel": [*channels, NO_TOUCH],
                    "credited_value": value,
                    "share": value / PIPELINE_IN,
                    "share_low": value * (1 - spread) / PIPELINE_IN,
                    "share_high": value * (1 + spread) / PIPELINE_IN,
                    "credited_value_low": value * (1 - spread),
                    "credited_value_high": value * (1 + spread),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _by_team(channels: list[str], teams: dict[str, str], values: np.ndarray) -> pd.Series:
    grouped = pd.Series(values, index=[teams[c] for c in channels]).groupby(level=0).sum()
    return grouped.reindex(list(TEAMS), fill_value=0.0)


def _team_credits(
    channels: list[str],
    teams: dict[str, str],
    shares: dict[str, np.ndarray],
    creditable: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    credited = _by_team(channels, teams, shares[RECOMMENDED] * creditable)
    sourced = _by_team(channels, teams, shares["first_touch"] * creditable)
    influenced = np.minimum(credited.to_numpy() * rng.uniform(1.6, 3.2, len(TEAMS)), creditable)
    return pd.DataFrame(
        {
            "team": list(TEAMS),
            "sourced": sourced.to_numpy(),
            "influenced": influenced,
            "credited": credited.to_numpy(),
        }
    )


def _agreement(shares: dict[str, np.ndarray]) -> pd.DataFrame:
    rows = [
        {"model": a, "other": b, "tvd": 0.5 * float(np.abs(shares[a] - shares[b]).sum())}
        for a in MODELS
        for b in MODELS
    ]
    return pd.DataFrame(rows)


def _errors(shares: dict[str, np.ndarray], truth: np.ndarray) -> pd.DataFrame:
    rows = [
        {
            "model": model,
            "share_error_tvd": 0.5 * float(np.abs(share - truth).sum()),
            "rank_correlation": float(stats.spearmanr(share, truth).statistic),
        }
        for model, share in shares.items()
    ]
    return pd.DataFrame(rows).sort_values("share_error_tvd", ignore_index=True)


def _scorecard(
    channels: list[str],
    teams: dict[str, str],
    shares: dict[str, np.ndarray],
    creditable: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    frames = []
    for model, share in shares.items():
        for dimension, groups, fraction in (
            ("channel", channels, share),
            ("team", list(TEAMS), _by_team(channels, teams, share).to_numpy()),
        ):
            n = len(groups)
            opportunities = fraction * CONVERSIONS
            pipeline = fraction * creditable
            win_rate = rng.uniform(0.12, 0.38, n)
            cycle_days = rng.uniform(35.0, 140.0, n)
            average_won = pipeline / opportunities * rng.uniform(0.8, 1.2, n)
            cost = np.array(
                [
                    rng.uniform(0.04, 0.12) * p if g in PAID else np.nan
                    for g, p in zip(groups, pipeline, strict=True)
                ]
            )
            won_value = opportunities * win_rate * average_won
            frame = pd.DataFrame(
                {
                    "model": model,
                    "dimension": dimension,
                    "group": groups,
                    "opportunities": opportunities,
                    "pipeline": pipeline,
                    "win_rate": win_rate,
                    "cycle_days": cycle_days,
                    "velocity_per_day": opportunities * win_rate * average_won / cycle_days,
                    "cost_per_opportunity": cost / opportunities,
                    "roi": (won_value - cost) / cost,
                }
            )
            if model == "first_touch" and dimension == "channel" and "direct" in groups:
                # No deal sourced by direct has closed yet: every ratio is undefined.
                undefined = frame["group"] == "direct"
                frame.loc[undefined, ["win_rate", "cycle_days", "velocity_per_day"]] = np.nan
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _trend(credits: pd.DataFrame, n_periods: int, rng: np.random.Generator) -> pd.DataFrame:
    first_year = 2026 - (n_periods - 1) // 4
    periods = [f"{first_year + k // 4}-Q{k % 4 + 1}" for k in range(n_periods)]
    recommended = credits[credits["model"] == RECOMMENDED]
    rows = []
    for channel, total in zip(recommended["channel"], recommended["credited_value"], strict=True):
        split = rng.dirichlet(np.full(n_periods, 6.0)) * total
        rows += [
            {"period": p, "channel": channel, "credited_value": v}
            for p, v in zip(periods, split, strict=True)
        ]
    return pd.DataFrame(rows)


def _top_paths(channels: list[str], base: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    probability = _normalised(base)
    paths: dict[str, tuple[int, int]] = {}
    while len(paths) < 20:
        length = int(rng.integers(1, 6))
        path = " > ".join(rng.choice(channels, size=length, p=probability))
        journeys = int(rng.integers(40, 400))
        paths.setdefault(path, (int(rng.binomial(journeys, 0.3)), journeys))
    frame = pd.DataFrame(
        [
            {"path": p, "conversions": c, "journeys": j, "conversion_rate": c / j}
            for p, (c, j) in paths.items()
        ]
    )
    return frame.sort_values(["conversions", "path"], ascending=[False, True], ignore_index=True)


def _headline() -> pd.DataFrame:
    rows = [
        ("pipeline in", PIPELINE_IN, "money"),
        ("creditable pipeline", PIPELINE_IN - UNTOUCHED, "money"),
        ("untouched pipeline", UNTOUCHED, "money"),
        ("journeys", JOURNEYS, "count"),
        ("conversions", CONVERSIONS, "count"),
        ("models run", len(MODELS), "count"),
        ("data period", "2026-01-01 to 2026-12-31", "text"),
        ("input files", "touches.parquet, outcomes.parquet", "text"),
    ]
    return pd.DataFrame(rows, columns=["item", "value", "kind"])


def _reconciliation(creditable: float) -> pd.DataFrame:
    rows: list[tuple[str, str, float, str | None]] = [
        ("input", "touch rows read", 60_625, None),
        ("input", "touch rows rejected", 0, None),
        ("input", "outcome rows read", JOURNEYS, None),
        ("input", "outcome rows rejected", 0, None),
        ("journeys", "touches kept", 60_625, None),
        ("journeys", "journeys", JOURNEYS, None),
        ("journeys", "conversions", CONVERSIONS, None),
        ("journeys", "value in", PIPELINE_IN, None),
        ("window (no lookback)", "touches after conversion (never credited)", 4_412, None),
        ("window (no lookback)", "touches in the credit window", 56_213, None),
        ("window (no lookback)", "converted journeys with no touch in the window", 88, None),
        ("window (no lookback)", "value of those journeys (not credited)", UNTOUCHED, None),
        ("window (no lookback)", "creditable value", creditable, None),
    ]
    for model in MODELS:
        difference = -1.4901161193847656e-08 if model == "markov" else 0.0
        rows += [
            (f"model {model}", "credited value", creditable + difference, None),
            (f"model {model}", "difference from creditable value", difference, None),
            (f"model {model}", "status", np.nan, "ok"),
        ]
    return pd.DataFrame(rows, columns=["section", "item", "value", "text"])
