//! One epoch of Bayesian Personalised Ranking (Rendle et al. 2009) by SGD.
//!
//! Every observed (user, item) pair of the CSR matrix is visited once, in blocks
//! of `BLOCK` consecutive pair positions (mostly one user's pairs, in item order)
//! whose order is shuffled by a keyed permutation of the blocks
//! ([`rng::Permutation`]): the user's factors and row stay in cache across a
//! block, where a shuffle of single pairs would fetch them from memory at every
//! step on data larger than the cache. For the pair at CSR position `p` the
//! negative item is drawn uniformly from the items the user has not seen: uniform
//! draws (from the stream `rng::draw(negative_key, p)`) are
//! rejected by searching the user's sorted CSR row (a binary search, or, on data
//! too large for the cache, a search from the interpolated position); after
//! `REJECTION_TRIES` rejections the `r`-th unseen item is taken directly, with `r`
//! uniform. Users who have seen every item are skipped. No users x items mask
//! exists anywhere.
//!
//! The update uses the values from before the step for all three vectors:
//!
//! ```text
//! x   = u . (i - j) + b_i - b_j            z = 1 / (1 + exp(x))
//! u  <- (1 - lr reg) u + lr z (i - j)
//! i  <- (1 - lr reg) i + lr z u
//! j  <- (1 - lr reg) j - lr z u
//! b_i <- (1 - lr reg) b_i + lr z           b_j <- (1 - lr reg) b_j - lr z
//! ```
//!
//! With one thread the steps run in order, so a seed gives bit-identical results.
//! With `t` threads (but no more than one per `MIN_PAIRS_PER_THREAD` pairs: on less
//! work, threads would mostly contend for item rows and a single ordered pass is
//! faster), the pairs are cut into `SHARDS_PER_THREAD * t` shards of whole users
//! (contiguous CSR rows, about the same number of pairs each), each visited in its
//! own shuffled order by whichever thread is free, all at once (Hogwild, Niu et
//! al. 2011): a shard owns its users' factors, and item factors (each item's bias
//! packed into its row for the epoch, rows on whole cache lines) are shared without
//! locks through relaxed atomic loads and stores (16-byte aligned vector moves with
//! AVX2, which the CPU makers guarantee atomic; 64-bit atomics otherwise), so a
//! concurrent update of an item may be lost or mixed, but no access is a data race.

use std::sync::atomic::AtomicU64;

use rayon::prelude::*;

use crate::csr::CsrView;
use crate::error::{check_finite, check_len, KernelError, KernelResult};
use crate::matrix::{MatrixMut, Shape};
use crate::rng::{self, Permutation};
#[cfg(target_arch = "x86_64")]
use crate::simd::Avx2Fma;
use crate::simd::{self, join, Isa, Portable, Simd};
use crate::{memory, pool};

/// Uniform draws tried before the exact draw among unseen items.
pub const REJECTION_TRIES: u32 = 32;
/// Consecutive pair positions visited together (see the module docs). Measured
/// (5 epochs, 64 factors, 138k users x 27k items x 10M pairs, 2 threads): 14.7 s
/// with single pairs, 9.0 s with 8, 8.9 s with 16; on MovieLens 100k, NDCG@10 is
/// the same (0.419 over 5 splits).
pub const BLOCK: usize = 8;
/// Steps between prefetching a step's rows and running it (and half the ring).
const AHEAD: usize = 8;
const RING: usize = 2 * AHEAD;
/// Rows are prefetched only when the factors and pairs take more memory than
/// this (about a core's L2 cache); below, the pipeline would only add work.
const PREFETCH_ABOVE_BYTES: usize = 2 << 20;
/// Stream numbers under the epoch seed (one shard's permutation uses 0..6).
const NEGATIVE_STREAM: u64 = 8;
/// Fewest pairs worth a thread of their own: below, threads mostly wait for each
/// other's item rows (measured: 100k pairs run no faster on 2 threads than on 1,
/// 300k run 1.3 times faster).
const MIN_PAIRS_PER_THREAD: usize = 100_000;
/// Shards per thread: the threads take shards as they finish the previous one, so
/// a thread slowed down (by its users' rows, or by the machine) does not hold the
/// others back at the end of the epoch.
const SHARDS_PER_THREAD: usize = 4;
/// Shard `t` of several permutes its pairs with streams from `SHARD_STREAM + t`.
const SHARD_STREAM: u64 = 1 << 20;

/// Hyperparameters of one epoch.
#[derive(Debug, Clone, Copy)]
pub struct BprParams {
    pub learning_rate: f32,
    pub reg: f32,
    pub seed: u64,
}

/// What an epoch did: the summed loss `-ln sigmoid(x)` over its updates (before
/// each update), the number of updates, and the pairs skipped because their user
/// has seen every item.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BprEpoch {
    pub loss: f64,
    pub updates: u64,
    pub skipped: u64,
}

impl BprEpoch {
    fn add(self, other: Self) -> Self {
        Self {
            loss: self.loss + other.loss,
            updates: self.updates + other.updates,
            skipped: self.skipped + other.skipped,
        }
    }
}

/// The factor matrices an epoch updates (users x k and items x k), and the items'
/// biases if the model has them.
pub struct BprModel<'a> {
    pub user_factors: MatrixMut<'a>,
    pub item_factors: MatrixMut<'a>,
    pub item_bias: Option<&'a mut [f32]>,
}

/// Runs one epoch over the pairs of `positives` (users x items, column indices
/// strictly increasing within each row). See the module docs.
pub fn bpr_epoch(
    positives: &CsrView<'_>,
    model: BprModel<'_>,
    params: BprParams,
    n_threads: usize,
) -> KernelResult<BprEpoch> {
    let tuning = Tuning {
        isa: Isa::detect(),
        min_pairs_per_thread: MIN_PAIRS_PER_THREAD,
    };
    epoch_with(positives, model, params, n_threads, tuning)
}

