//! The admin API of a live instance, under `/admin/api/` (JSON): everything that changes the
//! store goes through here while the site is up, because one process owns the store.
//!
//! Every request under `/admin/` needs `Authorization: Bearer TOKEN`, the token being the
//! value of the environment variable that `admin_token_env` names when the instance started
//! (compared in constant time, through its sha256). Without a token configured the admin API is
//! off and says so; an anonymous request always gets 401, never 404 or 200. The token is never
//! logged, echoed or put in a cookie.
//!
//! | method and path | what |
//! |---|---|
//! | `GET instance` | version, process, base IRI, store and pipelines folders, limits |
//! | `GET datasets` | datasets and their releases, from the catalogue |
//! | `POST runs` | run a pipeline: JSON `{"pipeline": ID, "force", "validate"}` (the instance's pipelines folder), or multipart: `pipeline` (the file), `file` parts (the files it names, by their relative paths), `force`, `validate`; 202 with the job |
//! | `GET runs`, `GET runs/{id}` | jobs: stage, progress, then the outcome and report |
//! | `POST releases` | publish a release converted elsewhere (`fivestar publish`): multipart `request` (JSON), `ntriples` (may be gzipped), `csv`, `metadata`; 202 with the job |
//! | `POST datasets/{id}/rollback` | `{"release": R}`: make R live |
//! | `POST datasets/{id}/withdraw` | take the dataset off the public view, here and on each `[[publish_to]]` target's live view, at once; the rest of the targets' catalogues follows in a sync job (`sync_job`) |
//! | `DELETE datasets/{id}/releases/{r}` | delete a release that is not live |
//! | `POST backup` | `{"dir": ABSOLUTE PATH}` (missing or empty): 202 with the job |
//! | `POST publish-to/sync` | bring every `[[publish_to]]` target to the live state: 202 with the job |
//!
//! Rollback, withdraw and removal answer with `publish_to`: what each target made of it.
//!
//! Uploads are streamed to `{store}/uploads/` under a body limit, and removed when their job
//! ends; a run keeps its source under `sources/` by sha256 like a fetched one.

// Handlers return early with a ready `Response` as the error (axum's idiom); boxing it would
// buy nothing on these cold paths.
#![allow(clippy::result_large_err)]

use crate::AppState;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use fivestar_pipeline::jobs::{Done, Jobs};
use fivestar_pipeline::{Instance, Pipeline, RunOptions};
use fivestar_store::audit::Entry;
use fivestar_store::{DatasetInfo, Provenance, PublishRequest, Publisher};
use serde::Deserialize;
use serde_json::json;
use sha2::Digest;
use std::path::PathBuf;
use std::sync::Arc;

/// Tokens shorter than this leave the admin API off.
pub const MIN_TOKEN_LEN: usize = 16;

/// The admin side's settings and state.
pub struct Admin {
    /// sha256 of the token; `None`: the admin API is off.
    token: Option<[u8; 32]>,
    /// sha256 of the token that opens `/metrics` on an instance whose admin API is off (a
    /// replica or a read server): it opens nothing else.
    metrics_token: Option<[u8; 32]>,
    /// Why it is off, for the 401 answer.
    off: String,
    /// Instance settings: the pipelines folder, fetch limits.
    pub instance: Arc<Instance>,
    pub jobs: Arc<Jobs>,
    /// The largest upload accepted, in bytes.
    pub upload_limit: u64,
    /// The admin API is served on its own address (`admin_bind`), not beside the public site.
    pub separate: bool,
    /// When the instance started (xsd:dateTime).
    pub started: String,
}

impl Admin {
    /// The admin API off for `reason` (say, a read-only replica), whatever the token.
    pub fn off(instance: Arc<Instance>, reason: &str) -> Admin {
        let mut admin = Admin::new(instance, "", None);
        admin.off = reason.to_string();
        admin
    }

