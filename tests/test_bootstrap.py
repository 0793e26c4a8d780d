"""The Poisson bootstrap: exact replicates, determinism, independence of row order and
partitioning, the counter-based generator, failed replicates reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.bootstrap import Bootstrap, interval, journey_keys
from attribution.journeys import shared_coding
from attribution.kernels.bootstrap import poisson
from attribution.models import Hazard
from attribution.models.base import clone
from attribution.models.registry import EXAMPLE_PARAMETERS, model_names
from attribution.passes import RunOptions, context_pass, fit_pass, run_partitions
from attribution.plan import plan_run
from tests.builders import J, touches_frame
from tests.dask.data import sample

JOURNEYS = [
    J(
        ["a", "b", "c"],
        value=30,
        days=[0, 2, 5],
        milestones={"lead_created_at": 2},
        teams=["marketing", "sales", "marketing"],
    ),
    J(["b", "a"], value=10, days=[1, 3], teams=["sales", "sales"]),
    J(["c"], converted=False, days=[4]),
    J(["a", "c", "c"], converted=False, days=[0, 1, 6]),
    J(["b"], value=5, days=[2]),
    J(["c", "a"], value=8, days=[0, 9]),
]
FIXED = np.array(
    [
        [2.0, 0.0, 1.0],
        [1.0, 3.0, 0.0],
        [0.0, 1.0, 2.0],
        [1.0, 1.0, 1.0],
        [3.0, 0.0, 1.0],
        [1.0, 2.0, 0.0],
    ]
)


class FixedWeights(Bootstrap):
    """Replicate weights chosen by the test (by journey id, whatever the row order)."""

    def multipliers(self, keys: np.ndarray, lam: np.ndarray, first: int, count: int) -> np.ndarray:
        order = {key: i for i, key in enumerate(ALL_KEYS)}
        rows = [order[int(k)] for k in keys]
        return FIXED[rows, first : first + count] / lam[:, None]


ALL_KEYS = [int(k) for k in journey_keys(at.load(touches_frame(JOURNEYS)).journeys)]


def duplicated(weights: np.ndarray) -> pd.DataFrame:
    """The journeys, each repeated as often as its weight says (new ids per copy)."""
    frame = touches_frame(JOURNEYS)
    ids = sorted(frame["journey_id"].unique(), key=lambda j: int(j[1:]))
    parts = []
    for journey, weight in zip(ids, weights, strict=True):
        rows = frame[frame["journey_id"] == journey]
        parts += [rows.assign(journey_id=f"{journey}_{copy}") for copy in range(int(weight))]
    return pd.concat(parts, ignore_index=True)


#: Every model with its example parameters, and the other game of ``shapley``.
REPLICATED = [(name, EXAMPLE_PARAMETERS.get(name, {})) for name in model_names()] + [
    ("shapley", {"game": "observed_rates"})
]


@pytest.mark.parametrize(("name", "options"), REPLICATED)
@pytest.mark.parametrize("by", [("channel",), ("team",)])
def test_each_replicate_is_a_run_on_duplicated_journeys(
    name: str, options: dict, by: tuple[str, ...]
) -> None:
    parameters = {name: options} if options else None
    loaded = at.load(touches_frame(JOURNEYS))
    try:
        result = at.attribute(
            loaded, [name], by=by, bootstrap=FixedWeights(3), parameters=parameters
        )
    except at.models.ModelNotApplicable:
        pytest.skip(f"{name} cannot run on this data")
    assert result.replicates is not None
    table = result.replicates[(name, by)]
    for r in range(3):
        plain = at.attribute(at.load(duplicated(FIXED[:, r])), [name], by=by, parameters=parameters)
        expected = plain.credits.set_index(list(by))["credited_value"]
        got = table[r].reindex(expected.index).fillna(0.0)
        np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-9, atol=1e-9)


def test_same_seed_same_intervals_and_row_order_does_not_matter() -> None:
    frame = touches_frame(JOURNEYS * 5)
    frame["journey_id"] = (
        frame["journey_id"] + "_" + (frame.groupby("journey_id").cumcount() // 10).astype(str)
    )
    loaded = at.load(frame)
    first = at.attribute(
        loaded, ["linear", "markov"], by=("channel",), bootstrap=Bootstrap(40, seed=3)
    )
    again = at.attribute(
        loaded, ["linear", "markov"], by=("channel",), bootstrap=Bootstrap(40, seed=3)
    )
    pd.testing.assert_frame_equal(first.credits, again.credits)
    shuffled = at.load(frame.sample(frac=1.0, random_state=7))
    other = at.attribute(
        shuffled, ["linear", "markov"], by=("channel",), bootstrap=Bootstrap(40, seed=3)
    )
    columns = ["credited_value_low", "credited_value_high", "share_low", "share_high"]
    left = first.credits.set_index(["model", "channel"])[columns]
    right = other.credits.set_index(["model", "channel"])[columns].reindex(left.index)
    np.testing.assert_allclose(left.to_numpy(), right.to_numpy(), rtol=1e-9)
    seeded = at.attribute(loaded, ["linear"], by=("channel",), bootstrap=Bootstrap(40, seed=4))
    assert not np.allclose(
        seeded.credits["credited_value_low"],
        first.credits.query("model == 'linear'")["credited_value_low"],
    )


def test_weights_depend_on_the_journey_not_on_its_partition() -> None:
    whole = at.load(touches_frame(JOURNEYS)).journeys
    part = whole.subset(np.array([1, 4]))
    boot = Bootstrap(8, seed=11)
    all_weights = boot.multipliers(journey_keys(whole), whole.weight, 0, 8)
    part_weights = boot.multipliers(journey_keys(part), part.weight, 0, 8)
    np.testing.assert_array_equal(part_weights, all_weights[[1, 4]])
    later = boot.multipliers(journey_keys(whole), whole.weight, 5, 3)
    np.testing.assert_array_equal(later, all_weights[:, 5:])


@pytest.mark.parametrize("lam", [1.0, 4.0, 30.0, 31.0, 500.0])
def test_poisson_draws_have_the_right_moments(lam: float) -> None:
    draws = np.array(
        [poisson(np.uint64(5), np.uint64(k), np.uint64(0), lam) for k in range(40_000)]
    )
    assert (draws >= 0).all() and (draws == np.round(draws)).all()
    assert draws.mean() == pytest.approx(lam, rel=4 * np.sqrt(lam / 40_000) / lam + 1e-3)
    assert draws.var() == pytest.approx(lam, rel=0.05)
    if lam == 1.0:
        frequencies = np.bincount(draws.astype(int), minlength=4)[:4] / len(draws)
        np.testing.assert_allclose(
            frequencies, [np.exp(-1), np.exp(-1), np.exp(-1) / 2, np.exp(-1) / 6], atol=0.01
        )


def test_a_path_row_of_n_journeys_draws_poisson_n(tmp_path: object) -> None:
    table = pd.DataFrame(
        {"path": ["a > b", "b"], "total_conversions": [400, 3], "total_null": [100, 1]}
    )
    journeys = at.load(table, paths=True).journeys
    factors = Bootstrap(2000, seed=1).multipliers(journey_keys(journeys), journeys.weight, 0, 2000)
    draws = factors * journeys.weight[:, None]
    assert draws[0].mean() == pytest.approx(400, rel=0.01) and draws[0].var() == pytest.approx(
        400, rel=0.1
    )
    np.testing.assert_allclose(draws, np.round(draws))


def test_empty_replicates_are_left_out_of_every_models_intervals() -> None:
    """A replicate that draws no pipeline (the only conversion drawn 0 times: e^-1 of
    them) is left out of the rule model's intervals as of the data-driven one's (which
    cannot be fitted there), and counted once in the reconciliation."""
    journeys = [J(["a", "b"], value=10)] + [J(["b"], converted=False)] * 5
    loaded = at.load(touches_frame(journeys))
    boot = Bootstrap(60, seed=2)
    data = loaded.journeys
    factors = boot.multipliers(journey_keys(data), data.weight, 0, 60)
    value_in = data.value @ factors
    empty = value_in == 0
    assert 0 < empty.sum() < 60
    result = at.attribute(
        loaded, ["markov", "linear"], by=("channel",), scorecard=True, bootstrap=boot
    )
    (note,) = result.reconciliation.notes_about(code="bootstrap_empty_replicates")
    assert note.data["empty"] == empty.sum()
    assert f"{empty.sum()} of 60 replicates drew no pipeline" in note.message
    assert not result.reconciliation.notes_about(code="bootstrap_replicates_failed")
    assert result.reconciliation.notes_about(code="bootstrap")[0].data["empty"] == empty.sum()
    assert result.replicates is not None
    for model in ("markov", "linear"):
        table = result.replicates[(model, ("channel",))]
        np.testing.assert_array_equal(table.isna().all(axis=0).to_numpy(), empty)
        credits = result.credits[result.credits["model"] == model].set_index("channel")
        values = table.reindex(credits.index).to_numpy()
        _, low, _ = interval(values, boot.ci)
        np.testing.assert_allclose(credits["credited_value_low"], low)
        with np.errstate(invalid="ignore"):
            _, share_low, _ = interval(values / value_in, boot.ci)
        np.testing.assert_allclose(credits["share_low"], share_low)
    assert result.scorecards is not None
    card = result.scorecards[("channel",)].set_index(["model", "channel"])
    kept = table.to_numpy()[:, ~empty]
    assert card.loc[("linear", "a"), "pipeline_low"] == pytest.approx(
        np.percentile(kept[list(table.index).index("a")], 5)
    )


def test_scorecard_and_compare_get_intervals() -> None:
    frame = touches_frame(JOURNEYS * 3)
    frame["journey_id"] = (
        frame["journey_id"] + "_" + (frame.groupby("journey_id").cumcount() // 10).astype(str)
    )
    result = at.attribute(
        at.load(frame),
        ["linear", "sourced"],
        by=("channel",),
        scorecard=True,
        bootstrap=Bootstrap(30),
    )
    assert result.scorecards is not None
    card = result.scorecards[("channel",)]
    for column in ("opportunities", "pipeline", "win_rate"):
        assert {f"{column}_low", f"{column}_high"} <= set(card.columns)
    rows = card.dropna(subset=["pipeline_low"])
    assert (rows["pipeline_low"] <= rows["pipeline_high"]).all()
    from attribution.compare import compare

    assert result.replicates is not None
    comparison = compare(
        result.credits,
        pd.DataFrame({"channel": ["a", "b", "c"], "true_share": [0.5, 0.3, 0.2]}),
        replicates={m: result.replicates[(m, ("channel",))] for m in result.models},
    )
    assert comparison.errors is not None
    errors = comparison.errors.set_index("model")
    assert (errors["share_error_tvd_low"] <= errors["share_error_tvd_high"]).all()
    assert {"tvd_low", "tvd_high"} <= set(comparison.agreement.columns)


def test_interval_ignores_failed_replicates() -> None:
    values = np.array([[1.0, 2.0, np.nan, 3.0], [np.nan, np.nan, np.nan, np.nan]])
    se, low, high = interval(values, 0.5)
    assert (
        se[0] == pytest.approx(1.0)
        and low[0] == pytest.approx(1.5)
        and high[0] == pytest.approx(2.5)
    )
    assert np.isnan(se[1]) and np.isnan(low[1])


def _percentile_of_row(values: list[float], q: float) -> float:
    """The linear-interpolation percentile of a list, as numpy defines it."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def test_interval_with_failed_replicates_is_each_row_s_percentile_of_its_defined_values() -> None:
    rng = np.random.default_rng(11)
    values = np.round(rng.normal(size=(40, 23)) * 100, 1)
    values[rng.random(values.shape) < 0.3] = np.nan
    values[3] = np.nan
    values[5, 1:] = np.nan
    _, low, high = interval(values, 0.8)
    for row, lo, hi in zip(values, low, high, strict=True):
        kept = [float(v) for v in row if not np.isnan(v)]
        if not kept:
            assert np.isnan(lo) and np.isnan(hi)
            continue
        assert lo == pytest.approx(_percentile_of_row(kept, 10), abs=1e-9)
        assert hi == pytest.approx(_percentile_of_row(kept, 90), abs=1e-9)


