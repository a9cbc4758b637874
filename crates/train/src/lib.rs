//! The training side of lam as library functions, between the models and
//! the command line: the trainer of every method ([`trainer`]: one step
//! through `lam_models::methods::Model`, save and load), a training run in
//! its folder ([`run`]), evaluation
//! rollouts of policies and yardsticks with the published normalisers
//! ([`eval`]), and closed-form probes of a trained model ([`probe`]). The
//! CLI parses arguments, calls one of these and prints.

pub mod error;
pub mod eval;
pub mod probe;
pub mod run;
pub mod trainer;

pub use error::TrainError;
