//! Computes a [`ValueReport`] for a dataset: group values, user (and item) values, removal
//! curves and learning curves, all from one seeded split.
//!
//! The split is a per-user random 80/10/10 of every event except impressions (exposure is
//! not preference): values are measured on the validation rows, curves on the test rows, so
//! the curves judge the values on data they were not computed from.
//!
//! **Group values** (sources, segments, time windows, categories) are exact Shapley values
//! when a kind has at most [`StudyConfig::max_exact`] groups. The utility is a mean over
//! validation users, and Shapley values are linear in the game, so each group's value is the
//! mean of its Shapley values in the per-user games; their spread gives a standard error for
//! "which validation users happened to be drawn", which is what limits an exact value's
//! precision. Larger kinds fall back to sampled permutations, whose standard error adds the
//! spread over permutations to the spread over users.
//! Every validation user counts (value in total): a segment's value includes what its data
//! does for its own users.
//!
//! **User values** are MSR Banzhaf values (Wang & Jia 2023): cost independent of the number
//! of users. Users are valued in two halves (by index parity), each against the other half's
//! validation users, so a user's value is what their data does for other people.
//!
//! Every fit counts towards [`ValueReport::provenance`]'s `utility_evals`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use assay_core::split::{by_ratio, Order};
use assay_core::{clean, Dataset, EventKind, Interactions, ItemIdx, UserIdx};
use assay_metrics::Metric;
use assay_recommend::{ModelSpec, Recommender};
use assay_value::recommend::{players, Audience, Player, RecConfig, RecommenderUtility};
use assay_value::{Convergence, Method, Utility, ValueConfig, ValueError, Values};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::model::*;

/// What went wrong in a study.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// The data has too little of something to value.
    #[error("cannot build the report: {0}")]
    Empty(String),
    /// A valuation method failed.
    #[error(transparent)]
    Value(#[from] ValueError),
}

/// The knobs of a study. [`StudyConfig::new`] gives defaults sized for a shop of a few
/// thousand users and about a thousand items (the quickstart shop) to run in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyConfig {
    /// The model refitted for every subset.
    pub model: ModelSpec,
    /// The quality measure.
    pub metric: Metric,
    /// Its cut-off.
    pub k: usize,
    /// Seed of the split and every random draw.
    pub seed: u64,
    /// Number of equal time windows.
    pub windows: usize,
    /// User attribute whose values are the segments.
    pub segment_attribute: String,
    /// Largest number of groups valued exactly (2^n fits); more use TMC-Shapley.
    pub max_exact: usize,
    /// Permutations of TMC-Shapley for kinds with more groups than `max_exact`.
    pub group_permutations: u64,
    /// MSR Banzhaf samples per half of the users (0: no user values, no removal curves).
    pub user_samples: u64,
    /// MSR Banzhaf samples for item values (0: no item values).
    pub item_samples: u64,
    /// Shares of users removed for the removal curves (0 is added).
    pub removal_fractions: Vec<f64>,
    /// Random removal orders averaged.
    pub random_draws: u32,
    /// Shares of data for the learning curves (1 is added).
    pub learning_fractions: Vec<f64>,
}

impl StudyConfig {
    /// Defaults: 4 windows, segments from the `segment` attribute, exact Shapley up to 6
    /// groups, 100 MSR samples per half of the users, 100 for items, removal at 5%..50% with
    /// 3 random orders, learning curves at 5%..100%.
    pub fn new(model: ModelSpec, metric: Metric, k: usize, seed: u64) -> StudyConfig {
        StudyConfig {
            model,
            metric,
            k,
            seed,
            windows: 4,
            segment_attribute: "segment".into(),
            max_exact: 6,
            group_permutations: 8,
            user_samples: 100,
            item_samples: 100,
            removal_fractions: vec![0.05, 0.1, 0.2, 0.3, 0.4, 0.5],
            random_draws: 3,
            learning_fractions: vec![0.05, 0.1, 0.2, 0.4, 0.6, 0.8],
        }
    }
}

/// Where a running study is: the stage, fits done, fits planned (an estimate).
#[derive(Debug, Clone, Copy)]
pub struct StudyProgress<'a> {
    /// What is being computed.
    pub stage: &'a str,
    /// Model fits so far.
    pub fits: u64,
    /// Model fits the study plans in all.
    pub planned: u64,
}

