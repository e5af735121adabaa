"""The sparse x dense product kernels against SciPy, across their tiles and threads."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommender_systems.errors import ParameterError
from recommender_systems.kernels import (
    _loader,
    product,
    row_product_topk,
    row_product_topk_reference,
    transposed_product,
    transposed_product_reference,
)
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


def _history(m: int, n: int, seed: int, values: list[float] | None = None) -> sp.csr_matrix:
    """A users x items history: about a tenth of the entries, some rows empty, each
    row's columns in scrambled stored order (the kernel reads them as stored)."""
    rng = np.random.default_rng(seed)
    mask = rng.random((m, n)) < 0.1
    mask[::7] = False
    data = rng.standard_normal((m, n)) if values is None else rng.choice(values, (m, n))
    out = sp.csr_matrix(np.where(mask, data, 0).astype(np.float32))
    for row in range(0, m, 2):
        lo, hi = out.indptr[row], out.indptr[row + 1]
        order = rng.permutation(hi - lo)
        out.indices[lo:hi] = out.indices[lo:hi][order]
        out.data[lo:hi] = out.data[lo:hi][order]
    out.has_sorted_indices = False
    return out


def _row_reference(
    sparse: sp.csr_matrix,
    dense: np.ndarray,
    k: int,
    exclude: sp.csr_matrix | None = None,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    indptr, indices = csr_arrays(sparse)
    ex_indptr, ex_indices = (None, None) if exclude is None else csr_arrays(exclude)
    return row_product_topk_reference(
        indptr, indices, sparse.data, dense, k, ex_indptr, ex_indices, allowed
    )


# Shapes: k beyond the catalogue, no users, no items, no columns of D, one vector
# of eight columns and partial ones, and enough work for several threads.
@pytest.mark.parametrize(
    ("m", "n", "c", "k"),
    [(60, 80, 50, 5), (9, 3, 2, 20), (0, 4, 6, 3), (7, 5, 0, 3), (6, 0, 9, 4), (300, 400, 257, 10)],
)
@pytest.mark.parametrize("ties", [False, True])
def test_row_product_topk_matches_the_reference(m: int, n: int, c: int, k: int, ties: bool) -> None:
    sparse = _history(m, n, seed=m + n + c, values=[1.0, 2.0, 0.5] if ties else None)
    rng = np.random.default_rng(m * c + 1)
    dense = rng.standard_normal((n, c)).astype(np.float32)
    if ties:  # few distinct values: many equal scores
        dense = np.floor(dense * 2).astype(np.float32)
    exclude = _history(m, c, seed=c + 3, values=[1.0])
    allowed = rng.random(c) < 0.8
    for ex, al in [(None, None), (exclude, None), (exclude, allowed), (None, allowed)]:
        want = _row_reference(sparse, dense, k, ex, al)
        for n_threads in (1, 2, 0):
            got = row_product_topk(sparse, dense, k, exclude=ex, allowed=al, n_threads=n_threads)
            assert got[0].shape == (m, min(k, c)) and got[0].dtype == np.int64
            assert got[1].dtype == np.float32
            # The same sums as SciPy's product, in the same order: equal bits.
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])


def test_row_product_topk_never_returns_excluded_or_disallowed_columns() -> None:
    sparse = _history(40, 30, seed=5)
    dense = np.random.default_rng(5).standard_normal((30, 20)).astype(np.float32)
    exclude = _history(40, 20, seed=6, values=[1.0])
    allowed = np.arange(20) % 3 != 0
    idx, _ = row_product_topk(sparse, dense, 20, exclude=exclude, allowed=allowed)
    for row in range(40):
        chosen = idx[row][idx[row] >= 0]
        assert not set(chosen) & set(exclude[row].indices)
        assert allowed[chosen].all()


@needs_ext
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dense": np.ones((3, 2), np.float32)}, "dense: expected 4 rows"),
        ({"dense": np.ones((4, 2), np.float64)}, "dense: expected a C-contiguous 2-D float32"),
        (
            {"exclude": sp.csr_matrix(np.zeros((5, 3), np.float32))},
            r"exclude: expected shape \(5, 2\)",
        ),
        ({"allowed": np.ones(3, bool)}, "allowed: expected length 2"),
        ({"k": -1}, "k: expected an integer >= 0"),
        ({"n_threads": 5000}, r"n_threads: expected an integer in \[0, 1024\]"),
    ],
)
def test_row_product_topk_refuses_mismatched_operands(
    change: dict[str, object], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    args: dict[str, object] = {
        "sparse": sp.csr_matrix(np.ones((5, 4), np.float32)),
        "dense": np.ones((4, 2), np.float32),
        "k": 2,
    }
    args.update(change)
    with pytest.raises(ParameterError, match=message):
        row_product_topk(**args)  # type: ignore[arg-type]
    monkeypatch.setattr(product, "RUST", False)
    with pytest.raises(ParameterError, match=message):
        row_product_topk(**args)  # type: ignore[arg-type]
