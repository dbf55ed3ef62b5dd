//! Docker, through testcontainers and bollard (both pinned exactly; see the workspace manifest).
//!
//! Every object this module creates carries `ordeal.run=<run id>`, `ordeal.role=<role>` and the
//! owner's pid and start time, so [`cleanup`] can find and remove what a run left behind, by label
//! and never by name pattern.

pub mod cleanup;
pub mod container;
pub mod docker;
pub mod labels;
pub mod network;

pub use container::{Container, ContainerSpec, ExecOutput};
pub use docker::Engine;
pub use labels::{Owner, RunId};
pub use network::{Network, NetworkSpec};
