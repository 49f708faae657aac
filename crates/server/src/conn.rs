//! Connections: accepted by our own loop so that no client can hold the server.
//!
//! - Headers must arrive within `header_read_timeout`; the same timer closes a connection
//!   that sends nothing, first or between keep-alive requests (hyper arms it whenever it
//!   waits for a request head).
//! - At most `max_connections` are served at once; one more is answered `503` and closed at
//!   once, so a flood of idle sockets costs a descriptor each for a moment, not the site.
//! - The descriptor limit is raised to the hard limit at start, and `max_connections` is
//!   kept below what is left after the store's own files.
//! - An accept error (out of descriptors) is waited out, never a busy loop or an exit.
//! - Each request knows its client's address, for the per-client rate limit on `/sparql`.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Connection limits of one listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

/// Raises this process's soft descriptor limit to its hard limit; returns the soft limit
/// now in force.
pub fn raise_descriptor_limit() -> u64 {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read or write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) != 0 {
            return 1024;
        }
        if l.rlim_cur < l.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: l.rlim_max,
                rlim_max: l.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                l.rlim_cur = l.rlim_max;
            }
        }
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every platform
    let soft = l.rlim_cur as u64;
    soft
}

/// The connections the descriptors allow: a quarter of them (at least 256) stay for the
/// store's files, query threads and child processes.
pub fn connections_allowed(wanted: usize, descriptors: u64) -> usize {
    let reserve = (descriptors / 4).max(256);
    let left = descriptors.saturating_sub(reserve) as usize;
    wanted.min(left).max(16)
}

const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: 56\r\n\r\nthe site is serving as many connections as it can: retry\n";

/// Serves `app` on `listener` until `shutdown` resolves, then lets requests under way
/// finish (for up to 30 s).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // HTTP/1.1 only: hyper's automatic HTTP/2 detection waits for the client's first bytes
    // with no timeout, which is exactly what an idle socket never sends. (HTTP/2 belongs to
    // the TLS proxy in front.)
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors (or another passing fault): wait, then go on.
                    tracing::warn!(error = %e, "accept failed; retrying shortly");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tokio::spawn(async move {
                let mut stream = stream;
                let _ = tokio::time::timeout(Duration::from_secs(2), async {
                    let _ = stream.write_all(BUSY).await;
                    let _ = stream.shutdown().await;
                })
                .await;
            });
            continue;
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let mut app = app.clone();
            async move { tower::Service::call(&mut app, req).await }
        });
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(30), graceful.shutdown()).await;
    Ok(())
}

/// The client's address, when the connection layer recorded it.
pub fn peer(req_extensions: &axum::http::Extensions) -> Option<SocketAddr> {
    req_extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_leave_descriptors_for_the_store() {
        assert_eq!(connections_allowed(4096, 1024), 768);
        assert_eq!(connections_allowed(4096, 1_048_576), 4096);
        assert_eq!(connections_allowed(100, 1024), 100);
        assert_eq!(connections_allowed(4096, 64), 16);
    }
}
