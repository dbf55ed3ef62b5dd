//! Executing a schedule against a cluster's nodes: the nemesis half of a schedule.
//!
//! Jepsen's split: the [`Schedule`] says when, this module does the faults (Docker kill, stop,
//! pause; iptables, the delay process and `tc` through [`NetFaults`]; process kills through
//! [`ProcessFaults`]), and the case judges the
//! cluster afterwards. Every inject and heal lands in the case's timeline; the result is an
//! [`ExecutedSchedule`]: each entry with its planned and actual offsets and the nodes its
//! selector *resolved* to, so a replay ([`ExecutedSchedule::replan`]) hits the same nodes even
//! where the selector left the choice to the seed (`agent`) or to the cluster (`leader`).
//!
//! Every fault is healed: at its offset + duration, at the end of the schedule when it has no
//! duration, at once when an injection fails, and, if the case is dropped mid-schedule (its
//! time budget), by a best-effort heal spawned from [`Drop`] (the case's cleanup removes the
//! containers right after anyway). Healing is idempotent: a container already running is not
//! started again, and network rules are found by their own comment. A `kill-process` of a
//! container's own process stops the container: its heal starts it again, as a `kill`'s does.

use std::{
    future::Future,
    net::Ipv4Addr,
    sync::Arc,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

use super::{
    Direction, NetFault, NetFaults, ProcessFault, ProcessFaults,
    schedule::{Fault, Schedule, format_rate},
};
use crate::{
    Error, Result, check::CaseError, run::CaseCtx, runtime::Container, timeline::now_rfc3339,
};

/// A node a schedule can aim at.
#[derive(Debug, Clone)]
pub struct Target {
    /// Name, as selectors and reports write it (`node-2`, `agent1`, `master3`).
    pub name: String,
    /// Role (`node`, `agent`, `master`...): what `<role>` selectors match.
    pub role: String,
    /// The container Docker faults (kill, stop, restart, pause) act on.
    pub container: Arc<Container>,
    /// The container owning the node's network namespace, where network faults go (the same
    /// container, or the sandbox a Mesos agent container joins).
    pub netns: Arc<Container>,
    /// The node's address on the cluster network (what its peers' rules drop).
    pub ip: Ipv4Addr,
}

/// One entry of an executed schedule: the planned entry, what its selectors resolved to, and
/// when it was injected and healed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutedEntry {
    /// Planned offset from the schedule's start, in milliseconds.
    pub at_ms: u64,
    /// What.
    pub fault: Fault,
    /// The selector as planned (`agent`, `leader`, `node:2`...).
    pub target: String,
    /// Planned hold, in milliseconds; `None` heals at the end of the schedule.
    pub duration_ms: Option<u64>,
    /// The nodes the selector resolved to, by name. A replay hits exactly these.
    #[serde(default)]
    pub resolved: Vec<String>,
    /// For `partition-one-way`: the nodes `to` resolved to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved_to: Vec<String>,
    /// Never healed by the schedule, on purpose (a negative control): the case's cleanup
    /// removes the node.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
    /// When the fault was in place, in milliseconds from the schedule's start.
    #[serde(default)]
    pub injected_ms: Option<u64>,
    /// When it was healed, in milliseconds from the schedule's start.
    #[serde(default)]
    pub healed_ms: Option<u64>,
    /// Why it was not injected or not healed, if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A schedule as it ran against one cluster, stored per case in `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutedSchedule {
    /// The schedule's name.
    pub name: String,
    /// The seed it was generated from, if any.
    pub seed: Option<u64>,
    /// `kubernetes` or `mesos`.
    pub backend: String,
    /// RFC 3339 wall-clock time of the schedule's start (offset 0).
    #[serde(default)]
    pub started: Option<String>,
    /// The entries, by planned offset.
    pub entries: Vec<ExecutedEntry>,
}

impl ExecutedSchedule {
    /// A plan for `schedule` on `backend`: nothing resolved or run yet.
    pub fn plan(schedule: &Schedule, backend: &str) -> Self {
        Self {
            name: schedule.name.clone(),
            seed: schedule.seed,
            backend: backend.to_owned(),
            started: None,
            entries: schedule
                .entries
                .iter()
                .map(|e| ExecutedEntry {
                    at_ms: e.at_ms,
                    fault: e.fault.clone(),
                    target: e.target.clone(),
                    duration_ms: e.duration_ms,
                    resolved: Vec::new(),
                    resolved_to: Vec::new(),
                    held: false,
                    injected_ms: None,
                    healed_ms: None,
                    note: None,
                })
                .collect(),
        }
    }

