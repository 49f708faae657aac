//! Convert: the clean table written as CSV with its CSVW metadata, then validated and
//! converted to N-Triples (csv2rdf, minimal mode) in one pass of the csvw engine, while the
//! store loads them ([`made`]: no N-Triples file between the two). Diagnostics are pointed
//! back at the source's rows and headers; any error blocks publication (the load is given up
//! before its commit).

use super::fail;
use super::growing::Growing;
use crate::mapping::Mapping;
use crate::report::{Problem, Report, Severity};
use crate::web::WebFetcher;
use csvw::Fetcher;
use fivestar_tidy::Table;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use url::Url;

/// The clean table on disk, readable as if published at `{base}/id/{dataset}/`.
pub struct Clean {
    pub csv: PathBuf,
    pub metadata: PathBuf,
    pub metadata_url: Url,
    /// About how many triples csv2rdf makes of it (minimal mode): a cell a triple, none for
    /// an empty cell, one a row for each virtual column (`None` when the metadata's columns
    /// do not match the table's).
    pub expected_triples: Option<u64>,
    /// The IRI folder the clean table stands for, and the local folder that holds it.
    folder: (Url, PathBuf),
    /// The CSV's writer, while it may still be writing ([`write_clean_behind`]).
    behind: Option<Behind>,
}

