//! Reading a file into a grid of text cells: CSV (any encoding, delimiter and line ending) or a
//! sheet of an Excel (xlsx, xls) or OpenDocument (ods) workbook, through calamine.

use crate::{decode, Problem, Severity};
use calamine::{Data, Reader};
use serde::Serialize;
use std::io::Cursor;

/// The formats tidy reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
    Xls,
    Ods,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" | "tsv" | "txt" => Some(Format::Csv),
            "xlsx" | "xlsm" => Some(Format::Xlsx),
            "xls" => Some(Format::Xls),
            "ods" => Some(Format::Ods),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Xls => "xls",
            Format::Ods => "ods",
        }
    }
}

/// The format the bytes themselves say: a zip is xlsx or ods, an OLE file is xls, else CSV.
pub fn sniff_format(bytes: &[u8]) -> Format {
    if bytes.starts_with(b"PK\x03\x04") {
        let head = &bytes[..bytes.len().min(200)];
        if head
            .windows(46)
            .any(|w| w == b"application/vnd.oasis.opendocument.spreadsheet")
        {
            Format::Ods
        } else {
            Format::Xlsx
        }
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        Format::Xls
    } else {
        Format::Csv
    }
}

/// How to read a file.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The declared format; sniffed from the bytes when `None`.
    pub format: Option<Format>,
    /// A sheet name (workbooks); the first non-empty sheet when `None`.
    pub sheet: Option<String>,
    /// A declared text encoding (CSV); detected when `None`.
    pub encoding: Option<String>,
    /// A declared delimiter (CSV); detected when `None`.
    pub delimiter: Option<u8>,
    /// Limits on workbooks, checked before they are read.
    pub limits: crate::workbook::Limits,
}

/// Text cells as read, each row with its source row number.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    pub rows: Vec<(u64, Vec<String>)>,
    pub format: Option<Format>,
    /// The text encoding (CSV).
    pub encoding: Option<&'static str>,
    /// The sheet read (workbooks).
    pub sheet: Option<String>,
    pub delimiter: Option<u8>,
}

/// Reads `bytes` into a [`Grid`]. Problems that stop reading are returned as an error note;
/// everything else is noted in `notes`.
pub fn read(
    bytes: &[u8],
    options: &ReadOptions,
    notes: &mut Vec<Problem>,
) -> Result<Grid, Problem> {
    let sniffed = sniff_format(bytes);
    let format = match options.format {
        Some(declared) if declared == sniffed => declared,
        Some(declared) if sniffed == Format::Csv => {
            let head: String = String::from_utf8_lossy(&bytes[..bytes.len().min(40)])
                .chars()
                .filter(|c| !c.is_control())
                .collect();
            return Err(Problem::error(
                "format",
                format!(
                    "the pipeline says {}, but the file is not a workbook (it starts {head:?})",
                    declared.name()
                ),
            ));
        }
        Some(declared) => {
            notes.push(Problem::warning(
                "format",
                format!(
                    "the pipeline says {}, but the file is {}; read as {}",
                    declared.name(),
                    sniffed.name(),
                    sniffed.name()
                ),
            ));
            sniffed
        }
        None => sniffed,
    };
    match format {
        Format::Csv => read_csv(bytes, options, notes),
        f => crate::workbook::read(bytes, f, options, notes),
    }
}

fn read_csv(
    bytes: &[u8],
    options: &ReadOptions,
    notes: &mut Vec<Problem>,
) -> Result<Grid, Problem> {
    let decoded = decode(bytes, options.encoding.as_deref(), notes)?;
    if let Some(kind) = not_csv(&decoded.text) {
        let head: String = decoded
            .text
            .trim_start()
            .chars()
            .take(60)
            .filter(|c| !c.is_control())
            .collect();
        return Err(Problem::error(
            "not-csv",
            format!(
                "the source is {kind}, not CSV (it starts {head:?}): a moved or broken download?"
            ),
        ));
    }
    let text = normalize_line_endings(&decoded.text, notes);
    let delimiter = match options.delimiter {
        Some(d) => d,
        None => {
            let d = sniff_delimiter(&text);
            if d != b',' {
                notes.push(Problem::info(
                    "delimiter",
                    format!("detected the delimiter {:?}", d as char),
                ));
            }
            d
        }
    };
    let rows = split_csv(&text, delimiter as char)?;
    Ok(Grid {
        rows,
        format: Some(Format::Csv),
        encoding: Some(decoded.encoding),
        sheet: None,
        delimiter: Some(delimiter),
    })
}

