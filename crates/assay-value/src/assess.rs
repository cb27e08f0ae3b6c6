//! Judging values against known labels: AUC, OpenDataVal's two-cluster flagging, F1.

/// The probability that a randomly chosen bad player has a lower value than a randomly
/// chosen good one (ties count ½): the AUC of "low value" as a detector of `bad`.
/// NaN when either class is empty.
pub fn auc_of_low_values(values: &[f64], bad: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    // Mann-Whitney with mid-ranks for ties, ranks ascending by value.
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let mid = (start + end + 1) as f64 / 2.0;
        order[start..end].iter().for_each(|&i| ranks[i] = mid);
        start = end;
    }
    let n_bad = bad.iter().filter(|&&b| b).count() as f64;
    let n_good = values.len() as f64 - n_bad;
    if n_bad == 0.0 || n_good == 0.0 {
        return f64::NAN;
    }
    let rank_sum_good: f64 = ranks
        .iter()
        .zip(bad)
        .filter(|(_, &b)| !b)
        .map(|(r, _)| r)
        .sum();
    // U statistic of "good ranks above bad".
    (rank_sum_good - n_good * (n_good + 1.0) / 2.0) / (n_bad * n_good)
}

/// OpenDataVal's rule for flagging noisy data: split the values into two clusters by
/// k-means (k = 2) and flag the cluster with the lower mean. In one dimension the optimal
/// k-means split is a threshold, found here exactly by trying every cut of the sorted values.
pub fn two_cluster_flags(values: &[f64]) -> Vec<bool> {
    let n = values.len();
    let mut sorted: Vec<f64> = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if n < 2 {
        return vec![false; n];
    }
    let prefix: Vec<f64> = std::iter::once(0.0)
        .chain(sorted.iter().scan(0.0, |s, &x| {
            *s += x;
            Some(*s)
        }))
        .collect();
    let prefix_sq: Vec<f64> = std::iter::once(0.0)
        .chain(sorted.iter().scan(0.0, |s, &x| {
            *s += x * x;
            Some(*s)
        }))
        .collect();
    let sse = |a: usize, b: usize| {
        let m = (b - a) as f64;
        let s = prefix[b] - prefix[a];
        (prefix_sq[b] - prefix_sq[a]) - s * s / m
    };
    let mut best = (f64::INFINITY, 1);
    for cut in 1..n {
        if sorted[cut] == sorted[cut - 1] {
            continue;
        }
        let cost = sse(0, cut) + sse(cut, n);
        if cost < best.0 {
            best = (cost, cut);
        }
    }
    if best.0.is_infinite() {
        return vec![false; n];
    }
    let threshold = sorted[best.1 - 1];
    values.iter().map(|&v| v <= threshold).collect()
}

/// Precision, recall and F1 of `flags` against `truth`.
pub fn precision_recall_f1(flags: &[bool], truth: &[bool]) -> (f64, f64, f64) {
    let tp = flags.iter().zip(truth).filter(|(&f, &t)| f && t).count() as f64;
    let flagged = flags.iter().filter(|&&f| f).count() as f64;
    let positives = truth.iter().filter(|&&t| t).count() as f64;
    let precision = if flagged > 0.0 { tp / flagged } else { 0.0 };
    let recall = if positives > 0.0 { tp / positives } else { 0.0 };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    (precision, recall, f1)
}

/// Least-squares fit of the power law `y = a · x^b` on log-log axes; returns `(a, b)`.
/// Points with `x <= 0` or `y <= 0` are skipped; NaNs when fewer than two remain.
pub fn fit_power_law(xs: &[f64], ys: &[f64]) -> (f64, f64) {
    let points: Vec<(f64, f64)> = xs
        .iter()
        .zip(ys)
        .filter(|(&x, &y)| x > 0.0 && y > 0.0)
        .map(|(x, y)| (x.ln(), y.ln()))
        .collect();
    let m = points.len() as f64;
    if points.len() < 2 {
        return (f64::NAN, f64::NAN);
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / m;
    let my = points.iter().map(|p| p.1).sum::<f64>() / m;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let b = sxy / sxx;
    ((my - b * mx).exp(), b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_by_hand() {
        // Bad values 1 and 3; good 2, 4, 5. Pairs (bad < good): 1<2,1<4,1<5,3<4,3<5 = 5 of 6.
        let values = [1.0, 2.0, 3.0, 4.0, 5.0];
        let bad = [true, false, true, false, false];
        assert!((auc_of_low_values(&values, &bad) - 5.0 / 6.0).abs() < 1e-12);
        // A tie between a bad and a good value counts half.
        assert!((auc_of_low_values(&[1.0, 1.0], &[true, false]) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn two_clusters_split_at_the_gap() {
        let values = [0.9, -1.0, 1.0, -1.1, 1.1, 0.95];
        assert_eq!(
            two_cluster_flags(&values),
            vec![false, true, false, true, false, false]
        );
        let (p, r, f1) = precision_recall_f1(&[true, true, false], &[true, false, true]);
        assert_eq!((p, r, f1), (0.5, 0.5, 0.5));
    }

    #[test]
    fn power_law_recovers_parameters() {
        let xs = [1.0, 2.0, 4.0, 8.0];
        let ys: Vec<f64> = xs.iter().map(|x: &f64| 0.3 * x.powf(0.25)).collect();
        let (a, b) = fit_power_law(&xs, &ys);
        assert!((a - 0.3).abs() < 1e-12 && (b - 0.25).abs() < 1e-12);
    }
}
