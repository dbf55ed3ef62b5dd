//! Kubernetes 1.35 built from the Go module: per-run PKI, the cluster as a plan of components
//! (testable without Docker), and a cluster of real components in containers (etcd,
//! kube-apiserver, kube-controller-manager, kube-scheduler each alone, plus nodes running
//! kubelet and kube-proxy), read through a kube-rs client.
//!
//! # Known limitations
//! - No cluster DNS (there is no CoreDNS image): pods reach Services by ClusterIP or by the
//!   `<SERVICE>_SERVICE_HOST` variables.
//! - [`KubeCluster::apply`] and [`KubeCluster::kubectl`] (the chaos cases, a taint of a
//!   negative control) run kubectl inside the apiserver container, so they need ordeal's
//!   control-plane image there; the `kubernetes` cases and `ordeal certify` create their objects
//!   and read through the client ([`KubeTarget`]), as `ordeal up` does.

mod cluster;
pub mod pki;
pub mod plan;
mod target;

pub use cluster::{
    KubeCluster, KubeConfig, api_err, client_for, client_with, lifecycle_taints, node_name,
    node_ready, pod_node, pod_phase,
};
pub use k8s_openapi::api::core::v1::{Node, Pod};
pub use plan::{KubeImages, KubeTimings};
pub use target::{KubeTarget, node_schedulable};
/// The client crates, re-exported so suites use the same versions (k8s-openapi with `v1_35`).
pub use {k8s_openapi, kube};
