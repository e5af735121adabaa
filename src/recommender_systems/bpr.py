"""Bayesian Personalised Ranking (Rendle et al. 2009), trained by SGD in Rust."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from recommender_systems._validation import check_random_state
from recommender_systems.errors import ParameterError
from recommender_systems.hyperparameters import Bool, Float, Int, Range, Seed, Threads, declare
from recommender_systems.interactions import Interactions
from recommender_systems.kernels.bpr import bpr_epoch
from recommender_systems.matrix_factorization import MatrixFactorization, initial_factors
from recommender_systems.registry import register
from recommender_systems.sampling import owned_keys, uniform_negatives
from recommender_systems.state import Array, declare_state

__all__ = ["BPR"]


@register(
    "bpr",
    family="matrix factorization",
    summary="Bayesian personalised ranking: pairwise SGD on sampled negatives (Rust)",
)
class BPR(MatrixFactorization):
    """Matrix factorisation that ranks each user's items above unseen ones.

    Every epoch visits all (user, item) pairs in a new random order (shuffled
    blocks of 8 consecutive pairs of the matrix, so a user's row stays in cache
    across a block); for each it
    draws an item the user has not seen and takes an SGD step on
    ``-ln sigmoid(score(u, i) - score(u, j))`` with L2 regularisation ``regularization``.
    Interaction values are ignored (every pair is a positive).

    Hyperparameters are listed in :attr:`hyperparameters`. With ``n_threads=1``
    (the default) the SGD steps run in order, bit-for-bit reproducible for a given
    ``random_state``; more threads (0 = all cores) run lock-free parallel SGD
    (Hogwild), faster on large data but not reproducible. Each thread needs at
    least 100,000 interactions: with fewer, threads would mostly wait for each
    other, so smaller data runs on fewer threads (in one ordered pass below
    200,000).

    The defaults were chosen on validation splits carved out of MovieLens 100k
    training data (docs/decisions/0007-factor-model-defaults.md). ``fit(callback=...)``
    reports each epoch's mean loss.

    Fold-in learns a new user's vector by the same SGD steps against the frozen
    item factors (and biases), starting from zero, for :attr:`fold_in_epochs` passes
    over the history with negatives drawn from a fixed seed (``random_state`` when
    it is an integer, else 0): the same history always gives the same list.

    Example:
        >>> from recommender_systems import generate_interactions
        >>> log = generate_interactions(200, 100, 3_000, random_state=1)
        >>> model = BPR(n_factors=8, epochs=5, random_state=0).fit(log)
        >>> len(model.recommend(0, n=3))
        3
    """

    hyperparameters = declare(
        n_factors=Int(default=64, low=1, doc="latent dimensions", tune=Range(16, 256, log=True)),
        epochs=Int(default=200, low=0, doc="passes over the interactions", tune=Range(20, 400)),
        learning_rate=Float(
            default=0.02, low=0.0, doc="SGD step size", tune=Range(0.002, 0.1, log=True)
        ),
        regularization=Float(
            default=0.02,
            low=0.0,
            doc="L2 regularisation of the factors (and biases)",
            tune=Range(1e-4, 0.1, log=True),
            formerly=("reg",),
        ),
        item_bias=Bool(default=True, doc="learn a popularity offset per item"),
        random_state=Seed(),
        n_threads=Threads(
            default=1, doc="threads: 1 is reproducible; more (0: all cores) run Hogwild SGD"
        ),
    )

    state = declare_state(
        MatrixFactorization.state,
        item_biases_=Array("float32", ("n_items",), optional=True),
    )
    item_biases_: np.ndarray | None

    #: Passes over a new user's history in fold-in.
    fold_in_epochs: ClassVar[int] = 40

    def __init__(
        self,
        n_factors: int = 64,
        epochs: int = 200,
        learning_rate: float = 0.02,
        regularization: float = 0.02,
        item_bias: bool = True,
        random_state: int | np.random.Generator | None = None,
        n_threads: int = 1,
    ) -> None:
        self.n_factors = n_factors
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.item_bias = item_bias
        self.random_state = random_state
        self.n_threads = n_threads

    def _item_offsets(self) -> np.ndarray | None:
        return self.item_biases_

    def _fit(self, data: Interactions) -> None:
        n_factors = int(self.n_factors)
        learning_rate = float(self.learning_rate)
        reg = float(self.regularization)
        n_threads = int(self.n_threads)
        rng = check_random_state(self.random_state)

        scale = 1.0 / math.sqrt(n_factors)
        users = initial_factors(rng, data.n_users, n_factors, 0.1 * scale)
        items = initial_factors(rng, data.n_items, n_factors, 0.1 * scale)
        bias = np.zeros(data.n_items, dtype=np.float32) if self.item_bias else None
        # Updated in place: the model can score at the end of every epoch.
        self.user_factors_ = users
        self.item_factors_ = items
        self.item_biases_ = bias
        for epoch in self._epochs(int(self.epochs), "BPR", live=True):
            seed = int(rng.integers(0, 2**63 - 1))
            loss, updates, _ = bpr_epoch(
                data.matrix, users, items, bias, learning_rate, reg, seed=seed, n_threads=n_threads
            )
            epoch.loss = loss / updates if updates else 0.0
            if not math.isfinite(epoch.loss):
                raise ParameterError(
                    f"learning_rate: expected a value small enough for SGD to converge, "
                    f"received {learning_rate} (the loss became {epoch.loss} in epoch "
                    f"{epoch.number})"
                )

    # ----------------------------------------------------------------- fold-in
    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        return self._scores_for_vectors(self._fold_in(history))

    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """Factors of new users (rows of ``history``) by SGD on the BPR loss with the
        item side frozen. All users step in lockstep, one positive each per step."""
        seed = self.random_state if isinstance(self.random_state, int) else 0
        rng = np.random.default_rng(seed)
        items = self.item_factors_.astype(np.float64)
        n_items = items.shape[0]
        bias = (
            np.zeros(n_items) if self.item_biases_ is None else self.item_biases_.astype(np.float64)
        )
        learning_rate, reg = float(self.learning_rate), float(self.regularization)
        lengths = np.diff(history.indptr)
        # A user who has every item has no negative to learn from: they stay at zero.
        lengths = np.where(lengths < n_items, lengths, 0)
        starts = history.indptr[:-1]
        rows, owned = owned_keys(history)
        vectors = np.zeros((history.shape[0], items.shape[1]))
        for _ in range(self.fold_in_epochs):
            # Each user's positives in a new random order, and a negative for each.
            order = np.lexsort((rng.random(rows.size), rows))
            positives = history.indices[order]
            negatives = uniform_negatives(rng, rows, owned, n_items)
            for step in range(int(lengths.max(initial=0))):
                users = np.flatnonzero(lengths > step)
                at = starts[users] + step
                difference = items[positives[at]] - items[negatives[at]]
                margin = (vectors[users] * difference).sum(axis=1)
                margin += bias[positives[at]] - bias[negatives[at]]
                weight = 1.0 / (1.0 + np.exp(np.clip(margin, -50.0, 50.0)))  # sigmoid(-margin)
                vectors[users] += learning_rate * (
                    weight[:, None] * difference - reg * vectors[users]
                )
        return vectors.astype(np.float32)
