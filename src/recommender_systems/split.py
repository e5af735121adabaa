"""Train/test splitters. Each takes a DataFrame or :class:`Interactions` and returns
the same kind, seeded and reproducible.

=================  =========================================================
protocol           what goes to test
=================  =========================================================
``random``         a random ``test_size`` share of all rows (the original)
``user-holdout``   a random ``test_size`` share (or count) of each user's rows
``leave-last-out`` each user's ``n`` latest rows by timestamp
``temporal``       every row at or after a global time cut
``kfold``          fold ``i`` of ``n_splits`` random folds (:func:`kfold`)
=================  =========================================================

DataFrames keep their original index; :class:`Interactions` parts keep only the
users and items they contain.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, overload

import numpy as np
import pandas as pd

from recommender_systems._deprecation import renamed_keywords
from recommender_systems._validation import (
    check_fraction,
    check_non_negative_int,
    check_positive_int,
    check_random_state,
)
from recommender_systems.errors import DataError, ParameterError
from recommender_systems.interactions import TIMESTAMP_COL, USER_COL, Interactions

#: The seed of the original evaluation protocol.
DEFAULT_SEED = 20260527

D = TypeVar("D", pd.DataFrame, Interactions)


# ------------------------------------------------------------------ row access
def _n_rows(data: pd.DataFrame | Interactions) -> int:
    return data.nnz if isinstance(data, Interactions) else len(data)


def _user_indices(data: pd.DataFrame | Interactions, user_col: str) -> np.ndarray:
    if isinstance(data, Interactions):
        return data.user_indices()
    if user_col not in data.columns:
        raise DataError(f"missing column {user_col!r}; received columns {list(data.columns)}")
    indices, _ = pd.factorize(data[user_col])
    return np.asarray(indices, dtype=np.int64)


def _times(data: pd.DataFrame | Interactions, timestamp_col: str) -> np.ndarray:
    if isinstance(data, Interactions):
        if data.timestamps is None:
            raise DataError("this split needs timestamps; the interactions have none")
        return np.asarray(data.timestamps)
    if timestamp_col not in data.columns:
        raise DataError(
            f"this split needs a {timestamp_col!r} column; received columns {list(data.columns)}"
        )
    values = data[timestamp_col].to_numpy()
    if values.dtype.kind == "M":
        return values.astype("datetime64[ns]").astype(np.int64)
    return values.astype(np.float64)


@overload
def _apply(data: pd.DataFrame, test_mask: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]: ...
@overload
def _apply(data: Interactions, test_mask: np.ndarray) -> tuple[Interactions, Interactions]: ...
def _apply(data: Any, test_mask: np.ndarray) -> tuple[Any, Any]:
    if isinstance(data, Interactions):
        if test_mask.all() or not test_mask.any():
            raise DataError("this split leaves the train or the test part empty")
        return data.select(~test_mask), data.select(test_mask)
    return data[~test_mask], data[test_mask]


def _check_data(data: Any) -> None:
    if not isinstance(data, pd.DataFrame | Interactions):
        raise DataError(
            f"expected a pandas DataFrame or Interactions, received {type(data).__name__}"
        )
    if _n_rows(data) == 0:
        raise DataError("expected at least one interaction, received none")


def _rank_within_user(users: np.ndarray, primary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0-based rank of each row within its user by ``primary`` (ascending), and the
    user's row count, aligned with the rows."""
    order = np.lexsort((primary, users))
    sorted_users = users[order]
    starts = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1]])
    counts = np.diff(np.r_[starts, users.size])
    rank_sorted = np.arange(users.size) - np.repeat(starts, counts)
    rank = np.empty_like(rank_sorted)
    rank[order] = rank_sorted
    user_count = np.empty_like(rank_sorted)
    user_count[order] = np.repeat(counts, counts)
    return rank, user_count


# ------------------------------------------------------------------- splitters
@renamed_keywords(seed="random_state")
def random_split(
    data: D, test_size: float = 0.2, *, random_state: int | None = DEFAULT_SEED
) -> tuple[D, D]:
    """A random ``test_size`` share of the rows goes to test (the original protocol).

    Example:
        >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [1, 2, 1, 3, 2]})
        >>> train, test = random_split(df, 0.4, random_state=0)
        >>> len(train), len(test)
        (3, 2)
    """
    _check_data(data)
    test_size = check_fraction(test_size, "test_size")
    n = _n_rows(data)
    n_test = min(n - 1, max(1, math.ceil(test_size * n))) if n > 1 else 0
    perm = check_random_state(random_state).permutation(n)
    mask = np.zeros(n, dtype=bool)
    mask[perm[:n_test]] = True
    return _apply(data, mask)


