"""Kernel entry points: the Rust extension when present, NumPy references otherwise.

Each kernel module holds the dispatching function and its reference
implementation side by side; property tests check that the two agree.
"""

from recommender_systems.kernels._loader import backend, backend_status
from recommender_systems.kernels.product import (
    product_topk,
    product_topk_reference,
    row_product_topk,
    row_product_topk_reference,
    sparse_gram,
    sparse_gram_reference,
    transposed_product,
    transposed_product_reference,
)
from recommender_systems.kernels.selection import (
    csr_arrays,
    factor_topk,
    factor_topk_reference,
    topk,
    topk_reference,
)
from recommender_systems.kernels.similarity import (
    sparse_topk_product,
    sparse_topk_product_reference,
)

__all__ = [
    "backend",
    "backend_status",
    "csr_arrays",
    "factor_topk",
    "factor_topk_reference",
    "product_topk",
    "product_topk_reference",
    "row_product_topk",
    "row_product_topk_reference",
    "sparse_gram",
    "sparse_gram_reference",
    "sparse_topk_product",
    "sparse_topk_product_reference",
    "topk",
    "topk_reference",
    "transposed_product",
    "transposed_product_reference",
]
