//! Logged bandit feedback: the rounds a logging policy played, in Open Bandit Pipeline's shape.

use std::collections::{BTreeSet, HashMap, HashSet};

use assay_core::memory::{self, format_count};
use assay_core::{Dataset, EventKind, NO_POSITION, NO_SESSION};

use crate::error::{BanditError, Result};

/// One column per round of logged bandit feedback, as OBP's `bandit_feedback` dictionary.
///
/// Round `i` showed action (item) `action()[i]` at slot `position()[i]` (zero-based, like OBP's
/// ranked positions) to a user with context `context_row(i)`, the logging policy had chosen it with
/// probability `pscore()[i]`, and the user gave reward `reward()[i]` (a click: 0 or 1, or revenue).
///
/// The constructor checks every invariant the estimators rely on, so an estimator never divides by
/// a zero propensity or indexes past the item set.
#[derive(Debug, Clone)]
pub struct LoggedFeedback {
    n_actions: usize,
    len_list: usize,
    context_dim: usize,
    context: Vec<f64>,
    action: Vec<u32>,
    position: Vec<u16>,
    reward: Vec<f64>,
    pscore: Vec<f64>,
    action_context_dim: usize,
    action_context: Vec<f64>,
}

/// The raw columns of a [`LoggedFeedback`], before validation.
#[derive(Debug, Clone)]
pub struct FeedbackParts {
    /// Number of actions (items); actions are `0..n_actions`.
    pub n_actions: usize,
    /// Number of slots per round; positions are `0..len_list`.
    pub len_list: usize,
    /// Width of a context row.
    pub context_dim: usize,
    /// Row-major contexts, `n_rounds * context_dim` values.
    pub context: Vec<f64>,
    /// Logged action per round.
    pub action: Vec<u32>,
    /// Logged zero-based position per round.
    pub position: Vec<u16>,
    /// Observed reward per round.
    pub reward: Vec<f64>,
    /// Logging propensity per round, in (0, 1].
    pub pscore: Vec<f64>,
    /// Width of an action-context row.
    pub action_context_dim: usize,
    /// Row-major action features, `n_actions * action_context_dim` values.
    pub action_context: Vec<f64>,
}

impl LoggedFeedback {
    /// Validates the columns and builds the feedback.
    ///
    /// Errors name the first offending round: a propensity outside (0, 1], an action outside the
    /// item set, a position outside `0..len_list`, a non-finite reward or context value, or columns
    /// of different lengths.
    pub fn new(parts: FeedbackParts) -> Result<LoggedFeedback> {
        let n_rounds = parts.action.len();
        for (field, found) in [
            ("position", parts.position.len()),
            ("reward", parts.reward.len()),
            ("pscore", parts.pscore.len()),
        ] {
            if found != n_rounds {
                return Err(BanditError::LengthMismatch {
                    field,
                    found,
                    expected: n_rounds,
                });
            }
        }
        if parts.context.len() != n_rounds * parts.context_dim {
            return Err(BanditError::Invalid(format!(
                "context has {} values, expected {n_rounds} rounds x {} features",
                parts.context.len(),
                parts.context_dim
            )));
        }
        if parts.action_context.len() != parts.n_actions * parts.action_context_dim {
            return Err(BanditError::Invalid(format!(
                "action context has {} values, expected {} actions x {} features",
                parts.action_context.len(),
                parts.n_actions,
                parts.action_context_dim
            )));
        }
        if parts.len_list == 0 || parts.n_actions == 0 {
            return Err(BanditError::Invalid(
                "n_actions and len_list must be at least 1".into(),
            ));
        }
        for i in 0..n_rounds {
            let bad = |message: String| BanditError::BadRound {
                what: "round",
                row: i,
                message,
            };
            let action = parts.action[i] as usize;
            if action >= parts.n_actions {
                return Err(bad(format!(
                    "action {action} is outside the item set 0..{}",
                    parts.n_actions
                )));
            }
            let position = parts.position[i] as usize;
            if position >= parts.len_list {
                return Err(bad(format!(
                    "position {position} (zero-based) is outside 0..{}",
                    parts.len_list
                )));
            }
            let pscore = parts.pscore[i];
            if !(pscore > 0.0 && pscore <= 1.0) {
                return Err(bad(format!(
                    "propensity {pscore} is not in (0, 1]: the logging policy must give every logged action a positive probability"
                )));
            }
            if !parts.reward[i].is_finite() {
                return Err(bad(format!("reward {} is not finite", parts.reward[i])));
            }
            let row = &parts.context[i * parts.context_dim..(i + 1) * parts.context_dim];
            if let Some(j) = row.iter().position(|v| !v.is_finite()) {
                return Err(bad(format!("context feature {j} is not finite")));
            }
        }
        Ok(LoggedFeedback {
            n_actions: parts.n_actions,
            len_list: parts.len_list,
            context_dim: parts.context_dim,
            context: parts.context,
            action: parts.action,
            position: parts.position,
            reward: parts.reward,
            pscore: parts.pscore,
            action_context_dim: parts.action_context_dim,
            action_context: parts.action_context,
        })
    }

