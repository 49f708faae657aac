//! Row identity: each row's key, from which its URI is built (`payment/{+row_key}`), so that a
//! row keeps its URI when the council publishes the file again in another order, with rows
//! added or removed.
//!
//! The key is the row's identifying values (of the mapping's key alternatives whose columns
//! the file has, the first with a value in every row, else the one filling most rows), each percent-encoded as RFC 6570 simple expansion encodes it and
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
// Not SipHash: these maps are keyed by every row's values (SipHash was 5 % of gate and links).
use foldhash::HashMap;

/// Each row's key, in the table's row order.
pub fn row_keys(mapping: &Mapping, table: &Table, file: &str, report: &mut Report) -> Vec<String> {
    let present = |k: &usize| table.source_columns.get(*k).is_some_and(|s| s.is_some());
    // Of the alternatives the file has, the first with a value in every row; failing that, the
    // one that identifies most rows (a column can be there and mostly blank, like UPRN).
    // Whether a value identifies (not empty, not redacted), worked out once by its id.
    let identifies = |k: usize| -> Vec<bool> {
        (0..table.rows.distinct(k))
            .map(|id| {
                let v = table.rows.value_of(k, id as u32).trim();
                !v.is_empty() && v != REDACTED
            })
            .collect()
    };
    let filled = |alt: &Vec<usize>| {
        let columns: Vec<(&[u32], Vec<bool>)> = alt
            .iter()
            .map(|&k| (table.rows.ids(k), identifies(k)))
            .collect();
        (0..table.rows.len())
            .filter(|&i| columns.iter().all(|(ids, ok)| ok[ids[i] as usize]))
            .count()
    };
    let mut chosen: Option<&Vec<usize>> = None;
    let mut best = 0;
    for alt in mapping
        .key
        .iter()
        .filter(|alt| !alt.is_empty() && alt.iter().all(present))
    {
        let n = filled(alt);
        if chosen.is_none() || n > best {
            (chosen, best) = (Some(alt), n);
        }
        if n == table.rows.len() {
            break;
        }
    }
    let shown = |k: usize| mapping.source_header(table, k);
    let names = chosen
        .map(|alt| {
            alt.iter()
                .map(|&k| format!("“{}”", shown(k)))
                .collect::<Vec<_>>()
                .join(" and ")
        })
        .unwrap_or_default();
    // The identifying columns' values, each worked out once by its id: its key segment
    // (`None`: empty or redacted), and a number for each distinct segment (values equal once
    // trimmed are one), so that rows are compared by numbers, not by their keys' text.
    let alt: &[usize] = chosen.map_or(&[], |a| a.as_slice());
    let encoded: Vec<(Vec<Option<String>>, Vec<u32>)> = alt
        .iter()
        .map(|&k| {
            let segments: Vec<Option<String>> = (0..table.rows.distinct(k))
                .map(|id| {
                    let v = table.rows.value_of(k, id as u32).trim();
                    (!v.is_empty() && v != REDACTED).then(|| {
                        let mut segment = String::new();
                        encode_segment(&mut segment, v);
                        segment
                    })
                })
                .collect();
            let mut number: HashMap<&str, u32> = HashMap::default();
            let numbers = segments
                .iter()
                .map(|s| {
                    let next = number.len() as u32;
                    s.as_deref()
                        .map_or(u32::MAX, |s| *number.entry(s).or_insert(next))
                })
                .collect();
            (segments, numbers)
        })
        .collect();
    // Each row's segment numbers, one after the other (`u32::MAX`: no segment).
    let width = alt.len();
    let mut tuples: Vec<u32> = Vec::with_capacity(table.rows.len() * width);
    for i in 0..table.rows.len() {
        for (&k, (_, numbers)) in alt.iter().zip(&encoded) {
            tuples.push(numbers[table.rows.ids(k)[i] as usize]);
        }
    }
    // The row's identifying values, when every one is there (and some column identifies).
    let tuple = |i: usize| {
        let t = &tuples[i * width..(i + 1) * width];
        (width > 0 && !t.contains(&u32::MAX)).then_some(t)
    };
    // The readable key of each row, when every identifying value is there.
    let readable: Vec<Option<String>> = (0..table.rows.len())
        .map(|i| {
            tuple(i)?;
            let mut key = String::new();
            for (&k, (segments, _)) in alt.iter().zip(&encoded) {
                if !key.is_empty() {
                    key.push('/');
                }
                key.push_str(segments[table.rows.ids(k)[i] as usize].as_deref()?);
            }
            Some(key)
        })
        .collect();
    let mut first_row: HashMap<&[u32], usize> = HashMap::default();
    first_row.reserve(table.rows.len());
    let mut shared = vec![false; table.rows.len()];
    for i in 0..table.rows.len() {
        if let Some(t) = tuple(i) {
            if let Some(&j) = first_row.get(t) {
                shared[i] = true;
                shared[j] = true;
            } else {
                first_row.insert(t, i);
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
                Some(k) if shared[i] && tuple(i).map(|t| first_row[t]) != Some(i) => {
                    let first = tuple(i).map_or(i, |t| first_row[t]);
                    Problem::error(
                        "rules:key",
                        format!(
                            "row {} has the same key ({names}); each row's key must be its own",
                            table.source_rows[first]
                        ),
                    )
                    .value(decode_for_report(k))
                }
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
    let mut occurrences: HashMap<String, usize> = HashMap::default();
    let (mut no_key, mut shared_count) = (0usize, 0usize);
    let mut examples: Vec<u64> = Vec::new();
    let keys: Vec<String> = readable
        .into_iter()
        .enumerate()
        .map(|(i, k)| match k {
            Some(k) if !shared[i] => k,
            k => {
                let hash = content_hash(mapping, table.rows.row(i));
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
fn content_hash(mapping: &Mapping, row: fivestar_tidy::Row<'_>) -> String {
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
pub(crate) mod tests {
    use super::*;
    use crate::config::Pipeline;
    use fivestar_store::Layout;

    /// The mapping of template `template`, with `rules` added to the pipeline file.
    pub(crate) fn template_mapping(dir: &std::path::Path, template: &str, rules: &str) -> Mapping {
        std::fs::write(dir.join("data.csv"), "a\n1\n").unwrap();
        let p = dir.join("p.toml");
        std::fs::write(
            &p,
            format!("id = \"d\"\ntitle = \"D\"\ntemplate = \"{template}\"\n[source]\nurl = \"data.csv\"\n{rules}"),
        )
        .unwrap();
        let pipeline = Pipeline::load(&p).unwrap();
        Mapping::load(&pipeline, &Layout::new("http://x.org/", dir)).unwrap()
    }

    /// The public-toilets mapping (key: UPRN, else toilet id, else location + address), with
    /// `rules` added to the pipeline file.
    fn toilets(dir: &std::path::Path, rules: &str) -> Mapping {
        template_mapping(dir, "public-toilets", rules)
    }

    /// A table of the mapping's columns with `rows` of (column name, value); the file has the
    /// columns named in `present`.
    pub(crate) fn table(m: &Mapping, present: &[&str], rows: &[&[(&str, &str)]]) -> Table {
        let n = m.columns.len();
        Table {
            header: m.columns.iter().map(|c| c.name.clone()).collect(),
            source_columns: m
                .columns
                .iter()
                .map(|c| {
                    present
                        .contains(&c.name.as_str())
                        .then(|| c.name.to_uppercase())
                })
                .collect(),
            source_rows: (0..rows.len() as u64).map(|i| i + 2).collect(),
            rows: fivestar_tidy::Cells::from_rows(
                n,
                rows.iter().map(|cells| {
                    let mut row = vec![String::new(); n];
                    for (name, v) in cells.iter() {
                        row[m.index(name).unwrap()] = v.to_string();
                    }
                    row
                }),
            ),
            ..Table::default()
        }
    }

    #[test]
    fn a_mostly_blank_key_column_gives_way_to_the_next_alternative() {
        let dir = tempfile::tempdir().unwrap();
        let m = toilets(dir.path(), "");
        // UPRN is in the file but blank in one row; every row has a toilet id.
        let t = table(
            &m,
            &["uprn", "toilet_id", "location"],
            &[
                &[("uprn", "100"), ("toilet_id", "WC/1"), ("location", "Park")],
                &[("toilet_id", "WC 2"), ("location", "Quay")],
            ],
        );
        let mut report = Report::empty("d");
        let keys = row_keys(&m, &t, "f.csv", &mut report);
        assert_eq!(keys, ["WC%2F1", "WC%202"]);
        assert!(!report.has_errors());
        assert!(report.problems[0]
            .message
            .contains("the same in every release"));
        // With UPRN in every row, UPRN is the key.
        let t = table(
            &m,
            &["uprn", "toilet_id"],
            &[&[("uprn", "100")], &[("uprn", "200"), ("toilet_id", "X")]],
        );
        assert_eq!(
            row_keys(&m, &t, "f.csv", &mut Report::empty("d")),
            ["100", "200"]
        );
    }

    #[test]
    fn rows_the_key_does_not_identify_fall_back_to_their_values() {
        let dir = tempfile::tempdir().unwrap();
        let m = toilets(dir.path(), "");
        let t = table(
            &m,
            &["toilet_id", "location"],
            &[
                &[("toilet_id", "A"), ("location", "Park")],
                &[("toilet_id", "A"), ("location", "Quay")],
                &[("location", "Pier")],
                &[("location", "Pier")],
                &[("toilet_id", "B")],
            ],
        );
        let mut report = Report::empty("d");
        let keys = row_keys(&m, &t, "f.csv", &mut report);
        assert!(keys[0].starts_with("A/~") && keys[1].starts_with("A/~"));
        assert_ne!(keys[0], keys[1], "different values, different keys");
        assert!(
            keys[2].starts_with('~') && keys[2].len() == 17,
            "{}",
            keys[2]
        );
        assert_eq!(keys[3], format!("{}-2", keys[2]), "an exact duplicate");
        assert_eq!(keys[4], "B");
        let info = &report.problems[0].message;
        assert!(info.contains("2 rows have no value") && info.contains("2 rows have the same"));
        assert!(info.contains("first rows: 2, 3, 4"), "{info}");
        // The same rows in another order keep their keys (of two identical rows, either may
        // be the `-2`: they are the same row).
        let mut shuffled = t.clone();
        shuffled.rows = fivestar_tidy::Cells::from_rows(
            t.header.len(),
            t.rows.iter().rev().map(|r| r.to_vec()),
        );
        let mut again = row_keys(&m, &shuffled, "f.csv", &mut Report::empty("d"));
        again.reverse();
        assert_eq!(again[0..2], keys[0..2]);
        assert_eq!(again[4], keys[4]);
        let (mut a, mut b) = (again.clone(), keys.clone());
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    #[test]
    fn a_pipelines_own_key_is_a_promise() {
        let dir = tempfile::tempdir().unwrap();
        let m = toilets(dir.path(), "[rules]\nkey = [\"location\"]\n");
        let t = table(
            &m,
            &["location"],
            &[&[("location", "Park")], &[], &[("location", "Park")]],
        );
        let mut report = Report::empty("d");
        row_keys(&m, &t, "f.csv", &mut report);
        let errors: Vec<_> = report
            .problems
            .iter()
            .filter(|p| p.rule == "rules:key")
            .collect();
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert_eq!(errors[0].row, Some(3));
        assert!(errors[0].message.contains("no value"));
        assert_eq!(errors[1].row, Some(4));
        assert!(
            errors[1].message.contains("row 2 has the same key"),
            "{}",
            errors[1].message
        );
        assert_eq!(errors[1].value.as_deref(), Some("Park"));
        // Values equal once trimmed are one key; two columns are one key only together, and
        // a slash in a value is not the segments' slash.
        let m = toilets(dir.path(), "[rules]\nkey = [\"location\", \"toilet_id\"]\n");
        let t = table(
            &m,
            &["location", "toilet_id"],
            &[
                &[("location", "Park"), ("toilet_id", "1")],
                &[("location", " Park "), ("toilet_id", "1")],
                &[("location", "Park"), ("toilet_id", "2")],
                &[("location", "A/B"), ("toilet_id", "C")],
                &[("location", "A"), ("toilet_id", "B/C")],
            ],
        );
        let mut report = Report::empty("d");
        let keys = row_keys(&m, &t, "f.csv", &mut report);
        let errors: Vec<_> = report
            .problems
            .iter()
            .filter(|p| p.rule == "rules:key")
            .map(|p| (p.row, p.message.as_str()))
            .collect();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].0, Some(3));
        assert!(errors[0].1.contains("row 2 has the same key"), "{errors:?}");
        assert_eq!(keys[2..], ["Park/2", "A%2FB/C", "A/B%2FC"]);
    }

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
