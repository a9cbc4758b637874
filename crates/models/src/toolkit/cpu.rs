//! What the CPU offers the training kernels: vector width and native bf16
//! (AVX-512 BF16, AMX), read at run time so one binary serves every machine.
//! `Precision::Auto` uses it to pick bf16 only where the CPU computes bf16
//! natively (elsewhere libtorch emulates it, several times slower than f32).

/// The features of the CPU at hand that change which kernels libtorch runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuFeatures {
    /// The model name the kernel reports (`/proc/cpuinfo`), or "unknown".
    pub model: String,
    /// Logical processors available to this process.
    pub threads: usize,
    /// AVX2 with FMA.
    pub avx2: bool,
    /// AVX-512 foundation.
    pub avx512: bool,
    /// AVX-512 BF16 (native bf16 dot products).
    pub avx512_bf16: bool,
    /// AMX tiles with bf16.
    pub amx_bf16: bool,
}

impl CpuFeatures {
    /// Reads the features of this machine's CPU.
    pub fn detect() -> Self {
        let model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        #[cfg(target_arch = "x86_64")]
        {
            let (avx512_bf16, amx_bf16) = x86::bf16();
            Self {
                model,
                threads,
                avx2: std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma"),
                avx512: std::arch::is_x86_feature_detected!("avx512f"),
                avx512_bf16,
                amx_bf16,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Self {
                model,
                threads,
                avx2: false,
                avx512: false,
                avx512_bf16: false,
                amx_bf16: false,
            }
        }
    }

    /// Whether bf16 matrix work runs natively (AVX-512 BF16 or AMX).
    pub fn native_bf16(&self) -> bool {
        self.avx512_bf16 || self.amx_bf16
    }

    /// One line: model, threads and the features that matter here.
    pub fn describe(&self) -> String {
        let yes = |b: bool| if b { "yes" } else { "no" };
        format!(
            "CPU: {} ({} threads) · AVX2 {} · AVX-512 {} · native bf16 (AVX-512 BF16) {} · AMX {}",
            self.model,
            self.threads,
            yes(self.avx2),
            yes(self.avx512),
            yes(self.avx512_bf16),
            yes(self.amx_bf16)
        )
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};

    /// (AVX-512 BF16, AMX-BF16) from CPUID leaf 7, each only when the OS
    /// saves the registers it needs (XCR0).
    pub fn bf16() -> (bool, bool) {
        // Leaf 7 is asked only when the maximum leaf reaches it.
        let max_leaf = __cpuid(0).eax;
        if max_leaf < 7 {
            return (false, false);
        }
        let leaf7 = __cpuid_count(7, 0);
        let leaf7_1 = __cpuid_count(7, 1);
        // XGETBV needs OSXSAVE (CPUID.1:ECX bit 27).
        let osxsave = __cpuid(1).ecx & (1 << 27) != 0;
        let xcr0 = if osxsave {
            // SAFETY: XGETBV exists when the OS has set OSXSAVE (checked).
            unsafe { _xgetbv(0) }
        } else {
            0
        };
        let avx512_state = xcr0 & 0xe6 == 0xe6; // SSE, AVX, opmask, ZMM
        let amx_state = xcr0 & (0b11 << 17) == 0b11 << 17; // XTILECFG, XTILEDATA
        let avx512_bf16 = avx512_state
            && std::arch::is_x86_feature_detected!("avx512f")
            && leaf7_1.eax & (1 << 5) != 0;
        let amx_bf16 = amx_state && leaf7.edx & (1 << 22) != 0 && leaf7.edx & (1 << 24) != 0;
        (avx512_bf16, amx_bf16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_agrees_with_the_kernel() {
        // The kernel's flags (Linux) name the same features CPUID gives us.
        let c = CpuFeatures::detect();
        let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
            return;
        };
        let Some(flags) = info.lines().find(|l| l.starts_with("flags")) else {
            return;
        };
        let has = |f: &str| flags.split_whitespace().any(|w| w == f);
        assert_eq!(c.avx2, has("avx2") && has("fma"), "{}", c.describe());
        assert_eq!(c.avx512, has("avx512f"), "{}", c.describe());
        assert_eq!(c.avx512_bf16, has("avx512_bf16"), "{}", c.describe());
        assert_eq!(c.amx_bf16, has("amx_bf16"), "{}", c.describe());
        assert!(c.describe().contains("native bf16"));
    }
}
