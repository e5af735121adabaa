//! The one error type of the plain Rust kernels.
//!
//! Every kernel validates its inputs up front and returns `KernelError` instead of
//! panicking. The bindings turn an invalid argument into
//! `recommender_systems.errors.ParameterError` (a `ValueError`) and a request for
//! more memory than the machine has into `InsufficientMemoryError` (a
//! `MemoryError`); both messages name the offending argument.

use std::fmt;

/// What went wrong, as far as the caller is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// An argument is out of range, of the wrong size, or inconsistent with another.
    Invalid,
    /// The arguments are valid but the work would need more memory than is available.
    OutOfMemory,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    /// The argument at fault, as the Python caller named it.
    pub arg: &'static str,
    /// What was expected and what was received.
    pub message: String,
    pub kind: ErrorKind,
}

impl KernelError {
    /// An invalid argument.
    pub fn new(arg: &'static str, message: impl Into<String>) -> Self {
        Self {
            arg,
            message: message.into(),
            kind: ErrorKind::Invalid,
        }
    }

    /// Valid arguments whose work does not fit in memory.
    pub fn out_of_memory(arg: &'static str, message: impl Into<String>) -> Self {
        Self {
            arg,
            message: message.into(),
            kind: ErrorKind::OutOfMemory,
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

/// `a * b`, or an error naming `arg` when the product does not fit in a `usize`.
pub fn checked_product(arg: &'static str, a: usize, b: usize) -> KernelResult<usize> {
    a.checked_mul(b).ok_or_else(|| {
        KernelError::out_of_memory(
            arg,
            format!("{a} x {b} elements overflow the address space"),
        )
    })
}
