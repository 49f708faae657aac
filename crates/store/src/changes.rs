//! What changed between a dataset's live release and the one being published.
//!
//! Two views, both written beside the release's dumps:
//! - `{release}.rdfp.gz`: an RDF Patch (the format of Apache Jena and RDF Delta: `D` and `A`
//!   rows of N-Triples terms inside one `TX .` … `TC .`) that turns the previous release's graph
//!   into the new one. Computed from the two N-Triples files: each release's lines as (128-bit
//!   XXH3 hash, offset), sorted and merged (32 bytes per line of each release); the added
//!   lines are read back at their offsets, the removed ones by decompressing the previous
//!   release's `.nt.gz` a second time when there are any.
//! - `{release}-changes.csv`: the rows added, removed and changed, by row key (the clean CSV's
//!   `row_key` column, see the pipeline's identity stage), with each changed column's old and
//!   new value: what a person reads.
//!
//! Triples are compared as the N-Triples lines fivestar writes (one serializer, so one
//! spelling per triple). Blank nodes are labelled per release: a release with blank nodes
//! shows them as removed and added again.

use crate::dumps::DumpFile;
use crate::dumps::Prehashed;
use crate::{io, Error, Result};
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

/// How a release's rows are identified, for the human view of its changes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    /// The clean CSV's column holding each row's key.
    pub key_column: String,
    /// The columns compared (the published ones; computed links follow from them).
    pub columns: Vec<String>,
    /// Each row's IRI, with `{+row_key}` where the key goes.
    pub row_iri: String,
    /// What a row is, singular and plural ("payment", "payments"); "row" when not known.
    #[serde(default)]
    pub noun: Option<(String, String)>,
}

/// The changes of one release against the previous live one.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq)]
pub struct Changes {
    /// The release compared against.
    pub previous: String,
    pub triples_added: u64,
    pub triples_removed: u64,
    /// By row key, when both releases have one.
    pub rows: Option<RowChanges>,
    /// What a row is (see [`Identity::noun`]).
    pub noun: Option<(String, String)>,
}

/// Rows added, removed and changed, and how many rows each column changed in.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq)]
pub struct RowChanges {
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    /// (column, rows whose value in it changed), most first.
    pub columns: Vec<(String, u64)>,
}

impl Changes {
    /// In words: "3 payments added, 1 removed, 2 changed (Net Amount in 2)".
    pub fn summary(&self) -> String {
        let (one, many) = self
            .noun
            .as_ref()
            .map_or(("row", "rows"), |(o, m)| (o.as_str(), m.as_str()));
        match &self.rows {
            Some(r) if r.added + r.removed + r.changed == 0 => format!("no {many} changed"),
            Some(r) => {
                let mut s = format!(
                    "{} {} added, {} removed, {} changed",
                    r.added,
                    if r.added == 1 { one } else { many },
                    r.removed,
                    r.changed
                );
                if !r.columns.is_empty() {
                    let cols: Vec<String> = r
                        .columns
                        .iter()
                        .take(4)
                        .map(|(c, n)| format!("{c} in {n}"))
                        .collect();
                    s.push_str(&format!(" ({})", cols.join(", ")));
                }
                s
            }
            None if self.triples_added + self.triples_removed == 0 => {
                "no statements changed".to_string()
            }
            None => format!(
                "{} statements added, {} removed",
                self.triples_added, self.triples_removed
            ),
        }
    }
}

type HashedSet = HashSet<u128, BuildHasherDefault<Prehashed>>;

/// XXH3's 128-bit hash: fast, and wide enough that two distinct lines of a release sharing one
/// is not to be expected (about 2^-90 for ten million lines).
fn hash(line: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(line)
}

