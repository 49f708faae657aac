//! The graphs of the public view by the SPARQL 1.1 Graph Store HTTP Protocol, read-only.
//!
//! - Direct identification: the graph IRIs the store mints resolve.
//!   `GET {base}/graph/{dataset}/{release}` (a live release), `/graph/catalog`,
//!   `/graph/vocab`. A browser asking for HTML is sent (303) to the page describing the graph.
//! - Indirect identification: `GET /rdf-graphs?graph=IRI` for any public graph, and
//!   `GET /rdf-graphs?default` for the default graph (the union of the public graphs).
//!
//! Graphs are streamed as they are serialized, never held in memory whole, so a release of
//! millions of triples costs the server a buffer. Draft, withdrawn and removed releases are
//! 404, as on the SPARQL endpoint. Only GET and HEAD are routed: PUT, POST and DELETE answer
//! 405, since the public side is read-only.

use crate::{blocking, error, negotiate, AppState};
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use fivestar_store::rdf::NamedNode;
use fivestar_store::rdf::RdfFormat;
use std::io::Write;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Bytes per chunk sent to the client.
const CHUNK: usize = 64 * 1024;

enum Target {
    Named(String),
    Default,
}

pub async fn direct(
    State(st): State<Arc<AppState>>,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let format = param(raw.as_deref(), "format");
    let wants_html = format.as_deref() == Some("html")
        || (format.is_none()
            && negotiate::rdf_or_html(&headers, Some(RdfFormat::Turtle)).is_none());
    if wants_html {
        // The human description of the graph: its dataset page, or the catalogue page.
        match path.split_once('/') {
            Some((dataset, _)) if fivestar_store::check_slug("dataset", dataset).is_ok() => {
                return crate::redirect_303(&format!("/dataset/{dataset}"))
            }
            None if path == "catalog" => return crate::redirect_303("/catalog?format=html"),
            _ => {}
        }
    }
    let iri = st.store.layout().graph(&path);
    respond(st, Target::Named(iri), format, &headers).await
}

pub async fn indirect(
    State(st): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let graphs: Vec<&String> = pairs
        .iter()
        .filter(|(k, _)| k == "graph")
        .map(|(_, v)| v)
        .collect();
    let default = pairs.iter().any(|(k, _)| k == "default");
    let target = match (graphs.as_slice(), default) {
        ([g], false) => Target::Named((*g).clone()),
        ([], true) => Target::Default,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "name one graph: ?graph=IRI, or ?default for the default graph",
            )
        }
    };
    respond(st, target, param(raw.as_deref(), "format"), &headers).await
}

fn param(raw: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn respond(
    st: Arc<AppState>,
    target: Target,
    format: Option<String>,
    headers: &HeaderMap,
) -> Response {
    let format = match negotiate::graph_format(headers, format.as_deref()) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::NOT_ACCEPTABLE, &e),
    };
    let st2 = st.clone();
    let picked = blocking(move || {
        let public = st2.store.public_graphs().map_err(|e| e.to_string())?;
        let named = st2.store.named_graphs().map_err(|e| e.to_string())?;
        let state = st2.store.state_tag().map_err(|e| e.to_string())?;
        Ok((public, named, state))
    })
    .await;
    let (public, named, state) = match picked {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (graphs, key): (Vec<NamedNode>, String) = match target {
        Target::Default => (public, "default".into()),
        Target::Named(iri) => {
            let g: Vec<NamedNode> = named.into_iter().filter(|g| g.as_str() == iri).collect();
            if g.is_empty() {
                return error(
                    StatusCode::NOT_FOUND,
                    &format!(
                        "<{iri}> is not a graph of the public view (only live releases, their summaries, the catalogue and the vocabulary are; earlier releases are in the dumps)"
                    ),
                );
            }
            (g, iri)
        }
    };
    let tag = crate::sparql::etag(
        &state,
        &["graph-store", &key, negotiate::media_type(format)],
    );
    if let Some(r) = crate::sparql::not_modified(headers, &tag) {
        return r;
    }
    let mut r = Response::new(stream(st, graphs, format));
    crate::sparql::revalidatable(&mut r, negotiate::media_type(format), &tag);
    r
}

/// Serializes the graphs on a blocking thread, a chunk at a time, as the client reads. If
/// the client goes away the serializer stops; if the store fails mid-way the response is cut
/// off with an error (the client sees a truncated transfer, never a short "complete" graph).
fn stream(st: Arc<AppState>, graphs: Vec<NamedNode>, format: RdfFormat) -> Body {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let fail = tx.clone();
        let mut w = crate::serializer(format).for_writer(Chunks {
            tx,
            buf: Vec::with_capacity(CHUNK),
        });
        for g in &graphs {
            for t in st.store.read_graph(g) {
                let written = match t {
                    Ok(t) => w.serialize_triple(&t),
                    Err(e) => {
                        let _ = fail.blocking_send(Err(std::io::Error::other(e.to_string())));
                        return;
                    }
                };
                if written.is_err() {
                    return; // the client went away
                }
            }
        }
        if let Ok(mut inner) = w.finish() {
            let _ = inner.flush();
        }
    });
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }))
}

/// A writer that hands full chunks to the response body.
struct Chunks {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl Chunks {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

impl Write for Chunks {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}
