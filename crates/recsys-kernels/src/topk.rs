//! Batched top-k selection over a dense score matrix.
//!
//! For each row of a row-major `n_rows x n_cols` score matrix, returns the `k`
//! best columns, best first. Ties go to the lower column index. Columns listed in
//! the row's exclusion CSR, and entries that are NaN or -inf, are never returned:
//! callers mark "not a candidate" with -inf. Rows with fewer than `k` candidates
//! are padded with index -1 and score NaN.

use rayon::prelude::*;

use crate::csr::CsrView;
use crate::error::{check_len, checked_product, KernelError, KernelResult};
use crate::matrix::{Matrix, Shape};
use crate::simd::Isa;
use crate::{memory, pool};

/// Rows times columns below which the work runs on the calling thread: handing a
/// single-user request to a pool costs more than the selection itself.
const PARALLEL_MIN_ELEMENTS: usize = 1 << 17;

/// Row-major results of `topk`, `width` entries per row.
#[derive(Debug, Clone, PartialEq)]
pub struct TopK {
    pub indices: Vec<i64>,
    pub scores: Vec<f32>,
    pub width: usize,
}

/// Selects the `k` best entries of each row of `scores` (see the module docs).
///
/// The output width is `min(k, n_cols)`: asking for more than the catalogue never
/// allocates more than the catalogue.
pub fn topk(
    scores: Matrix<'_>,
    exclude: Option<&CsrView<'_>>,
    k: usize,
    n_threads: usize,
) -> KernelResult<TopK> {
    pool::check_threads(n_threads)?;
    check_shapes(&scores, exclude)?;
    let (n_rows, n_cols) = (scores.rows(), scores.cols());
    let width = k.min(n_cols);
    let mut out = padded(n_rows, width)?;
    if width == 0 || n_rows == 0 {
        return Ok(out);
    }
    let selector = Selector {
        scores,
        exclude,
        width,
    };
    let elements = n_rows * n_cols;
    if elements < PARALLEL_MIN_ELEMENTS || pool::effective_threads(n_threads) == 1 {
        selector.sequential(&mut out);
        Ok(out)
    } else {
        pool::install(n_threads, || selector.parallel(&mut out))?;
        Ok(out)
    }
}

fn check_shapes(scores: &Matrix<'_>, exclude: Option<&CsrView<'_>>) -> KernelResult<()> {
    let (n_rows, n_cols) = (scores.rows(), scores.cols());
    // Columns are ranked as u32 (half the memory traffic of the heap).
    if u32::try_from(n_cols).is_err() {
        return Err(KernelError::new(
            "scores",
            format!("expected at most {} columns, received {n_cols}", u32::MAX),
        ));
    }
    if let Some(csr) = exclude {
        if csr.n_rows() != n_rows || csr.n_cols() != n_cols {
            return Err(KernelError::new(
                "exclude_indptr",
                format!(
                    "expected an exclusion matrix of shape ({n_rows}, {n_cols}), received ({}, {})",
                    csr.n_rows(),
                    csr.n_cols()
                ),
            ));
        }
    }
    Ok(())
}

/// The output, every slot padded (index -1, score NaN).
pub(crate) fn padded(n_rows: usize, width: usize) -> KernelResult<TopK> {
    let slots = checked_product("k", n_rows, width)?;
    let bytes = memory::bytes_of::<(i64, f32)>(slots);
    memory::ensure("k", "the top-k output", bytes)?;
    Ok(TopK {
        indices: memory::filled("k", slots, -1)?,
        scores: memory::filled("k", slots, f32::NAN)?,
        width,
    })
}

/// One thread's buffers: the exclusion mask of the current row and the heap.
struct Scratch {
    mask: Vec<bool>,
    heap: Vec<Entry>,
}

impl Scratch {
    fn new(n_cols: usize, width: usize) -> Self {
        Self {
            mask: vec![false; n_cols],
            heap: Vec::with_capacity(width),
        }
    }
}

/// Selects the best `width` entries of one row at a time.
struct Selector<'a> {
    scores: Matrix<'a>,
    exclude: Option<&'a CsrView<'a>>,
    width: usize,
}

