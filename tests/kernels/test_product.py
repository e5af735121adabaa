"""The transposed sparse x dense product against SciPy, across its tiles and threads."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommender_systems.errors import ParameterError
from recommender_systems.kernels import _loader, transposed_product, transposed_product_reference
from recommender_systems.kernels.selection import csr_arrays

needs_ext = pytest.mark.skipif(_loader.extension is None, reason="Rust extension not built")


def problem(m: int, n: int, c: int, seed: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sparse = sp.csr_matrix(sp.random(m, n, density=0.1, dtype=np.float32, random_state=seed))
    dense = rng.standard_normal((n, c)).astype(np.float32)
    return sparse, dense, rng.uniform(0.5, 2.0, m).astype(np.float32)


# Shapes across the kernel's blocks: more than 64 columns of D (one unit of work)
# and more than 128 rows (one packed tile), with partial blocks at both ends.
@pytest.mark.parametrize(("m", "n", "c"), [(1, 1, 1), (50, 300, 130), (200, 129, 64), (7, 0, 3)])
@pytest.mark.parametrize("scaled", [False, True])
def test_matches_scipy_for_any_thread_count(m: int, n: int, c: int, scaled: bool) -> None:
    sparse, dense, scale = problem(m, n, c, seed=m + n + c)
    want = np.asarray(sparse @ dense).T * (scale if scaled else 1.0)
    got = transposed_product(sparse, dense, scale=scale if scaled else None, n_threads=1)
    assert got.flags.c_contiguous and got.dtype == np.float32 and got.shape == (c, m)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    for n_threads in (0, 2):
        again = transposed_product(
            sparse, dense, scale=scale if scaled else None, n_threads=n_threads
        )
        np.testing.assert_array_equal(again, got)


def test_float64_is_exact_where_float32_rounds() -> None:
    sparse, dense, _ = problem(40, 150, 20, seed=9)
    want = np.asarray(sparse.astype(np.float64) @ dense.astype(np.float64)).T
    got = transposed_product(sparse, dense.astype(np.float64), n_threads=2)
    assert got.dtype == np.float64 and got.flags.c_contiguous
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)


def test_reference_agrees_and_reads_unsorted_rows() -> None:
    sparse, dense, scale = problem(30, 200, 70, seed=3)
    shuffled = sparse.copy()
    for row in range(shuffled.shape[0]):  # reverse each row's stored order
        lo, hi = shuffled.indptr[row], shuffled.indptr[row + 1]
        shuffled.indices[lo:hi] = shuffled.indices[lo:hi][::-1].copy()
        shuffled.data[lo:hi] = shuffled.data[lo:hi][::-1].copy()
    shuffled.has_sorted_indices = False
    indptr, indices = csr_arrays(sparse)
    want = transposed_product_reference(indptr, indices, sparse.data, dense, scale)
    got = transposed_product(shuffled, dense, scale=scale)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@needs_ext
@pytest.mark.parametrize(
    ("dense", "scale", "message"),
    [
        # The sparse matrix is read as having one column per row of dense.
        (np.ones((3, 2), np.float32), None, r"indices: expected column indices in \[0, 3\)"),
        (np.ones((4, 2), np.int64), None, "dense: expected a C-contiguous 2-D float32"),
        (np.ones((4, 2), np.float64), np.ones(5, np.float32), "scale: expected None"),
        (np.ones((4, 2), np.float32), np.ones(4, np.float32), "scale: expected length 5"),
        (np.ones((4, 2), np.float32), np.full(5, np.nan, np.float32), "scale: expected finite"),
    ],
)
def test_refuses_mismatched_operands(
    dense: np.ndarray, scale: np.ndarray | None, message: str
) -> None:
    sparse = sp.csr_matrix(np.ones((5, 4), np.float32))
    with pytest.raises(ParameterError, match=message):
        transposed_product(sparse, dense, scale=scale)
