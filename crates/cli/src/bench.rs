//! `fivestar bench`: csvw to-rdf throughput and peak memory on a generated spending file.
//!
//! It writes a spending-like CSV (10 columns: a date in dd/MM/yyyy, amounts with a group
//! character, two URI templates, a datatype per column) and its metadata, then converts it
//! to N-Triples: once with a bare `csv` → N-Triples loop (no CSVW logic, the floor to
//! compare with), then with the csvw engine in standard and minimal mode. Each writes its
//! N-Triples through the serializer a user gets, buffered as `fivestar csvw to-rdf` does,
//! into `/dev/null` (a real file, written with real system calls, so that the disk's speed
//! is not what is measured; where there is none, a null writer). Peak RSS is the
//! process's high-water mark (VmHWM). The baseline runs on one thread; csv2rdf runs on two
//! where there are two cores (reading and parsing on one, triples and their writing on the
//! other), so each line also gives the CPU seconds it used. It runs the three in turn for
//! `--rounds` rounds and prints the median of each mode's ratios: this machine's speed drifts
//! from one minute to the next, and a ratio of two runs far apart measures the drift.

use crate::BenchArgs;
use anyhow::{Context, Result};
use csvw::fetch::{Fetcher, Resource};
use csvw::rdf::{SerializerSink, TripleSink};
use oxrdf::{LiteralRef, NamedNode, TripleRef};
use oxrdfio::RdfFormat;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;
use url::Url;

const METADATA: &str = r#"{
  "@context": ["http://www.w3.org/ns/csvw", {"@language": "en"}],
  "url": "spend.csv",
  "dc:title": "Spending over £500 (generated for benchmarking)",
  "tableSchema": {
    "aboutUrl": "http://example.org/spend/{transaction}",
    "primaryKey": "transaction",
    "columns": [
      {"name": "body", "titles": "Body Name", "datatype": "string"},
      {"name": "transaction", "titles": "Transaction Number", "datatype": "string"},
      {"name": "date", "titles": "Date", "datatype": {"base": "date", "format": "dd/MM/yyyy"},
       "propertyUrl": "http://reference.data.gov.uk/def/payment#date"},
      {"name": "net", "titles": "Net Amount", "datatype": {"base": "decimal", "format": {"groupChar": ","}},
       "propertyUrl": "http://reference.data.gov.uk/def/payment#netAmount"},
      {"name": "vat", "titles": "VAT", "datatype": {"base": "decimal", "format": {"groupChar": ","}}},
      {"name": "supplier", "titles": "Supplier Name", "datatype": "string"},
      {"name": "supplier_id", "titles": "Supplier ID", "datatype": "integer",
       "propertyUrl": "http://reference.data.gov.uk/def/payment#payee",
       "valueUrl": "http://example.org/supplier/{supplier_id}"},
      {"name": "expense", "titles": "Expense Type", "datatype": "string"},
      {"name": "service", "titles": "Service Area", "datatype": "string"},
      {"name": "paid", "titles": "Paid", "datatype": {"base": "boolean", "format": "Y|N"}}
    ]
  }
}"#;

const EXPENSES: &[&str] = &[
    "Building Repairs",
    "IT Software",
    "Agency Staff",
    "Grants",
    "Fuel",
];
const SERVICES: &[&str] = &[
    "Adult Social Care",
    "Highways",
    "Waste",
    "Libraries",
    "Housing",
];

fn generate(path: &Path, rows: u64) -> Result<u64> {
    let f =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    writeln!(w, "Body Name,Transaction Number,Date,Net Amount,VAT,Supplier Name,Supplier ID,Expense Type,Service Area,Paid")?;
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..rows {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let pence = 50_000 + x % 10_000_000;
        let day = 1 + (x >> 8) % 28;
        let month = 1 + (x >> 16) % 12;
        writeln!(
            w,
            "Example Borough Council,T{i:08},{day:02}/{month:02}/2024,\"{},{:03}.{:02}\",{}.{:02},\"Supplier {} Ltd\",{},{},{},{}",
            pence / 100_000,
            (pence / 100) % 1000,
            pence % 100,
            pence / 500,
            pence % 100,
            x % 5000,
            x % 5000,
            EXPENSES[(x % 5) as usize],
            SERVICES[((x >> 3) % 5) as usize],
            if x.is_multiple_of(7) { "N" } else { "Y" }
        )?;
    }
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// The median (of an even count, the mean of the middle two); `None` when empty.
fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// The high-water mark of resident memory, in bytes (Linux).
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

struct Dir(PathBuf);

impl Fetcher for Dir {
    fn fetch(&self, url: &Url) -> Result<Option<Resource>, String> {
        let name = url.path().rsplit('/').next().unwrap_or("");
        let p = self.0.join(name);
        if url.host_str() != Some("bench.invalid") || !p.is_file() {
            return Ok(None);
        }
        let f = std::fs::File::open(&p).map_err(|e| e.to_string())?;
        Ok(Some(Resource {
            body: Box::new(std::io::BufReader::with_capacity(1 << 16, f)),
            content_type: None,
            links: Vec::new(),
            content_language: None,
        }))
    }
}

struct Counting<'a, S: TripleSink>(&'a mut S, u64);

impl<S: TripleSink> TripleSink for Counting<'_, S> {
    fn triple(&mut self, t: TripleRef<'_>) -> csvw::Result<()> {
        self.1 += 1;
        self.0.triple(t)
    }
}

/// Where the N-Triples go: `/dev/null`, or a null writer where there is none.
fn null_file() -> Box<dyn Write + Send> {
    match std::fs::OpenOptions::new().write(true).open("/dev/null") {
        Ok(f) => Box::new(f),
        Err(_) => Box::new(std::io::sink()),
    }
}

/// The floor: csv crate → one triple per cell → N-Triples, no CSVW logic.
fn baseline(path: &Path) -> Result<(u64, u64)> {
    let mut rdr = csv::ReaderBuilder::new().from_path(path)?;
    let headers: Vec<NamedNode> = rdr
        .headers()?
        .iter()
        .map(|h| {
            NamedNode::new_unchecked(format!(
                "http://bench.invalid/spend.csv#{}",
                h.replace(' ', "%20")
            ))
        })
        .collect();
    // The same serializer and writer as the engine's, so that only the CSVW work differs.
    let mut ser = SerializerSink::new(RdfFormat::NTriples, BufWriter::new(null_file()));
    let (mut rows, mut triples) = (0u64, 0u64);
    let mut record = csv::StringRecord::new();
    while rdr.read_record(&mut record)? {
        rows += 1;
        let subject =
            NamedNode::new_unchecked(format!("http://bench.invalid/spend/{}", &record[1]));
        for (p, v) in headers.iter().zip(record.iter()) {
            ser.triple(TripleRef::new(
                &subject,
                p,
                LiteralRef::new_simple_literal(v),
            ))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            triples += 1;
        }
    }
    ser.finish()?.flush()?;
    Ok((rows, triples))
}

