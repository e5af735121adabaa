//! Thread pools by size, built once and reused.
//!
//! Every kernel takes an `n_threads` argument; `0` means "all cores" (rayon's
//! global pool). Building a pool costs far more than a small kernel call, so pools
//! of other sizes are cached for the life of the process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::error::{KernelError, KernelResult};

fn pools() -> &'static Mutex<HashMap<usize, Arc<ThreadPool>>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<ThreadPool>>>> = OnceLock::new();
    POOLS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Runs `work` on a pool of `n_threads` threads (`0`: all cores).
pub fn install<R: Send>(n_threads: usize, work: impl FnOnce() -> R + Send) -> KernelResult<R> {
    if n_threads == 0 {
        return Ok(work());
    }
    let pool = {
        // A poisoned lock only means another thread panicked while inserting; the
        // map itself is still usable.
        let mut map = pools().lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&n_threads) {
            Some(pool) => Arc::clone(pool),
            None => {
                let pool = ThreadPoolBuilder::new()
                    .num_threads(n_threads)
                    .build()
                    .map_err(|e| {
                        KernelError::new(
                            "n_threads",
                            format!("could not start {n_threads} threads: {e}"),
                        )
                    })?;
                let pool = Arc::new(pool);
                map.insert(n_threads, Arc::clone(&pool));
                pool
            }
        }
    };
    Ok(pool.install(work))
}

/// The number of threads that `install(n_threads, ..)` would use.
pub fn effective_threads(n_threads: usize) -> usize {
    if n_threads == 0 {
        rayon::current_num_threads()
    } else {
        n_threads
    }
}
