//! Running a policy for whole episodes.

use lam_env::{Environment, TaskId};

use crate::{ExpertError, Policy};

/// The outcome of one evaluation episode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpisodeReturn {
    /// The seed the episode was reset with.
    pub seed: u64,
    /// Sum of rewards.
    pub total: f64,
    /// Control steps taken.
    pub steps: usize,
}

/// Runs `episodes` episodes of `task` under `policy`, episode `i` seeded
/// with `seed + i`, on up to `threads` threads. `on_episode` is called after
/// each finished episode (for progress bars). Results are in episode order
/// and do not depend on `threads`.
pub fn evaluate(
    task: TaskId,
    policy: &dyn Policy,
    episodes: usize,
    seed: u64,
    threads: usize,
    on_episode: &(dyn Fn(&EpisodeReturn) + Sync),
) -> Result<Vec<EpisodeReturn>, ExpertError> {
    let threads = threads.clamp(1, episodes.max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(vec![None; episodes]);
    std::thread::scope(|scope| -> Result<(), ExpertError> {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<(), ExpertError> {
                    let mut env: Option<Environment> = None;
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= episodes {
                            return Ok(());
                        }
                        let episode_seed = seed + i as u64;
                        let env = match env.as_mut() {
                            Some(env) => env,
                            None => env.insert(Environment::new(task, episode_seed)?),
                        };
                        let result = run_episode(env, policy, episode_seed)?;
                        on_episode(&result);
                        results.lock().expect("no panics while locked")[i] = Some(result);
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("evaluation worker panicked")?;
        }
        Ok(())
    })?;
    Ok(results
        .into_inner()
        .expect("no panics while locked")
        .into_iter()
        .map(|r| r.expect("every episode ran"))
        .collect())
}

/// Runs one full episode from `reset_with_seed(seed)`.
pub fn run_episode(
    env: &mut Environment,
    policy: &dyn Policy,
    seed: u64,
) -> Result<EpisodeReturn, ExpertError> {
    let mut observation = env.reset_with_seed(seed)?;
    let mut total = 0.0;
    loop {
        let step = env.step(&policy.act(&observation))?;
        total += step.reward;
        observation = step.observation;
        if step.done {
            return Ok(EpisodeReturn {
                seed,
                total,
                steps: env.steps(),
            });
        }
    }
}
