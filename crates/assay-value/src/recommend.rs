//! Recommender utilities: `U(S)` = a RecBole ranking metric of a model fitted on the event
//! rows of the players in `S`, scored on a fixed validation split.
//!
//! A [`Player`] is a named set of training event rows: a data source, a time window, a
//! category, a user segment, a user, an item, one interaction ([`players`] builds the usual
//! groupings). Training rows that belong to no player are always in the training set.
//!
//! **Value to others vs. total.** Removing a user's data also removes that user's own
//! history, so their own recommendations degrade; that part of a user's value is a value *to
//! themselves*. [`Audience::Others`] (the default to use) evaluates only validation users who
//! own no player, so a player's value is exactly its effect on other people's
//! recommendations. [`Audience::Total`] evaluates every validation user, including players
//! who lose their own history when removed. Either way every evaluated user's full training
//! items stay masked out of their top-K list (as RecBole masks them), whether or not their
//! rows are in the subset, so a removed history never lets its own training items count as
//! hits or take up list slots. For players that own no users (sources, windows, items,
//! interactions) both audiences are the same.

use assay_core::{Dataset, Interactions, ItemIdx, UserIdx};
use assay_metrics::{AudienceUser, Metric};
use assay_recommend::{ModelSpec, RecommendError, Recommender};

use crate::{FirstFailure, Result, Utility, ValueError};

/// A named group of training event rows, and the users whose own data it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Player {
    /// Name in the values table ("source=app", "user=u17", "2024-03").
    pub name: String,
    /// Training event rows (indices into `Dataset::events`).
    pub rows: Vec<u32>,
    /// Users whose own data this is (empty for sources, windows, items, interactions); these
    /// users are left out of the audience in [`Audience::Others`].
    pub users: Vec<UserIdx>,
}

/// Whose recommendations the utility scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Validation users who own no player: a player's value to others.
    Others,
    /// All validation users: value to others plus value to the players themselves.
    Total,
}

/// Per user: whether they bought anything anywhere in the log (a verified buyer), the
/// label-free trusted audience of `--scorers buyers`.
pub fn buyers(data: &Dataset) -> Vec<bool> {
    let mut buyer = vec![false; data.users.len()];
    for (r, &kind) in data.events.kind.iter().enumerate() {
        if kind == assay_core::EventKind::Purchase {
            buyer[data.events.user[r] as usize] = true;
        }
    }
    buyer
}

/// What the utility measures.
#[derive(Debug, Clone, PartialEq)]
pub struct RecConfig {
    /// The model, refitted for every subset.
    pub model: ModelSpec,
    /// The ranking metric (RecBole's definition, from `assay-metrics`).
    pub metric: Metric,
    /// The cut-off K of the metric.
    pub k: usize,
    /// Whose recommendations count.
    pub audience: Audience,
}

/// `U(S)` = mean `metric@k` over the audience of `model` fitted on the base rows plus the
/// rows of the players in `S`.
pub struct RecommenderUtility<'a> {
    pub(crate) data: &'a Dataset,
    pub(crate) config: RecConfig,
    pub(crate) players: Vec<Player>,
    pub(crate) base_rows: Vec<u32>,
    /// The evaluated users: relevant validation items, all training items excluded.
    pub(crate) audience: Vec<AudienceUser>,
    /// The first failed fit of an evaluation.
    pub(crate) failure: FirstFailure,
}

/// The users scored on `eval_rows` for whom `keep` holds: each user's relevant items are
/// their evaluation items outside their training items (`train_rows`), and their training
/// items are excluded from their lists, as RecBole masks them. Users left with no relevant
/// item are not in the audience; the order is by user index.
pub fn audience_of(
    data: &Dataset,
    train_rows: &[u32],
    eval_rows: &[u32],
    keep: impl Fn(UserIdx) -> bool,
) -> Vec<AudienceUser> {
    let train = Interactions::from_events(data, train_rows);
    let eval = Interactions::from_events(data, eval_rows);
    (0..data.users.len() as u32)
        .filter(|&u| keep(u))
        .filter_map(|u| {
            let train_items = train.items_of(u);
            let relevant: Vec<ItemIdx> = eval
                .items_of(u)
                .iter()
                .copied()
                .filter(|i| train_items.binary_search(i).is_err())
                .collect();
            (!relevant.is_empty()).then(|| AudienceUser {
                user: u,
                relevant,
                exclude: train_items.to_vec(),
            })
        })
        .collect()
}

