//! Faults injected from outside the system under test: through the Docker engine (kill, stop,
//! pause), inside a container's network namespace (partitions and packet loss with iptables,
//! latency through a userspace NFQUEUE consumer, bandwidth limits with a `tc` token bucket) and
//! inside its PID namespace (SIGKILL of one process), never through the system's own API.
//!
//! Those faults run from a *helper* container that shares the target's network or PID
//! namespace (`--network container:<target>`, `--pid container:<target>`), so they work on any
//! target image, even a FROM-scratch one. Every rule carries the comment `ordeal:<run>:<fault
//! id>`; healing removes exactly the rules (and qdiscs) of that fault and nothing else, and
//! healing twice is harmless. [`scrub`] removes what a dead run left inside containers that
//! outlive it.
//!
//! [`schedule`] holds fault schedules: scenario files written by hand, or generated from a seed;
//! [`exec`] runs one against a cluster's nodes and records what it did (the executed schedule
//! that `run.json` stores and `ordeal replay` runs again).
//!
//! # Known limitations
//! - Latency is userspace (`ordeal-delay` on NFQUEUE): constant delay, about 1 ms resolution,
//!   no jitter; `netem` is not used even where the kernel has it. A TCP flow from the
//!   target sends only about two segments per delay (most likely TCP small queues counting the
//!   held packets against their socket): a 64 KiB download takes about 2 s under 100 ms.
//! - Bandwidth shapes egress only (no `ifb` here): limit a node's senders to slow what it
//!   receives. One bandwidth fault per target at a time.
//! - A process kill cannot kill a container's main process (PID 1), and the heal does not start
//!   a process: its supervisor, if there is one, does. A supervisor that is PID 1 cannot be
//!   stopped from inside: its restarts are killed on sight, each living up to about 10 ms.

pub mod exec;
pub mod grudge;
mod helper;
mod net;
mod process;
pub mod schedule;
pub mod scrub;

pub use grudge::Grudge;
pub use net::{Direction, NetFault, NetFaults, Node, qdisc_handle};
pub use process::{ProcessFault, ProcessFaults};
