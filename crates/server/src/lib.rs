//! The public face of fivestar, read-only: the SPARQL 1.1 Protocol at `/sparql` (with a
//! Service Description), linked-data URIs (`/id/…` answers 303 to `/doc/…`, which negotiates
//! HTML, Turtle, JSON-LD, N-Triples and RDF/XML), the public graphs by the Graph Store
//! Protocol (read-only), pages, the DCAT catalogue, VoID, dumps, health and Prometheus metrics.
//!
//! Store access is blocking (RocksDB), so every store call runs on tokio's blocking pool.

pub mod admin;
mod answers;
mod charts;
pub mod conn;
mod council_page;
mod feeds;
mod graphs;
mod html;
mod markup;
mod metrics;
mod negotiate;
mod ratelimit;
mod resource;
mod revalidate;
mod search_page;
mod sparql;
mod supplier;
pub mod workspace;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use fivestar_store::rdf::QueryResults;
use fivestar_store::rdf::Triple;
use fivestar_store::rdf::{RdfFormat, RdfSerializer};
use fivestar_store::Store;
use std::sync::Arc;
use std::time::Duration;

pub use admin::Admin;
pub use metrics::Metrics;

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// A query running longer is stopped and answered with an error.
    pub query_timeout: Duration,
    /// At most this many result rows (or triples) are returned.
    pub max_rows: usize,
    /// Queries evaluated at once, at most; more wait in turn.
    pub max_concurrent_queries: usize,
    /// How long a query waits for its turn before a 503.
    pub query_queue_wait: Duration,
    /// Connections served at once, at most (beyond: 503 and closed).
    pub max_connections: usize,
    /// A request's headers must arrive within this; also closes idle keep-alive connections.
    pub header_read_timeout: Duration,
    /// Requests a client may make to `/sparql` a minute (0: no limit).
    pub sparql_per_minute: u32,
    /// Whether the rate limit applies to loopback clients too (a proxy on the same machine).
    pub rate_limit_loopback: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the client (for the rate limit).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Whether `/metrics` is public (else it needs the admin token).
    pub metrics_public: bool,
    /// Bytes of `/sparql` answers kept for repeats on an unchanged public view (0: none).
    pub answer_cache_bytes: usize,
}

impl Config {
    /// The defaults (the base IRI is the store's: [`fivestar_store::Store::layout`]).
    pub fn new() -> Self {
        Self::default()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            query_timeout: Duration::from_secs(30),
            max_rows: 100_000,
            max_concurrent_queries: std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .saturating_mul(2)
                .max(4),
            query_queue_wait: Duration::from_secs(10),
            max_connections: 4096,
            header_read_timeout: Duration::from_secs(10),
            sparql_per_minute: 600,
            rate_limit_loopback: false,
            trusted_proxies: Vec::new(),
            metrics_public: false,
            answer_cache_bytes: 64 << 20,
        }
    }
}

/// Shared by every handler.
pub struct AppState {
    pub store: Store,
    pub config: Config,
    pub metrics: Metrics,
    /// The admin API (off without a token).
    pub admin: Admin,
    /// One permit a query being evaluated.
    pub query_slots: Arc<tokio::sync::Semaphore>,
    /// Requests to `/sparql` by client, for the rate limit.
    pub rate: ratelimit::RateLimit,
    /// The workspace's signed-in sessions and failed sign-ins.
    pub sessions: workspace::Sessions,
    /// What the sitemaps counted, for the public view as it was.
    pub sitemaps: feeds::SitemapCache,
    /// Releases' figures, read once.
    pub figures: charts::FiguresCache,
    /// `/sparql` answers kept for repeats.
    pub answers: answers::AnswerCache,
}

impl AppState {
    pub fn new(store: Store, config: Config, admin: Admin) -> AppState {
        let slots = config.max_concurrent_queries.max(1);
        let answers = answers::AnswerCache::new(config.answer_cache_bytes);
        AppState {
            store,
            config,
            metrics: Metrics::default(),
            admin,
            query_slots: Arc::new(tokio::sync::Semaphore::new(slots)),
            rate: ratelimit::RateLimit::default(),
            sessions: workspace::Sessions::default(),
            sitemaps: feeds::SitemapCache::default(),
            figures: charts::FiguresCache::default(),
            answers,
        }
    }
}

