//! `fivestar inspect`: which template a file fits, how each of its columns maps, what tidy
//! would find (encoding, header row, date order, amount format), and a starter pipeline file
//! that `fivestar run` accepts as it is.

use crate::config::toml_string;
use fivestar_council::detect::MIN_CONFIDENCE;
use fivestar_council::{LinkKind, Template};
use fivestar_tidy::{DateOrder, Format, ReadOptions, TidyOptions, ValueKind};
use serde::Serialize;
use std::path::Path;

/// One source column and what it maps to.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnMap {
    /// The source header.
    pub source: String,
    /// The template column it maps to, or null.
    pub column: Option<String>,
    /// The template column's title (the clean table's header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// How its values are read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<ValueKind>,
}

/// A template's score.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub template: String,
    pub confidence: f64,
}

/// A template that nearly fits: what of the file it explains and what it lacks.
#[derive(Debug, Clone, Serialize)]
pub struct NearMiss {
    pub template: String,
    pub title: String,
    pub confidence: f64,
    /// (source header, template column) for each header it explains.
    pub matched: Vec<(String, String)>,
    /// The titles of its core columns the file lacks.
    pub missing_core: Vec<String>,
}

/// What `inspect` found.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    pub file: String,
    pub format: Option<&'static str>,
    pub encoding: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// The best template, or null when none fits well enough.
    pub template: Option<String>,
    /// How well it fits, 0 to 1 (the best template's, even when it is not good enough).
    pub confidence: f64,
    /// The source row of the header.
    pub header_row: u64,
    pub rows: usize,
    pub columns: Vec<ColumnMap>,
    /// The template's core columns the file lacks.
    pub missing: Vec<String>,
    /// The day/month order of numeric dates (of the first date column), or null.
    pub date_order: Option<DateOrder>,
    /// Each date column's order.
    pub date_orders: Vec<(String, DateOrder)>,
    /// How amounts are written, e.g. "£1,234.56: pound sign, thousands separators".
    pub amount_format: Option<String>,
    /// The councils the file's council columns name (GSS codes), when they link.
    pub councils: Vec<String>,
    /// The next best templates.
    pub candidates: Vec<Candidate>,
    /// Whether the template was named (`--template`) rather than detected.
    pub chosen: bool,
    /// When no template fits well enough: the closest ones, what each explains and lacks.
    pub near: Vec<NearMiss>,
    /// Problems tidy found (errors and warnings), as lines.
    pub problems: Vec<String>,
}

