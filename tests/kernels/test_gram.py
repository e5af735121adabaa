"""The sparse Gram matrix XᵀX against SciPy, across thread counts, and its errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommender_systems.errors import InsufficientMemoryError, ParameterError
from recommender_systems.kernels import _loader, sparse_gram, sparse_gram_reference
from recommender_systems.kernels.selection import csr_arrays

ext = _loader.extension
needs_ext = pytest.mark.skipif(ext is None, reason="Rust extension not built")


def problem(m: int, n: int, density: float, seed: int) -> sp.csr_matrix:
    """A random ``m x n`` matrix with values in [-0.5, 0.5) and row 3 empty."""
    rng = np.random.default_rng(seed)
    mask = rng.random((m, n)) < density
    mask[3:4] = False
    values = rng.random((m, n), dtype=np.float32) - np.float32(0.5)
    return sp.csr_matrix(np.where(mask, values, np.float32(0)))


def scipy_gram(x: sp.csr_matrix, dtype: type) -> np.ndarray:
    x = x.astype(dtype)
    return (x.T @ x).toarray()


# Tall and wide, more rows than one parallel unit, empty shapes and a 1 x 1.
SHAPES = [(1, 1, 1.0), (0, 5, 0.3), (7, 0, 0.3), (0, 0, 0.3), (400, 30, 0.2), (3000, 130, 0.1)]


@pytest.mark.parametrize(("m", "n", "density"), SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_scipy_for_any_thread_count(m: int, n: int, density: float, dtype: type) -> None:
    x = problem(m, n, density, seed=m + n)
    want = scipy_gram(x, np.float64)
    got = sparse_gram(x, dtype, n_threads=1)
    assert got.shape == (n, n) and got.dtype == dtype and got.flags.c_contiguous
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    np.testing.assert_array_equal(got, got.T)  # exactly symmetric
    for n_threads in (0, 2, 3):
        np.testing.assert_array_equal(sparse_gram(x, dtype, n_threads=n_threads), got)


@pytest.mark.parametrize("double", [False, True])
def test_reference_agrees_and_repeated_columns_are_summed(double: bool) -> None:
    x = problem(200, 40, 0.2, seed=1)
    indptr, indices = csr_arrays(x)
    dtype = np.float64 if double else np.float32
    want = sparse_gram_reference(indptr, indices, x.data, 40, double)
    assert want.dtype == dtype
    np.testing.assert_allclose(sparse_gram(x, dtype), want, rtol=1e-5, atol=1e-5)
    # Every row stored twice, the copy reversed: the Gram of 2X, 4 XᵀX.
    rows = [
        (np.r_[x.indices[lo:hi], x.indices[lo:hi][::-1]], np.r_[x.data[lo:hi], x.data[lo:hi][::-1]])
        for lo, hi in zip(x.indptr[:-1], x.indptr[1:], strict=True)
    ]
    lengths = [0] + [r[0].size for r in rows]
    doubled = sp.csr_matrix(
        (
            np.concatenate([r[1] for r in rows]),
            np.concatenate([r[0] for r in rows]),
            np.cumsum(lengths),
        ),
        shape=x.shape,
    )
    doubled.has_canonical_format = False
    got = sparse_gram(doubled, dtype, n_threads=2)
    np.testing.assert_allclose(got, 4 * want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scipy_gram(doubled, np.float64), 4 * want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.int32, np.float16, "complex128", None, "f"])
def test_refuses_other_accumulation_types(dtype: object) -> None:
    x = problem(5, 3, 0.5, seed=0)
    if dtype == "f":  # a valid spelling of float32
        assert sparse_gram(x, dtype).dtype == np.float32
        return
    with pytest.raises(ParameterError, match="dtype: expected float32 or float64"):
        sparse_gram(x, dtype)  # type: ignore[arg-type]


@needs_ext
@pytest.mark.parametrize("name", ["sparse_gram", "sparse_gram_f64"])
@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"n_cols": 2}, ParameterError, r"indices: expected column indices in \[0, 2\)"),
        ({"n_cols": -1}, ParameterError, "n_cols: expected an integer >= 0"),
        ({"n_cols": 2.0}, ParameterError, "n_cols: expected an integer >= 0"),
        ({"data": None}, ParameterError, "data: expected a C-contiguous 1-D float32"),
        ({"data": np.ones(2, np.float64)}, ParameterError, "data: expected a C-contiguous"),
        ({"data": np.array([1, np.nan], np.float32)}, ParameterError, "data: expected finite"),
        ({"indptr": np.array([0, 1], np.int64)}, ParameterError, "indptr: expected indptr"),
        ({"n_threads": 1025}, ParameterError, r"n_threads: expected an integer in \[0, 1024\]"),
        ({"n_cols": 2**20}, InsufficientMemoryError, "n_cols: the 1048576 x 1048576 Gram"),
    ],
)
def test_bindings_refuse_bad_arguments(
    name: str, change: dict[str, object], error: type[Exception], message: str
) -> None:
    args: dict[str, object] = {
        "indptr": np.array([0, 1, 2], np.int64),
        "indices": np.array([0, 2], np.int32),
        "data": np.ones(2, np.float32),
        "n_cols": 3,
    }
    args.update(change)
    with pytest.raises(error, match=message):
        getattr(ext, name)(**args)