def test_bootstrap_options_are_checked() -> None:
    loaded = at.load(touches_frame(JOURNEYS))
    for bad in (Bootstrap(1), Bootstrap(10, ci=1.5), Bootstrap(10, seed=-1)):
        with pytest.raises(at.ParameterError):
            at.attribute(loaded, ["linear"], bootstrap=bad)


def test_ci_and_seed_of_the_api() -> None:
    loaded = at.load(touches_frame(JOURNEYS * 3))
    given = at.attribute(loaded, ["linear"], by=("channel",), bootstrap=20, ci=0.8, seed=4)
    same = at.attribute(loaded, ["linear"], by=("channel",), bootstrap=Bootstrap(20, 0.8, 4))
    pd.testing.assert_frame_equal(given.credits, same.credits)
    assert given.bootstrap == Bootstrap(20, ci=0.8, seed=4)
    card = at.scorecard(loaded, ["linear"], bootstrap=20, ci=0.8, seed=4)
    expected = at.scorecard(loaded, ["linear"], bootstrap=Bootstrap(20, 0.8, 4))
    pd.testing.assert_frame_equal(card, expected)
    assert at.attribute(loaded, ["linear"], bootstrap=20).bootstrap == Bootstrap(20, 0.9, 0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ci": 0.8}, "give bootstrap=B"),
        ({"seed": 1}, "give bootstrap=B"),
        ({"bootstrap": Bootstrap(10), "ci": 0.8}, "holds its own ci and seed"),
        ({"bootstrap": Bootstrap(10), "seed": 2}, "holds its own ci and seed"),
        ({"bootstrap": 10, "ci": 1.5}, "ci must be a level between 0 and 1"),
        ({"bootstrap": 10, "seed": -1}, "seed must be an integer"),
        ({"bootstrap": True}, "bootstrap must be a number of replicates"),
    ],
)
def test_api_bootstrap_options_are_refused_when_they_would_be_ignored(
    options: dict[str, object], message: str
) -> None:
    loaded = at.load(touches_frame(JOURNEYS))
    with pytest.raises(at.ParameterError, match=message):
        at.attribute(loaded, ["linear"], **options)  # type: ignore[arg-type]
    with pytest.raises(at.ParameterError, match=message):
        at.scorecard(loaded, ["linear"], **options)  # type: ignore[arg-type]


