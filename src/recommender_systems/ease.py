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

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
from scipy.linalg import blas, lapack

from recommender_systems import _memory
from recommender_systems.base import Recommender
from recommender_systems.errors import ParameterError
from recommender_systems.hyperparameters import Choice, Float, Range, declare
from recommender_systems.interactions import Interactions
from recommender_systems.neighborhood import ItemItemModel
from recommender_systems.registry import register
from recommender_systems.state import Array, declare_state
from recommender_systems.values import UsesValues, Values, ValueWeights, values_hyperparameter

Dtype = Literal["float32", "float64"]

#: Cells of the Gram matrix computed per sparse product (bounds the temporaries).
_GRAM_BLOCK_ELEMENTS = 1 << 22
#: Memory for temporaries beyond the items x items matrix itself.
_OVERHEAD_BYTES = 128 << 20


@register("ease", family="linear", summary="Closed-form linear item-item model (Steck 2019)")
class EASE(ItemItemModel):
    """Embarrassingly Shallow Autoencoder: a dense item-item weight matrix in closed
    form. Interaction values are weighed by ``values`` (default ``"log"``:
    ``log(1 + value)``; ``"binary"`` counts every interaction as 1).

    The default ``regularization`` (λ = 500) is Steck's value for MovieLens 20M and
    also the best on validation splits of MovieLens 100k; ``recommender_systems.tune``
    searches λ along an exact path (:meth:`_sweep`). The default ``dtype="float32"``
    halves the memory (``n_items**2 * 4`` bytes) and the time of a ``"float64"``
    fit, with the same rankings (``benchmarks/results/tuning.md``).

    With fewer users than items, ``B`` comes from the users x users matrix
    (Woodbury's identity, :func:`_weights_from_users`): one eigendecomposition of
    that small matrix and one product, instead of inverting the items x items
    matrix, several times faster on wide catalogues. Fitting needs about
    ``n_items**2 * itemsize`` bytes (1.6 GB in float32 for 20,000 items); when that
    exceeds the memory available it raises
    :class:`~recommender_systems.errors.InsufficientMemoryError` before allocating.
    Linear algebra runs on NumPy's BLAS/LAPACK threads.
    """

    former_values = "binary"
    state = declare_state(
        Recommender.state,
        UsesValues.state,
        similarity_=Array(("float64", "float32"), ("n_items", "n_items")),
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
            default="float32",
            options=("float32", "float64"),
            doc="precision of the items x items matrix (float32 halves memory and time)",
        ),
        values=values_hyperparameter("log"),
    )

    def __init__(
        self, regularization: float = 500.0, dtype: Dtype = "float32", values: Values = "log"
    ) -> None:
        self.regularization = regularization
        self.dtype = dtype
        self.values = values

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
        x = self._fit_weights(data.matrix)
        if _dual_is_cheaper(*x.shape):
            self.similarity_ = _weights_from_users(x, l2, dtype)
            return
        weights = _gram(x, dtype)
        weights[np.diag_indices_from(weights)] += l2
        _invert_spd(weights, l2)
        diagonal = np.diag(weights).copy()
        weights /= -diagonal  # B[:, j] = -P[:, j] / P[j, j]
        np.fill_diagonal(weights, 0.0)
        self.similarity_ = weights

    #: The hyperparameters :meth:`_sweep` fits along for about the cost of one fit.
    sweeps: ClassVar[tuple[str, ...]] = ("regularization",)

    def _sweep(
        self, data: Interactions, name: str, values: Sequence[Any]
    ) -> Iterator[tuple[Any, Recommender]]:
        """EASE fitted on ``data`` for each λ in ``values`` (used by the tuner).

        With fewer users than items, every λ comes from one decomposition
        (:class:`RegularizationPath`): the models score straight from it, without
        an items x items matrix, exactly as a fit with that λ would (to float
        rounding). Otherwise each λ is a fit in float32 (a Cholesky
        factorisation each), which then costs less than any decomposition."""
        if name not in self.sweeps:
            raise ValueError(f"EASE sweeps {self.sweeps}, not {name!r}")
        template = self.clone()
        weights = template._fit_weights(data.matrix)
        if not weights.shape[0] < weights.shape[1]:
            for l2 in values:
                yield (
                    l2,
                    template.clone()
                    .set_params(regularization=float(l2), dtype="float32")
                    .fit(data),
                )
            return
        path = RegularizationPath(weights)
        for l2 in values:
            view = _EASEOnPath(**{**template.get_params(), "regularization": float(l2)})
            view.path = path
            view.fit(data)
            yield l2, view


