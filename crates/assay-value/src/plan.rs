//! The valuation plan: what a front end asks for, and [`run`], the one function that
//! carries it out.
//!
//! A [`ValuationPlan`] names the players (sources, categories, time windows, segments,
//! users, items or interactions), the [`Method`], the model refitted on every subset, the
//! utility (a ranking metric at K, or an off-policy business metric) and whose
//! recommendations count. [`run`] prepares the data the way every front end must
//! (impressions are exposure, not preference, unless the plan says to learn from them; users
//! and interactions are valued by their
//! first (user, item) pair; a seeded 80/20 split, by time for off-policy utilities), builds
//! the players and the utility, and returns a plain [`Values`] table.
//!
//! **Users in halves.** When every user is a player and the utility is their value to
//! *others*, no one would be left to score the recommendations. [`value_in_halves`] values
//! each half of the users (by index parity) with the other half as the audience and merges
//! the two tables: player indices point into the full list and the standard errors of the
//! sums add in quadrature. With an item-item model (EASE, ItemKNN) each half's model is
//! fitted on that half's users alone and scores the other half from their own histories
//! ([`HistoryUtility`]), so a group of users (a click farm) cannot vouch for itself.

use std::path::Path;

use assay_bandit::EstimatorKind;
use assay_core::clean::{self, Impressions};
use assay_core::{split, Dataset, EventKind};
use assay_metrics::Metric;
use assay_recommend::FusionParams;
use assay_recommend::ModelSpec;

use crate::business::{BusinessMetric, OpeUtility, OpeUtilityConfig};
use crate::recommend::{self, players, Audience, Player, RecConfig, RecommenderUtility};
use crate::recommend_oob::{interaction_oob, user_oob, HistoryUtility, ItemItem, RecOobConfig};
use crate::{Convergence, Method, Utility, ValueConfig, ValueError, Values};

/// Who the players are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerKind {
    /// One player per data source.
    Sources,
    /// One per top-level item category.
    Categories,
    /// One per equal time window ([`ValuationPlan::windows`]).
    Windows,
    /// One per value of a user attribute ([`ValuationPlan::segment_attribute`]).
    Segments,
    /// One per user.
    Users,
    /// One per item.
    Items,
    /// One per (first) interaction of a user with an item.
    Interactions,
    /// The three modalities of a fusion recommender: text, image, behaviour
    /// ([`crate::modalities`]).
    Modalities,
}

impl PlayerKind {
    /// The plural name ("sources", "users"...).
    pub fn name(self) -> &'static str {
        match self {
            PlayerKind::Sources => "sources",
            PlayerKind::Categories => "categories",
            PlayerKind::Windows => "windows",
            PlayerKind::Segments => "segments",
            PlayerKind::Users => "users",
            PlayerKind::Items => "items",
            PlayerKind::Interactions => "interactions",
            PlayerKind::Modalities => "modalities",
        }
    }

    /// Whether players are (user, item) pairs, so repeated pairs are dropped first.
    fn by_pairs(self) -> bool {
        matches!(self, PlayerKind::Users | PlayerKind::Interactions)
    }
}

/// Whose recommendations a ranking utility scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scorers {
    /// Every validation user (of the [`Audience`]).
    All,
    /// Only users with a purchase anywhere in the log ([`recommend::buyers`]).
    Buyers,
}

/// What a subset of the data is worth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PlanUtility {
    /// A ranking metric at K on a random 20% validation split.
    Ranking {
        /// The metric.
        metric: Metric,
        /// Its cut-off.
        k: usize,
        /// Whose recommendations count.
        scorers: Scorers,
    },
    /// The clicks (revenue) per impression of the model's top-K epsilon-greedy policy,
    /// estimated off-policy (SNIPS) on the last 20% of the log by time.
    Business {
        /// Clicks or revenue.
        metric: BusinessMetric,
        /// The list length.
        k: usize,
        /// Exploration share in (0, 1].
        epsilon: f64,
    },
}