    /// Builds the feedback from every impression of a dataset; see [`LoggedFeedback::from_events`].
    pub fn from_dataset(data: &Dataset) -> Result<LoggedFeedback> {
        let rows: Vec<u32> = (0..data.events.len() as u32).collect();
        LoggedFeedback::from_events(data, &rows)
    }

    /// Builds the feedback from the events at `rows` of a dataset (for example one source's).
    ///
    /// Each impression among `rows` is a round, in log order. Its reward is 1 when a click on the
    /// same item by the same user in the same session is among `rows` (without a session: a click
    /// with the same user, item and timestamp), else 0. So both OBD logs (a click right after its
    /// impression) and simulator logs (several impressions per session, clicks later) work.
    ///
    /// Features follow OBP's `OpenBanditDataset.pre_process`:
    /// - context: one-hot dummies of the user's string attributes with the first (smallest)
    ///   category of each column dropped (`pd.get_dummies(..., drop_first=True)`); the user's
    ///   numeric features (OBD's user-item affinities) are not used, as in OBP;
    /// - action context: the item index, each string attribute label-encoded (index in the sorted
    ///   distinct values, as scikit-learn's `LabelEncoder`), then the numeric item features.
    ///
    /// Errors name the event: a missing position, a propensity that is missing, zero or above 1.
    pub fn from_events(data: &Dataset, rows: &[u32]) -> Result<LoggedFeedback> {
        let events = &data.events;
        let mut clicks: HashSet<(u32, u32, u32, i64)> = HashSet::new();
        for &e in rows {
            let e = e as usize;
            if e >= events.len() {
                return Err(BanditError::Invalid(format!(
                    "event row {e} is outside the log of {} events",
                    events.len()
                )));
            }
            if events.kind[e] == EventKind::Click {
                clicks.insert(reward_key(data, e));
            }
        }
        let mut action = Vec::new();
        let mut position = Vec::new();
        let mut reward = Vec::new();
        let mut pscore = Vec::new();
        let mut users = Vec::new();
        for &e in rows {
            let e = e as usize;
            if events.kind[e] != EventKind::Impression {
                continue;
            }
            let bad = |message: String| BanditError::BadRound {
                what: "event",
                row: e,
                message,
            };
            if events.position[e] == NO_POSITION {
                return Err(bad(
                    "impression without a position (expected a slot counted from 1)".into(),
                ));
            }
            let p = events.propensity[e];
            if !(p > 0.0 && p <= 1.0) {
                return Err(bad(format!(
                    "impression propensity {p} is not in (0, 1] (missing or zero propensities cannot be reweighted)"
                )));
            }
            let item = events.item[e];
            if item as usize >= data.items.len() {
                return Err(bad(format!(
                    "item {item} is outside the catalog of {} items",
                    data.items.len()
                )));
            }
            action.push(item);
            position.push(events.position[e] - 1);
            pscore.push(p);
            reward.push(if clicks.contains(&reward_key(data, e)) {
                1.0
            } else {
                0.0
            });
            users.push(events.user[e] as usize);
        }
        if action.is_empty() {
            return Err(BanditError::Invalid(
                "no impressions among the selected events".into(),
            ));
        }
        let len_list = position.iter().map(|&p| p as usize + 1).max().unwrap_or(1);
        let (context_dim, context) = user_dummies(data, &users)?;
        let (action_context_dim, action_context) = item_features(data)?;
        LoggedFeedback::new(FeedbackParts {
            n_actions: data.items.len(),
            len_list,
            context_dim,
            context,
            action,
            position,
            reward,
            pscore,
            action_context_dim,
            action_context,
        })
    }

    /// Number of rounds.
    pub fn n_rounds(&self) -> usize {
        self.action.len()
    }

    /// Number of actions.
    pub fn n_actions(&self) -> usize {
        self.n_actions
    }

    /// Number of positions (slots) per round.
    pub fn len_list(&self) -> usize {
        self.len_list
    }

    /// Width of a context row.
    pub fn context_dim(&self) -> usize {
        self.context_dim
    }

    /// The context of round `round`.
    ///
    /// # Panics
    /// When `round >= n_rounds()`.
    pub fn context_row(&self, round: usize) -> &[f64] {
        &self.context[round * self.context_dim..(round + 1) * self.context_dim]
    }

    /// All contexts, row-major.
    pub fn context(&self) -> &[f64] {
        &self.context
    }

