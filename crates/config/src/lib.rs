//! Pipeline files (`pipelines/*.toml`, one per dataset) and the instance settings
//! (`fivestar.toml`). Errors name the file, the key and what is wrong.

use fivestar_tidy::{DateOrder, Format, ValueKind};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A problem with a configuration file.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub message: String,
}

fn err(file: &Path, message: impl Into<String>) -> ConfigError {
    ConfigError {
        file: file.display().to_string(),
        message: message.into(),
    }
}

/// Instance settings, from `fivestar.toml` at the root.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Instance {
    /// The base IRI every published IRI starts with (the site's public address).
    pub base_iri: String,
    /// The store folder.
    pub store: PathBuf,
    /// The address the site listens on.
    pub bind: String,
    /// The folder `run`, `schedule` and `status` look in for pipeline files.
    pub pipelines: PathBuf,
    /// The environment variable that holds the admin token (for the admin API).
    pub admin_token_env: String,
    /// The address the admin API listens on (`None`: beside the public site, on `bind`).
    pub admin_bind: Option<String>,
    /// The largest upload the admin API accepts (a pipeline's files, a release), in bytes.
    pub admin_upload_max_bytes: u64,
    /// The bulk loader's memory target when publishing, in megabytes: more is faster on
    /// large releases (fewer files for RocksDB to compact), less bounds memory. A release
    /// that would load in more than 16 batches gets up to four times it.
    pub loader_memory_mb: usize,
    /// Connections the site serves at once (beyond: 503); kept below the descriptor limit.
    pub max_connections: usize,
    /// A request's headers must arrive within this many seconds (idle connections close too).
    pub header_timeout_secs: f64,
    /// Queries a client may send to `/sparql` a minute (0: no limit).
    pub sparql_requests_per_minute: u32,
    /// Whether loopback clients are rate-limited too (they are exempt by default).
    pub rate_limit_loopback: bool,
    /// Reverse proxies (IP addresses) whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Whether `/metrics` is public (by default it needs the admin token).
    pub metrics_public: bool,
    pub fetch: FetchSettings,
    /// Other SPARQL 1.1 stores every change of the live state is copied to
    /// (`[[publish_to]]`, in the order written).
    pub publish_to: Vec<PublishTo>,
    /// The SPARQL 1.1 store `fivestar serve` answers from instead of its own (`[backend]`;
    /// `fivestar serve --backend URL` gives its query endpoint).
    pub backend: Option<Backend>,
}

/// The store a read server answers queries from (`[backend]` in `fivestar.toml`): a SPARQL
/// 1.1 query endpoint that a publishing machine's `[[publish_to]]` keeps up to date.
/// Credentials are read from the environment variables named here.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    /// The SPARQL query endpoint.
    pub query: String,
    /// Environment variables holding a user name and password (HTTP Basic or Digest, as the
    /// server asks).
    #[serde(default)]
    pub username_env: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    /// An environment variable holding a bearer token (instead of a user and password).
    #[serde(default)]
    pub token_env: Option<String>,
    /// How often the catalogue is read again from the backend, in seconds: a switch, rollback
    /// or withdraw made there reaches this server's pages, ETags and query datasets within it.
    #[serde(default = "default_backend_refresh")]
    pub refresh_secs: f64,
}

fn default_backend_refresh() -> f64 {
    1.0
}

impl Backend {
    /// A backend at `query`, with no credentials and the default refresh.
    pub fn at(query: &str) -> Backend {
        Backend {
            query: query.to_string(),
            username_env: None,
            password_env: None,
            token_env: None,
            refresh_secs: default_backend_refresh(),
        }
    }

    pub fn check(&self) -> Result<(), String> {
        let key = |k: &str| format!("key `backend.{k}`");
        check_http_url(&key("query"), &self.query)?;
        check_credentials(
            &key,
            &self.username_env,
            &self.password_env,
            &self.token_env,
        )?;
        check_seconds("backend.refresh_secs", self.refresh_secs, false)
    }
}

fn check_http_url(key: &str, v: &str) -> Result<(), String> {
    let ok = url::Url::parse(v)
        .ok()
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
    if ok {
        Ok(())
    } else {
        Err(format!("{key}: {v:?} is not an http(s) URL"))
    }
}

/// A user name and password (both names) or a bearer token, not both; each an environment
/// variable.
fn check_credentials(
    key: &dyn Fn(&str) -> String,
    username_env: &Option<String>,
    password_env: &Option<String>,
    token_env: &Option<String>,
) -> Result<(), String> {
    for (k, v) in [
        ("username_env", username_env),
        ("password_env", password_env),
        ("token_env", token_env),
    ] {
        if let Some(v) = v {
            if !is_env_name(v) {
                return Err(format!(
                    "{}: {v:?} is not an environment variable name (letters, digits, '_')",
                    key(k)
                ));
            }
        }
    }
    if username_env.is_some() != password_env.is_some() {
        return Err(format!(
            "{}: a user name and password need both `username_env` and `password_env`",
            key("username_env")
        ));
    }
    if token_env.is_some() && username_env.is_some() {
        return Err(format!(
            "{}: give a bearer token or a user name and password, not both",
            key("token_env")
        ));
    }
    Ok(())
}

