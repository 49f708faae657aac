//! Runs the W3C CSVW test suite (in `../shared/csvw-tests`) against the `csvw` crate.
//!
//! The web is simulated as the suite's SOURCE.md describes: `http://www.w3.org/2013/csvw/tests/`
//! maps to the folder (query strings dropped when finding a file), anything missing is a 404,
//! a test's `httpLink` is the Link header of its action, and the site-wide
//! `/.well-known/csvm` lists four URI templates.

use anyhow::{anyhow, Context, Result};
use csvw::fetch::{Fetcher, Resource};
use csvw::Options;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use url::Url;

pub const BASE: &str = "http://www.w3.org/2013/csvw/tests/";

/// Where the suite lives: `$CSVW_TESTS`, or `shared/csvw-tests` beside the workspace.
pub fn suite_dir() -> PathBuf {
    if let Ok(d) = std::env::var("CSVW_TESTS") {
        return PathBuf::from(d);
    }
    // The run-time CARGO_MANIFEST_DIR (cargo sets it for `test` and `run`) first: the
    // compiled-in one is stale when a shared target folder reuses a build of another checkout.
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into());
    Path::new(&dir).join("../../../shared/csvw-tests")
}

/// The simulated web server.
pub struct SuiteWeb {
    dir: PathBuf,
    /// Link headers by URL.
    links: HashMap<String, String>,
    content_types: HashMap<String, String>,
}

impl SuiteWeb {
    pub fn new(dir: PathBuf) -> Self {
        SuiteWeb {
            dir,
            links: HashMap::new(),
            content_types: HashMap::new(),
        }
    }
}

impl Fetcher for SuiteWeb {
    fn fetch(&self, url: &Url) -> std::result::Result<Option<Resource>, String> {
        if url.as_str() == "http://www.w3.org/.well-known/csvm" {
            let body = "{+url}-metadata.json\ncsv-metadata.json\n{+url}.json\ncsvm.json\n";
            return Ok(Some(Resource::from_bytes(body.as_bytes().to_vec())));
        }
        let mut plain = url.clone();
        plain.set_query(None);
        plain.set_fragment(None);
        let Some(rel) = plain.as_str().strip_prefix(BASE) else {
            return Ok(None);
        };
        let path = self.dir.join(rel);
        if !path.is_file() {
            return Ok(None);
        }
        let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
        let mut res = Resource::from_bytes(bytes);
        let key = url.as_str().to_string();
        if let Some(l) = self.links.get(&key) {
            res.links.push(l.clone());
        }
        res.content_type = self.content_types.get(&key).cloned();
        Ok(Some(res))
    }
}

/// One manifest entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub action: String,
    pub result: Option<String>,
    pub metadata: Option<String>,
    pub minimal: bool,
    pub link: Option<String>,
    pub content_type: Option<String>,
}

pub fn load_manifest(dir: &Path, which: &str) -> Result<Vec<Entry>> {
    let path = dir.join(format!("manifest-{which}.jsonld"));
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let doc: Value = serde_json::from_str(&text)?;
    let entries = doc["entries"]
        .as_array()
        .ok_or_else(|| anyhow!("no entries"))?;
    let s = |v: &Value| v.as_str().map(String::from);
    Ok(entries
        .iter()
        .map(|e| Entry {
            id: s(&e["id"]).unwrap_or_default(),
            kind: s(&e["type"])
                .unwrap_or_default()
                .trim_start_matches("csvt:")
                .to_string(),
            name: s(&e["name"]).unwrap_or_default(),
            action: s(&e["action"]).unwrap_or_default(),
            result: s(&e["result"]),
            metadata: s(&e["option"]["metadata"]),
            minimal: e["option"]["minimal"].as_bool().unwrap_or(false),
            link: s(&e["httpLink"]),
            content_type: s(&e["contentType"]),
        })
        .collect())
}

/// The outcome of one test.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: String,
    pub passed: bool,
    pub detail: String,
}

fn web_for(dir: &Path, e: &Entry) -> Result<(SuiteWeb, Url, Options)> {
    let mut web = SuiteWeb::new(dir.to_path_buf());
    let action = Url::parse(BASE)?.join(&e.action)?;
    if let Some(l) = &e.link {
        web.links.insert(action.to_string(), l.clone());
    }
    if let Some(ct) = &e.content_type {
        web.content_types.insert(action.to_string(), ct.clone());
    }
    let options = Options {
        metadata: match &e.metadata {
            Some(m) => Some(Url::parse(BASE)?.join(m)?),
            None => None,
        },
        ..Options::default()
    };
    Ok((web, action, options))
}

fn graph_of_ntriples(nt: &str) -> Result<sophia_inmem::graph::LightGraph> {
    use sophia_api::parser::TripleParser;
    use sophia_api::source::TripleSource;
    sophia_turtle::parser::nt::NTriplesParser::new()
        .parse_str(nt)
        .collect_triples()
        .map_err(|e| anyhow!("{e}"))
}

fn graph_of_turtle(ttl: &str, base: &str) -> Result<sophia_inmem::graph::LightGraph> {
    use sophia_api::parser::TripleParser;
    use sophia_api::source::TripleSource;
    let base = sophia_iri::resolve::BaseIriRef::new(Box::<str>::from(base))?;
    sophia_turtle::parser::turtle::TurtleParser::new()
        .with_base(Some(base))
        .parse_str(ttl)
        .collect_triples()
        .map_err(|e| anyhow!("{e}"))
}

