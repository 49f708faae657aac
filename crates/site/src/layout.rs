//! The one map of a site: its base IRI, normalised once, with every IRI pattern fivestar
//! mints, and every folder of the store. The store, the pipeline, the server and the CLI ask
//! it; none formats an IRI pattern or a store path of its own.

use crate::OWN_TERMS_PATH;

use std::path::{Path, PathBuf};

/// A site's IRIs and its store's folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The base IRI without a trailing `/`.
    base: String,
    /// The store's folder.
    dir: PathBuf,
}

/// The base IRI as every IRI pattern expects it: without a trailing `/`.
pub fn normalise_base(base: &str) -> String {
    base.trim_end_matches('/').to_string()
}

impl Layout {
    pub fn new(base: &str, dir: impl Into<PathBuf>) -> Layout {
        Layout {
            base: normalise_base(base),
            dir: dir.into(),
        }
    }

    /// The base IRI, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    // IRIs. Published data lives under `{base}/id/…` so that it resolves through `/id`.

    /// `{base}/id/{path}`: anything published.
    pub fn id(&self, path: &str) -> String {
        format!("{}/id/{path}", self.base)
    }

    /// `{base}/id/{dataset}/`: the folder a dataset's rows are minted under (and the folder its
    /// clean CSV stands in while it is checked and converted).
    pub fn data_folder(&self, dataset: &str) -> String {
        format!("{}/id/{dataset}/", self.base)
    }

    /// Where supplier keys go: `{base}/id/council/{GSS}/supplier/` (one URI per supplier across
    /// a council's datasets) or, for a publisher without a GSS code, the dataset's own
    /// `{base}/id/{dataset}/supplier/`.
    pub fn suppliers(&self, council_gss: Option<&str>, dataset: &str) -> String {
        match council_gss {
            Some(gss) => format!("{}/id/council/{gss}/supplier/", self.base),
            None => format!("{}supplier/", self.data_folder(dataset)),
        }
    }

    /// The DCAT catalogue.
    pub fn catalog(&self) -> String {
        self.id("catalog")
    }

    pub fn dataset(&self, dataset: &str) -> String {
        self.id(&format!("dataset/{dataset}"))
    }

    pub fn release(&self, dataset: &str, release: &str) -> String {
        self.id(&format!("dataset/{dataset}/release/{release}"))
    }

    /// `{base}/graph/{path}`: a named graph (they resolve through `/graph`).
    pub fn graph(&self, path: &str) -> String {
        format!("{}/graph/{path}", self.base)
    }

    /// The named graph of one release.
    pub fn release_graph(&self, dataset: &str, release: &str) -> String {
        self.graph(&format!("{dataset}/{release}"))
    }

    /// The graph of a release's summaries (RDF Data Cube observations), beside its own.
    pub fn summary_graph(&self, dataset: &str, release: &str) -> String {
        format!("{}/summary", self.release_graph(dataset, release))
    }

    pub fn catalog_graph(&self) -> String {
        self.graph("catalog")
    }

    pub fn vocab_graph(&self) -> String {
        self.graph("vocab")
    }

    /// fivestar's own vocabulary document; its terms are `{this}#{term}`.
    pub fn own_terms(&self) -> String {
        format!("{}{OWN_TERMS_PATH}", self.base)
    }

    /// The SPARQL endpoint.
    pub fn sparql(&self) -> String {
        format!("{}/sparql", self.base)
    }

    /// A dataset's page (its DCAT landing page).
    pub fn landing_page(&self, dataset: &str) -> String {
        format!("{}/dataset/{dataset}", self.base)
    }

    /// The page of what a release changed since the release it replaced.
    pub fn changes_page(&self, dataset: &str, release: &str) -> String {
        format!("{}/release/{release}/changes", self.landing_page(dataset))
    }

    /// The Atom feed of a dataset's releases, or of the whole site's (`None`).
    pub fn feed(&self, dataset: Option<&str>) -> String {
        match dataset {
            Some(d) => format!("{}/feed.atom", self.landing_page(d)),
            None => format!("{}/feed.atom", self.base),
        }
    }

