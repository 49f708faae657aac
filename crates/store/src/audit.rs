//! The audit log: every admin action (who, what, when, which dataset and release), one JSON
//! object a line in `{store}/audit.jsonl`. Lines are only ever appended, each with one
//! `write` of a file opened for appending, so concurrent writers do not interleave and a
//! crash loses at most the line being written (a torn last line is skipped when read).

use crate::Layout;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};

/// One admin action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// xsd:dateTime (UTC).
    pub at: String,
    /// The account, or "admin token" for the bearer token.
    pub who: String,
    /// What: "sign-in", "publish", "rollback", "withdraw", "schedule"…
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Anything else worth keeping: the outcome, the choice made.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl Entry {
    /// An entry made now.
    pub fn now(who: &str, action: &str) -> Entry {
        Entry {
            at: crate::now_utc().1,
            who: who.to_string(),
            action: action.to_string(),
            dataset: None,
            release: None,
            detail: String::new(),
        }
    }

    pub fn dataset(mut self, d: &str) -> Entry {
        self.dataset = Some(d.to_string());
        self
    }

    pub fn release(mut self, r: &str) -> Entry {
        self.release = Some(r.to_string());
        self
    }

    pub fn detail(mut self, d: impl Into<String>) -> Entry {
        self.detail = d.into();
        self
    }
}

/// Appends `entry` to the store's audit log (flushed to disk before returning).
pub fn record(layout: &Layout, entry: &Entry) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let path = layout.audit();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(&path)?;
    // After a crash mid-line, start on a line of its own.
    let len = f.metadata()?.len();
    if len > 0 {
        use std::io::{Read, Seek, SeekFrom};
        let mut last = [0u8];
        f.seek(SeekFrom::Start(len - 1))?;
        f.read_exact(&mut last)?;
        if last[0] != b'\n' {
            line.insert(0, b'\n');
        }
    }
    f.write_all(&line)?;
    f.sync_data()
}

/// The last `n` entries, newest first.
pub fn recent(layout: &Layout, n: usize) -> std::io::Result<Vec<Entry>> {
    let f = match std::fs::File::open(layout.audit()) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut last = std::collections::VecDeque::with_capacity(n + 1);
    for line in std::io::BufReader::new(f).lines() {
        let line = line?;
        if let Ok(e) = serde_json::from_str::<Entry>(&line) {
            last.push_back(e);
            if last.len() > n {
                last.pop_front();
            }
        }
    }
    Ok(last.into_iter().rev().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_append_and_read_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new("http://example.org", dir.path());
        assert!(recent(&layout, 5).unwrap().is_empty());
        for i in 0..4 {
            record(
                &layout,
                &Entry::now("jo", "publish")
                    .dataset("spend")
                    .release(&format!("r{i}")),
            )
            .unwrap();
        }
        // A torn last line (a crash mid-write) is skipped.
        std::fs::OpenOptions::new()
            .append(true)
            .open(layout.audit())
            .unwrap()
            .write_all(b"{\"at\":\"20")
            .unwrap();
        record(&layout, &Entry::now("jo", "withdraw").dataset("spend")).unwrap();
        let got = recent(&layout, 3).unwrap();
        assert_eq!(got[0].action, "withdraw", "a line after a torn one is read");
        let got = &got[1..];
        let releases: Vec<_> = got.iter().map(|e| e.release.clone().unwrap()).collect();
        assert_eq!(releases, ["r3", "r2"]);
        assert_eq!(got[0].who, "jo");
    }
}
