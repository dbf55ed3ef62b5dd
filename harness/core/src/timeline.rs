//! The run's timeline: every step, fault and check outcome, stamped with wall-clock and
//! monotonic time. Reports are built from it; nothing formats output inside a check.

use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

use serde::Serialize;

/// The wall-clock time now, in RFC 3339 (UTC), as the timeline and `run.json` write it.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Something that happened during a run.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RunEvent {
    /// A case began.
    CaseStarted,
    /// A free-form step of a case ("starting server", "fetching token").
    Step {
        /// What is being done.
        message: String,
    },
    /// A container of the case started.
    ContainerStarted {
        /// Short name.
        name: String,
        /// Image reference.
        image: String,
    },
    /// A fault was injected.
    FaultInjected {
        /// Fault kind (`kill`, `pause`, `disconnect`...).
        fault: String,
        /// Target (container or group).
        target: String,
    },
    /// A fault was healed.
    FaultHealed {
        /// Fault kind.
        fault: String,
        /// Target.
        target: String,
    },
    /// A check held.
    CheckPassed {
        /// What was expected.
        what: String,
    },
    /// A case ended.
    CaseFinished {
        /// `passed`, `failed` or `error`.
        outcome: String,
        /// Failure message, if any.
        message: Option<String>,
    },
}

/// One timeline entry.
#[derive(Debug, Clone, Serialize)]
pub struct Stamped {
    /// RFC 3339 wall-clock time.
    pub wall: String,
    /// Milliseconds since the run started (monotonic clock).
    pub mono_ms: u64,
    /// The case it belongs to.
    pub case: String,
    /// What happened.
    #[serde(flatten)]
    pub event: RunEvent,
}

impl Stamped {
    /// A human line: `+12.345s  fault-injected  kill server`.
    pub fn line(&self) -> String {
        let detail = match &self.event {
            RunEvent::CaseStarted => "case started".to_owned(),
            RunEvent::Step { message } => message.clone(),
            RunEvent::ContainerStarted { name, image } => {
                format!("container {name} started ({image})")
            }
            RunEvent::FaultInjected { fault, target } => {
                format!("fault injected: {fault} {target}")
            }
            RunEvent::FaultHealed { fault, target } => format!("fault healed: {fault} {target}"),
            RunEvent::CheckPassed { what } => format!("check held: {what}"),
            RunEvent::CaseFinished { outcome, message } => match message {
                Some(m) => format!("case {outcome}: {m}"),
                None => format!("case {outcome}"),
            },
        };
        format!(
            "+{:>9.3}s  {}  {detail}",
            self.mono_ms as f64 / 1000.0,
            self.wall
        )
    }
}

/// The shared, append-only timeline of a run.
#[derive(Debug, Clone)]
pub struct Timeline {
    start: Instant,
    events: Arc<Mutex<Vec<Stamped>>>,
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Timeline {
    /// An empty timeline whose clock starts now.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            events: Arc::default(),
        }
    }

    /// Records `event` for `case`.
    pub fn record(&self, case: &str, event: RunEvent) {
        let wall = now_rfc3339();
        let mono_ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::debug!(case, ?event, "timeline");
        self.events.lock().expect("timeline lock").push(Stamped {
            wall,
            mono_ms,
            case: case.to_owned(),
            event,
        });
    }

    /// Every event recorded so far.
    pub fn snapshot(&self) -> Vec<Stamped> {
        self.events.lock().expect("timeline lock").clone()
    }

    /// The events of one case.
    pub fn of_case(&self, case: &str) -> Vec<Stamped> {
        self.snapshot()
            .into_iter()
            .filter(|e| e.case == case)
            .collect()
    }
}
