//! The workspace's pages. Words are for council officers: what the data will look like, what
//! is wrong in the file's own terms (row, column, value), and what the public will see.

use super::{auth, blocking, find, page, preview_source, problem, session};
use crate::html::esc;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use fivestar_pipeline::config::Personal;
use fivestar_pipeline::edit::{Every, WEEKDAYS};
use fivestar_pipeline::jobs::JobState;
use fivestar_pipeline::preview::grouped_decimal;
use fivestar_pipeline::report::Group;
use fivestar_pipeline::{Outcome, Severity};
use std::sync::Arc;

pub const EXTRA_STYLE: &str = "header nav{display:flex;gap:1rem;flex-wrap:wrap}\
.signout{margin-left:auto;display:flex;gap:.5rem;align-items:baseline;flex-wrap:wrap}\
.wide{overflow-x:auto;max-width:100%}.wide:focus{outline:2px solid #1d70b8}\
pre{overflow-x:auto;background:#f3f2f1;padding:.75rem;white-space:pre-wrap;word-break:break-word}\
.error{color:#b10e1e;font-weight:600}.ok{color:#00703c;font-weight:600}.warn{color:#6a4a00}\
.banner{border-left:6px solid #1d70b8;padding:.5rem 1rem;background:#f3f7fb;margin:1rem 0}\
.banner.bad{border-color:#b10e1e;background:#fcf1f1}.banner.good{border-color:#00703c;background:#f0f7f2}\
form.inline{display:inline}button,.button{font:inherit;padding:.4rem .9rem;border:2px solid #1d70b8;background:#1d70b8;color:#fff;border-radius:3px;cursor:pointer;text-decoration:none;display:inline-block}\
button.secondary{background:#fff;color:#1d70b8}button.danger{background:#b10e1e;border-color:#b10e1e}\
button[disabled]{background:#6f777b;border-color:#6f777b;cursor:not-allowed}\
label{font-weight:600;display:block;margin:.6rem 0 .2rem}label.inline{display:inline;font-weight:400}\
input[type=text],input[type=url],input[type=password],input[type=number],select{font:inherit;padding:.3rem;max-width:100%;box-sizing:border-box}\
input[type=text],input[type=url],input[type=password]{width:24rem}\
.visually-hidden{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}\
.arrow{color:#505a5f}.raw{color:#505a5f}.notpub{color:#505a5f;font-style:italic}\
fieldset{border:1px solid #b1b4b6;margin:1rem 0;padding:.5rem 1rem}legend{font-weight:600}\
.choice{margin:.3rem 0}.cases td{font-size:.95rem}\
.cases td:nth-child(n+3){white-space:normal;overflow-wrap:break-word}.cases td:last-child{min-width:16rem}";

/// A table that scrolls sideways on a narrow screen (keyboard users can scroll it too).
fn wide(label: &str, table: &str) -> String {
    format!(
        "<div class=\"wide\" role=\"region\" aria-label=\"{}\" tabindex=\"0\">{table}</div>",
        esc(label)
    )
}

fn csrf(s: &auth::Session) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&s.csrf)
    )
}

/// The sign-in page.
pub fn login(message: Option<&str>, next: &str, csrf: &str, status: StatusCode) -> Response {
    let msg = message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(m)))
        .unwrap_or_default();
    let mut r = page(
        "Sign in",
        None,
        &format!(
            "<h1>Sign in to the workspace</h1>{msg}\
<form method=\"post\" action=\"/admin/login\">\
<input type=\"hidden\" name=\"next\" value=\"{}\">\
<input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<label for=\"name\">Account name</label>\
<input type=\"text\" id=\"name\" name=\"name\" autocomplete=\"username\" aria-describedby=\"name-hint\">\
<p class=\"muted\" id=\"name-hint\">Accounts are made with <code>fivestar user add NAME</code>. Leave the name empty to sign in with the instance's admin token.</p>\
<label for=\"password\">Password</label>\
<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
<p><button type=\"submit\">Sign in</button></p></form>",
            esc(next),
            esc(csrf)
        ),
    );
    *r.status_mut() = status;
    r
}

fn when(xsd: &str) -> String {
    // 2026-12-03T07:01:02Z → 2026-12-03 07:01 UTC
    match (xsd.get(..10), xsd.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t} UTC"),
        _ => xsd.to_string(),
    }
}

fn outcome_words(o: Outcome) -> (&'static str, &'static str) {
    match o {
        Outcome::Published => ("published", "ok"),
        Outcome::Valid => ("checked: passed", "ok"),
        Outcome::Unchanged => ("unchanged", "muted"),
        Outcome::Blocked => ("blocked", "error"),
        Outcome::Failed => ("failed", "error"),
    }
}

