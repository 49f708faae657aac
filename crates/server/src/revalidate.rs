//! ETags for the pages, so that an HTTP cache in front (Varnish, nginx, a CDN) can keep them
//! and revalidate them cheaply. A page is a function of the public view (the live releases,
//! the catalogue), its URL, the `Accept` it was negotiated with, and the program that rendered
//! it; its tag is a digest of those, so a repeat with `If-None-Match` is answered `304` before
//! the page is built. The tag is weak (`W/`): the same page compressed or not, or rendered with
//! another order of equal rows, is the same page. `/sparql` and the Graph Store routes make
//! their own (strong) tags; the admin side, metrics, health, dumps and assets are left alone.

use crate::AppState;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, OnceLock};

/// Routes whose answers are not pages of the public view, or that tag themselves.
fn untagged(path: &str) -> bool {
    [
        "/sparql",
        "/admin",
        "/metrics",
        "/health",
        "/dumps/",
        "/assets/",
        "/id/",
        "/graph/",
        "/rdf-graphs",
    ]
    .iter()
    .any(|p| path == p.trim_end_matches('/') || path.starts_with(p))
}

/// The program that renders pages: its version and, so that a rebuilt binary of the same
/// version never answers 304 for the old one's pages, the executable's size and time.
fn build() -> &'static str {
    static BUILD: OnceLock<String> = OnceLock::new();
    BUILD.get_or_init(|| {
        let exe = std::env::current_exe()
            .and_then(std::fs::metadata)
            .ok()
            .map(|m| {
                let at = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_secs());
                format!("{}@{at}", m.len())
            })
            .unwrap_or_default();
        format!("{}/{exe}", env!("CARGO_PKG_VERSION"))
    })
}

/// Tags the pages and answers a repeat `304`.
pub async fn pages(st: &Arc<AppState>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) || untagged(req.uri().path()) {
        return next.run(req).await;
    }
    let state = match st.store.catalog_view_cached() {
        Some(v) => v.tag.clone(),
        None => {
            let st2 = st.clone();
            match crate::blocking(move || st2.store.state_tag().map_err(|e| e.to_string())).await {
                Ok(s) => s,
                // The page itself will say what is wrong.
                Err(_) => return next.run(req).await,
            }
        }
    };
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let uri = req.uri().to_string();
    let strong = crate::sparql::etag(&state, &[build(), &uri, accept]);
    let tag = format!("W/{strong}");
    let held = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t.trim_start_matches("W/") == strong)
        });
    if held {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        headers(&mut r, &tag);
        return r;
    }
    let mut r = next.run(req).await;
    if r.status() == StatusCode::OK && !r.headers().contains_key(header::ETAG) {
        headers(&mut r, &tag);
    }
    r
}

fn headers(r: &mut Response, tag: &str) {
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=0, must-revalidate"),
        );
    }
    if !h.contains_key(header::VARY) {
        h.insert(header::VARY, HeaderValue::from_static("Accept"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_tagged_and_the_rest_left_alone() {
        for p in [
            "/",
            "/dataset/x",
            "/doc/x/payment/1",
            "/catalog",
            "/search",
            "/sitemap.xml",
            "/def/fivestar",
            "/query",
        ] {
            assert!(!untagged(p), "{p}");
        }
        for p in [
            "/sparql",
            "/admin/api/runs",
            "/admin/",
            "/metrics",
            "/health",
            "/dumps/all.nq.gz",
            "/assets/yasgui/a.js",
            "/id/x",
            "/graph/x/r1",
            "/rdf-graphs",
        ] {
            assert!(untagged(p), "{p}");
        }
    }
}