/// Fits models and scores them per user, counting fits.
struct Lab<'a> {
    data: &'a Dataset,
    config: &'a StudyConfig,
    fits: AtomicU64,
    planned: AtomicU64,
    stage: std::sync::Mutex<String>,
    progress: &'a (dyn Fn(StudyProgress<'_>) + Sync),
}

/// Validation or test users: (user, relevant items not in training, training items to mask).
struct EvalUsers {
    users: Vec<(UserIdx, Vec<ItemIdx>, Vec<ItemIdx>)>,
}

impl EvalUsers {
    fn new(data: &Dataset, train: &[u32], eval: &[u32]) -> EvalUsers {
        let full = Interactions::from_events(data, train);
        let eval = Interactions::from_events(data, eval);
        let users = (0..data.users.len() as u32)
            .filter_map(|u| {
                let train_items = full.items_of(u);
                let relevant: Vec<ItemIdx> = eval
                    .items_of(u)
                    .iter()
                    .copied()
                    .filter(|i| train_items.binary_search(i).is_err())
                    .collect();
                (!relevant.is_empty()).then(|| (u, relevant, train_items.to_vec()))
            })
            .collect();
        EvalUsers { users }
    }
}

impl Lab<'_> {
    fn stage(&self, stage: &str) {
        if let Ok(mut s) = self.stage.lock() {
            stage.clone_into(&mut s);
        }
        self.report();
    }

    fn report(&self) {
        let stage = self.stage.lock().map(|s| s.clone()).unwrap_or_default();
        (self.progress)(StudyProgress {
            stage: &stage,
            fits: self.fits.load(Ordering::Relaxed),
            planned: self.planned.load(Ordering::Relaxed),
        });
    }

    /// A model fitted on `rows`; `None` when it cannot be fitted (say, no data), which
    /// scores 0 for everyone, as in [`RecommenderUtility`].
    fn fit(&self, rows: &[u32]) -> Option<Box<dyn Recommender>> {
        let train = Interactions::from_events(self.data, rows);
        let no_epochs = |_: usize, _: Option<f64>| {};
        let model = self
            .config
            .model
            .fit(&train, self.data, None, &no_epochs)
            .ok();
        self.fits.fetch_add(1, Ordering::Relaxed);
        self.report();
        model
    }

    fn per_user(&self, model: Option<&dyn Recommender>, audience: &EvalUsers) -> Vec<f64> {
        let Some(model) = model else {
            return vec![0.0; audience.users.len()];
        };
        let k = self.config.k;
        audience
            .users
            .par_iter()
            .map(|(user, relevant, mask)| {
                let ranked: Vec<u32> = model
                    .top_k(*user, k, mask)
                    .into_iter()
                    .map(|(item, _)| item)
                    .collect();
                let hits = assay_metrics::hit_vector(&ranked, relevant);
                self.config.metric.at(&hits, relevant.len(), k)
            })
            .collect()
    }

    fn mean_score(&self, rows: &[u32], audience: &EvalUsers) -> f64 {
        mean(&self.per_user(self.fit(rows).as_deref(), audience))
    }
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// The Shapley value of every player in every per-user game, from the per-user utilities of
/// all `2^n` subsets (`games[mask][u]`). Returns `phi[player][u]`.
pub fn per_user_shapley(n: usize, games: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n_users = games.first().map_or(0, Vec::len);
    // w(s) = s! (n - s - 1)! / n!, the weight of a coalition of size s not containing i.
    let weight = |s: usize| -> f64 {
        let mut w = 1.0 / n as f64;
        // 1 / (n * C(n-1, s))
        let mut binom = 1.0;
        for j in 0..s {
            binom = binom * (n - 1 - j) as f64 / (j + 1) as f64;
        }
        w /= binom;
        w
    };
    let mut phi = vec![vec![0.0; n_users]; n];
    for (i, phi_i) in phi.iter_mut().enumerate() {
        let bit = 1usize << i;
        for mask in 0..(1usize << n) {
            if mask & bit != 0 {
                continue;
            }
            let w = weight(mask.count_ones() as usize);
            let (with, without) = (&games[mask | bit], &games[mask]);
            for u in 0..n_users {
                phi_i[u] += w * (with[u] - without[u]);
            }
        }
    }
    phi
}

