//! Server-rendered pages: home, a page per dataset, the query page, and resource pages.

use crate::{blocking, error, AppState};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use fivestar_store::rdf::QueryResults;
use fivestar_store::{DatasetState, ReleaseState, Store};
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) use crate::markup::{
    esc, find_dataset, labels, link, linkable, page, page_response, page_with_feed, STYLE,
};

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Stars (1–5) and the reason for the first missing one.
pub fn stars(store: &Store, d: &DatasetState) -> (u8, Option<String>) {
    let Some(live) = d
        .live
        .as_ref()
        .and_then(|l| d.releases.iter().find(|r| &r.release == l))
    else {
        let open = d
            .licence
            .as_deref()
            .is_some_and(fivestar_store::is_open_licence);
        return if open {
            (1, Some("not published (withdrawn)".into()))
        } else {
            (0, Some("no open licence".into()))
        };
    };
    // The rating recorded in the catalogue when the release was published.
    if let Some(r) = &live.stars {
        return (r.stars, r.missing.first().cloned());
    }
    // Releases published before ratings were recorded: computed here, by the same licence list.
    if !d
        .licence
        .as_deref()
        .is_some_and(fivestar_store::is_open_licence)
    {
        return (0, Some("no open licence".into()));
    }
    // Published as RDF and CSV: structured (2) and open formats (3).
    let ask =
        |q: String| -> bool { matches!(store.query_public(&q), Ok(QueryResults::Boolean(true))) };
    let g = &live.graph;
    if !ask(format!(
        "ASK {{ GRAPH <{g}> {{ ?s ?p ?o FILTER(isIRI(?s)) }} }}"
    )) {
        return (3, Some("its things have no URIs".into()));
    }
    let base = store.layout().base();
    if !ask(format!(
        "ASK {{ GRAPH <{g}> {{ ?s ?p ?o FILTER(isIRI(?o) && ?p != <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> && !STRSTARTS(STR(?o), \"{base}/\")) }} }}"
    )) {
        return (4, Some("no links to other people's data".into()));
    }
    (5, None)
}

fn star_html(n: u8, why: &Option<String>) -> String {
    let s: String = (0..5).map(|i| if i < n { '★' } else { '☆' }).collect();
    let title = why
        .as_deref()
        .map(|w| format!("missing star: {w}"))
        .unwrap_or_else(|| "five-star linked data".into());
    format!(
        "<span class=\"stars\" title=\"{}\" aria-label=\"{n} stars\">{s}</span>",
        esc(&title)
    )
}

pub async fn home(State(st): State<Arc<AppState>>) -> Response {
    let st2 = st.clone();
    let html = blocking(move || {
        let datasets = st2.store.datasets().map_err(|e| e.to_string())?;
        let mut iris: Vec<String> = datasets.iter().filter_map(|d| d.publisher.clone()).collect();
        iris.extend(datasets.iter().filter_map(|d| d.licence.clone()));
        let labels = labels(&st2.store, &iris);
        let mut rows = String::new();
        for d in &datasets {
            let (n, why) = stars(&st2.store, d);
            let triples = d
                .live
                .as_ref()
                .and_then(|l| d.releases.iter().find(|r| &r.release == l))
                .map(|r| r.triples.to_string())
                .unwrap_or_else(|| "withdrawn".into());
            let publisher = d
                .publisher
                .as_ref()
                .map(|p| link("", p, p, labels.get(p).unwrap_or(p)))
                .unwrap_or_default();
            let licence = d
                .licence
                .as_ref()
                .map(|l| {
                    let name = if l.contains("open-government-licence/version/3") {
                        "OGL v3".to_string()
                    } else {
                        labels.get(l).cloned().unwrap_or_else(|| l.clone())
                    };
                    link("", l, l, &name)
                })
                .unwrap_or_default();
            rows.push_str(&format!(
                "<tr><td><a href=\"/dataset/{id}\">{title}</a></td><td>{publisher}</td><td>{licence}</td>\
<td>{updated}</td><td>{stars}</td><td>{triples}</td></tr>",
                id = esc(&d.id),
                title = esc(&d.title),
                updated = esc(d.modified.as_deref().unwrap_or("").get(..10).unwrap_or("")),
                stars = star_html(n, &why),
            ));
        }
        let table = if datasets.is_empty() {
            "<p>No datasets are published yet. Publish one with <code>fivestar publish</code>.</p>".to_string()
        } else {
            format!(
                "<table><tr><th>Dataset</th><th>Publisher</th><th>Licence</th><th>Updated</th>\
<th>Stars</th><th>Triples</th></tr>{rows}</table>"
            )
        };
        Ok(page(
            "Council open data",
            &format!(
                "<h1>Council open data, as linked data</h1>\
<p>fivestar publishes councils' spreadsheets as five-star linked data: every payment, supplier and \
place has a URI you can look up, the same vocabularies are used across councils, and one SPARQL query \
spans them all. Browse a dataset, run a query, or download a dump.</p>\
<h2>Datasets</h2>{table}\
<p class=\"muted\">The whole live store: <a href=\"/dumps/all.nq.gz\">all.nq.gz</a> \
(<a href=\"/dumps/all.nq.gz.sha256\">sha256</a>) · <a href=\"/catalog\">DCAT catalogue</a> · \
<a href=\"/.well-known/void\">VoID</a></p>"
            ),
        ))
    })
    .await;
    match html {
        Ok(h) => page_response(h),
        Err(r) => r,
    }
}

