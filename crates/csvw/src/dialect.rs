//! Dialect descriptions and the CSV reader of tabular-data-model §8.
//!
//! The reader streams: it decodes bytes with `encoding_rs` (replacement mode, BOM removed)
//! into a bounded buffer and yields one row at a time, so memory is bounded by the longest
//! row, never by the file.
//!
//! Why not the `csv` crate here: CSVW dialects allow multi-character delimiters, quote
//! strings and line terminators, comment prefixes whose text must be kept, and a trim flag
//! applied after unquoting; `csv` expresses single bytes only. The `csv` crate is used where
//! fivestar writes plain CSV.

use encoding_rs::{CoderResult, Decoder, Encoding};
use std::io::Read;

/// How cells are trimmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    None,
    Start,
    End,
    Both,
}

/// A dialect description with its defaults (tabular-metadata §5.9).
#[derive(Debug, Clone, PartialEq)]
pub struct Dialect {
    pub comment_prefix: Option<String>,
    pub delimiter: String,
    pub double_quote: bool,
    pub encoding: String,
    pub header_row_count: usize,
    pub line_terminators: Vec<String>,
    pub quote_char: Option<String>,
    pub skip_blank_rows: bool,
    pub skip_columns: usize,
    pub skip_rows: usize,
    pub trim: Trim,
}

impl Default for Dialect {
    fn default() -> Self {
        // commentPrefix defaults to null: the tests need it (w3c/csvw#881).
        Dialect {
            comment_prefix: None,
            delimiter: ",".into(),
            double_quote: true,
            encoding: "utf-8".into(),
            header_row_count: 1,
            line_terminators: vec!["\r\n".into(), "\n".into()],
            quote_char: Some("\"".into()),
            skip_blank_rows: false,
            skip_columns: 0,
            skip_rows: 0,
            trim: Trim::Both,
        }
    }
}

/// What the reader found on one line of the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A row whose content started with the comment prefix (prefix removed, trimmed).
    Comment(String),
    /// A row of cells.
    Row(Vec<String>),
}

const CHUNK: usize = 64 * 1024;

/// Streams rows out of a byte source according to a dialect.
pub struct RowReader<R: Read> {
    input: R,
    decoder: Decoder,
    raw: Vec<u8>,
    buf: String,
    pos: usize,
    eof_input: bool,
    done: bool,
    /// Bytes that could not be decoded were replaced with U+FFFD.
    pub had_replacements: bool,
    delimiter: Vec<u8>,
    quote: Option<Vec<u8>>,
    escape: Option<Vec<u8>>,
    /// The escape is the quote (`doubleQuote`): decided once, not compared at every quote.
    escape_is_quote: bool,
    terminators: Vec<Vec<u8>>,
    comment: Option<Vec<u8>>,
    trim: Trim,
    special: [bool; 256],
    lookahead: usize,
    /// Emptied cell strings and row vectors given back with [`RowReader::recycle`], reused
    /// for the next rows instead of allocating new ones.
    spare_cells: Vec<String>,
    spare_row: Vec<String>,
}

/// Spare cell strings kept at most.
const SPARE_CELLS: usize = 256;

