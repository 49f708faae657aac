//! The gate before anything is converted: a table that is not data (no rows, or far fewer
//! than the live release) is refused outright; then redaction, the personal-data screen and
//! the pipeline's own rules, whose errors block publication.

use crate::config::{Personal, Pipeline};
use crate::mapping::Mapping;
use crate::report::{Problem, Report, Severity, LISTED_PER_RULE};
use crate::screen;
use fivestar_tidy::{Table, ValueKind};
// Not SipHash: these maps are keyed by every row's values (SipHash was 5 % of gate and links).
use foldhash::HashMap;

pub use crate::screen::REDACTED;

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

/// Whether a column's header says it holds NHS numbers.
fn header_says_nhs(header: &str) -> bool {
    let h = header.to_lowercase();
    h.contains("nhs") || h.contains("chi number") || h.contains("health number")
}

/// Redacts what the pipeline asks; screens the rest for personal data (redacting, in a names
/// column, the values that look like a person's name and the council's own placeholders);
/// checks the pipeline's `required` and `unique` rules. Problems go to the report; errors
/// block.
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
        if table.source_columns.get(k).is_none_or(|s| s.is_none()) {
            continue;
        }
        match col.personal {
            Personal::Redact => {
                let mut n = 0;
                for i in 0..table.rows.len() {
                    if !table.rows.get(i, k).is_empty() {
                        table.rows.set(i, k, REDACTED);
                        n += 1;
                    }
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
            Personal::Drop => {
                let mut n = 0;
                for i in 0..table.rows.len() {
                    if !table.rows.get(i, k).is_empty() {
                        table.rows.set(i, k, "");
                        n += 1;
                    }
                }
                push(
                    Problem::new(
                        Severity::Info,
                        "dropped",
                        format!("left out {n} value(s): the pipeline drops this column"),
                    )
                    .column(shown),
                );
                continue;
            }
            Personal::Allow => continue,
            Personal::Screen => {}
        }
        if col.individuals {
            push(Problem::error(
                "personal-data:names",
                format!(
                    "every value of this column names a person: after checking, set `personal = \"allow\"`, `\"redact\"` or `\"drop\"` under [columns.{:?}] in {}",
                    col.name,
                    pipeline.file.display()
                ),
            ).column(shown));
        } else if col.may_name_individuals {
            redact_people(table, k, shown, &mut push);
        }
        if col.rule.kind != ValueKind::Text {
            continue;
        }
        screen_column(table, k, col, shown, &mut push);
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
        let mut first: HashMap<&str, u64> = HashMap::default();
        for (i, row) in table
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !r[k].is_empty())
        {
            if let Some(prev) = first.insert(row.cell(k), table.source_rows[i]) {
                push(
                    Problem::error(
                        "rules:unique",
                        format!("the value is also on row {prev}; values must be unique"),
                    )
                    .row(table.source_rows[i])
                    .column(&sources[k])
                    .value(row.cell(k)),
                );
            }
        }
    }
}

