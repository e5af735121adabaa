# Type stubs of the compiled extension `recommender_systems._kernels`
# (crates/recsys-kernels/src/bindings). tests/kernels/test_stubs.py checks that
# every function here exists in the module with the same parameters, and back.
import numpy as np
import numpy.typing as npt

__version__: str

def topk(
    scores: npt.NDArray[np.float32],
    k: int,
    exclude_indptr: npt.NDArray[np.int64] | None = None,
    exclude_indices: npt.NDArray[np.int32] | None = None,
    n_threads: int = 0,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...
