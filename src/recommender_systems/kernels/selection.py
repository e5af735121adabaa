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


def factor_topk(
    user_factors: np.ndarray,
    users: np.ndarray,
    item_factors: np.ndarray,
    k: int,
    *,
    bias: np.ndarray | None = None,
    exclude: sp.csr_matrix | sp.csr_array | None = None,
    allowed: np.ndarray | None = None,
    n_threads: int = 0,
) -> TopK:
    """Best ``k`` items for the users at rows ``users`` of ``user_factors``, scored
    ``user_factors[u] @ item_factors[j] (+ bias[j])``, without a score matrix.

    ``exclude`` (one row per user) and ``allowed`` (a boolean mask over items) keep
    items out, as in :func:`topk`; so do NaN and -inf scores. The Rust kernel scores
    in register tiles, selects while they are hot, and skips items whose
    Cauchy-Schwarz bound cannot reach a user's k-th best score (exact: the lists are
    those of :func:`factor_topk_reference`, up to the rounding of the dot products).

    Example:
        >>> users = np.array([[1.0, 0.0]], dtype=np.float32)
        >>> items = np.array([[0.2, 1.0], [0.9, 0.0], [0.5, 0.5]], dtype=np.float32)
        >>> factor_topk(users, np.array([0]), items, 2)[0].tolist()
        [[1, 2]]
    """
    rows = np.ascontiguousarray(users, dtype=np.int64)
    if exclude is not None and exclude.shape != (rows.size, item_factors.shape[0]):
        raise ParameterError(
            f"exclude: expected shape {(rows.size, item_factors.shape[0])} (users x items), "
            f"received {exclude.shape}"
        )
    indptr, indices = (None, None) if exclude is None else csr_arrays(exclude)
    if RUST:
        return extension.factor_topk(
            user_factors, rows, item_factors, k, bias, indptr, indices, allowed, n_threads
        )
    _checks.check_threads(n_threads)
    return factor_topk_reference(
        user_factors, rows, item_factors, k, bias, indptr, indices, allowed
    )


def factor_topk_reference(
    user_factors: np.ndarray,
    users: np.ndarray,
    item_factors: np.ndarray,
    k: int,
    bias: np.ndarray | None = None,
    exclude_indptr: np.ndarray | None = None,
    exclude_indices: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> TopK:
    """NumPy reference of the Rust ``factor_topk`` kernel: the dense scores, ranked
    by :func:`topk_reference`."""
    k = _checks.count(k, "k")
    u = _checks.check_factor_matrix(user_factors, "user_factors")
    v = _checks.check_factor_matrix(item_factors, "item_factors")
    _checks.check_same_columns(v, "item_factors", u, "user_factors")
    if users.size and (users.min() < 0 or users.max() >= u.shape[0]):
        bad = users[(users < 0) | (users >= u.shape[0])][0]
        raise ParameterError(f"users: expected row indices in [0, {u.shape[0]}), received {bad}")
    # Huge finite factors overflow to inf and then NaN, as in the kernel: such
    # scores are never returned, so NumPy's warning about them says nothing.
    with np.errstate(over="ignore", invalid="ignore"):
        scores = u[users] @ v.T
    if bias is not None:
        b = _checks.check_factor_matrix(bias, "bias", ndim=1)
        _checks.check_length(b, "bias", v.shape[0])
        scores += b
    if allowed is not None:
        _checks.check_length(allowed, "allowed", v.shape[0])
        scores[:, ~allowed] = -np.inf
    return topk_reference(
        np.ascontiguousarray(scores, dtype=np.float32), k, exclude_indptr, exclude_indices
    )