HAZARD_JOURNEYS = [
    J(["a", "b", "c"], value=30, days=[0, 2, 5], milestones={"converted_at": 6}),
    J(["b", "a"], value=10, days=[1, 3], milestones={"converted_at": 4}),
    J(["c"], converted=False, days=[4]),
    J(["a", "c", "c"], converted=False, days=[0, 1, 6]),
    J(["b"], value=5, days=[2], milestones={"converted_at": 2.5}),
    J(["c", "a"], value=8, days=[0, 9]),  # converted, no conversion time
]


@pytest.mark.parametrize("source", ["hand", "sample"])
def test_hazard_replicates_share_the_rows_of_the_data_and_fit_alike(source: str) -> None:
    """A replicate's hazard statistics hold the data's converter rows (the same arrays),
    with the weights of the replicate, and fit exactly as the plain statistics of the
    reweighted journeys do: journeys drawn 0 times take no part (in the pair search, whose
    candidates come from the rows, included: the sample's replicate 4 selects other pairs
    when rows of weight 0 are candidates)."""
    if source == "hand":
        journeys = at.load(touches_frame(HAZARD_JOURNEYS * 4)).journeys
        model = Hazard(horizon_days=10)
    else:
        journeys = at.load(*sample(journeys=60, untouched=3)).journeys
        journeys = journeys.window(60)[0]
        model = Hazard()
    context = model.context(journeys)
    data = model.statistics_in_context(journeys, context)
    factors = Bootstrap(8, seed=3).multipliers(journey_keys(journeys), journeys.weight, 0, 8)
    assert (factors == 0).any()
    for r in range(8):
        replicate = model.replicate_statistics(journeys, context, data, factors[:, r])
        for name in ("row_pointer", "row_column", "x_values", "z_values", "x_pairs", "z_pairs"):
            assert getattr(replicate, name) is getattr(data, name)
        plain = model.statistics_in_context(journeys.reweighted(factors[:, r]), context)
        shared_fit = clone(model).fit_statistics(replicate)
        plain_fit = clone(model).fit_statistics(plain)
        assert shared_fit.pairs_ == plain_fit.pairs_
        np.testing.assert_allclose(shared_fit.coefficients_, plain_fit.coefficients_, rtol=1e-9)
        np.testing.assert_allclose(
            shared_fit.credit(journeys).value, plain_fit.credit(journeys).value, rtol=1e-9
        )


