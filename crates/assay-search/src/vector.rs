//! Nearest neighbours over unit-length vectors: exact scan below a size threshold, HNSW above.

use std::io::Read;
use std::path::Path;

use assay_encoder::l2_normalize;
use hnsw_rs::anndists::dist::DistDot;
use hnsw_rs::filter::FilterT;
use hnsw_rs::hnsw::Hnsw;
use rayon::prelude::*;

use crate::fusion::{Ranked, RetrievalQuery, Retriever};
use crate::{Result, SearchError};
pub(crate) use assay_core::math::dot;

/// HNSW construction and search parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HnswParams {
    /// Neighbours kept per node and layer (M).
    pub max_connections: usize,
    /// Candidate list size while building.
    pub ef_construction: usize,
    /// Candidate list size while searching (raised to k when smaller).
    pub ef_search: usize,
    /// Below this many vectors the index scans exactly and builds no graph.
    pub exact_below: usize,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            // M = 32 and ef_construction = 256 reach recall@10 >= 0.99 at ef_search 96 on
            // 100k product embeddings (M = 16 / 128: 0.957); see bench/search/README.md.
            max_connections: 32,
            ef_construction: 256,
            ef_search: 96,
            exact_below: 20_000,
        }
    }
}

/// The `k` rows of `data` (row-major, `dim` wide) with the largest dot product with `query`,
/// among rows where `keep(row)` holds: (row, dot), best first, ties by lower row.
pub fn exact_top_k(
    data: &[f32],
    dim: usize,
    query: &[f32],
    k: usize,
    keep: &(dyn Fn(usize) -> bool + Sync),
) -> Vec<(usize, f32)> {
    if dim == 0 || k == 0 {
        return Vec::new();
    }
    let rows = data.len() / dim;
    let chunk = 4096;
    let mut all: Vec<(usize, f32)> = (0..rows.div_ceil(chunk))
        .into_par_iter()
        .flat_map_iter(|c| {
            let from = c * chunk;
            let to = (from + chunk).min(rows);
            let mut local: Vec<(usize, f32)> = (from..to)
                .filter(|&r| keep(r))
                .map(|r| (r, dot(&data[r * dim..(r + 1) * dim], query)))
                .collect();
            top(&mut local, k);
            local
        })
        .collect();
    top(&mut all, k);
    all
}

fn top(v: &mut Vec<(usize, f32)>, k: usize) {
    let cmp = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if v.len() > k {
        v.select_nth_unstable_by(k - 1, cmp);
        v.truncate(k);
    }
    v.sort_by(cmp);
}

/// Unit vectors (inputs are L2-normalised) addressed by document key. Updates append a new slot and retire the old one, so the
/// graph never needs a rebuild; deleted slots are filtered out of every search.
pub struct VectorIndex {
    dim: usize,
    data: Vec<f32>,
    keys: Vec<u64>,
    live: Vec<bool>,
    params: HnswParams,
    hnsw: Option<Hnsw<'static, f32, DistDot>>,
}

impl std::fmt::Debug for VectorIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorIndex")
            .field("dim", &self.dim)
            .field("slots", &self.keys.len())
            .field("hnsw", &self.hnsw.is_some())
            .finish()
    }
}

impl VectorIndex {
    /// An empty index of `dim`-wide vectors.
    pub fn new(dim: usize, params: HnswParams) -> VectorIndex {
        VectorIndex {
            dim,
            data: Vec::new(),
            keys: Vec::new(),
            live: Vec::new(),
            params,
            hnsw: None,
        }
    }

    /// Vector width.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of live vectors.
    pub fn len(&self) -> usize {
        self.live.iter().filter(|&&l| l).count()
    }

    /// True when no vector is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when searches go through the HNSW graph.
    pub fn uses_graph(&self) -> bool {
        self.hnsw.is_some()
    }

    fn check(&self, v: &[f32]) -> Result<()> {
        if v.len() != self.dim {
            return Err(SearchError::InvalidOption(format!(
                "vector has {} dimensions, the index {}",
                v.len(),
                self.dim
            )));
        }
        Ok(())
    }

