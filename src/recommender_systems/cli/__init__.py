"""The ``recsys`` command.

Each subcommand lives in its own module with an ``add_parser`` function; errors
the user can fix are printed as one line (no traceback) with a non-zero status.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from typing import TextIO

from recommender_systems import __version__
from recommender_systems.cli import (
    catalog,
    describe,
    evaluate,
    fit,
    info,
    recommend,
    recommend_all,
    serve,
    similar,
    tune,
)
from recommender_systems.cli._common import CliError
from recommender_systems.errors import RecsysError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recsys", description="Build, evaluate, save and serve recommenders."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (fit, evaluate, recommend, recommend_all, similar, serve, info, describe, tune):
        command.add_parser(commands)
    catalog.add_parsers(commands)
    return parser


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Shows a warning as one line, without the source line Python adds."""
    print(f"recsys: warning: {message}", file=sys.stderr)


_OWN_MODULES = r"recommender_systems(\.|$)"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``recsys``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # each distinct warning once
        # A deprecation is shown to whoever can act on it, as Python's own filters do:
        # the library's (renamed parameters) reach the user; a dependency's warnings
        # about its own internals (Ray Data about its settings) do not.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("default", category=DeprecationWarning, module=_OWN_MODULES)
        warnings.showwarning = _one_line_warning
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        status: int = args.run(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`recsys ... | head`): not an error of ours. Point
        # stdout at /dev/null so the interpreter's final flush stays quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
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
