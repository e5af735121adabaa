"""Top-n for every user against the cost of merely computing the scores.

    python -m benchmarks.topn_limit [--threads 2] [--repeats 3] [--scale 1.0]

For each shape (138,000 users x 27,000 items with 5.6M interactions, about
MovieLens 20M's; and 60,000 x 20,000 with 2.4M), ALS (64 factors, 3 epochs) is
fitted on ``generate_interactions`` data so that the factors have the norms real
factors have. Then, in one process, timed in turn (medians of ``--repeats`` runs
after a warm-up, same thread count, BLAS limited to it with threadpoolctl):

- ``recommend_batch`` for every user, top 10, seen items excluded: the fused
  candidate step of the factor models (``factor_topk``);
- the default candidate step it replaces (dense score blocks, then the top-k kernel);
- the fused kernel on random Gaussian factors of the same shapes, where every item
  has about the same norm and the bound skips little: the speed of the tiles alone;
- NumPy computing the scores alone as a blocked ``U @ V.T`` (no selection, no
  exclusion), at two block sizes; the faster is the reference.

The FLOP rates count ``2 * users * items * factors`` for every job (the fused kernel
skips part of that work exactly, so its rate is an effective one), beside a
2048 x 2048 x 2048 sgemm's. ``--scale`` shrinks both shapes (users, items and
interactions) for a quick run. Writes ``benchmarks/results/topn_limit.md``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks._common import interleaved_medians, machine_summary, write_result
from recommender_systems import ALS, Interactions, generate_interactions
from recommender_systems.base import Recommender
from recommender_systems.kernels import factor_topk

SHAPES = {
    "138k x 27k": (138_000, 27_000, 5_600_000),
    "60k x 20k": (60_000, 20_000, 2_400_000),
}
FACTORS = 64
N = 10
#: Score elements per block of NumPy's ``U @ V.T``: the factor models' block, and a
#: block four times larger (fewer, larger BLAS calls).
NUMPY_BLOCKS = (1 << 22, 1 << 24)


def numpy_scores(u: np.ndarray, v: np.ndarray, block_elements: int) -> Callable[[], None]:
    rows = max(1, block_elements // v.shape[0])
    out = np.empty((rows, v.shape[0]), dtype=np.float32)

    def run() -> None:
        for start in range(0, u.shape[0], rows):
            block = u[start : start + rows]
            np.matmul(block, v.T, out=out[: block.shape[0]])

    return run


def sgemm_gflops(repeats: int) -> float:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2048, 2048), dtype=np.float32)
    b = rng.standard_normal((2048, 2048), dtype=np.float32)
    seconds = interleaved_medians({"sgemm": lambda: a @ b}, repeats)["sgemm"]
    return 2 * 2048**3 / seconds / 1e9


def measure(
    name: str, shape: tuple[int, int, int], scale: float, threads: int, repeats: int
) -> list[str]:
    users, items, nnz = (max(1, int(x * scale)) for x in shape)
    data = Interactions.from_frame(generate_interactions(users, items, nnz, random_state=0))
    start = time.perf_counter()
    model = ALS(n_factors=FACTORS, epochs=3, n_threads=threads, random_state=0).fit(
        data, progress=False
    )
    print(
        f"{name}: {data.n_users:,} x {data.n_items:,}, ALS fit {time.perf_counter() - start:.1f} s"
    )
    ids = data.user_ids.ids
    everyone = np.arange(data.n_users, dtype=np.int64)
    u, v = model.user_factors_, model.item_factors_

    def dense_step() -> None:
        Recommender._top_candidates(model, everyone, N, model.user_items_, None)

    rng = np.random.default_rng(0)
    gauss_u = rng.standard_normal(u.shape, dtype=np.float32)
    gauss_v = rng.standard_normal(v.shape, dtype=np.float32)

    def fused_gaussian() -> None:
        factor_topk(gauss_u, everyone, gauss_v, N, exclude=model.user_items_, n_threads=threads)

    runs: dict[str, Callable[[], object]] = {
        "recommend_batch, top 10 (fused)": lambda: model.recommend_batch(ids, n=N),
        "default candidate step (dense blocks + top-k)": dense_step,
        "fused kernel on Gaussian factors (little to skip)": fused_gaussian,
    }
    for block in NUMPY_BLOCKS:
        runs[f"NumPy U @ V.T, scores only (blocks of {block:,} scores)"] = numpy_scores(u, v, block)
    medians = interleaved_medians(runs, repeats)
    fused = model._top_candidates(everyone, N, model.user_items_, None)
    dense = Recommender._top_candidates(model, everyone, N, model.user_items_, None)
    same = float(np.mean(fused[0] == dense[0]))
    worst = float(np.nanmax(np.abs(fused[1] - dense[1])))
    numpy_best = min(t for task, t in medians.items() if task.startswith("NumPy"))
    flops = 2 * data.n_users * data.n_items * FACTORS
    lines = [
        f"## {name}: {data.n_users:,} users x {data.n_items:,} items, "
        f"{data.nnz:,} interactions, {FACTORS} factors",
        "",
        "| job | seconds | / NumPy scores only | GFLOP/s (effective) |",
        "|---|---:|---:|---:|",
    ]
    for task, seconds in medians.items():
        lines.append(
            f"| {task} | {seconds:.3f} | {seconds / numpy_best:.2f} | {flops / seconds / 1e9:.1f} |"
        )
        print(f"  {task}: {seconds:.3f} s ({seconds / numpy_best:.2f} of NumPy)")
    lines += [
        "",
        f"The fused lists against the default step's: {same:.4%} of the "
        f"{fused[0].size:,} entries are the same item; scores differ by at most {worst:.2g} "
        "(float32 rounding: the dense path sums in BLAS's order).",
    ]
    print(f"  same items as the default step: {same:.4%}, largest score difference {worst:.2g}")
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description="Fused top-n against NumPy's scores alone.")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="shrink the shapes (quick runs)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated shape names")
    args = parser.parse_args()
    sections: list[str] = []
    with threadpool_limits(args.threads):
        gflops = sgemm_gflops(args.repeats)
        print(f"sgemm 2048^3: {gflops:.1f} GFLOP/s")
        for name in (s.strip() for s in args.shapes.split(",")):
            sections += measure(name, SHAPES[name], args.scale, args.threads, args.repeats)
    text = "\n".join(
        [
            "# Top-n for every user against computing the scores alone",
            "",
            f"{args.threads} threads everywhere (BLAS limited to the same), medians of "
            f"{args.repeats} runs after a warm-up, jobs timed in turn in one process. "
            "Target (issue 13): recommend_batch at most 0.7 of NumPy's scores-only time. "
            "The fused kernel skips items exactly (a Cauchy-Schwarz bound), so its FLOP "
            "rate counts work it did not do. "
            f"A 2048 x 2048 x 2048 sgemm runs at {gflops:.1f} GFLOP/s here.",
            "",
            "Absolute times depend on what else the machine runs: ratios (timed in "
            "turn) are more reliable.",
            "",
            *sections,
            machine_summary(("recommender-systems", "numpy", "scipy")),
            "",
            f"Command: `python -m benchmarks.topn_limit --threads {args.threads} "
            f"--repeats {args.repeats} --scale {args.scale}`",
            "",
        ]
    )
    write_result("topn_limit.md", text)
    print(text)


if __name__ == "__main__":
    main()
