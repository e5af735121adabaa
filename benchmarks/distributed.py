"""Distributed ALS on Ray vs the single-process ALS, on the same 2 cores.

Synthetic power-law interactions (``generate_interactions``) are written as a
folder of Parquet files; each engine then runs in its own process:

- ``local``: ``pd.read_parquet`` + ``ALS(n_threads=2).fit``;
- ``ray``: ``ray.init(num_cpus=2)``, ``distributed.read_interactions`` +
  ``distributed.fit`` (one kernel thread per task, two tasks at a time).

Reported: seconds per ALS iteration (median of the iterations after the first),
the overhead ratio (Ray / local), peak resident memory of each process (the
driver, and each Ray worker), loading time, and the bytes the distributed fit
writes to the object store per iteration (factor blocks, stacked factors, Gram
matrices), with what a W-node cluster would send between nodes.

Run: ``python -m benchmarks.distributed`` (default: 20M interactions,
138k x 27k) or ``python -m benchmarks.distributed 20000000 50000000``.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import machine_summary, write_result

N_USERS, N_ITEMS = 138_000, 27_000
FACTORS = 64
EPOCHS = 8
ROUNDS = 2  # each engine runs this many times, alternating
FILES = 8


def main(sizes: list[int]) -> None:
    rows = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="recsys-distributed-") as folder:
            seconds = write_dataset(size, Path(folder))
            runs: dict[str, list[dict[str, Any]]] = {"local": [], "ray": []}
            for _ in range(ROUNDS):
                for engine in runs:
                    runs[engine].append(run_engine(engine, Path(folder)))
            summary = summarise(size, seconds, runs)
            # The same data with twice the factors, locally: separates the cost that
            # grows with k (per interaction) from the one that grows with k² (per row),
            # for the scaling model in docs/decisions.
            wide = [run_engine("local", Path(folder), 2 * FACTORS) for _ in range(ROUNDS)]
            summary["local_wide"] = statistics.median(t for r in wide for t in r["epochs"][1:])
            rows.append(summary)
    write_result("distributed.md", report(rows))
    print(report(rows))


def write_dataset(size: int, folder: Path) -> float:
    from recommender_systems import generate_interactions

    start = time.perf_counter()
    frame = generate_interactions(N_USERS, N_ITEMS, size, random_state=0)
    for number, part in enumerate(np.array_split(np.arange(len(frame)), FILES)):
        frame.iloc[part].to_parquet(folder / f"part-{number}.parquet", index=False)
    return time.perf_counter() - start


def run_engine(engine: str, folder: Path, factors: int = FACTORS) -> dict[str, Any]:
    """One engine's run in a fresh process (its peak memory is its own)."""
    command = [sys.executable, "-m", "benchmarks.distributed", "--run", engine, str(folder),
               str(factors)]  # fmt: skip
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# ------------------------------------------------------------------ one engine
def run_local(folder: Path, factors: int) -> dict[str, Any]:
    import pandas as pd

    from recommender_systems import ALS, Interactions

    start = time.perf_counter()
    data = Interactions.from_frame(pd.read_parquet(folder))
    load = time.perf_counter() - start
    epochs: list[float] = []
    model = ALS(n_factors=factors, epochs=EPOCHS, n_threads=2, random_state=0)
    model.fit(data, callback=lambda e: epochs.append(e.seconds))
    return {
        "load": load,
        "epochs": epochs,
        "driver_mb": _peak_mb(),
        "workers_mb": [],
        "factors": _checksum(model),
    }


def run_ray(folder: Path, factors: int) -> dict[str, Any]:
    import ray

    from recommender_systems import ALS
    from recommender_systems import distributed as dist

    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=6 * 2**30,
        _node_ip_address="127.0.0.1",
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        start = time.perf_counter()
        data = dist.read_interactions(folder, n_blocks=2)
        load = time.perf_counter() - start
        epochs: list[float] = []
        model = ALS(n_factors=factors, epochs=EPOCHS, n_threads=2, random_state=0)
        dist.fit(model, data, callback=lambda e: epochs.append(e.seconds))
        moved = bytes_per_iteration(data.n_users, data.n_items, factors, len(data.users))
        workers = _worker_peaks_mb()
    finally:
        ray.shutdown()
    return {
        "load": load,
        "epochs": epochs,
        "driver_mb": _peak_mb(),
        "workers_mb": workers,
        "factors": _checksum(model),
        "moved": moved,
    }


