//! `fivestar publish / query / releases / withdraw / rollback / remove`: the store from the
//! command line.

use crate::fetch::CliFetcher;
use crate::Failure;
use anyhow::{anyhow, Context, Result};
use clap::{Args, ValueEnum};
use fivestar_store::oxigraph::io::{RdfFormat, RdfSerializer};
use fivestar_store::oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use fivestar_store::oxigraph::sparql::{QueryResults, SparqlEvaluator};
use fivestar_store::{DatasetInfo, Provenance, PublishRequest, Publisher, Settings, Store};
use sha2::Digest;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args, Clone)]
pub struct StoreArgs {
    /// The store folder (default: `store` in fivestar.toml, else data/store).
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// The base IRI every published IRI starts with, the address the site is served at
    /// (default: `base_iri` in fivestar.toml, else http://127.0.0.1:7878).
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
        self.base_iri
            .clone()
            .unwrap_or_else(|| crate::instance().base_iri.clone())
            .trim_end_matches('/')
            .to_string()
    }

    pub fn settings(&self) -> Settings {
        let mut s = Settings::new(self.base());
        s.loader_memory_mb = crate::instance().loader_memory_mb;
        s
    }

    pub fn open(&self) -> Result<Store> {
        self.open_with(self.settings())
    }

    pub fn open_with(&self, settings: Settings) -> Result<Store> {
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

fn sha256_file(path: &std::path::Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

pub fn publish(args: PublishArgs) -> Result<u8, Failure> {
    fivestar_store::check_slug("dataset id", &args.dataset)?;
    // A local file is published as if it lived at {base}/id/{dataset}/, so that the IRIs its
    // metadata makes resolve on this site.
    let local_base = (!args.input.starts_with("http://") && !args.input.starts_with("https://"))
        .then(|| {
            let name = std::path::Path::new(&args.input)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            format!(
                "{}/id/{}/{}",
                args.store.base(),
                args.dataset,
                url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
            )
        });
    let fetcher = CliFetcher::new(&args.input, local_base.as_deref())?;
    let url = fetcher.input_url().clone();
    let metadata = match &args.metadata {
        Some(m) => Some(fetcher.url_for(m)?),
        None => None,
    };
    let options = csvw::Options {
        metadata: metadata.clone(),
        diagnostic_limit: 1000,
        ..csvw::Options::default()
    };
    // The gate: nothing invalid is published.
    let report = csvw::validate(&url, &fetcher, options.clone()).map_err(crate::failure)?;
    crate::print_diagnostics(&report);
    if report.has_errors() {
        return Err(Failure {
            code: 1,
            error: anyhow!(
                "{} is invalid ({} errors): nothing was published",
                url,
                report.errors().count()
            ),
        });
    }
    let store = args.store.open()?;
    load_vocabulary(&store)?;
    if let Some(r) = &args.release {
        let exists = store
            .datasets()?
            .iter()
            .any(|d| d.id == args.dataset && d.releases.iter().any(|x| &x.release == r));
        if exists && args.skip_existing {
            println!("{}/{r} is published already; skipped", args.dataset);
            return Ok(0);
        }
    }
    let work = args.store.dir().join("tmp");
    std::fs::create_dir_all(&work)?;
    let (now_id, now) = fivestar_store::now_utc();
    let release = args.release.clone().unwrap_or(now_id);
    fivestar_store::check_slug("release id", &release)?;
    let nt = work.join(format!("{}-{release}.nt", args.dataset));
    {
        let out = std::io::BufWriter::new(std::fs::File::create(&nt)?);
        let mut sink = csvw::rdf::SerializerSink::new(RdfFormat::NTriples, out);
        csvw::to_rdf(&url, &fetcher, options, true, &mut sink).map_err(crate::failure)?;
        sink.finish()?.flush()?;
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
    let request = PublishRequest {
        dataset: DatasetInfo {
            id: args.dataset.clone(),
            title: args.title.clone().unwrap_or_else(|| args.dataset.clone()),
            description: args.description.clone(),
            publisher: args.publisher.clone(),
            licence: args.licence.clone(),
        },
        release: release.clone(),
        ntriples: nt.clone(),
        csv,
        provenance: Provenance {
            source: Some(url.to_string()),
            source_sha256: source.as_deref().map(sha256_file).transpose()?,
            fetched_at: Some(now.clone()),
            run: Some(format!("fivestar {} publish", env!("CARGO_PKG_VERSION"))),
            pipeline_sha256: meta_path_sha(&args, &fetcher, &url)?,
        },
        generated_at: now,
    };
    let info = store.publish(&request);
    let _ = std::fs::remove_file(&nt);
    let info = info?;
    println!(
        "published {}/{}: {} triples in {}",
        info.dataset, info.release, info.triples, info.graph
    );
    Ok(0)
}

fn meta_path_sha(
    args: &PublishArgs,
    fetcher: &CliFetcher,
    url: &url::Url,
) -> Result<Option<String>> {
    let m = match &args.metadata {
        Some(m) => Some(fetcher.url_for(m)?),
        None => csvw::table::Processor::looks_like_metadata(url).then(|| url.clone()),
    };
    m.and_then(|m| fetcher.local_path(&m))
        .map(|p| sha256_file(&p))
        .transpose()
}

pub fn query(args: QueryArgs) -> Result<u8, Failure> {
    let store = args.store.open()?;
    let results = store
        .query_public(&args.query, SparqlEvaluator::new())
        .map_err(|e| Failure {
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

fn results_format(asked: Option<QueryFormat>, what: &str) -> Result<QueryResultsFormat, Failure> {
    asked
        .unwrap_or(QueryFormat::Tsv)
        .results()
        .ok_or_else(|| anyhow!("{what} gives results: --format json, xml, csv or tsv").into())
}

pub fn releases(args: StoreArgs) -> Result<u8, Failure> {
    let store = args.open()?;
    for d in store.datasets()? {
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

pub fn withdraw(dataset: &str, args: StoreArgs) -> Result<u8, Failure> {
    args.open()?.withdraw(dataset)?;
    println!("withdrew {dataset}: it is no longer on the public view");
    Ok(0)
}

pub fn rollback(dataset: &str, release: &str, args: StoreArgs) -> Result<u8, Failure> {
    args.open()?.rollback(dataset, release)?;
    println!("{dataset}: release {release} is live");
    Ok(0)
}

pub fn remove(dataset: &str, release: &str, args: StoreArgs) -> Result<u8, Failure> {
    args.open()?.remove_release(dataset, release)?;
    println!("{dataset}: release {release} is deleted (graph, catalogue entry and dumps)");
    Ok(0)
}

pub fn serve(
    bind: &str,
    query_timeout: u64,
    max_rows: usize,
    args: StoreArgs,
) -> Result<u8, Failure> {
    let store = args.open()?;
    let mut config = fivestar_server::Config::new(args.base());
    config.query_timeout = std::time::Duration::from_secs(query_timeout.max(1));
    config.max_rows = max_rows.max(1);
    let state = std::sync::Arc::new(fivestar_server::AppState {
        store,
        config,
        metrics: fivestar_server::Metrics::default(),
    });
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot listen on {bind}"))?;
        let addr = listener.local_addr()?;
        println!(
            "fivestar: serving http://{addr}/ (base IRI {})",
            args.base()
        );
        fivestar_server::serve(listener, state).await?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(0)
}
