//! Search: a full-text index (tantivy) of the names in a release (suppliers, councils,
//! services, places, the dataset's title), built when the release is published, kept in
//! `search/{dataset}/{release}/` and removed with it. The site searches the indexes of the
//! live releases only, so a rollback or a withdrawal changes what is found at once.
//!
//! Names are matched as people type them: case and punctuation do not matter, "&" is "and",
//! legal forms ("Ltd", "Limited", "PLC", "LLP"…) and "the" are left out, and each word may
//! be misspelt by one letter (two in words of eight letters or more); the last word may be
//! the start of a word. Hits are ranked by tantivy's BM25, exact words counting three times
//! a fuzzy match.

use crate::{Error, Result};
use std::path::{Path, PathBuf};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Schema, Value, STORED, STRING, TEXT};
use tantivy::{doc, Index, TantivyDocument, Term};

/// Words that do not tell names apart.
const IGNORED: &[&str] = &[
    "ltd", "limited", "plc", "llp", "lp", "co", "company", "inc", "cic", "cio", "the", "of", "uk",
];

/// One thing that can be found: its IRI, the name it is shown by, every name it has, and
/// what kind of thing it is ("supplier", "council", "place", "dataset"…).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub iri: String,
    pub label: String,
    pub names: String,
    pub kind: String,
}

/// A thing found, best first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
    pub iri: String,
    pub label: String,
    pub kind: String,
    pub dataset: String,
    pub score: f32,
}

/// The words of a name or a query, as they are indexed and matched.
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace('&', " and ")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !IGNORED.contains(w))
        .map(str::to_string)
        .collect()
}

fn schema() -> Schema {
    let mut s = Schema::builder();
    s.add_text_field("iri", STRING | STORED);
    s.add_text_field("label", STORED);
    s.add_text_field("kind", STRING | STORED);
    s.add_text_field("dataset", STRING | STORED);
    s.add_text_field("words", TEXT);
    s.build()
}

fn err(what: &str) -> impl Fn(tantivy::TantivyError) -> Error + '_ {
    move |e| Error::Invalid(format!("search index: {what}: {e}"))
}

/// Builds the index of `entries` for `dataset` in `dir` (replaced if it exists).
pub fn build(dir: &Path, dataset: &str, entries: &[Entry]) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let schema = schema();
    let index = Index::create_in_dir(dir, schema.clone()).map_err(err("create"))?;
    let mut writer = index
        .writer_with_num_threads::<TantivyDocument>(1, 32 << 20)
        .map_err(err("writer"))?;
    let f = |name: &str| schema.get_field(name).map_err(err("schema"));
    let (iri, label, kind, ds, w) = (
        f("iri")?,
        f("label")?,
        f("kind")?,
        f("dataset")?,
        f("words")?,
    );
    for e in entries {
        let all = words(&format!("{} {}", e.label, e.names)).join(" ");
        if all.is_empty() {
            continue;
        }
        writer
            .add_document(doc!(
                iri => e.iri.as_str(),
                label => e.label.as_str(),
                kind => e.kind.as_str(),
                ds => dataset,
                w => all,
            ))
            .map_err(err("add"))?;
    }
    writer.commit().map_err(err("commit"))?;
    writer.wait_merging_threads().map_err(err("merge"))?;
    Ok(())
}

/// The query for `text`: every word must match, exactly or nearly.
fn query(index: &Index, text: &str) -> Result<Option<Box<dyn Query>>> {
    let field = index.schema().get_field("words").map_err(err("schema"))?;
    let ws = words(text);
    let last = ws.len().saturating_sub(1);
    let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (i, w) in ws.iter().enumerate() {
        let term = Term::from_field_text(field, w);
        let distance = match w.chars().count() {
            0..=3 => 0,
            4..=7 => 1,
            _ => 2,
        };
        let mut either: Vec<(Occur, Box<dyn Query>)> = vec![
            (
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                    3.0,
                )),
            ),
            (
                Occur::Should,
                Box::new(FuzzyTermQuery::new(term.clone(), distance, true)),
            ),
        ];
        if i == last {
            either.push((
                Occur::Should,
                Box::new(FuzzyTermQuery::new_prefix(term, distance.min(1), true)),
            ));
        }
        must.push((Occur::Must, Box::new(BooleanQuery::new(either))));
    }
    Ok((!must.is_empty()).then(|| Box::new(BooleanQuery::new(must)) as Box<dyn Query>))
}

