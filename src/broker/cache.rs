//! A small time-bounded cache for upstream lookups that rarely change (the
//! broker's identity, role metadata). Failures are not cached, so a fixed
//! problem (e.g. a role created by bootstrap) is seen on the next request.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct TtlCache<V> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, V)>>,
    /// Held while loading, so concurrent misses make one upstream call
    /// instead of a burst (a cold start under load would otherwise spend
    /// the STS rate budget on identical GetCallerIdentity calls).
    loading: tokio::sync::Mutex<()>,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::new(HashMap::new()), loading: tokio::sync::Mutex::new(()) }
    }

    fn fresh(&self, key: &str) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        entries.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, v)| v.clone())
    }

    pub async fn get_or_load<F, Fut, E>(&self, key: &str, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        if let Some(value) = self.fresh(key) {
            return Ok(value);
        }
        let _loading = self.loading.lock().await;
        if let Some(value) = self.fresh(key) {
            return Ok(value);
        }
        let value = load().await?;
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(key.to_owned(), (Instant::now(), value.clone()));
        }
        Ok(value)
    }

    /// The last value loaded for `key`, fresh or not, and its age.
    pub fn last(&self, key: &str) -> Option<(V, Duration)> {
        let entries = self.entries.lock().ok()?;
        entries.get(key).map(|(at, v)| (v.clone(), at.elapsed()))
    }

    /// Forgets `key` (e.g. after the role was changed).
    pub fn invalidate(&self, key: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn caches_successes_not_failures() {
        let cache = TtlCache::new(Duration::from_secs(60));
        let failed: Result<u32, &str> = cache.get_or_load("k", || async { Err("boom") }).await;
        assert!(failed.is_err());
        assert_eq!(cache.get_or_load("k", || async { Ok::<_, ()>(1) }).await, Ok(1));
        assert_eq!(cache.get_or_load("k", || async { Ok::<_, ()>(2) }).await, Ok(1));
        cache.invalidate("k");
        assert_eq!(cache.get_or_load("k", || async { Ok::<_, ()>(3) }).await, Ok(3));
    }

    #[tokio::test]
    async fn entries_expire() {
        let cache = TtlCache::new(Duration::ZERO);
        assert_eq!(cache.get_or_load("k", || async { Ok::<_, ()>(1) }).await, Ok(1));
        assert_eq!(cache.get_or_load("k", || async { Ok::<_, ()>(2) }).await, Ok(2));
    }
}
