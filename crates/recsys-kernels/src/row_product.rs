//! The top-k columns of each row of a sparse times dense product `S D`, without
//! writing the product.
//!
//! `S` is an `m x n` CSR matrix with values and `D` a row-major `n x c` dense
//! matrix. Models with a dense items x items weight matrix (EASE) score users as
//! `H B`, `H` the users' weighted histories: only each row's best `k` columns are
//! ever needed. SciPy computes the whole product on one core; here each row is
//! summed into an accumulator of `c` floats and selected while it is in cache,
//! rows in parallel.
//!
//! Each value is `Σ x D[i, j]` over the row's stored entries `(i, x)` in stored
//! order, one multiplication and one addition each (not fused): the sums of
//! SciPy's product, bit for bit, on every CPU and for any thread count. The
//! AVX2 path and the portable one round alike; the work is bound by reading the
//! rows of `D`, so a fused multiply-add would gain nothing but different bits.

use rayon::prelude::*;

use crate::csr::CsrView;
use crate::error::{KernelError, KernelResult};
use crate::matrix::{Matrix, Shape};
use crate::product::PARALLEL_MIN_WORK;
use crate::simd::Isa;
use crate::topk::{padded, Select, SelectScratch, TopK};
use crate::{memory, pool};

/// Rows of `S` per unit of parallel work.
const ROWS: usize = 16;
/// Stored entries added in one pass over the accumulator (read and written once);
/// [`add_rows`] names the four.
const GROUP: usize = 4;

/// The best `k` columns of each row of `S D` (`sparse` times `dense`), selected as
/// [`crate::topk::topk`] would select them from the written product: best first,
/// ties to the lower column, columns in the row's `exclude` row (a CSR of shape
/// `m x c`, without values) or outside `allowed` (one flag per column), and NaN or
/// -inf, never returned. Padded with -1 / NaN to `min(k, c)` entries per row. The
/// same bits for any thread count (see the module docs).
pub fn row_product_topk(
    sparse: &CsrView<'_>,
    dense: Matrix<'_>,
    k: usize,
    exclude: Option<&CsrView<'_>>,
    allowed: Option<&[bool]>,
    n_threads: usize,
) -> KernelResult<TopK> {
    row_product_topk_with(Isa::detect(), sparse, dense, k, exclude, allowed, n_threads)
}

fn row_product_topk_with(
    isa: Isa,
    sparse: &CsrView<'_>,
    dense: Matrix<'_>,
    k: usize,
    exclude: Option<&CsrView<'_>>,
    allowed: Option<&[bool]>,
    n_threads: usize,
) -> KernelResult<TopK> {
    pool::check_threads(n_threads)?;
    let values = sparse.values()?;
    let (m, c) = (sparse.n_rows(), dense.cols());
    dense.expect_rows(sparse.n_cols(), "one per column of the sparse matrix")?;
    // Columns are ranked as u32, as in the top-k kernel.
    if u32::try_from(c).is_err() {
        return Err(KernelError::new(
            "dense",
            format!("expected at most {} columns, received {c}", u32::MAX),
        ));
    }
    let select = Select::new(exclude, allowed, k, m, c)?;
    let width = select.width;
    let mut out = padded(m, width)?;
    if width == 0 || m == 0 {
        return Ok(out);
    }
    // Each thread's accumulator (and exclusion mask) is as wide as the catalogue.
    let threads = pool::effective_threads(n_threads).max(1);
    let bytes = memory::bytes_of::<(f32, bool)>(c).and_then(|b| b.checked_mul(threads));
    memory::ensure("dense", "the rows' accumulators", bytes)?;
    let task = Task {
        sparse,
        values,
        dense,
        isa,
        select,
    };
    let chunk = ROWS * width;
    let work = sparse.nnz().saturating_mul(c);
    if work < PARALLEL_MIN_WORK || pool::effective_threads(n_threads) == 1 {
        let mut scratch = Scratch::default();
        let blocks = out
            .indices
            .chunks_mut(chunk)
            .zip(out.scores.chunks_mut(chunk));
        for (block, (oi, os)) in blocks.enumerate() {
            task.rows(block * ROWS, &mut scratch, oi, os)?;
        }
    } else {
        let blocks = out
            .indices
            .par_chunks_mut(chunk)
            .zip(out.scores.par_chunks_mut(chunk));
        pool::install(n_threads, || {
            blocks
                .enumerate()
                .try_for_each_init(Scratch::default, |scratch, (block, (oi, os))| {
                    task.rows(block * ROWS, scratch, oi, os)
                })
        })??;
    }
    Ok(out)
}

/// One thread's buffers: a row's sums and the selection's.
#[derive(Default)]
struct Scratch {
    sums: Vec<f32>,
    select: SelectScratch,
}

struct Task<'a> {
    sparse: &'a CsrView<'a>,
    values: &'a [f32],
    dense: Matrix<'a>,
    isa: Isa,
    select: Select<'a>,
}

