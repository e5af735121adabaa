from __future__ import annotations

import pytest

from recommender_systems import MeanRating, ParameterError, create, get_algorithm
from recommender_systems.base import Recommender


def test_get_set_params_and_repr() -> None:
    model = MeanRating()
    assert model.get_params() == {"min_ratings": 10}
    assert repr(model) == "MeanRating()"
    assert model.set_params(min_ratings=3) is model
    assert repr(model) == "MeanRating(min_ratings=3)"


def test_invalid_hyperparameter_is_reported_at_fit(tiny: object) -> None:
    with pytest.raises(ParameterError, match="min_ratings: expected an integer >= 1, received 0"):
        MeanRating(min_ratings=0).fit(tiny)


def test_registry_lookup() -> None:
    assert isinstance(create("most-popular"), Recommender)
    with pytest.raises(ParameterError, match="unknown algorithm 'nope'; expected one of"):
        get_algorithm("nope")


def test_init_must_not_take_varargs() -> None:
    class Bad(Recommender):
        def __init__(self, **kwargs: object) -> None:
            pass

        def _fit(self, data: object) -> None:
            pass

        def _scores(self, users: object) -> object:  # type: ignore[override]
            return None

    with pytest.raises(TypeError, match="must not take"):
        Bad().get_params()
