from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender_systems import (
    build_sparse_user_item_matrix,
    build_user_item_matrix,
    densest_subset,
    holdout_per_user,
    split_ratings,
)
from recommender_systems.data import MAX_DENSE_CELLS
from recommender_systems.errors import InsufficientMemoryError


def test_split_ratings_is_the_original_random_split(synthetic: pd.DataFrame) -> None:
    train, test = split_ratings(synthetic, test_size=0.2, random_state=4)
    assert len(test) == 400 and set(train.index).isdisjoint(test.index)
    assert split_ratings(synthetic, 0.2, 4)[1].index.equals(test.index)


def test_holdout_per_user(synthetic: pd.DataFrame) -> None:
    _train, test = holdout_per_user(synthetic, 1, random_state=0)
    assert (test.groupby("user_id").size() == 1).all()


def test_dense_and_sparse_matrices(tiny: pd.DataFrame) -> None:
    dense = build_user_item_matrix(tiny)  # NaN where there is no rating, as the original
    assert dense.shape == (4, 5) and dense.loc["ann", 3] == 4.0 and dense.isna().loc["dan", 2]
    zeros = build_user_item_matrix(tiny, fill_value=0)
    assert zeros.loc["dan", 2] == 0.0
    matrix, users, _items = build_sparse_user_item_matrix(tiny)
    assert matrix.shape == (4, 5) and users.tolist() == ["ann", "bob", "cat", "dan"]
    assert np.array_equal(matrix.toarray(), zeros.to_numpy())
    assert np.array_equal(np.isnan(dense.to_numpy()), matrix.toarray() == 0)


def test_a_rating_of_zero_is_not_missing() -> None:
    df = pd.DataFrame({"user_id": [1, 2], "item_id": [7, 8], "rating": [0.0, 2.0]})
    dense = build_user_item_matrix(df)
    assert dense.loc[1, 7] == 0.0 and dense.isna().loc[1, 8]


def test_dense_matrix_refuses_huge_pivots(
    monkeypatch: pytest.MonkeyPatch, tiny: pd.DataFrame
) -> None:
    monkeypatch.setattr("recommender_systems.data.MAX_DENSE_CELLS", 10)
    with pytest.raises(InsufficientMemoryError, match="build_sparse_user_item_matrix"):
        build_user_item_matrix(tiny)
    assert MAX_DENSE_CELLS > 10


def test_densest_subset(tiny: pd.DataFrame) -> None:
    sub = densest_subset(tiny, n_users=2, n_items=2)
    assert set(sub["item_id"]) <= {1, 2}
    # Ranked on the whole frame: ann has 3 rows, bob and cat 2 (ties to the lower id).
    assert set(sub["user_id"]) == {"ann", "bob"}
