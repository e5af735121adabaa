"""``recsys evaluate``: fit a model on a split and print its metrics."""

from __future__ import annotations

import argparse
import json
import time

from recommender_systems.cli._common import (
    add_data_options,
    add_param_option,
    load_frame,
    parse_params,
)
from recommender_systems.evaluation import ALL_METRICS, DEFAULT_METRICS, evaluate
from recommender_systems.registry import get_algorithm
from recommender_systems.split import DEFAULT_SEED, random_split


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "evaluate",
        help="fit on a random split and print precision, recall, MAP, NDCG, coverage",
        description="Fits --algo on a random row split and evaluates its top-k lists.",
    )
    parser.add_argument("--algo", required=True, help="algorithm name (see 'recsys list-algos')")
    add_data_options(parser)
    add_param_option(parser)
    parser.add_argument("--k", type=int, default=10, help="list length (default 10)")
    parser.add_argument("--test-size", type=float, default=0.2, help="test share (default 0.2)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="split seed")
    parser.add_argument(
        "--metrics",
        default=",".join(DEFAULT_METRICS),
        help=f"comma-separated, from: {', '.join(ALL_METRICS)}",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    algorithm = get_algorithm(args.algo)
    model = algorithm.create(**parse_params(args.param))
    frame = load_frame(args)
    train, test = random_split(frame, args.test_size, seed=args.seed)
    started = time.perf_counter()
    model.fit(train)
    fit_seconds = time.perf_counter() - started
    metrics = [name.strip() for name in args.metrics.split(",") if name.strip()]
    result = evaluate(model, train, test, k=args.k, metrics=metrics)
    source = args.data or args.dataset or "ml-100k"
    if args.format == "json":
        report = {
            "algorithm": args.algo,
            "params": model.get_params(),
            "data": source,
            "test_size": args.test_size,
            "seed": args.seed,
            "k": args.k,
            "users": result.n_users,
            "fit_seconds": round(fit_seconds, 4),
            "metrics": dict(result),
        }
        print(json.dumps(report, indent=2, default=str))
    else:
        print(f"algorithm: {model!r}")
        print(f"data: {source}  (random split, test_size={args.test_size}, seed={args.seed})")
        print(f"fit seconds: {fit_seconds:.3f}")
        print(result)
    return 0
