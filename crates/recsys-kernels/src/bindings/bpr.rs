use numpy::PyUntypedArrayMethods;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::args::{array_mut, non_negative, slice_mut, CsrArgs};
use crate::bpr::{BprModel, BprParams};
use crate::csr::CsrNames;

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
    learning_rate: f64,
    reg: f64,
    seed: &Bound<'py, PyAny>,
    n_threads: i64,
) -> PyResult<(f64, u64, u64)> {
    let n_threads = non_negative("n_threads", n_threads)?;
    let seed: u64 = seed.extract().map_err(|_| {
        PyValueError::new_err(format!(
            "seed: expected an integer in [0, 2**64), received {seed}"
        ))
    })?;
    let mut users = array_mut::<f32, numpy::Ix2>(user_factors, "user_factors", "float32")?;
    let mut items = array_mut::<f32, numpy::Ix2>(item_factors, "item_factors", "float32")?;
    let mut bias = item_bias
        .map(|b| array_mut::<f32, numpy::Ix1>(b, "item_bias", "float32"))
        .transpose()?;
    let csr = CsrArgs::extract(POSITIVES, indptr, indices, None)?;
    let (n_users, k) = (users.shape()[0], users.shape()[1]);
    let (n_items, k_items) = (items.shape()[0], items.shape()[1]);
    if k == 0 {
        return Err(PyValueError::new_err(
            "user_factors: expected at least one factor column, received 0",
        ));
    }
    if n_users != csr.n_rows() {
        return Err(PyValueError::new_err(format!(
            "user_factors: expected {} rows (one per row of indptr), received {n_users}",
            csr.n_rows()
        )));
    }
    if k_items != k {
        return Err(PyValueError::new_err(format!(
            "item_factors: expected {k} columns like user_factors, received {k_items}"
        )));
    }
    let view = csr.view(n_users, n_items)?;
    let model = BprModel {
        user_factors: slice_mut(&mut users, "user_factors")?,
        item_factors: slice_mut(&mut items, "item_factors")?,
        item_bias: match bias.as_mut() {
            Some(b) => Some(slice_mut(b, "item_bias")?),
            None => None,
        },
        n_factors: k,
    };
    let params = BprParams {
        learning_rate: learning_rate as f32,
        reg: reg as f32,
        seed,
    };
    let out = py.detach(|| crate::bpr::bpr_epoch(&view, model, params, n_threads))?;
    Ok((out.loss, out.updates, out.skipped))
}
