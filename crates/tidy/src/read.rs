//! Reading a file into a grid of text cells: CSV (any encoding, delimiter and line ending) or a
//! sheet of an Excel (xlsx, xls) or OpenDocument (ods) workbook, through calamine.

use crate::decode::{detect, read_chunk};
use crate::grid::{sniff_format, Format, Grid, ReadOptions};
use crate::table::Rows;
use crate::Problem;
use encoding_rs::{Decoder, Encoding};
use std::io::{Cursor, Read, Seek, SeekFrom};

/// Reads `bytes` into a [`Grid`]. Problems that stop reading are returned as an error note;
/// everything else is noted in `notes`.
pub fn read(
    bytes: &[u8],
    options: &ReadOptions,
    notes: &mut Vec<Problem>,
) -> Result<Grid, Problem> {
    let format = format_of(bytes, options, notes)?;
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
    let mut source = CsvRows::open(Cursor::new(bytes), options, notes)?;
    let mut rows = Vec::new();
    while let Some(n) = source.next_row()? {
        rows.push((n, std::mem::take(source.cells())));
    }
    Ok(Grid {
        rows,
        format: Some(Format::Csv),
        encoding: Some(source.encoding()),
        sheet: None,
        delimiter: Some(source.delimiter()),
    })
}

/// The format to read: the one the bytes show (`head`, at least their first 200), checked
/// against the pipeline's.
pub(crate) fn format_of(
    head: &[u8],
    options: &ReadOptions,
    notes: &mut Vec<Problem>,
) -> Result<Format, Problem> {
    let sniffed = sniff_format(head);
    Ok(match options.format {
        Some(declared) if declared == sniffed => declared,
        Some(declared) if sniffed == Format::Csv => {
            let head: String = String::from_utf8_lossy(&head[..head.len().min(40)])
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
    })
}

/// The rows of a CSV text, read from `R` a chunk at a time, as often as tidy asks (it reads
/// twice or three times). Opening it detects the encoding (reading the text through once), the
/// line endings and the delimiter, and refuses an HTML, XML or JSON document.
pub struct CsvRows<R> {
    chars: Chars<R>,
    delimiter: u8,
    /// The bytes that end a run of a cell's text, outside quotes and inside.
    stops: [bool; 256],
    stops_quoted: [bool; 256],
    line: u64,
    cells: Vec<String>,
    /// The last row's cells, emptied, for this row's: a cell's text is copied into a buffer
    /// that has held the same column's, not into a new allocation a cell.
    spare: Vec<String>,
}

impl<R: Read + Seek> CsvRows<R> {
    pub fn open(
        mut reader: R,
        options: &ReadOptions,
        notes: &mut Vec<Problem>,
    ) -> Result<Self, Problem> {
        let found = detect(&mut reader, options.encoding.as_deref(), notes)?;
        let mut chars = Chars::new(reader, found.encoding, found.bom_len);
        if let Some(kind) = not_csv(&found.head, found.head_is_all, &mut chars)? {
            let head: String = found
                .head
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
        let [crlf, cr, lf] = found.line_endings;
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
        let delimiter = match options.delimiter {
            Some(d) => d,
            None => {
                let mut head = found.head.replace("\r\n", "\n").replace('\r', "\n");
                if !found.head_is_all {
                    // Whole lines only.
                    head.truncate(head.rfind('\n').map_or(0, |i| i + 1));
                }
                let d = sniff_delimiter(&head);
                if d != b',' {
                    notes.push(Problem::info(
                        "delimiter",
                        format!("detected the delimiter {:?}", d as char),
                    ));
                }
                d
            }
        };
        if !delimiter.is_ascii() || matches!(delimiter, b'"' | b'\n' | b'\r') {
            return Err(Problem::error(
                "delimiter",
                format!(
                    "the delimiter {:?} cannot be used: it must be an ASCII character other than a quote or a line end",
                    delimiter as char
                ),
            ));
        }
        let mut stops_quoted = [false; 256];
        for b in [b'"', b'\n', b'\r'] {
            stops_quoted[usize::from(b)] = true;
        }
        let mut stops = stops_quoted;
        stops[usize::from(delimiter)] = true;
        chars.restart().map_err(read_failed)?;
        Ok(CsvRows {
            chars,
            delimiter,
            stops,
            stops_quoted,
            line: 1,
            cells: Vec::new(),
            spare: Vec::new(),
        })
    }

    /// The encoding's WHATWG name.
    pub fn encoding(&self) -> &'static str {
        self.chars.encoding.name()
    }

    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// The next row with the line it starts on. Blank lines are rows without cells, so that
    /// tidy can report them; quoted cells may span lines, and CRLF and CR are line ends like LF.
    /// (The `csv` crate skips blank lines without saying where they were, so it cannot number
    /// rows.) Text between the bytes that matter is copied a run at a time.
    fn split(&mut self) -> Result<Option<u64>, Problem> {
        if self.chars.rest().map_err(read_failed)?.is_empty() {
            return Ok(None);
        }
        let start = self.line;
        // Last row's buffers, the first column's on top (a caller that took the cells leaves
        // none, and new ones are made).
        self.spare.extend(self.cells.drain(..).rev());
        let spare = &mut self.spare;
        let mut next = || {
            let mut s = spare.pop().unwrap_or_default();
            s.clear();
            s
        };
        let mut cell = next();
        let mut quoted = false;
        let mut was_quoted = false;
        loop {
            let rest = self.chars.rest().map_err(read_failed)?;
            if rest.is_empty() {
                if quoted {
                    return Err(Problem::error(
                        "csv",
                        format!("a quoted cell that starts on line {start} is never closed"),
                    )
                    .row(start));
                }
                break;
            }
            let stops = if quoted {
                &self.stops_quoted
            } else {
                &self.stops
            };
            let Some(i) = rest.bytes().position(|b| stops[usize::from(b)]) else {
                cell.push_str(rest);
                let n = rest.len();
                self.chars.advance(n);
                continue;
            };
            // The stops are ASCII: `i` is on a character boundary.
            cell.push_str(&rest[..i]);
            let b = rest.as_bytes()[i];
            self.chars.advance(i + 1);
            let line_end = b == b'\n' || b == b'\r';
            if line_end {
                if b == b'\r' && self.chars.rest().map_err(read_failed)?.starts_with('\n') {
                    self.chars.advance(1);
                }
                self.line += 1;
                if !quoted {
                    break;
                }
                cell.push('\n');
            } else if b == b'"' && quoted {
                if self.chars.rest().map_err(read_failed)?.starts_with('"') {
                    self.chars.advance(1);
                    cell.push('"');
                } else {
                    quoted = false;
                }
            } else if b == b'"' && cell.trim().is_empty() && !was_quoted {
                cell.clear();
                quoted = true;
                was_quoted = true;
            } else if b == b'"' {
                cell.push('"');
            } else {
                self.cells.push(std::mem::replace(&mut cell, next()));
                was_quoted = false;
            }
        }
        self.cells.push(cell);
        if self.cells.len() == 1 && self.cells[0].is_empty() {
            self.cells.clear();
        }
        Ok(Some(start))
    }
}

impl<R: Read + Seek> Rows for CsvRows<R> {
    fn rewind(&mut self) -> Result<(), Problem> {
        self.line = 1;
        self.chars.restart().map_err(read_failed)
    }

    fn next_row(&mut self) -> Result<Option<u64>, Problem> {
        self.split()
    }

    fn cells(&mut self) -> &mut Vec<String> {
        &mut self.cells
    }
}

pub(crate) fn read_failed(e: std::io::Error) -> Problem {
    Problem::error("read", format!("reading the file failed: {e}"))
}

/// A text decoded a chunk at a time.
struct Chars<R> {
    reader: R,
    encoding: &'static Encoding,
    start: u64,
    decoder: Decoder,
    input: Vec<u8>,
    text: String,
    at: usize,
    ended: bool,
}

impl<R: Read + Seek> Chars<R> {
    const CHUNK: usize = 64 << 10;

    fn new(reader: R, encoding: &'static Encoding, start: u64) -> Self {
        Chars {
            reader,
            encoding,
            start,
            decoder: encoding.new_decoder_without_bom_handling(),
            input: vec![0; Self::CHUNK],
            text: String::new(),
            at: 0,
            ended: true,
        }
    }

    fn restart(&mut self) -> std::io::Result<()> {
        self.reader.seek(SeekFrom::Start(self.start))?;
        self.decoder = self.encoding.new_decoder_without_bom_handling();
        self.text.clear();
        self.at = 0;
        self.ended = false;
        Ok(())
    }

    /// Whether text is left, decoding the next chunk when the last is used up.
    fn fill(&mut self) -> std::io::Result<bool> {
        while self.at >= self.text.len() {
            if self.ended {
                return Ok(false);
            }
            let n = read_chunk(&mut self.reader, &mut self.input)?;
            let last = n == 0;
            self.text.clear();
            self.at = 0;
            self.text
                .reserve(self.decoder.max_utf8_buffer_length(n).unwrap_or(4 * n + 16));
            // Detection checked the text; replacement never happens here.
            let _ = self
                .decoder
                .decode_to_string(&self.input[..n], &mut self.text, last);
            self.ended = last;
        }
        Ok(true)
    }

    /// The decoded text not read yet: empty only at the end.
    fn rest(&mut self) -> std::io::Result<&str> {
        self.fill()?;
        Ok(&self.text[self.at..])
    }

    /// Reads `n` bytes of [`Chars::rest`] (ending on a character boundary).
    fn advance(&mut self, n: usize) {
        self.at += n;
    }
}

/// The decoded text's bytes, as they are (for a JSON parser).
impl<R: Read + Seek> Read for Chars<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.fill()? {
            return Ok(0);
        }
        let left = &self.text.as_bytes()[self.at..];
        let n = left.len().min(buf.len());
        buf[..n].copy_from_slice(&left[..n]);
        self.at += n;
        Ok(n)
    }
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
/// login page answered with 200), XML, or JSON. `head` is the text's beginning (all of it when
/// `all`); a JSON document longer than that is parsed from `text` as a stream.
fn not_csv<R: Read + Seek>(
    head: &str,
    all: bool,
    text: &mut Chars<R>,
) -> Result<Option<&'static str>, Problem> {
    let t = head.trim_start_matches('\u{feff}').trim_start();
    let lower: String = t.chars().take(64).collect::<String>().to_ascii_lowercase();
    if ["<!doctype html", "<html", "<head", "<body", "<!--"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return Ok(Some("an HTML page"));
    }
    if lower.starts_with("<?xml") || lower.starts_with("<!doctype") {
        return Ok(Some("an XML document"));
    }
    if !(t.starts_with('{') || t.starts_with('[')) {
        return Ok(None);
    }
    let json = if all {
        serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok()
    } else {
        text.restart().map_err(read_failed)?;
        loop {
            let rest = text.rest().map_err(read_failed)?;
            let skip = rest.len()
                - rest
                    .trim_start_matches(|c: char| c == '\u{feff}' || c.is_whitespace())
                    .len();
            if skip == 0 {
                break;
            }
            text.advance(skip);
        }
        serde_json::from_reader::<_, serde::de::IgnoredAny>(&mut *text).is_ok()
    };
    Ok(json.then_some("a JSON document"))
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

    fn split_csv(text: &str, delimiter: char) -> Result<Vec<(u64, Vec<String>)>, Problem> {
        let options = ReadOptions {
            delimiter: Some(delimiter as u8),
            ..ReadOptions::default()
        };
        read(text.as_bytes(), &options, &mut Vec::new()).map(|g| g.rows)
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
    fn not_a_workbook_is_a_clear_error() {
        let mut notes = vec![];
        let e = read(b"PK\x03\x04garbage", &ReadOptions::default(), &mut notes).unwrap_err();
        assert_eq!(e.rule, "workbook");
    }
}
