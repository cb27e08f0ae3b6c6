// tidy: long file: one study (split, group and user values, removal and learning curves)
// shares its seeded split and fitted model; each stage is a short function.
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
//! **User values** are computed as the default valuation plan does for users
//! ([`assay_value::plan::default_plan`]): in two halves (by index parity), each half's users
//! fitted alone with an item-item model and scored by the other half's buyers, so a user's
//! value is what their data does for other people, and a group of users (a click farm)
//! cannot vouch for itself. By default a user's value is their first-order influence on
//! those lists ([`assay_value::influence`], one fit per half); with a number of samples,
//! MSR Banzhaf values (Wang & Jia 2023) of NDCG.
//!
//! **Removal curves** drop the lowest-valued, random or highest-valued users and refit; they
//! are scored on the test rows of the buyers (the audience of the user values), so that
//! users who never buy do not count their own lists as the shop's quality.
//!
//! **Modality values** (when the catalog has image vectors): exact Shapley over the text, image
//! and behaviour of a fusion recommender, per validation user, each subset a refit.
//!
//! [`Sections`] picks which of these a study computes.
//!
//! Every number is computed by `assay-value` (group values in [`assay_value::per_user`],
//! user halves in [`assay_value::plan::value_in_halves`], curves in [`assay_value::curves`]);
//! this module picks what to value, counts the fits and turns the results into a
//! [`ValueReport`]. Every fit counts towards [`ValueReport::provenance`]'s `utility_evals`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use assay_core::budget;
use assay_core::clean::{self, Impressions};
use assay_core::split::{by_ratio, Order};
use assay_core::{Dataset, UserIdx};
use assay_metrics::{AudienceUser, Metric};
use assay_recommend::{FusionParams, Modality, ModelSpec, RecommendError, Recommender};
use assay_value::curves::{self, RemovalConfig};
use assay_value::influence::{user_influence, InfluenceConfig, DEFAULT_TOP};
use assay_value::modalities::coalition_spec;
use assay_value::per_user::{self, mean, GroupConfig, GroupMethod};
use assay_value::plan::{default_model, value_in_halves, MIN_BUYERS};
use assay_value::recommend::{
    audience_of, buyers, fit_on_rows, players, score_model, Audience, Player, RecConfig,
    RecommenderUtility,
};
use assay_value::recommend_oob::HistoryUtility;
use assay_value::{Convergence, FirstFailure, Method, Utility, ValueConfig, ValueError, Values};

use crate::model::*;

/// What went wrong in a study.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// The data has too little of something to value.
    #[error("cannot build the report: {0}")]
    Empty(String),
    /// A valuation method failed.
    #[error(transparent)]
    Value(ValueError),
    /// The study's refits would run past the time budget ([`assay_core::budget`]): refused
    /// before the first when the estimate from the data's sizes is over it, or stopped while
    /// running when its own pace projects past it ([`assay_core::budget::overrun`]).
    #[error(transparent)]
    TooSlow(#[from] assay_core::TooSlow),
}

impl From<ValueError> for StudyError {
    /// A fit stopped by the time budget is the study's refusal, whichever stage it was in.
    fn from(error: ValueError) -> StudyError {
        match error {
            ValueError::Recommend(RecommendError::TooSlow(refused)) => StudyError::TooSlow(refused),
            other => StudyError::Value(other),
        }
    }
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
    /// MSR Banzhaf samples per half of the users (0: no user values, no removal curves);
    /// `None`: users valued by their influence on the other half's lists
    /// ([`assay_value::influence`]), as the default valuation plan does.
    pub user_samples: Option<u64>,
    /// MSR Banzhaf samples for item values (0: no item values).
    pub item_samples: u64,
    /// Shares of users removed for the removal curves (0 is added).
    pub removal_fractions: Vec<f64>,
    /// Random removal orders averaged.
    pub random_draws: u32,
    /// Shares of data for the learning curves (1 is added).
    pub learning_fractions: Vec<f64>,
    /// The model fitted instead of `model` when `model`'s fits, one per thread, would be over
    /// the memory budget ([`assay_core::memory`]); the report's notes say so. `None`: such a
    /// model is refused.
    pub fallback: Option<ModelSpec>,
    /// Whether the models learn from impressions (by default they do not).
    pub impressions: Impressions,
    /// The parts of the report computed (all by default). A large shop's full report refits
    /// the model hundreds of times; the user screen alone (`users`) is a few dozen fits.
    pub sections: Sections,
}