/// Each triple line of an N-Triples stream (comments and blank lines skipped), without its
/// line ending.
/// Each line's offset in the stream is passed with it.
fn for_each_line(
    mut r: impl BufRead,
    path: &Path,
    mut f: impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<()> {
    let mut buf = Vec::with_capacity(256);
    let mut offset = 0u64;
    loop {
        buf.clear();
        let n = r.read_until(b'\n', &mut buf).map_err(io(path))?;
        if n == 0 {
            return Ok(());
        }
        let at = offset;
        offset += n as u64;
        let line = buf.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        f(at, line)?;
    }
}

fn open_gz(path: &Path) -> Result<impl BufRead> {
    let f = std::fs::File::open(path).map_err(io(path))?;
    Ok(BufReader::with_capacity(
        1 << 16,
        flate2::read::MultiGzDecoder::new(BufReader::new(f)),
    ))
}

/// An N-Triples file's lines: decompressed when its name ends in `.gz`, else read as they are
/// (a release published from a file still has it: reading it is cheaper than inflating its
/// dump).
fn open_lines(path: &Path) -> Result<Box<dyn BufRead>> {
    if path.extension().is_some_and(|e| e == "gz") {
        return Ok(Box::new(open_gz(path)?));
    }
    let f = std::fs::File::open(path).map_err(io(path))?;
    Ok(Box::new(BufReader::with_capacity(1 << 16, f)))
}

/// Writes the RDF Patch from the previous release's `.nt.gz` to the new release's N-Triples
/// (`new`: its file, or its `.nt.gz` dump) into `out`; returns (triples added, triples
/// removed). `id` and `prev` name the two releases in the patch's header.
pub fn write_patch(
    previous_gz: &Path,
    new: &Path,
    id: &str,
    prev: &str,
    out: &mut dyn Write,
) -> Result<(u64, u64)> {
    let w = |e: std::io::Error| Error::Invalid(format!("writing the patch: {e}"));
    // Each release's distinct lines as (hash, offset), sorted by hash: a merge of the two
    // finds what only one has, reading memory in order (a hash map's random probes into
    // hundreds of megabytes cost twice as much).
    let new_lines = line_hashes(open_lines(new)?, new)?;
    let old = line_hashes(open_gz(previous_gz)?, previous_gz)?;
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    loop {
        match (new_lines.get(i), old.get(j)) {
            (Some(a), Some(b)) if a.0 == b.0 => (i, j) = (i + 1, j + 1),
            (Some(a), Some(b)) if a.0 < b.0 => {
                added.push(a.1);
                i += 1;
            }
            (_, Some(b)) => {
                removed.push(b.1);
                j += 1;
            }
            (Some(a), None) => {
                added.push(a.1);
                i += 1;
            }
            (None, None) => break,
        }
    }
    drop((new_lines, old));
    added.sort_unstable();
    removed.sort_unstable();
    writeln!(out, "H id <{id}> .").map_err(w)?;
    writeln!(out, "H prev <{prev}> .").map_err(w)?;
    writeln!(out, "TX .").map_err(w)?;
    // The removed lines, then the added ones, in file order: a release's dump decompressed
    // again (only when it has any), a plain file read at those offsets.
    for (mark, path, at) in [(b"D ", previous_gz, &removed), (b"A ", new, &added)] {
        if at.is_empty() {
            continue;
        }
        let mut write = |l: &[u8]| -> Result<()> {
            out.write_all(mark).map_err(w)?;
            out.write_all(l).map_err(w)?;
            out.write_all(b"\n").map_err(w)
        };
        if path.extension().is_some_and(|e| e == "gz") {
            let mut next = at.iter().peekable();
            for_each_line(open_gz(path)?, path, |offset, l| {
                if next.peek() == Some(&&offset) {
                    next.next();
                    write(l)?;
                }
                Ok(())
            })?;
        } else {
            let f = std::fs::File::open(path).map_err(io(path))?;
            let mut r = BufReader::with_capacity(1 << 16, f);
            let (mut pos, mut buf) = (0u64, Vec::with_capacity(256));
            for &offset in at.iter() {
                r.seek_relative((offset - pos) as i64).map_err(io(path))?;
                buf.clear();
                pos = offset + r.read_until(b'\n', &mut buf).map_err(io(path))? as u64;
                write(buf.trim_ascii())?;
            }
        }
    }
    writeln!(out, "TC .").map_err(w)?;
    Ok((added.len() as u64, removed.len() as u64))
}

/// The distinct lines of an N-Triples stream as (hash, offset of the line's first
/// occurrence), sorted by hash.
fn line_hashes(r: impl BufRead, path: &Path) -> Result<Vec<(u128, u64)>> {
    let mut v = Vec::new();
    for_each_line(r, path, |at, l| {
        v.push((hash(l), at));
        Ok(())
    })?;
    // By hash, then offset: the first occurrence of each line is the one kept.
    v.sort_unstable();
    v.dedup_by_key(|e| e.0);
    Ok(v)
}

/// Where a clean CSV has the key column and each compared column.
struct Keyed {
    /// Index of the key column and of each compared column (None: the file lacks it).
    key: usize,
    compared: Vec<Option<usize>>,
}

impl Keyed {
    fn open(path: &Path, identity: &Identity) -> Result<Option<(Keyed, csv::Reader<impl Read>)>> {
        let f = std::fs::File::open(path).map_err(io(path))?;
        let mut r = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(BufReader::with_capacity(1 << 16, f));
        let header: Vec<String> = r
            .headers()
            .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?
            .iter()
            .map(String::from)
            .collect();
        let Some(key) = header.iter().position(|h| *h == identity.key_column) else {
            return Ok(None);
        };
        let compared = identity
            .columns
            .iter()
            .map(|c| header.iter().position(|h| h == c))
            .collect();
        Ok(Some((Keyed { key, compared }, r)))
    }

    fn values<'a>(&self, rec: &'a csv::StringRecord) -> Vec<&'a str> {
        self.compared
            .iter()
            .map(|i| i.and_then(|i| rec.get(i)).unwrap_or(""))
            .collect()
    }
}