/// The training rows of a subset of players: `base` rows (in no player) plus the players'.
pub(crate) fn rows_of_subset(base: &[u32], players: &[Player], subset: &[usize]) -> Vec<u32> {
    let mut rows = base.to_vec();
    for &p in subset {
        rows.extend_from_slice(&players[p].rows);
    }
    rows
}

/// Checks that the fits of `spec` on `data` that data valuation runs side by side, one per
/// rayon thread, stay within the memory budget ([`assay_core::memory`]): how a utility refuses
/// a model too large for the data before any fit.
///
/// # Errors
/// [`RecommendError::TooLarge`] inside [`ValueError::Recommend`].
pub fn check_memory(spec: &ModelSpec, data: &Dataset) -> Result<()> {
    spec.check_memory(
        data.users.len(),
        data.items.len(),
        rayon::current_num_threads(),
    )?;
    Ok(())
}

/// A model of `spec` fitted on the event rows `rows`; `None` when the rows hold no
/// interaction and the model has nothing to learn from (the empty coalition of a game).
///
/// # Errors
/// Every other failure of the fit: parameters out of range, a failed solve.
pub fn fit_on_rows(
    data: &Dataset,
    spec: &ModelSpec,
    rows: &[u32],
) -> Result<Option<Box<dyn Recommender>>> {
    let train = Interactions::from_events(data, rows);
    let no_epochs = |_: usize, _: Option<f64>| {};
    match spec.fit(&train, data, None, &no_epochs) {
        Ok(model) => Ok(Some(model)),
        Err(RecommendError::Data(_)) if train.nnz() == 0 => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// `metric@k` of `model`'s top-`k` list of each audience user (their excluded items left
/// out), in audience order; no model recommends nothing and scores 0 for everyone.
pub fn score_model(
    model: Option<&dyn Recommender>,
    audience: &[AudienceUser],
    metric: Metric,
    k: usize,
) -> Vec<f64> {
    let Some(model) = model else {
        return vec![0.0; audience.len()];
    };
    assay_metrics::score_per_user(
        audience,
        metric,
        k,
        || (),
        |_, user, k| {
            model
                .top_k(user.user, k, &user.exclude)
                .into_iter()
                .map(|(item, _)| item)
                .collect()
        },
    )
}

impl<'a> RecommenderUtility<'a> {
    /// A utility over `players`, whose rows must be a subset of `train_rows`; `valid_rows`
    /// hold the validation events. Training rows in no player are always used. With no
    /// players, [`RecommenderUtility::score_rows`] still evaluates any training set (the
    /// valuation methods refuse a game without players).
    pub fn new(
        data: &'a Dataset,
        train_rows: &[u32],
        valid_rows: &[u32],
        players: Vec<Player>,
        config: RecConfig,
    ) -> Result<RecommenderUtility<'a>> {
        if config.k == 0 {
            return crate::error::param("k", config.k, "must be at least 1");
        }
        // Parameters out of range, or a model too large for the data, would fail every fit:
        // refuse them before any work.
        config.model.check()?;
        check_memory(&config.model, data)?;
        let n_events = data.events.len();
        let mut owner = vec![false; n_events];
        for player in &players {
            for &row in &player.rows {
                if row as usize >= n_events {
                    return crate::error::param("player row", row, "must index an event");
                }
                owner[row as usize] = true;
            }
        }
        let base_rows: Vec<u32> = train_rows
            .iter()
            .copied()
            .filter(|&r| !owner[r as usize])
            .collect();
        let mut player_user = vec![false; data.users.len()];
        if config.audience == Audience::Others {
            players
                .iter()
                .flat_map(|p| &p.users)
                .for_each(|&u| player_user[u as usize] = true);
        }
        let audience = audience_of(data, train_rows, valid_rows, |u| !player_user[u as usize]);
        if audience.is_empty() {
            return Err(ValueError::Empty(
                "no validation user to evaluate (in `others` mode, users who are players are left out)"
                    .into(),
            ));
        }
        Ok(RecommenderUtility {
            data,
            config,
            players,
            base_rows,
            audience,
            failure: FirstFailure::default(),
        })
    }

    /// Keeps only the evaluated users for which `keep` is true (say, known humans in a
    /// benchmark); an empty audience makes every score 0.
    pub fn restrict_audience(&mut self, keep: impl Fn(UserIdx) -> bool) {
        self.audience.retain(|a| keep(a.user));
    }

    /// The evaluated users.
    pub fn audience(&self) -> impl Iterator<Item = UserIdx> + '_ {
        self.audience.iter().map(|a| a.user)
    }

    /// The training rows of `subset`: base rows plus the players' rows.
    pub fn rows_of(&self, subset: &[usize]) -> Vec<u32> {
        rows_of_subset(&self.base_rows, &self.players, subset)
    }

    /// The metric of a model fitted on `rows`; rows with nothing to learn from give no model,
    /// which recommends nothing and scores 0.
    ///
    /// # Errors
    /// A failed fit ([`fit_on_rows`]).
    pub fn score_rows(&self, rows: &[u32]) -> Result<f64> {
        let Some(model) = fit_on_rows(self.data, &self.config.model, rows)? else {
            return Ok(0.0);
        };
        let scores = score_model(
            Some(&*model),
            &self.audience,
            self.config.metric,
            self.config.k,
        );
        // An empty audience (restricted away) scores 0.
        Ok(scores.iter().sum::<f64>() / self.audience.len().max(1) as f64)
    }

    /// Keeps `error` for [`Utility::take_failure`] and gives the NaN that stands for the
    /// failed evaluation.
    pub(crate) fn failed(&self, error: impl Into<ValueError>) -> f64 {
        self.failure.record(error);
        f64::NAN
    }
}