impl AsRef<Store> for AppState {
    fn as_ref(&self) -> &Store {
        &self.store
    }
}

/// The router with every route and layer: the public site, and the admin API beside it
/// unless it has its own address.
pub fn router(state: Arc<AppState>) -> Router {
    let admin_here = !state.admin.separate;
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::ACCEPT]);
    let mut app = Router::new()
        .route("/", get(html::home))
        .route("/dataset/{id}", get(html::dataset))
        .route("/dataset/{id}/feed.atom", get(feeds::dataset_feed))
        .route("/dataset/{id}/figures/{file}", get(charts::figure_csv))
        .route(
            "/dataset/{id}/release/{release}/changes",
            get(html::changes),
        )
        .route("/feed.atom", get(feeds::site_feed))
        .route("/sitemap.xml", get(feeds::sitemap_index))
        .route("/sitemap/{*path}", get(feeds::sitemap_part))
        .route("/query", get(html::query_page))
        .route("/search", get(search_page::search))
        .route("/assets/yasgui/{name}", get(html::asset))
        .route(
            "/sparql",
            get(sparql::handle).post(sparql::handle).route_layer(
                axum::middleware::from_fn_with_state(state.clone(), ratelimit::limit),
            ),
        )
        .route("/id/{*path}", get(see_other))
        .route("/doc/{*path}", get(document))
        .route("/def/fivestar", get(own_vocabulary))
        .route("/catalog", get(catalog))
        .route("/.well-known/void", get(catalog))
        .route("/dumps/{*path}", get(dump))
        .route("/graph/{*path}", get(graphs::direct))
        .route("/rdf-graphs", get(graphs::indirect))
        .route("/health", get(health))
        .route("/metrics", get(metrics::render));
    if admin_here {
        app = app
            .merge(admin::routes(state.admin.upload_limit))
            .merge(workspace::routes(state.admin.upload_limit));
    }
    app.fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            move |s: State<Arc<AppState>>,
                  req: axum::extract::Request,
                  next: axum::middleware::Next| {
                site_layers(s, admin_here, req, next)
            },
        ))
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
        .layer(cors)
        .layer(axum::middleware::from_fn(log_requests))
        .with_state(state)
}

/// The site's own layers, outermost first: the metrics, the admin guard, and the pages' tags
/// and `304`s. One layer, not three: each `from_fn` layer clones the whole stack below it
/// and boxes a future for every request, which a profile of single-resource lookups put at
/// several per cent of the server's time.
async fn site_layers(
    State(st): State<Arc<AppState>>,
    admin_here: bool,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = metrics::begin(req.uri().path());
    let r = match admin::refusal(&st, admin_here, &req) {
        Some(refused) => refused,
        None => revalidate::pages(&st, req, next).await,
    };
    metrics::record(&st, started, r.status().as_u16());
    r
}

/// Why an answer is a 5xx: kept on the response for [`log_requests`], never sent.
#[derive(Clone)]
struct Cause(String);

/// Logs every request (method, path, status, duration) at debug, and every 5xx at error with
/// its cause: the client gets a short message, the operator the reason. Adds the security
/// headers to every answer on its way out (one layer for both, see [`site_layers`]).
async fn log_requests(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let started = std::time::Instant::now();
    let mut r = next.run(req).await;
    security_headers(&mut r);
    let status = r.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let path = uri.path();
    match r.extensions_mut().remove::<Cause>() {
        Some(Cause(cause)) => {
            tracing::error!(%method, path, status, ms, cause, "request failed")
        }
        None if status >= 500 => tracing::error!(%method, path, status, ms, "request failed"),
        None => tracing::debug!(%method, path, status, ms, "request"),
    }
    r
}

