"""Train/test splitters. Each takes a DataFrame or :class:`Interactions` and returns
the same kind, seeded and reproducible.

=================  =========================================================
protocol           what goes to test
=================  =========================================================
``random``         a random ``test_size`` share of all rows (the original)
``user-holdout``   a random ``test_size`` share (or count) of each user's rows
``leave-last-out`` each user's ``n`` latest rows by timestamp
``temporal``       every row at or after a global time cut
``kfold``          fold ``fold`` of ``n_splits`` random folds (:func:`kfold`
                   yields them all)
=================  =========================================================

Every splitter takes the tables ``fit`` takes (pandas or polars DataFrames, Arrow
tables, dicts of columns, :class:`Interactions`) and returns two of the same kind.
DataFrames keep their original index; :class:`Interactions` parts keep only the
users and items they contain.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender_systems._deprecation import renamed_keywords
from recommender_systems._validation import (
    check_fraction,
    check_non_negative_int,
    check_positive_int,
    check_random_state,
)
from recommender_systems.errors import DataError, ParameterError
from recommender_systems.interactions import TIMESTAMP_COL, USER_COL, Interactions, _columns

#: The seed of the original evaluation protocol.
DEFAULT_SEED = 20260527

#: The kind of table being split: the parts come back as the same kind.
D = TypeVar("D")


# ------------------------------------------------------------------ row access
# A split takes every table ``fit`` takes and returns parts of the same kind:
# pandas or polars DataFrames, Arrow tables, dicts of columns, Interactions.


def _prepare(data: D) -> D:
    """``data`` itself, after checking it is a table with at least one row."""
    if isinstance(data, str | os.PathLike) or sp.issparse(data):
        raise DataError(
            f"expected a table of interactions, received {type(data).__name__}; read a file "
            "with Interactions.from_file(path) and a matrix with Interactions.from_sparse(m) "
            "first"
        )
    if not isinstance(data, pd.DataFrame | Interactions):
        _columns(data)  # a polars DataFrame, an Arrow table or a dict, else a DataError
    if _n_rows(data) == 0:
        raise DataError("expected at least one interaction, received none")
    return data


def _n_rows(data: Any) -> int:
    if isinstance(data, Interactions):
        return data.nnz
    if isinstance(data, pd.DataFrame):
        return len(data)
    columns = _columns(data)
    return len(next(iter(columns.values()))) if columns else 0


def _column(data: Any, name: str, purpose: str) -> np.ndarray:
    columns = {str(c): c for c in data.columns} if isinstance(data, pd.DataFrame) else None
    if columns is not None:
        if name not in columns:
            raise DataError(
                f"missing column {name!r}{purpose}; received columns {list(data.columns)}"
            )
        return np.asarray(data[columns[name]].to_numpy())
    values = _columns(data)
    if name not in values:
        raise DataError(f"missing column {name!r}{purpose}; received columns {list(values)}")
    return np.asarray(values[name])


def _user_indices(data: Any, user_col: str) -> np.ndarray:
    if isinstance(data, Interactions):
        return data.user_indices()
    indices, _ = pd.factorize(_column(data, user_col, ""))
    return np.asarray(indices, dtype=np.int64)


def _times(data: Any, timestamp_col: str) -> np.ndarray:
    if isinstance(data, Interactions):
        if data.timestamps is None:
            raise DataError("this split needs timestamps; the interactions have none")
        return np.asarray(data.timestamps)
    values = _column(data, timestamp_col, " (this split needs timestamps)")
    if values.dtype.kind == "M":
        return values.astype("datetime64[ns]").astype(np.int64)
    return values.astype(np.float64)


def _apply(data: D, test_mask: np.ndarray) -> tuple[D, D]:
    """(train, test): the rows outside and inside ``test_mask``, of ``data``'s kind."""
    parts: Any
    if isinstance(data, Interactions):
        if test_mask.all() or not test_mask.any():
            raise DataError("this split leaves the train or the test part empty")
        parts = data.select(~test_mask), data.select(test_mask)
    elif isinstance(data, pd.DataFrame):
        parts = data[~test_mask], data[test_mask]
    elif isinstance(data, Mapping):
        parts = tuple(
            {k: np.asarray(v)[m] for k, v in data.items()} for m in (~test_mask, test_mask)
        )
    elif type(data).__module__.split(".")[0] == "pyarrow":
        import pyarrow as pa

        table: Any = data
        parts = table.filter(pa.array(~test_mask)), table.filter(pa.array(test_mask))
    else:  # polars
        frame: Any = data
        parts = frame.filter(~test_mask), frame.filter(test_mask)
    return cast("tuple[D, D]", parts)


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
    data = _prepare(data)
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
    data = _prepare(data)
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
    data = _prepare(data)
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
    data = _prepare(data)
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
    data = _prepare(data)
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


def kfold_split(
    data: D,
    n_splits: int = 5,
    *,
    fold: int = 0,
    random_state: int | None = DEFAULT_SEED,
) -> tuple[D, D]:
    """Fold ``fold`` (0-based) of :func:`kfold`: its (train, test) pair."""
    fold = check_non_negative_int(fold, "fold")
    n_splits = check_positive_int(n_splits, "n_splits")
    if fold >= n_splits:
        raise ParameterError(f"fold: expected an integer in [0, {n_splits - 1}], received {fold}")
    for i, parts in enumerate(kfold(data, n_splits, random_state=random_state)):
        if i == fold:
            return parts
    raise AssertionError("unreachable: kfold yields n_splits folds")


#: Protocols by name; ``kfold`` gives one fold (``fold=``, ``n_splits=``).
PROTOCOLS: dict[str, Splitter] = {
    "random": random_split,
    "user-holdout": holdout_per_user,
    "leave-last-out": leave_last_out,
    "temporal": temporal_split,
    "kfold": kfold_split,
}


def split(data: D, protocol: str = "random", **kwargs: Any) -> tuple[D, D]:
    """Splits by protocol name (see the module docs); ``kwargs`` go to the splitter.

    Example:
        >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2], "item_id": [1, 2, 1, 2],
        ...                    "timestamp": [1, 2, 3, 4]})
        >>> train, test = split(df, "leave-last-out")
        >>> test["item_id"].tolist()
        [2, 2]
        >>> train, test = split(df, "kfold", n_splits=2, fold=1)
        >>> len(train), len(test)
        (2, 2)
    """
    if protocol not in PROTOCOLS:
        raise ParameterError(
            f"protocol: expected one of {', '.join(PROTOCOLS)}; received {protocol!r}"
        )
    parts: tuple[D, D] = PROTOCOLS[protocol](data, **kwargs)
    return parts


__all__ = [
    "DEFAULT_SEED",
    "PROTOCOLS",
    "holdout_per_user",
    "kfold",
    "kfold_split",
    "leave_last_out",
    "random_split",
    "split",
    "temporal_split",
]
