//! The first rows of a source as a pipeline reads them, each cell as written in the file and as
//! it will be published ("15/02/2024" → "2024-02-15", "£1,234.56" → "1234.56"): what the
//! browser workspace shows while an officer maps columns. The same tidy stage a run uses reads
//! them, with the pipeline's mapping and overrides.

use crate::config::Pipeline;
use crate::mapping::Mapping;
use crate::report::{Problem, Report};
use crate::stage::{fetch::Source, tidy};
use fivestar_tidy::ValueKind;

/// A column of the sample: a mapped column, or a source header nothing takes.
#[derive(Debug, Clone)]
pub struct SampleColumn {
    /// The source header (`None`: the file lacks the mapped column).
    pub source: Option<String>,
    /// The mapped column's name (the `[columns.NAME]` key), `None` when nothing takes the
    /// header.
    pub column: Option<String>,
    /// The published header (the mapped column's title).
    pub title: Option<String>,
    pub kind: Option<ValueKind>,
}

/// A sampled row: its source row and, per column, (as written, as published; `None`: not
/// published).
pub type SampleRow = (u64, Vec<(String, Option<String>)>);

/// The sample.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// The mapped columns the file has, in the file's order, then the headers nothing takes.
    pub columns: Vec<SampleColumn>,
    /// The template's columns the file lacks: (name, title).
    pub absent: Vec<(String, String)>,
    pub rows: Vec<SampleRow>,
    /// What tidy saw (format, encoding, header row, rows, date orders).
    pub facts: Vec<(String, String)>,
    /// Problems tidy found, unless the table could not be read at all (then `columns` is empty).
    pub problems: Vec<Problem>,
}

/// Reads the first `n` rows of `source` as `pipeline` maps it.
pub fn sample(source: &Source, pipeline: &Pipeline, mapping: &Mapping, n: usize) -> Sample {
    let mut report = Report::empty(&pipeline.id);
    let table = tidy::tidy(source, pipeline, mapping, &mut report);
    let mut out = Sample {
        facts: report.facts.clone(),
        problems: report.problems.clone(),
        ..Sample::default()
    };
    let Some(table) = table else {
        return out;
    };
    // The raw grid again, for the cells as written.
    let read_options = fivestar_tidy::ReadOptions {
        format: pipeline.source.format,
        sheet: pipeline.source.sheet.clone(),
        encoding: pipeline.source.encoding.clone(),
        delimiter: None,
        limits: Default::default(),
    };
    let grid = fivestar_tidy::read(&source.bytes, &read_options, &mut Vec::new()).ok();
    let raw_header: Vec<String> = grid
        .as_ref()
        .and_then(|g| g.rows.iter().find(|(r, _)| *r == table.header_row))
        .map(|(_, cells)| cells.iter().map(|c| c.trim().to_string()).collect())
        .unwrap_or_default();
    let raw_cell = |row: u64, header: &str| -> Option<String> {
        let at = raw_header.iter().position(|h| h == header.trim())?;
        let g = grid.as_ref()?;
        let (_, cells) = g.rows.iter().find(|(r, _)| *r == row)?;
        cells.get(at).cloned()
    };
    // Mapped columns in the file's order.
    let mut mapped: Vec<(usize, usize)> = Vec::new();
    for (k, col) in mapping.columns.iter().enumerate() {
        match table.source_columns.get(k).cloned().flatten() {
            Some(h) => {
                let at = raw_header
                    .iter()
                    .position(|r| r == h.trim())
                    .unwrap_or(usize::MAX);
                mapped.push((at, k));
            }
            None => out.absent.push((col.name.clone(), col.rule.name.clone())),
        }
    }
    mapped.sort();
    for &(_, k) in &mapped {
        let col = &mapping.columns[k];
        out.columns.push(SampleColumn {
            source: table.source_columns[k].clone(),
            column: Some(col.name.clone()),
            title: Some(col.rule.name.clone()),
            kind: Some(col.rule.kind),
        });
    }
    for h in &table.unmapped {
        out.columns.push(SampleColumn {
            source: Some(h.clone()),
            column: None,
            title: None,
            kind: None,
        });
    }
    for (i, row) in table.rows.iter().take(n).enumerate() {
        let source_row = table.source_rows[i];
        let mut cells = Vec::new();
        for &(_, k) in &mapped {
            let header = table.source_columns[k].clone().unwrap_or_default();
            let clean = row.get(k).unwrap_or_default().to_string();
            let raw = raw_cell(source_row, &header).unwrap_or_else(|| clean.clone());
            cells.push((raw, Some(clean)));
        }
        for h in &table.unmapped {
            cells.push((raw_cell(source_row, h).unwrap_or_default(), None));
        }
        out.rows.push((source_row, cells));
    }
    out
}
