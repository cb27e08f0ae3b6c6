//! Bad-data detection on MovieLens-100k: corrupt a random 5% of the interactions and value
//! every interaction; how well do low values find the corrupted ones?
//!
//! `cargo run --release -p assay-value --example corruption -- [DIR] [KEY=VALUE ...]`
//!
//! DIR is the ml-100k atomic-file directory [`../shared/data/ml-100k`]. Keys (defaults in
//! brackets): `seed` [1], `rate` (share corrupted) [0.05], `bags` [30], `in_bag` [0.8],
//! `reg` (EASE λ) [250], `knn` (ItemKNN neighbours) [100], `samples` (MSR subsets) [1000],
//! `methods` [pop,ease,itemknn,oob-ease,oob-itemknn] (and `msr-ease`).
//!
//! Corruption: a seeded `rate` of the rating rows get their item replaced by an item drawn
//! uniformly from those the user has not rated (and not been given by an earlier
//! corruption), so every (user, item) pair stays distinct. Every row is an implicit positive,
//! as in RecBole's usual ml-100k setup. Methods, each a value per interaction (low = suspect):
//!
//! - `pop`: the item's popularity percentile (a baseline that knows nothing of the user);
//! - `ease`, `itemknn`: in-sample scores of one model fitted on all rows: the percentile rank
//!   of the item among the items the user has not rated, scored from the user's whole history
//!   (the item's own indicator does not score it: EASE's `B` has a zero diagonal, ItemKNN
//!   excludes self-similarity, but the row was in the fit: a cheap leave-one-out stand-in);
//! - `oob-ease`, `oob-itemknn`: Data-OOB over interactions (`recommend_oob::interaction_oob`):
//!   `bags` models each fitted on a random `in_bag` share of the rows; a row's value is its
//!   mean percentile rank under the models that did not see it;
//! - `msr-ease`: a utility-based semivalue: MSR Banzhaf over the interactions of a random 90%
//!   of every user's rows, `U(S)` = NDCG@10 on the other 10% of EASE fitted on `S` (computed
//!   exactly without refits, `fast::fast_utility`), `samples` random subsets; the held-out
//!   rows get no value and are left out of the AUC;
//! - `loo-ease`: leave-one-out, the same utility, for a seeded random `loo` [2000] of the
//!   training rows (each costs one exact EASE utility; all 90,000 would take hours); the
//!   other rows are always in the fit and get no value.
//!
//! Reported per method: AUC of "low value" for the corruption labels, and precision, recall
//! and F1 of the two-cluster flag rule (OpenDataVal) and of flagging the lowest `rate` share.

use std::time::Instant;

use assay_core::{Dataset, Interactions, ItemIdx};
use assay_metrics::Metric;
use assay_recommend::ModelSpec;
use assay_value::assess::{auc_of_low_values, precision_recall_f1, two_cluster_flags};
use assay_value::recommend::{players, Audience, RecConfig, RecommenderUtility};
use assay_value::recommend_oob::{interaction_oob, percentile_rank, RecOobConfig};
use assay_value::{value_players, Convergence, Method, ValueConfig};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Args {
    dir: std::path::PathBuf,
    seed: u64,
    rate: f64,
    bags: usize,
    in_bag: f64,
    reg: f32,
    knn: usize,
    samples: u64,
    loo: usize,
    methods: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        dir: "../shared/data/ml-100k".into(),
        seed: 1,
        rate: 0.05,
        bags: 30,
        in_bag: 0.8,
        reg: 250.0,
        knn: 100,
        samples: 1000,
        loo: 2000,
        methods: ["pop", "ease", "itemknn", "oob-ease", "oob-itemknn"]
            .map(String::from)
            .to_vec(),
    };
    for arg in std::env::args().skip(1) {
        let Some((key, value)) = arg.split_once('=') else {
            args.dir = arg.into();
            continue;
        };
        let bad = |e: &dyn std::fmt::Debug| format!("{key}: cannot parse `{value}`: {e:?}");
        match key {
            "seed" => args.seed = value.parse().map_err(|e| bad(&e))?,
            "rate" => args.rate = value.parse().map_err(|e| bad(&e))?,
            "bags" => args.bags = value.parse().map_err(|e| bad(&e))?,
            "in_bag" => args.in_bag = value.parse().map_err(|e| bad(&e))?,
            "reg" => args.reg = value.parse().map_err(|e| bad(&e))?,
            "knn" => args.knn = value.parse().map_err(|e| bad(&e))?,
            "samples" => args.samples = value.parse().map_err(|e| bad(&e))?,
            "loo" => args.loo = value.parse().map_err(|e| bad(&e))?,
            "methods" => args.methods = value.split(',').map(String::from).collect(),
            _ => return Err(format!("unknown key `{key}`")),
        }
    }
    if !(args.rate > 0.0 && args.rate < 1.0) {
        return Err(format!(
            "rate: expected a share in (0, 1), found {}",
            args.rate
        ));
    }
    Ok(args)
}

