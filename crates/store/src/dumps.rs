//! Dumps written at publish time, under `dumps/`:
//!
//! - per release: `{dataset}/{release}.nt.gz`, and where a CSV was the source
//!   `{dataset}/{release}.csv` with `{dataset}/{release}-metadata.json`;
//! - stable names for the live release: `{dataset}/latest.nt.gz`, `latest.csv`,
//!   `latest-metadata.json`;
//! - the whole public view: `all.nq.gz`.
//!
//! Each file has a `.sha256` beside it (in `sha256sum` format). Files are written to a
//! temporary name and renamed, so a reader never sees half a file.

use crate::{io, PublishRequest, Result, Store};
use flate2::write::GzEncoder;
use flate2::Compression;
use oxigraph::io::{RdfFormat, RdfSerializer};
use oxigraph::model::GraphNameRef;
use oxigraph::model::TermRef;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

/// A dump file, described for the catalogue.
#[derive(Debug, Clone)]
pub struct DumpFile {
    /// The file name, e.g. `2024-q1.nt.gz`.
    pub name: String,
    /// The path under `dumps/`, e.g. `spending/2024-q1.nt.gz`.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Writes through a hash, counting bytes.
struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Where files are written before they are renamed into `dumps/`: the store's `tmp/`,
/// beside `dumps/` (the same file system, never served; emptied when the store opens).
pub fn tmp_dir(dumps: &Path) -> PathBuf {
    dumps.parent().unwrap_or(dumps).join("tmp")
}

/// A temporary name in [`tmp_dir`] for the file at `path` under `dumps`.
fn tmp_path(dumps: &Path, path: &Path) -> Result<PathBuf> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = tmp_dir(dumps);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(dir.join(format!("{}.{n}.{name}", std::process::id())))
}

/// The names under a dataset's folder that belong to `release`.
pub fn release_file_names(release: &str) -> Vec<String> {
    let mut names = Vec::new();
    for base in [
        format!("{release}.nt.gz"),
        format!("{release}.csv"),
        format!("{release}-metadata.json"),
        quads_name(release),
    ]
    .into_iter()
    .chain(change_file_names(release))
    {
        names.push(format!("{base}.sha256"));
        names.push(base);
    }
    names.push(crate::figures::file_name(release));
    names
}

/// The names of a release's change files: the RDF Patch against the release it replaced and
/// the row changes (see `changes`).
pub fn change_file_names(release: &str) -> [String; 2] {
    [
        format!("{release}.rdfp.gz"),
        format!("{release}-changes.csv"),
    ]
}

/// The names of the `latest` files (and their checksums).
pub fn is_latest_name(name: &str) -> bool {
    ["latest.nt.gz", "latest.csv", "latest-metadata.json"]
        .iter()
        .any(|l| name == *l || name.strip_suffix(".sha256") == Some(l))
}

/// Writes `path` atomically through `fill`, with its `.sha256` beside it.
pub(crate) fn write_file(
    dir: &Path,
    rel: &str,
    fill: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<DumpFile> {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let tmp = tmp_path(dir, &path)?;
    let file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    let mut w = Hashing {
        inner: BufWriter::new(file),
        hash: Sha256::new(),
        bytes: 0,
    };
    fill(&mut w)?;
    w.flush().map_err(io(&tmp))?;
    let sha = hex::encode(w.hash.finalize());
    let bytes = w.bytes;
    w.inner
        .into_inner()
        .map_err(|e| io(&tmp)(e.into_error()))?
        .sync_all()
        .map_err(io(&tmp))?;
    put_in_place(dir, rel, &tmp, sha, bytes)
}

/// Renames the finished `tmp` to `rel` under `dir` and writes its `.sha256` beside it.
fn put_in_place(dir: &Path, rel: &str, tmp: &Path, sha: String, bytes: u64) -> Result<DumpFile> {
    let path = dir.join(rel);
    std::fs::rename(tmp, &path).map_err(io(&path))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sum_path = path.with_file_name(format!("{name}.sha256"));
    let sum_tmp = tmp_path(dir, &sum_path)?;
    std::fs::write(&sum_tmp, format!("{sha}  {name}\n")).map_err(io(&sum_tmp))?;
    std::fs::rename(&sum_tmp, &sum_path).map_err(io(&sum_path))?;
    Ok(DumpFile {
        name,
        path: rel.to_string(),
        bytes,
        sha256: sha,
    })
}

fn copy_into(src: &Path, w: &mut dyn Write) -> Result<()> {
    let mut f = std::fs::File::open(src).map_err(io(src))?;
    std::io::copy(&mut f, w).map_err(io(src))?;
    Ok(())
}

fn gzip_into(src: &Path, w: &mut dyn Write) -> Result<()> {
    let mut gz = GzEncoder::new(w, Compression::fast());
    copy_into(src, &mut gz)?;
    gz.finish().map_err(io(src))?;
    Ok(())
}

/// `rel` under `dir` as a second name of the file `src` (a hard link, where the file system
/// allows one; else a copy), synced, with its `.sha256` beside it: what [`write_file`] gives
/// for a copy, without copying a file that can be gigabytes. For files nothing changes once
/// written (a run's clean CSV).
fn link_file(dir: &Path, rel: &str, src: &Path) -> Result<DumpFile> {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let tmp = tmp_path(dir, &path)?;
    if std::fs::hard_link(src, &tmp).is_err() {
        return write_file(dir, rel, |w| copy_into(src, w));
    }
    let described = (|| {
        let mut h = Hashing {
            inner: std::io::sink(),
            hash: Sha256::new(),
            bytes: 0,
        };
        let mut f = std::fs::File::open(&tmp)?;
        std::io::copy(&mut f, &mut h)?;
        f.sync_all()?;
        Ok::<_, std::io::Error>((hex::encode(h.hash.finalize()), h.bytes))
    })();
    let (sha, bytes) = match described {
        Ok(d) => d,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(&tmp)(e));
        }
    };
    put_in_place(dir, rel, &tmp, sha, bytes)
}

