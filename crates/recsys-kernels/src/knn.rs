//! Sparse x sparse product that keeps only the `k` largest entries of each row.
//!
//! This is the neighbour search behind the item-item and user-user models: with
//! `A` the (weighted) items x users matrix and `B` its transpose, row `i` of
//! `A @ B` holds the similarity of item `i` to every item. The product is never
//! materialised: each row is accumulated in a dense per-thread buffer, turned
//! into similarities by the chosen `Measure`, and cut to its best `k` entries, so
//! memory is `O(rows x k)` whatever the number of columns.
//!
//! Rules, shared with the NumPy reference:
//! - an entry that is exactly 0, or not finite after the measure, is never kept;
//! - with `exclude_diagonal`, column `i` of row `i` is never kept;
//! - the best `k` are the largest values, ties going to the lower column index;
//! - output rows are sorted by column (a canonical CSR).

use rayon::prelude::*;

use crate::csr::{CsrNames, CsrView};
use crate::error::{check_finite, check_len, KernelError, KernelResult};
use crate::{memory, pool};

/// How a row's dot products become similarities.
#[derive(Debug, Clone, Copy)]
pub enum Measure<'a> {
    /// The dot product itself.
    Dot,
    /// `dot / (row_norms[i] * col_norms[j] + shrink)`.
    Cosine {
        row_norms: &'a [f32],
        col_norms: &'a [f32],
        shrink: f32,
    },
    /// `dot / (row_counts[i] + col_counts[j] - dot + shrink)`: on binary rows,
    /// the size of the intersection over the size of the union.
    Jaccard {
        row_counts: &'a [f32],
        col_counts: &'a [f32],
        shrink: f32,
    },
}

impl Measure<'_> {
    fn check(&self, n_rows: usize, n_cols: usize) -> KernelResult<()> {
        let (rows, cols, shrink) = match self {
            Measure::Dot => return Ok(()),
            Measure::Cosine {
                row_norms,
                col_norms,
                shrink,
            } => (row_norms, col_norms, shrink),
            Measure::Jaccard {
                row_counts,
                col_counts,
                shrink,
            } => (row_counts, col_counts, shrink),
        };
        check_len("row_norms", rows.len(), n_rows)?;
        check_len("col_norms", cols.len(), n_cols)?;
        check_finite("row_norms", rows)?;
        check_finite("col_norms", cols)?;
        check_shrink(*shrink)
    }

    #[inline]
    fn apply(&self, row: usize, col: usize, dot: f32) -> f32 {
        match *self {
            Measure::Dot => dot,
            Measure::Cosine {
                row_norms,
                col_norms,
                shrink,
            } => dot / (row_norms[row] * col_norms[col] + shrink),
            Measure::Jaccard {
                row_counts,
                col_counts,
                shrink,
            } => dot / (row_counts[row] + col_counts[col] - dot + shrink),
        }
    }
}

/// Fails unless `shrink` is a finite number `>= 0` (whatever the measure: a
/// caller passing a bad one has a bug, even where "dot" ignores it).
pub fn check_shrink(shrink: f32) -> KernelResult<()> {
    if !(shrink.is_finite() && shrink >= 0.0) {
        return Err(KernelError::new(
            "shrink",
            format!("expected a finite number >= 0, received {shrink}"),
        ));
    }
    Ok(())
}

/// A CSR matrix produced by a kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseRows {
    pub indptr: Vec<i64>,
    pub indices: Vec<i32>,
    pub data: Vec<f32>,
}