impl PlanUtility {
    /// The utility as a front end writes it: `ndcg@10`, `ctr-ope@10`.
    pub fn name(&self) -> String {
        match self {
            PlanUtility::Ranking { metric, k, .. } => format!("{}@{k}", metric.name()),
            PlanUtility::Business { metric, k, .. } => format!("{}-ope@{k}", metric.name()),
        }
    }
}

/// A valuation request.
#[derive(Debug, Clone, PartialEq)]
pub struct ValuationPlan {
    /// Who the players are.
    pub players: PlayerKind,
    /// Number of time windows for [`PlayerKind::Windows`].
    pub windows: usize,
    /// User attribute for [`PlayerKind::Segments`].
    pub segment_attribute: String,
    /// The valuation method.
    pub method: Method,
    /// The model refitted on every subset.
    pub model: ModelSpec,
    /// What a subset is worth.
    pub utility: PlanUtility,
    /// Value to others, or in total.
    pub audience: Audience,
    /// Seed of the split and of every random draw.
    pub seed: u64,
    /// When Monte-Carlo sampling stops.
    pub convergence: Convergence,
    /// Whether the model learns from impressions (by default it does not).
    pub impressions: Impressions,
}

/// Most groups (sources, categories, windows, segments) valued exactly by default: 2^8 = 256
/// fits, about 10 s with EASE on a 1M-event shop of 1,000 items (BENCHMARKS.md).
pub const MAX_EXACT_GROUPS: usize = 8;

/// The model the default plan refits: ItemKNN with 100 neighbours and a shrink of 10. An
/// item-item model, so users can be valued in cross-fitted halves (a group of users cannot
/// vouch for itself); cheap to refit thousands of times; and, unlike EASE, hurt by bots the
/// way a neighbourhood model in production is (BENCHMARKS.md, "Do the bots hurt?").
pub fn default_model() -> ModelSpec {
    ModelSpec::new(assay_recommend::ItemKnnParams {
        k: 100,
        shrink: 10.0,
    })
}

/// MSR Banzhaf samples per half of the users (or for the items) that the default plan draws
/// for `train_rows` training rows: as many as about [`SAMPLE_ROWS`] rows of refitting allow
/// (cheap on small data), at least 300 and at most 3,000.
pub fn default_samples(train_rows: usize) -> u64 {
    (SAMPLE_ROWS / train_rows.max(1) as u64).clamp(300, 3_000)
}

/// The refitting work the default plan allows, in training rows summed over samples.
pub const SAMPLE_ROWS: u64 = 16_000_000;

/// Data-OOB bags of the default plan for single interactions.
pub const DEFAULT_BAGS: usize = 30;

