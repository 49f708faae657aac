//! Backup and restore of a whole store: the database (a RocksDB checkpoint taken through
//! Oxigraph on the open, read-write handle, so a live instance backs itself up) and the files
//! beside it (`store.json`, `vocab.sha256`, `dumps/`, `search/`, `sources/`, `runs/`).
//!
//! ```text
//! DIR/backup.json     what was backed up, when, from which base IRI
//! DIR/oxigraph/       the checkpoint
//! DIR/store.json, vocab.sha256, dumps/, search/, sources/, runs/
//! ```
//!
//! A restore copies a backup into a sibling of the store folder, opens it as a store to check
//! it, and only then swaps it in: a restore that fails leaves the store as it was.

use crate::{io, Error, Result, Store};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// What `backup.json` says about a backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupInfo {
    pub format: u32,
    /// When it was taken (xsd:dateTime).
    pub created: String,
    pub base: String,
    pub fivestar: String,
    pub datasets: usize,
    pub releases: usize,
    /// Files copied beside the database, and their bytes.
    pub files: u64,
    pub bytes: u64,
}

const MARKER: &str = "backup.json";

/// The process holding RocksDB's write lock on `lock` (its `LOCK` file: a POSIX record lock,
/// `fcntl(F_SETLK)`), if another process holds it. No file, or no lock: `None`.
pub(crate) fn writer_of(lock: &Path) -> Option<i32> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(lock).ok()?;
    // SAFETY: a zeroed flock is a valid value of the C struct; F_GETLK only fills it in.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: the descriptor is open for the call; fl is a valid, writable flock.
    let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut fl) };
    (r == 0 && fl.l_type != libc::F_UNLCK as libc::c_short).then_some(fl.l_pid)
}

/// Whether a folder is missing or empty (a backup or restore target must be).
fn is_empty_dir(dir: &Path) -> Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io(dir)(e)),
    }
}

/// Copies the tree under `from` into `to`; `keep` decides per file (by its path relative to
/// `from`). Returns (files, bytes).
fn copy_tree(from: &Path, to: &Path, keep: &dyn Fn(&Path) -> bool) -> Result<(u64, u64)> {
    let mut totals = (0, 0);
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let src = from.join(&rel);
        let entries = match std::fs::read_dir(&src) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(&src)(e)),
        };
        std::fs::create_dir_all(to.join(&rel)).map_err(io(&to.join(&rel)))?;
        for entry in entries {
            let entry = entry.map_err(io(&src))?;
            let child = rel.join(entry.file_name());
            let kind = entry.file_type().map_err(io(&src))?;
            if kind.is_dir() {
                stack.push(child);
            } else if kind.is_file() && keep(&child) {
                let dst = to.join(&child);
                let n = std::fs::copy(from.join(&child), &dst).map_err(io(&dst))?;
                totals.0 += 1;
                totals.1 += n;
            }
        }
    }
    Ok(totals)
}

/// The folders and files of a store besides its database.
const FILES: [&str; 2] = ["store.json", "vocab.sha256"];
const FOLDERS: [&str; 4] = ["dumps", "search", "sources", "runs"];

/// Whether a file under `runs/` or `sources/` is work in progress rather than kept state: a
/// run's lock, a half-written state file or source.
fn is_scratch(rel: &Path) -> bool {
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    name == ".lock" || name.ends_with(".tmp") || name.contains(".tmp")
}

