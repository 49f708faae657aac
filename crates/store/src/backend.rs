//! Serving from another SPARQL 1.1 store (`fivestar serve --backend URL`): a read server with
//! no database of its own. The store knows only this interface; the HTTP side lives in
//! `fivestar-remote`.
//!
//! What stays here, so that the site behaves the same on either side of the seam:
//! - the public view: which graphs a query may read is decided from the catalogue exactly as
//!   for the embedded store, and the backend is sent that dataset explicitly (the SPARQL
//!   Protocol's `default-graph-uri` and `named-graph-uri`, which replace the query's own
//!   `FROM`), so graphs the backend holds beyond the live view (older releases, staging) are
//!   never read;
//! - SERVICE is refused before anything is sent;
//! - the catalogue: a copy of the backend's catalogue graph is held in memory, read again
//!   every refresh interval ([`Store::refresh_backend`], on the server's clock), and the view
//!   (datasets, public graphs, ETag) is rebuilt only when the copy changed. Every read server that reads
//!   the same backend computes the same ETags.
//!
//! Files (dumps, figures, search indexes, row changes) are not in a SPARQL store: they are
//! read from the store folder given beside the backend, a copy of the publishing machine's.

use crate::{Error, Result, Store};
use oxigraph::model::{NamedNode, Quad, Triple};
use oxigraph::sparql::{CancellationToken, QueryResults};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A graph IRI no store holds: the default graph when a query may read none.
pub const EMPTY_GRAPH: &str = "urn:x-fivestar:empty-graph";

/// The form of a query's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// SELECT: solutions.
    Solutions,
    /// ASK: true or false.
    Boolean,
    /// CONSTRUCT or DESCRIBE: triples.
    Graph,
}

/// A SPARQL 1.1 query endpoint a read server answers from.
pub trait Backend: Send + Sync {
    /// Where it is, for messages and `/health` (no credentials).
    fn describe(&self) -> String;
    /// Evaluates `query` over exactly this dataset: the default graph is the union of
    /// `default` (never empty: [`EMPTY_GRAPH`] stands for none), the named graphs are
    /// `named`. `form`: the query's form. The answer is streamed; `cancel` stops reading it.
    fn query(
        &self,
        query: &str,
        form: Form,
        default: &[NamedNode],
        named: &[NamedNode],
        cancel: Option<CancellationToken>,
    ) -> Result<QueryResults<'static>>;
}

/// The backend and what the store last read from it.
pub(crate) struct Backed {
    pub(crate) backend: std::sync::Arc<dyn Backend>,
    pub(crate) refresh: Duration,
    state: Mutex<Seen>,
    /// Held by the one caller reading the catalogue again; the others use the copy they have.
    reading: Mutex<()>,
}

#[derive(Default)]
struct Seen {
    /// A digest of the catalogue's triples as last read.
    digest: Option<[u8; 32]>,
    /// Why the last read failed, if it did.
    error: Option<String>,
    /// When the catalogue was last read successfully.
    ok_at: Option<Instant>,
}

/// How the backend is, for `/health`.
#[derive(Debug, Clone)]
pub struct BackendHealth {
    pub backend: String,
    /// Seconds since the catalogue was last read from it, if ever.
    pub catalogue_age_secs: Option<f64>,
    /// Why the last read failed.
    pub error: Option<String>,
}

impl Backed {
    pub(crate) fn new(backend: std::sync::Arc<dyn Backend>, refresh: Duration) -> Backed {
        Backed {
            backend,
            refresh,
            state: Mutex::default(),
            reading: Mutex::default(),
        }
    }
}

impl Store {
    /// Opens a read server's store: queries go to `backend`; files (dumps, figures, search
    /// indexes) are read from `dir`, a copy of the publishing machine's store folder (it may
    /// be empty or absent: then there are none). Nothing in `dir` is written and every change
    /// is refused. The catalogue is read from the backend now (a failure is logged) and
    /// again by each [`Store::refresh_backend`].
    pub fn open_backed(
        dir: impl AsRef<std::path::Path>,
        settings: crate::Settings,
        backend: std::sync::Arc<dyn Backend>,
        refresh: Duration,
    ) -> Result<Store> {
        let dir = dir.as_ref().to_path_buf();
        let layout = crate::Layout::new(&settings.base, &dir);
        let marker = layout.marker();
        if let Ok(text) = std::fs::read_to_string(&marker) {
            crate::check_marker(&marker, &text, &dir, &settings)?;
        }
        let db = oxigraph::store::Store::new()?;
        let mut store = Store::with(db, dir, layout, settings, true);
        store.backed = Some(Backed::new(backend, refresh));
        if let Err(e) = store.refresh_catalogue() {
            tracing::warn!("{e}; reading it again every {refresh:?}");
        }
        Ok(store)
    }

