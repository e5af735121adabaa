"""TwoTowerCF: user and item embeddings trained with Adam on a pairwise loss."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from recommender_systems.errors import ParameterError
from recommender_systems.hyperparameters import Bool, Float, Int, OneOf, Range, declare
from recommender_systems.interactions import Interactions
from recommender_systems.matrix_factorization import MatrixFactorization
from recommender_systems.neural._training import (
    TRAINING_HYPERPARAMETERS,
    EarlyStopping,
    adam,
    binary,
    prepare,
    step,
    to_numpy,
    torch_generator,
    torch_threads,
)
from recommender_systems.registry import register
from recommender_systems.sampling import owned_keys, uniform_negatives
from recommender_systems.state import Array, declare_state

__all__ = ["TwoTowerCF"]

#: Standard deviation of the initial embeddings (the original's Normal(0, 0.01)).
INIT_STD = 0.01


@register(
    "two-tower",
    family="neural",
    summary="User and item embedding towers trained with Adam on a pairwise loss (PyTorch)",
)
class TwoTowerCF(MatrixFactorization):
    """Two embedding tables, one for users and one for items, scored by their dot
    product and trained to rank each user's items above sampled others.

    Every epoch shuffles the (user, item) pairs and draws, for each, a uniform item
    the user does not have (collisions are redrawn; users who have every item are
    skipped); mini-batches of ``batch_size`` pairs take an Adam step on
    ``-mean log sigmoid(s_ui - s_uj)``, plus ``regularization`` times the squared
    norms of the batch's embeddings (and biases). Embeddings start at
    Normal(0, 0.01). With ``item_bias`` each item also learns a popularity offset
    added to its scores. Interaction values are ignored (every pair is a positive).

    The constructor is the original library's; three defaults differ from its
    settings (``learning_rate=0.01, regularization=0, item_bias=False``, which
    overfit: NDCG@10 0.27 on MovieLens 100k against 0.39, mean of 5 splits): they were
    chosen on a validation split of the training rows
    (``benchmarks/results/neural_defaults.md``).

    Recommending, ``similar_items`` (cosine of the item embeddings) and fold-in run
    on NumPy and PyTorch's CPU: fold-in learns a new user's embedding by
    :attr:`fold_in_steps` Adam steps on the same loss against the frozen item
    embeddings, starting from zero, with negatives drawn from a fixed seed
    (``random_state`` when it is an integer, else 0), so a history always gives
    the same list.

    With ``validation_fraction > 0``, that share of the training rows is held out,
    NDCG@10 on it is measured after each epoch, training stops after ``patience``
    epochs without progress and the best epoch's embeddings are kept.

    Example:
        >>> from recommender_systems import generate_interactions
        >>> log = generate_interactions(200, 100, 3_000, random_state=1)
        >>> model = TwoTowerCF(epochs=3, random_state=0).fit(log)
        >>> len(model.recommend(0, n=3)), len(model.recommend_from_history([1, 2], n=3))
        (3, 3)
    """

    hyperparameters = declare(
        n_factors=Int(default=32, low=1, doc="embedding size", tune=Range(16, 256, log=True)),
        epochs=Int(default=20, low=0, doc="passes over the interactions", tune=Range(5, 100)),
        learning_rate=Float(
            default=0.003,
            low=0.0,
            low_open=True,
            doc="Adam step size",
            tune=Range(1e-4, 0.05, log=True),
        ),
        batch_size=Int(
            default=256, low=1, doc="pairs per Adam step", tune=OneOf(128, 256, 512, 1024, 4096)
        ),
        regularization=Float(
            default=0.01,
            low=0.0,
            doc="L2 penalty on the embeddings of each batch",
            tune=Range(1e-6, 0.1, log=True),
        ),
        item_bias=Bool(
            default=True, doc="learn a popularity offset per item", tune=OneOf(True, False)
        ),
        **TRAINING_HYPERPARAMETERS,
    )

    #: Adam steps that learn a new user's embedding in fold-in.
    fold_in_steps: ClassVar[int] = 100

    state = declare_state(
        MatrixFactorization.state,
        item_biases_=Array("float32", ("n_items",), optional=True),
    )
    item_biases_: np.ndarray | None

    def __init__(
        self,
        n_factors: int = 32,
        epochs: int = 20,
        learning_rate: float = 0.003,
        batch_size: int = 256,
        regularization: float = 0.01,
        item_bias: bool = True,
        random_state: int | np.random.Generator | None = None,
        device: str = "auto",
        n_threads: int = 0,
        validation_fraction: float = 0.0,
        patience: int = 5,
    ) -> None:
        self.n_factors = n_factors
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.regularization = regularization
        self.item_bias = item_bias
        self.random_state = random_state
        self.device = device
        self.n_threads = n_threads
        self.validation_fraction = validation_fraction
        self.patience = patience

    # ------------------------------------------------------------------ fitting
    def _fit(self, data: Interactions) -> None:
        rng, device, train, validation = prepare(
            self.random_state, self.device, float(self.validation_fraction), data.matrix
        )
        with torch_threads(int(self.n_threads)):
            generator = torch_generator(rng, torch.device("cpu"))
            shape = (int(self.n_factors),)
            users = _embedding(data.n_users, shape, generator, device)
            items = _embedding(data.n_items, shape, generator, device)
            bias = torch.zeros(data.n_items, device=device, requires_grad=bool(self.item_bias))
            trained = [users, items, bias] if self.item_bias else [users, items]
            optimizer = adam(trained, float(self.learning_rate))
            stopper = (
                None if validation is None else EarlyStopping(train, validation, int(self.patience))
            )
            pairs = _Pairs(train)
            for epoch in self._epochs(int(self.epochs), "TwoTowerCF"):
                epoch.loss = self._epoch(pairs, rng, users, items, bias, optimizer, device)
                if stopper is not None:
                    weights = {"users": users, "items": items, "bias": bias}
                    stopper.update(epoch.number, lambda u: _dot(users, items, bias, u), weights)
                    if stopper.should_stop():
                        break
            if stopper is not None and stopper.best_state is not None:
                users, items, bias = (stopper.best_state[k] for k in ("users", "items", "bias"))
        self.user_factors_ = to_numpy(users)
        self.item_factors_ = to_numpy(items)
        self.item_biases_ = to_numpy(bias) if self.item_bias else None

    def _item_offsets(self) -> np.ndarray | None:
        return self.item_biases_

    def _epoch(
        self,
        pairs: _Pairs,
        rng: np.random.Generator,
        users: torch.Tensor,
        items: torch.Tensor,
        bias: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        device: torch.device,
    ) -> float:
        """One pass over the shuffled pairs; returns the mean loss."""
        u, i, j = (torch.from_numpy(a).to(device) for a in pairs.shuffled(rng))
        reg = float(self.regularization)
        total = torch.zeros((), device=device)
        size = int(self.batch_size)
        for start in range(0, u.numel(), size):
            ub, ib, jb = u[start : start + size], i[start : start + size], j[start : start + size]
            loss = _pairwise_loss(users[ub], items[ib], items[jb], reg, bias[ib] - bias[jb])
            step(optimizer, loss)
            total += loss.detach() * ub.numel()
        mean = float(total) / max(u.numel(), 1)
        if not np.isfinite(mean):
            raise ParameterError(
                f"learning_rate: expected a value small enough for training to converge, "
                f"received {self.learning_rate} (the loss became {mean})"
            )
        return mean

    # ----------------------------------------------------------------- fold-in
    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        return self._scores_for_vectors(self._fold_in(history))

    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """Embeddings of new users (rows of ``history``), learned against the frozen
        item embeddings."""
        seed = self.random_state if isinstance(self.random_state, int) else 0
        rng = np.random.default_rng(seed)
        pairs = _Pairs(binary(history))
        with torch_threads(int(self.n_threads)):
            items = torch.from_numpy(self.item_factors_)
            offsets = self._item_offsets()
            bias = torch.from_numpy(offsets) if offsets is not None else torch.zeros(len(items))
            vectors = torch.zeros((history.shape[0], items.shape[1]), requires_grad=True)
            optimizer = adam([vectors], float(self.learning_rate))
            for _ in range(self.fold_in_steps if pairs.size else 0):
                u, i, j = (torch.from_numpy(a) for a in pairs.shuffled(rng))
                loss = _pairwise_loss(
                    vectors[u], items[i], items[j], float(self.regularization), bias[i] - bias[j]
                )
                step(optimizer, loss)
        return to_numpy(vectors)


class _Pairs:
    """The (user, item) pairs to learn from, and fresh negatives for them."""

    def __init__(self, matrix: sp.csr_matrix) -> None:
        rows, self.owned = owned_keys(matrix)
        self.n_items = matrix.shape[1]
        # Users who have every item have nothing to rank below their own: skipped.
        keep = np.diff(matrix.indptr)[rows] < self.n_items
        self.users, self.items = rows[keep], matrix.indices[keep].astype(np.int64)
        self.size = int(self.users.size)

    def shuffled(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(users, positives, negatives)`` in a new random order."""
        order = rng.permutation(self.size)
        users, positives = self.users[order], self.items[order]
        return users, positives, uniform_negatives(rng, users, self.owned, self.n_items)