    /// As [`Admin::off`], with `token` (if long enough) still opening `/metrics`: a read
    /// server is watched like any other.
    pub fn off_but_metrics(instance: Arc<Instance>, reason: &str, token: Option<String>) -> Admin {
        let mut admin = Admin::off(instance, reason);
        admin.metrics_token = token
            .filter(|t| t.chars().count() >= MIN_TOKEN_LEN)
            .map(|t| sha2::Sha256::digest(t.as_bytes()).into());
        admin
    }

    /// The admin side, on when `token` (the value of the variable named `token_env`) is long
    /// enough.
    pub fn new(instance: Arc<Instance>, token_env: &str, token: Option<String>) -> Admin {
        let (token, off) = match token.filter(|t| !t.is_empty()) {
            None => (
                None,
                format!("the admin API is off: start the instance with {token_env} set to a secret token"),
            ),
            Some(t) if t.chars().count() < MIN_TOKEN_LEN => (
                None,
                format!("the admin API is off: {token_env} is shorter than {MIN_TOKEN_LEN} characters"),
            ),
            Some(t) => (Some(sha2::Sha256::digest(t.as_bytes()).into()), String::new()),
        };
        Admin {
            metrics_token: token,
            token,
            off,
            upload_limit: instance.admin_upload_max_bytes,
            instance,
            jobs: Arc::default(),
            separate: false,
            started: fivestar_store::now_utc().1,
        }
    }

    /// Whether the admin API is on.
    pub fn is_on(&self) -> bool {
        self.token.is_some()
    }

    /// Why the admin API is off (empty when it is on).
    pub fn off_reason(&self) -> &str {
        &self.off
    }

    /// Whether the request carries the admin token (`Authorization: Bearer TOKEN`).
    pub fn authenticates(&self, headers: &HeaderMap) -> bool {
        bearer(headers).is_some_and(|t| self.accepts(t))
    }

    /// Whether `given` is the admin token (the workspace's sign-in with the token).
    pub fn accepts_token(&self, given: &str) -> bool {
        self.accepts(given)
    }

    /// Whether the request may read `/metrics`: the admin token, or on an instance whose
    /// admin API is off, the token it was started with.
    pub fn authenticates_metrics(&self, headers: &HeaderMap) -> bool {
        bearer(headers).is_some_and(|t| same_hash(self.metrics_token.as_ref(), t))
    }

    /// Whether `given` is the token, in time that does not depend on where they differ.
    fn accepts(&self, given: &str) -> bool {
        same_hash(self.token.as_ref(), given)
    }
}