    /// Whether queries go to another store ([`Store::open_backed`]).
    pub fn is_backed(&self) -> bool {
        self.backed.is_some()
    }

    /// The backend's state, for a read server's `/health` (None for an embedded store).
    pub fn backend_health(&self) -> Option<BackendHealth> {
        let b = self.backed.as_ref()?;
        let seen = b.state.lock().unwrap_or_else(|e| e.into_inner());
        Some(BackendHealth {
            backend: b.backend.describe(),
            catalogue_age_secs: seen.ok_at.map(|t| t.elapsed().as_secs_f64()),
            error: seen.error.clone(),
        })
    }

    /// How often a read server reads the backend's catalogue again (None: not a read server).
    pub fn backend_refresh(&self) -> Option<Duration> {
        self.backed.as_ref().map(|b| b.refresh)
    }

    /// Reads the backend's catalogue again (the server calls this every
    /// [`Store::backend_refresh`]): the view, public graphs and ETags follow what the
    /// publishing machine switched there. A failure is logged and kept for `/health`; the
    /// copy read before stays in use.
    pub fn refresh_backend(&self) {
        if let Err(e) = self.refresh_catalogue() {
            tracing::warn!("{e}");
        }
    }

    /// Reads the backend's catalogue, replacing the copy and moving the catalogue generation
    /// on when it changed. One caller reads; a caller that finds a read under way leaves it.
    fn refresh_catalogue(&self) -> Result<()> {
        let Some(b) = &self.backed else {
            return Ok(());
        };
        let Ok(_reading) = b.reading.try_lock() else {
            return Ok(());
        };
        let read = self.read_backend_catalogue(b);
        let mut seen = b.state.lock().unwrap_or_else(|e| e.into_inner());
        match read {
            Ok((triples, digest)) => {
                seen.error = None;
                seen.ok_at = Some(Instant::now());
                if seen.digest != Some(digest) {
                    let graph = NamedNode::new_unchecked(self.catalog_graph());
                    let mut tx = self.db.start_transaction()?;
                    tx.clear_graph(&graph)?;
                    for t in triples {
                        tx.insert(&Quad::new(t.subject, t.predicate, t.object, graph.clone()));
                    }
                    tx.commit()?;
                    seen.digest = Some(digest);
                    self.catalog_changed();
                }
                Ok(())
            }
            Err(e) => {
                seen.error = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// The backend's catalogue graph, with a digest of its sorted N-Triples.
    fn read_backend_catalogue(&self, b: &Backed) -> Result<(Vec<Triple>, [u8; 32])> {
        let graph = NamedNode::new_unchecked(self.catalog_graph());
        let mut triples: Vec<Triple> = self.backend_graph(b, &graph)?.collect::<Result<_>>()?;
        triples.sort_by_cached_key(|t| t.to_string());
        let mut digest = sha2::Sha256::default();
        for t in &triples {
            sha2::Digest::update(&mut digest, t.to_string().as_bytes());
            sha2::Digest::update(&mut digest, b"\n");
        }
        Ok((triples, sha2::Digest::finalize(digest).into()))
    }

    /// The triples of `graph` on the backend, streamed (a standard CONSTRUCT: every store
    /// that answers queries answers this, Graph Store Protocol or not).
    pub(crate) fn backend_graph(
        &self,
        b: &Backed,
        graph: &NamedNode,
    ) -> Result<Box<dyn Iterator<Item = Result<Triple>>>> {
        let results = b.backend.query(
            "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
            Form::Graph,
            std::slice::from_ref(graph),
            &[],
            None,
        )?;
        match results {
            QueryResults::Graph(triples) => Ok(Box::new(triples.map(|t| t.map_err(Error::from)))),
            _ => Err(Error::Backend(
                "a CONSTRUCT was not answered with triples".into(),
            )),
        }
    }

    /// Whether `graph` holds any triple: on the backend for a read server (a one-row SELECT,
    /// not an ASK, which Virtuoso 7.2 answers as a SELECT of `__ASK_RETVAL`).
    pub(crate) fn holds_graph(&self, graph: &NamedNode) -> bool {
        match &self.backed {
            None => self.db.contains_named_graph(graph).unwrap_or(false),
            Some(b) => match b.backend.query(
                "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1",
                Form::Solutions,
                std::slice::from_ref(graph),
                &[],
                None,
            ) {
                Ok(QueryResults::Solutions(mut rows)) => matches!(rows.next(), Some(Ok(_))),
                Ok(_) => false,
                Err(e) => {
                    // Left out of the view until the catalogue next changes: said, not hidden.
                    tracing::warn!("<{}> taken as absent: {e}", graph.as_str());
                    false
                }
            },
        }
    }
}
