//! Tidying a file too big to hold: CSV is read a chunk at a time, in passes, and the clean
//! table is written as CSV as it is made. Memory is bounded by a row, the first rows (where the
//! header is looked for), a chunk, and the notes. A workbook is read whole, as calamine needs
//! it, and then tidied the same way.

use crate::decode::read_chunk;
use crate::read::{format_of, read_failed};
use crate::table::{tidy_into_table, tidy_rows, GridRows, Shape, Sink};
use crate::{CsvRows, Format, Problem, ReadOptions, Table, TidyOptions};
use std::io::{Read, Seek, Write};

/// What [`tidy_to_csv`] read and made.
#[derive(Debug, Clone)]
pub struct Tidied {
    pub shape: Shape,
    pub format: Format,
    /// The text encoding (CSV).
    pub encoding: Option<&'static str>,
    pub delimiter: Option<u8>,
    /// The sheet read (workbooks).
    pub sheet: Option<String>,
    /// The source row of each line of the clean CSV.
    pub lines: LineMap,
}

/// The source row of each line of a clean CSV, kept as runs of consecutive rows: a few
/// numbers for a file of millions of rows, one more run for each blank row or cell that
/// spans lines.
#[derive(Debug, Clone, Default)]
pub struct LineMap {
    /// The header's source row.
    header: u64,
    /// (first data row's index, its source row), for each run.
    runs: Vec<(u64, u64)>,
    rows: u64,
}

impl LineMap {
    fn push(&mut self, source_row: u64) {
        let index = self.rows;
        self.rows += 1;
        if let Some(&(first, source)) = self.runs.last() {
            if source + (index - first) == source_row {
                return;
            }
        }
        self.runs.push((index, source_row));
    }

    /// The source row of the clean CSV's line `line` (the header is line 1).
    pub fn source_row_of_line(&self, line: u64) -> Option<u64> {
        match line {
            0 => None,
            1 => Some(self.header),
            n => {
                let index = n - 2;
                if index >= self.rows {
                    return None;
                }
                let run = self.runs.partition_point(|&(first, _)| first <= index);
                let (first, source) = self.runs[run.checked_sub(1)?];
                Some(source + (index - first))
            }
        }
    }

    /// How many runs it keeps.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }
}

/// Clean rows written as CSV (RFC 4180, UTF-8, LF line endings), as [`crate::Table::write_csv`]
/// writes them.
struct CsvSink<W: Write> {
    out: csv::Writer<W>,
    lines: LineMap,
}

impl<W: Write> Sink for CsvSink<W> {
    fn header(&mut self, header: &[String]) -> std::io::Result<()> {
        self.out.write_record(header).map_err(std::io::Error::other)
    }
    fn row(&mut self, source_row: u64, cells: &[String]) -> std::io::Result<()> {
        self.lines.push(source_row);
        self.out.write_record(cells).map_err(std::io::Error::other)
    }
}

/// Tidies the file `reader` holds (CSV, or a workbook) into clean CSV on `out`, as
/// [`crate::read`] and [`crate::tidy`] would, with the same notes, without holding a CSV
/// file's rows: it reads the text three to five times (the encoding, then tidy's passes),
/// so `reader` must be able to seek back to its start.
pub fn tidy_to_csv<R: Read + Seek, W: Write>(
    mut reader: R,
    read: &ReadOptions,
    options: &TidyOptions,
    out: W,
    notes: &mut Vec<Problem>,
) -> Result<Tidied, Problem> {
    let mut head = [0u8; 256];
    reader.rewind().map_err(read_failed)?;
    let n = read_chunk(&mut reader, &mut head).map_err(read_failed)?;
    let format = format_of(&head[..n], read, notes)?;
    let mut sink = CsvSink {
        out: crate::table::csv_writer(out),
        lines: LineMap::default(),
    };
    let (shape, encoding, delimiter, sheet) = if format == Format::Csv {
        let mut rows = CsvRows::open(reader, read, notes)?;
        let shape = tidy_rows(&mut rows, options, notes, &mut sink)?;
        (shape, Some(rows.encoding()), Some(rows.delimiter()), None)
    } else {
        let mut bytes = Vec::new();
        reader.rewind().map_err(read_failed)?;
        reader.read_to_end(&mut bytes).map_err(read_failed)?;
        let mut grid = crate::workbook::read(&bytes, format, read, notes)?;
        drop(bytes);
        let shape = tidy_rows(
            &mut GridRows::new(&mut grid.rows),
            options,
            notes,
            &mut sink,
        )?;
        (shape, grid.encoding, grid.delimiter, grid.sheet)
    };
    sink.out
        .flush()
        .map_err(|e| Problem::error("write", format!("writing the clean table failed: {e}")))?;
    let mut lines = sink.lines;
    lines.header = shape.header_row;
    Ok(Tidied {
        shape,
        format,
        encoding,
        delimiter,
        sheet,
        lines,
    })
}

