"""``recsys recommend-all``: the top-n items of every user, written as a Parquet dataset.

``--engine ray`` scores user blocks on Ray workers (each loads the model once);
the default scores them in this process. The output folder holds Parquet files
with the columns ``user_id, rank, item_id, score``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from recommender_systems.cli._common import CliError, add_model_option, load_model
from recommender_systems.cli._engine import add_engine_options, check_local, distributed

#: Users scored at once by the local engine.
LOCAL_BLOCK = 10_000


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "recommend-all",
        help="write the top-n items of every user (or of the users in --data) as Parquet",
        description="Scores every user of --model (or every distinct user in the Parquet "
        "dataset --data) and writes user_id, rank, item_id, score rows to the folder --out.",
    )
    add_model_option(parser)
    parser.add_argument(
        "--data",
        default=None,
        help="a Parquet dataset (folder or glob) whose user column names the users to score",
    )
    parser.add_argument(
        "--user-col", default="user_id", help="user id column of --data (default: %(default)s)"
    )
    parser.add_argument("--n", type=int, default=10, help="how many items per user (default 10)")
    parser.add_argument("--out", required=True, help="the output folder (Parquet files)")
    parser.add_argument("--quiet", action="store_true", help="no summary")
    add_engine_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.engine == "ray":
        module = distributed(args)
        with module.ray_session(args.address):
            module.recommend_all(
                args.model, args.out, n=args.n, users=args.data, user_col=args.user_col
            )
    else:
        check_local(args)
        run_local(args)
    if not args.quiet:
        seconds = time.perf_counter() - started
        print(f"wrote recommendations to {args.out} in {seconds:.2f} s", file=sys.stderr)
    return 0


def run_local(args: argparse.Namespace) -> None:
    model = load_model(args.model, args.imports)
    if args.data is None:
        users = model.user_ids_.ids
    else:
        frame = pd.read_parquet(args.data, columns=[args.user_col])
        users = pd.unique(frame[args.user_col].to_numpy())
    if Path(args.out).exists() and any(Path(args.out).iterdir()):
        raise CliError(f"--out: {args.out} exists and is not empty")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for number, start in enumerate(range(0, len(users), LOCAL_BLOCK)):
        block = np.asarray(users[start : start + LOCAL_BLOCK])
        frame = model.recommend_batch(block, args.n).to_frame()
        frame.to_parquet(Path(args.out) / f"part-{number:05d}.parquet", index=False)
