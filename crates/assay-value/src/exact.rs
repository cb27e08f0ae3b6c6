//! Exact methods: leave-one-out and semivalues by enumerating every subset.

use rayon::prelude::*;
use statrs::function::beta::ln_beta;
use statrs::function::gamma::ln_gamma;

use crate::utility::members;
use crate::{PlayerValue, Result, Utility, ValueError, Values};

/// The most players [`exact_semivalue`] accepts: 2^24 utility evaluations.
pub const MAX_EXACT_PLAYERS: usize = 24;

/// A semivalue: a weighting of a player's marginal contributions by the size of the coalition
/// it joins. With `n` players, a subset `S` of the others, `|S| = s`, player `i` gets
/// `φ_i = Σ_S w(n, s) · (U(S ∪ {i}) − U(S))`, and every semivalue here satisfies
/// `Σ_s C(n−1, s) · w(n, s) = 1`, so `φ_i` is a weighted average of marginal contributions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Semivalue {
    /// Shapley: `w = s!(n−1−s)!/n!`, every cardinality weighted `1/n`. The only efficient one.
    Shapley,
    /// Banzhaf: `w = 1/2^(n−1)`, every subset weighted the same.
    Banzhaf,
    /// Beta Shapley (Kwon & Zou 2022): `w = B(s+β, n−1−s+α)/B(α, β)`; `α > β` favours small
    /// coalitions (the paper's recommended `(16, 1)`), `(1, 1)` is Shapley.
    Beta {
        /// α > 0.
        alpha: f64,
        /// β > 0.
        beta: f64,
    },
}

impl Semivalue {
    /// Short name for method labels.
    pub fn name(&self) -> String {
        match self {
            Semivalue::Shapley => "shapley".into(),
            Semivalue::Banzhaf => "banzhaf".into(),
            Semivalue::Beta { alpha, beta } => format!("beta({alpha},{beta})"),
        }
    }

    pub(crate) fn check(&self) -> Result<()> {
        if let Semivalue::Beta { alpha, beta } = *self {
            if !(alpha > 0.0 && alpha.is_finite()) {
                return crate::error::param("alpha", alpha, "must be a positive number");
            }
            if !(beta > 0.0 && beta.is_finite()) {
                return crate::error::param("beta", beta, "must be a positive number");
            }
        }
        Ok(())
    }

    /// `ln w(n, s)`: the log weight of one coalition of size `s` among `n` players.
    pub fn ln_subset_weight(&self, n: usize, s: usize) -> f64 {
        debug_assert!(s < n);
        match *self {
            Semivalue::Shapley => -(n as f64).ln() - ln_binomial(n - 1, s),
            Semivalue::Banzhaf => -((n - 1) as f64) * std::f64::consts::LN_2,
            Semivalue::Beta { alpha, beta } => {
                ln_beta(s as f64 + beta, (n - 1 - s) as f64 + alpha) - ln_beta(alpha, beta)
            }
        }
    }

    /// The importance weight of a marginal contribution at prefix size `s` of a uniformly
    /// random permutation: `n · C(n−1, s) · w(n, s)`, so that its expectation is `φ_i`.
    /// Exactly 1 for Shapley.
    pub fn permutation_coefficient(&self, n: usize, s: usize) -> f64 {
        match self {
            Semivalue::Shapley => 1.0,
            _ => ((n as f64).ln() + ln_binomial(n - 1, s) + self.ln_subset_weight(n, s)).exp(),
        }
    }

    /// `w(n, s)` for small `n`, computed without logarithms where exact.
    fn subset_weight(&self, n: usize, s: usize) -> f64 {
        match self {
            Semivalue::Shapley => 1.0 / (n as f64 * binomial(n - 1, s)),
            Semivalue::Banzhaf => 1.0 / 2f64.powi(n as i32 - 1),
            Semivalue::Beta { .. } => self.ln_subset_weight(n, s).exp(),
        }
    }
}

/// `C(n, k)` as a float; exact below 2^53.
pub(crate) fn binomial(n: usize, k: usize) -> f64 {
    let k = k.min(n - k);
    let mut c = 1.0;
    for j in 0..k {
        c = c * (n - j) as f64 / (j + 1) as f64;
    }
    c.round()
}

fn ln_binomial(n: usize, k: usize) -> f64 {
    ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
}

/// Leave-one-out: `U(N) − U(N \ {i})` for every player, evaluated in parallel.
pub fn leave_one_out(utility: &dyn Utility) -> Result<Values> {
    let n = utility.n_players();
    if n == 0 {
        return Err(ValueError::Empty("the game has no players".into()));
    }
    let all: Vec<usize> = (0..n).collect();
    let total = utility.eval(&all);
    let values: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| {
            let rest: Vec<usize> = (0..n).filter(|&j| j != i).collect();
            total - utility.eval(&rest)
        })
        .collect();
    Ok(table(utility, "loo", values, 1, n as u64 + 1))
}

