//! `[[publish_to]]`: the live state of a fivestar store copied to another SPARQL 1.1 store
//! (Oxigraph server, Fuseki, Virtuoso, GraphDB…) through the standard protocols only:
//!
//! - each graph the target lacks is sent by the SPARQL 1.1 Graph Store HTTP Protocol, under
//!   the release's own graph IRI, which no live graph ever has: N-Triples read from the store
//!   a block at a time (never the whole graph in memory), the first block by `PUT`, each next
//!   one by `POST` (which adds to the graph). Each block is a sized body: Virtuoso 7.2 answers
//!   201 to a chunked `PUT` and keeps nothing of it;
//! - its size there is checked with a SPARQL 1.1 Query (`COUNT`);
//! - the catalogue is sent to a staging graph, checked, and made the target's catalogue by
//!   ONE SPARQL 1.1 Update (`MOVE`): the switch, atomic where the engine treats a request
//!   atomically, as the Update recommendation asks (§2.2);
//! - graphs no longer kept are dropped (`DROP SILENT GRAPH`) after the switch.
//!
//! A failure before the switch leaves the target's live state as it was. What the target
//! holds, as far as this store knows, is kept in `remotes/{target}.json`: a graph is marked
//! as being sent before its `PUT`, and as checked after its count, so that a later sync drops
//! what a failed one left behind.

mod auth;
mod backend;

pub use backend::Endpoint;
use fivestar_config::PublishTo;
use fivestar_store::rdf::{NamedNode, Triple};
use fivestar_store::{Mirror, Store};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

const DCAT_HAS_CURRENT_VERSION: &str = "http://www.w3.org/ns/dcat#hasCurrentVersion";
const DCAT_SERVES_DATASET: &str = "http://www.w3.org/ns/dcat#servesDataset";

/// One `[[publish_to]]` target.
pub struct Remote {
    target: PublishTo,
    auth: auth::Auth,
    /// Held through a sync (sending graphs can take minutes).
    syncing: Mutex<()>,
    /// Held from reading the catalogue to switching it, and by an emergency withdraw: a
    /// withdraw that lands here after a sync read the catalogue also lands after its switch.
    switching: Mutex<()>,
}

type Failed = String;

/// A client with the limits of what it is for: the target's own for a sync, shorter ones for
/// a withdraw's emergency requests.
struct Http {
    client: reqwest::blocking::Client,
    /// Tries after the first, for a failure to connect or a 5xx answer.
    retries: u32,
}

impl std::ops::Deref for Http {
    type Target = reqwest::blocking::Client;
    fn deref(&self) -> &reqwest::blocking::Client {
        &self.client
    }
}

/// What this store knows the target holds.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Record {
    /// Graphs sent there: the triples counted there after the send, or `None` while a send is
    /// under way (or failed).
    graphs: BTreeMap<String, Option<u64>>,
    /// The vocabulary version last sent (its graph changes under one name).
    vocab_version: Option<String>,
}

impl Record {
    /// The record in `path`; none yet is an empty one. A damaged one is set aside (kept,
    /// renamed `….damaged-{ms}`) with a warning, and the sync starts from an empty record:
    /// each graph is counted on the target and recorded again if it is there, but graphs the
    /// damaged record alone knew are not dropped there any more.
    fn load(path: &Path) -> Record {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Record::default(),
            Err(e) => {
                tracing::warn!("{}: {e}; starting from an empty record", path.display());
                return Record::default();
            }
        };
        match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => {
                let ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or(0);
                let aside = path.with_extension(format!("json.damaged-{ms}"));
                let kept = std::fs::rename(path, &aside).is_ok();
                tracing::warn!(
                    "{} is damaged ({e}){}; starting from an empty record: graphs it alone knew of are left on the target",
                    path.display(),
                    if kept {
                        format!(", kept as {}", aside.display())
                    } else {
                        String::new()
                    }
                );
                Record::default()
            }
        }
    }

    fn save(&self, path: &Path) -> Result<(), Failed> {
        let io = |e: std::io::Error| format!("{}: {e}", path.display());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("json.tmp");
        let body = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, body).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

