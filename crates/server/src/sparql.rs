//! The SPARQL 1.1 Protocol, read-only: query by GET, POST form and POST direct;
//! `default-graph-uri` and `named-graph-uri`; content negotiation (or `format=`); a Service
//! Description without a query; a timeout that cancels evaluation; a row cap; SERVICE and
//! updates (LOAD…) refused; ETags derived from the live state.

use crate::{blocking, error, negotiate, AppState};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use fivestar_store::rdf::RdfFormat;
use fivestar_store::rdf::{BlankNode, Literal, NamedNode, Triple};
use fivestar_store::rdf::{CancellationToken, QueryResults};
use fivestar_store::rdf::{QueryResultsFormat, QueryResultsSerializer};
use sha2::Digest;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Why a query got no answer.
enum Failure {
    /// An update sent as a query.
    Update,
    /// Refused before evaluation: syntax, or past the guard's limits.
    Refused(String),
    NotAcceptable(String),
    Query(String),
    /// Longer than the budget it was evaluated with.
    TooBig,
}

enum Output {
    Rdf(RdfFormat),
    Results(QueryResultsFormat),
}

struct Answer {
    body: Vec<u8>,
    content_type: &'static str,
    truncated: bool,
}

/// Evaluates `parsed` (the text `query`) and serializes its answer, at most `max_rows` rows
/// (then marked truncated). `Ok(None)`: more rows than `budget`.
#[allow(clippy::too_many_arguments)]
fn run(
    st: &AppState,
    query: &str,
    parsed: spargebra::Query,
    defaults: &[String],
    named: &[String],
    output: Output,
    token: CancellationToken,
    budget: Option<usize>,
) -> Result<Option<Answer>, String> {
    let max = st.config.max_rows;
    let results = st
        .store
        .query_public_parsed(query, parsed, Some(token), defaults, named)
        .map_err(|e| e.to_string())?;
    // On a read server the answer is read from the backend while it is written here: a
    // failure then is the backend's (a 502), not the query's.
    let backed = st.store.is_backed();
    let streamed = |e: fivestar_store::rdf::QueryEvaluationError| {
        if backed {
            format!("the SPARQL store behind this site: {e}")
        } else {
            e.to_string()
        }
    };
    let mut truncated = false;
    match (results, output) {
        (QueryResults::Solutions(solutions), Output::Results(f)) => {
            let mut w = QueryResultsSerializer::from_format(f)
                .serialize_solutions_to_writer(Vec::new(), solutions.variables().to_vec())
                .map_err(|e| e.to_string())?;
            for (n, s) in solutions.enumerate() {
                if budget.is_some_and(|b| n >= b) {
                    return Ok(None);
                }
                if n >= max {
                    truncated = true;
                    break;
                }
                w.serialize(&s.map_err(streamed)?)
                    .map_err(|e| e.to_string())?;
            }
            Ok(Some(Answer {
                body: w.finish().map_err(|e| e.to_string())?,
                content_type: negotiate::results_media_type(f),
                truncated,
            }))
        }
        (QueryResults::Boolean(b), Output::Results(f)) => Ok(Some(Answer {
            body: QueryResultsSerializer::from_format(f)
                .serialize_boolean_to_writer(Vec::new(), b)
                .map_err(|e| e.to_string())?,
            content_type: negotiate::results_media_type(f),
            truncated,
        })),
        (QueryResults::Graph(triples), Output::Rdf(f)) => {
            let mut all = Vec::new();
            for (n, t) in triples.enumerate() {
                if budget.is_some_and(|b| n >= b) {
                    return Ok(None);
                }
                if n >= max {
                    truncated = true;
                    break;
                }
                all.push(t.map_err(streamed)?);
            }
            Ok(Some(Answer {
                body: crate::rdf_body(f, &all)?,
                content_type: negotiate::media_type(f),
                truncated,
            }))
        }
        _ => Err("the results do not fit the negotiated format".into()),
    }
}

