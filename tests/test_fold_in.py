"""Fold-in for the models that gained it (BPR, UserKNN, the baselines) and
UserKNN.similar_items, against references and, on MovieLens, against the fitted
users themselves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender_systems import BPR, MeanRating, MostPopular, UserKNN, metrics
from recommender_systems.neighborhood import stored_or_never
from recommender_systems.weighting import bm25_weight, tfidf_weight
from tests.conftest import requires_ml100k


@pytest.fixture(scope="module")
def log(synthetic: pd.DataFrame) -> pd.DataFrame:
    return synthetic


def test_baselines_fold_in_is_their_ranking_minus_the_history(log: pd.DataFrame) -> None:
    for model in (MostPopular().fit(log), MeanRating(min_ratings=1).fit(log)):
        nobody = 10**9  # an id no user has
        history = model.recommend_batch([nobody], 3, unknown="popular").to_lists()[0][:2]
        everyone = model.recommend_batch([nobody], 12, unknown="popular").to_lists()[0]
        assert (
            model.recommend_from_history(history, n=10)
            == [i for i in everyone if i not in history][:10]
        )


@pytest.mark.parametrize("similarity", ["cosine", "tfidf", "bm25", "jaccard"])
def test_user_knn_fold_in_matches_a_dense_reference(log: pd.DataFrame, similarity: str) -> None:
    model = UserKNN(n_neighbors=15, similarity=similarity, values="linear").fit(log)  # type: ignore[arg-type]
    train = model.user_items_
    history = sp.csr_matrix(train[[0, 5, 9]].toarray() * np.array([1.0]), dtype=np.float32)
    ours = model._scores_for_history(history)

    # Reference: dense similarities of each history to every training user, the
    # weights taken from the training matrix, the k best kept, then summed.
    if similarity == "bm25":
        left, right = bm25_weight(history, reference=train).toarray(), bm25_weight(train).toarray()
        sims = left @ right.T
    elif similarity == "jaccard":
        a, b = history.toarray() > 0, train.toarray() > 0
        inter = a.astype(float) @ b.T.astype(float)
        sims = inter / (a.sum(1)[:, None] + b.sum(1)[None, :] - inter)
    else:
        if similarity == "tfidf":
            left = tfidf_weight(history, reference=train).toarray()
            right = tfidf_weight(train).toarray()
        else:
            left, right = history.toarray(), train.toarray()
        norms = np.outer(np.linalg.norm(left, axis=1), np.linalg.norm(right, axis=1))
        sims = np.divide(left @ right.T, norms, out=np.zeros_like(norms), where=norms > 0)
    kept = np.zeros_like(sims)
    for row in range(sims.shape[0]):
        best = np.argsort(-sims[row], kind="stable")[:15]
        best = best[sims[row, best] != 0]
        kept[row, best] = sims[row, best]
    expected = stored_or_never(sp.csr_matrix(kept) @ train)
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(np.isfinite(ours), finite)
    np.testing.assert_allclose(ours[finite], expected[finite], rtol=1e-4, atol=1e-5)


def test_user_knn_similar_items_is_the_cosine_of_item_columns(log: pd.DataFrame) -> None:
    model = UserKNN(values="linear").fit(log)
    columns = model.user_items_.T.toarray()
    norms = np.linalg.norm(columns, axis=1)
    cosine = columns @ columns[3] / (norms * norms[3])
    cosine[3] = -np.inf
    order = np.lexsort((np.arange(cosine.size), -cosine))
    expected = model.item_ids_.to_ids(order[:5]).tolist()
    assert model.similar_items(model.item_ids_.ids[3].item(), n=5) == expected


def test_bpr_fold_in_is_seeded_and_leaves_the_model_alone(log: pd.DataFrame) -> None:
    model = BPR(n_factors=8, epochs=20, random_state=1).fit(log)
    before = model.item_factors_.copy()
    history = log["item_id"].unique()[:6].tolist()
    first = model.recommend_from_history(history, n=10)
    assert first == model.recommend_from_history(history, n=10)
    np.testing.assert_array_equal(before, model.item_factors_)
    everything = log["item_id"].unique().tolist()
    assert model.recommend_from_history(everything, n=5, exclude_seen=False)  # no negatives


@requires_ml100k
@pytest.mark.realdata
@pytest.mark.parametrize(("model", "tolerance"), [(BPR(random_state=0), 0.02), (UserKNN(), 0.02)])
def test_folding_in_a_users_history_ranks_like_the_fitted_user(
    model: BPR | UserKNN, tolerance: float, ml100k_split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    train, test = ml100k_split
    model.fit(train)
    users = test["user_id"].drop_duplicates().head(150).tolist()
    histories = train.groupby("user_id")["item_id"].apply(list)
    relevant = test.groupby("user_id")["item_id"].apply(list)
    folded = model.recommend_from_histories([histories[u] for u in users], 10).to_lists()
    fitted = model.recommend_batch(users, 10).to_lists()
    actual = [relevant[u] for u in users]
    fold_ndcg, fit_ndcg = (
        metrics.ndcg_at_k(folded, actual, 10),
        metrics.ndcg_at_k(fitted, actual, 10),
    )
    assert fold_ndcg >= fit_ndcg - tolerance, (fold_ndcg, fit_ndcg)
