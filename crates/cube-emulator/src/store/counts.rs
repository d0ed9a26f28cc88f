//! Remembered search totals, so that a broad search does not count its
//! matches (up to every user of the application) on every request.
//!
//! A total is remembered with what it was counted from, and given again
//! only while that still holds:
//! * the application's *search version*, a number kept in the database
//!   (`search_versions`) and raised, in the same transaction, by every
//!   write that adds or removes users or changes a field a search can
//!   filter on (see [`super::Db::touch`]). The version is read in the same
//!   snapshot as the count, so an equal version means the very same data;
//! * the clock *window* in which the same guests have ended: from the
//!   latest guest deadline at or before the time of the count to the
//!   earliest one after it. Guests whose lifetime ended are not counted,
//!   so the total may change when the clock crosses a deadline, in either
//!   direction (the clock can be moved back too), and not otherwise.
//!
//! Filters on `last_request_at`, which every request moves, are never
//! remembered. The cache is bounded in entries and bytes; past either
//! bound the oldest entry is forgotten first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use crate::limits::{COUNT_CACHE_BYTES, COUNT_CACHE_ENTRIES, COUNT_CACHE_KEY_MAX_BYTES};

/// The clock interval in which the same guests have ended: `from` is the
/// latest guest deadline at or before the count (`None`: no guest had
/// ended), `until` the earliest after it (`None`: no guest ends later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) from: Option<i64>,
    pub(crate) until: Option<i64>,
}

impl Window {
    /// Whether the guests ended at `now` are the ones ended in the window.
    fn holds(self, now: i64) -> bool {
        self.from.is_none_or(|from| from <= now) && self.until.is_none_or(|until| now < until)
    }
}

struct Entry {
    version: i64,
    window: Window,
    total: i64,
}

/// Bytes an entry costs beyond its key (kept twice: map and queue).
const ENTRY_OVERHEAD: usize = 96;

fn entry_bytes(key: &str) -> usize {
    2 * key.len() + ENTRY_OVERHEAD
}

struct Inner {
    entries: HashMap<String, Entry>,
    /// Keys, oldest first: the order they are forgotten in.
    age: VecDeque<String>,
    bytes: usize,
}

/// Search totals by application and query, shared by every connection of
/// one store.
pub(crate) struct CountCache {
    inner: Mutex<Inner>,
    max_entries: usize,
    max_bytes: usize,
    max_key: usize,
}

impl Default for CountCache {
    fn default() -> Self {
        Self::with_bounds(
            COUNT_CACHE_ENTRIES,
            COUNT_CACHE_BYTES,
            COUNT_CACHE_KEY_MAX_BYTES,
        )
    }
}

