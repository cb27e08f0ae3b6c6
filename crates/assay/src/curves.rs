//! `--curves DIR` of `assay eval`, `assay train` and `assay ctr`: each iterative fit's
//! `curves.csv` (the training stack's format: a row per optimiser step, a row per validation)
//! in its own folder, and `training.html`, one page that draws them all, read back from the
//! files it links.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Context;
use assay_recommend::TrainingLog;
use assay_report::TrainingRun;

use crate::BadInput;

/// The page's file name in DIR.
pub const PAGE: &str = "training.html";

/// Checks `--curves DIR` before any work: a folder, or a path where one can be made. Only the
/// files this run writes are replaced; nothing else in DIR is touched.
pub fn prepare(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(BadInput(format!(
            "--curves: {} exists and is not a directory; name a folder (new or existing) for the curves",
            dir.display()
        ))
        .into());
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        BadInput(format!(
            "--curves: cannot create the folder {}: {e}",
            dir.display()
        ))
    })?;
    Ok(())
}

/// A folder name for a fit: the model spec with every character outside letters, digits and
/// `.-_=` replaced by `_` (a spec can hold `:`, `;`, `*`, `(`), then `-seed<N>` when `seed` is
/// given; `-2`, `-3`, ... when an earlier fit took the name.
pub fn folder_name(spec: &str, seed: Option<u64>, taken: &mut HashSet<String>) -> String {
    let mut name: String = spec
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-=".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.chars().all(|c| c == '.') {
        name = "_".repeat(name.len().max(1));
    }
    if let Some(seed) = seed {
        name.push_str(&format!("-seed{seed}"));
    }
    let mut unique = name.clone();
    let mut n = 1;
    while !taken.insert(unique.clone()) {
        n += 1;
        unique = format!("{name}-{n}");
    }
    unique
}

/// Writes `log` as `dir/folder/curves.csv`: each epoch's steps, then its validation under
/// the column `metric` (NaN when the epoch was not validated; no column without `metric`).
pub fn write_log(
    dir: &Path,
    folder: &str,
    log: &TrainingLog,
    metric: Option<&str>,
) -> anyhow::Result<PathBuf> {
    let sub = dir.join(folder);
    std::fs::create_dir_all(&sub).with_context(|| format!("creating {}", sub.display()))?;
    let path = sub.join("curves.csv");
    let metrics: Vec<&str> = metric.into_iter().collect();
    let mut curves = assay_train::Curves::create(&path, &metrics)?;
    for epoch in &log.epochs {
        for s in log.steps.iter().filter(|s| s.epoch == epoch.epoch) {
            curves.step(s.epoch, s.step, s.lr, s.loss)?;
        }
        let values: Vec<f64> = metrics
            .iter()
            .map(|_| epoch.valid.unwrap_or(f64::NAN))
            .collect();
        curves.epoch(epoch.epoch, log.steps_through(epoch.epoch), &values)?;
    }
    curves.flush()?;
    Ok(path)
}

/// One fit for the page: its curves file (relative to DIR), heading and how it ended.
pub struct Fit {
    pub name: String,
    pub folder: String,
    pub best_epoch: Option<usize>,
    pub stop: Option<assay_recommend::StopReason>,
    /// The metric early stopping watched, by column name; the first one when `None`.
    pub watched: Option<String>,
}

/// Reads every fit's `curves.csv` back and writes `dir/training.html`; returns its path.
pub fn write_page(
    dir: &Path,
    title: &str,
    facts: &[(String, String)],
    fits: &[Fit],
) -> anyhow::Result<PathBuf> {
    let mut runs = Vec::with_capacity(fits.len());
    for fit in fits {
        let path = dir.join(&fit.folder).join("curves.csv");
        let curves = assay_import::read_training_curves(&path)
            .with_context(|| format!("reading back {}", path.display()))?;
        let watched = fit
            .watched
            .as_ref()
            .and_then(|w| curves.metrics.iter().position(|m| m == w))
            .unwrap_or(0);
        runs.push(TrainingRun {
            name: fit.name.clone(),
            curves,
            watched,
            best_epoch: fit.best_epoch,
            stop: fit.stop,
            source: Some(format!("{}/curves.csv", fit.folder)),
        });
    }
    let page = assay_report::render_training_runs(title, facts, &runs);
    let path = dir.join(PAGE);
    assay_fetch::write_atomically(&path, |w| w.write_all(page.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_plain_and_unique() {
        let mut taken = HashSet::new();
        assert_eq!(folder_name("gru4rec", None, &mut taken), "gru4rec");
        assert_eq!(
            folder_name("hybrid:ease*0.7+als(reg=1)", Some(3), &mut taken),
            "hybrid_ease_0.7_als_reg=1_-seed3"
        );
        assert_eq!(folder_name("gru4rec", None, &mut taken), "gru4rec-2");
        assert_eq!(folder_name("../x", None, &mut taken), ".._x");
        assert_eq!(folder_name("..", None, &mut taken), "__");
    }
}
