//! From a grid to a clean table: header row, blank rows, padding, empty and ragged columns,
//! the column mapping and value normalisation, every change noted.

use crate::values::{self, DateOrder, OrderEvidence, ValueKind};
use crate::{Cells, Grid, Problem, Severity, MAX_ROWS};
use serde::Serialize;

/// One column of the clean table, as the mapping declares it.
#[derive(Debug, Clone, Default)]
pub struct ColumnRule {
    /// The header of the clean table.
    pub name: String,
    /// Source headers that map to this column (matched case-, space- and
    /// punctuation-insensitively); `name` always matches too. The order is the preference:
    /// when several of the file's headers match, the one earliest in `[name, aliases…]` is
    /// taken, and the others are named in a `column-choice` warning.
    pub aliases: Vec<String>,
    /// The one source header this column is read from, when the mapping names it: no other
    /// header is considered.
    pub source: Option<String>,
    pub kind: ValueKind,
    /// The day/month order of numeric dates, when the mapping knows it.
    pub date_order: Option<DateOrder>,
    /// A file without this column is an error (else a warning and an empty column).
    pub required: bool,
    /// Files often lack this column (a template's optional column): its absence is only
    /// noted (info), in one note with the others.
    pub optional: bool,
}

/// How to tidy.
#[derive(Debug, Clone, Default)]
pub struct TidyOptions {
    /// The clean table's columns; when empty, the source columns are kept as they are.
    pub columns: Vec<ColumnRule>,
}

/// A clean table and where each part came from.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Table {
    pub header: Vec<String>,
    /// The cells, a row for each data row, as wide as `header` (kept by column: [`Cells`]).
    pub rows: Cells,
    /// The source row of each row.
    pub source_rows: Vec<u64>,
    /// The source header of each column (`None`: the mapping's column was not in the file).
    pub source_columns: Vec<Option<String>>,
    /// The source row the header was found on.
    pub header_row: u64,
    /// The day/month order decided for each date column.
    pub date_orders: Vec<(String, DateOrder)>,
    /// Source headers that nothing in the mapping took.
    pub unmapped: Vec<String>,
}

/// The rows a thread of [`Table::write_csv`] makes into CSV at a time.
const CSV_BLOCK: usize = 1024;

/// The clean CSV's writer: RFC 4180, LF line endings.
pub(crate) fn csv_writer<W: std::io::Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out)
}

impl Table {
    /// Writes the table as CSV (RFC 4180, UTF-8, LF line endings). A big table's rows are
    /// made into CSV by two threads, a block of rows each in turn, and written in order.
    pub fn write_csv<W: std::io::Write>(&self, mut out: W) -> std::io::Result<()> {
        let mut header = csv_writer(Vec::new());
        header.write_record(&self.header)?;
        out.write_all(&header.into_inner().map_err(|e| e.into_error())?)?;
        let rows = self.rows.len();
        let blocks = rows.div_ceil(CSV_BLOCK);
        if blocks <= 1 {
            let mut buf = Vec::new();
            self.csv_rows(0..rows, &mut buf)?;
            out.write_all(&buf)?;
            return out.flush();
        }
        const THREADS: usize = 2;
        std::thread::scope(|scope| {
            // For each thread: its blocks' CSV, and the buffers written, back to be reused.
            let lanes: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (made, take) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(2);
                    let (give_back, reuse) = std::sync::mpsc::channel::<Vec<u8>>();
                    // Two buffers a thread, filled and written in turn: they stay in the
                    // processor's caches.
                    for _ in 0..2 {
                        let _ = give_back.send(Vec::new());
                    }
                    scope.spawn(move || {
                        for b in (t..blocks).step_by(THREADS) {
                            // The writer stopped (its error is the one told).
                            let Ok(mut buf) = reuse.recv() else {
                                return;
                            };
                            buf.clear();
                            let block = b * CSV_BLOCK..((b + 1) * CSV_BLOCK).min(rows);
                            let result = self.csv_rows(block, &mut buf).map(|()| buf);
                            // The writer stopped (its error is the one told).
                            if made.send(result).is_err() {
                                return;
                            }
                        }
                    });
                    (take, give_back)
                })
                .collect();
            for b in 0..blocks {
                let (take, give_back) = &lanes[b % THREADS];
                let buf = take
                    .recv()
                    .map_err(|_| std::io::Error::other("a thread making CSV stopped"))??;
                out.write_all(&buf)?;
                let _ = give_back.send(buf);
            }
            out.flush()
        })
    }

    /// Rows `rows` as CSV, appended to `buf`.
    fn csv_rows(&self, rows: std::ops::Range<usize>, buf: &mut Vec<u8>) -> std::io::Result<()> {
        let mut w = csv_writer(buf);
        let width = self.rows.width();
        if width == 0 {
            for _ in rows {
                w.write_record(std::iter::empty::<&str>())?;
            }
            return w.flush();
        }
        // A block of rows at a time, read column by column: each column's ids are read in
        // order, not all the columns' at once for each row.
        const BLOCK: usize = 256;
        let mut block: Vec<&str> = vec![""; BLOCK * width];
        for start in rows.clone().step_by(BLOCK) {
            let end = (start + BLOCK).min(rows.end);
            for k in 0..width {
                for (j, v) in self.rows.column_rows(k, start..end).enumerate() {
                    block[j * width + k] = v;
                }
            }
            for row in block.chunks_exact(width).take(end - start) {
                w.write_record(row)?;
            }
        }
        w.flush()
    }

    /// A table of `header` and `rows`, each row's source row its line in a CSV file (the
    /// header on row 1).
    pub fn from_rows<R: AsRef<[S]>, S: AsRef<str>>(
        header: Vec<String>,
        rows: impl IntoIterator<Item = R>,
    ) -> Table {
        let rows = Cells::from_rows(header.len(), rows);
        Table {
            source_rows: (2..).take(rows.len()).collect(),
            source_columns: header.iter().cloned().map(Some).collect(),
            header_row: 1,
            header,
            rows,
            ..Table::default()
        }
    }

    /// Adds a column: its header, its source header, and its values in row order.
    pub fn push_column<S: AsRef<str>>(
        &mut self,
        header: String,
        source: Option<String>,
        values: impl IntoIterator<Item = S>,
    ) {
        self.header.push(header);
        self.source_columns.push(source);
        self.rows.push_column(values);
    }

    /// Adds a column as [`Table::push_column`] does, built apart ([`Cells::build_column`]).
    pub fn push_built_column(
        &mut self,
        header: String,
        source: Option<String>,
        col: crate::BuiltColumn,
    ) {
        self.header.push(header);
        self.source_columns.push(source);
        self.rows.push_built(col);
    }

    /// Adds a column as [`Table::push_column`] does, its values given as
    /// [`Cells::push_coded`] takes them: each value once, and a code a row.
    pub fn push_coded_column<S: AsRef<str>>(
        &mut self,
        header: String,
        source: Option<String>,
        values: &[S],
        codes: Vec<u32>,
    ) {
        self.header.push(header);
        self.source_columns.push(source);
        self.rows.push_coded(values, codes);
    }

    /// The source row of the clean CSV's line `line` (the header is line 1).
    pub fn source_row_of_line(&self, line: u64) -> Option<u64> {
        match line {
            0 => None,
            1 => Some(self.header_row),
            n => self.source_rows.get(usize::try_from(n - 2).ok()?).copied(),
        }
    }
}

