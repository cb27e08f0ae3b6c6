//! `assay ope`: what would a new policy earn, estimated from another policy's logs.

use anyhow::Context;
use assay_bandit::{
    EvaluationPolicy, LoggedFeedback, OpeConfig, PolicyName, PolicySettings, RewardModelConfig,
};
use assay_import::BetaPrior;
use serde::Serialize;

use crate::cli::{DatasetArgs, OpeArgs};
use crate::data;
use crate::output::{confidence_level, interval, print_json, Table};
use crate::reward::RewardModelArg;
use crate::BadInput;

/// What `assay ope` reports.
#[derive(Serialize)]
pub struct OpeOutput {
    pub dataset: String,
    pub policy: String,
    pub rounds: usize,
    pub actions: usize,
    pub positions: usize,
    pub logging_policy_value: f64,
    pub ground_truth: Option<f64>,
    pub ground_truth_from: Option<String>,
    pub estimates: Vec<assay_bandit::Estimate>,
}

/// Significance level of the estimates' intervals.
const INTERVAL_ALPHA: f64 = 0.05;

pub fn run(args: OpeArgs) -> anyhow::Result<()> {
    let json = args.json;
    let output = estimate(&args)?;
    if json {
        return print_json(&output);
    }
    print_output(&output)
}

/// IPW, SNIPW and DR of Bernoulli TS on `logs`, with the truth from `truth`; for quickstart.
pub fn quick_ope(logs: &str, truth: &str) -> anyhow::Result<OpeOutput> {
    let args = OpeArgs {
        data: DatasetArgs {
            dataset: logs.to_owned(),
            unknown_refs: None,
        },
        policy: "bts".to_owned(),
        estimators: "ipw,snipw,dm,dr".to_owned(),
        prior: None,
        campaign: None,
        n_sim: 100_000,
        bootstrap: 0,
        truth: Some(truth.to_owned()),
        seed: 12345,
        reward_model: crate::reward::RewardModelArg::Lr,
        json: false,
    };
    estimate(&args)
}

fn estimate(args: &OpeArgs) -> anyhow::Result<OpeOutput> {
    let estimators = assay_bandit::parse_estimators(&args.estimators)
        .map_err(|e| BadInput(format!("--estimators: {e}")))?;
    let policy =
        EvaluationPolicy::parse(&args.policy).map_err(|e| BadInput(format!("--policy: {e}")))?;
    let loaded = data::load(&args.data)?;
    let logs = LoggedFeedback::from_dataset(&loaded.dataset).context("building logged feedback")?;
    let settings = PolicySettings {
        prior: match policy {
            EvaluationPolicy::Named(PolicyName::Bts) => Some(read_prior(args)?),
            _ => None,
        },
        n_sim: args.n_sim,
        seed: args.seed,
    };
    let truth = ground_truth(args)?;
    let config = OpeConfig {
        alpha: INTERVAL_ALPHA,
        n_bootstrap: args.bootstrap,
        seed: args.seed,
        ground_truth: truth.as_ref().map(|(_, value)| *value),
        reward_model: RewardModelConfig::obp_example(args.seed),
    };
    let estimates = match args.reward_model {
        RewardModelArg::Lr => {
            assay_bandit::evaluate_policy(&logs, &policy, &settings, &estimators, &config)?
        }
        RewardModelArg::Deepfm | RewardModelArg::CtrGru => {
            let pi = policy.action_dist(&logs, &settings)?;
            let model = if !estimators.iter().any(|e| e.needs_reward_model()) {
                None
            } else if args.reward_model == RewardModelArg::Deepfm {
                Some(crate::reward::deepfm_rewards(&logs, args.seed)?)
            } else {
                let titles = &loaded.dataset.items.title;
                if titles.iter().all(|t| t.trim().is_empty()) {
                    return Err(BadInput(format!(
                        "{}: --reward-model ctr-gru reads the items' titles, and these items \
                         have none; use --reward-model lr or deepfm",
                        loaded.dataset.name
                    ))
                    .into());
                }
                Some(crate::reward::ctr_gru_rewards(&logs, titles, args.seed)?)
            };
            assay_bandit::run_ope_with_model(
                &logs,
                &pi,
                model.as_ref().map(|m| m as &dyn assay_bandit::RewardModel),
                &estimators,
                &config,
            )?
        }
    };
    let output = OpeOutput {
        dataset: loaded.dataset.name.clone(),
        policy: args.policy.clone(),
        rounds: logs.n_rounds(),
        actions: logs.n_actions(),
        positions: logs.len_list(),
        logging_policy_value: logs.mean_reward(),
        ground_truth: config.ground_truth,
        ground_truth_from: truth.map(|(name, _)| name),
        estimates,
    };
    Ok(output)
}

