//! Cleaning steps over event rows: each takes the rows to consider and returns the rows to keep,
//! in log order, so steps compose without copying the log.

use std::collections::HashSet;

use crate::{Dataset, EventKind};

/// Drops exact repeats: events equal in user, item, kind, value, timestamp, session, query,
/// position and source to an earlier kept event. Returns the kept rows and how many were dropped.
pub fn dedupe(data: &Dataset, rows: &[u32]) -> (Vec<u32>, usize) {
    let ev = &data.events;
    let mut seen = HashSet::with_capacity(rows.len());
    let kept: Vec<u32> = rows
        .iter()
        .copied()
        .filter(|&r| {
            let r = r as usize;
            seen.insert((
                ev.user[r],
                ev.item[r],
                ev.kind[r],
                ev.value[r].to_bits(),
                ev.timestamp[r],
                ev.session[r],
                ev.query[r],
                ev.position[r],
                ev.source[r],
            ))
        })
        .collect();
    let dropped = rows.len() - kept.len();
    (kept, dropped)
}

/// Keeps the first event of each (user, item) pair, in log order: one row per preference, so
/// repeats neither weigh more nor land on both sides of a split.
pub fn first_of_pairs(data: &Dataset, rows: &[u32]) -> Vec<u32> {
    let ev = &data.events;
    let mut seen = HashSet::with_capacity(rows.len());
    rows.iter()
        .copied()
        .filter(|&r| seen.insert((ev.user[r as usize], ev.item[r as usize])))
        .collect()
}

/// Turns explicit ratings into implicit feedback: rating events below `threshold` are dropped
/// (a low rating is not a positive signal); all other events are kept.
pub fn ratings_at_least(data: &Dataset, rows: &[u32], threshold: f64) -> Vec<u32> {
    rows.iter()
        .copied()
        .filter(|&r| {
            let r = r as usize;
            data.events.kind[r] != EventKind::Rating || data.events.value[r] >= threshold
        })
        .collect()
}

/// Whether recommenders learn from impressions. An impression records what a shopper was
/// shown, not what they chose, so by default every command that fits a recommender (`eval`,
/// `train`, `tune`, `value`, `report`) leaves impressions out and learns from clicks, carts,
/// purchases, ratings and dwell; `Learn` keeps them as positives (RecBole's reading of a log
/// where every row is an interaction).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Impressions {
    /// Leave impressions out (the default).
    #[default]
    Skip,
    /// Learn from impressions like any other event.
    Learn,
}

/// The rows of `data` a recommender learns from under `impressions`, in row order.
pub fn learning_rows(data: &Dataset, impressions: Impressions) -> Vec<u32> {
    let all = 0..data.events.len() as u32;
    match impressions {
        Impressions::Learn => all.collect(),
        Impressions::Skip => all
            .filter(|&r| data.events.kind[r as usize] != EventKind::Impression)
            .collect(),
    }
}

/// Keeps only events of the given kinds.
pub fn of_kinds(data: &Dataset, rows: &[u32], kinds: &[EventKind]) -> Vec<u32> {
    rows.iter()
        .copied()
        .filter(|&r| kinds.contains(&data.events.kind[r as usize]))
        .collect()
}

/// One pass: drops events of users with fewer than `min_user` events and of items with fewer
/// than `min_item` events (counted over `rows` before dropping).
pub fn min_interactions(
    data: &Dataset,
    rows: &[u32],
    min_user: usize,
    min_item: usize,
) -> Vec<u32> {
    let (user_count, item_count) = counts(data, rows);
    rows.iter()
        .copied()
        .filter(|&r| {
            let r = r as usize;
            user_count[data.events.user[r] as usize] >= min_user
                && item_count[data.events.item[r] as usize] >= min_item
        })
        .collect()
}

/// k-core filter: repeats [`min_interactions`] until every remaining user has at least
/// `user_k` events and every remaining item at least `item_k`.
pub fn k_core(data: &Dataset, rows: &[u32], user_k: usize, item_k: usize) -> Vec<u32> {
    let mut kept = rows.to_vec();
    loop {
        let next = min_interactions(data, &kept, user_k, item_k);
        if next.len() == kept.len() {
            return kept;
        }
        kept = next;
    }
}

/// Events per user and per item over `rows`.
pub(crate) fn counts(data: &Dataset, rows: &[u32]) -> (Vec<usize>, Vec<usize>) {
    let mut user_count = vec![0usize; data.users.len()];
    let mut item_count = vec![0usize; data.items.len()];
    for &r in rows {
        user_count[data.events.user[r as usize] as usize] += 1;
        item_count[data.events.item[r as usize] as usize] += 1;
    }
    (user_count, item_count)
}

