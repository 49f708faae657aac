//! A live instance: the file in the store folder that names it (`instance.json`, written by
//! `serve` and `schedule` once they listen, removed when they stop), and the client the other
//! commands use to go through its admin API instead of opening the store.
//!
//! A file left by a killed process is recognised as stale (the process is gone, is a zombie,
//! or is another process that reused its id: the start time recorded differs) and removed.

use crate::Failure;
use anyhow::anyhow;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const FILE: &str = "instance.json";

/// What `instance.json` says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceFile {
    pub pid: u32,
    /// The process's start time (clock ticks after boot, from /proc): tells a reused id.
    pub start_ticks: Option<u64>,
    /// The public site, e.g. http://127.0.0.1:7878
    pub public: String,
    /// Where the admin API listens (the public address unless `admin_bind` is set).
    pub admin: String,
    pub base: String,
    pub fivestar: String,
    pub started: String,
    /// A read replica (`serve --read-only`): it changes nothing, so commands that change a
    /// store are refused rather than sent to it.
    #[serde(default)]
    pub read_only: bool,
}

/// A process's start time, if it is alive (a zombie is not).
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is the state (field 3); the start time is field 22.
    if matches!(fields.first(), Some(&"Z") | Some(&"X")) {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Removes `instance.json` when the instance stops, if it still names this process.
pub struct Announced(PathBuf);

impl Drop for Announced {
    fn drop(&mut self) {
        let ours = std::fs::read_to_string(&self.0)
            .ok()
            .and_then(|t| serde_json::from_str::<InstanceFile>(&t).ok())
            .is_some_and(|f| f.pid == std::process::id());
        if ours {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// Writes `instance.json` for this process (atomically).
pub fn announce(
    store_dir: &Path,
    public: std::net::SocketAddr,
    admin: std::net::SocketAddr,
    base: &str,
    read_only: bool,
) -> anyhow::Result<Announced> {
    let pid = std::process::id();
    let file = InstanceFile {
        pid,
        start_ticks: process_start(pid),
        public: format!("http://{public}"),
        admin: format!("http://{admin}"),
        base: base.to_string(),
        fivestar: env!("CARGO_PKG_VERSION").to_string(),
        started: fivestar_store::now_utc().1,
        read_only,
    };
    let path = store_dir.join(FILE);
    let tmp = store_dir.join(format!(".{FILE}.{pid}.tmp"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(&file)?)?;
    std::fs::rename(&tmp, &path)?;
    Ok(Announced(path))
}

/// The live instance that holds the store in `store_dir`, if any. A stale file is removed.
pub fn find(store_dir: &Path) -> Option<InstanceFile> {
    let path = store_dir.join(FILE);
    let text = std::fs::read_to_string(&path).ok()?;
    let alive = serde_json::from_str::<InstanceFile>(&text)
        .ok()
        .filter(|f| {
            let now = process_start(f.pid);
            now.is_some() && (f.start_ticks.is_none() || now == f.start_ticks)
        });
    if alive.is_none() {
        tracing::info!("removing {}: its instance is gone", path.display());
        let _ = std::fs::remove_file(&path);
    }
    alive
}

/// A client of a live instance's admin API.
pub struct Client {
    http: reqwest::blocking::Client,
    pub instance: InstanceFile,
    token: String,
    env: String,
}

/// An error of the admin API (exit status 2, like every usage or environment error).
fn failure(message: String) -> Failure {
    Failure {
        code: 2,
        error: anyhow!(message),
    }
}

impl Client {
    /// The client for the instance holding the store in `store_dir` (`None`: no instance is
    /// running, open the store directly). `what` names the command, for messages.
    pub fn connect(store_dir: &Path, what: &str) -> Result<Option<Client>, Failure> {
        let Some(instance) = find(store_dir) else {
            return Ok(None);
        };
        if instance.read_only {
            return Err(failure(format!(
                "the store in {} is served read-only by process {} ({}), a replica: `fivestar {what}` goes to the store it was copied from",
                store_dir.display(),
                instance.pid,
                instance.public
            )));
        }
        let env = crate::instance().admin_token_env.clone();
        let token = std::env::var(&env).unwrap_or_default();
        if token.is_empty() {
            return Err(failure(format!(
                "the store in {} is held by a running instance (process {}, {}): set {env} to its admin token so that `fivestar {what}` goes through its admin API",
                store_dir.display(),
                instance.pid,
                instance.public
            )));
        }
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(None)
            .build()
            .map_err(|e| failure(format!("an HTTP client: {e}")))?;
        Ok(Some(Client {
            http,
            instance,
            token,
            env,
        }))
    }

    fn url(&self, path: &str) -> String {
        format!("{}/admin/api/{path}", self.instance.admin)
    }

    /// Sends a request and reads its JSON answer; errors name the variable (401) or carry
    /// the instance's message.
    fn send(&self, req: reqwest::blocking::RequestBuilder) -> Result<(u16, Value), Failure> {
        let resp = req.bearer_auth(&self.token).send().map_err(|e| {
            failure(format!(
                "the instance (process {}) holds the store but its admin API at {} does not answer: {e}",
                self.instance.pid, self.instance.admin
            ))
        })?;
        let status = resp.status().as_u16();
        let body: Value = resp.json().unwrap_or(Value::Null);
        let message = body["error"].as_str().unwrap_or("").to_string();
        match status {
            200..=299 => Ok((status, body)),
            401 => Err(failure(format!(
                "the instance at {} refused the admin token in {}: {message}",
                self.instance.admin, self.env
            ))),
            _ => Err(failure(format!(
                "the instance at {} answered {status}: {message}",
                self.instance.admin
            ))),
        }
    }

    pub fn get(&self, path: &str) -> Result<Value, Failure> {
        self.send(self.http.get(self.url(path))).map(|r| r.1)
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<Value, Failure> {
        self.send(self.http.post(self.url(path)).json(body))
            .map(|r| r.1)
    }

    pub fn delete(&self, path: &str) -> Result<Value, Failure> {
        self.send(self.http.delete(self.url(path))).map(|r| r.1)
    }

    pub fn upload(
        &self,
        path: &str,
        form: reqwest::blocking::multipart::Form,
    ) -> Result<Value, Failure> {
        self.send(self.http.post(self.url(path)).multipart(form))
            .map(|r| r.1)
    }

    /// Follows a job until it ends, telling `on_progress` each change of stage or count;
    /// returns the ended job.
    pub fn follow(
        &self,
        started: &Value,
        mut on_progress: impl FnMut(&Value),
    ) -> Result<Value, Failure> {
        let id = started["job"]
            .as_str()
            .ok_or_else(|| failure(format!("the instance started no job: {started}")))?;
        let mut last = Value::Null;
        loop {
            let job = self.get(&format!("runs/{id}"))?;
            let seen = (
                job["stage"].clone(),
                job["done"].clone(),
                job["total"].clone(),
            );
            if seen
                != (
                    last["stage"].clone(),
                    last["done"].clone(),
                    last["total"].clone(),
                )
            {
                on_progress(&job);
            }
            if job["state"] != "running" {
                return Ok(job);
            }
            last = job;
            std::thread::sleep(Duration::from_millis(150));
        }
    }
}

/// The instance holding the store, for commands that only read the public view (no token
/// needed): its public address.
pub fn public_address(store_dir: &Path) -> Option<String> {
    find(store_dir).map(|f| f.public)
}

/// A failed job's message.
pub fn job_error(job: &Value) -> Failure {
    failure(format!(
        "the instance's job {} failed: {}",
        job["id"].as_str().unwrap_or("?"),
        job["error"].as_str().unwrap_or("no message")
    ))
}
