//! # csvw — W3C CSV on the Web
//!
//! An implementation of the four W3C Recommendations of 17 December 2015:
//! *Model for Tabular Data and Metadata on the Web*, *Metadata Vocabulary for Tabular Data*,
//! *Generating RDF from Tabular Data on the Web* and *Generating JSON from Tabular Data on the
//! Web*.
//!
//! The crate holds no network or file-system code: everything it reads comes through a
//! [`Fetcher`]. Processing streams row by row; memory is bounded by key indexes (primary and
//! foreign keys), never by the size of a table.
//!
//! ```
//! use csvw::{fetch::{Fetcher, Resource}, Options};
//! struct One;
//! impl Fetcher for One {
//!     fn fetch(&self, url: &url::Url) -> Result<Option<Resource>, String> {
//!         Ok((url.path() == "/data.csv")
//!             .then(|| Resource::from_bytes(b"name,amount\nAcme,12.50\n".to_vec())))
//!     }
//! }
//! let url = url::Url::parse("http://example.org/data.csv").unwrap();
//! let mut triples = Vec::new();
//! let report = csvw::to_rdf(&url, &One, Options::default(), true, &mut triples).unwrap();
//! assert_eq!(triples.len(), 2);
//! assert!(!report.has_errors());
//! ```

pub mod context;
pub mod datatype;
pub mod diag;
pub mod dialect;
pub mod fetch;
pub mod json;
pub mod metadata;
pub mod rdf;
pub mod table;
mod threaded;
pub mod uritemplate;

pub use diag::{Diagnostic, Error, Report, Result, Severity};
pub use fetch::Fetcher;
pub use table::Options;

use table::{Processor, Sink};
use url::Url;

fn run(url: &Url, fetcher: &dyn Fetcher, options: Options, sink: &mut dyn Sink) -> Result<Report> {
    let mut p = Processor::new(fetcher, options);
    let group = p.locate(url)?;
    p.process(&group, sink)?;
    Ok(p.report)
}

/// Reads the metadata document at `url` (through `fetcher`) into its normalised table group,
/// reading no table: for callers that need the columns a document describes (names, titles,
/// datatypes) as the standard resolves them. Warnings are in the returned report.
pub fn metadata(url: &Url, fetcher: &dyn Fetcher) -> Result<(metadata::TableGroup, Report)> {
    let mut p = Processor::new(
        fetcher,
        Options {
            metadata: Some(url.clone()),
            ..Options::default()
        },
    );
    let group = p.locate(url)?;
    Ok((group, p.report))
}

/// Converts tabular data to RDF (csv2rdf), sending triples to `out`.
///
/// `url` is a CSV file or a metadata document. Cell errors are reported as warnings in the
/// returned report (or errors when `options.validate` is set); invalid metadata is an `Err`.
pub fn to_rdf(
    url: &Url,
    fetcher: &dyn Fetcher,
    options: Options,
    minimal: bool,
    out: &mut (dyn rdf::TripleSink + Send),
) -> Result<Report> {
    let mut conv = rdf::RdfConverter::new(out, minimal);
    let mut report = if threaded::worthwhile() {
        // Reading and parsing on this thread, generating and writing triples on another.
        let mut p = Processor::new(fetcher, options);
        let group = p.locate(url)?;
        threaded::process(&mut p, &group, &mut conv, true)?;
        p.report
    } else {
        run(url, fetcher, options, &mut conv)?
    };
    for d in conv.problems.drain(..) {
        report.push(d);
    }
    Ok(report)
}

/// Converts tabular data to JSON (csv2json), writing the document to `out`.
pub fn to_json<W: std::io::Write>(
    url: &Url,
    fetcher: &dyn Fetcher,
    options: Options,
    minimal: bool,
    pretty: bool,
    out: W,
) -> Result<Report> {
    let mut conv = json::JsonConverter::new(out, minimal, pretty);
    run(url, fetcher, options, &mut conv)
}

/// Validates tabular data against its metadata; every problem is in the report.
pub fn validate(url: &Url, fetcher: &dyn Fetcher, options: Options) -> Result<Report> {
    struct Nothing;
    impl Sink for Nothing {
        fn start_group(&mut self, _: &metadata::TableGroup) -> Result<()> {
            Ok(())
        }
        fn start_table(&mut self, _: &table::AnnotatedTable<'_>) -> Result<()> {
            Ok(())
        }
        fn row(&mut self, _: &table::AnnotatedTable<'_>, _: &table::Row) -> Result<()> {
            Ok(())
        }
        fn end_table(&mut self, _: &table::AnnotatedTable<'_>) -> Result<()> {
            Ok(())
        }
        fn end_group(&mut self, _: &metadata::TableGroup) -> Result<()> {
            Ok(())
        }
    }
    let options = Options {
        validate: true,
        ..options
    };
    let mut p = Processor::new(fetcher, options);
    let group = p.locate(url)?;
    // Nothing here reads a cell's URLs, and an URL that is not a valid IRI is a warning of
    // the conversion, not of validation: the templates are left unexpanded.
    if threaded::worthwhile() {
        // Reading on this thread; parsing the cells no key reads on another.
        threaded::process(&mut p, &group, &mut Nothing, false)?;
    } else {
        p.defer_urls = true;
        p.process(&group, &mut Nothing)?;
    }
    Ok(p.report)
}