/// In a column of organisations' names that may name people (suppliers, recipients): the
/// council's own placeholders and the values that look like a person's name are redacted, and
/// the report says how many and why, with the first rows.
fn redact_people(table: &mut Table, k: usize, shown: &str, push: &mut impl FnMut(Problem)) {
    let mut placeholders = 0usize;
    let mut people: Vec<(&'static str, usize)> = Vec::new();
    let mut listed = 0usize;
    // What each distinct value is, worked out once: a placeholder, a person's name (why), or
    // neither.
    enum Is {
        Kept,
        Placeholder,
        Person(&'static str),
    }
    let mut seen: Vec<Option<Is>> = (0..table.rows.distinct(k)).map(|_| None).collect();
    let ids = table.rows.ids(k).to_vec();
    for (i, id) in ids.into_iter().enumerate() {
        let is = seen[id as usize].get_or_insert_with(|| {
            let v = table.rows.value_of(k, id);
            if v.is_empty() || v == REDACTED {
                Is::Kept
            } else if screen::placeholder(v) {
                Is::Placeholder
            } else {
                screen::person_name(v).map_or(Is::Kept, Is::Person)
            }
        });
        let why = match is {
            Is::Kept => continue,
            Is::Placeholder => {
                placeholders += 1;
                table.rows.set(i, k, REDACTED);
                continue;
            }
            Is::Person(why) => *why,
        };
        let v = table.rows.get(i, k);
        match people.iter_mut().find(|(w, _)| *w == why) {
            Some((_, n)) => *n += 1,
            None => people.push((why, 1)),
        }
        if listed < 3 {
            listed += 1;
            push(
                Problem::new(
                    Severity::Info,
                    "personal-data:person-name",
                    format!("looks like a person's name ({why}): redacted"),
                )
                .row(table.source_rows[i])
                .column(shown)
                .value(mask(v)),
            );
        }
        table.rows.set(i, k, REDACTED);
    }
    let total: usize = people.iter().map(|(_, n)| n).sum();
    if total > 0 {
        push(
            Problem::warning(
                "personal-data:person-name",
                format!(
                    "redacted {total} value(s) that look like a person's name rather than an organisation's ({}); the rest are published. If they are businesses, set `personal = \"allow\"` for this column after checking",
                    people
                        .iter()
                        .map(|(w, n)| format!("{n}: {w}"))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            )
            .column(shown),
        );
    }
    if placeholders > 0 {
        push(
            Problem::new(
                Severity::Info,
                "personal-data:placeholder",
                format!(
                    "{placeholders} value(s) are the council's own redaction placeholder (\"Redacted\", \"Personal Information\"…): published as redacted, not as a supplier"
                ),
            )
            .column(shown),
        );
    }
}

/// Email addresses, phone numbers, NI numbers and NHS numbers in a text column. A bare
/// ten-digit number that passes the NHS check counts only when the header says NHS or most
/// of the column's numbers pass (a tenth of any ten-digit numbers do); NHS numbers written
/// 3-3-4, and every other finding, count in any column.
fn screen_column(
    table: &Table,
    k: usize,
    col: &crate::mapping::MappedColumn,
    shown: &str,
    push: &mut impl FnMut(Problem),
) {
    let mut findings: Vec<(usize, screen::Finding)> = Vec::new();
    let (mut ten_digit, mut bare_nhs) = (0usize, 0usize);
    // What the screen makes of each distinct value, worked out once: (ten digits, finding,
    // a bare NHS number).
    type Seen = (bool, Option<screen::Finding>, bool);
    let mut seen: Vec<Option<Seen>> = vec![None; table.rows.distinct(k)];
    for (i, &id) in table.rows.ids(k).iter().enumerate() {
        let (ten, finding, bare) = *seen[id as usize].get_or_insert_with(|| {
            let v = table.rows.value_of(k, id);
            let ten = v.bytes().filter(u8::is_ascii_digit).count() == 10 && v.trim().len() <= 12;
            let finding = screen::screen(v);
            let bare = finding == Some(screen::Finding::Nhs)
                && screen::nhs_number(v) == Some(screen::NhsForm::Bare);
            (ten, finding, bare)
        });
        if ten {
            ten_digit += 1;
        }
        let Some(f) = finding else {
            continue;
        };
        if bare {
            bare_nhs += 1;
        }
        findings.push((i, f));
    }
    let header = header_says_nhs(shown);
    let most = ten_digit > 0 && bare_nhs * 2 > ten_digit;
    let weigh_bare = header || most;
    let why_nhs = if header {
        "10 digits passing the NHS modulus-11 check, and the header says NHS"
    } else {
        "10 digits passing the NHS modulus-11 check, as most of the column's ten-digit values do"
    };
    if bare_nhs > 0 && !weigh_bare {
        push(
            Problem::new(
                Severity::Info,
                "personal-data:nhs-number",
                format!(
                    "{bare_nhs} of {ten_digit} ten-digit value(s) pass the NHS number check, about the one in eleven that any ten-digit numbers do, and the header does not say NHS: not treated as NHS numbers"
                ),
            )
            .column(shown),
        );
    }
    let mut found = 0usize;
    for (i, f) in findings {
        let v = table.rows.get(i, k);
        let bare =
            f == screen::Finding::Nhs && screen::nhs_number(v) == Some(screen::NhsForm::Bare);
        if bare && !weigh_bare {
            continue;
        }
        found += 1;
        if found <= LISTED_PER_RULE {
            let what = if f == screen::Finding::Nhs {
                format!(
                    "an NHS number ({})",
                    if bare {
                        why_nhs
                    } else {
                        "written 3-3-4 and passing the modulus-11 check"
                    }
                )
            } else {
                f.describe().to_string()
            };
            push(
                Problem::error(
                    f.rule(),
                    format!(
                        "looks like {what}: publication is blocked; set `personal = \"redact\"` or `\"drop\"` (or `\"allow\"` if it is not personal) under [columns.{:?}]",
                        col.name
                    ),
                )
                .row(table.source_rows[i])
                .column(shown)
                .value(mask(v)),
            );
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
