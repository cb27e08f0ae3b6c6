use rustc_hash::FxHashMap;

/// A two-way map between external string ids and dense `u32` indices.
///
/// Indices are handed out in first-seen order, so the same input order gives the same indices.
/// The lookup table uses FxHash: ids are looked up once per imported row, and SipHash was about
/// a third of import time; the map is never iterated, so its order cannot leak into output.
#[derive(Debug, Clone, Default)]
pub struct IdMap {
    names: Vec<String>,
    index: FxHashMap<String, u32>,
}

impl IdMap {
    /// The index of `name`, adding it if it is new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&idx) = self.index.get(name) {
            return idx;
        }
        let idx = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), idx);
        idx
    }

    /// Adds `name` and returns its index, or `None` when it is already present.
    pub fn insert_new(&mut self, name: &str) -> Option<u32> {
        if self.index.contains_key(name) {
            return None;
        }
        Some(self.intern(name))
    }

    /// The index of `name`, if known.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// The external id of index `idx`.
    ///
    /// # Panics
    /// When `idx` was not handed out by this map.
    pub fn name(&self, idx: u32) -> &str {
        &self.names[idx as usize]
    }

    /// All external ids, in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when no id was added.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

impl FromIterator<String> for IdMap {
    fn from_iter<T: IntoIterator<Item = String>>(iter: T) -> Self {
        let mut map = IdMap::default();
        for name in iter {
            map.intern(&name);
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_first_seen_order_and_idempotent() {
        let mut map = IdMap::default();
        assert_eq!(map.intern("b"), 0);
        assert_eq!(map.intern("a"), 1);
        assert_eq!(map.intern("b"), 0);
        assert_eq!(map.insert_new("a"), None);
        assert_eq!(map.insert_new("c"), Some(2));
        assert_eq!(map.name(1), "a");
        assert_eq!(map.get("zz"), None);
        assert_eq!(map.len(), 3);
    }
}
