"""The approximate candidate step: an index proposes, exact arithmetic decides.

An approximate nearest-neighbour index (:class:`~recommender_systems.item_index.ItemIndex`)
returns, for each query vector, about the ``k`` items with the largest inner
product. The functions here turn that into the query path's candidate step
(:meth:`~recommender_systems.base.Recommender._top_candidates`) with the exact
path's guarantees:

- **over-fetch**: each user asks the index for ``n`` plus the number of items
  they have seen, divided by the share of items that ``items=`` / ``exclude=``
  allow, rounded up to a power of two (users with the same fetch size are
  searched as one batch);
- **filter exactly**: seen items, items outside the allowed mask and any
  duplicate the index returns are dropped;
- **rescore exactly**: candidates are ranked by the model's own inner product
  (so scores are the exact path's, to float rounding, and ties go to the lower
  item index, as in the top-k kernel);
- **fall back**: a user whose fetch would be too large (more than
  :data:`MAX_FETCH_SHARE` of the catalogue), or who is left with fewer than
  ``min(n, items available to them)`` items, is answered by the exact step.

So an approximate list never holds a seen, excluded or repeated item, and is
never shorter than the exact one; with an exact (brute-force) index it equals the
exact list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender_systems.kernels import topk
from recommender_systems.query import CandidateStep, TopN, select_rows

__all__ = ["MAX_FETCH_SHARE", "ApproximateSearch", "approximate_top_candidates", "fetch_sizes"]

#: A user whose over-fetch would exceed this share of the catalogue is answered
#: exactly: an index search that large costs more than scoring every item.
MAX_FETCH_SHARE = 0.05

#: Candidates rescored at once: the gathered item vectors (this many times the
#: vector width, 16 MiB at 64 float32 factors) stay in cache-friendly blocks.
RESCORE_BLOCK_CANDIDATES = 1 << 16

#: ``search(queries, k) -> item indices`` of shape ``(len(queries), k)``, -1 padded.
Search = Callable[[np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class ApproximateSearch:
    """The approximate candidate step of one model and purpose.

    ``queries(rows)`` gives the vectors the index is searched with (for users, or
    for items in ``similar_items``); ``scores(rows, candidates)`` gives the model's
    exact scores of a ``(len(rows), k)`` array of candidate items; ``exact`` is the
    exact candidate step, for the rows the index cannot answer.
    """

    search: Search
    queries: Callable[[np.ndarray], np.ndarray]
    scores: Callable[[np.ndarray, np.ndarray], np.ndarray]
    exact: CandidateStep
    n_items: int
    n_threads: int = 0

    def __call__(
        self,
        users: np.ndarray,
        n: int,
        seen: sp.csr_matrix | None,
        allowed: np.ndarray | None,
    ) -> TopN:
        return approximate_top_candidates(self, users, n, seen, allowed)


def fetch_sizes(n: int, seen_counts: np.ndarray, allowed_share: float, n_items: int) -> np.ndarray:
    """How many candidates each user asks the index for: ``(n + seen) / allowed_share``
    rounded up to a power of two, capped at ``n_items``; 0 where that exceeds
    :data:`MAX_FETCH_SHARE` of the catalogue (those users are answered exactly).

    Example:
        >>> fetch_sizes(10, np.array([0, 5, 100, 10_000]), 1.0, 100_000).tolist()
        [16, 16, 128, 0]
    """
    need = (n + seen_counts.astype(np.float64)) / max(allowed_share, 1e-12)
    sizes = np.minimum(2 ** np.ceil(np.log2(np.maximum(need, 1.0))), n_items).astype(np.int64)
    limit = max(n, int(MAX_FETCH_SHARE * n_items))
    return np.where(need > limit, 0, sizes)


def approximate_top_candidates(
    step: ApproximateSearch,
    users: np.ndarray,
    n: int,
    seen: sp.csr_matrix | None,
    allowed: np.ndarray | None,
) -> TopN:
    """The candidate step through ``step``'s index (see the module docs).

    Same contract as :meth:`~recommender_systems.base.Recommender._top_candidates`:
    ``(indices, scores)`` of shape ``(len(users), min(n, n_items))``, best first,
    padded with -1 and NaN.
    """
    n_items = step.n_items
    width = min(n, n_items)
    indices = np.full((users.size, width), -1, dtype=np.int64)
    scores = np.full((users.size, width), np.nan, dtype=np.float32)
    if users.size == 0:
        return indices, scores
    seen_counts, available = _available(users.size, seen, allowed, n_items)
    wanted = np.minimum(available, width)
    share = 1.0 if allowed is None else float(allowed.mean())
    sizes = fetch_sizes(width, seen_counts, share, n_items)
    found = np.zeros(users.size, dtype=np.int64)
    for k in np.unique(sizes[sizes > 0]).tolist():
        rows = np.flatnonzero(sizes == k)
        candidates = step.search(step.queries(users[rows]), int(k))
        block_seen = None if seen is None else select_rows(seen, rows)
        top, values = _rank_candidates(step, users[rows], candidates, width, block_seen, allowed)
        indices[rows], scores[rows] = top, values
        found[rows] = (top >= 0).sum(axis=1)
    # Too few left after filtering (or never searched): the exact step decides.
    fallback = np.flatnonzero(found < wanted)
    if fallback.size:
        fallback_seen = None if seen is None else select_rows(seen, fallback)
        indices[fallback], scores[fallback] = step.exact(users[fallback], n, fallback_seen, allowed)
    return indices, scores


def _available(
    n_users: int, seen: sp.csr_matrix | None, allowed: np.ndarray | None, n_items: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each user's number of seen items, and of items they can be recommended."""
    if seen is None:
        counts = np.zeros(n_users, dtype=np.int64)
        total = n_items if allowed is None else int(allowed.sum())
        return counts, np.full(n_users, total, dtype=np.int64)
    counts = np.diff(seen.indptr).astype(np.int64)
    if allowed is None:
        return counts, n_items - counts
    rows = np.repeat(np.arange(n_users), counts)
    blocked = np.bincount(rows, weights=allowed[seen.indices], minlength=n_users)
    return counts, int(allowed.sum()) - blocked.astype(np.int64)


