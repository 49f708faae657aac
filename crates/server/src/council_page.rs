//! A council's page, `/doc/council/{GSS}` (its `/id/council/{GSS}` answers 303 there): what
//! this site holds about the council whose statistical-geography URI is
//! `http://statistics.data.gov.uk/id/statistical-geography/{GSS}`. Its datasets (those whose
//! rows it paid, or that it publishes), its total spend, its largest suppliers and service
//! areas. Everything comes from the figures computed when each release was published: the
//! page runs no aggregate over the store.
//!
//! Suppliers and service areas come from datasets the council alone paid from; a dataset of
//! several councils' payments counts towards their totals only (its largest suppliers are
//! not one council's).

use crate::html::{esc, link, page};
use fivestar_store::figures::Figure;
use fivestar_tidy::display;
use std::collections::HashMap;

/// The authority with GSS code `code` (current or former), if the reference list has it.
pub fn authority(code: &str) -> Option<fivestar_council::Authority> {
    let looks_like_gss = code.len() == 9
        && code.as_bytes()[0].is_ascii_uppercase()
        && code[1..].bytes().all(|b| b.is_ascii_digit());
    if !looks_like_gss {
        return None;
    }
    fivestar_council::authorities()
        .ok()?
        .into_iter()
        .find(|a| a.gss == code || a.former_gss.iter().any(|g| g == code))
}

struct Paid {
    title: String,
    id: String,
    total: f64,
    payments: u64,
    alone: bool,
}

/// The page of council `a`.
pub fn page_html(st: &crate::AppState, a: &fivestar_council::Authority) -> Result<String, String> {
    let store = &st.store;
    let iri = a.iri();
    let datasets = store.datasets().map_err(|e| e.to_string())?;
    let mut paid: Vec<Paid> = Vec::new();
    let mut published: Vec<(String, String)> = Vec::new();
    let mut suppliers: HashMap<String, (String, String, f64)> = HashMap::new();
    let mut services: HashMap<String, f64> = HashMap::new();
    for d in &datasets {
        let Some(live) = &d.live else { continue };
        let figures = st.figures.get(store, &d.id, live);
        let find = |id: &str| figures.iter().find(|f| f.id == id);
        let payers = find("payers");
        let mine = payers.and_then(|p| p.rows.iter().find(|r| r.key == iri));
        match mine {
            Some(row) => {
                let alone = payers.is_some_and(|p| p.rows.len() == 1);
                paid.push(Paid {
                    title: d.title.clone(),
                    id: d.id.clone(),
                    total: row
                        .value
                        .as_deref()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0.0),
                    payments: row.count.unwrap_or(0),
                    alone,
                });
                if alone {
                    add(
                        &mut suppliers,
                        &mut services,
                        find("largest-suppliers"),
                        find("largest-services"),
                    );
                }
            }
            None if d.publisher.as_deref() == Some(iri.as_str()) => {
                published.push((d.id.clone(), d.title.clone()));
            }
            None => {}
        }
    }
    let name = &a.official_name;
    let mut body = format!(
        "<h1>{}</h1><p class=\"muted\">GSS code {} · <a href=\"{}\">{}</a></p>",
        esc(name),
        esc(&a.gss),
        esc(&iri),
        esc(&iri)
    );
    if paid.is_empty() && published.is_empty() {
        body.push_str("<p>This site publishes no data of this council yet.</p>");
        return Ok(page(name, &body));
    }
    if !paid.is_empty() {
        let total: f64 = paid.iter().map(|p| p.total).sum();
        let payments: u64 = paid.iter().map(|p| p.payments).sum();
        body.push_str(&format!(
            "<h2>Spending</h2><p>{} payments, {} in all, in {} dataset{}.</p>\
<table><tr><th>Dataset</th><th class=\"num\">Total</th><th class=\"num\">Payments</th></tr>",
            display::grouped(&payments.to_string()),
            esc(&display::pounds_of(total)),
            paid.len(),
            if paid.len() == 1 { "" } else { "s" }
        ));
        for p in &paid {
            body.push_str(&format!(
                "<tr><td><a href=\"/dataset/{}\">{}</a>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&p.id),
                esc(&p.title),
                if p.alone { "" } else { " <span class=\"muted\">(several councils)</span>" },
                esc(&display::pounds_of(p.total)),
                display::grouped(&p.payments.to_string())
            ));
        }
        body.push_str("</table>");
    }
    if !suppliers.is_empty() {
        let mut top: Vec<_> = suppliers.into_values().collect();
        top.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
        body.push_str("<h2>Largest suppliers</h2><table><tr><th>Supplier</th><th class=\"num\">Paid</th></tr>");
        for (iri, label, total) in top.iter().take(10) {
            let href = crate::resource::href_of(iri, store.layout());
            body.push_str(&format!(
                "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
                link("iri", &href, iri, label),
                esc(&display::pounds_of(*total))
            ));
        }
        body.push_str("</table>");
    }
    if !services.is_empty() {
        let mut top: Vec<_> = services.into_iter().collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        body.push_str("<h2>Largest service areas</h2><table><tr><th>Service area</th><th class=\"num\">Spent</th></tr>");
        for (area, total) in top.iter().take(10) {
            body.push_str(&format!(
                "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
                esc(area),
                esc(&display::pounds_of(*total))
            ));
        }
        body.push_str("</table>");
    }
    if !published.is_empty() {
        body.push_str("<h2>Other datasets it publishes</h2><ul>");
        for (id, title) in &published {
            body.push_str(&format!(
                "<li><a href=\"/dataset/{}\">{}</a></li>",
                esc(id),
                esc(title)
            ));
        }
        body.push_str("</ul>");
    }
    body.push_str(
        "<p class=\"muted\">Totals are computed from each dataset's live release when it was published.</p>",
    );
    Ok(page(name, &body))
}

/// Adds a single-council dataset's largest suppliers (by supplier key, so one firm across
/// datasets is one row) and service areas.
fn add(
    suppliers: &mut HashMap<String, (String, String, f64)>,
    services: &mut HashMap<String, f64>,
    largest: Option<&Figure>,
    areas: Option<&Figure>,
) {
    for r in largest.map(|f| f.rows.as_slice()).unwrap_or_default() {
        let v: f64 = r
            .value
            .as_deref()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        let key = r.key.rsplit('/').next().unwrap_or(&r.key).to_string();
        let e = suppliers.entry(key).or_insert_with(|| {
            (
                r.key.clone(),
                r.label.clone().unwrap_or_else(|| r.key.clone()),
                0.0,
            )
        });
        e.2 += v;
    }
    for r in areas.map(|f| f.rows.as_slice()).unwrap_or_default() {
        let v: f64 = r
            .value
            .as_deref()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        *services.entry(r.key.clone()).or_default() += v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn councils_are_found_by_gss_code_only() {
        let leeds = authority("E08000035").expect("Leeds");
        assert!(
            leeds.official_name.contains("Leeds"),
            "{}",
            leeds.official_name
        );
        assert!(authority("E0800003").is_none());
        assert!(authority("e08000035").is_none());
        assert!(authority("../../etc").is_none());
        assert!(authority("X99999999").is_none());
    }
}
