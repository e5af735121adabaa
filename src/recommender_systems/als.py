"""Implicit-feedback alternating least squares (Hu, Koren and Volinsky 2008)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recommender_systems import query
from recommender_systems._validation import check_positive_int, check_random_state
from recommender_systems.errors import DataError, UnknownUserError
from recommender_systems.hyperparameters import (
    Choice,
    Float,
    Int,
    Range,
    Seed,
    Threads,
    declare,
)
from recommender_systems.interactions import Interactions
from recommender_systems.kernels.als import als_solve, gram
from recommender_systems.matrix_factorization import MatrixFactorization, initial_factors
from recommender_systems.registry import register
from recommender_systems.state import Array, Number, declare_state
from recommender_systems.values import UsesValues, Values, values_hyperparameter

__all__ = ["ALS"]


@register(
    "als",
    family="matrix factorization",
    summary="Implicit-feedback ALS with a conjugate-gradient or Cholesky solver (Rust)",
)
class ALS(UsesValues, MatrixFactorization):
    """Weighted matrix factorisation of implicit feedback, by alternating least squares.

    Every (user, item) pair counts: an observed pair has preference 1 and
    confidence ``1 + alpha * weight``, every other pair preference 0 and
    confidence 1. The weight of a value (a rating, a play count) is set by
    ``values`` (default ``"log"``: ``log(1 + value)``, see
    :mod:`recommender_systems.values`), so that heavy-tailed counts give a
    bounded confidence. Users and items are solved in turn, each row in closed form
    against the other side's factors, touching only that row's observed entries.

    Hyperparameters are listed in :attr:`hyperparameters` (and in the docs'
    hyperparameter tables). Regularisation grows with a row's weight: a row with
    ``n`` observed entries is regularised by
    ``regularization * (n_cols + alpha * sum(weights)) ** reg_exponent`` (Rendle et
    al. 2021, "Revisiting the performance of iALS"); ``reg_exponent=0`` gives the
    classic constant. Results do not depend on ``n_threads``.

    The defaults were chosen on validation splits carved out of MovieLens 100k
    training data (docs/decisions/0007-factor-model-defaults.md).

    Example:
        >>> from recommender_systems import generate_interactions
        >>> log = generate_interactions(200, 100, 3_000, random_state=1)
        >>> model = ALS(n_factors=8, epochs=3, random_state=0).fit(log)
        >>> len(model.recommend(0, n=3)), len(model.recommend_from_history([1, 2], n=3))
        (3, 3)
    """

    hyperparameters = declare(
        n_factors=Int(default=64, low=1, doc="latent dimensions", tune=Range(16, 256, log=True)),
        epochs=Int(
            default=15,
            low=0,
            doc="alternating passes (users, then items)",
            tune=Range(5, 30),
            formerly=("iterations",),
        ),
        regularization=Float(
            default=0.02,
            low=0.0,
            doc="L2 regularisation, scaled by each row's weight (see reg_exponent)",
            tune=Range(1e-4, 1.0, log=True),
            formerly=("reg",),
        ),
        reg_exponent=Float(
            default=1.0,
            low=0.0,
            doc="how regularisation grows with a row's confidence weight (0: constant)",
            tune=Range(0.0, 1.0),
        ),
        alpha=Float(
            default=4.0,
            low=0.0,
            doc="confidence of an observed entry per unit of weight (1 + alpha * weight)",
            tune=Range(0.1, 50.0, log=True),
        ),
        values=values_hyperparameter("log"),
        solver=Choice(
            default="cg",
            options=("cg", "cholesky"),
            doc="conjugate gradient (fast, warm-started) or exact Cholesky",
        ),
        cg_steps=Int(
            default=3,
            low=0,
            doc="conjugate-gradient steps per row and half-iteration (a speed/precision "
            "trade-off, not tuned)",
        ),
        random_state=Seed(),
        n_threads=Threads(),
    )
    renamed_state: ClassVar[Mapping[str, str]] = {"reg_": "regularization_"}
    state = declare_state(
        MatrixFactorization.state,
        UsesValues.state,
        item_gram_=Array("float32", ("n_factors", "n_factors")),
        regularization_=Number(low=0.0),
        reg_exponent_=Number(low=0.0),
        alpha_=Number(low=0.0),
    )
    #: What the tuner tries right after the defaults: the best settings on the other
    #: data shapes measured (benchmarks/results/values.md): ratings read linearly
    #: (the former defaults), and a higher confidence on log weights.
    tuning_starts: ClassVar[tuple[dict[str, Any], ...]] = (
        {"values": "linear", "alpha": 1.0},
        {"values": "log", "alpha": 8.0},
        {"n_factors": 128},
    )

    item_gram_: np.ndarray
    #: The regularisation and confidence settings of the last fit (used by fold-in
    #: and ``explain`` even if the hyperparameters change afterwards).
    regularization_: float
    reg_exponent_: float
    alpha_: float

    def __init__(
        self,
        n_factors: int = 64,
        epochs: int = 15,
        regularization: float = 0.02,
        reg_exponent: float = 1.0,
        alpha: float = 4.0,
        solver: str = "cg",
        cg_steps: int = 3,
        values: Values = "log",
        random_state: int | np.random.Generator | None = None,
        n_threads: int = 0,
    ) -> None:
        self.n_factors = n_factors
        self.epochs = epochs
        self.regularization = regularization
        self.reg_exponent = reg_exponent
        self.alpha = alpha
        self.solver = solver
        self.cg_steps = cg_steps
        self.values = values
        self.random_state = random_state
        self.n_threads = n_threads

    # ------------------------------------------------------------------ fitting
    def _fit(self, data: Interactions) -> None:
        n_factors = int(self.n_factors)
        self.regularization_ = float(self.regularization)
        self.reg_exponent_ = float(self.reg_exponent)
        self.alpha_ = alpha = float(self.alpha)
        n_threads = int(self.n_threads)
        rng = check_random_state(self.random_state)
        if data.matrix.nnz and data.matrix.data.min() < 0:
            raise DataError(
                "values: ALS expects interaction strengths >= 0 (confidence 1 + alpha * "
                f"weight), received {data.matrix.data.min()}"
            )
        user_items = self._fit_weights(data.matrix)
        item_users = user_items.T.tocsr()
        user_reg = self._regularization(user_items)
        item_reg = self._regularization(item_users)

        scale = 0.01
        users = initial_factors(rng, data.n_users, n_factors, scale)
        items = initial_factors(rng, data.n_items, n_factors, scale)
        options = self._solver_options(n_threads)
        # Solved in place: the model can score at the end of every epoch.
        self.user_factors_ = users
        self.item_factors_ = items
        for _ in self._epochs(int(self.epochs), "ALS", live=True):
            als_solve(user_items, items, users, user_reg, alpha=alpha, **options)
            als_solve(item_users, users, items, item_reg, alpha=alpha, **options)
        self.item_gram_ = gram(items, n_threads=n_threads)

    def _solver_options(self, n_threads: int) -> dict[str, Any]:
        return {
            "cg_steps": int(self.cg_steps),
            "exact": self.solver == "cholesky",
            "n_threads": n_threads,
        }

    def _regularization(self, rows: sp.csr_matrix) -> np.ndarray:
        """Each row's regularisation: ``regularization * (total confidence weight) **
        reg_exponent``."""
        weight = rows.shape[1] + self.alpha_ * np.asarray(rows.sum(axis=1)).ravel()
        return (self.regularization_ * weight**self.reg_exponent_).astype(np.float32)

    # ----------------------------------------------------------------- fold-in
    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """Factors of new users (rows of ``history``), solved exactly against the
        fixed item factors."""
        if history.nnz and history.data.min() < 0:
            raise DataError("weights: ALS expects interaction strengths >= 0")
        history = self._weights(history)
        vectors = np.zeros((history.shape[0], self.item_factors_.shape[1]), dtype=np.float32)
        als_solve(
            history,
            self.item_factors_,
            vectors,
            self._regularization(history),
            alpha=self.alpha_,
            exact=True,
            gram=self.item_gram_,
            n_threads=self._threads(),
        )
        return vectors

    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        return self._scores_for_vectors(self._fold_in(history))

    # ------------------------------------------------------------- explaining
    def explain(self, user: Any, item: Any, n: int = 10) -> list[tuple[Any, float]]:
        """The items of ``user``'s history that contribute most to their score for
        ``item``, best first, as ``(item_id, contribution)`` pairs.

        With ``A`` the user's system matrix, the exact solution's score is
        ``Σ_i c_ui · y_iᵀ A⁻¹ y_item`` over the history; each term is one item's
        contribution (Hu, Koren and Volinsky 2008, section 5). The terms add up to
        the score of an exact solve, which the conjugate-gradient factors
        approximate.
        """
        self._check_fitted()
        n = check_positive_int(n, "n")
        code = self.user_ids_.index_of(user, missing="ignore")
        if code < 0:
            raise UnknownUserError(
                f"user {self.user_ids_.describe_id(user)} was not seen in training"
            )
        target = self.item_factors_[query.item_indices(self.item_ids_, [item])[0]]
        target = target.astype(np.float64)
        row = self._weights(self.user_items_[code])
        if row.nnz == 0:
            return []
        y = self.item_factors_[row.indices].astype(np.float64)
        extra = self.alpha_ * row.data.astype(np.float64)
        reg = float(self._regularization(row)[0])
        a = self.item_gram_.astype(np.float64) + reg * np.eye(y.shape[1]) + (y.T * extra) @ y
        weights = np.linalg.lstsq(a, target, rcond=None)[0]  # A⁻¹ y_item (A is symmetric)
        contributions = (1.0 + extra) * (y @ weights)
        order = np.lexsort((row.indices, -contributions))[:n]
        ids = self.item_ids_.to_ids(row.indices[order]).tolist()
        return list(zip(ids, contributions[order].tolist(), strict=True))
