//! Beyond-accuracy metrics: what the recommended lists look like, whatever the users wanted.
//!
//! *Exposure* of an item is the number of users whose top-K list contains it.
//! - Item coverage (RecBole `ItemCoverage`): distinct recommended items / number of items.
//! - Gini index of exposure (RecBole `GiniIndex`): with the exposure counts of all `n` items
//!   sorted ascending, `c_1 <= ... <= c_n`, and `T` their sum,
//!   `G = sum_i (2i - n - 1) c_i / (n T)`; 0 when every item is shown equally, near 1 when one
//!   item takes all exposure.
//! - Intra-list diversity: the mean distance over the unordered pairs of one list.
//! - Novelty: the mean self-information `-log2 p(i)` of recommended items, where `p(i)` is the
//!   share of users who interacted with `i` in training.

/// Exposure counts of lists, mergeable across threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposureAccumulator {
    counts: Vec<u64>,
    lists: usize,
}

impl ExposureAccumulator {
    /// An empty accumulator over `n_items` items.
    pub fn new(n_items: usize) -> ExposureAccumulator {
        ExposureAccumulator {
            counts: vec![0; n_items],
            lists: 0,
        }
    }

    /// Counts one recommended list.
    ///
    /// # Panics
    /// When an item is out of range: that is a bug in the caller.
    pub fn add(&mut self, list: &[u32]) {
        self.lists += 1;
        for &item in list {
            self.counts[item as usize] += 1;
        }
    }

    /// Combines two accumulators over disjoint lists.
    ///
    /// # Panics
    /// When their item counts differ.
    pub fn merge(mut self, other: ExposureAccumulator) -> ExposureAccumulator {
        assert_eq!(self.counts.len(), other.counts.len());
        self.lists += other.lists;
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self
    }

    /// Exposure count of every item.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Number of lists counted.
    pub fn lists(&self) -> usize {
        self.lists
    }

    /// Share of items recommended at least once.
    pub fn coverage(&self) -> f64 {
        if self.counts.is_empty() {
            return 0.0;
        }
        self.counts.iter().filter(|&&c| c > 0).count() as f64 / self.counts.len() as f64
    }

    /// Gini index of the exposure counts (0 when nothing was recommended).
    pub fn gini(&self) -> f64 {
        let mut sorted = self.counts.clone();
        sorted.sort_unstable();
        let n = sorted.len() as f64;
        let total: u64 = sorted.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let weighted: f64 = sorted
            .iter()
            .enumerate()
            .map(|(i, &c)| (2.0 * (i + 1) as f64 - n - 1.0) * c as f64)
            .sum();
        weighted / (n * total as f64)
    }
}

/// Item coverage of `lists` over a catalog of `n_items` items.
pub fn item_coverage<'a>(lists: impl IntoIterator<Item = &'a [u32]>, n_items: usize) -> f64 {
    exposure(lists, n_items).coverage()
}

/// Gini index of exposure of `lists` over a catalog of `n_items` items.
pub fn gini_index<'a>(lists: impl IntoIterator<Item = &'a [u32]>, n_items: usize) -> f64 {
    exposure(lists, n_items).gini()
}

fn exposure<'a>(lists: impl IntoIterator<Item = &'a [u32]>, n_items: usize) -> ExposureAccumulator {
    let mut acc = ExposureAccumulator::new(n_items);
    for list in lists {
        acc.add(list);
    }
    acc
}

/// Mean of `distance(a, b)` over the unordered pairs of distinct positions in `list`;
/// 0 for lists of fewer than two items.
pub fn intra_list_diversity(list: &[u32], distance: &dyn Fn(u32, u32) -> f64) -> f64 {
    let n = list.len();
    if n < 2 {
        return 0.0;
    }
    let mut sum = 0.0;
    for i in 0..n {
        for j in i + 1..n {
            sum += distance(list[i], list[j]);
        }
    }
    sum / (n * (n - 1) / 2) as f64
}

/// Mean `-log2(count(i) / n_users)` over all items of all `lists`, where `item_counts[i]` is the
/// number of training users of item `i`; a count of 0 is taken as 1 (the rarest an observed item
/// can be), so unseen items are maximally novel but finite. 0 when the lists are empty.
///
/// # Panics
/// When an item is out of range of `item_counts`.
pub fn novelty<'a>(
    lists: impl IntoIterator<Item = &'a [u32]>,
    item_counts: &[u32],
    n_users: usize,
) -> f64 {
    let n_users = n_users.max(1) as f64;
    let mut sum = 0.0;
    let mut n = 0usize;
    for list in lists {
        for &item in list {
            let count = item_counts[item as usize].max(1) as f64;
            sum -= (count / n_users).log2();
            n += 1;
        }
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn coverage_and_gini_by_hand() {
        let lists: [&[u32]; 2] = [&[0, 1], &[0, 2]];
        // 4 items, items 0, 1, 2 shown: coverage 3/4.
        assert_eq!(item_coverage(lists, 4), 0.75);
        // Counts sorted ascending [0, 1, 1, 2], n = 4, T = 4.
        // Weights 2i - n - 1 for i = 1..4: -3, -1, 1, 3.
        // Sum = 0 - 1 + 1 + 6 = 6; G = 6 / (4 * 4) = 0.375.
        assert!((gini_index(lists, 4) - 0.375).abs() < 1e-12);
        // Equal exposure: every item once -> G = 0.
        let even: [&[u32]; 2] = [&[0, 1], &[2, 3]];
        assert!(gini_index(even, 4).abs() < 1e-12);
    }

    #[test]
    fn diversity_by_hand() {
        // Distance |a - b| over [1, 2, 4]: pairs (1,2)=1, (1,4)=3, (2,4)=2; mean 6/3 = 2.
        let d = |a: u32, b: u32| (a as f64 - b as f64).abs();
        assert_eq!(intra_list_diversity(&[1, 2, 4], &d), 2.0);
        assert_eq!(intra_list_diversity(&[1], &d), 0.0);
    }

    #[test]
    fn novelty_by_hand() {
        // 8 users; item 0 seen by 4 (p = 1/2, 1 bit), item 1 by 1 (p = 1/8, 3 bits), item 2 by
        // none (taken as 1: 3 bits). Lists [0, 1] and [2]: mean (1 + 3 + 3) / 3 = 7/3.
        let lists: [&[u32]; 2] = [&[0, 1], &[2]];
        assert!((novelty(lists, &[4, 1, 0], 8) - 7.0 / 3.0).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn gini_and_coverage_in_unit_interval_and_merge(
            lists in proptest::collection::vec(proptest::collection::vec(0u32..20, 0..10), 0..20),
            cut in 0usize..20,
        ) {
            let cut = cut.min(lists.len());
            let mut whole = ExposureAccumulator::new(20);
            let mut a = ExposureAccumulator::new(20);
            let mut b = ExposureAccumulator::new(20);
            for (i, l) in lists.iter().enumerate() {
                whole.add(l);
                if i < cut { a.add(l) } else { b.add(l) }
            }
            let merged = a.merge(b);
            prop_assert_eq!(&merged, &whole);
            prop_assert!((0.0..=1.0).contains(&whole.coverage()));
            prop_assert!((0.0..=1.0).contains(&whole.gini()));
        }
    }
}
