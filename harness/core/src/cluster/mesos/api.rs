//! v1 API messages (protobuf JSON mapping of `include/mesos/v1/*.proto`, Mesos 1.11).

use serde::{Deserialize, Serialize};

/// `{ "value": "..." }`: every Mesos id type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Id {
    /// The id.
    pub value: String,
}

impl Id {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
        }
    }
}

/// Value types of resources and attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ValueType {
    /// A number.
    Scalar,
    /// Ranges (ports).
    Ranges,
    /// A set of strings.
    Set,
    /// Text (attributes).
    Text,
}

/// A scalar value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scalar {
    /// The value.
    pub value: f64,
}

/// One inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// First value.
    pub begin: u64,
    /// Last value.
    pub end: u64,
}

/// A list of ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Ranges {
    /// The ranges.
    #[serde(default)]
    pub range: Vec<Range>,
}

/// A text value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    /// The text.
    pub value: String,
}

/// A reservation refinement (dynamic or static).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Reservation {
    /// `STATIC` or `DYNAMIC`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The role reserved for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Principal that made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
}

/// A resource (`cpus`, `mem`, `disk`, `ports`...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// Name.
    pub name: String,
    /// Value type.
    #[serde(rename = "type")]
    pub kind: ValueType,
    /// Scalar value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalar: Option<Scalar>,
    /// Ranges value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranges: Option<Ranges>,
    /// Reservations, innermost last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reservations: Vec<Reservation>,
    /// Allocation (which role it was offered to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_info: Option<AllocationInfo>,
}

impl Resource {
    /// A scalar resource.
    pub fn scalar(name: &str, value: f64) -> Self {
        Self {
            name: name.into(),
            kind: ValueType::Scalar,
            scalar: Some(Scalar { value }),
            ranges: None,
            reservations: vec![],
            allocation_info: None,
        }
    }
}

impl Resource {
    /// A scalar resource dynamically reserved for `role` (no principal: the clusters ordeal
    /// starts do not authenticate), as a RESERVE operation takes it.
    pub fn reserved(name: &str, value: f64, role: &str) -> Self {
        Self {
            reservations: vec![Reservation {
                kind: Some("DYNAMIC".into()),
                role: Some(role.into()),
                principal: None,
            }],
            ..Self::scalar(name, value)
        }
    }

    /// The role it is reserved for (the innermost reservation), `None` if unreserved.
    pub fn reserved_for(&self) -> Option<&str> {
        self.reservations.last().and_then(|r| r.role.as_deref())
    }
}

/// Sum of scalar resource `name` in `resources`.
pub fn scalar_sum(resources: &[Resource], name: &str) -> f64 {
    resources
        .iter()
        .filter(|r| r.name == name)
        .filter_map(|r| r.scalar.map(|s| s.value))
        .sum()
}

/// The role a resource was allocated to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationInfo {
    /// Role.
    #[serde(default)]
    pub role: Option<String>,
}

/// An agent attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// Name.
    pub name: String,
    /// Value type.
    #[serde(rename = "type")]
    pub kind: ValueType,
    /// Text value.
    #[serde(default)]
    pub text: Option<Text>,
    /// Scalar value.
    #[serde(default)]
    pub scalar: Option<Scalar>,
}

/// What an agent says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentInfo {
    /// Hostname.
    pub hostname: String,
    /// Id (absent before registration).
    #[serde(default)]
    pub id: Option<Id>,
    /// Port.
    #[serde(default)]
    pub port: Option<u32>,
    /// Resources.
    #[serde(default)]
    pub resources: Vec<Resource>,
    /// Attributes.
    #[serde(default)]
    pub attributes: Vec<Attribute>,
}

/// A registered agent as the master sees it (`GET_AGENTS`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// Its info.
    pub agent_info: AgentInfo,
    /// Whether it is active.
    #[serde(default)]
    pub active: bool,
    /// Mesos version of the agent.
    #[serde(default)]
    pub version: Option<String>,
    /// libprocess pid (`slave(1)@10.0.0.3:5051`).
    #[serde(default)]
    pub pid: Option<String>,
    /// When it last re-registered (absent if it never did).
    #[serde(default)]
    pub reregistered_time: Option<TimeInfo>,
}

/// A point in time (`mesos.proto` `TimeInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeInfo {
    /// Nanoseconds since the epoch.
    pub nanoseconds: i64,
}

