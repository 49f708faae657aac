//! Publish: a release (its N-Triples, made as they load or from a file, the clean CSV and its
//! metadata) with its
//! provenance, through a [`Publisher`], one at a time in this process.

use super::fetch::Source;
use crate::config::{Location, Pipeline};
use fivestar_store::{
    DatasetInfo, LoadProgress, Provenance, PublishRequest, Publisher, ReleaseInfo, Result, Triples,
};
use std::path::PathBuf;

/// What a pipeline's run asks the store to publish.
pub fn request(
    pipeline: &Pipeline,
    run: &str,
    source: &Source,
    triples: Triples,
    csv: (PathBuf, PathBuf),
    progress: Option<LoadProgress>,
    linked: Option<fivestar_store::Linked>,
) -> PublishRequest {
    let source_iri = match &pipeline.source.location {
        Location::Url(u) => u.to_string(),
        Location::File(p) => std::path::absolute(p)
            .ok()
            .and_then(|a| url::Url::from_file_path(a).ok())
            .map(|u| u.to_string())
            .unwrap_or_default(),
    };
    PublishRequest {
        dataset: DatasetInfo {
            id: pipeline.id.clone(),
            title: pipeline.title.clone(),
            description: pipeline.description.clone(),
            publisher: pipeline.publisher.clone(),
            licence: pipeline.licence.clone(),
        },
        release: run.to_string(),
        triples,
        csv: Some(csv),
        provenance: Provenance {
            source: Some(source_iri),
            source_sha256: Some(source.sha256.clone()),
            fetched_at: Some(source.fetched_at.clone()),
            run: Some(format!(
                "fivestar {} run {run} of {}",
                env!("CARGO_PKG_VERSION"),
                pipeline.file.display()
            )),
            pipeline_sha256: Some(pipeline.sha256.clone()),
        },
        generated_at: fivestar_store::now_utc().1,
        progress,
        linked,
        identity: None,
        figures: Vec::new(),
        summaries: Vec::new(),
    }
}

/// Publishes one release at a time in this process: runs of different datasets (scheduled,
/// or asked for through the admin API) share the store, and a publish is load, statistics and
/// a catalogue transaction, each wanting the machine to itself. Then, outside that one-at-a-
/// time lock, the `[[publish_to]]` targets get the new live state: a slow target holds this
/// run, not the next dataset's publish.
pub fn publish_one(publisher: &dyn Publisher, request: &PublishRequest) -> Result<ReleaseInfo> {
    static PUBLISH: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let mut info = {
        let _one = PUBLISH.lock().unwrap_or_else(|e| e.into_inner());
        publisher.publish(request)?
    };
    let (t, cpu) = (std::time::Instant::now(), fivestar_store::cpu_time());
    info.mirrors = publisher.sync();
    if !info.mirrors.is_empty() {
        info.phases.push(("publish_to targets", t.elapsed()));
        if let (Some(a), Some(b)) = (cpu, fivestar_store::cpu_time()) {
            info.cpu.push(("publish_to targets", b.saturating_sub(a)));
        }
    }
    Ok(info)
}
