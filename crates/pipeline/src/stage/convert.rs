//! Convert: the clean table written as CSV with its CSVW metadata, then validated and
//! converted to N-Triples (csv2rdf, minimal mode) in one pass of the csvw engine. Diagnostics
//! are pointed back at the source's rows and headers; any error blocks publication.

use super::fail;
use crate::mapping::Mapping;
use crate::report::{Problem, Report, Severity};
use crate::web::WebFetcher;
use csvw::Fetcher;
use fivestar_tidy::Table;
use std::io::Write;
use std::path::{Path, PathBuf};
use url::Url;

/// The clean table on disk, readable as if published at `{base}/id/{dataset}/`.
pub struct Clean {
    pub csv: PathBuf,
    pub metadata: PathBuf,
    pub metadata_url: Url,
    fetcher: WebFetcher,
}

/// Writes `{dataset}.csv` and `{dataset}.csv-metadata.json` into `dir`. `data_base` is the
/// folder IRI the clean table stands for (`{base}/id/{dataset}/`).
pub fn write_clean(
    table: &Table,
    mapping: &Mapping,
    dir: &Path,
    data_base: &str,
) -> Result<Clean, Box<Problem>> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let dataset = &mapping.dataset;
    let csv_name = format!("{dataset}.csv");
    let meta_name = format!("{dataset}.csv-metadata.json");
    let csv = dir.join(&csv_name);
    let metadata = dir.join(&meta_name);
    table
        .write_csv(std::io::BufWriter::new(
            std::fs::File::create(&csv).map_err(|e| io_error(&csv, e))?,
        ))
        .map_err(|e| io_error(&csv, e))?;
    let doc = mapping.clean_metadata(&csv_name);
    std::fs::write(
        &metadata,
        serde_json::to_vec_pretty(&doc).map_err(|e| fail("io", e.to_string()))?,
    )
    .map_err(|e| io_error(&metadata, e))?;
    let base = Url::parse(data_base).map_err(|e| fail("base-iri", format!("{data_base}: {e}")))?;
    let metadata_url = base
        .join(&meta_name)
        .map_err(|e| fail("base-iri", e.to_string()))?;
    Ok(Clean {
        csv,
        metadata,
        metadata_url,
        fetcher: WebFetcher::new(None).with_folder(base, dir.to_path_buf()),
    })
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

/// Where a validation's triples go.
pub enum Output<'a> {
    /// Into this N-Triples file (the one a publish loads).
    File(&'a Path),
    /// Into this sink, as csv2rdf makes them (a check's preview: nothing written, nothing
    /// read back).
    Sink(&'a mut (dyn csvw::rdf::TripleSink + Send)),
}

/// Validates the clean table against its metadata and converts it into `out` in the same
/// pass. Diagnostics go to the report, pointed back at the source. `true`: valid (and
/// converted); on `false` no N-Triples file is left.
pub fn validate_and_convert(
    clean: &Clean,
    table: &Table,
    mapping: &Mapping,
    file: &str,
    out: Output<'_>,
    report: &mut Report,
) -> Result<bool, Box<Problem>> {
    let url = &clean.metadata_url;
    let options = options(Some(url.clone()));
    let ntriples = match &out {
        Output::File(nt) => Some(*nt),
        Output::Sink(_) => None,
    };
    let result = match out {
        Output::File(nt) => match to_ntriples(url, &clean.fetcher, options, nt) {
            Err(ConvertError::Io(e)) => return Err(fail("convert", e)),
            Err(ConvertError::Table(e)) => Err(e.to_string()),
            Ok(r) => Ok(r),
        },
        Output::Sink(sink) => {
            let options = csvw::Options {
                validate: true,
                ..options
            };
            csvw::to_rdf(url, &clean.fetcher, options, true, sink).map_err(|e| e.to_string())
        }
    };
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
    let valid = !report.has_errors();
    if !valid {
        if let Some(nt) = ntriples {
            let _ = std::fs::remove_file(nt);
        }
    }
    Ok(valid)
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

    /// A disk that fills while the triples are written is the run's failure, not the
    /// table's: `ConvertError::Io`, naming the file (a `Table` error would block the run and
    /// mark the source as processed, so the next run would skip it as unchanged).
    #[test]
    fn a_full_disk_while_converting_is_an_output_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("id,name\n");
        for i in 0..2000 {
            csv.push_str(&format!("{i},supplier number {i}\n"));
        }
        std::fs::write(dir.path().join("t.csv"), csv).unwrap();
        std::fs::write(
            dir.path().join("t.csv-metadata.json"),
            r#"{"@context": "http://www.w3.org/ns/csvw", "url": "t.csv",
                "tableSchema": {"aboutUrl": "{#id}", "columns": [
                  {"name": "id", "titles": "id", "datatype": "integer"},
                  {"name": "name", "titles": "name"}]}}"#,
        )
        .unwrap();
        let base = Url::parse("http://example.org/data/").unwrap();
        let fetcher = WebFetcher::new(None).with_folder(base.clone(), dir.path().to_path_buf());
        let url = base.join("t.csv-metadata.json").unwrap();
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
