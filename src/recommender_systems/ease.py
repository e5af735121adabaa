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
from scipy import linalg
from scipy.linalg import blas, lapack

from recommender_systems import _memory
from recommender_systems.base import Recommender
from recommender_systems.errors import ParameterError
from recommender_systems.hyperparameters import Choice, Float, Range, declare
from recommender_systems.interactions import Interactions
from recommender_systems.kernels import product_topk, sparse_gram, transposed_product
from recommender_systems.neighborhood import ItemItemModel
from recommender_systems.query import TopN, select_rows
from recommender_systems.registry import register
from recommender_systems.state import Array, declare_state
from recommender_systems.values import UsesValues, Values, ValueWeights, values_hyperparameter

Dtype = Literal["float32", "float64"]

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
    The Gram matrix ``XᵀX`` comes from the sparse Gram kernel on every core (in
    ``Σ nnz(row)²`` multiply-adds); the dense linear algebra runs on SciPy's
    BLAS/LAPACK threads.
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
        weights = self._gram_of(x, dtype)
        weights[np.diag_indices_from(weights)] += l2
        _invert_spd(weights, l2)
        diagonal = np.diag(weights).copy()
        weights /= -diagonal  # B[:, j] = -P[:, j] / P[j, j]
        np.fill_diagonal(weights, 0.0)
        self.similarity_ = weights

    def _gram_of(self, x: sp.csr_matrix, dtype: np.dtype[np.floating]) -> np.ndarray:
        """``XᵀX`` of the weighted rows, a new array the fit may overwrite."""
        return _gram(x, dtype)

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
        factorisation each, which then costs less than any decomposition) from
        one Gram matrix ``XᵀX``, computed once (:class:`_EASEFromGram`)."""
        if name not in self.sweeps:
            raise ValueError(f"EASE sweeps {self.sweeps}, not {name!r}")
        template = self.clone()
        weights = template._fit_weights(data.matrix)
        if not weights.shape[0] < weights.shape[1]:
            n = weights.shape[1]
            # The shared Gram matrix, the fit's copy of it, and the previous λ's
            # weights (the caller holds them while the next one is fitted).
            _memory.require_memory(
                3 * n * n * 4 + _OVERHEAD_BYTES,
                f"the EASE λ search on {n:,} items (three {n:,} x {n:,} float32 matrices)",
                "Keep fewer items (drop the rarest) or tune a sparse model such as ItemKNN.",
            )
            gram = _gram(weights, np.dtype(np.float32))
            for l2 in values:
                params = {**template.get_params(), "regularization": float(l2), "dtype": "float32"}
                fitted = _EASEFromGram(**params)
                fitted.gram = gram
                yield l2, fitted.fit(data)
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
    ``λP(λ) = λ(XᵀX + λI)⁻¹ = I - W diag(g) Wᵀ`` with ``g = 1/(s+λ)``, and the EASE
    scores of rows ``H`` are ``H B = H - λHP D⁻¹`` with ``D = diag(λP)``. Per λ, one
    product with the small ``U`` and one with the sparse ``X``:

    - rows of ``X`` itself (the tuner scores the users the path was built on,
      :meth:`user_scores`): by the push-through identity ``λXP = A X`` with the
      users x users ``A = λ(K + λI)⁻¹ = U diag(λ/(s+λ)) Uᵀ``, symmetric (half a
      product, :meth:`_minus_a`), so rows ``S`` score ``H - A_S X D⁻¹``;
    - any other rows (fold-in histories, :meth:`scores`): ``λHP = H - R X`` with
      ``R = C diag(g) Uᵀ`` and ``C = HW``, which does not depend on λ.

    The dense part is a single sparse product that also scales by ``D⁻¹``
    (:meth:`_times_x`); the rows' own items are added sparsely.
    """

    def __init__(self, x: sp.csr_matrix) -> None:
        self.spectrum, u, self._w64 = _decompose_users(x)
        self.squares = np.asfortranarray(self._w64**2)  # for diag(P), in float64
        self._w: np.ndarray | None = None
        self.x = sp.csr_matrix(x, dtype=np.float32)
        # Items x users: the sparse product runs over its rows (see _times_x).
        self.xt = self.x.T.tocsr()
        self.u = np.ascontiguousarray(u, dtype=np.float32)
        self._last: tuple[sp.csr_matrix, np.ndarray] | None = None
        self._inverse: tuple[float, np.ndarray] | None = None
        # Buffers of _minus_a, the same for every λ (a fresh users x users matrix
        # per λ costs its page faults).
        self._v: np.ndarray | None = None
        self._gram: np.ndarray | None = None

    def diagonal(self, l2: float) -> np.ndarray:
        """``λ diag(P(λ))``, in float64: it divides every score, and is close to 0
        for items much more popular than λ. Floored at its exact lower bound
        ``λ / (e_max + λ)`` (``e_max`` the largest eigenvalue): cancellation in
        ``1 - Σ`` can reach 0 otherwise."""
        floor = l2 / (float(self.spectrum.max(initial=0.0)) + l2)
        # SciPy's BLAS, like every product of the search (see _decompose_users).
        sums = blas.dgemv(1.0, self.squares, 1.0 / (self.spectrum + l2))
        return np.maximum(1.0 - sums, floor)

    def _inverse_diagonal(self, l2: float) -> np.ndarray:
        """``1/d`` in float32; kept for the last λ, which scores its users in blocks."""
        if self._inverse is None or self._inverse[0] != l2:
            self._inverse = (l2, (1.0 / self.diagonal(l2)).astype(np.float32))
        return self._inverse[1]

    def _times_x(self, left: np.ndarray, l2: float) -> np.ndarray:
        """``leftᵀ X D⁻¹`` (float32, C order) for ``left`` of shape users x rows."""
        return transposed_product(self.xt, left, scale=self._inverse_diagonal(l2))

    def _projection(self, h: sp.csr_matrix) -> np.ndarray:
        """``C = H W``, which does not depend on λ: a search scores the same rows
        for every λ, so the last one is kept."""
        last = self._last
        if last is not None and _same_rows(last[0], h):
            return last[1]
        if self._w is None:  # only fold-ins need W in float32
            self._w = np.ascontiguousarray(self._w64, dtype=np.float32)
        c = np.asarray(h @ self._w)
        self._last = (h, c)
        return c

    def scores(self, rows: sp.csr_matrix, l2: float) -> np.ndarray:
        """EASE scores ``H B`` of the weighted rows ``H`` for λ = ``l2`` (float32)."""
        h = sp.csr_matrix(rows, dtype=np.float32)
        g = (1.0 / (self.spectrum + l2)).astype(np.float32)
        # H B = R X D⁻¹ + H (I - D⁻¹): the second term only where H has values.
        out = self._times_x(self.u @ (self._projection(h) * g).T, l2)
        _add_rows(out, h, 1.0 - self._inverse_diagonal(l2))
        return out

    def user_scores(self, users: np.ndarray, l2: float) -> np.ndarray:
        """EASE scores of the rows ``users`` of the path's own ``X`` for λ = ``l2``
        (float32): ``H - A_S X D⁻¹``, without ``W``."""
        left, columns = self._minus_a(users, l2)
        if columns is not None:
            left = np.ascontiguousarray(left[:, columns])
        out = self._times_x(left, l2)
        _add_rows(out, select_rows(self.x, users), None)
        return out

    def user_top_candidates(
        self,
        users: np.ndarray,
        l2: float,
        n: int,
        seen: sp.csr_matrix | None,
        allowed: np.ndarray | None,
    ) -> TopN:
        """The top ``n`` of :meth:`user_scores` outside ``seen`` and ``allowed`` (as
        :func:`~recommender_systems.query.rank` selects them), selected as the
        product is computed, without writing it: a row's own items are excluded, so
        only ``-A_S X D⁻¹`` is ranked."""
        left, columns = self._minus_a(users, l2)
        return product_topk(
            self.xt,
            left,
            n,
            columns=columns,
            scale=self._inverse_diagonal(l2),
            exclude=seen,
            allowed=allowed,
        )

    def _minus_a(self, users: np.ndarray, l2: float) -> tuple[np.ndarray, np.ndarray | None]:
        """``-A[:, users]`` (C order): computed for those users alone when they are
        few, else as all of ``-A`` and the columns to read (``None`` for all).

        ``A = U diag(φ) Uᵀ = I - U diag(ψ) Uᵀ`` with ``φ = λ/(s+λ)`` and ``ψ = s/(s+λ)``.
        The scores of unseen items come from ``A``'s off-diagonal entries, which are
        small: a float32 sum over the larger weights would cancel them away, so the
        product uses ``V = U diag(√φ)`` (``-A = -VVᵀ``) when ``Σφ ≤ Σψ`` (small λ) and
        ``V = U diag(√ψ)`` (``-A = VVᵀ - I``) otherwise."""
        if self._gram is None:
            self._v = np.empty_like(self.u)
            self._gram = np.empty(self.u.shape, dtype=np.float32, order="F")
        phi = l2 / (self.spectrum + l2)
        psi = self.spectrum / (self.spectrum + l2)
        by_phi = bool(phi.sum() <= psi.sum())
        weights = np.sqrt(phi if by_phi else psi).astype(np.float32)
        v = np.multiply(self.u, weights, out=self._v)
        alpha = -1.0 if by_phi else 1.0
        n = v.shape[0]
        if 2 * users.size <= n:
            # (V_S Vᵀ) in Fortran order is V V_Sᵀ in C order (SciPy's BLAS).
            left = blas.sgemm(alpha, v[users].T, v.T, trans_a=1).T
            if not by_phi:
                left[users, np.arange(users.size)] -= 1.0
            return left, None
        # All of -A, upper triangle only (half a product), into its buffer (the
        # results never keep it); vᵀ in Fortran order is v itself, so trans=1 reads
        # it without a copy.
        negative = blas.ssyrk(alpha, v.T, trans=1, c=self._gram, overwrite_c=1)
        if not by_phi:
            negative[np.diag_indices(n)] -= 1.0
        _symmetrize_from_upper(negative)
        # Symmetric, so its transpose (C order, no copy) is the same matrix.
        columns = None if _is_all(users, n) else np.ascontiguousarray(users, np.int64)
        return negative.T, columns


