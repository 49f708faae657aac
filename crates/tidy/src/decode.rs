//! Text encodings: declared, or detected from a byte-order mark, the NUL pattern of UTF-16 or
//! UTF-8 validity; a file that is not UTF-8 is decoded as Windows-1252 (which covers Latin-1
//! and its £ sign) and the report says so, with the first byte that decided it.

use crate::Problem;
use encoding_rs::{DecoderResult, Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};
use std::io::{Cursor, Read, Seek, SeekFrom};

/// Text and how it was decoded.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub text: String,
    /// The encoding's WHATWG name, e.g. `UTF-8`, `windows-1252`, `UTF-16LE`.
    pub encoding: &'static str,
    /// Whether a byte-order mark was found (and removed).
    pub bom: bool,
}

/// Decodes `bytes`: with the `declared` encoding label if given (an error if the bytes are not
/// valid in it), else by detection. Every decision is noted.
pub fn decode(
    bytes: &[u8],
    declared: Option<&str>,
    notes: &mut Vec<Problem>,
) -> Result<Decoded, Problem> {
    let found = detect(&mut Cursor::new(bytes), declared, notes)?;
    let body = &bytes[found.bom_len as usize..];
    Ok(Decoded {
        text: found
            .encoding
            .decode_without_bom_handling(body)
            .0
            .into_owned(),
        encoding: found.encoding.name(),
        bom: found.bom_len > 0,
    })
}

/// What [`detect`] decided, and what it saw of the text on the way.
#[derive(Debug, Clone)]
pub(crate) struct Detected {
    pub encoding: &'static Encoding,
    /// The length of the byte-order mark the text starts after.
    pub bom_len: u64,
    /// Line endings in the text: CRLF, CR alone, LF alone.
    pub line_endings: [u64; 3],
    /// The text's beginning: at least [`HEAD_LINES`] lines with values (when the text has
    /// them) and never much more than [`HEAD_BYTES`].
    pub head: String,
    /// Whether `head` is the whole text.
    pub head_is_all: bool,
}

/// Lines with values that [`Detected::head`] holds, when the text has them.
pub(crate) const HEAD_LINES: usize = 30;
const HEAD_BYTES: usize = 4 << 20;
const CHUNK: usize = 64 << 10;

/// The first byte that a text did not decode at.
struct Bad {
    /// From the start of the text (after any byte-order mark).
    offset: u64,
    line: u64,
    byte: u8,
}

fn read_failed(e: std::io::Error) -> Problem {
    Problem::error("read", format!("reading the file failed: {e}"))
}

