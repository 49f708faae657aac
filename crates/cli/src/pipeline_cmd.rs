//! `fivestar run / validate / status / schedule`: pipelines from the command line.

use crate::store_cmd::StoreArgs;
use crate::Failure;
use anyhow::{anyhow, Context, Result};
use clap::{Args, ValueEnum};
use fivestar_pipeline::{Outcome, Pipeline, Progress, Report, RunOptions, Severity, Stage};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

#[derive(Args)]
pub struct RunArgs {
    /// Pipeline files or folders of them (default: the `pipelines` folder of fivestar.toml).
    pub pipelines: Vec<PathBuf>,
    /// Run even if the source and the pipeline are unchanged since the last run.
    #[arg(long)]
    pub force: bool,
    /// Print every change tidy made, not only warnings and errors.
    #[arg(long)]
    pub verbose: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Args)]
pub struct ValidateArgs {
    /// A pipeline file (.toml), or a data file (CSV, xlsx, xls, ods) with `--metadata` or a
    /// `FILE-metadata.json` beside it.
    pub input: PathBuf,
    /// CSVW metadata mapping a data file.
    #[arg(long)]
    pub metadata: Option<PathBuf>,
    /// A council template mapping a data file (without `--metadata` or a metadata file beside
    /// it, the template `fivestar inspect` picks is used).
    #[arg(long, conflicts_with = "metadata")]
    pub template: Option<String>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Args)]
pub struct StatusArgs {
    /// Pipeline files or folders (default: the `pipelines` folder of fivestar.toml).
    pub pipelines: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Args)]
pub struct ScheduleArgs {
    /// Pipeline files or folders (default: the `pipelines` folder of fivestar.toml).
    pub pipelines: Vec<PathBuf>,
    /// The address the site listens on (default: `bind` in fivestar.toml).
    #[arg(long)]
    pub bind: Option<String>,
    #[arg(long, default_value_t = 30)]
    pub query_timeout: u64,
    #[arg(long, default_value_t = 100_000)]
    pub max_rows: usize,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Loads pipeline files (folders are searched for `*.toml`, not recursively). Every broken
/// file is reported; any broken file is an error.
pub fn load_pipelines(paths: &[PathBuf]) -> Result<Vec<Pipeline>, Failure> {
    let paths = if paths.is_empty() {
        vec![crate::instance().pipelines.clone()]
    } else {
        paths.to_vec()
    };
    let mut files = Vec::new();
    for p in &paths {
        if p.is_dir() {
            files.extend(Pipeline::discover(p).map_err(|e| anyhow!("{e}"))?);
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            return Err(anyhow!("{}: no such pipeline file or folder", p.display()).into());
        }
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match Pipeline::load(&f) {
            Ok(p) => out.push(p),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        return Err(Failure {
            code: 2,
            error: anyhow!("{}", errors.join("\n")),
        });
    }
    let mut seen = HashMap::new();
    for p in &out {
        if let Some(other) = seen.insert(p.id.clone(), p.file.clone()) {
            return Err(anyhow!(
                "{} and {} both have id {:?}",
                other.display(),
                p.file.display(),
                p.id
            )
            .into());
        }
    }
    if out.is_empty() {
        return Err(anyhow!(
            "no pipeline files in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
        .into());
    }
    Ok(out)
}

/// Progress bars (indicatif): one line per dataset, hidden when stderr is not a terminal.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    pub fn new() -> Self {
        Bars {
            multi: MultiProgress::new(),
            bars: Mutex::default(),
        }
    }

    fn bar(&self, dataset: &str) -> ProgressBar {
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        bars.entry(dataset.to_string())
            .or_insert_with(|| {
                let b = self.multi.add(ProgressBar::new_spinner());
                b.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {prefix:.bold} {msg} {pos}/{len} [{elapsed}]",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                b.set_prefix(dataset.to_string());
                b.enable_steady_tick(std::time::Duration::from_millis(120));
                b
            })
            .clone()
    }
}

impl Progress for Bars {
    fn stage(&self, dataset: &str, stage: Stage, total: Option<u64>) {
        let b = self.bar(dataset);
        b.set_message(stage.name());
        b.set_position(0);
        b.set_length(total.unwrap_or(0));
    }
    fn advance(&self, dataset: &str, done: u64) {
        self.bar(dataset).set_position(done);
    }
    fn finish(&self, dataset: &str, outcome: Outcome) {
        if let Some(b) = self
            .bars
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(dataset)
        {
            b.finish_and_clear();
        }
        tracing::debug!(dataset, outcome = outcome.name(), "run finished");
    }
}

fn print_report(report: &Report, verbose: bool, layout: &fivestar_store::Layout) {
    let min = if verbose {
        Severity::Info
    } else {
        Severity::Warning
    };
    for line in report.group_lines(min) {
        eprintln!("  {line}");
    }
    if !report.todo.is_empty() {
        eprintln!("  what to do:");
        for (i, t) in report.todo.iter().enumerate() {
            eprintln!("    {}. {t}", i + 1);
        }
    }
    let stored = layout.run(&report.dataset, &report.run);
    let what = match report.outcome {
        Outcome::Published => format!(
            "published release {}",
            report.release.as_deref().unwrap_or("?")
        ),
        Outcome::Unchanged => "unchanged since the last run: nothing published".into(),
        Outcome::Blocked => "BLOCKED: nothing published; the live release is unchanged".into(),
        Outcome::Failed => "FAILED: nothing published; the live release is unchanged".into(),
        Outcome::Valid => "valid: would publish (validate publishes nothing)".into(),
    };
    println!(
        "{}: {what} ({} errors, {} warnings){}",
        report.dataset,
        report.count(Severity::Error),
        report.count(Severity::Warning),
        if report.outcome == Outcome::Unchanged {
            String::new()
        } else {
            format!("; report: {}", stored.join("report.html").display())
        }
    );
}

fn exit_code(reports: &[Report]) -> u8 {
    if reports
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Failed | Outcome::Blocked))
    {
        1
    } else {
        0
    }
}

