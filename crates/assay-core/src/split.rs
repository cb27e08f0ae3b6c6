//! Train / validation / test splits of a log, as lists of event rows.
//!
//! A split never copies events: it returns row indices into [`Dataset::events`], so the same
//! log can be split many ways cheaply. Every random split takes a seed.
//!
//! The per-user ratio split follows RecBole's `split_by_ratio` with `group_by = user`: each user's
//! events are cut in order into parts of sizes `floor(ratio * n)` for validation and test, the
//! rest to training, and a part whose share is positive but under one event gets one event while
//! training keeps more than one. The leave-one-out split follows RecBole's `leave_one_out` in
//! `valid_and_test` mode.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{Dataset, NO_TIME};

/// Event rows of the three parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Split {
    /// Rows to fit on.
    pub train: Vec<u32>,
    /// Rows to tune on (may be empty).
    pub valid: Vec<u32>,
    /// Rows to report on.
    pub test: Vec<u32>,
}

/// In which order each user's events are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Shuffled with this seed (RecBole's `RO`).
    Random {
        /// Seed of the shuffle.
        seed: u64,
    },
    /// By timestamp, earliest first, ties in log order (RecBole's `TO`).
    Time,
}

/// Per-user ratio split (RecBole's `RS`): each user's events, in `order`, are cut into
/// train / valid / test with the given ratios (normalised to sum 1).
pub fn by_ratio(data: &Dataset, rows: &[u32], ratios: [f64; 3], order: Order) -> Split {
    let total: f64 = ratios.iter().sum();
    let ratios = ratios.map(|r| r / total);
    let mut split = Split::default();
    for group in user_groups(data, rows, order) {
        let [n_train, n_valid, _] = ratio_counts(group.len(), ratios);
        split.train.extend_from_slice(&group[..n_train]);
        split
            .valid
            .extend_from_slice(&group[n_train..n_train + n_valid]);
        split.test.extend_from_slice(&group[n_train + n_valid..]);
    }
    split
}

/// Leave-last-out (RecBole's `LS: valid_and_test`): in time order, each user's last event is the
/// test event and the one before it the validation event. A user with two events gives one to
/// test and none to validation; a user with one event keeps it in training.
pub fn leave_last_out(data: &Dataset, rows: &[u32]) -> Split {
    let mut split = Split::default();
    for group in user_groups(data, rows, Order::Time) {
        let held_out = 2.min(group.len().saturating_sub(1));
        let n_train = group.len() - held_out;
        split.train.extend_from_slice(&group[..n_train]);
        match held_out {
            2 => {
                split.valid.push(group[n_train]);
                split.test.push(group[n_train + 1]);
            }
            1 => split.test.push(group[n_train]),
            _ => {}
        }
    }
    split
}

/// Global temporal split: events before `valid_from` train, events in `[valid_from, test_from)`
/// validate, events from `test_from` on test. Events without a timestamp go to training.
pub fn by_time(data: &Dataset, rows: &[u32], valid_from: i64, test_from: i64) -> Split {
    let mut split = Split::default();
    for &row in rows {
        let t = data.events.timestamp[row as usize];
        if t == NO_TIME || t < valid_from {
            split.train.push(row);
        } else if t < test_from {
            split.valid.push(row);
        } else {
            split.test.push(row);
        }
    }
    split
}

/// Global temporal split at time quantiles: the cut points are chosen so that about `ratios` of
/// the timed events fall into each part; returns the split and the two cut timestamps.
pub fn by_time_ratio(data: &Dataset, rows: &[u32], ratios: [f64; 3]) -> (Split, i64, i64) {
    let mut times: Vec<i64> = rows
        .iter()
        .map(|&r| data.events.timestamp[r as usize])
        .filter(|&t| t != NO_TIME)
        .collect();
    if times.is_empty() {
        return (by_time(data, rows, i64::MAX, i64::MAX), i64::MAX, i64::MAX);
    }
    times.sort_unstable();
    let total: f64 = ratios.iter().sum();
    let at = |share: f64| {
        let k = ((share / total) * times.len() as f64).floor() as usize;
        times.get(k).copied().unwrap_or(i64::MAX)
    };
    let valid_from = at(ratios[0]);
    let test_from = at(ratios[0] + ratios[1]);
    (
        by_time(data, rows, valid_from, test_from),
        valid_from,
        test_from,
    )
}

/// Sizes of train / valid / test for a user with `n` events, as RecBole's `_calcu_split_ids`.
fn ratio_counts(n: usize, ratios: [f64; 3]) -> [usize; 3] {
    let mut counts = ratios.map(|r| (r * n as f64) as usize);
    counts[0] = n - counts[1] - counts[2];
    for i in [2, 1] {
        if counts[0] <= 1 {
            break;
        }
        let share = ratios[i] * n as f64;
        if 0.0 < share && share < 1.0 {
            counts[i] += 1;
            counts[0] -= 1;
        }
    }
    counts
}

