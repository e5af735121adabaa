"""How the defaults of BPR, ALS and SVD were chosen: validation, never the test split.

    RECSYS_DATA_DIR=../shared/data python -m benchmarks.factor_defaults

The original training split of MovieLens 100k (80 % of the rows, seed 20260527)
is split again, 80/20 at random with seeds 1 and 2: two validation folds. Each
candidate is scored (NDCG@10, mean of the folds) on three variants, to prefer
settings that hold across data rather than the best on one:

- ``ratings``: the folds as they are (ratings 1-5 as interaction strengths);
- ``binary``: every strength set to 1, as in click or purchase logs;
- ``half``: half of each training fold's rows (sparser data), same validation rows.

The test split is not touched. Writes ``benchmarks/results/factor_defaults.md``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from benchmarks._common import machine_summary, write_result
from recommender_systems import (
    ALS,
    BPR,
    SVD,
    Recommender,
    evaluate,
    load_movielens_100k,
    split_ratings,
)

SEED = 20260527
Folds = list[tuple[pd.DataFrame, pd.DataFrame]]

CANDIDATES: dict[str, tuple[Callable[..., Recommender], list[dict[str, Any]]]] = {
    "ALS": (
        ALS,
        [
            {"reg": reg, "alpha": alpha, "reg_exponent": 1.0}
            for alpha in (1.0, 2.0, 3.0)
            for reg in (0.02, 0.03)
        ]
        + [
            {"reg": 1.0, "alpha": 1.0, "reg_exponent": 0.5},
            {"reg": 30.0, "alpha": 1.0, "reg_exponent": 0.0},
            {"reg": 0.01, "alpha": 1.0, "reg_exponent": 0.0},  # implicit's default reg
        ],
    ),
    "BPR": (
        BPR,
        [
            {"learning_rate": 0.02, "reg": 0.02, "epochs": 200},
            {"learning_rate": 0.01, "reg": 0.02, "epochs": 400},
            {"learning_rate": 0.05, "reg": 0.02, "epochs": 100},
            {"learning_rate": 0.02, "reg": 0.01, "epochs": 100},
            {"learning_rate": 0.01, "reg": 0.01, "epochs": 100},  # implicit's lr and reg
        ],
    ),
    "SVD": (
        SVD,
        [
            {"n_factors": k, "popularity_damping": d}
            for k in (10, 20, 30, 50)
            for d in (0.0, 0.1, 0.2, 0.3)
        ],
    ),
}


def variants(train: pd.DataFrame) -> dict[str, Folds]:
    folds = [split_ratings(train, test_size=0.2, random_state=s) for s in (1, 2)]
    return {
        "ratings": folds,
        "binary": [(a.assign(rating=1.0), b) for a, b in folds],
        "half": [(a.sample(frac=0.5, random_state=3), b) for a, b in folds],
    }


def score(make: Callable[[], Recommender], folds: Folds) -> float:
    return float(np.mean([evaluate(make(), a, b, k=10)["ndcg@10"] for a, b in folds]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(CANDIDATES))
    args = parser.parse_args()
    train, _ = split_ratings(load_movielens_100k(progress=False), 0.2, random_state=SEED)
    data = variants(train)
    lines = [
        "# Choosing the factor models' defaults on validation folds",
        "",
        "NDCG@10 (mean of two validation folds carved out of the MovieLens 100k training "
        "split; the test split is never used). `ratings`: strengths are ratings; `binary`: "
        "all strengths 1; `half`: half the training rows. `relative` is the mean over the "
        "variants of the score divided by the best score of that variant; the default is "
        "marked **bold**. BPR ignores strengths, so its `binary` column equals `ratings`.",
    ]
    for name in args.models:
        cls, grid = CANDIDATES[name]
        defaults = cls().get_params()
        rows = []
        for params in grid:
            with threadpool_limits(1):
                values = {
                    variant: score(partial(cls, random_state=0, **params), folds)
                    for variant, folds in data.items()
                    if not (name == "BPR" and variant == "binary")
                }
            if name == "BPR":
                values["binary"] = values["ratings"]
            rows.append((params, values))
            print(name, params, {k: round(v, 4) for k, v in values.items()}, flush=True)
        best = {v: max(r[1][v] for r in rows) for v in data}
        lines += [
            "",
            f"## {name}",
            "",
            "| setting | ratings | binary | half | relative |",
            "|---|---:|---:|---:|---:|",
        ]
        for params, values in rows:
            relative = np.mean([values[v] / best[v] for v in data])
            label = ", ".join(f"{k}={v}" for k, v in params.items())
            if all(defaults[k] == v for k, v in params.items()):
                label = f"**{label}**"
            cells = " | ".join(f"{values[v]:.4f}" for v in data)
            lines.append(f"| {label} | {cells} | {relative:.3f} |")
    lines += [
        "",
        machine_summary(),
        "",
        "Command: `RECSYS_DATA_DIR=../shared/data python -m benchmarks.factor_defaults`",
        "",
    ]
    path = write_result("factor_defaults.md", "\n".join(lines))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
