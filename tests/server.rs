//! End-to-end tests of `fivestar publish` and `fivestar serve`: a real store on disk, the real
//! binary serving on a loopback port, checked over HTTP with reqwest.

mod common;

use common::{client, start};
use sha2::Digest;
use std::time::{Duration, Instant};

const COUNT: &str = "SELECT (COUNT(?l) AS ?n) WHERE { ?l a <http://reference.data.gov.uk/def/payment#ExpenditureLine> }";

#[test]
fn sparql_protocol_methods_and_formats() {
    let site = start("protocol", &[]);
    let c = client();
    let sparql = format!("{}/sparql", site.url);
    // GET, JSON by Accept.
    let r = c
        .get(&sparql)
        .query(&[("query", COUNT)])
        .header("Accept", "application/sparql-results+json")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/sparql-results+json"));
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(v["results"]["bindings"][0]["n"]["value"], "40");
    // POST form, XML.
    let r = c
        .post(&sparql)
        .form(&[("query", COUNT)])
        .header("Accept", "application/sparql-results+xml")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .unwrap()
        .contains("<literal datatype=\"http://www.w3.org/2001/XMLSchema#integer\">40</literal>"));
    // POST direct, CSV and TSV.
    for (accept, needle) in [
        ("text/csv", "n\r\n40"),
        ("text/tab-separated-values", "?n\n40"),
    ] {
        let r = c
            .post(&sparql)
            .header("Content-Type", "application/sparql-query")
            .header("Accept", accept)
            .body(COUNT)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{accept}");
        assert!(r.text().unwrap().contains(needle), "{accept}");
    }
    // format= for browsers.
    let r = c
        .get(&sparql)
        .query(&[("query", COUNT), ("format", "csv")])
        .send()
        .unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    // Graphs in every RDF format.
    let construct = "CONSTRUCT { ?s ?p ?o } WHERE { ?s a <http://reference.data.gov.uk/def/payment#ExpenditureLine> ; ?p ?o }";
    for (accept, needle) in [
        ("text/turtle", "ExpenditureLine"),
        (
            "application/n-triples",
            "<http://reference.data.gov.uk/def/payment#ExpenditureLine> .",
        ),
        ("application/ld+json", "\"@id\""),
        ("application/rdf+xml", "rdf:RDF"),
    ] {
        let r = c
            .get(&sparql)
            .query(&[("query", construct)])
            .header("Accept", accept)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{accept}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(accept),
            "{accept}"
        );
        assert!(r.text().unwrap().contains(needle), "{accept}");
    }
    // ASK.
    let r = c
        .get(&sparql)
        .query(&[("query", "ASK { ?s ?p ?o }")])
        .header("Accept", "application/sparql-results+json")
        .send()
        .unwrap();
    assert_eq!(r.json::<serde_json::Value>().unwrap()["boolean"], true);
    // Service description without a query.
    let r = c
        .get(&sparql)
        .header("Accept", "text/turtle")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let sd = r.text().unwrap();
    assert!(
        sd.contains("sparql-service-description#Service") && sd.contains("SPARQL11Query"),
        "{sd}"
    );
    // It names the public graphs (the live release, the catalogue, the vocabulary).
    let sd = c
        .get(&sparql)
        .header("Accept", "application/n-triples")
        .send()
        .unwrap()
        .text()
        .unwrap();
    let sd_name = "<http://www.w3.org/ns/sparql-service-description#name>";
    for g in ["trafford-spending/r1", "catalog", "vocab"] {
        assert!(
            sd.lines().any(|l| l.contains(sd_name)
                && l.contains(&format!("<http://127.0.0.1:7878/graph/{g}>"))),
            "{g}: {sd}"
        );
    }
    assert_eq!(
        sd.lines().filter(|l| l.contains(sd_name)).count(),
        3,
        "{sd}"
    );
    // Errors.
    let r = c
        .get(&sparql)
        .query(&[("query", "SELECT WHERE {")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("syntax"));
    let r = c
        .get(&sparql)
        .query(&[(
            "query",
            "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
        )])
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("SERVICE"));
    let r = c
        .post(&sparql)
        .form(&[("query", "LOAD <http://example.org/data.ttl>")])
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .post(&sparql)
        .header("Content-Type", "application/sparql-update")
        .body("CLEAR ALL")
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    // Only public graphs can be named.
    let r = c
        .get(&sparql)
        .query(&[
            ("query", COUNT),
            ("default-graph-uri", "http://127.0.0.1:7878/graph/elsewhere"),
        ])
        .header("Accept", "application/sparql-results+json")
        .send()
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().unwrap()["results"]["bindings"][0]["n"]["value"],
        "0"
    );
    // CORS for GET.
    let r = c
        .get(&sparql)
        .query(&[("query", COUNT)])
        .header("Origin", "http://elsewhere.example")
        .send()
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
}