/// A store the live state is copied to (`[[publish_to]]` in `fivestar.toml`): reached by the
/// SPARQL 1.1 Query, Update and Graph Store HTTP protocols. Credentials are read from the
/// environment variables named here, never written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishTo {
    /// A slug naming the target in reports and commands.
    pub name: String,
    /// The SPARQL query endpoint.
    pub query: String,
    /// The SPARQL update endpoint.
    pub update: String,
    /// The Graph Store HTTP Protocol endpoint (indirect identification: `?graph=IRI`).
    pub graph_store: String,
    /// Environment variables holding a user name and password (HTTP Basic or Digest, as the
    /// server asks).
    #[serde(default)]
    pub username_env: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    /// An environment variable holding a bearer token (instead of a user and password).
    #[serde(default)]
    pub token_env: Option<String>,
    /// One request's time limit (an upload of a large release is one request).
    #[serde(default = "default_remote_timeout")]
    pub timeout_secs: f64,
    /// Retries of a request that failed to connect or got a 5xx answer.
    #[serde(default = "default_remote_retries")]
    pub retries: u32,
    /// A withdraw's own time limit for each of its two small requests (the update taking the
    /// dataset off the target's live view, and the query checking it), tried at most twice: a
    /// target that does not answer must not hold the emergency action for `timeout_secs`.
    #[serde(default = "default_withdraw_timeout")]
    pub withdraw_timeout_secs: f64,
    /// Releases of each dataset kept on the target: the live one and the newest others, up to
    /// this many in all (a rollback to one of them is a switch, not an upload).
    #[serde(default = "default_remote_keep")]
    pub keep: usize,
}

fn default_remote_timeout() -> f64 {
    3600.0
}

fn default_withdraw_timeout() -> f64 {
    10.0
}

fn default_remote_retries() -> u32 {
    3
}

fn default_remote_keep() -> usize {
    2
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl PublishTo {
    fn check(&self) -> Result<(), String> {
        let key = |k: &str| format!("key `publish_to.{k}` of target {:?}", self.name);
        fivestar_site::check_slug("`publish_to.name`", &self.name)?;
        for (k, v) in [
            ("query", &self.query),
            ("update", &self.update),
            ("graph_store", &self.graph_store),
        ] {
            check_http_url(&key(k), v)?;
        }
        check_credentials(
            &key,
            &self.username_env,
            &self.password_env,
            &self.token_env,
        )?;
        check_seconds("publish_to.timeout_secs", self.timeout_secs, false)?;
        check_seconds(
            "publish_to.withdraw_timeout_secs",
            self.withdraw_timeout_secs,
            false,
        )?;
        if self.retries > 100 {
            return Err(format!(
                "{}: {} is too many (at most 100)",
                key("retries"),
                self.retries
            ));
        }
        if self.keep == 0 {
            return Err(format!(
                "{}: 0 would not keep the live release (at least 1)",
                key("keep")
            ));
        }
        Ok(())
    }
}

impl Default for Instance {
    fn default() -> Self {
        Instance {
            base_iri: "http://127.0.0.1:7878".into(),
            store: "data/store".into(),
            bind: "127.0.0.1:7878".into(),
            pipelines: "pipelines".into(),
            admin_token_env: "FIVESTAR_ADMIN_TOKEN".into(),
            admin_bind: None,
            admin_upload_max_bytes: 512 * 1024 * 1024,
            loader_memory_mb: fivestar_site::DEFAULT_LOADER_MEMORY_MB,
            max_connections: 4096,
            header_timeout_secs: 10.0,
            sparql_requests_per_minute: 600,
            rate_limit_loopback: false,
            trusted_proxies: Vec::new(),
            metrics_public: false,
            fetch: FetchSettings::default(),
            publish_to: Vec::new(),
            backend: None,
        }
    }
}

/// How sources are fetched (instance-wide defaults; a pipeline's `[source]` may override the
/// timeouts and the size limit).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchSettings {
    pub connect_timeout_secs: f64,
    /// For the whole request, body included.
    pub timeout_secs: f64,
    pub max_bytes: u64,
    /// Retries after the first attempt, on timeouts, 5xx and connection errors.
    pub retries: u32,
    /// The first retry waits about this long; each further one twice as long (with jitter).
    pub backoff_secs: f64,
    pub max_redirects: usize,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            connect_timeout_secs: 15.0,
            timeout_secs: 300.0,
            max_bytes: 512 * 1024 * 1024,
            retries: 3,
            backoff_secs: 2.0,
            max_redirects: 5,
        }
    }
}

