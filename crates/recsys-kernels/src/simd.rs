//! Dense arithmetic on short float32 vectors (one row of factors), with a runtime
//! choice between portable code and an AVX2 + FMA path.
//!
//! Kernels are written once, generic over [`Simd`], and instantiated twice: as
//! plain code, and inside a `#[target_feature(enable = "avx2,fma")]` function that
//! the kernel calls only after [`Isa::detect`] found those features. Wheels built
//! for baseline x86-64 therefore still use AVX2 + FMA on CPUs that have them.
//!
//! The generic bodies must be `#[inline(always)]` so that they are compiled inside
//! the target-feature function (that is what lets LLVM vectorise them with AVX2 and
//! turn `mul_add` into `vfmadd`).

use std::sync::atomic::{AtomicU64, Ordering};

/// Two floats as one 64-bit word (`a` in the low half), as [`Simd::load_shared`]
/// reads them.
#[inline(always)]
pub fn join(a: f32, b: f32) -> u64 {
    u64::from(a.to_bits()) | (u64::from(b.to_bits()) << 32)
}

/// Which implementation of [`Simd`] the CPU supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Plain Rust, vectorised by the compiler for the build target.
    Portable,
    /// AVX2 and FMA, detected at run time.
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
}

impl Isa {
    /// The best implementation this CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Isa::Avx2Fma;
            }
        }
        Isa::Portable
    }

    /// Every implementation this CPU can run (for tests that compare them).
    pub fn available() -> Vec<Self> {
        let mut all = vec![Isa::Portable];
        if Self::detect() != Isa::Portable {
            all.push(Self::detect());
        }
        all
    }
}

/// Asks the CPU to start loading `values` into cache: a hint, with no effect on
/// results (and none at all off x86-64).
#[inline(always)]
pub fn prefetch<T>(values: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let start = values.as_ptr().cast::<i8>();
        let bytes = std::mem::size_of_val(values);
        let mut offset = 0;
        while offset < bytes {
            // SAFETY: prefetching never faults; the address lies within `values`.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    start.add(offset),
                );
            }
            offset += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = values;
}

/// Vector operations used by the factorisation kernels.
///
/// `dot` may sum in any order (results differ from a sequential sum by rounding
/// only); the element-wise operations are exact up to the fused multiply-add.
pub trait Simd: Copy + Send + Sync {
    /// `a * b + c`, fused where the implementation allows it.
    fn mul_add(a: f32, b: f32, c: f32) -> f32;

    /// The inner product of `a` and `b` (over the shorter length).
    fn dot(a: &[f32], b: &[f32]) -> f32;

    /// The inner products of four rows with `v` (rows at least as long as `v`).
    #[inline(always)]
    fn dot4(rows: [&[f32]; 4], v: &[f32]) -> [f32; 4] {
        rows.map(|row| Self::dot(row, v))
    }

    /// `y += Σ_r coef[r] * rows[r]`, reading and writing `y` once.
    #[inline(always)]
    fn axpy4(coef: [f32; 4], rows: [&[f32]; 4], y: &mut [f32]) {
        let n = y.len();
        let [r0, r1, r2, r3] = rows.map(|r| &r[..n]);
        for (j, yv) in y.iter_mut().enumerate() {
            let mut acc = Self::mul_add(coef[0], r0[j], *yv);
            acc = Self::mul_add(coef[1], r1[j], acc);
            acc = Self::mul_add(coef[2], r2[j], acc);
            *yv = Self::mul_add(coef[3], r3[j], acc);
        }
    }

    /// `out = M v` for a symmetric row-major `k x k` matrix `M` (as a sum of its
    /// rows, so that blocks of `out` stay in registers).
    #[inline(always)]
    fn symmetric_times(m: &[f32], v: &[f32], out: &mut [f32]) {
        const BLOCK: usize = 32;
        let k = v.len();
        let mut start = 0;
        while start + BLOCK <= k {
            let mut acc = [0.0_f32; BLOCK];
            for (j, &vj) in v.iter().enumerate() {
                let row = &m[j * k + start..j * k + start + BLOCK];
                for t in 0..BLOCK {
                    acc[t] = Self::mul_add(vj, row[t], acc[t]);
                }
            }
            out[start..start + BLOCK].copy_from_slice(&acc);
            start += BLOCK;
        }
        if start < k {
            let tail = &mut out[start..k];
            tail.fill(0.0);
            for (j, &vj) in v.iter().enumerate() {
                Self::axpy(vj, &m[j * k + start..(j + 1) * k], tail);
            }
        }
    }

