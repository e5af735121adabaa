"""Neighbourhood, linear, content and hybrid models beside implicit's ItemKNN.

    python -m benchmarks.neighborhood [--repeats 5] [--threads 2]
    python -m benchmarks.neighborhood --scale [--threads 2]

Quality: MovieLens 100k under the original protocol (random 80/20 row split, seed
20260527, every test row relevant, seen items excluded), every model at its
defaults, beside implicit's CosineRecommender and BM25Recommender (at their
defaults, fitted on the rating values) in the same run. Speed: median fit time
over ``--repeats`` runs after a warm-up, and the ratio to implicit for the same
model at equal k and threads. Writes ``benchmarks/results/neighborhood.md``.

``--scale`` fits ItemKNN and UserKNN (and implicit's BM25 ItemKNN) on the
synthetic 10-million-interaction data (``generate_interactions(138_000, 27_000,
10_000_000, random_state=0)``), each in a fresh process that reports its own time and
peak memory, and writes ``benchmarks/results/neighborhood-scale.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import time
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from benchmarks._common import machine_summary, median_seconds, write_result
from recommender_systems import (
    EASE,
    ContentBased,
    HybridRecommender,
    Interactions,
    ItemKNN,
    RP3beta,
    UserKNN,
    datasets,
    evaluate,
    load_movielens_100k,
    split_ratings,
    text_features,
)
from recommender_systems.base import Recommender

ORIGINAL_SEED = 20260527
METRICS = ("ndcg", "precision", "recall", "map", "coverage")
PACKAGES = ("recommender-systems", "numpy", "scipy", "implicit")


def _scipy_csr(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """A writable int32-indexed copy, as implicit expects."""
    return sp.csr_matrix(
        (matrix.data.copy(), matrix.indices.copy(), matrix.indptr.astype(np.int32)),
        shape=matrix.shape,
    )


class ImplicitItemKNN(Recommender):
    """implicit's ItemKNN (``"cosine"`` or ``"bm25"``) behind our API, for a fair
    evaluation with the same protocol code. Scores are ``user_items @ similarity``
    on the rating values, as implicit's ``recommend`` computes them."""

    def __init__(self, kind: str = "bm25", k: int = 20, n_threads: int = 0) -> None:
        self.kind = kind
        self.k = k
        self.n_threads = n_threads

    similarity_: sp.csr_matrix

    def _fit(self, data: Interactions) -> None:
        from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

        cls = BM25Recommender if self.kind == "bm25" else CosineRecommender
        model = cls(K=self.k, num_threads=self.n_threads)
        model.fit(_scipy_csr(data.matrix), show_progress=False)
        self.similarity_ = sp.csr_matrix(model.similarity)

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return (self.user_items_[users] @ self.similarity_).toarray()


def genre_features() -> pd.DataFrame:
    """MovieLens 100k genres as binary features, for ContentBased."""
    items = datasets.load_item_metadata("ml-100k")
    text = items["genres"].map(lambda genres: " ".join(genres))
    return text_features(pd.DataFrame({"item_id": items["item_id"], "text": text}), kind="binary")


