//! Data-OOB (Kwon & Zou 2023): the out-of-bag accuracy of each training row under bagging.
//!
//! `n_estimators` bootstrap samples (each `sample_fraction · n` rows drawn with replacement)
//! train one weak learner each; a row's value is the mean, over the learners whose sample
//! left it out, of `1[learner predicts the row's label]`. Mislabelled or out-of-place rows
//! are predicted wrongly by models that never saw them, so they get low values.

use rand::Rng;
use rayon::prelude::*;

use crate::values::Welford;
use crate::{LabelledTable, PlayerValue, Result, ValueError, Values};

/// A classifier trained from scratch on a (bootstrap) sample of a table's rows.
pub trait WeakLearner: Sync {
    /// Name for reports.
    fn name(&self) -> String;

    /// Fits on `train_rows` of `data` (repeats allowed and counted) and predicts the class of
    /// each of `predict_rows`.
    fn fit_predict(
        &self,
        data: &LabelledTable,
        train_rows: &[usize],
        predict_rows: &[usize],
    ) -> Vec<u32>;
}

/// The K-nearest-neighbour classifier: majority vote of the `k` nearest training rows
/// (squared Euclidean distance; a row drawn twice votes twice); a tied vote goes to the class
/// of the nearest row among the tied classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnnClassifier {
    /// Neighbours per vote, at least 1.
    pub k: usize,
}

impl WeakLearner for KnnClassifier {
    fn name(&self) -> String {
        format!("knn(k={})", self.k)
    }

    fn fit_predict(
        &self,
        data: &LabelledTable,
        train_rows: &[usize],
        predict_rows: &[usize],
    ) -> Vec<u32> {
        let n_classes = data.classes.len();
        let mut order: Vec<(f64, usize)> = Vec::with_capacity(train_rows.len());
        predict_rows
            .iter()
            .map(|&p| {
                let x = data.row(p);
                order.clear();
                order.extend(train_rows.iter().enumerate().map(|(slot, &r)| {
                    let d: f64 = data
                        .row(r)
                        .iter()
                        .zip(x)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum();
                    (d, slot)
                }));
                let k = self.k.min(order.len());
                if k == 0 {
                    return 0;
                }
                let by_distance =
                    |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
                if k < order.len() {
                    order.select_nth_unstable_by(k - 1, by_distance);
                }
                order[..k].sort_unstable_by(by_distance);
                let mut votes = vec![0usize; n_classes];
                for &(_, slot) in &order[..k] {
                    votes[data.labels[train_rows[slot]] as usize] += 1;
                }
                let best = votes.iter().copied().max().unwrap_or(0);
                order[..k]
                    .iter()
                    .map(|&(_, slot)| data.labels[train_rows[slot]])
                    .find(|&c| votes[c as usize] == best)
                    .unwrap_or(0)
            })
            .collect()
    }
}

/// Multinomial logistic regression on standardised features, fitted by full-batch gradient
/// descent (a fixed number of steps, so it is deterministic) with an L2 penalty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogisticClassifier {
    /// Gradient steps.
    pub steps: usize,
    /// Step size.
    pub learning_rate: f64,
    /// L2 penalty on the weights (not the intercepts).
    pub l2: f64,
}

impl WeakLearner for LogisticClassifier {
    fn name(&self) -> String {
        "logistic".into()
    }

