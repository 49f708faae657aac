//! Where a release's triples come from: an N-Triples file, or a maker that makes them while
//! they load.
//!
//! A run converts its clean table straight into the publish ([`Triples::Made`]): the
//! converter, on a thread of its own, hands each triple twice. As a quad ([`Quads`]), in
//! batches, to the thread that feeds the bulk loader: no N-Triples are parsed for the load
//! (the loader alone pays that parse; in a profile of a million-row run it was 10 of the
//! run's 120 CPU s). And as an N-Triples line, into a [`Tee`] that hands blocks of lines to
//! the `.nt.gz` writer and to the writer of the N-Quads member of `all.nq.gz` (which turns
//! each line into a quad itself), through bounded channels. No file lies between conversion
//! and load (3 GB of scratch space for a million-row run), and the conversion runs beside the
//! load. Any side that stops stops the others: the maker's error reaches the loader's feed,
//! which fails the load before its commit, and a reader that goes away fails the maker's
//! next write. The publish checks that the lines and the quads were as many.

use oxigraph::model::{Triple, TripleRef};
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};

/// The triples of a release to publish.
pub enum Triples {
    /// An N-Triples file. `converted_here`: this process's csvw converter wrote it. It writes
    /// no IRI, language tag or datatype it has not checked, so the load then parses the file
    /// without checking them again (Oxigraph's lenient mode: 2.5 times as fast on a
    /// 20 M-triple release). A file from elsewhere, such as an admin API upload, is parsed
    /// strictly.
    File { path: PathBuf, converted_here: bool },
    /// Made while they load, by this process's converter (its terms are not checked again,
    /// as above).
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

/// What makes a release's triples: it hands each one both ways, as an N-Triples line into the
/// writer and as a quad into the [`Quads`], in the same order, and says `Ok`; or says why not
/// (after any amount made). On `Err` nothing is published. The lines are one triple a line,
/// `S P O .`, each term always written the same way (as the csvw converter writes them): the
/// dumps are made from the lines (the N-Quads member too, and equal lines are counted as one
/// triple), the store from the quads, and a publish whose lines and quads were not as many
/// fails.
pub type Make = Box<dyn FnOnce(&mut (dyn Write + Send), &mut Quads) -> Result<(), String> + Send>;

/// Triples made while they load: the maker runs once, on a thread of the publish.
pub struct Made {
    make: Mutex<Option<Make>>,
    /// About how many triples it makes, when known: it sizes the loader's batches (see
    /// `load_memory_mb`) and the distinct counts' buffer.
    pub expected: Option<u64>,
}

impl Made {
    pub fn new(
        expected: Option<u64>,
        make: impl FnOnce(&mut (dyn Write + Send), &mut Quads) -> Result<(), String> + Send + 'static,
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
    /// The maker failed (the load says why).
    Failed,
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

    /// Runs `make` into this writer and `quads`, and tells every reader how it ended.
    pub(crate) fn run(mut self, make: Make, mut quads: Quads) {
        let made = make(&mut self, &mut quads)
            .and_then(|()| self.send().map_err(|e| e.to_string()))
            .and_then(|()| quads.send().map_err(|e| e.to_string()));
        for (tx, _) in &self.to {
            // A reader that has gone away needs no word.
            let _ = tx.send(match &made {
                Ok(()) => Piece::End,
                Err(_) => Piece::Failed,
            });
        }
        let _ = quads.to.send(match made {
            Ok(()) => Batch::End,
            Err(e) => Batch::Failed(e),
        });
    }
}

/// How many triples a batch to the loader's feed holds.
const QUADS: usize = 4096;

/// A batch of triples between the maker and the loader's feed.
pub(crate) enum Batch {
    Triples(Vec<Triple>),
    /// All made.
    End,
    /// The maker failed: why.
    Failed(String),
}

/// The maker's quads, to the thread that feeds the bulk loader, in batches: each a triple,
/// the release's graph given to the loader once for all of them (no copy of its name made
/// and freed a triple).
pub struct Quads {
    batch: Vec<Triple>,
    to: SyncSender<Batch>,
}

impl Quads {
    pub(crate) fn new(to: SyncSender<Batch>) -> Self {
        Quads {
            batch: Vec::with_capacity(QUADS),
            to,
        }
    }

