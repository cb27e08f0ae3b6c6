//! Metrics of pointwise scores: one score per (user, item) pair and a binary label.
//!
//! - AUC (RecBole `AUC`): the probability that a random positive outscores a random negative,
//!   ties counting one half; computed from average ranks (Mann-Whitney U).
//! - LogLoss (RecBole `LogLoss`): mean of `-y ln p - (1 - y) ln(1 - p)` with `p` clipped to
//!   `[1e-15, 1 - 1e-15]`.

/// AUC of `scores` against `labels`; `None` when the labels are all one class or the slices are
/// of different lengths.
pub fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() {
        return None;
    }
    let n_pos = labels.iter().filter(|&&l| l).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Average 1-based rank of each tie group, summed over positives.
    let mut pos_rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let mean_rank = (start + 1 + end) as f64 / 2.0;
        let positives = order[start..end].iter().filter(|&&i| labels[i]).count();
        pos_rank_sum += mean_rank * positives as f64;
        start = end;
    }
    let n_pos = n_pos as f64;
    let u = pos_rank_sum - n_pos * (n_pos + 1.0) / 2.0;
    Some(u / (n_pos * n_neg as f64))
}

/// Mean binary cross-entropy of probabilities `predictions` against `labels`; `None` when the
/// slices are empty or of different lengths.
pub fn log_loss(predictions: &[f64], labels: &[bool]) -> Option<f64> {
    if predictions.is_empty() || predictions.len() != labels.len() {
        return None;
    }
    const EPS: f64 = 1e-15;
    let total: f64 = predictions
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = p.clamp(EPS, 1.0 - EPS);
            if y {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum();
    Some(total / predictions.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn auc_by_hand() {
        // Positives score 0.9 and 0.4, negatives 0.5 and 0.1.
        // Pairs (pos, neg): (0.9, 0.5) win, (0.9, 0.1) win, (0.4, 0.5) loss, (0.4, 0.1) win: 3/4.
        let auc_value = auc(&[0.9, 0.5, 0.4, 0.1], &[true, false, true, false]).unwrap();
        assert!((auc_value - 0.75).abs() < 1e-12);
        // A tie between a positive and a negative counts 1/2: pairs (0.5,0.5) tie, (0.5,0.1) win:
        // (0.5 + 1) / 2 = 0.75.
        let tied = auc(&[0.5, 0.5, 0.1], &[true, false, false]).unwrap();
        assert!((tied - 0.75).abs() < 1e-12);
        assert_eq!(auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn log_loss_by_hand() {
        // p = 0.8 for a positive: -ln 0.8 = 0.223144; p = 0.4 for a negative: -ln 0.6 = 0.510826.
        // Mean = 0.366985.
        let loss = log_loss(&[0.8, 0.4], &[true, false]).unwrap();
        assert!((loss - 0.366985).abs() < 1e-6);
        // Clipping keeps a confident mistake finite: -ln(1e-15) = 34.538776.
        let clipped = log_loss(&[0.0], &[true]).unwrap();
        assert!((clipped - 34.538776).abs() < 1e-5);
    }

    proptest! {
        #[test]
        fn auc_in_unit_interval_and_flips(
            pairs in proptest::collection::vec((0u8..10, any::<bool>()), 2..40),
        ) {
            let scores: Vec<f64> = pairs.iter().map(|p| p.0 as f64).collect();
            let labels: Vec<bool> = pairs.iter().map(|p| p.1).collect();
            if let Some(a) = auc(&scores, &labels) {
                prop_assert!((0.0..=1.0).contains(&a));
                // Negating scores mirrors AUC around 1/2.
                let neg: Vec<f64> = scores.iter().map(|s| -s).collect();
                prop_assert!((auc(&neg, &labels).unwrap() - (1.0 - a)).abs() < 1e-12);
            }
        }
    }
}
