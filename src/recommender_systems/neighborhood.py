"""Neighbourhood models: ItemKNN, UserKNN and RP3beta.

Each keeps, for every item (or user), its ``k`` nearest neighbours, found by the
sparse top-k product kernel (:func:`~recommender_systems.kernels.sparse_topk_product`):
the items x items (users x users) similarity is never materialised, so memory is
``O(n x k)``. Scores sum the similarities of a candidate to the items the user
has, weighted by the interaction values.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [10, 20, 10, 20, 10]})
    >>> ItemKNN(k=5).fit(df).recommend(3)
    [20]
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from recommender_systems._validation import (
    check_bool,
    check_choice,
    check_float,
    check_non_negative_float,
    check_non_negative_int,
    check_positive_int,
)
from recommender_systems.base import Recommender
from recommender_systems.errors import ParameterError
from recommender_systems.interactions import Interactions
from recommender_systems.kernels import sparse_topk_product
from recommender_systems.registry import register
from recommender_systems.weighting import (
    BM25_B,
    BM25_K1,
    binarize,
    bm25_weight,
    normalize_rows,
    row_norms,
    tfidf_weight,
)

Similarity = Literal["cosine", "bm25", "tfidf", "jaccard"]
SIMILARITIES: tuple[Similarity, ...] = ("cosine", "bm25", "tfidf", "jaccard")


class ItemItemModel(Recommender):
    """A model that scores by ``history @ similarity_`` with an items x items matrix
    (sparse or dense): row ``j`` says how much having item ``j`` adds to each item.

    Subclasses set ``similarity_`` in ``_fit``; scoring, fold-in and
    ``similar_items`` come from here. ``binary`` models see every interaction of
    a training user as 1; fold-in uses the given weights (default 1). With a
    sparse ``similarity_``, an item linked to nothing in the history has no score
    (``-inf``): it is not recommended rather than ranked by chance.
    """

    binary: bool = False
    similarity_: sp.csr_matrix | np.ndarray

    def _history(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        return binarize(rows) if self.binary else rows

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return self._scores_for_history(self._history(self.user_items_[users]))

    def _scores_for_history(self, history: sp.csr_matrix) -> np.ndarray:
        scores = history @ self.similarity_
        return stored_or_never(scores) if sp.issparse(scores) else np.asarray(scores)

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


def neighbours(
    rows: sp.csr_matrix,
    k: int,
    similarity: Similarity,
    *,
    shrink: float = 0.0,
    bm25_k1: float = BM25_K1,
    bm25_b: float = BM25_B,
    n_threads: int = 0,
) -> sp.csr_matrix:
    """The ``k`` most similar other rows of each row of ``rows`` (a CSR whose rows are
    the entities compared, whose columns are what they are described by).

    - ``"cosine"``: ``x . y / (|x| |y| + shrink)`` on the raw values;
    - ``"tfidf"``: the same on TF-IDF weighted values;
    - ``"bm25"``: ``x . y`` on BM25 weighted values (not normalised; no shrink);
    - ``"jaccard"``: ``|x & y| / (|x | y| + shrink)`` on the sets of non-zeros.

    Returns an ``n x n`` float32 CSR with at most ``k`` entries per row, never the
    row itself, never an exact zero.
    """
    if similarity == "bm25":
        weighted = bm25_weight(rows, bm25_k1, bm25_b)
        return sparse_topk_product(
            weighted, weighted.T.tocsr(), k, exclude_diagonal=True, n_threads=n_threads
        )
    if similarity == "jaccard":
        weighted = binarize(rows)
        norms = np.diff(weighted.indptr).astype(np.float32)
    else:
        weighted = tfidf_weight(rows) if similarity == "tfidf" else rows
        norms = row_norms(weighted)
    return sparse_topk_product(
        weighted,
        weighted.T.tocsr(),
        k,
        measure="jaccard" if similarity == "jaccard" else "cosine",
        row_norms=norms,
        col_norms=norms,
        shrink=shrink,
        exclude_diagonal=True,
        n_threads=n_threads,
    )


class KNNModel(Recommender):
    """What ItemKNN and UserKNN share: the hyperparameters ``k``, ``similarity``,
    ``shrink``, ``bm25_k1``, ``bm25_b``, ``n_threads``, and the neighbour search."""

    k: int
    similarity: Similarity
    shrink: float
    bm25_k1: float
    bm25_b: float
    n_threads: int

    def _neighbours(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        """:func:`neighbours` of ``rows`` with the validated hyperparameters."""
        k = check_positive_int(self.k, "k")
        kind = check_choice(self.similarity, "similarity", SIMILARITIES)
        shrink = check_non_negative_float(self.shrink, "shrink")
        if kind == "bm25" and shrink != 0:
            raise ParameterError(
                "shrink: applies to the normalised similarities (cosine, tfidf, jaccard); "
                f"with similarity='bm25' expected 0, received {self.shrink!r}"
            )
        return neighbours(
            rows,
            k,
            kind,
            shrink=shrink,
            bm25_k1=check_non_negative_float(self.bm25_k1, "bm25_k1"),
            bm25_b=check_float(self.bm25_b, "bm25_b", minimum=0.0, maximum=1.0),
            n_threads=check_non_negative_int(self.n_threads, "n_threads"),
        )


@register("item-knn", family="neighborhood", summary="Item-item k-nearest neighbours")
class ItemKNN(ItemItemModel, KNNModel):
    """Item-based k-nearest neighbours: an item scores the sum of its similarities
    to the items the user has, weighted by the user's values (ratings, counts).

    Args:
        k: neighbours kept per item (``>= 1``).
        similarity: ``"bm25"`` (default), ``"cosine"``, ``"tfidf"`` or ``"jaccard"``;
            see :func:`neighbours`. Items are compared by the users who have them.
        shrink: added to the denominator of the normalised similarities, so that
            pairs with little support count less (not used by ``"bm25"``).
        normalize: scale each item's neighbour similarities to sum to 1, so that
            every item a user has casts one vote (better rankings on MovieLens).
        bm25_k1, bm25_b: the BM25 parameters (the usual 1.2 and 0.75).
        n_threads: threads for the neighbour search (0: all cores).

    The defaults were chosen on validation splits carved out of MovieLens 100k's
    training data (see ``benchmarks/results/neighborhood-tuning.md``).

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [7, 8, 7, 8, 7]})
        >>> model = ItemKNN().fit(df)
        >>> model.similar_items(7), model.recommend_from_history([8])
        ([8], [7])
    """

    def __init__(
        self,
        k: int = 200,
        similarity: Similarity = "bm25",
        shrink: float = 0.0,
        normalize: bool = True,
        bm25_k1: float = BM25_K1,
        bm25_b: float = BM25_B,
        n_threads: int = 0,
    ) -> None:
        self.k = k
        self.similarity = similarity
        self.shrink = shrink
        self.normalize = normalize
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.n_threads = n_threads

    def _fit(self, data: Interactions) -> None:
        normalize = check_bool(self.normalize, "normalize")
        sims = self._neighbours(data.matrix.T.tocsr())  # items described by their users
        self.similarity_ = normalize_rows(sims, "l1") if normalize else sims


@register("user-knn", family="neighborhood", summary="User-user k-nearest neighbours")
class UserKNN(KNNModel):
    """User-based k-nearest neighbours: an item scores the similarity-weighted sum of
    the values the user's ``k`` most similar users gave it.

    Neighbours are found row by row with the sparse top-k kernel, so the
    users x users similarity is never materialised. Arguments as for
    :class:`ItemKNN` (users are compared by their items).

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [7, 8, 7, 9, 7]})
        >>> UserKNN(k=2).fit(df).recommend(1)
        [9]
    """

    def __init__(
        self,
        k: int = 100,
        similarity: Similarity = "cosine",
        shrink: float = 0.0,
        bm25_k1: float = BM25_K1,
        bm25_b: float = BM25_B,
        n_threads: int = 0,
    ) -> None:
        self.k = k
        self.similarity = similarity
        self.shrink = shrink
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.n_threads = n_threads

    neighbours_: sp.csr_matrix

    def _fit(self, data: Interactions) -> None:
        self.neighbours_ = self._neighbours(data.matrix)  # users described by their items

    def _scores(self, users: np.ndarray) -> np.ndarray:
        # Items none of the neighbours has are not recommended (-inf).
        return stored_or_never(self.neighbours_[users] @ self.user_items_)


@register("rp3beta", family="neighborhood", summary="Random-walk item similarity (RP3beta)")
class RP3beta(ItemItemModel):
    """RP3beta (Paudel et al. 2017; Christoffel et al. 2015): the probability of a
    three-step random walk item -> user -> item on the interaction graph, each
    transition probability raised to ``alpha``, divided by the target item's
    popularity to the power ``beta``; the ``k`` best per item are kept.

    Interactions count as edges (every value is 1). With ``normalize``, each
    item's neighbour weights sum to 1.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [7, 8, 7, 8, 7]})
        >>> RP3beta().fit(df).recommend(3)
        [8]
    """

    binary = True

    def __init__(
        self,
        alpha: float = 0.8,
        beta: float = 0.6,
        k: int = 200,
        normalize: bool = True,
        n_threads: int = 0,
    ) -> None:
        self.alpha = alpha
        self.beta = beta
        self.k = k
        self.normalize = normalize
        self.n_threads = n_threads

    def _fit(self, data: Interactions) -> None:
        alpha = check_non_negative_float(self.alpha, "alpha")
        beta = check_non_negative_float(self.beta, "beta")
        k = check_positive_int(self.k, "k")
        normalize = check_bool(self.normalize, "normalize")
        n_threads = check_non_negative_int(self.n_threads, "n_threads")
        edges = self._history(data.matrix)
        user_to_item = normalize_rows(edges, "l1")
        item_to_user = normalize_rows(edges.T.tocsr(), "l1")
        user_to_item.data **= np.float32(alpha)
        item_to_user.data **= np.float32(alpha)
        popularity = np.maximum(self.item_popularity_.astype(np.float64), 1.0)
        penalty = sp.diags((popularity**-beta).astype(np.float32))
        walk = sp.csr_matrix(user_to_item @ penalty, dtype=np.float32)
        sims = sparse_topk_product(
            item_to_user, walk, k, exclude_diagonal=True, n_threads=n_threads
        )
        self.similarity_ = normalize_rows(sims, "l1") if normalize else sims
