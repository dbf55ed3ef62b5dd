//! Backends: one module per cluster manager.

pub mod mesos;
