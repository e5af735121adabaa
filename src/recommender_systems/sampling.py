"""Negative sampling: uniform items a user does not have, shared by the pairwise
models' fold-in and the neural models' training.

Example:
    >>> import numpy as np, scipy.sparse as sp
    >>> history = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 0, 1]], dtype=np.float32))
    >>> rows, owned = owned_keys(history)
    >>> drawn = uniform_negatives(np.random.default_rng(0), rows, owned, 4)
    >>> bool(np.all(history[rows, drawn] == 0))
    True
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["owned_keys", "uniform_negatives"]

#: Redraws of colliding samples before giving up (a user owning almost every item).
MAX_REDRAWS = 64


def owned_keys(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, keys)``: the row of each stored entry, and the sorted
    ``row * n_items + item`` keys of every stored entry (what each row owns)."""
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    keys = rows * np.int64(matrix.shape[1]) + matrix.indices
    keys.sort()
    return rows, keys


def uniform_negatives(
    rng: np.random.Generator, rows: np.ndarray, owned: np.ndarray, n_items: int
) -> np.ndarray:
    """One uniform item for each entry of ``rows`` that its row does not own
    (``owned``: sorted ``row * n_items + item`` keys), redrawing collisions.

    A row that owns every item keeps a colliding draw: callers skip such rows.
    """
    drawn = rng.integers(0, n_items, size=rows.size)
    if owned.size == 0:
        return drawn
    for _ in range(MAX_REDRAWS):
        keys = rows * np.int64(n_items) + drawn
        where = np.minimum(np.searchsorted(owned, keys), owned.size - 1)
        clash = np.flatnonzero(owned[where] == keys)
        if clash.size == 0:
            break
        drawn[clash] = rng.integers(0, n_items, size=clash.size)
    return drawn
