//! Shared by the end-to-end tests: the binary, and a published store served on loopback.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub fn root() -> PathBuf {
    // Cargo sets CARGO_MANIFEST_DIR when it runs a test too: prefer that to the path compiled
    // in, which is stale when a shared target folder reuses a test built in another checkout.
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    dir.join("..")
}

pub fn bin() -> PathBuf {
    if let Ok(b) = std::env::var("FIVESTAR_BIN") {
        return PathBuf::from(b);
    }
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target folder")
        .join("fivestar")
}

/// An HTTP client that does not follow redirects, with a generous timeout.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Copies Trafford's spending pipeline and its data into a pipelines folder.
pub fn copy_trafford_pipeline(pipelines: &Path) {
    let examples = root().join("pipelines/examples");
    std::fs::create_dir_all(pipelines.join("spending")).unwrap();
    for file in [
        "trafford-spending.toml",
        "spending/trafford-spend-2024-q1.csv",
    ] {
        std::fs::copy(examples.join(file), pipelines.join(file)).unwrap();
    }
}

/// The admin token of the sites [`start`] serves.
pub const ADMIN_TOKEN: &str = "e2e-admin-token-0123456789";

pub const EXAMPLE: &str = "pipelines/examples/spending/trafford-spend-2024-q1.csv-metadata.json";

/// A served store, stopped when dropped.
pub struct Site {
    pub child: Child,
    pub url: String,
    pub dir: PathBuf,
    /// The store the site answers from when it is not its own (see [`backend`]).
    pub backend: Option<Oxigraph>,
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.backend.take();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Which store the sites [`start`] serves answer from: their own (the default), or with
/// `FIVESTAR_TEST_BACKEND=oxigraph` Oxigraph's own server (`OXIGRAPH_SERVER`), which the
/// published store is sent to by `[[publish_to]]` and `fivestar sync`, behind
/// `fivestar serve --backend` with the store folder for files. `make test` runs the server
/// suites both ways.
pub fn backend() -> Option<&'static str> {
    match std::env::var("FIVESTAR_TEST_BACKEND").as_deref() {
        Ok("oxigraph") => Some("oxigraph"),
        Ok("") | Err(_) => None,
        Ok(other) => panic!("FIVESTAR_TEST_BACKEND={other:?}: only \"oxigraph\" is known"),
    }
}

/// An Oxigraph server on a free loopback port, killed when dropped.
pub struct Oxigraph {
    pub child: Child,
    pub url: String,
}

