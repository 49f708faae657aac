//! What a dataset's page shows of the data itself: its first rows as a table, and the figures
//! its template charts (computed when the release was published: `store::figures`), drawn as
//! server-rendered SVG that needs no JavaScript, each with its numbers as a table beside it and
//! as CSV.

use crate::markup::{esc, link};
use crate::resource::{interval_text, money_properties};
use crate::{error, AppState};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use fivestar_store::figures::{Figure, FigureRow};
use fivestar_store::Store;
use fivestar_tidy::display;
use std::sync::Arc;

/// Releases' figures as read from their files: a release's figures never change, so each is
/// read once (at most [`FiguresCache::KEPT`] releases are kept; past that the cache starts
/// again).
/// (dataset, release) → its figures.
type ReleaseFigures = std::collections::HashMap<(String, String), Arc<Vec<Figure>>>;

#[derive(Default)]
pub struct FiguresCache(std::sync::Mutex<ReleaseFigures>);

impl FiguresCache {
    pub const KEPT: usize = 256;

    /// The figures of `dataset`'s release `release` (none when it has no file, or it cannot
    /// be read: that is logged).
    pub fn get(&self, store: &Store, dataset: &str, release: &str) -> Arc<Vec<Figure>> {
        let key = (dataset.to_string(), release.to_string());
        if let Some(f) = self.0.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return f;
        }
        let figures = fivestar_store::figures::read(&store.dumps_dir().join(dataset), release)
            .unwrap_or_else(|e| {
                tracing::warn!(dataset, release, error = %e, "figures not read");
                Vec::new()
            });
        let figures = Arc::new(figures);
        if let Ok(mut c) = self.0.lock() {
            if c.len() >= Self::KEPT {
                c.clear();
            }
            c.insert(key, figures.clone());
        }
        figures
    }
}

/// Rows of the clean CSV a dataset's page shows.
pub const FIRST_ROWS: usize = 20;

/// A figure's number as people read it: pounds for money.
fn number(v: &str, money: bool) -> String {
    if money {
        if let Some(p) = display::pounds(v) {
            return p;
        }
    }
    v.to_string()
}

/// A short form of a value for a chart's labels: `£1.2m`, `£45k`, `£900`.
fn compact(v: f64, money: bool) -> String {
    let sign = if v < 0.0 { "\u{2212}" } else { "" };
    let a = v.abs();
    let unit = if money { "£" } else { "" };
    let (n, suffix) = if a >= 1e9 {
        (a / 1e9, "bn")
    } else if a >= 1e6 {
        (a / 1e6, "m")
    } else if a >= 1e3 {
        (a / 1e3, "k")
    } else {
        (a, "")
    };
    let n = if n >= 100.0 || suffix.is_empty() {
        format!("{n:.0}")
    } else {
        format!("{n:.1}")
    };
    format!("{sign}{unit}{n}{suffix}")
}

/// What a bar or point is called: its label, a readable interval, or the key.
fn key_text(r: &FigureRow) -> String {
    r.label
        .clone()
        .or_else(|| r.key_is_iri.then(|| interval_text(&r.key)).flatten())
        .unwrap_or_else(|| r.key.clone())
}

/// A column's label under the chart: a month as `Jan 2024`, else the start of its text.
fn short_text(r: &FigureRow) -> String {
    let text = key_text(r);
    match text.split_once(' ') {
        Some((month, year))
            if r.key.contains("/id/month/") && year.len() == 4 && month.len() > 3 =>
        {
            format!("{} {year}", month.chars().take(3).collect::<String>())
        }
        _ => truncate(&text, 10),
    }
}

fn value_of(r: &FigureRow) -> Option<f64> {
    r.value.as_deref().and_then(|v| v.parse::<f64>().ok())
}

/// The local page of a key that is one of this site's IRIs.
fn key_href(r: &FigureRow, store: &Store) -> Option<String> {
    if !r.key_is_iri {
        return None;
    }
    Some(crate::resource::href_of(&r.key, store.layout()))
}

/// About how wide `c` is at 12 px in a sans-serif face (DejaVu Sans and Arial are close):
/// capitals and `m`/`w` wider than most letters, `i`, `l`, spaces and stops narrower.
fn glyph_px(c: char) -> f64 {
    match c {
        'M' | 'W' | 'm' | 'w' | '@' | '%' => 10.5,
        'I' | 'J' | 'i' | 'j' | 'l' | '|' | '!' | '.' | ',' | ':' | ';' | '\'' | ' ' => 3.8,
        'f' | 't' | 'r' | '(' | ')' | '-' => 4.8,
        c if c.is_uppercase() => 8.4,
        _ => 7.0,
    }
}

