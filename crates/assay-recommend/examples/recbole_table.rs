//! Runs RecBole's protocol on ml-100k over seeds and prints one row per model.
//!
//! `cargo run --release -p assay-recommend --example recbole_table -- [MODELS] [SEEDS] [--json]`
//! e.g. `pop,itemknn,ease,bpr 2020,2021,2022,2023,2024`.

#[path = "../tests/support/ml100k.rs"]
mod ml100k;

use std::time::Instant;

use assay_recommend::eval::{evaluate, Progress, Protocol};
use assay_recommend::ModelSpec;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let models = positional
        .first()
        .map_or("pop,itemknn,ease", |s| s.as_str());
    let seeds: Vec<u64> = positional
        .get(1)
        .map_or("2020,2021,2022,2023,2024", |s| s.as_str())
        .split(',')
        .map(|s| s.parse().expect("seed"))
        .collect();
    let Some(dir) = ml100k::data_dir() else {
        eprintln!("ml-100k not found: run `assay data fetch ml-100k` or set ASSAY_ML100K_DIR");
        std::process::exit(2);
    };
    let started = Instant::now();
    let data = ml100k::load(&dir);
    let specs = match ModelSpec::parse_list(models) {
        Ok(specs) => specs,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let progress = |p: Progress<'_>| {
        if let Progress::Finished {
            model,
            run,
            runs,
            valid,
        } = p
        {
            eprintln!("[{run}/{runs}] {model}: valid mrr@10 {valid:.4}");
        }
    };
    let rows = evaluate(&data, &Protocol::recbole(), &specs, &seeds, &progress).expect("evaluate");
    if json {
        println!("{}", serde_json::to_string_pretty(&rows).expect("json"));
        return;
    }
    println!(
        "{:<32} {:>15} {:>15} {:>15} {:>15} {:>15} {:>8} {:>8}",
        "model", "recall@10", "mrr@10", "ndcg@10", "hit@10", "precision@10", "fit s", "eval s"
    );
    for row in &rows {
        let (m, s) = (&row.test.mean, &row.test.std);
        println!(
            "{:<32} {:.4}±{:.4} {:.4}±{:.4} {:.4}±{:.4} {:.4}±{:.4} {:.4}±{:.4} {:>8.3} {:>8.3}",
            row.model,
            m.recall,
            s.recall,
            m.mrr,
            s.mrr,
            m.ndcg,
            s.ndcg,
            m.hit,
            s.hit,
            m.precision,
            s.precision,
            row.fit_seconds,
            row.eval_seconds
        );
    }
    eprintln!("total {:.1} s", started.elapsed().as_secs_f64());
}
