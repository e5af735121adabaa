"""Distributed evaluation: the metrics of :func:`recommender_systems.evaluate`,
computed per block of test users by Ray actors that each load the model once, then
reduced (sums and counts per metric, the union of recommended items for coverage).

Per-user values come from the same function as the local evaluation
(:func:`recommender_systems.evaluation.per_user_metrics`), so the numbers are the
same up to the order of a floating-point sum.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import ray
import scipy.sparse as sp
from ray.util import ActorPool

from recommender_systems import metrics as m
from recommender_systems._validation import check_choice, check_positive_int
from recommender_systems.distributed._session import cluster_cpus
from recommender_systems.distributed._workers import load_shipped, ship_model
from recommender_systems.distributed.data import DistributedInteractions, read_interactions
from recommender_systems.evaluation import (
    ALL_METRICS,
    DEFAULT_METRICS,
    Evaluation,
    per_user_metrics,
    relevant_rows,
)
from recommender_systems.idmap import IdMap
from recommender_systems.persistence import read_info

__all__ = ["evaluate"]


def evaluate(
    model: str | os.PathLike[str],
    test: str | os.PathLike[str] | Sequence[str] | DistributedInteractions,
    k: int = 10,
    metrics: Sequence[str] = DEFAULT_METRICS,
    *,
    exclude_seen: bool = True,
    relevance_threshold: float | None = None,
    n_workers: int | None = None,
    **read: Any,
) -> Evaluation:
    """Evaluates the saved ``model`` on the held-out interactions ``test`` (a Parquet
    dataset, read by :func:`~recommender_systems.distributed.read_interactions` with
    the keywords ``read``, or blocks already read) as
    :func:`recommender_systems.evaluate` does, with ``n_workers`` actors (default: one
    per cluster CPU)."""
    k = check_positive_int(k, "k")
    for name in metrics:
        check_choice(name, "metrics", ALL_METRICS)
    workers = cluster_cpus() if n_workers is None else check_positive_int(n_workers, "n_workers")
    if not isinstance(test, DistributedInteractions):
        test = read_interactions(test, item_blocks=False, **read)
    shipped = ship_model(model)
    pool = ActorPool([_Evaluator.remote(shipped) for _ in range(workers)])  # type: ignore[attr-defined]
    test_items = ray.put(test.item_ids)
    tasks = [
        (ref, test.user_ids.ids[start:stop])
        for ref, (start, stop) in zip(test.users.refs, test.users.ranges(), strict=True)
    ]
    results = list(
        pool.map_unordered(
            lambda actor, task: actor.block.remote(
                task[0], task[1], test_items, k, list(metrics), exclude_seen, relevance_threshold
            ),
            tasks,
        )
    )
    n_users = sum(r[0] for r in results)
    values: dict[str, float] = {}
    for name in metrics:
        key = f"{name}@{k}"
        if name == "coverage":
            recommended = np.concatenate([r[2] for r in results])[None, :]
            values[key] = m.coverage(recommended, read_info(model).n_items)
        else:
            total = sum(r[1][key] for r in results)
            values[key] = float(total / n_users) if n_users else 0.0
    return Evaluation(metric_values=values, k=k, n_users=int(n_users))


@ray.remote
class _Evaluator:
    """An actor holding the model (loaded once) that evaluates blocks of test users."""

    def __init__(self, shipped: list[ray.ObjectRef[Any]]) -> None:
        self.model = load_shipped(shipped)

    def block(
        self,
        relevant: sp.csr_matrix,
        users: np.ndarray,
        test_items: IdMap,
        k: int,
        metrics: list[str],
        exclude_seen: bool,
        relevance_threshold: float | None,
    ) -> tuple[int, dict[str, float], np.ndarray]:
        """Users evaluated, the sum of each per-user metric, the items recommended."""
        relevant = relevant_rows(relevant, relevance_threshold)
        evaluated = np.flatnonzero(np.diff(relevant.indptr) > 0)
        values, indices = per_user_metrics(
            self.model,
            users[evaluated],
            relevant[evaluated],
            test_items,
            k,
            metrics,
            exclude_seen,
        )
        sums = {key: float(v.sum()) for key, v in values.items()}
        return int(evaluated.size), sums, np.unique(indices[indices >= 0])
