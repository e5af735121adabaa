"""An approximate nearest-neighbour index over item vectors, stored as model state.

:class:`ItemIndex` holds a graph index (faiss's HNSW, through the ``ann``
extra, see :mod:`recommender_systems.ann`) as the library's own serialised
bytes in a ``uint8`` array: a model file saves it like any other array
(checksummed, no pickle), and loading needs neither the training data nor a
rebuild. The library is imported only to build or search the index; a model
file holding an index loads without it.

Search is by inner product. How far each search looks (``expansion_search``)
is calibrated when the index is built: on a sample of the model's own queries,
the smallest setting whose recall@10 against exact search reaches
``target_recall`` is kept, so the trade-off adapts to the vectors at hand.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import scipy.sparse as sp

from recommender_systems._estimator import Estimator
from recommender_systems._validation import check_positive_int
from recommender_systems.approximate import ApproximateSearch
from recommender_systems.errors import ModelFileError
from recommender_systems.hyperparameters import Bool, Custom, Float, Int, declare
from recommender_systems.kernels import topk
from recommender_systems.query import TopN
from recommender_systems.state import Array, Number, Text, declare_state

if TYPE_CHECKING:
    from recommender_systems.ann import Index

__all__ = ["CALIBRATION_QUERIES", "EXPANSIONS", "ItemIndex", "tie_aware_recall"]

#: The search widths tried by calibration, in order; the first that reaches the
#: target recall is kept (the last one if none does).
EXPANSIONS = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
#: Queries sampled for calibration.
CALIBRATION_QUERIES = 500
#: The list length calibration measures recall at.
CALIBRATION_K = 10


def _optional_width(value: Any, name: str) -> int | None:
    return None if value is None else check_positive_int(value, name)


class ItemIndex(Estimator):
    """An HNSW graph over item vectors, searched by inner product.

    Built by ``model.build_index()`` (which passes its keyword arguments here);
    ``fit(vectors, queries)`` builds it directly. Hyperparameters: ``connectivity``
    (graph edges per node: more is slower to build and larger, with better
    recall), ``expansion_add`` (search width while building), ``expansion_search``
    (search width per query; ``None`` calibrates it to ``target_recall``) and
    ``exact`` (brute-force search: exact results, for testing and small
    catalogues). Examples are in the docs' "Approximate search" page (they need
    the ``ann`` extra).
    """

    hyperparameters = declare(
        connectivity=Int(default=16, low=2, high=512, doc="graph edges per item"),
        expansion_add=Int(default=128, low=1, doc="search width while the graph is built"),
        expansion_search=Custom(
            default=None,
            checker=_optional_width,
            accepts="None or an integer >= 1",
            doc="search width per query (None: the smallest that reaches target_recall)",
        ),
        target_recall=Float(
            default=0.95,
            low=0.0,
            high=1.0,
            doc="recall@10 against exact search that calibration aims for",
        ),
        exact=Bool(default=False, doc="brute-force search (exact; slow on large catalogues)"),
    )

    state = declare_state(
        blob_=Array("uint8", (None,)),
        n_vectors_=Number(low=0),
        n_dims_=Number(low=1),
        library_=Text(("faiss ",), prefixes=True),
        expansion_search_=Number(low=1),
        calibration_recall_=Number(low=0),
    )

    blob_: np.ndarray
    n_vectors_: int
    n_dims_: int
    library_: str
    expansion_search_: int
    calibration_recall_: float

    def __init__(
        self,
        connectivity: int = 16,
        expansion_add: int = 128,
        expansion_search: int | None = None,
        target_recall: float = 0.95,
        exact: bool = False,
    ) -> None:
        self.connectivity = connectivity
        self.expansion_add = expansion_add
        self.expansion_search = expansion_search
        self.target_recall = target_recall
        self.exact = exact

    def fit(
        self,
        vectors: np.ndarray,
        queries: np.ndarray,
        *,
        seen: sp.csr_matrix | None = None,
        n_threads: int = 0,
    ) -> Self:
        """Builds the index over the rows of ``vectors`` (float32, one per item) and
        calibrates the search width on the rows of ``queries`` (a sample of the
        vectors it will be searched with), each excluding its row of ``seen``, as
        the query path will."""
        from recommender_systems import ann  # the extra, imported only when needed

        self._validate_params()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = ann.build(
            vectors,
            connectivity=int(self.connectivity),
            expansion_add=int(self.expansion_add),
            exact=bool(self.exact),
            n_threads=n_threads,
        )
        self._reset()
        self.blob_ = ann.serialise(index)
        self.n_vectors_, self.n_dims_ = (int(s) for s in vectors.shape)
        self.library_ = ann.LIBRARY
        self._live: Index | None = index
        self.expansion_search_, self.calibration_recall_ = self._calibrate(
            vectors, np.ascontiguousarray(queries, dtype=np.float32), seen, n_threads
        )
        return self

    def search(self, queries: np.ndarray, k: int, *, n_threads: int = 0) -> np.ndarray:
        """Indices of about the ``k`` vectors with the largest inner product with each
        row of ``queries``, shape ``(len(queries), k)``, -1 where fewer were found."""
        return self._search(queries, k, self.expansion_search_, n_threads)

    def _search(self, queries: np.ndarray, k: int, expansion: int, n_threads: int) -> np.ndarray:
        from recommender_systems import ann

        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.n_dims_:
            raise ValueError(
                f"queries: expected shape (m, {self.n_dims_}), received {queries.shape}"
            )
        return ann.search(
            self._index(),
            queries,
            min(k, self.n_vectors_),
            expansion=max(expansion, k),
            n_threads=n_threads,
        )

    def _index(self) -> Index:
        """The library's index, restored from :attr:`blob_` on first use."""
        from recommender_systems import ann

        live: Index | None = getattr(self, "_live", None)
        if live is None:
            # Two threads may both restore: each gets a valid index; one is kept.
            live = ann.restore(self.blob_)
            if ann.size(live) != (self.n_vectors_, self.n_dims_):
                raise ModelFileError(
                    f"approximate index: expected {self.n_vectors_} vectors of "
                    f"{self.n_dims_} dimensions, the stored index holds "
                    f"{ann.size(live)[0]} of {ann.size(live)[1]}"
                )
            self._live = live
        return live

    def _calibrate(
        self,
        vectors: np.ndarray,
        queries: np.ndarray,
        seen: sp.csr_matrix | None,
        n_threads: int,
    ) -> tuple[int, float]:
        """The search width to use, and the recall@10 the query path reached with it
        on ``queries`` (over-fetch, seen items removed, exact fallback included)."""
        if self.exact or not len(queries):
            return EXPANSIONS[0], 1.0  # exact, or nothing to measure on
        k = min(CALIBRATION_K, self.n_vectors_)
        rows = np.arange(len(queries))

        def exact(r: np.ndarray, n: int, s: sp.csr_matrix | None, a: np.ndarray | None) -> TopN:
            return topk(queries[r] @ vectors.T, n, s, n_threads=n_threads)

        def search_at(width: int) -> Callable[[np.ndarray, int], np.ndarray]:
            return lambda q, n: self._search(q, n, width, n_threads)

        _, truth = exact(rows, k, seen, None)
        recall = 0.0
        # A fixed width is measured too: calibration_recall_ always says what it gives.
        widths = EXPANSIONS if self.expansion_search is None else (int(self.expansion_search),)
        for width in widths:
            step = ApproximateSearch(
                search=search_at(width),
                queries=lambda r: queries[r],
                scores=lambda r, c: np.matmul(vectors[c], queries[r][:, :, None])[:, :, 0],
                exact=exact,
                n_items=self.n_vectors_,
                n_threads=n_threads,
            )
            found, _ = step(rows, k, seen, None)
            recall = tie_aware_recall(found, truth, vectors, queries)
            if recall >= self.target_recall:
                return width, recall
        if self.expansion_search is None:
            warnings.warn(
                f"approximate index: recall@10 {recall:.3f} at the widest search "
                f"({widths[-1]}), below target_recall={self.target_recall}; queries stay "
                "correct (seen and filtered items excluded) but may miss good items; "
                "approximate=False is exact",
                RuntimeWarning,
                stacklevel=4,
            )
        return widths[-1], recall

    def __getstate__(self) -> dict[str, Any]:
        # The live index is rebuilt from blob_ on demand (copies, deep copies).
        state = dict(vars(self))
        state.pop("_live", None)
        return state


def tie_aware_recall(
    found: np.ndarray, truth: np.ndarray, vectors: np.ndarray, queries: np.ndarray
) -> float:
    """Recall of ``found`` (item indices, -1 padded) against the exact top-k scores
    ``truth`` (one row per query, best first, NaN padded).

    A found item counts when its exact score reaches the k-th best score, so an
    item tied with an exact answer is as good as it (factor models give many
    items the same direction: exact search itself picks among them by index).
    """
    scores = np.matmul(vectors[np.maximum(found, 0)], queries[:, :, None])[:, :, 0]
    valid = ~np.isnan(truth)
    # A query with no exact answer at all (every item seen) has nothing to find.
    kth = np.min(np.where(valid, truth, np.inf), axis=1, keepdims=True)
    tolerance = 1e-5 * np.maximum(1.0, np.abs(np.where(np.isfinite(kth), kth, 0.0)))
    hits = (found >= 0) & (scores >= kth - tolerance)
    wanted = np.minimum(hits.shape[1], valid.sum(axis=1))
    return float(np.minimum(hits.sum(axis=1), wanted).sum() / max(1, wanted.sum()))
