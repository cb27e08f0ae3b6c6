use assay_core::{Interactions, ItemIdx, UserIdx};

use crate::store::{ModelFile, Tensors};
use crate::Result;

/// The training items of every user, as a compact CSR copy (no weights).
///
/// Every fitted model owns one: it is what top-K lists exclude and what history-based models
/// score from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    n_items: usize,
    indptr: Vec<u64>,
    indices: Vec<ItemIdx>,
}

impl History {
    /// The items of each row of `train`.
    pub fn of(train: &Interactions) -> History {
        History {
            n_items: train.n_items(),
            indptr: train.indptr().iter().map(|&p| p as u64).collect(),
            indices: train.indices().to_vec(),
        }
    }

    /// Number of users.
    pub fn n_users(&self) -> usize {
        self.indptr.len() - 1
    }

    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.n_items
    }

    /// The training items of `user`, sorted ascending.
    ///
    /// # Panics
    /// When `user` is out of range.
    pub fn items_of(&self, user: UserIdx) -> &[ItemIdx] {
        let u = user as usize;
        &self.indices[self.indptr[u] as usize..self.indptr[u + 1] as usize]
    }

    pub(crate) fn save(&self, tensors: &mut Tensors) {
        tensors.u64("history.indptr", &self.indptr);
        tensors.u32("history.indices", &self.indices);
        tensors.u64("history.n_items", &[self.n_items as u64]);
    }

    pub(crate) fn load(file: &ModelFile) -> Result<History> {
        let indptr = file.u64("history.indptr")?;
        let indices = file.u32("history.indices")?;
        let n_items = file.u64("history.n_items")?;
        let n_items = *n_items
            .first()
            .ok_or_else(|| file.error("history.n_items is empty"))? as usize;
        let consistent = !indptr.is_empty()
            && indptr[0] == 0
            && indptr.windows(2).all(|w| w[0] <= w[1])
            && indptr.last().copied() == Some(indices.len() as u64)
            && indices.iter().all(|&i| (i as usize) < n_items);
        if !consistent {
            return Err(file.error("history arrays are inconsistent"));
        }
        Ok(History {
            n_items,
            indptr,
            indices,
        })
    }
}
