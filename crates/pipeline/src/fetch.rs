//! Fetching a source: conditional GET (ETag, If-Modified-Since), a sha256 of the body,
//! retries with exponential backoff and jitter on timeouts, 5xx and connection errors (never
//! on 4xx), bounded redirects, a maximum body size, connect and total timeouts.

use crate::config::{FetchSettings, Location, Source};
use sha2::Digest;
use std::io::Read;
use std::time::{Duration, Instant};

/// What the last fetch of a source said, for the next conditional request.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub sha256: Option<String>,
}

/// A fetched body.
#[derive(Debug, Clone)]
pub struct Body {
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub validators: Validators,
    /// xsd:dateTime of the fetch.
    pub fetched_at: String,
}

/// What a fetch found.
#[derive(Debug)]
pub enum Fetched {
    /// The server answered 304 Not Modified.
    NotModified,
    Body(Body),
}

/// Why a fetch failed, each with a message a data officer can act on.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: the server answered {status}; not retried (a 4xx means the request itself is wrong: check the URL)")]
    Client { url: String, status: u16 },
    #[error("{url}: the server answered {status} on each of {attempts} attempts")]
    Server {
        url: String,
        status: u16,
        attempts: u32,
    },
    #[error("{url}: no connection could be made on each of {attempts} attempts: {detail}")]
    Connect {
        url: String,
        attempts: u32,
        detail: String,
    },
    #[error("{url}: timed out on each of {attempts} attempts ({detail})")]
    Timeout {
        url: String,
        attempts: u32,
        detail: String,
    },
    #[error("{url}: the body is larger than the {limit}-byte limit (set `source.max_bytes` to allow more)")]
    TooLarge { url: String, limit: u64 },
    #[error("{url}: the connection closed early on each of {attempts} attempts: got {got} of {expected} bytes")]
    Truncated {
        url: String,
        attempts: u32,
        got: u64,
        expected: u64,
    },
    #[error("{url}: more than {limit} redirects")]
    Redirects { url: String, limit: usize },
    #[error("{url}: {detail}")]
    Other { url: String, detail: String },
    #[error("{path}: {detail}")]
    File { path: String, detail: String },
}

enum Attempt {
    Done(Fetched),
    /// Worth another try.
    Retry(FetchError),
    Fatal(FetchError),
}

/// Fetches `source`, conditionally when `previous` has validators.
pub fn fetch(
    source: &Source,
    previous: Option<&Validators>,
    settings: &FetchSettings,
) -> Result<Fetched, FetchError> {
    let max_bytes = source.max_bytes.unwrap_or(settings.max_bytes);
    match &source.location {
        Location::File(path) => {
            let shown = path.display().to_string();
            let meta = std::fs::metadata(path).map_err(|e| FetchError::File {
                path: shown.clone(),
                detail: e.to_string(),
            })?;
            if meta.len() > max_bytes {
                return Err(FetchError::TooLarge {
                    url: shown,
                    limit: max_bytes,
                });
            }
            let bytes = std::fs::read(path).map_err(|e| FetchError::File {
                path: shown,
                detail: e.to_string(),
            })?;
            Ok(Fetched::Body(body(bytes, Validators::default())))
        }
        Location::Url(url) => {
            let timeout = source.timeout_secs.unwrap_or(settings.timeout_secs);
            let client = reqwest::blocking::Client::builder()
                .connect_timeout(Duration::from_secs_f64(settings.connect_timeout_secs))
                .timeout(Duration::from_secs_f64(timeout))
                .redirect(reqwest::redirect::Policy::limited(settings.max_redirects))
                .user_agent(concat!("fivestar/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| FetchError::Other {
                    url: url.to_string(),
                    detail: e.to_string(),
                })?;
            let attempts = settings.retries + 1;
            let mut last = None;
            for attempt in 0..attempts {
                if attempt > 0 {
                    let base = settings.backoff_secs * f64::from(1u32 << (attempt - 1).min(16));
                    let wait = base * (0.5 + fastrand::f64());
                    tracing::info!(%url, attempt, wait_secs = wait, "retrying");
                    std::thread::sleep(Duration::from_secs_f64(wait));
                }
                match try_once(&client, url, previous, max_bytes, settings, attempts) {
                    Attempt::Done(f) => return Ok(f),
                    Attempt::Fatal(e) => return Err(e),
                    Attempt::Retry(e) => {
                        tracing::warn!(%url, attempt, error = %e, "fetch failed");
                        last = Some(e);
                    }
                }
            }
            Err(last.unwrap_or_else(|| FetchError::Other {
                url: url.to_string(),
                detail: "no attempt was made".into(),
            }))
        }
    }
}