/// Which parts of the report a study computes. The baseline is always computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sections {
    /// Group values: sources, segments, time windows, categories.
    pub groups: bool,
    /// User values and the removal curves that judge them.
    pub users: bool,
    /// Item values.
    pub items: bool,
    /// Learning curves, overall and per source.
    pub learning: bool,
    /// The modalities of a fusion recommender (text, image, behaviour), when the catalog has
    /// image vectors.
    pub modalities: bool,
}

impl Sections {
    /// Every part.
    pub const ALL: Sections = Sections {
        groups: true,
        users: true,
        items: true,
        learning: true,
        modalities: true,
    };

    /// The names [`Sections::parse`] accepts.
    pub const NAMES: [&'static str; 5] = ["groups", "users", "items", "learning", "modalities"];

    /// Parses a comma-separated list of section names (`groups,users,items,learning,
    /// modalities`, or `all`).
    ///
    /// # Errors
    /// An unknown or missing name, with the names expected.
    pub fn parse(text: &str) -> Result<Sections, String> {
        let mut sections = Sections {
            groups: false,
            users: false,
            items: false,
            learning: false,
            modalities: false,
        };
        for name in text.split(',').map(str::trim) {
            match name {
                "all" => sections = Sections::ALL,
                "groups" => sections.groups = true,
                "users" => sections.users = true,
                "items" => sections.items = true,
                "learning" => sections.learning = true,
                "modalities" => sections.modalities = true,
                other => {
                    return Err(format!(
                        "unknown section {other:?}; expected a comma-separated list of {} (or all)",
                        Sections::NAMES.join(", ")
                    ))
                }
            }
        }
        Ok(sections)
    }
}

impl StudyConfig {
    /// Defaults: 4 windows, segments from the `segment` attribute, exact Shapley up to 6
    /// groups, MSR samples per half of the users by the data's size, 100 for items, removal at 5%..50% with
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
            user_samples: None,
            item_samples: 100,
            removal_fractions: vec![0.05, 0.1, 0.2, 0.3, 0.4, 0.5],
            random_draws: 3,
            learning_fractions: vec![0.05, 0.1, 0.2, 0.4, 0.6, 0.8],
            fallback: None,
            impressions: Impressions::Skip,
            sections: Sections::ALL,
        }
    }
}

