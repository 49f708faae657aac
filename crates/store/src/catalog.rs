//! The catalogue graph: every dataset and release in DCAT 3, with VoID statistics and PROV-O.
//!
//! - The catalogue `<base>/id/catalog` is a `dcat:Catalog`.
//! - A dataset `<base>/id/dataset/{id}` is a `dcat:Dataset`; its releases are versions of it
//!   (`dcat:hasVersion`), and the live one is its `dcat:hasCurrentVersion`.
//! - A release `<base>/id/dataset/{id}/release/{release}` is a `dcat:Dataset` and a
//!   `void:Dataset` with its distributions (dumps with `dcat:downloadURL`, `dcat:mediaType`,
//!   `dcat:byteSize`, `spdx:checksum`), VoID counts, and where it came from (PROV-O).
//! - The dataset itself carries its live state: distributions under `latest` names, its
//!   `dcat:landingPage`, its star rating; the SPARQL endpoint `<base>/sparql#service` is a
//!   `dcat:DataService` that `dcat:servesDataset` each dataset with a live release.

use crate::dumps::DumpFile;
use crate::{Layout, PublishRequest, Result, Store};
use oxigraph::model::{
    GraphNameRef, Literal, LiteralRef, NamedNode, NamedNodeRef, NamedOrBlankNodeRef, Quad, Term,
    TermRef,
};
use oxigraph::sparql::{QueryResults, SparqlEvaluator};

