//! End-to-end tests of stable row identity and the changes between releases: the real
//! `fivestar run` publishing a spend file three times into a real store, the RDF Patch applied
//! by a small applier of the test's own (sophia, not fivestar's code) and compared with the
//! new release's graph for isomorphism.

mod common;

use common::Scratch;
use sophia_api::graph::MutableGraph;
use sophia_api::parser::TripleParser;
use sophia_api::source::TripleSource;
use sophia_inmem::graph::LightGraph;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

const HEADER: &str =
    "Organisation Name,Payment Date,Transaction Ref,Amount,Beneficiary Name,Service Area";

/// Six payments: (reference, date, amount, supplier, service).
const ROWS: [&str; 6] = [
    "Leeds City Council,04/01/2024,LDS-1,100.00,Acme Paper Ltd,Finance",
    "Leeds City Council,04/01/2024,LDS-2,200.00,Bridge Works Ltd,Highways",
    "Leeds City Council,05/01/2024,LDS-3,300.00,Civic Catering Ltd,Schools",
    "Leeds City Council,05/01/2024,LDS-4,250.00,Dale Transport Ltd,Highways",
    // The same reference on another day is another payment.
    "Leeds City Council,06/01/2024,LDS-4,90.00,Dale Transport Ltd,Highways",
    "Leeds City Council,08/01/2024,LDS/6 A,60.00,Elm Cleaning Ltd,Finance",
];

fn write_source(dir: &Path, rows: &[&str]) {
    std::fs::write(
        dir.join("spend.csv"),
        format!("{HEADER}\n{}\n", rows.join("\n")),
    )
    .unwrap();
}

fn gunzip(path: &Path) -> String {
    let mut out = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut out)
        .unwrap();
    out
}

fn graph(nt: &str) -> LightGraph {
    sophia_turtle::parser::nt::NTriplesParser::new()
        .parse_str(nt)
        .collect_triples()
        .expect("valid N-Triples")
}

/// The subjects of a release's payments.
fn payments(nt: &str) -> BTreeSet<String> {
    nt.lines()
        .filter_map(|l| l.split_once(' ').map(|(s, _)| s))
        .filter(|s| s.contains("/payment/"))
        .map(String::from)
        .collect()
}

/// Applies an RDF Patch (`TX`/`TC`, `A` and `D` rows of N-Triples terms) to `graph`: the
/// test's own reading of the format, independent of fivestar's writer.
fn apply(graph: &mut LightGraph, patch: &str) -> (usize, usize) {
    let (mut added, mut removed) = (0, 0);
    let mut in_tx = false;
    for line in patch.lines() {
        let (op, rest) = line.split_once(' ').unwrap_or((line, ""));
        match op {
            "H" => assert!(!in_tx, "a header after the transaction began: {line}"),
            "TX" => in_tx = true,
            "TC" => in_tx = false,
            "A" | "D" => {
                assert!(in_tx, "a change outside a transaction: {line}");
                use sophia_api::graph::Graph;
                let one: LightGraph = sophia_turtle::parser::nt::NTriplesParser::new()
                    .parse_str(rest)
                    .collect_triples()
                    .expect("a patch row is one N-Triples triple");
                let triples: Vec<_> = one.triples().map(|t| t.unwrap()).collect();
                assert_eq!(triples.len(), 1, "{line}");
                if op == "A" {
                    assert!(
                        graph.insert_triple(triples[0]).unwrap(),
                        "added twice: {line}"
                    );
                    added += 1;
                } else {
                    assert!(
                        graph.remove_triple(triples[0]).unwrap(),
                        "removed but absent: {line}"
                    );
                    removed += 1;
                }
            }
            _ => panic!("not a patch row: {line}"),
        }
    }
    assert!(!in_tx, "the transaction was not committed");
    (added, removed)
}

struct Releases {
    s: Scratch,
}

impl Releases {
    fn new(name: &str) -> Releases {
        let s = Scratch::new("changes", name);
        std::fs::write(
            s.0.join("pipelines/leeds-spend.toml"),
            format!(
                "id = \"leeds-spend\"\ntitle = \"Leeds spending\"\ntemplate = \"spend\"\n[source]\nurl = {:?}\n",
                s.0.join("spend.csv").display().to_string()
            ),
        )
        .unwrap();
        Releases { s }
    }

    fn dumps(&self) -> PathBuf {
        self.s.0.join("store/dumps/leeds-spend")
    }