/// Rows of `A @ B` reduced to their `k` best entries (see the module docs).
///
/// `a` is `n x m` and `b` is `m x n_cols`; both must carry values. A `k` above
/// `n_cols` keeps every non-zero entry.
pub fn product_topk(
    a: &CsrView<'_>,
    b: &CsrView<'_>,
    measure: Measure<'_>,
    k: usize,
    exclude_diagonal: bool,
    n_threads: usize,
) -> KernelResult<SparseRows> {
    pool::check_threads(n_threads)?;
    check_operands(a, b)?;
    let n_rows = a.n_rows();
    measure.check(n_rows, b.n_cols())?;
    let job = RowJob {
        a,
        b,
        measure,
        k: k.min(b.n_cols()),
        exclude_diagonal,
        span: column_span(b),
    };
    let threads = if n_rows < 2 {
        1
    } else {
        pool::effective_threads(n_threads)
    };
    job.check_memory(threads)?;
    let rows: Vec<Vec<(i32, f32)>> = if threads == 1 {
        let mut scratch = Scratch::new(job.span)?;
        (0..n_rows).map(|i| job.row(i, &mut scratch)).collect()
    } else {
        pool::install(n_threads, || {
            (0..n_rows)
                .into_par_iter()
                .map_init(
                    || Scratch::new(job.span),
                    |scratch, i| match scratch {
                        Ok(scratch) => Ok(job.row(i, scratch)),
                        Err(e) => Err(e.clone()),
                    },
                )
                .collect::<KernelResult<_>>()
        })??
    };
    concatenate(rows)
}

fn check_operands(a: &CsrView<'_>, b: &CsrView<'_>) -> KernelResult<()> {
    if a.n_cols() != b.n_rows() {
        return Err(KernelError::new(
            "b_indptr",
            format!(
                "expected b to have as many rows as a has columns ({}), received {}",
                a.n_cols(),
                b.n_rows()
            ),
        ));
    }
    if !a.has_data() {
        return Err(KernelError::new("a_data", "expected values, received none"));
    }
    if !b.has_data() {
        return Err(KernelError::new("b_data", "expected values, received none"));
    }
    if b.n_cols() > i32::MAX as usize {
        return Err(KernelError::new(
            "n_cols",
            format!(
                "expected at most {} columns, received {}",
                i32::MAX,
                b.n_cols()
            ),
        ));
    }
    Ok(())
}

/// One more than the largest column index of `b` (0 if empty): the width of the
/// accumulators, which may be far below `n_cols` (columns never used need none).
fn column_span(b: &CsrView<'_>) -> usize {
    b.indices().iter().max().map_or(0, |&c| c as usize + 1)
}

/// The rows, one after the other, as a CSR matrix.
fn concatenate(rows: Vec<Vec<(i32, f32)>>) -> KernelResult<SparseRows> {
    let nnz: usize = rows.iter().map(Vec::len).sum();
    let mut out = SparseRows {
        indptr: memory::with_capacity("k", rows.len() + 1)?,
        indices: memory::with_capacity("k", nnz)?,
        data: memory::with_capacity("k", nnz)?,
    };
    out.indptr.push(0);
    for row in rows {
        for (col, value) in row {
            out.indices.push(col);
            out.data.push(value);
        }
        out.indptr.push(out.indices.len() as i64);
    }
    Ok(out)
}

/// Per-thread buffers, reused from row to row.
struct Scratch {
    /// Dense accumulator over the columns; all zeros between rows.
    acc: Vec<f32>,
    /// Columns that may be non-zero in `acc` (sparse rows only; may repeat).
    touched: Vec<u32>,
    candidates: Vec<(f32, u32)>,
}

impl Scratch {
    fn new(span: usize) -> KernelResult<Self> {
        Ok(Self {
            acc: memory::zeroed("n_cols", span)?,
            touched: Vec::new(),
            candidates: Vec::new(),
        })
    }
}

struct RowJob<'a> {
    a: &'a CsrView<'a>,
    b: &'a CsrView<'a>,
    measure: Measure<'a>,
    /// At most the number of columns.
    k: usize,
    exclude_diagonal: bool,
    /// The width of the accumulators (see [`column_span`]).
    span: usize,
}

