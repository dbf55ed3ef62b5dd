//! Profiles: which cases a run selects and which timings it uses.

use ordeal::run::Case;

/// A named selection of suites and timings.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Name given to `--profile`.
    pub name: &'static str,
    /// One line for `--help` and the docs.
    pub description: &'static str,
    /// Suites it runs.
    pub suites: &'static [&'static str],
    /// Only the cases marked [`Case::smoke`] of those suites.
    pub smoke_only: bool,
    /// Clusters run at their components' default timings, not the fast ones.
    pub component_defaults: bool,
    /// Each case's time budget is multiplied by this (default timings wait longer).
    pub timeout_factor: u32,
    /// Settings it changes from the components' defaults, recorded in every report.
    pub properties: &'static [(&'static str, &'static str)],
}

/// Every profile; the first is the default.
pub const PROFILES: &[Profile] = &[
    Profile {
        name: "smoke",
        description: "fast subset of every suite (minutes): the default, for CI gating",
        suites: &["smoke", "kubernetes", "mesos", "chaos"],
        smoke_only: true,
        component_defaults: false,
        timeout_factor: 1,
        properties: &[
            ("timings", "fast"),
            ("node-monitor-grace-period", "10s"),
            ("node-monitor-period", "2s"),
            ("mesos-agent-ping-timeout", "2secs"),
            ("mesos-max-agent-ping-timeouts", "3"),
        ],
    },
    Profile {
        name: "conformance",
        description: "every check, chaos included, at the components' default timings: for release gating and certification",
        suites: &["smoke", "kubernetes", "mesos", "chaos"],
        smoke_only: false,
        component_defaults: true,
        timeout_factor: 3,
        properties: &[
            ("timings", "component defaults"),
            ("node-monitor-grace-period", "default (50s in 1.35)"),
            ("node-monitor-period", "default (5s)"),
            ("mesos-agent-ping-timeout", "default (15secs)"),
            ("mesos-max-agent-ping-timeouts", "default (5)"),
        ],
    },
];

impl Profile {
    /// Whether the profile runs `case`.
    pub fn selects(&self, case: &Case) -> bool {
        self.suites.contains(&case.suite.as_str()) && (case.smoke || !self.smoke_only)
    }
}

/// The profile called `name`.
pub fn find(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.name == name)
}

/// The names, for error messages and `--help`.
pub fn names() -> Vec<&'static str> {
    PROFILES.iter().map(|p| p.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke_is_a_subset_of_conformance_with_cases_of_every_suite() {
        let (smoke, conformance) = (find("smoke").unwrap(), find("conformance").unwrap());
        let catalog = crate::catalog();
        let in_smoke: Vec<&Case> = catalog.iter().filter(|c| smoke.selects(c)).collect();
        assert!(in_smoke.iter().all(|c| conformance.selects(c)));
        assert!(catalog.iter().all(|c| conformance.selects(c)));
        assert!(in_smoke.len() < catalog.len());
        for suite in crate::suite_names() {
            assert!(
                in_smoke.iter().any(|c| c.suite == suite),
                "no smoke case in suite {suite}"
            );
        }
    }
}