/// `/admin/`: every dataset's last run, outcome, next run and staleness, failed runs first;
/// the jobs under way; the audit log.
pub async fn runs(State(st): State<Arc<AppState>>, headers: HeaderMap, uri: Uri) -> Response {
    let s = match session(&st, &headers, &uri) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let st2 = st.clone();
    let data = blocking(move || {
        let folder = &st2.admin.instance.pipelines;
        let mut broken = Vec::new();
        let pipelines: Vec<_> = fivestar_pipeline::Pipeline::discover(folder)
            .unwrap_or_default()
            .iter()
            .filter_map(|f| match fivestar_pipeline::Pipeline::load(f) {
                Ok(p) => Some(p),
                Err(e) => {
                    broken.push(e.to_string());
                    None
                }
            })
            .collect();
        let now = fivestar_pipeline::chrono::Utc::now();
        let mut rows = fivestar_pipeline::schedule::status(&pipelines, st2.store.layout(), now);
        let rank =
            |s: &fivestar_pipeline::schedule::Status| match s.last.as_ref().map(|l| l.outcome) {
                Some(Outcome::Failed) | Some(Outcome::Blocked) => 0,
                _ if s.stale => 1,
                None => 2,
                _ => 3,
            };
        rows.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.dataset.cmp(&b.dataset)));
        let live = st2.store.datasets().unwrap_or_default();
        let audit = fivestar_store::audit::recent(st2.store.layout(), 50).unwrap_or_default();
        (rows, live, audit, broken)
    })
    .await;
    let Some((rows, live, audit, broken)) = data else {
        return super::stopped(&s);
    };
    let mut body = String::from(
        "<h1>Runs and health</h1><p><a class=\"button\" href=\"/admin/new\">New dataset from a spreadsheet</a></p>",
    );
    let mut t = String::from("<table><caption class=\"visually-hidden\">Every dataset's last run</caption><thead><tr><th scope=\"col\">Dataset</th><th scope=\"col\">Last run</th><th scope=\"col\">Outcome</th><th scope=\"col\">Live release</th><th scope=\"col\">Next run</th><th scope=\"col\">Stale</th></tr></thead><tbody>");
    for r in &rows {
        let last = match &r.last {
            Some(l) => format!(
                "<a href=\"/admin/datasets/{}/runs/{}\">{}</a>",
                esc(&r.dataset),
                esc(&l.run),
                esc(&when(&l.finished))
            ),
            None => "never".into(),
        };
        let outcome = match &r.last {
            Some(l) => {
                let (w, class) = outcome_words(l.outcome);
                let msg = l
                    .message
                    .as_deref()
                    .map(|m| format!("<br><span class=\"muted\">{}</span>", esc(&shorten(m, 160))))
                    .unwrap_or_default();
                format!("<span class=\"{class}\">{w}</span>{msg}")
            }
            None => "—".into(),
        };
        let live_release = live
            .iter()
            .find(|d| d.id == r.dataset)
            .map(|d| match &d.live {
                Some(l) => format!("<a href=\"/dataset/{}\">{}</a>", esc(&d.id), esc(l)),
                None => "withdrawn".into(),
            })
            .unwrap_or_else(|| "not published".into());
        t.push_str(&format!(
            "<tr><td><a href=\"/admin/datasets/{id}\">{id}</a></td><td>{last}</td><td>{outcome}</td><td>{live_release}</td><td>{next}</td><td>{stale}</td></tr>",
            id = esc(&r.dataset),
            next = esc(&r.next.as_deref().map(when).unwrap_or_else(|| "not scheduled".into())),
            stale = if r.stale { "<span class=\"error\">stale</span>" } else { "no" },
        ));
    }
    t.push_str("</tbody></table>");
    if rows.is_empty() {
        body.push_str("<p>No pipelines yet: start with a new dataset.</p>");
    } else {
        body.push_str(&wide("Every dataset's last run", &t));
    }
    for b in &broken {
        body.push_str(&format!(
            "<p class=\"error\">A pipeline file cannot be read: {}</p>",
            esc(b)
        ));
    }
    let jobs = st.admin.jobs.list();
    if !jobs.is_empty() {
        body.push_str("<h2>Recent jobs</h2><ul>");
        for j in jobs.iter().take(10) {
            body.push_str(&format!(
                "<li><a href=\"/admin/jobs/{}\">{} {}</a>: {}</li>",
                esc(&j.id),
                esc(&j.kind),
                esc(j.dataset.as_deref().unwrap_or("")),
                esc(&job_state(j))
            ));
        }
        body.push_str("</ul>");
    }
    body.push_str("<h2>Audit log</h2>");
    if audit.is_empty() {
        body.push_str("<p>Nothing yet.</p>");
    } else {
        let mut t = String::from("<table><thead><tr><th scope=\"col\">When</th><th scope=\"col\">Who</th><th scope=\"col\">What</th><th scope=\"col\">Dataset</th><th scope=\"col\">Release</th></tr></thead><tbody>");
        for e in &audit {
            t.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td></tr>",
                esc(&when(&e.at)),
                esc(&e.who),
                esc(&e.action),
                if e.detail.is_empty() {
                    String::new()
                } else {
                    format!(
                        "<br><span class=\"muted\">{}</span>",
                        esc(&shorten(&e.detail, 200))
                    )
                },
                esc(e.dataset.as_deref().unwrap_or("")),
                esc(e.release.as_deref().unwrap_or(""))
            ));
        }
        t.push_str("</tbody></table>");
        body.push_str(&wide("Audit log", &t));
    }
    page("Runs and health", Some(&s), &body)
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}…")
}

fn job_state(j: &fivestar_pipeline::jobs::Job) -> String {
    match j.state {
        JobState::Running => format!(
            "running{}",
            j.stage.map(|s| format!(" ({s})")).unwrap_or_default()
        ),
        _ => match (j.outcome, &j.error) {
            (Some(o), _) => outcome_words(o).0.to_string(),
            (None, Some(e)) => format!("failed: {e}"),
            (None, None) => "done".into(),
        },
    }
}

/// `/admin/new`: a file or a URL.
pub async fn new_page(State(st): State<Arc<AppState>>, headers: HeaderMap, uri: Uri) -> Response {
    let s = match session(&st, &headers, &uri) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = format!(
        "<h1>New dataset</h1><p>Give the spreadsheet you publish today: CSV (any encoding), Excel (xlsx, xls) or OpenDocument (ods). fivestar finds which kind of dataset it is, shows how it reads every column, and writes the pipeline file for you. Nothing is published until you press Publish.</p>\
<form method=\"post\" action=\"/admin/new\" enctype=\"multipart/form-data\">{}\
<label for=\"title\">Title (optional)</label><input type=\"text\" id=\"title\" name=\"title\" aria-describedby=\"title-hint\">\
<p class=\"muted\" id=\"title-hint\">As the public will see it, e.g. \"Spending over £500, 2024\".</p>\
<label for=\"file\">The file</label><input type=\"file\" id=\"file\" name=\"file\" accept=\".csv,.tsv,.txt,.xlsx,.xls,.ods\">\
<label for=\"url\">Or its address on the web</label><input type=\"url\" id=\"url\" name=\"url\" aria-describedby=\"url-hint\">\
<p class=\"muted\" id=\"url-hint\">An address is fetched again at every scheduled run, so the dataset stays up to date.</p>\
<p><button type=\"submit\">Read the file</button></p></form>",
        csrf(&s)
    );
    page("New dataset", Some(&s), &body)
}