impl Selector<'_> {
    /// Writes the best entries of `row` into its output slots `oi` / `os`.
    fn row(&self, row: usize, scratch: &mut Scratch, oi: &mut [i64], os: &mut [f32]) {
        let excluded = self.exclude.map(|csr| csr.row_indices(row)).unwrap_or(&[]);
        for &c in excluded {
            scratch.mask[c as usize] = true;
        }
        select_row(
            self.scores.row(row),
            &scratch.mask,
            self.width,
            &mut scratch.heap,
        );
        for &c in excluded {
            scratch.mask[c as usize] = false;
        }
        for (slot, entry) in scratch.heap.iter().enumerate() {
            oi[slot] = i64::from(entry.index);
            os[slot] = entry.score;
        }
    }

    fn sequential(&self, out: &mut TopK) {
        let mut scratch = Scratch::new(self.scores.cols(), self.width);
        let rows = out
            .indices
            .chunks_mut(self.width)
            .zip(out.scores.chunks_mut(self.width));
        for (row, (oi, os)) in rows.enumerate() {
            self.row(row, &mut scratch, oi, os);
        }
    }

    fn parallel(&self, out: &mut TopK) {
        let width = self.width;
        out.indices
            .par_chunks_mut(width)
            .zip(out.scores.par_chunks_mut(width))
            .enumerate()
            .for_each_init(
                || Scratch::new(self.scores.cols(), width),
                |scratch, (row, (oi, os))| self.row(row, scratch, oi, os),
            );
    }
}

/// How the product kernels ([`crate::product::product_topk`],
/// [`crate::row_product::row_product_topk`]) select a row of a product they
/// computed: as [`topk`] selects it from the written matrix, never a column in the
/// row's `exclude` row or outside `allowed`.
pub(crate) struct Select<'a> {
    pub(crate) exclude: Option<&'a CsrView<'a>>,
    pub(crate) allowed: Option<&'a [bool]>,
    pub(crate) width: usize,
}

/// One thread's buffers for [`Select`]: the columns excluded from the current row
/// (those outside `allowed` for every row) and the heap.
#[derive(Default)]
pub(crate) struct SelectScratch {
    mask: Vec<bool>,
    heap: Vec<Entry>,
}

impl<'a> Select<'a> {
    /// Checks the selection's inputs for a product of `rows x cols`: `exclude`, one
    /// row per product row over its columns, and `allowed`, a flag per column; each
    /// row keeps its best `min(k, cols)`.
    pub(crate) fn new(
        exclude: Option<&'a CsrView<'a>>,
        allowed: Option<&'a [bool]>,
        k: usize,
        rows: usize,
        cols: usize,
    ) -> KernelResult<Self> {
        if let Some(csr) = exclude {
            if csr.n_rows() != rows || csr.n_cols() != cols {
                return Err(KernelError::new(
                    "exclude_indptr",
                    format!(
                        "expected an exclusion matrix of shape ({rows}, {cols}), received ({}, {})",
                        csr.n_rows(),
                        csr.n_cols()
                    ),
                ));
            }
        }
        if let Some(allowed) = allowed {
            check_len("allowed", allowed.len(), cols)?;
        }
        Ok(Self {
            exclude,
            allowed,
            width: k.min(cols),
        })
    }

