"""Approximate nearest-neighbour search with faiss: the ``ann`` extra.

Install with ``pip install 'recommender-systems[ann]'``; importing this module
without it raises :class:`ImportError` saying so. The core never imports it:
:class:`~recommender_systems.item_index.ItemIndex` does, when an index is built
or first searched. Why faiss's HNSW (over USearch and hnswlib) is in
``docs/decisions/0016-approximate-nearest-neighbours.md``.

:func:`ensure_index` is the hook a server calls on each model it loads
(``recsys serve --ann``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

try:
    import faiss
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "approximate nearest-neighbour search needs the 'ann' extra: "
        f"pip install 'recommender-systems[ann]' ({exc})"
    ) from None

__all__ = ["LIBRARY", "Index", "build", "ensure_index", "restore", "search", "serialise", "size"]

#: The library and version that builds indexes (recorded in each index).
LIBRARY = f"faiss {faiss.__version__}"

#: A faiss index: HNSW over float32 vectors, or flat (brute force) when exact.
Index = Any


def build(
    vectors: np.ndarray, *, connectivity: int, expansion_add: int, exact: bool, n_threads: int
) -> Index:
    """An HNSW graph (or, if ``exact``, a flat index) over the rows of ``vectors``
    (float32), searched by inner product; row ``i`` is item ``i``."""
    dims = vectors.shape[1]
    index: Index
    if exact:
        index = faiss.IndexFlatIP(dims)
    else:
        index = faiss.IndexHNSWFlat(dims, connectivity, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = expansion_add
    _threads(n_threads)
    if len(vectors):
        index.add(vectors)
    return index


def serialise(index: Index) -> np.ndarray:
    """The index's own bytes (faiss's format), as a ``uint8`` array."""
    return np.asarray(faiss.serialize_index(index), dtype=np.uint8)


def restore(blob: np.ndarray) -> Index:
    """The index stored in ``blob`` (read into memory)."""
    from recommender_systems.errors import ModelFileError

    try:
        return faiss.deserialize_index(np.ascontiguousarray(blob, dtype=np.uint8))
    except RuntimeError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "unreadable"
        raise ModelFileError(
            f"approximate index: the stored bytes are not an index ({first})"
        ) from None


def size(index: Index) -> tuple[int, int]:
    """``(number of vectors, dimensions)`` of ``index``."""
    return int(index.ntotal), int(index.d)


def search(
    index: Index, queries: np.ndarray, k: int, *, expansion: int, n_threads: int
) -> np.ndarray:
    """Indices of about the ``k`` best matches of each query, ``(len(queries), k)``
    int64, -1 where fewer were found."""
    if not len(queries) or not index.ntotal or k <= 0:
        return np.full((len(queries), max(k, 0)), -1, dtype=np.int64)
    _threads(n_threads)
    # Per-call parameters: concurrent searches (a server's threads) share no state.
    params = (
        faiss.SearchParametersHNSW(efSearch=expansion)  # type: ignore[attr-defined]  # stubs lag
        if hasattr(index, "hnsw")
        else None
    )
    _, keys = index.search(queries, k, params=params)
    return np.asarray(keys, dtype=np.int64)


def _threads(n_threads: int) -> None:
    """faiss's OpenMP threads for this thread's next calls (0: every core)."""
    faiss.omp_set_num_threads(n_threads or os.cpu_count() or 1)


def ensure_index(model: Any, **options: Any) -> Any:
    """``model``, holding an approximate index: the one saved with it, or one built
    now (with ``options``, see :class:`~recommender_systems.item_index.ItemIndex`).

    The hook a server calls on every model it loads or reloads, so that
    ``recsys serve --ann`` answers approximately whatever the file holds. Raises
    :class:`~recommender_systems.errors.NotSupportedError` for a model without item
    vectors.
    """
    from recommender_systems.errors import NotSupportedError

    build_index = getattr(model, "build_index", None)
    if build_index is None:
        raise NotSupportedError(
            f"--ann: expected a model with item vectors (ALS, BPR, SVD, TwoTowerCF), "
            f"received a {type(model).__name__}"
        )
    if not model.has_index:
        build_index(**options)
    return model