/// Scripts, styles, images and connections from this site only (YASGUI sets inline styles,
/// so styles may be inline); no framing; no plugins; forms post here.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The security headers of every answer, unless the answer set its own.
fn security_headers(r: &mut Response) {
    let h = r.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
    ] {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
}

/// The router of the admin API's own address (`admin_bind`): the admin API, the workspace and
/// `/health`.
pub fn admin_router(state: Arc<AppState>) -> Router {
    Router::new()
        .merge(admin::routes(state.admin.upload_limit))
        .merge(workspace::routes(state.admin.upload_limit))
        .route("/health", get(health))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            |s: State<Arc<AppState>>, req: axum::extract::Request, next: axum::middleware::Next| {
                admin::guard(s, true, req, next)
            },
        ))
        .layer(axum::middleware::from_fn(log_requests))
        .with_state(state)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM: the signals an instance stops on.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Serves the site on `listener` (and the admin API on `admin`, when it has its own address)
/// until `shutdown` resolves, under the connection limits of [`conn`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    admin: Option<tokio::net::TcpListener>,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let limits = conn::Limits {
        max_connections: state.config.max_connections,
        header_read_timeout: state.config.header_read_timeout,
    };
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    if let Some(every) = state.store.backend_refresh() {
        // A read server: its copy of the backend's catalogue is read again on a clock, not
        // by requests (repeated queries are answered from the kept answers without asking).
        let st = state.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let st = st.clone();
                let _ = tokio::task::spawn_blocking(move || st.store.refresh_backend()).await;
            }
        });
    }
    let public = conn::serve(listener, router(state.clone()), limits, stopped(rx.clone()));
    match admin {
        None => public.await,
        Some(a) => {
            let admin = conn::serve(a, admin_router(state), limits, stopped(rx));
            let (p, a) = tokio::join!(public, admin);
            p.and(a)
        }
    }
}

/// Runs blocking store work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) if is_backend_failure(&e) => Err(error(StatusCode::BAD_GATEWAY, &e)),
        Ok(Err(e)) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, &e)),
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())),
    }
}

/// Whether a store error is the backend's ([`fivestar_store::Error::Backend`]) on a read
/// server: a 502, not a fault of this server.
pub(crate) fn is_backend_failure(message: &str) -> bool {
    message.starts_with("the SPARQL store behind this site:")
}

/// A plain-text error answer. A 5xx is logged with `message` as its cause; a 500 (a fault of
/// the server, not of the request) tells the client only that, since its cause may name files
/// and internals.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let shown = if status == StatusCode::INTERNAL_SERVER_ERROR {
        "internal error: the cause is in the server's log"
    } else if status == StatusCode::BAD_GATEWAY {
        // Its cause names the backend's address.
        "the SPARQL store behind this site did not answer: the cause is in the server's log"
    } else {
        message
    };
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{shown}\n"),
    )
        .into_response();
    if status.is_server_error() {
        r.extensions_mut().insert(Cause(message.to_string()));
    }
    r
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not found")
}

/// `/id/{path}` → 303 → `/doc/{path}`. The location is built from the request's own
/// (still percent-encoded) path, so whatever the path holds, it stays a valid URI.
async fn see_other(uri: axum::http::Uri) -> Response {
    let rest = uri.path().strip_prefix("/id/").unwrap_or("");
    redirect_303(&format!("/doc/{rest}"))
}

/// 303 See Other to `location` (a path that came from a request line or from slugs, so it is
/// a valid header value; if not, 404 rather than a redirect without a location).
pub(crate) fn redirect_303(location: &str) -> Response {
    let Ok(to) = HeaderValue::from_str(location) else {
        return error(StatusCode::NOT_FOUND, "not found");
    };
    let mut r = StatusCode::SEE_OTHER.into_response();
    r.headers_mut().insert(header::LOCATION, to);
    r.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    r
}

