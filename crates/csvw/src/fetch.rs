//! How the engine reaches the web or the file system: through this trait only.
//!
//! The `csvw` crate holds no network or file-system code. The CLI implements [`Fetcher`] with
//! reqwest and the local file system; the conformance suite implements it over a folder that
//! simulates `http://www.w3.org/2013/csvw/tests/`.

use std::io::Read;
use url::Url;

/// A retrieved resource.
pub struct Resource {
    /// The body, read lazily: tables are streamed, never loaded whole.
    pub body: Box<dyn Read + Send>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// Every `Link` header value, in order.
    pub links: Vec<String>,
    /// The `Content-Language` header, if any.
    pub content_language: Option<String>,
}

impl Resource {
    /// A resource with just a body.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Resource {
            body: Box::new(std::io::Cursor::new(bytes)),
            content_type: None,
            links: Vec::new(),
            content_language: None,
        }
    }
}

/// Retrieves resources by URL.
pub trait Fetcher {
    /// `Ok(None)` when the resource does not exist (an HTTP 4xx or 5xx status, a missing file);
    /// `Err` with a message when it could not be retrieved for another reason.
    fn fetch(&self, url: &Url) -> Result<Option<Resource>, String>;
}

/// A fetcher that finds nothing: for processing data handed over in memory.
pub struct NoFetch;

impl Fetcher for NoFetch {
    fn fetch(&self, _url: &Url) -> Result<Option<Resource>, String> {
        Ok(None)
    }
}

/// Reads a whole resource body, bounded so that a hostile server cannot exhaust memory.
pub(crate) fn read_to_vec(mut r: impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    (&mut r).take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "larger than the {limit}-byte limit for metadata documents"
        )));
    }
    Ok(buf)
}

/// Parses the `Link` header values into `(target, rel, type)` triples.
pub fn parse_link_headers(values: &[String]) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    for value in values {
        for link in split_links(value) {
            let link = link.trim();
            let Some(rest) = link.strip_prefix('<') else {
                continue;
            };
            let Some(end) = rest.find('>') else { continue };
            let target = rest[..end].to_string();
            let mut rel = String::new();
            let mut ty = None;
            for param in rest[end + 1..].split(';') {
                let Some((k, v)) = param.split_once('=') else {
                    continue;
                };
                let v = v.trim().trim_matches('"').to_string();
                match k.trim().to_ascii_lowercase().as_str() {
                    "rel" => rel = v.to_ascii_lowercase(),
                    "type" => ty = Some(v),
                    _ => {}
                }
            }
            out.push((target, rel, ty));
        }
    }
    out
}

fn split_links(value: &str) -> Vec<&str> {
    // Commas separate links, but only outside <...> and quotes.
    let mut parts = Vec::new();
    let (mut in_angle, mut in_quote, mut start) = (false, false, 0);
    for (i, c) in value.char_indices() {
        match c {
            '<' if !in_quote => in_angle = true,
            '>' if !in_quote => in_angle = false,
            '"' if !in_angle => in_quote = !in_quote,
            ',' if !in_angle && !in_quote => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        let v = vec![
            r#"<a.json>; rel="describedBy"; type="application/csvm+json", <b>; rel=next"#
                .to_string(),
        ];
        let l = parse_link_headers(&v);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].0, "a.json");
        assert_eq!(l[0].1, "describedby");
        assert_eq!(l[0].2.as_deref(), Some("application/csvm+json"));
        assert_eq!(l[1].1, "next");
    }
}
