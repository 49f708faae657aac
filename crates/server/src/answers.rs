//! Answers to `/sparql` kept for repeats: a query asked again on an unchanged public view is
//! answered from memory, without a query slot, a thread or the store.
//!
//! The key holds the store's state tag (the live releases and when each dataset last
//! changed), so a publish, rollback or withdraw makes every kept answer unreachable; they
//! then age out. Bounded in bytes; an answer larger than an eighth of the budget is never
//! kept (a big answer is better streamed again than allowed to push out many small ones).

use std::sync::{Arc, Mutex};

/// An answer as sent: its body, media type, whether the row cap cut it, and its ETag.
#[derive(Debug)]
pub struct Kept {
    pub body: axum::body::Bytes,
    pub content_type: &'static str,
    pub truncated: bool,
    pub tag: String,
}

struct Inner {
    lru: lru::LruCache<String, Arc<Kept>>,
    bytes: usize,
}

pub struct AnswerCache {
    inner: Mutex<Inner>,
    budget: usize,
}

impl AnswerCache {
    /// A cache of at most `budget` bytes of answers (0: none kept).
    pub fn new(budget: usize) -> Self {
        AnswerCache {
            inner: Mutex::new(Inner {
                lru: lru::LruCache::unbounded(),
                bytes: 0,
            }),
            budget,
        }
    }

    fn cost(key: &str, kept: &Kept) -> usize {
        key.len() + kept.body.len() + kept.tag.len() + 64
    }

    pub fn get(&self, key: &str) -> Option<Arc<Kept>> {
        if self.budget == 0 {
            return None;
        }
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.lru.get(key).cloned()
    }

    pub fn put(&self, key: String, kept: Kept) {
        let cost = Self::cost(&key, &kept);
        if self.budget == 0 || cost > self.budget / 8 {
            return;
        }
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = g.lru.put(key.clone(), Arc::new(kept)) {
            g.bytes -= Self::cost(&key, &old);
        }
        g.bytes += cost;
        while g.bytes > self.budget {
            match g.lru.pop_lru() {
                Some((k, v)) => g.bytes -= Self::cost(&k, &v),
                None => break,
            }
        }
    }

    /// Bytes held now.
    pub fn held(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(n: usize) -> Kept {
        Kept {
            body: axum::body::Bytes::from(vec![b'x'; n]),
            content_type: "text/plain",
            truncated: false,
            tag: "\"t\"".into(),
        }
    }

    #[test]
    fn keeps_within_its_budget_and_drops_the_least_recently_used() {
        let c = AnswerCache::new(8 * 1000);
        for i in 0..20 {
            c.put(format!("q{i}"), kept(500));
        }
        assert!(c.held() <= 8000, "{}", c.held());
        assert!(c.get("q0").is_none(), "the oldest went first");
        assert!(c.get("q19").is_some());
        // Reading an answer keeps it: q12 outlives q13 after more arrive (14 fit).
        assert!(c.get("q12").is_some());
        for i in 20..28 {
            c.put(format!("q{i}"), kept(500));
        }
        assert!(c.get("q12").is_some());
        assert!(c.get("q13").is_none());
    }

    #[test]
    fn never_keeps_an_answer_too_large_or_anything_without_a_budget() {
        let c = AnswerCache::new(8 * 1000);
        c.put("big".into(), kept(1000));
        assert!(c.get("big").is_none());
        assert_eq!(c.held(), 0);
        let off = AnswerCache::new(0);
        off.put("q".into(), kept(1));
        assert!(off.get("q").is_none());
    }

    #[test]
    fn replacing_an_answer_counts_its_bytes_once() {
        let c = AnswerCache::new(8 * 1000);
        c.put("q".into(), kept(500));
        let once = c.held();
        c.put("q".into(), kept(500));
        assert_eq!(c.held(), once);
    }
}
