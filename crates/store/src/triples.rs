//! Where a release's N-Triples come from: a file, or a writer that makes them while they load.
//!
//! A run converts its clean table straight into the publish ([`Triples::Made`]): the
//! converter writes N-Triples into a [`Tee`] on a thread of its own, which hands blocks of
//! them to the bulk loader's parser, to the `.nt.gz` writer and to the writer of the N-Quads
//! member of `all.nq.gz` (which turns each line into a quad itself), through bounded
//! channels. No
//! file lies between conversion and load (3 GB of scratch space for a million-row run; in
//! time, measured on 2 cores, no gain to claim: README), and the conversion runs beside the
//! load. Any side that stops stops the others: the maker's error reaches the parser, which
//! fails the load before its commit, and a reader that goes away fails the maker's next write.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};

/// The N-Triples of a release to publish.
pub enum Triples {
    /// An N-Triples file. `converted_here`: this process's csvw converter wrote it. It writes
    /// no IRI, language tag or datatype it has not checked, so the load then parses the file
    /// without checking them again (Oxigraph's lenient mode: 2.5 times as fast on a
    /// 20 M-triple release). A file from elsewhere, such as an admin API upload, is parsed
    /// strictly.
    File { path: PathBuf, converted_here: bool },
    /// Made while they load, by this process's converter (parsed leniently, as above).
    Made(Made),
}

impl Triples {
    /// A file from elsewhere, parsed strictly.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Triples::File {
            path: path.into(),
            converted_here: false,
        }
    }
}

impl std::fmt::Debug for Triples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Triples::File {
                path,
                converted_here,
            } => f
                .debug_struct("File")
                .field("path", path)
                .field("converted_here", converted_here)
                .finish(),
            Triples::Made(m) => f
                .debug_struct("Made")
                .field("expected", &m.expected)
                .finish(),
        }
    }
}

/// What makes a release's N-Triples: it writes them all into the writer it is given and says
/// `Ok`, or says why not (after any amount written). On `Err` nothing is published. One
/// triple a line, `S P O .`, each term always written the same way (as the csvw converter
/// writes them): the N-Quads member is made from the lines, and equal lines are counted as
/// one triple.
pub type Make = Box<dyn FnOnce(&mut (dyn Write + Send)) -> Result<(), String> + Send>;

/// N-Triples made while they load: the maker runs once, on a thread of the publish.
pub struct Made {
    make: Mutex<Option<Make>>,
    /// About how many triples it makes, when known: it sizes the loader's batches (see
    /// `load_memory_mb`) and the distinct counts' buffer.
    pub expected: Option<u64>,
}

impl Made {
    pub fn new(
        expected: Option<u64>,
        make: impl FnOnce(&mut (dyn Write + Send)) -> Result<(), String> + Send + 'static,
    ) -> Self {
        Made {
            make: Mutex::new(Some(Box::new(make))),
            expected,
        }
    }

    /// The maker, the first time it is asked for.
    pub(crate) fn take(&self) -> Option<Make> {
        self.make.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// A piece of the stream between the maker and a reader.
pub(crate) enum Piece {
    Bytes(Arc<Vec<u8>>),
    /// All made.
    End,
    /// The maker failed: why.
    Failed(String),
}

/// How many bytes a piece holds (the last may hold fewer).
const PIECE: usize = 256 * 1024;
/// How many pieces each channel holds: the maker runs at most this far ahead of a reader.
pub(crate) const PIECES_IN_FLIGHT: usize = 16;

/// The maker's writer: the same pieces to every reader, in order.
pub(crate) struct Tee {
    buf: Vec<u8>,
    to: Vec<(SyncSender<Piece>, &'static str)>,
}

impl Tee {
    /// `to`: each reader's channel, with what it is (named when it has gone away).
    pub(crate) fn new(to: Vec<(SyncSender<Piece>, &'static str)>) -> Self {
        Tee {
            buf: Vec::with_capacity(PIECE),
            to,
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = Arc::new(std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE)));
        for (tx, what) in &self.to {
            if tx.send(Piece::Bytes(piece.clone())).is_err() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::BrokenPipe,
                    format!("{what} stopped"),
                ));
            }
        }
        Ok(())
    }

    /// Runs `make` into this writer and tells every reader how it ended.
    pub(crate) fn run(mut self, make: Make) {
        let made = make(&mut self).and_then(|()| self.send().map_err(|e| e.to_string()));
        for (tx, _) in &self.to {
            // A reader that has gone away needs no word.
            let _ = tx.send(match &made {
                Ok(()) => Piece::End,
                Err(e) => Piece::Failed(e.clone()),
            });
        }
    }
}

