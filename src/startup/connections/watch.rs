//! What the watchdog of one connection reads: whether a request is being
//! handled, when the connection last went idle, and when the current
//! request head began (reported by the socket reader).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use super::Limits;

const NONE: u64 = u64::MAX;

/// What the watchdog of one connection needs to know, updated by the
/// socket reader and the request guard. Times are milliseconds since the
/// server's epoch.
pub(super) struct ConnState {
    epoch: Instant,
    busy: AtomicUsize,
    served: AtomicU64,
    pub(super) idle_since: AtomicU64,
    pub(super) head_started: AtomicU64,
    /// A request head began: the deadline moved earlier.
    pub(super) wake: Notify,
    /// Evicted, or the server is shutting down.
    pub(super) close: Notify,
    pub(super) evicted: AtomicBool,
}

impl ConnState {
    pub(super) fn new(epoch: Instant) -> Self {
        let now = elapsed_ms(epoch);
        Self {
            epoch,
            busy: AtomicUsize::new(0),
            served: AtomicU64::new(0),
            idle_since: AtomicU64::new(now),
            head_started: AtomicU64::new(NONE),
            wake: Notify::new(),
            close: Notify::new(),
            evicted: AtomicBool::new(false),
        }
    }

    pub(super) fn is_busy(&self) -> bool {
        self.busy.load(Ordering::SeqCst) > 0
    }

    fn bytes_arrived(&self) {
        if !self.is_busy() && self.head_started.load(Ordering::SeqCst) == NONE {
            self.head_started.store(elapsed_ms(self.epoch), Ordering::SeqCst);
            self.wake.notify_one();
        }
    }

    pub(super) fn begin_request(self: &Arc<Self>) -> RequestGuard {
        self.busy.fetch_add(1, Ordering::SeqCst);
        self.head_started.store(NONE, Ordering::SeqCst);
        RequestGuard(self.clone())
    }

    /// When this connection must close unless something happens first, and why.
    pub(super) fn deadline(&self, limits: &Limits) -> Option<(Instant, &'static str)> {
        if self.is_busy() {
            // The request timeout of the middleware stack bounds the handler.
            return None;
        }
        let at = |ms: u64, after: Duration| self.epoch + Duration::from_millis(ms) + after;
        let head = self.head_started.load(Ordering::SeqCst);
        if head != NONE {
            return Some((at(head, limits.header_read_timeout), "header_timeout"));
        }
        let idle = self.idle_since.load(Ordering::SeqCst);
        if self.served.load(Ordering::SeqCst) == 0 {
            // A new connection that sends nothing gets no keep-alive allowance.
            return Some((at(idle, limits.header_read_timeout), "header_timeout"));
        }
        Some((at(idle, limits.idle_timeout), "idle_timeout"))
    }
}

fn elapsed_ms(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(NONE - 1)
}

/// Marks a connection busy while one of its requests is being handled.
pub(super) struct RequestGuard(Arc<ConnState>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.idle_since.store(elapsed_ms(self.0.epoch), Ordering::SeqCst);
        self.0.served.fetch_add(1, Ordering::SeqCst);
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The socket, reporting the first byte of each request head.
pub(super) struct Tracked {
    pub(super) inner: TcpStream,
    pub(super) state: Arc<ConnState>,
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.state.bytes_arrived();
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
