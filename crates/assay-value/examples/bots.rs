//! Bad-data detection on the simulator: value every user of a shop with 5% bots (a click
//! farm and scrapers), check how well low values find the bots, and whether dropping the
//! lowest-valued users raises the humans' test NDCG@10.
//!
//! `cargo run --release -p assay-value --example bots -- [KEY=VALUE ...] [check] [base]`
//!
//! Keys (defaults in brackets): `seed` [1], `users` [400], `items` [500], `events`
//! [200000], `model` (`ModelSpec` text, ease or itemknn) [itemknn:k=100;shrink=10], `utility` (METRIC@K of
//! the valuation) [ndcg@10], `valid` (validation share of each user's pairs) [0.15],
//! `methods` [loo,msr,tmc,beta,oob], `msr` (subsets per half) [1500], `tmc` and `beta`
//! (permutations per half) [4], `oob` (bags) [100]; `bot_activity`, `bot_click_rate`,
//! `bot_random_clicks`, `bot_promoted_items`, `bot_promoted_click_rate` and
//! `bot_farm_share` override the preset's `SimConfig` fields; `audience` [humans] is who scores
//! the valuation: `humans` (picked by the bot labels), `buyers` (users with a purchase in the
//! log; no labels) or `all` (everyone). `check` only measures how much
//! the bots hurt (no valuation), on the test items and on the validation items (choose a
//! model's parameters on the latter); `base` switches the valuation utility to
//! `RecommenderUtility` (see below).
//!
//! Protocol. The shop is `SimConfig::small` with `users` users (5% bots with the preset's
//! click farm and scrapers), `items` items and `events` events. The data are the click, cart
//! and purchase rows, one row per distinct (user, item) pair (the first); each user's pairs
//! are split at random into train / validation / test (70/15/15). The model is item-item
//! (ItemKNN by default, or EASE): "NDCG@10 of a set of training users" means: fit the
//! item-item weights on those users' training rows only, rank items for every evaluated user
//! from their *full* training history (dropping a user from the training data removes them
//! from the weights, not from the shop's audience), mask that history, and average NDCG@10
//! over the evaluated users' held-out items.
//!
//! Valuation (players = users, value to others). The users are cut into two halves by index
//! parity. Each half is a game whose utility `U(S)` is the validation metric of the other
//! half's humans (a trusted validation set: the usual clean-validation-set assumption of
//! data valuation; the bot labels are used for nothing else) under the model fitted on the
//! training rows of `S` alone; the evaluated users' histories are queries, never fitted on.
//! With `base`, `U(S)` is instead `RecommenderUtility` (Audience::Others): the model is
//! fitted on `S` plus the other half's training rows, bots included. Data-OOB
//! (`recommend_oob::user_oob`, in-bag share 0.5) values all users at once and needs no
//! validation data. Detection: AUC of "low value" for the bot labels, and the two-cluster
//! flag rule (OpenDataVal) with precision/recall/F1. Removal: drop the lowest-valued, the
//! highest-valued or random users (5, 10, 20%) and report the humans' NDCG@10 on the *test*
//! items, which no method saw.

use std::time::Instant;

use assay_core::split::{by_ratio, Order};
use assay_core::{Dataset, EventKind, Interactions, ItemIdx, UserIdx};
use assay_metrics::Metric;
use assay_recommend::ModelSpec;
use assay_value::assess::{auc_of_low_values, precision_recall_f1, two_cluster_flags};
use assay_value::recommend::{players, Audience, Player, RecConfig, RecommenderUtility};
use assay_value::recommend_oob::{user_oob, HistoryUtility, ItemItem, RecOobConfig};
use assay_value::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rayon::prelude::*;

