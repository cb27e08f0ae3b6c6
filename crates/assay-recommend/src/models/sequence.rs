//! The data side of the sequential models (GRU4Rec, SASRec): each user's training items in time
//! order, and the training windows cut from them.
//!
//! Terms: a *sequence* is one user's training items, oldest first; a *token* is an item index
//! plus one, because token 0 is padding (RecBole's `padding_idx = 0`); a *window* is up to
//! `maxlen` consecutive tokens of one sequence with, at each position, the next item as the
//! target.

use assay_core::{Dataset, EventKind, Interactions, ItemIdx};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Every user's training items in time order: for each user, the first event (by timestamp,
/// ties in log order, impressions left out) of each item in `train`. Items of `train` that no
/// event of `data` explains come first, in index order: a model fitted on a matrix without its
/// log still sees every training item.
pub(crate) fn time_ordered(train: &Interactions, data: &Dataset) -> Vec<Vec<ItemIdx>> {
    let n_users = train.n_users();
    let events = &data.events;
    let mut rows: Vec<u32> = (0..events.len() as u32)
        .filter(|&r| {
            let r = r as usize;
            events.kind[r] != EventKind::Impression
                && (events.user[r] as usize) < n_users
                && (events.item[r] as usize) < train.n_items()
        })
        .collect();
    // A stable sort: equal timestamps keep the log's order, as the leave-last-out split does.
    rows.sort_by_key(|&r| (events.user[r as usize], events.timestamp[r as usize]));
    let mut timed: Vec<Vec<ItemIdx>> = vec![Vec::new(); n_users];
    let mut placed = vec![false; train.n_items()];
    for &r in &rows {
        let (user, item) = (events.user[r as usize], events.item[r as usize]);
        if train.items_of(user).binary_search(&item).is_ok() {
            timed[user as usize].push(item);
        }
    }
    let mut sequences = Vec::with_capacity(n_users);
    for (user, timed) in timed.into_iter().enumerate() {
        let mut sequence = Vec::with_capacity(timed.len());
        let mut first = Vec::with_capacity(timed.len());
        for item in timed {
            if !placed[item as usize] {
                placed[item as usize] = true;
                first.push(item);
            }
        }
        for &item in train.items_of(user as u32) {
            if !placed[item as usize] {
                sequence.push(item);
            }
        }
        for &item in sequence.iter().chain(&first) {
            placed[item as usize] = false;
        }
        sequence.extend(first);
        sequences.push(sequence);
    }
    sequences
}

/// One training window: tokens, and the next item after each of them; only positions from
/// `first` on are scored, so every target of a sequence is scored once per epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Window {
    /// Item index + 1 at each position.
    pub tokens: Vec<u32>,
    /// The item that follows each position.
    pub targets: Vec<ItemIdx>,
    /// The first scored position.
    pub first: usize,
}

impl Window {
    /// Positions scored.
    pub fn scored(&self) -> usize {
        self.tokens.len() - self.first
    }
}

/// Cuts every sequence into windows of at most `maxlen` positions. The first window starts at
/// the sequence's start and scores every position, exactly as RecBole's training on every
/// prefix does for prefixes up to `maxlen` items: the output at a position of a causal model
/// depends only on the items up to it, with the same positions as the prefix alone.
/// Later windows advance by half a window and score only their second half, so a target past
/// `maxlen` sees between `maxlen / 2` and `maxlen` items of context (RecBole: the last
/// `maxlen`) at about two forward passes per target instead of `maxlen`.
pub(crate) fn windows(sequences: &[Vec<ItemIdx>], maxlen: usize) -> Vec<Window> {
    let stride = (maxlen / 2).max(1);
    let mut windows = Vec::new();
    for sequence in sequences {
        let n_targets = sequence.len().saturating_sub(1);
        let mut start = 0;
        let mut scored_to = 0; // Targets (indices into the sequence, from 1) scored so far.
        while scored_to < n_targets {
            let end = (start + maxlen).min(n_targets);
            windows.push(Window {
                tokens: sequence[start..end].iter().map(|&i| i + 1).collect(),
                targets: sequence[start + 1..end + 1].to_vec(),
                first: scored_to - start,
            });
            scored_to = end;
            start += stride;
        }
    }
    windows
}

/// The windows of one epoch in a seeded random order, grouped into batches of about
/// `batch` scored positions (RecBole's `train_batch_size` counts training prefixes, which are
/// scored positions here); a batch is closed once it reaches `batch`.
pub(crate) fn batches(windows: &[Window], batch: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..windows.len()).collect();
    order.shuffle(rng);
    let mut batches = Vec::new();
    let mut current = Vec::new();
    let mut scored = 0;
    for w in order {
        current.push(w);
        scored += windows[w].scored();
        if scored >= batch {
            batches.push(std::mem::take(&mut current));
            scored = 0;
        }
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// The last `maxlen` items of `items` as tokens.
pub(crate) fn tail_tokens(
    items: impl DoubleEndedIterator<Item = ItemIdx>,
    maxlen: usize,
) -> Vec<u32> {
    let mut tokens: Vec<u32> = items.rev().take(maxlen).map(|i| i + 1).collect();
    tokens.reverse();
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_score_every_target_once_with_bounded_context() {
        // A sequence of 8 items with maxlen 4: windows start at 0, 2, 4 (stride 2).
        let sequence: Vec<ItemIdx> = (10..18).collect();
        let got = windows(&[sequence.clone(), vec![5], vec![]], 4);
        assert_eq!(
            got[0],
            Window {
                tokens: vec![11, 12, 13, 14],
                targets: vec![11, 12, 13, 14],
                first: 0
            }
        );
        assert_eq!(
            got[1],
            Window {
                tokens: vec![13, 14, 15, 16],
                targets: vec![13, 14, 15, 16],
                first: 2
            }
        );
        assert_eq!(
            got[2],
            Window {
                tokens: vec![15, 16, 17],
                targets: vec![15, 16, 17],
                first: 2
            }
        );
        // One-item and empty sequences have no target.
        assert_eq!(got.len(), 3);
        let mut scored: Vec<ItemIdx> = got
            .iter()
            .flat_map(|w| w.targets[w.first..].iter().copied())
            .collect();
        scored.sort_unstable();
        assert_eq!(scored, sequence[1..].to_vec());
    }

    #[test]
    fn batches_close_at_the_scored_count() {
        let windows = windows(&[(0..5).collect(), (0..3).collect(), (0..2).collect()], 10);
        // Scored positions: 4, 2, 1.
        let mut rng = assay_train::epoch_rng(1, 1);
        let batches = batches(&windows, 3, &mut rng);
        let mut all: Vec<usize> = batches.concat();
        all.sort_unstable();
        assert_eq!(all, vec![0, 1, 2]);
        for b in &batches[..batches.len() - 1] {
            assert!(b.iter().map(|&w| windows[w].scored()).sum::<usize>() >= 3);
        }
    }

    #[test]
    fn tail_keeps_the_newest_items() {
        assert_eq!(tail_tokens([1, 2, 3, 4].into_iter(), 2), vec![4, 5]);
        assert_eq!(tail_tokens([7].into_iter(), 3), vec![8]);
    }
}
