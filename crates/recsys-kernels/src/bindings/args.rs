//! What every binding shares: typed errors, the guard around each kernel call,
//! and argument extraction.
//!
//! - Errors are the library's own (`recommender_systems.errors`): an invalid
//!   argument raises `ParameterError` (a `ValueError`), a request for more memory
//!   than is available `InsufficientMemoryError` (a `MemoryError`), and a panic
//!   that escaped a kernel `KernelError` (a `RuntimeError`), never PyO3's
//!   `PanicException` (a `BaseException` that `except Exception` misses).
//! - [`guarded`] wraps the body of every binding.
//! - Scalars are read by the `from_py_with` extractors below, so a wrong type is
//!   a `ParameterError` naming the argument too (PyO3's own would be a bare
//!   `TypeError`); arrays arrive as `&Bound<PyAny>` for the same reason.

use std::panic::{catch_unwind, AssertUnwindSafe};

use numpy::ndarray::Array2;
use numpy::{
    Element, IntoPyArray, PyArray, PyArray2, PyArrayMethods, PyReadonlyArray, PyReadonlyArray2,
    PyReadwriteArray, PyReadwriteArray2, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyType};

use crate::csr::{CsrNames, CsrView};
use crate::error::{ErrorKind, KernelError};
use crate::matrix::{Matrix, MatrixMut};
use crate::pool;
use crate::topk::TopK;

/// The classes of `recommender_systems.errors` the bindings raise.
#[derive(Debug, Clone, Copy)]
enum ErrorClass {
    Parameter,
    Memory,
    Internal,
}

impl ErrorClass {
    fn name(self) -> &'static str {
        match self {
            Self::Parameter => "ParameterError",
            Self::Memory => "InsufficientMemoryError",
            Self::Internal => "KernelError",
        }
    }

    fn cell(self) -> &'static PyOnceLock<Py<PyType>> {
        static PARAMETER: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        static MEMORY: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        static INTERNAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        match self {
            Self::Parameter => &PARAMETER,
            Self::Memory => &MEMORY,
            Self::Internal => &INTERNAL,
        }
    }

    fn error(self, message: String) -> PyErr {
        Python::attach(|py| {
            match self
                .cell()
                .import(py, "recommender_systems.errors", self.name())
            {
                Ok(class) => PyErr::from_type(class.clone(), message),
                // Only if the package is broken: the nearest built-in class.
                Err(_) => match self {
                    Self::Parameter => PyValueError::new_err(message),
                    Self::Memory => PyMemoryError::new_err(message),
                    Self::Internal => PyRuntimeError::new_err(message),
                },
            }
        })
    }
}

impl From<KernelError> for PyErr {
    fn from(err: KernelError) -> PyErr {
        let class = match err.kind {
            ErrorKind::Invalid => ErrorClass::Parameter,
            ErrorKind::OutOfMemory => ErrorClass::Memory,
        };
        class.error(err.to_string())
    }
}

/// A `ParameterError` with `message` (which starts with the argument's name).
pub fn invalid(message: String) -> PyErr {
    ErrorClass::Parameter.error(message)
}

/// Runs the body of the binding `kernel`, turning a panic into
/// `recommender_systems.errors.KernelError`.
///
/// Kernels validate their arguments and do not panic; this is the guarantee for
/// the bug that slips through. After such an error, the arrays the kernel
/// updates in place may be partly updated (hence `AssertUnwindSafe`); nothing
/// else is shared with the failed call.
pub fn guarded<T>(kernel: &'static str, body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => {
            let reason = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            Err(ErrorClass::Internal.error(format!(
                "{kernel}: the Rust kernel failed ({reason}); this is a bug in \
                 recommender_systems, please report it with the arguments that caused it"
            )))
        }
    }
}

/// At most this many characters of a received value go into a message.
const SHOWN_CHARS: usize = 60;

/// A received value for an error message: its repr, cut short.
fn shown(obj: &Bound<'_, PyAny>) -> String {
    if obj.cast::<PyUntypedArray>().is_ok() {
        return described(obj);
    }
    let repr = obj
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| described(obj));
    if repr.chars().count() <= SHOWN_CHARS {
        return repr;
    }
    let head: String = repr.chars().take(SHOWN_CHARS).collect();
    format!("{head}... ({})", described(obj))
}

