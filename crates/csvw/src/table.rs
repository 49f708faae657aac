//! From a URL to annotated rows: locating metadata (tabular-data-model §5), embedded metadata
//! and compatibility (§6.1–6.2), parsing cells (§6.4), and validating keys (§6.6).

use crate::context::{expand_prefixed, RDF, XSD};
use crate::datatype::{Base, Format};
use crate::diag::{Deferred, Diagnostic, Error, Report, Result};
use crate::dialect::{Line, RowReader};
use crate::fetch::{parse_link_headers, read_to_vec, Fetcher, Resource};
use crate::metadata::{self, encode_name, Column, Table, TableGroup, METADATA_LIMIT};
use crate::uritemplate::Var;
use std::collections::HashMap;
use std::sync::Arc;
use url::Url;

/// The maps a row looks things up in (column names, URL memos): keyed by short strings and
/// addresses, hashed with foldhash (seeded per map, as SipHash is) rather than SipHash, which
/// cost the writing thread a few percent.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Processing options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Validating: incompatible metadata and data errors are errors, not warnings.
    pub validate: bool,
    /// Overriding (user-supplied) metadata.
    pub metadata: Option<Url>,
    /// At most this many diagnostics are kept (0: no limit).
    pub diagnostic_limit: usize,
    /// Set as soon as the first error is found, while processing goes on to find the rest:
    /// a caller whose output is only of use from a valid table (a load that will be given
    /// up) can stop using it there.
    pub error_seen: Option<Arc<std::sync::atomic::AtomicBool>>,
}

/// One value of a cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// The lexical form in the value's datatype.
    pub lexical: String,
    pub kind: ValueKind,
}

impl Value {
    /// An empty string without a language: a value to be made in place.
    fn empty() -> Self {
        Value {
            lexical: String::new(),
            kind: ValueKind::String(None),
        }
    }
}

/// How a value is typed.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// A string, with a language if it has one (`rdf:langString`), else `xsd:string`.
    String(Option<Arc<str>>),
    /// A value of the column's datatype.
    Typed {
        iri: Arc<str>,
        base: Base,
        boolean: Option<bool>,
    },
}

/// The value of a cell.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum CellValue {
    #[default]
    Null,
    One(Value),
    List(Vec<Value>),
}

/// A cell of an annotated row.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub raw: String,
    pub value: CellValue,
    /// Where the cell's about, property and value URLs are, once expanded: read them with
    /// [`AnnotatedTable::url`].
    pub(crate) urls: [UrlSlot; 3],
    /// The URLs above that are not valid IRIs (bits: 1 about, 2 property, 4 value).
    pub invalid_urls: u8,
    /// Only `raw` is set: the value is left to the receiving thread to parse (see
    /// [`Row::parse_pending`]); `value` still holds an older row's, its buffers to reuse.
    pub(crate) pending: bool,
}

/// Where a cell's expanded URL is. A URL is stored once, however many cells have it: a
/// template without variables in the table, once for every row; any other in the row, once
/// for all its cells that share the template. Counting references per cell instead (an `Arc`
/// each) cost the two threads an atomic write for each, on counts both of them wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum UrlSlot {
    /// No template.
    #[default]
    None,
    /// The column's template without variables ([`AnnotatedTable::constant_urls`]).
    Table,
    /// The row's URL of this index ([`Row::urls`]).
    Row(u32),
}

/// An annotated row.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub number: u64,
    pub source_number: u64,
    pub cells: Vec<Cell>,
    /// Row titles, with their languages.
    pub titles: Vec<(String, Option<Arc<str>>)>,
    /// The cells' URLs are set (they may be left to the receiving thread).
    pub(crate) urls_filled: bool,
    /// The row's expanded URLs (valid or not), for the cells' [`UrlSlot::Row`].
    pub(crate) urls: RowUrls,
    /// Some cells are [`Cell::pending`]: a sink sees a row only once they are parsed
    /// ([`parse_pending`]).
    pub(crate) parse_pending: bool,
    /// Where the problems of the pending cells go in the report: how many diagnostics had
    /// been pushed when the row was read ([`Report::pushed`]).
    pub(crate) report_at: u64,
}

/// A row's expanded URLs, one after another in one text kept from row to row: a row
/// allocates nothing for them, and no count is shared between the threads that read them.
#[derive(Debug, Clone, Default)]
pub(crate) struct RowUrls {
    text: String,
    /// Where each URL ends in `text` (it starts where the one before ends).
    ends: Vec<usize>,
}

impl RowUrls {
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// The `k`th URL.
    fn get(&self, k: usize) -> Option<&str> {
        let end = *self.ends.get(k)?;
        let start = match k {
            0 => 0,
            _ => self.ends[k - 1],
        };
        self.text.get(start..end)
    }

    /// Ends the URL written to `text` since the last one; its slot.
    fn finish(&mut self) -> UrlSlot {
        self.ends.push(self.text.len());
        UrlSlot::Row(self.ends.len() as u32 - 1)
    }

    fn push(&mut self, url: &str) -> UrlSlot {
        self.text.push_str(url);
        self.finish()
    }
}

/// A table as being processed: its description and its resolved columns.
#[derive(Clone)]
pub struct AnnotatedTable<'a> {
    pub table: &'a Table,
    pub columns: Vec<Column>,
    /// `url#name` for each column: the default property.
    pub default_properties: Vec<String>,
    /// Comments found in the file (skipped rows, comment lines).
    pub comments: Vec<String>,
    by_name: FastMap<String, usize>,
    /// The table URL, parsed once, for resolving expanded templates.
    base: Option<oxiri::Iri<String>>,
    datatype_iris: Vec<Arc<str>>,
    langs: Vec<Option<Arc<str>>>,
    /// Each column's aboutUrl, propertyUrl and valueUrl when its template uses no variable:
    /// expanded and resolved once for the table (`Err`: not a valid IRI).
    constant_urls: Vec<[Option<Resolved>; 3]>,
}

/// An expanded, resolved URL; `Err` holds the string when it is not a valid IRI.
type Resolved = Result<Arc<str>, Arc<str>>;

