//! The output table of every method.

use serde::Serialize;

/// The value of one player, with its uncertainty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlayerValue {
    /// Player index in `0..n_players`.
    pub player: usize,
    /// Player name as the utility gives it.
    pub name: String,
    /// Estimated value.
    pub value: f64,
    /// Standard error of `value`: 0 for exact methods, the standard error of the mean of the
    /// samples for Monte-Carlo ones (NaN when fewer than two samples were drawn).
    pub std_error: f64,
    /// Number of samples (marginal contributions, subsets, bags or test points) behind `value`.
    pub n_evals: u64,
    /// Whether this player's estimate met the stopping criterion (always true for exact methods).
    pub converged: bool,
}

/// A values table: one row per player, in player order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Values {
    /// The method that produced the table ("exact-shapley", "tmc-shapley"...).
    pub method: String,
    /// The utility's name.
    pub utility: String,
    /// One row per player, row `i` is player `i`.
    pub players: Vec<PlayerValue>,
    /// Utility evaluations the method asked for (before any cache).
    pub utility_evals: u64,
    /// For permutation methods, the standard error of the sum of all values (each permutation's
    /// marginal contributions telescope to one total, whose spread this is); 0 for exact
    /// methods, NaN where not defined.
    pub sum_std_error: f64,
}

impl Values {
    /// The values alone, in player order.
    pub fn values(&self) -> Vec<f64> {
        self.players.iter().map(|p| p.value).collect()
    }

    /// The standard errors alone, in player order.
    pub fn std_errors(&self) -> Vec<f64> {
        self.players.iter().map(|p| p.std_error).collect()
    }

    /// The sum of all values.
    pub fn sum(&self) -> f64 {
        self.players.iter().map(|p| p.value).sum()
    }

    /// Player indices from the lowest value to the highest (ties by index).
    pub fn ascending(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.players.len()).collect();
        order.sort_by(|&a, &b| {
            self.players[a]
                .value
                .total_cmp(&self.players[b].value)
                .then(a.cmp(&b))
        });
        order
    }

    /// True when every player converged.
    pub fn converged(&self) -> bool {
        self.players.iter().all(|p| p.converged)
    }
}

/// Running mean and variance (Welford), mergeable.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Welford {
    pub count: u64,
    pub mean: f64,
    m2: f64,
}

impl Welford {
    pub fn add(&mut self, x: f64) {
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// Sample variance (n - 1 denominator); NaN below two samples.
    pub fn variance(&self) -> f64 {
        if self.count < 2 {
            f64::NAN
        } else {
            self.m2 / (self.count - 1) as f64
        }
    }

    /// Standard error of the mean; NaN below two samples.
    pub fn std_error(&self) -> f64 {
        (self.variance() / self.count as f64).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welford_matches_two_pass() {
        let xs = [1.0, 4.0, -2.0, 7.5, 0.25];
        let mut w = Welford::default();
        xs.iter().for_each(|&x| w.add(x));
        let mean = xs.iter().sum::<f64>() / 5.0;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / 4.0;
        assert!((w.mean - mean).abs() < 1e-12);
        assert!((w.variance() - var).abs() < 1e-12);
        assert!((w.std_error() - (var / 5.0).sqrt()).abs() < 1e-12);
    }
}
