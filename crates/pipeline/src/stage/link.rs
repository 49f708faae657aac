//! Link: the mapping's computed columns, in the mapping's order, appended to the clean table.
//! A link rule's column holds URIs or normalised identifiers; values that link to nothing are
//! reported (row and value) and left without a link, never given an invented URI. The geo
//! columns come from easting and northing; a statement's marker is set where every column its
//! URI templates name has a value.

use super::fail;
use super::gate::REDACTED;
use crate::mapping::Mapping;
use crate::report::{Problem, Report, Severity, LISTED_PER_RULE};
use fivestar_council::template::{template_variables, Computed, Link};
use fivestar_council::{LinkKind, Linker};
use fivestar_tidy::Table;
// Not SipHash: these maps are keyed by every row's values (SipHash was 5 % of gate and links).
use foldhash::HashMap;

/// A row's point: latitude, longitude and WKT.
type Point = Option<[String; 3]>;

/// A computed column's values: one a row, or (for a column worked out from another's values,
/// whose values repeat) each value once and a code a row, row `i`'s value `values[codes[i]]`
/// (see [`fivestar_tidy::Cells::push_coded`]).
enum Values {
    Each(Vec<String>),
    Coded(Vec<String>, Vec<u32>),
    /// Interned already, apart from the table (see [`ahead`]).
    Built(fivestar_tidy::BuiltColumn),
}

/// A link rule's values (see [`link_values`]), or why they could not be worked out.
type Linked = Result<(Vec<String>, Vec<u32>, usize), Box<Problem>>;

/// A computed column worked out before any computed column is appended ([`ahead`]), and the
/// problems found on the way (told in the mapping's order, as if worked out in turn).
enum Ahead {
    Column(Values, Vec<Problem>),
    Link(Linked, Vec<Problem>),
}

/// The computed columns that read the source columns alone, worked out before any is
/// appended to `table`, on two threads: the row keys (the costliest) on one, the row titles
/// and the link rules' values on this one. (The others may read computed columns: they are
/// worked out in turn, as they are appended.) By the computed column's index.
fn ahead(mapping: &Mapping, table: &Table, linker: &mut Linker, file: &str) -> Vec<Option<Ahead>> {
    let scratch = || Report::empty(&mapping.dataset);
    let rows = table.rows.len();
    let mut ready: Vec<Option<Ahead>> = mapping.computed.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let keys = mapping
            .computed
            .iter()
            .position(|c| matches!(c.what, Computed::Key))
            .map(|i| {
                let thread = scope.spawn(move || {
                    let mut report = scratch();
                    let keys = super::identity::row_keys(mapping, table, file, &mut report);
                    let built = fivestar_tidy::Cells::build_column(rows, &keys);
                    Ahead::Column(Values::Built(built), report.problems)
                });
                (i, thread)
            });
        for (i, computed) in mapping.computed.iter().enumerate() {
            ready[i] = match &computed.what {
                Computed::Label(pattern) => {
                    let labels = row_labels(mapping, table, pattern);
                    let built = fivestar_tidy::Cells::build_column(rows, &labels);
                    Some(Ahead::Column(Values::Built(built), Vec::new()))
                }
                Computed::Link { column, link } => {
                    let Some(k) = mapping.columns.iter().position(|c| &c.name == column) else {
                        continue;
                    };
                    let shown = mapping.source_header(table, k);
                    let mut report = scratch();
                    let linked =
                        link_values(mapping, table, k, link, linker, &shown, file, &mut report);
                    Some(Ahead::Link(linked, report.problems))
                }
                _ => None,
            };
        }
        if let Some((i, thread)) = keys {
            // A panic there is one here, as it was before the keys had a thread.
            ready[i] = Some(
                thread
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            );
        }
    });
    ready
}

