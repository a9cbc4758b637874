//! Neural-network building blocks shared by every model (encoder stages,
//! residual blocks, MLP blocks), on tch / libtorch.

pub mod blocks;
pub mod device;
