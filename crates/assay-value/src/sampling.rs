//! Monte-Carlo semivalues: permutation sampling with truncation (TMC-Shapley, Beta Shapley)
//! and maximum-sample-reuse Banzhaf.
//!
//! Every sample `k` draws from its own ChaCha8 stream (`seed`, stream `k`), and samples are
//! merged in index order, so the output depends only on the seed and the stopping rule, not
//! on the number of threads.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::exact::Semivalue;
use crate::values::Welford;
use crate::{PlayerValue, Result, Utility, ValueError, Values};

/// The ChaCha8 generator of `seed`, stream `stream`: sample `k` of every method draws from
/// stream `k`, so draws do not depend on which thread runs them.
pub(crate) fn stream_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// When a Monte-Carlo method stops.
///
/// Samples are drawn in batches of `batch`. After each batch, a player has *converged* when
/// it has at least `min_samples` samples and its standard error is at most
/// `atol + rtol · |value|`. The method stops when every player has converged, or when
/// `max_samples` samples have been drawn; the table says which players converged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Convergence {
    /// Samples per batch (permutations or subsets); at least 1.
    pub batch: u64,
    /// Fewest samples before a player may count as converged.
    pub min_samples: u64,
    /// Hard cap on samples.
    pub max_samples: u64,
    /// Relative standard-error target.
    pub rtol: f64,
    /// Absolute standard-error target.
    pub atol: f64,
}

impl Convergence {
    /// A fixed budget of exactly `samples` samples, no early stop.
    pub fn fixed(samples: u64) -> Convergence {
        Convergence {
            batch: 64.min(samples.max(1)),
            min_samples: samples,
            max_samples: samples,
            rtol: 0.0,
            atol: 0.0,
        }
    }

    fn check(&self) -> Result<()> {
        if self.batch == 0 {
            return crate::error::param("batch", self.batch, "must be at least 1");
        }
        if self.max_samples < 2 {
            return crate::error::param("max_samples", self.max_samples, "must be at least 2");
        }
        if !(self.rtol >= 0.0 && self.atol >= 0.0) {
            return crate::error::param("rtol/atol", self.rtol, "must not be negative");
        }
        Ok(())
    }

    fn converged(&self, se: f64, count: u64, value: f64) -> bool {
        count >= self.min_samples && se.is_finite() && se <= self.atol + self.rtol * value.abs()
    }
}

/// Progress callback: `(samples done, sample budget)`.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// A semivalue estimated from random permutations.
///
/// For each permutation the utilities of its prefixes are computed (through
/// [`Utility::eval_prefixes`], so incremental utilities are fast), and player `i` at prefix
/// size `s` gets the marginal contribution `U(prefix ∪ {i}) − U(prefix)` times
/// [`Semivalue::permutation_coefficient`] (1 for Shapley).
///
/// Truncation (Ghorbani & Zou 2019): when `truncation = Some(tol)`, a permutation stops as soon
/// as `|U(N) − U(prefix)| < tol · |U(N)|`, and the remaining players get a marginal
/// contribution of 0. `None` evaluates every prefix; then each permutation's contributions
/// telescope to exactly `U(N) − U(∅)`.
pub fn permutation_semivalue(
    utility: &dyn Utility,
    semivalue: Semivalue,
    truncation: Option<f64>,
    convergence: &Convergence,
    seed: u64,
    progress: Progress<'_>,
) -> Result<Values> {
    semivalue.check()?;
    convergence.check()?;
    if let Some(tol) = truncation {
        if !(tol >= 0.0 && tol.is_finite()) {
            return crate::error::param("truncation", tol, "must be a non-negative number");
        }
    }
    let n = utility.n_players();
    if n == 0 {
        return Err(ValueError::Empty("the game has no players".into()));
    }
    let coefficients: Vec<f64> = (0..n)
        .map(|s| semivalue.permutation_coefficient(n, s))
        .collect();
    let empty = utility.eval(&[]);
    let all: Vec<usize> = (0..n).collect();
    let total = utility.eval(&all);
    let mut evals = 2u64;
    let stop = move |value: f64| match truncation {
        Some(tol) => (total - value).abs() < tol * total.abs(),
        None => false,
    };

    let mut stats = vec![Welford::default(); n];
    let mut sums = Welford::default();
    let mut done = 0u64;
    let mut converged = vec![false; n];
    while done < convergence.max_samples {
        let batch = convergence.batch.min(convergence.max_samples - done);
        let samples: Vec<(Vec<usize>, Vec<f64>)> = (done..done + batch)
            .into_par_iter()
            .map(|k| {
                let mut rng = crate::sampling::stream_rng(seed, k);
                let mut order: Vec<usize> = (0..n).collect();
                order.shuffle(&mut rng);
                let mut prefix_values = Vec::with_capacity(n);
                utility.eval_prefixes(&order, &stop, &mut prefix_values);
                (order, prefix_values)
            })
            .collect();
        for (order, prefix_values) in samples {
            evals += prefix_values.len() as u64;
            let mut previous = empty;
            for (s, &player) in order.iter().enumerate() {
                let marginal = match prefix_values.get(s) {
                    Some(&value) => {
                        let m = value - previous;
                        previous = value;
                        m
                    }
                    None => 0.0,
                };
                stats[player].add(coefficients[s] * marginal);
            }
            sums.add(previous - empty);
        }
        done += batch;
        progress(done, convergence.max_samples);
        for (flag, w) in converged.iter_mut().zip(&stats) {
            *flag = convergence.converged(w.std_error(), w.count, w.mean);
        }
        if converged.iter().all(|&c| c) {
            break;
        }
    }
    let method = match (semivalue, truncation) {
        (Semivalue::Shapley, Some(_)) => "tmc-shapley".to_string(),
        (sv, _) => format!("permutation-{}", sv.name()),
    };
    let sum_std_error = match semivalue {
        Semivalue::Shapley => sums.std_error(),
        _ => f64::NAN,
    };
    Ok(Values {
        method,
        utility: utility.name(),
        players: stats
            .iter()
            .zip(&converged)
            .enumerate()
            .map(|(player, (w, &converged))| PlayerValue {
                player,
                name: utility.player_name(player),
                value: w.mean,
                std_error: w.std_error(),
                n_evals: w.count,
                converged,
            })
            .collect(),
        utility_evals: evals,
        sum_std_error,
    })
}