/// A serializer for `format` with the prefixes fivestar's data uses.
pub(crate) fn serializer(format: RdfFormat) -> RdfSerializer {
    let mut s = RdfSerializer::from_format(format);
    for (p, ns) in [
        ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
        ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
        ("xsd", "http://www.w3.org/2001/XMLSchema#"),
        ("dcat", "http://www.w3.org/ns/dcat#"),
        ("dct", "http://purl.org/dc/terms/"),
        ("void", "http://rdfs.org/ns/void#"),
        ("prov", "http://www.w3.org/ns/prov#"),
        ("spdx", "http://spdx.org/rdf/terms#"),
        ("payment", "http://reference.data.gov.uk/def/payment#"),
        ("qb", "http://purl.org/linked-data/cube#"),
    ] {
        if let Ok(with) = s.clone().with_prefix(p, ns) {
            s = with;
        }
    }
    s
}

/// Serializes triples in an RDF format.
pub(crate) fn rdf_body(format: RdfFormat, triples: &[Triple]) -> Result<Vec<u8>, String> {
    let mut w = serializer(format).for_writer(Vec::new());
    for t in triples {
        w.serialize_triple(t).map_err(|e| e.to_string())?;
    }
    w.finish().map_err(|e| e.to_string())
}

pub(crate) fn graph_of(results: QueryResults<'static>) -> Result<Vec<Triple>, String> {
    match results {
        QueryResults::Graph(triples) => triples.map(|t| t.map_err(|e| e.to_string())).collect(),
        _ => Err("expected a graph".into()),
    }
}

/// fivestar's own vocabulary (`{base}/def/fivestar#…`, hash IRIs): the whole document, as
/// HTML or RDF by content negotiation.
async fn own_vocabulary(
    State(st): State<Arc<AppState>>,
    Query(params): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let iri = st.store.layout().own_terms();
    let format = match requested_format(&params, &headers, None) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let st2 = st.clone();
    let ns = iri.clone();
    let triples = match blocking(move || {
        let q = format!(
            "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), \"{ns}\")) }}"
        );
        let r = st2.store.query_public(&q).map_err(|e| e.to_string())?;
        graph_of(r)
    })
    .await
    {
        Ok(t) => t,
        Err(r) => return r,
    };
    if triples.is_empty() {
        return error(StatusCode::NOT_FOUND, "the vocabulary is not loaded");
    }
    respond_graph(st, format, &iri, triples, None).await
}

fn requested_format(
    params: &std::collections::HashMap<String, String>,
    headers: &HeaderMap,
    default: Option<RdfFormat>,
) -> Result<Option<RdfFormat>, Box<Response>> {
    match params.get("format").map(String::as_str) {
        Some("html") => Ok(None),
        Some(f) => negotiate::rdf_format(f).map(Some).ok_or_else(|| {
            Box::new(error(
                StatusCode::BAD_REQUEST,
                &format!("unknown format {f:?}"),
            ))
        }),
        None => Ok(negotiate::rdf_or_html(headers, default)),
    }
}

