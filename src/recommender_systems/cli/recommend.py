"""``recsys recommend``: top-n items for one user or a file of users.

From a saved model (``--model FILE``) or by fitting ``--algo`` on the data first.
One user prints as text (``rank<TAB>item_id`` lines), JSON or CSV; ``--users FILE``
writes a long table (``user_id, rank, item_id, score``) to CSV or Parquet.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from recommender_systems.base import Recommender
from recommender_systems.cli._common import (
    CliError,
    add_data_options,
    add_import_option,
    add_param_option,
    add_unknown_users_option,
    load_frame,
    load_model,
    parse_id,
    parse_params,
    read_user_ids,
    unknown_users_policy,
    write_table,
)
from recommender_systems.registry import get_algorithm


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "recommend",
        help="print the top-n items for a user (or write them for a file of users)",
        description="Uses a saved --model, or fits --algo on the whole dataset, and prints "
        "the top-n items for --user (text: rank<TAB>item_id lines) or writes them for every "
        "user in --users FILE.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a model file written by 'recsys fit'")
    source.add_argument("--algo", help="fit this algorithm on the data first")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="the user id")
    who.add_argument(
        "--users", metavar="FILE", help="user ids: a CSV/Parquet user_id column, or one per line"
    )
    parser.add_argument("--n", type=int, default=10, help="how many items")
    add_unknown_users_option(parser)
    parser.add_argument(
        "--format",
        choices=("text", "json", "csv"),
        default="text",
        help="output for --user: rank<TAB>item_id lines, one JSON object, or CSV",
    )
    parser.add_argument(
        "--output",
        default=None,
        help="for --users: a .csv or .parquet file (by its suffix; default: CSV on stdout)",
    )
    add_import_option(parser)
    add_data_options(parser)
    add_param_option(parser)
    parser.set_defaults(run=run)


def model_from(args: argparse.Namespace) -> Recommender:
    """The saved ``--model``, or ``--algo`` fitted on the data options."""
    if args.model is not None:
        return load_model(args.model, args.imports)
    algorithm = get_algorithm(args.algo)
    model = algorithm.create(**parse_params(args.param, algorithm.cls))
    return model.fit(load_frame(args))


def run(args: argparse.Namespace) -> int:
    model = model_from(args)
    policy = unknown_users_policy(args, model)
    if args.users is not None:
        users = read_user_ids(args.users, model.user_ids_)
        recs = model.recommend_batch(users, args.n, unknown=policy)
        unknown = int((model.user_ids_.to_index(users, missing="ignore") < 0).sum())
        if unknown:
            print(
                f"recsys: {unknown} of {users.size} users are unknown to the model "
                f"(they get: {policy})",
                file=sys.stderr,
            )
        write_table(recs.to_frame(), args.output)
        return 0
    user = parse_id(args.user, model.user_ids_)
    if user not in model.user_ids_:
        if policy == "raise":
            raise CliError(f"unknown user {args.user!r}: not in the model's training data", 1)
        print(
            f"recsys: user {args.user!r} is unknown to the model (gets: {policy})", file=sys.stderr
        )
    recs = model.recommend_batch(np.asarray([user]), args.n, unknown=policy)
    frame = recs.to_frame()
    if args.format == "json":
        report = {"user_id": user, "items": frame["item_id"].tolist(),
                  "scores": frame["score"].tolist()}  # fmt: skip
        print(json.dumps(report))
    elif args.format == "csv":
        write_table(frame, None)
    else:
        for rank, item in zip(frame["rank"].tolist(), frame["item_id"].tolist(), strict=True):
            print(f"{rank}\t{item}")
    return 0
