//! What a dead run left inside containers that outlive it.
//!
//! A run's helpers and their processes (delay, process holds) go with the run's own objects;
//! its rules and qdiscs live in its targets' network namespaces. When the targets are the
//! run's own containers they go with them; when they belong to another run that stays (a
//! cluster kept with `ordeal up --keep`, a run still going), [`scrub`] removes them: it
//! looks into every running container of a surviving run through a helper and deletes the
//! rules whose comment `ordeal:<run>:…` names a run that is neither alive nor kept, and the
//! qdiscs of its bandwidth faults.

use std::collections::{BTreeMap, BTreeSet};

use bollard::query_parameters::InspectContainerOptions;

use super::{
    helper::{self, Shared},
    net::{qdisc_handle, remove_qdiscs_script, remove_rules_script},
};
use crate::{
    Error, Result,
    runtime::{Engine, RunId, cleanup, container::remove_container},
};

/// What a dead run left in one surviving container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scrubbed {
    /// The container's Docker name.
    pub container: String,
    /// The dead run.
    pub run: RunId,
    /// Its rules found there (all removed unless a dry run).
    pub rules: usize,
    /// Its bandwidth faults' qdiscs among them (one marker rule per shaped interface).
    pub qdiscs: usize,
}

/// One rule line of `iptables -S` tagged by ordeal: `(run, comment, output interface)`.
fn tagged(line: &str) -> Option<(RunId, String, Option<String>)> {
    let rest = line.split("--comment ").nth(1)?;
    let comment = rest
        .trim_start_matches('"')
        .split(['"', ' '])
        .next()?
        .to_owned();
    let mut parts = comment.splitn(3, ':');
    if parts.next()? != "ordeal" {
        return None;
    }
    let run = RunId::from_label(parts.next()?);
    parts.next()?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let dev = words
        .windows(2)
        .find(|w| w[0] == "-o")
        .map(|w| w[1].to_owned());
    Some((run, comment, dev))
}

/// The runs that stay: owner alive, or kept.
async fn surviving(engine: &Engine) -> Result<BTreeMap<RunId, cleanup::Leftovers>> {
    Ok(cleanup::inventory(engine, None, None)
        .await?
        .into_iter()
        .filter(|(_, l)| !l.orphaned())
        .collect())
}