/// The Service Description of the endpoint (SPARQL 1.1 Service Description), naming the
/// graphs a query can use with GRAPH or `named-graph-uri`: the public ones and the live
/// releases' summaries.
fn service_description(st: &AppState, public: &[NamedNode]) -> Vec<Triple> {
    let sd = |l: &str| {
        NamedNode::new_unchecked(format!(
            "http://www.w3.org/ns/sparql-service-description#{l}"
        ))
    };
    let rdf_type = NamedNode::new_unchecked("http://www.w3.org/1999/02/22-rdf-syntax-ns#type");
    let layout = st.store.layout();
    let endpoint = NamedNode::new_unchecked(layout.sparql());
    let service = NamedNode::new_unchecked(layout.service());
    let dataset = NamedNode::new_unchecked(format!("{}#dataset", layout.sparql()));
    let default_graph = NamedNode::new_unchecked(format!("{}#default-graph", layout.sparql()));
    let fmt = |f: &str| NamedNode::new_unchecked(format!("http://www.w3.org/ns/formats/{f}"));
    let mut t = vec![
        Triple::new(service.clone(), rdf_type.clone(), sd("Service")),
        Triple::new(service.clone(), sd("endpoint"), endpoint),
        Triple::new(service.clone(), sd("supportedLanguage"), sd("SPARQL11Query")),
        Triple::new(service.clone(), sd("feature"), sd("UnionDefaultGraph")),
        Triple::new(service.clone(), sd("defaultDataset"), dataset.clone()),
        Triple::new(dataset.clone(), rdf_type.clone(), sd("Dataset")),
        Triple::new(dataset.clone(), sd("defaultGraph"), default_graph.clone()),
        Triple::new(default_graph.clone(), rdf_type.clone(), sd("Graph")),
        Triple::new(
            default_graph,
            NamedNode::new_unchecked("http://www.w3.org/2000/01/rdf-schema#comment"),
            Literal::new_simple_literal(
                "The union of the live release of every dataset, the catalogue and the vocabularies.",
            ),
        ),
    ];
    for f in [
        "SPARQL_Results_JSON",
        "SPARQL_Results_XML",
        "SPARQL_Results_CSV",
        "SPARQL_Results_TSV",
        "Turtle",
        "N-Triples",
        "JSON-LD",
        "RDF_XML",
    ] {
        t.push(Triple::new(service.clone(), sd("resultFormat"), fmt(f)));
    }
    for g in public {
        let named = BlankNode::default();
        t.push(Triple::new(
            dataset.clone(),
            sd("namedGraph"),
            named.clone(),
        ));
        t.push(Triple::new(
            named.clone(),
            rdf_type.clone(),
            sd("NamedGraph"),
        ));
        t.push(Triple::new(named, sd("name"), g.clone()));
    }
    t
}

pub(crate) fn etag(state: &str, parts: &[&str]) -> String {
    let mut h = sha2::Sha256::new();
    h.update(state.as_bytes());
    for p in parts {
        h.update([0]);
        h.update(p.as_bytes());
    }
    format!("\"{}\"", &hex::encode(h.finalize())[..32])
}

/// Whether the client already holds `tag`.
fn headers_hold(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag))
}

/// 304 Not Modified when the client already holds `tag`.
pub(crate) fn not_modified(headers: &HeaderMap, tag: &str) -> Option<Response> {
    headers_hold(headers, tag).then(|| {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(tag) {
            r.headers_mut().insert(header::ETAG, v);
        }
        r
    })
}

/// The headers of a negotiated answer that caches may keep and revalidate by its ETag.
pub(crate) fn revalidatable(r: &mut Response, content_type: &'static str, tag: &str) {
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=0, must-revalidate"),
    );
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
}

