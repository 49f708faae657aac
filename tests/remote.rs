//! `[[publish_to]]` for real, on two engines: Oxigraph's own server (from PyPI, installed by
//! `make test-deps`; `OXIGRAPH_SERVER` names it) and Virtuoso open source (Debian's, also
//! installed by `make test-deps`: Digest authentication, sized uploads, its own ASK). For each,
//! two targets: one behind a proxy on loopback that can be told to answer 500, one direct.
//! Runs, rollback, withdraw and removal reach both, through a live instance's admin API; a
//! target that fails mid-publish keeps its live release, the other still gets the new one,
//! and `fivestar sync` catches the first up.

mod common;

use common::bin;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "remote-admin-token-0123456789abcdef";
const BASE: &str = "http://127.0.0.1:7878";
const DATASET: &str = "trafford-spending";
const HAS_CURRENT: &str = "http://www.w3.org/ns/dcat#hasCurrentVersion";

use common::{count_query, oxigraph, with_credentials, Engine};

/// A proxy to `upstream`, each request on its own thread, that answers 500 to every `PUT`
/// while `failing` is set, and keeps every `PUT` waiting while `holding` is set.
struct Proxy {
    url: String,
    failing: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
    holding: Arc<AtomicBool>,
    /// `PUT`s waiting now.
    held: Arc<AtomicUsize>,
    server: Arc<tiny_http::Server>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.holding.store(false, Ordering::SeqCst);
        self.server.unblock();
    }
}

fn proxy(upstream: &str) -> Proxy {
    let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let p = Proxy {
        url,
        failing: Arc::default(),
        refused: Arc::default(),
        holding: Arc::default(),
        held: Arc::default(),
        server: server.clone(),
    };
    let (failing, refused, holding, held) = (
        p.failing.clone(),
        p.refused.clone(),
        p.holding.clone(),
        p.held.clone(),
    );
    let upstream = upstream.to_string();
    std::thread::spawn(move || {
        let client = reqwest::blocking::Client::new();
        for req in server.incoming_requests() {
            let (failing, refused, holding, held, client, upstream) = (
                failing.clone(),
                refused.clone(),
                holding.clone(),
                held.clone(),
                client.clone(),
                upstream.clone(),
            );
            std::thread::spawn(move || {
                forward(req, &client, &upstream, &failing, &refused, &holding, &held)
            });
        }
    });
    p
}

fn forward(
    mut req: tiny_http::Request,
    client: &reqwest::blocking::Client,
    upstream: &str,
    failing: &AtomicBool,
    refused: &AtomicUsize,
    holding: &AtomicBool,
    held: &AtomicUsize,
) {
    let mut body = Vec::new();
    let _ = req.as_reader().read_to_end(&mut body);
    let put = *req.method() == tiny_http::Method::Put;
    if put && failing.load(Ordering::SeqCst) {
        refused.fetch_add(1, Ordering::SeqCst);
        let _ =
            req.respond(tiny_http::Response::from_string("injected failure").with_status_code(500));
        return;
    }
    if put && holding.load(Ordering::SeqCst) {
        held.fetch_add(1, Ordering::SeqCst);
        while holding.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
        held.fetch_sub(1, Ordering::SeqCst);
    }
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).unwrap();
    let mut forward = client.request(method, format!("{upstream}{}", req.url()));
    for h in req.headers() {
        let name = h.field.as_str().as_str();
        if !["host", "content-length", "transfer-encoding", "connection"]
            .contains(&name.to_ascii_lowercase().as_str())
        {
            forward = forward.header(name, h.value.as_str());
        }
    }
    let response = match forward.body(body).send() {
        Ok(a) => {
            let status = a.status().as_u16();
            // The headers a client reads: the media type, and a Digest challenge.
            let headers: Vec<tiny_http::Header> = ["content-type", "www-authenticate"]
                .iter()
                .flat_map(|name| a.headers().get_all(*name).iter().map(move |v| (name, v)))
                .filter_map(|(name, v)| tiny_http::Header::from_bytes(*name, v.as_bytes()).ok())
                .collect();
            let bytes = a.bytes().unwrap_or_default().to_vec();
            let mut response = tiny_http::Response::from_data(bytes).with_status_code(status);
            for h in headers {
                response.add_header(h);
            }
            response
        }
        Err(e) => tiny_http::Response::from_data(e.to_string().into_bytes()).with_status_code(502),
    };
    let _ = req.respond(response);
}