impl TimeInfo {
    /// As a wall-clock time.
    pub fn system_time(self) -> std::time::SystemTime {
        std::time::UNIX_EPOCH
            + std::time::Duration::from_nanos(u64::try_from(self.nanoseconds).unwrap_or(0))
    }
}

/// Address of a master.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterInfo {
    /// Id.
    pub id: String,
    /// Port.
    pub port: u32,
    /// Hostname.
    #[serde(default)]
    pub hostname: Option<String>,
    /// libprocess pid (`master@10.0.0.2:5050`).
    #[serde(default)]
    pub pid: Option<String>,
    /// Version.
    #[serde(default)]
    pub version: Option<String>,
}

/// Task states (`mesos.proto` `TaskState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskState {
    /// Staging on the agent.
    TaskStaging,
    /// Executor is starting it.
    TaskStarting,
    /// Running.
    TaskRunning,
    /// Being killed.
    TaskKilling,
    /// Exited 0.
    TaskFinished,
    /// Exited non-zero.
    TaskFailed,
    /// Killed.
    TaskKilled,
    /// Invalid task.
    TaskError,
    /// Lost (frameworks that are not partition-aware).
    TaskLost,
    /// Dropped before launch.
    TaskDropped,
    /// On an unreachable agent.
    TaskUnreachable,
    /// On an agent marked gone.
    TaskGone,
    /// On an agent an operator marked gone.
    TaskGoneByOperator,
    /// Unknown to the master.
    TaskUnknown,
    /// A state newer than this client.
    #[serde(other)]
    Other,
}

impl TaskState {
    /// Whether no further update follows (for the task on this agent).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::TaskFinished
                | Self::TaskFailed
                | Self::TaskKilled
                | Self::TaskError
                | Self::TaskLost
                | Self::TaskDropped
                | Self::TaskGone
                | Self::TaskGoneByOperator
        )
    }
}

/// A task status update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskStatus {
    /// Task.
    pub task_id: Id,
    /// State.
    pub state: TaskState,
    /// Human message.
    #[serde(default)]
    pub message: Option<String>,
    /// `SOURCE_MASTER`, `SOURCE_AGENT`, `SOURCE_EXECUTOR`.
    #[serde(default)]
    pub source: Option<String>,
    /// Reason (`REASON_TASK_HEALTH_CHECK_STATUS_UPDATED`, `REASON_SLAVE_REMOVED`...).
    #[serde(default)]
    pub reason: Option<String>,
    /// Health, when the task has a health check.
    #[serde(default)]
    pub healthy: Option<bool>,
    /// Agent.
    #[serde(default)]
    pub agent_id: Option<Id>,
    /// Update uuid (base64); absent for updates that need no acknowledgement.
    #[serde(default)]
    pub uuid: Option<String>,
    /// Seconds since the epoch.
    #[serde(default)]
    pub timestamp: Option<f64>,
}

/// A command to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CommandInfo {
    /// Shell command (with `shell: true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Run through `sh -c`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<bool>,
}

impl CommandInfo {
    /// `sh -c command`.
    pub fn shell(command: impl Into<String>) -> Self {
        Self {
            value: Some(command.into()),
            shell: Some(true),
        }
    }
}

/// Health check kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HealthCheckType {
    /// A command; exit 0 is healthy.
    Command,
    /// `GET http://127.0.0.1:port/path`; 200-399 is healthy.
    Http,
    /// A TCP connect to 127.0.0.1:port.
    Tcp,
}

/// HTTP check target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpCheck {
    /// Port.
    pub port: u32,
    /// Path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// TCP check target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpCheck {
    /// Port.
    pub port: u32,
}

/// A task health check (`mesos.proto` `HealthCheck`); unset fields take Mesos's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// Kind.
    #[serde(rename = "type")]
    pub kind: HealthCheckType,
    /// For COMMAND.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    /// For HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheck>,
    /// For TCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpCheck>,
    /// Delay before the first check (default 15 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<f64>,
    /// Interval (default 10 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<f64>,
    /// Timeout of one check (default 20 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<f64>,
    /// Failures in a row that kill the task (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_failures: Option<u32>,
    /// Failures inside this window after launch are ignored until a success (default 10 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period_seconds: Option<f64>,
}

/// A task to launch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    /// Name.
    pub name: String,
    /// Id.
    pub task_id: Id,
    /// Agent (from the offer).
    pub agent_id: Id,
    /// Resources.
    pub resources: Vec<Resource>,
    /// Command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    /// Health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Kill policy (grace period between SIGTERM and SIGKILL; the executor's default is 3 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_policy: Option<KillPolicy>,
}