/// Inspects a file's bytes (`name` is shown and used for the format when not sniffed), with
/// the template `template` when one is named, else the one that fits best.
pub fn inspect(
    bytes: &[u8],
    name: &str,
    sheet: Option<String>,
    template: Option<&str>,
) -> Result<Inspection, String> {
    let format = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .and_then(Format::parse);
    let options = ReadOptions {
        format,
        sheet,
        encoding: None,
        delimiter: None,
        limits: Default::default(),
    };
    let mut notes = Vec::new();
    let grid = fivestar_tidy::read(bytes, &options, &mut notes)
        .map_err(|n| format!("{name}: {}", n.message))?;
    let fits = fivestar_council::rank(&grid)?;
    let best = match template {
        Some(id) => {
            let t = Template::get(id)?;
            Some(t.fit(&grid))
        }
        None => fits.first().cloned(),
    };
    let chosen = best
        .as_ref()
        .filter(|f| template.is_some() || f.confidence >= MIN_CONFIDENCE)
        .map(|f| Template::get(&f.template))
        .transpose()?;
    let near: Vec<NearMiss> = if chosen.is_some() {
        Vec::new()
    } else {
        fits.iter()
            .filter(|f| f.confidence > 0.0)
            .take(3)
            .map(|f| {
                let t = Template::get(&f.template)?;
                Ok(NearMiss {
                    template: f.template.clone(),
                    title: t.title.clone(),
                    confidence: f.confidence,
                    matched: f
                        .columns
                        .iter()
                        .filter_map(|(s, c)| c.clone().map(|c| (s.clone(), c)))
                        .collect(),
                    missing_core: f
                        .missing_core
                        .iter()
                        .map(|n| t.column(n).map(|c| c.title.clone()).unwrap_or(n.clone()))
                        .collect(),
                })
            })
            .collect::<Result<_, String>>()?
    };
    let (format, encoding, sheet) = (
        grid.format.map(|f| f.name()),
        grid.encoding,
        grid.sheet.clone(),
    );
    let rules = chosen.as_ref().map(|t| t.rules()).unwrap_or_default();
    // Raw amount cells, for describing how amounts are written.
    let amount_headers: Vec<String> = chosen
        .as_ref()
        .map(|t| {
            t.columns
                .iter()
                .filter(|c| c.format == ValueKind::Amount)
                // Eastings and northings are read as decimals, but are not money.
                .filter(|c| {
                    t.geo
                        .as_ref()
                        .is_none_or(|g| c.name != g.easting && c.name != g.northing)
                })
                .flat_map(|c| Template::headers(c).cloned().chain([c.name.clone()]))
                .map(|h| fivestar_tidy::normalize_header(&h))
                .collect()
        })
        .unwrap_or_default();
    let header_row = best.as_ref().map(|f| f.header_row).unwrap_or(0);
    let mut raw_amounts = Vec::new();
    if let Some(pos) = grid.rows.iter().position(|(n, _)| *n == header_row) {
        let header = &grid.rows[pos].1;
        let cols: Vec<usize> = header
            .iter()
            .enumerate()
            .filter(|(_, h)| amount_headers.contains(&fivestar_tidy::normalize_header(h)))
            .map(|(j, _)| j)
            .collect();
        for (_, cells) in grid.rows[pos + 1..].iter().take(500) {
            for &j in &cols {
                if let Some(v) = cells.get(j).filter(|v| !v.trim().is_empty()) {
                    raw_amounts.push(v.clone());
                }
            }
        }
    }
    let mut tidy_notes = Vec::new();
    let grid = match chosen.as_ref().and_then(|t| t.unwide(&grid)) {
        Some((long, note)) => {
            tidy_notes.push(note);
            long
        }
        None => grid,
    };
    let table = fivestar_tidy::tidy(grid, &TidyOptions { columns: rules }, &mut tidy_notes);
    let columns: Vec<ColumnMap> = match (&chosen, &best) {
        (Some(t), Some(f)) => column_maps(t, f),
        // No template fits well: the closest one's reading, so that a header that is one of
        // its names still shows what it means.
        (None, Some(f)) if !f.columns.is_empty() => column_maps(&Template::get(&f.template)?, f),
        _ => table
            .header
            .iter()
            .map(|h| ColumnMap {
                source: h.clone(),
                column: None,
                title: None,
                format: None,
            })
            .collect(),
    };
    // Which councils the council columns name.
    let mut councils = Vec::new();
    if let Some(t) = &chosen {
        let mut linker = fivestar_council::Linker::new();
        for (k, c) in t.columns.iter().enumerate() {
            if !c.links.iter().any(|l| l.kind == LinkKind::Council) {
                continue;
            }
            if table.source_columns.get(k).is_none_or(|s| s.is_none()) {
                continue;
            }
            for row in table.rows.iter().take(1000) {
                if let Some(Some(iri)) = row
                    .get(k)
                    .map(|v| linker.link(LinkKind::Council, v).ok().flatten())
                {
                    let gss = iri.rsplit('/').next().unwrap_or_default().to_string();
                    if !councils.contains(&gss) {
                        councils.push(gss);
                    }
                }
            }
        }
    }
    let problems = tidy_notes
        .iter()
        .filter(|n| n.severity >= fivestar_tidy::Severity::Warning || n.rule == "wide-layout")
        .take(fivestar_tidy::LISTED_PER_RULE)
        .map(|n| {
            let mut line = format!("{}: {}", n.rule, n.message);
            if let Some(r) = n.row {
                line.push_str(&format!(" (row {r})"));
            }
            if let Some(c) = &n.column {
                line.push_str(&format!(" [{c}]"));
            }
            line
        })
        .collect();
    Ok(Inspection {
        file: name.to_string(),
        format,
        encoding,
        sheet,
        template: chosen.as_ref().map(|t| t.id.clone()),
        confidence: best.as_ref().map(|f| f.confidence).unwrap_or(0.0),
        header_row: if chosen.is_some() {
            table.header_row
        } else {
            header_row.max(table.header_row)
        },
        rows: table.rows.len(),
        columns,
        missing: best
            .as_ref()
            .filter(|_| chosen.is_some())
            .map(|f| f.missing_core.clone())
            .unwrap_or_default(),
        date_order: table.date_orders.first().map(|(_, o)| *o),
        date_orders: table.date_orders.clone(),
        amount_format: describe_amounts(&raw_amounts),
        councils,
        chosen: template.is_some(),
        near,
        candidates: fits
            .iter()
            .take(3)
            .map(|f| Candidate {
                template: f.template.clone(),
                confidence: f.confidence,
            })
            .collect(),
        problems,
    })
}

/// Each source header of a fit and the column of `t` it maps to.
fn column_maps(t: &Template, f: &fivestar_council::Fit) -> Vec<ColumnMap> {
    f.columns
        .iter()
        .map(|(source, col)| {
            let c = col.as_deref().and_then(|n| t.column(n));
            ColumnMap {
                source: source.clone(),
                column: col.clone(),
                title: c.map(|c| c.title.clone()),
                format: c.map(|c| c.format),
            }
        })
        .collect()
}

