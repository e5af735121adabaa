"""What the PyTorch models share: device and threads, seeds, the validation split
carved from the training rows, and early stopping on it.

Everything random comes from the model's ``random_state`` through one NumPy
generator, which seeds a local :class:`torch.Generator` for PyTorch: training
never touches PyTorch's global random state, and on CPU the same seed (and the
same ``n_threads``) gives the same model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from recommender_systems import metrics
from recommender_systems._validation import check_random_state
from recommender_systems.errors import ParameterError
from recommender_systems.hyperparameters import Custom, Float, Hyperparameter, Int, Seed, Threads
from recommender_systems.kernels import topk

__all__ = [
    "TRAINING_HYPERPARAMETERS",
    "EarlyStopping",
    "adam",
    "binary",
    "prepare",
    "resolve_device",
    "step",
    "torch_generator",
    "torch_threads",
    "validation_split",
]

#: The ranking cut-off early stopping watches (NDCG@k on the validation rows).
VALIDATION_K = 10


def _check_device(value: Any, name: str) -> str:
    if isinstance(value, str) and (
        value in ("auto", "cpu", "cuda")
        or (value.startswith("cuda:") and value[5:].isdigit())
        or value == "mps"
    ):
        return value
    raise ParameterError(
        f"{name}: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', received {value!r}"
    )


#: Hyperparameters every PyTorch model declares (after its own).
TRAINING_HYPERPARAMETERS: Mapping[str, Hyperparameter] = {
    "random_state": Seed(),
    "device": Custom(
        default="auto",
        checker=_check_device,
        accepts="'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'",
        doc="where training runs ('auto': CUDA when available, else CPU)",
    ),
    "n_threads": Threads(doc="CPU threads for PyTorch (0: its default, all cores)"),
    "validation_fraction": Float(
        default=0.0,
        low=0.0,
        high=0.5,
        doc="share of the training rows held out to stop early (0: no early stopping)",
    ),
    "patience": Int(
        default=5, low=1, doc="epochs without a better validation NDCG@10 before stopping"
    ),
}


def resolve_device(name: str) -> torch.device:
    """The :class:`torch.device` for a ``device`` hyperparameter value."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError(f"device: expected an available device, received {name!r} (no CUDA)")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ParameterError(f"device: expected an available device, received {name!r} (no MPS)")
    return torch.device(name)


@contextmanager
def torch_threads(n_threads: int) -> Iterator[None]:
    """PyTorch's intra-op threads set to ``n_threads`` (0: unchanged) inside the block."""
    before = torch.get_num_threads()
    if n_threads > 0:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def torch_generator(rng: np.random.Generator, device: torch.device) -> torch.Generator:
    """A PyTorch generator on ``device``, seeded from ``rng``."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int(rng.integers(0, 2**63 - 1)))
    return generator


def adam(
    params: list[torch.Tensor], learning_rate: float, weight_decay: float = 0.0
) -> torch.optim.Adam:
    """Adam over ``params``: the fused implementation where PyTorch has one for the
    device (several times faster per step on small models), else the default."""
    try:
        return torch.optim.Adam(params, lr=learning_rate, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError):  # no fused kernel for this device or version
        return torch.optim.Adam(params, lr=learning_rate, weight_decay=weight_decay)


def step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One optimisation step on ``loss``."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()  # type: ignore[no-untyped-call]  # torch's stubs leave it untyped
    optimizer.step()


def binary(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Every stored interaction as a 1 (float32): the neural models learn from which
    items a user has, not from the values."""
    out = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    out.data[:] = 1.0
    return out


def validation_split(
    matrix: sp.csr_matrix, fraction: float, rng: np.random.Generator
) -> tuple[sp.csr_matrix, sp.csr_matrix | None]:
    """``(train, validation)``: a random ``fraction`` of the stored interactions moved
    to a validation matrix of the same shape (``None`` when ``fraction`` is 0), as
    the original evaluation protocol splits rows."""
    if fraction == 0 or matrix.nnz < 2:
        return matrix, None
    held = np.zeros(matrix.nnz, dtype=bool)
    count = min(matrix.nnz - 1, max(1, round(fraction * matrix.nnz)))
    held[rng.permutation(matrix.nnz)[:count]] = True
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))

    def part(mask: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix(
            (matrix.data[mask], (rows[mask], matrix.indices[mask])), shape=matrix.shape
        )

    return part(~held), part(held)


def prepare(
    random_state: Any, device: str, validation_fraction: float, matrix: sp.csr_matrix
) -> tuple[np.random.Generator, torch.device, sp.csr_matrix, sp.csr_matrix | None]:
    """What every neural fit starts from: ``(rng, device, train, validation)``, the
    seeded generator, the resolved device, and the stored interactions as 1s split
    for early stopping (:func:`validation_split`, drawn from ``rng``)."""
    rng = check_random_state(random_state)
    torch_device = resolve_device(device)
    train, validation = validation_split(binary(matrix), float(validation_fraction), rng)
    return rng, torch_device, train, validation


class EarlyStopping:
    """Watches NDCG@10 on the validation rows after each epoch and remembers the best
    epoch's weights; :meth:`should_stop` after ``patience`` epochs without progress."""

    def __init__(self, train: sp.csr_matrix, validation: sp.csr_matrix, patience: int) -> None:
        self.users = np.flatnonzero(np.diff(validation.indptr) > 0)
        self.seen = train[self.users]
        relevant = validation[self.users].tocoo()
        self.relevant_rows, self.relevant_items = relevant.row, relevant.col
        self.n_relevant = np.diff(validation[self.users].indptr)
        self.patience = patience
        self.best = -np.inf
        self.best_epoch = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.waited = 0

    def ndcg(self, scores: Callable[[np.ndarray], np.ndarray]) -> float:
        """Mean NDCG@10 over the validation users of the model whose scores for
        users at given indices ``scores`` returns."""
        block = np.ascontiguousarray(scores(self.users), dtype=np.float32)
        top, _ = topk(block, VALIDATION_K, self.seen)
        hits = metrics.hit_matrix(top, self.relevant_rows, self.relevant_items)
        return float(metrics.ndcg(hits, self.n_relevant, VALIDATION_K).mean())

    def update(
        self, epoch: int, scores: Callable[[np.ndarray], np.ndarray], state: Mapping[str, Any]
    ) -> float:
        """Scores the epoch; keeps a copy of ``state`` (tensors) if it is the best yet."""
        value = self.ndcg(scores)
        if value > self.best:
            self.best, self.best_epoch, self.waited = value, epoch, 0
            self.best_state = {k: v.detach().clone() for k, v in state.items()}
        else:
            self.waited += 1
        return value

    def should_stop(self) -> bool:
        return self.waited >= self.patience


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A C-contiguous float32 NumPy copy of ``tensor`` (from any device)."""
    return np.ascontiguousarray(tensor.detach().to("cpu", torch.float32).numpy())