    /// Adds many vectors at once (graph insertion in parallel when the graph exists or the
    /// threshold is crossed).
    pub fn extend(&mut self, items: &[(u64, Vec<f32>)]) -> Result<()> {
        for (_, v) in items {
            self.check(v)?;
        }
        let first = self.keys.len();
        for (key, v) in items {
            // The graph's dot-product distance requires unit vectors (it asserts dot <= 1).
            let mut v = v.clone();
            l2_normalize(&mut v);
            self.data.extend_from_slice(&v);
            self.keys.push(*key);
            self.live.push(true);
        }
        if let Some(h) = &self.hnsw {
            let rows: Vec<(&[f32], usize)> = (first..self.keys.len())
                .map(|s| (&self.data[s * self.dim..(s + 1) * self.dim], s))
                .collect();
            rows.iter().for_each(|&(v, s)| h.insert_slice((v, s)));
        } else if self.keys.len() >= self.params.exact_below {
            self.build_graph();
        }
        Ok(())
    }

    /// Adds or replaces the vector of `key` (one slot; old slots of the key retired).
    pub fn upsert(&mut self, key: u64, v: Vec<f32>) -> Result<()> {
        self.check(&v)?;
        self.delete(key);
        self.extend(&[(key, v)])
    }

    /// Retires every slot of `key`; returns whether one was live.
    pub fn delete(&mut self, key: u64) -> bool {
        let mut found = false;
        for (k, l) in self.keys.iter().zip(self.live.iter_mut()) {
            if *k == key && *l {
                *l = false;
                found = true;
            }
        }
        found
    }

    fn build_graph(&mut self) {
        let n = self.keys.len();
        let layers = 16;
        let h = Hnsw::<f32, DistDot>::new(
            self.params.max_connections,
            n.max(1024) * 2,
            layers,
            self.params.ef_construction,
            DistDot {},
        );
        let rows: Vec<(&[f32], usize)> = (0..n)
            .map(|s| (&self.data[s * self.dim..(s + 1) * self.dim], s))
            .collect();
        // One at a time, in slot order: with the graph's fixed level seed this gives the same
        // graph, and so the same neighbours, on every run. Parallel insertion was about twice
        // as fast on two cores but its graph (and recall) changed from run to run.
        rows.iter().for_each(|&(v, s)| h.insert_slice((v, s)));
        self.hnsw = Some(h);
    }

