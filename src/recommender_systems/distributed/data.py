"""Interactions from a Parquet dataset, as row blocks in the Ray object store.

:func:`read_interactions` reads the rows with Ray Data, builds the user and item id
maps by a distributed distinct + sort (only the distinct ids and their counts come
to the driver, never the rows), and partitions the interactions into user blocks
(users x items CSR, one per block) and item blocks (items x users CSR): a map-reduce
in Ray tasks whose outputs stay in the object store. Block boundaries balance the
number of interactions per block.

The ids and the matrix are exactly those of
:meth:`Interactions.from_frame <recommender_systems.interactions.Interactions.from_frame>`
on the same rows: ids sorted, duplicates merged by the same policy.
"""

from __future__ import annotations

import fnmatch
import glob
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import ray
import scipy.sparse as sp

from recommender_systems._validation import check_choice, check_positive_int
from recommender_systems.distributed._session import cluster_cpus, wait_all
from recommender_systems.errors import DataError
from recommender_systems.idmap import IdMap, normalize_ids
from recommender_systems.interactions import (
    ITEM_COL,
    RATING_COL,
    USER_COL,
    DuplicatePolicy,
    Feedback,
    Interactions,
    _build,
    _canonical_csr,
    _finite_numbers,
)

__all__ = [
    "Blocks",
    "DistributedInteractions",
    "balanced_bounds",
    "distinct_ids",
    "parquet_paths",
    "read_interactions",
]

_POLICIES = ("auto", "sum", "mean", "max", "first", "last", "error")


@dataclass(frozen=True)
class Blocks:
    """A sparse matrix as row blocks held in the Ray object store.

    Block ``b`` is a CSR of rows ``bounds[b]:bounds[b + 1]`` (local row numbers,
    global column indices) with ``n_cols`` columns.
    """

    bounds: np.ndarray
    refs: tuple[ray.ObjectRef[Any], ...]
    n_cols: int

    def __len__(self) -> int:
        return len(self.refs)

    @property
    def n_rows(self) -> int:
        return int(self.bounds[-1])

    def ranges(self) -> list[tuple[int, int]]:
        """``(start, stop)`` of each block."""
        return [(int(a), int(b)) for a, b in zip(self.bounds[:-1], self.bounds[1:], strict=True)]

    def gather(self) -> sp.csr_matrix:
        """The whole matrix, here (read-only arrays, as in :class:`Interactions`)."""
        parts = ray.get(list(self.refs))
        return _canonical_csr(sp.vstack(parts, format="csr"))


@dataclass(frozen=True)
class DistributedInteractions:
    """Interactions split into blocks held by Ray: the id maps here, the rows in the
    object store as user blocks (users x items) and item blocks (items x users)."""

    user_ids: IdMap
    item_ids: IdMap
    users: Blocks
    items: Blocks | None
    feedback: Feedback
    nnz: int

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_users, self.n_items)

    def item_blocks(self) -> Blocks:
        """The item blocks (an error if they were not built)."""
        if self.items is None:
            raise DataError("item blocks: read with item_blocks=True to use them")
        return self.items

    def to_interactions(self) -> Interactions:
        """All of it as one :class:`Interactions`, here (for data that fits)."""
        return Interactions(
            self.users.gather(), self.user_ids, self.item_ids, feedback=self.feedback
        )

    def __repr__(self) -> str:
        n_item_blocks = 0 if self.items is None else len(self.items)
        return (
            f"DistributedInteractions({self.n_users} users x {self.n_items} items, "
            f"{self.nnz} interactions, {self.feedback}; {len(self.users)} user blocks, "
            f"{n_item_blocks} item blocks)"
        )


