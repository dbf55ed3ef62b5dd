//! Fault schedules run against whole clusters: the schedule (a scenario file, the recorded one
//! of a replay, or one drawn from the run's seed) is executed by [`ordeal::fault::exec`], and
//! after its last heal the cluster must recover within a window computed from its live flags.
//!
//! The backend of a scenario file is inferred from the roles and names its selectors use
//! ([`case_for`]): `node`, `etcd`, `apiserver`... are Kubernetes; `agent`, `master`,
//! `zookeeper` and `leader` are Mesos.
//!
//! # Known limitations
//! - Only the end state is judged (after the last heal); what the cluster did while a fault
//!   was on is in the timeline, not checked.
//! - A Kubernetes node container started again (a scenario's `kill` or `stop`) lacks the
//!   overlay routes its bring-up added, so the seeded Kubernetes mix does not kill nodes.
//! - A replayed `leader` entry hits the master that led in the recorded run, whoever leads now.

use std::{
    net::Ipv4Addr,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use ordeal::{
    Error,
    check::{CaseError, Observed, eventually, settles},
    cluster::{
        kubernetes::{KubeCluster, node_name, node_ready},
        mesos::{AgentMode, MesosCluster, MesosConfig},
    },
    fault::{
        exec::{self, ExecutedEntry, ExecutedSchedule, Target},
        schedule::{Fault, GenSpec, Schedule, generate},
    },
    run::{Case, CaseCtx, ScheduleInput},
    runtime::Container,
};

use super::{kubernetes as kube, mesos};

/// The Kubernetes case.
pub const KUBERNETES_CASE: &str = "chaos::scenario::kubernetes_recovers_after_schedule";
/// The Mesos case.
pub const MESOS_CASE: &str = "chaos::scenario::mesos_recovers_after_schedule";

/// The nodes of the Kubernetes case's cluster (name, role), in target order.
pub const KUBERNETES_NODES: &[(&str, &str)] = &[
    ("etcd", "etcd"),
    ("apiserver", "apiserver"),
    ("controller-manager", "controller-manager"),
    ("scheduler", "scheduler"),
    ("node-1", "node"),
    ("node-2", "node"),
];

/// The nodes of the Mesos case's cluster (name, role), in target order.
pub const MESOS_NODES: &[(&str, &str)] = &[
    ("zk1", "zookeeper"),
    ("master1", "master"),
    ("master2", "master"),
    ("master3", "master"),
    ("agent1", "agent"),
    ("agent2", "agent"),
];

/// The Deployment of the Kubernetes case, and its size.
const APP: &str = "sched";
const REPLICAS: usize = 4;

/// Both cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            KUBERNETES_CASE,
            "a fault schedule (--scenario FILE, the recorded one on replay, else drawn from the seed: pauses, isolations, loss and latency on the nodes over 30 s) runs against 2 nodes and a 4-replica Deployment; within the kubelet heartbeat (live Lease / 4) + node-monitor-period (live) + 40 s of the last heal, every node is Ready with its Lease renewed after the heal and the 4 replicas Running",
            kubernetes_recovers,
        )
        .images(kube::IMAGES)
        .timeout(Duration::from_secs(420))
        .control("after the schedule node-2 is killed and never started again")
        .source("CHECKS.md K-N1, K-N4; Jepsen (generated nemesis schedules, checked after the final heal)"),
        Case::new(
            MESOS_CASE,
            "a fault schedule (--scenario FILE, the recorded one on replay, else drawn from the seed: kills, pauses, isolations, loss and latency of agents and the leader over 30 s) runs against 1 ZooKeeper, 3 masters and 2 sandboxed agents with a checkpointing, partition-aware framework running a task on each agent; within zk_session_timeout + the agent ping window (live flags) + 75 s of the last heal a master leads with every agent active, holding for one more ping window, then the framework re-subscribes with its id within 30 s and RECONCILE answers TASK_RUNNING for both tasks within 60 s",
            mesos_recovers,
        )
        .images(mesos::IMAGES_WITH_FAULTS)
        .timeout(Duration::from_secs(420))
        .control("after the schedule agent 2's container is killed and never started again")
        .source("CHECKS.md M-P2, M-F1; Jepsen (generated nemesis schedules, checked after the final heal)"),
    ]
}

