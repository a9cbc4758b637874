//! bf16 autocast on any device. tch exposes libtorch's CUDA autocast only;
//! for the CPU we call libtorch's device-aware switches directly (exported
//! C++ functions of libtorch_cpu with plain integer/bool arguments).

use tch::Device;

/// `c10::DeviceType::CPU`.
const CPU: i8 = 0;

extern "C" {
    #[link_name = "_ZN2at8autocast20set_autocast_enabledEN3c1010DeviceTypeEb"]
    fn set_autocast_enabled(device_type: i8, enabled: bool);
    #[link_name = "_ZN2at8autocast19is_autocast_enabledEN3c1010DeviceTypeE"]
    fn is_autocast_enabled(device_type: i8) -> bool;
    #[link_name = "_ZN2at8autocast17increment_nestingEv"]
    fn increment_nesting() -> i32;
    #[link_name = "_ZN2at8autocast17decrement_nestingEv"]
    fn decrement_nesting() -> i32;
    #[link_name = "_ZN2at8autocast11clear_cacheEv"]
    fn clear_cache();
}

/// Restores the CPU autocast state when dropped (also on panic).
struct CpuGuard {
    previous: bool,
}

impl Drop for CpuGuard {
    fn drop(&mut self) {
        // SAFETY: plain calls into libtorch's thread-local autocast state.
        unsafe {
            if decrement_nesting() == 0 {
                clear_cache();
            }
            set_autocast_enabled(CPU, self.previous);
        }
    }
}

/// libtorch keeps the bf16 copies of weights made under autocast in one
/// cache for the whole process, keyed by the tensor's address and cleared
/// when any thread leaves autocast: two threads under autocast at once can
/// be handed each other's copies (seen: a gradient going to another
/// thread's identical weights). So one thread at a time runs under
/// autocast; `DEPTH` lets a thread nest regions without waiting on itself.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

thread_local! {
    static DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Holds the process-wide autocast turn for the outermost region of a thread.
struct Turn {
    _lock: Option<std::sync::MutexGuard<'static, ()>>,
}

impl Turn {
    fn take() -> Self {
        let outermost = DEPTH.with(|d| {
            d.set(d.get() + 1);
            d.get() == 1
        });
        Self {
            _lock: outermost.then(|| {
                ONE_AT_A_TIME
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            }),
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get() - 1));
    }
}

/// Runs `f` with bf16 autocast on `device` when `enabled` (CUDA through
/// tch, CPU through libtorch's CPU autocast, whose default type is bf16).
pub fn autocast<T>(enabled: bool, device: Device, f: impl FnOnce() -> T) -> T {
    if !enabled {
        return f();
    }
    match device {
        Device::Cuda(_) => {
            let _turn = Turn::take();
            tch::autocast(true, f)
        }
        Device::Cpu => {
            let _turn = Turn::take();
            // SAFETY: as above; the guard undoes the change (dropped before the turn).
            let _guard = unsafe {
                let previous = is_autocast_enabled(CPU);
                set_autocast_enabled(CPU, true);
                increment_nesting();
                CpuGuard { previous }
            };
            f()
        }
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Kind, Tensor};

    #[test]
    fn cpu_autocast_runs_matmuls_in_bf16_and_switches_back() {
        let a = Tensor::randn([4, 8], (Kind::Float, Device::Cpu));
        let b = Tensor::randn([8, 3], (Kind::Float, Device::Cpu));
        assert_eq!(
            autocast(true, Device::Cpu, || a.matmul(&b)).kind(),
            Kind::BFloat16
        );
        assert_eq!(a.matmul(&b).kind(), Kind::Float);
        assert_eq!(
            autocast(false, Device::Cpu, || a.matmul(&b)).kind(),
            Kind::Float
        );
        // Values agree with f32 to bf16 precision.
        let exact = a.matmul(&b);
        let low = autocast(true, Device::Cpu, || a.matmul(&b)).to_kind(Kind::Float);
        let err = (exact - low).abs().max().double_value(&[]);
        assert!(err < 0.1, "bf16 error {err}");
    }
}
