"""What the distributed tests share: Parquet datasets written from frames, and
comparisons with the single-process results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recommender_systems.base import Recommender


def write_parquet_dataset(frame: pd.DataFrame, folder: Path, n_files: int = 3) -> Path:
    """``frame`` as a folder of ``n_files`` Parquet files (rows split in order)."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, part in enumerate(np.array_split(np.arange(len(frame)), n_files)):
        frame.iloc[part].to_parquet(folder / f"part-{number}.parquet", index=False)
    return folder


def assert_same_csr(actual: Any, expected: Any) -> None:
    """Two SciPy CSR matrices hold the same entries (values to float tolerance)."""
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(actual.indptr, expected.indptr)
    np.testing.assert_array_equal(actual.indices, expected.indices)
    np.testing.assert_allclose(actual.data, expected.data, rtol=1e-6, atol=1e-7)


def top_lists_agreement(a: Recommender, b: Recommender, n: int = 10) -> float:
    """The share of users whose top-``n`` lists from ``a`` and ``b`` are identical."""
    users = a.user_ids_.ids
    left = a.recommend_batch(users, n).item_indices
    right = b.recommend_batch(users, n).item_indices
    return float((left == right).all(axis=1).mean())
