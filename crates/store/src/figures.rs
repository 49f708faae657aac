//! Figures: the aggregates a dataset's page charts (spend per month, the largest suppliers, the
//! points of a map), computed by SPARQL over a release's graph once, when it is published, and
//! kept beside its dumps as `{release}-figures.json`. A page reads the file; it never runs an
//! aggregate over the whole graph. A figure whose query fails is left out (and logged): it
//! never stops a publish.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A figure to compute: its query selects `?key` (what a bar or point stands for: an IRI or a
/// literal), optionally `?label`, then `?value` (a number) and optionally `?count`; or, for
/// `chart = "points"`, `?lat` and `?long` instead of `?value`. `{graph}` in the query is the
/// release's graph IRI in angle brackets, `{summary}` its summary graph's and `{summary#id}`
/// the summary `id` in it (see [`crate::summary`]): a figure that sums many lines reads the
/// sums there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FigureQuery {
    pub id: String,
    pub title: String,
    /// `columns` (one bar per key, in the query's order: time), `bars` (ranked, horizontal)
    /// or `points` (a map).
    pub chart: String,
    /// The values are pounds.
    #[serde(default)]
    pub money: bool,
    pub query: String,
}

/// A computed figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub id: String,
    pub title: String,
    pub chart: String,
    pub money: bool,
    pub rows: Vec<FigureRow>,
}

/// One bar or point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FigureRow {
    /// An IRI, or a literal's value.
    pub key: String,
    pub key_is_iri: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The value's lexical form (a sum keeps its decimal digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long: Option<f64>,
    /// The query's other variables (further grouping keys), name → IRI or literal value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by: Vec<(String, String)>,
}

/// The most rows a figure keeps (a query's own LIMIT should be lower).
pub const MAX_ROWS: usize = 1_000_000;

/// The file of a release's figures.
pub fn file_name(release: &str) -> String {
    format!("{release}-figures.json")
}

/// Reads the figures of a release (none when the file is missing).
pub fn read(dir: &Path, release: &str) -> Result<Vec<Figure>> {
    let path = dir.join(file_name(release));
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| Error::Invalid(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(Error::Io { path, source }),
    }
}

/// Writes `figures` for `release` (nothing when there are none).
pub fn write(dir: &Path, release: &str, figures: &[Figure]) -> Result<()> {
    if figures.is_empty() {
        return Ok(());
    }
    let path = dir.join(file_name(release));
    let bytes = serde_json::to_vec(figures).map_err(|e| Error::Invalid(e.to_string()))?;
    std::fs::write(&path, bytes).map_err(|source| Error::Io { path, source })
}

