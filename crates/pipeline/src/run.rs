//! One run of a pipeline: the stages of [`crate::stage`] in order (fetch → tidy → gate → link
//! → convert → publish), the dataset's state before and after, and the report stored beside
//! the run. What is kept where is in [`crate::state`].

use crate::config::{Instance, Pipeline};
use crate::mapping::Mapping;
use crate::report::{Outcome, Problem, Report, Severity};
use crate::stage::{self, fail};
use crate::state::{
    keep_only_reports, load_state, remove_killed_runs, save_state, write_report, Lock, State,
};
use fivestar_store::{Layout, LoadProgress, Publisher};
use std::sync::Arc;

pub use crate::stage::publish::publish_one;
pub use crate::state::{keep_source_file, RunSummary};

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

/// The current time as (run id, xsd:dateTime).
pub fn now() -> (String, String) {
    fivestar_store::now_utc()
}

/// Where a run works and what it publishes to.
#[derive(Clone)]
pub struct Context<'a> {
    /// Fetch limits and defaults.
    pub instance: &'a Instance,
    /// The base IRI every published IRI starts with, and the folder that holds `runs/` and
    /// `sources/` (the store's folder; a scratch folder for a validation outside any store).
    pub layout: &'a Layout,
    /// Where releases go; `None` only for runs that stop at the gate (validate).
    pub publisher: Option<&'a dyn Publisher>,
    pub progress: Arc<dyn Progress>,
}

/// Runs one pipeline. Always returns a report; its outcome says what happened, and it has
/// been stored under `runs/` (except for an unchanged source, which only updates the state).
pub fn run(ctx: &Context<'_>, pipeline: &Pipeline, options: RunOptions) -> Report {
    let layout = ctx.layout;
    let progress = &*ctx.progress;
    let (run_id, started) = now();
    let dataset = pipeline.id.clone();
    let dir = layout.runs(&dataset);
    let mut run_id = run_id;
    for n in 2.. {
        if !dir.join(&run_id).exists() {
            break;
        }
        run_id = format!("{}-{n}", now().0);
    }
    let mut report = Report {
        run: run_id.clone(),
        pipeline: pipeline.file.display().to_string(),
        source: pipeline.source.location.to_string(),
        started: started.clone(),
        ..Report::empty(&dataset)
    };
    let _lock = match Lock::take(layout, &dataset) {
        Ok(l) => l,
        Err(e) => {
            report
                .problems
                .push(Problem::new(Severity::Error, "lock", e));
            report.summarise();
            report.finished = now().1;
            progress.finish(&dataset, report.outcome);
            return report;
        }
    };
    // Runs killed before their report: their intermediate files (a gigabyte for a big
    // source) are of no use to anyone. (The lock says no other run of this dataset is on.)
    remove_killed_runs(&dir);
    let mut state = load_state(layout, &dataset);
    let outcome = execute(ctx, pipeline, options, &mut state, &mut report);
    report.outcome = match outcome {
        Ok(o) => o,
        Err(p) => {
            report.problems.push(*p);
            Outcome::Failed
        }
    };
    report.summarise();
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
        // The clean table, its metadata and the N-Triples go (a published release has its own
        // copies under dumps/, and a blocked one may hold personal data), before the report
        // is written: a run that filled the disk frees its own files first, so that its
        // report, which says so, can still be stored.
        keep_only_reports(&run_dir);
        if let Err(e) = write_report(&run_dir, &report) {
            tracing::error!(dataset, error = %e, "cannot store the run's report");
        }
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
        if let Err(e) = save_state(layout, &dataset, &state) {
            tracing::error!(dataset, error = %e, "cannot save the dataset's state");
        }
    }
    progress.finish(&dataset, report.outcome);
    report
}