pub fn run(args: BenchArgs) -> Result<()> {
    let tmp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = std::env::temp_dir().join(format!("fivestar-bench-{}", std::process::id()));
            std::fs::create_dir_all(&tmp)?;
            tmp.clone()
        }
    };
    let csv_path = dir.join("spend.csv");
    std::fs::write(dir.join("spend.csv-metadata.json"), METADATA)?;
    let t = Instant::now();
    let bytes = generate(&csv_path, args.rows)?;
    println!(
        "generated {} rows ({:.1} MB) in {:.1}s",
        args.rows,
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let rss_before = peak_rss();
    let url = Url::parse("http://bench.invalid/spend.csv-metadata.json")?;
    let fetcher = Dir(dir.clone());
    // Each round's ratio is csv2rdf's rows/s over the baseline's in that round.
    let mut ratios: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let rounds = args.rounds.max(1);
    for round in 1..=rounds {
        if rounds > 1 {
            println!("round {round} of {rounds}:");
        }
        let (t, cpu) = (Instant::now(), cpu_seconds());
        let (rows, triples) = baseline(&csv_path)?;
        let secs = t.elapsed().as_secs_f64();
        let floor = rows as f64 / secs;
        println!(
            "baseline (csv → N-Triples, no CSVW, one thread): {rows} rows, {triples} triples in {secs:.2}s ({:.2} CPU s): {floor:.0} rows/s, {:.0} triples/s",
            cpu_seconds() - cpu,
            triples as f64 / secs
        );
        for minimal in [false, true] {
            let mut sink = SerializerSink::new(RdfFormat::NTriples, BufWriter::new(null_file()));
            let mut counting = Counting(&mut sink, 0);
            let (t, cpu) = (Instant::now(), cpu_seconds());
            let report = csvw::to_rdf(
                &url,
                &fetcher,
                csvw::Options::default(),
                minimal,
                &mut counting,
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let triples = counting.1;
            sink.finish()?.flush()?;
            let secs = t.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - cpu;
            let speed = args.rows as f64 / secs;
            ratios[usize::from(minimal)].push(speed / floor);
            println!(
                "csvw to-rdf ({} mode, N-Triples): {} rows, {triples} triples in {secs:.2}s ({cpu:.2} CPU s on {} threads): {speed:.0} rows/s, {:.0} triples/s; to-rdf ÷ baseline = {:.2}",
                if minimal { "minimal" } else { "standard" },
                args.rows,
                if std::thread::available_parallelism().is_ok_and(|n| n.get() > 1) { 2 } else { 1 },
                triples as f64 / secs,
                speed / floor
            );
            if report.has_errors() || report.has_warnings() {
                println!(
                    "warning: the conversion reported {} problems, first: {:?}",
                    report.diagnostics.len(),
                    report.diagnostics.first().map(|d| d.to_string())
                );
            }
        }
    }
    if rounds > 1 {
        for (mode, r) in ["standard", "minimal"].iter().zip(ratios) {
            if let Some(m) = median(r) {
                println!(
                    "to-rdf ÷ baseline ({mode} mode), median of {rounds} rounds: {m:.2} (target ≥ 0.5)"
                );
            }
        }
    }
    match (peak_rss(), rss_before) {
        (Some(p), Some(b)) => println!(
            "peak RSS: {:.1} MB (before converting: {:.1} MB)",
            p as f64 / 1e6,
            b as f64 / 1e6
        ),
        _ => println!("peak RSS: not available on this system"),
    }
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// What `fivestar bench-store` is asked to do.
#[derive(clap::Args)]
pub struct StoreBench {
    /// Triples to generate: six for each payment (12,000,000 make 2,000,000 payments).
    #[arg(long, default_value_t = 12_000_000)]
    pub triples: u64,
    /// The bulk loader's memory target, in megabytes (the store's default if not given).
    #[arg(long)]
    pub memory_mb: Option<usize>,
    /// Threads the bulk loader uses to build its files (the store's setting by default).
    #[arg(long)]
    pub loader_threads: Option<usize>,
    /// Run Oxigraph's bulk loader alone on the same generated file (its own defaults
    /// unless --memory-mb/--loader-threads are given): the yardstick for a publish.
    #[arg(long)]
    pub loader_only: bool,
    /// Publish without the spending template's summaries and the figures read from them
    /// (by default the release is published as `fivestar run` publishes a spending file).
    #[arg(long)]
    pub no_summaries: bool,
    /// Where to generate the file and the store (a temporary folder if not given).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Keep the store (in DIR/store, base IRI http://bench.invalid) to serve it and run
    /// `bench-query` against a large store.
    #[arg(long)]
    pub keep: bool,
}

/// The dataset the store benchmarks publish.
fn bench_dataset() -> fivestar_store::DatasetInfo {
    fivestar_store::DatasetInfo {
        id: "bench".into(),
        title: "bench".into(),
        description: String::new(),
        publisher: None,
        licence: fivestar_store::OGL_V3.into(),
    }
}

/// `fivestar bench-store`: publishes N generated triples as a release (bulk load, dumps, VoID
/// counts, catalogue) and reports triples/s, phase times and peak RSS; or, with
/// `--loader-only`, runs Oxigraph's bulk loader alone on the same file.
pub fn store(bench: StoreBench) -> Result<()> {
    let StoreBench {
        triples,
        memory_mb,
        loader_threads,
        dir,
        keep,
        loader_only,
        no_summaries,
    } = bench;
    let dir = dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("fivestar-bench-store-{}", std::process::id()))
    });
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let nt = dir.join("gen.nt");
    let t = Instant::now();
    generate_release(&nt, None, triples / PER_LINE, None)?;
    let generated = (triples / PER_LINE) * PER_LINE;
    println!(
        "generated {generated} triples ({:.0} MB) in {:.1}s",
        std::fs::metadata(&nt)?.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    if loader_only {
        let t = Instant::now();
        fivestar_store::bulk_load_alone(
            &dir.join("oxigraph-alone"),
            &nt,
            "http://bench.invalid/graph/bench/r1",
            loader_threads,
            memory_mb,
        )?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "Oxigraph's bulk loader alone ({}, {}): {generated} triples in {secs:.1}s: {:.0} triples/s",
            memory_mb.map_or("its default batches".to_string(), |mb| format!("{mb} MB target")),
            loader_threads.map_or("threads: one per core".to_string(), |n| format!("{n} thread(s)")),
            generated as f64 / secs
        );
        if let Some(p) = peak_rss() {
            println!("peak RSS: {:.0} MB", p as f64 / 1e6);
        }
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }
    let mut settings = fivestar_store::Settings::new("http://bench.invalid");
    if let Some(mb) = memory_mb {
        settings.loader_memory_mb = mb.max(1);
    }
    let memory_mb = settings.loader_memory_mb;
    if let Some(n) = loader_threads {
        settings.loader_threads = n.max(1);
    }
    let store = fivestar_store::Store::open(dir.join("store"), settings)?;
    let (summaries, figures) = if no_summaries {
        (Vec::new(), Vec::new())
    } else {
        spend_template()?
    };
    let req = fivestar_store::PublishRequest {
        dataset: bench_dataset(),
        release: "r1".into(),
        // Generated here, not by the converter: parsed strictly, as the loader alone does.
        triples: fivestar_store::Triples::file(nt.clone()),
        csv: None,
        provenance: Default::default(),
        generated_at: fivestar_store::now_utc().1,
        progress: None,
        linked: None,
        identity: None,
        figures,
        summaries,
    };
    let t = Instant::now();
    use fivestar_store::Publisher;
    let info = store.publish(&req)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "publish (dump, bulk load with a {memory_mb} MB loader target and {} thread(s), VoID counts, catalogue): {} triples in {secs:.1}s: {:.0} triples/s",
        store.settings().loader_threads,
        info.triples,
        info.triples as f64 / secs
    );
    print_phases(&info);
    if let Some(p) = peak_rss() {
        println!("peak RSS: {:.0} MB", p as f64 / 1e6);
    }
    if !req.summaries.is_empty() {
        summary_figures(&store, &nt, &req, &info, secs)?;
    }
    drop(store);
    if keep {
        let _ = std::fs::remove_file(&nt);
        println!(
            "kept the store: fivestar serve --store {} --base-iri http://bench.invalid",
            dir.join("store").display()
        );
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// What the summaries cost and give: the summarizer's own time on the release's quads (a pass
/// that reads them with it, less a pass that reads them without it: the share of the load
/// thread it takes) plus writing the summaries, against the whole publish; then the two
/// questions people ask first, through the public view, from the summary graph.
fn summary_figures(
    store: &fivestar_store::Store,
    nt: &Path,
    req: &fivestar_store::PublishRequest,
    info: &fivestar_store::ReleaseInfo,
    publish_secs: f64,
) -> Result<()> {
    use fivestar_store::rdf::{RdfFormat, RdfParser};
    let graph = NamedNode::new_unchecked(store.graph_iri("bench", "r1"));
    let pass = |summarize: bool| -> Result<f64> {
        let t = Instant::now();
        let mut s = fivestar_store::summary::Summarizer::new(&req.summaries);
        let file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(nt)?);
        for q in RdfParser::from_format(RdfFormat::NTriples)
            .with_default_graph(graph.as_ref())
            .for_reader(file)
        {
            let q = q?;
            if summarize {
                s.add(q.as_ref());
            }
        }
        Ok(t.elapsed().as_secs_f64())
    };
    let (without, with) = (pass(false)?, pass(true)?);
    let writing: f64 = info
        .phases
        .iter()
        .filter(|(name, _)| name.contains("writing the summaries"))
        .map(|(_, d)| d.as_secs_f64())
        .sum();
    let summing = (with - without).max(0.0);
    println!(
        "summaries: summing {summing:.1}s (a pass over the quads with the summarizer {with:.1}s, without {without:.1}s) + writing {writing:.1}s = {:.1}% of the publish",
        100.0 * (summing + writing) / publish_secs
    );
    let summary = store.layout().summary_graph("bench", "r1");
    let own = store.layout().own_terms();
    for (what, q) in [
        (
            "top 10 suppliers by total paid",
            format!(
                "PREFIX qb: <http://purl.org/linked-data/cube#>\nSELECT ?supplier ?total WHERE {{ GRAPH <{summary}> {{ ?o qb:dataSet <{summary}#by-supplier> ; <http://reference.data.gov.uk/def/payment#payee> ?supplier ; <{own}#total> ?total }} }} ORDER BY DESC(?total) LIMIT 10"
            ),
        ),
        (
            "spend per month",
            format!(
                "PREFIX qb: <http://purl.org/linked-data/cube#>\nSELECT ?month ?total WHERE {{ GRAPH <{summary}> {{ ?o qb:dataSet <{summary}#by-month> ; <{own}#month> ?month ; <{own}#total> ?total }} }} ORDER BY ?month"
            ),
        ),
    ] {
        let t = Instant::now();
        let rows = match store.query_public(&q)? {
            fivestar_store::rdf::QueryResults::Solutions(s) => s.count(),
            _ => 0,
        };
        println!(
            "summary query, {what}: {rows} rows in {:.1} ms",
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok(())
}

/// Triples per generated payment.
const PER_LINE: u64 = 6;

/// The spending template's summaries and figures, for the bench site: what `fivestar run`
/// publishes with a spending file.
fn spend_template() -> Result<(
    Vec<fivestar_store::summary::SummarySpec>,
    Vec<fivestar_store::figures::FigureQuery>,
)> {
    let t = fivestar_council::Template::all()
        .map_err(|e| anyhow::anyhow!(e))?
        .iter()
        .find(|t| t.id == "spend")
        .ok_or_else(|| anyhow::anyhow!("no spend template"))?;
    let summaries = fivestar_pipeline::mapping::summaries_of(t, BENCH_BASE);
    let figures = fivestar_pipeline::mapping::figures_of(t, BENCH_BASE)
        .into_iter()
        .filter(|f| f.query.contains("{summary"))
        .collect();
    Ok((summaries, figures))
}

const BENCH_BASE: &str = "http://bench.invalid";

/// Writes `lines` generated payments as N-Triples (six triples each) to `nt` and, when `csv`
/// is given, as the clean CSV a pipeline would publish beside them (`row_key` first). With
/// `bump = Some(n)`, every n-th payment's amount is one pound more: a release that corrects
/// 1/n of the rows.
fn generate_release(nt: &Path, csv: Option<&Path>, lines: u64, bump: Option<u64>) -> Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(nt)?);
    let mut c = match csv {
        Some(p) => {
            let mut c = BufWriter::with_capacity(1 << 20, std::fs::File::create(p)?);
            writeln!(c, "row_key,Net Amount,Date,Supplier,Expense Type")?;
            Some(c)
        }
        None => None,
    };
    for i in 0..lines {
        let s = format!("<http://bench.invalid/id/spend/payment/{i}>");
        let pounds = 500 + i % 90_000 + u64::from(bump.is_some_and(|n| i % n == 7 % n));
        let amount = format!("{pounds}.{:02}", i % 100);
        let date = format!("2024-{:02}-{:02}", 1 + i % 12, 1 + i % 28);
        let expense = EXPENSES[(i % 5) as usize];
        writeln!(w, "{s} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://reference.data.gov.uk/def/payment#ExpenditureLine> .")?;
        writeln!(w, "{s} <http://reference.data.gov.uk/def/payment#netAmount> \"{amount}\"^^<http://www.w3.org/2001/XMLSchema#decimal> .")?;
        writeln!(w, "{s} <http://reference.data.gov.uk/def/payment#date> \"{date}\"^^<http://www.w3.org/2001/XMLSchema#date> .")?;
        writeln!(
            w,
            "{s} <{BENCH_BASE}/def/fivestar#month> <http://reference.data.gov.uk/id/month/{}> .",
            &date[..7]
        )?;
        writeln!(w, "{s} <http://reference.data.gov.uk/def/payment#payee> <http://bench.invalid/id/spend/supplier/{}> .", i % 5000)?;
        writeln!(
            w,
            "{s} <http://reference.data.gov.uk/def/payment#expenditureCategory> \"{expense}\" ."
        )?;
        if let Some(c) = &mut c {
            writeln!(c, "{i},{amount},{date},supplier {},{expense}", i % 5000)?;
        }
    }
    w.flush()?;
    if let Some(mut c) = c {
        c.flush()?;
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct ChangesBench {
    /// Rows (payments) in each release; six triples each.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
    /// Every N-th row of the second release has another amount (100: 1% of rows).
    #[arg(long, default_value_t = 100)]
    pub every: u64,
    /// Where to generate the files and the stores (a temporary folder if not given).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Rounds of the two publishes (with and without the changes), alternating.
    #[arg(long, default_value_t = 2)]
    pub rounds: u32,
}

/// `fivestar bench-changes`: what computing a release's changes (the RDF Patch and the row
/// changes against the live release) adds to a publish. Publishes a generated release, then a
/// second with 1/N of the rows corrected, timing the second; in one store with the changes
/// worked out, in another without (`Settings::changes` off), alternating for `--rounds`.
pub fn changes(bench: ChangesBench) -> Result<()> {
    let dir = bench.dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("fivestar-bench-changes-{}", std::process::id()))
    });
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let files = |name: &str| -> Result<(PathBuf, PathBuf, PathBuf)> {
        let (nt, csv, meta) = (
            dir.join(format!("{name}.nt")),
            dir.join(format!("{name}.csv")),
            dir.join(format!("{name}-metadata.json")),
        );
        std::fs::write(&meta, "{}")?;
        Ok((nt, csv, meta))
    };
    let (nt1, csv1, meta1) = files("r1")?;
    let (nt2, csv2, meta2) = files("r2")?;
    let t = Instant::now();
    generate_release(&nt1, Some(&csv1), bench.rows, None)?;
    generate_release(&nt2, Some(&csv2), bench.rows, Some(bench.every.max(1)))?;
    println!(
        "generated two releases of {} rows ({} triples each) in {:.1}s",
        bench.rows,
        bench.rows * PER_LINE,
        t.elapsed().as_secs_f64()
    );
    let identity = fivestar_store::changes::Identity {
        key_column: "row_key".into(),
        columns: ["Net Amount", "Date", "Supplier", "Expense Type"]
            .map(String::from)
            .to_vec(),
        row_iri: "http://bench.invalid/id/spend/payment/{+row_key}".into(),
        noun: Some(("payment".into(), "payments".into())),
    };
    let request =
        |release: &str, nt: &Path, csv: &Path, meta: &Path| fivestar_store::PublishRequest {
            dataset: bench_dataset(),
            release: release.into(),
            triples: fivestar_store::Triples::file(nt),
            csv: Some((csv.to_path_buf(), meta.to_path_buf())),
            provenance: Default::default(),
            generated_at: fivestar_store::now_utc().1,
            progress: None,
            linked: None,
            identity: Some(identity.clone()),
            figures: Vec::new(),
            summaries: Vec::new(),
        };
    use fivestar_store::Publisher;
    // Two stores, each given the first release and then the second: one works out the
    // changes, the other (`changes` off) does not; the second publish is timed in each.
    let open = |name: &str, changes: bool| {
        let mut settings = fivestar_store::Settings::new("http://bench.invalid");
        settings.changes = changes;
        fivestar_store::Store::open(dir.join(name), settings)
    };
    let mut with_secs = Vec::new();
    let mut without_secs = Vec::new();
    let mut last = None;
    for round in 0..bench.rounds.max(1) {
        for changes in [true, false] {
            let name = format!("store-{round}-{changes}");
            let store = open(&name, changes)?;
            store.publish(&request("r1", &nt1, &csv1, &meta1))?;
            let t = Instant::now();
            let info = store.publish(&request("r2", &nt2, &csv2, &meta2))?;
            let secs = t.elapsed().as_secs_f64();
            if changes {
                with_secs.push(secs);
                let c = store
                    .datasets()?
                    .into_iter()
                    .flat_map(|d| d.releases)
                    .find(|r| r.release == "r2")
                    .and_then(|r| r.changes);
                last = Some((info, c));
            } else {
                without_secs.push(secs);
            }
            drop(store);
            let _ = std::fs::remove_dir_all(dir.join(&name));
            println!(
                "round {}: second release published {} its changes in {secs:.1}s",
                round + 1,
                if changes { "with" } else { "without" }
            );
        }
    }
    if let Some((info, c)) = last {
        println!("the last publish with changes ({} triples):", info.triples);
        print_phases(&info);
        if let Some(c) = c {
            println!(
                "  changes: {} ({} statements added, {} removed)",
                c.summary, c.triples_added, c.triples_removed
            );
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "second release: {:.1}s with its changes, {:.1}s without (means of {} rounds): the changes added {:.1}%",
        mean(&with_secs),
        mean(&without_secs),
        with_secs.len(),
        (mean(&with_secs) - mean(&without_secs)) / mean(&without_secs) * 100.0
    );
    // The two halves alone, with nothing else running: the patch and the row changes.
    // (the previous release from its `.nt.gz` dump, the new one from its file, as a publish
    // of a file reads them)
    let (r1_nt, _, _) = files("r1")?;
    let gz = dir.join("r1.nt.gz");
    {
        let mut e =
            flate2::write::GzEncoder::new(std::fs::File::create(&gz)?, flate2::Compression::fast());
        std::io::copy(&mut std::fs::File::open(&r1_nt)?, &mut e)?;
        e.finish()?;
    }
    let t = Instant::now();
    fivestar_store::changes::write_patch(
        &gz,
        &nt2,
        "http://bench.invalid/r2",
        "http://bench.invalid/r1",
        &mut std::io::sink(),
    )?;
    let patch_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    fivestar_store::changes::write_row_changes(&csv1, &csv2, &identity, &mut std::io::sink())?;
    println!(
        "alone, with nothing else running: the RDF Patch {patch_secs:.1}s, the row changes {:.1}s",
        t.elapsed().as_secs_f64()
    );
    if let Some(p) = peak_rss() {
        println!("peak RSS: {:.0} MB", p as f64 / 1e6);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// `fivestar bench-query`: a small query mix from N concurrent clients against `url`; prints
/// and returns the requests answered per second.
pub fn query(
    url: &str,
    endpoint: &str,
    clients: usize,
    seconds: u64,
    lookup: Option<(String, u64)>,
    pages: bool,
) -> Result<f64> {
    let mix = [
        "SELECT (COUNT(*) AS ?n) WHERE { ?s a <http://reference.data.gov.uk/def/payment#ExpenditureLine> }",
        "SELECT ?s ?amount WHERE { ?s <http://reference.data.gov.uk/def/payment#netAmount> ?amount } ORDER BY DESC(?amount) LIMIT 10",
        "SELECT ?payee (SUM(?a) AS ?total) WHERE { ?s <http://reference.data.gov.uk/def/payment#payee> ?payee ; <http://reference.data.gov.uk/def/payment#netAmount> ?a } GROUP BY ?payee ORDER BY DESC(?total) LIMIT 5",
        "ASK { ?s ?p ?o }",
    ];
    let deadline = Instant::now() + std::time::Duration::from_secs(seconds);
    let sparql = endpoint.to_string();
    // Each call draws other lookups, in this process and in the next (its id and the clock
    // are in the seed): a measurement never repeats its warm-up's, which a server keeping
    // recent answers would answer from memory.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ^ (u64::from(std::process::id()) << 20)
        ^ nanos;
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let sparql = sparql.clone();
            let lookup = lookup.clone();
            let site = url.trim_end_matches('/').to_string();
            std::thread::spawn(move || -> (u64, u64, Vec<f64>, Vec<f64>) {
                let mut rng =
                    fastrand::Rng::with_seed((c as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ call);
                let client = reqwest::blocking::Client::new();
                let (mut ok, mut failed, mut lat, mut page_lat) =
                    (0u64, 0u64, Vec::new(), Vec::new());
                let mut i = c;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    // Every other request a resource's HTML page (/id/… → /doc/…).
                    let page = pages && i % 2 == 1;
                    let request = match &lookup {
                        Some((prefix, n)) if page => {
                            let rest = prefix.split_once("/id/").map_or("", |(_, r)| r);
                            // Rows are numbered from 1.
                            client
                                .get(format!("{site}/doc/{rest}{}", rng.u64(1..=*n)))
                                .header("Accept", "text/html")
                        }
                        _ => {
                            let q = match &lookup {
                                Some((prefix, n)) => format!(
                                    "SELECT ?p ?o WHERE {{ <{prefix}{}> ?p ?o }}",
                                    rng.u64(0..*n)
                                ),
                                None => mix[i % mix.len()].to_string(),
                            };
                            client
                                .get(&sparql)
                                .query(&[("query", q.as_str())])
                                .header("Accept", "application/sparql-results+json")
                        }
                    };
                    let r = request
                        .send()
                        .and_then(|r| r.error_for_status())
                        .and_then(|r| r.bytes());
                    let took = t.elapsed().as_secs_f64();
                    if page && lookup.is_some() {
                        page_lat.push(took);
                    } else {
                        lat.push(took);
                    }
                    if r.is_ok() {
                        ok += 1
                    } else {
                        failed += 1
                    }
                    i += 1;
                }
                (ok, failed, lat, page_lat)
            })
        })
        .collect();
    let (mut ok, mut failed, mut lat, mut page_lat) = (0, 0, Vec::new(), Vec::new());
    for h in handles {
        let (o, f, l, p) = h
            .join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))?;
        ok += o;
        failed += f;
        lat.extend(l);
        page_lat.extend(p);
    }
    let pct = |lat: &mut Vec<f64>, p: f64| {
        lat.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
            * 1000.0
    };
    println!(
        "{} mix, {clients} clients for {seconds}s: {ok} requests ({:.0}/s), {failed} failed; queries: {} at p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        if lookup.is_some() { "lookup" } else { "aggregate" },
        ok as f64 / seconds as f64,
        lat.len(),
        pct(&mut lat, 0.5),
        pct(&mut lat, 0.95),
        pct(&mut lat, 0.99)
    );
    if !page_lat.is_empty() {
        println!(
            "  pages: {} at p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
            page_lat.len(),
            pct(&mut page_lat, 0.5),
            pct(&mut page_lat, 0.95),
            pct(&mut page_lat, 0.99)
        );
    }
    Ok(ok as f64 / seconds as f64)
}

