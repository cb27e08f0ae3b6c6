//! Bad-data detection on the simulator: value every user of a shop with 5% bots, and check
//! how well low values find the bots; then drop the lowest-valued 5% and re-measure test
//! NDCG@10.
//!
//! `cargo run --release -p assay-value --example bots [SEED] [MSR_SAMPLES] [TMC_PERMUTATIONS] [EVENTS]`
//!
//! The shop is `SimConfig::small` (200 users, 500 items) with 5% bots and EVENTS events
//! (default 100,000). Add the word `total` to value users in total (to others and to
//! themselves) instead of to others.
//!
//! Users are split into two halves by index parity. Each half is valued as players with the
//! other half as the audience ("value to others"), with EASE and NDCG@10 on a per-user
//! 80/10/10 random split; the two halves' values are concatenated.

use std::time::Instant;

use assay_core::split::{by_ratio, Order};
use assay_core::{EventKind, UserIdx};
use assay_metrics::Metric;
use assay_recommend::ModelSpec;
use assay_value::assess::{auc_of_low_values, precision_recall_f1, two_cluster_flags};
use assay_value::recommend::{players, Audience, RecConfig, RecommenderUtility};
use assay_value::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let seed = args.first().copied().unwrap_or(1);
    let msr_samples = args.get(1).copied().unwrap_or(400);
    let tmc_permutations = args.get(2).copied().unwrap_or(8);
    let n_events = args.get(3).copied().unwrap_or(100_000);
    let audience = if std::env::args().any(|a| a == "total") {
        Audience::Total
    } else {
        Audience::Others
    };

    let dir = tempfile::tempdir()?;
    let shop = dir.path().join("shop");
    let mut config = assay_sim::SimConfig::small(seed);
    config.bot_fraction = 0.05;
    config.n_events_target = n_events;
    let summary = assay_sim::simulate(&config, &shop)?;
    let loaded = assay_import::load(
        &shop,
        &assay_import::LoadOptions::new(assay_import::UnknownRefs::Fail),
    )?;
    let data = loaded.dataset;
    let is_bot = read_bots(&shop.join("truth/users.csv"), &data)?;
    let rows = data.events_of(&[EventKind::Click, EventKind::Cart, EventKind::Purchase]);
    let split = by_ratio(&data, &rows, [0.8, 0.1, 0.1], Order::Random { seed });
    println!(
        "shop: {} users ({} bots), {} items, {} events, {} click/cart/purchase rows",
        summary.n_users,
        summary.n_bots,
        summary.n_items,
        summary.n_events,
        rows.len()
    );
    let model = ModelSpec::parse("ease:reg=100")?;
    let rec = |audience| RecConfig {
        model: model.clone(),
        metric: Metric::Ndcg,
        k: 10,
        audience,
    };

    let all_users = players::by_user(&data, &split.train);
    let mut results: Vec<(&str, Vec<(UserIdx, f64)>)> = Vec::new();
    for (name, method) in [
        ("loo", Method::LeaveOneOut),
        ("msr-banzhaf", Method::MsrBanzhaf),
        ("tmc-shapley", Method::TmcShapley { truncation: 0.01 }),
    ] {
        let start = Instant::now();
        let mut user_values = Vec::new();
        let mut evals = 0;
        for half in 0..2u32 {
            let players: Vec<_> = all_users
                .iter()
                .filter(|p| p.users[0] % 2 == half)
                .cloned()
                .collect();
            let owners: Vec<UserIdx> = players.iter().map(|p| p.users[0]).collect();
            let utility =
                RecommenderUtility::new(&data, &split.train, &split.valid, players, rec(audience))?;
            let samples = match method {
                Method::MsrBanzhaf => msr_samples,
                _ => tmc_permutations,
            };
            let value_config = ValueConfig {
                seed,
                convergence: Convergence::fixed(samples),
            };
            let values = value_players(&utility, &method, &value_config, &|_, _| {})?;
            evals += values.utility_evals;
            user_values.extend(owners.into_iter().zip(values.values()));
        }
        let values: Vec<f64> = user_values.iter().map(|u| u.1).collect();
        let bad: Vec<bool> = user_values.iter().map(|u| is_bot[u.0 as usize]).collect();
        let auc = auc_of_low_values(&values, &bad);
        let (p, r, f1) = precision_recall_f1(&two_cluster_flags(&values), &bad);
        println!(
            "{name:12} AUC {auc:.3}  two-cluster P {p:.3} R {r:.3} F1 {f1:.3}  ({evals} fits, {:.1} s)",
            start.elapsed().as_secs_f64()
        );
        results.push((name, user_values));
    }

    // Point removal: drop 5% of the users, refit on the rest, test NDCG@10 on the humans.
    let mut test = RecommenderUtility::new(
        &data,
        &split.train,
        &split.test,
        Vec::new(),
        rec(Audience::Total),
    )?;
    test.restrict_audience(|u| !is_bot[u as usize]);
    let n_drop = (0.05 * all_users.len() as f64).round() as usize;
    let keep_without = |dropped: &[UserIdx]| -> Vec<u32> {
        split
            .train
            .iter()
            .copied()
            .filter(|&r| !dropped.contains(&data.events.user[r as usize]))
            .collect()
    };
    println!(
        "test NDCG@10 (humans), all training users: {:.4}",
        test.score_rows(&split.train)
    );
    let bots: Vec<UserIdx> = (0..data.users.len() as u32)
        .filter(|&u| is_bot[u as usize])
        .collect();
    println!(
        "  without the true bots: {:.4}",
        test.score_rows(&keep_without(&bots))
    );
    for (name, user_values) in &results {
        let mut order = user_values.clone();
        order.sort_by(|a, b| a.1.total_cmp(&b.1));
        let lowest: Vec<UserIdx> = order[..n_drop].iter().map(|u| u.0).collect();
        let highest: Vec<UserIdx> = order[order.len() - n_drop..].iter().map(|u| u.0).collect();
        let curve: Vec<String> = [0.05, 0.1, 0.2]
            .iter()
            .map(|&f| {
                let m = (f * order.len() as f64).round() as usize;
                let low: Vec<UserIdx> = order[..m].iter().map(|u| u.0).collect();
                let high: Vec<UserIdx> = order[order.len() - m..].iter().map(|u| u.0).collect();
                format!(
                    "{:.0}%: low-first {:.4} high-first {:.4}",
                    f * 100.0,
                    test.score_rows(&keep_without(&low)),
                    test.score_rows(&keep_without(&high))
                )
            })
            .collect();
        println!(
            "  {name}: drop lowest 5% ({} bots of {n_drop}) {:.4}; drop highest 5% {:.4}; removal curve {}",
            lowest.iter().filter(|&&u| is_bot[u as usize]).count(),
            test.score_rows(&keep_without(&lowest)),
            test.score_rows(&keep_without(&highest)),
            curve.join(", ")
        );
    }
    // Learning curve: test NDCG@10 against the fraction of training users kept (a seeded
    // random order of users), with a fitted power law.
    let mut order: Vec<UserIdx> = all_users.iter().map(|p| p.users[0]).collect();
    {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed + 7));
    }
    let fractions = [0.1, 0.2, 0.4, 0.6, 0.8, 1.0];
    let curve: Vec<f64> = fractions
        .iter()
        .map(|&f| {
            let kept = ((f * order.len() as f64).round() as usize).min(order.len());
            test.score_rows(&keep_without(&order[kept..]))
        })
        .collect();
    let (a, b) = assay_value::assess::fit_power_law(&fractions, &curve);
    println!(
        "learning curve (fraction of users -> test NDCG@10): {}; power law {a:.4} * x^{b:.3}; \
         +10% data at 100% adds about {:.4}",
        fractions
            .iter()
            .zip(&curve)
            .map(|(f, y)| format!("{f}: {y:.4}"))
            .collect::<Vec<_>>()
            .join(", "),
        a * 1.1f64.powf(b) - a
    );
    // Random removal, averaged over 5 draws.
    let mut random_scores = Vec::new();
    for draw in 0..5u64 {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        let mut users: Vec<UserIdx> = all_users.iter().map(|p| p.users[0]).collect();
        users.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(
            seed * 100 + draw,
        ));
        random_scores.push(test.score_rows(&keep_without(&users[..n_drop])));
    }
    println!(
        "  drop a random 5%: mean {:.4} over 5 draws",
        random_scores.iter().sum::<f64>() / 5.0
    );
    Ok(())
}

fn read_bots(
    path: &std::path::Path,
    data: &assay_core::Dataset,
) -> Result<Vec<bool>, Box<dyn std::error::Error>> {
    let mut reader = csv::Reader::from_path(path)?;
    let header = reader.headers()?.clone();
    let id = header
        .iter()
        .position(|h| h == "user_id")
        .ok_or("no user_id")?;
    let bot = header
        .iter()
        .position(|h| h == "is_bot")
        .ok_or("no is_bot")?;
    let mut is_bot = vec![false; data.users.len()];
    for record in reader.records() {
        let record = record?;
        if let Some(u) = data.users.ids.get(&record[id]) {
            is_bot[u as usize] = matches!(&record[bot], "1" | "true");
        }
    }
    Ok(is_bot)
}
