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
    let loaded = data::load_to_learn(
        &DatasetArgs {
            dataset: args.data.dataset.clone(),
            unknown_refs: args.data.unknown_refs,
        },
        &args.learn,
    )?;
    let mut config = StudyConfig::new(model, metric, k, args.seed);
    config.impressions = args.learn.impressions();
    config.user_samples = args.user_samples;
    config.item_samples = args.item_samples;
    config.windows = args.windows;
    config.sections = args.sections;
    config.segment_attribute = args.segment_attribute.clone();
    if !typed.iter().any(|t| t == "model") {
        config.fallback = Some(crate::recommend::scalable_model());
    }
    if let Ok((_, Some(note))) = assay_report::chosen_model(&loaded.dataset, &config) {
        eprintln!("note: {note}");
    }
    // Read before the (long) study, so that a bad file fails at once.
    let known_bad = args.known_bad.as_deref().map(read_known_bad).transpose()?;
    let mut report = build(&loaded.dataset, &args.data.dataset, &config)?;
    if let Some(known) = &known_bad {
        report.detection = assay_report::detect(&report, known);
    }
    write(&report, &args.out)?;
    if args.json {
        return print_json(&report);
    }
    print_summary(&report);
    println!("report: {}", args.out.display());
    Ok(())
}

/// The user ids of a known-bad list (exit 2 when the file is bad).
pub fn read_known_bad(path: &Path) -> anyhow::Result<Vec<String>> {
    assay_import::read_user_list(path).map_err(|e| BadInput(format!("--known-bad: {e}")).into())
}

/// The detection lines: how the user values find the known-bad users.
pub fn detection_lines(detection: &assay_report::Detection) -> Vec<String> {
    let d = detection;
    let mut lines = vec![format!(
        "AUC of low user values against the {} known-bad users among {} valued: {:.3}",
        d.known, d.valued, d.auc
    )];
    lines.push(format!(
        "flagged at a 5% false discovery rate: {} users, {} of them known-bad{}",
        d.flagged,
        d.flagged_known,
        if d.flagged > 0 {
            format!(
                " ({:.0}%)",
                100.0 * d.flagged_known as f64 / d.flagged as f64
            )
        } else {
            String::new()
        }
    ));
    if d.unvalued > 0 {
        lines.push(format!(
            "{} listed users have no value (no training data)",
            d.unvalued
        ));
    }
    lines
}

/// The removal curve as lines: test quality after removing users lowest-valued first, at
/// random and highest-valued first.
pub fn removal_lines(report: &ValueReport) -> Vec<String> {
    let Some(r) = &report.removal else {
        return Vec::new();
    };
    let mut lines = vec![
        if r.audience.is_empty() {
            format!("test {} after removing users:", report.utility)
        } else {
            format!(
                "test {} of {} after removing users:",
                report.utility, r.audience
            )
        },
        format!(
            "{:>8} {:>12} {:>8} {:>13}",
            "removed", "lowest first", "random", "highest first"
        ),
    ];
    for (i, f) in r.fractions.iter().enumerate() {
        lines.push(format!(
            "{:>7.0}% {:>12.4} {:>8.4} {:>13.4}",
            100.0 * f,
            r.low_first[i],
            r.random[i],
            r.high_first[i]
        ));
    }
    lines
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
        StudyError::TooSlow(_) => anyhow::Error::new(e),
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
    if let Some(detection) = &report.detection {
        for line in detection_lines(detection) {
            println!("- {line}");
        }
    }
    for line in removal_lines(report) {
        println!("  {line}");
    }
    println!(
        "({} model fits in {:.1} s)",
        report.provenance.utility_evals, report.provenance.seconds
    );
}
