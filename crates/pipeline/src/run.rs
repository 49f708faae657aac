//! One run of a pipeline: fetch → tidy → screen and rules → CSVW validation (the gate) →
//! convert → publish, with a report stored beside the run.
//!
//! Store layout used here:
//!
//! ```text
//! {store}/sources/{sha256}                  every fetched body, content-addressed
//! {store}/runs/{dataset}/state.json         validators, hashes and the last runs
//! {store}/runs/{dataset}/{run}/report.{json,txt,html}, {dataset}.csv, -metadata.json
//! ```

use crate::config::{Instance, Location, Mapping, Personal, Pipeline};
use crate::fetch::{self, Fetched, Validators};
use crate::report::{Outcome, Problem, Report, Severity};
use crate::screen;
use csvw::fetch::{Fetcher, Resource};
use fivestar_council::links::Output;
use fivestar_council::LinkKind;
use fivestar_store::{DatasetInfo, LoadProgress, Provenance, PublishRequest, Publisher};
use fivestar_tidy::{ColumnRule, TidyOptions, ValueKind};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The stages a run goes through, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Download,
    Tidy,
    Validate,
    Convert,
    Load,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Download => "download",
            Stage::Tidy => "tidy",
            Stage::Validate => "validate",
            Stage::Convert => "convert",
            Stage::Load => "load",
        }
    }
}

/// Told when a stage starts (`Some(total)` when its size is known) and how it advances.
pub trait Progress: Send + Sync {
    fn stage(&self, dataset: &str, stage: Stage, total: Option<u64>);
    fn advance(&self, dataset: &str, done: u64);
    fn finish(&self, dataset: &str, outcome: Outcome);
}

/// No progress display.
pub struct Quiet;
impl Progress for Quiet {
    fn stage(&self, _: &str, _: Stage, _: Option<u64>) {}
    fn advance(&self, _: &str, _: u64) {}
    fn finish(&self, _: &str, _: Outcome) {}
}

/// How to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Run even when the source and the pipeline are unchanged.
    pub force: bool,
    /// Stop at the gate: publish nothing and leave the dataset's state as it was.
    pub validate_only: bool,
}

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

pub fn runs_dir(store: &Path, dataset: &str) -> PathBuf {
    store.join("runs").join(dataset)
}

