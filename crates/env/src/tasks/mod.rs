//! One file per task.

mod cheetah;
mod hopper;
mod humanoid;
mod walker;

pub use cheetah::CheetahRun;
pub use hopper::HopperHop;
pub use humanoid::HumanoidWalk;
pub use walker::WalkerRun;

#[cfg(test)]
mod tests;
