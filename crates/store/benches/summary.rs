//! `cargo bench --profile release --workspace --bench summary` (not `-p fivestar-store`, whose
//! features would build RocksDB again): how fast the summaries read a release's quads as they
//! are loaded (`Summarizer::add`), on quads shaped as the spending template's csv2rdf makes
//! them (twenty a payment, the supplier's names among them) and the five summaries of
//! `vocab/templates/spend.toml`. Not a timed test: it prints what it measured.

use fivestar_store::summary::{Summarizer, SummarySpec};
use oxigraph::model::{Literal, NamedNode, Quad, Term};

const PAY: &str = "http://reference.data.gov.uk/def/payment#";
const FS: &str = "http://bench.invalid/def/fivestar#";
const RDFS_LABEL: &str = "http://www.w3.org/2000/01/rdf-schema#label";
const PREF_LABEL: &str = "http://www.w3.org/2004/02/skos/core#prefLabel";
const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";

fn iri(s: impl Into<String>) -> NamedNode {
    NamedNode::new_unchecked(s)
}

fn text(s: &str) -> Term {
    Literal::new_simple_literal(s).into()
}

/// One payment's quads, in the order the converter writes them.
fn payment(i: u64, out: &mut Vec<Quad>) {
    let (month, day, supplier_no) = (i % 12 + 1, i % 28 + 1, i * 7919 % 3000);
    let row = iri(format!(
        "http://bench.invalid/id/bench/payment/T{i:08}/2024-{month:02}-{day:02}"
    ));
    let supplier = iri(format!(
        "http://bench.invalid/id/council/E08000035/supplier/supplier-{supplier_no}"
    ));
    let name = text(&format!("Supplier {supplier_no} Ltd"));
    let council = iri("http://statistics.data.gov.uk/id/statistical-geography/E08000035");
    let amount = Literal::new_typed_literal(
        format!("{}.{:02}", i * 31 % 90_000, i % 100),
        oxigraph::model::vocab::xsd::DECIMAL,
    );
    let area = ["Libraries", "Highways", "Adult Social Care"][(i % 3) as usize];
    let lines: [(&NamedNode, String, Term); 20] = [
        (
            &row,
            format!("{FS}bodyName"),
            text("Example Borough Council"),
        ),
        (
            &row,
            "http://purl.org/dc/terms/date".into(),
            text("2024-05-20"),
        ),
        (&row, format!("{PAY}reference"), text(&format!("T{i:08}"))),
        (&row, format!("{PAY}netAmount"), amount.into()),
        (&supplier, RDFS_LABEL.into(), name.clone()),
        (
            &supplier,
            "http://purl.org/dc/terms/identifier".into(),
            text("1951"),
        ),
        (&row, format!("{FS}expenseArea"), text(area)),
        (&row, format!("{FS}expenseType"), text("IT Software")),
        (&row, format!("{PAY}payer"), council.clone().into()),
        (&row, format!("{PAY}payer"), council.into()),
        (
            &row,
            format!("{PAY}date"),
            iri(format!(
                "http://reference.data.gov.uk/id/day/2024-{month:02}-{day:02}"
            ))
            .into(),
        ),
        (
            &row,
            format!("{FS}month"),
            iri(format!(
                "http://reference.data.gov.uk/id/month/2024-{month:02}"
            ))
            .into(),
        ),
        (
            &row,
            format!("{FS}quarter"),
            iri(format!(
                "http://reference.data.gov.uk/id/quarter/2024-Q{}",
                (month - 1) / 3 + 1
            ))
            .into(),
        ),
        (
            &row,
            format!("{FS}governmentYear"),
            iri("http://reference.data.gov.uk/id/government-year/2024-2025").into(),
        ),
        (&row, format!("{PAY}payee"), supplier.clone().into()),
        (
            &supplier,
            RDF_TYPE.into(),
            iri("http://www.w3.org/ns/org#Organization").into(),
        ),
        (
            &row,
            RDFS_LABEL.into(),
            text(&format!(
                "£{i} to Supplier {supplier_no} Ltd, {day} May 2024"
            )),
        ),
        (&supplier, PREF_LABEL.into(), name),
        (
            &row,
            RDF_TYPE.into(),
            iri(format!("{PAY}ExpenditureLine")).into(),
        ),
        (
            &row,
            RDF_TYPE.into(),
            iri("http://purl.org/linked-data/cube#Observation").into(),
        ),
    ];
    let graph = iri("http://bench.invalid/graph/bench/1");
    for (s, p, o) in lines {
        out.push(Quad::new(s.clone(), iri(p), o, graph.clone()));
    }
}

fn spec(id: &str, dimensions: &[String], optional: &[String], labels: &[&str]) -> SummarySpec {
    SummarySpec {
        id: id.into(),
        title: id.into(),
        measure: format!("{PAY}netAmount"),
        dimensions: dimensions.to_vec(),
        optional: optional.to_vec(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
    }
}

fn main() {
    let rows: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.strip_prefix("--rows=").and_then(|n| n.parse().ok()))
        .unwrap_or(200_000);
    let (payee, payer, quarter) = (
        format!("{PAY}payee"),
        format!("{PAY}payer"),
        format!("{FS}quarter"),
    );
    let specs = [
        spec("by-month", &[format!("{FS}month")], &[], &[]),
        spec(
            "by-supplier",
            std::slice::from_ref(&payee),
            &[],
            &[RDFS_LABEL, PREF_LABEL],
        ),
        spec("by-service-area", &[format!("{FS}expenseArea")], &[], &[]),
        spec("by-council", std::slice::from_ref(&payer), &[], &[]),
        spec(
            "by-supplier-council-quarter",
            &[payee, payer.clone(), quarter.clone()],
            &[payer, quarter],
            &[],
        ),
    ];
    // The quads are made a thousand payments at a time, and only their reading is timed: a
    // loader's parser hands each quad over just made, still in the cache, not read back from
    // gigabytes of memory.
    const CHUNK: u64 = 1_000;
    let mut quads = Vec::with_capacity(CHUNK as usize * 20);
    let graph = iri("http://bench.invalid/graph/bench/1/summary");
    let release = iri("http://bench.invalid/graph/bench/1");
    let (mut best, mut made, mut read) = (f64::MAX, 0, 0);
    for _ in 0..3 {
        let mut spent = std::time::Duration::ZERO;
        read = 0;
        let mut summarizer = Summarizer::new(&specs);
        for from in (0..rows).step_by(CHUNK as usize) {
            quads.clear();
            for i in from..rows.min(from + CHUNK) {
                payment(i, &mut quads);
            }
            read += quads.len();
            let started = std::time::Instant::now();
            for q in &quads {
                summarizer.add(q.as_ref());
            }
            spent += started.elapsed();
        }
        let started = std::time::Instant::now();
        made = summarizer
            .finish(
                graph.as_ref(),
                release.as_ref(),
                "http://bench.invalid/def/fivestar",
            )
            .len();
        spent += started.elapsed();
        best = best.min(spent.as_secs_f64());
    }
    println!(
        "summaries of {rows} payments ({read} quads): best of 3 runs {best:.3} s, {:.0} quads/s; {made} summary quads",
        read as f64 / best
    );
}
