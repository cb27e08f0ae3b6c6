//! Speed of the estimators on 1M logged rounds, 80 actions, 3 positions (run in release, and
//! with `RAYON_NUM_THREADS=2` to match a 2-core machine):
//!
//! `cargo run --release -p assay-bandit --example speed`

use std::time::Instant;

use assay_bandit::{
    bootstrap_interval, round_rewards, ActionDist, CrossFittedRewards, EstimatorKind,
    FeedbackParts, LoggedFeedback, RewardModelConfig, RoundTerms,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (n, n_actions, len_list, dim) = (1_000_000, 80, 3, 20);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let context: Vec<f64> = (0..n * dim)
        .map(|_| f64::from(u8::from(rng.random::<f64>() < 0.2)))
        .collect();
    let action: Vec<u32> = (0..n)
        .map(|_| rng.random_range(0..n_actions as u32))
        .collect();
    let position: Vec<u16> = (0..n)
        .map(|_| rng.random_range(0..len_list as u16))
        .collect();
    let reward: Vec<f64> = (0..n)
        .map(|_| f64::from(u8::from(rng.random::<f64>() < 0.05)))
        .collect();
    let action_context: Vec<f64> = (0..n_actions * 2).map(|_| rng.random()).collect();
    let logs = LoggedFeedback::new(FeedbackParts {
        n_actions,
        len_list,
        context_dim: dim,
        context,
        action,
        position,
        reward,
        pscore: vec![1.0 / n_actions as f64; n],
        action_context_dim: 2,
        action_context,
    })?;
    // A context-free policy: random weights normalised per position.
    let probs: Vec<Vec<f64>> = (0..len_list)
        .map(|_| {
            let w: Vec<f64> = (0..n_actions).map(|_| rng.random::<f64>()).collect();
            let s: f64 = w.iter().sum();
            w.into_iter().map(|x| x / s).collect()
        })
        .collect();
    let pi = ActionDist::context_free(&probs)?;
    println!("threads: {}", rayon::current_num_threads());

    let start = Instant::now();
    let config = RewardModelConfig {
        c: 100.0,
        n_folds: 3,
        seed: 0,
        max_iter: 100,
    };
    let model = CrossFittedRewards::fit(&logs, &config)?;
    println!(
        "reward model (logistic, 3-fold cross-fitting, 9 fits): {:.2} s",
        start.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let terms = RoundTerms::compute(&logs, &pi, Some(&model))?;
    let mut estimates = Vec::new();
    for kind in EstimatorKind::REFERENCE_SET {
        let values = round_rewards(kind, logs.reward(), &terms)?;
        estimates.push((kind.name(), values.iter().sum::<f64>() / n as f64));
    }
    let all = start.elapsed().as_secs_f64();
    println!("all 8 estimators (incl. 80M reward-model predictions): {all:.3} s");
    for (name, value) in &estimates {
        println!("  {name:<20} {value:.6}");
    }

    let start = Instant::now();
    let values = round_rewards(EstimatorKind::Dr, logs.reward(), &terms)?;
    let ci = bootstrap_interval(&values, 0.05, 100, 0)?;
    println!(
        "DR bootstrap interval, 100 resamples of 1M: {:.3} s ({:.6}, {:.6})",
        start.elapsed().as_secs_f64(),
        ci.low,
        ci.high
    );
    Ok(())
}
