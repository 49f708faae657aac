//! A supplier's page, beyond its statements: what each council paid it, per year and per
//! quarter, its largest payments, and every payment in a table paged 50 at a time. A supplier
//! has one URI per council (`/id/council/{GSS}/supplier/{key}`) or per dataset; its page
//! gathers every URI with the same key, so the same firm paid by four councils is one page.
//! Every query names those URIs (VALUES) and has a LIMIT: the work is bounded by the
//! supplier's own payments.

use crate::html::{esc, labels, link};
use fivestar_store::rdf::{QueryResults, Term};
use fivestar_store::Store;
use fivestar_tidy::display;
use std::collections::{BTreeMap, HashMap};

const PAYMENT: &str = "http://reference.data.gov.uk/def/payment#";
const DCTERMS_DATE: &str = "http://purl.org/dc/terms/date";

/// The key of a supplier IRI (`…/supplier/{key}`, under a council or a dataset).
fn supplier_key<'a>(store: &Store, iri: &'a str) -> Option<&'a str> {
    let rest = iri.strip_prefix(&store.layout().id(""))?;
    let (_, key) = rest.rsplit_once("/supplier/")?;
    (!key.is_empty() && !key.contains('/')).then_some(key)
}

/// Every IRI a supplier with `key` may have on this site: under each council and each
/// dataset.
fn candidates(store: &Store, key: &str) -> Vec<String> {
    let layout = store.layout();
    let mut out: Vec<String> = fivestar_council::authorities()
        .unwrap_or_default()
        .iter()
        .map(|a| format!("{}{key}", layout.suppliers(Some(&a.gss), "")))
        .collect();
    if let Ok(datasets) = store.datasets() {
        out.extend(
            datasets
                .iter()
                .map(|d| format!("{}{key}", layout.suppliers(None, &d.id))),
        );
    }
    out.sort();
    out.dedup();
    out
}

fn rows(store: &Store, q: &str) -> Result<Vec<HashMap<String, Term>>, String> {
    match store.query_public(q).map_err(|e| e.to_string())? {
        QueryResults::Solutions(s) => s
            .map(|r| {
                r.map(|r| {
                    r.iter()
                        .map(|(v, t)| (v.as_str().to_string(), t.clone()))
                        .collect()
                })
                .map_err(|e| e.to_string())
            })
            .collect(),
        _ => Err("expected solutions".into()),
    }
}

fn text(t: Option<&Term>) -> String {
    match t {
        Some(Term::Literal(l)) => l.value().to_string(),
        Some(Term::NamedNode(n)) => n.as_str().to_string(),
        _ => String::new(),
    }
}

fn pounds(t: Option<&Term>) -> String {
    let v = text(t);
    display::pounds(&v).unwrap_or(v)
}

/// Totals of one grouping (a council, a year, a council's quarter): pounds and payments.
#[derive(Default, Clone, Copy)]
struct Sum {
    total: f64,
    payments: u64,
}

impl Sum {
    fn add(&mut self, value: f64, count: u64) {
        self.total += value;
        self.payments += count;
    }
}

/// The government year (April to March) of a calendar quarter's IRI:
/// `…/quarter/2024-Q1` → `…/government-year/2023-2024`, `…/quarter/2024-Q2` →
/// `…/government-year/2024-2025`.
fn government_year(quarter: &str) -> Option<String> {
    let (y, q) = quarter
        .strip_prefix("http://reference.data.gov.uk/id/quarter/")?
        .split_once("-Q")?;
    let y: i32 = y.parse().ok()?;
    let start = match q {
        "1" => y - 1,
        "2" | "3" | "4" => y,
        _ => return None,
    };
    Some(format!(
        "http://reference.data.gov.uk/id/government-year/{start}-{}",
        start + 1
    ))
}

/// What a supplier was paid: its totals, and its largest payments.
pub struct Summary {
    by_council: BTreeMap<String, Sum>,
    by_year: BTreeMap<String, Sum>,
    by_quarter: BTreeMap<String, BTreeMap<String, Sum>>,
    largest: Vec<HashMap<String, Term>>,
}

