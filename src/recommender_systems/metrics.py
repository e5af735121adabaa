"""Ranking metrics, vectorised over users, with the original definitions.

Every rank metric is computed from a boolean hit matrix ``hits`` of shape
``(n_users, width)`` (``hits[u, j]``: the item at rank ``j + 1`` of user ``u`` is
relevant; ``width <= k``) and ``n_relevant``, the number of relevant items of
each user. Definitions, for one user with relevant set ``R`` and cut-off ``k``:

- ``precision@k = hits / k`` (always divided by ``k``);
- ``recall@k = hits / |R|``;
- ``AP@k = sum_j hit_j * precision@j / min(|R|, k)``; MAP@k is its mean;
- ``NDCG@k = DCG / IDCG`` with binary gains, ``DCG = sum_j hit_j / log2(j + 1)``
  (ranks ``j`` from 1) and ``IDCG`` over ``min(|R|, k)`` hits;
- ``MRR@k = 1 / rank of the first hit`` (0 without a hit);
- ``hit_rate@k = 1`` if any hit, else 0.

Users with no relevant items are skipped when averaging. An item repeated in a
predicted list counts as a hit only once.

Beyond accuracy (see each function): catalogue coverage, intra-list diversity,
novelty and serendipity.

The list-based forms of the original library keep working: one user's list, or
lists of lists (one per user) for the mean over users::

    >>> precision_at_k([1, 2, 3], [2, 3, 9], k=3)
    0.6666666666666666
    >>> ndcg_at_k([[1, 2], [5, 6]], [[2], [5]], k=2)  # several users: the mean
    0.8154648767857288
    >>> mean_average_precision([[1, 2], [5, 6]], [[2], [5]], k=2)
    0.75
    >>> catalog_coverage([[1, 2], [2, 3]], catalog=[1, 2, 3, 4], k=2)
    0.75
    >>> novelty([[1, 2]], {1: 0.5, 2: 0.25}, k=2)  # mean of -log2 p
    1.5
    >>> intra_list_diversity([[1, 2, 3]], lambda a, b: 1.0 if a + b == 3 else 0.0, k=3)
    0.6666666666666667
    >>> serendipity_at_k([[1, 2, 3]], [[2, 3]], expected=[1, 2], k=3)
    0.3333333333333333
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, overload

import numpy as np
import scipy.sparse as sp

from recommender_systems._validation import check_positive_int
from recommender_systems.errors import DataError


# ------------------------------------------------------------ per-user, vectorised
def _ranks(width: int) -> np.ndarray:
    return np.arange(1, width + 1, dtype=np.float64)


def precision(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Per-user precision@k."""
    return hits.sum(axis=1) / float(k)