/// Appends every computed column of `mapping` to `table`. Returns how well the identifying
/// values linked: for each link rule of a column the file has, the share of its values (empty
/// and redacted ones aside) that linked; with no such rule, `None`.
pub fn link(
    mapping: &Mapping,
    table: &mut Table,
    file: &str,
    report: &mut Report,
) -> Result<Option<fivestar_store::Linked>, Box<Problem>> {
    let mut linker = Linker::new();
    let mut shares: Vec<(String, f64)> = Vec::new();
    let mut points: Option<(Vec<Point>, String)> = None;
    // Link rules whose column the file has but leaves empty (or redacted): one note for all.
    let mut idle: Vec<String> = Vec::new();
    let mut ahead = ahead(mapping, table, &mut linker, file);
    for (computed, ahead) in mapping.computed.iter().zip(&mut ahead) {
        let (values, source) = match (&computed.what, ahead.take()) {
            (_, Some(Ahead::Column(values, problems))) => {
                report.problems.extend(problems);
                (values, None)
            }
            (Computed::Key, _) => (
                Values::Each(super::identity::row_keys(mapping, table, file, report)),
                None,
            ),
            (Computed::Link { column, link }, ahead) => {
                let k = mapping
                    .columns
                    .iter()
                    .position(|c| &c.name == column)
                    .ok_or_else(|| fail("link", format!("no column {column:?} to link")))?;
                let shown = mapping.source_header(table, k);
                let present = table.source_columns.get(k).is_some_and(|s| s.is_some());
                let (values, codes, tried) = match ahead {
                    Some(Ahead::Link(linked, problems)) => {
                        report.problems.extend(problems);
                        linked?
                    }
                    _ => link_values(mapping, table, k, link, &mut linker, &shown, file, report)?,
                };
                // An absent column is reported by tidy already (with the optional columns the
                // file lacks); a present one with nothing to link is noted with the others.
                if tried == 0 && present {
                    idle.push(format!("{} ({shown})", link.kind.name()));
                }
                // Of the values to link (not empty, not redacted), how many linked.
                let (mut considered, mut linked) = (0usize, 0usize);
                let redacted = table.rows.id_of(k, REDACTED);
                for (&id, &code) in table.rows.ids(k).iter().zip(&codes) {
                    if id != 0 && Some(id) != redacted {
                        considered += 1;
                        linked += usize::from(code != 0);
                    }
                }
                // Months, quarters and years follow from the day: the day's share stands.
                let derived = matches!(
                    link.kind,
                    LinkKind::Month | LinkKind::Quarter | LinkKind::GovernmentYear
                ) || link.kind.output() != fivestar_council::links::Output::Iri;
                if present && !derived && considered > 0 {
                    let name = format!("{} ({shown})", link.kind.name());
                    if !shares.iter().any(|(n, _)| *n == name) {
                        shares.push((name, linked as f64 / considered as f64));
                    }
                }
                (Values::Coded(values, codes), Some(shown))
            }
            (Computed::Statement(st), _) => {
                let vars: Vec<usize> = st
                    .about
                    .iter()
                    .chain([&st.value])
                    .flat_map(|t| template_variables(t))
                    .filter(|v| !v.starts_with('_'))
                    .filter_map(|v| {
                        table
                            .header
                            .iter()
                            .position(|h| *h == v)
                            .or_else(|| mapping.columns.iter().position(|c| c.name == v))
                    })
                    .collect();
                // Id 0 is the empty value.
                let ids: Vec<&[u32]> = vars.iter().map(|&j| table.rows.ids(j)).collect();
                let codes = (0..table.rows.len())
                    .map(|i| u32::from(ids.iter().all(|ids| ids[i] != 0)))
                    .collect();
                (
                    Values::Coded(vec![String::new(), "yes".into()], codes),
                    None,
                )
            }
            (Computed::Label(pattern), _) => {
                (Values::Each(row_labels(mapping, table, pattern)), None)
            }
            (Computed::Preferred { column, about }, _) => {
                (preferred_names(mapping, table, column, about, false), None)
            }
            (Computed::Alternative { column, about }, _) => {
                (preferred_names(mapping, table, column, about, true), None)
            }
            (geo, _) => {
                let (points, shown) =
                    points.get_or_insert_with(|| place(mapping, table, file, report));
                let values = match geo {
                    Computed::Latitude | Computed::Longitude | Computed::Wkt => {
                        let at = match geo {
                            Computed::Latitude => 0,
                            Computed::Longitude => 1,
                            _ => 2,
                        };
                        Values::Each(
                            points
                                .iter()
                                .map(|p| p.as_ref().map_or(String::new(), |p| p[at].clone()))
                                .collect(),
                        )
                    }
                    // The markers that give a placed row its geometry node.
                    _ => Values::Coded(
                        vec![String::new(), "point".into()],
                        points.iter().map(|p| u32::from(p.is_some())).collect(),
                    ),
                };
                (values, Some(shown.clone()))
            }
        };
        match values {
            Values::Each(values) => table.push_column(computed.name.clone(), source, values),
            Values::Coded(values, codes) => {
                table.push_coded_column(computed.name.clone(), source, &values, codes)
            }
            Values::Built(col) => table.push_built_column(computed.name.clone(), source, col),
        }
    }
    if !idle.is_empty() {
        report.problems.push(
            Problem::new(
                Severity::Info,
                "link:idle",
                format!(
                    "nothing to link, every value empty or redacted: {}",
                    idle.join(", ")
                ),
            )
            .file(file),
        );
    }
    // A mapping with a council rule whose columns the file lacks: the publisher is every row's
    // council, or the rows have none (and the fifth star says so).
    let council_rule = mapping
        .computed
        .iter()
        .any(|c| matches!(&c.what, Computed::Link { link, .. } if link.kind == LinkKind::Council));
    if council_rule && !shares.iter().any(|(n, _)| n.starts_with("council ")) {
        shares.push(match &mapping.publisher {
            Some(_) => ("council (the pipeline's publisher)".into(), 1.0),
            None => ("council (no column and no publisher)".into(), 0.0),
        });
    }
    if shares.is_empty() {
        return Ok(None);
    }
    let linked = fivestar_store::Linked {
        share: shares.iter().map(|(_, s)| *s).fold(1.0, f64::min),
        rules: shares,
    };
    report.facts.push(("links".into(), linked.describe()));
    Ok(Some(linked))
}

