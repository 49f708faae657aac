//! The gate before anything is converted: a table that is not data (no rows, or far fewer
//! than the live release) is refused outright; then redaction, the personal-data screen and
//! the pipeline's own rules, whose errors block publication.

use crate::config::{Personal, Pipeline};
use crate::mapping::Mapping;
use crate::report::{Problem, Report, Severity, LISTED_PER_RULE};
use crate::screen;
use fivestar_tidy::{Table, ValueKind};
use std::collections::HashMap;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Refuses a table that is not data: a header without rows would replace the live release
/// with nothing, and a source that lost most of its rows is more likely broken than reformed.
/// `live_rows` is the live release's row count; `force` lets a shrink through. `false`: blocked.
pub fn enough_rows(
    table: &Table,
    pipeline: &Pipeline,
    live_rows: Option<u64>,
    force: bool,
    file: &str,
    report: &mut Report,
) -> bool {
    if table.rows.is_empty() {
        report.problems.push(Problem::error(
            "no-rows",
            format!("{file} has a header row but no data rows: there is nothing to publish"),
        ));
        return false;
    }
    if let Some(live) = live_rows.filter(|_| !force) {
        let rows = table.rows.len() as u64;
        let allowed = pipeline.rules.allow_shrink();
        let lost = live.saturating_sub(rows) as f64 / live.max(1) as f64;
        if lost > allowed {
            report.problems.push(Problem::error(
                "shrink",
                format!(
                    "{file} has {rows} rows; the live release has {live} ({:.0}% fewer, and at most {:.0}% may go): run with --force, or set allow_shrink in [rules], if the source really shrank",
                    lost * 100.0,
                    allowed * 100.0
                ),
            ));
            return false;
        }
    }
    true
}

/// Masks personal data in a report: enough to find the cell, not enough to read it.
fn mask(v: &str) -> String {
    let chars: Vec<char> = v.chars().collect();
    if chars.len() <= 4 {
        return "****".into();
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}…{tail} ({} characters, masked)", chars.len())
}

/// Redacts what the pipeline asks, screens the rest for personal data, and checks the
/// pipeline's `required` and `unique` rules. Problems go to the report; errors block.
pub fn screen(
    pipeline: &Pipeline,
    mapping: &Mapping,
    table: &mut Table,
    file: &str,
    report: &mut Report,
) {
    let sources: Vec<String> = (0..mapping.columns.len())
        .map(|k| mapping.source_header(table, k))
        .collect();
    let mut push = |p: Problem| report.problems.push(p.file(file));
    for (k, col) in mapping.columns.iter().enumerate() {
        let shown = sources[k].as_str();
        match col.personal {
            Personal::Redact => {
                let mut n = 0;
                for row in table.rows.iter_mut().filter(|r| !r[k].is_empty()) {
                    row[k] = REDACTED.into();
                    n += 1;
                }
                push(
                    Problem::new(
                        Severity::Info,
                        "redacted",
                        format!("redacted {n} value(s), as the pipeline asks"),
                    )
                    .column(shown),
                );
                continue;
            }
            Personal::Allow => continue,
            Personal::Screen => {}
        }
        if col.may_name_individuals {
            push(Problem::error(
                "personal-data:names",
                format!(
                    "this column may name individuals: after checking, set `personal = \"allow\"` or `personal = \"redact\"` under [columns.{:?}] in {}",
                    col.name,
                    pipeline.file.display()
                ),
            ).column(shown));
        }
        if col.rule.kind != ValueKind::Text {
            continue;
        }
        let mut found = 0usize;
        for (i, row) in table.rows.iter().enumerate() {
            let Some(f) = screen::screen(&row[k]) else {
                continue;
            };
            found += 1;
            if found <= LISTED_PER_RULE {
                push(Problem::error(
                    f.rule(),
                    format!(
                        "looks like {}: publication is blocked; set `personal = \"redact\"` (or `\"allow\"` if it is not personal) under [columns.{:?}]",
                        f.describe(),
                        col.name
                    ),
                )
                .row(table.source_rows[i])
                .column(shown)
                .value(mask(&row[k])));
            }
        }
        if found > LISTED_PER_RULE {
            push(
                Problem::error(
                    "personal-data",
                    format!("{} more cells with personal data", found - LISTED_PER_RULE),
                )
                .column(shown),
            );
        }
    }
    for k in pipeline
        .rules
        .required
        .iter()
        .filter_map(|n| mapping.index(n))
    {
        for (i, _) in table
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r[k].is_empty())
        {
            push(
                Problem::error("rules:required", "a value is required in every row")
                    .row(table.source_rows[i])
                    .column(&sources[k]),
            );
        }
    }
    for k in pipeline
        .rules
        .unique
        .iter()
        .filter_map(|n| mapping.index(n))
    {
        let mut first: HashMap<&str, u64> = HashMap::new();
        for (i, row) in table
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !r[k].is_empty())
        {
            if let Some(prev) = first.insert(&row[k], table.source_rows[i]) {
                push(
                    Problem::error(
                        "rules:unique",
                        format!("the value is also on row {prev}; values must be unique"),
                    )
                    .row(table.source_rows[i])
                    .column(&sources[k])
                    .value(row[k].clone()),
                );
            }
        }
    }
}
