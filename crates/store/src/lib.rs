//! Releases of datasets in an on-disk Oxigraph store, their dumps, and the DCAT catalogue.
//!
//! Each dataset is published as **releases**: one named graph per release,
//! `<base>/graph/{dataset}/{release}`. A publish bulk-loads the release while it writes the
//! dumps from the same parse (Oxigraph's bulk loader is atomic: nothing is visible before it
//! commits), then makes it live in one transaction that rewrites the dataset's catalogue entry.
//! The live release of a dataset is its `dcat:hasCurrentVersion`. Readers of the public view
//! see only live releases, the catalogue and the vocabulary graphs: never a draft, never a
//! half-loaded release.
//!
//! Oxigraph specifics stay inside this crate; publishing goes through [`Publisher`] so that a
//! remote SPARQL store can become a second target.

pub mod audit;
mod backend;
pub mod background;
mod backup;
mod catalog;
pub mod changes;
mod dumps;
pub mod figures;
pub mod guard;
pub mod mirror;
pub mod search;
pub mod summary;
mod triples;

pub use backend::{Backend, BackendHealth, Form, EMPTY_GRAPH};
pub use backup::{read_backup, restore, BackupInfo};

/// The RDF and SPARQL results model other crates share with the store: Oxigraph's terms,
/// formats and results, not its database or its query engine (those stay in here).
pub mod rdf {
    pub use oxigraph::io::{RdfFormat, RdfParser, RdfSerializer};
    pub use oxigraph::model::*;
    pub use oxigraph::sparql::results::{
        QueryResultsFormat, QueryResultsParser, QueryResultsSerializer,
    };
    pub use oxigraph::sparql::{
        CancellationToken, QueryEvaluationError, QueryResults, QuerySolution, QueryTripleIter,
    };
}

use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::{
    GraphName, GraphNameRef, NamedNode, NamedNodeRef, NamedOrBlankNode, Quad, Term,
};
use oxigraph::sparql::{QueryResults, SparqlEvaluator};
use std::path::{Path, PathBuf};