/// A table read and tidied in memory by [`tidy_to_table`], and what was read.
#[derive(Debug, Clone)]
pub struct TidiedTable {
    pub table: Table,
    pub format: Format,
    /// The text encoding (CSV).
    pub encoding: Option<&'static str>,
    /// The sheet read (workbooks).
    pub sheet: Option<String>,
}

/// Reads and tidies `bytes` into a [`Table`], as [`crate::read`] and then [`crate::tidy`]
/// would, with the same notes; but a CSV's rows are read in passes from `bytes` as
/// [`tidy_to_csv`] reads them, so that no grid of the source is held beside the table (a
/// workbook is read into a grid first).
pub fn tidy_to_table(
    bytes: &[u8],
    read: &ReadOptions,
    options: &TidyOptions,
    notes: &mut Vec<Problem>,
) -> Result<TidiedTable, Problem> {
    let format = format_of(bytes, read, notes)?;
    if format != Format::Csv {
        let grid = crate::workbook::read(bytes, format, read, notes)?;
        let sheet = grid.sheet.clone();
        return Ok(TidiedTable {
            table: crate::tidy(grid, options, notes),
            format,
            encoding: None,
            sheet,
        });
    }
    let mut rows = CsvRows::open(std::io::Cursor::new(bytes), read, notes)?;
    let table = tidy_into_table(&mut rows, options, notes)?;
    Ok(TidiedTable {
        table,
        format,
        encoding: Some(rows.encoding()),
        sheet: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ColumnRule, ValueKind};
    use std::io::Cursor;

    fn options() -> TidyOptions {
        let rule = |name: &str, kind| ColumnRule {
            name: name.into(),
            kind,
            required: true,
            ..ColumnRule::default()
        };
        TidyOptions {
            columns: vec![
                rule("Date", ValueKind::Date),
                rule("Amount", ValueKind::Amount),
                rule("Supplier", ValueKind::Text),
            ],
        }
    }

    /// The streamed table, its notes and its line map are what reading and tidying in memory
    /// give, on text that needs every pass: title rows, blank rows, padding, CR and CRLF line
    /// endings, a cell over two lines, ragged rows, windows-1252, an undeclared date order
    /// decided by a row far below the header, a bad amount, a date that is not real.
    #[test]
    fn streamed_is_what_memory_gives() {
        let mut text = String::from("Payments over £500\r\n\r\n  Date ,Amount,Supplier,\r\n");
        for i in 0..5000u32 {
            text.push_str(&format!(
                "{:02}/{:02}/2024,\"£{},{:03}.50\", Supplier {} Ltd ,\n",
                i % 12 + 1,
                i % 12 + 1,
                i % 9 + 1,
                i % 1000,
                i % 97
            ));
            match i {
                100 => text.push_str(",,,\r"),
                200 => text.push_str("01/02/2024,1.00,\"Two\r\nlines\"\n"),
                300 => text.push_str("02/02/2024,1.00\n"),
                400 => text.push_str("03/02/2024,twelve,Acme,extra\n"),
                4000 => text.push_str("25/12/2024,3.00,Late evidence\n"),
                4100 => text.push_str("31/02/2024,3.00,Not a day\n"),
                _ => {}
            }
        }
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
        let mut memory_notes = Vec::new();
        let grid = crate::read(&bytes, &ReadOptions::default(), &mut memory_notes).unwrap();
        let table = crate::tidy(grid, &options(), &mut memory_notes);
        let mut expected = Vec::new();
        table.write_csv(&mut expected).unwrap();

        let mut notes = Vec::new();
        let mut out = Vec::new();
        let t = tidy_to_csv(
            Cursor::new(&bytes[..]),
            &ReadOptions::default(),
            &options(),
            &mut out,
            &mut notes,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(expected).unwrap()
        );
        assert_eq!(notes, memory_notes);
        assert_eq!(t.encoding, Some("windows-1252"));
        assert_eq!(t.shape.header_row, 3);
        assert_eq!(t.shape.rows as usize, table.rows.len());
        assert_eq!(t.shape.date_orders, table.date_orders);
        // Tidied into a table from the bytes, without a grid: the same table and notes.
        let mut table_notes = Vec::new();
        let direct = tidy_to_table(
            &bytes,
            &ReadOptions::default(),
            &options(),
            &mut table_notes,
        )
        .unwrap();
        assert_eq!(table_notes, memory_notes);
        assert_eq!(direct.table.rows, table.rows);
        assert_eq!(direct.table.source_rows, table.source_rows);
        assert_eq!(direct.table.header, table.header);
        assert_eq!(direct.table.source_columns, table.source_columns);
        assert_eq!(direct.encoding, Some("windows-1252"));
        assert_eq!(direct.format, Format::Csv);
        for rule in [
            "title-rows",
            "blank-rows",
            "padding",
            "line-endings",
            "ragged-row",
            "amount",
            "date",
            "date-order",
            "trailing-delimiters",
        ] {
            assert!(notes.iter().any(|n| n.rule == rule), "{rule}: {notes:#?}");
        }
        let order = notes.iter().find(|n| n.rule == "date-order").unwrap();
        assert!(order.message.contains("25/12/2024"), "{}", order.message);
        for line in 0..table.rows.len() as u64 + 4 {
            assert_eq!(
                t.lines.source_row_of_line(line),
                table.source_row_of_line(line),
                "line {line}"
            );
        }
        assert!(t.lines.runs() < 10, "{} runs", t.lines.runs());
    }

    /// A JSON document longer than the part read ahead is still told from a CSV that starts
    /// with a bracket.
    #[test]
    fn long_documents_are_parsed_as_they_stream() {
        let json = format!("[{}1]", "1,".repeat(3_000_000));
        let csv = format!("[ref],amount\n{}", "x,1\n".repeat(1_500_000));
        let tidy = |text: &str| {
            tidy_to_csv(
                Cursor::new(text.as_bytes()),
                &ReadOptions::default(),
                &TidyOptions::default(),
                std::io::sink(),
                &mut Vec::new(),
            )
        };
        assert_eq!(tidy(&json).unwrap_err().rule, "not-csv");
        assert_eq!(tidy(&csv).unwrap().shape.rows, 1_500_000);
    }

    #[test]
    fn a_workbook_is_tidied_whole_and_a_bad_file_is_one_error() {
        let mut notes = Vec::new();
        let e = tidy_to_csv(
            Cursor::new(&b"<!DOCTYPE html><html>moved</html>"[..]),
            &ReadOptions::default(),
            &options(),
            Vec::new(),
            &mut notes,
        )
        .unwrap_err();
        assert_eq!(e.rule, "not-csv");
        let e = tidy_to_csv(
            Cursor::new(&b"a,b\n\"open"[..]),
            &ReadOptions::default(),
            &options(),
            Vec::new(),
            &mut notes,
        )
        .unwrap_err();
        assert_eq!((e.rule.as_str(), e.row), ("csv", Some(2)));
        // The run-time CARGO_MANIFEST_DIR first: the compiled-in one is stale when a shared
        // target folder reuses a test built in another checkout.
        let crate_dir =
            std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into());
        let xlsx = std::fs::read(
            std::path::Path::new(&crate_dir).join("../../tests/fixtures/pipelines/spend.xlsx"),
        )
        .unwrap();
        let mut out = Vec::new();
        let t = tidy_to_csv(
            Cursor::new(&xlsx[..]),
            &ReadOptions::default(),
            &TidyOptions::default(),
            &mut out,
            &mut notes,
        )
        .unwrap();
        assert_eq!(t.format, Format::Xlsx);
        let mut memory = Vec::new();
        let table = crate::tidy(
            crate::read(&xlsx, &ReadOptions::default(), &mut Vec::new()).unwrap(),
            &TidyOptions::default(),
            &mut Vec::new(),
        );
        table.write_csv(&mut memory).unwrap();
        assert_eq!(out, memory);
        assert!(t.shape.rows > 0);
    }
}
