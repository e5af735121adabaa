"""The distributed mode on a simulated 2-node Ray cluster (one CPU per node), so
nothing relies on one process or shared local state; and Ray's task retry after a
worker is killed in the middle of a fit."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray")

from ray.cluster_utils import Cluster  # noqa: E402

from recommender_systems import ALS, ItemKNN, generate_interactions  # noqa: E402
from recommender_systems import distributed as dist  # noqa: E402
from tests.distributed.helpers import (  # noqa: E402
    assert_same_csr,
    top_lists_agreement,
    write_parquet_dataset,
)

NODE: dict[str, Any] = {
    "num_cpus": 1,
    "object_store_memory": 128 * 2**20,
    "node_ip_address": "127.0.0.1",
}


@pytest.fixture(scope="module", autouse=True)
def two_nodes() -> Iterator[Cluster]:
    cluster = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    cluster.add_node(**NODE)
    ray.init(address=cluster.address)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield cluster
    ray.shutdown()
    cluster.shutdown()  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return generate_interactions(2_000, 800, 60_000, random_state=11)


@pytest.fixture(scope="module")
def blocks(
    log: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> dist.DistributedInteractions:
    return dist.read_interactions(write_parquet_dataset(log, tmp_path_factory.mktemp("log")))


def test_the_cluster_has_two_nodes() -> None:
    assert sum(node["Alive"] for node in ray.nodes()) == 2
    assert dist.ray_session is not None and ray.cluster_resources()["CPU"] == 2


def test_als_and_item_knn_match_the_local_fits(
    log: pd.DataFrame, blocks: dist.DistributedInteractions
) -> None:
    local = ALS(n_factors=16, epochs=3, random_state=3).fit(log)
    remote = dist.fit(ALS(n_factors=16, epochs=3, random_state=3), blocks)
    np.testing.assert_allclose(remote.user_factors_, local.user_factors_, atol=1e-6)
    np.testing.assert_allclose(remote.item_factors_, local.item_factors_, atol=1e-6)
    knn = dist.fit(ItemKNN(n_neighbors=30), blocks)
    assert_same_csr(knn.similarity_, ItemKNN(n_neighbors=30).fit(log).similarity_)


def test_a_killed_worker_is_retried_with_the_same_result(
    log: pd.DataFrame, blocks: dist.DistributedInteractions
) -> None:
    """A solve task's worker process is killed while it runs: Ray runs the task
    again, and the fit ends with the factors of an undisturbed fit."""
    params = {"n_factors": 48, "epochs": 6, "random_state": 4, "solver": "cholesky"}
    killer = _Killer("ray::_solve_block")
    killer.start()
    try:
        remote = dist.fit(ALS(**params), blocks)  # type: ignore[arg-type]
    finally:
        killer.stop()
    assert killer.killed, "no solve task was caught running"
    local = ALS(**params).fit(log)  # type: ignore[arg-type]
    np.testing.assert_allclose(remote.user_factors_, local.user_factors_, atol=1e-6)
    np.testing.assert_allclose(remote.item_factors_, local.item_factors_, atol=1e-6)
    assert top_lists_agreement(remote, local) == 1.0


def test_batch_scoring_across_nodes(
    blocks: dist.DistributedInteractions, log: pd.DataFrame, tmp_path: Path
) -> None:
    model = dist.fit(ItemKNN(n_neighbors=30), blocks)
    path = model.save(tmp_path / "knn.recsys")
    dist.recommend_all(path, str(tmp_path / "out"), n=10, block_size=300)
    written = pd.read_parquet(tmp_path / "out")
    expected = model.recommend_batch(model.user_ids_.ids, 10).to_frame()
    assert written["user_id"].nunique() == expected["user_id"].nunique() > 1_900
    merged = written.merge(expected, on=["user_id", "rank"], suffixes=("", "_local"))
    assert len(merged) == len(expected) == len(written)
    assert (merged["item_id"] == merged["item_id_local"]).all()


class _Killer:
    """Kills (SIGKILL), once, the first process started by this test session whose
    title starts with ``title`` (Ray names a worker after the task it runs)."""

    def __init__(self, title: str) -> None:
        self.title = title.encode()
        self.killed: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        deadline = time.monotonic() + 120
        while not self._stop.is_set() and not self.killed and time.monotonic() < deadline:
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                        cmdline = handle.read()
                except OSError:
                    continue
                if cmdline.startswith(self.title) and _descends_from(int(entry.name), os.getpid()):
                    os.kill(int(entry.name), signal.SIGKILL)
                    self.killed.append(int(entry.name))
                    return
            time.sleep(0.001)


def _descends_from(pid: int, ancestor: int) -> bool:
    """Whether ``ancestor`` is among the parents of process ``pid``."""
    while pid > 1:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
                # The name (field 2) may hold spaces: the parent follows its ')'.
                pid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if pid == ancestor:
            return True
    return False