const fn iri(s: &'static str) -> NamedNodeRef<'static> {
    NamedNodeRef::new_unchecked(s)
}

pub const RDF_TYPE: NamedNodeRef<'static> = iri("http://www.w3.org/1999/02/22-rdf-syntax-ns#type");
const DCAT_CATALOG: NamedNodeRef<'static> = iri("http://www.w3.org/ns/dcat#Catalog");
const DCAT_DATASET_CLASS: NamedNodeRef<'static> = iri("http://www.w3.org/ns/dcat#Dataset");
const DCAT_DISTRIBUTION_CLASS: NamedNodeRef<'static> =
    iri("http://www.w3.org/ns/dcat#Distribution");
const DCAT_DATASET: NamedNodeRef<'static> = iri("http://www.w3.org/ns/dcat#dataset");
const DCAT_DISTRIBUTION: NamedNodeRef<'static> = iri("http://www.w3.org/ns/dcat#distribution");
const DCAT_DOWNLOAD_URL: NamedNodeRef<'static> = iri("http://www.w3.org/ns/dcat#downloadURL");
const DCAT_MEDIA_TYPE: NamedNodeRef<'static> = iri("http://www.w3.org/ns/dcat#mediaType");
const DCAT_BYTE_SIZE: NamedNodeRef<'static> = iri("http://www.w3.org/ns/dcat#byteSize");
const DCAT_HAS_VERSION: NamedNodeRef<'static> = iri("http://www.w3.org/ns/dcat#hasVersion");
pub const DCAT_HAS_CURRENT_VERSION: NamedNodeRef<'static> =
    iri("http://www.w3.org/ns/dcat#hasCurrentVersion");
const DCAT_IS_VERSION_OF: NamedNodeRef<'static> = iri("http://www.w3.org/ns/dcat#isVersionOf");
const DCAT_VERSION: NamedNodeRef<'static> = iri("http://www.w3.org/ns/dcat#version");
const DCAT_LANDING_PAGE: NamedNodeRef<'static> = iri("http://www.w3.org/ns/dcat#landingPage");
const DCAT_SERVICE: NamedNodeRef<'static> = iri("http://www.w3.org/ns/dcat#service");
const DCAT_DATA_SERVICE: NamedNodeRef<'static> = iri("http://www.w3.org/ns/dcat#DataService");
const DCAT_ENDPOINT_URL: NamedNodeRef<'static> = iri("http://www.w3.org/ns/dcat#endpointURL");
const DCAT_ENDPOINT_DESCRIPTION: NamedNodeRef<'static> =
    iri("http://www.w3.org/ns/dcat#endpointDescription");
const DCAT_SERVES_DATASET: NamedNodeRef<'static> = iri("http://www.w3.org/ns/dcat#servesDataset");
const DCT_CONFORMS_TO: NamedNodeRef<'static> = iri("http://purl.org/dc/terms/conformsTo");
const SPARQL_PROTOCOL: NamedNodeRef<'static> = iri("https://www.w3.org/TR/sparql11-protocol/");
const DCT_TITLE: NamedNodeRef<'static> = iri("http://purl.org/dc/terms/title");
const DCT_DESCRIPTION: NamedNodeRef<'static> = iri("http://purl.org/dc/terms/description");
const DCT_IDENTIFIER: NamedNodeRef<'static> = iri("http://purl.org/dc/terms/identifier");
const DCT_PUBLISHER: NamedNodeRef<'static> = iri("http://purl.org/dc/terms/publisher");
const DCT_LICENSE: NamedNodeRef<'static> = iri("http://purl.org/dc/terms/license");
const DCT_ISSUED: NamedNodeRef<'static> = iri("http://purl.org/dc/terms/issued");
const DCT_MODIFIED: NamedNodeRef<'static> = iri("http://purl.org/dc/terms/modified");
const VOID_DATASET: NamedNodeRef<'static> = iri("http://rdfs.org/ns/void#Dataset");
const VOID_TRIPLES: NamedNodeRef<'static> = iri("http://rdfs.org/ns/void#triples");
const VOID_ENTITIES: NamedNodeRef<'static> = iri("http://rdfs.org/ns/void#entities");
const VOID_CLASSES: NamedNodeRef<'static> = iri("http://rdfs.org/ns/void#classes");
const VOID_PROPERTIES: NamedNodeRef<'static> = iri("http://rdfs.org/ns/void#properties");
const VOID_SPARQL_ENDPOINT: NamedNodeRef<'static> = iri("http://rdfs.org/ns/void#sparqlEndpoint");
const VOID_DATA_DUMP: NamedNodeRef<'static> = iri("http://rdfs.org/ns/void#dataDump");
const SPDX_CHECKSUM: NamedNodeRef<'static> = iri("http://spdx.org/rdf/terms#checksum");
const SPDX_CHECKSUM_CLASS: NamedNodeRef<'static> = iri("http://spdx.org/rdf/terms#Checksum");
const SPDX_ALGORITHM: NamedNodeRef<'static> = iri("http://spdx.org/rdf/terms#algorithm");
const SPDX_SHA256: NamedNodeRef<'static> =
    iri("http://spdx.org/rdf/terms#checksumAlgorithm_sha256");
const SPDX_CHECKSUM_VALUE: NamedNodeRef<'static> = iri("http://spdx.org/rdf/terms#checksumValue");
const PROV_WAS_DERIVED_FROM: NamedNodeRef<'static> =
    iri("http://www.w3.org/ns/prov#wasDerivedFrom");
const PROV_GENERATED_AT_TIME: NamedNodeRef<'static> =
    iri("http://www.w3.org/ns/prov#generatedAtTime");
const PROV_WAS_GENERATED_BY: NamedNodeRef<'static> =
    iri("http://www.w3.org/ns/prov#wasGeneratedBy");
const PROV_ACTIVITY: NamedNodeRef<'static> = iri("http://www.w3.org/ns/prov#Activity");
const PROV_USED: NamedNodeRef<'static> = iri("http://www.w3.org/ns/prov#used");
const PROV_AT_TIME: NamedNodeRef<'static> = iri("http://www.w3.org/ns/prov#atTime");
const PROV_ENDED_AT_TIME: NamedNodeRef<'static> = iri("http://www.w3.org/ns/prov#endedAtTime");
const DCAT_PREVIOUS_VERSION: NamedNodeRef<'static> =
    iri("http://www.w3.org/ns/dcat#previousVersion");
const PROV_WAS_REVISION_OF: NamedNodeRef<'static> = iri("http://www.w3.org/ns/prov#wasRevisionOf");
const PROV_ENTITY: NamedNodeRef<'static> = iri("http://www.w3.org/ns/prov#Entity");
const RDFS_COMMENT: NamedNodeRef<'static> = iri("http://www.w3.org/2000/01/rdf-schema#comment");
const XSD_INTEGER: NamedNodeRef<'static> = iri("http://www.w3.org/2001/XMLSchema#integer");
const XSD_NON_NEGATIVE_INTEGER: NamedNodeRef<'static> =
    iri("http://www.w3.org/2001/XMLSchema#nonNegativeInteger");
const XSD_DATE_TIME: NamedNodeRef<'static> = iri("http://www.w3.org/2001/XMLSchema#dateTime");
const XSD_HEX_BINARY: NamedNodeRef<'static> = iri("http://www.w3.org/2001/XMLSchema#hexBinary");

const DQV_HAS_QUALITY_MEASUREMENT: NamedNodeRef<'static> =
    iri("http://www.w3.org/ns/dqv#hasQualityMeasurement");
const DQV_QUALITY_MEASUREMENT: NamedNodeRef<'static> =
    iri("http://www.w3.org/ns/dqv#QualityMeasurement");
const DQV_IS_MEASUREMENT_OF: NamedNodeRef<'static> =
    iri("http://www.w3.org/ns/dqv#isMeasurementOf");
const DQV_VALUE: NamedNodeRef<'static> = iri("http://www.w3.org/ns/dqv#value");

/// Licences that are open (the first star): the Open Government Licence, Creative Commons
/// attribution and public-domain tools, Open Data Commons.
const OPEN_LICENCES: &[&str] = &[
    "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/",
    "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/",
    "http://creativecommons.org/licenses/by/",
    "https://creativecommons.org/licenses/by/",
    "http://creativecommons.org/licenses/by-sa/",
    "https://creativecommons.org/licenses/by-sa/",
    "http://creativecommons.org/publicdomain/zero/",
    "https://creativecommons.org/publicdomain/zero/",
    "http://opendatacommons.org/licenses/",
    "https://opendatacommons.org/licenses/",
];

/// A dataset's stars (Tim Berners-Lee's five-star scheme), computed from what was published,
/// with the reason for each star it lacks.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Stars {
    pub stars: u8,
    pub missing: Vec<String>,
    /// How many of the rows' identifying values linked to national identifiers, when the
    /// publisher measured it: "98% of values linked (council 100%, supplier 97%)".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked: Option<String>,
}

/// The share of identifying values a release's links resolved (the fifth star needs
/// [`LINKED_FOR_FIFTH_STAR`]), and the share of each link rule.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Linked {
    /// The lowest share of any rule, 0 to 1.
    pub share: f64,
    /// Each rule: (its name, e.g. "council (Organisation URI)", its share).
    pub rules: Vec<(String, f64)>,
}