impl CountCache {
    fn with_bounds(max_entries: usize, max_bytes: usize, max_key: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                age: VecDeque::new(),
                bytes: 0,
            }),
            max_entries,
            max_bytes,
            max_key,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The total remembered for `key`, if it was counted at `version` and
    /// the same guests have ended at `now` as then.
    pub(crate) fn get(&self, key: &str, version: i64, now: i64) -> Option<i64> {
        let inner = self.lock();
        let entry = inner.entries.get(key)?;
        (entry.version == version && entry.window.holds(now)).then_some(entry.total)
    }

    /// Remembers `total` for `key`, counted at `version` within `window`.
    /// A total of an older version never replaces a newer one (a slow
    /// reader finishing late); a key longer than the bound is not kept.
    pub(crate) fn put(&self, key: String, version: i64, window: Window, total: i64) {
        if key.len() > self.max_key {
            return;
        }
        let mut inner = self.lock();
        let entry = Entry {
            version,
            window,
            total,
        };
        if let Some(old) = inner.entries.get_mut(&key) {
            if old.version <= version {
                *old = entry;
            }
            return;
        }
        let size = entry_bytes(&key);
        while !inner.age.is_empty()
            && (inner.entries.len() >= self.max_entries || inner.bytes + size > self.max_bytes)
        {
            if let Some(oldest) = inner.age.pop_front() {
                inner.entries.remove(&oldest);
                inner.bytes -= entry_bytes(&oldest);
            }
        }
        if self.max_entries == 0 || size > self.max_bytes {
            return;
        }
        inner.bytes += size;
        inner.age.push_back(key.clone());
        inner.entries.insert(key, entry);
    }

    /// How many totals are remembered, and the bytes they take.
    #[cfg(test)]
    pub(crate) fn size(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.entries.len(), inner.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALWAYS: Window = Window {
        from: None,
        until: None,
    };

    #[test]
    fn a_total_is_given_only_at_its_version_and_within_its_window() {
        let cache = CountCache::default();
        let window = Window {
            from: Some(100),
            until: Some(200),
        };
        cache.put("1:q".into(), 7, window, 42);
        assert_eq!(cache.get("1:q", 7, 100), Some(42));
        assert_eq!(cache.get("1:q", 7, 199), Some(42));
        assert_eq!(cache.get("1:q", 7, 200), None, "a guest ended at 200");
        assert_eq!(cache.get("1:q", 7, 99), None, "the clock moved back");
        assert_eq!(cache.get("1:q", 8, 150), None, "the data changed");
        assert_eq!(cache.get("2:q", 7, 150), None);
        cache.put("1:q".into(), 8, ALWAYS, 43);
        assert_eq!(cache.get("1:q", 8, i64::MIN), Some(43));
        assert_eq!(cache.get("1:q", 8, i64::MAX), Some(43));
    }

    #[test]
    fn an_older_version_never_replaces_a_newer_one() {
        let cache = CountCache::default();
        cache.put("1:q".into(), 5, ALWAYS, 50);
        cache.put("1:q".into(), 4, ALWAYS, 40);
        assert_eq!(cache.get("1:q", 5, 0), Some(50));
        assert_eq!(cache.get("1:q", 4, 0), None);
        assert_eq!(cache.size().0, 1);
    }

    #[test]
    fn entries_at_and_past_their_bound() {
        let cache = CountCache::with_bounds(3, usize::MAX, 100);
        for i in 0..3 {
            cache.put(format!("k{i}"), 1, ALWAYS, i);
        }
        assert_eq!(cache.size().0, 3);
        assert!((0..3).all(|i| cache.get(&format!("k{i}"), 1, 0) == Some(i)));
        // Replacing a key adds nothing.
        cache.put("k1".into(), 2, ALWAYS, 11);
        assert_eq!(cache.size().0, 3);
        cache.put("k3".into(), 1, ALWAYS, 3);
        assert_eq!(cache.size().0, 3);
        assert_eq!(cache.get("k0", 1, 0), None, "the oldest is forgotten");
        assert_eq!(cache.get("k1", 2, 0), Some(11));
        assert_eq!(cache.get("k3", 1, 0), Some(3));
    }

    #[test]
    fn bytes_at_and_past_their_bound() {
        let key = |i: usize| format!("{i:0>10}");
        let each = entry_bytes(&key(0));
        let cache = CountCache::with_bounds(usize::MAX, 4 * each, 100);
        for i in 0..4 {
            cache.put(key(i), 1, ALWAYS, 0);
        }
        assert_eq!(cache.size(), (4, 4 * each));
        cache.put(key(4), 1, ALWAYS, 0);
        assert_eq!(cache.size(), (4, 4 * each));
        assert_eq!(cache.get(&key(0), 1, 0), None);
        // One entry twice as large makes room by forgetting two.
        let big = "x".repeat(2 * 10 + ENTRY_OVERHEAD / 2);
        cache.put(big.clone(), 1, ALWAYS, 9);
        assert_eq!(cache.get(&big, 1, 0), Some(9));
        assert!(cache.size().1 <= 4 * each);
        assert_eq!(cache.get(&key(2), 1, 0), None);
        assert_eq!(cache.get(&key(3), 1, 0), Some(0));
    }

    #[test]
    fn keys_at_and_past_the_longest_kept() {
        let cache = CountCache::with_bounds(10, usize::MAX, 8);
        cache.put("12345678".into(), 1, ALWAYS, 1);
        cache.put("123456789".into(), 1, ALWAYS, 2);
        assert_eq!(cache.get("12345678", 1, 0), Some(1));
        assert_eq!(cache.get("123456789", 1, 0), None);
        assert_eq!(cache.size().0, 1);
    }

    #[test]
    fn the_default_bounds_hold() {
        let cache = CountCache::default();
        for i in 0..=COUNT_CACHE_ENTRIES {
            cache.put(format!("1:{i}"), 1, ALWAYS, 0);
        }
        let (entries, bytes) = cache.size();
        assert_eq!(entries, COUNT_CACHE_ENTRIES);
        assert!(bytes <= COUNT_CACHE_BYTES);
        let long = "x".repeat(COUNT_CACHE_KEY_MAX_BYTES);
        cache.put(long.clone(), 1, ALWAYS, 5);
        assert_eq!(cache.get(&long, 1, 0), Some(5));
        cache.put(format!("{long}y"), 1, ALWAYS, 5);
        assert_eq!(cache.get(&format!("{long}y"), 1, 0), None);
        // As many of the longest keys as the bytes allow.
        for i in 0..COUNT_CACHE_ENTRIES {
            cache.put(format!("{long}{i}")[1..].to_owned(), 1, ALWAYS, 0);
        }
        assert!(cache.size().1 <= COUNT_CACHE_BYTES);
    }
}
