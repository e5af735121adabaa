"""Helpers kept from the original library, on DataFrames with ``user_id``,
``item_id`` and ``rating`` columns. New code can use :class:`Interactions` and
:mod:`recommender_systems.split` directly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender_systems import split as _split
from recommender_systems._validation import check_float, check_positive_int
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
    user_col: str = USER_COL,
) -> tuple[_split.D, _split.D]:
    """For each user (``user_col``), a share (float) or count (int) of their ratings
    goes to test, keeping at least ``min_train`` in train."""
    return _split.holdout_per_user(
        df, test_size, random_state=random_state, min_train=min_train, user_col=user_col
    )


def build_user_item_matrix(
    df: pd.DataFrame,
    user_col: str = USER_COL,
    item_col: str = ITEM_COL,
    rating_col: str = RATING_COL,
    fill_value: float | None = None,
) -> pd.DataFrame:
    """A dense users x items DataFrame of ratings (duplicates averaged), with
    ``fill_value`` where a user has not rated an item (``None``: NaN, as a pandas
    pivot gives; pass ``0`` for a zero-filled matrix).

    Example:
        >>> df = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [7, 8, 7],
        ...                    "rating": [5, 3, 4]})
        >>> build_user_item_matrix(df).to_numpy().tolist()
        [[5.0, 3.0], [4.0, nan]]

    Only for small data: a pivot above :data:`MAX_DENSE_CELLS` cells raises
    :class:`~recommender_systems.errors.InsufficientMemoryError`; use
    :func:`build_sparse_user_item_matrix` instead.
    """
    fill = np.nan if fill_value is None else check_float(fill_value, "fill_value")
    data = Interactions.from_frame(df, user_col=user_col, item_col=item_col, rating_col=rating_col)
    cells = data.n_users * data.n_items
    if cells > MAX_DENSE_CELLS:
        raise InsufficientMemoryError(
            f"a dense {data.n_users} x {data.n_items} matrix ({cells * 4 / 2**30:.1f} GiB) is "
            f"over the limit of {MAX_DENSE_CELLS} cells; use build_sparse_user_item_matrix"
        )
    # Every rated cell is stored, a rating of 0 included: the rest is fill.
    dense = np.full((data.n_users, data.n_items), fill, dtype=np.float32)
    matrix = data.matrix
    dense[np.repeat(np.arange(data.n_users), np.diff(matrix.indptr)), matrix.indices] = matrix.data
    return pd.DataFrame(
        dense,
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
    n_users: int = 1000,
    n_items: int = 1000,
    user_col: str = USER_COL,
    item_col: str = ITEM_COL,
) -> pd.DataFrame:
    """The rows between the ``n_users`` most active users and the ``n_items`` most
    rated items, both ranked on the whole frame in one pass (ties to lower ids): a
    small, dense block for experiments.

    Example:
        >>> df = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 3], "item_id": [7, 8, 9, 7, 8, 9]})
        >>> densest_subset(df, n_users=2, n_items=2)[["user_id", "item_id"]].values.tolist()
        [[1, 7], [1, 8], [2, 7], [2, 8]]
    """
    n_users = check_positive_int(n_users, "n_users")
    n_items = check_positive_int(n_items, "n_items")
    for col in (user_col, item_col):
        if col not in df.columns:
            raise DataError(f"missing column {col!r}; received columns {list(df.columns)}")
    top_users = _top_by_count(df[user_col].value_counts(), n_users)
    top_items = _top_by_count(df[item_col].value_counts(), n_items)
    return df[df[user_col].isin(top_users) & df[item_col].isin(top_items)]


def _top_by_count(counts: pd.Series, n: int) -> pd.Index:
    frame = counts.rename("count").rename_axis("id").reset_index()
    frame = frame.sort_values(["count", "id"], ascending=[False, True], kind="stable")
    return pd.Index(frame["id"].head(n))
