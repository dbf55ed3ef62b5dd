//! Kubernetes 1.35 built from the Go module: per-run PKI and kubeconfigs so far.
//!
//! # Known limitations
//! - The bring-up (etcd, apiserver, controller-manager, scheduler, kubelet nodes) is not wired
//!   yet; `fixtures/kubernetes/NOTES.md` records what was verified by hand.

pub mod pki;
