//! Writes a simulated shop and prints its summary as JSON and the elapsed time.
//!
//! Usage: `cargo run --release -p assay-sim --example simulate -- OUT_DIR [N_EVENTS] [SEED] [--bad-data]`
//!
//! With `--bad-data` the shop gets 5% bots, 2% duplicated rows and 5% flipped ratings.

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bad_data = args.iter().any(|arg| arg == "--bad-data");
    let positional: Vec<&String> = args.iter().filter(|arg| !arg.starts_with("--")).collect();
    let Some(out_dir) = positional.first().map(PathBuf::from) else {
        eprintln!("usage: simulate OUT_DIR [N_EVENTS] [SEED] [--bad-data]");
        std::process::exit(2);
    };
    let parse = |at: usize, default: u64| {
        positional.get(at).map_or(default, |text| {
            text.parse().unwrap_or_else(|_| {
                eprintln!("expected a number, got {text:?}");
                std::process::exit(2);
            })
        })
    };
    let n_events = parse(1, 100_000);
    let seed = parse(2, 42);
    let mut config = assay_sim::SimConfig::with_events(seed, n_events);
    if bad_data {
        let bad = assay_sim::SimConfig::small_with_bad_data(seed);
        config.bot_fraction = bad.bot_fraction;
        config.duplicate_fraction = bad.duplicate_fraction;
        config.flipped_rating_fraction = bad.flipped_rating_fraction;
    }
    let started = Instant::now();
    match assay_sim::simulate(&config, &out_dir) {
        Ok(summary) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&summary).expect("summary serializes")
            );
            eprintln!(
                "simulated {} events in {:.2?}",
                summary.n_events,
                started.elapsed()
            );
        }
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(1);
        }
    }
}
