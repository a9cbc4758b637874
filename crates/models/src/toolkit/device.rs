//! Choosing where tensors live.

use tch::Device;

/// The best available device: the first CUDA GPU if libtorch sees one, else the CPU.
pub fn best_device() -> Device {
    Device::cuda_if_available()
}

/// A one-line description of the libtorch build in use, for logs and `lam --version`.
pub fn describe() -> String {
    let cuda = tch::Cuda::is_available();
    format!(
        "libtorch: cuda={} (gpus: {}), cudnn={}, threads={}",
        cuda,
        if cuda { tch::Cuda::device_count() } else { 0 },
        tch::Cuda::cudnn_is_available(),
        tch::get_num_threads()
    )
}
