//! Apache Mesos 1.11: a cluster of the real master and agent (from PyPI's binary, see
//! `fixtures/mesos/`) in containers, and typed v1 API clients for the operator API
//! (`/api/v1`) and the scheduler API (`/api/v1/scheduler`).
//!
//! Messages are serde types named after `include/mesos/v1/*.proto` (protobuf JSON mapping):
//! enums are their proto names (`TASK_RUNNING`), unknown fields are ignored so a newer master
//! does not break parsing, and nothing passes `serde_json::Value` around.
//!
//! # Known limitations
//! - Plain HTTP only (the clusters ordeal starts do not enable SSL).
//! - Operator calls: GET_FLAGS, GET_VERSION, GET_MASTER, GET_AGENTS, GET_TASKS, GET_FRAMEWORKS,
//!   GET_STATE, MARK_AGENT_GONE, TEARDOWN, UPDATE_WEIGHTS / GET_WEIGHTS, UPDATE_QUOTA / GET_QUOTA,
//!   RESERVE_RESOURCES.
//!   Scheduler calls: SUBSCRIBE, ACCEPT with LAUNCH, DECLINE, ACKNOWLEDGE, KILL, SUPPRESS,
//!   REVIVE, RECONCILE, TEARDOWN. LAUNCH_GROUP (task groups) is not modelled: ordeal's executor
//!   runs one command task. Only the fields the suites use are modelled.

pub mod api;
mod client;
mod cluster;
mod recordio;
mod target;

pub use client::{
    AgentsList, Framework, Frameworks, MesosError, Operator, QuotaConfig, Scalar, Scheduler,
    SchedulerEvents, State, Task, Tasks, WeightInfo,
};
pub use cluster::{AGENT_RESOURCES, AgentMode, MesosCluster, MesosConfig};
pub use recordio::RecordIo;
pub use target::{MesosTarget, redirect_base};