/// The rows grouped by user (users in order of first appearance after ordering), each group in
/// `order`.
fn user_groups(data: &Dataset, rows: &[u32], order: Order) -> Vec<Vec<u32>> {
    let mut ordered = rows.to_vec();
    match order {
        Order::Random { seed } => ordered.shuffle(&mut ChaCha8Rng::seed_from_u64(seed)),
        Order::Time => ordered.sort_by_key(|&r| data.events.timestamp[r as usize]),
    }
    let mut slot = vec![u32::MAX; data.users.len()];
    let mut groups: Vec<Vec<u32>> = Vec::new();
    for row in ordered {
        let user = data.events.user[row as usize] as usize;
        if slot[user] == u32::MAX {
            slot[user] = groups.len() as u32;
            groups.push(Vec::new());
        }
        groups[slot[user] as usize].push(row);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventKind, NO_POSITION, NO_QUERY, NO_SESSION};
    use proptest::prelude::*;

    /// A log where user `u` has `counts[u]` events at times 0, 1, 2...
    fn log(counts: &[usize]) -> Dataset {
        let mut data = Dataset::default();
        data.items.intern("i");
        for (u, &n) in counts.iter().enumerate() {
            let user = data.users.intern(&u.to_string());
            for t in 0..n {
                data.events.push(
                    user,
                    0,
                    EventKind::Click,
                    f64::NAN,
                    t as i64,
                    NO_SESSION,
                    NO_QUERY,
                    NO_POSITION,
                    f64::NAN,
                    0,
                );
            }
        }
        data
    }

    fn all_rows(data: &Dataset) -> Vec<u32> {
        (0..data.events.len() as u32).collect()
    }

    #[test]
    fn ratio_counts_match_recbole_by_hand() {
        let r = [0.8, 0.1, 0.1];
        // n = 10: floor(1.0) = 1 each, train 8.
        assert_eq!(ratio_counts(10, r), [8, 1, 1]);
        // n = 5: floor(0.5) = 0, shares 0.5 in (0, 1) so each held-out part gets one.
        assert_eq!(ratio_counts(5, r), [3, 1, 1]);
        // n = 2: train would drop to 1 after the first bump, so the loop stops.
        assert_eq!(ratio_counts(2, r), [1, 0, 1]);
        // n = 1: nothing can be held out.
        assert_eq!(ratio_counts(1, r), [1, 0, 0]);
        // n = 25: floor(2.5) = 2 each.
        assert_eq!(ratio_counts(25, r), [21, 2, 2]);
    }

    #[test]
    fn time_ordered_ratio_split_holds_out_the_latest() {
        let data = log(&[10]);
        let split = by_ratio(&data, &all_rows(&data), [0.8, 0.1, 0.1], Order::Time);
        assert_eq!(split.train, (0..8).collect::<Vec<_>>());
        assert_eq!(split.valid, vec![8]);
        assert_eq!(split.test, vec![9]);
    }

    #[test]
    fn leave_last_out_follows_recbole_for_short_histories() {
        let data = log(&[4, 2, 1]);
        let split = leave_last_out(&data, &all_rows(&data));
        assert_eq!(split.train, vec![0, 1, 4, 6]);
        assert_eq!(split.valid, vec![2]);
        assert_eq!(split.test, vec![3, 5]);
    }

    #[test]
    fn global_time_split_uses_cutoffs() {
        let data = log(&[10]);
        let (split, valid_from, test_from) =
            by_time_ratio(&data, &all_rows(&data), [0.6, 0.2, 0.2]);
        assert_eq!((valid_from, test_from), (6, 8));
        assert_eq!(split.train.len(), 6);
        assert_eq!(split.valid, vec![6, 7]);
        assert_eq!(split.test, vec![8, 9]);
    }

    proptest! {
        #[test]
        fn random_split_partitions_rows_and_is_seeded(
            counts in proptest::collection::vec(0usize..30, 1..20),
            seed in any::<u64>(),
        ) {
            let data = log(&counts);
            let rows = all_rows(&data);
            let split = by_ratio(&data, &rows, [0.8, 0.1, 0.1], Order::Random { seed });
            let mut seen: Vec<u32> =
                split.train.iter().chain(&split.valid).chain(&split.test).copied().collect();
            seen.sort_unstable();
            prop_assert_eq!(&seen, &rows);
            let again = by_ratio(&data, &rows, [0.8, 0.1, 0.1], Order::Random { seed });
            prop_assert_eq!(&split, &again);
            // Every user with at least one event keeps one in training.
            for (u, &n) in counts.iter().enumerate() {
                if n > 0 {
                    prop_assert!(split.train.iter().any(|&r| data.events.user[r as usize] == u as u32));
                }
            }
        }
    }
}
