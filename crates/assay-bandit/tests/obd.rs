//! Off-policy evaluation on the Open Bandit Dataset sample against Open Bandit Pipeline 0.4.1.
//!
//! Needs the `obd` sample pack (`assay_fetch::samples`); each test says `SKIPPED:` on the
//! terminal and passes when it is not here.
//! The fixture `fixtures/obd_all_reference.json` and the action distribution
//! `fixtures/obd_all_bts_action_dist.csv` were produced by OBP (see `fixtures/README.md`).

use std::path::{Path, PathBuf};

use assay_bandit::{
    bts_action_dist, policy::BetaPrior, run_ope, ActionDist, EstimatorKind, LoggedFeedback,
    OpeConfig, RewardModel, RewardModelConfig,
};
use assay_fetch::samples::sample_data_or_skip;
use assay_fetch::Pack;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn logs(dir: &Path, policy: &str) -> LoggedFeedback {
    let loaded = assay_import::load(
        &dir.join(policy).join("all"),
        &assay_import::LoadOptions::default(),
    )
    .expect("OBD loads");
    LoggedFeedback::from_dataset(&loaded.dataset).expect("OBD logs are valid")
}

fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("obd_all_reference.json")).expect("fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn config(n_folds: usize) -> OpeConfig {
    OpeConfig {
        alpha: 0.05,
        n_bootstrap: 0,
        seed: 0,
        ground_truth: None,
        reward_model: RewardModelConfig {
            c: 100.0,
            n_folds,
            seed: 12345,
            max_iter: 100,
        },
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn same_action_distribution_gives_obp_numbers() {
    let Some(dir) = sample_data_or_skip(Pack::Obd) else {
        return;
    };
    let random = logs(&dir, "random");
    let bts = logs(&dir, "bts");
    let reference = reference();
    assert_eq!(random.n_rounds(), 10_000);
    assert_eq!((random.n_actions(), random.len_list()), (80, 3));
    assert_eq!(
        random.context_dim(),
        reference["context_dim"].as_u64().unwrap() as usize
    );
    assert!(
        rel(
            bts.mean_reward(),
            reference["on_policy_bts_ctr"].as_f64().unwrap()
        ) < 1e-12
    );
    assert!(
        rel(
            random.mean_reward(),
            reference["on_policy_random_ctr"].as_f64().unwrap()
        ) < 1e-12
    );

    let pi = ActionDist::from_csv(&fixture("obd_all_bts_action_dist.csv"), 10_000, 80, 3).unwrap();
    let estimators = [
        EstimatorKind::Ipw,
        EstimatorKind::Snipw,
        EstimatorKind::Replay,
    ];
    let estimates = run_ope(&random, &pi, &estimators, &config(1)).unwrap();
    let obp = &reference["estimates_1_fold"];
    for (estimate, name) in estimates.iter().zip(["ipw", "snipw", "rm"]) {
        let expected = obp[name].as_f64().unwrap();
        let ok = if expected == 0.0 {
            estimate.value == 0.0
        } else {
            rel(estimate.value, expected) < 1e-9
        };
        assert!(ok, "{name}: assay {} vs OBP {expected}", estimate.value);
    }
}

/// Without cross-fitting the logistic fit is deterministic, so DM and the DR family can be
/// compared with OBP's. scikit-learn's default `tol=1e-4` stops lbfgs early on this data (round 0:
/// 0.003378 at tol 1e-4, 0.0031558 at tol 1e-8), so the comparison uses OBP run with a converged
/// base model (`tol=1e-10`); assay's Newton solver reaches the optimum itself.
#[test]
fn reward_model_matches_scikit_learn() {
    let Some(dir) = sample_data_or_skip(Pack::Obd) else {
        return;
    };
    let random = logs(&dir, "random");
    let reference = reference();
    let model = assay_bandit::CrossFittedRewards::fit(&random, &config(1).reward_model).unwrap();
    for pair in reference["q_hat_factual_first_20_converged"]
        .as_array()
        .unwrap()
    {
        let round = pair[0].as_u64().unwrap() as usize;
        let expected = pair[1].as_f64().unwrap();
        let q = model.predict(
            round,
            random.action()[round] as usize,
            random.position()[round] as usize,
        );
        assert!(
            rel(q, expected) < 2e-3,
            "round {round}: assay {q} vs scikit-learn {expected}"
        );
    }
    let pi = ActionDist::from_csv(&fixture("obd_all_bts_action_dist.csv"), 10_000, 80, 3).unwrap();
    let estimates = run_ope(&random, &pi, &EstimatorKind::REFERENCE_SET, &config(1)).unwrap();
    let obp = &reference["estimates_1_fold_converged"];
    for (estimate, kind) in estimates.iter().zip(EstimatorKind::REFERENCE_SET) {
        let name = kind.name();
        let key = name.split('(').next().unwrap();
        let expected = obp[key].as_f64().unwrap();
        let err = if expected == 0.0 {
            estimate.value.abs()
        } else {
            rel(estimate.value, expected)
        };
        assert!(
            err < 1e-4,
            "{name}: assay {} vs OBP {expected}",
            estimate.value
        );
    }
}

#[test]
fn own_bts_distribution_is_within_two_percent() {
    let Some(dir) = sample_data_or_skip(Pack::Obd) else {
        return;
    };
    let random = logs(&dir, "random");
    let prior = BetaPrior::from_yaml_file(&dir.join("prior_bts.yaml"), "all").unwrap();
    assert_eq!(prior.alpha.len(), 80);
    let pi = bts_action_dist(&prior, 3, 100_000, 12345).unwrap();
    let estimates = run_ope(
        &random,
        &pi,
        &[EstimatorKind::Ipw, EstimatorKind::Snipw],
        &config(1),
    )
    .unwrap();
    // OBP 0.4.1's IPW and SNIPW on the same logs with its own BTS distribution.
    for (estimate, expected) in estimates.iter().zip([0.004553, 0.004776]) {
        assert!(
            rel(estimate.value, expected) < 0.02,
            "{}: assay {} vs OBP {expected}",
            estimate.estimator,
            estimate.value
        );
    }
}