/// How an epoch runs, apart from what it computes (tests vary it).
#[derive(Debug, Clone, Copy)]
struct Tuning {
    isa: Isa,
    min_pairs_per_thread: usize,
}

fn epoch_with(
    positives: &CsrView<'_>,
    model: BprModel<'_>,
    params: BprParams,
    n_threads: usize,
    tuning: Tuning,
) -> KernelResult<BprEpoch> {
    pool::check_threads(n_threads)?;
    let n_items = validate(positives, &model, params)?;
    let nnz = positives.nnz();
    if nnz == 0 {
        return Ok(BprEpoch::default());
    }
    let user_of = user_of_pairs(positives)?;
    let plan = Plan::new(positives, &user_of, &model, n_items, params, tuning);
    let threads = pool::effective_threads(n_threads).min(nnz / tuning.min_pairs_per_thread.max(1));
    if threads <= 1 {
        return Ok(plan.run_ordered(model, params.seed));
    }
    let bounds = shard_users(positives, threads * SHARDS_PER_THREAD);
    plan.run_hogwild(model, &bounds, params.seed, n_threads)
}

/// Checks the shapes of the factors against a pattern of `n_users x n_items`
/// (`bpr_epoch` does; callers holding an unvalidated pattern may check first, so
/// that a shape mismatch is reported before the pattern's own defects).
pub fn check_shapes(model: &BprModel<'_>, n_users: usize, n_items: usize) -> KernelResult<()> {
    let (users, items) = (&model.user_factors, &model.item_factors);
    users.expect_factors()?;
    items.expect_cols_like(users)?;
    users.expect_rows(n_users, "one per row of indptr")?;
    items.expect_rows(n_items, "one per column of the pattern")?;
    if let Some(bias) = model.item_bias.as_deref() {
        check_len("item_bias", bias.len(), items.rows())?;
    }
    Ok(())
}

/// Checks every argument of an epoch; returns the number of items.
fn validate(positives: &CsrView<'_>, model: &BprModel<'_>, params: BprParams) -> KernelResult<u32> {
    check_shapes(model, positives.n_rows(), positives.n_cols())?;
    let (users, items) = (&model.user_factors, &model.item_factors);
    users.expect_finite()?;
    items.expect_finite()?;
    if let Some(bias) = model.item_bias.as_deref() {
        check_finite("item_bias", bias)?;
    }
    check_rate("learning_rate", params.learning_rate)?;
    check_rate("reg", params.reg)?;
    let n_items = u32::try_from(items.rows())
        .ok()
        .filter(|&n| n < u32::MAX)
        .ok_or_else(|| KernelError::new("item_factors", "expected fewer than 2^32 - 1 items"))?;
    if u32::try_from(users.rows()).is_err() {
        return Err(KernelError::new(
            "user_factors",
            "expected fewer than 2^32 users",
        ));
    }
    check_sorted_rows(positives)?;
    Ok(n_items)
}

/// The user (row) of every pair (CSR position).
fn user_of_pairs(positives: &CsrView<'_>) -> KernelResult<Vec<u32>> {
    let mut user_of = memory::with_capacity("indices", positives.nnz())?;
    for row in 0..positives.n_rows() {
        user_of.extend(std::iter::repeat_n(
            row as u32,
            positives.row_indices(row).len(),
        ));
    }
    Ok(user_of)
}

impl<'a> Plan<'a> {
    fn new(
        csr: &'a CsrView<'a>,
        user_of: &'a [u32],
        model: &BprModel<'_>,
        n_items: u32,
        params: BprParams,
        tuning: Tuning,
    ) -> Self {
        let factors = model.user_factors.values().len() + model.item_factors.values().len();
        let bytes = factors
            .saturating_mul(4)
            .saturating_add(csr.nnz().saturating_mul(8));
        let large = bytes > PREFETCH_ABOVE_BYTES;
        Self {
            csr,
            user_of,
            negative_key: rng::subkey(params.seed, NEGATIVE_STREAM),
            n_items,
            k: model.user_factors.cols(),
            learning_rate: params.learning_rate,
            decay: 1.0 - params.learning_rate * params.reg,
            isa: tuning.isa,
            prefetch: large,
            interpolate_above: if large { INTERPOLATE_ABOVE } else { usize::MAX },
        }
    }

    /// One thread visits every pair in one shuffled order: reproducible.
    fn run_ordered(&self, model: BprModel<'_>, seed: u64) -> BprEpoch {
        let nnz = self.csr.nnz();
        let shard = Shard::new(0, nnz, seed);
        let mut store = Exclusive {
            users: model.user_factors.into_data(),
            items: model.item_factors.into_data(),
            bias: model.item_bias,
            k: self.k,
        };
        self.run(&shard, &mut store)
    }

    /// Shards of users (`bounds`) run at once, sharing the item rows (Hogwild).
    fn run_hogwild(
        &self,
        model: BprModel<'_>,
        bounds: &[usize],
        seed: u64,
        n_threads: usize,
    ) -> KernelResult<BprEpoch> {
        let BprModel {
            user_factors,
            mut item_factors,
            item_bias,
        } = model;
        let shared = SharedItems::pack(item_factors.values(), item_bias.as_deref(), self.k)?;
        let jobs = self.shard_jobs(user_factors.into_data(), &shared, bounds, seed);
        let parts: Vec<BprEpoch> = pool::install(n_threads, || {
            jobs.into_par_iter()
                .map(|(shard, mut store)| self.run(&shard, &mut store))
                .collect()
        })?;
        shared.unpack(item_factors.data_mut(), item_bias);
        Ok(parts.into_iter().fold(BprEpoch::default(), BprEpoch::add))
    }