/// The model a study of `data` fits: `config.model`, or `config.fallback` when the fits of
/// `config.model` that run side by side (one per thread) would be over the memory budget,
/// with the note that says why.
///
/// # Errors
/// `config.model` is out of range, or over the budget with no fallback (or a fallback over it
/// too): [`StudyError::Value`] with the model's error.
pub fn chosen_model(
    data: &Dataset,
    config: &StudyConfig,
) -> Result<(ModelSpec, Option<String>), StudyError> {
    config.model.check().map_err(ValueError::from)?;
    let refused = match assay_value::recommend::check_memory(&config.model, data) {
        Ok(()) => return Ok((config.model.clone(), None)),
        Err(ValueError::Recommend(RecommendError::TooLarge(refused))) => refused,
        Err(error) => return Err(error.into()),
    };
    let Some(fallback) = &config.fallback else {
        return Err(ValueError::from(RecommendError::TooLarge(refused)).into());
    };
    fallback.check().map_err(ValueError::from)?;
    assay_value::recommend::check_memory(fallback, data)?;
    let note = format!("{}; the report fits {fallback} instead.", refused.need());
    Ok((fallback.clone(), Some(note)))
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

/// Fits models and scores them per user (with `assay-value`), counting fits.
struct Lab<'a> {
    data: &'a Dataset,
    config: &'a StudyConfig,
    fits: AtomicU64,
    planned: AtomicU64,
    stage: std::sync::Mutex<String>,
    progress: &'a (dyn Fn(StudyProgress<'_>) + Sync),
    /// The first failed fit; the study stops with it after the stage it happened in.
    failure: FirstFailure,
    /// When the study started, its time limit, and what it is called in a refusal.
    started: Instant,
    limit: f64,
    step: String,
    /// Who bought anything in the log: the label-free audience that scores user values and
    /// removal curves when at least [`MIN_BUYERS`] did.
    buyer: Vec<bool>,
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

    /// `Err` once the study has outrun its time limit ([`budget::overrun`]): every later fit
    /// fails at once with it, so the stage in progress ends quickly and the study stops.
    fn pace(&self) -> Result<(), ValueError> {
        let Some(estimate) = budget::overrun(
            self.started.elapsed().as_secs_f64(),
            self.fits.load(Ordering::Relaxed),
            self.planned.load(Ordering::Relaxed),
            self.limit,
            "model fits",
        ) else {
            return Ok(());
        };
        Err(RecommendError::TooSlow(assay_core::TooSlow {
            step: self.step.clone(),
            estimate,
            limit: self.limit,
            instead: SAMPLE_INSTEAD.to_owned(),
        })
        .into())
    }

    /// A model fitted on `rows`; `None` when the rows hold nothing to learn from, which
    /// scores 0 for everyone, as in [`RecommenderUtility`].
    fn fit(&self, rows: &[u32]) -> Result<Option<Box<dyn Recommender>>, ValueError> {
        self.fit_spec(&self.config.model, rows)
    }

    /// [`Lab::fit`] of another model (a modality coalition's).
    fn fit_spec(
        &self,
        spec: &ModelSpec,
        rows: &[u32],
    ) -> Result<Option<Box<dyn Recommender>>, ValueError> {
        self.pace()?;
        let model = fit_on_rows(self.data, spec, rows);
        self.fits.fetch_add(1, Ordering::Relaxed);
        self.report();
        model
    }

    /// Whether enough users bought for the buyers to score ([`MIN_BUYERS`]), and how many.
    fn buyers_score(&self) -> (bool, usize) {
        let n = self.buyer.iter().filter(|&&b| b).count();
        (n >= MIN_BUYERS, n)
    }

    /// The error of the first failed fit so far, if any: stages that score through closures
    /// (group values, curves) record failures and are checked after they end.
    fn check(&self) -> Result<(), StudyError> {
        match self.failure.take() {
            Some(error) => Err(error.into()),
            None => Ok(()),
        }
    }

    fn per_user(&self, model: Option<&dyn Recommender>, audience: &[AudienceUser]) -> Vec<f64> {
        score_model(model, audience, self.config.metric, self.config.k)
    }

    /// Per audience user, the quality of a model fitted on `rows`; NaN for everyone when the
    /// fit failed (the failure is recorded for [`Lab::check`]).
    fn fit_and_score(&self, rows: &[u32], audience: &[AudienceUser]) -> Vec<f64> {
        match self.fit(rows) {
            Ok(model) => self.per_user(model.as_deref(), audience),
            Err(error) => {
                self.failure.record(error);
                vec![f64::NAN; audience.len()]
            }
        }
    }

    fn mean_score(&self, rows: &[u32], audience: &[AudienceUser]) -> f64 {
        mean(&self.fit_and_score(rows, audience))
    }
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
        if let Err(error) = self.lab.pace() {
            self.lab.failure.record(error);
            return f64::NAN;
        }
        let value = self.inner.eval(subset);
        self.lab.fits.fetch_add(1, Ordering::Relaxed);
        self.lab.report();
        value
    }
    fn take_failure(&self) -> Option<ValueError> {
        self.lab
            .failure
            .take()
            .or_else(|| self.inner.take_failure())
    }
}

