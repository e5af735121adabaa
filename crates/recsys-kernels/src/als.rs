//! One half-step of implicit-feedback ALS (Hu, Koren and Volinsky 2008).
//!
//! For every row `u` of a sparse matrix `R` (rows to solve x fixed rows), with
//! confidence `c = 1 + alpha * r` on observed entries (1 elsewhere) and preference
//! 1 on observed entries (0 elsewhere), the row's factors `x` minimise
//!
//! ```text
//! sum_i c_ui (p_ui - x . y_i)^2 + reg_u |x|^2
//! ```
//!
//! over the fixed factors `Y`, i.e. they solve `A x = b` with
//!
//! ```text
//! A = YᵀY + reg_u I + sum_{i observed} (c_ui - 1) y_i y_iᵀ     b = sum_{i observed} c_ui y_i
//! ```
//!
//! `YᵀY` is computed once per call (or passed in); each row then touches only its
//! own observed entries. Two solvers:
//!
//! - conjugate gradient (Takács, Pilászy and Tikk 2011): a few steps warm-started
//!   from the current `x`, never forming `A`;
//! - Cholesky: forms `A` in float64 and solves exactly (a pivot that vanishes,
//!   which only happens with `reg_u = 0`, fixes that direction to zero).
//!
//! Rows are independent and run on rayon; results do not depend on the number of
//! threads (the Gram matrix is summed in a fixed order).

use rayon::prelude::*;

use crate::csr::CsrView;
use crate::error::{check_len, KernelError, KernelResult};
use crate::matrix::{Matrix, MatrixMut, Shape};
#[cfg(target_arch = "x86_64")]
use crate::simd::Avx2Fma;
use crate::simd::{self, Isa, Portable, Simd};
use crate::{memory, pool};

/// Conjugate gradient stops once the residual norm falls below this fraction of
/// its starting value.
const CG_TOLERANCE: f32 = 1e-4;

/// How many entries ahead `accumulate` prefetches fixed rows.
const PREFETCH_AHEAD: usize = 16;

/// How each row's system is solved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Solver {
    /// This many conjugate-gradient steps from the current factors (0 leaves them).
    ConjugateGradient(usize),
    /// An exact solve through a Cholesky factorisation.
    Cholesky,
}

/// The inputs of a half-step besides the factors being solved for.
#[derive(Debug, Clone, Copy)]
pub struct AlsProblem<'a> {
    /// Rows to solve x fixed rows, with the interaction strengths as data.
    pub ratings: &'a CsrView<'a>,
    /// The fixed factors, `ratings.n_cols() x k`.
    pub fixed: Matrix<'a>,
    /// Regularisation of each row (`ratings.n_rows()` values).
    pub regularization: &'a [f32],
    /// `YᵀY` of the fixed factors if already known (`k x k`).
    pub gram: Option<Matrix<'a>>,
    pub alpha: f32,
}

/// Solves every row's factors (`ratings.n_rows() x k`) in place (see the module
/// docs).
pub fn als_solve(
    problem: &AlsProblem<'_>,
    factors: MatrixMut<'_>,
    solver: Solver,
    n_threads: usize,
) -> KernelResult<()> {
    solve_with_isa(problem, factors, solver, n_threads, Isa::detect())
}

fn solve_with_isa(
    problem: &AlsProblem<'_>,
    factors: MatrixMut<'_>,
    solver: Solver,
    n_threads: usize,
    isa: Isa,
) -> KernelResult<()> {
    pool::check_threads(n_threads)?;
    validate(problem, &factors)?;
    let k = factors.cols();
    check_memory(problem, k, solver, n_threads)?;
    let gram = match problem.gram {
        Some(g) => g.data().to_vec(),
        None => gram(problem.fixed, n_threads)?,
    };

    let row = RowSolver {
        csr: problem.ratings,
        fixed: problem.fixed.data(),
        gram: &gram,
        alpha: problem.alpha,
        k,
        solver,
    };
    let reg = problem.regularization;
    let factors = factors.into_data();
    let work = || {
        factors
            .par_chunks_mut(k)
            .enumerate()
            .with_min_len(8)
            .try_for_each_init(
                || Scratch::new(k, solver),
                |scratch, (u, x)| match scratch {
                    Ok(scratch) => {
                        row.solve(isa, u, reg[u], x, scratch);
                        Ok(())
                    }
                    Err(e) => Err(e.clone()),
                },
            )
    };
    pool::install(n_threads, work)?
}

