//! `assay bandit simulate`: run exploring policies online against a synthetic environment with
//! known click probabilities and compare their cumulative regret.

use assay_bandit::sim::SyntheticBandit;
use assay_bandit::PolicyName;
use serde::Serialize;

use crate::cli::BanditSimulateArgs;
use crate::output::{print_json, Table};
use crate::BadInput;

#[derive(Serialize)]
struct RegretCurve {
    policy: String,
    /// Cumulative expected regret after each checkpoint round.
    rounds: Vec<usize>,
    regret: Vec<f64>,
    final_regret: f64,
}

pub fn simulate(args: BanditSimulateArgs) -> anyhow::Result<()> {
    if args.rounds == 0 || args.actions < 2 || args.dim == 0 {
        return Err(
            BadInput("--rounds, --dim: expected at least 1; --actions: at least 2".into()).into(),
        );
    }
    let mut names = Vec::new();
    let mut policies = Vec::new();
    for name in args.policies.split(',').map(str::trim) {
        let policy = PolicyName::parse(name).map_err(|e| BadInput(format!("--policies: {e}")))?;
        names.push(name);
        policies.push(policy);
    }
    assay_bandit::sim::check_online_run(&policies, args.actions, args.dim, args.rounds)?;
    let env = SyntheticBandit::new(args.actions, args.dim, args.seed);
    let checkpoints: Vec<usize> = (1..=20).map(|i| (args.rounds * i / 20).max(1)).collect();
    let curves: Vec<RegretCurve> = env
        .compare_policies(&policies, args.rounds, args.seed)?
        .into_iter()
        .zip(names)
        .map(|(curve, name)| RegretCurve {
            policy: name.to_owned(),
            regret: checkpoints.iter().map(|&t| curve[t - 1]).collect(),
            final_regret: curve[args.rounds - 1],
            rounds: checkpoints.clone(),
        })
        .collect();
    if args.json {
        return print_json(&curves);
    }
    println!(
        "{} rounds, {} actions, {}-dimensional contexts, seed {}: cumulative expected regret",
        args.rounds, args.actions, args.dim, args.seed
    );
    let marks = [4usize, 9, 14, 19];
    let titles: Vec<String> = std::iter::once("policy".to_owned())
        .chain(marks.iter().map(|&m| format!("after {}", checkpoints[m])))
        .collect();
    let header: Vec<&str> = titles.iter().map(String::as_str).collect();
    let mut table = Table::new(&header);
    for c in &curves {
        let mut row = vec![c.policy.clone()];
        row.extend(marks.iter().map(|&m| format!("{:.1}", c.regret[m])));
        table.row(row);
    }
    table.print()?;
    Ok(())
}

#[derive(Serialize)]
struct CoverageOutput {
    truth: f64,
    rounds: usize,
    logs: usize,
    actions: usize,
    dim: usize,
    rows: Vec<CoverageModelRow>,
}

#[derive(Serialize)]
struct CoverageModelRow {
    reward_model: String,
    #[serde(flatten)]
    row: assay_bandit::sim::CoverageRow,
}

/// `assay bandit coverage`: bias, RMSE and interval coverage of estimators per reward model.
pub fn coverage(args: crate::cli::BanditCoverageArgs) -> anyhow::Result<()> {
    use crate::reward::{deepfm_rewards, RewardModelArg};
    use clap::ValueEnum;
    if args.rounds < 20 || args.logs == 0 || args.actions < 2 || args.dim == 0 {
        return Err(BadInput(
            "--rounds: at least 20; --logs, --dim: at least 1; --actions: at least 2".into(),
        )
        .into());
    }
    let estimators = assay_bandit::parse_estimators(&args.estimators)
        .map_err(|e| BadInput(format!("--estimators: {e}")))?;
    let mut models = Vec::new();
    for name in args.reward_models.split(',').map(str::trim) {
        let model = RewardModelArg::from_str(name, true).map_err(|_| {
            BadInput(format!(
                "--reward-models: expected lr, deepfm or ctr-gru, got `{name}`"
            ))
        })?;
        models.push(model);
    }
    let env = SyntheticBandit::new(args.actions, args.dim, args.seed);
    let truth = env.true_value(100_000, args.seed.wrapping_add(1));
    let config = assay_bandit::sim::CoverageConfig {
        estimators,
        n_rounds: args.rounds,
        n_seeds: args.logs,
        n_bootstrap: 200,
        alpha: 0.05,
        reward_model: assay_bandit::RewardModelConfig::obp_example(0),
    };
    let mut rows = Vec::new();
    for model in models {
        let found = match model {
            RewardModelArg::Lr => assay_bandit::sim::coverage_study(&env, truth, &config)?,
            RewardModelArg::Deepfm => {
                let fit = |logs: &assay_bandit::LoggedFeedback, seed: u64| {
                    deepfm_rewards(logs, seed)
                        .map(|m| Box::new(m) as Box<dyn assay_bandit::RewardModel>)
                        .map_err(|e| assay_bandit::BanditError::Invalid(format!("deepfm: {e:#}")))
                };
                assay_bandit::sim::coverage_study_with(&env, truth, &config, &fit)?
            }
            RewardModelArg::CtrGru => {
                let titles: Vec<String> = (0..args.actions).map(|a| format!("item{a}")).collect();
                let fit = |logs: &assay_bandit::LoggedFeedback, seed: u64| {
                    crate::reward::ctr_gru_rewards(logs, &titles, seed)
                        .map(|m| Box::new(m) as Box<dyn assay_bandit::RewardModel>)
                        .map_err(|e| assay_bandit::BanditError::Invalid(format!("ctr-gru: {e:#}")))
                };
                assay_bandit::sim::coverage_study_with(&env, truth, &config, &fit)?
            }
        };
        let name = model
            .to_possible_value()
            .map_or("?".into(), |v| v.get_name().to_owned());
        rows.extend(found.into_iter().map(|row| CoverageModelRow {
            reward_model: name.clone(),
            row,
        }));
    }
    let output = CoverageOutput {
        truth,
        rounds: args.rounds,
        logs: args.logs,
        actions: args.actions,
        dim: args.dim,
        rows,
    };
    if args.json {
        return print_json(&output);
    }
    println!(
        "synthetic bandit: {} actions, context dim {}, true value {:.5}; {} logs of {} rounds",
        output.actions, output.dim, output.truth, output.logs, output.rounds
    );
    let mut table = Table::new(&["reward model", "estimator", "bias", "RMSE", "coverage"]);
    for r in &output.rows {
        table.row(vec![
            r.reward_model.clone(),
            r.row.estimator.clone(),
            format!("{:.5}", r.row.bias),
            format!("{:.5}", r.row.rmse),
            format!("{:.2}", r.row.coverage),
        ]);
    }
    table.print()?;
    Ok(())
}
