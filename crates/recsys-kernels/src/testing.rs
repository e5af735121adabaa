//! Helpers shared by the kernels' unit tests: a seeded generator and random
//! sparse matrices.

/// The next draw of a 64-bit linear congruential generator (Knuth's MMIX
/// constants), its high 31 bits.
pub fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

/// A float in `[0, 1)` from the same generator (its high 24 bits).
pub fn unit(seed: &mut u64) -> f32 {
    (lcg(seed) >> 7) as f32 / (1u64 << 24) as f32
}

/// A random `m x n` CSR matrix with about `density` of its entries stored (values
/// in `[-0.5, 0.5)`), every fifth row empty.
pub fn sparse(m: usize, n: usize, density: f32, seed: &mut u64) -> (Vec<i64>, Vec<i32>, Vec<f32>) {
    let (mut indptr, mut indices, mut data) = (vec![0_i64], vec![], vec![]);
    for u in 0..m {
        for k in 0..n {
            if u % 5 != 4 && unit(seed) < density {
                indices.push(k as i32);
                data.push(unit(seed) - 0.5);
            }
        }
        indptr.push(indices.len() as i64);
    }
    (indptr, indices, data)
}
