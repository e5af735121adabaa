"""``recsys tune``: search a model's hyperparameters on a validation split carved
out of the data, refit the best on all of it and save it (needs the ``tune`` extra)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from recommender_systems.cli._common import (
    CliError,
    add_data_options,
    add_param_option,
    load_frame,
    parse_params,
)
from recommender_systems.registry import get_algorithm

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """``"90"``, ``"90s"``, ``"10m"``, ``"1.5h"`` -> seconds.

    Example:
        >>> parse_duration("10m"), parse_duration("45")
        (600.0, 45.0)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text.lower())
    if match is None or float(match.group(1)) <= 0:
        raise CliError(f"--budget: expected a duration such as 90s, 10m or 1h, received {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "tune",
        help="tune a model's hyperparameters on a validation split and save the best",
        description="Searches --algo's declared hyperparameters (Optuna TPE) on a validation "
        "split carved out of the data, refits the best configuration on all of it and saves "
        "it to --out. Needs the tune extra: pip install 'recommender-systems[tune]'.",
    )
    parser.add_argument("--algo", required=True, help="algorithm name (see 'recsys list-algos')")
    add_data_options(parser)
    add_param_option(parser)
    parser.add_argument("--budget", default="10m", help="time for the search (default 10m)")
    parser.add_argument(
        "--n-trials", type=int, default=100, help="at most this many trials (default: %(default)s)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the split and the search (default: %(default)s)",
    )
    parser.add_argument("--threads", type=int, default=None, help="threads for every model")
    parser.add_argument("--out", required=True, help="where to write the tuned model")
    parser.add_argument("--report", default=None, help="write the report (.md or .json)")
    parser.add_argument("--plot", default=None, help="write the score-vs-trial plot (.png)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        from recommender_systems.tune import tune
    except ImportError as exc:
        raise CliError(str(exc)) from None
    if args.n_trials < 1:
        raise CliError(f"--n-trials: expected an integer >= 1, received {args.n_trials}")
    template = get_algorithm(args.algo).create(**parse_params(args.param))
    frame = load_frame(args)
    result = tune(
        template,
        frame,
        budget=parse_duration(args.budget),
        n_trials=args.n_trials,
        random_state=args.seed,
        n_threads=args.threads,
        progress=not args.quiet,
    )
    assert result.model is not None
    path = result.model.save(args.out)
    if args.report is not None:
        report = Path(args.report)
        if report.suffix.lower() == ".json":
            result.report.to_json(report)
        else:
            report.write_text(result.report.to_markdown(), encoding="utf-8")
    if args.plot is not None:
        result.report.plot(args.plot)
    if not args.quiet:
        print(
            f"best {result.report.metric} {result.best_score:.4f} on validation with "
            f"{result.best_params} ({len(result.report.trials)} trials, "
            f"{result.report.seconds:.1f} s); refitted on all rows and saved to {path}",
            file=sys.stderr,
        )
    return 0
