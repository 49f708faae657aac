//! What a check shows an officer before anything is published: a summary of the data (so that
//! a payment of £12,000,000 or a date in 1900 stands out), a few resources as their pages will
//! show them, and the star rating the release would earn, with the reason for any star it
//! lacks.

use crate::screen::REDACTED;
use fivestar_store::rdf::{NamedOrBlankNodeRef, TermRef, TripleRef};
use fivestar_store::{Linked, StarFacts, Stars};
use fivestar_tidy::{Table, ValueKind};
use serde::{Deserialize, Serialize};
// Not SipHash: a check counts every subject of the file it converts.
use foldhash::HashSet;

/// A value and the source row it is on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct At {
    pub value: String,
    pub row: u64,
}

/// An amount column: its total, smallest and largest values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmountSummary {
    pub column: String,
    pub values: usize,
    pub total: String,
    pub min: At,
    pub max: At,
}

/// A date column: its first and last dates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DateSummary {
    pub column: String,
    pub first: At,
    pub last: At,
}

/// A summary of the clean table, after the gate's redactions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataSummary {
    pub rows: usize,
    pub amounts: Vec<AmountSummary>,
    pub dates: Vec<DateSummary>,
    /// (column, how many different values): names of organisations (suppliers, recipients).
    pub distinct: Vec<(String, usize)>,
    /// Rows with at least one redacted value.
    pub redacted_rows: usize,
    /// What looks odd: amounts far from the rest, dates long ago or in the future.
    pub outliers: Vec<String>,
}

/// How far the largest amount may be from the median before it is pointed out.
const AMOUNT_OUTLIER_FACTOR: f64 = 100.0;
/// Dates before this year are pointed out (a placeholder such as 01/01/1900).
const EARLIEST_LIKELY_YEAR: i32 = 1990;

/// A column as the summary reads it: its title, how its values are read, and whether it holds
/// organisations' names (whose different values are counted).
pub struct SummaryColumn<'a> {
    pub title: &'a str,
    pub kind: ValueKind,
    pub names: bool,
}

