//! `fivestar`: publishes council open data as five-star linked data.
//!
//! Thin glue over the crates: argument parsing, fetching files and URLs, printing reports.

mod live;
mod pipeline_cmd;
mod store_cmd;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use csvw::{Diagnostic, Options, Report};
use fivestar_pipeline::web::WebFetcher;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc instead of the system allocator: a query, a conversion and a load each allocate
/// small values at a high rate (glibc's malloc and free were 9–12 % of the CPU in profiles of
/// `serve` under lookups and of csv2rdf); see README, Speed and memory.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (v2 and v3; libmimalloc-sys names no constant for
/// it): how long freed memory is kept before it is given back to the system.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed memory is kept for reuse before it goes back to the system: 300 ms, not
/// mimalloc's 1 s, nor 0. Measured on a 12 M-triple publish and on `serve` under lookups
/// (README, Speed and memory: "The allocator's purge delay"): with 0 the publish peaked lowest
/// (1,158 MB) but every lookup paid for giving pages back and faulting them in again (`madvise`,
/// page clearing, TLB shootdowns: about a tenth of the server's CPU); with 1 s the publish
/// peaked at 1,510 MB. 300 ms served as fast as 1 s and peaked at 1,240 MB. An operator may set
/// `MIMALLOC_PURGE_DELAY` (mimalloc's own variable) instead: then it is left alone.
const PURGE_DELAY_MS: std::ffi::c_long = 300;

fn set_purge_delay() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: called first in `main`, before any thread is started (mimalloc's options are
    // not thread safe); the option and value are ones mimalloc.h documents.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
}

#[derive(Parser)]
#[command(
    name = "fivestar",
    version,
    about = "Publishes council open data as five-star linked data"
)]
struct Cli {
    /// Instance settings: base IRI, store, bind address, pipelines folder, fetch limits.
    /// (default: fivestar.toml in the current folder, when there is one)
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

static INSTANCE: std::sync::OnceLock<fivestar_pipeline::Instance> = std::sync::OnceLock::new();

/// The instance settings from fivestar.toml (defaults when there is none).
pub fn instance() -> &'static fivestar_pipeline::Instance {
    INSTANCE.get_or_init(fivestar_pipeline::Instance::default)
}