/// Receives the annotated tables, row by row.
pub trait Sink {
    fn start_group(&mut self, group: &TableGroup) -> Result<()>;
    fn start_table(&mut self, table: &AnnotatedTable<'_>) -> Result<()>;
    fn row(&mut self, table: &AnnotatedTable<'_>, row: &Row) -> Result<()>;
    /// [`Sink::row`], for a sink that may keep the row: the processor hands each row over
    /// once, and fills the row it gets back again for a later row (saving its allocations).
    fn take_row(&mut self, table: &AnnotatedTable<'_>, row: Row) -> Result<Option<Row>> {
        self.row(table, &row)?;
        Ok(Some(row))
    }
    /// A row the sink is done with, for the processor to fill again (saving allocations).
    fn spare_row(&mut self) -> Option<Row> {
        None
    }
    /// Called after the last row, with comments found anywhere in the file.
    fn end_table(&mut self, table: &AnnotatedTable<'_>) -> Result<()>;
    fn end_group(&mut self, group: &TableGroup) -> Result<()>;
}

/// Turns URLs into annotated tables.
pub struct Processor<'a> {
    pub fetcher: &'a dyn Fetcher,
    pub options: Options,
    pub report: Report,
    /// The current table's URL templates, expanded here unless [`Processor::defer_urls`].
    urls: UrlTemplates,
    /// Leave the rows' URLs unexpanded: whoever receives the rows expands them with a
    /// [`UrlTemplates`] of its own (csv2rdf does, on its writer's thread).
    pub(crate) defer_urls: bool,
    /// Set when the rows go to another thread, which parses the cells this one leaves
    /// ([`Cell::pending`]); the flag says that thread is behind. While it is not, only the
    /// cells the keys and row titles read are parsed here: the rest is left to it.
    pub(crate) writer_behind: Option<Arc<std::sync::atomic::AtomicBool>>,
}

/// A cell's about, property and value URLs, and which of them are invalid (bits 0, 1, 2).
type CellUrls = ([UrlSlot; 3], u8);

/// Expands a table's URL templates for its rows (csv2rdf §4.2, tabular-metadata §5.1.3),
/// remembering recent resolutions (see [`UrlMemo`]). Begin each table with [`UrlTemplates::clear`].
#[derive(Default)]
pub(crate) struct UrlTemplates {
    /// Keyed by template address: valid for one table's templates only.
    memo: FastMap<usize, UrlMemo>,
    /// A row's URLs while they are expanded, and the templates shared by its columns:
    /// buffers kept from row to row.
    urls: Vec<CellUrls>,
    /// By template address, as in `memo`: the row's URL each expanded to, and whether it
    /// is invalid.
    shared: Vec<(usize, u32, bool)>,
}

/// What one URL template resolved to for recent inputs. Expanding a template and resolving
/// the result against the table's URL is most of the cost of a cell, and in council data the
/// same inputs come back row after row (a council, a month, a supplier). A template with one
/// variable is looked up by that variable's value, skipping the expansion too; others by
/// their expansion. A template whose inputs almost never repeat (a row's own key: fewer than
/// one in sixteen) stops being memoised after its first 4,096 rows.
#[derive(Default)]
struct UrlMemo {
    /// The template's one variable, when it has exactly one.
    single: Option<String>,
    known: FastMap<Box<str>, Resolved>,
    /// The key being looked up (kept to reuse its allocation).
    key: String,
    lookups: u64,
    hits: u64,
    off: bool,
    /// Set when the template resolves to its own expansion (see [`Direct`]).
    direct: Option<Direct>,
    /// The template uses `_column`, `_sourceColumn` or `_name`: expanded for each column,
    /// never remembered.
    column_variables: bool,
}

/// A template `prefix{var}suffix` (or `prefix{+var}suffix`) whose resolved IRI, for every
/// value that expands to something other than dots, is a fixed text, the expanded value and
/// another fixed text: the expanded value (unreserved characters and `%XX` only, never a
/// `/`, `?`, `#` or `:`) lands in the path, query or fragment, past the scheme and any
/// authority. Two probe values show where it lands and that the rest does not depend on it;
/// a value could only change that by making its path segment `.` or `..`, which resolution
/// may remove, or by a colon in the reference's first segment (a scheme, a CSVW prefix):
/// values of dots go the general way, and so does a template whose first segment holds the
/// value and a colon after it. For `{+var}` only values of unreserved characters and `/`s
/// between pieces that are neither empty nor dots go this way (each piece then a path
/// segment of its own, or text in a query or fragment; without a `/` the value expands as
/// `{var}` would). Checked once per table; the rows then skip the expansion machinery and
/// the resolution.
struct Direct {
    /// The resolved IRI's text before and after the value.
    prefix: String,
    var: String,
    suffix: String,
    /// `{+var}`: only values of unreserved characters and `/`s (between pieces neither empty
    /// nor dots) go the direct way.
    reserved: bool,
}

impl UrlMemo {
    const MAX: usize = 16_384;

    fn new(t: &crate::uritemplate::UriTemplate, at: &AnnotatedTable<'_>) -> Self {
        let mut names = t.variables();
        let single = match (names.next(), names.next()) {
            (Some(one), None) => Some(one.to_string()),
            _ => None,
        };
        UrlMemo {
            single,
            direct: at.direct(t),
            column_variables: t.uses_column_variables(),
            ..UrlMemo::default()
        }
    }
}

fn fetch_err(url: &Url, message: impl Into<String>) -> Error {
    Error::Fetch {
        url: url.to_string(),
        message: message.into(),
    }
}

/// Compares URLs after syntax-based normalization (tabular-data-model §6.3).
fn same_url(a: &Url, b: &Url) -> bool {
    let strip = |u: &Url| {
        let mut u = u.clone();
        u.set_fragment(None);
        u
    };
    strip(a) == strip(b)
}

impl<'a> Processor<'a> {
    pub fn new(fetcher: &'a dyn Fetcher, options: Options) -> Self {
        let report = Report {
            limit: options.diagnostic_limit,
            error_seen: options.error_seen.clone(),
            ..Report::default()
        };
        Processor {
            fetcher,
            options,
            report,
            urls: UrlTemplates::default(),
            defer_urls: false,
            writer_behind: None,
        }
    }

    fn fetch(&self, url: &Url) -> Result<Option<Resource>> {
        self.fetcher.fetch(url).map_err(|m| fetch_err(url, m))
    }

    fn load_metadata(&mut self, url: &Url) -> Result<Option<TableGroup>> {
        let Some(res) = self.fetch(url)? else {
            return Ok(None);
        };
        let bytes =
            read_to_vec(res.body, METADATA_LIMIT).map_err(|e| fetch_err(url, e.to_string()))?;
        metadata::parse_document(self.fetcher, &mut self.report, url, &bytes).map(Some)
    }

    /// Is `url` most likely a metadata document rather than tabular data?
    pub fn looks_like_metadata(url: &Url) -> bool {
        let p = url.path();
        p.ends_with(".json") || p.ends_with(".jsonld")
    }

    /// Finds the table group for a starting URL (a metadata document or a CSV file).
    pub fn locate(&mut self, url: &Url) -> Result<TableGroup> {
        if let Some(m) = self.options.metadata.clone() {
            return self
                .load_metadata(&m)?
                .ok_or_else(|| fetch_err(&m, "the metadata was not found"));
        }
        if Self::looks_like_metadata(url) {
            return self
                .load_metadata(url)?
                .ok_or_else(|| fetch_err(url, "the metadata was not found"));
        }
        let res = self
            .fetch(url)?
            .ok_or_else(|| fetch_err(url, "the file was not found"))?;
        // Link headers: the last describedby link wins.
        let links = parse_link_headers(&res.links);
        drop(res);
        let described: Vec<&(String, String, Option<String>)> = links
            .iter()
            .filter(|(_, rel, ty)| {
                rel.split_whitespace().any(|r| r == "describedby")
                    && ty.as_deref().is_none_or(|t| {
                        matches!(
                            t,
                            "application/csvm+json" | "application/ld+json" | "application/json"
                        )
                    })
            })
            .collect();
        if let Some((target, _, _)) = described.last() {
            let murl = url
                .join(target)
                .map_err(|e| fetch_err(url, e.to_string()))?;
            if let Some(g) = self.load_metadata(&murl)? {
                if g.tables.iter().any(|t| same_url(&t.url, url)) {
                    return Ok(g);
                }
                self.report.push(
                    Diagnostic::warning(
                        "metadata",
                        format!("the linked metadata {murl} does not describe this file; ignored"),
                    )
                    .file(url.to_string()),
                );
            }
        }
        // Site-wide configuration, or the default locations.
        let mut templates = vec![
            "{+url}-metadata.json".to_string(),
            "csv-metadata.json".to_string(),
        ];
        if let Ok(wk) = url.join("/.well-known/csvm") {
            match self.fetch(&wk) {
                Ok(Some(res)) => {
                    let bytes = read_to_vec(res.body, METADATA_LIMIT)
                        .map_err(|e| fetch_err(&wk, e.to_string()))?;
                    templates = String::from_utf8_lossy(&bytes)
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(String::from)
                        .collect();
                }
                Ok(None) => {}
                // A site that cannot be reached has no configuration to be found (§5.3: the
                // default locations are used then); said, not fatal: a local file processed
                // as if published there, before the site is up, is still processed.
                Err(e) => self.report.push(
                    Diagnostic::warning(
                        "site-wide-configuration",
                        format!("{e}; the default metadata locations are used"),
                    )
                    .file(url.to_string()),
                ),
            }
        }
        let mut plain = url.clone();
        plain.set_fragment(None);
        for t in templates {
            let Ok(tpl) = crate::uritemplate::UriTemplate::parse(&t) else {
                continue;
            };
            let expanded = tpl.expand(|n| {
                if n == "url" {
                    Var::Str(plain.as_str().into())
                } else {
                    Var::Undefined
                }
            });
            let Ok(murl) = url.join(&expanded) else {
                continue;
            };
            match self.load_metadata(&murl) {
                Ok(Some(g)) => {
                    if g.tables.iter().any(|t| same_url(&t.url, url)) {
                        return Ok(g);
                    }
                    self.report.push(
                        Diagnostic::warning(
                            "metadata",
                            format!("the metadata {murl} does not describe this file; ignored"),
                        )
                        .file(url.to_string()),
                    );
                }
                Ok(None) => {}
                // Not JSON at all: no metadata document is there (a static server may
                // answer `file.csv?x-metadata.json` with the CSV itself).
                Err(Error::Invalid(d)) if d.rule == "json" => {}
                Err(Error::Invalid(d)) => {
                    // Found but unusable: say so and go on looking.
                    self.report.push(Diagnostic {
                        severity: crate::diag::Severity::Warning,
                        ..*d
                    });
                }
                Err(e) => return Err(e),
            }
        }
        // Embedded metadata only.
        let mut g = Map::new();
        g.insert(
            "@context".into(),
            serde_json::Value::String("http://www.w3.org/ns/csvw".into()),
        );
        g.insert("url".into(), serde_json::Value::String(url.to_string()));
        let bytes = serde_json::to_vec(&serde_json::Value::Object(g)).unwrap_or_default();
        let mut group = metadata::parse_document(self.fetcher, &mut self.report, url, &bytes)?;
        group.metadata_url = None;
        Ok(group)
    }

    /// Processes every table of the group, sending annotated rows to `sink`.
    pub fn process(&mut self, group: &TableGroup, sink: &mut dyn Sink) -> Result<()> {
        sink.start_group(group)?;
        let mut keys = KeyCheck::new(group, self.options.validate);
        for (ti, table) in group.tables.iter().enumerate() {
            self.process_table(group, ti, table, sink, &mut keys)?;
        }
        keys.finish(group, self)?;
        sink.end_group(group)
    }

    fn data_diag(&mut self, d: Diagnostic) {
        let d = if self.options.validate {
            d
        } else {
            Diagnostic {
                severity: crate::diag::Severity::Warning,
                ..d
            }
        };
        self.report.push(d);
    }

    fn process_table(
        &mut self,
        group: &TableGroup,
        ti: usize,
        table: &Table,
        sink: &mut dyn Sink,
        keys: &mut KeyCheck,
    ) -> Result<()> {
        let file = table.url.to_string();
        self.urls.clear();
        let res = self
            .fetch(&table.url)?
            .ok_or_else(|| fetch_err(&table.url, "the table's file was not found"))?;
        let mut dialect = table.dialect.clone();
        if !table.dialect_given {
            if let Some(ct) = &res.content_type {
                let lower = ct.to_ascii_lowercase();
                if lower.starts_with("text/tab-separated-values") {
                    dialect.delimiter = "\t".into();
                }
                for param in lower.split(';').skip(1) {
                    match param.trim().split_once('=') {
                        Some(("header", "absent")) => dialect.header_row_count = 0,
                        Some(("charset", cs)) => {
                            dialect.encoding = cs.trim_matches('"').to_string()
                        }
                        _ => {}
                    }
                }
            }
        }
        let mut reader = RowReader::new(res.body, &dialect);
        let io = |e: std::io::Error| fetch_err(&table.url, e.to_string());
        let mut source_row: u64 = 0;
        let mut comments = Vec::new();
        for _ in 0..dialect.skip_rows {
            let Some(content) = reader.read_raw().map_err(io)? else {
                break;
            };
            source_row += 1;
            let prefix = dialect.comment_prefix.as_deref().filter(|p| !p.is_empty());
            match prefix.and_then(|p| content.strip_prefix(p)) {
                Some(c) => comments.push(c.trim().to_string()),
                None if !content.is_empty() => comments.push(content),
                None => {}
            }
        }
        // Header rows: the embedded metadata's titles.
        let mut embedded: Vec<Vec<String>> = Vec::new();
        let mut first_row: Option<(u64, Vec<String>)> = None;
        let mut header_rows = 0;
        while header_rows < dialect.header_row_count {
            let Some(line) = reader.next_line().map_err(io)? else {
                break;
            };
            source_row += 1;
            match line {
                Line::Comment(c) => comments.push(c),
                Line::Row(cells) => {
                    header_rows += 1;
                    for (i, v) in cells.into_iter().skip(dialect.skip_columns).enumerate() {
                        if embedded.len() <= i {
                            embedded.resize(i + 1, Vec::new());
                        }
                        if !v.trim().is_empty() {
                            embedded[i].push(v);
                        }
                    }
                }
            }
        }
        let described = &table.schema.columns;
        let embedded_count = if dialect.header_row_count == 0 {
            // Without a header, the first data row says how many columns there are.
            loop {
                match reader.next_line().map_err(io)? {
                    None => break 0,
                    Some(Line::Comment(c)) => {
                        source_row += 1;
                        comments.push(c);
                    }
                    Some(Line::Row(cells)) => {
                        source_row += 1;
                        let n = cells.len().saturating_sub(dialect.skip_columns);
                        first_row = Some((source_row, cells));
                        break n;
                    }
                }
            }
        } else {
            embedded.len()
        };
        // Columns: described ones, then undescribed ones as the data needs.
        let mut columns: Vec<Column> = Vec::new();
        if table.schema.columns_given || group.metadata_url.is_some() {
            self.check_compatibility(table, &embedded, embedded_count, &dialect)?;
            columns = described.clone();
        } else {
            for i in 0..embedded_count {
                let mut c = Column::undescribed(i + 1, &table.inherited, &table.table_direction);
                if let Some(title) = embedded.get(i).and_then(|t| t.first()) {
                    c.name = encode_name(title);
                    c.titles = embedded[i]
                        .iter()
                        .map(|t| ("und".to_string(), t.clone()))
                        .collect();
                }
                columns.push(c);
            }
        }
        let mut at = AnnotatedTable::new(table, columns, comments);
        // The cells this thread must parse itself even when the rest is left to the writer's:
        // those the keys and the row titles read.
        let mut read_here = vec![false; at.columns.len()];
        for i in keys.columns_read(ti, &table.schema) {
            if let Some(r) = read_here.get_mut(i) {
                *r = true;
            }
        }
        for &i in &table.schema.row_titles {
            if let Some(r) = read_here.get_mut(i) {
                *r = true;
            }
        }
        sink.start_table(&at)?;
        let mut row_number: u64 = 0;
        // The row the sink gave back, to be filled again.
        let mut returned: Option<Row> = None;
        // The columns that take a cell (not virtual); ragged rows may add some.
        let mut n_real = at.columns.iter().filter(|c| !c.virtual_).count();
        loop {
            let (src, cells) = match first_row.take() {
                Some(r) => r,
                None => match reader.next_line().map_err(io)? {
                    None => break,
                    Some(Line::Comment(c)) => {
                        source_row += 1;
                        at.comments.push(c);
                        continue;
                    }
                    Some(Line::Row(cells)) => {
                        source_row += 1;
                        (source_row, cells)
                    }
                },
            };
            if dialect.skip_blank_rows && cells.iter().all(String::is_empty) {
                continue;
            }
            row_number += 1;
            let mut cells = cells;
            cells.drain(..dialect.skip_columns.min(cells.len()));
            let expected = n_real;
            if cells.len() != expected && expected > 0 {
                // Ragged: kept, never padded silently.
                let what = if cells.len() < expected {
                    "missing cells are read as empty"
                } else {
                    "extra cells get columns of their own"
                };
                self.report.push(
                    Diagnostic::warning(
                        "ragged",
                        format!(
                            "the row has {} cells but the table has {expected} columns; {what}",
                            cells.len()
                        ),
                    )
                    .file(file.clone())
                    .row(src),
                );
            }
            // Undescribed columns get names _col.N.
            while n_real < cells.len() {
                let col = Column::undescribed(n_real + 1, &table.inherited, &table.table_direction);
                at.insert_column(n_real, col);
                n_real += 1;
            }
            let row = sink
                .spare_row()
                .or_else(|| returned.take())
                .unwrap_or_default();
            let leave = match &self.writer_behind {
                Some(behind) if !behind.load(std::sync::atomic::Ordering::Relaxed) => {
                    Some(read_here.as_slice())
                }
                _ => None,
            };
            let row = self.annotate_row(&at, row_number, src, &mut cells, &file, row, leave);
            reader.recycle(cells);
            keys.row(ti, &at, &row, self);
            returned = sink.take_row(&at, row)?;
        }
        if reader.had_replacements {
            self.report.push(
                Diagnostic::warning(
                    "encoding",
                    format!(
                        "some bytes are not valid {}; they were replaced with U+FFFD",
                        dialect.encoding
                    ),
                )
                .file(file.clone()),
            );
        }
        sink.end_table(&at)
    }

    fn check_compatibility(
        &mut self,
        table: &Table,
        embedded: &[Vec<String>],
        embedded_count: usize,
        dialect: &crate::dialect::Dialect,
    ) -> Result<()> {
        let real: Vec<&Column> = table
            .schema
            .columns
            .iter()
            .filter(|c| !c.virtual_)
            .collect();
        let mut problem = None;
        if dialect.header_row_count > 0 && real.len() != embedded_count {
            problem = Some(format!(
                "the metadata describes {} columns but the file has {}",
                real.len(),
                embedded_count
            ));
        } else if dialect.header_row_count > 0 {
            for (i, col) in real.iter().enumerate() {
                let titles = embedded.get(i).cloned().unwrap_or_default();
                if titles.is_empty() || (col.titles.is_empty() && !col.name_given) {
                    continue;
                }
                if col.titles.is_empty() {
                    // A name against a title: compatible only when not validating.
                    if self.options.validate {
                        problem = Some(format!(
                            "column {} is named {:?} in the metadata and has no titles to match the file's {:?}",
                            i + 1,
                            col.name,
                            titles[0]
                        ));
                        break;
                    }
                    continue;
                }
                // The file's titles are in the column's language.
                let lang = col.props.lang.as_str();
                let ok = col
                    .titles
                    .iter()
                    .any(|(l, t)| titles.contains(t) && languages_match(l, lang));
                if !ok {
                    problem = Some(format!(
                        "column {} has titles {:?} in the metadata but {:?} in the file",
                        i + 1,
                        col.titles
                            .iter()
                            .map(|(_, t)| t.as_str())
                            .collect::<Vec<_>>(),
                        titles[0]
                    ));
                    break;
                }
            }
        }
        if let Some(msg) = problem {
            let d = Diagnostic::error("compatibility", msg).file(table.url.to_string());
            if self.options.validate {
                self.report.push(d);
            } else {
                self.report.push(Diagnostic {
                    severity: crate::diag::Severity::Warning,
                    ..d
                });
            }
        }
        Ok(())
    }

    /// Parses the row's cells into `row` (a spare one, whose buffers are reused): each cell
    /// takes its string from `raw`, leaving the cell's old string in its place.
    #[allow(clippy::too_many_arguments)]
    fn annotate_row(
        &mut self,
        at: &AnnotatedTable<'_>,
        number: u64,
        source_number: u64,
        raw: &mut [String],
        file: &str,
        mut row: Row,
        leave: Option<&[bool]>,
    ) -> Row {
        let n = at.columns.len();
        row.cells.truncate(n);
        row.cells.reserve_exact(n - row.cells.len());
        let report_at = self.report.pushed();
        // The row's problems, with their columns, pushed once it is read.
        let mut found: Vec<(usize, (&'static str, String))> = Vec::new();
        let mut pending = false;
        let mut errors = Vec::new();
        let mut raw = raw.iter_mut();
        for (i, col) in at.columns.iter().enumerate() {
            if row.cells.len() <= i {
                row.cells.push(Cell::default());
            }
            let cell = &mut row.cells[i];
            cell.raw.clear();
            if !col.virtual_ {
                if let Some(s) = raw.next() {
                    std::mem::swap(&mut cell.raw, s);
                }
            }
            cell.urls = [UrlSlot::None; 3];
            cell.invalid_urls = 0;
            cell.pending = leave.is_some_and(|read| !read.get(i).copied().unwrap_or(false));
            if cell.pending {
                pending = true;
                continue;
            }
            parse_cell_of(at, i, cell, &mut errors);
            found.extend(errors.drain(..).map(|e| (i, e)));
        }
        // A problem in a cell parsed here: the whole row is parsed here, so that its problems
        // are pushed in column order as on one thread (and the writer has none to find).
        if pending && !found.is_empty() {
            for (i, cell) in row.cells.iter_mut().enumerate() {
                if cell.pending {
                    cell.pending = false;
                    parse_cell_of(at, i, cell, &mut errors);
                    found.extend(errors.drain(..).map(|e| (i, e)));
                }
            }
            found.sort_by_key(|(i, _)| *i);
            pending = false;
        }
        for (i, (rule, msg)) in found {
            let d = cell_problem(at, i, &row.cells[i].raw, file, source_number, rule, msg);
            self.data_diag(d);
        }
        row.parse_pending = pending;
        row.report_at = report_at;
        let cells = &row.cells;
        let titles = at
            .table
            .schema
            .row_titles
            .iter()
            .filter_map(|&i| {
                let lang = at.langs.get(i).cloned().flatten();
                match &cells.get(i)?.value {
                    CellValue::One(v) => Some(vec![(v.lexical.clone(), lang)]),
                    CellValue::List(vs) => Some(
                        vs.iter()
                            .map(|v| (v.lexical.clone(), lang.clone()))
                            .collect(),
                    ),
                    CellValue::Null => None,
                }
            })
            .flatten()
            .collect();
        row.number = number;
        row.source_number = source_number;
        row.titles = titles;
        row.urls_filled = false;
        if !self.defer_urls {
            self.urls.fill(at, &mut row);
        }
        row
    }
}

/// Parses cell `i` of a row from its raw text into its value; its problems to `errors`.
fn parse_cell_of(
    at: &AnnotatedTable<'_>,
    i: usize,
    cell: &mut Cell,
    errors: &mut Vec<(&'static str, String)>,
) {
    parse_cell_reusing(
        &cell.raw,
        &at.columns[i],
        &at.datatype_iris[i],
        &at.langs[i],
        &mut cell.value,
        errors,
    );
}

/// A problem of cell `i` of a row.
fn cell_problem(
    at: &AnnotatedTable<'_>,
    i: usize,
    raw: &str,
    file: &str,
    source_number: u64,
    rule: &'static str,
    message: String,
) -> Diagnostic {
    Diagnostic::error(rule, message)
        .file(file.to_string())
        .row(source_number)
        .column(at.columns[i].name.clone())
        .value(raw.to_string())
}

/// Parses the cells the reading thread left ([`Row::parse_pending`]), in column order;
/// their problems go to `found`, at the row's place in the report.
pub(crate) fn parse_pending(at: &AnnotatedTable<'_>, row: &mut Row, found: &mut Deferred) {
    if !row.parse_pending {
        return;
    }
    row.parse_pending = false;
    let mut file = None;
    let mut errors = Vec::new();
    for i in 0..row.cells.len().min(at.columns.len()) {
        let cell = &mut row.cells[i];
        if !cell.pending {
            continue;
        }
        cell.pending = false;
        parse_cell_of(at, i, cell, &mut errors);
        for (rule, msg) in errors.drain(..) {
            let file: &str = file.get_or_insert_with(|| at.table.url.to_string());
            let d = cell_problem(at, i, &cell.raw, file, row.source_number, rule, msg);
            found.push(row.report_at, d);
        }
    }
}

impl UrlTemplates {
    /// Forgets the last table's resolutions.
    pub(crate) fn clear(&mut self) {
        self.memo.clear();
    }

    /// Sets the about, property and value URLs of the row's cells.
    pub(crate) fn fill(&mut self, at: &AnnotatedTable<'_>, row: &mut Row) {
        let n = at.columns.len();
        let (number, source_number, cells) = (row.number, row.source_number, &row.cells);
        let row_urls = &mut row.urls;
        row_urls.clear();
        // URI templates see every cell of the row. A template shared by several columns
        // (an aboutUrl on the schema, say) is expanded once per row unless it uses a column
        // variable.
        let (urls, shared) = (&mut self.urls, &mut self.shared);
        urls.clear();
        urls.reserve(n);
        shared.clear();
        let memo = &mut self.memo;
        for (i, col) in at.columns.iter().enumerate() {
            let lookup =
                |name: &str| -> Var<'_> { at.variable(name, i, number, source_number, cells) };
            let mut invalid = 0u8;
            let constants = &at.constant_urls[i];
            // The usual cases (no template, one without variables, one already expanded for
            // this row) decided here; a template's first expansion in the row out of line.
            let mut expand = |t: &Option<Arc<crate::uritemplate::UriTemplate>>, k: usize| {
                let t = t.as_ref()?;
                let (slot, bad) = match &constants[k] {
                    Some(r) => (UrlSlot::Table, r.is_err()),
                    None => {
                        let key = Arc::as_ptr(t) as usize;
                        match shared.iter().find(|(p, _, _)| *p == key) {
                            Some(&(_, u, bad)) => (UrlSlot::Row(u), bad),
                            None => expand_first(memo, shared, row_urls, at, t, &lookup),
                        }
                    }
                };
                if bad {
                    invalid |= 1 << k;
                }
                Some(slot)
            };
            let about = expand(&col.props.about_url, 0).unwrap_or_default();
            let property = expand(&col.props.property_url, 1).unwrap_or_default();
            let value = if matches!(cells[i].value, CellValue::Null) && !col.virtual_ {
                UrlSlot::None
            } else {
                expand(&col.props.value_url, 2).unwrap_or_default()
            };
            urls.push(([about, property, value], invalid));
        }
        shared.clear();
        for (cell, (slots, bad)) in row.cells.iter_mut().zip(urls.drain(..)) {
            cell.urls = slots;
            cell.invalid_urls = bad;
        }
        row.urls_filled = true;
    }
}

/// Template `t`'s first expansion in a row, into the row's URLs: its slot, and whether the URL
/// is not a valid IRI. Unless it uses a column variable, the row's other cells that share it
/// find it in `shared`.
#[inline(never)]
fn expand_first<'c>(
    memo: &mut FastMap<usize, UrlMemo>,
    shared: &mut Vec<(usize, u32, bool)>,
    row_urls: &mut RowUrls,
    at: &AnnotatedTable<'_>,
    t: &Arc<crate::uritemplate::UriTemplate>,
    lookup: &impl Fn(&str) -> Var<'c>,
) -> (UrlSlot, bool) {
    let keep = |row_urls: &mut RowUrls, r: Resolved| {
        let bad = r.is_err();
        let (Ok(u) | Err(u)) = r;
        (row_urls.push(&u), bad)
    };
    let key = Arc::as_ptr(t) as usize;
    let m = memo.entry(key).or_insert_with(|| UrlMemo::new(t, at));
    if m.column_variables {
        return keep(row_urls, at.expand_and_resolve(t, lookup));
    }
    let (slot, bad) = match direct(m, lookup, row_urls) {
        Some(slot) => (slot, false),
        None => keep(row_urls, memoised(m, t, lookup, at)),
    };
    if let UrlSlot::Row(u) = slot {
        shared.push((key, u, bad));
    }
    (slot, bad)
}

/// The template of memo `m` expanded and resolved straight into the row's URLs, when it goes
/// the direct way (see [`Direct`]) for this row's value (always valid then); its slot.
fn direct<'c>(
    m: &UrlMemo,
    lookup: &impl Fn(&str) -> Var<'c>,
    row_urls: &mut RowUrls,
) -> Option<UrlSlot> {
    let d = m.direct.as_ref()?;
    let Var::Str(v) = lookup(&d.var) else {
        return None;
    };
    let out = &mut row_urls.text;
    let start = out.len();
    out.push_str(&d.prefix);
    let ok = if d.reserved {
        // `{+var}` keeps a `/`: each piece between them must be a segment of its own
        // making, not empty (`//` could start an authority) and not dots.
        let ok = plain_segments(&v);
        if ok {
            out.push_str(&v);
        }
        ok
    } else {
        crate::uritemplate::encode_unreserved(out, &v);
        out.bytes().skip(start + d.prefix.len()).any(|b| b != b'.')
    };
    if !ok {
        out.truncate(start);
        return None;
    }
    out.push_str(&d.suffix);
    Some(row_urls.finish())
}

/// Whether each piece of `v` between `/`s is made of unreserved characters, and is neither
/// empty nor dots alone. One pass over the bytes: splitting at `'/'` compared each match
/// through `memcmp` (5 % of a conversion whose row keys are `{+row_key}`).
fn plain_segments(v: &str) -> bool {
    let mut undotted = false;
    for b in v.bytes() {
        if b == b'/' {
            if !undotted {
                return false;
            }
            undotted = false;
        } else if !crate::uritemplate::UriTemplate::is_unreserved_byte(b) {
            return false;
        } else if b != b'.' {
            undotted = true;
        }
    }
    undotted
}

/// `t` expanded with `lookup` and resolved, through its memo `m`.
fn memoised<'c>(
    m: &mut UrlMemo,
    t: &crate::uritemplate::UriTemplate,
    lookup: &impl Fn(&str) -> Var<'c>,
    at: &AnnotatedTable<'_>,
) -> Resolved {
    if m.off {
        return at.expand_and_resolve(t, lookup);
    }
    m.lookups += 1;
    if m.lookups == 4_096 && m.hits * 16 < m.lookups {
        m.off = true;
        m.known = FastMap::default();
    }
    // The key says which kind of input it is, so that no two inputs share one.
    let mut expanded = None;
    let key = &mut m.key;
    key.clear();
    match &m.single {
        Some(name) => match lookup(name) {
            Var::Undefined => key.push('u'),
            Var::Str(v) => {
                key.push('s');
                key.push_str(&v);
            }
            Var::List(vs) => {
                key.push('l');
                for v in vs {
                    key.push_str(&v.len().to_string());
                    key.push(':');
                    key.push_str(&v);
                }
            }
        },
        None => {
            let e = t.expand(lookup);
            key.push('e');
            key.push_str(&e);
            expanded = Some(e);
        }
    }
    if let Some(r) = m.known.get(key.as_str()) {
        m.hits += 1;
        return r.clone();
    }
    let r = match expanded {
        Some(e) => at.resolve_shared(&e),
        None => at.expand_and_resolve(t, lookup),
    };
    if !m.off {
        if m.known.len() >= UrlMemo::MAX {
            m.known.clear();
        }
        m.known.insert(key.as_str().into(), r.clone());
    }
    r
}

use serde_json::Map;

impl<'t> AnnotatedTable<'t> {
    fn new(table: &'t Table, columns: Vec<Column>, comments: Vec<String>) -> Self {
        let mut at = AnnotatedTable {
            table,
            columns: Vec::new(),
            default_properties: Vec::new(),
            comments,
            by_name: FastMap::default(),
            base: oxiri::Iri::parse(table.url.to_string()).ok(),
            datatype_iris: Vec::new(),
            langs: Vec::new(),
            constant_urls: Vec::new(),
        };
        for c in columns {
            let n = at.columns.len();
            at.insert_column(n, c);
        }
        at
    }

    /// Cell `i`'s about (`k` 0), property (1) or value (2) URL, once the row's URLs are
    /// expanded; `None` where the column has no such template (or, for a value URL, the
    /// cell is empty). Whether it is a valid IRI is in [`Cell::invalid_urls`].
    pub fn url<'s>(&'s self, row: &'s Row, i: usize, k: usize) -> Option<&'s str> {
        match row.cells.get(i)?.urls.get(k)? {
            UrlSlot::None => None,
            UrlSlot::Table => match self.constant_urls.get(i)?.get(k)? {
                Some(Ok(u) | Err(u)) => Some(u),
                None => None,
            },
            UrlSlot::Row(u) => row.urls.get(*u as usize),
        }
    }

    /// The same table, described by `table` (an equal `Table` that lives elsewhere).
    pub(crate) fn with_table<'b>(&self, table: &'b Table) -> AnnotatedTable<'b> {
        AnnotatedTable {
            table,
            columns: self.columns.clone(),
            default_properties: self.default_properties.clone(),
            comments: self.comments.clone(),
            by_name: self.by_name.clone(),
            base: self.base.clone(),
            datatype_iris: self.datatype_iris.clone(),
            langs: self.langs.clone(),
            constant_urls: self.constant_urls.clone(),
        }
    }