    /// The `k` live vectors most similar to `query` whose key passes `keep`: (key, cosine),
    /// best first. Exact below the threshold; through the graph above it, falling back to an
    /// exact scan when a selective filter leaves the graph search short of `k`.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        keep: &(dyn Fn(u64) -> bool + Sync),
    ) -> Result<Vec<(u64, f32)>> {
        self.check(query)?;
        let mut unit = query.to_vec();
        l2_normalize(&mut unit);
        let query = unit.as_slice();
        let ok = |slot: usize| self.live[slot] && keep(self.keys[slot]);
        let rows = match &self.hnsw {
            Some(h) => {
                let filter = |slot: &usize| ok(*slot);
                let ef = self.params.ef_search.max(k);
                let found = h.search_filter(query, k, ef, Some(&filter as &dyn FilterT));
                let mut rows: Vec<(usize, f32)> = found
                    .into_iter()
                    .filter(|n| ok(n.d_id))
                    .map(|n| {
                        (
                            n.d_id,
                            dot(
                                &self.data[n.d_id * self.dim..(n.d_id + 1) * self.dim],
                                query,
                            ),
                        )
                    })
                    .collect();
                let live = self.len();
                if rows.len() < k.min(live) {
                    rows = exact_top_k(&self.data, self.dim, query, k, &ok);
                } else {
                    top(&mut rows, k);
                }
                rows
            }
            None => exact_top_k(&self.data, self.dim, query, k, &ok),
        };
        Ok(rows.into_iter().map(|(s, d)| (self.keys[s], d)).collect())
    }

    /// Recall@`k` of [`VectorIndex::search`] against an exact scan over the live vectors,
    /// averaged over `queries`: the share of the `k` returned vectors whose cosine with the
    /// query is at least the exact `k`-th best cosine minus `tolerance`. With `tolerance` 0
    /// this is the share of the exact top-`k` found, where a vector tied with the `k`-th
    /// (say, a duplicate product text) counts as found; ann-benchmarks uses 1e-3.
    pub fn recall(&self, queries: &[Vec<f32>], k: usize, tolerance: f32) -> Result<f64> {
        if queries.is_empty() || k == 0 {
            return Ok(1.0);
        }
        let mut found = 0usize;
        let mut total = 0usize;
        for q in queries {
            let approx = self.search(q, k, &|_| true)?;
            let mut unit = q.clone();
            l2_normalize(&mut unit);
            let exact = exact_top_k(&self.data, self.dim, &unit, k, &|s| self.live[s]);
            let Some(&(_, kth)) = exact.last() else {
                continue;
            };
            total += exact.len();
            found += approx
                .iter()
                .take(exact.len())
                .filter(|(_, cos)| *cos >= kth - tolerance)
                .count();
        }
        Ok(found as f64 / total.max(1) as f64)
    }

    /// Sets the candidate list size of graph searches (recall against speed).
    pub fn set_ef_search(&mut self, ef: usize) {
        self.params.ef_search = ef.max(1);
    }

    /// The live vector of `key`.
    pub fn get(&self, key: u64) -> Option<&[f32]> {
        let slot = (0..self.keys.len())
            .rev()
            .find(|&s| self.keys[s] == key && self.live[s])?;
        Some(&self.data[slot * self.dim..(slot + 1) * self.dim])
    }

    /// Writes the live vectors to `path` (dim, count, then key + vector per row), via a
    /// temporary file renamed into place.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut out = Vec::with_capacity(16 + self.len() * (8 + 4 * self.dim));
        out.extend_from_slice(&(self.dim as u64).to_le_bytes());
        out.extend_from_slice(&(self.len() as u64).to_le_bytes());
        for (s, key) in self.keys.iter().enumerate() {
            if !self.live[s] {
                continue;
            }
            out.extend_from_slice(&key.to_le_bytes());
            for x in &self.data[s * self.dim..(s + 1) * self.dim] {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        assay_fetch::write_atomically(path, |w| w.write_all(&out)).map_err(SearchError::io(path))
    }

    /// Reads vectors written by [`VectorIndex::save`] and rebuilds the graph when large enough.
    pub fn load(path: &Path, params: HnswParams) -> Result<VectorIndex> {
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(SearchError::io(path))?;
        let bad = |reason: &str| SearchError::Format {
            path: path.to_owned(),
            line: 0,
            reason: reason.to_owned(),
        };
        if bytes.len() < 16 {
            return Err(bad("truncated header"));
        }
        let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap_or([0; 8]));
        let dim = u64_at(0) as usize;
        let count = u64_at(8) as usize;
        let row = 8 + 4 * dim;
        if dim == 0 || bytes.len() != 16 + count * row {
            return Err(bad("size does not match header"));
        }
        let mut items = Vec::with_capacity(count);
        for r in 0..count {
            let o = 16 + r * row;
            let v = bytes[o + 8..o + row]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            items.push((u64_at(o), v));
        }
        let mut index = VectorIndex::new(dim, params);
        index.extend(&items)?;
        Ok(index)
    }
}

