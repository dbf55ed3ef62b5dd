//! `kubernetes`: real Kubernetes 1.35.4 (built from the Go module) in containers; each case
//! brings up its own cluster (control plane + 2 kubelet nodes, about 15 s) so cases never share
//! state, and every case has a negative control that breaks the cluster on purpose. The check
//! bodies ([`checks`]) work through a [`ordeal::cluster::kubernetes::KubeTarget`], so
//! `ordeal certify` runs the same ones against a cluster ordeal did not start.

mod cases;
pub mod checks;
pub mod health;
pub mod resources;
mod scheduling;

use ordeal::run::Case;

/// Every Kubernetes case.
pub fn cases() -> Vec<Case> {
    let mut all = cases::cases();
    all.extend(scheduling::cases());
    all.extend(resources::cases());
    all
}
