"""How the defaults of TwoTowerCF and MultVAE were chosen: validation, never the test split.

    RECSYS_DATA_DIR=../shared/data python -m benchmarks.neural_defaults [--only two-tower]

The original training split of MovieLens 100k (80 % of the rows, seed 20260527)
is split again, 80/20 at random with seed 1: the validation fold. Each candidate
is fitted on the fold's training part and scored by NDCG@10 on its validation
part, with the fit time per epoch. The test split is not touched.
Writes ``benchmarks/results/neural_defaults.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from benchmarks._common import RESULTS, machine_summary, write_result
from recommender_systems import Epoch, evaluate, load_movielens_100k, split_ratings
from recommender_systems.neural import MultVAE, TwoTowerCF

SEED = 20260527
#: The results file (under benchmarks/results/).
RESULT = "neural_defaults.md"

ORIGINAL_TWO_TOWER = {"learning_rate": 0.01, "regularization": 0.0, "item_bias": False}
#: Liang et al.'s KL cap (their architecture and dropout are the defaults).
PUBLISHED_MULT_VAE = {"anneal_cap": 0.2, "kl_weighting": "uniform"}

CANDIDATES: dict[str, tuple[type[TwoTowerCF] | type[MultVAE], list[dict[str, Any]]]] = {
    "two-tower": (
        TwoTowerCF,
        [
            ORIGINAL_TWO_TOWER,  # the original library's settings
            *({**ORIGINAL_TWO_TOWER, "regularization": reg} for reg in (1e-3, 1e-2, 3e-2, 1e-1)),
            {**ORIGINAL_TWO_TOWER, "regularization": 1e-2, "n_factors": 64, "epochs": 40},
            {"learning_rate": 0.01, "regularization": 1e-2, "item_bias": True},
            {"learning_rate": 0.01, "regularization": 3e-2, "item_bias": True},
            {"learning_rate": 0.01, "regularization": 1e-2, "item_bias": True, "n_factors": 64},
            {"learning_rate": 0.001, "regularization": 0.0, "item_bias": True},
            {"learning_rate": 0.003, "regularization": 3e-3, "item_bias": True},
            {"learning_rate": 0.003, "regularization": 1e-2, "item_bias": True},  # the default
            {
                "learning_rate": 0.003,
                "regularization": 1e-2,
                "item_bias": True,
                "n_factors": 64,
                "epochs": 40,
            },
        ],
    ),
    "mult-vae": (
        MultVAE,
        [
            PUBLISHED_MULT_VAE,  # annealed at the pace of the whole training
            {**PUBLISHED_MULT_VAE, "batch_size": 100, "epochs": 100},
            {**PUBLISHED_MULT_VAE, "epochs": 600},
            {**PUBLISHED_MULT_VAE, "learning_rate": 3e-3},
            {**PUBLISHED_MULT_VAE, "dropout": 0.3},
            {**PUBLISHED_MULT_VAE, "regularization": 1e-5},
            {**PUBLISHED_MULT_VAE, "hidden_dim": 200, "latent_dim": 64},
            {"anneal_cap": 0.0},  # no KL term: a denoising autoencoder
            {"anneal_cap": 0.5, "hidden_dim": 200, "latent_dim": 64},
            {"kl_weighting": "uniform"},  # every user's KL term weighed alike
            {},  # beta grows to 1 over the training, KL weighed by history: the default
            {"epochs": 150},
            {"epochs": 300},
            {"dropout": 0.3},
            {"hidden_dim": 300, "latent_dim": 100},
        ],
    ),
}


def _rows_of_others(only: str) -> list[str]:
    """The table rows of the models other than ``only`` in the current results
    file, so that ``--only`` re-measures one model and keeps the others' rows."""
    path = RESULTS / RESULT
    if not path.exists():
        return []
    rows = path.read_text(encoding="utf-8").splitlines()
    names = {f"| {name} |" for name in CANDIDATES if name != only}
    return [row for row in rows if any(row.startswith(name) for name in names)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=sorted(CANDIDATES), default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--params", action="append", type=json.loads, help="one JSON candidate (repeatable)"
    )
    args = parser.parse_args()
    if args.params:  # candidates given on the command line, for --only's model
        CANDIDATES[args.only] = (CANDIDATES[args.only][0], args.params)
    train, _ = split_ratings(load_movielens_100k(progress=False), 0.2, random_state=SEED)
    fit, check = split_ratings(train, 0.2, random_state=1)
    kept = _rows_of_others(args.only) if args.params is None and args.only else []
    lines = [
        "# Neural model defaults on a validation fold",
        "",
        "MovieLens 100k: the original training split (seed 20260527) split again 80/20 "
        "(seed 1); NDCG@10 on the validation part. The test split is not used.",
        "",
        "| model | settings | NDCG@10 | epochs run | s per epoch |",
        "|---|---|---:|---:|---:|",
        *kept,
    ]
    for name, (cls, candidates) in CANDIDATES.items():
        if args.only and name != args.only:
            continue
        for params in candidates:
            epochs: list[Epoch] = []
            model = cls(random_state=0, device="cpu", n_threads=args.threads, **params)
            start = time.perf_counter()
            model.fit(fit, callback=epochs.append)
            seconds = (time.perf_counter() - start) / max(len(epochs), 1)
            ndcg = evaluate(model, None, check)["ndcg@10"]
            settings = f"`{params}`" if params else "defaults"
            row = f"| {name} | {settings} | {ndcg:.4f} | {len(epochs)} | {seconds:.3f} |"
            print(row, flush=True)
            lines.append(row)
    lines += [
        "",
        machine_summary(("recommender-systems", "numpy", "torch")),
        "",
        "Command: `python -m benchmarks.neural_defaults`",
        "",
    ]
    write_result(RESULT, "\n".join(lines))


if __name__ == "__main__":
    main()