/// Which case runs `schedule`, from the roles and names its selectors use; the schedule is
/// checked against that case's nodes. Errors are usage errors (exit 2).
pub fn case_for(schedule: &Schedule) -> Result<&'static str, Error> {
    let mut selectors: Vec<&str> = Vec::new();
    for e in &schedule.entries {
        selectors.push(&e.target);
        if let Fault::PartitionOneWay { to } = &e.fault {
            selectors.push(to);
        }
    }
    // `leader` is the leading Mesos master; Kubernetes here has one of each component.
    let fits = |nodes: &[(&str, &str)], has_leader: bool, s: &str| {
        if s == "leader" {
            return has_leader;
        }
        match s.split_once(':') {
            Some(("name", names)) => names.split(',').all(|n| nodes.iter().any(|(m, _)| *m == n)),
            other => {
                let role = other.map_or(s, |(r, _)| r);
                nodes.iter().any(|(_, r)| *r == role)
            }
        }
    };
    let kube = selectors.iter().all(|s| fits(KUBERNETES_NODES, false, s));
    let mesos = selectors.iter().all(|s| fits(MESOS_NODES, true, s));
    let (case, nodes, leader) = match (kube, mesos) {
        (true, false) => (KUBERNETES_CASE, KUBERNETES_NODES, None),
        (false, true) => (MESOS_CASE, MESOS_NODES, Some("master1")),
        (true, true) => {
            return Err(Error::usage(format!(
                "schedule `{}`: cannot tell Kubernetes from Mesos (hint: aim a fault at a role: node, apiserver... or agent, master...)",
                schedule.name
            )));
        }
        (false, false) => {
            let roles = |nodes: &[(&str, &str)]| {
                let mut r: Vec<&str> = nodes.iter().map(|(_, r)| *r).collect();
                r.dedup();
                r.join(", ")
            };
            return Err(Error::usage(format!(
                "schedule `{}`: its targets fit neither cluster (Kubernetes roles: {}; Mesos roles: {} and `leader`; or name:<node>)",
                schedule.name,
                roles(KUBERNETES_NODES),
                roles(MESOS_NODES)
            )));
        }
    };
    exec::check(schedule, nodes, leader)?;
    Ok(case)
}

/// What the case runs: the replayed schedule, the scenario, or one drawn from the case's seeded
/// stream (drawn in every case, so the stream's later choices do not depend on the source).
fn plan(ctx: &CaseCtx, backend: &str, spec: &GenSpec) -> Result<ExecutedSchedule, CaseError> {
    let seed = ctx.random_u64();
    let mut plan = match ctx.schedule_input() {
        Some(ScheduleInput::Replay(executed)) => return Ok(executed.replan()),
        Some(ScheduleInput::Scenario(s)) => ExecutedSchedule::plan(s, backend),
        None => ExecutedSchedule::plan(&generate(seed, spec)?, backend),
    };
    if ctx.negative_control() {
        // Broken on purpose: a worker killed after everything else and never started again.
        let worker = if backend == "kubernetes" {
            "node:2"
        } else {
            "agent:2"
        };
        plan.entries.push(ExecutedEntry {
            at_ms: u64::try_from(plan.span().as_millis()).unwrap_or(u64::MAX),
            fault: Fault::Kill,
            target: worker.into(),
            duration_ms: None,
            resolved: Vec::new(),
            resolved_to: Vec::new(),
            held: true,
            injected_ms: None,
            healed_ms: None,
            note: None,
        });
    }
    Ok(plan)
}

/// Short schedules: a fault every 8-15 s for 30 s, each held 4-12 s.
fn spec(mix: Vec<(&'static str, u32)>, targets: &[&str]) -> GenSpec {
    GenSpec {
        length: Duration::from_secs(30),
        gap: (Duration::from_secs(8), Duration::from_secs(15)),
        hold: (Duration::from_secs(4), Duration::from_secs(12)),
        mix,
        targets: targets.iter().map(|t| (*t).to_owned()).collect(),
    }
}

/// The seeded mix for Kubernetes: no kill (a node container started again loses the overlay
/// routes its bring-up added), so pauses, isolations, loss and latency of the nodes.
fn kubernetes_spec() -> GenSpec {
    spec(
        vec![("pause", 2), ("isolate", 2), ("loss", 1), ("latency", 1)],
        &["node"],
    )
}

/// The seeded mix for Mesos: agents and the leader (never ZooKeeper: a leading master whose
/// session is lost exits, and nothing would start it again).
fn mesos_spec() -> GenSpec {
    spec(
        vec![
            ("kill", 1),
            ("pause", 2),
            ("isolate", 2),
            ("loss", 1),
            ("latency", 1),
        ],
        &["agent", "leader"],
    )
}

async fn target(
    name: &str,
    role: &str,
    container: &Arc<Container>,
    netns: &Arc<Container>,
    ip: Option<Ipv4Addr>,
    network: &str,
) -> Result<Target, CaseError> {
    let ip = match ip {
        Some(ip) => ip,
        None => netns.ip(network).await?,
    };
    Ok(Target {
        name: name.into(),
        role: role.into(),
        container: container.clone(),
        netns: netns.clone(),
        ip,
    })
}

/// When the last heal was done: now, minus nothing (the executor returns after it).
fn healed_at() -> (Instant, SystemTime) {
    (Instant::now(), SystemTime::now())
}

fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Every node's Lease `renewTime`, by node name.
async fn lease_renewals(
    cluster: &KubeCluster,
) -> ordeal::Result<Vec<(String, Option<time::OffsetDateTime>)>> {
    let out = cluster
        .kubectl(&["get", "leases", "-n", "kube-node-lease", "-o", "json"])
        .await?;
    if !out.success() {
        return Err(Error::infra(out.summary()));
    }
    let v: serde_json::Value = serde_json::from_str(&out.stdout)
        .map_err(|e| Error::infra(format!("kubectl get leases: not JSON: {e}")))?;
    Ok(v["items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|l| {
            (
                l["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                l["spec"]["renewTime"].as_str().and_then(|t| {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .ok()
                }),
            )
        })
        .collect())
}

