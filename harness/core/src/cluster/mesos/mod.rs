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
//! - Only the calls and fields the suites use are modelled.

pub mod api;
mod client;
mod cluster;
mod recordio;

pub use client::{MesosError, Operator, Scheduler, SchedulerEvents, Task, Tasks};
pub use cluster::{AGENT_RESOURCES, AgentMode, MesosCluster, MesosConfig};
pub use recordio::RecordIo;