impl Instance {
    /// Reads `path`; a missing file gives the defaults (the file is optional).
    pub fn load(path: &Path) -> Result<Instance, ConfigError> {
        Self::load_from(path, false)
    }

    /// Reads `path`; when `required` (a file named on the command line), a missing file is
    /// an error, else it gives the defaults.
    pub fn load_from(path: &Path, required: bool) -> Result<Instance, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(Instance::default())
            }
            Err(e) => return Err(err(path, e.to_string())),
        };
        Self::parse(path, &text)
    }

    /// Parses and checks the text of `fivestar.toml` (`path` names it in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Instance, ConfigError> {
        let mut inst: Instance = toml::from_str(text).map_err(|e| err(path, toml_message(&e)))?;
        inst.base_iri = fivestar_site::normalise_base(&inst.base_iri);
        if inst.loader_memory_mb < 64 {
            return Err(err(
                path,
                format!(
                    "key `loader_memory_mb`: {} is too small (at least 64)",
                    inst.loader_memory_mb
                ),
            ));
        }
        if inst.admin_upload_max_bytes == 0 {
            return Err(err(
                path,
                "key `admin_upload_max_bytes`: 0 would refuse every upload (at least 1)",
            ));
        }
        if !is_env_name(&inst.admin_token_env) {
            return Err(err(
                path,
                format!(
                    "key `admin_token_env`: {:?} is not an environment variable name (letters, digits, '_')",
                    inst.admin_token_env
                ),
            ));
        }
        if let Some(a) = &inst.admin_bind {
            if std::net::ToSocketAddrs::to_socket_addrs(a.as_str()).is_err() {
                return Err(err(
                    path,
                    format!(
                        "key `admin_bind`: {a:?} is not an address and port, like 127.0.0.1:7879"
                    ),
                ));
            }
        }
        check_web_iri(&inst.base_iri).map_err(|e| err(path, format!("key `base_iri`: {e}")))?;
        check_seconds("header_timeout_secs", inst.header_timeout_secs, false)
            .map_err(|e| err(path, e))?;
        if inst.max_connections < 16 {
            return Err(err(
                path,
                format!(
                    "key `max_connections`: {} is too few (at least 16)",
                    inst.max_connections
                ),
            ));
        }
        let f = &inst.fetch;
        check_seconds("fetch.connect_timeout_secs", f.connect_timeout_secs, false)
            .and_then(|()| check_seconds("fetch.timeout_secs", f.timeout_secs, false))
            .and_then(|()| check_seconds("fetch.backoff_secs", f.backoff_secs, true))
            .map_err(|e| err(path, e))?;
        if f.retries > 100 {
            return Err(err(
                path,
                format!(
                    "key `fetch.retries`: {} is too many (at most 100)",
                    f.retries
                ),
            ));
        }
        if f.max_redirects > 50 {
            return Err(err(
                path,
                format!(
                    "key `fetch.max_redirects`: {} is too many (at most 50)",
                    f.max_redirects
                ),
            ));
        }
        if f.max_bytes == 0 {
            return Err(err(
                path,
                "key `fetch.max_bytes`: 0 would refuse every source (at least 1)",
            ));
        }
        for (k, t) in inst.publish_to.iter().enumerate() {
            t.check().map_err(|e| err(path, e))?;
            if inst.publish_to[..k].iter().any(|o| o.name == t.name) {
                return Err(err(
                    path,
                    format!("two `[[publish_to]]` targets are named {:?}", t.name),
                ));
            }
        }
        if let Some(b) = &inst.backend {
            b.check().map_err(|e| err(path, e))?;
        }
        Ok(inst)
    }
}

/// An http(s) IRI with a host: what a base IRI or a licence must be (pages link to them, so
/// a `javascript:` or `data:` IRI is refused here).
pub fn check_web_iri(value: &str) -> Result<(), String> {
    let u =
        url::Url::parse(value).map_err(|e| format!("{value:?} is not an absolute IRI ({e})"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "{value:?} is not an http or https IRI (like https://council.example/data)"
        ));
    }
    Ok(())
}

/// Seconds within (0, a day], as a timeout must be.
fn check_seconds(name: &str, v: f64, zero_ok: bool) -> Result<(), String> {
    let low_ok = if zero_ok { v >= 0.0 } else { v > 0.0 };
    if !(v.is_finite() && low_ok && v <= 86_400.0) {
        return Err(format!(
            "key `{name}`: {v} is not a number of seconds from {} to 86400",
            if zero_ok { "0" } else { "just above 0" }
        ));
    }
    Ok(())
}

/// The message of a TOML error: the key path, line and column are in it.
fn toml_message(e: &toml::de::Error) -> String {
    e.to_string().trim_end().replace('\n', "\n  ")
}

/// The open licence used when a pipeline names none.
pub const OGL_V3: &str = fivestar_site::OGL_V3;

