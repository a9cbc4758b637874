//! Training batches from a dataset file: (o_t, o_{t+1}, o_{t+k}) each stacked
//! over 3 frames (9 channels, the first frame repeated at trajectory starts),
//! k uniform in 1..=K, with a_t and s_t; shuffled per epoch from a seed.
//!
//! Two modes share one code path. *In memory* reads the whole file once.
//! *Streaming* reads chunks of consecutive steps on demand into a cache of
//! bounded size, so peak memory is set by `cache_bytes` (plus the batches in
//! flight), not by the file. In both, background threads build the next
//! batches while the trainer works; batches come out in order and are the
//! same in both modes for the same seed.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::DataError;
use crate::reader::DatasetReader;

/// Frames per stacked observation.
pub const STACK: usize = 3;

/// Appends `frames` (RGB, same size, oldest first) interleaved per pixel:
/// the layout of a stacked observation.
pub fn interleave(frames: &[&[u8]], out: &mut Vec<u8>) {
    let pixels = frames.first().map_or(0, |f| f.len() / 3);
    let start = out.len();
    let step = 3 * frames.len();
    out.resize(start + pixels * step, 0);
    let dst = &mut out[start..];
    if let [a, b, c] = frames {
        // The 3-frame stack of every training batch: 9 bytes per pixel,
        // written in place (no per-pixel bounds checks or length updates).
        for (((o, a), b), c) in dst
            .chunks_exact_mut(9)
            .zip(a.chunks_exact(3))
            .zip(b.chunks_exact(3))
            .zip(c.chunks_exact(3))
        {
            o[..3].copy_from_slice(a);
            o[3..6].copy_from_slice(b);
            o[6..].copy_from_slice(c);
        }
        return;
    }
    for (j, f) in frames.iter().enumerate() {
        for (o, px) in dst.chunks_exact_mut(step).zip(f.chunks_exact(3)) {
            o[3 * j..3 * j + 3].copy_from_slice(px);
        }
    }
}

/// The 3-frame stack ending at step `t` of a trajectory's frames (`len x
/// frame_bytes`), frames before the start repeating the first.
pub fn stack_at(obs: &[u8], frame_bytes: usize, t: usize) -> Vec<u8> {
    let frames: [&[u8]; STACK] = std::array::from_fn(|j| {
        let s = (t + j).saturating_sub(STACK - 1);
        &obs[s * frame_bytes..(s + 1) * frame_bytes]
    });
    let mut out = Vec::new();
    interleave(&frames, &mut out);
    out
}

/// How a loader holds the data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LoaderMode {
    /// Read everything into memory at start.
    InMemory,
    /// Read chunks of `chunk_steps` steps on demand, caching at most
    /// `cache_bytes` of them.
    Streaming {
        /// Steps per cached chunk.
        chunk_steps: usize,
        /// Cache budget in bytes.
        cache_bytes: usize,
    },
}

/// Settings of a [`Loader`].
#[derive(Clone, Debug, PartialEq)]
pub struct LoaderConfig {
    /// Samples per batch.
    pub batch_size: usize,
    /// Largest future offset K (k is uniform in 1..=K).
    pub max_offset: usize,
    /// Seed of the shuffling and offsets.
    pub seed: u64,
    /// Memory mode.
    pub mode: LoaderMode,
    /// Threads building batches ahead (0: build on demand).
    pub prefetch_threads: usize,
    /// Batches built ahead at most.
    pub prefetch_depth: usize,
    /// Batches to pass over before the first one returned, so a resumed run
    /// sees the batches an uninterrupted run would have (cheap: only the
    /// sampling is replayed, nothing is read).
    pub skip_batches: u64,
}

impl Default for LoaderConfig {
    fn default() -> Self {
        Self {
            batch_size: 512,
            max_offset: 10,
            seed: 0,
            mode: LoaderMode::InMemory,
            prefetch_threads: 2,
            prefetch_depth: 4,
            skip_batches: 0,
        }
    }
}

