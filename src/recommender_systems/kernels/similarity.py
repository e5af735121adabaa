"""Sparse x sparse products cut to the ``k`` best entries per row: neighbour search.

:func:`sparse_topk_product` runs the Rust kernel when the extension is available
and :func:`sparse_topk_product_reference` (SciPy, in blocks of rows) otherwise.
Both follow the same contract:

- row ``i`` of ``a @ b`` becomes similarities through ``measure``:
  ``"dot"`` (the product itself), ``"cosine"``
  (``dot / (row_norms[i] * col_norms[j] + shrink)``) or ``"jaccard"``
  (``dot / (row_norms[i] + col_norms[j] - dot + shrink)``, with counts as norms);
- entries that are exactly 0 or not finite are never kept, nor the diagonal with
  ``exclude_diagonal``;
- each row keeps its ``k`` largest values, ties to the lower column index;
- the result is a float32 CSR matrix with rows sorted by column.

The full product is never materialised, so memory is ``O(rows x k)``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp

from recommender_systems._validation import check_choice
from recommender_systems.errors import ParameterError
from recommender_systems.kernels import _checks
from recommender_systems.kernels._loader import RUST, extension
from recommender_systems.kernels.selection import csr_arrays, topk_reference

Measure = Literal["dot", "cosine", "jaccard"]
MEASURES: tuple[Measure, ...] = ("dot", "cosine", "jaccard")

#: Dense cells the reference works on at once (rows per block = this / columns).
_REFERENCE_BLOCK_ELEMENTS = 1 << 22


def sparse_topk_product(
    a: sp.csr_matrix | sp.csr_array,
    b: sp.csr_matrix | sp.csr_array,
    k: int,
    *,
    measure: Measure = "dot",
    row_norms: np.ndarray | None = None,
    col_norms: np.ndarray | None = None,
    shrink: float = 0.0,
    exclude_diagonal: bool = False,
    n_threads: int = 0,
) -> sp.csr_matrix:
    """The ``k`` best entries of each row of ``a @ b`` (see the module docs).

    Example:
        >>> x = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 1]], dtype=np.float32))
        >>> sims = sparse_topk_product(x.T.tocsr(), x, 1, exclude_diagonal=True)
        >>> sims.toarray().tolist()
        [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    """
    # The kernel sees only CSR arrays: a's declared width is checked here.
    if a.shape[1] != b.shape[0]:
        raise ParameterError(
            f"b: expected {a.shape[1]} rows to match the columns of a, received {b.shape[0]}"
        )
    rn = None if row_norms is None else np.ascontiguousarray(row_norms, dtype=np.float32)
    cn = None if col_norms is None else np.ascontiguousarray(col_norms, dtype=np.float32)
    if not RUST:
        _checks.check_threads(n_threads)
        return sparse_topk_product_reference(
            a,
            b,
            k,
            measure=measure,
            row_norms=rn,
            col_norms=cn,
            shrink=shrink,
            exclude_diagonal=exclude_diagonal,
        )
    a_indptr, a_indices = csr_arrays(a)
    b_indptr, b_indices = csr_arrays(b)
    indptr, indices, data = extension.sparse_topk_product(
        a_indptr,
        a_indices,
        np.ascontiguousarray(a.data, dtype=np.float32),
        b_indptr,
        b_indices,
        np.ascontiguousarray(b.data, dtype=np.float32),
        b.shape[1],
        k,
        measure,
        rn,
        cn,
        shrink,
        exclude_diagonal,
        n_threads,
    )
    return _csr(indptr, indices, data, (a.shape[0], b.shape[1]))


def sparse_topk_product_reference(
    a: sp.csr_matrix | sp.csr_array,
    b: sp.csr_matrix | sp.csr_array,
    k: int,
    *,
    measure: Measure = "dot",
    row_norms: np.ndarray | None = None,
    col_norms: np.ndarray | None = None,
    shrink: float = 0.0,
    exclude_diagonal: bool = False,
) -> sp.csr_matrix:
    """SciPy reference of the Rust ``sparse_topk_product`` kernel (same results).

    Rows are multiplied a block at a time, so memory stays bounded.
    """
    k = _checks.count(k, "k")
    check_choice(measure, "measure", MEASURES)
    if (row_norms is None) != (measure == "dot") or (col_norms is None) != (measure == "dot"):
        raise ParameterError(
            "row_norms, col_norms: expected arrays exactly when measure is not 'dot'"
        )
    n_rows, n_cols = a.shape[0], b.shape[1]
    _check_norms(row_norms, "row_norms", n_rows)
    _check_norms(col_norms, "col_norms", n_cols)
    _checks.check_non_negative_number(float(shrink), "shrink")
    _checks.check_finite(np.asarray(a.data), "a_data")
    _checks.check_finite(np.asarray(b.data), "b_data")
    a32 = sp.csr_matrix(a, dtype=np.float32)
    b32 = sp.csr_matrix(b, dtype=np.float32)
    rn = None if row_norms is None else np.asarray(row_norms, dtype=np.float32)
    cn = None if col_norms is None else np.asarray(col_norms, dtype=np.float32)
    block = max(1, _REFERENCE_BLOCK_ELEMENTS // max(1, n_cols))
    width = min(k, n_cols)
    out_indices = np.full((n_rows, width), -1, dtype=np.int64)
    out_values = np.zeros((n_rows, width), dtype=np.float32)
    for start in range(0, n_rows, block):
        stop = min(n_rows, start + block)
        product = (a32[start:stop] @ b32).tocoo()
        rows, cols, dots = product.row, product.col, product.data.astype(np.float32)
        values = _apply(measure, dots, rows + start, cols, rn, cn, np.float32(shrink))
        keep = (dots != 0) & (values != 0) & np.isfinite(values)
        if exclude_diagonal:
            keep &= rows + start != cols
        # NaN marks "not a candidate" for the top-k selection.
        dense = np.full((stop - start, n_cols), np.nan, dtype=np.float32)
        dense[rows[keep], cols[keep]] = values[keep]
        out_indices[start:stop], out_values[start:stop] = topk_reference(dense, width)
    rows = np.repeat(np.arange(n_rows), width).reshape(n_rows, width)
    kept = out_indices >= 0
    result = sp.csr_matrix(
        (out_values[kept], (rows[kept], out_indices[kept])), shape=(n_rows, n_cols)
    )
    result.sort_indices()
    return _csr(result.indptr, result.indices, result.data, (n_rows, n_cols))


def _check_norms(norms: np.ndarray | None, name: str, length: int) -> None:
    if norms is None:
        return
    if np.shape(norms) != (length,):
        raise ParameterError(f"{name}: expected length {length}, received shape {np.shape(norms)}")
    _checks.check_finite(np.asarray(norms), name)


def _apply(
    measure: Measure,
    dots: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    row_norms: np.ndarray | None,
    col_norms: np.ndarray | None,
    shrink: np.float32,
) -> np.ndarray:
    # The same float32 operations, in the same order, as the Rust kernel.
    if measure == "dot" or row_norms is None or col_norms is None:
        return dots
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if measure == "cosine":
            return dots / (row_norms[rows] * col_norms[cols] + shrink)
        return dots / (row_norms[rows] + col_norms[cols] - dots + shrink)


def _csr(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    matrix = sp.csr_matrix(
        (
            np.asarray(data, dtype=np.float32),
            np.asarray(indices, dtype=np.int32),
            np.asarray(indptr, dtype=np.int64),
        ),
        shape=shape,
    )
    matrix.has_sorted_indices = True
    return matrix
