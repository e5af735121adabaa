"""What the ``recsys`` subcommands share: data and model options, ``--param``
parsing, id parsing, reading id files and writing tables."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recommender_systems import datasets
from recommender_systems.base import Recommender
from recommender_systems.errors import DataError, ParameterError
from recommender_systems.hyperparameters import Hyperparameter, declared
from recommender_systems.idmap import IdMap
from recommender_systems.interactions import Interactions
from recommender_systems.persistence import load
from recommender_systems.query import UNKNOWN_USERS, UnknownUsers


class CliError(Exception):
    """A problem to report in one line, with the exit status to use."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """``--dataset NAME | --data FILE`` plus the column names of ``--data``."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--dataset",
        default=None,
        help="a dataset name (see 'recsys datasets list'); default ml-100k",
    )
    source.add_argument("--data", default=None, help="a CSV or Parquet file of interactions")
    parser.add_argument(
        "--user-col", default="user_id", help="user id column of --data (default: %(default)s)"
    )
    parser.add_argument(
        "--item-col", default="item_id", help="item id column of --data (default: %(default)s)"
    )
    parser.add_argument(
        "--rating-col",
        default="rating",
        help="rating column of --data, if any (default: %(default)s)",
    )
    parser.add_argument(
        "--timestamp-col",
        default="timestamp",
        help="timestamp column of --data, if any (default: %(default)s)",
    )


def add_param_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a model hyperparameter (repeatable), e.g. --param n_neighbors=50; "
        "'recsys describe ALGO' lists them",
    )


def load_frame(args: argparse.Namespace) -> pd.DataFrame:
    """The interactions selected by ``--dataset`` / ``--data``, with standard column names."""
    if args.data is None:
        return datasets.load(args.dataset or "ml-100k")
    return read_interactions(args.data, args)


def read_interactions(path: str, args: argparse.Namespace) -> pd.DataFrame:
    """Interactions from a CSV/Parquet file, named by the column options of ``args``."""
    data = Interactions.from_file(
        path,
        user_col=args.user_col,
        item_col=args.item_col,
        rating_col=args.rating_col,
        timestamp_col=args.timestamp_col,
        duplicates="first",
    )
    frame = data.to_frame()
    return frame.rename(columns={"value": "rating"}) if data.feedback == "explicit" else frame


def parse_params(pairs: list[str], cls: type[Recommender] | None = None) -> dict[str, Any]:
    """``["n_neighbors=50", "similarity=bm25"]`` -> ``{"n_neighbors": 50, "similarity": "bm25"}``.

    With ``cls``, each value is read as the type its declaration says
    (:mod:`recommender_systems.hyperparameters`), former names are translated and
    an unknown name is refused with the list of declared ones; otherwise values are
    read as JSON when they parse and as plain strings otherwise.
    """
    raw: dict[str, str] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ParameterError(f"--param: expected KEY=VALUE, received {pair!r}")
        raw[key] = text
    if cls is None:
        return {
            key: Hyperparameter(default=None, doc="").parse(text, key) for key, text in raw.items()
        }
    declarations = declared(cls)
    params: dict[str, Any] = {}
    for key, text in cls._current_names(raw).items():
        if key not in cls._param_names():
            raise ParameterError(
                f"--param {key}: not a hyperparameter of {cls.__name__}; expected one of "
                f"{', '.join(cls._param_names()) or '(none)'} (see 'recsys describe')"
            )
        hp = declarations.get(key, Hyperparameter(default=None, doc=""))
        params[key] = hp.parse(text, key)
    return params


def add_unknown_users_option(parser: argparse.ArgumentParser) -> None:
    """``--unknown-users``: the one unknown-user rule (recommender_systems.query)."""
    parser.add_argument(
        "--unknown-users",
        choices=("model", *UNKNOWN_USERS),
        default="model",
        help="what a user unseen in training gets: the model's own rule ('empty' for "
        "personalised models, 'popular' for the baselines), an empty list, the popularity "
        "ranking, or an error (exit status 1); default: %(default)s",
    )


def unknown_users_policy(args: argparse.Namespace, model: Recommender) -> UnknownUsers:
    """The policy ``--unknown-users`` chose for ``model``."""
    chosen: UnknownUsers = (
        model.unknown_users if args.unknown_users == "model" else args.unknown_users
    )
    return chosen


def parse_id(text: str, ids: IdMap) -> Any:
    """A command-line id as the model's id type (an int when the model's ids are ints)."""
    return ids.coerce(text)


def add_model_option(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--model FILE`` plus ``--import MODULE`` for models defined outside the library."""
    parser.add_argument(
        "--model", required=required, default=None, help="a model file written by 'recsys fit'"
    )
    add_import_option(parser)


def add_import_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import this module first, so that the custom models it defines can be "
        "loaded (model files never import code themselves); repeatable",
    )


def import_modules(names: list[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise CliError(f"--import {name}: {exc}") from None


def load_model(path: str, imports: list[str]) -> Recommender:
    """The model saved at ``path``, after importing the modules named by ``--import``."""
    import_modules(imports)
    return load(path)


def read_user_ids(path: str, ids: IdMap) -> np.ndarray:
    """User ids from a file: a ``user_id`` column (or the first column) of a CSV or
    Parquet file, or one id per line of any other text file."""
    source = Path(path)
    if not source.is_file():
        raise CliError(f"--users: file not found: {path}")
    suffix = source.suffix.lower()
    if suffix in (".csv", ".parquet", ".pq"):
        frame = pd.read_parquet(source) if suffix != ".csv" else pd.read_csv(source, dtype=str)
        if frame.shape[1] == 0:
            raise DataError(f"--users: {path} has no columns")
        values = frame["user_id" if "user_id" in frame.columns else frame.columns[0]].tolist()
    else:
        lines = source.read_text(encoding="utf-8").splitlines()
        values = [line.strip() for line in lines if line.strip()]
    if not values:
        raise DataError(f"--users: {path} holds no user ids")
    parsed = [ids.coerce(v) for v in values]
    return np.asarray(parsed, dtype=np.int64 if ids.kind == "int" else str)


def write_table(frame: pd.DataFrame, path: str | None) -> None:
    """Writes ``frame`` as Parquet (``.parquet``, ``.pq``) or CSV (``.csv``), by the
    file's suffix (stdout, as CSV, if None); any other suffix is refused."""
    if path is None:
        frame.to_csv(sys.stdout, index=False)
        return
    suffix = Path(path).suffix.lower()
    if suffix in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    elif suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        raise CliError(
            f"--output {path}: expected a .csv, .parquet or .pq file name, received the "
            f"suffix {suffix or '(none)'!r}"
        )
