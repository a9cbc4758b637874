//! The IDM baseline's relabeling: a copy of a dataset whose actions are a
//! trained IDM's predictions from (o_t, o_{t+1}) (then BC trains on it).

use std::path::{Path, PathBuf};

use lam_data::loader::stack_at;
use lam_data::{DatasetReader, DatasetWriter, WriteOptions};
use lam_models::config::Method;
use tch::{Device, Tensor};

use crate::progress::{Progress, Reporter};
use crate::run::RunDir;
use crate::trainer::Trainer;
use crate::TrainError;

/// What a relabeling wrote.
#[derive(Clone, Debug)]
pub struct Relabeled {
    /// Trajectories written.
    pub trajectories: usize,
    /// The new file.
    pub file: PathBuf,
    /// Mean squared difference between the IDM's and the original actions.
    pub mse: f64,
}

/// Writes `file` with its actions replaced by the predictions of the IDM
/// run in `idm` to `out` (`force`: replace an existing `out`), `batch_size`
/// pairs per forward pass; reports trajectories done.
pub fn relabel(
    file: &Path,
    idm: &Path,
    out: &Path,
    batch_size: usize,
    force: bool,
    device: Device,
    report: Reporter,
) -> Result<Relabeled, TrainError> {
    let (idm_run, _) = Trainer::load(&RunDir::new(idm).checkpoint(), device).map_err(|source| {
        TrainError::NoModel {
            path: idm.to_path_buf(),
            source,
        }
    })?;
    if idm_run.config.method != Method::Idm {
        return Err(TrainError::DoesNotFit {
            path: idm.to_path_buf(),
            what: format!("a {:?} run, not an idm run", idm_run.config.method),
        });
    }
    let r = DatasetReader::open(file)?;
    let (h, w) = r.frame();
    let shape = &idm_run.shape;
    if (h as i64, w as i64) != (shape.image, shape.image)
        || r.action_size() as i64 != shape.action_dim
    {
        return Err(TrainError::DoesNotFit {
            path: file.to_path_buf(),
            what: format!(
                "frames {h}x{w} and {} actions, but the IDM was trained on {}x{} frames and {} actions",
                r.action_size(),
                shape.image,
                shape.image,
                shape.action_dim
            ),
        });
    }
    let batch_size = batch_size.max(1);
    let fb = h * w * 3;
    report(Progress::Begin {
        total: r.len() as u64,
        at: 0,
        unit: "trajectories",
        what: "relabeling",
    });
    let options = WriteOptions {
        overwrite: force,
        ..Default::default()
    };
    let mut writer = DatasetWriter::create(out, r.attrs().clone(), &options)?;
    let mut error = 0.0f64;
    let mut count = 0usize;
    for i in 0..r.len() {
        let mut traj = r.trajectory(i)?;
        let len = traj.obs.len() / fb;
        let stacks: Vec<Vec<u8>> = (0..len).map(|t| stack_at(&traj.obs, fb, t)).collect();
        // Pairs (t, t + 1); the last step reuses the prediction before it.
        let pairs = len.saturating_sub(1);
        let mut predicted: Vec<f32> = Vec::with_capacity(len * shape.action_dim as usize);
        for start in (0..pairs).step_by(batch_size) {
            let end = (start + batch_size).min(pairs);
            let frames = |offset: usize| {
                let bytes: Vec<u8> = (start..end)
                    .flat_map(|t| stacks[t + offset].iter().copied())
                    .collect();
                let t = Tensor::from_slice(&bytes)
                    .view([(end - start) as i64, h as i64, w as i64, 9])
                    .to_device(device);
                lam_models::toolkit::encoder::to_input(&t)
            };
            let (obs, next) = (frames(0), frames(1));
            let a_hat = tch::no_grad(|| idm_run.model.actions(&obs, &next))
                .expect("an IDM predicts actions");
            predicted.extend(Vec::<f32>::try_from(a_hat.to_device(Device::Cpu).view(-1))?);
        }
        let a_dim = shape.action_dim as usize;
        match pairs {
            0 => predicted.extend(traj.actions.iter().take(a_dim)),
            _ => predicted.extend_from_within((pairs - 1) * a_dim..pairs * a_dim),
        }
        for (p, t) in predicted.iter().zip(&traj.actions) {
            error += f64::from(p - t).powi(2);
            count += 1;
        }
        traj.actions = predicted;
        writer.append(&traj)?;
        report(Progress::At(i as u64 + 1));
    }
    report(Progress::End);
    let file = writer.finish()?;
    Ok(Relabeled {
        trajectories: r.len(),
        file,
        mse: error / count.max(1) as f64,
    })
}
