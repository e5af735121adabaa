//! The Gram matrix `G = XᵀX` of a sparse CSR matrix `X` (`m x n`), dense and
//! row-major (`n x n`), summed in float32 ([`sparse_gram`]) or float64
//! ([`sparse_gram_f64`]).
//!
//! EASE fits on this matrix for tall data (many users, few items). A product
//! against a dense operand costs `nnz x n` multiply-adds; here the work is
//! `Σ_u nnz(row u)²`, which is far less when rows are short. `X` is transposed
//! first (a counting sort: each column lists its rows in ascending order), then
//! each row of `G` is summed on its own, in place in the output while it stays in
//! cache: `G[i, :] = Σ x_ui X[u, :]` over the entries `(u, x_ui)` of column `i`.
//! Rows of `G` are shared between threads a few at a time (each block written
//! once in order first, see `gram`); each value is summed in the same order for
//! any thread count. `G[i, j]` and `G[j, i]` add the same
//! products in the same (ascending row) order, so `G` is exactly symmetric when
//! no row of `X` stores a column twice. A column stored twice in a row counts
//! as the sum of its values (as in SciPy's product), up to rounding.

use rayon::prelude::*;

use crate::csr::CsrView;
use crate::error::{checked_product, KernelResult};
use crate::{memory, pool};

/// Rows of `G` per unit of parallel work.
const ROWS: usize = 8;
/// Multiply-adds below which the work runs on the calling thread.
const PARALLEL_MIN_WORK: usize = 1 << 18;

/// `XᵀX` of `x` (which must have values) summed in float32, as a row-major
/// `x.n_cols() x x.n_cols()` vector (see the module docs).
pub fn sparse_gram(x: &CsrView<'_>, n_threads: usize) -> KernelResult<Vec<f32>> {
    gram(x, n_threads)
}

/// [`sparse_gram`] summed in float64 (each product of two float32 values is
/// exact in float64).
pub fn sparse_gram_f64(x: &CsrView<'_>, n_threads: usize) -> KernelResult<Vec<f64>> {
    gram(x, n_threads)
}

/// The precisions the Gram matrix is summed in.
trait Real:
    Copy
    + Send
    + Sync
    + memory::Zeroable
    + From<f32>
    + std::ops::Mul<Output = Self>
    + std::ops::AddAssign
{
}

impl Real for f32 {}
impl Real for f64 {}

fn gram<T: Real>(x: &CsrView<'_>, n_threads: usize) -> KernelResult<Vec<T>> {
    pool::check_threads(n_threads)?;
    let values = x.values()?;
    let n = x.n_cols();
    let len = checked_product("n_cols", n, n)?;
    let columns = memory::bytes_of::<usize>(n.saturating_add(1))
        .zip(memory::bytes_of::<(usize, T)>(x.nnz()))
        .and_then(|(a, b)| a.checked_add(b));
    let bytes = memory::bytes_of::<T>(len)
        .zip(columns)
        .and_then(|(a, b)| a.checked_add(b));
    memory::ensure("n_cols", &format!("the {n} x {n} Gram matrix"), bytes)?;
    let mut out = memory::zeroed::<T>("n_cols", len)?;
    if len == 0 {
        return Ok(out);
    }
    let columns = Columns::new(x, values)?;
    let run = |(block, rows): (usize, &mut [T])| {
        // Written in order before the scattered sums: the first writes to a new
        // output fault its pages in, and in scattered order, on two threads, they
        // cost more than the sums themselves (20000 x 8000, 100 entries a row:
        // 0.94 s on two threads, 0.61 s on one, 0.28 s with this pass).
        rows.fill(T::from(0.0));
        for (r, row) in rows.chunks_exact_mut(n).enumerate() {
            columns.sum_row(x, values, block * ROWS + r, row);
        }
    };
    let work = (0..x.n_rows()).fold(0_usize, |acc, u| {
        let len = x.row_indices(u).len();
        acc.saturating_add(len.saturating_mul(len))
    });
    if work < PARALLEL_MIN_WORK || pool::effective_threads(n_threads) == 1 {
        out.chunks_mut(ROWS * n).enumerate().for_each(run);
    } else {
        pool::install(n_threads, || {
            out.par_chunks_mut(ROWS * n).enumerate().for_each(run);
        })?;
    }
    Ok(out)
}

/// `X` transposed: column `i`'s entries are `rows[starts[i]..starts[i + 1]]` with
/// `values` alike, rows ascending (a row's entries in its stored order).
struct Columns<T> {
    starts: Vec<usize>,
    rows: Vec<usize>,
    values: Vec<T>,
}

impl<T: Real> Columns<T> {
    fn new(x: &CsrView<'_>, values: &[f32]) -> KernelResult<Self> {
        let n = x.n_cols();
        let mut starts = memory::zeroed::<usize>("indices", n + 1)?;
        for &j in x.indices() {
            // Validated by `CsrView::new`: 0 <= j < n.
            starts[j as usize + 1] += 1;
        }
        for i in 1..=n {
            starts[i] += starts[i - 1];
        }
        let mut rows = memory::zeroed::<usize>("indices", x.nnz())?;
        let mut sorted = memory::zeroed::<T>("data", x.nnz())?;
        let mut next = starts.clone();
        for u in 0..x.n_rows() {
            let start = x.row_start(u);
            let indices = x.row_indices(u);
            for (&j, &v) in indices.iter().zip(&values[start..start + indices.len()]) {
                let slot = &mut next[j as usize];
                rows[*slot] = u;
                sorted[*slot] = T::from(v);
                *slot += 1;
            }
        }
        Ok(Self {
            starts,
            rows,
            values: sorted,
        })
    }