pub use catalog::{
    is_open_licence, rate, ChangeCounts, DatasetState, Linked, ReleaseState, StarFacts, Stars,
    LINKED_FOR_FIFTH_STAR,
};
pub use dumps::change_file_names;
pub use fivestar_site::{normalise_base, Layout, DEFAULT_LOADER_MEMORY_MB, OGL_V3};
pub use mirror::{Mirror, MirrorOutcome, MirrorPlan, PlannedGraph};
pub use triples::{Made, Quads, Triples};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Invalid(String),
    #[error("storage: {0}")]
    Storage(#[from] oxigraph::store::StorageError),
    #[error("loading the release: {0}")]
    Load(#[from] oxigraph::store::LoaderError),
    #[error("query: {0}")]
    Query(#[from] oxigraph::sparql::QueryEvaluationError),
    #[error("query syntax: {0}")]
    Syntax(#[from] oxigraph::sparql::SparqlSyntaxError),
    /// The SPARQL store a read server answers from failed or could not be reached.
    #[error("the SPARQL store behind this site: {0}")]
    Backend(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The description of a dataset, as its publisher gives it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DatasetInfo {
    /// A slug: lower-case letters, digits and hyphens.
    pub id: String,
    pub title: String,
    pub description: String,
    /// The publisher's IRI (a council's statistical-geography URI).
    pub publisher: Option<String>,
    /// The licence IRI (Open Government Licence v3 when not given).
    pub licence: String,
}

/// Where a release came from (PROV-O).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Provenance {
    /// The URL of the source file.
    pub source: Option<String>,
    pub source_sha256: Option<String>,
    /// When the source was fetched (xsd:dateTime).
    pub fetched_at: Option<String>,
    /// Identifies the run that generated the release.
    pub run: Option<String>,
    /// The sha256 of the pipeline file or metadata that drove the conversion.
    pub pipeline_sha256: Option<String>,
}

/// A release to publish.
#[derive(Debug)]
pub struct PublishRequest {
    pub dataset: DatasetInfo,
    /// A slug; releases sort by it (a timestamp such as `20241122T205000Z` does well).
    pub release: String,
    /// The release's triples: an N-Triples file, or made while they load.
    pub triples: Triples,
    /// The clean CSV and its CSVW metadata, published beside the RDF when a CSV was the source.
    pub csv: Option<(PathBuf, PathBuf)>,
    pub provenance: Provenance,
    /// When the release was generated (xsd:dateTime).
    pub generated_at: String,
    /// Told how the bulk load progresses (quads loaded so far).
    pub progress: Option<LoadProgress>,
    /// How well the identifying values linked (the fifth star needs most of them to).
    pub linked: Option<Linked>,
    /// How the release's rows are identified: with it, the changes against the live release
    /// are also listed row by row.
    pub identity: Option<changes::Identity>,
    /// The figures its dataset page charts, computed over the release's graph after the load.
    pub figures: Vec<figures::FigureQuery>,
    /// The summaries computed while it loads, kept in its summary graph (the figures' queries
    /// may read them there).
    pub summaries: Vec<summary::SummarySpec>,
}

/// A [`Progress`] callback that a [`PublishRequest`] can carry.
#[derive(Clone)]
pub struct LoadProgress(pub Progress);

impl std::fmt::Debug for LoadProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoadProgress")
    }
}

/// What a publish produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReleaseInfo {
    pub dataset: String,
    pub release: String,
    pub graph: String,
    pub triples: u64,
    /// How long each phase took: dumps, load, statistics, catalogue, latest and all dumps.
    pub phases: Vec<(&'static str, std::time::Duration)>,
    /// The CPU time the process used in each of those phases (all its threads; not for the
    /// "of which" lines, which ran side by side). On 2 cores, a phase's wall time is at
    /// least half of it.
    pub cpu: Vec<(&'static str, std::time::Duration)>,
    /// What each `[[publish_to]]` target made of it (the release is live here either way;
    /// filled by the sync after the publish, as `publish_one` does).
    #[serde(rename = "publish_to")]
    pub mirrors: Vec<MirrorOutcome>,
}

/// A target that releases can be published to.
pub trait Publisher {
    /// Publishes a release here; its `mirrors` are empty: [`Publisher::sync`] brings the
    /// `[[publish_to]]` targets along, once the caller no longer holds anything another
    /// publish waits for.
    fn publish(&self, request: &PublishRequest) -> Result<ReleaseInfo>;
    /// Brings every `[[publish_to]]` target to the live state; what each made of it.
    fn sync(&self) -> Vec<MirrorOutcome>;
    /// Takes a dataset off the live view (its releases stay). `Ok` once it is off here;
    /// what each mirror made of it is in the list.
    fn withdraw(&self, dataset: &str) -> Result<Vec<MirrorOutcome>>;
    /// Makes an earlier (or any existing) release the live one.
    fn rollback(&self, dataset: &str, release: &str) -> Result<Vec<MirrorOutcome>>;
}

/// Called with the number of quads loaded so far.
pub type Progress = std::sync::Arc<dyn Fn(u64) + Send + Sync>;

/// Store settings.
#[derive(Clone)]
pub struct Settings {
    /// The base IRI every published IRI starts with, without a trailing slash.
    pub base: String,
    /// Memory the bulk loader may use, in megabytes (a target, not a hard limit; a release
    /// that would load in more than 16 batches gets up to four times it).
    pub loader_memory_mb: usize,
    /// Threads the bulk loader may use.
    pub loader_threads: usize,
    /// Whether a publish works out what changed since the live release (on by default; off
    /// only to measure what that costs: `fivestar bench-changes`).
    pub changes: bool,
    /// The stores every change of the live state is copied to (`[[publish_to]]`).
    pub mirrors: Vec<std::sync::Arc<dyn Mirror>>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("base", &self.base)
            .field("loader_memory_mb", &self.loader_memory_mb)
            .field("loader_threads", &self.loader_threads)
            .field("changes", &self.changes)
            .field(
                "mirrors",
                &self.mirrors.iter().map(|m| m.name()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Settings {
    pub fn new(base: impl Into<String>) -> Self {
        Settings {
            base: normalise_base(&base.into()),
            loader_memory_mb: DEFAULT_LOADER_MEMORY_MB,
            loader_threads: 2,
            changes: true,
            mirrors: Vec::new(),
        }
    }
}

/// The fivestar store: an Oxigraph database and the dumps beside it.
pub struct Store {
    db: oxigraph::store::Store,
    dir: PathBuf,
    layout: Layout,
    settings: Settings,
    /// Held while the live state changes (the catalogue switch, `latest.*`, `all.nq.gz`) and
    /// while a backup copies it: a rollback, withdraw, removal, backup or the end of a publish
    /// never interleave. A publish's load, the long part, runs outside it.
    switch: std::sync::Mutex<()>,
    /// Graphs of interrupted publishes being removed in the background (see
    /// [`Store::open`]); a publish into one of them waits until it is gone.
    cleaning: std::sync::Arc<(std::sync::Mutex<Vec<String>>, std::sync::Condvar)>,
    /// Counts the catalogue's changes: bumped after every transaction that writes it.
    catalog_generation: std::sync::atomic::AtomicU64,
    /// The catalogue as last read, with the generation it was read at (see
    /// [`Store::catalog_view`]).
    catalog_view: std::sync::Mutex<Option<(u64, std::sync::Arc<CatalogView>)>>,
    /// Opened by [`Store::open_read_only`]: a replica that serves and never changes.
    read_only: bool,
    /// Opened by [`Store::open_backed`]: queries go to another SPARQL store, and `db` holds
    /// only a copy of its catalogue.
    backed: Option<backend::Backed>,
}

/// What the catalogue says, read once per change of it rather than once per request: every
/// dataset with its releases, the graphs of the public view and the tag of the live state.
#[derive(Debug)]
pub struct CatalogView {
    pub datasets: Vec<DatasetState>,
    /// The public view's graphs: the live releases', the catalogue and the vocabulary. A query
    /// that names no graphs reads their union as its default graph.
    pub public: Vec<NamedNode>,
    /// The live releases' summary graphs: readable by name (GRAPH, FROM, the protocol's graph
    /// parameters) but outside the default union, where their observations would be counted
    /// with the lines they sum.
    pub summaries: Vec<NamedNode>,
    pub tag: String,
}

impl CatalogView {
    /// The graphs a query may name: the public ones and the summaries.
    pub fn readable(&self) -> Vec<NamedNode> {
        self.public.iter().chain(&self.summaries).cloned().collect()
    }
}

/// Oxigraph's bulk loader alone: the N-Triples file `ntriples` into graph `graph` of a new
/// database in `dir` (with the loader's own defaults unless `threads` or `memory_mb` are
/// given). The yardstick `fivestar bench-store --loader-only` compares a publish with.
pub fn bulk_load_alone(
    dir: &Path,
    ntriples: &Path,
    graph: &str,
    threads: Option<usize>,
    memory_mb: Option<usize>,
) -> Result<()> {
    let db = oxigraph::store::Store::open(dir)?;
    let mut loader = db.bulk_loader();
    if let Some(n) = threads {
        loader = loader.with_num_threads(n.max(1));
    }
    if let Some(mb) = memory_mb {
        loader = loader.with_max_memory_size_in_megabytes(mb.max(1));
    }
    let graph = NamedNode::new(graph).map_err(|e| Error::Invalid(e.to_string()))?;
    let file = std::fs::File::open(ntriples).map_err(io(ntriples))?;
    loader.load_from_reader(
        RdfParser::from_format(RdfFormat::NTriples).with_default_graph(graph),
        std::io::BufReader::new(file),
    )?;
    loader.commit()?;
    Ok(())
}

/// Compacts the Oxigraph database in `dir` to its end (RocksDB's manual compaction of every
/// column family), then closes it. For the serving bench: a store a process bulk-loaded and
/// left is compacted by whichever process next opens it read-write (`fivestar serve` spent
/// 14 CPU s in its first 20 s idle on a fresh 12 M-triple store, its files going from 77 to
/// 67), which Oxigraph's read-only server never does, so the first server measured paid for
/// it alone.
pub fn compact_alone(dir: &Path) -> Result<()> {
    let db = oxigraph::store::Store::open(dir)?;
    db.optimize()?;
    Ok(())
}

/// The summaries' copy in an in-memory store, being made on a thread of its own (none when
/// there are no summaries).
type InMemory = Option<std::thread::JoinHandle<Result<oxigraph::store::Store>>>;

/// The most batches one load is cut into. Each batch of Oxigraph's bulk loader becomes one
/// level-0 file per column family, all ingested at its commit. RocksDB slows writes while a
/// column family holds 20 level-0 files and stops them at 36 (its `level0_slowdown_writes_trigger`
/// and `level0_stop_writes_trigger`), and every read merges all of them until compaction has
/// run: a 20 M-triple release in 40 batches made the catalogue's switch after it wait 30 s.
/// 16 leaves room for an estimate 20 % short and for the files earlier loads left.
const MAX_LOAD_BATCHES: u64 = 16;

/// The memory to give the bulk loader for a load of about `quads` quads on `threads` threads:
/// the configured `budget_mb`, or more when that would cut the load into more than
/// [`MAX_LOAD_BATCHES`] batches, up to four times the budget (a larger release loads in more
/// batches and waits at the switch). Oxigraph's batches are `memory_mb × 1000 ÷ threads`
/// quads.
fn load_memory_mb(budget_mb: usize, threads: usize, quads: u64) -> usize {
    let threads = threads.max(1) as u64;
    let batch = quads.div_ceil(MAX_LOAD_BATCHES);
    let needed = (batch * threads).div_ceil(1000);
    let needed = usize::try_from(needed).unwrap_or(usize::MAX);
    needed.clamp(budget_mb, budget_mb.saturating_mul(4))
}

/// A SELECT query's rows over `db` (all of it, not the public view), as name → term.
fn select_in(db: &oxigraph::store::Store, query: &str) -> Result<Vec<Vec<(String, Term)>>> {
    let results = SparqlEvaluator::new()
        .parse_query(query)?
        .on_store(db)
        .execute()?;
    let QueryResults::Solutions(solutions) = results else {
        return Err(Error::Invalid("a figure's query must be a SELECT".into()));
    };
    let mut rows = Vec::new();
    for s in solutions.take(figures::MAX_ROWS) {
        let s = s?;
        rows.push(
            s.iter()
                .map(|(v, t)| (v.as_str().to_string(), t.clone()))
                .collect(),
        );
    }
    Ok(rows)
}

/// About how many lines an N-Triples file holds: its size over the mean length of the lines
/// in its first MiB (`None` for an empty file or one without a line end there).
fn estimate_lines(path: &Path) -> std::io::Result<Option<u64>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let mut sample = Vec::with_capacity(1 << 20);
    (&mut file).take(1 << 20).read_to_end(&mut sample)?;
    let Some(last) = sample.iter().rposition(|&b| b == b'\n') else {
        return Ok(None);
    };
    let lines = sample[..=last].iter().filter(|&&b| b == b'\n').count() as u64;
    Ok(Some(size.saturating_mul(lines).div_ceil(last as u64 + 1)))
}

/// The CPU time this process has used so far, user and system, over all its threads (`None`
/// where the system does not say).
pub fn cpu_time() -> Option<std::time::Duration> {
    // SAFETY: getrusage only writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    let d = |t: libc::timeval| {
        std::time::Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + std::time::Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    Some(d(usage.ru_utime) + d(usage.ru_stime))
}

/// A test hook: when `FIVESTAR_TEST_CRASH_AT` names this point, the process aborts here, as
/// a kill -9 would stop it (the crash tests of `tests/releases.rs` use it).
pub(crate) fn crash_point(name: &str) {
    if std::env::var("FIVESTAR_TEST_CRASH_AT").is_ok_and(|v| v == name) {
        std::process::abort();
    }
}

/// Removes a graph 10,000 quads at a time (one transaction each), then its name. One
/// iterator walks the graph (on its snapshot) while the batches are deleted: starting a new
/// scan for each batch would walk past every deletion before it again.
fn remove_graph_in_batches(
    db: &oxigraph::store::Store,
    graph: NamedNodeRef<'_>,
) -> std::result::Result<u64, oxigraph::store::StorageError> {
    let mut removed = 0u64;
    let mut quads = db.quads_for_pattern(None, None, None, Some(GraphNameRef::NamedNode(graph)));
    loop {
        let batch: Vec<Quad> = quads
            .by_ref()
            .take(10_000)
            .collect::<std::result::Result<_, _>>()?;
        if batch.is_empty() {
            break;
        }
        let mut t = db.start_transaction()?;
        for q in &batch {
            t.remove(q);
        }
        t.commit()?;
        removed += batch.len() as u64;
    }
    drop(quads);
    db.remove_named_graph(graph)?;
    // Write the deletions out of the memtables: otherwise the next open replays millions of
    // them from the log (measured: 20-32 s before the site listened).
    db.flush()?;
    Ok(removed)
}

/// A value of a row changed by a release (see [`Store::corrections`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Correction {
    /// The release that changed it (of `dataset`), and when that release was issued.
    pub dataset: String,
    pub release: String,
    pub issued: Option<String>,
    pub column: String,
    pub previous: String,
    pub new: String,
}

/// What a path under `/dumps/` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpStatus {
    /// A file of the live public view: `all.nq.gz`, a `latest` file, a recorded release's.
    Public,
    /// A file of a withdrawn dataset: nothing of it is served.
    Withdrawn,
    /// Not a published file (a release being loaded, left by a crash, or unknown).
    Unknown,
}

/// Refuses every SERVICE call: the public store makes no outbound requests. (Oxigraph is
/// also built without its HTTP client, so there is nothing else to call.)
struct NoService;

/// The error a SERVICE call gets.
#[derive(Debug, thiserror::Error)]
#[error("SERVICE <{0}> is not allowed: this endpoint makes no outbound requests")]
pub struct ServiceRefused(String);

impl oxigraph::sparql::DefaultServiceHandler for NoService {
    type Error = ServiceRefused;

    fn handle(
        &self,
        service_name: &NamedNode,
        _pattern: &spargebra::algebra::GraphPattern,
        _base_iri: Option<&oxiri::Iri<String>>,
    ) -> Result<oxigraph::sparql::QuerySolutionIter<'static>, ServiceRefused> {
        Err(ServiceRefused(service_name.as_str().to_string()))
    }
}

/// The dataset a query on the public view reads: the request's graphs (the SPARQL Protocol's
/// parameters; a list it leaves empty is the whole public view), else the query's own `FROM`
/// and `FROM NAMED` (`own`; with `FROM` alone there are no named graphs, with `FROM NAMED`
/// alone the default graph is empty), else the whole public view; always within it.
fn choose_dataset(
    view: &CatalogView,
    default_graphs: &[String],
    named_graphs: &[String],
    own: Option<(Vec<NamedNode>, Vec<NamedNode>)>,
) -> (Vec<NamedNode>, Vec<NamedNode>) {
    let public = &view.public;
    let readable = view.readable();
    let within = |asked: &[String]| -> Vec<NamedNode> {
        readable
            .iter()
            .filter(|g| asked.iter().any(|a| a == g.as_str()))
            .cloned()
            .collect()
    };
    if !default_graphs.is_empty() || !named_graphs.is_empty() {
        let or_all = |asked: &[String], all: &Vec<NamedNode>| {
            if asked.is_empty() {
                all.clone()
            } else {
                within(asked)
            }
        };
        return (
            or_all(default_graphs, public),
            or_all(named_graphs, &readable),
        );
    }
    match own {
        None => (public.clone(), readable),
        Some((from, from_named)) => (
            readable
                .iter()
                .filter(|g| from.contains(g))
                .cloned()
                .collect(),
            readable
                .iter()
                .filter(|g| from_named.contains(g))
                .cloned()
                .collect(),
        ),
    }
}

/// Checks a dataset or release id: a slug, so that it is safe in IRIs and file names.
pub fn check_slug(kind: &str, s: &str) -> Result<()> {
    fivestar_site::check_slug(kind, s).map_err(Error::Invalid)
}

/// The base IRI the store in `dir` was created with (its `store.json`), if there is a store.
pub fn recorded_base(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(Layout::new("http://x.invalid", dir).marker()).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["base"]
        .as_str()
        .filter(|b| !b.is_empty())
        .map(String::from)
}

/// Checks a store's `store.json` (`text`, read from `marker`): the base IRI must be the one
/// the store was created with.
fn check_marker(marker: &Path, text: &str, dir: &Path, settings: &Settings) -> Result<()> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Error::Invalid(format!("{}: {e}", marker.display())))?;
    let base = v["base"].as_str().unwrap_or("");
    if base != settings.base {
        return Err(Error::Invalid(format!(
            "the store in {} was created with base IRI {base}, not {}; use that base or a new store",
            dir.display(),
            settings.base
        )));
    }
    Ok(())
}