#[derive(clap::Args, Debug)]
pub struct RunBench {
    /// Rows of the generated spending file (the one `fivestar bench` converts).
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
    /// Where to generate the file and the stores (a temporary folder, removed after, if not
    /// given).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Oxigraph's own command-line tool (`oxigraph` from the PyPI wheel, `make bench-deps`):
    /// its `oxigraph load` of the same triples is timed too, as released, beside the loader
    /// built into this binary (whose sort fivestar patches: vendor/oxigraph/PATCHED.md).
    #[arg(long)]
    pub oxigraph: Option<PathBuf>,
    /// How many times to run and then load alone, in turn (the file generated once; Oxigraph's
    /// released tool timed in the first pair only): on a host whose speed changes from one
    /// minute to the next, the median of the pairs' ratios is printed too.
    #[arg(long, default_value_t = 1)]
    pub pairs: usize,
}

/// `fivestar bench-run`: a whole `fivestar run` of a generated spending file (the `spend`
/// template: tidy, gate, links, validation, csv2rdf, summaries, publish) as a user runs it, in
/// a child process; then Oxigraph's bulk loader alone on the triples that run published (its
/// `.nt.gz` dump): how close a run comes to the load it cannot avoid. With `--oxigraph`, also
/// Oxigraph's released `oxigraph load` of the same file.
pub fn whole_run(bench: RunBench) -> Result<()> {
    let (dir, temporary) = match bench.dir {
        Some(d) => (d, false),
        None => (
            std::env::temp_dir().join(format!("fivestar-bench-run-{}", std::process::id())),
            true,
        ),
    };
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("pipelines"))?;
    let csv = dir.join("spend.csv");
    let bytes = generate(&csv, bench.rows)?;
    std::fs::write(
        dir.join("pipelines/bench.toml"),
        format!(
            "id = \"bench\"\ntitle = \"Generated spending\"\npublisher = \"E08000035\"\ntemplate = \"spend\"\n\n[source]\nurl = {}\n\n[columns.supplier_name]\npersonal = \"allow\"\n",
            fivestar_pipeline::config::toml_string(&csv.display().to_string())
        ),
    )?;
    println!(
        "generated {} rows ({:.1} MB)",
        bench.rows,
        bytes as f64 / 1e6
    );
    let pairs = bench.pairs.max(1);
    let mut ratios = Vec::with_capacity(pairs);
    let nt = dir.join("release.nt");
    let mut release = String::new();
    let mut triples = 0;
    for pair in 1..=pairs {
        if pairs > 1 {
            println!("pair {pair} of {pairs}:");
        }
        let store = dir.join("store");
        let _ = std::fs::remove_dir_all(&store);
        let (t, cpu) = (Instant::now(), children_cpu_seconds());
        let out = std::process::Command::new(std::env::current_exe()?)
            .args(["run", "--store"])
            .arg(&store)
            .args(["--base-iri", BENCH_BASE])
            .arg(dir.join("pipelines/bench.toml"))
            .output()?;
        let run_secs = t.elapsed().as_secs_f64();
        if !out.status.success() {
            anyhow::bail!(
                "the run failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // A child's peak counts the memory this process had when it started the child (see
        // below): only the first run's is its own.
        let run_rss = if pair == 1 { children_peak_rss() } else { None };
        let run_cpu = children_cpu_seconds() - cpu;
        // The run's own stage times, from its report.
        let runs = store.join("runs/bench");
        let report = std::fs::read_dir(&runs)?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("report.json"))
            .find(|p| p.is_file())
            .ok_or_else(|| anyhow::anyhow!("no report under {}", runs.display()))?;
        let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report)?)?;
        if pair == 1 {
            release = report["release"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("the run published no release"))?
                .to_string();
            // The published triples, as the loader alone will read them (each run publishes
            // the same).
            let gz = store.join(format!("dumps/bench/{release}.nt.gz"));
            let mut d = flate2::read::GzDecoder::new(std::fs::File::open(&gz)?);
            let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&nt)?);
            std::io::copy(&mut d, &mut w)?;
            w.flush()?;
            triples = memchr_lines(&nt)?;
        }
        println!(
            "fivestar run: {} rows, {triples} triples in {run_secs:.1}s ({:.0} rows/s, {:.1} CPU s){}",
            bench.rows,
            bench.rows as f64 / run_secs,
            run_cpu,
            run_rss.map_or(String::new(), |r| format!(
                ", peak RSS {:.0} MB",
                r as f64 / 1e6
            ))
        );
        // Each stage's seconds, and the CPU seconds of all the run's threads in it: on this
        // machine's cores, what bounds the stage.
        if let Some(facts) = report["facts"].as_array() {
            let fact = |key: &str| {
                facts
                    .iter()
                    .find(|f| f[0].as_str() == Some(key))
                    .and_then(|f| f[1].as_str())
            };
            for f in facts {
                if let (Some(k), Some(v)) = (f[0].as_str(), f[1].as_str()) {
                    if let Some(stage) = k.strip_prefix("seconds: ") {
                        match fact(&format!("cpu seconds: {stage}")) {
                            Some(cpu) => println!("  {stage}: {v}s ({cpu} CPU s)"),
                            None => println!("  {stage}: {v}s"),
                        }
                    }
                }
            }
        }
        // Oxigraph's released tool first: Linux counts the memory this process has used by
        // the time it starts a child into that child's peak (`ru_maxrss`), so it goes before
        // the loader built in here, while this process is still small.
        let released = match (&bench.oxigraph, pair) {
            (Some(oxigraph), 1) => Some(released_load(
                oxigraph,
                &dir,
                &nt,
                &format!("{BENCH_BASE}/graph/bench/{release}"),
            )?),
            _ => None,
        };
        let alone = dir.join("oxigraph-alone");
        let _ = std::fs::remove_dir_all(&alone);
        let (t, cpu) = (Instant::now(), cpu_seconds());
        fivestar_store::bulk_load_alone(
            &alone,
            &nt,
            &format!("{BENCH_BASE}/graph/bench/{release}"),
            None,
            None,
        )?;
        let load_secs = t.elapsed().as_secs_f64();
        println!(
            "Oxigraph's bulk loader alone, built into this binary (its sort patched), the same {triples} triples: {load_secs:.1}s ({:.1} CPU s){}",
            cpu_seconds() - cpu,
            // This process's peak: the first load's own, then the largest so far.
            peak_rss().filter(|_| pair == 1).map_or(String::new(), |r| format!(
                ", peak RSS {:.0} MB",
                r as f64 / 1e6
            ))
        );
        ratios.push(run_secs / load_secs);
        println!(
            "run ÷ loader alone (this binary's): {:.2} (target ≤ 1.25)",
            run_secs / load_secs
        );
        if let Some(released) = released {
            println!(
                "{}'s `oxigraph load`, the same triples: {:.1}s ({:.1} CPU s, peak RSS {:.0} MB)",
                released.version,
                released.secs,
                released.cpu,
                released.rss as f64 / 1e6
            );
            println!(
                "run ÷ `oxigraph load` (as released): {:.2} (target ≤ 1.25)",
                run_secs / released.secs
            );
        }
    }
    if pairs > 1 {
        let list: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        println!(
            "run ÷ loader alone (this binary's), by pair: {}; median of {pairs}: {:.2} (target ≤ 1.25)",
            list.join(", "),
            median(ratios).unwrap_or(f64::NAN)
        );
    }
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        let _ = std::fs::remove_file(&nt);
    }
    Ok(())
}

