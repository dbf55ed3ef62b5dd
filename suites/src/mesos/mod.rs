//! `mesos`: real Apache Mesos 1.11.0 (the master, agent, allocator and registrar of PyPI's
//! binary, started by ordeal's own launchers) with ZooKeeper. Each case brings up its own
//! cluster; every case has a negative control.
//!
//! # Known limitations
//! - No task cases yet: they need ordeal's command executor in the image.

mod cases;

pub use cases::cases;