impl Linked {
    pub fn describe(&self) -> String {
        format!(
            "{:.0}% of identifying values linked ({})",
            (self.share * 100.0).floor(),
            self.rules
                .iter()
                .map(|(r, s)| format!("{r} {:.0}%", (s * 100.0).floor()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// The share of identifying values that must link for the fifth star.
pub const LINKED_FOR_FIFTH_STAR: f64 = 0.95;

/// What the rating is computed from.
pub struct StarFacts<'a> {
    pub licence: &'a str,
    /// Machine-readable tables or RDF were published.
    pub structured: bool,
    /// Every download is in an open format (CSV, N-Triples, N-Quads, JSON).
    pub open_format: bool,
    /// Subjects identified by URIs.
    pub entities: u64,
    /// Statements linking to URIs outside this site (types excepted).
    pub outside_links: u64,
    /// How well the identifying values linked, when the publisher measured it.
    pub linked: Option<&'a Linked>,
}

/// Whether `licence` is one of the open licences the first star asks for.
pub fn is_open_licence(licence: &str) -> bool {
    OPEN_LICENCES.iter().any(|p| licence.starts_with(p))
}

/// Stars are cumulative: each needs the ones before it.
pub fn rate(f: &StarFacts<'_>) -> Stars {
    let checks = [
        (
            is_open_licence(f.licence),
            format!(
                "1: the licence <{}> is not a recognised open licence (the Open Government Licence, CC BY, CC0 or an Open Data Commons licence)",
                f.licence
            ),
        ),
        (f.structured, "2: nothing machine-readable was published".to_string()),
        (
            f.open_format,
            "3: a download is in a closed format".to_string(),
        ),
        (
            f.entities > 0,
            "4: nothing is identified by a URI (give rows an aboutUrl)".to_string(),
        ),
        match f.linked {
            Some(l) if f.outside_links > 0 && l.share < LINKED_FOR_FIFTH_STAR => (
                false,
                format!(
                    "5: too few values link to other people's data: {}; at least {:.0}% of each must",
                    l.describe(),
                    LINKED_FOR_FIFTH_STAR * 100.0
                ),
            ),
            _ => (
                f.outside_links > 0,
                "5: nothing links to other people's data: link councils, dates, places, companies or services to their national URIs".to_string(),
            ),
        },
    ];
    let mut out = Stars {
        linked: f.linked.map(Linked::describe),
        ..Stars::default()
    };
    let mut earning = true;
    for (ok, reason) in checks {
        if ok && earning {
            out.stars += 1;
        } else {
            earning = false;
            if !ok {
                out.missing.push(reason);
            } else {
                out.missing.push(format!(
                    "{} (met, but stars need the ones before them)",
                    reason.split(':').next().unwrap_or_default()
                ));
            }
        }
    }
    out
}

/// VoID statistics of a release.
#[derive(Debug, Clone, Copy, Default)]
pub struct VoidStats {
    pub triples: u64,
    pub entities: u64,
    pub classes: u64,
    pub properties: u64,
}

/// A release as the catalogue describes it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReleaseState {
    pub release: String,
    pub iri: String,
    pub graph: String,
    pub issued: Option<String>,
    pub triples: u64,
    pub source: Option<String>,
    pub stars: Option<Stars>,
    /// What changed since the release that was live before it (none for a first release).
    pub changes: Option<ChangeCounts>,
}

/// A release's changeset as the catalogue records it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChangeCounts {
    /// The release it was compared with.
    pub previous: String,
    pub triples_added: u64,
    pub triples_removed: u64,
    /// Rows added, removed and changed (by row key), when both releases had keys.
    pub rows: Option<(u64, u64, u64)>,
    /// In words: "3 rows added, 1 removed, 2 changed (Net Amount in 2)".
    pub summary: String,
}

/// A dataset as the catalogue describes it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DatasetState {
    pub id: String,
    pub iri: String,
    pub title: String,
    pub description: Option<String>,
    pub publisher: Option<String>,
    pub licence: Option<String>,
    pub modified: Option<String>,
    /// The live release, if the dataset is not withdrawn.
    pub live: Option<String>,
    /// Sorted by release id.
    pub releases: Vec<ReleaseState>,
}

fn text(t: Option<&Term>) -> Option<String> {
    match t? {
        Term::Literal(l) => Some(l.value().to_string()),
        Term::NamedNode(n) => Some(n.as_str().to_string()),
        _ => None,
    }
}

pub fn datasets(store: &Store) -> Result<Vec<DatasetState>> {
    let cat = store.catalog_graph();
    let layout = &store.layout;
    let query = format!(
        "PREFIX dcat: <http://www.w3.org/ns/dcat#>
         PREFIX dct: <http://purl.org/dc/terms/>
         SELECT ?d ?id ?title ?desc ?publisher ?licence ?modified ?live WHERE {{
           GRAPH <{cat}> {{
             ?d a dcat:Dataset ; dct:identifier ?id ; dct:title ?title .
             FILTER NOT EXISTS {{ ?d dcat:isVersionOf ?any }}
             OPTIONAL {{ ?d dct:description ?desc }}
             OPTIONAL {{ ?d dct:publisher ?publisher }}
             OPTIONAL {{ ?d dct:license ?licence }}
             OPTIONAL {{ ?d dct:modified ?modified }}
             OPTIONAL {{ ?d dcat:hasCurrentVersion ?live }}
           }}
         }} ORDER BY ?id"
    );
    let mut out = Vec::new();
    if let QueryResults::Solutions(rows) = SparqlEvaluator::new()
        .parse_query(&query)?
        .on_store(store.db())
        .execute()?
    {
        for row in rows {
            let row = row?;
            let id = text(row.get("id")).unwrap_or_default();
            let live_iri = text(row.get("live"));
            out.push(DatasetState {
                iri: text(row.get("d")).unwrap_or_default(),
                title: text(row.get("title")).unwrap_or_default(),
                description: text(row.get("desc")),
                publisher: text(row.get("publisher")),
                licence: text(row.get("licence")),
                modified: text(row.get("modified")),
                live: live_iri.and_then(|l| {
                    l.strip_prefix(&format!("{}/release/", layout.dataset(&id)))
                        .map(String::from)
                }),
                releases: Vec::new(),
                id,
            });
        }
    }
    let query = format!(
        "PREFIX dcat: <http://www.w3.org/ns/dcat#>
         PREFIX dct: <http://purl.org/dc/terms/>
         PREFIX void: <http://rdfs.org/ns/void#>
         PREFIX prov: <http://www.w3.org/ns/prov#>
         PREFIX dqv: <http://www.w3.org/ns/dqv#>
         PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
         PREFIX fs: <{fs}#>
         SELECT ?d ?r ?version ?issued ?triples ?source ?stars ?prev ?ta ?tr ?ra ?rr ?rc ?summary
                (GROUP_CONCAT(?why; separator=\"\\n\") AS ?missing) WHERE {{
           GRAPH <{cat}> {{
             ?r dcat:isVersionOf ?d ; dcat:version ?version .
             OPTIONAL {{ ?r dct:issued ?issued }}
             OPTIONAL {{ ?r void:triples ?triples }}
             OPTIONAL {{ ?r prov:wasDerivedFrom ?source }}
             OPTIONAL {{ ?r dcat:previousVersion ?prevr ; fs:changes ?cs .
                        ?prevr dcat:version ?prev .
                        ?cs fs:triplesAdded ?ta ; fs:triplesRemoved ?tr ; rdfs:comment ?summary .
                        OPTIONAL {{ ?cs fs:rowsAdded ?ra ; fs:rowsRemoved ?rr ; fs:rowsChanged ?rc }} }}
             OPTIONAL {{ ?r dqv:hasQualityMeasurement ?m .
                        ?m dqv:isMeasurementOf <{metric}> ; dqv:value ?stars .
                        OPTIONAL {{ ?m rdfs:comment ?why }} }}
           }}
         }} GROUP BY ?d ?r ?version ?issued ?triples ?source ?stars ?prev ?ta ?tr ?ra ?rr ?rc ?summary
           ORDER BY ?d ?version",
        metric = layout.stars_metric(),
        fs = layout.own_terms()
    );
    if let QueryResults::Solutions(rows) = SparqlEvaluator::new()
        .parse_query(&query)?
        .on_store(store.db())
        .execute()?
    {
        for row in rows {
            let row = row?;
            let d = text(row.get("d")).unwrap_or_default();
            if let Some(ds) = out.iter_mut().find(|x| x.iri == d) {
                let release = text(row.get("version")).unwrap_or_default();
                let n = |v: &str| text(row.get(v)).and_then(|t| t.parse::<u64>().ok());
                let changes = text(row.get("prev")).map(|previous| ChangeCounts {
                    previous,
                    triples_added: n("ta").unwrap_or(0),
                    triples_removed: n("tr").unwrap_or(0),
                    rows: match (n("ra"), n("rr"), n("rc")) {
                        (Some(a), Some(r), Some(c)) => Some((a, r, c)),
                        _ => None,
                    },
                    summary: text(row.get("summary")).unwrap_or_default(),
                });
                ds.releases.push(ReleaseState {
                    changes,
                    iri: text(row.get("r")).unwrap_or_default(),
                    graph: store.graph_iri(&ds.id, &release),
                    issued: text(row.get("issued")),
                    triples: text(row.get("triples"))
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(0),
                    source: text(row.get("source")),
                    stars: text(row.get("stars"))
                        .and_then(|n| n.parse().ok())
                        .map(|stars| {
                            let comments = text(row.get("missing")).unwrap_or_default();
                            let lines = comments.lines().filter(|l| !l.is_empty());
                            Stars {
                                stars,
                                missing: lines
                                    .clone()
                                    .filter(|l| !l.starts_with("Linked: "))
                                    .map(|l| {
                                        l.strip_prefix("Missing star ").unwrap_or(l).to_string()
                                    })
                                    .collect(),
                                linked: lines
                                    .filter_map(|l| l.strip_prefix("Linked: "))
                                    .map(String::from)
                                    .next(),
                            }
                        }),
                    release,
                });
            }
        }
    }
    Ok(out)
}

struct Quads {
    graph: NamedNode,
    quads: Vec<Quad>,
}

impl Quads {
    fn add<'a>(
        &mut self,
        s: impl Into<NamedOrBlankNodeRef<'a>>,
        p: NamedNodeRef<'a>,
        o: impl Into<TermRef<'a>>,
    ) {
        let (s, o): (NamedOrBlankNodeRef<'a>, TermRef<'a>) = (s.into(), o.into());
        self.quads.push(Quad::new(
            s.into_owned(),
            p.into_owned(),
            o.into_owned(),
            self.graph.clone(),
        ));
    }
}