/// Whether `given` hashes to `want`, in time that does not depend on where they differ.
fn same_hash(want: Option<&[u8; 32]>, given: &str) -> bool {
    let Some(want) = want else {
        return false;
    };
    let got: [u8; 32] = sha2::Sha256::digest(given.as_bytes()).into();
    want.iter()
        .zip(got.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// A JSON error.
fn fail(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn unauthorized(message: &str) -> Response {
    let mut r = fail(StatusCode::UNAUTHORIZED, message);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"fivestar admin\""),
    );
    r
}

/// The bearer token of a request.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

fn is_admin_path(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

/// The JSON API (bearer token) rather than the workspace's pages (session cookie).
fn is_api_path(path: &str) -> bool {
    path == "/admin/api" || path.starts_with("/admin/api/")
}

/// Guards `/admin/…` on every listener: anonymous or wrong → 401; the public listener of an
/// instance whose admin API has its own address → 403 once authenticated.
pub async fn guard(
    State(st): State<Arc<AppState>>,
    admin_here: bool,
    req: Request,
    next: Next,
) -> Response {
    match refusal(&st, admin_here, &req) {
        Some(refused) => refused,
        None => next.run(req).await,
    }
}

/// What [`guard`] answers instead of the request, or `None` to let it through.
pub fn refusal(st: &AppState, admin_here: bool, req: &Request) -> Option<Response> {
    if !is_admin_path(req.uri().path()) {
        return None;
    }
    if !is_api_path(req.uri().path()) {
        // The workspace: its pages ask for a session themselves; it lives where the API does.
        if !admin_here {
            return Some(fail(
                StatusCode::FORBIDDEN,
                "the workspace is served on the admin address (admin_bind), not here",
            ));
        }
        return None;
    }
    if !st.admin.is_on() {
        return Some(unauthorized(&st.admin.off));
    }
    match bearer(req.headers()) {
        None => Some(unauthorized(
            "the admin API needs Authorization: Bearer TOKEN",
        )),
        Some(t) if !st.admin.accepts(t) => Some(unauthorized("the admin token is not right")),
        Some(_) if !admin_here => Some(fail(
            StatusCode::FORBIDDEN,
            "the admin API is served on its own address (admin_bind), not here",
        )),
        Some(_) => None,
    }
}

/// The admin routes (guarded by [`guard`], layered by the caller). Uploads may be up to
/// `upload_limit` bytes (plus room for the multipart framing); other bodies keep axum's
/// default limit.
pub fn routes(upload_limit: u64) -> Router<Arc<AppState>> {
    let framing = 1 << 20;
    let uploads = DefaultBodyLimit::max(
        usize::try_from(upload_limit.saturating_add(framing)).unwrap_or(usize::MAX),
    );
    Router::new()
        .route("/admin/api/instance", get(instance))
        .route("/admin/api/datasets", get(datasets))
        .route(
            "/admin/api/runs",
            get(list_jobs).post(start_run).layer(uploads),
        )
        .route("/admin/api/runs/{id}", get(job))
        .route("/admin/api/releases", post(publish_release).layer(uploads))
        .route("/admin/api/datasets/{id}/rollback", post(rollback))
        .route("/admin/api/datasets/{id}/withdraw", post(withdraw))
        .route(
            "/admin/api/datasets/{id}/releases/{release}",
            delete(remove_release),
        )
        .route("/admin/api/backup", post(backup))
        .route("/admin/api/publish-to/sync", post(sync_mirrors))
        .route("/admin/api", axum::routing::any(admin_not_found))
        .route("/admin/api/{*rest}", axum::routing::any(admin_not_found))
}

async fn admin_not_found() -> Response {
    fail(StatusCode::NOT_FOUND, "no such admin operation")
}

/// Runs blocking store work; errors become JSON.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Response> + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())))
}

fn internal(e: impl std::fmt::Display) -> Response {
    fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

async fn instance(State(st): State<Arc<AppState>>) -> Response {
    let abs = |p: &std::path::Path| {
        std::fs::canonicalize(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .display()
            .to_string()
    };
    Json(json!({
        "fivestar": env!("CARGO_PKG_VERSION"),
        "pid": std::process::id(),
        "started": st.admin.started,
        "base": st.store.layout().base(),
        "store": abs(st.store.dir()),
        "pipelines": abs(&st.admin.instance.pipelines),
        "upload_limit": st.admin.upload_limit,
        "jobs_running": st.admin.jobs.busy(),
    }))
    .into_response()
}

async fn datasets(State(st): State<Arc<AppState>>) -> Response {
    let st2 = st.clone();
    match blocking(move || st2.store.datasets().map_err(internal)).await {
        Ok(d) => Json(d).into_response(),
        Err(r) => r,
    }
}

async fn list_jobs(State(st): State<Arc<AppState>>) -> Response {
    Json(st.admin.jobs.list()).into_response()
}

async fn job(State(st): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match st.admin.jobs.get(&id) {
        Some(j) => Json(j).into_response(),
        None => fail(StatusCode::NOT_FOUND, format!("no job {id:?}")),
    }
}

fn accepted(id: &str) -> Response {
    let mut r = (
        StatusCode::ACCEPTED,
        Json(json!({ "job": id, "follow": format!("/admin/api/runs/{id}") })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/admin/api/runs/{id}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A folder for one upload under `{store}/uploads/`, removed when dropped unless kept.
pub(crate) struct UploadDir {
    path: PathBuf,
    keep: bool,
}

impl UploadDir {
    pub(crate) fn new(st: &AppState) -> Result<UploadDir, Response> {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = st.store.layout().uploads().join(format!(
            "{}-{}-{n}",
            fivestar_store::now_utc().0,
            std::process::id()
        ));
        std::fs::create_dir_all(&path).map_err(internal)?;
        Ok(UploadDir { path, keep: false })
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Hands the folder over to a job, which removes it when done.
    fn hand_over(mut self) -> PathBuf {
        self.keep = true;
        self.path.clone()
    }
}

impl Drop for UploadDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The last part of an uploaded file's name, safe as a file name on disk.
pub(crate) fn safe_base_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect::<String>()
        .trim_start_matches('.')
        .to_string();
    if clean.is_empty() {
        "file".into()
    } else {
        clean
    }
}

/// A multipart upload saved to disk: text fields, and files by their part name.
#[derive(Default)]
pub(crate) struct Upload {
    pub(crate) fields: std::collections::HashMap<String, String>,
    /// (part name, file name as sent, where it was saved).
    pub(crate) files: Vec<(String, String, PathBuf)>,
}

fn multipart_error(e: axum::extract::multipart::MultipartError, limit: u64) -> Response {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        fail(
            status,
            format!(
                "the upload is larger than the limit of {limit} bytes (admin_upload_max_bytes)"
            ),
        )
    } else {
        fail(status, format!("a malformed upload: {}", e.body_text()))
    }
}

/// Streams every part of `mp` to `dir` (files) or memory (short text fields), within `limit`
/// bytes in all. The n-th file part is saved as `dir/n/{the last part of its file name}`: the
/// name as sent is only a label.
pub(crate) async fn save_upload(
    mut mp: Multipart,
    dir: &std::path::Path,
    limit: u64,
) -> Result<Upload, Response> {
    use tokio::io::AsyncWriteExt;
    let mut up = Upload::default();
    let mut total: u64 = 0;
    while let Some(mut field) = mp
        .next_field()
        .await
        .map_err(|e| multipart_error(e, limit))?
    {
        let name = field.name().unwrap_or_default().to_string();
        match field.file_name().map(str::to_string) {
            None => {
                // Short text fields (flags, the release request): read up to 1 MiB.
                let mut bytes = Vec::new();
                while let Some(chunk) =
                    field.chunk().await.map_err(|e| multipart_error(e, limit))?
                {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > 1 << 20 {
                        return Err(fail(
                            StatusCode::BAD_REQUEST,
                            format!("field {name:?} is longer than 1 MiB"),
                        ));
                    }
                }
                let text = String::from_utf8(bytes).map_err(|_| {
                    fail(
                        StatusCode::BAD_REQUEST,
                        format!("field {name:?} is not UTF-8 text"),
                    )
                })?;
                up.fields.insert(name, text);
            }
            Some(file) => {
                if up.files.len() >= 64 {
                    return Err(fail(
                        StatusCode::BAD_REQUEST,
                        "more than 64 files in one upload",
                    ));
                }
                if up.files.iter().any(|(n, f, _)| n == &name && f == &file) {
                    return Err(fail(
                        StatusCode::BAD_REQUEST,
                        format!("{file:?} is uploaded twice"),
                    ));
                }
                let path = dir
                    .join(up.files.len().to_string())
                    .join(safe_base_name(&file));
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent).await.map_err(internal)?;
                }
                let mut out = tokio::fs::File::create(&path).await.map_err(internal)?;
                while let Some(chunk) =
                    field.chunk().await.map_err(|e| multipart_error(e, limit))?
                {
                    total += chunk.len() as u64;
                    if total > limit {
                        return Err(fail(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            format!("the upload is larger than the limit of {limit} bytes (admin_upload_max_bytes)"),
                        ));
                    }
                    out.write_all(&chunk).await.map_err(internal)?;
                }
                out.flush().await.map_err(internal)?;
                up.files.push((name, file, path));
            }
        }
    }
    Ok(up)
}

fn flag(v: Option<&String>) -> bool {
    v.is_some_and(|v| matches!(v.trim(), "true" | "1" | "yes" | "on"))
}

#[derive(Deserialize)]
struct RunByName {
    pipeline: String,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    validate: bool,
}

/// `POST runs`: a pipeline of the instance by id (JSON), or an uploaded one (multipart).
async fn start_run(State(st): State<Arc<AppState>>, headers: HeaderMap, req: Request) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (pipeline, options, upload) = if is_json {
        let body = match axum::body::to_bytes(req.into_body(), 1 << 20).await {
            Ok(b) => b,
            Err(_) => return fail(StatusCode::PAYLOAD_TOO_LARGE, "the request is too large"),
        };
        let ask: RunByName = match serde_json::from_slice(&body) {
            Ok(a) => a,
            Err(e) => return fail(StatusCode::BAD_REQUEST, format!("a malformed request: {e}")),
        };
        let folder = st.admin.instance.pipelines.clone();
        let id = ask.pipeline.clone();
        let found = blocking(move || find_pipeline(&folder, &id)).await;
        match found {
            Ok(p) => (
                p,
                RunOptions {
                    force: ask.force,
                    validate_only: ask.validate,
                },
                None,
            ),
            Err(r) => return r,
        }
    } else {
        let (dir, up) = match receive(req, &st).await {
            Ok(r) => r,
            Err(r) => return r,
        };
        let Some((_, name, path)) = up.files.iter().find(|(n, _, _)| n == "pipeline").cloned()
        else {
            return fail(
                StatusCode::BAD_REQUEST,
                "no pipeline: send the pipeline file as the part named \"pipeline\"",
            );
        };
        let files: std::collections::HashMap<String, PathBuf> = up
            .files
            .iter()
            .filter(|(n, _, _)| n == "file")
            .map(|(_, f, p)| (f.clone(), p.clone()))
            .collect();
        let root = dir.path.clone();
        let loaded = blocking(move || {
            Pipeline::load_uploaded(&path, &name, &files).map_err(|e| {
                // Name files as uploaded, not where they wait.
                let msg = e.to_string().replace(&format!("{}/", root.display()), "");
                fail(StatusCode::BAD_REQUEST, msg)
            })
        })
        .await;
        let p = match loaded {
            Ok(p) => p,
            Err(r) => return r,
        };
        let options = RunOptions {
            force: flag(up.fields.get("force")),
            validate_only: flag(up.fields.get("validate")),
        };
        (p, options, Some(dir.hand_over()))
    };
    let id = start_pipeline_job(&st, pipeline, options, upload, None);
    accepted(&id)
}

/// Starts a run of `pipeline` as a job (its upload folder removed when it ends); returns the
/// job's id. The audit log records the outcome, under `who` (None: the admin token).
pub(crate) fn start_pipeline_job(
    st: &Arc<AppState>,
    pipeline: Pipeline,
    options: RunOptions,
    upload: Option<PathBuf>,
    who: Option<String>,
) -> String {
    let kind = if options.validate_only {
        "validate"
    } else {
        "run"
    };
    let st2 = st.clone();
    let dataset = pipeline.id.clone();
    st.admin.jobs.start(kind, Some(&dataset), move |progress| {
        let ctx = fivestar_pipeline::Context {
            instance: &st2.admin.instance,
            layout: st2.store.layout(),
            publisher: Some(&st2.store as &dyn Publisher),
            progress,
        };
        let report = fivestar_pipeline::run(&ctx, &pipeline, options);
        if let Some(dir) = upload {
            let _ = std::fs::remove_dir_all(dir);
        }
        let mut entry = Entry::now(who.as_deref().unwrap_or(TOKEN_USER), kind)
            .dataset(&pipeline.id)
            .detail(format!("run {}: {}", report.run, report.outcome.name()));
        if let Some(r) = &report.release {
            entry = entry.release(r);
        }
        record(&st2, &entry);
        Ok(Done {
            outcome: Some(report.outcome),
            result: serde_json::to_value(&report).map_err(|e| e.to_string())?,
        })
    })
}

/// Who the audit log names for the bearer token.
pub const TOKEN_USER: &str = "admin token";

/// Records an admin action; a log that cannot be written is logged, not fatal.
pub(crate) fn record(st: &AppState, entry: &Entry) {
    if let Err(e) = fivestar_store::audit::record(st.store.layout(), entry) {
        tracing::error!(error = %e, "cannot write the audit log");
    }
}

/// The pipeline with id `id` in the instance's pipelines folder (read afresh).
pub(crate) fn find_pipeline(folder: &std::path::Path, id: &str) -> Result<Pipeline, Response> {
    let files = Pipeline::discover(folder).map_err(internal)?;
    let mut broken = Vec::new();
    for f in files {
        match Pipeline::load(&f) {
            Ok(p) if p.id == id => return Ok(p),
            Ok(_) => {}
            Err(e) => broken.push(e.to_string()),
        }
    }
    let mut msg = format!(
        "no pipeline {id:?} in {} (upload the pipeline file instead)",
        folder.display()
    );
    if !broken.is_empty() {
        msg.push_str(&format!("; unreadable: {}", broken.join("; ")));
    }
    Err(fail(StatusCode::NOT_FOUND, msg))
}

/// What `POST releases` describes in its `request` part.
#[derive(Deserialize)]
struct ReleaseRequest {
    dataset: DatasetInfo,
    release: String,
    #[serde(default)]
    provenance: Provenance,
    generated_at: Option<String>,
}

async fn publish_release(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let (dir, up) = match receive(req, &st).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let Some(text) = up.fields.get("request") else {
        return fail(
            StatusCode::BAD_REQUEST,
            "no \"request\" part (JSON: dataset, release, provenance)",
        );
    };
    let ask: ReleaseRequest = match serde_json::from_str(text) {
        Ok(a) => a,
        Err(e) => {
            return fail(
                StatusCode::BAD_REQUEST,
                format!("the \"request\" part: {e}"),
            )
        }
    };
    for (kind, s) in [
        ("dataset id", &ask.dataset.id),
        ("release id", &ask.release),
    ] {
        if let Err(e) = fivestar_store::check_slug(kind, s) {
            return fail(StatusCode::BAD_REQUEST, e.to_string());
        }
    }
    for (key, iri) in [
        ("licence", Some(&ask.dataset.licence)),
        ("publisher", ask.dataset.publisher.as_ref()),
    ] {
        if let Some(iri) = iri {
            if !(iri.starts_with("http://") || iri.starts_with("https://"))
                || url::Url::parse(iri).is_err()
            {
                return fail(
                    StatusCode::BAD_REQUEST,
                    format!("{key} {iri:?} is not an http(s) IRI"),
                );
            }
        }
    }
    let part = |name: &str| {
        up.files
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, p)| p.clone())
    };
    let Some(nt) = part("ntriples") else {
        return fail(StatusCode::BAD_REQUEST, "no \"ntriples\" file part");
    };
    let csv = match (part("csv"), part("metadata")) {
        (Some(c), Some(m)) => Some((c, m)),
        (None, None) => None,
        _ => {
            return fail(
                StatusCode::BAD_REQUEST,
                "send \"csv\" and \"metadata\" together, or neither",
            )
        }
    };
    let (st2, dataset, release) = (st.clone(), ask.dataset.id.clone(), ask.release.clone());
    let exists = blocking(move || {
        let d = st2.store.datasets().map_err(internal)?;
        Ok(d.iter()
            .any(|d| d.id == dataset && d.releases.iter().any(|r| r.release == release)))
    })
    .await;
    match exists {
        Ok(true) => {
            return fail(
                StatusCode::CONFLICT,
                format!("release {}/{} exists already", ask.dataset.id, ask.release),
            )
        }
        Ok(false) => {}
        Err(r) => return r,
    }
    let folder = dir.hand_over();
    let st2 = st.clone();
    let dataset = ask.dataset.id.clone();
    let id = st
        .admin
        .jobs
        .start("publish", Some(&dataset), move |progress| {
            let result = (|| {
                let nt = ungzip(&nt)?;
                if let Some((csv, _)) = &csv {
                    fivestar_pipeline::run::keep_source_file(st2.store.layout(), csv)
                        .map_err(|e| format!("keeping the CSV under sources/: {e}"))?;
                }
                progress.stage(&ask.dataset.id, fivestar_pipeline::Stage::Load, None);
                let request = PublishRequest {
                    dataset: ask.dataset.clone(),
                    release: ask.release.clone(),
                    // Uploaded: checked as it is parsed.
                    triples: fivestar_store::Triples::file(nt),
                    csv,
                    provenance: ask.provenance.clone(),
                    generated_at: ask
                        .generated_at
                        .clone()
                        .unwrap_or_else(|| fivestar_store::now_utc().1),
                    progress: Some(fivestar_store::LoadProgress({
                        let (p, d) = (progress.clone(), ask.dataset.id.clone());
                        Arc::new(move |n| p.advance(&d, n))
                    })),
                    linked: None,
                    identity: None,
                    figures: Vec::new(),
                    summaries: Vec::new(),
                };
                let info = fivestar_pipeline::run::publish_one(&st2.store, &request)
                    .map_err(|e| e.to_string())?;
                record(
                    &st2,
                    &Entry::now(TOKEN_USER, "publish release")
                        .dataset(&ask.dataset.id)
                        .release(&ask.release),
                );
                serde_json::to_value(&info).map_err(|e| e.to_string())
            })();
            let _ = std::fs::remove_dir_all(&folder);
            result.map(|r| Done {
                outcome: None,
                result: r,
            })
        });
    accepted(&id)
}

