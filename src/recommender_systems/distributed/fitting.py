"""Distributed fits: the same models as a local ``fit``, trained on blocks by Ray.

- :class:`~recommender_systems.als.ALS`: each half-iteration solves the row blocks
  of one side in parallel Ray tasks with the Rust kernel
  (:func:`~recommender_systems.kernels.als.als_solve`), against the other side's
  factors and their Gram matrix, which are stacked into the object store once per
  half-iteration (one object each, read by every task, copied at most once per node).
  Starting factors are drawn from the same random stream as the local fit, so the
  factors are the same.
- :class:`~recommender_systems.neighborhood.ItemKNN` and
  :class:`~recommender_systems.neighborhood.RP3beta`: the weighted operands of the
  neighbour search are built once and put in the object store; item blocks find
  their neighbour lists in parallel with the sparse top-k kernel.

The result is an ordinary fitted model (it saves, loads, folds in and serves).
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

import numpy as np
import ray
import scipy.sparse as sp

from recommender_systems._validation import check_non_negative_int, check_random_state
from recommender_systems.als import ALS
from recommender_systems.base import Recommender
from recommender_systems.distributed._session import wait_all
from recommender_systems.distributed.data import Blocks, DistributedInteractions
from recommender_systems.errors import DataError, NotSupportedError
from recommender_systems.kernels.als import als_solve, gram
from recommender_systems.matrix_factorization import initial_factors
from recommender_systems.neighborhood import ItemKNN, ProductOperands, RP3beta
from recommender_systems.progress import EpochCallback, Training
from recommender_systems.values import ValueWeights

__all__ = ["SUPPORTED_MODELS", "fit"]

Model = TypeVar("Model", bound=Recommender)

#: The models :func:`fit` trains on a cluster (others: fit them on one machine).
SUPPORTED_MODELS: tuple[type[Recommender], ...] = (ALS, ItemKNN, RP3beta)

#: The scale of ALS's starting factors (as in ``ALS._fit``).
_INITIAL_SCALE = 0.01


def fit(
    model: Model,
    data: DistributedInteractions,
    *,
    threads_per_task: int = 1,
    progress: bool | None = None,
    callback: EpochCallback | None = None,
) -> Model:
    """Fits ``model`` (an :data:`SUPPORTED_MODELS` instance) on ``data`` with Ray and
    returns it, fitted as by ``model.fit`` on the same interactions.

    Each task uses ``threads_per_task`` kernel threads and as many Ray CPUs.
    ``progress`` and ``callback`` work as in ``Recommender.fit``; bars move per
    half-iteration and per block.
    """
    if not isinstance(model, SUPPORTED_MODELS):
        names = ", ".join(cls.__name__ for cls in SUPPORTED_MODELS)
        raise NotSupportedError(
            f"{type(model).__name__} has no distributed fit (supported: {names}); fit it on "
            "one machine with model.fit(data.to_interactions())"
        )
    threads = check_non_negative_int(threads_per_task, "threads_per_task") or 1
    model._validate_params()
    training = Training(progress, callback)
    if isinstance(model, ALS):
        state = _fit_als(model, data, threads, training)
    else:
        neighbours = cast(ItemKNN | RP3beta, model)
        state = _fit_neighbours(neighbours, data, threads, training.progress)
    model._reset()
    vars(model).update(state)
    return model


def _base_state(data: DistributedInteractions, user_items: sp.csr_matrix) -> dict[str, Any]:
    """What ``Recommender.fit`` stores before ``_fit``."""
    return {
        "user_ids_": data.user_ids,
        "item_ids_": data.item_ids,
        "user_items_": user_items,
        "item_popularity_": np.bincount(user_items.indices, minlength=data.n_items).astype(
            np.float32
        ),
    }


# -------------------------------------------------------------------------- ALS
def _fit_als(
    model: ALS, data: DistributedInteractions, threads: int, training: Training
) -> dict[str, Any]:
    # The same settings and random draws as ALS._fit, in the same order.
    solver = _settings(model)
    rng = check_random_state(model.random_state)
    # The model keeps the raw matrix (its seen items); the solver sees it weighed by
    # `values`, fitted on all of it as a local fit does, and applied block by block.
    user_items = data.users.gather()
    values = ValueWeights(model.values).fit(user_items)
    totals = ray.put(np.asarray(user_items.sum(axis=1), dtype=np.float64).ravel())
    users = _weighed(values, data.users, None)
    items = _weighed(values, data.item_blocks(), totals)
    k = int(model.n_factors)
    user_factors = _initial_blocks(rng, users, k)
    item_factors = _initial_blocks(rng, items, k)
    solver_ref = ray.put(solver)
    task = _solve_block.options(num_cpus=threads)
    user_reg = [_regularization.remote(solver_ref, b) for b in users.refs]
    item_reg = [_regularization.remote(solver_ref, b) for b in items.refs]
    progress = training.progress
    for _ in training.epochs(int(model.epochs), "ALS (Ray)"):
        # Both half-iterations are submitted before waiting: Ray starts each task
        # as soon as its inputs exist, without a round trip through this process.
        user_factors = _half_step(
            task, users, user_factors, item_factors, user_reg, solver_ref, threads
        )
        item_factors = _half_step(
            task, items, item_factors, user_factors, item_reg, solver_ref, threads
        )
        wait_all(user_factors, "users", progress)
        wait_all(item_factors, "items", progress)
    state = _base_state(data, user_items)
    item_matrix = np.concatenate(ray.get(item_factors))
    state.update(
        values_=values,
        user_factors_=np.concatenate(ray.get(user_factors)),
        item_factors_=item_matrix,
        item_gram_=gram(item_matrix, n_threads=int(model.n_threads)),
        regularization_=solver.regularization_,
        reg_exponent_=solver.reg_exponent_,
        alpha_=solver.alpha_,
    )
    return state


def _weighed(values: ValueWeights, blocks: Blocks, user_totals: Any) -> Blocks:
    """``blocks`` with their values weighed (in tasks); ``user_totals`` (a reference
    to every user's value total) marks item blocks, whose rows are not users."""
    refs = tuple(_weigh_block.remote(values, ref, user_totals) for ref in blocks.refs)
    return Blocks(blocks.bounds, refs, blocks.n_cols)


@ray.remote
def _weigh_block(
    values: ValueWeights, block: sp.csr_matrix, user_totals: np.ndarray | None
) -> sp.csr_matrix:
    if user_totals is None:  # a user block: rows are users
        return values.transform(block)
    # An item block: weigh its transpose, whose rows are users, by their whole totals.
    return sp.csr_matrix(values.transform(block.T.tocsr(), totals=user_totals).T)


def _settings(model: ALS) -> ALS:
    """A copy of ``model`` holding only the fit-time settings ``ALS`` reads while
    solving (``_regularization`` and ``_solver_options`` are the local fit's own)."""
    solver = ALS(**model.get_params())
    solver.regularization_ = float(model.regularization)
    solver.reg_exponent_ = float(model.reg_exponent)
    solver.alpha_ = float(model.alpha)
    return solver


def _initial_blocks(rng: np.random.Generator, blocks: Blocks, k: int) -> list[ray.ObjectRef[Any]]:
    """Starting factors, block by block, from one random stream: the same numbers as
    ``initial_factors(rng, n_rows, k, scale)`` drawn at once."""
    return [
        ray.put(initial_factors(rng, stop - start, k, _INITIAL_SCALE))
        for start, stop in blocks.ranges()
    ]


def _half_step(
    task: Any,
    rows: Blocks,
    factors: list[ray.ObjectRef[Any]],
    fixed: list[ray.ObjectRef[Any]],
    regularization: list[ray.ObjectRef[Any]],
    solver: ray.ObjectRef[Any],
    threads: int,
) -> list[ray.ObjectRef[Any]]:
    """Submits the solve of every block of ``rows`` against the stacked ``fixed``
    factors; returns the new blocks' references."""
    stacked, fixed_gram = _stack.options(num_returns=2, num_cpus=threads).remote(threads, *fixed)
    new = [
        task.remote(block, current, stacked, fixed_gram, reg, solver, threads)
        for block, current, reg in zip(rows.refs, factors, regularization, strict=True)
    ]
    return new


@ray.remote
def _stack(threads: int, *blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One side's factors in one array, and their Gram matrix."""
    factors = np.concatenate(blocks)
    return factors, gram(factors, n_threads=threads)


@ray.remote
def _regularization(solver: ALS, block: sp.csr_matrix) -> np.ndarray:
    if block.nnz and block.data.min() < 0:
        raise DataError(
            "values: ALS expects interaction strengths >= 0 (confidence 1 + alpha * "
            f"value), received {block.data.min()}"
        )
    return solver._regularization(block)


@ray.remote
def _solve_block(
    block: sp.csr_matrix,
    current: np.ndarray,
    fixed: np.ndarray,
    fixed_gram: np.ndarray,
    regularization: np.ndarray,
    solver: ALS,
    threads: int,
) -> np.ndarray:
    """A block's new factors (warm-started from ``current``; inputs are not changed,
    so a retried task computes the same result)."""
    factors = np.array(current, dtype=np.float32, order="C")  # object-store arrays are read-only
    options = solver._solver_options(threads)
    als_solve(
        block, fixed, factors, regularization, alpha=solver.alpha_, gram=fixed_gram, **options
    )
    return factors


# ------------------------------------------------------------ ItemKNN, RP3beta
def _fit_neighbours(
    model: ItemKNN | RP3beta, data: DistributedInteractions, threads: int, progress: bool
) -> dict[str, Any]:
    items = data.item_blocks()
    state = _base_state(data, data.users.gather())
    if isinstance(model, ItemKNN):
        operands, values = _item_operands.options(num_returns=2).remote(model, *items.refs)
    else:
        operands, values = _walk_operands.options(num_returns=2).remote(
            model, state["item_popularity_"], *data.users.refs
        )
    k = int(model.n_neighbors)
    task = _neighbour_block.options(num_cpus=threads)
    refs = [task.remote(operands, start, stop, k, threads) for start, stop in items.ranges()]
    wait_all(refs, "item neighbours", progress)
    neighbours = sp.csr_matrix(sp.vstack(ray.get(refs), format="csr"), dtype=np.float32)
    scratch = type(model)(**model.get_params())  # the model itself changes only at the end
    scratch._set_similarity(neighbours)
    state["similarity_"] = scratch.similarity_
    state["values_"] = ray.get(values)
    return state


@ray.remote
def _item_operands(
    model: ItemKNN, *item_blocks: sp.csr_matrix
) -> tuple[ProductOperands, ValueWeights]:
    """ItemKNN's weighted items x users matrix and its transpose (global weights), and
    the value weights fitted on all of it, as a local fit fits them."""
    user_items = sp.vstack(item_blocks, format="csr").T.tocsr()
    weighted = model._fit_weights(user_items)
    return model._operands(weighted.T.tocsr()), model.values_


@ray.remote
def _walk_operands(
    model: RP3beta, item_popularity: np.ndarray, *user_blocks: sp.csr_matrix
) -> tuple[ProductOperands, ValueWeights]:
    """RP3beta's transition matrices (global normalisation), and its value weights."""
    operands = model._walk_operands(sp.vstack(user_blocks, format="csr"), item_popularity)
    return operands, model.values_


@ray.remote
def _neighbour_block(
    operands: ProductOperands, start: int, stop: int, k: int, threads: int
) -> sp.csr_matrix:
    """The neighbour lists of items ``start:stop``."""
    return operands.rows(start, stop).top_k(k, threads)[start:stop]