/// `s` cut (with `…`) to about `px` pixels at 12 px: a label anchored at its end must not run
/// past the chart's left edge, which a cut by characters lets a name in capitals do.
fn fit(s: &str, px: f64) -> String {
    let total: f64 = s.chars().map(glyph_px).sum();
    if total <= px {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = glyph_px('…');
    for c in s.chars() {
        used += glyph_px(c);
        if used > px {
            break;
        }
        out.push(c);
    }
    format!("{}…", out.trim_end())
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// Vertical columns in the rows' order (time).
fn columns_svg(f: &Figure) -> String {
    let values: Vec<f64> = f.rows.iter().map(|r| value_of(r).unwrap_or(0.0)).collect();
    let (w, h, left, bottom, top) = (640.0, 260.0, 64.0, 40.0, 12.0);
    let max = values.iter().cloned().fold(0.0, f64::max);
    let min = values.iter().cloned().fold(0.0, f64::min);
    let span = if max - min > 0.0 { max - min } else { 1.0 };
    let plot_h = h - bottom - top;
    let y = |v: f64| top + (max - v) / span * plot_h;
    let n = values.len().max(1) as f64;
    let slot = (w - left - 8.0) / n;
    let every = (values.len() / 12).max(1);
    let mut out = format!(
        "<svg viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" aria-labelledby=\"{id}-title\" class=\"chart\">\
<title id=\"{id}-title\">{t}</title>\
<line x1=\"{left}\" y1=\"{z:.1}\" x2=\"{w}\" y2=\"{z:.1}\" stroke=\"#505a5f\"/>\
<text x=\"{lx}\" y=\"{ty:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"#1b1b1b\">{maxl}</text>\
<text x=\"{lx}\" y=\"{z:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"#1b1b1b\">{zl}</text>",
        id = esc(&f.id),
        t = esc(&f.title),
        z = y(0.0),
        lx = left - 6.0,
        ty = y(max) + 4.0,
        maxl = esc(&compact(max, f.money)),
        zl = if min < 0.0 { esc(&compact(min, f.money)) } else { String::new() },
    );
    for (i, (r, v)) in f.rows.iter().zip(&values).enumerate() {
        let x = left + i as f64 * slot + slot * 0.15;
        let (y0, y1) = (y(v.max(0.0)), y(v.min(0.0)));
        out.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y0:.1}\" width=\"{bw:.1}\" height=\"{bh:.1}\" fill=\"#1d70b8\"><title>{k}: {val}</title></rect>",
            bw = slot * 0.7,
            bh = (y1 - y0).max(0.5),
            k = esc(&key_text(r)),
            val = esc(&number(r.value.as_deref().unwrap_or(""), f.money)),
        ));
        if i % every == 0 {
            out.push_str(&format!(
                "<text x=\"{cx:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#1b1b1b\">{k}</text>",
                cx = x + slot * 0.35,
                ly = h - bottom + 16.0,
                k = esc(&short_text(r)),
            ));
        }
    }
    out.push_str("</svg>");
    out
}

/// Horizontal bars, ranked as the query ranked them.
fn bars_svg(f: &Figure) -> String {
    let values: Vec<f64> = f.rows.iter().map(|r| value_of(r).unwrap_or(0.0)).collect();
    let max = values.iter().map(|v| v.abs()).fold(0.0, f64::max).max(1e-9);
    let (w, row, label_w, value_w) = (640.0, 26.0, 230.0, 70.0);
    let h = row * f.rows.len().max(1) as f64 + 8.0;
    let plot = w - label_w - value_w;
    let mut out = format!(
        "<svg viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" aria-labelledby=\"{id}-title\" class=\"chart\"><title id=\"{id}-title\">{t}</title>",
        id = esc(&f.id),
        t = esc(&f.title),
    );
    for (i, (r, v)) in f.rows.iter().zip(&values).enumerate() {
        let y = 4.0 + i as f64 * row;
        let bw = (v.abs() / max * plot).max(0.5);
        out.push_str(&format!(
            "<text x=\"{lx}\" y=\"{ty:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"#1b1b1b\">{k}</text>\
<rect x=\"{label_w}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{bh:.1}\" fill=\"#1d70b8\"><title>{full}: {val}</title></rect>\
<text x=\"{vx:.1}\" y=\"{ty:.1}\" font-size=\"12\" fill=\"#1b1b1b\">{short}</text>",
            lx = label_w - 6.0,
            ty = y + row * 0.6,
            k = esc(&fit(&key_text(r), label_w - 12.0)),
            bh = row - 8.0,
            full = esc(&key_text(r)),
            val = esc(&number(r.value.as_deref().unwrap_or(""), f.money)),
            vx = label_w + bw + 4.0,
            short = esc(&compact(*v, f.money)),
        ));
    }
    out.push_str("</svg>");
    out
}

