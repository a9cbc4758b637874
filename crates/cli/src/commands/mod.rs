//! One module per top-level command.

pub mod bench;
pub mod bench_sac;
pub mod bench_train;
pub mod collect;
pub mod data;
pub mod eval;
pub mod expert;
pub mod expert_ship;
pub mod expert_train;
pub mod info;
pub mod pipeline;
pub mod probe;
pub mod render;
pub mod report;
pub mod train;
