"""A sparse times dense product written transposed: ``(S D)ᵀ``, C order, or only
the top-k of each of its rows.

:func:`transposed_product` and :func:`product_topk` run the Rust kernels when
the extension is available, and :func:`transposed_product_reference` (SciPy) and
:func:`product_topk_reference` otherwise. EASE's
regularization path scores users with it (``S``: items x users, ``D``: users x
scored users, so the result has one row per scored user, as the top-k kernel
reads it); the kernel uses every core and wide vectors, where SciPy's product
uses one core and then needs a transposing copy. :func:`product_topk` selects
each block of rows as :func:`~recommender_systems.kernels.topk` would, while it
is in cache, without writing the product.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender_systems.errors import ParameterError
from recommender_systems.kernels import _checks
from recommender_systems.kernels._loader import RUST, extension
from recommender_systems.kernels.selection import TopK, csr_arrays, topk_reference

__all__ = [
    "product_topk",
    "product_topk_reference",
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
