//! End-to-end tests on real-shaped council files (`tests/fixtures/real/`, written from the
//! LGA/esd schemas and the patterns councils' files show): which template each is, the
//! choice between two date columns, the personal-data screen's judgement, council links in
//! every form councils write them, the report's "what to do", the fifth star's link share,
//! the near misses of `inspect`, and a store's recorded base IRI.

mod common;

use common::{bin, root, Scratch};
use std::path::{Path, PathBuf};
use std::process::Command;

fn real(name: &str) -> PathBuf {
    root().join("tests/fixtures/real").join(name)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The scratch folder, with what these tests need of it.
trait Real {
    fn pipeline(&self, id: &str, file: &Path, publisher: Option<&str>, extra: &str) -> PathBuf;
    fn value(&self, q: &str) -> String;
    fn report(&self, dataset: &str) -> serde_json::Value;
}

fn scratch(name: &str) -> Scratch {
    Scratch::new("real", name)
}

impl Real for Scratch {
    /// Writes `pipelines/{id}.toml` for a fixture, with `extra` appended.
    fn pipeline(&self, id: &str, file: &Path, publisher: Option<&str>, extra: &str) -> PathBuf {
        let p = self.0.join(format!("pipelines/{id}.toml"));
        std::fs::write(
            &p,
            format!(
                "id = \"{id}\"\ntitle = \"{id}\"\ntemplate = \"spend\"\n{}[source]\nurl = {:?}\n{extra}",
                publisher
                    .map(|p| format!("publisher = \"{p}\"\n"))
                    .unwrap_or_default(),
                file.display().to_string()
            ),
        )
        .unwrap();
        p
    }

    /// The one value of a one-row, one-column answer.
    fn value(&self, q: &str) -> String {
        self.query(q).lines().nth(1).unwrap_or_default().to_string()
    }

    fn report(&self, dataset: &str) -> serde_json::Value {
        let runs = self.0.join("store/runs").join(dataset);
        let mut all: Vec<_> = std::fs::read_dir(&runs)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("report.json").is_file())
            .collect();
        all.sort();
        let last = all.last().unwrap();
        serde_json::from_slice(&std::fs::read(last.join("report.json")).unwrap()).unwrap()
    }
}

/// A report's problems.
fn problems(r: &serde_json::Value) -> Vec<serde_json::Value> {
    r["problems"]
        .as_array()
        .expect("a report has problems")
        .clone()
}

fn inspect(file: &Path, extra: &[&str]) -> serde_json::Value {
    let o = Command::new(bin())
        .args(["inspect", "--format", "json"])
        .arg(file)
        .args(extra)
        .output()
        .unwrap();
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{}: {e}: {}", file.display(), text(&o.stderr)))
}

const TRAFFORD: &str = "http://statistics.data.gov.uk/id/statistical-geography/E08000009";

