use crate::{Dataset, ItemIdx, UserIdx};

/// A user-by-item matrix of implicit feedback in compressed sparse rows (CSR).
///
/// Row `u` lists the items user `u` interacted with, sorted by item index, each once, with a
/// weight (the number of events, or a rating). This is what collaborative-filtering models fit on.
#[derive(Debug, Clone, PartialEq)]
pub struct Interactions {
    n_users: usize,
    n_items: usize,
    indptr: Vec<usize>,
    indices: Vec<ItemIdx>,
    weights: Vec<f32>,
}

impl Interactions {
    /// Builds the matrix from `(user, item, weight)` triples; duplicates are summed.
    ///
    /// # Panics
    /// When a user or item index is out of range: that is a bug in the caller.
    pub fn from_triples(
        n_users: usize,
        n_items: usize,
        triples: impl IntoIterator<Item = (UserIdx, ItemIdx, f32)>,
    ) -> Interactions {
        let mut rows: Vec<Vec<(ItemIdx, f32)>> = vec![Vec::new(); n_users];
        for (user, item, weight) in triples {
            assert!((item as usize) < n_items, "item index {item} out of range");
            rows[user as usize].push((item, weight));
        }
        let mut indptr = Vec::with_capacity(n_users + 1);
        let mut indices = Vec::new();
        let mut weights = Vec::new();
        indptr.push(0);
        for mut row in rows {
            row.sort_by_key(|&(item, _)| item);
            for (item, weight) in row {
                if indices.len() > *indptr.last().unwrap_or(&0) && indices.last() == Some(&item) {
                    *weights.last_mut().expect("weights follow indices") += weight;
                } else {
                    indices.push(item);
                    weights.push(weight);
                }
            }
            indptr.push(indices.len());
        }
        Interactions {
            n_users,
            n_items,
            indptr,
            indices,
            weights,
        }
    }

    /// The binary interactions of the events at `rows` of `data`: weight 1 per (user, item) pair.
    pub fn from_events(data: &Dataset, rows: &[u32]) -> Interactions {
        let mut matrix = Interactions::from_triples(
            data.users.len(),
            data.items.len(),
            rows.iter().map(|&e| {
                (
                    data.events.user[e as usize],
                    data.events.item[e as usize],
                    1.0,
                )
            }),
        );
        matrix.weights.iter_mut().for_each(|w| *w = 1.0);
        matrix
    }

    /// Number of users (rows).
    pub fn n_users(&self) -> usize {
        self.n_users
    }

    /// Number of items (columns).
    pub fn n_items(&self) -> usize {
        self.n_items
    }

    /// Number of stored (user, item) pairs.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// The items of user `user`, sorted ascending.
    pub fn items_of(&self, user: UserIdx) -> &[ItemIdx] {
        let u = user as usize;
        &self.indices[self.indptr[u]..self.indptr[u + 1]]
    }

    /// The weights of user `user`, aligned with [`Interactions::items_of`].
    pub fn weights_of(&self, user: UserIdx) -> &[f32] {
        let u = user as usize;
        &self.weights[self.indptr[u]..self.indptr[u + 1]]
    }

    /// Row offsets: user `u`'s entries are `indptr()[u]..indptr()[u + 1]`.
    pub fn indptr(&self) -> &[usize] {
        &self.indptr
    }

    /// Item index of each stored entry.
    pub fn indices(&self) -> &[ItemIdx] {
        &self.indices
    }

    /// Weight of each stored entry.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// The transpose: item-by-user.
    pub fn transpose(&self) -> Interactions {
        let triples = (0..self.n_users).flat_map(|u| {
            let range = self.indptr[u]..self.indptr[u + 1];
            range.map(move |k| (self.indices[k], u as u32, self.weights[k]))
        });
        Interactions::from_triples(self.n_items, self.n_users, triples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_summed_and_rows_sorted() {
        let m =
            Interactions::from_triples(2, 3, [(0, 2, 1.0), (0, 0, 1.0), (0, 2, 2.0), (1, 1, 5.0)]);
        assert_eq!(m.items_of(0), &[0, 2]);
        assert_eq!(m.weights_of(0), &[1.0, 3.0]);
        assert_eq!(m.items_of(1), &[1]);
        assert_eq!(m.nnz(), 3);
        let t = m.transpose();
        assert_eq!(t.items_of(2), &[0]);
        assert_eq!(t.weights_of(2), &[3.0]);
        assert_eq!(t.transpose(), m);
    }
}
