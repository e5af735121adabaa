//! A sparse times dense product, written transposed: `out = (S D)ᵀ`, row-major.
//!
//! `S` is an `m x n` CSR matrix with values and `D` a row-major `n x c` dense
//! matrix; `out` is `c x m`, optionally with column `j` scaled by `scale[j]`.
//! EASE's regularization path scores users with it: `S` holds the items' columns
//! of the interaction matrix (items x users) and `D` a users x users matrix, so
//! `out` has one row per scored user, as the top-k kernel reads it. SciPy computes
//! the same product on one core without wide vectors, and then needs a
//! transposing copy.
//!
//! The product is bound by reading `D`: each stored entry `(j, k)` of `S` adds a
//! row of `D` to an accumulator. So the work is tiled twice. Each unit of parallel
//! work is a block of [`COLS`] columns of `D` (rows of `out`); within it, `D` is
//! read [`DEPTH`] rows at a time, packed into a tile that stays in L1, while every
//! row of `S` adds its entries in that range to its accumulator (`COLS` floats,
//! in registers while it adds, in L2 in between). The entries of `S` are grouped
//! by tile once, beforehand. Each output value sums its row's entries tile by
//! tile, in stored order within a tile: results do not depend on the thread count.

use rayon::prelude::*;

use crate::csr::CsrView;
use crate::error::{check_len, checked_product, KernelError, KernelResult};
use crate::matrix::{Matrix, Shape};
use crate::simd::{Isa, Portable, Simd};
use crate::topk::{padded, Select, SelectScratch, TopK};
use crate::{memory, pool};

/// Columns of `D` per unit of work (rows of `out`): eight AVX2 registers, enough
/// independent sums to keep both FMA units busy.
const COLS: usize = 64;
/// Rows of `D` per packed tile: `DEPTH x COLS` floats fill half of L1.
const DEPTH: usize = 128;
/// Rows of `S` stored transposed at once: 16 floats are one cache line of `out`.
const ROWS: usize = 16;
/// Multiply-adds below which the work runs on the calling thread.
pub(crate) const PARALLEL_MIN_WORK: usize = 1 << 18;

/// `(S D)ᵀ`, column `j` times `scale[j]` when given, as a row-major
/// `D.cols() x S.n_rows()` vector (see the module docs).
pub fn transposed_product(
    sparse: &CsrView<'_>,
    dense: Matrix<'_>,
    scale: Option<&[f32]>,
    n_threads: usize,
) -> KernelResult<Vec<f32>> {
    let values = sparse.values()?;
    let dense = Dense::of(dense);
    product(sparse, values, dense, scale, n_threads)
}

/// [`transposed_product`] in float64, without a scale: `S` is the pattern of
/// `sparse` with `values`, `D` is `dense` (row-major, `rows x cols`).
pub fn transposed_product_f64(
    sparse: &CsrView<'_>,
    values: &[f64],
    dense: &[f64],
    rows: usize,
    cols: usize,
    n_threads: usize,
) -> KernelResult<Vec<f64>> {
    check_len("data", values.len(), sparse.nnz())?;
    if values.iter().any(|v| !v.is_finite()) {
        return Err(KernelError::new("data", "expected finite values"));
    }
    if rows.checked_mul(cols) != Some(dense.len()) {
        return Err(KernelError::new(
            "dense",
            format!("expected {rows} x {cols} values, received {}", dense.len()),
        ));
    }
    let dense = Dense {
        data: dense,
        rows,
        stride: cols,
        columns: None,
    };
    product(sparse, values, dense, None, n_threads)
}

fn product<T: Real>(
    sparse: &CsrView<'_>,
    values: &[T],
    dense: Dense<'_, T>,
    scale: Option<&[T]>,
    n_threads: usize,
) -> KernelResult<Vec<T>> {
    pool::check_threads(n_threads)?;
    let (m, c) = (sparse.n_rows(), dense.cols());
    let len = checked_product("dense", c, m)?;
    let task = Task::new(sparse, values, dense, scale, memory::bytes_of::<T>(len))?;
    let mut out = memory::zeroed::<T>("dense", len)?;
    if len == 0 {
        return Ok(out);
    }
    // Each thread's sums are allocated once and cleared for each block.
    let run = |sums: &mut Vec<T>, (block, rows): (usize, &mut [T])| -> KernelResult<()> {
        task.sum(block * COLS, sums)?;
        task.store(sums, rows);
        Ok(())
    };
    let chunk = COLS * m;
    if task.sequential(n_threads) {
        let mut sums = Vec::new();
        out.chunks_mut(chunk)
            .enumerate()
            .try_for_each(|item| run(&mut sums, item))?;
    } else {
        pool::install(n_threads, || {
            out.par_chunks_mut(chunk)
                .enumerate()
                .try_for_each_init(Vec::new, run)
        })??;
    }
    Ok(out)
}

