"""The Rust sparse top-k product against its SciPy reference, and its argument checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender_systems.errors import ParameterError
from recommender_systems.kernels import (
    _loader,
    sparse_topk_product,
    sparse_topk_product_reference,
)

ext = _loader.extension
needs_ext = pytest.mark.skipif(ext is None, reason="Rust extension not built")


@st.composite
def problems(draw: st.DrawFn) -> tuple[sp.csr_matrix, dict[str, Any], int, bool]:
    n_rows = draw(st.integers(0, 14))
    n_mid = draw(st.integers(0, 10))
    # Small integers (and halves) keep every sum exact in any order, and make ties common.
    values = st.sampled_from([0.0, 0.0, 0.0, 1.0, 2.0, -1.0, 0.5])
    dense = np.array(
        draw(st.lists(values, min_size=n_rows * n_mid, max_size=n_rows * n_mid)),
        dtype=np.float32,
    ).reshape(n_rows, n_mid)
    measure = draw(st.sampled_from(["dot", "cosine", "jaccard"]))
    options: dict[str, Any] = {"measure": measure}
    if measure != "dot":
        norms = st.lists(st.sampled_from([0.0, 1.0, 2.0, 4.0]), min_size=n_rows, max_size=n_rows)
        options["row_norms"] = np.array(draw(norms), dtype=np.float32)
        options["col_norms"] = np.array(draw(norms), dtype=np.float32)
        options["shrink"] = draw(st.sampled_from([0.0, 1.0, 0.5]))
    k = draw(st.integers(0, n_rows + 3))
    return sp.csr_matrix(dense), options, k, draw(st.booleans())


@needs_ext
@settings(max_examples=300, deadline=None)
@given(problems(), st.sampled_from([0, 1, 2]))
def test_rust_matches_reference(
    problem: tuple[sp.csr_matrix, dict[str, Any], int, bool], threads: int
) -> None:
    x, options, k, diagonal = problem
    a, b = x, x.T.tocsr()
    got = sparse_topk_product(a, b, k, exclude_diagonal=diagonal, n_threads=threads, **options)
    want = sparse_topk_product_reference(a, b, k, exclude_diagonal=diagonal, **options)
    np.testing.assert_array_equal(got.indptr, want.indptr)
    np.testing.assert_array_equal(got.indices, want.indices)
    np.testing.assert_array_equal(got.data, want.data)


@needs_ext
def test_rust_matches_reference_on_a_large_parallel_problem() -> None:
    rng = np.random.default_rng(0)
    x = sp.csr_matrix(sp.random(3000, 400, density=0.03, random_state=1, dtype=np.float32))
    x.data = rng.integers(1, 6, size=x.nnz).astype(np.float32)
    items = x.T.tocsr()
    norms = np.sqrt(np.asarray(items.multiply(items).sum(axis=1)).ravel()).astype(np.float32)
    cases: list[dict[str, Any]] = [
        {},
        {"measure": "cosine", "row_norms": norms, "col_norms": norms},
    ]
    for options in cases:
        got = sparse_topk_product(items, x, 25, exclude_diagonal=True, n_threads=2, **options)
        want = sparse_topk_product_reference(items, x, 25, exclude_diagonal=True, **options)
        assert got.nnz == 400 * 25
        np.testing.assert_array_equal(got.indices, want.indices)
        np.testing.assert_allclose(got.data, want.data, rtol=1e-6)


def test_each_row_keeps_its_k_largest_sorted_by_column() -> None:
    # Row 0 of a @ b is [3, 1, 3, 2]: the two best are columns 0 and 2 (a tie).
    a = sp.csr_matrix(np.array([[1.0]], dtype=np.float32))
    b = sp.csr_matrix(np.array([[3.0, 1.0, 3.0, 2.0]], dtype=np.float32))
    for product in (sparse_topk_product, sparse_topk_product_reference):
        out = product(a, b, 2)
        assert out.indices.tolist() == [0, 2] and out.data.tolist() == [3.0, 3.0]
        assert out.dtype == np.float32 and out.has_sorted_indices


def test_exact_zeros_and_the_diagonal_are_never_kept() -> None:
    x = sp.csr_matrix(np.array([[1.0, 1.0], [1.0, -1.0]], dtype=np.float32))
    out = sparse_topk_product(x, x.T.tocsr(), 5, exclude_diagonal=True)
    assert out.nnz == 0  # the off-diagonal dot products are 1 - 1 = 0
    assert sparse_topk_product(x, x.T.tocsr(), 5).nnz == 2


def test_dispatch_rejects_mismatched_shapes_and_bad_arguments() -> None:
    a = sp.csr_matrix(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="b: expected 3 rows"):
        sparse_topk_product(a, sp.csr_matrix(np.zeros((2, 2), dtype=np.float32)), 1)
    with pytest.raises(ParameterError, match="measure: expected one of"):
        sparse_topk_product(a, a.T.tocsr(), 1, measure="euclid")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="k: expected an integer >= 0"):
        sparse_topk_product(a, a.T.tocsr(), -1)


@needs_ext
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"a_data": np.ones(2, dtype=np.float64)}, "a_data: expected a C-contiguous 1-D float32"),
        ({"a_indices": np.array([0, 9], dtype=np.int32)}, r"a_indices: expected column indices"),
        ({"b_indptr": np.array([0, 1, 3], dtype=np.int64)}, "b_indptr: expected indptr"),
        ({"measure": "cosine"}, "row_norms, col_norms: expected arrays"),
        ({"measure": "manhattan", "row_norms": np.ones(2, np.float32),
          "col_norms": np.ones(2, np.float32)}, "measure: expected one of 'dot'"),
        ({"measure": "cosine", "row_norms": np.ones(3, np.float32),
          "col_norms": np.ones(2, np.float32)}, "row_norms: expected length 2"),
        ({"measure": "cosine", "row_norms": np.ones(2, np.float32),
          "col_norms": np.ones(2, np.float32), "shrink": -1.0}, "shrink: expected a finite"),
        ({"row_norms": np.ones(2, np.float32)}, "both or neither"),
        ({"k": -1}, "k: expected an integer >= 0"),
        ({"a_data": np.array([1.0, np.nan], dtype=np.float32)}, "a_data: expected finite"),
    ],
)  # fmt: skip
def test_rust_rejects_bad_arguments_with_named_value_errors(
    change: dict[str, Any], message: str
) -> None:
    # a = [[1, 1]] as 2 x 2 with one row empty; b = identity.
    args: dict[str, Any] = {
        "a_indptr": np.array([0, 2, 2], dtype=np.int64),
        "a_indices": np.array([0, 1], dtype=np.int32),
        "a_data": np.ones(2, dtype=np.float32),
        "b_indptr": np.array([0, 1, 2], dtype=np.int64),
        "b_indices": np.array([0, 1], dtype=np.int32),
        "b_data": np.ones(2, dtype=np.float32),
        "n_cols": 2,
        "k": 1,
    }
    args.update(change)
    with pytest.raises(ValueError, match=message):
        ext.sparse_topk_product(**args)
