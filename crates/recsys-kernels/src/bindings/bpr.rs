use pyo3::prelude::*;

use super::args::{self, array_mut, guarded, matrix_mut, slice_mut, CsrArgs};
use crate::bpr::{BprModel, BprParams};
use crate::csr::CsrNames;
use crate::matrix::Shape;

const POSITIVES: CsrNames = CsrNames::PLAIN;

/// One BPR epoch over the pairs of a users x items CSR pattern (rows sorted),
/// updating the float32 factor arrays (and item biases) in place. Returns
/// (summed loss, number of updates, pairs skipped).
#[pyfunction]
#[pyo3(signature = (
    indptr, indices, user_factors, item_factors, item_bias, learning_rate, reg, seed, n_threads=0
))]
#[allow(clippy::too_many_arguments)]
pub fn bpr_epoch<'py>(
    py: Python<'py>,
    indptr: &Bound<'py, PyAny>,
    indices: &Bound<'py, PyAny>,
    user_factors: &Bound<'py, PyAny>,
    item_factors: &Bound<'py, PyAny>,
    item_bias: Option<&Bound<'py, PyAny>>,
    #[pyo3(from_py_with = args::learning_rate)] learning_rate: f64,
    #[pyo3(from_py_with = args::reg)] reg: f64,
    #[pyo3(from_py_with = args::seed)] seed: u64,
    #[pyo3(from_py_with = args::n_threads)] n_threads: usize,
) -> PyResult<(f64, u64, u64)> {
    guarded("bpr_epoch", || {
        let mut users = array_mut::<f32, numpy::Ix2>(user_factors, "user_factors", "float32")?;
        let mut items = array_mut::<f32, numpy::Ix2>(item_factors, "item_factors", "float32")?;
        let mut bias = item_bias
            .map(|b| array_mut::<f32, numpy::Ix1>(b, "item_bias", "float32"))
            .transpose()?;
        let csr = CsrArgs::extract(POSITIVES, indptr, indices, None)?;
        let model = BprModel {
            user_factors: matrix_mut(&mut users, "user_factors")?,
            item_factors: matrix_mut(&mut items, "item_factors")?,
            item_bias: bias
                .as_mut()
                .map(|b| slice_mut(b, "item_bias"))
                .transpose()?,
        };
        let n_items = model.item_factors.rows();
        // Shapes first: a pattern with a row too few is reported as such.
        crate::bpr::check_shapes(&model, csr.n_rows(), n_items)?;
        let positives = csr.view_rows(n_items)?;
        let params = BprParams {
            learning_rate: learning_rate as f32,
            reg: reg as f32,
            seed,
        };
        let out = py.detach(|| crate::bpr::bpr_epoch(&positives, model, params, n_threads))?;
        Ok((out.loss, out.updates, out.skipped))
    })
}
