//! The markup every page shares: escaping, links that are safe to follow, labels for IRIs,
//! and the page frame (header with the search box, style, footer). Below every page module,
//! so that they can all use it without importing one another.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use fivestar_store::rdf::{QueryResults, Term};
use fivestar_store::{DatasetState, Store};
use std::collections::HashMap;

/// The dataset `id` as the catalogue describes it.
pub(crate) fn find_dataset(store: &Store, id: &str) -> Result<Option<DatasetState>, String> {
    Ok(store
        .datasets()
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|d| d.id == id))
}

pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem 1.5rem;color:#1b1b1b;line-height:1.5}\
header{border-bottom:4px solid #1d70b8;margin-bottom:1.5rem;display:flex;gap:1.5rem;align-items:baseline;flex-wrap:wrap}\
header a{color:#1b1b1b;text-decoration:none}header .brand{font-weight:700;font-size:1.4rem}\
a{color:#1d70b8}table{border-collapse:collapse;width:100%;margin:1rem 0}\
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}\
th{background:#f3f2f1}.stars{color:#b58105;white-space:nowrap}.muted{color:#505a5f;font-size:.9rem}\
code,textarea{font-family:ui-monospace,monospace}textarea{width:100%;min-height:14rem}\
.live{background:#00703c;color:#fff;padding:0 .4rem;border-radius:3px;font-size:.8rem}\
.iri{word-break:break-all}\
figure{margin:1rem 0}figure h3{margin:.2rem 0}.chart{max-width:40rem;display:block}td.num,th.num{text-align:right;white-space:nowrap}\
.small-multiples{display:grid;grid-template-columns:repeat(auto-fill,minmax(17rem,1fr));gap:0 1.5rem}.small-multiples h3{font-size:1rem}\
form.search{margin-left:auto}.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}\
.wide{overflow-x:auto}.wide td,.wide th{white-space:nowrap}nav.pages a{margin-right:1rem}";

pub fn page(title: &str, body: &str) -> String {
    page_with_feed(title, None, body)
}

/// A page that names, besides the site's feed, the feed of `dataset`'s releases.
pub fn page_with_feed(title: &str, dataset: Option<(&str, &str)>, body: &str) -> String {
    let mut feeds = String::from(
        "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"Every dataset's releases\" href=\"/feed.atom\">",
    );
    if let Some((id, title)) = dataset {
        feeds.push_str(&format!(
            "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"{}: releases\" href=\"/dataset/{}/feed.atom\">",
            esc(title),
            esc(id)
        ));
    }
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t} · fivestar</title>{feeds}<style>{STYLE}</style></head><body>\
<header><a class=\"brand\" href=\"/\">★★★★★ fivestar</a><a href=\"/\">Datasets</a>\
<a href=\"/query\">Query</a><a href=\"/catalog\">Catalogue</a><a href=\"/sparql\">SPARQL endpoint</a>\
<form class=\"search\" method=\"get\" action=\"/search\" role=\"search\"><label for=\"site-search\" class=\"visually-hidden\">Search</label>\
<input type=\"search\" id=\"site-search\" name=\"q\" placeholder=\"Find a supplier, council, place…\"> <button type=\"submit\">Search</button></form></header>\
<main>{body}</main><footer class=\"muted\"><p>Council open data as linked data. \
Query it at <code>/sparql</code> (SPARQL 1.1) or download the dumps.</p></footer></body></html>",
        t = esc(title)
    )
}

pub fn page_response(html: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// Human labels for IRIs, the best of each: skos:prefLabel, else rdfs:label, dcterms:title or
/// schema:name; English or untagged before other languages; then the first in code-point
/// order (so a page reads the same on every load).
pub(crate) fn labels(store: &Store, iris: &[String]) -> HashMap<String, String> {
    const PROPERTIES: [&str; 4] = [
        "http://www.w3.org/2004/02/skos/core#prefLabel",
        "http://www.w3.org/2000/01/rdf-schema#label",
        "http://purl.org/dc/terms/title",
        "http://schema.org/name",
    ];
    let mut best: HashMap<String, ((usize, bool), String)> = HashMap::new();
    for chunk in iris.chunks(200) {
        let values: String = chunk.iter().map(|i| format!("<{i}> ")).collect();
        let props: String = PROPERTIES.iter().map(|p| format!("<{p}> ")).collect();
        let q = format!(
            "SELECT ?x ?p ?l WHERE {{ VALUES ?x {{ {values} }} VALUES ?p {{ {props} }} ?x ?p ?l FILTER(isLiteral(?l)) }} LIMIT 20000"
        );
        if let Ok(QueryResults::Solutions(rows)) = store.query_public(&q) {
            for row in rows.flatten() {
                if let (
                    Some(Term::NamedNode(x)),
                    Some(Term::NamedNode(p)),
                    Some(Term::Literal(l)),
                ) = (row.get("x"), row.get("p"), row.get("l"))
                {
                    let rank = PROPERTIES
                        .iter()
                        .position(|q| *q == p.as_str())
                        .unwrap_or(PROPERTIES.len());
                    let foreign = l.language().is_some_and(|t| !t.starts_with("en"));
                    let candidate = ((rank, foreign), l.value().to_string());
                    match best.get(x.as_str()) {
                        Some(b) if *b <= candidate => {}
                        _ => {
                            best.insert(x.as_str().to_string(), candidate);
                        }
                    }
                }
            }
        }
    }
    best.into_iter().map(|(k, (_, v))| (k, v)).collect()
}

/// Whether a link may point there: http(s), mailto, or a path on this site. An IRI with any
/// other scheme (`javascript:`, `data:`…) is shown as text, never as a link.
pub(crate) fn linkable(href: &str) -> bool {
    let lower = href.trim_start().to_ascii_lowercase();
    ["http://", "https://", "mailto:"]
        .iter()
        .any(|p| lower.starts_with(p))
        || (href.starts_with('/') && !href.starts_with("//"))
}

/// `<a>` to `href` when [`linkable`], else the text alone (titled with the IRI).
pub(crate) fn link(class: &str, href: &str, title: &str, text: &str) -> String {
    let class = if class.is_empty() {
        String::new()
    } else {
        format!(" class=\"{class}\"")
    };
    if linkable(href) {
        format!(
            "<a{class} href=\"{}\" title=\"{}\">{}</a>",
            esc(href),
            esc(title),
            esc(text)
        )
    } else {
        format!("<span{class} title=\"{}\">{}</span>", esc(title), esc(text))
    }
}

#[cfg(test)]
mod link_tests {
    use super::*;

    #[test]
    fn only_web_and_mail_iris_are_links() {
        assert!(link("", "https://example.org/a", "t", "x").starts_with("<a "));
        assert!(link("", "mailto:data@council.gov.uk", "t", "x").starts_with("<a "));
        assert!(link("", "/doc/x", "t", "x").starts_with("<a "));
        for bad in [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "data:text/html,<b>",
            "//evil.example/",
            "vbscript:x",
        ] {
            let h = link("iri", bad, bad, "x");
            assert!(h.starts_with("<span") && !h.contains("href"), "{bad}: {h}");
        }
    }
}
