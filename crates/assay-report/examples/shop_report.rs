//! Times the report on the quickstart's shop and writes the page.
//!
//! `cargo run --release -p assay-report --example shop_report [OUT.html] [EVENTS] [MODEL] [USER_SAMPLES] [ITEM_SAMPLES]`
//!
//! The shop is the one `assay quickstart` simulates: `SimConfig::with_events(42, EVENTS)`
//! (default 100,000 events) with 5% bots, 2% duplicates and 5% flipped ratings. Prints the
//! time of each part and the number of model fits; writes the report's data to OUT.html.json.

use std::time::Instant;

use assay_metrics::Metric;
use assay_recommend::ModelSpec;
use assay_report::{render_html, study, StudyConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args
        .first()
        .cloned()
        .unwrap_or_else(|| "report.html".into());
    let events: u64 = args.get(1).map_or(Ok(100_000), |a| a.parse())?;
    let model = ModelSpec::parse(args.get(2).map_or("ease", String::as_str))?;
    let user_samples: u64 = args.get(3).map_or(Ok(100), |a| a.parse())?;
    let item_samples: u64 = args.get(4).map_or(Ok(100), |a| a.parse())?;

    let dir = tempfile::tempdir()?;
    let shop = dir.path().join("shop");
    let mut sim = assay_sim::SimConfig::with_events(42, events);
    let preset = assay_sim::SimConfig::small_with_bad_data(42);
    sim.bot_fraction = preset.bot_fraction;
    sim.duplicate_fraction = preset.duplicate_fraction;
    sim.flipped_rating_fraction = preset.flipped_rating_fraction;
    let started = Instant::now();
    assay_sim::simulate(&sim, &shop)?;
    let data = assay_import::load(
        &shop,
        &assay_import::LoadOptions::new(assay_import::UnknownRefs::Fail),
    )?
    .dataset;
    println!(
        "shop: {} users, {} items, {} events (simulate + load {:.1} s)",
        data.users.len(),
        data.items.len(),
        data.events.len(),
        started.elapsed().as_secs_f64()
    );
    let mut config = StudyConfig::new(model, Metric::Ndcg, 10, 42);
    config.user_samples = Some(user_samples);
    config.item_samples = item_samples;
    let last = std::sync::Mutex::new((String::new(), Instant::now(), 0u64));
    let progress = |p: assay_report::StudyProgress<'_>| {
        let mut last = last.lock().unwrap();
        if last.0 != p.stage {
            if !last.0.is_empty() {
                println!(
                    "  {:<16} {:>5} fits {:>6.1} s",
                    last.0,
                    p.fits - last.2,
                    last.1.elapsed().as_secs_f64()
                );
            }
            *last = (p.stage.to_owned(), Instant::now(), p.fits);
        }
    };
    let report = study(&data, "quickstart shop", &config, &progress)?;
    let started = Instant::now();
    let html = render_html(&report);
    std::fs::write(&out, &html)?;
    // The numbers behind the page, for recording.
    std::fs::write(
        format!("{out}.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    println!(
        "study: {} fits in {:.1} s; page {} KiB rendered in {:.3} s -> {out}",
        report.provenance.utility_evals,
        report.provenance.seconds,
        html.len() / 1024,
        started.elapsed().as_secs_f64()
    );
    for line in assay_report::advice::summarize(&report).headlines {
        println!("- {line}");
    }
    Ok(())
}
