//! The built-in suites and the profiles that select them.
//!
//! Every case has a stable, hierarchical name (`<suite>::<area>::<what_it_asserts>`), a one-line
//! summary of what it asserts, and, wherever possible, a negative control: the same case run
//! with the effect it checks for broken on purpose, which must make it fail.
//!
//! # Known limitations
//! - Only the `smoke` suite exists so far: it exercises the container runtime (start, exec,
//!   kill, pause, network disconnect) against real containers. The Mesos and Kubernetes suites
//!   arrive with their backends.

pub mod profiles;
pub mod smoke;

use ordeal::run::Case;

/// Every built-in case, in a stable order.
pub fn catalog() -> Vec<Case> {
    let mut cases = smoke::cases();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// The names of the built-in suites.
pub fn suite_names() -> Vec<String> {
    let mut names: Vec<String> = catalog().into_iter().map(|c| c.suite).collect();
    names.dedup();
    names
}