/// The stages, in order. `Ok` is the outcome (problems in the report); `Err` a failure.
fn execute(
    ctx: &Context<'_>,
    pipeline: &Pipeline,
    options: RunOptions,
    state: &mut State,
    report: &mut Report,
) -> Result<Outcome, Box<Problem>> {
    let (layout, progress) = (ctx.layout, &*ctx.progress);
    let publisher = match (ctx.publisher, options.validate_only) {
        (Some(p), false) => Some(p),
        (_, true) => None,
        (None, false) => return Err(fail("publish", "no store to publish to")),
    };
    let dataset = pipeline.id.as_str();
    let mut clock = (std::time::Instant::now(), fivestar_store::cpu_time());
    let mut lap = |report: &mut Report, name: &str| {
        let now = (std::time::Instant::now(), fivestar_store::cpu_time());
        report.facts.push((
            format!("seconds: {name}"),
            format!("{:.2}", (now.0 - clock.0).as_secs_f64()),
        ));
        // CPU seconds over all the process's threads (in a live instance, its other work too):
        // on n cores, at most n × the seconds.
        if let (Some(a), Some(b)) = (clock.1, now.1) {
            report.facts.push((
                format!("cpu seconds: {name}"),
                format!("{:.2}", b.saturating_sub(a).as_secs_f64()),
            ));
        }
        clock = now;
    };

    progress.stage(dataset, Stage::Download, None);
    let fetched = stage::fetch::fetch(
        pipeline,
        &ctx.instance.fetch,
        layout,
        state,
        options.force,
        options.validate_only,
    )?;
    let source = match fetched {
        stage::fetch::Fetch::Unchanged { sha256, info } => {
            report.source_sha256 = Some(sha256);
            report.problems.push(info);
            return Ok(Outcome::Unchanged);
        }
        stage::fetch::Fetch::Source(s) => s,
    };
    progress.advance(dataset, source.bytes.len() as u64);
    report.source_sha256 = Some(source.sha256.clone());
    let file = source.name.as_str();
    lap(report, "fetch");

    progress.stage(dataset, Stage::Tidy, None);
    let mapping = Mapping::load(pipeline, layout)?;
    let Some(mut table) = stage::tidy::tidy(&source, pipeline, &mapping, report) else {
        return Ok(Outcome::Blocked);
    };
    progress.advance(dataset, table.rows.len() as u64);
    report.columns = (0..mapping.columns.len())
        .map(|k| {
            (
                mapping.source_header(&table, k),
                mapping.columns[k].name.clone(),
            )
        })
        .collect();
    report.unmapped = table.unmapped.clone();
    let live_rows = state.last_published.as_ref().and_then(|s| s.rows);
    if !stage::gate::enough_rows(&table, pipeline, live_rows, options.force, file, report) {
        return Ok(Outcome::Blocked);
    }
    lap(report, "tidy");

    progress.stage(dataset, Stage::Validate, Some(table.rows.len() as u64));
    stage::gate::screen(pipeline, &mapping, &mut table, file, report);
    let linked = stage::link::link(&mapping, &mut table, file, report)?;
    let described: Vec<crate::preview::SummaryColumn<'_>> = mapping
        .columns
        .iter()
        .map(|c| crate::preview::SummaryColumn {
            title: &c.rule.name,
            kind: c.rule.kind,
            names: c.may_name_individuals,
        })
        .collect();
    report.data = Some(crate::preview::summarise(
        &table,
        &described,
        chrono::Utc::now().date_naive(),
    ));
    lap(report, "gate and links");

    // The clean table and its metadata; CSVW validation, and csv2rdf in the same pass when
    // the run is to publish.
    progress.stage(dataset, Stage::Convert, Some(table.rows.len() as u64));
    let run_dir = layout.run(dataset, &report.run);
    let data_base = layout.data_folder(dataset);
    let publisher = publisher.filter(|_| !report.has_errors());
    if let Some(publisher) = publisher {
        let parts = (pipeline, &mapping, table, source, linked);
        return publish(ctx, publisher, parts, report, lap);
    }
    let clean = stage::convert::write_clean(&table, &mapping, &run_dir, &data_base)?;
    lap(report, "clean CSV");
    // A check converts too, into its preview: the officer sees resources as their pages will
    // show them, and the stars the release would earn.
    if options.validate_only {
        let mut collector =
            crate::preview::Collector::new(&data_base, &format!("{}/", layout.base()));
        if !stage::convert::validate_into(&clean, &table, &mapping, file, &mut collector, report) {
            return Ok(Outcome::Blocked);
        }
        report.preview = Some(collector.finish(&pipeline.licence, linked.as_ref()));
        return Ok(Outcome::Valid);
    }
    // Blocked already (by the gate): validated all the same, so that the report lists
    // everything wrong at once, and nothing is converted.
    let mut discard = stage::convert::Discard;
    stage::convert::validate_into(&clean, &table, &mapping, file, &mut discard, report);
    Ok(Outcome::Blocked)
}