/// The cleaning steps a user asked for, applied in a fixed order: dedupe, then the rating
/// threshold, then the k-core.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cleaning {
    /// Drop exact repeats of an event ([`dedupe`]).
    pub dedupe: bool,
    /// Drop ratings below this value ([`ratings_at_least`]).
    pub min_rating: Option<f64>,
    /// Keep users and items with at least this many events, until stable ([`k_core`]).
    pub k_core: Option<usize>,
}

/// One applied cleaning step and the events it dropped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CleaningStep {
    /// The step, for people: "dedupe", "ratings >= 4", "5-core".
    pub step: String,
    /// Events it dropped.
    pub dropped: usize,
}

impl Cleaning {
    /// True when no step is asked for.
    pub fn is_empty(&self) -> bool {
        !self.dedupe && self.min_rating.is_none() && self.k_core.is_none()
    }

    /// The event rows of `data` left after the steps, in log order, with what each dropped.
    pub fn apply(&self, data: &Dataset) -> (Vec<u32>, Vec<CleaningStep>) {
        let mut rows: Vec<u32> = (0..data.events.len() as u32).collect();
        let mut steps = Vec::new();
        if self.dedupe {
            let (kept, dropped) = dedupe(data, &rows);
            steps.push(CleaningStep {
                step: "dedupe".to_owned(),
                dropped,
            });
            rows = kept;
        }
        if let Some(threshold) = self.min_rating {
            let kept = ratings_at_least(data, &rows, threshold);
            steps.push(CleaningStep {
                step: format!("ratings >= {threshold}"),
                dropped: rows.len() - kept.len(),
            });
            rows = kept;
        }
        if let Some(k) = self.k_core {
            let kept = k_core(data, &rows, k, k);
            steps.push(CleaningStep {
                step: format!("{k}-core"),
                dropped: rows.len() - kept.len(),
            });
            rows = kept;
        }
        (rows, steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NO_POSITION, NO_QUERY, NO_SESSION};
    use proptest::prelude::*;

    fn data_from(pairs: &[(u32, u32, EventKind, f64)]) -> Dataset {
        let mut data = Dataset::default();
        for &(u, i, kind, value) in pairs {
            let user = data.users.intern(&u.to_string());
            let item = data.items.intern(&i.to_string());
            data.events.push(
                user,
                item,
                kind,
                value,
                0,
                NO_SESSION,
                NO_QUERY,
                NO_POSITION,
                f64::NAN,
                0,
            );
        }
        data
    }

    fn all(data: &Dataset) -> Vec<u32> {
        (0..data.events.len() as u32).collect()
    }

    #[test]
    fn dedupe_keeps_first_of_identical_events() {
        use EventKind::*;
        let data = data_from(&[
            (0, 0, Click, f64::NAN),
            (0, 0, Click, f64::NAN),
            (0, 0, Cart, f64::NAN),
        ]);
        assert_eq!(dedupe(&data, &all(&data)), (vec![0, 2], 1));
    }

    #[test]
    fn rating_threshold_drops_only_low_ratings() {
        use EventKind::*;
        let data = data_from(&[
            (0, 0, Rating, 2.0),
            (0, 1, Rating, 4.0),
            (0, 2, Click, f64::NAN),
        ]);
        assert_eq!(ratings_at_least(&data, &all(&data), 4.0), vec![1, 2]);
    }

    #[test]
    fn k_core_iterates_until_stable() {
        use EventKind::Click;
        // User 0 rates items 0, 1; user 1 rates items 0, 1; user 2 rates item 2 only.
        // 2-core: user 2 goes (1 event), then item 2 has 0 events; users 0 and 1 stay.
        let data = data_from(&[
            (0, 0, Click, 1.0),
            (0, 1, Click, 1.0),
            (1, 0, Click, 1.0),
            (1, 1, Click, 1.0),
            (2, 2, Click, 1.0),
            (2, 0, Click, 1.0),
        ]);
        // One pass at min 2: item 2 has 1 event (dropped); user 2 still had 2 events before.
        assert_eq!(
            min_interactions(&data, &all(&data), 2, 2),
            vec![0, 1, 2, 3, 5]
        );
        // Iterated: user 2 is left with one event and goes too.
        assert_eq!(k_core(&data, &all(&data), 2, 2), vec![0, 1, 2, 3]);
    }

    proptest! {
        #[test]
        fn k_core_result_is_a_core(pairs in proptest::collection::vec((0u32..8, 0u32..8), 0..80), k in 1usize..4) {
            let events: Vec<_> = pairs.iter().map(|&(u, i)| (u, i, EventKind::Click, 1.0)).collect();
            let data = data_from(&events);
            let kept = k_core(&data, &all(&data), k, k);
            let (users, items) = counts(&data, &kept);
            prop_assert!(users.iter().all(|&c| c == 0 || c >= k));
            prop_assert!(items.iter().all(|&c| c == 0 || c >= k));
            // Applying it again changes nothing.
            prop_assert_eq!(k_core(&data, &kept, k, k), kept);
        }
    }
}
