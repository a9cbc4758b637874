//! The report's "what the latent encodes" section: for every LAM probed
//! on a held-out file with ground truth, the held-out R² of its latent
//! action onto the action, the state and each distractor (linear and MLP
//! probes, cross-fitted within the file; see [`crate::leakage`]).

use std::collections::BTreeMap;

use crate::leakage::{Factor, FactorScores};

use super::{plots, sections::budget_of, Cache, Doc, ReportError, Stat};

/// Per factor of [`Factor::ALL`]: (linear, MLP) R² of each seed.
type PerFactor = [(Vec<f64>, Vec<f64>); 5];

/// One LAM's scores over seeds: per factor, linear and MLP R².
#[derive(Default)]
struct Encodes {
    method: String,
    /// The latent action's scores.
    latent: PerFactor,
    /// The observation embedding's scores.
    embedding: PerFactor,
    seeds: usize,
}

/// Adds one seed's scores to `into`.
fn add(into: &mut PerFactor, scores: &FactorScores) {
    for (slot, f) in into.iter_mut().zip(Factor::ALL) {
        if let Some(s) = scores.get(f) {
            slot.0.push(s.linear);
            slot.1.extend(s.mlp);
        }
    }
}

/// `linear / MLP` means (± std over seeds where there are several), or
/// `n/a`.
fn cell((linear, mlp): &(Vec<f64>, Vec<f64>)) -> String {
    if linear.is_empty() {
        return "n/a".into();
    }
    let show = |v: &[f64]| {
        let s = Stat::of(v);
        if s.n > 1 {
            format!("{:.2} ± {:.2}", s.mean, s.std)
        } else {
            format!("{:.2}", s.mean)
        }
    };
    if mlp.is_empty() {
        show(linear)
    } else {
        format!("{} / {}", show(linear), show(mlp))
    }
}

/// The section, when some in-task LAM was probed on a file with ground
/// truth: a bar group per LAM (unseen backgrounds where probed there, else
/// the training ones), and tables of the latent's and the embedding's R².
pub(super) fn encodes(cache: &Cache, doc: &mut Doc) -> Result<(), ReportError> {
    let measured = |p: &&super::ProbeRow| {
        p.pretrain == "in-task" && p.leakage.as_ref().is_some_and(|l| l.latent.is_some())
    };
    let split = if cache
        .probes
        .iter()
        .filter(measured)
        .any(|p| p.split == "val")
    {
        "val"
    } else {
        "train"
    };
    let mut lams: BTreeMap<(String, String), Encodes> = BTreeMap::new();
    for p in cache
        .probes
        .iter()
        .filter(measured)
        .filter(|p| p.split == split)
    {
        let Some(l) = &p.leakage else { continue };
        let e = lams.entry((p.setting.clone(), p.name.clone())).or_default();
        e.method.clone_from(&p.method);
        if let Some(latent) = &l.latent {
            add(&mut e.latent, latent);
        }
        add(&mut e.embedding, &l.embedding);
        e.seeds += 1;
    }
    if lams.is_empty() {
        return Ok(());
    }
    let mut order: Vec<(&(String, String), &Encodes)> = lams.iter().collect();
    order.sort_by_key(|((setting, name), e)| {
        (
            setting.clone(),
            plots::method_rank(&e.method),
            budget_of(name),
            name.clone(),
        )
    });
    doc.section("What the latent encodes");
    let backgrounds = if split == "val" { "unseen" } else { "training" };
    doc.text(&format!(
        "Held-out R² of probes from each LAM's latent action z(o_t, o_t+k) onto five factors: the \
         true action a_t, the proprioceptive state s_t, and each distractor the simulator recorded \
         — the camera offsets, the background (the mean colour of a 4 × 4 grid over the \
         background image) and the per-material colour offsets, each at t beside its change from \
         t to t+k. The probes are fitted and scored within the held-out file ({backgrounds} \
         backgrounds), cross-fitted over its even and odd trajectories, every target column \
         standardised; 1 is a perfect read-out, 0 no better than the mean. Filled bars: a linear \
         (ridge) probe; hollow bars: a small MLP (two hidden layers of 256, a fixed budget), since \
         a linear probe understates what a latent holds. A latent action should encode the action \
         and not the distractors: high camera, background or colour bars mean the latent spends \
         its capacity describing how the distractors moved, the failure the paper attributes to \
         LAMs trained without supervision. n/a: the factor does not vary in this setting."
    ));
    let several_settings = order.windows(2).any(|w| w[0].0 .0 != w[1].0 .0);
    let groups: Vec<plots::BarGroup> = order
        .iter()
        .map(|((setting, name), e)| {
            let some = |v: &Vec<f64>| (!v.is_empty()).then(|| v.clone());
            plots::BarGroup {
                name: if several_settings {
                    format!("{name} ({setting})")
                } else {
                    name.clone()
                },
                filled: e.latent.iter().map(|(l, _)| some(l)).collect(),
                hollow: e.latent.iter().map(|(_, m)| some(m)).collect(),
            }
        })
        .collect();
    let names: Vec<&str> = Factor::ALL.iter().map(|f| f.name()).collect();
    plots::grouped_bars(
        &doc.chart("leakage.png"),
        "what the latent action encodes (held-out R²)",
        "R² (mean ± std over seeds)",
        &names,
        ("linear probe", "MLP probe"),
        &groups,
    )?;
    doc.image("leakage.png");
    let mut header = vec!["task/distractors", "LAM", "seeds"];
    header.extend(names.iter().copied());
    let rows = |pick: &dyn Fn(&Encodes) -> &PerFactor| -> Vec<Vec<String>> {
        order
            .iter()
            .map(|((setting, name), e)| {
                let mut row = vec![setting.clone(), name.clone(), e.seeds.to_string()];
                row.extend(pick(e).iter().map(cell));
                row
            })
            .collect()
    };
    doc.text("Latent action z(o_t, o_t+k), R² of the linear / MLP probe:");
    doc.table(&header, &rows(&|e| &e.latent));
    doc.text(
        "For comparison, the observation embedding e(o_t) onto each factor at t (an embedding \
         of the frame is expected to show the state and the distractors of that frame; the \
         latent action need not):",
    );
    doc.table(&header, &rows(&|e| &e.embedding));
    Ok(())
}