/// `/doc/{path}`: what the public view says about `{base}/id/{path}`. IRIs minted by URI
/// templates keep their percent-encoding (`post/CEX%20001`), so the path is first taken as
/// sent; an IRI written with the characters themselves (`café`) is found by the decoded path.
async fn document(
    State(st): State<Arc<AppState>>,
    uri: axum::http::Uri,
    Path(decoded): Path<String>,
    Query(params): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let invalid = |p: &str| {
        p.contains(|c: char| {
            c.is_control()
                || matches!(
                    c,
                    '<' | '>' | '"' | ' ' | '{' | '}' | '|' | '\\' | '^' | '`'
                )
        })
    };
    let raw = uri.path().strip_prefix("/doc/").unwrap_or("").to_string();
    let mut candidates: Vec<String> = Vec::new();
    for p in [raw, decoded] {
        if !invalid(&p) && !candidates.contains(&p) {
            candidates.push(p);
        }
    }
    if candidates.is_empty() {
        return error(StatusCode::BAD_REQUEST, "not a valid resource path");
    }
    let format = match requested_format(&params, &headers, None) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    // A council's page: what this site holds about it (its own URI names nothing in the data).
    if let Some(a) = candidates
        .first()
        .and_then(|p| p.strip_prefix("council/"))
        .and_then(council_page::authority)
    {
        let iri = st.store.layout().id(&format!("council/{}", a.gss));
        if format.is_some() {
            use fivestar_store::rdf::{Literal, NamedNode};
            let me = NamedNode::new_unchecked(iri.clone());
            let triples = vec![
                Triple::new(
                    me.clone(),
                    NamedNode::new_unchecked("http://www.w3.org/2002/07/owl#sameAs"),
                    NamedNode::new_unchecked(a.iri()),
                ),
                Triple::new(
                    me,
                    NamedNode::new_unchecked("http://www.w3.org/2000/01/rdf-schema#label"),
                    Literal::new_simple_literal(a.official_name.clone()),
                ),
            ];
            return respond_graph(st, format, &iri, triples, None).await;
        }
        let st2 = st.clone();
        return match blocking(move || council_page::page_html(&st2, &a)).await {
            Ok(html) => html::page_response(html),
            Err(r) => r,
        };
    }
    // `?page=N`: the page of what points at it (HTML only).
    let page = params
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1);
    let st2 = st.clone();
    let found = blocking(move || {
        let mut first = None;
        for p in candidates {
            let iri = st2.store.layout().id(&p);
            if format.is_some() {
                let triples = resource::describe(&st2.store, &iri)?;
                if !triples.is_empty() {
                    return Ok(Ok((iri, triples, None)));
                }
            } else {
                let triples = resource::outgoing(&st2.store, &iri)?;
                if !triples.is_empty() || resource::has_incoming(&st2.store, &iri)? {
                    // A supplier's summary (its largest payments are a query) beside the
                    // page of what points at it.
                    let (incoming, summary) = std::thread::scope(|scope| {
                        let summary = scope.spawn(|| supplier::summary(&st2, &iri));
                        let incoming = resource::incoming(&st2.store, &iri, page);
                        let summary = summary
                            .join()
                            .unwrap_or_else(|_| Err("the supplier's summary panicked".into()));
                        (incoming, summary)
                    });
                    let incoming = incoming?;
                    let extra = supplier::sections(&st2, summary?, &incoming)?;
                    return Ok(Ok((iri, triples, Some((incoming, extra)))));
                }
            }
            first.get_or_insert(iri);
        }
        Ok(Err(first.unwrap_or_default()))
    })
    .await;
    let (iri, triples, incoming) = match found {
        Ok(Ok(t)) => t,
        Ok(Err(iri)) => {
            return error(
                StatusCode::NOT_FOUND,
                &format!("nothing is known about <{iri}>"),
            )
        }
        Err(r) => return r,
    };
    respond_graph(st, format, &iri, triples, incoming).await
}

pub(crate) async fn respond_graph(
    st: Arc<AppState>,
    format: Option<RdfFormat>,
    iri: &str,
    triples: Vec<Triple>,
    incoming: Option<(resource::Incoming, String)>,
) -> Response {
    match format {
        None => {
            let iri = iri.to_string();
            match blocking(move || {
                // A row's corrections, from its dataset's change files (an unreadable one
                // leaves them out rather than the page).
                let corrections = st.store.corrections(&iri).unwrap_or_else(|e| {
                    tracing::warn!(iri = %iri, error = %e, "corrections not read");
                    Vec::new()
                });
                let (incoming, extra) = match &incoming {
                    Some((i, e)) => (Some(i), e.as_str()),
                    None => (None, ""),
                };
                Ok(resource::page_html(
                    &st,
                    &iri,
                    &triples,
                    incoming,
                    &corrections,
                    extra,
                ))
            })
            .await
            {
                Ok(page) => html::page_response(page),
                Err(r) => r,
            }
        }
        Some(f) => match rdf_body(f, &triples) {
            Ok(body) => (
                [
                    (header::CONTENT_TYPE, negotiate::media_type(f)),
                    (header::VARY, "Accept"),
                ],
                body,
            )
                .into_response(),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e),
        },
    }
}

