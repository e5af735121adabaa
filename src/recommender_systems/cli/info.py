"""``recsys info``: what a model file holds (read from its header; no arrays loaded)."""

from __future__ import annotations

import argparse
import json

from recommender_systems.persistence import read_info


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "info",
        help="print what a model file holds",
        description="Prints a model file's algorithm, hyperparameters, sizes, id types, "
        "format and library versions, and fitted state.",
    )
    parser.add_argument("model", metavar="MODEL", help="a model file")
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people, json for programs (default: text)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    info = read_info(args.model)
    print(json.dumps(info.to_dict(), indent=2) if args.format == "json" else info)
    return 0