pub fn run(args: RunArgs) -> Result<u8, Failure> {
    let pipelines = load_pipelines(&args.pipelines)?;
    let bars: Arc<Bars> = Arc::new(Bars::new());
    if let Some(client) = args.store.live("run")? {
        return run_live(&client, &args, &pipelines, &bars);
    }
    let store = args.store.open()?;
    crate::store_cmd::load_vocabulary(&store)?;
    let ctx = fivestar_pipeline::Context {
        instance: crate::instance(),
        layout: store.layout(),
        publisher: Some(&store),
        progress: bars.clone(),
    };
    let mut reports = Vec::new();
    for p in &pipelines {
        let options = RunOptions {
            force: args.force,
            validate_only: false,
        };
        let report = fivestar_pipeline::run(&ctx, p, options);
        print_report(&report, args.verbose, store.layout());
        reports.push(report);
    }
    Ok(exit_code(&reports))
}

/// `fivestar run` while an instance holds the store: each pipeline runs in the instance, by
/// id when it is one of the instance's own pipeline files (the same folder), else uploaded
/// with the local files it names. Progress and reports are printed as for a local run.
fn run_live(
    client: &crate::live::Client,
    args: &RunArgs,
    pipelines: &[Pipeline],
    bars: &Bars,
) -> Result<u8, Failure> {
    use reqwest::blocking::multipart::{Form, Part};
    let info = client.get("instance")?;
    let theirs = info["pipelines"].as_str().map(PathBuf::from);
    let mut reports = Vec::new();
    for p in pipelines {
        let folder = p.file.parent().and_then(|d| std::fs::canonicalize(d).ok());
        let started = if folder.is_some() && folder == theirs {
            client.post(
                "runs",
                &serde_json::json!({ "pipeline": p.id, "force": args.force }),
            )?
        } else {
            let name = p
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "pipeline.toml".into());
            let mut form = Form::new().text("force", args.force.to_string()).part(
                "pipeline",
                Part::file(&p.file)
                    .with_context(|| p.file.display().to_string())?
                    .file_name(name),
            );
            for (written, path) in p.local_files() {
                form = form.part(
                    "file",
                    Part::file(&path)
                        .with_context(|| path.display().to_string())?
                        .file_name(written),
                );
            }
            client.upload("runs", form)?
        };
        let job = client.follow(&started, |job| {
            let stage = match job["stage"].as_str() {
                Some("download") => Some(Stage::Download),
                Some("tidy") => Some(Stage::Tidy),
                Some("validate") => Some(Stage::Validate),
                Some("convert") => Some(Stage::Convert),
                Some("load") => Some(Stage::Load),
                _ => None,
            };
            if let Some(stage) = stage {
                bars.stage(&p.id, stage, job["total"].as_u64());
                bars.advance(&p.id, job["done"].as_u64().unwrap_or(0));
            }
        })?;
        let report: Report = match serde_json::from_value(job["result"].clone()) {
            Ok(r) if job["state"] == "finished" => r,
            _ => return Err(crate::live::job_error(&job)),
        };
        bars.finish(&p.id, report.outcome);
        print_report(&report, args.verbose, &args.store.layout());
        reports.push(report);
    }
    Ok(exit_code(&reports))
}