/// A summary of the live release (see `fivestar_store::summary`): its `qb:DataSet`, title and
/// dimensions in order.
struct SummaryInfo {
    data_set: String,
    title: String,
    dimensions: Vec<String>,
}

/// The summaries in a live release's summary graph.
fn summaries_of(store: &Store, summary_graph: &str) -> Vec<SummaryInfo> {
    let q = format!(
        "PREFIX qb: <http://purl.org/linked-data/cube#>\n\
SELECT ?d (SAMPLE(?label) AS ?title) ?dim ?n WHERE {{ GRAPH <{summary_graph}> {{\n\
  ?d a qb:DataSet ; <http://www.w3.org/2000/01/rdf-schema#label> ?label ; qb:structure/qb:component ?c .\n\
  ?c qb:dimension ?dim ; qb:order ?n }} }}\n\
GROUP BY ?d ?dim ?n ORDER BY ?d ?n LIMIT 1000"
    );
    let Ok(QueryResults::Solutions(rows)) = store.query_public(&q) else {
        return Vec::new();
    };
    let mut out: Vec<SummaryInfo> = Vec::new();
    for row in rows.flatten() {
        let text = |v: &str| match row.get(v) {
            Some(fivestar_store::rdf::Term::NamedNode(n)) => Some(n.as_str().to_string()),
            Some(fivestar_store::rdf::Term::Literal(l)) => Some(l.value().to_string()),
            _ => None,
        };
        let (Some(d), Some(title), Some(dim)) = (text("d"), text("title"), text("dim")) else {
            continue;
        };
        match out.last_mut() {
            Some(last) if last.data_set == d => last.dimensions.push(dim),
            _ => out.push(SummaryInfo {
                data_set: d,
                title,
                dimensions: vec![dim],
            }),
        }
    }
    out
}

/// A query of one summary, largest totals first: the variables are named after the
/// dimensions' local names.
fn summary_query(summary_graph: &str, own_terms: &str, s: &SummaryInfo) -> String {
    let mut vars = Vec::new();
    let mut patterns = String::new();
    for (i, dim) in s.dimensions.iter().enumerate() {
        let local: String = dim
            .rsplit(['#', '/'])
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let var = if local.is_empty() || vars.contains(&local) {
            format!("d{}", i + 1)
        } else {
            local
        };
        if i == 0 {
            patterns.push_str(&format!(" ;\n       <{dim}> ?{var}"));
        } else {
            patterns.push_str(&format!(" .\n    OPTIONAL {{ ?o <{dim}> ?{var} }}"));
        }
        vars.push(var);
    }
    let head: String = vars.iter().map(|v| format!("?{v} ")).collect();
    format!(
        "PREFIX qb: <http://purl.org/linked-data/cube#>\nPREFIX fs: <{own_terms}#>\n\
SELECT {head}?total ?lines WHERE {{\n  GRAPH <{summary_graph}> {{\n    \
?o qb:dataSet <{data_set}> ;\n       fs:total ?total ;\n       fs:lines ?lines{patterns}\n  }}\n}}\n\
ORDER BY DESC(?total)\nLIMIT 100",
        data_set = s.data_set,
    )
}