/// The plan a front end gets when it names no method, for `players` of `data`, and one
/// sentence saying what was chosen and why. Chosen by the kind of player and the size of
/// the data, from what the benchmarks showed (BENCHMARKS.md):
///
/// - **users**, with an NDCG utility and value to others: their influence on the other half's
///   ItemKNN lists ([`crate::influence`]; one fit per half): on the sparse shops of `assay
///   simulate --bad-data` it finds the bots with AUC 0.91-0.99 where MSR Banzhaf of NDCG@10
///   stays at 0.65-0.78 whatever its budget (a click farm's accounts are redundant in every
///   sampled coalition);
/// - **items**, and users under another utility: MSR Banzhaf (AUC 0.93-0.98 on a dense shop,
///   where leave-one-out, TMC and Beta Shapley reach 0.67-0.81), valued to others (users in
///   cross-fitted halves), scored by buyers, with [`default_samples`] samples;
/// - **groups** (sources, categories, windows, segments): exact Shapley up to
///   [`MAX_EXACT_GROUPS`] groups, MSR Banzhaf beyond, scored by buyers;
/// - **single interactions**: Data-OOB with [`DEFAULT_BAGS`] bags, a typicality score: one
///   interaction moves a utility too little for any semivalue to measure (MSR Banzhaf AUC
///   0.50, Data-OOB 0.91 on corrupted ml-100k).
///
/// The scorers are buyers (users with a purchase anywhere in the log: a trusted audience
/// found without labels) when at least [`MIN_BUYERS`] users bought, else everyone.
///
/// `request` gives the players (with their windows or segment attribute), the seed, the
/// audience and the utility's metric and cut-off; the rest of it is replaced.
pub fn default_plan(data: &Dataset, request: &ValuationPlan) -> (ValuationPlan, String) {
    let players = request.players;
    let n_buyers = recommend::buyers(data).iter().filter(|&&b| b).count();
    let scorers = if n_buyers >= MIN_BUYERS {
        Scorers::Buyers
    } else {
        Scorers::All
    };
    let train_rows = prepare_rows(data, players, request.impressions).len() * 4 / 5;
    let (metric, k) = match request.utility {
        PlanUtility::Ranking { metric, k, .. } => (metric, k),
        PlanUtility::Business { .. } => (Metric::Ndcg, 10),
    };
    let mut plan = ValuationPlan {
        method: Method::MsrBanzhaf,
        model: default_model(),
        utility: PlanUtility::Ranking { metric, k, scorers },
        convergence: Convergence::fixed(default_samples(train_rows)),
        ..request.clone()
    };
    let audience = match scorers {
        Scorers::Buyers => format!("scored by the {n_buyers} buyers' recommendations"),
        Scorers::All => format!(
            "scored by every validation user (only {n_buyers} users bought, fewer than {MIN_BUYERS})"
        ),
    };
    let samples = default_samples(train_rows);
    let why = match players {
        PlayerKind::Users if metric == Metric::Ndcg && request.audience == Audience::Others => {
            plan.method = Method::Influence {
                top: crate::influence::DEFAULT_TOP,
            };
            format!(
                "influence of each user on ItemKNN's lists (the derivative of the similarities \
                 along a LambdaRank direction of NDCG over each list's top {}), each half of \
                 the users fitted on its own and {audience} of the other half",
                crate::influence::DEFAULT_TOP
            )
        }
        PlayerKind::Users => format!(
            "MSR Banzhaf, {samples} samples per half of the users ({train_rows} training rows), \
             each half fitted on its own users and {audience} of the other half"
        ),
        PlayerKind::Items => {
            format!("MSR Banzhaf, {samples} samples ({train_rows} training rows), {audience}")
        }
        PlayerKind::Interactions => {
            plan.method = Method::DataOob { bags: DEFAULT_BAGS };
            format!(
                "Data-OOB, {DEFAULT_BAGS} bags: single interactions are valued by how typical they \
                 are (a semivalue cannot measure one interaction's effect)"
            )
        }
        PlayerKind::Modalities => {
            plan.method = Method::ExactShapley;
            plan.model = modality_model(&request.model);
            let why = format!(
                "exact Shapley over the 3 modalities (text, image, behaviour), each subset a \
                 refit of {} with only its modalities, the empty set worth 0, {audience}",
                plan.model
            );
            return (plan, why);
        }
        PlayerKind::Sources
        | PlayerKind::Categories
        | PlayerKind::Windows
        | PlayerKind::Segments => {
            // The number of groups is known once the players are built; prepare() builds
            // them the way `run` will.
            let groups = prepare(data, &plan).map_or(0, |p| p.players.len());
            if groups <= MAX_EXACT_GROUPS {
                plan.method = Method::ExactShapley;
                format!("exact Shapley over {groups} {}, {audience}", players.name())
            } else {
                format!(
                    "MSR Banzhaf, {samples} samples over {groups} {} (more than \
                     {MAX_EXACT_GROUPS}: too many to enumerate), {audience}",
                    players.name()
                )
            }
        }
    };
    (plan, format!("{why}; model {}", default_model()))
}

/// Fewest buyers for the default plan to score by buyers.
pub const MIN_BUYERS: usize = 20;

/// Where the data to value is.
#[derive(Debug, Clone, Copy)]
pub enum PlanSource<'a> {
    /// A loaded dataset (recommender data).
    Dataset(&'a Dataset),
    /// Two labelled CSV files (feature columns and a label column), for KNN-Shapley.
    Table {
        /// The training rows, which are the players.
        train: &'a Path,
        /// The test rows.
        test: &'a Path,
        /// The label column.
        label: &'a str,
    },
}