def _embedding(
    n_rows: int, shape: tuple[int, ...], generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    # Drawn on the CPU generator, so that the start does not depend on the device.
    weights = torch.empty((n_rows, *shape)).normal_(0.0, INIT_STD, generator=generator)
    return weights.to(device).requires_grad_(True)


def _pairwise_loss(
    users: torch.Tensor,
    positives: torch.Tensor,
    negatives: torch.Tensor,
    reg: float,
    offsets: torch.Tensor | None = None,
) -> torch.Tensor:
    """``-mean log sigmoid(s_ui - s_uj)`` plus ``reg`` times the batch's squared norms
    (per pair); ``offsets`` are the item biases' differences ``b_i - b_j``."""
    margin = (users * (positives - negatives)).sum(dim=1)
    if offsets is not None:
        margin = margin + offsets
    loss = -F.logsigmoid(margin).mean()
    if reg > 0:
        norms = users.pow(2).sum() + positives.pow(2).sum() + negatives.pow(2).sum()
        loss = loss + reg * norms / users.shape[0]
    return loss


def _dot(users: torch.Tensor, items: torch.Tensor, bias: torch.Tensor, rows: np.ndarray) -> Any:
    with torch.no_grad():
        return to_numpy(users[torch.from_numpy(rows).to(users.device)] @ items.T + bias)