    /// Writes the best `width` entries of `scores`, row `row` of the product, into
    /// its output slots `oi` / `os` (at least `width` long; the inputs were checked:
    /// `allowed`, when given, and every row of `exclude` index columns of `scores`).
    pub(crate) fn row(
        &self,
        row: usize,
        scores: &[f32],
        scratch: &mut SelectScratch,
        oi: &mut [i64],
        os: &mut [f32],
    ) {
        let outside = |j: usize| self.allowed.is_some_and(|a| !a[j]);
        if scratch.mask.len() != scores.len() {
            // Columns outside `allowed` are excluded from every row.
            scratch.mask = (0..scores.len()).map(outside).collect();
        }
        let excluded = self.exclude.map_or(&[][..], |csr| csr.row_indices(row));
        for &j in excluded {
            scratch.mask[j as usize] = true;
        }
        select_row(scores, &scratch.mask, self.width, &mut scratch.heap);
        for &j in excluded {
            scratch.mask[j as usize] = outside(j as usize);
        }
        for (slot, entry) in scratch.heap.iter().enumerate() {
            oi[slot] = i64::from(entry.index);
            os[slot] = entry.score;
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) score: f32,
    pub(crate) index: u32,
}

impl Entry {
    /// Ranking order: higher score first, then lower index.
    pub(crate) fn worse_than(&self, other: &Entry) -> bool {
        self.score < other.score || (self.score == other.score && self.index > other.index)
    }
}

/// Columns scanned per block by the fast path of `select_row`.
const BLOCK: usize = 32;

/// Fills `heap` with the row's best `width` candidates, sorted best first.
pub(crate) fn select_row(row: &[f32], excluded: &[bool], width: usize, heap: &mut Vec<Entry>) {
    #[cfg(target_arch = "x86_64")]
    if Isa::detect() == Isa::Avx2Fma {
        // SAFETY: `Isa::detect` found AVX2 on this CPU.
        return unsafe { select_row_avx2(row, excluded, width, heap) };
    }
    select_row_with(row, excluded, width, heap);
}

/// [`select_row`] compiled for AVX2: its block test runs eight lanes at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn select_row_avx2(row: &[f32], excluded: &[bool], width: usize, heap: &mut Vec<Entry>) {
    select_row_with(row, excluded, width, heap);
}

#[inline(always)]
fn select_row_with(row: &[f32], excluded: &[bool], width: usize, heap: &mut Vec<Entry>) {
    heap.clear();
    let mut start = 0;
    for (scores, skips) in row.chunks(BLOCK).zip(excluded.chunks(BLOCK)) {
        // Once the heap is full, a block whose every candidate score is at most the
        // worst kept score cannot change it (an equal score loses the tie to the lower
        // index). Excluded columns do not count: they are often the best scores (a
        // user's own items), and would send most blocks down the slow path. This
        // test is branch-free, so it vectorises; NaN compares false.
        if heap.len() == width {
            let worst = heap[0].score;
            let better = |any: bool, (&s, &skip): (&f32, &bool)| any | ((s > worst) & !skip);
            if !scores.iter().zip(skips).fold(false, better) {
                start += scores.len();
                continue;
            }
        }
        for (offset, (&score, &skip)) in scores.iter().zip(skips).enumerate() {
            if skip || score.is_nan() || score == f32::NEG_INFINITY {
                continue;
            }
            let entry = Entry {
                score,
                index: (start + offset) as u32,
            };
            if heap.len() < width {
                heap.push(entry);
                let last = heap.len() - 1;
                sift_up(heap, last);
            } else if score > heap[0].score {
                // Columns arrive in increasing order, so an equal score loses the tie.
                heap[0] = entry;
                sift_down(heap, 0);
            }
        }
        start += scores.len();
    }
    // The heap's own order (-0.0 and 0.0 tie, as in the reference), best first.
    heap.sort_unstable_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.index.cmp(&b.index))
    });
}

// A min-heap on ranking order: the root is the worst entry kept so far.
pub(crate) fn sift_up(heap: &mut [Entry], mut pos: usize) {
    while pos > 0 {
        let parent = (pos - 1) / 2;
        if heap[pos].worse_than(&heap[parent]) {
            heap.swap(pos, parent);
            pos = parent;
        } else {
            break;
        }
    }
}