pub fn validate(args: ValidateArgs) -> Result<u8, Failure> {
    let is_pipeline = args.input.extension().is_some_and(|e| e == "toml");
    let pipeline = if is_pipeline {
        if args.metadata.is_some() || args.template.is_some() {
            return Err(anyhow!(
                "--metadata and --template apply to a data file; a pipeline names its own mapping"
            )
            .into());
        }
        Pipeline::load(&args.input).map_err(|e| anyhow!("{e}"))?
    } else {
        adhoc_pipeline(
            &args.input,
            args.metadata.as_deref(),
            args.template.as_deref(),
        )?
    };
    // Validation never opens the store: it works in a scratch folder, removed afterwards,
    // with the base IRI the store would publish under.
    let scratch = std::env::temp_dir().join(format!(
        "fivestar-validate-{}-{}",
        std::process::id(),
        fivestar_store::now_utc().0
    ));
    let layout = fivestar_store::Layout::new(&args.store.base(), &scratch);
    let ctx = fivestar_pipeline::Context {
        instance: crate::instance(),
        layout: &layout,
        publisher: None,
        progress: Arc::new(fivestar_pipeline::Quiet),
    };
    let report = fivestar_pipeline::run(
        &ctx,
        &pipeline,
        RunOptions {
            force: true,
            validate_only: true,
        },
    );
    let _ = std::fs::remove_dir_all(&scratch);
    match args.format {
        OutputFormat::Json => println!("{}", report.to_json()),
        OutputFormat::Text => {
            print!("{}", report.to_text(Severity::Warning));
        }
    }
    Ok(if report.outcome == Outcome::Valid {
        0
    } else {
        1
    })
}

/// How `fivestar validate FILE` maps the file.
enum AdhocMapping {
    Metadata(PathBuf),
    Template(String),
}

/// A pipeline for `fivestar validate FILE`: the file and its mapping (metadata, a named
/// template, or the template the file fits), nothing else.
fn adhoc_pipeline(
    file: &Path,
    metadata: Option<&Path>,
    template: Option<&str>,
) -> Result<Pipeline> {
    if !file.is_file() {
        return Err(anyhow!("{}: no such file", file.display()));
    }
    let mapping = match (metadata, template) {
        (Some(m), _) => AdhocMapping::Metadata(m.to_path_buf()),
        (None, Some(t)) => AdhocMapping::Template(t.to_string()),
        (None, None) => {
            let beside = PathBuf::from(format!("{}-metadata.json", file.display()));
            let folder = file.with_file_name("csv-metadata.json");
            if beside.is_file() {
                AdhocMapping::Metadata(beside)
            } else if folder.is_file() {
                AdhocMapping::Metadata(folder)
            } else {
                let bytes =
                    std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
                let i = fivestar_pipeline::inspect::inspect(
                    &bytes,
                    &file.display().to_string(),
                    None,
                    None,
                )
                .map_err(|e| anyhow!(e))?;
                match i.template {
                    Some(t) => {
                        eprintln!(
                            "{}: mapped with template {t} (confidence {:.2}; `fivestar inspect` shows how)",
                            file.display(),
                            i.confidence
                        );
                        AdhocMapping::Template(t)
                    }
                    None => {
                        return Err(anyhow!(
                            "{}: no mapping: no template fits it (`fivestar inspect` shows why); pass --metadata FILE or put {} beside it",
                            file.display(),
                            beside.display()
                        ))
                    }
                }
            }
        }
    };
    let tmp = std::env::temp_dir().join(format!("fivestar-validate-{}.toml", std::process::id()));
    let abs = |p: &Path| std::path::absolute(p).map(|a| a.display().to_string());
    let stem: String = file
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let id = format!("validate-{}", stem.trim_matches('-'));
    let q = |s: &str| fivestar_pipeline::config::toml_string(s);
    let mapping = match mapping {
        AdhocMapping::Metadata(m) => format!("metadata = {}", q(&abs(&m)?)),
        AdhocMapping::Template(t) => format!("template = {}", q(&t)),
    };
    let text = format!(
        "id = {}\ntitle = {}\n{mapping}\n[source]\nurl = {}\n",
        q(&id),
        q(&file.display().to_string()),
        q(&abs(file)?)
    );
    std::fs::write(&tmp, text)?;
    let p = Pipeline::load(&tmp).map_err(|e| anyhow!("{e}"));
    let _ = std::fs::remove_file(&tmp);
    // Messages that point at the pipeline file point at the one the council will write.
    p.map(|mut p| {
        p.file = PathBuf::from(format!("the pipeline file for {}", file.display()));
        p
    })
}

