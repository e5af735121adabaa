"""``recsys recommend``: top-n items for one user, as ``rank<TAB>item_id`` lines."""

from __future__ import annotations

import argparse
import sys

from recommender_systems.cli._common import (
    add_data_options,
    add_param_option,
    load_frame,
    parse_id,
    parse_params,
)
from recommender_systems.registry import get_algorithm


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "recommend",
        help="fit on all data and print the top-n items for a user",
        description="Fits --algo on the whole dataset and prints rank<TAB>item_id lines.",
    )
    parser.add_argument("--algo", required=True, help="algorithm name (see 'recsys list-algos')")
    parser.add_argument("--user", required=True, help="the user id")
    parser.add_argument("--n", type=int, default=10, help="how many items (default 10)")
    add_data_options(parser)
    add_param_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model = get_algorithm(args.algo).create(**parse_params(args.param))
    model.fit(load_frame(args))
    user = parse_id(args.user, model.user_ids_)
    if user not in model.user_ids_:
        print(f"recsys: unknown user {args.user!r}: not in the data", file=sys.stderr)
        return 1
    for rank, item in enumerate(model.recommend(user, n=args.n), start=1):
        print(f"{rank}\t{item}")
    return 0