/// The index of mapped column `name` in the table, when the file has it.
fn column_index(mapping: &Mapping, table: &Table, name: &str) -> Option<usize> {
    mapping
        .columns
        .iter()
        .position(|c| c.name == name)
        .filter(|&k| table.source_columns.get(k).is_some_and(|s| s.is_some()))
}

/// A clean value as people read it: money as `£1,234.56`, dates as `30 January 2024`.
fn readable(value: &str, kind: fivestar_tidy::ValueKind, money: bool) -> String {
    use fivestar_tidy::{display, ValueKind};
    let shown = match kind {
        ValueKind::Amount if money => display::pounds(value),
        ValueKind::Date => display::long_date(value),
        ValueKind::DateTime => display::long_date_time(value),
        _ => None,
    };
    shown.unwrap_or_else(|| value.to_string())
}

/// Each row's title from `pattern` (`"{net_amount} to {supplier_name}, {date}"`): a hole
/// whose column is missing, empty or redacted is left out with the text before it (or, for the
/// first value, the text after the gap), so a title never reads "to , ".
fn row_labels(mapping: &Mapping, table: &Table, pattern: &str) -> Vec<String> {
    enum Part {
        Text(String),
        Hole(Option<usize>, fivestar_tidy::ValueKind, bool),
    }
    let money = |name: &str| {
        mapping
            .template
            .as_ref()
            .and_then(|t| t.column(name))
            .is_some_and(|c| c.money)
    };
    let mut parts = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        if open > 0 {
            parts.push(Part::Text(rest[..open].to_string()));
        }
        let name = &rest[open + 1..open + close];
        let k = column_index(mapping, table, name);
        let kind = k.map_or(fivestar_tidy::ValueKind::Text, |k| {
            mapping.columns[k].rule.kind
        });
        parts.push(Part::Hole(k, kind, money(name)));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_string()));
    }
    table
        .rows
        .iter()
        .map(|row| {
            let mut out = String::new();
            let mut pending = String::new();
            let mut leading = true;
            for p in &parts {
                match p {
                    Part::Text(t) => pending.push_str(t),
                    Part::Hole(k, kind, money) => {
                        let v = k.map(|k| row.cell(k)).unwrap_or("");
                        if v.is_empty() || v == REDACTED {
                            pending.clear();
                            leading = false;
                            continue;
                        }
                        if !out.is_empty() || leading {
                            out.push_str(&pending);
                        }
                        pending.clear();
                        leading = false;
                        out.push_str(&readable(v, *kind, *money));
                    }
                }
            }
            if !out.is_empty() {
                out.push_str(&pending);
            }
            out.trim().to_string()
        })
        .collect()
}