@renamed_keywords(seed="random_state")
def holdout_per_user(
    data: D,
    test_size: float | int = 0.2,
    *,
    random_state: int | None = DEFAULT_SEED,
    min_train: int = 1,
    user_col: str = USER_COL,
) -> tuple[D, D]:
    """For each user, a random ``test_size`` share (a float in (0, 1)) or count (an
    int >= 1) of their rows goes to test, keeping at least ``min_train`` in train."""
    _check_data(data)
    min_train = check_non_negative_int(min_train, "min_train")
    users = _user_indices(data, user_col)
    rng = check_random_state(random_state)
    rank, counts = _rank_within_user(users, rng.random(users.size))
    if isinstance(test_size, float):
        wanted = np.round(check_fraction(test_size, "test_size") * counts).astype(np.int64)
    else:
        wanted = np.full(users.size, check_positive_int(test_size, "test_size"), dtype=np.int64)
    n_test = np.clip(wanted, 0, np.maximum(counts - min_train, 0))
    return _apply(data, rank < n_test)


def leave_last_out(
    data: D,
    n: int = 1,
    *,
    min_train: int = 1,
    user_col: str = USER_COL,
    timestamp_col: str = TIMESTAMP_COL,
) -> tuple[D, D]:
    """Each user's ``n`` latest rows by timestamp go to test (ties: later rows first),
    keeping at least ``min_train`` rows in train."""
    _check_data(data)
    n = check_positive_int(n, "n")
    min_train = check_non_negative_int(min_train, "min_train")
    users = _user_indices(data, user_col)
    times = _times(data, timestamp_col)
    # Latest first: rank by descending time, then descending row position.
    position = np.arange(users.size, dtype=np.float64)
    order_key = np.lexsort((-position, -times))
    primary = np.empty(users.size, dtype=np.int64)
    primary[order_key] = np.arange(users.size)
    rank, counts = _rank_within_user(users, primary)
    return _apply(data, rank < np.clip(n, 0, np.maximum(counts - min_train, 0)))


def temporal_split(
    data: D,
    test_size: float | None = 0.2,
    *,
    cutoff: float | None = None,
    timestamp_col: str = TIMESTAMP_COL,
) -> tuple[D, D]:
    """Rows at or after a global time cut go to test. The cut is ``cutoff`` when
    given, else the time that leaves about ``test_size`` of the rows after it."""
    _check_data(data)
    times = _times(data, timestamp_col)
    if cutoff is None:
        if test_size is None:
            raise ParameterError("test_size, cutoff: expected one of them, received neither")
        cut = float(np.quantile(times, 1.0 - check_fraction(test_size, "test_size")))
    else:
        cut = float(cutoff)
    return _apply(data, times >= cut)


@renamed_keywords(seed="random_state")
def kfold(
    data: D, n_splits: int = 5, *, random_state: int | None = DEFAULT_SEED
) -> Iterator[tuple[D, D]]:
    """``n_splits`` (train, test) pairs; each row is in exactly one test fold."""
    _check_data(data)
    n_splits = check_positive_int(n_splits, "n_splits")
    if n_splits < 2 or n_splits > _n_rows(data):
        raise ParameterError(
            f"n_splits: expected an integer in [2, {_n_rows(data)}], received {n_splits}"
        )
    fold = np.empty(_n_rows(data), dtype=np.int64)
    order = check_random_state(random_state).permutation(fold.size)
    fold[order] = np.arange(fold.size) % n_splits
    for i in range(n_splits):
        yield _apply(data, fold == i)


Splitter = Callable[..., tuple[Any, Any]]

#: Single-split protocols by name (``kfold`` yields several: call it directly).
PROTOCOLS: dict[str, Splitter] = {
    "random": random_split,
    "user-holdout": holdout_per_user,
    "leave-last-out": leave_last_out,
    "temporal": temporal_split,
}


@overload
def split(
    data: pd.DataFrame, protocol: str = ..., **kwargs: Any
) -> tuple[pd.DataFrame, pd.DataFrame]: ...
@overload
def split(
    data: Interactions, protocol: str = ..., **kwargs: Any
) -> tuple[Interactions, Interactions]: ...
def split(data: Any, protocol: str = "random", **kwargs: Any) -> tuple[Any, Any]:
    """Splits by protocol name (see the module docs).

    Example:
        >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2], "item_id": [1, 2, 1, 2],
        ...                    "timestamp": [1, 2, 3, 4]})
        >>> train, test = split(df, "leave-last-out")
        >>> test["item_id"].tolist()
        [2, 2]
    """
    if protocol not in PROTOCOLS:
        known = ", ".join([*PROTOCOLS, "kfold (call kfold())"])
        raise ParameterError(f"protocol: expected one of {known}; received {protocol!r}")
    return PROTOCOLS[protocol](data, **kwargs)


__all__ = [
    "DEFAULT_SEED",
    "PROTOCOLS",
    "holdout_per_user",
    "kfold",
    "leave_last_out",
    "random_split",
    "split",
    "temporal_split",
]
