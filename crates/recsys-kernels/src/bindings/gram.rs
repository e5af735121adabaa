use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2};
use pyo3::prelude::*;

use super::args::{self, guarded, invalid, CsrArgs};
use crate::csr::CsrNames;

/// XᵀX for a CSR matrix X (indptr int64, indices int32, data float32) with n_cols
/// columns, summed in float32, as a C-contiguous float32 (n_cols x n_cols) array.
/// The same result for any thread count; exactly symmetric when no row stores a
/// column twice.
#[pyfunction]
#[pyo3(signature = (indptr, indices, data, n_cols, n_threads=0))]
pub fn sparse_gram<'py>(
    py: Python<'py>,
    indptr: &Bound<'py, PyAny>,
    indices: &Bound<'py, PyAny>,
    data: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = args::n_cols)] n_cols: usize,
    #[pyo3(from_py_with = args::n_threads)] n_threads: usize,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    guarded("sparse_gram", || {
        let sparse = CsrArgs::extract(CsrNames::PLAIN, indptr, indices, Some(data))?;
        let view = sparse.view_rows(n_cols)?;
        let out = py.detach(|| crate::gram::sparse_gram(&view, n_threads))?;
        let out = Array2::from_shape_vec((n_cols, n_cols), out)
            .map_err(|e| invalid(format!("n_cols: {e}")))?;
        Ok(out.into_pyarray(py))
    })
}

/// sparse_gram summed in float64 (same arguments, data still float32), as a
/// C-contiguous float64 (n_cols x n_cols) array.
#[pyfunction]
#[pyo3(signature = (indptr, indices, data, n_cols, n_threads=0))]
pub fn sparse_gram_f64<'py>(
    py: Python<'py>,
    indptr: &Bound<'py, PyAny>,
    indices: &Bound<'py, PyAny>,
    data: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = args::n_cols)] n_cols: usize,
    #[pyo3(from_py_with = args::n_threads)] n_threads: usize,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    guarded("sparse_gram_f64", || {
        let sparse = CsrArgs::extract(CsrNames::PLAIN, indptr, indices, Some(data))?;
        let view = sparse.view_rows(n_cols)?;
        let out = py.detach(|| crate::gram::sparse_gram_f64(&view, n_threads))?;
        let out = Array2::from_shape_vec((n_cols, n_cols), out)
            .map_err(|e| invalid(format!("n_cols: {e}")))?;
        Ok(out.into_pyarray(py))
    })
}