/// The page for a file no template fits: say so, offer the closest.
pub fn no_template(
    s: &auth::Session,
    id: &str,
    name: &str,
    source: &str,
    title: &str,
    i: &fivestar_pipeline::inspect::Inspection,
) -> Response {
    let mut body = format!(
        "<h1>No template fits {} well enough</h1><p>fivestar knows the datasets councils publish (spending, contracts, grants, land and assets, and more) by their columns. This file's columns match none of them closely (the best match is {:.0}%).</p>",
        esc(name),
        i.confidence * 100.0
    );
    if i.near.is_empty() {
        body.push_str("<p>No template comes close. Publish it with a CSVW metadata file written by hand (see the README), or ask for a template for this kind of data.</p>");
    } else {
        body.push_str("<h2>The closest templates</h2><p>Choose one to map the columns it knows; the rest of the file is left out until you map them.</p>");
        for n in &i.near {
            let explained: Vec<String> = n
                .matched
                .iter()
                .map(|(h, c)| format!("{h} → {c}"))
                .collect();
            body.push_str(&format!(
                "<form method=\"post\" action=\"/admin/new/choose\">{}\
<input type=\"hidden\" name=\"id\" value=\"{}\"><input type=\"hidden\" name=\"name\" value=\"{}\">\
<input type=\"hidden\" name=\"source\" value=\"{}\"><input type=\"hidden\" name=\"title\" value=\"{}\">\
<input type=\"hidden\" name=\"template\" value=\"{}\">\
<h3>{} <span class=\"muted\">({:.0}%)</span></h3><p>Reads: {}</p><p>Lacks: {}</p>\
<p><button type=\"submit\">Use {}</button></p></form>",
                csrf(s),
                esc(id),
                esc(name),
                esc(source),
                esc(title),
                esc(&n.template),
                esc(&n.title),
                n.confidence * 100.0,
                esc(&if explained.is_empty() { "none of its columns".to_string() } else { explained.join(", ") }),
                esc(&if n.missing_core.is_empty() { "nothing essential".to_string() } else { n.missing_core.join(", ") }),
                esc(&n.title),
            ));
        }
    }
    page("No template fits", Some(s), &body)
}

/// `/admin/jobs/{job}`: a run's progress, refreshed every second until it ends.
pub async fn job(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let s = match session(&st, &headers, &uri) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(j) = st.admin.jobs.get(&id) else {
        return problem(
            StatusCode::NOT_FOUND,
            Some(&s),
            "No such job",
            "It may be from before the instance restarted: see Runs and health.",
        );
    };
    let dataset = j.dataset.clone().unwrap_or_default();
    let what = if j.kind == "validate" {
        "Checking"
    } else {
        "Publishing"
    };
    let mut body = format!("<h1>{what} {}</h1>", esc(&dataset));
    let mut refresh = false;
    match j.state {
        JobState::Running => {
            refresh = true;
            let progress = match j.total {
                Some(t) if t > 0 => format!(
                    "<progress max=\"{t}\" value=\"{}\" aria-label=\"Progress\"></progress> {} of {t}",
                    j.done.min(t),
                    j.done.min(t)
                ),
                _ => format!("<progress aria-label=\"Progress\"></progress> {}", j.done),
            };
            body.push_str(&format!(
                "<p role=\"status\">Now: <strong>{}</strong>. {progress}</p><p class=\"muted\">This page updates itself every second.</p>",
                esc(j.stage.unwrap_or("starting"))
            ));
        }
        _ => {
            let run = j
                .result
                .as_ref()
                .and_then(|r| r.get("run"))
                .and_then(|r| r.as_str())
                .unwrap_or_default()
                .to_string();
            let report_link = if run.is_empty() {
                String::new()
            } else {
                format!(
                    "<p><a class=\"button\" href=\"/admin/datasets/{}/runs/{}\">Read the report</a></p>",
                    esc(&dataset),
                    esc(&run)
                )
            };
            match (j.outcome, &j.error) {
                (Some(Outcome::Published), _) => {
                    let release = j
                        .result
                        .as_ref()
                        .and_then(|r| r.get("release"))
                        .and_then(|r| r.as_str())
                        .unwrap_or_default();
                    body.push_str(&format!(
                        "<div class=\"banner good\" role=\"status\"><p class=\"ok\">Published: release {} is live.</p><p>See it as the public does: <a href=\"/dataset/{d}\">/dataset/{d}</a></p></div>{report_link}",
                        esc(release),
                        d = esc(&dataset)
                    ));
                }
                (Some(Outcome::Valid), _) => body.push_str(&format!(
                    "<div class=\"banner good\" role=\"status\"><p class=\"ok\">The checks passed.</p></div>{report_link}"
                )),
                (Some(Outcome::Unchanged), _) => body.push_str(&format!(
                    "<div class=\"banner\" role=\"status\"><p>Nothing changed since the last release: the file and the pipeline are the same, so nothing was published.</p></div>{report_link}"
                )),
                (Some(o), _) => body.push_str(&format!(
                    "<div class=\"banner bad\" role=\"alert\"><p class=\"error\">{}: nothing was published, and the live release is as it was.</p></div>{report_link}",
                    esc(outcome_words(o).0)
                )),
                (None, Some(e)) => body.push_str(&format!(
                    "<div class=\"banner bad\" role=\"alert\"><p class=\"error\">The job failed: {}</p></div>",
                    esc(e)
                )),
                (None, None) => body.push_str("<p>Done.</p>"),
            }
            body.push_str(&format!(
                "<p><a href=\"/admin/datasets/{}\">Back to the dataset</a></p>",
                esc(&dataset)
            ));
        }
    }
    let mut r = page(&format!("{what} {dataset}"), Some(&s), &body);
    if refresh {
        r.headers_mut().insert(
            axum::http::header::REFRESH,
            axum::http::HeaderValue::from_static("1"),
        );
    }
    r
}

