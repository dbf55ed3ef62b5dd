//! `mesos`: real Apache Mesos 1.11.0 (the master, agent, allocator and registrar of PyPI's
//! binary, started by ordeal's own launchers) with ZooKeeper. Each case brings up its own
//! cluster; every case has a negative control. Task cases run command tasks through ordeal's
//! command executor (`fixtures/mesos/executor`), which the image installs as
//! `libexec/mesos-executor`.
//!
//! # Known limitations
//! - An agent container restart keeps its tasks only with `MesosCluster::start_sandboxed` (a
//!   sandbox container holds the node's namespaces and the executors' cgroups); with the plain
//!   layout the agent container *is* the node, and killing it ends its tasks.

pub(crate) mod cases;
pub(crate) mod health;
pub(crate) mod resources;
pub(crate) mod scheduling;
pub(crate) mod tasks;

pub use cases::cases;