    /// The same entries with their resolved nodes pinned and the actual times cleared: what a
    /// replay executes. An entry that resolved to nothing (no leader at the time) is resolved
    /// again.
    pub fn replan(&self) -> Self {
        let mut plan = self.clone();
        plan.started = None;
        for e in &mut plan.entries {
            e.injected_ms = None;
            e.healed_ms = None;
            e.note = None;
        }
        plan
    }

    /// The planned part of each entry (offset, fault, selector, hold, resolved nodes, held),
    /// without times or notes: equal for a run and its replay.
    pub fn planned(&self) -> Vec<ExecutedEntry> {
        self.replan().entries
    }

    /// When the last heal is due (or the last injection, for a schedule of held faults).
    pub fn span(&self) -> Duration {
        Duration::from_millis(
            self.entries
                .iter()
                .map(|e| e.at_ms + e.duration_ms.unwrap_or(0))
                .max()
                .unwrap_or(0),
        )
    }
}

/// What a fault does, for the timeline: `pause`, `loss 30%`, `latency 120 ms`...
pub fn describe(fault: &Fault) -> String {
    match fault {
        Fault::Loss { probability } => format!("loss {:.0}%", probability * 100.0),
        Fault::Latency { delay_ms } => format!("latency {delay_ms} ms"),
        Fault::PartitionOneWay { to } => format!("partition-one-way to {to}"),
        Fault::Bandwidth { bits_per_sec } => format!("bandwidth {}", format_rate(*bits_per_sec)),
        Fault::KillProcess { process } => format!("kill-process {process}"),
        Fault::Kill | Fault::Stop | Fault::Restart | Fault::Pause | Fault::Isolate => {
            fault.kind().to_owned()
        }
    }
}

/// Resolves `selector` against `nodes` (name, role): indexes into `nodes`. `<role>` picks one
/// with `pick(n)` (the seed's choice, below `n`), `<role>:N` the N-th (1-based), `<role>:all`
/// every one, `leader` the node named `leader`, `name:A[,B...]` those names.
pub fn resolve(
    selector: &str,
    nodes: &[(&str, &str)],
    leader: Option<&str>,
    pick: &mut dyn FnMut(usize) -> usize,
) -> Result<Vec<usize>, String> {
    let of_role = |role: &str| -> Vec<usize> {
        nodes
            .iter()
            .enumerate()
            .filter(|(_, (_, r))| *r == role)
            .map(|(i, _)| i)
            .collect()
    };
    let roles = || {
        let mut r: Vec<&str> = nodes.iter().map(|(_, r)| *r).collect();
        r.dedup();
        r.join(", ")
    };
    let by_name = |name: &str| {
        nodes.iter().position(|(n, _)| *n == name).ok_or_else(|| {
            format!(
                "no node named `{name}` (nodes: {})",
                nodes.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            )
        })
    };
    if selector == "leader" {
        return match leader {
            Some(l) => Ok(vec![by_name(l)?]),
            None => Err("no leader at this moment".into()),
        };
    }
    let (role, which) = match selector.split_once(':') {
        Some(("name", names)) => return names.split(',').map(by_name).collect(),
        Some((role, which)) => (role, Some(which)),
        None => (selector, None),
    };
    let members = of_role(role);
    if members.is_empty() {
        return Err(format!("no node has role `{role}` (roles: {})", roles()));
    }
    match which {
        None => Ok(vec![members[pick(members.len()) % members.len()]]),
        Some("all") => Ok(members),
        Some(n) => {
            let n: usize = n
                .parse()
                .map_err(|_| format!("`{selector}` is not a selector"))?;
            members
                .get(n.wrapping_sub(1))
                .map(|i| vec![*i])
                .ok_or_else(|| {
                    format!("`{selector}`: there are {} `{role}` node(s)", members.len())
                })
        }
    }
}

