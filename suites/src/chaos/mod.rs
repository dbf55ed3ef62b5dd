//! `chaos`: faults injected from outside the cluster (Docker kill, iptables partitions in the
//! node's network namespace), never through the cluster's own API, with checks whose windows
//! come from the live flags and the live objects: Kubernetes taint-based eviction, and Mesos
//! agents lost, partitioned and marked gone; and whole fault schedules ([`scenario`]) after
//! which each cluster must recover.
//!
//! # Known limitations
//! - The Mesos cases run one master with fast agent pings (2 s × 3, set through the masters'
//!   environment and read back with `GET_FLAGS`); they are not run against the default 15 s × 5
//!   (a 75 s window per case).
//! - The Mesos cases cover the partition-aware and the plain framework with checkpointing on;
//!   a framework that does not checkpoint (its tasks lost as soon as the agent's socket breaks)
//!   is not covered, nor a task that ends while its agent is partitioned.
//! - The Mesos partition cuts agent 2 from the masters only; ZooKeeper stays reachable, so the
//!   agent keeps detecting the same leader while it cannot reach it.

mod kubernetes;
pub(crate) mod mesos;
pub mod scenario;

use ordeal::run::Case;

/// Every chaos case: Kubernetes, then Mesos.
pub fn cases() -> Vec<Case> {
    let mut cases = kubernetes::cases();
    cases.extend(mesos::cases());
    cases.extend(scenario::cases());
    cases
}
