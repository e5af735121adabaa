"""Neighbourhood models: ItemKNN, UserKNN and RP3beta.

Each keeps, for every item (or user), its ``n_neighbors`` nearest neighbours, found by the
sparse top-k product kernel (:func:`~recommender_systems.kernels.sparse_topk_product`):
the items x items (users x users) similarity is never materialised, so memory is
``O(n x k)``. Scores sum the similarities of a candidate to the items the user
has, weighted by the interaction values.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [10, 20, 10, 20, 10]})
    >>> ItemKNN(n_neighbors=5).fit(df).recommend(3)
    [20]
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal, cast

import numpy as np
import scipy.sparse as sp

from recommender_systems.base import Recommender
from recommender_systems.errors import ParameterError
from recommender_systems.hyperparameters import (
    Bool,
    Choice,
    Float,
    Int,
    OneOf,
    Range,
    Threads,
    declare,
)
from recommender_systems.interactions import Interactions, require_non_negative
from recommender_systems.kernels import row_product_topk, sparse_topk_product
from recommender_systems.query import TopN
from recommender_systems.registry import register
from recommender_systems.state import Sparse, declare_state
from recommender_systems.values import UsesValues, Values, values_hyperparameter
from recommender_systems.weighting import (
    BM25_B,
    BM25_K1,
    binarize,
    bm25_weight,
    normalize_rows,
    row_norms,
    tfidf_weight,
)

#: The fitted state of the item-item neighbourhood models: each item's neighbours.
ITEM_NEIGHBOURS = Sparse("csr", "float32", ("n_items", "n_items"))

Similarity = Literal["cosine", "bm25", "tfidf", "jaccard"]
SIMILARITIES: tuple[Similarity, ...] = ("cosine", "bm25", "tfidf", "jaccard")


class ItemItemModel(UsesValues, Recommender):
    """A model that scores by ``weights(history) @ similarity_`` with an items x items
    matrix (sparse or dense): row ``j`` says how much having item ``j`` adds to each
    item.

    Subclasses set ``similarity_`` in ``_fit`` (from ``self._fit_weights(matrix)``);
    scoring, fold-in and ``similar_items`` come from here. Training rows and fold-in
    histories (whose weights default to 1) are weighed by the ``values``
    hyperparameter alike. With a sparse ``similarity_``, an item linked to nothing
    in the history has no score (``-inf``): it is not recommended rather than
    ranked by chance.
    """

    similarity_: sp.csr_matrix | np.ndarray

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return self._scores_for_history(self.user_items_[users])

    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        scores = self._weights(history) @ self.similarity_
        return stored_or_never(scores) if sp.issparse(scores) else np.asarray(scores)

    def _top_candidates(
        self,
        users: np.ndarray,
        n: int,
        seen: sp.csr_matrix | None,
        allowed: np.ndarray | None,
    ) -> TopN:
        # With a dense float32 weight matrix (EASE), the rows of the product that
        # _scores computes are ranked as they are summed, never written: the same
        # lists as the default, which ranks _scores.
        similarity = getattr(self, "similarity_", None)
        if (
            isinstance(similarity, np.ndarray)
            and similarity.dtype == np.float32
            and similarity.flags.c_contiguous
        ):
            return row_product_topk(
                self._weights(self.user_items_[users]),
                similarity,
                n,
                exclude=seen,
                allowed=allowed,
                n_threads=self._threads(),
            )
        return super()._top_candidates(users, n, seen, allowed)

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        rows = self.similarity_[items]
        return stored_or_never(rows) if sp.issparse(rows) else np.asarray(rows)


def stored_or_never(matrix: Any) -> np.ndarray:
    """A SciPy sparse score matrix as a dense float32 array with ``-inf`` ("never
    recommend") wherever no value is stored: no evidence is not a score of 0."""
    csr = sp.csr_matrix(matrix)
    out = np.full(csr.shape, -np.inf, dtype=np.float32)
    out[np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr)), csr.indices] = csr.data
    return out


