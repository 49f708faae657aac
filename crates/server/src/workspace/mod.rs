//! The officers' workspace at `/admin/`: server-rendered pages, no JavaScript needed, for
//! people who have never written TOML, cron or SPARQL. Upload a spreadsheet (or give its
//! URL), see which template fits and how each column maps, change a mapping, check the data
//! (a report written for people, with a summary that makes outliers stand out, the
//! personal-data choices, and the published data previewed), publish, schedule, roll back,
//! withdraw. Everything it changes is the pipeline file `fivestar run` reads (in the
//! instance's pipelines folder) or the store, through the same jobs the admin API runs; every
//! action goes to the store's audit log.
//!
//! Sign-in: [`auth`]. Every page but the sign-in page needs a session; every form carries the
//! session's CSRF token, checked before anything changes.

// Handlers return early with a ready `Response` as the error (axum's idiom, as in `admin`).
#![allow(clippy::result_large_err)]

pub mod auth;
mod pages;

use crate::html::esc;
use crate::AppState;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use fivestar_pipeline::config::{Location, Personal};
use fivestar_pipeline::edit::{self, Every};
use fivestar_pipeline::{Pipeline, RunOptions};
use fivestar_store::audit::Entry;
use fivestar_store::{MirrorOutcome, Publisher};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

pub use auth::Sessions;

/// The workspace's routes (on the admin address; sessions checked by each handler).
pub fn routes(upload_limit: u64) -> Router<Arc<AppState>> {
    let framing = 1 << 20;
    let uploads = axum::extract::DefaultBodyLimit::max(
        usize::try_from(upload_limit.saturating_add(framing)).unwrap_or(usize::MAX),
    );
    Router::new()
        .route("/admin", get(|| async { redirect("/admin/") }))
        .route("/admin/", get(pages::runs))
        .route("/admin/login", get(login_page).post(login))
        .route("/admin/logout", post(logout))
        .route(
            "/admin/new",
            get(pages::new_page).post(create).layer(uploads),
        )
        .route("/admin/new/choose", post(choose_template))
        .route("/admin/jobs/{job}", get(pages::job))
        .route("/admin/datasets/{id}", get(pages::dataset))
        .route("/admin/datasets/{id}/pipeline.toml", get(pipeline_file))
        .route("/admin/datasets/{id}/template", post(set_template))
        .route("/admin/datasets/{id}/columns", post(set_columns))
        .route("/admin/datasets/{id}/personal", post(set_personal))
        .route("/admin/datasets/{id}/schedule", post(set_schedule))
        .route("/admin/datasets/{id}/check", post(check))
        .route("/admin/datasets/{id}/publish", post(publish))
        .route("/admin/datasets/{id}/runs/{run}", get(pages::report))
        .route(
            "/admin/datasets/{id}/rollback",
            get(pages::confirm_rollback).post(rollback),
        )
        .route(
            "/admin/datasets/{id}/withdraw",
            get(pages::confirm_withdraw).post(withdraw),
        )
}

/// A 303 to `to`.
fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

/// A workspace page with its own header: the signed-in account and the way out.
fn page(title: &str, session: Option<&auth::Session>, body: &str) -> Response {
    let nav = match session {
        Some(s) => format!(
            "<nav aria-label=\"Workspace\"><a href=\"/admin/\">Runs and health</a> <a href=\"/admin/new\">New dataset</a> <a href=\"/\">Public site</a></nav>\
<form method=\"post\" action=\"/admin/logout\" class=\"signout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<span class=\"muted\">Signed in as {}</span> <button type=\"submit\">Sign out</button></form>",
            esc(&s.csrf),
            esc(&s.who)
        ),
        None => "<nav aria-label=\"Workspace\"><a href=\"/\">Public site</a></nav>".into(),
    };
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t} · fivestar workspace</title><style>{style}{extra}</style></head><body>\
<header><a class=\"brand\" href=\"/admin/\">★★★★★ fivestar workspace</a>{nav}</header>\
<main>{body}</main><footer class=\"muted\"><p>Everything here changes the pipeline files in the instance's pipelines folder (the files <code>fivestar run</code> reads) or the live store, and is recorded in the audit log.</p></footer></body></html>",
        t = esc(title),
        style = crate::html::STYLE,
        extra = pages::EXTRA_STYLE,
    );
    let mut r = crate::html::page_response(html);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

