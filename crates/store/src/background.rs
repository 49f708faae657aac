//! Background work yields to queries. On a small machine (2 cores here) a publish (parsing,
//! the bulk load, dumps, statistics) and RocksDB's compactions after a load compete with the
//! live site's queries for the same cores: measured, a minute of compaction after a 13M-triple
//! load took lookups from p99 15 ms to 70–170 ms. A lower CPU priority (nice 10) lets queries
//! take the cores first while background work still gets what they leave.
//!
//! Linux keeps the nice value per thread, and a thread starts with its creator's, so lowering
//! a job's thread lowers the loader threads it starts; RocksDB's own threads (named
//! `rocksdb:…`) are found by name. Elsewhere these functions do nothing.

/// The nice value of background work (0 is normal, 19 the lowest priority).
pub const NICE: i32 = 10;

/// Lowers the calling thread's CPU priority to [`NICE`]; threads it starts inherit it.
/// Returns whether it took effect.
pub fn lower_this_thread() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        renice(tid)
    }
    #[cfg(not(target_os = "linux"))]
    false
}

/// Lowers the CPU priority of RocksDB's threads in this process (compactions and flushes) to
/// [`NICE`]; returns how many there are. RocksDB starts them lazily, so an instance calls
/// this again now and then.
pub fn lower_rocksdb_threads() -> usize {
    #[cfg(target_os = "linux")]
    {
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return 0;
        };
        let mut n = 0;
        for task in tasks.flatten() {
            let Some(tid) = task
                .file_name()
                .to_str()
                .and_then(|t| t.parse::<libc::pid_t>().ok())
            else {
                continue;
            };
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.starts_with("rocksdb:") {
                renice(tid);
                n += 1;
            }
        }
        n
    }
    #[cfg(not(target_os = "linux"))]
    0
}

#[cfg(target_os = "linux")]
fn renice(tid: libc::pid_t) -> bool {
    // SAFETY: setpriority takes plain integers and touches no memory of ours; raising a nice
    // value needs no privilege.
    unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, NICE) == 0 }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The nice value of a thread of this process, from /proc.
    fn nice_of(tid: &str) -> i32 {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
        let rest = &stat[stat.rfind(')').unwrap() + 1..];
        // Field 19 (nice) is the 17th after the command name.
        rest.split_whitespace().nth(16).unwrap().parse().unwrap()
    }

    /// This thread's id.
    fn tid() -> String {
        // SAFETY: gettid has no preconditions.
        unsafe { libc::gettid() }.to_string()
    }

    #[test]
    fn a_lowered_thread_and_the_threads_it_starts_run_at_nice_10() {
        let (own, child) = std::thread::spawn(|| {
            assert!(lower_this_thread());
            // A thread started afterwards, kept alive while its nice value is read.
            let (tx, rx) = std::sync::mpsc::channel();
            let (done, wait) = std::sync::mpsc::channel::<()>();
            let h = std::thread::spawn(move || {
                tx.send(tid()).unwrap();
                wait.recv().ok();
            });
            let child = nice_of(&rx.recv().unwrap());
            done.send(()).unwrap();
            h.join().unwrap();
            (nice_of(&tid()), child)
        })
        .join()
        .unwrap();
        assert_eq!((own, child), (NICE, NICE));
        assert_eq!(nice_of(&tid()), 0, "other threads are not touched");
    }

    #[test]
    fn rocksdb_threads_are_lowered() {
        let dir = std::env::temp_dir().join(format!("fivestar-nice-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = crate::Store::open(&dir, crate::Settings::new("http://example.org")).unwrap();
        let n = lower_rocksdb_threads();
        assert!(n > 0, "RocksDB has background threads once a store is open");
        for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
            let tid = task.file_name().to_string_lossy().into_owned();
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.starts_with("rocksdb:") {
                assert_eq!(nice_of(&tid), NICE, "{comm}");
            }
        }
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
