//! `GET /report`: the data-value report of the service's data, made once per model version in
//! the background (a study refits the model many times) and kept until the next version.

use std::sync::{Arc, Mutex};

use assay_core::Dataset;
use assay_metrics::Metric;
use assay_recommend::ModelSpec;
use assay_report::StudyConfig;

/// Where the report of a version stands.
#[derive(Debug, Clone, PartialEq)]
pub enum ReportState {
    /// Being made.
    Running,
    /// The HTML page.
    Ready(Arc<String>),
    /// The study failed; why.
    Failed(String),
}

/// The report of one model version, made at most once.
#[derive(Debug, Default)]
pub struct ReportCache {
    slot: Arc<Mutex<Option<(i64, ReportState)>>>,
}

impl ReportCache {
    /// The report of `version`: ready, failed, or started now (in a background thread, on the
    /// data that `snapshot` gives) and running.
    pub fn get(
        &self,
        version: i64,
        config: StudyConfig,
        snapshot: impl FnOnce() -> Dataset,
    ) -> ReportState {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((v, state)) = slot.as_ref() {
            if *v == version {
                return state.clone();
            }
            if *state == ReportState::Running {
                // One study at a time: the older version's finishes first, then this one is
                // made on the next request.
                return ReportState::Running;
            }
        }
        *slot = Some((version, ReportState::Running));
        drop(slot);
        let data = snapshot();
        let target = self.slot.clone();
        let spawned = std::thread::Builder::new()
            .name("report".into())
            .spawn(move || {
                let state = match assay_report::study(&data, &data.name, &config, &|_| {}) {
                    Ok(report) => ReportState::Ready(Arc::new(assay_report::render_html(&report))),
                    Err(error) => ReportState::Failed(error.to_string()),
                };
                *target.lock().unwrap_or_else(|p| p.into_inner()) = Some((version, state));
            });
        match spawned {
            Ok(_) => ReportState::Running,
            Err(error) => {
                let state = ReportState::Failed(format!("cannot start the report thread: {error}"));
                *self.slot.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((version, state.clone()));
                state
            }
        }
    }
}

/// The study of the service's report: the service's model, NDCG@10, its seed, and fewer user
/// samples than the command's default so that a report is ready in minutes.
pub fn study_config(model: &ModelSpec, seed: u64) -> StudyConfig {
    let mut config = StudyConfig::new(model.clone(), Metric::Ndcg, 10, seed);
    config.user_samples = Some(200);
    config.item_samples = 50;
    config
}