/// A page saying what went wrong, with a way back.
fn problem(
    status: StatusCode,
    session: Option<&auth::Session>,
    title: &str,
    message: &str,
) -> Response {
    let mut r = page(
        title,
        session,
        &format!(
            "<h1>{}</h1><p class=\"error\" role=\"alert\">{}</p><p><a href=\"/admin/\">Back to the workspace</a></p>",
            esc(title),
            esc(message)
        ),
    );
    *r.status_mut() = status;
    r
}

/// The page for work that stopped without an answer (its thread panicked): the cause is in
/// the log.
fn stopped(s: &auth::Session) -> Response {
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        Some(s),
        "Something went wrong",
        "the work stopped unexpectedly; the instance's log says why",
    )
}

/// Whether the site is served over https (the cookie is then Secure).
fn secure(st: &AppState) -> bool {
    st.store.layout().base().starts_with("https://")
}

/// The session of a request, or the response that sends the browser to sign in.
fn session(st: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<auth::Session, Response> {
    auth::cookie(headers, auth::COOKIE)
        .and_then(|id| st.sessions.get(id))
        .ok_or_else(|| {
            let next: String =
                url::form_urlencoded::byte_serialize(uri.path().as_bytes()).collect();
            redirect(&format!("/admin/login?next={next}"))
        })
}

/// A form post from a signed-in session whose CSRF token is right: the session and the form.
/// Rejected with the sign-in page (no session) or 403 (a missing or wrong token), before the
/// handler runs.
struct Posted {
    s: auth::Session,
    form: HashMap<String, String>,
}

impl axum::extract::FromRequest<Arc<AppState>> for Posted {
    type Rejection = Response;

    async fn from_request(
        req: axum::extract::Request,
        st: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let s = session(st, req.headers(), req.uri())?;
        let Form(form) = Form::<HashMap<String, String>>::from_request(req, st)
            .await
            .map_err(|_| {
                problem(
                    StatusCode::BAD_REQUEST,
                    Some(&s),
                    "Not a form",
                    "Send the form from its workspace page.",
                )
            })?;
        check_csrf(&s, form.get("csrf").map(String::as_str))?;
        Ok(Posted { s, form })
    }
}

fn check_csrf(s: &auth::Session, given: Option<&str>) -> Result<(), Response> {
    match given {
        Some(t) if auth::same(t, &s.csrf) => Ok(()),
        _ => Err(problem(
            StatusCode::FORBIDDEN,
            Some(s),
            "Refused",
            "This form was not sent from the workspace page (its security token is missing or out of date). Go back, reload the page and try again.",
        )),
    }
}

/// Records an admin action; a log that cannot be written is logged, not fatal.
fn record(st: &AppState, entry: Entry) {
    crate::admin::record(st, &entry);
}

/// The pipeline with id `id` in the instance's pipelines folder.
fn find(st: &AppState, id: &str) -> Option<Pipeline> {
    crate::admin::find_pipeline(&st.admin.instance.pipelines, id).ok()
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

#[derive(serde::Deserialize, Default)]
struct Next {
    next: Option<String>,
}

/// Only a workspace path: never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/admin/") && !n.starts_with("//") && !n.contains("\\") => {
            n.to_string()
        }
        _ => "/admin/".into(),
    }
}

async fn login_page(State(st): State<Arc<AppState>>, Query(q): Query<Next>) -> Response {
    login_form(&st, None, &safe_next(q.next.as_deref()), StatusCode::OK)
}

