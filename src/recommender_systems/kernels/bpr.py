"""One epoch of BPR by SGD: the Rust kernel, or its NumPy/Python reference.

Both follow the contract of ``crates/recsys-kernels/src/bpr.rs`` and draw the same
random numbers: the pairs are visited in blocks of ``BLOCK`` consecutive CSR
positions, the blocks in the order of a keyed permutation, and the negatives
come from counter-based streams (SplitMix64) indexed by pair position, so the
reference replays exactly the (user, positive, negative) triples of a
single-threaded Rust run. Results then differ only by float32 rounding (the
kernel fuses multiply-adds and sums dot products in another order).

Example:
    >>> import numpy as np, scipy.sparse as sp
    >>> pattern = sp.csr_matrix(np.array([[1, 0, 1], [0, 1, 0]], dtype=np.float32))
    >>> users = np.full((2, 4), 0.1, dtype=np.float32)
    >>> items = np.full((3, 4), 0.1, dtype=np.float32)
    >>> loss, updates, skipped = bpr_epoch(pattern, users, items, None, 0.05, 0.01, seed=3)
    >>> updates, skipped
    (3, 0)
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from recommender_systems.errors import ParameterError
from recommender_systems.kernels import _checks
from recommender_systems.kernels._loader import RUST, extension
from recommender_systems.kernels.selection import csr_arrays

__all__ = ["bpr_epoch", "bpr_epoch_reference", "bpr_triples"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_ROUNDS = 3
_NEGATIVE_STREAM = 8
#: Consecutive pair positions visited together (``BLOCK`` in ``bpr.rs``).
BLOCK = 8
#: Uniform draws tried before drawing directly among the unseen items.
REJECTION_TRIES = 32

EpochResult = tuple[float, int, int]


def bpr_epoch(
    positives: sp.csr_matrix,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    item_bias: np.ndarray | None,
    learning_rate: float,
    reg: float,
    *,
    seed: int,
    n_threads: int = 1,
) -> EpochResult:
    """Runs one epoch in place; returns ``(summed loss, updates, skipped pairs)``.

    ``positives`` is the users x items pattern (values ignored, rows sorted);
    ``user_factors`` / ``item_factors`` are writable C-contiguous float32 arrays
    (and ``item_bias`` a float32 vector or ``None``). ``n_threads=1`` is
    sequential and reproducible; more threads run Hogwild shards.
    """
    indptr, indices = csr_arrays(positives)
    if not RUST:
        _checks.check_threads(n_threads)
        return bpr_epoch_reference(
            indptr, indices, user_factors, item_factors, item_bias, learning_rate, reg, seed
        )
    return extension.bpr_epoch(
        indptr,
        indices,
        user_factors,
        item_factors,
        item_bias,
        learning_rate,
        reg,
        seed,
        n_threads,
    )


def bpr_epoch_reference(
    indptr: np.ndarray,
    indices: np.ndarray,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    item_bias: np.ndarray | None,
    learning_rate: float,
    reg: float,
    seed: int,
) -> EpochResult:
    """Python reference of the Rust ``bpr_epoch`` (one thread): same triples, same update."""
    _check_reference_args(
        user_factors, item_factors, item_bias, learning_rate, reg, seed, indptr, indices
    )
    users, positives, negatives, skipped = bpr_triples(indptr, indices, item_factors.shape[0], seed)
    lr = np.float32(learning_rate)
    decay = np.float32(1.0) - lr * np.float32(reg)
    with_bias = item_bias is not None
    bias: np.ndarray = (
        item_bias if item_bias is not None else np.zeros(item_factors.shape[0], np.float32)
    )
    loss = 0.0
    for u, i, j in zip(users.tolist(), positives.tolist(), negatives.tolist(), strict=True):
        user = user_factors[u].copy()
        diff = item_factors[i] - item_factors[j]
        x = np.float32(user @ diff) + (bias[i] - bias[j])
        z = np.float32(1.0) / (np.float32(1.0) + np.exp(x))
        loss += max(-float(x), 0.0) + math.log1p(math.exp(-abs(float(x))))
        step = lr * z
        item_factors[i] = decay * item_factors[i] + step * user
        item_factors[j] = decay * item_factors[j] - step * user
        user_factors[u] = decay * user + step * diff
        if with_bias:
            bias[i], bias[j] = decay * bias[i] + step, decay * bias[j] - step
    return loss, users.size, skipped


def bpr_triples(
    indptr: np.ndarray, indices: np.ndarray, n_items: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The epoch's (user, positive, negative) triples in visiting order, and the
    number of pairs skipped (their user has seen every item)."""
    nnz = int(indices.size)
    empty = np.empty(0, dtype=np.int64)
    if nnz == 0:
        return empty, empty, empty, 0
    seed_u = np.uint64(seed)
    blocks = _permutation(-(-nnz // BLOCK), seed_u)
    order = (blocks[:, None] * BLOCK + np.arange(BLOCK)).ravel()
    order = order[order < nnz]
    row_of = np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
    users = row_of[order]
    positives = indices[order].astype(np.int64)
    row_len = np.diff(indptr)[users]
    usable = row_len < n_items
    negatives = _negatives(
        indptr,
        indices,
        n_items,
        users[usable],
        _draw(_subkey(seed_u, _NEGATIVE_STREAM), order[usable].astype(np.uint64)),
    )
    return users[usable], positives[usable], negatives, int((~usable).sum())


def _negatives(
    indptr: np.ndarray, indices: np.ndarray, n_items: int, users: np.ndarray, values: np.ndarray
) -> np.ndarray:
    # (user, item) keys of the pattern, sorted: rows are sorted and in row order.
    seen_keys = np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
    seen_keys = seen_keys * n_items + indices
    out = np.full(users.size, -1, dtype=np.int64)
    todo = np.arange(users.size)
    for _ in range(REJECTION_TRIES):
        if todo.size == 0:
            break
        item = _below(values[todo], n_items)
        found = ~_contains(seen_keys, users[todo] * n_items + item)
        out[todo[found]] = item[found]
        todo = todo[~found]
        values[todo] = _next(values[todo])
    # Still rejected (users who have seen most of the catalogue): the r-th unseen
    # item is r + t, with t the seen items s_j whose s_j - j (unseen items below
    # s_j) is at most r.
    for t in todo.tolist():
        row = indices[indptr[users[t]] : indptr[users[t] + 1]].astype(np.int64)
        r = int(_below(values[t : t + 1], n_items - row.size)[0])
        out[t] = r + int(np.searchsorted(row - np.arange(row.size), r, side="right"))
    return out


def _contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    pos = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return np.asarray(sorted_keys[pos] == keys)


def _mix64(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def _draw(key: np.uint64, index: np.ndarray) -> np.ndarray:
    return _mix64(key + index * _GOLDEN)


def _next(previous: np.ndarray) -> np.ndarray:
    return _mix64(previous + _GOLDEN)


def _subkey(seed: np.uint64, stream: int) -> np.uint64:
    return np.uint64(_draw(seed, np.array([stream + 1], dtype=np.uint64))[0])


def _below(values: np.ndarray, n: int) -> np.ndarray:
    return ((values >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32)


def _permutation(n: int, seed: np.uint64) -> np.ndarray:
    """The keyed permutation of ``0..n`` (see ``Permutation`` in ``rng.rs``)."""
    bits = (n - 1).bit_length()
    mask = np.uint64((1 << bits) - 1)
    shift = np.uint64(bits // 2 + 1)
    keys = [_subkey(seed, r) & mask for r in range(_ROUNDS)]
    multipliers = [_subkey(seed, _ROUNDS + r) | np.uint64(1) for r in range(_ROUNDS)]

    def encrypt(x: np.ndarray) -> np.ndarray:
        for key, multiplier in zip(keys, multipliers, strict=True):
            x = ((x ^ key) * multiplier) & mask
            x ^= x >> shift
        return x

    # Cycle walking: repeat the permutation of 0..2**bits until it lands below n.
    y = encrypt(np.arange(n, dtype=np.uint64))
    outside = np.flatnonzero(y >= np.uint64(n))
    while outside.size:
        y[outside] = encrypt(y[outside])
        outside = outside[y[outside] >= np.uint64(n)]
    return y.astype(np.int64)


def _check_reference_args(
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    item_bias: np.ndarray | None,
    learning_rate: float,
    reg: float,
    seed: int,
    indptr: np.ndarray,
    indices: np.ndarray,
) -> None:
    # The rules of the kernel's `check_shapes` and `validate`
    # (crates/recsys-kernels/src/bpr.rs), for the arguments the reference relies
    # on; the CSR arrays come from SciPy.
    _checks.check_factor_matrix(user_factors, "user_factors")
    _checks.check_factor_matrix(item_factors, "item_factors")
    _checks.check_same_columns(item_factors, "item_factors", user_factors, "user_factors")
    _checks.check_rows(user_factors, "user_factors", indptr.size - 1, "one per row of indptr")
    if item_bias is not None:
        bias = _checks.check_factor_matrix(item_bias, "item_bias", ndim=1)
        _checks.check_length(bias, "item_bias", item_factors.shape[0])
        _checks.check_finite(bias, "item_bias")
    _checks.check_finite(user_factors, "user_factors")
    _checks.check_finite(item_factors, "item_factors")
    _checks.check_non_negative_number(float(learning_rate), "learning_rate")
    _checks.check_non_negative_number(float(reg), "reg")
    is_int = isinstance(seed, int | np.integer) and not isinstance(seed, bool)
    if not (is_int and 0 <= seed < 2**64):
        raise ParameterError(f"seed: expected an integer in [0, 2**64), received {seed!r}")
    _check_sorted_rows(indptr, indices)


def _check_sorted_rows(indptr: np.ndarray, indices: np.ndarray) -> None:
    # Negatives are drawn by searching each sorted row.
    within_row = np.ones(max(indices.size - 1, 0), dtype=bool)
    starts = indptr[1:-1]
    within_row[starts[(starts > 0) & (starts < indices.size)] - 1] = False
    bad = np.flatnonzero(within_row & (np.diff(indices) <= 0))
    if bad.size:
        raise ParameterError(
            "indices: expected strictly increasing column indices within each row (sorted, "
            f"no duplicates), received {indices[bad[0]]} then {indices[bad[0] + 1]}"
        )
