//! Mirrors: other SPARQL 1.1 stores that every change of the live state is copied to
//! (`[[publish_to]]`). The store knows only this interface; the HTTP side lives in
//! `fivestar-remote`. A mirror is told after each publish, rollback, withdraw and removal,
//! and once more whenever asked (`fivestar sync`): what it must hold is always read
//! from the store then, so a later sync repairs what an earlier one could not do.

use crate::{Error, Result, Store};
use oxigraph::model::{GraphNameRef, NamedNode, NamedNodeRef, Triple};

/// A store the live state is copied to.
pub trait Mirror: Send + Sync {
    /// The target's name (a slug), for reports.
    fn name(&self) -> &str;
    /// Brings the target to the store's live state: the graphs it lacks sent and checked,
    /// then its catalogue switched in one update, then the graphs no longer kept dropped.
    /// A failure before the switch leaves the target's live state as it was.
    fn sync(&self, store: &Store) -> std::result::Result<String, String>;
    /// The emergency path: takes `dataset` off the target's live view in one update, checked,
    /// whatever else the target is waiting for, and no more: the rest of the target's
    /// catalogue (the dataset's distributions) follows with the next [`Mirror::sync`], which
    /// the caller starts after answering (a live instance as a job; the command line after
    /// it has said the dataset is off).
    fn withdraw(&self, store: &Store, dataset: &str) -> std::result::Result<String, String>;
}

/// What one target made of a change.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct MirrorOutcome {
    pub target: String,
    pub ok: bool,
    /// What was done, or why it failed.
    pub message: String,
}

impl std::fmt::Display for MirrorOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.ok { "ok" } else { "FAILED" };
        write!(f, "publish_to {}: {state}: {}", self.target, self.message)
    }
}

/// A graph a mirror must hold, with the triples it has here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedGraph {
    pub iri: String,
    pub triples: u64,
    /// A live release's graph (or its summary graph), the vocabulary: the catalogue cannot
    /// switch until the target holds it.
    pub live: bool,
    /// For the vocabulary graph, which changes under one name: the version loaded here.
    pub version: Option<String>,
}

/// What a mirror must hold: the graphs (live first) and the catalogue that makes them live.
#[derive(Debug, Clone)]
pub struct MirrorPlan {
    pub graphs: Vec<PlannedGraph>,
    /// The catalogue graph's IRI and its triples, read in one transaction.
    pub catalog: String,
    pub catalog_triples: Vec<Triple>,
    /// The graphs the catalogue's live releases need (release and summary graphs and the
    /// vocabulary), read from those same triples.
    pub catalog_needs: Vec<String>,
    /// Every graph IRI this store mints for releases starts with this: a mirror drops only
    /// graphs under it.
    pub release_graph_prefix: String,
}

impl Store {
    /// The store's mirrors, from its settings.
    pub fn mirrors(&self) -> &[std::sync::Arc<dyn Mirror>] {
        &self.settings.mirrors
    }

    /// Runs every mirror's sync, side by side; one failing does not stop the others.
    pub fn sync_mirrors(&self) -> Vec<MirrorOutcome> {
        if self.is_read_only() {
            // A replica has nothing to send: the store it was copied from does that.
            return Vec::new();
        }
        self.each_mirror(|m| m.sync(self))
    }

    /// Withdraws `dataset` from every mirror at once.
    pub(crate) fn withdraw_from_mirrors(&self, dataset: &str) -> Vec<MirrorOutcome> {
        self.each_mirror(|m| m.withdraw(self, dataset))
    }

    fn each_mirror(
        &self,
        f: impl Fn(&dyn Mirror) -> std::result::Result<String, String> + Sync,
    ) -> Vec<MirrorOutcome> {
        let mirrors = self.mirrors();
        std::thread::scope(|scope| {
            let running: Vec<_> = mirrors
                .iter()
                .map(|m| (m.name().to_string(), scope.spawn(|| f(m.as_ref()))))
                .collect();
            running
                .into_iter()
                .map(|(target, h)| {
                    let r = h
                        .join()
                        .unwrap_or_else(|_| Err("the sync panicked".to_string()));
                    let outcome = match r {
                        Ok(message) => MirrorOutcome {
                            target,
                            ok: true,
                            message,
                        },
                        Err(message) => MirrorOutcome {
                            target,
                            ok: false,
                            message,
                        },
                    };
                    if outcome.ok {
                        tracing::info!("{outcome}");
                    } else {
                        tracing::error!("{outcome}");
                    }
                    outcome
                })
                .collect()
        })
    }

