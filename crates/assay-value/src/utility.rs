//! The [`Utility`] trait, a thread-safe cache around it, and closure utilities.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use crate::ValueError;

/// A cooperative game: a number for every subset of players.
///
/// A *player* is whatever is being valued (a data source, a user, a training point); a
/// *subset* is a list of distinct player indices in `0..n_players()`, in any order. `eval` must
/// be a pure function of the set: the same players in another order give the same value.
/// Implementations are shared across rayon threads, hence `Sync`.
///
/// **Failures.** `eval` returns a plain number so that the methods stay simple; a utility whose
/// evaluation can fail (a model fit that errs) returns NaN for that subset, keeps the error,
/// and hands it over in [`Utility::take_failure`]. [`crate::value_players`] asks after every
/// run and returns the error instead of values, so a failure never reads as a value of 0.
pub trait Utility: Sync {
    /// A short name for reports ("knn(k=5) accuracy", "ease ndcg@10 [to others]").
    fn name(&self) -> String;

    /// Number of players.
    fn n_players(&self) -> usize;

    /// The utility of the players in `subset`.
    fn eval(&self, subset: &[usize]) -> f64;

    /// The name of player `player` for the values table; the index by default.
    fn player_name(&self, player: usize) -> String {
        player.to_string()
    }

    /// The first error of an evaluation since the last call, taken (so the next call gives
    /// `None` until another evaluation fails); `None` by default, for utilities that cannot
    /// fail. Wrappers forward it.
    fn take_failure(&self) -> Option<ValueError> {
        None
    }

    /// Fast path for permutation methods: appends `U(order[..1])`, `U(order[..2])`, ... to
    /// `out`, and stops right after appending a value for which `stop(value)` is true.
    ///
    /// The default calls [`Utility::eval`] on every prefix. A utility whose model can be
    /// updated incrementally when one player joins (co-occurrence counts, a rank-one inverse
    /// update) overrides this so a whole permutation costs about one fit.
    fn eval_prefixes(&self, order: &[usize], stop: &dyn Fn(f64) -> bool, out: &mut Vec<f64>) {
        for end in 1..=order.len() {
            let value = self.eval(&order[..end]);
            out.push(value);
            if stop(value) {
                return;
            }
        }
    }
}

impl<U: Utility + ?Sized> Utility for &U {
    fn name(&self) -> String {
        (**self).name()
    }
    fn n_players(&self) -> usize {
        (**self).n_players()
    }
    fn eval(&self, subset: &[usize]) -> f64 {
        (**self).eval(subset)
    }
    fn player_name(&self, player: usize) -> String {
        (**self).player_name(player)
    }
    fn take_failure(&self) -> Option<ValueError> {
        (**self).take_failure()
    }
    fn eval_prefixes(&self, order: &[usize], stop: &dyn Fn(f64) -> bool, out: &mut Vec<f64>) {
        (**self).eval_prefixes(order, stop, out)
    }
}

/// A utility given by a closure over the sorted subset; handy for games written by hand.
pub struct FnUtility<F> {
    name: String,
    n_players: usize,
    function: F,
}

impl<F: Fn(&[usize]) -> f64 + Sync> FnUtility<F> {
    /// A game of `n_players` whose value is `function(sorted subset)`.
    pub fn new(name: impl Into<String>, n_players: usize, function: F) -> FnUtility<F> {
        FnUtility {
            name: name.into(),
            n_players,
            function,
        }
    }
}

impl<F: Fn(&[usize]) -> f64 + Sync> Utility for FnUtility<F> {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn n_players(&self) -> usize {
        self.n_players
    }
    fn eval(&self, subset: &[usize]) -> f64 {
        let mut sorted = subset.to_vec();
        sorted.sort_unstable();
        (self.function)(&sorted)
    }
}