impl RowJob<'_> {
    /// The products `row` accumulates: the entries of `b` its entries reach.
    fn work(&self, row: usize) -> usize {
        self.a
            .row_indices(row)
            .iter()
            .map(|&u| self.b.row_indices(u as usize).len())
            .fold(0, usize::saturating_add)
    }

    /// Fails unless the accumulators of `threads` threads and the largest output
    /// these operands can give fit in the available memory.
    fn check_memory(&self, threads: usize) -> KernelResult<()> {
        let accumulators = threads
            .checked_mul(self.span)
            .and_then(memory::bytes_of::<f32>);
        memory::ensure(
            "n_cols",
            &format!(
                "the accumulators ({threads} threads x {} columns)",
                self.span
            ),
            accumulators,
        )?;
        // A row keeps at most k entries, and no more than the products it sums
        // or the columns they reach; each kept entry is held twice (its row, then
        // the output) as a column and a value.
        let entries = (0..self.a.n_rows())
            .map(|i| self.work(i).min(self.k).min(self.span))
            .fold(0, usize::saturating_add);
        let output = entries.checked_mul(2 * std::mem::size_of::<(i32, f32)>());
        memory::ensure("k", &format!("the output ({entries} entries)"), output)
    }

    fn row(&self, i: usize, s: &mut Scratch) -> Vec<(i32, f32)> {
        if self.k == 0 {
            return Vec::new();
        }
        let a_cols = self.a.row_indices(i);
        let a_vals = self.a.row_data(i).unwrap_or(&[]);
        let n_cols = s.acc.len();
        // A row touching a good share of the columns is cheaper to scan whole than
        // to track column by column.
        let dense = self.work(i).saturating_mul(4) >= n_cols;
        for (&u, &w) in a_cols.iter().zip(a_vals) {
            let u = u as usize;
            let cols = self.b.row_indices(u);
            let vals = self.b.row_data(u).unwrap_or(&[]);
            // The scatter is the kernel's hot loop: it indexes without per-entry
            // checks, which cannot fail (`span` is one more than the largest
            // column of `b`).
            debug_assert!(cols.iter().all(|&j| (j as usize) < n_cols));
            if dense {
                for (&j, &v) in cols.iter().zip(vals) {
                    // SAFETY: 0 <= j < span = acc.len() (column indices are checked
                    // non-negative by CsrView, and span covers the largest).
                    unsafe { *s.acc.get_unchecked_mut(j as usize) += w * v };
                }
            } else {
                for (&j, &v) in cols.iter().zip(vals) {
                    // SAFETY: as above.
                    let slot = unsafe { s.acc.get_unchecked_mut(j as usize) };
                    if *slot == 0.0 {
                        s.touched.push(j as u32);
                    }
                    *slot += w * v;
                }
            }
        }

        let mut best = Best::new(self.k, &mut s.candidates);
        let mut take = |j: usize, acc: &mut [f32]| {
            // Reading resets the slot, so a column listed twice is counted once.
            let dot = std::mem::take(&mut acc[j]);
            if dot == 0.0 || (self.exclude_diagonal && j == i) {
                return;
            }
            let value = self.measure.apply(i, j, dot);
            if value != 0.0 && value.is_finite() {
                best.offer(value, j as u32);
            }
        };
        if dense {
            for j in 0..n_cols {
                if s.acc[j] != 0.0 {
                    take(j, &mut s.acc);
                }
            }
        } else {
            for &j in &s.touched {
                take(j as usize, &mut s.acc);
            }
            s.touched.clear();
        }
        best.finish();
        let mut kept: Vec<(i32, f32)> = s.candidates.iter().map(|&(v, j)| (j as i32, v)).collect();
        kept.sort_unstable_by_key(|&(j, _)| j);
        kept
    }
}

/// The `k` best `(value, column)` pairs seen so far: larger values first, ties to
/// the lower column. Candidates pile up in a buffer that is cut back to the best
/// `k` whenever it holds `4k`; after a cut, anything below the `k`-th value is
/// turned away at once, so a long row costs little more than one comparison per
/// candidate.
struct Best<'a> {
    k: usize,
    buffer: &'a mut Vec<(f32, u32)>,
    threshold: f32,
}

impl<'a> Best<'a> {
    fn new(k: usize, buffer: &'a mut Vec<(f32, u32)>) -> Self {
        buffer.clear();
        Self {
            k,
            buffer,
            threshold: f32::NEG_INFINITY,
        }
    }

    #[inline]
    fn offer(&mut self, value: f32, column: u32) {
        // Equal values are kept: in a sparse row, columns do not arrive in order.
        if value >= self.threshold {
            self.buffer.push((value, column));
            // Saturating: `k` may be as large as the number of columns.
            if self.buffer.len() >= self.k.max(8).saturating_mul(4) {
                self.cut();
                self.threshold = self.buffer[self.k - 1].0;
            }
        }
    }

