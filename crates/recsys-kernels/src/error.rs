//! The one error type of the plain Rust kernels.
//!
//! Every kernel validates its inputs up front and returns `KernelError` instead of
//! panicking; the bindings turn it into a Python `ValueError` whose message names
//! the offending argument.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    /// The argument at fault, as the Python caller named it.
    pub arg: &'static str,
    /// What was expected and what was received.
    pub message: String,
}

impl KernelError {
    pub fn new(arg: &'static str, message: impl Into<String>) -> Self {
        Self {
            arg,
            message: message.into(),
        }
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.arg, self.message)
    }
}

impl std::error::Error for KernelError {}

pub type KernelResult<T> = Result<T, KernelError>;

/// Fails unless `len == expected`.
pub fn check_len(arg: &'static str, len: usize, expected: usize) -> KernelResult<()> {
    if len != expected {
        return Err(KernelError::new(
            arg,
            format!("expected length {expected}, received length {len}"),
        ));
    }
    Ok(())
}

/// Fails unless every value is finite (no NaN, no infinity).
pub fn check_finite(arg: &'static str, values: &[f32]) -> KernelResult<()> {
    if let Some(pos) = values.iter().position(|v| !v.is_finite()) {
        return Err(KernelError::new(
            arg,
            format!(
                "expected finite values, received {} at position {pos}",
                values[pos]
            ),
        ));
    }
    Ok(())
}
