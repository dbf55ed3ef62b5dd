//! Run ids and the labels that tie every Docker object to the run that made it.

use std::{collections::HashMap, fmt, fs};

use rand::RngExt;

/// Label holding the run id; every object ordeal creates carries it.
pub const RUN: &str = "ordeal.run";
/// Label holding the object's role (`workload`, `mesos-agent`, `network`...).
pub const ROLE: &str = "ordeal.role";
/// Label holding the case that created the object, if any.
pub const CASE: &str = "ordeal.case";
/// Label holding the pid of the `ordeal` process that owns the run.
pub const PID: &str = "ordeal.pid";
/// Label holding that process's start time (clock ticks since boot), which guards against pid
/// reuse.
pub const PID_START: &str = "ordeal.pid-start";
/// Label marking a run kept on purpose after its process exits (`ordeal up --keep`): cleanup of
/// dead runs leaves it alone; `ordeal down` removes it.
pub const KEEP: &str = "ordeal.keep";
/// Label holding a shell script that ordeal runs inside the container before removing it: a
/// fault helper undoes there what it did to *other* containers (a process fault resumes the
/// supervisors it stopped), also when its run died without healing.
pub const ON_REMOVE: &str = "ordeal.on-remove";

/// A run id: `YYYYMMDD-HHMMSS-xxxx`, sortable by start time and unique per host.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct RunId(String);

impl RunId {
    /// A fresh id from the wall clock and four random hex digits.
    pub fn generate() -> Self {
        let now = time::OffsetDateTime::now_utc();
        let fmt = time::macros::format_description!("[year][month][day]-[hour][minute][second]");
        let stamp = now
            .format(&fmt)
            .unwrap_or_else(|_| "00000000-000000".into());
        let suffix: u16 = rand::rng().random();
        Self(format!("{stamp}-{suffix:04x}"))
    }

    /// Wraps an existing id (as read back from a label).
    pub fn from_label(value: &str) -> Self {
        Self(value.to_owned())
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The process that owns a run, as recorded in labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Process id.
    pub pid: u32,
    /// Start time in clock ticks since boot (field 22 of `/proc/<pid>/stat`).
    pub start: u64,
}

impl Owner {
    /// The current process.
    pub fn current() -> Self {
        let pid = std::process::id();
        Self {
            pid,
            start: process_start(pid).unwrap_or(0),
        }
    }

    /// Process `pid`, if it exists.
    pub fn of(pid: u32) -> Option<Self> {
        Some(Self {
            pid,
            start: process_start(pid)?,
        })
    }

    /// Reads the owner back from an object's labels.
    pub fn from_labels(labels: &HashMap<String, String>) -> Option<Self> {
        let pid = labels.get(PID)?.parse().ok()?;
        let start = labels.get(PID_START)?.parse().ok()?;
        Some(Self { pid, start })
    }

    /// Whether this process still runs (same pid *and* same start time).
    pub fn is_alive(&self) -> bool {
        process_start(self.pid) == Some(self.start)
    }
}

/// Start time of a process in clock ticks since boot, or `None` if it does not exist.
fn process_start(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // After ')' come fields 3.. ; the start time is field 22, i.e. index 19 here.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The labels that keep a run past its process (`ordeal up --keep`): [`KEEP`], and init
/// (pid 1) as the owner, so that ordeal binaries older than the `ordeal.keep` label also see a
/// live owner and leave the run alone.
pub fn kept() -> Vec<(String, String)> {
    let mut labels = vec![(KEEP.to_owned(), "1".to_owned())];
    if let Some(init) = Owner::of(1) {
        labels.push((PID.to_owned(), init.pid.to_string()));
        labels.push((PID_START.to_owned(), init.start.to_string()));
    }
    labels
}

/// The labels for an object of `role` in run `run`, owned by the current process.
pub fn for_object(run: &RunId, role: &str, case: Option<&str>) -> HashMap<String, String> {
    let owner = Owner::current();
    let mut labels = HashMap::from([
        (RUN.to_owned(), run.to_string()),
        (ROLE.to_owned(), role.to_owned()),
        (PID.to_owned(), owner.pid.to_string()),
        (PID_START.to_owned(), owner.start.to_string()),
    ]);
    if let Some(case) = case {
        labels.insert(CASE.to_owned(), case.to_owned());
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_process_is_alive_and_a_fake_start_time_is_not() {
        let me = Owner::current();
        assert!(me.start > 0, "start time read from /proc");
        assert!(me.is_alive());
        let impostor = Owner {
            pid: me.pid,
            start: me.start + 1,
        };
        assert!(!impostor.is_alive(), "pid reuse must not count as alive");
        assert!(
            !Owner {
                pid: u32::MAX - 1,
                start: 1
            }
            .is_alive()
        );
    }

    #[test]
    fn labels_round_trip_the_owner() {
        let run = RunId::generate();
        let labels = for_object(&run, "workload", Some("smoke::x"));
        assert_eq!(labels[RUN], run.as_str());
        assert_eq!(labels[CASE], "smoke::x");
        assert_eq!(Owner::from_labels(&labels), Some(Owner::current()));
    }

    #[test]
    fn a_kept_run_is_owned_by_init_which_is_always_alive() {
        let labels: HashMap<String, String> = kept().into_iter().collect();
        assert_eq!(labels[KEEP], "1");
        let owner = Owner::from_labels(&labels).expect("owner labels");
        assert_eq!(owner.pid, 1);
        assert!(owner.is_alive());
    }

    #[test]
    fn run_ids_have_the_documented_shape() {
        let a = RunId::generate();
        let (stamp, suffix) = a.as_str().rsplit_once('-').unwrap();
        assert_eq!(stamp.len(), "20261125-044512".len());
        assert_eq!(suffix.len(), 4);
        assert!(suffix.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
