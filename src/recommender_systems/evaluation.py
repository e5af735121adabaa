"""``evaluate``: score a model's top-k lists against held-out interactions.

The default protocol is the original one: every test row is relevant, items seen
in training are excluded from the lists, metrics are macro-averaged over the
test users that have at least one relevant item. Test items the model never saw
still count as relevant (they lower recall, honestly).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recommender_systems import metrics as m
from recommender_systems._validation import check_choice, check_positive_int
from recommender_systems.base import Recommender
from recommender_systems.interactions import as_interactions
from recommender_systems.kernels import topk

#: What ``evaluate`` reports unless told otherwise (the original's four, plus coverage).
DEFAULT_METRICS: tuple[str, ...] = ("precision", "recall", "map", "ndcg", "coverage")
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

    relevant = test_data.matrix.copy()
    if relevance_threshold is not None:
        relevant.data = (relevant.data >= relevance_threshold).astype(np.float32)
        relevant.eliminate_zeros()
    n_relevant_all = np.diff(relevant.indptr)
    evaluated = np.flatnonzero(n_relevant_all > 0)
    users = test_data.user_ids.ids[evaluated]
    recs = model.recommend_batch(users, k, exclude_seen=exclude_seen)
    indices = recs.item_indices

    n_items = len(model.item_ids_)
    item_index = model.item_ids_.to_index(test_data.item_ids.ids, missing="ignore")
    # Test items the model does not know get indices past its catalogue: still relevant.
    item_index = np.where(item_index >= 0, item_index, n_items + np.arange(item_index.size))
    sub = relevant[evaluated].tocoo()
    hits = m.hit_matrix(indices, sub.row, item_index[sub.col])
    n_relevant = n_relevant_all[evaluated]

    per_user_values: dict[str, np.ndarray] = {}
    values: dict[str, float] = {}
    for name in metrics:
        key = f"{name}@{k}"
        if name in m.RANK_METRICS:
            per_user_values[key] = m.RANK_METRICS[name](hits, n_relevant, k)
        elif name == "coverage":
            values[key] = m.coverage(indices, n_items)
            continue
        elif name == "novelty":
            per_user_values[key] = m.per_user_novelty(
                indices, model.item_popularity_, len(model.user_ids_)
            )
        elif name == "diversity":
            per_user_values[key] = m.per_user_diversity(indices, model.user_items_.T)
        else:  # serendipity
            popular, _ = topk(model.item_popularity_[None, :], k)
            expected = np.zeros(n_items, dtype=bool)
            expected[popular[popular >= 0]] = True
            per_user_values[key] = m.serendipity(hits, indices, expected, k)
        values[key] = float(per_user_values[key].mean()) if evaluated.size else 0.0
    ordered = {f"{name}@{k}": values[f"{name}@{k}"] for name in metrics}
    table = None
    if per_user:
        table = pd.DataFrame({"user_id": users, "n_relevant": n_relevant, **per_user_values})
    return Evaluation(metric_values=ordered, k=k, n_users=int(evaluated.size), per_user=table)