impl Store {
    /// Backs the store up into `target`, which must be missing or empty. Safe on a live store:
    /// the database is a checkpoint (consistent at one instant), and the live state cannot
    /// switch while the checkpoint is taken and the dumps are copied, so the catalogue and the
    /// `latest` files in the backup agree. Dumps of releases the checkpoint does not know (a
    /// publish still loading) are left out.
    pub fn backup(&self, target: &Path) -> Result<BackupInfo> {
        if !is_empty_dir(target)? {
            return Err(Error::Invalid(format!(
                "{} is not empty: back up into a new folder",
                target.display()
            )));
        }
        // Oxigraph wants to create the checkpoint folder itself.
        std::fs::create_dir_all(target).map_err(io(target))?;
        let (mut files, mut bytes) = (0, 0);
        let (datasets, releases) = {
            let _switch = self.switching();
            // Everything written is in the table files before the checkpoint: a replica opens
            // the copy read-only, and RocksDB does not replay a write-ahead log then (seen
            // with `oxigraph backup` of a store a server had open). Oxigraph's checkpoint
            // flushes too (log_size_for_flush 0); this does not rely on that.
            if !self.is_read_only() {
                self.db.flush()?;
            }
            self.db.backup(target.join("oxigraph"))?;
            let datasets = self.datasets()?;
            // dumps/{dataset}/{release}… of recorded releases, latest.*, all.nq.gz.
            let known: HashSet<(String, String)> = datasets
                .iter()
                .flat_map(|d| d.releases.iter().map(|r| (d.id.clone(), r.release.clone())))
                .collect();
            let keep = |rel: &Path| {
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                match parts.as_slice() {
                    [_] => !is_scratch(rel),
                    [dataset, name] => {
                        name.starts_with("latest")
                            || known.iter().any(|(d, r)| {
                                d == dataset
                                    && name
                                        .strip_prefix(r.as_str())
                                        .is_some_and(|rest| rest.starts_with(['.', '-']))
                            })
                    }
                    _ => false,
                }
            };
            let (f, b) = copy_tree(&self.dumps_dir(), &target.join("dumps"), &keep)?;
            files += f;
            bytes += b;
            // search/{dataset}/{release}/… of recorded releases (an index being built for a
            // publish under way is not one yet).
            let indexed = |rel: &Path| {
                let mut parts = rel.components().map(|c| c.as_os_str().to_string_lossy());
                match (parts.next(), parts.next()) {
                    (Some(d), Some(r)) => known.contains(&(d.into_owned(), r.into_owned())),
                    _ => false,
                }
            };
            let (f, b) = copy_tree(&self.dir.join("search"), &target.join("search"), &indexed)?;
            files += f;
            bytes += b;
            for name in FILES {
                let src = self.dir.join(name);
                if src.is_file() {
                    bytes += std::fs::copy(&src, target.join(name)).map_err(io(&src))?;
                    files += 1;
                }
            }
            let releases = datasets.iter().map(|d| d.releases.len()).sum();
            (datasets.len(), releases)
        };
        // Sources are content-addressed and runs' reports are written once: no lock needed.
        for folder in ["sources", "runs"] {
            let (f, b) = copy_tree(&self.dir.join(folder), &target.join(folder), &|rel| {
                !is_scratch(rel)
            })?;
            files += f;
            bytes += b;
        }
        let info = BackupInfo {
            format: 1,
            created: crate::now_utc().1,
            base: self.settings.base.clone(),
            fivestar: env!("CARGO_PKG_VERSION").to_string(),
            datasets,
            releases,
            files,
            bytes,
        };
        let marker = target.join(MARKER);
        let text = serde_json::to_vec_pretty(&info)
            .map_err(|e| Error::Invalid(format!("backup.json: {e}")))?;
        std::fs::write(&marker, text).map_err(io(&marker))?;
        Ok(info)
    }
}

/// Reads a backup's `backup.json`.
pub fn read_backup(dir: &Path) -> Result<BackupInfo> {
    let marker = dir.join(MARKER);
    let text = std::fs::read_to_string(&marker).map_err(|e| {
        Error::Invalid(format!(
            "{} is not a fivestar backup (no {MARKER}: {e})",
            dir.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| Error::Invalid(format!("{}: {e}", marker.display())))
}

/// Restores the backup in `backup` as the store in `store_dir`. A store folder that is not
/// empty is refused unless `force`; the store must not be open anywhere (the database's own
/// lock is tried). The backup is copied beside the store, opened and checked, then swapped in.
pub fn restore(backup: &Path, store_dir: &Path, force: bool) -> Result<BackupInfo> {
    let info = read_backup(backup)?;
    if !backup.join("oxigraph").is_dir() {
        return Err(Error::Invalid(format!(
            "{}: the database (oxigraph/) is missing",
            backup.display()
        )));
    }
    let exists = !is_empty_dir(store_dir)?;
    if exists && !force {
        return Err(Error::Invalid(format!(
            "{} is not empty: restore into a new folder, or pass --force to replace it",
            store_dir.display()
        )));
    }
    if store_dir.join("oxigraph").is_dir() {
        // Fails with the lock error while any process has the store open.
        drop(
            oxigraph::store::Store::open(store_dir.join("oxigraph")).map_err(|e| {
                Error::Invalid(format!(
                    "the store in {} is in use ({e}): stop the instance that holds it first",
                    store_dir.display()
                ))
            })?,
        );
    }
    let name = store_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "store".into());
    let parent = store_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let staging = parent.join(format!(".{name}.restoring-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let copied = (|| {
        copy_tree(&backup.join("oxigraph"), &staging.join("oxigraph"), &|_| {
            true
        })?;
        for folder in FOLDERS {
            copy_tree(&backup.join(folder), &staging.join(folder), &|_| true)?;
        }
        for file in FILES {
            let src = backup.join(file);
            if src.is_file() {
                std::fs::copy(&src, staging.join(file)).map_err(io(&src))?;
            }
        }
        // Open it as a store: the base IRI must match and the database must be readable.
        let opened = Store::open(&staging, crate::Settings::new(info.base.clone()))?;
        opened.datasets()?;
        Ok::<_, Error>(())
    })();
    if let Err(e) = copied {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let old = parent.join(format!(".{name}.replaced-{}", std::process::id()));
    if exists || store_dir.exists() {
        std::fs::rename(store_dir, &old).map_err(io(store_dir))?;
    }
    if let Err(e) = std::fs::rename(&staging, store_dir) {
        // Put the old store back.
        let _ = std::fs::rename(&old, store_dir);
        let _ = std::fs::remove_dir_all(&staging);
        return Err(io(store_dir)(e));
    }
    let _ = std::fs::remove_dir_all(&old);
    Ok(info)
}