/// The query with its holes filled (see [`FigureQuery`]).
pub fn holes(query: &str, graph: &str, summary: &str) -> String {
    let mut out = String::with_capacity(query.len() + 64);
    let mut rest = query;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        let hole = &rest[at..];
        let filled = ["{graph}", "{summary}"]
            .into_iter()
            .zip([graph, summary])
            .find(|(h, _)| hole.starts_with(h))
            .map(|(h, iri)| (h.len(), format!("<{iri}>")))
            .or_else(|| {
                let id = hole.strip_prefix("{summary#")?;
                let end = id.find('}')?;
                let id = &id[..end];
                id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    .then(|| ("{summary#}".len() + end, format!("<{summary}#{id}>")))
            });
        match filled {
            Some((len, iri)) => {
                out.push_str(&iri);
                rest = &hole[len..];
            }
            None => {
                out.push('{');
                rest = &hole[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Computes each figure with `select` (a SELECT query's rows, as name → term) over `graph`,
/// on two threads (the figures are independent; the store answers queries side by side).
/// `select` is told whether the query reads nothing but the summary graph (see
/// [`reads_only`]): such a query can be answered from the summary's quads in memory, not
/// the store.
pub fn compute(
    graph: &str,
    summary: &str,
    queries: &[FigureQuery],
    select: impl Fn(&str, bool) -> Result<Vec<Vec<(String, oxigraph::model::Term)>>> + Sync,
) -> Vec<Figure> {
    let one = |q: &FigureQuery| -> Option<Figure> {
        let text = holes(&q.query, graph, summary);
        let t = std::time::Instant::now();
        let in_summary = reads_only(&text, summary);
        let rows = match select(&text, in_summary) {
            Ok(rows) => {
                tracing::debug!(figure = %q.id, rows = rows.len(), in_summary, seconds = t.elapsed().as_secs_f64(), "figure computed");
                rows
            }
            Err(e) => {
                tracing::warn!(figure = %q.id, error = %e, "figure not computed");
                return None;
            }
        };
        Some(Figure {
            id: q.id.clone(),
            title: q.title.clone(),
            chart: q.chart.clone(),
            money: q.money,
            rows: rows
                .into_iter()
                .take(MAX_ROWS)
                .filter_map(|row| figure_row(&row))
                .collect(),
        })
    };
    // Each worker takes the next figure when it is free: one slow query does not hold back
    // the figures dealt to its thread.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, Figure)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (one, next) = (&one, &next);
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(q) = queries.get(i) else {
                            return done;
                        };
                        if let Some(f) = one(q) {
                            done.push((i, f));
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, f)| f).collect()
}

/// Whether `query` (a SELECT or ASK, its holes filled) reads no graph but `graph`: every
/// triple and path pattern inside `GRAPH <graph>`, no dataset clause, no SERVICE, no
/// EXISTS. A query that cannot be parsed, or that is unsure, is said to read more.
pub fn reads_only(query: &str, graph: &str) -> bool {
    use spargebra::algebra::GraphPattern as P;
    use spargebra::term::NamedNodePattern;
    fn inside(p: &P, graph: &str, within: bool) -> bool {
        let exists = |e: &dyn std::fmt::Display| e.to_string().contains("EXISTS");
        match p {
            P::Bgp { patterns } => within || patterns.is_empty(),
            P::Path { .. } => within,
            P::Graph { name, inner } => match name {
                NamedNodePattern::NamedNode(n) if n.as_str() == graph => inside(inner, graph, true),
                _ => false,
            },
            P::Join { left, right } | P::Union { left, right } | P::Minus { left, right } => {
                inside(left, graph, within) && inside(right, graph, within)
            }
            P::LeftJoin {
                left,
                right,
                expression,
            } => {
                expression.as_ref().is_none_or(|e| !exists(e))
                    && inside(left, graph, within)
                    && inside(right, graph, within)
            }
            P::Filter { expr, inner } => !exists(expr) && inside(inner, graph, within),
            P::Extend {
                inner, expression, ..
            } => !exists(expression) && inside(inner, graph, within),
            P::OrderBy { inner, expression } => {
                expression.iter().all(|e| !exists(e)) && inside(inner, graph, within)
            }
            P::Group {
                inner, aggregates, ..
            } => aggregates.iter().all(|(_, a)| !exists(a)) && inside(inner, graph, within),
            P::Project { inner, .. }
            | P::Distinct { inner }
            | P::Reduced { inner }
            | P::Slice { inner, .. } => inside(inner, graph, within),
            P::Values { .. } => true,
            // SERVICE, and whatever else the algebra grows.
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }
    match spargebra::SparqlParser::new().parse_query(query) {
        Ok(spargebra::Query::Select {
            dataset: None,
            pattern,
            ..
        })
        | Ok(spargebra::Query::Ask {
            dataset: None,
            pattern,
            ..
        }) => inside(&pattern, graph, false),
        _ => false,
    }
}

fn figure_row(row: &[(String, oxigraph::model::Term)]) -> Option<FigureRow> {
    use oxigraph::model::Term;
    let get = |name: &str| row.iter().find(|(n, _)| n == name).map(|(_, t)| t);
    let literal = |name: &str| match get(name) {
        Some(Term::Literal(l)) => Some(l.value().to_string()),
        _ => None,
    };
    let (key, key_is_iri) = match get("key")? {
        Term::NamedNode(n) => (n.as_str().to_string(), true),
        Term::Literal(l) => (l.value().to_string(), false),
        _ => return None,
    };
    let number = |name: &str| literal(name).and_then(|v| v.parse::<f64>().ok());
    const NAMED: [&str; 6] = ["key", "label", "value", "count", "lat", "long"];
    let by = row
        .iter()
        .filter(|(n, _)| !NAMED.contains(&n.as_str()))
        .filter_map(|(n, t)| match t {
            Term::NamedNode(i) => Some((n.clone(), i.as_str().to_string())),
            Term::Literal(l) => Some((n.clone(), l.value().to_string())),
            _ => None,
        })
        .collect();
    Some(FigureRow {
        key,
        key_is_iri,
        label: literal("label"),
        value: literal("value").filter(|v| v.parse::<f64>().is_ok_and(f64::is_finite)),
        count: literal("count").and_then(|v| v.parse().ok()),
        lat: number("lat").filter(|v| v.is_finite()),
        long: number("long").filter(|v| v.is_finite()),
        by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_are_filled_and_braces_of_the_query_kept() {
        assert_eq!(
            holes(
                "SELECT * WHERE { GRAPH {graph} { ?s ?p ?o } GRAPH {summary} { ?o qb:dataSet {summary#by-month} } {summary#bad id} }",
                "http://x/g",
                "http://x/g/summary"
            ),
            "SELECT * WHERE { GRAPH <http://x/g> { ?s ?p ?o } GRAPH <http://x/g/summary> { ?o qb:dataSet <http://x/g/summary#by-month> } {summary#bad id} }"
        );
    }
    use oxigraph::model::{Literal, NamedNode, Term};

    #[test]
    fn a_query_reads_only_the_summary_when_every_pattern_is_inside_its_graph() {
        let s = "http://x/g/summary";
        let only = |q: &str| {
            reads_only(
                &format!("PREFIX qb: <http://purl.org/linked-data/cube#>\n{q}"),
                s,
            )
        };
        // The spending template's shapes: grouped, ordered, optional, a subquery.
        assert!(only("SELECT ?key ?value WHERE { GRAPH <http://x/g/summary> { ?o qb:dataSet <http://x/g/summary#m> ; <http://x/p> ?key . OPTIONAL { ?o <http://x/t> ?value } } } ORDER BY ?key LIMIT 600"));
        assert!(only("SELECT ?key WHERE { { SELECT ?key WHERE { GRAPH <http://x/g/summary> { ?o <http://x/p> ?key } } LIMIT 10 } VALUES ?x { 1 } } "));
        assert!(only(
            "ASK { GRAPH <http://x/g/summary> { ?s <http://x/p>+ ?o FILTER(?o > 1) } }"
        ));
        // Anything that reads elsewhere, or might.
        for q in [
            // The release's graph, for labels.
            "SELECT ?key ?label WHERE { GRAPH <http://x/g/summary> { ?o <http://x/p> ?key } OPTIONAL { GRAPH <http://x/g> { ?key <http://x/l> ?label } } }",
            // The default graph.
            "SELECT ?key WHERE { GRAPH <http://x/g/summary> { ?o <http://x/p> ?key } ?key <http://x/l> ?l }",
            "SELECT ?key WHERE { GRAPH <http://x/g/summary> { ?o <http://x/p> ?key } ?key <http://x/l>* ?l }",
            // A graph named by a variable, or another graph.
            "SELECT ?key WHERE { GRAPH ?g { ?o <http://x/p> ?key } }",
            "SELECT ?key WHERE { GRAPH <http://x/g/summary2> { ?o <http://x/p> ?key } }",
            // A dataset clause, EXISTS, SERVICE.
            "SELECT ?key FROM <http://x/g> WHERE { GRAPH <http://x/g/summary> { ?o <http://x/p> ?key } }",
            "SELECT ?key WHERE { GRAPH <http://x/g/summary> { ?o <http://x/p> ?key FILTER EXISTS { ?key ?p ?v } } }",
            "SELECT ?key WHERE { GRAPH <http://x/g/summary> { ?o <http://x/p> ?key } FILTER NOT EXISTS { ?key ?p ?v } }",
            "SELECT ?key WHERE { SERVICE <http://x/sparql> { ?o <http://x/p> ?key } }",
            // Not a query that can be read, or not a SELECT.
            "SELECT WHERE {",
            "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH <http://x/g/summary> { ?s ?p ?o } }",
        ] {
            assert!(!only(q), "{q}");
        }
    }

    #[test]
    fn rows_become_bars_and_a_failing_query_is_left_out() {
        let queries = vec![
            FigureQuery {
                id: "a".into(),
                title: "A".into(),
                chart: "columns".into(),
                money: true,
                query: "SELECT * WHERE { GRAPH {graph} { ?s ?p ?o } }".into(),
            },
            FigureQuery {
                id: "broken".into(),
                title: "B".into(),
                chart: "bars".into(),
                money: false,
                query: "nonsense".into(),
            },
        ];
        let seen = std::sync::Mutex::new(Vec::new());
        let figures = compute("http://x/g", "http://x/g/summary", &queries, |q, _| {
            seen.lock().unwrap().push(q.to_string());
            if q == "nonsense" {
                return Err(Error::Invalid("parse".into()));
            }
            Ok(vec![
                vec![
                    (
                        "key".into(),
                        Term::from(NamedNode::new_unchecked("http://x/m")),
                    ),
                    ("value".into(), Term::from(Literal::from(12.5))),
                    ("count".into(), Term::from(Literal::from(3))),
                ],
                // No key: not a bar.
                vec![("value".into(), Term::from(Literal::from(1)))],
                vec![
                    ("key".into(), Term::from(Literal::from("x"))),
                    ("value".into(), Term::from(Literal::from("not a number"))),
                ],
            ])
        });
        assert!(seen
            .lock()
            .unwrap()
            .contains(&"SELECT * WHERE { GRAPH <http://x/g> { ?s ?p ?o } }".to_string()));
        assert_eq!(figures.len(), 1);
        let rows = &figures[0].rows;
        assert_eq!(rows.len(), 2);
        assert!(rows[0].key_is_iri && rows[0].value.as_deref() == Some("12.5"));
        assert_eq!(rows[0].count, Some(3));
        assert_eq!(rows[1].value, None);
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "r1", &figures).unwrap();
        assert_eq!(read(dir.path(), "r1").unwrap(), figures);
        assert!(read(dir.path(), "r2").unwrap().is_empty());
    }
}
