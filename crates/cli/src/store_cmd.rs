//! `fivestar publish / query / releases / withdraw / rollback / remove`: the store from the
//! command line.

use crate::Failure;
use anyhow::{anyhow, Context, Result};
use clap::{Args, ValueEnum};
use fivestar_pipeline::stage::convert::{self, ConvertError};
use fivestar_pipeline::stage::publish::publish_one;
use fivestar_pipeline::web::WebFetcher;
use fivestar_store::rdf::QueryResults;
use fivestar_store::rdf::{QueryResultsFormat, QueryResultsSerializer};
use fivestar_store::rdf::{RdfFormat, RdfSerializer};
use fivestar_store::{DatasetInfo, Provenance, PublishRequest, Publisher, Settings, Store};
use sha2::Digest;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args, Clone)]
pub struct StoreArgs {
    /// The store folder (default: `store` in fivestar.toml, else data/store).
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// The base IRI every published IRI starts with, the address the site is served at
    /// (default: the one the store records, for a store that exists; else `base_iri` in
    /// fivestar.toml, else http://127.0.0.1:7878).
    #[arg(long = "base-iri", visible_alias = "base")]
    pub base_iri: Option<String>,
}

impl StoreArgs {
    pub fn dir(&self) -> PathBuf {
        self.store
            .clone()
            .unwrap_or_else(|| crate::instance().store.clone())
    }

    pub fn base(&self) -> String {
        self.layout().base().to_string()
    }

    /// The site's IRIs and the store's folders.
    pub fn layout(&self) -> fivestar_store::Layout {
        let dir = self.dir();
        let base = self
            .base_iri
            .clone()
            .or_else(|| fivestar_store::recorded_base(&dir))
            .unwrap_or_else(|| crate::instance().base_iri.clone());
        fivestar_store::Layout::new(&base, dir)
    }

    pub fn settings(&self) -> Settings {
        let mut s = Settings::new(self.base());
        s.loader_memory_mb = crate::instance().loader_memory_mb;
        s.mirrors = crate::instance()
            .publish_to
            .iter()
            .map(|t| {
                std::sync::Arc::new(fivestar_remote::Remote::new(t.clone()))
                    as std::sync::Arc<dyn fivestar_store::Mirror>
            })
            .collect();
        s
    }

    pub fn open(&self) -> Result<Store> {
        self.open_with(self.settings())
    }

    /// The admin client of the instance holding this store, if one is running (`what`: the
    /// command, for messages).
    pub fn live(&self, what: &str) -> Result<Option<crate::live::Client>, Failure> {
        crate::live::Client::connect(&self.dir(), what)
    }

    pub fn open_with(&self, settings: Settings) -> Result<Store> {
        // Checked before the store records it.
        fivestar_pipeline::config::check_web_iri(&settings.base)
            .map_err(|e| anyhow!("--base-iri: {e}"))?;
        let dir = self.dir();
        Store::open(&dir, settings)
            .with_context(|| format!("opening the store in {}", dir.display()))
    }
}

/// Loads the built-in vocabularies and the local-authority list into the store's vocabulary
/// graph, when they changed since the last load.
pub fn load_vocabulary(store: &Store) -> Result<()> {
    let docs = fivestar_council::vocabulary(&store.settings().base)
        .map_err(|e| anyhow!("the built-in vocabulary: {e}"))?;
    if store.load_vocabulary(&docs)? {
        tracing::info!("loaded the vocabulary graph");
    }
    Ok(())
}