/// How many bytes of N-Triples go in one request: the first block by `PUT`, the next ones
/// by `POST`. Each is held in memory while it is sent (and again if it is retried).
const BLOCK_BYTES: usize = 8 << 20;

/// The next block of N-Triples from `triples`: up to about [`BLOCK_BYTES`], whole lines;
/// `true` if the triples ran out.
fn next_block<I: Iterator<Item = fivestar_store::Result<Triple>>>(
    triples: &mut I,
    limit: usize,
) -> Result<(Vec<u8>, bool), Failed> {
    use std::io::Write;
    let mut block = Vec::with_capacity(limit.min(BLOCK_BYTES) + 4096);
    while block.len() < limit {
        match triples.next() {
            None => return Ok((block, true)),
            Some(Ok(t)) => writeln!(block, "{t} .").map_err(|e| e.to_string())?,
            Some(Err(e)) => return Err(e.to_string()),
        }
    }
    Ok((block, false))
}

impl Remote {
    pub fn new(target: PublishTo) -> Remote {
        let names = auth::Names {
            token: target.token_env.clone(),
            username: target.username_env.clone(),
            password: target.password_env.clone(),
        };
        Remote {
            target,
            auth: auth::Auth::new(names),
            syncing: Mutex::new(()),
            switching: Mutex::new(()),
        }
    }

    fn client(&self) -> Result<Http, Failed> {
        self.client_within(self.target.timeout_secs, self.target.retries)
    }

    /// The client of a withdraw's emergency requests: its own time limit (within the
    /// target's), tried at most twice.
    fn emergency_client(&self) -> Result<Http, Failed> {
        self.client_within(
            self.target
                .withdraw_timeout_secs
                .min(self.target.timeout_secs),
            self.target.retries.min(1),
        )
    }