def read_interactions(
    source: str | os.PathLike[str] | Sequence[str],
    *,
    user_col: str = USER_COL,
    item_col: str = ITEM_COL,
    rating_col: str | None = RATING_COL,
    feedback: Feedback | None = None,
    duplicates: DuplicatePolicy = "auto",
    n_blocks: int | None = None,
    item_blocks: bool = True,
    filesystem: Any = None,
    progress: bool = False,
) -> DistributedInteractions:
    """Reads interactions from Parquet (a folder, a glob, a file or a list of them, on
    any filesystem Ray Data reads; ``filesystem`` is a pyarrow filesystem).

    Columns and the duplicate policy are those of
    :meth:`Interactions.from_frame <recommender_systems.interactions.Interactions.from_frame>`
    (without a rating column every row counts 1). ``n_blocks`` (default: twice the
    cluster's CPUs) is the number of user blocks and of item blocks; the item blocks
    are skipped with ``item_blocks=False`` (batch evaluation needs none).
    """
    check_choice(duplicates, "duplicates", _POLICIES)
    n_blocks = 2 * cluster_cpus() if n_blocks is None else check_positive_int(n_blocks, "n_blocks")
    paths = parquet_paths(source, filesystem)
    try:
        dataset = ray.data.read_parquet(paths, filesystem=filesystem)
        names = dataset.schema().names
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise DataError(f"could not read {paths!r} as a Parquet dataset: {exc}") from exc
    for col in (user_col, item_col):
        if col not in names:
            raise DataError(
                f"missing column {col!r}: expected columns {user_col!r}, {item_col!r} "
                f"[, {rating_col!r}]; received {sorted(names)}"
            )
    if rating_col is not None and rating_col not in names:
        if rating_col != RATING_COL:
            raise DataError(f"missing column {rating_col!r}; received columns {sorted(names)}")
        rating_col = None
    if feedback is None:
        feedback = "explicit" if rating_col is not None else "implicit"
    columns = [user_col, item_col] + ([rating_col] if rating_col is not None else [])
    dataset = dataset.select_columns(columns)

    tables = dataset.to_arrow_refs()  # the rows stay in the object store
    user_ids, user_counts = distinct_ids(tables, user_col)
    item_ids, item_counts = distinct_ids(tables, item_col)
    user_map, item_map = IdMap(user_ids, name=user_col), IdMap(item_ids, name=item_col)
    user_bounds = balanced_bounds(user_counts, n_blocks)

    names_ = (user_col, item_col, rating_col)
    ids = (ray.put(user_map.ids), ray.put(item_map.ids))
    pieces = [
        _returns(
            _split_rows.options(num_returns=len(user_bounds) - 1).remote(
                table, *ids, user_bounds, names_
            )
        )
        for table in tables
    ]
    item_map_ref = ray.put(item_map)
    user_refs = tuple(
        _user_block.remote(
            start,
            stop,
            ids[0],
            item_map_ref,
            user_col,
            feedback,
            duplicates,
            *(part[b] for part in pieces),
        )
        for b, (start, stop) in enumerate(itertools.pairwise(user_bounds))
    )
    users = Blocks(user_bounds, user_refs, len(item_map))
    wait_all(user_refs, "user blocks", progress)
    nnz = int(sum(ray.get([_nnz.remote(ref) for ref in user_refs])))
    items = _transpose(users, balanced_bounds(item_counts, n_blocks), len(user_map), progress)
    return DistributedInteractions(
        user_map, item_map, users, items if item_blocks else None, feedback, nnz
    )


def parquet_paths(source: str | os.PathLike[str] | Sequence[str], filesystem: Any = None) -> Any:
    """``source`` as Ray Data's ``read_parquet`` takes it, with a glob in the file
    name (``folder/part-*.parquet``, on any pyarrow filesystem) expanded, sorted."""
    if not isinstance(source, str | os.PathLike):
        return [os.fspath(s) for s in source]
    text = os.fspath(source)
    if not any(c in text.rpartition("/")[2] for c in "*?["):
        return text
    if filesystem is None and "://" not in text:
        local = sorted(glob.glob(text))
        if not local:
            raise DataError(f"expected Parquet files matching {text!r}, found none")
        return local
    fs, path = (filesystem, text) if filesystem is not None else pafs.FileSystem.from_uri(text)
    folder, _, pattern = path.rpartition("/")
    try:
        found = fs.get_file_info(pafs.FileSelector(folder or "."))
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"could not list {folder!r} for {text!r}: {exc}") from exc
    names = sorted(i.path for i in found if i.is_file and fnmatch.fnmatch(i.base_name, pattern))
    if not names:
        raise DataError(f"expected Parquet files matching {text!r}, found none")
    prefix = text[: len(text) - len(path)]  # the scheme ("s3://"), kept for Ray Data
    return [prefix + name if filesystem is None else name for name in names]


def balanced_bounds(counts: np.ndarray, n_blocks: int) -> np.ndarray:
    """Block boundaries over rows with ``counts`` entries each: at most ``n_blocks``
    contiguous, non-empty blocks with about the same number of entries.

    Example:
        >>> balanced_bounds(np.array([5, 1, 1, 1, 1, 1]), 2).tolist()
        [0, 1, 6]
    """
    n = int(counts.size)
    cumulative = np.cumsum(counts, dtype=np.float64)
    targets = cumulative[-1] * np.arange(1, n_blocks) / n_blocks
    cuts = np.searchsorted(cumulative, targets, side="left") + 1
    return np.unique(np.concatenate([[0], np.clip(cuts, 0, n), [n]])).astype(np.int64)


def distinct_ids(tables: list[ray.ObjectRef[Any]], col: str) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of ``col`` (validated as ids, sorted as ``IdMap.encode``
    sorts them) and how many rows hold each: distinct values per input block, then
    a tree of sorted merges, all in Ray tasks; only the result comes here."""
    parts = [_distinct.remote(table, col) for table in tables]
    while len(parts) > 1:
        parts = [
            _merge_distinct.remote(*parts[i : i + _FAN_IN]) for i in range(0, len(parts), _FAN_IN)
        ]
    if not parts:
        raise DataError("expected at least one interaction, received an empty dataset")
    ids, counts = ray.get(parts[0])
    if ids.size == 0:
        raise DataError("expected at least one interaction, received an empty dataset")
    return ids, counts


#: How many partial results one merge task combines.
_FAN_IN = 8


@ray.remote
def _distinct(table: pa.Table, col: str) -> tuple[np.ndarray, np.ndarray]:
    """One input block's distinct ids (sorted) and their row counts."""
    if table.num_rows == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    ids = normalize_ids(table.column(col).to_numpy(zero_copy_only=False), col)
    values, counts = np.unique(ids, return_counts=True)
    return values, counts.astype(np.int64)