/// A CSVW metadata document pointing at `csv_name` instead of its original file.
fn retarget_metadata(metadata: &Path, csv_name: &str) -> Result<Vec<u8>> {
    let mut text = String::new();
    std::fs::File::open(metadata)
        .map_err(io(metadata))?
        .read_to_string(&mut text)
        .map_err(io(metadata))?;
    let mut v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| crate::Error::Invalid(format!("{}: {e}", metadata.display())))?;
    let url = serde_json::Value::String(csv_name.to_string());
    if v.get("url").is_some() {
        v["url"] = url;
    } else if let Some(t) = v.get_mut("tables").and_then(|t| t.get_mut(0)) {
        t["url"] = url;
    }
    Ok(serde_json::to_vec_pretty(&v).unwrap_or_default())
}

/// The hidden N-Quads copy of a release (in its graph), the building block of `all.nq.gz`.
fn quads_name(release: &str) -> String {
    format!(".{release}.nq.gz")
}

/// Distinct counts of a release, gathered in the one pass over its triples that also feeds
/// the bulk loader and the N-Quads member (hashes, 8 bytes each).
#[derive(Default)]
pub struct Distinct {
    /// Distinct triples: duplicates in the file counted once, as the store keeps them once.
    pub triples: u64,
    pub subjects: u64,
    pub properties: u64,
    pub classes: u64,
    /// Statements whose object is a URI outside `base` (types excepted): links to other
    /// people's data, for the fifth star.
    pub outside_links: u64,
}

/// Sends what is written to it, in chunks, to the thread that compresses the N-Quads member.
struct ChunkSender {
    buf: Vec<u8>,
    tx: std::sync::mpsc::SyncSender<Vec<u8>>,
}

const CHUNK: usize = 1 << 18;

impl ChunkSender {
    fn send(&mut self) -> std::io::Result<()> {
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK + 4096));
        self.tx
            .send(chunk)
            .map_err(|_| std::io::Error::other("the N-Quads dump writer stopped"))
    }
}

impl Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Watches each quad of a release on its way to the bulk loader: counts distinct subjects,
/// properties, classes and links to outside data; and, for a file, serializes each quad into
/// the release's N-Quads member (compressed by [`write_quads_member`] on another thread) and
/// hashes it to count distinct triples. Triples made by this process's converter come as
/// lines the member's writer turns into N-Quads itself, counting them there
/// ([`write_member_from_lines`]): the tap then only counts.
pub struct Tap {
    own: String,
    /// Each triple's hash, in file order; sorted and deduplicated at the end. A sorted
    /// vector rather than a set: 8 bytes a triple, no rehashing as it grows, and no random
    /// memory access on the thread that feeds the loader. Empty when the member's writer
    /// counts the triples.
    triples: Vec<u64>,
    /// Each subject IRI's hash, each time it comes after others (see `add`); sorted and
    /// deduplicated at the end, as `triples` is: a set took 1.5 CPU s of a 20 M-triple run,
    /// most of it waiting on memory, on the thread that feeds the loader. 8 bytes each time:
    /// about two a row for a run; a file whose statements are not grouped by subject can cost
    /// up to 8 bytes a triple, as `triples` does for a file already.
    subjects: Vec<u64>,
    /// The last two subjects counted, the latest first.
    last_subjects: [String; 2],
    properties: HashSet<u64, BuildHasherDefault<Prehashed>>,
    classes: HashSet<u64, BuildHasherDefault<Prehashed>>,
    outside_links: u64,
    ser: Option<oxigraph::io::WriterQuadSerializer<ChunkSender>>,
}

