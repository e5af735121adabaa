"""Helpers kept from the original library, on DataFrames with ``user_id``,
``item_id`` and ``rating`` columns. New code can use :class:`Interactions` and
:mod:`recommender_systems.split` directly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender_systems import split as _split
from recommender_systems._validation import check_positive_int
from recommender_systems.errors import DataError, InsufficientMemoryError
from recommender_systems.interactions import ITEM_COL, RATING_COL, USER_COL, Interactions

#: A dense pivot larger than this many cells is refused (it would not fit in memory).
MAX_DENSE_CELLS = 200_000_000


def split_ratings(
    df: _split.D, test_size: float = 0.2, random_state: int | None = _split.DEFAULT_SEED
) -> tuple[_split.D, _split.D]:
    """Random split of the rating rows into (train, test): the original protocol.
    Takes the tables ``fit`` takes and returns two of the same kind.

    Example:
        >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [1, 2, 1, 3, 2],
        ...                    "rating": [5, 3, 4, 2, 1]})
        >>> train, test = split_ratings(df, test_size=0.2, random_state=1)
        >>> len(train), len(test)
        (4, 1)
    """
    return _split.random_split(df, test_size, random_state=random_state)


def holdout_per_user(
    df: _split.D,
    test_size: float | int = 0.2,
    random_state: int | None = _split.DEFAULT_SEED,
    min_train: int = 1,
) -> tuple[_split.D, _split.D]:
    """For each user, a share (float) or count (int) of their ratings goes to test."""
    return _split.holdout_per_user(df, test_size, random_state=random_state, min_train=min_train)


def build_user_item_matrix(
    df: pd.DataFrame,
    user_col: str = USER_COL,
    item_col: str = ITEM_COL,
    rating_col: str = RATING_COL,
) -> pd.DataFrame:
    """A dense users x items DataFrame (0 where there is no rating; duplicates averaged).

    Only for small data: a pivot above :data:`MAX_DENSE_CELLS` cells raises
    :class:`~recommender_systems.errors.InsufficientMemoryError`; use
    :func:`build_sparse_user_item_matrix` instead.
    """
    data = Interactions.from_frame(df, user_col=user_col, item_col=item_col, rating_col=rating_col)
    cells = data.n_users * data.n_items
    if cells > MAX_DENSE_CELLS:
        raise InsufficientMemoryError(
            f"a dense {data.n_users} x {data.n_items} matrix ({cells * 4 / 2**30:.1f} GiB) is "
            f"over the limit of {MAX_DENSE_CELLS} cells; use build_sparse_user_item_matrix"
        )
    return pd.DataFrame(
        data.matrix.toarray(),
        index=pd.Index(data.user_ids.ids, name=user_col),
        columns=pd.Index(data.item_ids.ids, name=item_col),
    )


def build_sparse_user_item_matrix(
    df: pd.DataFrame,
    user_col: str = USER_COL,
    item_col: str = ITEM_COL,
    rating_col: str | None = RATING_COL,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """``(matrix, user_ids, item_ids)``: a users x items float32 CSR matrix and the
    external ids of its rows and columns."""
    data = Interactions.from_frame(df, user_col=user_col, item_col=item_col, rating_col=rating_col)
    return data.matrix, data.user_ids.ids, data.item_ids.ids


def densest_subset(
    df: pd.DataFrame,
    n_users: int = 100,
    n_items: int = 100,
    user_col: str = USER_COL,
    item_col: str = ITEM_COL,
) -> pd.DataFrame:
    """The rows of the ``n_items`` most-rated items and, among them, the ``n_users``
    most active users: a small, dense block for experiments (ties to lower ids)."""
    n_users = check_positive_int(n_users, "n_users")
    n_items = check_positive_int(n_items, "n_items")
    for col in (user_col, item_col):
        if col not in df.columns:
            raise DataError(f"missing column {col!r}; received columns {list(df.columns)}")
    item_counts = df[item_col].value_counts()
    top_items = _top_by_count(item_counts, n_items)
    within = df[df[item_col].isin(top_items)]
    top_users = _top_by_count(within[user_col].value_counts(), n_users)
    return within[within[user_col].isin(top_users)]


def _top_by_count(counts: pd.Series, n: int) -> pd.Index:
    frame = counts.rename("count").rename_axis("id").reset_index()
    frame = frame.sort_values(["count", "id"], ascending=[False, True], kind="stable")
    return pd.Index(frame["id"].head(n))