struct Args {
    seed: u64,
    users: u32,
    items: u32,
    events: u64,
    model: ModelSpec,
    metric: (Metric, usize),
    valid: f64,
    methods: Vec<String>,
    msr: u64,
    tmc: u64,
    beta: u64,
    oob: usize,
    check: bool,
    total: bool,
    /// Who scores the valuation: `humans` (the bot labels pick them), `buyers` (users with a
    /// purchase in the log: no labels) or `all` (everyone in the other half).
    audience: String,
    query: bool,
    /// `SimConfig` bot knobs to override: activity, click rate, promoted items, promoted
    /// click rate, farm share.
    bot: [Option<f64>; 6],
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seed: 1,
        users: 400,
        items: 500,
        events: 200_000,
        // RecBole's ItemKNN with a small shrink: on this shop it ranks better than shrink 0
        // or 50 with or without the bots (see BENCHMARKS.md).
        model: ModelSpec::new(assay_recommend::ItemKnnParams {
            k: 100,
            shrink: 10.0,
        }),
        metric: (Metric::Ndcg, 10),
        valid: 0.15,
        methods: ["loo", "msr", "tmc", "beta", "oob"]
            .map(String::from)
            .to_vec(),
        msr: 1500,
        tmc: 4,
        beta: 4,
        oob: 100,
        check: false,
        total: false,
        audience: "humans".into(),
        query: true,
        bot: [None; 6],
    };
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "check" => args.check = true,
            "total" => args.total = true,
            "base" => args.query = false,
            _ => {
                let (key, value) = arg.split_once('=').ok_or(format!(
                    "expected KEY=VALUE, `check` or `total`, found `{arg}`"
                ))?;
                let bad = |_: &dyn std::fmt::Debug| format!("{key}: cannot parse `{value}`");
                match key {
                    "seed" => args.seed = value.parse().map_err(|e| bad(&e))?,
                    "users" => args.users = value.parse().map_err(|e| bad(&e))?,
                    "items" => args.items = value.parse().map_err(|e| bad(&e))?,
                    "events" => args.events = value.parse().map_err(|e| bad(&e))?,
                    "model" => args.model = ModelSpec::parse(value).map_err(|e| bad(&e))?,
                    "utility" => {
                        let (m, k) = value.split_once('@').ok_or(bad(&"METRIC@K"))?;
                        args.metric = (
                            Metric::parse(m).ok_or(bad(&"metric"))?,
                            k.parse().map_err(|e| bad(&e))?,
                        );
                    }
                    "valid" => args.valid = value.parse().map_err(|e| bad(&e))?,
                    "methods" => args.methods = value.split(',').map(String::from).collect(),
                    "msr" => args.msr = value.parse().map_err(|e| bad(&e))?,
                    "tmc" => args.tmc = value.parse().map_err(|e| bad(&e))?,
                    "beta" => args.beta = value.parse().map_err(|e| bad(&e))?,
                    "oob" => args.oob = value.parse().map_err(|e| bad(&e))?,
                    "audience" => match value {
                        "humans" | "buyers" | "all" => args.audience = value.to_owned(),
                        _ => return Err(bad(&"humans, buyers or all")),
                    },
                    "bot_activity"
                    | "bot_click_rate"
                    | "bot_promoted_items"
                    | "bot_promoted_click_rate"
                    | "bot_farm_share"
                    | "bot_random_clicks" => {
                        let slot = [
                            "bot_activity",
                            "bot_click_rate",
                            "bot_promoted_items",
                            "bot_promoted_click_rate",
                            "bot_farm_share",
                            "bot_random_clicks",
                        ]
                        .iter()
                        .position(|k| *k == key)
                        .unwrap_or(0);
                        args.bot[slot] = Some(value.parse().map_err(|e| bad(&e))?);
                    }
                    _ => return Err(format!("unknown key `{key}`")),
                }
            }
        }
    }
    Ok(args)
}