    /// Expands prefixes, then resolves against the table URL (tabular-metadata §5.1.3);
    /// `Err` carries the string when it is not a valid IRI. Resolved through a buffer of this
    /// thread's, so that the only allocation is the result's.
    fn resolve_shared(&self, expanded: &str) -> Resolved {
        thread_local! {
            static RESOLVED: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        let prefixed = expand_prefixed(expanded);
        let expanded = prefixed.as_deref().unwrap_or(expanded);
        let Some(base) = &self.base else {
            return Err(Arc::from(expanded));
        };
        RESOLVED.with_borrow_mut(|out| {
            out.clear();
            match base.resolve_into(expanded, out) {
                Ok(()) => Ok(Arc::from(out.as_str())),
                Err(_) => Err(Arc::from(expanded)),
            }
        })
    }

    /// The [`Direct`] form of `t`, when it has one.
    fn direct(&self, t: &crate::uritemplate::UriTemplate) -> Option<Direct> {
        let (prefix, var, suffix, reserved) = t.single_simple()?;
        if matches!(var, "_column" | "_sourceColumn" | "_name") {
            return None;
        }
        // A value in the reference's first segment could make it a scheme or a CSVW prefix
        // with a colon there; values of the direct way have none, so only the literal text's
        // colons matter.
        let probe = |v: &str| format!("{prefix}{v}{suffix}");
        let first_segment = probe("x");
        let first_segment = first_segment
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default();
        if !prefix.contains(['/', '?', '#']) && first_segment.contains(':') {
            // Absolute (`urn:x:{id}`): the value is past the scheme when the prefix holds it.
            if !prefix.contains(':') {
                return None;
            }
        }
        // Where the value lands in the resolved IRI: after its scheme and authority, and
        // nowhere else; two probes show the rest of the IRI does not depend on it.
        const MARK: &str = "xq7Jz";
        let resolved = |v: &str| {
            let e = probe(v);
            if expand_prefixed(&e).is_some() {
                return None;
            }
            self.resolve_shared(&e).ok()
        };
        let marked = resolved(MARK)?;
        let at = marked.find(MARK)?;
        if marked[at + MARK.len()..].contains(MARK) {
            return None;
        }
        let (r_prefix, r_suffix) = (&marked[..at], &marked[at + MARK.len()..]);
        if resolved("y")?.as_ref() != format!("{r_prefix}y{r_suffix}") {
            return None;
        }
        let iri = oxiri::Iri::parse(marked.as_ref()).ok()?;
        let path_start = iri.scheme().len() + 1 + iri.authority().map_or(0, |a| a.len() + 2);
        (at >= path_start).then(|| Direct {
            prefix: r_prefix.to_string(),
            var: var.to_string(),
            suffix: r_suffix.to_string(),
            reserved,
        })
    }

    /// `t` expanded with `lookup` (into a buffer of this thread's), then resolved.
    fn expand_and_resolve<'c>(
        &self,
        t: &crate::uritemplate::UriTemplate,
        lookup: impl Fn(&str) -> Var<'c>,
    ) -> Resolved {
        thread_local! {
            static EXPANDED: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        EXPANDED.with_borrow_mut(|out| {
            out.clear();
            t.expand_into(lookup, out);
            self.resolve_shared(out)
        })
    }

    fn insert_column(&mut self, index: usize, mut col: Column) {
        // Equal templates become one (`Arc`): a row expands each once, however many columns
        // share it (eight columns of a spending file are about the row's supplier), and one
        // memo of its values serves them all. A template's result depends on the column only
        // through `_column`, `_sourceColumn` and `_name`, which are never shared or memoised.
        {
            let props = &mut col.props;
            let mut known: Vec<Arc<crate::uritemplate::UriTemplate>> = self
                .columns
                .iter()
                .flat_map(|c| {
                    [
                        &c.props.about_url,
                        &c.props.property_url,
                        &c.props.value_url,
                    ]
                })
                .flatten()
                .cloned()
                .collect();
            for t in [
                &mut props.about_url,
                &mut props.property_url,
                &mut props.value_url,
            ]
            .into_iter()
            .flatten()
            {
                match known.iter().find(|k| **k == *t) {
                    Some(k) => *t = k.clone(),
                    None => known.push(t.clone()),
                }
            }
        }
        let constant = |t: &Option<Arc<crate::uritemplate::UriTemplate>>| {
            let t = t.as_ref()?;
            if t.variables().next().is_some() {
                return None;
            }
            Some(self.resolve_shared(&t.expand(|_| Var::Undefined)))
        };
        let urls = [
            constant(&col.props.about_url),
            constant(&col.props.property_url),
            constant(&col.props.value_url),
        ];
        self.constant_urls.insert(index, urls);
        let mut url = self.table.url.clone();
        url.set_fragment(Some(&col.name));
        self.default_properties.insert(index, url.to_string());
        self.datatype_iris
            .insert(index, Arc::from(col.props.datatype.iri().as_str()));
        // Validated by the metadata reader; lower-cased as RDF wants language tags.
        let lang = Some(col.props.lang.to_ascii_lowercase())
            .filter(|l| l != "und" && metadata::is_language_tag(l))
            .map(|l| Arc::from(l.as_str()));
        self.langs.insert(index, lang);
        self.columns.insert(index, col);
        self.by_name = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
    }

    fn variable<'c>(
        &self,
        name: &str,
        col: usize,
        row: u64,
        source_row: u64,
        cells: &'c [Cell],
    ) -> Var<'c> {
        match name {
            "_row" => Var::Str(row.to_string().into()),
            "_sourceRow" => Var::Str(source_row.to_string().into()),
            "_column" => Var::Str((col + 1).to_string().into()),
            "_sourceColumn" => Var::Str(
                (col + 1 + self.table.dialect.skip_columns)
                    .to_string()
                    .into(),
            ),
            "_name" => Var::Str(percent_decode(&self.columns[col].name).into()),
            _ => match self.by_name.get(name).and_then(|&i| cells.get(i)) {
                Some(c) => match &c.value {
                    CellValue::Null => Var::Undefined,
                    CellValue::One(v) => Var::Str(v.lexical.as_str().into()),
                    CellValue::List(vs) => {
                        Var::List(vs.iter().map(|v| v.lexical.as_str().into()).collect())
                    }
                },
                None => Var::Undefined,
            },
        }
    }
}

