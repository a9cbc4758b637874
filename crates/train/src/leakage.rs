//! Leakage probes: what a frozen model's latent action (and observation
//! embedding) encodes besides the action. For a held-out file with the
//! simulator's ground truth, probes map the features onto each factor —
//! the true action, the proprioceptive state and each distractor (camera,
//! background, colour) — and report the held-out R², with a linear
//! (ridge) probe and a small MLP probe on a fixed budget.
//!
//! The probes are fitted and scored within the held-out file (its
//! background videos are not the training file's, and the training file
//! may record no ground truth): its sampled pairs are split by trajectory
//! (even and odd index), fitted on one half and scored on the other, both
//! ways (the MLP picks its weights on trajectories of the fitting half it
//! holds back), and the two R² averaged (2-fold cross-fitting). Every target column
//! is standardised with the fitting half's statistics; a factor's R² is
//! 1 − Σ MSE / Σ variance over its columns on the scored half (about the
//! uniform mean of its columns' R²). Columns constant in either half (the
//! camera of an undisturbed preset) are dropped; a factor with none left
//! is not measured.

use std::path::Path;

use lam_data::layout::GRID;
use lam_data::DatasetReader;
use lam_models::toolkit::probe::{LinearFit, MlpFit, MlpSettings};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::TrainError;

/// What a probe is asked to recover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Factor {
    /// The true action a_t.
    Action,
    /// The proprioceptive state s_t.
    State,
    /// The camera offsets (azimuth, elevation, radius factor, roll).
    Camera,
    /// What the background shows: the mean RGB of a 4 x 4 grid over it.
    Background,
    /// The per-material colour offsets.
    Colour,
}

impl Factor {
    /// Every factor, in the order tables and charts show them.
    pub const ALL: [Factor; 5] = [
        Factor::Action,
        Factor::State,
        Factor::Camera,
        Factor::Background,
        Factor::Colour,
    ];

    /// Its name in tables and charts.
    pub fn name(self) -> &'static str {
        match self {
            Factor::Action => "action",
            Factor::State => "state",
            Factor::Camera => "camera",
            Factor::Background => "background",
            Factor::Colour => "colour",
        }
    }

    /// Whether it is a distractor (neither the action nor the state).
    pub fn is_distractor(self) -> bool {
        !matches!(self, Factor::Action | Factor::State)
    }
}

/// One factor's held-out R² (mean of the two cross-fitting folds).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FactorScore {
    /// The linear (ridge) probe's R².
    pub linear: f64,
    /// The MLP probe's R² (None when not fitted).
    pub mlp: Option<f64>,
    /// Target columns probed (those varying in both halves).
    pub columns: usize,
}

/// Each factor's score; None for a factor with no varying column (or, for
/// action and state, none recorded).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FactorScores {
    /// Onto the true action.
    pub action: Option<FactorScore>,
    /// Onto the proprioceptive state.
    pub state: Option<FactorScore>,
    /// Onto the camera offsets.
    pub camera: Option<FactorScore>,
    /// Onto the background grid.
    pub background: Option<FactorScore>,
    /// Onto the colour offsets.
    pub colour: Option<FactorScore>,
}

impl FactorScores {
    /// The score of `factor`.
    pub fn get(&self, factor: Factor) -> Option<&FactorScore> {
        match factor {
            Factor::Action => self.action.as_ref(),
            Factor::State => self.state.as_ref(),
            Factor::Camera => self.camera.as_ref(),
            Factor::Background => self.background.as_ref(),
            Factor::Colour => self.colour.as_ref(),
        }
    }

    fn slot(&mut self, factor: Factor) -> &mut Option<FactorScore> {
        match factor {
            Factor::Action => &mut self.action,
            Factor::State => &mut self.state,
            Factor::Camera => &mut self.camera,
            Factor::Background => &mut self.background,
            Factor::Colour => &mut self.colour,
        }
    }
}

/// What the latent action and the observation embedding encode, measured
/// on a held-out file with ground truth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Leakage {
    /// Latent action z(o_t, o_{t+k}) onto each factor at t and its change
    /// from t to t+k (LAMs; None for models without latent actions).
    pub latent: Option<FactorScores>,
    /// Observation embedding e(o_t) onto each factor at t.
    pub embedding: FactorScores,
    /// Pairs sampled from the held-out file.
    pub samples: usize,
    /// The MLP probe's budget (None: linear probes only).
    pub mlp: Option<MlpSettings>,
}