fn example_queries(
    graph: &str,
    payments: bool,
    summaries: &[(String, String)],
) -> Vec<(String, String)> {
    let mut q = vec![
        (
            "A sample of the data".to_string(),
            format!("SELECT ?s ?p ?o WHERE {{\n  GRAPH <{graph}> {{ ?s ?p ?o }}\n}}\nLIMIT 25"),
        ),
        (
            "What kinds of things it describes".to_string(),
            format!(
                "SELECT ?class (COUNT(?s) AS ?things) WHERE {{\n  GRAPH <{graph}> {{ ?s a ?class }}\n}}\nGROUP BY ?class\nORDER BY DESC(?things)"
            ),
        ),
    ];
    // Summed when the release was published: answered at once, however many lines it has.
    for (title, query) in summaries {
        q.push((format!("{title} (summed when published)"), query.clone()));
    }
    if payments && summaries.is_empty() {
        // Totals are summed before the names are joined: a supplier spelt several ways has
        // several labels, and joining them inside the GROUP BY would count each payment once
        // per spelling.
        q.push((
            "Spending by supplier, largest first".to_string(),
            format!(
                "PREFIX payment: <http://reference.data.gov.uk/def/payment#>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n\
SELECT ?supplier (SAMPLE(?label) AS ?name) ?total ?payments WHERE {{\n  \
{{\n    SELECT ?supplier (SUM(?amount) AS ?total) (COUNT(?line) AS ?payments) WHERE {{\n      \
GRAPH <{graph}> {{ ?line payment:payee ?supplier ; payment:netAmount ?amount }}\n    }}\n    GROUP BY ?supplier\n  }}\n  \
OPTIONAL {{ GRAPH <{graph}> {{ ?supplier rdfs:label ?label }} }}\n}}\n\
GROUP BY ?supplier ?total ?payments\nORDER BY DESC(?total)"
            ),
        ));
    }
    if payments {
        q.push((
            "Every council's spending with the same supplier (across all datasets)".to_string(),
            "PREFIX payment: <http://reference.data.gov.uk/def/payment#>\n\
SELECT ?supplier ?council (SUM(?amount) AS ?total) WHERE {\n  \
?line a payment:ExpenditureLine ; payment:payer ?council ;\n        payment:payee ?payee ; payment:netAmount ?amount .\n  \
BIND(STRAFTER(STR(?payee), \"/supplier/\") AS ?supplier)\n}\n\
GROUP BY ?supplier ?council\nORDER BY ?supplier DESC(?total)"
                .to_string(),
        ));
    }
    q
}