fn media_type(name: &str) -> NamedNode {
    NamedNode::new_unchecked(format!(
        "https://www.iana.org/assignments/media-types/{}",
        crate::dump_media_type(name)
    ))
}

/// Describes a distribution (a dump file) of `of`.
fn distribution(
    q: &mut Quads,
    layout: &Layout,
    of: NamedNodeRef<'_>,
    dist_iri: &str,
    file: &DumpFile,
) {
    let dist = NamedNode::new_unchecked(dist_iri);
    let sum = NamedNode::new_unchecked(format!("{dist_iri}#sha256"));
    let url = NamedNode::new_unchecked(layout.dump(&file.path));
    q.add(of, DCAT_DISTRIBUTION, &dist);
    q.add(&dist, RDF_TYPE, DCAT_DISTRIBUTION_CLASS);
    q.add(&dist, DCT_TITLE, LiteralRef::new_simple_literal(&file.name));
    q.add(&dist, DCAT_DOWNLOAD_URL, &url);
    q.add(&dist, DCAT_MEDIA_TYPE, &media_type(&file.name));
    q.add(
        &dist,
        DCAT_BYTE_SIZE,
        &Literal::new_typed_literal(file.bytes.to_string(), XSD_NON_NEGATIVE_INTEGER),
    );
    q.add(&dist, SPDX_CHECKSUM, &sum);
    q.add(&sum, RDF_TYPE, SPDX_CHECKSUM_CLASS);
    q.add(&sum, SPDX_ALGORITHM, SPDX_SHA256);
    q.add(
        &sum,
        SPDX_CHECKSUM_VALUE,
        &Literal::new_typed_literal(file.sha256.clone(), XSD_HEX_BINARY),
    );
    if file.name.ends_with(".nt.gz") || file.name.ends_with(".nq.gz") {
        q.add(of, VOID_DATA_DUMP, &url);
    }
}

