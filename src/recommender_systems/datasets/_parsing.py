"""Shared helpers to turn raw dataset files into typed DataFrames."""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from recommender_systems.errors import DataError

RATING_DTYPES: Mapping[str, str] = {
    "user_id": "int64",
    "item_id": "int64",
    "rating": "float64",
    "timestamp": "int64",
}

# A year in parentheses at the end of a title: "Toy Story (1995)", "Show (2007-2009) ".
_TRAILING_YEAR = r"\((\d{4})(?:\s*[-\u2013]\s*\d{0,4})?\)\s*$"


def read_table(
    source: Path,
    *,
    sep: str,
    names: Sequence[str] | None = None,
    dtype: Mapping[str, Any] | None = None,
    usecols: Sequence[str] | None = None,
    encoding: str = "utf-8",
    quoted: bool = True,
    what: str,
) -> pd.DataFrame:
    """``pandas.read_csv`` with every parse failure reported as :class:`DataError`.

    ``names=None`` reads a header line, and ``usecols`` then picks columns by name;
    otherwise the file has no header and every line must have exactly ``names``
    fields (``usecols`` would let extra fields pass unnoticed). A separator
    longer than one character (``::`` in MovieLens 1M) is rewritten to a tab first
    so the fast C parser can be used.
    """
    if names is not None and usecols is not None:
        raise ValueError("usecols is only for files with a header")
    buffer: Path | io.BytesIO = source
    if len(sep) > 1:
        buffer = io.BytesIO(source.read_bytes().replace(sep.encode(encoding), b"\t"))
        sep = "\t"
    if usecols is not None and names is None:
        _require_header(source, sep=sep, encoding=encoding, columns=usecols, what=what)
    try:
        with warnings.catch_warnings():
            # pandas only warns when every line has more fields than expected.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                buffer,
                sep=sep,
                header=None if names is not None else "infer",
                names=list(names) if names is not None else None,
                index_col=False,
                dtype=dict(dtype) if dtype is not None else None,
                usecols=list(usecols) if usecols is not None else None,
                encoding=encoding,
                quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE,
                engine="c",
            )
    except (
        ValueError,
        TypeError,
        UnicodeDecodeError,
        pd.errors.ParserError,
        pd.errors.ParserWarning,
    ) as exc:
        raise DataError(f"{source} is not a valid {what}: {exc}") from exc


def _require_header(
    source: Path, *, sep: str, encoding: str, columns: Sequence[str], what: str
) -> None:
    try:
        with source.open(encoding=encoding, newline="") as handle:
            header = next(csv.reader(handle, delimiter=sep), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{source} is not a valid {what}: {exc}") from exc
    absent = [column for column in columns if column not in header]
    if absent:
        raise DataError(
            f"{source} is not a valid {what}: expected columns {list(columns)} in the "
            f"header; got {header}"
        )


def require_complete(frame: pd.DataFrame, columns: Sequence[str], *, source: Path) -> None:
    """Raise :class:`DataError` naming the first row where a column is empty."""
    for column in columns:
        empty = frame[column].isna().to_numpy()
        if empty.any():
            row = int(empty.argmax())
            raise DataError(f"{source}: column {column!r} is empty at data row {row + 1}")


def year_from_title(titles: pd.Series) -> pd.Series:
    """The year at the end of each title, as nullable ``Int64``."""
    years = titles.astype("str").str.extract(_TRAILING_YEAR, expand=False)
    return pd.to_numeric(years, errors="coerce").astype("Int64")