/// Mean and standard error of the mean (NaN below two values).
fn mean_se(xs: &[f64]) -> (f64, f64) {
    let m = mean(xs);
    if xs.len() < 2 {
        return (m, f64::NAN);
    }
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - 1) as f64;
    (m, (var / xs.len() as f64).sqrt())
}

/// A utility that counts its evaluations into the lab.
struct Counted<'a, U> {
    inner: U,
    lab: &'a Lab<'a>,
}

impl<U: Utility> Utility for Counted<'_, U> {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn n_players(&self) -> usize {
        self.inner.n_players()
    }
    fn player_name(&self, player: usize) -> String {
        self.inner.player_name(player)
    }
    fn eval(&self, subset: &[usize]) -> f64 {
        let value = self.inner.eval(subset);
        self.lab.fits.fetch_add(1, Ordering::Relaxed);
        self.lab.report();
        value
    }
}

fn value_groups(
    lab: &Lab<'_>,
    kind: &str,
    title: &str,
    train: &[u32],
    groups: Vec<Player>,
    valid: &EvalUsers,
) -> Result<Option<ValueTable>, StudyError> {
    if groups.len() < 2 {
        // One group is all the data: its value is the whole score, which says nothing.
        return Ok(None);
    }
    lab.stage(&format!("{kind} values"));
    let mut owned = vec![false; lab.data.events.len()];
    groups
        .iter()
        .flat_map(|g| &g.rows)
        .for_each(|&r| owned[r as usize] = true);
    let base: Vec<u32> = train
        .iter()
        .copied()
        .filter(|&r| !owned[r as usize])
        .collect();
    let n = groups.len();
    let rows_of = |g: &Player| g.rows.len() as u64;
    if n <= lab.config.max_exact {
        let games: Vec<Vec<f64>> = (0..1usize << n)
            .map(|mask| {
                let mut rows = base.clone();
                for (i, g) in groups.iter().enumerate() {
                    if mask & (1 << i) != 0 {
                        rows.extend_from_slice(&g.rows);
                    }
                }
                lab.per_user(lab.fit(&rows).as_deref(), valid)
            })
            .collect();
        let phi = per_user_shapley(n, &games);
        let rows = groups
            .iter()
            .zip(&phi)
            .map(|(g, p)| {
                let (value, std_error) = mean_se(p);
                ValueRow {
                    name: g.name.clone(),
                    value,
                    std_error,
                    rows: rows_of(g),
                }
            })
            .collect();
        return Ok(Some(ValueTable {
            kind: kind.into(),
            title: title.into(),
            method: format!(
                "exact Shapley over {n} {} ({} fits)",
                crate::advice::plural(kind),
                1 << n
            ),
            uncertainty: format!("the spread over the {} validation users", valid.users.len()),
            rows,
        }));
    }
    let permutations = lab.config.group_permutations.max(2);
    let estimates = sampled_per_user_shapley(n, permutations, lab.config.seed, |mask| {
        let mut rows = base.clone();
        for (i, g) in groups.iter().enumerate() {
            if mask & (1 << i) != 0 {
                rows.extend_from_slice(&g.rows);
            }
        }
        lab.per_user(lab.fit(&rows).as_deref(), valid)
    });
    Ok(Some(ValueTable {
        kind: kind.into(),
        title: title.into(),
        method: format!(
            "Monte-Carlo Shapley over {n} {} ({permutations} permutations)",
            crate::advice::plural(kind)
        ),
        uncertainty: format!(
            "the spread over sampled permutations and over the {} validation users (combined)",
            valid.users.len()
        ),
        rows: groups
            .iter()
            .zip(estimates)
            .map(|(g, (value, std_error))| ValueRow {
                name: g.name.clone(),
                value,
                std_error,
                rows: rows_of(g),
            })
            .collect(),
    }))
}