#[derive(Args)]
pub struct PublishArgs {
    /// A CSV file or CSVW metadata file (local or http(s)).
    pub input: String,
    /// The dataset id (a slug: lower-case letters, digits, '-').
    #[arg(long)]
    pub dataset: String,
    #[arg(long)]
    pub title: Option<String>,
    #[arg(long, default_value = "")]
    pub description: String,
    /// The publisher's IRI, e.g. http://statistics.data.gov.uk/id/statistical-geography/E08000009.
    #[arg(long)]
    pub publisher: Option<String>,
    /// The licence IRI (default: Open Government Licence v3).
    #[arg(long, default_value = fivestar_store::OGL_V3)]
    pub licence: String,
    /// The release id (default: the current UTC time).
    #[arg(long)]
    pub release: Option<String>,
    /// Overriding CSVW metadata.
    #[arg(long)]
    pub metadata: Option<String>,
    /// If the release exists already, say so and succeed (for `make run`).
    #[arg(long)]
    pub skip_existing: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum QueryFormat {
    Json,
    Xml,
    Csv,
    Tsv,
    Turtle,
    Ntriples,
    Jsonld,
    Rdfxml,
}

impl QueryFormat {
    fn results(self) -> Option<QueryResultsFormat> {
        Some(match self {
            QueryFormat::Json => QueryResultsFormat::Json,
            QueryFormat::Xml => QueryResultsFormat::Xml,
            QueryFormat::Csv => QueryResultsFormat::Csv,
            QueryFormat::Tsv => QueryResultsFormat::Tsv,
            _ => return None,
        })
    }