    /// Row `i` of `XᵀX` into `out` (zeros on entry).
    #[inline]
    fn sum_row(&self, x: &CsrView<'_>, values: &[f32], i: usize, out: &mut [T]) {
        let range = self.starts[i]..self.starts[i + 1];
        for (&u, &a) in self.rows[range.clone()].iter().zip(&self.values[range]) {
            let start = x.row_start(u);
            let indices = x.row_indices(u);
            for (&j, &v) in indices.iter().zip(&values[start..start + indices.len()]) {
                out[j as usize] += a * T::from(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::CsrNames;
    use crate::error::ErrorKind;
    use crate::testing::sparse;

    /// `XᵀX` summed in float64, entry by entry.
    fn reference(indptr: &[i64], indices: &[i32], data: &[f32], n: usize) -> Vec<f64> {
        let mut want = vec![0.0_f64; n * n];
        for row in indptr.windows(2) {
            let entries = row[0] as usize..row[1] as usize;
            for p in entries.clone() {
                for q in entries.clone() {
                    let (i, j) = (indices[p] as usize, indices[q] as usize);
                    want[i * n + j] += f64::from(data[p]) * f64::from(data[q]);
                }
            }
        }
        want
    }

    fn bits<T: Copy + Into<f64>>(values: &[T]) -> Vec<u64> {
        values.iter().map(|&v| v.into().to_bits()).collect()
    }

    fn symmetric<T: Copy + Into<f64>>(g: &[T], n: usize) -> bool {
        (0..n)
            .all(|i| (0..n).all(|j| g[i * n + j].into().to_bits() == g[j * n + i].into().to_bits()))
    }

    #[test]
    fn matches_the_plain_sum_for_any_shape_and_thread_count() {
        let mut seed = 3;
        for &(m, n, density) in &[
            (1, 1, 1.0),
            (0, 4, 0.3),
            (6, 0, 0.3),
            (0, 0, 0.3),
            (50, 20, 0.3),
            (400, 70, 0.5),
            (2000, 90, 0.3),
        ] {
            let (indptr, indices, data) = sparse(m, n, density, &mut seed);
            let x = CsrView::new(CsrNames::PLAIN, &indptr, &indices, Some(&data), m, n).unwrap();
            let want = reference(&indptr, &indices, &data, n);
            let one = sparse_gram(&x, 1).unwrap();
            let double = sparse_gram_f64(&x, 1).unwrap();
            assert_eq!((one.len(), double.len()), (n * n, n * n));
            for ((got, got64), want) in one.iter().zip(&double).zip(&want) {
                assert!((f64::from(*got) - want).abs() < 1e-4 * want.abs().max(1.0));
                assert!((got64 - want).abs() < 1e-12 * want.abs().max(1.0));
            }
            assert!(symmetric(&one, n) && symmetric(&double, n));
            for threads in [2, 0] {
                assert_eq!(bits(&sparse_gram(&x, threads).unwrap()), bits(&one));
                assert_eq!(bits(&sparse_gram_f64(&x, threads).unwrap()), bits(&double));
            }
        }
    }

    #[test]
    fn reads_unsorted_rows_and_sums_repeated_columns() {
        // Row 0 stores column 2 twice (1 + 2 = 3), out of order; row 1 is empty.
        let (indptr, indices, data) = (
            vec![0_i64, 3, 3, 5],
            vec![2_i32, 0, 2, 1, 0],
            vec![1.0_f32, 4.0, 2.0, 5.0, -1.0],
        );
        let x = CsrView::new(CsrNames::PLAIN, &indptr, &indices, Some(&data), 3, 3).unwrap();
        // The same matrix with the repeats summed: [[4, 0, 3], [0, 0, 0], [-1, 5, 0]].
        let want = [17.0, -5.0, 12.0, -5.0, 25.0, 0.0, 12.0, 0.0, 9.0];
        assert_eq!(sparse_gram(&x, 1).unwrap(), want);
        assert_eq!(sparse_gram_f64(&x, 2).unwrap(), want.map(f64::from));
    }

    #[test]
    fn refuses_no_values_bad_thread_counts_and_huge_outputs() {
        let (indptr, indices) = (vec![0_i64, 1], vec![0_i32]);
        let bare = CsrView::new(CsrNames::PLAIN, &indptr, &indices, None, 1, 2).unwrap();
        assert_eq!(sparse_gram(&bare, 1).unwrap_err().arg, "data");
        assert_eq!(sparse_gram_f64(&bare, 1).unwrap_err().arg, "data");
        let data = [1.0_f32];
        let x = CsrView::new(CsrNames::PLAIN, &indptr, &indices, Some(&data), 1, 2).unwrap();
        let err = sparse_gram(&x, pool::MAX_THREADS + 1).unwrap_err();
        assert_eq!(err.arg, "n_threads");
        for n in [1 << 30, 1 << 40] {
            let wide = CsrView::new(CsrNames::PLAIN, &indptr, &indices, Some(&data), 1, n).unwrap();
            let err = sparse_gram_f64(&wide, 1).unwrap_err();
            assert_eq!((err.arg, err.kind), ("n_cols", ErrorKind::OutOfMemory));
        }
    }
}