/// Languages match when `und` is either, or when equal truncated to the shorter tag.
fn languages_match(a: &str, b: &str) -> bool {
    if a == "und" || b == "und" {
        return true;
    }
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// Percent-decodes a column name (for `_name` and JSON keys).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A message about one value: the value itself is in the diagnostic, so it is named here
/// only when it is one item of a list.
fn describe(item: &str, cell: &str, msg: &str) -> String {
    if item == cell.trim() {
        format!("the value {msg}")
    } else {
        format!("the item {item:?} {msg}")
    }
}

/// The lexical form of a value being made: borrowed from the cell, or made by the datatype.
enum Lexical<'a> {
    Borrowed(&'a str),
    Owned(String),
}

/// `v` made the value of the given lexical form and kind, in place (it holds the value this
/// cell held in the row read before, or an empty one): its text buffer is filled again, and
/// its kind is kept when it names the same datatype and language. The datatype IRI and the language are
/// shared (`Arc`) between all the cells of a column, and the rows cross to the writer's
/// thread and back: counting a new reference for each cell writes to memory the other thread
/// has just read, which costs a miss between the cores on every typed cell.
fn make_value(
    v: &mut Value,
    lexical: Lexical<'_>,
    lang: Option<&Option<Arc<str>>>,
    typed: Option<(&Arc<str>, Base, Option<bool>)>,
) {
    match lexical {
        Lexical::Borrowed(s) => {
            v.lexical.clear();
            v.lexical.push_str(s);
        }
        Lexical::Owned(s) => v.lexical = s,
    }
    let same = |a: &Option<Arc<str>>, b: &Option<Arc<str>>| match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => false,
    };
    match (typed, &mut v.kind) {
        (
            Some((iri, base, boolean)),
            ValueKind::Typed {
                iri: old,
                base: old_base,
                boolean: old_boolean,
            },
        ) if Arc::ptr_eq(iri, old) => {
            *old_base = base;
            *old_boolean = boolean;
        }
        (Some((iri, base, boolean)), kind) => {
            *kind = ValueKind::Typed {
                iri: iri.clone(),
                base,
                boolean,
            }
        }
        (None, ValueKind::String(old)) if same(old, lang.unwrap_or(&None)) => {}
        (None, kind) => *kind = ValueKind::String(lang.and_then(Clone::clone)),
    }
}

