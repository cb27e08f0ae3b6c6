//! `assay ab` (read an A/B test without fooling yourself) and `assay business` (business
//! metrics of a log with confidence intervals).

use assay_experiment::{AbConfig, AbData, BusinessConfig, Unit};

use crate::cli::{AbArgs, BusinessArgs, UnitArg};
use crate::data;
use crate::output::{confidence_level, interval, print_json, Table};
use crate::BadInput;

pub fn ab(args: AbArgs) -> anyhow::Result<()> {
    if !(args.alpha > 0.0 && args.alpha < 1.0 && args.power > 0.0 && args.power < 1.0) {
        return Err(BadInput(
            "--alpha and --power: expected numbers strictly between 0 and 1".into(),
        )
        .into());
    }
    let data = AbData::from_table(assay_import::read_ab_csv(&args.file)?)?;
    let config = AbConfig {
        alpha: args.alpha,
        power: args.power,
        mde: args.mde,
        n_bootstrap: args.bootstrap,
        seed: args.seed,
        planned_n_per_arm: args.planned_n,
    };
    let report = assay_experiment::analyze(&data, &config);
    if args.json {
        return print_json(&report);
    }
    let mut arms = Table::new(&["arm", "units", "mean", "variance"]);
    for arm in [&report.control, &report.treatment] {
        arms.row(vec![
            arm.name.clone(),
            arm.n.to_string(),
            format!("{:.6}", arm.mean),
            format!("{:.6}", arm.variance),
        ]);
    }
    arms.print()?;
    let t = &report.test;
    let level = confidence_level(args.alpha);
    println!();
    println!(
        "{:?}: difference {:+.6} ({level} CI [{:.6}, {:.6}]), statistic {:.4}{}, p = {:.6}",
        t.test,
        t.difference,
        t.ci_low,
        t.ci_high,
        t.statistic,
        t.df.map(|df| format!(" (df {df:.1})")).unwrap_or_default(),
        t.p_value
    );
    if let Some(lift) = &report.lift {
        println!(
            "relative lift {:+.2}% ({level} CI [{:+.2}%, {:+.2}%], delta method)",
            lift.lift * 100.0,
            lift.ci_low * 100.0,
            lift.ci_high * 100.0
        );
    }
    if let Some(cuped) = &report.cuped {
        println!(
            "CUPED: theta {:.4}, variance reduced by {:.1}%, adjusted difference {:+.6}, p = {:.6}",
            cuped.theta,
            cuped.variance_reduction * 100.0,
            cuped.adjusted.difference,
            cuped.adjusted.p_value
        );
    }
    let power = &report.power;
    if let (Some(mde), Some(n)) = (power.mde, power.required_n_per_arm) {
        println!(
            "to detect {mde:+} with power {}: {n} units per arm",
            args.power
        );
    }
    println!(
        "smallest effect detectable with these arms: {:.6}",
        power.mde_at_n
    );
    for warning in &report.warnings {
        println!("warning: {warning}");
    }
    Ok(())
}

/// Significance level of the intervals of `assay business`.
const INTERVAL_ALPHA: f64 = 0.05;

pub fn business(args: BusinessArgs) -> anyhow::Result<()> {
    let loaded = data::load(&args.data)?;
    let config = BusinessConfig {
        segment: args.segment.clone(),
        retention_days: args.retention_days,
        alpha: INTERVAL_ALPHA,
        unit: match args.unit {
            UnitArg::Session => Unit::Session,
            UnitArg::User => Unit::User,
        },
    };
    let report = assay_experiment::business_metrics(&loaded.dataset, &config)
        .map_err(|e| BadInput(e.to_string()))?;
    if args.json {
        return print_json(&report);
    }
    let level = format!("{} CI", confidence_level(INTERVAL_ALPHA));
    let mut table = Table::new(&[
        "group",
        "metric",
        "estimate",
        &level,
        "numerator",
        "denominator",
    ]);
    for row in &report.rows {
        let group = if row.group == "overall" {
            "overall".to_owned()
        } else {
            format!("{}={}", row.group, row.value)
        };
        let ci = interval(row.ci_low, row.ci_high, 4).unwrap_or_else(|| "-".to_owned());
        table.row(vec![
            group,
            row.metric.clone(),
            format!("{:.4}", row.estimate),
            ci,
            format!("{:.0}", row.numerator),
            format!("{:.0}", row.denominator),
        ]);
    }
    table.print()?;
    for warning in &report.warnings {
        println!("warning: {warning}");
    }
    Ok(())
}
