"""PureSVD: the original quickstart, projection fold-in, small matrices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender_systems import SVD, Interactions
from recommender_systems.errors import KernelError
from recommender_systems.svd import leading_right_singular_vectors


def test_original_quickstart(synthetic: pd.DataFrame) -> None:
    model = SVD(n_factors=50, random_state=42).fit(synthetic)
    user = synthetic["user_id"].iloc[0]
    assert len(model.recommend(user, n=5)) == 5
    again = SVD(n_factors=50, random_state=42).fit(synthetic)
    assert again.recommend(user, n=5) == model.recommend(user, n=5)


def test_item_factors_are_orthonormal_singular_vectors(synthetic: pd.DataFrame) -> None:
    model = SVD(n_factors=12, popularity_damping=0.0, values="linear", random_state=0).fit(
        synthetic
    )
    v = model.item_factors_.astype(np.float64)
    np.testing.assert_allclose(v.T @ v, np.eye(12), atol=1e-4)
    dense = Interactions.from_frame(synthetic).matrix.toarray().astype(np.float64)
    top = np.linalg.svd(dense)[2][:12].T
    # Same subspace as the dense SVD (signs and order aside).
    np.testing.assert_allclose(top @ top.T, v @ v.T, atol=1e-3)


def test_fold_in_projects_the_history_like_a_known_user(synthetic: pd.DataFrame) -> None:
    model = SVD(n_factors=10, random_state=0).fit(synthetic)
    data = Interactions.from_frame(synthetic)
    for code in range(5):
        row = data.matrix[code]
        history = data.item_ids.to_ids(row.indices)
        user = data.user_ids.ids[code].item()
        folded = model.recommend_from_history(history, n=10, weights=row.data)
        assert folded == model.recommend(user, n=10)


def test_more_factors_than_the_matrix_has() -> None:
    matrix = sp.csr_matrix(np.array([[1, 0, 2], [0, 3, 0]], dtype=np.float64))
    vectors = leading_right_singular_vectors(matrix, 10, np.random.default_rng(0))
    assert vectors.shape == (3, 2)  # rank 2
    np.testing.assert_allclose(vectors.T @ vectors, np.eye(2), atol=1e-12)
    tall = leading_right_singular_vectors(matrix.T.tocsr(), 10, np.random.default_rng(0))
    assert tall.shape == (2, 2)
    empty = leading_right_singular_vectors(sp.csr_matrix((2, 3)), 4, np.random.default_rng(0))
    assert empty.shape == (3, 0)


def test_popularity_damping_changes_the_basis(synthetic: pd.DataFrame) -> None:
    plain = SVD(n_factors=8, random_state=0).fit(synthetic)
    damped = SVD(n_factors=8, popularity_damping=0.5, random_state=0).fit(synthetic)
    assert not np.allclose(
        plain.item_factors_ @ plain.item_factors_.T,
        damped.item_factors_ @ damped.item_factors_.T,
        atol=1e-3,
    )


def test_popularity_damping_divides_columns_by_popularity(synthetic: pd.DataFrame) -> None:
    # The damped basis is the dense SVD of X diag(popularity ** -damping): the sign
    # of the exponent matters (popular items are damped, not boosted).
    data = Interactions.from_frame(synthetic)
    dense = data.matrix.toarray().astype(np.float64)
    popularity = np.maximum((dense != 0).sum(axis=0), 1)
    model = SVD(n_factors=8, popularity_damping=0.5, values="linear", random_state=0).fit(data)
    top = np.linalg.svd(dense * popularity**-0.5)[2][:8].T
    v = model.item_factors_.astype(np.float64)
    np.testing.assert_allclose(top @ top.T, v @ v.T, atol=1e-3)


def _two_blocks() -> sp.csr_matrix:
    """Two groups of 40 users, each with all but one of their group's 24 items:
    two large singular values, then many equal ones."""
    dense = np.zeros((80, 48))
    for user in range(80):
        group = user // 40
        dense[user, group * 24 : (group + 1) * 24] = 1.0
        dense[user, group * 24 + user % 24] = 0.0
    return sp.csr_matrix(dense)


def test_a_cut_through_equal_singular_values_drops_them_all() -> None:
    matrix = _two_blocks()
    exact = np.linalg.svd(matrix.toarray(), compute_uv=False)
    assert np.isclose(exact[2], exact[20])  # k = 20 would split a repeated value
    vectors = leading_right_singular_vectors(matrix, 20, np.random.default_rng(0))
    assert vectors.shape == (48, 2)  # only the two values above the repeated one
    top = np.linalg.svd(matrix.toarray())[2][:2].T
    np.testing.assert_allclose(vectors @ vectors.T, top @ top.T, atol=1e-8)


def test_arpack_stalling_is_retried_then_solved_densely(monkeypatch: pytest.MonkeyPatch) -> None:
    from scipy.sparse.linalg import ArpackError

    from recommender_systems import svd as svd_module

    matrix = sp.csr_matrix(sp.random(60, 50, density=0.3, random_state=1))
    want = leading_right_singular_vectors(matrix, 5, np.random.default_rng(0))
    calls: list[object] = []

    def stalls(*args: object, **kwargs: object) -> object:
        calls.append(kwargs.get("ncv"))
        raise ArpackError(3)

    monkeypatch.setattr(svd_module, "svds", stalls)
    got = leading_right_singular_vectors(matrix, 5, np.random.default_rng(0))
    assert calls[0] is None and isinstance(calls[1], int) and calls[1] > 6  # a larger space
    np.testing.assert_allclose(got @ got.T, want @ want.T, atol=1e-6)
    monkeypatch.setattr(svd_module, "DENSE_FALLBACK_SIDE", 10)
    with pytest.raises(KernelError, match=r"ARPACK .* stalled"):
        leading_right_singular_vectors(matrix, 5, np.random.default_rng(0))
