//! From a grid to a clean table: header row, blank rows, padding, empty and ragged columns,
//! the column mapping and value normalisation, every change noted.

use crate::values::{self, DateOrder, OrderEvidence, ValueKind};
use crate::{row_list, Grid, Problem, Severity};
use serde::Serialize;

/// One column of the clean table, as the mapping declares it.
#[derive(Debug, Clone, Default)]
pub struct ColumnRule {
    /// The header of the clean table.
    pub name: String,
    /// Source headers that map to this column (matched case-, space- and
    /// punctuation-insensitively); `name` always matches too. The order is the preference:
    /// when several of the file's headers match, the one earliest in `[name, aliases…]` is
    /// taken, and the others are named in a `column-choice` warning.
    pub aliases: Vec<String>,
    /// The one source header this column is read from, when the mapping names it: no other
    /// header is considered.
    pub source: Option<String>,
    pub kind: ValueKind,
    /// The day/month order of numeric dates, when the mapping knows it.
    pub date_order: Option<DateOrder>,
    /// A file without this column is an error (else a warning and an empty column).
    pub required: bool,
    /// Files often lack this column (a template's optional column): its absence is only
    /// noted (info), in one note with the others.
    pub optional: bool,
}

/// How to tidy.
#[derive(Debug, Clone, Default)]
pub struct TidyOptions {
    /// The clean table's columns; when empty, the source columns are kept as they are.
    pub columns: Vec<ColumnRule>,
}

/// A clean table and where each part came from.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// The source row of each row.
    pub source_rows: Vec<u64>,
    /// The source header of each column (`None`: the mapping's column was not in the file).
    pub source_columns: Vec<Option<String>>,
    /// The source row the header was found on.
    pub header_row: u64,
    /// The day/month order decided for each date column.
    pub date_orders: Vec<(String, DateOrder)>,
    /// Source headers that nothing in the mapping took.
    pub unmapped: Vec<String>,
}

impl Table {
    /// Writes the table as CSV (RFC 4180, UTF-8, LF line endings).
    pub fn write_csv<W: std::io::Write>(&self, out: W) -> std::io::Result<()> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(out);
        w.write_record(&self.header)?;
        for row in &self.rows {
            w.write_record(row)?;
        }
        w.flush()
    }

    /// The source row of the clean CSV's line `line` (the header is line 1).
    pub fn source_row_of_line(&self, line: u64) -> Option<u64> {
        match line {
            0 => None,
            1 => Some(self.header_row),
            n => self.source_rows.get(usize::try_from(n - 2).ok()?).copied(),
        }
    }
}

