//! Untrusted workbooks, read safely.
//!
//! A 1.6 KB xlsx can make a workbook reader allocate hundreds of gigabytes: calamine lays a
//! sheet out as the rectangle spanning its cells (one at A1 and one at XFD1048576 is 17
//! billion cells) and reserves the shared-string table at the size the file declares. A
//! failed allocation aborts the process, so in a live instance one bad file would take the
//! site down. Two defences:
//!
//! 1. **Limits checked before allocation** ([`check`]): the zip's entries and declared
//!    uncompressed size, each sheet's cell rectangle (scanned as a stream, without building
//!    it), and the shared-string count, each refused with a note that names the limit.
//! 2. **A child process** ([`enable_isolation`]): when the program enables it (the `fivestar`
//!    binary does), workbooks are read by a child of the same program under an address-space
//!    limit; a child that aborts or is killed becomes the run's error, not the instance's end.

pub use crate::grid::Limits;
use crate::grid::{Format, Grid, ReadOptions};
use crate::{Problem, Severity};
use calamine::{Data, Reader};
use quick_xml::events::Event;
use serde::{Deserialize, Serialize};
use std::io::Cursor;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn refuse(message: String) -> Problem {
    Problem::error("workbook-limit", message)
}

/// Checks an xlsx or ods file against `limits` without building its cells. (An xls file's
/// records are bounded by the format itself: 65,536 × 256 cells.)
pub fn check(bytes: &[u8], format: Format, limits: &Limits) -> Result<(), Problem> {
    if !matches!(format, Format::Xlsx | Format::Ods) {
        return Ok(());
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        Problem::error(
            "workbook",
            format!("cannot open the {} workbook: {e}", format.name()),
        )
    })?;
    if zip.len() > limits.max_entries {
        return Err(refuse(format!(
            "the workbook holds {} files; at most {} are read",
            zip.len(),
            limits.max_entries
        )));
    }
    let mut total = 0u64;
    let mut sheets = Vec::new();
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| Problem::error("workbook", format!("a damaged workbook: {e}")))?;
        total = total.saturating_add(entry.size());
        let name = entry.name().to_string();
        if (format == Format::Xlsx
            && (name.starts_with("xl/worksheets/") && name.ends_with(".xml")
                || name == "xl/sharedStrings.xml"))
            || (format == Format::Ods && name == "content.xml")
        {
            sheets.push((i, name, entry.size()));
        }
    }
    if total > limits.max_uncompressed_bytes {
        return Err(refuse(format!(
            "the workbook unpacks to {} MB; at most {} MB are read (max_uncompressed_bytes)",
            total >> 20,
            limits.max_uncompressed_bytes >> 20
        )));
    }
    for (i, name, size) in sheets {
        let entry = zip
            .by_index(i)
            .map_err(|e| Problem::error("workbook", format!("a damaged workbook: {e}")))?;
        // Never more than the declared size, whatever the stream says.
        let reader = std::io::BufReader::new(entry.take(size.saturating_add(1)));
        if format == Format::Ods {
            continue; // calamine caps an ods sheet's cells itself (100 million).
        }
        if name == "xl/sharedStrings.xml" {
            check_shared_strings(reader, size, limits)?;
        } else {
            check_sheet(reader, &name, limits)?;
        }
    }
    Ok(())
}

/// The declared count of shared strings cannot exceed what the part could hold (each takes
/// at least `<si/>`, five bytes) nor the cell limit.
fn check_shared_strings(
    reader: impl std::io::BufRead,
    size: u64,
    limits: &Limits,
) -> Result<(), Problem> {
    let mut xml = quick_xml::Reader::from_reader(reader);
    let mut buf = Vec::new();
    loop {
        match xml.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == b"sst" => {
                for a in e.attributes().flatten() {
                    let key = a.key.local_name();
                    if key.as_ref() == b"uniqueCount" || key.as_ref() == b"count" {
                        let n: u64 = std::str::from_utf8(&a.value)
                            .ok()
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(u64::MAX);
                        let most = (size / 5 + 1).min(limits.max_cells);
                        if key.as_ref() == b"uniqueCount" && n > most {
                            return Err(refuse(format!(
                                "the workbook declares {n} shared strings in {size} bytes; at most {most} can be there"
                            )));
                        }
                    }
                }
                return Ok(());
            }
            Ok(Event::Eof) => return Ok(()),
            Err(e) => {
                return Err(Problem::error(
                    "workbook",
                    format!("sharedStrings.xml: {e}"),
                ))
            }
            _ => {}
        }
        buf.clear();
    }
}

