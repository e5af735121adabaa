from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommender_systems.query import select_rows


@pytest.mark.parametrize("seed", range(5))
def test_select_rows_equals_fancy_indexing(seed: int) -> None:
    rng = np.random.default_rng(seed)
    matrix = sp.csr_matrix(sp.random(40, 30, density=0.1, dtype=np.float32, random_state=seed))
    matrix.indptr = matrix.indptr.astype(np.int64)
    for size in (0, 1, 2, 17, 60):
        rows = rng.integers(0, 40, size=size)  # duplicates and empty rows included
        got = select_rows(matrix, rows)
        want = matrix[rows]
        assert got.shape == want.shape
        np.testing.assert_array_equal(got.toarray(), want.toarray())
        np.testing.assert_array_equal(got.indptr, want.indptr)
        np.testing.assert_array_equal(got.indices, want.indices)
