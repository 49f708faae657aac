//! Reading a file into a grid of text cells: CSV (any encoding, delimiter and line ending) or a
//! sheet of an Excel (xlsx, xls) or OpenDocument (ods) workbook, through calamine.

use crate::grid::{sniff_format, Format, Grid, ReadOptions};
use crate::{decode, Problem};

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
    fn not_a_workbook_is_a_clear_error() {
        let mut notes = vec![];
        let e = read(b"PK\x03\x04garbage", &ReadOptions::default(), &mut notes).unwrap_err();
        assert_eq!(e.rule, "workbook");
    }
}
