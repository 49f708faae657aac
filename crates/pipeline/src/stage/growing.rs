//! A file read while it is still being written: the clean CSV is written on its own thread
//! while the conversion reads it, so a run's load starts before the whole CSV is on disk.
//!
//! The writer says how far the file is written and how it ended ([`Growing`]); a reader
//! ([`GrowingReader`]) reads no further than that, waits for more, and gets the end of the
//! file only once the writer has finished without an error (a writer's error is the reader's
//! error: a half-written file never reads as a whole one).

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// How far the file is written, and whether the writing has ended.
#[derive(Default)]
struct State {
    /// Bytes written to the file (handed to the system: readable through another handle).
    written: u64,
    /// `Some` once the writer is done: `Ok` when the file is whole, else why not.
    ended: Option<Result<(), String>>,
    /// Nothing will read the file any more: the writer may stop.
    abandoned: bool,
    /// The writer ended after it was abandoned: its error (if any) is that, not its own.
    ended_abandoned: bool,
}

/// The writer's progress, shared by the writer and its readers.
#[derive(Default)]
pub struct Growing {
    state: Mutex<State>,
    changed: Condvar,
}

impl Growing {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere leaves the counts as they were: still true.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The writer has ended: `Ok` when the file is whole.
    pub fn end(&self, result: Result<(), String>) {
        let mut s = self.lock();
        if s.ended.is_none() {
            s.ended = Some(result);
            s.ended_abandoned = s.abandoned;
        }
        drop(s);
        self.changed.notify_all();
    }

    /// Nothing will read the file any more: the writer stops at its next write.
    pub fn abandon(&self) {
        self.lock().abandoned = true;
        self.changed.notify_all();
    }

    /// Waits for the writer's end: `Ok` when the file is whole.
    pub fn wait(&self) -> Result<(), String> {
        self.wait_for_end().0
    }

    /// Waits for the writer's end: its own failure, if it had one (not the one of being
    /// abandoned).
    pub fn failure(&self) -> Option<String> {
        match self.wait_for_end() {
            (Err(e), false) => Some(e),
            _ => None,
        }
    }

    fn wait_for_end(&self) -> (Result<(), String>, bool) {
        let mut s = self.lock();
        loop {
            if let Some(r) = &s.ended {
                return (r.clone(), s.ended_abandoned);
            }
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// A writer into `file` that tells this progress as it goes.
    pub fn writer(self: &Arc<Self>, file: File) -> GrowingWriter {
        GrowingWriter {
            file,
            growing: self.clone(),
        }
    }

    /// A reader of `path` from its start, as far as it is written.
    pub fn reader(self: &Arc<Self>, path: &Path) -> std::io::Result<GrowingReader> {
        Ok(GrowingReader {
            file: File::open(path)?,
            at: 0,
            growing: self.clone(),
        })
    }
}

/// Writes through to the file and counts what it wrote. Wrap it in a `BufWriter`: each
/// `write` is a system call and a wake-up of the readers.
pub struct GrowingWriter {
    file: File,
    growing: Arc<Growing>,
}

impl Write for GrowingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.growing.lock().abandoned {
            return Err(std::io::Error::other("nothing reads the file any more"));
        }
        let n = self.file.write(buf)?;
        self.growing.lock().written += n as u64;
        self.growing.changed.notify_all();
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Reads the file as far as it is written; its end once the writer has ended well.
pub struct GrowingReader {
    file: File,
    at: u64,
    growing: Arc<Growing>,
}

impl Read for GrowingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let ready = {
            let mut s = self.growing.lock();
            loop {
                if s.written > self.at {
                    break s.written - self.at;
                }
                match &s.ended {
                    Some(Ok(())) => return Ok(0),
                    Some(Err(e)) => return Err(std::io::Error::other(e.clone())),
                    None => {}
                }
                s = self
                    .growing
                    .changed
                    .wait(s)
                    .unwrap_or_else(|e| e.into_inner());
            }
        };
        let want = usize::try_from(ready).unwrap_or(usize::MAX).min(buf.len());
        let n = self.file.read(&mut buf[..want])?;
        if n == 0 {
            // Counted as written, yet not there: the file was cut or replaced under us.
            return Err(std::io::Error::other(format!(
                "the file ends at byte {} while its writer says {} are written",
                self.at,
                self.at + ready
            )));
        }
        self.at += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufWriter;

    /// A file `name` in `dir` being written, `first` written to it already.
    fn started(
        dir: &tempfile::TempDir,
        name: &str,
        first: &[u8],
    ) -> (std::path::PathBuf, Arc<Growing>, GrowingWriter) {
        let path = dir.path().join(name);
        let growing = Growing::new();
        let mut w = growing.writer(File::create(&path).unwrap());
        w.write_all(first).unwrap();
        (path, growing, w)
    }

    /// Every byte, in order, while a slow writer is still writing: the reader never sees an
    /// early end.
    #[test]
    fn a_reader_gets_every_byte_the_writer_writes_and_then_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let (path, growing, w) = started(&dir, "whole.csv", b"");
        let mut w = BufWriter::with_capacity(1000, w);
        let mut reader = growing.reader(&path).unwrap();
        let expected: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let writer = {
            let (growing, expected) = (growing.clone(), expected.clone());
            std::thread::spawn(move || {
                for chunk in expected.chunks(7919) {
                    w.write_all(chunk).unwrap();
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
                w.flush().unwrap();
                growing.end(Ok(()));
            })
        };
        let mut got = Vec::new();
        reader.read_to_end(&mut got).unwrap();
        writer.join().unwrap();
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "the bytes read differ from those written");
        assert_eq!(growing.wait(), Ok(()));
    }

    /// A writer that fails makes the reader fail with its reason once the written bytes are
    /// read: a half-written file never reads as a whole one.
    #[test]
    fn a_writers_failure_is_the_readers_error_not_an_end() {
        let dir = tempfile::tempdir().unwrap();
        let (path, growing, _w) = started(&dir, "failed.csv", b"a,b\n1,2\n");
        growing.end(Err("No space left on device".into()));
        let mut reader = growing.reader(&path).unwrap();
        let mut got = Vec::new();
        let e = reader.read_to_end(&mut got).unwrap_err();
        assert_eq!(got, b"a,b\n1,2\n");
        assert!(e.to_string().contains("No space left"), "{e}");
        assert!(growing.wait().is_err());
        // Abandoned after its own failure: that failure is still told.
        growing.abandon();
        assert_eq!(
            growing.failure().as_deref(),
            Some("No space left on device")
        );
    }

    /// Once nothing reads the file, the writer's next write fails (it stops early).
    #[test]
    fn an_abandoned_writer_stops_at_its_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let (path, growing, mut w) = started(&dir, "abandoned.csv", b"a\n");
        growing.abandon();
        let e = w.write_all(b"b\n").unwrap_err();
        growing.end(Err(e.to_string()));
        assert_eq!(std::fs::read(&path).unwrap(), b"a\n");
        // Not the file's whole, and no failure of the writer's own to report.
        assert!(growing.wait().is_err());
        assert_eq!(growing.failure(), None);
    }

    /// A file cut under the reader (counted as written, yet not there) is an error, not a
    /// wait for ever nor a silent end.
    #[test]
    fn a_file_shorter_than_written_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (path, growing, _w) = started(&dir, "cut.csv", b"0123456789");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(4)
            .unwrap();
        let mut reader = growing.reader(&path).unwrap();
        let mut got = Vec::new();
        assert!(reader.read_to_end(&mut got).is_err());
        assert_eq!(got, b"0123");
    }
}
