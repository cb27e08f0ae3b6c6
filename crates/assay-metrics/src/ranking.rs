//! Top-K ranking metrics of one user, and their average over users.
//!
//! Terms: a user's *ranked list* is the model's recommendation, best first; the *relevant* items
//! are that user's held-out items; the *hit vector* marks which ranks hold a relevant item;
//! `n_relevant` is |relevant| (RecBole's `pos_len`), which may exceed K.
//!
//! Definitions (RecBole 1.2.1, `recbole/evaluator/metrics.py`), with `hits` the first K entries:
//! - Recall@K = (number of hits) / n_relevant.
//! - Precision@K = (number of hits) / K.
//! - NDCG@K = DCG / IDCG, DCG = sum over hit ranks r of 1 / log2(r + 1), IDCG = sum over
//!   r = 1..=min(n_relevant, K) of 1 / log2(r + 1).
//! - MRR@K = 1 / (rank of the first hit), 0 without a hit in the top K.
//! - Hit@K = 1 when there is at least one hit, else 0.
//! - MAP@K = (sum over hit ranks r of Precision@r) / min(n_relevant, K).

use serde::Serialize;

/// One of the six top-K ranking metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Hits over the number of relevant items.
    Recall,
    /// Hits over K.
    Precision,
    /// Normalised discounted cumulative gain with binary gains.
    Ndcg,
    /// Reciprocal rank of the first hit.
    Mrr,
    /// Whether any relevant item is in the top K.
    Hit,
    /// Mean average precision, RecBole's variant.
    Map,
}

impl Metric {
    /// Every metric, in the order of [`MetricValues`]'s fields.
    pub const ALL: [Metric; 6] = [
        Metric::Recall,
        Metric::Precision,
        Metric::Ndcg,
        Metric::Mrr,
        Metric::Hit,
        Metric::Map,
    ];

    /// The lowercase name RecBole uses ("recall", "ndcg"...).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Recall => "recall",
            Metric::Precision => "precision",
            Metric::Ndcg => "ndcg",
            Metric::Mrr => "mrr",
            Metric::Hit => "hit",
            Metric::Map => "map",
        }
    }

    /// Parses a metric name, case-insensitively.
    pub fn parse(text: &str) -> Option<Metric> {
        let lower = text.trim().to_ascii_lowercase();
        Metric::ALL.into_iter().find(|m| m.name() == lower)
    }

    /// This metric at cut-off `k` for one user.
    pub fn at(self, hits: &[bool], n_relevant: usize, k: usize) -> f64 {
        match self {
            Metric::Recall => recall_at(hits, n_relevant, k),
            Metric::Precision => precision_at(hits, k),
            Metric::Ndcg => ndcg_at(hits, n_relevant, k),
            Metric::Mrr => mrr_at(hits, k),
            Metric::Hit => hits_at(hits, k).min(1) as f64,
            Metric::Map => map_at(hits, n_relevant, k),
        }
    }
}

/// The six metrics at one cut-off: one user's values, or means over users.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct MetricValues {
    /// The cut-off K.
    pub k: usize,
    /// Recall@K.
    pub recall: f64,
    /// Precision@K.
    pub precision: f64,
    /// NDCG@K.
    pub ndcg: f64,
    /// MRR@K.
    pub mrr: f64,
    /// Hit@K.
    pub hit: f64,
    /// MAP@K.
    pub map: f64,
}

impl MetricValues {
    /// All six metrics of one user at cut-off `k`.
    pub fn of_user(hits: &[bool], n_relevant: usize, k: usize) -> MetricValues {
        let [recall, precision, ndcg, mrr, hit, map] =
            Metric::ALL.map(|m| m.at(hits, n_relevant, k));
        MetricValues {
            k,
            recall,
            precision,
            ndcg,
            mrr,
            hit,
            map,
        }
    }

    /// The value of `metric`.
    pub fn get(&self, metric: Metric) -> f64 {
        match metric {
            Metric::Recall => self.recall,
            Metric::Precision => self.precision,
            Metric::Ndcg => self.ndcg,
            Metric::Mrr => self.mrr,
            Metric::Hit => self.hit,
            Metric::Map => self.map,
        }
    }