pub async fn handle(
    State(st): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let mut params: Vec<(String, String)> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let mut direct: Option<String> = None;
    if method == Method::POST {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match ct.as_str() {
            "application/x-www-form-urlencoded" => {
                params.extend(url::form_urlencoded::parse(&body).into_owned())
            }
            "application/sparql-query" => match String::from_utf8(body.to_vec()) {
                Ok(q) => direct = Some(q),
                Err(_) => return error(StatusCode::BAD_REQUEST, "the query is not UTF-8"),
            },
            "application/sparql-update" => {
                return error(
                    StatusCode::FORBIDDEN,
                    "this endpoint is read-only: updates are not accepted",
                )
            }
            _ => {
                return error(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "POST a query as application/x-www-form-urlencoded or application/sparql-query",
                )
            }
        }
    }
    let get = |k: &str| {
        params
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    if !get("update").is_empty() {
        return error(
            StatusCode::FORBIDDEN,
            "this endpoint is read-only: updates are not accepted",
        );
    }
    let queries = get("query");
    if queries.len() > 1 || (direct.is_some() && !queries.is_empty()) {
        return error(StatusCode::BAD_REQUEST, "give exactly one query");
    }
    let format = get("format").into_iter().next();
    let Some(query) = direct.or_else(|| queries.into_iter().next()) else {
        // No query: the Service Description.
        let f = match negotiate::graph_format(&headers, format.as_deref()) {
            Ok(f) => f,
            Err(e) => return error(StatusCode::NOT_ACCEPTABLE, &e),
        };
        let st2 = st.clone();
        let public =
            match blocking(move || st2.store.named_graphs().map_err(|e| e.to_string())).await {
                Ok(p) => p,
                Err(r) => return r,
            };
        return match crate::rdf_body(f, &service_description(&st, &public)) {
            Ok(b) => ([(header::CONTENT_TYPE, negotiate::media_type(f))], b).into_response(),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e),
        };
    };
    let defaults = get("default-graph-uri");
    let named = get("named-graph-uri");
    // Both negotiations now; which applies depends on the query's form.
    let graph_output = negotiate::graph_format(&headers, format.as_deref());
    let results_output = negotiate::solutions_format(&headers, format.as_deref());
    // The live state: at hand unless the catalogue just changed (then read off the runtime).
    let state = match st.store.catalog_view_cached() {
        Some(v) => v.tag.clone(),
        None => {
            let st2 = st.clone();
            match blocking(move || st2.store.state_tag().map_err(|e| e.to_string())).await {
                Ok(s) => s,
                Err(r) => return r,
            }
        }
    };
    // The same query, formats and graphs on the same public view: the answer kept last time,
    // and its ETag. Both forms' formats are in it, so it names the representation whichever
    // form the query turns out to be (one hash per request: the key is the tag).
    let kept_key = etag(
        &state,
        &[
            &query,
            graph_output
                .as_ref()
                .map_or("-", |f| negotiate::media_type(*f)),
            results_output
                .as_ref()
                .map_or("-", |f| negotiate::results_media_type(*f)),
            &defaults.join(" "),
            &named.join(" "),
        ],
    );
    let keep = !volatile(&query);
    if let Some(k) = st.answers.get(&kept_key) {
        st.metrics.answers_kept.fetch_add(1, Ordering::Relaxed);
        return not_modified(&headers, &k.tag)
            .unwrap_or_else(|| answered(&st, k.body.clone(), k.content_type, &k.tag, k.truncated));
    }
    let asked = Asked {
        query,
        defaults,
        named,
        tag: kept_key.clone(),
        graph_output,
        results_output,
        headers,
    };
    // A lookup (what a named resource says) is answered here, on the connection's thread:
    // handing it to a query thread and back costs more than the lookup (README, Speed and memory).
    // One with more than LOOKUP_ROWS rows goes to a query thread like any other query. Not on
    // a read server, whose backend is asked by a blocking client.
    if !st.store.is_backed() {
        if let Some(parsed) = fivestar_store::guard::lookup(&asked.query) {
            if let Ok(slot) = st.query_slots.clone().try_acquire_owned() {
                let outcome = answer(&st, &asked, parsed, None, Some(LOOKUP_ROWS));
                drop(slot);
                if !matches!(outcome, Err(Failure::TooBig)) {
                    st.metrics.lookups_here.fetch_add(1, Ordering::Relaxed);
                    return respond(&st, &asked.headers, outcome, keep.then_some(kept_key));
                }
            }
        }
    }
    // At most `max_concurrent_queries` at once; others wait their turn for a while.
    let Ok(Ok(slot)) = tokio::time::timeout(
        st.config.query_queue_wait,
        st.query_slots.clone().acquire_owned(),
    )
    .await
    else {
        st.metrics
            .queries_turned_away
            .fetch_add(1, Ordering::Relaxed);
        let mut r = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the endpoint is answering as many queries as it can: try again in a moment",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        return r;
    };
    // Parsing and evaluation recurse over the query: they run on a thread whose stack
    // holds the deepest query the guard lets in.
    let token = CancellationToken::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let st2 = st.clone();
    let t2 = token.clone();
    let asked = Arc::new(asked);
    let asked2 = asked.clone();
    let spawned = fivestar_store::guard::spawn_query_thread(move || {
        let _slot = slot;
        let outcome = match fivestar_store::guard::parse(&asked2.query) {
            Ok(parsed) => answer(&st2, &asked2, parsed, Some(t2), None),
            Err(fivestar_store::guard::Refused::Syntax(e)) => {
                Err(if fivestar_store::guard::parse_update(&asked2.query) {
                    Failure::Update
                } else {
                    Failure::Refused(format!("SPARQL syntax error: {e}"))
                })
            }
            Err(e) => Err(Failure::Refused(e.to_string())),
        };
        let _ = tx.send(outcome);
    });
    if let Err(e) = spawned {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("no query thread: {e}"),
        );
    }
    match tokio::time::timeout(st.config.query_timeout, rx).await {
        Err(_) => {
            token.cancel();
            st.metrics.query_timeouts.fetch_add(1, Ordering::Relaxed);
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!(
                    "the query was stopped after {} s, the time limit of this endpoint: narrow it or download a dump",
                    st.config.query_timeout.as_secs_f64()
                ),
            )
        }
        Ok(Err(_)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the query thread stopped",
        ),
        Ok(Ok(outcome)) => respond(&st, &asked.headers, outcome, keep.then_some(kept_key)),
    }
}

