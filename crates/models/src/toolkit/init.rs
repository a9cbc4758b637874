//! Seeded weight initialisation. libtorch's generator is global: seeding it
//! and building a model under one process-wide lock keeps the weights a
//! function of the seed even when several models are built at once (tests,
//! sweeps).

use std::sync::Mutex;

static INIT: Mutex<()> = Mutex::new(());

/// Runs `build` with libtorch's generator seeded by `seed`, holding the lock.
pub fn seeded<T>(seed: u64, build: impl FnOnce() -> T) -> T {
    let _guard = INIT.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(seed as i64);
    build()
}