/// Points on a plain map: longitude across, latitude up, scaled for the latitude so that
/// shapes are not stretched; each point a link to its page.
fn points_svg(f: &Figure, store: &Store) -> String {
    let pts: Vec<(&FigureRow, f64, f64)> = f
        .rows
        .iter()
        .filter_map(|r| Some((r, r.lat?, r.long?)))
        .filter(|(_, la, lo)| la.abs() <= 90.0 && lo.abs() <= 180.0)
        .collect();
    if pts.is_empty() {
        return String::new();
    }
    let (mut la0, mut la1, mut lo0, mut lo1) = (90.0f64, -90.0f64, 180.0f64, -180.0f64);
    for (_, la, lo) in &pts {
        la0 = la0.min(*la);
        la1 = la1.max(*la);
        lo0 = lo0.min(*lo);
        lo1 = lo1.max(*lo);
    }
    let k = ((la0 + la1) / 2.0).to_radians().cos().max(0.1);
    let (dx, dy) = (((lo1 - lo0) * k).max(1e-4), (la1 - la0).max(1e-4));
    let (w, pad) = (640.0, 16.0);
    let scale = (w - 2.0 * pad) / dx.max(dy);
    let h = dy * scale + 2.0 * pad;
    let mut out = format!(
        "<svg viewBox=\"0 0 {w} {h:.1}\" width=\"100%\" role=\"img\" aria-labelledby=\"{id}-title\" class=\"chart map\">\
<title id=\"{id}-title\">{t}</title><rect width=\"{w}\" height=\"{h:.1}\" fill=\"#f3f2f1\"/>",
        id = esc(&f.id),
        t = esc(&f.title),
    );
    let named = pts.len() <= 40;
    for (r, la, lo) in pts {
        let (x, y) = (pad + (lo - lo0) * k * scale, pad + (la1 - la) * scale);
        // Few points: each is named beside it (on the side with room).
        let name = if named {
            let (tx, anchor) = if x > w / 2.0 {
                (x - 9.0, "end")
            } else {
                (x + 9.0, "start")
            };
            format!(
                "<text x=\"{tx:.1}\" y=\"{ty:.1}\" text-anchor=\"{anchor}\" font-size=\"12\" fill=\"#1b1b1b\">{}</text>",
                esc(&truncate(&key_text(r), 30)),
                ty = y + 4.0
            )
        } else {
            String::new()
        };
        let dot = format!(
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"6\" fill=\"#1d70b8\" stroke=\"#fff\"><title>{}</title></circle>{name}",
            esc(&key_text(r))
        );
        match key_href(r, store) {
            Some(href) if href.starts_with('/') => out.push_str(&format!(
                "<a href=\"{}\" aria-label=\"{}\">{dot}</a>",
                esc(&href),
                esc(&key_text(r))
            )),
            _ => out.push_str(&dot),
        }
    }
    out.push_str("</svg>");
    out
}

/// A figure's numbers as a table.
fn table(f: &Figure, store: &Store) -> String {
    let points = f.chart == "points";
    let mut out = String::from("<table><tr><th>");
    out.push_str(if points { "Place" } else { "What" });
    out.push_str(if points {
        "</th><th>Latitude</th><th>Longitude</th></tr>"
    } else {
        "</th><th>Value</th><th>Rows</th></tr>"
    });
    for r in &f.rows {
        let name = key_text(r);
        let shown = match key_href(r, store) {
            Some(href) => link("iri", &href, &r.key, &name),
            None => esc(&name),
        };
        if points {
            out.push_str(&format!(
                "<tr><td>{shown}</td><td>{}</td><td>{}</td></tr>",
                r.lat.map(|v| format!("{v:.5}")).unwrap_or_default(),
                r.long.map(|v| format!("{v:.5}")).unwrap_or_default()
            ));
        } else {
            out.push_str(&format!(
                "<tr><td>{shown}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&number(r.value.as_deref().unwrap_or(""), f.money)),
                r.count
                    .map(|c| display::grouped(&c.to_string()))
                    .unwrap_or_default()
            ));
        }
    }
    out.push_str("</table>");
    out
}

