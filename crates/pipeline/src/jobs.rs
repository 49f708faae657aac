//! Long operations of a live instance (pipeline runs, validations, publishes, backups) as
//! jobs: each starts on its own thread and returns an id at once; its progress (stage, done,
//! total) and then its result can be read by id. A job that panics is recorded as failed; the
//! instance goes on.

use crate::report::Outcome;
use crate::run::{Progress, Stage};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Finished jobs kept in memory (the reports of runs stay on disk under `runs/`).
const KEEP: usize = 200;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Running,
    /// Ended; `outcome` and `result` say how.
    Finished,
    /// Ended with an error before any outcome (or panicked).
    Failed,
}

/// A job as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: String,
    /// run, validate, publish, backup.
    pub kind: String,
    pub dataset: Option<String>,
    pub state: JobState,
    pub stage: Option<&'static str>,
    pub done: u64,
    pub total: Option<u64>,
    pub started: String,
    pub finished: Option<String>,
    /// A pipeline run's outcome.
    pub outcome: Option<Outcome>,
    pub error: Option<String>,
    /// What the job produced: a run's report, a publish's release, a backup's summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
}

/// What a job's work returns.
pub struct Done {
    pub outcome: Option<Outcome>,
    pub result: serde_json::Value,
}

/// The jobs of one instance.
#[derive(Default)]
pub struct Jobs {
    jobs: Mutex<VecDeque<Job>>,
    counter: std::sync::atomic::AtomicU64,
}

impl Jobs {
    fn with<T>(&self, id: &str, f: impl FnOnce(&mut Job) -> T) -> Option<T> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.iter_mut().find(|j| j.id == id).map(f)
    }

    /// Starts `work` on its own thread and returns the job's id at once.
    pub fn start<F>(self: &Arc<Self>, kind: &str, dataset: Option<&str>, work: F) -> String
    where
        F: FnOnce(Arc<dyn Progress>) -> Result<Done, String> + Send + 'static,
    {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let (stamp, started) = crate::run::now();
        let id = format!("{stamp}-{n}");
        {
            let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
            jobs.push_back(Job {
                id: id.clone(),
                kind: kind.to_string(),
                dataset: dataset.map(String::from),
                state: JobState::Running,
                stage: None,
                done: 0,
                total: None,
                started,
                finished: None,
                outcome: None,
                error: None,
                result: None,
            });
            // Forget the oldest finished jobs beyond the limit; running ones stay.
            while jobs.len() > KEEP {
                match jobs.iter().position(|j| j.state != JobState::Running) {
                    Some(i) => {
                        jobs.remove(i);
                    }
                    None => break,
                }
            }
        }
        let progress: Arc<dyn Progress> = Arc::new(JobProgress {
            jobs: self.clone(),
            id: id.clone(),
        });
        let (jobs, job) = (self.clone(), id.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("job-{kind}"))
            .spawn(move || {
                // Queries of the live site come first (see fivestar_store::background).
                fivestar_store::background::lower_this_thread();
                let result =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(progress)));
                let finished = crate::run::now().1;
                jobs.with(&job, |j| {
                    j.finished = Some(finished);
                    match result {
                        Ok(Ok(done)) => {
                            j.state = JobState::Finished;
                            j.outcome = done.outcome;
                            j.result = Some(done.result);
                        }
                        Ok(Err(e)) => {
                            j.state = JobState::Failed;
                            j.error = Some(e);
                        }
                        Err(_) => {
                            j.state = JobState::Failed;
                            j.error = Some("the job panicked (see the instance's log)".into());
                        }
                    }
                });
            });
        if let Err(e) = spawned {
            self.with(&id, |j| {
                j.state = JobState::Failed;
                j.error = Some(format!("cannot start a thread: {e}"));
                j.finished = Some(crate::run::now().1);
            });
        }
        id
    }

    /// A job with its result.
    pub fn get(&self, id: &str) -> Option<Job> {
        self.with(id, |j| j.clone())
    }

    /// Every kept job, newest first, without results.
    pub fn list(&self) -> Vec<Job> {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.iter()
            .rev()
            .map(|j| Job {
                result: None,
                ..j.clone()
            })
            .collect()
    }

    /// Whether any job is still running.
    pub fn busy(&self) -> bool {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.iter().any(|j| j.state == JobState::Running)
    }
}

/// Feeds a run's progress into its job.
struct JobProgress {
    jobs: Arc<Jobs>,
    id: String,
}

impl Progress for JobProgress {
    fn stage(&self, _dataset: &str, stage: Stage, total: Option<u64>) {
        self.jobs.with(&self.id, |j| {
            j.stage = Some(stage.name());
            j.total = total;
            j.done = 0;
        });
    }
    fn advance(&self, _dataset: &str, done: u64) {
        self.jobs.with(&self.id, |j| j.done = done);
    }
    fn finish(&self, _dataset: &str, _outcome: Outcome) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(jobs: &Jobs, id: &str) -> Job {
        for _ in 0..500 {
            let j = jobs.get(id).unwrap();
            if j.state != JobState::Running {
                return j;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("job {id} did not end");
    }

    #[test]
    fn jobs_report_progress_results_errors_and_panics() {
        let jobs = Arc::new(Jobs::default());
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let id = jobs.start("run", Some("d"), move |p| {
            p.stage("d", Stage::Load, Some(10));
            p.advance("d", 4);
            rx.recv().ok();
            Ok(Done {
                outcome: Some(Outcome::Published),
                result: serde_json::json!({"release": "r1"}),
            })
        });
        for _ in 0..500 {
            if jobs.get(&id).unwrap().done == 4 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let j = jobs.get(&id).unwrap();
        assert_eq!(
            (j.state, j.stage, j.done, j.total),
            (JobState::Running, Some("load"), 4, Some(10))
        );
        assert!(jobs.busy());
        tx.send(()).unwrap();
        let j = wait(&jobs, &id);
        assert_eq!(j.state, JobState::Finished);
        assert_eq!(j.outcome, Some(Outcome::Published));
        assert_eq!(j.result.unwrap()["release"], "r1");

        let failed = jobs.start("backup", None, |_| Err("disk full".into()));
        let j = wait(&jobs, &failed);
        assert_eq!(
            (j.state, j.error.as_deref()),
            (JobState::Failed, Some("disk full"))
        );

        let panicked = jobs.start("run", None, |_| panic!("boom"));
        assert_eq!(wait(&jobs, &panicked).state, JobState::Failed);
        assert!(!jobs.busy());
        let listed = jobs.list();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0].id, panicked, "newest first");
        assert!(listed.iter().all(|j| j.result.is_none()));
        assert!(jobs.get("nope").is_none());
    }
}