#[derive(Subcommand)]
enum Command {
    /// W3C CSV on the Web: convert and validate tabular data with its metadata.
    Csvw {
        #[command(subcommand)]
        command: CsvwCommand,
    },
    /// Runs pipelines once: fetch, tidy, validate, convert, publish (only what changed).
    Run(pipeline_cmd::RunArgs),
    /// Runs a pipeline (or a data file with its metadata) up to the gate; publishes nothing.
    Validate(pipeline_cmd::ValidateArgs),
    /// Picks the council template a data file fits and shows how each column maps; can write
    /// a starter pipeline file.
    Inspect(pipeline_cmd::InspectArgs),
    /// Shows each dataset's last run, outcome, next run and staleness.
    Status(pipeline_cmd::StatusArgs),
    /// Runs pipelines when their cron schedules say, and serves the site and its admin API, in
    /// one process that holds the store.
    Schedule(pipeline_cmd::ScheduleArgs),
    /// Validates, converts and publishes a CSV (with its CSVW metadata) as a new live release.
    Publish(store_cmd::PublishArgs),
    /// Runs a read-only SPARQL query on the public view of the store (while an instance holds
    /// the store, through its public SPARQL endpoint).
    Query(store_cmd::QueryArgs),
    /// Serves the site (SPARQL endpoint, linked-data pages, dumps, catalogue) and the admin API
    /// (on when the variable `admin_token_env` names holds a token); the process then holds the
    /// store, and the other commands go through it.
    Serve {
        /// The address to listen on (default: `bind` in fivestar.toml, else 127.0.0.1:7878).
        #[arg(long)]
        bind: Option<String>,
        /// Stop a query after this many seconds.
        #[arg(long, default_value_t = 30)]
        query_timeout: u64,
        /// Return at most this many result rows.
        #[arg(long, default_value_t = 100_000)]
        max_rows: usize,
        /// Serve a copy of a store (a folder `fivestar backup` made) as a read replica: the
        /// database is opened read-only, nothing in the folder changes but the instance
        /// file, and the admin API is off. Several replicas can serve behind a load balancer;
        /// a newer backup and a restart bring one up to date.
        #[arg(long, conflicts_with = "backend")]
        read_only: bool,
        /// Answer from another SPARQL 1.1 store: the URL of its query endpoint (default:
        /// `[backend]` in fivestar.toml). A stateless read server: the data is the one a
        /// publishing machine's `[[publish_to]]` keeps there, the files (dumps, figures,
        /// search) are read from --store, a copy of that machine's store folder; nothing is
        /// written and the admin API is off.
        #[arg(long)]
        backend: Option<String>,
        #[command(flatten)]
        store: store_cmd::StoreArgs,
    },
    /// Lists the datasets in the store with their releases.
    Releases(store_cmd::StoreArgs),
    /// Takes a dataset off the public view (its releases are kept).
    Withdraw {
        dataset: String,
        #[command(flatten)]
        store: store_cmd::StoreArgs,
    },
    /// Makes an existing release of a dataset the live one.
    Rollback {
        dataset: String,
        release: String,
        #[command(flatten)]
        store: store_cmd::StoreArgs,
    },
    /// Deletes a release that is not live: its graph, catalogue entry and dumps.
    Remove {
        dataset: String,
        release: String,
        #[command(flatten)]
        store: store_cmd::StoreArgs,
    },
    /// Brings every `[[publish_to]]` target of fivestar.toml to the live state: sends the
    /// graphs it lacks, switches its catalogue, drops what is no longer kept (after a target
    /// was down; every change does this by itself). Works on a live site. Exit 3 if a target
    /// failed.
    Sync {
        #[command(flatten)]
        store: store_cmd::StoreArgs,
    },
    /// Backs the store up into a new folder: the database (a consistent checkpoint), dumps,
    /// kept sources and run reports. Works on a live site, through its admin API.
    Backup {
        /// A folder that does not exist yet, or is empty.
        dir: PathBuf,
        #[command(flatten)]
        store: store_cmd::StoreArgs,
    },
    /// Restores a backup made by `fivestar backup` as the store (not while an instance holds
    /// the store).
    Restore {
        /// The backup folder.
        dir: PathBuf,
        /// Replace a store that is not empty.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        store: store_cmd::StoreArgs,
    },
    /// Accounts of the browser workspace at /admin/ (argon2 hashes in the store's users.json;
    /// a live instance sees a change at the next sign-in).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Measures csvw to-rdf on a generated spending-like CSV (rows/s, triples/s, peak memory).
    Bench(BenchArgs),
    /// Measures publishing (bulk load) of generated triples: triples/s, peak memory.
    BenchStore(bench::StoreBench),
    /// Measures what computing a release's changes (RDF Patch, row changes) adds to a publish.
    BenchChanges(bench::ChangesBench),
    /// Measures a whole `fivestar run` of a generated spending file against Oxigraph's bulk
    /// loader alone on the triples it published.
    BenchRun(bench::RunBench),
    /// Measures single-payment lookups through `fivestar serve` against Oxigraph's own server
    /// on the same store.
    BenchServe(bench::ServeBench),
    /// Measures query throughput of a running server with concurrent clients.
    BenchQuery {
        /// The site, e.g. http://127.0.0.1:7878
        url: String,
        #[arg(long, default_value_t = 4)]
        clients: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Instead of the aggregate mix, look up single resources: `PREFIX{n}` for random n
        /// below `--lookups` (e.g. http://bench.invalid/id/spend/payment/ on a bench-store store).
        #[arg(long)]
        lookup_prefix: Option<String>,
        #[arg(long, default_value_t = 2_000_000)]
        lookups: u64,
        /// With --lookup-prefix: every other request is the resource's HTML page.
        #[arg(long)]
        pages: bool,
        /// The SPARQL endpoint to query, when it is not URL/sparql: another engine's, to
        /// compare with (e.g. http://127.0.0.1:7879/query for `oxigraph serve`).
        #[arg(long)]
        endpoint: Option<String>,
    },
}