@dataclass(frozen=True)
class ProductOperands:
    """The operands of a neighbour search: the top-k entries of each row of
    ``left @ right``, with the keyword arguments of
    :func:`~recommender_systems.kernels.sparse_topk_product` (norms, measure, shrink).

    Rows of ``left`` are independent: a block of them (see :meth:`rows`) gives
    those rows' neighbours and nothing else, which is how the distributed fit
    splits the search.
    """

    left: sp.csr_matrix
    right: sp.csr_matrix
    options: dict[str, Any]
    #: Whether row ``i`` of ``left`` is row ``i`` of ``right.T`` (never its own neighbour).
    itself: bool = True

    def rows(self, start: int, stop: int) -> ProductOperands:
        """These operands restricted to rows ``start..stop`` of ``left``, other rows
        left empty (so indices, and the diagonal, stay global)."""
        indptr = self.left.indptr
        kept = np.zeros_like(indptr)
        kept[start + 1 : stop + 1] = indptr[start + 1 : stop + 1] - indptr[start]
        kept[stop + 1 :] = kept[stop]
        lo, hi = int(indptr[start]), int(indptr[stop])
        block = sp.csr_matrix(
            (self.left.data[lo:hi], self.left.indices[lo:hi], kept), shape=self.left.shape
        )
        return ProductOperands(block, self.right, self.options, self.itself)

    def top_k(self, k: int, n_threads: int = 0) -> sp.csr_matrix:
        """The ``k`` best entries of each row of ``left @ right``, never the diagonal
        when the rows are compared with themselves."""
        return sparse_topk_product(
            self.left,
            self.right,
            k,
            exclude_diagonal=self.itself,
            n_threads=n_threads,
            **self.options,
        )


def similarity_operands(
    rows: sp.csr_matrix,
    similarity: Similarity,
    *,
    queries: sp.csr_matrix | None = None,
    shrink: float = 0.0,
    bm25_k1: float = BM25_K1,
    bm25_b: float = BM25_B,
) -> ProductOperands:
    """The weighted rows, their transpose and norms that :func:`neighbours` multiplies;
    with ``queries``, the left operand is the queries, weighed with the statistics
    of ``rows``."""
    itself = queries is None
    asked = rows if queries is None else queries
    if similarity == "bm25":
        weighted = bm25_weight(rows, bm25_k1, bm25_b)
        left = weighted if itself else bm25_weight(asked, bm25_k1, bm25_b, reference=rows)
        return ProductOperands(left, weighted.T.tocsr(), {}, itself)
    if similarity == "jaccard":
        weighted = binarize(rows)
        left = weighted if itself else binarize(asked)
        norms = np.diff(weighted.indptr).astype(np.float32)
        left_norms = norms if itself else np.diff(left.indptr).astype(np.float32)
    else:
        tfidf = similarity == "tfidf"
        weighted = tfidf_weight(rows) if tfidf else rows
        if itself:
            left = weighted
        elif tfidf:
            left = tfidf_weight(asked, reference=rows)
        else:
            left = asked
        norms = row_norms(weighted)
        left_norms = norms if itself else row_norms(left)
    options = {
        "measure": "jaccard" if similarity == "jaccard" else "cosine",
        "row_norms": left_norms,
        "col_norms": norms,
        "shrink": shrink,
    }
    return ProductOperands(left, weighted.T.tocsr(), options, itself)


def strongest_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """The ``k`` largest stored values of each row (ties: the lower column first).

    The top-``k`` neighbours of each row are the first ``k`` of its top-``K`` for
    any ``K >= k``: one neighbour search at the largest count serves every smaller
    one (the tuner's sweep over ``n_neighbors``).
    """
    csr = sp.csr_matrix(matrix)
    counts = np.diff(csr.indptr)
    rows = np.repeat(np.arange(csr.shape[0]), counts)
    order = np.lexsort((csr.indices, -csr.data, rows))
    rank = np.arange(csr.nnz) - csr.indptr[rows[order]]
    keep = np.sort(order[rank < k])
    indptr = np.concatenate([[0], np.cumsum(np.minimum(counts, k))]).astype(csr.indptr.dtype)
    return sp.csr_matrix((csr.data[keep], csr.indices[keep], indptr), shape=csr.shape)


class NeighbourSweep:
    """What ItemKNN and RP3beta share to sweep ``n_neighbors``: fit once at the
    largest count without normalising, then cut each item's neighbours."""

    #: The hyperparameters :meth:`_sweep` fits along for about the cost of one fit.
    sweeps: ClassVar[tuple[str, ...]] = ("n_neighbors",)
    normalize: bool
    similarity_: sp.csr_matrix | np.ndarray

    def _sweep(
        self, data: Interactions, name: str, values: Sequence[Any]
    ) -> Iterator[tuple[Any, Recommender]]:
        """This model fitted on ``data`` for each neighbour count in ``values``."""
        if name not in self.sweeps:
            raise ValueError(f"{type(self).__name__} sweeps {self.sweeps}, not {name!r}")
        model = cast(Recommender, self)
        widest = model.clone().set_params(n_neighbors=int(max(values)), normalize=False)
        widest.fit(data)
        for k in values:
            view = copy.copy(widest)
            sims = strongest_per_row(cast(Any, widest).similarity_, int(k))
            view.set_params(n_neighbors=int(k), normalize=bool(self.normalize))
            cast(Any, view).similarity_ = normalize_rows(sims, "l1") if self.normalize else sims
            yield k, view