/// What to do with a column the personal-data screen flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Personal {
    /// Screen it: personal data blocks publication.
    #[default]
    Screen,
    /// The council has decided this column may be published (e.g. company names).
    Allow,
    /// Replace every value with `[redacted]` before publishing.
    Redact,
    /// Leave the column out: none of its values is published (its cells are emptied before
    /// anything is converted, so neither the clean CSV nor the RDF holds them).
    Drop,
}

/// What a column's values are linked to (see the `council` crate).
pub use fivestar_council::LinkKind;

/// The property a link column is published with when the pipeline names none.
pub const DEFAULT_LINK_PROPERTY: &str = "http://www.w3.org/2000/01/rdf-schema#seeAlso";

/// A column override in a pipeline file (`[columns.NAME]`, NAME being the mapping's column name
/// or title).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ColumnOverride {
    /// Further source headers that mean this column, preferred to the template's own aliases
    /// when several of the file's headers fit.
    pub aliases: Vec<String>,
    /// The one source header to read this column from (when several fit, or none of the
    /// aliases does): no other header is considered.
    pub source: Option<String>,
    /// How values are read: text, amount, integer, date, datetime.
    pub format: Option<ValueKind>,
    /// Day/month order of numeric dates: dmy or mdy.
    pub date_order: Option<DateOrder>,
    pub personal: Personal,
    /// Some values may name individuals among organisations (a sole trader among suppliers,
    /// say): the screen redacts the values that look like a person's name.
    pub may_name_individuals: bool,
    /// Every value names a person: publication is blocked unless `personal` is `allow` or
    /// `redact`.
    pub individuals: bool,
    /// Link the values to national identifiers.
    pub link: Option<LinkKind>,
    /// The property of the link column (default rdfs:seeAlso; templates name their own).
    pub link_property: Option<String>,
}

/// The pipeline's own rules, beyond the CSVW metadata.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Columns whose values must be unique.
    pub unique: Vec<String>,
    /// Columns that must be present and non-empty in every row.
    pub required: Vec<String>,
    /// The columns that identify a row (replacing the template's key): each row's URI is
    /// built from them, and two rows with the same values, or a row without them, are errors.
    pub key: Vec<String>,
    /// The share of the live release's rows a new release may lose (0 to 1; default 0.5):
    /// a source that shrinks more is refused unless the run is forced.
    pub allow_shrink: Option<f64>,
}

impl Rules {
    pub const DEFAULT_ALLOW_SHRINK: f64 = 0.5;

    pub fn allow_shrink(&self) -> f64 {
        self.allow_shrink.unwrap_or(Self::DEFAULT_ALLOW_SHRINK)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    url: String,
    format: Option<String>,
    sheet: Option<String>,
    encoding: Option<String>,
    timeout_secs: Option<f64>,
    max_bytes: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    id: String,
    title: String,
    #[serde(default)]
    description: String,
    publisher: Option<String>,
    licence: Option<String>,
    source: RawSource,
    template: Option<String>,
    metadata: Option<String>,
    schedule: Option<String>,
    #[serde(default)]
    columns: BTreeMap<String, ColumnOverride>,
    #[serde(default)]
    rules: Rules,
}

/// Where a source lives.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    Url(url::Url),
    File(PathBuf),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Url(u) => write!(f, "{u}"),
            Location::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A source file.
#[derive(Debug, Clone)]
pub struct Source {
    pub location: Location,
    pub format: Option<Format>,
    pub sheet: Option<String>,
    pub encoding: Option<String>,
    pub timeout_secs: Option<f64>,
    pub max_bytes: Option<u64>,
}

/// How the source's columns map to the published data.
#[derive(Debug, Clone)]
pub enum MappingSource {
    /// A CSVW metadata file describing the clean table.
    Metadata(PathBuf),
    /// A council template by id (see the `council` crate).
    Template(String),
}

/// `s` as a TOML string (quoted and escaped as TOML says), for writing pipeline files.
pub fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A parsed and checked pipeline file.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The file it came from.
    pub file: PathBuf,
    /// sha256 of the file's bytes (provenance; a changed pipeline reruns an unchanged source).
    pub sha256: String,
    pub id: String,
    pub title: String,
    pub description: String,
    /// The publisher's GSS code, if given as one.
    pub publisher_code: Option<String>,
    /// The publisher's IRI.
    pub publisher: Option<String>,
    pub licence: String,
    pub source: Source,
    pub mapping: MappingSource,
    pub schedule: Option<(String, croner::Cron)>,
    pub columns: BTreeMap<String, ColumnOverride>,
    pub rules: Rules,
    /// Local files named in the file: (as written, as resolved).
    references: Vec<(String, PathBuf)>,
}

/// A GSS code: a letter for the nation and eight digits (E08000009).
pub fn is_gss_code(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 9
        && matches!(b[0], b'E' | b'W' | b'S' | b'N' | b'K')
        && b[1..].iter().all(u8::is_ascii_digit)
}