    fn as_array(&self) -> [f64; 6] {
        Metric::ALL.map(|m| self.get(m))
    }

    fn from_array(k: usize, values: [f64; 6]) -> MetricValues {
        let [recall, precision, ndcg, mrr, hit, map] = values;
        MetricValues {
            k,
            recall,
            precision,
            ndcg,
            mrr,
            hit,
            map,
        }
    }
}

/// Marks which entries of `ranked` are in `relevant`.
///
/// `relevant` must be sorted ascending (as [`Interactions`] rows are); the result is as long as
/// `ranked`.
///
/// [`Interactions`]: https://docs.rs/assay-core
pub fn hit_vector(ranked: &[u32], relevant: &[u32]) -> Vec<bool> {
    debug_assert!(relevant.windows(2).all(|w| w[0] <= w[1]));
    ranked
        .iter()
        .map(|item| relevant.binary_search(item).is_ok())
        .collect()
}

/// Number of hits among the first `k` ranks.
pub fn hits_at(hits: &[bool], k: usize) -> usize {
    hits.iter().take(k).filter(|&&h| h).count()
}

/// Recall@K: hits in the top `k` over `n_relevant`; 0 when there is nothing relevant.
pub fn recall_at(hits: &[bool], n_relevant: usize, k: usize) -> f64 {
    if n_relevant == 0 {
        return 0.0;
    }
    hits_at(hits, k) as f64 / n_relevant as f64
}

/// Precision@K: hits in the top `k` over `k` (a list shorter than `k` is not rewarded).
pub fn precision_at(hits: &[bool], k: usize) -> f64 {
    if k == 0 {
        return 0.0;
    }
    hits_at(hits, k) as f64 / k as f64
}

/// NDCG@K with binary gains and ideal DCG over `min(n_relevant, k)` ranks.
pub fn ndcg_at(hits: &[bool], n_relevant: usize, k: usize) -> f64 {
    let ideal_len = n_relevant.min(k);
    if ideal_len == 0 {
        return 0.0;
    }
    let discount = |rank: usize| 1.0 / ((rank + 1) as f64).log2();
    // Summed from +0.0: an empty `sum` of floats is -0.0, which a list without a hit would
    // carry into every mean and table as "-0.0000".
    let dcg: f64 = hits
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, &h)| h)
        .map(|(i, _)| discount(i + 1))
        .fold(0.0, |a, b| a + b);
    let idcg: f64 = (1..=ideal_len).map(discount).sum();
    dcg / idcg
}

/// NDCG@K with graded gains, as search evaluation uses it: DCG = the sum over ranks r <= `k`
/// of `gains[r - 1] / log2(r + 1)`; IDCG is the same sum over the `judged` gains sorted
/// best first (every judged item of the query, unjudged items having gain 0). Negative gains
/// count as 0; the result is 0 when IDCG is 0.
pub fn graded_ndcg_at(gains: &[f64], judged: &[f64], k: usize) -> f64 {
    let dcg_of = |gains: &mut dyn Iterator<Item = f64>| -> f64 {
        gains
            .take(k)
            .enumerate()
            .map(|(i, g)| g.max(0.0) / (i as f64 + 2.0).log2())
            .fold(0.0, |a, b| a + b)
    };
    let mut ideal: Vec<f64> = judged.iter().map(|g| g.max(0.0)).collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg = dcg_of(&mut ideal.into_iter());
    if idcg == 0.0 {
        return 0.0;
    }
    dcg_of(&mut gains.iter().copied()) / idcg
}

/// MRR@K: one over the rank of the first hit within the top `k`, else 0.
pub fn mrr_at(hits: &[bool], k: usize) -> f64 {
    match hits.iter().take(k).position(|&h| h) {
        Some(i) => 1.0 / (i + 1) as f64,
        None => 0.0,
    }
}