impl Task<'_> {
    /// Sums and selects rows `first..` of `S D` into `oi` / `os` (`width` slots a row).
    fn rows(
        &self,
        first: usize,
        scratch: &mut Scratch,
        oi: &mut [i64],
        os: &mut [f32],
    ) -> KernelResult<()> {
        let (c, width) = (self.dense.cols(), self.select.width);
        if scratch.sums.len() != c {
            scratch.sums = memory::zeroed("dense", c)?;
        }
        let outputs = oi.chunks_exact_mut(width).zip(os.chunks_exact_mut(width));
        for (u, (oi, os)) in outputs.enumerate() {
            let row = first + u;
            let start = self.sparse.row_start(row);
            let columns = self.sparse.row_indices(row);
            let values = &self.values[start..start + columns.len()];
            let sums = &mut scratch.sums[..];
            sums.fill(0.0);
            match self.isa {
                Isa::Portable => add_rows(sums, self.dense, columns, values),
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `Isa::detect` found AVX2 (and FMA) on this CPU.
                Isa::Avx2Fma => unsafe { add_rows_avx2(sums, self.dense, columns, values) },
            }
            self.select.row(row, sums, &mut scratch.select, oi, os);
        }
        Ok(())
    }
}

/// `sums += x D[i, :]` for each entry `(i, x)` (`columns`, `values`), in order,
/// [`GROUP`] entries per pass over `sums`: each sum still adds them one after
/// another, a product then a sum each (Rust never fuses them).
#[inline(always)]
fn add_rows(sums: &mut [f32], dense: Matrix<'_>, columns: &[i32], values: &[f32]) {
    let c = sums.len();
    let row = |i: i32| &dense.row(i as usize)[..c];
    let groups = columns.chunks_exact(GROUP);
    let rest = groups
        .remainder()
        .iter()
        .zip(&values[columns.len() / GROUP * GROUP..]);
    for (i, x) in groups.zip(values.chunks_exact(GROUP)) {
        let (r0, r1, r2, r3) = (row(i[0]), row(i[1]), row(i[2]), row(i[3]));
        let (x0, x1, x2, x3) = (x[0], x[1], x[2], x[3]);
        let lanes = sums.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3);
        for ((((s, &d0), &d1), &d2), &d3) in lanes {
            *s = *s + x0 * d0 + x1 * d1 + x2 * d2 + x3 * d3;
        }
    }
    for (&i, &x) in rest {
        for (s, &d) in sums.iter_mut().zip(row(i)) {
            *s += x * d;
        }
    }
}

