//! The one retry loop of the broker's own making (the SDK's standard mode
//! already retries throttling and transient faults): a call that fails with
//! one particular kind of error is tried again on a fixed schedule.

use std::future::Future;
use std::time::Duration;

use super::{UpstreamError, UpstreamErrorKind};

/// Calls `call` until it succeeds or fails otherwise than with `kind`,
/// sleeping `waits` in turn between attempts; the last failure is returned.
pub async fn retry_on<T, F, Fut>(kind: UpstreamErrorKind, waits: &[Duration], mut call: F) -> Result<T, UpstreamError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, UpstreamError>>,
{
    let mut waits = waits.iter();
    loop {
        match call().await {
            Err(err) if err.kind == kind => match waits.next() {
                Some(wait) => {
                    tracing::debug!(operation = err.operation, kind = kind.label(), ?wait, "retrying");
                    tokio::time::sleep(*wait).await;
                }
                None => return Err(err),
            },
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn failure(kind: UpstreamErrorKind) -> UpstreamError {
        UpstreamError::new("iam", "PutRolePolicy", kind, "test")
    }

    #[tokio::test]
    async fn retries_only_the_named_kind_and_only_as_often_as_scheduled() {
        let calls = AtomicUsize::new(0);
        let waits = [Duration::ZERO; 2];
        let result: Result<(), _> = retry_on(UpstreamErrorKind::Conflict, &waits, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(failure(UpstreamErrorKind::Conflict))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        calls.store(0, Ordering::SeqCst);
        let result: Result<(), _> = retry_on(UpstreamErrorKind::Conflict, &waits, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(failure(UpstreamErrorKind::AccessDenied))
        })
        .await;
        assert_eq!(result.map_err(|e| e.kind), Err(UpstreamErrorKind::AccessDenied));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
