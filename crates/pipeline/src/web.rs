//! The csvw engine's [`Fetcher`] for fivestar: local files, a local folder standing for a folder
//! on the web (a run's folder as `{base}/id/{dataset}/`, or `--base`), and http(s) with the
//! instance's fetch settings. The one place outside `fetch` that reads the web.

use crate::config::FetchSettings;
use csvw::fetch::{Fetcher, Resource};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;
use url::Url;

pub struct WebFetcher {
    /// (IRI folder, local folder): URLs under the IRI folder are read from the local one.
    mapping: Option<(Url, PathBuf)>,
    /// `None`: nothing is read over the network (a run reads only its own folder).
    settings: Option<FetchSettings>,
    client: std::sync::OnceLock<Result<reqwest::blocking::Client, String>>,
}

/// Is `s` a URL rather than a path?
pub fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://") || s.starts_with("file:")
}

/// The `file:` URL of a local path.
pub fn file_url(path: &Path) -> Result<Url, String> {
    let abs = std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Url::from_file_path(&abs).map_err(|_| format!("cannot make a URL of {}", abs.display()))
}

impl WebFetcher {
    /// Reads local files by `file:` URL and, with `settings`, http(s) URLs.
    pub fn new(settings: Option<FetchSettings>) -> Self {
        WebFetcher {
            mapping: None,
            settings,
            client: std::sync::OnceLock::new(),
        }
    }

    /// Reads the local folder `dir` for URLs under the folder IRI `iri_dir` (ending in `/`).
    pub fn with_folder(mut self, iri_dir: Url, dir: PathBuf) -> Self {
        self.mapping = Some((iri_dir, dir));
        self
    }

    /// The fetcher and starting URL for a command's INPUT (a path or a URL). With `base`, the
    /// folder of a local INPUT stands for the folder of `base`, so that local copies behave
    /// as if fetched from there.
    pub fn for_input(
        input: &str,
        base: Option<&str>,
        settings: FetchSettings,
    ) -> Result<(Self, Url), String> {
        let fetcher = WebFetcher::new(Some(settings));
        if is_url(input) {
            if base.is_some() {
                return Err("--base applies to a local INPUT, not to a URL".into());
            }
            let url = Url::parse(input).map_err(|e| format!("invalid URL {input}: {e}"))?;
            return Ok((fetcher, url));
        }
        let path = Path::new(input);
        if !path.exists() {
            return Err(format!("{input}: no such file"));
        }
        match base {
            Some(b) => {
                let iri =
                    Url::parse(b).map_err(|e| format!("--base {b} is not an absolute IRI: {e}"))?;
                // A bare file name's parent is the empty path: the current folder.
                let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
                let dir = std::path::absolute(parent.unwrap_or(Path::new(".")))
                    .map_err(|e| format!("{input}: {e}"))?;
                let iri_dir = iri
                    .join(".")
                    .map_err(|e| format!("--base {b} has no folder: {e}"))?;
                Ok((fetcher.with_folder(iri_dir, dir), iri))
            }
            None => Ok((fetcher, file_url(path)?)),
        }
    }

    /// The URL for another argument (a metadata file or URL).
    pub fn url_for(&self, arg: &str) -> Result<Url, String> {
        if is_url(arg) {
            return Url::parse(arg).map_err(|e| format!("invalid URL {arg}: {e}"));
        }
        let path = Path::new(arg);
        if !path.exists() {
            return Err(format!("{arg}: no such file"));
        }
        if let Some((iri_dir, dir)) = &self.mapping {
            let abs = std::path::absolute(path).map_err(|e| format!("{arg}: {e}"))?;
            if let Ok(rel) = abs.strip_prefix(dir) {
                let rel: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                return iri_dir
                    .join(&rel.join("/"))
                    .map_err(|e| format!("mapping {arg} onto --base: {e}"));
            }
        }
        file_url(path)
    }

    /// The local file behind a URL, if there is one. A mapped folder is never left: `..`
    /// (written or percent-encoded) finds nothing.
    pub fn local_path(&self, url: &Url) -> Option<PathBuf> {
        if let Some((iri_dir, dir)) = &self.mapping {
            let mut plain = url.clone();
            plain.set_query(None);
            plain.set_fragment(None);
            let rel = plain.as_str().strip_prefix(iri_dir.as_str())?;
            let rel = csvw::table::percent_decode(rel);
            let rel = Path::new(&rel);
            if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
                return None;
            }
            return Some(dir.join(rel));
        }
        if url.scheme() == "file" {
            return url.to_file_path().ok();
        }
        None
    }

    fn client(&self, settings: &FetchSettings) -> Result<&reqwest::blocking::Client, String> {
        self.client
            .get_or_init(|| {
                reqwest::blocking::Client::builder()
                    .connect_timeout(Duration::from_secs_f64(settings.connect_timeout_secs))
                    .timeout(Duration::from_secs_f64(settings.timeout_secs))
                    .redirect(reqwest::redirect::Policy::limited(settings.max_redirects))
                    .user_agent(concat!("fivestar/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl Fetcher for WebFetcher {
    fn fetch(&self, url: &Url) -> Result<Option<Resource>, String> {
        let local = self.local_path(url);
        if local.is_some() || self.mapping.is_some() && self.settings.is_none() {
            let Some(path) = local.filter(|p| p.is_file()) else {
                return Ok(None);
            };
            let file =
                std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            return Ok(Some(Resource {
                body: Box::new(std::io::BufReader::new(file)),
                content_type: None,
                links: Vec::new(),
                content_language: None,
            }));
        }
        let Some(settings) = &self.settings else {
            return Ok(None);
        };
        match url.scheme() {
            "http" | "https" => {}
            "file" => return Ok(None),
            other => return Err(format!("cannot fetch {other}: URLs")),
        }
        let response = self
            .client(settings)?
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapped_folder_is_never_left() {
        let dir = std::env::temp_dir().join(format!("fivestar-web-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.csv"), "x\n1\n").unwrap();
        let base = Url::parse("http://example.org/id/d/").unwrap();
        let f = WebFetcher::new(None).with_folder(base.clone(), dir.clone());
        assert!(f.fetch(&base.join("a.csv").unwrap()).unwrap().is_some());
        for bad in ["a%2F..%2F..%2Fetc%2Fpasswd", "..%2Fa.csv", "%2E%2E/a.csv"] {
            let url = Url::parse(&format!("{base}{bad}")).unwrap();
            assert!(f.local_path(&url).is_none(), "{url}");
            assert!(f.fetch(&url).unwrap().is_none(), "{url}");
        }
        // A file named without a folder (in the current one) stands for `base` too.
        let base = "http://example.org/id/d/Cargo.toml";
        let (here, url) =
            WebFetcher::for_input("Cargo.toml", Some(base), FetchSettings::default()).unwrap();
        assert_eq!(url.as_str(), base);
        assert!(here.fetch(&url).unwrap().is_some());
        // Offline: nothing outside the folder is fetched.
        let other = Url::parse("http://127.0.0.1:9/x.csv").unwrap();
        assert!(f.fetch(&other).unwrap().is_none());
        let _ = std::fs::remove_dir_all(dir);
    }
}