class _EASEFromGram(EASE):
    """EASE fitted from a Gram matrix computed once for several λ (the tuner's
    item-space sweep): the same model as a fit, without recomputing ``XᵀX``."""

    gram: np.ndarray

    def _gram_of(self, x: sp.csr_matrix, dtype: np.dtype[np.floating]) -> np.ndarray:
        return self.gram.astype(dtype, copy=True)


class _EASEOnPath(EASE):
    """EASE scored from a :class:`RegularizationPath` (the tuner's view of one λ)."""

    path: RegularizationPath
    path_: RegularizationPath
    #: Whether the fitted users' weighted rows are the path's ``X`` (then scored by index).
    rows_on_path_: bool

    def _fit(self, data: Interactions) -> None:
        self.values_ = ValueWeights(self.values).fit(data.matrix)
        self.path_ = self.path
        self.rows_on_path_ = _same_rows(self.values_.transform(data.matrix), self.path.x)

    def _scores(self, users: np.ndarray) -> np.ndarray:
        if self.rows_on_path_:
            return self.path_.user_scores(users, float(self.regularization))
        return self._scores_for_history(self.user_items_[users])

    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        return self.path_.scores(self._weights(history), float(self.regularization))

    def _top_candidates(
        self,
        users: np.ndarray,
        n: int,
        seen: sp.csr_matrix | None,
        allowed: np.ndarray | None,
    ) -> TopN:
        # The fused candidate step: the same lists as ranking _scores (the default).
        if not self.rows_on_path_:
            return super()._top_candidates(users, n, seen, allowed)
        return self.path_.user_top_candidates(users, float(self.regularization), n, seen, allowed)