/// Describes how amounts are written, from a sample: the first example and the features seen.
fn describe_amounts(values: &[String]) -> Option<String> {
    let first = values.first()?;
    let mut features = Vec::new();
    if values.iter().any(|v| v.contains('£')) {
        features.push("pound sign");
    }
    if values
        .iter()
        .any(|v| v.split('.').next().is_some_and(|int| int.contains(',')))
    {
        features.push("thousands separators");
    }
    if values
        .iter()
        .any(|v| v.trim().starts_with('(') && v.trim().ends_with(')'))
    {
        features.push("negatives in brackets");
    }
    if values.iter().any(|v| v.trim().ends_with('-')) {
        features.push("trailing minus");
    }
    if values
        .iter()
        .any(|v| v.trim().starts_with('-') || v.trim().starts_with("-£"))
    {
        features.push("leading minus");
    }
    if values.iter().any(|v| v != v.trim()) {
        features.push("padded with spaces");
    }
    if features.is_empty() {
        features.push("plain decimals");
    }
    Some(format!("{}: {}", first.trim(), features.join(", ")))
}

pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "dataset".into()
    } else {
        out
    }
}

/// A starter pipeline file for an inspected file that fits a template. `source` is the path
/// written as `source.url` (relative to the pipeline file, or absolute). Columns whose every
/// value names a person are set to `redact` until someone has checked them; dates get the
/// order found.
pub fn starter_pipeline(i: &Inspection, source: &str) -> Result<String, String> {
    starter_pipeline_with(i, source, true)
}

/// [`starter_pipeline`]; with `redact_individuals` false, columns whose every value names a
/// person are left for someone to decide (publication is blocked until they do): the browser
/// workspace asks the officer rather than choosing for them.
pub fn starter_pipeline_with(
    i: &Inspection,
    source: &str,
    redact_individuals: bool,
) -> Result<String, String> {
    let id = i.template.as_deref().ok_or_else(|| {
        format!(
            "{}: no template fits (best: {} at {:.2}); choose one with --template ID (the closest are listed above), or write a CSVW metadata file and a pipeline with `metadata = …`",
            i.file,
            i.candidates.first().map(|c| c.template.as_str()).unwrap_or("none"),
            i.confidence
        )
    })?;
    let t = Template::get(id)?;
    let stem = Path::new(&i.file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = String::new();
    out.push_str(&format!(
        "# Written by `fivestar inspect` from {}: template {id:?} ({} {:.2}).\n# Check it, then run it with `fivestar run THIS-FILE`.\n",
        i.file,
        if i.chosen { "chosen with --template; confidence" } else { "confidence" },
        i.confidence
    ));
    out.push_str(&format!("id = {}\n", toml_string(&slug(&stem))));
    out.push_str(&format!(
        "title = {}\n",
        toml_string(&format!("{} ({})", t.title, stem))
    ));
    match i.councils.as_slice() {
        [one] => out.push_str(&format!(
            "# The council named in the file.\npublisher = {}\n",
            toml_string(one)
        )),
        _ => out.push_str(
            "# The council's ONS GSS code, e.g. \"E08000009\".\n# publisher = \"E08000009\"\n",
        ),
    }
    out.push_str(&format!("template = {}\n", toml_string(id)));
    out.push_str(
        "# Cron, in UTC, for `fivestar schedule`:\n# schedule = \"0 6 * * *\"\n\n[source]\n",
    );
    out.push_str(&format!("url = {}\n", toml_string(source)));
    if let Some(f) = i.format {
        out.push_str(&format!("format = {}\n", toml_string(f)));
    }
    if let Some(s) = &i.sheet {
        out.push_str(&format!("sheet = {}\n", toml_string(s)));
    }
    for c in &t.columns {
        let present = i
            .columns
            .iter()
            .any(|m| m.column.as_deref() == Some(&c.name));
        if !present {
            continue;
        }
        let mut lines = Vec::new();
        if c.individuals && !redact_individuals {
            lines.push("# Every value of this column names a person: publication is blocked until you\n# choose personal = \"allow\", \"redact\" or \"drop\".".to_string());
        } else if c.individuals {
            lines.push("# Every value of this column names a person. It is redacted until you have\n# checked it may be published; then set personal = \"allow\" (or keep \"redact\").".to_string());
            lines.push("personal = \"redact\"".to_string());
        } else if c.may_name_individuals {
            lines.push("# Organisations' names are published; values that look like a person's name (a title,\n# a common forename and a surname, an initial and a surname) are redacted row by row,\n# and the report counts them. After checking, set personal to \"allow\" to publish every\n# name, or to \"redact\" to publish none.".to_string());
        }
        if c.format == ValueKind::Date || c.format == ValueKind::DateTime {
            if let Some((_, o)) = i.date_orders.iter().find(|(h, _)| h == &c.title) {
                lines.push(format!("date_order = \"{}\"", o.name()));
            }
        }
        if !lines.is_empty() {
            out.push_str(&format!("\n[columns.{}]\n{}\n", c.name, lines.join("\n")));
        }
    }
    let unmatched: Vec<String> = i
        .columns
        .iter()
        .filter(|m| m.column.is_none())
        .map(|m| toml_string(&m.source))
        .collect();
    if !unmatched.is_empty() {
        out.push_str(&format!(
            "\n# Headers no template column took (left out of the published data; add one as an\n# alias under [columns.NAME] to keep it): {}\n",
            unmatched.join(", ")
        ));
    }
    Ok(out)
}
