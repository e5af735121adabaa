"""ItemKNN, UserKNN and RP3beta: what they compute, their arguments, their quality."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender_systems import (
    DataError,
    Interactions,
    ItemKNN,
    ParameterError,
    Recommender,
    RP3beta,
    UserKNN,
)
from recommender_systems.neighborhood import neighbours, stored_or_never
from recommender_systems.weighting import bm25_weight
from tests.helpers import dense, same_sparse


@pytest.fixture(scope="module")
def data(synthetic: pd.DataFrame) -> Interactions:
    return Interactions.from_frame(synthetic)


def dense_cosine(rows: np.ndarray, shrink: float = 0.0) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1)
    sims = rows @ rows.T / (np.outer(norms, norms) + shrink)
    np.fill_diagonal(sims, 0.0)
    return sims


def keep_top(sims: np.ndarray, k: int) -> np.ndarray:
    """Rows cut to their k largest values, ties to the lower column (as the kernel)."""
    out = np.zeros_like(sims)
    for r, row in enumerate(sims):
        order = np.lexsort((np.arange(row.size), -row))
        kept = [c for c in order if row[c] != 0][:k]
        out[r, kept] = row[kept]
    return out


def test_item_similarities_are_cosine_cut_to_k(data: Interactions) -> None:
    model = ItemKNN(
        n_neighbors=5, similarity="cosine", shrink=2.0, normalize=False, values="linear"
    ).fit(data)
    items = data.matrix.toarray().T.astype(np.float64)
    want = keep_top(dense_cosine(items, 2.0), 5)
    np.testing.assert_allclose(dense(model.similarity_), want, rtol=1e-5, atol=1e-7)


def test_bm25_similarity_is_the_dot_product_of_bm25_weights(data: Interactions) -> None:
    model = ItemKNN(n_neighbors=400, normalize=False, bm25_k1=2.0, bm25_b=0.5, values="linear").fit(
        data
    )
    weighted = bm25_weight(data.matrix.T.tocsr(), 2.0, 0.5).toarray().astype(np.float64)
    want = weighted @ weighted.T
    np.fill_diagonal(want, 0.0)
    np.testing.assert_allclose(dense(model.similarity_), want, rtol=1e-4, atol=1e-6)


def test_jaccard_is_intersection_over_union() -> None:
    rows = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 1, 5]], dtype=np.float32))
    sims = neighbours(rows, 2, "jaccard").toarray()
    assert sims[0].tolist() == pytest.approx([0, 2 / 3, 0])
    assert sims[2].tolist() == pytest.approx([0, 1 / 4, 0])


def test_normalized_rows_sum_to_one_and_keep_the_ranking(data: Interactions) -> None:
    plain = ItemKNN(n_neighbors=10, normalize=False).fit(data).similarity_
    assert isinstance(plain, sp.csr_matrix)
    scaled = ItemKNN(n_neighbors=10).fit(data).similarity_
    assert isinstance(scaled, sp.csr_matrix)
    sums = np.asarray(scaled.sum(axis=1)).ravel()
    assert np.allclose(sums[sums > 0], 1.0)
    assert np.array_equal(plain.indices, scaled.indices)


def test_item_scores_sum_similarities_weighted_by_the_users_values(data: Interactions) -> None:
    model = ItemKNN(n_neighbors=20).fit(data)
    user = data.user_ids.ids[3]
    row = data.matrix[data.user_ids.index_of(user)]
    weights = sp.csr_matrix(row, copy=True)
    weights.data = weights.data.astype(np.float32)  # ratings: values="auto" keeps them
    want = stored_or_never(weights @ model.similarity_)[0]  # unlinked items: -inf
    np.testing.assert_allclose(model.score(user, data.item_ids.ids), want, rtol=1e-6)
    assert np.isinf(want).any()


@pytest.mark.parametrize("model", [ItemKNN(n_neighbors=30), RP3beta(n_neighbors=30)])
def test_fold_in_of_a_users_items_gives_that_users_recommendations(
    model: Recommender, data: Interactions
) -> None:
    model.fit(data)
    user = data.user_ids.ids[5].item()
    row = data.matrix[data.user_ids.index_of(user)]
    items = data.item_ids.ids[row.indices].tolist()
    weights = row.data.tolist() if isinstance(model, ItemKNN) else None
    assert model.recommend_from_history(items, n=10, weights=weights) == model.recommend(user, n=10)


def test_fold_in_rejects_an_empty_history(data: Interactions) -> None:
    model = ItemKNN(n_neighbors=10).fit(data)
    with pytest.raises(DataError, match="history: expected at least one item"):
        model.recommend_from_history([])


def test_similar_items_are_the_kept_neighbours_best_first(data: Interactions) -> None:
    model = ItemKNN(n_neighbors=4, normalize=False).fit(data)
    item = data.item_ids.ids[0].item()
    similar = model.similar_items(item, n=10)
    row = model.similarity_[0]
    order = np.lexsort((row.indices, -row.data))
    assert similar == data.item_ids.ids[row.indices[order]].tolist()
    assert len(similar) <= 4


def test_user_neighbours_are_cut_to_k_and_never_the_user(data: Interactions) -> None:
    model = UserKNN(n_neighbors=7, values="linear").fit(data)
    nbrs = model.neighbours_
    assert nbrs.shape == (data.n_users, data.n_users)
    assert np.diff(nbrs.indptr).max() <= 7
    assert not nbrs.diagonal().any()
    users = data.matrix.toarray().astype(np.float64)
    np.testing.assert_allclose(nbrs.toarray(), keep_top(dense_cosine(users), 7), rtol=1e-5)


def test_user_scores_are_neighbour_weighted_sums(data: Interactions) -> None:
    model = UserKNN(n_neighbors=10, values="linear").fit(data)
    user = data.user_ids.ids[2]
    want = stored_or_never(model.neighbours_[2] @ data.matrix)[0]
    np.testing.assert_allclose(model.score(user, data.item_ids.ids), want, rtol=1e-6)


def test_rp3beta_matches_its_formula_on_a_small_graph() -> None:
    matrix = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 1, 0]], dtype=np.float32)
    data = Interactions.from_sparse(sp.csr_matrix(matrix))
    model = RP3beta(alpha=0.5, beta=0.3, n_neighbors=10, normalize=False).fit(data)
    p_ui = (matrix / matrix.sum(1, keepdims=True)) ** 0.5
    p_iu = (matrix.T / matrix.T.sum(1, keepdims=True)) ** 0.5
    want = p_iu @ p_ui / matrix.sum(0) ** 0.3
    np.fill_diagonal(want, 0.0)
    np.testing.assert_allclose(dense(model.similarity_), want, rtol=1e-5)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (ItemKNN(n_neighbors=0), "n_neighbors: expected an integer >= 1, received 0"),
        (ItemKNN(n_neighbors=-3), "n_neighbors: expected an integer >= 1, received -3"),
        (ItemKNN(n_neighbors=2.5), "n_neighbors: expected an integer >= 1"),  # type: ignore[arg-type]
        (UserKNN(n_neighbors=0), "n_neighbors: expected an integer >= 1, received 0"),
        (RP3beta(n_neighbors=0), "n_neighbors: expected an integer >= 1, received 0"),
        (ItemKNN(similarity="pearson"), "similarity: expected one of"),  # type: ignore[arg-type]
        (ItemKNN(similarity="cosine", shrink=-1.0), "shrink: expected a finite number >= 0"),
        (ItemKNN(shrink=10.0), "shrink: .* with similarity='bm25' expected 0"),
        (ItemKNN(bm25_b=1.5), "bm25_b: expected a finite number >= 0 and <= 1"),
        (ItemKNN(bm25_k1=-1.0), "bm25_k1: expected a finite number >= 0"),
        (ItemKNN(normalize="yes"), "normalize: expected True or False"),  # type: ignore[arg-type]
        (RP3beta(alpha=-0.1), "alpha: expected a finite number >= 0"),
        (RP3beta(beta=float("nan")), "beta: expected a finite number >= 0"),
        (UserKNN(n_threads=-1), "n_threads: expected an integer >= 0"),
    ],
)
def test_bad_hyperparameters_fail_in_fit_with_a_named_error(
    model: Recommender, message: str, data: Interactions
) -> None:
    with pytest.raises(ParameterError, match=message):
        model.fit(data)
    assert not model.is_fitted


def test_threads_do_not_change_the_result(data: Interactions) -> None:
    one = ItemKNN(n_neighbors=15, n_threads=1).fit(data).similarity_
    two = ItemKNN(n_neighbors=15, n_threads=2).fit(data).similarity_
    assert same_sparse(one, two)


FALLBACK_SCRIPT = """
import json, sys
if sys.argv[1] == "blocked":
    sys.modules["recommender_systems._kernels"] = None  # makes the import fail
