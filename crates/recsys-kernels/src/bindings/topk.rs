use pyo3::prelude::*;

use super::args::{self, array, guarded, matrix};
use crate::matrix::Shape;

/// Best `k` columns of each row of a float32 score matrix, best first, ties to the
/// lower index. Columns in the row's exclusion CSR, NaN and -inf are skipped.
/// Returns (indices int64, scores float32), each of shape (rows, min(k, cols)),
/// padded with -1 / NaN.
#[pyfunction]
#[pyo3(signature = (scores, k, exclude_indptr=None, exclude_indices=None, n_threads=0))]
pub fn topk<'py>(
    py: Python<'py>,
    scores: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = args::k)] k: usize,
    exclude_indptr: Option<&Bound<'py, PyAny>>,
    exclude_indices: Option<&Bound<'py, PyAny>>,
    #[pyo3(from_py_with = args::n_threads)] n_threads: usize,
) -> PyResult<args::TopKArrays<'py>> {
    guarded("topk", || {
        let scores = array::<f32, numpy::Ix2>(scores, "scores", "float32")?;
        let scores = matrix(&scores, "scores")?;
        let exclude = args::exclusion(exclude_indptr, exclude_indices)?;
        let view = exclude
            .as_ref()
            .map(|e| e.view(scores.rows(), scores.cols()))
            .transpose()?;
        let out = py.detach(|| crate::topk::topk(scores, view.as_ref(), k, n_threads))?;
        args::top_k_arrays(py, scores.rows(), out)
    })
}