/// Shapley values from `permutations` random orders of `n` players (no truncation), with
/// per-user utilities `eval(mask)`, each distinct subset evaluated once. Returns per player
/// (value, standard error), the error combining the spread over permutations and over
/// users as `sqrt(se_perm^2 + se_users^2)`: the users' spread already contains some
/// permutation noise, so this errs on the wide side.
pub fn sampled_per_user_shapley(
    n: usize,
    permutations: u64,
    seed: u64,
    eval: impl Fn(usize) -> Vec<f64>,
) -> Vec<(f64, f64)> {
    let mut cache: std::collections::HashMap<usize, Vec<f64>> = std::collections::HashMap::new();
    let mut get =
        |mask: usize| -> Vec<f64> { cache.entry(mask).or_insert_with(|| eval(mask)).clone() };
    // per_user[i][u]: sum of user u's marginals of player i; per_perm[i]: user-mean marginals.
    let mut per_user: Vec<Vec<f64>> = Vec::new();
    let mut per_perm: Vec<Vec<f64>> = vec![Vec::new(); n];
    for k in 0..permutations {
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut stream_rng(seed, 5000 + k));
        let mut mask = 0usize;
        let mut before = get(mask);
        if per_user.is_empty() {
            per_user = vec![vec![0.0; before.len()]; n];
        }
        for &i in &order {
            mask |= 1 << i;
            let after = get(mask);
            for (u, (a, b)) in after.iter().zip(&before).enumerate() {
                per_user[i][u] += a - b;
            }
            let marginal: Vec<f64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
            per_perm[i].push(mean(&marginal));
            before = after;
        }
    }
    (0..n)
        .map(|i| {
            let users: Vec<f64> = per_user
                .get(i)
                .map(|v| v.iter().map(|x| x / permutations as f64).collect())
                .unwrap_or_default();
            let (value, se_perm) = mean_se(&per_perm[i]);
            let (_, se_users) = mean_se(&users);
            (value, (se_perm * se_perm + se_users * se_users).sqrt())
        })
        .collect()
}

/// User values in two halves; returns the table and (user, value) pairs.
fn value_users(
    lab: &Lab<'_>,
    train: &[u32],
    valid: &[u32],
    rec: &RecConfig,
) -> Result<(ValueTable, Vec<(UserIdx, f64)>), StudyError> {
    lab.stage("user values");
    let all = players::by_user(lab.data, train);
    let mut rows = Vec::new();
    let mut pairs = Vec::new();
    let mut evals = 0;
    for half in 0..2u32 {
        let group: Vec<Player> = all
            .iter()
            .filter(|p| p.users.first().is_some_and(|u| u % 2 == half))
            .cloned()
            .collect();
        if group.is_empty() {
            continue;
        }
        let utility = RecommenderUtility::new(lab.data, train, valid, group.clone(), rec.clone())?;
        let values = msr(
            lab,
            Counted {
                inner: utility,
                lab,
            },
            lab.config.user_samples,
            half as u64,
        )?;
        evals += values.utility_evals;
        for (p, v) in group.iter().zip(&values.players) {
            rows.push(ValueRow {
                name: p.name.clone(),
                value: v.value,
                std_error: v.std_error,
                rows: p.rows.len() as u64,
            });
            pairs.push((p.users[0], v.value));
        }
    }
    Ok((
        ValueTable {
            kind: "user".into(),
            title: "Users".into(),
            method: format!(
                "MSR Banzhaf, {} samples per half of the users ({evals} fits), value to the other half's validation users",
                lab.config.user_samples
            ),
            uncertainty: "the spread over sampled subsets".into(),
            rows,
        },
        pairs,
    ))
}

fn msr<U: Utility>(
    lab: &Lab<'_>,
    utility: U,
    samples: u64,
    stream: u64,
) -> Result<Values, StudyError> {
    Ok(assay_value::value_players(
        &utility,
        &Method::MsrBanzhaf,
        &ValueConfig {
            seed: lab.config.seed.wrapping_add(1000 + stream),
            convergence: Convergence::fixed(samples.max(2)),
        },
        &|_, _| {},
    )?)
}

fn value_items(
    lab: &Lab<'_>,
    train: &[u32],
    valid: &[u32],
    rec: &RecConfig,
) -> Result<ValueTable, StudyError> {
    lab.stage("item values");
    let items = players::by_item(lab.data, train);
    let utility = RecommenderUtility::new(lab.data, train, valid, items.clone(), rec.clone())?;
    let values = msr(
        lab,
        Counted {
            inner: utility,
            lab,
        },
        lab.config.item_samples,
        7,
    )?;
    Ok(ValueTable {
        kind: "item".into(),
        title: "Items".into(),
        method: format!(
            "MSR Banzhaf, {} samples ({} fits)",
            lab.config.item_samples, values.utility_evals
        ),
        uncertainty: "the spread over sampled subsets".into(),
        rows: items
            .iter()
            .zip(&values.players)
            .map(|(p, v)| ValueRow {
                name: p.name.clone(),
                value: v.value,
                std_error: v.std_error,
                rows: p.rows.len() as u64,
            })
            .collect(),
    })
}

