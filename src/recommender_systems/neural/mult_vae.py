"""MultVAE: the multinomial variational autoencoder for collaborative filtering
(Liang, Krishnan, Hoffman and Jebara 2018, "Variational Autoencoders for
Collaborative Filtering")."""

from __future__ import annotations

import itertools
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from recommender_systems._validation import check_positive_int
from recommender_systems.base import Recommender
from recommender_systems.errors import ParameterError
from recommender_systems.hyperparameters import Choice, Custom, Float, Int, OneOf, Range, declare
from recommender_systems.interactions import Interactions
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
from recommender_systems.state import Stack, declare_state
from recommender_systems.weighting import normalize_rows

__all__ = ["MultVAE"]

#: Standard deviation of the initial biases (the paper's code: Normal(0, 0.001)).
BIAS_STD = 0.001


def _check_anneal_steps(value: Any, name: str) -> int | None:
    return None if value is None else check_positive_int(value, name)


@register(
    "mult-vae",
    family="neural",
    summary="Multinomial variational autoencoder with KL annealing (Liang et al. 2018, PyTorch)",
)
class MultVAE(Recommender):
    """A user's items, as a bag, are encoded into a Gaussian latent vector and decoded
    into a softmax over every item; items are ranked by the decoder's logits.

    The published architecture is the default: the input (which items the user has,
    as 1s, scaled to unit length) passes dropout (``dropout``), a ``tanh`` layer of
    ``hidden_dim`` units and a linear layer to the mean and log-variance of a
    ``latent_dim`` Gaussian; the decoder mirrors it (``latent_dim -> hidden_dim ->
    items``, ``tanh``). Training maximises the multinomial log-likelihood of the
    user's items minus ``beta`` times the KL divergence from the standard normal,
    with Adam on mini-batches of ``batch_size`` users. ``beta`` grows linearly
    from 0 by ``1 / anneal_steps`` per update and stops at ``anneal_cap`` (KL
    annealing). Weights start Xavier-normal, biases Normal(0, 0.001).

    ``anneal_steps=None`` (the default) spreads the annealing over the whole
    training (``epochs`` times the batches per epoch), so ``beta`` reaches 1 at
    the end whatever the data size; the paper's 200,000 updates assumed
    MovieLens 20M (on MovieLens 100k, ``beta`` would never leave 0). The default
    ``anneal_cap=1.0`` lets ``beta`` reach the full evidence lower bound; the
    paper's cap of 0.2 (chosen on MovieLens 20M) holds it at 0.2 from a fifth of
    the training on, and scored about 10% lower on two validation folds of
    MovieLens 100k's training rows (``benchmarks/results/neural_defaults.md``).
    ``kl_weighting="history"`` (the default) weighs each user's KL term by their
    history length over the batch mean, as RecVAE does (Shenbin et al. 2020): the
    log-likelihood sums over a user's items, so with a uniform weight (the paper's,
    ``"uniform"``) the prior pulls light users much harder than heavy ones: on the
    original protocol's 5 splits of MovieLens 100k, NDCG@10 0.435 against 0.414
    (``benchmarks/results/neural_quality.md``).

    A user is described by their history alone: known users are encoded from their
    training items and new users from theirs (fold-in), with no user state;
    ``similar_items`` compares the items' output weights (cosine). Recommending
    runs on NumPy. Early stopping as for
    :class:`~recommender_systems.neural.TwoTowerCF`.

    Example:
        >>> from recommender_systems import generate_interactions
        >>> log = generate_interactions(200, 100, 3_000, random_state=1)
        >>> model = MultVAE(epochs=3, random_state=0).fit(log)
        >>> len(model.recommend(0, n=3)), len(model.recommend_from_history([1, 2], n=3))
        (3, 3)
    """

    hyperparameters = declare(
        hidden_dim=Int(
            default=600, low=1, doc="units of the hidden layers", tune=OneOf(200, 400, 600, 800)
        ),
        latent_dim=Int(
            default=200, low=1, doc="size of the latent Gaussian", tune=OneOf(50, 100, 200, 300)
        ),
        dropout=Float(
            default=0.5,
            low=0.0,
            high=1.0,
            high_open=True,
            doc="share of the input dropped in training",
            tune=Range(0.0, 0.8),
        ),
        epochs=Int(default=200, low=0, doc="passes over the users", tune=Range(50, 400)),
        batch_size=Int(default=500, low=1, doc="users per Adam step", tune=OneOf(100, 250, 500)),
        learning_rate=Float(
            default=1e-3,
            low=0.0,
            low_open=True,
            doc="Adam step size",
            tune=Range(1e-4, 1e-2, log=True),
        ),
        regularization=Float(
            default=0.0,
            low=0.0,
            doc="L2 weight decay of Adam",
            tune=Range(1e-6, 1e-2, log=True),
        ),
        anneal_cap=Float(
            default=1.0, low=0.0, doc="the largest KL weight beta", tune=Range(0.0, 1.0)
        ),
        anneal_steps=Custom(
            default=None,
            checker=_check_anneal_steps,
            accepts="None or an integer >= 1",
            doc="updates over which beta grows to anneal_cap (None: the whole training)",
        ),
        kl_weighting=Choice(
            default="history",
            options=("history", "uniform"),
            doc="each user's KL term weighed by their history length over the batch mean "
            "(RecVAE) or uniformly (the paper)",
        ),
        **TRAINING_HYPERPARAMETERS,
    )

    state = declare_state(
        Recommender.state,
        encoder_weights_=Stack("float32", 2, first=("n_items", None), chained=True),
        encoder_biases_=Stack("float32", 1, widths_of="encoder_weights_"),
        decoder_weights_=Stack("float32", 2, last=(None, "n_items"), chained=True),
        decoder_biases_=Stack("float32", 1, widths_of="decoder_weights_"),
    )

    #: Encoder layers (input first) as ``x @ weight + bias``; the last one gives the
    #: latent mean, then the log-variance.
    encoder_weights_: list[np.ndarray]
    encoder_biases_: list[np.ndarray]
    #: Decoder layers (latent first); the last one gives a logit per item.
    decoder_weights_: list[np.ndarray]
    decoder_biases_: list[np.ndarray]

    def __init__(
        self,
        hidden_dim: int = 600,
        latent_dim: int = 200,
        dropout: float = 0.5,
        epochs: int = 200,
        batch_size: int = 500,
        learning_rate: float = 1e-3,
        regularization: float = 0.0,
        anneal_cap: float = 1.0,
        anneal_steps: int | None = None,
        random_state: int | np.random.Generator | None = None,
        device: str = "auto",
        n_threads: int = 0,
        validation_fraction: float = 0.0,
        patience: int = 5,
        kl_weighting: Literal["history", "uniform"] = "history",
    ) -> None:
        self.hidden_dim = hidden_dim
        self.latent_dim = latent_dim
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.anneal_cap = anneal_cap
        self.anneal_steps = anneal_steps
        self.random_state = random_state
        self.device = device
        self.n_threads = n_threads
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.kl_weighting = kl_weighting

    # ------------------------------------------------------------------ fitting
    def _fit(self, data: Interactions) -> None:
        rng, device, train, validation = prepare(
            self.random_state, self.device, float(self.validation_fraction), data.matrix
        )
        active = np.flatnonzero(np.diff(train.indptr) > 0)
        size = int(self.batch_size)
        batches = -(-active.size // size)
        total_steps = self.anneal_steps or max(1, int(self.epochs) * batches)
        with torch_threads(int(self.n_threads)):
            generator = torch_generator(rng, torch.device("cpu"))
            dims = [data.n_items, int(self.hidden_dim), int(self.latent_dim)]
            weights = _layers(dims, generator, device, last_out=2 * dims[-1])
            weights |= _layers(dims[::-1], generator, device, prefix="decoder")
            noise = torch_generator(rng, device)
            optimizer = adam(
                list(weights.values()), float(self.learning_rate), float(self.regularization)
            )
            stopper = None
            if validation is not None:
                stopper = EarlyStopping(train, validation, int(self.patience))
            updates = 0
            for epoch in self._epochs(int(self.epochs), "MultVAE"):
                order = active[rng.permutation(active.size)]
                total = torch.zeros((), device=device)
                for start in range(0, order.size, size):
                    batch = _Batch(train[order[start : start + size]], device)
                    beta = min(float(self.anneal_cap), updates / total_steps)
                    loss = self._loss(weights, batch, beta, noise)
                    step(optimizer, loss)
                    updates += 1
                    total += loss.detach() * batch.size
                epoch.loss = float(total) / max(active.size, 1)
                if not np.isfinite(epoch.loss):
                    raise ParameterError(
                        "learning_rate: expected a value small enough for training to "
                        f"converge, received {self.learning_rate} (the loss became {epoch.loss})"
                    )
                if stopper is not None:
                    self._keep(weights)
                    stopper.update(
                        epoch.number, lambda u: self._scores_for_history(train[u]), weights
                    )
                    if stopper.should_stop():
                        break
            if stopper is not None and stopper.best_state is not None:
                weights = stopper.best_state
        self._keep(weights)

    def _loss(
        self,
        weights: dict[str, torch.Tensor],
        batch: _Batch,
        beta: float,
        noise: torch.Generator,
    ) -> torch.Tensor:
        """Negative ELBO of a batch of users: multinomial likelihood plus beta * KL.

        The input stays sparse: its dropout and the first layer touch only the items
        the users have (a zero input is zero after dropout and scaling)."""
        values = batch.unit_values
        rate = float(self.dropout)
        if rate > 0:
            keep = torch.rand(values.shape, generator=noise, device=values.device) >= rate
            values = values * keep / (1.0 - rate)
        x = torch.sparse.mm(batch.sparse(values), weights["encoder.w0"]) + weights["encoder.b0"]
        n_layers = sum(1 for name in weights if name.startswith("encoder.w"))
        for layer in range(1, n_layers):
            x = torch.tanh(x) @ weights[f"encoder.w{layer}"] + weights[f"encoder.b{layer}"]
        mean, log_var = x.chunk(2, dim=1)
        std = torch.exp(0.5 * log_var)
        z = mean + std * torch.randn(std.shape, generator=noise, device=std.device)
        n_layers = sum(1 for name in weights if name.startswith("decoder.w"))
        for layer in range(n_layers):
            z = z @ weights[f"decoder.w{layer}"] + weights[f"decoder.b{layer}"]
            if layer < n_layers - 1:
                z = torch.tanh(z)
        # Every stored item is a 1: the log-likelihood sums log softmax over the user's items.
        likelihood = F.log_softmax(z, dim=1)[batch.rows, batch.cols].sum() / batch.size
        kl = -0.5 * (1 + log_var - mean.pow(2) - log_var.exp()).sum(dim=1)
        if self.kl_weighting == "history":
            # A user's log-likelihood sums over their items, so its weight against
            # the KL term grows with the history; weighing the KL alike keeps the
            # balance the same for every user (Shenbin et al. 2020, RecVAE).
            lengths = torch.bincount(batch.rows, minlength=batch.size).to(kl.dtype)
            kl = kl * lengths / lengths.mean()
        return -likelihood + beta * kl.mean()

    def _keep(self, weights: dict[str, torch.Tensor]) -> None:
        """The weights as NumPy arrays, in the fitted state."""

        def side(prefix: str, kind: str) -> list[np.ndarray]:
            names = sorted(
                (n for n in weights if n.startswith(f"{prefix}.{kind}")),
                key=lambda n: int(n.rsplit(kind, 1)[1]),
            )
            return [to_numpy(weights[n]) for n in names]

        self.encoder_weights_ = side("encoder", "w")
        self.encoder_biases_ = side("encoder", "b")
        self.decoder_weights_ = side("decoder", "w")
        self.decoder_biases_ = side("decoder", "b")

    # -------------------------------------------------------------- recommending
    def _scores(self, users: np.ndarray) -> np.ndarray:
        return self._scores_for_history(self.user_items_[users])

    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        """The decoder's logits for the latent mean of each history (no sampling)."""
        x: Any = normalize_rows(binary(history), "l2")
        for layer, (w, b) in enumerate(
            zip(self.encoder_weights_, self.encoder_biases_, strict=True)
        ):
            x = np.asarray(x @ w) + b
            if layer < len(self.encoder_weights_) - 1:
                x = np.tanh(x)
        z = x[:, : x.shape[1] // 2]
        for layer, (w, b) in enumerate(
            zip(self.decoder_weights_, self.decoder_biases_, strict=True)
        ):
            z = z @ w + b
            if layer < len(self.decoder_weights_) - 1:
                z = np.tanh(z)
        return z

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        vectors = self.decoder_weights_[-1].T  # one row of output weights per item
        norms = np.linalg.norm(vectors, axis=1)
        unit = vectors / np.where(norms > 0, norms, 1.0)[:, None]
        return unit[items] @ unit.T


class _Batch:
    """A batch of users' items (a CSR of 1s) as PyTorch index tensors on ``device``."""

    def __init__(self, matrix: sp.csr_matrix, device: torch.device) -> None:
        self.size, self.n_items = matrix.shape
        lengths = np.diff(matrix.indptr)
        rows = np.repeat(np.arange(self.size), lengths)
        self.rows = torch.from_numpy(rows).to(device)
        self.cols = torch.from_numpy(matrix.indices.astype(np.int64)).to(device)
        # The input scaled to unit length: each of a user's n items is 1 / sqrt(n).
        unit = (1.0 / np.sqrt(np.maximum(lengths, 1)))[rows].astype(np.float32)
        self.unit_values = torch.from_numpy(unit).to(device)

    def sparse(self, values: torch.Tensor) -> torch.Tensor:
        """The batch as a sparse ``users x items`` tensor holding ``values``."""
        indices = torch.stack([self.rows, self.cols])
        # Built from a valid CSR: the (costly) invariant checks would find nothing.
        return torch.sparse_coo_tensor(
            indices, values, (self.size, self.n_items), check_invariants=False
        )


def _layers(
    dims: list[int],
    generator: torch.Generator,
    device: torch.device,
    *,
    last_out: int | None = None,
    prefix: str = "encoder",
) -> dict[str, torch.Tensor]:
    """Weights ``{prefix}.w{i}`` (Xavier normal) and biases ``{prefix}.b{i}``
    (Normal(0, 0.001)) for layers ``dims[i] -> dims[i + 1]``; the last layer has
    ``last_out`` outputs when given. Drawn on the CPU generator, then moved."""
    out: dict[str, torch.Tensor] = {}
    for i, (n_in, n_out) in enumerate(itertools.pairwise(dims)):
        if last_out is not None and i == len(dims) - 2:
            n_out = last_out
        std = (2.0 / (n_in + n_out)) ** 0.5
        weight = torch.empty((n_in, n_out)).normal_(0.0, std, generator=generator)
        bias = torch.empty(n_out).normal_(0.0, BIAS_STD, generator=generator)
        out[f"{prefix}.w{i}"] = weight.to(device).requires_grad_(True)
        out[f"{prefix}.b{i}"] = bias.to(device).requires_grad_(True)
    return out
