//! PyO3 bindings: argument extraction, GIL release and array conversion only.
//! The work happens in the plain Rust modules of this crate.

use pyo3::prelude::*;

mod als;
mod args;
mod bpr;
mod factor_topk;
mod gram;
mod knn;
#[cfg(feature = "panic-probe")]
mod probe;
mod product;
mod topk;

#[pymodule]
fn _kernels(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(knn::sparse_topk_product, m)?)?;
    m.add_function(wrap_pyfunction!(topk::topk, m)?)?;
    m.add_function(wrap_pyfunction!(factor_topk::factor_topk, m)?)?;
    m.add_function(wrap_pyfunction!(bpr::bpr_epoch, m)?)?;
    m.add_function(wrap_pyfunction!(als::als_solve, m)?)?;
    m.add_function(wrap_pyfunction!(als::gram, m)?)?;
    m.add_function(wrap_pyfunction!(product::transposed_product, m)?)?;
    m.add_function(wrap_pyfunction!(product::product_topk, m)?)?;
    m.add_function(wrap_pyfunction!(product::transposed_product_f64, m)?)?;
    m.add_function(wrap_pyfunction!(product::row_product_topk, m)?)?;
    m.add_function(wrap_pyfunction!(gram::sparse_gram, m)?)?;
    m.add_function(wrap_pyfunction!(gram::sparse_gram_f64, m)?)?;
    #[cfg(feature = "panic-probe")]
    m.add_function(wrap_pyfunction!(probe::_panic_probe, m)?)?;
    Ok(())
}