/// One batch; frame stacks are `batch x H x W x 9` (per pixel the RGB of
/// frames t−2, t−1, t).
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Stacked o_t.
    pub obs: Vec<u8>,
    /// Stacked o_{t+1}.
    pub next_obs: Vec<u8>,
    /// Stacked o_{t+k}.
    pub future_obs: Vec<u8>,
    /// k per sample.
    pub offsets: Vec<u32>,
    /// a_t, `batch x action_size`.
    pub actions: Vec<f32>,
    /// s_t, `batch x state_size`.
    pub states: Vec<f32>,
    /// (trajectory, t) per sample.
    pub positions: Vec<(u32, u32)>,
}

/// Cached data: frames of consecutive steps of one trajectory, or all the
/// states and actions of one trajectory (small, read in one go).
#[derive(Debug)]
enum Chunk {
    Frames { start: usize, obs: Vec<u8> },
    Floats { states: Vec<f32>, actions: Vec<f32> },
}

impl Chunk {
    fn bytes(&self) -> usize {
        match self {
            Chunk::Frames { obs, .. } => obs.len(),
            Chunk::Floats { states, actions } => 4 * (states.len() + actions.len()),
        }
    }
}

/// Cache key of the floats of a trajectory.
const FLOATS: usize = usize::MAX;

/// Where chunks come from and where they are kept.
struct Store {
    reader: Mutex<DatasetReader>,
    lengths: Vec<usize>,
    frame_bytes: usize,
    state_size: usize,
    action_size: usize,
    chunk_steps: usize,
    budget: usize,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    chunks: HashMap<(usize, usize), (Arc<Chunk>, u64)>,
    bytes: usize,
    clock: u64,
}

/// The chunks one batch needs, fetched once each.
type Fetched = HashMap<(usize, usize), Arc<Chunk>>;

impl Store {
    /// Cached chunk `c` of trajectory `i` (`FLOATS`: its states and actions).
    fn chunk(&self, i: usize, c: usize) -> Result<Arc<Chunk>, DataError> {
        {
            let mut cache = self.cache.lock().expect("cache lock");
            cache.clock += 1;
            let now = cache.clock;
            if let Some((chunk, used)) = cache.chunks.get_mut(&(i, c)) {
                *used = now;
                return Ok(chunk.clone());
            }
        }
        let chunk = {
            let r = self.reader.lock().expect("reader lock");
            Arc::new(if c == FLOATS {
                Chunk::Floats {
                    states: r.read_states(i)?,
                    actions: r.read_actions(i)?,
                }
            } else {
                let start = c * self.chunk_steps;
                let end = (start + self.chunk_steps).min(self.lengths[i]);
                Chunk::Frames {
                    start,
                    obs: r.read_obs(i, start..end)?,
                }
            })
        };
        let mut cache = self.cache.lock().expect("cache lock");
        cache.clock += 1;
        let now = cache.clock;
        if !cache.chunks.contains_key(&(i, c)) {
            cache.bytes += chunk.bytes();
            cache.chunks.insert((i, c), (chunk.clone(), now));
            // Evict the least recently used until within budget.
            while cache.bytes > self.budget && cache.chunks.len() > 1 {
                let oldest = *cache
                    .chunks
                    .iter()
                    .min_by_key(|(_, (_, used))| *used)
                    .map(|(k, _)| k)
                    .expect("a cached chunk");
                if let Some((gone, _)) = cache.chunks.remove(&oldest) {
                    cache.bytes -= gone.bytes();
                }
            }
        }
        Ok(chunk)
    }

    /// First step of each stack a sample needs: o_t, o_{t+1}, o_{t+k}.
    fn stack_ends(t: usize, k: usize) -> [usize; 3] {
        [t, t + 1, t + k]
    }

