"""Small assertions shared by several test modules."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp


def dense(matrix: Any) -> np.ndarray:
    """A dense array from a SciPy sparse matrix or an array."""
    if sp.issparse(matrix):
        return np.asarray(cast(Any, matrix).toarray())
    return np.asarray(matrix)


def same_sparse(a: Any, b: Any) -> bool:
    """Whether two matrices have the same shape and values."""
    return bool(a.shape == b.shape and np.array_equal(dense(a), dense(b)))


def dense_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame.sparse.to_dense()``: pandas-stubs do not know the ``.sparse`` accessor."""
    return cast(pd.DataFrame, cast(Any, frame).sparse.to_dense())