    fn fit_predict(
        &self,
        data: &LabelledTable,
        train_rows: &[usize],
        predict_rows: &[usize],
    ) -> Vec<u32> {
        let dim = data.dim();
        let c = data.classes.len().max(1);
        let m = train_rows.len().max(1) as f64;
        // Standardise with the sample's own mean and spread.
        let mut mean = vec![0.0; dim];
        let mut sd = vec![0.0; dim];
        for &r in train_rows {
            data.row(r)
                .iter()
                .zip(&mut mean)
                .for_each(|(x, s)| *s += x / m);
        }
        for &r in train_rows {
            for ((x, s), mu) in data.row(r).iter().zip(&mut sd).zip(&mean) {
                *s += (x - mu) * (x - mu) / m;
            }
        }
        sd.iter_mut()
            .for_each(|s| *s = if *s > 0.0 { s.sqrt() } else { 1.0 });
        let z = |r: usize| -> Vec<f64> {
            data.row(r)
                .iter()
                .zip(&mean)
                .zip(&sd)
                .map(|((x, mu), s)| (x - mu) / s)
                .collect()
        };
        let xs: Vec<Vec<f64>> = train_rows.iter().map(|&r| z(r)).collect();
        // weights[class][0] is the intercept.
        let mut weights = vec![vec![0.0; dim + 1]; c];
        let mut probs = vec![0.0; c];
        for _ in 0..self.steps {
            let mut grad = vec![vec![0.0; dim + 1]; c];
            for (x, &r) in xs.iter().zip(train_rows) {
                softmax(&weights, x, &mut probs);
                for (class, g) in grad.iter_mut().enumerate() {
                    let err = probs[class] - (data.labels[r] as usize == class) as u8 as f64;
                    g[0] += err / m;
                    for (gj, xj) in g[1..].iter_mut().zip(x) {
                        *gj += err * xj / m;
                    }
                }
            }
            for (w, g) in weights.iter_mut().zip(&grad) {
                w[0] -= self.learning_rate * g[0];
                for (wj, gj) in w[1..].iter_mut().zip(&g[1..]) {
                    *wj -= self.learning_rate * (gj + self.l2 * *wj);
                }
            }
        }
        predict_rows
            .iter()
            .map(|&r| {
                softmax(&weights, &z(r), &mut probs);
                let mut best = 0;
                for class in 1..c {
                    if probs[class] > probs[best] {
                        best = class;
                    }
                }
                best as u32
            })
            .collect()
    }
}

fn softmax(weights: &[Vec<f64>], x: &[f64], probs: &mut [f64]) {
    for (p, w) in probs.iter_mut().zip(weights) {
        *p = w[0] + w[1..].iter().zip(x).map(|(a, b)| a * b).sum::<f64>();
    }
    let max = probs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    probs.iter_mut().for_each(|p| {
        *p = (*p - max).exp();
        total += *p;
    });
    probs.iter_mut().for_each(|p| *p /= total);
}

/// Parameters of [`data_oob`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OobConfig {
    /// Number of bootstrap learners (the paper uses 1,000).
    pub n_estimators: usize,
    /// Bootstrap sample size as a fraction of the rows, in (0, 1].
    pub sample_fraction: f64,
    /// Seed: learner `b` draws its sample from ChaCha8 stream `b`.
    pub seed: u64,
}

/// Data-OOB values of every row of `data`.
///
/// A row that no learner left out gets value 0, `n_evals` 0 and `converged = false`.
pub fn data_oob(
    data: &LabelledTable,
    learner: &dyn WeakLearner,
    config: &OobConfig,
) -> Result<Values> {
    let n = data.len();
    if n < 2 {
        return Err(ValueError::Empty("Data-OOB needs at least two rows".into()));
    }
    if config.n_estimators == 0 {
        return crate::error::param("n_estimators", config.n_estimators, "must be at least 1");
    }
    if !(config.sample_fraction > 0.0 && config.sample_fraction <= 1.0) {
        return crate::error::param(
            "sample_fraction",
            config.sample_fraction,
            "must be in (0, 1]",
        );
    }
    let sample_size = ((config.sample_fraction * n as f64).round() as usize).max(1);
    let bags: Vec<(Vec<usize>, Vec<bool>)> = (0..config.n_estimators as u64)
        .into_par_iter()
        .map(|b| {
            let mut rng = crate::sampling::stream_rng(config.seed, b);
            let sample: Vec<usize> = (0..sample_size).map(|_| rng.random_range(0..n)).collect();
            let mut in_bag = vec![false; n];
            sample.iter().for_each(|&r| in_bag[r] = true);
            let out: Vec<usize> = (0..n).filter(|&r| !in_bag[r]).collect();
            let predictions = learner.fit_predict(data, &sample, &out);
            let correct: Vec<bool> = out
                .iter()
                .zip(&predictions)
                .map(|(&r, &p)| data.labels[r] == p)
                .collect();
            (out, correct)
        })
        .collect();
    let mut stats = vec![Welford::default(); n];
    for (out, correct) in bags {
        for (&r, &ok) in out.iter().zip(&correct) {
            stats[r].add(ok as u8 as f64);
        }
    }
    Ok(Values {
        method: "data-oob".into(),
        utility: format!("out-of-bag accuracy of {}", learner.name()),
        players: stats
            .iter()
            .enumerate()
            .map(|(player, w)| PlayerValue {
                player,
                name: player.to_string(),
                value: w.mean,
                std_error: w.std_error(),
                n_evals: w.count,
                converged: w.count > 0,
            })
            .collect(),
        utility_evals: config.n_estimators as u64,
        sum_std_error: f64::NAN,
    })
}
