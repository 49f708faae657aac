//! Row identity: each row's key, from which its URI is built (`payment/{+row_key}`), so that a
//! row keeps its URI when the council publishes the file again in another order, with rows
//! added or removed.
//!
//! The key is the row's identifying values (the first of the mapping's key alternatives whose
//! columns the file has), each percent-encoded as RFC 6570 simple expansion encodes it and
//! made one path segment: `LDS-2024-1012/2024-01-04`. Where a template's key does not identify
//! a row (the file lacks the columns, the row lacks a value, or several rows share it), the row
//! falls back to a content key: `~` and a hash of the row's published values (after the
//! readable key when there is one), with `-2`, `-3`… for exact duplicates; the report says how
//! many rows and why. A pipeline's own key (`[rules] key`) is a promise: a missing or shared
//! value is an error naming both rows.

use super::gate::REDACTED;
use crate::mapping::Mapping;
use crate::report::{Problem, Report, LISTED_PER_RULE};
use fivestar_tidy::Table;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Each row's key, in the table's row order.
pub fn row_keys(mapping: &Mapping, table: &Table, file: &str, report: &mut Report) -> Vec<String> {
    let present = |k: &usize| table.source_columns.get(*k).is_some_and(|s| s.is_some());
    let chosen: Option<&Vec<usize>> = mapping
        .key
        .iter()
        .find(|alt| !alt.is_empty() && alt.iter().all(present));
    let shown = |k: usize| mapping.source_header(table, k);
    let names = chosen
        .map(|alt| {
            alt.iter()
                .map(|&k| format!("“{}”", shown(k)))
                .collect::<Vec<_>>()
                .join(" and ")
        })
        .unwrap_or_default();
    // The readable key of each row, when every identifying value is there.
    let readable: Vec<Option<String>> = table
        .rows
        .iter()
        .map(|row| {
            let alt = chosen?;
            let mut key = String::new();
            for &k in alt {
                let v = row[k].trim();
                if v.is_empty() || v == REDACTED {
                    return None;
                }
                if !key.is_empty() {
                    key.push('/');
                }
                encode_segment(&mut key, v);
            }
            Some(key)
        })
        .collect();
    let mut first_row: HashMap<&str, usize> = HashMap::new();
    let mut shared = vec![false; table.rows.len()];
    for (i, k) in readable.iter().enumerate() {
        if let Some(k) = k {
            if let Some(&j) = first_row.get(k.as_str()) {
                shared[i] = true;
                shared[j] = true;
            } else {
                first_row.insert(k, i);
            }
        }
    }
    if mapping.key_declared {
        let column = chosen
            .and_then(|alt| alt.first())
            .map(|&k| shown(k))
            .unwrap_or_default();
        let mut listed = 0usize;
        for (i, k) in readable.iter().enumerate() {
            let problem = match k {
                None => Problem::error(
                    "rules:key",
                    format!("the row has no value in {names}, the pipeline's key"),
                ),
                Some(k) if shared[i] && first_row[k.as_str()] != i => Problem::error(
                    "rules:key",
                    format!(
                        "row {} has the same key ({names}); each row's key must be its own",
                        table.source_rows[first_row[k.as_str()]]
                    ),
                )
                .value(decode_for_report(k)),
                _ => continue,
            };
            listed += 1;
            if listed <= LISTED_PER_RULE {
                report
                    .problems
                    .push(problem.file(file).row(table.source_rows[i]).column(&column));
            }
        }
        if chosen.is_none() {
            report.problems.push(
                Problem::error(
                    "rules:key",
                    "the file lacks a column of the pipeline's key (`[rules] key`)",
                )
                .file(file),
            );
        }
    }
    // Content keys, for the rows the readable key does not identify.
    let mut occurrences: HashMap<String, usize> = HashMap::new();
    let (mut no_key, mut shared_count) = (0usize, 0usize);
    let mut examples: Vec<u64> = Vec::new();
    let keys: Vec<String> = readable
        .into_iter()
        .enumerate()
        .map(|(i, k)| match k {
            Some(k) if !shared[i] => k,
            k => {
                let hash = content_hash(mapping, &table.rows[i]);
                let base = match &k {
                    Some(k) => {
                        shared_count += 1;
                        format!("{k}/~{}", &hash[..8])
                    }
                    None => {
                        no_key += 1;
                        format!("~{hash}")
                    }
                };
                if examples.len() < 3 {
                    examples.push(table.source_rows[i]);
                }
                let n = occurrences.entry(base.clone()).or_insert(0);
                *n += 1;
                if *n == 1 {
                    base
                } else {
                    format!("{base}-{n}")
                }
            }
        })
        .collect();
    if !mapping.key_declared && !table.rows.is_empty() {
        let message = match chosen {
            None => format!(
                "the file has none of the columns that identify a row ({}), so each row's URI is a hash of its values: a row whose values are corrected gets a new URI",
                alternatives(mapping)
            ),
            Some(_) if no_key + shared_count == 0 => format!(
                "each row's URI is built from {names}, the same in every release"
            ),
            Some(_) => {
                let mut parts = Vec::new();
                if no_key > 0 {
                    parts.push(format!(
                        "{no_key} {} no value in {names}",
                        if no_key == 1 { "row has" } else { "rows have" }
                    ));
                }
                if shared_count > 0 {
                    parts.push(format!(
                        "{shared_count} {} the same {names} as another row",
                        if shared_count == 1 { "row has" } else { "rows have" }
                    ));
                }
                format!(
                    "row URIs are built from {names}; {}, so their URIs add a hash of the row's values (a correction to such a row gives it a new URI); first rows: {}",
                    parts.join(" and "),
                    examples
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        };
        report
            .problems
            .push(Problem::info("identity", message).file(file));
    }
    keys
}

/// The template's key alternatives in words.
fn alternatives(mapping: &Mapping) -> String {
    mapping
        .key
        .iter()
        .map(|alt| {
            alt.iter()
                .map(|&k| mapping.columns[k].rule.name.clone())
                .collect::<Vec<_>>()
                .join(" + ")
        })
        .collect::<Vec<_>>()
        .join(", or ")
}

/// The hash of a row's published values (the mapped columns, in order): 16 hex digits.
fn content_hash(mapping: &Mapping, row: &[String]) -> String {
    let mut h = Sha256::new();
    for v in row.iter().take(mapping.columns.len()) {
        h.update(v.trim().as_bytes());
        h.update([0x1f]);
    }
    hex::encode(&h.finalize()[..8])
}

/// Appends `v` percent-encoded as RFC 6570 simple expansion encodes a value (everything but
/// the unreserved characters, as UTF-8), so that `{+row_key}` keeps it as it is.
fn encode_segment(out: &mut String, v: &str) {
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// A key as the officer wrote it (for the report): its segments decoded, joined by " · ".
fn decode_for_report(key: &str) -> String {
    key.split('/')
        .map(decode_segment)
        .collect::<Vec<_>>()
        .join(" · ")
}

fn decode_segment(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded_as_simple_expansion_encodes() {
        let mut s = String::new();
        encode_segment(&mut s, "LDS/2024 #1-é");
        assert_eq!(s, "LDS%2F2024%20%231-%C3%A9");
        assert_eq!(
            decode_for_report("LDS%2F2024%20%231-%C3%A9/x"),
            "LDS/2024 #1-é · x"
        );
        assert_eq!(decode_for_report("100%"), "100%");
    }
}
