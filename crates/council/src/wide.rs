//! The wide layout of a template that has one (`[wide]`): a council's parking account published
//! one row per year with one column per line item ("On-street income", "Enforcement costs"…)
//! is read as the long layout the template describes (one row per year and item), before tidy.
//! Each generated row keeps its source row's number; the item is the source column's header.

use crate::template::{Template, Wide};
use fivestar_tidy::values::parse_amount;
use fivestar_tidy::{normalize_header, Grid, Problem};

/// At least this many line-item columns, most of whose values are amounts, make a file wide.
const MIN_ITEMS: usize = 2;

impl Template {
    /// `grid` in the long layout, when the template has a wide form and `grid` is in it: a
    /// header with the key column, without the item column, and line-item columns of amounts.
    /// The problem says what was done.
    pub fn unwide(&self, grid: &Grid) -> Option<(Grid, Problem)> {
        let wide = self.wide.as_ref()?;
        let key = self.column(&wide.key)?;
        let item = self.column(&wide.item)?;
        let rows: Vec<&(u64, Vec<String>)> = grid
            .rows
            .iter()
            .filter(|(_, c)| c.iter().any(|x| !x.trim().is_empty()))
            .collect();
        // The header: the first of the first rows with the key column and not the item column.
        let h = rows.iter().take(30).position(|(_, cells)| {
            let cols: Vec<Option<&str>> = cells
                .iter()
                .map(|c| self.column_for_header(c).map(|c| c.name.as_str()))
                .collect();
            cols.contains(&Some(key.name.as_str())) && !cols.contains(&Some(item.name.as_str()))
        })?;
        let (header_row, header) = (rows[h].0, &rows[h].1);
        let data = &rows[h + 1..];
        // Line items: headers no template column takes, whose values are mostly amounts.
        let mut key_at = None;
        let mut carried: Vec<(usize, String)> = Vec::new();
        let mut items: Vec<usize> = Vec::new();
        for (j, cell) in header.iter().enumerate() {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            match self.column_for_header(cell) {
                Some(c) if c.name == key.name && key_at.is_none() => key_at = Some(j),
                Some(c) if !wide_column(wide, &c.name) => carried.push((j, c.title.clone())),
                _ => {
                    let values: Vec<&str> = data
                        .iter()
                        .filter_map(|(_, r)| r.get(j).map(|v| v.trim()))
                        .filter(|v| !v.is_empty())
                        .collect();
                    let amounts = values.iter().filter(|v| parse_amount(v).is_ok()).count();
                    if !values.is_empty() && amounts * 10 >= values.len() * 9 {
                        items.push(j);
                    }
                }
            }
        }
        let key_at = key_at?;
        let evident = items
            .iter()
            .filter(|&&j| has_word(&header[j], &wide.evidence))
            .count();
        if items.len() < MIN_ITEMS || evident < MIN_ITEMS {
            return None;
        }
        let mut out_header = vec![key.title.clone(), item.title.clone()];
        let mut value_columns: Vec<String> = wide.values.iter().map(|v| v.column.clone()).collect();
        value_columns.push(wide.default.clone());
        value_columns.dedup();
        for c in &value_columns {
            out_header.push(self.column(c)?.title.clone());
        }
        out_header.extend(carried.iter().map(|(_, t)| t.clone()));
        let mut out = vec![(header_row, out_header)];
        for (n, cells) in data {
            let get = |j: usize| cells.get(j).map(|v| v.trim()).unwrap_or("");
            if get(key_at).is_empty() {
                continue;
            }
            for &j in &items {
                let v = get(j);
                if v.is_empty() {
                    continue;
                }
                let target = target_column(wide, &header[j]);
                let mut row = vec![get(key_at).to_string(), header[j].trim().to_string()];
                row.extend(value_columns.iter().map(|c| {
                    if *c == target {
                        v.to_string()
                    } else {
                        String::new()
                    }
                }));
                row.extend(carried.iter().map(|(k, _)| get(*k).to_string()));
                out.push((*n, row));
            }
        }
        let note = Problem::info(
            "wide-layout",
            format!(
                "read in the wide layout: one row per {} with {} line-item columns ({}); each became a row with the item as {:?}, {} row(s) in all",
                key.title.to_lowercase(),
                items.len(),
                items
                    .iter()
                    .map(|&j| format!("{:?} → {}", header[j].trim(), target_column(wide, &header[j])))
                    .collect::<Vec<_>>()
                    .join(", "),
                item.title,
                out.len() - 1
            ),
        )
        .row(header_row);
        Some((
            Grid {
                rows: out,
                ..grid.clone()
            },
            note,
        ))
    }
}

