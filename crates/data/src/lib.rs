//! Datasets of pixel observations in the published HDF5 layout
//! (METHOD.md §7): writing trajectories as they are collected (resumable,
//! finished atomically), reading and checking files from any writer,
//! labeled subsets and merging of shards.

pub mod atomic;
mod attrs;
pub mod error;
pub mod layout;
pub mod loader;
pub mod lock;
pub mod masks;
pub mod mixed;
pub mod ops;
pub mod reader;
pub mod writer;

pub use error::DataError;
pub use layout::{DatasetAttrs, GroundTruth, Trajectory};
pub use lock::OutputLock;
pub use reader::DatasetReader;
pub use writer::{partial_path, DatasetWriter, WriteOptions};