/// A duration (`mesos.proto` `DurationInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurationInfo {
    /// Nanoseconds.
    pub nanoseconds: i64,
}

impl DurationInfo {
    /// `d` in nanoseconds (saturating).
    pub fn from_duration(d: std::time::Duration) -> Self {
        Self {
            nanoseconds: i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        }
    }
}

/// How a task is killed (`mesos.proto` `KillPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillPolicy {
    /// Time between SIGTERM and SIGKILL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<DurationInfo>,
}

/// A resource offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    /// Offer id.
    pub id: Id,
    /// Framework it is for.
    pub framework_id: Id,
    /// Agent it comes from.
    pub agent_id: Id,
    /// Agent hostname.
    pub hostname: String,
    /// Offered resources.
    #[serde(default)]
    pub resources: Vec<Resource>,
    /// Agent attributes.
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    /// Role it was allocated to.
    #[serde(default)]
    pub allocation_info: Option<AllocationInfo>,
}

/// A framework capability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capability {
    /// `PARTITION_AWARE`, `MULTI_ROLE`, `GPU_RESOURCES`...
    #[serde(rename = "type")]
    pub kind: String,
}

/// What a framework says about itself when subscribing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameworkInfo {
    /// User tasks run as.
    pub user: String,
    /// Name.
    pub name: String,
    /// Id, when re-subscribing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    /// Roles (with the MULTI_ROLE capability).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Seconds the master keeps tasks after the scheduler disconnects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_timeout: Option<f64>,
    /// Whether agents checkpoint its tasks (they then survive an agent restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<bool>,
    /// Capabilities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<Capability>,
}

/// Offer filters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Filters {
    /// Seconds the declined resources are not re-offered (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refuse_seconds: Option<f64>,
}

/// Scheduler events (`scheduler.proto` `Event`); exactly one payload field is set per type.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Event {
    /// Event type.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// For SUBSCRIBED.
    #[serde(default)]
    pub subscribed: Option<Subscribed>,
    /// For OFFERS.
    #[serde(default)]
    pub offers: Option<OffersEvent>,
    /// For RESCIND.
    #[serde(default)]
    pub rescind: Option<Rescind>,
    /// For UPDATE.
    #[serde(default)]
    pub update: Option<Update>,
    /// For FAILURE.
    #[serde(default)]
    pub failure: Option<Failure>,
    /// For ERROR.
    #[serde(default)]
    pub error: Option<ErrorEvent>,
}

/// Scheduler event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    /// Subscription accepted.
    Subscribed,
    /// Offers.
    Offers,
    /// An offer was rescinded.
    Rescind,
    /// A task status update.
    Update,
    /// An agent or executor failed.
    Failure,
    /// The master refused the framework.
    Error,
    /// Keep-alive.
    Heartbeat,
    /// A framework message.
    Message,
    /// Anything newer.
    #[serde(other)]
    Other,
}

/// SUBSCRIBED payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Subscribed {
    /// The framework's id.
    pub framework_id: Id,
    /// Heartbeat interval.
    #[serde(default)]
    pub heartbeat_interval_seconds: Option<f64>,
    /// The leading master.
    #[serde(default)]
    pub master_info: Option<MasterInfo>,
}

/// OFFERS payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OffersEvent {
    /// Offers.
    #[serde(default)]
    pub offers: Vec<Offer>,
}

/// RESCIND payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Rescind {
    /// Offer rescinded.
    pub offer_id: Id,
}

/// UPDATE payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Update {
    /// The status.
    pub status: TaskStatus,
}

/// FAILURE payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Failure {
    /// Agent that failed, if any.
    #[serde(default)]
    pub agent_id: Option<Id>,
    /// Executor exit status, if any.
    #[serde(default)]
    pub status: Option<i32>,
}

/// ERROR payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ErrorEvent {
    /// Why.
    pub message: String,
}

/// A flag of a running master or agent (`GET_FLAGS`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Flag {
    /// Name without dashes (`agent_ping_timeout`).
    pub name: String,
    /// Value as text (`15secs`).
    #[serde(default)]
    pub value: Option<String>,
}