class RegularizationPath:
    """EASE for every λ from one eigendecomposition of the users x users matrix.

    With ``K = XXᵀ = U diag(s) Uᵀ`` and ``W = XᵀU``, Woodbury's identity gives
    ``P(λ) = (XᵀX + λI)⁻¹ = (I - W diag(1/(s+λ)) Wᵀ) / λ``. The EASE scores of rows
    ``H`` are ``H - H P / diag(P)``, and ``H W diag(1/(s+λ)) Wᵀ = (C diag(1/(s+λ)) Uᵀ) X``
    with ``C = H W``: per λ, one product with the small ``U`` and one with the
    sparse ``X`` (cheap when there are fewer users than items). ``W`` is kept, so
    ``C`` costs one sparse-times-dense product.
    """

    def __init__(self, x: sp.csr_matrix) -> None:
        x64 = sp.csr_matrix(x, dtype=np.float64)
        spectrum, u = np.linalg.eigh((x64 @ x64.T).toarray())
        self.spectrum = np.clip(spectrum, 0.0, None)
        w = np.asarray(x64.T @ u)
        self.squares = w**2  # for diag(P), in float64
        self.w = np.ascontiguousarray(w, dtype=np.float32)
        self.x = sp.csr_matrix(x, dtype=np.float32)
        self.u = np.ascontiguousarray(u, dtype=np.float32)
        self._last: tuple[sp.csr_matrix, np.ndarray] | None = None

    def diagonal(self, l2: float) -> np.ndarray:
        """``λ diag(P(λ))``, in float64: it divides every score, and is close to 0
        for items much more popular than λ. Floored at its exact lower bound
        ``λ / (e_max + λ)`` (``e_max`` the largest eigenvalue): cancellation in
        ``1 - Σ`` can reach 0 otherwise."""
        floor = l2 / (float(self.spectrum.max(initial=0.0)) + l2)
        return np.maximum(1.0 - self.squares @ (1.0 / (self.spectrum + l2)), floor)

    def _projection(self, h: sp.csr_matrix) -> np.ndarray:
        """``C = H W``, which does not depend on λ: a search scores the same rows
        for every λ, so the last one is kept."""
        last = self._last
        if last is not None and _same_rows(last[0], h):
            return last[1]
        c = np.asarray(h @ self.w)
        self._last = (h, c)
        return c

    def scores(self, rows: sp.csr_matrix, l2: float) -> np.ndarray:
        """EASE scores ``H B`` of the weighted rows ``H`` for λ = ``l2`` (float32)."""
        h = sp.csr_matrix(rows, dtype=np.float32)
        c = self._projection(h) / (self.spectrum + l2).astype(np.float32)
        hwgw = np.asarray((c @ self.u.T) @ self.x)  # (C diag(g) Uᵀ) X
        dense = h.toarray()
        # B = I - P / diag(P), with λP = I - W diag(g) Wᵀ.
        out = dense - (dense - hwgw) / self.diagonal(l2).astype(np.float32)
        return np.ascontiguousarray(out, dtype=np.float32)


class _EASEOnPath(EASE):
    """EASE scored from a :class:`RegularizationPath` (the tuner's view of one λ)."""

    path: RegularizationPath
    path_: RegularizationPath

    def _fit(self, data: Interactions) -> None:
        self.values_ = ValueWeights(self.values).fit(data.matrix)
        self.path_ = self.path

    def _scores(self, users: np.ndarray) -> np.ndarray:
        rows = self._weights(self.user_items_[users])
        return self.path_.scores(rows, float(self.regularization))

    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        return self.path_.scores(self._weights(history), float(self.regularization))


def _same_rows(a: sp.csr_matrix, b: sp.csr_matrix) -> bool:
    return (
        a.shape == b.shape
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
        and np.array_equal(a.data, b.data)
    )


def _dual_is_cheaper(n_users: int, n_items: int) -> bool:
    """Whether to decompose the users x users matrix rather than invert items x items:
    its eigendecomposition costs about ``10 n_users³``, the inversion ``n_items³``, and
    forming the weights from it ``n_items² n_users``."""
    return 10 * n_users**3 + n_items**2 * n_users < n_items**3


def _weights_from_users(x: sp.csr_matrix, l2: float, dtype: np.dtype[np.floating]) -> np.ndarray:
    """EASE's ``B`` through the users x users matrix (fewer users than items):
    ``B_ij = M_ij / (1 - M_jj)`` off the diagonal, with ``M = W diag(1/(s+λ)) Wᵀ``
    (see :class:`RegularizationPath`); the diagonal of ``M`` in float64."""
    x64 = sp.csr_matrix(x, dtype=np.float64)
    spectrum, u = np.linalg.eigh((x64 @ x64.T).toarray())
    w = np.asarray(x64.T @ u) / np.sqrt(np.clip(spectrum, 0.0, None) + l2)
    m_diagonal = np.einsum("ij,ij->i", w, w)
    syrk = blas.ssyrk if dtype == np.float32 else blas.dsyrk
    # M = W Wᵀ, upper triangle only (half a product), in Fortran order: M is
    # symmetric, so its transpose is the same matrix in C order.
    upper = syrk(1.0, np.asfortranarray(w, dtype=dtype))
    _symmetrize_from_upper(upper)
    weights = upper.T
    weights /= (1.0 - m_diagonal).astype(dtype)
    np.fill_diagonal(weights, 0.0)
    return weights


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