/// The thread writing the clean CSV, and how far it is.
struct Behind {
    growing: Arc<Growing>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Clean {
    /// What reads the clean table and its metadata (and nothing else) by their IRIs: the CSV
    /// as far as it is written.
    fn fetcher(&self) -> CleanFetcher {
        CleanFetcher {
            web: WebFetcher::new(None).with_folder(self.folder.0.clone(), self.folder.1.clone()),
            csv: self.csv.clone(),
            growing: self.behind.as_ref().map(|b| b.growing.clone()),
        }
    }

    /// Nothing will read the CSV any more (the publish failed): its writer stops early.
    pub fn abandon(&self) {
        if let Some(b) = &self.behind {
            b.growing.abandon();
        }
    }

    /// Waits for the CSV's writer, if it is still writing: `Err` when it failed (a full
    /// disk), not when it was abandoned.
    pub fn finish(&mut self) -> Result<(), Box<Problem>> {
        let Some(b) = &mut self.behind else {
            return Ok(());
        };
        let failure = b.growing.failure();
        if let Some(t) = b.thread.take() {
            let _ = t.join();
        }
        match failure {
            Some(e) => Err(fail("io", format!("{}: {e}", self.csv.display()))),
            None => Ok(()),
        }
    }
}

impl Drop for Clean {
    fn drop(&mut self) {
        if let Some(b) = &mut self.behind {
            b.growing.abandon();
            if let Some(t) = b.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// The clean table's fetcher: its CSV, while it is still being written, read as far as it is
/// written; everything else from its folder.
struct CleanFetcher {
    web: WebFetcher,
    csv: PathBuf,
    growing: Option<Arc<Growing>>,
}

impl Fetcher for CleanFetcher {
    fn fetch(&self, url: &Url) -> Result<Option<csvw::fetch::Resource>, String> {
        match &self.growing {
            Some(growing) if self.web.local_path(url).as_deref() == Some(self.csv.as_path()) => {
                let reader = growing
                    .reader(&self.csv)
                    .map_err(|e| format!("{}: {e}", self.csv.display()))?;
                Ok(Some(csvw::fetch::Resource {
                    body: Box::new(std::io::BufReader::with_capacity(1 << 16, reader)),
                    content_type: None,
                    links: Vec::new(),
                    content_language: None,
                }))
            }
            _ => self.web.fetch(url),
        }
    }
}

/// About how many triples csv2rdf (minimal mode) makes of `table` under the clean metadata
/// `doc` (see [`Clean::expected_triples`]).
fn expected_triples(table: &Table, doc: &serde_json::Value) -> Option<u64> {
    let columns = doc.pointer("/tableSchema/columns")?.as_array()?;
    let flag =
        |c: &serde_json::Value, key: &str| c.get(key).and_then(|v| v.as_bool()) == Some(true);
    let rows = table.rows.len() as u64;
    let (mut k, mut triples) = (0, 0u64);
    for c in columns {
        if flag(c, "virtual") {
            if !flag(c, "suppressOutput") {
                triples += rows;
            }
            continue;
        }
        if k >= table.rows.width() {
            return None;
        }
        if !flag(c, "suppressOutput") {
            let empty = (0..table.rows.distinct(k) as u32)
                .find(|&id| table.rows.value_of(k, id).is_empty());
            let empties = empty.map_or(0, |e| {
                table.rows.ids(k).iter().filter(|&&id| id == e).count()
            });
            triples += rows - empties as u64;
        }
        k += 1;
    }
    (k == table.rows.width()).then_some(triples)
}

/// Writes `{dataset}.csv` and `{dataset}.csv-metadata.json` into `dir`. `data_base` is the
/// folder IRI the clean table stands for (`{base}/id/{dataset}/`).
pub fn write_clean(
    table: &Table,
    mapping: &Mapping,
    dir: &Path,
    data_base: &str,
) -> Result<Clean, Box<Problem>> {
    let (clean, file) = start_clean(table, mapping, dir, data_base)?;
    table
        .write_csv(std::io::BufWriter::new(file))
        .map_err(|e| io_error(&clean.csv, e))?;
    Ok(clean)
}

/// [`write_clean`], the CSV written on a thread of its own while the caller goes on: the
/// table's cells go to that thread (`table` keeps its rows' count of none, and what points
/// back at the source). A conversion of the returned [`Clean`] reads the CSV as far as it is
/// written, so it need not wait for the whole; [`Clean::finish`] waits for it.
pub fn write_clean_behind(
    table: &mut Table,
    mapping: &Mapping,
    dir: &Path,
    data_base: &str,
) -> Result<Clean, Box<Problem>> {
    let (mut clean, file) = start_clean(table, mapping, dir, data_base)?;
    let width = table.rows.width();
    let cells = Table {
        header: table.header.clone(),
        rows: std::mem::replace(&mut table.rows, fivestar_tidy::Cells::new(width)),
        ..Table::default()
    };
    let growing = Growing::new();
    let writer = growing.writer(file);
    let ended = growing.clone();
    let thread = std::thread::Builder::new()
        .name("clean-csv".into())
        .spawn(move || {
            /// Ends the file as failed if the writing panics, so no reader waits for ever.
            struct Ends(Arc<Growing>);
            impl Drop for Ends {
                fn drop(&mut self) {
                    self.0
                        .end(Err("the clean CSV's writer stopped before its end".into()));
                }
            }
            let ends = Ends(ended);
            let result = cells.write_csv(std::io::BufWriter::with_capacity(1 << 20, writer));
            ends.0.end(result.map_err(|e| e.to_string()));
            // The cells are freed here, off the caller's thread.
            drop(cells);
        })
        .map_err(|e| fail("io", format!("cannot start the clean CSV's writer: {e}")))?;
    clean.behind = Some(Behind {
        growing,
        thread: Some(thread),
    });
    Ok(clean)
}

/// The metadata written and the CSV created (empty) for [`write_clean`].
fn start_clean(
    table: &Table,
    mapping: &Mapping,
    dir: &Path,
    data_base: &str,
) -> Result<(Clean, std::fs::File), Box<Problem>> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let dataset = &mapping.dataset;
    let csv_name = format!("{dataset}.csv");
    let meta_name = format!("{dataset}.csv-metadata.json");
    let csv = dir.join(&csv_name);
    let metadata = dir.join(&meta_name);
    let doc = mapping.clean_metadata(&csv_name);
    let expected_triples = expected_triples(table, &doc);
    std::fs::write(
        &metadata,
        serde_json::to_vec_pretty(&doc).map_err(|e| fail("io", e.to_string()))?,
    )
    .map_err(|e| io_error(&metadata, e))?;
    let base = Url::parse(data_base).map_err(|e| fail("base-iri", format!("{data_base}: {e}")))?;
    let metadata_url = base
        .join(&meta_name)
        .map_err(|e| fail("base-iri", e.to_string()))?;
    let file = std::fs::File::create(&csv).map_err(|e| io_error(&csv, e))?;
    Ok((
        Clean {
            csv,
            metadata,
            metadata_url,
            expected_triples,
            folder: (base, dir.to_path_buf()),
            behind: None,
        },
        file,
    ))
}

/// A file of the run that could not be written (a full disk, say), named in the report.
fn io_error(path: &Path, e: std::io::Error) -> Box<Problem> {
    fail("io", format!("{}: {e}", path.display()))
}

/// How many diagnostics the engine lists before counting the rest.
const DIAGNOSTIC_LIMIT: usize = 1000;

/// The csvw options a table is validated and converted with.
pub fn options(metadata: Option<Url>) -> csvw::Options {
    csvw::Options {
        metadata,
        diagnostic_limit: DIAGNOSTIC_LIMIT,
        ..csvw::Options::default()
    }
}

/// Validates the clean table against its metadata and converts it into `sink` in the same
/// pass (a check's preview; a run whose gate has blocked it already, into [`Discard`]).
/// Diagnostics go to the report, pointed back at the source. `true`: valid.
pub fn validate_into(
    clean: &Clean,
    table: &Table,
    mapping: &Mapping,
    file: &str,
    sink: &mut (dyn csvw::rdf::TripleSink + Send),
    report: &mut Report,
) -> bool {
    let url = &clean.metadata_url;
    let options = csvw::Options {
        validate: true,
        ..options(Some(url.clone()))
    };
    let result = csvw::to_rdf(url, &clean.fetcher(), options, true, sink);
    record(
        result.map_err(|e| e.to_string()),
        table,
        mapping,
        file,
        report,
    )
}

/// A sink that keeps no triple: validation alone.
pub struct Discard;

impl csvw::rdf::TripleSink for Discard {
    fn triple(&mut self, _: fivestar_store::rdf::TripleRef<'_>) -> csvw::Result<()> {
        Ok(())
    }
}

/// What a conversion made while the store loaded it came to: taken by [`Verdict::take`] after
/// the publish.
#[derive(Clone, Default)]
pub struct Verdict(Arc<std::sync::Mutex<Option<Result<csvw::Report, ConvertError>>>>);

impl Verdict {
    /// The conversion's report (`None`: it never ran, the publish failed before it).
    pub fn take(&self) -> Option<Result<csvw::Report, ConvertError>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// The clean table's triples, validated and converted (csv2rdf, minimal mode) while the
/// store loads them. A table with an error fails the maker at its end, so the load is given
/// up before its commit; its diagnostics are in the [`Verdict`], for [`record`].
pub fn made(clean: &Clean) -> (fivestar_store::Made, Verdict) {
    let verdict = Verdict::default();
    let (url, fetcher) = (clean.metadata_url.clone(), clean.fetcher());
    let said = verdict.clone();
    let made = fivestar_store::Made::new(clean.expected_triples, move |lines, quads| {
        let result = convert_into(&url, &fetcher, lines, &mut StoreQuads(quads));
        // The CSV whole on disk before the maker ends, so before the publish names it a dump
        // (a conversion reads it to its end, so this waits for no more than the writer's last
        // word).
        let written = match (&result, &fetcher.growing) {
            (Ok(_), Some(g)) => g.wait(),
            _ => Ok(()),
        };
        let end = match (&result, written) {
            (Ok(_), Err(e)) => Err(format!("the clean CSV was not written whole: {e}")),
            (Ok(r), Ok(())) if !r.has_errors() => Ok(()),
            (Ok(_), Ok(())) => {
                Err("the clean table is not valid against its CSVW metadata".to_string())
            }
            (Err(e), _) => Err(e.to_string()),
        };
        *said.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
        end
    });
    (made, verdict)
}

/// The store's quads, as a csvw sink.
struct StoreQuads<'a>(&'a mut fivestar_store::Quads);

impl csvw::rdf::TripleSink for StoreQuads<'_> {
    fn triple(&mut self, t: fivestar_store::rdf::TripleRef<'_>) -> csvw::Result<()> {
        Ok(self.0.triple(t)?)
    }
}

/// csv2rdf (minimal mode, validating) of the table `url`, each triple into `lines` as
/// N-Triples and into `quads`. From the first error on, no triple is given to either (the
/// load they feed will be given up), while validation goes on to list every problem.
fn convert_into(
    url: &Url,
    fetcher: &dyn Fetcher,
    lines: &mut (dyn Write + Send),
    quads: &mut (impl csvw::rdf::TripleSink + Send),
) -> Result<csvw::Report, ConvertError> {
    /// Gives each triple to both sinks until an error is seen.
    struct UntilError<'a, S, Q> {
        lines: &'a mut S,
        quads: &'a mut Q,
        error: &'a std::sync::atomic::AtomicBool,
    }
    impl<S: csvw::rdf::TripleSink, Q: csvw::rdf::TripleSink> csvw::rdf::TripleSink
        for UntilError<'_, S, Q>
    {
        fn triple(&mut self, t: fivestar_store::rdf::TripleRef<'_>) -> csvw::Result<()> {
            if self.error.load(std::sync::atomic::Ordering::Relaxed) {
                return Ok(());
            }
            self.lines.triple(t)?;
            self.quads.triple(t)
        }
    }
    let error = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let options = csvw::Options {
        validate: true,
        error_seen: Some(error.clone()),
        ..options(Some(url.clone()))
    };
    let mut sink = csvw::rdf::SerializerSink::new(oxrdfio::RdfFormat::NTriples, lines);
    let mut until = UntilError {
        lines: &mut sink,
        quads,
        error: &error,
    };
    match csvw::to_rdf(url, fetcher, options, true, &mut until) {
        // The store stopped reading (its own error is the one to tell).
        Err(csvw::Error::Io(e)) => Err(ConvertError::Io(e.to_string())),
        Err(e) => Err(ConvertError::Table(e)),
        Ok(r) if r.has_errors() => Ok(r),
        Ok(r) => sink
            .finish()
            .map(|_| r)
            .map_err(|e| ConvertError::Io(e.to_string())),
    }
}

/// A validation's diagnostics (or why the metadata could not be used) into the report,
/// pointed back at the source. `true`: the report has no error.
pub fn record(
    result: Result<csvw::Report, String>,
    table: &Table,
    mapping: &Mapping,
    file: &str,
    report: &mut Report,
) -> bool {
    match result {
        Ok(r) => {
            // A required column the file lacks fails on every row: one problem, not one a row.
            let mut absent: Vec<(usize, usize)> = Vec::new();
            for d in r.diagnostics {
                let missing = (d.rule == "required")
                    .then(|| {
                        let c = d.column.as_ref()?;
                        let k = mapping.columns.iter().position(|m| &m.name == c)?;
                        table.source_columns.get(k)?.is_none().then_some(k)
                    })
                    .flatten();
                match missing {
                    Some(k) => match absent.iter_mut().find(|(j, _)| *j == k) {
                        Some((_, n)) => *n += 1,
                        None => absent.push((k, 1)),
                    },
                    None => report.problems.push(from_csvw(d, table, mapping, file)),
                }
            }
            for (k, n) in absent {
                report.problems.push(
                    Problem::error(
                        "csvw:required",
                        format!(
                            "a value is required in every row, and the file has no column for it: {n} row(s) lack it"
                        ),
                    )
                    .file(file)
                    .column(mapping.source_header(table, k)),
                );
            }
            if r.dropped > 0 {
                report.problems.push(Problem::new(
                    Severity::Warning,
                    "csvw",
                    format!("{} further CSVW diagnostics were not listed", r.dropped),
                ));
            }
        }
        Err(e) => report.problems.push(Problem::error(
            "csvw",
            format!("the mapping's metadata is not usable: {e}"),
        )),
    }
    !report.has_errors()
}

/// Why a conversion stopped.
#[derive(Debug)]
pub enum ConvertError {
    /// The table or its metadata cannot be processed at all.
    Table(csvw::Error),
    /// The N-Triples file could not be written.
    Io(String),
}

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConvertError::Table(e) => write!(f, "{e}"),
            ConvertError::Io(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for ConvertError {}

/// csv2rdf (minimal mode) of `url` into the N-Triples file `out`, validating on the way: the
/// conversion both `fivestar run` and `fivestar publish` use. Errors in the report mean the
/// table is invalid; on `Err` the file may be partial.
pub fn to_ntriples(
    url: &Url,
    fetcher: &dyn Fetcher,
    options: csvw::Options,
    out: &Path,
) -> Result<csvw::Report, ConvertError> {
    let io = |e: std::io::Error| ConvertError::Io(format!("{}: {e}", out.display()));
    let file = std::fs::File::create(out).map_err(io)?;
    let mut sink =
        csvw::rdf::SerializerSink::new(oxrdfio::RdfFormat::NTriples, std::io::BufWriter::new(file));
    let options = csvw::Options {
        validate: true,
        ..options
    };
    let report = csvw::to_rdf(url, fetcher, options, true, &mut sink).map_err(|e| match e {
        // Writing the triples failed (a full disk, say): nothing is wrong with the table.
        csvw::Error::Io(e) => io(e),
        e => ConvertError::Table(e),
    })?;
    sink.finish().and_then(|mut w| w.flush()).map_err(io)?;
    Ok(report)
}

/// A CSVW diagnostic about the clean CSV, pointed back at the source file's row and header:
/// the one place csvw's diagnostics become fivestar problems.
pub fn from_csvw(d: csvw::Diagnostic, table: &Table, mapping: &Mapping, file: &str) -> Problem {
    let column = d.column.as_ref().map(|c| {
        mapping
            .columns
            .iter()
            .position(|m| &m.name == c)
            .map(|k| mapping.source_header(table, k))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `t.csv` and its metadata (about `{#id}`, with these columns) into `dir`: the
    /// fetcher that reads them as `http://example.org/data/`, and the metadata's URL.
    fn table_files(dir: &Path, csv: &str, columns: &str) -> (WebFetcher, Url) {
        std::fs::write(dir.join("t.csv"), csv).unwrap();
        std::fs::write(
            dir.join("t.csv-metadata.json"),
            format!(
                r#"{{"@context": "http://www.w3.org/ns/csvw", "url": "t.csv",
                    "tableSchema": {{"aboutUrl": "{{#id}}", "columns": {columns}}}}}"#
            ),
        )
        .unwrap();
        let base = Url::parse("http://example.org/data/").unwrap();
        let fetcher = WebFetcher::new(None).with_folder(base.clone(), dir.to_path_buf());
        (fetcher, base.join("t.csv-metadata.json").unwrap())
    }

    /// The estimate that sizes the loader's batches is the count csv2rdf makes, for a table
    /// with empty cells, a column kept out of the output and a virtual column.
    #[test]
    fn the_expected_triples_are_those_csv2rdf_makes() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<Vec<String>> = (0..500)
            .map(|i| {
                let note = if i % 3 == 0 {
                    String::new()
                } else {
                    format!("n{i}")
                };
                vec![i.to_string(), note, format!("k{i}")]
            })
            .collect();
        let table = Table::from_rows(vec!["id".into(), "note".into(), "key".into()], rows);
        let mut csv = Vec::new();
        table.write_csv(&mut csv).unwrap();
        let columns = serde_json::json!([
            {"name": "id", "titles": "id", "datatype": "integer"},
            {"name": "note", "titles": "note"},
            {"name": "key", "titles": "key", "suppressOutput": true},
            {"virtual": true, "propertyUrl": "rdf:type", "valueUrl": "http://x/T"}]);
        let (fetcher, url) = table_files(
            dir.path(),
            std::str::from_utf8(&csv).unwrap(),
            &columns.to_string(),
        );
        let doc = serde_json::json!({"tableSchema": {"columns": columns}});
        let nt = dir.path().join("t.nt");
        to_ntriples(&url, &fetcher, options(Some(url.clone())), &nt).unwrap();
        let made = std::fs::read_to_string(&nt).unwrap().lines().count() as u64;
        assert_eq!(made, 500 + 333 + 500);
        assert_eq!(expected_triples(&table, &doc), Some(made));
        // Metadata for another table: no estimate.
        let mut other = doc.clone();
        other["tableSchema"]["columns"]
            .as_array_mut()
            .unwrap()
            .remove(0);
        assert_eq!(expected_triples(&table, &other), None);
    }

    /// A table with an error early on: nothing more is written for the load from there,
    /// and every error is still listed.
    #[test]
    fn from_the_first_error_nothing_more_is_made_and_every_error_is_listed() {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("id,amount\n");
        for i in 0..5000 {
            let amount = if i == 10 || i == 4000 {
                "lots".to_string()
            } else {
                i.to_string()
            };
            csv.push_str(&format!("{i},{amount}\n"));
        }
        let columns = r#"[{"name": "id", "titles": "id", "datatype": "integer"},
            {"name": "amount", "titles": "amount", "datatype": "integer"}]"#;
        let (fetcher, url) = table_files(dir.path(), &csv, columns);
        let (mut out, mut quads) = (Vec::<u8>::new(), Vec::<fivestar_store::rdf::Triple>::new());
        let report = convert_into(&url, &fetcher, &mut out, &mut quads).unwrap();
        let rows: Vec<u64> = report.errors().filter_map(|d| d.row).collect();
        assert_eq!(rows, [12, 4002], "{:?}", report.diagnostics);
        // At most the rows before the first error were written (the error is seen when it is
        // pushed, on whichever thread parses the cell): far fewer than the table's 10,000.
        let lines = out.iter().filter(|&&b| b == b'\n').count();
        assert!(lines < 4 * 1024, "{lines} triples written after the error");
        assert!(
            quads.len() < 4 * 1024,
            "{} quads made after the error",
            quads.len()
        );
        // A valid table is made whole, the same triples both ways.
        let (fetcher, url) = table_files(dir.path(), "id,amount\n1,2\n", columns);
        let (mut out, mut quads) = (Vec::<u8>::new(), Vec::<fivestar_store::rdf::Triple>::new());
        assert!(!convert_into(&url, &fetcher, &mut out, &mut quads)
            .unwrap()
            .has_errors());
        let lines: Vec<String> = quads.iter().map(|t| format!("{t} .\n")).collect();
        assert_eq!(String::from_utf8(out).unwrap(), lines.concat());
        assert_eq!(quads.len(), 2);
    }