def neighbours(
    rows: sp.csr_matrix,
    n_neighbors: int,
    similarity: Similarity,
    *,
    queries: sp.csr_matrix | None = None,
    shrink: float = 0.0,
    bm25_k1: float = BM25_K1,
    bm25_b: float = BM25_B,
    n_threads: int = 0,
) -> sp.csr_matrix:
    """The ``n_neighbors`` most similar other rows of each row of ``rows`` (a CSR whose rows are
    the entities compared, whose columns are what they are described by).

    - ``"cosine"``: ``x . y / (|x| |y| + shrink)`` on the raw values;
    - ``"tfidf"``: the same on TF-IDF weighted values;
    - ``"bm25"``: ``x . y`` on BM25 weighted values (not normalised; no shrink);
    - ``"jaccard"``: ``|x & y| / (|x | y| + shrink)`` on the sets of non-zeros.

    Returns an ``n x n`` float32 CSR with at most ``n_neighbors`` entries per row, never the
    row itself, never an exact zero. With ``queries`` (new rows over the same columns),
    returns instead each query's ``n_neighbors`` most similar rows of ``rows``
    (``len(queries) x n``), the queries weighed with the statistics of ``rows``.
    """
    operands = similarity_operands(
        rows, similarity, queries=queries, shrink=shrink, bm25_k1=bm25_k1, bm25_b=bm25_b
    )
    return operands.top_k(n_neighbors, n_threads)


def _neighbour_count(default: int) -> Int:
    return Int(
        default=default,
        low=1,
        doc="neighbours kept per item (or user)",
        tune=Range(10, 1000, log=True),
        formerly=("k",),
    )


class KNNModel(UsesValues, Recommender):
    """What ItemKNN and UserKNN share: the hyperparameters ``n_neighbors``,
    ``similarity``, ``shrink``, ``bm25_k1``, ``bm25_b``, ``values``, ``n_threads``,
    and the neighbour search."""

    hyperparameters = declare(
        n_neighbors=_neighbour_count(200),
        similarity=Choice(
            default="bm25",
            options=SIMILARITIES,
            doc="how rows are compared (see neighbours())",
            tune=OneOf(*SIMILARITIES),
        ),
        shrink=Float(
            default=0.0,
            low=0.0,
            doc="added to the denominator of normalised similarities (not with bm25)",
            tune=Range(0.0, 100.0, when={"similarity": ("cosine", "tfidf", "jaccard")}),
        ),
        bm25_k1=Float(
            default=BM25_K1,
            low=0.0,
            doc="BM25 term-frequency saturation",
            tune=Range(0.2, 3.0, when={"similarity": ("bm25",)}),
        ),
        bm25_b=Float(
            default=BM25_B,
            low=0.0,
            high=1.0,
            doc="BM25 length normalisation",
            tune=Range(0.0, 1.0, when={"similarity": ("bm25",)}),
        ),
        values=values_hyperparameter("log"),
        n_threads=Threads(),
    )

    n_neighbors: int
    similarity: Similarity
    shrink: float
    bm25_k1: float
    bm25_b: float
    n_threads: int

    def _check_params(self) -> None:
        if self.similarity == "bm25" and self.shrink != 0:
            raise ParameterError(
                "shrink: applies to the normalised similarities (cosine, tfidf, jaccard); "
                f"with similarity='bm25' expected 0, received {self.shrink!r}"
            )

    def _operands(
        self, rows: sp.csr_matrix, queries: sp.csr_matrix | None = None
    ) -> ProductOperands:
        """:func:`similarity_operands` of ``rows`` (or of ``queries`` among ``rows``)
        with the model's hyperparameters."""
        if self.similarity == "bm25":
            for operand in (rows, queries):
                if operand is not None:
                    require_non_negative(
                        operand.data,
                        f"{type(self).__name__}(similarity='bm25')",
                        "BM25 weighs counts; use similarity='cosine' for signed ratings",
                    )
        return similarity_operands(
            rows,
            self.similarity,
            queries=queries,
            shrink=float(self.shrink),
            bm25_k1=float(self.bm25_k1),
            bm25_b=float(self.bm25_b),
        )

    def _neighbours(
        self, rows: sp.csr_matrix, queries: sp.csr_matrix | None = None
    ) -> sp.csr_matrix:
        """:func:`neighbours` of ``rows`` (or of ``queries`` among ``rows``) with the
        model's hyperparameters."""
        return self._operands(rows, queries).top_k(int(self.n_neighbors), int(self.n_threads))


