//! `assay simulate`: writes a synthetic shop with ground truth.

use std::path::Path;

use assay_sim::SimConfig;

use crate::cli::SimulateArgs;
use crate::output::{print_json, Table};
use crate::BadInput;

pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let config = config_from(&args)?;
    let summary = write_shop(&config, &args.out, !args.json)?;
    if args.json {
        return print_json(&summary);
    }
    print_summary(&serde_json::to_value(&summary)?)?;
    println!(
        "wrote {} (ground truth in {})",
        args.out.display(),
        args.out.join("truth").display()
    );
    Ok(())
}

/// The simulator configuration the flags describe.
pub fn config_from(args: &SimulateArgs) -> anyhow::Result<SimConfig> {
    let mut config = SimConfig::with_events(args.seed, args.events);
    if args.bad_data {
        // The same shares as the simulator's bad-data preset.
        let preset = SimConfig::small_with_bad_data(args.seed);
        config.bot_fraction = preset.bot_fraction;
        config.duplicate_fraction = preset.duplicate_fraction;
        config.flipped_rating_fraction = preset.flipped_rating_fraction;
    }
    if let Some(users) = args.users {
        config.n_users = users;
    }
    if let Some(items) = args.items {
        config.n_items = items;
    }
    if let Some(bots) = args.bots {
        config.bot_fraction = bots;
    }
    if let Some(dim) = args.images {
        config.images = Some(assay_sim::ImageSpec::new(dim));
    }
    config.validate().map_err(|e| BadInput(e.to_string()))?;
    Ok(config)
}

/// Runs the simulator into `out`, with a spinner on a terminal.
pub fn write_shop(
    config: &SimConfig,
    out: &Path,
    show_progress: bool,
) -> anyhow::Result<assay_sim::SimSummary> {
    with_spinner(config, out, show_progress, || {
        assay_sim::simulate(config, out)
    })
}

/// [`write_shop`] over an earlier simulated shop in `out`, replacing it whole once the new one
/// is complete (any other non-empty `out` is refused).
pub fn rewrite_shop(config: &SimConfig, out: &Path) -> anyhow::Result<assay_sim::SimSummary> {
    with_spinner(config, out, true, || {
        assay_sim::simulate_replacing(config, out)
    })
}

fn with_spinner(
    config: &SimConfig,
    out: &Path,
    show_progress: bool,
    simulate: impl FnOnce() -> Result<assay_sim::SimSummary, assay_sim::SimError>,
) -> anyhow::Result<assay_sim::SimSummary> {
    let spinner = if show_progress {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(format!(
            "simulating about {} events into {}",
            config.n_events_target,
            out.display()
        ));
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Some(bar)
    } else {
        None
    };
    let result = simulate();
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    Ok(result?)
}

/// Prints the scalar fields of a JSON summary, flattening nested objects with dotted keys.
fn print_summary(value: &serde_json::Value) -> anyhow::Result<()> {
    let mut table = Table::new(&["what", "value"]);
    flatten("", value, &mut table);
    table.print()?;
    Ok(())
}

fn flatten(prefix: &str, value: &serde_json::Value, table: &mut Table) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&name, inner, table);
            }
        }
        serde_json::Value::Array(_) | serde_json::Value::Null => {}
        scalar => table.row(vec![
            prefix.to_owned(),
            scalar.to_string().trim_matches('"').to_owned(),
        ]),
    }
}
