//! When pipelines are due (their cron expressions, in UTC), what `fivestar status` shows, and
//! the scheduler loop of `fivestar schedule`.

use crate::config::{Instance, Pipeline};
use crate::run::{self, Progress, RunOptions};
use crate::state::{load_state, RunSummary, State};
use chrono::{DateTime, Utc};
use fivestar_store::{Layout, Store};
use serde::Serialize;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// The next time the pipeline should run after `after` (`None`: no schedule).
pub fn next_after(p: &Pipeline, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let (_, cron) = p.schedule.as_ref()?;
    cron.find_next_occurrence(&after, false).ok()
}

/// When the pipeline is next due: the first scheduled time after its last run (of any
/// outcome), or now if it never ran.
pub fn due_at(p: &Pipeline, state: &State, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    p.schedule.as_ref()?;
    let last = state
        .last_attempt
        .as_deref()
        .or(state.last.as_ref().map(|l| l.finished.as_str()));
    match last.and_then(parse_time) {
        Some(t) => next_after(p, t),
        None => Some(now),
    }
}

/// When a pipeline that appeared in a pipelines folder after the scheduler started (one the
/// browser workspace wrote, say) is due: like [`due_at`], except that one that never ran waits
/// for its first scheduled time after it was first seen, rather than running at once, so a
/// dataset nobody has published yet is not published because a schedule was saved.
pub fn due_at_since(
    p: &Pipeline,
    state: &State,
    now: DateTime<Utc>,
    first_seen: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if state.last.is_none() && state.last_attempt.is_none() {
        return next_after(p, first_seen);
    }
    due_at(p, state, now)
}

/// The pipelines of `folders` (not recursively), as they are now; files that cannot be read
/// are logged once each (by name and error) and left out, as are ids already taken.
fn reload(
    folders: &[std::path::PathBuf],
    fixed: &[Arc<Pipeline>],
    reported: &mut HashSet<String>,
) -> Vec<Arc<Pipeline>> {
    let mut out: Vec<Arc<Pipeline>> = fixed.to_vec();
    for folder in folders {
        let files = match Pipeline::discover(folder) {
            Ok(f) => f,
            Err(e) => {
                if reported.insert(e.to_string()) {
                    tracing::warn!(error = %e, "cannot read the pipelines folder");
                }
                continue;
            }
        };
        for f in files {
            match Pipeline::load(&f) {
                Ok(p) if out.iter().any(|q| q.id == p.id) => {
                    let msg = format!(
                        "{}: id {:?} is taken by another pipeline",
                        f.display(),
                        p.id
                    );
                    if reported.insert(msg.clone()) {
                        tracing::warn!(message = %msg, "pipeline left out");
                    }
                }
                Ok(p) => out.push(Arc::new(p)),
                Err(e) => {
                    if reported.insert(e.to_string()) {
                        tracing::warn!(error = %e, "pipeline left out until it is fixed");
                    }
                }
            }
        }
    }
    out
}

/// Whether a scheduled refresh has been missed: the first scheduled time after the last
/// successful check (published or unchanged) has passed.
pub fn is_stale(p: &Pipeline, state: &State, now: DateTime<Utc>) -> bool {
    if p.schedule.is_none() {
        return false;
    }
    match state.last_checked.as_deref().and_then(parse_time) {
        Some(t) => next_after(p, t).is_some_and(|n| n <= now),
        None => true,
    }
}

/// One line of `fivestar status`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub dataset: String,
    pub pipeline: String,
    pub schedule: Option<String>,
    pub last: Option<RunSummary>,
    pub last_published: Option<RunSummary>,
    pub last_checked: Option<String>,
    pub next: Option<String>,
    pub stale: bool,
}