#[test]
fn etags_answer_304_on_repeat() {
    let site = start("etag", &[]);
    let c = client();
    let sparql = format!("{}/sparql", site.url);
    let r = c.get(&sparql).query(&[("query", COUNT)]).send().unwrap();
    let tag = r.headers()["etag"].to_str().unwrap().to_string();
    let r = c
        .get(&sparql)
        .query(&[("query", COUNT)])
        .header("If-None-Match", &tag)
        .send()
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = c
        .get(&sparql)
        .query(&[("query", "ASK {}")])
        .header("If-None-Match", &tag)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "another query has another tag");
    // Pages too, keyed to the live state, the URL and the Accept they were negotiated with,
    // so that a cache in front can revalidate them.
    let page = format!("{}/dataset/trafford-spending", site.url);
    let html = |accept: &str, held: Option<&str>| {
        let mut r = c.get(&page).header("Accept", accept);
        if let Some(t) = held {
            r = r.header("If-None-Match", t);
        }
        r.send().unwrap()
    };
    let r = html("text/html", None);
    assert_eq!(r.status(), 200);
    let tag = r.headers()["etag"].to_str().unwrap().to_string();
    assert!(tag.starts_with("W/\""), "{tag}");
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=0, must-revalidate"
    );
    assert!(r.text().unwrap().contains("Trafford"));
    let r = html("text/html", Some(&tag));
    assert_eq!(r.status(), 304);
    assert_eq!(r.headers()["etag"].to_str().unwrap(), tag);
    assert!(r.text().unwrap().is_empty());
    // A strong comparison of the same tag (a cache that strips W/) is a repeat too.
    assert_eq!(
        html("text/html", Some(tag.trim_start_matches("W/"))).status(),
        304
    );
    let other = html("text/turtle, text/html;q=0.1", Some(&tag));
    assert_eq!(other.status(), 200, "another Accept has another tag");
    assert_ne!(other.headers()["etag"].to_str().unwrap(), tag);
    let home = c
        .get(format!("{}/", site.url))
        .header("If-None-Match", &tag)
        .send()
        .unwrap();
    assert_eq!(home.status(), 200, "another page has another tag");
    // What is not a page of the public view carries none.
    let health = c.get(format!("{}/health", site.url)).send().unwrap();
    assert!(!health.headers().contains_key("etag"));
}

