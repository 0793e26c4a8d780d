"""``shapley`` with its default, model-based game: the closed form against brute force
over all permutations, the Shapley axioms, the whole game against its definition, and
the engine."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attribution as at
from attribution.bootstrap import Bootstrap
from attribution.cli.main import main
from attribution.kernels.shapley_exposure import _journey_shapley, exposure_shares
from attribution.models.base import NotFittedError
from attribution.models.presence import Presence
from attribution.models.shapley import Shapley
from tests.builders import channel_credit
from tests.models.test_presence import path_table, random_paths
from tests.shapley_reference import permutation_shapley


def journey_game(
    base: float, parts: list[float], pairs: list[tuple[int, int, float]]
) -> tuple[object, list[int]]:
    """``g(U) = 1 - exp(-(base + Σ_U parts + Σ_{pairs ⊆ U} parts))`` over members 0..k-1."""

    def game(coalition: frozenset[int]) -> float:
        total = base + sum(parts[i] for i in coalition)
        total += sum(r for a, b, r in pairs if a in coalition and b in coalition)
        return -math.expm1(-total)

    return game, list(range(len(parts)))


def closed_form(base: float, parts: list[float], pairs: list[tuple[int, int, float]]) -> np.ndarray:
    out = np.zeros(len(parts))
    _journey_shapley(
        base,
        np.array(parts, np.float64),
        len(parts),
        np.array([[a, b] for a, b, _ in pairs], np.int64).reshape(-1, 2),
        np.array([r for _, _, r in pairs], np.float64),
        len(pairs),
        out,
        np.zeros((6, 65)),
        np.full((3, 64), -1, np.int64),
        np.zeros((64, 64)),
        np.empty(1),
    )
    return out


terms = st.integers(1, 6).flatmap(
    lambda k: st.tuples(
        st.floats(0.0, 2.0),
        st.lists(st.floats(0.0, 3.0), min_size=k, max_size=k),
        st.lists(
            st.tuples(st.integers(0, k - 1), st.integers(0, k - 1), st.floats(0.0, 2.0)),
            max_size=3,
        ).map(lambda pairs: [(a, b, r) for a, b, r in pairs if a < b]),
    )
)


@settings(max_examples=150, deadline=None)
@given(terms)
def test_closed_form_equals_every_permutation(case: tuple) -> None:
    base, parts, pairs = case
    game, players = journey_game(base, parts, pairs)
    expected = permutation_shapley(game, players)  # type: ignore[arg-type]
    np.testing.assert_allclose(
        closed_form(base, parts, pairs), [expected[i] for i in players], rtol=1e-10, atol=1e-14
    )


@settings(max_examples=100, deadline=None)
@given(terms)
def test_efficiency(case: tuple) -> None:
    base, parts, pairs = case
    game, players = journey_game(base, parts, pairs)
    phi = closed_form(base, parts, pairs)
    everyone = game(frozenset(players))  # type: ignore[operator]
    nobody = game(frozenset())  # type: ignore[operator]
    assert phi.sum() == pytest.approx(everyone - nobody, rel=1e-10, abs=1e-15)
    assert (phi >= -1e-15).all()  # the game only grows: no negative value


def test_symmetry_and_null_player() -> None:
    # Members 0 and 1 are interchangeable (equal parts, each in a pair of part 0.4 with
    # member 2); member 3 adds nothing.
    phi = closed_form(0.2, [0.5, 0.5, 0.3, 0.0], [(0, 2, 0.4), (1, 2, 0.4)])
    assert phi[0] == pytest.approx(phi[1], rel=1e-12)
    assert phi[3] == 0.0
    # At 30 channels (2^30 coalitions), exact in closed form: symmetry and efficiency.
    parts = [0.01 * (i % 3) for i in range(30)]
    big = closed_form(0.1, parts, [(0, 29, 0.2)])
    same = [i for i in range(1, 29) if i % 3 == 2]
    assert np.ptp(big[same]) < 1e-15
    total = 0.1 + sum(parts) + 0.2
    assert big.sum() == pytest.approx(-math.expm1(-total) + math.expm1(-0.1), rel=1e-12)


def test_two_channels_by_hand() -> None:
    # g(U) = 1 - exp(-(0.1 + Σ r)), r = (0.2, 0.5): phi_1 = [g(1) - g() + g(12) - g(2)] / 2.
    def g(x: float) -> float:
        return -math.expm1(-x)

    phi_1 = (g(0.3) - g(0.1) + g(0.8) - g(0.6)) / 2
    phi_2 = (g(0.6) - g(0.1) + g(0.8) - g(0.3)) / 2
    np.testing.assert_allclose(closed_form(0.1, [0.2, 0.5], []), [phi_1, phi_2], rtol=1e-14)
    shares, even = exposure_shares(
        np.array([0.1]), np.array([0, 2]), np.array([0.2, 0.5]), np.array([0, 0]),
        np.zeros((0, 2), np.int64), np.zeros(0), np.array([True]), True,
    )  # fmt: skip
    np.testing.assert_allclose(shares, [phi_1 / (phi_1 + phi_2), phi_2 / (phi_1 + phi_2)])
    assert not even.any()


def test_the_whole_game_against_its_definition() -> None:
    # v(S) = Σ_j s_j (P_j(S) - P_j(∅)) / (P_j(T_j) - P_j(∅)) over all 2^4 coalitions from
    # the fitted model's terms, and its Shapley value by brute force over permutations:
    # the model's channel credit (additivity across journeys, efficiency to the total).
    _, _, _, value, journeys = random_paths(5, 60, channels="abcd")
    model = Shapley().fit(journeys)
    fitted = model.game_model_
    terms = fitted.exposure_terms(journeys)
    games = []
    for j in np.flatnonzero(journeys.converted):
        members = terms.member_channel[terms.member_offsets[j] : terms.member_offsets[j + 1]]
        parts = terms.member_part[terms.member_offsets[j] : terms.member_offsets[j + 1]]
        pairs = [
            (int(members[a]), int(members[b]), float(r))
            for (a, b), r in zip(
                terms.pair_members[terms.pair_offsets[j] : terms.pair_offsets[j + 1]],
                terms.pair_part[terms.pair_offsets[j] : terms.pair_offsets[j + 1]],
                strict=True,
            )
        ]
        games.append(
            (journeys.value[j], terms.base[j], dict(zip(members, parts, strict=True)), pairs)
        )

    def hazard(
        base: float, parts: dict, pairs: list[tuple[int, int, float]], kept: frozenset[int]
    ) -> float:
        extra = sum(parts[c] for c in kept if c in parts)
        extra += sum(r for a, b, r in pairs if a in kept and b in kept)
        return -math.expm1(-(base + extra))

    def v(coalition: frozenset[int]) -> float:
        total = 0.0
        for amount, base, parts, pairs in games:
            channels = frozenset(parts)
            nobody = hazard(base, parts, pairs, frozenset())
            spread = hazard(base, parts, pairs, channels) - nobody
            if spread > 0:
                kept = hazard(base, parts, pairs, coalition & channels)
                total += amount * (kept - nobody) / spread
            else:  # no channel has an effect in it: split evenly
                total += amount * len(coalition & channels) / len(channels)
        return total

    expected = permutation_shapley(v, range(4))
    assert v(frozenset(range(4))) == pytest.approx(sum(value))
    credit = model.credit(journeys)
    got = np.bincount(journeys.channel, credit.value, minlength=4)
    np.testing.assert_allclose(got, [expected[c] for c in range(4)], rtol=1e-9)


def test_engine_conserves_without_negative_credit() -> None:
    _, _, _, value, journeys = random_paths(8, 150)
    result = at.attribute(journeys, ["shapley"], by=["channel"], touch_credits=True)
    assert result.reconciliation.ok
    credits = channel_credit(result, "shapley")
    assert sum(credits.values()) == pytest.approx(sum(value))
    assert min(credits.values()) >= 0
    model = result.models["shapley"]
    assert isinstance(model, Shapley)
    assert model.converged_ and model.n_permutations_ == 0 and model.method_ == "exact"
    assert not model.standard_error_.any()
    assert model.channel_columns() == {}
    assert "closed form" in model.notes()[0].message
    assert any(note.message.startswith("presence game model:") for note in model.notes())


def test_partitions_credit_like_the_whole() -> None:
    _, _, _, _, journeys = random_paths(12, 240)
    whole = Shapley().fit(journeys)
    model = Shapley()
    parts = [journeys.subset(np.arange(0, 90)), journeys.subset(np.arange(90, journeys.n_journeys))]
    model.fit_statistics(model.statistics(parts[0]).merge(model.statistics(parts[1])))
    credits = [model.credit(part) for part in parts]
    summed = sum(
        np.bincount(part.channel, c.value, minlength=journeys.n_channels)
        for part, c in zip(parts, credits, strict=True)
    )
    expected = np.bincount(journeys.channel, whole.credit(journeys).value, minlength=5)
    np.testing.assert_allclose(summed, expected, rtol=1e-9)


def test_game_model_is_copied_not_fitted_in_place() -> None:
    _, _, _, _, journeys = random_paths(3, 80)
    inner = Presence(guard_steps=0, pairs="none")
    model = Shapley(game_model=inner).fit(journeys)
    assert not hasattr(inner, "baseline_")
    assert model.game_model_.guard_steps == 0
    alone = Presence(guard_steps=0, pairs="none").fit(journeys)
    np.testing.assert_array_equal(model.game_model_.presence_effects_, alone.presence_effects_)


def test_unfitted_use_names_the_model() -> None:
    journeys = path_table(["a > b"], [1], [1], [5.0])
    with pytest.raises(NotFittedError, match="shapley is not fitted"):
        Shapley().credit(journeys)


def test_cli_game_option(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "path": ["a > b", "b > c > a", "c", "a > c", "b"],
            "total_conversions": [3, 2, 1, 0, 2],
            "total_null": [4, 1, 5, 3, 6],
            "total_conversion_value": [30.0, 20.0, 10.0, 0.0, 8.0],
        }
    )
    source = tmp_path / "paths.csv"
    frame.to_csv(source, index=False)
    loaded = at.load(frame, paths=True)
    for game in ("presence", "observed_rates"):
        out = tmp_path / f"{game}.csv"
        code = main(["run", str(source), "--paths", "--models", "shapley", "--by", "channel",
                     "--out", str(out), "--quiet", "--shapley-game", game])  # fmt: skip
        assert code == 0
        want = at.attribute(loaded, {"shapley": Shapley(game=game)}, by=["channel"]).credits
        got = pd.read_csv(out).set_index("channel")["credited_value"]
        expected = want.set_index("channel")["credited_value"]
        np.testing.assert_allclose(got.loc[expected.index], expected, rtol=1e-12)


@pytest.mark.parametrize(
    "params",
    [{"smoothing": 5.0}, {"unobserved": "zero"}, {"sampling": "forbid"}, {"seed": 3},
     {"exact_limit": 4}, {"game": "observed_rates", "game_model": Presence()}],
)  # fmt: skip
def test_options_of_the_other_game_are_refused(params: dict) -> None:
    # An option the game does not read would be silently ignored: it is an error.
    journeys = path_table(["a > b", "b"], [1, 1], [1, 2], [10.0, 4.0])
    with pytest.raises(at.ParameterError, match="game"):
        Shapley(**params).fit(journeys)


def test_cli_refuses_observed_rate_options_under_the_presence_game(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "paths.csv"
    pd.DataFrame(
        {"path": ["a > b", "b"], "total_conversions": [1, 1], "total_null": [1, 2]}
    ).to_csv(source, index=False)
    run = ["run", str(source), "--paths", "--models", "shapley", "--quiet"]
    assert main([*run, "--shapley-smoothing", "5"]) == 2
    assert "smoothing: option(s) of the observed-rate game" in capsys.readouterr().err
    # --seed seeds what is random: nothing in the presence game, the sampler of the other.
    assert main([*run, "--seed", "3"]) == 0
    assert main([*run, "--seed", "3", "--shapley-game", "observed_rates"]) == 0


def test_presence_options_set_the_game_model(tmp_path: Path) -> None:
    paths, converted, weight, value, journeys = random_paths(5, 120)
    touches = tmp_path / "paths.csv"
    pd.DataFrame(
        {
            "path": [" > ".join("abcde"[c] for c in p) for p in paths],
            "total_conversions": [w if c else 0.0 for c, w in zip(converted, weight, strict=True)],
            "total_null": [0.0 if c else w for c, w in zip(converted, weight, strict=True)],
            "total_conversion_value": value,
        }
    ).to_csv(touches, index=False)
    out = tmp_path / "credits.csv"
    options = ["--presence-guard-steps", "0", "--presence-pairs", "none"]
    code = main(["run", str(touches), "--paths", "--models", "shapley", "--by", "channel",
                 "--out", str(out), "--quiet", *options])  # fmt: skip
    assert code == 0
    game_model = Presence(guard_steps=0, pairs="none")
    want = at.attribute(journeys, {"shapley": Shapley(game_model=game_model)}, by=["channel"])
    default = at.attribute(journeys, ["shapley"], by=["channel"])
    got = pd.read_csv(out).set_index("channel")["credited_value"]
    expected = want.credits.set_index("channel")["credited_value"]
    np.testing.assert_allclose(got.loc[expected.index], expected, rtol=1e-12)
    assert not np.allclose(expected, default.credits.set_index("channel")["credited_value"])
    # The options are for presence; with observed rates there is no presence model to set.
    code = main(["run", str(touches), "--paths", "--models", "shapley", "--shapley-game",
                 "observed_rates",
                 "--presence-guard-steps", "0", "--quiet"])  # fmt: skip
    assert code == 2


def test_observed_rates_credit_negative_where_the_model_game_does_not() -> None:
    # {a} x2 both convert; {a,b} x2 never convert: the observed-rate game makes b
    # harmful; the model game cannot (effects >= 0).
    journeys = path_table(["a", "a > b", "b > a"], [2, 0, 0], [0, 1, 1], [2.0, 0.0, 0.0])
    rates = at.attribute(journeys, {"shapley": Shapley(game="observed_rates")}, by=["channel"])
    model = at.attribute(journeys, ["shapley"], by=["channel"])
    assert channel_credit(rates, "shapley")["b"] < 0
    assert min(channel_credit(model, "shapley").values()) >= 0
    assert channel_credit(model, "shapley")["a"] == pytest.approx(2.0)


def test_permutation_reference_is_the_textbook_formula() -> None:
    # The reference itself, on a game with known values: v(S) = |S|^2 over 3 players
    # gives each player 3 (symmetric, v(N) = 9).
    value = permutation_shapley(lambda s: float(len(s)) ** 2, [0, 1, 2])
    assert value == pytest.approx({0: 3.0, 1: 3.0, 2: 3.0})
    assert len(list(itertools.permutations(range(3)))) == 6


def test_a_run_with_presence_fits_the_game_model_once() -> None:
    """With ``presence`` (the same model as the game model) in the run, shapley builds on
    its fit; the credit is the one shapley gets alone, exactly."""
    _, _, _, _, journeys = random_paths(6, 200)
    both = at.attribute(journeys, ["presence", "shapley"], by=["channel"], touch_credits=True)
    alone = at.attribute(journeys, ["shapley"], by=["channel"], touch_credits=True)
    shapley_model = both.models["shapley"]
    assert isinstance(shapley_model, Shapley)
    presence = both.models["presence"]
    assert isinstance(presence, Presence)
    # A copy of the run's presence fit, not that object (which a later run may refit).
    assert shapley_model.game_model_ is not presence
    np.testing.assert_array_equal(
        shapley_model.game_model_.presence_effects_, presence.presence_effects_
    )
    assert both.touch_credits is not None and alone.touch_credits is not None
    shapley = both.touch_credits[both.touch_credits["model"] == "shapley"].reset_index(drop=True)
    pd.testing.assert_frame_equal(shapley, alone.touch_credits)
    assert [n for n in both.reconciliation.notes if n.model == "shapley"] == [
        n for n in alone.reconciliation.notes if n.model == "shapley"
    ]


def test_a_different_presence_model_is_not_shared() -> None:
    _, _, _, _, journeys = random_paths(6, 200)
    result = at.attribute(
        journeys, ["presence", "shapley"], parameters={"presence": {"guard_steps": 0}}
    )
    model = result.models["shapley"]
    assert isinstance(model, Shapley)
    assert model.game_model_ is not result.models["presence"]
    assert model.game_model_.guard_steps == 1


def test_fit_on_inner_refuses_another_model() -> None:
    _, _, _, _, journeys = random_paths(3, 80)
    other = Presence(guard_steps=0).fit(journeys)
    with pytest.raises(ValueError, match="not this model's game model"):
        Shapley().fit_on_inner(other)
    with pytest.raises(ValueError, match="not this model's game model"):
        Shapley(game="observed_rates").fit_on_inner(Presence().fit(journeys))
    same = Shapley().fit_on_inner(Presence().fit(journeys))
    np.testing.assert_array_equal(
        same.credit(journeys).value, Shapley().fit(journeys).credit(journeys).value
    )


def test_refitting_the_caller_s_presence_leaves_an_earlier_shapley_alone() -> None:
    _, _, _, _, first = random_paths(6, 200)
    _, _, _, _, second = random_paths(7, 200)
    presence = Presence()
    earlier = at.attribute(first, {"presence": presence, "shapley": Shapley()}, by=["channel"])
    shapley_model = earlier.models["shapley"]
    assert isinstance(shapley_model, Shapley)
    credit = shapley_model.credit(first).value.copy()
    at.attribute(second, {"presence": presence, "shapley": Shapley()}, by=["channel"])
    np.testing.assert_array_equal(shapley_model.credit(first).value, credit)


def test_sharing_the_presence_fit_leaves_the_bootstrap_intervals_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, _, _, _, journeys = random_paths(6, 200)
    boot = Bootstrap(5, seed=2)
    fits = []
    original = Presence.fit_replicate

    def counted(self: Presence, statistics: object) -> Presence:
        fits.append(1)
        return original(self, statistics)  # type: ignore[arg-type]

    monkeypatch.setattr(Presence, "fit_replicate", counted)
    both = at.attribute(journeys, ["presence", "shapley"], by=["channel"], bootstrap=boot)
    assert len(fits) == 5  # each replicate's presence fit made once, for both models
    alone = at.attribute(journeys, ["shapley"], by=["channel"], bootstrap=boot)
    credits = both.credits[both.credits["model"] == "shapley"].reset_index(drop=True)
    assert {"credited_value_low", "share_high"} <= set(alone.credits.columns)
    pd.testing.assert_frame_equal(credits[list(alone.credits.columns)], alone.credits)