#[test]
fn each_real_shaped_file_is_its_template_and_a_near_miss_says_what_it_lacks() {
    for (f, id) in [
        ("lga-spend.csv", "spend"),
        ("spend-two-dates.csv", "spend"),
        ("spend-no-amount.csv", "spend"),
        ("car-parks-sites.csv", "car-parks"),
        ("gambling-premises.csv", "premises-licences"),
        ("land-lga.csv", "land-assets"),
        ("parking-account-wide.csv", "parking-account"),
    ] {
        let j = inspect(&real(f), &[]);
        assert_eq!(j["template"], id, "{f}: {j:#}");
        // The LGA schemas' own names map, PaymentDate and Payment Date alike.
        if f == "lga-spend.csv" {
            let cols = j["columns"].as_array().unwrap();
            for (source, column) in [
                ("OrganisationURI", "body"),
                ("BeneficiaryName", "supplier_name"),
                ("PaymentDate", "date"),
                ("Amount", "net_amount"),
            ] {
                assert!(
                    cols.iter()
                        .any(|c| c["source"] == source && c["column"] == column),
                    "{source}: {j:#}"
                );
            }
        }
        if f == "spend-two-dates.csv" {
            let cols = j["columns"].as_array().unwrap();
            let date = cols.iter().find(|c| c["column"] == "date").unwrap();
            assert_eq!(date["source"], "Payment Date", "{j:#}");
        }
    }
    // Car parks are not parking spaces, nor a gambling register planning applications.
    let cp = inspect(&real("car-parks-sites.csv"), &[]);
    let score = |j: &serde_json::Value, id: &str| {
        j["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["template"] == id)
            .and_then(|c| c["confidence"].as_f64())
            .unwrap_or(0.0)
    };
    assert!(
        score(&cp, "car-parks") - score(&cp, "parking-spaces") > 0.3,
        "{cp:#}"
    );
    let g = inspect(&real("gambling-premises.csv"), &[]);
    assert!(score(&g, "planning-applications") < 0.5, "{g:#}");

    // A file no template fits well: the closest templates, with what each explains and lacks.
    let s = scratch("near");
    let f = real("nearly-land.csv");
    let j = inspect(&f, &[]);
    assert!(j["template"].is_null(), "{j:#}");
    let near = j["near"].as_array().unwrap();
    let land = near
        .iter()
        .find(|n| n["template"] == "land-assets")
        .unwrap_or_else(|| panic!("{j:#}"));
    assert!(
        land["matched"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m[0] == "Tenure"),
        "{j:#}"
    );
    assert!(!land["missing_core"].as_array().unwrap().is_empty());
    // The header that is a name of the closest template shows what it means.
    assert!(j["columns"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["source"] == "Tenure" && c["column"] == "tenure"));
    let o = s.run(&["inspect", f.to_str().unwrap()]);
    let out = text(&o.stdout);
    assert!(
        out.contains("nearly land-assets") && out.contains("--template land-assets"),
        "{out}"
    );
    assert_eq!(o.status.code(), Some(1));
    // Choosing it writes a starter that says so.
    let p = s.0.join("pipelines/assets.toml");
    let o = s.run(&[
        "inspect",
        f.to_str().unwrap(),
        "--template",
        "land-assets",
        "--write-pipeline",
        p.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let written = std::fs::read_to_string(&p).unwrap();
    assert!(
        written.contains("template = \"land-assets\"")
            && written.contains("chosen with --template"),
        "{written}"
    );
    let o = s.run(&["inspect", f.to_str().unwrap(), "--template", "nonsense"]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("no template \"nonsense\""));
}

#[test]
fn the_payment_date_is_chosen_over_the_period_date_and_the_pipeline_can_choose_another() {
    let s = scratch("dates");
    let f = real("spend-two-dates.csv");
    let day = |id: &str| {
        s.query(&format!(
            "SELECT ?d WHERE {{ GRAPH ?g {{ ?l <http://purl.org/dc/terms/date> ?d ; \
             <http://reference.data.gov.uk/def/payment#reference> \"TN-0001\" }} \
             FILTER(CONTAINS(STR(?g), \"/{id}/\")) }}"
        ))
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_string()
    };
    // By preference: Payment Date (10/01/2024), not Effective Date (31/01) nor Invoice Date.
    let p = s.pipeline("chosen", &f, Some("E08000009"), "");
    let o = s.run(&["run", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert_eq!(day("chosen"), "2024-01-10");
    let r = s.report("chosen");
    assert!(
        r["todo"][0]
            .as_str()
            .unwrap()
            .contains("\"Date\" is read from \"Payment Date\""),
        "{r:#}"
    );
    assert!(
        text(&o.stderr).contains("column-choice"),
        "{}",
        text(&o.stderr)
    );
    // The pipeline names the source.
    let p = s.pipeline(
        "period",
        &f,
        Some("E08000009"),
        "[columns.date]\nsource = \"Effective Date\"\n",
    );
    assert!(s.run(&["run", p.to_str().unwrap()]).status.success());
    assert_eq!(day("period"), "2024-01-31");
    assert!(!s
        .report("period")
        .to_string()
        .contains("tidy:column-choice"));
    // The pipeline's aliases come before the template's.
    let p = s.pipeline(
        "invoice",
        &f,
        Some("E08000009"),
        "[columns.date]\naliases = [\"Invoice Date\"]\n",
    );
    assert!(s.run(&["run", p.to_str().unwrap()]).status.success());
    assert_eq!(day("invoice"), "2024-01-01");
    // A source the file lacks is a missing column, not another alias.
    let p = s.pipeline(
        "absent",
        &f,
        Some("E08000009"),
        "[columns.date]\nsource = \"Posting Date\"\n",
    );
    let o = s.run(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(text(&o.stderr).contains("\"Posting Date\", the source"));
}

#[test]
fn suppliers_are_published_but_people_placeholders_and_nhs_numbers_are_judged() {
    let s = scratch("screen");
    let p = s.pipeline("lga", &real("lga-spend.csv"), None, "");
    let o = s.run(&["run", p.to_str().unwrap()]);
    let err = text(&o.stderr);
    // Ten-digit transaction numbers, some passing the NHS check by chance, do not block.
    assert!(o.status.success(), "{}{err}", text(&o.stdout));
    let r = s.report("lga");
    let all = r.to_string();
    assert!(
        problems(&r).iter().all(|p| p["severity"] != "error"),
        "{r:#}"
    );
    let nhs = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["rule"] == "personal-data:nhs-number")
        .unwrap_or_else(|| panic!("{r:#}"));
    assert_eq!(nhs["severity"], "info");
    assert!(nhs["message"].as_str().unwrap().contains("one in eleven"));
    // Two people's names redacted, with why; three placeholders recognised.
    assert!(
        err.contains("redacted 2 value(s) that look like a person's name"),
        "{err}"
    );
    let names = s.query(
        "SELECT DISTINCT ?n WHERE { ?l <http://reference.data.gov.uk/def/payment#payee> ?s . ?s <http://www.w3.org/2000/01/rdf-schema#label> ?n }",
    );
    for business in [
        "Civic Office Supplies Ltd",
        "British Telecommunications PLC",
    ] {
        assert!(names.contains(business), "{names}");
    }
    for hidden in ["Smith", "Susan Taylor", "REDACTED", "Personal Information"] {
        assert!(!names.contains(hidden), "{hidden} in {names}");
    }
    assert!(all.contains("personal-data:placeholder"), "{r:#}");
    assert!(all.contains("3 value(s) are the council's own redaction placeholder"));
    // Forty payments: each redacted one its own payee, never one "[redacted]" supplier.
    assert_eq!(
        s.value("SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?l <http://reference.data.gov.uk/def/payment#payee> ?s FILTER(CONTAINS(STR(?s), \"redacted\")) }"),
        "5"
    );
    // NHS numbers the header names do block.
    let f = s.0.join("patients.csv");
    std::fs::write(
        &f,
        "Payment Date,Supplier Name,Net Amount,Service Area,Expense Type,NHS Number\n\
         01/04/2024,Acme Ltd,100.00,Adults,Care,9434765919\n\
         02/04/2024,Acme Ltd,200.00,Adults,Care,1234567890\n",
    )
    .unwrap();
    let p = s.pipeline(
        "patients",
        &f,
        None,
        "[columns.purpose]\naliases = [\"NHS Number\"]\n",
    );
    let o = s.run(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let r = s.report("patients");
    let blocked = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["rule"] == "personal-data:nhs-number" && p["severity"] == "error")
        .unwrap_or_else(|| panic!("{r:#}"));
    assert_eq!(blocked["row"], 2);
    assert!(blocked["message"]
        .as_str()
        .unwrap()
        .contains("the header says NHS"));
}

#[test]
fn councils_link_in_every_form_and_the_publisher_pays_what_names_no_council() {
    let s = scratch("links");
    // An OpenDataCommunities URI with a capital "Http".
    let p = s.pipeline("odc", &real("lga-spend.csv"), None, "");
    assert!(s.run(&["run", p.to_str().unwrap()]).status.success());
    let payers = |id: &str| {
        s.query(&format!(
            "SELECT ?payer (COUNT(DISTINCT ?l) AS ?n) WHERE {{ GRAPH ?g {{ ?l a <http://reference.data.gov.uk/def/payment#ExpenditureLine> . \
             OPTIONAL {{ ?l <http://reference.data.gov.uk/def/payment#payer> ?payer }} }} \
             FILTER(CONTAINS(STR(?g), \"/{id}/\")) }} GROUP BY ?payer"
        ))
    };
    assert_eq!(
        payers("odc").trim(),
        format!("payer,n\n{TRAFFORD},40"),
        "every line has Trafford as payer"
    );
    // Org-id and a SNAC code inside a URI link; "Corporate" does not, and without a
    // publisher those lines have no payer: the fifth star is withheld, and the page says why.
    let f = real("spend-two-dates.csv");
    let p = s.pipeline("nopub", &f, None, "");
    assert!(s.run(&["run", p.to_str().unwrap()]).status.success());
    let got = payers("nopub");
    assert!(got.contains(&format!("{TRAFFORD},8")), "{got}");
    assert!(got.lines().any(|l| l == ",4"), "{got}");
    // With the publisher, every line has a payer, reported once, not per row.
    let p = s.pipeline("withpub", &f, Some("E08000009"), "");
    assert!(s.run(&["run", p.to_str().unwrap()]).status.success());
    assert_eq!(payers("withpub").trim(), format!("payer,n\n{TRAFFORD},12"));
    let r = s.report("withpub");
    let fallbacks: Vec<_> = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["rule"] == "link:council-publisher")
        .collect();
    assert_eq!(fallbacks.len(), 1, "{r:#}");
    assert!(fallbacks[0]["message"]
        .as_str()
        .unwrap()
        .contains("4 row(s) name no council"));
    // No row-by-row "links to no council" warnings: the fallback was reported once.
    assert!(
        problems(&r)
            .iter()
            .all(|p| !(p["rule"] == "link:council" && p["severity"] == "warning")),
        "{r:#}"
    );

    // A spending file with no council column and no publisher: no line has a payer.
    let f = s.0.join("no-council.csv");
    std::fs::write(
        &f,
        "Payment Date,Supplier Name,Net Amount,Service Area,Expense Type\n\
         01/04/2024,Acme Ltd,100.00,Adults,Care\n02/04/2024,Acme Ltd,200.00,Adults,Care\n",
    )
    .unwrap();
    let p = s.pipeline("nocouncil", &f, None, "");
    assert!(s.run(&["run", p.to_str().unwrap()]).status.success());

    let server = common::serve(Command::new(bin()).current_dir(&s.0).args([
        "serve",
        "--bind",
        "127.0.0.1:0",
    ]));
    let c = reqwest::blocking::Client::new();
    let page = |id: &str| {
        c.get(format!("{}/dataset/{id}", server.url))
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let without = page("nopub");
    assert!(without.contains("★★★★☆"), "{without}");
    assert!(
        without.contains("too few values link") && without.contains("council (Body Name) 66%"),
        "{without}"
    );
    let none = page("nocouncil");
    assert!(
        none.contains("★★★★☆") && none.contains("council (no column and no publisher) 0%"),
        "{none}"
    );
    let with = page("withpub");
    assert!(with.contains("★★★★★"), "{with}");
    assert!(
        with.contains("Links: 100% of identifying values linked"),
        "{with}"
    );
    // The redactions are on the page of the dataset that had them.
    let odc = page("odc");
    assert!(odc.contains("look like a person"), "{odc}");
}

#[test]
fn the_report_leads_with_what_to_do_on_the_headers_the_officer_knows() {
    let s = scratch("report");
    let p = s.pipeline(
        "noamount",
        &real("spend-no-amount.csv"),
        Some("E08000009"),
        "",
    );
    let o = s.run(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let r = s.report("noamount");
    let todo: Vec<&str> = r["todo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!((1..=5).contains(&todo.len()), "{todo:?}");
    assert!(
        todo[0].starts_with("No column for \"Net Amount\": your file has \"Gross Paid GBP\"")
            && todo[0].contains("[columns.net_amount] aliases = [\"Gross Paid GBP\"]"),
        "{todo:?}"
    );
    // The consequence (every row lacks the amount) is one problem on the source's words,
    // not one a row under the internal name.
    let required: Vec<_> = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["rule"] == "csvw:required")
        .collect();
    assert_eq!(required.len(), 1, "{r:#}");
    assert_eq!(required[0]["column"], "Net Amount");
    assert!(
        problems(&r).iter().all(|p| p["column"] != "net_amount"),
        "{r:#}"
    );
    // Text and HTML reports start with it.
    let dir =
        s.0.join("store/runs/noamount")
            .join(r["run"].as_str().unwrap());
    let txt = std::fs::read_to_string(dir.join("report.txt")).unwrap();
    let first_problem = txt.find("error ").unwrap_or(txt.len());
    assert!(txt.find("what to do:").unwrap() < first_problem, "{txt}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.find("What to do").unwrap() < html.find("<table").unwrap());
    assert!(html.contains("Gross Paid GBP"));
    // The terminal says it too.
    assert!(text(&o.stderr).contains("what to do:"));

    // Many problems of one rule and column: one group with its count and first cases.
    let f = s.0.join("bad-amounts.csv");
    let mut csv = String::from("Payment Date,Supplier Name,Net Amount,Service Area,Expense Type\n");
    for i in 0..200 {
        csv.push_str(&format!("01/04/2024,Acme Ltd,about {i},Adults,Care\n"));
    }
    std::fs::write(&f, csv).unwrap();
    let p = s.pipeline("bad", &f, Some("E08000009"), "");
    let o = s.run(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let r = s.report("bad");
    let group = r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["column"] == "Net Amount" && g["severity"] == "error")
        .unwrap_or_else(|| panic!("{r:#}"));
    assert!(group["count"].as_u64().unwrap() >= 200, "{group:#}");
    assert_eq!(group["first"].as_array().unwrap().len(), 3);
    let err = text(&o.stderr);
    assert!(err.lines().count() < 30, "{err}");
    assert!(err.contains("case(s); the first 3"), "{err}");
}

#[test]
fn commands_use_the_base_iri_the_store_records() {
    let s = scratch("base");
    let p = s.pipeline("based", &real("spend-two-dates.csv"), Some("E08000009"), "");
    let o = s.run(&[
        "run",
        p.to_str().unwrap(),
        "--base-iri",
        "http://data.example.gov.uk",
    ]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    // fivestar.toml says another base; the store's own wins for commands that open it.
    for args in [
        vec!["releases"],
        vec!["status"],
        vec!["query", "ASK { ?s ?p ?o }"],
    ] {
        let o = s.run(&args);
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
    }
    let o = s.run(&["query", "SELECT ?l WHERE { ?l a <http://reference.data.gov.uk/def/payment#ExpenditureLine> } LIMIT 1", "--format", "csv"]);
    assert!(
        text(&o.stdout).contains("http://data.example.gov.uk/id/based/"),
        "{}",
        text(&o.stdout)
    );
    // Told otherwise, it still refuses.
    let o = s.run(&["releases", "--base-iri", "http://other.example.org"]);
    assert!(!o.status.success());
}

#[test]
fn lga_land_gets_points_in_either_coordinate_reference_system() {
    let s = scratch("land");
    let p = s.0.join("pipelines/land.toml");
    std::fs::write(
        &p,
        format!(
            "id = \"land\"\ntitle = \"land\"\ntemplate = \"land-assets\"\n[source]\nurl = {:?}\n",
            real("land-lga.csv").display().to_string()
        ),
    )
    .unwrap();
    let o = s.run(&["run", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    let wkt = s.query(
        "SELECT ?id ?wkt WHERE { ?a <http://purl.org/dc/terms/identifier> ?id ; \
         <http://www.opengis.net/ont/geosparql#hasGeometry>/<http://www.opengis.net/ont/geosparql#asWKT> ?wkt } ORDER BY ?id",
    );
    let rows: Vec<&str> = wkt.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{wkt}");
    // The WGS84 row as given; the National Grid rows converted (Trafford Town Hall).
    assert!(
        rows[2].starts_with("A-003,") && rows[2].contains("POINT(-2.311200 53.445900)"),
        "{wkt}"
    );
    assert!(rows[0].contains("POINT(-2.29"), "{wkt}");
    let r = s.report("land");
    assert!(
        r.to_string()
            .contains("3 row(s) (2 from OSGB36 eastings and northings, 1 given in WGS84)"),
        "{r:#}"
    );
    // Council by OpenDataCommunities URI, on every asset.
    assert_eq!(
        s.value("SELECT (COUNT(DISTINCT ?a) AS ?n) WHERE { ?a <http://127.0.0.1:7878/def/fivestar#heldBy> <http://statistics.data.gov.uk/id/statistical-geography/E08000009> }"),
        "3"
    );
}

#[test]
fn a_parking_account_one_row_per_year_publishes_one_row_per_item() {
    let s = scratch("wide");
    let p = s.0.join("pipelines/parking.toml");
    std::fs::write(
        &p,
        format!(
            "id = \"parking\"\ntitle = \"parking\"\npublisher = \"E08000009\"\ntemplate = \"parking-account\"\n[source]\nurl = {:?}\n",
            real("parking-account-wide.csv").display().to_string()
        ),
    )
    .unwrap();
    let o = s.run(&["run", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    // Three years of six items, one of them empty: seventeen lines, each from its year's row.
    let fs = "http://127.0.0.1:7878/def/fivestar#";
    assert_eq!(
        s.value(&format!(
            "SELECT (COUNT(*) AS ?n) WHERE {{ ?l <{fs}financialYear> ?y }}"
        )),
        "17"
    );
    let income = s.value(&format!(
        "SELECT (SUM(?v) AS ?t) WHERE {{ ?l <{fs}financialYear> \"2022/23\" ; <{fs}income> ?v }}"
    ));
    assert_eq!(
        income.parse::<f64>().unwrap(),
        1_180_450.0 + 2_512_900.0 + 598_100.0
    );
    let spend = s.value(&format!(
        "SELECT (SUM(?v) AS ?t) WHERE {{ ?l <{fs}financialYear> \"2023/24\" ; <{fs}expenditure> ?v }}"
    ));
    assert_eq!(spend.parse::<f64>().unwrap(), 1_044_900.0 + 481_600.0);
    assert_eq!(
        s.value(&format!(
            "SELECT ?v WHERE {{ ?l <{fs}financialYear> \"2021/22\" ; <{fs}accountAmount> ?v }}"
        )),
        "2717730"
    );
    let r = s.report("parking");
    assert!(r.to_string().contains("read in the wide layout"), "{r:#}");
}