pub const STATISTICAL_GEOGRAPHY: &str = "http://statistics.data.gov.uk/id/statistical-geography/";

impl Pipeline {
    /// Reads and checks a pipeline file.
    pub fn load(path: &Path) -> Result<Pipeline, ConfigError> {
        let bytes = std::fs::read(path).map_err(|e| err(path, e.to_string()))?;
        let text =
            std::str::from_utf8(&bytes).map_err(|e| err(path, format!("not UTF-8 text ({e})")))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Self::parse(path, text, &bytes, &|r: &str| Some(dir.join(r)))
    }

    /// Reads a pipeline file that was uploaded with the local files it names: `files` maps
    /// each name as the pipeline writes it (`source.url`, `metadata`) to where the upload was
    /// saved. A local file that was not uploaded is an error, so an uploaded pipeline reaches
    /// nothing else on the instance's machine.
    pub fn load_uploaded(
        path: &Path,
        name: &str,
        files: &std::collections::HashMap<String, PathBuf>,
    ) -> Result<Pipeline, ConfigError> {
        let shown = Path::new(name);
        let bytes = std::fs::read(path).map_err(|e| err(shown, e.to_string()))?;
        let text =
            std::str::from_utf8(&bytes).map_err(|e| err(shown, format!("not UTF-8 text ({e})")))?;
        let mut p = Self::parse(shown, text, &bytes, &|r: &str| files.get(r).cloned())?;
        p.file = shown.to_path_buf();
        Ok(p)
    }

    /// The local files the pipeline reads, as written in it and as resolved: what an upload
    /// of the pipeline must carry.
    pub fn local_files(&self) -> Vec<(String, PathBuf)> {
        self.references.clone()
    }

    /// Parses and checks a pipeline file's text (`bytes` are what its sha256 is taken of);
    /// `resolve` says where a local file it names is (`None`: nowhere it may read).
    pub fn parse(
        path: &Path,
        text: &str,
        bytes: &[u8],
        resolve: &dyn Fn(&str) -> Option<PathBuf>,
    ) -> Result<Pipeline, ConfigError> {
        use sha2::Digest;
        let raw: RawPipeline = toml::from_str(text).map_err(|e| err(path, toml_message(&e)))?;
        let mut references = Vec::new();
        let mut local = |key: &str, r: &str| {
            let p = resolve(r).ok_or_else(|| {
                err(
                    path,
                    format!("key `{key}`: {r:?} was not uploaded with the pipeline: upload it too (or give an http(s) URL)"),
                )
            })?;
            references.push((r.to_string(), p.clone()));
            Ok::<_, ConfigError>(p)
        };
        let key = |k: &str, m: String| err(path, format!("key `{k}`: {m}"));
        fivestar_site::check_slug("id", &raw.id).map_err(|e| key("id", e.to_string()))?;
        if raw.title.trim().is_empty() {
            return Err(key("title", "must not be empty".into()));
        }
        let (publisher_code, publisher) = match raw.publisher.as_deref().map(str::trim) {
            None => (None, None),
            Some(p) if is_gss_code(p) => {
                (Some(p.to_string()), Some(format!("{STATISTICAL_GEOGRAPHY}{p}")))
            }
            Some(p) if p.starts_with("http://") || p.starts_with("https://") => {
                url::Url::parse(p).map_err(|e| key("publisher", format!("{p:?}: {e}")))?;
                let code = p.strip_prefix(STATISTICAL_GEOGRAPHY).filter(|c| is_gss_code(c));
                (code.map(String::from), Some(p.to_string()))
            }
            Some(p) => {
                return Err(key(
                    "publisher",
                    format!("{p:?} is not an ONS GSS code (a letter and eight digits, like E08000009) or an IRI"),
                ))
            }
        };
        let licence = match raw.licence {
            None => OGL_V3.to_string(),
            Some(l) => {
                check_web_iri(&l).map_err(|e| key("licence", e))?;
                l
            }
        };
        let location =
            if raw.source.url.starts_with("http://") || raw.source.url.starts_with("https://") {
                Location::Url(
                    url::Url::parse(&raw.source.url)
                        .map_err(|e| key("source.url", format!("{:?}: {e}", raw.source.url)))?,
                )
            } else if raw.source.url.contains("://") {
                return Err(key(
                    "source.url",
                    format!(
                        "{:?}: only http(s) URLs and local paths are fetched",
                        raw.source.url
                    ),
                ));
            } else {
                Location::File(local("source.url", &raw.source.url)?)
            };
        let format = raw
            .source
            .format
            .as_deref()
            .map(|f| {
                Format::parse(f).ok_or_else(|| {
                    key(
                        "source.format",
                        format!("{f:?} is not one of csv, xlsx, xls, ods"),
                    )
                })
            })
            .transpose()?;
        if let Some(e) = &raw.source.encoding {
            if encoding_rs_label_ok(e).is_none() {
                return Err(key(
                    "source.encoding",
                    format!("{e:?} is not an encoding label (e.g. utf-8, windows-1252, utf-16le)"),
                ));
            }
        }
        let mapping = match (raw.metadata, raw.template) {
            (Some(m), None) => {
                let p = local("metadata", &m)?;
                if !p.is_file() {
                    return Err(key("metadata", format!("{} does not exist", p.display())));
                }
                MappingSource::Metadata(p)
            }
            (None, Some(t)) => {
                if !fivestar_council::TEMPLATE_IDS.contains(&t.as_str()) {
                    return Err(key(
                        "template",
                        format!(
                            "{t:?} is not a template; the templates are {}",
                            fivestar_council::TEMPLATE_IDS.join(", ")
                        ),
                    ));
                }
                MappingSource::Template(t)
            }
            (Some(_), Some(_)) => {
                return Err(err(path, "give either `metadata` or `template`, not both"))
            }
            (None, None) => return Err(err(
                path,
                "no mapping: add `metadata = \"file.csv-metadata.json\"` or `template = \"spend\"`",
            )),
        };
        let schedule = raw
            .schedule
            .map(|s| {
                let cron: croner::Cron = s.parse().map_err(|e| {
                    key("schedule", format!("{s:?} is not a cron expression ({e})"))
                })?;
                Ok::<_, ConfigError>((s, cron))
            })
            .transpose()?;
        if let Some(a) = raw.rules.allow_shrink {
            if !(0.0..=1.0).contains(&a) {
                return Err(key(
                    "rules.allow_shrink",
                    format!("must be a share from 0 to 1 (0.5 lets half the rows go), not {a}"),
                ));
            }
        }
        if let Some(t) = raw.source.timeout_secs {
            if let Err(e) = check_seconds("source.timeout_secs", t, false) {
                return Err(key("source.timeout_secs", e));
            }
        }
        if raw.source.max_bytes == Some(0) {
            return Err(key(
                "source.max_bytes",
                "0 would refuse every source (at least 1)".into(),
            ));
        }
        Ok(Pipeline {
            file: path.to_path_buf(),
            sha256: hex::encode(sha2::Sha256::digest(bytes)),
            id: raw.id,
            title: raw.title,
            description: raw.description,
            publisher_code,
            publisher,
            licence,
            source: Source {
                location,
                format,
                sheet: raw.source.sheet,
                encoding: raw.source.encoding,
                timeout_secs: raw.source.timeout_secs,
                max_bytes: raw.source.max_bytes,
            },
            mapping,
            schedule,
            columns: raw.columns,
            rules: raw.rules,
            references,
        })
    }

