//! A stable LSD radix sort of `(key, row)` pairs by key, for exact KNN-Shapley.
//!
//! The recursion of KNN-Shapley needs every training point's rank, so each test point sorts
//! all N distances; a comparison sort is `N log N` comparisons with unpredictable branches,
//! and dominated the run time. The keys are the bit patterns of non-negative `f64` distances
//! (which order like the values), so six passes over 11-bit digits (2048 counters, which
//! stay in L1 cache) sort them in `O(N)`; a pass whose digit is the same for every key (the
//! sign and high exponent bits, when distances span a narrow range) is skipped. Being stable, it keeps equal keys in input order, which is
//! ascending row order: the tie rule of [`crate::knn_shapley`].

/// Digit width in bits.
const BITS: u32 = 11;
const BUCKETS: usize = 1 << BITS;
const PASSES: u32 = u64::BITS.div_ceil(BITS);

/// Sorts `items` by key, stably; `scratch` is reused between calls to avoid allocations.
pub(crate) fn sort_by_key(items: &mut Vec<(u64, u32)>, scratch: &mut Vec<(u64, u32)>) {
    let n = items.len();
    if n < 256 {
        // Small inputs: a comparison sort is faster than clearing the histograms. Sorting
        // (key, row) pairs as tuples is stable for inputs in ascending row order.
        items.sort_unstable();
        return;
    }
    // One flat allocation, all digits counted in a single read of the keys.
    let mut counts = vec![0u32; BUCKETS * PASSES as usize];
    for &(key, _) in items.iter() {
        for (pass, count) in counts.chunks_exact_mut(BUCKETS).enumerate() {
            count[((key >> (pass as u32 * BITS)) as usize) & (BUCKETS - 1)] += 1;
        }
    }
    scratch.clear();
    scratch.resize(n, (0, 0));
    for (pass, count) in counts.chunks_exact_mut(BUCKETS).enumerate() {
        let shift = pass as u32 * BITS;
        let first = ((items[0].0 >> shift) as usize) & (BUCKETS - 1);
        if count[first] as usize == n {
            continue;
        }
        // Exclusive prefix sums: the first slot of each bucket.
        let mut next = 0u32;
        for c in count.iter_mut() {
            let here = *c;
            *c = next;
            next += here;
        }
        for &item in items.iter() {
            let digit = ((item.0 >> shift) as usize) & (BUCKETS - 1);
            scratch[count[digit] as usize] = item;
            count[digit] += 1;
        }
        std::mem::swap(items, scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn sorts_like_a_comparison_sort_with_ties_in_row_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for n in [0usize, 1, 5, 255, 256, 1000, 50_000] {
            // Few distinct distances, so ties are common; all in the same binade or spread.
            let items: Vec<(u64, u32)> = (0..n)
                .map(|r| {
                    let d: f64 = if r % 2 == 0 {
                        rng.random_range(0..20) as f64 * 0.25
                    } else {
                        rng.random::<f64>() * 1e3
                    };
                    (d.to_bits(), r as u32)
                })
                .collect();
            let mut expected = items.clone();
            expected.sort_unstable();
            let mut got = items;
            sort_by_key(&mut got, &mut Vec::new());
            assert_eq!(got, expected, "n = {n}");
        }
    }
}
