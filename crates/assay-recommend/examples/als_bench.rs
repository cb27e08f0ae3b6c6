//! ALS benchmark helper for `bench/als_vs_implicit.sh`.
//!
//! - `als_bench generate PATH [NNZ] [USERS] [ITEMS] [SEED]`: writes a seeded power-law user-item
//!   matrix as CSV lines `user,item` (distinct pairs, weight 1).
//! - `als_bench fit PATH [FACTORS] [ITERATIONS] [ALPHA] [REG]`: reads it, fits implicit ALS (CG,
//!   3 steps) and prints one JSON line with the fit seconds.

use std::collections::HashSet;
use std::io::{BufRead, BufWriter, Write};
use std::time::Instant;

use assay_core::{Dataset, Interactions};
use assay_recommend::{AlsParams, Fit};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn arg<T: std::str::FromStr>(args: &[String], at: usize, default: T) -> T {
    args.get(at).and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// Index in `0..n` with probability ∝ 1 / (i + 1)^exponent, by inverse CDF over a table.
fn power_law_table(n: usize, exponent: f64) -> Vec<f64> {
    let mut cdf = Vec::with_capacity(n);
    let mut total = 0.0;
    for i in 0..n {
        total += 1.0 / ((i + 1) as f64).powf(exponent);
        cdf.push(total);
    }
    cdf.iter_mut().for_each(|c| *c /= total);
    cdf
}

fn draw(cdf: &[f64], rng: &mut ChaCha8Rng) -> u32 {
    let x: f64 = rng.random();
    cdf.partition_point(|&c| c < x).min(cdf.len() - 1) as u32
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(path)) = (args.first(), args.get(1)) else {
        eprintln!("usage: als_bench generate|fit PATH ...");
        std::process::exit(2);
    };
    match mode.as_str() {
        "generate" => {
            let nnz: usize = arg(&args, 2, 1_000_000);
            let users: usize = arg(&args, 3, 100_000);
            let items: usize = arg(&args, 4, 20_000);
            let seed: u64 = arg(&args, 5, 42);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let user_cdf = power_law_table(users, 0.5);
            let item_cdf = power_law_table(items, 0.8);
            let mut seen: HashSet<u64> = HashSet::with_capacity(nnz);
            let file = std::fs::File::create(path).expect("create output");
            let mut out = BufWriter::new(file);
            writeln!(out, "user,item").expect("write");
            while seen.len() < nnz {
                let (u, i) = (draw(&user_cdf, &mut rng), draw(&item_cdf, &mut rng));
                if seen.insert(((u as u64) << 32) | i as u64) {
                    writeln!(out, "{u},{i}").expect("write");
                }
            }
            out.flush().expect("flush");
        }
        "fit" => {
            let factors: usize = arg(&args, 2, 64);
            let iterations: usize = arg(&args, 3, 15);
            let alpha: f32 = arg(&args, 4, 1.0);
            let reg: f32 = arg(&args, 5, 0.01);
            let start = Instant::now();
            let file = std::fs::File::open(path).expect("open input");
            let mut triples = Vec::new();
            let (mut n_users, mut n_items) = (0usize, 0usize);
            for line in std::io::BufReader::new(file).lines().skip(1) {
                let line = line.expect("read");
                let (u, i) = line.split_once(',').expect("user,item");
                let (u, i): (u32, u32) = (u.parse().expect("user"), i.parse().expect("item"));
                n_users = n_users.max(u as usize + 1);
                n_items = n_items.max(i as usize + 1);
                triples.push((u, i, 1.0f32));
            }
            let matrix = Interactions::from_triples(n_users, n_items, triples);
            let read = start.elapsed().as_secs_f64();
            let params = AlsParams {
                factors,
                iterations,
                alpha,
                reg,
                cg_steps: 3,
                seed: 1,
            };
            let fit_start = Instant::now();
            let model = params.fit(&matrix, &Dataset::default(), None).expect("fit");
            let fit = fit_start.elapsed().as_secs_f64();
            let checksum: f64 = model.item_factors().iter().map(|&v| v as f64).sum();
            println!(
                "{{\"tool\":\"assay\",\"users\":{n_users},\"items\":{n_items},\"nnz\":{},\"threads\":{},\"read_s\":{read:.3},\"fit_s\":{fit:.3},\"checksum\":{checksum:.4}}}",
                matrix.nnz(),
                rayon::current_num_threads()
            );
        }
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
}