impl Store {
    /// Opens (or creates) the store in `dir`: the database in `dir/oxigraph`, dumps in
    /// `dir/dumps`. A store remembers the base IRI it was created with.
    pub fn open(dir: impl AsRef<Path>, settings: Settings) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let layout = Layout::new(&settings.base, &dir);
        std::fs::create_dir_all(layout.dumps()).map_err(io(&dir))?;
        let marker = layout.marker();
        match std::fs::read_to_string(&marker) {
            Ok(text) => check_marker(&marker, &text, &dir, &settings)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let v = serde_json::json!({"base": settings.base, "format": 1});
                std::fs::write(&marker, v.to_string()).map_err(io(&marker))?;
            }
            Err(e) => return Err(io(&marker)(e)),
        }
        let db = oxigraph::store::Store::open(layout.database())?;
        let store = Store::with(db, dir, layout, settings, false);
        store.recover()?;
        Ok(store)
    }

    /// Opens the store in `dir` read-only, to serve it as a replica: a copy made by
    /// [`Store::backup`] (or a store no process has open). Nothing in `dir` is written: no
    /// recovery, no vocabulary load, and every change is refused. Refused too: a store that
    /// was left mid-switch (open it read-write once), and a database another process has open
    /// for writing (RocksDB's own lock on `oxigraph/LOCK`), which a read-only reader would see
    /// torn (Oxigraph calls that undefined behaviour).
    pub fn open_read_only(dir: impl AsRef<Path>, settings: Settings) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let layout = Layout::new(&settings.base, &dir);
        let marker = layout.marker();
        let text = std::fs::read_to_string(&marker).map_err(|e| {
            Error::Invalid(format!(
                "{} is not a fivestar store or backup ({}: {e})",
                dir.display(),
                marker.display()
            ))
        })?;
        check_marker(&marker, &text, &dir, &settings)?;
        if layout.journal().exists() {
            return Err(Error::Invalid(format!(
                "the store in {} was left in the middle of a switch: open it read-write once (fivestar serve) to recover it, or serve a backup",
                dir.display()
            )));
        }
        if let Some(pid) = backup::writer_of(&layout.database().join("LOCK")) {
            return Err(Error::Invalid(format!(
                "the database in {} is open for writing by process {pid}: serve a copy of it made by `fivestar backup`",
                dir.display()
            )));
        }
        let db = oxigraph::store::Store::open_read_only(layout.database())?;
        Ok(Store::with(db, dir, layout, settings, true))
    }

    fn with(
        db: oxigraph::store::Store,
        dir: PathBuf,
        layout: Layout,
        settings: Settings,
        read_only: bool,
    ) -> Store {
        Store {
            db,
            dir,
            layout,
            settings,
            switch: std::sync::Mutex::default(),
            cleaning: Default::default(),
            catalog_generation: Default::default(),
            catalog_view: Default::default(),
            read_only,
            backed: None,
        }
    }

    /// Whether the store was opened read-only (a replica).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Refuses a change of a read-only store, saying what it is.
    fn writable(&self) -> Result<()> {
        if let Some(b) = &self.backed {
            return Err(Error::Invalid(format!(
                "this server answers from {} and changes nothing: publish on the machine whose [[publish_to]] sends to it",
                b.backend.describe()
            )));
        }
        if self.read_only {
            return Err(Error::Invalid(format!(
                "the store in {} is open read-only (a replica): change the store it was copied from",
                self.dir.display()
            )));
        }
        Ok(())
    }

    /// Brings the files back in line with the catalogue after a crash, in this order:
    /// temporary files go; a switch that was under way (its journal is there) has its
    /// `latest.*` and `all.nq.gz` rewritten from the catalogue as it is, so they agree with
    /// it whichever side of the switch the crash fell; dumps of releases the catalogue does
    /// not record go; graphs of unrecorded releases are removed in the background (a big one
    /// takes minutes, and it is invisible meanwhile).
    fn recover(&self) -> Result<()> {
        let tmp = dumps::tmp_dir(&self.dumps_dir());
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        let journal = self.journal_path();
        if let Ok(dataset) = std::fs::read_to_string(&journal) {
            let dataset = dataset.trim();
            if !dataset.is_empty() {
                tracing::warn!(
                    dataset,
                    "a switch was interrupted: rewriting the public files"
                );
                self.public_files_for(dataset)?;
            }
            std::fs::remove_file(&journal).map_err(io(&journal))?;
        }
        self.remove_unrecorded_dumps()?;
        self.remove_orphans_in_background()
    }

    fn journal_path(&self) -> PathBuf {
        self.layout.journal()
    }

    /// Notes, durably, that the live state of `dataset` is about to change.
    fn begin_switch(&self, dataset: &str) -> Result<()> {
        let journal = self.journal_path();
        let tmp = journal.with_extension("journal.new");
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        std::io::Write::write_all(&mut f, dataset.as_bytes()).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &journal).map_err(io(&journal))
    }

    fn end_switch(&self) -> Result<()> {
        let journal = self.journal_path();
        match std::fs::remove_file(&journal) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&journal)(e)),
        }
    }

    /// `latest.*` of `dataset` and `all.nq.gz` as the catalogue says they are now.
    fn public_files_for(&self, dataset: &str) -> Result<()> {
        match self.find(dataset).ok().and_then(|d| d.live) {
            Some(live) => dumps::write_latest(self, dataset, &live)?,
            None => dumps::remove_latest(&self.dumps_dir(), dataset)?,
        }
        crash_point("latest-written");
        dumps::write_all(self)
    }

    /// What a path under `/dumps/` is (see [`DumpStatus`]).
    pub fn dump_status(&self, path: &str) -> Result<DumpStatus> {
        if path == "all.nq.gz" || path == "all.nq.gz.sha256" {
            return Ok(DumpStatus::Public);
        }
        let Some((dataset, name)) = path.split_once('/') else {
            return Ok(DumpStatus::Unknown);
        };
        let Some(d) = self.datasets()?.into_iter().find(|d| d.id == dataset) else {
            return Ok(DumpStatus::Unknown);
        };
        if d.live.is_none() {
            return Ok(DumpStatus::Withdrawn);
        }
        let recorded = dumps::is_latest_name(name)
            || d.releases.iter().any(|r| {
                dumps::release_file_names(&r.release)
                    .iter()
                    .any(|n| n == name)
            });
        Ok(if recorded {
            DumpStatus::Public
        } else {
            DumpStatus::Unknown
        })
    }

    /// Removes files under `dumps/` that no recorded release owns: those of a publish
    /// interrupted before its release was recorded, and stray temporary files.
    fn remove_unrecorded_dumps(&self) -> Result<()> {
        let dumps = self.dumps_dir();
        let datasets = self.datasets()?;
        let Ok(entries) = std::fs::read_dir(&dumps) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !path.is_dir() {
                if name != "all.nq.gz" && name != "all.nq.gz.sha256" {
                    std::fs::remove_file(&path).map_err(io(&path))?;
                }
                continue;
            }
            let Some(d) = datasets.iter().find(|d| d.id == name) else {
                std::fs::remove_dir_all(&path).map_err(io(&path))?;
                continue;
            };
            let owned: std::collections::HashSet<String> = d
                .releases
                .iter()
                .flat_map(|r| dumps::release_file_names(&r.release))
                .collect();
            for f in std::fs::read_dir(&path).map_err(io(&path))?.flatten() {
                let n = f.file_name().to_string_lossy().into_owned();
                if !dumps::is_latest_name(&n) && !owned.contains(&n) {
                    tracing::info!(file = %f.path().display(), "removing a dump no release owns");
                    std::fs::remove_file(f.path()).map_err(io(&f.path()))?;
                }
            }
        }
        Ok(())
    }

    /// Waits until the graphs of interrupted publishes are removed.
    pub fn wait_for_cleanup(&self) {
        let (lock, done) = &*self.cleaning;
        let mut g = lock.lock().unwrap_or_else(|e| e.into_inner());
        while !g.is_empty() {
            g = done.wait(g).unwrap_or_else(|e| e.into_inner());
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The store's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn dumps_dir(&self) -> PathBuf {
        self.layout.dumps()
    }

    /// The site's IRIs and the store's folders.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Takes the switch lock (see [`Store`]); a panic while it was held does not wedge it.
    fn switching(&self) -> std::sync::MutexGuard<'_, ()> {
        self.switch.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The underlying database, for the server's read side.
    pub fn db(&self) -> &oxigraph::store::Store {
        &self.db
    }

    pub fn graph_iri(&self, dataset: &str, release: &str) -> String {
        self.layout.release_graph(dataset, release)
    }

    pub fn catalog_graph(&self) -> String {
        self.layout.catalog_graph()
    }

    pub fn vocab_graph(&self) -> String {
        self.layout.vocab_graph()
    }

    /// Release graphs with no catalogue entry: left by a crash between loading and making
    /// live. They were never visible; they are removed on a background thread (at low
    /// priority, in transactions of 10,000 quads, so memory stays small and opening is quick).
    fn remove_orphans_in_background(&self) -> Result<()> {
        let prefix = self.layout.graph("");
        let known: std::collections::HashSet<String> = self
            .datasets()?
            .into_iter()
            .flat_map(|d| {
                d.releases
                    .into_iter()
                    .flat_map(|r| [self.layout.summary_graph(&d.id, &r.release), r.graph])
                    .collect::<Vec<_>>()
            })
            .collect();
        let orphans: Vec<NamedNode> = self
            .db
            .named_graphs()
            .filter_map(|g| match g {
                Ok(NamedOrBlankNode::NamedNode(n)) => Some(Ok(n)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|g| {
                let s = g.as_str();
                s.starts_with(&prefix)
                    && s != self.catalog_graph()
                    && s != self.vocab_graph()
                    && !known.contains(s)
            })
            .collect();
        if orphans.is_empty() {
            return Ok(());
        }
        {
            let mut g = self.cleaning.0.lock().unwrap_or_else(|e| e.into_inner());
            g.extend(orphans.iter().map(|o| o.as_str().to_string()));
        }
        let db = self.db.clone();
        let cleaning = self.cleaning.clone();
        std::thread::Builder::new()
            .name("fivestar-orphans".into())
            .spawn(move || {
                background::lower_this_thread();
                for graph in orphans {
                    let started = std::time::Instant::now();
                    match remove_graph_in_batches(&db, graph.as_ref()) {
                        Ok(quads) => tracing::info!(
                            graph = graph.as_str(),
                            quads,
                            seconds = started.elapsed().as_secs_f64(),
                            "removed the graph of an interrupted publish"
                        ),
                        Err(e) => tracing::error!(graph = graph.as_str(), error = %e, "removing the graph of an interrupted publish"),
                    }
                    let (lock, done) = &*cleaning;
                    let mut g = lock.lock().unwrap_or_else(|e| e.into_inner());
                    g.retain(|x| x != graph.as_str());
                    done.notify_all();
                }
            })
            .map_err(|e| Error::Invalid(format!("cannot start the clean-up thread: {e}")))?;
        Ok(())
    }

    /// Replaces the vocabulary graph (labels for pages and queries) with the union of the
    /// Turtle `documents`, in one transaction. Nothing is done when the documents are those
    /// loaded last time (their sha256 is kept in `vocab.sha256`); returns whether it loaded.
    pub fn load_vocabulary(&self, documents: &[Vec<u8>]) -> Result<bool> {
        self.writable()?;
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for d in documents {
            h.update((d.len() as u64).to_le_bytes());
            h.update(d);
        }
        let sum = hex::encode(h.finalize());
        let marker = self.dir.join("vocab.sha256");
        if std::fs::read_to_string(&marker).is_ok_and(|s| s.trim() == sum) {
            return Ok(false);
        }
        let g = NamedNode::new_unchecked(self.vocab_graph());
        let mut quads = Vec::new();
        for (i, d) in documents.iter().enumerate() {
            for q in RdfParser::from_format(RdfFormat::Turtle)
                .with_default_graph(g.as_ref())
                .for_reader(d.as_slice())
            {
                quads.push(
                    q.map_err(|e| Error::Invalid(format!("vocabulary document {}: {e}", i + 1)))?,
                );
            }
        }
        // No vocabulary is named loaded (nor its member trusted) until it is, whole.
        match std::fs::remove_file(&marker) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&marker)(e)),
        }
        dumps::remove_vocab_members(&self.dir, None)?;
        let mut tx = self.db.start_transaction()?;
        let old: Vec<Quad> = tx
            .quads_for_pattern(None, None, None, Some(GraphNameRef::NamedNode(g.as_ref())))
            .collect::<std::result::Result<_, _>>()?;
        for q in &old {
            tx.remove(q);
        }
        for q in &quads {
            tx.insert(q);
        }
        tx.commit()?;
        dumps::write_vocab_member(&self.dir, &self.dumps_dir(), &sum, &quads)?;
        std::fs::write(&marker, &sum).map_err(io(&marker))?;
        Ok(true)
    }

    /// Every dataset with its releases, from the catalogue.
    pub fn datasets(&self) -> Result<Vec<DatasetState>> {
        Ok(self.catalog_view()?.datasets.clone())
    }

    /// The catalogue's datasets, public graphs and state tag. They are read from the store
    /// once after each change of the catalogue and shared until the next one: a request
    /// costs a lock and a comparison, not two catalogue queries.
    pub fn catalog_view(&self) -> Result<std::sync::Arc<CatalogView>> {
        use std::sync::atomic::Ordering;
        let generation = self.catalog_generation.load(Ordering::Acquire);
        if let Some(view) = self.catalog_view_cached() {
            return Ok(view);
        }
        let datasets = catalog::datasets(self)?;
        let live: Vec<(&DatasetState, &ReleaseState)> = datasets
            .iter()
            .filter_map(|d| {
                let live = d.live.as_ref()?;
                Some((d, d.releases.iter().find(|r| &r.release == live)?))
            })
            .collect();
        // Only those that exist: a release published without summaries has none.
        let summaries: Vec<NamedNode> = live
            .iter()
            .map(|(d, r)| NamedNode::new_unchecked(self.layout.summary_graph(&d.id, &r.release)))
            .filter(|g| self.holds_graph(g))
            .collect();
        let mut public: Vec<NamedNode> = live
            .iter()
            .map(|(_, r)| NamedNode::new_unchecked(r.graph.clone()))
            .collect();
        public.push(NamedNode::new_unchecked(self.catalog_graph()));
        public.push(NamedNode::new_unchecked(self.vocab_graph()));
        let mut parts: Vec<String> = datasets
            .iter()
            .map(|d| {
                // Every recorded release too: recording one changes the public catalogue
                // before (or without) it going live.
                let releases: Vec<&str> = d.releases.iter().map(|r| r.release.as_str()).collect();
                format!(
                    "{}={}@{}[{}]",
                    d.id,
                    d.live.as_deref().unwrap_or_default(),
                    d.modified.as_deref().unwrap_or_default(),
                    releases.join(",")
                )
            })
            .collect();
        parts.sort();
        let view = std::sync::Arc::new(CatalogView {
            datasets,
            public,
            summaries,
            tag: parts.join(";"),
        });
        // Kept only if the catalogue did not change while it was read: a view read before a
        // change is never served after it.
        let mut cached = self.catalog_view.lock().unwrap_or_else(|e| e.into_inner());
        if self.catalog_generation.load(Ordering::Acquire) == generation {
            *cached = Some((generation, view.clone()));
        }
        Ok(view)
    }

    /// [`Store::catalog_view`] when it is at hand, without reading the store (for callers
    /// that must not block: they read it elsewhere when this is None).
    pub fn catalog_view_cached(&self) -> Option<std::sync::Arc<CatalogView>> {
        let generation = self
            .catalog_generation
            .load(std::sync::atomic::Ordering::Acquire);
        let cached = self.catalog_view.lock().unwrap_or_else(|e| e.into_inner());
        match &*cached {
            Some((g, view)) if *g == generation => Some(view.clone()),
            _ => None,
        }
    }

    /// Called after every transaction that writes the catalogue (committed or not): the
    /// next [`Store::catalog_view`] reads it again.
    pub(crate) fn catalog_changed(&self) {
        self.catalog_generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// The row changes of `release` of `dataset` (see [`changes::read_row_changes`]): the
    /// first `limit` and how many in all; None when the dataset is withdrawn, the release is
    /// not recorded, or it has no row changes (a first release, or rows without keys).
    pub fn row_changes(
        &self,
        dataset: &str,
        release: &str,
        limit: usize,
    ) -> Result<Option<(Vec<changes::RowChange>, u64)>> {
        let known = self.datasets()?.into_iter().any(|d| {
            d.id == dataset && d.live.is_some() && d.releases.iter().any(|r| r.release == release)
        });
        let [_, csv] = change_file_names(release);
        let path = self.layout.dataset_dumps(dataset).join(csv);
        if !known || !path.is_file() {
            return Ok(None);
        }
        changes::read_row_changes(&path, None, limit).map(Some)
    }

    /// The corrections of the row `iri`: each value changed by a release in the live release's
    /// history (the live one, the one it replaced, and so on), newest first. Read from the
    /// releases' row changes, not from old values kept in the graph.
    pub fn corrections(&self, iri: &str) -> Result<Vec<Correction>> {
        let Some(dataset) = iri
            .strip_prefix(&self.layout.id(""))
            .and_then(|p| p.split('/').next())
            .filter(|d| !d.is_empty())
        else {
            return Ok(Vec::new());
        };
        let Some(d) = self.datasets()?.into_iter().find(|d| d.id == dataset) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut next = d.live.clone();
        let mut seen = std::collections::HashSet::new();
        // The history, at most 100 releases back.
        while let Some(release) = next.take() {
            if !seen.insert(release.clone()) || seen.len() > 100 {
                break;
            }
            let Some(r) = d.releases.iter().find(|r| r.release == release) else {
                break;
            };
            let [_, csv] = change_file_names(&release);
            let path = self.layout.dataset_dumps(dataset).join(csv);
            if path.is_file() {
                let (lines, _) = changes::read_row_changes(&path, Some(iri), 100)?;
                out.extend(
                    lines
                        .into_iter()
                        .filter(|c| c.change == "changed")
                        .map(|c| Correction {
                            dataset: dataset.to_string(),
                            release: release.clone(),
                            issued: r.issued.clone(),
                            column: c.column,
                            previous: c.previous,
                            new: c.new,
                        }),
                );
            }
            next = r.changes.as_ref().map(|c| c.previous.clone());
        }
        Ok(out)
    }

    /// The graphs of the public view: live releases, the catalogue and the vocabulary.
    pub fn public_graphs(&self) -> Result<Vec<NamedNode>> {
        Ok(self.catalog_view()?.public.clone())
    }

    /// The graphs a query (or `/graph/…`) may read by name: the public ones and the live
    /// releases' summary graphs.
    pub fn named_graphs(&self) -> Result<Vec<NamedNode>> {
        Ok(self.catalog_view()?.readable())
    }

    /// The triples of one graph of this store's database, read lazily (for streaming a whole
    /// graph out). The caller decides whether the graph may be shown: see
    /// [`Store::public_graphs`]. A read server has none: see [`Store::read_graph`].
    pub fn graph_triples(
        &self,
        graph: &NamedNode,
    ) -> impl Iterator<Item = Result<oxigraph::model::Triple>> + Send + 'static {
        self.db
            .quads_for_pattern(None, None, None, Some(graph.as_ref().into()))
            .map(|q| q.map(Into::into).map_err(Error::from))
    }

    /// As [`Store::graph_triples`], from the backend on a read server.
    pub fn read_graph(
        &self,
        graph: &NamedNode,
    ) -> Box<dyn Iterator<Item = Result<oxigraph::model::Triple>>> {
        if let Some(b) = &self.backed {
            return match self.backend_graph(b, graph) {
                Ok(triples) => triples,
                Err(e) => Box::new(std::iter::once(Err(e))),
            };
        }
        Box::new(self.graph_triples(graph))
    }

    /// Runs a read-only query on the public view: the default graph is the union of the
    /// public graphs, and only they can be named. SERVICE is refused.
    pub fn query_public(&self, query: &str) -> Result<QueryResults<'static>> {
        self.query_public_with(query, None, &[], &[])
    }

    /// As [`Store::query_public`], with the SPARQL Protocol's `default-graph-uri` and
    /// `named-graph-uri`: graphs outside the public view are dropped, so nothing else can
    /// be reached. Empty lists mean the query's own `FROM` and `FROM NAMED` (also kept
    /// within the public view), and without those the whole public view. As the Protocol
    /// says, graphs given by the request replace the query's.
    /// `cancel` stops the evaluation (the server's timeout).
    /// A read server sends the query to its backend with the dataset chosen here.
    pub fn query_public_with(
        &self,
        query: &str,
        cancel: Option<rdf::CancellationToken>,
        default_graphs: &[String],
        named_graphs: &[String],
    ) -> Result<QueryResults<'static>> {
        let parsed = spargebra::SparqlParser::new()
            .parse_query(query)
            .map_err(|e| Error::Invalid(format!("SPARQL syntax error: {e}")))?;
        self.query_public_parsed(query, parsed, cancel, default_graphs, named_graphs)
    }

    /// As [`Store::query_public_with`], for a query the caller parsed already (the server
    /// parses each to check its shape): `parsed` is `query`'s text parsed, which a read
    /// server sends to its backend.
    pub fn query_public_parsed(
        &self,
        query: &str,
        parsed: spargebra::Query,
        cancel: Option<rdf::CancellationToken>,
        default_graphs: &[String],
        named_graphs: &[String],
    ) -> Result<QueryResults<'static>> {
        // One view for the whole query: the public graphs and those readable by name.
        let view = self.catalog_view()?;
        if let Some(b) = &self.backed {
            if let Some(service) = guard::service_of(&parsed) {
                let iri = service.trim_start_matches('<').trim_end_matches('>');
                return Err(Error::Invalid(ServiceRefused(iri.to_string()).to_string()));
            }
            let (own, form) = match &parsed {
                spargebra::Query::Select { dataset, .. } => (dataset, Form::Solutions),
                spargebra::Query::Ask { dataset, .. } => (dataset, Form::Boolean),
                spargebra::Query::Construct { dataset, .. }
                | spargebra::Query::Describe { dataset, .. } => (dataset, Form::Graph),
            };
            let own = own
                .as_ref()
                .map(|d| (d.default.clone(), d.named.clone().unwrap_or_default()));
            let (mut default, named) = choose_dataset(&view, default_graphs, named_graphs, own);
            if default.is_empty() {
                default.push(NamedNode::new_unchecked(EMPTY_GRAPH));
            }
            return b.backend.query(query, form, &default, &named, cancel);
        }
        let mut evaluator = SparqlEvaluator::new();
        if let Some(token) = cancel {
            evaluator = evaluator.with_cancellation_token(token);
        }
        let mut prepared = evaluator
            .with_default_service_handler(NoService)
            .for_query(parsed);
        let own = if prepared.dataset().is_default_dataset() {
            None
        } else {
            let own = prepared.dataset();
            let from = own.default_graph_graphs().unwrap_or_default();
            let from_named = own.available_named_graphs().unwrap_or_default();
            Some((
                from.iter()
                    .filter_map(|g| match g {
                        GraphName::NamedNode(n) => Some(n.clone()),
                        _ => None,
                    })
                    .collect(),
                from_named
                    .iter()
                    .filter_map(|g| match g {
                        NamedOrBlankNode::NamedNode(n) => Some(n.clone()),
                        _ => None,
                    })
                    .collect(),
            ))
        };
        let (default, named) = choose_dataset(&view, default_graphs, named_graphs, own);
        let dataset = prepared.dataset_mut();
        dataset.set_default_graph(default.into_iter().map(Into::into).collect());
        dataset.set_available_named_graphs(named.into_iter().map(Into::into).collect());
        Ok(prepared.on_store(&self.db).execute()?)
    }

    /// A tag that changes whenever the public view changes (for HTTP ETags).
    pub fn state_tag(&self) -> Result<String> {
        Ok(self.catalog_view()?.tag.clone())
    }

    /// Builds the search index of a release being published: the names `figures` found, and
    /// the dataset's title. A failure is logged: the release is published without one.
    fn build_search(&self, req: &PublishRequest, figures: &[figures::Figure]) {
        let mut entries = vec![search::Entry {
            iri: self.layout.dataset(&req.dataset.id),
            label: req.dataset.title.clone(),
            names: req.dataset.description.clone(),
            kind: "dataset".into(),
        }];
        for f in figures {
            for r in &f.rows {
                let names =
                    r.by.iter()
                        .find(|(n, _)| n == "names")
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default();
                entries.push(search::Entry {
                    iri: r.key.clone(),
                    label: r.label.clone().unwrap_or_else(|| names.clone()),
                    names,
                    kind: f.title.clone(),
                });
            }
        }
        let dir = self.layout.search(&req.dataset.id, &req.release);
        if let Err(e) = search::build(&dir, &req.dataset.id, &entries) {
            tracing::warn!(dataset = %req.dataset.id, release = %req.release, error = %e, "search index not built");
        }
    }

    /// The search indexes of the live releases.
    pub fn search_indexes(&self) -> Result<Vec<PathBuf>> {
        Ok(self
            .datasets()?
            .into_iter()
            .filter_map(|d| d.live.map(|r| self.layout.search(&d.id, &r)))
            .filter(|p| p.is_dir())
            .collect())
    }

    fn count(&self, query: &str) -> Result<u64> {
        let results = SparqlEvaluator::new()
            .parse_query(query)?
            .on_store(&self.db)
            .execute()?;
        if let QueryResults::Solutions(mut s) = results {
            if let Some(row) = s.next() {
                let row = row?;
                if let Some(Term::Literal(l)) = row.get("n") {
                    return Ok(l.value().parse().unwrap_or(0));
                }
            }
        }
        Ok(0)
    }

    fn find(&self, dataset: &str) -> Result<DatasetState> {
        self.datasets()?
            .into_iter()
            .find(|d| d.id == dataset)
            .ok_or_else(|| Error::Invalid(format!("no dataset {dataset:?} in the store")))
    }

    /// Removes a release that is not live: its graph, catalogue entry and dumps; then from
    /// every mirror (what each made of it is in the list).
    pub fn remove_release(&self, dataset: &str, release: &str) -> Result<Vec<MirrorOutcome>> {
        self.writable()?;
        self.remove_release_here(dataset, release)?;
        Ok(self.sync_mirrors())
    }

    fn remove_release_here(&self, dataset: &str, release: &str) -> Result<()> {
        let _switch = self.switching();
        let d = self.find(dataset)?;
        if d.live.as_deref() == Some(release) {
            return Err(Error::Invalid(format!(
                "{dataset}/{release} is live: roll back or withdraw first"
            )));
        }
        let r = d
            .releases
            .iter()
            .find(|r| r.release == release)
            .ok_or_else(|| Error::Invalid(format!("no release {dataset}/{release}")))?;
        catalog::remove_release(self, dataset, release)?;
        self.db
            .remove_named_graph(NamedNodeRef::new_unchecked(&r.graph))?;
        self.db.remove_named_graph(NamedNodeRef::new_unchecked(
            &self.layout.summary_graph(dataset, release),
        ))?;
        dumps::remove_release(&self.dumps_dir(), dataset, release)?;
        let _ = std::fs::remove_dir_all(self.layout.search(dataset, release));
        // The changes of a release that replaced it hold its values (the patch's `D` rows,
        // the previous values of corrected rows): removing a release removes them too.
        for later in d
            .releases
            .iter()
            .filter(|o| o.changes.as_ref().is_some_and(|c| c.previous == release))
        {
            dumps::remove_change_files(&self.dumps_dir(), dataset, &later.release)?;
            catalog::remove_distributions(
                self,
                dataset,
                &later.release,
                &change_file_names(&later.release),
            )?;
        }
        Ok(())
    }
}

