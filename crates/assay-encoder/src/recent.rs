//! An in-memory cache of the vectors of recent texts in front of any [`Encoder`]: a service's
//! search queries repeat (a shop's most frequent queries make most of its traffic), and a query
//! vector costs a forward pass of the model while a lookup costs a hash.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::{Encoder, Result};

/// Vectors by text.
type Generation = HashMap<String, Vec<f32>>;

/// Keeps the vectors of about the last `capacity` distinct texts, in two generations: a text
/// found in the older one moves to the newer, and when the newer holds half the capacity the
/// older is dropped. Every lookup and insert is constant time, memory stays under `capacity`
/// vectors, and a text used again within the last `capacity / 2` distinct texts is always
/// found. Vectors are the inner encoder's, bit for bit.
pub struct RecentTexts<E> {
    inner: E,
    half: usize,
    generations: Mutex<(Generation, Generation)>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<E> std::fmt::Debug for RecentTexts<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecentTexts")
            .field("capacity", &(self.half * 2))
            .field("hits", &self.hits.load(Ordering::Relaxed))
            .field("misses", &self.misses.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<E: Encoder> RecentTexts<E> {
    /// `inner` behind a cache of about `capacity` texts (at least 2).
    pub fn new(inner: E, capacity: usize) -> RecentTexts<E> {
        RecentTexts {
            inner,
            half: (capacity / 2).max(1),
            generations: Mutex::new((HashMap::new(), HashMap::new())),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Texts answered from the cache, and texts the inner encoder encoded.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    fn lookup(&self, text: &str) -> Option<Vec<f32>> {
        let mut guard = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        let (newer, older) = &mut *guard;
        if let Some(v) = newer.get(text) {
            return Some(v.clone());
        }
        let v = older.remove(text)?;
        self.keep(newer, older, text, v.clone());
        Some(v)
    }

    fn keep(&self, newer: &mut Generation, older: &mut Generation, text: &str, vector: Vec<f32>) {
        if newer.len() >= self.half {
            *older = std::mem::take(newer);
        }
        newer.insert(text.to_owned(), vector);
    }
}

impl<E: Encoder> Encoder for RecentTexts<E> {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn unknown_share(&self, text: &str) -> Option<f32> {
        self.inner.unknown_share(text)
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let mut out: Vec<Option<Vec<f32>>> = texts.iter().map(|t| self.lookup(t)).collect();
        let missing: Vec<&str> = texts
            .iter()
            .zip(&out)
            .filter(|(_, v)| v.is_none())
            .map(|(t, _)| *t)
            .collect();
        let hits = (texts.len() - missing.len()) as u64;
        self.hits.fetch_add(hits, Ordering::Relaxed);
        self.misses
            .fetch_add(missing.len() as u64, Ordering::Relaxed);
        if !missing.is_empty() {
            let mut fresh = self.inner.encode(&missing)?.into_iter();
            let mut guard = self.generations.lock().unwrap_or_else(|p| p.into_inner());
            let (newer, older) = &mut *guard;
            for (slot, text) in out.iter_mut().zip(texts) {
                if slot.is_none() {
                    let v = fresh.next().unwrap_or_default();
                    self.keep(newer, older, text, v.clone());
                    *slot = Some(v);
                }
            }
        }
        Ok(out.into_iter().map(Option::unwrap_or_default).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HashEncoder;

    #[test]
    fn cached_vectors_are_the_encoders_and_the_cache_stays_bounded() {
        let inner = HashEncoder::new(32);
        let cache = RecentTexts::new(HashEncoder::new(32), 4);
        let texts = ["red dress", "blue shoes", "red dress", "green hat"];
        let got = cache.encode(&texts).unwrap();
        assert_eq!(got, inner.encode(&texts).unwrap());
        // Within one batch the repeat is encoded again (it was not cached yet); then found.
        assert_eq!(cache.counts(), (0, 4));
        assert_eq!(cache.encode_one("red dress").unwrap(), got[0]);
        assert_eq!(cache.counts(), (1, 4));
        // Capacity 4 keeps two generations of two: after four new texts the first is gone.
        for t in ["a", "b", "c", "d"] {
            cache.encode_one(t).unwrap();
        }
        let generations = cache.generations.lock().unwrap();
        assert!(generations.0.len() + generations.1.len() <= 4);
        assert!(
            !generations.0.contains_key("red dress") && !generations.1.contains_key("red dress")
        );
        drop(generations);
        // A text used within the last two distinct texts is always found.
        cache.encode_one("d").unwrap();
        cache.encode_one("c").unwrap();
        assert_eq!(cache.counts(), (3, 8));
    }
}
