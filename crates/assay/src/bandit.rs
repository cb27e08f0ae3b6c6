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