/// What a received value is: an array's rank, dtype and layout, or a type.
fn described(obj: &Bound<'_, PyAny>) -> String {
    match obj.cast::<PyUntypedArray>() {
        Ok(arr) => format!(
            "a {}-D {} array{}",
            arr.ndim(),
            arr.dtype(),
            if arr.is_c_contiguous() {
                ""
            } else {
                " that is not C-contiguous"
            }
        ),
        Err(_) => match obj.get_type().name() {
            Ok(name) => format!("an object of type {name}"),
            Err(_) => "an object of unknown type".to_owned(),
        },
    }
}

fn expected(name: &str, what: &str, obj: &Bound<'_, PyAny>) -> PyErr {
    invalid(format!("{name}: expected {what}, received {}", shown(obj)))
}

/// The integer value of `obj` if it is an integer (not a bool), else `None`.
/// Integers beyond 64 bits give `Err(sign)`.
fn integer(obj: &Bound<'_, PyAny>) -> Option<Result<i128, bool>> {
    if obj.is_instance_of::<PyBool>() {
        return None;
    }
    if let Ok(value) = obj.extract::<i64>() {
        return Some(Ok(i128::from(value)));
    }
    if let Ok(value) = obj.extract::<u64>() {
        return Some(Ok(i128::from(value)));
    }
    // Beyond 64 bits, or not an integer at all (floats have no __index__).
    let index = obj.call_method0("__index__").ok()?;
    let negative = index.lt(0).ok()?;
    Some(Err(!negative))
}