/// The best `k` columns of each row of `(S D)ᵀ` (scaled as in
/// [`transposed_product`]), as the top-k kernel would select them from that matrix
/// (see [`crate::topk`]): best first, ties to the lower column, columns in the
/// row's `exclude` row or outside `allowed` (and NaN or -inf) never returned. Each
/// block of rows is selected while its sums are in cache; the product itself is
/// never written. With `columns`, `D` is read as `D[:, columns]` (one row of the
/// product per entry), without a copy.
#[allow(clippy::too_many_arguments)]
pub fn product_topk(
    sparse: &CsrView<'_>,
    dense: Matrix<'_>,
    columns: Option<&[i64]>,
    scale: Option<&[f32]>,
    k: usize,
    exclude: Option<&CsrView<'_>>,
    allowed: Option<&[bool]>,
    n_threads: usize,
) -> KernelResult<TopK> {
    pool::check_threads(n_threads)?;
    if let Some(columns) = columns {
        if let Some(pos) = columns
            .iter()
            .position(|&c| c < 0 || c as usize >= dense.cols())
        {
            return Err(KernelError::new(
                "columns",
                format!(
                    "expected column indices in [0, {}), received {} at position {pos}",
                    dense.cols(),
                    columns[pos]
                ),
            ));
        }
    }
    let dense = Dense {
        columns,
        ..Dense::of(dense)
    };
    let (m, c) = (sparse.n_rows(), dense.cols());
    let select = Select::new(exclude, allowed, k, c, m)?;
    let width = select.width;
    let values = sparse.values()?;
    let task = Task::new(sparse, values, dense, scale, Some(0))?;
    let mut out = padded(c, width)?;
    if width == 0 || c == 0 {
        return Ok(out);
    }
    let run = |scratch: &mut Scratch, (block, (oi, os)): (usize, (&mut [i64], &mut [f32]))| {
        let first = block * COLS;
        task.sum(first, &mut scratch.sums)?;
        select_rows(&select, &task, first, scratch, oi, os);
        Ok::<(), KernelError>(())
    };
    let chunk = COLS * width;
    let blocks = out
        .indices
        .chunks_mut(chunk)
        .zip(out.scores.chunks_mut(chunk));
    if task.sequential(n_threads) {
        let mut scratch = Scratch::default();
        blocks
            .enumerate()
            .try_for_each(|item| run(&mut scratch, item))?;
    } else {
        let blocks = out
            .indices
            .par_chunks_mut(chunk)
            .zip(out.scores.par_chunks_mut(chunk));
        pool::install(n_threads, || {
            blocks.enumerate().try_for_each_init(Scratch::default, run)
        })??;
    }
    Ok(out)
}

/// One thread's buffers for [`product_topk`].
#[derive(Default)]
struct Scratch {
    sums: Vec<f32>,
    block: Vec<f32>,
    select: SelectScratch,
}

/// Selects rows `first..` of the product from `scratch.sums` into `oi` / `os`.
fn select_rows(
    select: &Select<'_>,
    task: &Task<'_, f32>,
    first: usize,
    scratch: &mut Scratch,
    oi: &mut [i64],
    os: &mut [f32],
) {
    let m = task.rows();
    let width = select.width;
    let rows = oi.len() / width;
    if scratch.block.len() != COLS * m {
        scratch.block = vec![0.0; COLS * m];
    }
    // The block's rows, written as `transposed_product` writes them (in L2 here).
    let block = &mut scratch.block[..rows * m];
    task.store(&scratch.sums, block);
    let outputs = oi.chunks_exact_mut(width).zip(os.chunks_exact_mut(width));
    for (u, (row, (oi, os))) in block.chunks_exact(m).zip(outputs).enumerate() {
        select.row(first + u, row, &mut scratch.select, oi, os);
    }
}