/// `/admin/datasets/{id}`: the file as the pipeline reads it, the template, every column's
/// mapping (changeable), the schedule, the releases and the pipeline file.
pub async fn dataset(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let s = match session(&st, &headers, &uri) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let st2 = st.clone();
    let id2 = id.clone();
    let found = blocking(move || {
        let p = find(&st2, &id2)?;
        let text = std::fs::read_to_string(&p.file).unwrap_or_default();
        let source = preview_source(&st2, &p);
        let (sample, inspection, mapping_err) = match &source {
            Ok(src) => {
                let i = fivestar_pipeline::inspect::inspect(
                    &src.bytes,
                    &src.name,
                    p.source.sheet.clone(),
                    None,
                )
                .ok();
                match fivestar_pipeline::mapping::Mapping::load(&p, st2.store.layout()) {
                    Ok(m) => {
                        let dropped: Vec<String> = m
                            .columns
                            .iter()
                            .filter(|c| c.personal == Personal::Drop)
                            .map(|c| c.name.clone())
                            .collect();
                        let template_columns: Vec<(String, String)> = m
                            .columns
                            .iter()
                            .map(|c| (c.name.clone(), c.rule.name.clone()))
                            .collect();
                        (
                            Some((
                                fivestar_pipeline::sample::sample(src, &p, &m, 5),
                                dropped,
                                template_columns,
                            )),
                            i,
                            None,
                        )
                    }
                    Err(e) => (None, i, Some(e.message.clone())),
                }
            }
            Err(_) => (None, None, None),
        };
        let released = st2
            .store
            .datasets()
            .ok()
            .and_then(|d| d.into_iter().find(|d| d.id == id2));
        let state = fivestar_pipeline::state::load_state(st2.store.layout(), &id2);
        Some((
            p,
            text,
            source.err(),
            sample,
            inspection,
            mapping_err,
            released,
            state,
        ))
    })
    .await
    .flatten();
    let Some((p, text, source_err, sample, inspection, mapping_err, released, state)) = found
    else {
        return problem(
            StatusCode::NOT_FOUND,
            Some(&s),
            "No such dataset",
            &format!("There is no pipeline {id:?} in the pipelines folder."),
        );
    };
    let template = match &p.mapping {
        fivestar_pipeline::config::MappingSource::Template(t) => Some(t.clone()),
        _ => None,
    };
    let mut body = format!("<h1>{}</h1><p class=\"muted\">Dataset id <code>{}</code> · pipeline file <code>{}</code></p>",
        esc(&p.title), esc(&p.id), esc(&p.file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()));
    // Where it stands.
    match released.as_ref().and_then(|d| d.live.clone()) {
        Some(live) => body.push_str(&format!(
            "<div class=\"banner good\"><p>Live: release {} · <a href=\"/dataset/{}\">see the public page</a></p></div>",
            esc(&live),
            esc(&p.id)
        )),
        None if released.is_some() => body.push_str("<div class=\"banner bad\"><p>Withdrawn: the public cannot see this dataset. Publish again, or roll back to a release below, to bring it back.</p></div>"),
        None => body.push_str("<div class=\"banner\"><p>Not published yet. Check the data, read the report, then publish.</p></div>"),
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/admin/datasets/{}/check\">{}<button type=\"submit\">Check the data</button></form>",
        esc(&p.id),
        csrf(&s)
    ));
    if let Some(last) = &state.last {
        body.push_str(&format!(
            "<p>Last run: <a href=\"/admin/datasets/{}/runs/{}\">{} — {}</a></p>",
            esc(&p.id),
            esc(&last.run),
            esc(&when(&last.finished)),
            esc(outcome_words(last.outcome).0)
        ));
    }

    // The file.
    body.push_str("<h2>The file</h2>");
    body.push_str(&format!(
        "<p>Source: <code class=\"iri\">{}</code></p>",
        esc(&p.source.location.to_string())
    ));
    if let Some(e) = &source_err {
        body.push_str(&format!("<p class=\"warn\">{}</p>", esc(e)));
    }
    if let Some((sample, _, _)) = &sample {
        let mut facts: Vec<(String, String)> = sample.facts.clone();
        if let Some(i) = &inspection {
            if let Some(a) = &i.amount_format {
                facts.push(("amounts written as".into(), a.clone()));
            }
        }
        body.push_str("<table><tbody>");
        for (k, v) in &facts {
            body.push_str(&format!(
                "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                esc(&fact_words(k)),
                esc(v)
            ));
        }
        body.push_str("</tbody></table>");
    }

    // The template.
    body.push_str("<h2>What kind of data it is</h2>");
    if let Some(i) = &inspection {
        let all = fivestar_council::Template::all().unwrap_or(&[]);
        let score = |t: &str| {
            i.candidates
                .iter()
                .find(|c| c.template == t)
                .map(|c| c.confidence)
                .or(if i.template.as_deref() == Some(t) {
                    Some(i.confidence)
                } else {
                    None
                })
        };
        let mut options = String::new();
        let mut ordered: Vec<_> = all.iter().collect();
        ordered.sort_by(|a, b| {
            score(&b.id)
                .unwrap_or(0.0)
                .total_cmp(&score(&a.id).unwrap_or(0.0))
                .then(a.title.cmp(&b.title))
        });
        for t in ordered {
            let sel = if template.as_deref() == Some(t.id.as_str()) {
                " selected"
            } else {
                ""
            };
            let pct = score(&t.id)
                .map(|c| format!(" — fits {:.0}%", c * 100.0))
                .unwrap_or_default();
            options.push_str(&format!(
                "<option value=\"{}\"{sel}>{}{pct}</option>",
                esc(&t.id),
                esc(&t.title)
            ));
        }
        if let Some(t) = &template {
            let pct = score(t)
                .map(|c| format!("{:.0}%", c * 100.0))
                .unwrap_or_else(|| "—".into());
            body.push_str(&format!(
                "<p>Read as <strong>{}</strong> (the file fits it {pct}).</p>",
                esc(t)
            ));
        }
        body.push_str(&format!(
            "<form method=\"post\" action=\"/admin/datasets/{}/template\">{}<label for=\"template\">Template</label><select id=\"template\" name=\"template\">{options}</select> <button type=\"submit\" class=\"secondary\">Use this template</button></form>",
            esc(&p.id),
            csrf(&s)
        ));
    }
    if let Some(e) = &mapping_err {
        body.push_str(&format!("<p class=\"error\">{}</p>", esc(e)));
    }

    // The columns.
    if let Some((sample, dropped, template_columns)) = &sample {
        body.push_str(&format!("<h2 id=\"columns\">Columns</h2><p>Each column of your file, what it is published as, and its first values as written in the file <span class=\"arrow\">→</span> as they will be published. Change a mapping and press Save.</p><form method=\"post\" action=\"/admin/datasets/{}/columns\">{}", esc(&p.id), csrf(&s)));
        let mut t = String::from("<table><thead><tr><th scope=\"col\">Your column</th><th scope=\"col\">Published as</th><th scope=\"col\">First values</th></tr></thead><tbody>");
        for (n, c) in sample.columns.iter().enumerate() {
            let header = c.source.clone().unwrap_or_default();
            let current = c.column.clone().filter(|c| !dropped.contains(c));
            let mut options = format!(
                "<option value=\"\"{}>— not published —</option>",
                if current.is_none() { " selected" } else { "" }
            );
            for (name, title) in template_columns {
                let sel = if current.as_deref() == Some(name.as_str()) {
                    " selected"
                } else {
                    ""
                };
                options.push_str(&format!(
                    "<option value=\"{}\"{sel}>{}</option>",
                    esc(name),
                    esc(title)
                ));
            }
            let values: Vec<String> = sample
                .rows
                .iter()
                .take(3)
                .filter_map(|(_, cells)| cells.get(n))
                .filter(|(raw, _)| !raw.is_empty())
                .map(|(raw, clean)| match clean {
                    _ if current.is_none() => format!("<span class=\"notpub\">{}</span>", esc(raw)),
                    Some(c) if c != raw => format!(
                        "<span class=\"raw\">{}</span> <span class=\"arrow\">→</span> {}",
                        esc(raw),
                        esc(c)
                    ),
                    _ => esc(raw),
                })
                .collect();
            t.push_str(&format!(
                "<tr><td>{h}<input type=\"hidden\" name=\"header.{n}\" value=\"{h}\"><input type=\"hidden\" name=\"was.{n}\" value=\"{was}\"></td>\
<td><label class=\"visually-hidden\" for=\"map{n}\">Published as, for {h}</label><select id=\"map{n}\" name=\"map.{n}\">{options}</select></td><td>{v}</td></tr>",
                h = esc(&header),
                was = esc(current.as_deref().unwrap_or("")),
                v = values.join("<br>")
            ));
        }
        t.push_str("</tbody></table>");
        body.push_str(&wide("Columns", &t));
        body.push_str("<p><button type=\"submit\">Save the mapping</button></p></form>");
        let absent: Vec<String> = sample
            .absent
            .iter()
            .filter(|(n, _)| !dropped.contains(n))
            .map(|(_, t)| t.clone())
            .collect();
        if !absent.is_empty() {
            body.push_str(&format!(
                "<p class=\"muted\">The template's columns your file lacks: {}.</p>",
                esc(&absent.join(", "))
            ));
        }
        let problems: Vec<String> = sample
            .problems
            .iter()
            .filter(|p| p.severity >= Severity::Warning)
            .take(5)
            .map(fivestar_pipeline::report::problem_line)
            .collect();
        if !problems.is_empty() {
            body.push_str("<p>Reading the file found:</p><ul>");
            for p in problems {
                body.push_str(&format!("<li>{}</li>", esc(&p)));
            }
            body.push_str("</ul>");
        }
    }

    // The schedule.
    let cron = p.schedule.as_ref().map(|(c, _)| c.as_str());
    let every = Every::of_cron(cron);
    body.push_str("<h2 id=\"schedule\">Schedule</h2>");
    body.push_str(&format!(
        "<p>Now: {}.</p>",
        esc(&match (every, cron) {
            (Some(e), _) => e.describe(),
            (None, Some(c)) => format!("custom (cron \"{c}\", written by hand)"),
            (None, None) => Every::Never.describe(),
        })
    ));
    let (kind, day, weekday) = match every {
        Some(Every::Week(d)) => ("week", 1, d),
        Some(Every::Month(d)) => ("month", d, 1),
        Some(Every::Quarter(d)) => ("quarter", d, 1),
        _ => ("never", 1, 1),
    };
    let radio = |v: &str, label: &str| {
        format!(
            "<div class=\"choice\"><input type=\"radio\" id=\"every-{v}\" name=\"every\" value=\"{v}\"{}> <label class=\"inline\" for=\"every-{v}\">{label}</label></div>",
            if kind == v { " checked" } else { "" }
        )
    };
    let mut weekdays = String::new();
    for (n, w) in WEEKDAYS.iter().enumerate() {
        weekdays.push_str(&format!(
            "<option value=\"{n}\"{}>{w}</option>",
            if usize::from(weekday) == n {
                " selected"
            } else {
                ""
            }
        ));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/admin/datasets/{}/schedule\">{}<fieldset><legend>Fetch and publish again</legend>{}{}{}{}\
<label for=\"day\">Day of the month (monthly and quarterly)</label><input type=\"number\" id=\"day\" name=\"day\" min=\"1\" max=\"28\" value=\"{day}\">\
<label for=\"weekday\">Day of the week (weekly)</label><select id=\"weekday\" name=\"weekday\">{weekdays}</select></fieldset>\
<p class=\"muted\">Runs start at 06:00 UTC, made by the instance when it runs as <code>fivestar schedule</code> (a change here is seen within a minute, no restart). A dataset not yet published waits for its first scheduled time. A scheduled run publishes only when the file changed and passes every check; otherwise the live release stays.</p>\
<p><button type=\"submit\" class=\"secondary\">Save the schedule</button></p></form>",
        esc(&p.id),
        csrf(&s),
        radio("never", "Never: I run it by hand"),
        radio("week", "Every week"),
        radio("month", "Every month"),
        radio("quarter", "Every quarter (January, April, July, October)"),
    ));

    // The releases.
    body.push_str("<h2 id=\"releases\">Releases</h2>");
    match &released {
        Some(d) if !d.releases.is_empty() => {
            let mut t = String::from("<table><thead><tr><th scope=\"col\">Release</th><th scope=\"col\">Published</th><th scope=\"col\">Statements</th><th scope=\"col\">Stars</th><th scope=\"col\"></th></tr></thead><tbody>");
            for r in d.releases.iter().rev() {
                let live = d.live.as_deref() == Some(r.release.as_str());
                let action = if live {
                    "<span class=\"live\">live</span>".to_string()
                } else {
                    format!("<a href=\"/admin/datasets/{}/rollback?release={}\">Make this the live release…</a>", esc(&d.id), esc(&r.release))
                };
                t.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{action}</td></tr>",
                    esc(&r.release),
                    esc(&r.issued.as_deref().map(when).unwrap_or_default()),
                    r.triples,
                    r.stars
                        .as_ref()
                        .map(|s| s.stars.to_string())
                        .unwrap_or_default()
                ));
            }
            t.push_str("</tbody></table>");
            body.push_str(&wide("Releases", &t));
            if d.live.is_some() {
                body.push_str(&format!("<p><a href=\"/admin/datasets/{}/withdraw\">Withdraw this dataset…</a> (the emergency action: takes it off the public site at once)</p>", esc(&d.id)));
            }
        }
        _ => body.push_str("<p>None yet.</p>"),
    }

    // The pipeline file.
    body.push_str(&format!(
        "<h2 id=\"pipeline\">The pipeline file</h2><p>This is the file <code>fivestar run</code> reads: everything above is written here. <a href=\"/admin/datasets/{}/pipeline.toml\" download>Download it</a>.</p><pre tabindex=\"0\" aria-label=\"The pipeline file\">{}</pre>",
        esc(&p.id),
        esc(&text)
    ));
    page(&p.title, Some(&s), &body)
}

