//! Exact KNN-Shapley (Jia et al., PVLDB 2019) and the KNN utility it is exact for.
//!
//! The utility of a set `S` of training points for one test point `(x, y)` is the K-nearest-
//! neighbour classifier's likelihood of the right label: `U(S) = (1/K) Σ_{j ≤ min(K, |S|)}
//! 1[y_{α_j(S)} = y]`, where `α_j(S)` is the j-th nearest point of `S` to `x`. Note the
//! denominator is `K`, not `min(K, |S|)`: that is the paper's (and pyDVL's) utility, and what
//! makes the closed form hold. Over a test set the utility, and so the values, are averaged.
//!
//! With the training points sorted by distance to `x`, `α_1` nearest, the Shapley values are
//! (Theorem 1 of the paper): `s_{α_N} = 1[y_{α_N} = y] / N` (`/ max(K, N)` in general; the
//! paper assumes `K <= N`) and, going inwards,
//! `s_{α_i} = s_{α_{i+1}} + (1[y_{α_i} = y] − 1[y_{α_{i+1}} = y]) / K · min(K, i) / i`.
//! One sort per test point: O(N log N).
//!
//! Ties in distance are broken by training row index (the lower row counts as nearer),
//! which is what a stable sort by distance gives.

use std::path::Path;

use rayon::prelude::*;

use crate::{LabelledTable, PlayerValue, Result, Utility, ValueError, Values};

/// Test points per parallel chunk. Fixed, so the summation order, and so the output bytes,
/// do not depend on the number of threads.
const CHUNK: usize = 32;

/// Exact Shapley values of every training row for the KNN utility, averaged over test rows.
pub fn knn_shapley(train: &LabelledTable, test: &LabelledTable, k: usize) -> Result<Values> {
    check(train, test, k)?;
    let n = train.len();
    let columns = Columns::of(train);
    let test_rows: Vec<usize> = (0..test.len()).collect();
    let mut values = vec![0.0; n];
    // Each chunk's sums are a training-sized vector: chunks run in waves of a few per thread,
    // added to `values` in chunk order (the bits do not depend on the wave size), so memory
    // does not grow with the number of test rows.
    let wave = CHUNK * 4 * rayon::current_num_threads().max(1);
    for rows in test_rows.chunks(wave) {
        let chunk_sums: Vec<Vec<f64>> = rows
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut sum = vec![0.0; n];
                let mut order: Vec<(u64, u32)> = Vec::with_capacity(n);
                let mut scratch: Vec<(u64, u32)> = Vec::with_capacity(n);
                let mut distances = vec![0.0; n];
                for &t in chunk {
                    columns.distances(test.row(t), &mut distances);
                    order.clear();
                    order.extend(
                        distances
                            .iter()
                            .enumerate()
                            .map(|(r, d)| (d.to_bits(), r as u32)),
                    );
                    crate::radix::sort_by_key(&mut order, &mut scratch);
                    add_one_test_point(train, test.labels[t], k, &order, &mut sum);
                }
                sum
            })
            .collect();
        for sum in chunk_sums {
            values.iter_mut().zip(sum).for_each(|(v, s)| *v += s);
        }
    }
    let m = test.len() as f64;
    values.iter_mut().for_each(|v| *v /= m);
    Ok(Values {
        method: "knn-shapley".into(),
        utility: format!("knn(k={k}) likelihood of the test label"),
        players: values
            .into_iter()
            .enumerate()
            .map(|(player, value)| PlayerValue {
                player,
                name: player.to_string(),
                value,
                std_error: 0.0,
                n_evals: test.len() as u64,
                converged: true,
            })
            .collect(),
        utility_evals: 0,
        sum_std_error: 0.0,
    })
}

/// Reads two labelled CSV files (features..., label; see [`LabelledTable::read_csv`]) and
/// values the training rows with [`knn_shapley`]. Player names are the 1-based data row
/// numbers of the training file.
pub fn knn_shapley_csv(train: &Path, test: &Path, label: &str, k: usize) -> Result<Values> {
    let train_table = LabelledTable::read_csv(train, label)?;
    let test_table = train_table.read_csv_like(test, label)?;
    let mut values = knn_shapley(&train_table, &test_table, k)?;
    for row in &mut values.players {
        row.name = format!("row {}", row.player + 1);
    }
    Ok(values)
}

fn check(train: &LabelledTable, test: &LabelledTable, k: usize) -> Result<()> {
    if k == 0 {
        return crate::error::param("k", k, "must be at least 1");
    }
    if train.is_empty() || test.is_empty() {
        return Err(ValueError::Empty(
            "KNN-Shapley needs training and test rows".into(),
        ));
    }
    if train.dim() != test.dim() {
        return crate::error::param(
            "test features",
            test.dim(),
            "must match the training features",
        );
    }
    Ok(())
}