/// Where a running plan is.
#[derive(Debug, Clone, Copy)]
pub struct PlanProgress<'a> {
    /// What is being computed ("samples (half 1 of the users)", "Data-OOB: 100 model fits").
    pub stage: &'a str,
    /// Samples done.
    pub done: u64,
    /// Samples planned (0 when unknown).
    pub total: u64,
}

/// Why a plan could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The request does not fit the data; `field` is the plan's field at fault
    /// ("players", "windows", "method", "utility", "scorers", "model").
    #[error("{field} {message}")]
    Request {
        /// The field.
        field: &'static str,
        /// What is wrong, starting with the field's value.
        message: String,
    },
    /// The ranking utility could not be built (no one to score, say).
    #[error("building the utility: {0}")]
    Utility(#[source] ValueError),
    /// The valuation method failed.
    #[error(transparent)]
    Value(#[from] ValueError),
}

fn request<T>(field: &'static str, message: String) -> Result<T, PlanError> {
    Err(PlanError::Request { field, message })
}

/// Carries out `plan` on `source`; `progress` hears how far sampling is.
pub fn run(
    source: PlanSource<'_>,
    plan: &ValuationPlan,
    progress: &(dyn Fn(PlanProgress<'_>) + Sync),
) -> Result<Values, PlanError> {
    match (source, plan.method) {
        (PlanSource::Table { train, test, label }, Method::KnnShapley { k }) => {
            if k == 0 {
                return crate::error::param("k", k, "must be at least 1").map_err(Into::into);
            }
            Ok(crate::knn_shapley_csv(train, test, label, k)?)
        }
        (PlanSource::Table { .. }, _) => request(
            "method",
            "values the rows of a labelled table only with knn-shapley".into(),
        ),
        (PlanSource::Dataset(_), Method::KnnShapley { .. }) => request(
            "method",
            "knn-shapley values the rows of a labelled table (train and test files), not a dataset"
                .into(),
        ),
        (PlanSource::Dataset(data), _) => {
            // Parameters out of range would fail every fit: refuse them before any work.
            if let Err(error) = plan.model.check() {
                return request("model", format!("{}: {error}", plan.model));
            }
            crate::recommend::check_memory(&plan.model, data)?;
            value_dataset(data, plan, progress)
        }
    }
}

/// The rows a plan values: the split, and the players of its training part.
struct Prepared {
    parts: split::Split,
    players: Vec<Player>,
}

/// The rows a ranking plan splits: the events the model learns from (impressions only when
/// the plan says so), and for users and interactions only the first event of each (user,
/// item).
fn prepare_rows(data: &Dataset, players: PlayerKind, impressions: Impressions) -> Vec<u32> {
    let rows = clean::learning_rows(data, impressions);
    if players.by_pairs() {
        // Users and interactions are valued by their (user, item) pairs.
        clean::first_of_pairs(data, &rows)
    } else {
        rows
    }
}

fn prepare(data: &Dataset, plan: &ValuationPlan) -> Result<Prepared, PlanError> {
    let all: Vec<u32> = (0..data.events.len() as u32).collect();
    let rows = prepare_rows(data, plan.players, plan.impressions);
    let parts = match plan.utility {
        // Off-policy evaluation needs logs the model has not seen: the last 20% by time,
        // impressions included; the model learns from the rows before that it learns from.
        PlanUtility::Business { .. } => {
            let (mut parts, _, _) = split::by_time_ratio(data, &all, [0.8, 0.2, 0.0]);
            if plan.impressions == Impressions::Skip {
                parts
                    .train
                    .retain(|&r| data.events.kind[r as usize] != EventKind::Impression);
            }
            parts
        }
        PlanUtility::Ranking { .. } => split::by_ratio(
            data,
            &rows,
            [0.8, 0.2, 0.0],
            split::Order::Random { seed: plan.seed },
        ),
    };
    let train = &parts.train;
    let players = match plan.players {
        PlayerKind::Sources => players::by_source(data, train),
        PlayerKind::Categories => players::by_category(data, train),
        PlayerKind::Windows if plan.windows == 0 => {
            return request("windows", "0: expected at least 1".into())
        }
        PlayerKind::Windows => players::by_time_window(data, train, plan.windows),
        PlayerKind::Segments => match players::by_segment(data, train, &plan.segment_attribute) {
            Some(players) => players,
            None => {
                return request(
                    "players",
                    format!(
                        "segments: the users have no attribute '{}'",
                        plan.segment_attribute
                    ),
                )
            }
        },
        PlayerKind::Users => players::by_user(data, train),
        PlayerKind::Items => players::by_item(data, train),
        PlayerKind::Interactions => players::by_interaction(train),
        PlayerKind::Modalities => Vec::new(),
    };
    if players.is_empty() {
        return request(
            "players",
            format!("{}: the training data has none", plan.players.name()),
        );
    }
    Ok(Prepared { parts, players })
}

fn value_dataset(
    data: &Dataset,
    plan: &ValuationPlan,
    progress: &(dyn Fn(PlanProgress<'_>) + Sync),
) -> Result<Values, PlanError> {
    if plan.players == PlayerKind::Modalities {
        return value_modalities(data, plan, progress);
    }
    let Prepared { parts, players } = prepare(data, plan)?;
    if let Method::DataOob { bags } = plan.method {
        return oob_values(data, plan, bags, &parts.train, &players, progress);
    }
    if let Method::Influence { top } = plan.method {
        return influence_values(data, plan, top, &parts, &players, progress);
    }
    let halves = plan.players == PlayerKind::Users
        && plan.audience == Audience::Others
        && matches!(plan.utility, PlanUtility::Ranking { .. });
    if !halves {
        return value_group(data, plan, &parts, players, None, progress);
    }
    let merged = value_in_halves(&players, |half, group| {
        value_group(data, plan, &parts, group, Some(half), progress)
    })?;
    Ok(halves_table(merged)?)
}

/// The table of [`value_in_halves`], players in order, its utility saying how it was scored.
fn halves_table(merged: Option<Values>) -> Result<Values, ValueError> {
    let mut values = merged.ok_or_else(|| ValueError::Empty("no players to value".into()))?;
    values.players.sort_by_key(|p| p.player);
    values.utility = format!(
        "{} [each half of the users scored by the other]",
        values.utility
    );
    Ok(values)
}

/// Values players that each own one user in two halves, by the parity of the user's
/// index: `value_half(half, players of that half)` values one half (against the other
/// half's users as the audience, as the caller sees fit). Returns the merged table, the
/// first half's rows first, player indices pointing into `players`, evaluations summed and
/// the standard errors of the sums added in quadrature; `None` when both halves are empty.
pub fn value_in_halves<E>(
    players: &[Player],
    mut value_half: impl FnMut(u32, Vec<Player>) -> Result<Values, E>,
) -> Result<Option<Values>, E> {
    let mut merged: Option<Values> = None;
    for half in 0..2u32 {
        let members: Vec<usize> = (0..players.len())
            .filter(|&p| players[p].users.first().is_some_and(|u| u % 2 == half))
            .collect();
        if members.is_empty() {
            continue;
        }
        let group: Vec<Player> = members.iter().map(|&p| players[p].clone()).collect();
        let mut values = value_half(half, group)?;
        for p in &mut values.players {
            p.player = members[p.player];
        }
        merged = Some(match merged {
            None => values,
            Some(mut all) => {
                all.utility_evals += values.utility_evals;
                all.sum_std_error = all.sum_std_error.hypot(values.sum_std_error);
                all.players.extend(values.players);
                all
            }
        });
    }
    Ok(merged)
}

/// Data-OOB of users or interactions: each player's own held-out items ranked by models
/// fitted on bags that left the player out.
fn oob_values(
    data: &Dataset,
    plan: &ValuationPlan,
    bags: usize,
    train: &[u32],
    players: &[Player],
    progress: &(dyn Fn(PlanProgress<'_>) + Sync),
) -> Result<Values, PlanError> {
    let config = RecOobConfig {
        n_bags: bags,
        in_bag_fraction: 0.5,
        seed: plan.seed,
    };
    let stage = format!("Data-OOB: {bags} model fits");
    progress(PlanProgress {
        stage: &stage,
        done: 0,
        total: 0,
    });
    let values = match plan.players {
        PlayerKind::Users => user_oob(data, &[], players, &plan.model, &config),
        PlayerKind::Interactions => interaction_oob(data, &[], train, &plan.model, &config),
        other => {
            return request(
                "method",
                format!(
                "oob values users or interactions (each scored on its own held-out items), not {}",
                other.name()
            ),
            )
        }
    };
    values.or_else(|e| request("method", format!("oob: {e}")))
}

/// Influence of users on the other half's scorers' ItemKNN lists ([`crate::influence`]), in
/// halves by index parity: each half's users fitted alone.
fn influence_values(
    data: &Dataset,
    plan: &ValuationPlan,
    top: usize,
    parts: &split::Split,
    players: &[Player],
    progress: &(dyn Fn(PlanProgress<'_>) + Sync),
) -> Result<Values, PlanError> {
    if plan.players != PlayerKind::Users {
        return request(
            "method",
            format!(
                "influence values users (each scored by other users' lists), not {}",
                plan.players.name()
            ),
        );
    }
    let Some(&knn) = plan.model.params::<assay_recommend::ItemKnnParams>() else {
        return request(
            "model",
            format!(
                "{}: influence differentiates ItemKNN's similarities and needs itemknn",
                plan.model
            ),
        );
    };
    let scorers = match (plan.utility, plan.audience) {
        (PlanUtility::Ranking { scorers, .. }, Audience::Others) => scorers,
        _ => {
            return request(
                "method",
                format!(
                    "influence values users to others under a ranking utility, not {} {}",
                    plan.utility.name(),
                    if plan.audience == Audience::Total {
                        "in total"
                    } else {
                        "to others"
                    }
                ),
            )
        }
    };
    let buyer = recommend::buyers(data);
    let config = crate::influence::InfluenceConfig { knn, top };
    let merged = value_in_halves(players, |half, group| {
        progress(PlanProgress {
            stage: &format!("influence (half {} of the users)", half + 1),
            done: half as u64,
            total: 2,
        });
        let other = (half + 1) % 2;
        crate::influence::user_influence(
            data,
            &parts.train,
            &parts.valid,
            &group,
            |u| u % 2 == other && (scorers == Scorers::All || buyer[u as usize]),
            &config,
        )
    })
    .map_err(PlanError::Value)?;
    Ok(halves_table(merged)?)
}

/// Values one group of players (all of them, or the users of one half).
fn value_group(
    data: &Dataset,
    plan: &ValuationPlan,
    parts: &split::Split,
    players: Vec<Player>,
    half: Option<u32>,
    progress: &(dyn Fn(PlanProgress<'_>) + Sync),
) -> Result<Values, PlanError> {
    let recommender;
    let business_utility;
    let fast;
    let history;
    let utility: &dyn Utility = match plan.utility {
        PlanUtility::Business { metric, k, epsilon } => {
            business_utility = OpeUtility::new(
                data,
                &parts.train,
                &parts.valid,
                players,
                OpeUtilityConfig {
                    model: plan.model.clone(),
                    metric,
                    k,
                    epsilon,
                    estimator: EstimatorKind::Snipw,
                },
            )
            .or_else(|e| request("utility", format!("{}: {e}", plan.utility.name())))?;
            &business_utility
        }
        PlanUtility::Ranking { metric, k, scorers } => {
            let buyers = (scorers == Scorers::Buyers).then(|| recommend::buyers(data));
            let scorer = |u: u32| buyers.as_ref().is_none_or(|b| b[u as usize]);
            match half {
                // Item-item models score any history: fit on this half's users alone and
                // score the other half from their own histories.
                Some(half) if ItemItem::supports(&plan.model) => {
                    let other = (half + 1) % 2;
                    history = HistoryUtility::new(
                        data,
                        &parts.train,
                        &parts.valid,
                        players,
                        plan.model.clone(),
                        metric,
                        k,
                        |u| u % 2 == other && scorer(u),
                    )
                    .or_else(|e| request("players", format!("users: {e}")))?;
                    &history
                }
                _ => {
                    let config = RecConfig {
                        model: plan.model.clone(),
                        metric,
                        k,
                        audience: plan.audience,
                    };
                    let mut utility =
                        RecommenderUtility::new(data, &parts.train, &parts.valid, players, config)
                            .map_err(PlanError::Utility)?;
                    if let Some(buyers) = &buyers {
                        utility.restrict_audience(|u| buyers[u as usize]);
                        if utility.audience().next().is_none() {
                            return request(
                                "scorers",
                                "buyers: no validation user has a purchase".into(),
                            );
                        }
                    }
                    recommender = utility;
                    // The same utility, computed without refits where the model allows
                    // (EASE).
                    fast = crate::fast::fast_utility(&recommender);
                    &*fast
                }
            }
        }
    };
    let stage = match half {
        Some(half) => format!("samples (half {} of the users)", half + 1),
        None => "samples".into(),
    };
    let report = |done: u64, total: u64| {
        progress(PlanProgress {
            stage: &stage,
            done,
            total,
        })
    };
    Ok(crate::value_players(
        utility,
        &plan.method,
        &ValueConfig {
            seed: plan.seed,
            convergence: plan.convergence,
        },
        &report,
    )?)
}

/// The fusion model whose modalities are valued: `model` when it is a fusion kind, else
/// `fusion-attn`. Attention over the modalities is the fusion whose values ranked the
/// simulator's modalities as its truth does on every seed tried at 100,000 events (seeds 1-3;
/// the gate on two, concatenation on one): a fusion that mixes the modalities inside one MLP
/// lets one stand in for another, which blurs what each is worth on its own.
pub fn modality_model(model: &ModelSpec) -> ModelSpec {
    match model.params::<assay_recommend::FusionParams>() {
        Some(_) => model.clone(),
        None => ModelSpec::new(assay_recommend::FusionParams {
            method: assay_recommend::FusionMethod::Attn,
            ..assay_recommend::FusionParams::default()
        }),
    }
}

/// Values the modalities of the plan's fusion model by `plan.method` (exact Shapley by
/// default) on the ranking split.
fn value_modalities(
    data: &Dataset,
    plan: &ValuationPlan,
    progress: &(dyn Fn(PlanProgress<'_>) + Sync),
) -> Result<Values, PlanError> {
    let PlanUtility::Ranking { metric, k, scorers } = plan.utility else {
        return request(
            "utility",
            format!(
                "{}: modalities are valued by a ranking metric (ndcg, recall...)",
                plan.utility.name()
            ),
        );
    };
    let Some(params) = modality_model(&plan.model)
        .params::<assay_recommend::FusionParams>()
        .cloned()
    else {
        return request("model", "modalities: expected a fusion model".into());
    };
    let rows = prepare_rows(data, plan.players, plan.impressions);
    let parts = split::by_ratio(
        data,
        &rows,
        [0.8, 0.2, 0.0],
        split::Order::Random { seed: plan.seed },
    );
    let buyers = (scorers == Scorers::Buyers).then(|| recommend::buyers(data));
    let audience = recommend::audience_of(data, &parts.train, &parts.valid, |u| {
        buyers.as_ref().is_none_or(|b| b[u as usize])
    });
    let utility = crate::modalities::ModalityUtility::new(
        data,
        parts.train.clone(),
        audience,
        FusionParams {
            seed: plan.seed,
            ..params
        },
        metric,
        k,
    )
    .map_err(PlanError::Utility)?;
    let report = |done: u64, total: u64| {
        progress(PlanProgress {
            stage: "modality subsets",
            done,
            total,
        })
    };
    Ok(crate::value_players(
        &utility,
        &plan.method,
        &ValueConfig {
            seed: plan.seed,
            convergence: plan.convergence,
        },
        &report,
    )?)
}