fn validate(problem: &AlsProblem<'_>, factors: &MatrixMut<'_>) -> KernelResult<()> {
    let (csr, fixed) = (problem.ratings, &problem.fixed);
    factors.expect_factors()?;
    fixed.expect_cols_like(factors)?;
    factors.expect_rows(csr.n_rows(), "one per row of indptr")?;
    fixed.expect_rows(csr.n_cols(), "one per column of the matrix")?;
    check_len("regularization", problem.regularization.len(), csr.n_rows())?;
    fixed.expect_finite()?;
    factors.expect_finite()?;
    if let Some(pos) = problem
        .regularization
        .iter()
        .position(|r| !(r.is_finite() && *r >= 0.0))
    {
        return Err(KernelError::new(
            "regularization",
            format!(
                "expected finite values >= 0, received {} at position {pos}",
                problem.regularization[pos]
            ),
        ));
    }
    if !(problem.alpha.is_finite() && problem.alpha >= 0.0) {
        return Err(KernelError::new(
            "alpha",
            format!("expected a finite number >= 0, received {}", problem.alpha),
        ));
    }
    if let Some(g) = &problem.gram {
        g.expect_rows(factors.cols(), "one per factor")?;
        g.expect_cols_like(factors)?;
        g.expect_finite()?;
    }
    match csr.data() {
        None => return Err(KernelError::new("data", "expected interaction strengths")),
        Some(values) => {
            if let Some(pos) = values.iter().position(|v| *v < 0.0) {
                return Err(KernelError::new(
                    "data",
                    format!(
                        "expected values >= 0, received {} at position {pos}",
                        values[pos]
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Fails unless the Gram matrix and each thread's scratch (a `k x k` system in
/// float64 for Cholesky) fit in the available memory.
fn check_memory(
    problem: &AlsProblem<'_>,
    k: usize,
    solver: Solver,
    n_threads: usize,
) -> KernelResult<()> {
    let square = k.checked_mul(k);
    let gram = match problem.gram {
        Some(_) => square.and_then(memory::bytes_of::<f32>),
        None => gram_bytes(problem.fixed.rows(), k),
    };
    let per_thread = match solver {
        Solver::Cholesky => square.and_then(memory::bytes_of::<f64>),
        Solver::ConjugateGradient(_) => k.checked_mul(3).and_then(memory::bytes_of::<f32>),
    };
    let threads = pool::effective_threads(n_threads);
    let scratch = per_thread.and_then(|b| b.checked_mul(threads));
    let total = gram.zip(scratch).and_then(|(g, s)| g.checked_add(s));
    memory::ensure("factors", &format!("solving for {k} factors"), total)
}

/// Rows of `fixed` summed per chunk, chunks summed in order: deterministic.
const GRAM_CHUNK_ROWS: usize = 1024;

/// The memory `gram` takes for an `n x k` matrix: a `k x k` partial sum per chunk
/// of rows, their float64 total and the result.
fn gram_bytes(n: usize, k: usize) -> Option<usize> {
    let square = k.checked_mul(k)?;
    let chunks = n.div_ceil(GRAM_CHUNK_ROWS).max(1);
    let partials = chunks.checked_mul(square)?.checked_mul(4)?;
    partials.checked_add(square.checked_mul(8 + 4)?)
}

/// `YᵀY` of a matrix `Y`, as a full symmetric `k x k` matrix, row-major.
pub fn gram(fixed: Matrix<'_>, n_threads: usize) -> KernelResult<Vec<f32>> {
    pool::check_threads(n_threads)?;
    let k = fixed.cols();
    if k == 0 {
        return Ok(Vec::new());
    }
    memory::ensure(
        "factors",
        &format!("the {k} x {k} Gram matrix"),
        gram_bytes(fixed.rows(), k),
    )?;
    let isa = Isa::detect();
    let partial = |rows: &[f32]| -> KernelResult<Vec<f32>> {
        let mut g = memory::zeroed::<f32>("factors", k * k)?;
        match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::detect` found AVX2 and FMA on this CPU.
            Isa::Avx2Fma => unsafe { gram_upper_avx2(rows, k, &mut g) },
            Isa::Portable => gram_upper::<Portable>(rows, k, &mut g),
        }
        Ok(g)
    };
    let values = fixed.data();
    let parts: Vec<Vec<f32>> = if values.len() <= GRAM_CHUNK_ROWS * k {
        vec![partial(values)?]
    } else {
        pool::install(n_threads, || {
            values
                .par_chunks(GRAM_CHUNK_ROWS * k)
                .map(partial)
                .collect::<KernelResult<_>>()
        })??
    };
    let mut total = memory::zeroed::<f64>("factors", k * k)?;
    for part in &parts {
        for (t, &v) in total.iter_mut().zip(part) {
            *t += f64::from(v);
        }
    }
    let mut out = memory::zeroed::<f32>("factors", k * k)?;
    for a in 0..k {
        for b in a..k {
            let v = total[a * k + b] as f32;
            out[a * k + b] = v;
            out[b * k + a] = v;
        }
    }
    Ok(out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gram_upper_avx2(rows: &[f32], k: usize, g: &mut [f32]) {
    gram_upper::<Avx2Fma>(rows, k, g);
}

/// Adds `y_a * y[a..]` to row `a` of `g` (upper triangle) for every row `y`.
#[inline(always)]
fn gram_upper<S: Simd>(rows: &[f32], k: usize, g: &mut [f32]) {
    for y in rows.chunks_exact(k) {
        for a in 0..k {
            S::axpy(y[a], &y[a..], &mut g[a * k + a..(a + 1) * k]);
        }
    }
}

struct Scratch {
    r: Vec<f32>,
    p: Vec<f32>,
    ap: Vec<f32>,
    a: Vec<f64>,
    b: Vec<f64>,
}

impl Scratch {
    /// Checked by `check_memory`, and allocated fallibly all the same.
    fn new(k: usize, solver: Solver) -> KernelResult<Self> {
        let dense = if solver == Solver::Cholesky { k } else { 0 };
        Ok(Self {
            r: memory::zeroed("factors", k)?,
            p: memory::zeroed("factors", k)?,
            ap: memory::zeroed("factors", k)?,
            a: memory::zeroed("factors", dense * dense)?,
            b: memory::zeroed("factors", dense)?,
        })
    }
}

struct RowSolver<'a> {
    csr: &'a CsrView<'a>,
    fixed: &'a [f32],
    gram: &'a [f32],
    alpha: f32,
    k: usize,
    solver: Solver,
}

impl RowSolver<'_> {
    fn solve(&self, isa: Isa, row: usize, reg: f32, x: &mut [f32], scratch: &mut Scratch) {
        if self.csr.row_indices(row).is_empty() {
            // b = 0, so the solution is 0 whatever A is.
            x.fill(0.0);
            return;
        }
        match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::detect` found AVX2 and FMA on this CPU.
            Isa::Avx2Fma => unsafe { self.solve_avx2(row, reg, x, scratch) },
            Isa::Portable => self.solve_with::<Portable>(row, reg, x, scratch),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn solve_avx2(&self, row: usize, reg: f32, x: &mut [f32], scratch: &mut Scratch) {
        self.solve_with::<Avx2Fma>(row, reg, x, scratch);
    }

    #[inline(always)]
    fn solve_with<S: Simd>(&self, row: usize, reg: f32, x: &mut [f32], scratch: &mut Scratch) {
        let cols = self.csr.row_indices(row);
        let vals = self.csr.row_data(row).unwrap_or(&[]);
        match self.solver {
            Solver::ConjugateGradient(steps) => {
                self.conjugate_gradient::<S>(cols, vals, reg, steps, x, scratch)
            }
            Solver::Cholesky => self.cholesky(cols, vals, reg, x, scratch),
        }
    }

    #[inline(always)]
    fn fixed_row(&self, col: i32) -> &[f32] {
        &self.fixed[col as usize * self.k..(col as usize + 1) * self.k]
    }

    /// `out = (YᵀY + reg I) v`.
    #[inline(always)]
    fn regularised_gram_times<S: Simd>(&self, v: &[f32], reg: f32, out: &mut [f32]) {
        S::symmetric_times(self.gram, v, out);
        S::axpy(reg, v, out);
    }

    /// `out += Σ_i coef(i, y_i · v) y_i` over the entries of a row, four at a time.
    #[inline(always)]
    fn accumulate<S: Simd>(
        &self,
        cols: &[i32],
        v: &[f32],
        out: &mut [f32],
        coef: impl Fn(usize, f32) -> f32,
    ) {
        let mut blocks = cols.chunks_exact(4);
        let mut i = 0;
        for block in &mut blocks {
            // Rows of long rows come from main memory in an order the hardware
            // cannot predict: request the ones needed a few blocks ahead.
            for &ahead in cols
                .get(i + PREFETCH_AHEAD..i + PREFETCH_AHEAD + 4)
                .unwrap_or(&[])
            {
                simd::prefetch(self.fixed_row(ahead));
            }
            let ys = [
                self.fixed_row(block[0]),
                self.fixed_row(block[1]),
                self.fixed_row(block[2]),
                self.fixed_row(block[3]),
            ];
            let d = S::dot4(ys, v);
            let c = [
                coef(i, d[0]),
                coef(i + 1, d[1]),
                coef(i + 2, d[2]),
                coef(i + 3, d[3]),
            ];
            S::axpy4(c, ys, out);
            i += 4;
        }
        for &col in blocks.remainder() {
            let y = self.fixed_row(col);
            S::axpy(coef(i, S::dot(y, v)), y, out);
            i += 1;
        }
    }

    #[inline(always)]
    fn conjugate_gradient<S: Simd>(
        &self,
        cols: &[i32],
        vals: &[f32],
        reg: f32,
        steps: usize,
        x: &mut [f32],
        scratch: &mut Scratch,
    ) {
        let Scratch { r, p, ap, .. } = scratch;
        let alpha = self.alpha;
        // r = b - A x, with A x expanded over the observed entries only
        // (alpha * value is the confidence minus one).
        self.regularised_gram_times::<S>(x, reg, r);
        for v in r.iter_mut() {
            *v = -*v;
        }
        self.accumulate::<S>(cols, x, r, |i, projection| {
            let extra = alpha * vals[i];
            (1.0 + extra) - extra * projection
        });
        p.copy_from_slice(r);
        let mut r_norm = S::dot(r, r);
        // Once the residual is this small, further float32 steps follow rounding
        // noise rather than the system.
        let converged = CG_TOLERANCE * CG_TOLERANCE * r_norm;
        for _ in 0..steps {
            if r_norm <= converged || r_norm < 1e-20 {
                break;
            }
            self.regularised_gram_times::<S>(p, reg, ap);
            self.accumulate::<S>(cols, p, ap, |i, projection| alpha * vals[i] * projection);
            let curvature = S::dot(p, ap);
            if curvature.is_nan() || curvature <= 0.0 {
                break;
            }
            let step = r_norm / curvature;
            S::axpy(step, p, x);
            S::axpy(-step, ap, r);
            let next_norm = S::dot(r, r);
            S::scale_add(p, next_norm / r_norm, r, 1.0);
            r_norm = next_norm;
        }
    }

    #[inline(always)]
    fn cholesky(&self, cols: &[i32], vals: &[f32], reg: f32, x: &mut [f32], scratch: &mut Scratch) {
        let k = self.k;
        let Scratch { a, b, .. } = scratch;
        for (dst, &g) in a.iter_mut().zip(self.gram) {
            *dst = f64::from(g);
        }
        for d in 0..k {
            a[d * k + d] += f64::from(reg);
        }
        b.fill(0.0);
        for (&c, &value) in cols.iter().zip(vals) {
            let y = self.fixed_row(c);
            let extra = f64::from(self.alpha * value);
            for i in 0..k {
                let yi = f64::from(y[i]);
                b[i] += (1.0 + extra) * yi;
                let w = extra * yi;
                for (dst, &yj) in a[i * k..i * k + i + 1].iter_mut().zip(y) {
                    *dst += w * f64::from(yj);
                }
            }
        }
        cholesky_solve(a, b, k);
        for (xi, &bi) in x.iter_mut().zip(b.iter()) {
            *xi = bi as f32;
        }
    }
}

/// Solves `A z = b` for symmetric positive semi-definite `A` (lower triangle used),
/// overwriting `a` with its Cholesky factor and `b` with `z`. A pivot that is zero
/// relative to the diagonal fixes that direction of `z` to 0.
pub fn cholesky_solve(a: &mut [f64], b: &mut [f64], k: usize) {
    let scale = (0..k).map(|d| a[d * k + d].abs()).fold(1.0, f64::max);
    let tiny = scale * 1e-12;
    for j in 0..k {
        let mut d = a[j * k + j];
        for m in 0..j {
            d -= a[j * k + m] * a[j * k + m];
        }
        if d <= tiny {
            // Drop direction j: a zero row and column of the factor.
            a[j * k..=j * k + j].fill(0.0);
            for i in j + 1..k {
                a[i * k + j] = 0.0;
            }
            continue;
        }
        let pivot = d.sqrt();
        a[j * k + j] = pivot;
        for i in j + 1..k {
            let mut s = a[i * k + j];
            for m in 0..j {
                s -= a[i * k + m] * a[j * k + m];
            }
            a[i * k + j] = s / pivot;
        }
    }
    // Forward substitution L w = b, then back substitution Lᵀ z = w.
    for i in 0..k {
        let l_ii = a[i * k + i];
        if l_ii == 0.0 {
            b[i] = 0.0;
            continue;
        }
        let mut s = b[i];
        for m in 0..i {
            s -= a[i * k + m] * b[m];
        }
        b[i] = s / l_ii;
    }
    for i in (0..k).rev() {
        let l_ii = a[i * k + i];
        if l_ii == 0.0 {
            b[i] = 0.0;
            continue;
        }
        let mut s = b[i];
        for m in i + 1..k {
            s -= a[m * k + i] * b[m];
        }
        b[i] = s / l_ii;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::CsrNames;
    use crate::error::ErrorKind;
    use crate::rng;

    const N: CsrNames = CsrNames::PLAIN;

    fn random(n: usize, seed: u64) -> Vec<f32> {
        (0..n)
            .map(|i| rng::below(rng::draw(seed, i as u64), 2000) as f32 / 1000.0 - 1.0)
            .collect()
    }

    /// A x - b for one row, computed densely in f64.
    fn residual(
        fixed: &[f32],
        k: usize,
        cols: &[i32],
        vals: &[f32],
        alpha: f32,
        reg: f32,
        x: &[f32],
    ) -> f64 {
        let n_fixed = fixed.len() / k;
        let mut worst: f64 = 0.0;
        for a in 0..k {
            let mut ax = f64::from(reg) * f64::from(x[a]);
            let mut b = 0.0;
            for i in 0..n_fixed {
                let y = &fixed[i * k..(i + 1) * k];
                let observed = cols.iter().position(|&c| c as usize == i);
                let conf = observed.map_or(1.0, |p| 1.0 + f64::from(alpha * vals[p]));
                let yx: f64 = y.iter().zip(x).map(|(p, q)| f64::from(p * q)).sum();
                ax += conf * yx * f64::from(y[a]);
                if observed.is_some() {
                    b += conf * f64::from(y[a]);
                }
            }
            worst = worst.max((ax - b).abs());
        }
        worst
    }

    struct Solved {
        factors: Vec<f32>,
        indptr: Vec<i64>,
        indices: Vec<i32>,
        data: Vec<f32>,
        fixed: Vec<f32>,
    }

    fn run(solver: Solver, threads: usize) -> Solved {
        let (n_rows, n_fixed, k) = (6, 9, 4);
        let indptr = vec![0_i64, 3, 3, 5, 9, 10, 12];
        let indices = vec![0, 4, 8, 1, 2, 0, 3, 5, 7, 6, 2, 8];
        let data = vec![1.0, 5.0, 2.0, 3.0, 1.0, 4.0, 4.0, 1.0, 2.0, 1.0, 0.0, 3.0];
        let fixed = random(n_fixed * k, 1);
        let csr = CsrView::new(N, &indptr, &indices, Some(&data), n_rows, n_fixed).unwrap();
        let reg = vec![0.1_f32, 0.5, 1.0, 0.0, 2.0, 0.3];
        let mut factors = random(n_rows * k, 2);
        let problem = AlsProblem {
            ratings: &csr,
            fixed: Matrix::new("fixed_factors", &fixed, n_fixed, k).unwrap(),
            regularization: &reg,
            gram: None,
            alpha: 2.0,
        };
        let out = MatrixMut::new("factors", &mut factors, n_rows, k).unwrap();
        als_solve(&problem, out, solver, threads).unwrap();
        Solved {
            factors,
            indptr,
            indices,
            data,
            fixed,
        }
    }

    #[test]
    fn cholesky_solves_each_row_exactly() {
        let Solved {
            factors,
            indptr,
            indices,
            data,
            fixed,
        } = run(Solver::Cholesky, 1);
        let reg = [0.1_f32, 0.5, 1.0, 0.0, 2.0, 0.3];
        for row in 0..6 {
            let (s, e) = (indptr[row] as usize, indptr[row + 1] as usize);
            let x = &factors[row * 4..(row + 1) * 4];
            let res = residual(&fixed, 4, &indices[s..e], &data[s..e], 2.0, reg[row], x);
            assert!(res < 1e-4, "row {row}: residual {res}");
        }
        assert!(factors[4..8].iter().all(|&v| v == 0.0), "empty row -> zero");
    }

    #[test]
    fn conjugate_gradient_with_k_steps_is_exact_and_threads_agree() {
        let exact = run(Solver::Cholesky, 1).factors;
        let cg = run(Solver::ConjugateGradient(12), 1).factors;
        for (a, b) in exact.iter().zip(&cg) {
            assert!((a - b).abs() < 1e-3, "{a} vs {b}");
        }
        let cg3 = run(Solver::ConjugateGradient(3), 3).factors;
        assert_eq!(cg3, run(Solver::ConjugateGradient(3), 1).factors);
    }

    #[test]
    fn zero_steps_keep_the_warm_start() {
        let factors = run(Solver::ConjugateGradient(0), 1).factors;
        let start = random(6 * 4, 2);
        assert_eq!(&factors[..4], &start[..4]);
    }

    #[test]
    fn portable_and_simd_paths_agree() {
        let (n_rows, n_fixed, k) = (40, 30, 13);
        let mut indptr = vec![0_i64];
        let mut indices = Vec::new();
        for r in 0..n_rows {
            indices.extend((0..n_fixed as i32).filter(|c| (r * 7 + *c as usize * 3) % 4 == 0));
            indptr.push(indices.len() as i64);
        }
        let data: Vec<f32> = (0..indices.len()).map(|i| (i % 5) as f32).collect();
        let csr = CsrView::new(N, &indptr, &indices, Some(&data), n_rows, n_fixed).unwrap();
        let fixed = random(n_fixed * k, 3);
        let reg = vec![0.5_f32; n_rows];
        let problem = AlsProblem {
            ratings: &csr,
            fixed: Matrix::new("fixed_factors", &fixed, n_fixed, k).unwrap(),
            regularization: &reg,
            gram: None,
            alpha: 1.5,
        };
        for solver in [Solver::ConjugateGradient(3), Solver::Cholesky] {
            let results: Vec<Vec<f32>> = Isa::available()
                .into_iter()
                .map(|isa| {
                    let mut x = random(n_rows * k, 4);
                    let out = MatrixMut::new("factors", &mut x, n_rows, k).unwrap();
                    solve_with_isa(&problem, out, solver, 1, isa).unwrap();
                    x
                })
                .collect();
            for other in &results[1..] {
                for (a, b) in results[0].iter().zip(other) {
                    assert!((a - b).abs() < 1e-4 * a.abs().max(1.0), "{a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn gram_is_deterministic_and_correct() {
        let k = 5;
        let fixed = random(3000 * k, 4);
        let matrix = Matrix::new("factors", &fixed, 3000, k).unwrap();
        let g1 = gram(matrix, 1).unwrap();
        let g2 = gram(matrix, 2).unwrap();
        assert_eq!(g1, g2);
        for a in 0..k {
            for b in 0..k {
                let want: f64 = (0..3000)
                    .map(|i| f64::from(fixed[i * k + a]) * f64::from(fixed[i * k + b]))
                    .sum();
                assert!((f64::from(g1[a * k + b]) - want).abs() < 1e-2 * want.abs().max(1.0));
            }
        }
    }

    #[test]
    fn gram_of_no_columns_is_empty_and_of_huge_k_is_refused() {
        let none = Matrix::new("factors", &[], 10, 0).unwrap();
        assert!(gram(none, 1).unwrap().is_empty());
        let wide = Matrix::new("factors", &[], 0, 1 << 30).unwrap();
        let err = gram(wide, 1).unwrap_err();
        assert_eq!((err.arg, err.kind), ("factors", ErrorKind::OutOfMemory));
    }

    #[test]
    fn cholesky_handles_singular_systems() {
        // A = [[1, 1], [1, 1]], b = [2, 2]: the first direction is solvable.
        let mut a = vec![1.0, 0.0, 1.0, 1.0];
        let mut b = vec![2.0, 2.0];
        cholesky_solve(&mut a, &mut b, 2);
        assert!(b.iter().all(|v| v.is_finite()));
        assert!((b[0] - 2.0).abs() < 1e-12 && b[1] == 0.0, "{b:?}");
    }

    #[test]
    fn rejects_bad_arguments() {
        let indptr = [0_i64, 2];
        let indices = [0_i32, 1];
        let data = [1.0_f32, 2.0];
        let negative = [1.0_f32, -2.0];
        let csr = CsrView::new(N, &indptr, &indices, Some(&data), 1, 2).unwrap();
        let bad_data = CsrView::new(N, &indptr, &indices, Some(&negative), 1, 2).unwrap();
        let no_data = CsrView::new(N, &indptr, &indices, None, 1, 2).unwrap();
        let fixed = [0.1_f32; 4];
        let check = |csr: &CsrView<'_>, fixed: &[f32], reg: &[f32], alpha: f32, k: usize| {
            let fixed_rows = fixed.len().checked_div(k).unwrap_or(0);
            let problem = AlsProblem {
                ratings: csr,
                fixed: Matrix::new("fixed_factors", &fixed[..fixed_rows * k], fixed_rows, k)
                    .unwrap(),
                regularization: reg,
                gram: None,
                alpha,
            };
            let mut factors = vec![0.0; k];
            let out = MatrixMut::new("factors", &mut factors, 1, k).unwrap();
            als_solve(&problem, out, Solver::Cholesky, 1)
                .unwrap_err()
                .arg
        };
        assert_eq!(check(&csr, &fixed, &[0.1], 1.0, 0), "factors");
        assert_eq!(check(&csr, &fixed[..3], &[0.1], 1.0, 2), "fixed_factors");
        assert_eq!(check(&csr, &[f32::NAN; 4], &[0.1], 1.0, 2), "fixed_factors");
        assert_eq!(check(&csr, &fixed, &[-0.1], 1.0, 2), "regularization");
        assert_eq!(check(&csr, &fixed, &[0.1, 0.2], 1.0, 2), "regularization");
        assert_eq!(check(&csr, &fixed, &[0.1], -1.0, 2), "alpha");
        assert_eq!(check(&bad_data, &fixed, &[0.1], 1.0, 2), "data");
        assert_eq!(check(&no_data, &fixed, &[0.1], 1.0, 2), "data");
    }
}