/// The summary of supplier `iri` (None when it is not a supplier or nothing paid it): its
/// totals by council, year and quarter from the live releases' `supplier-summary` figures
/// (computed when they were published), and its ten largest payments.
pub fn summary(st: &crate::AppState, iri: &str) -> Result<Option<Summary>, String> {
    let store = &st.store;
    let Some(key) = supplier_key(store, iri) else {
        return Ok(None);
    };
    let wanted: std::collections::HashSet<String> = candidates(store, key).into_iter().collect();
    let mut by_council: BTreeMap<String, Sum> = BTreeMap::new();
    let mut by_year: BTreeMap<String, Sum> = BTreeMap::new();
    let mut by_quarter: BTreeMap<String, BTreeMap<String, Sum>> = BTreeMap::new();
    let mut uris: Vec<String> = Vec::new();
    for d in store.datasets().map_err(|e| e.to_string())? {
        let Some(live) = &d.live else { continue };
        let figures = st.figures.get(store, &d.id, live);
        let Some(f) = figures.iter().find(|f| f.id == "supplier-summary") else {
            continue;
        };
        for r in f.rows.iter().filter(|r| wanted.contains(&r.key)) {
            let value: f64 = r
                .value
                .as_deref()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0);
            let count = r.count.unwrap_or(0);
            let by = |name: &str| {
                r.by.iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let payer = by("payer");
            by_council
                .entry(payer.clone())
                .or_default()
                .add(value, count);
            let quarter = by("quarter");
            if let Some(year) = government_year(&quarter) {
                by_year.entry(year).or_default().add(value, count);
            }
            if !quarter.is_empty() && !payer.is_empty() {
                by_quarter
                    .entry(payer)
                    .or_default()
                    .entry(quarter)
                    .or_default()
                    .add(value, count);
            }
            if !uris.contains(&r.key) {
                uris.push(r.key.clone());
            }
        }
    }
    if by_council.is_empty() {
        return Ok(None);
    }
    // The largest payments, and the details of this page's payments: both name their URIs.
    let values: String = uris.iter().map(|c| format!("<{c}> ")).collect();
    let largest = rows(
        store,
        &format!(
            "SELECT ?l ?a WHERE {{ VALUES ?sup {{ {values} }} ?l <{PAYMENT}payee> ?sup ; <{PAYMENT}netAmount> ?a }} \
             ORDER BY DESC(?a) LIMIT 10"
        ),
    )?;
    Ok(Some(Summary {
        by_council,
        by_year,
        by_quarter,
        largest,
    }))
}