pub fn status(args: StatusArgs) -> Result<u8, Failure> {
    let pipelines = load_pipelines(&args.pipelines)?;
    let now = fivestar_pipeline::chrono::Utc::now();
    let rows = fivestar_pipeline::schedule::status(&pipelines, &args.store.layout(), now);
    if args.format == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(0);
    }
    println!(
        "{:<28} {:<22} {:<10} {:<22} {:<22} stale",
        "dataset", "last run", "outcome", "last published", "next run"
    );
    for s in &rows {
        println!(
            "{:<28} {:<22} {:<10} {:<22} {:<22} {}",
            s.dataset,
            s.last
                .as_ref()
                .map(|l| l.finished.as_str())
                .unwrap_or("never"),
            s.last.as_ref().map(|l| l.outcome.name()).unwrap_or("-"),
            s.last_published
                .as_ref()
                .and_then(|l| l.release.as_deref())
                .unwrap_or("-"),
            s.next.as_deref().unwrap_or("unscheduled"),
            if s.stale { "STALE" } else { "no" }
        );
        if let Some(m) = s.last.as_ref().and_then(|l| l.message.as_deref()) {
            println!("    {m}");
        }
    }
    Ok(0)
}

pub fn schedule(args: ScheduleArgs) -> Result<u8, Failure> {
    let pipelines = load_pipelines(&args.pipelines)?;
    let unscheduled: Vec<&str> = pipelines
        .iter()
        .filter(|p| p.schedule.is_none())
        .map(|p| p.id.as_str())
        .collect();
    if !unscheduled.is_empty() {
        eprintln!(
            "fivestar: no `schedule` in {}: run with `fivestar run`",
            unscheduled.join(", ")
        );
    }
    let bind = args
        .bind
        .clone()
        .unwrap_or_else(|| crate::instance().bind.clone());
    let instance = crate::store_cmd::Instance::new(
        &bind,
        args.query_timeout,
        args.max_rows,
        &args.store,
        crate::store_cmd::Mode::Own,
    )?;
    let state = instance.state.clone();
    let stop = Arc::new(AtomicBool::new(false));
    // Folders are read again at every turn: a pipeline the workspace writes or changes is
    // scheduled as it now is, without a restart.
    let folders: Vec<PathBuf> = if args.pipelines.is_empty() {
        vec![crate::instance().pipelines.clone()]
    } else {
        args.pipelines
            .iter()
            .filter(|p| p.is_dir())
            .cloned()
            .collect()
    };
    let scheduler = {
        let (state, stop) = (state.clone(), stop.clone());
        let instance = Arc::new(crate::instance().clone());
        std::thread::spawn(move || {
            fivestar_pipeline::schedule::schedule_loop(
                instance,
                state,
                pipelines,
                folders,
                Arc::new(fivestar_pipeline::Quiet),
                stop,
            )
        })
    };
    let served = instance.serve("scheduling pipelines and serving");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = scheduler.join();
    served?;
    Ok(0)
}

#[derive(Args)]
pub struct InspectArgs {
    /// A data file: CSV (any encoding), xlsx, xls or ods.
    pub file: PathBuf,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// The sheet of a workbook (default: the first with values).
    #[arg(long)]
    pub sheet: Option<String>,
    /// Write a starter pipeline file here (when a template fits, or is named with --template).
    #[arg(long)]
    pub write_pipeline: Option<PathBuf>,
    /// Read the file with this template, whether or not it is the one that fits best.
    #[arg(long)]
    pub template: Option<String>,
}

