//! Profiles: which suites a run selects and which timings it uses.

/// A named selection of suites and timings.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Name given to `--profile`.
    pub name: &'static str,
    /// One line for `--help` and the docs.
    pub description: &'static str,
    /// Suites it runs.
    pub suites: &'static [&'static str],
    /// Settings it changes from the components' defaults, recorded in every report.
    pub properties: &'static [(&'static str, &'static str)],
}

/// Every profile; the first is the default.
pub const PROFILES: &[Profile] = &[
    Profile {
        name: "smoke",
        description: "fast subset of every suite (minutes): the default, for CI gating",
        suites: &["smoke", "kubernetes", "mesos"],
        properties: &[
            ("timings", "fast"),
            ("node-monitor-grace-period", "10s"),
            ("node-monitor-period", "2s"),
        ],
    },
    Profile {
        name: "conformance",
        description: "every check, chaos included (the smoke timings for now), for release gating and certification",
        suites: &["smoke", "kubernetes", "mesos", "chaos"],
        properties: &[
            ("timings", "fast"),
            ("node-monitor-grace-period", "10s"),
            ("node-monitor-period", "2s"),
            ("mesos-agent-ping-timeout", "2secs"),
            ("mesos-max-agent-ping-timeouts", "3"),
        ],
    },
];

/// The profile called `name`.
pub fn find(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.name == name)
}

/// The names, for error messages and `--help`.
pub fn names() -> Vec<&'static str> {
    PROFILES.iter().map(|p| p.name).collect()
}