/// The training features column by column, so that squared distances to one test point are
/// computed for many rows at once (vectorised across rows) while each row's sum still adds
/// its features in order: the same bits as [`sorted_neighbours`] row by row.
struct Columns {
    rows: usize,
    columns: Vec<f64>,
}

impl Columns {
    fn of(table: &LabelledTable) -> Columns {
        let (rows, dim) = (table.len(), table.dim());
        let mut columns = vec![0.0; rows * dim];
        for r in 0..rows {
            for (f, &x) in table.row(r).iter().enumerate() {
                columns[f * rows + r] = x;
            }
        }
        Columns { rows, columns }
    }

    /// `out[r] = Σ_f (train[r][f] − x[f])²`, features added in order.
    fn distances(&self, x: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        for (f, &xf) in x.iter().enumerate() {
            let column = &self.columns[f * self.rows..(f + 1) * self.rows];
            for (d, &a) in out.iter_mut().zip(column) {
                *d += (a - xf) * (a - xf);
            }
        }
    }
}

/// Training rows sorted by squared Euclidean distance to `x`, ties by row index.
///
/// Sorted as `(distance bits, row)` integer pairs: a squared distance is a non-negative float
/// (never -0.0, never NaN for finite input), whose bit pattern orders like its value, so a
/// radix sort on the bits ([`crate::radix`]) sorts by distance in linear time, stably.
fn sorted_neighbours(
    train: &LabelledTable,
    x: &[f64],
    order: &mut Vec<(u64, u32)>,
    scratch: &mut Vec<(u64, u32)>,
) {
    order.clear();
    order.extend((0..train.len()).map(|r| {
        let d: f64 = train
            .row(r)
            .iter()
            .zip(x)
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        (d.to_bits(), r as u32)
    }));
    crate::radix::sort_by_key(order, scratch);
}

/// Adds one test point's exact values (the recursion of Theorem 1) into `values`.
fn add_one_test_point(
    train: &LabelledTable,
    label: u32,
    k: usize,
    order: &[(u64, u32)],
    values: &mut [f64],
) {
    let n = order.len();
    let hit = |pos: usize| (train.labels[order[pos].1 as usize] == label) as u8 as f64;
    // The farthest point adds `hit/K` exactly when fewer than K points precede it, at
    // min(K, N) of its N equally likely positions: hit / max(K, N). The paper (and pyDVL)
    // write hit / N, which is the same for K <= N and wrong for K > N.
    let mut s = hit(n - 1) / k.max(n) as f64;
    values[order[n - 1].1 as usize] += s;
    // Position `pos` (0-based) is rank i = pos + 1.
    for pos in (0..n - 1).rev() {
        let i = pos + 1;
        // 1/max(K, i) = (1/K)·min(K, i)/i, written as pyDVL writes it (one rounding).
        s += (hit(pos) - hit(pos + 1)) / k.max(i) as f64;
        values[order[pos].1 as usize] += s;
    }
}

/// The KNN utility itself, as a [`Utility`] over training rows: for brute-force checks and for
/// the generic methods (LOO, TMC, Banzhaf) on a KNN model.
pub struct KnnUtility<'a> {
    train: &'a LabelledTable,
    test: &'a LabelledTable,
    k: usize,
    /// Per test point, training rows by rank.
    ranks: Vec<Vec<u32>>,
}

impl<'a> KnnUtility<'a> {
    /// The utility of subsets of `train`'s rows, averaged over `test`'s rows.
    pub fn new(train: &'a LabelledTable, test: &'a LabelledTable, k: usize) -> Result<Self> {
        check(train, test, k)?;
        let (mut order, mut scratch) = (Vec::new(), Vec::new());
        let ranks = (0..test.len())
            .map(|t| {
                sorted_neighbours(train, test.row(t), &mut order, &mut scratch);
                order.iter().map(|&(_, r)| r).collect()
            })
            .collect();
        Ok(KnnUtility {
            train,
            test,
            k,
            ranks,
        })
    }
}

impl Utility for KnnUtility<'_> {
    fn name(&self) -> String {
        format!("knn(k={}) likelihood of the test label", self.k)
    }

    fn n_players(&self) -> usize {
        self.train.len()
    }

    fn eval(&self, subset: &[usize]) -> f64 {
        let mut member = vec![false; self.train.len()];
        subset.iter().for_each(|&p| member[p] = true);
        let mut total = 0.0;
        for (t, ranked) in self.ranks.iter().enumerate() {
            let hits = ranked
                .iter()
                .filter(|&&r| member[r as usize])
                .take(self.k)
                .filter(|&&r| self.train.labels[r as usize] == self.test.labels[t])
                .count();
            total += hits as f64 / self.k as f64;
        }
        total / self.test.len() as f64
    }
}
