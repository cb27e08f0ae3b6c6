//! Times the report on the quickstart's shop and writes the page.
//!
//! `cargo run --release -p assay-report --example shop_report [OUT.html] [EVENTS] [MODEL] [USER_SAMPLES] [ITEM_SAMPLES] [SEED] [SECTIONS]`
//!
//! The shop is the one `assay quickstart` simulates: `SimConfig::with_events(SEED, EVENTS)`
//! (default seed 42, 100,000 events) with 5% bots, 2% duplicates and 5% flipped ratings, as
//! `assay simulate --bad-data`. USER_SAMPLES `auto` (the default) values users as the report
//! does by default; a number asks for MSR Banzhaf with that many samples per half. Prints the
//! time of each part, the number of model fits, and how the user values find the bots (AUC,
//! users flagged at a 5% false discovery rate, the removal curve at 5%); writes the report's
//! data to OUT.html.json. SECTIONS (default `all`) picks the report's parts as
//! `assay report --sections` does: `users` alone gives the detection numbers and the removal
//! curve on a large shop in a fraction of the full report's fits.

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
    let user_samples: Option<u64> = match args.get(3).map(String::as_str) {
        None | Some("auto") => None,
        Some(n) => Some(n.parse()?),
    };
    let item_samples: u64 = args.get(4).map_or(Ok(100), |a| a.parse())?;
    let seed: u64 = args.get(5).map_or(Ok(42), |a| a.parse())?;
    let sections = assay_report::Sections::parse(args.get(6).map_or("all", String::as_str))?;

    let dir = tempfile::tempdir()?;
    let shop = dir.path().join("shop");
    let mut sim = assay_sim::SimConfig::with_events(seed, events);
    let preset = assay_sim::SimConfig::small_with_bad_data(seed);
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
    config.user_samples = user_samples;
    config.item_samples = item_samples;
    config.sections = sections;
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
    let mut report = study(&data, "quickstart shop", &config, &progress)?;
    let bots = assay_import::read_user_list(&shop.join("truth/bots.csv"))?;
    report.detection = assay_report::detect(&report, &bots);
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
    if let Some(d) = &report.detection {
        println!(
            "bots: {} of {} users valued; AUC {:.3}; {} flagged at a 5% FDR, {} of them bots",
            d.known, d.valued, d.auc, d.flagged, d.flagged_known
        );
    }
    if let Some(r) = &report.removal {
        for (k, f) in r.fractions.iter().enumerate() {
            println!(
                "removal {:>4.0}%: lowest first {:.4}, random {:.4}, highest first {:.4}",
                f * 100.0,
                r.low_first[k],
                r.random[k],
                r.high_first[k]
            );
        }
    }
    Ok(())
}
