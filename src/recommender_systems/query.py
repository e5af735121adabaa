"""Request shaping for the query methods: ids to indices, filters, seen items,
unknown users, batching in bounded memory, and the default candidate step.

Nothing here knows a model class: :class:`~recommender_systems.base.Recommender`
calls these functions with its id maps and hooks, and so can any other code that
serves a model's scores (an ANN index, a distributed batch job).

The documented behaviours, the same for every model:

- **Unknown user**: what a user unseen in training gets is an :data:`UnknownUsers`
  policy: ``"empty"`` (no recommendations), ``"popular"`` (the model's
  non-personalised ranking, with its own scores: for most models the share of
  training users who have the item) or ``"raise"``
  (:class:`~recommender_systems.errors.UnknownUserError`). The one rule, the
  same in Python, on the command line and in the server: each model has a
  default (``Recommender.unknown_users``: ``"empty"`` for personalised models,
  ``"popular"`` for the baselines), which a call (``unknown=``), a command
  (``--unknown-users``) or a server (``recsys serve --unknown-users``) may
  override.
- **n**: an integer ``>= 1`` (else :class:`~recommender_systems.errors.ParameterError`);
  asking for more than can be recommended returns what there is.
- **items=**: restricts candidates; an unknown id raises
  :class:`~recommender_systems.errors.UnknownItemError`.
- **exclude=**: removes candidates; unknown ids are ignored (nothing to remove).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from recommender_systems.errors import DataError, UnknownItemError, UnknownUserError
from recommender_systems.idmap import IdMap, id_array
from recommender_systems.interactions import check_values
from recommender_systems.kernels import topk

__all__ = [
    "SCORE_BLOCK_ELEMENTS",
    "UNKNOWN_USERS",
    "CandidateStep",
    "Purpose",
    "TopN",
    "UnknownUsers",
    "allowed_items",
    "as_id_array",
    "dense_top_candidates",
    "history_matrix",
    "item_indices",
    "one_id",
    "rank",
    "select_rows",
    "shared_top_candidates",
]

#: What a user unseen in training gets (see the module docs).
UnknownUsers = Literal["empty", "popular", "raise"]
UNKNOWN_USERS: tuple[UnknownUsers, ...] = ("empty", "popular", "raise")

#: Scores computed at once are capped at this many floats (64 MiB), so batch
#: recommendation for any number of users runs in bounded memory.
SCORE_BLOCK_ELEMENTS = 1 << 24

#: Top-n internal item indices (int64, -1 padding) and their scores (float32, NaN padding).
TopN = tuple[np.ndarray, np.ndarray]

#: A candidate step: ``step(rows, n, seen, allowed) -> TopN`` (see
#: ``Recommender._top_candidates``); exact, or through an approximate index.
CandidateStep = Callable[[np.ndarray, int, "sp.csr_matrix | None", "np.ndarray | None"], TopN]

#: What a candidate step ranks: items for users, or items similar to items.
Purpose = Literal["recommend", "similar_items"]


def one_id(value: Any) -> np.ndarray:
    """A single id as the 1-element array the batch functions take."""
    arr = np.empty(1, dtype=object)
    arr[0] = value
    return as_id_array(arr)


def as_id_array(values: Iterable[Any] | npt.ArrayLike) -> np.ndarray:
    """A 1-D array of ids, each keeping its own type: ``[9, 1, "x"]`` stays a mix
    (which :meth:`IdMap.keys` refuses), it never becomes three strings. Anything
    that is not a list of ids raises :class:`~recommender_systems.errors.DataError`."""
    return id_array(values)


def item_indices(item_ids: IdMap, items: Iterable[Any]) -> np.ndarray:
    """Internal indices of ``items``; every id must be known to the model."""
    values = item_ids.keys(as_id_array(items), name="item_id")
    indices = item_ids.to_index(values, missing="ignore")
    if (indices < 0).any():
        unknown = values[indices < 0]
        shown = ", ".join(item_ids.describe_id(v) for v in unknown[:5].tolist())
        raise UnknownItemError(f"{unknown.size} item id(s) unknown to the model: {shown}")
    return indices


def allowed_items(
    item_ids: IdMap, items: Iterable[Any] | None, exclude: Iterable[Any] | None
) -> np.ndarray | None:
    """A boolean mask of the candidate items after ``items=`` and ``exclude=``, or
    ``None`` when every item is a candidate."""
    if items is None and exclude is None:
        return None
    allowed = np.ones(len(item_ids), dtype=bool)
    if items is not None:
        allowed[:] = False
        allowed[item_indices(item_ids, items)] = True
    if exclude is not None:
        indices = item_ids.to_index(as_id_array(exclude), missing="ignore", name="item_id")
        allowed[indices[indices >= 0]] = False
    return allowed


def history_matrix(
    item_ids: IdMap, history: Iterable[Any], weights: Iterable[float] | None
) -> sp.csr_matrix:
    """One new user's history as a ``1 x n_items`` CSR row (unknown items dropped)."""
    values = item_ids.keys(as_id_array(history), name="item_id")
    indices = item_ids.to_index(values, missing="ignore")
    w = np.ones(indices.size, dtype=np.float32)
    if weights is not None:
        w = check_values(list(weights), "weights", where="position")
        if w.shape != indices.shape:
            raise DataError(
                f"weights: expected one weight per history item ({indices.size}), received {w.size}"
            )
    known = indices >= 0
    if not known.any():
        raise DataError(
            "history: expected at least one item known to the model, received "
            f"{values.size} item(s), none known"
        )
    matrix = sp.csr_matrix(
        (w[known], (np.zeros(int(known.sum()), dtype=np.int64), indices[known])),
        shape=(1, len(item_ids)),
        dtype=np.float32,
    )
    matrix.sum_duplicates()
    return matrix