    /// Every `*.toml` pipeline file in `dir` (not recursive), sorted.
    pub fn discover(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
        let mut out = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|e| err(dir, e.to_string()))?;
        for e in entries {
            let p = e.map_err(|e| err(dir, e.to_string()))?.path();
            if p.extension().is_some_and(|x| x == "toml") && p.is_file() {
                out.push(p);
            }
        }
        out.sort();
        Ok(out)
    }
}

fn encoding_rs_label_ok(label: &str) -> Option<()> {
    // The tidy crate decodes with encoding_rs; the same labels are accepted here.
    fivestar_tidy::decode(b"", Some(label), &mut Vec::new())
        .ok()
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Pipeline, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.json"), "{}").unwrap();
        let p = dir.path().join("p.toml");
        Pipeline::parse(&p, text, text.as_bytes(), &|r: &str| {
            Some(dir.path().join(r))
        })
    }

    #[test]
    fn toml_strings_round_trip() {
        for s in [
            "plain",
            "a \"quoted\" \\ path",
            "tab\tnew\nline",
            "esc\u{1b}ape",
            "£ and ü",
        ] {
            let text = format!("v = {}", toml_string(s));
            let t: toml::Table = toml::from_str(&text).unwrap();
            assert_eq!(t["v"].as_str(), Some(s), "{text}");
        }
    }

    #[test]
    fn admin_settings_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fivestar.toml");
        let load = |text: &str| {
            std::fs::write(&path, text).unwrap();
            Instance::load(&path).map_err(|e| e.to_string())
        };
        let i = load("admin_bind = \"127.0.0.1:7879\"\nadmin_upload_max_bytes = 1000\n").unwrap();
        assert_eq!(i.admin_bind.as_deref(), Some("127.0.0.1:7879"));
        assert_eq!(i.admin_upload_max_bytes, 1000);
        for (text, key) in [
            ("admin_upload_max_bytes = 0", "admin_upload_max_bytes"),
            ("admin_upload_max_bytes = -1", "admin_upload_max_bytes"),
            ("admin_token_env = \"\"", "admin_token_env"),
            ("admin_token_env = \"MY TOKEN\"", "admin_token_env"),
            ("admin_bind = \"not an address\"", "admin_bind"),
            ("base_iri = \"javascript:alert(1)\"", "base_iri"),
            ("base_iri = \"not an iri\"", "base_iri"),
            ("[fetch]\ntimeout_secs = -1", "fetch.timeout_secs"),
            ("[fetch]\ntimeout_secs = nan", "fetch.timeout_secs"),
            (
                "[fetch]\nconnect_timeout_secs = 1e300",
                "fetch.connect_timeout_secs",
            ),
            ("[fetch]\nbackoff_secs = inf", "fetch.backoff_secs"),
            ("[fetch]\nretries = 4294967295", "fetch.retries"),
            ("[fetch]\nretries = -1", "retries"),
            ("[fetch]\nmax_bytes = 0", "fetch.max_bytes"),
            ("max_connections = 3", "max_connections"),
            ("header_timeout_secs = 0", "header_timeout_secs"),
            ("trusted_proxies = [\"nginx\"]", "trusted_proxies"),
        ] {
            let e = load(text).unwrap_err();
            assert!(
                e.contains("fivestar.toml") && e.contains(key),
                "{text}: {e}"
            );
        }
        // A file named on the command line must exist; the default one may be missing.
        let missing = dir.path().join("nope.toml");
        assert!(Instance::load(&missing).is_ok());
        let e = Instance::load_from(&missing, true).unwrap_err().to_string();
        assert!(e.contains("nope.toml"), "{e}");
    }

    #[test]
    fn publish_to_targets_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fivestar.toml");
        let load = |text: &str| {
            std::fs::write(&path, text).unwrap();
            Instance::load(&path).map_err(|e| e.to_string())
        };
        let target = |name: &str, extra: &str| {
            format!(
                "[[publish_to]]\nname = \"{name}\"\nquery = \"http://h:7879/query\"\n\
                 update = \"http://h:7879/update\"\ngraph_store = \"https://h/store\"\n{extra}\n"
            )
        };
        let i = load(&(target("a", "token_env = \"A_TOKEN\"") + &target("b", "keep = 5"))).unwrap();
        assert_eq!(i.publish_to.len(), 2);
        assert_eq!(i.publish_to[0].token_env.as_deref(), Some("A_TOKEN"));
        assert_eq!((i.publish_to[1].keep, i.publish_to[1].retries), (5, 3));
        assert_eq!(i.publish_to[1].withdraw_timeout_secs, 10.0);
        assert!(load("").unwrap().publish_to.is_empty());
        for (text, says) in [
            (target("Bad Name", ""), "publish_to.name"),
            (
                target("a", "") + &target("a", ""),
                "two `[[publish_to]]` targets",
            ),
            (
                target("a", "").replace("http://h:7879/query", "ftp://h/q"),
                "publish_to.query",
            ),
            (target("a", "token_env = \"MY TOKEN\""), "token_env"),
            (target("a", "username_env = \"U\""), "password_env"),
            (
                target(
                    "a",
                    "username_env = \"U\"\npassword_env = \"P\"\ntoken_env = \"T\"",
                ),
                "not both",
            ),
            (target("a", "keep = 0"), "publish_to.keep"),
            (target("a", "timeout_secs = 0"), "publish_to.timeout_secs"),
            (
                target("a", "withdraw_timeout_secs = -1"),
                "publish_to.withdraw_timeout_secs",
            ),
            (target("a", "retries = 101"), "publish_to.retries"),
            (target("a", "password = \"secret\""), "password"),
        ] {
            let e = load(&text).unwrap_err();
            assert!(
                e.contains("fivestar.toml") && e.contains(says),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn a_backend_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fivestar.toml");
        let load = |text: &str| {
            std::fs::write(&path, text).unwrap();
            Instance::load(&path).map_err(|e| e.to_string())
        };
        let i = load("[backend]\nquery = \"http://db:7878/query\"\ntoken_env = \"DB_TOKEN\"\n")
            .unwrap();
        let b = i.backend.unwrap();
        assert_eq!(
            (b.query.as_str(), b.refresh_secs),
            ("http://db:7878/query", 1.0)
        );
        assert_eq!(b.token_env.as_deref(), Some("DB_TOKEN"));
        assert!(load("").unwrap().backend.is_none());
        for (text, says) in [
            ("[backend]\nquery = \"db:7878\"", "backend.query"),
            (
                "[backend]\nquery = \"http://db/q\"\nrefresh_secs = 0",
                "backend.refresh_secs",
            ),
            (
                "[backend]\nquery = \"http://db/q\"\nusername_env = \"U\"",
                "password_env",
            ),
            (
                "[backend]\nquery = \"http://db/q\"\npassword = \"secret\"",
                "password",
            ),
            ("[backend]\nrefresh_secs = 2", "query"),
        ] {
            let e = load(text).unwrap_err();
            assert!(
                e.contains("fivestar.toml") && e.contains(says),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn an_uploaded_pipeline_reads_only_its_uploaded_files() {
        let dir = tempfile::tempdir().unwrap();
        let toml = dir.path().join("0").join("p.toml");
        std::fs::create_dir_all(toml.parent().unwrap()).unwrap();
        let data = dir.path().join("1").join("spend.csv");
        std::fs::create_dir_all(data.parent().unwrap()).unwrap();
        std::fs::write(&data, "a\n1\n").unwrap();
        let mut files = std::collections::HashMap::new();
        files.insert("../data/spend.csv".to_string(), data.clone());
        let write = |url: &str| {
            std::fs::write(
                &toml,
                format!(
                    "id = \"x\"\ntitle = \"X\"\ntemplate = \"spend\"\n[source]\nurl = {url:?}\n"
                ),
            )
            .unwrap()
        };
        write("../data/spend.csv");
        let p = Pipeline::load_uploaded(&toml, "council/p.toml", &files).unwrap();
        assert_eq!(p.source.location, Location::File(data.clone()));
        assert_eq!(p.file, PathBuf::from("council/p.toml"));
        assert_eq!(
            p.local_files(),
            vec![("../data/spend.csv".to_string(), data)]
        );
        for other in [
            "/etc/passwd",
            "../../etc/passwd",
            "spend.csv",
            "data/spend.csv",
        ] {
            write(other);
            let e = Pipeline::load_uploaded(&toml, "council/p.toml", &files)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("was not uploaded") && e.contains("council/p.toml"),
                "{other}: {e}"
            );
        }
        // A URL source needs no upload.
        write("https://council.example/spend.csv");
        assert!(Pipeline::load_uploaded(&toml, "p.toml", &Default::default()).is_ok());
    }

    const OK: &str = r#"
id = "trafford-spending"
title = "Spending"
publisher = "E08000009"
metadata = "m.json"
schedule = "0 6 * * 1"
[source]
url = "spend.csv"
format = "csv"
[columns.amount]
format = "amount"
personal = "allow"
"#;

    #[test]
    fn a_good_pipeline() {
        let p = parse(OK).unwrap();
        assert_eq!(p.id, "trafford-spending");
        assert_eq!(p.licence, OGL_V3);
        assert_eq!(
            p.publisher.as_deref(),
            Some("http://statistics.data.gov.uk/id/statistical-geography/E08000009")
        );
        assert!(matches!(p.source.location, Location::File(_)));
        assert_eq!(p.columns["amount"].format, Some(ValueKind::Amount));
        assert_eq!(p.columns["amount"].personal, Personal::Allow);
    }

    #[test]
    fn instance_settings_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fivestar.toml");
        std::fs::write(&p, "loader_memory_mb = 1024\n").unwrap();
        assert_eq!(Instance::load(&p).unwrap().loader_memory_mb, 1024);
        std::fs::write(&p, "loader_memory_mb = 8\n").unwrap();
        let e = Instance::load(&p).unwrap_err();
        assert!(e.message.contains("`loader_memory_mb`"), "{e}");
        assert_eq!(
            Instance::load(&dir.path().join("missing.toml"))
                .unwrap()
                .loader_memory_mb,
            fivestar_site::DEFAULT_LOADER_MEMORY_MB
        );
    }

    #[test]
    fn errors_name_the_key() {
        for (from, to, key) in [
            ("\"0 6 * * 1\"", "\"every monday\"", "schedule"),
            ("format = \"csv\"", "format = \"pdf\"", "source.format"),
            ("\"E08000009\"", "\"Trafford\"", "publisher"),
            ("\"trafford-spending\"", "\"Trafford Spending\"", "id"),
            ("\"m.json\"", "\"missing.json\"", "metadata"),
            (
                "url = \"spend.csv\"",
                "url = \"ftp://x/y.csv\"",
                "source.url",
            ),
            (
                "schedule =",
                "licence = \"javascript:alert(1)\"\nschedule =",
                "licence",
            ),
            (
                "format = \"csv\"\n[columns",
                "format = \"csv\"\ntimeout_secs = 1e300\n[columns",
                "source.timeout_secs",
            ),
            (
                "format = \"csv\"\n[columns",
                "format = \"csv\"\ntimeout_secs = nan\n[columns",
                "source.timeout_secs",
            ),
            (
                "format = \"csv\"\n[columns",
                "format = \"csv\"\n[rules]\nallow_shrink = 1.5\n[columns",
                "rules.allow_shrink",
            ),
        ] {
            let e = parse(&OK.replace(from, to)).unwrap_err();
            assert!(e.message.contains(&format!("`{key}`")), "{key}: {e}");
            assert!(e.file.ends_with("p.toml"));
        }
        let e = parse(&OK.replace("personal = \"allow\"", "personal = \"maybe\"")).unwrap_err();
        assert!(
            e.message.contains("maybe") && e.message.contains("line"),
            "{e}"
        );
        let e = parse(&OK.replace("title =", "titel =")).unwrap_err();
        assert!(e.message.contains("titel"), "{e}");
    }
}