/// At most this many rows of a lookup are answered on the connection's thread (a payment, a
/// council or a supplier says a few dozen things).
const LOOKUP_ROWS: usize = 1_000;

/// What a request asks, as read from it: the query with its graphs, the live state it is
/// answered on, the formats negotiated for each form, and the request's headers.
struct Asked {
    query: String,
    defaults: Vec<String>,
    named: Vec<String>,
    /// The answer's ETag: from the live state, the query, both negotiated formats and the
    /// graphs.
    tag: String,
    graph_output: Result<RdfFormat, String>,
    results_output: Result<QueryResultsFormat, String>,
    headers: HeaderMap,
}

/// Evaluates a parsed query: its format, its ETag, and no answer for a client that has it
/// already (a 304). `cancel`: the endpoint's time limit. `budget`: more rows than that are
/// not answered ([`Failure::TooBig`]).
fn answer(
    st: &AppState,
    asked: &Asked,
    parsed: spargebra::Query,
    cancel: Option<CancellationToken>,
    budget: Option<usize>,
) -> Result<(Option<Answer>, String), Failure> {
    let output = match parsed {
        spargebra::Query::Construct { .. } | spargebra::Query::Describe { .. } => {
            asked.graph_output.clone().map(Output::Rdf)
        }
        _ => asked.results_output.clone().map(Output::Results),
    }
    .map_err(Failure::NotAcceptable)?;
    // A repeated query on an unchanged store is 304.
    let tag = asked.tag.clone();
    if headers_hold(&asked.headers, &tag) {
        return Ok((None, tag));
    }
    let token = cancel.unwrap_or_default();
    match run(
        st,
        &asked.query,
        parsed,
        &asked.defaults,
        &asked.named,
        output,
        token,
        budget,
    ) {
        Ok(Some(a)) => Ok((Some(a), tag)),
        Ok(None) => Err(Failure::TooBig),
        Err(e) => Err(Failure::Query(e)),
    }
}