fn fact_words(k: &str) -> String {
    match k {
        "format" => "Format".into(),
        "encoding" => "Text encoding".into(),
        "sheet" => "Sheet".into(),
        "header row" => "Header on row".into(),
        "rows" => "Rows of data".into(),
        k if k.starts_with("date order of ") => format!(
            "Dates in {} are written",
            k.trim_start_matches("date order of ").trim_matches('"')
        ),
        k => k.to_string(),
    }
}

/// A rule in words. A link rule's warnings are values that link to nothing; its note for
/// information is what it linked, and is not called that.
fn rule_words(rule: &str, severity: Severity) -> String {
    let known = [
        ("personal-data:email", "Email addresses"),
        ("personal-data:phone", "Phone numbers"),
        ("personal-data:ni-number", "National Insurance numbers"),
        ("personal-data:nhs-number", "NHS numbers"),
        ("personal-data:names", "People's names"),
        ("redacted-names", "Names redacted as people's"),
        ("redacted", "Redacted as the pipeline asks"),
        ("dropped", "Left out as the pipeline asks"),
        ("rules:required", "Missing values"),
        ("rules:unique", "Repeated values that must be unique"),
        ("amount", "Amounts that cannot be read"),
        ("date", "Dates that cannot be read"),
        ("missing-column", "Columns the file lacks"),
        ("column-choice", "More than one column fits"),
        ("no-rows", "No data"),
        ("shrink", "Far fewer rows than the live release"),
        (
            "link:council-publisher",
            "Rows given the publisher as their council",
        ),
        ("link:idle", "Links with nothing to link"),
    ];
    known
        .iter()
        .find(|(r, _)| *r == rule)
        .map(|(_, w)| w.to_string())
        .or_else(|| {
            rule.strip_prefix("link:").map(|k| match severity {
                Severity::Error | Severity::Warning => format!("Values that link to nothing ({k})"),
                _ => format!("Values linked ({k})"),
            })
        })
        .unwrap_or_else(|| rule.replace([':', '-'], " "))
}