/// Decompresses an uploaded N-Triples file if it is gzipped; returns the plain file.
fn ungzip(path: &std::path::Path) -> Result<PathBuf, String> {
    use std::io::Read;
    let mut magic = [0u8; 2];
    let gz = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut magic))
        .map_err(|e| e.to_string())?
        == 2
        && magic == [0x1f, 0x8b];
    if !gz {
        return Ok(path.to_path_buf());
    }
    let out = path.with_extension("plain.nt");
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut dec = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file));
    let mut w = std::io::BufWriter::new(std::fs::File::create(&out).map_err(|e| e.to_string())?);
    std::io::copy(&mut dec, &mut w).map_err(|e| format!("the ntriples part: {e}"))?;
    Ok(out)
}

/// The dataset, or 404.
fn known(st: &AppState, dataset: &str) -> Result<fivestar_store::DatasetState, Response> {
    st.store
        .datasets()
        .map_err(internal)?
        .into_iter()
        .find(|d| d.id == dataset)
        .ok_or_else(|| {
            fail(
                StatusCode::NOT_FOUND,
                format!("no dataset {dataset:?} in the store"),
            )
        })
}

/// A JSON request body, or a 400 saying what is wrong with it.
fn json_body<T>(
    body: Result<Json<T>, axum::extract::rejection::JsonRejection>,
) -> Result<T, Response> {
    body.map(|Json(t)| t).map_err(|e| {
        fail(
            StatusCode::BAD_REQUEST,
            format!("a malformed request: {}", e.body_text()),
        )
    })
}