pub async fn dataset(State(st): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let st2 = st.clone();
    let result = blocking(move || {
        let Some(d) = find_dataset(&st2.store, &id)? else {
            return Ok(None);
        };
        if d.live.is_none() {
            // Withdrawn: gone, with nothing of its data linked (it may be why it was withdrawn).
            let body = format!(
                "<h1>{}</h1><p><strong>This dataset is withdrawn:</strong> it is not on the public view, and none of its releases can be downloaded.</p>",
                esc(&d.title)
            );
            return Ok(Some((StatusCode::GONE, page(&d.title, &body))));
        }
        let (n, why) = stars(&st2.store, &d);
        let mut body = format!(
            "<h1>{}</h1><p>{}</p><p>{}</p>",
            esc(&d.title),
            esc(d.description.as_deref().unwrap_or("")),
            star_html(n, &why)
        );
        if let Some(w) = &why {
            body.push_str(&format!("<p class=\"muted\">Missing star: {}.</p>", esc(w)));
        }
        if let Some(l) = d
            .live
            .as_ref()
            .and_then(|l| d.releases.iter().find(|r| &r.release == l))
            .and_then(|r| r.stars.as_ref())
            .and_then(|s| s.linked.as_ref())
        {
            body.push_str(&format!("<p class=\"linked\">Links: {}.</p>", esc(l)));
        }
        let dumps = "/dumps";
        match d.live.as_ref().and_then(|l| d.releases.iter().find(|r| &r.release == l)) {
            Some(live) => {
                // The clean CSV and its metadata exist when a CSV was the source.
                let csv_item = if st2.store.dumps_dir().join(&d.id).join("latest.csv").is_file() {
                    format!(
                        "<li><a href=\"{dumps}/{id}/latest.csv\">latest.csv</a> with its CSVW metadata \
<a href=\"{dumps}/{id}/latest-metadata.json\">latest-metadata.json</a></li>",
                        id = esc(&d.id)
                    )
                } else {
                    String::new()
                };
                body.push_str(&format!(
                    "<h2>Download</h2><p>Stable links to the live release:</p><ul>\
<li><a href=\"{dumps}/{id}/latest.nt.gz\">latest.nt.gz</a> (N-Triples, gzipped; <a href=\"{dumps}/{id}/latest.nt.gz.sha256\">sha256</a>)</li>\
{csv}<li>the live graph, <code>{graph}</code>, which resolves (SPARQL Graph Store Protocol): \
<a href=\"/graph/{id}/{rel}?format=turtle\">Turtle</a> · <a href=\"/graph/{id}/{rel}?format=ntriples\">N-Triples</a> · \
<a href=\"/graph/{id}/{rel}?format=jsonld\">JSON-LD</a> · <a href=\"/graph/{id}/{rel}?format=rdfxml\">RDF/XML</a></li></ul>",
                    id = esc(&d.id),
                    rel = esc(&live.release),
                    graph = esc(&live.graph),
                    csv = csv_item,
                ));
                let payments = matches!(
                    st2.store.query_public(
                        &format!("ASK {{ GRAPH <{}> {{ ?s <http://reference.data.gov.uk/def/payment#netAmount> ?o }} }}", live.graph),
                    ),
                    Ok(QueryResults::Boolean(true))
                );
                body.push_str(&crate::charts::figures_html(&st2, &d.id, &live.release));
                body.push_str(&crate::charts::first_rows_html(&st2.store, &d.id, &live.release));
                body.push_str(&latest_change(&st2.store, &d.id, live));
                body.push_str(&run_warnings(st2.store.layout(), &d.id, &live.release));
                let summary_graph = st2.store.layout().summary_graph(&d.id, &live.release);
                let own_terms = st2.store.layout().own_terms();
                let summaries: Vec<(String, String)> = summaries_of(&st2.store, &summary_graph)
                    .iter()
                    .map(|s| (s.title.clone(), summary_query(&summary_graph, &own_terms, s)))
                    .collect();
                body.push_str("<h2>Example queries</h2>");
                if !summaries.is_empty() {
                    body.push_str(&format!(
                        "<p>Totals summed when the release was published (RDF Data Cube observations, \
<code>fs:total</code> and <code>fs:lines</code>) are in its summary graph, <code>{g}</code>: \
<a href=\"/graph/{id}/{rel}/summary?format=turtle\">Turtle</a>. Queries read it by name \
(<code>GRAPH</code> or <code>FROM</code>); it is not part of the default graph, where its totals \
would be counted with the rows they sum.</p>",
                        g = esc(&summary_graph),
                        id = esc(&d.id),
                        rel = esc(&live.release),
                    ));
                }
                body.push_str("<ul>");
                for (title, q) in example_queries(&live.graph, payments, &summaries) {
                    body.push_str(&format!(
                        "<li><a href=\"/query?query={}\">{}</a></li>",
                        esc(&url_encode(&q)),
                        esc(&title)
                    ));
                }
                body.push_str("</ul>");
            }
            None => body.push_str("<p><strong>This dataset is withdrawn:</strong> it is not on the public view.</p>"),
        }
        body.push_str(&format!(
            "<h2>Releases</h2><p class=\"muted\">New releases, as they are published: <a href=\"/dataset/{}/feed.atom\">Atom feed</a>.</p>\
<table><tr><th>Release</th><th>Issued</th><th>Triples</th><th>Changes</th><th>Download</th></tr>",
            esc(&d.id)
        ));
        for r in d.releases.iter().rev() {
            let live = if d.live.as_deref() == Some(&r.release) { " <span class=\"live\">live</span>" } else { "" };
            let changes = match &r.changes {
                Some(c) => format!(
                    "<a href=\"/dataset/{id}/release/{rel}/changes\">{}</a>",
                    esc(&c.summary),
                    id = esc(&d.id),
                    rel = esc(&r.release),
                ),
                None => "first release".to_string(),
            };
            body.push_str(&format!(
                "<tr><td>{rel}{live}</td><td>{issued}</td><td>{triples}</td><td>{changes}</td><td><a href=\"{dumps}/{id}/{rel}.nt.gz\">{rel}.nt.gz</a></td></tr>",
                rel = esc(&r.release),
                issued = esc(r.issued.as_deref().unwrap_or("")),
                triples = r.triples,
                id = esc(&d.id),
            ));
        }
        body.push_str("</table>");
        Ok(Some((StatusCode::OK, page_with_feed(&d.title, Some((&d.id, &d.title)), &body))))
    })
    .await;
    match result {
        Ok(Some((StatusCode::OK, h))) => page_response(h),
        Ok(Some((status, h))) => {
            let mut r = page_response(h);
            *r.status_mut() = status;
            r
        }
        Ok(None) => error(StatusCode::NOT_FOUND, "no such dataset"),
        Err(r) => r,
    }
}

