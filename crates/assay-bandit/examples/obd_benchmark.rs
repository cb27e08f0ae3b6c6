//! The OBD benchmark (OBP's `examples/obd`): Bernoulli TS evaluated from the random policy's logs
//! of campaign `all`, against the on-policy CTR of the BTS logs.
//!
//! `cargo run --release -p assay-bandit --example obd_benchmark -- [OBD_DIR] [N_RUNS]`; OBD_DIR
//! defaults to the `obd` sample pack.

use std::path::PathBuf;

use assay_bandit::policy::BetaPrior;
use assay_bandit::{
    bts_action_dist, obd_benchmark, EstimatorKind, LoggedFeedback, ObdBenchmarkConfig,
    RewardModelConfig,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = match args.next() {
        Some(dir) => PathBuf::from(dir),
        None => assay_fetch::samples::sample_data(assay_fetch::Pack::Obd)
            .ok_or("the OBD sample is not here: run `assay data fetch obd` or pass OBD_DIR")?,
    };
    let n_runs: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(20);
    let load = |policy: &str| -> Result<LoggedFeedback, Box<dyn std::error::Error>> {
        let loaded = assay_import::load(
            &dir.join(policy).join("all"),
            &assay_import::LoadOptions::default(),
        )?;
        Ok(LoggedFeedback::from_dataset(&loaded.dataset)?)
    };
    let random = load("random")?;
    let bts = load("bts")?;
    let prior = BetaPrior::from_yaml_file(&dir.join("prior_bts.yaml"), "all")?;
    let pi = bts_action_dist(&prior, 3, 100_000, 12345)?;
    let config = ObdBenchmarkConfig {
        estimators: EstimatorKind::REFERENCE_SET.to_vec(),
        reward_model: RewardModelConfig::obp_example(12345),
        n_runs,
        n_bootstrap: 1000,
        seed: 12345,
    };
    let result = obd_benchmark(&random, &bts, &pi, &config)?;
    println!(
        "on-policy BTS CTR {:.6}, random CTR {:.6}",
        result.ground_truth, result.logging_policy_value
    );
    println!(
        "{:<22} {:>10} {:>10}   relative error over {n_runs} resamples: mean [95% CI]",
        "estimator", "estimate", "rel.err"
    );
    for (e, r) in result.estimates.iter().zip(&result.relative_errors) {
        println!(
            "{:<22} {:>10.6} {:>10.4}   {:.4} [{:.4}, {:.4}]",
            e.estimator,
            e.value,
            e.relative_error.unwrap_or(f64::NAN),
            r.mean,
            r.ci_low,
            r.ci_high
        );
    }
    Ok(())
}