/// The triples of `graph` on a store, by its query endpoint.
/// Waits (up to 5 minutes) until an upload of the `running` run is held at the proxy.
fn until_held(faulty: &Proxy, running: &mut std::process::Child) {
    let started = Instant::now();
    while faulty.held.load(Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no upload reached the proxy"
        );
        assert!(running.try_wait().unwrap().is_none(), "the run ended first");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn graph_count(server: &str, graph: &str) -> u64 {
    count_query(
        server,
        &format!("SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"),
    )
    .unwrap()
}

/// The live releases the target's catalogue names for the dataset (by its query endpoint).
fn remote_live(server: &str) -> Vec<String> {
    let q = format!(
        "SELECT ?r WHERE {{ GRAPH <{BASE}/graph/catalog> {{ <{BASE}/id/dataset/{DATASET}> <{HAS_CURRENT}> ?r }} }}"
    );
    let v: serde_json::Value = reqwest::blocking::Client::new()
        .post(server)
        .header("Accept", "application/sparql-results+json")
        .form(&[("query", q.as_str())])
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["results"]["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let r = b["r"]["value"].as_str().unwrap();
            r.rsplit('/').next().unwrap().to_string()
        })
        .collect()
}

struct Scratch {
    dir: PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Scratch {
    fn run(&self, args: &[&str]) -> Output {
        with_credentials(&mut Command::new(bin()))
            .current_dir(&self.dir)
            .env("FIVESTAR_ADMIN_TOKEN", TOKEN)
            .args(args)
            .output()
            .unwrap()
    }

    /// Triples in a graph of the local store's public view, by name.
    fn local_count(&self, graph: &str) -> u64 {
        self.local_n(&format!(
            "SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
        ))
    }

    /// The triples of a release, live or not, as the local catalogue records them (VoID).
    fn release_triples(&self, release: &str) -> u64 {
        self.local_n(&format!(
            "SELECT ?n WHERE {{ GRAPH <{BASE}/graph/catalog> {{ \
             <{BASE}/id/dataset/{DATASET}/release/{release}> <http://rdfs.org/ns/void#triples> ?n }} }}"
        ))
    }

    /// `?n` of a query on the local store's public view.
    fn local_n(&self, query: &str) -> u64 {
        let o = self.run(&["query", query, "--format", "csv"]);
        assert!(o.status.success(), "{}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        out.lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("no count in {out}"))
    }

    /// The dataset's releases, oldest first, and the live one.
    fn releases(&self) -> (Option<String>, Vec<String>) {
        let o = self.run(&["releases"]);
        assert!(o.status.success(), "{}", text(&o));
        common::parse_releases(&String::from_utf8_lossy(&o.stdout), DATASET)
    }
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", text(&o));
    text(&o)
}

fn graph(release: &str) -> String {
    format!("{BASE}/graph/{DATASET}/{release}")
}

#[test]
fn releases_reach_every_oxigraph_target_and_a_failing_one_keeps_its_live_release() {
    publish_cycle(Engine::Oxigraph);
}

#[test]
fn releases_reach_every_virtuoso_target_and_a_failing_one_keeps_its_live_release() {
    publish_cycle(Engine::Virtuoso);
}

fn publish_cycle(engine: Engine) {
    let dir =
        std::env::temp_dir().join(format!("fivestar-remote-{engine:?}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let s = Scratch { dir: dir.clone() };
    let behind_server = common::external(engine, &dir.join("engine-a"));
    let direct_server = common::external(engine, &dir.join("engine-b"));
    let faulty = proxy(&behind_server.url);
    let (behind, direct) = (behind_server.query.clone(), direct_server.query.clone());
    let pipelines = dir.join("pipelines");
    common::copy_trafford_pipeline(&pipelines);
    std::fs::write(
        dir.join("fivestar.toml"),
        format!(
            "base_iri = {BASE:?}\nstore = {:?}\npipelines = {:?}\n{}{}",
            dir.join("store").display().to_string(),
            pipelines.display().to_string(),
            behind_server.target("behind", &faulty.url, "retries = 1\nkeep = 2\n"),
            direct_server.target("direct", &direct_server.url, ""),
        ),
    )
    .unwrap();

    // 1. A run publishes here and to both targets; each graph holds as many triples there.
    let out = ok(s.run(&["run"]));
    let (live, all) = s.releases();
    let r1 =
        live.unwrap_or_else(|| panic!("no live release: {out}\n{}", text(&s.run(&["releases"]))));
    assert_eq!(all, [r1.as_str()]);
    for target in [&behind, &direct] {
        assert_eq!(remote_live(target), [r1.as_str()], "{out}");
        for g in [
            graph(&r1),
            format!("{}/summary", graph(&r1)),
            format!("{BASE}/graph/catalog"),
            format!("{BASE}/graph/vocab"),
        ] {
            let here = s.local_count(&g);
            assert!(here > 0, "{g} is empty here");
            assert_eq!(graph_count(target, &g), here, "{g} on {target}");
        }
        // Nothing is left in the staging graph.
        assert_eq!(
            graph_count(target, &format!("{BASE}/graph/catalog-next")),
            0
        );
    }

    // The rest through a live instance's admin API.
    let _site = common::serve(
        with_credentials(&mut Command::new(bin()))
            .current_dir(&dir)
            .env("FIVESTAR_ADMIN_TOKEN", TOKEN)
            .args(["serve", "--bind", "127.0.0.1:0"]),
    );

    // 2. A second release switches atomically: a reader of the target's catalogue always
    // finds exactly one live release, and its graph full.
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, url) = (stop.clone(), direct.clone());
        std::thread::spawn(move || {
            let mut seen = std::collections::BTreeSet::new();
            let mut looks = 0;
            while !stop.load(Ordering::SeqCst) {
                let live = remote_live(&url);
                assert_eq!(live.len(), 1, "both or neither live: {live:?}");
                assert!(graph_count(&url, &graph(&live[0])) > 0, "{live:?} is empty");
                seen.insert(live[0].clone());
                looks += 1;
            }
            (seen, looks)
        })
    };
    let out = ok(s.run(&["run", "--force"]));
    stop.store(true, Ordering::SeqCst);
    let (seen, looks) = watcher.join().unwrap();
    let (live, all) = s.releases();
    let r2 = live.unwrap();
    assert_ne!(r2, r1);
    assert!(looks > 1, "the reader looked {looks} time(s)");
    assert!(seen.contains(&r1), "{seen:?}");
    for target in [&behind, &direct] {
        assert_eq!(remote_live(target), [r2.as_str()], "{out}");
        assert_eq!(graph_count(target, &graph(&r2)), s.local_count(&graph(&r2)));
    }
    assert_eq!(all, [r1.clone(), r2.clone()]);

    // 3. Rollback and withdraw reach both targets.
    let out = ok(s.run(&["rollback", DATASET, &r1]));
    assert!(out.contains("publish_to behind: ok"), "{out}");
    for target in [&behind, &direct] {
        assert_eq!(remote_live(target), [r1.as_str()]);
    }
    let out = ok(s.run(&["withdraw", DATASET]));
    assert!(out.contains("publish_to direct: ok"), "{out}");
    for target in [&behind, &direct] {
        assert!(remote_live(target).is_empty(), "{out}");
        // Its graphs stay there, for a rollback.
        assert!(graph_count(target, &graph(&r2)) > 0);
    }
    ok(s.run(&["rollback", DATASET, &r2]));
    for target in [&behind, &direct] {
        assert_eq!(remote_live(target), [r2.as_str()]);
    }

    // 4. A target answering 500 to the upload of a third release keeps r2 live; the other
    // gets the new one; the run is published here and its report says which target failed.
    faulty.failing.store(true, Ordering::SeqCst);
    let o = s.run(&["run", "--force"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(faulty.refused.load(Ordering::SeqCst) > 0, "{out}");
    let (live, _) = s.releases();
    let r3 = live.unwrap();
    assert_ne!(r3, r2);
    assert_eq!(remote_live(&behind), [r2.as_str()], "{out}");
    assert_eq!(remote_live(&direct), [r3.as_str()], "{out}");
    let report = std::fs::read_to_string(
        dir.join("store/runs")
            .join(DATASET)
            .join(&r3)
            .join("report.txt"),
    )
    .unwrap();
    assert!(
        report.contains("not to behind") && report.contains("HTTP 500"),
        "{report}"
    );
    // `fivestar sync` says the target still fails (exit 3), then catches it up.
    let o = s.run(&["sync"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_eq!(remote_live(&behind), [r2.as_str()]);
    faulty.failing.store(false, Ordering::SeqCst);
    let out = ok(s.run(&["sync"]));
    assert!(out.contains("publish_to behind: ok"), "{out}");
    for target in [&behind, &direct] {
        assert_eq!(remote_live(target), [r3.as_str()], "{out}");
        assert_eq!(graph_count(target, &graph(&r3)), s.local_count(&graph(&r3)));
        // Two releases kept there: r1's graphs are dropped.
        assert_eq!(graph_count(target, &graph(&r1)), 0, "{out}");
        assert_eq!(graph_count(target, &format!("{}/summary", graph(&r1))), 0);
        assert!(graph_count(target, &graph(&r2)) > 0);
    }

    // Everything since `serve` went through the instance's admin API.
    let audit = std::fs::read_to_string(dir.join("store/audit.jsonl")).unwrap_or_default();
    for action in ["rollback", "withdraw", "publish_to sync"] {
        assert!(audit.contains(action), "audit log lacks {action}:\n{audit}");
    }

    // 5. The emergency withdraw does not wait for an upload: while a fourth release's graph
    // is held on its way to `behind`, a withdraw takes the dataset off both targets' live
    // view, and the sync under way, once the upload goes through, leaves it off.
    faulty.holding.store(true, Ordering::SeqCst);
    let mut running = with_credentials(&mut Command::new(bin()))
        .current_dir(&dir)
        .env("FIVESTAR_ADMIN_TOKEN", TOKEN)
        .args(["run", "--force"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    until_held(&faulty, &mut running);
    // A withdraw through the instance, bounded: one that waits for a held upload fails the
    // test instead of hanging it (`stop` ends what else is running first). It must have
    // taken the dataset off both targets' live view.
    let withdraw_within = |why: &str, stop: &mut dyn FnMut()| -> String {
        let mut withdraw = with_credentials(&mut Command::new(bin()))
            .current_dir(&dir)
            .env("FIVESTAR_ADMIN_TOKEN", TOKEN)
            .args(["withdraw", DATASET])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while withdraw.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(120) {
                faulty.holding.store(false, Ordering::SeqCst);
                let _ = withdraw.kill();
                stop();
                panic!("{why}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = ok(withdraw.wait_with_output().unwrap());
        assert!(
            out.contains("publish_to behind: ok: withdrawn at once"),
            "{out}"
        );
        for target in [&behind, &direct] {
            assert!(remote_live(target).is_empty(), "{target}: {out}");
        }
        out
    };
    withdraw_within("withdraw waited for the upload", &mut || {
        let _ = running.kill();
    });
    assert!(
        faulty.held.load(Ordering::SeqCst) > 0,
        "the upload went through first"
    );
    faulty.holding.store(false, Ordering::SeqCst);
    let o = running.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let (live, all4) = s.releases();
    assert_eq!(live, None);
    for target in [&behind, &direct] {
        assert!(remote_live(target).is_empty(), "{target}: {}", text(&o));
    }
    ok(s.run(&["rollback", DATASET, &r3]));

    // 5b. Nor for the sync that follows it: with every upload to `behind` held and no other
    // sync under way, a withdraw answers once the dataset is off the targets' live view;
    // the rest of their catalogues follows in the instance's job, held here, without it.
    faulty.holding.store(true, Ordering::SeqCst);
    let out = withdraw_within("withdraw waited for the sync after it", &mut || {});
    assert!(out.contains("follows in the instance's job"), "{out}");
    // The job's upload reaches the held proxy (after the withdraw had answered).
    let started = Instant::now();
    while faulty.held.load(Ordering::SeqCst) == 0 {
        if started.elapsed() > Duration::from_secs(120) {
            faulty.holding.store(false, Ordering::SeqCst);
            panic!("no sync followed the withdraw");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    faulty.holding.store(false, Ordering::SeqCst);
    // Once it goes through, that sync drops the withdrawn dataset's graphs there: nothing of
    // it is left to query on a target's own endpoint.
    let started = Instant::now();
    while [&behind, &direct]
        .iter()
        .any(|t| graph_count(t, &graph(&r3)) > 0 || graph_count(t, &graph(&r2)) > 0)
    {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the withdrawn dataset's graphs are still on a target"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    ok(s.run(&["rollback", DATASET, &r3]));

    // 6. Removing a release here removes it there; two are still kept (r3 live, and the
    // newest other), so r2 goes back where r4 was.
    let r4 = all4.last().unwrap().clone();
    assert!(![&r1, &r2, &r3].contains(&&r4), "{all4:?}");
    let out = ok(s.run(&["remove", DATASET, &r4]));
    for target in [&behind, &direct] {
        assert_eq!(graph_count(target, &graph(&r4)), 0, "{out}");
        assert_eq!(remote_live(target), [r3.as_str()]);
        assert_eq!(
            graph_count(target, &graph(&r2)),
            s.release_triples(&r2),
            "{out}"
        );
    }

    // 7. A slow target holds the run whose release it is taking, not the next publish: while
    // a run's upload to `behind` is held, another dataset is published, and is live here.
    faulty.holding.store(true, Ordering::SeqCst);
    let spawn = |args: &[&str]| {
        with_credentials(&mut Command::new(bin()))
            .current_dir(&dir)
            .env("FIVESTAR_ADMIN_TOKEN", TOKEN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut running = spawn(&["run", "--force"]);
    until_held(&faulty, &mut running);
    std::fs::write(dir.join("other.csv"), "id,name\n1,one\n2,two\n").unwrap();
    let mut other = spawn(&["publish", "other.csv", "--dataset", "other"]);
    let other_live = format!(
        "SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{BASE}/graph/catalog> {{ \
         <{BASE}/id/dataset/other> <{HAS_CURRENT}> ?r }} }}"
    );
    let started = Instant::now();
    while s.local_n(&other_live) == 0 {
        if started.elapsed() > Duration::from_secs(120) {
            faulty.holding.store(false, Ordering::SeqCst);
            let _ = other.kill();
            let _ = running.kill();
            panic!(
                "the second publish waited for the first one's upload: {}",
                text(&other.wait_with_output().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        faulty.held.load(Ordering::SeqCst) > 0,
        "the upload went first"
    );
    faulty.holding.store(false, Ordering::SeqCst);
    ok(other.wait_with_output().unwrap());
    ok(running.wait_with_output().unwrap());
}

/// `GET` on a read server: the status, the ETag and the body.
fn get(url: &str, query: Option<&[(&str, &str)]>, auth: Option<&str>) -> (u16, String, String) {
    let mut r = reqwest::blocking::Client::new()
        .get(url)
        .header("Accept", "application/sparql-results+json");
    if let Some(q) = query {
        r = r.query(q);
    }
    if let Some(t) = auth {
        r = r.bearer_auth(t);
    }
    let a = r.send().unwrap();
    let status = a.status().as_u16();
    let tag = a
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, tag, a.text().unwrap())
}

/// `?n` of a query through a read server's `/sparql` (with the protocol's `extra` graphs).
fn served_n(site: &str, query: &str, extra: &[(&str, &str)]) -> u64 {
    let mut params = vec![("query", query)];
    params.extend_from_slice(extra);
    let (status, _, body) = get(&format!("{site}/sparql"), Some(&params), None);
    assert_eq!(status, 200, "{query}: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["results"]["bindings"][0]["n"]["value"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn read_servers_answer_from_the_backend_within_the_public_view_and_follow_its_catalogue() {
    let dir = std::env::temp_dir().join(format!("fivestar-reader-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let s = Scratch { dir: dir.clone() };
    let mut backend = oxigraph(&dir.join("oxigraph"));
    let port: u16 = backend.url.rsplit(':').next().unwrap().parse().unwrap();
    let u = backend.url.clone();
    std::fs::write(
        dir.join("fivestar.toml"),
        format!(
            "base_iri = {BASE:?}\nstore = {:?}\n\n\
             [[publish_to]]\nname = \"db\"\nquery = \"{u}/query\"\nupdate = \"{u}/update\"\n\
             graph_store = \"{u}/store\"\nretries = 0\nkeep = 2\n",
            dir.join("store").display().to_string(),
        ),
    )
    .unwrap();
    let example = common::root().join(common::EXAMPLE);
    for release in ["r1", "r2"] {
        ok(s.run(&[
            "publish",
            example.to_str().unwrap(),
            "--dataset",
            DATASET,
            "--title",
            "Trafford spending",
            "--release",
            release,
        ]));
    }
    assert_eq!(remote_live(&backend.query), ["r2"]);
    // Two read servers over the same folder of files, with a quick refresh.
    let reader = || {
        common::serve(
            Command::new(bin())
                .current_dir(&dir)
                .env("FIVESTAR_ADMIN_TOKEN", TOKEN)
                .args(["serve", "--bind", "127.0.0.1:0", "--backend"])
                .arg(format!("{u}/query")),
        )
    };
    let (a, b) = (reader(), reader());
    assert!(
        !dir.join("store/instance.json").exists(),
        "a read server writes no instance file"
    );
    // The same answers as the embedded store, and the same ETag on both servers.
    let all = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }";
    let payments = "SELECT (COUNT(*) AS ?n) WHERE { ?l a <http://reference.data.gov.uk/def/payment#ExpenditureLine> }";
    for q in [all, payments] {
        let local = s.local_n(q);
        assert!(local > 0);
        assert_eq!(served_n(&a.url, q, &[]), local, "{q}");
        assert_eq!(served_n(&b.url, q, &[]), local, "{q}");
    }
    // `fivestar query` on a read server's machine (`[backend]` in its fivestar.toml) asks the
    // backend, and writes nothing in its folder of files; a backend nobody answers at is an
    // error, not an empty answer.
    let reader_dir = dir.join("reader");
    std::fs::create_dir_all(&reader_dir).unwrap();
    let files = dir.join("reader-files");
    let reader_config = |query: &str| {
        std::fs::write(
            reader_dir.join("fivestar.toml"),
            format!(
                "base_iri = {BASE:?}\nstore = {:?}\n\n[backend]\nquery = \"{query}\"\n",
                files.display().to_string()
            ),
        )
        .unwrap();
    };
    reader_config(&format!("{u}/query"));
    let reader_query = |q: &str| {
        Command::new(bin())
            .current_dir(&reader_dir)
            .args(["query", q, "--format", "csv"])
            .output()
            .unwrap()
    };
    let out = ok(reader_query(payments));
    assert!(out.contains(&format!("\n{}", s.local_n(payments))), "{out}");
    assert!(!files.exists(), "nothing is written on a read server");
    reader_config("http://127.0.0.1:9/query");
    let o = reader_query(payments);
    assert!(
        !o.status.success() && text(&o).contains("127.0.0.1:9"),
        "{}",
        text(&o)
    );
    let tag = |site: &str| get(&format!("{site}/sparql"), Some(&[("query", all)]), None).1;
    assert!(!tag(&a.url).is_empty());
    assert_eq!(
        tag(&a.url),
        tag(&b.url),
        "read servers of one backend agree on ETags"
    );
    // Graphs the backend holds beyond the public view cannot be read: the kept release r1
    // and the staging catalogue, by FROM, GRAPH or the protocol's parameters.
    assert!(
        graph_count(&backend.query, &graph("r1")) > 0,
        "r1 is kept on the backend"
    );
    let r1 = graph("r1");
    let staging = format!("{BASE}/graph/catalog-next");
    for q in [
        format!("SELECT (COUNT(*) AS ?n) FROM <{r1}> WHERE {{ ?s ?p ?o }}"),
        format!("SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{r1}> {{ ?s ?p ?o }} }}"),
        format!("SELECT (COUNT(*) AS ?n) FROM NAMED <{r1}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"),
        format!("SELECT (COUNT(*) AS ?n) FROM <{staging}> WHERE {{ ?s ?p ?o }}"),
    ] {
        assert_eq!(served_n(&a.url, &q, &[]), 0, "{q}");
    }
    assert_eq!(
        served_n(&a.url, all, &[("default-graph-uri", r1.as_str())]),
        0
    );
    assert_eq!(
        served_n(
            &a.url,
            "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
            &[("named-graph-uri", r1.as_str())]
        ),
        0
    );
    let (status, _, body) = get(
        &format!("{}/sparql", a.url),
        Some(&[(
            "query",
            "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
        )]),
        None,
    );
    assert!(status == 400 && body.contains("SERVICE"), "{status} {body}");
    // Nothing changes through a read server; its metrics open with the token.
    let (status, _, body) = get(&format!("{}/admin/api/instance", a.url), None, Some(TOKEN));
    assert!(
        status == 401 && body.contains("answers from"),
        "{status} {body}"
    );
    assert_eq!(get(&format!("{}/metrics", a.url), None, Some(TOKEN)).0, 200);
    // A withdraw on the publishing machine reaches both read servers within the refresh.
    let before = tag(&a.url);
    ok(s.run(&["withdraw", DATASET]));
    let withdrawn = Instant::now();
    for site in [&a.url, &b.url] {
        while served_n(site, payments, &[]) != 0 {
            assert!(
                withdrawn.elapsed() < Duration::from_secs(10),
                "{site} still shows the withdrawn dataset"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let took = withdrawn.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "the withdraw took {took:?} to reach the read servers"
    );
    assert_ne!(
        tag(&a.url),
        before,
        "the ETag follows the backend's catalogue"
    );
    let (_, _, health) = get(&format!("{}/health", a.url), None, None);
    assert!(health.contains("\"live\":0"), "{health}");
    // The backend goes away: health says so (a load balancer takes the server out), queries
    // are a 502, and both come back with it.
    drop(backend);
    std::thread::sleep(Duration::from_millis(1500));
    let (status, _, health) = get(&format!("{}/health", a.url), None, None);
    assert!(
        status == 503 && health.contains("backend"),
        "{status} {health}"
    );
    // (An answer kept for the unchanged view may still be given: a new query is a 502.)
    let new = "SELECT (COUNT(*) AS ?n) WHERE { ?s a ?o }";
    let (status, _, body) = get(&format!("{}/sparql", a.url), Some(&[("query", new)]), None);
    assert_eq!(status, 502, "{body}");
    assert!(
        !body.contains("127.0.0.1"),
        "a 502 does not name the backend: {body}"
    );
    backend = common::oxigraph_on(&dir.join("oxigraph"), port);
    let back = Instant::now();
    while get(&format!("{}/health", a.url), None, None).0 != 200 {
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "the read server did not recover"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(served_n(&a.url, payments, &[]), 0);
    // The backend replaced by an empty one under the same address: the next sync sends
    // again what this store's record says it holds.
    drop(backend);
    let backend = common::oxigraph_on(&dir.join("oxigraph-new"), port);
    let vocab = format!("{BASE}/graph/vocab");
    assert_eq!(graph_count(&backend.query, &vocab), 0);
    ok(s.run(&["sync"]));
    assert_eq!(graph_count(&backend.query, &vocab), s.local_count(&vocab));
    // The vocabulary was sent beside its name and moved over it: nothing is left staged.
    assert_eq!(graph_count(&backend.query, &format!("{vocab}-next")), 0);
    drop(backend);
}
