"""The Rust top-k kernel against its NumPy reference, and its argument checks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender_systems.kernels import _loader, topk, topk_reference

ext = _loader.extension
needs_ext = pytest.mark.skipif(ext is None, reason="Rust extension not built")


@st.composite
def problems(draw: st.DrawFn) -> tuple[np.ndarray, sp.csr_matrix, int]:
    n_rows = draw(st.integers(0, 12))
    n_cols = draw(st.integers(0, 25))
    # Few distinct values so ties are frequent; sprinkle NaN and -inf.
    values = st.sampled_from([0.0, 1.0, 2.0, -1.5, 3.25, np.nan, -np.inf, np.inf])
    scores = np.array(
        draw(st.lists(values, min_size=n_rows * n_cols, max_size=n_rows * n_cols)),
        dtype=np.float32,
    ).reshape(n_rows, n_cols)
    mask = np.array(
        draw(st.lists(st.booleans(), min_size=n_rows * n_cols, max_size=n_rows * n_cols)),
        dtype=bool,
    ).reshape(n_rows, n_cols)
    if n_rows and draw(st.booleans()):
        mask[draw(st.integers(0, n_rows - 1))] = True  # a row with every column excluded
    exclude = sp.csr_matrix(mask.astype(np.float32))
    k = draw(st.integers(0, n_cols + 5))  # includes k larger than the candidates
    return scores, exclude, k


@needs_ext
@settings(max_examples=300, deadline=None)
@given(problems(), st.sampled_from([0, 1, 2]))
def test_rust_matches_reference(
    problem: tuple[np.ndarray, sp.csr_matrix, int], threads: int
) -> None:
    scores, exclude, k = problem
    indptr = exclude.indptr.astype(np.int64)
    indices = exclude.indices.astype(np.int32)
    assert ext is not None
    got_idx, got_val = ext.topk(scores, k, indptr, indices, threads)
    want_idx, want_val = topk_reference(scores, k, indptr, indices)
    np.testing.assert_array_equal(got_idx, want_idx)
    np.testing.assert_array_equal(got_val, want_val)  # NaN padding compares equal here


@needs_ext
def test_rust_matches_reference_on_a_large_parallel_problem() -> None:
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 50, size=(400, 3000)).astype(np.float32)
    exclude = sp.csr_matrix(sp.random(400, 3000, density=0.05, random_state=1))
    got = topk(scores, 20, exclude, n_threads=2)
    want = topk_reference(scores, 20, exclude.indptr.astype(np.int64), exclude.indices)
    np.testing.assert_array_equal(got[0], want[0])


def test_reference_orders_ties_by_lower_index() -> None:
    idx, val = topk_reference(np.array([[1.0, 3.0, 3.0, 2.0]], dtype=np.float32), 3)
    assert idx.tolist() == [[1, 2, 3]] and val.tolist() == [[3.0, 3.0, 2.0]]


def test_dispatch_pads_short_rows() -> None:
    idx, val = topk(np.array([[np.nan, 1.0]], dtype=np.float32), 5)
    assert idx.tolist() == [[1, -1]] and np.isnan(val[0, 1])


@needs_ext
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda k, s, p, i: k.topk(s.astype(np.float64), 2),
            "scores: expected a C-contiguous 2-D float32",
        ),
        (lambda k, s, p, i: k.topk(s[:, ::2], 2), "not C-contiguous"),
        (lambda k, s, p, i: k.topk(s[0], 2), "received a 1-D"),
        (lambda k, s, p, i: k.topk([[1.0]], 2), "received an object of type list"),
        (lambda k, s, p, i: k.topk(s, -1), "k: expected an integer >= 0"),
        (lambda k, s, p, i: k.topk(s, 2, n_threads=-2), "n_threads: expected an integer >= 0"),
        (lambda k, s, p, i: k.topk(s, 2, p, None), "both or neither"),
        (
            lambda k, s, p, i: k.topk(s, 2, p, i + 100),
            r"exclude_indices: expected column indices in \[0, 4\)",
        ),
        (lambda k, s, p, i: k.topk(s, 2, p, i - 100), "exclude_indices"),
        (lambda k, s, p, i: k.topk(s, 2, p[:-1], i), "exclude_indptr: expected length 4"),
        (lambda k, s, p, i: k.topk(s, 2, p[::-1].copy(), i), "exclude_indptr"),
        (
            lambda k, s, p, i: k.topk(s, 2, p.astype(np.int32), i),
            "exclude_indptr: expected a C-contiguous 1-D int64",
        ),
        (
            lambda k, s, p, i: k.topk(s, 2, p, i.astype(np.int64)),
            "exclude_indices: expected a C-contiguous 1-D int32",
        ),
    ],
)
def test_rust_rejects_bad_arguments_with_named_value_errors(
    call: Callable[..., object], message: str
) -> None:
    scores = np.arange(12, dtype=np.float32).reshape(3, 4)
    indptr = np.array([0, 1, 2, 3], dtype=np.int64)
    indices = np.array([0, 1, 2], dtype=np.int32)
    with pytest.raises(ValueError, match=message):
        call(ext, scores, indptr, indices)


def test_dispatch_rejects_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="exclude: expected shape"):
        topk(np.zeros((2, 3), dtype=np.float32), 1, sp.csr_matrix((3, 3)))
    with pytest.raises(ValueError, match="2-D"):
        topk(np.zeros(3, dtype=np.float32), 1)
