//! The CLI's [`Fetcher`]: local files, and http(s) with reqwest.
//!
//! With `--base IRI`, the folder of a local INPUT stands for the folder of IRI: a URL under
//! that folder is read from the matching local path, so local copies behave as if fetched.

use anyhow::{anyhow, Context, Result};
use csvw::fetch::{Fetcher, Resource};
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

pub struct CliFetcher {
    input: Url,
    /// (IRI folder, local folder) when `--base` maps a local tree onto the web.
    mapping: Option<(Url, PathBuf)>,
    client: std::sync::OnceLock<Result<reqwest::blocking::Client, String>>,
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://") || s.starts_with("file:")
}

fn file_url(path: &Path) -> Result<Url> {
    let abs =
        std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))?;
    Url::from_file_path(&abs).map_err(|_| anyhow!("cannot make a URL of {}", abs.display()))
}

impl CliFetcher {
    pub fn new(input: &str, base: Option<&str>) -> Result<Self> {
        let (input_url, mapping) = if is_url(input) {
            if base.is_some() {
                return Err(anyhow!("--base applies to a local INPUT, not to a URL"));
            }
            (
                Url::parse(input).with_context(|| format!("invalid URL {input}"))?,
                None,
            )
        } else {
            let path = Path::new(input);
            if !path.exists() {
                return Err(anyhow!("{input}: no such file"));
            }
            match base {
                Some(b) => {
                    let iri = Url::parse(b)
                        .with_context(|| format!("--base {b} is not an absolute IRI"))?;
                    let dir = std::path::absolute(path.parent().unwrap_or(Path::new(".")))?;
                    let iri_dir = iri
                        .join(".")
                        .with_context(|| format!("--base {b} has no folder"))?;
                    (iri, Some((iri_dir, dir)))
                }
                None => (file_url(path)?, None),
            }
        };
        Ok(CliFetcher {
            input: input_url,
            mapping,
            client: std::sync::OnceLock::new(),
        })
    }

    pub fn input_url(&self) -> &Url {
        &self.input
    }

    /// The URL for another argument (a metadata file or URL).
    pub fn url_for(&self, arg: &str) -> Result<Url> {
        if is_url(arg) {
            return Url::parse(arg).with_context(|| format!("invalid URL {arg}"));
        }
        let path = Path::new(arg);
        if !path.exists() {
            return Err(anyhow!("{arg}: no such file"));
        }
        if let Some((iri_dir, dir)) = &self.mapping {
            let abs = std::path::absolute(path)?;
            if let Ok(rel) = abs.strip_prefix(dir) {
                let rel: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                return iri_dir
                    .join(&rel.join("/"))
                    .context("mapping a local path onto --base");
            }
        }
        file_url(path)
    }

    /// The local file behind a URL, if there is one.
    pub fn local_path(&self, url: &Url) -> Option<PathBuf> {
        if let Some((iri_dir, dir)) = &self.mapping {
            let mut plain = url.clone();
            plain.set_query(None);
            plain.set_fragment(None);
            if let Some(rel) = plain.as_str().strip_prefix(iri_dir.as_str()) {
                let rel = csvw::table::percent_decode(rel);
                let p = dir.join(rel);
                // Never leave the mapped folder.
                return p.starts_with(dir).then_some(p);
            }
            return None;
        }
        if url.scheme() == "file" {
            return url.to_file_path().ok();
        }
        None
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, String> {
        self.client
            .get_or_init(|| {
                reqwest::blocking::Client::builder()
                    .connect_timeout(Duration::from_secs(15))
                    .timeout(Duration::from_secs(300))
                    .redirect(reqwest::redirect::Policy::limited(10))
                    .user_agent(concat!("fivestar/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl Fetcher for CliFetcher {
    fn fetch(&self, url: &Url) -> Result<Option<Resource>, String> {
        if let Some(path) = self.local_path(url) {
            if !path.is_file() {
                return Ok(None);
            }
            let file =
                std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            return Ok(Some(Resource {
                body: Box::new(std::io::BufReader::new(file)),
                content_type: None,
                links: Vec::new(),
                content_language: None,
            }));
        }
        match url.scheme() {
            "http" | "https" => {}
            "file" => return Ok(None),
            other => return Err(format!("cannot fetch {other}: URLs")),
        }
        let response = self
            .client()?
            .get(url.as_str())
            .send()
            .map_err(|e| e.to_string())?;
        let status = response.status();
        if status.is_client_error() || status.is_server_error() {
            return Ok(None);
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        let content_type = header("content-type");
        let content_language = header("content-language");
        let links = response
            .headers()
            .get_all("link")
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect();
        Ok(Some(Resource {
            body: Box::new(response),
            content_type,
            links,
            content_language,
        }))
    }
}
