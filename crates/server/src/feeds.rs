//! What is new, for machines that poll: Atom feeds of releases (RFC 4287; one for the whole
//! site, one per dataset, newest first, each entry with its change summary and links to the
//! release's page, dumps and patch) and a sitemap (sitemaps.org 0.9) of the pages and of every
//! published resource's page.

use crate::{blocking, error, AppState};
use atom_syndication::{Content, Entry, Feed, FixedDateTime, Link, Person, Text};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use fivestar_store::rdf::{QueryResults, Term};
use fivestar_store::{DatasetState, Layout, ReleaseState, Store};
use std::sync::Arc;

/// Entries in a feed: the newest releases.
const FEED_ENTRIES: usize = 50;

/// URLs in one sitemap file (the protocol's limit).
const SITEMAP_URLS: u64 = 50_000;

fn atom(xml: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

fn xml(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

fn link(href: String, rel: &str, media_type: &str, title: &str) -> Link {
    Link {
        href,
        rel: rel.to_string(),
        mime_type: Some(media_type.to_string()),
        title: Some(title.to_string()),
        ..Link::default()
    }
}

/// A release's time, or the epoch when the catalogue has none (it always has one for a
/// release fivestar published).
fn when(r: &ReleaseState) -> FixedDateTime {
    r.issued
        .as_deref()
        .and_then(|t| FixedDateTime::parse_from_rfc3339(t).ok())
        .unwrap_or_default()
}

/// One release as a feed entry.
fn entry(store: &Store, d: &DatasetState, r: &ReleaseState) -> Entry {
    let layout = store.layout();
    let dumps = store.dumps_dir().join(&d.id);
    let dump = |name: String| layout.dump(&format!("{}/{name}", d.id));
    let summary = match &r.changes {
        Some(c) => format!(
            "{}, since release {}.",
            crate::html::upper_first(&c.summary),
            c.previous
        ),
        None => format!("First release: {} statements.", r.triples),
    };
    let mut links = vec![link(
        layout.landing_page(&d.id),
        "alternate",
        "text/html",
        &d.title,
    )];
    let mut items = vec![format!(
        "<li><a href=\"{}\">{}</a> (N-Triples, gzipped)</li>",
        crate::html::esc(&dump(format!("{}.nt.gz", r.release))),
        crate::html::esc(&format!("{}.nt.gz", r.release))
    )];
    links.push(link(
        dump(format!("{}.nt.gz", r.release)),
        "enclosure",
        "application/gzip",
        "N-Triples, gzipped",
    ));
    if dumps.join(format!("{}.csv", r.release)).is_file() {
        links.push(link(
            dump(format!("{}.csv", r.release)),
            "enclosure",
            "text/csv",
            "the clean CSV",
        ));
        items.push(format!(
            "<li><a href=\"{}\">the clean CSV</a></li>",
            crate::html::esc(&dump(format!("{}.csv", r.release)))
        ));
    }
    if r.changes.is_some() {
        let page = layout.changes_page(&d.id, &r.release);
        links.push(link(page.clone(), "related", "text/html", "What changed"));
        items.push(format!(
            "<li><a href=\"{}\">what changed</a></li>",
            crate::html::esc(&page)
        ));
        let [patch, _] = fivestar_store::change_file_names(&r.release);
        if dumps.join(&patch).is_file() {
            links.push(link(
                dump(patch.clone()),
                "enclosure",
                "application/gzip",
                "RDF Patch from the previous release, gzipped",
            ));
            items.push(format!(
                "<li><a href=\"{}\">the RDF Patch</a> from release {}</li>",
                crate::html::esc(&dump(patch)),
                crate::html::esc(r.changes.as_ref().map_or("", |c| c.previous.as_str()))
            ));
        }
    }
    Entry {
        id: r.iri.clone(),
        title: Text::plain(format!("{}: release {}", d.title, r.release)),
        updated: when(r),
        published: Some(when(r)),
        summary: Some(Text::plain(summary.clone())),
        content: Some(Content {
            content_type: Some("html".to_string()),
            value: Some(format!(
                "<p>{}</p><ul>{}</ul>",
                crate::html::esc(&summary),
                items.concat()
            )),
            ..Content::default()
        }),
        links,
        ..Entry::default()
    }
}

/// The feed of `dataset`'s releases (the site's when None), holding `entries` (newest first).
fn feed(
    layout: &Layout,
    dataset: Option<&DatasetState>,
    entries: Vec<Entry>,
    self_href: String,
) -> Feed {
    let (title, alternate) = match dataset {
        Some(d) => (format!("{}: releases", d.title), layout.landing_page(&d.id)),
        None => (
            "Every dataset's releases".to_string(),
            format!("{}/", layout.base()),
        ),
    };
    let updated = entries.iter().map(|e| e.updated).max().unwrap_or_default();
    Feed {
        id: self_href.clone(),
        title: Text::plain(title),
        updated,
        authors: vec![Person {
            name: dataset
                .and_then(|d| d.publisher.clone())
                .unwrap_or_else(|| "fivestar".to_string()),
            uri: Some(format!("{}/", layout.base())),
            ..Person::default()
        }],
        generator: Some(atom_syndication::Generator {
            value: "fivestar".to_string(),
            ..Default::default()
        }),
        links: vec![
            link(self_href, "self", "application/atom+xml", "this feed"),
            link(alternate, "alternate", "text/html", "the page"),
        ],
        entries,
        ..Feed::default()
    }
}

/// Newest first, then by dataset and release for a stable order.
fn newest_first<'a>(
    mut releases: Vec<(&'a DatasetState, &'a ReleaseState)>,
) -> Vec<(&'a DatasetState, &'a ReleaseState)> {
    releases.sort_by(|a, b| {
        when(b.1)
            .cmp(&when(a.1))
            .then_with(|| b.1.release.cmp(&a.1.release))
            .then_with(|| a.0.id.cmp(&b.0.id))
    });
    releases.truncate(FEED_ENTRIES);
    releases
}

/// `/feed.atom`: the newest releases of every dataset that is not withdrawn.
pub async fn site_feed(State(st): State<Arc<AppState>>) -> Response {
    match blocking(move || {
        let datasets = st.store.datasets().map_err(|e| e.to_string())?;
        let releases = newest_first(
            datasets
                .iter()
                .filter(|d| d.live.is_some())
                .flat_map(|d| d.releases.iter().map(move |r| (d, r)))
                .collect(),
        );
        let entries = releases
            .into_iter()
            .map(|(d, r)| entry(&st.store, d, r))
            .collect();
        let layout = st.store.layout();
        Ok(feed(layout, None, entries, layout.feed(None)).to_string())
    })
    .await
    {
        Ok(x) => atom(x),
        Err(r) => r,
    }
}

/// `/dataset/{id}/feed.atom`: the dataset's releases, newest first.
pub async fn dataset_feed(State(st): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let found = blocking(move || {
        let Some(d) = crate::html::find_dataset(&st.store, &id)? else {
            return Ok(Err(StatusCode::NOT_FOUND));
        };
        if d.live.is_none() {
            return Ok(Err(StatusCode::GONE));
        }
        let entries = newest_first(d.releases.iter().map(|r| (&d, r)).collect())
            .into_iter()
            .map(|(d, r)| entry(&st.store, d, r))
            .collect();
        let layout = st.store.layout();
        Ok(Ok(feed(
            layout,
            Some(&d),
            entries,
            layout.feed(Some(&d.id)),
        )
        .to_string()))
    })
    .await;
    match found {
        Ok(Ok(x)) => atom(x),
        Ok(Err(StatusCode::GONE)) => error(StatusCode::GONE, "this dataset is withdrawn"),
        Ok(Err(s)) => error(s, "no such dataset"),
        Err(r) => r,
    }
}

/// The resources of a live release listed in the sitemap: the typed subjects minted under
/// `{base}/id/` (rows, suppliers), without `#` fragments (parts of a row's page).
fn resources_pattern(layout: &Layout, graph: &str) -> String {
    format!(
        "GRAPH <{graph}> {{ ?s a ?t }} FILTER(isIRI(?s) && STRSTARTS(STR(?s), \"{}\") && !CONTAINS(STR(?s), \"#\"))",
        layout.id("")
    )
}

fn count(store: &Store, q: &str) -> Result<u64, String> {
    match store.query_public(q).map_err(|e| e.to_string())? {
        QueryResults::Solutions(mut rows) => Ok(rows
            .next()
            .and_then(|r| r.ok())
            .and_then(|r| match r.get("n") {
                Some(Term::Literal(l)) => l.value().parse().ok(),
                _ => None,
            })
            .unwrap_or(0)),
        _ => Ok(0),
    }
}

fn live_datasets(store: &Store) -> Result<Vec<(DatasetState, ReleaseState)>, String> {
    Ok(store
        .datasets()
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter_map(|d| {
            let live = d.live.clone()?;
            let r = d.releases.iter().find(|r| r.release == live)?.clone();
            Some((d, r))
        })
        .collect())
}

/// What the sitemaps need of each live release: (dataset, release, resources to list), for
/// one state of the public view. Counting scans a release's typed subjects, so it is done once
/// per state, and the whole-graph scans of the sitemaps run one at a time.
#[derive(Default)]
pub struct SitemapCache {
    inner: std::sync::Mutex<Counted>,
}

#[derive(Default)]
struct Counted {
    tag: String,
    releases: Option<Vec<(DatasetState, ReleaseState, u64)>>,
}

impl SitemapCache {
    /// Runs `f` with the counts of the public view as it is now, holding the cache (so the
    /// sitemaps' scans never run side by side).
    fn with<T>(
        &self,
        store: &Store,
        f: impl FnOnce(&[(DatasetState, ReleaseState, u64)]) -> Result<T, String>,
    ) -> Result<T, String> {
        let mut c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let tag = store.state_tag().map_err(|e| e.to_string())?;
        if c.tag != tag || c.releases.is_none() {
            let layout = store.layout();
            let mut releases = Vec::new();
            for (d, r) in live_datasets(store)? {
                let n = count(
                    store,
                    &format!(
                        "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ {} }}",
                        resources_pattern(layout, &r.graph)
                    ),
                )?;
                releases.push((d, r, n));
            }
            *c = Counted {
                tag,
                releases: Some(releases),
            };
        }
        f(c.releases.as_deref().unwrap_or_default())
    }
}

/// `/sitemap.xml`: a sitemap index of the site's pages (`/sitemap/pages.xml`) and of each live
/// dataset's resource pages, 50,000 to a file (`/sitemap/{dataset}/{n}.xml`).
pub async fn sitemap_index(State(st): State<Arc<AppState>>) -> Response {
    match blocking(move || {
        let layout = st.store.layout();
        let base = layout.base();
        let mut out = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
        );
        out.push_str(&format!(
            "<sitemap><loc>{}</loc></sitemap>\n",
            crate::html::esc(&format!("{base}/sitemap/pages.xml"))
        ));
        st.sitemaps.with(&st.store, |releases| {
            for (d, r, n) in releases {
                let lastmod = r
                    .issued
                    .as_deref()
                    .map(|t| format!("<lastmod>{}</lastmod>", crate::html::esc(t)))
                    .unwrap_or_default();
                for part in 0..n.div_ceil(SITEMAP_URLS) {
                    out.push_str(&format!(
                        "<sitemap><loc>{}</loc>{lastmod}</sitemap>\n",
                        crate::html::esc(&format!("{base}/sitemap/{}/{part}.xml", d.id))
                    ));
                }
            }
            Ok(())
        })?;
        out.push_str("</sitemapindex>\n");
        Ok(out)
    })
    .await
    {
        Ok(x) => xml(x),
        Err(r) => r,
    }
}

