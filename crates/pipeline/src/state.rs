//! What a run keeps between runs and beside itself in the store's folder:
//!
//! ```text
//! {store}/sources/{sha256}                  every fetched body, content-addressed
//! {store}/runs/{dataset}/state.json         validators, hashes and the last runs
//! {store}/runs/{dataset}/.lock              one run per dataset at a time
//! {store}/runs/{dataset}/{run}/report.{json,txt,html}   (the run's other files go when it ends)
//! ```

use crate::fetch::Validators;
use crate::report::{Outcome, Report, Severity};
use fivestar_store::Layout;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A run's summary, kept in the dataset's state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunSummary {
    pub run: String,
    pub outcome: Outcome,
    pub started: String,
    pub finished: String,
    #[serde(default)]
    pub release: Option<String>,
    pub errors: usize,
    pub warnings: usize,
    /// The first error, for `fivestar status`.
    #[serde(default)]
    pub message: Option<String>,
    /// Data rows in the release (published runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// What fivestar remembers about a dataset between runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// From the last fetch that got a body.
    #[serde(default)]
    pub validators: Validators,
    /// The pipeline file's sha256 at the last completed run.
    #[serde(default)]
    pub pipeline_sha256: Option<String>,
    /// The sha256 of the source the last completed run (published or blocked) processed: a
    /// run that failed half-way is retried even though the source has not changed.
    #[serde(default)]
    pub processed_sha256: Option<String>,
    /// The last run of any outcome.
    #[serde(default)]
    pub last: Option<RunSummary>,
    /// The last run that published a release.
    #[serde(default)]
    pub last_published: Option<RunSummary>,
    /// When the source was last checked successfully (published or found unchanged).
    #[serde(default)]
    pub last_checked: Option<String>,
    /// When the last run of any outcome (unchanged included) finished: the scheduler counts
    /// from here.
    #[serde(default)]
    pub last_attempt: Option<String>,
}

pub fn load_state(layout: &Layout, dataset: &str) -> State {
    std::fs::read_to_string(layout.runs(dataset).join("state.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

pub(crate) fn save_state(layout: &Layout, dataset: &str, state: &State) -> std::io::Result<()> {
    let dir = layout.runs(dataset);
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(".state.json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(tmp, dir.join("state.json"))
}

/// Holds `runs/{dataset}/.lock` for the length of a run: one run per dataset at a time, across
/// processes. A lock left by a process that no longer exists is taken over.
pub(crate) struct Lock(PathBuf);

impl Lock {
    pub(crate) fn take(layout: &Layout, dataset: &str) -> Result<Lock, String> {
        let dir = layout.runs(dataset);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join(".lock");
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    let _ = write!(f, "{}", std::process::id());
                    return Ok(Lock(path));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let pid = std::fs::read_to_string(&path).unwrap_or_default();
                    let alive = pid
                        .trim()
                        .parse::<u32>()
                        .is_ok_and(|p| Path::new(&format!("/proc/{p}")).exists());
                    if alive {
                        return Err(format!(
                            "a run of {dataset} is already in progress (process {})",
                            pid.trim()
                        ));
                    }
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
        Err(format!("cannot take {}", path.display()))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

const REPORT_FILES: [&str; 3] = ["report.json", "report.txt", "report.html"];

/// Removes every file of a finished run but its report.
pub(crate) fn keep_only_reports(run_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(run_dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if !REPORT_FILES.iter().any(|r| name == *r) {
            let p = e.path();
            let removed = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            if let Err(err) = removed {
                tracing::warn!(file = %p.display(), error = %err, "cannot remove a run's file");
            }
        }
    }
}

/// Removes the folders of runs that never wrote a report (killed).
pub(crate) fn remove_killed_runs(dataset_runs: &Path) {
    let Ok(entries) = std::fs::read_dir(dataset_runs) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() && !p.join("report.json").exists() {
            tracing::info!(run = %p.display(), "removing the files of a killed run");
            let _ = std::fs::remove_dir_all(&p);
        }
    }
}

/// The stored report of run `run` of `dataset` (a release has its run's id), if there is one.
pub fn read_report(layout: &Layout, dataset: &str, run: &str) -> Option<Report> {
    let bytes = std::fs::read(layout.run(dataset, run).join("report.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub(crate) fn write_report(dir: &Path, report: &Report) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("report.json"), report.to_json())?;
    std::fs::write(dir.join("report.txt"), report.to_text(Severity::Info))?;
    std::fs::write(dir.join("report.html"), report.to_html())
}

pub(crate) fn keep_source(layout: &Layout, sha256: &str, bytes: &[u8]) -> std::io::Result<()> {
    keep_with(layout, sha256, |tmp| std::fs::write(tmp, bytes))
}

/// Keeps the file at `file` under `sources/` by its sha256, as fetched sources are kept (an
/// uploaded file, say); returns the sha256.
pub fn keep_source_file(layout: &Layout, file: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut std::fs::File::open(file)?, &mut h)?;
    let sum = hex::encode(h.finalize());
    keep_with(layout, &sum, |tmp| std::fs::copy(file, tmp).map(|_| ()))?;
    Ok(sum)
}

/// Writes `sources/{sha256}` through a temporary name, unless it is kept already.
fn keep_with(
    layout: &Layout,
    sha256: &str,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let path = layout.source(sha256);
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    write(&tmp)?;
    std::fs::rename(tmp, path)
}