/// Summarises `table`, whose k-th column `columns[k]` describes (amounts and dates are in XSD
/// form by now).
pub fn summarise(
    table: &Table,
    columns: &[SummaryColumn<'_>],
    today: chrono::NaiveDate,
) -> DataSummary {
    let mut out = DataSummary {
        rows: table.rows.len(),
        ..DataSummary::default()
    };
    // By value ids: a column's redacted value has one id.
    let mut redacted = vec![false; table.rows.len()];
    for k in 0..table.rows.width() {
        let Some(id) = table.rows.id_of(k, REDACTED) else {
            continue;
        };
        for (r, &v) in redacted.iter_mut().zip(table.rows.ids(k)) {
            *r |= v == id;
        }
    }
    out.redacted_rows = redacted.iter().filter(|&&r| r).count();
    for (k, col) in columns.iter().enumerate() {
        if table.source_columns.get(k).is_none_or(|s| s.is_none()) {
            continue;
        }
        let title = col.title.to_string();
        let cells = table
            .rows
            .iter()
            .zip(&table.source_rows)
            .filter_map(|(r, &row)| r.get(k).filter(|v| !v.is_empty()).map(|v| (v, row)));
        match col.kind {
            ValueKind::Amount => {
                let mut values: Vec<(f64, &str, u64)> = cells
                    .filter_map(|(v, row)| v.parse::<f64>().ok().map(|n| (n, v, row)))
                    .filter(|(n, _, _)| n.is_finite())
                    .collect();
                if values.is_empty() {
                    continue;
                }
                let total: f64 = values.iter().map(|(n, _, _)| n).sum();
                values.sort_by(|a, b| a.0.total_cmp(&b.0));
                let (min, max) = (&values[0], &values[values.len() - 1]);
                let median = values[values.len() / 2].0.abs();
                if values.len() >= 10
                    && median > 0.0
                    && max.0.abs().max(min.0.abs()) > median * AMOUNT_OUTLIER_FACTOR
                {
                    let far = if max.0.abs() >= min.0.abs() { max } else { min };
                    out.outliers.push(format!(
                        "{title}: {} on row {} is more than {AMOUNT_OUTLIER_FACTOR:.0} times the typical value ({})",
                        grouped_decimal(far.1),
                        far.2,
                        money(median)
                    ));
                }
                out.amounts.push(AmountSummary {
                    column: title,
                    values: values.len(),
                    total: money(total),
                    min: At {
                        value: min.1.to_string(),
                        row: min.2,
                    },
                    max: At {
                        value: max.1.to_string(),
                        row: max.2,
                    },
                });
            }
            ValueKind::Date | ValueKind::DateTime => {
                // XSD dates and dateTimes sort as text within one column's form.
                let mut first: Option<(&str, u64)> = None;
                let mut last: Option<(&str, u64)> = None;
                for (v, row) in cells {
                    if first.is_none_or(|(f, _)| v < f) {
                        first = Some((v, row));
                    }
                    if last.is_none_or(|(l, _)| v > l) {
                        last = Some((v, row));
                    }
                }
                let (Some(first), Some(last)) = (first, last) else {
                    continue;
                };
                let year = |v: &str| v.get(..4).and_then(|y| y.parse::<i32>().ok());
                if year(first.0).is_some_and(|y| y < EARLIEST_LIKELY_YEAR) {
                    out.outliers.push(format!(
                        "{title}: {} on row {} is before {EARLIEST_LIKELY_YEAR}",
                        first.0, first.1
                    ));
                }
                let future = today
                    .checked_add_days(chrono::Days::new(366))
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default();
                if last.0.get(..10).is_some_and(|d| d > future.as_str()) {
                    out.outliers.push(format!(
                        "{title}: {} on row {} is more than a year ahead",
                        last.0, last.1
                    ));
                }
                out.dates.push(DateSummary {
                    column: title,
                    first: At {
                        value: first.0.to_string(),
                        row: first.1,
                    },
                    last: At {
                        value: last.0.to_string(),
                        row: last.1,
                    },
                });
            }
            _ if col.names => {
                let distinct: HashSet<&str> =
                    cells.map(|(v, _)| v).filter(|v| *v != REDACTED).collect();
                out.distinct.push((title, distinct.len()));
            }
            _ => {}
        }
    }
    out
}

/// An amount with two decimals and thousands separators: "1,234,567.80".
pub fn money(n: f64) -> String {
    let s = format!("{:.2}", n.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let grouped = fivestar_tidy::display::grouped(int);
    format!("{}{grouped}.{frac}", if n < 0.0 { "-" } else { "" })
}

/// An amount's lexical form as the report shows amounts, like [`money`] but never rounded:
/// the whole part grouped in threes, the fraction as written (`-1255.5` → `-1,255.5`).
/// Anything that is not a plain decimal is shown as it is.
pub fn grouped_decimal(v: &str) -> String {
    let (sign, rest) = match v.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", v.strip_prefix('+').unwrap_or(v)),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || frac.is_some_and(|f| f.is_empty() || !digits(f)) {
        return v.to_string();
    }
    let mut out = format!("{sign}{}", fivestar_tidy::display::grouped(int));
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// One resource as its page will show it: its IRI and its statements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub iri: String,
    /// (property IRI, value: an IRI in angle brackets or a literal's lexical form).
    pub statements: Vec<(String, String)>,
}

/// What the release of a check would look like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preview {
    /// The first few row resources.
    pub resources: Vec<Resource>,
    pub stars: u8,
    /// The reason for each star it would lack.
    pub missing: Vec<String>,
}

/// How many resources a preview shows.
pub const PREVIEW_RESOURCES: usize = 3;

/// Collects, from the triples a check converts (csv2rdf hands them over as it makes them, so
/// nothing is written and read back), the first row resources (subjects under
/// `{base}/id/{dataset}/`) and the facts the star rating needs; [`Collector::finish`] rates
/// them as a publish would.
pub struct Collector {
    data_base: String,
    own: String,
    resources: Vec<Resource>,
    /// The distinct named subjects: the entities the rating counts.
    subjects: HashSet<Box<str>>,
    outside_links: u64,
}

impl Collector {
    /// `data_base`: the dataset's data folder IRI; `own`: the instance's base IRI with its
    /// closing `/` (objects under it are not links to anyone else's data).
    pub fn new(data_base: &str, own: &str) -> Self {
        Collector {
            data_base: data_base.to_string(),
            own: own.to_string(),
            resources: Vec::new(),
            subjects: HashSet::default(),
            outside_links: 0,
        }
    }

    /// The preview, rated with the pipeline's licence and how well the rows linked.
    pub fn finish(self, licence: &str, linked: Option<&Linked>) -> Preview {
        let Stars { stars, missing, .. } = fivestar_store::rate(&StarFacts {
            licence,
            structured: !self.subjects.is_empty(),
            open_format: true,
            entities: self.subjects.len() as u64,
            outside_links: self.outside_links,
            linked,
        });
        Preview {
            resources: self.resources,
            stars,
            missing,
        }
    }
}