/// The response to an evaluated query; a full answer is kept under `kept_key` if given.
fn respond(
    st: &AppState,
    headers: &HeaderMap,
    outcome: Result<(Option<Answer>, String), Failure>,
    kept_key: Option<String>,
) -> Response {
    let (answer, tag) = match outcome {
        Err(Failure::Update) => {
            return error(
                StatusCode::FORBIDDEN,
                "this endpoint is read-only: updates (LOAD, INSERT, DELETE…) are not accepted",
            )
        }
        Err(Failure::Refused(e)) => return error(StatusCode::BAD_REQUEST, &e),
        Err(Failure::NotAcceptable(e)) => return error(StatusCode::NOT_ACCEPTABLE, &e),
        Err(Failure::Query(e)) if crate::is_backend_failure(&e) => {
            return error(StatusCode::BAD_GATEWAY, &e)
        }
        Err(Failure::Query(e)) => {
            let lower = e.to_ascii_lowercase();
            return if lower.contains("service") {
                error(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "SERVICE is not allowed: this endpoint makes no outbound requests ({e})"
                    ),
                )
            } else {
                error(StatusCode::BAD_REQUEST, &format!("the query failed: {e}"))
            };
        }
        Err(Failure::TooBig) => {
            // Only a lookup has a budget, and it goes to a query thread instead.
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the answer was longer than expected",
            );
        }
        Ok(a) => a,
    };
    let Some(answer) = answer else {
        return not_modified(headers, &tag)
            .unwrap_or_else(|| StatusCode::NOT_MODIFIED.into_response());
    };
    let body = Bytes::from(answer.body);
    let r = answered(
        st,
        body.clone(),
        answer.content_type,
        &tag,
        answer.truncated,
    );
    if let Some(kept_key) = kept_key {
        st.answers.put(
            kept_key,
            crate::answers::Kept {
                body,
                content_type: answer.content_type,
                truncated: answer.truncated,
                tag,
            },
        );
    }
    r
}

/// Whether the query calls a function whose answer differs each time (`RAND()`, `NOW()`,
/// `UUID()`, `STRUUID()`, `BNODE()`, in any case): its answer is never kept.
fn volatile(query: &str) -> bool {
    // Every such call has a parenthesis; most lookups have none.
    if !query.contains('(') {
        return false;
    }
    let bytes = query.as_bytes();
    ["rand", "now", "uuid", "struuid", "bnode"].iter().any(|f| {
        let f = f.as_bytes();
        (0..bytes.len().saturating_sub(f.len() - 1)).any(|i| {
            // `i` starts an ASCII match, so it and `i + f.len()` are character boundaries.
            bytes[i..i + f.len()].eq_ignore_ascii_case(f)
                && query[i + f.len()..].trim_start().starts_with('(')
                && !query[..i].chars().next_back().is_some_and(|c| {
                    c.is_alphanumeric() || c == '_' || c == ':' || c == '?' || c == '$'
                })
        })
    })
}

/// A query's answer: 200 with its ETag, and a header when the row cap cut it.
fn answered(
    st: &AppState,
    body: Bytes,
    content_type: &'static str,
    tag: &str,
    truncated: bool,
) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    revalidatable(&mut r, content_type, tag);
    if truncated {
        r.headers_mut().insert(
            "X-Fivestar-Truncated",
            HeaderValue::from_str(&format!("results cut at {} rows", st.config.max_rows))
                .unwrap_or(HeaderValue::from_static("true")),
        );
    }
    r
}

#[cfg(test)]
mod volatile_tests {
    use super::volatile;

    #[test]
    fn functions_that_answer_anew_each_time_are_found() {
        assert!(volatile("SELECT (RAND() AS ?r) {}"));
        assert!(volatile("select ?x { bind(now () as ?x) }"));
        assert!(volatile("SELECT (STRUUID() AS ?u) {}"));
        assert!(volatile(
            "CONSTRUCT { ?s <p> ?b } WHERE { ?s ?p ?o BIND(BNODE() AS ?b) }"
        ));
        assert!(!volatile("SELECT ?now ?rand { ?now <p> ?rand }"));
        assert!(!volatile("SELECT * { ?s <http://x/now> ?o ; ex:rand (1) }"));
        assert!(!volatile("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"));
        // Any case; a name that only ends in one is not a call of it; text around it that is
        // not ASCII.
        assert!(volatile("SELECT (Now() AS ?t) {}"));
        assert!(volatile("SELECT (\"é\" AS ?e) (uUiD  () AS ?u) {}"));
        assert!(!volatile("SELECT * { ?s <http://x/éRAND> \"(\" }"));
        assert!(!volatile("SELECT * { ?s ex:rand ?o FILTER(?o > 1) }"));
        assert!(!volatile("SELECT ?é { ?é <p> \"é\" } LIMIT 1"));
        assert!(!volatile("(now"));
    }
}