/// Splits CSV text (LF line endings) into rows, each with the line it starts on. Blank lines
/// are kept as empty rows so that tidy can report them; quoted cells may span lines. (The
/// `csv` crate skips blank lines without saying where they were, so it cannot number rows.)
fn split_csv(text: &str, delimiter: char) -> Result<Vec<(u64, Vec<String>)>, Problem> {
    let mut rows = Vec::new();
    let mut line = 1u64;
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let start = line;
        let mut cells = Vec::new();
        let mut cell = String::new();
        let mut quoted = false;
        let mut was_quoted = false;
        loop {
            let Some(c) = chars.next() else {
                if quoted {
                    return Err(Problem::error(
                        "csv",
                        format!("a quoted cell that starts on line {start} is never closed"),
                    )
                    .row(start));
                }
                break;
            };
            if quoted {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        cell.push('"');
                    } else {
                        quoted = false;
                    }
                } else {
                    if c == '\n' {
                        line += 1;
                    }
                    cell.push(c);
                }
            } else if c == '"' && cell.trim().is_empty() && !was_quoted {
                cell.clear();
                quoted = true;
                was_quoted = true;
            } else if c == delimiter {
                cells.push(std::mem::take(&mut cell));
                was_quoted = false;
            } else if c == '\n' {
                line += 1;
                break;
            } else {
                cell.push(c);
            }
        }
        cells.push(cell);
        if cells.len() == 1 && cells[0].is_empty() {
            cells.clear();
        }
        rows.push((start, cells));
    }
    Ok(rows)
}

/// CR-only and mixed line endings become LF, so that row numbers are line numbers.
fn normalize_line_endings(text: &str, notes: &mut Vec<Problem>) -> String {
    let crlf = text.matches("\r\n").count();
    let cr = text.matches('\r').count() - crlf;
    let lf = text.matches('\n').count() - crlf;
    let kinds = [(crlf, "CRLF"), (cr, "CR"), (lf, "LF")];
    let used: Vec<&str> = kinds.iter().filter(|k| k.0 > 0).map(|k| k.1).collect();
    if cr > 0 || used.len() > 1 {
        notes.push(Problem::info(
            "line-endings",
            format!(
                "line endings {} ({} CRLF, {} CR, {} LF) normalised to LF",
                if used.len() > 1 { "mixed" } else { "CR-only" },
                crlf,
                cr,
                lf
            ),
        ));
    }
    if cr == 0 {
        return text.to_string();
    }
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// The delimiter whose count per line is most consistent over the first lines.
fn sniff_delimiter(text: &str) -> u8 {
    let candidates = [b',', b'\t', b';', b'|'];
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(30)
        .collect();
    let mut best = (b',', 0usize);
    for &c in &candidates {
        let counts: Vec<usize> = lines.iter().map(|l| count_outside_quotes(l, c)).collect();
        let mut sorted = counts.clone();
        sorted.sort_unstable();
        let mode = sorted.get(sorted.len() / 2).copied().unwrap_or(0);
        if mode == 0 {
            continue;
        }
        let agreeing = counts.iter().filter(|&&n| n == mode).count();
        let score = agreeing * 1000 + mode;
        if score > best.1 {
            best = (c, score);
        }
    }
    best.0
}

/// What a body that was meant to be CSV looks like instead: an HTML page (an error or
/// login page answered with 200), XML, or JSON.
fn not_csv(text: &str) -> Option<&'static str> {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    let lower: String = t.chars().take(64).collect::<String>().to_ascii_lowercase();
    if ["<!doctype html", "<html", "<head", "<body", "<!--"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return Some("an HTML page");
    }
    if lower.starts_with("<?xml") || lower.starts_with("<!doctype") {
        return Some("an XML document");
    }
    if (t.starts_with('{') || t.starts_with('['))
        && serde_json::from_str::<serde_json::Value>(t).is_ok()
    {
        return Some("a JSON document");
    }
    None
}