    /// Fetches every chunk the plan needs (each once).
    fn fetch(&self, plan: &[(u32, u32, u32)]) -> Result<Fetched, DataError> {
        let mut keys = std::collections::BTreeSet::new();
        for &(i, t, k) in plan {
            let i = i as usize;
            keys.insert((i, FLOATS));
            for end in Self::stack_ends(t as usize, k as usize) {
                for s in end.saturating_sub(STACK - 1)..=end {
                    keys.insert((i, s / self.chunk_steps));
                }
            }
        }
        keys.into_iter()
            .map(|(i, c)| self.chunk(i, c).map(|chunk| ((i, c), chunk)))
            .collect()
    }

    /// Frame `s` of trajectory `i`.
    fn frame<'a>(&self, fetched: &'a Fetched, i: usize, s: usize) -> &'a [u8] {
        match fetched[&(i, s / self.chunk_steps)].as_ref() {
            Chunk::Frames { start, obs } => {
                let at = (s - start) * self.frame_bytes;
                &obs[at..at + self.frame_bytes]
            }
            Chunk::Floats { .. } => unreachable!("frame keys hold frames"),
        }
    }

    /// Appends the 3-frame stack ending at step `t` of trajectory `i`
    /// (frames before the start repeat the first frame).
    fn push_stack(&self, fetched: &Fetched, i: usize, t: usize, out: &mut Vec<u8>) {
        let frames: [&[u8]; STACK] =
            std::array::from_fn(|j| self.frame(fetched, i, (t + j).saturating_sub(STACK - 1)));
        interleave(&frames, out);
    }

    fn build(&self, plan: &[(u32, u32, u32)]) -> Result<Batch, DataError> {
        let fetched = self.fetch(plan)?;
        let n = plan.len();
        let stack_bytes = self.frame_bytes * STACK;
        let mut b = Batch {
            obs: Vec::with_capacity(n * stack_bytes),
            next_obs: Vec::with_capacity(n * stack_bytes),
            future_obs: Vec::with_capacity(n * stack_bytes),
            offsets: Vec::with_capacity(n),
            actions: Vec::with_capacity(n * self.action_size),
            states: Vec::with_capacity(n * self.state_size),
            positions: Vec::with_capacity(n),
        };
        for &(i, t, k) in plan {
            let (i, t, k) = (i as usize, t as usize, k as usize);
            self.push_stack(&fetched, i, t, &mut b.obs);
            self.push_stack(&fetched, i, t + 1, &mut b.next_obs);
            self.push_stack(&fetched, i, t + k, &mut b.future_obs);
            let Chunk::Floats { states, actions } = fetched[&(i, FLOATS)].as_ref() else {
                unreachable!("float keys hold floats");
            };
            let (a, s) = (self.action_size, self.state_size);
            b.actions.extend_from_slice(&actions[t * a..(t + 1) * a]);
            b.states.extend_from_slice(&states[t * s..(t + 1) * s]);
            b.offsets.push(k as u32);
            b.positions.push((i as u32, t as u32));
        }
        Ok(b)
    }
}

/// The deterministic order of samples: epochs of shuffled positions, an
/// offset drawn per sample.
struct Sampler {
    /// (trajectory, t, largest k allowed there).
    positions: Vec<(u32, u32, u32)>,
    order: Vec<usize>,
    cursor: usize,
    epoch: u64,
    seed: u64,
    rng: ChaCha8Rng,
}

impl Sampler {
    fn new(lengths: &[usize], max_offset: usize, seed: u64) -> Self {
        let mut positions = Vec::new();
        for (i, &len) in lengths.iter().enumerate() {
            if len < 2 {
                continue;
            }
            // Full offsets where they fit; near the end of a trajectory
            // shorter than K + 1, offsets up to its last step.
            let last = if len > max_offset {
                len - 1 - max_offset
            } else {
                len - 2
            };
            for t in 0..=last {
                let k = max_offset.min(len - 1 - t);
                positions.push((i as u32, t as u32, k as u32));
            }
        }
        let mut s = Self {
            positions,
            order: Vec::new(),
            cursor: 0,
            epoch: 0,
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
        };
        s.shuffle();
        s
    }

