"""Every seed parameter has one range, 0 <= seed < 2**63, checked with a clear error."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import attribution as at
from attribution.bootstrap import Bootstrap
from attribution.errors import ParameterError
from attribution.models.shapley import Shapley
from attribution.seeds import check_seed
from attribution.simulate import simulate
from tests.builders import J, load

BAD_SEEDS = [-1, 2**63, 2**64, 1.5, True, "3", None]


def fit_shapley(seed: object) -> object:
    journeys = load([J(["a", "b"]), J(["b"]), J(["a"], converted=False)]).journeys
    # The seed is the observed-rate game's (its sampler); the presence game has none.
    return Shapley(game="observed_rates", seed=seed).fit(journeys)  # type: ignore[arg-type]


def check_bootstrap(seed: object) -> None:
    Bootstrap(replicates=10, seed=seed).check()  # type: ignore[arg-type]


def simulate_seed(seed: object) -> object:
    return simulate("independent", journeys=20, seed=seed, truth=False)  # type: ignore[arg-type]


def attribute_bootstrap(seed: object) -> object:
    loaded = load([J(["a", "b"]), J(["b"]), J(["a"], converted=False)])
    return at.attribute(loaded, ["linear"], bootstrap=Bootstrap(replicates=4, seed=seed))  # type: ignore[arg-type]


USES: list[Callable[[object], object]] = [
    fit_shapley,
    check_bootstrap,
    simulate_seed,
    attribute_bootstrap,
]


@pytest.mark.parametrize(
    ("use", "seed"),
    # None is a valid seed of simulate: the scenario's own.
    [(u, s) for u in USES for s in BAD_SEEDS if not (u is simulate_seed and s is None)],
)
def test_a_seed_outside_the_range_is_refused_naming_the_parameter(
    use: Callable[[object], object], seed: object
) -> None:
    with pytest.raises(ParameterError, match=r"seed must be an integer from 0 to 2\^63 - 1"):
        use(seed)


@pytest.mark.parametrize("use", USES)
def test_the_largest_seed_works(use: Callable[[object], object]) -> None:
    use(2**63 - 1)
    use(np.int64(7))


def test_check_seed_names_the_parameter() -> None:
    assert check_seed(np.uint64(5)) == 5 and type(check_seed(np.int32(5))) is int
    with pytest.raises(ParameterError, match=r"^random_state must be"):
        check_seed(-2, "random_state")