def _add_rows(out: np.ndarray, rows: sp.csr_matrix, scale: np.ndarray | None) -> None:
    """``out += rows`` (times ``scale`` per column), at the stored entries only."""
    if not rows.has_canonical_format:  # a repeated entry must add twice
        rows = rows.copy()
        rows.sum_duplicates()
    width = out.shape[1]
    flat = np.repeat(np.arange(0, rows.shape[0] * width, width), np.diff(rows.indptr))
    flat += rows.indices
    values = rows.data if scale is None else rows.data * scale[rows.indices]
    out.reshape(-1)[flat] += values


def _is_all(indices: np.ndarray, n: int) -> bool:
    return indices.size == n and bool(np.array_equal(indices, np.arange(n)))


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
    spectrum, _, w = _decompose_users(x)
    w /= np.sqrt(spectrum + l2)
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


def _decompose_users(x: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``K = XXᵀ = U diag(s) Uᵀ`` and ``W = XᵀU``, in float64: ``(s, U, W)``, ``s``
    clipped at 0.

    ``K`` is the Gram matrix of ``Xᵀ`` (the sparse Gram kernel) and ``W`` a product
    of the sparse ``Xᵀ`` with the dense ``U`` (the product kernel), each on every
    core, several times faster than SciPy. The eigendecomposition is SciPy's:
    OpenBLAS keeps a library's threads spinning for a while after each call, and
    one library's idle threads would compete with the next one's (NumPy and SciPy
    each bring their own), so the search uses SciPy's BLAS throughout."""
    xt = sp.csr_matrix(x.T, dtype=np.float32)
    gram = sparse_gram(xt, np.float64)  # products of float32 values, exact in float64
    spectrum, u = linalg.eigh(gram, driver="evd", check_finite=False, overwrite_a=True)
    # Wᵀ = (Xᵀ U)ᵀ, read as W (Fortran order).
    w = transposed_product(sp.csr_matrix(xt, dtype=np.float64), np.ascontiguousarray(u)).T
    return np.clip(spectrum, 0.0, None), u, w


def _gram(matrix: sp.csr_matrix, dtype: np.dtype[np.floating]) -> np.ndarray:
    """``XᵀX`` as a dense array: the sparse Gram kernel, in ``Σ nnz(row)²``
    multiply-adds on every core (4.7 to 6.5 times faster than SciPy's sparse
    product on 800,000 to 2 million rows, measured when it was added)."""
    return sparse_gram(matrix, dtype)


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


def _symmetrize_from_upper(a: np.ndarray, block: int = 128) -> None:
    """Copies the upper triangle of square ``a`` onto its lower one, a square tile
    at a time (tiles stay in cache while they are transposed)."""
    n = a.shape[0]
    below = np.tri(min(block, n), k=-1, dtype=bool)
    for start in range(0, n, block):
        stop = min(n, start + block)
        for other in range(stop, n, block):
            a[other : other + block, start:stop] = a[start:stop, other : other + block].T
        tile = a[start:stop, start:stop]
        size = stop - start
        np.copyto(tile, tile.T, where=below[:size, :size])
