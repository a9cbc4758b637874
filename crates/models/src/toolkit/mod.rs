//! The shared toolkit the methods are built from.

pub mod actor;
pub mod augment;
pub mod autocast;
pub mod blocks;
pub mod checkpoint;
pub mod cpu;
pub mod device;
pub mod ema;
pub mod encoder;
pub mod fsq;
pub mod init;
pub mod optim;
pub mod probe;