fn removal_curves(
    lab: &Lab<'_>,
    train: &[u32],
    user_values: &[(UserIdx, f64)],
    test: &EvalUsers,
    full_score: f64,
) -> RemovalCurves {
    lab.stage("removal curves");
    let mut order: Vec<(UserIdx, f64)> = user_values.to_vec();
    order.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let low_first: Vec<UserIdx> = order.iter().map(|u| u.0).collect();
    let high_first: Vec<UserIdx> = low_first.iter().rev().copied().collect();
    let mut fractions = vec![0.0];
    fractions.extend(
        lab.config
            .removal_fractions
            .iter()
            .copied()
            .filter(|&f| f > 0.0 && f < 1.0),
    );
    let n_users = lab.data.users.len();
    let score_without = |removed: &[UserIdx]| {
        let mut gone = vec![false; n_users];
        removed.iter().for_each(|&u| gone[u as usize] = true);
        let rows: Vec<u32> = train
            .iter()
            .copied()
            .filter(|&r| !gone[lab.data.events.user[r as usize] as usize])
            .collect();
        lab.mean_score(&rows, test)
    };
    let count = |f: f64| ((f * low_first.len() as f64).round() as usize).min(low_first.len());
    let curve = |order: &[UserIdx]| -> Vec<f64> {
        fractions
            .iter()
            .map(|&f| {
                if f == 0.0 {
                    full_score
                } else {
                    score_without(&order[..count(f)])
                }
            })
            .collect()
    };
    let high = curve(&high_first);
    let low = curve(&low_first);
    let draws = lab.config.random_draws.max(1);
    let mut random = vec![0.0; fractions.len()];
    for draw in 0..draws {
        let mut shuffled = low_first.clone();
        shuffled.shuffle(&mut stream_rng(lab.config.seed, 2000 + draw as u64));
        for (slot, y) in random.iter_mut().zip(curve(&shuffled)) {
            *slot += y / draws as f64;
        }
    }
    RemovalCurves {
        kind: "user".into(),
        fractions,
        high_first: high,
        random,
        low_first: low,
        random_draws: draws,
    }
}

fn stream_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Fits `without + a x^b` to the points above `without`; `None` with fewer than two.
pub fn fit_curve(fractions: &[f64], scores: &[f64], without: f64) -> Option<PowerLaw> {
    let gains: Vec<f64> = scores.iter().map(|s| s - without).collect();
    let (a, b) = assay_value::assess::fit_power_law(fractions, &gains);
    (a.is_finite() && b.is_finite()).then_some(PowerLaw {
        offset: without,
        a,
        b,
    })
}

fn learning_curve(
    lab: &Lab<'_>,
    name: &str,
    fixed: &[u32],
    varied: &[u32],
    stream: u64,
    test: &EvalUsers,
    full_score: f64,
) -> LearningCurve {
    let mut shuffled = varied.to_vec();
    shuffled.shuffle(&mut stream_rng(lab.config.seed, stream));
    let mut fractions: Vec<f64> = lab
        .config
        .learning_fractions
        .iter()
        .copied()
        .filter(|&f| f > 0.0 && f < 1.0)
        .collect();
    fractions.push(1.0);
    let scores: Vec<f64> = fractions
        .iter()
        .map(|&f| {
            if f == 1.0 {
                return full_score;
            }
            let m = ((f * shuffled.len() as f64).round() as usize).min(shuffled.len());
            let mut rows = fixed.to_vec();
            rows.extend_from_slice(&shuffled[..m]);
            lab.mean_score(&rows, test)
        })
        .collect();
    let without = if fixed.is_empty() {
        0.0
    } else {
        lab.mean_score(fixed, test)
    };
    LearningCurve {
        name: name.into(),
        fit: fit_curve(&fractions, &scores, without),
        fractions,
        scores,
        without,
    }
}