fn count_outside_quotes(line: &str, c: u8) -> usize {
    let mut quoted = false;
    let mut n = 0;
    for &b in line.as_bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if b == c && !quoted {
            n += 1;
        }
    }
    n
}

/// Reads a workbook in this process (after [`crate::workbook::check`]).
pub(crate) fn read_workbook_here(
    bytes: &[u8],
    format: Format,
    options: &ReadOptions,
    notes: &mut Vec<Problem>,
) -> Result<Grid, Problem> {
    let mut book =
        calamine::open_workbook_auto_from_rs(Cursor::new(bytes.to_vec())).map_err(|e| {
            Problem::error(
                "workbook",
                format!("cannot open the {} workbook: {e}", format.name()),
            )
        })?;
    let names = book.sheet_names();
    let (name, range) = match &options.sheet {
        Some(want) => {
            let name = names
                .iter()
                .find(|n| *n == want)
                .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(want.trim())))
                .ok_or_else(|| {
                    Problem::error(
                        "sheet",
                        format!(
                            "no sheet named {want:?}; the workbook has {}",
                            quoted(&names)
                        ),
                    )
                })?
                .clone();
            let range = book
                .worksheet_range(&name)
                .map_err(|e| Problem::error("sheet", format!("cannot read sheet {name:?}: {e}")))?;
            (name, range)
        }
        None => {
            let mut found = None;
            for name in &names {
                let range = book.worksheet_range(name).map_err(|e| {
                    Problem::error("sheet", format!("cannot read sheet {name:?}: {e}"))
                })?;
                if range.cells().any(|(_, _, c)| !matches!(c, Data::Empty)) {
                    found = Some((name.clone(), range));
                    break;
                }
            }
            let (name, range) = found.ok_or_else(|| {
                Problem::error(
                    "sheet",
                    format!("every sheet is empty ({})", quoted(&names)),
                )
            })?;
            if names.len() > 1 {
                notes.push(Problem::info(
                    "sheet",
                    format!(
                        "read sheet {name:?}, the first that is not empty, of {}",
                        quoted(&names)
                    ),
                ));
            }
            (name, range)
        }
    };
    let (height, width) = range.get_size();
    let cells = (height as u64).saturating_mul(width as u64);
    if cells > options.limits.max_cells {
        return Err(Problem::error(
            "workbook-limit",
            format!(
                "sheet {name} spans {height} rows × {width} columns ({cells} cells); at most {} cells are read (max_cells)",
                options.limits.max_cells
            ),
        ));
    }
    let (row0, col0) = range.start().unwrap_or((0, 0));
    if col0 > 0 {
        notes.push(Problem::info(
            "empty-columns",
            format!("the sheet's first {col0} columns are empty; left out"),
        ));
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, row) in range.rows().enumerate() {
        let number = row0 as u64 + i as u64 + 1;
        let cells = row
            .iter()
            .enumerate()
            .map(|(j, c)| cell_text(c, number, col0 as usize + j, &mut errors))
            .collect();
        rows.push((number, cells));
    }
    notes.extend(errors);
    Ok(Grid {
        rows,
        format: Some(format),
        encoding: None,
        sheet: Some(name),
        delimiter: None,
    })
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A spreadsheet column letter, for messages (0 → A, 26 → AA).
fn column_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// A cell as text: numbers in their shortest exact decimal form, dates as ISO 8601.
fn cell_text(cell: &Data, row: u64, col: usize, notes: &mut Vec<Problem>) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
            if (h, mi, s, ms) == (0, 0, 0, 0) {
                format!("{y:04}-{mo:02}-{d:02}")
            } else if ms == 0 {
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}")
            }
        }
        Data::DateTime(dt) => {
            // A duration or a time of day: hours (possibly over 24), minutes, seconds.
            let secs = (dt.as_f64() * 86_400.0).round() as i64;
            let sign = if secs < 0 { "-" } else { "" };
            let secs = secs.abs();
            format!(
                "{sign}{:02}:{:02}:{:02}",
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            )
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => {
            let text = format!("#{e:?}");
            notes.push(
                Problem::new(
                    Severity::Warning,
                    "cell-error",
                    format!(
                        "cell {}{row} holds a spreadsheet error; kept as text",
                        column_letter(col)
                    ),
                )
                .row(row)
                .value(text.clone()),
            );
            text
        }
    }
}