/// The entries of `S` grouped by tile of `DEPTH` columns: tile `t` of row `j` is
/// `keys[bounds[j * (tiles + 1) + t]..bounds[j * (tiles + 1) + t + 1]]`, in stored
/// order, each entry's column relative to its tile.
struct Tiles<T> {
    tiles: usize,
    bounds: Vec<usize>,
    columns: Vec<u32>,
    values: Vec<T>,
}

impl<T: Real> Tiles<T> {
    fn count(sparse: &CsrView<'_>) -> usize {
        sparse.n_cols().div_ceil(DEPTH)
    }

    /// The memory of the grouped entries.
    fn bytes(sparse: &CsrView<'_>) -> Option<usize> {
        let bounds = sparse.n_rows().checked_mul(Self::count(sparse) + 1)?;
        memory::bytes_of::<usize>(bounds)?.checked_add(memory::bytes_of::<(u32, T)>(sparse.nnz())?)
    }

    fn new(sparse: &CsrView<'_>, values: &[T]) -> KernelResult<Self> {
        let tiles = Self::count(sparse);
        let stride = tiles + 1;
        let mut bounds = memory::zeroed::<usize>("indptr", sparse.n_rows() * stride)?;
        let mut columns = memory::zeroed::<u32>("indices", sparse.nnz())?;
        let mut grouped = memory::zeroed::<T>("data", sparse.nnz())?;
        let mut next = vec![0_usize; tiles];
        for (j, row) in bounds.chunks_exact_mut(stride).enumerate() {
            let start = sparse.row_start(j);
            let indices = sparse.row_indices(j);
            // Counting sort of the row's entries by tile (stable).
            for &k in indices {
                row[k as usize / DEPTH + 1] += 1;
            }
            row[0] = start;
            for t in 1..stride {
                row[t] += row[t - 1];
            }
            next.copy_from_slice(&row[..tiles]);
            for (&k, &x) in indices.iter().zip(&values[start..start + indices.len()]) {
                let slot = &mut next[k as usize / DEPTH];
                columns[*slot] = k as u32 % DEPTH as u32;
                grouped[*slot] = x;
                *slot += 1;
            }
        }
        Ok(Self {
            tiles,
            bounds,
            columns,
            values: grouped,
        })
    }

    /// Row `j`'s entries in tile `t`: columns within the tile, and values.
    #[inline(always)]
    fn entries(&self, j: usize, t: usize) -> (&[u32], &[T]) {
        let at = j * (self.tiles + 1) + t;
        let range = self.bounds[at]..self.bounds[at + 1];
        (&self.columns[range.clone()], &self.values[range])
    }
}

/// A row-major dense operand of either precision, or some of its columns.
#[derive(Clone, Copy)]
struct Dense<'a, T> {
    data: &'a [T],
    rows: usize,
    /// Values per row of `data`.
    stride: usize,
    /// The columns read, in this order (all when `None`).
    columns: Option<&'a [i64]>,
}

impl<'a> Dense<'a, f32> {
    fn of(matrix: Matrix<'a>) -> Self {
        Self {
            data: matrix.data(),
            rows: matrix.rows(),
            stride: matrix.cols(),
            columns: None,
        }
    }
}

impl<T: Copy> Dense<'_, T> {
    /// The number of columns read (rows of the product).
    fn cols(&self) -> usize {
        self.columns.map_or(self.stride, <[i64]>::len)
    }

    /// Copies row `k`'s columns `first..first + dst.len()` (of those read) to `dst`.
    #[inline(always)]
    fn pack(&self, k: usize, first: usize, dst: &mut [T]) {
        let row = &self.data[k * self.stride..(k + 1) * self.stride];
        let width = dst.len();
        match self.columns {
            None => dst.copy_from_slice(&row[first..first + width]),
            Some(columns) => {
                for (d, &c) in dst.iter_mut().zip(&columns[first..first + width]) {
                    *d = row[c as usize];
                }
            }
        }
    }
}

