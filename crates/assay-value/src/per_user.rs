//! Group values when the utility is a mean over users, with standard errors over the users.
//!
//! The utility "mean `metric@k` over validation users" is the mean of one game per user, and
//! Shapley values are linear in the game, so a group's value is the mean of its Shapley
//! values in the per-user games; their spread gives a standard error for "which validation
//! users happened to be drawn", which is what limits an exact value's precision.
//! [`group_shapley`] enumerates all `2^n` subsets when there are at most `max_exact` groups
//! ([`per_user_shapley`]) and samples permutations otherwise
//! ([`sampled_per_user_shapley`], whose standard error adds the spread over permutations).

use std::collections::HashMap;

use rand::seq::SliceRandom;

use crate::recommend::Player;
use crate::sampling::stream_rng;

/// The mean (0 for none), summed in order.
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Mean and standard error of the mean (NaN below two values).
pub fn mean_se(xs: &[f64]) -> (f64, f64) {
    let m = mean(xs);
    if xs.len() < 2 {
        return (m, f64::NAN);
    }
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - 1) as f64;
    (m, (var / xs.len() as f64).sqrt())
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
    let mut cache: HashMap<usize, Vec<f64>> = HashMap::new();
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

/// How [`group_shapley`] computed its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupMethod {
    /// Every subset enumerated: `fits` = `2^n` utilities; errors are the users' spread.
    Exact {
        /// Subsets evaluated.
        fits: u64,
    },
    /// Sampled permutations; errors combine the permutations' and the users' spread.
    Sampled {
        /// Permutations drawn.
        permutations: u64,
    },
}

/// Shapley values of groups of rows, with standard errors over users.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupValues {
    /// How they were computed.
    pub method: GroupMethod,
    /// Per group, in the order given: (value, standard error).
    pub values: Vec<(f64, f64)>,
}

/// Settings of [`group_shapley`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupConfig {
    /// Largest number of groups valued exactly (`2^n` evaluations).
    pub max_exact: usize,
    /// Permutations sampled above `max_exact` (at least 2 are drawn).
    pub permutations: u64,
    /// Seed of the permutations.
    pub seed: u64,
}

/// Shapley values of `groups`, whose rows join the always-present rows of `train` that
/// belong to no group; `per_user(rows)` scores a model fitted on `rows` per evaluation user
/// (for instance [`crate::recommend::fit_on_rows`] then [`crate::recommend::score_model`]).
pub fn group_shapley(
    data_events: usize,
    train: &[u32],
    groups: &[Player],
    config: &GroupConfig,
    per_user: impl Fn(&[u32]) -> Vec<f64>,
) -> GroupValues {
    let mut owned = vec![false; data_events];
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
    let rows_of = |mask: usize| {
        let mut rows = base.clone();
        for (i, g) in groups.iter().enumerate() {
            if mask & (1 << i) != 0 {
                rows.extend_from_slice(&g.rows);
            }
        }
        rows
    };
    if n <= config.max_exact {
        let games: Vec<Vec<f64>> = (0..1usize << n)
            .map(|mask| per_user(&rows_of(mask)))
            .collect();
        let phi = per_user_shapley(n, &games);
        return GroupValues {
            method: GroupMethod::Exact { fits: 1 << n },
            values: phi.iter().map(|p| mean_se(p)).collect(),
        };
    }
    let permutations = config.permutations.max(2);
    GroupValues {
        method: GroupMethod::Sampled { permutations },
        values: sampled_per_user_shapley(n, permutations, config.seed, |mask| {
            per_user(&rows_of(mask))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{exact_shapley, FnUtility};

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
    fn group_shapley_exact_and_sampled_agree_on_an_additive_game() {
        // Rows 0..6 in three groups plus row 6 in none; each user's score is the sum of a
        // weight per row present, so each group's value is its rows' weight.
        let group = |name: &str, rows: Vec<u32>| Player {
            name: name.into(),
            rows,
            users: Vec::new(),
        };
        let groups = [
            group("a", vec![0, 1]),
            group("b", vec![2]),
            group("c", vec![3, 4, 5]),
        ];
        let train: Vec<u32> = (0..7).collect();
        let per_user = |rows: &[u32]| -> Vec<f64> {
            assert!(rows.contains(&6), "the row of no group is always in");
            let sum: f64 = rows.iter().filter(|&&r| r != 6).map(|&r| r as f64).sum();
            vec![sum, 2.0 * sum]
        };
        let mut config = GroupConfig {
            max_exact: 3,
            permutations: 4,
            seed: 9,
        };
        let exact = group_shapley(7, &train, &groups, &config, per_user);
        assert_eq!(exact.method, GroupMethod::Exact { fits: 8 });
        // Group a: rows 0 + 1 = 1 for user 0, 2 for user 1: mean 1.5, se 0.5.
        assert!((exact.values[0].0 - 1.5).abs() < 1e-12);
        assert!((exact.values[0].1 - 0.5).abs() < 1e-12);
        assert!((exact.values[2].0 - 18.0).abs() < 1e-12);
        config.max_exact = 2;
        let sampled = group_shapley(7, &train, &groups, &config, per_user);
        assert_eq!(sampled.method, GroupMethod::Sampled { permutations: 4 });
        for (e, s) in exact.values.iter().zip(&sampled.values) {
            assert!((e.0 - s.0).abs() < 1e-12 && (e.1 - s.1).abs() < 1e-12);
        }
    }
}