    /// Logged actions.
    pub fn action(&self) -> &[u32] {
        &self.action
    }

    /// Logged zero-based positions.
    pub fn position(&self) -> &[u16] {
        &self.position
    }

    /// Observed rewards.
    pub fn reward(&self) -> &[f64] {
        &self.reward
    }

    /// Logging propensities.
    pub fn pscore(&self) -> &[f64] {
        &self.pscore
    }

    /// Width of an action-context row.
    pub fn action_context_dim(&self) -> usize {
        self.action_context_dim
    }

    /// The features of action `action`.
    ///
    /// # Panics
    /// When `action >= n_actions()`.
    pub fn action_context_row(&self, action: usize) -> &[f64] {
        &self.action_context
            [action * self.action_context_dim..(action + 1) * self.action_context_dim]
    }

    /// Mean reward of the logged rounds: the on-policy value of the logging policy.
    pub fn mean_reward(&self) -> f64 {
        self.reward.iter().sum::<f64>() / self.n_rounds() as f64
    }

    /// A new feedback holding rounds `rounds` (repeats allowed, as in a bootstrap sample).
    ///
    /// # Panics
    /// When a round index is out of range.
    pub fn select(&self, rounds: &[usize]) -> LoggedFeedback {
        let mut context = Vec::with_capacity(rounds.len() * self.context_dim);
        for &r in rounds {
            context.extend_from_slice(self.context_row(r));
        }
        LoggedFeedback {
            n_actions: self.n_actions,
            len_list: self.len_list,
            context_dim: self.context_dim,
            context,
            action: rounds.iter().map(|&r| self.action[r]).collect(),
            position: rounds.iter().map(|&r| self.position[r]).collect(),
            reward: rounds.iter().map(|&r| self.reward[r]).collect(),
            pscore: rounds.iter().map(|&r| self.pscore[r]).collect(),
            action_context_dim: self.action_context_dim,
            action_context: self.action_context.clone(),
        }
    }
}

fn reward_key(data: &Dataset, e: usize) -> (u32, u32, u32, i64) {
    let events = &data.events;
    let session = events.session[e];
    let time = if session == NO_SESSION {
        events.timestamp[e]
    } else {
        0
    };
    (session, events.user[e], events.item[e], time)
}

/// One-hot dummies of the users' string attributes, first category of each column dropped.
///
/// Categories are those seen among the selected rounds' users, sorted, as `pd.get_dummies` does
/// on the logged data frame.
///
/// The matrix is dense, rounds x categories, and off-policy evaluation holds it about three
/// times (the logs, the reward model, its training rows): it is checked against the memory
/// budget first, and a refusal names the widest attribute.
fn user_dummies(data: &Dataset, users: &[usize]) -> Result<(usize, Vec<f64>)> {
    let attributes = &data.users.attributes;
    let mut offsets = Vec::new();
    let mut lookups: Vec<HashMap<&str, usize>> = Vec::new();
    let mut dim = 0;
    for column in &attributes.values {
        let distinct: BTreeSet<&str> = users
            .iter()
            .filter_map(|&u| column.get(u).map(String::as_str))
            .collect();
        let lookup: HashMap<&str, usize> =
            distinct.iter().enumerate().map(|(k, v)| (*v, k)).collect();
        offsets.push(dim);
        dim += distinct.len().saturating_sub(1);
        lookups.push(lookup);
    }
    let widest = (0..lookups.len()).max_by_key(|&c| lookups[c].len());
    let instead = match widest {
        Some(c) => format!(
            "list fewer or coarser user attributes (the widest, '{}', has {} values), or \
             evaluate fewer impressions",
            attributes.names[c],
            format_count(lookups[c].len() as u64)
        ),
        None => "evaluate fewer impressions".to_owned(),
    };
    memory::check(
        memory::dense_bytes(&[3, users.len(), dim], 8),
        || {
            format!(
                "one-hot user contexts of {} impressions x {} categories, held three times",
                format_count(users.len() as u64),
                format_count(dim as u64)
            )
        },
        &instead,
    )?;
    let mut context = vec![0.0; users.len() * dim];
    for (i, &u) in users.iter().enumerate() {
        for (c, column) in attributes.values.iter().enumerate() {
            let Some(value) = column.get(u) else { continue };
            let k = lookups[c][value.as_str()];
            if k > 0 {
                context[i * dim + offsets[c] + k - 1] = 1.0;
            }
        }
    }
    Ok((dim, context))
}