/// What a load reads.
enum Input {
    /// N-Triples to parse (`lenient`: made by this process's converter).
    Parse {
        from: Box<dyn std::io::Read + Send>,
        lenient: bool,
    },
    /// The maker's triples, all in the release's graph, parsed by no one.
    Quads(triples::QuadFeed),
}

impl Store {
    /// Loads a release's triples from `input` (`what` names it in errors) into `graph` with
    /// the bulk loader (atomic: all or nothing), reading them once: each quad passes through
    /// `tap` (the distinct counts, and for a file the N-Quads dump) and the summaries on its
    /// way to the loader. A parse or read error, or a maker's, stops the load before its
    /// commit. Also says how many quads `input` gave.
    #[allow(clippy::too_many_arguments)]
    fn bulk_load(
        &self,
        req: &PublishRequest,
        input: Input,
        what: &str,
        graph: NamedNodeRef<'_>,
        summary_graph: NamedNodeRef<'_>,
        tap: &mut dumps::Tap,
        summarizer: summary::Summarizer,
        expected: Option<u64>,
    ) -> Result<(InMemory, std::time::Duration, u64)> {
        let threads = self.settings.loader_threads.max(1);
        let memory_mb = match expected {
            Some(quads) => load_memory_mb(self.settings.loader_memory_mb, threads, quads),
            None => self.settings.loader_memory_mb,
        };
        let mut loader = self
            .db
            .bulk_loader()
            .with_num_threads(threads)
            .with_max_memory_size_in_megabytes(memory_mb);
        if let Some(LoadProgress(progress)) = req.progress.clone() {
            loader = loader.on_progress(move |n| progress(n));
        }
        let mut count = 0u64;
        // Each quad through the tap and the summaries, on its way to the loader.
        let mut summarizer = Some(summarizer);
        let mut pass = |quad: oxigraph::model::QuadRef<'_>| -> Result<()> {
            count += 1;
            tap.add(quad)
                .map_err(|e| Error::Invalid(format!("{what}: the N-Quads dump: {e}")))?;
            if let Some(s) = summarizer.as_mut() {
                s.add(quad);
            }
            Ok(())
        };
        match input {
            Input::Parse { from, lenient } => {
                let mut parser =
                    RdfParser::from_format(RdfFormat::NTriples).with_default_graph(graph);
                if lenient {
                    parser = parser.lenient();
                }
                let quads = parser
                    .for_reader(std::io::BufReader::with_capacity(1 << 20, from))
                    .map(|q| {
                        let q = q.map_err(|e| Error::Invalid(format!("{what}: {e}")))?;
                        pass(q.as_ref())?;
                        Ok::<_, Error>(q)
                    });
                loader.load_ok_quads::<Error, Error>(quads)?;
            }
            // The maker's triples, all in the release's graph: given to the loader once.
            Input::Quads(feed) => {
                let triples = feed.map(|t| {
                    let t = t.map_err(|e| Error::Invalid(format!("{what}: {e}")))?;
                    pass(oxigraph::model::QuadRef::new(
                        &t.subject,
                        &t.predicate,
                        &t.object,
                        graph,
                    ))?;
                    Ok::<_, Error>(t)
                });
                loader.load_ok_triples_in_graph::<Error, Error>(graph.into_owned(), triples)?;
            }
        }
        // The summaries are known once the last quad is read: they go into the same load (in
        // their own graph), not into a second one after its commit, whose files were ingested
        // while the first load's were compacted (with the copy in memory, 1.0-1.2 s after the
        // load of 1 M rows).
        let t = std::time::Instant::now();
        let made = match summarizer.take() {
            Some(s) if !s.is_empty() => s.finish(summary_graph, graph, &self.layout.own_terms()),
            _ => Vec::new(),
        };
        // Their copy in memory, for the figures, is made while the load ends.
        let copy = (!made.is_empty()).then(|| {
            let copy = made.clone();
            std::thread::spawn(move || -> Result<oxigraph::store::Store> {
                let memory = oxigraph::store::Store::new()?;
                let mut loader = memory.bulk_loader();
                loader.load_quads(copy)?;
                loader.commit()?;
                Ok(memory)
            })
        });
        let summaries = (copy, t.elapsed());
        loader.load_quads(made)?;
        loader.commit()?;
        let (copy, time) = summaries;
        Ok((copy, time, count))
    }
}