impl Drop for Oxigraph {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts Oxigraph's server (`OXIGRAPH_SERVER`, installed by `make test-deps`) on `dir`.
pub fn oxigraph(dir: &Path) -> Oxigraph {
    oxigraph_on(dir, free_port())
}

/// As [`oxigraph`], on `port`.
pub fn oxigraph_on(dir: &Path, port: u16) -> Oxigraph {
    let server = std::env::var("OXIGRAPH_SERVER")
        .expect("OXIGRAPH_SERVER names Oxigraph's server binary: run `make test-deps`");
    let child = Command::new(server)
        .args(["serve", "--location"])
        .arg(dir)
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start oxigraph serve");
    let server = Oxigraph {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let started = std::time::Instant::now();
    while count_query(&server.url, "SELECT (COUNT(*) AS ?n) WHERE { }").is_none() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "oxigraph serve did not answer"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    server
}

/// A SPARQL query to Oxigraph's server whose one answer is `?n`.
pub fn count_query(server: &str, query: &str) -> Option<u64> {
    let v: serde_json::Value = reqwest::blocking::Client::new()
        .post(format!("{server}/query"))
        .header("Accept", "application/sparql-results+json")
        .form(&[("query", query)])
        .send()
        .ok()?
        .json()
        .ok()?;
    v["results"]["bindings"][0]["n"]["value"]
        .as_str()?
        .parse()
        .ok()
}

/// Sends the store to a new Oxigraph server in `dir` by a `[[publish_to]]` target added to
/// the settings file `config` (made if there is none) and `fivestar sync`; `store` names the
/// store when the settings do not.
fn send_to_oxigraph(dir: &Path, config: &Path, store: Option<&str>) -> Oxigraph {
    let server = oxigraph(&dir.join("oxigraph-server"));
    let mut text = std::fs::read_to_string(config).unwrap_or_default();
    text.push_str(&format!(
        "\n[[publish_to]]\nname = \"backend\"\nquery = \"{u}/query\"\nupdate = \"{u}/update\"\ngraph_store = \"{u}/store\"\n",
        u = server.url
    ));
    std::fs::write(config, text).unwrap();
    let mut sync = Command::new(bin());
    sync.current_dir(dir)
        .arg("--config")
        .arg(config)
        .arg("sync");
    if let Some(store) = store {
        sync.args(["--store", store]);
    }
    let out = sync.output().unwrap();
    assert!(
        out.status.success(),
        "sync to the backend: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    server
}

pub fn start(name: &str, extra: &[&str]) -> Site {
    start_with(name, &["r1"], extra)
}

/// As [`start`], publishing the example as each of `releases` in turn: the last is live.
pub fn start_with(name: &str, releases: &[&str], extra: &[&str]) -> Site {
    start_full(name, releases, extra, None)
}

/// As [`start`], the server started by `sh` after `setup` (e.g. `ulimit -Sn 1024`).
pub fn start_after(name: &str, setup: &str, extra: &[&str]) -> Site {
    start_full(name, &["r1"], extra, Some(setup))
}

fn start_full(name: &str, releases: &[&str], extra: &[&str], setup: Option<&str>) -> Site {
    let dir = std::env::temp_dir().join(format!("fivestar-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.join("store");
    let store_s = store.to_str().unwrap();
    // The base IRI must be known before the port: use a fixed one for the data.
    let base = "http://127.0.0.1:7878";
    for release in releases {
        publish(store_s, base, release);
    }
    let backend =
        backend().map(|_| send_to_oxigraph(&dir, &dir.join("fivestar.toml"), Some(store_s)));
    let query = backend.as_ref().map(|b| format!("{}/query", b.url));
    let mut args = vec![
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--store",
        store_s,
        "--base-iri",
        base,
    ];
    if let Some(q) = &query {
        args.extend(["--backend", q.as_str()]);
    }
    args.extend_from_slice(extra);
    let mut command = match setup {
        None => Command::new(bin()),
        Some(setup) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("{setup} && exec \"$0\" \"$@\""))
                .arg(bin());
            c
        }
    };
    let mut child = command
        .current_dir(root())
        .env("FIVESTAR_ADMIN_TOKEN", ADMIN_TOKEN)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let url = served_address(&mut child);
    Site {
        child,
        url,
        dir,
        backend,
    }
}

fn publish(store_s: &str, base: &str, release: &str) {
    let out = Command::new(bin())
        .current_dir(root())
        .args([
            "publish",
            EXAMPLE,
            "--dataset",
            "trafford-spending",
            "--title",
            "Trafford spending over £500",
            "--publisher",
            "http://statistics.data.gov.uk/id/statistical-geography/E08000009",
            "--release",
            release,
            "--store",
            store_s,
            "--base-iri",
            base,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "publish: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A started `fivestar serve` or `schedule`, stopped when dropped: a failing assertion
/// never leaves a server running (and holding the test's output pipe open).
pub struct Running {
    pub child: Child,
    pub url: String,
    /// The store it answers from when not its own ([`Scratch::serve`]).
    pub backend: Option<Oxigraph>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.backend.take();
    }
}

/// Starts a command that serves, with stdout piped, and waits for its address.
pub fn serve(cmd: &mut Command) -> Running {
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("start fivestar");
    let url = served_address(&mut child);
    Running {
        child,
        url,
        backend: None,
    }
}

/// The address a starting `fivestar serve` or `schedule` prints on its first line.
pub fn served_address(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    line.split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string()
}

/// A folder with a `fivestar.toml` (base http://127.0.0.1:7878, store in `store/`) and an
/// empty `pipelines/`, removed when dropped; commands run in it.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(prefix: &str, name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("fivestar-{prefix}-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pipelines")).unwrap();
        std::fs::write(
            dir.join("fivestar.toml"),
            format!(
                "base_iri = \"http://127.0.0.1:7878\"\nstore = {:?}\n",
                dir.join("store").display().to_string()
            ),
        )
        .unwrap();
        Scratch(dir)
    }

    pub fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new(bin())
            .current_dir(&self.0)
            .args(args)
            .output()
            .expect("run fivestar")
    }

    /// `fivestar serve` of the scratch store on a free port, answering from its own store,
    /// or (see [`backend`]) from Oxigraph's server after the store was sent there.
    pub fn serve(&self) -> Running {
        let backend =
            backend().map(|_| send_to_oxigraph(&self.0, &self.0.join("fivestar.toml"), None));
        let query = backend.as_ref().map(|b| format!("{}/query", b.url));
        let mut cmd = Command::new(bin());
        cmd.current_dir(&self.0)
            .args(["serve", "--bind", "127.0.0.1:0"]);
        if let Some(q) = &query {
            cmd.args(["--backend", q.as_str()]);
        }
        let mut running = serve(&mut cmd);
        running.backend = backend;
        running
    }

    /// A query's answer as CSV, with LF line ends.
    pub fn query(&self, q: &str) -> String {
        let o = self.run(&["query", q, "--format", "csv"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).replace("\r\n", "\n")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The live release and every release (oldest first) of one dataset, from the standard
/// output of `fivestar releases`.
pub fn parse_releases(out: &str, dataset: &str) -> (Option<String>, Vec<String>) {
    let mut live = None;
    let mut all = Vec::new();
    let mut ours = false;
    for line in out.lines() {
        if !line.starts_with(' ') {
            ours = line.starts_with(&format!("{dataset}\t"));
            if ours {
                let l = line.rsplit("live: ").next().unwrap_or("");
                live = (l != "(withdrawn)").then(|| l.to_string());
            }
        } else if ours {
            all.push(line.split_whitespace().next().unwrap_or("").to_string());
        }
    }
    (live, all)
}