/// The live release's changes against the release it replaced: the summary, the first rows
/// changed (each linked to its page), the changes page and the two change files.
fn latest_change(store: &Store, dataset: &str, live: &ReleaseState) -> String {
    let Some(c) = &live.changes else {
        return String::new();
    };
    let mut out = format!(
        "<h2>Latest change</h2><p class=\"latest-change\">{} in release {} (issued {}), since release {}: \
<a href=\"/dataset/{id}/release/{rel}/changes\">every change</a>.</p>",
        esc(&upper_first(&c.summary)),
        esc(&live.release),
        esc(live.issued.as_deref().unwrap_or("")),
        esc(&c.previous),
        id = esc(dataset),
        rel = esc(&live.release),
    );
    if let Ok(Some((rows, total))) = store.row_changes(dataset, &live.release, 5) {
        if !rows.is_empty() {
            out.push_str(&format!("<ul>{}</ul>", change_items(store.layout(), &rows)));
            if total > rows.len() as u64 {
                out.push_str(&format!(
                    "<p class=\"muted\">and {} more.</p>",
                    total - rows.len() as u64
                ));
            }
        }
    }
    out.push_str(&change_downloads(store, dataset, &live.release));
    out
}

/// Links to a release's RDF Patch and row changes, those it has.
fn change_downloads(store: &Store, dataset: &str, release: &str) -> String {
    let dir = store.dumps_dir().join(dataset);
    let [patch, csv] = fivestar_store::change_file_names(release);
    let mut items = Vec::new();
    if dir.join(&patch).is_file() {
        items.push(format!(
            "<a href=\"/dumps/{d}/{p}\">{p}</a> (RDF Patch: turns the previous release's graph into this one)",
            d = esc(dataset),
            p = esc(&patch)
        ));
    }
    if dir.join(&csv).is_file() {
        items.push(format!(
            "<a href=\"/dumps/{d}/{c}\">{c}</a> (the rows added, removed and changed, as CSV)",
            d = esc(dataset),
            c = esc(&csv)
        ));
    }
    if items.is_empty() {
        return String::new();
    }
    format!(
        "<p class=\"muted\">Download the changes: {}.</p>",
        items.join("; ")
    )
}

/// Row changes as list items: "Net Amount corrected: 250.00 → 275.50 (row link)".
fn change_items(
    layout: &fivestar_store::Layout,
    rows: &[fivestar_store::changes::RowChange],
) -> String {
    let mut out = String::new();
    for c in rows {
        let href = c
            .row
            .strip_prefix(&layout.id(""))
            .map(|rest| format!("/id/{rest}"))
            .unwrap_or_else(|| c.row.clone());
        // A removed row's URI no longer resolves: it is shown, not linked.
        let row = if linkable(&href) && c.change != "removed" {
            format!(
                "<a class=\"iri\" href=\"{}\">{}</a>",
                esc(&href),
                esc(&c.row)
            )
        } else {
            format!("<span class=\"iri\">{}</span>", esc(&c.row))
        };
        let what = match c.change.as_str() {
            "changed" => format!(
                "{} changed from <q>{}</q> to <q>{}</q>",
                esc(&c.column),
                esc(&c.previous),
                esc(&c.new)
            ),
            other => esc(other),
        };
        out.push_str(&format!("<li>{what}: {row}</li>"));
    }
    out
}

