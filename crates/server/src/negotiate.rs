//! Content negotiation: the Accept header (with q-values), or a `format` parameter for browsers.

use axum::http::{header, HeaderMap};
use fivestar_store::rdf::QueryResultsFormat;
use fivestar_store::rdf::RdfFormat;

/// The Accept header: media ranges with q > 0, best first, and those refused with q=0.
/// `None` without the header (anything goes).
struct Accept {
    wanted: Vec<(String, f32)>,
    refused: Vec<String>,
}

fn accept(headers: &HeaderMap) -> Option<Accept> {
    let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
    let (mut wanted, mut refused) = (Vec::new(), Vec::new());
    for part in accept.split(',') {
        let mut bits = part.split(';');
        let media = bits.next().unwrap_or("").trim().to_ascii_lowercase();
        if media.is_empty() {
            continue;
        }
        let q = bits
            .filter_map(|b| b.trim().strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .filter(|q| q.is_finite())
            .unwrap_or(1.0);
        if q > 0.0 {
            wanted.push((media, q));
        } else {
            refused.push(media);
        }
    }
    wanted.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
    Some(Accept { wanted, refused })
}

/// Media ranges of the Accept header, best first.
fn accepted(headers: &HeaderMap) -> Vec<(String, f32)> {
    accept(headers).map(|a| a.wanted).unwrap_or_default()
}

/// The first of `choices` (media type, format) the client did not refuse with q=0.
fn first_not_refused<F: Copy>(a: &Accept, choices: &[(&str, F)]) -> Option<F> {
    choices
        .iter()
        .find(|(m, _)| !a.refused.iter().any(|r| r == m))
        .map(|(_, f)| *f)
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
    let Some(a) = accept(headers) else {
        return Ok(RdfFormat::Turtle);
    };
    let jsonld = RdfFormat::JsonLd {
        profile: Default::default(),
    };
    let any = [
        ("text/turtle", RdfFormat::Turtle),
        ("application/n-triples", RdfFormat::NTriples),
        ("application/ld+json", jsonld),
        ("application/rdf+xml", RdfFormat::RdfXml),
    ];
    for (media, _) in &a.wanted {
        if let Some(f) = rdf_format(media) {
            return Ok(f);
        }
        let wildcard = match media.as_str() {
            "*/*" | "text/html" => &any[..],
            "text/*" => &any[..1],
            "application/*" => &any[1..],
            _ => continue,
        };
        if let Some(f) = first_not_refused(&a, wildcard) {
            return Ok(f);
        }
    }
    Err("none of the accepted media types can carry a graph".into())
}

/// The best results format for solutions or a boolean.
pub fn solutions_format(
    headers: &HeaderMap,
    param: Option<&str>,
) -> Result<QueryResultsFormat, String> {
    if let Some(p) = param {
        return results_format(p).ok_or_else(|| format!("format {p:?} is not a results format"));
    }
    let Some(a) = accept(headers) else {
        return Ok(QueryResultsFormat::Json);
    };
    let any = [
        ("application/sparql-results+json", QueryResultsFormat::Json),
        ("application/sparql-results+xml", QueryResultsFormat::Xml),
        ("text/csv", QueryResultsFormat::Csv),
        ("text/tab-separated-values", QueryResultsFormat::Tsv),
    ];
    for (media, _) in &a.wanted {
        if let Some(f) = results_format(media) {
            if !a.refused.iter().any(|r| r == media) {
                return Ok(f);
            }
        }
        let wildcard = match media.as_str() {
            "*/*" | "text/html" => &any[..],
            "application/*" => &any[..2],
            "text/*" => &any[2..],
            _ => continue,
        };
        if let Some(f) = first_not_refused(&a, wildcard) {
            return Ok(f);
        }
    }
    Err("none of the accepted media types can carry query results".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, accept.parse().unwrap());
        h
    }

    #[test]
    fn q_zero_refuses() {
        assert!(solutions_format(&with("text/csv;q=0, */*;q=0"), None).is_err());
        assert!(graph_format(&with("text/turtle;q=0, */*;q=0"), None).is_err());
        assert_eq!(
            solutions_format(&with("application/sparql-results+json;q=0, */*"), None),
            Ok(QueryResultsFormat::Xml)
        );
        assert_eq!(
            graph_format(&with("*/*;q=0.5, text/turtle;q=0"), None),
            Ok(RdfFormat::NTriples)
        );
        assert_eq!(
            solutions_format(&HeaderMap::new(), None),
            Ok(QueryResultsFormat::Json)
        );
        assert_eq!(
            solutions_format(&with("text/*"), None),
            Ok(QueryResultsFormat::Csv)
        );
        assert_eq!(
            solutions_format(
                &with("text/csv;q=0.2, application/sparql-results+xml"),
                None
            ),
            Ok(QueryResultsFormat::Xml)
        );
    }
}