/// [`add_rows`] compiled for AVX2: the same arithmetic, eight sums a vector.
///
/// # Safety
/// Only on a CPU with AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn add_rows_avx2(sums: &mut [f32], dense: Matrix<'_>, columns: &[i32], values: &[f32]) {
    add_rows(sums, dense, columns, values);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::CsrNames;
    use crate::testing::unit;

    /// A random `m x n` CSR pattern (about `density` of the entries, each row's
    /// columns in a scrambled order, some rows empty) with values from `value`.
    fn sparse(
        m: usize,
        n: usize,
        density: f32,
        seed: &mut u64,
        mut value: impl FnMut(&mut u64) -> f32,
    ) -> (Vec<i64>, Vec<i32>, Vec<f32>) {
        let (mut indptr, mut indices, mut data) = (vec![0_i64], vec![], vec![]);
        for r in 0..m {
            let mut row: Vec<i32> = (0..n as i32)
                .filter(|_| r % 5 != 2 && unit(seed) < density)
                .collect();
            if r % 2 == 1 {
                row.reverse();
            }
            for k in row {
                indices.push(k);
                data.push(value(seed));
            }
            indptr.push(indices.len() as i64);
        }
        (indptr, indices, data)
    }

    /// `S D` written with plain loops, each row summed in stored order, then masked
    /// outside `allowed` with -inf, as the top-k kernel reads it.
    fn written(
        indptr: &[i64],
        indices: &[i32],
        data: &[f32],
        d: &[f32],
        c: usize,
        allowed: Option<&[bool]>,
    ) -> Vec<f32> {
        let m = indptr.len() - 1;
        let mut out = vec![0.0_f32; m * c];
        for r in 0..m {
            for p in indptr[r] as usize..indptr[r + 1] as usize {
                let i = indices[p] as usize;
                for j in 0..c {
                    out[r * c + j] += data[p] * d[i * c + j];
                }
            }
        }
        if let Some(allowed) = allowed {
            for (at, v) in out.iter_mut().enumerate() {
                if !allowed[at % c] {
                    *v = f32::NEG_INFINITY;
                }
            }
        }
        out
    }

    fn bits(t: &TopK) -> Vec<u32> {
        t.scores.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn selects_like_topk_on_the_written_product() {
        let mut seed = 3;
        // Shapes with k beyond c, no rows, no columns of D or S, c below and above
        // one vector, and enough work to run in parallel.
        for &(m, n, c, k, ties) in &[
            (40, 150, 70, 5, true),
            (9, 3, 2, 20, false),
            (30, 10, 65, 1, true),
            (0, 4, 6, 3, false),
            (7, 5, 0, 3, false),
            (6, 0, 9, 4, false),
            (1, 1, 1, 1, false),
            (200, 300, 133, 10, false),
            (150, 90, 257, 7, true),
        ] {
            let (indptr, indices, data) = sparse(m, n, 0.3, &mut seed, |s| unit(s) - 0.5);
            let s = CsrView::new(CsrNames::PLAIN, &indptr, &indices, Some(&data), m, n).unwrap();
            // Few distinct values: ties are common.
            let d: Vec<f32> = (0..n * c)
                .map(|_| match ties {
                    true => (unit(&mut seed) * 4.0).floor(),
                    false => unit(&mut seed) - 0.5,
                })
                .collect();
            let dense = Matrix::new("dense", &d, n, c).unwrap();
            let (ex_ptr, ex_idx, _) = sparse(m, c, 0.2, &mut seed, |_| 1.0);
            let ex = CsrView::new(CsrNames::EXCLUDE, &ex_ptr, &ex_idx, None, m, c).unwrap();
            let allowed: Vec<bool> = (0..c).map(|j| j % 5 != 1).collect();
            for (exclude, allowed) in [
                (None, None),
                (Some(&ex), None),
                (Some(&ex), Some(&allowed[..])),
                (None, Some(&allowed[..])),
            ] {
                let product = written(&indptr, &indices, &data, &d, c, allowed);
                let scores = Matrix::new("scores", &product, m, c).unwrap();
                let want = crate::topk::topk(scores, exclude, k, 1).unwrap();
                for isa in Isa::available() {
                    for threads in [1, 2] {
                        let got =
                            row_product_topk_with(isa, &s, dense, k, exclude, allowed, threads)
                                .unwrap();
                        assert_eq!(got.width, k.min(c));
                        assert_eq!(got.indices, want.indices, "{m}x{n}x{c} {isa:?} {threads}");
                        assert_eq!(bits(&got), bits(&want), "{m}x{n}x{c} {isa:?} {threads}");
                    }
                }
            }
        }
    }

    #[test]
    fn never_returns_nan_or_negative_infinity() {
        // Row 0: [1, -inf, 2] + 0 x [inf, 0, 3] = [NaN, -inf, 2]; row 1 is empty.
        let (indptr, indices, data) = (vec![0_i64, 2, 2], vec![0_i32, 1], vec![1.0_f32, 0.0]);
        let s = CsrView::new(CsrNames::PLAIN, &indptr, &indices, Some(&data), 2, 2).unwrap();
        let d = [1.0, f32::NEG_INFINITY, 2.0, f32::INFINITY, 0.0, 3.0];
        let dense = Matrix::new("dense", &d, 2, 3).unwrap();
        let got = row_product_topk(&s, dense, 3, None, None, 1).unwrap();
        assert_eq!(got.indices, vec![2, -1, -1, 0, 1, 2]);
        assert_eq!(got.scores[0], 2.0);
        assert!(got.scores[1].is_nan() && got.scores[2].is_nan());
        assert_eq!(&got.scores[3..], &[0.0, 0.0, 0.0]);
    }

    #[test]
    fn refuses_mismatched_shapes_and_missing_values() {
        let (indptr, indices, data) = (vec![0_i64, 1], vec![0_i32], vec![1.0_f32]);
        let s = CsrView::new(CsrNames::PLAIN, &indptr, &indices, Some(&data), 1, 2).unwrap();
        let d = [1.0_f32; 6];
        let tall = Matrix::new("dense", &d, 3, 2).unwrap();
        let err = row_product_topk(&s, tall, 1, None, None, 1).unwrap_err();
        assert_eq!(err.arg, "dense");
        assert!(err.to_string().contains("expected 2 rows"), "{err}");
        let dense = Matrix::new("dense", &d[..4], 2, 2).unwrap();
        let bare = CsrView::new(CsrNames::PLAIN, &indptr, &indices, None, 1, 2).unwrap();
        assert_eq!(
            row_product_topk(&bare, dense, 1, None, None, 1)
                .unwrap_err()
                .arg,
            "data"
        );
        let ex = CsrView::new(CsrNames::EXCLUDE, &[0, 0], &[], None, 1, 3).unwrap();
        let err = row_product_topk(&s, dense, 1, Some(&ex), None, 1).unwrap_err();
        assert_eq!(err.arg, "exclude_indptr");
        let ex = CsrView::new(CsrNames::EXCLUDE, &[0, 0, 0], &[], None, 2, 2).unwrap();
        assert!(row_product_topk(&s, dense, 1, Some(&ex), None, 1).is_err());
        let err = row_product_topk(&s, dense, 1, None, Some(&[true]), 1).unwrap_err();
        assert_eq!(err.arg, "allowed");
        let err = row_product_topk(&s, dense, 1, None, None, 5000).unwrap_err();
        assert_eq!(err.arg, "n_threads");
    }
}