fn print_output(output: &OpeOutput) -> anyhow::Result<()> {
    println!(
        "{}: {} rounds, {} actions, {} positions; logging policy's CTR {:.6}",
        output.dataset,
        output.rounds,
        output.actions,
        output.positions,
        output.logging_policy_value
    );
    if let (Some(value), Some(from)) = (output.ground_truth, &output.ground_truth_from) {
        println!("ground truth: on-policy value {value:.6} in {from}");
    }
    let level = format!("{} CI", confidence_level(INTERVAL_ALPHA));
    let mut table = Table::new(&["estimator", "value", &level, "relative error"]);
    for e in &output.estimates {
        let ci = interval(e.ci_low, e.ci_high, 6).unwrap_or_else(|| "-".to_owned());
        let err = e
            .relative_error
            .map(|r| format!("{:.2}%", r * 100.0))
            .unwrap_or_else(|| "-".into());
        table.row(vec![
            e.estimator.clone(),
            format!("{:.6}", e.value),
            ci,
            err,
        ]);
    }
    table.print()?;
    Ok(())
}

/// The campaign (all, men, women) of an OBD dataset argument: the last path component.
fn campaign_of(dataset: &str) -> String {
    let trimmed = dataset.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_owned()
}

/// The Bernoulli TS prior of `--prior` (default: the OBD pack's) for the dataset's campaign.
fn read_prior(args: &OpeArgs) -> anyhow::Result<BetaPrior> {
    let home = assay_fetch::Home::from_env();
    let prior_path = match &args.prior {
        Some(path) => path.clone(),
        None => assay_fetch::obd_prior(&home).ok_or_else(|| {
            BadInput(
                "--policy bts needs the OBD prior: run `assay data fetch obd` or pass --prior FILE"
                    .into(),
            )
        })?,
    };
    let campaign = args
        .campaign
        .clone()
        .unwrap_or_else(|| campaign_of(&args.data.dataset));
    Ok(BetaPrior::from_yaml_file(&prior_path, &campaign)?)
}

/// The on-policy value of the evaluation policy, when its own logs exist: for `obd/random/C`
/// and policy `bts`, the mean reward of `obd/bts/C` (or of `--truth DATASET`).
fn ground_truth(args: &OpeArgs) -> anyhow::Result<Option<(String, f64)>> {
    let name = match &args.truth {
        Some(name) => name.clone(),
        None => {
            let dataset = args.data.dataset.trim_end_matches('/');
            let sibling = dataset
                .strip_prefix("obd/random/")
                .map(|c| format!("obd/bts/{c}"));
            match sibling {
                Some(name) if args.policy == "bts" => name,
                _ => return Ok(None),
            }
        }
    };
    let loaded = data::load(&DatasetArgs {
        dataset: name.clone(),
        unknown_refs: args.data.unknown_refs,
    })
    .with_context(|| format!("loading the ground-truth logs {name}"))?;
    let logs = LoggedFeedback::from_dataset(&loaded.dataset)?;
    Ok(Some((name, logs.mean_reward())))
}