pub fn status(pipelines: &[Pipeline], layout: &Layout, now: DateTime<Utc>) -> Vec<Status> {
    pipelines
        .iter()
        .map(|p| {
            let state = load_state(layout, &p.id);
            Status {
                dataset: p.id.clone(),
                pipeline: p.file.display().to_string(),
                schedule: p.schedule.as_ref().map(|(s, _)| s.clone()),
                next: due_at(p, &state, now)
                    .map(|t| t.max(now).format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                stale: is_stale(p, &state, now),
                last: state.last,
                last_published: state.last_published,
                last_checked: state.last_checked,
            }
        })
        .collect()
}

/// Runs due pipelines until `stop` is set: each dataset at most once at a time, each run in its
/// own thread so a slow source delays nobody else, and a failing (or panicking) run is logged
/// and recorded without stopping the loop.
///
/// `pipelines` are those named at start; `folders`, when given, are read again at every turn,
/// so that a pipeline written or changed while the scheduler runs (by the browser workspace,
/// say) is scheduled as it now is. Pipelines of `folders` replace those loaded from them.
pub fn schedule_loop<S: AsRef<Store> + Send + Sync + 'static>(
    instance: Arc<Instance>,
    store: Arc<S>,
    pipelines: Vec<Pipeline>,
    folders: Vec<std::path::PathBuf>,
    progress: Arc<dyn Progress>,
    stop: Arc<AtomicBool>,
) {
    let running: Arc<Mutex<HashSet<String>>> = Arc::default();
    let started = Utc::now();
    let at_start: HashSet<String> = pipelines.iter().map(|p| p.id.clone()).collect();
    let in_folders = |p: &Pipeline| {
        folders.iter().any(|f| {
            let canon =
                |x: &std::path::Path| std::fs::canonicalize(x).unwrap_or_else(|_| x.to_path_buf());
            p.file.parent().is_some_and(|d| canon(d) == canon(f))
        })
    };
    let fixed: Vec<Arc<Pipeline>> = pipelines
        .into_iter()
        .filter(|p| folders.is_empty() || !in_folders(p))
        .map(Arc::new)
        .collect();
    let mut pipelines: Vec<Arc<Pipeline>> = fixed.clone();
    let mut first_seen: std::collections::HashMap<String, DateTime<Utc>> = Default::default();
    let mut reported = HashSet::new();
    while !stop.load(Ordering::Relaxed) {
        let now = Utc::now();
        if !folders.is_empty() {
            pipelines = reload(&folders, &fixed, &mut reported);
        }
        let mut soonest = now + chrono::Duration::seconds(30);
        for p in &pipelines {
            let state = load_state((*store).as_ref().layout(), &p.id);
            let due = if at_start.contains(&p.id) {
                due_at(p, &state, now)
            } else {
                let seen = *first_seen.entry(p.id.clone()).or_insert(now.max(started));
                due_at_since(p, &state, now, seen)
            };
            let Some(due) = due else {
                continue;
            };
            if due > now {
                soonest = soonest.min(due);
                continue;
            }
            {
                let mut r = running.lock().unwrap_or_else(|e| e.into_inner());
                if !r.insert(p.id.clone()) {
                    continue;
                }
            }
            let (instance, store, p, progress, running) = (
                instance.clone(),
                store.clone(),
                p.clone(),
                progress.clone(),
                running.clone(),
            );
            std::thread::spawn(move || {
                // Queries of the live site come first (see fivestar_store::background).
                fivestar_store::background::lower_this_thread();
                tracing::info!(dataset = %p.id, "scheduled run starting");
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let store: &Store = (*store).as_ref();
                    let ctx = run::Context {
                        instance: &instance,
                        layout: store.layout(),
                        publisher: Some(store),
                        progress,
                    };
                    run::run(&ctx, &p, RunOptions::default())
                }));
                match result {
                    Ok(report) => tracing::info!(
                        dataset = %p.id,
                        outcome = report.outcome.name(),
                        errors = report.count(crate::report::Severity::Error),
                        "scheduled run finished"
                    ),
                    Err(_) => tracing::error!(dataset = %p.id, "scheduled run panicked"),
                }
                running
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&p.id);
            });
        }
        let wait = (soonest - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        let wait = wait.clamp(Duration::from_millis(200), Duration::from_secs(30));
        let until = std::time::Instant::now() + wait;
        while std::time::Instant::now() < until && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200).min(until - std::time::Instant::now()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline(schedule: &str) -> Pipeline {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.json"), "{}").unwrap();
        let text = format!(
            "id = \"x\"\ntitle = \"X\"\nmetadata = \"m.json\"\nschedule = \"{schedule}\"\n[source]\nurl = \"a.csv\"\n"
        );
        let path = dir.path().join("x.toml");
        std::fs::write(&path, text).unwrap();
        Pipeline::load(&path).unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    #[test]
    fn a_pipeline_that_appears_later_waits_for_its_first_scheduled_time() {
        let p = pipeline("0 6 * * *");
        let state = State::default();
        let now = t("2026-11-22T10:00:00Z");
        assert_eq!(
            due_at_since(&p, &state, now, now),
            Some(t("2026-11-23T06:00:00Z")),
            "never ran: the next 06:00 after it appeared, not now"
        );
        let ran = State {
            last_attempt: Some("2026-11-22T06:01:00Z".into()),
            ..State::default()
        };
        assert_eq!(
            due_at_since(&p, &ran, now, now),
            due_at(&p, &ran, now),
            "once it ran, as any other"
        );
    }

    #[test]
    fn due_and_stale() {
        let p = pipeline("0 6 * * *");
        let mut state = State::default();
        let now = t("2026-11-22T10:00:00Z");
        assert_eq!(due_at(&p, &state, now), Some(now), "never ran: due now");
        assert!(is_stale(&p, &state, now));
        state.last = Some(RunSummary {
            run: "r".into(),
            outcome: crate::report::Outcome::Published,
            started: "2026-11-22T06:00:00Z".into(),
            finished: "2026-11-22T06:01:00Z".into(),
            release: None,
            errors: 0,
            warnings: 0,
            message: None,
            rows: None,
        });
        state.last_checked = Some("2026-11-22T06:01:00Z".into());
        assert_eq!(due_at(&p, &state, now), Some(t("2026-11-23T06:00:00Z")));
        assert!(!is_stale(&p, &state, now));
        assert!(is_stale(&p, &state, t("2026-11-23T07:00:00Z")));
    }
}
