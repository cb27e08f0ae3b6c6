//! The evaluation policy's action distribution `pi(action, position | round)`.
//!
//! OBP passes a dense `(n_rounds, n_actions, len_list)` array. At 1M rounds, 80 actions and 3 slots
//! that is 1.9 GB of f64, so a context-free policy (the same distribution every round, like OBP's
//! Bernoulli TS batch distribution) is stored once and shared by every round.

use assay_import::ActionDistTable;
/// How far a position's probabilities may stray from 1 (files print rounded decimals).
pub use assay_import::SUM_TOLERANCE;

use crate::error::{BanditError, Result};

/// `pi(action, position | round)`: for each round and slot, a distribution over actions.
///
/// Storage is position-major: the probabilities of every action at one slot are contiguous, since
/// the direct method sums over actions at the logged slot.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionDist {
    n_rounds: Option<usize>,
    n_actions: usize,
    len_list: usize,
    probs: Vec<f64>,
}

/// Checks that a per-round distribution of `n_rounds` x `n_actions` x `len_list`
/// probabilities, held `copies` times while it is built, fits in the memory budget
/// ([`assay_core::memory`]); `what` says whose distribution it is.
pub(crate) fn check_per_round(
    what: &str,
    n_rounds: usize,
    n_actions: usize,
    len_list: usize,
    copies: usize,
) -> Result<()> {
    use assay_core::memory::{self, format_count};
    memory::check(
        memory::dense_bytes(&[copies, n_rounds, n_actions, len_list], 8),
        || {
            format!(
                "{what}: a per-round action distribution of {} rounds x {} actions x {} \
                 positions{}",
                format_count(n_rounds as u64),
                format_count(n_actions as u64),
                format_count(len_list as u64),
                if copies > 1 {
                    format!(", held {copies} times while built")
                } else {
                    String::new()
                }
            )
        },
        "evaluate a context-free policy (the same distribution every round) or fewer rounds",
    )?;
    Ok(())
}

impl ActionDist {
    /// A context-free distribution: `probs[position][action]`, the same in every round.
    ///
    /// Each position's row must have `n_actions` entries, lie in [0, 1] and sum to 1 within
    /// [`SUM_TOLERANCE`].
    pub fn context_free(probs: &[Vec<f64>]) -> Result<ActionDist> {
        let len_list = probs.len();
        let n_actions = probs.first().map_or(0, Vec::len);
        let mut flat = Vec::with_capacity(len_list * n_actions);
        for (k, row) in probs.iter().enumerate() {
            if row.len() != n_actions {
                return Err(BanditError::Invalid(format!(
                    "position {k} has {} actions, position 0 has {n_actions}",
                    row.len()
                )));
            }
            check_distribution(row)
                .map_err(|m| BanditError::Invalid(format!("position {k}: {m}")))?;
            flat.extend_from_slice(row);
        }
        if len_list == 0 || n_actions == 0 {
            return Err(BanditError::Invalid("empty action distribution".into()));
        }
        Ok(ActionDist {
            n_rounds: None,
            n_actions,
            len_list,
            probs: flat,
        })
    }

    /// A per-round distribution from OBP's layout: `action_dist[(round * n_actions + action) * len_list + position]`.
    pub fn from_obp_layout(
        n_rounds: usize,
        n_actions: usize,
        len_list: usize,
        action_dist: &[f64],
    ) -> Result<ActionDist> {
        let expected = n_rounds
            .checked_mul(n_actions)
            .and_then(|n| n.checked_mul(len_list));
        if expected != Some(action_dist.len()) || n_actions == 0 || len_list == 0 {
            return Err(BanditError::Invalid(format!(
                "action_dist has {} values, expected {n_rounds} x {n_actions} x {len_list}",
                action_dist.len()
            )));
        }
        check_per_round("a policy", n_rounds, n_actions, len_list, 1)?;
        let mut probs = vec![0.0; action_dist.len()];
        for i in 0..n_rounds {
            for a in 0..n_actions {
                for k in 0..len_list {
                    probs[(i * len_list + k) * n_actions + a] =
                        action_dist[(i * n_actions + a) * len_list + k];
                }
            }
        }
        for i in 0..n_rounds {
            for k in 0..len_list {
                let row =
                    &probs[(i * len_list + k) * n_actions..(i * len_list + k + 1) * n_actions];
                check_distribution(row)
                    .map_err(|m| BanditError::Invalid(format!("round {i}, position {k}: {m}")))?;
            }
        }
        Ok(ActionDist {
            n_rounds: Some(n_rounds),
            n_actions,
            len_list,
            probs,
        })
    }

    /// Reads an action-distribution CSV file with [`assay_import::read_action_dist`] (which
    /// documents the format; errors name the file, the line and the field).
    pub fn from_csv(
        path: &std::path::Path,
        n_rounds: usize,
        n_actions: usize,
        len_list: usize,
    ) -> Result<ActionDist> {
        let table = assay_import::read_action_dist(path, n_rounds, n_actions, len_list)?;
        ActionDist::from_table(table)
    }

    /// Wraps the checked probabilities of an action-distribution file (read by
    /// [`assay_import::read_action_dist`]), checking them again: shapes, and every slot a
    /// distribution.
    pub fn from_table(table: ActionDistTable) -> Result<ActionDist> {
        let ActionDistTable {
            n_rounds,
            n_actions,
            len_list,
            probs,
        } = table;
        let slots = n_rounds.unwrap_or(1) * len_list;
        if probs.len() != slots * n_actions || n_actions == 0 || len_list == 0 {
            return Err(BanditError::Invalid(format!(
                "the action distribution has {} values, expected {slots} slots x {n_actions} actions",
                probs.len()
            )));
        }
        for slot in 0..slots {
            check_distribution(&probs[slot * n_actions..(slot + 1) * n_actions]).map_err(|m| {
                BanditError::Invalid(format!(
                    "round {}, position {}: {m}",
                    slot / len_list,
                    slot % len_list
                ))
            })?;
        }
        Ok(ActionDist {
            n_rounds,
            n_actions,
            len_list,
            probs,
        })
    }