/// Runs the whole study on `data`; `name` is how the report names the dataset.
pub fn study(
    data: &Dataset,
    name: &str,
    config: &StudyConfig,
    progress: &(dyn Fn(StudyProgress<'_>) + Sync),
) -> Result<ValueReport, StudyError> {
    let started = Instant::now();
    if config.k == 0 {
        return Err(StudyError::Empty(
            "the metric's cut-off K must be at least 1".into(),
        ));
    }
    let all: Vec<u32> = (0..data.events.len() as u32).collect();
    let kinds: Vec<EventKind> = EventKind::ALL
        .into_iter()
        .filter(|&k| k != EventKind::Impression)
        .collect();
    let rows = clean::of_kinds(data, &all, &kinds);
    let split = by_ratio(
        data,
        &rows,
        [0.8, 0.1, 0.1],
        Order::Random { seed: config.seed },
    );
    if split.train.is_empty() || split.valid.is_empty() || split.test.is_empty() {
        return Err(StudyError::Empty(format!(
            "{name}: the 80/10/10 split of its {} non-impression events leaves a part empty",
            rows.len()
        )));
    }
    let lab = Lab {
        data,
        config,
        fits: AtomicU64::new(0),
        planned: AtomicU64::new(0),
        stage: std::sync::Mutex::new("baseline".into()),
        progress,
    };
    let valid = EvalUsers::new(data, &split.train, &split.valid);
    let test = EvalUsers::new(data, &split.train, &split.test);
    if valid.users.is_empty() || test.users.is_empty() {
        return Err(StudyError::Empty(format!(
            "{name}: no user has validation or test items outside their training items"
        )));
    }

    let groups: Vec<(&str, &str, Vec<Player>)> = {
        let mut g = vec![(
            "source",
            "Data sources",
            players::by_source(data, &split.train),
        )];
        if let Some(segments) = players::by_segment(data, &split.train, &config.segment_attribute) {
            g.push(("segment", "User segments", segments));
        }
        g.push((
            "window",
            "Time windows",
            players::by_time_window(data, &split.train, config.windows),
        ));
        g.push((
            "category",
            "Item categories",
            players::by_category(data, &split.train),
        ));
        g
    };
    let sources = groups[0].2.clone();
    let planned: u64 = 1
        + groups
            .iter()
            .filter(|g| g.2.len() >= 2)
            .map(|g| {
                let n = g.2.len();
                if n <= config.max_exact {
                    1u64 << n
                } else {
                    config.group_permutations.max(2) * n as u64
                }
            })
            .sum::<u64>()
        + 2 * config.user_samples
        + config.item_samples
        + if config.user_samples > 0 {
            (config.removal_fractions.len() as u64) * (2 + config.random_draws.max(1) as u64)
        } else {
            0
        }
        + (config.learning_fractions.len() as u64) * (1 + sources.len() as u64)
        + sources.len() as u64;
    lab.planned.store(planned, Ordering::Relaxed);

    lab.stage("baseline");
    let full_model = lab.fit(&split.train);
    let valid_score = mean(&lab.per_user(full_model.as_deref(), &valid));
    let test_score = mean(&lab.per_user(full_model.as_deref(), &test));
    drop(full_model);

    let mut group_tables = Vec::new();
    let mut notes = Vec::new();
    for (kind, title, players) in groups {
        match value_groups(&lab, kind, title, &split.train, players, &valid)? {
            Some(table) => group_tables.push(table),
            None => notes.push(format!(
                "{title}: fewer than two in the training data, not valued."
            )),
        }
    }

    let rec = RecConfig {
        model: config.model.clone(),
        metric: config.metric,
        k: config.k,
        audience: Audience::Others,
    };
    let mut point_tables = Vec::new();
    let mut removal = None;
    if config.user_samples > 0 {
        let (table, pairs) = value_users(&lab, &split.train, &split.valid, &rec)?;
        point_tables.push(table);
        removal = Some(removal_curves(
            &lab,
            &split.train,
            &pairs,
            &test,
            test_score,
        ));
    }
    if config.item_samples > 0 {
        point_tables.push(value_items(&lab, &split.train, &split.valid, &rec)?);
    }

    lab.stage("learning curves");
    let overall = learning_curve(&lab, "all data", &[], &split.train, 3000, &test, test_score);
    let per_source = if sources.len() >= 2 {
        sources
            .iter()
            .enumerate()
            .map(|(i, source)| {
                let mut mine = vec![false; data.events.len()];
                source.rows.iter().for_each(|&r| mine[r as usize] = true);
                let others: Vec<u32> = split
                    .train
                    .iter()
                    .copied()
                    .filter(|&r| !mine[r as usize])
                    .collect();
                learning_curve(
                    &lab,
                    &source.name,
                    &others,
                    &source.rows,
                    3001 + i as u64,
                    &test,
                    test_score,
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    lab.stage("done");

    Ok(ValueReport {
        title: format!("What the data of {name} is worth"),
        dataset: DatasetSummary {
            name: name.into(),
            users: data.users.len() as u64,
            items: data.items.len() as u64,
            events: data.events.len() as u64,
            train_rows: split.train.len() as u64,
            valid_rows: split.valid.len() as u64,
            test_rows: split.test.len() as u64,
        },
        utility: format!("{}@{}", config.metric.name(), config.k),
        model: config.model.to_string(),
        baseline: Baseline {
            valid: valid_score,
            test: test_score,
        },
        groups: group_tables,
        points: point_tables,
        removal,
        learning: Some(LearningCurves {
            overall,
            per_source,
        }),
        provenance: Provenance {
            seed: config.seed,
            split: "per-user random 80/10/10 of all non-impression events (values on validation, curves on test)".into(),
            utility_evals: lab.fits.load(Ordering::Relaxed),
            seconds: started.elapsed().as_secs_f64(),
            version: env!("CARGO_PKG_VERSION").into(),
            notes,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_value::{exact_shapley, FnUtility};

    #[test]
    fn per_user_shapley_averages_to_the_shapley_of_the_mean_game() {
        // Three players, two users with hand-made games.
        let n = 3;
        let user0 = |m: usize| (m.count_ones() as f64).powi(2) + if m & 1 != 0 { 0.5 } else { 0.0 };
        let user1 = |m: usize| if m & 0b110 == 0b110 { 1.0 } else { 0.0 };
        let games: Vec<Vec<f64>> = (0..8).map(|m| vec![user0(m), user1(m)]).collect();
        let phi = per_user_shapley(n, &games);
        // User 1's game is unanimity of {1, 2}: 0, 1/2, 1/2.
        assert!((phi[0][1]).abs() < 1e-12);
        assert!((phi[1][1] - 0.5).abs() < 1e-12 && (phi[2][1] - 0.5).abs() < 1e-12);
        // Efficiency per user: values sum to v(N) - v(empty).
        let total0: f64 = phi.iter().map(|p| p[0]).sum();
        assert!((total0 - (user0(7) - user0(0))).abs() < 1e-12);
        let mean_game = FnUtility::new("mean", n, |s: &[usize]| {
            let m = s.iter().fold(0usize, |m, &p| m | 1 << p);
            (user0(m) + user1(m)) / 2.0
        });
        let exact = exact_shapley(&mean_game).unwrap();
        for (phi_i, player) in phi.iter().zip(&exact.players) {
            assert!((mean(phi_i) - player.value).abs() < 1e-12);
        }
    }

    #[test]
    fn sampled_shapley_is_exact_on_an_additive_game() {
        // Additive per-user games: every permutation gives every player its own weight, so
        // the estimate is exact and the permutation spread is 0; the users' spread remains.
        let weights = [[1.0, 3.0], [2.0, 2.0], [0.5, 0.5]];
        let eval = |mask: usize| -> Vec<f64> {
            (0..2)
                .map(|u| {
                    (0..3)
                        .filter(|i| mask & (1 << i) != 0)
                        .map(|i| weights[i][u])
                        .sum()
                })
                .collect()
        };
        let estimates = sampled_per_user_shapley(3, 5, 1, eval);
        // Player 0: users 1 and 3, mean 2, sd sqrt(2), se 1.
        assert!((estimates[0].0 - 2.0).abs() < 1e-12 && (estimates[0].1 - 1.0).abs() < 1e-12);
        assert!((estimates[1].0 - 2.0).abs() < 1e-12 && estimates[1].1.abs() < 1e-12);
        assert!((estimates[2].0 - 0.5).abs() < 1e-12);
    }

    #[test]
    fn power_law_fit_above_an_offset() {
        let xs = [0.25, 0.5, 1.0];
        let ys: Vec<f64> = xs.iter().map(|x: &f64| 0.1 + 0.02 * x.powf(0.5)).collect();
        let fit = fit_curve(&xs, &ys, 0.1).unwrap();
        assert!((fit.a - 0.02).abs() < 1e-9 && (fit.b - 0.5).abs() < 1e-9);
        assert!((fit.at(1.0) - 0.12).abs() < 1e-9);
        // No point above the offset: no fit.
        assert!(fit_curve(&xs, &[0.05, 0.05, 0.05], 0.1).is_none());
    }
}
