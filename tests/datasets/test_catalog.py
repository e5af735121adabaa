"""The dataset catalogue: names, summaries, registry integrity, dispatch by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recommender_systems.datasets import (
    DatasetInfo,
    download,
    list_datasets,
    load,
    load_item_metadata,
)
from recommender_systems.datasets._registry import SPECS
from recommender_systems.errors import DataError

NAMES = ["ml-100k", "ml-1m", "ml-20m", "ml-25m", "ml-latest-small", "goodbooks-10k"]


def test_list_datasets_summarises_every_dataset() -> None:
    infos = list_datasets()

    assert [info.name for info in infos] == NAMES
    assert all(isinstance(info, DatasetInfo) for info in infos)
    assert {info.name: info.n_ratings for info in infos} == {
        "ml-100k": 100_000,
        "ml-1m": 1_000_209,
        "ml-20m": 20_000_263,
        "ml-25m": 25_000_095,
        "ml-latest-small": 100_836,
        "goodbooks-10k": 5_976_479,
    }
    assert all(info.url.startswith("https://") for info in infos)
    assert all(info.description and info.licence for info in infos)


def test_registry_hashes_are_sha256_hex_or_unknown() -> None:
    for spec in SPECS.values():
        for value in [spec.archive_sha256, *spec.file_sha256.values()]:
            assert value is None or re.fullmatch(r"[0-9a-f]{64}", value), (spec.name, value)


@pytest.mark.parametrize("name", NAMES)
def test_folders_are_named_like_the_official_archives(name: str) -> None:
    spec = SPECS[name]

    assert spec.folder == name
    assert spec.archive_name == f"{name}.zip"
    assert spec.archive_url.startswith(
        ("https://files.grouplens.org/", "https://github.com/zygmuntz/goodbooks-10k/")
    )


@pytest.mark.parametrize("entry_point", [load, load_item_metadata, download])
def test_unknown_names_raise_data_error_listing_known_names(
    entry_point: object, tmp_path: Path
) -> None:
    with pytest.raises(DataError, match="expected one of 'ml-100k', 'ml-1m'") as caught:
        entry_point("movielens", tmp_path)  # type: ignore[operator]

    assert "'goodbooks-10k'" in str(caught.value)
