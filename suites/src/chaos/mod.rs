//! `chaos`: faults injected from outside the cluster (Docker kill, iptables partitions in the
//! node's network namespace), never through the cluster's own API, with checks whose windows
//! come from the live flags and the live pod objects.
//!
//! # Known limitations
//! - Kubernetes only so far; the Mesos chaos checks (agent partitioned → TASK_UNREACHABLE /
//!   TASK_LOST, MARK_AGENT_GONE) are still to be written on top of the task cases.

mod kubernetes;

pub use kubernetes::cases;