impl Publisher for Store {
    fn publish(&self, req: &PublishRequest) -> Result<ReleaseInfo> {
        self.writable()?;
        check_slug("dataset id", &req.dataset.id)?;
        check_slug("release id", &req.release)?;
        let mut previous = None;
        if let Ok(d) = self.find(&req.dataset.id) {
            if d.releases.iter().any(|r| r.release == req.release) {
                return Err(Error::Invalid(format!(
                    "release {}/{} exists already",
                    req.dataset.id, req.release
                )));
            }
            previous = d.live.filter(|_| self.settings.changes);
        }
        let mut phases = Vec::new();
        let mut cpu = Vec::new();
        let mut clock = (std::time::Instant::now(), cpu_time());
        let mut lap = |name: &'static str| {
            let now = (std::time::Instant::now(), cpu_time());
            phases.push((name, now.0 - clock.0));
            if let (Some(a), Some(b)) = (clock.1, now.1) {
                cpu.push((name, b.saturating_sub(a)));
            }
            clock = now;
        };
        // 1 and 2, side by side. One parse of a file's N-Triples, or the converter's quads,
        // feed the bulk loader (into the release's own graph: atomic, invisible until the
        // switch) and, through the tap, the distinct counts (and for a file, the N-Quads
        // member of `all.nq.gz`, compressed on its own thread; a run's member is made from the
        // converter's lines). The public `.nt.gz`, CSV and metadata are copied on a third
        // thread: what is downloaded is what is loaded.
        let graph = NamedNode::new_unchecked(self.graph_iri(&req.dataset.id, &req.release));
        let summary_graph =
            NamedNode::new_unchecked(self.layout.summary_graph(&req.dataset.id, &req.release));
        // A graph of the same name left by an interrupted publish may still be going.
        {
            let (lock, done) = &*self.cleaning;
            let mut g = lock.lock().unwrap_or_else(|e| e.into_inner());
            while g.iter().any(|x| x == graph.as_str()) {
                g = done.wait(g).unwrap_or_else(|e| e.into_inner());
            }
        }
        let dumps_dir = self.dumps_dir();
        // Where the triples come from: the file (read twice: parsed, and compressed as it
        // is), or the maker (its quads to the loader, its lines to the two dumps' writers).
        let (input, nt, maker, what, expected) = match &req.triples {
            Triples::File {
                path,
                converted_here,
            } => {
                let file = std::fs::File::open(path).map_err(io(path))?;
                let expected = estimate_lines(path).ok().flatten();
                let what = path.display().to_string();
                let input = Input::Parse {
                    from: Box::new(file),
                    lenient: *converted_here,
                };
                (input, dumps::Nt::File(path), None, what, expected)
            }
            Triples::Made(made) => {
                let make = made
                    .take()
                    .ok_or_else(|| Error::Invalid("these triples were made already".into()))?;
                let (to_load, load_rx) = std::sync::mpsc::sync_channel(triples::PIECES_IN_FLIGHT);
                let (to_dump, dump_rx) = std::sync::mpsc::sync_channel(triples::PIECES_IN_FLIGHT);
                let (to_member, member_rx) =
                    std::sync::mpsc::sync_channel(triples::PIECES_IN_FLIGHT);
                let tee = triples::Tee::new(vec![
                    (to_dump, "the .nt.gz dump"),
                    (to_member, "the N-Quads dump"),
                ]);
                let quads = Quads::new(to_load);
                let what = "the converted triples".to_string();
                let nt = dumps::Nt::Made(dump_rx);
                (
                    Input::Quads(triples::QuadFeed::new(load_rx)),
                    nt,
                    Some((tee, quads, make, member_rx)),
                    what,
                    made.expected,
                )
            }
        };
        let (files, member, loaded) = std::thread::scope(|scope| {
            let panicked = |what: &str| Error::Invalid(format!("{what} panicked"));
            let files = scope.spawn(|| {
                let t = std::time::Instant::now();
                dumps::write_release(&dumps_dir, req, nt).map(|f| (f, t.elapsed()))
            });
            // The N-Quads member: from the converter's lines, on its own thread, which counts
            // the distinct triples too (the thread that feeds the loader only parses and
            // counts terms); or from the file's quads as parsed, through the tap.
            let (maker, member, mut tap) = match maker {
                Some((tee, quads, make, lines)) => {
                    // The maker, on its own thread; it ends when the readers have all it made,
                    // or when one of them goes away.
                    let maker = scope.spawn(move || tee.run(make, quads));
                    let member = scope.spawn(|| {
                        dumps::write_member_from_lines(
                            &dumps_dir,
                            &req.dataset.id,
                            &req.release,
                            graph.as_str(),
                            lines,
                            expected.unwrap_or(0),
                        )
                        .map(Some)
                    });
                    (
                        Some(maker),
                        member,
                        dumps::Tap::counting(self.layout.base()),
                    )
                }
                None => {
                    let (tx, rx) = std::sync::mpsc::sync_channel(8);
                    let member = scope.spawn(|| {
                        dumps::write_quads_member(&dumps_dir, &req.dataset.id, &req.release, rx)
                            .map(|()| None)
                    });
                    let tap = dumps::Tap::new(self.layout.base(), tx, expected.unwrap_or(0));
                    (None, member, tap)
                }
            };
            let t = std::time::Instant::now();
            let summarizer = summary::Summarizer::new(&req.summaries);
            let loaded = self
                .bulk_load(
                    req,
                    input,
                    &what,
                    graph.as_ref(),
                    summary_graph.as_ref(),
                    &mut tap,
                    summarizer,
                    expected,
                )
                .and_then(|(summaries, made, quads)| {
                    tap.finish()
                        .map(|distinct| (distinct, summaries, made, quads))
                        .map_err(|e| Error::Invalid(format!("{what}: the N-Quads dump: {e}")))
                })
                .and_then(|(distinct, copy, made, quads)| {
                    // The summaries (loaded with the release, into their own graph) in memory
                    // too, where the figures that read nothing else are computed (the store's
                    // new files are cold, and RocksDB is compacting them): waited for here.
                    let t = std::time::Instant::now();
                    let in_memory = match copy.map(|c| c.join()) {
                        None => None,
                        Some(Ok(memory)) => Some(memory?),
                        Some(Err(_)) => return Err(panicked("keeping the summaries in memory")),
                    };
                    Ok((distinct, in_memory, (made, t.elapsed()), quads))
                })
                .map(|(distinct, in_memory, summary_time, quads)| {
                    (distinct, in_memory, t.elapsed(), summary_time, quads)
                });
            // The tap is gone (finished or dropped): the member's input is closed.
            let files = files
                .join()
                .unwrap_or_else(|_| Err(panicked("writing the dumps")));
            let member = member
                .join()
                .unwrap_or_else(|_| Err(panicked("writing the N-Quads dump")));
            // A maker that panicked has already failed the load (its pieces stopped before
            // their end); its panic is said as the error.
            let loaded = match maker.map(|m| m.join()) {
                Some(Err(_)) => Err(panicked("making the triples")),
                _ => loaded,
            };
            (files, member, loaded)
        });
        // Until the release is recorded, a failure must leave no trace: the graph is dropped,
        // the dumps removed.
        let discard = || {
            for g in [&graph, &summary_graph] {
                let _ = self.db.clear_graph(g.as_ref());
                let _ = self.db.remove_named_graph(g.as_ref());
            }
            let _ = dumps::remove_release(&dumps_dir, &req.dataset.id, &req.release);
            let _ = std::fs::remove_dir_all(self.layout.search(&req.dataset.id, &req.release));
        };
        let (mut files, dump_time, distinct, summaries, load_time, summary_time) =
            match (files, member, loaded) {
                (
                    Ok((files, dump_time)),
                    Ok(counted),
                    Ok((mut distinct, summaries, load_time, summary_time, quads)),
                ) => {
                    if let Some(counted) = counted {
                        // The dumps were made from the maker's lines, the store from its
                        // quads: a maker that gave more of one than of the other is a bug
                        // that must not be published.
                        if counted.lines != quads {
                            discard();
                            return Err(Error::Invalid(format!(
                                "{what}: {} lines for the dumps but {quads} quads for the store",
                                counted.lines
                            )));
                        }
                        distinct.triples = counted.distinct;
                    }
                    (
                        files,
                        dump_time,
                        distinct,
                        summaries,
                        load_time,
                        summary_time,
                    )
                }
                (files, member, loaded) => {
                    discard();
                    // The dump writers' own errors first: the loader shows them only as a
                    // stopped tap or stopped triples (neither fails because the load did).
                    return Err(match (member, files, loaded) {
                        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => e,
                        _ => Error::Invalid("publish failed".into()),
                    });
                }
            };
        lap(match req.triples {
            Triples::File { .. } => "dumps and bulk load, side by side",
            Triples::Made(_) => "conversion, dumps and bulk load, side by side",
        });
        // 3. The figures and search, and beside them what changed since the live release (from
        // its dumps, not the store). After the load rather than beside it: the load keeps both
        // cores busy. The VoID counts came from the load's own pass (the tap): counting the
        // graph in the store here took 10–17 s for 20 M triples (measured over several days),
        // its reads merging the load's new files while RocksDB compacted them.
        let g = graph.as_str();
        let (triples, changed) = std::thread::scope(|scope| {
            let changed = scope.spawn(|| {
                let t = std::time::Instant::now();
                previous
                    .as_deref()
                    .map(|p| changes::write_changes(&dumps_dir, &self.layout, req, p))
                    .transpose()
                    .map(|c| (c, t.elapsed()))
            });
            // The figures the dataset's page charts, and its search index.
            let triples = {
                let computed = figures::compute(
                    g,
                    summary_graph.as_str(),
                    &req.figures,
                    |q, in_summary| match (&summaries, in_summary) {
                        (Some(memory), true) => select_in(memory, q),
                        _ => select_in(&self.db, q),
                    },
                );
                // Figures drawn as "search" are the names the release's search index holds.
                let (names, drawn): (Vec<_>, Vec<_>) =
                    computed.into_iter().partition(|f| f.chart == "search");
                self.build_search(req, &names);
                figures::write(&dumps_dir.join(&req.dataset.id), &req.release, &drawn)
                    .map(|()| distinct.triples)
            };
            let changed = changed.join().unwrap_or_else(|_| {
                Err(Error::Invalid(
                    "comparing with the live release panicked".into(),
                ))
            });
            (triples, changed)
        });
        let (triples, (changed, change_time)) = match (triples, changed) {
            (Ok(n), Ok(c)) => (n, c),
            (Err(e), _) | (_, Err(e)) => {
                discard();
                return Err(e);
            }
        };
        if let Some((_, f)) = &changed {
            files.extend(f.iter().cloned());
        }
        let stats = catalog::VoidStats {
            triples,
            entities: distinct.subjects,
            classes: distinct.classes,
            properties: distinct.properties,
        };
        // The five-star rating, from what was published.
        let stars = rate(&StarFacts {
            licence: &req.dataset.licence,
            structured: stats.triples > 0,
            open_format: true,
            entities: stats.entities,
            outside_links: distinct.outside_links,
            linked: req.linked.as_ref(),
        });
        lap("figures and search, and the changes beside them");
        crash_point("loaded");
        // 4. Catalogue entry and the switch to live, in one transaction, in a journal that
        // brings the public files along even if the process dies on the way (see `recover`).
        let _switch = self.switching();
        if let Err(e) = self.begin_switch(&req.dataset.id) {
            discard();
            return Err(e);
        }
        let recorded =
            dumps::latest_files(&dumps_dir, &req.dataset.id, &req.release).and_then(|latest| {
                catalog::record_release(
                    self,
                    req,
                    &files,
                    &latest,
                    &stats,
                    &stars,
                    changed.as_ref().map(|(c, _)| c),
                )
            });
        if let Err(e) = recorded {
            discard();
            let _ = self.end_switch();
            return Err(e);
        }
        crash_point("switched");
        lap("catalogue and switch");
        // 5. Stable names for the live state.
        self.public_files_for(&req.dataset.id)?;
        self.end_switch()?;
        drop(_switch);
        lap("latest and all.nq.gz");
        // The `[[publish_to]]` targets are the caller's to sync (`Publisher::sync`), after
        // this: a slow target must not hold the next publish.
        // Within the side-by-side phase: how long each half took.
        phases.push(("  of which: .nt.gz, CSV and metadata dumps", dump_time));
        phases.push((
            match req.triples {
                Triples::File { .. } => "  of which: parse, N-Quads dump, summaries and bulk load",
                Triples::Made(_) => "  of which: the converter's quads, summaries and bulk load",
            },
            load_time,
        ));
        if !req.summaries.is_empty() {
            phases.push((
                "  of which: writing the summaries (made, then loaded with the release)",
                summary_time.0,
            ));
            phases.push((
                "  of which: writing the summaries into memory, for the figures (waited for after the load)",
                summary_time.1,
            ));
        }
        if changed.is_some() {
            phases.push((
                "  beside the figures: changes since the live release",
                change_time,
            ));
        }
        Ok(ReleaseInfo {
            dataset: req.dataset.id.clone(),
            release: req.release.clone(),
            graph: graph.into_string(),
            triples: stats.triples,
            phases,
            cpu,
            mirrors: Vec::new(),
        })
    }

    fn sync(&self) -> Vec<MirrorOutcome> {
        self.sync_mirrors()
    }

    fn withdraw(&self, dataset: &str) -> Result<Vec<MirrorOutcome>> {
        self.writable()?;
        {
            let _switch = self.switching();
            self.find(dataset)?;
            self.begin_switch(dataset)?;
            catalog::switch_live(self, dataset, None, &[])?;
            self.public_files_for(dataset)?;
            self.end_switch()?;
        }
        Ok(self.withdraw_from_mirrors(dataset))
    }

    fn rollback(&self, dataset: &str, release: &str) -> Result<Vec<MirrorOutcome>> {
        self.writable()?;
        {
            let _switch = self.switching();
            let d = self.find(dataset)?;
            if !d.releases.iter().any(|r| r.release == release) {
                return Err(Error::Invalid(format!("no release {dataset}/{release}")));
            }
            let latest = dumps::latest_files(&self.dumps_dir(), dataset, release)?;
            self.begin_switch(dataset)?;
            catalog::switch_live(self, dataset, Some(release), &latest)?;
            self.public_files_for(dataset)?;
            self.end_switch()?;
        }
        Ok(self.sync_mirrors())
    }
}

