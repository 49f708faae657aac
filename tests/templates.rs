//! End-to-end tests of the council templates and examples: every template's messy fixture
//! converts to its reviewed expected graph; `fivestar inspect` picks the right template and
//! writes a pipeline `fivestar run` accepts; the bundled examples total spending by supplier
//! across councils with one query, and link every council to its GSS URI.

mod common;

use common::{bin, root, Scratch};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const TEMPLATES: &[&str] = &[
    "spend",
    "contracts",
    "tenders",
    "land-assets",
    "grants",
    "organisation-chart",
    "senior-salaries",
    "senior-salary-counts",
    "trade-union-facility-time",
    "parking-account",
    "parking-spaces",
    "fraud",
    "pay-multiple",
    "planning-applications",
    "premises-licences",
    "public-toilets",
    "car-parks",
];

/// Template columns that may name individuals, per template: the fixtures' pipelines allow
/// them (the rows are synthetic).
const NAMES: &[(&str, &str)] = &[
    ("spend", "supplier_name"),
    ("contracts", "supplier_name"),
    ("grants", "recipient_name"),
    ("organisation-chart", "name"),
    ("senior-salaries", "name"),
    ("premises-licences", "licence_holder"),
];

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/templates")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn scratch(name: &str) -> Scratch {
    Scratch::new("tpl", name)
}

/// The triples of an N-Triples document (the graphs have no blank nodes, so isomorphism is
/// equality of the sets).
fn triples(nt: &[u8]) -> BTreeSet<String> {
    oxrdfio::RdfParser::from_format(oxrdfio::RdfFormat::NTriples)
        .for_reader(nt)
        .map(|q| {
            let q = q.expect("valid N-Triples");
            assert!(
                !q.subject.is_blank_node() && !q.object.is_blank_node(),
                "blank node in {q}"
            );
            oxrdf::Triple::from(q).to_string()
        })
        .collect()
}

