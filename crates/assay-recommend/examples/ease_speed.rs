//! Speed benchmark: load ml-100k, split (RecBole protocol), fit EASE, full-ranking evaluation of
//! all users on validation and test. Prints wall time per stage.
//!
//! `cargo run --release -p assay-recommend --example ease_speed`

#[path = "../tests/support/ml100k.rs"]
mod ml100k;

use std::time::Instant;

use assay_recommend::eval::{evaluate_model, prepare, Protocol};
use assay_recommend::{EaseParams, Fit};

fn main() {
    let Some(dir) = ml100k::data_dir() else {
        eprintln!("ml-100k not found: run `assay data fetch ml-100k` or set ASSAY_ML100K_DIR");
        std::process::exit(2);
    };
    let start = Instant::now();
    let data = ml100k::load(&dir);
    let loaded = start.elapsed().as_secs_f64();
    let protocol = Protocol::recbole();
    let prepared = prepare(&data, &protocol, 2020).expect("split");
    let split = start.elapsed().as_secs_f64();
    let model = EaseParams::default()
        .fit(&prepared.train, &data, None)
        .expect("fit");
    let fitted = start.elapsed().as_secs_f64();
    let valid = evaluate_model(&model, &prepared.valid, None, &[10]);
    let test = evaluate_model(&model, &prepared.test, Some(&prepared.valid), &[10]);
    let total = start.elapsed().as_secs_f64();
    let t = test.ranking.mean()[0];
    println!(
        "threads {} | load {:.3} s, split {:.3} s, fit {:.3} s, eval {:.3} s, total {:.3} s | \
         valid mrr@10 {:.4} test ndcg@10 {:.4} recall@10 {:.4} mrr@10 {:.4} ({} users)",
        rayon::current_num_threads(),
        loaded,
        split - loaded,
        fitted - split,
        total - fitted,
        total,
        valid.ranking.mean()[0].mrr,
        t.ndcg,
        t.recall,
        t.mrr,
        test.ranking.users()
    );
}
