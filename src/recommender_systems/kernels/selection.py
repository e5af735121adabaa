"""Batched top-k selection with per-row exclusions.

:func:`topk` runs the Rust kernel when the extension is available and
:func:`topk_reference` (NumPy) otherwise. Both follow the same contract:

- rows of a float32 ``(m, n)`` score matrix are ranked independently, best first;
- ties go to the lower column index;
- columns listed in the row's exclusion CSR, NaN and -inf are never returned
  (callers mark "not a candidate" with -inf);
- the output has ``min(k, n)`` columns, padded with index -1 and score NaN.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from recommender_systems.errors import ParameterError
from recommender_systems.kernels import _checks
from recommender_systems.kernels._loader import RUST, extension

TopK = tuple[np.ndarray, np.ndarray]


def csr_arrays(matrix: sp.csr_matrix | sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """``indptr`` (int64) and ``indices`` (int32) of a CSR matrix, as the kernels take them."""
    return (
        np.ascontiguousarray(matrix.indptr, dtype=np.int64),
        np.ascontiguousarray(matrix.indices, dtype=np.int32),
    )


def topk(
    scores: npt.ArrayLike,
    k: int,
    exclude: sp.csr_matrix | sp.csr_array | None = None,
    *,
    n_threads: int = 0,
) -> TopK:
    """Best ``k`` columns of each row of ``scores``: ``(indices int64, scores float32)``.

    Example:
        >>> idx, val = topk(np.array([[0.1, 0.9, 0.5]], dtype=np.float32), 2)
        >>> idx.tolist()
        [[1, 2]]
    """
    matrix = np.ascontiguousarray(scores, dtype=np.float32)
    # The kernel sees only the exclusion's CSR arrays, not its declared shape.
    if exclude is not None and exclude.shape != matrix.shape:
        raise ParameterError(
            f"exclude: expected shape {matrix.shape} like scores, received {exclude.shape}"
        )
    indptr, indices = (None, None) if exclude is None else csr_arrays(exclude)
    if RUST:
        return extension.topk(matrix, k, indptr, indices, n_threads)
    _checks.check_threads(n_threads)
    return topk_reference(matrix, k, indptr, indices)


def topk_reference(
    scores: np.ndarray,
    k: int,
    exclude_indptr: np.ndarray | None = None,
    exclude_indices: np.ndarray | None = None,
) -> TopK:
    """NumPy reference of the Rust ``topk`` kernel (same arguments, same results)."""
    k = _checks.count(k, "k")
    s = np.array(_checks.check_factor_matrix(scores, "scores"), copy=True)
    n_rows, n_cols = s.shape
    width = min(k, n_cols)
    out_idx = np.full((n_rows, width), -1, dtype=np.int64)
    out_val = np.full((n_rows, width), np.nan, dtype=np.float32)
    if width == 0 or n_rows == 0:
        return out_idx, out_val
    if exclude_indptr is not None and exclude_indices is not None:
        rows = np.repeat(np.arange(n_rows), np.diff(exclude_indptr))
        s[rows, exclude_indices] = -np.inf
    s[np.isnan(s)] = -np.inf
    for r in range(n_rows):
        row = s[r]
        cand = np.flatnonzero(row > -np.inf)
        if cand.size > width:
            # Keep everything tied with the width-th best, then order exactly.
            kth = np.partition(row[cand], cand.size - width)[cand.size - width]
            cand = cand[row[cand] >= kth]
        order = np.lexsort((cand, -row[cand]))[:width]
        chosen = cand[order]
        out_idx[r, : chosen.size] = chosen
        out_val[r, : chosen.size] = row[chosen]
    return out_idx, out_val
