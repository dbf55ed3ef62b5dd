//! Backends: one module per cluster manager, and clusters ordeal did not start.

pub mod external;
pub mod kubernetes;
pub mod mesos;
