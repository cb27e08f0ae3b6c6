//! `assay quickstart`: every stage that exists, end to end, on the public sample data and a
//! simulated shop, saying what it did and where the outputs went.

use std::fs;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use assay_core::stats;
use assay_fetch::Pack;
use assay_sim::SimConfig;

use crate::cli::{DatasetArgs, QuickstartArgs};
use crate::data;
use crate::output::{count, interval, percent};

pub fn run(args: QuickstartArgs) -> anyhow::Result<()> {
    let out = &args.out;
    // The shop goes to <out>/shop: a folder there holding the user's own files is refused now,
    // not after the first steps' work.
    assay_sim::check_replaceable(&out.join("shop"))?;
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let started = Instant::now();

    step("1. public sample data");
    data::ensure_packs(&[Pack::Obd, Pack::Ml100k])?;
    let home = assay_fetch::Home::from_env();
    for pack in [Pack::Obd, Pack::Ml100k] {
        if let Some(dir) = home.locate(pack) {
            println!("   {:<8} {}", pack.name(), dir.display());
        }
    }

    step("2. import and describe");
    for name in ["ml-100k", "obd/random/all", "obd/bts/all"] {
        let loaded = data::load(&DatasetArgs {
            dataset: name.to_owned(),
            unknown_refs: None,
        })?;
        let s = stats::summarize(&loaded.dataset);
        println!(
            "   {name:<15} {} users, {} items, {} events, sparsity {:.4}%, CTR {}",
            count(s.users),
            count(s.items),
            count(s.events),
            s.sparsity * 100.0,
            percent(s.ctr)
        );
        write_json(
            &out.join(format!("stats-{}.json", name.replace('/', "-"))),
            &s,
        )?;
    }

    step("3. simulate a shop with 5% bot users (ground truth kept)");
    let shop = out.join("shop");
    let mut config = SimConfig::with_events(42, 100_000);
    let preset = SimConfig::small_with_bad_data(42);
    config.bot_fraction = preset.bot_fraction;
    config.duplicate_fraction = preset.duplicate_fraction;
    config.flipped_rating_fraction = preset.flipped_rating_fraction;
    crate::simulate::rewrite_shop(&config, &shop)?;
    let loaded = data::load(&DatasetArgs {
        dataset: shop.display().to_string(),
        unknown_refs: None,
    })?;
    let s = stats::summarize(&loaded.dataset);
    println!(
        "   {} users, {} items, {} events over {} sources, {} search judgments, CTR {}, conversion {}",
        count(s.users),
        count(s.items),
        count(s.events),
        s.per_source.len(),
        count(s.judgments),
        percent(s.ctr),
        percent(s.conversion)
    );
    write_json(&out.join("stats-shop.json"), &s)?;

    step("4. recommendations on ml-100k (RecBole protocol: per-user random 80/10/10, full ranking, K = 10)");
    let ml = data::load(&DatasetArgs {
        dataset: "ml-100k".to_owned(),
        unknown_refs: None,
    })?;
    let rows = crate::recommend::quick_eval(&ml.dataset, "pop,itemknn,ease", 2020)?;
    for row in &rows {
        println!(
            "   {:<8} test ndcg@10 {:.4}  recall@10 {:.4}  mrr@10 {:.4}  (fit {:.2} s, eval {:.2} s)",
            row.model,
            row.test.mean.ndcg,
            row.test.mean.recall,
            row.test.mean.mrr,
            row.fit_seconds,
            row.eval_seconds
        );
    }
    write_json(&out.join("eval-ml-100k.json"), &rows)?;

    step("5. off-policy evaluation: Bernoulli TS from the random policy's OBD logs");
    let ope = crate::ope::quick_ope("obd/random/all", "obd/bts/all")?;
    println!(
        "   on-policy BTS CTR (ground truth) {:.6}",
        ope.ground_truth.unwrap_or(f64::NAN)
    );
    for e in &ope.estimates {
        println!(
            "   {:<20} {:.6}  relative error {:.1}%",
            e.estimator,
            e.value,
            e.relative_error.unwrap_or(f64::NAN) * 100.0
        );
    }
    write_json(&out.join("ope-obd-all.json"), &ope)?;

    step("6. business metrics of the simulated shop, per source");
    let config = assay_experiment::BusinessConfig {
        segment: Some("segment".to_owned()),
        retention_days: 7,
        alpha: 0.05,
        unit: assay_experiment::Unit::Session,
    };
    let business = assay_experiment::business_metrics(&loaded.dataset, &config)?;
    for row in business.rows.iter().filter(|r| r.group == "overall") {
        let ci = interval(row.ci_low, row.ci_high, 4).unwrap_or_default();
        println!("   {:<24} {:.4} {ci}", row.metric, row.estimate);
    }
    write_json(&out.join("business-shop.json"), &business)?;

    step("7. product search on the simulated shop: BM25, MiniLM vectors and both, on its judged queries");
    data::ensure_packs(&[Pack::Minilm])?;
    let search = crate::eval_search::quick_search(&shop)?;
    println!(
        "   indexed {} items in {:.1} s ({}); saved to {}",
        count(search.summary.items),
        search.summary.seconds,
        search.summary.model,
        search.summary.index.display()
    );
    crate::eval_search::print_quick_eval(&search.eval)?;
    let (query, results) = &search.example;
    println!(
        "   example: assay search {} \"{query}\" --explain",
        shop.display()
    );
    if let Some(intent) = &results.intent {
        println!(
            "   predicted category {} ({:.2})",
            intent.category, intent.probability
        );
    }
    for hit in &results.hits {
        let e = hit.explanation.clone().unwrap_or_default();
        let matched: Vec<&str> = e.matched_terms.iter().map(|t| t.term.as_str()).collect();
        println!(
            "   {}. {} {:<40} score {:.4} = lexical {:.4} + semantic {:.4} + intent {:.4}  (bm25 rank {}, vector rank {}, matched: {})",
            hit.rank,
            hit.id,
            hit.title,
            hit.score,
            e.lexical_contribution,
            e.semantic_contribution,
            e.intent_contribution,
            e.bm25_rank.map_or("-".to_owned(), |r| r.to_string()),
            e.vector_rank.map_or("-".to_owned(), |r| r.to_string()),
            if matched.is_empty() { "-".to_owned() } else { matched.join(" ") }
        );
    }
    write_json(&out.join("search-eval-shop.json"), &search.eval)?;

    let report = report_stage(out, &loaded.dataset, &shop)?;

    step("done");
    println!(
        "   outputs in {} ({:.1} s)",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "   shop files: {}  ground truth: {}",
        shop.display(),
        shop.join("truth").display()
    );
    println!("   open the data-value report: {}", report.display());
    Ok(())
}