pub fn load_state(store: &Path, dataset: &str) -> State {
    std::fs::read_to_string(runs_dir(store, dataset).join("state.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn save_state(store: &Path, dataset: &str, state: &State) -> std::io::Result<()> {
    let dir = runs_dir(store, dataset);
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
struct Lock(PathBuf);

impl Lock {
    fn take(store: &Path, dataset: &str) -> Result<Lock, String> {
        let dir = runs_dir(store, dataset);
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

/// The current time as (run id, xsd:dateTime).
pub fn now() -> (String, String) {
    fivestar_store::now_utc()
}

/// Where a run works and what it publishes to.
#[derive(Clone)]
pub struct Context<'a> {
    /// Fetch limits and defaults.
    pub instance: &'a Instance,
    /// The base IRI every published IRI starts with (no trailing slash).
    pub base: &'a str,
    /// Where releases go; `None` only for runs that stop at the gate (validate).
    pub publisher: Option<&'a dyn Publisher>,
    /// The folder that holds `runs/` and `sources/` (the store's folder; a scratch folder for
    /// a validation outside any store).
    pub dir: &'a Path,
    pub progress: Arc<dyn Progress>,
}

/// Runs one pipeline. Always returns a report; its outcome says what happened, and it has
/// been stored under `runs/` (except for an unchanged source, which only updates the state).
pub fn run(ctx: &Context<'_>, pipeline: &Pipeline, options: RunOptions) -> Report {
    let store_dir = ctx.dir;
    let progress = &*ctx.progress;
    let (run_id, started) = now();
    let dataset = pipeline.id.clone();
    let dir = runs_dir(store_dir, &dataset);
    let mut run_id = run_id;
    for n in 2.. {
        if !dir.join(&run_id).exists() {
            break;
        }
        run_id = format!("{}-{n}", now().0);
    }
    let mut report = Report {
        dataset: dataset.clone(),
        run: run_id.clone(),
        pipeline: pipeline.file.display().to_string(),
        source: pipeline.source.location.to_string(),
        outcome: Outcome::Failed,
        started: started.clone(),
        finished: String::new(),
        release: None,
        source_sha256: None,
        facts: Vec::new(),
        problems: Vec::new(),
    };
    let _lock = match Lock::take(store_dir, &dataset) {
        Ok(l) => l,
        Err(e) => {
            report
                .problems
                .push(Problem::new(Severity::Error, "lock", e));
            report.finished = now().1;
            progress.finish(&dataset, report.outcome);
            return report;
        }
    };
    // Runs killed before their report: their intermediate files (a gigabyte for a big
    // source) are of no use to anyone. (The lock says no other run of this dataset is on.)
    remove_killed_runs(&dir);
    let mut state = load_state(store_dir, &dataset);
    let outcome = execute(ctx, pipeline, options, &mut state, &mut report);
    report.outcome = match outcome {
        Ok(o) => o,
        Err(p) => {
            report.problems.push(*p);
            Outcome::Failed
        }
    };
    report.finished = now().1;
    let summary = RunSummary {
        run: run_id.clone(),
        outcome: report.outcome,
        started,
        finished: report.finished.clone(),
        release: report.release.clone(),
        errors: report.count(Severity::Error),
        warnings: report.count(Severity::Warning),
        message: report
            .problems
            .iter()
            .find(|p| p.severity == Severity::Error)
            .map(crate::report::problem_line),
        rows: report
            .facts
            .iter()
            .find(|(k, _)| k == "rows")
            .and_then(|(_, v)| v.parse().ok()),
    };
    if report.outcome != Outcome::Unchanged {
        let run_dir = dir.join(&run_id);
        if let Err(e) = write_report(&run_dir, &report) {
            tracing::error!(dataset, error = %e, "cannot store the run's report");
        }
        // The report stays; the clean table, its metadata and the N-Triples go: a published
        // release has its own copies under dumps/, and a blocked one may hold personal data.
        keep_only_reports(&run_dir);
    }
    if !options.validate_only {
        match report.outcome {
            Outcome::Published => {
                state.last_published = Some(summary.clone());
                state.last_checked = Some(report.finished.clone());
                state.pipeline_sha256 = Some(pipeline.sha256.clone());
                state.processed_sha256 = report.source_sha256.clone();
            }
            Outcome::Unchanged => state.last_checked = Some(report.finished.clone()),
            Outcome::Blocked => {
                state.pipeline_sha256 = Some(pipeline.sha256.clone());
                state.processed_sha256 = report.source_sha256.clone();
            }
            _ => {}
        }
        state.last_attempt = Some(report.finished.clone());
        // An unchanged source leaves the last real run (a blocked one, say) on show.
        if report.outcome != Outcome::Unchanged || state.last.is_none() {
            state.last = Some(summary);
        }
        if let Err(e) = save_state(store_dir, &dataset, &state) {
            tracing::error!(dataset, error = %e, "cannot save the dataset's state");
        }
    }
    progress.finish(&dataset, report.outcome);
    report
}

const REPORT_FILES: [&str; 3] = ["report.json", "report.txt", "report.html"];

/// Removes every file of a finished run but its report.
fn keep_only_reports(run_dir: &Path) {
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
fn remove_killed_runs(dataset_runs: &Path) {
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

fn write_report(dir: &Path, report: &Report) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("report.json"), report.to_json())?;
    std::fs::write(dir.join("report.txt"), report.to_text(Severity::Info))?;
    std::fs::write(dir.join("report.html"), report.to_html())
}

fn fail(rule: &str, message: impl Into<String>) -> Box<Problem> {
    Box::new(Problem::new(Severity::Error, rule, message))
}

/// The content-addressed copy of a body.
pub fn source_path(store_dir: &Path, sha256: &str) -> PathBuf {
    store_dir.join("sources").join(sha256)
}

fn keep_source(store_dir: &Path, sha256: &str, bytes: &[u8]) -> std::io::Result<()> {
    keep_with(store_dir, sha256, |tmp| std::fs::write(tmp, bytes))
}

/// Keeps the file at `file` under `sources/` by its sha256, as fetched sources are kept (an
/// uploaded file, say); returns the sha256.
pub fn keep_source_file(store_dir: &Path, file: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut std::fs::File::open(file)?, &mut h)?;
    let sum = hex::encode(h.finalize());
    keep_with(store_dir, &sum, |tmp| std::fs::copy(file, tmp).map(|_| ()))?;
    Ok(sum)
}

/// Writes `sources/{sha256}` through a temporary name, unless it is kept already.
fn keep_with(
    store_dir: &Path,
    sha256: &str,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let path = source_path(store_dir, sha256);
    if path.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(path.parent().unwrap_or(store_dir))?;
    let tmp = path.with_extension("tmp");
    write(&tmp)?;
    std::fs::rename(tmp, path)
}

fn execute(
    ctx: &Context<'_>,
    pipeline: &Pipeline,
    options: RunOptions,
    state: &mut State,
    report: &mut Report,
) -> Result<Outcome, Box<Problem>> {
    let (instance, store_dir, progress) = (ctx.instance, ctx.dir, &*ctx.progress);
    let publisher = match (ctx.publisher, options.validate_only) {
        (Some(p), _) => Some(p),
        (None, true) => None,
        (None, false) => return Err(fail("publish", "no store to publish to")),
    };
    let dataset = pipeline.id.as_str();
    let same_pipeline = state.pipeline_sha256.as_deref() == Some(pipeline.sha256.as_str());
    let have_copy = state
        .validators
        .sha256
        .as_deref()
        .is_some_and(|s| source_path(store_dir, s).is_file());
    // Ask conditionally only when the last body is kept (a 304 must leave us something to use)
    // and was taken to a conclusion (else a 304 would hide a run that failed half-way).
    let concluded =
        state.processed_sha256.is_some() && state.processed_sha256 == state.validators.sha256;
    let conditional =
        (have_copy && concluded && !options.validate_only).then_some(&state.validators);
    let mut clock = std::time::Instant::now();
    let mut lap = |report: &mut Report, name: &str| {
        report.facts.push((
            format!("seconds: {name}"),
            format!("{:.2}", clock.elapsed().as_secs_f64()),
        ));
        clock = std::time::Instant::now();
    };
    progress.stage(dataset, Stage::Download, None);
    let fetched = fetch::fetch(&pipeline.source, conditional, &instance.fetch)
        .map_err(|e| fail("fetch", e.to_string()))?;
    let (bytes, sha256, fetched_at) = match fetched {
        Fetched::NotModified => {
            let sha = state.validators.sha256.clone().unwrap_or_default();
            if same_pipeline && !options.force {
                report.source_sha256 = Some(sha);
                report.problems.push(Problem::new(
                    Severity::Info,
                    "unchanged",
                    "the server answered 304 Not Modified and the pipeline is unchanged: nothing to do",
                ));
                return Ok(Outcome::Unchanged);
            }
            let bytes = std::fs::read(source_path(store_dir, &sha)).map_err(|e| {
                fail(
                    "source",
                    format!("the kept copy of the source is unreadable: {e}"),
                )
            })?;
            (bytes, sha, now().1)
        }
        Fetched::Body(body) => {
            let unchanged = state.processed_sha256.as_deref() == Some(body.sha256.as_str());
            if !options.validate_only {
                state.validators = body.validators.clone();
            }
            if unchanged && same_pipeline && !options.force && !options.validate_only {
                report.source_sha256 = Some(body.sha256.clone());
                report.problems.push(Problem::new(
                    Severity::Info,
                    "unchanged",
                    "the source's sha256 and the pipeline are as at the last run: nothing to do",
                ));
                return Ok(Outcome::Unchanged);
            }
            (body.bytes, body.sha256, body.fetched_at)
        }
    };
    progress.advance(dataset, bytes.len() as u64);
    report.source_sha256 = Some(sha256.clone());
    keep_source(store_dir, &sha256, &bytes).map_err(|e| {
        fail(
            "source",
            format!("cannot keep the source under sources/: {e}"),
        )
    })?;

    lap(report, "fetch");
    // Tidy.
    progress.stage(dataset, Stage::Tidy, None);
    let source_name = match &pipeline.source.location {
        Location::Url(u) => u
            .path_segments()
            .and_then(|mut s| s.next_back())
            .unwrap_or("source")
            .to_string(),
        Location::File(p) => p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let mapping = load_mapping(pipeline, ctx.base)?;
    let mut notes = Vec::new();
    let read_options = fivestar_tidy::ReadOptions {
        format: pipeline.source.format,
        sheet: pipeline.source.sheet.clone(),
        encoding: pipeline.source.encoding.clone(),
        delimiter: None,
        limits: Default::default(),
    };
    let grid = match fivestar_tidy::read(&bytes, &read_options, &mut notes) {
        Ok(g) => g,
        Err(note) => {
            push_notes(report, notes, &source_name);
            push_notes(report, vec![note], &source_name);
            return Ok(Outcome::Blocked);
        }
    };
    if let Some(f) = grid.format {
        report.facts.push(("format".into(), f.name().into()));
    }
    if let Some(e) = grid.encoding {
        report.facts.push(("encoding".into(), e.into()));
    }
    if let Some(s) = &grid.sheet {
        report.facts.push(("sheet".into(), s.clone()));
    }
    let mut table = fivestar_tidy::tidy(
        grid,
        &TidyOptions {
            columns: mapping.rules.clone(),
        },
        &mut notes,
    );
    report
        .facts
        .push(("header row".into(), table.header_row.to_string()));
    report
        .facts
        .push(("rows".into(), table.rows.len().to_string()));
    for (c, o) in &table.date_orders {
        report
            .facts
            .push((format!("date order of {c:?}"), o.name().into()));
    }
    push_notes(report, notes, &source_name);
    progress.advance(dataset, table.rows.len() as u64);
    // Not data: a header without rows would replace the live release with nothing, and a
    // source that lost most of its rows is more likely broken than reformed.
    if table.rows.is_empty() {
        report.problems.push(*fail(
            "no-rows",
            format!("{source_name} has a header row but no data rows: there is nothing to publish"),
        ));
        return Ok(Outcome::Blocked);
    }
    let live_rows = state.last_published.as_ref().and_then(|s| s.rows);
    if let Some(live) = live_rows.filter(|_| !options.force) {
        let rows = table.rows.len() as u64;
        let allowed = pipeline.rules.allow_shrink();
        let lost = live.saturating_sub(rows) as f64 / live.max(1) as f64;
        if lost > allowed {
            report.problems.push(*fail(
                "shrink",
                format!(
                    "{source_name} has {rows} rows; the live release has {live} ({:.0}% fewer, and at most {:.0}% may go): run with --force, or set allow_shrink in [rules], if the source really shrank",
                    lost * 100.0,
                    allowed * 100.0
                ),
            ));
            return Ok(Outcome::Blocked);
        }
    }

    // Redaction, the personal-data screen and the pipeline's rules.
    lap(report, "tidy");
    progress.stage(dataset, Stage::Validate, Some(table.rows.len() as u64));
    gate(pipeline, &mapping, &mut table, &source_name, report);
    link(&mapping, &mut table, &source_name, report)?;

    // The clean table and its metadata, then CSVW validation.
    let run_dir = runs_dir(store_dir, dataset).join(&report.run);
    std::fs::create_dir_all(&run_dir)
        .map_err(|e| fail("io", format!("{}: {e}", run_dir.display())))?;
    let csv_name = format!("{dataset}.csv");
    let meta_name = format!("{dataset}.csv-metadata.json");
    let csv_path = run_dir.join(&csv_name);
    let meta_path = run_dir.join(&meta_name);
    let io = |e: std::io::Error| fail("io", e.to_string());
    table
        .write_csv(std::io::BufWriter::new(
            std::fs::File::create(&csv_path).map_err(io)?,
        ))
        .map_err(io)?;
    let clean_meta = clean_metadata(&mapping, &csv_name);
    std::fs::write(
        &meta_path,
        serde_json::to_vec_pretty(&clean_meta).map_err(|e| fail("io", e.to_string()))?,
    )
    .map_err(io)?;
    let base = format!("{}/id/{dataset}/", ctx.base);
    let fetcher = DirFetcher {
        base: url::Url::parse(&base).map_err(|e| fail("base-iri", format!("{base}: {e}")))?,
        dir: run_dir.clone(),
    };
    let meta_url = fetcher
        .base
        .join(&meta_name)
        .map_err(|e| fail("base-iri", e.to_string()))?;
    let csvw_options = csvw::Options {
        metadata: Some(meta_url.clone()),
        diagnostic_limit: 1000,
        ..csvw::Options::default()
    };
    let validation = csvw::validate(&meta_url, &fetcher, csvw_options.clone());
    match validation {
        Ok(r) => {
            for d in r.diagnostics {
                report
                    .problems
                    .push(from_csvw(d, &table, &mapping, &source_name));
            }
            if r.dropped > 0 {
                report.problems.push(Problem::new(
                    Severity::Warning,
                    "csvw",
                    format!("{} further CSVW diagnostics were not listed", r.dropped),
                ));
            }
        }
        Err(e) => report.problems.push(*fail(
            "csvw",
            format!("the mapping's metadata is not usable: {e}"),
        )),
    }
    if report.has_errors() {
        return Ok(Outcome::Blocked);
    }
    let Some(publisher) = publisher.filter(|_| !options.validate_only) else {
        return Ok(Outcome::Valid);
    };

    // Convert and publish.
    lap(report, "gate, links and CSVW validation");
    progress.stage(dataset, Stage::Convert, Some(table.rows.len() as u64));
    let nt = run_dir.join(format!("{dataset}.nt"));
    {
        use std::io::Write;
        let out = std::io::BufWriter::new(std::fs::File::create(&nt).map_err(io)?);
        let mut sink =
            csvw::rdf::SerializerSink::new(fivestar_store::oxigraph::io::RdfFormat::NTriples, out);
        csvw::to_rdf(&meta_url, &fetcher, csvw_options, true, &mut sink)
            .map_err(|e| fail("convert", e.to_string()))?;
        sink.finish().and_then(|mut w| w.flush()).map_err(io)?;
    }
    lap(report, "csv2rdf");
    progress.stage(dataset, Stage::Load, None);
    let source_iri = match &pipeline.source.location {
        Location::Url(u) => u.to_string(),
        Location::File(p) => std::path::absolute(p)
            .ok()
            .and_then(|a| url::Url::from_file_path(a).ok())
            .map(|u| u.to_string())
            .unwrap_or_default(),
    };
    let request = PublishRequest {
        dataset: DatasetInfo {
            id: dataset.to_string(),
            title: pipeline.title.clone(),
            description: pipeline.description.clone(),
            publisher: pipeline.publisher.clone(),
            licence: pipeline.licence.clone(),
        },
        release: report.run.clone(),
        ntriples: nt.clone(),
        csv: Some((csv_path, meta_path)),
        provenance: Provenance {
            source: Some(source_iri),
            source_sha256: Some(sha256),
            fetched_at: Some(fetched_at),
            run: Some(format!(
                "fivestar {} run {} of {}",
                env!("CARGO_PKG_VERSION"),
                report.run,
                pipeline.file.display()
            )),
            pipeline_sha256: Some(pipeline.sha256.clone()),
        },
        generated_at: now().1,
        progress: Some(LoadProgress({
            let (progress, dataset) = (ctx.progress.clone(), dataset.to_string());
            Arc::new(move |n| progress.advance(&dataset, n))
        })),
    };
    let published = publish_one(publisher, &request);
    let _ = std::fs::remove_file(&nt);
    let info = published.map_err(|e| fail("publish", e.to_string()))?;
    report
        .facts
        .push(("triples".into(), info.triples.to_string()));
    for (name, d) in &info.phases {
        report.facts.push((
            format!("seconds: publish: {name}"),
            format!("{:.2}", d.as_secs_f64()),
        ));
    }
    report.release = Some(info.release);
    Ok(Outcome::Published)
}

/// Publishes one release at a time in this process: runs of different datasets (scheduled,
/// or asked for through the admin API) share the store, and a publish is load, statistics and
/// a catalogue transaction, each wanting the machine to itself.
pub fn publish_one(
    publisher: &dyn Publisher,
    request: &PublishRequest,
) -> fivestar_store::Result<fivestar_store::ReleaseInfo> {
    static PUBLISH: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = PUBLISH.lock().unwrap_or_else(|e| e.into_inner());
    publisher.publish(request)
}

fn push_notes(report: &mut Report, notes: Vec<fivestar_tidy::Note>, file: &str) {
    for n in notes {
        let mut p = Problem::from(n);
        p.file = Some(file.to_string());
        report.problems.push(p);
    }
}

/// A column of the mapping, with what tidy and the gate need.
#[derive(Debug, Clone)]
struct MappedColumn {
    /// The metadata's column name.
    name: String,
    titles: Vec<String>,
    personal: Personal,
    may_name_individuals: bool,
    /// The link rules of the column.
    links: Vec<LinkRule>,
}

/// A link rule: a column `{column}_{kind}` of links, published with `property` about `about`.
#[derive(Debug, Clone)]
struct LinkRule {
    kind: LinkKind,
    property: String,
    about: Option<String>,
}

/// The mapping, read from the pipeline's CSVW metadata and its column overrides.
struct LoadedMapping {
    /// The metadata document (one table), as JSON.
    metadata: serde_json::Value,
    columns: Vec<MappedColumn>,
    rules: Vec<ColumnRule>,
    /// Columns whose values tidy rewrites (so their datatype `format` no longer applies).
    normalised: Vec<bool>,
    /// The easting and northing columns (a template's `geo`), from which latitude, longitude
    /// and WKT columns are computed.
    geo: Option<(usize, usize)>,
    /// The metadata already describes the computed columns (templates do).
    computed_described: bool,
    /// The URI templates (about and value) of each of the template's statements.
    statements: Vec<Vec<String>>,
    /// Where supplier keys go: `{base}/id/council/{GSS}/supplier/` (one URI per supplier across
    /// a council's datasets), or the dataset's own `{base}/id/{dataset}/supplier/`.
    supplier_base: String,
    /// The dataset id (redacted suppliers are one per row of a dataset).
    dataset: String,
}

fn supplier_base(pipeline: &Pipeline, base: &str) -> String {
    let base = base.trim_end_matches('/');
    match &pipeline.publisher_code {
        Some(gss) => format!("{base}/id/council/{gss}/supplier/"),
        None => format!("{base}/id/{}/supplier/", pipeline.id),
    }
}

fn titles_of(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        serde_json::Value::Object(o) => o.values().flat_map(titles_of).collect(),
        _ => Vec::new(),
    }
}

fn kind_of_datatype(dt: &serde_json::Value) -> ValueKind {
    let base = match dt {
        serde_json::Value::String(s) => s.as_str(),
        serde_json::Value::Object(o) => o.get("base").and_then(|b| b.as_str()).unwrap_or("string"),
        _ => "string",
    };
    match base.trim_start_matches("xsd:") {
        "date" => ValueKind::Date,
        "dateTime" | "datetime" | "dateTimeStamp" => ValueKind::DateTime,
        "decimal" | "double" | "float" | "number" => ValueKind::Amount,
        "integer" | "int" | "long" | "short" | "byte" | "nonNegativeInteger"
        | "positiveInteger" | "nonPositiveInteger" | "negativeInteger" | "unsignedLong"
        | "unsignedInt" | "unsignedShort" | "unsignedByte" => ValueKind::Integer,
        _ => ValueKind::Text,
    }
}

fn load_mapping(pipeline: &Pipeline, base: &str) -> Result<LoadedMapping, Box<Problem>> {
    let path = match &pipeline.mapping {
        Mapping::Metadata(p) => p,
        Mapping::Template(t) => return template_mapping(pipeline, t, base),
    };
    let shown = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| fail("metadata", format!("{shown}: {e}")))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| fail("metadata", format!("{shown}: not JSON: {e}")))?;
    let mut table = match doc.get("tables") {
        Some(serde_json::Value::Array(tables)) if tables.len() == 1 => {
            let mut t = tables[0].clone();
            if let (Some(to), Some(go)) = (t.as_object_mut(), doc.as_object()) {
                for (k, v) in go {
                    if k != "tables" && k != "dialect" && !to.contains_key(k) {
                        to.insert(k.clone(), v.clone());
                    }
                }
            }
            t
        }
        Some(_) => {
            return Err(fail(
                "metadata",
                format!("{shown}: a pipeline maps one table; this metadata describes several"),
            ))
        }
        None => doc,
    };
    let obj = table
        .as_object_mut()
        .ok_or_else(|| fail("metadata", format!("{shown}: not a JSON object")))?;
    obj.remove("dialect");
    let schema = obj
        .get_mut("tableSchema")
        .and_then(|s| s.as_object_mut())
        .ok_or_else(|| {
            fail(
                "metadata",
                format!("{shown}: the mapping needs an inline `tableSchema` object"),
            )
        })?;
    let cols = schema
        .get_mut("columns")
        .and_then(|c| c.as_array_mut())
        .ok_or_else(|| {
            fail(
                "metadata",
                format!("{shown}: `tableSchema` has no `columns`"),
            )
        })?;
    let mut columns = Vec::new();
    let mut rules = Vec::new();
    let mut normalised = Vec::new();
    let mut used_overrides = Vec::new();
    for (i, c) in cols.iter().enumerate() {
        if c.get("virtual").and_then(|v| v.as_bool()) == Some(true) {
            continue;
        }
        let titles = c.get("titles").map(titles_of).unwrap_or_default();
        let name = c
            .get("name")
            .and_then(|n| n.as_str())
            .map(String::from)
            .or_else(|| titles.first().cloned())
            .unwrap_or_else(|| format!("_col.{}", i + 1));
        let over = std::iter::once(&name)
            .chain(titles.iter())
            .find_map(|k| pipeline.columns.get(k).map(|o| (k.clone(), o.clone())));
        let (okey, over) = match over {
            Some((k, o)) => (Some(k), o),
            None => (None, Default::default()),
        };
        if let Some(k) = okey {
            used_overrides.push(k);
        }
        let datatype_kind = c.get("datatype").map(kind_of_datatype).unwrap_or_default();
        let kind = over.format.unwrap_or(datatype_kind);
        let header = titles.first().cloned().unwrap_or_else(|| name.clone());
        let mut aliases = titles.clone();
        aliases.push(name.clone());
        aliases.extend(over.aliases.iter().cloned());
        rules.push(ColumnRule {
            name: header,
            aliases,
            kind,
            date_order: over.date_order,
            required: c.get("required").and_then(|r| r.as_bool()).unwrap_or(false)
                || pipeline.rules.required.iter().any(|r| r == &name),
            optional: false,
        });
        normalised.push(kind != ValueKind::Text);
        columns.push(MappedColumn {
            name,
            titles,
            personal: over.personal,
            may_name_individuals: over.may_name_individuals,
            links: over
                .link
                .map(|kind| LinkRule {
                    kind,
                    property: over
                        .link_property
                        .clone()
                        .unwrap_or_else(|| crate::config::DEFAULT_LINK_PROPERTY.to_string()),
                    about: None,
                })
                .into_iter()
                .collect(),
        });
    }
    check_overrides_and_rules(pipeline, &columns, &used_overrides)?;
    Ok(LoadedMapping {
        metadata: table,
        columns,
        rules,
        normalised,
        geo: None,
        computed_described: false,
        statements: Vec::new(),
        supplier_base: supplier_base(pipeline, base),
        dataset: pipeline.id.clone(),
    })
}

fn check_overrides_and_rules(
    pipeline: &Pipeline,
    columns: &[MappedColumn],
    used_overrides: &[String],
) -> Result<(), Box<Problem>> {
    for k in pipeline.columns.keys() {
        if !used_overrides.contains(k) {
            return Err(fail(
                "pipeline",
                format!(
                    "{}: key `columns.{k}`: the mapping has no column named or titled {k:?} (it has {})",
                    pipeline.file.display(),
                    columns.iter().map(|c| format!("{:?}", c.name)).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    for r in pipeline
        .rules
        .unique
        .iter()
        .chain(pipeline.rules.required.iter())
    {
        if !columns.iter().any(|c| &c.name == r || c.titles.contains(r)) {
            return Err(fail(
                "pipeline",
                format!(
                    "{}: key `rules`: no column {r:?} in the mapping",
                    pipeline.file.display()
                ),
            ));
        }
    }
    Ok(())
}

/// The mapping of a council template: its columns with the pipeline's overrides, and CSVW
/// metadata made from it (computed link and geo columns included).
fn template_mapping(
    pipeline: &Pipeline,
    id: &str,
    base: &str,
) -> Result<LoadedMapping, Box<Problem>> {
    let mut template = fivestar_council::Template::get(id).map_err(|e| {
        fail(
            "template",
            format!("{}: key `template`: {e}", pipeline.file.display()),
        )
    })?;
    let mut columns = Vec::new();
    let mut rules = Vec::new();
    let mut normalised = Vec::new();
    let mut used_overrides = Vec::new();
    for c in template.columns.iter_mut() {
        let over = [&c.name, &c.title]
            .into_iter()
            .find_map(|k| pipeline.columns.get(k).map(|o| (k.clone(), o.clone())));
        let over = match over {
            Some((k, o)) => {
                used_overrides.push(k);
                o
            }
            None => Default::default(),
        };
        if let Some(kind) = over.link {
            c.links.push(fivestar_council::template::Link {
                kind,
                property: over
                    .link_property
                    .clone()
                    .unwrap_or_else(|| crate::config::DEFAULT_LINK_PROPERTY.to_string()),
                about: None,
            });
        }
        let kind = over.format.unwrap_or(c.format);
        let mut aliases = c.aliases.clone();
        aliases.push(c.name.clone());
        aliases.extend(over.aliases.iter().cloned());
        rules.push(ColumnRule {
            name: c.title.clone(),
            aliases,
            kind,
            date_order: over.date_order,
            required: pipeline.rules.required.iter().any(|r| r == &c.name),
            optional: !c.core && !c.required,
        });
        normalised.push(kind != ValueKind::Text);
        columns.push(MappedColumn {
            name: c.name.clone(),
            titles: vec![c.title.clone()],
            personal: over.personal,
            may_name_individuals: c.may_name_individuals || over.may_name_individuals,
            links: c
                .links
                .iter()
                .map(|l| LinkRule {
                    kind: l.kind,
                    property: fivestar_council::template::expand(&l.property, base),
                    about: l.about.clone(),
                })
                .collect(),
        });
    }
    check_overrides_and_rules(pipeline, &columns, &used_overrides)?;
    let mut metadata = template.metadata(base);
    if let Some(o) = metadata.as_object_mut() {
        o.insert("dc:title".into(), pipeline.title.clone().into());
        if !pipeline.description.is_empty() {
            o.insert("dc:description".into(), pipeline.description.clone().into());
        }
        if let Some(p) = &pipeline.publisher {
            o.insert("dc:publisher".into(), serde_json::json!({"@id": p}));
        }
        o.insert(
            "dc:license".into(),
            serde_json::json!({"@id": pipeline.licence}),
        );
    }
    let geo = template.geo.as_ref().and_then(|g| {
        let e = template.columns.iter().position(|c| c.name == g.easting)?;
        let n = template.columns.iter().position(|c| c.name == g.northing)?;
        Some((e, n))
    });
    Ok(LoadedMapping {
        metadata,
        columns,
        rules,
        normalised,
        geo,
        computed_described: true,
        statements: template
            .statements
            .iter()
            .map(|st| st.about.iter().cloned().chain([st.value.clone()]).collect())
            .collect(),
        supplier_base: supplier_base(pipeline, base),
        dataset: pipeline.id.clone(),
    })
}

impl LoadedMapping {
    /// The column named or titled `name`.
    fn index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name == name || c.titles.iter().any(|t| t == name))
    }
}

/// The metadata for the clean CSV: the mapping's, pointed at the clean file, without a
/// dialect (the clean CSV is RFC 4180 with one header row) and without the `format` of
/// columns whose values tidy normalised (they are now in XSD form).
fn clean_metadata(mapping: &LoadedMapping, csv_name: &str) -> serde_json::Value {
    let mut m = mapping.metadata.clone();
    if let Some(o) = m.as_object_mut() {
        o.insert("url".into(), serde_json::Value::String(csv_name.into()));
        if !o.contains_key("@context") {
            o.insert("@context".into(), "http://www.w3.org/ns/csvw".into());
        }
    }
    if let Some(cols) = m
        .get_mut("tableSchema")
        .and_then(|s| s.get_mut("columns"))
        .and_then(|c| c.as_array_mut())
    {
        let mut k = 0;
        for c in cols.iter_mut() {
            if c.get("virtual").and_then(|v| v.as_bool()) == Some(true) {
                continue;
            }
            if mapping.normalised.get(k) == Some(&true) {
                if let Some(dt) = c.get_mut("datatype").and_then(|d| d.as_object_mut()) {
                    dt.remove("format");
                }
            }
            if let (Some(o), Some(rule)) = (c.as_object_mut(), mapping.rules.get(k)) {
                // The clean CSV's header is the first title: keep it first.
                let mut titles = vec![serde_json::Value::String(rule.name.clone())];
                for t in &mapping.columns[k].titles {
                    if t != &rule.name {
                        titles.push(t.clone().into());
                    }
                }
                o.insert("titles".into(), serde_json::Value::Array(titles));
            }
            k += 1;
        }
        // Link columns come after the mapping's real columns and before its virtual ones.
        let at = cols
            .iter()
            .position(|c| c.get("virtual").and_then(|v| v.as_bool()) == Some(true))
            .unwrap_or(cols.len());
        let links: Vec<serde_json::Value> = if mapping.computed_described {
            Vec::new()
        } else {
            mapping
                .columns
                .iter()
                .flat_map(|c| c.links.iter().map(move |l| (c, l)))
                .map(|(c, l)| {
                    let name = fivestar_council::template::link_column(&c.name, l.kind);
                    let mut spec = serde_json::json!({
                        "name": name,
                        "titles": name,
                        "propertyUrl": l.property,
                    });
                    match l.kind.output() {
                        Output::Iri => spec["valueUrl"] = format!("{{+{name}}}").into(),
                        Output::Literal => {}
                    }
                    if let Some(a) = &l.about {
                        spec["aboutUrl"] = a.clone().into();
                    }
                    spec
                })
                .collect()
        };
        for (i, l) in links.into_iter().enumerate() {
            cols.insert(at + i, l);
        }
    }
    m
}

/// What a redacted value is replaced with.
const REDACTED: &str = "[redacted]";

/// Masks personal data in a report: enough to find the cell, not enough to read it.
fn mask(v: &str) -> String {
    let chars: Vec<char> = v.chars().collect();
    if chars.len() <= 4 {
        return "****".into();
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}…{tail} ({} characters, masked)", chars.len())
}

fn gate(
    pipeline: &Pipeline,
    mapping: &LoadedMapping,
    table: &mut fivestar_tidy::Table,
    file: &str,
    report: &mut Report,
) {
    let sources: Vec<String> = (0..mapping.columns.len())
        .map(|k| table_source(table, k, mapping))
        .collect();
    let mut push = |p: Problem| report.problems.push(p.file(file));
    for (k, col) in mapping.columns.iter().enumerate() {
        let shown = sources[k].as_str();
        match col.personal {
            Personal::Redact => {
                let mut n = 0;
                for row in table.rows.iter_mut().filter(|r| !r[k].is_empty()) {
                    row[k] = REDACTED.into();
                    n += 1;
                }
                push(
                    Problem::new(
                        Severity::Info,
                        "redacted",
                        format!("redacted {n} value(s), as the pipeline asks"),
                    )
                    .column(shown),
                );
                continue;
            }
            Personal::Allow => continue,
            Personal::Screen => {}
        }
        if col.may_name_individuals {
            push(Problem::error(
                "personal-data:names",
                format!(
                    "this column may name individuals: after checking, set `personal = \"allow\"` or `personal = \"redact\"` under [columns.{:?}] in {}",
                    col.name,
                    pipeline.file.display()
                ),
            ).column(shown));
        }
        if mapping.rules[k].kind != ValueKind::Text {
            continue;
        }
        let mut found = 0usize;
        for (i, row) in table.rows.iter().enumerate() {
            let Some(f) = screen::screen(&row[k]) else {
                continue;
            };
            found += 1;
            if found <= 50 {
                push(Problem::error(
                    f.rule(),
                    format!(
                        "looks like {}: publication is blocked; set `personal = \"redact\"` (or `\"allow\"` if it is not personal) under [columns.{:?}]",
                        f.describe(),
                        col.name
                    ),
                )
                .row(table.source_rows[i])
                .column(shown)
                .value(mask(&row[k])));
            }
        }
        if found > 50 {
            push(
                Problem::error(
                    "personal-data",
                    format!("{} more cells with personal data", found - 50),
                )
                .column(shown),
            );
        }
    }
    for k in pipeline
        .rules
        .required
        .iter()
        .filter_map(|n| mapping.index(n))
    {
        for (i, _) in table
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r[k].is_empty())
        {
            push(
                Problem::error("rules:required", "a value is required in every row")
                    .row(table.source_rows[i])
                    .column(&sources[k]),
            );
        }
    }
    for k in pipeline
        .rules
        .unique
        .iter()
        .filter_map(|n| mapping.index(n))
    {
        let mut first: HashMap<&str, u64> = HashMap::new();
        for (i, row) in table
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !r[k].is_empty())
        {
            if let Some(prev) = first.insert(&row[k], table.source_rows[i]) {
                push(
                    Problem::error(
                        "rules:unique",
                        format!("the value is also on row {prev}; values must be unique"),
                    )
                    .row(table.source_rows[i])
                    .column(&sources[k])
                    .value(row[k].clone()),
                );
            }
        }
    }
}

/// Adds a column beside each link rule's column (`{column}_{kind}`): its URIs or normalised
/// identifiers. Values that link to nothing are reported (row and value) and left without a
/// link, never given an invented URI. Then the geo columns, from easting and northing.
fn link(
    mapping: &LoadedMapping,
    table: &mut fivestar_tidy::Table,
    file: &str,
    report: &mut Report,
) -> Result<(), Box<Problem>> {
    let mut linker = fivestar_council::Linker::new();
    for (k, col) in mapping.columns.iter().enumerate() {
        for rule in &col.links {
            let kind = rule.kind;
            let shown = table_source(table, k, mapping);
            let mut unlinked = 0usize;
            let mut linked = 0usize;
            let mut values = Vec::with_capacity(table.rows.len());
            let mut cache: HashMap<&str, Option<String>> = HashMap::new();
            for (i, row) in table.rows.iter().enumerate() {
                let v = row[k].as_str();
                if v.is_empty() {
                    values.push(String::new());
                    continue;
                }
                if v == REDACTED {
                    // A redacted supplier is nobody in particular: one per row, never one
                    // supplier "[redacted]" receiving every redacted payment.
                    values.push(if kind == LinkKind::Supplier {
                        format!(
                            "{}redacted-{}-row-{}",
                            mapping.supplier_base, mapping.dataset, table.source_rows[i]
                        )
                    } else {
                        String::new()
                    });
                    continue;
                }
                // Values repeat (one council, a few hundred suppliers and days): link each once.
                let found = match cache.get(v) {
                    Some(f) => f.clone(),
                    None => {
                        let found = linker.link(kind, v).map_err(|e| fail("link", e))?;
                        let found = match kind {
                            LinkKind::Supplier => {
                                found.map(|key| format!("{}{key}", mapping.supplier_base))
                            }
                            _ => found,
                        };
                        cache.insert(v, found.clone());
                        found
                    }
                };
                match found {
                    Some(u) => {
                        linked += 1;
                        values.push(u);
                    }
                    None => {
                        unlinked += 1;
                        if unlinked <= 50 {
                            report.problems.push(
                                Problem::new(
                                    Severity::Warning,
                                    format!("link:{}", kind.name()),
                                    format!("links to no {}; left unlinked", kind.name()),
                                )
                                .file(file)
                                .row(table.source_rows[i])
                                .column(&shown)
                                .value(v),
                            );
                        }
                        values.push(String::new());
                    }
                }
            }
            if unlinked > 50 {
                report.problems.push(
                    Problem::new(
                        Severity::Warning,
                        format!("link:{}", kind.name()),
                        format!("{} more values link to no {}", unlinked - 50, kind.name()),
                    )
                    .file(file)
                    .column(&shown),
                );
            }
            report.problems.push(
                Problem::new(
                    Severity::Info,
                    format!("link:{}", kind.name()),
                    format!("linked {linked} value(s); {unlinked} could not be linked"),
                )
                .file(file)
                .column(&shown),
            );
            table
                .header
                .push(fivestar_council::template::link_column(&col.name, kind));
            table.source_columns.push(Some(shown));
            for (row, v) in table.rows.iter_mut().zip(values) {
                row.push(v);
            }
        }
    }
    if let Some((e, n)) = mapping.geo {
        let shown = format!(
            "{} / {}",
            table_source(table, e, mapping),
            table_source(table, n, mapping)
        );
        let mut placed = 0usize;
        let mut unplaced = 0usize;
        let mut computed = Vec::with_capacity(table.rows.len());
        for (i, row) in table.rows.iter().enumerate() {
            if row[e].is_empty() && row[n].is_empty() {
                computed.push(Default::default());
                continue;
            }
            let point = match (row[e].parse::<f64>(), row[n].parse::<f64>()) {
                (Ok(x), Ok(y)) => fivestar_council::links::osgb36_to_wgs84(x, y),
                _ => None,
            };
            match point {
                Some((lat, long)) => {
                    placed += 1;
                    let (lat, long) = (
                        fivestar_council::links::format_degrees(lat),
                        fivestar_council::links::format_degrees(long),
                    );
                    let wkt = format!("POINT({long} {lat})");
                    computed.push([lat, long, wkt, "point".into(), "point".into()]);
                }
                None => {
                    unplaced += 1;
                    if unplaced <= 50 {
                        report.problems.push(
                            Problem::new(
                                Severity::Warning,
                                "link:geo",
                                "is not an OSGB36 National Grid easting and northing (0-700000, 0-1300000 m); no latitude and longitude",
                            )
                            .file(file)
                            .row(table.source_rows[i])
                            .column(&shown)
                            .value(format!("{}, {}", row[e], row[n])),
                        );
                    }
                    computed.push(Default::default());
                }
            }
        }
        report.problems.push(
            Problem::new(
                Severity::Info,
                "link:geo",
                format!(
                    "computed WGS84 latitude, longitude and WKT for {placed} row(s) from OSGB36 easting and northing; {unplaced} could not be"
                ),
            )
            .file(file)
            .column(&shown),
        );
        for name in fivestar_council::template::GEO_COLUMNS {
            table.header.push(name.to_string());
            table.source_columns.push(Some(shown.clone()));
        }
        for (row, c) in table.rows.iter_mut().zip(computed) {
            row.extend(c);
        }
    }
    // The template's statements: made only where every column their URIs name has a value.
    for (i, st) in mapping.statements.iter().enumerate() {
        let vars: Vec<usize> = st
            .iter()
            .flat_map(|t| fivestar_council::template::template_variables(t))
            .filter(|v| !v.starts_with('_'))
            .filter_map(|v| {
                table
                    .header
                    .iter()
                    .position(|h| *h == v)
                    .or_else(|| mapping.columns.iter().position(|c| c.name == v))
            })
            .collect();
        table
            .header
            .push(fivestar_council::template::statement_column(i));
        table.source_columns.push(None);
        for row in table.rows.iter_mut() {
            let whole = vars.iter().all(|&j| !row[j].is_empty());
            row.push(if whole { "yes".into() } else { String::new() });
        }
    }
    Ok(())
}

fn table_source(table: &fivestar_tidy::Table, k: usize, mapping: &LoadedMapping) -> String {
    table
        .source_columns
        .get(k)
        .cloned()
        .flatten()
        .unwrap_or_else(|| mapping.columns[k].name.clone())
}

/// A CSVW diagnostic about the clean CSV, pointed back at the source file's row and header.
fn from_csvw(
    d: csvw::Diagnostic,
    table: &fivestar_tidy::Table,
    mapping: &LoadedMapping,
    file: &str,
) -> Problem {
    let column = d.column.as_ref().map(|c| {
        mapping
            .columns
            .iter()
            .position(|m| &m.name == c)
            .map(|k| table_source(table, k, mapping))
            .unwrap_or_else(|| c.clone())
    });
    Problem {
        severity: if d.is_error() {
            Severity::Error
        } else {
            Severity::Warning
        },
        rule: format!("csvw:{}", d.rule),
        message: d.message,
        file: Some(file.into()),
        row: d.row.and_then(|r| table.source_row_of_line(r)),
        column,
        value: d.value,
    }
}

/// Reads the run's folder as if it were `{base}/id/{dataset}/` on the web.
struct DirFetcher {
    base: url::Url,
    dir: PathBuf,
}

impl Fetcher for DirFetcher {
    fn fetch(&self, url: &url::Url) -> Result<Option<Resource>, String> {
        let mut plain = url.clone();
        plain.set_query(None);
        plain.set_fragment(None);
        let Some(rel) = plain.as_str().strip_prefix(self.base.as_str()) else {
            return Ok(None);
        };
        let rel = csvw::table::percent_decode(rel);
        if rel.contains("..") || rel.contains('/') {
            return Ok(None);
        }
        let path = self.dir.join(rel);
        if !path.is_file() {
            return Ok(None);
        }
        let f = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Some(Resource {
            body: Box::new(std::io::BufReader::new(f)),
            content_type: None,
            links: Vec::new(),
            content_language: None,
        }))
    }
}
