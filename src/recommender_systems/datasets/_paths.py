"""Where datasets live on disk."""

from __future__ import annotations

import os
from pathlib import Path

from recommender_systems.datasets._registry import get_spec

DATA_DIR_ENV = "RECSYS_DATA_DIR"

PathLike = str | os.PathLike[str]


def resolve_data_home(data_home: PathLike | None = None) -> Path:
    """The root folder of all datasets.

    ``data_home`` if given, else ``$RECSYS_DATA_DIR``, else
    ``$XDG_CACHE_HOME/recommender_systems``, else ``~/.cache/recommender_systems``.

    Example:
        >>> resolve_data_home("/tmp/my-data")
        PosixPath('/tmp/my-data')
    """
    if data_home is not None:
        return Path(data_home).expanduser()
    from_env = os.environ.get(DATA_DIR_ENV)
    if from_env:
        return Path(from_env).expanduser()
    xdg_cache = os.environ.get("XDG_CACHE_HOME")
    cache_root = Path(xdg_cache).expanduser() if xdg_cache else Path.home() / ".cache"
    return cache_root / "recommender_systems"


def dataset_dir(name: str, data_home: PathLike | None = None) -> Path:
    """The folder that holds (or will hold) the extracted files of dataset ``name``.

    Its name is the top-level folder of the official archive, e.g. ``ml-100k``.

    Example:
        >>> dataset_dir("ml-100k", "/tmp/my-data")
        PosixPath('/tmp/my-data/ml-100k')
    """
    return resolve_data_home(data_home) / get_spec(name).folder
