//! The networks of METHOD.md §4 and their losses, on tch / libtorch.
//!
//! - [`toolkit`]: what every method is built from (encoder stages, residual
//!   and MLP blocks, FSQ, initialisation, EMA targets, Adam, linear probes,
//!   augmentation, bf16 autocast, checkpoints, devices).
//! - [`methods`]: one file per method (LAPO, LAOM ± supervision, IDM, BC,
//!   latent BC, action decoder), each holding its networks **and its whole
//!   loss** behind the small [`methods::Model`] trait the trainer uses.
//! - [`batch`]: the tensors a step reads; [`config`]: run settings and the
//!   presets (`presets/*.toml`).

pub mod batch;
pub mod config;
pub mod methods;
pub mod toolkit;