    fn cut(&mut self) {
        if self.buffer.len() > self.k {
            let best_first =
                |x: &(f32, u32), y: &(f32, u32)| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1));
            self.buffer.select_nth_unstable_by(self.k - 1, best_first);
            self.buffer.truncate(self.k);
        }
    }

    fn finish(mut self) {
        self.cut();
    }
}

/// The Python names of the two operands, used in error messages.
pub const A_NAMES: CsrNames = CsrNames {
    indptr: "a_indptr",
    indices: "a_indices",
    data: "a_data",
};
pub const B_NAMES: CsrNames = CsrNames {
    indptr: "b_indptr",
    indices: "b_indices",
    data: "b_data",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::lcg;

    const A: CsrNames = A_NAMES;
    const B: CsrNames = B_NAMES;

    struct Dense {
        rows: usize,
        cols: usize,
        values: Vec<f32>,
    }

    impl Dense {
        fn csr(&self) -> (Vec<i64>, Vec<i32>, Vec<f32>) {
            let mut indptr = vec![0_i64];
            let (mut indices, mut data) = (Vec::new(), Vec::new());
            for r in 0..self.rows {
                for c in 0..self.cols {
                    let v = self.values[r * self.cols + c];
                    if v != 0.0 {
                        indices.push(c as i32);
                        data.push(v);
                    }
                }
                indptr.push(indices.len() as i64);
            }
            (indptr, indices, data)
        }

        fn transpose(&self) -> Dense {
            let mut values = vec![0.0; self.values.len()];
            for r in 0..self.rows {
                for c in 0..self.cols {
                    values[c * self.rows + r] = self.values[r * self.cols + c];
                }
            }
            Dense {
                rows: self.cols,
                cols: self.rows,
                values,
            }
        }
    }

    /// Reference: the full dense product, then a sort of each row.
    fn brute_force(
        a: &Dense,
        b: &Dense,
        k: usize,
        diag: bool,
        measure: &Measure,
    ) -> Vec<Vec<(i32, f32)>> {
        (0..a.rows)
            .map(|i| {
                let mut row: Vec<(i32, f32)> = (0..b.cols)
                    .filter_map(|j| {
                        let dot: f32 = (0..a.cols)
                            .map(|u| a.values[i * a.cols + u] * b.values[u * b.cols + j])
                            .sum();
                        let v = measure.apply(i, j, dot);
                        (dot != 0.0 && v != 0.0 && !(diag && i == j)).then_some((j as i32, v))
                    })
                    .collect();
                row.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
                row.truncate(k);
                row.sort_by_key(|&(j, _)| j);
                row
            })
            .collect()
    }

    fn random_matrix(seed: &mut u64, rows: usize, cols: usize) -> Dense {
        // Small integers keep every sum exact, whatever the order of addition.
        let values = (0..rows * cols)
            .map(|_| match lcg(seed) % 6 {
                0 => 1.0,
                1 => 2.0,
                2 => -1.0,
                _ => 0.0,
            })
            .collect();
        Dense { rows, cols, values }
    }

    fn rows_of(out: &SparseRows) -> Vec<Vec<(i32, f32)>> {
        out.indptr
            .windows(2)
            .map(|w| {
                (w[0] as usize..w[1] as usize)
                    .map(|p| (out.indices[p], out.data[p]))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn dot_matches_brute_force_sparse_and_dense_rows() {
        let mut seed = 3_u64;
        for &(n, m, k, diag, threads) in &[
            (6, 4, 2, true, 1),
            (30, 50, 5, false, 2),
            (40, 3, 100, true, 0),
            (200, 20, 7, true, 2),
        ] {
            let x = random_matrix(&mut seed, n, m);
            let xt = x.transpose();
            let (ap, ai, ad) = x.csr();
            let (bp, bi, bd) = xt.csr();
            let a = CsrView::new(A, &ap, &ai, Some(&ad), n, m).unwrap();
            let b = CsrView::new(B, &bp, &bi, Some(&bd), m, n).unwrap();
            let got = product_topk(&a, &b, Measure::Dot, k, diag, threads).unwrap();
            assert_eq!(rows_of(&got), brute_force(&x, &xt, k, diag, &Measure::Dot));
        }
    }

    #[test]
    fn cosine_and_jaccard_apply_their_formulas() {
        let mut seed = 11_u64;
        let x = random_matrix(&mut seed, 25, 30);
        let xt = x.transpose();
        let (ap, ai, ad) = x.csr();
        let (bp, bi, bd) = xt.csr();
        let a = CsrView::new(A, &ap, &ai, Some(&ad), 25, 30).unwrap();
        let b = CsrView::new(B, &bp, &bi, Some(&bd), 30, 25).unwrap();
        let norms: Vec<f32> = (0..25).map(|r| 1.0 + r as f32).collect();
        for measure in [
            Measure::Cosine {
                row_norms: &norms,
                col_norms: &norms,
                shrink: 2.0,
            },
            Measure::Jaccard {
                row_counts: &norms,
                col_counts: &norms,
                shrink: 0.5,
            },
        ] {
            let got = product_topk(&a, &b, measure, 4, true, 2).unwrap();
            assert_eq!(rows_of(&got), brute_force(&x, &xt, 4, true, &measure));
        }
    }

    #[test]
    fn ties_go_to_the_lower_column() {
        // Row 0 of A @ B is [1, 1, 1, 1]: the two kept columns are 0 and 1.
        let (ap, ai, ad) = (vec![0_i64, 1], vec![0_i32], vec![1.0_f32]);
        let (bp, bi, bd) = (vec![0_i64, 4], vec![3_i32, 2, 1, 0], vec![1.0_f32; 4]);
        let a = CsrView::new(A, &ap, &ai, Some(&ad), 1, 1).unwrap();
        let b = CsrView::new(B, &bp, &bi, Some(&bd), 1, 4).unwrap();
        let got = product_topk(&a, &b, Measure::Dot, 2, false, 1).unwrap();
        assert_eq!(got.indices, vec![0, 1]);
    }

    #[test]
    fn k_zero_and_empty_inputs() {
        let (p, i, d) = (vec![0_i64, 0], Vec::<i32>::new(), Vec::<f32>::new());
        let a = CsrView::new(A, &p, &i, Some(&d), 1, 1).unwrap();
        let b = CsrView::new(B, &p, &i, Some(&d), 1, 1).unwrap();
        let got = product_topk(&a, &b, Measure::Dot, 0, false, 1).unwrap();
        assert_eq!(got.indptr, vec![0, 0]);
        let got = product_topk(&a, &b, Measure::Dot, 3, true, 2).unwrap();
        assert!(got.indices.is_empty());
    }

    #[test]
    fn rejects_mismatched_shapes_and_bad_norms() {
        let (p, i, d) = (vec![0_i64, 1], vec![0_i32], vec![1.0_f32]);
        let a = CsrView::new(A, &p, &i, Some(&d), 1, 2).unwrap();
        let b = CsrView::new(B, &p, &i, Some(&d), 1, 1).unwrap();
        let err = product_topk(&a, &b, Measure::Dot, 1, false, 1).unwrap_err();
        assert_eq!(err.arg, "b_indptr");

        let a = CsrView::new(A, &p, &i, Some(&d), 1, 1).unwrap();
        let short = [1.0_f32; 3];
        let cosine = Measure::Cosine {
            row_norms: &[1.0],
            col_norms: &short,
            shrink: 0.0,
        };
        assert_eq!(
            product_topk(&a, &b, cosine, 1, false, 1).unwrap_err().arg,
            "col_norms"
        );
        let negative = Measure::Jaccard {
            row_counts: &[1.0],
            col_counts: &[1.0],
            shrink: -1.0,
        };
        assert_eq!(
            product_topk(&a, &b, negative, 1, false, 1).unwrap_err().arg,
            "shrink"
        );
        let no_values = CsrView::new(A, &p, &i, None, 1, 1).unwrap();
        assert_eq!(
            product_topk(&no_values, &b, Measure::Dot, 1, false, 1)
                .unwrap_err()
                .arg,
            "a_data"
        );
    }
}
