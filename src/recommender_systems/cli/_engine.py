"""``--engine local|ray`` and ``--address``: where a subcommand runs.

With ``--engine ray`` the work goes to :mod:`recommender_systems.distributed` (the
optional ``distributed`` extra): on the cluster at ``--address``, or on a local Ray
started for the command and shut down after it.
"""

from __future__ import annotations

import argparse
from types import ModuleType

from recommender_systems.cli._common import CliError

ENGINES = ("local", "ray")


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="run in this process (local, default) or on Ray (needs the 'distributed' extra)",
    )
    parser.add_argument(
        "--address",
        default=None,
        help="with --engine ray: the Ray cluster to use (default: start a local Ray)",
    )


def distributed(args: argparse.Namespace) -> ModuleType:
    """:mod:`recommender_systems.distributed`, or a one-line error naming the extra."""
    if args.engine != "ray":
        raise CliError("this option needs --engine ray")
    try:
        from recommender_systems import distributed as module
    except ImportError as exc:
        raise CliError(str(exc)) from None
    return module


def check_local(args: argparse.Namespace) -> None:
    """``--address`` without ``--engine ray`` is a mistake worth reporting."""
    if args.engine == "local" and args.address is not None:
        raise CliError("--address goes with --engine ray")
