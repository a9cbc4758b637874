//! One module per top-level command.

pub mod bench;
pub mod collect;
pub mod data;
pub mod eval;
pub mod expert;
pub mod info;
pub mod pipeline;
pub mod probe;
pub mod render;
pub mod report;
pub mod train;