pub(crate) fn sift_down(heap: &mut [Entry], mut pos: usize) {
    let len = heap.len();
    loop {
        let left = 2 * pos + 1;
        if left >= len {
            break;
        }
        let right = left + 1;
        let worst_child = if right < len && heap[right].worse_than(&heap[left]) {
            right
        } else {
            left
        };
        if heap[worst_child].worse_than(&heap[pos]) {
            heap.swap(pos, worst_child);
            pos = worst_child;
        } else {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::CsrNames;
    use crate::testing::lcg;

    const N: CsrNames = CsrNames::EXCLUDE;

    /// Reference: a full sort of the candidates.
    fn brute_force(row: &[f32], excluded: &[i32], k: usize) -> Vec<(i64, f32)> {
        let mut cand: Vec<(i64, f32)> = row
            .iter()
            .enumerate()
            .filter(|(i, s)| {
                !excluded.contains(&(*i as i32)) && !s.is_nan() && **s != f32::NEG_INFINITY
            })
            .map(|(i, s)| (i as i64, *s))
            .collect();
        cand.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        cand.truncate(k);
        cand
    }

    #[test]
    fn matches_brute_force_with_ties_and_exclusions() {
        let mut seed = 7_u64;
        for &(n_rows, n_cols, k, threads) in &[
            (5, 9, 3, 1),
            (40, 50, 10, 2),
            (3, 4, 10, 1),
            (600, 300, 7, 2),
            (1, 1, 1, 0),
        ] {
            // Few distinct values, so ties are common.
            let scores: Vec<f32> = (0..n_rows * n_cols)
                .map(|_| (lcg(&mut seed) % 5) as f32)
                .collect();
            let mut indptr = vec![0_i64];
            let mut indices = Vec::new();
            for _ in 0..n_rows {
                let mut row: Vec<i32> = (0..n_cols as i32)
                    .filter(|_| lcg(&mut seed) % 3 == 0)
                    .collect();
                row.reverse(); // unsorted rows must work too
                indices.extend(row);
                indptr.push(indices.len() as i64);
            }
            let csr = CsrView::new(N, &indptr, &indices, None, n_rows, n_cols).unwrap();
            let matrix = Matrix::new("scores", &scores, n_rows, n_cols).unwrap();
            let got = topk(matrix, Some(&csr), k, threads).unwrap();
            assert_eq!(got.width, k.min(n_cols));
            for r in 0..n_rows {
                let want = brute_force(
                    &scores[r * n_cols..(r + 1) * n_cols],
                    csr.row_indices(r),
                    got.width,
                );
                for slot in 0..got.width {
                    let i = got.indices[r * got.width + slot];
                    let s = got.scores[r * got.width + slot];
                    match want.get(slot) {
                        Some(&(wi, ws)) => assert_eq!((i, s), (wi, ws), "row {r} slot {slot}"),
                        None => assert!(i == -1 && s.is_nan(), "row {r} slot {slot} not padded"),
                    }
                }
            }
        }
    }

    fn dense(values: &[f32], rows: usize, cols: usize) -> Matrix<'_> {
        Matrix::new("scores", values, rows, cols).unwrap()
    }

    #[test]
    fn skips_nan_and_negative_infinity() {
        let scores = [f32::NAN, 1.0, f32::NEG_INFINITY, 0.5];
        let got = topk(dense(&scores, 1, 4), None, 4, 1).unwrap();
        assert_eq!(&got.indices, &[1, 3, -1, -1]);
    }

    #[test]
    fn every_column_excluded_gives_padding() {
        let csr = CsrView::new(N, &[0, 3], &[2, 0, 1], None, 1, 3).unwrap();
        let got = topk(dense(&[1.0, 2.0, 3.0], 1, 3), Some(&csr), 2, 1).unwrap();
        assert_eq!(got.indices, vec![-1, -1]);
        assert!(got.scores.iter().all(|s| s.is_nan()));
    }

    #[test]
    fn zero_k_and_empty_inputs() {
        assert_eq!(topk(dense(&[1.0, 2.0], 1, 2), None, 0, 1).unwrap().width, 0);
        assert_eq!(topk(dense(&[], 0, 5), None, 3, 1).unwrap().indices.len(), 0);
        assert_eq!(topk(dense(&[], 2, 0), None, 3, 1).unwrap().width, 0);
        let huge = topk(dense(&[1.0, 2.0], 1, 2), None, usize::MAX, 1).unwrap();
        assert_eq!((huge.width, huge.indices), (2, vec![1, 0]));
    }

    #[test]
    fn rejects_mismatched_shapes() {
        let csr = CsrView::new(N, &[0, 0], &[], None, 1, 3).unwrap();
        assert_eq!(
            topk(dense(&[1.0; 6], 2, 3), Some(&csr), 1, 1)
                .unwrap_err()
                .arg,
            "exclude_indptr"
        );
        let err = topk(dense(&[1.0; 6], 2, 3), None, 1, 5000).unwrap_err();
        assert_eq!(err.arg, "n_threads");
    }
}
