"""Quality report: every registered model at its documented defaults, beside the peers.

    python -m benchmarks.quality --dataset ml-100k [--seeds 5] [--k 10]
    python -m benchmarks.quality --data interactions.csv

Protocol: the original one (random 80/20 row split, seed 20260527 for the first
run and the next seeds after it, every test row relevant, seen items excluded,
macro-averaged). With ``--seeds N`` each model is evaluated on N splits and the
table shows mean +- standard deviation; differences from the best model's NDCG are
tested with a paired Wilcoxon signed-rank test over (user, split) pairs,
Holm-adjusted across models.

Writes ``benchmarks/results/quality-<name>.md``, ``.json`` (read by
``python -m benchmarks.readme``) and ``.png``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from benchmarks._common import RESULTS, machine_summary, write_result
from benchmarks.peers import peers
from recommender_systems import algorithms, datasets
from recommender_systems.base import Recommender
from recommender_systems.evaluation import evaluate
from recommender_systems.interactions import Interactions
from recommender_systems.split import DEFAULT_SEED, random_split

METRICS = ("precision", "recall", "map", "ndcg", "coverage", "novelty")
SIGNIFICANCE = 0.05


@dataclass
class Contender:
    name: str
    family: str  # "ours" or "peer"
    make: Callable[[], Recommender]
    metrics: dict[str, list[float]] = field(default_factory=dict)
    per_user_ndcg: list[np.ndarray] = field(default_factory=list)
    fit_seconds: list[float] = field(default_factory=list)
    recommend_seconds: list[float] = field(default_factory=list)
    error: str | None = None


def contenders(n_threads: int, include_peers: bool, skip: set[str]) -> list[Contender]:
    ours = [
        Contender(a.name, "ours", a.create) for a in algorithms(optional=True) if a.name not in skip
    ]
    available = peers(n_threads) if include_peers else []
    theirs = [Contender(p.name, "peer", p.model.clone) for p in available]
    return ours + theirs


def load_frame(dataset: str | None, data: str | None) -> tuple[str, pd.DataFrame]:
    if data is not None:
        interactions = Interactions.from_file(data)
        frame = interactions.to_frame().rename(columns={"value": "rating"})
        return Path(data).stem, frame
    name = dataset or "ml-100k"
    return name, datasets.load(name, progress=False)


def run(contender: Contender, train: pd.DataFrame, test: pd.DataFrame, k: int) -> None:
    model = contender.make()
    start = time.perf_counter()
    model.fit(train)
    contender.fit_seconds.append(time.perf_counter() - start)
    test_users = test["user_id"].unique()
    start = time.perf_counter()
    model.recommend_batch(test_users, k)
    contender.recommend_seconds.append(time.perf_counter() - start)
    result = evaluate(model, None, test, k=k, metrics=METRICS, per_user=True)
    for name in METRICS:
        contender.metrics.setdefault(name, []).append(result[f"{name}@{k}"])
    assert result.per_user is not None
    contender.per_user_ndcg.append(result.per_user[f"ndcg@{k}"].to_numpy())


def significance(best: Contender, others: list[Contender]) -> dict[str, bool]:
    """Whether each model's NDCG differs significantly from the best (Holm-adjusted)."""
    reference = np.concatenate(best.per_user_ndcg)
    pvalues: dict[str, float] = {}
    for c in others:
        diff = np.concatenate(c.per_user_ndcg) - reference
        pvalues[c.name] = 1.0 if not np.any(diff) else float(stats.wilcoxon(diff).pvalue)
    ordered = sorted(pvalues.items(), key=lambda kv: kv[1])
    verdict: dict[str, bool] = {}
    still_rejecting = True
    for rank, (name, p) in enumerate(ordered):
        still_rejecting = still_rejecting and p * (len(ordered) - rank) < SIGNIFICANCE
        verdict[name] = still_rejecting
    return verdict