/// MAP@K as RecBole: the sum of Precision@r over hit ranks r within `k`, over `min(n_relevant, k)`.
pub fn map_at(hits: &[bool], n_relevant: usize, k: usize) -> f64 {
    let denominator = n_relevant.min(k);
    if denominator == 0 {
        return 0.0;
    }
    let mut found = 0usize;
    let mut sum = 0.0;
    for (i, &h) in hits.iter().take(k).enumerate() {
        if h {
            found += 1;
            sum += found as f64 / (i + 1) as f64;
        }
    }
    sum / denominator as f64
}

/// Sums of the six metrics at several cut-offs over users, for a mean at the end.
///
/// Users without relevant items are skipped (RecBole evaluates only users present in the
/// evaluation split). Accumulators of disjoint user sets [`merge`](RankingAccumulator::merge),
/// so each thread can own one.
#[derive(Debug, Clone, PartialEq)]
pub struct RankingAccumulator {
    ks: Vec<usize>,
    sums: Vec<[f64; 6]>,
    users: usize,
}

impl RankingAccumulator {
    /// An empty accumulator for the cut-offs `ks`.
    pub fn new(ks: &[usize]) -> RankingAccumulator {
        RankingAccumulator {
            ks: ks.to_vec(),
            sums: vec![[0.0; 6]; ks.len()],
            users: 0,
        }
    }

    /// The cut-offs.
    pub fn ks(&self) -> &[usize] {
        &self.ks
    }

    /// The largest cut-off: how long each user's ranked list must be.
    pub fn max_k(&self) -> usize {
        self.ks.iter().copied().max().unwrap_or(0)
    }

    /// Adds one user, given the hit vector of their ranked list and their number of relevant
    /// items; a user with `n_relevant == 0` is ignored.
    pub fn add(&mut self, hits: &[bool], n_relevant: usize) {
        if n_relevant == 0 {
            return;
        }
        self.users += 1;
        for (sum, &k) in self.sums.iter_mut().zip(&self.ks) {
            let values = MetricValues::of_user(hits, n_relevant, k).as_array();
            for (s, v) in sum.iter_mut().zip(values) {
                *s += v;
            }
        }
    }

    /// Adds one user from their ranked list and sorted relevant items.
    pub fn add_ranking(&mut self, ranked: &[u32], relevant: &[u32]) {
        self.add(&hit_vector(ranked, relevant), relevant.len());
    }

    /// Combines two accumulators over disjoint users.
    ///
    /// # Panics
    /// When their cut-offs differ: that is a bug in the caller.
    pub fn merge(mut self, other: RankingAccumulator) -> RankingAccumulator {
        assert_eq!(
            self.ks, other.ks,
            "merging accumulators with different cut-offs"
        );
        self.users += other.users;
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        self
    }

    /// Number of users counted.
    pub fn users(&self) -> usize {
        self.users
    }

    /// Means over the counted users, one entry per cut-off (all zero when no user was counted).
    pub fn mean(&self) -> Vec<MetricValues> {
        let n = self.users.max(1) as f64;
        self.ks
            .iter()
            .zip(&self.sums)
            .map(|(&k, sum)| MetricValues::from_array(k, sum.map(|s| s / n)))
            .collect()
    }

    /// The mean of `metric` at cut-off `k`, if `k` is one of the cut-offs.
    pub fn mean_of(&self, metric: Metric, k: usize) -> Option<f64> {
        let at = self.ks.iter().position(|&x| x == k)?;
        Some(
            self.sums[at][Metric::ALL.iter().position(|&m| m == metric)?]
                / self.users.max(1) as f64,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EPS: f64 = 1e-12;

    #[track_caller]
    fn close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < EPS, "{actual} != {expected}");
    }

    // Ranked list [7, 3, 9, 1, 4]; relevant {1, 3, 8}: hits at ranks 2 and 4, n_relevant = 3.
    fn example() -> (Vec<bool>, usize) {
        (hit_vector(&[7, 3, 9, 1, 4], &[1, 3, 8]), 3)
    }

    #[test]
    fn hit_vector_marks_relevant_ranks() {
        assert_eq!(example().0, vec![false, true, false, true, false]);
    }