    /// Each shard with the factors of its own users: safe, exclusive slices.
    fn shard_jobs<'s>(
        &self,
        user_factors: &'s mut [f32],
        shared: &'s SharedItems,
        bounds: &[usize],
        seed: u64,
    ) -> Vec<(Shard, Hogwild<'s>)> {
        let k = self.k;
        let mut jobs = Vec::with_capacity(bounds.len() - 1);
        let mut rest = user_factors;
        for (t, w) in bounds.windows(2).enumerate() {
            let (mine, others) = rest.split_at_mut((w[1] - w[0]) * k);
            rest = others;
            let first_pair = self.csr.row_start(w[0]);
            let len = self.csr.row_start(w[1]) - first_pair;
            let shard = Shard::new(first_pair, len, rng::subkey(seed, SHARD_STREAM + t as u64));
            let store = Hogwild {
                users: mine,
                first_user: w[0],
                items: shared.rows(),
                width: shared.width,
                with_bias: shared.with_bias,
                // A line of padding on each side: the shards' scratch rows are
                // allocated one after another, and every step writes them.
                scratch: vec![0.0; LINE_FLOATS + 2 * shared.width + LINE_FLOATS],
                k,
            };
            jobs.push((shard, store));
        }
        jobs
    }
}

/// Floats in a cache line (64 bytes). Two threads writing different floats of one
/// line still pass the line back and forth between their cores at every write
/// (false sharing): measured, that made an epoch on 2 threads slower than on 1.
const LINE_FLOATS: usize = 16;

/// Item rows shared by the Hogwild shards. Each row carries its bias in one more
/// column (a separate bias array would put every hot item's bias in a handful of
/// cache lines that all threads keep writing), and rows are shared as pairs of
/// floats in 64-bit atomics: half the atomic operations of one float each. Rows
/// start on cache lines and fill whole lines, so threads updating different items
/// never write the same line.
struct SharedItems {
    /// `start` words of padding (to the first line boundary), then the rows.
    words: Vec<AtomicU64>,
    start: usize,
    /// Floats per row: the factors, the bias if any, padding to whole lines.
    width: usize,
    with_bias: bool,
    k: usize,
}

impl SharedItems {
    fn pack(item_factors: &[f32], item_bias: Option<&[f32]>, k: usize) -> KernelResult<Self> {
        let width = (k + usize::from(item_bias.is_some())).next_multiple_of(LINE_FLOATS);
        let n_items = item_factors.len() / k;
        let mut row = vec![0.0_f32; width];
        let line_words = LINE_FLOATS / 2;
        let mut words: Vec<AtomicU64> =
            memory::with_capacity("item_factors", n_items * width / 2 + line_words)?;
        // The allocation does not move while it fills (its capacity is reserved).
        let start = (words.as_ptr() as usize).wrapping_neg() % (LINE_FLOATS * 4) / 8;
        words.extend((0..start).map(|_| AtomicU64::new(0)));
        for (item, factors) in item_factors.chunks_exact(k).enumerate() {
            row[..k].copy_from_slice(factors);
            if let Some(bias) = item_bias {
                row[k] = bias[item];
            }
            words.extend(
                row.chunks_exact(2)
                    .map(|p| AtomicU64::new(join(p[0], p[1]))),
            );
        }
        Ok(Self {
            words,
            start,
            width,
            with_bias: item_bias.is_some(),
            k,
        })
    }

    /// The rows, `width / 2` words each.
    fn rows(&self) -> &[AtomicU64] {
        &self.words[self.start..]
    }

    /// Writes the shared rows back into the caller's arrays.
    fn unpack(&self, item_factors: &mut [f32], mut item_bias: Option<&mut [f32]>) {
        let k = self.k;
        let mut row = vec![0.0_f32; self.width];
        for (item, shared) in self.rows().chunks_exact(self.width / 2).enumerate() {
            Portable::load_shared(shared, &mut row);
            item_factors[item * k..(item + 1) * k].copy_from_slice(&row[..k]);
            if let Some(bias) = item_bias.as_deref_mut() {
                bias[item] = row[k];
            }
        }
    }
}

