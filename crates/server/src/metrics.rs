//! Prometheus metrics: requests by route and status, latencies, query timeouts.

use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

const BUCKETS: [f64; 8] = [0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0];

/// Bucket counts, sum of seconds, count.
type Histogram = ([u64; 8], f64, u64);

#[derive(Default)]
pub struct Metrics {
    /// (route, status) → count.
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// route → (bucket counts, sum of seconds, count).
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
    pub query_timeouts: AtomicU64,
    /// Queries answered 503 because every query slot stayed busy.
    pub queries_turned_away: AtomicU64,
    /// Queries answered from the kept answers.
    pub answers_kept: AtomicU64,
    /// Lookups answered on the connection's thread, not handed to a query thread.
    pub lookups_here: AtomicU64,
}

fn route_of(path: &str) -> &'static str {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "" => "/",
        "sparql" => "/sparql",
        "id" => "/id",
        "doc" => "/doc",
        "dataset" => "/dataset",
        "dumps" => "/dumps",
        "catalog" => "/catalog",
        "query" => "/query",
        "health" => "/health",
        "metrics" => "/metrics",
        ".well-known" => "/.well-known",
        "graph" => "/graph",
        "rdf-graphs" => "/rdf-graphs",
        "def" => "/def",
        "admin" => "/admin",
        _ => "other",
    }
}

/// A request's route and start, taken before it is answered (see [`record`]).
pub fn begin(path: &str) -> (&'static str, Instant) {
    (route_of(path), Instant::now())
}

/// Counts an answer by route and status, and its latency.
pub fn record(st: &AppState, (route, start): (&'static str, Instant), status: u16) {
    let secs = start.elapsed().as_secs_f64();
    if let Ok(mut m) = st.metrics.requests.lock() {
        *m.entry((route, status)).or_default() += 1;
    }
    if let Ok(mut l) = st.metrics.latency.lock() {
        let e = l.entry(route).or_insert(([0; 8], 0.0, 0));
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                e.0[i] += 1;
            }
        }
        e.1 += secs;
        e.2 += 1;
    }
}

/// Prometheus metrics: for the admin token only, unless `metrics_public` (they tell an
/// attacker which queries time out and how busy the site is).
pub async fn render(State(st): State<Arc<AppState>>, headers: axum::http::HeaderMap) -> Response {
    if !st.config.metrics_public && !st.admin.authenticates_metrics(&headers) {
        let mut r = crate::error(
            axum::http::StatusCode::UNAUTHORIZED,
            "the metrics need Authorization: Bearer TOKEN (the admin token), or metrics_public = true in fivestar.toml",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer realm=\"fivestar admin\""),
        );
        return r;
    }
    let mut out = String::new();
    out.push_str("# HELP fivestar_http_requests_total HTTP requests by route and status.\n");
    out.push_str("# TYPE fivestar_http_requests_total counter\n");
    if let Ok(m) = st.metrics.requests.lock() {
        for ((route, status), n) in m.iter() {
            out.push_str(&format!(
                "fivestar_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}\n"
            ));
        }
    }
    out.push_str("# HELP fivestar_http_request_duration_seconds Request latency by route.\n");
    out.push_str("# TYPE fivestar_http_request_duration_seconds histogram\n");
    if let Ok(l) = st.metrics.latency.lock() {
        for (route, (buckets, sum, count)) in l.iter() {
            for (i, b) in BUCKETS.iter().enumerate() {
                out.push_str(&format!(
                    "fivestar_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}\n",
                    buckets[i]
                ));
            }
            out.push_str(&format!(
                "fivestar_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}\n"
            ));
            out.push_str(&format!(
                "fivestar_http_request_duration_seconds_sum{{route=\"{route}\"}} {sum}\n"
            ));
            out.push_str(&format!(
                "fivestar_http_request_duration_seconds_count{{route=\"{route}\"}} {count}\n"
            ));
        }
    }
    for (name, help, value) in [
        (
            "fivestar_sparql_query_timeouts_total",
            "Queries stopped by the timeout.",
            &st.metrics.query_timeouts,
        ),
        (
            "fivestar_sparql_queries_turned_away_total",
            "Queries refused because every query slot stayed busy.",
            &st.metrics.queries_turned_away,
        ),
        (
            "fivestar_sparql_answers_kept_total",
            "Queries answered from the answers kept for repeats.",
            &st.metrics.answers_kept,
        ),
        (
            "fivestar_sparql_lookups_answered_at_once_total",
            "Lookups (a named resource's triples) answered without a query thread.",
            &st.metrics.lookups_here,
        ),
    ] {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
            value.load(Ordering::Relaxed)
        ));
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