/// An integer `>= 0` that fits in 64 bits.
fn count(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<usize> {
    match integer(obj) {
        Some(Ok(value)) if value >= 0 => usize::try_from(value)
            .map_err(|_| expected(name, "an integer >= 0 that fits in a usize", obj)),
        Some(Err(true)) => Err(expected(name, "an integer >= 0 that fits in 64 bits", obj)),
        _ => Err(expected(name, "an integer >= 0", obj)),
    }
}

/// An integer `>= 0`; one too large for a `usize` means "all there is".
fn at_most(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<usize> {
    match integer(obj) {
        Some(Ok(value)) if value >= 0 => Ok(usize::try_from(value).unwrap_or(usize::MAX)),
        Some(Err(true)) => Ok(usize::MAX),
        _ => Err(expected(name, "an integer >= 0", obj)),
    }
}

/// A thread count: `0` (all cores) to `MAX_THREADS`.
fn threads(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<usize> {
    let bound = format!("an integer in [0, {}] (0: all cores)", pool::MAX_THREADS);
    match integer(obj) {
        Some(Ok(value)) if (0..=pool::MAX_THREADS as i128).contains(&value) => Ok(value as usize),
        Some(Ok(value)) if value < 0 => Err(expected(name, "an integer >= 0", obj)),
        _ => Err(expected(name, &bound, obj)),
    }
}

/// An integer in `[0, 2**64)`.
fn unsigned(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<u64> {
    match integer(obj) {
        Some(Ok(value)) => {
            u64::try_from(value).map_err(|_| expected(name, "an integer in [0, 2**64)", obj))
        }
        _ => Err(expected(name, "an integer in [0, 2**64)", obj)),
    }
}

/// A real number (an int or a float, not a bool); the kernel checks its range.
fn number(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<f64> {
    if obj.is_instance_of::<PyBool>() {
        return Err(expected(name, "a number", obj));
    }
    obj.extract::<f64>()
        .map_err(|_| expected(name, "a number", obj))
}

/// `True` or `False`.
fn flag(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<bool> {
    obj.extract::<bool>()
        .map_err(|_| expected(name, "True or False", obj))
}

/// One of `choices`, as the static string it equals.
fn choice(obj: &Bound<'_, PyAny>, name: &str, choices: &[&'static str]) -> PyResult<&'static str> {
    let value = obj.extract::<String>().ok();
    choices
        .iter()
        .find(|c| value.as_deref() == Some(**c))
        .copied()
        .ok_or_else(|| {
            // Worded like `_validation.check_choice`.
            let listed: Vec<String> = choices.iter().map(|c| format!("'{c}'")).collect();
            expected(name, &format!("one of {}", listed.join(", ")), obj)
        })
}

/// `from_py_with` extractors, one per scalar parameter: each knows its name.
macro_rules! extractors {
    ($($param:ident: $kind:ident -> $out:ty;)*) => {$(
        pub fn $param(obj: &Bound<'_, PyAny>) -> PyResult<$out> {
            $kind(obj, stringify!($param))
        }
    )*};
}

extractors! {
    k: at_most -> usize;
    n_threads: threads -> usize;
    n_cols: count -> usize;
    cg_steps: count -> usize;
    seed: unsigned -> u64;
    alpha: number -> f64;
    learning_rate: number -> f64;
    reg: number -> f64;
    shrink: number -> f64;
    exact: flag -> bool;
    exclude_diagonal: flag -> bool;
}

/// The similarity measure of `sparse_topk_product`.
pub fn measure(obj: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    choice(obj, "measure", &["dot", "cosine", "jaccard"])
}

/// `obj` as a C-contiguous `D`-dimensional array of `T`, or a `ParameterError`
/// naming the argument and describing what was received.
fn contiguous<'a, 'py, T: Element, D: numpy::ndarray::Dimension>(
    obj: &'a Bound<'py, PyAny>,
    name: &'static str,
    dtype: &str,
) -> PyResult<&'a Bound<'py, PyArray<T, D>>> {
    let wrong = || {
        let ndim = D::NDIM.map_or_else(|| "n".to_owned(), |n| n.to_string());
        invalid(format!(
            "{name}: expected a C-contiguous {ndim}-D {dtype} array, received {}",
            described(obj)
        ))
    };
    let arr = obj.cast::<PyArray<T, D>>().map_err(|_| wrong())?;
    if !arr.is_c_contiguous() {
        return Err(wrong());
    }
    Ok(arr)
}

/// Borrows `obj` as a C-contiguous `D`-dimensional array of `T`.
pub fn array<'py, T: Element, D: numpy::ndarray::Dimension>(
    obj: &Bound<'py, PyAny>,
    name: &'static str,
    dtype: &str,
) -> PyResult<PyReadonlyArray<'py, T, D>> {
    contiguous(obj, name, dtype)?
        .try_readonly()
        .map_err(|_| invalid(format!("{name}: the array is being written elsewhere")))
}

/// Borrows `obj` as a writable C-contiguous `D`-dimensional array of `T`, which a
/// kernel updates in place. Fails if another argument shares its memory.
pub fn array_mut<'py, T: Element, D: numpy::ndarray::Dimension>(
    obj: &Bound<'py, PyAny>,
    name: &'static str,
    dtype: &str,
) -> PyResult<PyReadwriteArray<'py, T, D>> {
    contiguous(obj, name, dtype)?.try_readwrite().map_err(|_| {
        invalid(format!(
            "{name}: expected a writable array that shares no memory with another argument"
        ))
    })
}

/// Views a borrowed contiguous array as a slice.
pub fn slice<'a, T: Element, D: numpy::ndarray::Dimension>(
    arr: &'a PyReadonlyArray<'_, T, D>,
    name: &'static str,
) -> PyResult<&'a [T]> {
    arr.as_slice().map_err(|e| invalid(format!("{name}: {e}")))
}

/// [`array`] for an optional argument: `None` stays `None`.
pub fn optional_array<'py, T: Element, D: numpy::ndarray::Dimension>(
    obj: Option<&Bound<'py, PyAny>>,
    name: &'static str,
    dtype: &str,
) -> PyResult<Option<PyReadonlyArray<'py, T, D>>> {
    obj.map(|o| array(o, name, dtype)).transpose()
}

/// [`slice`] of an optional borrowed array.
pub fn optional_slice<'a, T: Element, D: numpy::ndarray::Dimension>(
    arr: &'a Option<PyReadonlyArray<'_, T, D>>,
    name: &'static str,
) -> PyResult<Option<&'a [T]>> {
    arr.as_ref().map(|a| slice(a, name)).transpose()
}

