//! `assay value`: what each piece of data is worth to recommendation quality.

use anyhow::Context;
use assay_bandit::EstimatorKind;
use assay_core::{clean, split, EventKind};
use assay_metrics::Metric;
use assay_recommend::ModelSpec;
use assay_value::business::{BusinessMetric, OpeUtility, OpeUtilityConfig};
use assay_value::recommend::{self, players, Audience, Player, RecConfig, RecommenderUtility};
use assay_value::recommend_oob::{interaction_oob, user_oob, HistoryUtility, RecOobConfig};
use assay_value::{Convergence, Method, Utility, ValueConfig, Values};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{DatasetArgs, ScorersArg, ValueArgs};
use crate::data;
use crate::output::{print_json, Table};
use crate::BadInput;

pub fn run(args: ValueArgs) -> anyhow::Result<()> {
    let values = if args.method == "knn-shapley" {
        knn_shapley(&args)?
    } else {
        recommender_values(&args)?
    };
    if args.json {
        return print_json(&values);
    }
    print_values(&values, args.top)
}

fn knn_shapley(args: &ValueArgs) -> anyhow::Result<Values> {
    let (Some(train), Some(test), Some(label)) = (&args.train, &args.test, &args.label) else {
        return Err(BadInput(
            "--method knn-shapley needs --train FILE, --test FILE and --label COLUMN".into(),
        )
        .into());
    };
    if args.k == 0 {
        return Err(BadInput("--k: expected at least 1".into()).into());
    }
    assay_value::knn_shapley_csv(train, test, label, args.k)
        .map_err(|e| BadInput(e.to_string()).into())
}

pub(crate) fn parse_utility(text: &str) -> anyhow::Result<(Metric, usize)> {
    let bad = || {
        BadInput(format!(
            "--utility: expected METRIC@K such as ndcg@10 or recall@20, found '{text}'"
        ))
    };
    let (name, k) = text.split_once('@').ok_or_else(bad)?;
    let metric = Metric::parse(name).ok_or_else(bad)?;
    let k: usize = k.parse().map_err(|_| bad())?;
    if k == 0 {
        return Err(bad().into());
    }
    Ok((metric, k))
}

/// `ctr-ope[@K]` or `gmv-ope[@K]` (K = 10 by default); `None` for a ranking metric.
fn parse_business(text: &str) -> anyhow::Result<Option<(BusinessMetric, usize)>> {
    let (name, k) = match text.split_once('@') {
        Some((name, k)) => (name, Some(k)),
        None => (text, None),
    };
    let metric = match name {
        "ctr-ope" => BusinessMetric::Ctr,
        "gmv-ope" => BusinessMetric::Gmv,
        _ => return Ok(None),
    };
    let k = match k {
        None => 10,
        Some(k) => match k.parse::<usize>() {
            Ok(k) if k > 0 => k,
            _ => {
                return Err(BadInput(format!(
                    "--utility: expected {name}@K with K a positive whole number, found '{text}'"
                ))
                .into())
            }
        },
    };
    Ok(Some((metric, k)))
}