/// Quads describing a dataset (not its releases).
fn dataset_quads(store: &Store, req: &PublishRequest, latest: &[DumpFile]) -> Quads {
    let layout = &store.layout;
    let mut q = Quads {
        graph: NamedNode::new_unchecked(store.catalog_graph()),
        quads: Vec::new(),
    };
    let cat = NamedNode::new_unchecked(layout.catalog());
    let ds = NamedNode::new_unchecked(layout.dataset(&req.dataset.id));
    q.add(&cat, RDF_TYPE, DCAT_CATALOG);
    q.add(
        &cat,
        DCT_TITLE,
        LiteralRef::new_simple_literal("fivestar catalogue"),
    );
    q.add(&cat, DCAT_DATASET, &ds);
    q.add(&ds, RDF_TYPE, DCAT_DATASET_CLASS);
    q.add(&ds, RDF_TYPE, VOID_DATASET);
    q.add(
        &ds,
        DCT_IDENTIFIER,
        LiteralRef::new_simple_literal(&req.dataset.id),
    );
    q.add(
        &ds,
        DCT_TITLE,
        LiteralRef::new_simple_literal(&req.dataset.title),
    );
    if !req.dataset.description.is_empty() {
        q.add(
            &ds,
            DCT_DESCRIPTION,
            LiteralRef::new_simple_literal(&req.dataset.description),
        );
    }
    if let Some(p) = req
        .dataset
        .publisher
        .as_deref()
        .and_then(|p| NamedNode::new(p).ok())
    {
        q.add(&ds, DCT_PUBLISHER, &p);
    }
    if let Ok(l) = NamedNode::new(&req.dataset.licence) {
        q.add(&ds, DCT_LICENSE, &l);
    }
    q.add(
        &ds,
        DCT_MODIFIED,
        &Literal::new_typed_literal(req.generated_at.clone(), XSD_DATE_TIME),
    );
    let endpoint = NamedNode::new_unchecked(layout.sparql());
    q.add(&ds, VOID_SPARQL_ENDPOINT, &endpoint);
    q.add(
        &ds,
        DCAT_LANDING_PAGE,
        &NamedNode::new_unchecked(layout.landing_page(&req.dataset.id)),
    );
    // The SPARQL endpoint as a DCAT data service (the IRI its Service Description uses).
    let service = NamedNode::new_unchecked(layout.service());
    q.add(&cat, DCAT_SERVICE, &service);
    q.add(&service, RDF_TYPE, DCAT_DATA_SERVICE);
    q.add(
        &service,
        DCT_TITLE,
        LiteralRef::new_simple_literal("SPARQL endpoint"),
    );
    q.add(&service, DCAT_ENDPOINT_URL, &endpoint);
    q.add(&service, DCAT_ENDPOINT_DESCRIPTION, &endpoint);
    q.add(&service, DCT_CONFORMS_TO, SPARQL_PROTOCOL);
    q.add(&service, DCAT_SERVES_DATASET, &ds);
    for f in latest {
        let d = format!("{}/distribution/{}", ds.as_str(), f.name.replace('.', "-"));
        distribution(&mut q, layout, ds.as_ref(), &d, f);
    }
    q
}