/// Removes (with `dry_run`, only finds) the rules and qdiscs of dead runs in every running
/// container of the runs that stay, through helpers from `helper_image` labelled with a run of
/// their own and removed at once. Containers that share another's network namespace are
/// looked at through that one.
pub async fn scrub(engine: &Engine, helper_image: &str, dry_run: bool) -> Result<Vec<Scrubbed>> {
    let stay = surviving(engine).await?;
    let mut targets = Vec::new();
    for left in stay.values() {
        for id in &left.containers {
            let Ok(info) = engine
                .docker()
                .inspect_container(id, None::<InspectContainerOptions>)
                .await
            else {
                continue;
            };
            let runs = info.state.as_ref().and_then(|s| s.running) == Some(true);
            let shared = info
                .host_config
                .as_ref()
                .and_then(|h| h.network_mode.as_deref())
                .is_some_and(|m| m.starts_with("container:"));
            if runs && !shared {
                let name = info.name.unwrap_or_default();
                targets.push((id.clone(), name.trim_start_matches('/').to_owned()));
            }
        }
    }
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    engine
        .require_images(std::slice::from_ref(&helper_image.to_owned()))
        .await?;
    let own = RunId::generate();
    let mut found = Vec::new();
    let mut errors = Vec::new();
    // Whether a run named in a rule is dead, asked again just before its rules go: a run that
    // started after the first look is alive.
    let mut dead: BTreeMap<RunId, bool> = BTreeMap::new();
    for (i, (id, name)) in targets.iter().enumerate() {
        match scrub_one(
            engine,
            helper_image,
            &own,
            (id, name),
            i,
            &stay,
            &mut dead,
            dry_run,
        )
        .await
        {
            Ok(mut s) => found.append(&mut s),
            Err(e) => errors.push(e.to_string()),
        }
    }
    // Whatever failed above, the helpers go.
    cleanup::remove_run(engine, &own, None).await?;
    if errors.is_empty() {
        Ok(found)
    } else {
        Err(Error::infra(format!(
            "failed to scrub surviving containers: {}",
            errors.join("; ")
        )))
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site, all of it context"
)]
async fn scrub_one(
    engine: &Engine,
    helper_image: &str,
    own: &RunId,
    (id, name): (&str, &str),
    i: usize,
    stay: &BTreeMap<RunId, cleanup::Leftovers>,
    dead: &mut BTreeMap<RunId, bool>,
    dry_run: bool,
) -> Result<Vec<Scrubbed>> {
    let helper = match helper::start(
        engine,
        own,
        helper_image,
        (id, &format!("scrub{i}")),
        Shared::Net,
    )
    .await
    {
        Ok(h) => h,
        // Gone (or stopped) since the listing, its namespace with it: nothing to scrub.
        Err(_) if !running(engine, id).await => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let result = async {
        let out = helper.sh("iptables -w -S").await?;
        if !out.success() {
            return Err(Error::infra(format!(
                "failed to list the rules in `{name}`: {}",
                out.summary()
            )));
        }
        // Comment -> (run, interfaces of its marker rules, rule count).
        let mut by_fault: BTreeMap<String, (RunId, BTreeSet<String>, usize)> = BTreeMap::new();
        for line in out.stdout.lines() {
            if let Some((run, comment, dev)) = tagged(line) {
                if stay.contains_key(&run) {
                    continue;
                }
                let slot = by_fault
                    .entry(comment)
                    .or_insert_with(|| (run, BTreeSet::new(), 0));
                slot.2 += 1;
                if let Some(dev) = dev {
                    slot.1.insert(dev);
                }
            }
        }
        let mut per_run: BTreeMap<RunId, Scrubbed> = BTreeMap::new();
        for (comment, (run, devices, rules)) in by_fault {
            if !is_dead(engine, &run, dead).await? {
                continue;
            }
            let bandwidth = comment
                .rsplit(':')
                .next()
                .is_some_and(|f| f.starts_with("bandwidth"));
            let qdiscs = if bandwidth { devices.len() } else { 0 };
            if !dry_run {
                let mut script = String::new();
                if bandwidth && !devices.is_empty() {
                    let devices: Vec<String> = devices.into_iter().collect();
                    script = format!(
                        "{} && ",
                        remove_qdiscs_script(&devices, qdisc_handle(&comment))
                    );
                }
                script.push_str(&remove_rules_script(&comment));
                let out = helper.sh(&script).await?;
                if !out.success() {
                    return Err(Error::infra(format!(
                        "failed to remove the rules of `{comment}` in `{name}`: {}",
                        out.summary()
                    )));
                }
            }
            let s = per_run.entry(run.clone()).or_insert_with(|| Scrubbed {
                container: name.to_owned(),
                run,
                rules: 0,
                qdiscs: 0,
            });
            s.rules += rules;
            s.qdiscs += qdiscs;
        }
        Ok(per_run.into_values().collect())
    }
    .await;
    let _ = remove_container(engine, helper.id()).await;
    match result {
        Err(_) if !running(engine, id).await => Ok(Vec::new()),
        other => other,
    }
}

/// Whether container `id` exists and runs.
async fn running(engine: &Engine, id: &str) -> bool {
    engine
        .docker()
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .ok()
        .and_then(|i| i.state)
        .and_then(|s| s.running)
        == Some(true)
}

async fn is_dead(engine: &Engine, run: &RunId, dead: &mut BTreeMap<RunId, bool>) -> Result<bool> {
    if let Some(d) = dead.get(run) {
        return Ok(*d);
    }
    let now = cleanup::inventory(engine, Some(run), None).await?;
    let d = now.values().all(cleanup::Leftovers::orphaned);
    dead.insert(run.clone(), d);
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_rules_name_their_run_comment_and_interface() {
        let (run, comment, dev) = tagged(
            r#"-A OUTPUT -o eth1 -m comment --comment "ordeal:20261207-001500-8c1e:bandwidth3""#,
        )
        .unwrap();
        assert_eq!(run.as_str(), "20261207-001500-8c1e");
        assert_eq!(comment, "ordeal:20261207-001500-8c1e:bandwidth3");
        assert_eq!(dev.as_deref(), Some("eth1"));
        let (run, _, dev) =
            tagged("-A INPUT -s 10.213.0.2/32 -m comment --comment ordeal:r1:partition0 -j DROP")
                .unwrap();
        assert_eq!((run.as_str(), dev), ("r1", None));
        assert!(
            tagged("-A KUBE-SERVICES -m comment --comment \"kubernetes service\" -j X").is_none()
        );
        assert!(tagged("-P INPUT ACCEPT").is_none());
    }
}