/// What the stages before the conversion made of a source, for [`publish`].
type Tidied<'a> = (
    &'a Pipeline,
    &'a Mapping,
    fivestar_tidy::Table,
    stage::fetch::Source,
    Option<fivestar_store::Linked>,
);

/// The publishing end of a run whose gate passed: the clean CSV written on a thread of its
/// own while CSVW validation and csv2rdf read it, in one pass, into the store's bulk loader
/// as they are made (a table with an error fails the load before its commit).
fn publish(
    ctx: &Context<'_>,
    publisher: &dyn Publisher,
    (pipeline, mapping, mut table, source, linked): Tidied<'_>,
    report: &mut Report,
    mut lap: impl FnMut(&mut Report, &str),
) -> Result<Outcome, Box<Problem>> {
    let (layout, progress) = (ctx.layout, &*ctx.progress);
    let dataset = pipeline.id.as_str();
    let file = source.name.as_str();
    let run_dir = layout.run(dataset, &report.run);
    let data_base = layout.data_folder(dataset);
    // The cells go to the CSV's writer, which frees them when it is done. (What points a
    // diagnostic back at the source, its rows and headers, stays here.)
    let mut clean = stage::convert::write_clean_behind(&mut table, mapping, &run_dir, &data_base)?;
    lap(
        report,
        "clean CSV's metadata (the CSV is written beside the conversion)",
    );
    progress.stage(dataset, Stage::Load, None);
    let load_progress = LoadProgress({
        let (progress, dataset) = (ctx.progress.clone(), dataset.to_string());
        Arc::new(move |n| progress.advance(&dataset, n))
    });
    let (made, verdict) = stage::convert::made(&clean);
    let mut request = stage::publish::request(
        pipeline,
        &report.run,
        &source,
        fivestar_store::Triples::Made(made),
        (clean.csv.clone(), clean.metadata.clone()),
        Some(load_progress),
        linked,
    );
    request.identity = mapping.identity(&data_base);
    request.figures = mapping.figures();
    request.summaries = mapping.summaries();
    let published = publish_one(publisher, &request);
    drop(request);
    if published.is_err() {
        clean.abandon();
    }
    // A writer that failed on its own (a full disk) is why the conversion stopped.
    clean.finish()?;
    let valid = match verdict.take() {
        // The store stopped reading them, or never started: its error says why.
        None | Some(Err(stage::convert::ConvertError::Io(_))) => true,
        Some(Err(stage::convert::ConvertError::Table(e))) => {
            stage::convert::record(Err(e.to_string()), &table, mapping, file, report)
        }
        Some(Ok(r)) => stage::convert::record(Ok(r), &table, mapping, file, report),
    };
    if !valid {
        return Ok(Outcome::Blocked);
    }
    lap(
        report,
        "CSVW validation, csv2rdf and publish, in all (the publish: lines are its parts)",
    );
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
    for (name, d) in &info.cpu {
        report.facts.push((
            format!("cpu seconds: publish: {name}"),
            format!("{:.2}", d.as_secs_f64()),
        ));
    }
    // Live here either way; a target that did not take it is a warning, with its reason.
    for m in &info.mirrors {
        report
            .facts
            .push((format!("publish_to {}", m.target), m.to_string()));
        if !m.ok {
            report.problems.push(Problem::new(
                Severity::Warning,
                "publish_to",
                format!(
                    "published here, but not to {}: {} (its live release is as it was; `fivestar sync` tries again)",
                    m.target, m.message
                ),
            ));
        }
    }
    report.release = Some(info.release);
    Ok(Outcome::Published)
}