    fn shuffle(&mut self) {
        self.order = (0..self.positions.len()).collect();
        let mut rng =
            ChaCha8Rng::seed_from_u64(self.seed ^ self.epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        self.order.shuffle(&mut rng);
        self.cursor = 0;
    }

    fn plan(&mut self, n: usize) -> Plan {
        (0..n)
            .map(|_| {
                if self.cursor == self.order.len() {
                    self.epoch += 1;
                    self.shuffle();
                }
                let (i, t, kmax) = self.positions[self.order[self.cursor]];
                self.cursor += 1;
                let k = self.rng.random_range(1..=kmax);
                (i, t, k)
            })
            .collect()
    }
}

/// Samples of one batch: (trajectory, t, k).
type Plan = Vec<(u32, u32, u32)>;

/// Background builders of batches, in order.
struct Prefetch {
    jobs: mpsc::SyncSender<(u64, Plan)>,
    results: mpsc::Receiver<(u64, Result<Batch, DataError>)>,
    ready: BTreeMap<u64, Result<Batch, DataError>>,
    next_out: u64,
    next_in: u64,
    stop: Arc<AtomicBool>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

/// Batches of training samples from a dataset file.
pub struct Loader {
    store: Arc<Store>,
    sampler: Sampler,
    config: LoaderConfig,
    frame: (usize, usize),
    prefetch: Option<Prefetch>,
}

impl std::fmt::Debug for Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loader")
            .field("config", &self.config)
            .finish()
    }
}

impl Loader {
    /// Opens `path` for training batches.
    pub fn open(path: &Path, config: LoaderConfig) -> Result<Self, DataError> {
        let bad = |message: String| DataError::Request {
            file: path.to_path_buf(),
            message,
        };
        if config.batch_size == 0 || config.max_offset == 0 {
            return Err(bad("batch_size and max_offset must be at least 1".into()));
        }
        let reader = DatasetReader::open(path)?;
        let lengths = reader.lengths().to_vec();
        let (h, w) = reader.frame();
        let (state_size, action_size) = (reader.state_size(), reader.action_size());
        let longest = *lengths.iter().max().unwrap_or(&0);
        let (chunk_steps, budget) = match config.mode {
            LoaderMode::InMemory => (longest.max(1), usize::MAX),
            LoaderMode::Streaming {
                chunk_steps,
                cache_bytes,
            } => {
                if chunk_steps == 0 {
                    return Err(bad("chunk_steps must be at least 1".into()));
                }
                (chunk_steps, cache_bytes)
            }
        };
        let mut sampler = Sampler::new(&lengths, config.max_offset, config.seed);
        if sampler.positions.is_empty() {
            return Err(bad(
                "no trajectory has two steps or more: nothing to sample".into(),
            ));
        }
        if config.max_offset >= longest {
            return Err(bad(format!(
                "max_offset {} reaches past the end of every trajectory (the longest has {longest} steps): no pair could use the full offset; choose a max_offset below {longest}",
                config.max_offset
            )));
        }
        for _ in 0..config.skip_batches {
            sampler.plan(config.batch_size);
        }
        let store = Arc::new(Store {
            reader: Mutex::new(reader),
            lengths,
            frame_bytes: h * w * 3,
            state_size,
            action_size,
            chunk_steps,
            budget,
            cache: Mutex::new(Cache::default()),
        });
        if config.mode == LoaderMode::InMemory {
            for i in 0..store.lengths.len() {
                store.chunk(i, 0)?;
                store.chunk(i, FLOATS)?;
            }
        }
        let mut loader = Self {
            store,
            sampler,
            frame: (h, w),
            prefetch: None,
            config,
        };
        loader.start_prefetch();
        Ok(loader)
    }

