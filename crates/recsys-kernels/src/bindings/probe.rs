//! A deliberate panic, compiled only with the `panic-probe` feature (never in a
//! release: maturin builds without it). `tests/kernels/test_panic_guard.py`
//! builds the extension with it to prove that a panic anywhere in a kernel call
//! reaches Python as `recommender_systems.errors.KernelError`.

use pyo3::prelude::*;
use rayon::prelude::*;

use super::args::guarded;
use crate::pool;

/// Panics `where_`: "caller" (the calling thread, holding the GIL) or "worker"
/// (a pool thread, with the GIL released, as in a kernel).
#[pyfunction]
pub fn _panic_probe(py: Python<'_>, where_: &str) -> PyResult<()> {
    guarded("_panic_probe", || match where_ {
        "caller" => panic!("deliberate panic on the calling thread"),
        _ => {
            py.detach(|| {
                pool::install(2, || {
                    (0..64_u32).into_par_iter().for_each(|i| {
                        if i == 63 {
                            panic!("deliberate panic on a pool thread");
                        }
                    });
                })
            })?;
            Ok(())
        }
    })
}