def fmt(values: list[float], digits: int = 4) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def report(
    name: str,
    runs: list[Contender],
    seeds: list[int],
    k: int,
    n_rows: int,
    skip: Collection[str] = (),
) -> str:
    done = [c for c in runs if c.error is None]
    ranked = sorted(done, key=lambda c: -float(np.mean(c.metrics["ndcg"])))
    best = ranked[0]
    verdict = significance(best, ranked[1:])
    header = (
        f"| model | | P@{k} | R@{k} | MAP@{k} | NDCG@{k} | coverage | novelty "
        "| fit s | recommend s |"
    )
    lines = [
        f"# Quality on {name}",
        "",
        f"{n_rows:,} interactions. Original protocol: random 80/20 row split "
        f"(seeds {', '.join(map(str, seeds))}), every test row relevant, seen items "
        f"excluded, k = {k}, macro-averaged over test users. Every model at its "
        "documented defaults; peers at theirs, trained on the same matrix.",
        "",
        header,
        "|---|---|" + "---:|" * 8,
    ]
    for c in ranked:
        mark = "best" if c is best else ("" if verdict[c.name] else "≈ best")
        m = c.metrics
        lines.append(
            f"| {c.name} | {mark} | {fmt(m['precision'])} | {fmt(m['recall'])} "
            f"| {fmt(m['map'])} | **{fmt(m['ndcg'])}** | {fmt(m['coverage'], 3)} "
            f"| {fmt(m['novelty'], 2)} | {np.median(c.fit_seconds):.3f} "
            f"| {np.median(c.recommend_seconds):.3f} |"
        )
    for c in runs:
        if c.error is not None:
            lines.append(f"| {c.name} | failed: {c.error} |" + " |" * 8)
    lines += [
        "",
        "Names without a prefix are this library's registered models. "
        '"≈ best": the NDCG difference from the best model is not significant '
        f"(paired Wilcoxon signed-rank over users{' and splits' if len(seeds) > 1 else ''}, "
        f"Holm-adjusted, p >= {SIGNIFICANCE}). Times are medians over splits, in seconds, "
        "on the machine below (fit: training; recommend: top-k for every test user).",
        "",
        machine_summary(("recommender-systems", "numpy", "scipy", "implicit")),
        "",
        "Command: `python -m benchmarks.quality --dataset "
        f"{name} --seeds {len(seeds)}{' --skip ' + ','.join(sorted(skip)) if skip else ''}`",
        "",
    ]
    if skip:
        lines[-2:-2] = [
            f"Left out of this run: {', '.join(sorted(skip))} (measured in their own reports).",
            "",
        ]
    return "\n".join(lines)


def chart(name: str, runs: list[Contender], k: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = sorted((c for c in runs if c.error is None), key=lambda c: np.mean(c.metrics["ndcg"]))
    means = [float(np.mean(c.metrics["ndcg"])) for c in done]
    errors = [
        float(np.std(c.metrics["ndcg"], ddof=1)) if len(c.metrics["ndcg"]) > 1 else 0.0
        for c in done
    ]
    colors = ["#1f77b4" if c.family == "ours" else "#bbbbbb" for c in done]
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(done) + 1.2))
    ax.barh([c.name for c in done], means, xerr=errors, color=colors)
    ax.set_xlabel(f"NDCG@{k} (original protocol; grey: peers)")
    ax.set_title(f"Quality on {name}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description="Quality of every model beside the peers.")
    parser.add_argument("--dataset", default=None, help="a dataset name (default ml-100k)")
    parser.add_argument("--data", default=None, help="a CSV/Parquet interactions file instead")
    parser.add_argument("--seeds", type=int, default=1, help="number of splits (default 1)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0, help="threads for every model (0: all)")
    parser.add_argument("--no-peers", action="store_true", help="skip the peer libraries")
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated models left out (e.g. the slow neural ones; default: none)",
    )
    args = parser.parse_args()

    name, frame = load_frame(args.dataset, args.data)
    seeds = [DEFAULT_SEED + i for i in range(args.seeds)]
    skip = {name for name in args.skip.split(",") if name}
    runs = contenders(args.threads, not args.no_peers, skip)
    for seed in seeds:
        train, test = random_split(frame, 0.2, random_state=seed)
        for c in runs:
            if c.error is not None:
                continue
            try:
                run(c, train, test, args.k)
            except Exception as exc:  # one failing model must not hide the others
                c.error = f"{type(exc).__name__}: {exc}"
            print(f"seed {seed} {c.name}: " + (c.error or f"ndcg {c.metrics['ndcg'][-1]:.4f}"))

    stem = f"quality-{name}"
    text = report(name, runs, seeds, args.k, len(frame), skip)
    write_result(f"{stem}.md", text)
    summary = {
        "dataset": name,
        "k": args.k,
        "seeds": seeds,
        "models": [
            {
                "name": c.name,
                "family": c.family,
                "metrics": {m: float(np.mean(v)) for m, v in c.metrics.items()},
                "fit_seconds": float(np.median(c.fit_seconds)),
            }
            for c in runs
            if c.error is None
        ],
    }
    write_result(f"{stem}.json", json.dumps(summary, indent=2) + "\n")
    chart(name, runs, args.k, RESULTS / f"{stem}.png")
    print(text)


if __name__ == "__main__":
    main()