/// The hasher of a set or map whose keys are hashes already: the key (its low 64 bits) is its
/// own hash.
#[derive(Default)]
pub(crate) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
    fn write_u128(&mut self, i: u128) {
        self.0 = i as u64;
    }
}

/// Feeds a term to XXH3: its kind, then each part with its length before it, so that no two
/// different terms (or sequences of terms) feed the same bytes. 64 bits: two of ten million
/// distinct triples sharing a hash is a chance of about 3 in a million (a count one short).
fn hash_term(h: &mut Xxh3, term: TermRef<'_>) {
    let mut part = |p: &str| {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    };
    match term {
        TermRef::NamedNode(n) => {
            part("<");
            part(n.as_str());
        }
        TermRef::BlankNode(b) => {
            part("_");
            part(b.as_str());
        }
        TermRef::Literal(l) => match l.language() {
            Some(lang) => {
                part("@");
                part(l.value());
                part(lang);
            }
            None => {
                part("^");
                part(l.value());
                part(l.datatype().as_str());
            }
        },
        #[allow(unreachable_patterns)]
        other => {
            part("*");
            part(&other.to_string());
        }
    }
}

fn hash_one(term: TermRef<'_>) -> u64 {
    let mut h = Xxh3::new();
    hash_term(&mut h, term);
    h.digest()
}

impl Tap {
    /// A tap for a store with IRIs under `base` (normalised: no trailing `/`), sending N-Quads
    /// chunks to `tx`; `expected` triples, about (room is made for them at once).
    pub fn new(base: &str, tx: std::sync::mpsc::SyncSender<Vec<u8>>, expected: u64) -> Self {
        let sink = ChunkSender {
            buf: Vec::with_capacity(CHUNK + 4096),
            tx,
        };
        // An estimate a little short should not double the vector at the end.
        let room = usize::try_from(expected.saturating_add(expected / 16)).unwrap_or(0);
        Tap {
            triples: Vec::with_capacity(room.min(1 << 28)),
            ser: Some(RdfSerializer::from_format(RdfFormat::NQuads).for_writer(sink)),
            ..Tap::counting(base)
        }
    }

    /// A tap that only counts subjects, properties, classes and outside links: the member
    /// and the distinct triples are [`write_member_from_lines`]'s.
    pub fn counting(base: &str) -> Self {
        Tap {
            own: format!("{base}/"),
            triples: Vec::new(),
            subjects: Default::default(),
            last_subjects: Default::default(),
            properties: Default::default(),
            classes: Default::default(),
            outside_links: 0,
            ser: None,
        }
    }

    pub fn add(&mut self, quad: oxigraph::model::QuadRef<'_>) -> std::io::Result<()> {
        use oxigraph::model::{NamedOrBlankNodeRef, TermRef};
        if let Some(ser) = &mut self.ser {
            let mut h = Xxh3::new();
            hash_term(&mut h, quad.subject.into());
            hash_term(&mut h, quad.predicate.into());
            hash_term(&mut h, quad.object);
            self.triples.push(h.digest());
            ser.serialize_quad(quad)?;
        }
        // IRIs only, each hashed in one call (a set of one kind of term: no kind or length
        // is needed to tell them apart).
        if let NamedOrBlankNodeRef::NamedNode(n) = quad.subject {
            // A subject's statements come together, two subjects taking turns at most (a
            // row's and its supplier's): the last two are not counted again.
            let n = n.as_str();
            if !self.last_subjects.iter().any(|l| l == n) {
                self.subjects.push(xxh3_64(n.as_bytes()));
                let oldest = &mut self.last_subjects[1];
                oldest.clear();
                oldest.push_str(n);
                self.last_subjects.swap(0, 1);
            }
        }
        self.properties
            .insert(xxh3_64(quad.predicate.as_str().as_bytes()));
        if quad.predicate.as_str() == "http://www.w3.org/1999/02/22-rdf-syntax-ns#type" {
            self.classes.insert(hash_one(quad.object));
        } else if let TermRef::NamedNode(o) = quad.object {
            if !o.as_str().starts_with(&self.own) {
                self.outside_links += 1;
            }
        }
        Ok(())
    }