fn row_hash(values: &[&str]) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for v in values {
        h.update(v.as_bytes());
        h.update(&[0x1f]);
    }
    h.digest128()
}

/// Compares two clean CSVs by row key and writes the human view; None when either lacks the
/// key column (a release published before rows had keys, or a CSVW table of its own).
pub fn write_row_changes(
    previous_csv: &Path,
    new_csv: &Path,
    identity: &Identity,
    out: &mut dyn Write,
) -> Result<Option<RowChanges>> {
    fn bad(p: &Path) -> impl Fn(csv::Error) -> Error + '_ {
        move |e| Error::Invalid(format!("{}: {e}", p.display()))
    }
    let Some((old_k, mut old_r)) = Keyed::open(previous_csv, identity)? else {
        return Ok(None);
    };
    let Some((new_k, mut new_r)) = Keyed::open(new_csv, identity)? else {
        return Ok(None);
    };
    // The previous release: key hash → row hash (keys are not kept: a 128-bit hash stands for
    // each, so memory is a few dozen bytes a row, whatever the keys' length).
    let mut old: HashMap<u128, u128, BuildHasherDefault<Prehashed>> = HashMap::default();
    let mut rec = csv::StringRecord::new();
    while old_r.read_record(&mut rec).map_err(bad(previous_csv))? {
        let key = hash(rec.get(old_k.key).unwrap_or("").as_bytes());
        old.entry(key)
            .or_insert_with(|| row_hash(&old_k.values(&rec)));
    }
    // The new release: added rows, and the keys of changed ones (with their new values).
    let mut w = csv::Writer::from_writer(out);
    let werr = |e: csv::Error| Error::Invalid(format!("writing the changes: {e}"));
    w.write_record(["change", "row", "column", "previous value", "new value"])
        .map_err(werr)?;
    let row_iri = |k: &str| identity.row_iri.replace("{+row_key}", k);
    let mut changed: HashMap<u128, Vec<String>, BuildHasherDefault<Prehashed>> = HashMap::default();
    let mut seen = HashedSet::default();
    let mut added = 0u64;
    while new_r.read_record(&mut rec).map_err(bad(new_csv))? {
        let key = rec.get(new_k.key).unwrap_or("");
        let kh = hash(key.as_bytes());
        if !seen.insert(kh) {
            continue;
        }
        let values = new_k.values(&rec);
        match old.get(&kh) {
            None => {
                added += 1;
                w.write_record(["added", &row_iri(key), "", "", ""])
                    .map_err(werr)?;
            }
            Some(h) if *h != row_hash(&values) => {
                changed.insert(kh, values.iter().map(|v| v.to_string()).collect());
            }
            Some(_) => {}
        }
    }
    // The previous release again: removed rows, and the old values of changed ones.
    let mut removed = 0u64;
    let mut by_column: Vec<u64> = vec![0; identity.columns.len()];
    let mut rows_changed = 0u64;
    let mut old_r = match Keyed::open(previous_csv, identity)? {
        Some((_, r)) => r,
        None => return Ok(None),
    };
    let mut done = HashedSet::default();
    while old_r.read_record(&mut rec).map_err(bad(previous_csv))? {
        let key = rec.get(old_k.key).unwrap_or("");
        let kh = hash(key.as_bytes());
        if !done.insert(kh) {
            continue;
        }
        if !seen.contains(&kh) {
            removed += 1;
            w.write_record(["removed", &row_iri(key), "", "", ""])
                .map_err(werr)?;
        } else if let Some(new_values) = changed.get(&kh) {
            rows_changed += 1;
            for (i, (was, now)) in old_k.values(&rec).iter().zip(new_values).enumerate() {
                if was != now {
                    by_column[i] += 1;
                    w.write_record([
                        "changed",
                        &row_iri(key),
                        &identity.columns[i],
                        was,
                        now.as_str(),
                    ])
                    .map_err(werr)?;
                }
            }
        }
    }
    w.flush()
        .map_err(|e| Error::Invalid(format!("writing the changes: {e}")))?;
    let mut columns: Vec<(String, u64)> = identity
        .columns
        .iter()
        .cloned()
        .zip(by_column)
        .filter(|(_, n)| *n > 0)
        .collect();
    columns.sort_by_key(|c| std::cmp::Reverse(c.1));
    Ok(Some(RowChanges {
        added,
        removed,
        changed: rows_changed,
        columns,
    }))
}