#[derive(Subcommand)]
enum CsvwCommand {
    /// Converts to RDF (csv2rdf).
    ToRdf {
        #[command(flatten)]
        input: InputArgs,
        /// Minimal mode: only the triples the cells say.
        #[arg(long)]
        minimal: bool,
        #[arg(long, value_enum, default_value_t = RdfFormatArg::Turtle)]
        format: RdfFormatArg,
        /// Write here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Converts to JSON (csv2json).
    ToJson {
        #[command(flatten)]
        input: InputArgs,
        #[arg(long)]
        minimal: bool,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Validates the data against its metadata.
    Validate {
        #[command(flatten)]
        input: InputArgs,
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
}

#[derive(Args)]
struct InputArgs {
    /// A CSV file, a metadata file, or an http(s) URL.
    input: String,
    /// Overriding metadata (a file or URL).
    #[arg(long)]
    metadata: Option<String>,
    /// Process a local INPUT as if it had been fetched from this IRI (its folder stands for
    /// the IRI's folder).
    #[arg(long)]
    base: Option<String>,
    /// Keep at most this many diagnostics (0: all).
    #[arg(long, default_value_t = 1000)]
    max_diagnostics: usize,
}

#[derive(Args)]
pub struct BenchArgs {
    /// Rows to generate.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Where to write the generated files (a temporary folder if not given).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Rounds, each the baseline then csv2rdf in both modes, in turn: the ratios are the
    /// medians of the rounds' ratios (a shared machine's speed drifts between runs).
    #[arg(long, default_value_t = 3)]
    rounds: u32,
}

#[derive(Clone, Copy, ValueEnum)]
enum RdfFormatArg {
    Turtle,
    Ntriples,
    Jsonld,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum ReportFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Adds an account, or sets the password of one. The password is read from standard input
    /// (one line), or asked for twice on a terminal.
    Add {
        name: String,
        #[command(flatten)]
        store: store_cmd::StoreArgs,
    },
    /// Removes an account (its sessions end at their next request).
    Remove {
        name: String,
        #[command(flatten)]
        store: store_cmd::StoreArgs,
    },
    /// Lists the accounts.
    List {
        #[command(flatten)]
        store: store_cmd::StoreArgs,
    },
}

/// A failure, with the exit code it earns.
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            code: 2,
            error: e.into(),
        }
    }
}

fn user(command: UserCommand) -> Result<u8, Failure> {
    use fivestar_server::workspace::auth;
    match command {
        UserCommand::Add { name, store } => {
            let password = read_password()?;
            let path = store.layout().users();
            let new = auth::add_user(&path, &name, &password).map_err(anyhow::Error::msg)?;
            eprintln!(
                "fivestar: {} {name:?} in {}",
                if new {
                    "added"
                } else {
                    "set a new password for"
                },
                path.display()
            );
        }
        UserCommand::Remove { name, store } => {
            let path = store.layout().users();
            if !auth::remove_user(&path, &name).map_err(anyhow::Error::msg)? {
                return Err(anyhow::anyhow!("no account {name:?} in {}", path.display()).into());
            }
            eprintln!("fivestar: removed {name:?}");
        }
        UserCommand::List { store } => {
            for (name, added) in
                auth::list_users(&store.layout().users()).map_err(anyhow::Error::msg)?
            {
                println!("{name}\tadded {added}");
            }
        }
    }
    Ok(0)
}

/// A password from standard input: one line when it is not a terminal, else asked twice
/// (the terminal's echo is turned off meanwhile).
fn read_password() -> Result<String, Failure> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    let ask = |prompt: &str| -> Result<String, Failure> {
        if tty {
            eprint!("{prompt}");
            let _ = std::io::stderr().flush();
            let _ = std::process::Command::new("stty").arg("-echo").status();
        }
        let mut line = String::new();
        let read = stdin.lock().read_line(&mut line);
        if tty {
            let _ = std::process::Command::new("stty").arg("echo").status();
            eprintln!();
        }
        read?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    };
    let first = ask("password: ")?;
    if tty && ask("again: ")? != first {
        return Err(anyhow::anyhow!("the two passwords differ").into());
    }
    Ok(first)
}

/// The hidden first argument with which this program reads an untrusted workbook as its
/// own child (fivestar_tidy::workbook).
const READ_WORKBOOK: &str = "__read-workbook";