/// Records a release and makes it live, in one transaction.
/// `latest` describes the files the `latest` names will hold ([`crate::dumps::latest_files`]).
pub fn record_release(
    store: &Store,
    req: &PublishRequest,
    files: &[DumpFile],
    latest: &[DumpFile],
    stats: &VoidStats,
    stars: &Stars,
    changes: Option<&crate::changes::Changes>,
) -> Result<()> {
    let layout = &store.layout;
    let mut q = dataset_quads(store, req, latest);
    let ds = NamedNode::new_unchecked(layout.dataset(&req.dataset.id));
    let rel_s = layout.release(&req.dataset.id, &req.release);
    let rel = NamedNode::new_unchecked(&rel_s);
    q.add(&ds, DCAT_HAS_VERSION, &rel);
    q.add(&ds, DCAT_HAS_CURRENT_VERSION, &rel);
    q.add(&rel, RDF_TYPE, DCAT_DATASET_CLASS);
    q.add(&rel, RDF_TYPE, VOID_DATASET);
    q.add(&rel, DCAT_IS_VERSION_OF, &ds);
    q.add(
        &rel,
        DCAT_VERSION,
        LiteralRef::new_simple_literal(&req.release),
    );
    q.add(
        &rel,
        DCT_TITLE,
        &Literal::new_simple_literal(format!("{} (release {})", req.dataset.title, req.release)),
    );
    q.add(
        &rel,
        DCT_ISSUED,
        &Literal::new_typed_literal(req.generated_at.clone(), XSD_DATE_TIME),
    );
    for (p, n) in [
        (VOID_TRIPLES, stats.triples),
        (VOID_ENTITIES, stats.entities),
        (VOID_CLASSES, stats.classes),
        (VOID_PROPERTIES, stats.properties),
    ] {
        q.add(
            &rel,
            p,
            &Literal::new_typed_literal(n.to_string(), XSD_INTEGER),
        );
    }
    for f in files {
        let d = format!("{rel_s}/distribution/{}", f.name.replace('.', "-"));
        distribution(&mut q, layout, rel.as_ref(), &d, f);
    }
    // What changed since the release that was live: the previous version (DCAT 3, PROV-O)
    // and a changeset with fivestar's counts and the summary in words.
    if let Some(c) = changes {
        let prev = NamedNode::new_unchecked(layout.release(&req.dataset.id, &c.previous));
        q.add(&rel, DCAT_PREVIOUS_VERSION, &prev);
        q.add(&rel, PROV_WAS_REVISION_OF, &prev);
        let cs = NamedNode::new_unchecked(format!("{rel_s}/changes"));
        let fs = |local: &str| NamedNode::new_unchecked(format!("{}#{local}", layout.own_terms()));
        q.add(&rel, fs("changes").as_ref(), &cs);
        q.add(&cs, RDF_TYPE, PROV_ENTITY);
        q.add(&cs, RDF_TYPE, fs("Changeset").as_ref());
        q.add(&cs, PROV_WAS_DERIVED_FROM, &prev);
        q.add(&cs, PROV_WAS_DERIVED_FROM, &rel);
        let mut counts = vec![
            ("triplesAdded", c.triples_added),
            ("triplesRemoved", c.triples_removed),
        ];
        if let Some(r) = &c.rows {
            counts.extend([
                ("rowsAdded", r.added),
                ("rowsRemoved", r.removed),
                ("rowsChanged", r.changed),
            ]);
        }
        for (local, n) in counts {
            q.add(
                &cs,
                fs(local).as_ref(),
                &Literal::new_typed_literal(n.to_string(), XSD_INTEGER),
            );
        }
        q.add(&cs, RDFS_COMMENT, &Literal::new_simple_literal(c.summary()));
        q.add(
            &cs,
            NamedNodeRef::new_unchecked("http://xmlns.com/foaf/0.1/page"),
            &NamedNode::new_unchecked(layout.changes_page(&req.dataset.id, &req.release)),
        );
    }
    // The five-star rating, as a DQV quality measurement (on the release and the dataset).
    let m = NamedNode::new_unchecked(format!("{rel_s}/stars"));
    q.add(&rel, DQV_HAS_QUALITY_MEASUREMENT, &m);
    q.add(&ds, DQV_HAS_QUALITY_MEASUREMENT, &m);
    q.add(&m, RDF_TYPE, DQV_QUALITY_MEASUREMENT);
    q.add(
        &m,
        DQV_IS_MEASUREMENT_OF,
        &NamedNode::new_unchecked(layout.stars_metric()),
    );
    q.add(
        &m,
        DQV_VALUE,
        &Literal::new_typed_literal(stars.stars.to_string(), XSD_INTEGER),
    );
    for reason in &stars.missing {
        q.add(
            &m,
            RDFS_COMMENT,
            &Literal::new_simple_literal(format!("Missing star {reason}")),
        );
    }
    if let Some(l) = &stars.linked {
        q.add(
            &m,
            RDFS_COMMENT,
            &Literal::new_simple_literal(format!("Linked: {l}")),
        );
    }
    // Provenance.
    let p = &req.provenance;
    q.add(
        &rel,
        PROV_GENERATED_AT_TIME,
        &Literal::new_typed_literal(req.generated_at.clone(), XSD_DATE_TIME),
    );
    let run = NamedNode::new_unchecked(format!("{rel_s}/run"));
    q.add(&rel, PROV_WAS_GENERATED_BY, &run);
    q.add(&run, RDF_TYPE, PROV_ACTIVITY);
    q.add(
        &run,
        PROV_ENDED_AT_TIME,
        &Literal::new_typed_literal(req.generated_at.clone(), XSD_DATE_TIME),
    );
    if let Some(r) = &p.run {
        q.add(&run, RDFS_COMMENT, &Literal::new_simple_literal(r.clone()));
    }
    if let Some(src) = p.source.as_deref().and_then(|s| NamedNode::new(s).ok()) {
        q.add(&rel, PROV_WAS_DERIVED_FROM, &src);
        q.add(&run, PROV_USED, &src);
        if let Some(sha) = &p.source_sha256 {
            let sum = NamedNode::new_unchecked(format!("{rel_s}/source#sha256"));
            q.add(&src, SPDX_CHECKSUM, &sum);
            q.add(&sum, RDF_TYPE, SPDX_CHECKSUM_CLASS);
            q.add(&sum, SPDX_ALGORITHM, SPDX_SHA256);
            q.add(
                &sum,
                SPDX_CHECKSUM_VALUE,
                &Literal::new_typed_literal(sha.clone(), XSD_HEX_BINARY),
            );
        }
        if let Some(t) = &p.fetched_at {
            q.add(
                &run,
                PROV_AT_TIME,
                &Literal::new_typed_literal(t.clone(), XSD_DATE_TIME),
            );
        }
    }
    if let Some(sha) = &p.pipeline_sha256 {
        let pipe = NamedNode::new_unchecked(format!("{rel_s}/pipeline"));
        let sum = NamedNode::new_unchecked(format!("{rel_s}/pipeline#sha256"));
        q.add(&run, PROV_USED, &pipe);
        q.add(&pipe, SPDX_CHECKSUM, &sum);
        q.add(&sum, RDF_TYPE, SPDX_CHECKSUM_CLASS);
        q.add(&sum, SPDX_ALGORITHM, SPDX_SHA256);
        q.add(
            &sum,
            SPDX_CHECKSUM_VALUE,
            &Literal::new_typed_literal(sha.clone(), XSD_HEX_BINARY),
        );
    }

    // One transaction: refresh the dataset's own description, switch its live release.
    let cat = NamedNode::new_unchecked(store.catalog_graph());
    let mut tx = store.db().start_transaction()?;
    let old: Vec<Quad> = tx
        .quads_for_pattern(
            Some(ds.as_ref().into()),
            None,
            None,
            Some(GraphNameRef::NamedNode(cat.as_ref())),
        )
        .filter(|q| !matches!(q, Ok(q) if q.predicate.as_ref() == DCAT_HAS_VERSION))
        .collect::<Result<_, _>>()?;
    let prefix = format!("{}/distribution/", ds.as_str());
    let old_dists: Vec<Quad> = tx
        .quads_for_pattern(
            None,
            None,
            None,
            Some(GraphNameRef::NamedNode(cat.as_ref())),
        )
        .filter(|q| matches!(q, Ok(q) if q.subject.to_string().starts_with(&format!("<{prefix}"))))
        .collect::<Result<_, _>>()?;
    for quad in old.iter().chain(&old_dists) {
        tx.remove(quad);
    }
    for quad in &q.quads {
        tx.insert(quad);
    }
    let committed = tx.commit();
    store.catalog_changed();
    committed?;
    Ok(())
}

