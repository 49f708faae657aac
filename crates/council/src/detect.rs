//! Which template fits a file: by its headers (how many of the file's headers a template
//! explains, and how many of the template's core columns the file has) and its values (do the
//! amount, date and number columns hold amounts, dates and numbers).

use crate::template::Template;
use fivestar_tidy::values::{parse_amount, parse_integer, parse_raw_date};
use fivestar_tidy::{normalize_header, ColumnRule, Grid, ValueKind};
use serde::Serialize;

/// Below this confidence no template is said to fit.
pub const MIN_CONFIDENCE: f64 = 0.5;

/// How well one template fits.
#[derive(Debug, Clone, Serialize)]
pub struct Fit {
    pub template: String,
    /// 0 to 1.
    pub confidence: f64,
    /// The source row of the header the score was taken on.
    pub header_row: u64,
    /// Each source header and the template column it maps to.
    pub columns: Vec<(String, Option<String>)>,
    /// Core columns the file lacks.
    pub missing_core: Vec<String>,
    /// Of the sampled typed values (amounts, dates, numbers), the share that read as such.
    pub values_ok: Option<f64>,
}

impl Template {
    /// The tidy rules for this template's columns: the clean header is the template title.
    pub fn rules(&self) -> Vec<ColumnRule> {
        self.columns
            .iter()
            .map(|c| ColumnRule {
                name: c.title.clone(),
                aliases: c
                    .aliases
                    .iter()
                    .cloned()
                    .chain(std::iter::once(c.name.clone()))
                    .collect(),
                kind: c.format,
                date_order: None,
                required: false,
                optional: !c.core && !c.required,
                source: None,
            })
            .collect()
    }

    /// The template column a source header means.
    pub fn column_for_header(&self, header: &str) -> Option<&crate::template::Column> {
        let key = normalize_header(header);
        if key.is_empty() {
            return None;
        }
        self.headers_index.get(&key).map(|&i| &self.columns[i])
    }

    /// How well this template fits `grid` (read in the long layout first when it is in the
    /// template's wide one).
    pub fn fit(&self, grid: &Grid) -> Fit {
        if let Some((long, _)) = self.unwide(grid) {
            return self.fit_long(&long);
        }
        self.fit_long(grid)
    }

    fn fit_long(&self, grid: &Grid) -> Fit {
        let rows: Vec<&(u64, Vec<String>)> = grid
            .rows
            .iter()
            .filter(|(_, c)| c.iter().any(|x| !x.trim().is_empty()))
            .collect();
        let look = rows.len().min(30);
        let mut best: Option<(usize, usize)> = None;
        for (i, (_, cells)) in rows[..look].iter().enumerate() {
            let mut taken = std::collections::HashSet::new();
            for c in cells {
                if let Some(col) = self.column_for_header(c) {
                    taken.insert(col.name.as_str());
                }
            }
            if best.is_none_or(|(_, n)| taken.len() > n) {
                best = Some((i, taken.len()));
            }
        }
        let Some((h, _)) = best else {
            return Fit {
                template: self.id.clone(),
                confidence: 0.0,
                header_row: 0,
                columns: Vec::new(),
                missing_core: self.core_names(),
                values_ok: None,
            };
        };
        let (header_row, header) = (rows[h].0, &rows[h].1);
        // Each template column takes the file's header it prefers (its title, then its aliases
        // in order), as tidy will: a file with Effective Date and Payment Date maps Payment Date.
        let keys: Vec<String> = header.iter().map(|c| normalize_header(c.trim())).collect();
        let mut owner: Vec<Option<usize>> = vec![None; header.len()];
        for (i, c) in self.columns.iter().enumerate() {
            let wanted: Vec<String> = Template::headers(c)
                .chain([&c.name])
                .map(|h| normalize_header(h))
                .collect();
            let best = keys
                .iter()
                .enumerate()
                .filter(|(j, k)| owner[*j].is_none() && !k.is_empty())
                .filter_map(|(j, k)| wanted.iter().position(|w| w == k).map(|r| (r, j)))
                .min();
            if let Some((_, j)) = best {
                owner[j] = Some(i);
            }
        }
        let mut columns = Vec::new();
        let mut taken: Vec<&str> = Vec::new();
        let mut typed: Vec<(usize, ValueKind)> = Vec::new();
        for (j, cell) in header.iter().enumerate() {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            let col = owner[j].map(|i| &self.columns[i]);
            if let Some(c) = col {
                taken.push(&c.name);
                if c.format != ValueKind::Text {
                    typed.push((j, c.format));
                }
            }
            columns.push((cell.to_string(), col.map(|c| c.name.clone())));
        }
        let headers = columns.len().max(1) as f64;
        let matched = columns.iter().filter(|(_, c)| c.is_some()).count() as f64;
        let core: Vec<&str> = self
            .columns
            .iter()
            .filter(|c| c.core)
            .map(|c| c.name.as_str())
            .collect();
        let missing_core: Vec<String> = core
            .iter()
            .filter(|c| !taken.contains(c))
            .map(|c| c.to_string())
            .collect();
        let core_share = if core.is_empty() {
            0.0
        } else {
            (core.len() - missing_core.len()) as f64 / core.len() as f64
        };
        // Values: a sample of the rows under the header.
        let (mut tried, mut ok) = (0usize, 0usize);
        for (_, cells) in rows[h + 1..].iter().take(50) {
            for &(j, kind) in &typed {
                let Some(v) = cells.get(j).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
                    continue;
                };
                tried += 1;
                let good = match kind {
                    ValueKind::Amount => parse_amount(v).is_ok(),
                    ValueKind::Integer => parse_integer(v).is_ok(),
                    ValueKind::Date | ValueKind::DateTime => parse_raw_date(v).is_some(),
                    ValueKind::Text => true,
                };
                ok += usize::from(good);
            }
        }
        let values_ok = (tried > 0).then(|| ok as f64 / tried as f64);
        let headers_score = 0.4 * (matched / headers) + 0.6 * core_share;
        let mut confidence = headers_score * (0.7 + 0.3 * values_ok.unwrap_or(1.0));
        if matched < 2.0 {
            confidence = confidence.min(0.2);
        }
        Fit {
            template: self.id.clone(),
            confidence: (confidence * 1000.0).round() / 1000.0,
            header_row,
            columns,
            missing_core,
            values_ok,
        }
    }

    fn core_names(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter(|c| c.core)
            .map(|c| c.name.clone())
            .collect()
    }
}