/// NDCG@10 of EASE's `B` fitted on `fit_rows`, for `audience` (user, relevant held-out
/// items, full training history) scored from their full training history; and the share of
/// the top-10 slots taken by `marked` items.
fn ndcg_of(
    data: &Dataset,
    spec: &ModelSpec,
    fit_rows: &[u32],
    audience: &[(UserIdx, Vec<ItemIdx>, Vec<ItemIdx>)],
    marked: &[bool],
) -> (f64, f64) {
    let matrix = Interactions::from_events(data, fit_rows);
    let Ok(model) = ItemItem::fit(spec, &matrix, data) else {
        return (0.0, 0.0);
    };
    let n_items = matrix.n_items();
    let total: (f64, f64) = audience
        .par_iter()
        .map(|(_, relevant, history)| {
            let mut scores = vec![0.0f32; n_items];
            model.score_history(history, &mut scores);
            assay_recommend::mask(&mut scores, history);
            let ranked: Vec<ItemIdx> = assay_recommend::top_k_of(&scores, 10)
                .into_iter()
                .map(|(item, _)| item)
                .collect();
            let hits = assay_metrics::hit_vector(&ranked, relevant);
            let n_marked = ranked.iter().filter(|&&i| marked[i as usize]).count();
            (
                Metric::Ndcg.at(&hits, relevant.len(), 10),
                n_marked as f64 / 10.0,
            )
        })
        .collect::<Vec<(f64, f64)>>()
        .iter()
        .fold((0.0, 0.0), |a: (f64, f64), b| (a.0 + b.0, a.1 + b.1));
    let n = audience.len().max(1) as f64;
    (total.0 / n, total.1 / n)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let seed = args.seed;
    let dir = tempfile::tempdir()?;
    let shop = dir.path().join("shop");
    let mut config = assay_sim::SimConfig {
        n_users: args.users,
        n_items: args.items,
        n_events_target: args.events,
        bot_fraction: 0.05,
        ..assay_sim::SimConfig::small(seed)
    };
    if let Some(v) = args.bot[0] {
        config.bot_activity = v;
    }
    if let Some(v) = args.bot[1] {
        config.bot_click_rate = v;
    }
    if let Some(v) = args.bot[2] {
        config.bot_promoted_items = v as u32;
    }
    if let Some(v) = args.bot[3] {
        config.bot_promoted_click_rate = v;
    }
    if let Some(v) = args.bot[4] {
        config.bot_farm_share = v;
    }
    if let Some(v) = args.bot[5] {
        config.bot_random_clicks = v;
    }
    let summary = assay_sim::simulate(&config, &shop)?;
    let loaded = assay_import::load(
        &shop,
        &assay_import::LoadOptions::new(assay_import::UnknownRefs::Fail),
    )?;
    let data = loaded.dataset;
    let is_bot = read_bots(&shop.join("truth/users.csv"), &data)?;
    let kinds = [EventKind::Click, EventKind::Cart, EventKind::Purchase];
    let rows = assay_core::clean::first_of_pairs(&data, &data.events_of(&kinds));
    let split = by_ratio(
        &data,
        &rows,
        [0.85 - args.valid, args.valid, 0.15],
        Order::Random { seed },
    );
    let bot_rows = rows
        .iter()
        .filter(|&&r| is_bot[data.events.user[r as usize] as usize])
        .count();
    println!(
        "shop: {} users ({} bots), {} items, {} events, {} distinct click/cart/purchase pairs ({} of bots)",
        summary.n_users,
        summary.n_bots,
        summary.n_items,
        summary.n_events,
        rows.len(),
        bot_rows
    );
    let full_train = Interactions::from_events(&data, &split.train);
    let audience_of = |held_out: &[u32], keep: &dyn Fn(UserIdx) -> bool| {
        let held = Interactions::from_events(&data, held_out);
        (0..data.users.len() as u32)
            .filter(|&u| keep(u) && !held.items_of(u).is_empty())
            .map(|u| {
                (
                    u,
                    held.items_of(u).to_vec(),
                    full_train.items_of(u).to_vec(),
                )
            })
            .collect::<Vec<_>>()
    };
    let test_humans = audience_of(&split.test, &|u| !is_bot[u as usize]);
    let keep_without = |dropped: &[UserIdx]| -> Vec<u32> {
        let mut out = vec![false; data.users.len()];
        dropped.iter().for_each(|&u| out[u as usize] = true);
        split
            .train
            .iter()
            .copied()
            .filter(|&r| !out[data.events.user[r as usize] as usize])
            .collect()
    };
    let promoted = read_promoted(&shop.join("truth/promoted_items.csv"), &data)?;
    let test_and_share = |dropped: &[UserIdx]| {
        ndcg_of(
            &data,
            &args.model,
            &keep_without(dropped),
            &test_humans,
            &promoted,
        )
    };
    let test = |dropped: &[UserIdx]| test_and_share(dropped).0;
    let all_users: Vec<Player> = players::by_user(&data, &split.train);
    let user_ids: Vec<UserIdx> = all_users.iter().map(|p| p.users[0]).collect();
    let bots: Vec<UserIdx> = user_ids
        .iter()
        .copied()
        .filter(|&u| is_bot[u as usize])
        .collect();
    let (base, base_share) = test_and_share(&[]);
    let (without_bots, clean_share) = test_and_share(&bots);
    let random_drop = |fraction: f64, draws: u64| -> (f64, f64) {
        let m = (fraction * user_ids.len() as f64).round() as usize;
        let scores: Vec<f64> = (0..draws)
            .map(|d| {
                let mut order = user_ids.clone();
                order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed * 1000 + d));
                test(&order[..m])
            })
            .collect();
        let mean = scores.iter().sum::<f64>() / draws as f64;
        let sd =
            (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (draws - 1) as f64).sqrt();
        (mean, sd)
    };
    let (r5, r5_sd) = random_drop(0.05, 10);
    println!(
        "test NDCG@10 of {} humans: all training users {base:.4}; without the {} true bots {without_bots:.4}; \
         without a random 5%: {r5:.4} (sd {r5_sd:.4} over 10 draws)",
        test_humans.len(),
        bots.len()
    );
    println!(
        "promoted items take {:.1}% of the humans' top-10 slots ({:.1}% without the bots)",
        100.0 * base_share,
        100.0 * clean_share
    );
    if args.check {
        // The same measure on the validation items: what a choice of model (or of its
        // parameters) may be made on, since the test items must stay unseen until the end.
        let valid_humans = audience_of(&split.valid, &|u| !is_bot[u as usize]);
        let valid_of = |dropped: &[UserIdx]| {
            ndcg_of(
                &data,
                &args.model,
                &keep_without(dropped),
                &valid_humans,
                &promoted,
            )
            .0
        };
        println!(
            "validation NDCG@10 of {} humans: all training users {:.4}; without the {} true bots {:.4}",
            valid_humans.len(),
            valid_of(&[]),
            bots.len(),
            valid_of(&bots)
        );
        return Ok(());
    }

    let audience = if args.total {
        Audience::Total
    } else {
        Audience::Others
    };
    // The validation audience: who a valuation may trust.
    // Buyers: a purchase anywhere in the log (the rows above keep a pair's first event, a
    // click, so purchases rarely survive in them).
    let buyer = assay_value::recommend::buyers(&data);
    let trusted = |u: UserIdx| match args.audience.as_str() {
        "humans" => !is_bot[u as usize],
        "buyers" => buyer[u as usize],
        _ => true,
    };
    println!(
        "valuation audience: {} ({} users, {} of them bots)",
        args.audience,
        (0..data.users.len() as u32).filter(|&u| trusted(u)).count(),
        (0..data.users.len() as u32)
            .filter(|&u| trusted(u) && is_bot[u as usize])
            .count()
    );
    let rec = RecConfig {
        model: args.model.clone(),
        metric: args.metric.0,
        k: args.metric.1,
        audience,
    };
    let mut results: Vec<(String, Vec<f64>)> = Vec::new();
    for name in &args.methods {
        let start = Instant::now();
        let mut values = vec![f64::NAN; all_users.len()];
        let mut fits = 0;
        if name == "oob" {
            let config = RecOobConfig {
                n_bags: args.oob,
                in_bag_fraction: 0.5,
                seed,
            };
            let table = user_oob(&data, &[], &all_users, &args.model, &config)?;
            fits = table.utility_evals;
            values = table.values();
        } else {
            let (method, samples) = match name.as_str() {
                "loo" => (Method::LeaveOneOut, 0),
                "msr" => (Method::MsrBanzhaf, args.msr),
                "tmc" => (Method::TmcShapley { truncation: 0.0 }, args.tmc),
                "beta" => (
                    Method::BetaShapley {
                        alpha: 16.0,
                        beta: 1.0,
                        exact: false,
                    },
                    args.beta,
                ),
                other => return Err(format!("unknown method `{other}`").into()),
            };
            for half in 0..2u32 {
                let members: Vec<usize> = (0..all_users.len())
                    .filter(|&p| all_users[p].users[0] % 2 == half)
                    .collect();
                let players: Vec<Player> = members.iter().map(|&p| all_users[p].clone()).collect();
                let value_config = ValueConfig {
                    seed,
                    convergence: Convergence::fixed(samples.max(2)),
                };
                let table = if args.query {
                    let utility = HistoryUtility::new(
                        &data,
                        &split.train,
                        &split.valid,
                        players,
                        args.model.clone(),
                        args.metric.0,
                        args.metric.1,
                        |u| trusted(u) && u % 2 != half,
                    )?;
                    value_players(&utility, &method, &value_config, &|_, _| {})?
                } else {
                    let mut utility = RecommenderUtility::new(
                        &data,
                        &split.train,
                        &split.valid,
                        players,
                        rec.clone(),
                    )?;
                    // The trusted validation set: the other half's trusted users.
                    utility.restrict_audience(|u| trusted(u) && u % 2 != half);
                    value_players(&utility, &method, &value_config, &|_, _| {})?
                };
                fits += table.utility_evals;
                for (&p, v) in members.iter().zip(table.values()) {
                    values[p] = v;
                }
            }
        }
        let bad: Vec<bool> = user_ids.iter().map(|&u| is_bot[u as usize]).collect();
        let auc = auc_of_low_values(&values, &bad);
        let (p, r, f1) = precision_recall_f1(&two_cluster_flags(&values), &bad);
        let stats = |bot: bool| {
            let v: Vec<f64> = values
                .iter()
                .zip(&bad)
                .filter(|p| *p.1 == bot)
                .map(|p| *p.0)
                .collect();
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            format!("mean {mean:.2e} sd {sd:.2e}")
        };
        println!("{name:5} bots: {}; humans: {}", stats(true), stats(false));
        println!(
            "{name:5} AUC {auc:.3}  two-cluster P {p:.3} R {r:.3} F1 {f1:.3}  ({fits} fits, {:.1} s)",
            start.elapsed().as_secs_f64()
        );
        results.push((name.clone(), values));
    }

    println!("removal (test NDCG@10 of the humans; all users {base:.4}, without the true bots {without_bots:.4}):");
    let fractions = [0.05, 0.1, 0.2];
    let random: Vec<(f64, f64)> = fractions.iter().map(|&f| random_drop(f, 5)).collect();
    println!(
        "  random          {}",
        fractions
            .iter()
            .zip(&random)
            .map(|(f, (m, sd))| format!("{:.0}%: {m:.4} (sd {sd:.4})", f * 100.0))
            .collect::<Vec<_>>()
            .join("  ")
    );
    for (name, values) in &results {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
        for (label, lowest_first) in [("low-first", true), ("high-first", false)] {
            let cells: Vec<String> = fractions
                .iter()
                .map(|&f| {
                    let m = (f * order.len() as f64).round() as usize;
                    let picked: Vec<UserIdx> = if lowest_first {
                        order[..m].iter().map(|&p| user_ids[p]).collect()
                    } else {
                        order[order.len() - m..]
                            .iter()
                            .map(|&p| user_ids[p])
                            .collect()
                    };
                    let caught = picked.iter().filter(|&&u| is_bot[u as usize]).count();
                    format!("{:.0}%: {:.4} ({caught} bots)", f * 100.0, test(&picked))
                })
                .collect();
            println!("  {name:5} {label:10} {}", cells.join("  "));
        }
    }
    Ok(())
}

fn read_promoted(
    path: &std::path::Path,
    data: &Dataset,
) -> Result<Vec<bool>, Box<dyn std::error::Error>> {
    let mut promoted = vec![false; data.items.len()];
    for record in csv::Reader::from_path(path)?.records() {
        if let Some(i) = data.items.ids.get(&record?[0]) {
            promoted[i as usize] = true;
        }
    }
    Ok(promoted)
}

fn read_bots(
    path: &std::path::Path,
    data: &Dataset,
) -> Result<Vec<bool>, Box<dyn std::error::Error>> {
    let mut reader = csv::Reader::from_path(path)?;
    let header = reader.headers()?.clone();
    let id = header
        .iter()
        .position(|h| h == "user_id")
        .ok_or("no user_id")?;
    let bot = header
        .iter()
        .position(|h| h == "is_bot")
        .ok_or("no is_bot")?;
    let mut is_bot = vec![false; data.users.len()];
    for record in reader.records() {
        let record = record?;
        if let Some(u) = data.users.ids.get(&record[id]) {
            is_bot[u as usize] = matches!(&record[bot], "1" | "true");
        }
    }
    Ok(is_bot)
}