pub(crate) fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Rows listed on a changes page.
const CHANGES_LISTED: usize = 1000;

/// `/dataset/{id}/release/{release}/changes`: what a release changed since the one it
/// replaced.
pub async fn changes(
    State(st): State<Arc<AppState>>,
    Path((id, release)): Path<(String, String)>,
) -> Response {
    let found = blocking(move || {
        let Some(d) = find_dataset(&st.store, &id)? else {
            return Ok(Err(StatusCode::NOT_FOUND));
        };
        if d.live.is_none() {
            return Ok(Err(StatusCode::GONE));
        }
        let Some(r) = d.releases.iter().find(|r| r.release == release) else {
            return Ok(Err(StatusCode::NOT_FOUND));
        };
        let title = format!("{}: changes in release {}", d.title, r.release);
        let mut body = format!(
            "<h1>{}</h1><p><a href=\"/dataset/{}\">{}</a> · release {}{} · issued {}</p>",
            esc(&title),
            esc(&d.id),
            esc(&d.title),
            esc(&r.release),
            if d.live.as_deref() == Some(r.release.as_str()) {
                " <span class=\"live\">live</span>"
            } else {
                ""
            },
            esc(r.issued.as_deref().unwrap_or("")),
        );
        match &r.changes {
            None => body.push_str(
                "<p>This is the dataset's first release: there is nothing to compare it with.</p>",
            ),
            Some(c) => {
                body.push_str(&format!(
                    "<p class=\"summary\">{} since release {}; {} statements added and {} removed.</p>",
                    esc(&upper_first(&c.summary)),
                    esc(&c.previous),
                    c.triples_added,
                    c.triples_removed
                ));
                body.push_str(&change_downloads(&st.store, &d.id, &r.release));
                if let Some((rows, total)) = st
                    .store
                    .row_changes(&d.id, &r.release, CHANGES_LISTED)
                    .map_err(|e| e.to_string())?
                {
                    if !rows.is_empty() {
                        body.push_str(&format!(
                            "<h2>Rows</h2><ul class=\"changes\">{}</ul>",
                            change_items(st.store.layout(), &rows)
                        ));
                    }
                    if total > rows.len() as u64 {
                        body.push_str(&format!(
                            "<p class=\"muted\">The first {} of {total} lines: the CSV above has them all.</p>",
                            rows.len()
                        ));
                    }
                }
            }
        }
        Ok(Ok(page_with_feed(&title, Some((&d.id, &d.title)), &body)))
    })
    .await;
    match found {
        Ok(Ok(h)) => page_response(h),
        Ok(Err(StatusCode::GONE)) => error(StatusCode::GONE, "this dataset is withdrawn"),
        Ok(Err(s)) => error(s, "no such release"),
        Err(r) => r,
    }
}