def test_merged_hazard_replicates_share_the_rows_of_the_merged_data() -> None:
    frame = touches_frame(HAZARD_JOURNEYS * 3)
    whole = at.load(frame).journeys
    first = frame["journey_id"].isin(["j0", "j3", "j7", "j11"])
    parts = shared_coding([at.load(frame[first]).journeys, at.load(frame[~first]).journeys])
    plan = plan_run(whole, {"hazard": Hazard(horizon_days=10)}, by=("channel",))
    options = RunOptions(bootstrap=Bootstrap(6, seed=2))
    contexts = context_pass(parts[0], plan, options).merge(context_pass(parts[1], plan, options))
    fit = fit_pass(parts[0], plan, options, contexts).merge(
        fit_pass(parts[1], plan, options, contexts)
    )
    data = fit.statistics["hazard"]
    replicates = list(fit.replicate_statistics["hazard"])
    assert len(replicates) == 6
    for replicate in replicates:
        assert replicate.x_values is data.x_values and replicate.z_pairs is data.z_pairs
    expected, _ = run_partitions([whole], plan, options)
    got, _ = run_partitions(parts, plan, options)
    assert expected.replicates is not None and got.replicates is not None
    key = ("hazard", ("channel",))
    np.testing.assert_allclose(
        got.replicates[key].to_numpy(), expected.replicates[key].to_numpy(), rtol=1e-9
    )