/// Checks that every selector of `schedule` can resolve against a topology of `nodes` (name,
/// role) whose `leader`, if it has one, may be `leader`, before any cluster starts. Errors are
/// one line naming the entry (exit 2).
pub fn check(schedule: &Schedule, nodes: &[(&str, &str)], leader: Option<&str>) -> Result<()> {
    for (i, e) in schedule.entries.iter().enumerate() {
        let mut selectors = vec![("target", e.target.as_str())];
        if let Fault::PartitionOneWay { to } = &e.fault {
            selectors.push(("to", to.as_str()));
        }
        for (field, s) in selectors {
            resolve(s, nodes, leader, &mut |_| 0).map_err(|why| {
                Error::usage(format!(
                    "schedule `{}`: fault[{i}].{field} `{s}`: {why}",
                    schedule.name
                ))
            })?;
        }
    }
    Ok(())
}

/// A fault in place on one node.
enum Applied {
    Killed(Arc<Container>),
    Paused(Arc<Container>),
    Net(NetFault),
    /// A process killed in this container (which may have stopped with it).
    Process(ProcessFault, Arc<Container>),
    /// Nothing to undo (a restart).
    Nothing,
}

/// Faults in place, by entry. Whatever is left when it drops is healed in the background.
struct Active {
    faults: NetFaults,
    procs: ProcessFaults,
    by_entry: Vec<Vec<(String, Applied)>>,
}

