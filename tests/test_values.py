"""Interaction values -> weights: the one component every model uses."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommender_systems import (
    ALS,
    EASE,
    SVD,
    DataError,
    ItemKNN,
    ParameterError,
    RP3beta,
    UserKNN,
    generate_interactions,
)
from recommender_systems.hyperparameters import OneOf, declared
from recommender_systems.values import VALUES, ValueWeights

PLAYS = sp.csr_matrix(
    np.array([[1.0, 300_000.0, 10.0, 0.0], [10.0, 0.0, 2.0, 5.0]], dtype=np.float32)
)


def weights(how: str, rows: sp.csr_matrix = PLAYS) -> np.ndarray:
    return ValueWeights(how).fit(PLAYS).transform(rows).toarray()  # type: ignore[arg-type]


def test_each_rule_against_its_formula() -> None:
    x = PLAYS.toarray().astype(np.float64)
    stored = x != 0
    assert np.array_equal(weights("binary"), stored.astype(np.float32))
    np.testing.assert_allclose(weights("linear"), x)
    np.testing.assert_allclose(weights("log"), np.log1p(x), rtol=1e-6)
    cap = np.percentile(x[stored], 95.0)
    np.testing.assert_allclose(weights("cap"), np.minimum(x, cap) / cap * stored, rtol=1e-6)
    totals = x.sum(axis=1, keepdims=True)
    norm = 1.2 * (1 - 0.75 + 0.75 * totals / totals.mean())
    np.testing.assert_allclose(weights("bm25"), x * 2.2 / (x + norm) * stored, rtol=1e-5)


def test_the_pattern_is_kept_and_nothing_is_modified_in_place() -> None:
    before = PLAYS.copy()
    for how in VALUES:
        out = ValueWeights(how).fit(PLAYS).transform(PLAYS)
        assert out.dtype == np.float32
        assert np.array_equal(out.indices, PLAYS.indices)
        assert np.array_equal(out.indptr, PLAYS.indptr)
    assert np.array_equal(before.toarray(), PLAYS.toarray())


@pytest.mark.parametrize("how", ["log", "bm25", "auto"])
def test_a_huge_count_does_not_dominate_its_user(how: str) -> None:
    # 300,000 plays against rows of 1 and 10 plays: at most ~18x the weight of one play.
    row = weights(how)[0]
    assert row[1] / row[0] < 20 and row[1] < row[0] + row[2] + 15


def test_auto_keeps_ratings_linear_and_takes_the_log_of_heavy_counts() -> None:
    ratings = sp.csr_matrix(np.array([[1.0, 5.0, 3.0], [4.0, 0.0, 2.0]], dtype=np.float32))
    assert ValueWeights("auto").fit(ratings).rule_ == "linear"
    assert ValueWeights("auto").fit(PLAYS).rule_ == "log"
    plays = generate_interactions(200, 300, 3_000, counts=True, random_state=0)
    assert plays["rating"].min() >= 1 and plays["rating"].max() > 1_000
    from recommender_systems import Interactions

    matrix = Interactions.from_frame(plays).matrix
    assert ValueWeights("auto").fit(matrix).rule_ == "log"


def test_fold_in_histories_are_weighed_with_the_training_reference() -> None:
    fitted = ValueWeights("cap").fit(PLAYS)
    history = sp.csr_matrix(np.array([[1e9, 0.0, 0.0, 0.0]], dtype=np.float32))
    assert fitted.transform(history).toarray()[0, 0] == pytest.approx(1.0)


@pytest.mark.parametrize("how", ["log", "bm25", "cap"])
def test_negative_values_are_refused_where_the_rule_needs_counts(how: str) -> None:
    signed = sp.csr_matrix(np.array([[-1.0, 2.0]], dtype=np.float32))
    with pytest.raises(DataError, match=f"values: '{how}' weighs values >= 0"):
        ValueWeights(how).fit(signed)  # type: ignore[arg-type]
    np.testing.assert_allclose(ValueWeights("linear").fit(signed).transform(signed).data, [-1, 2])


def test_an_unknown_rule_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match="how: expected one of"):
        ValueWeights("sqrt").fit(PLAYS)  # type: ignore[arg-type]
    log = generate_interactions(20, 10, 60, random_state=0)
    with pytest.raises(ParameterError, match="values: expected one of"):
        ALS(values="sqrt").fit(log)  # type: ignore[arg-type]


MODELS = [ALS, EASE, ItemKNN, UserKNN, RP3beta, SVD]


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_every_value_model_declares_the_same_hyperparameter(cls: type) -> None:
    hp = declared(cls)["values"]
    assert hp.check(hp.default, "values") in VALUES
    assert isinstance(hp.tune, OneOf) and set(hp.tune.choices) == set(VALUES) - {"auto"}
    assert hp.doc == declared(ALS)["values"].doc


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_models_weigh_training_rows_and_fold_in_alike(cls: type) -> None:
    log = generate_interactions(60, 40, 800, counts=True, n_tastes=3, random_state=1)
    model = cls(**({"random_state": 0} if "random_state" in cls().get_params() else {}))
    model.fit(log)
    user = log["user_id"].iloc[0]
    mine = log[log["user_id"] == user]
    if model.supports_fold_in:
        folded = model.recommend_from_history(
            mine["item_id"].tolist(), n=5, weights=mine["rating"].tolist()
        )
        assert folded == model.recommend(user, n=5)
    assert model.values_.rule_ == (
        "binary" if model.values == "binary" else "log"
    )  # every default keeps heavy counts in check


def test_default_als_is_not_dominated_by_one_huge_count() -> None:
    log = generate_interactions(80, 50, 1_200, counts=True, n_tastes=3, random_state=2)
    huge = log.copy()
    huge.loc[huge.index[0], "rating"] = 3e5
    user = huge["user_id"].iloc[0]
    a = ALS(random_state=0).fit(log).recommend(user, n=10)
    b = ALS(random_state=0).fit(huge).recommend(user, n=10)
    assert len(set(a) & set(b)) >= 5  # raw counts would reorder the user's whole list
