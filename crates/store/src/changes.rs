//! What changed between a dataset's live release and the one being published.
//!
//! Two views, both written beside the release's dumps:
//! - `{release}.rdfp.gz`: an RDF Patch (the format of Apache Jena and RDF Delta: `D` and `A`
//!   rows of N-Triples terms inside one `TX .` … `TC .`) that turns the previous release's graph
//!   into the new one. Computed from the two N-Triples files: each distinct triple line's
//!   128-bit SipHash goes in a set, so memory is 16 bytes (plus the set's overhead) per
//!   distinct triple of each release, and each file is read twice at most.
//! - `{release}-changes.csv`: the rows added, removed and changed, by row key (the clean CSV's
//!   `row_key` column, see the pipeline's identity stage), with each changed column's old and
//!   new value: what a person reads.
//!
//! Triples are compared as the N-Triples lines fivestar writes (one serializer, so one
//! spelling per triple). Blank nodes are labelled per release: a release with blank nodes
//! shows them as removed and added again.

use crate::dumps::DumpFile;
use crate::{io, Error, Result};
use siphasher::sip128::SipHasher13;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
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
    /// In words: "3 rows added, 1 removed, 2 changed (Net Amount in 2)".
    pub fn summary(&self) -> String {
        match &self.rows {
            Some(r) if r.added + r.removed + r.changed == 0 => "no rows changed".to_string(),
            Some(r) => {
                let mut s = format!(
                    "{} {} added, {} removed, {} changed",
                    r.added,
                    if r.added == 1 { "row" } else { "rows" },
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

/// Hashes that are already hashes: the set uses their low 64 bits as they are.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u128(&mut self, i: u128) {
        self.0 = i as u64;
    }
}

type HashedSet = HashSet<u128, BuildHasherDefault<Prehashed>>;

fn hash(line: &[u8]) -> u128 {
    SipHasher13::new_with_keys(0x6669_7665, 0x7374_6172)
        .hash(line)
        .into()
}

/// Each triple line of an N-Triples stream (comments and blank lines skipped), without its
/// line ending.
fn for_each_line(
    mut r: impl BufRead,
    path: &Path,
    mut f: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let mut buf = Vec::with_capacity(256);
    loop {
        buf.clear();
        if r.read_until(b'\n', &mut buf).map_err(io(path))? == 0 {
            return Ok(());
        }
        let line = buf.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        f(line)?;
    }
}

fn open_gz(path: &Path) -> Result<impl BufRead> {
    let f = std::fs::File::open(path).map_err(io(path))?;
    Ok(BufReader::with_capacity(
        1 << 16,
        flate2::read::MultiGzDecoder::new(BufReader::new(f)),
    ))
}

fn open_plain(path: &Path) -> Result<impl BufRead> {
    let f = std::fs::File::open(path).map_err(io(path))?;
    Ok(BufReader::with_capacity(1 << 16, f))
}

/// Writes the RDF Patch from the previous release's `.nt.gz` to the new release's N-Triples
/// into `out`; returns (triples added, triples removed). `id` and `prev` name the two releases
/// in the patch's header.
pub fn write_patch(
    previous_gz: &Path,
    new_nt: &Path,
    id: &str,
    prev: &str,
    out: &mut dyn Write,
) -> Result<(u64, u64)> {
    let w = |e: std::io::Error| Error::Invalid(format!("writing the patch: {e}"));
    // The previous release's distinct triples.
    let mut old = HashedSet::default();
    for_each_line(open_gz(previous_gz)?, previous_gz, |l| {
        old.insert(hash(l));
        Ok(())
    })?;
    // The new release's: what the previous lacks is added; what both have leaves `old`.
    let mut new = HashedSet::default();
    let mut added: Vec<u8> = Vec::new();
    let mut n_added = 0u64;
    let spill_at = 64 << 20;
    let mut spill: Option<std::fs::File> = None;
    for_each_line(open_plain(new_nt)?, new_nt, |l| {
        let h = hash(l);
        if !new.insert(h) {
            return Ok(());
        }
        if !old.remove(&h) {
            n_added += 1;
            added.extend_from_slice(b"A ");
            added.extend_from_slice(l);
            added.push(b'\n');
            if added.len() > spill_at {
                let f = match &mut spill {
                    Some(f) => f,
                    None => spill.insert(tempfile_in(new_nt)?),
                };
                f.write_all(&added).map_err(w)?;
                added.clear();
            }
        }
        Ok(())
    })?;
    drop(new);
    writeln!(out, "H id <{id}> .").map_err(w)?;
    writeln!(out, "H prev <{prev}> .").map_err(w)?;
    writeln!(out, "TX .").map_err(w)?;
    // What is left of `old` was removed: read the previous release again for its lines.
    let mut n_removed = 0u64;
    if !old.is_empty() {
        for_each_line(open_gz(previous_gz)?, previous_gz, |l| {
            if old.remove(&hash(l)) {
                n_removed += 1;
                out.write_all(b"D ").map_err(w)?;
                out.write_all(l).map_err(w)?;
                out.write_all(b"\n").map_err(w)?;
            }
            Ok(())
        })?;
    }
    if let Some(mut f) = spill {
        use std::io::Seek;
        f.flush().map_err(w)?;
        f.seek(std::io::SeekFrom::Start(0)).map_err(w)?;
        std::io::copy(&mut f, out).map_err(w)?;
    }
    out.write_all(&added).map_err(w)?;
    writeln!(out, "TC .").map_err(w)?;
    Ok((n_added, n_removed))
}

/// An unnamed temporary file beside `near` (removed when closed).
fn tempfile_in(near: &Path) -> Result<std::fs::File> {
    let dir = near.parent().unwrap_or(Path::new("."));
    let path = dir.join(format!(
        ".patch-spill.{}.{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(io(&path))?;
    let _ = std::fs::remove_file(&path);
    Ok(f)
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
    let mut h = SipHasher13::new_with_keys(0x726f_7773, 0x6b65_7973);
    for v in values {
        h.write(v.as_bytes());
        h.write_u8(0x1f);
    }
    siphasher::sip128::Hasher128::finish128(&h).into()
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
    // The previous release: key → row hash.
    let mut old: HashMap<String, u128> = HashMap::new();
    let mut rec = csv::StringRecord::new();
    while old_r.read_record(&mut rec).map_err(bad(previous_csv))? {
        let key = rec.get(old_k.key).unwrap_or("").to_string();
        old.insert(key, row_hash(&old_k.values(&rec)));
    }
    // The new release: added rows, and the keys of changed ones (with their new values).
    let mut w = csv::Writer::from_writer(out);
    let werr = |e: csv::Error| Error::Invalid(format!("writing the changes: {e}"));
    w.write_record(["change", "row", "column", "previous value", "new value"])
        .map_err(werr)?;
    let row_iri = |k: &str| identity.row_iri.replace("{+row_key}", k);
    let mut changed: HashMap<String, Vec<String>> = HashMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut added = 0u64;
    while new_r.read_record(&mut rec).map_err(bad(new_csv))? {
        let key = rec.get(new_k.key).unwrap_or("");
        if !seen.insert(key.to_string()) {
            continue;
        }
        let values = new_k.values(&rec);
        match old.get(key) {
            None => {
                added += 1;
                w.write_record(["added", &row_iri(key), "", "", ""])
                    .map_err(werr)?;
            }
            Some(h) if *h != row_hash(&values) => {
                changed.insert(
                    key.to_string(),
                    values.iter().map(|v| v.to_string()).collect(),
                );
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
    let mut done: HashSet<String> = HashSet::new();
    while old_r.read_record(&mut rec).map_err(bad(previous_csv))? {
        let key = rec.get(old_k.key).unwrap_or("");
        if !done.insert(key.to_string()) {
            continue;
        }
        if !seen.contains(key) {
            removed += 1;
            w.write_record(["removed", &row_iri(key), "", "", ""])
                .map_err(werr)?;
        } else if let Some(new_values) = changed.get(key) {
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
/// given) and how many such lines the file has in all. A file that does not mention `row` is
/// skipped without being parsed.
pub fn read_row_changes(
    path: &Path,
    row: Option<&str>,
    limit: usize,
) -> Result<(Vec<RowChange>, u64)> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    if let Some(row) = row {
        if memchr::memmem::find(&bytes, row.as_bytes()).is_none() {
            return Ok((Vec::new(), 0));
        }
    }
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(bytes.as_slice());
    let (mut out, mut total) = (Vec::new(), 0u64);
    for rec in r.records() {
        let rec = rec.map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
        let field = |i: usize| rec.get(i).unwrap_or("").to_string();
        if row.is_some_and(|row| rec.get(1) != Some(row)) {
            continue;
        }
        total += 1;
        if out.len() < limit {
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
        ..Changes::default()
    };
    let mut files = Vec::new();
    if !prev_nt.is_file() {
        return Ok((changes, files));
    }
    let [patch_name, csv_name] = crate::dumps::change_file_names(r);
    let mut counts = (0, 0);
    files.push(crate::dumps::write_file(
        dumps,
        &format!("{d}/{patch_name}"),
        |w| {
            let mut gz = flate2::write::GzEncoder::new(w, flate2::Compression::fast());
            counts = write_patch(
                &prev_nt,
                &req.ntriples,
                &layout.release(d, r),
                &layout.release(d, previous),
                &mut gz,
            )?;
            gz.finish()
                .map_err(|e| Error::Invalid(format!("writing the patch: {e}")))?;
            Ok(())
        },
    )?);
    (changes.triples_added, changes.triples_removed) = counts;
    let prev_csv = ds_dir.join(format!("{previous}.csv"));
    if let (Some(identity), Some((new_csv, _)), true) =
        (&req.identity, &req.csv, prev_csv.is_file())
    {
        let mut rows = None;
        let file = crate::dumps::write_file(dumps, &format!("{d}/{csv_name}"), |w| {
            rows = write_row_changes(&prev_csv, new_csv, identity, w)?;
            Ok(())
        })?;
        if rows.is_some() {
            files.push(file);
        } else {
            let _ = std::fs::remove_file(dumps.join(&file.path));
            let _ = std::fs::remove_file(dumps.join(format!("{}.sha256", file.path)));
        }
        changes.rows = rows;
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
    fn the_patch_holds_exactly_the_difference() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.nt.gz");
        let new = dir.path().join("new.nt");
        gz(
            &old,
            "<a> <p> \"1\" .\n<b> <p> \"2\" .\n<b> <p> \"2\" .\n<c> <p> \"3\" .\n",
        );
        std::fs::write(
            &new,
            "<c> <p> \"3\" .\n<a> <p> \"1\" .\n<d> <p> \"4\" .\n<d> <p> \"4\" .\n",
        )
        .unwrap();
        let mut out = Vec::new();
        let (a, d) = write_patch(&old, &new, "http://x/r2", "http://x/r1", &mut out).unwrap();
        assert_eq!((a, d), (1, 1));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "H id <http://x/r2> .\nH prev <http://x/r1> .\nTX .\nD <b> <p> \"2\" .\nA <d> <p> \"4\" .\nTC .\n"
        );
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
        let c = Changes {
            previous: "r1".into(),
            triples_added: 3,
            triples_removed: 3,
            rows: Some(rows),
        };
        assert_eq!(
            c.summary(),
            "1 row added, 1 removed, 1 changed (Amount in 1)"
        );
        // The same rows shuffled: nothing changed.
        std::fs::write(&new, "Amount,Name,row_key\n3,C,k3\n1,A,k1\n2,B,k2\n").unwrap();
        let rows = write_row_changes(&old, &new, &identity, &mut Vec::new())
            .unwrap()
            .unwrap();
        assert_eq!(rows, RowChanges::default());
    }
}
