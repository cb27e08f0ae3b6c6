//! `assay bandit simulate`: run exploring policies online against a synthetic environment with
//! known click probabilities and compare their cumulative regret.

use assay_bandit::policy::{
    BernoulliTs, BetaPrior, EpsilonGreedy, Exploration, LinearPolicy, LogisticPolicy, Policy,
    UniformRandom,
};
use assay_bandit::sim::SyntheticBandit;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
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

fn make_policy(name: &str, actions: usize, dim: usize) -> anyhow::Result<Box<dyn Policy>> {
    Ok(match name {
        "uniform" => Box::new(UniformRandom::new(actions, 1)?),
        "egreedy" | "epsilon-greedy" => Box::new(EpsilonGreedy::new(actions, 1, 0.1)?),
        "bts" => Box::new(BernoulliTs::new(1, BetaPrior::uniform(actions))?),
        "linucb" => Box::new(LinearPolicy::new(actions, 1, dim, 1.0, Exploration::Ucb { alpha: 1.0 })?),
        "lints" => Box::new(LinearPolicy::new(actions, 1, dim, 1.0, Exploration::Thompson)?),
        "logucb" => Box::new(LogisticPolicy::new(actions, 1, dim, 1.0, 50, Exploration::Ucb { alpha: 1.0 })?),
        "logts" => Box::new(LogisticPolicy::new(actions, 1, dim, 1.0, 50, Exploration::Thompson)?),
        other => {
            return Err(BadInput(format!(
                "--policies: unknown policy '{other}': expected uniform, egreedy, bts, linucb, lints, logucb, logts"
            ))
            .into())
        }
    })
}

pub fn simulate(args: BanditSimulateArgs) -> anyhow::Result<()> {
    if args.rounds == 0 || args.actions < 2 || args.dim == 0 {
        return Err(
            BadInput("--rounds, --dim: expected at least 1; --actions: at least 2".into()).into(),
        );
    }
    let env = SyntheticBandit::new(args.actions, args.dim, args.seed);
    let checkpoints: Vec<usize> = (1..=20).map(|i| (args.rounds * i / 20).max(1)).collect();
    let mut curves = Vec::new();
    for name in args.policies.split(',').map(str::trim) {
        let mut policy = make_policy(name, args.actions, args.dim)?;
        // Every policy sees the same stream of contexts and click draws.
        let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
        let curve = env.regret_curve(policy.as_mut(), args.rounds, &mut rng);
        curves.push(RegretCurve {
            policy: name.to_owned(),
            regret: checkpoints.iter().map(|&t| curve[t - 1]).collect(),
            final_regret: curve[args.rounds - 1],
            rounds: checkpoints.clone(),
        });
    }
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