async fn kubernetes_recovers(ctx: CaseCtx) -> Result<(), CaseError> {
    let plan = plan(&ctx, "kubernetes", &kubernetes_spec())?;
    let cluster = KubeCluster::start(&ctx, 2, kube::CHAOS_TIMINGS).await?;
    // Tolerations far beyond the case: the schedule's faults must not evict anything.
    cluster
        .apply(&kube::deployment(&ctx, APP, REPLICAS as u32, 600)?)
        .await?;
    eventually(
        &format!("{REPLICAS} {APP} replicas Running"),
        Duration::from_secs(90),
        kube::POLL,
        || async {
            let n: usize = kube::running_per_node(&kube::pods(&cluster, APP).await?)
                .values()
                .sum();
            Ok(if n == REPLICAS {
                Observed::Holds(())
            } else {
                Observed::Not(format!("{n} Running"))
            })
        },
    )
    .await?;
    let live = cluster.live_timings().await?;
    let (renew, renew_from) = kube::heartbeat_interval(&cluster, "node-2").await?;
    let window = renew + live.node_monitor_period + 2 * kube::SLACK;
    ctx.step(format!(
        "live: node-monitor-grace-period {:?}, node-monitor-period {:?}, kubelet heartbeat {renew:?} ({renew_from}); recovery window {window:?}",
        live.node_monitor_grace_period, live.node_monitor_period
    ));
    let net = &cluster.network;
    let c = &cluster;
    let mut targets = vec![
        target("etcd", "etcd", &c.etcd, &c.etcd, None, net).await?,
        target(
            "apiserver",
            "apiserver",
            &c.apiserver,
            &c.apiserver,
            None,
            net,
        )
        .await?,
        target(
            "controller-manager",
            "controller-manager",
            &c.controller_manager,
            &c.controller_manager,
            None,
            net,
        )
        .await?,
        target(
            "scheduler",
            "scheduler",
            &c.scheduler,
            &c.scheduler,
            None,
            net,
        )
        .await?,
    ];
    for (i, node) in c.nodes.iter().enumerate() {
        targets.push(
            target(
                &format!("node-{}", i + 1),
                "node",
                node,
                node,
                c.node_ips.get(i).copied(),
                net,
            )
            .await?,
        );
    }
    // No leader: one of each control-plane component (`leader` selectors are Mesos only).
    exec::execute(&ctx, plan, &targets, || async { None }).await?;
    let (healed, healed_wall) = healed_at();
    let heal_text = rfc3339(healed_wall);
    let ready = eventually(
        &format!(
            "every node Ready with its Lease renewed after the last heal ({heal_text}) and {REPLICAS} {APP} replicas Running (window: heartbeat {renew:?} + node-monitor-period {:?} + {:?} slack)",
            live.node_monitor_period,
            2 * kube::SLACK
        ),
        window,
        kube::POLL,
        || async {
            let mut seen = Vec::new();
            let mut ok = true;
            let leases = lease_renewals(&cluster).await?;
            // Both nodes in one list call through the client, not a kubectl exec per node.
            let nodes = cluster.nodes_status().await?;
            for name in ["node-1", "node-2"] {
                let ready = nodes
                    .iter()
                    .find(|n| node_name(n) == name)
                    .map_or("missing", node_ready);
                let renewed = leases
                    .iter()
                    .find(|(n, _)| n == name)
                    .and_then(|(_, t)| *t);
                let after = renewed.is_some_and(|t| t > time::OffsetDateTime::from(healed_wall));
                ok &= ready == "True" && after;
                seen.push(format!(
                    "{name} Ready={ready}, Lease renewed {}",
                    renewed.map_or_else(
                        || "never".to_owned(),
                        |t| rfc3339(SystemTime::from(t))
                    )
                ));
            }
            let pods = kube::pods(&cluster, APP).await?;
            let per = kube::running_per_node(&pods);
            let n: usize = per.values().sum();
            ok &= n == REPLICAS;
            seen.push(format!("{n} of {REPLICAS} replicas Running {per:?}"));
            Ok(if ok {
                Observed::Holds(healed.elapsed())
            } else {
                Observed::Not(seen.join("; "))
            })
        },
    )
    .await?;
    ctx.step(format!(
        "last heal → every node Ready and renewed, Deployment whole: {:.2} s",
        ready.as_secs_f64()
    ));
    ctx.check_passed("the cluster recovered after the schedule");
    Ok(())
}