def histories_matrix(rows: list[sp.csr_matrix], n_items: int) -> sp.csr_matrix:
    """Stacks one-row history matrices (any number, including none)."""
    if len(rows) == 1:
        return rows[0]
    if rows:
        return sp.csr_matrix(sp.vstack(rows, format="csr", dtype=np.float32))
    return sp.csr_matrix(np.zeros((0, n_items), dtype=np.float32))


def unknown_user_error(user_ids: IdMap, user: Any, count: int) -> UnknownUserError:
    """The error for the policy ``"raise"``, naming the first unknown user."""
    return UnknownUserError(
        f"user {user_ids.describe_id(user)} was not seen in training "
        f"({count} unknown user(s) in this request)"
    )


def rank(
    scores: np.ndarray,
    n: int,
    seen: sp.csr_matrix | None,
    allowed: np.ndarray | None,
    n_threads: int = 0,
) -> TopN:
    """Top ``n`` of each row of a dense score block, skipping ``seen`` items and items
    outside ``allowed``."""
    if allowed is not None:
        # A new array: scores may be (a view of) the model's own state.
        scores = np.where(allowed, scores, np.float32(-np.inf))
    return topk(scores, n, seen, n_threads=n_threads)


def dense_top_candidates(
    score_block: Callable[[np.ndarray], np.ndarray],
    users: np.ndarray,
    n: int,
    seen: sp.csr_matrix | None,
    allowed: np.ndarray | None,
    *,
    n_items: int,
    block_rows: int,
    n_threads: int = 0,
) -> TopN:
    """The default candidate step: dense scores for blocks of ``block_rows`` users,
    each ranked by the top-k kernel (memory stays within one block)."""
    width = min(n, n_items)
    indices = np.full((users.size, width), -1, dtype=np.int64)
    scores = np.full((users.size, width), np.nan, dtype=np.float32)
    for start in range(0, users.size, block_rows):
        stop = min(users.size, start + block_rows)
        block_seen = None if seen is None else select_rows(seen, np.arange(start, stop))
        indices[start:stop], scores[start:stop] = rank(
            score_block(users[start:stop]), n, block_seen, allowed, n_threads
        )
    return indices, scores