/// OBP's action context: item index, label-encoded string attributes, numeric features.
fn item_features(data: &Dataset) -> Result<(usize, Vec<f64>)> {
    let items = &data.items;
    let n = items.len();
    let numeric_dim = items.features.dim();
    let n_attr = items.attributes.values.len();
    let dim = 1 + n_attr + numeric_dim;
    memory::check(
        memory::dense_bytes(&[n, dim], 8),
        || {
            format!(
                "action contexts of {} items x {} features",
                format_count(n as u64),
                format_count(dim as u64)
            )
        },
        "use fewer item attributes and numeric item features",
    )?;
    let mut out = vec![0.0; n * dim];
    for (a, row) in out.chunks_mut(dim).enumerate() {
        row[0] = a as f64;
    }
    for (c, column) in items.attributes.values.iter().enumerate() {
        let distinct: BTreeSet<&str> = column.iter().map(String::as_str).collect();
        let code: HashMap<&str, usize> =
            distinct.iter().enumerate().map(|(k, v)| (*v, k)).collect();
        for (a, value) in column.iter().enumerate().take(n) {
            out[a * dim + 1 + c] = code[value.as_str()] as f64;
        }
    }
    if items.features.data.len() == n * numeric_dim {
        for a in 0..n {
            for j in 0..numeric_dim {
                out[a * dim + 1 + n_attr + j] = f64::from(items.features.row(a)[j]);
            }
        }
    }
    Ok((dim, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_core::{NO_QUERY, NO_TIME};

    fn parts() -> FeedbackParts {
        FeedbackParts {
            n_actions: 2,
            len_list: 1,
            context_dim: 1,
            context: vec![0.0, 1.0],
            action: vec![0, 1],
            position: vec![0, 0],
            reward: vec![1.0, 0.0],
            pscore: vec![0.5, 0.5],
            action_context_dim: 0,
            action_context: vec![],
        }
    }

    #[test]
    fn bad_rounds_are_named() {
        let mut p = parts();
        p.pscore[1] = 0.0;
        let err = LoggedFeedback::new(p).unwrap_err().to_string();
        assert!(
            err.contains("round 1") && err.contains("propensity 0"),
            "{err}"
        );
        let mut p = parts();
        p.action[0] = 2;
        let err = LoggedFeedback::new(p).unwrap_err().to_string();
        assert!(
            err.contains("round 0") && err.contains("outside the item set"),
            "{err}"
        );
        let mut p = parts();
        p.position[1] = 1;
        let err = LoggedFeedback::new(p).unwrap_err().to_string();
        assert!(err.contains("round 1") && err.contains("position"), "{err}");
        let mut p = parts();
        p.reward.pop();
        let err = LoggedFeedback::new(p).unwrap_err().to_string();
        assert!(err.contains("reward has 1 entries, expected 2"), "{err}");
    }

    /// A simulator-style log: one session shows two items, the user clicks the second later.
    #[test]
    fn rewards_come_from_same_session_clicks() {
        let mut data = Dataset::default();
        data.users.attributes.names = vec!["segment".into()];
        data.users.attributes.values = vec![vec![]];
        for (id, segment) in [("u0", "b"), ("u1", "a")] {
            let u = data.users.intern(id) as usize;
            data.users.attributes.values[0][u] = segment.into();
        }
        data.items.intern("i0");
        data.items.intern("i1");
        let s0 = data.sessions.intern("s0");
        let s1 = data.sessions.intern("s1");
        let ev = &mut data.events;
        let imp = EventKind::Impression;
        ev.push(0, 0, imp, f64::NAN, 10, s0, NO_QUERY, 1, 0.5, 0);
        ev.push(0, 1, imp, f64::NAN, 10, s0, NO_QUERY, 2, 0.25, 0);
        ev.push(1, 1, imp, f64::NAN, NO_TIME, s1, NO_QUERY, 1, 1.0, 0);
        ev.push(
            0,
            1,
            EventKind::Click,
            f64::NAN,
            30,
            s0,
            NO_QUERY,
            2,
            f64::NAN,
            0,
        );
        let fb = LoggedFeedback::from_dataset(&data).unwrap();
        assert_eq!(fb.n_rounds(), 3);
        assert_eq!(fb.reward(), &[0.0, 1.0, 0.0]);
        assert_eq!(fb.position(), &[0, 1, 0]);
        assert_eq!(fb.len_list(), 2);
        // Segments {a, b}: "a" is dropped, "b" is the one dummy.
        assert_eq!(fb.context(), &[1.0, 1.0, 0.0]);
        assert_eq!(fb.action_context_row(1), &[1.0]);

        data.events.propensity[1] = f64::NAN;
        let err = LoggedFeedback::from_dataset(&data).unwrap_err().to_string();
        assert!(
            err.contains("event 1") && err.contains("propensity"),
            "{err}"
        );
        data.events.propensity[1] = 0.25;
        data.events.position[2] = NO_POSITION;
        let err = LoggedFeedback::from_dataset(&data).unwrap_err().to_string();
        assert!(err.contains("event 2") && err.contains("position"), "{err}");
    }
}