/// What Oxigraph's own `oxigraph load` took.
struct Released {
    version: String,
    secs: f64,
    cpu: f64,
    rss: u64,
}

/// Oxigraph's released `oxigraph load` of `nt` into `graph` of a new database under `dir`
/// (strict, atomic: its defaults), timed with its own resource use (`wait4`).
fn released_load(oxigraph: &Path, dir: &Path, nt: &Path, graph: &str) -> Result<Released> {
    let version = std::process::Command::new(oxigraph)
        .arg("--version")
        .output()
        .map_err(|e| anyhow::anyhow!("{}: {e}", oxigraph.display()))?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let db = dir.join("oxigraph-cli");
    let _ = std::fs::remove_dir_all(&db);
    let log = dir.join("oxigraph-load.log");
    let t = Instant::now();
    let child = std::process::Command::new(oxigraph)
        .args(["load", "--location"])
        .arg(&db)
        .arg("--file")
        .arg(nt)
        .args(["--graph", graph])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()?;
    let pid = libc::pid_t::try_from(child.id())?;
    let mut status = 0;
    // SAFETY: wait4 writes the child's status and resource use into the values it is given;
    // the child is ours and not waited for elsewhere.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } != pid {
        anyhow::bail!(
            "waiting for oxigraph load: {}",
            std::io::Error::last_os_error()
        );
    }
    let secs = t.elapsed().as_secs_f64();
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        anyhow::bail!("oxigraph load failed:\n{}", text.trim_end());
    }
    let _ = std::fs::remove_dir_all(&db);
    let _ = std::fs::remove_file(&log);
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Released {
        version,
        secs,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        rss: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
    })
}