fn wide_column(wide: &Wide, name: &str) -> bool {
    name == wide.item || name == wide.default || wide.values.iter().any(|v| v.column == name)
}

/// Whether `header` has one of `words` (as whole words, ignoring case).
fn has_word(header: &str, words: &[String]) -> bool {
    let have: Vec<String> = header
        .split(|c: char| !c.is_alphanumeric())
        .map(normalize_header)
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().any(|w| have.contains(&normalize_header(w)))
}

/// The value column a line item's header puts its value in.
fn target_column(wide: &Wide, header: &str) -> String {
    wide.values
        .iter()
        .find(|v| has_word(header, &v.words))
        .map(|v| v.column.clone())
        .unwrap_or_else(|| wide.default.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: &[&[&str]]) -> Grid {
        Grid::from_rows(rows)
    }

    #[test]
    fn a_parking_account_one_row_per_year_becomes_one_row_per_item() {
        let t = Template::get("parking-account").unwrap();
        let g = grid(&[
            &["Parking account", "", "", "", ""],
            &[
                "Financial Year",
                "On-street parking income",
                "Penalty charge notices",
                "Enforcement costs",
                "Surplus",
            ],
            &["2022/23", "£1,200,000", "£300,000", "£900,000", "£600,000"],
            &["2023/24", "£1,250,000", "", "£950,000", "£300,000"],
        ]);
        let (long, note) = t.unwide(&g).unwrap();
        assert_eq!(long.rows[0].0, 2);
        assert_eq!(
            long.rows[0].1,
            ["Financial Year", "Item", "Income", "Amount", "Expenditure"]
        );
        assert_eq!(long.rows.len(), 1 + 4 + 3);
        assert_eq!(
            long.rows[1],
            (
                3,
                vec![
                    "2022/23".to_string(),
                    "On-street parking income".into(),
                    "£1,200,000".into(),
                    "".into(),
                    "".into()
                ]
            )
        );
        // Penalty charges are income; enforcement costs expenditure; a surplus neither.
        let row = |item: &str, year: &str| {
            long.rows
                .iter()
                .find(|(_, r)| r[1] == item && r[0] == year)
                .map(|(_, r)| r.clone())
                .unwrap()
        };
        assert_eq!(row("Penalty charge notices", "2022/23")[2], "£300,000");
        assert_eq!(row("Enforcement costs", "2023/24")[4], "£950,000");
        assert_eq!(row("Surplus", "2023/24")[3], "£300,000");
        assert!(
            note.message.contains("4 line-item columns"),
            "{}",
            note.message
        );
        // Fitting it: the wide file is a parking account.
        let fit = t.fit(&g);
        assert!(fit.confidence >= 0.5, "{fit:?}");
        // The long layout is left as it is.
        let long_file = grid(&[
            &["Financial Year", "Item", "Income", "Expenditure"],
            &["2023/24", "On-street", "100", ""],
        ]);
        assert!(t.unwide(&long_file).is_none());
        // A file of one amount column is not wide, nor yearly amounts of something else.
        let narrow = grid(&[&["Financial Year", "Total"], &["2023/24", "100"]]);
        assert!(t.unwide(&narrow).is_none());
        let fraud = grid(&[
            &[
                "Year",
                "Cases investigated",
                "Value of fraud",
                "Staff employed",
            ],
            &["2023/24", "12", "£40,000", "3"],
        ]);
        assert!(t.unwide(&fraud).is_none());
    }
}