@ray.remote
def _merge_distinct(*parts: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct ids and summed counts of several partial results."""
    kept = [p for p in parts if p[0].size] or [parts[0]]
    kinds = {p[0].dtype.kind for p in kept}
    if len(kinds) > 1:
        raise DataError(
            "ids: expected one type in every file (all integers or all strings), received both"
        )
    values, inverse = np.unique(np.concatenate([p[0] for p in kept]), return_inverse=True)
    counts = np.bincount(inverse, weights=np.concatenate([p[1] for p in kept]))
    return values, counts.astype(np.int64)


def _returns(refs: Any) -> list[Any]:
    """A task's object refs as a list (Ray returns a bare ref for ``num_returns=1``)."""
    return refs if isinstance(refs, list) else [refs]


@ray.remote
def _split_rows(
    table: pa.Table,
    user_ids: np.ndarray,
    item_ids: np.ndarray,
    user_bounds: np.ndarray,
    names: tuple[str, str, str | None],
) -> Any:
    """One input block's rows as (local user, item, value) triples, per user block."""
    user_col, item_col, rating_col = names
    users = _encode(table, user_col, user_ids)
    items = _encode(table, item_col, item_ids)
    if rating_col is None:
        values = np.ones(table.num_rows, dtype=np.float32)
    else:
        values = _finite_numbers(
            table.column(rating_col).to_numpy(zero_copy_only=False), rating_col
        )
    block = np.searchsorted(user_bounds, users, side="right") - 1
    order = np.argsort(block, kind="stable")  # keeps the rows' order within a block
    cuts = np.searchsorted(block[order], np.arange(1, len(user_bounds) - 1))
    parts = [
        (users[rows] - user_bounds[b], items[rows], values[rows])
        for b, rows in enumerate(np.split(order, cuts))
    ]
    return parts if len(parts) > 1 else parts[0]


def _encode(table: pa.Table, col: str, sorted_ids: np.ndarray) -> np.ndarray:
    values = normalize_ids(table.column(col).to_numpy(zero_copy_only=False), col)
    return np.searchsorted(sorted_ids, values).astype(np.int64)


@ray.remote
def _user_block(
    start: int,
    stop: int,
    user_ids: np.ndarray,
    item_map: IdMap,
    user_col: str,
    feedback: Feedback,
    duplicates: DuplicatePolicy,
    *parts: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> sp.csr_matrix:
    """The CSR of users ``start:stop``, duplicates merged as ``Interactions`` merges them."""
    users, items, values = (np.concatenate([p[i] for p in parts]) for i in range(3))
    block_users = IdMap(user_ids[start:stop], name=user_col)
    built = _build(
        users, items, values, None, block_users, item_map, feedback=feedback, duplicates=duplicates
    )
    return built.matrix


@ray.remote
def _nnz(block: sp.csr_matrix) -> int:
    return int(block.nnz)


def _transpose(users: Blocks, item_bounds: np.ndarray, n_users: int, progress: bool) -> Blocks:
    """Item blocks (items x users) from user blocks, by a second map-reduce."""
    n_item_blocks = len(item_bounds) - 1
    pieces = [
        _returns(_split_columns.options(num_returns=n_item_blocks).remote(ref, start, item_bounds))
        for ref, (start, _) in zip(users.refs, users.ranges(), strict=True)
    ]
    refs = tuple(
        _item_block.remote(int(stop - start), n_users, *(part[b] for part in pieces))
        for b, (start, stop) in enumerate(itertools.pairwise(item_bounds))
    )
    wait_all(refs, "item blocks", progress)
    return Blocks(item_bounds, refs, n_users)


@ray.remote
def _split_columns(block: sp.csr_matrix, user_start: int, item_bounds: np.ndarray) -> Any:
    """One user block's entries as (local item, user, value) triples, per item block."""
    items = block.indices.astype(np.int64)
    users = np.repeat(np.arange(block.shape[0], dtype=np.int64), np.diff(block.indptr)) + user_start
    values = block.data
    which = np.searchsorted(item_bounds, items, side="right") - 1
    order = np.argsort(which, kind="stable")  # users stay sorted within an item block
    cuts = np.searchsorted(which[order], np.arange(1, len(item_bounds) - 1))
    parts = [
        (items[rows] - item_bounds[b], users[rows], values[rows])
        for b, rows in enumerate(np.split(order, cuts))
    ]
    return parts if len(parts) > 1 else parts[0]


@ray.remote
def _item_block(
    n_rows: int, n_users: int, *parts: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> sp.csr_matrix:
    items, users, values = (np.concatenate([p[i] for p in parts]) for i in range(3))
    matrix = sp.csr_matrix((values, (items, users)), shape=(n_rows, n_users), dtype=np.float32)
    return _canonical_csr(matrix)