/// Every template's fit to `grid`, best first.
pub fn rank(grid: &Grid) -> Result<Vec<Fit>, String> {
    let mut fits: Vec<Fit> = Template::all()?.iter().map(|t| t.fit(grid)).collect();
    fits.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    Ok(fits)
}

/// The template that fits `grid` well enough, if any: the best fit when its confidence is at
/// least [`MIN_CONFIDENCE`].
pub fn detect(grid: &Grid) -> Result<Option<Fit>, String> {
    Ok(rank(grid)?
        .into_iter()
        .next()
        .filter(|f| f.confidence >= MIN_CONFIDENCE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: &[&[&str]]) -> Grid {
        Grid::from_rows(rows)
    }

    #[test]
    fn spending_is_spend() {
        let g = grid(&[
            &["Payments over £500", "", "", ""],
            &[
                "Payment Date",
                "Beneficiary Name",
                "Amount £",
                "Expense Type",
                "Service Area",
            ],
            &["01/04/2024", "Acme Ltd", "£1,200.00", "Repairs", "Highways"],
        ]);
        let f = detect(&g).unwrap().unwrap();
        assert_eq!(f.template, "spend");
        assert_eq!(f.header_row, 2);
        assert!(f.confidence >= 0.5, "{f:?}");
        assert_eq!(
            f.columns[1],
            ("Beneficiary Name".into(), Some("supplier_name".into()))
        );
    }

    #[test]
    fn a_file_that_fits_nothing_says_so() {
        let g = grid(&[&["Species", "Wingspan", "Colour"], &["Robin", "21", "red"]]);
        assert!(detect(&g).unwrap().is_none());
        let best = &rank(&g).unwrap()[0];
        assert!(best.confidence < MIN_CONFIDENCE, "{best:?}");
    }

    #[test]
    fn bad_values_lower_the_confidence() {
        let good = grid(&[
            &["Date", "Supplier Name", "Net Amount", "Expense Type"],
            &["01/04/2024", "Acme", "100.00", "x"],
        ]);
        let bad = grid(&[
            &["Date", "Supplier Name", "Net Amount", "Expense Type"],
            &["soon", "Acme", "lots", "x"],
        ]);
        let t = Template::get("spend").unwrap();
        assert!(t.fit(&good).confidence > t.fit(&bad).confidence);
    }
}
