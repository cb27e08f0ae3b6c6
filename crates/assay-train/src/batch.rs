//! Seeded batching: a shuffled order per epoch, cut into batches, optionally with no two
//! examples of a batch sharing a key.

use std::collections::{HashSet, VecDeque};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The random stream of one epoch: ChaCha8 seeded with `seed`, on stream `epoch`, so every
/// epoch has its own order and an epoch's order does not depend on how many numbers earlier
/// epochs drew.
pub fn epoch_rng(seed: u64, epoch: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64);
    rng
}

/// The indices `0..n` in a random order drawn from `rng`, cut into batches of `batch_size`
/// (the last one may be shorter). A `batch_size` of 0 is treated as 1.
pub fn shuffled_batches(n: usize, batch_size: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    order
        .chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect()
}

/// Cuts `order` into batches of up to `batch_size` in which no two examples share a key
/// (`keys(example)`), keeping `order` as far as that allows: an example that clashes with its
/// batch waits, ahead of the rest, for the next one.
///
/// This is what in-batch negatives need: with two pairs of the same query (or the same item) in
/// one batch, one pair's positive would be scored as the other's negative. Every example lands
/// in exactly one batch; an example whose own keys repeat is put alone when nothing else fits.
pub fn distinct_batches<K, F>(order: &[usize], batch_size: usize, keys: F) -> Vec<Vec<usize>>
where
    K: Eq + std::hash::Hash,
    F: Fn(usize) -> Vec<K>,
{
    let batch_size = batch_size.max(1);
    let mut queue: VecDeque<usize> = order.iter().copied().collect();
    let mut batches = Vec::with_capacity(order.len().div_ceil(batch_size));
    let mut waiting = Vec::new();
    while !queue.is_empty() {
        let mut batch = Vec::with_capacity(batch_size);
        let mut seen: HashSet<K> = HashSet::new();
        while batch.len() < batch_size {
            let Some(example) = queue.pop_front() else {
                break;
            };
            let example_keys = keys(example);
            let clashes = example_keys.iter().any(|k| seen.contains(k));
            if clashes && !batch.is_empty() {
                waiting.push(example);
                continue;
            }
            seen.extend(example_keys);
            batch.push(example);
        }
        // The examples that waited go first into the next batch, in their order.
        for &example in waiting.iter().rev() {
            queue.push_front(example);
        }
        waiting.clear();
        batches.push(batch);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_batches_and_every_index_once() {
        let a = shuffled_batches(10, 3, &mut epoch_rng(7, 0));
        let b = shuffled_batches(10, 3, &mut epoch_rng(7, 0));
        assert_eq!(a, b);
        assert_eq!(a.iter().map(Vec::len).collect::<Vec<_>>(), vec![3, 3, 3, 1]);
        let mut all: Vec<usize> = a.concat();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        // Another epoch or another seed gives another order.
        assert_ne!(a, shuffled_batches(10, 3, &mut epoch_rng(7, 1)));
        assert_ne!(a, shuffled_batches(10, 3, &mut epoch_rng(8, 0)));
    }

    #[test]
    fn distinct_batches_never_repeat_a_key() {
        // Examples 0, 1 and 2 share key "q"; 3 and 4 are free.
        let keys = ["q", "q", "q", "a", "b"];
        let batches = distinct_batches(&[0, 1, 2, 3, 4], 2, |e| vec![keys[e]]);
        // 0 takes "q"; 1 and 2 wait; 3 fills the batch. Then 1 (waited) + 4, then 2 alone.
        assert_eq!(batches, vec![vec![0, 3], vec![1, 4], vec![2]]);
    }

    #[test]
    fn distinct_batches_keep_examples_with_repeated_own_keys() {
        let batches = distinct_batches(&[0, 1], 4, |e| vec![e, e]);
        assert_eq!(batches, vec![vec![0, 1]]);
        assert!(distinct_batches(&[], 4, |e: usize| vec![e]).is_empty());
    }
}
