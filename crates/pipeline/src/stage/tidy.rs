//! Tidy: the source's bytes read (CSV in any encoding, or a workbook) and made a clean table
//! by the mapping's column rules. Every change is an info; what cannot be read blocks.

use super::fetch::Source;
use crate::config::Pipeline;
use crate::mapping::Mapping;
use crate::report::{from_tidy, Problem, Report};
use fivestar_tidy::{Table, TidyOptions};

/// The clean table, or `None` when the source cannot be read as a table (the report says why).
pub fn tidy(
    source: &Source,
    pipeline: &Pipeline,
    mapping: &Mapping,
    report: &mut Report,
) -> Option<Table> {
    let mut problems = Vec::new();
    let read_options = fivestar_tidy::ReadOptions {
        format: pipeline.source.format,
        sheet: pipeline.source.sheet.clone(),
        encoding: pipeline.source.encoding.clone(),
        delimiter: None,
        limits: Default::default(),
    };
    let push = |report: &mut Report, problems: Vec<Problem>| {
        let file = source.name.as_str();
        report
            .problems
            .extend(problems.into_iter().map(|p| from_tidy(p, file)));
    };
    let options = TidyOptions {
        columns: mapping.tidy_rules(),
    };
    // A template with a wide form looks at the whole grid first; otherwise a CSV's rows go
    // straight from the bytes into the table, without a grid of the source beside it.
    if mapping.template.as_ref().is_none_or(|t| t.wide.is_none()) {
        let tidied = match fivestar_tidy::tidy_to_table(
            &source.bytes,
            &read_options,
            &options,
            &mut problems,
        ) {
            Ok(t) => t,
            Err(p) => {
                problems.push(p);
                push(report, problems);
                return None;
            }
        };
        report
            .facts
            .push(("format".into(), tidied.format.name().into()));
        if let Some(e) = tidied.encoding {
            report.facts.push(("encoding".into(), e.into()));
        }
        if let Some(s) = &tidied.sheet {
            report.facts.push(("sheet".into(), s.clone()));
        }
        return Some(finish(tidied.table, report, problems, push));
    }
    let mut grid = match fivestar_tidy::read(&source.bytes, &read_options, &mut problems) {
        Ok(g) => g,
        Err(p) => {
            problems.push(p);
            push(report, problems);
            return None;
        }
    };
    if let Some(f) = grid.format {
        report.facts.push(("format".into(), f.name().into()));
    }
    if let Some(e) = grid.encoding {
        report.facts.push(("encoding".into(), e.into()));
    }
    if let Some(s) = &grid.sheet {
        report.facts.push(("sheet".into(), s.clone()));
    }
    // A file in the template's wide layout (one row per year, a column per item) is read long.
    if let Some((long, note)) = mapping.template.as_ref().and_then(|t| t.unwide(&grid)) {
        grid = long;
        problems.push(note);
    }
    let table = fivestar_tidy::tidy(grid, &options, &mut problems);
    Some(finish(table, report, problems, push))
}

/// The table's facts for the report, and tidy's problems.
fn finish(
    table: Table,
    report: &mut Report,
    problems: Vec<Problem>,
    push: impl Fn(&mut Report, Vec<Problem>),
) -> Table {
    report
        .facts
        .push(("header row".into(), table.header_row.to_string()));
    report
        .facts
        .push(("rows".into(), table.rows.len().to_string()));
    for (c, o) in &table.date_orders {
        report
            .facts
            .push((format!("date order of {c:?}"), o.name().into()));
    }
    push(report, problems);
    table
}
