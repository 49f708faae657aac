//! Releases: publish, switch, roll back, withdraw, remove; the public view; the catalogue;
//! dumps and their checksums; and a crash in the middle of a load.

use fivestar_store::rdf::QueryResults;
use fivestar_store::rdf::{GraphName, Triple};
use fivestar_store::rdf::{RdfFormat, RdfParser};
use fivestar_store::{DatasetInfo, Provenance, PublishRequest, Publisher, Settings, Store};
use sha2::Digest;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const BASE: &str = "http://127.0.0.1:7878";

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fivestar-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ntriples(dir: &Path, name: &str, n: usize, tag: &str) -> PathBuf {
    let path = dir.join(name);
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "<http://example.org/payment/{i}> <http://reference.data.gov.uk/def/payment#netAmount> \"{i}.50\"^^<http://www.w3.org/2001/XMLSchema#decimal> .\n<http://example.org/payment/{i}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://reference.data.gov.uk/def/payment#ExpenditureLine> .\n<http://example.org/payment/{i}> <http://example.org/tag> \"{tag}\" .\n"
        ));
    }
    std::fs::write(&path, s).unwrap();
    path
}

fn request(nt: PathBuf, release: &str) -> PublishRequest {
    PublishRequest {
        dataset: DatasetInfo {
            id: "spending".into(),
            title: "Spending over £500".into(),
            description: "Example".into(),
            publisher: Some(
                "http://statistics.data.gov.uk/id/statistical-geography/E08000009".into(),
            ),
            licence: fivestar_store::OGL_V3.into(),
        },
        release: release.into(),
        triples: fivestar_store::Triples::file(nt),
        csv: None,
        provenance: Provenance {
            source: Some("http://council.example/spend.csv".into()),
            source_sha256: Some("ab".repeat(32)),
            fetched_at: Some("2024-04-01T09:00:00Z".into()),
            run: Some("test run".into()),
            pipeline_sha256: None,
        },
        generated_at: "2024-04-01T09:00:05Z".into(),
        progress: None,
        linked: None,
        identity: None,
        figures: Vec::new(),
        summaries: Vec::new(),
    }
}

/// The request with a small clean CSV and its CSVW metadata as the source.
fn with_csv(dir: &Path, mut req: PublishRequest) -> PublishRequest {
    let csv = dir.join("spend.csv");
    std::fs::write(&csv, "a,b\n1,2\n").unwrap();
    let meta = dir.join("spend.csv-metadata.json");
    std::fs::write(
        &meta,
        r#"{"@context": "http://www.w3.org/ns/csvw", "url": "spend.csv"}"#,
    )
    .unwrap();
    req.csv = Some((csv, meta));
    req
}

