//! Soft actor-critic (Haarnoja et al. 2018) for state-based control: the
//! replay buffer, the agent (squashed-Gaussian actor, twin Q critics with
//! EMA targets, automatic entropy temperature) and its update.

pub mod replay;
pub mod sac;