def bytes_per_iteration(n_users: int, n_items: int, k: int, n_blocks: int) -> dict[str, int]:
    """What one ALS iteration puts in the object store, and what a W-node cluster
    sends between nodes (each node pulls each stacked side once; blocks move to the
    node that stacks them and from it to the node that solves them, at worst)."""
    factors = (n_users + n_items) * k * 4
    grams = 2 * k * k * 4
    return {
        "written": 2 * factors + grams,  # new factor blocks + the stacked copies
        "stacked": factors + grams,  # the broadcast objects
        "per_extra_node": factors + grams + 2 * factors // max(n_blocks, 1),
    }


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker_peaks_mb() -> list[float]:
    """Peak resident memory of this process's Ray workers (``VmHWM``)."""
    peaks = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            if not cmdline.startswith(b"ray::") or not _descends_from(int(entry.name)):
                continue
            for line in Path(f"/proc/{entry.name}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        except OSError:
            continue
    return sorted(peaks, reverse=True)


def _descends_from(pid: int) -> bool:
    me = os.getpid()
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if pid == me:
            return True
    return False


def _checksum(model: Any) -> float:
    return float(np.abs(model.user_factors_).sum() + np.abs(model.item_factors_).sum())


# --------------------------------------------------------------------- report
def summarise(size: int, seconds: float, runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    def per_iteration(engine: str) -> float:
        return statistics.median(t for run in runs[engine] for t in run["epochs"][1:])

    local, distributed = per_iteration("local"), per_iteration("ray")
    same = {run["factors"] for engine in runs for run in runs[engine]}
    return {
        "size": size,
        "generate": seconds,
        "local": local,
        "ray": distributed,
        "ratio": distributed / local,
        "local_load": statistics.median(r["load"] for r in runs["local"]),
        "ray_load": statistics.median(r["load"] for r in runs["ray"]),
        "local_mb": max(r["driver_mb"] for r in runs["local"]),
        "driver_mb": max(r["driver_mb"] for r in runs["ray"]),
        "worker_mb": max((max(r["workers_mb"], default=0.0) for r in runs["ray"]), default=0.0),
        "moved": runs["ray"][0]["moved"],
        "identical": len(same) == 1,
    }


def report(rows: list[dict[str, Any]]) -> str:
    mb = 2**20
    lines = [
        "# Distributed ALS: Ray vs one process, on the same 2 cores",
        "",
        f"`generate_interactions({N_USERS:_}, {N_ITEMS:_}, N, random_state=0)` written as "
        f"{FILES} Parquet files; ALS with {FACTORS} factors, {EPOCHS} iterations, conjugate "
        "gradient (the defaults otherwise). Local: one process, `n_threads=2`. Ray: "
        "`ray.init(num_cpus=2)`, 2 user blocks and 2 item blocks, one kernel thread per "
        f"task. Each engine ran {ROUNDS} times, alternating, each time in a fresh process; "
        "seconds per iteration are medians over the iterations after the first.",
        "",
        "| interactions | local s/iter | Ray s/iter | overhead (Ray / local) | same factors "
        "| load: local s | load: Ray s | peak MB: local process | peak MB: Ray driver "
        "| peak MB: largest Ray worker |",
        "|---:|---:|---:|---:|:---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']:,} | {r['local']:.3f} | {r['ray']:.3f} | {r['ratio']:.2f}x | "
            f"{'yes' if r['identical'] else 'no'} | {r['local_load']:.1f} | {r['ray_load']:.1f} | "
            f"{r['local_mb']:,.0f} | {r['driver_mb']:,.0f} | {r['worker_mb']:,.0f} |"
        )
    lines += [
        "",
        f"Local seconds per iteration with {2 * FACTORS} factors on the same data (for the "
        "scaling model): " + ", ".join(f"{r['size']:,}: {r['local_wide']:.3f}" for r in rows) + ".",
    ]
    lines += [
        "",
        "Bytes per ALS iteration in the distributed fit (from the array sizes):",
        "",
        "| interactions | written to the object store | broadcast (stacked factors + Gram) "
        "| sent to each extra node, at most |",
        "|---:|---:|---:|---:|",
    ]
    for r in rows:
        m = r["moved"]
        lines.append(
            f"| {r['size']:,} | {m['written'] / mb:,.0f} MiB | {m['stacked'] / mb:,.0f} MiB "
            f"| {m['per_extra_node'] / mb:,.0f} MiB |"
        )
    lines += [
        "",
        "On one node nothing crosses a network: tasks read the stacked factors from "
        "shared memory without copying. 'same factors' compares a checksum of the "
        "factors of every run of both engines. Peak memory is the resident high-water "
        "mark (`ru_maxrss`, `VmHWM`); Ray workers map the object store, so a worker's "
        "figure includes the shared pages it read.",
        "",
        f"Load average at the end of the run: {os.getloadavg()[0]:.1f} (2 cores).",
        "",
        machine_summary(("recommender-systems", "numpy", "scipy", "ray")),
        "",
        "Command: `python -m benchmarks.distributed "
        + " ".join(str(r["size"]) for r in rows)
        + "`",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--run":
        runner = run_local if sys.argv[2] == "local" else run_ray
        print(json.dumps(runner(Path(sys.argv[3]), int(sys.argv[4]))))
    else:
        main([int(a) for a in sys.argv[1:]] or [20_000_000])