/// Scans a worksheet for the rectangle its valued cells span, as calamine will lay it out.
fn check_sheet(reader: impl std::io::BufRead, name: &str, limits: &Limits) -> Result<(), Problem> {
    let mut xml = quick_xml::Reader::from_reader(reader);
    let mut buf = Vec::new();
    let (mut rows, mut cols) = ((u32::MAX, 0u32), (u32::MAX, 0u32));
    let mut cell: Option<(u32, u32)> = None;
    let mut valued = false;
    let mut next_row = 0u32;
    let mut next_col = 0u32;
    loop {
        let event = xml
            .read_event_into(&mut buf)
            .map_err(|e| Problem::error("workbook", format!("{name}: {e}")))?;
        match &event {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"row" => {
                    let r = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == b"r")
                        .and_then(|a| std::str::from_utf8(&a.value).ok()?.parse::<u32>().ok());
                    next_row = r.map_or(next_row + 1, |r| r.saturating_sub(1));
                    next_col = 0;
                }
                b"c" => {
                    let at = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == b"r")
                        .and_then(|a| cell_ref(&a.value))
                        .unwrap_or((next_row, next_col));
                    next_col = at.1.saturating_add(1);
                    cell = Some(at);
                    valued = false;
                    if matches!(event, Event::Empty(_)) {
                        cell = None;
                    }
                }
                b"v" | b"is" | b"f" if cell.is_some() => valued = true,
                _ => {}
            },
            Event::End(e) if e.local_name().as_ref() == b"c" => {
                if let (Some((r, c)), true) = (cell.take(), valued) {
                    rows = (rows.0.min(r), rows.1.max(r));
                    cols = (cols.0.min(c), cols.1.max(c));
                    let span = (u64::from(rows.1 - rows.0) + 1) * (u64::from(cols.1 - cols.0) + 1);
                    if span > limits.max_cells {
                        return Err(refuse(format!(
                            "sheet {name} spans {} rows × {} columns ({span} cells, to {}); at most {} cells are read (max_cells)",
                            rows.1 - rows.0 + 1,
                            cols.1 - cols.0 + 1,
                            cell_name(r, c),
                            limits.max_cells
                        )));
                    }
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}

/// `B12` → (11, 1), zero-based.
fn cell_ref(r: &[u8]) -> Option<(u32, u32)> {
    let letters = r.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if letters == 0 || letters > 3 {
        return None;
    }
    let mut col = 0u32;
    for b in &r[..letters] {
        col = col * 26 + u32::from(b.to_ascii_uppercase() - b'A' + 1);
    }
    let row: u32 = std::str::from_utf8(&r[letters..]).ok()?.parse().ok()?;
    Some((row.checked_sub(1)?, col - 1))
}

fn cell_name(row: u32, col: u32) -> String {
    let mut c = col as usize + 1;
    let mut s = Vec::new();
    while c > 0 {
        s.push(b'A' + ((c - 1) % 26) as u8);
        c = (c - 1) / 26;
    }
    s.reverse();
    format!("{}{}", String::from_utf8_lossy(&s), row + 1)
}

/// The program (and arguments) that reads a workbook as a child.
static CHILD: OnceLock<(PathBuf, Vec<String>)> = OnceLock::new();

/// Workbooks are read from now on by `program args…`, which must call [`child_main`].
pub fn enable_isolation(program: PathBuf, args: Vec<String>) {
    let _ = CHILD.set((program, args));
}

#[derive(Serialize, Deserialize)]
struct Request {
    format: Format,
    sheet: Option<String>,
    limits: Limits,
}

#[derive(Serialize, Deserialize)]
struct WireNote {
    severity: Severity,
    rule: String,
    message: String,
    row: Option<u64>,
    column: Option<String>,
    value: Option<String>,
}

/// The rows read, each with its sheet row number, and the sheet's name.
type Sheet = (Vec<(u64, Vec<String>)>, Option<String>);

#[derive(Serialize, Deserialize)]
struct Reply {
    grid: Result<Sheet, WireNote>,
    notes: Vec<WireNote>,
}

const RULES: [&str; 6] = [
    "workbook",
    "workbook-limit",
    "sheet",
    "empty-columns",
    "cell-error",
    "format",
];

impl From<&Problem> for WireNote {
    fn from(n: &Problem) -> Self {
        WireNote {
            severity: n.severity,
            rule: n.rule.to_string(),
            message: n.message.clone(),
            row: n.row,
            column: n.column.clone(),
            value: n.value.clone(),
        }
    }
}

impl From<WireNote> for Problem {
    fn from(w: WireNote) -> Self {
        let mut n = Problem::error(
            RULES
                .iter()
                .find(|r| **r == w.rule)
                .copied()
                .unwrap_or("workbook"),
            w.message,
        );
        n.severity = w.severity;
        n.row = w.row;
        n.column = w.column;
        n.value = w.value;
        n
    }
}

/// Reads a workbook: checked, then in a child process when isolation is enabled.
pub(crate) fn read(
    bytes: &[u8],
    format: Format,
    options: &ReadOptions,
    notes: &mut Vec<Problem>,
) -> Result<Grid, Problem> {
    check(bytes, format, &options.limits)?;
    let Some((program, args)) = CHILD.get() else {
        return read_workbook_here(bytes, format, options, notes);
    };
    let request = Request {
        format,
        sheet: options.sheet.clone(),
        limits: options.limits,
    };
    let reply = run_child(program, args, &request, bytes, &options.limits)?;
    notes.extend(reply.notes.into_iter().map(Problem::from));
    let (rows, sheet) = reply.grid.map_err(Problem::from)?;
    Ok(Grid {
        rows,
        format: Some(format),
        encoding: None,
        sheet,
        delimiter: None,
    })
}

fn run_child(
    program: &PathBuf,
    args: &[String],
    request: &Request,
    bytes: &[u8],
    limits: &Limits,
) -> Result<Reply, Problem> {
    let failed = |why: String| Problem::error("workbook", why);
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| failed(format!("cannot start the workbook reader: {e}")))?;
    let header = serde_json::to_vec(request).map_err(|e| failed(e.to_string()))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let input = [&(header.len() as u64).to_le_bytes()[..], &header, bytes].concat();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if started.elapsed() > Duration::from_secs(limits.max_seconds) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(refuse(format!(
                    "reading the workbook took longer than {} s (max_seconds): stopped",
                    limits.max_seconds
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(failed(format!("the workbook reader: {e}"))),
        }
    };
    let _ = writer.join();
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(refuse(format!(
            "the workbook reader stopped ({status}) before it finished: the file needs more than {} MB of memory (max_memory_bytes) or is damaged",
            limits.max_memory_bytes >> 20
        )));
    }
    serde_json::from_slice(&out).map_err(|e| failed(format!("the workbook reader's answer: {e}")))
}