    /// What a mirror keeping `keep` releases of each live dataset must hold now (nothing of
    /// a withdrawn one).
    pub fn mirror_plan(&self, keep: usize) -> Result<MirrorPlan> {
        let layout = &self.layout;
        let mut graphs = Vec::new();
        let vocab = self.vocab_graph();
        graphs.push(PlannedGraph {
            triples: self.graph_len(&vocab)?,
            iri: vocab.clone(),
            live: true,
            version: std::fs::read_to_string(self.dir.join("vocab.sha256"))
                .ok()
                .map(|s| s.trim().to_string()),
        });
        // The catalogue's triples and, from the same triples, what its live releases need.
        let catalog = self.catalog_graph();
        let cat = NamedNode::new_unchecked(catalog.clone());
        let catalog_triples = self
            .db
            .quads_for_pattern(
                None,
                None,
                None,
                Some(GraphNameRef::NamedNode(cat.as_ref())),
            )
            .map(|q| q.map(Into::into).map_err(Error::from))
            .collect::<Result<Vec<Triple>>>()?;
        // A live release's IRI is `{base}/id/dataset/{id}/release/{r}`: its graphs follow.
        let mut catalog_needs = vec![vocab];
        let releases = layout.id("dataset/");
        for t in &catalog_triples {
            if t.predicate.as_ref() != crate::catalog::DCAT_HAS_CURRENT_VERSION {
                continue;
            }
            let oxigraph::model::Term::NamedNode(rel) = &t.object else {
                continue;
            };
            let (d, r) = rel
                .as_str()
                .strip_prefix(&releases)
                .and_then(|rest| rest.split_once("/release/"))
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "the catalogue's live release {rel} is not one of this store's"
                    ))
                })?;
            catalog_needs.push(layout.release_graph(d, r));
            let summary = layout.summary_graph(d, r);
            if self.graph_exists(&summary)? {
                catalog_needs.push(summary);
            }
        }
        let datasets = self.datasets()?;
        for d in &datasets {
            // A withdrawn dataset keeps nothing there: its graphs go with the sync after the
            // withdraw (a store's own endpoint may be public, and may answer from the union
            // of its graphs, as Virtuoso's does), and a rollback sends them again.
            if d.live.is_none() {
                continue;
            }
            // The live release first, then the newest others, `keep` in all.
            let mut kept: Vec<&crate::ReleaseState> = Vec::new();
            kept.extend(
                d.releases
                    .iter()
                    .filter(|r| d.live.as_ref() == Some(&r.release)),
            );
            for r in d.releases.iter().rev() {
                if kept.len() >= keep.max(1) {
                    break;
                }
                if d.live.as_ref() != Some(&r.release) {
                    kept.push(r);
                }
            }
            for r in kept {
                let live = d.live.as_ref() == Some(&r.release);
                graphs.push(PlannedGraph {
                    iri: r.graph.clone(),
                    triples: r.triples,
                    live,
                    version: None,
                });
                let summary = layout.summary_graph(&d.id, &r.release);
                if self.graph_exists(&summary)? {
                    graphs.push(PlannedGraph {
                        triples: self.graph_len(&summary)?,
                        iri: summary,
                        live,
                        version: None,
                    });
                }
            }
        }
        // Live graphs first: a sync that runs out of time has done what the switch needs.
        graphs.sort_by_key(|g| !g.live);
        Ok(MirrorPlan {
            graphs,
            catalog,
            catalog_triples,
            catalog_needs,
            release_graph_prefix: layout.graph(""),
        })
    }

    fn graph_exists(&self, iri: &str) -> Result<bool> {
        Ok(self
            .db
            .contains_named_graph(NamedNodeRef::new_unchecked(iri))?)
    }

    /// The triples in one graph of this store.
    pub fn graph_len(&self, iri: &str) -> Result<u64> {
        self.count(&format!(
            "SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}"
        ))
    }
}
