//! Thread pools: how many threads a kernel gets, and which pool runs them.
//!
//! Every kernel takes an `n_threads` argument:
//!
//! - `0` means every core: rayon's global pool;
//! - above [`MAX_THREADS`] is refused (the bound `recommender_systems` declares for
//!   every `n_threads` hyperparameter);
//! - otherwise the count is clamped to the cores this process may use
//!   ([`useful_threads`]): on CPU-bound kernels more threads only take turns, and
//!   each one costs a stack. Results never depend on the clamp: every kernel gives
//!   the same output for any thread count except BPR's Hogwild epochs, which are
//!   not reproducible above one thread anyway.
//!
//! A count equal to the global pool's size runs on the global pool. Any other
//! count needs a pool of its own; building one costs 0.2 to 1.5 ms (1 to 8
//! threads, measured), far more than a small kernel call, so the last such pool
//! is kept for the next call. Only one is kept: a process that alternates between
//! two different non-default counts rebuilds a pool per call, but no sequence of
//! calls leaves more than `2 x useful_threads()` pool threads alive.

use std::sync::{Arc, Mutex, OnceLock};

use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::error::{KernelError, KernelResult};

/// The most threads a caller may ask for (`MAX_THREADS` in
/// `recommender_systems/hyperparameters.py`).
pub const MAX_THREADS: usize = 1024;

/// A pool and its number of threads.
type SizedPool = (usize, Arc<ThreadPool>);

/// The pool of the last non-default size, kept for the next call.
fn cached() -> &'static Mutex<Option<SizedPool>> {
    static CACHED: OnceLock<Mutex<Option<SizedPool>>> = OnceLock::new();
    CACHED.get_or_init(|| Mutex::new(None))
}

/// The threads this process can run at once (its CPU affinity and quota).
pub fn useful_threads() -> usize {
    static USEFUL: OnceLock<usize> = OnceLock::new();
    *USEFUL.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Fails unless `n_threads <= MAX_THREADS`.
pub fn check_threads(n_threads: usize) -> KernelResult<()> {
    if n_threads > MAX_THREADS {
        return Err(KernelError::new(
            "n_threads",
            format!(
                "expected an integer in [0, {MAX_THREADS}] (0: all cores), received {n_threads}"
            ),
        ));
    }
    Ok(())
}

/// The number of threads that `install(n_threads, ..)` uses.
pub fn effective_threads(n_threads: usize) -> usize {
    if n_threads == 0 {
        rayon::current_num_threads()
    } else {
        n_threads.min(useful_threads())
    }
}

/// Runs `work` with `n_threads` threads (see the module docs).
pub fn install<R: Send>(n_threads: usize, work: impl FnOnce() -> R + Send) -> KernelResult<R> {
    check_threads(n_threads)?;
    let threads = effective_threads(n_threads);
    if threads == rayon::current_num_threads() {
        return Ok(work());
    }
    Ok(pool_of(threads)?.install(work))
}

fn pool_of(threads: usize) -> KernelResult<Arc<ThreadPool>> {
    // A poisoned lock only means another thread panicked while replacing the
    // pool; the slot itself is still usable.
    let mut slot = cached().lock().unwrap_or_else(|e| e.into_inner());
    if let Some((size, pool)) = slot.as_ref() {
        if *size == threads {
            return Ok(Arc::clone(pool));
        }
    }
    let pool = ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| {
            KernelError::new(
                "n_threads",
                format!("could not start {threads} threads: {e}"),
            )
        })?;
    let pool = Arc::new(pool);
    // The pool replaced here stops its threads once its last call returns.
    *slot = Some((threads, Arc::clone(&pool)));
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_bounded_and_clamped() {
        assert!(check_threads(MAX_THREADS).is_ok());
        assert_eq!(check_threads(MAX_THREADS + 1).unwrap_err().arg, "n_threads");
        assert!(install(MAX_THREADS + 1, || ()).is_err());
        assert_eq!(effective_threads(MAX_THREADS), useful_threads());
        assert_eq!(effective_threads(1), 1);
        assert_eq!(effective_threads(0), rayon::current_num_threads());
    }

    #[test]
    fn work_runs_on_as_many_threads_as_asked_within_the_machine() {
        for n in [1, 2, 3, 64] {
            let seen = install(n, rayon::current_num_threads).unwrap();
            assert_eq!(seen, effective_threads(n));
        }
    }
}
