use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2};
use pyo3::prelude::*;

use super::args::{self, array, guarded, invalid, matrix, CsrArgs};
use crate::csr::CsrNames;
use crate::matrix::Shape;

type Pair<'py> = (Bound<'py, PyArray2<i64>>, Bound<'py, PyArray2<f32>>);

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
) -> PyResult<Pair<'py>> {
    guarded("topk", || {
        let scores = array::<f32, numpy::Ix2>(scores, "scores", "float32")?;
        let scores = matrix(&scores, "scores")?;
        let exclude = match (exclude_indptr, exclude_indices) {
            (Some(p), Some(i)) => Some(CsrArgs::extract(CsrNames::EXCLUDE, p, i, None)?),
            (None, None) => None,
            _ => {
                return Err(invalid(
                    "exclude_indptr, exclude_indices: expected both or neither, received one"
                        .to_owned(),
                ))
            }
        };
        let view = exclude
            .as_ref()
            .map(|e| e.view(scores.rows(), scores.cols()))
            .transpose()?;
        let out = py.detach(|| crate::topk::topk(scores, view.as_ref(), k, n_threads))?;
        let shape = (scores.rows(), out.width);
        let indices =
            Array2::from_shape_vec(shape, out.indices).map_err(|e| invalid(format!("k: {e}")))?;
        let scores =
            Array2::from_shape_vec(shape, out.scores).map_err(|e| invalid(format!("k: {e}")))?;
        Ok((indices.into_pyarray(py), scores.into_pyarray(py)))
    })
}