/// A semivalue by enumerating all `2^n` subsets (evaluated in parallel, each once).
///
/// For Shapley the values sum to `U(N) − U(∅)` up to floating-point rounding.
pub fn exact_semivalue(utility: &dyn Utility, semivalue: Semivalue) -> Result<Values> {
    semivalue.check()?;
    let n = utility.n_players();
    if n == 0 {
        return Err(ValueError::Empty("the game has no players".into()));
    }
    if n > MAX_EXACT_PLAYERS {
        return Err(ValueError::TooManyPlayers {
            method: "exact enumeration",
            n,
            max: MAX_EXACT_PLAYERS,
        });
    }
    let n_subsets = 1u64 << n;
    // A refit on a larger coalition costs more (more data; for EASE, more items in the
    // inverse): start the largest first, one subset per task, so the threads finish together
    // instead of one thread being left with the full coalition at the end.
    let mut order: Vec<u64> = (0..n_subsets).collect();
    order.sort_by_key(|mask| std::cmp::Reverse(mask.count_ones()));
    let evaluated: Vec<(u64, f64)> = order
        .into_par_iter()
        .with_max_len(1)
        .map_init(Vec::new, |subset, mask| {
            members(mask, subset);
            (mask, utility.eval(subset))
        })
        .collect();
    let mut utilities = vec![0.0f64; n_subsets as usize];
    for (mask, value) in evaluated {
        utilities[mask as usize] = value;
    }
    let weights: Vec<f64> = (0..n).map(|s| semivalue.subset_weight(n, s)).collect();
    let values: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| {
            let bit = 1u64 << i;
            // Sum per cardinality first, then weight: fewer roundings of tiny weights.
            let mut by_size = vec![0.0f64; n];
            for mask in 0..n_subsets {
                if mask & bit == 0 {
                    let s = mask.count_ones() as usize;
                    by_size[s] += utilities[(mask | bit) as usize] - utilities[mask as usize];
                }
            }
            by_size.iter().zip(&weights).map(|(d, w)| d * w).sum()
        })
        .collect();
    Ok(table(
        utility,
        &format!("exact-{}", semivalue.name()),
        values,
        1u64 << (n - 1),
        n_subsets,
    ))
}

/// Exact Shapley values by enumeration; see [`exact_semivalue`].
pub fn exact_shapley(utility: &dyn Utility) -> Result<Values> {
    exact_semivalue(utility, Semivalue::Shapley)
}

fn table(
    utility: &dyn Utility,
    method: &str,
    values: Vec<f64>,
    per_player: u64,
    evals: u64,
) -> Values {
    Values {
        method: method.into(),
        utility: utility.name(),
        players: values
            .into_iter()
            .enumerate()
            .map(|(player, value)| PlayerValue {
                player,
                name: utility.player_name(player),
                value,
                std_error: 0.0,
                n_evals: per_player,
                converged: true,
            })
            .collect(),
        utility_evals: evals,
        sum_std_error: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_over_coalitions() {
        for n in [1usize, 2, 5, 12] {
            for sv in [
                Semivalue::Shapley,
                Semivalue::Banzhaf,
                Semivalue::Beta {
                    alpha: 16.0,
                    beta: 1.0,
                },
                Semivalue::Beta {
                    alpha: 4.0,
                    beta: 1.0,
                },
            ] {
                let total: f64 = (0..n)
                    .map(|s| binomial(n - 1, s) * sv.subset_weight(n, s))
                    .sum();
                assert!((total - 1.0).abs() < 1e-12, "{sv:?} n={n}: {total}");
                let mean: f64 = (0..n)
                    .map(|s| sv.permutation_coefficient(n, s))
                    .sum::<f64>()
                    / n as f64;
                assert!((mean - 1.0).abs() < 1e-12, "{sv:?} n={n}: {mean}");
            }
        }
    }

    #[test]
    fn beta_one_one_is_shapley() {
        let beta = Semivalue::Beta {
            alpha: 1.0,
            beta: 1.0,
        };
        for s in 0..7 {
            let a = beta.subset_weight(7, s);
            let b = Semivalue::Shapley.subset_weight(7, s);
            assert!((a - b).abs() < 1e-12 * b, "{s}: {a} vs {b}");
        }
    }

    #[test]
    fn beta_16_1_favours_small_coalitions() {
        let sv = Semivalue::Beta {
            alpha: 16.0,
            beta: 1.0,
        };
        // Per-cardinality mass C(n-1, s) w(s) decreases in s.
        let mass: Vec<f64> = (0..10)
            .map(|s| binomial(9, s) * sv.subset_weight(10, s))
            .collect();
        assert!(mass.windows(2).all(|w| w[0] > w[1]), "{mass:?}");
        // Hand check, n = 2: w(0) = B(1, 17)/B(16, 1) = (1/17)/(1/16) = 16/17.
        assert!((sv.subset_weight(2, 0) - 16.0 / 17.0).abs() < 1e-12);
    }

    #[test]
    fn binomials() {
        assert_eq!(binomial(19, 9), 92378.0);
        assert_eq!(binomial(5, 0), 1.0);
        assert_eq!(binomial(5, 5), 1.0);
    }
}