@register("item-knn", family="neighborhood", summary="Item-item k-nearest neighbours")
class ItemKNN(NeighbourSweep, ItemItemModel, KNNModel):
    """Item-based k-nearest neighbours: an item scores the sum of its similarities
    to the items the user has, weighted by the user's values (ratings, counts).

    Items are compared by the users who have them (see :func:`neighbours` for the
    similarities); ``shrink`` makes pairs with little support count less. With
    ``normalize``, each item's neighbour similarities sum to 1, so that every item
    a user has casts one vote (better rankings on MovieLens). The hyperparameters
    are listed in :attr:`hyperparameters`.

    The defaults were chosen on validation splits carved out of MovieLens 100k's
    training data (see ``benchmarks/results/neighborhood-tuning.md``).

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [7, 8, 7, 8, 7]})
        >>> model = ItemKNN().fit(df)
        >>> model.similar_items(7), model.recommend_from_history([8])
        ([8], [7])
    """

    hyperparameters = declare(
        KNNModel.hyperparameters,
        normalize=Bool(
            default=True,
            doc="scale each item's neighbour similarities to sum to 1",
            tune=OneOf(True, False),
        ),
        values=values_hyperparameter("auto"),
    )
    state = declare_state(Recommender.state, UsesValues.state, similarity_=ITEM_NEIGHBOURS)

    def __init__(
        self,
        n_neighbors: int = 200,
        similarity: Similarity = "bm25",
        shrink: float = 0.0,
        normalize: bool = True,
        bm25_k1: float = BM25_K1,
        bm25_b: float = BM25_B,
        values: Values = "auto",
        n_threads: int = 0,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.similarity = similarity
        self.shrink = shrink
        self.normalize = normalize
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.values = values
        self.n_threads = n_threads

    def _fit(self, data: Interactions) -> None:
        # Items are described by their (weighted) users.
        weights = self._fit_weights(data.matrix)
        self._set_similarity(self._neighbours(weights.T.tocsr()))

    def _set_similarity(self, neighbours: sp.csr_matrix) -> None:
        """Keeps the neighbour lists, scaled as ``normalize`` asks."""
        self.similarity_ = normalize_rows(neighbours, "l1") if self.normalize else neighbours


@register("user-knn", family="neighborhood", summary="User-user k-nearest neighbours")
class UserKNN(KNNModel):
    """User-based k-nearest neighbours: an item scores the similarity-weighted sum of
    the values the user's ``n_neighbors`` most similar users gave it.

    Neighbours are found row by row with the sparse top-k kernel, so the
    users x users similarity is never materialised. Hyperparameters as for
    :class:`ItemKNN` (users are compared by their items), without ``normalize``.

    Fold-in compares a new user's history with every training user, the same way,
    and scores by the ``n_neighbors`` most similar. ``similar_items`` ranks items by
    the cosine of their columns in the training matrix (the users who have them).

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [7, 8, 7, 9, 7]})
        >>> UserKNN(n_neighbors=2).fit(df).recommend(1)
        [9]
    """

    hyperparameters = declare(
        KNNModel.hyperparameters,
        n_neighbors=_neighbour_count(100),
        similarity=replace(KNNModel.hyperparameters["similarity"], default="cosine"),
    )

    def __init__(
        self,
        n_neighbors: int = 100,
        similarity: Similarity = "cosine",
        shrink: float = 0.0,
        bm25_k1: float = BM25_K1,
        bm25_b: float = BM25_B,
        values: Values = "log",
        n_threads: int = 0,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.similarity = similarity
        self.shrink = shrink
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.values = values
        self.n_threads = n_threads

    state = declare_state(
        Recommender.state,
        UsesValues.state,
        neighbours_=Sparse("csr", "float32", ("n_users", "n_users")),
        user_weights_=Sparse("csr", "float32", ("n_users", "n_items")),
    )
    neighbours_: sp.csr_matrix
    #: The training matrix weighed by ``values`` (what neighbours contribute).
    user_weights_: sp.csr_matrix

    def _fit(self, data: Interactions) -> None:
        self.user_weights_ = self._fit_weights(data.matrix)
        self.neighbours_ = self._neighbours(self.user_weights_)  # users described by items

    def _user_weights(self) -> sp.csr_matrix:
        weights = getattr(self, "user_weights_", None)
        # A model file saved before values were weighed has none.
        return self.user_items_ if weights is None else weights

    def _scores(self, users: np.ndarray) -> np.ndarray:
        # Items none of the neighbours has are not recommended (-inf).
        return stored_or_never(self.neighbours_[users] @ self._user_weights())

    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        weights = self._user_weights()
        found = self._neighbours(weights, queries=self._weights(sp.csr_matrix(history)))
        return stored_or_never(found @ weights)

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        columns = self._user_weights().T.tocsr()
        norms = row_norms(columns)
        dots = (columns[items] @ columns.T).toarray()
        scale = np.outer(norms[items], norms)
        # Items no user shares with the query item are not similar at all.
        never = np.full(dots.shape, -np.inf, dtype=np.float32)
        return np.divide(dots, scale, out=never, where=(scale > 0) & (dots != 0))


@register("rp3beta", family="neighborhood", summary="Random-walk item similarity (RP3beta)")
class RP3beta(NeighbourSweep, ItemItemModel):
    """RP3beta (Paudel et al. 2017; Christoffel et al. 2015): the probability of a
    three-step random walk item -> user -> item on the interaction graph, each
    transition probability raised to ``alpha``, divided by the target item's
    popularity to the power ``beta``.

    Interactions are the graph's edges, weighed by ``values`` (default
    ``"binary"``: every edge counts 1); the ``n_neighbors`` best neighbours are
    kept per item. With ``normalize``, each item's neighbour
    weights sum to 1.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [7, 8, 7, 8, 7]})
        >>> RP3beta().fit(df).recommend(3)
        [8]
    """

    former_values = "binary"
    hyperparameters = declare(
        alpha=Float(
            default=0.8,
            low=0.0,
            doc="exponent of each transition probability",
            tune=Range(0.2, 1.5),
        ),
        beta=Float(
            default=0.6,
            low=0.0,
            doc="popularity penalty: similarities are divided by popularity ** beta",
            tune=Range(0.0, 1.0),
        ),
        n_neighbors=_neighbour_count(200),
        normalize=Bool(default=True, doc="scale each item's neighbour weights to sum to 1"),
        values=values_hyperparameter("binary"),
        n_threads=Threads(),
    )
    state = declare_state(Recommender.state, UsesValues.state, similarity_=ITEM_NEIGHBOURS)

    def __init__(
        self,
        alpha: float = 0.8,
        beta: float = 0.6,
        n_neighbors: int = 200,
        normalize: bool = True,
        values: Values = "binary",
        n_threads: int = 0,
    ) -> None:
        self.alpha = alpha
        self.beta = beta
        self.n_neighbors = n_neighbors
        self.normalize = normalize
        self.values = values
        self.n_threads = n_threads

    def _fit(self, data: Interactions) -> None:
        operands = self._walk_operands(data.matrix, self.item_popularity_)
        self._set_similarity(operands.top_k(int(self.n_neighbors), int(self.n_threads)))

    def _walk_operands(
        self, user_items: sp.csr_matrix, item_popularity: np.ndarray
    ) -> ProductOperands:
        """Item -> user and user -> item transition probabilities (the latter with the
        popularity penalty): each item's walk scores are its row of their product."""
        alpha, beta = float(self.alpha), float(self.beta)
        edges = self._fit_weights(user_items)
        require_non_negative(
            edges.data,
            f"RP3beta(values={self.values!r})",
            "a walk's transition probabilities; use values='binary' for signed values",
        )
        user_to_item = normalize_rows(edges, "l1")
        item_to_user = normalize_rows(edges.T.tocsr(), "l1")
        user_to_item.data **= np.float32(alpha)
        item_to_user.data **= np.float32(alpha)
        popularity = np.maximum(item_popularity.astype(np.float64), 1.0)
        penalty = sp.diags((popularity**-beta).astype(np.float32))
        walk = sp.csr_matrix(user_to_item @ penalty, dtype=np.float32)
        return ProductOperands(item_to_user, walk, {})

    def _set_similarity(self, neighbours: sp.csr_matrix) -> None:
        """Keeps the neighbour lists, scaled as ``normalize`` asks."""
        self.similarity_ = normalize_rows(neighbours, "l1") if self.normalize else neighbours
