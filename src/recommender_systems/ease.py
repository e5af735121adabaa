"""EASE: the closed-form linear item-item model of Steck (2019).

``B = argmin ||X - X B||^2 + λ ||B||^2`` subject to ``diag(B) = 0`` has the
closed form ``P = (X^T X + λ I)^-1``, ``B_ij = -P_ij / P_jj``. The Gram matrix
is dense (items x items), so memory grows with the square of the catalogue: the
model checks up front that it fits, and says how much it needs when it does not.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [7, 8, 7, 8, 7]})
    >>> EASE(regularization=1.0).fit(df).recommend(3)
    [8]
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from recommender_systems import _memory
from recommender_systems.base import Recommender
from recommender_systems.errors import ParameterError
from recommender_systems.hyperparameters import Choice, Float, Range, declare
from recommender_systems.interactions import Interactions
from recommender_systems.neighborhood import ItemItemModel
from recommender_systems.registry import register
from recommender_systems.state import Array, declare_state

Dtype = Literal["float32", "float64"]

#: Cells of the Gram matrix computed per sparse product (bounds the temporaries).
_GRAM_BLOCK_ELEMENTS = 1 << 22
#: Memory for temporaries beyond the items x items matrix itself.
_OVERHEAD_BYTES = 128 << 20


@register("ease", family="linear", summary="Closed-form linear item-item model (Steck 2019)")
class EASE(ItemItemModel):
    """Embarrassingly Shallow Autoencoder: a dense item-item weight matrix in closed
    form. Interactions count as 1 (implicit feedback).

    The default ``regularization`` (λ = 500) is Steck's value for MovieLens 20M and
    also the best on validation splits of MovieLens 100k. ``dtype="float32"``
    halves the memory (``n_items**2 * 4`` bytes) and the time at a small cost in
    precision.

    Fitting needs about ``n_items**2 * itemsize`` bytes (3.2 GB in float64 for
    20,000 items); when that exceeds the memory available it raises
    :class:`~recommender_systems.errors.InsufficientMemoryError` before allocating.
    Linear algebra runs on NumPy's BLAS/LAPACK threads.
    """

    binary = True
    state = declare_state(
        Recommender.state, similarity_=Array(("float64", "float32"), ("n_items", "n_items"))
    )
    hyperparameters = declare(
        regularization=Float(
            default=500.0,
            low=0.0,
            low_open=True,
            doc="L2 regularisation λ of the item-item weights",
            tune=Range(1.0, 1e5, log=True),
            formerly=("l2",),
        ),
        dtype=Choice(
            default="float64",
            options=("float32", "float64"),
            doc="precision of the items x items matrix (float32 halves memory and time)",
        ),
    )

    def __init__(self, regularization: float = 500.0, dtype: Dtype = "float64") -> None:
        self.regularization = regularization
        self.dtype = dtype

    def _fit(self, data: Interactions) -> None:
        l2 = float(self.regularization)
        dtype = np.dtype(self.dtype)
        n = data.n_items
        _memory.require_memory(
            n * n * dtype.itemsize + _OVERHEAD_BYTES,
            f"EASE on {n:,} items (a {n:,} x {n:,} {dtype.name} matrix)",
            "Use dtype='float32' to halve it, keep fewer items (drop the rarest), or "
            "use a sparse model such as ItemKNN or RP3beta.",
        )
        weights = _gram(self._history(data.matrix), dtype)
        weights[np.diag_indices_from(weights)] += l2
        _invert_spd(weights, l2)
        diagonal = np.diag(weights).copy()
        weights /= -diagonal  # B[:, j] = -P[:, j] / P[j, j]
        np.fill_diagonal(weights, 0.0)
        self.similarity_ = weights


def _gram(matrix: sp.csr_matrix, dtype: np.dtype[np.floating]) -> np.ndarray:
    """``X^T X`` as a dense array, computed a block of rows at a time."""
    n = matrix.shape[1]
    gram = np.empty((n, n), dtype=dtype)
    columns = matrix.T.tocsr()
    block = max(1, _GRAM_BLOCK_ELEMENTS // max(n, 1))
    for start in range(0, n, block):
        stop = min(n, start + block)
        gram[start:stop] = (columns[start:stop] @ matrix).toarray()
    return gram


def _invert_spd(matrix: np.ndarray, l2: float) -> None:
    """Replaces a symmetric positive definite C-ordered ``matrix`` by its inverse, in
    place (Cholesky, LAPACK ``potrf`` then ``potri``)."""
    single = matrix.dtype == np.float32
    potrf = lapack.spotrf if single else lapack.dpotrf
    potri = lapack.spotri if single else lapack.dpotri
    # The transpose is the same symmetric matrix in Fortran order, which LAPACK can
    # overwrite without a copy.
    factor, info = potrf(matrix.T, lower=False, overwrite_a=True, clean=False)
    if info > 0:
        raise ParameterError(
            f"regularization: X^T X + {l2:g} I is not positive definite in {matrix.dtype} "
            f"(LAPACK potrf failed at column {info}); expected a larger regularization or "
            "dtype='float64'"
        )
    inverse, info = potri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise ParameterError(f"regularization: the inversion failed (LAPACK potri info={info})")
    _symmetrize_from_upper(inverse)
    if not np.shares_memory(inverse, matrix):
        matrix[...] = inverse  # only when LAPACK had to copy
    # Otherwise `matrix` already holds the symmetric inverse (the same buffer).


def _symmetrize_from_upper(a: np.ndarray, block: int = 512) -> None:
    """Copies the upper triangle of square ``a`` onto its lower one, in blocks."""
    n = a.shape[0]
    for start in range(0, n, block):
        stop = min(n, start + block)
        a[stop:, start:stop] = a[start:stop, stop:].T
        diagonal = a[start:stop, start:stop]
        upper = np.triu_indices(stop - start, 1)
        diagonal.T[upper] = diagonal[upper]