def quality_and_speed(repeats: int, threads: int) -> list[str]:
    ratings = load_movielens_100k(progress=False)
    train, test = split_ratings(ratings, test_size=0.2, random_state=ORIGINAL_SEED)
    data = Interactions.from_frame(train)
    genres = genre_features()

    models: dict[str, Callable[[], Recommender]] = {
        "implicit CosineRecommender (K=20)": lambda: ImplicitItemKNN("cosine", 20, threads),
        "implicit BM25Recommender (K=20)": lambda: ImplicitItemKNN("bm25", 20, threads),
        "`item-knn` ItemKNN()": lambda: ItemKNN(n_threads=threads),
        "`item-knn` ItemKNN(similarity='cosine')": lambda: ItemKNN(
            similarity="cosine", n_threads=threads
        ),
        "`user-knn` UserKNN()": lambda: UserKNN(n_threads=threads),
        "`ease` EASE()": lambda: EASE(),
        "`ease` EASE(dtype='float32')": lambda: EASE(dtype="float32"),
        "`rp3beta` RP3beta()": lambda: RP3beta(n_threads=threads),
        "`content` ContentBased(genres)": lambda: ContentBased(item_features=genres),
        "`content` ContentBased() (no features)": lambda: ContentBased(),
        "`hybrid` HybridRecommender()": lambda: HybridRecommender(n_threads=threads),
    }
    lines = [
        "## Quality: MovieLens 100k, original protocol",
        "",
        f"Every model at its defaults (threads = {threads}); fit time is the median of "
        f"{repeats} fits after a warm-up, on prebuilt data (implicit gets the same CSR).",
        "",
        "| model | NDCG@10 | P@10 | R@10 | MAP@10 | coverage | fit s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, make in models.items():
        result = evaluate(make(), data, test, k=10, metrics=METRICS)
        seconds = fit_seconds(make, data, repeats)
        values = " | ".join(f"{result[f'{m}@10']:.4f}" for m in METRICS)
        lines.append(f"| {name} | {values} | {seconds:.3f} |")
        print(lines[-1], flush=True)

    lines += [
        "",
        "implicit's rows are implicit's own similarity matrices, scored as implicit's "
        "`recommend` does (`user_items @ similarity`, checked to give the same lists), "
        "through the same evaluation code. ContentBased on genres alone has no signal of "
        "quality or popularity (all 19 genres, binary), so it recommends obscure items "
        "of the right genre; it is there to show the content path works, not as a "
        "contender. Without features ContentBased describes items by their users.",
        "",
        "## Fit time against implicit at equal k and threads",
        "",
        "The same model on both sides: ItemKNN cosine is implicit's CosineRecommender, "
        "ItemKNN BM25 (K1 = 1.2, B = 0.75) its BM25Recommender. Median of "
        f"{repeats} fits after a warm-up; ratio > 1 means ours is faster.",
        "",
        "| model | k | threads | ours s | implicit s | implicit / ours |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    similarities: tuple[Literal["cosine", "bm25"], ...] = ("cosine", "bm25")
    for kind in similarities:
        for k in (20, 200):
            for n in sorted({1, threads}):
                ours = fit_seconds(
                    partial(ItemKNN, n_neighbors=k, similarity=kind, n_threads=n), data, repeats
                )
                theirs = fit_seconds(partial(ImplicitItemKNN, kind, k, n), data, repeats)
                lines.append(
                    f"| ItemKNN {kind} | {k} | {n} | {ours:.4f} | {theirs:.4f} | "
                    f"{theirs / ours:.2f}x |"
                )
                print(lines[-1], flush=True)
    return lines


def fit_seconds(make: Callable[[], Recommender], data: Interactions, repeats: int) -> float:
    """Median time to fit a new model from ``make()`` on ``data``."""
    return median_seconds(lambda: make().fit(data), repeats)


SCALE_SCRIPT = textwrap.dedent(
    """
    import gc, json, sys, time, warnings
    import numpy as np, scipy.sparse as sp
    from recommender_systems import Interactions, ItemKNN, UserKNN, generate_interactions
    warnings.filterwarnings("ignore", message=".*expects CSR input.*")

    def status(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])  # KiB

    which, threads = sys.argv[1], int(sys.argv[2])
    frame = generate_interactions(138_000, 27_000, 10_000_000, random_state=0)
    data = Interactions.from_frame(frame)
    del frame
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak (VmHWM) to the current RSS
    before = status("VmRSS")
    start = time.perf_counter()
    if which == "implicit-bm25":
        from implicit.nearest_neighbours import BM25Recommender
        m = data.matrix
        csr = sp.csr_matrix((m.data.copy(), m.indices.copy(), m.indptr.astype(np.int32)),
                            shape=m.shape)
        BM25Recommender(K=200, num_threads=threads).fit(csr, show_progress=False)
    else:
        model = {"item-knn": ItemKNN, "user-knn": UserKNN}[which](n_threads=threads)
        model.fit(data)
        model.recommend_batch(data.user_ids.ids[:1000], n=10)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "before_kib": before, "peak_kib": status("VmHWM")}))
    """
)


def scale(threads: int) -> list[str]:
    lines = [
        "## Scale: 10 million synthetic interactions",
        "",
        "`generate_interactions(138_000, 27_000, 10_000_000, random_state=0)` (power-law users "
        f"and items), {threads} threads, each model in a fresh process. *Fit s* is the fit "
        "(for our models also 1,000 users' recommendations); *data GiB* is the process's "
        "RSS once the data is built, *peak GiB* its peak RSS during the fit (data included; "
        "the peak counter is reset after loading through `/proc/self/clear_refs`), and "
        "*fit adds* the difference.",
        "",
        "| model | fit s | data GiB | peak GiB | fit adds GiB |",
        "|---|---:|---:|---:|---:|",
    ]
    runs = {
        "`item-knn` ItemKNN() (k=200, BM25)": "item-knn",
        "implicit BM25Recommender (K=200)": "implicit-bm25",
        "`user-knn` UserKNN() (k=100, cosine)": "user-knn",
    }
    for name, which in runs.items():
        out = subprocess.run(
            [sys.executable, "-c", SCALE_SCRIPT, which, str(threads)],
            capture_output=True,
            text=True,
            check=True,
        )
        report: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        gib = 1 << 20  # ru_maxrss is in KiB on Linux
        before, peak = report["before_kib"] / gib, report["peak_kib"] / gib
        lines.append(
            f"| {name} | {report['seconds']:.1f} | {before:.2f} | {peak:.2f} | "
            f"{peak - before:.2f} |"
        )
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--scale", action="store_true", help="the 10M synthetic run instead")
    args = parser.parse_args()
    # implicit converts its own transposes (ParameterWarning); ml-100k's folder here was
    # not extracted from a checked archive (UnverifiedDataWarning). Neither matters.
    warnings.filterwarnings("ignore", message=".*expects CSR input.*")
    warnings.filterwarnings("ignore", message=".*could not verify.*")
    started = time.strftime("%Y-%m-%d")
    if args.scale:
        body = scale(args.threads)
        name, command = "neighborhood-scale.md", "python -m benchmarks.neighborhood --scale"
        title = "# Neighbourhood models at scale"
    else:
        body = quality_and_speed(args.repeats, args.threads)
        name, command = "neighborhood.md", "python -m benchmarks.neighborhood"
        title = "# Neighbourhood, linear, content and hybrid models"
    lines = [title, "", f"Run on {started}.", "", *body, "", machine_summary(PACKAGES)]
    lines += ["", f"Command: `{command}`", ""]
    path = write_result(name, "\n".join(lines))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