/// How leakage is measured.
#[derive(Clone, Debug, PartialEq)]
pub struct LeakageSpec {
    /// The MLP probe's budget; None fits linear probes only.
    pub mlp: Option<MlpSettings>,
}

impl Default for LeakageSpec {
    fn default() -> Self {
        Self {
            mlp: Some(MlpSettings::default()),
        }
    }
}

/// The distractor state of every trajectory of a file (what the leakage
/// targets are built from).
#[derive(Debug)]
pub struct Truths {
    /// Per trajectory, `len x 4`.
    camera: Vec<Vec<f64>>,
    /// Per trajectory, `len x 48`.
    grid: Vec<Vec<f32>>,
    /// Per trajectory, `len x materials x 3`.
    colour: Vec<Vec<f32>>,
    /// Materials per step.
    materials: usize,
}

/// Values per step of the background grid.
const GRID_VALUES: usize = GRID * GRID * 3;

impl Truths {
    /// The ground truth of every trajectory of `file`; None when the file
    /// records none. Buffers of the wrong size are errors naming the
    /// trajectory and the field.
    pub fn read(file: &Path) -> Result<Option<Self>, TrainError> {
        let reader = DatasetReader::open(file)?;
        if !reader.has_ground_truth() {
            return Ok(None);
        }
        let mut t = Truths {
            camera: Vec::new(),
            grid: Vec::new(),
            colour: Vec::new(),
            materials: 0,
        };
        for (i, &len) in reader.lengths().iter().enumerate() {
            let Some(g) = reader.read_ground_truth(i, false)? else {
                return Ok(None);
            };
            let sizes = [
                ("camera", g.camera.len(), len * 4),
                (
                    "background_grid",
                    g.background_grid.len(),
                    len * GRID_VALUES,
                ),
                ("colour", g.colour.len(), len * g.materials * 3),
            ];
            for (field, found, expected) in sizes {
                if found != expected {
                    return Err(TrainError::DoesNotFit {
                        path: file.to_path_buf(),
                        what: format!(
                            "trajectory {i}'s ground truth \"{field}\" holds {found} values, \
                             expected {expected} for {len} steps"
                        ),
                    });
                }
            }
            t.materials = g.materials;
            t.camera.push(g.camera);
            t.grid.push(g.background_grid);
            t.colour.push(g.colour);
        }
        Ok(Some(t))
    }

    /// The distractor targets of the sampled pairs `(trajectory, t)` with
    /// offsets `k`: each factor's value at t, and with `change` its change
    /// from t to t+k beside it. Positions outside the file are errors.
    pub fn targets(
        &self,
        positions: &[(u32, u32)],
        offsets: &[u32],
        change: bool,
    ) -> Result<Vec<(Factor, Tensor)>, TrainError> {
        let mut camera = Vec::new();
        let mut grid = Vec::new();
        let mut colour = Vec::new();
        let m3 = self.materials * 3;
        for (j, &(i, t)) in positions.iter().enumerate() {
            let (i, t) = (i as usize, t as usize);
            let k = offsets.get(j).copied().unwrap_or(0) as usize;
            let len = self.camera.get(i).map_or(0, |c| c.len() / 4);
            if t + k >= len {
                return Err(TrainError::invalid(
                    "sampled position",
                    format!("trajectory {i} step {t} + {k}"),
                    format!("a step of the file's trajectories ({len} steps in trajectory {i})"),
                ));
            }
            push_row(&mut camera, &self.camera[i], 4, t, t + k, change);
            push_row(&mut grid, &self.grid[i], GRID_VALUES, t, t + k, change);
            push_row(&mut colour, &self.colour[i], m3, t, t + k, change);
        }
        let n = positions.len() as i64;
        let table = |v: Vec<f64>| {
            let cols = v.len() as i64 / n.max(1);
            Tensor::from_slice(&v).view([n, cols])
        };
        Ok(vec![
            (Factor::Camera, table(camera)),
            (Factor::Background, table(grid)),
            (Factor::Colour, table(colour)),
        ])
    }
}

/// Appends row `t` of a `width`-column table, and with `change` row
/// `later` minus row `t`.
fn push_row<T: Copy + Into<f64>>(
    out: &mut Vec<f64>,
    table: &[T],
    width: usize,
    t: usize,
    later: usize,
    change: bool,
) {
    let row = |s: usize| table[s * width..(s + 1) * width].iter().map(|&v| v.into());
    out.extend(row(t));
    if change {
        out.extend(row(later).zip(row(t)).map(|(b, a)| b - a));
    }
}