fn severity_words(s: Severity) -> (&'static str, &'static str) {
    match s {
        Severity::Error => ("Must be fixed", "error"),
        Severity::Warning => ("Worth a look", "warn"),
        _ => ("For information", "muted"),
    }
}

fn group_html(g: &Group) -> String {
    let (sev, class) = severity_words(g.severity);
    let mut out = format!(
        "<h3><span class=\"{class}\">{sev}:</span> {}{} <span class=\"muted\">({} case{})</span></h3>",
        esc(&rule_words(&g.rule, g.severity)),
        g.column.as_ref().map(|c| format!(" in “{}”", esc(c))).unwrap_or_default(),
        g.count,
        if g.count == 1 { "" } else { "s" }
    );
    let mut t = String::from("<table class=\"cases\"><thead><tr><th scope=\"col\">Row</th><th scope=\"col\">Column</th><th scope=\"col\">Value</th><th scope=\"col\">What</th></tr></thead><tbody>");
    for p in &g.first {
        t.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.row.map(|r| r.to_string()).unwrap_or_else(|| "—".into()),
            esc(p.column.as_deref().unwrap_or("—")),
            esc(p.value.as_deref().unwrap_or("")),
            esc(&p.message)
        ));
    }
    t.push_str("</tbody></table>");
    if g.count > g.first.len() {
        t.push_str(&format!(
            "<p class=\"muted\">The first {} of {} are shown.</p>",
            g.first.len(),
            g.count
        ));
    }
    out.push_str(&wide(&rule_words(&g.rule, g.severity), &t));
    out
}

