"""Implicit-ALS half-steps: the Rust kernel, or its NumPy reference.

:func:`als_solve` solves, for every row ``u`` of a sparse matrix (rows to solve x
fixed rows), ``(YᵀY + reg_u I + Σ_i (c_ui - 1) y_i y_iᵀ) x_u = Σ_i c_ui y_i`` over
the row's observed entries ``i``, with confidence ``c_ui = 1 + alpha * r_ui``
(Hu, Koren and Volinsky 2008). ``cg_steps`` conjugate-gradient steps start from
the current factors; ``exact=True`` solves by Cholesky instead. Empty rows get
zero factors. See ``crates/recsys-kernels/src/als.rs``.

Example:
    >>> import numpy as np, scipy.sparse as sp
    >>> ratings = sp.csr_matrix(np.array([[1, 0, 2]], dtype=np.float32))
    >>> items = np.eye(3, 2, dtype=np.float32)
    >>> users = np.zeros((1, 2), dtype=np.float32)
    >>> als_solve(ratings, items, users, np.array([1.0], np.float32), alpha=1.0, exact=True)
    >>> [round(v, 3) for v in users[0].tolist()]
    [0.667, 0.0]
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender_systems.errors import ParameterError
from recommender_systems.kernels import _checks
from recommender_systems.kernels._loader import RUST, extension
from recommender_systems.kernels.selection import csr_arrays

__all__ = ["als_solve", "als_solve_reference", "gram", "gram_reference"]

#: Conjugate gradient stops once the residual norm falls below this fraction of its
#: starting value (further float32 steps would follow rounding noise).
CG_TOLERANCE = 1e-4


def als_solve(
    ratings: sp.csr_matrix,
    fixed_factors: np.ndarray,
    factors: np.ndarray,
    regularization: np.ndarray,
    *,
    alpha: float,
    cg_steps: int = 3,
    exact: bool = False,
    gram: np.ndarray | None = None,
    n_threads: int = 0,
) -> None:
    """Solves every row of ``factors`` in place (float32, C-contiguous, writable).

    ``regularization`` holds one float32 value per row; ``gram`` is ``YᵀY`` of
    ``fixed_factors`` when the caller already has it.
    """
    indptr, indices = csr_arrays(ratings)
    data = np.ascontiguousarray(ratings.data, dtype=np.float32)
    if not RUST:
        _checks.check_threads(n_threads)
        als_solve_reference(
            indptr,
            indices,
            data,
            fixed_factors,
            factors,
            regularization,
            alpha,
            cg_steps=cg_steps,
            exact=exact,
            gram=gram,
        )
        return
    extension.als_solve(
        indptr,
        indices,
        data,
        fixed_factors,
        factors,
        regularization,
        alpha,
        cg_steps,
        exact,
        gram,
        n_threads,
    )


def gram(factors: np.ndarray, *, n_threads: int = 0) -> np.ndarray:
    """``YᵀY`` of a float32 ``(n, k)`` matrix, as float32 ``(k, k)``."""
    if not RUST:
        _checks.check_threads(n_threads)
        return gram_reference(factors)
    return extension.gram(factors, n_threads)


def gram_reference(factors: np.ndarray) -> np.ndarray:
    """NumPy reference of :func:`gram` (summed in float64)."""
    _checks.check_finite(_checks.check_factor_matrix(factors, "factors"), "factors")
    f = np.asarray(factors, dtype=np.float64)
    return (f.T @ f).astype(np.float32)


def als_solve_reference(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    fixed_factors: np.ndarray,
    factors: np.ndarray,
    regularization: np.ndarray,
    alpha: float,
    *,
    cg_steps: int = 3,
    exact: bool = False,
    gram: np.ndarray | None = None,
) -> None:
    """NumPy reference of the Rust ``als_solve`` kernel (same arguments, same results
    up to float32 rounding)."""
    _check_reference_args(
        indptr, indices, data, fixed_factors, factors, regularization, alpha, cg_steps, gram
    )
    g = gram_reference(fixed_factors) if gram is None else gram
    k = fixed_factors.shape[1]
    eye = np.eye(k, dtype=np.float32)
    for u in range(factors.shape[0]):
        start, end = int(indptr[u]), int(indptr[u + 1])
        if start == end:
            factors[u] = 0.0
            continue
        y = fixed_factors[indices[start:end]]
        extra = np.float32(alpha) * data[start:end]
        a_reg = g + np.float32(regularization[u]) * eye
        if exact:
            factors[u] = _exact(a_reg, y, extra)
        else:
            factors[u] = _conjugate_gradient(a_reg, y, extra, factors[u].copy(), cg_steps)


def _exact(a_reg: np.ndarray, y: np.ndarray, extra: np.ndarray) -> np.ndarray:
    y64 = y.astype(np.float64)
    a = a_reg.astype(np.float64) + (y64.T * extra) @ y64
    b = y64.T @ (1.0 + extra.astype(np.float64))
    try:
        return np.linalg.solve(a, b).astype(np.float32)
    except np.linalg.LinAlgError:  # singular only when reg is 0
        return np.linalg.lstsq(a, b, rcond=None)[0].astype(np.float32)


def _conjugate_gradient(
    a_reg: np.ndarray, y: np.ndarray, extra: np.ndarray, x: np.ndarray, steps: int
) -> np.ndarray:
    one = np.float32(1.0)
    r = -(a_reg @ x) + y.T @ ((one + extra) - extra * (y @ x))
    p = r.copy()
    r_norm = float(r @ r)
    converged = CG_TOLERANCE**2 * r_norm
    for _ in range(steps):
        if r_norm <= converged or r_norm < 1e-20:
            break
        ap = a_reg @ p + y.T @ (extra * (y @ p))
        curvature = float(p @ ap)
        if not curvature > 0:
            break
        step = np.float32(r_norm / curvature)
        x += step * p
        r -= step * ap
        next_norm = float(r @ r)
        p = r + np.float32(next_norm / r_norm) * p
        r_norm = next_norm
    return x


def _check_reference_args(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    fixed: np.ndarray,
    factors: np.ndarray,
    regularization: np.ndarray,
    alpha: float,
    cg_steps: int,
    gram: np.ndarray | None,
) -> None:
    # The rules of the kernel's `validate` (crates/recsys-kernels/src/als.rs), for
    # the arguments the reference relies on; the CSR arrays come from SciPy.
    _checks.check_factor_matrix(fixed, "fixed_factors")
    _checks.check_factor_matrix(factors, "factors")
    _checks.check_same_columns(fixed, "fixed_factors", factors, "factors")
    _checks.check_rows(factors, "factors", indptr.size - 1, "one per row of indptr")
    if indices.size and int(indices.max()) >= fixed.shape[0]:
        raise ParameterError(
            f"indices: expected column indices in [0, {fixed.shape[0]}), "
            f"received {int(indices.max())}"
        )
    if gram is not None:
        _checks.check_factor_matrix(gram, "gram")
        _checks.check_rows(gram, "gram", factors.shape[1], "one per factor")
        _checks.check_same_columns(gram, "gram", factors, "factors")
        _checks.check_finite(gram, "gram")
    _checks.check_finite(fixed, "fixed_factors")
    _checks.check_finite(factors, "factors")
    regularization = _checks.check_factor_matrix(regularization, "regularization", ndim=1)
    _checks.check_length(regularization, "regularization", factors.shape[0])
    if not (np.isfinite(regularization).all() and (regularization >= 0).all()):
        raise ParameterError("regularization: expected finite values >= 0")
    _checks.check_finite(data, "data")
    if (data < 0).any():
        raise ParameterError(f"data: expected values >= 0, received {data.min()}")
    _checks.check_non_negative_number(float(alpha), "alpha")
    _checks.count(cg_steps, "cg_steps")