/// The shortest decimal that reads back as `f`, without exponent for everyday magnitudes.
fn number_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    let s = format!("{f}");
    if s.contains('e') {
        format!("{f:.}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pages_and_documents_are_not_csv() {
        let read = |body: &str| read(body.as_bytes(), &ReadOptions::default(), &mut Vec::new());
        for (body, kind) in [
            (
                "<!DOCTYPE html><html><body>Moved</body></html>\n",
                "HTML page",
            ),
            ("\u{feff}  <html lang=en>\n<p>a,b</p>", "HTML page"),
            ("<?xml version=\"1.0\"?><error/>", "XML document"),
            ("{\"error\": \"not found\"}", "JSON document"),
            ("[{\"a\": 1}, {\"a\": 2}]", "JSON document"),
        ] {
            let e = read(body).unwrap_err();
            assert_eq!(e.rule, "not-csv");
            assert!(e.message.contains(kind), "{}", e.message);
        }
        // A CSV that happens to start with a bracket is still a CSV.
        assert!(read("[ref],amount\n1,2\n").is_ok());
        assert!(read("a,b\n<1>,2\n").is_ok());
    }

    use super::*;

    #[test]
    fn csv_with_cr_only_lines_keeps_line_numbers() {
        let mut notes = vec![];
        let g = read(b"a;b\r1;2\r\r3;4\r", &ReadOptions::default(), &mut notes).unwrap();
        assert_eq!(g.delimiter, Some(b';'));
        assert_eq!(
            g.rows,
            vec![
                (1, vec!["a".to_string(), "b".into()]),
                (2, vec!["1".into(), "2".into()]),
                (3, vec![]),
                (4, vec!["3".into(), "4".into()])
            ]
        );
        assert!(notes.iter().any(|n| n.rule == "line-endings"));
    }

    #[test]
    fn quoted_cells_span_lines_and_keep_numbering() {
        let rows = split_csv("a,b\n\"x\ny\",\"say \"\"hi\"\"\"\n3,4", ',').unwrap();
        assert_eq!(rows[1], (2, vec!["x\ny".to_string(), "say \"hi\"".into()]));
        assert_eq!(rows[2].0, 4);
        let e = split_csv("a\n\"open", ',').unwrap_err();
        assert_eq!(e.row, Some(2));
    }

    #[test]
    fn tabs_and_quoted_commas() {
        let mut notes = vec![];
        let g = read(
            b"Supplier\tAmount\n\"Smith, J\"\t5\nAcme\t6\n",
            &ReadOptions::default(),
            &mut notes,
        )
        .unwrap();
        assert_eq!(g.delimiter, Some(b'\t'));
        assert_eq!(g.rows[1].1, vec!["Smith, J", "5"]);
    }

    #[test]
    fn numbers_print_exactly() {
        assert_eq!(number_text(1234.0), "1234");
        assert_eq!(number_text(1234.56), "1234.56");
        assert_eq!(number_text(-0.1), "-0.1");
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(27), "AB");
    }

    #[test]
    fn not_a_workbook_is_a_clear_error() {
        let mut notes = vec![];
        let e = read(b"PK\x03\x04garbage", &ReadOptions::default(), &mut notes).unwrap_err();
        assert_eq!(e.rule, "workbook");
    }
}