    /// `y += alpha * x`.
    #[inline(always)]
    fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
        for (yv, &xv) in y.iter_mut().zip(x) {
            *yv = Self::mul_add(alpha, xv, *yv);
        }
    }

    /// `y = a * y + b * x`.
    #[inline(always)]
    fn scale_add(y: &mut [f32], a: f32, x: &[f32], b: f32) {
        for (yv, &xv) in y.iter_mut().zip(x) {
            *yv = Self::mul_add(b, xv, a * *yv);
        }
    }

    /// Copies floats shared between threads (two per word, the first in the low
    /// half) into `out`, by relaxed atomic loads of the words.
    #[inline(always)]
    fn load_shared(src: &[AtomicU64], out: &mut [f32]) {
        for (pair, word) in out.chunks_exact_mut(2).zip(src) {
            let bits = word.load(Ordering::Relaxed);
            pair[0] = f32::from_bits(bits as u32);
            pair[1] = f32::from_bits((bits >> 32) as u32);
        }
    }

    /// Writes `values` into words shared between threads (the inverse of
    /// [`Simd::load_shared`]), by relaxed atomic stores.
    #[inline(always)]
    fn store_shared(dst: &[AtomicU64], values: &[f32]) {
        for (word, pair) in dst.iter().zip(values.chunks_exact(2)) {
            word.store(join(pair[0], pair[1]), Ordering::Relaxed);
        }
    }
}

/// Portable implementation: eight independent accumulators, which the compiler
/// vectorises for whatever the build target offers.
#[derive(Debug, Clone, Copy)]
pub struct Portable;

const LANES: usize = 8;

impl Simd for Portable {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        // Not `f32::mul_add`: without hardware FMA that is a slow library call.
        a * b + c
    }

    #[inline(always)]
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = [0.0_f32; LANES];
        let chunks_a = a.chunks_exact(LANES);
        let chunks_b = b.chunks_exact(LANES);
        let tail: f32 = chunks_a
            .remainder()
            .iter()
            .zip(chunks_b.remainder())
            .map(|(x, y)| x * y)
            .sum();
        for (ca, cb) in chunks_a.zip(chunks_b) {
            for lane in 0..LANES {
                acc[lane] += ca[lane] * cb[lane];
            }
        }
        let pairs = [
            acc[0] + acc[4],
            acc[1] + acc[5],
            acc[2] + acc[6],
            acc[3] + acc[7],
        ];
        (pairs[0] + pairs[2]) + (pairs[1] + pairs[3]) + tail
    }
}

/// AVX2 + FMA implementation. Only use it where [`Isa::detect`] returned
/// [`Isa::Avx2Fma`], inside a function compiled with those target features.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
pub struct Avx2Fma;