/// The child's side: reads the request and the file from stdin, answers on stdout. Returns
/// the exit code.
pub fn child_main() -> i32 {
    let mut input = Vec::new();
    if std::io::stdin().read_to_end(&mut input).is_err() || input.len() < 8 {
        return 2;
    }
    let len = u64::from_le_bytes(input[..8].try_into().unwrap_or_default()) as usize;
    let Some(header) = input.get(8..8usize.saturating_add(len)) else {
        return 2;
    };
    let Ok(request) = serde_json::from_slice::<Request>(header) else {
        return 2;
    };
    limit_memory(request.limits.max_memory_bytes);
    let bytes = &input[8 + len..];
    let options = ReadOptions {
        format: Some(request.format),
        sheet: request.sheet,
        limits: request.limits,
        ..ReadOptions::default()
    };
    let mut notes = Vec::new();
    let grid = read_workbook_here(bytes, request.format, &options, &mut notes);
    let reply = Reply {
        grid: grid
            .map(|g| (g.rows, g.sheet))
            .map_err(|n| WireNote::from(&n)),
        notes: notes.iter().map(WireNote::from).collect(),
    };
    let mut out = std::io::stdout().lock();
    let written = serde_json::to_writer(&mut out, &reply).map_err(std::io::Error::from);
    match written.and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(_) => 3,
    }
}

