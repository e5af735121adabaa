use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use super::args::{self, array, guarded, invalid, slice, CsrArgs};
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
    #[pyo3(from_py_with = args::n_cols)] n_cols: usize,
    #[pyo3(from_py_with = args::k)] k: usize,
    #[pyo3(from_py_with = args::measure)] measure: &'static str,
    row_norms: Option<&Bound<'py, PyAny>>,
    col_norms: Option<&Bound<'py, PyAny>>,
    #[pyo3(from_py_with = args::shrink)] shrink: f64,
    #[pyo3(from_py_with = args::exclude_diagonal)] exclude_diagonal: bool,
    #[pyo3(from_py_with = args::n_threads)] n_threads: usize,
) -> PyResult<Csr<'py>> {
    guarded("sparse_topk_product", || {
        let a = CsrArgs::extract(A, a_indptr, a_indices, Some(a_data))?;
        let b = CsrArgs::extract(B, b_indptr, b_indices, Some(b_data))?;
        let b_view = b.view_rows(n_cols)?;
        let a_view = a.view_rows(b.n_rows())?;
        crate::knn::check_shrink(shrink as f32)?;
        let norms = Norms::extract(row_norms, col_norms)?;
        let measure = norms.measure(measure, shrink as f32)?;
        let out = py.detach(|| {
            crate::knn::product_topk(&a_view, &b_view, measure, k, exclude_diagonal, n_threads)
        })?;
        Ok((
            out.indptr.into_pyarray(py),
            out.indices.into_pyarray(py),
            out.data.into_pyarray(py),
        ))
    })
}

/// The optional `row_norms` / `col_norms` arrays, borrowed.
struct Norms<'py>(Option<(PyReadonlyArray1<'py, f32>, PyReadonlyArray1<'py, f32>)>);

impl<'py> Norms<'py> {
    fn extract(
        row_norms: Option<&Bound<'py, PyAny>>,
        col_norms: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Self> {
        match (row_norms, col_norms) {
            (Some(r), Some(c)) => Ok(Self(Some((
                array(r, "row_norms", "float32")?,
                array(c, "col_norms", "float32")?,
            )))),
            (None, None) => Ok(Self(None)),
            _ => Err(invalid(
                "row_norms, col_norms: expected both or neither, received one".to_owned(),
            )),
        }
    }

    /// The measure named `name`, with these norms.
    fn measure(&self, name: &str, shrink: f32) -> PyResult<Measure<'_>> {
        let norms = match &self.0 {
            Some((r, c)) => Some((slice(r, "row_norms")?, slice(c, "col_norms")?)),
            None => None,
        };
        match (name, norms) {
            ("dot", None) => Ok(Measure::Dot),
            ("cosine", Some((row_norms, col_norms))) => Ok(Measure::Cosine {
                row_norms,
                col_norms,
                shrink,
            }),
            ("jaccard", Some((row_counts, col_counts))) => Ok(Measure::Jaccard {
                row_counts,
                col_counts,
                shrink,
            }),
            ("dot", Some(_)) => Err(invalid(
                "row_norms: expected None with measure 'dot', received an array".to_owned(),
            )),
            ("cosine" | "jaccard", None) => Err(invalid(format!(
                "row_norms, col_norms: expected arrays with measure {name:?}, received None"
            ))),
            (other, _) => Err(invalid(format!(
                "measure: expected one of 'dot', 'cosine', 'jaccard', received {other:?}"
            ))),
        }
    }
}
