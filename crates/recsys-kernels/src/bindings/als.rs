use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2};
use pyo3::prelude::*;

use super::args::{self, array, array_mut, guarded, invalid, matrix, matrix_mut, slice, CsrArgs};
use crate::als::{AlsProblem, Solver};
use crate::csr::CsrNames;
use crate::matrix::Shape;

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
    #[pyo3(from_py_with = args::alpha)] alpha: f64,
    #[pyo3(from_py_with = args::cg_steps)] cg_steps: usize,
    #[pyo3(from_py_with = args::exact)] exact: bool,
    gram: Option<&Bound<'py, PyAny>>,
    #[pyo3(from_py_with = args::n_threads)] n_threads: usize,
) -> PyResult<()> {
    guarded("als_solve", || {
        let fixed = array::<f32, numpy::Ix2>(fixed_factors, "fixed_factors", "float32")?;
        let reg = array::<f32, numpy::Ix1>(regularization, "regularization", "float32")?;
        let gram = args::optional_array::<f32, numpy::Ix2>(gram, "gram", "float32")?;
        let mut out = array_mut::<f32, numpy::Ix2>(factors, "factors", "float32")?;
        let csr = CsrArgs::extract(RATINGS, indptr, indices, Some(data))?;
        let fixed = matrix(&fixed, "fixed_factors")?;
        let ratings = csr.view_rows(fixed.rows())?;
        let problem = AlsProblem {
            ratings: &ratings,
            fixed,
            regularization: slice(&reg, "regularization")?,
            gram: gram.as_ref().map(|g| matrix(g, "gram")).transpose()?,
            alpha: alpha as f32,
        };
        let solver = if exact {
            Solver::Cholesky
        } else {
            Solver::ConjugateGradient(cg_steps)
        };
        let factors = matrix_mut(&mut out, "factors")?;
        py.detach(|| crate::als::als_solve(&problem, factors, solver, n_threads))?;
        Ok(())
    })
}

/// YᵀY of a float32 (n x k) matrix, summed in a fixed order (any thread count
/// gives the same result).
#[pyfunction]
#[pyo3(signature = (factors, n_threads=0))]
pub fn gram<'py>(
    py: Python<'py>,
    factors: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = args::n_threads)] n_threads: usize,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    guarded("gram", || {
        let arr = array::<f32, numpy::Ix2>(factors, "factors", "float32")?;
        let factors = matrix(&arr, "factors")?;
        factors.expect_finite()?;
        let k = factors.cols();
        let g = py.detach(|| crate::als::gram(factors, n_threads))?;
        let g = Array2::from_shape_vec((k, k), g).map_err(|e| invalid(format!("factors: {e}")))?;
        Ok(g.into_pyarray(py))
    })
}