async fn mesos_recovers(ctx: CaseCtx) -> Result<(), CaseError> {
    let plan = plan(&ctx, "mesos", &mesos_spec())?;
    let config = MesosConfig {
        masters: 3,
        agent_mode: AgentMode::Sandboxed,
        ..mesos::config()
    };
    let cluster = MesosCluster::start_config(&ctx, &config).await?;
    let (leader, op) = cluster
        .leader()
        .await
        .ok_or_else(|| CaseError::infra("no leader"))?;
    // One GET_FLAGS for both windows.
    let flags = op.flags().await?;
    let pings = mesos::Pings::from_flags(&flags).map_err(CaseError::Infra)?;
    let (session, _) = mesos::zk_session_timeout(&flags).map_err(CaseError::Infra)?;
    let window = session + pings.unreachable_window() + mesos::REREGISTER_WINDOW;
    let window_text = format!(
        "zk_session_timeout {session:?} (live) + {} + re-registration {:?} = {window:?}",
        pings.describe(),
        mesos::REREGISTER_WINDOW
    );
    ctx.step(format!("recovery window: {window_text}"));
    let mut ha = mesos::HaTasks::launch(&ctx, &cluster, leader, "schedule").await?;

    let net = &cluster.network;
    let zk = &cluster.zookeepers[0];
    let mut targets = vec![target("zk1", "zookeeper", zk, zk, None, net).await?];
    for (i, (m, _)) in cluster.masters.iter().enumerate() {
        let name = format!("master{}", i + 1);
        targets.push(
            target(
                &name,
                "master",
                m,
                m,
                cluster.master_ips.get(i).copied(),
                net,
            )
            .await?,
        );
    }
    for (i, a) in cluster.agents.iter().enumerate() {
        let netns = cluster.sandboxes.get(i).unwrap_or(a);
        let name = format!("agent{}", i + 1);
        targets.push(
            target(
                &name,
                "agent",
                a,
                netns,
                cluster.agent_ips.get(i).copied(),
                net,
            )
            .await?,
        );
    }
    let cluster_ref = &cluster;
    exec::execute(&ctx, plan, &targets, || async move {
        cluster_ref
            .leader()
            .await
            .map(|(i, _)| format!("master{}", i + 1))
    })
    .await?;
    let (healed, _) = healed_at();
    let agents = cluster.agents.len();
    let stay = pings.unreachable_window();
    let leader = std::sync::Mutex::new(None);
    let began = settles(
        &format!(
            "a leading master with all {agents} agents active ({window_text} of the last heal), holding for one ping window ({})",
            pings.describe()
        ),
        window,
        stay,
        mesos::POLL,
        || async {
            Ok(match cluster.leader().await {
                Some((i, op)) => match op.agents().await {
                    Ok(a) if a.iter().filter(|a| a.active).count() == agents => {
                        *leader.lock().expect("leader lock") = Some(i);
                        Observed::Holds(())
                    }
                    Ok(a) => Observed::Not(format!(
                        "master{} leads; {} of {agents} agents active: {}",
                        i + 1,
                        a.iter().filter(|a| a.active).count(),
                        a.iter()
                            .map(|a| format!("{} active={}", a.agent_info.hostname, a.active))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    Err(e) => Observed::Not(format!("master{} leads; GET_AGENTS: {e}", i + 1)),
                },
                None => Observed::Not("no master leads".into()),
            })
        },
    )
    .await?;
    let leader = leader
        .into_inner()
        .expect("leader lock")
        .ok_or_else(|| CaseError::infra("no leader recorded"))?;
    ctx.step(format!(
        "last heal → master{} leads with every agent active: {:.2} s (and for {stay:?} after)",
        leader + 1,
        began.as_secs_f64()
    ));
    ctx.check_passed("a leader with every agent active, stable for one ping window");
    ha.resubscribe(&cluster, leader, mesos::RESUBSCRIBE_WINDOW)
        .await?;
    ctx.step(format!(
        "last heal → framework {} re-subscribed to master{}: {:.2} s",
        ha.framework_id.value,
        leader + 1,
        healed.elapsed().as_secs_f64()
    ));
    mesos::reconciled_running(
        &format!(
            "TASK_RUNNING (REASON_RECONCILIATION) for both tasks from master{} in answer to RECONCILE, within {:?} of the re-subscription",
            leader + 1,
            mesos::RECONCILE_WINDOW
        ),
        mesos::RECONCILE_WINDOW,
        &ha,
        false,
        healed,
    )
    .await?
    .map_err(|bad| CaseError::failed(bad.join(", ")))?;
    ctx.step(format!(
        "last heal → RECONCILE answered TASK_RUNNING for both tasks: {:.2} s",
        healed.elapsed().as_secs_f64()
    ));
    ctx.check_passed("the framework re-subscribed and both tasks are TASK_RUNNING");
    drop(ha);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use ordeal::fault::schedule::parse_scenario;

    use super::*;

    fn scenario(targets: &[&str]) -> Schedule {
        let faults: String = targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                format!(
                    "[[fault]]\nat = \"{}s\"\nkind = \"pause\"\ntarget = \"{t}\"\n",
                    i + 1
                )
            })
            .collect();
        let text = format!("name = \"t\"\n{faults}");
        parse_scenario(Path::new("t.toml"), &text).unwrap()
    }

    #[test]
    fn the_backend_comes_from_the_targets() {
        assert_eq!(
            case_for(&scenario(&["node:2", "node"])).unwrap(),
            KUBERNETES_CASE
        );
        assert_eq!(
            case_for(&scenario(&["agent", "leader"])).unwrap(),
            MESOS_CASE
        );
        assert_eq!(case_for(&scenario(&["name:master3"])).unwrap(), MESOS_CASE);
        assert_eq!(
            case_for(&scenario(&["apiserver"])).unwrap(),
            KUBERNETES_CASE
        );
        assert_eq!(case_for(&scenario(&["leader"])).unwrap(), MESOS_CASE);
        let e = case_for(&scenario(&["name:node-9"])).unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{e}");
        assert_eq!(
            case_for(&scenario(&["name:scheduler", "etcd:1"])).unwrap(),
            KUBERNETES_CASE
        );
        let e = case_for(&scenario(&["node:1", "leader"])).unwrap_err();
        assert!(e.to_string().contains("fit neither"), "{e}");
        let e = case_for(&scenario(&["agent", "node"])).unwrap_err();
        assert!(e.to_string().contains("fit neither"), "{e}");
        let e = case_for(&scenario(&["agent:3"])).unwrap_err();
        assert!(e.to_string().contains("fault[0].target `agent:3`"), "{e}");
    }

    #[test]
    fn the_example_scenarios_pick_their_case() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        for (file, case) in [
            ("agent-partition.toml", MESOS_CASE),
            ("leader-failover.toml", MESOS_CASE),
            ("node-pause.toml", KUBERNETES_CASE),
            ("agent-process-and-slow-link.toml", MESOS_CASE),
            ("leader-cut-from-zookeeper.toml", MESOS_CASE),
            ("etcd-killed.toml", KUBERNETES_CASE),
        ] {
            let s = ordeal::fault::schedule::load_scenario(&dir.join(file)).unwrap();
            assert_eq!(case_for(&s).unwrap(), case, "{file}");
        }
    }

    #[test]
    fn seeded_schedules_are_short_and_fit_their_cluster() {
        for seed in 0..50 {
            let k = generate(seed, &kubernetes_spec()).unwrap();
            assert_eq!(case_for(&k).unwrap(), KUBERNETES_CASE);
            assert!(k.span() <= Duration::from_secs(42), "{:?}", k.span());
            let m = generate(seed, &mesos_spec()).unwrap();
            assert!(m.span() <= Duration::from_secs(42), "{:?}", m.span());
            assert!(!m.entries.is_empty() && !k.entries.is_empty());
            exec::check(&m, MESOS_NODES, Some("master1")).unwrap();
        }
    }

    #[test]
    fn both_cases_have_a_control() {
        for c in cases() {
            assert!(c.control.is_some(), "{}", c.name);
            assert!(c.images.iter().any(|i| i == "fault-helper"), "{}", c.name);
        }
    }
}
