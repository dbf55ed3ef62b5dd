//! The error type shared by the library, and the exit statuses the binary maps it to.

use std::process::ExitCode;

/// Exit statuses of the `ordeal` binary (documented in README and `--help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Every selected case passed.
    Passed = 0,
    /// At least one case failed its check.
    Failed = 1,
    /// Bad flags, a malformed file, an unknown profile or suite.
    Usage = 2,
    /// The environment failed: no Docker engine, a missing image, a cluster that never came up.
    Infra = 3,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> ExitCode {
        ExitCode::from(self as u8)
    }
}

/// What went wrong, classified by who has to act on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user's input is wrong (flags, files, names).
    #[error("{0}")]
    Usage(String),
    /// The environment is not usable (Docker, images, network, disk).
    #[error("{0}")]
    Infra(String),
}

impl Error {
    /// Builds a usage error.
    pub fn usage(msg: impl Into<String>) -> Self {
        Self::Usage(msg.into())
    }

    /// Builds an infrastructure error.
    pub fn infra(msg: impl Into<String>) -> Self {
        Self::Infra(msg.into())
    }

    /// The exit status this error maps to.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Self::Usage(_) => ExitStatus::Usage,
            Self::Infra(_) => ExitStatus::Infra,
        }
    }
}

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
