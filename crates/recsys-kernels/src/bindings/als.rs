use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::args::{array, array_mut, non_negative, slice, slice_mut, CsrArgs};
use crate::als::{AlsProblem, Solver};
use crate::csr::CsrNames;

const RATINGS: CsrNames = CsrNames::PLAIN;

/// One implicit-ALS half-step: solves every row of `factors` (float32, rows x k,
/// updated in place) against `fixed_factors` (cols x k) for the CSR matrix
/// (rows x cols; data = interaction strengths, confidence 1 + alpha * data), with
/// per-row `regularization`. `cg_steps` conjugate-gradient steps warm-started from
/// `factors`, or an exact Cholesky solve when `exact`. `gram` is YᵀY of
/// `fixed_factors` if already known.
#[pyfunction]
#[pyo3(signature = (
    indptr, indices, data, fixed_factors, factors, regularization, alpha,
    cg_steps=3, exact=false, gram=None, n_threads=0
))]
#[allow(clippy::too_many_arguments)]
pub fn als_solve<'py>(
    py: Python<'py>,
    indptr: &Bound<'py, PyAny>,
    indices: &Bound<'py, PyAny>,
    data: &Bound<'py, PyAny>,
    fixed_factors: &Bound<'py, PyAny>,
    factors: &Bound<'py, PyAny>,
    regularization: &Bound<'py, PyAny>,
    alpha: f64,
    cg_steps: i64,
    exact: bool,
    gram: Option<&Bound<'py, PyAny>>,
    n_threads: i64,
) -> PyResult<()> {
    let n_threads = non_negative("n_threads", n_threads)?;
    let cg_steps = non_negative("cg_steps", cg_steps)?;
    let fixed = array::<f32, numpy::Ix2>(fixed_factors, "fixed_factors", "float32")?;
    let reg = array::<f32, numpy::Ix1>(regularization, "regularization", "float32")?;
    let gram = gram
        .map(|g| array::<f32, numpy::Ix2>(g, "gram", "float32"))
        .transpose()?;
    let mut out = array_mut::<f32, numpy::Ix2>(factors, "factors", "float32")?;
    let csr = CsrArgs::extract(RATINGS, indptr, indices, Some(data))?;
    let (n_rows, k) = (out.shape()[0], out.shape()[1]);
    let (n_cols, k_fixed) = (fixed.shape()[0], fixed.shape()[1]);
    if k == 0 {
        return Err(PyValueError::new_err(
            "factors: expected at least one factor column, received 0",
        ));
    }
    if n_rows != csr.n_rows() {
        return Err(PyValueError::new_err(format!(
            "factors: expected {} rows (one per row of indptr), received {n_rows}",
            csr.n_rows()
        )));
    }
    if k_fixed != k {
        return Err(PyValueError::new_err(format!(
            "fixed_factors: expected {k} columns like factors, received {k_fixed}"
        )));
    }
    let view = csr.view(n_rows, n_cols)?;
    let problem = AlsProblem {
        ratings: &view,
        fixed: slice(&fixed, "fixed_factors")?,
        regularization: slice(&reg, "regularization")?,
        gram: gram.as_ref().map(|g| slice(g, "gram")).transpose()?,
        alpha: alpha as f32,
        n_factors: k,
    };
    let solver = if exact {
        Solver::Cholesky
    } else {
        Solver::ConjugateGradient(cg_steps)
    };
    let factors = slice_mut(&mut out, "factors")?;
    py.detach(|| crate::als::als_solve(&problem, factors, solver, n_threads))?;
    Ok(())
}

/// YᵀY of a float32 (n x k) matrix, summed in a fixed order (any thread count
/// gives the same result).
#[pyfunction]
#[pyo3(signature = (factors, n_threads=0))]
pub fn gram<'py>(
    py: Python<'py>,
    factors: &Bound<'py, PyAny>,
    n_threads: i64,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let n_threads = non_negative("n_threads", n_threads)?;
    let arr = array::<f32, numpy::Ix2>(factors, "factors", "float32")?;
    let k = arr.shape()[1];
    let values = slice(&arr, "factors")?;
    crate::error::check_finite("factors", values)?;
    let g = py.detach(|| crate::als::gram(values, k, n_threads))?;
    let g = Array2::from_shape_vec((k, k), g).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(g.into_pyarray(py))
}