fn urlset(urls: impl IntoIterator<Item = (String, Option<String>)>) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for (loc, lastmod) in urls {
        out.push_str(&format!("<url><loc>{}</loc>", crate::html::esc(&loc)));
        if let Some(m) = lastmod {
            out.push_str(&format!("<lastmod>{}</lastmod>", crate::html::esc(&m)));
        }
        out.push_str("</url>\n");
    }
    out.push_str("</urlset>\n");
    out
}

/// `/sitemap/pages.xml` or `/sitemap/{dataset}/{n}.xml`.
pub async fn sitemap_part(State(st): State<Arc<AppState>>, Path(path): Path<String>) -> Response {
    let found = blocking(move || {
        let layout = st.store.layout();
        let base = layout.base();
        if path == "pages.xml" {
            let live = live_datasets(&st.store)?;
            let mut urls = vec![(format!("{base}/"), None), (format!("{base}/query"), None)];
            for (d, r) in &live {
                urls.push((layout.landing_page(&d.id), r.issued.clone()));
                for rel in d.releases.iter().filter(|r| r.changes.is_some()) {
                    urls.push((layout.changes_page(&d.id, &rel.release), rel.issued.clone()));
                }
            }
            return Ok(Some(urlset(urls)));
        }
        let Some((id, part)) = path
            .strip_suffix(".xml")
            .and_then(|p| p.split_once('/'))
            .and_then(|(id, n)| Some((id, n.parse::<u64>().ok()?)))
        else {
            return Ok(None);
        };
        // A part past the end is refused before anything is scanned; the scan runs while the
        // cache is held, one at a time.
        st.sitemaps.with(&st.store, |releases| {
            let Some((_, r, n)) = releases.iter().find(|(d, _, _)| d.id == id) else {
                return Ok(None);
            };
            if part >= n.div_ceil(SITEMAP_URLS) {
                return Ok(None);
            }
            let q = format!(
                "SELECT DISTINCT ?s WHERE {{ {} }} ORDER BY ?s LIMIT {SITEMAP_URLS} OFFSET {}",
                resources_pattern(layout, &r.graph),
                part * SITEMAP_URLS
            );
            let mut urls = Vec::new();
            if let QueryResults::Solutions(rows) =
                st.store.query_public(&q).map_err(|e| e.to_string())?
            {
                for row in rows.flatten() {
                    if let Some(Term::NamedNode(s)) = row.get("s") {
                        if let Some(rest) = s.as_str().strip_prefix(&layout.id("")) {
                            urls.push((format!("{base}/doc/{rest}"), None));
                        }
                    }
                }
            }
            if urls.is_empty() {
                return Ok(None);
            }
            Ok(Some(urlset(urls)))
        })
    })
    .await;
    match found {
        Ok(Some(x)) => xml(x),
        Ok(None) => error(StatusCode::NOT_FOUND, "no such sitemap"),
        Err(r) => r,
    }
}
