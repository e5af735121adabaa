//! A validated, borrowed view of a CSR matrix.
//!
//! Kernels receive `indptr` (i64), `indices` (i32) and optionally `data` (f32) as
//! plain slices. `CsrView::new` checks every invariant once, so the kernels can
//! index rows without bounds surprises.

use crate::error::{check_finite, check_len, KernelError, KernelResult};

#[derive(Debug, Clone, Copy)]
pub struct CsrView<'a> {
    indptr: &'a [i64],
    indices: &'a [i32],
    data: Option<&'a [f32]>,
    n_cols: usize,
}

impl<'a> CsrView<'a> {
    /// Validates the three arrays of a CSR matrix with `n_rows` rows and `n_cols`
    /// columns. `name` prefixes the argument names in errors (e.g. "exclude").
    pub fn new(
        names: CsrNames,
        indptr: &'a [i64],
        indices: &'a [i32],
        data: Option<&'a [f32]>,
        n_rows: usize,
        n_cols: usize,
    ) -> KernelResult<Self> {
        let rows_plus_one = n_rows
            .checked_add(1)
            .ok_or_else(|| KernelError::new(names.indptr, "expected fewer rows"))?;
        check_len(names.indptr, indptr.len(), rows_plus_one)?;
        if indptr[0] != 0 {
            return Err(KernelError::new(
                names.indptr,
                format!("expected indptr[0] == 0, received {}", indptr[0]),
            ));
        }
        if let Some(row) = indptr.windows(2).position(|w| w[1] < w[0]) {
            return Err(KernelError::new(
                names.indptr,
                format!(
                    "expected a non-decreasing array, received indptr[{}] = {} > indptr[{}] = {}",
                    row,
                    indptr[row],
                    row + 1,
                    indptr[row + 1]
                ),
            ));
        }
        let nnz = indptr[n_rows];
        if usize::try_from(nnz).ok() != Some(indices.len()) {
            return Err(KernelError::new(
                names.indptr,
                format!(
                    "expected indptr[-1] == len(indices) == {}, received {nnz}",
                    indices.len()
                ),
            ));
        }
        if let Some(pos) = indices.iter().position(|&c| c < 0 || c as usize >= n_cols) {
            return Err(KernelError::new(
                names.indices,
                format!(
                    "expected column indices in [0, {n_cols}), received {} at position {pos}",
                    indices[pos]
                ),
            ));
        }
        if let Some(values) = data {
            check_len(names.data, values.len(), indices.len())?;
            check_finite(names.data, values)?;
        }
        Ok(Self {
            indptr,
            indices,
            data,
            n_cols,
        })
    }

    pub fn n_rows(&self) -> usize {
        self.indptr.len() - 1
    }

    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Whether the view was built with values.
    pub fn has_data(&self) -> bool {
        self.data.is_some()
    }

    /// Column indices of every row, concatenated (entry `p` belongs to the row `r`
    /// with `indptr[r] <= p < indptr[r + 1]`).
    pub fn indices(&self) -> &'a [i32] {
        self.indices
    }

    /// The position of `row`'s first entry (`indptr[row]`; `nnz` for `row == n_rows`).
    pub fn row_start(&self, row: usize) -> usize {
        // Validated in `new`: non-negative, non-decreasing, last == nnz.
        self.indptr[row] as usize
    }

    fn bounds(&self, row: usize) -> std::ops::Range<usize> {
        // Validated in `new`: non-negative, non-decreasing, last == nnz.
        self.indptr[row] as usize..self.indptr[row + 1] as usize
    }

    /// Values of every row, concatenated like [`CsrView::indices`], if present.
    pub fn data(&self) -> Option<&'a [f32]> {
        self.data
    }

    /// The values, for the kernels that multiply them (an error without).
    pub fn values(&self) -> KernelResult<&'a [f32]> {
        self.data.ok_or_else(|| {
            KernelError::new("data", "expected the sparse matrix's values, received none")
        })
    }

    /// Column indices of `row`.
    pub fn row_indices(&self, row: usize) -> &'a [i32] {
        &self.indices[self.bounds(row)]
    }

    /// Values of `row`, or `None` when the view was built without data.
    pub fn row_data(&self, row: usize) -> Option<&'a [f32]> {
        self.data.map(|d| &d[self.bounds(row)])
    }
}

/// The Python-side names of a CSR triple, used in error messages.
#[derive(Debug, Clone, Copy)]
pub struct CsrNames {
    pub indptr: &'static str,
    pub indices: &'static str,
    pub data: &'static str,
}

impl CsrNames {
    /// The arrays named plainly `indptr`, `indices` and `data`.
    pub const PLAIN: CsrNames = CsrNames {
        indptr: "indptr",
        indices: "indices",
        data: "data",
    };

    /// The exclusion matrix of the top-k kernels (`exclude_indptr`, ...).
    pub const EXCLUDE: CsrNames = CsrNames {
        indptr: "exclude_indptr",
        indices: "exclude_indices",
        data: "exclude_data",
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: CsrNames = CsrNames::PLAIN;

    #[test]
    fn accepts_valid_matrix_and_reads_rows() {
        let indptr = [0_i64, 2, 2, 3];
        let indices = [1_i32, 3, 0];
        let data = [1.0_f32, 2.0, 3.0];
        let csr = CsrView::new(N, &indptr, &indices, Some(&data), 3, 4).unwrap();
        assert_eq!(csr.row_indices(0), &[1, 3]);
        assert!(csr.row_indices(1).is_empty());
        assert_eq!(csr.row_data(2), Some(&[3.0_f32][..]));
        assert_eq!(csr.nnz(), 3);
    }

    #[test]
    fn rejects_out_of_range_index() {
        let err = CsrView::new(N, &[0, 1], &[7], None, 1, 4).unwrap_err();
        assert_eq!(err.arg, "indices");
        assert!(err.message.contains("[0, 4)"), "{}", err.message);
    }

    #[test]
    fn rejects_negative_index() {
        assert_eq!(
            CsrView::new(N, &[0, 1], &[-1], None, 1, 4).unwrap_err().arg,
            "indices"
        );
    }

    #[test]
    fn rejects_bad_indptr() {
        assert!(CsrView::new(N, &[0, 2, 1], &[0, 1], None, 2, 4).is_err());
        assert!(CsrView::new(N, &[1, 2], &[0, 1], None, 1, 4).is_err());
        assert!(CsrView::new(N, &[0, 3], &[0, 1], None, 1, 4).is_err());
        assert!(CsrView::new(N, &[0, 1], &[0], None, 2, 4).is_err());
    }

    #[test]
    fn rejects_non_finite_data() {
        let err = CsrView::new(N, &[0, 1], &[0], Some(&[f32::NAN]), 1, 4).unwrap_err();
        assert_eq!(err.arg, "data");
    }
}