/// `/admin/datasets/{id}/runs/{run}`: a run's report for people.
pub async fn report(
    State(st): State<Arc<AppState>>,
    Path((id, run)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let s = match session(&st, &headers, &uri) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let st2 = st.clone();
    let (id2, run2) = (id.clone(), run.clone());
    let got = blocking(move || {
        let r = fivestar_pipeline::state::read_report(st2.store.layout(), &id2, &run2)?;
        let state = fivestar_pipeline::state::load_state(st2.store.layout(), &id2);
        let p = find(&st2, &id2);
        Some((r, state, p))
    })
    .await
    .flatten();
    let Some((r, state, pipeline)) = got else {
        return problem(
            StatusCode::NOT_FOUND,
            Some(&s),
            "No such report",
            &format!("There is no report of run {run:?} of {id:?}."),
        );
    };
    let latest = state.last.as_ref().map(|l| l.run.as_str()) == Some(run.as_str())
        || r.outcome == Outcome::Valid;
    let checking = r.outcome == Outcome::Valid || r.release.is_none();
    let mut body = format!(
        "<h1>{} {}</h1><p class=\"muted\">Run {} · {}</p>",
        if r.outcome == Outcome::Published || r.release.is_some() {
            "Publication of"
        } else {
            "Check of"
        },
        esc(&id),
        esc(&r.run),
        esc(&when(&r.finished))
    );
    let errors = r.count(Severity::Error);
    match r.outcome {
        Outcome::Valid => body.push_str("<div class=\"banner good\" role=\"status\"><p class=\"ok\">The checks passed.</p><p><strong>Passing the checks is not approval.</strong> Look at the summary and the examples below: they are what the public will see. Publish only when they are right.</p></div>"),
        Outcome::Published => body.push_str(&format!("<div class=\"banner good\" role=\"status\"><p class=\"ok\">Published as release {}.</p></div>", esc(r.release.as_deref().unwrap_or("")))),
        Outcome::Unchanged => body.push_str("<div class=\"banner\"><p>Nothing changed since the last release.</p></div>"),
        _ => body.push_str(&format!("<div class=\"banner bad\" role=\"alert\"><p class=\"error\">This data cannot be published yet: {errors} problem{} must be fixed first. Nothing was published; the live release is as it was.</p></div>", if errors == 1 { "" } else { "s" })),
    }
    if !r.todo.is_empty() {
        body.push_str("<h2>What to do</h2><ol>");
        for t in &r.todo {
            body.push_str(&format!("<li>{}</li>", esc(t)));
        }
        body.push_str("</ol>");
    }

    // The personal-data screen's findings, with the choices.
    let personal: Vec<&Group> = r
        .groups
        .iter()
        .filter(|g| g.rule.starts_with("personal-data") && g.severity == Severity::Error)
        .collect();
    if !personal.is_empty() {
        body.push_str("<h2 id=\"personal\">Personal data</h2><p>The screen found what looks like personal data. Nothing can be published until you choose, for each column, what to do:</p>");
        for g in personal {
            let header = g.column.clone().unwrap_or_default();
            let key = r
                .columns
                .iter()
                .find(|(h, _)| *h == header)
                .map(|(_, k)| k.clone())
                .unwrap_or_else(|| header.clone());
            body.push_str(&group_html(g));
            body.push_str(&format!(
                "<form method=\"post\" action=\"/admin/datasets/{}/personal\">{}<input type=\"hidden\" name=\"column\" value=\"{}\"><fieldset><legend>What to do with “{}”</legend>\
<div class=\"choice\"><input type=\"radio\" id=\"{k}-redact\" name=\"choice\" value=\"redact\" required> <label class=\"inline\" for=\"{k}-redact\"><strong>Redact</strong>: publish the rows, with every value of this column replaced by “[redacted]”.</label></div>\
<div class=\"choice\"><input type=\"radio\" id=\"{k}-drop\" name=\"choice\" value=\"drop\"> <label class=\"inline\" for=\"{k}-drop\"><strong>Leave the column out</strong>: publish the rows without this column at all.</label></div>\
<div class=\"choice\"><input type=\"radio\" id=\"{k}-allow\" name=\"choice\" value=\"allow\"> <label class=\"inline\" for=\"{k}-allow\"><strong>Publish it</strong>: only if you are sure it is not personal data (a shared office address, say) and you may publish it.</label></div>\
</fieldset><p><button type=\"submit\">Save this choice</button></p></form>",
                esc(&id),
                csrf(&s),
                esc(&key),
                esc(&header),
                k = esc(&key),
            ));
        }
        body.push_str("<p>Then check the data again.</p>");
    }

    // The summary of the data.
    if let Some(d) = &r.data {
        body.push_str("<h2>The data at a glance</h2>");
        let mut t = format!(
            "<table><tbody><tr><th scope=\"row\">Rows</th><td>{}</td></tr>",
            d.rows
        );
        for a in &d.amounts {
            t.push_str(&format!(
                "<tr><th scope=\"row\">{c}: total</th><td>{}</td></tr><tr><th scope=\"row\">{c}: smallest</th><td>{} (row {})</td></tr><tr><th scope=\"row\">{c}: largest</th><td>{} (row {})</td></tr>",
                esc(&a.total),
                esc(&grouped_decimal(&a.min.value)),
                a.min.row,
                esc(&grouped_decimal(&a.max.value)),
                a.max.row,
                c = esc(&a.column)
            ));
        }
        for x in &d.dates {
            t.push_str(&format!(
                "<tr><th scope=\"row\">{c}: first</th><td>{} (row {})</td></tr><tr><th scope=\"row\">{c}: last</th><td>{} (row {})</td></tr>",
                esc(&x.first.value), x.first.row, esc(&x.last.value), x.last.row,
                c = esc(&x.column)
            ));
        }
        for (c, n) in &d.distinct {
            t.push_str(&format!(
                "<tr><th scope=\"row\">Different values of {}</th><td>{n}</td></tr>",
                esc(c)
            ));
        }
        t.push_str(&format!(
            "<tr><th scope=\"row\">Rows with redacted values</th><td>{}</td></tr></tbody></table>",
            d.redacted_rows
        ));
        body.push_str(&wide("The data at a glance", &t));
        if !d.outliers.is_empty() {
            body.push_str("<p class=\"warn\"><strong>Worth a second look:</strong></p><ul>");
            for o in &d.outliers {
                body.push_str(&format!("<li class=\"warn\">{}</li>", esc(o)));
            }
            body.push_str("</ul>");
        }
    }

    // What the published data will look like.
    if let Some(pv) = &r.preview {
        body.push_str(&format!(
            "<h2>What will be published</h2><p>Stars: <span class=\"stars\" aria-label=\"{n} of 5 stars\">{}</span> ({n} of 5)</p>",
            "★".repeat(usize::from(pv.stars)) + &"☆".repeat(5usize.saturating_sub(usize::from(pv.stars))),
            n = pv.stars
        ));
        if !pv.missing.is_empty() {
            body.push_str("<ul>");
            for m in &pv.missing {
                body.push_str(&format!("<li>Star {}</li>", esc(m)));
            }
            body.push_str("</ul>");
        }
        body.push_str("<p>The first resources, as their pages will show them:</p>");
        for res in &pv.resources {
            let mut t = format!("<h3 class=\"iri\">{}</h3><table><thead><tr><th scope=\"col\">Property</th><th scope=\"col\">Value</th></tr></thead><tbody>", esc(&res.iri));
            for (p, v) in &res.statements {
                let short = p.rsplit(['#', '/']).next().unwrap_or(p);
                t.push_str(&format!(
                    "<tr><td title=\"{}\">{}</td><td class=\"iri\">{}</td></tr>",
                    esc(p),
                    esc(short),
                    esc(v)
                ));
            }
            t.push_str("</tbody></table>");
            body.push_str(&wide(&res.iri, &t));
        }
    }

    // Every problem, grouped.
    let others: Vec<&Group> = r
        .groups
        .iter()
        .filter(|g| !(g.rule.starts_with("personal-data") && g.severity == Severity::Error))
        .collect();
    if !others.is_empty() {
        body.push_str("<h2>Everything the checks found</h2>");
        for g in others {
            body.push_str(&group_html(g));
        }
    }

    // Publish.
    if checking && pipeline.is_some() {
        body.push_str("<h2>Publish</h2>");
        if r.outcome == Outcome::Valid && latest {
            body.push_str(&format!(
                "<form method=\"post\" action=\"/admin/datasets/{}/publish\">{}<p>Publishing replaces the live release only if the run passes every check again. You can roll back or withdraw at any time.</p><button type=\"submit\">Publish</button></form>",
                esc(&id),
                csrf(&s)
            ));
        } else {
            body.push_str("<p>Fix what must be fixed, check the data again, then publish.</p><p><button type=\"button\" disabled>Publish</button></p>");
        }
    }
    body.push_str(&format!(
        "<p><a href=\"/admin/datasets/{}\">Back to the dataset</a></p>",
        esc(&id)
    ));
    page(&format!("Report for {id}"), Some(&s), &body)
}

#[derive(serde::Deserialize)]
pub struct ReleaseQuery {
    release: Option<String>,
}

/// The confirmation before a rollback: what the public will see.
pub async fn confirm_rollback(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(q): Query<ReleaseQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let s = match session(&st, &headers, &uri) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let st2 = st.clone();
    let id2 = id.clone();
    let d = blocking(move || {
        st2.store
            .datasets()
            .ok()
            .and_then(|d| d.into_iter().find(|d| d.id == id2))
    })
    .await
    .flatten();
    let release = q.release.unwrap_or_default();
    let Some(d) = d else {
        return problem(
            StatusCode::NOT_FOUND,
            Some(&s),
            "No such dataset",
            &format!("{id:?} has never been published."),
        );
    };
    let Some(r) = d.releases.iter().find(|r| r.release == release) else {
        return problem(
            StatusCode::NOT_FOUND,
            Some(&s),
            "No such release",
            &format!("{id:?} has no release {release:?}."),
        );
    };
    let now = match &d.live {
        Some(l) => format!("release {l}"),
        None => "nothing (the dataset is withdrawn)".into(),
    };
    let body = format!(
        "<h1>Make release {r} live?</h1><p>The public now sees {now}. After this they will see <strong>release {r}</strong>, published {when}, with {n} statements: its pages, its SPARQL answers and its downloads, at once.</p><p>Nothing is deleted: you can make any release live again later.</p>\
<form method=\"post\" action=\"/admin/datasets/{id}/rollback\">{csrf}<input type=\"hidden\" name=\"release\" value=\"{r}\"><button type=\"submit\">Yes, make release {r} live</button> <a href=\"/admin/datasets/{id}\">Cancel</a></form>",
        r = esc(&r.release),
        now = esc(&now),
        when = esc(&r.issued.as_deref().map(when).unwrap_or_default()),
        n = r.triples,
        id = esc(&id),
        csrf = csrf(&s)
    );
    page("Roll back", Some(&s), &body)
}

/// The confirmation before a withdrawal.
pub async fn confirm_withdraw(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let s = match session(&st, &headers, &uri) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body = format!(
        "<h1>Withdraw {id}?</h1><p>The public will no longer see this dataset: its page, its resources (they answer “gone”), its SPARQL answers and its downloads go at once. Use it when something was published that must not be, such as personal data.</p><p>The releases are kept, so you can make one live again later; remove the data at the source before you publish again.</p>\
<form method=\"post\" action=\"/admin/datasets/{id}/withdraw\">{csrf}<button type=\"submit\" class=\"danger\">Yes, withdraw {id}</button> <a href=\"/admin/datasets/{id}\">Cancel</a></form>",
        id = esc(&id),
        csrf = csrf(&s)
    );
    page("Withdraw", Some(&s), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A link rule's count of what it linked (for information) is not headed as values that
    /// link to nothing; its warnings are.
    #[test]
    fn a_link_summary_is_not_headed_as_values_that_link_to_nothing() {
        for (rule, severity, heading) in [
            ("link:day", Severity::Info, "Values linked (day)"),
            (
                "link:day",
                Severity::Warning,
                "Values that link to nothing (day)",
            ),
            (
                "link:council-publisher",
                Severity::Info,
                "Rows given the publisher as their council",
            ),
            ("link:idle", Severity::Info, "Links with nothing to link"),
            ("rules:required", Severity::Error, "Missing values"),
        ] {
            assert_eq!(rule_words(rule, severity), heading, "{rule} ({severity:?})");
        }
    }
}
