"""Approximate nearest-neighbour search with USearch: the ``ann`` extra.

Install with ``pip install 'recommender-systems[ann]'``; importing this module
without it raises :class:`ImportError` saying so. The core never imports it:
:class:`~recommender_systems.item_index.ItemIndex` does, when an index is built
or first searched. Why USearch (over faiss and hnswlib) is in
``docs/decisions/0009-approximate-nearest-neighbours.md``.

Everything else a model needs is here too: :func:`ensure_index`, which a server
calls on each model it loads (``recsys serve --ann``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    import usearch
    from usearch.index import Index
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "approximate nearest-neighbour search needs the 'ann' extra: "
        f"pip install 'recommender-systems[ann]' ({exc})"
    ) from None

__all__ = ["LIBRARY", "Index", "build", "ensure_index", "restore", "search", "serialise", "size"]

#: The library and version that builds indexes (recorded in each index).
LIBRARY = f"usearch {usearch.__version__}"

#: How vectors are stored in the graph. Not half precision (USearch's default):
#: its 8-bit mantissa cannot tell apart items whose cosines differ in the third
#: digit, which factor models produce (measured: recall@10 0.64 at any search
#: width on such items, against 1.0 in float32).
STORED_AS = "f32"


def build(vectors: np.ndarray, *, connectivity: int, expansion_add: int, n_threads: int) -> Index:
    """An HNSW graph over the rows of ``vectors`` (float32), keyed by row index."""
    index = Index(
        ndim=vectors.shape[1],
        metric="ip",
        dtype=STORED_AS,
        connectivity=connectivity,
        expansion_add=expansion_add,
    )
    if len(vectors):
        index.add(np.arange(len(vectors), dtype=np.uint64), vectors, threads=n_threads)
    return index


def serialise(index: Index) -> np.ndarray:
    """The index's own bytes (USearch's file format), as a ``uint8`` array."""
    data = index.save()
    if data is None:  # only when saving to a path
        raise RuntimeError("usearch: Index.save() returned no bytes")
    return np.frombuffer(data, dtype=np.uint8)


def restore(blob: np.ndarray) -> Index:
    """The index stored in ``blob``, viewing its bytes (no copy; read-only)."""
    from recommender_systems.errors import ModelFileError

    try:
        # The view keeps a reference to the buffer; the ItemIndex holds the array too.
        index = Index.restore(np.ascontiguousarray(blob, dtype=np.uint8).data, view=True)
    except (ValueError, RuntimeError) as exc:
        raise ModelFileError(
            f"approximate index: the stored bytes are not an index ({exc})"
        ) from None
    if index is None:
        raise ModelFileError("approximate index: the stored bytes hold no index")
    return index


def size(index: Index) -> tuple[int, int]:
    """``(number of vectors, dimensions)`` of ``index``."""
    return len(index), int(index.ndim)


def search(
    index: Index, queries: np.ndarray, k: int, *, expansion: int, exact: bool, n_threads: int
) -> np.ndarray:
    """Keys of about the ``k`` best matches of each query, ``(len(queries), k)`` int64,
    -1 where fewer were found."""
    out = np.full((len(queries), k), -1, dtype=np.int64)
    if not len(queries) or not len(index) or k <= 0:
        return out
    index.expansion_search = expansion  # type: ignore[misc]  # the stubs miss the setter
    matches = index.search(queries, k, threads=n_threads, exact=exact)
    keys = np.asarray(matches.keys).reshape(len(queries), -1)[:, :k].astype(np.int64)
    # One query gives a Matches (its keys are all found), several a BatchMatches.
    counts = np.asarray(getattr(matches, "counts", keys.shape[1])).reshape(-1)
    found = np.arange(keys.shape[1])[None, :] < counts[:, None]
    out[:, : keys.shape[1]] = np.where(found, keys, -1)
    return out


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