    /// Sends the last chunk (closing the member's input) and returns the counts. Distinct
    /// triples are 0 when the member's writer counts them.
    pub fn finish(self) -> std::io::Result<Distinct> {
        if let Some(ser) = self.ser {
            let mut sink = ser.finish()?;
            if !sink.buf.is_empty() {
                sink.send()?;
            }
        }
        let mut triples = self.triples;
        triples.sort_unstable();
        triples.dedup();
        let mut subjects = self.subjects;
        subjects.sort_unstable();
        subjects.dedup();
        Ok(Distinct {
            triples: triples.len() as u64,
            subjects: subjects.len() as u64,
            properties: self.properties.len() as u64,
            classes: self.classes.len() as u64,
            outside_links: self.outside_links,
        })
    }
}

/// Writes the release's hidden N-Quads member (the building block of `all.nq.gz`) from the
/// chunks a [`Tap`] sends, until its sender is dropped. A member whose tap failed is removed
/// with the release's other dumps.
pub fn write_quads_member(
    dir: &Path,
    dataset: &str,
    release: &str,
    chunks: std::sync::mpsc::Receiver<Vec<u8>>,
) -> Result<()> {
    let rel = format!("{dataset}/{}", quads_name(release));
    write_file(dir, &rel, |w| {
        let mut gz = GzEncoder::new(w, Compression::fast());
        for chunk in chunks {
            gz.write_all(&chunk).map_err(io(dir))?;
        }
        gz.finish().map_err(io(dir))?;
        Ok(())
    })?;
    Ok(())
}

/// Writes the release's hidden N-Quads member from the N-Triples this process's converter
/// made (the pieces the loader parses), and returns how many distinct triples they hold.
/// Each line `S P O .` becomes `S P O <graph> .`, and `S P O` is hashed for the count: the
/// converter writes one triple a line, each term always the same way, so equal triples are
/// equal lines. Blank lines and comments are passed over; a line of any other shape is an
/// error (the publish fails: nothing is published from triples this writer cannot vouch
/// for). A maker that failed or stopped is not this writer's error (the load fails with it,
/// and the release's files go): it stops and says `Ok`.
pub fn write_member_from_lines(
    dir: &Path,
    dataset: &str,
    release: &str,
    graph: &str,
    pieces: std::sync::mpsc::Receiver<crate::triples::Piece>,
    expected: u64,
) -> Result<Counted> {
    let rel = format!("{dataset}/{}", quads_name(release));
    let mut counted = Counted::default();
    write_file(dir, &rel, |w| {
        use crate::triples::Piece;
        let gz = GzEncoder::new(w, Compression::fast());
        let mut lines = QuadLines::new(graph, gz, expected);
        for piece in pieces {
            match piece {
                Piece::Bytes(p) => lines.write_all(&p).map_err(io(dir))?,
                Piece::End => {
                    let (gz, c) = lines.finish().map_err(io(dir))?;
                    gz.finish().map_err(io(dir))?;
                    counted = c;
                    return Ok(());
                }
                Piece::Failed => break,
            }
        }
        // The maker failed or stopped: the load fails with it.
        Ok(())
    })?;
    Ok(counted)
}

/// The triples [`write_member_from_lines`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counted {
    /// Every triple line.
    pub lines: u64,
    /// The distinct ones.
    pub distinct: u64,
}

/// N-Triples lines in, N-Quads lines in one graph out (see [`write_member_from_lines`]).
struct QuadLines<W: Write> {
    out: W,
    /// ` <graph> .\n`
    tail: Vec<u8>,
    /// A line cut by the end of a piece.
    carry: Vec<u8>,
    /// What is written, gathered into blocks (the compressor pays per call).
    buf: Vec<u8>,
    hashes: Vec<u64>,
    line: u64,
}

impl<W: Write> QuadLines<W> {
    fn new(graph: &str, out: W, expected: u64) -> Self {
        let room = usize::try_from(expected.saturating_add(expected / 16)).unwrap_or(0);
        QuadLines {
            out,
            tail: format!(" <{graph}> .\n").into_bytes(),
            carry: Vec::new(),
            buf: Vec::with_capacity(CHUNK + 4096),
            hashes: Vec::with_capacity(room.min(1 << 28)),
            line: 0,
        }
    }

