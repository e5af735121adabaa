"""Matrix factorisation on MovieLens 100k, original protocol: fit times and quality,
ours (Rust kernels and the Python fallback) against ``implicit``.

    RECSYS_DATA_DIR=../shared/data python -m benchmarks.factorization_ml100k [--repeats 5]

Fit times (median of ``--repeats`` runs after a warm-up, same data, same thread
count for both libraries, BLAS limited to that count too): BPR with 16 factors
and 5 epochs (ours, our pure-Python fallback, ``implicit``) and ALS with 64
factors and 15 iterations. Quality (P@10, R@10, MAP@10, NDCG@10, coverage) on
the original split (random 80/20 rows, seed 20260527, every test row relevant,
seen items excluded) for our models at their defaults and at the benchmark
settings, and for ``implicit``'s at its defaults and at the same settings.
Writes ``benchmarks/results/factorization_ml100k.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

from threadpoolctl import threadpool_limits

from benchmarks._common import interleaved_medians, machine_summary, write_result
from benchmarks.peers import ImplicitFactors, implicit_model
from recommender_systems import (
    ALS,
    BPR,
    SVD,
    Interactions,
    Recommender,
    evaluate,
    load_movielens_100k,
    split_ratings,
)
from recommender_systems.kernels import _loader

SEED = 20260527
METRICS = ("precision", "recall", "map", "ndcg", "coverage")
BPR_SMALL: dict[str, Any] = {"n_factors": 16, "epochs": 5}
ALS_BENCH: dict[str, Any] = {"n_factors": 64, "iterations": 15}
SETTINGS = (
    ("BPR", "16 factors, 5 epochs"),
    ("ALS", "64 factors, 15 iterations"),
    ("ALS-constant-reg", "64 factors, 15 iterations, implicit's reg=0.01 for both"),
)

# Runs in a child process with the extension disabled: our Python fallback.
FALLBACK_SCRIPT = textwrap.dedent(
    """
    import json, statistics, sys, time
    import recommender_systems as rs
    from recommender_systems.kernels import backend
    assert backend() == "python", backend()
    repeats = int(sys.argv[1])
    train, test = rs.split_ratings(rs.load_movielens_100k(progress=False), 0.2, random_state={seed})
    data = rs.Interactions.from_frame(train)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model = rs.BPR(n_factors=16, epochs=5, random_state=0).fit(data)
        times.append(time.perf_counter() - start)
    result = rs.evaluate(model, None, test, k=10)
    print(json.dumps({{"seconds": statistics.median(times), "metrics": dict(result)}}))
    """
).format(seed=SEED)


def fallback_bpr(repeats: int) -> dict[str, Any]:
    env = {**os.environ, "RECSYS_NO_EXTENSION": "1"}
    out = subprocess.run(
        [sys.executable, "-c", FALLBACK_SCRIPT, str(repeats)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def fit_times(data: Interactions, threads: int, repeats: int) -> dict[str, float]:
    csr = data.matrix.copy()  # implicit needs writable arrays
    runs: dict[str, Callable[[], object]] = {
        "BPR ours": lambda: BPR(**BPR_SMALL, random_state=0, n_threads=threads).fit(data),
        "BPR implicit": lambda: implicit_model(
            "bpr", {"factors": 16, "iterations": 5, "num_threads": threads, "random_state": 0}
        ).fit(csr, show_progress=False),
        "ALS ours": lambda: ALS(**ALS_BENCH, random_state=0, n_threads=threads).fit(data),
        "ALS-constant-reg ours": lambda: ALS(
            **ALS_BENCH, regularization=0.01, reg_exponent=0.0, random_state=0, n_threads=threads
        ).fit(data),
        "ALS implicit": lambda: implicit_model(
            "als", {"factors": 64, "iterations": 15, "num_threads": threads, "random_state": 0}
        ).fit(csr, show_progress=False),
    }
    with threadpool_limits(threads):
        return interleaved_medians(runs, repeats)


def quality(
    models: dict[str, Recommender], train: Interactions, test: Any
) -> dict[str, dict[str, float]]:
    return {
        name: dict(evaluate(model, train, test, k=10, metrics=METRICS))
        for name, model in models.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    if _loader.extension is None:
        raise SystemExit(f"the Rust extension is not available: {_loader.backend_status()}")

    train_frame, test = split_ratings(load_movielens_100k(progress=False), 0.2, random_state=SEED)
    train = Interactions.from_frame(train_frame)
    times = {threads: fit_times(train, threads, args.repeats) for threads in (1, 2)}
    fallback = fallback_bpr(3)

    with threadpool_limits(2):
        scores = quality(
            {
                "ours: BPR, defaults": BPR(random_state=0),
                "ours: ALS, defaults": ALS(random_state=0),
                "ours: SVD, defaults": SVD(random_state=0),
                "ours: BPR, 16 factors, 5 epochs": BPR(**BPR_SMALL, random_state=0),
                "ours: ALS, 64 factors, 15 iterations": ALS(**ALS_BENCH, random_state=0),
                "implicit: BPR, defaults": ImplicitFactors("bpr", {"random_state": 0}),
                "implicit: ALS, defaults": ImplicitFactors("als", {"random_state": 0}),
                "implicit: BPR, 16 factors, 5 epochs": ImplicitFactors(
                    "bpr", {"factors": 16, "iterations": 5, "random_state": 0}
                ),
                "implicit: ALS, 64 factors, 15 iterations": ImplicitFactors(
                    "als", {"factors": 64, "iterations": 15, "random_state": 0}
                ),
            },
            train,
            test,
        )
    scores["ours: BPR, 16 factors, 5 epochs, Python fallback"] = fallback["metrics"]
    text = report(times, fallback["seconds"], scores, args.repeats)
    path = write_result("factorization_ml100k.md", text)
    print(text)
    print(f"written to {path}")


def report(
    times: dict[int, dict[str, float]],
    fallback_seconds: float,
    scores: dict[str, dict[str, float]],
    repeats: int,
) -> str:
    lines = [
        "# Matrix factorisation on MovieLens 100k: ours vs implicit",
        "",
        f"Original protocol (random 80/20 row split, seed {SEED}). Fit times are medians of "
        f"{repeats} runs after a warm-up, the libraries timed in turn; both get the same "
        "prebuilt CSR matrix, the same thread count, and BLAS limited to that count.",
        "",
        "## Fit time",
        "",
        "| model | threads | ours (s) | implicit (s) | implicit / ours |",
        "|---|---:|---:|---:|---:|",
    ]
    for threads, t in times.items():
        for family, setting in SETTINGS:
            ours = t[f"{family} ours"]
            theirs = t[f"{family.split('-')[0]} implicit"]
            lines.append(
                f"| {family.split('-')[0]} ({setting}) | {threads} | {ours:.4f} | {theirs:.4f} | "
                f"{theirs / ours:.1f}x |"
            )
    bpr_one = times[1]["BPR ours"]
    lines += [
        "",
        "Both ALS run conjugate gradient with at most 3 steps per row; ours stops a row "
        "early once its residual is below 1e-4 of its starting value, which our default "
        "regularisation (it grows with each row's weight) reaches sooner; the third ALS "
        "row gives ours `implicit`'s constant `reg=0.01`.",
        "",
        "With 2 threads our BPR still runs one ordered pass here: it gives a thread its "
        "own shard only for at least 100,000 interactions (on less, Hogwild threads mostly "
        "wait for each other's item rows), and MovieLens 100k's training split has 80,000.",
        "",
        f"Our BPR (16 factors, 5 epochs, 1 thread): Rust kernel {bpr_one:.4f} s, pure-Python "
        f"fallback {fallback_seconds:.2f} s: **{fallback_seconds / bpr_one:.0f}x** faster.",
        "",
        "## Quality (k = 10)",
        "",
        "| model | P@10 | R@10 | MAP@10 | NDCG@10 | coverage |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, values in scores.items():
        cells = " | ".join(f"{values[f'{m}@10']:.4f}" for m in METRICS)
        lines.append(f"| {name} | {cells} |")
    lines += [
        "",
        machine_summary(("recommender-systems", "numpy", "scipy", "implicit")),
        "",
        "Command: `RECSYS_DATA_DIR=../shared/data python -m benchmarks.factorization_ml100k`",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
