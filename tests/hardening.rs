//! End-to-end hardening: requests meant to take the site down leave it answering. Each test
//! starts the real binary on a real store and attacks it over loopback.

mod common;

use common::{client, start};
use std::time::{Duration, Instant};

const LINES: &str = "SELECT (COUNT(?l) AS ?n) WHERE { ?l a <http://reference.data.gov.uk/def/payment#ExpenditureLine> }";

/// The site answers a real query with the right count.
fn still_answers(c: &reqwest::blocking::Client, site: &str) {
    let v: serde_json::Value = c
        .get(format!("{site}/sparql"))
        .query(&[("query", LINES)])
        .header("Accept", "application/sparql-results+json")
        .send()
        .expect("the site still answers")
        .json()
        .unwrap();
    assert_eq!(v["results"]["bindings"][0]["n"]["value"], "40");
}

#[test]
fn deeply_nested_queries_are_refused_and_the_site_stays_up() {
    let site = start("deep", &[]);
    let c = client();
    let n = 5_000;
    let queries = [
        format!("ASK {{ FILTER({}true{}) }}", "(".repeat(n), ")".repeat(n)),
        format!("ASK {}?s ?p ?o{}", "{".repeat(n), "}".repeat(n)),
        format!("ASK {{ {{?s ?p 1}}{} }}", " UNION {?s ?p 1}".repeat(n)),
        format!("ASK {{ FILTER(1{} = 2) }}", " + 1".repeat(n)),
        format!(
            "SELECT * {{ {} }}",
            (0..n)
                .map(|i| format!("BIND({i} AS ?v{i})"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        format!("ASK {{ ?s <http://x/p>{} ?o }}", "/<http://x/p>".repeat(n)),
    ];
    for q in &queries {
        let r = c
            .post(format!("{}/sparql", site.url))
            .header("Content-Type", "application/sparql-query")
            .body(q.clone())
            .send()
            .expect("the server answers a deep query");
        assert_eq!(r.status(), 400, "{}", &q[..60]);
        let body = r.text().unwrap();
        assert!(body.contains("this endpoint allows"), "{body}");
    }
    // By GET too (1,000 parentheses crashed it before).
    let q = format!(
        "ASK {{ FILTER({}true{}) }}",
        "(".repeat(1000),
        ")".repeat(1000)
    );
    let r = c
        .get(format!("{}/sparql", site.url))
        .query(&[("query", q.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    // An update nested deep is refused without being parsed.
    let r = c
        .post(format!("{}/sparql", site.url))
        .form(&[("query", format!("INSERT DATA {{ {} }}", "(".repeat(n)))])
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    still_answers(&c, &site.url);
}

/// CPU seconds the process has used (user + system), from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    let hz = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    ticks / hz
}

#[test]
fn a_query_past_its_time_limit_releases_its_cpu() {
    let site = start("endless", &["--query-timeout", "2"]);
    let c = client();
    let pid = site.child.id();
    // A cross product of every triple with itself four times, counted: the evaluator
    // produces its solutions without reading quads, where upstream never checked for
    // cancellation.
    let endless = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }";
    let asked = Instant::now();
    let r = c
        .get(format!("{}/sparql", site.url))
        .query(&[("query", endless)])
        .send()
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(asked.elapsed() < Duration::from_secs(10));
    // Within a second of the 503 the query has stopped: the process is idle.
    std::thread::sleep(Duration::from_secs(1));
    let before = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_seconds(pid) - before;
    assert!(
        used < 0.3,
        "the server used {used:.2} s of CPU in the 2 s after the 503"
    );
    still_answers(&c, &site.url);
}

#[test]
fn from_and_accept_q0_are_honoured() {
    let site = start("from", &[]);
    let c = client();
    let base = "http://127.0.0.1:7878";
    let count = |q: &str| -> String {
        let v: serde_json::Value = c
            .get(format!("{}/sparql", site.url))
            .query(&[("query", q)])
            .header("Accept", "application/sparql-results+json")
            .send()
            .unwrap()
            .json()
            .unwrap();
        v["results"]["bindings"][0]["n"]["value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let from = |g: &str| LINES.replace("WHERE", &format!("FROM <{base}/graph/{g}> WHERE"));
    assert_eq!(count(&from("trafford-spending/r1")), "40");
    assert_eq!(count(&from("catalog")), "0");
    // q=0 refuses: nothing acceptable is 406, never JSON.
    let r = c
        .get(format!("{}/sparql", site.url))
        .query(&[("query", LINES)])
        .header("Accept", "text/csv;q=0, */*;q=0")
        .send()
        .unwrap();
    assert_eq!(r.status(), 406);
}

/// A zip with the given parts: enough of an xlsx for the reader to reach its sheets.
fn xlsx(parts: &[(&str, &str)]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, text) in parts {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(text.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

const SHEET_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";

#[test]
fn hostile_workbooks_fail_their_runs_and_the_scheduler_keeps_serving() {
    let dir = std::env::temp_dir().join(format!("fivestar-hostile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let pipelines = dir.join("pipelines");
    std::fs::create_dir_all(pipelines.join("data")).unwrap();
    // Cells at A1 and XFD1048576: a 17-billion-cell rectangle.
    let far = format!(
        r#"<worksheet xmlns="{SHEET_NS}"><sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>2</v></c></row></sheetData></worksheet>"#
    );
    // Four billion shared strings declared in a few bytes.
    let strings = format!(
        r#"<sst xmlns="{SHEET_NS}" count="4000000000" uniqueCount="4000000000"><si><t>a</t></si></sst>"#
    );
    let sheet = format!(
        r#"<worksheet xmlns="{SHEET_NS}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>"#
    );
    for (id, parts) in [
        (
            "far-cells",
            vec![("xl/worksheets/sheet1.xml", far.as_str())],
        ),
        (
            "many-strings",
            vec![
                ("xl/sharedStrings.xml", strings.as_str()),
                ("xl/worksheets/sheet1.xml", sheet.as_str()),
            ],
        ),
    ] {
        std::fs::write(pipelines.join(format!("data/{id}.xlsx")), xlsx(&parts)).unwrap();
        std::fs::write(
            pipelines.join(format!("{id}.toml")),
            format!(
                "id = \"{id}\"\ntitle = \"Hostile {id}\"\npublisher = \"E08000009\"\ntemplate = \"spend\"\nschedule = \"0 6 * * *\"\n[source]\nurl = \"data/{id}.xlsx\"\nformat = \"xlsx\"\n"
            ),
        )
        .unwrap();
    }
    common::copy_trafford_pipeline(&pipelines);
    let store = dir.join("store");
    std::fs::write(
        dir.join("fivestar.toml"),
        format!(
            "base_iri = \"http://127.0.0.1:7878\"\nstore = {:?}\npipelines = {:?}\n",
            store.display().to_string(),
            pipelines.display().to_string()
        ),
    )
    .unwrap();
    let site = common::serve(
        std::process::Command::new(common::bin())
            .current_dir(&dir)
            .arg("--config")
            .arg(dir.join("fivestar.toml"))
            .args(["schedule", "--bind", "127.0.0.1:0"]),
    );
    // Every pipeline is due at once: the two hostile ones fail, the good one publishes.
    let c = client();
    let until = Instant::now() + Duration::from_secs(120);
    for id in ["far-cells", "many-strings"] {
        let runs = store.join("runs").join(id);
        let report = loop {
            let found = std::fs::read_dir(&runs).ok().and_then(|d| {
                d.flatten()
                    .map(|e| e.path().join("report.json"))
                    .find(|p| p.exists())
            });
            if let Some(r) = found {
                if !runs.join(".lock").exists() {
                    break std::fs::read_to_string(r).unwrap();
                }
            }
            assert!(Instant::now() < until, "{id} never reported");
            std::thread::sleep(Duration::from_millis(200));
        };
        assert!(report.contains("workbook-limit"), "{id}: {report}");
    }
    while c
        .get(format!("{}/dataset/trafford-spending", site.url))
        .send()
        .map_or(true, |r| r.status() != 200)
    {
        assert!(Instant::now() < until, "the good pipeline never published");
        std::thread::sleep(Duration::from_millis(200));
    }
    still_answers(&c, &site.url);
    drop(site);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pages_carry_security_headers_and_bad_settings_are_refused() {
    let site = start("headers", &[]);
    let c = client();
    for path in [
        "/",
        "/query",
        "/dataset/trafford-spending",
        "/sparql?query=ASK%7B%7D",
        // Refusals and misses too: the admin guard's answer and the fallback.
        "/admin/api/datasets",
        "/no-such-page",
    ] {
        let r = c.get(format!("{}{path}", site.url)).send().unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
    }
    // The query page's script is a file of this site, not inline.
    let page = c
        .get(format!("{}/query", site.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        !page.contains("<script>"),
        "an inline script would break the policy"
    );
    assert!(page.contains("/assets/yasgui/start.js"));
    let js = c
        .get(format!("{}/assets/yasgui/start.js", site.url))
        .send()
        .unwrap();
    assert_eq!(js.status(), 200);

    // A base IRI that is not an http(s) IRI is refused before any store records it, and a
    // --config that names no file is an error, not the defaults.
    let dir = std::env::temp_dir().join(format!("fivestar-badbase-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for base in ["not an iri", "javascript:alert(1)"] {
        for command in [
            vec!["publish", common::EXAMPLE, "--dataset", "x"],
            vec!["query", "ASK {}"],
        ] {
            let o = std::process::Command::new(common::bin())
                .current_dir(common::root())
                .args(&command)
                .arg("--store")
                .arg(dir.join("store"))
                .args(["--base-iri", base])
                .output()
                .unwrap();
            assert!(!o.status.success(), "{base} {command:?}");
            let e = String::from_utf8_lossy(&o.stderr);
            assert!(e.contains("--base"), "{base} {command:?}: {e}");
            assert!(!dir.join("store").exists(), "{base}: a store was made");
        }
    }
    let o = std::process::Command::new(common::bin())
        .args(["--config", "/nope/fivestar.toml", "status"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nope/fivestar.toml"));
}

/// A fivestar.toml with `settings`, for a site started by [`start`].
fn config_file(name: &str, settings: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("fivestar-{name}-{}.toml", std::process::id()));
    std::fs::write(&path, settings).unwrap();
    path
}

#[test]
fn idle_sockets_past_the_descriptor_limit_leave_the_site_answering() {
    // The server starts with 1,024 descriptors (raising to the hard limit is allowed).
    let site = common::start_after("fds", "ulimit -Sn 1024", &[]);
    let addr = site.url.trim_start_matches("http://").to_string();
    let idle: Vec<std::net::TcpStream> = (0..1100)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", site.child.id())).unwrap();
    let open_files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert!(!open_files.contains(" 1024 "), "{open_files}");
    still_answers(&client(), &site.url);
    drop(idle);
}

#[test]
fn slow_and_surplus_connections_are_closed() {
    use std::io::{Read, Write};
    // A header timeout of 3 s: the 16 held connections must still be open (not yet timed out)
    // when the 17th arrives, on a machine loaded by the other tests (1 s was not enough once).
    let config = config_file("conns", "header_timeout_secs = 3\nmax_connections = 16\n");
    let site = start("conns", &["--config", config.to_str().unwrap()]);
    let addr = site.url.trim_start_matches("http://").to_string();
    // A request whose headers never end is closed after the header timeout.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the half-sent request stayed open"
    );
    // Past the connection cap: 503 at once, not a hang.
    let held: Vec<std::net::TcpStream> = (0..16)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // Read with a raw socket: the 503 may come (and the socket close) before the request is
    // written, which an HTTP client reports as an error (seen once in CI), not as a 503.
    let mut extra = std::net::TcpStream::connect(&addr).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = extra.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut answer = Vec::new();
    let _ = extra.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 503"),
        "past the cap: {answer:?}"
    );
    // The idle ones are closed by the header timeout; then the site answers again.
    std::thread::sleep(Duration::from_millis(3500));
    still_answers(&client(), &site.url);
    drop(held);
    let _ = std::fs::remove_file(config);
}

#[test]
fn a_client_past_its_query_rate_is_told_to_wait() {
    let config = config_file(
        "rate",
        "sparql_requests_per_minute = 60\nrate_limit_loopback = true\n",
    );
    let site = start("rate", &["--config", config.to_str().unwrap()]);
    let c = client();
    // Bursts of 10 are allowed at 60 a minute; the next is 429 with Retry-After.
    let statuses: Vec<u16> = (0..12)
        .map(|_| {
            c.get(format!("{}/sparql", site.url))
                .query(&[("query", "ASK {}")])
                .send()
                .unwrap()
                .status()
                .as_u16()
        })
        .collect();
    assert_eq!(&statuses[..10], &[200; 10]);
    assert_eq!(statuses[11], 429, "{statuses:?}");
    let r = c
        .get(format!("{}/sparql", site.url))
        .query(&[("query", "ASK {}")])
        .send()
        .unwrap();
    assert!(r.headers().contains_key("retry-after"));
    // Pages are not limited.
    assert_eq!(
        c.get(format!("{}/", site.url)).send().unwrap().status(),
        200
    );
    let _ = std::fs::remove_file(config);
}

#[test]
fn only_files_of_recorded_releases_are_downloadable() {
    let site = start("dumps", &[]);
    let c = client();
    let dumps = site.dir.join("store/dumps");
    // As a publish under way (or one killed) leaves them: a release the catalogue lacks.
    for name in ["r9.nt.gz", "r9.csv", "latest.nt.gz.tmp123"] {
        std::fs::write(dumps.join("trafford-spending").join(name), "not released").unwrap();
        let r = c
            .get(format!("{}/dumps/trafford-spending/{name}", site.url))
            .send()
            .unwrap();
        assert_eq!(r.status(), 404, "{name}");
    }
    for name in ["r1.nt.gz", "latest.nt.gz", "latest.csv.sha256"] {
        let r = c
            .get(format!("{}/dumps/trafford-spending/{name}", site.url))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{name}");
    }
    let r = c
        .get(format!("{}/dumps/all.nq.gz", site.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
}