impl csvw::rdf::TripleSink for Collector {
    fn triple(&mut self, t: TripleRef<'_>) -> csvw::Result<()> {
        const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
        let NamedOrBlankNodeRef::NamedNode(subject) = t.subject else {
            return Ok(());
        };
        let subject = subject.as_str();
        let predicate = t.predicate.as_str();
        match t.object {
            TermRef::NamedNode(n) => {
                if predicate != RDF_TYPE && !n.as_str().starts_with(&self.own) {
                    self.outside_links += 1;
                }
            }
            TermRef::Literal(_) => {}
            _ => return Ok(()),
        }
        if subject.starts_with(&self.data_base) {
            let n = self.resources.len();
            let shown = || match t.object {
                TermRef::NamedNode(n) => format!("<{}>", n.as_str()),
                TermRef::Literal(l) => l.value().to_string(),
                _ => String::new(),
            };
            match self.resources.iter_mut().find(|r| r.iri == subject) {
                Some(r) => {
                    // A graph holds a triple once (two columns may link a row to the same
                    // council), and so does its page.
                    let statement = (predicate.to_string(), shown());
                    if !r.statements.contains(&statement) {
                        r.statements.push(statement);
                    }
                }
                None if n < PREVIEW_RESOURCES => self.resources.push(Resource {
                    iri: subject.to_string(),
                    statements: vec![(predicate.to_string(), shown())],
                }),
                None => {}
            }
        }
        if !self.subjects.contains(subject) {
            self.subjects.insert(subject.into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_sees_what_a_page_would_show() {
        use csvw::rdf::TripleSink;
        use fivestar_store::rdf::{BlankNode, Literal, NamedNode, Triple};
        let own = "http://x.test/";
        let data = "http://x.test/id/spend/";
        let iri = |s: &str| NamedNode::new(s).unwrap();
        let row = |n: u32| iri(&format!("{data}row/{n}"));
        let p = iri("http://x.test/def/amount");
        let link = iri("http://reference.data.gov.uk/def/payment#payee");
        let ty = iri("http://www.w3.org/1999/02/22-rdf-syntax-ns#type");
        let mut triples = Vec::new();
        for n in 1..=5 {
            triples.push(Triple::new(row(n), p.clone(), Literal::from(n)));
            // Links out: counted, but not rdf:type nor objects under the instance's base.
            triples.push(Triple::new(
                row(n),
                link.clone(),
                iri("http://elsewhere.test/s/1"),
            ));
            triples.push(Triple::new(
                row(n),
                ty.clone(),
                iri("http://elsewhere.test/Payment"),
            ));
            triples.push(Triple::new(
                row(n),
                link.clone(),
                iri("http://x.test/id/supplier/1"),
            ));
        }
        // A triple made twice (two columns giving the same link) is one statement.
        triples.push(Triple::new(row(1), p.clone(), Literal::from(1)));
        // Subjects outside the data folder count as entities but are not shown; blank nodes
        // are neither.
        triples.push(Triple::new(
            iri("http://x.test/id/supplier/1"),
            p.clone(),
            Literal::from(1),
        ));
        triples.push(Triple::new(
            BlankNode::default(),
            p.clone(),
            Literal::from(1),
        ));
        let mut c = Collector::new(data, own);
        for t in &triples {
            c.triple(t.as_ref()).unwrap();
        }
        assert_eq!(c.subjects.len(), 6);
        assert_eq!(c.outside_links, 5);
        let preview = c.finish(
            "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
            None,
        );
        assert_eq!(preview.resources.len(), PREVIEW_RESOURCES);
        assert_eq!(preview.resources[0].iri, format!("{data}row/1"));
        assert_eq!(
            preview.resources[0].statements,
            vec![
                ("http://x.test/def/amount".to_string(), "1".to_string()),
                (
                    link.as_str().to_string(),
                    "<http://elsewhere.test/s/1>".to_string()
                ),
                (
                    ty.as_str().to_string(),
                    "<http://elsewhere.test/Payment>".to_string()
                ),
                (
                    link.as_str().to_string(),
                    "<http://x.test/id/supplier/1>".to_string()
                ),
            ]
        );
        assert!(preview.stars >= 4, "{preview:?}");
    }

    #[test]
    fn money_groups_thousands() {
        assert_eq!(money(1234567.8), "1,234,567.80");
        assert_eq!(money(-12.0), "-12.00");
        assert_eq!(money(999.999), "1,000.00");
        assert_eq!(money(0.0), "0.00");
    }

    #[test]
    fn amounts_are_grouped_as_the_total_is_and_never_rounded() {
        assert_eq!(grouped_decimal("-1255.22"), "-1,255.22");
        assert_eq!(grouped_decimal("47713.175"), "47,713.175");
        assert_eq!(grouped_decimal("+1000000"), "1,000,000");
        assert_eq!(grouped_decimal("999"), "999");
        for odd in ["", "-", "1.", ".5", "1e5", "12,345", "NaN", "£5"] {
            assert_eq!(grouped_decimal(odd), odd);
        }
    }
}