def recall(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Per-user recall@k."""
    return hits.sum(axis=1) / np.maximum(n_relevant, 1)


def average_precision(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Per-user AP@k (MAP@k is the mean)."""
    precision_at_rank = np.cumsum(hits, axis=1) / _ranks(hits.shape[1])
    return (precision_at_rank * hits).sum(axis=1) / np.maximum(np.minimum(n_relevant, k), 1)


def ndcg(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Per-user binary-relevance NDCG@k."""
    discounts = 1.0 / np.log2(_ranks(max(k, hits.shape[1])) + 1.0)
    dcg = (hits * discounts[: hits.shape[1]]).sum(axis=1)
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[np.minimum(n_relevant, k)]
    return np.divide(dcg, ideal, out=np.zeros_like(dcg), where=ideal > 0)


def reciprocal_rank(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Per-user reciprocal rank of the first hit within the top k (0 without one)."""
    any_hit = hits.any(axis=1)
    first = np.argmax(hits, axis=1) + 1.0
    return np.asarray(np.where(any_hit, 1.0 / first, 0.0))


def hit_rate(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Per-user 1.0 if any of the top k is relevant, else 0.0."""
    return np.asarray(hits.any(axis=1), dtype=np.float64)


RankMetric = Callable[[np.ndarray, np.ndarray, int], np.ndarray]

#: Rank metrics by the name ``evaluate`` uses.
RANK_METRICS: dict[str, RankMetric] = {
    "precision": precision,
    "recall": recall,
    "map": average_precision,
    "ndcg": ndcg,
    "mrr": reciprocal_rank,
    "hit_rate": hit_rate,
}


# --------------------------------------------------------------- beyond accuracy
def coverage(item_indices: np.ndarray, n_items: int) -> float:
    """Catalogue coverage: the share of the ``n_items`` catalogue recommended to at
    least one user (``item_indices`` padded with -1)."""
    if n_items <= 0:
        return 0.0
    return float(np.unique(item_indices[item_indices >= 0]).size / n_items)


def per_user_novelty(
    item_indices: np.ndarray, item_popularity: np.ndarray, n_users: int
) -> np.ndarray:
    """Per-user mean self-information ``log2(n_users / popularity)`` of the recommended
    items, popularity being the number of training users of the item (at least 1)."""
    valid = item_indices >= 0
    pop = np.maximum(item_popularity[np.where(valid, item_indices, 0)], 1.0)
    info = np.log2(max(n_users, 1) / pop) * valid
    return np.divide(
        info.sum(axis=1), valid.sum(axis=1), out=np.zeros(len(info)), where=valid.any(axis=1)
    )


def per_user_diversity(item_indices: np.ndarray, item_vectors: Any) -> np.ndarray:
    """Per-user mean pairwise cosine distance ``1 - cos(v_i, v_j)`` between the
    recommended items' vectors (rows of ``item_vectors``, dense or sparse).

    Lists with fewer than two items score 0.
    """
    vectors = sp.csr_matrix(item_vectors, dtype=np.float64)
    norms = np.sqrt(np.asarray(vectors.multiply(vectors).sum(axis=1)).ravel())
    unit = sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ vectors
    out = np.zeros(item_indices.shape[0])
    for u, row in enumerate(item_indices):
        chosen = row[row >= 0]
        m = chosen.size
        if m < 2:
            continue
        block = unit[chosen]
        sims = (block @ block.T).toarray()
        mean_sim = (sims.sum() - np.trace(sims)) / (m * (m - 1))
        out[u] = 1.0 - mean_sim
    return out


def serendipity(
    hits: np.ndarray, item_indices: np.ndarray, expected: np.ndarray, k: int
) -> np.ndarray:
    """Per-user share of the top k that is both relevant and unexpected, where the
    ``expected`` items (a boolean mask over the catalogue) are those a popularity
    recommender would show (the top-k most popular training items)."""
    valid = item_indices >= 0
    unexpected = valid & ~expected[np.where(valid, item_indices, 0)]
    return (hits & unexpected).sum(axis=1) / float(k)


# ------------------------------------------------------------------- hit matrices
#: :func:`hit_matrix` looks pairs up in a users x items table while it has at most
#: this many cells per pair to find or to look up (zeroing a cell costs far less
#: than a step of a binary search).
_TABLE_CELLS_PER_PAIR = 256


def hit_matrix(
    item_indices: np.ndarray, relevant_users: np.ndarray, relevant_items: np.ndarray
) -> np.ndarray:
    """``hits[u, j]``: whether ``(u, item_indices[u, j])`` is one of the relevant
    ``(relevant_users, relevant_items)`` pairs. Padding (-1) and repeats of an item
    earlier in the same list are never hits."""
    n_users, _width = item_indices.shape
    span = np.int64(max(int(item_indices.max(initial=0)), int(relevant_items.max(initial=0))) + 1)
    if relevant_users.size == 0:
        return np.zeros(item_indices.shape, dtype=bool)
    listed = np.maximum(item_indices, 0)
    if n_users * int(span) <= _TABLE_CELLS_PER_PAIR * (relevant_users.size + item_indices.size):
        # A users x items table of the relevant pairs, then one lookup per list entry:
        # cheaper than sorting and searching while the table is small.
        table = np.zeros((n_users, int(span)), dtype=bool)
        mine = relevant_users < n_users  # other users' pairs can match no list
        table[relevant_users[mine], relevant_items[mine]] = True
        hits = table[np.arange(n_users)[:, None], listed]
    else:
        # Sorted for the binary search; a repeated pair is harmless there, and a
        # plain sort is about 20 times faster than np.unique (which hashes).
        relevant_keys = np.sort(relevant_users.astype(np.int64) * span + relevant_items)
        keys = np.arange(n_users, dtype=np.int64)[:, None] * span + listed
        pos = np.minimum(np.searchsorted(relevant_keys, keys), relevant_keys.size - 1)
        hits = relevant_keys[pos] == keys
    return hits & (item_indices >= 0) & _first_occurrence(item_indices)


def _first_occurrence(item_indices: np.ndarray) -> np.ndarray:
    _n_users, width = item_indices.shape
    if width < 2:
        return np.ones_like(item_indices, dtype=bool)
    order = np.argsort(item_indices, axis=1, kind="stable")
    ranked = np.take_along_axis(item_indices, order, axis=1)
    repeat = np.zeros_like(ranked, dtype=bool)
    repeat[:, 1:] = ranked[:, 1:] == ranked[:, :-1]
    first = np.ones_like(repeat)
    np.put_along_axis(first, order, ~repeat, axis=1)
    return first


# ------------------------------------------------------------ list-based forms
def _lists_hits(
    predicted: Sequence[Any], actual: Sequence[Any], k: int
) -> tuple[np.ndarray, np.ndarray]:
    hits = np.zeros((len(predicted), k), dtype=bool)
    n_relevant = np.zeros(len(predicted), dtype=np.int64)
    for u, (pred, act) in enumerate(zip(predicted, actual, strict=True)):
        relevant = set(act)
        n_relevant[u] = len(relevant)
        seen: set[Any] = set()
        for j, item in enumerate(list(pred)[:k]):
            hits[u, j] = item in relevant and item not in seen
            seen.add(item)
    return hits, n_relevant


def _is_nested(values: Any) -> bool:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        return False
    first = next(iter(values), None)
    return isinstance(first, Iterable) and not isinstance(first, str | bytes)


def _list_metric(metric: RankMetric, predicted: Any, actual: Any, k: int) -> float:
    k = check_positive_int(k, "k")
    for name, value in (("predicted", predicted), ("actual", actual)):
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            raise DataError(f"{name}: expected a list of item ids, received {type(value).__name__}")
    per_user, actual_per_user = _is_nested(predicted), _is_nested(actual)
    if per_user != actual_per_user:
        raise DataError(
            "predicted, actual: expected one list of item ids each, or one list per user "
            f"in each; received {'lists' if per_user else 'one list'} of predictions and "
            f"{'lists' if actual_per_user else 'one list'} of relevant items"
        )
    if per_user:
        pred, act = list(predicted), list(actual)
        if len(pred) != len(act):
            raise DataError(
                "predicted, actual: expected one list per user in each (same length), "
                f"received {len(pred)} predicted and {len(act)} actual lists"
            )
        hits, n_relevant = _lists_hits(pred, act, k)
        keep = n_relevant > 0
        if not keep.any():
            return 0.0
        return float(metric(hits[keep], n_relevant[keep], k).mean())
    hits, n_relevant = _lists_hits([predicted], [actual], k)
    if n_relevant[0] == 0:
        return 0.0
    return float(metric(hits, n_relevant, k)[0])


def precision_at_k(predicted: Any, actual: Any, k: int = 10) -> float:
    """Precision@k of one user's list, or the mean over users given lists of lists."""
    return _list_metric(precision, predicted, actual, k)


def recall_at_k(predicted: Any, actual: Any, k: int = 10) -> float:
    """Recall@k of one user's list, or the mean over users given lists of lists."""
    return _list_metric(recall, predicted, actual, k)


def average_precision_at_k(predicted: Any, actual: Any, k: int = 10) -> float:
    """AP@k of one user's list (the mean over users, MAP@k, given lists of lists)."""
    return _list_metric(average_precision, predicted, actual, k)


def map_at_k(predicted: Any, actual: Any, k: int = 10) -> float:
    """MAP@k over users given lists of lists (AP@k for a single list)."""
    return _list_metric(average_precision, predicted, actual, k)


def ndcg_at_k(predicted: Any, actual: Any, k: int = 10) -> float:
    """Binary NDCG@k of one user's list, or the mean over users."""
    return _list_metric(ndcg, predicted, actual, k)


def mrr_at_k(predicted: Any, actual: Any, k: int = 10) -> float:
    """Reciprocal rank of the first hit in the top k, or its mean (MRR) over users."""
    return _list_metric(reciprocal_rank, predicted, actual, k)


def hit_rate_at_k(predicted: Any, actual: Any, k: int = 10) -> float:
    """1.0 if the top k holds a relevant item, or the share of users for whom it does."""
    return _list_metric(hit_rate, predicted, actual, k)


def mean_average_precision(predicted: Any, actual: Any, k: int = 10) -> float:
    """MAP@k: the mean over users of AP@k (the original library's name for
    :func:`map_at_k`)."""
    return _list_metric(average_precision, predicted, actual, k)


# ------------------------------------------------ beyond accuracy, list forms
def _user_lists(name: str, values: Any) -> list[list[Any]]:
    """One list per user from a list (one user) or a list of lists."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise DataError(f"{name}: expected a list of item ids, received {type(values).__name__}")
    values = list(values)
    if _is_nested(values):
        return [list(v) for v in values]
    return [values]


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else 0.0


def catalog_coverage(predicted: Any, catalog: Iterable[Any], k: int = 10) -> float:
    """The share of ``catalog`` found in the top ``k`` of at least one predicted list
    (items outside the catalogue are ignored)."""
    k = check_positive_int(k, "k")
    items = set(catalog)
    if not items:
        raise DataError("catalog: expected at least one item, received none")
    shown = {item for top in _user_lists("predicted", predicted) for item in top[:k]}
    return len(shown & items) / len(items)


def serendipity_at_k(predicted: Any, actual: Any, expected: Any, k: int = 10) -> float:
    """The share of the top ``k`` that is relevant (in ``actual``) and unexpected (not
    in ``expected``, e.g. what a popularity recommender shows), averaged over users.

    ``expected`` is one list for every user, or one list per user.
    """
    k = check_positive_int(k, "k")
    tops, relevant = _user_lists("predicted", predicted), _user_lists("actual", actual)
    if len(tops) != len(relevant):
        raise DataError(
            "predicted, actual: expected one list per user in each (same length), "
            f"received {len(tops)} predicted and {len(relevant)} actual lists"
        )
    expected_lists = _user_lists("expected", expected)
    if len(expected_lists) == 1:
        expected_lists = expected_lists * len(tops)
    elif len(expected_lists) != len(tops):
        raise DataError(
            f"expected: expected one list for all users or one per user ({len(tops)}), "
            f"received {len(expected_lists)}"
        )
    values = []
    for top, rel, exp in zip(tops, relevant, expected_lists, strict=True):
        surprising = set(rel) - set(exp)
        values.append(len(set(top[:k]) & surprising) / k)
    return _mean(values)


@overload
def intra_list_diversity(
    predicted: Any, similarity: Callable[[Any, Any], float], k: int = ...
) -> float: ...
@overload
def intra_list_diversity(predicted: np.ndarray, similarity: Any) -> np.ndarray: ...
def intra_list_diversity(predicted: Any, similarity: Any, k: int = 10) -> Any:
    """Mean pairwise dissimilarity ``1 - similarity(a, b)`` within each top ``k``
    (0 for lists of fewer than two items), averaged over users.

    ``similarity`` is a function of two item ids. Given a matrix of item indices and
    item vectors instead, returns :func:`per_user_diversity` (cosine distances).
    """
    if not callable(similarity):
        return per_user_diversity(predicted, similarity)
    k = check_positive_int(k, "k")
    values = []
    for top in _user_lists("predicted", predicted):
        items = list(dict.fromkeys(top[:k]))
        pairs = [(a, b) for i, a in enumerate(items) for b in items[i + 1 :]]
        if not pairs:
            values.append(0.0)
            continue
        values.append(1.0 - float(np.mean([float(similarity(a, b)) for a, b in pairs])))
    return _mean(values)


@overload
def novelty(predicted: Any, item_popularity: Mapping[Any, float], k: int = ...) -> float: ...
@overload
def novelty(predicted: np.ndarray, item_popularity: np.ndarray, k: int) -> np.ndarray: ...
def novelty(predicted: Any, item_popularity: Any, k: int = 10) -> Any:
    """Mean self-information ``-log2 p`` of the items in each top ``k``, averaged over
    users, where ``item_popularity`` maps each item to its popularity share ``p`` in
    (0, 1] (e.g. the share of users who have it).

    Given a matrix of item indices, an array of popularity counts and the number of
    users instead, returns :func:`per_user_novelty`.
    """
    if not isinstance(item_popularity, Mapping):
        return per_user_novelty(predicted, item_popularity, k)
    k = check_positive_int(k, "k")
    values = []
    for top in _user_lists("predicted", predicted):
        information = []
        for item in top[:k]:
            share = item_popularity.get(item)
            if share is None:
                raise DataError(
                    f"item_popularity: expected a share for every item, none for {item!r}"
                )
            share = float(share)
            if not 0.0 < share <= 1.0:
                raise DataError(
                    f"item_popularity: expected shares in (0, 1], received {share} for {item!r}"
                )
            information.append(-np.log2(share))
        values.append(float(np.mean(information)) if information else 0.0)
    return _mean(values)
