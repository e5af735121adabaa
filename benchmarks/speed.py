"""Speed suite: fit and recommend timings, ours beside ``implicit``, at three sizes.

    python -m benchmarks.speed [--threads 2] [--repeats 3] [--sizes ml-100k,1m,10m]

Data: MovieLens 100k (``RECSYS_DATA_DIR``), and synthetic power-law data from
``generate_interactions`` with 1 million (30,000 users x 10,000 items) and 10
million interactions (138,000 x 27,000, about MovieLens 20M's shape). Every job
gets the same CSR matrix and the same thread count in both libraries (ours
``n_threads``, implicit's ``num_threads``), with BLAS limited to it by
threadpoolctl. Paired jobs are timed in turn (ours, implicit, ours, ...) and the
median of ``--repeats`` runs after a warm-up is reported, with the ratio
``implicit / ours`` (above 1: ours is faster).

Paired jobs:

- ALS fit: 64 factors, 15 iterations (5 at 10M), conjugate gradient;
- BPR fit: 64 factors, 5 epochs;
- ItemKNN fit: BM25, 200 neighbours per item;
- top-10 for every user, seen items excluded, ranked from the same ALS factors.

Our models without a counterpart in ``implicit`` are timed alone (fit, one run at
10M). Then, at the largest size, the peak resident memory of each factor job beside
implicit's, each job in its own process (``benchmarks.factorization_scale``): ALS
fit, BPR fit, top-10 for every user, and the whole workflow (ALS fit then top-10),
the loaded matrix included. ``--memory-size none`` skips it. Writes
``benchmarks/results/speed.md``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from benchmarks import factorization_scale
from benchmarks._common import interleaved_medians, machine_summary, write_result
from benchmarks.peers import implicit_model
from recommender_systems import (
    ALS,
    BPR,
    EASE,
    SVD,
    Interactions,
    ItemKNN,
    RP3beta,
    UserKNN,
    datasets,
    generate_interactions,
)
from recommender_systems.base import Recommender

SIZES = {
    "1m": (30_000, 10_000, 1_000_000),
    "10m": (138_000, 27_000, 10_000_000),
}
FACTORS = 64


@dataclass
class Row:
    task: str
    ours: float
    implicit: float | None = None


def load(size: str) -> Interactions:
    if size == "ml-100k":
        return Interactions.from_frame(datasets.load("ml-100k", progress=False))
    users, items, n = SIZES[size]
    return Interactions.from_frame(generate_interactions(users, items, n, random_state=0))


def paired(data: Interactions, size: str, threads: int, repeats: int) -> list[Row]:
    csr = sp.csr_matrix(data.matrix, dtype=np.float32, copy=True)  # implicit writes to it
    iterations = 5 if size == "10m" else 15
    t = {"num_threads": threads, "random_state": 0}

    def implicit_fit(kind: str, params: dict[str, object]) -> Callable[[], object]:
        return lambda: implicit_model(kind, params).fit(csr, show_progress=False)

    jobs: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        f"ALS fit ({FACTORS} factors, {iterations} iterations)": (
            lambda: ALS(n_factors=FACTORS, epochs=iterations, n_threads=threads).fit(data),
            implicit_fit("als", {"factors": FACTORS, "iterations": iterations, **t}),
        ),
        f"BPR fit ({FACTORS} factors, 5 epochs)": (
            lambda: BPR(n_factors=FACTORS, epochs=5, n_threads=threads, random_state=0).fit(data),
            implicit_fit("bpr", {"factors": FACTORS, "iterations": 5, **t}),
        ),
        "ItemKNN fit (cosine, k = 100)": (
            lambda: ItemKNN(n_neighbors=100, similarity="cosine", n_threads=threads).fit(data),
            implicit_fit("cosine", {"K": 100, "num_threads": threads}),
        ),
        "ItemKNN fit (BM25, k = 200)": (
            lambda: ItemKNN(n_neighbors=200, similarity="bm25", n_threads=threads).fit(data),
            implicit_fit("bm25", {"K": 200, "num_threads": threads}),
        ),
    }
    # Top-10 from the same factors in both libraries, so both do the same work.
    als = ALS(n_factors=FACTORS, epochs=1, n_threads=threads, random_state=0).fit(data)
    peer = implicit_model("als", {"factors": FACTORS, "iterations": 0, **t})
    peer.fit(csr, show_progress=False)
    peer.user_factors, peer.item_factors = als.user_factors_, als.item_factors_
    users, everyone = data.user_ids.ids, np.arange(data.n_users)
    jobs["top-10 for every user (ALS factors)"] = (
        lambda: als.recommend_batch(users, n=10),
        lambda: peer.recommend(everyone, csr, N=10),
    )
    rows = []
    for task, (ours, theirs) in jobs.items():
        medians = interleaved_medians({"ours": ours, "implicit": theirs}, repeats)
        rows.append(Row(task, medians["ours"], medians["implicit"]))
        print(f"  {task}: ours {medians['ours']:.3f} s, implicit {medians['implicit']:.3f} s")
    return rows


def alone(data: Interactions, size: str, threads: int, repeats: int) -> list[Row]:
    models: dict[str, Callable[[], Recommender]] = {
        "RP3beta fit (defaults)": lambda: RP3beta(n_threads=threads),
        "UserKNN fit (defaults)": lambda: UserKNN(n_threads=threads),
        "SVD fit (defaults)": lambda: SVD(random_state=0),
    }
    if size != "10m":  # 27k items: a dense 27k x 27k inverse, minutes on 2 cores
        models["EASE fit (defaults)"] = lambda: EASE()
    runs = 1 if size == "10m" else repeats
    rows = []
    for task, make in models.items():
        seconds = []
        for _ in range(runs):
            start = time.perf_counter()
            make().fit(data)
            seconds.append(time.perf_counter() - start)
        rows.append(Row(task, float(np.median(seconds))))
        print(f"  {task}: {rows[-1].ours:.3f} s")
    return rows


#: Peak-memory jobs of benchmarks.factorization_scale: (task, ours, implicit).
MEMORY_JOBS = (
    ("ALS fit", "als-ours", "als-implicit"),
    ("BPR fit", "bpr-ours", "bpr-implicit"),
    ("top-10 for every user", "topk-ours", "topk-implicit"),
    ("ALS fit + top-10 for every user", "als-topk-ours", "als-topk-implicit"),
)


def memory(size: str, threads: int) -> list[str]:
    """Peak RSS of each job in its own process, ours beside implicit."""
    users, items, n = SIZES[size]
    options = argparse.Namespace(threads=threads, factors=FACTORS, repeats=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "interactions.npz"
        factorization_scale.build_data(path, users, items, n)
        peaks = {
            job: factorization_scale.child(job, path, options)["peak_mb"]
            for _, *jobs in MEMORY_JOBS
            for job in jobs
        }
    lines = [
        f"## Peak memory at {size} (each job in its own process, matrix loaded once)",
        "",
        "| job | ours (MiB) | implicit (MiB) | ours / implicit |",
        "|---|---:|---:|---:|",
    ]
    for task, ours, theirs in MEMORY_JOBS:
        lines.append(
            f"| {task} | {peaks[ours]:.0f} | {peaks[theirs]:.0f} | "
            f"{peaks[ours] / peaks[theirs]:.2f} |"
        )
        print(f"  peak RSS, {task}: ours {peaks[ours]:.0f} MiB, implicit {peaks[theirs]:.0f} MiB")
    return [*lines, ""]


def table(size: str, data: Interactions, rows: list[Row]) -> list[str]:
    lines = [
        f"## {size}: {data.n_users:,} users x {data.n_items:,} items, {data.nnz:,} interactions",
        "",
        "| task | ours (s) | implicit (s) | implicit / ours |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        if r.implicit is None:
            lines.append(f"| {r.task} | {r.ours:.3f} | | |")
        else:
            lines.append(
                f"| {r.task} | {r.ours:.3f} | {r.implicit:.3f} | {r.implicit / r.ours:.2f}x |"
            )
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description="Fit and recommend timings beside implicit.")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="ml-100k,1m,10m")
    parser.add_argument(
        "--memory-size", default="10m", help="size of the peak-memory jobs ('none' skips them)"
    )
    args = parser.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]

    sections: list[str] = []
    with threadpool_limits(args.threads):
        for size in sizes:
            print(f"{size}:")
            data = load(size)
            rows = paired(data, size, args.threads, args.repeats)
            rows += alone(data, size, args.threads, args.repeats)
            sections += table(size, data, rows)
    if args.memory_size != "none":
        print(f"peak memory at {args.memory_size}:")
        sections += memory(args.memory_size, args.threads)
    text = "\n".join(
        [
            "# Speed: ours beside implicit",
            "",
            f"{args.threads} threads in both libraries (BLAS limited to the same), medians of "
            f"{args.repeats} runs after a warm-up, paired jobs timed in turn. Ratios above 1 "
            "mean ours is faster. Our models without a counterpart in implicit are timed "
            "alone (one run at 10M; EASE is left out at 10M: its dense 27k x 27k inverse "
            "takes minutes there). Top-10 for every user runs our fused kernel (decision "
            "record 0017), which skips items exactly by a norm bound: on trained ALS factors "
            "it scores few items. The memory jobs' top-10 ranks random factors, where little "
            "can be skipped (`benchmarks/results/topn_limit.md` has both). The machine may "
            "have been shared with other jobs (see the commit that added these numbers): "
            "ratios, timed in turn, are more reliable than absolute times.",
            "",
            *sections,
            machine_summary(("recommender-systems", "numpy", "scipy", "implicit")),
            "",
            f"Command: `python -m benchmarks.speed --threads {args.threads} "
            f"--repeats {args.repeats} --sizes {','.join(sizes)} "
            f"--memory-size {args.memory_size}`",
            "",
        ]
    )
    write_result("speed.md", text)
    print(text)


if __name__ == "__main__":
    main()