impl<R: Read> RowReader<R> {
    pub fn new(input: R, dialect: &Dialect) -> Self {
        let encoding =
            Encoding::for_label(dialect.encoding.as_bytes()).unwrap_or(encoding_rs::UTF_8);
        let decoder = encoding.new_decoder_with_bom_removal();
        let delimiter = dialect.delimiter.as_bytes().to_vec();
        let quote = dialect.quote_char.as_ref().map(|q| q.as_bytes().to_vec());
        let escape = match (&quote, dialect.double_quote) {
            (None, _) => None,
            (Some(q), true) => Some(q.clone()),
            (Some(_), false) => Some(b"\\".to_vec()),
        };
        let terminators: Vec<Vec<u8>> = dialect
            .line_terminators
            .iter()
            .filter(|t| !t.is_empty())
            .map(|t| t.as_bytes().to_vec())
            .collect();
        let comment = dialect
            .comment_prefix
            .as_ref()
            .filter(|c| !c.is_empty())
            .map(|c| c.as_bytes().to_vec());
        let mut special = [false; 256];
        let mut lookahead = 1;
        for tok in std::iter::once(&delimiter)
            .chain(quote.iter())
            .chain(escape.iter())
            .chain(terminators.iter())
        {
            if let Some(b) = tok.first() {
                special[*b as usize] = true;
            }
            lookahead = lookahead.max(tok.len() + quote.as_ref().map_or(0, Vec::len));
        }
        RowReader {
            input,
            decoder,
            raw: vec![0; CHUNK],
            buf: String::new(),
            pos: 0,
            eof_input: false,
            done: false,
            had_replacements: false,
            delimiter,
            escape_is_quote: escape.is_some() && escape == quote,
            quote,
            escape,
            terminators,
            comment,
            trim: dialect.trim,
            special,
            lookahead,
            spare_cells: Vec::new(),
            spare_row: Vec::new(),
        }
    }

    /// Gives a row's vector and cell strings back, to hold later rows' cells.
    pub fn recycle(&mut self, mut row: Vec<String>) {
        for mut cell in row.drain(..) {
            if self.spare_cells.len() >= SPARE_CELLS {
                break;
            }
            cell.clear();
            self.spare_cells.push(cell);
        }
        if row.capacity() > self.spare_row.capacity() {
            self.spare_row = row;
        }
    }

    /// Makes sure at least `need` bytes are buffered from `pos`, unless the input ends.
    fn fill(&mut self, need: usize) -> std::io::Result<()> {
        while self.buf.len() - self.pos < need && !self.eof_input {
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            let n = loop {
                match self.input.read(&mut self.raw) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            let last = n == 0;
            if last {
                self.eof_input = true;
            }
            let mut src = &self.raw[..n];
            loop {
                let cap = self
                    .decoder
                    .max_utf8_buffer_length(src.len())
                    .unwrap_or(src.len() * 3 + 16);
                self.buf.reserve(cap);
                let (result, read, replaced) =
                    self.decoder.decode_to_string(src, &mut self.buf, last);
                self.had_replacements |= replaced;
                src = &src[read..];
                match result {
                    CoderResult::InputEmpty => break,
                    CoderResult::OutputFull => continue,
                }
            }
        }
        Ok(())
    }

    fn avail(&self) -> &[u8] {
        &self.buf.as_bytes()[self.pos..]
    }

    fn at(&self, tok: &[u8]) -> bool {
        !tok.is_empty() && starts(self.avail(), tok)
    }

    fn at_terminator(&self) -> Option<usize> {
        self.terminators
            .iter()
            .find(|t| starts(self.avail(), t))
            .map(Vec::len)
    }

    /// Reads the next line; `None` at the end of the input.
    pub fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        if self.done {
            return Ok(None);
        }
        self.fill(
            self.lookahead
                .max(self.comment.as_ref().map_or(0, Vec::len)),
        )?;
        if self.avail().is_empty() {
            self.done = true;
            return Ok(None);
        }
        if let Some(n) = self
            .comment
            .as_deref()
            .filter(|c| self.at(c))
            .map(<[u8]>::len)
        {
            self.pos += n;
            let content = self.read_row_content()?;
            return Ok(Some(Line::Comment(content.trim().to_string())));
        }
        self.parse_row().map(|cells| Some(Line::Row(cells)))
    }

    /// Reads a row's content raw, quotes kept (used for comments and skipped rows).
    pub fn read_raw(&mut self) -> std::io::Result<Option<String>> {
        if self.done {
            return Ok(None);
        }
        self.fill(self.lookahead)?;
        if self.avail().is_empty() {
            self.done = true;
            return Ok(None);
        }
        self.read_row_content().map(Some)
    }