    #[test]
    fn recall_by_hand() {
        let (hits, n) = example();
        // K = 5: 2 hits / 3 relevant.
        close(recall_at(&hits, n, 5), 2.0 / 3.0);
        // K = 3: only rank 2 is within: 1 / 3.
        close(recall_at(&hits, n, 3), 1.0 / 3.0);
        // K = 1: no hit.
        close(recall_at(&hits, n, 1), 0.0);
    }

    #[test]
    fn precision_by_hand() {
        let (hits, _) = example();
        // K = 5: 2 / 5; K = 2: 1 / 2; K = 10 (list shorter): 2 / 10.
        close(precision_at(&hits, 5), 0.4);
        close(precision_at(&hits, 2), 0.5);
        close(precision_at(&hits, 10), 0.2);
    }

    #[test]
    fn ndcg_by_hand() {
        let (hits, n) = example();
        // DCG@5 = 1/log2(3) + 1/log2(5) = 0.630930 + 0.430677 = 1.061606.
        // IDCG over min(3, 5) = 3 ranks = 1/log2(2) + 1/log2(3) + 1/log2(4) = 1 + 0.630930 + 0.5
        // = 2.130930; NDCG = 1.061606 / 2.130930 = 0.498189.
        let dcg = 1.0 / 3f64.log2() + 1.0 / 5f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2() + 0.5;
        close(ndcg_at(&hits, n, 5), dcg / idcg);
        assert!((ndcg_at(&hits, n, 5) - 0.498189).abs() < 1e-6);
        // K = 2: DCG = 0.630930, IDCG over min(3, 2) = 2 ranks = 1.630930: 0.386853.
        assert!((ndcg_at(&hits, n, 2) - 0.386853).abs() < 1e-6);
        // No hit: +0.0, not -0.0 (which prints as "-0.0000" in every mean of such lists).
        assert!(ndcg_at(&[false, false], 1, 2).is_sign_positive());
        assert!(graded_ndcg_at(&[0.0, 0.0], &[1.0], 2).is_sign_positive());
    }

    #[test]
    fn graded_ndcg_by_hand() {
        // Gains by rank: 3, 0, 1; judged gains 3, 2, 1 (the 2 was not retrieved).
        // DCG@3 = 3/log2(2) + 0 + 1/log2(4) = 3.5; IDCG@3 = 3 + 2/log2(3) + 0.5 = 4.761860.
        let ndcg = graded_ndcg_at(&[3.0, 0.0, 1.0], &[1.0, 3.0, 2.0], 3);
        assert!((ndcg - 3.5 / (3.5 + 2.0 / 3f64.log2())).abs() < 1e-12);
        assert!((ndcg - 0.735007).abs() < 1e-6);
        // K = 1: 3 / 3.
        close(graded_ndcg_at(&[3.0, 0.0, 1.0], &[1.0, 3.0, 2.0], 1), 1.0);
        // With 0/1 gains it is the binary NDCG.
        let (hits, n) = example();
        let gains: Vec<f64> = hits.iter().map(|&h| f64::from(u8::from(h))).collect();
        close(graded_ndcg_at(&gains, &[1.0; 3], 5), ndcg_at(&hits, n, 5));
        // Nothing relevant: 0.
        close(graded_ndcg_at(&[1.0], &[0.0, -1.0], 5), 0.0);
    }

    #[test]
    fn mrr_and_hit_by_hand() {
        let (hits, n) = example();
        // First hit at rank 2: 1/2 for every K >= 2, 0 at K = 1.
        close(mrr_at(&hits, 5), 0.5);
        close(mrr_at(&hits, 1), 0.0);
        close(Metric::Hit.at(&hits, n, 2), 1.0);
        close(Metric::Hit.at(&hits, n, 1), 0.0);
    }

    #[test]
    fn map_by_hand() {
        let (hits, n) = example();
        // K = 5: precision at hit ranks: P@2 = 1/2, P@4 = 2/4; sum = 1.0; / min(3, 5) = 3: 1/3.
        close(map_at(&hits, n, 5), 1.0 / 3.0);
        // K = 2: P@2 = 1/2; / min(3, 2) = 2: 1/4.
        close(map_at(&hits, n, 2), 0.25);
        // One relevant item at rank 3 of 5: P@3 = 1/3, / min(1, 5) = 1: 1/3.
        close(map_at(&[false, false, true, false, false], 1, 5), 1.0 / 3.0);
    }

