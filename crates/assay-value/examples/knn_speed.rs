//! Speed of exact KNN-Shapley: N training x M test rows, D features, K neighbours.
//!
//! `cargo run --release -p assay-value --example knn_speed [N] [M] [D] [K] [OUT_DIR]`
//!
//! Defaults 100000 1000 20 5. With OUT_DIR, also writes `train.csv` and `test.csv` there and
//! times the CSV path (`knn_shapley_csv`), for a side-by-side run of pyDVL on the same files.

use std::io::Write;
use std::time::Instant;

use assay_value::{knn_shapley, knn_shapley_csv, LabelledTable};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (n, m, d, k) = (num(0, 100_000), num(1, 1_000), num(2, 20), num(3, 5));
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut make = |rows: usize| {
        let mut features = Vec::with_capacity(rows * d);
        let mut labels = Vec::with_capacity(rows);
        for _ in 0..rows {
            let label: u32 = rng.random_range(0..3);
            for j in 0..d {
                let centre = if j % 3 == label as usize { 1.0 } else { 0.0 };
                features.push(centre + rng.random_range(-1.0..1.0));
            }
            labels.push(label);
        }
        LabelledTable {
            feature_names: (0..d).map(|j| format!("x{j}")).collect(),
            features,
            labels,
            classes: vec!["0".into(), "1".into(), "2".into()],
        }
    };
    let train = make(n);
    let test = make(m);
    let start = Instant::now();
    let values = knn_shapley(&train, &test, k)?;
    println!(
        "knn-shapley N={n} M={m} D={d} K={k}: {:.2} s on {} threads (sum of values {:.6})",
        start.elapsed().as_secs_f64(),
        rayon::current_num_threads(),
        values.sum()
    );
    if let Some(dir) = args.get(4) {
        let dir = std::path::Path::new(dir);
        std::fs::create_dir_all(dir)?;
        for (name, table) in [("train.csv", &train), ("test.csv", &test)] {
            let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join(name))?);
            writeln!(out, "{},label", table.feature_names.join(","))?;
            for r in 0..table.len() {
                let row: Vec<String> = table.row(r).iter().map(|x| x.to_string()).collect();
                writeln!(out, "{},{}", row.join(","), table.labels[r])?;
            }
        }
        let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("assay_values.csv"))?);
        for v in values.values() {
            writeln!(out, "{v:?}")?;
        }
        drop(out);
        let start = Instant::now();
        let from_csv = knn_shapley_csv(&dir.join("train.csv"), &dir.join("test.csv"), "label", k)?;
        println!(
            "from CSV (read + value): {:.2} s, max |diff| to in-memory {:.2e}",
            start.elapsed().as_secs_f64(),
            from_csv
                .values()
                .iter()
                .zip(values.values())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
        );
    }
    Ok(())
}
