//! Caps the number of glibc malloc arenas the process may create.
//!
//! Why: glibc gives a thread that finds the arenas busy an arena of its own, up to eight per
//! core, and memory freed into one arena is not reused by threads on another. The service's
//! threads (async workers, the heavy-work pool, one thread per SQLite connection, the sandbox)
//! allocate and free in different arenas, so at 10,000 organizations the resident size grew
//! ~21 KB per rotation while the live heap grew a third of that (heaptrack: 28.7 MB peak heap
//! against 84 MB resident at 1,000 rotations). One arena per core (at least two) kept the fleet
//! benchmark at 60 MB instead of 90 MB for 2,000 rotations, at the same speed
//! (docs/PERFORMANCE.md). A maintained allocator crate was measured instead (mimalloc: 113 MB)
//! and did worse; glibc's own knob needs no new dependency.
//!
//! An operator's `MALLOC_ARENA_MAX` (read by glibc itself at start) is left as it is.

/// The arena limit to set, or `None` when the operator chose one through `MALLOC_ARENA_MAX`.
pub fn arena_limit(operator_setting: Option<&std::ffi::OsStr>, cores: usize) -> Option<usize> {
    match operator_setting {
        Some(_) => None,
        None => Some(cores.max(2)),
    }
}

/// Applies [`arena_limit`] for this process: call it first thing in `main`, before any thread
/// starts. Returns the limit set (`None`: the operator's setting stands, or not glibc).
pub fn limit_arenas() -> Option<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let limit = arena_limit(std::env::var_os("MALLOC_ARENA_MAX").as_deref(), cores)?;
    set_arena_max(limit).then_some(limit)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set_arena_max(limit: usize) -> bool {
    let Ok(limit) = libc::c_int::try_from(limit) else {
        return false;
    };
    // SAFETY: mallopt only changes a tuning parameter of glibc's allocator; it takes plain
    // integers, has no pointer arguments and is safe to call at any time (the limit applies to
    // arenas created afterwards, hence the call before threads start). It returns 1 on success.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, limit) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_arena_max(_limit: usize) -> bool {
    false
}

#[cfg(test)]
mod tests {
    // Full paths, no imports: the rotation benchmark compiles this file too (with cfg(test) and
    // without a test harness), where imports used only by tests would be unused.

    #[test]
    fn one_arena_per_core_and_never_fewer_than_two() {
        assert_eq!(super::arena_limit(None, 1), Some(2));
        assert_eq!(super::arena_limit(None, 2), Some(2));
        assert_eq!(super::arena_limit(None, 16), Some(16));
    }

    #[test]
    fn an_operator_setting_is_left_to_glibc() {
        assert_eq!(super::arena_limit(Some(std::ffi::OsStr::new("4")), 2), None);
        assert_eq!(super::arena_limit(Some(std::ffi::OsStr::new("")), 2), None);
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_accepts_the_limit() {
        assert!(super::set_arena_max(2));
    }
}
