//! Query intent: the category whose centroid (mean item embedding) is nearest to the query.

use std::collections::HashMap;

use serde::Serialize;

use crate::vector::dot;

/// Softmax temperature over cosine similarities to the centroids.
const TEMPERATURE: f32 = 0.05;

/// A predicted category for a query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Intent {
    /// The most likely category path.
    pub category: String,
    /// Its probability (softmax over cosine similarities to every category centroid).
    pub probability: f32,
    /// The next most likely categories with their probabilities.
    pub alternatives: Vec<(String, f32)>,
}

/// The full distribution behind an [`Intent`], used for the soft boost.
pub(crate) struct IntentProbs<'a> {
    index: &'a HashMap<String, usize>,
    probs: Vec<f32>,
}

impl IntentProbs<'_> {
    /// Probability of `category` (0 when unknown).
    pub(crate) fn probability_of(&self, category: &str) -> f32 {
        self.index.get(category).map_or(0.0, |&i| self.probs[i])
    }
}

/// Running sums of item embeddings per category, so updates and deletes move the centroids
/// without a refit.
pub(crate) struct IntentModel {
    dim: usize,
    names: Vec<String>,
    index: HashMap<String, usize>,
    sums: Vec<Vec<f32>>,
    counts: Vec<usize>,
}

impl IntentModel {
    pub(crate) fn new(dim: usize) -> IntentModel {
        IntentModel {
            dim,
            names: Vec::new(),
            index: HashMap::new(),
            sums: Vec::new(),
            counts: Vec::new(),
        }
    }

    pub(crate) fn add(&mut self, category: &str, v: &[f32]) {
        if category.is_empty() || v.len() != self.dim {
            return;
        }
        let i = match self.index.get(category) {
            Some(&i) => i,
            None => {
                self.names.push(category.to_owned());
                self.index.insert(category.to_owned(), self.names.len() - 1);
                self.sums.push(vec![0.0; self.dim]);
                self.counts.push(0);
                self.names.len() - 1
            }
        };
        for (s, x) in self.sums[i].iter_mut().zip(v) {
            *s += x;
        }
        self.counts[i] += 1;
    }

    pub(crate) fn remove(&mut self, category: &str, v: &[f32]) {
        let Some(&i) = self.index.get(category) else {
            return;
        };
        if self.counts[i] == 0 || v.len() != self.dim {
            return;
        }
        for (s, x) in self.sums[i].iter_mut().zip(v) {
            *s -= x;
        }
        self.counts[i] -= 1;
    }

    /// The intent of a query embedding, with the distribution over all categories.
    pub(crate) fn predict(&self, v: &[f32]) -> Option<(Intent, IntentProbs<'_>)> {
        if v.len() != self.dim {
            return None;
        }
        let sims: Vec<f32> = self
            .sums
            .iter()
            .zip(&self.counts)
            .map(|(s, &n)| {
                if n == 0 {
                    return f32::NEG_INFINITY;
                }
                let norm = dot(s, s).sqrt();
                if norm > 0.0 {
                    dot(s, v) / norm
                } else {
                    f32::NEG_INFINITY
                }
            })
            .collect();
        let max = sims.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if !max.is_finite() {
            return None;
        }
        let exp: Vec<f32> = sims
            .iter()
            .map(|s| ((s - max) / TEMPERATURE).exp())
            .collect();
        let z: f32 = exp.iter().sum();
        let probs: Vec<f32> = exp.iter().map(|e| e / z).collect();
        let mut order: Vec<usize> = (0..probs.len()).collect();
        order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
        let intent = Intent {
            category: self.names[order[0]].clone(),
            probability: probs[order[0]],
            alternatives: order
                .iter()
                .skip(1)
                .take(2)
                .map(|&i| (self.names[i].clone(), probs[i]))
                .collect(),
        };
        Some((
            intent,
            IntentProbs {
                index: &self.index,
                probs,
            },
        ))
    }
}

/// How often the predicted category was right.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IntentAccuracy {
    /// Labelled queries seen.
    pub queries: usize,
    /// Exact category path right.
    pub correct: usize,
    /// First level of the path right.
    pub top_level_correct: usize,
}

impl IntentAccuracy {
    pub(crate) fn add(&mut self, predicted: Option<&str>, truth: &str) {
        self.queries += 1;
        if let Some(p) = predicted {
            if p == truth {
                self.correct += 1;
            }
            if p.split('/').next() == truth.split('/').next() {
                self.top_level_correct += 1;
            }
        }
    }

    /// Share of exact hits.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.queries.max(1) as f64
    }

    /// Share of top-level hits.
    pub fn top_level_accuracy(&self) -> f64 {
        self.top_level_correct as f64 / self.queries.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_centroid_and_softmax_by_hand() {
        let mut m = IntentModel::new(2);
        m.add("A", &[1.0, 0.0]);
        m.add("A", &[0.0, 1.0]); // centroid direction (1,1)/sqrt2
        m.add("B", &[0.0, 1.0]);
        let (intent, probs) = m.predict(&[0.0, 1.0]).unwrap();
        assert_eq!(intent.category, "B");
        // sims: A = 1/sqrt2, B = 1; p(B) = 1 / (1 + exp((1/sqrt2 - 1)/0.05))
        let want = 1.0 / (1.0 + ((std::f32::consts::FRAC_1_SQRT_2 - 1.0) / 0.05).exp());
        assert!((intent.probability - want).abs() < 1e-5);
        assert!((probs.probability_of("A") - (1.0 - want)).abs() < 1e-5);
        assert_eq!(probs.probability_of("C"), 0.0);
        m.remove("B", &[0.0, 1.0]);
        assert_eq!(m.predict(&[0.0, 1.0]).unwrap().0.category, "A");
        let mut acc = IntentAccuracy::default();
        acc.add(Some("A/x"), "A/x");
        acc.add(Some("A/y"), "A/x");
        acc.add(None, "B");
        assert_eq!((acc.correct, acc.top_level_correct, acc.queries), (1, 2, 3));
    }
}