    fn graph(self) -> Option<RdfFormat> {
        Some(match self {
            QueryFormat::Turtle => RdfFormat::Turtle,
            QueryFormat::Ntriples => RdfFormat::NTriples,
            QueryFormat::Jsonld => RdfFormat::JsonLd {
                profile: Default::default(),
            },
            QueryFormat::Rdfxml => RdfFormat::RdfXml,
            _ => return None,
        })
    }
}

#[derive(Args)]
pub struct QueryArgs {
    /// A SPARQL 1.1 query (read-only).
    pub query: String,
    /// Results format (SELECT/ASK: json, xml, csv, tsv, default tsv; CONSTRUCT/DESCRIBE:
    /// turtle, ntriples, jsonld, rdfxml, default turtle).
    #[arg(long, value_enum)]
    pub format: Option<QueryFormat>,
    #[command(flatten)]
    pub store: StoreArgs,
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

pub fn publish(args: PublishArgs) -> Result<u8, Failure> {
    fivestar_store::check_slug("dataset id", &args.dataset)?;
    // A local file is published as if it lived at {base}/id/{dataset}/, so that the IRIs its
    // metadata makes resolve on this site.
    let local_base = (!fivestar_pipeline::web::is_url(&args.input)).then(|| {
        let name = Path::new(&args.input)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!(
            "{}{}",
            args.store.layout().data_folder(&args.dataset),
            url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
        )
    });
    let (fetcher, url) =
        WebFetcher::for_input(&args.input, local_base.as_deref(), Default::default())
            .map_err(|e| anyhow!(e))?;
    let metadata = match &args.metadata {
        Some(m) => Some(fetcher.url_for(m).map_err(|e| anyhow!(e))?),
        None => None,
    };
    let live = args.store.live("publish")?;
    let existing = |r: &str| -> Result<bool, Failure> {
        let datasets = match &live {
            Some(client) => client.get("datasets")?,
            None => return Ok(false),
        };
        Ok(datasets.as_array().is_some_and(|ds| {
            ds.iter().any(|d| {
                d["id"] == args.dataset.as_str()
                    && d["releases"]
                        .as_array()
                        .is_some_and(|rs| rs.iter().any(|x| x["release"] == r))
            })
        }))
    };
    let store = match &live {
        Some(_) => None,
        None => {
            let store = args.store.open()?;
            load_vocabulary(&store)?;
            Some(store)
        }
    };
    if let Some(r) = &args.release {
        let exists = match &store {
            Some(store) => store
                .datasets()?
                .iter()
                .any(|d| d.id == args.dataset && d.releases.iter().any(|x| &x.release == r)),
            None => existing(r)?,
        };
        if exists && args.skip_existing {
            println!("{}/{r} is published already; skipped", args.dataset);
            return Ok(0);
        }
    }
    // The release's N-Triples are written beside the store, or (when an instance holds it)
    // in a temporary folder and uploaded.
    let work = match &store {
        Some(_) => args.store.layout().tmp(),
        None => std::env::temp_dir().join(format!("fivestar-publish-{}", std::process::id())),
    };
    std::fs::create_dir_all(&work)?;
    let (now_id, now) = fivestar_store::now_utc();
    let release = args.release.clone().unwrap_or(now_id);
    fivestar_store::check_slug("release id", &release)?;
    let nt = work.join(format!("{}-{release}.nt", args.dataset));
    let clean_up = || {
        let _ = std::fs::remove_file(&nt);
        if store.is_none() {
            let _ = std::fs::remove_dir_all(&work);
        }
    };
    // The gate and csv2rdf in one pass, as a pipeline's run does: nothing invalid is published.
    let converted = convert::to_ntriples(&url, &fetcher, convert::options(metadata.clone()), &nt);
    let report = match converted {
        Ok(r) => r,
        Err(e) => {
            clean_up();
            return Err(match e {
                ConvertError::Table(e) => crate::failure(e),
                ConvertError::Io(e) => anyhow!(e).into(),
            });
        }
    };
    crate::print_diagnostics(&report);
    if report.has_errors() {
        clean_up();
        return Err(Failure {
            code: 1,
            error: anyhow!(
                "{} is invalid ({} errors): nothing was published",
                url,
                report.errors().count()
            ),
        });
    }
    // The clean CSV and its metadata go beside the RDF when both are local files.
    let meta_url = metadata
        .clone()
        .or_else(|| csvw::table::Processor::looks_like_metadata(&url).then(|| url.clone()));
    let csv = meta_url.as_ref().and_then(|m_url| {
        let m = fetcher.local_path(m_url)?;
        let text = std::fs::read_to_string(&m).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        let rel = v["url"].as_str()?;
        let csv_url = m_url.join(rel).ok()?;
        Some((fetcher.local_path(&csv_url)?, m))
    });
    let source = csv
        .as_ref()
        .map(|(c, _)| c.clone())
        .or_else(|| fetcher.local_path(&url));
    let pipeline_sha256 = meta_url
        .and_then(|m| fetcher.local_path(&m))
        .map(|p| sha256_file(&p))
        .transpose()?;
    let request = PublishRequest {
        dataset: DatasetInfo {
            id: args.dataset.clone(),
            title: args.title.clone().unwrap_or_else(|| args.dataset.clone()),
            description: args.description.clone(),
            publisher: args.publisher.clone(),
            licence: args.licence.clone(),
        },
        release: release.clone(),
        // Converted above (uploaded to a live instance, it is parsed strictly there).
        triples: fivestar_store::Triples::File {
            path: nt.clone(),
            converted_here: true,
        },
        csv,
        provenance: Provenance {
            source: Some(url.to_string()),
            source_sha256: source.as_deref().map(sha256_file).transpose()?,
            fetched_at: Some(now.clone()),
            run: Some(format!("fivestar {} publish", env!("CARGO_PKG_VERSION"))),
            pipeline_sha256,
        },
        generated_at: now,
        progress: None,
        linked: None,
        identity: None,
        figures: Vec::new(),
        summaries: Vec::new(),
    };
    let published = match (&store, &live) {
        (Some(store), _) => publish_one(store, &request)
            .map_err(Failure::from)
            .map(|info| {
                (
                    (info.dataset, info.release, info.triples, info.graph),
                    info.mirrors,
                )
            }),
        (None, Some(client)) => publish_live(client, &request, &nt),
        (None, None) => unreachable!("a store or an instance"),
    };
    clean_up();
    let ((dataset, release, triples, graph), mirrors) = published?;
    println!("published {dataset}/{release}: {triples} triples in {graph}");
    Ok(report_mirrors(&mirrors))
}

/// A published release: dataset, release, triples, graph.
type Published = (String, String, u64, String);

/// Publishes a converted release through a live instance: the N-Triples gzipped, with the
/// clean CSV and its metadata when there are some.
fn publish_live(
    client: &crate::live::Client,
    request: &PublishRequest,
    nt: &Path,
) -> Result<(Published, Vec<fivestar_store::MirrorOutcome>), Failure> {
    use reqwest::blocking::multipart::{Form, Part};
    let gz = nt.with_extension("nt.gz");
    {
        let mut input = std::fs::File::open(nt)?;
        let mut enc = flate2::write::GzEncoder::new(
            std::io::BufWriter::new(std::fs::File::create(&gz)?),
            flate2::Compression::fast(),
        );
        std::io::copy(&mut input, &mut enc)?;
        enc.finish()?.flush()?;
    }
    let described = serde_json::json!({
        "dataset": request.dataset,
        "release": request.release,
        "provenance": request.provenance,
        "generated_at": request.generated_at,
    });
    let mut form = Form::new()
        .text("request", described.to_string())
        .part("ntriples", Part::file(&gz)?.file_name("release.nt.gz"));
    if let Some((csv, meta)) = &request.csv {
        form = form
            .part("csv", Part::file(csv)?.file_name("release.csv"))
            .part(
                "metadata",
                Part::file(meta)?.file_name("release-metadata.json"),
            );
    }
    let started = client.upload("releases", form);
    let _ = std::fs::remove_file(&gz);
    let job = client.follow(&started?, |_| {})?;
    if job["state"] != "finished" {
        return Err(crate::live::job_error(&job));
    }
    let info = &job["result"];
    Ok((
        (
            info["dataset"].as_str().unwrap_or_default().to_string(),
            info["release"].as_str().unwrap_or_default().to_string(),
            info["triples"].as_u64().unwrap_or(0),
            info["graph"].as_str().unwrap_or_default().to_string(),
        ),
        mirrored(info)?,
    ))
}

pub fn query(args: QueryArgs) -> Result<u8, Failure> {
    // Parsing and evaluation recurse over the query: on a thread with the stack the
    // guard's limits were measured for.
    fivestar_store::guard::on_query_thread(move || {
        let form = fivestar_store::guard::parse(&args.query).map_err(|e| Failure {
            code: 1,
            error: anyhow!("{e}"),
        })?;
        if let Some(public) = crate::live::public_address(&args.store.dir()) {
            return query_live(&public, &args, form);
        }
        query_local(&args)
    })
    .map_err(|e| anyhow!("{e}"))?
}

fn query_local(args: &QueryArgs) -> Result<u8, Failure> {
    // On a read server (`[backend]` in fivestar.toml) the data is the backend's: its folder
    // holds only files, and opening it as a store would make an empty one.
    let store = match &crate::instance().backend {
        Some(b) => {
            let endpoint =
                fivestar_remote::Endpoint::new(b.clone(), std::time::Duration::from_secs(300))
                    .map_err(|e| anyhow!("[backend] {}: {e}", b.query))?;
            let mut settings = args.store.settings();
            settings.mirrors.clear();
            let store = Store::open_backed(
                args.store.dir(),
                settings,
                std::sync::Arc::new(endpoint),
                std::time::Duration::from_secs_f64(b.refresh_secs),
            )?;
            if let Some(e) = store.backend_health().and_then(|h| h.error) {
                return Err(anyhow!("{e}").into());
            }
            store
        }
        None => args.store.open()?,
    };
    let results = store.query_public(&args.query).map_err(|e| Failure {
        code: 1,
        error: anyhow!("{e}"),
    })?;
    let out = std::io::stdout().lock();
    match results {
        QueryResults::Solutions(solutions) => {
            let format = results_format(args.format, "a SELECT query")?;
            let mut w = QueryResultsSerializer::from_format(format)
                .serialize_solutions_to_writer(out, solutions.variables().to_vec())?;
            for s in solutions {
                w.serialize(&s.map_err(|e| anyhow!("{e}"))?)?;
            }
            w.finish()?.flush()?;
        }
        QueryResults::Boolean(b) => {
            let format = results_format(args.format, "an ASK query")?;
            QueryResultsSerializer::from_format(format)
                .serialize_boolean_to_writer(out, b)?
                .flush()?;
        }
        QueryResults::Graph(triples) => {
            let format = args
                .format
                .unwrap_or(QueryFormat::Turtle)
                .graph()
                .ok_or_else(|| {
                    anyhow!("a CONSTRUCT or DESCRIBE query gives a graph: --format turtle, ntriples, jsonld or rdfxml")
                })?;
            let mut w = RdfSerializer::from_format(format).for_writer(out);
            for t in triples {
                w.serialize_triple(&t.map_err(|e| anyhow!("{e}"))?)?;
            }
            w.finish()?.flush()?;
        }
    }
    Ok(0)
}

/// `fivestar query` while an instance holds the store: the instance's public SPARQL endpoint
/// answers (the same public view; its time and row limits apply, and a cut is said).
fn query_live(public: &str, args: &QueryArgs, parsed: spargebra::Query) -> Result<u8, Failure> {
    let name = match parsed {
        spargebra::Query::Construct { .. } | spargebra::Query::Describe { .. } => {
            let f = args.format.unwrap_or(QueryFormat::Turtle);
            if f.graph().is_none() {
                return Err(anyhow!("a CONSTRUCT or DESCRIBE query gives a graph: --format turtle, ntriples, jsonld or rdfxml").into());
            }
            f
        }
        spargebra::Query::Select { .. } => {
            let f = args.format.unwrap_or(QueryFormat::Tsv);
            results_format(Some(f), "a SELECT query")?;
            f
        }
        spargebra::Query::Ask { .. } => {
            let f = args.format.unwrap_or(QueryFormat::Tsv);
            results_format(Some(f), "an ASK query")?;
            f
        }
    };
    let name = ValueEnum::to_possible_value(&name)
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    let mut resp = reqwest::blocking::Client::new()
        .post(format!("{public}/sparql"))
        .form(&[("query", args.query.as_str()), ("format", name.as_str())])
        .send()
        .map_err(|e| anyhow!("the instance's SPARQL endpoint at {public}: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        let text = resp.text().unwrap_or_default();
        return Err(Failure {
            code: if status.is_client_error() { 1 } else { 2 },
            error: anyhow!("{}", text.trim()),
        });
    }
    if let Some(cut) = resp.headers().get("X-Fivestar-Truncated") {
        eprintln!(
            "fivestar: the instance at {public} {} (its max_rows)",
            cut.to_str().unwrap_or("cut the results")
        );
    }
    let mut out = std::io::stdout().lock();
    resp.copy_to(&mut out)
        .map_err(|e| anyhow!("reading the answer: {e}"))?;
    out.flush()?;
    Ok(0)
}

fn results_format(asked: Option<QueryFormat>, what: &str) -> Result<QueryResultsFormat, Failure> {
    asked
        .unwrap_or(QueryFormat::Tsv)
        .results()
        .ok_or_else(|| anyhow!("{what} gives results: --format json, xml, csv or tsv").into())
}

pub fn releases(args: StoreArgs) -> Result<u8, Failure> {
    // A replica changes nothing and has no admin API: read its copy read-only beside it.
    let replica = crate::live::find(&args.dir()).is_some_and(|f| f.read_only);
    let client = if replica {
        None
    } else {
        args.live("releases")?
    };
    let datasets = match (replica, client) {
        (false, Some(client)) => serde_json::from_value::<Vec<Listed>>(client.get("datasets")?)
            .map_err(|e| anyhow!("the instance's list of datasets: {e}"))?,
        _ => if replica {
            Store::open_read_only(args.dir(), args.settings())?
        } else {
            args.open()?
        }
        .datasets()?
        .into_iter()
        .map(|d| Listed {
            id: d.id,
            title: d.title,
            live: d.live,
            releases: d
                .releases
                .into_iter()
                .map(|r| ListedRelease {
                    release: r.release,
                    triples: r.triples,
                    issued: r.issued,
                })
                .collect(),
        })
        .collect(),
    };
    for d in datasets {
        println!(
            "{}\t{}\tlive: {}",
            d.id,
            d.title,
            d.live.as_deref().unwrap_or("(withdrawn)")
        );
        for r in &d.releases {
            println!(
                "  {}\t{} triples\t{}",
                r.release,
                r.triples,
                r.issued.as_deref().unwrap_or("")
            );
        }
    }
    Ok(0)
}

/// A dataset as `fivestar releases` lists it (from the store, or an instance's JSON).
#[derive(serde::Deserialize)]
struct Listed {
    id: String,
    title: String,
    live: Option<String>,
    releases: Vec<ListedRelease>,
}

#[derive(serde::Deserialize)]
struct ListedRelease {
    release: String,
    triples: u64,
    issued: Option<String>,
}

/// A path segment for the admin API.
fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Takes a dataset off the public view, here and on each `[[publish_to]]` target's live
/// view, and says so at once; the rest of the targets' catalogues follows by a sync (the
/// instance's job, or here after the withdrawal has been said).
pub fn withdraw(dataset: &str, args: StoreArgs) -> Result<u8, Failure> {
    let (store, at_once) = match args.live("withdraw")? {
        Some(client) => {
            let answer = client.post(
                &format!("datasets/{}/withdraw", seg(dataset)),
                &serde_json::json!({}),
            )?;
            let job = answer["sync_job"].as_str().map(String::from);
            (job.map(Err), mirrored(&answer)?)
        }
        None => {
            let store = args.open()?;
            let mirrors = store.withdraw(dataset)?;
            (Some(Ok(store)), mirrors)
        }
    };
    println!("withdrew {dataset}: it is no longer on the public view");
    let code = report_mirrors(&at_once);
    let then = match store {
        // A target that did not take the withdrawal would hold the sync too: `fivestar sync`
        // catches them all up once it answers.
        Some(Ok(_)) if code != 0 => {
            eprintln!("when every publish_to target answers again, `fivestar sync` brings their catalogues up to date");
            0
        }
        Some(Ok(store)) if !store.mirrors().is_empty() => {
            println!("bringing each publish_to target's catalogue up to date…");
            report_mirrors(&store.sync_mirrors())
        }
        Some(Err(job)) => {
            println!("each publish_to target's catalogue follows in the instance's job {job}");
            0
        }
        _ => 0,
    };
    Ok(code.max(then))
}

pub fn rollback(dataset: &str, release: &str, args: StoreArgs) -> Result<u8, Failure> {
    let mirrors = match args.live("rollback")? {
        Some(client) => mirrored(&client.post(
            &format!("datasets/{}/rollback", seg(dataset)),
            &serde_json::json!({ "release": release }),
        )?)?,
        None => args.open()?.rollback(dataset, release)?,
    };
    println!("{dataset}: release {release} is live");
    Ok(report_mirrors(&mirrors))
}

pub fn remove(dataset: &str, release: &str, args: StoreArgs) -> Result<u8, Failure> {
    let mirrors = match args.live("remove")? {
        Some(client) => mirrored(&client.delete(&format!(
            "datasets/{}/releases/{}",
            seg(dataset),
            seg(release)
        ))?)?,
        None => args.open()?.remove_release(dataset, release)?,
    };
    println!("{dataset}: release {release} is deleted (graph, catalogue entry and dumps)");
    Ok(report_mirrors(&mirrors))
}

/// Brings every `[[publish_to]]` target to the live state: through the instance when one
/// holds the store, else directly.
pub fn sync(args: StoreArgs) -> Result<u8, Failure> {
    if crate::instance().publish_to.is_empty() {
        println!("no [[publish_to]] targets in fivestar.toml: nothing to do");
        return Ok(0);
    }
    let mirrors = match args.live("sync")? {
        Some(client) => {
            let started = client.post("publish-to/sync", &serde_json::json!({}))?;
            let job = client.follow(&started, |_| {})?;
            if job["state"] != "finished" {
                return Err(crate::live::job_error(&job));
            }
            mirrored(&job["result"])?
        }
        None => args.open()?.sync_mirrors(),
    };
    Ok(report_mirrors(&mirrors))
}

/// The `publish_to` outcomes in an admin API answer.
pub fn mirrored(answer: &serde_json::Value) -> Result<Vec<fivestar_store::MirrorOutcome>> {
    match answer.get("publish_to") {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| anyhow!("the instance's answer: publish_to: {e}")),
    }
}

/// Prints what each `[[publish_to]]` target made of a change; the exit code: 0 when every
/// one took it, 3 when one did not (the change stands here either way).
pub fn report_mirrors(mirrors: &[fivestar_store::MirrorOutcome]) -> u8 {
    for m in mirrors {
        if m.ok {
            println!("{m}");
        } else {
            eprintln!("{m}");
        }
    }
    if mirrors.iter().all(|m| m.ok) {
        0
    } else {
        3
    }
}

/// Backs the store up into `dir` (missing or empty): through the instance when one holds the
/// store, else directly.
pub fn backup(dir: &Path, args: StoreArgs) -> Result<u8, Failure> {
    let target = std::path::absolute(dir)?;
    let info = match args.live("backup")? {
        Some(client) => {
            let started = client.post("backup", &serde_json::json!({ "dir": target }))?;
            let job = client.follow(&started, |_| {})?;
            if job["state"] != "finished" {
                return Err(crate::live::job_error(&job));
            }
            serde_json::from_value(job["result"]["backup"].clone())
                .map_err(|e| anyhow!("the instance's answer: {e}"))?
        }
        None => args.open()?.backup(&target)?,
    };
    let fivestar_store::BackupInfo {
        datasets,
        releases,
        files,
        bytes,
        ..
    } = info;
    println!(
        "backed up {} to {}: {datasets} datasets, {releases} releases, the database and {files} files ({bytes} bytes)",
        args.dir().display(),
        target.display()
    );
    Ok(0)
}

/// Restores a backup as the store (refused while an instance holds it).
pub fn restore(dir: &Path, force: bool, args: StoreArgs) -> Result<u8, Failure> {
    let store_dir = args.dir();
    if let Some(f) = crate::live::find(&store_dir) {
        return Err(anyhow!(
            "the store in {} is held by a running instance (process {}, {}): stop it before restoring",
            store_dir.display(),
            f.pid,
            f.public
        )
        .into());
    }
    let info = fivestar_store::restore(dir, &store_dir, force)?;
    println!(
        "restored {} into {}: {} datasets, {} releases (backed up {}, base IRI {})",
        dir.display(),
        store_dir.display(),
        info.datasets,
        info.releases,
        info.created,
        info.base
    );
    Ok(0)
}

/// What an instance serves.
pub enum Mode {
    /// Its own store, which it holds (and changes through the admin API).
    Own,
    /// A copy of a store, opened read-only (`serve --read-only`).
    ReadOnly,
    /// Another SPARQL store's data (`serve --backend`); files from the store folder.
    Backend(fivestar_pipeline::config::Backend),
}

/// What `serve` and `schedule` share: the listeners, the admin side, the instance file.
pub struct Instance {
    pub state: std::sync::Arc<fivestar_server::AppState>,
    bind: String,
    admin_bind: Option<String>,
    store_dir: PathBuf,
    read_only: bool,
    /// A read server for another store: it writes no instance file (several may share one
    /// folder of files, and there is nothing to send commands to).
    backed: bool,
}

impl Instance {
    /// Opens the store and prepares the public site and the admin API.
    pub fn new(
        bind: &str,
        query_timeout: u64,
        max_rows: usize,
        args: &StoreArgs,
        mode: Mode,
    ) -> Result<Instance, Failure> {
        let read_only = !matches!(mode, Mode::Own);
        let backed = matches!(mode, Mode::Backend(_));
        if !backed {
            if let Some(f) = crate::live::find(&args.dir()) {
                return Err(anyhow!(
                    "the store in {} is already served by a running instance (process {}, {}): one process holds a store",
                    args.dir().display(),
                    f.pid,
                    f.public
                )
                .into());
            }
        }
        let query_timeout = std::time::Duration::from_secs(query_timeout.max(1));
        let (store, off) = match mode {
            Mode::ReadOnly => {
                let dir = args.dir();
                let store = Store::open_read_only(&dir, args.settings())
                    .with_context(|| format!("opening the store in {} read-only", dir.display()))?;
                (
                    store,
                    Some("the admin API is off: this instance serves a read-only replica (change the store it was copied from)".to_string()),
                )
            }
            Mode::Backend(backend) => {
                backend.check().map_err(|e| anyhow!("--backend: {e}"))?;
                let refresh = std::time::Duration::from_secs_f64(backend.refresh_secs);
                let query = backend.query.clone();
                let endpoint = fivestar_remote::Endpoint::new(backend, query_timeout)
                    .map_err(|e| anyhow!("--backend {query}: {e}"))?;
                let dir = args.dir();
                let mut settings = args.settings();
                settings.mirrors.clear();
                let store =
                    Store::open_backed(&dir, settings, std::sync::Arc::new(endpoint), refresh)
                        .with_context(|| {
                            format!("serving {query} with the files in {}", dir.display())
                        })?;
                (
                    store,
                    Some(format!("the admin API is off: this instance answers from {query} (publish on the machine whose [[publish_to]] sends there)")),
                )
            }
            Mode::Own => {
                let store = args.open()?;
                load_vocabulary(&store)?;
                (store, None)
            }
        };
        let mut config = fivestar_server::Config::new();
        config.query_timeout = query_timeout;
        config.max_rows = max_rows.max(1);
        let inst = crate::instance();
        // As many descriptors as the system lets this process have; connections stay below.
        let descriptors = fivestar_server::conn::raise_descriptor_limit();
        config.max_connections =
            fivestar_server::conn::connections_allowed(inst.max_connections, descriptors);
        config.header_read_timeout = std::time::Duration::from_secs_f64(inst.header_timeout_secs);
        config.sparql_per_minute = inst.sparql_requests_per_minute;
        config.rate_limit_loopback = inst.rate_limit_loopback;
        config.trusted_proxies = inst.trusted_proxies.clone();
        config.metrics_public = inst.metrics_public;
        let mut admin = if let Some(reason) = off {
            fivestar_server::Admin::off_but_metrics(
                std::sync::Arc::new(inst.clone()),
                &reason,
                std::env::var(&inst.admin_token_env).ok(),
            )
        } else {
            fivestar_server::Admin::new(
                std::sync::Arc::new(inst.clone()),
                &inst.admin_token_env,
                std::env::var(&inst.admin_token_env).ok(),
            )
        };
        let admin_bind = inst.admin_bind.clone().filter(|a| a != bind);
        admin.separate = admin_bind.is_some();
        if !admin.is_on() {
            eprintln!("fivestar: {}", admin.off_reason());
        }
        // Uploads of a previous instance have no job any more.
        if !read_only {
            let _ = std::fs::remove_dir_all(args.layout().uploads());
        }
        Ok(Instance {
            state: std::sync::Arc::new(fivestar_server::AppState::new(store, config, admin)),
            bind: bind.to_string(),
            admin_bind,
            store_dir: args.dir(),
            read_only,
            backed,
        })
    }

