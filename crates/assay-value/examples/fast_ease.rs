//! Speed of the fast EASE utility (`assay_value::fast::FastEase`) against refits, on a
//! simulated shop with eight data sources.
//!
//! `cargo run --release -p assay-value --example fast_ease -- groups [EVENTS] [ITEMS]`
//! times exact group Shapley over the 8 sources (2^8 = 256 subsets), after checking one
//! subset against a refit. `... -- users [EVENTS] [ITEMS] [STEPS]` values half of the users
//! (the other half is the audience) and times STEPS steps of one permutation, incremental
//! (Sherman-Morrison) against refitting every prefix, and checks they agree; a fifth
//! argument picks another model (`itemknn`: incremental co-occurrence counts).
//!
//! The shop is `SimConfig::with_events(7, EVENTS)` with ITEMS items and eight sources
//! (the simulator's three defaults plus five more channels); as in `assay value`, the
//! recommender learns from every event but impressions, split 80/20 at random (seed 2020),
//! EASE with λ = 250, NDCG@10 for validation users who own no player.

use std::time::Instant;

use assay_core::{clean, split, EventKind};
use assay_metrics::Metric;
use assay_recommend::ModelSpec;
use assay_value::fast::FastEase;
use assay_value::recommend::{players, Audience, Player, RecConfig, RecommenderUtility};
use assay_value::{exact_shapley, Utility};

// As the `assay` binary: huge pages for the dense item x item matrices.
#[global_allocator]
static ALLOC: assay_recommend::HugePageAlloc = assay_recommend::HugePageAlloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map_or("groups", String::as_str);
    let num = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (n_events, n_items) = (num(1, 1_000_000), num(2, 1_000) as u32);

    let start = Instant::now();
    let dir = tempfile::tempdir()?;
    let shop = dir.path().join("shop");
    let mut config = assay_sim::SimConfig::with_events(7, n_events);
    config.n_items = n_items;
    config.n_queries = n_items.min(1_000);
    let source = |name: &str, weight, item_noise, click_noise| assay_sim::SourceSpec {
        name: name.to_owned(),
        weight,
        item_noise,
        click_noise,
    };
    config.sources.extend([
        source("email", 0.1, 0.0, 0.0),
        source("social", 0.1, 0.02, 0.1),
        source("search-ads", 0.15, 0.0, 0.02),
        source("affiliate", 0.05, 0.2, 0.1),
        source("marketplace", 0.1, 0.05, 0.0),
    ]);
    let summary = assay_sim::simulate(&config, &shop)?;
    let data = assay_import::load(
        &shop,
        &assay_import::LoadOptions::new(assay_import::UnknownRefs::Fail),
    )?
    .dataset;
    let all: Vec<u32> = (0..data.events.len() as u32).collect();
    let kinds: Vec<EventKind> = EventKind::ALL
        .into_iter()
        .filter(|&k| k != EventKind::Impression)
        .collect();
    let rows = clean::of_kinds(&data, &all, &kinds);
    let parts = split::by_ratio(
        &data,
        &rows,
        [0.8, 0.2, 0.0],
        split::Order::Random { seed: 2020 },
    );
    println!(
        "shop: {} events, {} users, {} items, {} sources; {} training rows, {} validation rows ({:.1} s to simulate and load)",
        summary.n_events,
        summary.n_users,
        summary.n_items,
        config.sources.len(),
        parts.train.len(),
        parts.valid.len(),
        start.elapsed().as_secs_f64()
    );
    let rec = RecConfig {
        model: ModelSpec::parse("ease")?,
        metric: Metric::Ndcg,
        k: 10,
        audience: Audience::Others,
    };
    println!(
        "{} threads; load average {}",
        rayon::current_num_threads(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    match mode {
        "groups" => groups(&data, &parts, rec),
        "users" => {
            let rec = match args.get(4) {
                Some(model) => RecConfig {
                    model: ModelSpec::parse(model)?,
                    ..rec
                },
                None => rec,
            };
            users(&data, &parts, rec, num(3, 100) as usize)
        }
        other => Err(format!("unknown mode '{other}': expected groups or users").into()),
    }
}

fn groups(
    data: &assay_core::Dataset,
    parts: &split::Split,
    rec: RecConfig,
) -> Result<(), Box<dyn std::error::Error>> {
    let sources = players::by_source(data, &parts.train);
    let refit = RecommenderUtility::new(data, &parts.train, &parts.valid, sources, rec)?;
    let fast = FastEase::new(&refit).ok_or("not EASE")?;
    let everyone: Vec<usize> = (0..refit.n_players()).collect();
    let audience = refit.audience().count();
    let timed = |f: &dyn Fn() -> f64| {
        let start = Instant::now();
        let value = f();
        (value, start.elapsed().as_secs_f64())
    };
    let (by_refit, refit_s) = timed(&|| refit.eval(&everyone));
    let (by_fast, fast_s) = timed(&|| fast.eval(&everyone));
    println!(
        "U(all {} sources), {audience} evaluated users: refit {by_refit:.6} in {refit_s:.2} s, fast {by_fast:.6} in {fast_s:.2} s (equal: {})",
        everyone.len(),
        by_refit == by_fast
    );
    let start = Instant::now();
    let values = exact_shapley(&fast)?;
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "exact group Shapley, {} subsets: {elapsed:.1} s ({:.2} s per subset); sum {:.6} = U(all) - U(none)",
        values.utility_evals,
        elapsed / values.utility_evals as f64,
        values.sum()
    );
    for p in &values.players {
        println!("  {:<22} {:+.6}", p.name, p.value);
    }
    Ok(())
}

fn users(
    data: &assay_core::Dataset,
    parts: &split::Split,
    rec: RecConfig,
    steps: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    // Every other user is a player; the rest are the audience.
    let valued: Vec<Player> = players::by_user(data, &parts.train)
        .into_iter()
        .step_by(2)
        .collect();
    let n = valued.len();
    let refit = RecommenderUtility::new(data, &parts.train, &parts.valid, valued, rec)?;
    let fast = assay_value::fast::fast_utility(&refit);
    let mut order: Vec<usize> = (0..n).collect();
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(5));
    let order = &order[..steps.min(n)];
    let start = Instant::now();
    let mut incremental = Vec::new();
    fast.eval_prefixes(order, &|_| false, &mut incremental);
    let fast_s = start.elapsed().as_secs_f64();
    // Refits of a sample of the prefixes (every prefix would take too long at scale).
    let checked: Vec<usize> = (0..order.len())
        .step_by((order.len() / 10).max(1))
        .collect();
    let start = Instant::now();
    let refits: Vec<f64> = checked.iter().map(|&e| refit.eval(&order[..=e])).collect();
    let refit_each = start.elapsed().as_secs_f64() / checked.len() as f64;
    let max_diff = checked
        .iter()
        .zip(&refits)
        .map(|(&e, r)| (incremental[e] - r).abs())
        .fold(0.0, f64::max);
    println!(
        "{}: {n} user players, {} evaluated users: {} permutation steps incremental {fast_s:.2} s ({:.4} s per step); refit {refit_each:.3} s per prefix ({} prefixes refitted); speed-up {:.1}x; max |incremental - refit| {max_diff:.2e}",
        refit.name(),
        refit.audience().count(),
        order.len(),
        fast_s / order.len() as f64,
        checked.len(),
        refit_each / (fast_s / order.len() as f64)
    );
    Ok(())
}