    /// A public file under `dumps/`, by its path there.
    pub fn dump(&self, path: &str) -> String {
        format!("{}/dumps/{path}", self.base)
    }

    /// The metric of the five-star rating, in fivestar's own vocabulary.
    pub fn stars_metric(&self) -> String {
        format!("{}#fiveStarRating", self.own_terms())
    }

    /// The SPARQL endpoint as a service (the Service Description's IRI for it).
    pub fn service(&self) -> String {
        format!("{}/sparql#service", self.base)
    }

    // Folders and files of the store.

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the store was made with (its base IRI).
    pub fn marker(&self) -> PathBuf {
        self.dir.join("store.json")
    }

    /// The RocksDB database.
    pub fn database(&self) -> PathBuf {
        self.dir.join("oxigraph")
    }

    /// `dumps/`: every public file.
    pub fn dumps(&self) -> PathBuf {
        self.dir.join("dumps")
    }

    /// `dumps/{dataset}/`.
    pub fn dataset_dumps(&self, dataset: &str) -> PathBuf {
        self.dumps().join(dataset)
    }

    /// `search/{dataset}/{release}/`: the full-text index of a release's names (suppliers,
    /// councils, services, places, the dataset), built when it is published.
    pub fn search(&self, dataset: &str, release: &str) -> PathBuf {
        self.dir.join("search").join(dataset).join(release)
    }

    /// `tmp/`: files being written before they are renamed into `dumps/` (emptied on open).
    pub fn tmp(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    /// The dataset whose live release is switching.
    pub fn journal(&self) -> PathBuf {
        self.dir.join("switch.journal")
    }

    /// `sources/{sha256}`: every fetched source body, content-addressed.
    pub fn source(&self, sha256: &str) -> PathBuf {
        self.dir.join("sources").join(sha256)
    }

    /// `runs/{dataset}/`: the dataset's state and its runs' reports.
    pub fn runs(&self, dataset: &str) -> PathBuf {
        self.dir.join("runs").join(dataset)
    }

    /// `runs/{dataset}/{run}/`.
    pub fn run(&self, dataset: &str, run: &str) -> PathBuf {
        self.runs(dataset).join(run)
    }

    /// `uploads/`: admin uploads waiting for their job (emptied at start).
    pub fn uploads(&self) -> PathBuf {
        self.dir.join("uploads")
    }

    /// `users.json`: the workspace's accounts (names and argon2 hashes).
    pub fn users(&self) -> PathBuf {
        self.dir.join("users.json")
    }

    /// `audit.jsonl`: every admin action, one JSON object a line, appended to only.
    pub fn audit(&self) -> PathBuf {
        self.dir.join("audit.jsonl")
    }

    /// `remotes/{target}.json`: what a `[[publish_to]]` target holds, as far as this store
    /// knows (the graphs sent to it and whether they were checked there).
    pub fn remote_record(&self, target: &str) -> PathBuf {
        self.dir.join("remotes").join(format!("{target}.json"))
    }

    /// `workspace/{dataset}/`: the copy of a URL source the workspace previews.
    pub fn workspace(&self, dataset: &str) -> PathBuf {
        self.dir.join("workspace").join(dataset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_is_normalised_once() {
        for base in ["http://x.org", "http://x.org/", "http://x.org//"] {
            let l = Layout::new(base, "/s");
            assert_eq!(l.base(), "http://x.org");
            assert_eq!(l.data_folder("d"), "http://x.org/id/d/");
            assert_eq!(l.release_graph("d", "r"), "http://x.org/graph/d/r");
            assert_eq!(l.release("d", "r"), "http://x.org/id/dataset/d/release/r");
            assert_eq!(
                l.suppliers(Some("E08000009"), "d"),
                "http://x.org/id/council/E08000009/supplier/"
            );
            assert_eq!(l.suppliers(None, "d"), "http://x.org/id/d/supplier/");
        }
        assert_eq!(
            Layout::new("http://x.org", "/s").run("d", "r"),
            PathBuf::from("/s/runs/d/r")
        );
    }
}
