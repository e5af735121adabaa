"""A sparse times dense product written transposed: ``(S D)ᵀ``, C order.

:func:`transposed_product` runs the Rust kernel when the extension is available
and :func:`transposed_product_reference` (SciPy) otherwise. EASE's
regularization path scores users with it (``S``: items x users, ``D``: users x
scored users, so the result has one row per scored user, as the top-k kernel
reads it); the kernel uses every core and wide vectors, where SciPy's product
uses one core and then needs a transposing copy.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender_systems.kernels import _checks
from recommender_systems.kernels._loader import RUST, extension
from recommender_systems.kernels.selection import csr_arrays

__all__ = ["transposed_product", "transposed_product_reference"]


def transposed_product(
    sparse: sp.csr_matrix | sp.csr_array,
    dense: np.ndarray,
    *,
    scale: np.ndarray | None = None,
    n_threads: int = 0,
) -> np.ndarray:
    """``(sparse @ dense).T`` as a C-contiguous float32 array (``dense``: C-contiguous
    float32 with one row per column of ``sparse``), column ``j`` times ``scale[j]``
    when ``scale`` (float32, one value per row of ``sparse``) is given.

    Example:
        >>> s = sp.csr_matrix(np.array([[1, 0], [2, 3]], dtype=np.float32))
        >>> transposed_product(s, np.array([[1, 10], [2, 20]], np.float32)).tolist()
        [[1.0, 8.0], [10.0, 80.0]]
    """
    indptr, indices = csr_arrays(sparse)
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
    """SciPy reference of the Rust ``transposed_product`` kernel (same arguments)."""
    dense = _checks.check_factor_matrix(dense, "dense")
    sparse = sp.csr_matrix((data, indices, indptr), shape=(indptr.size - 1, dense.shape[0]))
    out = np.asarray(sparse @ dense).T
    if scale is not None:
        scale = _checks.check_factor_matrix(scale, "scale", ndim=1)
        _checks.check_length(scale, "scale", sparse.shape[0])
        _checks.check_finite(scale, "scale")
        with np.errstate(invalid="ignore", over="ignore"):  # inf * 0 is NaN, as in Rust
            out = out * scale
    return np.ascontiguousarray(out, dtype=np.float32)