/// A header reduced to lower-case letters and digits, for matching.
pub fn normalize_header(h: &str) -> String {
    h.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn clean_cell(cell: &mut String) -> bool {
    let had_nbsp = cell.contains('\u{a0}');
    if had_nbsp {
        *cell = cell.replace('\u{a0}', " ");
    }
    let trimmed = cell.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if trimmed.len() != cell.len() {
        *cell = trimmed.to_string();
        return true;
    }
    had_nbsp
}

/// Tidies `grid` into a [`Table`]. Errors are notes with severity `Error`; the table is still
/// made as far as it can be, so that every problem is reported in one run.
pub fn tidy(grid: Grid, options: &TidyOptions, notes: &mut Vec<Problem>) -> Table {
    let mut rows = grid.rows;
    // 1. Padding and NBSP.
    let mut padded: Vec<usize> = Vec::new();
    for (_, cells) in rows.iter_mut() {
        for (j, c) in cells.iter_mut().enumerate() {
            if clean_cell(c) {
                if padded.len() <= j {
                    padded.resize(j + 1, 0);
                }
                padded[j] += 1;
            }
        }
    }
    // 2. Blank rows (also rows of only delimiters).
    let blank: Vec<u64> = rows
        .iter()
        .filter(|(_, c)| c.iter().all(String::is_empty))
        .map(|(n, _)| *n)
        .collect();
    rows.retain(|(_, c)| !c.iter().all(String::is_empty));
    if !blank.is_empty() {
        notes.push(Problem::info(
            "blank-rows",
            format!(
                "removed {} blank row(s) (empty, or only delimiters): row(s) {}",
                blank.len(),
                row_list(&blank, 12)
            ),
        ));
    }
    if rows.is_empty() {
        notes.push(Problem::error(
            "empty",
            "the file has no rows with any values",
        ));
        return Table::default();
    }
    // 3. The header row.
    let h = find_header(&rows, &options.columns);
    let header_row = rows[h].0;
    if h > 0 {
        let titles: Vec<String> = rows[..h]
            .iter()
            .map(|(_, c)| {
                c.iter()
                    .filter(|x| !x.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        notes.push(Problem::info(
            "title-rows",
            format!(
                "the header is on row {header_row}; {} row(s) above it left out: {}",
                h,
                titles
                    .iter()
                    .map(|t| format!("{t:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let mut data = rows.split_off(h + 1);
    let mut header = rows.pop().map(|(_, c)| c).unwrap_or_default();
    let width = header
        .iter()
        .rposition(|c| !c.is_empty())
        .map_or(0, |i| i + 1);
    header.truncate(width);
    for (j, n) in padded
        .iter()
        .enumerate()
        .filter(|(j, n)| **n > 0 && *j < width)
    {
        notes.push(
            Problem::info(
                "padding",
                format!("removed spaces or non-breaking spaces around {n} value(s)"),
            )
            .column(header[j].clone()),
        );
    }
    // 4. Beyond the header: trailing delimiters (empty) or ragged rows (values).
    let mut trailing = 0usize;
    let mut ragged_long = Vec::new();
    let mut ragged_short = Vec::new();
    for (n, cells) in data.iter_mut() {
        if cells.len() > width {
            if cells[width..].iter().all(String::is_empty) {
                trailing += 1;
            } else {
                let extra: Vec<&str> = cells[width..]
                    .iter()
                    .filter(|c| !c.is_empty())
                    .map(String::as_str)
                    .collect();
                ragged_long.push(*n);
                notes.push(
                    Problem::error(
                        "ragged-row",
                        format!("row {n} has values beyond the header's {width} columns"),
                    )
                    .row(*n)
                    .value(extra.join(" | ")),
                );
            }
            cells.truncate(width);
        } else if cells.len() < width {
            ragged_short.push(*n);
            notes.push(
                Problem::error(
                    "ragged-row",
                    format!(
                        "row {n} has {} cell(s); the header has {width} (a delimiter is missing or the row is cut)",
                        cells.len()
                    ),
                )
                .row(*n)
                .value(cells.join(",")),
            );
            cells.resize(width, String::new());
        }
    }
    if trailing > 0 {
        notes.push(Problem::info(
            "trailing-delimiters",
            format!("removed empty cells after the last column (trailing delimiters) on {trailing} row(s)"),
        ));
    }
    // Empty-header columns: dropped when empty, named when they hold values.
    let mut keep: Vec<usize> = Vec::new();
    for j in 0..width {
        if !header[j].is_empty() {
            keep.push(j);
        } else if data.iter().all(|(_, c)| c[j].is_empty()) {
            notes.push(Problem::info(
                "empty-columns",
                format!("removed column {} (no header, no values)", j + 1),
            ));
        } else {
            header[j] = format!("column {}", j + 1);
            notes.push(
                Problem::warning(
                    "missing-header",
                    format!(
                        "column {} has values but no header; named {:?}",
                        j + 1,
                        header[j]
                    ),
                )
                .row(header_row),
            );
            keep.push(j);
        }
    }
    let mut seen = std::collections::HashMap::new();
    for &j in &keep {
        let count = seen.entry(header[j].clone()).or_insert(0usize);
        *count += 1;
        if *count > 1 {
            let renamed = format!("{} ({})", header[j], count);
            notes.push(
                Problem::warning(
                    "duplicate-header",
                    format!(
                        "the header {:?} appears more than once; this one is {renamed:?}",
                        header[j]
                    ),
                )
                .row(header_row)
                .column(header[j].clone()),
            );
            header[j] = renamed;
        }
    }
    // 5. The mapping.
    let (out_header, sources, rules, unmapped) = if options.columns.is_empty() {
        (
            keep.iter().map(|&j| header[j].clone()).collect::<Vec<_>>(),
            keep.iter().map(|&j| Some(j)).collect::<Vec<_>>(),
            keep.iter()
                .map(|_| ColumnRule::default())
                .collect::<Vec<_>>(),
            Vec::new(),
        )
    } else {
        let mut taken = vec![false; width];
        let mut sources = Vec::new();
        let mut absent_optional = Vec::new();
        for rule in &options.columns {
            let wanted: Vec<String> = match &rule.source {
                Some(s) => vec![normalize_header(s)],
                None => std::iter::once(&rule.name)
                    .chain(rule.aliases.iter())
                    .map(|a| normalize_header(a))
                    .collect(),
            };
            // Every untaken header that fits, with its rank in the preference order.
            let mut fits: Vec<(usize, usize)> = keep
                .iter()
                .copied()
                .filter(|&j| !taken[j])
                .filter_map(|j| {
                    let h = normalize_header(&header[j]);
                    wanted
                        .iter()
                        .position(|w| !w.is_empty() && *w == h)
                        .map(|r| (r, j))
                })
                .collect();
            fits.sort();
            let found = fits.first().map(|&(_, j)| j);
            if let (Some(j), false) = (found, fits.len() < 2 || rule.source.is_some()) {
                let left: Vec<String> = fits[1..]
                    .iter()
                    .map(|&(_, o)| format!("{:?}", header[o]))
                    .collect();
                notes.push(
                    Problem::warning(
                        "column-choice",
                        format!(
                            "{} of the file's columns fit {:?}: took {:?} and left {} (the preference order is {}); to take another, name it with `source = \"HEADER\"` for this column in the pipeline",
                            fits.len(),
                            rule.name,
                            header[j],
                            left.join(", "),
                            quoted_list(
                                std::iter::once(&rule.name).chain(rule.aliases.iter()),
                                8,
                                " > "
                            )
                        ),
                    )
                    .row(header_row)
                    .column(header[j].clone()),
                );
            }
            match found {
                Some(j) => taken[j] = true,
                None if rule.optional && !rule.required => absent_optional.push(rule.name.clone()),
                None => {
                    let known: Vec<&str> = keep.iter().map(|&j| header[j].as_str()).collect();
                    let note = Problem::new(
                        if rule.required {
                            Severity::Error
                        } else {
                            Severity::Warning
                        },
                        "missing-column",
                        format!(
                            "no column for {:?} (looked for {}); the file's headers are {}",
                            rule.name,
                            match &rule.source {
                                Some(s) => format!("{s:?}, the source the pipeline names"),
                                None => quoted_list(
                                    std::iter::once(&rule.name).chain(rule.aliases.iter()),
                                    6,
                                    ", ",
                                ),
                            },
                            quoted_list(known.iter(), 12, ", ")
                        ),
                    )
                    .row(header_row)
                    .column(rule.name.clone());
                    notes.push(note);
                }
            }
            sources.push(found);
        }
        if !absent_optional.is_empty() {
            notes.push(
                Problem::info(
                    "optional-columns",
                    format!(
                        "{} optional column(s) not in the file, left empty: {}",
                        absent_optional.len(),
                        absent_optional
                            .iter()
                            .map(|a| format!("{a:?}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .row(header_row),
            );
        }
        let unmapped: Vec<String> = keep
            .iter()
            .filter(|&&j| !taken[j])
            .map(|&j| header[j].clone())
            .collect();
        for u in &unmapped {
            notes.push(
                Problem::warning(
                    "unmapped-column",
                    format!("column {u:?} is not in the mapping; it is left out of the clean table (the source file keeps it)"),
                )
                .row(header_row)
                .column(u.clone()),
            );
        }
        (
            options.columns.iter().map(|r| r.name.clone()).collect(),
            sources,
            options.columns.clone(),
            unmapped,
        )
    };
    let source_columns: Vec<Option<String>> = sources
        .iter()
        .map(|s| s.map(|j| header[j].clone()))
        .collect();
    let mut out_rows: Vec<Vec<String>> = data
        .iter()
        .map(|(_, cells)| {
            sources
                .iter()
                .map(|s| s.map(|j| cells[j].clone()).unwrap_or_default())
                .collect()
        })
        .collect();
    let source_rows: Vec<u64> = data.iter().map(|(n, _)| *n).collect();
    drop(std::mem::take(&mut data));
    // 6. Values.
    let mut date_orders = Vec::new();
    for (k, rule) in rules.iter().enumerate() {
        let column = source_columns[k]
            .clone()
            .unwrap_or_else(|| rule.name.clone());
        match rule.kind {
            ValueKind::Text => {}
            ValueKind::Amount | ValueKind::Integer => {
                normalize_numbers(&mut out_rows, &source_rows, k, rule.kind, &column, notes)
            }
            ValueKind::Date | ValueKind::DateTime => {
                if let Some(order) =
                    normalize_dates(&mut out_rows, &source_rows, k, rule, &column, notes)
                {
                    date_orders.push((column.clone(), order));
                }
            }
        }
    }
    Table {
        header: out_header,
        rows: out_rows,
        source_rows,
        source_columns,
        header_row,
        date_orders,
        unmapped,
    }
}

/// `"a", "b", "c" and 4 more`: at most `max` items quoted and joined by `sep`, then how many
/// were left out.
fn quoted_list<T: std::fmt::Debug>(
    items: impl Iterator<Item = T>,
    max: usize,
    sep: &str,
) -> String {
    let all: Vec<String> = items.map(|a| format!("{a:?}")).collect();
    if all.len() <= max {
        return all.join(sep);
    }
    format!("{} and {} more", all[..max].join(sep), all.len() - max)
}

/// The header is the row that matches the mapping best; without a mapping (or no match), the
/// first row about as wide as the widest of the first rows.
fn find_header(rows: &[(u64, Vec<String>)], rules: &[ColumnRule]) -> usize {
    let look = rows.len().min(30);
    if !rules.is_empty() {
        let wanted: std::collections::HashSet<String> = rules
            .iter()
            .flat_map(|r| {
                std::iter::once(&r.name)
                    .chain(r.aliases.iter())
                    .chain(r.source.iter())
            })
            .map(|a| normalize_header(a))
            .filter(|a| !a.is_empty())
            .collect();
        let mut best = (0usize, 0usize);
        for (i, (_, cells)) in rows[..look].iter().enumerate() {
            let score = cells
                .iter()
                .filter(|c| wanted.contains(&normalize_header(c)))
                .count();
            if score > best.1 {
                best = (i, score);
            }
        }
        if best.1 > 0 {
            return best.0;
        }
    }
    let filled = |c: &Vec<String>| c.iter().filter(|x| !x.is_empty()).count();
    let widest = rows[..look]
        .iter()
        .map(|(_, c)| filled(c))
        .max()
        .unwrap_or(0);
    let enough = (widest * 3).div_ceil(5).max(1);
    rows[..look]
        .iter()
        .position(|(_, c)| filled(c) >= enough)
        .unwrap_or(0)
}

fn normalize_numbers(
    rows: &mut [Vec<String>],
    source_rows: &[u64],
    k: usize,
    kind: ValueKind,
    column: &str,
    notes: &mut Vec<Problem>,
) {
    let mut changed = 0usize;
    let mut example = None;
    for (i, row) in rows.iter_mut().enumerate() {
        let raw = &row[k];
        if raw.is_empty() {
            continue;
        }
        let parsed = match kind {
            ValueKind::Integer => values::parse_integer(raw),
            _ => values::parse_amount(raw),
        };
        match parsed {
            Ok(v) => {
                if &v != raw {
                    changed += 1;
                    if example.is_none() {
                        example = Some((raw.clone(), v.clone()));
                    }
                    row[k] = v;
                }
            }
            Err(why) => notes.push(
                Problem::error(
                    if kind == ValueKind::Integer {
                        "integer"
                    } else {
                        "amount"
                    },
                    format!(
                        "not {} ({why})",
                        if kind == ValueKind::Integer {
                            "a whole number"
                        } else {
                            "an amount"
                        }
                    ),
                )
                .row(source_rows[i])
                .column(column)
                .value(raw.clone()),
            ),
        }
    }
    if let Some((from, to)) = example {
        notes.push(
            Problem::info(
                "amount-format",
                format!("normalised {changed} value(s), e.g. {from:?} → {to}"),
            )
            .column(column),
        );
    }
}

fn normalize_dates(
    rows: &mut [Vec<String>],
    source_rows: &[u64],
    k: usize,
    rule: &ColumnRule,
    column: &str,
    notes: &mut Vec<Problem>,
) -> Option<DateOrder> {
    let mut parsed = Vec::with_capacity(rows.len());
    let mut evidence = OrderEvidence::default();
    for (i, row) in rows.iter().enumerate() {
        let raw = &row[k];
        if raw.is_empty() {
            parsed.push(None);
            continue;
        }
        match values::parse_raw_date(raw) {
            Some(d) => {
                evidence.add(raw, &d.date);
                parsed.push(Some(d));
            }
            None => {
                notes.push(
                    Problem::error("date", "not a date in a form fivestar reads (e.g. 31/01/2024, 2024-01-31, 31-Jan-2024)")
                        .row(source_rows[i])
                        .column(column)
                        .value(raw.clone()),
                );
                parsed.push(None);
            }
        }
    }
    let order = match (rule.date_order, &evidence.day_first, &evidence.month_first) {
        (Some(o), _, _) => {
            notes.push(
                Problem::info(
                    "date-order",
                    format!("day/month order {} (declared by the mapping)", o.name()),
                )
                .column(column),
            );
            o
        }
        (None, Some(d), Some(m)) => {
            notes.push(
                Problem::error(
                    "date-order",
                    format!("the column mixes day-first ({d:?}) and month-first ({m:?}) dates; declare `date_order` and fix the other rows"),
                )
                .column(column),
            );
            DateOrder::Dmy
        }
        (None, Some(d), None) => {
            notes.push(
                Problem::info(
                    "date-order",
                    format!("day/month order dmy, decided by {d:?}"),
                )
                .column(column),
            );
            DateOrder::Dmy
        }
        (None, None, Some(m)) => {
            notes.push(
                Problem::info(
                    "date-order",
                    format!("day/month order mdy (month first), decided by {m:?}"),
                )
                .column(column),
            );
            DateOrder::Mdy
        }
        (None, None, None) => {
            if evidence.numeric > 0 {
                notes.push(
                    Problem::warning(
                        "date-order",
                        format!(
                            "no value in {} numeric dates decides the day/month order; assumed day first (UK); declare `date_order` to confirm",
                            evidence.numeric
                        ),
                    )
                    .column(column),
                );
            }
            DateOrder::Dmy
        }
    };
    let mut two_digit = 0usize;
    let mut dropped_time = None;
    let mut changed = 0usize;
    for (i, p) in parsed.into_iter().enumerate() {
        let Some(p) = p else { continue };
        let raw = rows[i][k].clone();
        let Some((y, m, d)) = values::resolve(p.date, order) else {
            notes.push(
                Problem::error(
                    "date",
                    format!("not a real date when read {}", order.name()),
                )
                .row(source_rows[i])
                .column(column)
                .value(raw),
            );
            continue;
        };
        two_digit += usize::from(p.two_digit_year);
        let out = match (rule.kind, p.time) {
            (ValueKind::DateTime, Some((h, mi, s))) => {
                format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
            }
            (ValueKind::DateTime, None) => format!("{y:04}-{m:02}-{d:02}T00:00:00"),
            (_, t) => {
                if t.is_some_and(|t| t != (0, 0, 0)) && dropped_time.is_none() {
                    dropped_time = Some((source_rows[i], raw.clone()));
                }
                format!("{y:04}-{m:02}-{d:02}")
            }
        };
        if out != raw {
            changed += 1;
        }
        rows[i][k] = out;
    }
    if changed > 0 {
        notes.push(
            Problem::info(
                "date-format",
                format!("wrote {changed} date(s) as ISO 8601"),
            )
            .column(column),
        );
    }
    if two_digit > 0 {
        notes.push(
            Problem::info(
                "two-digit-year",
                format!("{two_digit} date(s) have two-digit years: 00–69 read as 2000–2069, 70–99 as 1970–1999"),
            )
            .column(column),
        );
    }
    if let Some((row, raw)) = dropped_time {
        notes.push(
            Problem::warning(
                "time-dropped",
                "a date column holds times of day; only the dates are kept",
            )
            .row(row)
            .column(column)
            .value(raw),
        );
    }
    Some(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: &[&[&str]]) -> Grid {
        Grid::from_rows(rows)
    }

    fn rule(name: &str, aliases: &[&str], kind: ValueKind) -> ColumnRule {
        ColumnRule {
            name: name.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            kind,
            required: true,
            ..ColumnRule::default()
        }
    }

    #[test]
    fn title_rows_blank_rows_padding_and_trailing_delimiters() {
        let g = grid(&[
            &["Trafford Council", "", ""],
            &["Payments over £500", "", ""],
            &["", "", ""],
            &["Supplier Name ", "Amount", "Date", ""],
            &["\u{a0}Acme Ltd", "£1,234.56", "13/01/2024", ""],
            &["", "", "", ""],
            &["Bolt & Co", "(250.00)", "02/01/2024"],
            &["", "", ""],
        ]);
        let mut notes = vec![];
        let t = tidy(
            g,
            &TidyOptions {
                columns: vec![
                    rule("supplier", &["Supplier name", "Payee"], ValueKind::Text),
                    rule("amount", &["Net Amount", "amount"], ValueKind::Amount),
                    rule("date", &["Date"], ValueKind::Date),
                ],
            },
            &mut notes,
        );
        assert_eq!(t.header_row, 4);
        assert_eq!(t.header, vec!["supplier", "amount", "date"]);
        assert_eq!(
            t.rows,
            vec![
                vec!["Acme Ltd", "1234.56", "2024-01-13"],
                vec!["Bolt & Co", "-250.00", "2024-01-02"]
            ]
        );
        assert_eq!(t.source_rows, vec![5, 7]);
        assert_eq!(t.date_orders, vec![("Date".to_string(), DateOrder::Dmy)]);
        assert!(
            notes.iter().all(|n| n.severity != Severity::Error),
            "{notes:#?}"
        );
        for rule in [
            "title-rows",
            "blank-rows",
            "padding",
            "trailing-delimiters",
            "amount-format",
        ] {
            assert!(notes.iter().any(|n| n.rule == rule), "{rule}: {notes:#?}");
        }
        let mut out = Vec::new();
        t.write_csv(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "supplier,amount,date\nAcme Ltd,1234.56,2024-01-13\nBolt & Co,-250.00,2024-01-02\n"
        );
    }

    #[test]
    fn ragged_rows_are_errors_with_their_rows() {
        let g = grid(&[
            &["a", "b", "c"],
            &["1", "2", "3"],
            &["4", "5"],
            &["6", "7", "8", "9"],
        ]);
        let mut notes = vec![];
        let t = tidy(g, &TidyOptions::default(), &mut notes);
        let ragged: Vec<u64> = notes
            .iter()
            .filter(|n| n.rule == "ragged-row" && n.severity == Severity::Error)
            .filter_map(|n| n.row)
            .collect();
        assert_eq!(ragged, vec![3, 4]);
        assert_eq!(t.rows.len(), 3);
    }

    #[test]
    fn date_order_is_decided_per_column() {
        let g = grid(&[
            &["d"],
            &["07/27/2007 12:00:00 AM"],
            &["01/02/2007 12:00:00 AM"],
        ]);
        let mut notes = vec![];
        let t = tidy(
            g,
            &TidyOptions {
                columns: vec![rule("d", &[], ValueKind::Date)],
            },
            &mut notes,
        );
        assert_eq!(t.rows, vec![vec!["2007-07-27"], vec!["2007-01-02"]]);
        assert_eq!(t.date_orders[0].1, DateOrder::Mdy);

        let g = grid(&[&["d"], &["13/01/2024"], &["01/13/2024"]]);
        let mut notes = vec![];
        tidy(
            g,
            &TidyOptions {
                columns: vec![rule("d", &[], ValueKind::Date)],
            },
            &mut notes,
        );
        assert!(notes
            .iter()
            .any(|n| n.rule == "date-order" && n.severity == Severity::Error));

        let g = grid(&[&["d"], &["01/02/2024"]]);
        let mut notes = vec![];
        tidy(
            g,
            &TidyOptions {
                columns: vec![rule("d", &[], ValueKind::Date)],
            },
            &mut notes,
        );
        assert!(notes
            .iter()
            .any(|n| n.rule == "date-order" && n.severity == Severity::Warning));
    }

    #[test]
    fn missing_and_unmapped_columns_are_reported() {
        let g = grid(&[&["Payee", "Extra"], &["Acme", "x"]]);
        let mut notes = vec![];
        let t = tidy(
            g,
            &TidyOptions {
                columns: vec![
                    rule("supplier", &["Supplier Name", "payee"], ValueKind::Text),
                    rule("amount", &[], ValueKind::Amount),
                ],
            },
            &mut notes,
        );
        assert_eq!(t.rows, vec![vec!["Acme", ""]]);
        assert_eq!(t.unmapped, vec!["Extra"]);
        assert!(notes
            .iter()
            .any(|n| n.rule == "missing-column" && n.severity == Severity::Error));
        assert!(notes.iter().any(|n| n.rule == "unmapped-column"));
    }

    #[test]
    fn bad_values_name_row_column_and_value() {
        let g = grid(&[
            &["Amount", "Date"],
            &["£12", "31/02/2024"],
            &["twelve", "2024-01-01"],
        ]);
        let mut notes = vec![];
        tidy(
            g,
            &TidyOptions {
                columns: vec![
                    rule("Amount", &[], ValueKind::Amount),
                    rule("Date", &[], ValueKind::Date),
                ],
            },
            &mut notes,
        );
        let errors: Vec<(u64, &str, &str)> = notes
            .iter()
            .filter(|n| n.severity == Severity::Error)
            .map(|n| {
                (
                    n.row.unwrap(),
                    n.column.as_deref().unwrap(),
                    n.value.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            errors,
            vec![(3, "Amount", "twelve"), (2, "Date", "31/02/2024")]
        );
    }

    #[test]
    fn clean_lines_map_to_source_rows() {
        let g = grid(&[&["Title"], &["a", "b"], &["1", "2"], &["", ""], &["3", "4"]]);
        let t = tidy(g, &TidyOptions::default(), &mut vec![]);
        let rows: Vec<Option<u64>> = (0..5).map(|l| t.source_row_of_line(l)).collect();
        assert_eq!(rows, vec![None, Some(2), Some(3), Some(5), None]);
    }

    #[test]
    fn headers_match_loosely() {
        assert_eq!(normalize_header(" Supplier name "), "suppliername");
        assert_eq!(normalize_header("SUPPLIER_NAME"), "suppliername");
        assert_eq!(normalize_header("Supplier-Name."), "suppliername");
    }

    #[test]
    fn the_preferred_of_several_fitting_columns_is_taken_and_the_choice_reported() {
        let g = grid(&[
            &["Effective Date", "Supplier", "Payment Date", "Amount"],
            &["31/01/2024", "Acme", "15/01/2024", "10.00"],
        ]);
        let date = rule("Date", &["Payment Date", "Effective Date"], ValueKind::Date);
        let rules = vec![
            date.clone(),
            rule("Supplier", &[], ValueKind::Text),
            rule("Amount", &[], ValueKind::Amount),
        ];
        let mut notes = vec![];
        let t = tidy(
            g.clone(),
            &TidyOptions {
                columns: rules.clone(),
            },
            &mut notes,
        );
        assert_eq!(t.rows[0][0], "2024-01-15");
        assert_eq!(t.source_columns[0].as_deref(), Some("Payment Date"));
        assert_eq!(t.unmapped, vec!["Effective Date".to_string()]);
        let choice: Vec<_> = notes.iter().filter(|n| n.rule == "column-choice").collect();
        assert_eq!(choice.len(), 1, "{notes:?}");
        assert!(
            choice[0].message.contains("took \"Payment Date\"")
                && choice[0].message.contains("left \"Effective Date\""),
            "{}",
            choice[0].message
        );
        // A named source wins, and is not reported as a choice.
        let mut named = rules.clone();
        named[0].source = Some("effective date".into());
        let mut notes = vec![];
        let t = tidy(g.clone(), &TidyOptions { columns: named }, &mut notes);
        assert_eq!(t.rows[0][0], "2024-01-31");
        assert!(notes.iter().all(|n| n.rule != "column-choice"), "{notes:?}");
        // A named source the file lacks is missing, even when an alias would fit.
        let mut absent = rules;
        absent[0].source = Some("Posting Date".into());
        let mut notes = vec![];
        let t = tidy(g, &TidyOptions { columns: absent }, &mut notes);
        assert_eq!(t.source_columns[0], None);
        assert!(notes
            .iter()
            .any(|n| n.rule == "missing-column"
                && n.message.contains("\"Posting Date\", the source")));
    }
}