/// Makes `release` the live one (or none: withdrawn), in one transaction that also brings the
/// dataset's description of its live state along: the distributions under `latest` names
/// (with their sizes and checksums, from `latest`), its `void:dataDump` links and its star
/// rating. A withdrawn dataset keeps its releases and loses those.
pub fn switch_live(
    store: &Store,
    dataset: &str,
    release: Option<&str>,
    latest: &[DumpFile],
) -> Result<()> {
    let layout = &store.layout;
    let cat = NamedNode::new_unchecked(store.catalog_graph());
    let ds = NamedNode::new_unchecked(layout.dataset(dataset));
    let in_cat = Some(GraphNameRef::NamedNode(cat.as_ref()));
    let mut tx = store.db().start_transaction()?;
    let mut doomed: Vec<Quad> = Vec::new();
    for p in [
        DCAT_HAS_CURRENT_VERSION,
        DCAT_DISTRIBUTION,
        VOID_DATA_DUMP,
        DQV_HAS_QUALITY_MEASUREMENT,
    ] {
        for q in tx.quads_for_pattern(Some(ds.as_ref().into()), Some(p), None, in_cat) {
            doomed.push(q?);
        }
    }
    let prefix = format!("<{}/distribution/", ds.as_str());
    for q in tx.quads_for_pattern(None, None, None, in_cat) {
        let q = q?;
        if q.subject.to_string().starts_with(&prefix) {
            doomed.push(q);
        }
    }
    let service = NamedNode::new_unchecked(layout.service());
    for q in tx.quads_for_pattern(
        Some(service.as_ref().into()),
        Some(DCAT_SERVES_DATASET),
        Some(ds.as_ref().into()),
        in_cat,
    ) {
        doomed.push(q?);
    }
    let mut q = Quads {
        graph: cat.clone(),
        quads: Vec::new(),
    };
    if let Some(r) = release {
        let rel = NamedNode::new_unchecked(layout.release(dataset, r));
        q.add(&ds, DCAT_HAS_CURRENT_VERSION, &rel);
        q.add(&service, DCAT_SERVES_DATASET, &ds);
        let m = NamedNode::new_unchecked(format!("{}/stars", rel.as_str()));
        let rated = tx
            .quads_for_pattern(
                Some(rel.as_ref().into()),
                Some(DQV_HAS_QUALITY_MEASUREMENT),
                Some(m.as_ref().into()),
                in_cat,
            )
            .next()
            .is_some();
        if rated {
            q.add(&ds, DQV_HAS_QUALITY_MEASUREMENT, &m);
        }
        for f in latest {
            let d = format!("{}/distribution/{}", ds.as_str(), f.name.replace('.', "-"));
            distribution(&mut q, layout, ds.as_ref(), &d, f);
        }
    }
    for quad in &doomed {
        tx.remove(quad);
    }
    for quad in &q.quads {
        tx.insert(quad);
    }
    let committed = tx.commit();
    store.catalog_changed();
    committed?;
    Ok(())
}