    /// `t`, in the release's graph.
    pub fn triple(&mut self, t: TripleRef<'_>) -> std::io::Result<()> {
        self.batch.push(t.into_owned());
        if self.batch.len() >= QUADS {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(QUADS));
        self.to
            .send(Batch::Triples(batch))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the load stopped"))
    }
}

/// The loader's side of [`Quads`]: each triple (of the release's graph), then the end; or an
/// error when the maker failed or stopped without saying how it ended (a panic). Counts what
/// it yields.
pub(crate) struct QuadFeed {
    rx: Receiver<Batch>,
    batch: std::vec::IntoIter<Triple>,
    ended: bool,
    pub(crate) count: u64,
}

impl QuadFeed {
    pub(crate) fn new(rx: Receiver<Batch>) -> Self {
        QuadFeed {
            rx,
            batch: Vec::new().into_iter(),
            ended: false,
            count: 0,
        }
    }
}

impl Iterator for QuadFeed {
    type Item = Result<Triple, String>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(q) = self.batch.next() {
                self.count += 1;
                return Some(Ok(q));
            }
            if self.ended {
                return None;
            }
            match self.rx.recv() {
                Ok(Batch::Triples(b)) => self.batch = b.into_iter(),
                Ok(Batch::End) => self.ended = true,
                Ok(Batch::Failed(e)) => {
                    self.ended = true;
                    return Some(Err(e));
                }
                Err(_) => {
                    self.ended = true;
                    return Some(Err("the triples stopped before their end".into()));
                }
            }
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

/// Every byte a reader's channel brings until the maker's last word, into `w`. A maker
/// that failed or stopped is not this writer's error (the load fails with it, and the
/// release's files go): it stops writing and says `Ok`.
pub(crate) fn drain_into(rx: Receiver<Piece>, w: &mut dyn Write) -> std::io::Result<()> {
    for piece in rx {
        match piece {
            Piece::Bytes(p) => w.write_all(&p)?,
            Piece::End | Piece::Failed => break,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxigraph::model::{Literal, NamedNode, NamedNodeRef};
    use std::sync::mpsc::sync_channel;

    /// What the maker made: the load's quads (or its error), and the lines a dump got.
    fn pipe(make: Make) -> (Result<Vec<Triple>, String>, Vec<u8>) {
        let (tx, rx) = sync_channel(PIECES_IN_FLIGHT);
        let (to_load, load) = sync_channel(PIECES_IN_FLIGHT);
        let quads = Quads::new(to_load);
        std::thread::scope(|s| {
            s.spawn(|| Tee::new(vec![(tx, "the dump")]).run(make, quads));
            let copy = s.spawn(|| {
                let mut v = Vec::new();
                drain_into(rx, &mut v).map(|()| v)
            });
            let loaded = QuadFeed::new(load).collect::<Result<Vec<_>, _>>();
            (loaded, copy.join().unwrap().unwrap())
        })
    }

    /// Triple `i`, as a line and as a quad's parts.
    fn triple(i: usize) -> (String, NamedNode, Literal) {
        let s = NamedNode::new_unchecked(format!("http://x/{i}"));
        (
            format!("<http://x/{i}> <http://x/p> \"{i}\" .\n"),
            s,
            Literal::new_simple_literal(i.to_string()),
        )
    }

    /// Makes `n` triples both ways, the lines in writes of every size (as a serializer makes
    /// them).
    fn make_both(n: usize, w: &mut (dyn Write + Send), quads: &mut Quads) -> Result<(), String> {
        let p = NamedNodeRef::new_unchecked("http://x/p");
        let mut text = String::new();
        for i in 0..n {
            let (line, s, o) = triple(i);
            text.push_str(&line);
            quads
                .triple(TripleRef::new(&s, p, &o))
                .map_err(|e| e.to_string())?;
            if text.len() > 70_001 {
                w.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
                text.clear();
            }
        }
        w.write_all(text.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn the_load_gets_every_quad_and_every_reader_every_byte_in_order() {
        let n = 100_000;
        let (loaded, copy) = pipe(Box::new(move |w, q| make_both(n, w, q)));
        let loaded = loaded.unwrap();
        assert_eq!(loaded.len(), n);
        for (i, q) in loaded.iter().enumerate() {
            let (_, s, o) = triple(i);
            assert_eq!(q.subject, s.into());
            assert_eq!(q.object, o.into());
        }
        let want: String = (0..n).map(|i| triple(i).0).collect();
        assert!(want.len() > 8 * PIECE);
        assert_eq!(copy, want.into_bytes());
    }

    #[test]
    fn a_maker_that_fails_late_fails_the_load_with_its_reason() {
        let (loaded, _) = pipe(Box::new(|w, q| {
            make_both(50_000, w, q)?;
            Err("the table is not valid".into())
        }));
        assert_eq!(loaded.unwrap_err(), "the table is not valid");
    }

    #[test]
    fn a_maker_that_panics_is_not_an_end() {
        let (to_load, rx) = sync_channel(PIECES_IN_FLIGHT);
        let quads = Quads::new(to_load);
        let maker = std::thread::spawn(move || {
            Tee::new(vec![]).run(
                Box::new(|w, q| {
                    make_both(10_000, w, q).unwrap();
                    panic!("a bug");
                }),
                quads,
            )
        });
        let loaded = QuadFeed::new(rx).collect::<Result<Vec<_>, _>>();
        assert_eq!(loaded.unwrap_err(), "the triples stopped before their end");
        assert!(maker.join().is_err());
    }

    #[test]
    fn a_reader_that_goes_away_stops_the_maker() {
        for gone in ["the .nt.gz dump", "the load"] {
            let (tx, rx) = sync_channel(PIECES_IN_FLIGHT);
            let (to_load, load) = sync_channel(PIECES_IN_FLIGHT);
            let quads = Quads::new(to_load);
            let (said_tx, said) = std::sync::mpsc::channel();
            let maker = std::thread::spawn(move || {
                Tee::new(vec![(tx, "the .nt.gz dump")]).run(
                    Box::new(move |w, q| {
                        let r = make_both(100_000, w, q);
                        said_tx.send(r.clone()).unwrap();
                        r
                    }),
                    quads,
                )
            });
            let e = if gone == "the load" {
                drop(load);
                drain_into(rx, &mut Vec::new()).unwrap();
                said.recv().unwrap().unwrap_err()
            } else {
                drop(rx);
                let loaded = QuadFeed::new(load).collect::<Result<Vec<_>, _>>();
                let e = said.recv().unwrap().unwrap_err();
                assert_eq!(loaded.unwrap_err(), e);
                e
            };
            let want = if gone == "the load" {
                "the load stopped"
            } else {
                "the .nt.gz dump stopped"
            };
            assert_eq!(e, want);
            maker.join().unwrap();
        }
    }
}