/// The sign-in page with a new CSRF token, in its form and in its cookie.
fn login_form(st: &AppState, message: Option<&str>, next: &str, status: StatusCode) -> Response {
    let token = auth::random_hex(32);
    let mut r = pages::login(message, next, &token, status);
    if let Ok(v) = header::HeaderValue::from_str(&auth::set_login_cookie(&token, secure(st))) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn login(State(st): State<Arc<AppState>>, req: axum::extract::Request) -> Response {
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let ip = crate::conn::peer(req.extensions()).map(|a| {
        crate::ratelimit::client_ip(a.ip(), forwarded.as_deref(), &st.config.trusted_proxies)
    });
    let token = auth::cookie(req.headers(), auth::LOGIN_COOKIE).map(str::to_string);
    let form: HashMap<String, String> = {
        use axum::extract::FromRequest;
        match Form::<HashMap<String, String>>::from_request(req, &st).await {
            Ok(Form(f)) => f,
            Err(_) => {
                return login_form(
                    &st,
                    Some("Send the form from the sign-in page."),
                    "/admin/",
                    StatusCode::BAD_REQUEST,
                )
            }
        }
    };
    let next = safe_next(form.get("next").map(String::as_str));
    let token_right = matches!((&token, form.get("csrf")), (Some(c), Some(f)) if auth::same(c, f));
    if !token_right {
        return login_form(
            &st,
            Some("This sign-in form was not sent from this site's sign-in page (its security token is missing or out of date). Try again."),
            &next,
            StatusCode::FORBIDDEN,
        );
    }
    let name = form
        .get("name")
        .map(|n| n.trim().to_string())
        .unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    if let Some(wait) = st.sessions.locked(ip, &name) {
        let mut r = login_form(
            &st,
            Some(&format!(
                "Too many failed sign-ins. Try again in {} minutes.",
                wait.as_secs().div_ceil(60)
            )),
            &next,
            StatusCode::TOO_MANY_REQUESTS,
        );
        r.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(wait.as_secs().max(1)),
        );
        return r;
    }
    let users = st.store.layout().users();
    let (st2, n2) = (st.clone(), name.clone());
    let who = blocking(move || {
        if n2.is_empty() {
            st2.admin
                .accepts_token(&password)
                .then(|| "admin token".to_string())
        } else {
            auth::verify(&users, &n2, &password).then_some(n2)
        }
    })
    .await
    .flatten();
    match who {
        Some(who) => {
            st.sessions.succeeded(&name);
            let id = st.sessions.start(&who);
            record(&st, Entry::now(&who, "sign-in"));
            let mut r = redirect(&next);
            if let Ok(v) = header::HeaderValue::from_str(&auth::set_cookie(Some(&id), secure(&st)))
            {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        None => {
            st.sessions.failed(ip, &name);
            record(
                &st,
                Entry::now(
                    if name.is_empty() {
                        "(admin token)"
                    } else {
                        &name
                    },
                    "sign-in refused",
                )
                .detail(ip.map(|i| i.to_string()).unwrap_or_default()),
            );
            login_form(
                &st,
                Some("The account name or password is not right."),
                &next,
                StatusCode::UNAUTHORIZED,
            )
        }
    }
}

async fn logout(State(st): State<Arc<AppState>>, Posted { s, .. }: Posted) -> Response {
    st.sessions.end(&s.id);
    record(&st, Entry::now(&s.who, "sign-out"));
    let mut r = redirect("/admin/login");
    if let Ok(v) = header::HeaderValue::from_str(&auth::set_cookie(None, secure(&st))) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// `POST /admin/new`: a file (or a URL) becomes a dataset: its source saved beside the
/// pipelines, the template detected, a pipeline file written.
async fn create(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    mp: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let s = match session(&st, &headers, &uri) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(mp) = mp else {
        return problem(
            StatusCode::BAD_REQUEST,
            Some(&s),
            "Not an upload",
            "Send the form from the New dataset page.",
        );
    };
    let dir = match crate::admin::UploadDir::new(&st) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let up = match crate::admin::save_upload(mp, dir.path(), st.admin.upload_limit).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if let Err(r) = check_csrf(&s, up.fields.get("csrf").map(String::as_str)) {
        return r;
    }
    let title = up
        .fields
        .get("title")
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    let url = up
        .fields
        .get("url")
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    let file = up
        .files
        .iter()
        .find(|(n, f, _)| n == "file" && !f.is_empty())
        .cloned();
    let st2 = st.clone();
    let who = s.who.clone();
    let made = blocking(move || -> Result<Created, String> {
        let (name, bytes, source_url) = match (file, url.is_empty()) {
            (Some((_, name, path)), _) => {
                let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
                (crate::admin::safe_base_name(&name), bytes, None)
            }
            (None, false) => {
                let parsed = url::Url::parse(&url)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .ok_or_else(|| format!("{url:?} is not an http(s) address"))?;
                let src = fivestar_pipeline::config::Source {
                    location: Location::Url(parsed.clone()),
                    format: None,
                    sheet: None,
                    encoding: None,
                    timeout_secs: None,
                    max_bytes: None,
                };
                let got = fivestar_pipeline::fetch::fetch(&src, None, &st2.admin.instance.fetch)
                    .map_err(|e| e.to_string())?;
                let fivestar_pipeline::fetch::Fetched::Body(body) = got else {
                    return Err(format!("{url}: no body"));
                };
                let name = parsed
                    .path_segments()
                    .and_then(|mut s| s.next_back())
                    .filter(|s| !s.is_empty())
                    .map(crate::admin::safe_base_name)
                    .unwrap_or_else(|| "source.csv".into());
                (name, body.bytes, Some(parsed.to_string()))
            }
            (None, true) => return Err("Choose a file, or give the address of one.".into()),
        };
        let stem = std::path::Path::new(&name)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let id = unique_id(
            &st2,
            &fivestar_pipeline::inspect::slug(if title.is_empty() { &stem } else { &title }),
        );
        // The file is kept beside the pipelines (a URL source: a copy for previews).
        let folder = st2.admin.instance.pipelines.join("data").join(&id);
        std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
        std::fs::write(folder.join(&name), &bytes).map_err(|e| e.to_string())?;
        let source = source_url
            .clone()
            .unwrap_or_else(|| format!("data/{id}/{name}"));
        // A file that cannot be read as a table, or whose pipeline cannot be written, leaves
        // nothing behind.
        let inspection = match fivestar_pipeline::inspect::inspect(&bytes, &name, None, None) {
            Ok(i) => i,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&folder);
                return Err(e);
            }
        };
        if inspection.template.is_none() {
            return Ok(Created::NoTemplate {
                id,
                name,
                source,
                inspection: Box::new(inspection),
                title,
            });
        }
        if let Err(e) = write_pipeline(&st2, &id, &title, &inspection, &source) {
            let _ = std::fs::remove_dir_all(&folder);
            return Err(e);
        }
        record(
            &st2,
            Entry::now(&who, "new dataset")
                .dataset(&id)
                .detail(format!("from {source}")),
        );
        Ok(Created::Written(id))
    })
    .await;
    drop(dir);
    match made {
        Some(Ok(Created::Written(id))) => redirect(&format!("/admin/datasets/{id}")),
        Some(Ok(Created::NoTemplate {
            id,
            name,
            source,
            inspection,
            title,
        })) => pages::no_template(&s, &id, &name, &source, &title, &inspection),
        Some(Err(e)) => problem(
            StatusCode::BAD_REQUEST,
            Some(&s),
            "The file could not be read",
            &e,
        ),
        None => stopped(&s),
    }
}

enum Created {
    Written(String),
    NoTemplate {
        id: String,
        name: String,
        source: String,
        inspection: Box<fivestar_pipeline::inspect::Inspection>,
        title: String,
    },
}

/// A dataset id not used by any pipeline in the folder (nor any file of one).
fn unique_id(st: &AppState, base: &str) -> String {
    let folder = &st.admin.instance.pipelines;
    let taken = |id: &str| {
        folder.join(format!("{id}.toml")).exists()
            || folder.join("data").join(id).exists()
            || find(st, id).is_some()
    };
    let mut id = base.to_string();
    let mut n = 2;
    while taken(&id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

/// Writes the starter pipeline for an inspected file as `{pipelines}/{id}.toml`.
fn write_pipeline(
    st: &AppState,
    id: &str,
    title: &str,
    inspection: &fivestar_pipeline::inspect::Inspection,
    source: &str,
) -> Result<Pipeline, String> {
    let text = fivestar_pipeline::inspect::starter_pipeline_with(inspection, source, false)?;
    let mut e = edit::PipelineEdit::parse(&text)?;
    e.set("id", id);
    if !title.is_empty() {
        e.set("title", title);
    }
    let text = e.text().replace(
        "# Check it, then run it with `fivestar run THIS-FILE`.",
        "# Written by the browser workspace; `fivestar run` reads this same file.",
    );
    let path = st.admin.instance.pipelines.join(format!("{id}.toml"));
    edit::write_checked(&path, &text)
}

/// `POST /admin/new/choose`: a file no template fitted, with the template the officer chose.
async fn choose_template(State(st): State<Arc<AppState>>, Posted { s, form }: Posted) -> Response {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let (id, name, source, template, title) = (
        get("id"),
        get("name"),
        get("source"),
        get("template"),
        get("title"),
    );
    // The source is the file saved for this dataset, or a web address: never another path on
    // the instance's machine.
    let web = url::Url::parse(&source).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    if fivestar_store::check_slug("dataset id", &id).is_err()
        || crate::admin::safe_base_name(&name) != name
        || !(web || source == format!("data/{id}/{name}"))
    {
        return problem(
            StatusCode::BAD_REQUEST,
            Some(&s),
            "Refused",
            "The form was changed.",
        );
    }
    let st2 = st.clone();
    let who = s.who.clone();
    let done = blocking(move || -> Result<(), String> {
        let path = st2
            .admin
            .instance
            .pipelines
            .join("data")
            .join(&id)
            .join(&name);
        let bytes = std::fs::read(&path).map_err(|e| format!("{name}: {e}"))?;
        let inspection = fivestar_pipeline::inspect::inspect(&bytes, &name, None, Some(&template))?;
        write_pipeline(&st2, &id, &title, &inspection, &source)?;
        record(
            &st2,
            Entry::now(&who, "new dataset")
                .dataset(&id)
                .detail(format!("from {source}, template {template} chosen")),
        );
        Ok(())
    })
    .await;
    match done {
        Some(Ok(())) => redirect(&format!("/admin/datasets/{}", get("id"))),
        Some(Err(e)) => problem(StatusCode::BAD_REQUEST, Some(&s), "Not written", &e),
        None => stopped(&s),
    }
}

/// Changes dataset `id`'s pipeline file; answers with a 303 back to its page.
async fn change(
    st: Arc<AppState>,
    s: auth::Session,
    id: String,
    what: String,
    f: impl FnOnce(&mut edit::PipelineEdit) + Send + 'static,
) -> Response {
    let st2 = st.clone();
    let id2 = id.clone();
    let done = blocking(move || {
        let p = find(&st2, &id2).ok_or_else(|| format!("no pipeline {id2:?}"))?;
        edit::change_file(&p.file, f)
    })
    .await;
    match done {
        Some(Ok(_)) => {
            record(
                &st,
                Entry::now(&s.who, "change pipeline")
                    .dataset(&id)
                    .detail(what),
            );
            redirect(&format!("/admin/datasets/{id}#changed"))
        }
        Some(Err(e)) => problem(StatusCode::BAD_REQUEST, Some(&s), "Not changed", &e),
        None => stopped(&s),
    }
}

async fn set_template(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    Posted { s, form }: Posted,
) -> Response {
    let t = form.get("template").cloned().unwrap_or_default();
    change(st, s, id, format!("template {t}"), move |e| {
        e.set_template(&t)
    })
    .await
}

/// `POST columns`: `header.N` (a source header), `was.N` (the column it mapped to, or empty)
/// and `map.N` (the column chosen, or empty: not published).
async fn set_columns(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    Posted { s, form }: Posted,
) -> Response {
    let mut changes: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    for n in 0..1000 {
        let Some(h) = form.get(&format!("header.{n}")) else {
            break;
        };
        let was = form
            .get(&format!("was.{n}"))
            .filter(|v| !v.is_empty())
            .cloned();
        let now = form
            .get(&format!("map.{n}"))
            .filter(|v| !v.is_empty())
            .cloned();
        if was != now {
            changes.push((h.clone(), was, now));
        }
    }
    if changes.is_empty() {
        return redirect(&format!("/admin/datasets/{id}"));
    }
    let what = changes
        .iter()
        .map(|(h, was, now)| {
            format!(
                "{h:?}: {} → {}",
                was.as_deref().unwrap_or("not published"),
                now.as_deref().unwrap_or("not published")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    change(st, s, id, format!("columns {what}"), move |e| {
        // First what is no longer published, then what is newly chosen (a column moved from
        // one header to another is chosen again).
        for (_, was, _) in &changes {
            if let Some(w) = was {
                e.set_source(w, None);
                e.set_personal(w, Personal::Drop);
            }
        }
        for (h, _, now) in &changes {
            if let Some(c) = now {
                e.undrop(c);
                e.set_source(c, Some(h));
            }
        }
    })
    .await
}

async fn set_personal(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    Posted { s, form }: Posted,
) -> Response {
    let column = form.get("column").cloned().unwrap_or_default();
    let choice = match form.get("choice").map(String::as_str) {
        Some("allow") => Personal::Allow,
        Some("redact") => Personal::Redact,
        Some("drop") => Personal::Drop,
        _ => {
            return problem(
                StatusCode::BAD_REQUEST,
                Some(&s),
                "Choose one",
                "Choose publish, redact or leave the column out.",
            )
        }
    };
    let what = format!("personal data in {column}: {choice:?}");
    change(st, s, id, what, move |e| e.set_personal(&column, choice)).await
}

async fn set_schedule(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    Posted { s, form }: Posted,
) -> Response {
    let day = form
        .get("day")
        .and_then(|d| d.trim().parse::<u8>().ok())
        .unwrap_or(1);
    let weekday = form
        .get("weekday")
        .and_then(|d| d.parse::<u8>().ok())
        .unwrap_or(1);
    let every = match form.get("every").map(String::as_str) {
        Some("week") => Every::Week(weekday),
        Some("month") => Every::Month(day),
        Some("quarter") => Every::Quarter(day),
        _ => Every::Never,
    };
    let what = format!("schedule: {}", every.describe());
    change(st, s, id, what, move |e| {
        e.set_schedule(every.cron().as_deref())
    })
    .await
}

async fn pipeline_file(
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
    match blocking(move || find(&st2, &id2).and_then(|p| std::fs::read_to_string(&p.file).ok()))
        .await
        .flatten()
    {
        Some(text) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/toml; charset=utf-8".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{id}.toml\""),
                ),
            ],
            text,
        )
            .into_response(),
        None => problem(
            StatusCode::NOT_FOUND,
            Some(&s),
            "No such dataset",
            &format!("no pipeline {id:?}"),
        ),
    }
}

/// Starts a run (or a check) of dataset `id` as a job; 303 to its progress page.
async fn start(st: Arc<AppState>, s: auth::Session, id: String, validate_only: bool) -> Response {
    let st2 = st.clone();
    let id2 = id.clone();
    let Some(Some(pipeline)) = blocking(move || find(&st2, &id2)).await else {
        return problem(
            StatusCode::NOT_FOUND,
            Some(&s),
            "No such dataset",
            &format!("no pipeline {id:?}"),
        );
    };
    let options = RunOptions {
        force: false,
        validate_only,
    };
    let action = if validate_only { "check" } else { "publish" };
    let job = crate::admin::start_pipeline_job(&st, pipeline, options, None, Some(s.who.clone()));
    record(
        &st,
        Entry::now(&s.who, action)
            .dataset(&id)
            .detail(format!("job {job}")),
    );
    redirect(&format!("/admin/jobs/{job}"))
}

async fn check(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    Posted { s, .. }: Posted,
) -> Response {
    start(st, s, id, true).await
}

async fn publish(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    Posted { s, .. }: Posted,
) -> Response {
    start(st, s, id, false).await
}

async fn rollback(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    Posted { s, form }: Posted,
) -> Response {
    let release = form.get("release").cloned().unwrap_or_default();
    let (st2, id2, r2) = (st.clone(), id.clone(), release.clone());
    let done = blocking(move || -> Result<Vec<MirrorOutcome>, String> {
        let d = st2.store.datasets().map_err(|e| e.to_string())?;
        let known = d
            .iter()
            .any(|d| d.id == id2 && d.releases.iter().any(|r| r.release == r2));
        if !known {
            return Err(format!("no release {r2:?} of {id2:?}"));
        }
        st2.store.rollback(&id2, &r2).map_err(|e| e.to_string())
    })
    .await;
    match done {
        Some(Ok(mirrors)) => {
            record(
                &st,
                Entry::now(&s.who, "rollback")
                    .dataset(&id)
                    .release(&release),
            );
            done_here(&s, &id, &format!("{release} is live here"), &mirrors)
        }
        Some(Err(e)) => problem(StatusCode::BAD_REQUEST, Some(&s), "Not rolled back", &e),
        None => stopped(&s),
    }
}

async fn withdraw(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    Posted { s, .. }: Posted,
) -> Response {
    let (st2, id2) = (st.clone(), id.clone());
    let done = blocking(
        move || -> Result<(Option<String>, Vec<MirrorOutcome>), String> {
            let d = st2.store.datasets().map_err(|e| e.to_string())?;
            let Some(d) = d.into_iter().find(|d| d.id == id2) else {
                return Err(format!("{id2:?} has never been published"));
            };
            let mirrors = st2.store.withdraw(&id2).map_err(|e| e.to_string())?;
            // The rest of the targets' catalogues follows in a job, after the answer.
            if !st2.store.mirrors().is_empty() {
                crate::admin::start_sync(&st2);
            }
            Ok((d.live, mirrors))
        },
    )
    .await;
    match done {
        Some(Ok((was, mirrors))) => {
            let mut e = Entry::now(&s.who, "withdraw").dataset(&id);
            if let Some(r) = was {
                e = e.release(&r);
            }
            record(&st, e);
            done_here(&s, &id, "it is off the public site here", &mirrors)
        }
        Some(Err(e)) => problem(StatusCode::BAD_REQUEST, Some(&s), "Not withdrawn", &e),
        None => stopped(&s),
    }
}

/// After a rollback or withdraw: back to the dataset, unless a `[[publish_to]]` target did not
/// follow; then a page that says which, why, and what to do (the change is made here).
fn done_here(s: &auth::Session, id: &str, here: &str, mirrors: &[MirrorOutcome]) -> Response {
    let failed: Vec<&MirrorOutcome> = mirrors.iter().filter(|m| !m.ok).collect();
    if failed.is_empty() {
        return redirect(&format!("/admin/datasets/{id}#releases"));
    }
    let items: String = failed
        .iter()
        .map(|m| {
            format!(
                "<li><strong>{}</strong>: {}</li>",
                esc(&m.target),
                esc(&m.message)
            )
        })
        .collect();
    page(
        "Done here; another store did not follow",
        Some(s),
        &format!(
            "<h1>Done here; another store did not follow</h1>\
<p>{}: {}. These stores that copy this site (<code>[[publish_to]]</code>) still show what they showed before:</p>\
<div role=\"alert\"><ul class=\"error\">{items}</ul></div>\
<p>When they answer again, run <code>fivestar sync</code> (or ask whoever runs the site to): it sends them what they lack.</p>\
<p><a href=\"/admin/datasets/{}#releases\">Back to the dataset</a></p>",
            esc(id),
            esc(here),
            esc(id)
        ),
    )
}

/// Where the source of a pipeline is, for previews: its local file, or the copy the workspace
/// keeps of a URL source.
fn preview_source(
    st: &AppState,
    p: &Pipeline,
) -> Result<fivestar_pipeline::stage::fetch::Source, String> {
    let path: PathBuf = match &p.source.location {
        Location::File(f) => f.clone(),
        Location::Url(_) => {
            let name = fivestar_pipeline::stage::fetch::source_name(p);
            let copy = st
                .admin
                .instance
                .pipelines
                .join("data")
                .join(&p.id)
                .join(crate::admin::safe_base_name(&name));
            if !copy.is_file() {
                return Err(format!(
                    "the workspace has no copy of {} to preview: check the data to fetch it",
                    p.source.location
                ));
            }
            copy
        }
    };
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(fivestar_pipeline::stage::fetch::Source {
        sha256: String::new(),
        fetched_at: String::new(),
        name: fivestar_pipeline::stage::fetch::source_name(p),
        bytes,
    })
}
