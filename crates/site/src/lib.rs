//! A fivestar site's identity, shared by every crate that names things: the base IRI
//! (normalised once) with every IRI pattern fivestar mints and every folder of a store
//! ([`Layout`]), the rule for dataset and release ids, and the site's defaults. No I/O.

mod layout;

pub use layout::{normalise_base, Layout};

/// The path of fivestar's own vocabulary under the base IRI; its terms are
/// `{base}/def/fivestar#{term}`.
pub const OWN_TERMS_PATH: &str = "/def/fivestar";

/// The Open Government Licence v3: a dataset's licence unless its pipeline names another.
pub const OGL_V3: &str =
    "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/";

/// The bulk loader's default memory target, in megabytes. Its batches are this many thousand
/// quads over its threads; each becomes a level-0 file per index in RocksDB, and at 36 such files
/// RocksDB stops all writes until compaction catches up. 1024 MB keeps a 10M-triple release
/// under that (about 20 files) at about 1 GB peak RSS; at 512 MB the switch to live waits
/// about 25 s for compaction after such a load (README: Speed and memory).
pub const DEFAULT_LOADER_MEMORY_MB: usize = 1024;

/// Checks a dataset or release id: a slug, so that it is safe in IRIs and file names.
pub fn check_slug(kind: &str, s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 100
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.' || b == b'_'
        })
        && !s.starts_with(['.', '-']);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{kind} {s:?} must be lower-case letters, digits, '-', '_' or '.', not starting with '.' or '-'"
        ))
    }
}
