"""MovieLens ratings and movie metadata (GroupLens Research, University of Minnesota)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from recommender_systems.datasets._cache import ensure_files
from recommender_systems.datasets._parsing import (
    RATING_DTYPES,
    read_table,
    require_complete,
    year_from_title,
)
from recommender_systems.datasets._paths import PathLike
from recommender_systems.errors import DataError

MOVIELENS_NAMES = ("ml-100k", "ml-1m", "ml-20m", "ml-25m", "ml-latest-small")

_RATING_COLUMNS = list(RATING_DTYPES)
_CSV_RATING_COLUMNS = {
    "userId": "user_id",
    "movieId": "item_id",
    "rating": "rating",
    "timestamp": "timestamp",
}
_NO_GENRES = "(no genres listed)"
_N_ITEM_FIELDS_100K = 5  # id, title, release date, video release date, IMDb URL


def load_movielens_ratings(
    name: str,
    data_home: PathLike | None = None,
    *,
    download: bool = True,
    progress: bool = True,
    verify: bool = True,
) -> pd.DataFrame:
    """Ratings of any MovieLens dataset: ``user_id, item_id, rating, timestamp``."""
    _check_name(name)
    if name == "ml-100k":
        folder = ensure_files(
            name, ["u.data"], data_home, download=download, progress=progress, verify=verify
        )
        return _read_headerless_ratings(folder / "u.data", sep="\t")
    if name == "ml-1m":
        folder = ensure_files(
            name, ["ratings.dat"], data_home, download=download, progress=progress, verify=verify
        )
        return _read_headerless_ratings(folder / "ratings.dat", sep="::")
    folder = ensure_files(
        name, ["ratings.csv"], data_home, download=download, progress=progress, verify=verify
    )
    return _read_csv_ratings(folder / "ratings.csv")


def load_movielens_100k(
    data_home: PathLike | None = None,
    *,
    download: bool = True,
    progress: bool = True,
    verify: bool = True,
) -> pd.DataFrame:
    """MovieLens 100K ratings (100,000 rows, 943 users, 1,682 movies, 1-5 stars).

    Columns ``user_id``, ``item_id``, ``rating`` (float) and ``timestamp`` (unix
    seconds), one row per rating in file order.

    Example:
        >>> ratings = load_movielens_100k()  # doctest: +SKIP
        >>> ratings.shape  # doctest: +SKIP
        (100000, 4)
    """
    return load_movielens_ratings(
        "ml-100k", data_home, download=download, progress=progress, verify=verify
    )


def load_movielens_1m(
    data_home: PathLike | None = None,
    *,
    download: bool = True,
    progress: bool = True,
    verify: bool = True,
) -> pd.DataFrame:
    """MovieLens 1M ratings (1,000,209 rows, 6,040 users, 1-5 stars).

    Example:
        >>> load_movielens_1m().columns.tolist()  # doctest: +SKIP
        ['user_id', 'item_id', 'rating', 'timestamp']
    """
    return load_movielens_ratings(
        "ml-1m", data_home, download=download, progress=progress, verify=verify
    )


def load_movielens_20m(
    data_home: PathLike | None = None,
    *,
    download: bool = True,
    progress: bool = True,
    verify: bool = True,
) -> pd.DataFrame:
    """MovieLens 20M ratings (20,000,263 rows, half stars 0.5-5).

    Example:
        >>> len(load_movielens_20m())  # doctest: +SKIP
        20000263
    """
    return load_movielens_ratings(
        "ml-20m", data_home, download=download, progress=progress, verify=verify
    )


def load_movielens_25m(
    data_home: PathLike | None = None,
    *,
    download: bool = True,
    progress: bool = True,
    verify: bool = True,
) -> pd.DataFrame:
    """MovieLens 25M ratings (25,000,095 rows, half stars 0.5-5).

    Example:
        >>> len(load_movielens_25m())  # doctest: +SKIP
        25000095
    """
    return load_movielens_ratings(
        "ml-25m", data_home, download=download, progress=progress, verify=verify
    )


def load_movielens_latest_small(
    data_home: PathLike | None = None,
    *,
    download: bool = True,
    progress: bool = True,
    verify: bool = True,
) -> pd.DataFrame:
    """MovieLens latest-small ratings, 2018-09 release (100,836 rows, half stars).

    Example:
        >>> load_movielens_latest_small()["rating"].min()  # doctest: +SKIP
        0.5
    """
    return load_movielens_ratings(
        "ml-latest-small", data_home, download=download, progress=progress, verify=verify
    )


def load_movielens_movies(
    name: str,
    data_home: PathLike | None = None,
    *,
    download: bool = True,
    progress: bool = True,
    verify: bool = True,
) -> pd.DataFrame:
    """Movies of a MovieLens dataset: ``item_id, title, genres, year``.

    ``genres`` holds a list of strings per movie (empty when none is listed) and
    ``year`` is a nullable ``Int64`` taken from the title (or, in ml-100k, from the
    release date when the title has none). Titles are kept as published.
    """
    _check_name(name)
    if name == "ml-100k":
        folder = ensure_files(
            name,
            ["u.item", "u.genre"],
            data_home,
            download=download,
            progress=progress,
            verify=verify,
        )
        return _read_100k_items(folder / "u.item", folder / "u.genre")
    if name == "ml-1m":
        folder = ensure_files(
            name, ["movies.dat"], data_home, download=download, progress=progress, verify=verify
        )
        movies = read_table(
            folder / "movies.dat",
            sep="::",
            names=["item_id", "title", "genres"],
            dtype={"item_id": "int64", "title": "str", "genres": "str"},
            encoding="latin-1",
            quoted=False,
            what="MovieLens movies.dat file",
        )
        return _finish_movies(movies, folder / "movies.dat")
    folder = ensure_files(
        name, ["movies.csv"], data_home, download=download, progress=progress, verify=verify
    )
    movies = read_table(
        folder / "movies.csv",
        sep=",",
        dtype={"movieId": "int64", "title": "str", "genres": "str"},
        usecols=["movieId", "title", "genres"],
        what="MovieLens movies.csv file",
    ).rename(columns={"movieId": "item_id"})
    return _finish_movies(movies, folder / "movies.csv")


def _check_name(name: str) -> None:
    if name not in MOVIELENS_NAMES:
        raise DataError(
            f"unknown MovieLens dataset {name!r}: expected one of {list(MOVIELENS_NAMES)}"
        )


def _read_headerless_ratings(path: Path, *, sep: str) -> pd.DataFrame:
    ratings = read_table(
        path,
        sep=sep,
        names=_RATING_COLUMNS,
        dtype=RATING_DTYPES,
        quoted=False,
        what="MovieLens ratings file (user, item, rating, timestamp)",
    )
    require_complete(ratings, ["rating"], source=path)
    return ratings


def _read_csv_ratings(path: Path) -> pd.DataFrame:
    source_dtypes = {
        source: RATING_DTYPES[target] for source, target in _CSV_RATING_COLUMNS.items()
    }
    ratings = read_table(
        path,
        sep=",",
        dtype=source_dtypes,
        usecols=list(_CSV_RATING_COLUMNS),
        what="MovieLens ratings.csv file",
    )
    ratings = ratings.rename(columns=_CSV_RATING_COLUMNS)[_RATING_COLUMNS]
    require_complete(ratings, ["rating"], source=path)
    return ratings


def _read_100k_items(item_path: Path, genre_path: Path) -> pd.DataFrame:
    genres = read_table(
        genre_path,
        sep="|",
        names=["genre", "index"],
        dtype={"genre": "str", "index": "int64"},
        encoding="latin-1",
        quoted=False,
        what="MovieLens u.genre file",
    )
    genre_names = genres["genre"].tolist()
    if genres["index"].tolist() != list(range(len(genre_names))):
        raise DataError(f"{genre_path}: expected lines 'name|index' with indices 0, 1, ...")
    names = ["item_id", "title", "release_date", "video_release_date", "imdb_url", *genre_names]
    items = read_table(
        item_path,
        sep="|",
        names=names,
        dtype={"item_id": "int64", "title": "str", "release_date": "str"},
        encoding="latin-1",
        quoted=False,
        what=f"MovieLens u.item file with {len(genre_names)} genre flags",
    )
    flags = items[genre_names]
    if flags.isna().any().any() or not flags.isin([0, 1]).all().all():
        raise DataError(
            f"{item_path}: expected {len(genre_names)} genre flags of 0 or 1 after "
            f"{_N_ITEM_FIELDS_100K} fields on every line"
        )
    flag_matrix = flags.to_numpy(dtype=np.int8).astype(bool)
    label_array = np.asarray(genre_names, dtype=object)
    genre_lists = [label_array[row].tolist() for row in flag_matrix]
    year = year_from_title(items["title"])
    release_year = pd.to_numeric(
        items["release_date"].str.extract(r"(\d{4})\s*$", expand=False), errors="coerce"
    ).astype("Int64")
    return pd.DataFrame(
        {
            "item_id": items["item_id"],
            "title": items["title"],
            "genres": pd.Series(genre_lists, index=items.index, dtype=object),
            "year": year.fillna(release_year),
        }
    )


def _finish_movies(movies: pd.DataFrame, source: Path) -> pd.DataFrame:
    require_complete(movies, ["item_id", "title"], source=source)
    genre_text = movies["genres"].fillna(_NO_GENRES)
    genre_lists = [[] if text == _NO_GENRES or not text else text.split("|") for text in genre_text]
    return pd.DataFrame(
        {
            "item_id": movies["item_id"],
            "title": movies["title"],
            "genres": pd.Series(genre_lists, index=movies.index, dtype=object),
            "year": year_from_title(movies["title"]),
        }
    )