def shared_top_candidates(
    item_scores: np.ndarray,
    n_rows: int,
    n: int,
    seen: sp.csr_matrix | None,
    allowed: np.ndarray | None,
) -> TopN:
    """The candidate step when every row has the same ``item_scores``: one ranking of
    the items (best first, ties to the lower index; ``-inf`` and NaN never ranked,
    as in :func:`rank`), then for each row its first ``n`` items outside its row of
    ``seen``. No dense block: the cost grows with ``seen``, not rows x items.

    The ``j``-th unseen position of a row whose seen items sit at sorted positions
    ``r_0 < r_1 < ...`` of the ranking is ``j + #{k : r_k - k <= j}``.

    Example:
        >>> seen = sp.csr_matrix(np.array([[1, 0, 0], [0, 0, 0]], dtype=np.float32))
        >>> idx, _ = shared_top_candidates(np.array([3, 2, 1], np.float32), 2, 2, seen, None)
        >>> idx.tolist()
        [[1, 2], [0, 1]]
    """
    scores = np.asarray(item_scores, dtype=np.float32)
    if allowed is not None:
        scores = np.where(allowed, scores, np.float32(-np.inf))
    ranked = np.flatnonzero(scores > -np.inf)  # NaN compares false: dropped too
    order = ranked[np.lexsort((ranked, -scores[ranked]))]
    width = min(n, scores.size)
    indices = np.full((n_rows, width), -1, dtype=np.int64)
    if seen is None or seen.nnz == 0:
        indices[:, : min(width, order.size)] = order[:width]
    else:
        position = np.full(scores.size, -1, dtype=np.int64)
        position[order] = np.arange(order.size)
        lengths = np.diff(seen.indptr).astype(np.int64)
        rows = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
        where = position[seen.indices]
        ranked_seen = where >= 0
        rows, where = rows[ranked_seen], where[ranked_seen]
        sorted_keys = np.sort(rows * (order.size + 1) + where)
        rows = sorted_keys // (order.size + 1)
        where = sorted_keys % (order.size + 1)
        starts = np.searchsorted(rows, np.arange(n_rows))
        # r_k - k, clipped: values above width - 1 never count.
        shifted = np.minimum(where - (np.arange(rows.size) - starts[rows]), width)
        counts = np.bincount(rows * (width + 1) + shifted, minlength=n_rows * (width + 1))
        below = np.cumsum(counts.reshape(n_rows, width + 1)[:, :width], axis=1)
        positions = np.arange(width) + below
        found = positions < order.size
        indices[found] = order[positions[found]]
    out = np.full((n_rows, width), np.nan, dtype=np.float32)
    valid = indices >= 0
    out[valid] = scores[indices[valid]]
    return indices, out


def check_scores(scores: np.ndarray, n_rows: int, n_items: int) -> np.ndarray:
    """A model's score block as C-contiguous float32, after checking its shape."""
    out = np.ascontiguousarray(scores, dtype=np.float32)
    if out.shape != (n_rows, n_items):
        raise RuntimeError(
            f"model scores: expected shape ({n_rows}, {n_items}), received {out.shape}"
        )
    return out


def select_rows(matrix: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """``matrix[rows]`` for a CSR matrix, gathered with NumPy.

    SciPy's own row indexing first converts ``indptr`` and ``indices`` of the whole
    matrix to one index dtype; the canonical matrix of :class:`Interactions` mixes
    int64 and int32, so every call would copy the whole matrix. Here only the
    selected rows are touched, which matters for single-user requests; asking for
    every row in order returns ``matrix`` itself.

    Example:
        >>> m = sp.csr_matrix(np.array([[1, 0], [0, 2], [3, 4]], dtype=np.float32))
        >>> select_rows(m, np.array([2, 0])).toarray().tolist()
        [[3.0, 4.0], [1.0, 0.0]]
    """
    if rows.size == matrix.shape[0] and np.array_equal(rows, np.arange(rows.size)):
        return matrix
    starts = matrix.indptr[rows]
    lengths = matrix.indptr[rows + 1] - starts
    total = int(lengths.sum())
    # indptr and indices share one dtype, so SciPy neither casts nor copies them.
    dtype = matrix.indices.dtype if total <= np.iinfo(np.int32).max else np.int64
    indptr = np.zeros(rows.size + 1, dtype=dtype)
    np.cumsum(lengths, out=indptr[1:])
    take: Any
    if rows.size == 1:
        take = slice(int(starts[0]), int(starts[0]) + total)
    else:
        take = np.repeat(starts - indptr[:-1], lengths) + np.arange(total)
    return sp.csr_matrix(
        (matrix.data[take], matrix.indices[take].astype(dtype, copy=False), indptr),
        shape=(rows.size, matrix.shape[1]),
    )