/// Views a writable contiguous array as a mutable slice.
pub fn slice_mut<'a, T: Element, D: numpy::ndarray::Dimension>(
    arr: &'a mut PyReadwriteArray<'_, T, D>,
    name: &'static str,
) -> PyResult<&'a mut [T]> {
    arr.as_slice_mut()
        .map_err(|e| invalid(format!("{name}: {e}")))
}

/// A borrowed 2-D float32 array as a [`Matrix`] of its shape: the one place the
/// bindings read a dense operand's shape (kernels check how shapes relate).
pub fn matrix<'a>(arr: &'a PyReadonlyArray2<'_, f32>, name: &'static str) -> PyResult<Matrix<'a>> {
    let (rows, cols) = (arr.shape()[0], arr.shape()[1]);
    Ok(Matrix::new(name, slice(arr, name)?, rows, cols)?)
}

/// A writable 2-D float32 array as a [`MatrixMut`] of its shape.
pub fn matrix_mut<'a>(
    arr: &'a mut PyReadwriteArray2<'_, f32>,
    name: &'static str,
) -> PyResult<MatrixMut<'a>> {
    let (rows, cols) = (arr.shape()[0], arr.shape()[1]);
    Ok(MatrixMut::new(name, slice_mut(arr, name)?, rows, cols)?)
}

/// Borrowed CSR arrays, kept alive while a kernel reads them.
pub struct CsrArgs<'py> {
    indptr: PyReadonlyArray<'py, i64, numpy::Ix1>,
    indices: PyReadonlyArray<'py, i32, numpy::Ix1>,
    data: Option<PyReadonlyArray<'py, f32, numpy::Ix1>>,
    names: CsrNames,
}

impl<'py> CsrArgs<'py> {
    pub fn extract(
        names: CsrNames,
        indptr: &Bound<'py, PyAny>,
        indices: &Bound<'py, PyAny>,
        data: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Self {
            indptr: array(indptr, names.indptr, "int64")?,
            indices: array(indices, names.indices, "int32")?,
            data: data.map(|d| array(d, names.data, "float32")).transpose()?,
            names,
        })
    }

    /// The number of rows `indptr` describes (its length minus one).
    pub fn n_rows(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    /// Validates the arrays as an `n_rows x n_cols` matrix.
    pub fn view(&self, n_rows: usize, n_cols: usize) -> PyResult<CsrView<'_>> {
        let data = match &self.data {
            Some(d) => Some(slice(d, self.names.data)?),
            None => None,
        };
        Ok(CsrView::new(
            self.names,
            slice(&self.indptr, self.names.indptr)?,
            slice(&self.indices, self.names.indices)?,
            data,
            n_rows,
            n_cols,
        )?)
    }

    /// Validates the arrays as a matrix of as many rows as `indptr` describes.
    pub fn view_rows(&self, n_cols: usize) -> PyResult<CsrView<'_>> {
        self.view(self.n_rows(), n_cols)
    }
}

/// A row exclusion CSR given as its two arrays (``exclude_indptr``,
/// ``exclude_indices``): both, or neither.
pub fn exclusion<'py>(
    indptr: Option<&Bound<'py, PyAny>>,
    indices: Option<&Bound<'py, PyAny>>,
) -> PyResult<Option<CsrArgs<'py>>> {
    match (indptr, indices) {
        (Some(p), Some(i)) => Ok(Some(CsrArgs::extract(CsrNames::EXCLUDE, p, i, None)?)),
        (None, None) => Ok(None),
        _ => Err(invalid(
            "exclude_indptr, exclude_indices: expected both or neither, received one".to_owned(),
        )),
    }
}

/// A top-k kernel's lists as NumPy arrays: (indices int64, scores float32).
pub type TopKArrays<'py> = (Bound<'py, PyArray2<i64>>, Bound<'py, PyArray2<f32>>);

/// `out` as `rows` lists of `out.width` entries each.
pub fn top_k_arrays(py: Python<'_>, rows: usize, out: TopK) -> PyResult<TopKArrays<'_>> {
    let shape = (rows, out.width);
    let indices =
        Array2::from_shape_vec(shape, out.indices).map_err(|e| invalid(format!("k: {e}")))?;
    let scores =
        Array2::from_shape_vec(shape, out.scores).map_err(|e| invalid(format!("k: {e}")))?;
    Ok((indices.into_pyarray(py), scores.into_pyarray(py)))
}
