//! Backends: one module per cluster manager.

pub mod kubernetes;
pub mod mesos;