/// One line of a release's row changes (`{release}-changes.csv`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RowChange {
    /// `added`, `removed` or `changed`.
    pub change: String,
    /// The row's IRI.
    pub row: String,
    /// For a change: the column, its previous value and its new one.
    pub column: String,
    pub previous: String,
    pub new: String,
}

/// Reads a release's row changes: the first `limit` lines (only those about `row`, when
/// given) and how many such lines the file has in all. Streamed, in constant memory; a file
/// that does not mention `row` is only scanned, not parsed.
pub fn read_row_changes(
    path: &Path,
    row: Option<&str>,
    limit: usize,
) -> Result<(Vec<RowChange>, u64)> {
    if let Some(row) = row {
        if !mentions(path, row.as_bytes())? {
            return Ok((Vec::new(), 0));
        }
    }
    let f = std::fs::File::open(path).map_err(io(path))?;
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(BufReader::with_capacity(1 << 16, f));
    let (mut out, mut total) = (Vec::new(), 0u64);
    let mut rec = csv::StringRecord::new();
    while r
        .read_record(&mut rec)
        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?
    {
        if row.is_some_and(|row| rec.get(1) != Some(row)) {
            continue;
        }
        total += 1;
        if out.len() < limit {
            let field = |i: usize| rec.get(i).unwrap_or("").to_string();
            out.push(RowChange {
                change: field(0),
                row: field(1),
                column: field(2),
                previous: field(3),
                new: field(4),
            });
        }
    }
    Ok((out, total))
}

/// Whether the file at `path` contains `needle`, read a megabyte at a time.
fn mentions(path: &Path, needle: &[u8]) -> Result<bool> {
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let finder = memchr::memmem::Finder::new(needle);
    let mut buf = vec![0u8; (1 << 20).max(needle.len() * 2)];
    let mut kept = 0;
    loop {
        let n = f.read(&mut buf[kept..]).map_err(io(path))?;
        if n == 0 {
            return Ok(false);
        }
        let end = kept + n;
        if finder.find(&buf[..end]).is_some() {
            return Ok(true);
        }
        // Keep the tail a match could start in.
        kept = needle.len().saturating_sub(1).min(end);
        buf.copy_within(end - kept..end, 0);
    }
}

