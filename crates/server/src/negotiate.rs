//! Content negotiation: the Accept header (with q-values), or a `format` parameter for browsers.

use axum::http::{header, HeaderMap};
use fivestar_store::oxigraph::io::RdfFormat;
use fivestar_store::oxigraph::sparql::results::QueryResultsFormat;

/// Media ranges of the Accept header, best first.
fn accepted(headers: &HeaderMap) -> Vec<(String, f32)> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Vec::new();
    };
    let mut out: Vec<(String, f32)> = accept
        .split(',')
        .filter_map(|part| {
            let mut bits = part.split(';');
            let media = bits.next()?.trim().to_ascii_lowercase();
            let q = bits
                .filter_map(|b| b.trim().strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            (!media.is_empty() && q > 0.0).then_some((media, q))
        })
        .collect();
    out.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
    out
}

pub fn rdf_format(name: &str) -> Option<RdfFormat> {
    Some(match name {
        "turtle" | "ttl" | "text/turtle" => RdfFormat::Turtle,
        "ntriples" | "nt" | "application/n-triples" => RdfFormat::NTriples,
        "jsonld" | "json-ld" | "application/ld+json" => RdfFormat::JsonLd {
            profile: Default::default(),
        },
        "rdfxml" | "xml" | "rdf" | "application/rdf+xml" => RdfFormat::RdfXml,
        _ => return None,
    })
}

pub fn results_format(name: &str) -> Option<QueryResultsFormat> {
    Some(match name {
        "json" | "application/sparql-results+json" | "application/json" => QueryResultsFormat::Json,
        "xml" | "application/sparql-results+xml" | "application/xml" => QueryResultsFormat::Xml,
        "csv" | "text/csv" => QueryResultsFormat::Csv,
        "tsv" | "text/tab-separated-values" => QueryResultsFormat::Tsv,
        _ => return None,
    })
}

pub fn media_type(f: RdfFormat) -> &'static str {
    match f {
        RdfFormat::Turtle => "text/turtle; charset=utf-8",
        RdfFormat::NTriples => "application/n-triples",
        RdfFormat::JsonLd { .. } => "application/ld+json",
        RdfFormat::RdfXml => "application/rdf+xml",
        _ => "application/octet-stream",
    }
}

pub fn results_media_type(f: QueryResultsFormat) -> &'static str {
    match f {
        QueryResultsFormat::Json => "application/sparql-results+json",
        QueryResultsFormat::Xml => "application/sparql-results+xml",
        QueryResultsFormat::Csv => "text/csv; charset=utf-8",
        _ => "text/tab-separated-values; charset=utf-8",
    }
}

/// An RDF format, or `None` for HTML. Without a preference, `default` (or HTML).
pub fn rdf_or_html(headers: &HeaderMap, default: Option<RdfFormat>) -> Option<RdfFormat> {
    for (media, _) in accepted(headers) {
        if media == "text/html" || media == "application/xhtml+xml" {
            return None;
        }
        if let Some(f) = rdf_format(&media) {
            return Some(f);
        }
        if media == "*/*" {
            return default;
        }
    }
    default
}

/// The best RDF format for a graph result.
pub fn graph_format(headers: &HeaderMap, param: Option<&str>) -> Result<RdfFormat, String> {
    if let Some(p) = param {
        return rdf_format(p).ok_or_else(|| format!("format {p:?} is not an RDF format here"));
    }
    let acc = accepted(headers);
    for (media, _) in &acc {
        if let Some(f) = rdf_format(media) {
            return Ok(f);
        }
        if media == "*/*" || media == "text/*" || media == "text/html" {
            return Ok(RdfFormat::Turtle);
        }
    }
    if acc.is_empty() {
        Ok(RdfFormat::Turtle)
    } else {
        Err("none of the accepted media types can carry a graph".into())
    }
}

/// The best results format for solutions or a boolean.
pub fn solutions_format(
    headers: &HeaderMap,
    param: Option<&str>,
) -> Result<QueryResultsFormat, String> {
    if let Some(p) = param {
        return results_format(p).ok_or_else(|| format!("format {p:?} is not a results format"));
    }
    let acc = accepted(headers);
    for (media, _) in &acc {
        if let Some(f) = results_format(media) {
            return Ok(f);
        }
        if media == "*/*" || media == "application/*" || media == "text/html" {
            return Ok(QueryResultsFormat::Json);
        }
    }
    if acc.is_empty() {
        Ok(QueryResultsFormat::Json)
    } else {
        Err("none of the accepted media types can carry query results".into())
    }
}
