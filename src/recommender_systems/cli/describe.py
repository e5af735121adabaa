"""``recsys describe``: what an algorithm is and the hyperparameters it declares."""

from __future__ import annotations

import argparse

from recommender_systems.hyperparameters import markdown_table
from recommender_systems.registry import algorithms, get_algorithm


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "describe",
        help="show an algorithm's hyperparameters (defaults, accepted values, tuning ranges)",
        description="Prints each named algorithm (every registered one without a name) "
        "with the table of its declared hyperparameters, as '--param NAME=VALUE' accepts them.",
    )
    parser.add_argument("algos", nargs="*", metavar="ALGO", help="algorithm names")
    parser.set_defaults(run=run)


def describe(names: list[str]) -> str:
    """The Markdown the command prints (and docs/hyperparameters.md holds)."""
    chosen = [get_algorithm(n) for n in names] if names else algorithms(optional=True)
    sections = [
        f"## `{a.name}`: {a.cls.__name__}\n\n{a.summary} ({a.family}).\n\n{markdown_table(a.cls)}\n"
        for a in chosen
    ]
    return "\n".join(sections)


def run(args: argparse.Namespace) -> int:
    print(describe(args.algos), end="")
    return 0
