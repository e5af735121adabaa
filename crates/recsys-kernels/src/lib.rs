//! Kernels of `recommender_systems`: plain Rust modules that know nothing of ids
//! or DataFrames, plus thin PyO3 bindings (feature `python`) exposed to Python as
//! `recommender_systems._kernels`.

pub mod als;
pub mod bpr;
pub mod csr;
pub mod error;
pub mod factor_topk;
pub mod gram;
pub mod knn;
pub mod matrix;
pub mod memory;
pub mod pool;
pub mod product;
pub mod rng;
pub mod row_product;
pub mod simd;
#[cfg(test)]
mod testing;
pub mod topk;

#[cfg(feature = "python")]
mod bindings;
