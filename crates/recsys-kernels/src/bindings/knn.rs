use numpy::{IntoPyArray, PyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::args::{array, non_negative, slice, CsrArgs};
use crate::csr::CsrNames;
use crate::knn::{Measure, A_NAMES, B_NAMES};

const A: CsrNames = A_NAMES;
const B: CsrNames = B_NAMES;

type Csr<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i32>>,
    Bound<'py, PyArray1<f32>>,
);

/// Rows of the product of two CSR matrices (a: n x m, b: m x n_cols), each cut to
/// its k largest entries after `measure` ("dot", "cosine" or "jaccard", the last
/// two with row_norms, col_norms and shrink). Exact zeros are dropped; ties go to
/// the lower column. Returns the (indptr int64, indices int32, data float32) of an
/// n x n_cols CSR matrix with rows sorted by column.
#[pyfunction]
#[pyo3(signature = (
    a_indptr, a_indices, a_data, b_indptr, b_indices, b_data, n_cols, k,
    measure="dot", row_norms=None, col_norms=None, shrink=0.0, exclude_diagonal=false,
    n_threads=0
))]
#[allow(clippy::too_many_arguments)]
pub fn sparse_topk_product<'py>(
    py: Python<'py>,
    a_indptr: &Bound<'py, PyAny>,
    a_indices: &Bound<'py, PyAny>,
    a_data: &Bound<'py, PyAny>,
    b_indptr: &Bound<'py, PyAny>,
    b_indices: &Bound<'py, PyAny>,
    b_data: &Bound<'py, PyAny>,
    n_cols: i64,
    k: i64,
    measure: &str,
    row_norms: Option<&Bound<'py, PyAny>>,
    col_norms: Option<&Bound<'py, PyAny>>,
    shrink: f32,
    exclude_diagonal: bool,
    n_threads: i64,
) -> PyResult<Csr<'py>> {
    let n_cols = non_negative("n_cols", n_cols)?;
    let k = non_negative("k", k)?;
    let n_threads = non_negative("n_threads", n_threads)?;
    let a = CsrArgs::extract(A, a_indptr, a_indices, Some(a_data))?;
    let b = CsrArgs::extract(B, b_indptr, b_indices, Some(b_data))?;
    let n_rows = rows_of(a_indptr, "a_indptr")?;
    let n_mid = rows_of(b_indptr, "b_indptr")?;
    let a_view = a.view(n_rows, n_mid)?;
    let b_view = b.view(n_mid, n_cols)?;

    let norms = match (row_norms, col_norms) {
        (Some(r), Some(c)) => Some((
            array::<f32, numpy::Ix1>(r, "row_norms", "float32")?,
            array::<f32, numpy::Ix1>(c, "col_norms", "float32")?,
        )),
        (None, None) => None,
        _ => {
            return Err(PyValueError::new_err(
                "row_norms, col_norms: expected both or neither, received one",
            ))
        }
    };
    let norm_slices = match &norms {
        Some((r, c)) => Some((slice(r, "row_norms")?, slice(c, "col_norms")?)),
        None => None,
    };
    let measure = match (measure, norm_slices) {
        ("dot", None) => Measure::Dot,
        ("cosine", Some((row_norms, col_norms))) => Measure::Cosine {
            row_norms,
            col_norms,
            shrink,
        },
        ("jaccard", Some((row_counts, col_counts))) => Measure::Jaccard {
            row_counts,
            col_counts,
            shrink,
        },
        ("dot", Some(_)) => {
            return Err(PyValueError::new_err(
                "row_norms: expected None with measure 'dot', received an array",
            ))
        }
        ("cosine" | "jaccard", None) => {
            return Err(PyValueError::new_err(format!(
                "row_norms, col_norms: expected arrays with measure {measure:?}, received None"
            )))
        }
        (other, _) => {
            return Err(PyValueError::new_err(format!(
                "measure: expected 'dot', 'cosine' or 'jaccard', received {other:?}"
            )))
        }
    };
    let out = py.detach(|| {
        crate::knn::product_topk(&a_view, &b_view, measure, k, exclude_diagonal, n_threads)
    })?;
    Ok((
        out.indptr.into_pyarray(py),
        out.indices.into_pyarray(py),
        out.data.into_pyarray(py),
    ))
}

/// The number of rows an indptr array describes (its length minus one).
fn rows_of(indptr: &Bound<'_, PyAny>, name: &'static str) -> PyResult<usize> {
    let arr = array::<i64, numpy::Ix1>(indptr, name, "int64")?;
    let len = slice(&arr, name)?.len();
    len.checked_sub(1).ok_or_else(|| {
        PyValueError::new_err(format!(
            "{name}: expected at least one element (indptr[0] == 0), received an empty array"
        ))
    })
}