async fn catalog(
    State(st): State<Arc<AppState>>,
    Query(params): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let format = match requested_format(&params, &headers, Some(RdfFormat::Turtle)) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let st2 = st.clone();
    let triples = match blocking(move || {
        let g = st2.store.catalog_graph();
        let r = st2
            .store
            .query_public(&format!(
                "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}"
            ))
            .map_err(|e| e.to_string())?;
        graph_of(r)
    })
    .await
    {
        Ok(t) => t,
        Err(r) => return r,
    };
    let iri = st.store.layout().catalog();
    respond_graph(st, format, &iri, triples, None).await
}

/// A dump file, streamed from disk (never read whole into memory) with what a download
/// manager needs: Content-Length, Last-Modified, HEAD, If-Modified-Since and byte ranges, so
/// a large download can be resumed.
async fn dump(
    State(st): State<Arc<AppState>>,
    Path(path): Path<String>,
    request: axum::extract::Request,
) -> Response {
    use tower::ServiceExt;
    let ok = !path.is_empty()
        && path
            .split('/')
            .all(|seg| !seg.is_empty() && !seg.starts_with('.') && !seg.contains('\\'));
    if !ok {
        return error(StatusCode::NOT_FOUND, "not found");
    }
    let file = st.store.dumps_dir().join(&path);
    if !tokio::fs::metadata(&file).await.is_ok_and(|m| m.is_file()) {
        return error(StatusCode::NOT_FOUND, "no such dump");
    }
    // Nothing of a withdrawn dataset is downloadable, earlier releases included: withdrawal
    // is how a dataset that turned out to hold personal data is taken down. Nor is a file no
    // recorded release owns (a release still loading, or left by a crash).
    let (st2, p2) = (st.clone(), path.clone());
    match blocking(move || st2.store.dump_status(&p2).map_err(|e| e.to_string())).await {
        Ok(fivestar_store::DumpStatus::Public) => {}
        Ok(fivestar_store::DumpStatus::Withdrawn) => {
            return error(StatusCode::GONE, "this dataset is withdrawn")
        }
        Ok(fivestar_store::DumpStatus::Unknown) => {
            return error(StatusCode::NOT_FOUND, "no such dump")
        }
        Err(r) => return r,
    }
    let gzip = path.ends_with(".gz");
    let content_type = match fivestar_store::dump_media_type(&path) {
        _ if gzip => "application/gzip",
        "text/csv" => "text/csv; charset=utf-8",
        "text/plain" => "text/plain; charset=utf-8",
        other => other,
    };
    let served = tower_http::services::ServeFile::new(&file)
        .oneshot(request)
        .await;
    let mut r = match served {
        Ok(r) => r.map(Body::new),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    if r.status().is_success() {
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    if gzip && r.status().is_success() {
        let h = r.headers_mut();
        // The file is gzip-compressed data, served as is: not compressed again.
        h.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static("identity"),
        );
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&format!(
                "attachment; filename=\"{}\"",
                path.rsplit('/').next().unwrap_or("dump")
            ))
            .unwrap_or(HeaderValue::from_static("attachment")),
        );
    }
    r
}

/// `/health`: 200 with the datasets counted; on a read server also the backend and how old
/// its catalogue copy is, and 503 while the backend does not answer (a load balancer then
/// sends requests to another read server).
async fn health(State(st): State<Arc<AppState>>) -> Response {
    let st2 = st.clone();
    match blocking(move || st2.store.datasets().map_err(|e| e.to_string())).await {
        Ok(d) => {
            let mut body = serde_json::json!({
                "status": "ok",
                "datasets": d.len(),
                "live": d.iter().filter(|x| x.live.is_some()).count(),
            });
            let mut status = StatusCode::OK;
            if let Some(b) = st.store.backend_health() {
                if b.error.is_some() || b.catalogue_age_secs.is_none() {
                    status = StatusCode::SERVICE_UNAVAILABLE;
                    body["status"] = "backend unavailable".into();
                }
                body["backend"] = serde_json::json!({
                    "query": b.backend,
                    "catalogue_age_secs": b.catalogue_age_secs,
                    "error": b.error,
                });
            }
            (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        Err(r) => r,
    }
}