impl Write for Tee {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > PIECE && !self.buf.is_empty() {
            self.send()?;
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= PIECE {
            self.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A reader of the maker's pieces: its bytes, then the end of the stream, or an error when
/// the maker failed or stopped without saying how it ended (a panic).
pub(crate) struct PipeReader {
    rx: Receiver<Piece>,
    piece: Arc<Vec<u8>>,
    at: usize,
    ended: bool,
}

impl PipeReader {
    pub(crate) fn new(rx: Receiver<Piece>) -> Self {
        PipeReader {
            rx,
            piece: Arc::new(Vec::new()),
            at: 0,
            ended: false,
        }
    }
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.piece.len() {
            if self.ended || out.is_empty() {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Piece::Bytes(p)) => (self.piece, self.at) = (p, 0),
                Ok(Piece::End) => self.ended = true,
                Ok(Piece::Failed(e)) => return Err(std::io::Error::other(e)),
                Err(_) => {
                    return Err(std::io::Error::other(
                        "the triples stopped before their end",
                    ))
                }
            }
        }
        let n = out.len().min(self.piece.len() - self.at);
        out[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Every byte a reader's channel brings until the maker's last word, into `w`. A maker
/// that failed or stopped is not this writer's error (the load fails with it, and the
/// release's files go): it stops writing and says `Ok`.
pub(crate) fn drain_into(rx: Receiver<Piece>, w: &mut dyn Write) -> std::io::Result<()> {
    for piece in rx {
        match piece {
            Piece::Bytes(p) => w.write_all(&p)?,
            Piece::End | Piece::Failed(_) => break,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::sync_channel;

    fn pipe(make: Make) -> (Result<Vec<u8>, String>, Vec<u8>) {
        let (tx1, rx1) = sync_channel(PIECES_IN_FLIGHT);
        let (tx2, rx2) = sync_channel(PIECES_IN_FLIGHT);
        std::thread::scope(|s| {
            s.spawn(|| Tee::new(vec![(tx1, "the load"), (tx2, "the dump")]).run(make));
            let copy = s.spawn(|| {
                let mut v = Vec::new();
                drain_into(rx2, &mut v).map(|()| v)
            });
            let mut read = Vec::new();
            let got = PipeReader::new(rx1)
                .read_to_end(&mut read)
                .map(|_| read)
                .map_err(|e| e.to_string());
            (got, copy.join().unwrap().unwrap())
        })
    }

    fn lines(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| format!("<http://x/{i}> <http://x/p> \"{i}\" .\n").into_bytes())
            .collect()
    }

    #[test]
    fn every_reader_gets_every_byte_in_order() {
        let data = lines(100_000);
        assert!(data.len() > 8 * PIECE);
        let sent = data.clone();
        let (read, copy) = pipe(Box::new(move |w| {
            // Writes of every size, as a serializer makes them.
            for chunk in sent.chunks(70_001) {
                w.write_all(chunk).map_err(|e| e.to_string())?;
            }
            Ok(())
        }));
        assert_eq!(read.unwrap(), data);
        assert_eq!(copy, data);
    }

    #[test]
    fn a_maker_that_fails_late_fails_the_reader() {
        let (read, _) = pipe(Box::new(|w| {
            w.write_all(&lines(50_000)).map_err(|e| e.to_string())?;
            Err("the table is not valid".into())
        }));
        assert_eq!(read.unwrap_err(), "the table is not valid");
    }

    #[test]
    fn a_maker_that_panics_is_not_an_end() {
        let (tx, rx) = sync_channel(PIECES_IN_FLIGHT);
        let maker = std::thread::spawn(move || {
            Tee::new(vec![(tx, "the load")]).run(Box::new(|w| {
                w.write_all(b"<http://x/a> <http://x/p> \"1\" .\n").unwrap();
                panic!("a bug");
            }))
        });
        let mut read = Vec::new();
        let e = PipeReader::new(rx).read_to_end(&mut read).unwrap_err();
        assert_eq!(e.to_string(), "the triples stopped before their end");
        assert!(maker.join().is_err());
    }

    #[test]
    fn a_reader_that_goes_away_stops_the_maker() {
        let (tx1, rx1) = sync_channel(PIECES_IN_FLIGHT);
        let (tx2, rx2) = sync_channel(PIECES_IN_FLIGHT);
        drop(rx2);
        let (said_tx, said) = std::sync::mpsc::channel();
        let maker = std::thread::spawn(move || {
            Tee::new(vec![(tx1, "the load"), (tx2, "the .nt.gz dump")]).run(Box::new(move |w| {
                let r = w.write_all(&lines(100_000)).map_err(|e| e.to_string());
                said_tx.send(r.clone()).unwrap();
                r
            }))
        });
        let mut read = Vec::new();
        let e = PipeReader::new(rx1).read_to_end(&mut read).unwrap_err();
        assert_eq!(e.to_string(), "the .nt.gz dump stopped");
        assert_eq!(said.recv().unwrap().unwrap_err(), "the .nt.gz dump stopped");
        maker.join().unwrap();
    }
}