fn value_groups(
    lab: &Lab<'_>,
    kind: &str,
    title: &str,
    train: &[u32],
    groups: Vec<Player>,
    valid: &[AudienceUser],
) -> Option<ValueTable> {
    if groups.len() < 2 {
        // One group is all the data: its value is the whole score, which says nothing.
        return None;
    }
    lab.stage(&format!("{kind} values"));
    let n = groups.len();
    let estimates = per_user::group_shapley(
        lab.data.events.len(),
        train,
        &groups,
        &GroupConfig {
            max_exact: lab.config.max_exact,
            permutations: lab.config.group_permutations,
            seed: lab.config.seed,
        },
        |rows| lab.fit_and_score(rows, valid),
    );
    let (method, uncertainty) = match estimates.method {
        GroupMethod::Exact { fits } => (
            format!(
                "exact Shapley over {n} {} ({fits} fits)",
                crate::advice::plural(kind)
            ),
            format!("the spread over the {} validation users", valid.len()),
        ),
        GroupMethod::Sampled { permutations } => (
            format!(
                "Monte-Carlo Shapley over {n} {} ({permutations} permutations)",
                crate::advice::plural(kind)
            ),
            format!(
                "the spread over sampled permutations and over the {} validation users (combined)",
                valid.len()
            ),
        ),
    };
    Some(ValueTable {
        kind: kind.into(),
        title: title.into(),
        method,
        uncertainty,
        rows: groups
            .iter()
            .zip(estimates.values)
            .map(|(g, (value, std_error))| ValueRow {
                name: g.name.clone(),
                value,
                std_error,
                rows: g.rows.len() as u64,
            })
            .collect(),
    })
}

/// User values as the default valuation plan computes them ([`assay_value::plan::default_plan`]):
/// MSR Banzhaf in two halves by index parity, each half's users fitted alone with
/// [`default_model`] (an item-item model) and scored by the other half's buyers (everyone
/// when too few bought) from their own histories, so a group of users cannot vouch for
/// itself. As in the plan, the rows are each user's first (user, item) events, here those of
/// the study's training and validation rows (never its test rows, which judge the values),
/// split at random 80/20 per user. Returns the table and (user, value) pairs.
fn value_users(
    lab: &Lab<'_>,
    train: &[u32],
    valid: &[u32],
    samples: Option<u64>,
) -> Result<(ValueTable, Vec<(UserIdx, f64)>), StudyError> {
    lab.stage("user values");
    let (rows, valid) = user_split(lab.data, train, valid, lab.config.seed);
    let valid = &valid;
    let all = players::by_user(lab.data, &rows);
    let (by_buyers, n_buyers) = lab.buyers_score();
    let model = default_model();
    let scorer = |half: u32, u: UserIdx| u % 2 != half && (!by_buyers || lab.buyer[u as usize]);
    let values = match samples {
        None => {
            let config = InfluenceConfig {
                knn: *model
                    .params::<assay_recommend::ItemKnnParams>()
                    .expect("the default model is ItemKNN"),
                top: DEFAULT_TOP,
            };
            value_in_halves(&all, |half, group| {
                // One fit per half.
                let values =
                    user_influence(lab.data, &rows, valid, &group, |u| scorer(half, u), &config);
                lab.fits.fetch_add(1, Ordering::Relaxed);
                lab.report();
                values
            })?
        }
        Some(samples) => value_in_halves(&all, |half, group| {
            let utility = HistoryUtility::new(
                lab.data,
                &rows,
                valid,
                group,
                model.clone(),
                lab.config.metric,
                lab.config.k,
                |u| scorer(half, u),
            )?;
            msr(
                lab,
                Counted {
                    inner: utility,
                    lab,
                },
                samples,
                half as u64,
            )
        })?,
    };
    let (rows, pairs, evals) = match values {
        Some(values) => {
            let rows = values
                .players
                .iter()
                .map(|v| ValueRow {
                    name: all[v.player].name.clone(),
                    value: v.value,
                    std_error: v.std_error,
                    rows: all[v.player].rows.len() as u64,
                })
                .collect();
            let pairs = values
                .players
                .iter()
                .map(|v| (all[v.player].users[0], v.value))
                .collect();
            (rows, pairs, values.utility_evals)
        }
        None => (Vec::new(), Vec::new(), 0),
    };
    let scorers = if by_buyers {
        format!("the other half's buyers ({n_buyers} users bought)")
    } else {
        format!("the other half's validation users (only {n_buyers} users bought)")
    };
    let (method, uncertainty) = match samples {
        None => (
            format!(
                "influence: the derivative of {model}'s similarities, fitted on a half's users alone (2 fits), \
                 with respect to each user's weight, along a LambdaRank direction of NDCG over the top \
                 {DEFAULT_TOP} of the lists of {scorers}, recommended from their own histories"
            ),
            "the spread over the scorers",
        ),
        Some(samples) => (
            format!(
                "MSR Banzhaf, {samples} samples per half of the users ({evals} fits): {model} fitted on a half's users alone, value to {scorers}, recommended from their own histories"
            ),
            "the spread over sampled subsets",
        ),
    };
    Ok((
        ValueTable {
            kind: "user".into(),
            title: "Users".into(),
            method,
            uncertainty: uncertainty.into(),
            rows,
        },
        pairs,
    ))
}