/// Caps this process's address space, so an allocation past it fails (and the child ends)
/// instead of taking the machine's memory.
fn limit_memory(bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: setrlimit only reads the struct passed to it.
    unsafe {
        libc::setrlimit(libc::RLIMIT_AS, &limit);
    }
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
    use super::*;

    #[test]
    fn numbers_print_exactly() {
        assert_eq!(number_text(1234.0), "1234");
        assert_eq!(number_text(1234.56), "1234.56");
        assert_eq!(number_text(-0.1), "-0.1");
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(27), "AB");
    }

    fn zip_of(parts: &[(&str, &str)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, text) in parts {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(text.as_bytes()).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn sheet(cells: &str) -> String {
        format!(
            r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{cells}</sheetData></worksheet>"#
        )
    }

    fn checked(parts: &[(&str, &str)]) -> Result<(), Problem> {
        check(&zip_of(parts), Format::Xlsx, &Limits::default())
    }

    #[test]
    fn a_sheet_spanning_too_many_cells_is_refused_before_it_is_read() {
        let far = sheet(
            r#"<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>2</v></c></row>"#,
        );
        let e = checked(&[("xl/worksheets/sheet1.xml", &far)]).unwrap_err();
        assert_eq!(e.rule, "workbook-limit");
        assert!(
            e.message.contains("XFD1048576") && e.message.contains("max_cells"),
            "{}",
            e.message
        );
        let tall = sheet(
            r#"<row r="1"><c r="A1"><v>1</v></c></row><row r="1000000"><c r="Z1000000" t="s"><v>0</v></c></row>"#,
        );
        assert!(checked(&[("xl/worksheets/sheet1.xml", &tall)]).is_err());
        // Formatting alone far away is not a cell calamine lays out.
        let styled = sheet(
            r#"<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576" s="3"/></row>"#,
        );
        assert!(checked(&[("xl/worksheets/sheet1.xml", &styled)]).is_ok());
        // Cells without references follow their row.
        let unnumbered = sheet(
            r#"<row r="1"><c><v>1</v></c><c><v>2</v></c></row><row r="2"><c><v>3</v></c></row>"#,
        );
        assert!(checked(&[("xl/worksheets/sheet1.xml", &unnumbered)]).is_ok());
    }

    #[test]
    fn a_shared_string_count_the_part_cannot_hold_is_refused() {
        let sst = r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4000000000" uniqueCount="4000000000"><si><t>a</t></si></sst>"#;
        let e = checked(&[("xl/sharedStrings.xml", sst)]).unwrap_err();
        assert!(
            e.message.contains("4000000000 shared strings"),
            "{}",
            e.message
        );
        let fine = r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="1"><si><t>a</t></si></sst>"#;
        assert!(checked(&[("xl/sharedStrings.xml", fine)]).is_ok());
    }

    #[test]
    fn too_many_parts_or_bytes_are_refused() {
        let parts: Vec<(String, String)> = (0..20)
            .map(|i| (format!("p{i}.xml"), "x".repeat(1000)))
            .collect();
        let parts: Vec<(&str, &str)> = parts
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let limits = Limits {
            max_entries: 10,
            ..Limits::default()
        };
        assert!(check(&zip_of(&parts), Format::Xlsx, &limits).is_err());
        let limits = Limits {
            max_uncompressed_bytes: 10_000,
            ..Limits::default()
        };
        let e = check(&zip_of(&parts), Format::Xlsx, &limits).unwrap_err();
        assert!(
            e.message.contains("max_uncompressed_bytes"),
            "{}",
            e.message
        );
    }

    #[test]
    fn cell_references() {
        assert_eq!(cell_ref(b"A1"), Some((0, 0)));
        assert_eq!(cell_ref(b"XFD1048576"), Some((1_048_575, 16_383)));
        assert_eq!(cell_ref(b"1A"), None);
        assert_eq!(cell_name(1_048_575, 16_383), "XFD1048576");
        assert_eq!(cell_name(0, 26), "AA1");
    }
}
