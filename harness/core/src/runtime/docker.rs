//! The connection to the Docker engine.

use std::time::Duration;

use bollard::Docker;

use crate::{Error, Result};

/// How long the pre-flight version call may take before the engine counts as unreachable.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// A connected Docker engine, checked to answer.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    /// Where it was reached (`DOCKER_HOST` or the default socket).
    pub host: String,
    /// Engine version (e.g. `20.10.24+dfsg1`).
    pub version: String,
    /// Engine API version (e.g. `1.41`).
    pub api_version: String,
}

impl Engine {
    /// Connects as the docker CLI would (`DOCKER_HOST`, else the default socket) and asks the
    /// engine for its version, so a missing daemon is reported before anything else happens.
    pub async fn connect() -> Result<Self> {
        let host = std::env::var("DOCKER_HOST")
            .unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned());
        let unreachable = |why: String| {
            Error::infra(format!(
                "cannot reach the Docker engine at {host}: {why} (hint: start it with `ci/setup`, or point DOCKER_HOST at a running engine)"
            ))
        };
        let docker = Docker::connect_with_defaults().map_err(|e| unreachable(e.to_string()))?;
        let version = tokio::time::timeout(PING_TIMEOUT, docker.version())
            .await
            .map_err(|_| unreachable(format!("no answer within {PING_TIMEOUT:?}")))?
            .map_err(|e| unreachable(one_line(&e.to_string())))?;
        Ok(Self {
            docker,
            host: host.clone(),
            version: version.version.unwrap_or_default(),
            api_version: version.api_version.unwrap_or_default(),
        })
    }

    /// The bollard client, for calls testcontainers does not offer.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Whether an image is present locally. ordeal never pulls: with no registry, a pull would
    /// only hang or fail later with a worse message.
    pub async fn has_image(&self, reference: &str) -> Result<bool> {
        match self.docker.inspect_image(reference).await {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(Error::infra(format!(
                "failed to inspect image `{reference}`: {}",
                one_line(&e.to_string())
            ))),
        }
    }

    /// Fails with an infrastructure error naming every image in `references` that is missing.
    pub async fn require_images(&self, references: &[String]) -> Result<()> {
        let mut missing = Vec::new();
        for r in references {
            if !self.has_image(r).await? {
                missing.push(format!("`{r}`"));
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        Err(Error::infra(format!(
            "missing image{} {} (hint: run `ordeal images build`; ordeal never pulls from a registry)",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", ")
        )))
    }
}

/// Collapses an error message to one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