    fn line(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.line += 1;
        let text = line.trim_ascii();
        if text.is_empty() || text[0] == b'#' {
            return Ok(());
        }
        let Some(triple) = text.strip_suffix(b".").map(<[u8]>::trim_ascii_end) else {
            return Err(std::io::Error::other(format!(
                "the converted triples, line {}: not one triple a line ending with \" .\"",
                self.line
            )));
        };
        self.hashes.push(xxh3_64(triple));
        self.buf.extend_from_slice(triple);
        self.buf.extend_from_slice(&self.tail);
        if self.buf.len() >= CHUNK {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// The last line, if it had no end; the writer and the triples it was given.
    fn finish(mut self) -> std::io::Result<(W, Counted)> {
        let carry = std::mem::take(&mut self.carry);
        self.line(&carry)?;
        self.out.write_all(&self.buf)?;
        let mut hashes = self.hashes;
        let lines = hashes.len() as u64;
        hashes.sort_unstable();
        hashes.dedup();
        Ok((
            self.out,
            Counted {
                lines,
                distinct: hashes.len() as u64,
            },
        ))
    }
}

impl<W: Write> Write for QuadLines<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut rest = data;
        if !self.carry.is_empty() {
            let Some(end) = memchr::memchr(b'\n', rest) else {
                self.carry.extend_from_slice(rest);
                return Ok(data.len());
            };
            let mut carry = std::mem::take(&mut self.carry);
            carry.extend_from_slice(&rest[..end]);
            self.line(&carry)?;
            carry.clear();
            self.carry = carry;
            rest = &rest[end + 1..];
        }
        while let Some(end) = memchr::memchr(b'\n', rest) {
            self.line(&rest[..end])?;
            rest = &rest[end + 1..];
        }
        self.carry.extend_from_slice(rest);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where the `.nt.gz` dump's N-Triples come from.
pub enum Nt<'a> {
    File(&'a Path),
    /// The maker's pieces, the same the loader parses.
    Made(std::sync::mpsc::Receiver<crate::triples::Piece>),
}

/// Writes the release's public dumps: `.nt.gz` (the N-Triples as they are loaded, compressed:
/// what is downloaded is what is loaded), and the clean CSV with its metadata.
pub fn write_release(dir: &Path, req: &PublishRequest, nt: Nt<'_>) -> Result<Vec<DumpFile>> {
    let (d, r) = (&req.dataset.id, &req.release);
    let mut files = vec![write_file(dir, &format!("{d}/{r}.nt.gz"), |w| match nt {
        Nt::File(path) => gzip_into(path, w),
        Nt::Made(pieces) => {
            let mut gz = GzEncoder::new(w, Compression::fast());
            crate::triples::drain_into(pieces, &mut gz)
                .and_then(|()| gz.finish().map(drop))
                .map_err(io(&dir.join(format!("{d}/{r}.nt.gz"))))
        }
    })?];
    if let Some((csv, metadata)) = &req.csv {
        let rel = format!("{d}/{r}.csv");
        // The clean CSV a run wrote in the store's `runs/` (never changed once written)
        // gets a second name; a file from elsewhere is copied, as its owner may change it.
        let runs = dir.parent().map(|store| store.join("runs"));
        files.push(match runs {
            Some(runs) if csv.starts_with(&runs) => link_file(dir, &rel, csv)?,
            _ => write_file(dir, &rel, |w| copy_into(csv, w))?,
        });
        let meta = retarget_metadata(metadata, &format!("{r}.csv"))?;
        files.push(write_file(dir, &format!("{d}/{r}-metadata.json"), |w| {
            w.write_all(&meta).map_err(io(metadata))
        })?);
    }
    Ok(files)
}

/// What the `latest` names hold when `release` is live, described for the catalogue before
/// they are written: the `.nt.gz` and CSV are copies of the release's files, and the metadata
/// is the release's, pointed at `latest.csv` (so its size and checksum are its own).
pub fn latest_files(dir: &Path, dataset: &str, release: &str) -> Result<Vec<DumpFile>> {
    let ds_dir = dir.join(dataset);
    let mut out = Vec::new();
    for ext in [".nt.gz", ".csv"] {
        let src = ds_dir.join(format!("{release}{ext}"));
        let Ok(meta) = std::fs::metadata(&src) else {
            continue;
        };
        let sha256 = recorded_sha256(&src)?;
        out.push(DumpFile {
            name: format!("latest{ext}"),
            path: format!("{dataset}/latest{ext}"),
            bytes: meta.len(),
            sha256,
        });
    }
    let meta = ds_dir.join(format!("{release}-metadata.json"));
    if meta.is_file() {
        let bytes = retarget_metadata(&meta, "latest.csv")?;
        out.push(DumpFile {
            name: "latest-metadata.json".into(),
            path: format!("{dataset}/latest-metadata.json"),
            bytes: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&bytes)),
        });
    }
    Ok(out)
}

