//! Top-k of factor-model scores without a score matrix: the fused candidate step
//! of the factor models.
//!
//! The score of item `j` for user `u` is `user_factors[u] · item_factors[j]`
//! (plus `bias[j]` when given). Instead of writing a `users x items` score matrix
//! and then selecting from it, this kernel computes scores in register tiles
//! (4 users x 16 items) and offers each tile to the users' heaps while it is in
//! registers, so no score row is ever written to memory.
//!
//! It also skips work exactly. Items are visited in decreasing order of the norm
//! of `[item_factors[j], bias[j]]`; by Cauchy–Schwarz no score can exceed
//! `|[u, 1]| · |[v_j, b_j]|`, so once that bound (widened by the worst-case
//! float32 rounding of the dot product) falls below a user's k-th best score, no
//! later item can enter that user's list and the user stops scanning.
//!
//! Results follow the contract of [`crate::topk`]: best first, ties to the lower
//! item index, items in the user's exclusion row or outside `allowed` (and NaN or
//! -inf scores) never returned, rows padded with index -1 and score NaN. The
//! scores are float32 dot products summed in a fixed order, so they may differ
//! from another implementation's (a BLAS) by rounding only.

use rayon::prelude::*;

use crate::csr::CsrView;
use crate::error::{KernelError, KernelResult};
use crate::matrix::{Matrix, Shape};
use crate::simd::{Isa, Portable, Simd};
use crate::topk::{padded, sift_down, sift_up, Entry, TopK};
use crate::{memory, pool};

/// Users per register tile.
const MR: usize = 4;
/// Items per register tile (two AVX2 registers).
const NR: usize = 16;
/// Users that share one pass over the items (the unit of parallel work).
const USER_BLOCK: usize = 64;
/// Bytes of item factors per cache tile: stays in L2 while every user of the
/// block is scored against it.
const TILE_BYTES: usize = 1 << 16;
/// Users times items below which the work runs on the calling thread.
const PARALLEL_MIN_ELEMENTS: usize = 1 << 17;

/// What to rank: the factor matrices and the per-user / per-item filters.
#[derive(Debug, Clone, Copy)]
pub struct FactorQuery<'a> {
    /// Every user's factors (`n_users x f`).
    pub user_factors: Matrix<'a>,
    /// The rows of `user_factors` to rank for, one output row each.
    pub users: &'a [i64],
    /// Every item's factors (`n_items x f`).
    pub item_factors: Matrix<'a>,
    /// Per-item score offsets (`n_items`), or none.
    pub bias: Option<&'a [f32]>,
    /// Items never returned to each output row (`len(users) x n_items`).
    pub exclude: Option<&'a CsrView<'a>>,
    /// The only items that may be returned (`n_items`), or all.
    pub allowed: Option<&'a [bool]>,
}

/// The `k` best items for each of `query.users` (see the module docs).
pub fn factor_topk(query: &FactorQuery<'_>, k: usize, n_threads: usize) -> KernelResult<TopK> {
    pool::check_threads(n_threads)?;
    check(query)?;
    let (n_rows, n_items) = (query.users.len(), query.item_factors.rows());
    let width = k.min(n_items);
    let mut out = padded(n_rows, width)?;
    if width == 0 || n_rows == 0 {
        return Ok(out);
    }
    let catalogue = Catalogue::new(query)?;
    if catalogue.len == 0 {
        return Ok(out);
    }
    let ranker = Ranker {
        query,
        catalogue: &catalogue,
        width,
        isa: Isa::detect(),
    };
    let block = USER_BLOCK * width;
    let elements = n_rows.saturating_mul(n_items);
    if elements < PARALLEL_MIN_ELEMENTS || pool::effective_threads(n_threads) == 1 {
        let mut scratch = Scratch::new(ranker.words());
        let blocks = out
            .indices
            .chunks_mut(block)
            .zip(out.scores.chunks_mut(block));
        for (b, (oi, os)) in blocks.enumerate() {
            ranker.block(b * USER_BLOCK, &mut scratch, oi, os);
        }
    } else {
        pool::install(n_threads, || {
            out.indices
                .par_chunks_mut(block)
                .zip(out.scores.par_chunks_mut(block))
                .enumerate()
                .for_each_init(
                    || Scratch::new(ranker.words()),
                    |scratch, (b, (oi, os))| ranker.block(b * USER_BLOCK, scratch, oi, os),
                );
        })?;
    }
    Ok(out)
}