    fn read_row_content(&mut self) -> std::io::Result<String> {
        let mut out = String::new();
        let mut quoted = false;
        loop {
            self.fill(self.lookahead)?;
            if self.avail().is_empty() {
                return Ok(out);
            }
            if let (Some(e), Some(q)) = (self.escape.clone(), self.quote.clone()) {
                if self.avail().starts_with(&e)
                    && self.avail()[e.len()..].starts_with(&q)
                    && (quoted || e != q)
                {
                    out.push_str(&self.buf[self.pos..self.pos + e.len() + q.len()]);
                    self.pos += e.len() + q.len();
                    continue;
                }
                if e != q && self.at(&e) {
                    let start = self.pos;
                    self.pos += e.len();
                    self.skip_char();
                    out.push_str(&self.buf[start..self.pos]);
                    continue;
                }
            }
            if let Some(q) = self.quote.clone() {
                if self.at(&q) {
                    quoted = !quoted;
                    out.push_str(&self.buf[self.pos..self.pos + q.len()]);
                    self.pos += q.len();
                    continue;
                }
            }
            if !quoted {
                if let Some(n) = self.at_terminator() {
                    self.pos += n;
                    return Ok(out);
                }
            }
            let start = self.pos;
            self.skip_char();
            out.push_str(&self.buf[start..self.pos]);
        }
    }

    fn skip_char(&mut self) {
        if let Some(c) = self.buf[self.pos..].chars().next() {
            self.pos += c.len_utf8();
        }
    }

    fn finish_cell(&self, cur: &mut String, cells: &mut Vec<String>) {
        let mut v = std::mem::take(cur);
        // Most cells neither start nor end with a byte of a white-space character: the
        // trims below are skipped for them.
        let maybe_space =
            |b: Option<&u8>| b.is_some_and(|&b| matches!(b, b'\t'..=b'\r' | b' ') || b >= 0x80);
        if matches!(self.trim, Trim::End | Trim::Both) && maybe_space(v.as_bytes().last()) {
            v.truncate(v.trim_end().len());
        }
        if matches!(self.trim, Trim::Start | Trim::Both) && maybe_space(v.as_bytes().first()) {
            let start = v.len() - v.trim_start().len();
            if start > 0 {
                v.drain(..start);
            }
        }
        cells.push(v);
    }

    /// [`Self::fill`] for `need` bytes, with the usual case (they are there) decided inline.
    #[inline]
    fn ensure(&mut self, need: usize) -> std::io::Result<()> {
        if self.buf.len() - self.pos >= need || self.eof_input {
            return Ok(());
        }
        self.fill(need)
    }

    fn parse_row(&mut self) -> std::io::Result<Vec<String>> {
        let mut cells = std::mem::take(&mut self.spare_row);
        let mut cur = self.spare_cells.pop().unwrap_or_default();
        let mut quoted = false;
        let mut was_quoted = false;
        loop {
            self.ensure(self.lookahead)?;
            let avail = self.avail();
            if avail.is_empty() {
                self.finish_cell(&mut cur, &mut cells);
                return Ok(cells);
            }
            // Fast path: copy a run of ordinary bytes.
            let run = avail
                .iter()
                .take_while(|b| !self.special[**b as usize])
                .count();
            if run > 0 {
                cur.push_str(&self.buf[self.pos..self.pos + run]);
                self.pos += run;
                continue;
            }
            if let (Some(e), Some(q)) = (&self.escape, &self.quote) {
                if self.escape_is_quote {
                    if quoted && starts(avail, e) && starts(&avail[e.len()..], q) {
                        cur.push_str(std::str::from_utf8(q).unwrap_or("\""));
                        self.pos += e.len() + q.len();
                        continue;
                    }
                } else if starts(avail, e) {
                    self.pos += e.len();
                    self.fill(4)?;
                    let start = self.pos;
                    self.skip_char();
                    let ch = self.buf[start..self.pos].to_string();
                    cur.push_str(&ch);
                    continue;
                }
            }
            if let Some(q) = &self.quote {
                if starts(avail, q) {
                    self.pos += q.len();
                    if quoted {
                        quoted = false;
                    } else if cur.trim().is_empty() && !was_quoted {
                        cur.clear();
                        quoted = true;
                        was_quoted = true;
                    } else {
                        // A quote inside an unquoted cell is kept as text.
                        let q = String::from_utf8_lossy(q).into_owned();
                        cur.push_str(&q);
                    }
                    continue;
                }
            }
            if quoted {
                let start = self.pos;
                self.skip_char();
                cur.push_str(&self.buf[start..self.pos]);
                continue;
            }
            if starts(avail, &self.delimiter) {
                self.pos += self.delimiter.len();
                self.finish_cell(&mut cur, &mut cells);
                if let Some(spare) = self.spare_cells.pop() {
                    cur = spare;
                }
                was_quoted = false;
                continue;
            }
            if let Some(n) = self.at_terminator() {
                self.pos += n;
                self.finish_cell(&mut cur, &mut cells);
                return Ok(cells);
            }
            let start = self.pos;
            self.skip_char();
            cur.push_str(&self.buf[start..self.pos]);
        }
    }
}

