//! Memory the kernels ask for, checked before it is taken.
//!
//! Most of a kernel's memory is proportional to its inputs, which already exist.
//! Some is not: a dense accumulator as wide as the catalogue on every thread, a
//! `k x k` Gram matrix of a matrix with no rows, an output as long as `rows x k`.
//! Before such an allocation a kernel compares its estimate with the memory the
//! system reports as available ([`ensure`]), and then allocates fallibly
//! ([`zeroed`], [`filled`], [`with_capacity`]): a request that cannot be met is an
//! error naming the argument, never an abort of the process.

use std::alloc::Layout;

use crate::error::{KernelError, KernelResult};

/// Estimates below this are not compared with the available memory: reading it
/// costs more than a small kernel call.
const CHECK_ABOVE_BYTES: usize = 64 << 20;

/// The memory available to this process in bytes, if the system says: Linux's
/// `MemAvailable`, lowered to what a cgroup (v2) limit leaves.
pub fn available_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    let system = kib.saturating_mul(1024);
    Some(match cgroup_headroom() {
        Some(headroom) => system.min(headroom),
        None => system,
    })
}

fn cgroup_headroom() -> Option<u64> {
    let read = |name: &str| std::fs::read_to_string(format!("/sys/fs/cgroup/{name}")).ok();
    // "max" (no limit) does not parse: no headroom to report.
    let limit: u64 = read("memory.max")?.trim().parse().ok()?;
    let current: u64 = read("memory.current")?.trim().parse().ok()?;
    Some(limit.saturating_sub(current))
}

/// Fails with an out-of-memory error naming `arg` when `bytes` (`None`: more than
/// the address space) exceeds the available memory. `what` says what needs it.
pub fn ensure(arg: &'static str, what: &str, bytes: Option<usize>) -> KernelResult<()> {
    let Some(bytes) = bytes else {
        return Err(KernelError::out_of_memory(
            arg,
            format!("{what} would need more memory than the address space holds"),
        ));
    };
    if bytes <= CHECK_ABOVE_BYTES {
        return Ok(());
    }
    match available_bytes() {
        Some(available) if bytes as u64 > available => Err(KernelError::out_of_memory(
            arg,
            format!(
                "{what} would need {}, but only {} of memory is available",
                human(bytes as u64),
                human(available)
            ),
        )),
        _ => Ok(()),
    }
}

/// `count` values of `T`, in bytes (`None` on overflow).
pub fn bytes_of<T>(count: usize) -> Option<usize> {
    count.checked_mul(std::mem::size_of::<T>())
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn refused(arg: &'static str, count: usize, size: usize) -> KernelError {
    KernelError::out_of_memory(
        arg,
        format!(
            "could not allocate {count} values of {size} bytes ({})",
            human((count as u64).saturating_mul(size as u64))
        ),
    )
}

/// Types whose all-zero bit pattern is a valid value.
///
/// # Safety
/// Implement only for types for which every zero byte pattern is a valid value.
pub unsafe trait Zeroable: Copy {}

// SAFETY: zero bits are 0 or 0.0 for each of these.
unsafe impl Zeroable for f32 {}
unsafe impl Zeroable for f64 {}
unsafe impl Zeroable for i32 {}
unsafe impl Zeroable for i64 {}
unsafe impl Zeroable for u32 {}
unsafe impl Zeroable for u64 {}
unsafe impl Zeroable for usize {}

/// `len` zeros, or an error naming `arg` if the allocator refuses.
///
/// Large zeroed blocks come straight from the operating system and are only
/// backed by memory where they are written, like `vec![0; len]`.
pub fn zeroed<T: Zeroable>(arg: &'static str, len: usize) -> KernelResult<Vec<T>> {
    let size = std::mem::size_of::<T>();
    if len == 0 || size == 0 {
        return Ok(Vec::new());
    }
    let layout = Layout::array::<T>(len).map_err(|_| refused(arg, len, size))?;
    // SAFETY: the layout has a non-zero size (len > 0 and T is not zero-sized).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<T>();
    if ptr.is_null() {
        return Err(refused(arg, len, size));
    }
    // SAFETY: `ptr` comes from the global allocator with the layout of `[T; len]`
    // (the layout `Vec<T>` uses for capacity `len`), and its `len` elements are
    // initialised: all-zero bytes are a valid `T` (`Zeroable`).
    Ok(unsafe { Vec::from_raw_parts(ptr, len, len) })
}

/// `len` copies of `value`, or an error naming `arg` if the allocator refuses.
pub fn filled<T: Clone>(arg: &'static str, len: usize, value: T) -> KernelResult<Vec<T>> {
    let mut out = with_capacity(arg, len)?;
    out.resize(len, value);
    Ok(out)
}

/// An empty vector with room for `len` values, or an error naming `arg`.
pub fn with_capacity<T>(arg: &'static str, len: usize) -> KernelResult<Vec<T>> {
    let mut out = Vec::new();
    out.try_reserve_exact(len)
        .map_err(|_| refused(arg, len, std::mem::size_of::<T>()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn zeroed_and_filled_give_the_values() {
        assert_eq!(zeroed::<f32>("x", 3).unwrap(), vec![0.0; 3]);
        assert!(zeroed::<i64>("x", 0).unwrap().is_empty());
        assert_eq!(filled("x", 2, -1_i64).unwrap(), vec![-1, -1]);
        assert!(with_capacity::<u32>("x", 10).unwrap().capacity() >= 10);
    }

    #[test]
    fn impossible_allocations_are_errors() {
        let err = zeroed::<f64>("gram", usize::MAX / 4).unwrap_err();
        assert_eq!((err.arg, err.kind), ("gram", ErrorKind::OutOfMemory));
        let err = with_capacity::<f32>("out", usize::MAX / 2).unwrap_err();
        assert_eq!(err.kind, ErrorKind::OutOfMemory);
    }

    #[test]
    fn estimates_beyond_the_machine_are_refused() {
        if available_bytes().is_some() {
            let err = ensure("k", "the test", Some(usize::MAX)).unwrap_err();
            assert_eq!(err.kind, ErrorKind::OutOfMemory);
            assert!(
                err.message.contains("the test would need"),
                "{}",
                err.message
            );
        }
        assert!(ensure("k", "the test", None).is_err());
        assert!(ensure("k", "the test", Some(1024)).is_ok());
    }

    #[test]
    fn available_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(available_bytes().is_some_and(|b| b > 0));
        }
    }
}