    /// Writes the distribution as CSV in the format [`assay_import::read_action_dist`] reads (zero
    /// rows omitted).
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        match self.n_rounds {
            None => {
                out.push_str("action,position,prob\n");
                for k in 0..self.len_list {
                    for a in 0..self.n_actions {
                        let p = self.probs[k * self.n_actions + a];
                        if p != 0.0 {
                            out.push_str(&format!("{a},{},{p:?}\n", k + 1));
                        }
                    }
                }
            }
            Some(n_rounds) => {
                out.push_str("round,action,position,prob\n");
                for i in 0..n_rounds {
                    for k in 0..self.len_list {
                        for a in 0..self.n_actions {
                            let p = self.at_position(i, k)[a];
                            if p != 0.0 {
                                out.push_str(&format!("{i},{a},{},{p:?}\n", k + 1));
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Number of rounds for a per-round distribution; `None` when context-free.
    pub fn n_rounds(&self) -> Option<usize> {
        self.n_rounds
    }

    /// Number of actions.
    pub fn n_actions(&self) -> usize {
        self.n_actions
    }

    /// Number of positions.
    pub fn len_list(&self) -> usize {
        self.len_list
    }

    /// True when every round shares one distribution.
    pub fn is_context_free(&self) -> bool {
        self.n_rounds.is_none()
    }

    /// The probabilities of every action at zero-based `position` in `round`.
    ///
    /// # Panics
    /// When `round` or `position` is out of range.
    #[inline]
    pub fn at_position(&self, round: usize, position: usize) -> &[f64] {
        let slot = match self.n_rounds {
            None => position,
            Some(_) => round * self.len_list + position,
        };
        &self.probs[slot * self.n_actions..(slot + 1) * self.n_actions]
    }

    /// `pi(action, position | round)`, zero-based position.
    #[inline]
    pub fn prob(&self, round: usize, action: usize, position: usize) -> f64 {
        self.at_position(round, position)[action]
    }
}

fn check_distribution(row: &[f64]) -> Result<(), String> {
    if let Some(a) = row.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(format!(
            "probability {} of action {a} is outside [0, 1]",
            row[a]
        ));
    }
    let sum: f64 = row.iter().sum();
    if (sum - 1.0).abs() > SUM_TOLERANCE {
        return Err(format!("probabilities sum to {sum}, expected 1"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::path::Path;

    fn parse(text: &str, n_rounds: usize) -> Result<ActionDist> {
        let table = assay_import::parse_action_dist(Path::new("pi.csv"), text, n_rounds, 3, 2)?;
        ActionDist::from_table(table)
    }

    #[test]
    fn context_free_file_with_missing_rows() {
        let pi = parse("action,position,prob\n0,1,0.25\n2,1,0.75\n1,2,1\n", 5).unwrap();
        assert!(pi.is_context_free());
        assert_eq!(pi.at_position(4, 0), &[0.25, 0.0, 0.75]);
        assert_eq!(pi.prob(0, 1, 1), 1.0);
        let again = parse(&pi.to_csv(), 5).unwrap();
        assert_eq!(again, pi);
    }

    #[test]
    fn per_round_file() {
        let text = "round,action,position,prob\n0,0,1,1\n0,1,2,1\n1,2,1,1\n1,2,2,1\n";
        let pi = parse(text, 2).unwrap();
        assert_eq!(pi.prob(1, 2, 1), 1.0);
        assert_eq!(pi.prob(0, 2, 1), 0.0);
        assert_eq!(parse(&pi.to_csv(), 2).unwrap(), pi);
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let err = parse("action,position,prob\n0,1,0.5\n1,1,0.4\n0,2,1\n", 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pi.csv:3: field `prob`: the probabilities of position 1 sum to 0.9, expected 1"
        );
        let err = parse("action,position,prob\n0,1,1\n7,2,1\n", 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pi.csv:3: field `action`: action 7 is outside the item set 0..3"
        );
        let err = parse("action,position,prob\n0,0,1\n", 1).unwrap_err();
        assert!(
            err.to_string().starts_with("pi.csv:2: field `position`"),
            "{err}"
        );
        let err = parse("action,position,prob\n0,1,x\n", 1).unwrap_err();
        assert!(
            err.to_string().starts_with("pi.csv:2: field `prob`"),
            "{err}"
        );
        let err = parse("a,b\n", 1).unwrap_err();
        assert!(
            err.to_string().starts_with("pi.csv:1: field `header`"),
            "{err}"
        );
        let err = parse("round,action,position,prob\n3,0,1,1\n", 2).unwrap_err();
        assert!(
            err.to_string().starts_with("pi.csv:2: field `round`"),
            "{err}"
        );
    }

    #[test]
    fn obp_layout_is_transposed() {
        // One round, two actions, two positions; OBP index (a * 2 + k).
        let pi = ActionDist::from_obp_layout(1, 2, 2, &[0.3, 0.9, 0.7, 0.1]).unwrap();
        assert_eq!(pi.at_position(0, 0), &[0.3, 0.7]);
        assert_eq!(pi.at_position(0, 1), &[0.9, 0.1]);
        assert!(ActionDist::from_obp_layout(1, 2, 2, &[0.3, 0.9, 0.6, 0.1]).is_err());
    }
}
