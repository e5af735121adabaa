"""Shared fixtures: small generated data everywhere, MovieLens 100k when present."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from recommender_systems import generate_interactions, load_movielens_100k, split_ratings

ORIGINAL_SEED = 20260527


def ml100k_available() -> bool:
    root = os.environ.get("RECSYS_DATA_DIR")
    return root is not None and (Path(root) / "ml-100k" / "u.data").is_file()


requires_ml100k = pytest.mark.skipif(
    not ml100k_available(), reason="MovieLens 100k not found under RECSYS_DATA_DIR"
)


@pytest.fixture(scope="session")
def ml100k() -> pd.DataFrame:
    if not ml100k_available():
        pytest.skip("MovieLens 100k not found under RECSYS_DATA_DIR")
    return load_movielens_100k(progress=False)


@pytest.fixture(scope="session")
def ml100k_split(ml100k: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The original protocol: random 80/20 row split with the original seed."""
    return split_ratings(ml100k, test_size=0.2, random_state=ORIGINAL_SEED)


@pytest.fixture(scope="session")
def synthetic() -> pd.DataFrame:
    """A small explicit dataset with timestamps: 120 users, 80 items, 2,000 rows."""
    return generate_interactions(120, 80, 2000, random_state=3, ratings=True, timestamps=True)


@pytest.fixture
def tiny() -> pd.DataFrame:
    """Four users with string ids, five items: small enough to check by hand."""
    return pd.DataFrame(
        {
            "user_id": ["ann", "ann", "ann", "bob", "bob", "cat", "cat", "dan"],
            "item_id": [1, 2, 3, 1, 4, 2, 5, 1],
            "rating": [5.0, 3.0, 4.0, 4.0, 2.0, 5.0, 1.0, 3.0],
            "timestamp": [10, 20, 30, 15, 25, 5, 50, 40],
        }
    )