/// The rows users are valued on: the first (user, item) events of `train` and `valid`,
/// split 80/20 at random per user with `seed`.
fn user_split(data: &Dataset, train: &[u32], valid: &[u32], seed: u64) -> (Vec<u32>, Vec<u32>) {
    let mut rows: Vec<u32> = train.iter().chain(valid).copied().collect();
    rows.sort_unstable();
    let rows = clean::first_of_pairs(data, &rows);
    let parts = by_ratio(data, &rows, [0.8, 0.2, 0.0], Order::Random { seed });
    (parts.train, parts.valid)
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

/// The removal curves are scored by the audience that scores the user values: the buyers
/// (users with a purchase) when there are at least [`MIN_BUYERS`], else everyone with test
/// items. Users who never buy (bots and scrapers among them) would otherwise count their own
/// lists as the shop's quality, and removing them would look like a loss.
fn removal_curves(
    lab: &Lab<'_>,
    train: &[u32],
    user_values: &[(UserIdx, f64)],
    test: &[AudienceUser],
    test_scores: &[f64],
) -> RemovalCurves {
    lab.stage("removal curves");
    let by_buyers = lab.buyers_score().0 && test.iter().any(|a| lab.buyer[a.user as usize]);
    let (test, scores): (Vec<AudienceUser>, Vec<f64>) = test
        .iter()
        .zip(test_scores)
        .filter(|(a, _)| !by_buyers || lab.buyer[a.user as usize])
        .map(|(a, &score)| (a.clone(), score))
        .unzip();
    let audience = if by_buyers {
        format!("the {} buyers with test items", test.len())
    } else {
        format!("all {} users with test items", test.len())
    };
    let full_score = mean(&scores);
    let n_users = lab.data.users.len();
    let config = RemovalConfig {
        fractions: lab.config.removal_fractions.clone(),
        random_draws: lab.config.random_draws,
        seed: lab.config.seed,
    };
    let curve = curves::removal_curve(user_values, &config, full_score, |removed| {
        let mut gone = vec![false; n_users];
        removed.iter().for_each(|&u| gone[u as usize] = true);
        let rows: Vec<u32> = train
            .iter()
            .copied()
            .filter(|&r| !gone[lab.data.events.user[r as usize] as usize])
            .collect();
        lab.mean_score(&rows, &test)
    });
    RemovalCurves {
        kind: "user".into(),
        fractions: curve.fractions,
        high_first: curve.high_first,
        random: curve.random,
        low_first: curve.low_first,
        random_draws: curve.random_draws,
        audience,
    }
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
    test: &[AudienceUser],
    full_score: f64,
) -> LearningCurve {
    let curve = curves::learning_curve(
        fixed,
        varied,
        &lab.config.learning_fractions,
        lab.config.seed,
        stream,
        full_score,
        |rows| lab.mean_score(rows, test),
    );
    LearningCurve {
        name: name.into(),
        fit: fit_curve(&curve.fractions, &curve.scores, curve.without),
        fractions: curve.fractions,
        scores: curve.scores,
        without: curve.without,
    }
}

/// What to do instead of a study over the time limit.
const SAMPLE_INSTEAD: &str =
    "value a sample of the shop (a share of its users or a recent time window)";

/// How a refusal names the study: "the report on 200,000 items and 4,000,000 training events".
fn step_name(n_items: usize, train: &[u32]) -> String {
    use assay_core::memory::format_count;
    format!(
        "the report on {} items and {} training events",
        format_count(n_items as u64),
        format_count(train.len() as u64)
    )
}

/// Refuses a study whose `planned` fits would run past the time budget: each fit is taken at
/// the cost of a fit on all of `train` (an upper bound: most fits are on a part of it) and
/// one ranking of every item for every user of the validation audience `valid`. What this
/// misses (the user values' own model, rankings of the test audience) the study's pace check
/// ([`Lab::pace`]) catches while it runs.
fn check_time(
    config: &StudyConfig,
    train: &[u32],
    valid: &[AudienceUser],
    n_items: usize,
    planned: u64,
) -> Result<(), assay_core::TooSlow> {
    use assay_core::budget::Estimate;
    use assay_core::memory::format_count;
    let size = assay_recommend::FitSize {
        users: valid.len(),
        items: n_items,
        interactions: train.len() as u64,
        // Without the per-user counts, the pairs as if every user had the mean count: a
        // lower bound of the item-item work.
        pairs: (train.len() as u128).pow(2) / (valid.len().max(1) as u128),
    };
    let work = config.model.work(&size);
    let per_fit = work.fit_ns + valid.len() as f64 * n_items as f64 * work.ns_per_score;
    let estimate = Estimate {
        seconds: budget::seconds_of(per_fit) * planned as f64,
        what: format!(
            "{} fits of {}, each up to {} plus a ranking of {} items for {} validation users",
            format_count(planned),
            config.model,
            budget::format_duration(budget::seconds_of(work.fit_ns)),
            format_count(n_items as u64),
            format_count(valid.len() as u64)
        ),
    };
    budget::check(
        &estimate,
        || step_name(n_items, train),
        || SAMPLE_INSTEAD.to_owned(),
    )
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
    if config.windows == 0 {
        return Err(StudyError::Value(ValueError::Param {
            name: "windows",
            value: "0".into(),
            reason: "must be at least 1",
        }));
    }
    // Parameters out of range, or a model whose fits side by side would be over the memory
    // budget, would fail every fit: refuse them (or take the fallback) before any work.
    let (model, fallback_note) = chosen_model(data, config)?;
    let config = &StudyConfig {
        model,
        fallback: None,
        ..config.clone()
    };
    let rows = clean::learning_rows(data, config.impressions);
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
        failure: FirstFailure::default(),
        started,
        limit: budget::limit(),
        step: step_name(data.items.len(), &split.train),
        buyer: buyers(data),
    };
    let valid = audience_of(data, &split.train, &split.valid, |_| true);
    let test = audience_of(data, &split.train, &split.test, |_| true);
    if valid.is_empty() || test.is_empty() {
        return Err(StudyError::Empty(format!(
            "{name}: no user has validation or test items outside their training items"
        )));
    }

    // No sample count: users valued by their influence (one fit per half).
    let value_users_at_all = config.sections.users && config.user_samples != Some(0);
    let user_fits = if value_users_at_all {
        config.user_samples.map_or(2, |samples| 2 * samples)
    } else {
        0
    };
    let item_samples = if config.sections.items {
        config.item_samples
    } else {
        0
    };
    let sources = players::by_source(data, &split.train);
    let groups: Vec<(&str, &str, Vec<Player>)> = if !config.sections.groups {
        Vec::new()
    } else {
        let mut g = vec![("source", "Data sources", sources.clone())];
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
    let value_modalities = config.sections.modalities && data.items.image.is_some();
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
        + user_fits
        + item_samples
        + if value_modalities {
            (1 << Modality::ALL.len()) - 1
        } else {
            0
        }
        + if value_users_at_all {
            (config.removal_fractions.len() as u64) * (2 + config.random_draws.max(1) as u64)
        } else {
            0
        }
        + if config.sections.learning {
            (config.learning_fractions.len() as u64) * (1 + sources.len() as u64)
                + sources.len() as u64
        } else {
            0
        };
    lab.planned.store(planned, Ordering::Relaxed);
    check_time(config, &split.train, &valid, data.items.len(), planned)?;

    lab.stage("baseline");
    let full_model = lab.fit(&split.train)?;
    let valid_score = mean(&lab.per_user(full_model.as_deref(), &valid));
    let test_scores = lab.per_user(full_model.as_deref(), &test);
    let test_score = mean(&test_scores);
    drop(full_model);

    let mut group_tables = Vec::new();
    let mut notes: Vec<String> = fallback_note.into_iter().collect();
    for (kind, title, players) in groups {
        match value_groups(&lab, kind, title, &split.train, players, &valid) {
            Some(table) => group_tables.push(table),
            None => notes.push(format!(
                "{title}: fewer than two in the training data, not valued."
            )),
        }
        lab.check()?;
    }
    if value_modalities {
        group_tables.push(modality_values(&lab, &split.train, &valid)?);
    } else if config.sections.modalities && config.sections != Sections::ALL {
        // Asked for by name on a catalog without images (by default, such shops skip it).
        notes.push("Modalities: the catalog has no image vectors, not valued.".into());
    }

    let rec = RecConfig {
        model: config.model.clone(),
        metric: config.metric,
        k: config.k,
        audience: Audience::Others,
    };
    let mut point_tables = Vec::new();
    let mut removal = None;
    if value_users_at_all {
        let (table, pairs) = value_users(&lab, &split.train, &split.valid, config.user_samples)?;
        point_tables.push(table);
        removal = Some(removal_curves(
            &lab,
            &split.train,
            &pairs,
            &test,
            &test_scores,
        ));
        lab.check()?;
    }
    if item_samples > 0 {
        point_tables.push(value_items(&lab, &split.train, &split.valid, &rec)?);
    }

    let learning = config
        .sections
        .learning
        .then(|| learning_curves(&lab, &sources, &split, &test, test_score))
        .transpose()?;
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
        learning,
        provenance: Provenance {
            seed: config.seed,
            split: "per-user random 80/10/10 of all non-impression events (values on validation, curves on test)".into(),
            utility_evals: lab.fits.load(Ordering::Relaxed),
            seconds: started.elapsed().as_secs_f64(),
            version: env!("CARGO_PKG_VERSION").into(),
            notes,
        },
        detection: None,
    })
}

