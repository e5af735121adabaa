"""Which models fit on this machine at 20M and 100M interactions, and how long they take.

    python -m benchmarks.scale [--sizes 20m,100m] [--threads 2] [--timeout 600]

Data: ``generate_interactions`` (power-law users and items, no value column) with
138,000 users and

- ``20m``: 27,000 items and 20 million interactions (MovieLens 20M's shape);
- ``100m``: 100,000 items and 100 million interactions (the catalogue grows with
  the log, as it does in real services; 27,000 items would make it 2.7% dense).

Each model runs in its own process at its defaults (threads set to ``--threads``;
BPR at ``--bpr-epochs`` epochs, reported beside its default of 200): load the
matrix, ``fit``, then top-10 for every user with seen items excluded
(``recommend_batch``). Reported: fit seconds, top-10 seconds, and the process's
peak resident memory (the loaded matrix included). A job is stopped after
``--timeout`` seconds; a model whose dense state cannot fit in memory (EASE's
items x items matrices) is not started, with the size it would need. Writes
``benchmarks/results/scale.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from benchmarks._common import machine_summary, write_result
from benchmarks.factorization_scale import MB, _resident_bytes, build_data
from recommender_systems import Interactions, create

SIZES = {
    "20m": (138_000, 27_000, 20_000_000),
    "100m": (138_000, 100_000, 100_000_000),
}
MODELS = ("most-popular", "svd", "als", "bpr", "item-knn", "rp3beta", "user-knn", "ease")
GB = 1 << 30
#: EASE holds the Gram matrix and its inverse (float32 by default) at once, plus a
#: working copy during the solve.
EASE_DENSE_COPIES = 3


def _physical_bytes() -> int:
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def run_job(name: str, path: str, threads: int, bpr_epochs: int) -> dict[str, Any]:
    arrays = np.load(path)
    shape = (int(arrays["shape"][0]), int(arrays["shape"][1]))
    csr = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape)
    data = Interactions.from_sparse(csr)
    del arrays
    loaded = _resident_bytes("VmRSS")
    model = create(name)
    params = model.get_params()
    if "n_threads" in params:
        model.set_params(n_threads=threads)
    if name == "bpr":
        model.set_params(epochs=bpr_epochs)
    with threadpool_limits(threads):
        started = time.perf_counter()
        model.fit(data)
        fitted = time.perf_counter()
        model.recommend_batch(data.user_ids.ids, n=10)
        done = time.perf_counter()
    return {
        "fit_s": fitted - started,
        "top10_s": done - fitted,
        "loaded_mb": loaded / MB,
        "peak_mb": _resident_bytes("VmHWM") / MB,
    }


def _limit_memory() -> None:
    # A job that asks for more than the machine has fails in its own process
    # (MemoryError) instead of waking the kernel's OOM killer.
    limit = _physical_bytes() - GB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def child(name: str, path: Path, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "benchmarks.scale", "--job", name, "--data", str(path),
        "--threads", str(args.threads), "--bpr-epochs", str(args.bpr_epochs),
    ]  # fmt: skip
    try:
        out = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            env=os.environ,
            timeout=args.timeout,
            preexec_fn=_limit_memory,
        )
    except subprocess.TimeoutExpired:
        return {"status": f"did not finish in {args.timeout / 60:.0f} min"}
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or [f"exit code {out.returncode}"])[-1]
        memory = "MemoryError" in out.stderr or "memory allocation" in out.stderr
        return {"status": "out of memory" if memory else f"failed: {tail[:120]}"}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return {"status": "ok", **result}


def ease_needs(n_items: int) -> float:
    return float(EASE_DENSE_COPIES * n_items * n_items * 4)


def run_size(size: str, args: argparse.Namespace) -> tuple[dict[str, float], dict[str, Any]]:
    users, items, interactions = SIZES[size]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "interactions.npz"
        started = time.perf_counter()
        info = build_data(path, users, items, interactions)
        print(f"{size}: generated in {time.perf_counter() - started:.0f} s", flush=True)
        for name in args.models:
            if name == "ease" and ease_needs(items) > _physical_bytes():
                need = ease_needs(items) / GB
                results[name] = {"status": f"not started: needs about {need:.0f} GiB"}
            else:
                results[name] = child(name, path, args)
            print(f"  {name}: {results[name]}", flush=True)
    return info, results


def report(
    args: argparse.Namespace, runs: dict[str, tuple[dict[str, float], dict[str, Any]]]
) -> str:
    lines = [
        "# Scale: which models fit in this machine, and how long they take",
        "",
        f"Each model in its own process at its defaults, {args.threads} threads (BLAS too); "
        f"BPR at {args.bpr_epochs} epochs (its default is 200: fit time grows in proportion). "
        "Fit, then top-10 for every user with seen items excluded. Peak memory is the "
        "process's peak resident size, the loaded matrix included. One run per job; "
        f"jobs stopped after {args.timeout / 60:.0f} min. Machine memory: "
        f"{_physical_bytes() / GB:.1f} GiB.",
        "",
    ]
    for size, (info, results) in runs.items():
        users, items, _ = SIZES[size]
        lines += [
            f"## {size}: {users:,} users x {items:,} items, {info['nnz']:,.0f} interactions "
            f"(CSR {info['csr_mb']:,.0f} MiB)",
            "",
            "| model | fits | fit (s) | top-10 for all users (s) | peak memory (GiB) |",
            "|---|---|---:|---:|---:|",
        ]
        for name, result in results.items():
            if result["status"] == "ok":
                lines.append(
                    f"| {name} | yes | {result['fit_s']:,.1f} | {result['top10_s']:,.1f} | "
                    f"{result['peak_mb'] / 1024:.2f} |"
                )
            else:
                lines.append(f"| {name} | {result['status']} | | | |")
        lines.append("")
    lines += [
        machine_summary(),
        "",
        f"Command: `python -m benchmarks.scale --sizes {','.join(runs)} --threads {args.threads} "
        f"--timeout {args.timeout:.0f} --bpr-epochs {args.bpr_epochs}`",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20m,100m")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per job")
    parser.add_argument("--bpr-epochs", type=int, default=5)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        print(json.dumps(run_job(args.job, args.data, args.threads, args.bpr_epochs)))
        return
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = sorted(set(sizes) - set(SIZES))
    if unknown:
        parser.error(f"--sizes: expected some of {', '.join(SIZES)}, received {unknown}")
    runs: dict[str, tuple[dict[str, float], dict[str, Any]]] = {}
    for size in sizes:  # the report is rewritten after each size: long runs keep what is done
        runs[size] = run_size(size, args)
        out = write_result("scale.md", report(args, runs))
    print(report(args, runs))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