/// Values the simulated shop's data and writes the HTML report; returns its path.
fn report_stage(
    out: &Path,
    shop: &assay_core::Dataset,
    shop_dir: &Path,
) -> anyhow::Result<std::path::PathBuf> {
    step("8. data-value report of the simulated shop (what to keep, fix, buy or drop)");
    let config = assay_report::StudyConfig::new(
        assay_recommend::ModelSpec::parse("ease").context("the report's model")?,
        assay_metrics::Metric::Ndcg,
        10,
        42,
    );
    let known_bad = crate::report::read_known_bad(&shop_dir.join("truth").join("bots.csv"))?;
    let mut report = crate::report::build(shop, &shop_dir.display().to_string(), &config)?;
    report.detection = assay_report::detect(&report, &known_bad);
    let path = out.join("report.html");
    crate::report::write(&report, &path)?;
    let summary = assay_report::advice::summarize(&report);
    for line in &summary.headlines {
        println!("   {line}");
    }
    if let Some(users) = report.points.iter().find(|t| t.kind == "user") {
        println!("   user values: {}", users.method);
    }
    println!("   against the planted bots (truth/bots.csv):");
    for line in report
        .detection
        .iter()
        .flat_map(crate::report::detection_lines)
    {
        println!("   {line}");
    }
    for line in crate::report::removal_lines(&report) {
        println!("   {line}");
    }
    println!(
        "   ({} model fits in {:.1} s)",
        report.provenance.utility_evals, report.provenance.seconds
    );
    println!("   wrote {}", path.display());
    Ok(path)
}

fn step(title: &str) {
    println!("\n== {title}");
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    assay_fetch::write_atomically(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value).map_err(std::io::Error::other)?;
        writeln!(w)
    })
    .with_context(|| format!("writing {}", path.display()))?;
    println!("   wrote {}", path.display());
    Ok(())
}