    /// A table of `rows` suppliers (an integer id and a name) written by [`table_files`]: its
    /// CSV, the fetcher and the metadata's URL.
    fn suppliers(dir: &Path, rows: usize) -> (String, WebFetcher, Url) {
        let mut csv = String::from("id,name\n");
        for i in 0..rows {
            csv.push_str(&format!("{i},supplier number {i}\n"));
        }
        let (fetcher, url) = table_files(
            dir,
            &csv,
            r#"[{"name": "id", "titles": "id", "datatype": "integer"},
                {"name": "name", "titles": "name"}]"#,
        );
        (csv, fetcher, url)
    }

    /// A clean CSV still being written converts whole: the same N-Triples as the finished
    /// file, though the reader catches up with the writer again and again. A writer that
    /// fails part way fails the conversion with its reason; it never converts as a shorter
    /// table.
    #[test]
    fn a_csv_still_being_written_converts_whole_and_its_writers_failure_fails_it() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let (csv, fetcher, url) = suppliers(dir.path(), 20_000);
        let mut whole = Vec::new();
        let report = convert_into(&url, &fetcher, &mut whole, &mut Discard).unwrap();
        assert!(!report.has_errors());
        for fails in [false, true] {
            let path = dir.path().join("t.csv");
            let growing = Growing::new();
            let mut out = std::io::BufWriter::with_capacity(
                4096,
                growing.writer(std::fs::File::create(&path).unwrap()),
            );
            let (bytes, ends) = (csv.clone().into_bytes(), growing.clone());
            let thread = std::thread::spawn(move || {
                for (n, chunk) in bytes.chunks(16 * 1024).enumerate() {
                    if fails && n == 10 {
                        ends.end(Err("No space left on device".into()));
                        return;
                    }
                    out.write_all(chunk).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                out.flush().unwrap();
                ends.end(Ok(()));
            });
            let mut clean = Clean {
                csv: path,
                metadata: dir.path().join("t.csv-metadata.json"),
                metadata_url: url.clone(),
                expected_triples: None,
                folder: (
                    Url::parse("http://example.org/data/").unwrap(),
                    dir.path().to_path_buf(),
                ),
                behind: Some(Behind {
                    growing,
                    thread: Some(thread),
                }),
            };
            let mut lines = Vec::new();
            let result = convert_into(&url, &clean.fetcher(), &mut lines, &mut Discard);
            match (fails, result) {
                (false, Ok(r)) => {
                    assert!(!r.has_errors());
                    assert!(lines == whole, "the triples differ from the whole file's");
                    assert!(clean.finish().is_ok());
                }
                (true, Err(e)) => {
                    assert!(e.to_string().contains("No space left on device"), "{e}");
                    let e = clean.finish().unwrap_err();
                    assert!(
                        e.message.contains("No space left on device"),
                        "{}",
                        e.message
                    );
                }
                (fails, other) => panic!("writer fails: {fails}; conversion: {other:?}"),
            }
        }
    }

    /// A disk that fills while the triples are written is the run's failure, not the
    /// table's: `ConvertError::Io`, naming the file (a `Table` error would block the run and
    /// mark the source as processed, so the next run would skip it as unchanged).
    #[test]
    fn a_full_disk_while_converting_is_an_output_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (_, fetcher, url) = suppliers(dir.path(), 2000);
        // The table itself converts.
        let ok = dir.path().join("t.nt");
        let report = to_ntriples(&url, &fetcher, options(Some(url.clone())), &ok).unwrap();
        assert!(!report.has_errors());
        assert!(std::fs::metadata(&ok).unwrap().len() > 64 * 1024);
        // Linux's /dev/full refuses every write with ENOSPC.
        let full = Path::new("/dev/full");
        match to_ntriples(&url, &fetcher, options(Some(url.clone())), full) {
            Err(ConvertError::Io(e)) => {
                assert!(e.starts_with("/dev/full: "), "{e}");
                assert!(e.contains("No space left on device"), "{e}");
            }
            other => panic!("expected an output error, got {other:?}"),
        }
    }
}