/// The media type of a dump file, by its name (gzipped dumps by what they contain).
pub fn dump_media_type(name: &str) -> &'static str {
    if name.ends_with(".nt.gz") {
        "application/n-triples"
    } else if name.ends_with(".nq.gz") {
        "application/n-quads"
    } else if name.ends_with("-metadata.json") {
        "application/csvm+json"
    } else if name.ends_with(".csv") {
        "text/csv"
    } else if name.ends_with(".rdfp.gz") {
        "application/rdf-patch"
    } else if name.ends_with(".sha256") {
        "text/plain"
    } else {
        "application/octet-stream"
    }
}

/// The current UTC time as a release id (`20241122T205000Z`) and as an xsd:dateTime.
pub fn now_utc() -> (String, String) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    (
        format!("{y:04}{mo:02}{d:02}t{h:02}{m:02}{s:02}z"),
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z"),
    )
}

#[cfg(test)]
mod tests {
    /// The vendored bulk loader takes triples all in one graph, its name given once
    /// (`load_ok_triples_in_graph`, vendor/oxigraph/PATCHED.md): on disk, in a named graph and
    /// in the default graph, over several batches, they are the quads an in-memory store
    /// loads, found through every index.
    #[test]
    fn triples_bulk_loaded_in_a_graph_are_those_quads() {
        use oxigraph::model::*;
        use oxigraph::store::Store as Db;
        let triples: Vec<Triple> = (0..2500)
            .map(|i| {
                Triple::new(
                    NamedNode::new_unchecked(format!("http://example.org/s{}", i % 700)),
                    NamedNode::new_unchecked(format!("http://example.org/p{}", i % 3)),
                    Literal::from(i),
                )
            })
            .collect();
        for graph in [
            GraphName::from(NamedNode::new_unchecked("http://example.org/g")),
            GraphName::DefaultGraph,
        ] {
            let quads: Vec<Quad> = triples
                .iter()
                .map(|t| t.clone().in_graph(graph.clone()))
                .collect();
            let memory = Db::new().unwrap();
            let mut in_memory = memory.bulk_loader();
            in_memory.load_quads(quads.clone()).unwrap();
            in_memory.commit().unwrap();
            let dir = tempfile::tempdir().unwrap();
            let disk = Db::open(dir.path()).unwrap();
            // About 500 triples a batch: five batches, the graph given to each.
            let mut loader = disk
                .bulk_loader()
                .with_num_threads(2)
                .with_max_memory_size_in_megabytes(1);
            loader
                .load_ok_triples_in_graph::<oxigraph::store::StorageError, oxigraph::store::StorageError>(
                    graph.clone(),
                    triples.iter().cloned().map(Ok),
                )
                .unwrap();
            loader.commit().unwrap();
            let sorted = |db: &Db| {
                let mut v: Vec<String> = db.iter().map(|q| q.unwrap().to_string()).collect();
                v.sort();
                v
            };
            let (got, want) = (sorted(&disk), sorted(&memory));
            assert_eq!((got.len(), want.len()), (2500, 2500));
            assert!(
                got == want,
                "the triples loaded in {graph} differ from the quads"
            );
            for q in &quads {
                assert!(disk.contains(q).unwrap(), "{q}");
            }
            assert_eq!(
                disk.named_graphs().count(),
                usize::from(!graph.is_default_graph())
            );
        }
    }