/// A header reduced to lower-case letters and digits, for matching.
pub fn normalize_header(h: &str) -> String {
    h.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn clean_cell(cell: &mut String) -> bool {
    let had_nbsp = cell.contains('\u{a0}');
    if had_nbsp {
        *cell = cell.replace('\u{a0}', " ");
    }
    let trimmed = cell.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if trimmed.len() != cell.len() {
        *cell = trimmed.to_string();
        return true;
    }
    had_nbsp
}

/// Rows as read, each with its source row number. Tidy reads them in passes: twice, or three
/// times when a date column's day/month order is to be decided from its values. A grid in
/// memory and a CSV file read a chunk at a time ([`crate::CsvRows`]) are both `Rows`.
pub trait Rows {
    /// Starts again from the first row.
    fn rewind(&mut self) -> Result<(), Problem>;
    /// Moves to the next row: its source row number, or `None` after the last.
    fn next_row(&mut self) -> Result<Option<u64>, Problem>;
    /// The cells of the row [`Rows::next_row`] moved to.
    fn cells(&mut self) -> &mut Vec<String>;
}

/// The rows of a grid in memory.
pub(crate) struct GridRows<'a> {
    rows: &'a mut [(u64, Vec<String>)],
    at: usize,
    none: Vec<String>,
}

impl<'a> GridRows<'a> {
    pub(crate) fn new(rows: &'a mut [(u64, Vec<String>)]) -> Self {
        GridRows {
            rows,
            at: 0,
            none: Vec::new(),
        }
    }
}

impl Rows for GridRows<'_> {
    fn rewind(&mut self) -> Result<(), Problem> {
        self.at = 0;
        Ok(())
    }

    fn next_row(&mut self) -> Result<Option<u64>, Problem> {
        let Some((n, _)) = self.rows.get(self.at) else {
            return Ok(None);
        };
        self.at += 1;
        Ok(Some(*n))
    }

    fn cells(&mut self) -> &mut Vec<String> {
        match self.at.checked_sub(1) {
            Some(i) => &mut self.rows[i].1,
            None => &mut self.none,
        }
    }
}

/// Where tidy writes the clean table: its header once, then each row with its source row.
pub trait Sink {
    /// The rows about to come, as the first pass counted them (a hint: blank rows and the
    /// header are not among them). By default nothing is done with it.
    fn expect_rows(&mut self, _rows: usize) {}
    fn header(&mut self, header: &[String]) -> std::io::Result<()>;
    /// A clean row (the slice is tidy's, filled again for the next row).
    fn row(&mut self, source_row: u64, cells: &[String]) -> std::io::Result<()>;
}

/// Clean rows, a block at a time: each row's cells one after the other in `text`.
#[derive(Default)]
struct Block {
    /// Cells a row.
    width: usize,
    /// The rows the table is expected to hold ([`Sink::expect_rows`]), told with the first
    /// block, so that the keeper's columns are made that long at once.
    expect: usize,
    text: String,
    /// Where each cell ends in `text`.
    ends: Vec<usize>,
    source_rows: Vec<u64>,
}

/// The rows a [`Collect`] hands over at a time.
const COLLECT_BLOCK: usize = 4096;

/// Rows kept in memory, for a [`Table`]: handed a block at a time to a thread that keeps them
/// as [`Cells`] (finding each value's id), while tidy reads and cleans the next.
struct Collect {
    width: usize,
    /// [`Sink::expect_rows`], until the first block takes it.
    expect: usize,
    block: Block,
    /// The blocks to keep, and the emptied ones back.
    send: std::sync::mpsc::SyncSender<Block>,
    reuse: std::sync::mpsc::Receiver<Block>,
}

impl Collect {
    fn flush(&mut self) -> std::io::Result<()> {
        if self.block.source_rows.is_empty() {
            return Ok(());
        }
        let next = self.reuse.try_recv().unwrap_or_default();
        let mut full = std::mem::replace(&mut self.block, next);
        full.width = self.width;
        full.expect = std::mem::take(&mut self.expect);
        // The keeper stopped: its error is the one told (by `tidy_into_table`).
        self.send
            .send(full)
            .map_err(|_| std::io::Error::other("the table's rows could not be kept"))
    }
}

impl Sink for Collect {
    fn expect_rows(&mut self, rows: usize) {
        self.expect = rows;
    }
    fn header(&mut self, header: &[String]) -> std::io::Result<()> {
        self.width = header.len();
        Ok(())
    }
    fn row(&mut self, source_row: u64, cells: &[String]) -> std::io::Result<()> {
        let b = &mut self.block;
        for k in 0..self.width {
            b.text.push_str(cells.get(k).map_or("", String::as_str));
            b.ends.push(b.text.len());
        }
        b.source_rows.push(source_row);
        if b.source_rows.len() == COLLECT_BLOCK {
            self.flush()?;
        }
        Ok(())
    }
}