/// Detects the encoding of the text `reader` holds (from its start): the `declared` label if
/// given (an error if the text is not valid in it), else a byte-order mark, the NUL pattern of
/// UTF-16, UTF-8 validity, and otherwise windows-1252. Reads the text through once (twice for
/// windows-1252), holding a chunk at a time; every decision is noted.
pub(crate) fn detect<R: Read + Seek>(
    reader: &mut R,
    declared: Option<&str>,
    notes: &mut Vec<Problem>,
) -> Result<Detected, Problem> {
    let mut first = Vec::with_capacity(4096);
    reader.rewind().map_err(read_failed)?;
    reader
        .by_ref()
        .take(4096)
        .read_to_end(&mut first)
        .map_err(read_failed)?;
    let bom = Encoding::for_bom(&first);
    if let Some(label) = declared {
        let enc = Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
            Problem::error(
                "encoding",
                format!("unknown encoding {label:?} (use a WHATWG label such as utf-8, windows-1252, utf-16le)"),
            )
        })?;
        let bom_len = match bom {
            Some((b, len)) if b == enc => len as u64,
            Some((b, _)) => {
                return Err(Problem::error(
                    "encoding",
                    format!(
                        "the pipeline declares {}, but the file starts with a {} byte-order mark",
                        enc.name(),
                        b.name()
                    ),
                ))
            }
            None => 0,
        };
        return match scan(reader, enc, bom_len).map_err(read_failed)? {
            Ok(found) => {
                notes.push(Problem::info(
                    "encoding",
                    format!("decoded as {} (declared by the pipeline)", enc.name()),
                ));
                Ok(found)
            }
            Err(bad) => Err(Problem::error(
                "encoding",
                format!(
                    "the file is not valid {}: the first bad byte is at offset {}",
                    enc.name(),
                    bad.offset
                ),
            )
            .row(bad.line)
            .value(format!("0x{:02X}", bad.byte))),
        };
    }
    if let Some((enc, len)) = bom {
        return match scan(reader, enc, len as u64).map_err(read_failed)? {
            Ok(found) => {
                notes.push(Problem::info(
                    "encoding",
                    format!("detected {} from its byte-order mark (removed)", enc.name()),
                ));
                Ok(found)
            }
            Err(bad) => Err(Problem::error(
                "encoding",
                format!(
                    "the file starts with a {} byte-order mark but is not valid {} at offset {}",
                    enc.name(),
                    enc.name(),
                    bad.offset
                ),
            )),
        };
    }
    if let Some(enc) = utf16_by_nuls(&first) {
        if let Ok(found) = scan(reader, enc, 0).map_err(read_failed)? {
            notes.push(Problem::warning(
                "encoding",
                format!(
                    "detected {} without a byte-order mark from its NUL bytes; declare `encoding = \"{}\"` to confirm",
                    enc.name(),
                    enc.name().to_ascii_lowercase()
                ),
            ));
            return Ok(found);
        }
    }
    match scan(reader, UTF_8, 0).map_err(read_failed)? {
        Ok(found) => {
            notes.push(Problem::info("encoding", "detected UTF-8"));
            Ok(found)
        }
        Err(bad) => {
            let shown: String = WINDOWS_1252
                .decode_without_bom_handling(&[bad.byte])
                .0
                .into_owned();
            notes.push(
                Problem::warning(
                    "encoding",
                    format!(
                        "not UTF-8 (byte 0x{:02X} at offset {}); decoded as windows-1252, where that byte is {shown:?}; declare `encoding = \"windows-1252\"` to confirm",
                        bad.byte, bad.offset
                    ),
                )
                .row(bad.line)
                .value(format!("0x{:02X}", bad.byte)),
            );
            // Every byte is a character in windows-1252: this scan cannot fail.
            scan(reader, WINDOWS_1252, 0)
                .map_err(read_failed)?
                .map_err(|_| Problem::error("encoding", "windows-1252 could not decode the file"))
        }
    }
}

/// Decodes the text from `start` as `enc` without replacement, a chunk at a time: what it saw
/// ([`Detected`]), or the first byte it could not decode.
fn scan<R: Read + Seek>(
    reader: &mut R,
    enc: &'static Encoding,
    start: u64,
) -> std::io::Result<Result<Detected, Bad>> {
    reader.seek(SeekFrom::Start(start))?;
    let mut decoder = enc.new_decoder_without_bom_handling();
    let mut input = vec![0u8; CHUNK];
    let mut output = vec![0u8; decoder.max_utf8_buffer_length(CHUNK).unwrap_or(4 * CHUNK)];
    let mut found = Detected {
        encoding: enc,
        bom_len: start,
        line_endings: [0; 3],
        head: String::new(),
        head_is_all: false,
    };
    let mut head_done = false;
    let mut last_cr = false;
    let mut consumed = 0u64;
    loop {
        let n = read_chunk(reader, &mut input)?;
        let last = n == 0;
        let mut at = 0;
        loop {
            let (result, read, written) =
                decoder.decode_to_utf8_without_replacement(&input[at..n], &mut output, last);
            let text = &output[..written];
            count_line_endings(text, &mut last_cr, &mut found.line_endings);
            if !head_done {
                // The decoder writes whole characters only.
                found
                    .head
                    .push_str(std::str::from_utf8(text).unwrap_or_default());
                // More lines than wanted: the last may be cut.
                head_done =
                    found.head.len() >= HEAD_BYTES || lines_with_values(&found.head) > HEAD_LINES;
            }
            match result {
                DecoderResult::InputEmpty => {
                    at += read;
                    break;
                }
                DecoderResult::OutputFull => at += read,
                DecoderResult::Malformed(bad, trailing) => {
                    let end = consumed + (at + read) as u64;
                    let offset = end.saturating_sub(u64::from(bad) + u64::from(trailing));
                    return Ok(Err(locate(reader, start, offset)?));
                }
            }
        }
        consumed += at as u64;
        if last {
            if last_cr {
                found.line_endings[1] += 1;
            }
            found.head_is_all = !head_done;
            return Ok(Ok(found));
        }
    }
}

/// Lines with values in `text`.
fn lines_with_values(text: &str) -> usize {
    text.split(['\n', '\r'])
        .filter(|l| !l.trim().is_empty())
        .count()
}