#[derive(Deserialize)]
struct RollbackTo {
    release: String,
}

async fn rollback(
    State(st): State<Arc<AppState>>,
    Path(dataset): Path<String>,
    body: Result<Json<RollbackTo>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let to = match json_body(body) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let st2 = st.clone();
    let done = blocking(move || {
        let d = known(&st2, &dataset)?;
        if !d.releases.iter().any(|r| r.release == to.release) {
            return Err(fail(
                StatusCode::NOT_FOUND,
                format!("no release {dataset}/{}", to.release),
            ));
        }
        let mirrors = st2
            .store
            .rollback(&dataset, &to.release)
            .map_err(internal)?;
        record(
            &st2,
            &Entry::now(TOKEN_USER, "rollback")
                .dataset(&dataset)
                .release(&to.release),
        );
        Ok(json!({ "dataset": dataset, "live": to.release, "publish_to": mirrors }))
    })
    .await;
    done.map(|v| Json(v).into_response()).unwrap_or_else(|r| r)
}

async fn withdraw(State(st): State<Arc<AppState>>, Path(dataset): Path<String>) -> Response {
    let st2 = st.clone();
    let done = blocking(move || {
        let d = known(&st2, &dataset)?;
        let mirrors = st2.store.withdraw(&dataset).map_err(internal)?;
        let mut e = Entry::now(TOKEN_USER, "withdraw").dataset(&dataset);
        if let Some(r) = &d.live {
            e = e.release(r);
        }
        record(&st2, &e);
        // Off here and off each target's live view: the answer goes now, and the rest of
        // the targets' catalogues follows in a sync job (which may wait for a slow target).
        let sync_job = (!st2.store.mirrors().is_empty()).then(|| start_sync(&st2));
        Ok(json!({ "dataset": dataset, "live": null, "publish_to": mirrors, "sync_job": sync_job }))
    })
    .await;
    done.map(|v| Json(v).into_response()).unwrap_or_else(|r| r)
}