/// Keeps the blocks `blocks` sends as [`Cells`], handing each block back emptied.
fn keep(
    blocks: std::sync::mpsc::Receiver<Block>,
    back: std::sync::mpsc::Sender<Block>,
) -> std::io::Result<(Cells, Vec<u64>)> {
    let mut cells: Option<Cells> = None;
    let mut source_rows = Vec::new();
    for mut block in blocks {
        let width = block.width;
        if block.expect > 0 {
            // A hint: where the room cannot be had, the list grows as it would have.
            let _ = source_rows.try_reserve_exact(block.expect.min(MAX_ROWS));
        }
        let cells = cells.get_or_insert_with(|| Cells::expecting(width, block.expect));
        let mut row: Vec<&str> = Vec::with_capacity(width);
        let (mut start, mut cell) = (0, 0);
        for _ in &block.source_rows {
            row.clear();
            for &end in &block.ends[cell..cell + width] {
                row.push(&block.text[start..end]);
                start = end;
            }
            cell += width;
            cells.push_row(&row)?;
        }
        drop(row);
        source_rows.extend_from_slice(&block.source_rows);
        block.text.clear();
        block.ends.clear();
        block.source_rows.clear();
        let _ = back.send(block);
    }
    Ok((cells.unwrap_or_default(), source_rows))
}

/// What tidying decided, beside the rows it wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Shape {
    pub header: Vec<String>,
    /// The source header of each column (`None`: the mapping's column was not in the file).
    pub source_columns: Vec<Option<String>>,
    /// The source row the header was found on.
    pub header_row: u64,
    /// The day/month order decided for each date column.
    pub date_orders: Vec<(String, DateOrder)>,
    /// Source headers that nothing in the mapping took.
    pub unmapped: Vec<String>,
    /// Rows written.
    pub rows: u64,
}

/// Tidies `grid` into a [`Table`]. Errors are notes with severity `Error`; the table is still
/// made as far as it can be, so that every problem is reported in one run.
pub fn tidy(mut grid: Grid, options: &TidyOptions, notes: &mut Vec<Problem>) -> Table {
    let mut rows = GridRows::new(&mut grid.rows);
    // A grid in memory cannot fail to be read, nor hold more rows than a table.
    tidy_into_table(&mut rows, options, notes).unwrap_or_default()
}

/// Tidies `rows` into a [`Table`] in memory (see [`tidy_rows`]).
pub(crate) fn tidy_into_table<R: Rows>(
    rows: &mut R,
    options: &TidyOptions,
    notes: &mut Vec<Problem>,
) -> Result<Table, Problem> {
    let (send, blocks) = std::sync::mpsc::sync_channel(2);
    let (back, reuse) = std::sync::mpsc::channel();
    let (shape, kept) = std::thread::scope(|scope| {
        let keeper = scope.spawn(move || keep(blocks, back));
        let mut sink = Collect {
            width: 0,
            expect: 0,
            block: Block::default(),
            send,
            reuse,
        };
        let shape = tidy_rows(rows, options, notes, &mut sink)
            .and_then(|shape| sink.flush().map(|()| shape).map_err(write_failed));
        // The keeper ends when its blocks do.
        drop(sink);
        let kept = keeper
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the thread keeping the rows failed")));
        (shape, kept)
    });
    let (cells, source_rows) = kept.map_err(write_failed)?;
    let shape = shape?;
    Ok(Table {
        // No rows, no block: the header says how wide.
        rows: if cells.is_empty() {
            Cells::new(shape.header.len())
        } else {
            cells
        },
        header: shape.header,
        source_rows,
        source_columns: shape.source_columns,
        header_row: shape.header_row,
        date_orders: shape.date_orders,
        unmapped: shape.unmapped,
    })
}

/// The rows the header is looked for in.
const HEAD_ROWS: usize = 30;

/// What the first pass learns of the rows below the header.
#[derive(Default)]
struct DataStats {
    width: usize,
    trailing: usize,
    ragged: Vec<Problem>,
    /// Columns (below `width`) with a value in some row.
    filled: Vec<bool>,
}

impl DataStats {
    fn add(&mut self, n: u64, cells: &[String]) {
        let width = self.width;
        if cells.len() > width {
            if cells[width..].iter().all(String::is_empty) {
                self.trailing += 1;
            } else {
                let extra: Vec<&str> = cells[width..]
                    .iter()
                    .filter(|c| !c.is_empty())
                    .map(String::as_str)
                    .collect();
                self.ragged.push(
                    Problem::error(
                        "ragged-row",
                        format!("row {n} has values beyond the header's {width} columns"),
                    )
                    .row(n)
                    .value(extra.join(" | ")),
                );
            }
        } else if cells.len() < width {
            self.ragged.push(
                Problem::error(
                    "ragged-row",
                    format!(
                        "row {n} has {} cell(s); the header has {width} (a delimiter is missing or the row is cut)",
                        cells.len()
                    ),
                )
                .row(n)
                .value(cells.join(",")),
            );
        }
        for (j, c) in cells.iter().take(width).enumerate() {
            if !c.is_empty() {
                self.filled[j] = true;
            }
        }
    }
}

/// The header found in the first rows with values: where it is, what is above it.
struct HeaderFound {
    /// Its index among the rows with values.
    index: usize,
    row: u64,
    cells: Vec<String>,
    titles: Option<Problem>,
}

