//! What the kernel counted for this process: CPU time (user + system, all
//! threads) and peak resident set size, from `getrusage(RUSAGE_SELF)`; and
//! the system-wide monotonic clock, which a parent and its child read
//! alike (for start-up "as a user sees it", from the parent's spawn to the
//! child's first document). `None` when the call fails: the benchmark
//! then reports the figure as not measured. Uses `libc` only.

/// One reading of `getrusage(RUSAGE_SELF)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// User + system CPU time in seconds.
    pub cpu_s: f64,
    /// Peak RSS in KiB (Linux reports `ru_maxrss` in KiB).
    pub max_rss_kib: u64,
}

/// This process's resource usage so far.
pub fn usage() -> Option<Usage> {
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a pointer to a live, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return None;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(Usage {
        cpu_s: secs(u.ru_utime) + secs(u.ru_stime),
        max_rss_kib: u64::try_from(u.ru_maxrss).ok()?,
    })
}

/// `CLOCK_MONOTONIC` in nanoseconds: the same clock in every process of
/// the machine (unlike [`std::time::Instant`], which cannot be passed on).
pub fn monotonic_ns() -> Option<u64> {
    // SAFETY: an all-zero timespec is valid; clock_gettime writes into it.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: a valid clock id and a pointer to a live timespec.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) } != 0 {
        return None;
    }
    Some(u64::try_from(t.tv_sec).ok()? * 1_000_000_000 + u64::try_from(t.tv_nsec).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_grows_with_work_and_memory() {
        let before = usage().unwrap();
        let v: Vec<u8> = vec![1; 64 << 20];
        let mut x = 0u64;
        for _ in 0..3 {
            x = v
                .iter()
                .fold(x, |a, &b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
        }
        let after = usage().unwrap();
        assert!(x != 0);
        assert!(after.cpu_s > before.cpu_s);
        assert!(after.max_rss_kib >= 64 * 1024, "{after:?}");
        assert!(monotonic_ns().unwrap() > 0);
    }
}