fn gunzip(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn every_template_converts_its_messy_fixture_to_the_expected_graph() {
    let s = scratch("iso");
    for id in TEMPLATES {
        let mut p = format!(
            "id = \"fixture-{id}\"\ntitle = \"Fixture for {id}\"\ntemplate = \"{id}\"\n[source]\nurl = {:?}\n",
            fixtures().join(format!("{id}.csv")).display().to_string()
        );
        for (t, c) in NAMES {
            if t == id {
                p.push_str(&format!("[columns.{c}]\npersonal = \"allow\"\n"));
            }
        }
        std::fs::write(s.0.join("pipelines").join(format!("{id}.toml")), p).unwrap();
    }
    let o = s.run(&["run", "pipelines"]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    let bless = std::env::var_os("FIVESTAR_BLESS").is_some();
    let mut failures = Vec::new();
    for id in TEMPLATES {
        let got = gunzip(&s.0.join(format!("store/dumps/fixture-{id}/latest.nt.gz")));
        let expected_path = fixtures().join(format!("{id}.expected.nt"));
        if bless {
            let lines: Vec<String> = triples(&got).into_iter().map(|t| t + " .").collect();
            std::fs::write(&expected_path, lines.join("\n") + "\n").unwrap();
            continue;
        }
        let expected = triples(&std::fs::read(&expected_path).unwrap_or_default());
        let got = triples(&got);
        if got != expected {
            let missing: Vec<_> = expected.difference(&got).take(10).collect();
            let extra: Vec<_> = got.difference(&expected).take(10).collect();
            failures.push(format!(
                "{id}: {} triples, {} expected\n  missing: {missing:#?}\n  unexpected: {extra:#?}",
                got.len(),
                expected.len()
            ));
        }
        assert!(got.len() > 5, "{id}: {} triples", got.len());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn inspect_picks_the_template_of_every_fixture_and_example() {
    let mut files: Vec<(PathBuf, &str)> = TEMPLATES
        .iter()
        .map(|id| (fixtures().join(format!("{id}.csv")), *id))
        .collect();
    let ex = root().join("pipelines/examples");
    for (f, id) in [
        ("data/leeds-spending-2024-q1.xlsx", "spend"),
        ("data/bristol-spending-2024-q1.csv", "spend"),
        ("data/camden-spending-2024-q1.ods", "spend"),
        ("spending/trafford-spend-2024-q1.csv", "spend"),
        ("data/trafford-contracts-2024.csv", "contracts"),
        ("data/leeds-grants-2023-24.csv", "grants"),
        ("data/bristol-public-toilets.csv", "public-toilets"),
        ("data/camden-premises-licences.csv", "premises-licences"),
    ] {
        files.push((ex.join(f), id));
    }
    for (f, id) in &files {
        let o = Command::new(bin())
            .args(["inspect", "--format", "json", f.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}: {}", f.display(), text(&o.stderr));
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(j["template"], *id, "{}: {j:#}", f.display());
        let c = j["confidence"].as_f64().unwrap();
        assert!((0.5..=1.0).contains(&c), "{}: {c}", f.display());
        assert!(j["header_row"].as_u64().unwrap() >= 1);
        assert!(j["encoding"].is_string() || j["format"] != "csv");
        assert!(j.get("date_order").is_some());
        for col in j["columns"].as_array().unwrap() {
            assert!(col["source"].is_string());
            assert!(col.get("column").is_some());
        }
    }
    // The quirks are seen: Windows-1252, the header under a title row, day-first dates.
    let o = Command::new(bin())
        .args(["inspect", "--format", "json"])
        .arg(fixtures().join("spend.csv"))
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["encoding"], "windows-1252");
    assert_eq!(j["header_row"], 2);
    assert_eq!(j["date_order"], "dmy");
    assert!(
        j["amount_format"].as_str().unwrap().contains("pound sign"),
        "{j}"
    );
    assert_eq!(j["columns"][6]["source"], "Beneficiary Name");
    assert_eq!(j["columns"][6]["column"], "supplier_name");
}

#[test]
fn a_file_that_fits_no_template_says_so() {
    let s = scratch("nofit");
    let f = s.0.join("birds.csv");
    std::fs::write(
        &f,
        "Species,Wingspan (cm),Colour\nRobin,21,red\nWren,15,brown\n",
    )
    .unwrap();
    let o = s.run(&["inspect", "--format", "json", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(j["template"].is_null(), "{j}");
    assert!(j["confidence"].as_f64().unwrap() < 0.5);
    assert!(j["columns"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["column"].is_null()));
    let p = s.0.join("birds.toml");
    let o = s.run(&[
        "inspect",
        f.to_str().unwrap(),
        "--write-pipeline",
        p.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("no template fits"),
        "{}",
        text(&o.stderr)
    );
    assert!(!p.exists());
}

#[test]
fn inspect_writes_a_pipeline_that_runs_as_it_is() {
    let s = scratch("starter");
    let data = s.0.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let f = data.join("leeds-spending.xlsx");
    std::fs::copy(
        root().join("pipelines/examples/data/leeds-spending-2024-q1.xlsx"),
        &f,
    )
    .unwrap();
    let p = s.0.join("pipelines/leeds.toml");
    let o = s.run(&[
        "inspect",
        f.to_str().unwrap(),
        "--write-pipeline",
        p.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let written = std::fs::read_to_string(&p).unwrap();
    assert!(written.contains("template = \"spend\""), "{written}");
    assert!(written.contains("publisher = \"E08000035\""), "{written}");
    assert!(
        written.contains("url = \"../data/leeds-spending.xlsx\""),
        "{written}"
    );
    // Suppliers' names are published: only values that look like a person's are redacted.
    assert!(!written.contains("personal = \"redact\""), "{written}");
    assert!(written.contains("[columns.supplier_name]"), "{written}");
    let o = s.run(&["run", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stdout).contains("published"), "{}", text(&o.stdout));
    // The six suppliers of the example are published by name.
    let r = s.query(
        "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?l <http://reference.data.gov.uk/def/payment#payee> ?s }",
    );
    assert_eq!(r.lines().nth(1), Some("6"), "{r}");
}

#[test]
fn examples_total_spending_by_supplier_across_councils_and_link_councils() {
    let s = scratch("examples");
    let o = s.run(&["run", root().join("pipelines/examples").to_str().unwrap()]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    // One query across every council's spending.
    let q = "PREFIX payment: <http://reference.data.gov.uk/def/payment#>
SELECT ?supplier (SUM(?amount) AS ?total) (COUNT(DISTINCT ?council) AS ?councils) WHERE {
  ?line a payment:ExpenditureLine ; payment:payer ?council ;
        payment:payee ?payee ; payment:netAmount ?amount .
  BIND(STRAFTER(STR(?payee), \"/supplier/\") AS ?supplier)
} GROUP BY ?supplier ORDER BY ?supplier";
    let out = s.query(q);
    let got: BTreeMap<String, (f64, u32)> = out
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (
                c[0].to_string(),
                (c[1].parse().unwrap(), c[2].trim().parse().unwrap()),
            )
        })
        .collect();
    let expected: BTreeMap<String, f64> = serde_json::from_slice(
        &std::fs::read(root().join("pipelines/examples/expected-supplier-totals.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{out}"
    );
    for (k, v) in &expected {
        assert!((got[k].0 - v).abs() < 0.005, "{k}: {} != {v}", got[k].0);
    }
    assert_eq!(
        got["civic-office-supplies"].1, 4,
        "four councils pay it: {out}"
    );
    // Within one council a supplier is one URI across its datasets: Trafford's contract with
    // Meadowbank and Trafford's payments to it meet.
    let q = "ASK {
      ?contract <http://127.0.0.1:7878/def/fivestar#supplier> ?s .
      ?line <http://reference.data.gov.uk/def/payment#payee> ?s .
      FILTER(?s = <http://127.0.0.1:7878/id/council/E08000009/supplier/meadowbank-waste-solutions>)
    }";
    assert!(
        s.query(q).contains("true"),
        "contracts and spending share suppliers"
    );
    // Every property and class that a page of the published data shows has a label
    // (rdfs:label's own included), so no page shows a bare vocabulary IRI.
    for q in [
        "SELECT DISTINCT ?t WHERE { ?s ?t ?o FILTER(STRSTARTS(STR(?s), \"http://127.0.0.1:7878/id/\")) \
         FILTER NOT EXISTS { ?t <http://www.w3.org/2000/01/rdf-schema#label> ?l } }",
        "SELECT DISTINCT ?t WHERE { ?s a ?t FILTER(STRSTARTS(STR(?s), \"http://127.0.0.1:7878/id/\")) \
         FILTER NOT EXISTS { ?t <http://www.w3.org/2000/01/rdf-schema#label> ?l } }",
    ] {
        let r = s.query(q);
        assert_eq!(r.lines().count(), 1, "terms without a label:\n{r}");
    }
    // Every example links its council to the GSS URI.
    let datasets = [
        ("trafford-spending", "E08000009"),
        ("leeds-spending", "E08000035"),
        ("bristol-spending", "E06000023"),
        ("camden-spending", "E09000007"),
        ("trafford-contracts", "E08000009"),
        ("leeds-grants", "E08000035"),
        ("bristol-public-toilets", "E06000023"),
        ("camden-premises-licences", "E09000007"),
    ];
    for (d, gss) in datasets {
        let q = format!(
            "ASK {{ ?s ?p <http://statistics.data.gov.uk/id/statistical-geography/{gss}> .
                   FILTER(STRSTARTS(STR(?s), \"http://127.0.0.1:7878/id/{d}/\")) }}"
        );
        assert!(s.query(&q).contains("true"), "{d} does not link to {gss}");
    }
    // Places: computed WGS84 points; postcodes to OS URIs; every dataset rated five stars.
    // Castle Park, Bristol: E 359140, N 173160 is about 51.456 N, 2.589 W.
    let r = s.query(
        "SELECT ?lat ?long ?wkt WHERE { ?t <http://www.w3.org/2000/01/rdf-schema#label> \"Castle Park\" ;
           <http://www.w3.org/2003/01/geo/wgs84_pos#lat> ?lat ; <http://www.w3.org/2003/01/geo/wgs84_pos#long> ?long ;
           <http://www.opengis.net/ont/geosparql#hasGeometry>/<http://www.opengis.net/ont/geosparql#asWKT> ?wkt }",
    );
    let row: Vec<&str> = r
        .lines()
        .nth(1)
        .expect("Castle Park has a point")
        .split(',')
        .collect();
    let (lat, long): (f64, f64) = (row[0].parse().unwrap(), row[1].parse().unwrap());
    assert!(
        (lat - 51.456).abs() < 0.002 && (long + 2.589).abs() < 0.002,
        "{r}"
    );
    assert_eq!(row[2], format!("POINT({} {})", row[1], row[0]), "{r}");
    let r = s.query("ASK { ?t <http://127.0.0.1:7878/def/fivestar#postcode> <http://data.ordnancesurvey.co.uk/id/postcodeunit/BS12DN> }");
    assert!(r.contains("true"), "{r}");
    let r = s.query("SELECT (COUNT(*) AS ?n) WHERE { ?m <http://www.w3.org/ns/dqv#isMeasurementOf> <http://127.0.0.1:7878/def/fivestar#fiveStarRating> ; <http://www.w3.org/ns/dqv#value> 5 }");
    assert_eq!(r.lines().nth(1), Some("8"), "{r}");
    // The example queries on every dataset page run; spending by supplier adds up, although
    // a supplier's name is spelt several ways (several labels on one URI).
    let server = common::serve(Command::new(bin()).current_dir(&s.0).args([
        "serve",
        "--bind",
        "127.0.0.1:0",
    ]));
    let url = &server.url;
    let c = reqwest::blocking::Client::new();
    let sparql_csv = |q: &str| -> String {
        let r = c
            .get(format!("{url}/sparql"))
            .query(&[("query", q)])
            .header("Accept", "text/csv")
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{q}");
        r.text().unwrap()
    };
    for (d, _) in datasets {
        let page = c
            .get(format!("{url}/dataset/{d}"))
            .send()
            .unwrap()
            .text()
            .unwrap();
        let mut examples = 0;
        for (href, title) in page
            .split("<a href=\"")
            .skip(1)
            .filter_map(|a| a.split_once("\">"))
            .filter(|(href, _)| href.starts_with("/query?query="))
        {
            let link =
                reqwest::Url::parse(&format!("{url}{}", href.replace("&amp;", "&"))).unwrap();
            let q = link
                .query_pairs()
                .find(|(k, _)| k == "query")
                .map(|(_, v)| v.into_owned())
                .unwrap();
            let out = sparql_csv(&q);
            examples += 1;
            if title.starts_with("Spending by supplier") {
                let graph = format!("http://127.0.0.1:7878/graph/{d}/");
                let plain = sparql_csv(&format!(
                    "SELECT ?supplier (SUM(?a) AS ?total) WHERE {{ GRAPH ?g {{ ?l <http://reference.data.gov.uk/def/payment#payee> ?supplier ; <http://reference.data.gov.uk/def/payment#netAmount> ?a }} FILTER(STRSTARTS(STR(?g), \"{graph}\")) }} GROUP BY ?supplier"
                ));
                let totals = |csv: &str, col: usize| -> BTreeMap<String, String> {
                    csv.lines()
                        .skip(1)
                        .filter(|l| !l.is_empty())
                        .map(|l| {
                            // Names may hold commas: the supplier IRI is first, totals last.
                            let c: Vec<&str> = l.split(',').collect();
                            (c[0].to_string(), c[c.len() - col].to_string())
                        })
                        .collect()
                };
                assert_eq!(totals(&out, 2), totals(&plain, 1), "{d}: {out}");
            }
        }
        assert!(examples >= 2, "{d}: example queries on its page");
    }
    drop(server);
}

#[test]
fn validate_maps_a_bare_data_file_with_the_template_it_fits() {
    let s = scratch("validate");
    let f = fixtures().join("car-parks.csv");
    let o = s.run(&["validate", f.to_str().unwrap(), "--format", "json"]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(
        text(&o.stderr).contains("template car-parks"),
        "{}",
        text(&o.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["outcome"], "valid", "{report:#}");
    // A spending file of businesses: supplier names are screened row by row, not blocked.
    let f = fixtures().join("spend.csv");
    let o = s.run(&["validate", f.to_str().unwrap(), "--template", "spend"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(!out.contains("personal-data"), "{out}");
    // Nothing was published.
    assert!(!s.0.join("store/dumps/validate-spend").exists());
}