/// Exact Shapley values of the modalities (text, image, behaviour) of the fusion model (the
/// study's model when it is one, else the default fusion): each non-empty subset a refit
/// with only its modalities, the empty set worth 0 for every user; per-user games, so the
/// standard errors are the spread over the validation users.
fn modality_values(
    lab: &Lab<'_>,
    train: &[u32],
    valid: &[AudienceUser],
) -> Result<ValueTable, StudyError> {
    lab.stage("modality values");
    let spec = assay_value::plan::modality_model(&lab.config.model);
    let params = FusionParams {
        seed: lab.config.seed,
        ..spec
            .params::<FusionParams>()
            .cloned()
            .expect("modality_model gives a fusion model")
    };
    let n = Modality::ALL.len();
    let mut games = vec![vec![0.0; valid.len()]];
    for mask in 1..1usize << n {
        let subset: Vec<usize> = (0..n).filter(|&m| mask & (1 << m) != 0).collect();
        let model = lab.fit_spec(&coalition_spec(&params, &subset), train)?;
        games.push(lab.per_user(model.as_deref(), valid));
    }
    let phi = per_user::per_user_shapley(n, &games);
    Ok(ValueTable {
        kind: "modality".into(),
        title: "Modalities".into(),
        method: format!(
            "exact Shapley over the {n} modalities of {spec} ({} fits, one per non-empty subset, \
             the empty set worth 0)",
            (1 << n) - 1
        ),
        uncertainty: format!("the spread over the {} validation users", valid.len()),
        rows: Modality::ALL
            .iter()
            .zip(&phi)
            .map(|(m, p)| {
                let (value, std_error) = per_user::mean_se(p);
                ValueRow {
                    name: format!("modality={}", m.name()),
                    value,
                    std_error,
                    rows: train.len() as u64,
                }
            })
            .collect(),
    })
}

/// The learning curves: all training data, and each source's rows added to the others'.
fn learning_curves(
    lab: &Lab<'_>,
    sources: &[Player],
    split: &assay_core::split::Split,
    test: &[AudienceUser],
    test_score: f64,
) -> Result<LearningCurves, StudyError> {
    lab.stage("learning curves");
    let overall = learning_curve(lab, "all data", &[], &split.train, 3000, test, test_score);
    let per_source = if sources.len() >= 2 {
        sources
            .iter()
            .enumerate()
            .map(|(i, source)| {
                let mut mine = vec![false; lab.data.events.len()];
                source.rows.iter().for_each(|&r| mine[r as usize] = true);
                let others: Vec<u32> = split
                    .train
                    .iter()
                    .copied()
                    .filter(|&r| !mine[r as usize])
                    .collect();
                learning_curve(
                    lab,
                    &source.name,
                    &others,
                    &source.rows,
                    3001 + i as u64,
                    test,
                    test_score,
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    lab.check()?;
    Ok(LearningCurves {
        overall,
        per_source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