/// Cross-fitted held-out R² of probes from `features` `[N, D]` onto each
/// target `[N, C]`: fitted on the rows of even `trajectories` and scored
/// on the odd ones, then the other way round, the two R² averaged. The
/// linear probe is a ridge fit of strength `ridge` (relative to the mean
/// feature variance); the MLP probe (when `mlp` is given) is one network
/// per fold onto every factor's columns at once, each factor weighing the
/// same in its loss.
pub fn cross_fit(
    features: &Tensor,
    targets: &[(Factor, Tensor)],
    trajectories: &[u32],
    ridge: f64,
    mlp: Option<&MlpSettings>,
) -> Result<FactorScores, TrainError> {
    let n = features.size()[0];
    if trajectories.len() as i64 != n || targets.iter().any(|(_, y)| y.size()[0] != n) {
        return Err(TrainError::invalid(
            "leakage probe rows",
            format!(
                "{n} feature rows, {} trajectory ids, targets of {:?} rows",
                trajectories.len(),
                targets.iter().map(|(_, y)| y.size()[0]).collect::<Vec<_>>()
            ),
            "the same number of rows",
        ));
    }
    let halves: [Vec<i64>; 2] = std::array::from_fn(|h| {
        (0..n)
            .filter(|&r| trajectories[r as usize] as usize % 2 == h)
            .collect()
    });
    if halves.iter().any(|h| h.len() < 2) {
        return Err(TrainError::invalid(
            "leakage probe samples",
            format!(
                "{} on even and {} on odd trajectories",
                halves[0].len(),
                halves[1].len()
            ),
            "at least 2 of each (a held-out file of 2 trajectories or more)",
        ));
    }
    let index = |h: &[i64]| Tensor::from_slice(h);
    let x = features.to_kind(Kind::Double).to_device(tch::Device::Cpu);
    let xs = [
        x.index_select(0, &index(&halves[0])),
        x.index_select(0, &index(&halves[1])),
    ];
    // Each factor's columns varying in both halves.
    let mut kept: Vec<(Factor, [Tensor; 2])> = Vec::new();
    for (factor, y) in targets {
        let y = y.to_kind(Kind::Double).to_device(tch::Device::Cpu);
        let parts = [
            y.index_select(0, &index(&halves[0])),
            y.index_select(0, &index(&halves[1])),
        ];
        let varies = |p: &Tensor| p.std_dim(0, false, false).gt(1e-8);
        let cols: Vec<i64> =
            Vec::<bool>::try_from(varies(&parts[0]).logical_and(&varies(&parts[1])))
                .map_err(TrainError::Torch)?
                .iter()
                .enumerate()
                .filter(|(_, &v)| v)
                .map(|(c, _)| c as i64)
                .collect();
        if !cols.is_empty() {
            let cols = Tensor::from_slice(&cols);
            kept.push((*factor, parts.map(|p| p.index_select(1, &cols))));
        }
    }
    let mut sums: Vec<(f64, Option<f64>)> = vec![(0.0, mlp.map(|_| 0.0)); kept.len()];
    for fold in 0..2 {
        let (fit, score) = (fold, 1 - fold);
        // Targets standardised with the fitting half's statistics.
        let standard = |y: &[Tensor; 2]| {
            let mean = y[fit].mean_dim(0, true, Kind::Double);
            let std = y[fit].std_dim(0, false, true);
            [(&y[fit] - &mean) / &std, (&y[score] - &mean) / &std]
        };
        let ys: Vec<[Tensor; 2]> = kept.iter().map(|(_, y)| standard(y)).collect();
        if ys.is_empty() {
            break;
        }
        let all = |side: usize| Tensor::cat(&ys.iter().map(|y| &y[side]).collect::<Vec<_>>(), 1);
        let (fit_y, score_y) = (all(0), all(1));
        let widths: Vec<i64> = ys.iter().map(|y| y[0].size()[1]).collect();
        let linear = LinearFit::fit(&xs[fit], &fit_y, ridge).predict(&xs[score]);
        for (i, r2) in per_factor(&linear, &score_y, &widths)
            .into_iter()
            .enumerate()
        {
            sums[i].0 += r2 / 2.0;
        }
        if let Some(settings) = mlp {
            // Each factor weighs the same, whatever its columns.
            let weights: Vec<f64> = widths
                .iter()
                .flat_map(|&w| std::iter::repeat_n(1.0 / w as f64, w as usize))
                .collect();
            let settings = MlpSettings {
                seed: settings.seed.wrapping_add(fold as u64),
                ..settings.clone()
            };
            let held_back = held_back(&halves[fit], trajectories);
            let net = MlpFit::fit(
                &xs[fit].to_kind(Kind::Float),
                &fit_y.to_kind(Kind::Float),
                Some(&Tensor::from_slice(&weights)),
                held_back.as_deref(),
                &settings,
            )
            .map_err(|e| TrainError::invalid("MLP probe", e.to_string(), "a fit"))?;
            let predicted = net.predict(&xs[score]);
            for (i, r2) in per_factor(&predicted, &score_y, &widths)
                .into_iter()
                .enumerate()
            {
                if let Some(m) = &mut sums[i].1 {
                    *m += r2 / 2.0;
                }
            }
        }
    }
    let mut scores = FactorScores::default();
    for ((factor, y), (linear, mlp)) in kept.iter().zip(sums) {
        *scores.slot(*factor) = Some(FactorScore {
            linear,
            mlp,
            columns: y[0].size()[1] as usize,
        });
    }
    Ok(scores)
}