fn recommender_values(args: &ValueArgs) -> anyhow::Result<Values> {
    let Some(dataset) = &args.dataset else {
        return Err(BadInput(
            "a DATASET is needed (or --method knn-shapley with --train/--test)".into(),
        )
        .into());
    };
    // None: Data-OOB, which is not a semivalue of a utility.
    let method = if args.method == "oob" {
        None
    } else {
        Some(Method::parse(&args.method).ok_or_else(|| {
            BadInput(format!(
                "--method: unknown method '{}': expected loo, shapley, tmc, banzhaf, banzhaf-exact, beta, beta-exact, oob or knn-shapley",
                args.method
            ))
        })?)
    };
    let business = parse_business(&args.utility)?;
    let (metric, k) = match business {
        Some((_, k)) => (Metric::Ndcg, k),
        None => parse_utility(&args.utility)?,
    };
    let model = ModelSpec::parse(&args.model).map_err(|e| BadInput(format!("--model: {e}")))?;
    let loaded = data::load(&DatasetArgs {
        dataset: dataset.clone(),
        unknown_refs: args.unknown_refs,
    })?;
    let data = &loaded.dataset;
    // Impressions are exposure, not preference: the recommender learns from the rest.
    let all: Vec<u32> = (0..data.events.len() as u32).collect();
    let kinds: Vec<EventKind> = EventKind::ALL
        .into_iter()
        .filter(|&k| k != EventKind::Impression)
        .collect();
    let mut rows = clean::of_kinds(data, &all, &kinds);
    if matches!(args.players.as_str(), "users" | "interactions") {
        // Users and interactions are valued by their (user, item) pairs.
        rows = clean::first_of_pairs(data, &rows);
    }
    let parts = match business {
        // Off-policy evaluation needs logs the model has not seen: the last 20% by time,
        // impressions included; the model learns from the non-impression rows before.
        Some(_) => {
            let (mut parts, _, _) = split::by_time_ratio(data, &all, [0.8, 0.2, 0.0]);
            parts
                .train
                .retain(|&r| data.events.kind[r as usize] != EventKind::Impression);
            parts
        }
        None => split::by_ratio(
            data,
            &rows,
            [0.8, 0.2, 0.0],
            split::Order::Random { seed: args.seed },
        ),
    };
    let players = match args.players.as_str() {
        "sources" => players::by_source(data, &parts.train),
        "categories" => players::by_category(data, &parts.train),
        "windows" => players::by_time_window(data, &parts.train, args.windows),
        "segments" => players::by_segment(data, &parts.train, &args.segment_attribute).ok_or_else(|| {
            BadInput(format!("--players segments: the users have no attribute '{}'", args.segment_attribute))
        })?,
        "users" => players::by_user(data, &parts.train),
        "items" => players::by_item(data, &parts.train),
        "interactions" => players::by_interaction(&parts.train),
        other => {
            return Err(BadInput(format!(
                "--players: unknown kind '{other}': expected sources, categories, windows, segments, users, items or interactions"
            ))
            .into())
        }
    };
    if players.is_empty() {
        return Err(BadInput(format!(
            "--players {}: the training data has none",
            args.players
        ))
        .into());
    }
    let Some(method) = method else {
        return oob_values(args, data, &parts.train, &players, &model);
    };
    let audience = if args.total {
        Audience::Total
    } else {
        Audience::Others
    };
    let buyers = (args.scorers == ScorersArg::Buyers).then(|| recommend::buyers(data));
    if business.is_some() && buyers.is_some() {
        return Err(BadInput(
            "--scorers buyers applies to ranking utilities (METRIC@K), not to ctr-ope/gmv-ope"
                .into(),
        )
        .into());
    }
    // Every user being a player leaves no one to score "value to others": value each half
    // of the users by the other half's recommendations.
    let halves = args.players == "users" && audience == Audience::Others && business.is_none();
    let groups: Vec<Vec<usize>> = if halves {
        (0..2u32)
            .map(|half| {
                (0..players.len())
                    .filter(|&p| players[p].users.first().is_some_and(|u| u % 2 == half))
                    .collect()
            })
            .collect()
    } else {
        vec![(0..players.len()).collect()]
    };
    let mut merged: Option<Values> = None;
    for (g, members) in groups.iter().enumerate() {
        let group: Vec<Player> = members.iter().map(|&p| players[p].clone()).collect();
        if group.is_empty() {
            continue;
        }
        let label = if halves {
            format!(" (half {} of the users)", g + 1)
        } else {
            String::new()
        };
        // The other half, as the audience of this half's data.
        let audience_half = halves.then_some((g as u32 + 1) % 2);
        let values = value_group(
            args,
            &method,
            data,
            &parts,
            group,
            audience_half,
            business,
            RecConfig {
                model: model.clone(),
                metric,
                k,
                audience,
            },
            buyers.as_deref(),
            &label,
        )?;
        merged = Some(match merged {
            None => renumber(values, members),
            Some(mut all) => {
                let more = renumber(values, members);
                all.utility_evals += more.utility_evals;
                all.sum_std_error = all.sum_std_error.hypot(more.sum_std_error);
                all.players.extend(more.players);
                all
            }
        });
    }
    let mut values = merged.ok_or_else(|| BadInput("no players to value".into()))?;
    values.players.sort_by_key(|p| p.player);
    if halves {
        values.utility = format!(
            "{} [each half of the users scored by the other]",
            values.utility
        );
    }
    Ok(values)
}

/// Points a group's values table at the players' indices in the full list.
fn renumber(mut values: Values, members: &[usize]) -> Values {
    for p in &mut values.players {
        p.player = members[p.player];
    }
    values
}

/// Data-OOB of users or interactions: each player's own held-out items ranked by models
/// fitted on bags that left the player out.
fn oob_values(
    args: &ValueArgs,
    data: &assay_core::Dataset,
    train: &[u32],
    players: &[Player],
    model: &ModelSpec,
) -> anyhow::Result<Values> {
    if args.bags == 0 {
        return Err(BadInput("--bags: expected at least 1".into()).into());
    }
    let config = RecOobConfig {
        n_bags: args.bags,
        in_bag_fraction: 0.5,
        seed: args.seed,
    };
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(format!("Data-OOB: {} model fits", args.bags));
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    let values = match args.players.as_str() {
        "users" => user_oob(data, &[], players, model, &config),
        "interactions" => interaction_oob(data, &[], train, model, &config),
        other => {
            return Err(BadInput(format!(
                "--method oob values users or interactions (each scored on its own held-out items), not {other}"
            ))
            .into())
        }
    };
    spinner.finish_and_clear();
    values.map_err(|e| BadInput(format!("--method oob: {e}")).into())
}