    fn client_within(&self, secs: f64, retries: u32) -> Result<Http, Failed> {
        let limit = Duration::from_secs_f64(secs);
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(limit.min(Duration::from_secs(15)))
            .timeout(limit)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Http { client, retries })
    }

    /// Sends a request built by `build`, again after a failure to connect or a 5xx answer
    /// (up to `retries` more times, waiting 1, 2, 4… seconds); the answer's body if it
    /// succeeded.
    fn send(
        &self,
        client: &Http,
        what: &str,
        build: &mut dyn FnMut() -> reqwest::blocking::RequestBuilder,
    ) -> Result<String, Failed> {
        let mut wait = Duration::from_secs(1);
        let mut attempt = 0;
        loop {
            let request = build().build().map_err(|e| format!("{what}: {e}"))?;
            let answer = self.auth.execute(client, request);
            let retry = match answer {
                Ok(a) if a.status().is_success() => {
                    return a.text().map_err(|e| format!("{what}: {e}"));
                }
                Ok(a) => {
                    let status = a.status();
                    let body: String = a.text().unwrap_or_default().chars().take(300).collect();
                    let message = format!("{what}: HTTP {status}: {}", body.trim());
                    if !status.is_server_error() {
                        return Err(message);
                    }
                    message
                }
                Err(e) => format!("{what}: {e}"),
            };
            if attempt >= client.retries {
                return Err(retry);
            }
            attempt += 1;
            tracing::warn!("publish_to {}: {retry}; trying again", self.target.name);
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_secs(60));
        }
    }

    /// A SPARQL 1.1 Query whose one answer is `?n`, a count.
    fn count_query(&self, client: &Http, query: &str) -> Result<u64, Failed> {
        let body = self.send(client, "counting", &mut || {
            client
                .post(&self.target.query)
                .header(reqwest::header::ACCEPT, "application/sparql-results+json")
                .form(&[("query", query)])
        })?;
        let json: serde_json::Value = serde_json::from_str(&body)
            .map_err(|e| format!("counting: the answer is not SPARQL JSON results: {e}"))?;
        json["results"]["bindings"][0]["n"]["value"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("counting: no count in the answer {body:.200}"))
    }

    /// Whether the target holds any triple in `graph`: a one-row SELECT rather than an ASK,
    /// which some engines do not answer as the standard says (Virtuoso 7.2 answers an ASK as a
    /// one-row SELECT of `__ASK_RETVAL`).
    fn holds(&self, client: &Http, graph: &str) -> Result<bool, Failed> {
        let query = format!("SELECT ?s WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }} LIMIT 1");
        let body = self.send(client, "checking a graph", &mut || {
            client
                .post(&self.target.query)
                .header(reqwest::header::ACCEPT, "application/sparql-results+json")
                .form(&[("query", query.as_str())])
        })?;
        let json: serde_json::Value = serde_json::from_str(&body)
            .map_err(|e| format!("checking a graph: the answer is not SPARQL JSON results: {e}"))?;
        json["results"]["bindings"]
            .as_array()
            .map(|rows| !rows.is_empty())
            .ok_or_else(|| format!("checking a graph: no rows in the answer {body:.200}"))
    }

    fn count(&self, client: &Http, graph: &str) -> Result<u64, Failed> {
        self.count_query(
            client,
            &format!("SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"),
        )
    }

    /// A SPARQL 1.1 Update request.
    fn update(&self, client: &Http, what: &str, update: &str) -> Result<(), Failed> {
        self.send(client, what, &mut || {
            client
                .post(&self.target.update)
                .header(reqwest::header::CONTENT_TYPE, "application/sparql-update")
                .body(update.to_string())
        })
        .map(|_| ())
    }

    /// Sends `triples` as graph `graph` (Graph Store Protocol, indirect identification): the
    /// first block by `PUT` (replacing whatever the graph held), the next ones by `POST`.
    fn put(
        &self,
        client: &Http,
        graph: &str,
        mut triples: impl Iterator<Item = fivestar_store::Result<Triple>>,
    ) -> Result<(), Failed> {
        let mut url = url::Url::parse(&self.target.graph_store).map_err(|e| e.to_string())?;
        url.query_pairs_mut().append_pair("graph", graph);
        let mut method = reqwest::Method::PUT;
        let mut blocks = 0;
        loop {
            let (block, last) = next_block(&mut triples, BLOCK_BYTES)
                .map_err(|e| format!("reading <{graph}> from the store: {e}"))?;
            if block.is_empty() && blocks > 0 {
                return Ok(());
            }
            blocks += 1;
            self.send(client, &format!("sending <{graph}>"), &mut || {
                client
                    .request(method.clone(), url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/n-triples")
                    .body(block.clone())
            })?;
            if last {
                return Ok(());
            }
            method = reqwest::Method::POST;
        }
    }

    /// Where a graph that changes under one name is sent before it is moved over it.
    fn staging(graph: &str) -> String {
        format!("{graph}-next")
    }

    /// One round of a sync: send what the plan lacks, then (if the catalogue read under the
    /// switch lock needs nothing more) switch. `Ok(None)`: the catalogue moved on meanwhile.
    fn round(
        &self,
        store: &Store,
        client: &Http,
        record: &mut Record,
        path: &Path,
        done: &mut Done,
    ) -> Result<Option<()>, Failed> {
        let plan = store
            .mirror_plan(self.target.keep)
            .map_err(|e| e.to_string())?;
        for g in &plan.graphs {
            let checked = record.graphs.get(&g.iri) == Some(&Some(g.triples));
            let current = g.version.is_none() || record.vocab_version == g.version;
            // The record is this store's memory, not the target's state: a target emptied or
            // replaced under the same name must get the graph again (an ASK each: cheap).
            if checked && current {
                if self.holds(client, &g.iri)? {
                    continue;
                }
                tracing::warn!(
                    "publish_to {}: <{}> is recorded as sent but the target does not hold it (emptied or replaced?): sending it again",
                    self.target.name,
                    g.iri
                );
            }
            // A graph this store never recorded may be there already (a lost record).
            if current && self.count(client, &g.iri)? == g.triples {
                record.graphs.insert(g.iri.clone(), Some(g.triples));
                record.save(path)?;
                continue;
            }
            record.graphs.insert(g.iri.clone(), None);
            record.save(path)?;
            let iri = NamedNode::new(g.iri.as_str()).map_err(|e| e.to_string())?;
            // A graph that changes under one name (the vocabulary, which every query's default
            // graph holds) is sent beside it and moved over it by one update, as the catalogue
            // is: a reader never sees it half sent.
            let under_one_name = g.version.is_some();
            let sent_as = if under_one_name {
                Self::staging(&g.iri)
            } else {
                g.iri.clone()
            };
            self.put(client, &sent_as, store.graph_triples(&iri))?;
            let mut there = self.count(client, &sent_as)?;
            if under_one_name && there == g.triples {
                self.update(
                    client,
                    "replacing the vocabulary",
                    &format!("MOVE SILENT GRAPH <{sent_as}> TO GRAPH <{}>", g.iri),
                )?;
                there = self.count(client, &g.iri)?;
            }
            if there != g.triples {
                return Err(format!(
                    "<{}> holds {there} triples there after sending {}",
                    g.iri, g.triples
                ));
            }
            record.graphs.insert(g.iri.clone(), Some(there));
            if g.version.is_some() {
                record.vocab_version = g.version.clone();
            }
            record.save(path)?;
            done.sent += 1;
            done.triples += there;
        }
        // The switch: the catalogue read now, under the lock a withdraw takes.
        let _switch = self.switching.lock().unwrap_or_else(|e| e.into_inner());
        let plan = store
            .mirror_plan(self.target.keep)
            .map_err(|e| e.to_string())?;
        let lacking = plan
            .catalog_needs
            .iter()
            .any(|g| !matches!(record.graphs.get(g), Some(Some(_))));
        if lacking {
            return Ok(None);
        }
        let staging = Self::staging(&plan.catalog);
        let triples = plan.catalog_triples;
        let expected = triples.len() as u64;
        self.put(client, &staging, triples.into_iter().map(Ok))?;
        let there = self.count(client, &staging)?;
        if there != expected {
            return Err(format!(
                "the catalogue holds {there} triples in <{staging}> after sending {expected}; not switched"
            ));
        }
        self.update(
            client,
            "switching the catalogue",
            &format!("MOVE SILENT GRAPH <{staging}> TO GRAPH <{}>", plan.catalog),
        )?;
        let there = self.count(client, &plan.catalog)?;
        if there != expected {
            return Err(format!(
                "the catalogue holds {there} triples after the switch, not {expected}"
            ));
        }
        done.catalog = expected;
        // Graphs no longer kept, among those this store sent.
        let wanted: std::collections::BTreeSet<&str> =
            plan.graphs.iter().map(|g| g.iri.as_str()).collect();
        let doomed: Vec<String> = record
            .graphs
            .keys()
            .filter(|g| {
                !wanted.contains(g.as_str())
                    && **g != plan.catalog
                    && g.starts_with(&plan.release_graph_prefix)
            })
            .cloned()
            .collect();
        if !doomed.is_empty() {
            let update = doomed
                .iter()
                .map(|g| format!("DROP SILENT GRAPH <{g}>"))
                .collect::<Vec<_>>()
                .join(" ;\n");
            self.update(client, "dropping graphs no longer kept", &update)?;
            for g in &doomed {
                record.graphs.remove(g);
            }
            record.save(path)?;
            done.dropped += doomed.len();
        }
        Ok(Some(()))
    }
}