    fn start_prefetch(&mut self) {
        let threads = self.config.prefetch_threads;
        if threads == 0 {
            return;
        }
        let depth = self.config.prefetch_depth.max(1);
        let (job_tx, job_rx) = mpsc::sync_channel::<(u64, Plan)>(depth);
        let (res_tx, res_rx) = mpsc::sync_channel(depth + threads);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..threads)
            .map(|_| {
                let (job_rx, res_tx, store, stop) = (
                    job_rx.clone(),
                    res_tx.clone(),
                    self.store.clone(),
                    stop.clone(),
                );
                std::thread::spawn(move || loop {
                    let job = job_rx.lock().expect("job lock").recv();
                    let Ok((n, plan)) = job else { return };
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    if res_tx.send((n, store.build(&plan))).is_err() {
                        return;
                    }
                })
            })
            .collect();
        let mut p = Prefetch {
            jobs: job_tx,
            results: res_rx,
            ready: BTreeMap::new(),
            next_out: 0,
            next_in: 0,
            stop,
            workers,
        };
        for _ in 0..depth {
            let plan = self.sampler.plan(self.config.batch_size);
            let _ = p.jobs.send((p.next_in, plan));
            p.next_in += 1;
        }
        self.prefetch = Some(p);
    }

    /// Frame (height, width).
    pub fn frame(&self) -> (usize, usize) {
        self.frame
    }

    /// Values per state and per action.
    pub fn sizes(&self) -> (usize, usize) {
        (self.store.state_size, self.store.action_size)
    }

    /// Samples in one epoch.
    pub fn epoch_len(&self) -> usize {
        self.sampler.positions.len()
    }

    /// Bytes of chunks cached now.
    pub fn cached_bytes(&self) -> usize {
        self.store.cache.lock().expect("cache lock").bytes
    }

    /// The next batch.
    pub fn next_batch(&mut self) -> Result<Batch, DataError> {
        let Some(p) = &mut self.prefetch else {
            let plan = self.sampler.plan(self.config.batch_size);
            return self.store.build(&plan);
        };
        loop {
            if let Some(b) = p.ready.remove(&p.next_out) {
                p.next_out += 1;
                let plan = self.sampler.plan(self.config.batch_size);
                let _ = p.jobs.send((p.next_in, plan));
                p.next_in += 1;
                return b;
            }
            let (n, b) = p.results.recv().map_err(|_| DataError::Request {
                file: self
                    .store
                    .reader
                    .lock()
                    .expect("reader lock")
                    .path()
                    .to_path_buf(),
                message: "the batch builders stopped".into(),
            })?;
            p.ready.insert(n, b);
        }
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        if let Some(p) = self.prefetch.take() {
            p.stop.store(true, Ordering::Relaxed);
            let Prefetch {
                jobs,
                results,
                workers,
                ..
            } = p;
            drop(jobs);
            drop(results);
            for w in workers {
                let _ = w.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per pixel, each frame's RGB in turn: the layout written plainly.
    fn naive(frames: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in 0..frames[0].len() / 3 {
            for f in frames {
                out.extend_from_slice(&f[3 * p..3 * p + 3]);
            }
        }
        out
    }

    #[test]
    fn interleave_matches_the_plain_layout_for_any_frame_count() {
        let frames: Vec<Vec<u8>> = (0..4)
            .map(|j| (0..5 * 3).map(|v| (v * 11 + j * 50) as u8).collect())
            .collect();
        for n in 1..=4 {
            let refs: Vec<&[u8]> = frames[..n].iter().map(Vec::as_slice).collect();
            let mut out = vec![7u8; 2]; // appends after what is there
            interleave(&refs, &mut out);
            assert_eq!(&out[..2], &[7, 7]);
            assert_eq!(&out[2..], naive(&refs).as_slice(), "{n} frames");
        }
    }
}
