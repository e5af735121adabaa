"""PureSVD (Cremonesi, Koren and Turrin 2010): a truncated SVD of the sparse matrix."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import ArpackError, svds

from recommender_systems._validation import check_random_state
from recommender_systems.errors import KernelError
from recommender_systems.hyperparameters import Float, Int, Range, Seed, declare
from recommender_systems.interactions import Interactions
from recommender_systems.matrix_factorization import MatrixFactorization
from recommender_systems.registry import register
from recommender_systems.state import declare_state
from recommender_systems.values import UsesValues, Values, values_hyperparameter

__all__ = ["SVD"]

#: Relative gap below which two singular values count as equal (ARPACK resolves
#: them far more finely on the matrices it converges on).
TIE = 1e-6
#: The largest smaller side whose Gram matrix is decomposed densely (float64:
#: 512 MiB) when ARPACK stalls.
DENSE_FALLBACK_SIDE = 8_000


@register(
    "svd",
    family="matrix factorization",
    summary="PureSVD: truncated SVD of the sparse interaction matrix",
)
class SVD(UsesValues, MatrixFactorization):
    """Scores a user's items by projecting their row onto the top item singular vectors.

    With ``V`` the ``n_factors`` leading right singular vectors of the
    users x items matrix (missing entries are zeros), a user with row ``r`` gets
    scores ``r V Vᵀ``. The SVD runs on the sparse matrix (ARPACK through
    ``scipy.sparse.linalg.svds``); nothing users x items is ever dense. A new
    user is folded in the same way, from their history row.

    Values are weighed by ``values`` (see :mod:`recommender_systems.values`).
    Before the SVD, item columns are divided by ``popularity ** popularity_damping``,
    which keeps the leading vectors from describing only the most popular items
    (0 = plain PureSVD).

    The defaults were chosen on validation splits carved out of MovieLens 100k
    training data (docs/decisions/0007-factor-model-defaults.md).

    Example:
        >>> from recommender_systems import generate_interactions
        >>> log = generate_interactions(200, 100, 3_000, random_state=1)
        >>> model = SVD(n_factors=10, random_state=0).fit(log)
        >>> len(model.recommend(0, n=3)), len(model.recommend_from_history([1, 2], n=3))
        (3, 3)
    """

    state = declare_state(MatrixFactorization.state, UsesValues.state)
    hyperparameters = declare(
        n_factors=Int(default=20, low=1, doc="singular vectors kept", tune=Range(5, 200, log=True)),
        popularity_damping=Float(
            default=0.2,
            low=0.0,
            doc="item columns are divided by popularity ** popularity_damping before the SVD",
            tune=Range(0.0, 1.0),
        ),
        values=values_hyperparameter("log"),
        random_state=Seed(doc="seed (or numpy Generator) for ARPACK's start vector"),
    )

    def __init__(
        self,
        n_factors: int = 20,
        popularity_damping: float = 0.2,
        values: Values = "log",
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_factors = n_factors
        self.popularity_damping = popularity_damping
        self.values = values
        self.random_state = random_state

    def _fit(self, data: Interactions) -> None:
        n_factors = int(self.n_factors)
        damping = float(self.popularity_damping)
        rng = check_random_state(self.random_state)
        weights = self._fit_weights(data.matrix)
        matrix = weights.astype(np.float64)
        scale = np.power(np.maximum(self.item_popularity_.astype(np.float64), 1.0), -damping)
        vectors = leading_right_singular_vectors(matrix @ sp.diags(scale), n_factors, rng)
        self.item_factors_ = np.ascontiguousarray(vectors, dtype=np.float32)
        self.user_factors_ = self._project(weights)

    def _project(self, rows: sp.csr_matrix) -> np.ndarray:
        return np.ascontiguousarray(rows @ self.item_factors_, dtype=np.float32)

    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        return self._scores_for_vectors(self._project(self._weights(history)))


def leading_right_singular_vectors(
    matrix: sp.csr_matrix, k: int, rng: np.random.Generator
) -> np.ndarray:
    """The right singular vectors of the ``k`` largest non-zero singular values, as
    columns of an ``(n_cols, <= k)`` array, largest first.

    Uses ARPACK on the sparse matrix; when a side is too small for ARPACK (it needs
    ``k < min(shape)``), the Gram matrix of that small side is decomposed instead.
    Vectors whose value equals the ``(k + 1)``-th are left out too: which of a
    repeated value's vectors a solver returns is arbitrary.
    Repeated singular values (very regular data) can stall ARPACK's restarts: it is
    then run again with a larger Krylov space, and if that fails too the small
    side's Gram matrix is decomposed when it has at most
    :data:`DENSE_FALLBACK_SIDE` rows.
    """
    n_rows, n_cols = matrix.shape
    if matrix.nnz == 0:
        return np.zeros((n_cols, 0))
    # One value more than kept: vectors whose value ties with the first one left
    # out span a subspace that the cut would split arbitrarily (the solver's choice
    # of basis), so they are dropped with it.
    wanted = k + 1
    found = (
        _arpack_singular_vectors(matrix, wanted, rng) if wanted < min(n_rows, n_cols) - 1 else None
    )
    values, vectors = found if found is not None else _gram_singular_vectors(matrix)
    order = np.argsort(-values, kind="stable")
    left_out = values[order[k]] if order.size > k else 0.0
    top = order[:k]
    keep = top[(values[top] > values.max() * 1e-6) & (values[top] > left_out * (1 + TIE))]
    return np.asarray(vectors[:, keep])


def _arpack_singular_vectors(
    matrix: sp.csr_matrix, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray] | None:
    """The ``k`` largest singular values and their right singular vectors (columns)
    by ARPACK, tried again with a larger Krylov space if it stalls; ``None`` when it
    stalls twice on a matrix whose small side the dense path can take."""
    side = min(matrix.shape)
    v0 = rng.uniform(-1.0, 1.0, size=side)
    failure: ArpackError | None = None
    for ncv in (None, min(side - 1, max(4 * k + 1, 40))):
        try:
            _, values, vt = svds(matrix, k=k, v0=v0, ncv=ncv)
        except ArpackError as error:
            failure = error
            continue
        return values, vt.T
    if side > DENSE_FALLBACK_SIDE:
        raise KernelError(
            f"SVD: expected ARPACK to find {k} singular vectors, but it stalled on this "
            f"matrix ({failure}); try another n_factors or random_state"
        )
    return None


def _gram_singular_vectors(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """All singular values and right singular vectors (columns), unordered, from the
    dense Gram matrix of the smaller side."""
    if matrix.shape[0] <= matrix.shape[1]:
        eig, u = np.linalg.eigh((matrix @ matrix.T).toarray())
        values = np.sqrt(np.clip(eig, 0.0, None))
        return values, (matrix.T @ u) / np.where(values > 0, values, 1.0)
    eig, vectors = np.linalg.eigh((matrix.T @ matrix).toarray())
    return np.sqrt(np.clip(eig, 0.0, None)), vectors
