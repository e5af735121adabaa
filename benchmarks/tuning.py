"""Tuning report: each family at its defaults and tuned, and ``auto``, on real and
synthetic data shapes.

    python -m benchmarks.tuning --dataset ml-100k --seeds 5
    python -m benchmarks.tuning --synthetic plays --seeds 3
    python -m benchmarks.tuning --synthetic ratings --seeds 3
    python -m benchmarks.tuning --synthetic ratings-tall --seeds 1

Protocol: the original one (random 80/20 row split, seeds 20260527, 20260528,
...; NDCG@10 on the test rows). Tuning sees the training rows only: its
validation split is carved out of them (``recommender_systems.validation``).
Each family is tuned with :func:`recommender_systems.tune.tune` (``--budget``
seconds, at most ``--n-trials`` trials, one thread); ``auto`` runs at its
default budget. With ``--all-defaults`` every registered model is also
evaluated at its defaults (the bar ``auto`` must clear on synthetic data).

The synthetic shapes mimic the data the library was never tuned on:

- ``plays``: 1,900 users x 17,600 items, 93,000 rows, 49 per user, heavy-tailed
  play counts scaled per user (a music listening log);
- ``ratings``: 610 users x 9,700 items, 100,000 star ratings, active users with
  many ratings and a long tail of rarely rated items (a larger-catalogue movie set);
- ``plays-small``: ``plays`` at a third of the size (600 users x 6,000 items,
  30,000 rows), for quicker runs;
- ``ratings-tall``: 6,040 users x 3,700 items, 1,000,000 star ratings: more
  users than items (MovieLens 1M's shape), where EASE works in item space.

Writes ``benchmarks/results/tuning-<name>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._common import machine_summary, write_result
from recommender_systems import (
    AutoRecommender,
    algorithms,
    create,
    datasets,
    evaluate,
    generate_interactions,
)
from recommender_systems.split import DEFAULT_SEED, random_split
from recommender_systems.tune import tune

FAMILIES = ("ease", "item-knn", "rp3beta", "als")

SYNTHETIC: dict[str, dict[str, Any]] = {
    "plays": {
        "n_users": 1_900,
        "n_items": 17_600,
        "n_interactions": 93_000,
        "user_exponent": 0.0,
        "item_exponent": 1.0,
        "n_tastes": 8,
        "taste_strength": 3.0,
        "counts": True,
        "random_state": 1,
    },
    "plays-small": {
        "n_users": 600,
        "n_items": 6_000,
        "n_interactions": 30_000,
        "user_exponent": 0.0,
        "item_exponent": 1.0,
        "n_tastes": 8,
        "taste_strength": 3.0,
        "counts": True,
        "random_state": 3,
    },
    "ratings": {
        "n_users": 610,
        "n_items": 9_700,
        "n_interactions": 100_000,
        "user_exponent": 0.8,
        "item_exponent": 1.0,
        "n_tastes": 8,
        "taste_strength": 2.5,
        "ratings": True,
        "random_state": 2,
    },
    "ratings-tall": {
        "n_users": 6_040,
        "n_items": 3_700,
        "n_interactions": 1_000_000,
        "user_exponent": 0.8,
        "item_exponent": 1.0,
        "n_tastes": 8,
        "taste_strength": 2.5,
        "ratings": True,
        "random_state": 5,
    },
}


def synthetic(name: str) -> pd.DataFrame:
    """The synthetic analogue ``name`` (see the module docs)."""
    spec = dict(SYNTHETIC[name])
    return generate_interactions(
        spec.pop("n_users"), spec.pop("n_items"), spec.pop("n_interactions"), **spec
    )


@dataclass
class Row:
    name: str
    default: list[float] = field(default_factory=list)
    tuned: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    chosen: list[str] = field(default_factory=list)


def ndcg(model: Any, train: pd.DataFrame | None, test: pd.DataFrame) -> float:
    return float(evaluate(model, train, test, k=10, metrics=("ndcg",))["ndcg@10"])


def fmt(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{np.mean(values):.4f} ± {np.std(values, ddof=1):.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--dataset", default=None, help="a dataset name (default ml-100k)")
    source.add_argument("--synthetic", choices=sorted(SYNTHETIC), default=None)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--budget", type=float, default=45.0, help="seconds per family")
    parser.add_argument("--n-trials", type=int, default=40)
    parser.add_argument("--no-auto", action="store_true")
    parser.add_argument("--all-defaults", action="store_true")
    parser.add_argument("--tag", default="", help="suffix of the result files' names")
    args = parser.parse_args()

    if args.synthetic:
        name, frame = f"synthetic-{args.synthetic}", synthetic(args.synthetic)
    else:
        name = args.dataset or "ml-100k"
        frame = datasets.load(name, progress=False)
    families = [f for f in args.families.split(",") if f]
    rows = {f: Row(f) for f in families}
    others = (
        [a.name for a in algorithms() if a.name not in (*families, "auto")]
        if args.all_defaults
        else []
    )
    default_only = {f: Row(f) for f in others}
    auto = Row("auto")
    seeds = [DEFAULT_SEED + i for i in range(args.seeds)]
    for seed in seeds:
        train, test = random_split(frame, 0.2, random_state=seed)
        for family in families:
            row = rows[family]
            row.default.append(ndcg(_seeded(create(family)), train, test))
            start = time.perf_counter()
            result = tune(
                family,
                train,
                budget=args.budget,
                n_trials=args.n_trials,
                random_state=0,
                n_threads=1,
            )
            row.seconds.append(time.perf_counter() - start)
            assert result.model is not None
            row.tuned.append(ndcg(result.model, None, test))
            row.chosen.append(_short(result.best_params))
            print(
                f"{name} seed {seed} {family}: default {row.default[-1]:.4f} "
                f"tuned {row.tuned[-1]:.4f} ({row.seconds[-1]:.0f} s) {row.chosen[-1]}",
                flush=True,
            )
        for other in others:
            default_only[other].default.append(ndcg(_seeded(create(other)), train, test))
            print(f"{name} seed {seed} {other}: default {default_only[other].default[-1]:.4f}")
        if not args.no_auto:
            start = time.perf_counter()
            model = AutoRecommender(random_state=0).fit(train)
            auto.seconds.append(time.perf_counter() - start)
            auto.tuned.append(ndcg(model, None, test))
            auto.chosen.append(str(model.report_["chosen"]))
            print(
                f"{name} seed {seed} auto: {auto.tuned[-1]:.4f} ({auto.seconds[-1]:.0f} s) "
                f"{auto.chosen[-1]}",
                flush=True,
            )

    lines = [
        f"# Tuning on {name}",
        "",
        f"{len(frame):,} interactions. Original protocol: random 80/20 row split (seeds "
        f"{', '.join(map(str, seeds))}), NDCG@10 on the test rows, mean ± standard "
        "deviation over splits. *Tuned*: `recommender_systems.tune.tune(family, train, "
        f"budget={args.budget:g}, n_trials={args.n_trials}, random_state=0, n_threads=1)`, "
        "scored on a validation split carved out of the training rows, the best "
        "configuration refitted on all of them. *auto*: `create('auto', random_state=0)` "
        "at its default budget (all cores). Seconds: median wall time of the search and "
        "refit.",
        "",
        "| model | default | tuned | seconds | chosen (first split) |",
        "|---|---:|---:|---:|---|",
    ]
    for row in rows.values():
        lines.append(
            f"| {row.name} | {fmt(row.default)} | **{fmt(row.tuned)}** | "
            f"{np.median(row.seconds):.0f} | {row.chosen[0]} |"
        )
    for row in default_only.values():
        lines.append(f"| {row.name} | {fmt(row.default)} | - | - | - |")
    if auto.tuned:
        lines.append(
            f"| **auto** | - | **{fmt(auto.tuned)}** | {np.median(auto.seconds):.0f} | "
            f"{auto.chosen[0]} |"
        )
        lines += ["", "auto's choice on each split:", ""]
        lines += [
            f"- seed {s}: {c} ({v:.4f})"
            for s, c, v in zip(seeds, auto.chosen, auto.tuned, strict=True)
        ]
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    lines += [
        "",
        machine_summary(("recommender-systems", "numpy", "scipy", "optuna")),
        f"Load average at the end of the run: {load} (time budgets are wall time: a "
        "busier machine runs fewer trials).",
        "",
    ]
    command = "python -m benchmarks.tuning " + (
        f"--synthetic {args.synthetic}" if args.synthetic else f"--dataset {name}"
    )
    command += f" --seeds {args.seeds}"
    if args.families != ",".join(FAMILIES):
        command += f" --families '{args.families}'"
    command += " --all-defaults" * args.all_defaults + " --no-auto" * args.no_auto
    command += f" --tag={args.tag}" if args.tag else ""
    lines += [f"Command: `{command}`", ""]
    text = "\n".join(lines)
    write_result(f"tuning-{name}{args.tag}.md", text)
    summary = {
        "dataset": name,
        "seeds": seeds,
        "families": {
            r.name: {
                "default": r.default,
                "tuned": r.tuned,
                "seconds": r.seconds,
                "chosen": r.chosen,
            }
            for r in [*rows.values(), *default_only.values()]
        },
        "auto": {"ndcg": auto.tuned, "seconds": auto.seconds, "chosen": auto.chosen},
    }
    write_result(f"tuning-{name}{args.tag}.json", json.dumps(summary, indent=2) + "\n")
    print(text)


def _seeded(model: Any) -> Any:
    if "random_state" in model.get_params():
        model.set_params(random_state=0)
    return model


def _short(params: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )


if __name__ == "__main__":
    main()