    /// A scan for the keys that start with a prefix ends before the first key past it, also
    /// when the prefix ends in 0xFF bytes (vendor/oxigraph/PATCHED.md, the sixth patch): on
    /// disk, each integer object matches its own quads alone, as in memory. Integers are
    /// encoded inline, big-endian, so 255, 511 and 65,535 make prefixes that end in 0xFF; the
    /// scan for 255 found 256–510 too before the patch.
    #[test]
    fn a_prefix_ending_in_ff_scans_its_own_keys_alone() {
        use oxigraph::model::*;
        use oxigraph::store::Store as Db;
        let dir = tempfile::tempdir().unwrap();
        let disk = Db::open(dir.path()).unwrap();
        let memory = Db::new().unwrap();
        let g = GraphName::from(NamedNode::new_unchecked("http://example.org/g"));
        for i in (0..1_200).chain(65_500..65_600) {
            let q = Quad::new(
                NamedNode::new_unchecked(format!("http://example.org/s{}", i % 7)),
                NamedNode::new_unchecked("http://example.org/p"),
                Literal::from(i),
                g.clone(),
            );
            disk.insert(&q).unwrap();
            memory.insert(&q).unwrap();
        }
        for n in [0, 254, 255, 256, 510, 511, 512, 1_023, 65_535, 65_536] {
            let o = Term::from(Literal::from(n));
            let count = |db: &Db| {
                db.quads_for_pattern(None, None, Some(o.as_ref()), None)
                    .count()
            };
            assert_eq!(count(&disk), count(&memory), "object {n}");
            assert_eq!(count(&disk), 1, "object {n}");
            let in_g = disk
                .quads_for_pattern(None, None, Some(o.as_ref()), Some(g.as_ref()))
                .count();
            assert_eq!(in_g, 1, "object {n} in its graph");
        }
    }