#[derive(Default)]
struct Done {
    sent: usize,
    triples: u64,
    catalog: u64,
    dropped: usize,
}

impl Mirror for Remote {
    fn name(&self) -> &str {
        &self.target.name
    }

    fn sync(&self, store: &Store) -> Result<String, Failed> {
        let _one = self.syncing.lock().unwrap_or_else(|e| e.into_inner());
        let client = self.client()?;
        let path = store.layout().remote_record(&self.target.name);
        let mut record = Record::load(&path);
        let mut done = Done::default();
        // A release made live here while graphs were being sent needs another round.
        for _ in 0..3 {
            if self
                .round(store, &client, &mut record, &path, &mut done)?
                .is_some()
            {
                return Ok(format!(
                    "{} graph(s) sent ({} triples), catalogue switched ({} triples), {} graph(s) dropped",
                    done.sent, done.triples, done.catalog, done.dropped
                ));
            }
        }
        Err(
            "the live state kept changing while graphs were sent: not switched; the next sync will"
                .into(),
        )
    }

    fn withdraw(&self, store: &Store, dataset: &str) -> Result<String, Failed> {
        // Its errors say "withdrawing: …" already.
        self.withdraw_at_once(store, dataset)?;
        Ok("withdrawn at once (the rest of its catalogue follows with the next sync)".into())
    }
}

