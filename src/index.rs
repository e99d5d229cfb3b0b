//! A small hash index, for the client's flights (by URL) and waits (by payment method or id):
//! entries found by the FNV-1a hash of a text key, several entries per key allowed, the caller
//! comparing the full key of what it finds. Far less code in the module than a `BTreeMap` per
//! value type, and a lookup hashes the key once instead of comparing long URLs at every level.

use alloc::vec::Vec;

/// FNV-1a, 64 bits.
pub fn key_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Entries by key hash, in buckets that double as it fills and halve as it empties (so a burst
/// of ten thousand waits does not leave ten thousand buckets behind).
pub struct Index<V> {
    buckets: Vec<Vec<(u64, V)>>,
    len: usize,
}

impl<V> Default for Index<V> {
    fn default() -> Index<V> {
        Index::new()
    }
}

impl<V> Index<V> {
    /// An empty index.
    pub const fn new() -> Index<V> {
        Index {
            buckets: Vec::new(),
            len: 0,
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn bucket(&self, hash: u64) -> usize {
        (hash as usize) & (self.buckets.len() - 1)
    }

    /// The entries under `hash` (others with the same hash included: compare the full key).
    pub fn get(&self, hash: u64) -> impl Iterator<Item = &V> {
        let bucket = if self.buckets.is_empty() {
            &[][..]
        } else {
            &self.buckets[self.bucket(hash)][..]
        };
        bucket
            .iter()
            .filter(move |(h, _)| *h == hash)
            .map(|(_, v)| v)
    }

    /// Every entry.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.buckets.iter().flatten().map(|(_, v)| v)
    }

    /// Adds an entry under `hash`.
    pub fn insert(&mut self, hash: u64, value: V) {
        if self.len >= self.buckets.len() * 2 {
            self.resize((self.buckets.len() * 2).max(8));
        }
        let bucket = self.bucket(hash);
        self.buckets[bucket].push((hash, value));
        self.len += 1;
    }

    /// Removes the first entry under `hash` that `matches`; returns it.
    pub fn remove(&mut self, hash: u64, matches: impl Fn(&V) -> bool) -> Option<V> {
        if self.buckets.is_empty() {
            return None;
        }
        let bucket = self.bucket(hash);
        let list = &mut self.buckets[bucket];
        let position = list.iter().position(|(h, v)| *h == hash && matches(v))?;
        let (_, value) = list.swap_remove(position);
        self.len -= 1;
        if self.buckets.len() > 8 && self.len * 8 < self.buckets.len() {
            self.resize(self.buckets.len() / 2);
        }
        Some(value)
    }

    fn resize(&mut self, buckets: usize) {
        let old = core::mem::take(&mut self.buckets);
        self.buckets = (0..buckets).map(|_| Vec::new()).collect();
        for (hash, value) in old.into_iter().flatten() {
            let bucket = self.bucket(hash);
            self.buckets[bucket].push((hash, value));
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn entries_are_found_by_hash_and_removed_by_match() {
        let mut index = Index::new();
        for i in 0..1000u32 {
            index.insert(key_hash(&i.to_string()), i);
        }
        index.insert(key_hash("7"), 7000);
        assert_eq!(index.len(), 1001);
        let mut sevens: Vec<u32> = index.get(key_hash("7")).copied().collect();
        sevens.sort();
        assert_eq!(sevens, [7, 7000]);
        assert_eq!(index.remove(key_hash("7"), |v| *v == 7000), Some(7000));
        assert_eq!(index.remove(key_hash("7"), |v| *v == 7000), None);
        for i in 0..1000u32 {
            assert_eq!(index.remove(key_hash(&i.to_string()), |v| *v == i), Some(i));
        }
        assert!(index.is_empty());
        assert!(
            index.buckets.len() <= 8,
            "{} buckets left",
            index.buckets.len()
        );
        assert_eq!(index.get(1).count(), 0);
    }

    #[test]
    fn the_hash_is_fnv1a() {
        assert_eq!(key_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(key_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