/// For each row, the preferred spelling of `column` among the rows about the same resource
/// (the rows whose `about` template's values are the same): the one most rows use; on a tie,
/// the most recent (by the first date column the file has, else the later row). With
/// `alternative`, the row's own spelling instead, where it is not the preferred one.
fn preferred_names(
    mapping: &Mapping,
    table: &Table,
    column: &str,
    about: &str,
    alternative: bool,
) -> Values {
    let Some(k) = column_index(mapping, table, column) else {
        return Values::Coded(Vec::new(), Vec::new());
    };
    let vars: Vec<usize> = template_variables(about)
        .iter()
        .filter_map(|v| table.header.iter().position(|h| h == v))
        .collect();
    let date = mapping.columns.iter().enumerate().position(|(j, c)| {
        c.rule.kind == fivestar_tidy::ValueKind::Date
            && table.source_columns.get(j).is_some_and(|s| s.is_some())
    });
    // By the columns' value ids (equal values, equal ids): a resource is its `about` columns'
    // ids, a spelling its id in `column`; no text is hashed or kept a row.
    let cells = &table.rows;
    let names = cells.ids(k);
    let about_ids: Vec<&[u32]> = vars.iter().map(|&j| cells.ids(j)).collect();
    let redacted = cells.id_of(k, REDACTED);
    // resource → its index; for each, spelling → (rows, latest (date, row)).
    type Uses<'a> = HashMap<u32, (usize, (&'a str, usize))>;
    let mut index: HashMap<Box<[u32]>, u32> = HashMap::default();
    let mut groups: Vec<Uses<'_>> = Vec::new();
    const NO_GROUP: u32 = u32::MAX;
    let mut of_row: Vec<u32> = Vec::with_capacity(cells.len());
    let mut key: Vec<u32> = Vec::with_capacity(vars.len());
    for (i, &v) in names.iter().enumerate() {
        key.clear();
        key.extend(about_ids.iter().map(|ids| ids[i]));
        // Id 0 is the empty value.
        if vars.is_empty() || key.contains(&0) || v == 0 || Some(v) == redacted {
            of_row.push(NO_GROUP);
            continue;
        }
        let g = match index.get(key.as_slice()) {
            Some(&g) => g,
            None => {
                let g = groups.len() as u32;
                index.insert(key.clone().into_boxed_slice(), g);
                groups.push(HashMap::default());
                g
            }
        };
        let when = (date.map(|d| cells.get(i, d)).unwrap_or(""), i);
        let e = groups[g as usize].entry(v).or_insert((0, when));
        e.0 += 1;
        e.1 = e.1.max(when);
        of_row.push(g);
    }
    // Each group's preferred spelling, by its id in `column` (0: none).
    let best: Vec<u32> = groups
        .iter()
        .map(|uses| {
            uses.iter()
                .max_by(|a, b| a.1.cmp(b.1))
                .map_or(0, |(&v, _)| v)
        })
        .collect();
    let preferred = |g: u32| match g {
        NO_GROUP => 0,
        g => best[g as usize],
    };
    // The codes are `column`'s own value ids.
    let spellings = (0..cells.distinct(k))
        .map(|id| cells.value_of(k, id as u32).to_string())
        .collect();
    let codes = if alternative {
        of_row
            .iter()
            .zip(names)
            .map(|(&g, &v)| {
                let p = preferred(g);
                if p != 0 && v != p && Some(v) != redacted {
                    v
                } else {
                    0
                }
            })
            .collect()
    } else {
        of_row.iter().map(|&g| preferred(g)).collect()
    };
    Values::Coded(spellings, codes)
}

