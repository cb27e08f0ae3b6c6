//! Small sampling helpers on top of `rand`, written out so the generative model needs no
//! distribution crate and every draw is visible.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Independent random streams, one per stage, so that e.g. the catalog does not change when
/// only the number of events does.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    Catalog = 1,
    Users = 2,
    Queries = 3,
    Sessions = 4,
    Corruption = 5,
    /// Who works for the click farm, what it promotes, and the bots' extra clicks; its own
    /// stream so that the humans' session draws do not depend on the bots' behaviour.
    Bots = 6,
    /// The FAQ's order and the shoppers' FAQ questions.
    Faq = 7,
    /// The items' image vectors: the projection tables and each item's noise, so that
    /// switching images on changes no other draw.
    Images = 8,
}

/// The generator of one stage: ChaCha8 seeded from `seed`, on the stage's own stream.
pub(crate) fn stream_rng(seed: u64, stream: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream as u64);
    rng
}

/// A standard normal draw (Box-Muller; one draw per two uniforms, no cached state).
pub(crate) fn normal(rng: &mut impl Rng) -> f64 {
    // `1 - u` lies in (0, 1], so the logarithm is finite.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// True with probability `p`.
pub(crate) fn bernoulli(rng: &mut impl Rng, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// A uniform index in `0..n`; `n` must be positive.
pub(crate) fn index(rng: &mut impl Rng, n: usize) -> usize {
    rng.random_range(0..n)
}

/// The logistic function.
pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Cumulative weights for drawing an index with probability proportional to its weight.
#[derive(Debug, Clone)]
pub(crate) struct Categorical {
    cumulative: Vec<f64>,
}

impl Categorical {
    /// Builds the table; weights must be non-negative with a positive sum.
    pub(crate) fn new(weights: impl IntoIterator<Item = f64>) -> Categorical {
        let mut total = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|weight| {
                total += weight;
                total
            })
            .collect();
        Categorical { cumulative }
    }

    /// Draws an index.
    pub(crate) fn sample(&self, rng: &mut impl Rng) -> usize {
        let total = *self
            .cumulative
            .last()
            .expect("a categorical has at least one weight");
        let target = rng.random::<f64>() * total;
        let found = self.cumulative.partition_point(|&c| c <= target);
        // Rounding can put `target` at the very end; the last index with weight takes it.
        found.min(self.cumulative.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_has_unit_moments() {
        let mut rng = stream_rng(3, Stream::Catalog);
        let n = 20_000;
        let draws: Vec<f64> = (0..n).map(|_| normal(&mut rng)).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.05, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
    }

    #[test]
    fn categorical_follows_weights_and_skips_zeros() {
        let mut rng = stream_rng(3, Stream::Users);
        let table = Categorical::new([1.0, 0.0, 3.0]);
        let mut counts = [0usize; 3];
        for _ in 0..8_000 {
            counts[table.sample(&mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        let share = counts[2] as f64 / 8_000.0;
        assert!((share - 0.75).abs() < 0.03, "{share}");
    }
}