/// The path of `file` as seen from the folder `dir` (relative when `file` is inside it).
fn path_from(dir: &Path, file: &Path) -> String {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let (dir, file) = (abs(dir), abs(file));
    let mut common = 0;
    let (d, f): (Vec<_>, Vec<_>) = (dir.components().collect(), file.components().collect());
    while common < d.len() && common < f.len() && d[common] == f[common] {
        common += 1;
    }
    // Sharing only the root (or nothing): an absolute path reads better than ../../../..
    if common <= 1 {
        return file.display().to_string();
    }
    let mut rel = PathBuf::new();
    for _ in common..d.len() {
        rel.push("..");
    }
    for c in &f[common..] {
        rel.push(c);
    }
    rel.to_string_lossy().replace('\\', "/")
}

pub fn inspect(args: InspectArgs) -> Result<u8, Failure> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let name = args.file.display().to_string();
    let i = fivestar_pipeline::inspect::inspect(
        &bytes,
        &name,
        args.sheet.clone(),
        args.template.as_deref(),
    )
    .map_err(|e| anyhow!(e))?;
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&i)?),
        OutputFormat::Text => {
            let mut out = String::new();
            match &i.template {
                Some(t) if i.chosen => out.push_str(&format!(
                    "{}: template {t}, as chosen (confidence {:.2})\n",
                    i.file, i.confidence
                )),
                Some(t) => out.push_str(&format!(
                    "{}: template {t} (confidence {:.2})\n",
                    i.file, i.confidence
                )),
                None => out.push_str(&format!(
                    "{}: no template fits well (best {} at {:.2}; at least {:.2} is needed)\n",
                    i.file,
                    i.candidates
                        .first()
                        .map(|c| c.template.as_str())
                        .unwrap_or("none"),
                    i.confidence,
                    fivestar_council::detect::MIN_CONFIDENCE
                )),
            }
            out.push_str(&format!(
                "  format {}, encoding {}, header on row {}, {} data rows\n",
                i.format.unwrap_or("?"),
                i.encoding.unwrap_or("-"),
                i.header_row,
                i.rows
            ));
            if let Some(s) = &i.sheet {
                out.push_str(&format!("  sheet {s:?}\n"));
            }
            for (c, o) in &i.date_orders {
                out.push_str(&format!("  dates in {c:?}: {}\n", o.name()));
            }
            if let Some(a) = &i.amount_format {
                out.push_str(&format!("  amounts: {a}\n"));
            }
            if !i.councils.is_empty() {
                out.push_str(&format!("  councils: {}\n", i.councils.join(", ")));
            }
            match (&i.template, i.near.first()) {
                (None, Some(n)) => out.push_str(&format!(
                    "  columns, as the closest template ({}) would read them:\n",
                    n.template
                )),
                _ => out.push_str("  columns:\n"),
            }
            for c in &i.columns {
                match &c.column {
                    Some(col) => out.push_str(&format!("    {:?} → {col}\n", c.source)),
                    None => out.push_str(&format!("    {:?} → (nothing matched)\n", c.source)),
                }
            }
            for n in &i.near {
                out.push_str(&format!(
                    "  nearly {} ({}, {:.2}): it explains {} of the file's columns{}; {}\n",
                    n.template,
                    n.title,
                    n.confidence,
                    n.matched.len(),
                    if n.matched.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " ({})",
                            n.matched
                                .iter()
                                .map(|(s, c)| format!("{s:?} → {c}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    },
                    if n.missing_core.is_empty() {
                        format!("choose it with `--template {}`", n.template)
                    } else {
                        format!(
                            "add a column for {}, or choose it with `--template {}`",
                            n.missing_core
                                .iter()
                                .map(|m| format!("{m:?}"))
                                .collect::<Vec<_>>()
                                .join(", "),
                            n.template
                        )
                    }
                ));
            }
            if !i.missing.is_empty() {
                out.push_str(&format!(
                    "  missing core columns: {}\n",
                    i.missing.join(", ")
                ));
            }
            out.push_str("  candidates:");
            for c in &i.candidates {
                out.push_str(&format!(" {} {:.2};", c.template, c.confidence));
            }
            out.push('\n');
            for p in &i.problems {
                out.push_str(&format!("  ! {p}\n"));
            }
            print!("{out}");
        }
    }
    if let Some(path) = &args.write_pipeline {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let text = fivestar_pipeline::inspect::starter_pipeline(&i, &path_from(dir, &args.file))
            .map_err(|e| anyhow!(e))?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(if i.template.is_some() { 0 } else { 1 })
}