    /// The vendored bulk loader sorts each index's keys by their first 48 bytes, kept inline,
    /// then by the rest (vendor/oxigraph/PATCHED.md). Quads whose keys are shorter than, as
    /// long as and longer than that head, in every index, must be found through every index as
    /// an in-memory store (no bulk loader, no RocksDB) finds them. (RocksDB also refuses an SST
    /// file whose keys are out of order, so a wrong sort fails the load itself.)
    #[test]
    fn bulk_loaded_keys_of_every_length_are_found_through_every_index() {
        use oxigraph::model::vocab::xsd;
        use oxigraph::model::*;
        use oxigraph::store::Store as Db;
        let dir = tempfile::tempdir().unwrap();
        let disk = Db::open(dir.path()).unwrap();
        let memory = Db::new().unwrap();
        let ex = |s: &str| NamedNode::new(format!("http://example.org/{s}")).unwrap();
        let long = "x".repeat(40);
        let subjects: Vec<NamedOrBlankNode> = vec![
            ex("a").into(),
            ex("b").into(),
            BlankNode::new("b1").unwrap().into(),
            BlankNode::new_from_unique_id(7).into(),
        ];
        let predicates = [ex("p"), ex("q")];
        let objects: Vec<Term> = vec![
            ex("o").into(),
            Literal::new_simple_literal("a").into(),
            Literal::new_simple_literal(&long).into(),
            Literal::new_language_tagged_literal_unchecked("a", "en").into(),
            Literal::new_language_tagged_literal_unchecked(&long, "en-gb").into(),
            Literal::new_typed_literal("a", ex("dt")).into(),
            Literal::new_typed_literal(&long, ex("dt")).into(),
            Literal::from(7_i64).into(),
            Literal::new_typed_literal("7.5", xsd::DECIMAL).into(),
            Literal::new_typed_literal("2026-12-06", xsd::DATE).into(),
            Literal::new_typed_literal("2026-12-06T23:00:00Z", xsd::DATE_TIME).into(),
            Literal::from(true).into(),
            Literal::from(1.5_f64).into(),
            BlankNode::new("o1").unwrap().into(),
        ];
        let graphs: Vec<GraphName> = vec![
            GraphName::DefaultGraph,
            ex("g").into(),
            ex(&long).into(),
            BlankNode::new("g1").unwrap().into(),
        ];
        let mut quads = Vec::new();
        for s in &subjects {
            for p in &predicates {
                for o in &objects {
                    for g in &graphs {
                        quads.push(Quad::new(s.clone(), p.clone(), o.clone(), g.clone()));
                    }
                }
            }
        }
        let mut loader = disk.bulk_loader();
        loader.load_quads(quads.clone()).unwrap();
        loader.commit().unwrap();
        memory.extend(quads.clone()).unwrap();
        let found = |db: &Db,
                     s: Option<&NamedOrBlankNode>,
                     p: Option<&NamedNode>,
                     o: Option<&Term>,
                     g: Option<&GraphName>| {
            let mut v: Vec<String> = db
                .quads_for_pattern(
                    s.map(|x| x.as_ref()),
                    p.map(|x| x.as_ref()),
                    o.map(|x| x.as_ref()),
                    g.map(|x| x.as_ref()),
                )
                .map(|q| q.unwrap().to_string())
                .collect();
            v.sort();
            v
        };
        assert_eq!(found(&disk, None, None, None, None).len(), quads.len());
        let mut patterns = 0;
        for q in &quads {
            let (s, p, o, g) = (&q.subject, &q.predicate, &q.object, &q.graph_name);
            for graph in [None, Some(g)] {
                for (s, p, o) in [
                    (Some(s), None, None),
                    (None, Some(p), None),
                    (None, None, Some(o)),
                    (Some(s), Some(p), None),
                    (None, Some(p), Some(o)),
                    (Some(s), None, Some(o)),
                    (Some(s), Some(p), Some(o)),
                    (None, None, None),
                ] {
                    let want = found(&memory, s, p, o, graph);
                    assert!(!want.is_empty());
                    assert_eq!(found(&disk, s, p, o, graph), want, "{q}");
                    patterns += 1;
                }
            }
        }
        assert_eq!(patterns, quads.len() * 16);
    }

    #[test]
    fn a_load_is_cut_into_at_most_sixteen_batches_within_four_budgets() {
        use super::{load_memory_mb, MAX_LOAD_BATCHES};
        let batches =
            |mb: usize, threads: usize, quads: u64| quads.div_ceil((mb * 1000 / threads) as u64);
        // Small releases keep the budget.
        assert_eq!(load_memory_mb(1024, 2, 1_000_000), 1024);
        // 20 M triples at the default budget were 40 batches; now 16 at most.
        assert_eq!(batches(1024, 2, 20_000_000), 40);
        let mb = load_memory_mb(1024, 2, 20_000_000);
        assert!(
            mb > 1024 && batches(mb, 2, 20_000_000) <= MAX_LOAD_BATCHES,
            "{mb}"
        );
        assert!(load_memory_mb(1024, 1, 20_000_000) < mb);
        // Never more than four budgets.
        assert_eq!(load_memory_mb(1024, 2, 1_000_000_000), 4096);
        assert_eq!(load_memory_mb(64, 4, u64::MAX), 256);
    }

    #[test]
    fn lines_are_estimated_from_the_first_mebibyte() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.nt");
        let line = "<http://e/s> <http://e/p> \"o\" .\n";
        std::fs::write(&p, line.repeat(200_000)).unwrap();
        assert_eq!(super::estimate_lines(&p).unwrap(), Some(200_000));
        std::fs::write(&p, "").unwrap();
        assert_eq!(super::estimate_lines(&p).unwrap(), None);
        std::fs::write(&p, "no line end").unwrap();
        assert_eq!(super::estimate_lines(&p).unwrap(), None);
    }

    #[test]
    fn slugs() {
        assert!(super::check_slug("id", "spending-2024").is_ok());
        assert!(super::check_slug("id", "20241122t205000z").is_ok());
        for bad in ["", "../x", "A", "a/b", ".hidden", "a b"] {
            assert!(super::check_slug("id", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn clock() {
        let (id, dt) = super::now_utc();
        assert_eq!(id.len(), 16);
        assert!(dt.ends_with('Z') && dt.len() == 20, "{dt}");
        assert!(super::check_slug("release", &id).is_ok());
    }
}
