//! A backend that counts the listing calls passing through it: what a
//! meter pass costs, in calls.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use sandbox_reset::clients::{Backend, Tagged};
use sandbox_reset::registry::{Deleted, Registration, Resource, Where};
use sandbox_reset::upstream::UpstreamError as ResetError;

/// Counts the listing calls a pass makes (the meter's cost, in calls).
pub(super) struct Counting<'a> {
    inner: &'a dyn Backend,
    calls: AtomicUsize,
}

impl<'a> Counting<'a> {
    pub(super) fn new(inner: &'a dyn Backend) -> Self {
        Self { inner, calls: AtomicUsize::new(0) }
    }

    /// Listing calls so far.
    pub(super) fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl Backend for Counting<'_> {
    async fn tagged(&self, region: &str, filter: Option<(&str, &str)>) -> Result<Tagged, ResetError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.tagged(region, filter).await
    }

    async fn list(&self, kind: &'static Registration, at: &Where) -> Result<Vec<Resource>, ResetError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.list(kind, at).await
    }

    async fn delete(&self, kind: &'static Registration, resource: &Resource) -> Result<Deleted, ResetError> {
        self.inner.delete(kind, resource).await
    }

    async fn gone(&self, kind: &'static Registration, resource: &Resource) -> Result<bool, ResetError> {
        self.inner.gone(kind, resource).await
    }
}
