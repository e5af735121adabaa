"""What the ``recsys`` subcommands share: data options, ``--param`` parsing, id
parsing and turning errors into one clear line."""

from __future__ import annotations

import argparse
import json
from typing import Any

import pandas as pd

from recommender_systems import datasets
from recommender_systems.errors import DataError, ParameterError
from recommender_systems.idmap import IdMap
from recommender_systems.interactions import Interactions


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
    parser.add_argument("--user-col", default="user_id", help="user id column of --data")
    parser.add_argument("--item-col", default="item_id", help="item id column of --data")
    parser.add_argument("--rating-col", default="rating", help="rating column of --data, if any")
    parser.add_argument(
        "--timestamp-col", default="timestamp", help="timestamp column of --data, if any"
    )


def add_param_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a model hyperparameter (repeatable), e.g. --param k=50",
    )


def load_frame(args: argparse.Namespace) -> pd.DataFrame:
    """The interactions selected by ``--dataset`` / ``--data``, with standard column names."""
    if args.data is None:
        return datasets.load(args.dataset or "ml-100k")
    data = Interactions.from_file(
        args.data,
        user_col=args.user_col,
        item_col=args.item_col,
        rating_col=args.rating_col,
        timestamp_col=args.timestamp_col,
        duplicates="first",
    )
    frame = data.to_frame()
    return frame.rename(columns={"value": "rating"}) if data.feedback == "explicit" else frame


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``["k=50", "similarity=bm25"]`` -> ``{"k": 50, "similarity": "bm25"}``.

    Values are read as JSON when they parse (numbers, true/false, null, lists) and
    as plain strings otherwise.
    """
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ParameterError(f"--param: expected KEY=VALUE, received {pair!r}")
        try:
            params[key] = json.loads(text)
        except json.JSONDecodeError:
            params[key] = text
    return params


def parse_id(text: str, ids: IdMap) -> Any:
    """A command-line id as the model's id type (an int when the model's ids are ints)."""
    if ids.kind == "int":
        try:
            return int(text)
        except ValueError:
            raise DataError(f"expected an integer id, received {text!r}") from None
    return text
