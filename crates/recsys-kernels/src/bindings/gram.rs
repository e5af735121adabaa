use numpy::ndarray::Array2;
use numpy::{Element, IntoPyArray, PyArray2};
use pyo3::prelude::*;

use super::args::{self, guarded, invalid, CsrArgs};
use crate::csr::{CsrNames, CsrView};
use crate::error::KernelResult;

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
        let csr = (indptr, indices, data);
        gram_array(py, csr, n_cols, n_threads, crate::gram::sparse_gram)
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
        let csr = (indptr, indices, data);
        gram_array(py, csr, n_cols, n_threads, crate::gram::sparse_gram_f64)
    })
}

type CsrArrays<'a, 'py> = (
    &'a Bound<'py, PyAny>,
    &'a Bound<'py, PyAny>,
    &'a Bound<'py, PyAny>,
);

/// Both bindings (inside their guard): the CSR's arrays checked, the kernel run
/// without the GIL, its output as an `n_cols x n_cols` array.
fn gram_array<'py, T: Element + Send>(
    py: Python<'py>,
    (indptr, indices, data): CsrArrays<'_, 'py>,
    n_cols: usize,
    n_threads: usize,
    kernel: fn(&CsrView<'_>, usize) -> KernelResult<Vec<T>>,
) -> PyResult<Bound<'py, PyArray2<T>>> {
    let sparse = CsrArgs::extract(CsrNames::PLAIN, indptr, indices, Some(data))?;
    let view = sparse.view_rows(n_cols)?;
    let out = py.detach(|| kernel(&view, n_threads))?;
    let out = Array2::from_shape_vec((n_cols, n_cols), out)
        .map_err(|e| invalid(format!("n_cols: {e}")))?;
    Ok(out.into_pyarray(py))
}
