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


# -------------------------------------------------- repr and clone, in depth
def test_repr_shows_only_what_differs_from_the_defaults() -> None:
    from recommender_systems import ALS

    assert repr(ALS()) == "ALS()"
    assert repr(ALS(n_factors=8, random_state=None)) == "ALS(n_factors=8)"
    # Equal to the defaults but other objects: still hidden.
    log = "".join(["lo", "g"])
    assert repr(ALS(regularization=float("0.02"), values=log)) == "ALS()"  # type: ignore[arg-type]


def test_repr_shows_a_table_by_its_shape_and_an_array_as_it_is() -> None:
    import numpy as np
    import pandas as pd

    from recommender_systems import ContentBased, HybridRecommender

    table = pd.DataFrame({"item_id": [1, 2], "genre": ["a", "b"]})
    assert "item_features=<DataFrame: 2 rows x 2 columns>" in repr(ContentBased(table))
    assert "weights=array([1., 2.])" in repr(HybridRecommender(weights=np.array([1.0, 2.0])))


def test_clone_copies_nested_models_lists_and_dicts() -> None:
    from recommender_systems import ALS, EASE, HybridRecommender

    members = [ALS(n_factors=8), EASE()]
    hybrid = HybridRecommender(members, weights=[1.0, 2.0])
    twin = hybrid.clone()
    copies = list(twin.recommenders or [])
    assert twin.recommenders is not members and copies[0] is not members[0]
    assert [m.get_params() for m in copies] == [m.get_params() for m in members]
    assert twin.weights == [1.0, 2.0] and twin.weights is not hybrid.weights

    class WithOptions(MeanRating):
        def __init__(self, min_ratings: int = 10, options: dict[str, object] | None = None):
            super().__init__(min_ratings)
            self.options = options

    inner = ALS(n_factors=4)
    options: dict[str, object] = {"inner": inner, "sizes": [1, 2]}
    copied = WithOptions(options=options).clone().options
    assert copied is not None and copied is not options
    assert isinstance(copied["inner"], ALS) and copied["inner"] is not inner
    assert copied["inner"].get_params() == inner.get_params()
    assert copied["sizes"] == [1, 2] and copied["sizes"] is not options["sizes"]


def test_an_unknown_parameter_is_refused_with_the_valid_names() -> None:
    from recommender_systems import EASE

    with pytest.raises(ParameterError, match="expected one of regularization, dtype, values"):
        EASE().set_params(bogus=1)


def test_reading_or_setting_a_former_name_warns_at_the_callers_line() -> None:
    from recommender_systems import ALS

    model = ALS()
    with pytest.warns(DeprecationWarning, match="use 'epochs'") as seen:
        assert model.iterations == 15  # type: ignore[attr-defined]
    assert seen[0].filename == __file__
    with pytest.warns(DeprecationWarning, match="use 'epochs'") as seen:
        model.iterations = 3  # type: ignore[attr-defined]
    assert seen[0].filename == __file__ and model.epochs == 3