fn main() -> ExitCode {
    set_purge_delay();
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == READ_WORKBOOK)
    {
        return ExitCode::from(fivestar_tidy::workbook::child_main().clamp(0, 255) as u8);
    }
    // Workbooks are read by a child process: one that exhausts memory ends that child.
    if let Ok(me) = std::env::current_exe() {
        fivestar_tidy::workbook::enable_isolation(me, vec![READ_WORKBOOK.to_string()]);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            // A closed pipe (`fivestar … | head`) is not an error worth a message.
            let broken_pipe = f.error.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
                    || e.downcast_ref::<csvw::Error>().is_some_and(|c| {
                        matches!(c, csvw::Error::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe)
                    })
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("fivestar: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}

fn run(cli: Cli) -> Result<u8, Failure> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(
                    "warn,fivestar_pipeline=info,fivestar_store=info",
                )
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let inst = match &cli.config {
        Some(named) => fivestar_pipeline::Instance::load_from(named, true),
        None => fivestar_pipeline::Instance::load(std::path::Path::new("fivestar.toml")),
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let _ = INSTANCE.set(inst);
    match cli.command {
        Command::Csvw { command } => csvw_command(command),
        Command::Run(args) => pipeline_cmd::run(args),
        Command::Validate(args) => pipeline_cmd::validate(args),
        Command::Inspect(args) => pipeline_cmd::inspect(args),
        Command::Status(args) => pipeline_cmd::status(args),
        Command::Schedule(args) => pipeline_cmd::schedule(args),
        Command::Publish(args) => store_cmd::publish(args),
        Command::Query(args) => store_cmd::query(args),
        Command::Releases(args) => store_cmd::releases(args),
        Command::Serve {
            bind,
            query_timeout,
            max_rows,
            read_only,
            backend,
            store,
        } => {
            let mode = match (backend, &instance().backend) {
                (Some(url), configured) => {
                    let mut b = configured
                        .clone()
                        .unwrap_or_else(|| fivestar_pipeline::config::Backend::at(&url));
                    b.query = url;
                    store_cmd::Mode::Backend(b)
                }
                (None, Some(b)) if !read_only => store_cmd::Mode::Backend(b.clone()),
                _ if read_only => store_cmd::Mode::ReadOnly,
                _ => store_cmd::Mode::Own,
            };
            store_cmd::serve(
                &bind.unwrap_or_else(|| instance().bind.clone()),
                query_timeout,
                max_rows,
                mode,
                store,
            )
        }
        Command::Withdraw { dataset, store } => store_cmd::withdraw(&dataset, store),
        Command::Rollback {
            dataset,
            release,
            store,
        } => store_cmd::rollback(&dataset, &release, store),
        Command::Remove {
            dataset,
            release,
            store,
        } => store_cmd::remove(&dataset, &release, store),
        Command::Backup { dir, store } => store_cmd::backup(&dir, store),
        Command::Sync { store } => store_cmd::sync(store),
        Command::User { command } => user(command),
        Command::Restore { dir, force, store } => store_cmd::restore(&dir, force, store),
        Command::BenchStore(args) => {
            bench::store(args)?;
            Ok(0)
        }
        Command::BenchChanges(args) => {
            bench::changes(args)?;
            Ok(0)
        }
        Command::BenchRun(args) => {
            bench::whole_run(args)?;
            Ok(0)
        }
        Command::BenchServe(args) => {
            bench::serve(args)?;
            Ok(0)
        }
        Command::BenchQuery {
            url,
            clients,
            seconds,
            lookup_prefix,
            lookups,
            pages,
            endpoint,
        } => {
            let lookup = lookup_prefix.map(|p| (p, lookups.max(1)));
            let endpoint =
                endpoint.unwrap_or_else(|| format!("{}/sparql", url.trim_end_matches('/')));
            bench::query(
                &url,
                &endpoint,
                clients.max(1),
                seconds.max(1),
                lookup,
                pages,
            )?;
            Ok(0)
        }
        Command::Bench(args) => {
            bench::run(args)?;
            Ok(0)
        }
    }
}

fn prepare(input: &InputArgs) -> Result<(WebFetcher, url::Url, Options)> {
    let (fetcher, url) =
        WebFetcher::for_input(&input.input, input.base.as_deref(), Default::default())
            .map_err(|e| anyhow::anyhow!(e))?;
    let metadata = match &input.metadata {
        Some(m) => Some(fetcher.url_for(m).map_err(|e| anyhow::anyhow!(e))?),
        None => None,
    };
    Ok((
        fetcher,
        url,
        Options {
            metadata,
            diagnostic_limit: input.max_diagnostics,
            ..Options::default()
        },
    ))
}

/// Maps a processing error to an exit code: invalid metadata or data is 1, anything else 2.
pub fn failure(e: csvw::Error) -> Failure {
    let code = if e.diagnostic().is_some() { 1 } else { 2 };
    let error = match e.diagnostic() {
        Some(d) => anyhow::anyhow!("{d}"),
        None => anyhow::Error::new(e),
    };
    Failure { code, error }
}

pub fn print_diagnostics(report: &Report) {
    for d in &report.diagnostics {
        eprintln!("{d}");
    }
    if report.dropped > 0 {
        eprintln!(
            "… and {} more (raise --max-diagnostics to see them)",
            report.dropped
        );
    }
}

/// Where output goes: `Send`, as csv2rdf writes on a thread of its own.
fn open_output(path: &Option<PathBuf>) -> Result<Box<dyn Write + Send>> {
    Ok(match path {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::with_capacity(
            1 << 16,
            std::io::stdout(),
        )),
    })
}

fn csvw_command(command: CsvwCommand) -> Result<u8, Failure> {
    match command {
        CsvwCommand::ToRdf {
            input,
            minimal,
            format,
            output,
        } => {
            let (fetcher, url, options) = prepare(&input)?;
            let format = match format {
                RdfFormatArg::Turtle => oxrdfio::RdfFormat::Turtle,
                RdfFormatArg::Ntriples => oxrdfio::RdfFormat::NTriples,
                RdfFormatArg::Jsonld => oxrdfio::RdfFormat::JsonLd {
                    profile: oxjsonld::JsonLdProfile::Streaming.into(),
                },
            };
            let out = open_output(&output)?;
            let mut sink = csvw::rdf::SerializerSink::new(format, out);
            let report =
                csvw::to_rdf(&url, &fetcher, options, minimal, &mut sink).map_err(failure)?;
            sink.finish()?.flush()?;
            print_diagnostics(&report);
            Ok(0)
        }
        CsvwCommand::ToJson {
            input,
            minimal,
            output,
        } => {
            let (fetcher, url, options) = prepare(&input)?;
            let mut out = open_output(&output)?;
            let report =
                csvw::to_json(&url, &fetcher, options, minimal, true, &mut out).map_err(failure)?;
            out.write_all(b"\n")?;
            out.flush()?;
            print_diagnostics(&report);
            Ok(0)
        }
        CsvwCommand::Validate { input, format } => {
            let (fetcher, url, options) = prepare(&input)?;
            let report = match csvw::validate(&url, &fetcher, options) {
                Ok(r) => r,
                Err(e) => match e.diagnostic() {
                    // Invalid metadata is a validation result, reported like the others.
                    Some(d) => {
                        let mut r = Report::default();
                        r.push(d.clone());
                        r
                    }
                    None => return Err(failure(e)),
                },
            };
            let valid = !report.has_errors();
            if format == ReportFormat::Json {
                let diags: Vec<&Diagnostic> = report.diagnostics.iter().collect();
                let doc = serde_json::json!({
                    "input": url.as_str(),
                    "valid": valid,
                    "errors": report.errors().count(),
                    "warnings": report.warnings().count(),
                    "dropped": report.dropped,
                    "diagnostics": diags,
                });
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                print_diagnostics(&report);
                println!(
                    "{}: {} ({} errors, {} warnings)",
                    url,
                    if valid { "valid" } else { "invalid" },
                    report.errors().count(),
                    report.warnings().count()
                );
            }
            Ok(if valid { 0 } else { 1 })
        }
    }
}

mod bench;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_the_one_mimalloc_documents() {
        // mimalloc's options.c: purge_delay defaults to 1,000 ms in v3 (10 ms in v2); the
        // constant names that option.
        // SAFETY: reading an option; this test sets none but the one below.
        let default = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert!(default == 1000 || default == 10, "{default}");
        }
        set_purge_delay();
        // SAFETY: as above.
        let set = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        match std::env::var("MIMALLOC_PURGE_DELAY") {
            // The operator's value, as mimalloc read it, is left alone.
            Ok(given) => {
                if let Ok(n) = given.trim().parse::<std::ffi::c_long>() {
                    assert_eq!(n, set);
                }
            }
            Err(_) => assert_eq!(set, PURGE_DELAY_MS),
        }
    }
}