fn header_of(head: &[(u64, Vec<String>)], options: &TidyOptions) -> HeaderFound {
    let h = find_header(head, &options.columns);
    let header_row = head[h].0;
    let titles = (h > 0).then(|| {
        let titles: Vec<String> = head[..h]
            .iter()
            .map(|(_, c)| {
                c.iter()
                    .filter(|x| !x.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        Problem::info(
            "title-rows",
            format!(
                "the header is on row {header_row}; {} row(s) above it left out: {}",
                h,
                titles
                    .iter()
                    .map(|t| format!("{t:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    });
    let mut cells = head[h].1.clone();
    let width = cells
        .iter()
        .rposition(|c| !c.is_empty())
        .map_or(0, |i| i + 1);
    cells.truncate(width);
    HeaderFound {
        index: h,
        row: header_row,
        cells,
        titles,
    }
}

/// Moves to the next row below the header, cleaning each of its cells: its source row, or
/// `None` at the end. Rows without values are skipped, and so are the first `skip` rows with
/// values (the header and the rows above it).
fn next_data_row<R: Rows>(
    rows: &mut R,
    seen: &mut usize,
    skip: usize,
) -> Result<Option<u64>, Problem> {
    loop {
        let Some(n) = rows.next_row()? else {
            return Ok(None);
        };
        let cells = rows.cells();
        for c in cells.iter_mut() {
            clean_cell(c);
        }
        if cells.iter().all(String::is_empty) {
            continue;
        }
        *seen += 1;
        if *seen > skip {
            return Ok(Some(n));
        }
    }
}

fn write_failed(e: std::io::Error) -> Problem {
    Problem::error("write", format!("writing the clean table failed: {e}"))
}

/// Tidies `rows` into `sink`: finds the header, drops blank rows and empty columns, maps the
/// columns by `options` and normalises values, noting every change. Errors in the data are
/// notes with severity `Error` and the table is still made as far as it can be, so that every
/// problem is reported in one run; the `Err` is for rows that cannot be read or written.
///
/// Memory is bounded by a row, the first rows with values (`HEAD_ROWS`, 30), and the notes: the
/// rows are read in passes (see [`Rows`]).
pub fn tidy_rows<R: Rows, S: Sink>(
    rows: &mut R,
    options: &TidyOptions,
    notes: &mut Vec<Problem>,
    sink: &mut S,
) -> Result<Shape, Problem> {
    // Pass 1: padding, blank rows, the header, the width, ragged rows, filled columns.
    rows.rewind()?;
    let mut padded: Vec<usize> = Vec::new();
    let mut blank = crate::RowList::new(12);
    let mut head: Vec<(u64, Vec<String>)> = Vec::new();
    let mut found: Option<HeaderFound> = None;
    let mut stats = DataStats::default();
    // Rows with a value: the header and the rows above it are among them.
    let mut nonblank = 0usize;
    let start = |head: &[(u64, Vec<String>)], stats: &mut DataStats| {
        let h = header_of(head, options);
        stats.width = h.cells.len();
        stats.filled = vec![false; stats.width];
        for (n, cells) in &head[h.index + 1..] {
            stats.add(*n, cells);
        }
        h
    };
    while let Some(n) = rows.next_row()? {
        let cells = rows.cells();
        for (j, c) in cells.iter_mut().enumerate() {
            if clean_cell(c) {
                if padded.len() <= j {
                    padded.resize(j + 1, 0);
                }
                padded[j] += 1;
            }
        }
        if cells.iter().all(String::is_empty) {
            blank.push(n);
            continue;
        }
        nonblank += 1;
        match &found {
            Some(_) => stats.add(n, cells),
            None => {
                head.push((n, cells.clone()));
                if head.len() == HEAD_ROWS {
                    found = Some(start(&head, &mut stats));
                }
            }
        }
    }
    if blank.count() > 0 {
        notes.push(Problem::info(
            "blank-rows",
            format!(
                "removed {} blank row(s) (empty, or only delimiters): row(s) {blank}",
                blank.count(),
            ),
        ));
    }
    let found = match found {
        Some(f) => f,
        None if head.is_empty() => {
            notes.push(Problem::error(
                "empty",
                "the file has no rows with any values",
            ));
            sink.header(&[]).map_err(write_failed)?;
            return Ok(Shape::default());
        }
        None => start(&head, &mut stats),
    };
    drop(head);
    let HeaderFound {
        index: header_index,
        row: header_row,
        cells: mut header,
        titles,
    } = found;
    let width = stats.width;
    notes.extend(titles);
    for (j, n) in padded
        .iter()
        .enumerate()
        .filter(|(j, n)| **n > 0 && *j < width)
    {
        notes.push(
            Problem::info(
                "padding",
                format!("removed spaces or non-breaking spaces around {n} value(s)"),
            )
            .column(header[j].clone()),
        );
    }
    notes.append(&mut stats.ragged);
    if stats.trailing > 0 {
        notes.push(Problem::info(
            "trailing-delimiters",
            format!(
                "removed empty cells after the last column (trailing delimiters) on {} row(s)",
                stats.trailing
            ),
        ));
    }
    // Empty-header columns: dropped when empty, named when they hold values.
    let mut keep: Vec<usize> = Vec::new();
    for (j, (name, filled)) in header.iter_mut().zip(&stats.filled).enumerate() {
        if !name.is_empty() {
            keep.push(j);
        } else if !filled {
            notes.push(Problem::info(
                "empty-columns",
                format!("removed column {} (no header, no values)", j + 1),
            ));
        } else {
            *name = format!("column {}", j + 1);
            notes.push(
                Problem::warning(
                    "missing-header",
                    format!(
                        "column {} has values but no header; named {:?}",
                        j + 1,
                        name
                    ),
                )
                .row(header_row),
            );
            keep.push(j);
        }
    }
    let mut seen = std::collections::HashMap::new();
    for &j in &keep {
        let count = seen.entry(header[j].clone()).or_insert(0usize);
        *count += 1;
        if *count > 1 {
            let renamed = format!("{} ({})", header[j], count);
            notes.push(
                Problem::warning(
                    "duplicate-header",
                    format!(
                        "the header {:?} appears more than once; this one is {renamed:?}",
                        header[j]
                    ),
                )
                .row(header_row)
                .column(header[j].clone()),
            );
            header[j] = renamed;
        }
    }
    let (out_header, sources, rules, unmapped) =
        map_columns(&header, &keep, width, header_row, options, notes);
    let source_columns: Vec<Option<String>> = sources
        .iter()
        .map(|s| s.map(|j| header[j].clone()))
        .collect();
    let mut columns: Vec<Values> = rules
        .iter()
        .enumerate()
        .map(|(k, rule)| Values::new(rule, source_columns[k].clone()))
        .collect();
    // Pass 2, when a date column's day/month order is decided by its values.
    let undecided: Vec<(usize, usize)> = rules
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.kind, ValueKind::Date | ValueKind::DateTime))
        .filter(|(_, r)| r.date_order.is_none())
        .filter_map(|(k, _)| sources[k].map(|j| (k, j)))
        .collect();
    let skip = header_index + 1;
    if !undecided.is_empty() {
        let mut evidence: Vec<OrderEvidence> = vec![OrderEvidence::default(); undecided.len()];
        rows.rewind()?;
        let mut seen = 0;
        while next_data_row(rows, &mut seen, skip)?.is_some() {
            let cells = rows.cells();
            for (e, &(_, j)) in evidence.iter_mut().zip(&undecided) {
                let Some(raw) = cells.get(j).filter(|c| !c.is_empty()) else {
                    continue;
                };
                if let Some(d) = values::parse_raw_date(raw) {
                    e.add(raw, &d.date);
                }
            }
        }
        for (e, &(k, _)) in evidence.iter().zip(&undecided) {
            columns[k].decide_order(&rules[k], e);
        }
    }
    for (k, rule) in rules.iter().enumerate() {
        if columns[k].is_date() && (rule.date_order.is_some() || sources[k].is_none()) {
            columns[k].decide_order(rule, &OrderEvidence::default());
        }
    }
    // The last pass: the clean rows.
    sink.expect_rows(nonblank.saturating_sub(header_index + 1));
    sink.header(&out_header).map_err(write_failed)?;
    rows.rewind()?;
    let mut seen = 0;
    let mut written = 0u64;
    // One row's cells, filled again for each row: their memory is reused.
    let mut out: Vec<String> = vec![String::new(); sources.len()];
    while let Some(n) = next_data_row(rows, &mut seen, skip)? {
        let cells = rows.cells();
        for ((cell, source), values) in out.iter_mut().zip(&sources).zip(columns.iter_mut()) {
            cell.clear();
            if let Some(v) = source.and_then(|j| cells.get(j)) {
                cell.push_str(v);
            }
            if !cell.is_empty() {
                values.normalize(cell, n);
            }
        }
        sink.row(n, &out).map_err(write_failed)?;
        written += 1;
    }
    let mut date_orders = Vec::new();
    for values in columns {
        if let Some(order) = values.finish(notes) {
            date_orders.push(order);
        }
    }
    Ok(Shape {
        header: out_header,
        source_columns,
        header_row,
        date_orders,
        unmapped,
        rows: written,
    })
}

/// The mapping: for each of the clean table's columns, the source column it is read from.
/// Without rules, the source columns are kept as they are.
fn map_columns(
    header: &[String],
    keep: &[usize],
    width: usize,
    header_row: u64,
    options: &TidyOptions,
    notes: &mut Vec<Problem>,
) -> (
    Vec<String>,
    Vec<Option<usize>>,
    Vec<ColumnRule>,
    Vec<String>,
) {
    if options.columns.is_empty() {
        return (
            keep.iter().map(|&j| header[j].clone()).collect::<Vec<_>>(),
            keep.iter().map(|&j| Some(j)).collect::<Vec<_>>(),
            keep.iter()
                .map(|_| ColumnRule::default())
                .collect::<Vec<_>>(),
            Vec::new(),
        );
    }
    let mut taken = vec![false; width];
    let mut sources = Vec::new();
    let mut absent_optional = Vec::new();
    for rule in &options.columns {
        let wanted: Vec<String> = match &rule.source {
            Some(s) => vec![normalize_header(s)],
            None => std::iter::once(&rule.name)
                .chain(rule.aliases.iter())
                .map(|a| normalize_header(a))
                .collect(),
        };
        // Every untaken header that fits, with its rank in the preference order.
        let mut fits: Vec<(usize, usize)> = keep
            .iter()
            .copied()
            .filter(|&j| !taken[j])
            .filter_map(|j| {
                let h = normalize_header(&header[j]);
                wanted
                    .iter()
                    .position(|w| !w.is_empty() && *w == h)
                    .map(|r| (r, j))
            })
            .collect();
        fits.sort();
        let found = fits.first().map(|&(_, j)| j);
        if let (Some(j), false) = (found, fits.len() < 2 || rule.source.is_some()) {
            let left: Vec<String> = fits[1..]
                .iter()
                .map(|&(_, o)| format!("{:?}", header[o]))
                .collect();
            notes.push(
                Problem::warning(
                    "column-choice",
                    format!(
                        "{} of the file's columns fit {:?}: took {:?} and left {} (the preference order is {}); to take another, name it with `source = \"HEADER\"` for this column in the pipeline",
                        fits.len(),
                        rule.name,
                        header[j],
                        left.join(", "),
                        quoted_list(
                            std::iter::once(&rule.name).chain(rule.aliases.iter()),
                            8,
                            " > "
                        )
                    ),
                )
                .row(header_row)
                .column(header[j].clone()),
            );
        }
        match found {
            Some(j) => taken[j] = true,
            None if rule.optional && !rule.required => absent_optional.push(rule.name.clone()),
            None => {
                let known: Vec<&str> = keep.iter().map(|&j| header[j].as_str()).collect();
                let note = Problem::new(
                    if rule.required {
                        Severity::Error
                    } else {
                        Severity::Warning
                    },
                    "missing-column",
                    format!(
                        "no column for {:?} (looked for {}); the file's headers are {}",
                        rule.name,
                        match &rule.source {
                            Some(s) => format!("{s:?}, the source the pipeline names"),
                            None => quoted_list(
                                std::iter::once(&rule.name).chain(rule.aliases.iter()),
                                6,
                                ", ",
                            ),
                        },
                        quoted_list(known.iter(), 12, ", ")
                    ),
                )
                .row(header_row)
                .column(rule.name.clone());
                notes.push(note);
            }
        }
        sources.push(found);
    }
    if !absent_optional.is_empty() {
        notes.push(
            Problem::info(
                "optional-columns",
                format!(
                    "{} optional column(s) not in the file, left empty: {}",
                    absent_optional.len(),
                    absent_optional
                        .iter()
                        .map(|a| format!("{a:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .row(header_row),
        );
    }
    let unmapped: Vec<String> = keep
        .iter()
        .filter(|&&j| !taken[j])
        .map(|&j| header[j].clone())
        .collect();
    for u in &unmapped {
        notes.push(
            Problem::warning(
                "unmapped-column",
                format!("column {u:?} is not in the mapping; it is left out of the clean table (the source file keeps it)"),
            )
            .row(header_row)
            .column(u.clone()),
        );
    }
    (
        options.columns.iter().map(|r| r.name.clone()).collect(),
        sources,
        options.columns.clone(),
        unmapped,
    )
}

/// One column's values as the last pass normalises them, and what it noted, kept to be
/// reported in the column's order once the pass is done.
struct Values {
    kind: ValueKind,
    column: String,
    /// Values that are not numbers, or not dates in a form fivestar reads.
    errors: Vec<Problem>,
    /// The day/month order and its note (dates).
    order: Option<(DateOrder, Option<Problem>)>,
    /// Dates that are not real dates in that order.
    unreal: Vec<Problem>,
    changed: usize,
    example: Option<(String, String)>,
    two_digit: usize,
    dropped_time: Option<(u64, String)>,
}

impl Values {
    fn new(rule: &ColumnRule, source: Option<String>) -> Self {
        Values {
            kind: rule.kind,
            column: source.unwrap_or_else(|| rule.name.clone()),
            errors: Vec::new(),
            order: None,
            unreal: Vec::new(),
            changed: 0,
            example: None,
            two_digit: 0,
            dropped_time: None,
        }
    }

    fn is_date(&self) -> bool {
        matches!(self.kind, ValueKind::Date | ValueKind::DateTime)
    }

    /// Decides the day/month order: the mapping's, else the one the values show.
    fn decide_order(&mut self, rule: &ColumnRule, evidence: &OrderEvidence) {
        let column = &self.column;
        self.order = Some(match (rule.date_order, &evidence.day_first, &evidence.month_first) {
            (Some(o), _, _) => (
                o,
                Some(
                    Problem::info(
                        "date-order",
                        format!("day/month order {} (declared by the mapping)", o.name()),
                    )
                    .column(column),
                ),
            ),
            (None, Some(d), Some(m)) => (
                DateOrder::Dmy,
                Some(
                    Problem::error(
                        "date-order",
                        format!("the column mixes day-first ({d:?}) and month-first ({m:?}) dates; declare `date_order` and fix the other rows"),
                    )
                    .column(column),
                ),
            ),
            (None, Some(d), None) => (
                DateOrder::Dmy,
                Some(
                    Problem::info("date-order", format!("day/month order dmy, decided by {d:?}"))
                        .column(column),
                ),
            ),
            (None, None, Some(m)) => (
                DateOrder::Mdy,
                Some(
                    Problem::info(
                        "date-order",
                        format!("day/month order mdy (month first), decided by {m:?}"),
                    )
                    .column(column),
                ),
            ),
            (None, None, None) => (
                DateOrder::Dmy,
                (evidence.numeric > 0).then(|| {
                    Problem::warning(
                        "date-order",
                        format!(
                            "no value in {} numeric dates decides the day/month order; assumed day first (UK); declare `date_order` to confirm",
                            evidence.numeric
                        ),
                    )
                    .column(column)
                }),
            ),
        });
    }

    /// Normalises a value that is not empty, or notes why it cannot be.
    fn normalize(&mut self, cell: &mut String, row: u64) {
        match self.kind {
            ValueKind::Text => {}
            ValueKind::Amount | ValueKind::Integer => self.number(cell, row),
            ValueKind::Date | ValueKind::DateTime => self.date(cell, row),
        }
    }

    fn number(&mut self, cell: &mut String, row: u64) {
        let integer = self.kind == ValueKind::Integer;
        let parsed = if integer {
            values::parse_integer(cell)
        } else {
            values::parse_amount(cell)
        };
        match parsed {
            Ok(v) => {
                if v != *cell {
                    self.changed += 1;
                    if self.example.is_none() {
                        self.example = Some((cell.clone(), v.clone()));
                    }
                    *cell = v;
                }
            }
            Err(why) => self.errors.push(
                Problem::error(
                    if integer { "integer" } else { "amount" },
                    format!(
                        "not {} ({why})",
                        if integer {
                            "a whole number"
                        } else {
                            "an amount"
                        }
                    ),
                )
                .row(row)
                .column(&self.column)
                .value(cell.clone()),
            ),
        }
    }

    fn date(&mut self, cell: &mut String, row: u64) {
        let Some(p) = values::parse_raw_date(cell) else {
            self.errors.push(
                Problem::error("date", "not a date in a form fivestar reads (e.g. 31/01/2024, 2024-01-31, 31-Jan-2024)")
                    .row(row)
                    .column(&self.column)
                    .value(cell.clone()),
            );
            return;
        };
        let order = self.order.as_ref().map_or(DateOrder::Dmy, |o| o.0);
        let Some((y, m, d)) = values::resolve(p.date, order) else {
            self.unreal.push(
                Problem::error(
                    "date",
                    format!("not a real date when read {}", order.name()),
                )
                .row(row)
                .column(&self.column)
                .value(cell.clone()),
            );
            return;
        };
        self.two_digit += usize::from(p.two_digit_year);
        let out = match (self.kind, p.time) {
            (ValueKind::DateTime, Some((h, mi, s))) => {
                format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
            }
            (ValueKind::DateTime, None) => format!("{y:04}-{m:02}-{d:02}T00:00:00"),
            (_, t) => {
                if t.is_some_and(|t| t != (0, 0, 0)) && self.dropped_time.is_none() {
                    self.dropped_time = Some((row, cell.clone()));
                }
                format!("{y:04}-{m:02}-{d:02}")
            }
        };
        if out != *cell {
            self.changed += 1;
        }
        *cell = out;
    }

    /// Notes what the column's values needed, in the order a reader follows; the date order
    /// decided (dates).
    fn finish(self, notes: &mut Vec<Problem>) -> Option<(String, DateOrder)> {
        let column = self.column;
        notes.extend(self.errors);
        match self.kind {
            ValueKind::Text => None,
            ValueKind::Amount | ValueKind::Integer => {
                if let Some((from, to)) = self.example {
                    notes.push(
                        Problem::info(
                            "amount-format",
                            format!("normalised {} value(s), e.g. {from:?} → {to}", self.changed),
                        )
                        .column(&column),
                    );
                }
                None
            }
            ValueKind::Date | ValueKind::DateTime => {
                let (order, note) = self.order.unwrap_or((DateOrder::Dmy, None));
                notes.extend(note);
                notes.extend(self.unreal);
                if self.changed > 0 {
                    notes.push(
                        Problem::info(
                            "date-format",
                            format!("wrote {} date(s) as ISO 8601", self.changed),
                        )
                        .column(&column),
                    );
                }
                if self.two_digit > 0 {
                    notes.push(
                        Problem::info(
                            "two-digit-year",
                            format!("{} date(s) have two-digit years: 00–69 read as 2000–2069, 70–99 as 1970–1999", self.two_digit),
                        )
                        .column(&column),
                    );
                }
                if let Some((row, raw)) = self.dropped_time {
                    notes.push(
                        Problem::warning(
                            "time-dropped",
                            "a date column holds times of day; only the dates are kept",
                        )
                        .row(row)
                        .column(&column)
                        .value(raw),
                    );
                }
                Some((column, order))
            }
        }
    }
}

/// `"a", "b", "c" and 4 more`: at most `max` items quoted and joined by `sep`, then how many
/// were left out.
fn quoted_list<T: std::fmt::Debug>(
    items: impl Iterator<Item = T>,
    max: usize,
    sep: &str,
) -> String {
    let all: Vec<String> = items.map(|a| format!("{a:?}")).collect();
    if all.len() <= max {
        return all.join(sep);
    }
    format!("{} and {} more", all[..max].join(sep), all.len() - max)
}

/// The header is the row that matches the mapping best; without a mapping (or no match), the
/// first row about as wide as the widest of the first rows.
fn find_header(rows: &[(u64, Vec<String>)], rules: &[ColumnRule]) -> usize {
    let look = rows.len().min(30);
    if !rules.is_empty() {
        let wanted: std::collections::HashSet<String> = rules
            .iter()
            .flat_map(|r| {
                std::iter::once(&r.name)
                    .chain(r.aliases.iter())
                    .chain(r.source.iter())
            })
            .map(|a| normalize_header(a))
            .filter(|a| !a.is_empty())
            .collect();
        let mut best = (0usize, 0usize);
        for (i, (_, cells)) in rows[..look].iter().enumerate() {
            let score = cells
                .iter()
                .filter(|c| wanted.contains(&normalize_header(c)))
                .count();
            if score > best.1 {
                best = (i, score);
            }
        }
        if best.1 > 0 {
            return best.0;
        }
    }
    let filled = |c: &Vec<String>| c.iter().filter(|x| !x.is_empty()).count();
    let widest = rows[..look]
        .iter()
        .map(|(_, c)| filled(c))
        .max()
        .unwrap_or(0);
    let enough = (widest * 3).div_ceil(5).max(1);
    rows[..look]
        .iter()
        .position(|(_, c)| filled(c) >= enough)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of several blocks is written as one writer writes it row by row, quotes and
    /// all; a writer that fails stops the writing with its error.
    #[test]
    fn a_big_table_is_written_in_order() {
        let rows = 2 * CSV_BLOCK + 123;
        let cells: Vec<[String; 3]> = (0..rows)
            .map(|i| {
                [
                    format!("row {i}"),
                    if i % 7 == 0 {
                        format!("\"Q\", {i}")
                    } else {
                        String::new()
                    },
                    format!("{}", i % 5),
                ]
            })
            .collect();
        let table = Table::from_rows(vec!["a".into(), "b, c".into(), "d".into()], &cells);
        let mut expected = csv_writer(Vec::new());
        expected.write_record(["a", "b, c", "d"]).unwrap();
        for row in &cells {
            expected.write_record(row).unwrap();
        }
        let expected = expected.into_inner().unwrap();
        let mut written = Vec::new();
        table.write_csv(&mut written).unwrap();
        assert_eq!(
            String::from_utf8(written).unwrap(),
            String::from_utf8(expected.clone()).unwrap()
        );
        // A full disk half way.
        struct Full(usize);
        impl std::io::Write for Full {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                if self.0 < buf.len() {
                    return Err(std::io::Error::other("disk full"));
                }
                self.0 -= buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let e = table.write_csv(Full(expected.len() / 2)).unwrap_err();
        assert_eq!(e.to_string(), "disk full");
        // A small table, in one block.
        let mut small = Vec::new();
        Table::from_rows(vec!["a".into()], [["x,y"]])
            .write_csv(&mut small)
            .unwrap();
        assert_eq!(small, b"a\n\"x,y\"\n");
    }

    fn grid(rows: &[&[&str]]) -> Grid {
        Grid::from_rows(rows)
    }

    fn rule(name: &str, aliases: &[&str], kind: ValueKind) -> ColumnRule {
        ColumnRule {
            name: name.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            kind,
            required: true,
            ..ColumnRule::default()
        }
    }

    #[test]
    fn title_rows_blank_rows_padding_and_trailing_delimiters() {
        let g = grid(&[
            &["Trafford Council", "", ""],
            &["Payments over £500", "", ""],
            &["", "", ""],
            &["Supplier Name ", "Amount", "Date", ""],
            &["\u{a0}Acme Ltd", "£1,234.56", "13/01/2024", ""],
            &["", "", "", ""],
            &["Bolt & Co", "(250.00)", "02/01/2024"],
            &["", "", ""],
        ]);
        let mut notes = vec![];
        let t = tidy(
            g,
            &TidyOptions {
                columns: vec![
                    rule("supplier", &["Supplier name", "Payee"], ValueKind::Text),
                    rule("amount", &["Net Amount", "amount"], ValueKind::Amount),
                    rule("date", &["Date"], ValueKind::Date),
                ],
            },
            &mut notes,
        );
        assert_eq!(t.header_row, 4);
        assert_eq!(t.header, vec!["supplier", "amount", "date"]);
        assert_eq!(
            t.rows,
            vec![
                vec!["Acme Ltd", "1234.56", "2024-01-13"],
                vec!["Bolt & Co", "-250.00", "2024-01-02"]
            ]
        );
        assert_eq!(t.source_rows, vec![5, 7]);
        assert_eq!(t.date_orders, vec![("Date".to_string(), DateOrder::Dmy)]);
        assert!(
            notes.iter().all(|n| n.severity != Severity::Error),
            "{notes:#?}"
        );
        for rule in [
            "title-rows",
            "blank-rows",
            "padding",
            "trailing-delimiters",
            "amount-format",
        ] {
            assert!(notes.iter().any(|n| n.rule == rule), "{rule}: {notes:#?}");
        }
        let mut out = Vec::new();
        t.write_csv(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "supplier,amount,date\nAcme Ltd,1234.56,2024-01-13\nBolt & Co,-250.00,2024-01-02\n"
        );
    }

    #[test]
    fn ragged_rows_are_errors_with_their_rows() {
        let g = grid(&[
            &["a", "b", "c"],
            &["1", "2", "3"],
            &["4", "5"],
            &["6", "7", "8", "9"],
        ]);
        let mut notes = vec![];
        let t = tidy(g, &TidyOptions::default(), &mut notes);
        let ragged: Vec<u64> = notes
            .iter()
            .filter(|n| n.rule == "ragged-row" && n.severity == Severity::Error)
            .filter_map(|n| n.row)
            .collect();
        assert_eq!(ragged, vec![3, 4]);
        assert_eq!(t.rows.len(), 3);
    }

    #[test]
    fn date_order_is_decided_per_column() {
        let g = grid(&[
            &["d"],
            &["07/27/2007 12:00:00 AM"],
            &["01/02/2007 12:00:00 AM"],
        ]);
        let mut notes = vec![];
        let t = tidy(
            g,
            &TidyOptions {
                columns: vec![rule("d", &[], ValueKind::Date)],
            },
            &mut notes,
        );
        assert_eq!(t.rows, vec![vec!["2007-07-27"], vec!["2007-01-02"]]);
        assert_eq!(t.date_orders[0].1, DateOrder::Mdy);

        let g = grid(&[&["d"], &["13/01/2024"], &["01/13/2024"]]);
        let mut notes = vec![];
        tidy(
            g,
            &TidyOptions {
                columns: vec![rule("d", &[], ValueKind::Date)],
            },
            &mut notes,
        );
        assert!(notes
            .iter()
            .any(|n| n.rule == "date-order" && n.severity == Severity::Error));

        let g = grid(&[&["d"], &["01/02/2024"]]);
        let mut notes = vec![];
        tidy(
            g,
            &TidyOptions {
                columns: vec![rule("d", &[], ValueKind::Date)],
            },
            &mut notes,
        );
        assert!(notes
            .iter()
            .any(|n| n.rule == "date-order" && n.severity == Severity::Warning));
    }

    #[test]
    fn missing_and_unmapped_columns_are_reported() {
        let g = grid(&[&["Payee", "Extra"], &["Acme", "x"]]);
        let mut notes = vec![];
        let t = tidy(
            g,
            &TidyOptions {
                columns: vec![
                    rule("supplier", &["Supplier Name", "payee"], ValueKind::Text),
                    rule("amount", &[], ValueKind::Amount),
                ],
            },
            &mut notes,
        );
        assert_eq!(t.rows, vec![vec!["Acme", ""]]);
        assert_eq!(t.unmapped, vec!["Extra"]);
        assert!(notes
            .iter()
            .any(|n| n.rule == "missing-column" && n.severity == Severity::Error));
        assert!(notes.iter().any(|n| n.rule == "unmapped-column"));
    }

    #[test]
    fn bad_values_name_row_column_and_value() {
        let g = grid(&[
            &["Amount", "Date"],
            &["£12", "31/02/2024"],
            &["twelve", "2024-01-01"],
        ]);
        let mut notes = vec![];
        tidy(
            g,
            &TidyOptions {
                columns: vec![
                    rule("Amount", &[], ValueKind::Amount),
                    rule("Date", &[], ValueKind::Date),
                ],
            },
            &mut notes,
        );
        let errors: Vec<(u64, &str, &str)> = notes
            .iter()
            .filter(|n| n.severity == Severity::Error)
            .map(|n| {
                (
                    n.row.unwrap(),
                    n.column.as_deref().unwrap(),
                    n.value.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            errors,
            vec![(3, "Amount", "twelve"), (2, "Date", "31/02/2024")]
        );
    }

    #[test]
    fn clean_lines_map_to_source_rows() {
        let g = grid(&[&["Title"], &["a", "b"], &["1", "2"], &["", ""], &["3", "4"]]);
        let t = tidy(g, &TidyOptions::default(), &mut vec![]);
        let rows: Vec<Option<u64>> = (0..5).map(|l| t.source_row_of_line(l)).collect();
        assert_eq!(rows, vec![None, Some(2), Some(3), Some(5), None]);
    }

    #[test]
    fn headers_match_loosely() {
        assert_eq!(normalize_header(" Supplier name "), "suppliername");
        assert_eq!(normalize_header("SUPPLIER_NAME"), "suppliername");
        assert_eq!(normalize_header("Supplier-Name."), "suppliername");
    }

    #[test]
    fn the_preferred_of_several_fitting_columns_is_taken_and_the_choice_reported() {
        let g = grid(&[
            &["Effective Date", "Supplier", "Payment Date", "Amount"],
            &["31/01/2024", "Acme", "15/01/2024", "10.00"],
        ]);
        let date = rule("Date", &["Payment Date", "Effective Date"], ValueKind::Date);
        let rules = vec![
            date.clone(),
            rule("Supplier", &[], ValueKind::Text),
            rule("Amount", &[], ValueKind::Amount),
        ];
        let mut notes = vec![];
        let t = tidy(
            g.clone(),
            &TidyOptions {
                columns: rules.clone(),
            },
            &mut notes,
        );
        assert_eq!(t.rows.get(0, 0), "2024-01-15");
        assert_eq!(t.source_columns[0].as_deref(), Some("Payment Date"));
        assert_eq!(t.unmapped, vec!["Effective Date".to_string()]);
        let choice: Vec<_> = notes.iter().filter(|n| n.rule == "column-choice").collect();
        assert_eq!(choice.len(), 1, "{notes:?}");
        assert!(
            choice[0].message.contains("took \"Payment Date\"")
                && choice[0].message.contains("left \"Effective Date\""),
            "{}",
            choice[0].message
        );
        // A named source wins, and is not reported as a choice.
        let mut named = rules.clone();
        named[0].source = Some("effective date".into());
        let mut notes = vec![];
        let t = tidy(g.clone(), &TidyOptions { columns: named }, &mut notes);
        assert_eq!(t.rows.get(0, 0), "2024-01-31");
        assert!(notes.iter().all(|n| n.rule != "column-choice"), "{notes:?}");
        // A named source the file lacks is missing, even when an alias would fit.
        let mut absent = rules;
        absent[0].source = Some("Posting Date".into());
        let mut notes = vec![];
        let t = tidy(g, &TidyOptions { columns: absent }, &mut notes);
        assert_eq!(t.source_columns[0], None);
        assert!(notes
            .iter()
            .any(|n| n.rule == "missing-column"
                && n.message.contains("\"Posting Date\", the source")));
    }
}
