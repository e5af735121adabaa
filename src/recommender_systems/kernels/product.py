"""A sparse times dense product written transposed: ``(S D)ᵀ``, C order, or only
the top-k of each of its rows; and the dense Gram matrix ``XᵀX`` of a sparse ``X``.

:func:`transposed_product` and :func:`product_topk` run the Rust kernels when
the extension is available, and :func:`transposed_product_reference` (SciPy) and
:func:`product_topk_reference` otherwise. EASE's
regularization path scores users with it (``S``: items x users, ``D``: users x
scored users, so the result has one row per scored user, as the top-k kernel
reads it); the kernel uses every core and wide vectors, where SciPy's product
uses one core and then needs a transposing copy. :func:`product_topk` selects
each block of rows as :func:`~recommender_systems.kernels.topk` would, while it
is in cache, without writing the product.

:func:`row_product_topk` (:func:`row_product_topk_reference` without the
extension) selects the best columns of each row of ``S D`` itself: models with a
dense items x items weight matrix (EASE) rank users' weighted histories ``H``
against it, ``H B``, without writing the product, each row summed like SciPy's
product (the same scores, bit for bit) and rows on every core.

:func:`sparse_gram` (:func:`sparse_gram_reference` without the extension) is
EASE's Gram matrix: the kernel's work is the sum of the squared row lengths,
where a product against a dense operand reads every column for each entry.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from recommender_systems.errors import ParameterError
from recommender_systems.kernels import _checks
from recommender_systems.kernels._loader import RUST, extension
from recommender_systems.kernels.selection import TopK, csr_arrays, topk_reference

__all__ = [
    "product_topk",
    "product_topk_reference",
    "row_product_topk",
    "row_product_topk_reference",
    "sparse_gram",
    "sparse_gram_reference",
    "transposed_product",
    "transposed_product_reference",
]


def transposed_product(
    sparse: sp.csr_matrix | sp.csr_array,
    dense: np.ndarray,
    *,
    scale: np.ndarray | None = None,
    n_threads: int = 0,
) -> np.ndarray:
    """``(sparse @ dense).T`` as a C-contiguous array of ``dense``'s dtype (``dense``:
    C-contiguous float32, or float64 without ``scale``, with one row per column of
    ``sparse``), column ``j`` times ``scale[j]`` when ``scale`` (float32, one value
    per row of ``sparse``) is given.

    Example:
        >>> s = sp.csr_matrix(np.array([[1, 0], [2, 3]], dtype=np.float32))
        >>> transposed_product(s, np.array([[1, 10], [2, 20]], np.float32)).tolist()
        [[1.0, 8.0], [10.0, 80.0]]
    """
    indptr, indices = csr_arrays(sparse)
    double = isinstance(dense, np.ndarray) and dense.dtype == np.float64
    if double and scale is not None:
        raise ParameterError("scale: expected None with a float64 dense matrix")
    if double:
        data64 = np.ascontiguousarray(sparse.data, dtype=np.float64)
        if not RUST:
            _checks.check_threads(n_threads)
            return transposed_product_reference(indptr, indices, data64, dense)
        return extension.transposed_product_f64(indptr, indices, data64, dense, n_threads)
    data = np.ascontiguousarray(sparse.data, dtype=np.float32)
    if not RUST:
        _checks.check_threads(n_threads)
        return transposed_product_reference(indptr, indices, data, dense, scale)
    return extension.transposed_product(indptr, indices, data, dense, scale, n_threads)


def transposed_product_reference(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    dense: np.ndarray,
    scale: np.ndarray | None = None,
) -> np.ndarray:
    """SciPy reference of the Rust ``transposed_product`` and ``transposed_product_f64``
    kernels (same arguments; float64 when ``dense`` is)."""
    double = isinstance(dense, np.ndarray) and dense.dtype == np.float64
    if double:
        if not dense.flags.c_contiguous or dense.ndim != 2:
            raise ParameterError("dense: expected a C-contiguous 2-D float64 array")
        _checks.check_finite(data, "data")
    else:
        dense = _checks.check_factor_matrix(dense, "dense")
    sparse = sp.csr_matrix((data, indices, indptr), shape=(indptr.size - 1, dense.shape[0]))
    out = np.asarray(sparse @ dense).T
    if scale is not None:
        scale = _checks.check_factor_matrix(scale, "scale", ndim=1)
        _checks.check_length(scale, "scale", sparse.shape[0])
        _checks.check_finite(scale, "scale")
        with np.errstate(invalid="ignore", over="ignore"):  # inf * 0 is NaN, as in Rust
            out = out * scale
    return np.ascontiguousarray(out, dtype=np.float64 if double else np.float32)


def product_topk(
    sparse: sp.csr_matrix | sp.csr_array,
    dense: np.ndarray,
    k: int,
    *,
    columns: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    exclude: sp.csr_matrix | sp.csr_array | None = None,
    allowed: np.ndarray | None = None,
    n_threads: int = 0,
) -> TopK:
    """The best ``k`` columns of each row of :func:`transposed_product`, as
    :func:`~recommender_systems.kernels.topk` selects them (``exclude``: one CSR row
    per output row), never a column outside ``allowed`` (a boolean mask): indices
    (int64) and scores (float32), padded with -1 and NaN. With ``columns`` (int64),
    ``dense`` is read as ``dense[:, columns]``, without a copy.

    Example:
        >>> s = sp.csr_matrix(np.array([[1, 0], [2, 3]], dtype=np.float32))
        >>> product_topk(s, np.array([[1, 10], [2, 20]], np.float32), 1)[0].tolist()
        [[1], [1]]
    """
    indptr, indices = csr_arrays(sparse)
    data = np.ascontiguousarray(sparse.data, dtype=np.float32)
    ex_indptr, ex_indices = (None, None) if exclude is None else csr_arrays(exclude)
    if not RUST:
        _checks.check_threads(n_threads)
        return product_topk_reference(
            indptr, indices, data, dense, k, columns, scale, ex_indptr, ex_indices, allowed
        )
    return extension.product_topk(
        indptr, indices, data, dense, k, columns, scale, ex_indptr, ex_indices, allowed, n_threads
    )


def product_topk_reference(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    dense: np.ndarray,
    k: int,
    columns: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    exclude_indptr: np.ndarray | None = None,
    exclude_indices: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> TopK:
    """NumPy reference of the Rust ``product_topk`` kernel (same arguments)."""
    dense = _checks.check_factor_matrix(dense, "dense")
    if columns is not None:
        columns = np.asarray(columns)
        if columns.size and (columns.min() < 0 or columns.max() >= dense.shape[1]):
            raise ParameterError(f"columns: expected column indices in [0, {dense.shape[1]})")
        dense = np.ascontiguousarray(dense[:, columns])
    scores = transposed_product_reference(indptr, indices, data, dense, scale)
    if allowed is not None:
        _checks.check_length(np.asarray(allowed), "allowed", scores.shape[1])
        scores = np.where(allowed, scores, np.float32(-np.inf))
    return topk_reference(scores, k, exclude_indptr, exclude_indices)


def row_product_topk(
    sparse: sp.csr_matrix | sp.csr_array,
    dense: np.ndarray,
    k: int,
    *,
    exclude: sp.csr_matrix | sp.csr_array | None = None,
    allowed: np.ndarray | None = None,
    n_threads: int = 0,
) -> TopK:
    """The best ``k`` columns of each row of ``sparse @ dense`` (``dense``: C-contiguous
    float32, one row per column of ``sparse``), as
    :func:`~recommender_systems.kernels.topk` selects them from the written product
    (``exclude``: one CSR row per row of ``sparse``), never a column outside
    ``allowed`` (a boolean mask over the columns of ``dense``): indices (int64) and
    scores (float32), padded with -1 and NaN. Each score sums its row's stored
    entries in stored order, as SciPy's product does (the same value); the product
    itself is never written.

    Example:
        >>> s = sp.csr_matrix(np.array([[1, 0], [2, 3]], dtype=np.float32))
        >>> d = np.array([[1, 10, 5], [2, 20, 30]], np.float32)
        >>> idx, val = row_product_topk(s, d, 2)
        >>> idx.tolist(), val.tolist()
        ([[1, 2], [2, 1]], [[10.0, 5.0], [100.0, 80.0]])
    """
    n_rows = sparse.shape[0]
    if isinstance(dense, np.ndarray) and dense.ndim == 2:
        if sparse.shape[1] != dense.shape[0]:
            raise ParameterError(
                f"dense: expected {sparse.shape[1]} rows (one per column of the sparse "
                f"matrix), received {dense.shape[0]}"
            )
        if exclude is not None and exclude.shape != (n_rows, dense.shape[1]):
            raise ParameterError(
                f"exclude: expected shape {(n_rows, dense.shape[1])}, received {exclude.shape}"
            )
    indptr, indices = csr_arrays(sparse)
    data = np.ascontiguousarray(sparse.data, dtype=np.float32)
    ex_indptr, ex_indices = (None, None) if exclude is None else csr_arrays(exclude)
    if not RUST:
        _checks.check_threads(n_threads)
        return row_product_topk_reference(
            indptr, indices, data, dense, k, ex_indptr, ex_indices, allowed
        )
    return extension.row_product_topk(
        indptr, indices, data, dense, k, ex_indptr, ex_indices, allowed, n_threads
    )


def row_product_topk_reference(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    dense: np.ndarray,
    k: int,
    exclude_indptr: np.ndarray | None = None,
    exclude_indices: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> TopK:
    """SciPy reference of the Rust ``row_product_topk`` kernel (same arguments): the
    product, columns outside ``allowed`` set to -inf, then :func:`topk_reference`."""
    dense = _checks.check_factor_matrix(dense, "dense")
    _checks.check_finite(data, "data")
    sparse = sp.csr_matrix((data, indices, indptr), shape=(indptr.size - 1, dense.shape[0]))
    scores = np.ascontiguousarray(sparse @ dense, dtype=np.float32)
    if allowed is not None:
        _checks.check_length(np.asarray(allowed), "allowed", scores.shape[1])
        scores = np.where(allowed, scores, np.float32(-np.inf))
    return topk_reference(scores, k, exclude_indptr, exclude_indices)


def sparse_gram(
    matrix: sp.csr_matrix | sp.csr_array,
    dtype: npt.DTypeLike = np.float32,
    *,
    n_threads: int = 0,
) -> np.ndarray:
    """``matrix.T @ matrix`` as a dense C-contiguous ``(n_cols, n_cols)`` array,
    summed in ``dtype`` (float32 or float64; the values are read as float32 either
    way). The same result for any ``n_threads``; exactly symmetric when no row
    stores a column twice (a column stored twice counts as the sum of its values).

    Example:
        >>> x = sp.csr_matrix(np.array([[1, 0], [2, 3]], dtype=np.float32))
        >>> sparse_gram(x).tolist()
        [[5.0, 6.0], [6.0, 9.0]]
    """
    double = _gram_dtype(dtype) == np.float64
    indptr, indices = csr_arrays(matrix)
    data = np.ascontiguousarray(matrix.data, dtype=np.float32)
    n_cols = matrix.shape[1]
    if not RUST:
        _checks.check_threads(n_threads)
        return sparse_gram_reference(indptr, indices, data, n_cols, double)
    if double:
        return extension.sparse_gram_f64(indptr, indices, data, n_cols, n_threads)
    return extension.sparse_gram(indptr, indices, data, n_cols, n_threads)


def sparse_gram_reference(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    n_cols: int,
    double: bool = False,
) -> np.ndarray:
    """SciPy reference of the Rust ``sparse_gram`` kernel (``sparse_gram_f64`` when
    ``double``): ``(X.T @ X).toarray()``, with ``X`` converted to float64 first when
    ``double``."""
    n_cols = _checks.count(n_cols, "n_cols")
    _checks.check_finite(data, "data")
    dtype = np.float64 if double else np.float32
    x = sp.csr_matrix(
        (np.asarray(data, dtype=dtype), indices, indptr), shape=(indptr.size - 1, n_cols)
    )
    return np.ascontiguousarray((x.T @ x).toarray(), dtype=dtype)


def _gram_dtype(dtype: npt.DTypeLike) -> np.dtype:
    """``dtype`` as float32 or float64 (``None``, NumPy's float64, is refused)."""
    try:
        value = None if dtype is None else np.dtype(dtype)
    except TypeError:
        value = None
    if value is None or value not in (np.float32, np.float64):
        raise ParameterError(f"dtype: expected float32 or float64, received {dtype!r}")
    return value
