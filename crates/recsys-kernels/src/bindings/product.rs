use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;

use super::args::{self, array, guarded, invalid, matrix, slice, CsrArgs};
use crate::csr::CsrNames;
use crate::matrix::Shape;

/// (S D)ᵀ for a CSR matrix S (m x n: indptr int64, indices int32, data float32)
/// and a C-contiguous float32 matrix D (n x c), as a C-contiguous float32 (c x m)
/// array, column j times scale[j] when scale (float32, m) is given. The same
/// result for any thread count.
#[pyfunction]
#[pyo3(signature = (indptr, indices, data, dense, scale=None, n_threads=0))]
pub fn transposed_product<'py>(
    py: Python<'py>,
    indptr: &Bound<'py, PyAny>,
    indices: &Bound<'py, PyAny>,
    data: &Bound<'py, PyAny>,
    dense: &Bound<'py, PyAny>,
    scale: Option<&Bound<'py, PyAny>>,
    #[pyo3(from_py_with = args::n_threads)] n_threads: usize,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    guarded("transposed_product", || {
        let dense = array::<f32, numpy::Ix2>(dense, "dense", "float32")?;
        let dense = matrix(&dense, "dense")?;
        let sparse = CsrArgs::extract(CsrNames::PLAIN, indptr, indices, Some(data))?;
        let view = sparse.view_rows(dense.rows())?;
        let scale = args::optional_array::<f32, numpy::Ix1>(scale, "scale", "float32")?;
        let scale = args::optional_slice(&scale, "scale")?;
        let out =
            py.detach(|| crate::product::transposed_product(&view, dense, scale, n_threads))?;
        let shape = (dense.cols(), view.n_rows());
        let out = Array2::from_shape_vec(shape, out).map_err(|e| invalid(format!("dense: {e}")))?;
        Ok(out.into_pyarray(py))
    })
}

/// The best k columns of each row of transposed_product(...) (same arguments),
/// selected like topk: best first, ties to the lower column, columns in the row's
/// exclusion CSR (c x m), outside allowed (bool, m), NaN or -inf never returned.
/// Returns (indices int64, scores float32) of shape (c, min(k, m)), padded with
/// -1 / NaN; the product itself is never written. With columns (int64), D is read
/// as D[:, columns], one row of the product per entry, without a copy.
#[pyfunction]
#[pyo3(signature = (
    indptr, indices, data, dense, k, columns=None, scale=None, exclude_indptr=None,
    exclude_indices=None, allowed=None, n_threads=0
))]
#[allow(clippy::too_many_arguments)]
pub fn product_topk<'py>(
    py: Python<'py>,
    indptr: &Bound<'py, PyAny>,
    indices: &Bound<'py, PyAny>,
    data: &Bound<'py, PyAny>,
    dense: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = args::k)] k: usize,
    columns: Option<&Bound<'py, PyAny>>,
    scale: Option<&Bound<'py, PyAny>>,
    exclude_indptr: Option<&Bound<'py, PyAny>>,
    exclude_indices: Option<&Bound<'py, PyAny>>,
    allowed: Option<&Bound<'py, PyAny>>,
    #[pyo3(from_py_with = args::n_threads)] n_threads: usize,
) -> PyResult<args::TopKArrays<'py>> {
    guarded("product_topk", || {
        let dense = array::<f32, numpy::Ix2>(dense, "dense", "float32")?;
        let dense = matrix(&dense, "dense")?;
        let sparse = CsrArgs::extract(CsrNames::PLAIN, indptr, indices, Some(data))?;
        let view = sparse.view_rows(dense.rows())?;
        let scale = args::optional_array::<f32, numpy::Ix1>(scale, "scale", "float32")?;
        let scale = args::optional_slice(&scale, "scale")?;
        let allowed = args::optional_array::<bool, numpy::Ix1>(allowed, "allowed", "bool")?;
        let allowed = args::optional_slice(&allowed, "allowed")?;
        let columns = args::optional_array::<i64, numpy::Ix1>(columns, "columns", "int64")?;
        let columns = args::optional_slice(&columns, "columns")?;
        let exclude = args::exclusion(exclude_indptr, exclude_indices)?;
        let rows = columns.map_or(dense.cols(), <[i64]>::len);
        let cols = view.n_rows();
        let excluded = exclude.as_ref().map(|e| e.view(rows, cols)).transpose()?;
        let out = py.detach(|| {
            crate::product::product_topk(
                &view,
                dense,
                columns,
                scale,
                k,
                excluded.as_ref(),
                allowed,
                n_threads,
            )
        })?;
        args::top_k_arrays(py, rows, out)
    })
}