impl Drop for Active {
    fn drop(&mut self) {
        let left: Vec<(String, Applied)> = self.by_entry.drain(..).flatten().collect();
        if left.is_empty() {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (faults, procs) = (self.faults.clone(), self.procs.clone());
        handle.spawn(async move {
            for (_, applied) in left {
                let _ = heal(&faults, &procs, applied).await;
            }
        });
    }
}

async fn heal(faults: &NetFaults, procs: &ProcessFaults, applied: Applied) -> Result<()> {
    match applied {
        Applied::Killed(c) => {
            if !c.state().await?.0 {
                c.start().await?;
            }
            // A started container has a new network namespace: the old helper is stale.
            faults.forget(&c).await
        }
        Applied::Paused(c) => match c.unpause().await {
            // Not paused any more (unpaused, or killed by another entry): nothing to heal.
            Err(e)
                if e.to_string().contains("is not paused")
                    || !c.state().await.is_ok_and(|(running, _)| running) =>
            {
                Ok(())
            }
            r => r,
        },
        Applied::Net(mut f) => faults.heal(&mut f).await,
        Applied::Process(mut f, c) => {
            procs.heal(&mut f).await?;
            // The killed process was the container's own: the node runs again only if the
            // container is started, as a kill's heal does.
            if !c.state().await?.0 {
                c.start().await?;
                faults.forget(&c).await?;
            }
            Ok(())
        }
        Applied::Nothing => Ok(()),
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Runs `plan` against `targets`: every entry at its offset, every heal at offset + duration
/// (at the end for entries without one; never for held ones). `leader` names the leading node
/// when a `leader` selector is resolved, at inject time. The executed schedule is recorded
/// with the case ([`CaseCtx::record_schedule`]), also when an injection fails, and returned.
///
/// An entry whose selector resolves to nothing at inject time (no leader) is skipped with a
/// note. A failed injection or heal heals everything still in place and is an infrastructure
/// error.
pub async fn execute<L, Fut>(
    ctx: &CaseCtx,
    mut plan: ExecutedSchedule,
    targets: &[Target],
    leader: L,
) -> Result<ExecutedSchedule, CaseError>
where
    L: Fn() -> Fut,
    Fut: Future<Output = Option<String>>,
{
    let nodes: Vec<(&str, &str)> = targets
        .iter()
        .map(|t| (t.name.as_str(), t.role.as_str()))
        .collect();
    let end = ms(plan.span());
    // (time, heal before inject at the same time, entry)
    let mut actions: Vec<(u64, bool, usize)> = Vec::new();
    for (i, e) in plan.entries.iter().enumerate() {
        actions.push((e.at_ms, true, i));
        if !e.held {
            actions.push((e.duration_ms.map_or(end, |d| e.at_ms + d), false, i));
        }
    }
    actions.sort_by_key(|(t, inject, i)| (*t, *inject, *i));
    let mut active = Active {
        faults: ctx.net_faults()?,
        procs: ctx.process_faults()?,
        by_entry: (0..plan.entries.len()).map(|_| Vec::new()).collect(),
    };
    ctx.step(format!(
        "schedule \"{}\" on {}: {} fault(s) over {:.1} s",
        plan.name,
        plan.backend,
        plan.entries.len(),
        end as f64 / 1000.0
    ));
    let start = Instant::now();
    plan.started = Some(now_rfc3339());
    let mut failure = None;
    for (t, inject, i) in actions {
        tokio::time::sleep(Duration::from_millis(t).saturating_sub(start.elapsed())).await;
        let result = if inject {
            inject_entry(
                ctx,
                &mut plan,
                &mut active,
                i,
                targets,
                &nodes,
                &leader,
                start,
            )
            .await
        } else {
            heal_entry(ctx, &mut plan, &mut active, i, start).await
        };
        if let Err(e) = result {
            failure = Some(e);
            break;
        }
    }
    if failure.is_some() {
        // Heal whatever is in place, then report the first error.
        for i in 0..plan.entries.len() {
            if !active.by_entry[i].is_empty() {
                let _ = heal_entry(ctx, &mut plan, &mut active, i, start).await;
            }
        }
    }
    ctx.record_schedule(plan.clone());
    match failure {
        Some(e) => Err(CaseError::Infra(e.to_string())),
        None => Ok(plan),
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site, the executor's loop"
)]
async fn inject_entry<L, Fut>(
    ctx: &CaseCtx,
    plan: &mut ExecutedSchedule,
    active: &mut Active,
    i: usize,
    targets: &[Target],
    nodes: &[(&str, &str)],
    leader: &L,
    start: Instant,
) -> Result<()>
where
    L: Fn() -> Fut,
    Fut: Future<Output = Option<String>>,
{
    let entry = &mut plan.entries[i];
    let wants_leader = entry.target == "leader"
        || matches!(&entry.fault, Fault::PartitionOneWay { to } if to == "leader");
    let current_leader = if wants_leader {
        tokio::time::timeout(Duration::from_secs(10), leader())
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    let mut pick =
        |n: usize| usize::try_from(ctx.random_u64() % u64::try_from(n).unwrap_or(1)).unwrap_or(0);
    let index = |names: &[String]| -> Result<Vec<usize>> {
        names
            .iter()
            .map(|n| {
                nodes.iter().position(|(name, _)| name == n).ok_or_else(|| {
                    Error::usage(format!("recorded node `{n}` is not in this cluster"))
                })
            })
            .collect()
    };
    let resolved = if entry.resolved.is_empty() {
        match resolve(&entry.target, nodes, current_leader.as_deref(), &mut pick) {
            Ok(r) => r,
            Err(why) => {
                entry.note = Some(format!("not injected: {why}"));
                ctx.step(format!(
                    "schedule #{i}: {} {} not injected: {why}",
                    describe(&entry.fault),
                    entry.target
                ));
                return Ok(());
            }
        }
    } else {
        if entry.target == "leader"
            && current_leader.as_deref() != entry.resolved.first().map(String::as_str)
        {
            ctx.step(format!(
                "schedule #{i}: replaying `leader` as the recorded {}, though {} leads now",
                entry.resolved.join(","),
                current_leader.as_deref().unwrap_or("no node")
            ));
        }
        index(&entry.resolved)?
    };
    let peers = match &entry.fault {
        Fault::PartitionOneWay { to } if entry.resolved_to.is_empty() => {
            match resolve(to, nodes, current_leader.as_deref(), &mut pick) {
                Ok(r) => r,
                Err(why) => {
                    entry.note = Some(format!("not injected: `to`: {why}"));
                    return Ok(());
                }
            }
        }
        _ => index(&entry.resolved_to)?,
    };
    entry.resolved = resolved.iter().map(|&t| targets[t].name.clone()).collect();
    if matches!(entry.fault, Fault::PartitionOneWay { .. }) {
        entry.resolved_to = peers.iter().map(|&t| targets[t].name.clone()).collect();
    }
    let what = describe(&entry.fault);
    let began = Instant::now();
    for &t in &resolved {
        let target = &targets[t];
        let others: Vec<Ipv4Addr> = targets
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != t)
            .map(|(_, o)| o.ip)
            .collect();
        let applied = match &entry.fault {
            Fault::Kill => {
                target.container.kill("SIGKILL").await?;
                Applied::Killed(target.container.clone())
            }
            Fault::Stop => {
                target.container.stop(Duration::from_secs(10)).await?;
                Applied::Killed(target.container.clone())
            }
            Fault::Restart => {
                target.container.stop(Duration::from_secs(10)).await?;
                target.container.start().await?;
                active.faults.forget(&target.container).await?;
                Applied::Nothing
            }
            Fault::Pause => {
                target.container.pause().await?;
                Applied::Paused(target.container.clone())
            }
            Fault::Isolate => Applied::Net(
                active
                    .faults
                    .drop_between(&target.netns, &others, Direction::Both)
                    .await?,
            ),
            Fault::PartitionOneWay { .. } => {
                let to: Vec<Ipv4Addr> = peers.iter().map(|&p| targets[p].ip).collect();
                Applied::Net(
                    active
                        .faults
                        .drop_between(&target.netns, &to, Direction::Outbound)
                        .await?,
                )
            }
            Fault::Loss { probability } => {
                Applied::Net(active.faults.loss(&target.netns, *probability).await?)
            }
            Fault::Latency { delay_ms } => Applied::Net(
                active
                    .faults
                    .latency(&target.netns, Duration::from_millis(*delay_ms))
                    .await?,
            ),
            Fault::Bandwidth { bits_per_sec } => Applied::Net(
                active
                    .faults
                    .bandwidth(&target.netns, *bits_per_sec)
                    .await?,
            ),
            Fault::KillProcess { process } => Applied::Process(
                active
                    .procs
                    .kill_process(&target.container, process)
                    .await?,
                target.container.clone(),
            ),
        };
        if !entry.held {
            active.by_entry[i].push((target.name.clone(), applied));
        }
        ctx.fault_injected(&what, &format!("{} (schedule #{i})", target.name));
    }
    entry.injected_ms = Some(ms(start.elapsed()));
    ctx.step(format!(
        "schedule #{i}: {what} {} → {} in place at +{:.2} s (planned +{:.2} s, call {} ms)",
        entry.target,
        entry.resolved.join(","),
        start.elapsed().as_secs_f64(),
        entry.at_ms as f64 / 1000.0,
        began.elapsed().as_millis()
    ));
    Ok(())
}

async fn heal_entry(
    ctx: &CaseCtx,
    plan: &mut ExecutedSchedule,
    active: &mut Active,
    i: usize,
    start: Instant,
) -> Result<()> {
    let entry = &mut plan.entries[i];
    let what = describe(&entry.fault);
    let applied = std::mem::take(&mut active.by_entry[i]);
    if applied.is_empty() {
        return Ok(());
    }
    let mut first_err = None;
    for (name, a) in applied {
        match heal(&active.faults, &active.procs, a).await {
            Ok(()) => ctx.fault_healed(&what, &format!("{name} (schedule #{i})")),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    entry.healed_ms = Some(ms(start.elapsed()));
    if let Some(e) = first_err {
        entry.note = Some(format!("heal failed: {e}"));
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::schedule::{Entry, parse_scenario};

    const MESOS: &[(&str, &str)] = &[
        ("zk1", "zookeeper"),
        ("master1", "master"),
        ("master2", "master"),
        ("agent1", "agent"),
        ("agent2", "agent"),
    ];

    fn names(r: Result<Vec<usize>, String>) -> Result<Vec<&'static str>, String> {
        r.map(|v| v.into_iter().map(|i| MESOS[i].0).collect())
    }

    #[test]
    fn selectors_resolve_to_nodes() {
        let mut first = |_: usize| 0;
        let r = |s: &str, pick: &mut dyn FnMut(usize) -> usize| {
            names(resolve(s, MESOS, Some("master2"), pick))
        };
        assert_eq!(r("agent:2", &mut first), Ok(vec!["agent2"]));
        assert_eq!(r("agent:all", &mut first), Ok(vec!["agent1", "agent2"]));
        assert_eq!(r("leader", &mut first), Ok(vec!["master2"]));
        assert_eq!(r("name:zk1", &mut first), Ok(vec!["zk1"]));
        assert_eq!(
            r("name:agent2,master1", &mut first),
            Ok(vec!["agent2", "master1"])
        );
        // `<role>` is the seed's choice among that role's nodes.
        let mut seen = Vec::new();
        let mut asked = |n: usize| {
            seen.push(n);
            1
        };
        assert_eq!(r("agent", &mut asked), Ok(vec!["agent2"]));
        assert_eq!(seen, [2], "picked among the 2 agents");
    }

    #[test]
    fn selectors_that_cannot_resolve_say_why() {
        let mut first = |_: usize| 0;
        let e = resolve("agent:3", MESOS, None, &mut first).unwrap_err();
        assert!(e.contains("2 `agent` node(s)"), "{e}");
        let e = resolve("node", MESOS, None, &mut first).unwrap_err();
        assert!(
            e.contains("no node has role `node`") && e.contains("agent"),
            "{e}"
        );
        let e = resolve("name:node-9", MESOS, None, &mut first).unwrap_err();
        assert!(e.contains("`node-9`"), "{e}");
        let e = resolve("leader", MESOS, None, &mut first).unwrap_err();
        assert!(e.contains("no leader"), "{e}");
    }

    #[test]
    fn a_schedule_is_checked_against_a_topology_before_it_runs() {
        let text = "name = \"x\"\n[[fault]]\nat = \"1s\"\nkind = \"pause\"\ntarget = \"node:1\"\n";
        let s = parse_scenario(std::path::Path::new("x.toml"), text).unwrap();
        let e = check(&s, MESOS, Some("master1")).unwrap_err();
        assert!(matches!(e, Error::Usage(_)));
        assert!(e.to_string().contains("fault[0].target `node:1`"), "{e}");
        let text = "name = \"y\"\n[[fault]]\nat = \"1s\"\nkind = \"partition-one-way\"\ntarget = \"agent:1\"\nto = \"leader\"\n";
        let s = parse_scenario(std::path::Path::new("y.toml"), text).unwrap();
        check(&s, MESOS, Some("master1")).unwrap();
        let e = check(&s, MESOS, None).unwrap_err();
        assert!(
            e.to_string().contains("fault[0].to `leader`: no leader"),
            "{e}"
        );
    }

    fn executed() -> ExecutedSchedule {
        let schedule = Schedule {
            name: "two faults".into(),
            seed: Some(42),
            entries: vec![
                Entry {
                    at_ms: 2_000,
                    fault: Fault::Pause,
                    target: "agent".into(),
                    duration_ms: Some(5_000),
                },
                Entry {
                    at_ms: 4_000,
                    fault: Fault::PartitionOneWay {
                        to: "leader".into(),
                    },
                    target: "agent:1".into(),
                    duration_ms: None,
                },
            ],
        };
        let mut e = ExecutedSchedule::plan(&schedule, "mesos");
        e.started = Some("2026-12-07T00:00:00Z".into());
        e.entries[0].resolved = vec!["agent2".into()];
        e.entries[0].injected_ms = Some(2_031);
        e.entries[0].healed_ms = Some(7_012);
        e.entries[1].resolved = vec!["agent1".into()];
        e.entries[1].resolved_to = vec!["master2".into()];
        e.entries[1].injected_ms = Some(4_050);
        e.entries[1].healed_ms = Some(7_020);
        e
    }

    #[test]
    fn an_executed_schedule_round_trips_through_json() {
        let e = executed();
        let json = serde_json::to_string(&e).unwrap();
        let back: ExecutedSchedule = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["entries"][0]["fault"]["kind"], "pause");
        assert_eq!(v["entries"][0]["resolved"][0], "agent2");
        assert_eq!(v["entries"][1]["fault"]["to"], "leader");
        assert_eq!(v["entries"][1]["resolved_to"][0], "master2");
        assert!(v["entries"][0].get("held").is_none(), "false is left out");
        assert_eq!(e.span(), Duration::from_secs(7));
    }

    #[test]
    fn a_replan_keeps_the_resolved_nodes_and_drops_the_times() {
        let mut e = executed();
        e.entries[1].note = Some("heal failed: x".into());
        let plan = e.replan();
        assert_eq!(plan.planned(), e.planned(), "same entries, same nodes");
        assert!(plan.started.is_none());
        assert!(
            plan.entries
                .iter()
                .all(|x| x.injected_ms.is_none() && x.healed_ms.is_none() && x.note.is_none())
        );
        let fresh = ExecutedSchedule::plan(
            &Schedule {
                name: e.name.clone(),
                seed: e.seed,
                entries: Vec::new(),
            },
            "mesos",
        );
        assert!(fresh.entries.is_empty());
    }

    #[test]
    fn faults_are_described_for_the_timeline() {
        assert_eq!(describe(&Fault::Loss { probability: 0.3 }), "loss 30%");
        assert_eq!(
            describe(&Fault::Latency { delay_ms: 120 }),
            "latency 120 ms"
        );
        assert_eq!(describe(&Fault::Isolate), "isolate");
        assert_eq!(
            describe(&Fault::Bandwidth {
                bits_per_sec: 1_000_000
            }),
            "bandwidth 1mbit"
        );
        assert_eq!(
            describe(&Fault::KillProcess {
                process: "mesos-agent".into()
            }),
            "kill-process mesos-agent"
        );
    }
}