/// Lines in a file (an N-Triples file's triples).
fn memchr_lines(path: &Path) -> Result<u64> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            return Ok(n);
        }
        n += buf[..k].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

/// A publish's phases: seconds, and the CPU seconds of the process in each.
fn print_phases(info: &fivestar_store::ReleaseInfo) {
    for (name, d) in &info.phases {
        match info.cpu.iter().find(|(n, _)| n == name) {
            Some((_, c)) => println!(
                "  {name}: {:.1}s ({:.1} CPU s)",
                d.as_secs_f64(),
                c.as_secs_f64()
            ),
            None => println!("  {name}: {:.1}s", d.as_secs_f64()),
        }
    }
}

/// CPU seconds this process has used, user and system, over all its threads.
fn cpu_seconds() -> f64 {
    fivestar_store::cpu_time().map_or(f64::NAN, |d| d.as_secs_f64())
}

/// What the children waited for have used, by getrusage.
fn children_usage() -> Option<libc::rusage> {
    // SAFETY: getrusage writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    (unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } == 0).then_some(usage)
}

/// The largest peak resident memory of the children waited for (Linux: kilobytes).
fn children_peak_rss() -> Option<u64> {
    let usage = children_usage()?;
    (usage.ru_maxrss > 0).then(|| usage.ru_maxrss as u64 * 1024)
}

