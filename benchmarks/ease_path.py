"""EASE: the cost of a 20-λ search against one fit, and float32 against float64.

    python -m benchmarks.ease_path

On MovieLens 100k's training split and on synthetic shapes of
``benchmarks.tuning`` (a 17,600-item play-count log, a 9,700-item ratings set,
and a ratings set with more users than items), it times, interleaved and as
medians of several runs:

- *one fit*: ``EASE().fit(train)`` at the defaults (float32; through the users x
  users matrix when there are fewer users than items);
- *float64 inverse*: the previous default, a float64 Cholesky inverse of the
  items x items Gram matrix (``EASE(dtype="float64")`` forced through that path);
- *20-λ search*: what the tuner does for EASE: carve the validation split, then
  score 20 values of λ on it from one decomposition (``EASE._sweep``), each
  scored exactly like a fit with that λ.

Writes ``benchmarks/results/ease-path.md``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

import numpy as np

from benchmarks._common import interleaved_medians, machine_summary, write_result
from benchmarks.tuning import synthetic
from recommender_systems import EASE, Interactions, datasets
from recommender_systems.ease import _gram, _invert_spd
from recommender_systems.split import DEFAULT_SEED, random_split
from recommender_systems.validation import validation_split

LAMBDAS = [float(v) for v in np.geomspace(1.0, 1e5, 20)]


def float64_inverse(data: Interactions) -> np.ndarray:
    """The previous default: a float64 Cholesky inverse of ``XᵀX + λI``."""
    model = EASE(dtype="float64")
    gram = _gram(model._fit_weights(data.matrix), np.dtype(np.float64))
    gram[np.diag_indices_from(gram)] += 500.0
    _invert_spd(gram, 500.0)
    weights = gram / -np.diag(gram)
    np.fill_diagonal(weights, 0.0)
    return weights


def search(data: Interactions) -> float:
    split = validation_split(data, random_state=0)
    views = EASE()._sweep(split.fit_part, "regularization", LAMBDAS)
    return max(split.score(view) for _, view in views)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--synthetic",
        default="ratings,plays,ratings-tall",
        help="synthetic shapes to add to MovieLens 100k (comma-separated; '' for none)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case")
    args = parser.parse_args()
    shapes: dict[str, Interactions] = {}
    ml = datasets.load("ml-100k", progress=False)
    shapes["MovieLens 100k"] = Interactions.from_frame(
        random_split(ml, 0.2, random_state=DEFAULT_SEED)[0]
    )
    for name in [s for s in args.synthetic.split(",") if s]:
        frame = random_split(synthetic(name), 0.2, random_state=DEFAULT_SEED)[0]
        shapes[f"synthetic {name}"] = Interactions.from_frame(frame)
    lines = [
        "# EASE: λ search and float32 fits",
        "",
        "Training split (80%, seed 20260527) of each dataset. Medians of interleaved runs, "
        "seconds. *search / fit*: the tuning overhead of trying 20 values of λ "
        "(validation split included) relative to one default fit. *float64 / fit*: "
        "the previous default's time relative to today's.",
        "",
        "| data | users x items | one fit (float32) | float64 inverse | 20-λ search "
        "| search / fit | float64 / fit |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, data in shapes.items():
        big = data.n_items > 5_000 or data.nnz > 500_000
        runs: dict[str, Callable[[], object]] = {
            "fit": partial(EASE().fit, data),
            "float64": partial(float64_inverse, data),
            "search": partial(search, data),
        }
        start = time.perf_counter()
        repeats = 1 if big else args.repeats
        times = interleaved_medians(runs, repeats=repeats, warmup=0 if big else 1)
        print(
            name,
            {k: round(v, 2) for k, v in times.items()},
            f"({time.perf_counter() - start:.0f} s)",
        )
        lines.append(
            f"| {name} | {data.n_users:,} x {data.n_items:,} | {times['fit']:.3f} "
            f"| {times['float64']:.3f} | {times['search']:.3f} "
            f"| {times['search'] / times['fit']:.1f} | {times['float64'] / times['fit']:.1f} |"
        )
    lines += [
        "",
        "The machine is shared: timings are medians of interleaved runs (one run each on "
        "the two large catalogues), so load affects every column alike.",
        "",
        machine_summary(),
        "",
        f"Command: `python -m benchmarks.ease_path --synthetic {args.synthetic} "
        f"--repeats {args.repeats}`",
        "",
    ]
    text = "\n".join(lines)
    write_result("ease-path.md", text)
    print(text)


if __name__ == "__main__":
    main()