/// The index in `dir` and a reader of it, opened once per process: a release's index never
/// changes after it is built (a new release has a new folder). At most [`OPENED`] are kept;
/// past that the cache starts again. None (logged) when it cannot be opened.
fn opened(dir: &Path) -> Option<(Index, tantivy::IndexReader)> {
    type Opened = std::collections::HashMap<PathBuf, (Index, tantivy::IndexReader)>;
    static CACHE: std::sync::OnceLock<std::sync::Mutex<Opened>> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(dir).cloned()) {
        return Some(hit);
    }
    let index = Index::open_in_dir(dir)
        .and_then(|i| i.reader().map(|r| (i, r)))
        .map_err(|e| tracing::warn!(dir = %dir.display(), error = %e, "search index not opened"))
        .ok()?;
    if let Ok(mut c) = cache.lock() {
        if c.len() >= OPENED {
            c.clear();
        }
        c.insert(dir.to_path_buf(), index.clone());
    }
    Some(index)
}

/// The most indexes kept open.
const OPENED: usize = 512;

/// Searches the indexes `dirs` for `text`: at most `limit` hits, best first.
pub fn search(dirs: &[PathBuf], text: &str, limit: usize) -> Result<Vec<Hit>> {
    let mut hits = Vec::new();
    for dir in dirs {
        let Some((index, reader)) = opened(dir) else {
            continue;
        };
        let Some(q) = query(&index, text)? else {
            return Ok(Vec::new());
        };
        let searcher = reader.searcher();
        let schema = index.schema();
        let top = searcher
            .search(&q, &TopDocs::with_limit(limit))
            .map_err(err("search"))?;
        for (score, address) in top {
            let d: TantivyDocument = searcher.doc(address).map_err(err("doc"))?;
            let get = |name: &str| -> String {
                schema
                    .get_field(name)
                    .ok()
                    .and_then(|f| d.get_first(f).and_then(|v| v.as_str().map(str::to_string)))
                    .unwrap_or_default()
            };
            hits.push(Hit {
                iri: get("iri"),
                label: get("label"),
                kind: get("kind"),
                dataset: get("dataset"),
                score,
            });
        }
    }
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.label.cmp(&b.label))
    });
    hits.dedup_by(|a, b| a.iri == b.iri);
    hits.truncate(limit);
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(iri: &str, label: &str, kind: &str) -> Entry {
        Entry {
            iri: iri.into(),
            label: label.into(),
            names: String::new(),
            kind: kind.into(),
        }
    }

    #[test]
    fn names_are_found_as_people_type_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut capita = entry(
            "http://x/s/capita",
            "Capita Business Services Ltd",
            "supplier",
        );
        capita.names = "CAPITA BUSINESS SERVICES LIMITED | Capita Business Services".into();
        build(
            dir.path(),
            "d",
            &[
                capita,
                entry(
                    "http://x/s/meadowbank",
                    "Meadowbank Waste Solutions Ltd",
                    "supplier",
                ),
                entry("http://x/s/marks", "Marks & Spencer PLC", "supplier"),
                entry("http://x/c/leeds", "Leeds City Council", "council"),
            ],
        )
        .unwrap();
        let find = |q: &str| -> Vec<String> {
            search(&[dir.path().to_path_buf()], q, 10)
                .unwrap()
                .into_iter()
                .map(|h| h.iri)
                .collect()
        };
        // Case, punctuation and legal forms do not matter.
        assert_eq!(find("capita"), ["http://x/s/capita"]);
        assert_eq!(find("CAPITA LTD."), ["http://x/s/capita"]);
        assert_eq!(find("capita limited"), ["http://x/s/capita"]);
        // Small typos.
        assert_eq!(find("meadowbnak waste"), ["http://x/s/meadowbank"]);
        assert_eq!(find("capitta"), ["http://x/s/capita"]);
        // "&" is "and"; the last word may be the start of one.
        assert_eq!(find("marks and spencer"), ["http://x/s/marks"]);
        assert_eq!(find("leeds cit"), ["http://x/c/leeds"]);
        // Every word must match; legal forms alone find nothing.
        assert!(find("capita leeds").is_empty());
        assert!(find("ltd").is_empty());
        assert!(find("").is_empty());
        // A hit says what it is and where it is from.
        let h = &search(&[dir.path().to_path_buf()], "leeds", 10).unwrap()[0];
        assert_eq!((h.kind.as_str(), h.dataset.as_str()), ("council", "d"));
        // A missing index is skipped.
        assert!(search(&[dir.path().join("nope")], "leeds", 10)
            .unwrap()
            .is_empty());
    }
}
