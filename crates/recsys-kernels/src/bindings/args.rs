//! Argument extraction shared by every binding.
//!
//! Arrays arrive as `&Bound<PyAny>` rather than typed numpy parameters so that a
//! wrong dtype, rank or memory layout becomes a `ValueError` naming the argument
//! (PyO3's default would be a `TypeError` without the name).

use numpy::{
    Element, PyArray, PyArrayMethods, PyReadonlyArray, PyReadwriteArray, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::csr::{CsrNames, CsrView};
use crate::error::KernelError;

impl From<KernelError> for PyErr {
    fn from(err: KernelError) -> PyErr {
        PyValueError::new_err(err.to_string())
    }
}

fn describe(obj: &Bound<'_, PyAny>) -> String {
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

/// `obj` as a C-contiguous `D`-dimensional array of `T`, or a `ValueError` naming
/// the argument and describing what was received.
fn contiguous<'a, 'py, T: Element, D: numpy::ndarray::Dimension>(
    obj: &'a Bound<'py, PyAny>,
    name: &'static str,
    dtype: &str,
) -> PyResult<&'a Bound<'py, PyArray<T, D>>> {
    let wrong = || {
        let ndim = D::NDIM.map_or_else(|| "n".to_owned(), |n| n.to_string());
        PyValueError::new_err(format!(
            "{name}: expected a C-contiguous {ndim}-D {dtype} array, received {}",
            describe(obj)
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
        .map_err(|_| PyValueError::new_err(format!("{name}: the array is being written elsewhere")))
}

/// Borrows `obj` as a writable C-contiguous `D`-dimensional array of `T`, which a
/// kernel updates in place. Fails if another argument shares its memory.
pub fn array_mut<'py, T: Element, D: numpy::ndarray::Dimension>(
    obj: &Bound<'py, PyAny>,
    name: &'static str,
    dtype: &str,
) -> PyResult<PyReadwriteArray<'py, T, D>> {
    contiguous(obj, name, dtype)?.try_readwrite().map_err(|_| {
        PyValueError::new_err(format!(
            "{name}: expected a writable array that shares no memory with another argument"
        ))
    })
}

/// Views a writable contiguous array as a mutable slice.
pub fn slice_mut<'a, T: Element, D: numpy::ndarray::Dimension>(
    arr: &'a mut PyReadwriteArray<'_, T, D>,
    name: &'static str,
) -> PyResult<&'a mut [T]> {
    arr.as_slice_mut()
        .map_err(|e| PyValueError::new_err(format!("{name}: {e}")))
}

/// Views a borrowed contiguous array as a slice.
pub fn slice<'a, T: Element, D: numpy::ndarray::Dimension>(
    arr: &'a PyReadonlyArray<'_, T, D>,
    name: &'static str,
) -> PyResult<&'a [T]> {
    arr.as_slice()
        .map_err(|e| PyValueError::new_err(format!("{name}: {e}")))
}

/// Converts a Python integer argument that must be `>= 0`.
pub fn non_negative(name: &'static str, value: i64) -> PyResult<usize> {
    usize::try_from(value).map_err(|_| {
        PyValueError::new_err(format!(
            "{name}: expected an integer >= 0, received {value}"
        ))
    })
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
}
