"""Starting or joining Ray, and waiting for tasks with a progress bar."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import ray
from tqdm.auto import tqdm

from recommender_systems.progress import Training

#: Where a local Ray listens.
LOOPBACK = "127.0.0.1"


@contextmanager
def ray_session(
    address: str | None = None, *, num_cpus: int | None = None, **init: Any
) -> Iterator[None]:
    """Runs the block with Ray: the cluster at ``address`` (``"auto"``, ``"ray://..."``,
    ``"HOST:PORT"``) or, without one, a local Ray with ``num_cpus`` CPUs (default: all),
    started here and shut down at the end. An already initialised Ray is used as it
    is and left running.

    Further keywords go to ``ray.init``.
    """
    if ray.is_initialized():
        yield
        return
    if address is None:
        # A local Ray serves this process only: keep it on the loopback interface.
        # "local" starts a new Ray even when another one runs on this machine.
        init.setdefault("_node_ip_address", LOOPBACK)
        ray.init(address="local", num_cpus=num_cpus, **init)
    else:
        ray.init(address=address, **init)
    try:
        yield
    finally:
        ray.shutdown()


def cluster_cpus() -> int:
    """The CPUs of the connected cluster (at least 1)."""
    resources = ray.cluster_resources()  # type: ignore[no-untyped-call]
    return max(1, int(resources.get("CPU", 1)))


def wait_all(refs: Sequence[ray.ObjectRef[Any]], desc: str, progress: bool) -> None:
    """Waits until every task behind ``refs`` has ended, with a bar that moves as each
    block is done. Results stay where they are (a failed task's error surfaces in
    whatever reads its result)."""
    pending = list(refs)
    with tqdm(total=len(pending), desc=desc, disable=not progress, leave=False) as bar:
        while pending:
            done, pending = ray.wait(pending, num_returns=1, fetch_local=False)
            bar.update(len(done))


def show(training: Training | None) -> bool:
    """Whether progress bars are on for this call."""
    return bool(training is not None and training.progress)
