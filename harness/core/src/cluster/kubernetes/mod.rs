//! Kubernetes 1.35 built from the Go module: per-run PKI, the cluster as a plan of components
//! (testable without Docker), and a cluster of real components in containers (etcd,
//! kube-apiserver, kube-controller-manager, kube-scheduler each alone, plus nodes running
//! kubelet and kube-proxy), read through a kube-rs client.
//!
//! # Known limitations
//! - No cluster DNS (there is no CoreDNS image): pods reach Services by ClusterIP or by the
//!   `<SERVICE>_SERVICE_HOST` variables.
//! - Manifests are applied, and nodes tainted, with kubectl inside the apiserver container, so
//!   the suites need ordeal's control-plane image there; a registry apiserver image serves
//!   `ordeal up` and every read, which go through the client.

mod cluster;
pub mod pki;
pub mod plan;

pub use cluster::{
    KubeCluster, KubeConfig, client_for, node_name, node_ready, pod_node, pod_phase,
};
pub use k8s_openapi::api::core::v1::{Node, Pod};
pub use plan::{KubeImages, KubeTimings};
/// The client crates, re-exported so suites use the same versions (k8s-openapi with `v1_35`).
pub use {k8s_openapi, kube};
