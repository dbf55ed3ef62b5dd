//! The built-in suites and the profiles that select them.
//!
//! Every case has a stable, hierarchical name (`<suite>::<area>::<what_it_asserts>`), a one-line
//! summary of what it asserts, and, wherever possible, a negative control: the same case run
//! with the effect it checks for broken on purpose, which must make it fail.
//!
//! # Known limitations
//! - `smoke` exercises the container runtime and the faults against real containers;
//!   `kubernetes` runs real Kubernetes 1.35.4; `mesos` runs real Apache Mesos 1.11.0 with
//!   ordeal's command executor; `chaos` covers Kubernetes and Mesos node loss and partitions.
//! - `smoke` runs the cases marked [`Case::smoke`] (a fast subset of every suite) with fast
//!   timings; `conformance` runs every case at the components' default timings
//!   ([`ordeal::run::CaseCtx::component_defaults`]).

pub mod certify;
pub mod chaos;
pub mod kubernetes;
pub mod mesos;
pub mod profiles;
pub mod smoke;

use ordeal::run::Case;

/// Every built-in case, in a stable order.
pub fn catalog() -> Vec<Case> {
    let mut cases = smoke::cases();
    cases.extend(kubernetes::cases());
    cases.extend(mesos::cases());
    cases.extend(chaos::cases());
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// The names of the built-in suites.
pub fn suite_names() -> Vec<String> {
    let mut names: Vec<String> = catalog().into_iter().map(|c| c.suite).collect();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_case_has_a_negative_control_and_a_source() {
        for c in super::catalog() {
            assert!(c.control.is_some(), "{} has no negative control", c.name);
            assert!(c.source.is_some(), "{} names no source", c.name);
        }
    }
}
