//! `mesos`: real Apache Mesos 1.11.0 (the master, agent, allocator and registrar of PyPI's
//! binary, started by ordeal's own launchers) with ZooKeeper. Each case brings up its own
//! cluster; every case has a negative control. Task cases run command tasks through ordeal's
//! command executor (`fixtures/mesos/executor`), which the image installs as
//! `libexec/mesos-executor`.
//!
//! # Known limitations
//! - No agent-restart (re-subscription) case yet: restarting the agent container also ends the
//!   executor it started; the executor's re-subscription is covered by its own tests.

mod cases;
mod tasks;

pub use cases::cases;
