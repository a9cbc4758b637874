//! glibc malloc settings for training: tensors of a few MiB are allocated
//! and freed every step; by default glibc serves them with fresh mmaps and
//! trims the heap after frees, so every step pays page faults for the same
//! memory again (measured: ~25 % of a laom-mini step on this machine).
//! Keeping such blocks in the heap and not trimming it avoids that.

/// Blocks below this come from the heap (glibc's largest allowed value).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 32 << 20;
/// Free memory kept at the top of the heap before it is returned.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 1 << 30;

/// Applies the settings (once, at start-up, before threads start).
pub fn tune_for_training() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}