#[test]
fn a_slow_query_times_out_while_others_answer() {
    let site = start("timeout", &["--query-timeout", "1"]);
    let c = client();
    let sparql = format!("{}/sparql", site.url);
    let slow = std::thread::spawn({
        let sparql = sparql.clone();
        move || {
            let start = Instant::now();
            let r = client()
                .get(&sparql)
                .query(&[(
                    "query",
                    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }",
                )])
                .send()
                .unwrap();
            (r.status().as_u16(), r.text().unwrap(), start.elapsed())
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    let r = c.get(&sparql).query(&[("query", COUNT)]).send().unwrap();
    assert_eq!(
        r.status(),
        200,
        "a simple query answers while the slow one runs"
    );
    let (status, text, took) = slow.join().unwrap();
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("stopped after"), "{text}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    // The metrics are for the operator: the admin token, or nothing.
    let anonymous = c.get(format!("{}/metrics", site.url)).send().unwrap();
    assert_eq!(anonymous.status(), 401);
    let metrics = common::metrics(&site.url);
    assert!(
        metrics.contains("fivestar_sparql_query_timeouts_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("fivestar_http_requests_total{route=\"/sparql\",status=\"200\"}"),
        "{metrics}"
    );
}

#[test]
fn uris_resolve_with_303_and_content_negotiation() {
    let site = start("ld", &[]);
    let c = client();
    let id = format!("{}/id/trafford-spending/payment/TRA-2024-01003", site.url);
    let r = c.get(&id).send().unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/doc/trafford-spending/payment/TRA-2024-01003"
    );
    let doc = format!("{}/doc/trafford-spending/payment/TRA-2024-01003", site.url);
    let r = c.get(&doc).header("Accept", "text/html").send().unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().unwrap();
    assert!(
        html.contains("Civic Office Supplies Ltd"),
        "labels replace bare IRIs"
    );
    for (accept, needle) in [
        ("text/turtle", "netAmount"),
        ("application/ld+json", "netAmount"),
        ("application/n-triples", "netAmount"),
        ("application/rdf+xml", "netAmount"),
    ] {
        let r = c.get(&doc).header("Accept", accept).send().unwrap();
        assert_eq!(r.status(), 200, "{accept}");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(accept));
        assert!(r.text().unwrap().contains(needle));
    }
    let r = c
        .get(format!("{}/doc/trafford-spending/nothing-here", site.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    // Whatever an /id/ path holds (a newline, quotes, spaces, non-ASCII), the 303 names a
    // valid URI: the path as it was sent, still percent-encoded.
    for odd in ["a%0Ab", "a%22b%20c", "caf%C3%A9", "x%3Cy%3E"] {
        let r = c.get(format!("{}/id/{odd}", site.url)).send().unwrap();
        assert_eq!(r.status(), 303, "{odd}");
        assert_eq!(
            r.headers()["location"],
            format!("/doc/{odd}").as_str(),
            "{odd}"
        );
        let r = c.get(format!("{}/doc/{odd}", site.url)).send().unwrap();
        assert!(
            matches!(r.status().as_u16(), 400 | 404),
            "{odd}: {}",
            r.status()
        );
    }
    let r = c
        .get(format!("{}/graph/a%0Ab/r1", site.url))
        .header("Accept", "text/html")
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[test]
fn pages_catalogue_dumps_and_health() {
    let site = start("pages", &[]);
    let c = client();
    let home = c.get(&site.url).send().unwrap().text().unwrap();
    assert!(
        home.contains("Trafford spending over £500") && home.contains("★"),
        "{home}"
    );
    assert!(home.contains("OGL v3"));
    // The publisher shows by name: the vocabulary graph describes every council.
    assert!(
        home.contains("Trafford Metropolitan Borough Council"),
        "{home}"
    );
    let ask = c
        .get(format!("{}/sparql", site.url))
        .query(&[(
            "query",
            "ASK { <http://statistics.data.gov.uk/id/statistical-geography/E08000009> \
             <http://www.w3.org/2004/02/skos/core#notation> \
             \"00BU\"^^<http://statistics.data.gov.uk/id/statistical-geography/snac-code> . \
             <http://reference.data.gov.uk/def/payment#netAmount> <http://www.w3.org/2000/01/rdf-schema#label> ?l }",
        )])
        .header("Accept", "application/sparql-results+json")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(ask.contains("true"), "vocabulary graph: {ask}");
    // fivestar's own terms are served from the instance (hash IRIs, one document).
    let own = c
        .get(format!("{}/def/fivestar", site.url))
        .header("Accept", "text/turtle")
        .send()
        .unwrap();
    assert_eq!(own.status(), 200);
    let own = own.text().unwrap();
    assert!(
        own.contains("def/fivestar#expenseArea") && own.contains("fiveStarRating"),
        "{own}"
    );
    let page = c
        .get(format!("{}/dataset/trafford-spending", site.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        page.contains("Spending by supplier") && page.contains("latest.nt.gz"),
        "{page}"
    );
    // Every download the page offers is there (the CSV too: a CSV was the source).
    let downloads: Vec<&str> = page
        .split("href=\"")
        .skip(1)
        .filter_map(|a| a.split('"').next())
        .filter(|h| h.starts_with("/dumps/") || h.starts_with("/graph/"))
        .collect();
    assert!(
        downloads.contains(&"/dumps/trafford-spending/latest.csv"),
        "{page}"
    );
    assert!(downloads.len() >= 8, "{downloads:?}");
    for href in downloads {
        let r = c.head(format!("{}{href}", site.url)).send().unwrap();
        assert_eq!(r.status(), 200, "{href}");
    }
    assert_eq!(
        c.get(format!("{}/dataset/nope", site.url))
            .send()
            .unwrap()
            .status(),
        404
    );
    let q = c
        .get(format!("{}/query", site.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(q.contains("<textarea"));
    let cat = c
        .get(format!("{}/catalog", site.url))
        .header("Accept", "text/turtle")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        cat.contains("dcat:Catalog") && cat.contains("void:triples"),
        "{cat}"
    );
    let void = c
        .get(format!("{}/.well-known/void", site.url))
        .send()
        .unwrap();
    assert_eq!(void.status(), 200);
    for f in [
        "trafford-spending/latest.nt.gz",
        "trafford-spending/r1.csv",
        "trafford-spending/latest-metadata.json",
        "all.nq.gz",
    ] {
        let body = c
            .get(format!("{}/dumps/{f}", site.url))
            .send()
            .unwrap()
            .bytes()
            .unwrap();
        let sum = c
            .get(format!("{}/dumps/{f}.sha256", site.url))
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert_eq!(
            sum.split_whitespace().next().unwrap(),
            hex::encode(sha2::Sha256::digest(&body)),
            "{f}"
        );
        // Downloads can be resumed and revalidated: HEAD, byte ranges, Last-Modified.
        let url = format!("{}/dumps/{f}", site.url);
        let head = c.head(&url).send().unwrap();
        assert_eq!(head.status(), 200, "{f}");
        assert_eq!(
            head.headers()["content-length"].to_str().unwrap(),
            body.len().to_string(),
            "{f}"
        );
        let media = head.headers()["content-type"].to_str().unwrap().to_string();
        let expected = if f.ends_with(".gz") {
            "application/gzip"
        } else if f.ends_with(".csv") {
            "text/csv; charset=utf-8"
        } else {
            "application/csvm+json"
        };
        assert_eq!(media, expected, "{f}");
        let part = c.get(&url).header("Range", "bytes=10-19").send().unwrap();
        assert_eq!(part.status(), 206, "{f}");
        assert_eq!(part.bytes().unwrap().as_ref(), &body[10..20], "{f}");
        let modified = head.headers()["last-modified"]
            .to_str()
            .unwrap()
            .to_string();
        let again = c
            .get(&url)
            .header("If-Modified-Since", modified)
            .send()
            .unwrap();
        assert_eq!(again.status(), 304, "{f}");
    }
    assert_eq!(
        c.get(format!("{}/dumps/../store.json", site.url))
            .send()
            .unwrap()
            .status(),
        404
    );
    let health: serde_json::Value = c
        .get(format!("{}/health", site.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["live"], 1);
}

#[test]
fn graph_iris_resolve_by_the_graph_store_protocol() {
    // r1 then r2: r2 is live, r1 is an earlier release and not on the public view.
    let site = common::start_with("gsp", &["r1", "r2"], &[]);
    let c = client();
    let base = "http://127.0.0.1:7878";
    let live = format!("{base}/graph/trafford-spending/r2");
    let triples = |r: reqwest::blocking::Response, format: oxrdfio::RdfFormat| {
        assert_eq!(r.status(), 200);
        let body = r.bytes().unwrap();
        let mut t: Vec<String> = oxrdfio::RdfParser::from_format(format)
            .for_slice(&body)
            .map(|q| oxrdf::Triple::from(q.expect("valid RDF")).to_string())
            .collect();
        t.sort();
        t
    };
    // What the SPARQL endpoint says the live graph holds.
    let expected = triples(
        c.get(format!("{}/sparql", site.url))
            .query(&[(
                "query",
                format!("CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{live}> {{ ?s ?p ?o }} }}"),
            )])
            .header("Accept", "application/n-triples")
            .send()
            .unwrap(),
        oxrdfio::RdfFormat::NTriples,
    );
    assert!(expected.len() > 300, "{}", expected.len());
    // Direct identification: the graph IRI itself, in every RDF format.
    let direct = format!("{}/graph/trafford-spending/r2", site.url);
    for (accept, format) in [
        ("application/n-triples", oxrdfio::RdfFormat::NTriples),
        ("text/turtle", oxrdfio::RdfFormat::Turtle),
        (
            "application/ld+json",
            oxrdfio::RdfFormat::JsonLd {
                profile: Default::default(),
            },
        ),
        ("application/rdf+xml", oxrdfio::RdfFormat::RdfXml),
    ] {
        let r = c.get(&direct).header("Accept", accept).send().unwrap();
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(accept),
            "{accept}"
        );
        assert_eq!(triples(r, format), expected, "{accept}");
    }
    // Indirect identification gives the same graph; ETags let a client revalidate.
    let r = c
        .get(format!("{}/rdf-graphs", site.url))
        .query(&[("graph", live.as_str())])
        .header("Accept", "application/n-triples")
        .send()
        .unwrap();
    let tag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(triples(r, oxrdfio::RdfFormat::NTriples), expected);
    let r = c
        .get(format!("{}/rdf-graphs", site.url))
        .query(&[("graph", live.as_str())])
        .header("Accept", "application/n-triples")
        .header("If-None-Match", &tag)
        .send()
        .unwrap();
    assert_eq!(r.status(), 304);
    // The default graph is the union of the public graphs: the live release, the catalogue
    // and the vocabulary, never the earlier release.
    let all = triples(
        c.get(format!("{}/rdf-graphs?default", site.url))
            .header("Accept", "application/n-triples")
            .send()
            .unwrap(),
        oxrdfio::RdfFormat::NTriples,
    );
    assert!(all.len() > expected.len());
    assert!(expected.iter().all(|t| all.binary_search(t).is_ok()));
    let catalogue = c
        .get(format!("{}/graph/catalog", site.url))
        .header("Accept", "text/turtle")
        .send()
        .unwrap();
    assert_eq!(catalogue.status(), 200);
    assert!(catalogue.text().unwrap().contains("dcat:Catalog"));
    // Not public, not there, badly asked, or written to.
    for path in [
        "/graph/trafford-spending/r1".to_string(),
        "/graph/trafford-spending/r9".to_string(),
        format!("/rdf-graphs?graph={base}/graph/trafford-spending/r1"),
    ] {
        let r = c
            .get(format!("{}{path}", site.url))
            .header("Accept", "text/turtle")
            .send()
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
        assert!(r.text().unwrap().contains("not a graph of the public view"));
    }
    for path in ["/rdf-graphs", "/rdf-graphs?default&graph=x"] {
        let r = c.get(format!("{}{path}", site.url)).send().unwrap();
        assert_eq!(r.status(), 400, "{path}");
    }
    let r = c.put(&direct).body("<a:b> <a:c> <a:d> .").send().unwrap();
    assert_eq!(r.status(), 405);
    let r = c.delete(&direct).send().unwrap();
    assert_eq!(r.status(), 405);
    // A browser is sent to the page about the graph, which links the graph in each format.
    let r = c.get(&direct).header("Accept", "text/html").send().unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/dataset/trafford-spending");
    let page = c
        .get(format!("{}/dataset/trafford-spending", site.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains(&format!("<code>{live}</code>")), "{page}");
    let links: Vec<&str> = page
        .split("href=\"")
        .skip(1)
        .filter_map(|a| a.split('"').next())
        .filter(|h| h.starts_with("/graph/"))
        .collect();
    assert_eq!(links.len(), 4, "{page}");
    for href in links {
        let r = c.get(format!("{}{href}", site.url)).send().unwrap();
        let media = r.headers()["content-type"].to_str().unwrap().to_string();
        let format = oxrdfio::RdfFormat::from_media_type(media.split(';').next().unwrap())
            .unwrap_or_else(|| panic!("{href}: {media}"));
        assert_eq!(triples(r, format), expected, "{href}");
    }
}

#[test]
fn uris_minted_with_percent_encoding_resolve() {
    // URI templates percent-encode what a value holds (a space, a slash, an accent), and the
    // page of such a URI must be found from the address a browser sends.
    let dir = std::env::temp_dir().join(format!("fivestar-serve-pct-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("odd.csv"), "ref,amount\nPO 12/3,5\ncafé,7\n").unwrap();
    std::fs::write(
        dir.join("odd.csv-metadata.json"),
        r#"{"@context": "http://www.w3.org/ns/csvw", "url": "odd.csv",
  "tableSchema": {"aboutUrl": "item/{ref}", "columns": [
    {"name": "ref", "titles": "ref", "propertyUrl": "http://purl.org/dc/terms/identifier"},
    {"name": "amount", "titles": "amount", "datatype": "integer",
     "propertyUrl": "http://reference.data.gov.uk/def/payment#netAmount"}]}}"#,
    )
    .unwrap();
    let store = dir.join("store");
    let out = std::process::Command::new(common::bin())
        .args([
            "publish",
            dir.join("odd.csv-metadata.json").to_str().unwrap(),
            "--dataset",
            "odd",
            "--release",
            "r1",
            "--store",
            store.to_str().unwrap(),
            "--base-iri",
            "http://127.0.0.1:7878",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let site = common::serve(std::process::Command::new(common::bin()).args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--store",
        store.to_str().unwrap(),
        "--base-iri",
        "http://127.0.0.1:7878",
    ]));
    let c = client();
    for (path, value) in [("PO%2012%2F3", "PO 12/3"), ("caf%C3%A9", "café")] {
        let r = c
            .get(format!("{}/id/odd/item/{path}", site.url))
            .send()
            .unwrap();
        assert_eq!(r.status(), 303, "{path}");
        let location = r.headers()["location"].to_str().unwrap().to_string();
        assert_eq!(location, format!("/doc/odd/item/{path}"));
        let r = c
            .get(format!("{}{location}", site.url))
            .header("Accept", "application/n-triples")
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let nt = r.text().unwrap();
        assert!(
            nt.contains(&format!("<http://127.0.0.1:7878/id/odd/item/{path}>"))
                && nt.contains(&format!("\"{value}\"")),
            "{path}: {nt}"
        );
    }
    drop(site);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Lookups (what a named resource says) are answered on the connection's thread, with the
/// same answers a query thread gives; one past its row budget still gets its whole answer.
#[test]
fn lookups_are_answered_at_once_with_the_same_answers() {
    let site = start("lookups", &[]);
    let c = client();
    let sparql = format!("{}/sparql", site.url);
    let rows = |q: &str| -> Vec<String> {
        let v: serde_json::Value = c
            .get(&sparql)
            .query(&[("query", q)])
            .header("Accept", "application/sparql-results+json")
            .send()
            .unwrap()
            .json()
            .unwrap();
        let mut rows: Vec<String> = v["results"]["bindings"]
            .as_array()
            .unwrap_or_else(|| panic!("{q}: {v}"))
            .iter()
            .map(|b| b.to_string())
            .collect();
        rows.sort();
        rows
    };
    let at_once = || -> u64 {
        let text = common::metrics(&site.url);
        text.lines()
            .find_map(|l| l.strip_prefix("fivestar_sparql_lookups_answered_at_once_total "))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no lookup counter in {text}"))
    };
    let s = "<http://127.0.0.1:7878/id/trafford-spending/payment/TRA-2024-01003>";
    let lookup = rows(&format!("SELECT ?p ?o WHERE {{ {s} ?p ?o }}"));
    assert!(lookup.len() >= 6, "{lookup:?}");
    // A read server asks its backend from a query thread, always.
    let here = u64::from(common::backend().is_none());
    assert_eq!(at_once(), here);
    // The same question with a FILTER is not a lookup: a query thread answers it, the same.
    let scan = rows(&format!("SELECT ?p ?o WHERE {{ {s} ?p ?o FILTER(true) }}"));
    assert_eq!(scan, lookup);
    assert_eq!(at_once(), here);
    // Two patterns are a join, not a lookup: a query thread answers.
    let n = lookup.len();
    let cross = rows(&format!("SELECT * WHERE {{ {s} ?p1 ?o1 . {s} ?p2 ?o2 }}"));
    assert_eq!(cross.len(), n * n);
    assert_eq!(at_once(), here);
    // A lookup whose answer is past the budget (n rows × 201 template triples) is begun at
    // once, then answered whole by a query thread: the same triples as without the lookup
    // path (a FILTER makes the same query no lookup).
    let subject = "t:TRA-2024-01003";
    let template: String = (0..200).map(|i| format!("x:p{i} ?o ; ")).collect();
    let construct = |filter: &str| {
        format!(
            "PREFIX t: <http://127.0.0.1:7878/id/trafford-spending/payment/> PREFIX x: <http://x/>              CONSTRUCT {{ {subject} {template} x:q ?o }} WHERE {{ {subject} ?p ?o {filter} }}"
        )
    };
    let triples = |q: &str| -> Vec<String> {
        let text = c
            .get(&sparql)
            .query(&[("query", q)])
            .header("Accept", "application/n-triples")
            .send()
            .unwrap()
            .text()
            .unwrap();
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        lines.sort();
        lines.dedup();
        lines
    };
    let big = construct("");
    assert!(big.len() < 4096, "{}", big.len());
    let whole = triples(&big);
    assert!(whole.len() > 1_000, "{}", whole.len());
    assert_eq!(whole, triples(&construct("FILTER(true)")));
    assert_eq!(at_once(), here);
    // An ASK and a CONSTRUCT of one resource are lookups too.
    let ask: serde_json::Value = c
        .get(&sparql)
        .query(&[("query", format!("ASK {{ {s} ?p ?o }}").as_str())])
        .header("Accept", "application/sparql-results+json")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(ask["boolean"], true);
    let graph = c
        .get(&sparql)
        .query(&[(
            "query",
            format!("CONSTRUCT {{ {s} ?p ?o }} WHERE {{ {s} ?p ?o }}").as_str(),
        )])
        .header("Accept", "application/n-triples")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(graph.lines().filter(|l| !l.trim().is_empty()).count(), n);
    assert_eq!(at_once(), 3 * here);
}