struct Task<'a, T> {
    tiles: Tiles<T>,
    dense: Dense<'a, T>,
    scale: Option<&'a [T]>,
    isa: Isa,
}

impl<'a, T: Real> Task<'a, T> {
    /// Checks the operands (and that the work and `extra` bytes fit in memory),
    /// then groups the entries of `sparse` (with `values`) by tile.
    fn new(
        sparse: &CsrView<'_>,
        values: &[T],
        dense: Dense<'a, T>,
        scale: Option<&'a [T]>,
        extra: Option<usize>,
    ) -> KernelResult<Self> {
        if dense.rows != sparse.n_cols() {
            return Err(KernelError::new(
                "dense",
                format!(
                    "expected {} rows (one per column of the sparse matrix), received {}",
                    sparse.n_cols(),
                    dense.rows
                ),
            ));
        }
        if let Some(scale) = scale {
            check_len("scale", scale.len(), sparse.n_rows())?;
            if scale.iter().any(|v| !v.finite()) {
                return Err(KernelError::new("scale", "expected finite values"));
            }
        }
        let sums = memory::bytes_of::<T>(sparse.n_rows().saturating_mul(COLS + 2));
        let threads = pool::useful_threads();
        let bytes = Tiles::<T>::bytes(sparse)
            .zip(sums.and_then(|b| b.checked_mul(threads)))
            .and_then(|(a, b)| a.checked_add(b)?.checked_add(extra?));
        memory::ensure("dense", "the product", bytes)?;
        Ok(Self {
            tiles: Tiles::new(sparse, values)?,
            dense,
            scale,
            isa: Isa::detect(),
        })
    }

    /// Rows of `S` (columns of the product).
    fn rows(&self) -> usize {
        self.tiles.bounds.len() / (self.tiles.tiles + 1)
    }

    /// Whether the work is too small to share between threads.
    fn sequential(&self, n_threads: usize) -> bool {
        let work = self.tiles.values.len().saturating_mul(self.dense.cols());
        work < PARALLEL_MIN_WORK || pool::effective_threads(n_threads) == 1
    }

    /// Column `j` of a row of the product from its sum.
    #[inline(always)]
    fn scaled(&self, j: usize, sum: T) -> T {
        self.scale.map_or(sum, |scale| sum * scale[j])
    }

