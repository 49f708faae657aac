//! End-to-end tests of the `fivestar` binary: real files, a real HTTP server on loopback.

use oxrdfio::{RdfFormat, RdfParser};
mod common;

use common::{bin, root, EXAMPLE};
use std::process::{Command, Output};
use std::time::Duration;

fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(root())
        .output()
        .expect("fivestar runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const BASE: &str =
    "http://data.example.org/trafford/spend/trafford-spend-2024-q1.csv-metadata.json";
const PAYMENT: &str = "http://reference.data.gov.uk/def/payment#";

fn parse(format: RdfFormat, text: &str) -> Vec<oxrdf::Triple> {
    RdfParser::from_format(format)
        .for_slice(text.as_bytes())
        .map(|q| q.expect("valid RDF").into())
        .collect()
}

#[test]
fn converts_the_bundled_example_to_turtle() {
    let o = run(&["csvw", "to-rdf", EXAMPLE, "--base", BASE]);
    assert!(o.status.success(), "{}", stderr(&o));
    let triples = parse(RdfFormat::Turtle, &stdout(&o));
    let lines = triples
        .iter()
        .filter(|t| {
            t.predicate.as_str() == "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
                && t.object.to_string() == format!("<{PAYMENT}ExpenditureLine>")
        })
        .count();
    assert_eq!(lines, 40, "one payment per row");
    let amount = triples
        .iter()
        .find(|t| {
            t.subject.to_string()
                == "<http://data.example.org/trafford/spend/payment/TRA-2024-01003>"
                && t.predicate.as_str() == format!("{PAYMENT}netAmount")
        })
        .expect("the net amount of TRA-2024-01003");
    assert_eq!(
        amount.object.to_string(),
        "\"73253.67\"^^<http://www.w3.org/2001/XMLSchema#decimal>"
    );
    let payer = format!("<{PAYMENT}payer>");
    assert!(triples
        .iter()
        .any(|t| format!("<{}>", t.predicate.as_str()) == payer
            && t.object.to_string()
                == "<http://statistics.data.gov.uk/id/statistical-geography/E08000009>"));
    assert!(
        stderr(&o).is_empty(),
        "no diagnostics expected: {}",
        stderr(&o)
    );
}

#[test]
fn every_rdf_format_carries_the_same_triples() {
    let count = |format: &str, parse_as: RdfFormat| {
        let o = run(&[
            "csvw",
            "to-rdf",
            EXAMPLE,
            "--base",
            BASE,
            "--minimal",
            "--format",
            format,
        ]);
        assert!(o.status.success(), "{format}: {}", stderr(&o));
        parse(parse_as, &stdout(&o)).len()
    };
    let turtle = count("turtle", RdfFormat::Turtle);
    assert!(turtle > 300);
    assert_eq!(count("ntriples", RdfFormat::NTriples), turtle);
    assert_eq!(
        count(
            "jsonld",
            RdfFormat::JsonLd {
                profile: Default::default()
            }
        ),
        turtle
    );
}

#[test]
fn writes_json_and_output_files() {
    let dir = std::env::temp_dir().join(format!("fivestar-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("spend.json");
    let o = run(&[
        "csvw",
        "to-json",
        EXAMPLE,
        "--minimal",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let objects = v.as_array().expect("minimal JSON is an array");
    // Each row describes a payment with its supplier nested by the payee value URL.
    assert_eq!(objects.len(), 40);
    let first = &objects[0];
    // `payment:` is not a prefix of the CSVW context, so its IRIs stay whole (csv2json §4.3).
    assert_eq!(
        first[format!("{PAYMENT}netAmount")],
        serde_json::json!(73253.67)
    );
    assert_eq!(
        first[format!("{PAYMENT}payee")]["schema:name"],
        "Civic Office Supplies Ltd"
    );
    assert_eq!(first["@type"], format!("{PAYMENT}ExpenditureLine"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn validation_reports_file_row_column_value_and_rule() {
    let o = run(&["csvw", "validate", "tests/fixtures/invalid-spend.csv"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = run(&[
        "csvw",
        "validate",
        "tests/fixtures/invalid-spend.csv",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("a JSON report");
    assert_eq!(report["valid"], false);
    assert_eq!(report["errors"], 4);
    let diags = report["diagnostics"].as_array().unwrap();
    let date = diags
        .iter()
        .find(|d| d["column"] == "date")
        .expect("the bad date");
    assert_eq!(date["rule"], "datatype");
    assert_eq!(date["row"], 3);
    assert_eq!(date["value"], "31/02/2024");
    assert!(date["file"]
        .as_str()
        .unwrap()
        .ends_with("tests/fixtures/invalid-spend.csv"));
    let rules: Vec<&str> = diags.iter().filter_map(|d| d["rule"].as_str()).collect();
    assert!(
        rules.contains(&"minimum") && rules.contains(&"primaryKey"),
        "{rules:?}"
    );
    let ok = run(&["csvw", "validate", EXAMPLE]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
}

#[test]
fn usage_and_io_errors_exit_2() {
    assert_eq!(run(&["csvw", "to-rdf"]).status.code(), Some(2));
    assert_eq!(run(&["csvw", "frobnicate"]).status.code(), Some(2));
    let o = run(&["csvw", "to-rdf", "no/such/file.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no/such/file.csv"), "{}", stderr(&o));
}

#[test]
fn invalid_metadata_exits_1_with_its_location() {
    let dir = std::env::temp_dir().join(format!("fivestar-e2e-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let meta = dir.join("bad-metadata.json");
    std::fs::write(
        &meta,
        "{\"@context\": \"http://www.w3.org/ns/csvw\", \"tables\": []}",
    )
    .unwrap();
    let o = run(&["csvw", "to-rdf", meta.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("bad-metadata.json"), "{}", stderr(&o));
    assert!(stderr(&o).contains("no tables"), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).ok();
}

/// Serves fixture files on loopback; the CSV carries a Link header to its metadata.
fn serve(requests: usize) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind loopback");
    let addr = server.server_addr().to_ip().expect("an IP address");
    let base = format!("http://{addr}");
    let csv = std::fs::read(root().join("pipelines/examples/spending/trafford-spend-2024-q1.csv"))
        .unwrap();
    let meta = std::fs::read_to_string(root().join(EXAMPLE))
        .unwrap()
        .replace(
            "\"url\": \"trafford-spend-2024-q1.csv\"",
            "\"url\": \"../data/spend.csv\"",
        );
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..requests {
            let Ok(Some(req)) = server.recv_timeout(Duration::from_secs(20)) else {
                break;
            };
            seen.push(req.url().to_string());
            let response = match req.url() {
                "/data/spend.csv" => tiny_http::Response::from_data(csv.clone())
                    .with_header(tiny_http::Header::from_bytes("Content-Type", "text/csv; charset=utf-8").unwrap())
                    .with_header(
                        tiny_http::Header::from_bytes(
                            "Link",
                            "</meta/spend-metadata.json>; rel=\"describedby\"; type=\"application/csvm+json\"",
                        )
                        .unwrap(),
                    ),
                "/meta/spend-metadata.json" => tiny_http::Response::from_data(meta.clone().into_bytes()),
                _ => tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404),
            };
            let _ = req.respond(response);
        }
        seen
    });
    (base, handle)
}

#[test]
fn fetches_over_http_and_follows_the_link_header() {
    // Requests: the CSV (to read its headers), the linked metadata, the CSV again to convert.
    let (base, server) = serve(3);
    let url = format!("{base}/data/spend.csv");
    let o = run(&["csvw", "to-rdf", &url, "--minimal", "--format", "ntriples"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let triples = parse(RdfFormat::NTriples, &stdout(&o));
    let subject = format!("<{base}/data/payment/TRA-2024-01003>");
    assert!(
        triples.iter().any(|t| t.subject.to_string() == subject
            && t.predicate.as_str() == format!("{PAYMENT}netAmount")),
        "the linked metadata was used"
    );
    let seen = server.join().unwrap();
    assert_eq!(
        seen,
        vec![
            "/data/spend.csv",
            "/meta/spend-metadata.json",
            "/data/spend.csv"
        ]
    );
}

#[test]
fn a_missing_url_is_a_clear_error() {
    let (base, server) = serve(1);
    let o = run(&["csvw", "to-rdf", &format!("{base}/gone.csv")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/gone.csv"), "{}", stderr(&o));
    server.join().unwrap();
}

#[test]
fn bench_runs_and_reports_its_figures() {
    let o = run(&["bench", "--rows", "2000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "rows/s",
        "triples/s",
        "peak RSS",
        "30005 triples",
        "round 3 of 3:",
        "to-rdf ÷ baseline (standard mode), median of 3 rounds: ",
        "to-rdf ÷ baseline (minimal mode), median of 3 rounds: ",
    ] {
        assert!(out.contains(needle), "{needle:?} missing from:\n{out}");
    }
    // Three rounds, each the baseline and both modes.
    assert_eq!(out.matches("baseline (csv → N-Triples").count(), 3, "{out}");
}

#[test]
fn bench_run_runs_a_pipeline_and_measures_the_loaders_alone_on_what_it_published() {
    let dir = std::env::temp_dir().join(format!("fivestar-bench-run-e2e-{}", std::process::id()));
    let d = dir.to_string_lossy().to_string();
    let oxigraph = std::env::var("OXIGRAPH_SERVER")
        .expect("OXIGRAPH_SERVER names Oxigraph's command-line tool: run `make test-deps`");
    let o = run(&[
        "bench-run",
        "--rows",
        "500",
        "--dir",
        &d,
        "--oxigraph",
        &oxigraph,
        "--pairs",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "fivestar run: 500 rows, ",
        "  tidy: ",
        "  clean CSV's metadata (the CSV is written beside the conversion): ",
        "  CSVW validation, csv2rdf and publish, in all (the publish: lines are its parts): ",
        "  publish: conversion, dumps and bulk load, side by side: ",
        "writing the summaries",
        "Oxigraph's bulk loader alone, built into this binary (its sort patched), the same ",
        "run ÷ loader alone (this binary's): ",
        "oxigraph 0.5.13's `oxigraph load`, the same triples: ",
        "run ÷ `oxigraph load` (as released): ",
        "pair 2 of 2:",
        "run ÷ loader alone (this binary's), by pair: ",
        "; median of 2: ",
    ] {
        assert!(out.contains(needle), "{needle:?} missing from:\n{out}");
    }
    // Two runs, each with the loader alone after it; Oxigraph's released tool once.
    assert_eq!(out.matches("fivestar run: 500 rows, ").count(), 2, "{out}");
    assert_eq!(
        out.matches("run ÷ loader alone (this binary's): ").count(),
        2,
        "{out}"
    );
    assert_eq!(
        out.matches("`oxigraph load`, the same triples").count(),
        1,
        "{out}"
    );
    // The loader read what the run published: the triple counts agree.
    let triples = |prefix: &str| -> u64 {
        let line = out.lines().find(|l| l.starts_with(prefix)).unwrap();
        let at = line.find(" triples").unwrap();
        line[..at]
            .rsplit([' ', ','])
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let n = triples("fivestar run:");
    assert!(n > 500 * 5, "{out}");
    assert_eq!(n, triples("Oxigraph's bulk loader alone"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bench_store_publishes_and_measures_the_loader_alone() {
    let dir = std::env::temp_dir().join(format!("fivestar-bench-store-e2e-{}", std::process::id()));
    let d = dir.to_string_lossy().to_string();
    let o = run(&["bench-store", "--triples", "6000", "--dir", &d]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "6000 triples in",
        "parse, N-Quads dump, summaries and bulk load",
        "summary query, top 10 suppliers by total paid: 10 rows",
        "summary query, spend per month: 12 rows",
        "% of the publish",
        "catalogue and switch",
        "peak RSS",
    ] {
        assert!(out.contains(needle), "{needle:?} missing from:\n{out}");
    }
    let o = run(&[
        "bench-store",
        "--triples",
        "6000",
        "--dir",
        &d,
        "--loader-only",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("bulk loader alone") && out.contains("6000 triples in"),
        "{out}"
    );
    assert!(!dir.exists(), "the bench removes what it made");
}

/// The base IRI of the stores `published` makes.
const BASE_IRI: &str = "http://data.example.org/fivestar";

/// A fresh folder `fivestar-cli-{name}-{pid}` with a store in `store/` holding the example
/// as dataset `spend`, release `r1` (published with `--base`, the short spelling of
/// `--base-iri`): the folder and the store.
fn published(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("fivestar-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.join("store");
    let o = run(&[
        "publish",
        EXAMPLE,
        "--dataset",
        "spend",
        "--release",
        "r1",
        "--store",
        store.to_str().unwrap(),
        "--base",
        BASE_IRI,
    ]);
    assert!(o.status.success(), "publish: {}", stderr(&o));
    (dir, store)
}

#[test]
fn query_answers_in_every_format_and_names_the_ones_a_query_form_takes() {
    let (dir, store) = published("query");
    let store = store.to_str().unwrap();
    let base = BASE_IRI;
    let construct = format!(
        "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{base}/graph/spend/r1> {{ ?s ?p ?o }} }}"
    );
    let graph = |format: &str, parse_as: RdfFormat| {
        let o = run(&[
            "query", &construct, "--store", store, "--base", base, "--format", format,
        ]);
        assert!(o.status.success(), "{format}: {}", stderr(&o));
        let mut t: Vec<String> = parse(parse_as, &stdout(&o))
            .iter()
            .map(|t| t.to_string())
            .collect();
        t.sort();
        t
    };
    let nt = graph("ntriples", RdfFormat::NTriples);
    assert!(nt.len() > 300, "{}", nt.len());
    assert!(nt.iter().any(|t| t.starts_with(&format!("<{base}/"))));
    assert_eq!(graph("turtle", RdfFormat::Turtle), nt);
    let jsonld = RdfFormat::JsonLd {
        profile: Default::default(),
    };
    assert_eq!(graph("jsonld", jsonld), nt);
    assert_eq!(graph("rdfxml", RdfFormat::RdfXml), nt);
    let count =
        format!("SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{base}/graph/spend/r1> {{ ?s ?p ?o }} }}");
    for (format, expect) in [
        ("csv", format!("n\r\n{}\r\n", nt.len())),
        ("tsv", format!("?n\n{}\n", nt.len())),
    ] {
        let o = run(&[
            "query", &count, "--store", store, "--base", base, "--format", format,
        ]);
        assert_eq!(stdout(&o), expect, "{format}: {}", stderr(&o));
    }
    // A format that does not fit the query form is a usage error (exit 2) that names the ones
    // that do, not a silent switch to another format.
    let o = run(&[
        "query", &count, "--store", store, "--base", base, "--format", "turtle",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("json, xml, csv or tsv"),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        "query", &construct, "--store", store, "--base", base, "--format", "csv",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("turtle, ntriples, jsonld or rdfxml"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn releases_roll_back_withdraw_and_remove_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!("fivestar-cli-releases-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = dir.join("store");
    let dumps = store.join("dumps").join("spend");
    let s = store.to_str().unwrap();
    let base = "http://data.example.org/fivestar";
    let fivestar = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--store", s, "--base", base]);
        run(&all)
    };
    // r2 is r1 without its last row, so the two releases differ.
    let csv = std::fs::read_to_string(root().join(EXAMPLE.replace("-metadata.json", ""))).unwrap();
    let shorter = csv.trim_end().rsplit_once('\n').unwrap().0.to_string() + "\n";
    let r2_dir = dir.join("r2");
    std::fs::create_dir_all(&r2_dir).unwrap();
    let name = std::path::Path::new(EXAMPLE).file_name().unwrap();
    std::fs::copy(root().join(EXAMPLE), r2_dir.join(name)).unwrap();
    std::fs::write(
        r2_dir.join(name.to_str().unwrap().replace("-metadata.json", "")),
        shorter,
    )
    .unwrap();
    let r2_meta = r2_dir.join(name);
    for (release, meta) in [("r1", root().join(EXAMPLE)), ("r2", r2_meta)] {
        let o = fivestar(&[
            "publish",
            meta.to_str().unwrap(),
            "--dataset",
            "spend",
            "--release",
            release,
        ]);
        assert!(o.status.success(), "publish {release}: {}", stderr(&o));
    }
    let lines = format!("SELECT (COUNT(?l) AS ?n) WHERE {{ ?l <{PAYMENT}netAmount> ?a }}");
    let count = || {
        let o = fivestar(&["query", &lines, "--format", "csv"]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o).lines().nth(1).unwrap_or_default().to_string()
    };
    let r1_lines = csv.trim_end().lines().count() - 1;
    let sha =
        |name: &str| std::fs::read_to_string(dumps.join(format!("{name}.nt.gz.sha256"))).unwrap();
    assert_eq!(count(), (r1_lines - 1).to_string(), "r2 is live");
    let o = fivestar(&["releases"]);
    assert!(stdout(&o).contains("live: r2"), "{}", stdout(&o));
    assert!(stdout(&o).contains("  r1\t") && stdout(&o).contains("  r2\t"));
    assert_eq!(
        sha("latest").split_whitespace().next(),
        sha("r2").split_whitespace().next()
    );

    let o = fivestar(&["rollback", "spend", "r1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(count(), r1_lines.to_string(), "r1 is live again");
    assert_eq!(
        sha("latest").split_whitespace().next(),
        sha("r1").split_whitespace().next()
    );

    // The live release cannot be removed; another can, with its dumps.
    let o = fivestar(&["remove", "spend", "r1"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("live"), "{}", stderr(&o));
    assert!(fivestar(&["remove", "spend", "r2"]).status.success());
    assert!(!dumps.join("r2.nt.gz").exists());
    assert!(dumps.join("r1.nt.gz").exists());
    let o = fivestar(&["releases"]);
    assert!(!stdout(&o).contains("  r2\t"), "{}", stdout(&o));
    let o = fivestar(&["remove", "spend", "r9"]);
    assert!(stderr(&o).contains("no release spend/r9"), "{}", stderr(&o));

    let o = fivestar(&["withdraw", "spend"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(count(), "0", "nothing of a withdrawn dataset is public");
    assert!(!dumps.join("latest.nt.gz").exists());
    assert!(stdout(&fivestar(&["releases"])).contains("(withdrawn)"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Withdrawing is the emergency action: a `[[publish_to]]` target that takes the connection
/// and never answers must not hold it for the target's upload time limit (an hour by default,
/// tried four times). The withdraw's own requests have their own limit
/// (`withdraw_timeout_secs`, tried at most twice): the dataset is off the public view here at
/// once, and the command ends saying that the target did not follow.
#[test]
fn a_withdraw_does_not_wait_on_a_target_that_never_answers() {
    let (dir, store) = published("hung");
    let s = store.to_str().unwrap();
    let base = BASE_IRI;
    // The kernel completes the connections (up to the backlog); nothing ever reads them.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let at = hung.local_addr().unwrap();
    let config = dir.join("fivestar.toml");
    std::fs::write(
        &config,
        format!(
            "[[publish_to]]\nname = \"hung\"\nquery = \"http://{at}/query\"\n\
             update = \"http://{at}/update\"\ngraph_store = \"http://{at}/store\"\n\
             withdraw_timeout_secs = 1\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(bin())
        .args(["withdraw", "spend", "--store", s, "--base", base])
        .args(["--config", config.to_str().unwrap()])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Far more than two tries of one second; far less than the upload limit.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the withdraw was still waiting on the target that never answers");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("withdrew spend"),
        "withdrawn here: {}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains("publish_to hung: FAILED: withdrawing"),
        "{}",
        stderr(&o)
    );
    let o = run(&["releases", "--store", s, "--base", base]);
    assert!(stdout(&o).contains("(withdrawn)"), "{}", stdout(&o));
    drop(hung);
    let _ = std::fs::remove_dir_all(&dir);
}

/// RocksDB's error messages are the C library's to free. A store whose database is damaged is
/// refused with RocksDB's error and the usual exit status, by a one-off command and by
/// `serve`. Before the vendored fix (vendor/oxigraph/PATCHED.md) both printed the error and
/// then crashed freeing it with the program's allocator (exit 139), and so did a publish that
/// filled the disk, in a live instance too.
#[test]
fn a_damaged_store_is_refused_with_its_error_not_a_crash() {
    let dir = std::env::temp_dir().join(format!("fivestar-damaged-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = dir.join("store").to_string_lossy().to_string();
    let base = "http://data.example.org/";
    let o = run(&["releases", "--store", &store, "--base-iri", base]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(dir.join("store/oxigraph/CURRENT"), "garbage").unwrap();
    for args in [
        vec!["releases", "--store", &store, "--base-iri", base],
        vec![
            "serve",
            "--store",
            &store,
            "--base-iri",
            base,
            "--bind",
            "127.0.0.1:0",
        ],
    ] {
        let o = run(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {:?}\n{err}", o.status);
        assert!(
            err.contains("opening the store") && err.contains("Corruption: CURRENT file"),
            "{args:?}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
