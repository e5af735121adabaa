"""Term weighting of sparse "documents x terms" matrices: BM25 and TF-IDF.

Neighbourhood models weight the rows they compare (an item is a document whose
terms are the users who interacted with it), and :func:`~recommender_systems.features.text_features`
weights words in item descriptions; both use these functions.

Example:
    >>> import numpy as np, scipy.sparse as sp
    >>> docs = sp.csr_matrix(np.array([[1, 1], [0, 1]], dtype=np.float32))
    >>> [[round(float(v), 3) for v in row] for row in tfidf_weight(docs).toarray()]
    [[1.405, 1.0], [0.0, 1.0]]
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import scipy.sparse as sp

#: The usual BM25 parameters (Robertson et al.; also Lucene's and implicit's).
BM25_K1 = 1.2
BM25_B = 0.75


def bm25_weight(
    docs: sp.csr_matrix | sp.csr_array,
    k1: float = BM25_K1,
    b: float = BM25_B,
    *,
    reference: sp.csr_matrix | sp.csr_array | None = None,
) -> sp.csr_matrix:
    """Okapi BM25 weights of a documents x terms matrix of counts (float32 CSR).

    ``tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / mean_length)) * idf`` with
    Lucene's ``idf = ln(1 + (n_docs - df + 0.5) / (df + 0.5))``, which stays positive
    even for a term held by every document. ``length`` is the document's sum of
    counts. ``idf`` and ``mean_length`` come from ``reference`` (default: ``docs``
    itself), so new documents can be weighed as the collection they are compared to.
    """
    matrix = sp.csr_matrix(docs, dtype=np.float64, copy=True)
    stats = matrix if reference is None else sp.csr_matrix(reference, dtype=np.float64)
    n_docs = stats.shape[0]
    df = np.bincount(stats.indices, minlength=stats.shape[1])
    idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
    reference_lengths = np.asarray(stats.sum(axis=1)).ravel()
    mean_length = (
        reference_lengths.mean() if reference_lengths.size and reference_lengths.mean() > 0 else 1.0
    )
    lengths = np.asarray(matrix.sum(axis=1)).ravel()
    norm = k1 * (1.0 - b + b * lengths / mean_length)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    tf = matrix.data
    matrix.data = tf * (k1 + 1.0) / (tf + norm[rows]) * idf[matrix.indices]
    return _float32(matrix)


def tfidf_weight(
    docs: sp.csr_matrix | sp.csr_array,
    *,
    smooth: bool = True,
    reference: sp.csr_matrix | sp.csr_array | None = None,
) -> sp.csr_matrix:
    """TF-IDF weights of a documents x terms matrix of counts (float32 CSR).

    ``tf * idf`` with the smooth ``idf = ln((1 + n_docs) / (1 + df)) + 1`` (always
    positive, as in scikit-learn), or ``ln(n_docs / df) + 1`` without ``smooth``;
    rows are not normalised. ``df`` and ``n_docs`` come from ``reference`` (default:
    ``docs`` itself).
    """
    matrix = sp.csr_matrix(docs, dtype=np.float64, copy=True)
    stats = matrix if reference is None else sp.csr_matrix(reference)
    df = np.bincount(stats.indices, minlength=stats.shape[1])
    extra = 1.0 if smooth else 0.0
    # A term no document holds has no stored value to weigh: any finite idf will do.
    idf = np.log((extra + stats.shape[0]) / np.maximum(extra + df, 1.0)) + 1.0
    matrix.data = matrix.data * idf[matrix.indices]
    return _float32(matrix)


def binarize(matrix: sp.csr_matrix | sp.csr_array) -> sp.csr_matrix:
    """``matrix``'s pattern with every stored value set to 1 (float32)."""
    return with_values(matrix, np.ones(matrix.nnz, dtype=np.float32))


def with_values(matrix: sp.csr_matrix | sp.csr_array, values: np.ndarray) -> sp.csr_matrix:
    """A CSR matrix with ``matrix``'s pattern and ``values`` (float32) as its stored
    values. The index arrays are shared, not copied: weighting a large matrix costs
    one new array of values, and the canonical mix of int64 ``indptr`` and int32
    ``indices`` is kept (SciPy's constructor would cast both to one type).

    Example:
        >>> m = sp.csr_matrix(np.array([[0, 2], [3, 0]], dtype=np.float32))
        >>> with_values(m, np.array([5, 6])).toarray().tolist()
        [[0.0, 5.0], [6.0, 0.0]]
    """
    if values.shape != (matrix.nnz,):
        raise ValueError(f"values: expected {matrix.nnz} values, received shape {values.shape}")
    out = sp.csr_matrix(cast(Any, matrix.shape), dtype=np.float32)
    out.indptr, out.indices = matrix.indptr, matrix.indices
    out.data = np.asarray(values, dtype=np.float32)
    out.has_sorted_indices = bool(matrix.has_sorted_indices)
    return out


def row_norms(matrix: sp.csr_matrix | sp.csr_array) -> np.ndarray:
    """The Euclidean norm of each row (float32)."""
    squared = sp.csr_matrix(matrix, dtype=np.float64).multiply(matrix).sum(axis=1)
    return np.sqrt(np.asarray(squared).ravel()).astype(np.float32)


def normalize_rows(matrix: sp.csr_matrix | sp.csr_array, norm: str = "l2") -> sp.csr_matrix:
    """Rows scaled to unit ``"l2"`` norm or unit ``"l1"`` (absolute) sum; zero rows stay zero."""
    csr = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    if norm == "l2":
        sizes = row_norms(csr).astype(np.float64)
    else:
        sizes = np.asarray(abs(csr).sum(axis=1), dtype=np.float64).ravel()
    scale = np.divide(1.0, sizes, out=np.zeros_like(sizes), where=sizes > 0)
    csr.data *= np.repeat(scale, np.diff(csr.indptr)).astype(np.float32)
    return csr


def _float32(matrix: sp.csr_matrix) -> sp.csr_matrix:
    return sp.csr_matrix(matrix, dtype=np.float32)