/// One figure: its chart, its numbers as a table, and (for a dataset's figure) its CSV.
pub fn figure_html(store: &Store, dataset: Option<&str>, f: &Figure) -> String {
    let svg = match f.chart.as_str() {
        "columns" => columns_svg(f),
        "points" => points_svg(f, store),
        _ => bars_svg(f),
    };
    let note = if f.chart == "points" {
        "<p class=\"muted\">Each point at its latitude and longitude (north up), without a base map.</p>"
    } else {
        ""
    };
    let csv = match dataset {
        Some(d) => format!(
            "<p class=\"muted\"><a href=\"/dataset/{d}/figures/{id}.csv\">{t} as CSV</a> · computed from the live release when it was published</p>",
            d = esc(d),
            id = esc(&f.id),
            t = esc(&f.title),
        ),
        None => String::new(),
    };
    format!(
        "<figure id=\"figure-{id}\"><figcaption><h3>{t}</h3></figcaption>{svg}{note}\
<details><summary>The numbers</summary>{table}</details>{csv}</figure>",
        id = esc(&f.id),
        t = esc(&f.title),
        table = table(f, store),
    )
}

/// The figures of `dataset`'s release `release`, each a chart with its table and CSV.
pub fn figures_html(st: &AppState, dataset: &str, release: &str) -> String {
    let store = &st.store;
    let figures = st.figures.get(store, dataset, release);
    let mut out = String::new();
    for f in figures
        .iter()
        .filter(|f| !f.rows.is_empty() && f.chart != "none")
    {
        out.push_str(&figure_html(store, Some(dataset), f));
    }
    if out.is_empty() {
        out
    } else {
        format!("<h2>The data at a glance</h2>{out}")
    }
}

/// `/dataset/{id}/figures/{figure}.csv`: a figure of the live release as CSV.
pub async fn figure_csv(
    State(st): State<Arc<AppState>>,
    Path((dataset, file)): Path<(String, String)>,
) -> Response {
    let Some(fig) = file.strip_suffix(".csv").map(str::to_string) else {
        return error(StatusCode::NOT_FOUND, "no such figure");
    };
    let st2 = st.clone();
    let found = crate::blocking(move || {
        let Some(d) = crate::markup::find_dataset(&st2.store, &dataset)? else {
            return Ok(None);
        };
        let Some(live) = d.live else {
            return Ok(None);
        };
        let figures = st2.figures.get(&st2.store, &d.id, &live);
        Ok(figures.iter().find(|f| f.id == fig).cloned())
    })
    .await;
    let f = match found {
        Ok(Some(f)) => f,
        Ok(None) => return error(StatusCode::NOT_FOUND, "no such figure"),
        Err(r) => return r,
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let head: &[&str] = if f.chart == "points" {
        &["key", "label", "latitude", "longitude"]
    } else {
        &["key", "label", "value", "rows"]
    };
    let _ = w.write_record(head);
    for r in &f.rows {
        let (a, b) = if f.chart == "points" {
            (
                r.lat.map(|v| v.to_string()).unwrap_or_default(),
                r.long.map(|v| v.to_string()).unwrap_or_default(),
            )
        } else {
            (
                r.value.clone().unwrap_or_default(),
                r.count.map(|c| c.to_string()).unwrap_or_default(),
            )
        };
        let _ = w.write_record([r.key.as_str(), &key_text(r), &a, &b]);
    }
    let body = w.into_inner().unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}.csv\"", f.id),
            ),
        ],
        body,
    )
        .into_response()
}

