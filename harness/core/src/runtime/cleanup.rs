//! Finding and removing what runs left behind, by label only.

use std::collections::{BTreeMap, HashMap};

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
    RemoveVolumeOptionsBuilder,
};

use super::{
    Engine, Owner, RunId,
    container::remove_container,
    docker::one_line,
    labels::{CASE, KEEP, RUN},
    network::label_filter,
};
use crate::{Error, Result};

/// What one run still has on the engine.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Leftovers {
    /// Container ids.
    pub containers: Vec<String>,
    /// Network ids.
    pub networks: Vec<String>,
    /// Volume names.
    pub volumes: Vec<String>,
    /// The owner recorded in the labels, if readable.
    pub owner: Option<Owner>,
    /// Whether the run was kept on purpose (`ordeal up --keep`, label `ordeal.keep`).
    pub kept: bool,
}

impl Leftovers {
    /// Whether nothing is left.
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.networks.is_empty() && self.volumes.is_empty()
    }

    /// Total number of objects.
    pub fn count(&self) -> usize {
        self.containers.len() + self.networks.len() + self.volumes.len()
    }

    /// Whether the process that made these objects is gone (or unknown) and the run was not
    /// kept on purpose: such objects are leftovers, which `ordeal clean` and the start of the
    /// next run remove. A kept run is removed by `ordeal down` (or `ordeal clean --all`).
    pub fn orphaned(&self) -> bool {
        !self.kept && self.owner.as_ref().is_none_or(|o| !o.is_alive())
    }
}

fn list_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::infra(format!(
        "failed to list {what}: {}",
        one_line(&e.to_string())
    ))
}

/// Everything labelled `ordeal.run`, grouped by run id. With `case`, only that case's objects.
pub async fn inventory(
    engine: &Engine,
    run: Option<&RunId>,
    case: Option<&str>,
) -> Result<BTreeMap<RunId, Leftovers>> {
    let mut pairs: Vec<(&str, &str)> = vec![(RUN, run.map_or("", RunId::as_str))];
    if let Some(case) = case {
        pairs.push((CASE, case));
    }
    let filters = label_filter(&pairs);
    let docker = engine.docker();
    let mut runs: BTreeMap<RunId, Leftovers> = BTreeMap::new();
    let mut entry = |labels: &HashMap<String, String>| -> Option<RunId> {
        let id = RunId::from_label(labels.get(RUN)?);
        let slot = runs.entry(id.clone()).or_default();
        if slot.owner.is_none() {
            slot.owner = Owner::from_labels(labels);
        }
        slot.kept |= labels.contains_key(KEEP);
        Some(id)
    };
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(|e| list_err("containers", e))?;
    let mut found = Vec::new();
    for c in containers {
        if let (Some(id), Some(labels)) = (c.id, c.labels)
            && let Some(run) = entry(&labels)
        {
            found.push((run, 'c', id));
        }
    }
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(|e| list_err("networks", e))?;
    for n in networks {
        if let (Some(id), Some(labels)) = (n.id, n.labels)
            && let Some(run) = entry(&labels)
        {
            found.push((run, 'n', id));
        }
    }
    let volumes = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(|e| list_err("volumes", e))?;
    for v in volumes.volumes.unwrap_or_default() {
        if let Some(run) = entry(&v.labels) {
            found.push((run, 'v', v.name));
        }
    }
    for (run, kind, id) in found {
        let slot = runs.entry(run).or_default();
        match kind {
            'c' => slot.containers.push(id),
            'n' => slot.networks.push(id),
            _ => slot.volumes.push(id),
        }
    }
    Ok(runs)
}

/// Removes `leftovers`: containers first (with their anonymous volumes), then networks, then
/// volumes. Objects already gone count as removed. Returns how many were removed.
pub async fn remove(engine: &Engine, leftovers: &Leftovers) -> Result<usize> {
    let docker = engine.docker();
    let mut errors = Vec::new();
    for id in &leftovers.containers {
        if let Err(e) = remove_container(engine, id).await {
            errors.push(e.to_string());
        }
    }
    for id in &leftovers.networks {
        if let Err(e) = remove_network(engine, id).await {
            errors.push(format!("network `{id}`: {e}"));
        }
    }
    for name in &leftovers.volumes {
        let opts = RemoveVolumeOptionsBuilder::default().force(true).build();
        match docker.remove_volume(name, Some(opts)).await {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => errors.push(format!("volume `{name}`: {}", one_line(&e.to_string()))),
        }
    }
    if errors.is_empty() {
        Ok(leftovers.count())
    } else {
        Err(Error::infra(format!(
            "cleanup incomplete: {}",
            errors.join("; ")
        )))
    }
}

/// Removes network `id`. While it still has endpoints, removes the ordeal containers attached
/// to it and tries again (10 times, 0.5 s apart): the first look can miss a container whose
/// creation a dead process had requested, and another cleaner may be removing the same run's
/// containers at that moment. A container without the `ordeal.run` label is never touched.
async fn remove_network(engine: &Engine, id: &str) -> std::result::Result<(), String> {
    let docker = engine.docker();
    let mut attempt = 1;
    loop {
        let e = match docker.remove_network(id).await {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Ok(()),
            Err(e) => one_line(&e.to_string()),
        };
        if attempt == 10 || !e.contains("active endpoints") {
            return Err(e);
        }
        let attached = docker
            .inspect_network(id, None)
            .await
            .ok()
            .and_then(|n| n.containers)
            .unwrap_or_default();
        for container in attached.keys() {
            let ours = docker
                .inspect_container(container, None)
                .await
                .ok()
                .and_then(|c| c.config)
                .and_then(|c| c.labels)
                .is_some_and(|l| l.contains_key(RUN));
            if ours {
                let _ = remove_container(engine, container).await;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        attempt += 1;
    }
}

/// Removes everything of `run` (or of one case of it).
pub async fn remove_run(engine: &Engine, run: &RunId, case: Option<&str>) -> Result<usize> {
    let mut removed = 0;
    for leftovers in inventory(engine, Some(run), case).await?.values() {
        removed += remove(engine, leftovers).await?;
    }
    Ok(removed)
}

/// Removes the leftovers of every run whose owner process is gone; with `all`, of every run.
/// Returns `(run, objects removed)` per run touched.
pub async fn clean(engine: &Engine, all: bool) -> Result<Vec<(RunId, usize)>> {
    let mut done = Vec::new();
    for (run, leftovers) in inventory(engine, None, None).await? {
        if all || leftovers.orphaned() {
            let n = remove(engine, &leftovers).await?;
            done.push((run, n));
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_run_is_never_an_orphan_even_when_its_owner_is_gone() {
        let dead = Owner {
            pid: u32::MAX - 1,
            start: 1,
        };
        let mut left = Leftovers {
            containers: vec!["c".into()],
            owner: Some(dead),
            ..Leftovers::default()
        };
        assert!(left.orphaned(), "dead owner: a leftover");
        left.kept = true;
        assert!(
            !left.orphaned(),
            "kept by `ordeal up --keep`: not a leftover"
        );
        let alive = Leftovers {
            owner: Some(Owner::current()),
            ..Leftovers::default()
        };
        assert!(!alive.orphaned());
    }
}
