//! The CSVW JSON-LD context: prefixes and terms, prefixed-name expansion and URL compaction.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

pub const CSVW: &str = "http://www.w3.org/ns/csvw#";
pub const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
pub const XSD: &str = "http://www.w3.org/2001/XMLSchema#";

struct Context {
    /// prefix → namespace IRI (only entries ending in `#` or `/`).
    prefixes: HashMap<String, String>,
    /// term → absolute IRI (every entry, prefixes included, fully expanded).
    terms: HashMap<String, String>,
    /// absolute IRI → term, for compaction.
    reverse: HashMap<String, String>,
    /// prefixes sorted by namespace length, longest first, for compaction.
    by_length: Vec<(String, String)>,
}

fn context() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| {
        let doc: Value = serde_json::from_str(include_str!("csvw-context.jsonld"))
            .expect("the bundled CSVW context is valid JSON");
        let map = doc["@context"].as_object().expect("context object");
        let mut raw: Vec<(String, String)> = Vec::new();
        for (k, v) in map {
            if k.starts_with('@') {
                continue;
            }
            let iri = match v {
                Value::String(s) => s.clone(),
                Value::Object(o) => match o.get("@id").and_then(Value::as_str) {
                    Some(s) => s.to_string(),
                    None => continue,
                },
                _ => continue,
            };
            raw.push((k.clone(), iri));
        }
        let mut prefixes = HashMap::new();
        for (k, v) in &raw {
            if v.contains("://") && (v.ends_with('#') || v.ends_with('/')) {
                prefixes.insert(k.clone(), v.clone());
            }
        }
        let expand = |s: &str| -> String {
            if let Some((p, rest)) = s.split_once(':') {
                if let Some(ns) = prefixes.get(p) {
                    return format!("{ns}{rest}");
                }
            }
            s.to_string()
        };
        let mut terms = HashMap::new();
        let mut reverse = HashMap::new();
        for (k, v) in &raw {
            let iri = expand(v);
            if !prefixes.contains_key(k) {
                reverse.entry(iri.clone()).or_insert_with(|| k.clone());
            }
            terms.insert(k.clone(), iri);
        }
        let mut by_length: Vec<(String, String)> = prefixes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        by_length.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        Context {
            prefixes,
            terms,
            reverse,
            by_length,
        }
    })
}

/// Expands `prefix:name` with a prefix of the CSVW context; `None` if it is not one.
pub fn expand_prefixed(s: &str) -> Option<String> {
    let (p, rest) = s.split_once(':')?;
    if rest.starts_with("//") {
        return None;
    }
    context().prefixes.get(p).map(|ns| format!("{ns}{rest}"))
}

/// Expands a term of the CSVW context (`Table`, `url`, `string`…) or a prefixed name.
pub fn expand_term(s: &str) -> Option<String> {
    if let Some(t) = context().terms.get(s) {
        return Some(t.clone());
    }
    expand_prefixed(s)
}

/// Is this a prefix of the CSVW context?
pub fn is_prefix(p: &str) -> bool {
    context().prefixes.contains_key(p)
}

/// Compacts an absolute URL to a term or prefixed name (tabular-metadata A.1).
pub fn compact(iri: &str) -> String {
    let ctx = context();
    if let Some(t) = ctx.reverse.get(iri) {
        return t.clone();
    }
    for (p, ns) in &ctx.by_length {
        if let Some(rest) = iri.strip_prefix(ns.as_str()) {
            let c = format!("{p}:{rest}");
            if c == "rdf:type" {
                return "@type".to_string();
            }
            return c;
        }
    }
    iri.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_and_compaction() {
        assert_eq!(
            expand_prefixed("dc:title").as_deref(),
            Some("http://purl.org/dc/terms/title")
        );
        assert_eq!(expand_prefixed("http://x/y"), None);
        assert_eq!(expand_prefixed("nope:x"), None);
        assert_eq!(
            expand_term("Table").as_deref(),
            Some("http://www.w3.org/ns/csvw#Table")
        );
        assert_eq!(
            expand_term("json").as_deref(),
            Some("http://www.w3.org/ns/csvw#JSON")
        );
        assert_eq!(compact("http://schema.org/name"), "schema:name");
        assert_eq!(compact(&format!("{RDF}type")), "@type");
        assert_eq!(compact("http://example.org/x"), "http://example.org/x");
    }
}