/// The best k columns of each row of S D for a CSR matrix S (m x n: indptr int64,
/// indices int32, data float32) and a C-contiguous float32 matrix D (n x c),
/// selected like topk from the written product: best first, ties to the lower
/// column, columns in the row's exclusion CSR (m x c), outside allowed (bool, c),
/// NaN or -inf never returned. Returns (indices int64, scores float32) of shape
/// (m, min(k, c)), padded with -1 / NaN; the product itself is never written. Each
/// value sums its row's entries in stored order, like SciPy: the same bits for any
/// thread count.
#[pyfunction]
#[pyo3(signature = (
    indptr, indices, data, dense, k, exclude_indptr=None, exclude_indices=None, allowed=None,
    n_threads=0
))]
#[allow(clippy::too_many_arguments)]
pub fn row_product_topk<'py>(
    py: Python<'py>,
    indptr: &Bound<'py, PyAny>,
    indices: &Bound<'py, PyAny>,
    data: &Bound<'py, PyAny>,
    dense: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = args::k)] k: usize,
    exclude_indptr: Option<&Bound<'py, PyAny>>,
    exclude_indices: Option<&Bound<'py, PyAny>>,
    allowed: Option<&Bound<'py, PyAny>>,
    #[pyo3(from_py_with = args::n_threads)] n_threads: usize,
) -> PyResult<args::TopKArrays<'py>> {
    guarded("row_product_topk", || {
        let dense = array::<f32, numpy::Ix2>(dense, "dense", "float32")?;
        let dense = matrix(&dense, "dense")?;
        let sparse = CsrArgs::extract(CsrNames::PLAIN, indptr, indices, Some(data))?;
        let view = sparse.view_rows(dense.rows())?;
        let allowed = args::optional_array::<bool, numpy::Ix1>(allowed, "allowed", "bool")?;
        let allowed = args::optional_slice(&allowed, "allowed")?;
        let exclude = args::exclusion(exclude_indptr, exclude_indices)?;
        let rows = view.n_rows();
        let excluded = exclude
            .as_ref()
            .map(|e| e.view(rows, dense.cols()))
            .transpose()?;
        let out = py.detach(|| {
            crate::row_product::row_product_topk(
                &view,
                dense,
                k,
                excluded.as_ref(),
                allowed,
                n_threads,
            )
        })?;
        args::top_k_arrays(py, rows, out)
    })
}

/// transposed_product in float64, without a scale: data (float64) are the values
/// of the CSR matrix S, dense a C-contiguous float64 matrix D; returns (S D)ᵀ as a
/// C-contiguous float64 array.
#[pyfunction]
#[pyo3(signature = (indptr, indices, data, dense, n_threads=0))]
pub fn transposed_product_f64<'py>(
    py: Python<'py>,
    indptr: &Bound<'py, PyAny>,
    indices: &Bound<'py, PyAny>,
    data: &Bound<'py, PyAny>,
    dense: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = args::n_threads)] n_threads: usize,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    guarded("transposed_product_f64", || {
        let dense = array::<f64, numpy::Ix2>(dense, "dense", "float64")?;
        let (rows, cols) = (dense.shape()[0], dense.shape()[1]);
        let values = slice(&dense, "dense")?;
        let data = array::<f64, numpy::Ix1>(data, "data", "float64")?;
        let data = slice(&data, "data")?;
        let sparse = CsrArgs::extract(CsrNames::PLAIN, indptr, indices, None)?;
        let view = sparse.view_rows(rows)?;
        let out = py.detach(|| {
            crate::product::transposed_product_f64(&view, data, values, rows, cols, n_threads)
        })?;
        let out = Array2::from_shape_vec((cols, view.n_rows()), out)
            .map_err(|e| invalid(format!("dense: {e}")))?;
        Ok(out.into_pyarray(py))
    })
}