/// Banzhaf values by maximum sample reuse (Wang & Jia 2023).
///
/// Each sample is a uniformly random subset `S` (every player in with probability 1/2), and
/// its one utility `U(S)` serves every player: `φ_i = mean{U(S) : i ∈ S} − mean{U(S) : i ∉ S}`.
/// The standard error is `sqrt(var_in/n_in + var_out/n_out)`.
pub fn msr_banzhaf(
    utility: &dyn Utility,
    convergence: &Convergence,
    seed: u64,
    progress: Progress<'_>,
) -> Result<Values> {
    convergence.check()?;
    let n = utility.n_players();
    if n == 0 {
        return Err(ValueError::Empty("the game has no players".into()));
    }
    let mut inside = vec![Welford::default(); n];
    let mut outside = vec![Welford::default(); n];
    let mut done = 0u64;
    let mut converged = vec![false; n];
    let estimate = |i: usize, inside: &[Welford], outside: &[Welford]| {
        let value = inside[i].mean - outside[i].mean;
        let se = (inside[i].variance() / inside[i].count as f64
            + outside[i].variance() / outside[i].count as f64)
            .sqrt();
        (value, se)
    };
    while done < convergence.max_samples {
        let batch = convergence.batch.min(convergence.max_samples - done);
        let samples: Vec<(Vec<bool>, f64)> = (done..done + batch)
            .into_par_iter()
            .map(|k| {
                let mut rng = crate::sampling::stream_rng(seed, k);
                let chosen: Vec<bool> = (0..n).map(|_| rng.random::<bool>()).collect();
                let subset: Vec<usize> = (0..n).filter(|&i| chosen[i]).collect();
                let value = utility.eval(&subset);
                (chosen, value)
            })
            .collect();
        for (chosen, value) in samples {
            for (i, &c) in chosen.iter().enumerate() {
                if c {
                    inside[i].add(value);
                } else {
                    outside[i].add(value);
                }
            }
        }
        done += batch;
        progress(done, convergence.max_samples);
        for (i, flag) in converged.iter_mut().enumerate() {
            let (value, se) = estimate(i, &inside, &outside);
            *flag = convergence.converged(se, done, value);
        }
        if converged.iter().all(|&c| c) {
            break;
        }
    }
    Ok(Values {
        method: "msr-banzhaf".into(),
        utility: utility.name(),
        players: (0..n)
            .map(|i| {
                let (value, std_error) = estimate(i, &inside, &outside);
                PlayerValue {
                    player: i,
                    name: utility.player_name(i),
                    value,
                    std_error,
                    n_evals: done,
                    converged: converged[i],
                }
            })
            .collect(),
        utility_evals: done,
        sum_std_error: f64::NAN,
    })
}
