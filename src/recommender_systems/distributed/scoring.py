"""Batch scoring on Ray: the top-n lists of every user, written as a Parquet dataset.

The model file is put in the object store once; each worker (a Ray actor) loads it
once and scores blocks of users through the model's own batch path
(:meth:`~recommender_systems.base.Recommender.recommend_batch`), writing one
Parquet file per block. Every registered model works, and the lists are those of a
local ``recommend_batch``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import ray
from ray.util import ActorPool
from tqdm.auto import tqdm

from recommender_systems._validation import check_positive_int
from recommender_systems.distributed._session import cluster_cpus
from recommender_systems.distributed._workers import load_shipped, ship_model
from recommender_systems.distributed.data import distinct_ids, parquet_paths
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
    users: str | os.PathLike[str] | Sequence[str] | None = None,
    user_col: str = USER_COL,
    exclude_seen: bool = True,
    block_size: int = 10_000,
    n_workers: int | None = None,
    filesystem: Any = None,
    progress: bool = False,
) -> int:
    """Writes the top ``n`` items of every user of the saved ``model`` (or of each
    distinct user in the Parquet dataset ``users``, column ``user_col``) to the
    folder ``out`` (any pyarrow filesystem: a local path, ``s3://...``), one
    ``part-NNNNN.parquet`` file per block of users, one row per (user, rank):
    ``user_id, rank, item_id, score``. Returns the number of rows written.

    Users are scored in blocks of ``block_size`` by ``n_workers`` actors (default:
    one per cluster CPU), each loading the model once. Users the model does not know
    get its unknown-user policy (no rows by default).
    """
    n = check_positive_int(n, "n")
    block_size = check_positive_int(block_size, "block_size")
    workers = cluster_cpus() if n_workers is None else check_positive_int(n_workers, "n_workers")
    if users is None:
        # Internal indices: the workers turn them into ids.
        n_users = read_info(model).n_users
        blocks: list[Any] = [
            ("index", (start, min(start + block_size, n_users)))
            for start in range(0, n_users, block_size)
        ]
    else:
        dataset = ray.data.read_parquet(parquet_paths(users, filesystem), filesystem=filesystem)
        if user_col not in dataset.schema().names:
            raise DataError(
                f"missing column {user_col!r} in {users!r}: received {dataset.schema().names}"
            )
        ids, _ = distinct_ids(dataset.select_columns([user_col]).to_arrow_refs(), user_col)
        blocks = [
            ("ids", ids[start : start + block_size]) for start in range(0, ids.size, block_size)
        ]
    fs, folder = _output_folder(out, filesystem)
    shipped = ship_model(model)
    count = max(1, min(workers, len(blocks)))
    actors = [_Scorer.remote(shipped, n, exclude_seen) for _ in range(count)]  # type: ignore[attr-defined]
    pool = ActorPool(actors)
    tasks = [(number, block, fs, folder) for number, block in enumerate(blocks)]
    written = pool.map_unordered(lambda actor, task: actor.score.remote(*task), tasks)
    total = 0
    for rows in tqdm(
        written, total=len(tasks), desc="user blocks", disable=not progress, leave=False
    ):
        total += int(rows)
    return total


def _output_folder(out: str, filesystem: Any) -> tuple[Any, str]:
    fs, folder = (
        (filesystem, out)
        if filesystem is not None
        else pafs.FileSystem.from_uri(os.path.abspath(out) if "://" not in out else out)
    )
    fs.create_dir(folder, recursive=True)
    return fs, folder


@ray.remote
class _Scorer:
    """An actor holding the model (loaded once) that scores blocks of users."""

    def __init__(self, shipped: list[ray.ObjectRef[Any]], n: int, exclude_seen: bool) -> None:
        self.model = load_shipped(shipped)
        self.n = n
        self.exclude_seen = exclude_seen

    def score(self, number: int, block: tuple[str, Any], fs: Any, folder: str) -> int:
        """Writes block ``number``'s lists to ``folder/part-NNNNN.parquet``; returns
        the number of rows."""
        kind, what = block
        users = self.model.user_ids_.ids[what[0] : what[1]] if kind == "index" else what
        frame = self.model.recommend_batch(users, self.n, exclude_seen=self.exclude_seen).to_frame()
        table = pa.Table.from_pandas(frame.loc[:, list(OUTPUT_COLUMNS)], preserve_index=False)
        pq.write_table(table, f"{folder}/part-{number:05d}.parquet", filesystem=fs)
        return int(table.num_rows)