fn body(bytes: Vec<u8>, mut validators: Validators) -> Body {
    let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
    validators.sha256 = Some(sha256.clone());
    Body {
        bytes,
        sha256,
        validators,
        fetched_at: fivestar_store::now_utc().1,
    }
}

fn try_once(
    client: &reqwest::blocking::Client,
    url: &url::Url,
    previous: Option<&Validators>,
    max_bytes: u64,
    settings: &FetchSettings,
    attempts: u32,
) -> Attempt {
    let u = url.to_string();
    let mut request = client.get(url.as_str());
    if let Some(p) = previous {
        if let Some(etag) = &p.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &p.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, lm);
        }
    }
    let started = Instant::now();
    let response = match request.send() {
        Ok(r) => r,
        Err(e) => return classify(&u, &e, attempts, settings, started),
    };
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Attempt::Done(Fetched::NotModified);
    }
    if status.is_redirection() {
        return Attempt::Fatal(FetchError::Redirects {
            url: u,
            limit: settings.max_redirects,
        });
    }
    if status.is_client_error() {
        return Attempt::Fatal(FetchError::Client {
            url: u,
            status: status.as_u16(),
        });
    }
    if status.is_server_error() {
        return Attempt::Retry(FetchError::Server {
            url: u,
            status: status.as_u16(),
            attempts,
        });
    }
    let header = |name: reqwest::header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let validators = Validators {
        etag: header(reqwest::header::ETAG),
        last_modified: header(reqwest::header::LAST_MODIFIED),
        sha256: None,
    };
    let expected = response.content_length();
    if expected.is_some_and(|n| n > max_bytes) {
        return Attempt::Fatal(FetchError::TooLarge {
            url: u,
            limit: max_bytes,
        });
    }
    let mut bytes = Vec::with_capacity(expected.unwrap_or(0).min(max_bytes) as usize);
    let read = response.take(max_bytes + 1).read_to_end(&mut bytes);
    if bytes.len() as u64 > max_bytes {
        return Attempt::Fatal(FetchError::TooLarge {
            url: u,
            limit: max_bytes,
        });
    }
    if let Err(e) = read {
        let timed_out = e.kind() == std::io::ErrorKind::TimedOut
            || std::error::Error::source(&e)
                .and_then(|s| s.downcast_ref::<reqwest::Error>())
                .is_some_and(reqwest::Error::is_timeout)
            || e.to_string().contains("timed out");
        return Attempt::Retry(if timed_out {
            FetchError::Timeout {
                url: u,
                attempts,
                detail: format!(
                    "reading the body, after {:.1} s",
                    started.elapsed().as_secs_f64()
                ),
            }
        } else {
            FetchError::Truncated {
                url: u,
                attempts,
                got: bytes.len() as u64,
                expected: expected.unwrap_or(0),
            }
        });
    }
    if let Some(n) = expected {
        if (bytes.len() as u64) < n {
            return Attempt::Retry(FetchError::Truncated {
                url: u,
                attempts,
                got: bytes.len() as u64,
                expected: n,
            });
        }
    }
    Attempt::Done(Fetched::Body(body(bytes, validators)))
}

fn classify(
    url: &str,
    e: &reqwest::Error,
    attempts: u32,
    settings: &FetchSettings,
    started: Instant,
) -> Attempt {
    let detail = error_chain(e);
    if e.is_redirect() {
        Attempt::Fatal(FetchError::Redirects {
            url: url.into(),
            limit: settings.max_redirects,
        })
    } else if e.is_timeout() {
        Attempt::Retry(FetchError::Timeout {
            url: url.into(),
            attempts,
            detail: format!("after {:.1} s: {detail}", started.elapsed().as_secs_f64()),
        })
    } else if e.is_connect() || e.is_request() {
        Attempt::Retry(FetchError::Connect {
            url: url.into(),
            attempts,
            detail,
        })
    } else if e.is_builder() {
        Attempt::Fatal(FetchError::Other {
            url: url.into(),
            detail,
        })
    } else {
        Attempt::Retry(FetchError::Other {
            url: url.into(),
            detail,
        })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}
