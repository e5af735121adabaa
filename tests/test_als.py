"""ALS: solvers, threads, fold-in, explanations and similar items."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender_systems import ALS, DataError, Interactions, UnknownUserError, evaluate
from recommender_systems.query import history_matrix


@pytest.fixture(scope="module")
def data(synthetic: pd.DataFrame) -> Interactions:
    return Interactions.from_frame(synthetic)


@pytest.fixture(scope="module")
def model(data: Interactions) -> ALS:
    return ALS(n_factors=16, epochs=8, values="linear", random_state=0).fit(data)


def test_results_do_not_depend_on_threads(data: Interactions) -> None:
    one = ALS(n_factors=8, epochs=3, random_state=1, n_threads=1).fit(data)
    two = ALS(n_factors=8, epochs=3, random_state=1, n_threads=2).fit(data)
    np.testing.assert_array_equal(one.user_factors_, two.user_factors_)
    np.testing.assert_array_equal(one.item_factors_, two.item_factors_)


def test_cholesky_and_conjugate_gradient_agree_on_quality(synthetic: pd.DataFrame) -> None:
    train, test = synthetic.iloc[::2], synthetic.iloc[1::2]
    cg = evaluate(ALS(random_state=0), train, test)["ndcg@10"]
    exact = evaluate(ALS(solver="cholesky", random_state=0), train, test)["ndcg@10"]
    assert exact == pytest.approx(cg, abs=0.03)


def dense_user_factors(model: ALS, items: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Hu, Koren and Volinsky's user equation, written over every item."""
    y = model.item_factors_.astype(np.float64)
    confidence = np.ones(y.shape[0])
    preference = np.zeros(y.shape[0])
    confidence[items] += model.alpha * values
    preference[items] = 1.0
    n_items = y.shape[0]
    reg = model.regularization * (n_items + model.alpha * values.sum()) ** model.reg_exponent
    a = y.T @ (confidence[:, None] * y) + reg * np.eye(y.shape[1])
    return np.linalg.solve(a, y.T @ (confidence * preference))


def test_fold_in_solves_against_fixed_item_factors(model: ALS, data: Interactions) -> None:
    items = np.array([3, 17, 40])
    values = np.array([5.0, 1.0, 3.0], dtype=np.float32)
    history = history_matrix(model.item_ids_, data.item_ids.to_ids(items), values)
    got = model._fold_in(history)[0]
    np.testing.assert_allclose(got, dense_user_factors(model, items, values), rtol=1e-3, atol=1e-4)
    recs = model.recommend_from_history(data.item_ids.to_ids(items), n=5, weights=values)
    assert len(recs) == 5 and not set(recs) & set(data.item_ids.to_ids(items).tolist())


def test_fold_in_of_a_known_users_history_agrees_with_their_recommendations(
    model: ALS, data: Interactions
) -> None:
    overlaps = []
    for user in data.user_ids.ids[:20].tolist():
        row = data.matrix[data.user_ids.index_of(user)]
        history = data.item_ids.to_ids(row.indices)
        folded = model.recommend_from_history(history, n=10, weights=row.data)
        overlaps.append(len(set(folded) & set(model.recommend(user, n=10))))
    assert np.mean(overlaps) >= 7


def test_fold_in_rejects_negative_weights(model: ALS, data: Interactions) -> None:
    with pytest.raises(DataError, match="weights"):
        model.recommend_from_history(data.item_ids.ids[:2].tolist(), weights=[1.0, -2.0])


def test_negative_values_are_rejected_at_fit() -> None:
    frame = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [1, 2, 1], "rating": [1.0, -1.0, 2.0]})
    with pytest.raises(DataError, match="values"):
        ALS().fit(frame)


def test_explain_decomposes_the_exact_score(model: ALS, data: Interactions) -> None:
    user = data.user_ids.ids[5].item()
    item = model.recommend(user, n=1)[0]
    reasons = model.explain(user, item, n=1000)
    row = data.matrix[data.user_ids.index_of(user)]
    assert sorted(i for i, _ in reasons) == sorted(data.item_ids.to_ids(row.indices).tolist())
    contributions = [c for _, c in reasons]
    assert contributions == sorted(contributions, reverse=True)
    exact = dense_user_factors(model, row.indices, row.data)
    target = model.item_factors_[data.item_ids.index_of(item)]
    assert sum(contributions) == pytest.approx(float(exact @ target), rel=1e-3, abs=1e-5)
    assert len(model.explain(user, item, n=3)) == 3


def test_explain_rejects_unknown_users(model: ALS) -> None:
    with pytest.raises(UnknownUserError):
        model.explain(-31337, 1)


def test_similar_items_rank_by_cosine(model: ALS, data: Interactions) -> None:
    item = data.item_ids.ids[0].item()
    similar = model.similar_items(item, n=5)
    unit = model.item_factors_ / np.linalg.norm(model.item_factors_, axis=1, keepdims=True)
    cos = unit @ unit[0]
    cos[0] = -np.inf
    assert similar == data.item_ids.to_ids(np.argsort(-cos, kind="stable")[:5]).tolist()


def test_cg_steps_is_honoured(synthetic: pd.DataFrame) -> None:
    # One epoch from the same start: more conjugate-gradient steps land closer to
    # the exact (Cholesky) solution, until the early stop makes extra steps free.
    exact = ALS(n_factors=16, epochs=1, solver="cholesky", random_state=0).fit(synthetic)
    distance = []
    for steps in (1, 2, 3):
        model = ALS(n_factors=16, epochs=1, cg_steps=steps, random_state=0).fit(synthetic)
        distance.append(float(np.linalg.norm(model.item_factors_ - exact.item_factors_)))
    assert distance[0] > distance[1] > distance[2]
    assert distance[2] < 0.01 * float(np.linalg.norm(exact.item_factors_))