/// Computes and writes the changes of the release `req` against `previous` (the live release
/// of the dataset, whose dumps are in `dumps/{dataset}/`).
pub fn write_changes(
    dumps: &Path,
    layout: &crate::Layout,
    req: &crate::PublishRequest,
    previous: &str,
) -> Result<(Changes, Vec<DumpFile>)> {
    let (d, r) = (&req.dataset.id, &req.release);
    let ds_dir = dumps.join(d);
    let prev_nt = ds_dir.join(format!("{previous}.nt.gz"));
    let mut changes = Changes {
        previous: previous.to_string(),
        noun: req.identity.as_ref().and_then(|i| i.noun.clone()),
        ..Changes::default()
    };
    let mut files = Vec::new();
    if !prev_nt.is_file() {
        return Ok((changes, files));
    }
    let [patch_name, csv_name] = crate::dumps::change_file_names(r);
    let prev_csv = ds_dir.join(format!("{previous}.csv"));
    // The patch and the row changes side by side (each reads its own files).
    let (patch, rows) = std::thread::scope(|scope| {
        let rows = scope.spawn(|| -> Result<Option<(RowChanges, DumpFile)>> {
            let (Some(identity), Some((new_csv, _)), true) =
                (&req.identity, &req.csv, prev_csv.is_file())
            else {
                return Ok(None);
            };
            let mut rows = None;
            let file = crate::dumps::write_file(dumps, &format!("{d}/{csv_name}"), |w| {
                rows = write_row_changes(&prev_csv, new_csv, identity, w)?;
                Ok(())
            })?;
            match rows {
                Some(rows) => Ok(Some((rows, file))),
                None => {
                    let _ = std::fs::remove_file(dumps.join(&file.path));
                    let _ = std::fs::remove_file(dumps.join(format!("{}.sha256", file.path)));
                    Ok(None)
                }
            }
        });
        let mut counts = (0, 0);
        let patch = crate::dumps::write_file(dumps, &format!("{d}/{patch_name}"), |w| {
            let mut gz = flate2::write::GzEncoder::new(w, flate2::Compression::fast());
            // The file the release was published from, when there is one; else its dump.
            let new = match &req.triples {
                crate::Triples::File { path, .. } => path.clone(),
                crate::Triples::Made(_) => ds_dir.join(format!("{r}.nt.gz")),
            };
            counts = write_patch(
                &prev_nt,
                &new,
                &layout.release(d, r),
                &layout.release(d, previous),
                &mut gz,
            )?;
            gz.finish()
                .map_err(|e| Error::Invalid(format!("writing the patch: {e}")))?;
            Ok(())
        })
        .map(|f| (f, counts));
        let rows = rows
            .join()
            .unwrap_or_else(|_| Err(Error::Invalid("comparing the rows panicked".into())));
        (patch, rows)
    });
    let (patch_file, counts) = patch?;
    files.push(patch_file);
    (changes.triples_added, changes.triples_removed) = counts;
    if let Some((rows, file)) = rows? {
        files.push(file);
        changes.rows = Some(rows);
    }
    Ok((changes, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gz(path: &Path, text: &str) {
        let f = std::fs::File::create(path).unwrap();
        let mut e = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap();
    }

    #[test]
    fn a_rows_changes_are_found_in_a_long_file_without_reading_it_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r-changes.csv");
        let row = "http://x/id/d/payment/T-1/2024-01-05";
        // The row's line straddles the first megabyte; a value holds a quoted line break.
        let mut text = String::from("change,row,column,previous value,new value\n");
        while text.len() < (1 << 20) - 20 {
            text.push_str("added,http://x/id/d/payment/T-9/2024-01-01,,,\n");
        }
        text.push_str(&format!("changed,{row},Net Amount,250.00,275.50\n"));
        text.push_str(&format!("changed,{row},Purpose,\"two\nlines\",one line\n"));
        std::fs::write(&path, &text).unwrap();
        assert!(mentions(&path, row.as_bytes()).unwrap());
        assert!(!mentions(&path, b"http://x/id/d/payment/T-2/").unwrap());
        let (found, total) = read_row_changes(&path, Some(row), 10).unwrap();
        assert_eq!(total, 2);
        assert_eq!(
            (found[1].column.as_str(), found[1].previous.as_str()),
            ("Purpose", "two\nlines")
        );
        assert_eq!(found[0].new, "275.50");
        let (none, total) = read_row_changes(&path, Some("http://x/id/d/other"), 10).unwrap();
        assert!(none.is_empty() && total == 0);
        let (first, total) = read_row_changes(&path, None, 3).unwrap();
        assert_eq!(first.len(), 3);
        assert!(total > 20_000, "{total}");
    }

    #[test]
    fn the_patch_holds_exactly_the_difference() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.nt.gz");
        gz(
            &old,
            "<a> <p> \"1\" .\n<b> <p> \"2\" .\n<b> <p> \"2\" .\n<c> <p> \"3\" .\n",
        );
        // The new release as its file, or as its dump: the same patch.
        let text = "<c> <p> \"3\" .\n<a> <p> \"1\" .\n<d> <p> \"4\" .\n<d> <p> \"4\" .\n";
        let (plain, dump) = (dir.path().join("new.nt"), dir.path().join("new.nt.gz"));
        std::fs::write(&plain, text).unwrap();
        gz(&dump, text);
        for new in [plain, dump] {
            let mut out = Vec::new();
            let (a, d) = write_patch(&old, &new, "http://x/r2", "http://x/r1", &mut out).unwrap();
            assert_eq!((a, d), (1, 1));
            assert_eq!(
                String::from_utf8(out).unwrap(),
                "H id <http://x/r2> .\nH prev <http://x/r1> .\nTX .\nD <b> <p> \"2\" .\nA <d> <p> \"4\" .\nTC .\n",
                "{}",
                new.display()
            );
        }
    }

    #[test]
    fn rows_are_compared_by_key_in_any_order() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.csv");
        let new = dir.path().join("new.csv");
        std::fs::write(&old, "Amount,Name,row_key\n1,A,k1\n2,B,k2\n3,C,k3\n").unwrap();
        std::fs::write(&new, "Amount,Name,row_key\n3,C,k3\n20,B,k2\n4,D,k4\n").unwrap();
        let identity = Identity {
            key_column: "row_key".into(),
            columns: vec!["Amount".into(), "Name".into()],
            row_iri: "http://x/payment/{+row_key}".into(),
            noun: None,
        };
        let mut out = Vec::new();
        let rows = write_row_changes(&old, &new, &identity, &mut out)
            .unwrap()
            .unwrap();
        assert_eq!(
            rows,
            RowChanges {
                added: 1,
                removed: 1,
                changed: 1,
                columns: vec![("Amount".into(), 1)],
            }
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("added,http://x/payment/k4,,,"), "{text}");
        assert!(text.contains("removed,http://x/payment/k1,,,"), "{text}");
        assert!(
            text.contains("changed,http://x/payment/k2,Amount,2,20"),
            "{text}"
        );
        let mut c = Changes {
            previous: "r1".into(),
            triples_added: 3,
            triples_removed: 3,
            rows: Some(rows),
            noun: None,
        };
        assert_eq!(
            c.summary(),
            "1 row added, 1 removed, 1 changed (Amount in 1)"
        );
        c.noun = Some(("payment".into(), "payments".into()));
        assert_eq!(
            c.summary(),
            "1 payment added, 1 removed, 1 changed (Amount in 1)"
        );
        // The same rows shuffled: nothing changed.
        std::fs::write(&new, "Amount,Name,row_key\n3,C,k3\n1,A,k1\n2,B,k2\n").unwrap();
        let rows = write_row_changes(&old, &new, &identity, &mut Vec::new())
            .unwrap()
            .unwrap();
        assert_eq!(rows, RowChanges::default());
    }
}