    #[test]
    fn accumulator_skips_users_without_relevant_items_and_merges() {
        let (hits, n) = example();
        let mut a = RankingAccumulator::new(&[2, 5]);
        a.add(&hits, n);
        a.add(&[true], 0); // ignored
        let mut b = RankingAccumulator::new(&[2, 5]);
        // Second user: relevant {5}, ranked [5, ...]: every metric at K = 5 is 1 except
        // precision = 1/5.
        b.add_ranking(&[5, 6, 7, 8, 9], &[5]);
        let merged = a.merge(b);
        assert_eq!(merged.users(), 2);
        let at5 = merged.mean()[1];
        assert_eq!(at5.k, 5);
        close(at5.recall, (2.0 / 3.0 + 1.0) / 2.0);
        close(at5.precision, (0.4 + 0.2) / 2.0);
        close(at5.mrr, (0.5 + 1.0) / 2.0);
        close(at5.hit, 1.0);
        close(at5.map, (1.0 / 3.0 + 1.0) / 2.0);
        close(merged.mean_of(Metric::Ndcg, 5).unwrap(), at5.ndcg);
        assert!((at5.ndcg - (0.498189 + 1.0) / 2.0).abs() < 1e-6);
        assert_eq!(merged.mean_of(Metric::Ndcg, 3), None);
    }

    fn arb_user() -> impl Strategy<Value = (Vec<bool>, usize)> {
        (proptest::collection::vec(any::<bool>(), 0..30), 0usize..10).prop_map(|(hits, extra)| {
            let n = hits.iter().filter(|&&h| h).count() + extra;
            (hits, n)
        })
    }

    proptest! {
        #[test]
        fn all_metrics_in_unit_interval((hits, n) in arb_user(), k in 1usize..40) {
            for m in Metric::ALL {
                let v = m.at(&hits, n, k);
                prop_assert!((0.0..=1.0 + 1e-12).contains(&v), "{m:?}@{k} = {v}");
            }
        }

        #[test]
        fn perfect_ranking_scores_one(n in 1usize..20, k in 1usize..30) {
            // All relevant items first, then filler.
            let hits: Vec<bool> = (0..n + k).map(|i| i < n).collect();
            for m in [Metric::Ndcg, Metric::Mrr, Metric::Hit, Metric::Map] {
                prop_assert!((m.at(&hits, n, k) - 1.0).abs() < 1e-12, "{m:?}");
            }
            if n <= k {
                prop_assert!((recall_at(&hits, n, k) - 1.0).abs() < 1e-12);
            }
            if n >= k {
                prop_assert!((precision_at(&hits, k) - 1.0).abs() < 1e-12);
            }
        }

        #[test]
        fn cumulative_metrics_grow_with_k((hits, n) in arb_user(), k in 1usize..30) {
            for m in [Metric::Recall, Metric::Mrr, Metric::Hit] {
                prop_assert!(m.at(&hits, n, k) <= m.at(&hits, n, k + 1) + 1e-12, "{m:?}");
            }
        }

        #[test]
        fn merge_equals_one_pass(users in proptest::collection::vec(arb_user(), 0..20), cut in 0usize..20) {
            let cut = cut.min(users.len());
            let mut whole = RankingAccumulator::new(&[1, 5, 10]);
            let mut left = RankingAccumulator::new(&[1, 5, 10]);
            let mut right = RankingAccumulator::new(&[1, 5, 10]);
            for (i, (hits, n)) in users.iter().enumerate() {
                whole.add(hits, *n);
                if i < cut { left.add(hits, *n) } else { right.add(hits, *n) }
            }
            let merged = left.merge(right);
            prop_assert_eq!(merged.users(), whole.users());
            for (a, b) in merged.mean().iter().zip(whole.mean()) {
                for m in Metric::ALL {
                    prop_assert!((a.get(m) - b.get(m)).abs() < 1e-9);
                }
            }
        }
    }
}
