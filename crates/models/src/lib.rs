//! Neural-network building blocks (encoder stages, residual and MLP blocks)
//! and the latent action models of METHOD.md §4 (LAPO, LAOM), on tch / libtorch.

pub mod actor;
pub mod augment;
pub mod autocast;
pub mod blocks;
pub mod checkpoint;
pub mod config;
pub mod cpu;
pub mod decoder;
pub mod device;
pub mod ema;
pub mod encoder;
pub mod fsq;
pub mod idm;
pub mod init;
pub mod laom;
pub mod lapo;
pub mod optim;
pub mod probe;
pub mod train;
