//! `/search?q=…`: the names of suppliers, councils, services, places and datasets in the live
//! releases, ranked, tolerant of case, punctuation, legal forms and small typos (the store's
//! `search`, built on tantivy when each release was published). HTML, or JSON with
//! `Accept: application/json` or `format=json`. The page also says how to ask the same with
//! SPARQL.

use crate::html::{esc, link, page};
use crate::{blocking, error, AppState};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;

/// Hits a search shows.
pub const HITS: usize = 50;
/// The longest query taken (longer ones are cut).
const MAX_QUERY: usize = 200;

pub async fn search(
    State(st): State<Arc<AppState>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let q: String = params
        .get("q")
        .map(|q| q.trim().chars().take(MAX_QUERY).collect())
        .unwrap_or_default();
    let json = params.get("format").map(String::as_str) == Some("json")
        || headers
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("application/json") && !a.contains("text/html"));
    let st2 = st.clone();
    let q2 = q.clone();
    let hits = blocking(move || {
        if q2.is_empty() {
            return Ok(Vec::new());
        }
        let dirs = st2.store.search_indexes().map_err(|e| e.to_string())?;
        fivestar_store::search::search(&dirs, &q2, HITS).map_err(|e| e.to_string())
    })
    .await;
    let hits = match hits {
        Ok(h) => h,
        Err(r) => return r,
    };
    let layout = st.store.layout();
    if json {
        let body = serde_json::json!({
            "query": q,
            "hits": hits.iter().map(|h| serde_json::json!({
                "iri": h.iri,
                "label": h.label,
                "kind": h.kind,
                "dataset": h.dataset,
                "page": crate::resource::href_of(&h.iri, layout),
                "score": h.score,
            })).collect::<Vec<_>>(),
        });
        return match serde_json::to_vec_pretty(&body) {
            Ok(b) => ([(header::CONTENT_TYPE, "application/json")], b).into_response(),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        };
    }
    let mut body = format!(
        "<h1>Search</h1><form method=\"get\" action=\"/search\" role=\"search\"><label for=\"q\">Find a supplier, council, service, place or dataset</label> \
<input type=\"search\" id=\"q\" name=\"q\" value=\"{}\"> <button type=\"submit\">Search</button></form>",
        esc(&q)
    );
    if !q.is_empty() {
        if hits.is_empty() {
            body.push_str(&format!("<p>Nothing is called <q>{}</q>.</p>", esc(&q)));
        } else {
            // A supplier has one URI per council; its page gathers them all, so it is listed
            // once, with how many it has.
            let mut grouped: Vec<(&fivestar_store::search::Hit, usize)> = Vec::new();
            let mut seen: HashMap<String, usize> = HashMap::new();
            for h in &hits {
                let key = match h.iri.rsplit_once("/supplier/") {
                    Some((_, k)) if h.kind == "supplier" => format!("supplier {k}"),
                    _ => h.iri.clone(),
                };
                match seen.get(&key) {
                    Some(&i) => grouped[i].1 += 1,
                    None => {
                        seen.insert(key, grouped.len());
                        grouped.push((h, 1));
                    }
                }
            }
            body.push_str(&format!(
                "<p>{} found for <q>{}</q>, best first.</p><table><tr><th>Name</th><th>What</th><th>Dataset</th></tr>",
                grouped.len(),
                esc(&q)
            ));
            for (h, n) in &grouped {
                let what = if *n > 1 {
                    format!("{} (paid by {n} councils or datasets)", h.kind)
                } else {
                    h.kind.clone()
                };
                let href = if h.kind == "dataset" {
                    format!("/dataset/{}", h.dataset)
                } else {
                    crate::resource::href_of(&h.iri, layout)
                };
                body.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td><a href=\"/dataset/{d}\">{d}</a></td></tr>",
                    link("iri", &href, &h.iri, &h.label),
                    esc(&what),
                    d = esc(&h.dataset)
                ));
            }
            body.push_str("</table>");
        }
    }
    let example = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n\
PREFIX payment: <http://reference.data.gov.uk/def/payment#>\n\
SELECT DISTINCT ?supplier ?name WHERE {\n  ?line payment:payee ?supplier .\n  ?supplier rdfs:label ?name .\n  FILTER(CONTAINS(LCASE(?name), \"capita\"))\n} LIMIT 50";
    body.push_str(&format!(
        "<h2>The same with SPARQL</h2><p>Search is for people; a query finds the same names, exactly as written \
(no typos forgiven): <a href=\"/query?query={}\">suppliers whose name contains “capita”</a>.</p><pre><code>{}</code></pre>",
        esc(&url::form_urlencoded::byte_serialize(example.as_bytes()).collect::<String>()),
        esc(example)
    ));
    crate::html::page_response(page("Search", &body))
}
