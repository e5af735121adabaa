# Type stubs of the compiled extension `recommender_systems._kernels`
# (crates/recsys-kernels/src/bindings). mypy checks every call into the
# extension against them (`kernels/_loader.py`), and `python -m mypy.stubtest
# recommender_systems._kernels` (in .ci/run and tests/kernels/test_stubs.py)
# checks them against the compiled module's signatures, both ways.
#
# Every function raises recommender_systems.errors.ParameterError (a ValueError)
# for an invalid argument, InsufficientMemoryError when the work would not fit in
# the available memory, and KernelError if the kernel fails inside (a bug).
import numpy as np
import numpy.typing as npt

__all__ = [
    "__version__",
    "als_solve",
    "bpr_epoch",
    "factor_topk",
    "gram",
    "product_topk",
    "row_product_topk",
    "sparse_gram",
    "sparse_gram_f64",
    "sparse_topk_product",
    "topk",
    "transposed_product",
    "transposed_product_f64",
]
__version__: str

def topk(
    scores: npt.NDArray[np.float32],
    k: int,
    exclude_indptr: npt.NDArray[np.int64] | None = None,
    exclude_indices: npt.NDArray[np.int32] | None = None,
    n_threads: int = 0,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...
def factor_topk(
    user_factors: npt.NDArray[np.float32],
    users: npt.NDArray[np.int64],
    item_factors: npt.NDArray[np.float32],
    k: int,
    bias: npt.NDArray[np.float32] | None = None,
    exclude_indptr: npt.NDArray[np.int64] | None = None,
    exclude_indices: npt.NDArray[np.int32] | None = None,
    allowed: npt.NDArray[np.bool_] | None = None,
    n_threads: int = 0,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...
def sparse_topk_product(
    a_indptr: npt.NDArray[np.int64],
    a_indices: npt.NDArray[np.int32],
    a_data: npt.NDArray[np.float32],
    b_indptr: npt.NDArray[np.int64],
    b_indices: npt.NDArray[np.int32],
    b_data: npt.NDArray[np.float32],
    n_cols: int,
    k: int,
    measure: str = "dot",
    row_norms: npt.NDArray[np.float32] | None = None,
    col_norms: npt.NDArray[np.float32] | None = None,
    shrink: float = 0.0,
    exclude_diagonal: bool = False,
    n_threads: int = 0,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
def bpr_epoch(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    user_factors: npt.NDArray[np.float32],
    item_factors: npt.NDArray[np.float32],
    item_bias: npt.NDArray[np.float32] | None,
    learning_rate: float,
    reg: float,
    seed: int,
    n_threads: int = 0,
) -> tuple[float, int, int]: ...
def als_solve(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    fixed_factors: npt.NDArray[np.float32],
    factors: npt.NDArray[np.float32],
    regularization: npt.NDArray[np.float32],
    alpha: float,
    cg_steps: int = 3,
    exact: bool = False,
    gram: npt.NDArray[np.float32] | None = None,
    n_threads: int = 0,
) -> None: ...
def gram(factors: npt.NDArray[np.float32], n_threads: int = 0) -> npt.NDArray[np.float32]: ...
def transposed_product(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    dense: npt.NDArray[np.float32],
    scale: npt.NDArray[np.float32] | None = None,
    n_threads: int = 0,
) -> npt.NDArray[np.float32]: ...
def product_topk(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    dense: npt.NDArray[np.float32],
    k: int,
    columns: npt.NDArray[np.int64] | None = None,
    scale: npt.NDArray[np.float32] | None = None,
    exclude_indptr: npt.NDArray[np.int64] | None = None,
    exclude_indices: npt.NDArray[np.int32] | None = None,
    allowed: npt.NDArray[np.bool_] | None = None,
    n_threads: int = 0,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...
def row_product_topk(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    dense: npt.NDArray[np.float32],
    k: int,
    exclude_indptr: npt.NDArray[np.int64] | None = None,
    exclude_indices: npt.NDArray[np.int32] | None = None,
    allowed: npt.NDArray[np.bool_] | None = None,
    n_threads: int = 0,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...
def transposed_product_f64(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float64],
    dense: npt.NDArray[np.float64],
    n_threads: int = 0,
) -> npt.NDArray[np.float64]: ...
def sparse_gram(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    n_cols: int,
    n_threads: int = 0,
) -> npt.NDArray[np.float32]: ...
def sparse_gram_f64(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    n_cols: int,
    n_threads: int = 0,
) -> npt.NDArray[np.float64]: ...