/// Counts CRLF, CR alone and LF alone, carrying a CR at the end of one chunk into the next.
fn count_line_endings(text: &[u8], last_cr: &mut bool, counts: &mut [u64; 3]) {
    for &b in text {
        match b {
            b'\n' if *last_cr => {
                counts[0] += 1;
                *last_cr = false;
            }
            b'\n' => counts[2] += 1,
            b'\r' => {
                if *last_cr {
                    counts[1] += 1;
                }
                *last_cr = true;
            }
            _ => {
                if *last_cr {
                    counts[1] += 1;
                }
                *last_cr = false;
            }
        }
    }
}

/// Fills `buf` as far as the reader allows: short only at the end.
pub(crate) fn read_chunk<R: Read>(reader: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The line and value of the byte at `offset` of the text that starts at `start`.
fn locate<R: Read + Seek>(reader: &mut R, start: u64, offset: u64) -> std::io::Result<Bad> {
    reader.seek(SeekFrom::Start(start))?;
    let mut line = 1u64;
    let mut left = offset;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            break;
        }
        let n = read_chunk(reader, &mut buf[..want])?;
        if n == 0 {
            break;
        }
        line += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        left -= n as u64;
    }
    let mut byte = [0u8];
    let got = read_chunk(reader, &mut byte)?;
    Ok(Bad {
        offset,
        line,
        byte: if got == 1 { byte[0] } else { 0 },
    })
}

/// UTF-16 without a BOM: ASCII text in UTF-16 has a NUL in every other byte.
fn utf16_by_nuls(bytes: &[u8]) -> Option<&'static Encoding> {
    let sample = &bytes[..bytes.len().min(4096) & !1];
    if sample.len() < 8 {
        return None;
    }
    let pairs = sample.len() / 2;
    let even = sample.iter().step_by(2).filter(|&&b| b == 0).count();
    let odd = sample
        .iter()
        .skip(1)
        .step_by(2)
        .filter(|&&b| b == 0)
        .count();
    if odd * 10 >= pairs * 7 && even * 10 < pairs {
        Some(UTF_16LE)
    } else if even * 10 >= pairs * 7 && odd * 10 < pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str, bom: bool) -> Vec<u8> {
        let mut v = if bom { vec![0xFF, 0xFE] } else { vec![] };
        for u in s.encode_utf16() {
            v.extend_from_slice(&u.to_le_bytes());
        }
        v
    }

    #[test]
    fn detects_each_encoding_and_says_so() {
        let mut notes = vec![];
        let d = decode("a,b\n£1,2\n".as_bytes(), None, &mut notes).unwrap();
        assert_eq!((d.encoding, d.bom), ("UTF-8", false));
        let d = decode(b"\xEF\xBB\xBFa,b\n", None, &mut notes).unwrap();
        assert_eq!(
            (d.encoding, d.bom, d.text.as_str()),
            ("UTF-8", true, "a,b\n")
        );
        let d = decode(&utf16le("Amount\n£5\n", true), None, &mut notes).unwrap();
        assert_eq!((d.encoding, d.text.as_str()), ("UTF-16LE", "Amount\n£5\n"));
        let d = decode(
            &utf16le("Amount,Date\n5,2024-01-01\n", false),
            None,
            &mut notes,
        )
        .unwrap();
        assert_eq!(d.encoding, "UTF-16LE");
        notes.clear();
        let d = decode(b"Amount\n\xA31,234.56\n", None, &mut notes).unwrap();
        assert_eq!(
            (d.encoding, d.text.as_str()),
            ("windows-1252", "Amount\n£1,234.56\n")
        );
        assert_eq!(notes[0].severity, crate::Severity::Warning);
        assert_eq!(notes[0].row, Some(2));
        assert!(notes[0].message.contains("\"£\""), "{}", notes[0].message);
    }

    #[test]
    fn a_declared_encoding_is_checked() {
        let mut notes = vec![];
        let d = decode(b"\xA3", Some("latin1"), &mut notes).unwrap();
        assert_eq!(d.text, "£");
        let e = decode(b"ok\n\xA3", Some("utf-8"), &mut notes).unwrap_err();
        assert_eq!(e.row, Some(2));
        assert!(decode(b"x", Some("klingon"), &mut notes).is_err());
        assert!(decode(b"\xEF\xBB\xBFx", Some("utf-16le"), &mut notes).is_err());
    }
}
