//! HTTP/1.1 connections with deadlines. `axum::serve` runs hyper without a
//! timer, so a client that never finishes its request head holds a socket
//! and its buffers forever (slowloris). Here every connection is watched:
//!
//! - a request head must arrive within `server.header_read_timeout_ms`,
//!   counted from the connection's first byte of that head, or from accept
//!   for a new connection that sends nothing;
//! - a keep-alive connection may sit idle between requests for
//!   `server.idle_timeout_ms` (longer than a load balancer's idle timeout,
//!   so the balancer, not the broker, closes reused connections first);
//! - at most `server.max_connections` are open; at the cap the connection
//!   idle the longest is closed to admit the new one (so a probe still gets
//!   through a flood of idle sockets), and only when every connection is
//!   busy is the new one refused;
//! - on shutdown idle and half-open connections close at once, busy ones
//!   after their current response.
//!
//! hyper's own `header_read_timeout` is not used: it also runs while a
//! keep-alive connection waits for its next request, so it cannot tell a
//! slow head from an idle connection.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::config::ServerSettings;
use crate::telemetry::metrics;

mod watch;

use watch::{ConnState, Tracked};

/// The connection limits of `[server]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    /// hyper's per-connection read buffer cap (it refuses less than 8 KiB).
    pub max_buf_bytes: usize,
}

impl Limits {
    pub(crate) fn from_settings(server: &ServerSettings) -> Self {
        Self {
            header_read_timeout: Duration::from_millis(server.header_read_timeout_ms),
            idle_timeout: Duration::from_millis(server.idle_timeout_ms),
            max_connections: server.max_connections.max(1),
            // The request line and framing come on top of the header fields.
            max_buf_bytes: server.max_header_bytes.saturating_add(8 * 1024).max(8 * 1024),
        }
    }
}

/// Accepts and serves connections within [`Limits`].
pub(crate) struct ConnectionServer {
    router: Router,
    limits: Limits,
    epoch: Instant,
    open: Arc<Mutex<HashMap<u64, Arc<ConnState>>>>,
    tasks: JoinSet<()>,
    next_id: u64,
}

impl ConnectionServer {
    pub(crate) fn new(router: Router, limits: Limits) -> Self {
        let open = Arc::new(Mutex::new(HashMap::new()));
        Self { router, limits, epoch: Instant::now(), open, tasks: JoinSet::new(), next_id: 0 }
    }

    fn open_connections(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<ConnState>>> {
        self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Accepts until `stop` resolves.
    pub(crate) async fn accept_until(&mut self, listener: &TcpListener, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => self.admit(stream),
                    Err(err) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => {}
            }
        }
    }

    fn admit(&mut self, stream: TcpStream) {
        let id = self.next_id;
        let state = Arc::new(ConnState::new(self.epoch));
        {
            let mut open = self.open_connections();
            if open.len() >= self.limits.max_connections {
                let idle_longest = open
                    .iter()
                    .filter(|(_, c)| !c.is_busy())
                    .min_by_key(|(_, c)| c.head_started.load(Ordering::SeqCst).min(c.idle_since.load(Ordering::SeqCst)))
                    .map(|(id, _)| *id);
                // Out of the table at once, so it is neither counted nor picked again.
                match idle_longest.and_then(|id| open.remove(&id)) {
                    Some(victim) => {
                        victim.evicted.store(true, Ordering::SeqCst);
                        victim.close.notify_one();
                    }
                    None => {
                        metrics::connection_closed("refused");
                        return;
                    }
                }
            }
            open.insert(id, state.clone());
            metrics::connections_open(open.len());
        }
        self.next_id += 1;
        // Small responses go out at once instead of waiting for Nagle.
        let _ = stream.set_nodelay(true);
        let (router, limits, open) = (self.router.clone(), self.limits, self.open.clone());
        self.tasks.spawn(async move {
            let reason = serve_connection(stream, router, limits, state).await;
            metrics::connection_closed(reason);
            let mut open = open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            open.remove(&id);
            metrics::connections_open(open.len());
        });
    }

    /// Closes idle and half-open connections now and lets busy ones finish
    /// their response; waits at most `grace` for them.
    pub(crate) async fn shut_down(mut self, grace: Duration) {
        for state in self.open_connections().values() {
            state.close.notify_one();
        }
        let drained = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, drained).await.is_err() {
            tracing::warn!(open = self.tasks.len(), "grace period over; closing connections still busy");
            self.tasks.abort_all();
        }
    }
}

/// Serves one connection until it ends; returns why it ended.
async fn serve_connection(stream: TcpStream, router: Router, limits: Limits, state: Arc<ConnState>) -> &'static str {
    let io = TokioIo::new(Tracked { inner: stream, state: state.clone() });
    let requests = state.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let guard = requests.begin_request();
        let call = tower::ServiceExt::oneshot(router.clone(), request);
        async move {
            let response = call.await;
            drop(guard);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(None).max_buf_size(limits.max_buf_bytes);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        let deadline = state.deadline(&limits);
        let sleep = async {
            match deadline {
                Some((at, _)) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(error = %err, "connection ended with an error");
                }
                return if closing { "shutdown" } else { "client" };
            }
            () = sleep => {
                // Still the same deadline, not one a new request moved?
                if let Some((at, reason)) = state.deadline(&limits) && at <= Instant::now() {
                    return reason;
                }
            }
            () = state.wake.notified() => {}
            () = state.close.notified(), if !closing => {
                if !state.is_busy() {
                    return if state.evicted.load(Ordering::SeqCst) { "evicted" } else { "shutdown" };
                }
                // hyper finishes the response in progress, then closes.
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}
