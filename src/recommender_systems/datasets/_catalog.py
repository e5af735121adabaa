"""Dataset-agnostic entry points: list, load by name, item metadata, download."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from recommender_systems.datasets import books, movielens
from recommender_systems.datasets._cache import download_dataset
from recommender_systems.datasets._paths import PathLike
from recommender_systems.datasets._registry import SPECS, DatasetInfo, get_spec

# Signature shared by every per-dataset reader below.
_Reader = Callable[..., pd.DataFrame]


def _movielens_ratings(name: str) -> _Reader:
    def read(data_home: PathLike | None, **options: bool) -> pd.DataFrame:
        return movielens.load_movielens_ratings(name, data_home, **options)

    return read


def _movielens_movies(name: str) -> _Reader:
    def read(data_home: PathLike | None, **options: bool) -> pd.DataFrame:
        return movielens.load_movielens_movies(name, data_home, **options)

    return read


_RATINGS: dict[str, _Reader] = {
    **{name: _movielens_ratings(name) for name in movielens.MOVIELENS_NAMES},
    books.NAME: books.load_goodbooks_10k,
}
_ITEMS: dict[str, _Reader] = {
    **{name: _movielens_movies(name) for name in movielens.MOVIELENS_NAMES},
    books.NAME: books.load_goodbooks_items,
}


def list_datasets() -> list[DatasetInfo]:
    """Every dataset the library can load, with size, licence and official page.

    Example:
        >>> info = list_datasets()[0]
        >>> info.name, info.n_ratings
        ('ml-100k', 100000)
    """
    return [spec.info for spec in SPECS.values()]


def load(
    name: str,
    data_home: PathLike | None = None,
    *,
    download: bool = True,
    progress: bool = True,
    verify: bool = True,
) -> pd.DataFrame:
    """Ratings of dataset ``name`` (``"ml-100k"``, ..., ``"goodbooks-10k"``).

    Columns ``user_id``, ``item_id``, ``rating`` and, for MovieLens, ``timestamp``.

    Example:
        >>> ratings = load("ml-100k")  # doctest: +SKIP
        >>> ratings["user_id"].nunique()  # doctest: +SKIP
        943
    """
    spec = get_spec(name)
    return _RATINGS[spec.name](data_home, download=download, progress=progress, verify=verify)


def load_item_metadata(
    name: str,
    data_home: PathLike | None = None,
    *,
    download: bool = True,
    progress: bool = True,
    verify: bool = True,
) -> pd.DataFrame:
    """Item metadata of dataset ``name``.

    MovieLens: ``item_id, title, genres`` (list of strings), ``year`` (nullable
    ``Int64``). goodbooks-10k: ``item_id, title, authors, year``.

    Example:
        >>> movies = load_item_metadata("ml-100k")  # doctest: +SKIP
        >>> movies.loc[0, "genres"]  # doctest: +SKIP
        ['Animation', "Children's", 'Comedy']
    """
    spec = get_spec(name)
    return _ITEMS[spec.name](data_home, download=download, progress=progress, verify=verify)


def download(
    name: str,
    data_home: PathLike | None = None,
    progress: bool = True,
    *,
    verify: bool = True,
) -> Path:
    """Download, verify and extract dataset ``name`` if needed; return its folder.

    Example:
        >>> download("ml-100k")  # doctest: +SKIP
        PosixPath('/home/me/.cache/recommender_systems/ml-100k')
    """
    return download_dataset(name, data_home, progress=progress, verify=verify)