/// Removes a release's description from the catalogue.
pub fn remove_release(store: &Store, dataset: &str, release: &str) -> Result<()> {
    let rel = store.layout.release(dataset, release);
    remove_where(store, |q| {
        let s = q.subject.to_string();
        let s = s.trim_start_matches('<').trim_end_matches('>');
        s == rel
            || s.starts_with(&format!("{rel}/"))
            || s.starts_with(&format!("{rel}#"))
            || matches!(&q.object, Term::NamedNode(o) if o.as_str() == rel)
    })
}

/// Removes the distributions of `release` named `names` (their files are gone).
pub fn remove_distributions(
    store: &Store,
    dataset: &str,
    release: &str,
    names: &[String],
) -> Result<()> {
    let rel = store.layout.release(dataset, release);
    let dists: Vec<String> = names
        .iter()
        .map(|n| format!("{rel}/distribution/{}", n.replace('.', "-")))
        .collect();
    remove_where(store, |q| {
        let s = q.subject.to_string();
        let s = s.trim_start_matches('<').trim_end_matches('>');
        dists.iter().any(|d| {
            s == d
                || s.strip_prefix(d.as_str()) == Some("#sha256")
                || matches!(&q.object, Term::NamedNode(o) if o.as_str() == d)
        })
    })
}

/// Removes the catalogue's quads that `doomed` picks, in one transaction.
fn remove_where(store: &Store, doomed: impl Fn(&Quad) -> bool) -> Result<()> {
    let cat = NamedNode::new_unchecked(store.catalog_graph());
    let mut tx = store.db().start_transaction()?;
    let picked: Vec<Quad> = tx
        .quads_for_pattern(
            None,
            None,
            None,
            Some(GraphNameRef::NamedNode(cat.as_ref())),
        )
        .filter(|q| q.as_ref().map_or(true, &doomed))
        .collect::<Result<_, _>>()?;
    for quad in &picked {
        tx.remove(quad);
    }
    let committed = tx.commit();
    store.catalog_changed();
    committed?;
    Ok(())
}

#[cfg(test)]
mod star_tests {
    use super::*;

    fn facts(licence: &str, entities: u64, outside_links: u64) -> StarFacts<'_> {
        StarFacts {
            licence,
            structured: true,
            open_format: true,
            entities,
            outside_links,
            linked: None,
        }
    }

    #[test]
    fn stars_are_cumulative_with_reasons() {
        let ogl = "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/";
        assert_eq!(
            rate(&facts(ogl, 10, 3)),
            Stars {
                stars: 5,
                missing: vec![],
                linked: None,
            }
        );
        // The fifth star needs most identifying values linked, when that was measured.
        let few = Linked {
            share: 0.6,
            rules: vec![("council (Body)".into(), 0.6), ("day (Date)".into(), 1.0)],
        };
        let r = rate(&StarFacts {
            linked: Some(&few),
            ..facts(ogl, 10, 3)
        });
        assert_eq!(r.stars, 4, "{r:?}");
        assert!(
            r.missing[0].contains("council (Body) 60%") && r.missing[0].contains("95%"),
            "{r:?}"
        );
        assert_eq!(
            r.linked.as_deref(),
            Some("60% of identifying values linked (council (Body) 60%, day (Date) 100%)")
        );
        let most = Linked {
            share: 0.96,
            rules: vec![("council (Body)".into(), 0.96)],
        };
        let r = rate(&StarFacts {
            linked: Some(&most),
            ..facts(ogl, 10, 3)
        });
        assert_eq!(r.stars, 5, "{r:?}");
        let r = rate(&facts(ogl, 10, 0));
        assert_eq!(r.stars, 4);
        assert!(r.missing[0].starts_with("5:"), "{r:?}");
        // A closed licence is no star at all, whatever else was published.
        let r = rate(&facts("http://example.org/all-rights-reserved", 10, 3));
        assert_eq!(r.stars, 0);
        assert!(
            r.missing[0].starts_with("1:") && r.missing.len() == 5,
            "{r:?}"
        );
        assert!(r.missing[4].contains("met, but"), "{r:?}");
        assert!(is_open_licence(
            "https://creativecommons.org/licenses/by-sa/4.0/"
        ));
        assert!(!is_open_licence("http://example.org/licence"));
    }
}
