//! A per-client rate limit on `/sparql`: a token bucket by IP address, which refills at
//! `sparql_per_minute` a minute and holds a sixth of that (at least 10) for bursts. Loopback
//! clients are exempt unless `rate_limit_loopback`. Behind a reverse proxy every request
//! comes from the proxy: list it in `trusted_proxies`, and the client is the right-most
//! address of `X-Forwarded-For` that is not a trusted proxy (the ones to its left could be
//! written by the client itself).

use crate::{error, AppState};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Buckets kept at most; past this the full ones are forgotten.
const MAX_CLIENTS: usize = 100_000;

#[derive(Default)]
pub struct RateLimit {
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimit {
    /// Takes one request from `ip`'s bucket; `Err(seconds)` until the next one is allowed.
    pub fn take(&self, ip: IpAddr, per_minute: u32, now: Instant) -> Result<(), f64> {
        let rate = f64::from(per_minute) / 60.0;
        let capacity = (f64::from(per_minute) / 6.0).max(10.0);
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= MAX_CLIENTS {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < capacity
            });
        }
        let (tokens, at) = buckets.entry(ip).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - *tokens) / rate)
        }
    }
}

/// The client of a request: its peer, or when the peer is a trusted proxy, the right-most
/// untrusted address of `X-Forwarded-For`.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    forwarded_for
        .into_iter()
        .flat_map(|v| v.rsplit(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .find(|a| !trusted.contains(a))
        .unwrap_or(peer)
}

/// The middleware of `/sparql`.
pub async fn limit(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let per_minute = st.config.sparql_per_minute;
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let ip = crate::conn::peer(req.extensions())
        .map(|a| client_ip(a.ip(), forwarded, &st.config.trusted_proxies));
    let exempt = ip.is_none_or(|ip| ip.is_loopback() && !st.config.rate_limit_loopback);
    if per_minute > 0 && !exempt {
        if let Some(ip) = ip {
            if let Err(wait) = st.rate.take(ip, per_minute, Instant::now()) {
                let secs = wait.ceil().max(1.0) as u64;
                let mut r = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!(
                        "more than {per_minute} queries a minute from {ip}: wait {secs} s, or download a dump"
                    ),
                );
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return r;
            }
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_client_behind_a_trusted_proxy() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        let trusted = [proxy];
        // Not through a trusted proxy: the header is the client's own word, ignored.
        assert_eq!(client_ip(client, Some("10.9.9.9"), &trusted), client);
        // Through the proxy: the right-most address not a proxy; a forged left part is ignored.
        assert_eq!(
            client_ip(proxy, Some("1.2.3.4, 203.0.113.7"), &trusted),
            client
        );
        assert_eq!(
            client_ip(proxy, Some("203.0.113.7, 127.0.0.1"), &trusted),
            client
        );
        assert_eq!(client_ip(proxy, Some("garbage"), &trusted), proxy);
        assert_eq!(client_ip(proxy, None, &[]), proxy);
    }

    #[test]
    fn a_bucket_allows_bursts_then_the_rate() {
        let r = RateLimit::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        // 60 a minute: bursts of 10, then one a second.
        for _ in 0..10 {
            assert!(r.take(ip, 60, t0).is_ok());
        }
        let wait = r.take(ip, 60, t0).unwrap_err();
        assert!((0.9..=1.0).contains(&wait), "{wait}");
        assert!(r.take(ip, 60, t0 + Duration::from_millis(1100)).is_ok());
        // Another client has its own bucket.
        assert!(r.take("192.0.2.2".parse().unwrap(), 60, t0).is_ok());
    }
}