impl Utility for RecommenderUtility<'_> {
    fn name(&self) -> String {
        let audience = match self.config.audience {
            Audience::Others => "to others",
            Audience::Total => "total",
        };
        format!(
            "{} {}@{} [{audience}]",
            self.config.model,
            self.config.metric.name(),
            self.config.k
        )
    }

    fn n_players(&self) -> usize {
        self.players.len()
    }

    fn player_name(&self, player: usize) -> String {
        self.players[player].name.clone()
    }

    fn eval(&self, subset: &[usize]) -> f64 {
        self.score_rows(&self.rows_of(subset))
            .unwrap_or_else(|error| self.failed(error))
    }

    fn take_failure(&self) -> Option<ValueError> {
        self.failure.take()
    }
}

/// Builders of the usual players from a list of training rows.
pub mod players {
    use std::collections::BTreeMap;

    use assay_core::{Dataset, NO_TIME};

    use super::Player;

    fn grouped(
        data: &Dataset,
        rows: &[u32],
        key: impl Fn(u32) -> Option<String>,
        owners: bool,
    ) -> Vec<Player> {
        let mut groups: BTreeMap<String, (Vec<u32>, Vec<u32>)> = BTreeMap::new();
        for &row in rows {
            if let Some(name) = key(row) {
                let entry = groups.entry(name).or_default();
                entry.0.push(row);
                if owners {
                    entry.1.push(data.events.user[row as usize]);
                }
            }
        }
        groups
            .into_iter()
            .map(|(name, (rows, mut users))| {
                users.sort_unstable();
                users.dedup();
                Player { name, rows, users }
            })
            .collect()
    }