/// Points the `latest` names at `release`. Each file is replaced by a rename, so a reader
/// gets the old file or the new one, never none; names the release lacks (a CSV) go.
pub fn write_latest(store: &Store, dataset: &str, release: &str) -> Result<()> {
    let dir = store.dumps_dir();
    let ds_dir = dir.join(dataset);
    for ext in [".nt.gz", ".csv"] {
        let src = ds_dir.join(format!("{release}{ext}"));
        let name = format!("{dataset}/latest{ext}");
        if src.is_file() {
            link_or_copy(&dir, &name, &src)?;
        } else {
            remove_with_sum(&dir.join(&name))?;
        }
        crate::crash_point("latest-partial");
    }
    let meta = ds_dir.join(format!("{release}-metadata.json"));
    let name = format!("{dataset}/latest-metadata.json");
    if meta.is_file() {
        let bytes = retarget_metadata(&meta, "latest.csv")?;
        write_file(&dir, &name, |w| w.write_all(&bytes).map_err(io(&meta)))?;
    } else {
        remove_with_sum(&dir.join(&name))?;
    }
    Ok(())
}

/// The SHA-256 recorded in the `.sha256` beside `src`, or computed again if that is missing
/// or unreadable.
fn recorded_sha256(src: &Path) -> Result<String> {
    let name = src.file_name().unwrap_or_default().to_string_lossy();
    let recorded = std::fs::read_to_string(src.with_file_name(format!("{name}.sha256")))
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .filter(|s| s.len() == 64);
    if let Some(s) = recorded {
        return Ok(s);
    }
    let mut h = Hashing {
        inner: std::io::sink(),
        hash: Sha256::new(),
        bytes: 0,
    };
    copy_into(src, &mut h)?;
    Ok(hex::encode(h.hash.finalize()))
}

/// Gives the release file `src` a second name, `rel` under `dir` (with its `.sha256`): a hard
/// link, renamed into place, where the file system allows one (no copy of a file that can be
/// gigabytes; a release's files are never changed once written, only removed, which leaves the
/// other name whole), else a copy. The file's modification time becomes now: `latest` must not
/// look older than what it replaced (after a rollback), or an `If-Modified-Since` would keep a
/// client's newer copy; the release's own name looking newer costs at most a download.
fn link_or_copy(dir: &Path, rel: &str, src: &Path) -> Result<()> {
    let path = dir.join(rel);
    let tmp = tmp_path(dir, &path)?;
    if std::fs::hard_link(src, &tmp).is_err() {
        write_file(dir, rel, |w| copy_into(src, w))?;
        return Ok(());
    }
    let touched = std::fs::OpenOptions::new()
        .write(true)
        .open(&tmp)
        .and_then(|f| f.set_modified(std::time::SystemTime::now()));
    if let Err(e) = touched {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&tmp)(e));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The checksum the release recorded, under the new name.
    let sha = recorded_sha256(src)?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    // Renaming a name onto another name of the same file does nothing (POSIX): the release
    // was `latest` already (the switch is being redone after a crash). The spare name goes.
    if tmp.exists() {
        std::fs::remove_file(&tmp).map_err(io(&tmp))?;
    }
    let sum_path = path.with_file_name(format!("{name}.sha256"));
    let sum_tmp = tmp_path(dir, &sum_path)?;
    std::fs::write(&sum_tmp, format!("{sha}  {name}\n")).map_err(io(&sum_tmp))?;
    std::fs::rename(&sum_tmp, &sum_path).map_err(io(&sum_path))?;
    Ok(())
}