/// CPU seconds the children waited for have used, user and system.
fn children_cpu_seconds() -> f64 {
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    children_usage().map_or(f64::NAN, |u| secs(u.ru_utime) + secs(u.ru_stime))
}

/// `fivestar sync` of the bench store to an empty Oxigraph server: what a `[[publish_to]]`
/// target costs (the first child this process waits for, so the peak memory is its own).
fn sync_to_remote(bench: &ServeBench) -> Result<()> {
    struct Scratch(PathBuf);
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let scratch =
        Scratch(std::env::temp_dir().join(format!("fivestar-bench-sync-{}", std::process::id())));
    std::fs::create_dir_all(&scratch.0)?;
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    let mut c = std::process::Command::new(&bench.oxigraph);
    c.args(["serve", "--location"])
        .arg(scratch.0.join("oxigraph"))
        .args(["--bind", &format!("127.0.0.1:{port}")]);
    let target = start(c, &format!("{url}/query?query=ASK%7B%7D"))?;
    let config = scratch.0.join("fivestar.toml");
    std::fs::write(
        &config,
        format!(
            // `no_transaction`: Oxigraph's server loads a PUT with its bulk loader (about 6×
            // faster here than its transactional PUT); safe for graphs nothing reads before
            // the count check and the switch.
            "[[publish_to]]\nname = \"bench\"\nquery = \"{url}/query\"\nupdate = \"{url}/update\"\ngraph_store = \"{url}/store?no_transaction\"\n"
        ),
    )?;
    let started = Instant::now();
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("--config")
        .arg(&config)
        .args(["sync", "--store"])
        .arg(&bench.store)
        .output()?;
    let took = started.elapsed().as_secs_f64();
    let peak = children_peak_rss();
    if !out.status.success() {
        anyhow::bail!(
            "fivestar sync to {url} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let count: serde_json::Value = reqwest::blocking::Client::new()
        .post(format!("{url}/query"))
        .header("Accept", "application/sparql-results+json")
        .form(&[(
            "query",
            "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
        )])
        .send()?
        .json()?;
    let triples: f64 = count["results"]["bindings"][0]["n"]["value"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    println!(
        "sync to an empty Oxigraph server (publish_to, graph_store …/store?no_transaction): {triples:.0} triples in {took:.1} s ({:.0} triples/s), fivestar peak RSS {}",
        triples / took.max(f64::MIN_POSITIVE),
        peak.map_or("unknown".into(), |b| format!("{:.0} MB", b as f64 / 1e6))
    );
    drop(target);
    drop(scratch);
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct ServeBench {
    /// A store made by `fivestar bench-store --keep` (its payments are looked up). Its
    /// database is compacted first, so it must not be one a live instance holds.
    #[arg(long)]
    pub store: PathBuf,
    /// Oxigraph's server (`oxigraph` from the PyPI wheel): it serves the same database
    /// read-only, with its own union default graph.
    #[arg(long)]
    pub oxigraph: PathBuf,
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Seconds measured for each server in each round (after 5 s of warm-up).
    #[arg(long, default_value_t = 15)]
    pub seconds: u64,
    /// Rounds, each server in turn (the median ratio is printed).
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// The payments' IRIs: this prefix and a number below `--lookups`.
    #[arg(long, default_value = "http://bench.invalid/id/spend/payment/")]
    pub lookup_prefix: String,
    #[arg(long, default_value_t = 2_000_000)]
    pub lookups: u64,
}

/// A server this bench started, stopped when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free loopback port.
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Starts `command` and waits (up to a minute) until `ready` answers 200.
fn start(mut command: std::process::Command, ready: &str) -> Result<Child> {
    let child = Child(
        command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?,
    );
    let client = reqwest::blocking::Client::new();
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    while Instant::now() < deadline {
        if client
            .get(ready)
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(child);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    anyhow::bail!("{ready} did not answer within a minute")
}

/// `fivestar bench-serve`: single-payment lookups through `fivestar serve`, through
/// `fivestar serve --backend` in front of Oxigraph's own server, and through that server
/// directly, on the same database, in turn, with the same clients; prints the ratios of their
/// throughputs, by round and their median. The database is compacted, then read once into
/// the page cache, first. Last, `fivestar sync` of the store to an empty Oxigraph server (a
/// `[[publish_to]]` target): triples/s and the peak memory of fivestar.
pub fn serve(bench: ServeBench) -> Result<()> {
    // The store as a live instance has it some time after a publish: compacted. Else the
    // first fivestar server (which opens it read-write) compacts the bulk load's files while
    // it is measured, and the read-only servers after it find that done.
    let started = Instant::now();
    fivestar_store::compact_alone(&bench.store.join("oxigraph"))?;
    println!(
        "compacted the database first, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    warm_page_cache(&bench.store.join("oxigraph"))?;
    let lookup = Some((bench.lookup_prefix.clone(), bench.lookups.max(1)));
    let (mut ours, mut backed, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
    let oxigraph_read_only = |port: u16, union: bool| {
        let mut c = std::process::Command::new(&bench.oxigraph);
        c.args(["serve-read-only", "--location"])
            .arg(bench.store.join("oxigraph"))
            .args(["--bind", &format!("127.0.0.1:{port}")]);
        if union {
            c.arg("--union-default-graph");
        }
        let ready = format!("http://127.0.0.1:{port}/query?query=ASK%7B%7D");
        start(c, &ready)
    };
    for round in 1..=bench.rounds.max(1) {
        for engine in [
            "fivestar serve",
            "fivestar serve --backend",
            "oxigraph serve-read-only",
        ] {
            let port = free_port()?;
            let site = format!("http://127.0.0.1:{port}");
            let (children, endpoint) = match engine {
                "fivestar serve" => {
                    let mut c = std::process::Command::new(std::env::current_exe()?);
                    c.args(["serve", "--store"])
                        .arg(&bench.store)
                        .args(["--bind", &format!("127.0.0.1:{port}")]);
                    (
                        vec![start(c, &format!("{site}/health"))?],
                        format!("{site}/sparql"),
                    )
                }
                "fivestar serve --backend" => {
                    // The database served by Oxigraph, its files by the read server.
                    let db_port = free_port()?;
                    let db = oxigraph_read_only(db_port, false)?;
                    let mut c = std::process::Command::new(std::env::current_exe()?);
                    c.args(["serve", "--store"])
                        .arg(&bench.store)
                        .args(["--bind", &format!("127.0.0.1:{port}")])
                        .args(["--backend", &format!("http://127.0.0.1:{db_port}/query")]);
                    (
                        vec![start(c, &format!("{site}/health"))?, db],
                        format!("{site}/sparql"),
                    )
                }
                _ => (
                    vec![oxigraph_read_only(port, true)?],
                    format!("{site}/query"),
                ),
            };
            println!("round {round}, {engine}:");
            print!("  warm-up: ");
            query(&site, &endpoint, bench.clients, 5, lookup.clone(), false)?;
            print!("  ");
            let rate = query(
                &site,
                &endpoint,
                bench.clients,
                bench.seconds.max(1),
                lookup.clone(),
                false,
            )?;
            drop(children);
            match engine {
                "fivestar serve" => ours.push(rate),
                "fivestar serve --backend" => backed.push(rate),
                _ => theirs.push(rate),
            }
        }
    }
    let by_round = |a: &[f64], b: &[f64]| -> String {
        a.iter()
            .zip(b)
            .map(|(a, b)| format!("{:.2}", a / b.max(f64::MIN_POSITIVE)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "serve --backend ÷ its backend queried directly, single-payment lookups, by round: {} (target ≥ 0.9; both on this machine's cores)",
        by_round(&backed, &theirs)
    );
    let ratios: Vec<String> = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| format!("{:.2}", a / b.max(f64::MIN_POSITIVE)))
        .collect();
    println!(
        "serve ÷ oxigraph serve, single-payment lookups, by round: {} (target ≥ 0.95)",
        ratios.join(", ")
    );
    let by_round: Vec<f64> = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| a / b.max(f64::MIN_POSITIVE))
        .collect();
    if let Some(m) = median(by_round.clone()) {
        println!(
            "serve ÷ oxigraph serve, median of {} rounds: {m:.2}",
            by_round.len()
        );
    }
    // Last: the sync writes a whole copy of the database, whose writing back and compaction
    // would run beside the rounds, and whose pages would push the served database's out of
    // the page cache.
    sync_to_remote(&bench)
}

/// Reads every file of the database once, so that the page cache holds it before the first
/// round (the first server measured would otherwise read from the disk what later ones find
/// cached, and lookups are random across the whole store).
fn warm_page_cache(dir: &Path) -> Result<()> {
    let started = Instant::now();
    let mut bytes = 0u64;
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_file() {
            let mut f = std::fs::File::open(&path)?;
            bytes += std::io::copy(&mut f, &mut std::io::sink())?;
        }
    }
    println!(
        "read the database's {:.0} MB once into the page cache, in {:.1} s",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![0.4]), Some(0.4));
        assert_eq!(median(vec![0.9, 0.1, 0.5]), Some(0.5));
        assert_eq!(median(vec![0.8, 0.2, 0.6, 0.4]), Some(0.5));
    }
}
