//! The library behind the `ordeal` binary.
//!
//! ordeal starts real Apache Mesos and Kubernetes components in Docker containers, drives
//! workloads on them, injects faults from the outside and checks what the cluster does. This
//! crate holds the parts every suite shares:
//!
//! - [`runtime`]: Docker through testcontainers and bollard: run ids, labels, networks,
//!   containers, exec, logs and cleanup by label.
//! - [`images`]: the local image recipes and their content-hash tags.
//! - [`fault`]: faults from outside the system under test (network faults via iptables).
//! - [`cluster`]: backends; so far the typed Apache Mesos v1 API clients.
//! - [`check`]: `eventually` / `consistently` waits that fail with the last observed state.
//! - [`run`]: cases, profiles, seeds and the libtest-mimic runner.
//! - [`report`]: JUnit, `run.json` and the per-case logs.
//! - [`timeline`]: the events every step records, which the reports consume.
//!
//! # Known limitations
//! - Resources are found by label on the engine the process talks to (`DOCKER_HOST`); a run's
//!   owner process is judged alive by its pid and start time on *this* host, so `ordeal clean`
//!   must run on the host that ran the run.

pub mod check;
pub mod cluster;
pub mod error;
pub mod fault;
pub mod images;
pub mod progress;
pub mod report;
pub mod run;
pub mod runtime;
pub mod timeline;

pub use error::{Error, ExitStatus, Result};