/// The supplier sections of a page (empty without a summary): its totals by council, year and
/// quarter, its largest payments, and the page of what points at it as a table of payments
/// (date, council, amount, service).
pub fn sections(
    st: &crate::AppState,
    summary: Option<Summary>,
    incoming: &crate::resource::Incoming,
) -> Result<String, String> {
    let store = &st.store;
    let Some(Summary {
        by_council,
        by_year,
        by_quarter,
        largest,
    }) = summary
    else {
        return Ok(String::new());
    };
    let base = store.layout().base();
    let fs = |local: &str| fivestar_council::template::expand(&format!("fs:{local}"), base);
    let on_page: String = incoming
        .rows
        .iter()
        .filter_map(|(s, _)| match s {
            Term::NamedNode(n) => Some(format!("<{}> ", n.as_str())),
            _ => None,
        })
        .collect();
    let details = if on_page.is_empty() {
        Vec::new()
    } else {
        rows(
            store,
            &format!(
                "SELECT ?l ?a ?d ?payer ?area WHERE {{ VALUES ?l {{ {on_page} }} \
                 OPTIONAL {{ ?l <{PAYMENT}netAmount> ?a }} OPTIONAL {{ ?l <{DCTERMS_DATE}> ?d }} \
                 OPTIONAL {{ ?l <{PAYMENT}payer> ?payer }} OPTIONAL {{ ?l <{}> ?area }} }} LIMIT 500",
                fs("expenseArea")
            ),
        )?
    };
    let details: HashMap<String, &HashMap<String, Term>> =
        details.iter().map(|r| (text(r.get("l")), r)).collect();

    // Labels for councils and payments.
    let mut iris: Vec<String> = by_council
        .keys()
        .filter(|k| !k.is_empty())
        .cloned()
        .collect();
    for r in largest.iter().chain(details.values().copied()) {
        for v in ["l", "payer"] {
            if let Some(Term::NamedNode(n)) = r.get(v) {
                iris.push(n.as_str().to_string());
            }
        }
    }
    for (s, _) in &incoming.rows {
        if let Term::NamedNode(n) = s {
            iris.push(n.as_str().to_string());
        }
    }
    iris.sort();
    iris.dedup();
    let names = labels(store, &iris);
    let layout = store.layout();
    let named_iri = |i: &str| -> String {
        if i.is_empty() {
            return "<span class=\"muted\">not given</span>".into();
        }
        let shown = names
            .get(i)
            .cloned()
            .or_else(|| crate::resource::interval_text(i))
            .unwrap_or_else(|| i.to_string());
        link("iri", &crate::resource::href_of(i, layout), i, &shown)
    };

    let mut councils: Vec<(&String, &Sum)> = by_council.iter().collect();
    councils.sort_by(|a, b| b.1.total.total_cmp(&a.1.total));
    let grand = councils.iter().fold(Sum::default(), |mut acc, (_, s)| {
        acc.add(s.total, s.payments);
        acc
    });
    // A table of sums: what each row is (linked), its total and its payments.
    let sums_table = |head: &str, rows: &mut dyn Iterator<Item = (&String, &Sum)>| {
        let mut t = format!(
            "<table><tr><th>{head}</th><th class=\"num\">Total</th><th class=\"num\">Payments</th></tr>"
        );
        for (what, s) in rows {
            t.push_str(&format!(
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                named_iri(what),
                esc(&display::pounds_of(s.total)),
                display::grouped(&s.payments.to_string())
            ));
        }
        t + "</table>"
    };
    let mut out = format!(
        "<h2 id=\"paid\">Paid by each council</h2><p>{} payments, {} in all.</p>{}",
        display::grouped(&grand.payments.to_string()),
        esc(&display::pounds_of(grand.total)),
        sums_table("Council", &mut councils.iter().copied()),
    );
    if !by_year.is_empty() {
        out.push_str("<h2>Per year</h2>");
        out.push_str(&sums_table("Government year", &mut by_year.iter()));
    }
    if !by_quarter.is_empty() {
        out.push_str("<h2>Per council, per quarter</h2><div class=\"small-multiples\">");
        for (i, (payer, quarters)) in by_quarter.into_iter().enumerate().take(12) {
            let name = names.get(&payer).cloned().unwrap_or(payer);
            let f = fivestar_store::figures::Figure {
                id: format!("quarters-{i}"),
                title: format!("{name}: spend per quarter"),
                chart: "columns".into(),
                money: true,
                rows: quarters
                    .into_iter()
                    .map(|(q, s)| fivestar_store::figures::FigureRow {
                        key: q,
                        key_is_iri: true,
                        label: None,
                        value: Some(format!("{:.2}", s.total)),
                        count: Some(s.payments),
                        lat: None,
                        long: None,
                        by: Vec::new(),
                    })
                    .collect(),
            };
            out.push_str(&crate::charts::figure_html(store, None, &f));
        }
        out.push_str("</div>");
    }
    if !largest.is_empty() {
        out.push_str("<h2>Largest payments</h2><ol>");
        for r in &largest {
            out.push_str(&format!("<li>{}</li>", named_iri(&text(r.get("l")))));
        }
        out.push_str("</ol>");
    }
    // What points at it, as a table of payments.
    let pages = incoming
        .total
        .div_ceil(crate::resource::INCOMING_PER_PAGE)
        .max(1);
    out.push_str(&format!(
        "<h2 id=\"incoming\">Every payment</h2><p>{} statements point at it (its payments, newest first, and anything else that names it): page {} of {}.</p>\
<table><tr><th>Date</th><th>Council</th><th class=\"num\">Amount</th><th>Service</th><th>What</th></tr>",
        display::grouped(&incoming.total.to_string()),
        incoming.page,
        pages
    ));
    for (s, _) in &incoming.rows {
        let l = match s {
            Term::NamedNode(n) => n.as_str().to_string(),
            _ => continue,
        };
        let d = details.get(&l);
        let get = |v: &str| d.and_then(|r| r.get(v));
        let date = text(get("d"));
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&display::long_date(&date).unwrap_or(date)),
            match get("payer") {
                Some(Term::NamedNode(p)) => named_iri(p.as_str()),
                _ => String::new(),
            },
            esc(&pounds(get("a"))),
            esc(&text(get("area"))),
            named_iri(&l)
        ));
    }
    out.push_str("</table>");
    out.push_str(&crate::resource::pages_nav(incoming));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_fall_in_government_years() {
        let q = |s: &str| government_year(&format!("http://reference.data.gov.uk/id/quarter/{s}"));
        let y = |s: &str| {
            Some(format!(
                "http://reference.data.gov.uk/id/government-year/{s}"
            ))
        };
        assert_eq!(q("2024-Q1"), y("2023-2024"));
        assert_eq!(q("2024-Q2"), y("2024-2025"));
        assert_eq!(q("2024-Q4"), y("2024-2025"));
        assert_eq!(q("2024-Q5"), None);
        assert_eq!(government_year("http://example.org/2024-Q1"), None);
    }
}