/// Which rows of a fitting half (`rows`, indices into `trajectories`) the
/// MLP holds back to pick its weights: whole trajectories, every fourth of
/// the half's (at least one), so that the check is not fooled by
/// neighbouring steps; None (every tenth row) with one trajectory only.
fn held_back(rows: &[i64], trajectories: &[u32]) -> Option<Vec<bool>> {
    let mut ids: Vec<u32> = rows.iter().map(|&r| trajectories[r as usize]).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() < 2 {
        return None;
    }
    let back: Vec<u32> = ids
        .iter()
        .enumerate()
        .filter(|(rank, _)| rank % 4 == 3 || (ids.len() < 4 && rank + 1 == ids.len()))
        .map(|(_, &id)| id)
        .collect();
    Some(
        rows.iter()
            .map(|&r| back.contains(&trajectories[r as usize]))
            .collect(),
    )
}

/// R² of `predicted` against `y` per block of `widths` columns:
/// 1 − Σ MSE / Σ variance over the block's columns.
fn per_factor(predicted: &Tensor, y: &Tensor, widths: &[i64]) -> Vec<f64> {
    let predicted = predicted.to_kind(Kind::Double);
    let mse = (&predicted - y).square().mean_dim(0, false, Kind::Double);
    let var = (y - y.mean_dim(0, true, Kind::Double))
        .square()
        .mean_dim(0, false, Kind::Double);
    let mut start = 0;
    widths
        .iter()
        .map(|&w| {
            let m = mse.narrow(0, start, w).sum(Kind::Double).double_value(&[]);
            let v = var.narrow(0, start, w).sum(Kind::Double).double_value(&[]);
            start += w;
            1.0 - m / v.max(1e-12)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `n` rows of `cols` standard normal values from `rng`.
    fn normal(rng: &mut ChaCha8Rng, n: usize, cols: usize) -> Tensor {
        let v: Vec<f64> = (0..n * cols)
            .map(|_| {
                // Box-Muller.
                let (a, b): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random());
                (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
            })
            .collect();
        Tensor::from_slice(&v).view([n as i64, cols as i64])
    }

    /// Samples on 8 trajectories: true actions (2 columns), camera offsets
    /// (4, one constant as an undisturbed radius), colour all zero.
    struct World {
        trajectories: Vec<u32>,
        actions: Tensor,
        camera: Tensor,
        colour: Tensor,
    }

    fn world(n: usize, seed: u64) -> (World, ChaCha8Rng) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let trajectories = (0..n as u32).map(|i| i % 8).collect();
        let actions = normal(&mut rng, n, 2);
        let camera = Tensor::cat(
            &[
                normal(&mut rng, n, 3),
                Tensor::ones([n as i64, 1], (Kind::Double, tch::Device::Cpu)),
            ],
            1,
        );
        let colour = Tensor::zeros([n as i64, 6], (Kind::Double, tch::Device::Cpu));
        let w = World {
            trajectories,
            actions,
            camera,
            colour,
        };
        (w, rng)
    }

    fn targets(w: &World) -> Vec<(Factor, Tensor)> {
        vec![
            (Factor::Action, w.actions.shallow_clone()),
            (Factor::Camera, w.camera.shallow_clone()),
            (Factor::Colour, w.colour.shallow_clone()),
        ]
    }

    fn quick() -> MlpSettings {
        MlpSettings {
            steps: 600,
            ..MlpSettings::default()
        }
    }

    #[test]
    fn a_copy_of_the_camera_encodes_the_camera_and_not_the_actions() {
        let (w, mut rng) = world(2000, 1);
        let latent = &w.camera + normal(&mut rng, 2000, 4) * 0.05;
        let s = cross_fit(&latent, &targets(&w), &w.trajectories, 1e-3, Some(&quick())).unwrap();
        let camera = s.camera.as_ref().unwrap();
        let action = s.action.as_ref().unwrap();
        assert_eq!(camera.columns, 3, "the constant radius is dropped");
        assert!(camera.linear > 0.95, "{s:?}");
        assert!(camera.mlp.unwrap() > 0.95, "{s:?}");
        assert!(action.linear.abs() < 0.1, "{s:?}");
        assert!(action.mlp.unwrap() < 0.1, "{s:?}");
        // Colour never varies: not measured; nor a factor not given.
        assert_eq!((s.colour.as_ref(), s.background.as_ref()), (None, None));
    }

    #[test]
    fn a_random_latent_encodes_nothing() {
        let (w, mut rng) = world(2000, 2);
        let latent = normal(&mut rng, 2000, 8);
        let s = cross_fit(&latent, &targets(&w), &w.trajectories, 1e-3, Some(&quick())).unwrap();
        for f in [Factor::Action, Factor::Camera] {
            let f = s.get(f).unwrap();
            assert!(f.linear < 0.1 && f.mlp.unwrap() < 0.1, "{s:?}");
        }
    }

    #[test]
    fn the_mlp_finds_a_relation_the_linear_probe_cannot() {
        let (w, mut rng) = world(2000, 3);
        let latent = normal(&mut rng, 2000, 3);
        let square = latent.narrow(1, 0, 1).square();
        let s = cross_fit(
            &latent,
            &[(Factor::Background, square)],
            &w.trajectories,
            1e-3,
            Some(&quick()),
        )
        .unwrap();
        let b = s.background.unwrap();
        assert!(b.mlp.unwrap() > 0.8 && b.linear < 0.3, "{b:?}");
        // Linear probes only: no MLP score.
        let latent = w.camera.shallow_clone();
        let s = cross_fit(&latent, &targets(&w), &w.trajectories, 1e-3, None).unwrap();
        assert_eq!(s.camera.unwrap().mlp, None);
    }

    #[test]
    fn cross_fitting_needs_both_halves() {
        let (w, _) = world(40, 4);
        let even = vec![2u32; 40];
        let err = cross_fit(&w.camera, &targets(&w), &even, 1e-3, None).unwrap_err();
        assert!(err.to_string().contains("at least 2 of each"), "{err}");
        let err =
            cross_fit(&w.camera, &targets(&w), &w.trajectories[..10], 1e-3, None).unwrap_err();
        assert!(err.to_string().contains("same number of rows"), "{err}");
    }

    #[test]
    fn whole_trajectories_are_held_back() {
        let ids = [0u32, 2, 4, 6, 8, 0, 2];
        let rows: Vec<i64> = (0..7).collect();
        let back = held_back(&rows, &ids).unwrap();
        assert_eq!(back, [false, false, false, true, false, false, false]);
        let back = held_back(&rows[..3], &ids).unwrap();
        assert_eq!(back, [false, false, true]);
        assert_eq!(held_back(&[0, 5], &ids), None);
    }

    #[test]
    fn targets_hold_the_value_and_its_change() {
        let t = Truths {
            camera: vec![(0..12).map(f64::from).collect()],
            grid: vec![vec![0.5; 3 * GRID_VALUES]],
            colour: vec![vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 3.0, 3.0, 3.0]],
            materials: 1,
        };
        let with = t.targets(&[(0, 0)], &[2], true).unwrap();
        let row = |i: usize| Vec::<f64>::try_from(with[i].1.view([-1])).unwrap();
        assert_eq!(row(0), [0.0, 1.0, 2.0, 3.0, 8.0, 8.0, 8.0, 8.0]);
        assert_eq!(row(1).len(), 2 * GRID_VALUES);
        assert_eq!(row(2), [0.0, 0.0, 0.0, 3.0, 3.0, 3.0]);
        let without = t.targets(&[(0, 1)], &[1], false).unwrap();
        assert_eq!(without[0].1.size(), [1, 4]);
        assert!(t.targets(&[(0, 2)], &[1], true).is_err());
        assert!(t.targets(&[(1, 0)], &[1], true).is_err());
    }
}