    /// One player per data source (`source=NAME`).
    pub fn by_source(data: &Dataset, rows: &[u32]) -> Vec<Player> {
        grouped(
            data,
            rows,
            |r| {
                let s = data.events.source[r as usize];
                Some(format!(
                    "source={}",
                    data.sources
                        .names()
                        .get(s as usize)
                        .map_or("?", String::as_str)
                ))
            },
            false,
        )
    }

    /// One player per user (`user=ID`), owning that user.
    pub fn by_user(data: &Dataset, rows: &[u32]) -> Vec<Player> {
        grouped(
            data,
            rows,
            |r| {
                let u = data.events.user[r as usize];
                Some(format!("user={}", data.users.ids.name(u)))
            },
            true,
        )
    }

    /// One player per item (`item=ID`).
    pub fn by_item(data: &Dataset, rows: &[u32]) -> Vec<Player> {
        grouped(
            data,
            rows,
            |r| {
                let i = data.events.item[r as usize];
                Some(format!("item={}", data.items.ids.name(i)))
            },
            false,
        )
    }

    /// One player per top-level category of the item (`category=Women`).
    pub fn by_category(data: &Dataset, rows: &[u32]) -> Vec<Player> {
        grouped(
            data,
            rows,
            |r| {
                let path = &data.items.category[data.events.item[r as usize] as usize];
                let top = path.split('/').next().unwrap_or("").trim();
                Some(format!(
                    "category={}",
                    if top.is_empty() { "?" } else { top }
                ))
            },
            false,
        )
    }

    /// One player per value of the user attribute `attribute` (`segment=vip`), owning those
    /// users; `None` when the attribute does not exist.
    pub fn by_segment(data: &Dataset, rows: &[u32], attribute: &str) -> Option<Vec<Player>> {
        let column = data.users.attributes.column(attribute)?;
        Some(grouped(
            data,
            rows,
            |r| {
                let value = &column[data.events.user[r as usize] as usize];
                Some(format!(
                    "{attribute}={}",
                    if value.is_empty() { "?" } else { value }
                ))
            },
            true,
        ))
    }

    /// `n_windows` players of equal time span between the first and the last timed row
    /// (`window=3/8`); rows without a timestamp belong to no player, and 0 windows hold no
    /// player.
    ///
    /// Row `t` falls in window `floor((t - first) * n / (last - first + 1))`, computed in
    /// `u128`: exact, and without overflow for any `i64` timestamps and any `n`.
    pub fn by_time_window(data: &Dataset, rows: &[u32], n_windows: usize) -> Vec<Player> {
        if n_windows == 0 {
            return Vec::new();
        }
        let times: Vec<i64> = rows
            .iter()
            .map(|&r| data.events.timestamp[r as usize])
            .filter(|&t| t != NO_TIME)
            .collect();
        let (Some(&lo), Some(&hi)) = (times.iter().min(), times.iter().max()) else {
            return Vec::new();
        };
        let n = n_windows;
        // At most 2^64, as `hi - lo < 2^64`.
        let span = (i128::from(hi) - i128::from(lo) + 1) as u128;
        let width = n.to_string().len();
        grouped(
            data,
            rows,
            |r| {
                let t = data.events.timestamp[r as usize];
                if t == NO_TIME {
                    return None;
                }
                // `t - lo < span`, so `w < n`.
                // `(t - lo) * n < 2^64 * 2^64`: no overflow.
                let w = (i128::from(t) - i128::from(lo)) as u128 * n as u128 / span;
                Some(format!("window={:0width$}/{n}", w as usize + 1))
            },
            false,
        )
    }

    /// One player per interaction row (`row=17`).
    pub fn by_interaction(rows: &[u32]) -> Vec<Player> {
        rows.iter()
            .map(|&r| Player {
                name: format!("row={r}"),
                rows: vec![r],
                users: Vec::new(),
            })
            .collect()
    }
}
