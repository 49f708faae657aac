//! End-to-end tests of pipelines: the real `fivestar run / validate / status / schedule`, a
//! real store on disk, and a fixture HTTP server on loopback that can change its ETag and
//! answer 304, 500, slowly, truncated or huge.

mod common;

use common::{bin, root};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PAYMENT: &str = "http://reference.data.gov.uk/def/payment#";

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/pipelines")
}

/// A scratch folder with a store, a fivestar.toml (fast retries) and pipeline files.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("fivestar-pipe-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pipelines")).unwrap();
        std::fs::write(
            dir.join("fivestar.toml"),
            format!(
                "base_iri = \"http://127.0.0.1:7878\"\nstore = {:?}\npipelines = {:?}\n[fetch]\nretries = 1\nbackoff_secs = 0.05\ntimeout_secs = 5\n",
                dir.join("store").display().to_string(),
                dir.join("pipelines").display().to_string()
            ),
        )
        .unwrap();
        Scratch { dir }
    }

    fn store(&self) -> PathBuf {
        self.dir.join("store")
    }

    /// Writes `pipelines/{id}.toml`. `extra` holds top-level keys, `source.KEY = …` lines for
    /// the `[source]` table, and tables such as `[columns.x]` last.
    fn pipeline(&self, id: &str, source: &str, extra: &str) -> PathBuf {
        let path = self.dir.join("pipelines").join(format!("{id}.toml"));
        let meta = fixtures().join("spend.csv-metadata.json");
        let (mut top, mut src, mut tables) = (String::new(), String::new(), String::new());
        let mut in_table = false;
        for l in extra.lines() {
            in_table |= l.starts_with('[');
            if in_table {
                tables += l;
                tables.push('\n');
            } else if let Some(k) = l.strip_prefix("source.") {
                src += k;
                src.push('\n');
            } else {
                top += l;
                top.push('\n');
            }
        }
        std::fs::write(
            &path,
            format!(
                "id = {id:?}\ntitle = \"Spending over £500 ({id})\"\npublisher = \"E08000009\"\nmetadata = {:?}\n{top}[source]\nurl = {source:?}\n{src}{tables}",
                meta.display().to_string()
            ),
        )
        .unwrap();
        path
    }

    fn run(&self, args: &[&str]) -> Output {
        let config = self.dir.join("fivestar.toml");
        Command::new(bin())
            .current_dir(&self.dir)
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    }

    /// The payments in the dataset's live release: (count, sum of net amounts, has 29 Feb 2024).
    fn payments(&self, dataset: &str) -> (u64, f64, bool) {
        let q = format!(
            "PREFIX p: <{PAYMENT}>
             SELECT (COUNT(?x) AS ?n) (SUM(?a) AS ?sum) (MAX(?leap) AS ?l) WHERE {{
               GRAPH ?g {{ ?x p:netAmount ?a ; p:date ?d }}
               FILTER(STRSTARTS(STR(?g), \"http://127.0.0.1:7878/graph/{dataset}/\"))
               BIND(IF(?d = \"2024-02-29\"^^<http://www.w3.org/2001/XMLSchema#date>, 1, 0) AS ?leap)
             }}"
        );
        let o = self.run(&["query", &q, "--format", "json"]);
        assert!(o.status.success(), "query: {}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let b = &v["results"]["bindings"][0];
        let n = b["n"]["value"].as_str().unwrap_or("0").parse().unwrap();
        let sum = b["sum"]["value"]
            .as_str()
            .unwrap_or("0")
            .parse()
            .unwrap_or(0.0);
        let leap = b["l"]["value"].as_str() == Some("1");
        (n, sum, leap)
    }

    fn live(&self, dataset: &str) -> Option<String> {
        let q = format!(
            "SELECT ?r WHERE {{ <http://127.0.0.1:7878/id/dataset/{dataset}> <http://www.w3.org/ns/dcat#hasCurrentVersion> ?r }}"
        );
        let o = self.run(&["query", &q, "--format", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
        v["results"]["bindings"][0]["r"]["value"]
            .as_str()
            .map(String::from)
    }

    fn last_report(&self, dataset: &str) -> serde_json::Value {
        let state: serde_json::Value = serde_json::from_slice(
            &std::fs::read(self.store().join("runs").join(dataset).join("state.json")).unwrap(),
        )
        .unwrap();
        let run = state["last"]["run"].as_str().unwrap().to_string();
        let dir = self.store().join("runs").join(dataset).join(run);
        for f in ["report.txt", "report.html"] {
            assert!(dir.join(f).is_file(), "{f} is stored with the run");
        }
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn problems(report: &serde_json::Value) -> Vec<serde_json::Value> {
    report["problems"].as_array().cloned().unwrap_or_default()
}

fn errors(report: &serde_json::Value) -> Vec<serde_json::Value> {
    problems(report)
        .into_iter()
        .filter(|p| p["severity"] == "error")
        .collect()
}

const SUM: f64 = 1234.56 + 7196.91 - 1029.15 - 250.00 + 53138.09;

#[test]
fn messy_council_files_convert() {
    let s = Scratch::new("messy");
    let f = |n: &str| fixtures().join(n).display().to_string();
    s.pipeline("w1252", &f("spend-windows-1252.csv"), "");
    s.pipeline(
        "bom-cr",
        &f("spend-bom-cr.csv"),
        "[columns.date]\naliases = [\"Payment Date\"]\n[columns.transaction]\naliases = [\"Transaction No.\"]\n[columns.net_amount]\naliases = [\"Amount\"]\n[columns.supplier_name]\naliases = [\"Beneficiary Name\"]\npersonal = \"allow\"",
    );
    s.pipeline("utf16", &f("spend-utf16.tsv"), "");
    s.pipeline("us-dates", &f("spend-us-dates.csv"), "");
    s.pipeline("excel", &f("spend.xlsx"), "source.format = \"xlsx\"");
    s.pipeline("ods", &f("spend.ods"), "source.format = \"ods\"");
    let o = s.run(&["run"]);
    let out = text(&o.stdout);
    assert!(o.status.success(), "run: {out}\n{}", text(&o.stderr));
    for id in ["w1252", "bom-cr", "utf16", "us-dates", "excel", "ods"] {
        assert!(
            out.contains(&format!("{id}: published release")),
            "{id}: {out}"
        );
        let (n, sum, leap) = s.payments(id);
        assert_eq!(n, 5, "{id}: five payments");
        assert!((sum - SUM).abs() < 0.005, "{id}: sum {sum}");
        assert!(leap, "{id}: 29 February 2024 read as a date");
    }
    // Every quirk was reported, not silently fixed.
    let r = s.last_report("w1252");
    let rules: Vec<String> = problems(&r)
        .iter()
        .map(|p| p["rule"].as_str().unwrap().to_string())
        .collect();
    for rule in [
        "tidy:encoding",
        "tidy:title-rows",
        "tidy:blank-rows",
        "tidy:trailing-delimiters",
        "tidy:padding",
        "tidy:amount-format",
        "tidy:date-order",
        "tidy:two-digit-year",
    ] {
        assert!(rules.iter().any(|r| r == rule), "{rule} in {rules:?}");
    }
    let facts = r["facts"].to_string();
    assert!(
        facts.contains("windows-1252") && facts.contains("header row"),
        "{facts}"
    );
    let us = s.last_report("us-dates");
    assert!(us["facts"].to_string().contains("mdy"), "{}", us["facts"]);
    let cr = s.last_report("bom-cr");
    assert!(problems(&cr)
        .iter()
        .any(|p| p["rule"] == "tidy:line-endings"));
    let excel = s.last_report("excel");
    assert!(
        excel["facts"].to_string().contains("Spend"),
        "the first non-empty sheet"
    );
    // The clean CSV and its metadata are published beside the RDF.
    let dumps = s.store().join("dumps/w1252");
    let csv = std::fs::read_to_string(dumps.join("latest.csv")).unwrap();
    assert!(
        csv.starts_with("Body,Date,Transaction Number,Net Amount"),
        "{csv}"
    );
    assert!(
        csv.contains("E08000009,2024-01-13,TRA-24-0002,7196.91,Greenleaf Grounds Ltd,"),
        "{csv}"
    );
    assert!(
        dumps.join("latest-metadata.json").is_file()
            || dumps.join("latest.csv-metadata.json").is_file()
    );
    // Sources are kept content-addressed.
    let sources = std::fs::read_dir(s.store().join("sources"))
        .unwrap()
        .count();
    assert_eq!(sources, 6);
}

#[test]
fn ragged_invalid_and_personal_files_are_blocked_with_rows() {
    let s = Scratch::new("blocked");
    let f = |n: &str| fixtures().join(n).display().to_string();
    s.pipeline("ragged", &f("spend-ragged.csv"), "");
    s.pipeline("invalid", &f("spend-invalid.csv"), "");
    s.pipeline("personal", &f("spend-personal.csv"), "");
    let o = s.run(&["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    let out = text(&o.stdout);
    for id in ["ragged", "invalid", "personal"] {
        assert!(out.contains(&format!("{id}: BLOCKED")), "{out}");
        assert_eq!(s.live(id), None, "{id}: nothing published");
    }
    let rows = |id: &str, rule: &str| -> Vec<(u64, String)> {
        errors(&s.last_report(id))
            .iter()
            .filter(|p| p["rule"].as_str().unwrap().starts_with(rule))
            .map(|p| {
                (
                    p["row"].as_u64().unwrap_or(0),
                    p["column"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        rows("ragged", "tidy:ragged-row")
            .iter()
            .map(|r| r.0)
            .collect::<Vec<_>>(),
        vec![3, 5]
    );
    let invalid = rows("invalid", "tidy:");
    assert!(
        invalid.contains(&(4, "Net Amount".to_string())),
        "{invalid:?}"
    );
    assert!(invalid.contains(&(4, "Date".to_string())), "{invalid:?}");
    let r = s.last_report("invalid");
    let e = errors(&r);
    let amount = e.iter().find(|p| p["column"] == "Net Amount").unwrap();
    assert_eq!(amount["value"], "about a thousand");
    assert!(amount["file"]
        .as_str()
        .unwrap()
        .ends_with("spend-invalid.csv"));
    let personal = rows("personal", "personal-data");
    assert_eq!(
        personal,
        vec![
            (3, "Supplier Name".to_string()),
            (5, "Supplier Name".to_string())
        ]
    );
    // The report does not repeat the personal data it found.
    let txt = std::fs::read_to_string(
        s.store()
            .join("runs/personal")
            .join(s.last_report("personal")["run"].as_str().unwrap())
            .join("report.txt"),
    )
    .unwrap();
    assert!(
        !txt.contains("jsmith@example.org") && !txt.contains("900123"),
        "{txt}"
    );
    // Nor does anything else left of the run: only its report stays.
    let runs = s.store().join("runs/personal");
    let run = runs.join(s.last_report("personal")["run"].as_str().unwrap());
    let mut kept: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(kept, ["report.html", "report.json", "report.txt"]);
    // The files of a killed run (no report) are removed by the next run.
    let killed = runs.join("20200101t000000z");
    std::fs::create_dir_all(&killed).unwrap();
    std::fs::write(killed.join("personal.nt"), "a lot of triples").unwrap();

    // Redacting the column lets it publish, without the personal data.
    s.pipeline(
        "personal",
        &f("spend-personal.csv"),
        "[columns.supplier_name]\npersonal = \"redact\"",
    );
    let o = s.run(&[
        "run",
        s.dir.join("pipelines/personal.toml").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stdout));
    assert!(!killed.exists(), "the killed run's files are left");
    let nt = s.run(&[
        "query",
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
        "--format",
        "ntriples",
    ]);
    let all = text(&nt.stdout);
    assert!(
        !all.contains("jsmith") && !all.contains("07700"),
        "redacted"
    );
    assert!(all.contains("[redacted]"));
}

/// A file only the csvw engine finds wrong (a transaction number twice: the metadata's
/// primary key) is found so while its triples load, straight from the converter: the load is
/// given up before its commit, the report names the row, and the live release stays.
#[test]
fn a_table_the_csvw_check_refuses_as_it_loads_publishes_nothing() {
    let s = Scratch::new("late");
    let source = s.dir.join("spend.csv");
    let header = "Body,Date,Transaction Number,Net Amount,Supplier Name,Expense Type\n";
    let rows = |n: usize| -> String {
        (0..n)
            .map(|i| format!("E08000009,02/01/24,TRA-{i},{i}.50,Acme Ltd,Stationery\n"))
            .collect()
    };
    std::fs::write(&source, format!("{header}{}", rows(3))).unwrap();
    let p = s.pipeline("late", &source.display().to_string(), "");
    let o = s.run(&["run", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    let live = s.live("late").expect("the first release is live");
    // Enough rows that the converter has handed the loader many pieces before the repeat.
    std::fs::write(
        &source,
        format!(
            "{header}{}E08000009,03/01/24,TRA-7,1.00,Acme Ltd,Stationery\n",
            rows(20_000)
        ),
    )
    .unwrap();
    let o = s.run(&["run", p.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(
        text(&o.stdout).contains("late: BLOCKED"),
        "{}",
        text(&o.stdout)
    );
    let r = s.last_report("late");
    let e = errors(&r);
    // The gate found nothing: this was the conversion's own verdict.
    assert!(
        e.iter()
            .all(|p| p["rule"].as_str().unwrap().starts_with("csvw:")),
        "{e:?}"
    );
    let key = e
        .iter()
        .find(|p| p["rule"] == "csvw:primaryKey")
        .unwrap_or_else(|| panic!("{e:?}"));
    assert_eq!(key["row"], 20_002, "the source's row of the repeat: {key}");
    assert_eq!(s.live("late"), Some(live));
    assert_eq!(s.payments("late").0, 3, "the live release is the first one");
    let release = r["run"].as_str().unwrap();
    let left: Vec<String> = std::fs::read_dir(s.store().join("dumps/late"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(release))
        .collect();
    assert!(left.is_empty(), "no files of the refused release: {left:?}");
    let o = s.run(&["releases"]);
    assert!(!text(&o.stdout).contains(release), "{}", text(&o.stdout));
}

/// What the fixture server does with the next requests.
#[derive(Clone)]
enum Mode {
    Serve { body: Vec<u8>, etag: String },
    Status(u16),
    Slow(Duration),
    Truncated(Vec<u8>),
    Huge,
}

/// (path, If-None-Match) of each request the fixture server saw.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

struct Fixture {
    url: String,
    mode: Arc<Mutex<Mode>>,
    /// (path, If-None-Match) of every request.
    seen: Seen,
}

impl Fixture {
    fn start() -> Fixture {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/open-data/spend.csv",
            listener.local_addr().unwrap()
        );
        let mode = Arc::new(Mutex::new(Mode::Status(404)));
        let seen: Seen = Arc::default();
        let (m, s) = (mode.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (m, s) = (m.clone(), s.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mut inm = None;
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.split_once(':') {
                            if k.eq_ignore_ascii_case("if-none-match") {
                                inm = Some(v.trim().to_string());
                            }
                        }
                    }
                    s.lock().unwrap().push((path, inm.clone()));
                    let mode = m.lock().unwrap().clone();
                    let _ = match mode {
                        Mode::Serve { etag, .. } if inm.as_deref() == Some(etag.as_str()) => {
                            write!(stream, "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n")
                        }
                        Mode::Serve { body, etag } => {
                            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nETag: {etag}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                            stream.write_all(&body)
                        }
                        Mode::Status(code) => write!(
                            stream,
                            "HTTP/1.1 {code} Oops\r\nContent-Length: 5\r\nConnection: close\r\n\r\noops!"
                        ),
                        Mode::Slow(d) => {
                            std::thread::sleep(d);
                            write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                        }
                        Mode::Truncated(body) => {
                            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len() * 2);
                            stream.write_all(&body)
                        }
                        Mode::Huge => {
                            let _ = write!(stream, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                            let chunk = vec![b'x'; 64 * 1024];
                            let mut r = Ok(());
                            for _ in 0..64 {
                                r = stream.write_all(&chunk);
                                if r.is_err() {
                                    break;
                                }
                            }
                            r
                        }
                    };
                    let _ = stream.flush();
                    let mut rest = Vec::new();
                    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
                    let _ = stream.read_to_end(&mut rest);
                });
            }
        });
        Fixture { url, mode, seen }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
        self.seen.lock().unwrap().clear();
    }

    fn requests(&self) -> Vec<(String, Option<String>)> {
        self.seen.lock().unwrap().clone()
    }
}

fn csv_with(extra_row: Option<&str>) -> Vec<u8> {
    let mut s = std::fs::read_to_string(fixtures().join("spend-us-dates.csv")).unwrap();
    if let Some(r) = extra_row {
        s.push_str(r);
        s.push('\n');
    }
    s.into_bytes()
}

#[test]
fn http_source_lifecycle() {
    let s = Scratch::new("http");
    let fx = Fixture::start();
    let p = s.pipeline(
        "remote",
        &fx.url,
        "source.timeout_secs = 1.5\nsource.max_bytes = 100000",
    );
    let p = p.to_str().unwrap();

    // First run: published.
    fx.set(Mode::Serve {
        body: csv_with(None),
        etag: "\"v1\"".into(),
    });
    let o = s.run(&["run", p]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    let first = s.live("remote").expect("a live release");
    assert_eq!(s.payments("remote").0, 5);

    // Unchanged: a conditional request, 304, nothing published.
    fx.set(Mode::Serve {
        body: csv_with(None),
        etag: "\"v1\"".into(),
    });
    let o = s.run(&["run", p]);
    assert!(o.status.success());
    assert!(text(&o.stdout).contains("unchanged"), "{}", text(&o.stdout));
    assert_eq!(
        fx.requests(),
        vec![(
            "/open-data/spend.csv".to_string(),
            Some("\"v1\"".to_string())
        )]
    );
    assert_eq!(s.live("remote").as_deref(), Some(first.as_str()));

    // Same bytes under a new ETag: the sha256 says unchanged.
    fx.set(Mode::Serve {
        body: csv_with(None),
        etag: "\"v1b\"".into(),
    });
    let o = s.run(&["run", p]);
    assert!(text(&o.stdout).contains("unchanged"), "{}", text(&o.stdout));

    // Changed: a new release goes live.
    fx.set(Mode::Serve {
        body: csv_with(Some(
            "E08000009,04/02/2024 12:00:00 AM,TRA-24-0006,600.00,Stretford Youth Trust,Grants",
        )),
        etag: "\"v2\"".into(),
    });
    std::thread::sleep(Duration::from_millis(1100)); // release ids are per second
    let o = s.run(&["run", p]);
    assert!(o.status.success(), "{}", text(&o.stdout));
    let second = s.live("remote").unwrap();
    assert_ne!(second, first);
    assert_eq!(s.payments("remote").0, 6);

    // Failing validation: the report is stored, the live release stays.
    fx.set(Mode::Serve {
        body: csv_with(Some(
            "E08000009,04/02/2024 12:00:00 AM,TRA-24-0007,lots,Stretford Youth Trust,Grants",
        )),
        etag: "\"v3\"".into(),
    });
    let o = s.run(&["run", p]);
    assert_eq!(o.status.code(), Some(1));
    let r = s.last_report("remote");
    assert_eq!(r["outcome"], "blocked");
    assert!(
        errors(&r)
            .iter()
            .any(|e| e["row"] == 7 && e["value"] == "lots"),
        "{r}"
    );
    assert_eq!(s.live("remote").as_deref(), Some(second.as_str()));

    // Fetch faults: a clear error each time, the live release unchanged.
    let faults: Vec<(Mode, &str, usize)> = vec![
        (Mode::Status(500), "answered 500 on each of 2 attempts", 2),
        (Mode::Status(404), "answered 404; not retried", 1),
        (Mode::Slow(Duration::from_secs(4)), "timed out", 2),
        (Mode::Truncated(csv_with(None)), "closed early", 2),
        (Mode::Huge, "larger than the 100000-byte limit", 1),
    ];
    for (mode, message, attempts) in faults {
        fx.set(mode);
        let o = s.run(&["run", p]);
        assert_eq!(o.status.code(), Some(1), "{message}");
        let r = s.last_report("remote");
        assert_eq!(r["outcome"], "failed", "{message}");
        let e = errors(&r);
        assert!(
            e.iter()
                .any(|p| p["rule"] == "fetch" && p["message"].as_str().unwrap().contains(message)),
            "{message}: {e:?}"
        );
        assert_eq!(fx.requests().len(), attempts, "{message}: attempts");
        assert_eq!(
            s.live("remote").as_deref(),
            Some(second.as_str()),
            "{message}"
        );
    }

    // Not data: a page answered 200, a header without rows, most rows gone. Each is
    // refused with its rule and the live release stays.
    let full = String::from_utf8(csv_with(None)).unwrap();
    let lines: Vec<&str> = full.lines().collect();
    let not_data: Vec<(String, &str)> = vec![
        (
            "<!DOCTYPE html>\n<html><body><h1>Site maintenance</h1></body></html>\n".into(),
            "not-csv",
        ),
        (format!("{}\n", lines[0]), "no-rows"),
        (format!("{}\n{}\n", lines[0], lines[1]), "shrink"),
    ];
    for (n, (body, rule)) in not_data.into_iter().enumerate() {
        fx.set(Mode::Serve {
            body: body.into_bytes(),
            etag: format!("\"nd{n}\""),
        });
        let o = s.run(&["run", p]);
        assert_eq!(o.status.code(), Some(1), "{rule}: {}", text(&o.stdout));
        let r = s.last_report("remote");
        assert_eq!(r["outcome"], "blocked", "{rule}");
        assert!(
            errors(&r)
                .iter()
                .any(|e| e["rule"].as_str().is_some_and(|x| x.ends_with(rule))),
            "{rule}: {r}"
        );
        assert_eq!(s.live("remote").as_deref(), Some(second.as_str()), "{rule}");
    }
    // A source that really shrank is published when forced.
    std::thread::sleep(Duration::from_millis(1100));
    let o = s.run(&["run", p, "--force"]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert_eq!(s.payments("remote").0, 1);
    let shrunk = s.live("remote").unwrap();
    assert_ne!(shrunk, second);

    // Status shows the last run and its outcome.
    let o = s.run(&["status", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["dataset"], "remote");
    assert_eq!(v[0]["last"]["outcome"], "published");
    assert_eq!(
        v[0]["last_published"]["release"].as_str(),
        shrunk.rsplit('/').next()
    );
}

#[test]
fn validate_runs_to_the_gate_and_publishes_nothing() {
    let s = Scratch::new("validate");
    let good = s.pipeline(
        "good",
        &fixtures()
            .join("spend-windows-1252.csv")
            .display()
            .to_string(),
        "",
    );
    let o = s.run(&["validate", good.to_str().unwrap()]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert_eq!(s.live("good"), None);
    let o = s.run(&[
        "validate",
        fixtures().join("spend-invalid.csv").to_str().unwrap(),
        "--metadata",
        fixtures().join("spend.csv-metadata.json").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        errors(&r)
            .iter()
            .any(|e| e["row"] == 4 && e["column"] == "Net Amount"),
        "{r}"
    );
}

#[test]
fn pipeline_file_errors_name_the_file_and_key() {
    let s = Scratch::new("badfile");
    let p = s.pipeline("bad", "x.csv", "schedule = \"every tuesday\"");
    let o = s.run(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = text(&o.stderr);
    assert!(
        e.contains("bad.toml") && e.contains("`schedule`") && e.contains("every tuesday"),
        "{e}"
    );
    std::fs::write(&p, "id = \"bad\"\ntitle = 5\n").unwrap();
    let e = text(&s.run(&["run", p.to_str().unwrap()]).stderr);
    assert!(e.contains("bad.toml") && e.contains("title"), "{e}");
}

#[test]
fn schedule_runs_due_pipelines_serves_and_survives_a_failing_one() {
    let s = Scratch::new("schedule");
    s.pipeline(
        "scheduled",
        &fixtures().join("spend-utf16.tsv").display().to_string(),
        "schedule = \"0 6 * * *\"",
    );
    s.pipeline(
        "broken",
        &s.dir.join("missing.csv").display().to_string(),
        "schedule = \"*/5 * * * *\"",
    );
    let scheduler = common::serve(
        Command::new(bin())
            .current_dir(&s.dir)
            .args([
                "--config",
                s.dir.join("fivestar.toml").to_str().unwrap(),
                "schedule",
                "--bind",
                "127.0.0.1:0",
            ])
            .stderr(Stdio::null()),
    );
    let url = &scheduler.url;
    let client = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut published = false;
    while Instant::now() < deadline {
        let r = client
            .get(format!("{url}/sparql"))
            .query(&[("query", format!("ASK {{ ?x <{PAYMENT}netAmount> ?a }}"))])
            .header("Accept", "application/sparql-results+json")
            .send();
        if let Ok(r) = r {
            if r.text().unwrap_or_default().contains("true") {
                published = true;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(published, "the scheduled pipeline was published and served");
    // The run's state is written once its release is live: wait for both runs to finish.
    let state = |id: &str| -> serde_json::Value {
        std::fs::read(s.store().join("runs").join(id).join("state.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    };
    while Instant::now() < deadline
        && ["scheduled", "broken"]
            .iter()
            .any(|id| state(id)["last"]["outcome"].is_null())
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(scheduler);
    assert_eq!(state("scheduled")["last"]["outcome"], "published");
    assert_eq!(state("broken")["last"]["outcome"], "failed");
}

#[test]
fn councils_and_days_link_to_national_uris_and_the_rest_is_reported() {
    let s = Scratch::new("links");
    let path = s.dir.join("pipelines/links.toml");
    std::fs::write(
        &path,
        format!(
            "id = \"links\"\ntitle = \"Linked\"\nmetadata = {:?}\n[source]\nurl = {:?}\n\
             [columns.body]\nlink = \"council\"\nlink_property = \"{PAYMENT}payer\"\n\
             [columns.date]\nlink = \"day\"\n",
            fixtures()
                .join("spend-body-names.csv-metadata.json")
                .display()
                .to_string(),
            fixtures()
                .join("spend-council-names.csv")
                .display()
                .to_string(),
        ),
    )
    .unwrap();
    let o = s.run(&["run", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    let q = format!(
        "SELECT (COUNT(?x) AS ?n) WHERE {{ ?x <{PAYMENT}payer> <http://statistics.data.gov.uk/id/statistical-geography/E08000009> }}"
    );
    let r = s.run(&["query", &q, "--format", "csv"]);
    assert_eq!(
        text(&r.stdout).lines().nth(1),
        Some("4"),
        "names, SNAC and GSS codes link"
    );
    let q = "ASK { ?x <http://www.w3.org/2000/01/rdf-schema#seeAlso> <http://reference.data.gov.uk/id/day/2024-02-29> }";
    assert!(text(&s.run(&["query", q, "--format", "csv"]).stdout).contains("true"));
    // The original values stay as literals beside the links.
    let q = "ASK { ?x ?p \"Gotham City Council\" . FILTER NOT EXISTS { ?x <http://reference.data.gov.uk/def/payment#payer> ?c } }";
    assert!(text(&s.run(&["query", q, "--format", "csv"]).stdout).contains("true"));
    let report = s.last_report("links");
    let unlinked: Vec<&serde_json::Value> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["rule"] == "link:council" && p["severity"] == "warning")
        .collect();
    assert_eq!(unlinked.len(), 1, "{report}");
    assert_eq!(unlinked[0]["row"], 6);
    assert_eq!(unlinked[0]["value"], "Gotham City Council");
}
