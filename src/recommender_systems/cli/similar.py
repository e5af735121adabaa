"""``recsys similar``: the items most similar to an item, from a saved model."""

from __future__ import annotations

import argparse
import json

from recommender_systems.cli._common import add_model_option, load_model, parse_id


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "similar",
        help="print the items most similar to an item",
        description="Prints rank<TAB>item_id lines of the --n items most similar to --item, "
        "for models with item vectors or similarities.",
    )
    add_model_option(parser)
    parser.add_argument("--item", required=True, help="the item id")
    parser.add_argument("--n", type=int, default=10, help="how many items (default 10)")
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people, json for programs with scores (default: text)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model, args.imports)
    item = parse_id(args.item, model.item_ids_)
    similar = model.similar_items(item, n=args.n)
    if args.format == "json":
        print(json.dumps({"item_id": item, "items": similar}))
    else:
        for rank, other in enumerate(similar, start=1):
            print(f"{rank}\t{other}")
    return 0