/// Removes a file and its `.sha256`, if they exist.
fn remove_with_sum(path: &Path) -> Result<()> {
    let sum = path.with_file_name(format!(
        "{}.sha256",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    for p in [path, sum.as_path()] {
        match std::fs::remove_file(p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(p)(e)),
        }
    }
    Ok(())
}

pub fn remove_latest(dir: &Path, dataset: &str) -> Result<()> {
    for name in ["latest.nt.gz", "latest.csv", "latest-metadata.json"] {
        remove_with_sum(&dir.join(dataset).join(name))?;
    }
    Ok(())
}

pub fn remove_release(dir: &Path, dataset: &str, release: &str) -> Result<()> {
    for name in release_file_names(release) {
        if !name.ends_with(".sha256") {
            remove_with_sum(&dir.join(dataset).join(name))?;
        }
    }
    Ok(())
}

/// Removes a release's change files (and their checksums).
pub fn remove_change_files(dir: &Path, dataset: &str, release: &str) -> Result<()> {
    for name in change_file_names(release) {
        remove_with_sum(&dir.join(dataset).join(name))?;
    }
    Ok(())
}

/// `all.nq.gz`: every quad of the public view (live releases, catalogue, vocabulary), as
/// concatenated gzip members: the catalogue first, then the vocabulary's member and each live
/// release's, copied as they are, so publishing never re-serializes the whole store.
pub fn write_all(store: &Store) -> Result<()> {
    let dir = store.dumps_dir();
    let live: Vec<PathBuf> = store
        .datasets()?
        .into_iter()
        .filter_map(|d| {
            let r = d.live?;
            Some(dir.join(&d.id).join(quads_name(&r)))
        })
        .collect();
    let vocab = vocab_member_for(store)?;
    write_file(&dir, "all.nq.gz", |w| {
        let catalog = oxigraph::model::NamedNode::new_unchecked(store.catalog_graph());
        let mut graphs = vec![catalog];
        if vocab.is_none() {
            graphs.push(oxigraph::model::NamedNode::new_unchecked(
                store.vocab_graph(),
            ));
        }
        graphs_member(store, &graphs, &mut *w).map_err(io(&dir))?;
        for member in vocab.iter().chain(&live) {
            copy_into(member, w)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// One gzip member of the N-Quads of `graphs`, read from the store.
fn graphs_member(
    store: &Store,
    graphs: &[oxigraph::model::NamedNode],
    w: &mut dyn Write,
) -> std::io::Result<()> {
    // The serializer writes a term at a time: buffer before the compressor, which pays a
    // checksum and a window copy per call.
    let gz = BufWriter::with_capacity(1 << 16, GzEncoder::new(w, Compression::fast()));
    let mut ser = RdfSerializer::from_format(RdfFormat::NQuads).for_writer(gz);
    for g in graphs {
        for quad in store.db().quads_for_pattern(
            None,
            None,
            None,
            Some(GraphNameRef::NamedNode(g.as_ref())),
        ) {
            ser.serialize_quad(&quad.map_err(std::io::Error::other)?)?;
        }
    }
    ser.finish()?
        .into_inner()
        .map_err(|e| e.into_error())?
        .finish()?;
    Ok(())
}

/// The vocabulary's N-Quads member, for the vocabulary loaded now (its checksum in
/// `vocab.sha256`): `vocab-{sha256}.nq.gz` in the store's folder, beside that file. Made when
/// the vocabulary is loaded, from the quads in hand, and copied into each `all.nq.gz`, not
/// read back from the store on every publish: right after a large load, those reads merge
/// the load's new files while RocksDB compacts them (2.6–3.3 s for 8,600 quads, measured on a
/// 20 M-triple publish). A store whose vocabulary was loaded before members existed, or
/// restored from a backup without one, gets it from the store once. `None` when no
/// vocabulary was loaded (its graph is then read each time; it is empty or was put there by
/// hand).
fn vocab_member_for(store: &Store) -> Result<Option<PathBuf>> {
    let Some(sum) = loaded_vocab(store.dir()) else {
        return Ok(None);
    };
    let path = vocab_member(store.dir(), &sum);
    if !path.is_file() {
        let g = oxigraph::model::NamedNode::new_unchecked(store.vocab_graph());
        write_member_file(&store.dumps_dir(), &path, |w| {
            graphs_member(store, std::slice::from_ref(&g), w)
        })?;
    }
    Ok(Some(path))
}

/// The checksum of the vocabulary loaded now (`vocab.sha256`), if one was.
fn loaded_vocab(store_dir: &Path) -> Option<String> {
    let sum = std::fs::read_to_string(store_dir.join("vocab.sha256")).ok()?;
    let sum = sum.trim();
    (sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit())).then(|| sum.to_string())
}

fn vocab_member(store_dir: &Path, sum: &str) -> PathBuf {
    store_dir.join(format!("vocab-{sum}.nq.gz"))
}

/// Writes the member of the vocabulary with checksum `sum` from its `quads`, and removes the
/// members of other vocabularies. Called after the quads are committed and before
/// `vocab.sha256` names them (which is removed first): a member is never taken for another
/// vocabulary, and a crash between leaves no name, so the next start loads it again.
pub(crate) fn write_vocab_member(
    store_dir: &Path,
    dumps: &Path,
    sum: &str,
    quads: &[oxigraph::model::Quad],
) -> Result<()> {
    let path = vocab_member(store_dir, sum);
    write_member_file(dumps, &path, |w| {
        let gz = BufWriter::with_capacity(1 << 16, GzEncoder::new(w, Compression::fast()));
        let mut ser = RdfSerializer::from_format(RdfFormat::NQuads).for_writer(gz);
        for q in quads {
            ser.serialize_quad(q)?;
        }
        ser.finish()?
            .into_inner()
            .map_err(|e| e.into_error())?
            .finish()?;
        Ok(())
    })?;
    remove_vocab_members(store_dir, Some(&path))
}

/// Removes the vocabulary members in `store_dir`, except `keep`.
pub(crate) fn remove_vocab_members(store_dir: &Path, keep: Option<&Path>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(store_dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("vocab-")
            && name.ends_with(".nq.gz")
            && Some(e.path().as_path()) != keep
        {
            std::fs::remove_file(e.path()).map_err(io(&e.path()))?;
        }
    }
    Ok(())
}

/// Writes `path` through `fill`, whole or not at all (a temporary file, synced, renamed).
fn write_member_file(
    dumps: &Path,
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = tmp_path(dumps, path)?;
    let written = (|| {
        let mut w = BufWriter::new(std::fs::File::create(&tmp)?);
        fill(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    })();
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(path)(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quads(text: &[u8], cuts: usize) -> std::io::Result<(String, Counted)> {
        let mut lines = QuadLines::new("http://x/g", Vec::new(), 0);
        for piece in text.chunks(cuts) {
            lines.write_all(piece)?;
        }
        let (out, counted) = lines.finish()?;
        Ok((String::from_utf8(out).unwrap(), counted))
    }

    #[test]
    fn a_tap_counts_each_subject_iri_once_however_its_statements_are_spread() {
        use oxigraph::model::{BlankNode, NamedNode, Quad};
        let iri = |s: &str| NamedNode::new_unchecked(format!("http://x/{s}"));
        let g = iri("g");
        let mut tap = Tap::counting("http://x");
        // A row and its supplier taking turns, then subjects coming back after others, and a
        // blank node (not counted: VoID's entities are IRIs here).
        for s in ["a", "s", "a", "s", "b", "c", "a", "s", "d", "b", "a"] {
            tap.add(Quad::new(iri(s), iri("p"), iri("o"), g.clone()).as_ref())
                .unwrap();
        }
        tap.add(Quad::new(BlankNode::default(), iri("p"), iri("o"), g).as_ref())
            .unwrap();
        let counted = tap.finish().unwrap();
        assert_eq!(counted.subjects, 5);
        assert_eq!(counted.properties, 1);
    }

    #[test]
    fn converted_lines_become_quads_in_the_graph_and_equal_triples_count_once() {
        let text = b"<http://x/a> <http://x/p> \"a . b\" .\n\n# a comment .\n<http://x/a> <http://x/p> <http://x/o#1> .\r\n<http://x/a> <http://x/p> \"a . b\" .\n_:b <http://x/p> \"1\"^^<http://x/t>.";
        let want = "<http://x/a> <http://x/p> \"a . b\" <http://x/g> .\n<http://x/a> <http://x/p> <http://x/o#1> <http://x/g> .\n<http://x/a> <http://x/p> \"a . b\" <http://x/g> .\n_:b <http://x/p> \"1\"^^<http://x/t> <http://x/g> .\n";
        // Cut anywhere by the pieces: within a line, at its end, one byte at a time.
        for cuts in [1, 2, 7, 40, 1 << 20] {
            let counted = Counted {
                lines: 4,
                distinct: 3,
            };
            assert_eq!(
                quads(text, cuts).unwrap(),
                (want.to_string(), counted),
                "{cuts}"
            );
        }
        // What a parser makes of the member: the same quads.
        let parsed: Vec<_> = oxigraph::io::RdfParser::from_format(RdfFormat::NQuads)
            .for_slice(want.as_bytes())
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        assert_eq!(parsed.len(), 4);
        assert!(parsed
            .iter()
            .all(|q| q.graph_name.to_string() == "<http://x/g>"));
    }

    #[test]
    fn a_line_not_of_one_triple_is_an_error_with_its_number() {
        let e = quads(b"<http://x/a> <http://x/p> <http://x/o> .\n<http://x/a> <http://x/p> <http://x/o> . # note\n", 5).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }
}
