//! An evaluation policy's action distribution `pi(action, position | round)` written as CSV.

use std::collections::HashMap;
use std::path::Path;

use crate::ImportError;

/// How far a position's probabilities may stray from 1 (files print rounded decimals).
pub const SUM_TOLERANCE: f64 = 1e-6;

/// The probabilities of an action-distribution file, checked: each lies in [0, 1] and each
/// position's (per round) sum to 1 within [`SUM_TOLERANCE`].
///
/// Storage is position-major: slot `s = round * len_list + position` (zero-based position;
/// `round` is 0 for a context-free file) holds `probs[s * n_actions..(s + 1) * n_actions]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionDistTable {
    /// Number of rounds for a per-round file; `None` for a context-free one.
    pub n_rounds: Option<usize>,
    /// Number of actions.
    pub n_actions: usize,
    /// Number of positions.
    pub len_list: usize,
    /// The probabilities, position-major.
    pub probs: Vec<f64>,
}

/// Reads a CSV file: `action,position,prob` (context-free) or `round,action,position,prob`.
///
/// Actions and positions are labelled as in the logs: actions are dense item indices
/// (`0..n_actions`; for OBD the `item_id`), positions count from 1. Rounds count from 0 in the
/// order of the logged feedback. Missing rows mean probability 0. Each position's
/// probabilities (per round) must sum to 1 within [`SUM_TOLERANCE`]. Errors name the file,
/// the line and the field.
pub fn read_action_dist(
    path: &Path,
    n_rounds: usize,
    n_actions: usize,
    len_list: usize,
) -> Result<ActionDistTable, ImportError> {
    let input = crate::capped::open(path)?;
    read_from(path, input, n_rounds, n_actions, len_list)
}

/// Parses the text of an action-distribution CSV; `path` only labels errors. See
/// [`read_action_dist`].
pub fn parse_action_dist(
    path: &Path,
    text: &str,
    n_rounds: usize,
    n_actions: usize,
    len_list: usize,
) -> Result<ActionDistTable, ImportError> {
    read_from(path, text.as_bytes(), n_rounds, n_actions, len_list)
}

/// Reads an action-distribution CSV from `input`, one row at a time.
fn read_from(
    path: &Path,
    input: impl std::io::Read,
    n_rounds: usize,
    n_actions: usize,
    len_list: usize,
) -> Result<ActionDistTable, ImportError> {
    let bad =
        |line: u64, field: &str, message: String| ImportError::field(path, line, field, message);
    let (mut reader, headers) = crate::table::trimmed_csv(path, input)?;
    let names: Vec<&str> = headers.iter().collect();
    let per_round = match names.as_slice() {
        ["action", "position", "prob"] => false,
        ["round", "action", "position", "prob"] => true,
        _ => {
            return Err(bad(
                1,
                "header",
                format!(
                    "expected `action,position,prob` or `round,action,position,prob`, found `{}`",
                    names.join(",")
                ),
            ))
        }
    };
    let rounds = if per_round { n_rounds } else { 1 };
    assay_core::memory::check(
        assay_core::memory::dense_bytes(&[rounds, len_list, n_actions.saturating_add(1)], 8),
        || {
            use assay_core::memory::format_count;
            format!(
                "{}: a per-round action distribution of {} rounds x {} actions x {} positions",
                path.display(),
                format_count(rounds as u64),
                format_count(n_actions as u64),
                format_count(len_list as u64)
            )
        },
        "write a context-free file (action,position,prob: the same distribution every round) \
         or evaluate fewer rounds",
    )?;
    let mut probs = vec![0.0; rounds * len_list * n_actions];
    let mut seen_line: HashMap<(usize, usize, usize), u64> = HashMap::new();
    let mut sum_line: Vec<u64> = vec![0; rounds * len_list];
    for record in reader.records() {
        let record = record.map_err(|e| crate::table::row_error(path, 0, "row", e))?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |k: usize| record.get(k).unwrap_or("");
        let offset = usize::from(per_round);
        let round = if per_round {
            let value = field(0);
            let round: usize = value.parse().map_err(|_| {
                bad(
                    line,
                    "round",
                    format!("expected a round number, found `{value}`"),
                )
            })?;
            if round >= n_rounds {
                return Err(bad(
                    line,
                    "round",
                    format!(
                        "round {round} is outside the {n_rounds} logged rounds (counted from 0)"
                    ),
                ));
            }
            round
        } else {
            0
        };
        let value = field(offset);
        let action: usize = value.parse().map_err(|_| {
            bad(
                line,
                "action",
                format!("expected an action index, found `{value}`"),
            )
        })?;
        if action >= n_actions {
            return Err(bad(
                line,
                "action",
                format!("action {action} is outside the item set 0..{n_actions}"),
            ));
        }
        let value = field(offset + 1);
        let position: usize = value.parse().map_err(|_| {
            bad(
                line,
                "position",
                format!("expected a position counted from 1, found `{value}`"),
            )
        })?;
        if position == 0 || position > len_list {
            return Err(bad(
                line,
                "position",
                format!("position {position} is outside 1..={len_list}"),
            ));
        }
        let value = field(offset + 2);
        let prob: f64 = value.parse().map_err(|_| {
            bad(
                line,
                "prob",
                format!("expected a probability, found `{value}`"),
            )
        })?;
        if !(0.0..=1.0).contains(&prob) {
            return Err(bad(
                line,
                "prob",
                format!("probability {prob} is outside [0, 1]"),
            ));
        }
        if let Some(first) = seen_line.insert((round, action, position), line) {
            return Err(bad(
                line,
                "action",
                format!(
                    "duplicate row for action {action} at position {position} (first on line {first})"
                ),
            ));
        }
        let slot = round * len_list + position - 1;
        probs[slot * n_actions + action] = prob;
        sum_line[slot] = sum_line[slot].max(line);
    }
    for slot in 0..rounds * len_list {
        let sum: f64 = probs[slot * n_actions..(slot + 1) * n_actions].iter().sum();
        if (sum - 1.0).abs() > SUM_TOLERANCE {
            let (round, position) = (slot / len_list, slot % len_list + 1);
            let which = if per_round {
                format!("round {round}, position {position}")
            } else {
                format!("position {position}")
            };
            return Err(bad(
                sum_line[slot],
                "prob",
                format!("the probabilities of {which} sum to {sum}, expected 1"),
            ));
        }
    }
    Ok(ActionDistTable {
        n_rounds: per_round.then_some(n_rounds),
        n_actions,
        len_list,
        probs,
    })
}