/// Values one group of players (all of them, or one half of the users).
#[allow(clippy::too_many_arguments)]
fn value_group(
    args: &ValueArgs,
    method: &Method,
    data: &assay_core::Dataset,
    parts: &split::Split,
    players: Vec<Player>,
    audience_half: Option<u32>,
    business: Option<(BusinessMetric, usize)>,
    config: RecConfig,
    buyers: Option<&[bool]>,
    label: &str,
) -> anyhow::Result<Values> {
    let recommender;
    let business_utility;
    let fast;
    let history;
    let scorer = |u: u32| buyers.is_none_or(|b| b[u as usize]);
    let item_item = config.model.capabilities().scores_any_history;
    let utility: &dyn Utility = if let Some((metric, k)) = business {
        business_utility = OpeUtility::new(
            data,
            &parts.train,
            &parts.valid,
            players,
            OpeUtilityConfig {
                model: config.model,
                metric,
                k,
                epsilon: args.epsilon,
                estimator: EstimatorKind::Snipw,
            },
        )
        .map_err(|e| BadInput(format!("--utility {}: {e}", args.utility)))?;
        &business_utility
    } else if let (Some(half), true) = (audience_half, item_item) {
        // Item-item models score any history: fit on this half's users alone and score the
        // other half from their own histories (a click farm cannot vouch for itself).
        history = HistoryUtility::new(
            data,
            &parts.train,
            &parts.valid,
            players,
            config.model,
            config.metric,
            config.k,
            |u| u % 2 == half && scorer(u),
        )
        .map_err(|e| BadInput(format!("--players users: {e}")))?;
        &history
    } else {
        let mut utility =
            RecommenderUtility::new(data, &parts.train, &parts.valid, players, config)
                .context("building the utility")?;
        if let Some(buyers) = buyers {
            utility.restrict_audience(|u| buyers[u as usize]);
            if utility.audience().next().is_none() {
                return Err(
                    BadInput("--scorers buyers: no validation user has a purchase".into()).into(),
                );
            }
        }
        recommender = utility;
        // The same utility, computed without refits where the model allows (EASE).
        fast = assay_value::fast::fast_utility(&recommender);
        &*fast
    };
    let convergence = Convergence {
        batch: 16,
        min_samples: args.min_samples,
        max_samples: args.max_samples,
        rtol: args.rtol,
        atol: 0.0,
    };
    let bar = ProgressBar::new(args.max_samples);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:30}} {{pos}}/{{len}} samples{label} {{elapsed}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let values = assay_value::value_players(
        utility,
        method,
        &ValueConfig {
            seed: args.seed,
            convergence,
        },
        &progress,
    )
    .map_err(|e| BadInput(e.to_string()))?;
    bar.finish_and_clear();
    Ok(values)
}

fn print_values(values: &Values, top: usize) -> anyhow::Result<()> {
    println!(
        "{} values under {} ({} utility evaluations)",
        values.method, values.utility, values.utility_evals
    );
    let mut order: Vec<usize> = (0..values.players.len()).collect();
    order.sort_by(|&a, &b| values.players[b].value.total_cmp(&values.players[a].value));
    let mut table = Table::new(&["rank", "player", "value", "std error", "converged"]);
    let shown: Vec<usize> = if order.len() <= 2 * top {
        order.clone()
    } else {
        order[..top]
            .iter()
            .chain(&order[order.len() - top..])
            .copied()
            .collect()
    };
    for &i in &shown {
        let rank = order.iter().position(|&j| j == i).unwrap_or(i) + 1;
        let p = &values.players[i];
        table.row(vec![
            rank.to_string(),
            p.name.clone(),
            format!("{:.6}", p.value),
            format!("{:.6}", p.std_error),
            p.converged.to_string(),
        ]);
    }
    table.print()?;
    if shown.len() < order.len() {
        println!(
            "(top and bottom {top} of {} players; all in --json)",
            order.len()
        );
    }
    let harmful = values.players.iter().filter(|p| p.value < 0.0).count();
    if harmful > 0 {
        println!(
            "{harmful} player(s) have a negative value: the model is better without their data"
        );
    }
    Ok(())
}