/// The warnings of the pipeline run that made `release` (its stored report): published, but
/// shown to everyone.
fn run_warnings(layout: &fivestar_store::Layout, dataset: &str, release: &str) -> String {
    use fivestar_pipeline::{Severity, LISTED_PER_RULE};
    let Some(report) = fivestar_pipeline::state::read_report(layout, dataset, release) else {
        return String::new();
    };
    // Warnings, and what was redacted (info, but the public should know it happened).
    let groups: Vec<_> = fivestar_pipeline::report::group(&report.problems)
        .into_iter()
        .filter(|g| {
            g.severity == Severity::Warning
                || g.rule == "redacted"
                || g.rule.starts_with("personal-data:")
        })
        .collect();
    if groups.is_empty() {
        return "<h2>Validation</h2><p class=\"checks\">The live release passed validation with no warnings.</p>".into();
    }
    let warnings: usize = groups
        .iter()
        .filter(|g| g.severity == Severity::Warning)
        .map(|g| g.count)
        .sum();
    let mut out = format!(
        "<h2>Validation</h2><p>The live release was published with {warnings} warning(s), grouped by rule and column (with the first cases of each):</p><ul class=\"warnings\">"
    );
    for g in groups.iter().take(LISTED_PER_RULE) {
        let w = &g.first[0];
        let mut at = Vec::new();
        if g.count > 1 {
            at.push(format!("{} cases", g.count));
        }
        if let Some(r) = w.row {
            at.push(format!("row {r}"));
        }
        if let Some(c) = &w.column {
            at.push(format!("column “{}”", esc(c)));
        }
        if let Some(v) = &w.value {
            at.push(format!("value <code>{}</code>", esc(v)));
        }
        out.push_str(&format!(
            "<li>{}{}{} <span class=\"muted\">[{}]</span></li>",
            at.join(", "),
            if at.is_empty() { "" } else { ": " },
            esc(&w.message),
            esc(&w.rule)
        ));
    }
    out.push_str("</ul>");
    out
}

/// Starts YASGUI (served from /assets, no CDN) on the page's query; if it cannot start (no
/// JavaScript, a load error), the plain form stays. A file, not an inline script, so the
/// Content-Security-Policy can allow scripts from this site only.
const YASGUI_START: &str = r#"(function () {
  try {
    if (!window.Yasgui) { return; }
    var query = document.getElementById("plain-query").value;
    var yasgui = new Yasgui(document.getElementById("yasgui"), {
      requestConfig: { endpoint: window.location.origin + "/sparql", method: "POST" },
      copyEndpointOnNewTab: false,
      persistenceId: null,
      endpointCatalogueOptions: { getData: function () { return []; } }
    });
    yasgui.getTab().setQuery(query);
    document.getElementById("plain").hidden = true;
    document.body.setAttribute("data-yasgui", "ready");
  } catch (e) {
    document.getElementById("yasgui").hidden = true;
  }
})();
"#;

/// The vendored YASGUI build (MIT; see assets/yasgui/README.md).
pub async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind): (&'static [u8], &str) = match name.as_str() {
        "yasgui.min.js" => (
            include_bytes!("../assets/yasgui/yasgui.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "yasgui.min.css" => (
            include_bytes!("../assets/yasgui/yasgui.min.css"),
            "text/css; charset=utf-8",
        ),
        "start.js" => (YASGUI_START.as_bytes(), "text/javascript; charset=utf-8"),
        _ => return error(StatusCode::NOT_FOUND, "no such asset"),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

pub async fn query_page(Query(params): Query<HashMap<String, String>>) -> Response {
    let q = params.get("query").cloned().unwrap_or_else(|| {
        "PREFIX dcat: <http://www.w3.org/ns/dcat#>\nPREFIX dct: <http://purl.org/dc/terms/>\n\
SELECT ?dataset ?title WHERE {\n  ?dataset a dcat:Dataset ; dct:title ?title .\n}\nLIMIT 50"
            .to_string()
    });
    let body = format!(
        "<h1>Query</h1><p>Write a SPARQL 1.1 query. The default graph is the union of every live dataset, the \
catalogue and the vocabularies.</p>\
<link rel=\"stylesheet\" href=\"/assets/yasgui/yasgui.min.css\"><div id=\"yasgui\"></div>\
<div id=\"plain\"><form method=\"get\" action=\"/sparql\"><textarea id=\"plain-query\" name=\"query\" aria-label=\"SPARQL query\">{}</textarea>\
<p><label>Results as <select name=\"format\"><option value=\"json\">JSON</option><option value=\"xml\">XML</option>\
<option value=\"csv\">CSV</option><option value=\"tsv\">TSV</option><option value=\"turtle\">Turtle (CONSTRUCT)</option>\
</select></label> <button type=\"submit\">Run query</button></p></form></div>\
<script src=\"/assets/yasgui/yasgui.min.js\"></script><script src=\"/assets/yasgui/start.js\"></script>",
        esc(&q)
    );
    page_response(page("Query", &body))
}
