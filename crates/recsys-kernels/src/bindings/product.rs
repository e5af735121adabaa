use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2};
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
        let scale = scale
            .map(|s| array::<f32, numpy::Ix1>(s, "scale", "float32"))
            .transpose()?;
        let scale = scale.as_ref().map(|s| slice(s, "scale")).transpose()?;
        let out =
            py.detach(|| crate::product::transposed_product(&view, dense, scale, n_threads))?;
        let shape = (dense.cols(), view.n_rows());
        let out = Array2::from_shape_vec(shape, out).map_err(|e| invalid(format!("dense: {e}")))?;
        Ok(out.into_pyarray(py))
    })
}