/// Whether whitespace normalization leaves `s` as it is: no leading, trailing or doubled
/// space, and no other whitespace (tab, CR, LF). In one pass, a byte at a time.
fn is_clean(s: &str) -> bool {
    // A space is not clean at the start, at the end or after another space.
    let mut after_space = true;
    for &c in s.as_bytes() {
        if c <= b' ' {
            if c == b' ' {
                if after_space {
                    return false;
                }
                after_space = true;
                continue;
            }
            if matches!(c, b'\r' | b'\n' | b'\t') {
                return false;
            }
        }
        after_space = false;
    }
    !after_space || s.is_empty()
}

/// Parses the string value of a cell (tabular-data-model §6.4).
pub fn parse_cell(
    raw: &str,
    col: &Column,
    iri: &Arc<str>,
    lang: &Option<Arc<str>>,
) -> (CellValue, Vec<(&'static str, String)>) {
    let (mut value, mut errors) = (CellValue::Null, Vec::new());
    parse_cell_reusing(raw, col, iri, lang, &mut value, &mut errors);
    (value, errors)
}

/// Whether `s` is one of the column's null values. Empty text is decided by its length alone:
/// comparing it through `memcmp` (an empty `String` points nowhere) cost glibc's AVX-512
/// version a masked load that the processor assists, about 80 ns a cell, measured: a fifth of
/// the reading thread on a table of mostly empty cells.
fn is_null(null: &[String], s: &str) -> bool {
    null.iter()
        .any(|n| n.len() == s.len() && (s.is_empty() || n.as_bytes() == s.as_bytes()))
}

/// [`parse_cell`] into `value`, made in the memory of the value it holds (this cell's value
/// in the row read before) where it can; the value is the same either way. The problems are
/// pushed to `errors`. (Written in place rather than returned: a returned value and its
/// problems went through the stack, and reading them back stalled on each cell.)
fn parse_cell_reusing(
    raw: &str,
    col: &Column,
    iri: &Arc<str>,
    lang: &Option<Arc<str>>,
    value: &mut CellValue,
    errors: &mut Vec<(&'static str, String)>,
) {
    let p = &col.props;
    let dt = &p.datatype;
    let base = dt.base;
    let normalized: std::borrow::Cow<'_, str> = if base.keeps_whitespace() || is_clean(raw) {
        raw.into()
    } else {
        let replaced: String = raw
            .chars()
            .map(|c| {
                if matches!(c, '\r' | '\n' | '\t') {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        if base == Base::NormalizedString {
            replaced.into()
        } else {
            replaced
                .split(' ')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
                .into()
        }
    };
    let s: &str = if normalized.is_empty() {
        &p.default
    } else {
        &normalized
    };
    // A plain string column: the text is the value, with nothing to check.
    let plain_string = base == Base::String
        && dt.id.is_none()
        && matches!(dt.format, Format::None)
        && dt.length.is_none()
        && dt.min_length.is_none()
        && dt.max_length.is_none()
        && dt.min_inclusive.is_none()
        && dt.max_inclusive.is_none()
        && dt.min_exclusive.is_none()
        && dt.max_exclusive.is_none();
    // Makes `v` the value of `s` (in place: a value made and returned went through the stack,
    // and reading it back stalled on each cell); `false` for a null.
    let one = |s: &str, v: &mut Value, errors: &mut Vec<(&'static str, String)>| -> bool {
        let s = if s.is_empty() { p.default.as_str() } else { s };
        if is_null(&p.null, s) {
            return false;
        }
        let string_lang = if base == Base::String || !p.datatype_given {
            Some(lang)
        } else {
            None
        };
        if !p.datatype_given || plain_string {
            make_value(v, Lexical::Borrowed(s), string_lang, None);
            return true;
        }
        // The last value's buffer takes the new lexical form.
        let buf = std::mem::take(&mut v.lexical);
        match dt.parse_reusing(s, buf) {
            Ok(parsed) => {
                if let Some((rule, msg)) = dt.check_constraints(s, &parsed) {
                    errors.push((rule, describe(s, raw, &msg)));
                    make_value(v, Lexical::Borrowed(s), string_lang, None);
                    return true;
                }
                let typed = if base == Base::String && dt.id.is_none() {
                    None
                } else {
                    Some((iri, base, parsed.boolean))
                };
                make_value(v, Lexical::Owned(parsed.lexical), string_lang, typed);
                true
            }
            Err(msg) => {
                errors.push(("datatype", describe(s, raw, &msg)));
                make_value(v, Lexical::Borrowed(s), string_lang, None);
                true
            }
        }
    };
    match &p.separator {
        Some(sep) => {
            *value = if s.is_empty() {
                if p.required {
                    errors.push((
                        "required",
                        "the column is required but the cell is empty".into(),
                    ));
                }
                CellValue::List(Vec::new())
            } else if is_null(&p.null, s) {
                CellValue::Null
            } else {
                let mut items = Vec::new();
                for item in s.split(sep.as_str()) {
                    let item = if matches!(base, Base::String | Base::AnyAtomicType) {
                        item
                    } else {
                        item.trim()
                    };
                    let mut v = Value::empty();
                    if one(item, &mut v, errors) {
                        items.push(v);
                    }
                }
                CellValue::List(items)
            }
        }
        None => {
            // The last row's value of this cell is made again where it is.
            if !matches!(value, CellValue::One(_)) {
                *value = CellValue::One(Value::empty());
            }
            let made = match value {
                CellValue::One(v) => one(s, v, errors),
                _ => false,
            };
            if !made {
                if p.required {
                    errors.push((
                        "required",
                        "the column is required but the cell is null".into(),
                    ));
                }
                *value = CellValue::Null;
            }
        }
    }
}

/// A referencing key: its hash, source row and text.
type Reference = (u128, u64, Box<str>);

/// Checks primary keys and foreign keys when validating. Keys are kept as 128-bit hashes, so
/// memory is bounded by the number of keys (about 40 bytes each), never by their text.
struct KeyCheck {
    enabled: bool,
    /// Primary key hash → source row of its first occurrence.
    primary: Vec<KeyMap<u64>>,
    /// For each table, the foreign keys that point at it: (referencing table, fk index).
    referenced_keys: Vec<Vec<(usize, usize)>>,
    /// Keys of referenced tables: (table, fk) → key hash → number of rows.
    targets: HashMap<(usize, usize), KeyMap<u32>>,
    /// Referencing values: (table, fk) → [(key hash, source row, key text)].
    references: HashMap<(usize, usize), Vec<Reference>>,
    /// The referenced columns of each foreign key: (table, fk) → columns of the target.
    target_columns: HashMap<(usize, usize), Vec<usize>>,
    /// The two hashers whose 64-bit hashes of a key's text make its 128-bit hash: seeded
    /// apart, and afresh for each run, so that no pair of keys collides in every run.
    hashers: [foldhash::quality::RandomState; 2],
    /// The buffer a row's key is joined in.
    text: String,
}

/// A map keyed by a key's 128-bit hash, which is not hashed again: its two halves folded are
/// the map's hash.
type KeyMap<V> = HashMap<u128, V, std::hash::BuildHasherDefault<KeyHashHasher>>;

/// The [`KeyMap`]'s hasher: a key hash folded to 64 bits.
#[derive(Default)]
struct KeyHashHasher(u64);

impl std::hash::Hasher for KeyHashHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u128`s are hashed with it; anything else is still hashed, byte by byte.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = (n as u64) ^ ((n >> 64) as u64);
    }
}

/// A key's values joined into `text` (for messages), and its 128-bit hash. With `nulls`, a
/// null is a value of its own (as the W3C suite expects for foreign keys: a null referencing
/// value matches no row); without, a key with a null is no key.
fn key_of(
    hashers: &[foldhash::quality::RandomState; 2],
    text: &mut String,
    row: &Row,
    cols: &[usize],
    nulls: bool,
) -> Option<u128> {
    use std::hash::BuildHasher;
    text.clear();
    for (n, &i) in cols.iter().enumerate() {
        if n > 0 {
            text.push('\u{1f}');
        }
        match &row.cells.get(i)?.value {
            CellValue::Null if nulls => text.push('\u{0}'),
            CellValue::Null => return None,
            CellValue::One(v) => text.push_str(&v.lexical),
            CellValue::List(vs) => {
                for v in vs {
                    text.push_str(&v.lexical);
                    text.push('\u{1e}');
                }
            }
        }
    }
    let [a, b] = hashers;
    Some((u128::from(a.hash_one(text.as_str())) << 64) | u128::from(b.hash_one(text.as_str())))
}

fn shown(key: &str) -> String {
    key.replace('\u{1f}', ",")
        .replace('\u{1e}', " ")
        .replace('\u{0}', "(null)")
}

impl KeyCheck {
    fn new(group: &TableGroup, enabled: bool) -> Self {
        let mut referenced_keys = vec![Vec::new(); group.tables.len()];
        let mut target_columns = HashMap::new();
        for (ti, t) in group.tables.iter().enumerate() {
            for (fi, fk) in t.schema.foreign_keys.iter().enumerate() {
                referenced_keys[fk.table].push((ti, fi));
                target_columns.insert((ti, fi), fk.table_columns.clone());
            }
        }
        KeyCheck {
            enabled,
            primary: vec![KeyMap::default(); group.tables.len()],
            referenced_keys,
            targets: HashMap::new(),
            references: HashMap::new(),
            target_columns,
            hashers: Default::default(),
            text: String::new(),
        }
    }

    /// The columns of table `ti` whose values [`KeyCheck::row`] reads.
    fn columns_read<'s>(
        &'s self,
        ti: usize,
        schema: &'s metadata::Schema,
    ) -> impl Iterator<Item = usize> + 's {
        let enabled = self.enabled;
        let referenced = self
            .referenced_keys
            .get(ti)
            .into_iter()
            .flatten()
            .filter_map(|k| self.target_columns.get(k))
            .flatten();
        let referencing = schema.foreign_keys.iter().flat_map(|fk| fk.columns.iter());
        schema
            .primary_key
            .iter()
            .chain(referenced)
            .chain(referencing)
            .copied()
            .filter(move |_| enabled)
    }

    fn row(&mut self, ti: usize, at: &AnnotatedTable<'_>, row: &Row, p: &mut Processor<'_>) {
        if !self.enabled {
            return;
        }
        let schema = &at.table.schema;
        if !schema.primary_key.is_empty() {
            if let Some(h) = key_of(
                &self.hashers,
                &mut self.text,
                row,
                &schema.primary_key,
                false,
            ) {
                if let Some(first) = self.primary[ti].insert(h, row.source_number) {
                    p.data_diag(
                        Diagnostic::error(
                            "primaryKey",
                            format!("duplicate primary key (first on row {first})"),
                        )
                        .file(at.table.url.to_string())
                        .row(row.source_number)
                        .column(
                            schema
                                .primary_key
                                .iter()
                                .filter_map(|&i| at.columns.get(i).map(|c| c.name.as_str()))
                                .collect::<Vec<_>>()
                                .join(","),
                        )
                        .value(shown(&self.text)),
                    );
                }
            }
        }
        for k in 0..self.referenced_keys[ti].len() {
            let (rt, fi) = self.referenced_keys[ti][k];
            if let Some(cols) = self.target_columns.get(&(rt, fi)) {
                if let Some(h) = key_of(&self.hashers, &mut self.text, row, cols, true) {
                    *self
                        .targets
                        .entry((rt, fi))
                        .or_default()
                        .entry(h)
                        .or_insert(0) += 1;
                }
            }
        }
        for (fi, fk) in schema.foreign_keys.iter().enumerate() {
            if let Some(h) = key_of(&self.hashers, &mut self.text, row, &fk.columns, true) {
                self.references.entry((ti, fi)).or_default().push((
                    h,
                    row.source_number,
                    self.text.as_str().into(),
                ));
            }
        }
    }

    fn finish(&mut self, group: &TableGroup, p: &mut Processor<'_>) -> Result<()> {
        if !self.enabled {
            return Ok(());
        }
        for (ti, t) in group.tables.iter().enumerate() {
            for (fi, fk) in t.schema.foreign_keys.iter().enumerate() {
                let empty = KeyMap::default();
                let targets = self.targets.get(&(ti, fi)).unwrap_or(&empty);
                let target = &group.tables[fk.table].url;
                let columns = fk
                    .columns
                    .iter()
                    .filter_map(|&i| t.schema.columns.get(i).map(|c| c.name.as_str()))
                    .collect::<Vec<_>>()
                    .join(",");
                for (h, row, text) in self.references.remove(&(ti, fi)).unwrap_or_default() {
                    let msg = match targets.get(&h) {
                        Some(1) => continue,
                        Some(n) => format!("the foreign key matches {n} rows of {target}"),
                        None => format!("the foreign key matches no row of {target}"),
                    };
                    p.data_diag(
                        Diagnostic::error("foreignKey", msg)
                            .file(t.url.to_string())
                            .row(row)
                            .column(columns.clone())
                            .value(shown(&text)),
                    );
                }
            }
        }
        Ok(())
    }
}

/// The IRI of `xsd:string`.
pub fn xsd_string() -> String {
    format!("{XSD}string")
}

/// The IRI of `rdf:langString`.
pub fn rdf_lang_string() -> String {
    format!("{RDF}langString")
}

#[cfg(test)]
mod tests {
    use super::plain_segments;
    use crate::fetch::{Fetcher, Resource};

    #[test]
    fn plain_segments_are_those_of_splitting_at_slashes() {
        let split = |v: &str| {
            v.split('/').all(|piece| {
                piece
                    .bytes()
                    .all(crate::uritemplate::UriTemplate::is_unreserved_byte)
                    && piece.bytes().any(|b| b != b'.')
            })
        };
        for v in [
            "",
            "/",
            "a",
            "a/b",
            "a//b",
            "/a",
            "a/",
            ".",
            "..",
            "a/./b",
            "a/../b",
            "a/.b/c",
            ".a",
            "a.",
            "E08000035/2024-01-05/TX-1",
            "a b",
            "a/b c",
            "é",
            "a/é",
            "~_-.",
            "a%20",
            "a?b",
            "a#b",
            "a:b",
        ] {
            assert_eq!(plain_segments(v), split(v), "{v:?}");
        }
    }

    struct Files(Vec<(&'static str, Vec<u8>)>);

    impl Fetcher for Files {
        fn fetch(&self, url: &url::Url) -> Result<Option<Resource>, String> {
            Ok(self
                .0
                .iter()
                .find(|(p, _)| *p == url.path())
                .map(|(_, b)| Resource::from_bytes(b.clone())))
        }
    }

    /// A site that cannot be reached has no site-wide configuration: the default metadata
    /// locations are used, with a warning, and the table is processed; an answer that says
    /// so (none there) needs no warning.
    #[test]
    fn an_unreachable_site_wide_configuration_is_not_found() {
        struct Unreachable(Files);
        impl Fetcher for Unreachable {
            fn fetch(&self, url: &url::Url) -> Result<Option<Resource>, String> {
                if url.path() == "/.well-known/csvm" {
                    return Err("connection refused".into());
                }
                self.0.fetch(url)
            }
        }
        let files = || {
            Files(vec![
                ("/d/t.csv", b"id,name\n1,one\n".to_vec()),
                (
                    "/d/t.csv-metadata.json",
                    br#"{"@context": "http://www.w3.org/ns/csvw", "url": "t.csv",
                        "tableSchema": {"columns": [{"name": "id", "titles": "id",
                        "datatype": "integer"}, {"name": "name", "titles": "name"}]}}"#
                        .to_vec(),
                ),
            ])
        };
        let url = url::Url::parse("http://example.org/d/t.csv").unwrap();
        let mut triples: Vec<oxrdf::Triple> = Vec::new();
        let report = crate::to_rdf(
            &url,
            &Unreachable(files()),
            crate::Options::default(),
            true,
            &mut triples,
        )
        .unwrap();
        assert_eq!(triples.len(), 2, "the metadata beside the file was found");
        let warned: Vec<_> = report
            .warnings()
            .filter(|d| d.rule == "site-wide-configuration")
            .collect();
        assert_eq!(warned.len(), 1, "{:?}", report.diagnostics);
        assert!(warned[0].message.contains("connection refused"));
        let report = crate::to_rdf(
            &url,
            &files(),
            crate::Options::default(),
            true,
            &mut triples,
        )
        .unwrap();
        assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    }

    /// A template taken the direct way gives what expanding and resolving it gives, for
    /// values that are dots, empty, reserved, percent signs or not ASCII, and templates whose
    /// variable sits in the path, query or fragment, after a prefixed name, or in the
    /// authority (which must not go the direct way).
    #[test]
    fn direct_templates_resolve_as_templates_do() {
        use super::{AnnotatedTable, UrlMemo, Var};
        use crate::uritemplate::UriTemplate;
        let table = crate::metadata::Table {
            url: url::Url::parse("http://example.org/dir/data.csv").unwrap(),
            id: None,
            suppress_output: false,
            annotations: Vec::new(),
            dialect: crate::dialect::Dialect::default(),
            dialect_given: false,
            schema: crate::metadata::Schema::default(),
            table_direction: "auto".into(),
            inherited: Default::default(),
        };
        let at = AnnotatedTable::new(&table, Vec::new(), Vec::new());
        let direct = [
            "http://example.org/spend/{id}",
            "http://example.org/a/{id}/b.ttl",
            "http://example.org/a/x{id}",
            "http://example.org/a/.{id}",
            "http://example.org/a?q={id}&r=1",
            "http://example.org/a#{id}",
            "https://example.org:8080/{id}#it",
            "urn:x:{id}",
            "file:///tmp/{id}",
            "http://example.org/a/{_row}",
            // Whatever resolution makes of the literal dot segments, the probe shows.
            "http://example.org/a/../{id}",
            // Relative: the resolved text around the value.
            "{id}",
            "r/{id}",
            "../{id}",
            "payment/{+id}",
            "{+id}",
            "a/{id}.",
            "?q={id}",
            "#{id}",
            "r/{id}.ttl#it",
            "http://example.org/{+id}",
        ];
        let general = [
            "http://{id}.example.org/",
            "//{id}.example.org/",
            "http://example.org{id}",
            "dc:{id}",
            "{id}:x",
            "r/{id}/../b",
            "http://example.org/{id:3}",
            "http://example.org/{id}/{id}",
            "http://example.org/%{id}",
            "http://example.org/{id}{#id}",
        ];
        let values = [
            "T0001",
            "",
            ".",
            "..",
            "...",
            "a.b",
            "a/b",
            "a?b#c",
            "%41",
            "£ 5",
            "a b",
            "~-_",
            "..x",
            "x..",
            "/",
            "\u{1F600}",
            "dc",
            "a:b",
            "http",
            // For `{+id}`: pieces of a path.
            "T1/2024-05-20",
            "a/b/c",
            "a/./b",
            "a/../b",
            "../a",
            "a/..",
            "//host/x",
            "a//b",
            "a/",
            "/a",
            "a.b/c.d",
            "a/%41",
            "a/b?c",
            "a/b:c",
        ];
        for template in direct.iter().chain(&general) {
            let t = UriTemplate::parse(template).unwrap();
            let mut m = UrlMemo::new(&t, &at);
            assert_eq!(
                m.direct.is_some(),
                direct.contains(template),
                "{template} direct"
            );
            let mut taken = 0;
            for v in values {
                let lookup = |name: &str| match name {
                    "_row" => Var::Str("7".into()),
                    _ => Var::Str(v.into()),
                };
                let want = at.expand_and_resolve(&t, lookup);
                // As a row's URLs are filled: after another, straight into the row's text
                // where the direct way goes, else through the memo.
                let mut urls = super::RowUrls::default();
                urls.push("before");
                let got = match super::direct(&m, &lookup, &mut urls) {
                    Some(super::UrlSlot::Row(1)) => {
                        taken += 1;
                        Ok(std::sync::Arc::from(urls.get(1).unwrap()))
                    }
                    Some(other) => panic!("{template} {v:?}: {other:?}"),
                    None => {
                        assert_eq!(urls.text, "before", "{template} {v:?}: text left");
                        super::memoised(&mut m, &t, &lookup, &at)
                    }
                };
                assert_eq!(got, want, "{template} {v:?}");
                assert_eq!(urls.get(0), Some("before"));
            }
            assert_eq!(taken > 0, direct.contains(template), "{template}: {taken}");
            let undefined = |_: &str| Var::Undefined;
            assert_eq!(
                super::memoised(&mut m, &t, &undefined, &at),
                at.expand_and_resolve(&t, undefined),
                "{template} undefined"
            );
        }
    }

    /// The one-pass test agrees with its definition on every string of up to five
    /// characters from a small alphabet of the cases that matter.
    #[test]
    fn clean_means_normalization_changes_nothing() {
        let alphabet = ['a', ' ', '\t', '\n', '\r', '\u{b}', '£'];
        let defined = |s: &str| {
            let b = s.as_bytes();
            b.first() != Some(&b' ')
                && b.last() != Some(&b' ')
                && !s.contains("  ")
                && !s.contains(['\t', '\n', '\r'])
        };
        let mut strings = vec![String::new()];
        let mut tested = 0;
        for _ in 0..5 {
            let mut longer = Vec::new();
            for s in &strings {
                for c in alphabet {
                    let mut t = s.clone();
                    t.push(c);
                    assert_eq!(super::is_clean(&t), defined(&t), "{t:?}");
                    tested += 1;
                    longer.push(t);
                }
            }
            strings = longer;
        }
        assert!(super::is_clean(""));
        assert!(tested > 16_000);
    }

    /// Remembered resolutions give what resolving every cell gives: for a key that never
    /// repeats (the memo turns itself off), values that repeat, lists whose items would run
    /// together if joined, and a template of two variables.
    #[test]
    fn remembered_urls_are_the_urls() {
        let mut csv = String::from("id,kind,tags\n");
        let tags = ["a: b", "a :b", "x", ""];
        for i in 0..10_000 {
            csv.push_str(&format!("{i},k{},{}\n", i % 3, tags[i % 4]));
        }
        let metadata = r#"{
          "@context": "http://www.w3.org/ns/csvw",
          "url": "data.csv",
          "tableSchema": {
            "aboutUrl": "r/{id}",
            "columns": [
              {"name": "id", "titles": "id"},
              {"name": "kind", "titles": "kind", "valueUrl": "kind/{kind}", "propertyUrl": "http://example.org/kind"},
              {"name": "tags", "titles": "tags", "separator": " ", "valueUrl": "tag/{tags}", "propertyUrl": "http://example.org/tags"},
              {"name": "both", "virtual": true, "valueUrl": "both/{kind}/{id}", "propertyUrl": "http://example.org/both"}
            ]
          }
        }"#;
        let files = Files(vec![
            ("/data.csv", csv.into_bytes()),
            ("/data.csv-metadata.json", metadata.as_bytes().to_vec()),
        ]);
        let url = url::Url::parse("http://example.org/data.csv-metadata.json").unwrap();
        let mut triples: Vec<oxrdf::Triple> = Vec::new();
        let report = crate::to_rdf(
            &url,
            &files,
            crate::Options {
                metadata: Some(url.clone()),
                ..crate::Options::default()
            },
            true,
            &mut triples,
        )
        .unwrap();
        assert!(!report.has_errors(), "{:?}", report.diagnostics);
        let got: std::collections::BTreeSet<String> =
            triples.iter().map(|t| t.to_string()).collect();
        let mut want = std::collections::BTreeSet::new();
        for i in 0..10_000 {
            let s = format!("<http://example.org/r/{i}>");
            want.insert(format!("{s} <http://example.org/data.csv#id> \"{i}\""));
            want.insert(format!(
                "{s} <http://example.org/kind> <http://example.org/kind/k{}>",
                i % 3
            ));
            // A list expands with commas between its items, each percent-encoded (RFC 6570
            // simple expansion: `:` is reserved).
            // An empty cell with a separator is an empty list (tabular-data-model §6.4), which
            // expands to nothing.
            let tag = ["a%3A,b", "a,%3Ab", "x", ""][i % 4];
            want.insert(format!(
                "{s} <http://example.org/tags> <http://example.org/tag/{tag}>"
            ));
            want.insert(format!(
                "{s} <http://example.org/both> <http://example.org/both/k{}/{i}>",
                i % 3
            ));
        }
        let missing: Vec<_> = want.difference(&got).take(3).collect();
        let extra: Vec<_> = got.difference(&want).take(3).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "missing {missing:?}, extra {extra:?}"
        );
    }

    /// Columns with equal templates share one (and its memo) without sharing what depends on
    /// the column: `_name` expands for each column, a shared `aboutUrl` or `valueUrl` gives
    /// each column the row's value, and a null cell still has no value URL.
    #[test]
    fn equal_templates_of_several_columns_are_one_and_expand_per_column_where_they_must() {
        let metadata = r#"{
          "@context": "http://www.w3.org/ns/csvw",
          "url": "data.csv",
          "tableSchema": {
            "columns": [
              {"name": "id", "titles": "id", "aboutUrl": "s/{id}", "propertyUrl": "http://example.org/p/{_name}"},
              {"name": "who", "titles": "who", "aboutUrl": "s/{id}", "propertyUrl": "http://example.org/p/{_name}", "valueUrl": "{+who}"},
              {"name": "also", "titles": "also", "aboutUrl": "{+who}", "propertyUrl": "http://example.org/p/{_name}", "null": "-"},
              {"name": "same", "virtual": true, "aboutUrl": "{+who}", "propertyUrl": "http://example.org/same", "valueUrl": "s/{id}"}
            ]
          }
        }"#;
        let csv = "id,who,also\n1,http://example.org/w/a,x\n2,http://example.org/w/b,-\n3,,\n";
        let files = Files(vec![
            ("/data.csv", csv.as_bytes().to_vec()),
            ("/data.csv-metadata.json", metadata.as_bytes().to_vec()),
        ]);
        let url = url::Url::parse("http://example.org/data.csv-metadata.json").unwrap();
        let mut triples: Vec<oxrdf::Triple> = Vec::new();
        let options = crate::Options {
            metadata: Some(url.clone()),
            ..crate::Options::default()
        };
        crate::to_rdf(&url, &files, options, true, &mut triples).unwrap();
        let got: std::collections::BTreeSet<String> =
            triples.iter().map(|t| t.to_string()).collect();
        let e = "http://example.org";
        let want: std::collections::BTreeSet<String> = [
            format!("<{e}/s/1> <{e}/p/id> \"1\""),
            format!("<{e}/s/1> <{e}/p/who> <{e}/w/a>"),
            format!("<{e}/w/a> <{e}/p/also> \"x\""),
            format!("<{e}/w/a> <{e}/same> <{e}/s/1>"),
            format!("<{e}/s/2> <{e}/p/id> \"2\""),
            format!("<{e}/s/2> <{e}/p/who> <{e}/w/b>"),
            format!("<{e}/w/b> <{e}/same> <{e}/s/2>"),
            format!("<{e}/s/3> <{e}/p/id> \"3\""),
            // An empty `who`: the shared `{+who}` expands to the table's own URL; an empty
            // `also` is a value, its null being "-".
            format!("<{e}/data.csv> <{e}/same> <{e}/s/3>"),
            format!("<{e}/data.csv> <{e}/p/also> \"\""),
        ]
        .into_iter()
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn null_values_are_matched_by_length_first() {
        let null = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(super::is_null(&null(&[""]), ""));
        assert!(!super::is_null(&null(&[""]), "a"));
        assert!(super::is_null(&null(&["-", "n/a"]), "n/a"));
        assert!(!super::is_null(&null(&["-", "n/a"]), "n/b"));
        assert!(!super::is_null(&null(&["-", "n/a"]), ""));
        assert!(!super::is_null(&[], ""));
    }

    /// A row the sink gives back is filled again for the next row, and carries nothing of
    /// the row before: nulls after values, a list after a single value, fewer and more
    /// cells than the row before, titles and URLs, all as in rows made afresh.
    #[test]
    fn a_row_filled_again_is_a_row_made_afresh() {
        use super::{AnnotatedTable, Options, Processor, Row, Sink, TableGroup};
        struct Record {
            rows: Vec<String>,
            keep: bool,
        }
        impl Sink for Record {
            fn start_group(&mut self, _: &TableGroup) -> crate::Result<()> {
                Ok(())
            }
            fn start_table(&mut self, _: &AnnotatedTable<'_>) -> crate::Result<()> {
                Ok(())
            }
            fn row(&mut self, _: &AnnotatedTable<'_>, row: &Row) -> crate::Result<()> {
                self.rows.push(format!("{row:?}"));
                Ok(())
            }
            fn take_row(
                &mut self,
                at: &AnnotatedTable<'_>,
                row: Row,
            ) -> crate::Result<Option<Row>> {
                self.row(at, &row)?;
                // Keeping it (dropping it here) makes the processor start every row afresh.
                Ok((!self.keep).then_some(row))
            }
            fn end_table(&mut self, _: &AnnotatedTable<'_>) -> crate::Result<()> {
                Ok(())
            }
            fn end_group(&mut self, _: &TableGroup) -> crate::Result<()> {
                Ok(())
            }
        }
        let metadata = br#"{"@context": "http://www.w3.org/ns/csvw", "url": "t.csv",
          "tableSchema": {"aboutUrl": "http://example.org/{a}", "rowTitles": ["a"],
            "columns": [
              {"name": "a", "titles": "a"},
              {"name": "b", "titles": "b", "datatype": "integer", "null": "-"},
              {"name": "c", "titles": "c", "separator": ";",
               "valueUrl": "http://example.org/c/{c}"}]}}"#;
        let csv = b"a,b,c\nx,1,p;q\ny,-,\nz,3\nw,4,r,extra\nv,,s\nu,five,t;u;v\n";
        let files = Files(vec![
            ("/t.csv-metadata.json", metadata.to_vec()),
            ("/t.csv", csv.to_vec()),
        ]);
        let url = url::Url::parse("http://example.org/t.csv-metadata.json").unwrap();
        let run = |keep: bool| {
            let mut p = Processor::new(&files, Options::default());
            let group = p.locate(&url).unwrap();
            let mut sink = Record {
                rows: Vec::new(),
                keep,
            };
            p.process(&group, &mut sink).unwrap();
            (sink.rows, p.report.diagnostics.len())
        };
        let (afresh, problems) = run(true);
        assert_eq!(afresh.len(), 6);
        assert!(
            problems > 0,
            "the ragged rows and the bad integer are reported"
        );
        assert_eq!(run(false), (afresh, problems));
    }
}