/// User boundaries `[0, b_1, ..., n_users]` of up to `shards` shards holding about
/// the same number of pairs (a shard may be empty when one user holds many).
fn shard_users(csr: &CsrView<'_>, shards: usize) -> Vec<usize> {
    let n_users = csr.n_rows();
    let nnz = csr.nnz();
    let shards = shards.clamp(1, nnz.max(1));
    let mut bounds = vec![0];
    for t in 1..shards {
        let target = nnz * t / shards;
        // The first user whose pairs start at or after the target.
        let (mut low, mut high) = (*bounds.last().unwrap_or(&0), n_users);
        while low < high {
            let mid = (low + high) / 2;
            if csr.row_start(mid) < target {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        bounds.push(low);
    }
    bounds.push(n_users);
    bounds
}

fn check_rate(name: &'static str, value: f32) -> KernelResult<()> {
    if !(value.is_finite() && value >= 0.0) {
        return Err(KernelError::new(
            name,
            format!("expected a finite number >= 0, received {value}"),
        ));
    }
    Ok(())
}

fn check_sorted_rows(csr: &CsrView<'_>) -> KernelResult<()> {
    for row in 0..csr.n_rows() {
        let cols = csr.row_indices(row);
        if let Some(pos) = cols.windows(2).position(|w| w[1] <= w[0]) {
            return Err(KernelError::new(
                "indices",
                format!(
                    "expected strictly increasing column indices within each row (sorted, no \
                     duplicates), received {} then {} in row {row}",
                    cols[pos],
                    cols[pos + 1]
                ),
            ));
        }
    }
    Ok(())
}

/// The item drawn as the negative for a user whose sorted row is `seen`, at the
/// step whose stream starts with `value`. `seen.len()` must be below `n_items`.
#[inline(always)]
pub fn negative_item(mut value: u64, seen: &[i32], n_items: u32, interpolate_above: usize) -> u32 {
    for _ in 0..REJECTION_TRIES {
        let item = rng::below(value, n_items);
        if !contains(seen, item, n_items, interpolate_above) {
            return item;
        }
        value = rng::next(value);
    }
    // The r-th unseen item is r + t, where t counts the seen items below it: the
    // seen items s_j with s_j - j (the unseen items below s_j) at most r.
    let r = rng::below(value, n_items - seen.len() as u32);
    let (mut low, mut high) = (0, seen.len());
    while low < high {
        let mid = (low + high) / 2;
        if seen[mid] as u32 - mid as u32 <= r {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    r + low as u32
}

/// On data too large for the cache, rows longer than this are searched from an
/// interpolated guess (fewer cache misses); otherwise a branch-free binary search
/// is faster.
const INTERPOLATE_ABOVE: usize = 64;

/// Whether the sorted row `seen` (of a matrix with `n_items` columns) holds `item`.
///
/// The search starts where `item` would sit if the row's items were spread evenly
/// and gallops from there: long rows (the users with most samples) are then
/// searched in one or two cache lines instead of a dozen binary-search probes.
#[inline(always)]
fn contains(seen: &[i32], item: u32, n_items: u32, interpolate_above: usize) -> bool {
    let item = item as i32;
    let len = seen.len();
    if len <= interpolate_above {
        return seen.binary_search(&item).is_ok();
    }
    let guess = ((u64::from(item as u32) * len as u64) / u64::from(n_items)) as usize;
    let guess = guess.min(len - 1);
    let (low, high) = if seen[guess] < item {
        // Gallop right: find a window [guess + step / 2, guess + step] holding it.
        let mut step = 1;
        while guess + step < len && seen[guess + step] < item {
            step *= 2;
        }
        (guess + step / 2 + 1, (guess + step + 1).min(len))
    } else {
        let mut step = 1;
        while step <= guess && seen[guess - step] > item {
            step *= 2;
        }
        (guess.saturating_sub(step), guess - step / 2 + 1)
    };
    seen[low..high].binary_search(&item).is_ok()
}

/// The pairs `first_pair..first_pair + len` (CSR positions), visited in blocks of
/// `BLOCK` in the order of `blocks`.
struct Shard {
    first_pair: usize,
    len: usize,
    blocks: Permutation,
}

/// What `Shard::pair_at` gives for the steps past the end of a last, partial block.
const HOLE: usize = usize::MAX;

impl Shard {
    fn new(first_pair: usize, len: usize, seed: u64) -> Self {
        Self {
            first_pair,
            len,
            blocks: Permutation::new(len.div_ceil(BLOCK) as u64, seed),
        }
    }

    /// Steps in a pass: every block's `BLOCK` slots, holes included.
    fn steps(&self) -> usize {
        self.len.div_ceil(BLOCK) * BLOCK
    }

    /// The CSR position visited at `step`, or `HOLE`. `cursor` remembers the last
    /// block, so that a pass in step order applies the permutation once per block.
    #[inline(always)]
    fn pair_at(&self, step: usize, cursor: &mut Cursor) -> usize {
        let block = step / BLOCK;
        if block != cursor.block {
            cursor.block = block;
            cursor.start = self.blocks.apply(block as u64) as usize * BLOCK;
        }
        let offset = cursor.start + step % BLOCK;
        if offset < self.len {
            self.first_pair + offset
        } else {
            HOLE
        }
    }
}

/// The block of the last step [`Shard::pair_at`] placed, and where it starts.
struct Cursor {
    block: usize,
    start: usize,
}

impl Cursor {
    fn new() -> Self {
        Self {
            block: usize::MAX,
            start: 0,
        }
    }
}

/// Everything an epoch reads, shared by all shards.
struct Plan<'a> {
    csr: &'a CsrView<'a>,
    user_of: &'a [u32],
    negative_key: u64,
    n_items: u32,
    k: usize,
    learning_rate: f32,
    decay: f32,
    isa: Isa,
    /// Whether to prefetch rows ahead (not worth it when everything is in cache).
    prefetch: bool,
    /// Rows longer than this are searched from an interpolated guess.
    interpolate_above: usize,
}

impl Plan<'_> {
    fn run<R: RowStore>(&self, shard: &Shard, store: &mut R) -> BprEpoch {
        match self.isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::detect` found AVX2 and FMA on this CPU.
            Isa::Avx2Fma => unsafe { self.run_avx2(shard, store) },
            Isa::Portable => self.run_with::<Portable, R>(shard, store),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2<R: RowStore>(&self, shard: &Shard, store: &mut R) -> BprEpoch {
        self.run_with::<Avx2Fma, R>(shard, store)
    }

    #[inline(always)]
    fn run_with<S: Simd, R: RowStore>(&self, shard: &Shard, store: &mut R) -> BprEpoch {
        // Padded by a line on each side: other threads' allocations may sit next to it.
        let mut padded = vec![0.0_f32; LINE_FLOATS + self.k + LINE_FLOATS];
        let diff = &mut padded[LINE_FLOATS..LINE_FLOATS + self.k];
        let (learning_rate, decay) = (self.learning_rate, self.decay);
        let mut loss = LossSum::default();
        let (mut updates, mut skipped) = (0, 0);
        // A software pipeline: the pair of step `s + 2 * AHEAD` is computed (and its
        // CSR entries prefetched) at step `s`; at step `s + AHEAD` its user, items
        // and factor rows are prefetched; at step `s + 2 * AHEAD` it runs. The
        // shuffled order defeats the hardware prefetcher, and waiting for memory
        // would otherwise dominate on large data.
        let end = shard.steps();
        let mut pairs = [0_usize; RING];
        let mut cursor = Cursor::new();
        for step in 0..end.min(RING) {
            pairs[step % RING] = self.fetch_pair(shard, step, &mut cursor);
        }
        for step in 0..end {
            let pair = pairs[step % RING];
            if step + RING < end {
                pairs[step % RING] = self.fetch_pair(shard, step + RING, &mut cursor);
            }
            let ahead = pairs[(step + AHEAD) % RING];
            if self.prefetch && step + AHEAD < end && ahead != HOLE {
                self.prefetch_rows(ahead, store);
            }
            if pair == HOLE {
                continue;
            }
            let user = self.user_of[pair] as usize;
            let seen = self.csr.row_indices(user);
            if seen.len() >= self.n_items as usize {
                skipped += 1;
                continue;
            }
            let pos = self.csr.indices()[pair] as usize;
            let value = rng::draw(self.negative_key, pair as u64);
            let neg = negative_item(value, seen, self.n_items, self.interpolate_above) as usize;
            let (x, ex) = store.update::<S, _>(user, pos, neg, |rows| {
                for ((d, &a), &b) in diff.iter_mut().zip(rows.pos.iter()).zip(rows.neg.iter()) {
                    *d = a - b;
                }
                let x = S::dot(rows.user, diff) + (*rows.bias_pos - *rows.bias_neg);
                let ex = x.exp();
                let step = learning_rate / (1.0 + ex);
                // Items first: they need the user's factors from before the step.
                S::scale_add(rows.pos, decay, rows.user, step);
                S::scale_add(rows.neg, decay, rows.user, -step);
                S::scale_add(rows.user, decay, diff, step);
                *rows.bias_pos = decay * *rows.bias_pos + step;
                *rows.bias_neg = decay * *rows.bias_neg - step;
                (x, ex)
            });
            loss.add(x, ex);
            updates += 1;
        }
        BprEpoch {
            loss: loss.total(),
            updates,
            skipped,
        }
    }
}

/// Sums `ln(1 + exp(-x))` over the steps without a logarithm per step: each term
/// is a linear part plus the logarithm of a factor in `[1, 2]`, and the factors are
/// multiplied together (rescaled by exact powers of two) and logged once.
#[derive(Debug, Clone, Copy)]
struct LossSum {
    linear: f64,
    product: f64,
    log2_scale: i32,
}

impl Default for LossSum {
    fn default() -> Self {
        Self {
            linear: 0.0,
            product: 1.0,
            log2_scale: 0,
        }
    }
}

impl LossSum {
    /// Adds the term of margin `x`, given `ex = exp(x)`.
    #[inline(always)]
    fn add(&mut self, x: f32, ex: f32) {
        let factor = if x >= 0.0 {
            1.0 + 1.0 / f64::from(ex) // ln(1 + e^-x)
        } else {
            self.linear -= f64::from(x); // -x + ln(1 + e^x); NaN lands here too
            1.0 + f64::from(ex)
        };
        self.product *= factor;
        if self.product > RESCALE_ABOVE {
            self.product *= RESCALE_BY;
            self.log2_scale += RESCALE_BITS;
        }
    }

    fn total(&self) -> f64 {
        self.linear + f64::from(self.log2_scale) * std::f64::consts::LN_2 + self.product.ln()
    }
}

const RESCALE_BITS: i32 = 512;
const RESCALE_ABOVE: f64 = 1e154; // about 2^512
const RESCALE_BY: f64 = 7.458_340_731_200_207e-155; // 2^-512, exact

impl Plan<'_> {
    /// The pair visited at `step` (or `HOLE`), with its CSR entries requested from memory.
    #[inline(always)]
    fn fetch_pair(&self, shard: &Shard, step: usize, cursor: &mut Cursor) -> usize {
        let pair = shard.pair_at(step, cursor);
        if self.prefetch && pair != HOLE {
            simd::prefetch(&self.user_of[pair..=pair]);
            simd::prefetch(&self.csr.indices()[pair..=pair]);
        }
        pair
    }

    /// Requests the rows that the step visiting `pair` will read.
    #[inline(always)]
    fn prefetch_rows<R: RowStore>(&self, pair: usize, store: &R) {
        let user = self.user_of[pair] as usize;
        store.prefetch_user(user);
        store.prefetch_item(self.csr.indices()[pair] as usize);
        // The first candidate negative is usually accepted; `contains` will look
        // for it near its interpolated position in the user's row.
        let candidate = rng::below(rng::draw(self.negative_key, pair as u64), self.n_items);
        store.prefetch_item(candidate as usize);
        let seen = self.csr.row_indices(user);
        let guess = (u64::from(candidate) * seen.len() as u64 / u64::from(self.n_items)) as usize;
        simd::prefetch(&seen[guess.min(seen.len())..(guess + 1).min(seen.len())]);
    }
}

/// The rows one step updates in place: the user's, the positive and negative
/// items' (distinct), and the items' biases.
struct Rows<'a> {
    user: &'a mut [f32],
    pos: &'a mut [f32],
    neg: &'a mut [f32],
    bias_pos: &'a mut f32,
    bias_neg: &'a mut f32,
}

/// Where factor rows live: all exclusively (one thread) or a shard's users
/// exclusively and the items shared (Hogwild).
trait RowStore {
    fn prefetch_user(&self, row: usize);
    fn prefetch_item(&self, row: usize);
    /// Runs `step` on the rows of `user` and of items `pos != neg`.
    fn update<S: Simd, T>(
        &mut self,
        user: usize,
        pos: usize,
        neg: usize,
        step: impl FnOnce(Rows<'_>) -> T,
    ) -> T;
}

/// Rows `a != b` of a row-major matrix with `k` columns, both mutable.
#[inline(always)]
fn two_rows(m: &mut [f32], a: usize, b: usize, k: usize) -> (&mut [f32], &mut [f32]) {
    if a < b {
        let (low, high) = m.split_at_mut(b * k);
        (&mut low[a * k..(a + 1) * k], &mut high[..k])
    } else {
        let (low, high) = m.split_at_mut(a * k);
        (&mut high[..k], &mut low[b * k..(b + 1) * k])
    }
}

struct Exclusive<'a> {
    users: &'a mut [f32],
    items: &'a mut [f32],
    bias: Option<&'a mut [f32]>,
    k: usize,
}

impl RowStore for Exclusive<'_> {
    #[inline(always)]
    fn prefetch_user(&self, row: usize) {
        simd::prefetch(&self.users[row * self.k..(row + 1) * self.k]);
    }
    #[inline(always)]
    fn prefetch_item(&self, row: usize) {
        simd::prefetch(&self.items[row * self.k..(row + 1) * self.k]);
    }
    #[inline(always)]
    fn update<S: Simd, T>(
        &mut self,
        user: usize,
        pos: usize,
        neg: usize,
        step: impl FnOnce(Rows<'_>) -> T,
    ) -> T {
        let k = self.k;
        let (pos_row, neg_row) = two_rows(self.items, pos, neg, k);
        let (mut no_pos, mut no_neg) = (0.0, 0.0);
        let (bias_pos, bias_neg) = match self.bias.as_deref_mut() {
            Some(b) => {
                let (x, y) = two_rows(b, pos, neg, 1);
                (&mut x[0], &mut y[0])
            }
            None => (&mut no_pos, &mut no_neg),
        };
        step(Rows {
            user: &mut self.users[user * k..(user + 1) * k],
            pos: pos_row,
            neg: neg_row,
            bias_pos,
            bias_neg,
        })
    }
}

/// One shard's view: its own users exclusively, the items shared with the others
/// (rows of `width` floats, two per atomic: `k` factors, then the bias if there
/// is one, then padding to an even count).
struct Hogwild<'a> {
    users: &'a mut [f32],
    first_user: usize,
    items: &'a [AtomicU64],
    width: usize,
    with_bias: bool,
    scratch: Vec<f32>,
    k: usize,
}

impl RowStore for Hogwild<'_> {
    #[inline(always)]
    fn prefetch_user(&self, row: usize) {
        let row = row - self.first_user;
        simd::prefetch(&self.users[row * self.k..(row + 1) * self.k]);
    }
    #[inline(always)]
    fn prefetch_item(&self, row: usize) {
        let half = self.width / 2;
        simd::prefetch(&self.items[row * half..(row + 1) * half]);
    }
    #[inline(always)]
    fn update<S: Simd, T>(
        &mut self,
        user: usize,
        pos: usize,
        neg: usize,
        step: impl FnOnce(Rows<'_>) -> T,
    ) -> T {
        let (k, width, half) = (self.k, self.width, self.width / 2);
        let pos_row = &self.items[pos * half..(pos + 1) * half];
        let neg_row = &self.items[neg * half..(neg + 1) * half];
        let rows = &mut self.scratch[LINE_FLOATS..LINE_FLOATS + 2 * width];
        let (pos_buf, neg_buf) = rows.split_at_mut(width);
        S::load_shared(pos_row, pos_buf);
        S::load_shared(neg_row, neg_buf);
        let (pos_factors, pos_rest) = pos_buf.split_at_mut(k);
        let (neg_factors, neg_rest) = neg_buf.split_at_mut(k);
        let (mut no_pos, mut no_neg) = (0.0, 0.0);
        let (bias_pos, bias_neg) = if self.with_bias {
            (&mut pos_rest[0], &mut neg_rest[0])
        } else {
            (&mut no_pos, &mut no_neg)
        };
        let row = user - self.first_user;
        let out = step(Rows {
            user: &mut self.users[row * k..(row + 1) * k],
            pos: pos_factors,
            neg: neg_factors,
            bias_pos,
            bias_neg,
        });
        S::store_shared(pos_row, pos_buf);
        S::store_shared(neg_row, neg_buf);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::CsrNames;

    const N: CsrNames = CsrNames::PLAIN;

    /// Factor matrices of `k` columns (any length: rows = len / k, rounded down, so
    /// a length that is not a multiple of `k` gives a matrix of the wrong shape).
    fn model<'a>(
        users: &'a mut [f32],
        items: &'a mut [f32],
        item_bias: Option<&'a mut [f32]>,
        k: usize,
    ) -> BprModel<'a> {
        let rows = |len: usize| len.checked_div(k).unwrap_or(0);
        let (n_users, n_items) = (rows(users.len()), rows(items.len()));
        let users = &mut users[..n_users * k];
        let items = &mut items[..n_items * k];
        BprModel {
            user_factors: MatrixMut::new("user_factors", users, n_users, k).unwrap(),
            item_factors: MatrixMut::new("item_factors", items, n_items, k).unwrap(),
            item_bias,
        }
    }

    struct Problem {
        indptr: Vec<i64>,
        indices: Vec<i32>,
        n_users: usize,
        n_items: usize,
    }

    /// Two taste groups: users 0..n/2 like the first half of the items.
    fn problem(n_users: usize, n_items: usize) -> Problem {
        let mut indptr = vec![0_i64];
        let mut indices = Vec::new();
        for u in 0..n_users {
            let half = n_items / 2;
            let offset = if u < n_users / 2 { 0 } else { half };
            for i in 0..half {
                if (u + i) % 3 != 0 {
                    indices.push((offset + i) as i32);
                }
            }
            indptr.push(indices.len() as i64);
        }
        Problem {
            indptr,
            indices,
            n_users,
            n_items,
        }
    }

    fn init(n: usize, seed: u64) -> Vec<f32> {
        (0..n)
            .map(|i| (rng::below(rng::draw(seed, i as u64), 1000) as f32 / 1000.0 - 0.5) * 0.1)
            .collect()
    }

    fn train(p: &Problem, k: usize, epochs: u64, threads: usize) -> (Vec<f32>, Vec<f32>, f64) {
        let csr = CsrView::new(N, &p.indptr, &p.indices, None, p.n_users, p.n_items).unwrap();
        let mut users = init(p.n_users * k, 1);
        let mut items = init(p.n_items * k, 2);
        let mut bias = vec![0.0; p.n_items];
        let mut last = 0.0;
        for epoch in 0..epochs {
            let model = model(&mut users, &mut items, Some(&mut bias), k);
            let params = BprParams {
                learning_rate: 0.05,
                reg: 0.01,
                seed: 100 + epoch,
            };
            let tuning = Tuning {
                isa: Isa::detect(),
                min_pairs_per_thread: 1, // exercise Hogwild even on small problems
            };
            let out = epoch_with(&csr, model, params, threads, tuning).unwrap();
            assert_eq!(out.updates + out.skipped, p.indices.len() as u64);
            last = out.loss / out.updates as f64;
        }
        (users, items, last)
    }

    #[test]
    fn learns_the_two_groups() {
        let p = problem(40, 30);
        let (_, _, first) = train(&p, 8, 1, 1);
        let (users, items, last) = train(&p, 8, 30, 1);
        assert!(last < first * 0.7, "loss {first} -> {last}");
        let score = |u: usize, i: usize| -> f32 {
            (0..8).map(|f| users[u * 8 + f] * items[i * 8 + f]).sum()
        };
        // A group-0 user prefers an unseen group-0 item (item 0: (0 + 0) % 3 == 0) to
        // a group-1 item.
        assert!(score(0, 0) > score(0, 20));
    }

    #[test]
    fn one_thread_is_reproducible_and_hogwild_converges() {
        let p = problem(30, 20);
        let a = train(&p, 4, 5, 1);
        let b = train(&p, 4, 5, 1);
        assert_eq!(a.0, b.0);
        assert_eq!(a.1, b.1);
        let big = problem(300, 80);
        let (_, _, first) = train(&big, 8, 1, 3);
        let (_, _, hogwild) = train(&big, 8, 20, 3);
        let (_, _, serial) = train(&big, 8, 20, 1);
        assert!(hogwild < 0.5 * first, "{first} -> {hogwild}");
        assert!(
            (hogwild - serial).abs() < 0.2 * serial,
            "{hogwild} vs {serial}"
        );
    }

    #[test]
    fn small_problems_run_one_ordered_pass_whatever_the_threads() {
        let p = problem(40, 30);
        let csr = CsrView::new(N, &p.indptr, &p.indices, None, p.n_users, p.n_items).unwrap();
        let runs: Vec<Vec<f32>> = [1, 4]
            .iter()
            .map(|&threads| {
                let mut users = init(p.n_users * 4, 1);
                let mut items = init(p.n_items * 4, 2);
                let model = model(&mut users, &mut items, None, 4);
                let params = BprParams {
                    learning_rate: 0.1,
                    reg: 0.0,
                    seed: 5,
                };
                bpr_epoch(&csr, model, params, threads).unwrap();
                users
            })
            .collect();
        assert_eq!(runs[0], runs[1]);
    }

    #[test]
    fn shared_item_rows_fill_whole_cache_lines_and_unpack_to_the_input() {
        for (k, bias) in [
            (1, true),
            (15, true),
            (16, false),
            (16, true),
            (64, true),
            (33, false),
        ] {
            let n_items = 5;
            let factors: Vec<f32> = (0..n_items * k).map(|i| i as f32 * 0.5 - 3.0).collect();
            let biases: Vec<f32> = (0..n_items).map(|i| i as f32 + 0.25).collect();
            let shared = SharedItems::pack(&factors, bias.then_some(&biases[..]), k).unwrap();
            assert_eq!(shared.width % LINE_FLOATS, 0);
            assert!(shared.width >= k + usize::from(bias));
            assert_eq!(shared.rows().as_ptr() as usize % (LINE_FLOATS * 4), 0);
            assert_eq!(shared.rows().len(), n_items * shared.width / 2);
            let mut back = vec![0.0_f32; n_items * k];
            let mut back_bias = vec![0.0_f32; n_items];
            shared.unpack(&mut back, bias.then_some(&mut back_bias[..]));
            assert_eq!(back, factors);
            if bias {
                assert_eq!(back_bias, biases);
            }
        }
    }

    #[test]
    fn blocks_visit_every_pair_once_in_runs_of_consecutive_pairs() {
        for len in [0_usize, 1, 7, 8, 9, 63, 64, 65, 1000] {
            let shard = Shard::new(100, len, 7);
            let mut cursor = Cursor::new();
            let steps: Vec<usize> = (0..shard.steps())
                .map(|step| shard.pair_at(step, &mut cursor))
                .collect();
            for block in steps.chunks(BLOCK) {
                let run: Vec<usize> = block.iter().copied().filter(|&p| p != HOLE).collect();
                assert!(
                    !run.is_empty() && run.windows(2).all(|w| w[1] == w[0] + 1),
                    "{block:?}"
                );
            }
            let mut visited: Vec<usize> = steps.into_iter().filter(|&p| p != HOLE).collect();
            visited.sort_unstable();
            assert_eq!(visited, (100..100 + len).collect::<Vec<_>>(), "len {len}");
        }
        // The blocks themselves are shuffled.
        let shard = Shard::new(0, 800, 3);
        let mut cursor = Cursor::new();
        let firsts: Vec<usize> = (0..100)
            .map(|b| shard.pair_at(b * BLOCK, &mut cursor))
            .collect();
        assert!(firsts.windows(2).any(|w| w[1] < w[0]), "{firsts:?}");
    }

    #[test]
    fn shards_split_users_by_pairs() {
        let p = problem(100, 30);
        let csr = CsrView::new(N, &p.indptr, &p.indices, None, p.n_users, p.n_items).unwrap();
        let bounds = shard_users(&csr, 4);
        assert_eq!((bounds[0], bounds[4], bounds.len()), (0, 100, 5));
        for w in bounds.windows(2) {
            let pairs = csr.row_start(w[1]) - csr.row_start(w[0]);
            assert!(pairs.abs_diff(csr.nnz() / 4) <= 30, "{pairs}");
        }
        assert_eq!(shard_users(&csr, 1), vec![0, 100]);
    }

    #[test]
    fn portable_and_simd_paths_agree() {
        let p = problem(50, 40);
        let csr = CsrView::new(N, &p.indptr, &p.indices, None, p.n_users, p.n_items).unwrap();
        let runs: Vec<(Vec<f32>, Vec<f32>, f64)> = Isa::available()
            .into_iter()
            .map(|isa| {
                let mut users = init(p.n_users * 12, 1);
                let mut items = init(p.n_items * 12, 2);
                let mut bias = vec![0.0; p.n_items];
                let mut loss = 0.0;
                for seed in 0..3 {
                    let model = model(&mut users, &mut items, Some(&mut bias), 12);
                    let params = BprParams {
                        learning_rate: 0.05,
                        reg: 0.01,
                        seed,
                    };
                    let tuning = Tuning {
                        isa,
                        min_pairs_per_thread: 1,
                    };
                    loss = epoch_with(&csr, model, params, 1, tuning).unwrap().loss;
                }
                (users, items, loss)
            })
            .collect();
        for other in &runs[1..] {
            for (a, b) in runs[0]
                .0
                .iter()
                .zip(&other.0)
                .chain(runs[0].1.iter().zip(&other.1))
            {
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
            assert!((runs[0].2 - other.2).abs() < 1e-6 * runs[0].2);
        }
    }

    #[test]
    fn negatives_are_unseen_and_uniform() {
        let seen = [1_i32, 2, 5, 6, 7];
        let mut counts = [0_u32; 8];
        for step in 0..30_000 {
            let item = negative_item(rng::draw(9, step), &seen, 8, 2);
            assert!(!seen.contains(&(item as i32)), "drew seen item {item}");
            counts[item as usize] += 1;
        }
        for item in [0, 3, 4] {
            assert!((9_000..11_000).contains(&counts[item]), "{counts:?}");
        }
    }

    #[test]
    fn contains_agrees_with_binary_search() {
        let mut seed = 1_u64;
        for len in [0_usize, 1, 5, 16, 17, 40, 300, 999] {
            let n_items = 1000_u32;
            let mut row: Vec<i32> = (0..len)
                .map(|_| {
                    seed += 1;
                    // Skewed towards low ids, so the interpolation guess is often off.
                    let v = rng::below(rng::draw(7, seed), n_items);
                    (u64::from(v) * u64::from(v) / u64::from(n_items)) as i32
                })
                .collect();
            row.sort_unstable();
            row.dedup();
            for item in 0..n_items {
                for threshold in [0, 16, usize::MAX] {
                    assert_eq!(
                        contains(&row, item, n_items, threshold),
                        row.binary_search(&(item as i32)).is_ok(),
                        "len {len} item {item}"
                    );
                }
            }
        }
    }

    #[test]
    fn exact_draw_after_rejections_finds_the_only_unseen_item() {
        let seen: Vec<i32> = (0..1000).filter(|&i| i != 437).collect();
        for step in 0..50 {
            assert_eq!(negative_item(rng::draw(3, step), &seen, 1000, 16), 437);
        }
    }

    #[test]
    fn users_who_saw_everything_are_skipped() {
        let (indptr, indices) = (vec![0_i64, 2, 3], vec![0_i32, 1, 0]);
        let csr = CsrView::new(N, &indptr, &indices, None, 2, 2).unwrap();
        let (mut users, mut items) = (vec![0.1_f32; 2], vec![0.2_f32; 2]);
        let model = model(&mut users, &mut items, None, 1);
        let params = BprParams {
            learning_rate: 0.1,
            reg: 0.0,
            seed: 1,
        };
        let out = bpr_epoch(&csr, model, params, 1).unwrap();
        assert_eq!((out.updates, out.skipped), (1, 2));
    }

    #[test]
    fn rejects_bad_arguments() {
        let p = problem(4, 6);
        let csr = CsrView::new(N, &p.indptr, &p.indices, None, 4, 6).unwrap();
        let run = |users: &mut [f32], items: &mut [f32], k: usize, lr: f32, reg: f32| {
            let model = model(users, items, None, k);
            let params = BprParams {
                learning_rate: lr,
                reg,
                seed: 0,
            };
            bpr_epoch(&csr, model, params, 1)
                .map(|_| ())
                .unwrap_err()
                .arg
        };
        assert_eq!(run(&mut [], &mut [], 0, 0.1, 0.1), "user_factors");
        assert_eq!(
            run(&mut [0.0; 7], &mut [0.0; 12], 2, 0.1, 0.1),
            "user_factors"
        );
        assert_eq!(
            run(&mut [0.0; 8], &mut [0.0; 11], 2, 0.1, 0.1),
            "item_factors"
        );
        assert_eq!(
            run(&mut [f32::NAN; 8], &mut [0.0; 12], 2, 0.1, 0.1),
            "user_factors"
        );
        assert_eq!(
            run(&mut [0.0; 8], &mut [0.0; 12], 2, -0.1, 0.1),
            "learning_rate"
        );
        assert_eq!(run(&mut [0.0; 8], &mut [0.0; 12], 2, 0.1, f32::NAN), "reg");
        let unsorted = CsrView::new(N, &[0, 2], &[3, 1], None, 1, 6).unwrap();
        let (mut users, mut items) = ([0.0_f32; 2], [0.0_f32; 12]);
        let one_user = model(&mut users, &mut items, None, 2);
        let params = BprParams {
            learning_rate: 0.1,
            reg: 0.1,
            seed: 0,
        };
        assert_eq!(
            bpr_epoch(&unsorted, one_user, params, 1).unwrap_err().arg,
            "indices"
        );
        let (mut users, mut items) = ([0.0_f32; 8], [0.0_f32; 18]);
        let narrow = BprModel {
            user_factors: MatrixMut::new("user_factors", &mut users, 4, 2).unwrap(),
            item_factors: MatrixMut::new("item_factors", &mut items, 6, 3).unwrap(),
            item_bias: None,
        };
        let err = bpr_epoch(&csr, narrow, params, 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "item_factors: expected 2 columns like user_factors, received 3"
        );
        let (mut users, mut items) = ([0.0_f32; 8], [0.0_f32; 12]);
        let four_users = model(&mut users, &mut items, None, 2);
        let err = bpr_epoch(&csr, four_users, params, 5000).unwrap_err();
        assert_eq!(err.arg, "n_threads");
    }
}