/// Replaces the item of a seeded `rate` share of `rows` by a uniform item the user has not
/// got; returns the corruption flag of each row.
fn corrupt(data: &mut Dataset, rows: &[u32], rate: f64, seed: u64) -> Vec<bool> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n_items = data.items.len() as u32;
    let mut had: Vec<std::collections::HashSet<ItemIdx>> =
        vec![Default::default(); data.users.len()];
    for &r in rows {
        had[data.events.user[r as usize] as usize].insert(data.events.item[r as usize]);
    }
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.shuffle(&mut rng);
    let n_bad = (rate * rows.len() as f64).round() as usize;
    let mut bad = vec![false; rows.len()];
    for &k in &order[..n_bad] {
        let r = rows[k] as usize;
        let user = data.events.user[r] as usize;
        // Rejection sampling: users rate at most a few hundred of the 1,682 films.
        let item = loop {
            let candidate = rng.random_range(0..n_items);
            if !had[user].contains(&candidate) {
                break candidate;
            }
        };
        had[user].insert(item);
        data.events.item[r] = item;
        bad[k] = true;
    }
    bad
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let loaded = assay_import::load(
        &args.dir,
        &assay_import::LoadOptions::new(assay_import::UnknownRefs::Fail),
    )?;
    let mut data = loaded.dataset;
    let rows: Vec<u32> = (0..data.events.len() as u32).collect();
    let bad = corrupt(&mut data, &rows, args.rate, args.seed);
    let data = data;
    println!(
        "{}: {} users, {} items, {} interactions, {} corrupted (seed {})",
        args.dir.display(),
        data.users.len(),
        data.items.len(),
        rows.len(),
        bad.iter().filter(|&&b| b).count(),
        args.seed
    );
    let ease = ModelSpec::parse(&format!("ease:reg={}", args.reg))?;
    let itemknn = ModelSpec::parse(&format!("itemknn:k={}", args.knn))?;
    let all = Interactions::from_events(&data, &rows);
    for name in &args.methods {
        let start = Instant::now();
        let (values, fits): (Vec<f64>, usize) = match name.as_str() {
            "pop" => {
                let by_item = all.transpose();
                let counts: Vec<f32> = (0..data.items.len() as u32)
                    .map(|i| by_item.items_of(i).len() as f32)
                    .collect();
                let values = rows
                    .iter()
                    .map(|&r| percentile_rank(&counts, data.events.item[r as usize], &[]))
                    .collect();
                (values, 0)
            }
            "ease" | "itemknn" => {
                let spec = if name == "ease" { &ease } else { &itemknn };
                let model = spec.fit(&all, &data, None, &|_, _| {})?;
                let mut values = vec![f64::NAN; rows.len()];
                let mut scores = vec![0.0f32; all.n_items()];
                let mut by_user: Vec<(u32, usize)> = rows
                    .iter()
                    .enumerate()
                    .map(|(k, &r)| (data.events.user[r as usize], k))
                    .collect();
                by_user.sort_unstable();
                for group in by_user.chunk_by(|a, b| a.0 == b.0) {
                    model.score_user(group[0].0, &mut scores);
                    let history = all.items_of(group[0].0);
                    for &(_, k) in group {
                        let item = data.events.item[rows[k] as usize];
                        values[k] = percentile_rank(&scores, item, history);
                    }
                }
                (values, 1)
            }
            "oob-ease" | "oob-itemknn" => {
                let spec = if name == "oob-ease" { &ease } else { &itemknn };
                let config = RecOobConfig {
                    n_bags: args.bags,
                    in_bag_fraction: args.in_bag,
                    seed: args.seed,
                };
                let table = interaction_oob(&data, &[], &rows, spec, &config)?;
                let unscored = table.players.iter().filter(|p| p.n_evals == 0).count();
                if unscored > 0 {
                    println!("  ({unscored} rows never scored out of bag; value 0.5)");
                }
                (table.values(), args.bags)
            }
            "msr-ease" | "loo-ease" => {
                let split = assay_core::split::by_ratio(
                    &data,
                    &rows,
                    [0.9, 0.1, 0.0],
                    assay_core::split::Order::Random { seed: args.seed },
                );
                let config = RecConfig {
                    model: ease.clone(),
                    metric: Metric::Ndcg,
                    k: 10,
                    audience: Audience::Total,
                };
                let (valued, method, convergence) = if name == "msr-ease" {
                    (
                        split.train.clone(),
                        Method::MsrBanzhaf,
                        Convergence::fixed(args.samples),
                    )
                } else {
                    let mut sample = split.train.clone();
                    sample.shuffle(&mut ChaCha8Rng::seed_from_u64(args.seed));
                    sample.truncate(args.loo);
                    (sample, Method::LeaveOneOut, Convergence::fixed(1))
                };
                let players = players::by_interaction(&valued);
                let utility =
                    RecommenderUtility::new(&data, &split.train, &split.valid, players, config)?;
                let fast = assay_value::fast::fast_utility(&utility);
                let value_config = ValueConfig {
                    seed: args.seed,
                    convergence,
                };
                let table = value_players(&*fast, &method, &value_config, &|_, _| {})?;
                let mut values = vec![f64::NAN; rows.len()];
                for (&r, v) in valued.iter().zip(table.values()) {
                    values[r as usize] = v;
                }
                (values, table.utility_evals as usize)
            }
            other => return Err(format!("unknown method `{other}`").into()),
        };
        // Rows a method gives no value (msr-ease's held-out rows) are left out.
        let (values, labels): (Vec<f64>, Vec<bool>) = values
            .iter()
            .zip(&bad)
            .filter(|(v, _)| v.is_finite())
            .map(|(v, b)| (*v, *b))
            .unzip();
        let bad = labels;
        let auc = auc_of_low_values(&values, &bad);
        let (p, r, f1) = precision_recall_f1(&two_cluster_flags(&values), &bad);
        let n_low = (args.rate * values.len() as f64).round() as usize;
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
        let mut lowest = vec![false; values.len()];
        order[..n_low].iter().for_each(|&k| lowest[k] = true);
        let (lp, lr, lf1) = precision_recall_f1(&lowest, &bad);
        println!(
            "{name:12} AUC {auc:.3}  two-cluster P {p:.3} R {r:.3} F1 {f1:.3}  lowest {:.0}%: P {lp:.3} R {lr:.3} F1 {lf1:.3}  ({fits} fits, {:.1} s)",
            args.rate * 100.0,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
