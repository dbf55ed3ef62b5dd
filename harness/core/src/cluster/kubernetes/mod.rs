//! Kubernetes 1.35 built from the Go module: per-run PKI, and a cluster of real components in
//! containers (etcd, kube-apiserver, kube-controller-manager, kube-scheduler each alone, plus
//! kubelet nodes), driven through `kubectl` inside the apiserver container.
//!
//! # Known limitations
//! - No kube-proxy and no cluster DNS yet: pods reach each other by pod IP only.
//! - The API is read through `kubectl -o json` with serde types for the fields the suites use,
//!   not kube-rs yet.

mod cluster;
pub mod pki;

pub use cluster::{KubeCluster, KubeTimings, Node, NodeCondition, Pod};