    /// `sums[j * COLS + u]`: entry `(first + u, j)` of the product before scaling.
    fn sum(&self, first: usize, sums: &mut Vec<T>) -> KernelResult<()> {
        let m = self.rows();
        if sums.is_empty() {
            *sums = memory::zeroed::<T>("dense", m * COLS)?;
        } else {
            sums.fill(T::ZERO);
        }
        match self.isa {
            Isa::Portable => self.fill(first, sums, T::add_rows),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::detect` found AVX2 and FMA on this CPU.
            Isa::Avx2Fma => unsafe { self.fill_avx2(first, sums) },
        }
        Ok(())
    }

    /// Writes the block's rows of the product (`rows`, row-major), a cache line of
    /// each row at a time.
    fn store(&self, sums: &[T], rows: &mut [T]) {
        let m = self.rows();
        let mut start = 0;
        while start < m {
            let count = ROWS.min(m - start);
            let group = &sums[start * COLS..(start + count) * COLS];
            for (u, out) in rows.chunks_exact_mut(m).enumerate() {
                let out = &mut out[start..start + count];
                for (j, (o, s)) in out.iter_mut().zip(group.chunks_exact(COLS)).enumerate() {
                    *o = self.scaled(start + j, s[u]);
                }
            }
            start += count;
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn fill_avx2(&self, first: usize, sums: &mut [T]) {
        // SAFETY: this function runs with AVX2 and FMA enabled.
        self.fill(first, sums, |acc, packed, columns, values| unsafe {
            T::add_rows_avx2(acc, packed, columns, values)
        });
    }

    /// Adds every entry's row of `D` (columns `first..first + COLS`) to its row's
    /// sums, with `add` (one row of `S` in one tile).
    #[inline(always)]
    fn fill(
        &self,
        first: usize,
        sums: &mut [T],
        add: impl Fn(&mut [T; COLS], &Packed<T>, &[u32], &[T]),
    ) {
        let n = self.dense.rows;
        let width = COLS.min(self.dense.cols() - first);
        let mut packed = [[T::ZERO; COLS]; DEPTH];
        for t in 0..self.tiles.tiles {
            let top = t * DEPTH;
            let depth = DEPTH.min(n - top);
            for (k, dst) in packed.iter_mut().enumerate().take(depth) {
                self.dense.pack(top + k, first, &mut dst[..width]);
            }
            for (j, acc) in sums.chunks_exact_mut(COLS).enumerate() {
                let (columns, values) = self.tiles.entries(j, t);
                if !columns.is_empty() {
                    let acc: &mut [T; COLS] = acc.try_into().expect("COLS values");
                    add(acc, &packed, columns, values);
                }
            }
        }
    }
}

type Packed<T> = [[T; COLS]; DEPTH];

/// The element types of the product, and how each adds a row's entries:
/// `acc += Σ x packed[k]` over the entries `(k, x)` of one row of `S` in one tile.
trait Real: Copy + Send + Sync + memory::Zeroable + std::ops::Mul<Output = Self> + 'static {
    const ZERO: Self;
    fn finite(self) -> bool;
    /// Plain arithmetic, for any CPU.
    fn add_rows(acc: &mut [Self; COLS], packed: &Packed<Self>, columns: &[u32], values: &[Self]);
    /// With fused multiply-adds.
    ///
    /// # Safety
    /// Only from a function compiled with AVX2 and FMA, on a CPU that has them.
    #[cfg(target_arch = "x86_64")]
    unsafe fn add_rows_avx2(
        acc: &mut [Self; COLS],
        packed: &Packed<Self>,
        columns: &[u32],
        values: &[Self],
    );
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    fn finite(self) -> bool {
        self.is_finite()
    }

    #[inline(always)]
    fn add_rows(acc: &mut [f32; COLS], packed: &Packed<f32>, columns: &[u32], values: &[f32]) {
        for (&k, &x) in columns.iter().zip(values) {
            for (s, &v) in acc.iter_mut().zip(&packed[k as usize]) {
                *s = Portable::mul_add(x, v, *s);
            }
        }
    }

    /// The sums stay in eight registers while the row's entries are added (the
    /// compiler keeps an array of them in memory, one store per entry).
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn add_rows_avx2(
        acc: &mut [f32; COLS],
        packed: &Packed<f32>,
        columns: &[u32],
        values: &[f32],
    ) {
        use std::arch::x86_64::{
            _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_storeu_ps,
        };
        // SAFETY: the caller runs with AVX2 and FMA; every pointer is to 8 floats
        // inside `acc` or a row of `packed`.
        unsafe {
            let a = acc.as_mut_ptr();
            let mut s = [_mm256_loadu_ps(a); 8];
            for (i, lane) in s.iter_mut().enumerate() {
                *lane = _mm256_loadu_ps(a.add(8 * i));
            }
            for (&k, &x) in columns.iter().zip(values) {
                let d = packed[k as usize].as_ptr();
                let x = _mm256_set1_ps(x);
                for (i, lane) in s.iter_mut().enumerate() {
                    *lane = _mm256_fmadd_ps(x, _mm256_loadu_ps(d.add(8 * i)), *lane);
                }
            }
            for (i, lane) in s.iter().enumerate() {
                _mm256_storeu_ps(a.add(8 * i), *lane);
            }
        }
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    fn finite(self) -> bool {
        self.is_finite()
    }

    #[inline(always)]
    fn add_rows(acc: &mut [f64; COLS], packed: &Packed<f64>, columns: &[u32], values: &[f64]) {
        for (&k, &x) in columns.iter().zip(values) {
            for (s, &v) in acc.iter_mut().zip(&packed[k as usize]) {
                *s += x * v;
            }
        }
    }

    /// Compiled inside `fill_avx2`, where `mul_add` is one instruction. Half a row
    /// at a time: 32 sums are the eight registers the compiler keeps them in.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn add_rows_avx2(
        acc: &mut [f64; COLS],
        packed: &Packed<f64>,
        columns: &[u32],
        values: &[f64],
    ) {
        const HALF: usize = COLS / 2;
        for (h, half) in acc.chunks_exact_mut(HALF).enumerate() {
            let mut sums: [f64; HALF] = half.try_into().expect("half a row");
            for (&k, &x) in columns.iter().zip(values) {
                let d = &packed[k as usize][h * HALF..(h + 1) * HALF];
                for (s, &v) in sums.iter_mut().zip(d) {
                    *s = x.mul_add(v, *s);
                }
            }
            half.copy_from_slice(&sums);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::CsrNames;
    use crate::testing::{sparse, unit};

    #[test]
    fn matches_the_plain_product_for_any_shape_and_thread_count() {
        let mut seed = 7;
        for &(m, n, c) in &[
            (1, 1, 1),
            (37, 20, 150),
            (16, 5, 64),
            (70, 33, 129),
            (3, 0, 5),
        ] {
            let (indptr, indices, data) = sparse(m, n, 0.3, &mut seed);
            let s = CsrView::new(CsrNames::PLAIN, &indptr, &indices, Some(&data), m, n).unwrap();
            let d: Vec<f32> = (0..n * c).map(|_| unit(&mut seed) - 0.5).collect();
            let dense = Matrix::new("dense", &d, n, c).unwrap();
            let mut want = vec![0.0_f64; c * m];
            for j in 0..m {
                for p in indptr[j] as usize..indptr[j + 1] as usize {
                    let k = indices[p] as usize;
                    for u in 0..c {
                        want[u * m + j] += f64::from(data[p]) * f64::from(d[k * c + u]);
                    }
                }
            }
            let one = transposed_product(&s, dense, None, 1).unwrap();
            for (got, want) in one.iter().zip(&want) {
                assert!((f64::from(*got) - want).abs() < 1e-5, "{got} vs {want}");
            }
            assert_eq!(transposed_product(&s, dense, None, 2).unwrap(), one);
            assert_eq!(transposed_product(&s, dense, None, 0).unwrap(), one);
        }
    }

    #[test]
    fn selects_like_topk_on_the_written_product() {
        let mut seed = 11;
        for &(m, n, c, k) in &[(40, 150, 70, 5), (9, 3, 2, 20), (30, 10, 65, 1)] {
            let (indptr, indices, data) = sparse(m, n, 0.3, &mut seed);
            let s = CsrView::new(CsrNames::PLAIN, &indptr, &indices, Some(&data), m, n).unwrap();
            // Few distinct values: ties are common.
            let d: Vec<f32> = (0..n * c)
                .map(|_| (unit(&mut seed) * 4.0).floor())
                .collect();
            let dense = Matrix::new("dense", &d, n, c).unwrap();
            let scale: Vec<f32> = (0..m).map(|j| if j % 7 == 3 { 0.5 } else { 1.0 }).collect();
            let (ex_ptr, ex_idx, _) = sparse(c, m, 0.3, &mut seed);
            let ex = CsrView::new(CsrNames::EXCLUDE, &ex_ptr, &ex_idx, None, c, m).unwrap();
            let allowed: Vec<bool> = (0..m).map(|j| j % 5 != 1).collect();
            let written = transposed_product(&s, dense, Some(&scale), 1).unwrap();
            let masked: Vec<f32> = written
                .iter()
                .enumerate()
                .map(|(i, &v)| if allowed[i % m] { v } else { f32::NEG_INFINITY })
                .collect();
            let scores = Matrix::new("scores", &masked, c, m).unwrap();
            let want = crate::topk::topk(scores, Some(&ex), k, 1).unwrap();
            let bits = |t: &TopK| t.scores.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            for threads in [1, 2] {
                let got = product_topk(
                    &s,
                    dense,
                    None,
                    Some(&scale),
                    k,
                    Some(&ex),
                    Some(&allowed),
                    threads,
                )
                .unwrap();
                assert_eq!(got.indices, want.indices);
                assert_eq!(bits(&got), bits(&want));
            }
            // Columns of D chosen (reversed, one twice): the product of D[:, columns].
            let columns: Vec<i64> = (0..c as i64).rev().chain([0]).collect();
            let picked: Vec<f32> = (0..n)
                .flat_map(|k| columns.iter().map(move |&u| (k, u)))
                .map(|(k, u)| d[k * c + u as usize])
                .collect();
            let picked = Matrix::new("dense", &picked, n, columns.len()).unwrap();
            let (ex_ptr, ex_idx, _) = sparse(columns.len(), m, 0.3, &mut seed);
            let ex =
                CsrView::new(CsrNames::EXCLUDE, &ex_ptr, &ex_idx, None, columns.len(), m).unwrap();
            let want = product_topk(&s, picked, None, Some(&scale), k, Some(&ex), None, 1).unwrap();
            let got = product_topk(
                &s,
                dense,
                Some(&columns),
                Some(&scale),
                k,
                Some(&ex),
                None,
                2,
            )
            .unwrap();
            assert_eq!(got.indices, want.indices);
            assert_eq!(bits(&got), bits(&want));
            assert!(product_topk(&s, dense, Some(&[c as i64]), None, k, None, None, 1).is_err());
        }
    }

    #[test]
    fn scales_columns_and_reads_unsorted_rows() {
        // Row 0 stores its columns out of order, across two tiles of D.
        let n = DEPTH + 3;
        let (indptr, indices, data) = (
            vec![0_i64, 3, 4],
            vec![n as i32 - 1, 0, 5, 1],
            vec![2.0_f32, 1.0, 0.5, 4.0],
        );
        let s = CsrView::new(CsrNames::PLAIN, &indptr, &indices, Some(&data), 2, n).unwrap();
        let d: Vec<f32> = (0..n * 2).map(|v| v as f32).collect();
        let dense = Matrix::new("dense", &d, n, 2).unwrap();
        let got = transposed_product(&s, dense, Some(&[1.0, 0.5]), 1).unwrap();
        let row0 = |u: usize| 2.0 * d[(n - 1) * 2 + u] + d[u] + 0.5 * d[5 * 2 + u];
        assert_eq!(
            got,
            vec![row0(0), 0.5 * 4.0 * d[2], row0(1), 0.5 * 4.0 * d[3]]
        );
        assert!(transposed_product(&s, dense, Some(&[1.0]), 1).is_err());
        assert!(transposed_product(&s, dense, Some(&[1.0, f32::NAN]), 1).is_err());
    }

    #[test]
    fn float64_matches_float32_on_exact_values() {
        let mut seed = 5;
        let (m, n, c) = (70, 140, 66);
        let (indptr, indices, data) = sparse(m, n, 0.3, &mut seed);
        let data: Vec<f32> = data.iter().map(|v| (v * 8.0).round()).collect();
        let s = CsrView::new(CsrNames::PLAIN, &indptr, &indices, Some(&data), m, n).unwrap();
        let d: Vec<f32> = (0..n * c)
            .map(|_| (unit(&mut seed) * 8.0).floor())
            .collect();
        let dense = Matrix::new("dense", &d, n, c).unwrap();
        let want = transposed_product(&s, dense, None, 1).unwrap();
        let data64: Vec<f64> = data.iter().map(|&v| f64::from(v)).collect();
        let d64: Vec<f64> = d.iter().map(|&v| f64::from(v)).collect();
        for threads in [1, 2] {
            let got = transposed_product_f64(&s, &data64, &d64, n, c, threads).unwrap();
            assert!(got.iter().zip(&want).all(|(g, w)| *g == f64::from(*w)));
        }
        assert!(transposed_product_f64(&s, &data64[1..], &d64, n, c, 1).is_err());
        assert!(transposed_product_f64(&s, &data64, &d64[1..], n, c, 1).is_err());
    }

    #[test]
    fn refuses_a_dense_matrix_of_the_wrong_height_or_no_values() {
        let (indptr, indices, data) = (vec![0_i64, 1], vec![0_i32], vec![1.0_f32]);
        let s = CsrView::new(CsrNames::PLAIN, &indptr, &indices, Some(&data), 1, 2).unwrap();
        let d = [1.0_f32; 3];
        let dense = Matrix::new("dense", &d, 3, 1).unwrap();
        let err = transposed_product(&s, dense, None, 1).unwrap_err();
        assert!(err.to_string().contains("expected 2 rows"), "{err}");
        let bare = CsrView::new(CsrNames::PLAIN, &indptr, &indices, None, 1, 2).unwrap();
        let dense = Matrix::new("dense", &d[..2], 2, 1).unwrap();
        assert!(transposed_product(&bare, dense, None, 1).is_err());
    }
}
