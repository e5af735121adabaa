"""How interaction values should become weights, per model, on three data shapes.

    python -m benchmarks.values_defaults

Each model's ``values`` options (and ALS's ``alpha`` with log weights) are scored
by NDCG@10 on a validation split carved out of the training rows (the original
protocol's 80% split, seed 20260527, split again 80/20 with seed 0; the test rows
are never used) of three shapes: MovieLens 100k (ratings 1-5) and the synthetic
``plays`` and ``ratings`` shapes of ``benchmarks.tuning``. ``relative`` is the
mean over the shapes of the score divided by that shape's best score for the
model: the default must do well on all three, not on MovieLens alone.

Writes ``benchmarks/results/values.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks._common import machine_summary, write_result
from benchmarks.tuning import synthetic
from recommender_systems import ALS, EASE, SVD, ItemKNN, RP3beta, UserKNN, datasets
from recommender_systems.base import Recommender
from recommender_systems.interactions import Interactions
from recommender_systems.split import DEFAULT_SEED, random_split
from recommender_systems.validation import ValidationSplit, validation_split

Make = Callable[[Interactions], Recommender]


def ease(values: Any) -> Make:
    # The λ path scores exactly as a fit, in a fraction of the time on wide catalogues.
    def make(data: Interactions) -> Recommender:
        return next(EASE(values=values)._sweep(data, "regularization", [500.0]))[1]

    return make


def fitted(cls: type[Recommender], **params: Any) -> Make:
    def make(data: Interactions) -> Recommender:
        return cls(**params).fit(data)

    return make


CANDIDATES: dict[str, dict[str, Make]] = {
    "ALS": {
        "linear, alpha=1 (former default)": fitted(ALS, values="linear", alpha=1.0, random_state=0),
        **{
            f"log, alpha={a:g}": fitted(ALS, values="log", alpha=a, random_state=0)
            for a in (1.0, 2.0, 3.0, 4.0, 8.0, 16.0)
        },
        "binary, alpha=2": fitted(ALS, values="binary", alpha=2.0, random_state=0),
        "cap, alpha=16": fitted(ALS, values="cap", alpha=16.0, random_state=0),
    },
    "ItemKNN": {v: fitted(ItemKNN, values=v) for v in ("linear", "log", "binary", "bm25", "cap")},
    "UserKNN": {v: fitted(UserKNN, values=v) for v in ("linear", "log", "binary", "cap")},
    "SVD": {v: fitted(SVD, values=v, random_state=0) for v in ("linear", "log", "binary")},
    "RP3beta": {v: fitted(RP3beta, values=v) for v in ("binary", "log")},
    "EASE": {v: ease(v) for v in ("binary", "log")},
}


def splits() -> dict[str, ValidationSplit]:
    frames = {
        "MovieLens 100k": datasets.load("ml-100k", progress=False),
        "synthetic plays": synthetic("plays"),
        "synthetic ratings": synthetic("ratings"),
    }
    return {
        name: validation_split(random_split(frame, 0.2, random_state=DEFAULT_SEED)[0])
        for name, frame in frames.items()
    }


def main() -> None:
    shapes = splits()
    lines = [
        "# Interaction values: which weighting, per model",
        "",
        "NDCG@10 on a validation split of each shape's training rows (test rows never "
        "used). `relative`: mean over the shapes of score / best score of the model on "
        "that shape. **Bold**: the model's default.",
        "",
    ]
    defaults = {
        "ALS": "log, alpha=4",
        "ItemKNN": "linear",  # values="auto" is linear on ratings, log on counts
        "UserKNN": "log",
        "SVD": "log",
        "RP3beta": "binary",
        "EASE": "log",
    }
    for model, candidates in CANDIDATES.items():
        scores = {
            label: [split.score(make(split.fit_part)) for split in shapes.values()]
            for label, make in candidates.items()
        }
        for label, values in scores.items():
            print(model, label, [round(v, 4) for v in values], flush=True)
        best = np.max(np.array(list(scores.values())), axis=0)
        lines += [f"## {model}", "", "| values | " + " | ".join(shapes) + " | relative |"]
        lines.append("|---|" + "---:|" * (len(shapes) + 1))
        for label, values in scores.items():
            relative = float(np.mean(np.array(values) / best))
            name = f"**{label}**" if label == defaults[model] else label
            cells = " | ".join(f"{v:.4f}" for v in values)
            lines.append(f"| {name} | {cells} | {relative:.3f} |")
        lines.append("")
    lines += [
        'ItemKNN\'s default is `values="auto"`: linear on ratings (as in the row marked), '
        "`log` on heavy-tailed counts, where linear would let one huge count dominate a "
        "user's scores.",
        "",
        machine_summary(),
        "",
        "Command: `python -m benchmarks.values_defaults`",
        "",
    ]
    text = "\n".join(lines)
    write_result("values.md", text)
    print(text)


if __name__ == "__main__":
    main()