    /// Listens, writes the instance file, prints the first line (`what` and the address), and
    /// serves until SIGINT or SIGTERM; the instance file is removed on the way out.
    pub fn serve(self, what: &str) -> Result<(), Failure> {
        let runtime = tokio::runtime::Runtime::new()?;
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind(&self.bind)
                .await
                .with_context(|| format!("cannot listen on {}", self.bind))?;
            let addr = listener.local_addr()?;
            let admin = match &self.admin_bind {
                Some(a) => Some(
                    tokio::net::TcpListener::bind(a)
                        .await
                        .with_context(|| format!("cannot listen on {a} (admin_bind)"))?,
                ),
                None => None,
            };
            let admin_addr = match &admin {
                Some(l) => l.local_addr()?,
                None => addr,
            };
            let _announced = if self.backed {
                None
            } else {
                Some(crate::live::announce(
                    &self.store_dir,
                    addr,
                    admin_addr,
                    self.state.store.layout().base(),
                    self.read_only,
                )?)
            };
            let admin_note = if self.state.admin.is_on() {
                format!("; admin API at http://{admin_addr}/admin/api/")
            } else {
                String::new()
            };
            println!(
                "fivestar: {what} http://{addr}/ (base IRI {}){admin_note}",
                self.state.store.layout().base()
            );
            // RocksDB's compactions yield to queries; it starts threads lazily, so look again
            // now and then (reading /proc/self/task: cheap).
            tokio::spawn(async {
                loop {
                    fivestar_store::background::lower_rocksdb_threads();
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                }
            });
            fivestar_server::serve(
                listener,
                admin,
                self.state.clone(),
                fivestar_server::shutdown_signal(),
            )
            .await?;
            Ok::<_, anyhow::Error>(())
        })?;
        Ok(())
    }
}

pub fn serve(
    bind: &str,
    query_timeout: u64,
    max_rows: usize,
    mode: Mode,
    args: StoreArgs,
) -> Result<u8, Failure> {
    let what = match &mode {
        Mode::Own => "serving".to_string(),
        Mode::ReadOnly => "serving a read-only replica at".to_string(),
        // The backend is named on stderr (the first line's first URL is the site's).
        Mode::Backend(_) => "serving a read server at".to_string(),
    };
    Instance::new(bind, query_timeout, max_rows, &args, mode)?.serve(&what)?;
    Ok(0)
}