impl Remote {
    /// One update taking `dataset` off the target's live view, checked.
    fn withdraw_at_once(&self, store: &Store, dataset: &str) -> Result<(), Failed> {
        let _switch = self.switching.lock().unwrap_or_else(|e| e.into_inner());
        let client = self.emergency_client()?;
        let layout = store.layout();
        let (cat, ds, service) = (
            layout.catalog_graph(),
            layout.dataset(dataset),
            layout.service(),
        );
        self.update(
            &client,
            "withdrawing",
            &format!(
                "DELETE WHERE {{ GRAPH <{cat}> {{ <{ds}> <{DCAT_HAS_CURRENT_VERSION}> ?r }} }} ;\n\
                 DELETE WHERE {{ GRAPH <{cat}> {{ <{service}> <{DCAT_SERVES_DATASET}> <{ds}> }} }}"
            ),
        )?;
        let left = self.count_query(
            &client,
            &format!(
                "SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{cat}> {{ <{ds}> <{DCAT_HAS_CURRENT_VERSION}> ?r }} }}"
            ),
        )?;
        if left != 0 {
            return Err(format!("{dataset} is still live there after the update"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_graph_goes_as_blocks_of_whole_ntriples_lines() {
        let t = |i: usize| {
            Triple::new(
                NamedNode::new_unchecked(format!("http://example.org/s{i}")),
                NamedNode::new_unchecked("http://example.org/p"),
                fivestar_store::rdf::Literal::new_simple_literal(format!("line\n{i} \"q\"")),
            )
        };
        let triples: Vec<Triple> = (0..5000).map(t).collect();
        let mut source = triples.clone().into_iter().map(Ok);
        let mut blocks = Vec::new();
        loop {
            let (block, last) = next_block(&mut source, 10_000).unwrap();
            blocks.push(block);
            if last {
                break;
            }
        }
        assert!(blocks.len() > 10, "{}", blocks.len());
        let mut parsed: Vec<Triple> = Vec::new();
        for block in &blocks {
            assert!(block.len() < 10_000 + 200, "{}", block.len());
            // Each block is N-Triples on its own: whole lines.
            parsed.extend(
                fivestar_store::rdf::RdfParser::from_format(
                    fivestar_store::rdf::RdfFormat::NTriples,
                )
                .for_reader(block.as_slice())
                .map(|q| q.unwrap().into()),
            );
        }
        assert_eq!(parsed, triples);
        // No triples: one empty block, the last.
        let (block, last) = next_block(&mut std::iter::empty(), 10_000).unwrap();
        assert!(block.is_empty() && last);
        // A store error stops the graph, and says why.
        let mut failing = vec![
            Ok(triples[0].clone()),
            Err(fivestar_store::Error::Invalid("disk gone".into())),
        ]
        .into_iter();
        assert!(next_block(&mut failing, 10_000)
            .unwrap_err()
            .contains("disk gone"));
    }

    #[test]
    fn a_record_survives_a_reload_and_a_damaged_one_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("remotes/t.json");
        let mut r = Record::default();
        r.graphs.insert("http://x/graph/a/r1".into(), Some(12));
        r.graphs.insert("http://x/graph/a/r2".into(), None);
        r.save(&path).unwrap();
        let back = Record::load(&path);
        assert_eq!(back.graphs, r.graphs);
        std::fs::write(&path, b"{ not json").unwrap();
        assert!(Record::load(&path).graphs.is_empty());
        // Nothing lost: the damaged file is kept beside, under another name.
        assert!(!path.exists());
        let kept: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("t.json.damaged-")
            })
            .collect();
        assert_eq!(kept.len(), 1);
        assert_eq!(std::fs::read(kept[0].path()).unwrap(), b"{ not json");
        assert!(Record::load(&path).graphs.is_empty());
    }
}