/// Memoises another utility: each distinct subset is evaluated once, keyed by its bitset.
///
/// Safe to share across threads. Two threads asking for the same new subset at the same time
/// may both evaluate it (the lock is not held during evaluation, so slow fits run in
/// parallel); the utility is pure, so both get the same value.
pub struct CachedUtility<U> {
    inner: U,
    cache: RwLock<HashMap<Box<[u64]>, f64>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<U: Utility> CachedUtility<U> {
    /// Wraps `inner` with an empty cache.
    pub fn new(inner: U) -> CachedUtility<U> {
        CachedUtility {
            inner,
            cache: RwLock::new(HashMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Lookups answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups that evaluated the inner utility.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// The wrapped utility.
    pub fn inner(&self) -> &U {
        &self.inner
    }

    fn key(&self, subset: &[usize]) -> Box<[u64]> {
        let mut bits = vec![0u64; self.inner.n_players().div_ceil(64)];
        for &p in subset {
            bits[p / 64] |= 1 << (p % 64);
        }
        bits.into_boxed_slice()
    }
}

impl<U: Utility> Utility for CachedUtility<U> {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn n_players(&self) -> usize {
        self.inner.n_players()
    }
    fn player_name(&self, player: usize) -> String {
        self.inner.player_name(player)
    }
    fn eval(&self, subset: &[usize]) -> f64 {
        let key = self.key(subset);
        // A poisoned lock only means another thread panicked mid-insert of a plain f64.
        let cached = match self.cache.read() {
            Ok(map) => map.get(&key).copied(),
            Err(poisoned) => poisoned.into_inner().get(&key).copied(),
        };
        if let Some(value) = cached {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return value;
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let value = self.inner.eval(subset);
        match self.cache.write() {
            Ok(mut map) => map.insert(key, value),
            Err(poisoned) => poisoned.into_inner().insert(key, value),
        };
        value
    }
    fn take_failure(&self) -> Option<ValueError> {
        self.inner.take_failure()
    }
}

/// Where a utility keeps the first error of its evaluations until
/// [`Utility::take_failure`] takes it; later errors are dropped (the first one is the cause).
#[derive(Debug, Default)]
pub struct FirstFailure(Mutex<Option<ValueError>>);

impl FirstFailure {
    /// Keeps `error` unless an earlier one is kept.
    pub fn record(&self, error: impl Into<ValueError>) {
        // A poisoned lock only means another thread panicked while recording.
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.is_none() {
            *slot = Some(error.into());
        }
    }

    /// The kept error, taken.
    pub fn take(&self) -> Option<ValueError> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }
}

/// The members of bitmask `mask`, ascending.
pub(crate) fn members(mask: u64, out: &mut Vec<usize>) {
    out.clear();
    let mut rest = mask;
    while rest != 0 {
        out.push(rest.trailing_zeros() as usize);
        rest &= rest - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_answers_repeats_in_any_order() {
        let calls = AtomicU64::new(0);
        let game = FnUtility::new("sum", 70, |s: &[usize]| {
            calls.fetch_add(1, Ordering::Relaxed);
            s.iter().sum::<usize>() as f64
        });
        let cached = CachedUtility::new(&game);
        assert_eq!(cached.eval(&[3, 65, 1]), 69.0);
        assert_eq!(cached.eval(&[65, 1, 3]), 69.0);
        assert_eq!(cached.eval(&[1, 3]), 4.0);
        assert_eq!((cached.hits(), cached.misses()), (1, 2));
        assert_eq!(calls.load(Ordering::Relaxed), 2);
    }

    /// A game whose evaluation fails on subsets with player 2: it records the error.
    struct Failing(FirstFailure);

    impl Utility for Failing {
        fn name(&self) -> String {
            "failing".into()
        }
        fn n_players(&self) -> usize {
            3
        }
        fn eval(&self, subset: &[usize]) -> f64 {
            if subset.contains(&2) {
                self.0
                    .record(ValueError::Empty("player 2 cannot be fitted".into()));
                return f64::NAN;
            }
            subset.len() as f64
        }
        fn take_failure(&self) -> Option<ValueError> {
            self.0.take()
        }
    }

    #[test]
    fn a_failed_evaluation_is_the_error_of_every_method() {
        use crate::{value_players, Convergence, Method, ValueConfig};
        let game = Failing(FirstFailure::default());
        let config = ValueConfig {
            seed: 1,
            convergence: Convergence::fixed(4),
        };
        for method in [
            Method::LeaveOneOut,
            Method::ExactShapley,
            Method::TmcShapley { truncation: 0.0 },
            Method::MsrBanzhaf,
        ] {
            let result = value_players(&CachedUtility::new(&game), &method, &config, &|_, _| {});
            match result {
                Err(ValueError::Empty(why)) => assert!(why.contains("player 2"), "{why}"),
                other => panic!("{method:?}: expected the evaluation's error, got {other:?}"),
            }
            // Taken: the next run starts clean.
            assert!(game.take_failure().is_none());
        }
    }

    #[test]
    fn members_lists_bits() {
        let mut out = Vec::new();
        members(0b1011_0000_0001, &mut out);
        assert_eq!(out, vec![0, 8, 9, 11]);
    }
}
