//! Borrowed row-major float32 matrices: a slice and its shape, checked once.
//!
//! Kernels take their dense operands as [`Matrix`] / [`MatrixMut`] and check how
//! the shapes relate (one row per CSR row, as many columns as another operand)
//! with the helpers here, so each rule and its message exist in one place.

use crate::error::{check_finite, KernelError, KernelResult};

/// A read-only `rows x cols` matrix.
#[derive(Debug, Clone, Copy)]
pub struct Matrix<'a> {
    name: &'static str,
    data: &'a [f32],
    rows: usize,
    cols: usize,
}

/// A writable `rows x cols` matrix, updated in place by a kernel.
#[derive(Debug)]
pub struct MatrixMut<'a> {
    name: &'static str,
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
}

fn check_shape(name: &'static str, len: usize, rows: usize, cols: usize) -> KernelResult<()> {
    if rows.checked_mul(cols) != Some(len) {
        return Err(KernelError::new(
            name,
            format!("expected {rows} x {cols} values, received {len}"),
        ));
    }
    Ok(())
}

/// The shape rules shared by both kinds of matrix.
pub trait Shape {
    fn name(&self) -> &'static str;
    fn rows(&self) -> usize;
    fn cols(&self) -> usize;
    fn values(&self) -> &[f32];

    /// Fails unless the matrix has `rows` rows; `meaning` says why (e.g. "one per
    /// row of indptr").
    fn expect_rows(&self, rows: usize, meaning: &str) -> KernelResult<()> {
        if self.rows() != rows {
            return Err(KernelError::new(
                self.name(),
                format!("expected {rows} rows ({meaning}), received {}", self.rows()),
            ));
        }
        Ok(())
    }

    /// Fails unless the matrix has as many columns as `other`.
    fn expect_cols_like(&self, other: &impl Shape) -> KernelResult<()> {
        if self.cols() != other.cols() {
            return Err(KernelError::new(
                self.name(),
                format!(
                    "expected {} columns like {}, received {}",
                    other.cols(),
                    other.name(),
                    self.cols()
                ),
            ));
        }
        Ok(())
    }

    /// Fails unless the matrix has at least one column (a factor matrix).
    fn expect_factors(&self) -> KernelResult<()> {
        if self.cols() == 0 {
            return Err(KernelError::new(
                self.name(),
                "expected at least one factor column, received 0",
            ));
        }
        Ok(())
    }

    /// Fails unless every value is finite.
    fn expect_finite(&self) -> KernelResult<()> {
        check_finite(self.name(), self.values())
    }
}

impl<'a> Matrix<'a> {
    /// Views `data` as `rows x cols`, row-major; `name` is the argument's name.
    pub fn new(
        name: &'static str,
        data: &'a [f32],
        rows: usize,
        cols: usize,
    ) -> KernelResult<Self> {
        check_shape(name, data.len(), rows, cols)?;
        Ok(Self {
            name,
            data,
            rows,
            cols,
        })
    }

    /// All values, row after row.
    pub fn data(&self) -> &'a [f32] {
        self.data
    }

    /// The values of `row`.
    #[inline(always)]
    pub fn row(&self, row: usize) -> &'a [f32] {
        &self.data[row * self.cols..(row + 1) * self.cols]
    }
}

impl<'a> MatrixMut<'a> {
    /// Views `data` as `rows x cols`, row-major; `name` is the argument's name.
    pub fn new(
        name: &'static str,
        data: &'a mut [f32],
        rows: usize,
        cols: usize,
    ) -> KernelResult<Self> {
        check_shape(name, data.len(), rows, cols)?;
        Ok(Self {
            name,
            data,
            rows,
            cols,
        })
    }

    /// All values, row after row, writable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        self.data
    }

    /// Gives the values back, for the whole borrow.
    pub fn into_data(self) -> &'a mut [f32] {
        self.data
    }

    /// A read-only view of the same values.
    pub fn as_matrix(&self) -> Matrix<'_> {
        Matrix {
            name: self.name,
            data: self.data,
            rows: self.rows,
            cols: self.cols,
        }
    }
}

impl Shape for Matrix<'_> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn rows(&self) -> usize {
        self.rows
    }
    fn cols(&self) -> usize {
        self.cols
    }
    fn values(&self) -> &[f32] {
        self.data
    }
}

impl Shape for MatrixMut<'_> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn rows(&self) -> usize {
        self.rows
    }
    fn cols(&self) -> usize {
        self.cols
    }
    fn values(&self) -> &[f32] {
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_the_shape_against_the_values() {
        let values = [1.0_f32; 6];
        let m = Matrix::new("m", &values, 2, 3).unwrap();
        assert_eq!((m.rows(), m.cols(), m.row(1).len()), (2, 3, 3));
        assert_eq!(Matrix::new("m", &values, 4, 2).unwrap_err().arg, "m");
        assert!(Matrix::new("m", &[], usize::MAX, 2).is_err());
        assert!(Matrix::new("m", &[], 0, usize::MAX).is_ok());
    }

    #[test]
    fn relations_name_the_argument_and_the_rule() {
        let (a, b) = ([0.0_f32; 6], [0.0_f32; 4]);
        let a = Matrix::new("factors", &a, 2, 3).unwrap();
        let b = Matrix::new("fixed_factors", &b, 2, 2).unwrap();
        let err = b.expect_cols_like(&a).unwrap_err();
        assert_eq!(
            err.to_string(),
            "fixed_factors: expected 3 columns like factors, received 2"
        );
        let err = a.expect_rows(5, "one per row of indptr").unwrap_err();
        assert_eq!(
            err.to_string(),
            "factors: expected 5 rows (one per row of indptr), received 2"
        );
        assert!(Matrix::new("f", &[], 3, 0)
            .unwrap()
            .expect_factors()
            .is_err());
        assert!(Matrix::new("f", &[f32::NAN], 1, 1)
            .unwrap()
            .expect_finite()
            .is_err());
    }
}
