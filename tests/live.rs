//! End-to-end tests of a live instance: while `fivestar serve` holds the store, every other
//! command works, the ones that change the store through its authenticated admin API; an
//! instance file left by a killed server confuses nothing; backup and restore.

mod common;

use common::{bin, root};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const TOKEN: &str = "test-admin-token-0123456789abcdef";
const ENV: &str = "FIVESTAR_ADMIN_TOKEN";
const BASE: &str = "http://127.0.0.1:7878";
const DATASET: &str = "trafford-spending";

/// A scratch instance folder: fivestar.toml, a pipelines folder with Trafford's spending
/// pipeline and its data, and a store.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str, extra_config: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("fivestar-live-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let pipelines = dir.join("pipelines");
        common::copy_trafford_pipeline(&pipelines);
        std::fs::write(
            dir.join("fivestar.toml"),
            format!(
                "base_iri = {BASE:?}\nstore = {:?}\npipelines = {:?}\n{extra_config}\n",
                dir.join("store").display().to_string(),
                pipelines.display().to_string()
            ),
        )
        .unwrap();
        Scratch { dir }
    }

    fn store(&self) -> PathBuf {
        self.dir.join("store")
    }

    fn command(&self, token: Option<&str>) -> Command {
        let mut c = Command::new(bin());
        c.current_dir(&self.dir)
            .arg("--config")
            .arg(self.dir.join("fivestar.toml"));
        match token {
            Some(t) => c.env(ENV, t),
            None => c.env_remove(ENV),
        };
        c
    }

    fn run(&self, token: Option<&str>, args: &[&str]) -> Output {
        self.command(token).args(args).output().unwrap()
    }

    /// `fivestar serve` on a free port, with `token` in the environment.
    fn serve(&self, token: Option<&str>) -> common::Running {
        common::serve(self.command(token).args(["serve", "--bind", "127.0.0.1:0"]))
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

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The live release of the dataset, as the running site's catalogue says (`None`: withdrawn).
/// The same query text every time: an answer the server keeps for repeats must not outlive
/// a run, rollback or withdraw.
fn live_release(site: &str, dataset: &str) -> Option<String> {
    let q = format!(
        "SELECT ?r WHERE {{ <{BASE}/id/dataset/{dataset}> <http://www.w3.org/ns/dcat#hasCurrentVersion> ?r }}"
    );
    let v: serde_json::Value = http()
        .get(format!("{site}/sparql"))
        .query(&[("query", q.as_str())])
        .header("Accept", "application/sparql-results+json")
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["results"]["bindings"][0]["r"]["value"]
        .as_str()
        .map(|r| r.rsplit('/').next().unwrap_or("").to_string())
}

/// The releases `fivestar releases` lists for the dataset (the live one marked).
fn releases(s: &Scratch, token: Option<&str>) -> (Option<String>, Vec<String>) {
    common::parse_releases(&ok(&s.run(token, &["releases"])), DATASET)
}

/// Stops a server with SIGTERM and waits for it.
fn terminate(mut site: common::Running) {
    let pid = site.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        if site.child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not stop on SIGTERM");
}

#[test]
fn every_command_works_on_a_live_site_through_the_admin_api() {
    let s = Scratch::new("cli", "");
    // The first release, before any instance runs: the store is opened directly.
    let out = ok(&s.run(None, &["run"]));
    assert!(out.contains("published release"), "{out}");
    let (first, _) = releases(&s, None);
    let first = first.expect("a live release");

    let site = s.serve(Some(TOKEN));
    let url = site.url.clone();
    // A second server on the same store: a clear refusal, not RocksDB's lock error.
    let o = s.run(Some(TOKEN), &["serve", "--bind", "127.0.0.1:0"]);
    assert_eq!(o.status.code(), Some(2));
    let e = text(&o.stderr);
    assert!(e.contains("already served") && !e.contains("LOCK"), "{e}");
    let instance: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.store().join("instance.json")).unwrap()).unwrap();
    assert_eq!(instance["pid"], site.child.id());
    assert_eq!(instance["public"], url.as_str());

    // Reading files never needs the store: validate and inspect work while the site is up.
    let pipeline = s.dir.join("pipelines/trafford-spending.toml");
    let csv = s.dir.join("pipelines/spending/trafford-spend-2024-q1.csv");
    let o = s.run(None, &["validate", pipeline.to_str().unwrap()]);
    assert!(ok(&o).contains("valid"), "{}", text(&o.stdout));
    let o = s.run(None, &["inspect", csv.to_str().unwrap()]);
    assert!(ok(&o).contains("template spend"), "{}", text(&o.stdout));
    // Queries go to the instance's public endpoint: no token needed.
    let o = s.run(
        None,
        &[
            "query",
            "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
            "--format",
            "csv",
        ],
    );
    assert!(ok(&o).starts_with("n\r\n"), "{}", text(&o.stdout));

    // Without the token, commands that go through the admin API fail clearly, exit 2.
    for args in [
        vec!["releases"],
        vec!["run", "--force"],
        vec!["withdraw", DATASET],
        vec!["rollback", DATASET, &first],
        vec!["backup", "/tmp/never-made"],
    ] {
        let o = s.run(None, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        let e = text(&o.stderr);
        assert!(
            e.contains(ENV) && e.contains("running instance") && !e.contains("LOCK"),
            "{args:?}: {e}"
        );
    }
    // A wrong token: refused, naming the variable.
    let o = s.run(Some("not-the-token-at-all-0000"), &["releases"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains(ENV) && text(&o.stderr).contains("refused"),
        "{}",
        text(&o.stderr)
    );

    // run --force: a new release, live on the running site at once.
    let o = s.run(Some(TOKEN), &["run", "--force"]);
    let out = ok(&o);
    assert!(
        out.contains("trafford-spending: published release"),
        "{out}"
    );
    let (second, all) = releases(&s, Some(TOKEN));
    let second = second.unwrap();
    assert_ne!(second, first);
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(
        live_release(&url, DATASET).as_deref(),
        Some(second.as_str())
    );
    assert!(
        s.store()
            .join("runs")
            .join(DATASET)
            .join(&second)
            .join("report.html")
            .is_file(),
        "the run's report is where the output says"
    );

    // An uploaded pipeline (outside the instance's folder, with its source beside it).
    let elsewhere = s.dir.join("elsewhere");
    std::fs::create_dir_all(elsewhere.join("data")).unwrap();
    std::fs::copy(&csv, elsewhere.join("data/spend.csv")).unwrap();
    std::fs::write(
        elsewhere.join("uploaded.toml"),
        "id = \"uploaded-spending\"\ntitle = \"Uploaded\"\npublisher = \"E08000009\"\ntemplate = \"spend\"\n[source]\nurl = \"data/spend.csv\"\n[columns.supplier_name]\npersonal = \"allow\"\n",
    )
    .unwrap();
    let o = s.run(
        Some(TOKEN),
        &["run", elsewhere.join("uploaded.toml").to_str().unwrap()],
    );
    assert!(ok(&o).contains("uploaded-spending: published release"));
    assert!(live_release(&url, "uploaded-spending").is_some());

    // publish (CSV + CSVW metadata) through the instance.
    let o = s.run(
        Some(TOKEN),
        &[
            "publish",
            root().join(common::EXAMPLE).to_str().unwrap(),
            "--dataset",
            "published-spending",
            "--release",
            "p1",
        ],
    );
    assert!(
        ok(&o).contains("published published-spending/p1"),
        "{}",
        text(&o.stdout)
    );
    assert_eq!(
        live_release(&url, "published-spending").as_deref(),
        Some("p1")
    );
    let csv_dump = http()
        .get(format!("{url}/dumps/published-spending/latest.csv"))
        .send()
        .unwrap();
    assert_eq!(csv_dump.status(), 200);

    // rollback, remove, withdraw: each live at once.
    ok(&s.run(Some(TOKEN), &["rollback", DATASET, &first]));
    assert_eq!(live_release(&url, DATASET).as_deref(), Some(first.as_str()));
    ok(&s.run(Some(TOKEN), &["remove", DATASET, &second]));
    assert_eq!(releases(&s, Some(TOKEN)).1, vec![first.clone()]);
    let o = s.run(Some(TOKEN), &["remove", DATASET, &first]);
    assert_eq!(o.status.code(), Some(2), "the live release is not removed");
    assert!(text(&o.stderr).contains("is live"), "{}", text(&o.stderr));
    let page = http()
        .get(format!("{url}/dataset/{DATASET}"))
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let t = Instant::now();
    ok(&s.run(Some(TOKEN), &["withdraw", DATASET]));
    let page = http()
        .get(format!("{url}/dataset/{DATASET}"))
        .send()
        .unwrap();
    assert!(
        matches!(page.status().as_u16(), 404 | 410),
        "withdrawn: {}",
        page.status()
    );
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "withdraw took {:?}",
        t.elapsed()
    );
    let latest = http()
        .get(format!("{url}/dumps/{DATASET}/latest.nt.gz"))
        .send()
        .unwrap();
    assert_eq!(
        latest.status(),
        404,
        "the withdrawn dataset's latest dumps are gone"
    );
    let earlier = http()
        .get(format!("{url}/dumps/{DATASET}/{first}.nt.gz"))
        .send()
        .unwrap();
    assert_eq!(earlier.status(), 410, "and so are its earlier releases");
    let page = http()
        .get(format!("{url}/dataset/{DATASET}"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        !page.contains(".nt.gz"),
        "the withdrawn page links no download: {page}"
    );
    assert_eq!(live_release(&url, DATASET), None);

    // backup, through the instance.
    let backup = s.dir.join("backup");
    let o = s.run(Some(TOKEN), &["backup", backup.to_str().unwrap()]);
    assert!(ok(&o).contains("backed up"), "{}", text(&o.stdout));
    assert!(backup.join("backup.json").is_file() && backup.join("oxigraph").is_dir());
    // restore refuses while the instance holds the store.
    let o = s.run(
        Some(TOKEN),
        &["restore", backup.to_str().unwrap(), "--force"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("stop it"), "{}", text(&o.stderr));

    // A clean stop removes the instance file; commands open the store directly again.
    terminate(site);
    assert!(!s.store().join("instance.json").exists());
    assert_eq!(releases(&s, None).0, None, "still withdrawn");
}

#[test]
fn the_admin_api_refuses_the_anonymous_and_bad_requests_change_nothing() {
    let s = Scratch::new("api", "admin_upload_max_bytes = 4096");
    ok(&s.run(None, &["run"]));
    let (first, _) = releases(&s, None);
    let site = s.serve(Some(TOKEN));
    let url = &site.url;
    let c = http();

    // The workspace's pages want a signed-in session, whatever the token: they send the
    // browser to sign in.
    for path in ["/admin/", "/admin/datasets/trafford-spending", "/admin/new"] {
        for auth in [None, Some(format!("Bearer {TOKEN}"))] {
            let mut req = c.get(format!("{url}{path}"));
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            let r = req.send().unwrap();
            assert_eq!(r.status(), 303, "{path}");
            assert!(r.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/admin/login?next="));
        }
    }
    // Anonymous, or a wrong token: 401 on every /admin/api path and method, never 404 or 200.
    for (method, path) in [
        ("GET", "/admin/api"),
        ("GET", "/admin/api/datasets"),
        ("GET", "/admin/api/nonexistent"),
        ("POST", "/admin/api/runs"),
        ("POST", "/admin/api/datasets/trafford-spending/withdraw"),
        ("DELETE", "/admin/api/datasets/trafford-spending/releases/x"),
    ] {
        for auth in [
            None,
            Some("Bearer wrong-token-wrong-token"),
            Some("Basic abc"),
        ] {
            let mut req = c.request(method.parse().unwrap(), format!("{url}{path}"));
            if let Some(a) = auth {
                req = req.header("Authorization", a);
            }
            let r = req.send().unwrap();
            assert_eq!(r.status(), 401, "{method} {path} with {auth:?}");
            assert!(r.headers().contains_key("www-authenticate"));
            let body = r.text().unwrap();
            assert!(!body.contains(TOKEN), "the token is never echoed");
        }
    }
    let auth = format!("Bearer {TOKEN}");
    let get = |path: &str| {
        c.get(format!("{url}/admin/api/{path}"))
            .header("Authorization", &auth)
            .send()
            .unwrap()
    };
    let post = |path: &str| {
        c.post(format!("{url}/admin/api/{path}"))
            .header("Authorization", &auth)
    };
    assert_eq!(get("datasets").status(), 200);
    let r = get("nonexistent");
    assert_eq!(r.status(), 404);
    assert!(r.json::<serde_json::Value>().unwrap()["error"].is_string());

    // An unknown dataset: 404 JSON.
    let r = post("datasets/no-such-dataset/withdraw").send().unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.json::<serde_json::Value>().unwrap()["error"]
        .as_str()
        .unwrap()
        .contains("no-such-dataset"));
    let r = c
        .post(format!(
            "{url}/admin/api/datasets/trafford-spending/rollback"
        ))
        .header("Authorization", &auth)
        .json(&serde_json::json!({"release": "nope"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = c
        .post(format!(
            "{url}/admin/api/datasets/trafford-spending/rollback"
        ))
        .header("Authorization", &auth)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);

    // A malformed pipeline upload: 400 naming the file and the key.
    use reqwest::blocking::multipart::{Form, Part};
    let form = Form::new().part(
        "pipeline",
        Part::bytes(b"id = \"x\"\ntitle = 5\n".to_vec()).file_name("broken.toml"),
    );
    let r = post("runs").multipart(form).send().unwrap();
    assert_eq!(r.status(), 400);
    let e = r.json::<serde_json::Value>().unwrap()["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(e.contains("broken.toml") && e.contains("title"), "{e}");
    // A pipeline naming a local file that was not uploaded: refused, nothing of the
    // instance's machine is read.
    let form = Form::new().part(
        "pipeline",
        Part::bytes(
            b"id = \"sneaky\"\ntitle = \"S\"\ntemplate = \"spend\"\n[source]\nurl = \"/etc/passwd\"\n"
                .to_vec(),
        )
        .file_name("sneaky.toml"),
    );
    let r = post("runs").multipart(form).send().unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("was not uploaded"));
    // Not multipart at all.
    let r = post("runs").body("hello").send().unwrap();
    assert_eq!(r.status(), 400);
    // Over the upload limit (4096 bytes here): 413.
    let big = "Body,Date,Transaction,Net Amount,Supplier Name\n".repeat(200);
    let form = Form::new()
        .part(
            "pipeline",
            Part::bytes(std::fs::read(s.dir.join("pipelines/trafford-spending.toml")).unwrap())
                .file_name("trafford-spending.toml"),
        )
        .part(
            "file",
            Part::bytes(big.into_bytes()).file_name("spending/trafford-spend-2024-q1.csv"),
        );
    let r = post("runs").multipart(form).send().unwrap();
    assert_eq!(r.status(), 413);
    assert!(r.text().unwrap().contains("admin_upload_max_bytes"));
    // A run by id of an unknown pipeline: 404.
    let r = post("runs")
        .json(&serde_json::json!({"pipeline": "nope"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    // A release upload without its parts: 400; an existing release: 409.
    let form = Form::new().text(
        "request",
        serde_json::json!({
            "dataset": {"id": DATASET, "title": "T", "description": "", "publisher": null,
                        "licence": "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"},
            "release": first.clone().unwrap(),
        })
        .to_string(),
    );
    let r = post("releases").multipart(form).send().unwrap();
    assert_eq!(r.status(), 400);
    // Nothing was published: the live release is as it was, the uploads are gone.
    assert_eq!(live_release(url, DATASET), first);
    assert_eq!(
        live_release(url, "sneaky"),
        None,
        "a refused pipeline publishes nothing"
    );
    let uploads = s.store().join("uploads");
    let left = std::fs::read_dir(&uploads).map(|d| d.count()).unwrap_or(0);
    assert_eq!(
        left,
        0,
        "refused uploads leave nothing in {}",
        uploads.display()
    );

    // A run by id through the API, followed to its report.
    let r: serde_json::Value = post("runs")
        .json(&serde_json::json!({"pipeline": DATASET, "validate": true}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let job = r["job"].as_str().unwrap().to_string();
    let until = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let j: serde_json::Value = get(&format!("runs/{job}")).json().unwrap();
        if j["state"] != "running" {
            break j;
        }
        assert!(Instant::now() < until, "the job did not end");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(done["state"], "finished");
    assert_eq!(done["outcome"], "valid");
    assert_eq!(done["result"]["dataset"], DATASET);
    let listed: serde_json::Value = get("runs").json().unwrap();
    assert_eq!(listed[0]["id"], job.as_str());
    assert_eq!(
        live_release(url, DATASET),
        first,
        "validate publishes nothing"
    );
}

#[test]
fn the_admin_api_is_off_without_a_token_and_can_have_its_own_address() {
    // No token: the admin API is off and says so; the public site is unaffected.
    let s = Scratch::new("off", "");
    ok(&s.run(None, &["run"]));
    let site = s.serve(None);
    let r = http()
        .get(format!("{}/admin/api/datasets", site.url))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().unwrap().contains("off"));
    let o = s.run(Some(TOKEN), &["releases"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("off"), "{}", text(&o.stderr));
    drop(site);

    // A token that is too short leaves it off too.
    let site = s.serve(Some("short"));
    let r = http()
        .get(format!("{}/admin/api/datasets", site.url))
        .header("Authorization", "Bearer short")
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    drop(site);

    // admin_bind: the admin API on its own address; the public one refuses it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = Scratch::new("bind", &format!("admin_bind = \"127.0.0.1:{port}\""));
    ok(&s.run(None, &["run"]));
    let site = s.serve(Some(TOKEN));
    let auth = format!("Bearer {TOKEN}");
    let public = http()
        .get(format!("{}/admin/api/datasets", site.url))
        .header("Authorization", &auth)
        .send()
        .unwrap();
    assert_eq!(public.status(), 403);
    let anonymous = http()
        .get(format!("{}/admin/api/datasets", site.url))
        .send()
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let admin = http()
        .get(format!("http://127.0.0.1:{port}/admin/api/datasets"))
        .header("Authorization", &auth)
        .send()
        .unwrap();
    assert_eq!(admin.status(), 200);
    let r = http()
        .get(format!("http://127.0.0.1:{port}/sparql"))
        .send()
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "the admin address serves only the admin API"
    );
    // The CLI finds the admin address in the instance file.
    let (live, _) = releases(&s, Some(TOKEN));
    assert!(live.is_some());
}

#[test]
fn a_stale_instance_file_from_a_killed_server_confuses_nothing() {
    let s = Scratch::new("stale", "");
    ok(&s.run(None, &["run"]));
    let mut site = s.serve(Some(TOKEN));
    assert!(s.store().join("instance.json").is_file());
    // SIGKILL: no clean-up. Not yet reaped, the process is a zombie.
    site.child.kill().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(s.store().join("instance.json").is_file(), "left behind");
    let (live, _) = releases(&s, None);
    assert!(live.is_some(), "the store is opened directly");
    assert!(
        !s.store().join("instance.json").exists(),
        "the stale file is removed"
    );
    site.child.wait().unwrap();
    // A file naming a live process that is not the one recorded (a reused id) is stale too.
    std::fs::write(
        s.store().join("instance.json"),
        serde_json::json!({
            "pid": std::process::id(), "start_ticks": 1, "public": "http://127.0.0.1:9",
            "admin": "http://127.0.0.1:9", "base": BASE, "fivestar": "0", "started": "x"
        })
        .to_string(),
    )
    .unwrap();
    let o = s.run(None, &["withdraw", DATASET]);
    ok(&o);
    // A new server starts on the store and takes over the file.
    let site = s.serve(Some(TOKEN));
    let f: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.store().join("instance.json")).unwrap()).unwrap();
    assert_eq!(f["pid"], site.child.id());
    ok(&s.run(Some(TOKEN), &["releases"]));
}

/// Every quad of the public view, sorted, through `fivestar query`.
fn public_quads(s: &Scratch, store: &Path) -> Vec<String> {
    let o = s.run(
        None,
        &[
            "query",
            "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }",
            "--format",
            "tsv",
            "--store",
            store.to_str().unwrap(),
        ],
    );
    let mut lines: Vec<String> = ok(&o).lines().skip(1).map(String::from).collect();
    lines.sort();
    lines
}

#[test]
fn a_restored_backup_serves_the_same_public_view_and_status() {
    let s = Scratch::new("backup", "");
    ok(&s.run(None, &["run"]));
    ok(&s.run(None, &["run", "--force"]));
    let before = public_quads(&s, &s.store());
    assert!(before.len() > 100);
    let status = ok(&s.run(None, &["status", "--format", "json"]));

    // Backed up while the site is live, through the admin API.
    let site = s.serve(Some(TOKEN));
    let backup = s.dir.join("backup");
    ok(&s.run(Some(TOKEN), &["backup", backup.to_str().unwrap()]));
    // A non-empty target is refused.
    let o = s.run(Some(TOKEN), &["backup", backup.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("not empty"), "{}", text(&o.stderr));
    drop(site);

    // Restored into a new store: the same public view, quad for quad, and the same status.
    let restored = s.dir.join("restored");
    let o = s.run(
        None,
        &[
            "restore",
            backup.to_str().unwrap(),
            "--store",
            restored.to_str().unwrap(),
        ],
    );
    assert!(ok(&o).contains("restored"));
    assert_eq!(public_quads(&s, &restored), before);
    let o = s.run(
        None,
        &[
            "status",
            "--format",
            "json",
            "--store",
            restored.to_str().unwrap(),
        ],
    );
    assert_eq!(ok(&o), status);
    for f in ["latest.nt.gz", "latest.csv", "latest-metadata.json"] {
        assert_eq!(
            std::fs::read(s.store().join("dumps").join(DATASET).join(f)).unwrap(),
            std::fs::read(restored.join("dumps").join(DATASET).join(f)).unwrap(),
            "{f}"
        );
    }
    // The releases' search indexes come along (each release's own folder of files).
    let indexes = |store: &Path| -> Vec<(String, usize)> {
        let mut v: Vec<(String, usize)> = std::fs::read_dir(store.join("search").join(DATASET))
            .map(|d| {
                d.flatten()
                    .map(|e| {
                        let files = std::fs::read_dir(e.path()).map(|f| f.count()).unwrap_or(0);
                        (e.file_name().to_string_lossy().into_owned(), files)
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let original = indexes(&s.store());
    assert!(
        !original.is_empty() && original.iter().all(|(_, n)| *n > 0),
        "{original:?}"
    );
    assert_eq!(indexes(&restored), original);

    // Restoring over a store that is not empty needs --force, and then replaces it.
    let o = s.run(None, &["restore", backup.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--force"), "{}", text(&o.stderr));
    ok(&s.run(None, &["withdraw", DATASET]));
    assert_ne!(public_quads(&s, &s.store()), before);
    ok(&s.run(None, &["restore", backup.to_str().unwrap(), "--force"]));
    assert_eq!(public_quads(&s, &s.store()), before);
    // Not a backup: a clear error.
    let o = s.run(
        None,
        &[
            "restore",
            s.dir.join("pipelines").to_str().unwrap(),
            "--force",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("not a fivestar backup"));
    assert_eq!(
        public_quads(&s, &s.store()),
        before,
        "a failed restore changes nothing"
    );
}

#[test]
fn schedule_is_a_live_instance_too() {
    let s = Scratch::new("schedule", "");
    // The pipeline's cron says 06:00 daily; never run, it is due at once.
    let site = common::serve(
        s.command(Some(TOKEN))
            .args(["schedule", "--bind", "127.0.0.1:0"]),
    );
    let until = Instant::now() + Duration::from_secs(90);
    while live_release(&site.url, DATASET).is_none() {
        assert!(Instant::now() < until, "the scheduled run never published");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The release is live a moment before the run ends (report written, lock let go).
    let lock = s.store().join("runs").join(DATASET).join(".lock");
    while lock.exists() {
        assert!(Instant::now() < until, "the scheduled run never ended");
        std::thread::sleep(Duration::from_millis(100));
    }
    let f: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.store().join("instance.json")).unwrap()).unwrap();
    assert_eq!(f["pid"], site.child.id());
    // A forced run from the command line goes through the scheduler's admin API.
    let before = live_release(&site.url, DATASET);
    let out = ok(&s.run(Some(TOKEN), &["run", "--force"]));
    assert!(out.contains("published release"), "{out}");
    assert_ne!(live_release(&site.url, DATASET), before);
    assert_eq!(releases(&s, Some(TOKEN)).1.len(), 2);
    terminate(site);
    assert!(!s.store().join("instance.json").exists());
}

/// sha256 of every file under `dir` but the instance file, by path.
fn tree_hashes(dir: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    use sha2::Digest;
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if e.file_name() != "instance.json" {
                let h = sha2::Sha256::digest(std::fs::read(&p).unwrap());
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), format!("{h:x}"));
            }
        }
    }
    out
}

/// The triples of each graph of a site's public view, through its `/sparql`.
fn graph_counts(site: &str) -> String {
    let q = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g";
    let r = http()
        .get(format!("{site}/sparql"))
        .query(&[("query", q)])
        .header("Accept", "text/csv")
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{site}: {}", r.status());
    r.text().unwrap()
}

#[test]
fn a_backup_serves_as_a_read_only_replica_and_changes_nothing() {
    let s = Scratch::new("replica", "");
    ok(&s.run(None, &["run"]));
    // A second release published through the live instance (its writes may still be in the
    // write-ahead log), then a backup through it: the replica's copy.
    let site = s.serve(Some(TOKEN));
    ok(&s.run(Some(TOKEN), &["run", "--force"]));
    let replica = s.dir.join("replica");
    ok(&s.run(Some(TOKEN), &["backup", replica.to_str().unwrap()]));
    let before = tree_hashes(&replica);

    let serve_replica = |store: &Path| {
        s.command(Some(TOKEN))
            .args(["serve", "--read-only", "--bind", "127.0.0.1:0", "--store"])
            .arg(store)
            .output_or_serve()
    };
    let r = match serve_replica(&replica) {
        Ok(r) => r,
        Err(o) => panic!("the replica did not start: {}", text(&o.stderr)),
    };
    // The same public view, graph by graph, and the same live release.
    let counts = graph_counts(&site.url);
    assert!(counts.lines().count() > 3, "{counts}");
    assert_eq!(graph_counts(&r.url), counts);
    let live = live_release(&site.url, DATASET);
    assert!(live.is_some());
    assert_eq!(live_release(&r.url, DATASET), live);
    let page = http().get(format!("{}/catalog", r.url)).send().unwrap();
    assert_eq!(page.status(), 200);

    // Nothing changes it: its admin API is off and says why, and the commands that change a
    // store refuse to go to it.
    let a = http()
        .post(format!("{}/admin/api/datasets/{DATASET}/withdraw", r.url))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(a.status(), 401);
    assert!(a.text().unwrap().contains("read-only replica"));
    for args in [
        vec!["withdraw", DATASET],
        vec!["run", "--force"],
        vec!["rollback", DATASET, live.as_deref().unwrap_or("")],
        vec!["backup", "/tmp/never-made-by-a-replica"],
    ] {
        let mut args = args.clone();
        args.extend(["--store", replica.to_str().unwrap()]);
        let o = s.run(Some(TOKEN), &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains("served read-only"),
            "{args:?}: {}",
            text(&o.stderr)
        );
    }
    assert_eq!(live_release(&r.url, DATASET), live);
    // What only reads still works: the releases, read from the copy beside the replica.
    let o = s.run(
        Some(TOKEN),
        &["releases", "--store", replica.to_str().unwrap()],
    );
    let (listed, all) = common::parse_releases(&ok(&o), DATASET);
    assert_eq!(listed, live);
    assert_eq!(all.len(), 2, "{all:?}");
    terminate(r);
    assert_eq!(
        tree_hashes(&replica),
        before,
        "the replica's folder changed"
    );

    // The live store itself is not served read-only: its instance is found, and a process
    // that has the database open for writing without an instance file is found by the
    // database's own lock.
    let o = serve_replica(&s.store()).err().expect("refused");
    assert!(
        text(&o.stderr).contains("already served"),
        "{}",
        text(&o.stderr)
    );
    std::fs::remove_file(s.store().join("instance.json")).unwrap();
    let o = serve_replica(&s.store()).err().expect("refused");
    let e = text(&o.stderr);
    assert!(
        e.contains("open for writing by process") && e.contains(&site.child.id().to_string()),
        "{e}"
    );
    drop(site);
}

/// Starts a command that serves; its output if it exits instead.
trait OutputOrServe {
    fn output_or_serve(&mut self) -> Result<common::Running, Output>;
}

impl OutputOrServe for Command {
    fn output_or_serve(&mut self) -> Result<common::Running, Output> {
        use std::io::BufRead;
        let mut child = self
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        match line.split_whitespace().find(|w| w.starts_with("http://")) {
            Some(url) => {
                // Drained, so that a full pipe never stops the server.
                let mut err = child.stderr.take().unwrap();
                std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
                Ok(common::Running {
                    child,
                    url: url.trim_end_matches('/').to_string(),
                    backend: None,
                })
            }
            None => Err(child.wait_with_output().unwrap()),
        }
    }
}
