//! Curves that judge values: quality as the players valued highest (lowest, random) are
//! removed first, and quality against the amount of data.
//!
//! Both take the scorer as a closure, "the quality of a model fitted on these rows", so the
//! curves are measured on whatever split and metric the caller values with (a held-out test
//! split, in the data-value report). Random orders come from seeded streams.

use assay_core::UserIdx;
use rand::seq::SliceRandom;

use crate::sampling::stream_rng;

/// Quality after removing a share of the users, in three orders.
#[derive(Debug, Clone, PartialEq)]
pub struct RemovalCurve {
    /// Shares removed, ascending, starting at 0.
    pub fractions: Vec<f64>,
    /// Quality with the highest-valued users removed first.
    pub high_first: Vec<f64>,
    /// Quality with users removed in random order (mean over the draws).
    pub random: Vec<f64>,
    /// Quality with the lowest-valued users removed first.
    pub low_first: Vec<f64>,
    /// Random orders averaged.
    pub random_draws: u32,
}

/// Settings of [`removal_curve`].
#[derive(Debug, Clone, PartialEq)]
pub struct RemovalConfig {
    /// Shares of users removed (0 is added; shares outside (0, 1) are ignored).
    pub fractions: Vec<f64>,
    /// Random removal orders averaged (at least 1).
    pub random_draws: u32,
    /// Seed of the random orders (stream `2000 + draw`).
    pub seed: u64,
}

/// The removal curves of users valued `user_values`: `full_score` is the quality with every
/// user, `score_without(removed)` the quality of a model fitted without their rows. Ties in
/// value are broken by user index.
pub fn removal_curve(
    user_values: &[(UserIdx, f64)],
    config: &RemovalConfig,
    full_score: f64,
    score_without: impl Fn(&[UserIdx]) -> f64,
) -> RemovalCurve {
    let mut order: Vec<(UserIdx, f64)> = user_values.to_vec();
    order.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let low_first: Vec<UserIdx> = order.iter().map(|u| u.0).collect();
    let high_first: Vec<UserIdx> = low_first.iter().rev().copied().collect();
    let mut fractions = vec![0.0];
    fractions.extend(
        config
            .fractions
            .iter()
            .copied()
            .filter(|&f| f > 0.0 && f < 1.0),
    );
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
    let draws = config.random_draws.max(1);
    let mut random = vec![0.0; fractions.len()];
    for draw in 0..draws {
        let mut shuffled = low_first.clone();
        shuffled.shuffle(&mut stream_rng(config.seed, 2000 + draw as u64));
        for (slot, y) in random.iter_mut().zip(curve(&shuffled)) {
            *slot += y / draws as f64;
        }
    }
    RemovalCurve {
        fractions,
        high_first: high,
        random,
        low_first: low,
        random_draws: draws,
    }
}

/// Quality against the share of some rows added to fixed ones.
#[derive(Debug, Clone, PartialEq)]
pub struct LearningCurve {
    /// Shares of the varied rows, ascending, ending at 1.
    pub fractions: Vec<f64>,
    /// Quality at each share.
    pub scores: Vec<f64>,
    /// Quality with the fixed rows alone (0 when there are none).
    pub without: f64,
}

/// The learning curve of `varied` rows on top of `fixed` ones: a seeded random share
/// (stream `stream`) of `varied` is added for each of `fractions` (shares outside (0, 1) are
/// ignored; 1 is added and scores `full_score`); `score(rows)` is the quality of a model
/// fitted on `rows`.
pub fn learning_curve(
    fixed: &[u32],
    varied: &[u32],
    fractions: &[f64],
    seed: u64,
    stream: u64,
    full_score: f64,
    score: impl Fn(&[u32]) -> f64,
) -> LearningCurve {
    let mut shuffled = varied.to_vec();
    shuffled.shuffle(&mut stream_rng(seed, stream));
    let mut fractions: Vec<f64> = fractions
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
            score(&rows)
        })
        .collect();
    let without = if fixed.is_empty() { 0.0 } else { score(fixed) };
    LearningCurve {
        fractions,
        scores,
        without,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_orders_follow_the_values() {
        // Four users worth 4, 1, 3, 2; quality = 10 minus the values of the removed users.
        let values = [(0, 4.0), (1, 1.0), (2, 3.0), (3, 2.0)];
        let worth = |u: UserIdx| values[u as usize].1;
        let config = RemovalConfig {
            fractions: vec![0.25, 0.5, 1.5],
            random_draws: 2,
            seed: 1,
        };
        let curve = removal_curve(&values, &config, 10.0, |removed| {
            10.0 - removed.iter().map(|&u| worth(u)).sum::<f64>()
        });
        assert_eq!(curve.fractions, vec![0.0, 0.25, 0.5]);
        assert_eq!(curve.high_first, vec![10.0, 6.0, 3.0]);
        assert_eq!(curve.low_first, vec![10.0, 9.0, 7.0]);
        assert_eq!(curve.random_draws, 2);
        // A random order lies between the two.
        for i in 0..3 {
            assert!(
                curve.high_first[i] <= curve.random[i] && curve.random[i] <= curve.low_first[i]
            );
        }
    }

    #[test]
    fn learning_curve_adds_shares_of_the_varied_rows() {
        // Quality = number of rows.
        let curve = learning_curve(
            &[100, 101],
            &[0, 1, 2, 3],
            &[0.5, 0.0, 2.0],
            5,
            3,
            6.0,
            |rows| rows.len() as f64,
        );
        assert_eq!(curve.fractions, vec![0.5, 1.0]);
        assert_eq!(curve.scores, vec![4.0, 6.0]);
        assert_eq!(curve.without, 2.0);
        let alone = learning_curve(&[], &[0, 1], &[0.5], 5, 3, 2.0, |rows| rows.len() as f64);
        assert_eq!(alone.without, 0.0);
    }
}