    /// Publishes `rows`; returns the new release's name.
    fn publish(&self, rows: &[&str]) -> String {
        write_source(&self.s.0, rows);
        let before = self.releases();
        let o = self.s.run(&["run", "pipelines/leeds-spend.toml"]);
        assert!(
            o.status.success(),
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let after = self.releases();
        let new: Vec<_> = after.difference(&before).cloned().collect();
        assert_eq!(new.len(), 1, "{new:?}");
        new[0].clone()
    }

    fn releases(&self) -> BTreeSet<String> {
        std::fs::read_dir(self.dumps())
            .map(|d| {
                d.filter_map(|e| {
                    let n = e.ok()?.file_name().to_string_lossy().into_owned();
                    n.strip_suffix("-metadata.json")
                        .filter(|r| *r != "latest")
                        .map(String::from)
                })
                .collect()
            })
            .unwrap_or_default()
    }

    fn nt(&self, release: &str) -> String {
        gunzip(&self.dumps().join(format!("{release}.nt.gz")))
    }

    fn patch(&self, release: &str) -> String {
        gunzip(&self.dumps().join(format!("{release}.rdfp.gz")))
    }

    fn row_changes(&self, release: &str) -> Vec<String> {
        std::fs::read_to_string(self.dumps().join(format!("{release}-changes.csv")))
            .unwrap()
            .lines()
            .skip(1)
            .map(String::from)
            .collect()
    }

    /// The changeset counts the catalogue holds for `release`.
    fn counts(&self, release: &str) -> String {
        let q = format!(
            "PREFIX fs: <http://127.0.0.1:7878/def/fivestar#>
             SELECT ?ta ?tr ?ra ?rr ?rc WHERE {{
               ?cs a fs:Changeset ; fs:triplesAdded ?ta ; fs:triplesRemoved ?tr ;
                   fs:rowsAdded ?ra ; fs:rowsRemoved ?rr ; fs:rowsChanged ?rc .
               FILTER(CONTAINS(STR(?cs), \"/{release}/\")) }}"
        );
        self.s.query(&q).lines().nth(1).unwrap_or("").to_string()
    }
}

#[test]
fn republishing_in_another_order_changes_nothing_and_keeps_every_uri() {
    let r = Releases::new("shuffle");
    let first = r.publish(&ROWS);
    let uris = payments(&r.nt(&first));
    assert_eq!(uris.len(), 6, "{uris:#?}");
    // Readable URIs from the reference and the day, percent-encoded as segments.
    assert!(
        uris.contains("<http://127.0.0.1:7878/id/leeds-spend/payment/LDS-4/2024-01-05>"),
        "{uris:#?}"
    );
    assert!(
        uris.contains("<http://127.0.0.1:7878/id/leeds-spend/payment/LDS%2F6%20A/2024-01-08>"),
        "{uris:#?}"
    );
    // The first release has nothing to compare with.
    assert!(!r.dumps().join(format!("{first}.rdfp.gz")).exists());

    let mut shuffled = ROWS.to_vec();
    shuffled.reverse();
    shuffled.swap(0, 3);
    let second = r.publish(&shuffled);
    assert_eq!(
        payments(&r.nt(&second)),
        uris,
        "the same URIs in any row order"
    );
    let patch = r.patch(&second);
    assert!(
        !patch
            .lines()
            .any(|l| l.starts_with("A ") || l.starts_with("D ")),
        "{patch}"
    );
    assert!(
        patch.contains(&format!(
            "H prev <http://127.0.0.1:7878/id/dataset/leeds-spend/release/{first}>"
        )),
        "{patch}"
    );
    assert!(
        r.row_changes(&second).is_empty(),
        "{:?}",
        r.row_changes(&second)
    );
    assert_eq!(r.counts(&second), "0,0,0,0,0");
}

#[test]
fn rows_added_removed_and_corrected_are_exactly_the_changes_and_the_patch_applies() {
    let r = Releases::new("edit");
    let first = r.publish(&ROWS);
    let mut rows: Vec<&str> = ROWS.to_vec();
    rows.remove(1); // LDS-2 is withdrawn
    rows[2] = "Leeds City Council,05/01/2024,LDS-4,275.50,Dale Transport Ltd,Highways"; // corrected
    rows.insert(
        0,
        "Leeds City Council,09/01/2024,LDS-7,70.00,Acme Paper Ltd,Finance",
    ); // late
    let second = r.publish(&rows);

    let base = "http://127.0.0.1:7878/id/leeds-spend/payment/";
    let mut changes = r.row_changes(&second);
    changes.sort();
    assert_eq!(
        changes,
        [
            format!("added,{base}LDS-7/2024-01-09,,,"),
            format!("changed,{base}LDS-4/2024-01-05,Net Amount,250.00,275.50"),
            format!("removed,{base}LDS-2/2024-01-04,,,"),
        ]
    );
    // The patch turns the first release's graph into the second's.
    let mut g = graph(&r.nt(&first));
    let (added, removed) = apply(&mut g, &r.patch(&second));
    assert!(added > 0 && removed > 0);
    let want = graph(&r.nt(&second));
    assert!(
        sophia_isomorphism::isomorphic_graphs(&g, &want).unwrap(),
        "the patched graph is the new release's"
    );
    assert_eq!(
        r.counts(&second),
        format!("{added},{removed},1,1,1"),
        "the catalogue counts what the files hold"
    );
    // The unchanged payments kept their URIs; the changed one too.
    let before = payments(&r.nt(&first));
    let after = payments(&r.nt(&second));
    assert_eq!(before.difference(&after).count(), 1);
    assert_eq!(after.difference(&before).count(), 1);
    // Removing the first release removes what held its values: the second's changes.
    let o = r.s.run(&["remove", "leeds-spend", &first]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for name in [format!("{second}.rdfp.gz"), format!("{second}-changes.csv")] {
        assert!(!r.dumps().join(&name).exists(), "{name} is left");
        assert!(!r.dumps().join(format!("{name}.sha256")).exists());
    }
    assert!(r.dumps().join(format!("{second}.nt.gz")).exists());
    // Nor does the catalogue offer them any more; the release's other files it still does.
    let urls = r.s.query(&format!(
        "PREFIX dcat: <http://www.w3.org/ns/dcat#>
         SELECT ?u WHERE {{ ?d dcat:downloadURL ?u FILTER(CONTAINS(STR(?u), \"/{second}\")) }}"
    ));
    assert!(
        !urls.contains(".rdfp.gz") && !urls.contains("-changes.csv"),
        "{urls}"
    );
    assert!(urls.contains(&format!("/{second}.nt.gz")), "{urls}");
}

#[test]
fn a_pipelines_own_key_shared_by_two_rows_stops_the_run_and_names_both() {
    let r = Releases::new("key");
    let first = r.publish(&ROWS);
    let p = r.s.0.join("pipelines/leeds-spend.toml");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, format!("{text}[rules]\nkey = [\"transaction\"]\n")).unwrap();
    let o = r.s.run(&["run", "pipelines/leeds-spend.toml"]);
    assert!(!o.status.success());
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // LDS-4 is on source rows 5 and 6 (the header is row 1).
    assert!(
        out.contains("rules:key")
            && out.contains("row 5 has the same key")
            && out.contains("LDS-4"),
        "{out}"
    );
    assert!(out.contains("spend.csv:6"), "{out}");
    assert_eq!(
        r.releases(),
        BTreeSet::from([first]),
        "nothing was published"
    );
}

/// Reads an Atom feed as a feed reader does (Python's feedparser, installed by `make
/// test-deps` into the venv `TEST_PYTHON` names): its version, whether it was well-formed,
/// and each entry's id, title, updated time and links.
fn read_feed(xml: &str) -> serde_json::Value {
    use std::io::Write;
    let python = std::env::var("TEST_PYTHON")
        .expect("TEST_PYTHON names a Python with feedparser: run `make test-deps`");
    let script = r#"
import json, sys, feedparser
f = feedparser.parse(sys.stdin.buffer.read())
print(json.dumps({
    "version": f.version, "bozo": bool(f.bozo), "error": str(f.get("bozo_exception", "")),
    "title": f.feed.get("title"), "id": f.feed.get("id"),
    "links": [l.get("rel") + " " + l.get("type", "") for l in f.feed.get("links", [])],
    "entries": [{"id": e.id, "title": e.title, "updated": e.updated, "summary": e.get("summary"),
                 "links": [{"rel": l.get("rel"), "href": l.get("href"), "type": l.get("type")} for l in e.links]}
                for e in f.entries]}))
"#;
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run feedparser");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "feedparser failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_site_shows_changes_corrections_feeds_and_a_sitemap() {
    let r = Releases::new("site");
    let first = r.publish(&ROWS);
    let mut rows: Vec<&str> = ROWS.to_vec();
    rows[3] = "Leeds City Council,05/01/2024,LDS-4,275.50,Dale Transport Ltd,Highways";
    rows.push("Leeds City Council,09/01/2024,LDS-7,70.00,Acme Paper Ltd,Finance");
    rows.remove(1); // LDS-2
    let second = r.publish(&rows);
    let site = common::serve(
        std::process::Command::new(common::bin())
            .current_dir(&r.s.0)
            .args(["serve", "--bind", "127.0.0.1:0"]),
    );
    let client = common::client();
    let get = |path: &str| {
        let resp = client.get(format!("{}{path}", site.url)).send().unwrap();
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, ctype, resp.text().unwrap())
    };

    // The dataset page: the latest change, with its rows linked, and the feeds.
    let (status, _, page) = get("/dataset/leeds-spend");
    assert_eq!(status, 200);
    assert!(
        page.contains("1 payment added, 1 removed, 1 changed (Net Amount in 1)"),
        "{page}"
    );
    assert!(page.contains(&format!("/dataset/leeds-spend/release/{second}/changes")));
    assert!(
        page.contains("href=\"/id/leeds-spend/payment/LDS-7/2024-01-09\""),
        "{page}"
    );
    assert!(page.contains(&format!("/dumps/leeds-spend/{second}.rdfp.gz")));
    assert!(page.contains(
        "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"Leeds spending: releases\" href=\"/dataset/leeds-spend/feed.atom\">"
    ));

    // The release's changes page; the first release has none.
    let (status, _, page) = get(&format!("/dataset/leeds-spend/release/{second}/changes"));
    assert_eq!(status, 200);
    assert!(
        page.contains("Net Amount changed from <q>250.00</q> to <q>275.50</q>"),
        "{page}"
    );
    assert!(page.contains("added: <a"), "{page}");
    assert!(page.contains("removed: <span class=\"iri\">"), "{page}");
    let (_, _, page) = get(&format!("/dataset/leeds-spend/release/{first}/changes"));
    assert!(page.contains("first release"), "{page}");
    assert_eq!(get("/dataset/leeds-spend/release/nope/changes").0, 404);

    // The corrected payment's page says so; another payment's does not.
    let (status, _, page) = get("/doc/leeds-spend/payment/LDS-4/2024-01-05");
    assert_eq!(status, 200);
    assert!(
        page.contains("Net Amount was corrected from <q>250.00</q> to <q>275.50</q> in release"),
        "{page}"
    );
    let (_, _, page) = get("/doc/leeds-spend/payment/LDS-4/2024-01-06");
    assert!(!page.contains("corrected"), "{page}");

    // The feeds are Atom, newest release first, with the change summary and the patch.
    for path in ["/dataset/leeds-spend/feed.atom", "/feed.atom"] {
        let (status, ctype, xml) = get(path);
        assert_eq!(status, 200);
        assert!(ctype.starts_with("application/atom+xml"), "{ctype}");
        let feed = read_feed(&xml);
        assert_eq!(feed["version"], "atom10", "{feed:#}");
        assert_eq!(feed["bozo"], false, "{feed:#}");
        let entries = feed["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2, "{feed:#}");
        assert!(entries[0]["id"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/release/{second}")));
        assert!(entries[1]["id"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/release/{first}")));
        assert!(entries[0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("1 payment added, 1 removed, 1 changed"));
        let hrefs: Vec<&str> = entries[0]["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["href"].as_str().unwrap())
            .collect();
        assert!(
            hrefs
                .iter()
                .any(|h| h.ends_with(&format!("/{second}.rdfp.gz"))),
            "{hrefs:?}"
        );
    }

    // The sitemap: an index of the pages and of each dataset's resources.
    let (status, ctype, index) = get("/sitemap.xml");
    assert_eq!(status, 200);
    assert!(ctype.starts_with("application/xml"), "{ctype}");
    assert!(
        index.contains("<loc>http://127.0.0.1:7878/sitemap/pages.xml</loc>"),
        "{index}"
    );
    assert!(
        index.contains("<loc>http://127.0.0.1:7878/sitemap/leeds-spend/0.xml</loc>"),
        "{index}"
    );
    let (_, _, pages) = get("/sitemap/pages.xml");
    assert!(
        pages.contains("<loc>http://127.0.0.1:7878/dataset/leeds-spend</loc>"),
        "{pages}"
    );
    let (_, _, resources) = get("/sitemap/leeds-spend/0.xml");
    assert!(
        resources.contains(
            "<loc>http://127.0.0.1:7878/doc/leeds-spend/payment/LDS%2F6%20A/2024-01-08</loc>"
        ),
        "{resources}"
    );
    assert_eq!(resources.matches("/payment/").count(), 6, "{resources}");
    for past_the_end in [
        "/sitemap/leeds-spend/1.xml",
        "/sitemap/leeds-spend/18446744073709551615.xml",
        "/sitemap/leeds-spend/x.xml",
        "/sitemap/nope/0.xml",
    ] {
        assert_eq!(get(past_the_end).0, 404, "{past_the_end}");
    }
    // Asked again, the index is the same (counted once for this state of the site).
    assert_eq!(get("/sitemap.xml").2, index);
}