async fn remove_release(
    State(st): State<Arc<AppState>>,
    Path((dataset, release)): Path<(String, String)>,
) -> Response {
    let st2 = st.clone();
    let done = blocking(move || {
        let d = known(&st2, &dataset)?;
        if !d.releases.iter().any(|r| r.release == release) {
            return Err(fail(
                StatusCode::NOT_FOUND,
                format!("no release {dataset}/{release}"),
            ));
        }
        if d.live.as_deref() == Some(release.as_str()) {
            return Err(fail(
                StatusCode::CONFLICT,
                format!("{dataset}/{release} is live: roll back or withdraw first"),
            ));
        }
        let mirrors = st2
            .store
            .remove_release(&dataset, &release)
            .map_err(internal)?;
        record(
            &st2,
            &Entry::now(TOKEN_USER, "remove release")
                .dataset(&dataset)
                .release(&release),
        );
        Ok(json!({ "dataset": dataset, "removed": release, "publish_to": mirrors }))
    })
    .await;
    done.map(|v| Json(v).into_response()).unwrap_or_else(|r| r)
}

#[derive(Deserialize)]
struct BackupTo {
    dir: PathBuf,
}

async fn backup(
    State(st): State<Arc<AppState>>,
    body: Result<Json<BackupTo>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let to = match json_body(body) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if !to.dir.is_absolute() {
        return fail(
            StatusCode::BAD_REQUEST,
            "dir: give an absolute path on the instance's machine",
        );
    }
    let st2 = st.clone();
    let id = st.admin.jobs.start("backup", None, move |_| {
        let info = st2.store.backup(&to.dir).map_err(|e| e.to_string())?;
        Ok(Done {
            outcome: None,
            result: json!({ "dir": to.dir, "backup": info }),
        })
    });
    accepted(&id)
}