@pytest.mark.parametrize(
    ("name", "options", "shortcut"),
    [
        ("presence", {"pairs": [("paid_search", "webinar"), ("sdr_call", "email_nurture")]},
         "replicate_credit"),
        ("shapley", {}, "replicate_credit"),
        ("shapley", {"game": "observed_rates"}, "split_amounts"),
        ("markov", {}, "split_amounts"),
    ],
)  # fmt: skip
def test_one_pass_replicates_equal_crediting_each_reweighted_replicate(
    name: str, options: dict, shortcut: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one-pass replicate credit (presence games) and the split by rates (markov,
    the observed-rate game) against the engine's general path, which reweights each
    replicate's journeys and credits them with its model: the same replicate tables, by
    channel, team and both, over enough journeys for several of the kernel's chunks and
    with explicit pairs (given in either order)."""
    from attribution.models.base import AttributionModel
    from attribution.simulate import simulate

    loaded = simulate("synergy", 6000, seed=2).load()  # over 2,048 credited journeys
    kwargs = {
        "by": ("channel",),
        "also_by": [("team",), ("channel", "team")],
        "parameters": {name: options} if options else None,
        "bootstrap": Bootstrap(4, seed=3),
    }
    used = []
    kinds = {"replicate_credit": ("Presence", "Shapley"), "split_amounts": ("Markov", "Shapley")}
    for kind_name in kinds[shortcut]:
        kind = getattr(at.models, kind_name)
        real = kind.__dict__[shortcut]

        def counted(self: object, *args: object, real: object = real) -> object:
            result = real(self, *args)  # type: ignore[operator]
            used.append(result is not None)
            return result

        monkeypatch.setattr(kind, shortcut, counted)
    fast = at.attribute(loaded, [name], **kwargs)  # type: ignore[arg-type]
    assert fast.replicates is not None
    assert any(used)  # the shortcut ran
    monkeypatch.undo()
    models = {type(m) for m in fast.models.values()}
    for kind in models | {type(getattr(m, "game_model_", m)) for m in fast.models.values()}:
        monkeypatch.setattr(kind, shortcut, AttributionModel.__dict__[shortcut])
    slow = at.attribute(loaded, [name], **kwargs)  # type: ignore[arg-type]
    assert slow.replicates is not None and fast.replicates.keys() == slow.replicates.keys()
    for key, table in fast.replicates.items():
        pd.testing.assert_frame_equal(table, slow.replicates[key], rtol=1e-11, atol=1e-9)


@pytest.mark.parametrize(("layer", "pool"), [("workqueue", False), ("omp", True)])
def test_replicate_fits_use_threads_only_under_a_threadsafe_layer(
    layer: str, pool: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """numba's workqueue layer aborts the process on parallel kernels launched from two
    threads at once: under it the replicate fits run one after another, on the caller's
    thread; the results are the same either way."""
    import numba

    from attribution import passes

    loaded = at.load(touches_frame(JOURNEYS * 4))
    expected = at.attribute(loaded, ["markov"], by=("channel",), bootstrap=Bootstrap(6))
    monkeypatch.setattr(numba, "threading_layer", lambda: layer)
    monkeypatch.setattr(passes, "REPLICATE_FIT_THREADS", 2)
    pools = []
    real = passes.ThreadPoolExecutor

    def tracked(*args: object) -> object:
        pools.append(args)
        return real(*args)  # type: ignore[call-overload]

    monkeypatch.setattr(passes, "ThreadPoolExecutor", tracked)
    got = at.attribute(loaded, ["markov"], by=("channel",), bootstrap=Bootstrap(6))
    assert bool(pools) == pool
    assert got.replicates is not None and expected.replicates is not None
    pd.testing.assert_frame_equal(
        got.replicates[("markov", ("channel",))], expected.replicates[("markov", ("channel",))]
    )
