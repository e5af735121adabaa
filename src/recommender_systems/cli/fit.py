"""``recsys fit``: train a model on a dataset or file (with a progress bar) and save it."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from recommender_systems.base import Recommender
from recommender_systems.cli._common import (
    CliError,
    add_data_options,
    add_param_option,
    load_frame,
    parse_params,
)
from recommender_systems.cli._engine import add_engine_options, check_local, distributed
from recommender_systems.errors import NotSupportedError
from recommender_systems.progress import show_progress
from recommender_systems.registry import get_algorithm


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "fit",
        help="train a model on all the data and save it to a file",
        description="Fits --algo on the whole dataset (with a progress bar) and saves it to "
        "--out; 'recsys recommend/similar/evaluate/serve --model FILE' then use it.",
    )
    parser.add_argument("--algo", required=True, help="algorithm name (see 'recsys list-algos')")
    add_data_options(parser)
    add_param_option(parser)
    parser.add_argument("--out", required=True, help="where to write the model file")
    parser.add_argument(
        "--ann",
        action="store_true",
        help="also build an approximate nearest-neighbour index and save it with the model "
        "(factor models; needs the 'ann' extra)",
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        help="show the progress bar even when standard error is not a terminal",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    add_engine_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    algorithm = get_algorithm(args.algo)
    model = algorithm.create(**parse_params(args.param, algorithm.cls))
    started = time.perf_counter()
    if args.engine == "ray":
        fit_on_ray(model, args)
    else:
        check_local(args)
        frame = load_frame(args)
        started = time.perf_counter()
        # A bar's carriage returns only make sense on a terminal, not in a log file.
        with show_progress(not args.quiet and (args.progress or sys.stderr.isatty())):
            model.fit(frame)
    if args.ann:
        build_index(model)
    seconds = time.perf_counter() - started
    path = model.save(args.out)
    if not args.quiet:
        print(
            f"fitted {model!r} on {len(model.user_ids_):,} users x {len(model.item_ids_):,} "
            f"items in {seconds:.2f} s; saved to {path} ({path.stat().st_size:,} bytes)",
            file=sys.stderr,
        )
    return 0


def fit_on_ray(model: Recommender, args: argparse.Namespace) -> None:
    """Fits ``model`` on the Parquet dataset ``--data`` with Ray."""
    module = distributed(args)
    if args.data is None:
        raise CliError("--engine ray reads --data: a Parquet dataset (folder or glob)")
    if not isinstance(model, module.SUPPORTED_MODELS):
        names = ", ".join(cls.__name__ for cls in module.SUPPORTED_MODELS)
        raise CliError(f"--engine ray fits {names}; fit {args.algo!r} without --engine ray")
    with module.ray_session(args.address):
        data = module.read_interactions(
            args.data,
            user_col=args.user_col,
            item_col=args.item_col,
            rating_col=args.rating_col,
            progress=not args.quiet,
        )
        module.fit(model, data, progress=not args.quiet)


def build_index(model: Any) -> None:
    """Adds the approximate index ``--ann`` asks for, or says why it cannot."""
    try:
        from recommender_systems.ann import ensure_index
    except ImportError as exc:
        raise CliError(f"--ann: {exc}") from None
    try:
        ensure_index(model)
    except NotSupportedError as exc:
        raise CliError(str(exc)) from None
