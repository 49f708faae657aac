//! Fetch: the source's bytes, conditionally when the last body is kept; "unchanged" when the
//! source and the pipeline are as at the last run. Every body is kept under `sources/`.

use super::fail;
use crate::config::{FetchSettings, Location, Pipeline};
use crate::fetch::{self, Fetched};
use crate::report::Problem;
use crate::state::{keep_source, State};
use fivestar_store::Layout;

/// A fetched source.
pub struct Source {
    pub bytes: Vec<u8>,
    pub sha256: String,
    /// xsd:dateTime of the fetch.
    pub fetched_at: String,
    /// The file name problems are reported against.
    pub name: String,
}

/// What the fetch stage found.
pub enum Fetch {
    /// Nothing to do; the info says why.
    Unchanged {
        sha256: String,
        info: Problem,
    },
    Source(Source),
}

/// The name of the source's file (the last segment of a URL).
pub fn source_name(pipeline: &Pipeline) -> String {
    match &pipeline.source.location {
        Location::Url(u) => u
            .path_segments()
            .and_then(|mut s| s.next_back())
            .unwrap_or("source")
            .to_string(),
        Location::File(p) => p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}

/// Fetches the pipeline's source. `force` runs even when nothing changed; `validate_only`
/// neither asks conditionally nor records the new validators in `state`.
pub fn fetch(
    pipeline: &Pipeline,
    settings: &FetchSettings,
    layout: &Layout,
    state: &mut State,
    force: bool,
    validate_only: bool,
) -> Result<Fetch, Box<Problem>> {
    let same_pipeline = state.pipeline_sha256.as_deref() == Some(pipeline.sha256.as_str());
    let have_copy = state
        .validators
        .sha256
        .as_deref()
        .is_some_and(|s| layout.source(s).is_file());
    // Ask conditionally only when the last body is kept (a 304 must leave us something to use)
    // and was taken to a conclusion (else a 304 would hide a run that failed half-way).
    let concluded =
        state.processed_sha256.is_some() && state.processed_sha256 == state.validators.sha256;
    let conditional = (have_copy && concluded && !validate_only).then_some(&state.validators);
    let fetched = fetch::fetch(&pipeline.source, conditional, settings)
        .map_err(|e| fail("fetch", e.to_string()))?;
    let unchanged = |sha256: String, message: &str| {
        Ok(Fetch::Unchanged {
            sha256,
            info: Problem::info("unchanged", message),
        })
    };
    let (bytes, sha256, fetched_at) = match fetched {
        Fetched::NotModified => {
            let sha = state.validators.sha256.clone().unwrap_or_default();
            if same_pipeline && !force {
                return unchanged(
                    sha,
                    "the server answered 304 Not Modified and the pipeline is unchanged: nothing to do",
                );
            }
            let bytes = std::fs::read(layout.source(&sha)).map_err(|e| {
                fail(
                    "source",
                    format!("the kept copy of the source is unreadable: {e}"),
                )
            })?;
            (bytes, sha, fivestar_store::now_utc().1)
        }
        Fetched::Body(body) => {
            let unchanged_body = state.processed_sha256.as_deref() == Some(body.sha256.as_str());
            if !validate_only {
                state.validators = body.validators.clone();
            }
            if unchanged_body && same_pipeline && !force && !validate_only {
                return unchanged(
                    body.sha256,
                    "the source's sha256 and the pipeline are as at the last run: nothing to do",
                );
            }
            (body.bytes, body.sha256, body.fetched_at)
        }
    };
    keep_source(layout, &sha256, &bytes).map_err(|e| {
        fail(
            "source",
            format!("cannot keep the source under sources/: {e}"),
        )
    })?;
    Ok(Fetch::Source(Source {
        bytes,
        sha256,
        fetched_at,
        name: source_name(pipeline),
    }))
}