#[cfg(target_arch = "x86_64")]
impl Simd for Avx2Fma {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }

    #[inline(always)]
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: `Avx2Fma` is only used after `Isa::detect` found AVX2 and FMA.
        unsafe { avx2::dot(a, b) }
    }

    #[inline(always)]
    fn dot4(rows: [&[f32]; 4], v: &[f32]) -> [f32; 4] {
        // SAFETY: as above.
        unsafe { avx2::dot4(rows, v) }
    }

    #[inline(always)]
    fn load_shared(src: &[AtomicU64], out: &mut [f32]) {
        // SAFETY: as above.
        unsafe { avx2::load_shared(src, out) }
    }

    #[inline(always)]
    fn store_shared(dst: &[AtomicU64], values: &[f32]) {
        // SAFETY: as above.
        unsafe { avx2::store_shared(dst, values) }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;
    use std::sync::atomic::AtomicU64;

    use super::Simd;

    /// [`Simd::load_shared`] 32 bytes at a time, as two 16-byte aligned `vmovdqa`
    /// loads joined in a register and written to `out` with one 32-byte store (the
    /// caller reads `out` in 32-byte loads, which narrower stores could not
    /// forward). Relaxed atomic loads of the words one by one cost about twice the
    /// time of a whole BPR step on 2 threads; these do not.
    ///
    /// Sound as atomic accesses: Intel (SDM vol. 3A, 9.1.1) and AMD (APM vol. 2,
    /// 7.3.2) guarantee that a 16-byte aligned `vmovdqa` on a CPU with AVX is
    /// carried out as one atomic access, i.e. a relaxed atomic load of two words,
    /// which other threads' relaxed stores do not race with. Unaligned rows (never
    /// the case for the BPR kernel's rows) take the word-by-word path.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub unsafe fn load_shared(src: &[AtomicU64], out: &mut [f32]) {
        let n = src.len().min(out.len() / 2);
        let mut i = 0;
        if src.as_ptr() as usize % 16 == 0 {
            while i + 4 <= n {
                // SAFETY: words `i..i + 4` of `src` (16-byte aligned: the start is,
                // and `i` is a multiple of 4) and floats `2i..2i + 8` of `out` are in
                // bounds; the block reads and writes only those 32 bytes each.
                unsafe {
                    std::arch::asm!(
                        "vmovdqa {lo:x}, xmmword ptr [{src}]",
                        "vmovdqa {hi:x}, xmmword ptr [{src} + 16]",
                        "vinserti128 {lo:y}, {lo:y}, {hi:x}, 1",
                        "vmovdqu ymmword ptr [{dst}], {lo:y}",
                        src = in(reg) src.as_ptr().add(i),
                        dst = in(reg) out.as_mut_ptr().add(2 * i),
                        lo = out(ymm_reg) _,
                        hi = out(ymm_reg) _,
                        options(nostack, preserves_flags),
                    );
                }
                i += 4;
            }
        }
        super::Portable::load_shared(&src[i..n], &mut out[2 * i..]);
    }

    /// [`Simd::store_shared`], the inverse of [`load_shared`]: 32 bytes of
    /// `values` in one load (which the caller's vector stores forward), written as
    /// two 16-byte aligned `vmovdqa` stores (relaxed atomic stores of two words
    /// each, as above).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub unsafe fn store_shared(dst: &[AtomicU64], values: &[f32]) {
        let n = dst.len().min(values.len() / 2);
        let mut i = 0;
        if dst.as_ptr() as usize % 16 == 0 {
            while i + 4 <= n {
                // SAFETY: as in `load_shared`, with the roles of the slices swapped;
                // the words are atomics, written through shared references.
                unsafe {
                    std::arch::asm!(
                        "vmovdqu {lo:y}, ymmword ptr [{src}]",
                        "vextracti128 {hi:x}, {lo:y}, 1",
                        "vmovdqa xmmword ptr [{dst}], {lo:x}",
                        "vmovdqa xmmword ptr [{dst} + 16], {hi:x}",
                        src = in(reg) values.as_ptr().add(2 * i),
                        dst = in(reg) dst.as_ptr().add(i),
                        lo = out(ymm_reg) _,
                        hi = out(ymm_reg) _,
                        options(nostack, preserves_flags),
                    );
                }
                i += 4;
            }
        }
        super::Portable::store_shared(&dst[i..n], &values[2 * i..]);
    }

    /// Inner product with two 8-lane FMA accumulators.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY (all loads): `i + 8 <= n` or `i + 16 <= n`, and `n` is at most the
        // length of both slices.
        while i + 16 <= n {
            acc0 = _mm256_fmadd_ps(
                unsafe { _mm256_loadu_ps(pa.add(i)) },
                unsafe { _mm256_loadu_ps(pb.add(i)) },
                acc0,
            );
            acc1 = _mm256_fmadd_ps(
                unsafe { _mm256_loadu_ps(pa.add(i + 8)) },
                unsafe { _mm256_loadu_ps(pb.add(i + 8)) },
                acc1,
            );
            i += 16;
        }
        if i + 8 <= n {
            acc0 = _mm256_fmadd_ps(
                unsafe { _mm256_loadu_ps(pa.add(i)) },
                unsafe { _mm256_loadu_ps(pb.add(i)) },
                acc0,
            );
            i += 8;
        }
        let acc = _mm256_add_ps(acc0, acc1);
        let half = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
        let quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
        let single = _mm_add_ss(quarter, _mm_shuffle_ps(quarter, quarter, 0b01));
        let mut sum = _mm_cvtss_f32(single);
        while i < n {
            sum = a[i].mul_add(b[i], sum);
            i += 1;
        }
        sum
    }

    /// Four inner products at once: eight independent FMA chains hide the FMA
    /// latency, and one combined horizontal reduction serves all four.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub unsafe fn dot4(rows: [&[f32]; 4], v: &[f32]) -> [f32; 4] {
        let n = rows.iter().fold(v.len(), |n, r| n.min(r.len()));
        let pv = v.as_ptr();
        let [p0, p1, p2, p3] = rows.map(|r| r.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 8];
        let mut i = 0;
        // SAFETY (all loads): `i + 16 <= n` or `i + 8 <= n`, and `n` is at most the
        // length of every slice.
        unsafe {
            while i + 16 <= n {
                let (v0, v1) = (_mm256_loadu_ps(pv.add(i)), _mm256_loadu_ps(pv.add(i + 8)));
                for (r, p) in [p0, p1, p2, p3].into_iter().enumerate() {
                    acc[2 * r] = _mm256_fmadd_ps(_mm256_loadu_ps(p.add(i)), v0, acc[2 * r]);
                    acc[2 * r + 1] =
                        _mm256_fmadd_ps(_mm256_loadu_ps(p.add(i + 8)), v1, acc[2 * r + 1]);
                }
                i += 16;
            }
            if i + 8 <= n {
                let v0 = _mm256_loadu_ps(pv.add(i));
                for (r, p) in [p0, p1, p2, p3].into_iter().enumerate() {
                    acc[2 * r] = _mm256_fmadd_ps(_mm256_loadu_ps(p.add(i)), v0, acc[2 * r]);
                }
                i += 8;
            }
        }
        let a0 = _mm256_add_ps(acc[0], acc[1]);
        let a1 = _mm256_add_ps(acc[2], acc[3]);
        let a2 = _mm256_add_ps(acc[4], acc[5]);
        let a3 = _mm256_add_ps(acc[6], acc[7]);
        // After two horizontal adds, lane r of each 128-bit half holds part of row r.
        let h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
        let sums = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        let mut out = [0.0_f32; 4];
        // SAFETY: `out` has room for four floats.
        unsafe { _mm_storeu_ps(out.as_mut_ptr(), sums) };
        while i < n {
            for (o, r) in out.iter_mut().zip(rows) {
                *o = r[i].mul_add(v[i], *o);
            }
            i += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<S: Simd>() {
        for n in [0_usize, 1, 7, 8, 9, 16, 17, 31, 64, 100] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let want: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(x * y)).sum();
            assert!((f64::from(S::dot(&a, &b)) - want).abs() < 1e-4, "n = {n}");
            let mut y = b.clone();
            S::axpy(0.5, &a, &mut y);
            for i in 0..n {
                assert!((y[i] - (b[i] + 0.5 * a[i])).abs() < 1e-6);
            }
            let mut z = b.clone();
            S::scale_add(&mut z, 0.9, &a, -2.0);
            for i in 0..n {
                assert!((z[i] - (0.9 * b[i] - 2.0 * a[i])).abs() < 1e-5);
            }
            let c: Vec<f32> = (0..n).map(|i| (i as f32 * 0.7).sin()).collect();
            let d: Vec<f32> = (0..n).map(|i| 1.0 / (1.0 + i as f32)).collect();
            let rows = [&a[..], &b[..], &c[..], &d[..]];
            let got = S::dot4(rows, &b);
            for (g, row) in got.iter().zip(rows) {
                assert!((g - S::dot(row, &b)).abs() < 1e-4, "n = {n}");
            }
            let mut w = a.clone();
            S::axpy4([1.0, -0.5, 2.0, 0.25], rows, &mut w);
            for i in 0..n {
                let want = a[i] + a[i] - 0.5 * b[i] + 2.0 * c[i] + 0.25 * d[i];
                assert!((w[i] - want).abs() < 1e-5);
            }
            // A symmetric matrix: m[i][j] = rows sums of the index pair.
            let m: Vec<f32> = (0..n * n)
                .map(|e| ((e / n + e % n) as f32 * 0.1).cos())
                .collect();
            let mut out = vec![0.0_f32; n];
            S::symmetric_times(&m, &a, &mut out);
            for i in 0..n {
                let want: f32 = (0..n).map(|j| m[i * n + j] * a[j]).sum();
                assert!((out[i] - want).abs() < 1e-3, "n = {n}, row {i}");
            }
            // Shared words, from a 16-byte boundary and from 8 bytes past one (the
            // aligned and unaligned paths): bit-exact round trip, the first float
            // in the low half, and nothing past the shorter of the two written.
            let even = n - n % 2;
            let all: Vec<AtomicU64> = (0..even / 2 + 3).map(|_| AtomicU64::new(7)).collect();
            let skip = (all.as_ptr() as usize % 16) / 8;
            for offset in [skip, 1 - skip] {
                let words = &all[offset..offset + even / 2 + 1];
                S::store_shared(&words[..even / 2], &a[..even]);
                if even >= 2 {
                    let low = words[0].load(Ordering::Relaxed) as u32;
                    assert_eq!(f32::from_bits(low), a[0]);
                }
                assert_eq!(words[even / 2].load(Ordering::Relaxed), 7, "n = {n}");
                let mut back = vec![-1.0_f32; even + 1];
                S::load_shared(&words[..even / 2], &mut back[..even]);
                assert_eq!(back[..even], a[..even], "n = {n}, offset {offset}");
                assert_eq!(back[even], -1.0);
            }
        }
    }

    #[test]
    fn portable_matches_definition() {
        check::<Portable>();
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_matches_definition_when_available() {
        if Isa::detect() == Isa::Avx2Fma {
            check::<Avx2Fma>();
        }
    }

    #[test]
    fn portable_is_always_available() {
        assert_eq!(Isa::available()[0], Isa::Portable);
    }
}
