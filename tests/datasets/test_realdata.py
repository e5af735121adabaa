"""Checks against the real MovieLens files under $RECSYS_DATA_DIR (skipped if absent).

The folder may be read-only: these tests only read it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender_systems.datasets import (
    UnverifiedDataWarning,
    load_item_metadata,
    load_movielens_100k,
    load_movielens_latest_small,
)

from .conftest import GENRES_100K, REAL_DATA_DIR

pytestmark = pytest.mark.realdata


def _real_home(folder: str, probe: str) -> Path:
    if not REAL_DATA_DIR:
        pytest.skip("RECSYS_DATA_DIR is not set")
    home = Path(REAL_DATA_DIR)
    if not (home / folder / probe).is_file():
        pytest.skip(f"{home / folder / probe} is absent")
    return home


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {path.name: (path.stat().st_size, path.stat().st_mtime_ns) for path in folder.iterdir()}


def test_ml_100k_ratings_match_the_published_counts() -> None:
    home = _real_home("ml-100k", "u.data")
    before = _snapshot(home / "ml-100k")

    ratings = load_movielens_100k(home, download=False, progress=False)

    assert len(ratings) == 100_000
    assert ratings["user_id"].nunique() == 943
    assert ratings["item_id"].nunique() == 1_682
    assert set(ratings["rating"].unique()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert not ratings.duplicated(["user_id", "item_id"]).any()
    assert ratings["user_id"].value_counts().min() >= 20
    assert ratings["timestamp"].between(874_724_710, 893_286_638).all()
    assert _snapshot(home / "ml-100k") == before


def test_ml_100k_is_found_through_the_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = _real_home("ml-100k", "u.data")
    monkeypatch.setenv("RECSYS_DATA_DIR", str(home))

    assert len(load_movielens_100k(download=False, progress=False)) == 100_000


def test_ml_100k_metadata_has_every_title_and_genre() -> None:
    home = _real_home("ml-100k", "u.item")

    # No SHA-256 of u.genre is published, so its check is reported as a warning.
    with pytest.warns(UnverifiedDataWarning, match=r"u\.genre"):
        movies = load_item_metadata("ml-100k", home, download=False, progress=False)

    assert len(movies) == 1_682
    assert movies["item_id"].tolist() == list(range(1, 1_683))
    assert movies["title"].str.len().gt(0).all()
    assert movies["genres"].map(len).ge(1).all()
    assert set().union(*movies["genres"]) == set(GENRES_100K)
    assert movies.loc[0, "title"] == "Toy Story (1995)"
    assert movies.loc[0, "genres"] == ["Animation", "Children's", "Comedy"]
    assert movies["year"].notna().sum() == 1_681  # item 267 has neither title nor date


def test_ml_latest_small_counts() -> None:
    home = _real_home("ml-latest-small", "ratings.csv")

    ratings = load_movielens_latest_small(home, download=False, progress=False)

    assert len(ratings) == 100_836
    assert ratings["user_id"].nunique() == 610
    assert set(ratings["rating"].unique()) == {x / 2 for x in range(1, 11)}