def _rank_candidates(
    step: ApproximateSearch,
    users: np.ndarray,
    candidates: np.ndarray,
    width: int,
    seen: sp.csr_matrix | None,
    allowed: np.ndarray | None,
) -> TopN:
    """The best ``width`` of each row's ``candidates`` by exact score, after dropping
    padding, duplicates, seen items and items outside ``allowed``."""
    n_items = step.n_items
    # Sorted by item index: duplicates sit side by side, and the top-k kernel's
    # ties (lower column first) go to the lower item index, as on the exact path.
    candidates = np.sort(np.where(candidates < 0, n_items, candidates), axis=1)
    valid = candidates < n_items
    valid[:, 1:] &= candidates[:, 1:] != candidates[:, :-1]
    if allowed is not None:
        valid &= allowed[np.minimum(candidates, n_items - 1)]
    if seen is not None and seen.nnz:
        valid &= ~_is_seen(candidates, seen, n_items)
    candidates = np.where(valid, candidates, 0)
    scores = np.empty(candidates.shape, dtype=np.float32)
    block = max(1, RESCORE_BLOCK_CANDIDATES // max(1, candidates.shape[1]))
    for start in range(0, users.size, block):
        stop = min(users.size, start + block)
        scores[start:stop] = step.scores(users[start:stop], candidates[start:stop])
    scores[~valid] = -np.inf
    top, values = topk(scores, width, None, n_threads=step.n_threads)
    items = np.take_along_axis(candidates, np.maximum(top, 0), axis=1)
    return np.where(top >= 0, items, -1), values


def _is_seen(candidates: np.ndarray, seen: sp.csr_matrix, n_items: int) -> np.ndarray:
    """Whether each candidate is in its row of ``seen`` (rows aligned with candidates)."""
    rows = np.repeat(np.arange(seen.shape[0], dtype=np.int64), np.diff(seen.indptr))
    seen_keys = rows * (n_items + 1) + seen.indices.astype(np.int64)
    keys = np.arange(candidates.shape[0], dtype=np.int64)[:, None] * (n_items + 1) + candidates
    return np.isin(keys, seen_keys)