/// `text.starts_with(tok)`, deciding most cases on the first byte without a call to compare.
#[inline]
fn starts(text: &[u8], tok: &[u8]) -> bool {
    match (tok.first(), text.first()) {
        (None, _) => true,
        (Some(t), Some(c)) if t == c => tok.len() == 1 || text.starts_with(tok),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(input: &str, d: &Dialect) -> Vec<Line> {
        let mut r = RowReader::new(input.as_bytes(), d);
        let mut out = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            out.push(l);
        }
        out
    }

    fn row(cells: &[&str]) -> Line {
        Line::Row(cells.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn quoting_and_terminators() {
        let d = Dialect::default();
        assert_eq!(
            rows("a,b\r\n\"x,\"\"y\"\"\nz\", w \n", &d),
            vec![row(&["a", "b"]), row(&["x,\"y\"\nz", "w"])]
        );
        assert_eq!(rows("a,,\n", &d), vec![row(&["a", "", ""])]);
        assert_eq!(rows("a", &d), vec![row(&["a"])]);
    }

    #[test]
    fn custom_dialect() {
        let d = Dialect {
            delimiter: "\t".into(),
            double_quote: false,
            comment_prefix: Some("#".into()),
            trim: Trim::None,
            ..Dialect::default()
        };
        assert_eq!(
            rows("# hello\na\t\"b\\\"c\" \n", &d),
            vec![Line::Comment("hello".into()), row(&["a", "b\"c "])]
        );
        let d = Dialect {
            line_terminators: vec!["|".into()],
            ..Dialect::default()
        };
        assert_eq!(
            rows("a,b|c,d", &d),
            vec![row(&["a", "b"]), row(&["c", "d"])]
        );
    }

    #[test]
    fn encodings_and_bom() {
        let d = Dialect::default();
        assert_eq!(rows("\u{feff}a,b\n", &d), vec![row(&["a", "b"])]);
        let latin = Dialect {
            encoding: "windows-1252".into(),
            ..Dialect::default()
        };
        let mut r = RowReader::new(&b"\xa31,x\n"[..], &latin);
        assert_eq!(r.next_line().unwrap(), Some(row(&["£1", "x"])));
        let mut r = RowReader::new(&b"\xff,x\n"[..], &d);
        assert_eq!(r.next_line().unwrap(), Some(row(&["\u{fffd}", "x"])));
        assert!(r.had_replacements);
    }

    #[test]
    fn long_cells_cross_buffer_boundaries() {
        let big = "x".repeat(3 * CHUNK + 17);
        let input = format!("\"{big}\",\"a\r\nb\"\r\nnext,row\n");
        let d = Dialect::default();
        let got = rows(&input, &d);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], row(&[&big, "a\r\nb"]));
    }
}