/// Parses a Mesos duration flag (`15secs`, `75secs`, `100ms`, `10mins`, `2weeks`, `1hrs`).
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "ns" => n / 1e9,
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "secs" => n,
        "mins" => n * 60.0,
        "hrs" => n * 3600.0,
        "days" => n * 86400.0,
        "weeks" => n * 604_800.0,
        _ => return None,
    };
    Some(std::time::Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn durations_in_mesos_notation_parse() {
        assert_eq!(parse_duration("15secs"), Some(Duration::from_secs(15)));
        assert_eq!(parse_duration("100ms"), Some(Duration::from_millis(100)));
        assert_eq!(parse_duration("10mins"), Some(Duration::from_secs(600)));
        assert_eq!(
            parse_duration("2weeks"),
            Some(Duration::from_secs(1_209_600))
        );
        assert_eq!(parse_duration("1.5secs"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("15parsecs"), None);
    }

    #[test]
    fn an_update_event_with_health_parses_and_unknown_fields_are_ignored() {
        let json = r#"{"type":"UPDATE","update":{"status":{"task_id":{"value":"t1"},"state":"TASK_RUNNING",
            "healthy":false,"reason":"REASON_TASK_HEALTH_CHECK_STATUS_UPDATED","source":"SOURCE_EXECUTOR",
            "agent_id":{"value":"a-S0"},"uuid":"AAEC","timestamp":1.7e9,"container_status":{"x":1}}}}"#;
        let e: Event = serde_json::from_str(json).unwrap();
        assert_eq!(e.kind, EventType::Update);
        let s = e.update.unwrap().status;
        assert_eq!(s.state, TaskState::TaskRunning);
        assert_eq!(s.healthy, Some(false));
        assert!(!s.state.is_terminal());
    }

    #[test]
    fn unknown_states_and_event_types_do_not_break_parsing() {
        let e: Event = serde_json::from_str(r#"{"type":"UPDATE_OPERATION_STATUS"}"#).unwrap();
        assert_eq!(e.kind, EventType::Other);
        let s: TaskStatus =
            serde_json::from_str(r#"{"task_id":{"value":"t"},"state":"TASK_FROM_THE_FUTURE"}"#)
                .unwrap();
        assert_eq!(s.state, TaskState::Other);
    }

    #[test]
    fn offers_sum_their_scalars() {
        let json = r#"{"type":"OFFERS","offers":{"offers":[{"id":{"value":"o1"},"framework_id":{"value":"f"},
            "agent_id":{"value":"a"},"hostname":"agent-1","resources":[
            {"name":"cpus","type":"SCALAR","scalar":{"value":1.5},"allocation_info":{"role":"r1"}},
            {"name":"cpus","type":"SCALAR","scalar":{"value":0.5}},
            {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":32000}]}}]}]}}"#;
        let e: Event = serde_json::from_str(json).unwrap();
        let offers = e.offers.unwrap().offers;
        assert!((scalar_sum(&offers[0].resources, "cpus") - 2.0).abs() < 1e-9);
        assert_eq!(
            offers[0].resources[2].ranges.as_ref().unwrap().range[0].end,
            32000
        );
    }

    #[test]
    fn a_task_serialises_the_way_the_master_expects() {
        let t = TaskInfo {
            name: "sleep".into(),
            task_id: Id::new("t1"),
            agent_id: Id::new("a-S0"),
            resources: vec![Resource::scalar("cpus", 0.1)],
            command: Some(CommandInfo::shell("sleep 1")),
            health_check: Some(HealthCheck {
                kind: HealthCheckType::Command,
                command: Some(CommandInfo::shell("true")),
                http: None,
                tcp: None,
                delay_seconds: Some(0.0),
                interval_seconds: Some(1.0),
                timeout_seconds: None,
                consecutive_failures: Some(2),
                grace_period_seconds: None,
            }),
            kill_policy: Some(KillPolicy {
                grace_period: Some(DurationInfo::from_duration(Duration::from_secs(2))),
            }),
        };
        let v = serde_json::to_string(&t).unwrap();
        assert!(
            v.contains(r#""resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.1}}]"#),
            "{v}"
        );
        assert!(
            v.contains(
                r#""health_check":{"type":"COMMAND","command":{"value":"true","shell":true}"#
            ),
            "{v}"
        );
        assert!(
            v.contains(r#""kill_policy":{"grace_period":{"nanoseconds":2000000000}}"#),
            "{v}"
        );
        assert!(
            !v.contains("timeout_seconds"),
            "unset fields stay unset so Mesos applies its defaults: {v}"
        );
    }
}
