"""Batch scoring on Ray: the top-n lists of every user, written as a Parquet dataset.

The model file is put in the object store once; each worker (a Ray Data actor)
loads it once and scores blocks of users through the model's own batch path
(:meth:`~recommender_systems.base.Recommender.recommend_batch`), so every registered
model works and the lists are those of a local ``recommend_batch``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import ray

from recommender_systems._validation import check_positive_int
from recommender_systems.distributed._session import cluster_cpus
from recommender_systems.distributed._workers import load_shipped, ship_model
from recommender_systems.errors import DataError
from recommender_systems.interactions import USER_COL
from recommender_systems.persistence import read_info

__all__ = ["recommend_all"]

#: Columns of the output dataset.
OUTPUT_COLUMNS = ("user_id", "rank", "item_id", "score")


def recommend_all(
    model: str | os.PathLike[str],
    out: str,
    *,
    n: int = 10,
    users: str | Sequence[str] | None = None,
    user_col: str = USER_COL,
    exclude_seen: bool = True,
    block_size: int = 10_000,
    n_workers: int | None = None,
    filesystem: Any = None,
) -> None:
    """Writes the top ``n`` items of every user of the saved ``model`` (or of the
    users in the Parquet dataset ``users``, column ``user_col``) to the Parquet
    dataset ``out`` (a folder, on any filesystem Ray Data writes), one row per
    (user, rank): ``user_id, rank, item_id, score``.

    Users are scored in blocks of ``block_size`` by ``n_workers`` actors (default:
    one per cluster CPU). Users the model does not know get its unknown-user
    policy (no rows by default).
    """
    n = check_positive_int(n, "n")
    block_size = check_positive_int(block_size, "block_size")
    workers = cluster_cpus() if n_workers is None else check_positive_int(n_workers, "n_workers")
    if users is None:
        # Internal indices: the workers turn them into ids, the driver never holds them.
        dataset = ray.data.range(read_info(model).n_users).rename_columns({"id": "index"})
    else:
        dataset = ray.data.read_parquet(users, filesystem=filesystem)
        if user_col not in dataset.schema().names:
            raise DataError(
                f"missing column {user_col!r} in {users!r}: received {dataset.schema().names}"
            )
        # Each user once (the dataset may be interactions): a distributed distinct.
        distinct = dataset.select_columns([user_col]).groupby(user_col).count()
        dataset = distinct.select_columns([user_col]).rename_columns({user_col: "user_id"})
    scored = dataset.map_batches(
        _Scorer,
        fn_constructor_args=(ship_model(model), n, exclude_seen),
        batch_size=block_size,
        batch_format="numpy",
        concurrency=workers,
    )
    scored.write_parquet(out, filesystem=filesystem)


class _Scorer:
    """A Ray Data actor: the model, loaded once, scoring one block of users per call."""

    def __init__(self, shipped: list[ray.ObjectRef[Any]], n: int, exclude_seen: bool) -> None:
        self.model = load_shipped(shipped)
        self.n = n
        self.exclude_seen = exclude_seen

    def __call__(self, batch: dict[str, np.ndarray]) -> pd.DataFrame:
        if "index" in batch:
            users = self.model.user_ids_.to_ids(batch["index"])
        else:
            users = batch["user_id"]
        recs = self.model.recommend_batch(users, self.n, exclude_seen=self.exclude_seen)
        return recs.to_frame().loc[:, list(OUTPUT_COLUMNS)]
