"""``evaluate``: score a model's top-k lists against held-out interactions.

The default protocol is the original one: every test row is relevant, items seen
in training are excluded from the lists, metrics are macro-averaged over the
test users that have at least one relevant item. Test items the model never saw
still count as relevant (they lower recall, honestly).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender_systems import metrics as m
from recommender_systems._validation import check_choice, check_positive_int
from recommender_systems.base import Recommender
from recommender_systems.idmap import IdMap
from recommender_systems.interactions import as_interactions
from recommender_systems.kernels import topk

#: What ``evaluate`` reports unless told otherwise (the original's four, plus coverage).
DEFAULT_METRICS: tuple[str, ...] = ("precision", "recall", "map", "ndcg", "coverage")


@dataclass(frozen=True)
class _Lists:
    """What a metric is computed from: the top-k lists and which of them are hits."""

    model: Recommender
    indices: np.ndarray  # (users, width) internal item indices, -1 padding
    hits: np.ndarray  # (users, width) booleans
    n_relevant: np.ndarray  # (users,)
    k: int


def _serendipity(lists: _Lists) -> np.ndarray:
    # "Expected" items are the k most popular: what any recommender would show.
    popular, _ = topk(lists.model.item_popularity_[None, :], lists.k)
    expected = np.zeros(len(lists.model.item_ids_), dtype=bool)
    expected[popular[popular >= 0]] = True
    return m.serendipity(lists.hits, lists.indices, expected, lists.k)


def _rank_metric(metric: m.RankMetric) -> Callable[[_Lists], np.ndarray]:
    return lambda lists: metric(lists.hits, lists.n_relevant, lists.k)


#: Metrics with one value per user (averaged over the users evaluated).
PER_USER_METRICS: dict[str, Callable[[_Lists], np.ndarray]] = {
    **{name: _rank_metric(metric) for name, metric in m.RANK_METRICS.items()},
    "novelty": lambda lists: m.per_user_novelty(
        lists.indices, lists.model.item_popularity_, len(lists.model.user_ids_)
    ),
    "diversity": lambda lists: m.per_user_diversity(lists.indices, lists.model.user_items_.T),
    "serendipity": _serendipity,
}
#: Metrics of all the lists together, from the model and every list's item indices.
LIST_SET_METRICS: dict[str, Callable[[Recommender, np.ndarray], float]] = {
    "coverage": lambda model, indices: m.coverage(indices, len(model.item_ids_)),
}
#: Every metric ``evaluate`` knows.
ALL_METRICS: tuple[str, ...] = (
    *m.RANK_METRICS,
    "coverage",
    "novelty",
    "diversity",
    "serendipity",
)


@dataclass(frozen=True)
class Evaluation(Mapping[str, float]):
    """Metric values by name (``"ndcg@10"``, ...), with the per-user table on request."""

    metric_values: dict[str, float]
    k: int
    n_users: int
    per_user: pd.DataFrame | None = field(default=None, repr=False)

    def __getitem__(self, key: str) -> float:
        return self.metric_values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.metric_values)

    def __len__(self) -> int:
        return len(self.metric_values)

    def __str__(self) -> str:
        width = max((len(name) for name in self.metric_values), default=0)
        lines = [f"{name:<{width}}  {value:.4f}" for name, value in self.metric_values.items()]
        return "\n".join([f"users evaluated: {self.n_users}", *lines])


def evaluate(
    model: Recommender,
    train: Any,
    test: Any,
    k: int = 10,
    metrics: Sequence[str] = DEFAULT_METRICS,
    *,
    per_user: bool = False,
    exclude_seen: bool = True,
    relevance_threshold: float | None = None,
) -> Evaluation:
    """Evaluates ``model`` on ``test`` with top-``k`` lists from the batch path.

    Args:
        model: a recommender. If it is not fitted yet, it is fitted on ``train``.
        train: the training interactions (DataFrame or :class:`Interactions`), or
            ``None`` for an already fitted (e.g. loaded) model.
        test: the held-out interactions; every row is relevant unless
            ``relevance_threshold`` keeps only values at or above it.
        k: list length (>= 1).
        metrics: names from :data:`ALL_METRICS`.
        per_user: also return a per-user table (``Evaluation.per_user``).

    Example:
        >>> import pandas as pd
        >>> from recommender_systems import MostPopular
        >>> train = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [1, 2, 1]})
        >>> test = pd.DataFrame({"user_id": [2], "item_id": [2]})
        >>> evaluate(MostPopular(), train, test, k=1)["precision@1"]
        1.0
    """
    k = check_positive_int(k, "k")
    for name in metrics:
        check_choice(name, "metrics", ALL_METRICS)
    if not model.is_fitted:
        if train is None:
            raise ValueError(
                "train: expected training data to fit an unfitted model, received None"
            )
        model.fit(train)
    test_data = as_interactions(test)
    relevant = relevant_rows(test_data.matrix, relevance_threshold)
    n_relevant = np.diff(relevant.indptr)
    evaluated = np.flatnonzero(n_relevant > 0)
    users = test_data.user_ids.ids[evaluated]
    per_user_values, indices = per_user_metrics(
        model, users, relevant[evaluated], test_data.item_ids, k, metrics, exclude_seen
    )
    values = {key: float(v.mean()) if users.size else 0.0 for key, v in per_user_values.items()}
    values |= {
        f"{name}@{k}": LIST_SET_METRICS[name](model, indices)
        for name in metrics
        if name in LIST_SET_METRICS
    }
    ordered = {f"{name}@{k}": values[f"{name}@{k}"] for name in metrics}
    table = None
    if per_user:
        table = pd.DataFrame(
            {"user_id": users, "n_relevant": n_relevant[evaluated], **per_user_values}
        )
    return Evaluation(metric_values=ordered, k=k, n_users=int(users.size), per_user=table)


def relevant_rows(matrix: sp.csr_matrix, relevance_threshold: float | None) -> sp.csr_matrix:
    """The relevant test interactions: every stored value, or only those at or above
    ``relevance_threshold``."""
    relevant = matrix.copy()
    if relevance_threshold is not None:
        relevant.data = (relevant.data >= relevance_threshold).astype(np.float32)
        relevant.eliminate_zeros()
    return relevant


def per_user_metrics(
    model: Recommender,
    users: np.ndarray,
    relevant: sp.csr_matrix,
    test_items: IdMap,
    k: int,
    metrics: Sequence[str],
    exclude_seen: bool = True,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-user values (``"ndcg@10"`` -> one value per user) of every per-user metric
    in ``metrics`` for the test ``users`` (external ids), whose relevant items are the
    rows of ``relevant`` (columns: ``test_items``); and the users' top-k item indices.

    Users are independent here, so blocks of them give the same values as all at
    once (the distributed evaluation relies on it).
    """
    indices = model.recommend_batch(users, k, exclude_seen=exclude_seen).item_indices
    n_items = len(model.item_ids_)
    item_index = model.item_ids_.to_index(test_items.ids, missing="ignore")
    # Test items the model does not know get indices past its catalogue: still relevant.
    item_index = np.where(item_index >= 0, item_index, n_items + np.arange(item_index.size))
    sub = relevant.tocoo()
    hits = m.hit_matrix(indices, sub.row, item_index[sub.col])
    lists = _Lists(model, indices, hits, np.diff(relevant.indptr), k)
    values = {
        f"{name}@{k}": PER_USER_METRICS[name](lists) for name in metrics if name in PER_USER_METRICS
    }
    return values, indices
