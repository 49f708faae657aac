//! Text encodings: declared, or detected from a byte-order mark, the NUL pattern of UTF-16 or
//! UTF-8 validity; a file that is not UTF-8 is decoded as Windows-1252 (which covers Latin-1
//! and its £ sign) and the report says so, with the first byte that decided it.

use crate::Problem;
use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

/// Text and how it was decoded.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub text: String,
    /// The encoding's WHATWG name, e.g. `UTF-8`, `windows-1252`, `UTF-16LE`.
    pub encoding: &'static str,
    /// Whether a byte-order mark was found (and removed).
    pub bom: bool,
}

/// The 1-based line of byte offset `at`.
fn line_of(bytes: &[u8], at: usize) -> u64 {
    1 + bytes[..at.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}

/// Decodes `bytes`: with the `declared` encoding label if given (an error if the bytes are not
/// valid in it), else by detection. Every decision is noted.
pub fn decode(
    bytes: &[u8],
    declared: Option<&str>,
    notes: &mut Vec<Problem>,
) -> Result<Decoded, Problem> {
    if let Some(label) = declared {
        let enc = Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
            Problem::error(
                "encoding",
                format!("unknown encoding {label:?} (use a WHATWG label such as utf-8, windows-1252, utf-16le)"),
            )
        })?;
        let (body, bom) = match Encoding::for_bom(bytes) {
            Some((b, len)) if b == enc => (&bytes[len..], true),
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
            None => (bytes, false),
        };
        return match enc.decode_without_bom_handling_and_without_replacement(body) {
            Some(text) => {
                notes.push(Problem::info(
                    "encoding",
                    format!("decoded as {} (declared by the pipeline)", enc.name()),
                ));
                Ok(Decoded {
                    text: text.into_owned(),
                    encoding: enc.name(),
                    bom,
                })
            }
            None => {
                let at = first_invalid(enc, body);
                Err(Problem::error(
                    "encoding",
                    format!(
                        "the file is not valid {}: the first bad byte is at offset {at}",
                        enc.name()
                    ),
                )
                .row(line_of(body, at))
                .value(format!("0x{:02X}", body.get(at).copied().unwrap_or(0))))
            }
        };
    }
    if let Some((enc, len)) = Encoding::for_bom(bytes) {
        let body = &bytes[len..];
        return match enc.decode_without_bom_handling_and_without_replacement(body) {
            Some(text) => {
                notes.push(Problem::info(
                    "encoding",
                    format!("detected {} from its byte-order mark (removed)", enc.name()),
                ));
                Ok(Decoded {
                    text: text.into_owned(),
                    encoding: enc.name(),
                    bom: true,
                })
            }
            None => {
                let at = first_invalid(enc, body);
                Err(Problem::error(
                    "encoding",
                    format!(
                        "the file starts with a {} byte-order mark but is not valid {} at offset {at}",
                        enc.name(),
                        enc.name()
                    ),
                ))
            }
        };
    }
    if let Some(enc) = utf16_by_nuls(bytes) {
        if let Some(text) = enc.decode_without_bom_handling_and_without_replacement(bytes) {
            notes.push(Problem::warning(
                "encoding",
                format!(
                    "detected {} without a byte-order mark from its NUL bytes; declare `encoding = \"{}\"` to confirm",
                    enc.name(),
                    enc.name().to_ascii_lowercase()
                ),
            ));
            return Ok(Decoded {
                text: text.into_owned(),
                encoding: enc.name(),
                bom: false,
            });
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            notes.push(Problem::info("encoding", "detected UTF-8"));
            Ok(Decoded {
                text: text.to_string(),
                encoding: UTF_8.name(),
                bom: false,
            })
        }
        Err(e) => {
            let at = e.valid_up_to();
            let (text, _, _) = WINDOWS_1252.decode(bytes);
            let byte = bytes[at];
            let shown: String = WINDOWS_1252
                .decode_without_bom_handling(&bytes[at..at + 1])
                .0
                .into_owned();
            notes.push(
                Problem::warning(
                    "encoding",
                    format!(
                        "not UTF-8 (byte 0x{byte:02X} at offset {at}); decoded as windows-1252, where that byte is {shown:?}; declare `encoding = \"windows-1252\"` to confirm"
                    ),
                )
                .row(line_of(bytes, at))
                .value(format!("0x{byte:02X}")),
            );
            Ok(Decoded {
                text: text.into_owned(),
                encoding: WINDOWS_1252.name(),
                bom: false,
            })
        }
    }
}

/// The offset of the first byte `enc` cannot decode.
fn first_invalid(enc: &'static Encoding, bytes: &[u8]) -> usize {
    if enc == UTF_8 {
        return std::str::from_utf8(bytes)
            .err()
            .map(|e| e.valid_up_to())
            .unwrap_or(0);
    }
    // Decode in growing prefixes: the first prefix with an error ends at the bad byte.
    let mut decoder = enc.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(64);
    for (i, b) in bytes.iter().enumerate() {
        out.clear();
        let (result, _) =
            decoder.decode_to_string_without_replacement(std::slice::from_ref(b), &mut out, false);
        if let encoding_rs::DecoderResult::Malformed(_, _) = result {
            return i;
        }
    }
    bytes.len().saturating_sub(1)
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