/// Brings every `[[publish_to]]` target to the live state (after a target was down, or to
/// check one): a job, since sending a large release takes a while.
async fn sync_mirrors(State(st): State<Arc<AppState>>) -> Response {
    accepted(&start_sync(&st))
}

/// Starts a job bringing every `[[publish_to]]` target to the live state; its id.
pub(crate) fn start_sync(st: &Arc<AppState>) -> String {
    let st2 = st.clone();
    st.admin.jobs.start("publish-to sync", None, move |_| {
        let outcomes = st2.store.sync_mirrors();
        record(&st2, &Entry::now(TOKEN_USER, "publish_to sync"));
        Ok(Done {
            outcome: None,
            result: json!({ "publish_to": outcomes }),
        })
    })
}

/// Receives a multipart upload into a new upload folder (removed unless handed over).
async fn receive(req: Request, st: &Arc<AppState>) -> Result<(UploadDir, Upload), Response> {
    let mp = multipart_of(req, st).await?;
    let dir = UploadDir::new(st)?;
    let up = save_upload(mp, &dir.path, st.admin.upload_limit).await?;
    Ok((dir, up))
}

/// The multipart body of a request, with a JSON error if it is not one.
async fn multipart_of(req: Request, st: &Arc<AppState>) -> Result<Multipart, Response> {
    use axum::extract::FromRequest;
    Multipart::from_request(req, st).await.map_err(|e| {
        fail(
            StatusCode::BAD_REQUEST,
            format!("expected a multipart/form-data upload: {}", e.body_text()),
        )
    })
}
