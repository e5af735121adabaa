"""Public recommender-system datasets: download once, verify, load as DataFrames.

Files live under a data home: ``data_home=`` if given, else ``$RECSYS_DATA_DIR``,
else ``$XDG_CACHE_HOME/recommender_systems`` (``~/.cache/recommender_systems``),
one folder per dataset named like the official archive's (``ml-100k/``, ...).

Examples:
    >>> from recommender_systems import datasets
    >>> names = [info.name for info in datasets.list_datasets()]
    >>> names
    ['ml-100k', 'ml-1m', 'ml-20m', 'ml-25m', 'ml-latest-small', 'goodbooks-10k']
"""

from __future__ import annotations

from recommender_systems.datasets._catalog import (
    download,
    list_datasets,
    load,
    load_item_metadata,
)
from recommender_systems.datasets._integrity import UnverifiedDataWarning
from recommender_systems.datasets._paths import dataset_dir, resolve_data_home
from recommender_systems.datasets._registry import DatasetInfo
from recommender_systems.datasets.books import (
    GoodbooksKind,
    load_goodbooks_10k,
    load_goodbooks_books,
    load_goodbooks_tag_text,
    load_goodbooks_tags,
)
from recommender_systems.datasets.movielens import (
    load_movielens_1m,
    load_movielens_20m,
    load_movielens_25m,
    load_movielens_100k,
    load_movielens_latest_small,
)

__all__ = [
    "DatasetInfo",
    "GoodbooksKind",
    "UnverifiedDataWarning",
    "dataset_dir",
    "download",
    "list_datasets",
    "load",
    "load_goodbooks_10k",
    "load_goodbooks_books",
    "load_goodbooks_tag_text",
    "load_goodbooks_tags",
    "load_item_metadata",
    "load_movielens_1m",
    "load_movielens_20m",
    "load_movielens_25m",
    "load_movielens_100k",
    "load_movielens_latest_small",
    "resolve_data_home",
]