/// The first [`FIRST_ROWS`] rows of a release's clean CSV, under the titles its metadata
/// gives, values read as people read them; the computed columns (links, keys) left out.
pub fn first_rows_html(store: &Store, dataset: &str, release: &str) -> String {
    let dir = store.dumps_dir().join(dataset);
    let Ok(meta) = std::fs::read(dir.join(format!("{release}-metadata.json"))) else {
        return String::new();
    };
    let Ok(meta) = serde_json::from_slice::<serde_json::Value>(&meta) else {
        return String::new();
    };
    let table = meta.get("tables").and_then(|t| t.get(0)).unwrap_or(&meta);
    let columns: Vec<&serde_json::Value> = table
        .pointer("/tableSchema/columns")
        .and_then(|c| c.as_array())
        .map(|c| c.iter().collect())
        .unwrap_or_default();
    let Ok(file) = std::fs::File::open(dir.join(format!("{release}.csv"))) else {
        return String::new();
    };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .take(FIRST_ROWS)
        .filter_map(|r| r.ok())
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let money = money_properties(store.layout().base());
    // (index, title, money, datatype) of the columns a person reads: titled (computed columns
    // are titled by their name), published, and with a value in these rows.
    let shown: Vec<(usize, String, bool, String)> = columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let name = c.get("name")?.as_str()?;
            let title = match c.get("titles")? {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(a) => a.first()?.as_str()?.to_string(),
                _ => return None,
            };
            if title == name || c.get("suppressOutput").and_then(|s| s.as_bool()) == Some(true) {
                return None;
            }
            if !rows.iter().any(|r| r.get(i).is_some_and(|v| !v.is_empty())) {
                return None;
            }
            let property = c.get("propertyUrl").and_then(|p| p.as_str()).unwrap_or("");
            let datatype = match c.get("datatype") {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(d) => d
                    .get("base")
                    .and_then(|b| b.as_str())
                    .unwrap_or("")
                    .to_string(),
                None => String::new(),
            };
            Some((i, title, money.contains(property), datatype))
        })
        .collect();
    let mut out = format!(
        "<h2>A first look</h2><p>The first {} rows of the live release, as published \
(<a href=\"/dumps/{d}/latest.csv\">the whole clean CSV</a>).</p><div class=\"wide\"><table><tr>",
        rows.len(),
        d = esc(dataset)
    );
    for (_, title, _, _) in &shown {
        out.push_str(&format!("<th>{}</th>", esc(title)));
    }
    out.push_str("</tr>");
    for r in &rows {
        out.push_str("<tr>");
        for (i, _, money, datatype) in &shown {
            let v = r.get(*i).unwrap_or("");
            let read = match datatype.as_str() {
                "decimal" | "integer" | "number" | "double" if *money => display::pounds(v),
                "date" => display::long_date(v),
                "datetime" | "dateTime" => display::long_date_time(v),
                _ => None,
            };
            match read {
                Some(t) => out.push_str(&format!(
                    "<td><data value=\"{}\">{}</data></td>",
                    esc(v),
                    esc(&t)
                )),
                None => out.push_str(&format!("<td>{}</td>", esc(v))),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</table></div>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_label_is_cut_to_its_width_not_its_letters() {
        let room = 218.0;
        // Short names stay whole.
        assert_eq!(fit("Greenleaf Grounds Ltd", room), "Greenleaf Grounds Ltd");
        // The same letters in capitals take more room: cut sooner, and within the room.
        let lower = fit("Meadowbank Waste Solutions Limited and Partners", room);
        let upper = fit("MEADOWBANK WASTE SOLUTIONS LIMITED AND PARTNERS", room);
        assert!(
            lower.ends_with('…') && upper.ends_with('…'),
            "{lower} / {upper}"
        );
        assert!(
            upper.chars().count() < lower.chars().count(),
            "{lower} / {upper}"
        );
        for cut in [&lower, &upper] {
            assert!(cut.chars().map(glyph_px).sum::<f64>() <= room, "{cut}");
        }
    }

    #[test]
    fn compact_values() {
        assert_eq!(compact(1_234_567.0, true), "£1.2m");
        assert_eq!(compact(45_000.0, true), "£45.0k");
        assert_eq!(compact(123_456.0, true), "£123k");
        assert_eq!(compact(-900.0, true), "\u{2212}£900");
        assert_eq!(compact(12.0, false), "12");
        assert_eq!(compact(2.5e9, true), "£2.5bn");
    }

    #[test]
    fn charts_are_svg_with_a_title_and_one_mark_per_row() {
        let row = |k: &str, v: &str| FigureRow {
            key: format!("http://reference.data.gov.uk/id/month/{k}"),
            key_is_iri: true,
            label: None,
            value: Some(v.into()),
            count: Some(2),
            lat: None,
            long: None,
            by: Vec::new(),
        };
        let f = Figure {
            id: "m".into(),
            title: "Spend per month".into(),
            chart: "columns".into(),
            money: true,
            rows: vec![
                row("2024-01", "1000.50"),
                row("2024-02", "-250"),
                row("2024-03", "3000"),
            ],
        };
        let svg = columns_svg(&f);
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("<title id=\"m-title\">Spend per month</title>"));
        assert!(svg.contains("January 2024: £1,000.50"), "{svg}");
        assert!(svg.contains(">Jan 2024</text>"), "{svg}");
        assert!(svg.contains("\u{2212}£250.00"), "{svg}");
        let svg = bars_svg(&f);
        assert_eq!(svg.matches("<rect").count(), 3);
    }
}
