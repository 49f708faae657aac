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

/// The Prometheus text of a site's `/metrics`, read with [`ADMIN_TOKEN`].
pub fn metrics(site: &str) -> String {
    client()
        .get(format!("{site}/metrics"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap()
        .text()
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
    pub backend: Option<External>,
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
/// `FIVESTAR_TEST_BACKEND=oxigraph` (or `virtuoso`) that engine's own server, which the
/// published store is sent to by `[[publish_to]]` and `fivestar sync`, behind
/// `fivestar serve --backend` with the store folder for files. `make test` runs the server
/// suites each way.
pub fn backend() -> Option<Engine> {
    match std::env::var("FIVESTAR_TEST_BACKEND").as_deref() {
        Ok("oxigraph") => Some(Engine::Oxigraph),
        Ok("virtuoso") => Some(Engine::Virtuoso),
        Ok("") | Err(_) => None,
        Ok(other) => {
            panic!("FIVESTAR_TEST_BACKEND={other:?}: only \"oxigraph\" and \"virtuoso\" are known")
        }
    }
}

/// The SPARQL engines the tests publish to and serve from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Oxigraph's server (`OXIGRAPH_SERVER`, from PyPI, installed by `make test-deps`).
    Oxigraph,
    /// Virtuoso open source (`virtuoso-t`, Debian's `virtuoso-opensource-7-bin`, installed by
    /// `make test-deps`), on a database made for the test from a generated ini.
    Virtuoso,
}

/// The environment variables holding Virtuoso's user and password (its fresh database's
/// `dba`), named by the `[[publish_to]]` targets the tests write.
pub const VIRTUOSO_USER_ENV: &str = "FIVESTAR_TEST_VIRTUOSO_USER";
pub const VIRTUOSO_PASSWORD_ENV: &str = "FIVESTAR_TEST_VIRTUOSO_PASSWORD";

/// Sets the credentials `[[publish_to]]` targets on Virtuoso name, for `command`.
pub fn with_credentials(command: &mut Command) -> &mut Command {
    command
        .env(VIRTUOSO_USER_ENV, "dba")
        .env(VIRTUOSO_PASSWORD_ENV, "dba")
}

/// An external SPARQL store on a free loopback port, killed when dropped.
pub struct External {
    pub engine: Engine,
    pub child: Child,
    /// Its root, `http://127.0.0.1:PORT`.
    pub url: String,
    pub query: String,
    pub update: String,
    pub graph_store: String,
    dir: PathBuf,
}

impl Drop for External {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl External {
    /// A `[[publish_to]]` target named `name` sending to this store through `via` (its root
    /// URL, or a proxy's in front of it).
    pub fn target(&self, name: &str, via: &str, extra: &str) -> String {
        let rebase = |u: &str| format!("{via}{}", &u[self.url.len()..]);
        let credentials = match self.engine {
            Engine::Oxigraph => String::new(),
            Engine::Virtuoso => format!(
                "username_env = \"{VIRTUOSO_USER_ENV}\"\npassword_env = \"{VIRTUOSO_PASSWORD_ENV}\"\n"
            ),
        };
        format!(
            "\n[[publish_to]]\nname = \"{name}\"\nquery = \"{}\"\nupdate = \"{}\"\ngraph_store = \"{}\"\n{credentials}{extra}",
            rebase(&self.query),
            rebase(&self.update),
            rebase(&self.graph_store),
        )
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
pub fn oxigraph(dir: &Path) -> External {
    start_engine(Engine::Oxigraph, dir, free_port())
}

/// As [`oxigraph`], on `port`.
pub fn oxigraph_on(dir: &Path, port: u16) -> External {
    start_engine(Engine::Oxigraph, dir, port)
}

/// Starts `engine` with its data in `dir`, on a free port.
pub fn external(engine: Engine, dir: &Path) -> External {
    start_engine(engine, dir, free_port())
}

fn start_engine(engine: Engine, dir: &Path, port: u16) -> External {
    let url = format!("http://127.0.0.1:{port}");
    let (child, query, update, graph_store) = match engine {
        Engine::Oxigraph => {
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
            (
                child,
                format!("{url}/query"),
                format!("{url}/update"),
                format!("{url}/store"),
            )
        }
        Engine::Virtuoso => {
            std::fs::create_dir_all(dir).unwrap();
            let d = dir.display();
            // A minimal database on loopback: small buffers (tests start several at once),
            // checkpoints only at start. `/sparql` is open for reading; updates and the Graph
            // Store Protocol are `/sparql-auth` and `/sparql-graph-crud-auth`, Digest, as `dba`.
            let ini = format!(
                "[Database]\nDatabaseFile = {d}/virtuoso.db\nErrorLogFile = {d}/virtuoso.log\n\
                 LockFile = {d}/virtuoso.lck\nTransactionFile = {d}/virtuoso.trx\n\
                 xa_persistent_file = {d}/virtuoso.pxa\nFileExtend = 200\n\n\
                 [TempDatabase]\nDatabaseFile = {d}/virtuoso-temp.db\n\
                 TransactionFile = {d}/virtuoso-temp.trx\n\n\
                 [Parameters]\nServerPort = 127.0.0.1:{}\nDirsAllowed = {d}\n\
                 NumberOfBuffers = 4000\nMaxDirtyBuffers = 3000\nCheckpointInterval = 0\n\n\
                 [HTTPServer]\nServerPort = 127.0.0.1:{port}\nServerThreads = 8\n\
                 MaxClientConnections = 8\n\n\
                 [SPARQL]\nResultSetMaxRows = 1000000\nMaxQueryExecutionTime = 60\n",
                free_port()
            );
            let config = dir.join("virtuoso.ini");
            std::fs::write(&config, ini).unwrap();
            let server =
                std::env::var("VIRTUOSO_SERVER").unwrap_or_else(|_| "virtuoso-t".to_string());
            let child = Command::new(&server)
                .current_dir(dir)
                .args(["+foreground", "+configfile"])
                .arg(&config)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("start {server} (Virtuoso: run `make test-deps`): {e}"));
            (
                child,
                format!("{url}/sparql"),
                format!("{url}/sparql-auth"),
                format!("{url}/sparql-graph-crud-auth"),
            )
        }
    };
    let server = External {
        engine,
        child,
        url,
        query,
        update,
        graph_store,
        dir: dir.to_path_buf(),
    };
    let started = std::time::Instant::now();
    while count_query(&server.query, "SELECT (COUNT(*) AS ?n) WHERE { }").is_none() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{engine:?} did not answer at {}",
            server.query
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    server
}

/// A SPARQL query to a query endpoint whose one answer is `?n`.
pub fn count_query(endpoint: &str, query: &str) -> Option<u64> {
    let v: serde_json::Value = reqwest::blocking::Client::new()
        .post(endpoint)
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

/// Sends the store to a new server of `engine` in `dir` by a `[[publish_to]]` target added to
/// the settings file `config` (made if there is none) and `fivestar sync`; `store` names the
/// store when the settings do not.
fn send_to_backend(engine: Engine, dir: &Path, config: &Path, store: Option<&str>) -> External {
    let server = external(engine, &dir.join("backend-server"));
    let mut text = std::fs::read_to_string(config).unwrap_or_default();
    text.push_str(&server.target("backend", &server.url, ""));
    std::fs::write(config, text).unwrap();
    let mut sync = Command::new(bin());
    with_credentials(&mut sync)
        .current_dir(dir)
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
        backend().map(|e| send_to_backend(e, &dir, &dir.join("fivestar.toml"), Some(store_s)));
    let query = backend.as_ref().map(|b| b.query.clone());
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
    pub backend: Option<External>,
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
            backend().map(|e| send_to_backend(e, &self.0, &self.0.join("fivestar.toml"), None));
        let query = backend.as_ref().map(|b| b.query.clone());
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
