//! The training side of lam as library functions, between the models and
//! the command line; the CLI parses arguments, calls one of these and
//! prints.
//!
//! - [`collect`]: expert trajectories into the published HDF5 layout, by
//!   parallel workers, resumable.
//! - [`trainer`]: one training step of any method (through
//!   `lam_models::methods::Model`), save and load; [`run`]: a training run
//!   in its folder (config, data paths, checkpoints, metrics, summary).
//! - [`relabel`]: a dataset's actions replaced by an IDM's.
//! - [`eval`]: rollouts of policies and yardsticks with the published
//!   normalisers; [`probe`]: closed-form probes of a trained model;
//!   [`leakage`]: what its latents encode of the action and each distractor.
//! - [`pipeline`]: an experiment file planned into typed, cached stages
//!   run in-process; [`report`]: its tables and charts.
//! - [`events`]: TensorBoard event files beside every run's metrics.
//! - [`progress`]: what long work reports; [`error`]: what goes wrong.

pub mod collect;
pub mod error;
pub mod eval;
pub mod events;
pub mod leakage;
pub mod pipeline;
pub mod probe;
pub mod progress;
pub mod relabel;
pub mod report;
pub mod run;
pub mod trainer;

pub use error::TrainError;