fn check(query: &FactorQuery<'_>) -> KernelResult<()> {
    let items = &query.item_factors;
    items.expect_factors()?;
    items.expect_cols_like(&query.user_factors)?;
    let n_items = items.rows();
    if u32::try_from(n_items).is_err() {
        return Err(KernelError::new(
            "item_factors",
            format!("expected at most {} rows, received {n_items}", u32::MAX),
        ));
    }
    let n_users = query.user_factors.rows();
    if let Some(&bad) = query
        .users
        .iter()
        .find(|&&u| usize::try_from(u).map_or(true, |u| u >= n_users))
    {
        return Err(KernelError::new(
            "users",
            format!("expected row indices in [0, {n_users}), received {bad}"),
        ));
    }
    if let Some(bias) = query.bias {
        crate::error::check_len("bias", bias.len(), n_items)?;
    }
    if let Some(allowed) = query.allowed {
        crate::error::check_len("allowed", allowed.len(), n_items)?;
    }
    if let Some(csr) = query.exclude {
        if csr.n_rows() != query.users.len() || csr.n_cols() != n_items {
            return Err(KernelError::new(
                "exclude_indptr",
                format!(
                    "expected an exclusion matrix of shape ({}, {n_items}), received ({}, {})",
                    query.users.len(),
                    csr.n_rows(),
                    csr.n_cols()
                ),
            ));
        }
    }
    Ok(())
}

/// The candidate items in scan order (decreasing norm), packed for the tiles.
struct Catalogue {
    /// Number of candidate items.
    len: usize,
    /// Factors per item.
    f: usize,
    /// Original index of each position.
    order: Vec<u32>,
    /// Panels of `NR` items: panel `p` holds factor `c` of item `p*NR + l` at
    /// `p*f*NR + c*NR + l` (zeros past the last item).
    panels: Vec<f32>,
    /// Bias of each position (zeros past the last item).
    bias: Vec<f32>,
    /// `|[v_j, b_j]|` of each position, non-increasing (NaN counted as +inf).
    norms: Vec<f64>,
}

impl Catalogue {
    fn new(query: &FactorQuery<'_>) -> KernelResult<Self> {
        let items = &query.item_factors;
        let (n_items, f) = (items.rows(), items.cols());
        let norm = |j: usize| -> f64 {
            let b = query.bias.map_or(0.0, |b| f64::from(b[j]));
            let sq: f64 = items
                .row(j)
                .iter()
                .map(|&x| f64::from(x) * f64::from(x))
                .sum();
            let n = (sq + b * b).sqrt();
            if n.is_nan() {
                f64::INFINITY
            } else {
                n
            }
        };
        let mut scored: Vec<(f64, u32)> = memory::with_capacity("item_factors", n_items)?;
        for j in 0..n_items {
            if query.allowed.is_none_or(|a| a[j]) {
                // `check` made sure every index fits in u32.
                scored.push((norm(j), j as u32));
            }
        }
        scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let len = scored.len();
        let padded_len = len.div_ceil(NR) * NR;
        let panel_values = crate::error::checked_product("item_factors", padded_len, f)?;
        memory::ensure(
            "item_factors",
            "the packed item factors",
            memory::bytes_of::<f32>(panel_values),
        )?;
        let mut panels: Vec<f32> = memory::zeroed("item_factors", panel_values)?;
        let mut bias: Vec<f32> = memory::zeroed("bias", padded_len)?;
        for (pos, &(_, j)) in scored.iter().enumerate() {
            let (p, l) = (pos / NR, pos % NR);
            let panel = &mut panels[p * f * NR..(p + 1) * f * NR];
            for (c, &x) in items.row(j as usize).iter().enumerate() {
                panel[c * NR + l] = x;
            }
            bias[pos] = query.bias.map_or(0.0, |b| b[j as usize]);
        }
        Ok(Self {
            len,
            f,
            order: scored.iter().map(|&(_, j)| j).collect(),
            panels,
            bias,
            norms: scored.iter().map(|&(n, _)| n).collect(),
        })
    }
}

