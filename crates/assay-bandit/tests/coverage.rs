//! The simulator coverage study: over 100 logs, DR's 95% bootstrap intervals should cover the
//! true policy value between 90% and 98% of the time. Slow; runs only when `ASSAY_SLOW_TESTS` is set
//! (the library's unit tests run a 12-log version). Prints bias and RMSE of every estimator.

use assay_bandit::sim::{coverage_study, CoverageConfig, SyntheticBandit};
use assay_bandit::{EstimatorKind, RewardModelConfig};

#[test]
fn dr_coverage_over_100_seeds() {
    if !assay_fetch::samples::slow_tests_enabled() {
        return;
    }
    let env = SyntheticBandit::new(10, 5, 2026);
    let truth = env.true_value(400_000, 7);
    let config = CoverageConfig {
        estimators: EstimatorKind::REFERENCE_SET[1..].to_vec(),
        n_rounds: 3000,
        n_seeds: 100,
        n_bootstrap: 1000,
        alpha: 0.05,
        reward_model: RewardModelConfig::obp_example(0),
    };
    let rows = coverage_study(&env, truth, &config).unwrap();
    println!("true value {truth:.5}");
    println!(
        "{:<22} {:>9} {:>9} {:>9}",
        "estimator", "bias", "rmse", "coverage"
    );
    for row in &rows {
        println!(
            "{:<22} {:>9.5} {:>9.5} {:>9.2}",
            row.estimator, row.bias, row.rmse, row.coverage
        );
    }
    let dr = rows.iter().find(|r| r.estimator == "dr").unwrap();
    assert!(
        (0.90..=0.98).contains(&dr.coverage),
        "DR coverage {}",
        dr.coverage
    );
}
