//! `assay report`: the data-value report, one self-contained HTML page.

use std::path::Path;

use anyhow::Context;
use assay_core::Dataset;
use assay_recommend::ModelSpec;
use assay_report::{StudyConfig, StudyError, StudyProgress, ValueReport};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{DatasetArgs, ReportArgs};
use crate::data;
use crate::output::print_json;
use crate::BadInput;

/// `typed`: the ids of the flags given on the command line (see [`crate::cli::typed`]): the
/// default model gives way to a scalable one when it is over the memory budget, a model the
/// user named does not.
pub fn run(args: ReportArgs, typed: &[String]) -> anyhow::Result<()> {
    let (metric, k) = args.utility;
    let model = ModelSpec::parse(&args.model).map_err(|e| BadInput(format!("--model: {e}")))?;
    if args.windows == 0 {
        return Err(BadInput("--windows: expected at least 1".into()).into());
    }
    if args.out.is_dir() {
        return Err(BadInput(format!(
            "--out {}: is a directory; expected a file name such as report.html",
            args.out.display()
        ))
        .into());
    }
    let loaded = data::load(&DatasetArgs {
        dataset: args.data.dataset.clone(),
        unknown_refs: args.data.unknown_refs,
    })?;
    let mut config = StudyConfig::new(model, metric, k, args.seed);
    config.impressions = args.learn.impressions();
    config.user_samples = args.user_samples;
    config.item_samples = args.item_samples;
    config.windows = args.windows;
    config.segment_attribute = args.segment_attribute.clone();
    if !typed.iter().any(|t| t == "model") {
        config.fallback = Some(crate::recommend::scalable_model());
    }
    if let Ok((_, Some(note))) = assay_report::chosen_model(&loaded.dataset, &config) {
        eprintln!("note: {note}");
    }
    let report = build(&loaded.dataset, &args.data.dataset, &config)?;
    write(&report, &args.out)?;
    if args.json {
        return print_json(&report);
    }
    print_summary(&report);
    println!("report: {}", args.out.display());
    Ok(())
}

/// Runs the study with a progress bar on standard error.
pub fn build(data: &Dataset, name: &str, config: &StudyConfig) -> anyhow::Result<ValueReport> {
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} model fits  {msg}  {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = |p: StudyProgress<'_>| {
        bar.set_length(p.planned.max(p.fits));
        bar.set_position(p.fits);
        bar.set_message(p.stage.to_owned());
    };
    let report = assay_report::study(data, name, config, &progress).map_err(|e| match e {
        StudyError::Empty(_) => anyhow::Error::new(BadInput(e.to_string())),
        other => anyhow::Error::new(other).context("valuing the data"),
    })?;
    bar.finish_and_clear();
    Ok(report)
}

/// Writes the report's HTML atomically.
pub fn write(report: &ValueReport, path: &Path) -> anyhow::Result<()> {
    let html = assay_report::render_html(report);
    assay_fetch::write_atomically(path, |w| w.write_all(html.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
}

/// The summary's sentences and advice, as plain lines.
pub fn print_summary(report: &ValueReport) {
    let summary = assay_report::advice::summarize(report);
    for line in &summary.headlines {
        println!("- {line}");
    }
    for advice in &summary.advice {
        println!(
            "  {:<18} {:<28} {}",
            advice.action.label(),
            advice.name,
            advice.reason
        );
    }
    println!(
        "({} model fits in {:.1} s)",
        report.provenance.utility_evals, report.provenance.seconds
    );
}