impl Retriever for VectorIndex {
    /// The nearest vectors to the query's embedding that pass its filters; nothing without an
    /// embedding.
    fn retrieve(&self, query: &RetrievalQuery<'_>, depth: usize) -> Result<Ranked> {
        match query.vector {
            Some(v) => self.search(v, depth, query.keep),
            None => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn exact_search_update_delete_and_roundtrip() {
        let mut idx = VectorIndex::new(2, HnswParams::default());
        idx.extend(&[
            (10, unit(&[1.0, 0.0])),
            (11, unit(&[0.0, 1.0])),
            (12, unit(&[1.0, 1.0])),
        ])
        .unwrap();
        let q = unit(&[1.0, 0.2]);
        let got = idx.search(&q, 3, &|_| true).unwrap();
        let keys: Vec<u64> = got.iter().map(|g| g.0).collect();
        assert_eq!(keys, vec![10, 12, 11]);
        // cos([1,0.2],[1,0]) = 1/sqrt(1.04)
        assert!((got[0].1 - 1.0 / 1.04f32.sqrt()).abs() < 1e-6);
        idx.upsert(10, unit(&[0.0, 1.0])).unwrap();
        idx.delete(11);
        let keys: Vec<u64> = idx
            .search(&q, 3, &|_| true)
            .unwrap()
            .iter()
            .map(|g| g.0)
            .collect();
        assert_eq!(keys, vec![12, 10]);
        let filtered = idx.search(&q, 3, &|k| k != 12).unwrap();
        assert_eq!(filtered.len(), 1);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.bin");
        idx.save(&path).unwrap();
        let back = VectorIndex::load(&path, HnswParams::default()).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back.get(10), idx.get(10));
        assert!(idx.upsert(1, vec![1.0]).is_err());
    }

    /// Clustered unit vectors like sentence embeddings: centre + noise.
    fn clustered(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        let centres: Vec<Vec<f32>> = (0..200)
            .map(|_| (0..dim).map(|_| next()).collect())
            .collect();
        (0..n)
            .map(|i| {
                let c = &centres[i % centres.len()];
                unit(&c.iter().map(|x| x + 0.6 * next()).collect::<Vec<_>>())
            })
            .collect()
    }

    fn recall_at_10(n: usize, dim: usize) -> f64 {
        let data = clustered(n, dim, 7);
        let mut idx = VectorIndex::new(
            dim,
            HnswParams {
                exact_below: 1000,
                ..HnswParams::default()
            },
        );
        let items: Vec<(u64, Vec<f32>)> = data
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i as u64, v))
            .collect();
        idx.extend(&items).unwrap();
        assert!(idx.uses_graph());
        idx.recall(&clustered(200, dim, 99), 10, 0.0).unwrap()
    }

    #[test]
    fn hnsw_recall_small() {
        let r = recall_at_10(5_000, 32);
        assert!(r >= 0.98, "recall@10 {r}");
    }

    /// Two graphs built from the same vectors answer every query with the same keys and the
    /// same score bits. A small search list (ef 10) makes answers depend on the graph's shape.
    #[test]
    fn the_same_vectors_build_the_same_graph() {
        let items: Vec<(u64, Vec<f32>)> = clustered(4_000, 16, 3)
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i as u64, v))
            .collect();
        let params = HnswParams {
            exact_below: 100,
            ef_search: 10,
            max_connections: 8,
            ef_construction: 32,
        };
        let answers = || {
            let mut idx = VectorIndex::new(16, params);
            idx.extend(&items).unwrap();
            assert!(idx.uses_graph());
            clustered(100, 16, 11)
                .iter()
                .flat_map(|q| idx.search(q, 10, &|_| true).unwrap())
                .map(|(key, score)| (key, score.to_bits()))
                .collect::<Vec<_>>()
        };
        let first = answers();
        assert_eq!(first.len(), 1000);
        for run in 0..3 {
            let again = answers();
            let differ = first.iter().zip(&again).filter(|(a, b)| a != b).count();
            assert_eq!(differ, 0, "run {run}: {differ} of 1000 answers differ");
        }
    }

    /// recall@10 >= 0.98 on 100k x 384; slow, run with ASSAY_SLOW_TESTS=1 (release advised).
    #[test]
    fn hnsw_recall_100k() {
        if !assay_fetch::samples::slow_tests_enabled() {
            return;
        }
        let r = recall_at_10(100_000, 384);
        eprintln!("recall@10 on 100k x 384: {r}");
        assert!(r >= 0.98, "recall@10 {r}");
    }
}
