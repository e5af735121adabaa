use pyo3::prelude::*;

use super::args::{self, array, guarded, matrix, slice};
use crate::factor_topk::FactorQuery;

/// Best `k` items for each user in `users` (rows of `user_factors`) by the score
/// `user_factors[u] @ item_factors[j] (+ bias[j])`, without a score matrix.
/// Items in the row's exclusion CSR, outside `allowed`, or scoring NaN / -inf are
/// skipped; ties go to the lower index. Returns (indices int64, scores float32),
/// each of shape (len(users), min(k, n_items)), padded with -1 / NaN.
#[pyfunction]
#[pyo3(signature = (
    user_factors, users, item_factors, k, bias=None, exclude_indptr=None,
    exclude_indices=None, allowed=None, n_threads=0
))]
#[allow(clippy::too_many_arguments)]
pub fn factor_topk<'py>(
    py: Python<'py>,
    user_factors: &Bound<'py, PyAny>,
    users: &Bound<'py, PyAny>,
    item_factors: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = args::k)] k: usize,
    bias: Option<&Bound<'py, PyAny>>,
    exclude_indptr: Option<&Bound<'py, PyAny>>,
    exclude_indices: Option<&Bound<'py, PyAny>>,
    allowed: Option<&Bound<'py, PyAny>>,
    #[pyo3(from_py_with = args::n_threads)] n_threads: usize,
) -> PyResult<args::TopKArrays<'py>> {
    guarded("factor_topk", || {
        let user_factors = array::<f32, numpy::Ix2>(user_factors, "user_factors", "float32")?;
        let user_factors = matrix(&user_factors, "user_factors")?;
        let users = array::<i64, numpy::Ix1>(users, "users", "int64")?;
        let users = slice(&users, "users")?;
        let item_factors = array::<f32, numpy::Ix2>(item_factors, "item_factors", "float32")?;
        let item_factors = matrix(&item_factors, "item_factors")?;
        let bias = args::optional_array::<f32, numpy::Ix1>(bias, "bias", "float32")?;
        let bias = args::optional_slice(&bias, "bias")?;
        let allowed = args::optional_array::<bool, numpy::Ix1>(allowed, "allowed", "bool")?;
        let allowed = args::optional_slice(&allowed, "allowed")?;
        let exclude = args::exclusion(exclude_indptr, exclude_indices)?;
        let n_items = crate::matrix::Shape::rows(&item_factors);
        let view = exclude
            .as_ref()
            .map(|e| e.view(users.len(), n_items))
            .transpose()?;
        let query = FactorQuery {
            user_factors,
            users,
            item_factors,
            bias,
            exclude: view.as_ref(),
            allowed,
        };
        let out = py.detach(|| crate::factor_topk::factor_topk(&query, k, n_threads))?;
        args::top_k_arrays(py, users.len(), out)
    })
}
