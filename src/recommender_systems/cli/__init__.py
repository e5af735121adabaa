"""The ``recsys`` command.

Each subcommand lives in its own module with an ``add_parser`` function; errors
the user can fix are printed as one line (no traceback) with a non-zero status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from recommender_systems import __version__
from recommender_systems.cli import catalog, evaluate, fit, info, recommend, serve, similar, tune
from recommender_systems.cli._common import CliError
from recommender_systems.errors import RecsysError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recsys", description="Build, evaluate, save and serve recommenders."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (fit, evaluate, recommend, similar, serve, info, tune):
        command.add_parser(commands)
    catalog.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``recsys``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
    except CliError as exc:
        print(f"recsys: error: {exc}", file=sys.stderr)
        return exc.status
    except (RecsysError, ValueError, OSError) as exc:
        print(f"recsys: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("recsys: interrupted", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