/// The values of one link rule of column `k` (each once, and a code a row: see [`Values`];
/// code 0 is no link), and how many of them it tried to link (linked or not; empty, redacted
/// and publisher-filled values aside).
#[allow(clippy::too_many_arguments)]
fn link_values(
    mapping: &Mapping,
    table: &Table,
    k: usize,
    rule: &Link,
    linker: &mut Linker,
    shown: &str,
    file: &str,
    report: &mut Report,
) -> Result<(Vec<String>, Vec<u32>, usize), Box<Problem>> {
    let kind = rule.kind;
    let mut unlinked = 0usize;
    let mut linked = 0usize;
    // Code 0 is the empty value (no link).
    let mut values: Vec<String> = vec![String::new()];
    let mut codes: Vec<u32> = Vec::with_capacity(table.rows.len());
    // Values repeat (one council, a few hundred suppliers and days): each is linked once, by
    // its id in the column (equal values, equal ids: no hashing a row), and each link is kept
    // once, as a code.
    let ids = table.rows.ids(k);
    let mut cache: Vec<Option<u32>> = vec![None; table.rows.distinct(k)];
    let code_of = |values: &mut Vec<String>, found: Option<String>| match found {
        Some(u) if !u.is_empty() => {
            values.push(u);
            (values.len() - 1) as u32
        }
        _ => 0,
    };
    // A council rule falls back to the pipeline's publisher, reported once.
    let fallback = mapping
        .publisher
        .as_deref()
        .filter(|_| kind == LinkKind::Council);
    let publisher = fallback.map(|p| code_of(&mut values, Some(p.to_string())));
    let (mut fell_back, mut examples): (usize, Vec<&str>) = (0, Vec::new());
    let row_key = table
        .header
        .iter()
        .position(|h| h == fivestar_council::template::ROW_KEY);
    for (i, &id) in ids.iter().enumerate() {
        let v = table.rows.value_of(k, id);
        if let Some(p) = publisher {
            let own = if v.is_empty() || v == REDACTED {
                0
            } else {
                match cache[id as usize] {
                    Some(c) => c,
                    None => {
                        let f = linker.link(kind, v).map_err(|e| fail("link", e))?;
                        let c = code_of(&mut values, f);
                        cache[id as usize] = Some(c);
                        c
                    }
                }
            };
            if own != 0 {
                linked += 1;
                codes.push(own);
            } else {
                fell_back += 1;
                if !v.is_empty() && examples.len() < 3 && !examples.contains(&v) {
                    examples.push(v);
                }
                codes.push(p);
            }
            continue;
        }
        if v.is_empty() {
            codes.push(0);
            continue;
        }
        if v == REDACTED {
            // A redacted supplier is nobody in particular: one per row, never one supplier
            // "[redacted]" receiving every redacted payment.
            if kind == LinkKind::Supplier {
                // Named by the row's key where it has one, so that it too survives
                // republishing.
                let own = match row_key {
                    Some(j) => format!(
                        "{}redacted-{}-{}",
                        mapping.supplier_base,
                        mapping.dataset,
                        table.rows.get(i, j).replace('/', "-")
                    ),
                    None => format!(
                        "{}redacted-{}-row-{}",
                        mapping.supplier_base, mapping.dataset, table.source_rows[i]
                    ),
                };
                codes.push(code_of(&mut values, Some(own)));
            } else {
                codes.push(0);
            }
            continue;
        }
        let code = match cache[id as usize] {
            Some(c) => c,
            None => {
                let found = linker.link(kind, v).map_err(|e| fail("link", e))?;
                let found = match kind {
                    LinkKind::Supplier => {
                        found.map(|key| format!("{}{key}", mapping.supplier_base))
                    }
                    _ => found,
                };
                let c = code_of(&mut values, found);
                cache[id as usize] = Some(c);
                c
            }
        };
        codes.push(code);
        if code != 0 {
            linked += 1;
        } else {
            unlinked += 1;
            if unlinked <= LISTED_PER_RULE {
                report.problems.push(
                    Problem::new(
                        Severity::Warning,
                        format!("link:{}", kind.name()),
                        format!("links to no {}; left unlinked", kind.name()),
                    )
                    .file(file)
                    .row(table.source_rows[i])
                    .column(shown)
                    .value(v),
                );
            }
        }
    }
    if unlinked > LISTED_PER_RULE {
        report.problems.push(
            Problem::new(
                Severity::Warning,
                format!("link:{}", kind.name()),
                format!(
                    "{} more values link to no {}",
                    unlinked - LISTED_PER_RULE,
                    kind.name()
                ),
            )
            .file(file)
            .column(shown),
        );
    }
    let present = table.source_columns.get(k).is_some_and(|s| s.is_some());
    if let (Some(p), true) = (fallback, fell_back > 0 && present) {
        let shown_examples = if examples.is_empty() {
            "they are empty".to_string()
        } else {
            format!(
                "e.g. {}",
                examples
                    .iter()
                    .map(|e| format!("{e:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        report.problems.push(
            Problem::new(
                Severity::Info,
                "link:council-publisher",
                format!(
                    "{fell_back} row(s) name no council this column links ({shown_examples}): the pipeline's publisher {p} is their council"
                ),
            )
            .file(file)
            .column(shown),
        );
    }
    // A rule with nothing to link is noted once with the others (by the caller).
    if linked + unlinked > 0 {
        report.problems.push(
            Problem::new(
                Severity::Info,
                format!("link:{}", kind.name()),
                format!("linked {linked} value(s); {unlinked} could not be linked"),
            )
            .file(file)
            .column(shown),
        );
    }
    Ok((values, codes, linked + unlinked))
}

/// How a row's coordinates are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Crs {
    /// OSGB36 National Grid easting and northing, in metres (EPSG:27700).
    Osgb36,
    /// WGS84 longitude and latitude, in degrees (EPSG:4326).
    Wgs84,
}

/// The coordinate reference system a row's CRS cell names (`None`: one fivestar does not
/// know); an empty cell is decided by the values: longitude and latitude within Great Britain
/// cannot be a National Grid reference.
fn crs_of(cell: &str, x: f64, y: f64) -> Option<Crs> {
    let c = cell.trim().to_ascii_lowercase();
    if c.is_empty() {
        let wgs = (-9.0..=3.0).contains(&x) && (49.0..=61.0).contains(&y);
        return Some(if wgs { Crs::Wgs84 } else { Crs::Osgb36 });
    }
    if c.contains("4326") || c.contains("wgs") {
        Some(Crs::Wgs84)
    } else if c.contains("27700")
        || c.contains("osgb")
        || c.contains("bng")
        || c.contains("national grid")
        || c.contains("british")
    {
        Some(Crs::Osgb36)
    } else {
        None
    }
}

/// Each row's WGS84 point from its easting and northing (OSGB36, or WGS84 longitude and
/// latitude where the row's coordinate reference system says so), and the columns' source
/// headers (`easting / northing`).
fn place(
    mapping: &Mapping,
    table: &Table,
    file: &str,
    report: &mut Report,
) -> (Vec<Point>, String) {
    let Some((e, n)) = mapping.geo else {
        return (vec![None; table.rows.len()], String::new());
    };
    let crs_column = mapping
        .geo_crs
        .filter(|&k| table.source_columns.get(k).is_some_and(|s| s.is_some()));
    let shown = format!(
        "{} / {}",
        mapping.source_header(table, e),
        mapping.source_header(table, n)
    );
    let (mut grid, mut degrees, mut unplaced) = (0usize, 0usize, 0usize);
    let mut points = Vec::with_capacity(table.rows.len());
    for (i, row) in table.rows.iter().enumerate() {
        if row[e].is_empty() && row[n].is_empty() {
            points.push(None);
            continue;
        }
        let crs_cell = crs_column.map(|k| row.cell(k)).unwrap_or("");
        let (point, why) = match (row[e].parse::<f64>(), row[n].parse::<f64>()) {
            (Ok(x), Ok(y)) => match crs_of(crs_cell, x, y) {
                Some(Crs::Osgb36) => (
                    fivestar_council::links::osgb36_to_wgs84(x, y).map(|p| (p, Crs::Osgb36)),
                    "is not an OSGB36 National Grid easting and northing (0-700000, 0-1300000 m); no latitude and longitude",
                ),
                Some(Crs::Wgs84) => (
                    ((-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y))
                        .then_some(((y, x), Crs::Wgs84)),
                    "is not a WGS84 longitude and latitude, as the row's coordinate reference system says; no point",
                ),
                None => (
                    None,
                    "names a coordinate reference system fivestar does not know (OSGB36 / EPSG:27700 and WGS84 / EPSG:4326 are read); no point",
                ),
            },
            _ => (None, "is not a pair of numbers; no latitude and longitude"),
        };
        match point {
            Some(((lat, long), crs)) => {
                match crs {
                    Crs::Osgb36 => grid += 1,
                    Crs::Wgs84 => degrees += 1,
                }
                let (lat, long) = (
                    fivestar_council::links::format_degrees(lat),
                    fivestar_council::links::format_degrees(long),
                );
                let wkt = format!("POINT({long} {lat})");
                points.push(Some([lat, long, wkt]));
            }
            None => {
                unplaced += 1;
                if unplaced <= LISTED_PER_RULE {
                    let value = if crs_cell.is_empty() {
                        format!("{}, {}", row.cell(e), row.cell(n))
                    } else {
                        format!("{}, {} ({crs_cell})", row.cell(e), row.cell(n))
                    };
                    report.problems.push(
                        Problem::new(Severity::Warning, "link:geo", why)
                            .file(file)
                            .row(table.source_rows[i])
                            .column(&shown)
                            .value(value),
                    );
                }
                points.push(None);
            }
        }
    }
    report.problems.push(
        Problem::new(
            Severity::Info,
            "link:geo",
            format!(
                "computed WGS84 latitude, longitude and WKT for {} row(s) ({grid} from OSGB36 eastings and northings, {degrees} given in WGS84); {unplaced} could not be",
                grid + degrees
            ),
        )
        .file(file)
        .column(&shown),
    );
    (points, shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::identity::tests::{table, template_mapping};

    #[test]
    fn rows_are_titled_as_people_read_them() {
        let dir = tempfile::tempdir().unwrap();
        let m = template_mapping(dir.path(), "spend", "");
        let t = table(
            &m,
            &["net_amount", "supplier_name", "date"],
            &[
                &[
                    ("net_amount", "28182.22"),
                    ("supplier_name", "Brightwater Care Services Ltd"),
                    ("date", "2024-01-30"),
                ],
                &[
                    ("net_amount", "-1500"),
                    ("supplier_name", REDACTED),
                    ("date", "2024-02-01"),
                ],
                &[("supplier_name", "Acme Ltd")],
                &[],
            ],
        );
        let pattern = m.template.as_ref().unwrap().label.clone().unwrap();
        assert_eq!(
            row_labels(&m, &t, &pattern),
            [
                "£28,182.22 to Brightwater Care Services Ltd, 30 January 2024",
                "\u{2212}£1,500.00, 1 February 2024",
                "Acme Ltd",
                ""
            ]
        );
    }

    #[test]
    fn the_most_used_spelling_is_preferred_and_a_tie_goes_to_the_latest() {
        let dir = tempfile::tempdir().unwrap();
        let m = template_mapping(dir.path(), "spend", "");
        let mut t = table(
            &m,
            &["supplier_name", "date"],
            &[
                &[("supplier_name", "ACME LTD"), ("date", "2024-01-01")],
                &[("supplier_name", "Acme Ltd"), ("date", "2024-01-02")],
                &[("supplier_name", "Acme Ltd"), ("date", "2024-01-03")],
                &[("supplier_name", "Beta Limited"), ("date", "2024-03-01")],
                &[("supplier_name", "Beta Ltd"), ("date", "2024-02-01")],
                &[("supplier_name", REDACTED), ("date", "2024-02-01")],
            ],
        );
        // The supplier IRIs the link stage would have computed.
        t.push_column(
            "supplier_name_supplier".into(),
            None,
            ["a", "a", "a", "b", "b", ""],
        );
        let about = "{+supplier_name_supplier}";
        // A coded column read row by row.
        let spelled = |t: &Table, alternative| match preferred_names(
            &m,
            t,
            "supplier_name",
            about,
            alternative,
        ) {
            Values::Coded(values, codes) => {
                assert_eq!(codes.len(), t.rows.len());
                codes
                    .iter()
                    .map(|&c| values[c as usize].clone())
                    .collect::<Vec<_>>()
            }
            Values::Each(values) => values,
            Values::Built(_) => panic!("preferred names are given coded"),
        };
        assert_eq!(
            spelled(&t, false),
            [
                "Acme Ltd",
                "Acme Ltd",
                "Acme Ltd",
                "Beta Limited",
                "Beta Limited",
                ""
            ]
        );
        assert_eq!(spelled(&t, true), ["ACME LTD", "", "", "", "Beta Ltd", ""]);
        // Only the others are alternatives; the order of the rows does not matter.
        t.rows = fivestar_tidy::Cells::from_rows(
            t.header.len(),
            t.rows.iter().rev().map(|r| r.to_vec()),
        );
        assert_eq!(
            spelled(&t, false),
            [
                "",
                "Beta Limited",
                "Beta Limited",
                "Acme Ltd",
                "Acme Ltd",
                "Acme Ltd"
            ]
        );
    }

    #[test]
    fn rules_with_nothing_to_link_share_one_note() {
        let dir = tempfile::tempdir().unwrap();
        let m = template_mapping(dir.path(), "spend", "");
        let mut t = table(
            &m,
            &["date", "supplier_name"],
            &[
                &[("date", "2024-01-30")],
                &[("date", "2024-02-01"), ("supplier_name", REDACTED)],
            ],
        );
        let mut report = Report::empty("d");
        link(&m, &mut t, "f.csv", &mut report).unwrap();
        let of = |rule: &str| -> Vec<&str> {
            report
                .problems
                .iter()
                .filter(|p| p.rule == rule)
                .map(|p| p.message.as_str())
                .collect()
        };
        // The dates linked; the supplier column, empty or redacted, is noted once with any
        // others; the absent columns not at all (tidy lists those).
        assert_eq!(of("link:day"), ["linked 2 value(s); 0 could not be linked"]);
        assert_eq!(
            of("link:idle"),
            ["nothing to link, every value empty or redacted: supplier (SUPPLIER_NAME)"]
        );
        assert!(
            !report
                .problems
                .iter()
                .any(|p| p.message.starts_with("linked 0")),
            "{:?}",
            report.problems
        );
    }

    #[test]
    fn the_coordinate_reference_system_of_a_row() {
        assert_eq!(crs_of("WGS84", -2.3, 53.4), Some(Crs::Wgs84));
        assert_eq!(crs_of("EPSG:4326", -2.3, 53.4), Some(Crs::Wgs84));
        assert_eq!(crs_of("OSGB36", 380400.0, 395600.0), Some(Crs::Osgb36));
        assert_eq!(crs_of("EPSG:27700", 380400.0, 395600.0), Some(Crs::Osgb36));
        assert_eq!(crs_of("British National Grid", 1.0, 2.0), Some(Crs::Osgb36));
        assert_eq!(crs_of("ETRS89 / UTM 30N", 1.0, 2.0), None);
        // An empty cell: by the values.
        assert_eq!(crs_of("", -2.3, 53.4), Some(Crs::Wgs84));
        assert_eq!(crs_of("", 380400.0, 395600.0), Some(Crs::Osgb36));
    }
}
