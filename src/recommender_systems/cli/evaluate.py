"""``recsys evaluate``: fit a model on a split and print its metrics, or evaluate a
saved model (``--model FILE --test FILE``) without its training data."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from recommender_systems.cli._common import (
    CliError,
    add_data_options,
    add_import_option,
    add_param_option,
    load_frame,
    load_model,
    parse_params,
    read_interactions,
)
from recommender_systems.cli._engine import add_engine_options, check_local, distributed
from recommender_systems.evaluation import ALL_METRICS, DEFAULT_METRICS, Evaluation, evaluate
from recommender_systems.registry import get_algorithm
from recommender_systems.split import DEFAULT_SEED, PROTOCOLS, split

#: Which of the command's split options each protocol takes.
_PROTOCOL_OPTIONS: dict[str, tuple[str, ...]] = {
    "random": ("test_size", "random_state"),
    "user-holdout": ("test_size", "random_state"),
    "leave-last-out": (),
    "temporal": ("test_size",),
    "kfold": ("n_splits", "fold", "random_state"),
}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "evaluate",
        help="fit on a split (or load a model) and print precision, recall, MAP, ...",
        description="Fits --algo on the training part of a split (--protocol; the default is "
        "the original random row split) and evaluates its top-k lists on the rest; or "
        "evaluates a saved --model on the interactions in --test FILE.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--algo", help="algorithm name (see 'recsys list-algos')")
    source.add_argument("--model", help="a model file written by 'recsys fit' (needs --test)")
    parser.add_argument("--test", default=None, help="held-out interactions (CSV/Parquet)")
    add_import_option(parser)
    add_data_options(parser)
    add_param_option(parser)
    parser.add_argument("--k", type=int, default=10, help="list length (the metrics' cut-off)")
    parser.add_argument(
        "--protocol",
        choices=tuple(PROTOCOLS),
        default="random",
        help="how to split the data (see docs/evaluation.md)",
    )
    parser.add_argument(
        "--test-size", type=float, default=0.2, help="test share (random, user-holdout, temporal)"
    )
    parser.add_argument(
        "--random-state",
        "--seed",
        dest="random_state",
        type=int,
        default=DEFAULT_SEED,
        help="split seed (random, user-holdout, kfold)",
    )
    parser.add_argument("--n-splits", type=int, default=5, help="folds (kfold)")
    parser.add_argument("--fold", type=int, default=0, help="which fold is the test part (kfold)")
    parser.add_argument(
        "--metrics",
        default=",".join(DEFAULT_METRICS),
        help=f"comma-separated, from: {', '.join(ALL_METRICS)}",
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="how to print the results"
    )
    add_engine_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    metrics = [name.strip() for name in args.metrics.split(",") if name.strip()]
    if args.engine == "ray":
        return run_on_ray(args, metrics)
    check_local(args)
    if args.model is not None:
        return run_saved(args, metrics)
    if args.test is not None:
        raise CliError("--test goes with --model; --algo evaluates on a random split")
    algorithm = get_algorithm(args.algo)
    model = algorithm.create(**parse_params(args.param, algorithm.cls))
    frame = load_frame(args)
    options = {name: getattr(args, name) for name in _PROTOCOL_OPTIONS[args.protocol]}
    train, test = split(frame, args.protocol, **options)
    started = time.perf_counter()
    model.fit(train)
    fit_seconds = time.perf_counter() - started
    result = evaluate(model, train, test, k=args.k, metrics=metrics)
    source = args.data or args.dataset or "ml-100k"
    report = {
        "algorithm": args.algo,
        "params": model.get_params(),
        "data": source,
        "protocol": args.protocol,
        **options,
        "k": args.k,
        "users": result.n_users,
        "fit_seconds": round(fit_seconds, 4),
    }
    header = [
        f"algorithm: {model!r}",
        f"data: {source}  ({args.protocol} split"
        + "".join(f", {name}={value}" for name, value in options.items())
        + ")",
        f"fit seconds: {fit_seconds:.3f}",
    ]
    return show(args, report, header, result)


def run_saved(args: argparse.Namespace, metrics: list[str]) -> int:
    if args.test is None:
        raise CliError("--model needs --test FILE: the held-out interactions to evaluate on")
    if args.data is not None or args.dataset is not None or args.param:
        raise CliError("--model is evaluated on --test only; --data/--dataset/--param do not apply")
    model = load_model(args.model, args.imports)
    result = evaluate(model, None, read_interactions(args.test, args), k=args.k, metrics=metrics)
    report = {"model": args.model, "algorithm": repr(model), "test": args.test, "k": args.k,
              "users": result.n_users}  # fmt: skip
    header = [f"model: {args.model}  ({model!r})", f"test: {args.test}"]
    return show(args, report, header, result)


def run_on_ray(args: argparse.Namespace, metrics: list[str]) -> int:
    """A saved model on the Parquet dataset ``--test``, evaluated in user blocks by Ray."""
    module = distributed(args)
    if args.model is None or args.test is None:
        raise CliError(
            "--engine ray evaluates a saved --model on --test (a Parquet dataset); "
            "fit one with 'recsys fit --engine ray'"
        )
    if args.data is not None or args.dataset is not None or args.param or args.imports:
        raise CliError("--engine ray evaluates --model on --test only")
    with module.ray_session(args.address):
        result = module.evaluate(
            args.model,
            args.test,
            k=args.k,
            metrics=metrics,
            user_col=args.user_col,
            item_col=args.item_col,
            rating_col=args.rating_col,
        )
    report = {
        "model": args.model,
        "test": args.test,
        "k": args.k,
        "users": result.n_users,
        "engine": "ray",
    }
    header = [f"model: {args.model}", f"test: {args.test}  (engine: ray)"]
    return show(args, report, header, result)


def show(
    args: argparse.Namespace, report: dict[str, Any], header: list[str], result: Evaluation
) -> int:
    if args.format == "json":
        print(json.dumps({**report, "metrics": dict(result)}, indent=2, default=str))
    else:
        print("\n".join(header))
        print(result)
    return 0