fn strings(store: &Store, query: &str) -> Vec<String> {
    match store.query_public(query).unwrap() {
        QueryResults::Solutions(rows) => rows
            .map(|r| {
                let r = r.unwrap();
                r.iter()
                    .map(|(_, t)| t.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect(),
        _ => panic!("expected solutions"),
    }
}

fn tags(store: &Store) -> Vec<String> {
    strings(
        store,
        "SELECT DISTINCT ?t WHERE { ?s <http://example.org/tag> ?t } ORDER BY ?t",
    )
}

#[test]
fn publish_switch_rollback_withdraw_remove() {
    let dir = tmp("cycle");
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    assert!(tags(&store).is_empty());

    let one = store
        .publish(&request(ntriples(&dir, "a.nt", 10, "one"), "r1"))
        .unwrap();
    assert_eq!(one.triples, 30);
    assert_eq!(one.graph, format!("{BASE}/graph/spending/r1"));
    assert_eq!(tags(&store), vec!["\"one\""]);

    store
        .publish(&request(ntriples(&dir, "b.nt", 5, "two"), "r2"))
        .unwrap();
    assert_eq!(
        tags(&store),
        vec!["\"two\""],
        "only the live release is public"
    );
    let ds = &store.datasets().unwrap()[0];
    assert_eq!(ds.live.as_deref(), Some("r2"));
    assert_eq!(
        ds.releases
            .iter()
            .map(|r| r.release.as_str())
            .collect::<Vec<_>>(),
        ["r1", "r2"]
    );
    assert_eq!(ds.releases[1].triples, 15);

    store.rollback("spending", "r1").unwrap();
    assert_eq!(tags(&store), vec!["\"one\""]);
    assert!(store.rollback("spending", "r9").is_err());

    store.withdraw("spending").unwrap();
    assert!(tags(&store).is_empty());
    assert_eq!(store.datasets().unwrap()[0].live, None);
    assert!(!dir.join("store/dumps/spending/latest.nt.gz").exists());

    store.rollback("spending", "r2").unwrap();
    assert!(
        store.remove_release("spending", "r2").is_err(),
        "a live release stays"
    );
    store.remove_release("spending", "r1").unwrap();
    let ds = &store.datasets().unwrap()[0];
    assert_eq!(ds.releases.len(), 1);
    assert!(!dir.join("store/dumps/spending/r1.nt.gz").exists());
    assert!(
        store
            .publish(&request(ntriples(&dir, "c.nt", 1, "x"), "r2"))
            .is_err(),
        "no overwrite"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_public_view_hides_drafts_and_other_graphs() {
    let dir = tmp("view");
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    store
        .publish(&request(ntriples(&dir, "a.nt", 3, "live"), "r1"))
        .unwrap();
    // A draft: loaded into a release graph but never recorded (as after a crash).
    store
        .db()
        .update(&format!(
            "INSERT DATA {{ GRAPH <{BASE}/graph/spending/draft> {{ <http://example.org/x> <http://example.org/tag> \"draft\" }} }}"
        ))
        .unwrap();
    assert_eq!(tags(&store), vec!["\"live\""]);
    let named = strings(
        &store,
        "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g",
    );
    assert_eq!(
        named,
        vec![
            format!("<{BASE}/graph/catalog>"),
            format!("<{BASE}/graph/spending/r1>")
        ]
    );
    assert!(strings(
        &store,
        &format!("SELECT * WHERE {{ GRAPH <{BASE}/graph/spending/draft> {{ ?s ?p ?o }} }}")
    )
    .is_empty());
    // FROM and FROM NAMED choose among the public graphs and reach nothing else.
    let tag = "SELECT DISTINCT ?t WHERE { ?s <http://example.org/tag> ?t }";
    let from = |g: &str| tag.replace("WHERE", &format!("FROM <{BASE}/graph/{g}> WHERE"));
    assert_eq!(strings(&store, &from("spending/r1")), vec!["\"live\""]);
    assert!(strings(&store, &from("catalog")).is_empty());
    assert!(strings(&store, &from("spending/draft")).is_empty());
    assert!(strings(
        &store,
        &format!("SELECT ?g FROM NAMED <{BASE}/graph/spending/draft> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}")
    )
    .is_empty());
    assert_eq!(
        strings(
            &store,
            &format!("SELECT DISTINCT ?g FROM NAMED <{BASE}/graph/catalog> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}")
        ),
        vec![format!("<{BASE}/graph/catalog>")]
    );
    // FROM NAMED alone leaves the default graph empty.
    assert!(strings(
        &store,
        &tag.replace(
            "WHERE",
            &format!("FROM NAMED <{BASE}/graph/spending/r1> WHERE")
        )
    )
    .is_empty());
    drop(store);
    // Reopening removes the orphan (in the background: it was never visible).
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    store.wait_for_cleanup();
    let graphs: Vec<String> = store
        .db()
        .named_graphs()
        .map(|g| g.unwrap().to_string())
        .collect();
    assert!(!graphs.iter().any(|g| g.contains("draft")), "{graphs:?}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A pattern with a known subject is read once across every graph of the store and kept to
/// the public ones (vendor/spareval/PATCHED.md): the earlier release, a draft and the store's
/// default graph hold the same subject and answer nothing.
#[test]
fn a_subject_is_read_once_across_graphs_and_only_the_public_ones_answer() {
    let dir = tmp("subject");
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    store
        .publish(&request(ntriples(&dir, "a.nt", 3, "one"), "r1"))
        .unwrap();
    store
        .publish(&request(ntriples(&dir, "b.nt", 3, "two"), "r2"))
        .unwrap();
    store
        .db()
        .update(&format!(
            "INSERT DATA {{ GRAPH <{BASE}/graph/spending/draft> {{ <http://example.org/payment/1> <http://example.org/tag> \"draft\" }}
               <http://example.org/payment/1> <http://example.org/tag> \"default\" }}"
        ))
        .unwrap();
    let p1 = "<http://example.org/payment/1>";
    assert_eq!(
        strings(
            &store,
            &format!("SELECT ?t WHERE {{ {p1} <http://example.org/tag> ?t }}")
        ),
        vec!["\"two\""]
    );
    assert_eq!(
        strings(&store, &format!("SELECT ?p ?o WHERE {{ {p1} ?p ?o }}")).len(),
        3
    );
    // The subject bound by a join, row by row.
    assert_eq!(
        strings(
            &store,
            "SELECT DISTINCT ?t WHERE { ?s a <http://reference.data.gov.uk/def/payment#ExpenditureLine> . ?s <http://example.org/tag> ?t }"
        ),
        vec!["\"two\""]
    );
    // Named graphs, internalized when a GRAPH pattern asks: the live release only.
    assert_eq!(
        strings(
            &store,
            &format!("SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ {p1} ?p ?o }} }}")
        ),
        vec![format!("<{BASE}/graph/spending/r2>")]
    );
    assert!(strings(
        &store,
        &format!(
            "SELECT ?o FROM NAMED <{BASE}/graph/spending/r1> WHERE {{ GRAPH ?g {{ {p1} ?p ?o }} }}"
        )
    )
    .is_empty());
    // NOW() is one value for the whole query.
    let now = strings(
        &store,
        "SELECT (NOW() = NOW() AS ?same) (NOW() AS ?n) WHERE {}",
    );
    assert_eq!(now.len(), 1);
    assert!(now[0].starts_with("\"true\""), "{now:?}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A query's own strings (constants, and those its expressions make) decode to themselves
/// whether or not the store holds them, before and past the bytes Oxigraph's patched
/// `DatasetView` keeps without asking the store (vendor/oxigraph/PATCHED.md).
#[test]
fn strings_a_query_makes_up_decode_to_themselves_past_the_unchecked_budget() {
    let dir = tmp("strings");
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    store
        .publish(&request(ntriples(&dir, "a.nt", 3, "one"), "r1"))
        .unwrap();
    // A constant not in the store, alone (well inside the budget).
    assert_eq!(
        strings(
            &store,
            "SELECT ?v WHERE { VALUES ?v { <http://example.org/nowhere> } }"
        ),
        vec!["<http://example.org/nowhere>"]
    );
    // 20 KB of constants first (past the 16 KiB budget), then constants of both kinds, and
    // strings made row by row: some new, some the store's own.
    let long = "x".repeat(20_000);
    let rows = strings(
        &store,
        &format!(
            "SELECT ?n ?own ?new ?far WHERE {{
               ?s <http://example.org/tag> \"one\" .
               BIND(STRLEN(\"{long}\") AS ?n)
               BIND(IRI(STR(?s)) AS ?own)
               BIND(CONCAT(STR(?s), \"/made-up\") AS ?new)
               BIND(<http://example.org/far-away> AS ?far)
             }} ORDER BY ?own"
        ),
    );
    let want: Vec<String> = (0..3)
        .map(|i| {
            format!(
                "\"20000\"^^<http://www.w3.org/2001/XMLSchema#integer> <http://example.org/payment/{i}> \"http://example.org/payment/{i}/made-up\" <http://example.org/far-away>"
            )
        })
        .collect();
    assert_eq!(rows, want);
    // A long string made up by the query comes back whole.
    let made = strings(
        &store,
        &format!("SELECT (CONCAT(\"{long}\", \"!\") AS ?v) WHERE {{}}"),
    );
    assert_eq!(made, vec![format!("\"{long}!\"")]);
    std::fs::remove_dir_all(&dir).ok();
}

/// VoID's triple count comes from the load's own pass over the file, not from the store: a
/// triple written twice (once with other spacing) is counted once, as the store keeps it once,
/// and terms that differ only in kind (an IRI, a string and a typed literal with the same text)
/// are counted apart.
#[test]
fn the_void_triple_count_is_of_distinct_triples_as_the_store_holds_them() {
    let dir = tmp("void-count");
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    let nt = dir.join("dups.nt");
    std::fs::write(
        &nt,
        "<http://example.org/a> <http://example.org/p> <http://example.org/b> .
<http://example.org/a> <http://example.org/p> \"http://example.org/b\" .
<http://example.org/a> <http://example.org/p> \"http://example.org/b\"^^<http://example.org/t> .
<http://example.org/a> <http://example.org/p> \"http://example.org/b\"@en .
<http://example.org/a> <http://example.org/p> <http://example.org/b> .
<http://example.org/a>   <http://example.org/p>  <http://example.org/b>   .
<http://example.org/a> <http://example.org/p> \"http://example.org/b\"@en .
<http://example.org/ab> <http://example.org/p> <http://example.org/b> .
",
    )
    .unwrap();
    let info = store.publish(&request(nt, "r1")).unwrap();
    let in_store = strings(
        &store,
        &format!(
            "SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{}> {{ ?s ?p ?o }} }}",
            info.graph
        ),
    );
    assert_eq!(
        in_store,
        vec!["\"5\"^^<http://www.w3.org/2001/XMLSchema#integer>"]
    );
    assert_eq!(info.triples, 5);
    let void = strings(
        &store,
        "SELECT ?t WHERE { ?r <http://rdfs.org/ns/void#triples> ?t }",
    );
    assert_eq!(
        void,
        vec!["\"5\"^^<http://www.w3.org/2001/XMLSchema#integer>"]
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_catalogue_describes_releases_in_dcat_void_and_prov() {
    let dir = tmp("catalog");
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    store
        .publish(&request(ntriples(&dir, "a.nt", 4, "x"), "r1"))
        .unwrap();
    let q = |query: &str| {
        strings(
            &store,
            &format!(
                "PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX void: <http://rdfs.org/ns/void#>
         PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX spdx: <http://spdx.org/rdf/terms#>
         PREFIX dct: <http://purl.org/dc/terms/> {query}"
            ),
        )
    };
    assert_eq!(
        q("SELECT ?t ?e ?c ?p WHERE { ?r dcat:isVersionOf ?d ; void:triples ?t ; void:entities ?e ; void:classes ?c ; void:properties ?p }"),
        vec!["\"12\"^^<http://www.w3.org/2001/XMLSchema#integer> \"4\"^^<http://www.w3.org/2001/XMLSchema#integer> \"1\"^^<http://www.w3.org/2001/XMLSchema#integer> \"3\"^^<http://www.w3.org/2001/XMLSchema#integer>"]
    );
    let dumps = q("SELECT ?url ?size ?sum WHERE { ?r dcat:isVersionOf ?d ; dcat:distribution ?x . ?x dcat:downloadURL ?url ; dcat:mediaType ?m ; dcat:byteSize ?size ; spdx:checksum/spdx:checksumValue ?sum }");
    assert_eq!(dumps.len(), 1);
    assert!(
        dumps[0].starts_with(&format!("<{BASE}/dumps/spending/r1.nt.gz>")),
        "{dumps:?}"
    );
    assert_eq!(
        q("SELECT ?src ?when WHERE { ?r prov:wasDerivedFrom ?src ; prov:generatedAtTime ?when ; prov:wasGeneratedBy ?run . ?run a prov:Activity }"),
        vec!["<http://council.example/spend.csv> \"2024-04-01T09:00:05Z\"^^<http://www.w3.org/2001/XMLSchema#dateTime>"]
    );
    assert_eq!(
        q("SELECT ?l WHERE { ?c a dcat:Catalog ; dcat:dataset ?d . ?d dct:license ?l ; dcat:hasCurrentVersion ?r }"),
        vec![format!("<{}>", fivestar_store::OGL_V3)]
    );
    // The endpoint is a DCAT data service serving the dataset, which has a landing page.
    let served = "SELECT ?url ?page WHERE { ?c a dcat:Catalog ; dcat:service ?s . ?s a dcat:DataService ; dcat:endpointURL ?url ; dct:conformsTo <https://www.w3.org/TR/sparql11-protocol/> ; dcat:servesDataset ?d . ?d dcat:landingPage ?page }";
    assert_eq!(
        q(served),
        vec![format!("<{BASE}/sparql> <{BASE}/dataset/spending>")]
    );
    // A withdrawn dataset is not served.
    store.withdraw("spending").unwrap();
    assert!(q(served).is_empty());
    store.rollback("spending", "r1").unwrap();
    assert_eq!(q(served).len(), 1);
    std::fs::remove_dir_all(&dir).ok();
}

fn check_sum(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let sum = std::fs::read_to_string(format!("{}.sha256", path.display())).unwrap();
    let name = path.file_name().unwrap().to_string_lossy();
    assert_eq!(
        sum,
        format!("{}  {name}\n", hex::encode(sha2::Sha256::digest(&bytes)))
    );
}

/// Every distribution in the catalogue names a file that is there with the size and sha256
/// the catalogue gives; the dataset's own distributions are exactly its `latest` files, and
/// its `void:dataDump` links are exactly the N-Triples ones among them.
fn catalogue_tells_the_truth(store: &Store, dumps: &Path) {
    let rows = strings(
        store,
        "PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX spdx: <http://spdx.org/rdf/terms#>
         SELECT ?of ?url ?size ?sum WHERE {
           ?of dcat:distribution ?d . ?d dcat:downloadURL ?url ; dcat:byteSize ?size ;
              spdx:checksum/spdx:checksumValue ?sum }",
    );
    assert!(!rows.is_empty());
    let dataset = format!("<{BASE}/id/dataset/spending>");
    let mut described = BTreeSet::new();
    for row in &rows {
        let f: Vec<&str> = row.split(' ').collect();
        let path = f[1]
            .trim_matches(|c| c == '<' || c == '>')
            .strip_prefix(&format!("{BASE}/dumps/"))
            .unwrap_or_else(|| panic!("{row}"));
        let bytes = std::fs::read(dumps.join(path)).unwrap_or_else(|e| panic!("{row}: {e}"));
        let size = f[2].split('"').nth(1).unwrap();
        let sum = f[3].split('"').nth(1).unwrap();
        assert_eq!(size, bytes.len().to_string(), "{row}");
        assert_eq!(sum, hex::encode(sha2::Sha256::digest(&bytes)), "{row}");
        if f[0] == dataset {
            described.insert(path.to_string());
        }
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(dumps.join("spending"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("latest") && !n.ends_with(".sha256"))
        .map(|n| format!("spending/{n}"))
        .collect();
    assert_eq!(described, on_disk);
    let data_dumps: BTreeSet<String> = strings(
        store,
        &format!("SELECT ?u WHERE {{ {dataset} <http://rdfs.org/ns/void#dataDump> ?u }}"),
    )
    .into_iter()
    .collect();
    let expected: BTreeSet<String> = on_disk
        .iter()
        .filter(|n| n.ends_with(".nt.gz"))
        .map(|n| format!("<{BASE}/dumps/{n}>"))
        .collect();
    assert_eq!(data_dumps, expected);
}

#[test]
fn the_catalogue_describes_the_files_as_they_are_through_rollback_and_withdraw() {
    let dir = tmp("truth");
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    let dumps = dir.join("store/dumps");
    let req = with_csv(&dir, request(ntriples(&dir, "a.nt", 3, "one"), "r1"));
    store.publish(&req).unwrap();
    catalogue_tells_the_truth(&store, &dumps);
    store
        .publish(&request(ntriples(&dir, "b.nt", 2, "two"), "r2"))
        .unwrap();
    catalogue_tells_the_truth(&store, &dumps);
    store.rollback("spending", "r1").unwrap();
    catalogue_tells_the_truth(&store, &dumps);
    let rating = |store: &Store| {
        strings(
            store,
            &format!("SELECT ?m WHERE {{ <{BASE}/id/dataset/spending> <http://www.w3.org/ns/dqv#hasQualityMeasurement> ?m }}"),
        )
    };
    assert_eq!(
        rating(&store),
        [format!("<{BASE}/id/dataset/spending/release/r1/stars>")],
        "the dataset is rated as its live release"
    );
    store.withdraw("spending").unwrap();
    catalogue_tells_the_truth(&store, &dumps);
    assert!(rating(&store).is_empty());
    store.rollback("spending", "r2").unwrap();
    catalogue_tells_the_truth(&store, &dumps);
    std::fs::remove_dir_all(&dir).ok();
}

/// `latest` is a second name of the live release's file, never older than what it replaced:
/// after a rollback to an older release, a client asking `If-Modified-Since` the time of the
/// `latest` it holds must not be told its newer copy is current.
#[test]
fn latest_after_a_rollback_is_the_older_release_and_not_dated_before_it() {
    let dir = tmp("latest-time");
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    let ds = dir.join("store/dumps/spending");
    store
        .publish(&request(ntriples(&dir, "a.nt", 3, "one"), "r1"))
        .unwrap();
    store
        .publish(&request(ntriples(&dir, "b.nt", 2, "two"), "r2"))
        .unwrap();
    // r1's file dated an hour back, as a release published earlier would be (no sleeping,
    // and no reliance on the file system's time resolution).
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::OpenOptions::new()
        .write(true)
        .open(ds.join("r1.nt.gz"))
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    let modified = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let before = modified(&ds.join("latest.nt.gz"));
    store.rollback("spending", "r1").unwrap();
    let latest = ds.join("latest.nt.gz");
    assert_eq!(
        std::fs::read(&latest).unwrap(),
        std::fs::read(ds.join("r1.nt.gz")).unwrap()
    );
    assert!(
        modified(&latest) >= before,
        "latest looks older than what it replaced"
    );
    check_sum(&latest);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn dumps_match_their_checksums_and_latest_follows_the_live_release() {
    let dir = tmp("dumps");
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    let req = with_csv(&dir, request(ntriples(&dir, "a.nt", 3, "one"), "r1"));
    store.publish(&req).unwrap();
    store
        .publish(&request(ntriples(&dir, "b.nt", 2, "two"), "r2"))
        .unwrap();
    let d = dir.join("store/dumps");
    for f in [
        "spending/r1.nt.gz",
        "spending/r1.csv",
        "spending/r1-metadata.json",
        "spending/r2.nt.gz",
        "spending/latest.nt.gz",
        "all.nq.gz",
    ] {
        check_sum(&d.join(f));
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("spending/r1-metadata.json")).unwrap())
            .unwrap();
    assert_eq!(
        meta["url"], "r1.csv",
        "the published metadata points at the published CSV"
    );
    assert_eq!(
        std::fs::read(d.join("spending/latest.nt.gz")).unwrap(),
        std::fs::read(d.join("spending/r2.nt.gz")).unwrap()
    );
    assert!(!d.join("spending/latest.csv").exists(), "r2 had no CSV");
    store.rollback("spending", "r1").unwrap();
    assert_eq!(
        std::fs::read(d.join("spending/latest.csv")).unwrap(),
        b"a,b\n1,2\n"
    );
    let mut all = String::new();
    use std::io::Read;
    flate2::read::MultiGzDecoder::new(std::fs::File::open(d.join("all.nq.gz")).unwrap())
        .read_to_string(&mut all)
        .unwrap();
    assert!(
        all.contains("\"one\"") && !all.contains("\"two\""),
        "all.nq.gz is the live view"
    );
    // Quad for quad: all.nq.gz is the public view (catalogue, vocabulary, live releases) and
    // a release's .nt.gz is its graph.
    // (Through an in-memory Oxigraph store: it keeps numbers in canonical form, "0.50" as
    // "0.5", while the dump has the triples as published.)
    let parse = |text: &str, format| -> BTreeSet<String> {
        let mem = oxigraph::store::Store::new().unwrap();
        mem.load_from_slice(RdfParser::from_format(format), text.as_bytes())
            .unwrap();
        mem.iter()
            .map(|q| {
                let q = q.unwrap();
                match q.graph_name {
                    GraphName::DefaultGraph => Triple::from(q).to_string(),
                    _ => q.to_string(),
                }
            })
            .collect()
    };
    let in_store = |graph: Option<&str>| -> BTreeSet<String> {
        store
            .db()
            .iter()
            .map(|q| q.unwrap())
            .filter(|q| match (graph, &q.graph_name) {
                (Some(g), GraphName::NamedNode(n)) => n.as_str() == g,
                (None, GraphName::NamedNode(n)) => store
                    .public_graphs()
                    .unwrap()
                    .iter()
                    .any(|p| p.as_str() == n.as_str()),
                _ => false,
            })
            .map(|q| {
                if graph.is_some() {
                    Triple::from(q).to_string()
                } else {
                    q.to_string()
                }
            })
            .collect()
    };
    let public = in_store(None);
    assert!(
        public.len() > 100,
        "catalogue, vocabulary and r1: {}",
        public.len()
    );
    assert_eq!(parse(&all, RdfFormat::NQuads), public);
    let mut nt = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(d.join("spending/r1.nt.gz")).unwrap())
        .read_to_string(&mut nt)
        .unwrap();
    let dumped = parse(&nt, RdfFormat::NTriples);
    let graph = in_store(Some(&format!("{BASE}/graph/spending/r1")));
    assert_eq!(dumped.len(), 9);
    assert_eq!(dumped, graph);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_syntax_error_late_in_a_release_leaves_no_trace() {
    // One parse feeds the loader and the dumps: an error after many good triples must stop
    // both, leave the live release as it was and remove what was written.
    let dir = tmp("syntax");
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    store
        .publish(&request(ntriples(&dir, "a.nt", 3, "before"), "r1"))
        .unwrap();
    let all_before = std::fs::read(dir.join("store/dumps/all.nq.gz")).unwrap();
    let bad = ntriples(&dir, "bad.nt", 20_000, "after");
    let mut text = std::fs::read_to_string(&bad).unwrap();
    text.push_str("<http://example.org/x> <http://example.org/p> \"unterminated .\n");
    std::fs::write(&bad, text).unwrap();
    let err = store.publish(&request(bad.clone(), "r2")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("bad.nt"), "the error names the file: {msg}");
    assert!(msg.contains("60001"), "the error names the line: {msg}");
    assert_eq!(tags(&store), vec!["\"before\""]);
    let ds = &store.datasets().unwrap()[0];
    assert_eq!(ds.live.as_deref(), Some("r1"));
    assert_eq!(ds.releases.len(), 1);
    assert!(
        !store
            .db()
            .named_graphs()
            .any(|g| g.unwrap().to_string().contains("/r2")),
        "no graph for the failed release"
    );
    let left: Vec<String> = std::fs::read_dir(dir.join("store/dumps/spending"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("r2"))
        .collect();
    assert!(left.is_empty(), "no dumps of the failed release: {left:?}");
    assert_eq!(
        std::fs::read(dir.join("store/dumps/all.nq.gz")).unwrap(),
        all_before,
        "all.nq.gz unchanged"
    );
    // The same store publishes the corrected file.
    store
        .publish(&request(ntriples(&dir, "c.nt", 2, "fixed"), "r2"))
        .unwrap();
    assert_eq!(tags(&store), vec!["\"fixed\""]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_ids_and_a_changed_base_are_refused() {
    let dir = tmp("ids");
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    let mut req = request(ntriples(&dir, "a.nt", 1, "x"), "r1");
    req.dataset.id = "../etc".into();
    assert!(store.publish(&req).is_err());
    drop(store);
    let err = Store::open(
        dir.join("store"),
        Settings::new("https://data.council.example"),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("base IRI"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Run as a child process by `a_crash_mid_load_leaves_the_live_release`.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var("FIVESTAR_CRASH_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let marker = dir.join("loading");
    let mut settings = Settings::new(BASE);
    settings.loader_threads = 1;
    // Batches of 512,000 quads: the first progress report comes after two of the three.
    settings.loader_memory_mb = 512;
    let store = Store::open(dir.join("store"), settings).unwrap();
    let mut req = request(dir.join("big.nt"), "r2");
    req.progress = Some(fivestar_store::LoadProgress(std::sync::Arc::new(
        move |_| {
            let _ = std::fs::write(&marker, "");
        },
    )));
    store.publish(&req).unwrap();
    std::fs::write(dir.join("finished"), "").unwrap();
}

/// The child of `a_kill_at_each_step_of_a_publish_leaves_consistent_files`: publishes r2
/// (with a CSV) over r1 and dies where `FIVESTAR_TEST_CRASH_AT` says.
#[test]
fn crash_step_child() {
    let Ok(dir) = std::env::var("FIVESTAR_CRASH_STEP_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    let req = with_csv(&dir, request(ntriples(&dir, "b.nt", 5, "after"), "r2"));
    store.publish(&req).unwrap();
}

/// What a reader may rely on at any time: the catalogue's files are there with its sizes and
/// checksums, `all.nq.gz` matches its checksum and holds the live release (and no other),
/// nothing is downloadable for a release the catalogue lacks, and no temporary file is left.
fn files_agree_with_the_catalogue(store: &Store, dumps: &Path, live: &str, other: &str) {
    catalogue_tells_the_truth(store, dumps);
    check_sum(&dumps.join("all.nq.gz"));
    let mut all = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::MultiGzDecoder::new(
            std::fs::File::open(dumps.join("all.nq.gz")).unwrap(),
        ),
        &mut all,
    )
    .unwrap();
    assert!(all.contains(&format!("<{BASE}/graph/spending/{live}>")));
    assert!(!all.contains(&format!("<{BASE}/graph/spending/{other}>")));
    let recorded: Vec<String> = store.datasets().unwrap()[0]
        .releases
        .iter()
        .map(|r| r.release.clone())
        .collect();
    for f in std::fs::read_dir(dumps.join("spending")).unwrap() {
        let n = f.unwrap().file_name().to_string_lossy().into_owned();
        let owner = n
            .trim_start_matches('.')
            .split(['.', '-'])
            .next()
            .unwrap()
            .to_string();
        assert!(
            owner == "latest" || recorded.contains(&owner),
            "{n} belongs to no recorded release ({recorded:?})"
        );
    }
    let tmp = dumps.parent().unwrap().join("tmp");
    assert!(
        !tmp.exists() || std::fs::read_dir(&tmp).unwrap().next().is_none(),
        "temporary files are left: {:?}",
        std::fs::read_dir(&tmp)
            .map(|d| d.map(|e| e.map(|e| e.file_name())).collect::<Vec<_>>())
            .ok()
    );
    assert!(!dumps.parent().unwrap().join("switch.journal").exists());
}

#[test]
fn a_kill_at_each_step_of_a_publish_leaves_consistent_files() {
    // (step, the release live after reopening)
    for (step, live) in [
        ("loaded", "r1"),
        ("switched", "r2"),
        ("latest-partial", "r2"),
        ("latest-written", "r2"),
    ] {
        let dir = tmp(&format!("step-{step}"));
        drop(store_with_r1(&dir));
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_step_child", "--nocapture"])
            .env("FIVESTAR_CRASH_STEP_DIR", &dir)
            .env("FIVESTAR_TEST_CRASH_AT", step)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{step}: the child was not stopped");
        let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
        store.wait_for_cleanup();
        let ds = &store.datasets().unwrap()[0];
        assert_eq!(ds.live.as_deref(), Some(live), "{step}");
        let other = if live == "r1" { "r2" } else { "r1" };
        files_agree_with_the_catalogue(&store, &dir.join("store/dumps"), live, other);
        let tag = if live == "r1" {
            "\"before\""
        } else {
            "\"after\""
        };
        assert_eq!(tags(&store), vec![tag], "{step}");
        let graphs: Vec<String> = store
            .db()
            .named_graphs()
            .map(|g| g.unwrap().to_string())
            .collect();
        assert_eq!(
            graphs.iter().any(|g| g.contains("/r2")),
            live == "r2",
            "{step}: {graphs:?}"
        );
        drop(store);
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn a_crash_mid_load_leaves_the_live_release() {
    let dir = tmp("crash");
    {
        let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
        store
            .publish(&request(ntriples(&dir, "a.nt", 20, "before"), "r1"))
            .unwrap();
    }
    ntriples(&dir, "big.nt", 400_000, "after");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture"])
        .env("FIVESTAR_CRASH_DIR", &dir)
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !dir.join("loading").exists() {
        assert!(
            // A guard against a hung child, not a timing check: a debug build on a busy
            // 2-core machine is slow.
            start.elapsed().as_secs() < 900,
            "the child never started loading"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child ended before loading"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!dir.join("finished").exists(), "the load was interrupted");
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    // The interrupted release's graph goes in the background; its dumps at once.
    assert!(!dir.join("store/dumps/spending/r2.nt.gz").exists());
    store.wait_for_cleanup();
    assert_eq!(tags(&store), vec!["\"before\""]);
    let ds = &store.datasets().unwrap()[0];
    assert_eq!(ds.live.as_deref(), Some("r1"));
    assert_eq!(ds.releases.len(), 1);
    let graphs: Vec<String> = store
        .db()
        .named_graphs()
        .map(|g| g.unwrap().to_string())
        .collect();
    assert!(
        !graphs.iter().any(|g| g.contains("/r2")),
        "no trace of the interrupted release: {graphs:?}"
    );
    // The store works: publish again.
    store
        .publish(&request(ntriples(&dir, "c.nt", 2, "again"), "r3"))
        .unwrap();
    assert_eq!(tags(&store), vec!["\"again\""]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_runs_clean_csv_is_published_as_a_second_name_and_a_file_from_elsewhere_as_a_copy() {
    use std::os::unix::fs::MetadataExt;
    let dir = tmp("csv-link");
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    // A run's clean CSV, in the store's runs/.
    let run = dir.join("store/runs/spending/run1");
    std::fs::create_dir_all(&run).unwrap();
    let mut req = with_csv(&run, request(ntriples(&dir, "a.nt", 3, "one"), "r1"));
    store.publish(&req).unwrap();
    let (csv, _) = req.csv.take().unwrap();
    let published = dir.join("store/dumps/spending/r1.csv");
    let inode = |p: &Path| std::fs::metadata(p).unwrap().ino();
    assert_eq!(inode(&published), inode(&csv), "not copied");
    check_sum(&published);
    assert_eq!(std::fs::read(&published).unwrap(), b"a,b\n1,2\n");
    // The run's folder may go (runs are pruned): the published file stays whole.
    std::fs::remove_dir_all(&run).unwrap();
    assert_eq!(std::fs::read(&published).unwrap(), b"a,b\n1,2\n");
    // A CSV from elsewhere is copied: its owner may change it after.
    let req = with_csv(&dir, request(ntriples(&dir, "b.nt", 2, "two"), "r2"));
    store.publish(&req).unwrap();
    let other = dir.join("store/dumps/spending/r2.csv");
    assert_ne!(inode(&other), inode(&req.csv.as_ref().unwrap().0));
    check_sum(&other);
    catalogue_tells_the_truth(&store, &dir.join("store/dumps"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn all_nq_gz_holds_the_vocabulary_loaded_now() {
    let dir = tmp("vocab-member");
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    let doc = |label: &str| {
        format!(
            "<http://example.org/v> <http://www.w3.org/2000/01/rdf-schema#label> \"{label}\" .\n"
        )
        .into_bytes()
    };
    let all = || {
        let mut text = String::new();
        use std::io::Read;
        flate2::read::MultiGzDecoder::new(
            std::fs::File::open(dir.join("store/dumps/all.nq.gz")).unwrap(),
        )
        .read_to_string(&mut text)
        .unwrap();
        text
    };
    let members = || {
        let mut m: Vec<String> = std::fs::read_dir(dir.join("store"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("vocab-") && n.ends_with(".nq.gz"))
            .collect();
        m.sort();
        m
    };
    let vocab_quad = |label: &str| {
        format!("<http://example.org/v> <http://www.w3.org/2000/01/rdf-schema#label> \"{label}\" <{BASE}/graph/vocab> .")
    };
    assert!(store.load_vocabulary(&[doc("first")]).unwrap());
    assert_eq!(members().len(), 1, "made with the vocabulary");
    store
        .publish(&request(ntriples(&dir, "a.nt", 3, "one"), "r1"))
        .unwrap();
    assert!(all().contains(&vocab_quad("first")), "{}", all());
    // Another vocabulary: its member replaces the first.
    let first = members();
    assert!(store.load_vocabulary(&[doc("second")]).unwrap());
    assert_eq!(members().len(), 1);
    assert_ne!(members(), first);
    store
        .publish(&request(ntriples(&dir, "b.nt", 2, "two"), "r2"))
        .unwrap();
    let text = all();
    assert!(text.contains(&vocab_quad("second")) && !text.contains("\"first\""));
    assert!(text.contains("\"two\"") && !text.contains("\"one\""));
    // A store without the member (restored from a backup, or older) reads the graph once.
    let made = members();
    std::fs::remove_file(dir.join("store").join(&made[0])).unwrap();
    store.rollback("spending", "r1").unwrap();
    let text = all();
    assert!(text.contains(&vocab_quad("second")) && text.contains("\"one\""));
    assert_eq!(members(), made, "made again from the store");
    // A load that stops half way names no vocabulary: its graph is read from the store.
    std::fs::remove_file(dir.join("store/vocab.sha256")).unwrap();
    store.withdraw("spending").unwrap();
    assert!(all().contains(&vocab_quad("second")));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn summaries_are_read_by_name_follow_the_live_release_and_feed_the_figures() {
    let dir = tmp("summaries");
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    let spec = fivestar_store::summary::SummarySpec {
        id: "by-type".into(),
        title: "Spend per type".into(),
        measure: "http://reference.data.gov.uk/def/payment#netAmount".into(),
        dimensions: vec!["http://www.w3.org/1999/02/22-rdf-syntax-ns#type".into()],
        optional: Vec::new(),
        labels: Vec::new(),
    };
    let figure = fivestar_store::figures::FigureQuery {
        id: "total".into(),
        title: "Total".into(),
        chart: "bars".into(),
        money: true,
        query: format!(
            "SELECT ?key ?value ?count WHERE {{ GRAPH {{summary}} {{ ?o <http://purl.org/linked-data/cube#dataSet> {{summary#by-type}} ; <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> ?key ; <{BASE}/def/fivestar#total> ?value ; <{BASE}/def/fivestar#lines> ?count }} }} LIMIT 10"
        ),
    };
    let publish = |n: usize, release: &str| {
        let mut req = request(
            ntriples(&dir, &format!("{release}.nt"), n, release),
            release,
        );
        req.summaries = vec![spec.clone()];
        req.figures = vec![figure.clone()];
        store.publish(&req).unwrap();
    };
    // 0.50 + 1.50 + … + 9.50 = 50; then 0.50 + … + 3.50 = 8.
    publish(10, "r1");
    publish(4, "r2");
    let total = |release: &str| {
        strings(
            &store,
            &format!(
                "SELECT ?t ?n WHERE {{ GRAPH <{BASE}/graph/spending/{release}/summary> {{ ?o <{BASE}/def/fivestar#total> ?t ; <{BASE}/def/fivestar#lines> ?n }} }}"
            ),
        )
    };
    let typed = |v: &str, n: u32| {
        format!(
            "\"{v}\"^^<http://www.w3.org/2001/XMLSchema#decimal> \"{n}\"^^<http://www.w3.org/2001/XMLSchema#integer>"
        )
    };
    assert_eq!(
        total("r2"),
        vec![typed("8", 4)],
        "the live release's summary"
    );
    assert!(
        total("r1").is_empty(),
        "an earlier release's summary is not public"
    );
    // Outside the default graph: its totals are not counted with the lines.
    assert_eq!(
        strings(
            &store,
            &format!("SELECT ?t WHERE {{ ?o <{BASE}/def/fivestar#total> ?t }}")
        ),
        Vec::<String>::new()
    );
    let figures = fivestar_store::figures::read(&store.dumps_dir().join("spending"), "r2").unwrap();
    assert_eq!(figures.len(), 1);
    assert_eq!(figures[0].rows[0].value.as_deref(), Some("8"));
    assert_eq!(figures[0].rows[0].count, Some(4));
    store.rollback("spending", "r1").unwrap();
    assert_eq!(
        total("r1"),
        vec![typed("50", 10)],
        "rolled back with its release"
    );
    assert!(total("r2").is_empty());
    store.withdraw("spending").unwrap();
    assert!(total("r1").is_empty(), "withdrawn with its release");
    store.remove_release("spending", "r2").unwrap();
    let db = store.db();
    let left = |release: &str| {
        db.contains_named_graph(fivestar_store::rdf::NamedNodeRef::new_unchecked(&format!(
            "{BASE}/graph/spending/{release}/summary"
        )))
        .unwrap()
    };
    assert!(!left("r2"), "removed with its release");
    assert!(left("r1"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_from_elsewhere_is_parsed_strictly_and_publishes_nothing_when_bad() {
    let dir = tmp("strict");
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    // An IRI with a space: N-Triples forbids it.
    let bad = dir.join("bad.nt");
    let mut text = std::fs::read_to_string(ntriples(&dir, "ok.nt", 3, "one")).unwrap();
    text.push_str("<http://example.org/a b> <http://example.org/tag> \"x\" .\n");
    std::fs::write(&bad, &text).unwrap();
    let e = store.publish(&request(bad.clone(), "r1")).unwrap_err();
    assert!(e.to_string().contains("bad.nt"), "{e}");
    assert!(tags(&store).is_empty());
    assert!(store.datasets().unwrap().is_empty());
    // A file the converter wrote loads through the lenient parser.
    let mut ours = request(PathBuf::new(), "r2");
    ours.triples = fivestar_store::Triples::File {
        path: ntriples(&dir, "ours.nt", 3, "two"),
        converted_here: true,
    };
    assert_eq!(store.publish(&ours).unwrap().triples, 9);
    assert_eq!(tags(&store), ["\"two\""]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A new store under `dir` whose live release `r1` has three payments tagged "before", and
/// a CSV.
fn store_with_r1(dir: &Path) -> Store {
    let store = Store::open(dir.join("store"), Settings::new(BASE)).unwrap();
    store
        .publish(&with_csv(
            dir,
            request(ntriples(dir, "a.nt", 3, "before"), "r1"),
        ))
        .unwrap();
    store
}

/// The releases of the dataset `spending` that have files under `dumps/`, by name.
fn dumped(dir: &Path, release: &str) -> Vec<String> {
    std::fs::read_dir(dir.join("store/dumps/spending"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(release))
        .collect()
}

fn gunzip(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn triples_made_while_they_load_publish_as_their_file_would_and_a_failure_leaves_no_trace() {
    let dir = tmp("made");
    let store = store_with_r1(&dir);
    // Made as a converter makes them: writes of every size, no file.
    let text = std::fs::read(ntriples(&dir, "b.nt", 20_000, "made")).unwrap();
    // Each triple both ways, as the converter gives them: its line, and as a quad (`skip`:
    // that many quads left out, a maker whose lines and quads disagree).
    let made = |text: Vec<u8>, end: Result<(), String>, skip: usize| {
        fivestar_store::Made::new(Some(60_000), move |w, quads| {
            for chunk in text.chunks(65_537) {
                w.write_all(chunk).map_err(|e| e.to_string())?;
            }
            for t in RdfParser::from_format(RdfFormat::NTriples)
                .for_slice(&text)
                .skip(skip)
            {
                let t = t.map_err(|e| e.to_string())?;
                quads
                    .triple(fivestar_store::rdf::TripleRef::new(
                        &t.subject,
                        &t.predicate,
                        &t.object,
                    ))
                    .map_err(|e| e.to_string())?;
            }
            end
        })
    };
    let mut req = with_csv(&dir, request(PathBuf::new(), "r2"));
    req.triples = fivestar_store::Triples::Made(made(text.clone(), Ok(()), 0));
    let info = store.publish(&req).unwrap();
    assert_eq!(info.triples, 60_000);
    assert_eq!(tags(&store), ["\"made\""]);
    // What is downloaded is what was made and loaded, byte for byte.
    let dumps = dir.join("store/dumps/spending");
    assert_eq!(gunzip(&dumps.join("r2.nt.gz")), text);
    check_sum(&dumps.join("r2.nt.gz"));
    // And all.nq.gz holds the release's graph as the store does, quad for quad (through an
    // in-memory store, which keeps "0.50" as "0.5" as the store does).
    let graph = format!("{BASE}/graph/spending/r2");
    let mem = oxigraph::store::Store::new().unwrap();
    mem.load_from_slice(
        RdfParser::from_format(RdfFormat::NQuads),
        &gunzip(&dir.join("store/dumps/all.nq.gz")),
    )
    .unwrap();
    let in_dump: BTreeSet<String> = mem
        .iter()
        .map(|q| q.unwrap())
        .filter(|q| q.graph_name.to_string() == format!("<{graph}>"))
        .map(|q| q.to_string())
        .collect();
    let in_store: BTreeSet<String> = store
        .db()
        .quads_for_pattern(
            None,
            None,
            None,
            Some(fivestar_store::rdf::NamedNodeRef::new_unchecked(&graph).into()),
        )
        .map(|q| q.unwrap().to_string())
        .collect();
    assert_eq!(in_dump.len(), 60_000);
    assert_eq!(in_dump, in_store);
    // The changes since r1 were read from the two releases' dumps: r1's three tags went,
    // and all but r1's other six triples came.
    let patch = String::from_utf8(gunzip(&dumps.join("r2.rdfp.gz"))).unwrap();
    let count = |p: &str| patch.lines().filter(|l| l.starts_with(p)).count();
    assert_eq!((count("A "), count("D ")), (59_994, 3));
    assert!(
        patch.contains("D <http://example.org/payment/0> <http://example.org/tag> \"before\" .")
    );
    catalogue_tells_the_truth(&store, &dir.join("store/dumps"));

    // A maker that fails at its end (a table found invalid once converted), or that panics,
    // publishes nothing: the load is given up before its commit and its files go.
    let all_before = std::fs::read(dir.join("store/dumps/all.nq.gz")).unwrap();
    let mut bad = request(PathBuf::new(), "r3");
    bad.triples = fivestar_store::Triples::Made(made(
        text.clone(),
        Err("the clean table is not valid".into()),
        0,
    ));
    let e = store.publish(&bad).unwrap_err().to_string();
    assert!(e.contains("the clean table is not valid"), "{e}");
    let mut panics = request(PathBuf::new(), "r4");
    panics.triples = fivestar_store::Triples::Made(fivestar_store::Made::new(None, |w, _| {
        w.write_all(&[b'#'; 1 << 20]).map_err(|e| e.to_string())?;
        panic!("a bug in the maker")
    }));
    let e = store.publish(&panics).unwrap_err().to_string();
    assert!(e.contains("making the triples panicked"), "{e}");
    // And a maker's triples are made once.
    req.release = "r5".into();
    let e = store.publish(&req).unwrap_err().to_string();
    assert!(e.contains("made already"), "{e}");
    // A maker whose dumps would not hold what the store does: one quad fewer than lines.
    let mut unequal = request(PathBuf::new(), "r6");
    unequal.triples = fivestar_store::Triples::Made(made(text.clone(), Ok(()), 1));
    let e = store.publish(&unequal).unwrap_err().to_string();
    assert!(
        e.contains("60000 lines for the dumps but 59999 quads for the store"),
        "{e}"
    );
    for r in ["r3", "r4", "r5", "r6"] {
        assert!(dumped(&dir, r).is_empty(), "{r}: {:?}", dumped(&dir, r));
        assert!(
            !store
                .db()
                .named_graphs()
                .any(|g| g.unwrap().to_string().contains(&format!("/{r}"))),
            "no graph for {r}"
        );
    }
    assert_eq!(tags(&store), ["\"made\""]);
    let ds = &store.datasets().unwrap()[0];
    assert_eq!(ds.live.as_deref(), Some("r2"));
    assert_eq!(ds.releases.len(), 2);
    assert_eq!(
        std::fs::read(dir.join("store/dumps/all.nq.gz")).unwrap(),
        all_before
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_database_loaded_in_batches_is_compacted_whole_and_keeps_every_quad() {
    let dir = tmp("compact");
    let nt = ntriples(&dir, "a.nt", 30_000, "t");
    let db = dir.join("db");
    let graph = "http://example.org/graph";
    // Small batches, as a large release's load makes many level-0 files.
    fivestar_store::bulk_load_alone(&db, &nt, graph, Some(1), Some(10)).unwrap();
    let files = |db: &Path| {
        std::fs::read_dir(db)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension() == Some("sst".as_ref()))
            .count()
    };
    let before = files(&db);
    fivestar_store::compact_alone(&db).unwrap();
    assert!(files(&db) < before, "{} files, {before} before", files(&db));
    let store = oxigraph::store::Store::open(&db).unwrap();
    assert_eq!(store.len().unwrap(), 90_000);
    let _ = std::fs::remove_dir_all(&dir);
}