import recommender_systems as rs
df = rs.generate_interactions(80, 50, 900, random_state=4, ratings=True)
users = df["user_id"].unique()[:15]
out = {"backend": rs.kernel_backend()}
for model in (rs.ItemKNN(n_neighbors=10), rs.UserKNN(n_neighbors=10), rs.RP3beta(n_neighbors=10)):
    out[type(model).__name__] = model.fit(df).recommend_batch(users, n=5).to_lists()
print(json.dumps(out))
"""


def test_models_give_the_same_results_without_the_extension() -> None:
    import json
    import subprocess
    import sys

    def run(mode: str) -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, "-c", FALLBACK_SCRIPT, mode],
            capture_output=True,
            text=True,
            check=True,
        )
        result: dict[str, Any] = json.loads(out.stdout)
        return result

    blocked, normal = run("blocked"), run("normal")
    assert blocked.pop("backend") == "python"
    normal.pop("backend")
    assert blocked == normal


@pytest.mark.parametrize("cls", [ItemKNN, UserKNN])
def test_bm25_refuses_negative_values_with_a_data_error(cls: type[ItemKNN | UserKNN]) -> None:
    # Before: the kernel's "a_data: expected finite values, received -inf" (a ValueError).
    frame = pd.DataFrame(
        {"user_id": [0, 0, 1, 1, 2], "item_id": [0, 1, 0, 2, 1], "rating": [2, -1, 1, 1, 3]}
    )
    with pytest.raises(DataError, match=r"similarity='bm25'\) expects values >= 0"):
        cls(similarity="bm25", values="linear").fit(frame)
    with pytest.raises(DataError, match=r"values: 'log' weighs values >= 0"):
        cls(similarity="bm25", values="log").fit(frame)
    assert cls(similarity="cosine", values="linear").fit(frame).is_fitted


def test_rp3beta_refuses_negative_walk_weights_with_a_data_error() -> None:
    # Before: negative transition "probabilities" raised to a power gave NaN scores.
    frame = pd.DataFrame(
        {"user_id": [0, 0, 1, 1, 2], "item_id": [0, 1, 0, 2, 1], "rating": [2, -1, 1, 1, 3]}
    )
    with pytest.raises(DataError, match=r"RP3beta\(values='linear'\) expects values >= 0"):
        RP3beta(values="linear").fit(frame)
    assert RP3beta(values="binary").fit(frame).is_fitted
