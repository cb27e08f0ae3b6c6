//! Cross-modal fusion on the simulator: NDCG@10 of the single-modality baselines and of each
//! fusion, and the modalities' exact Shapley values against the order `truth/modalities.csv`
//! gives.
//!
//! `cargo run --profile test -p assay-value --example modalities -- [events] [seed] [models]
//! [fusion parameters] [valued models] [image dim]`
//!
//! Defaults: 100,000 events (`SimConfig::with_events`, 128-dimensional images), seed 1, models
//! `fusion-behaviour,fusion-text,fusion-image,fusion-concat,fusion-gate,fusion-attn,als,pop`.
//! Protocol: the click, cart and purchase rows split 80/20 at random (seeded), every
//! validation user with a held-out item outside their training items scored, training items
//! masked; the values are those of `assay value --players modalities` on the same split.

use std::time::Instant;

use assay_core::clean::{self, Impressions};
use assay_core::split;
use assay_metrics::Metric;
use assay_recommend::ModelSpec;
use assay_value::plan::{run, PlanSource, PlanUtility, PlayerKind, Scorers, ValuationPlan};
use assay_value::recommend::{audience_of, fit_on_rows, score_model, Audience};
use assay_value::{Convergence, Method};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let events: u64 = args.first().map_or(100_000, |a| a.parse().expect("events"));
    let seed: u64 = args.get(1).map_or(1, |a| a.parse().expect("seed"));
    let models = args.get(2).cloned().unwrap_or_else(|| {
        "fusion-behaviour,fusion-text,fusion-image,fusion-concat,fusion-gate,fusion-attn,als,pop"
            .into()
    });
    // Parameters for every fusion model, e.g. `epochs=15;dim=32`.
    let extra = args.get(3).cloned().unwrap_or_default();
    let image_dim: u32 = args.get(5).map_or(128, |a| a.parse().expect("image dim"));
    let with_extra = |name: &str| {
        if name.starts_with("fusion") && !extra.is_empty() {
            format!("{name}:{extra}")
        } else {
            name.to_owned()
        }
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let shop = dir.path().join("shop");
    let sim = assay_sim::SimConfig {
        images: Some(assay_sim::ImageSpec::new(image_dim)),
        ..assay_sim::SimConfig::with_events(seed, events)
    };
    assay_sim::simulate(&sim, &shop).expect("simulate");
    let truth = std::fs::read_to_string(shop.join("truth/modalities.csv")).expect("truth");
    let data = assay_import::load(
        &shop,
        &assay_import::LoadOptions::new(assay_import::UnknownRefs::Fail),
    )
    .expect("load")
    .dataset;
    let rows = clean::learning_rows(&data, Impressions::Skip);
    let parts = split::by_ratio(&data, &rows, [0.8, 0.2, 0.0], split::Order::Random { seed });
    let audience = audience_of(&data, &parts.train, &parts.valid, |_| true);
    println!(
        "shop: {} items, {} users, {} events, {} learning rows ({} train), {} scored users, \
         seed {seed}",
        data.items.len(),
        data.users.len(),
        data.events.len(),
        rows.len(),
        parts.train.len(),
        audience.len()
    );
    println!("truth/modalities.csv:\n{truth}");
    println!("{:<18} {:>8} {:>8}", "model", "ndcg@10", "seconds");
    for name in models.split(',') {
        let spec = ModelSpec::parse(&with_extra(name)).expect("model");
        let spec = spec.with_seed(seed);
        let started = Instant::now();
        let model = fit_on_rows(&data, &spec, &parts.train).expect("fit");
        let scores = score_model(model.as_deref(), &audience, Metric::Ndcg, 10);
        let ndcg = scores.iter().sum::<f64>() / scores.len() as f64;
        println!(
            "{:<18} {:>8.4} {:>8.1}",
            name,
            ndcg,
            started.elapsed().as_secs_f64()
        );
    }
    let valued = args
        .get(4)
        .cloned()
        .unwrap_or("fusion-concat,fusion-gate,fusion-attn".into());
    for model in valued.split(',').filter(|m| !m.is_empty()) {
        let plan = ValuationPlan {
            players: PlayerKind::Modalities,
            windows: 0,
            segment_attribute: String::new(),
            method: Method::ExactShapley,
            model: ModelSpec::parse(&with_extra(model)).expect("model"),
            utility: PlanUtility::Ranking {
                metric: Metric::Ndcg,
                k: 10,
                scorers: Scorers::All,
            },
            audience: Audience::Total,
            seed,
            convergence: Convergence::fixed(1),
            impressions: Impressions::Skip,
        };
        let started = Instant::now();
        let values = run(PlanSource::Dataset(&data), &plan, &|_| {}).expect("values");
        let mut ranked: Vec<(f64, String)> = values
            .players
            .iter()
            .map(|p| (p.value, p.name.clone()))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        let order: Vec<&str> = ranked.iter().map(|(_, n)| n.as_str()).collect();
        let table: Vec<String> = values
            .players
            .iter()
            .map(|p| format!("{} {:.4}", p.name, p.value))
            .collect();
        println!(
            "values ({model}, exact Shapley, {:.0} s): {}; order {} ({})",
            started.elapsed().as_secs_f64(),
            table.join(", "),
            order.join(" > "),
            if order == ["behaviour", "image", "text"] {
                "matches the truth"
            } else {
                "does NOT match the truth"
            }
        );
    }
}