/// One thread's buffers for a block of users.
struct Scratch {
    /// Bit `j` of row `r`: item `j` is excluded for the block's user `r`.
    seen: Vec<u64>,
    heaps: Vec<Vec<Entry>>,
    /// `|[u, 1]|` of each user of the block.
    norms: Vec<f64>,
    /// Positions (in the block) of the users still scanning.
    active: Vec<usize>,
    /// Factors of `MR` users, interleaved: factor `c` of user `r` at `c*MR + r`.
    packed: Vec<f32>,
}

impl Scratch {
    fn new(words: usize) -> Self {
        Self {
            seen: vec![0; USER_BLOCK * words],
            heaps: (0..USER_BLOCK).map(|_| Vec::new()).collect(),
            norms: vec![0.0; USER_BLOCK],
            active: Vec::with_capacity(USER_BLOCK),
            packed: Vec::new(),
        }
    }
}

struct Ranker<'a> {
    query: &'a FactorQuery<'a>,
    catalogue: &'a Catalogue,
    width: usize,
    isa: Isa,
}

impl Ranker<'_> {
    /// Words of the exclusion bitset of one user (0 without exclusions).
    fn words(&self) -> usize {
        if self.query.exclude.is_some() {
            self.query.item_factors.rows().div_ceil(64)
        } else {
            0
        }
    }

    /// Ranks the users `first..first + oi.len() / width` into `oi` / `os`.
    fn block(&self, first: usize, scratch: &mut Scratch, oi: &mut [i64], os: &mut [f32]) {
        let count = oi.len() / self.width;
        let words = self.words();
        let with_bias = self.query.bias.is_some();
        for r in 0..count {
            let row = first + r;
            let u = self.user(row);
            let sq: f64 = u.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
            scratch.norms[r] = (sq + if with_bias { 1.0 } else { 0.0 }).sqrt();
            scratch.heaps[r].clear();
            if let Some(csr) = self.query.exclude {
                let bits = &mut scratch.seen[r * words..(r + 1) * words];
                for &c in csr.row_indices(row) {
                    bits[c as usize / 64] |= 1 << (c as usize % 64);
                }
            }
        }
        match self.isa {
            Isa::Portable => self.scan::<Portable>(first, count, scratch),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::detect` found AVX2 and FMA on this CPU.
            Isa::Avx2Fma => unsafe { self.scan_avx2(first, count, scratch) },
        }
        for r in 0..count {
            if let Some(csr) = self.query.exclude {
                let bits = &mut scratch.seen[r * words..(r + 1) * words];
                for &c in csr.row_indices(first + r) {
                    bits[c as usize / 64] = 0;
                }
            }
            let heap = &mut scratch.heaps[r];
            heap.sort_unstable_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
            for (slot, entry) in heap.iter().enumerate() {
                oi[r * self.width + slot] = i64::from(entry.index);
                os[r * self.width + slot] = entry.score;
            }
        }
    }

    /// The factors of output row `row` (its index was checked by `check`).
    fn user(&self, row: usize) -> &[f32] {
        self.query.user_factors.row(self.query.users[row] as usize)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn scan_avx2(&self, first: usize, count: usize, scratch: &mut Scratch) {
        self.scan::<crate::simd::Avx2Fma>(first, count, scratch);
    }

    /// Scores the block's users against the catalogue, tile by tile, and offers
    /// every register tile to their heaps.
    #[inline(always)]
    fn scan<S: Simd>(&self, first: usize, count: usize, scratch: &mut Scratch) {
        let cat = self.catalogue;
        let f = cat.f;
        // Worst-case rounding of a float32 dot product of length f plus one
        // addition, relative to the Cauchy–Schwarz bound (2 (f + 2) u, u = 2^-24),
        // and an absolute term for subnormal products.
        let widen = 1.0 + (f as f64 + 4.0) * f64::powi(2.0, -23);
        let floor = (f as f64 + 4.0) * f64::powi(2.0, -140);
        let tile_items = (TILE_BYTES / (4 * f)).max(1).div_ceil(NR) * NR;
        let words = self.words();
        scratch.packed.clear();
        scratch.packed.resize(f * MR, 0.0);
        let zeros = vec![0.0_f32; f];
        let Scratch {
            seen,
            heaps,
            norms,
            active,
            packed,
        } = scratch;
        active.clear();
        active.extend(0..count);
        let mut start = 0;
        while start < cat.len {
            let bound = cat.norms[start];
            // A user stops once even the bound cannot reach its worst kept score
            // (a NaN bound, from an infinite norm times zero, never stops it).
            active.retain(|&r| {
                let heap = &heaps[r];
                heap.len() < self.width
                    || (norms[r] * bound * widen + floor)
                        .partial_cmp(&f64::from(heap[0].score))
                        .is_none_or(|order| order.is_ge())
            });
            if active.is_empty() {
                break;
            }
            let stop = (start + tile_items).min(cat.len);
            for group in active.chunks(MR) {
                let rows: [&[f32]; MR] = std::array::from_fn(|r| {
                    group.get(r).map_or(&zeros[..], |&g| self.user(first + g))
                });
                for (c, slots) in packed.chunks_exact_mut(MR).enumerate() {
                    for (slot, row) in slots.iter_mut().zip(rows) {
                        *slot = row[c];
                    }
                }
                let mut p = start / NR;
                while p * NR < stop {
                    let panel = &cat.panels[p * f * NR..(p + 1) * f * NR];
                    let acc = micro::<S>(packed, panel);
                    let base = p * NR;
                    let valid = (cat.len - base).min(NR);
                    let bias = &cat.bias[base..base + NR];
                    for (r, &g) in group.iter().enumerate() {
                        let mut scores = acc[r];
                        for (s, &b) in scores.iter_mut().zip(bias) {
                            *s += b;
                        }
                        let bits = &seen[g * words..(g + 1) * words];
                        offer(
                            &mut heaps[g],
                            self.width,
                            &scores[..valid],
                            &cat.order[base..base + valid],
                            bits,
                        );
                    }
                    p += 1;
                }
            }
            start = stop;
        }
    }
}

/// Scores of `MR` users (interleaved in `packed`) for the `NR` items of `panel`.
#[inline(always)]
fn micro<S: Simd>(packed: &[f32], panel: &[f32]) -> [[f32; NR]; MR] {
    let mut acc = [[0.0_f32; NR]; MR];
    for (u, v) in packed.chunks_exact(MR).zip(panel.chunks_exact(NR)) {
        for (row, &a) in acc.iter_mut().zip(u) {
            for (x, &b) in row.iter_mut().zip(v) {
                *x = S::mul_add(a, b, *x);
            }
        }
    }
    acc
}

/// Offers the scores of one register tile (items `order`) to a user's heap.
#[inline(always)]
fn offer(heap: &mut Vec<Entry>, width: usize, scores: &[f32], order: &[u32], seen: &[u64]) {
    // A full heap only takes a score at least its worst (an equal score may win on
    // the lower index): a branch-free test rejects most tiles at once.
    if heap.len() == width {
        let worst = heap[0].score;
        if !scores.iter().fold(false, |any, &s| any | (s >= worst)) {
            return;
        }
    }
    for (&score, &index) in scores.iter().zip(order) {
        if score.is_nan() || score == f32::NEG_INFINITY {
            continue;
        }
        let entry = Entry { score, index };
        let full = heap.len() == width;
        if full && !heap[0].worse_than(&entry) {
            continue;
        }
        let i = index as usize;
        if !seen.is_empty() && seen[i / 64] & (1 << (i % 64)) != 0 {
            continue;
        }
        if full {
            heap[0] = entry;
            sift_down(heap, 0);
        } else {
            heap.push(entry);
            let last = heap.len() - 1;
            sift_up(heap, last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::CsrNames;
    use crate::testing::lcg;

    const N: CsrNames = CsrNames::EXCLUDE;

    /// Reference: every score with the same sum order, then a full sort.
    fn reference(
        q: &FactorQuery<'_>,
        excluded: &dyn Fn(usize, usize) -> bool,
        k: usize,
    ) -> Vec<Vec<(i64, f32)>> {
        let n_items = q.item_factors.rows();
        (0..q.users.len())
            .map(|row| {
                let u = q.user_factors.row(q.users[row] as usize);
                let mut cand: Vec<(i64, f32)> = (0..n_items)
                    .filter(|&j| q.allowed.is_none_or(|a| a[j]) && !excluded(row, j))
                    .map(|j| {
                        let v = q.item_factors.row(j);
                        let dot = u.iter().zip(v).fold(0.0_f32, |acc, (a, b)| a * b + acc);
                        (j as i64, dot + q.bias.map_or(0.0, |b| b[j]))
                    })
                    .filter(|(_, s)| !s.is_nan() && *s != f32::NEG_INFINITY)
                    .collect();
                cand.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                cand.truncate(k.min(n_items));
                cand
            })
            .collect()
    }

    #[test]
    fn matches_reference_on_integer_factors_with_ties() {
        // Small integers: every dot product is exact in float32, so results must
        // equal the reference bit for bit, ties included.
        let mut seed = 11_u64;
        for &(n_users, n_items, f, k, threads, bias, allow) in &[
            (5, 9, 3, 3, 1, false, false),
            (70, 50, 4, 10, 2, true, false),
            (3, 4, 2, 10, 1, false, true),
            (300, 600, 5, 7, 2, true, true),
            (130, 37, 1, 40, 0, false, false),
            (1, 1, 1, 1, 1, true, false),
        ] {
            let int = |seed: &mut u64| (lcg(seed) % 5) as f32 - 2.0;
            let uf: Vec<f32> = (0..n_users * f).map(|_| int(&mut seed)).collect();
            let vf: Vec<f32> = (0..n_items * f).map(|_| int(&mut seed)).collect();
            let b: Vec<f32> = (0..n_items).map(|_| int(&mut seed)).collect();
            let allowed: Vec<bool> = (0..n_items).map(|_| lcg(&mut seed) % 4 != 0).collect();
            let users: Vec<i64> = (0..n_users)
                .map(|_| (lcg(&mut seed) % n_users as u64) as i64)
                .collect();
            let mut indptr = vec![0_i64];
            let mut indices = Vec::new();
            for row in 0..n_users {
                // Row 0 excludes everything; the others a random third, unsorted.
                let mut r: Vec<i32> = (0..n_items as i32)
                    .filter(|_| row == 0 || lcg(&mut seed) % 3 == 0)
                    .collect();
                r.reverse();
                indices.extend(r);
                indptr.push(indices.len() as i64);
            }
            let csr = CsrView::new(N, &indptr, &indices, None, n_users, n_items).unwrap();
            let q = FactorQuery {
                user_factors: Matrix::new("user_factors", &uf, n_users, f).unwrap(),
                users: &users,
                item_factors: Matrix::new("item_factors", &vf, n_items, f).unwrap(),
                bias: bias.then_some(&b[..]),
                exclude: Some(&csr),
                allowed: allow.then_some(&allowed[..]),
            };
            let got = factor_topk(&q, k, threads).unwrap();
            let excluded = |row: usize, j: usize| csr.row_indices(row).contains(&(j as i32));
            let want = reference(&q, &excluded, k);
            assert_eq!(got.width, k.min(n_items));
            for (row, want) in want.iter().enumerate() {
                for slot in 0..got.width {
                    let i = got.indices[row * got.width + slot];
                    let s = got.scores[row * got.width + slot];
                    match want.get(slot) {
                        Some(&(wi, ws)) => assert_eq!((i, s), (wi, ws), "row {row} slot {slot}"),
                        None => assert!(i == -1 && s.is_nan(), "row {row} slot {slot} not padded"),
                    }
                }
            }
        }
    }

    #[test]
    fn float_factors_rank_like_the_reference() {
        let mut seed = 3_u64;
        let (n_users, n_items, f) = (50, 200, 16);
        let uf: Vec<f32> = (0..n_users * f)
            .map(|_| lcg(&mut seed) as f32 / 1e9)
            .collect();
        let vf: Vec<f32> = (0..n_items * f)
            .map(|_| lcg(&mut seed) as f32 / 1e9)
            .collect();
        let users: Vec<i64> = (0..n_users as i64).collect();
        let q = FactorQuery {
            user_factors: Matrix::new("user_factors", &uf, n_users, f).unwrap(),
            users: &users,
            item_factors: Matrix::new("item_factors", &vf, n_items, f).unwrap(),
            bias: None,
            exclude: None,
            allowed: None,
        };
        let want = reference(&q, &|_, _| false, 10);
        let got = factor_topk(&q, 10, 1).unwrap();
        for (row, want) in want.iter().enumerate() {
            let got_idx = &got.indices[row * 10..(row + 1) * 10];
            let want_idx: Vec<i64> = want.iter().map(|w| w.0).collect();
            assert_eq!(got_idx, &want_idx[..], "row {row}");
        }
    }

    #[test]
    fn rejects_bad_arguments() {
        let uf = [1.0_f32; 6];
        let vf = [1.0_f32; 9];
        let base = FactorQuery {
            user_factors: Matrix::new("user_factors", &uf, 2, 3).unwrap(),
            users: &[0, 1],
            item_factors: Matrix::new("item_factors", &vf, 3, 3).unwrap(),
            bias: None,
            exclude: None,
            allowed: None,
        };
        let bad_user = FactorQuery {
            users: &[2],
            ..base
        };
        assert_eq!(factor_topk(&bad_user, 1, 1).unwrap_err().arg, "users");
        let negative = FactorQuery {
            users: &[-1],
            ..base
        };
        assert_eq!(factor_topk(&negative, 1, 1).unwrap_err().arg, "users");
        let short_bias = FactorQuery {
            bias: Some(&[1.0]),
            ..base
        };
        assert_eq!(factor_topk(&short_bias, 1, 1).unwrap_err().arg, "bias");
        let short_mask = FactorQuery {
            allowed: Some(&[true]),
            ..base
        };
        assert_eq!(factor_topk(&short_mask, 1, 1).unwrap_err().arg, "allowed");
        let narrow = FactorQuery {
            item_factors: Matrix::new("item_factors", &vf[..6], 3, 2).unwrap(),
            ..base
        };
        assert_eq!(factor_topk(&narrow, 1, 1).unwrap_err().arg, "item_factors");
        let csr = CsrView::new(N, &[0, 0], &[], None, 1, 3).unwrap();
        let wrong_rows = FactorQuery {
            exclude: Some(&csr),
            ..base
        };
        assert_eq!(
            factor_topk(&wrong_rows, 1, 1).unwrap_err().arg,
            "exclude_indptr"
        );
        assert_eq!(factor_topk(&base, 1, 5000).unwrap_err().arg, "n_threads");
    }

    #[test]
    fn nothing_allowed_or_nothing_asked_gives_padding() {
        let uf = [1.0_f32; 2];
        let vf = [1.0_f32; 4];
        let q = FactorQuery {
            user_factors: Matrix::new("user_factors", &uf, 1, 2).unwrap(),
            users: &[0],
            item_factors: Matrix::new("item_factors", &vf, 2, 2).unwrap(),
            bias: None,
            exclude: None,
            allowed: Some(&[false, false]),
        };
        let got = factor_topk(&q, 5, 1).unwrap();
        assert_eq!(got.indices, vec![-1, -1]);
        assert_eq!(factor_topk(&q, 0, 1).unwrap().width, 0);
        let none = FactorQuery { users: &[], ..q };
        assert!(factor_topk(&none, 3, 1).unwrap().indices.is_empty());
    }
}