fn triples_to_ntriples(triples: &[oxrdf::Triple]) -> Result<String> {
    let mut out = Vec::new();
    let mut ser =
        oxrdfio::RdfSerializer::from_format(oxrdfio::RdfFormat::NTriples).for_writer(&mut out);
    for t in triples {
        ser.serialize_triple(t)?;
    }
    ser.finish()?;
    Ok(String::from_utf8(out)?)
}

/// Compares JSON structurally: key order ignored, numbers by value.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

fn summarize(report: &csvw::Report) -> String {
    report
        .diagnostics
        .iter()
        .take(3)
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Our output for one test, and the report (for debugging).
pub fn show_entry(dir: &Path, which: &str, e: &Entry) -> String {
    let Ok((web, action, options)) = web_for(dir, e) else {
        return "setup failed".into();
    };
    let res = match which {
        "rdf" => {
            let mut triples = Vec::new();
            csvw::to_rdf(&action, &web, options, e.minimal, &mut triples)
                .map(|r| (r, triples_to_ntriples(&triples).unwrap_or_default()))
        }
        "json" => {
            let mut out = Vec::new();
            csvw::to_json(&action, &web, options, e.minimal, true, &mut out)
                .map(|r| (r, String::from_utf8_lossy(&out).into_owned()))
        }
        _ => csvw::validate(&action, &web, options).map(|r| (r, String::new())),
    };
    match res {
        Ok((r, out)) => {
            let diags: Vec<String> = r.diagnostics.iter().map(|d| d.to_string()).collect();
            format!("{out}\n--- diagnostics:\n{}", diags.join("\n"))
        }
        Err(e) => format!("error: {e}"),
    }
}

pub fn run_entry(dir: &Path, which: &str, e: &Entry) -> Outcome {
    let outcome = |passed: bool, detail: String| Outcome {
        id: e.id.clone(),
        passed,
        detail,
    };
    let (web, action, options) = match web_for(dir, e) {
        Ok(x) => x,
        Err(err) => return outcome(false, format!("setup: {err}")),
    };
    let expect_warning = e.kind.ends_with("WithWarnings") || e.kind == "WarningValidationTest";
    let negative = e.kind.starts_with("Negative");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
        || -> Result<(csvw::Report, String)> {
            match which {
                "rdf" => {
                    let mut triples = Vec::new();
                    let r = csvw::to_rdf(&action, &web, options, e.minimal, &mut triples)?;
                    Ok((r, triples_to_ntriples(&triples)?))
                }
                "json" => {
                    let mut out = Vec::new();
                    let r = csvw::to_json(&action, &web, options, e.minimal, false, &mut out)?;
                    Ok((r, String::from_utf8(out)?))
                }
                _ => Ok((csvw::validate(&action, &web, options)?, String::new())),
            }
        },
    ));
    let (report, output) = match result {
        Err(_) => return outcome(false, "panicked".into()),
        Ok(Err(err)) => {
            return if negative {
                outcome(true, String::new())
            } else {
                outcome(false, format!("failed: {err:#}"))
            }
        }
        Ok(Ok(x)) => x,
    };
    if negative {
        return if report.has_errors() {
            outcome(true, String::new())
        } else {
            outcome(
                false,
                format!("expected an error; got {}", summarize(&report)),
            )
        };
    }
    if report.has_errors() {
        return outcome(false, format!("unexpected errors: {}", summarize(&report)));
    }
    if expect_warning && !report.has_warnings() {
        return outcome(false, "expected a warning, got none".into());
    }
    if !expect_warning && report.has_warnings() && which == "validation" {
        return outcome(
            false,
            format!("unexpected warnings: {}", summarize(&report)),
        );
    }
    let Some(result) = &e.result else {
        return outcome(true, String::new());
    };
    let result_url = match Url::parse(BASE).and_then(|b| b.join(result)) {
        Ok(u) => u,
        Err(err) => return outcome(false, format!("bad result path: {err}")),
    };
    let expected = match std::fs::read_to_string(dir.join(result)) {
        Ok(t) => t,
        Err(err) => return outcome(false, format!("reading expected result: {err}")),
    };
    match which {
        "rdf" => {
            let cmp = (|| -> Result<bool> {
                let got = graph_of_ntriples(&output)?;
                let want = graph_of_turtle(&expected, result_url.as_str())?;
                sophia_isomorphism::isomorphic_graphs(&got, &want).map_err(|e| anyhow!("{e}"))
            })();
            match cmp {
                Ok(true) => outcome(true, String::new()),
                Ok(false) => outcome(false, "graphs are not isomorphic".into()),
                Err(err) => outcome(false, format!("comparing: {err:#}")),
            }
        }
        _ => {
            let got: Value = match serde_json::from_str(&output) {
                Ok(v) => v,
                Err(err) => return outcome(false, format!("output is not JSON: {err}")),
            };
            let want: Value = match serde_json::from_str(&expected) {
                Ok(v) => v,
                Err(err) => return outcome(false, format!("expected is not JSON: {err}")),
            };
            if json_equal(&got, &want) {
                outcome(true, String::new())
            } else {
                outcome(false, "JSON differs".into())
            }
        }
    }
}

/// Runs one manifest (`rdf`, `json` or `validation`).
pub fn run_manifest(dir: &Path, which: &str) -> Result<Vec<Outcome>> {
    let entries = load_manifest(dir, which)?;
    Ok(entries.iter().map(|e| run_entry(dir, which, e)).collect())
}

/// The known failures: test id → the erratum or reason.
pub fn known_failures() -> BTreeMap<String, String> {
    include_str!("../known-failures.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(char::is_whitespace))
        .map(|(id, why)| (id.to_string(), why.trim().to_string()))
        .collect()
}
