"""Quality of the neural models on the original protocol, one split per process.

    RECSYS_DATA_DIR=../shared/data python -m benchmarks.neural_quality --seed 20260527

Fits TwoTowerCF at its defaults and at the original library's settings, and
MultVAE at its defaults and at the published settings, on the original
protocol's split with ``--seed`` (random 80/20 rows), and prints one JSON line
per model: NDCG@10 (and the other default metrics), epochs, fit seconds per
epoch. ``--only NAME`` (repeatable) runs some of them. Run one process per seed
to measure several splits at once; ``benchmarks.quality`` puts the models beside
the others.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from benchmarks.neural_defaults import ORIGINAL_TWO_TOWER, PUBLISHED_MULT_VAE
from recommender_systems import Epoch, evaluate, load_movielens_100k, split_ratings
from recommender_systems.neural import MultVAE, TwoTowerCF

RUNS: list[tuple[str, type[TwoTowerCF] | type[MultVAE], dict[str, Any]]] = [
    ("two-tower", TwoTowerCF, {}),
    ("two-tower (original settings)", TwoTowerCF, ORIGINAL_TWO_TOWER),
    ("mult-vae", MultVAE, {}),
    ("mult-vae (published settings)", MultVAE, PUBLISHED_MULT_VAE),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, required=True, help="the split's seed")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads (0: all)")
    parser.add_argument("--only", action="append", choices=[name for name, _, _ in RUNS])
    args = parser.parse_args()
    train, test = split_ratings(load_movielens_100k(progress=False), 0.2, random_state=args.seed)
    for name, cls, params in RUNS:
        if args.only and name not in args.only:
            continue
        epochs: list[Epoch] = []
        model = cls(random_state=0, device="cpu", n_threads=args.threads, **params)
        start = time.perf_counter()
        model.fit(train, callback=epochs.append)
        seconds = time.perf_counter() - start
        result = evaluate(model, None, test)
        line = {
            "model": name,
            "seed": args.seed,
            **{key: round(value, 4) for key, value in result.items()},
            "epochs": len(epochs),
            "seconds_per_epoch": round(seconds / max(len(epochs), 1), 3),
        }
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
