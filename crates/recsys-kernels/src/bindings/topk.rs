use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::args::{array, non_negative, slice, CsrArgs};
use crate::csr::CsrNames;

const EXCLUDE: CsrNames = CsrNames {
    indptr: "exclude_indptr",
    indices: "exclude_indices",
    data: "exclude_data",
};

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
    k: i64,
    exclude_indptr: Option<&Bound<'py, PyAny>>,
    exclude_indices: Option<&Bound<'py, PyAny>>,
    n_threads: i64,
) -> PyResult<Pair<'py>> {
    let k = non_negative("k", k)?;
    let n_threads = non_negative("n_threads", n_threads)?;
    let scores = array::<f32, numpy::Ix2>(scores, "scores", "float32")?;
    let (n_rows, n_cols) = (scores.shape()[0], scores.shape()[1]);
    let values = slice(&scores, "scores")?;
    let exclude = match (exclude_indptr, exclude_indices) {
        (Some(p), Some(i)) => Some(CsrArgs::extract(EXCLUDE, p, i, None)?),
        (None, None) => None,
        _ => {
            return Err(PyValueError::new_err(
                "exclude_indptr, exclude_indices: expected both or neither, received one",
            ))
        }
    };
    let view = exclude
        .as_ref()
        .map(|e| e.view(n_rows, n_cols))
        .transpose()?;
    let out =
        py.detach(|| crate::topk::topk(values, n_rows, n_cols, view.as_ref(), k, n_threads))?;
    let shape = (n_rows, out.width);
    let indices = Array2::from_shape_vec(shape, out.indices)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let scores = Array2::from_shape_vec(shape, out.scores)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok((indices.into_pyarray(py), scores.into_pyarray(py)))
}
