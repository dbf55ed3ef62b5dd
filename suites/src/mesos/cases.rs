//! The Mesos cases.

use std::{collections::BTreeMap, time::Duration};

use ordeal::{
    check::{CaseError, Observed, eventually},
    cluster::mesos::{
        MesosCluster, MesosConfig, MesosTarget, Scheduler,
        api::{EventType, FrameworkInfo, scalar_sum},
    },
    run::{Case, CaseCtx},
};

const IMAGES: &[&str] = &["mesos", "zookeeper"];
const POLL: Duration = Duration::from_millis(300);

/// Every Mesos case.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "mesos::offers::subscribed_framework_is_offered_every_agents_resources",
            "a framework that subscribes is offered, within seconds, the unreserved cpus and mem every agent advertises",
            offers,
        )
        .control("the agents advertise 0.5 cpus instead of 2")
        .source("CHECKS.md M-O1; src/tests/hierarchical_allocator_tests.cpp; docs/configuration/master.md"),
        Case::new(
            "mesos::failover::killing_the_leader_elects_a_new_one_and_the_framework_reregisters",
            "with 3 masters over a 3-server ZooKeeper ensemble, SIGKILL of the leader elects another master within zk_session_timeout + 30 s, every agent re-registers, and the framework re-subscribes with its id",
            failover,
        )
        .control("the kill is aimed at a standby master")
        .source("CHECKS.md M-F1; src/tests/fault_tolerance_tests.cpp MasterFailover; docs/high-availability.md"),
    ]
    .into_iter()
    .chain(super::tasks::cases())
    .map(|c| c.images(IMAGES).timeout(Duration::from_secs(300)).smoke())
    // These mark their own smoke cases.
    .chain(
        super::scheduling::cases()
            .into_iter()
            .chain(super::health::cases())
            .map(|c| c.images(IMAGES).timeout(Duration::from_secs(300))),
    )
    .chain(super::resources::cases())
    .collect()
}

fn framework(failover_timeout: f64) -> FrameworkInfo {
    FrameworkInfo {
        user: "root".into(),
        name: "ordeal".into(),
        id: None,
        roles: vec![],
        failover_timeout: Some(failover_timeout),
        checkpoint: Some(true),
        capabilities: vec![],
    }
}

async fn offers(ctx: CaseCtx) -> Result<(), CaseError> {
    let resources = if ctx.negative_control() {
        "cpus:0.5;mem:1024;disk:4096"
    } else {
        "cpus:2;mem:1024;disk:4096"
    };
    let cluster = MesosCluster::start_with(&ctx, 1, 2, resources).await?;
    let target = cluster.target("ordeal").await?;
    let offered = offers_from_every_agent(&ctx, &target, Duration::from_secs(15)).await?;
    for (agent, o) in &offered {
        if (o.cpus - 2.0).abs() > 1e-6 || (o.mem - 1024.0).abs() > 1e-6 {
            return Err(CaseError::failed(format!(
                "expected agent {agent} to be offered cpus 2 and mem 1024 (what it advertises); offered cpus {}, mem {}",
                o.cpus, o.mem
            )));
        }
    }
    ctx.check_passed("both agents' cpus:2 and mem:1024 offered");
    Ok(())
}

/// What one agent offered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Offered {
    /// Offered cpus.
    pub cpus: f64,
    /// Offered mem (MB).
    pub mem: f64,
    /// What the agent advertises (`GET_AGENTS`): cpus and mem.
    pub advertised: (f64, f64),
}

/// A framework that subscribes (the target's name and role) is offered resources of every
/// agent the leader lists active, within `window`; returns what each agent offered, by agent
/// hostname. Fails if no agent is active. The framework is torn down before returning.
pub(crate) async fn offers_from_every_agent(
    ctx: &CaseCtx,
    target: &MesosTarget,
    window: Duration,
) -> Result<BTreeMap<String, Offered>, CaseError> {
    let agents: BTreeMap<String, (String, (f64, f64))> = target
        .operator()
        .agents()
        .await?
        .into_iter()
        .filter(|a| a.active)
        .filter_map(|a| {
            let r = &a.agent_info.resources;
            let advertised = (scalar_sum(r, "cpus"), scalar_sum(r, "mem"));
            Some((a.agent_info.id?.value, (a.agent_info.hostname, advertised)))
        })
        .collect();
    if agents.is_empty() {
        return Err(CaseError::failed(
            "expected at least one active agent to offer resources; the leader lists none",
        ));
    }
    let (sched, mut events) =
        Scheduler::subscribe(target.url(), &target.framework_info(false, 0.0, &[])).await?;
    ctx.step(format!(
        "framework {} subscribed; {} active agent(s)",
        sched.framework_id.value,
        agents.len()
    ));
    let mut offered: BTreeMap<String, Offered> = BTreeMap::new();
    let _ = tokio::time::timeout(window, async {
        while offered.len() < agents.len() {
            match events.next().await {
                Ok(Some(e)) if e.kind == EventType::Offers => {
                    for o in e.offers.map(|o| o.offers).unwrap_or_default() {
                        let Some((host, advertised)) = agents.get(&o.agent_id.value) else {
                            continue;
                        };
                        let r = &o.resources;
                        offered.insert(
                            host.clone(),
                            Offered {
                                cpus: scalar_sum(r, "cpus"),
                                mem: scalar_sum(r, "mem"),
                                advertised: *advertised,
                            },
                        );
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    })
    .await;
    let _ = sched.teardown().await;
    if offered.len() < agents.len() {
        let hosts: Vec<&String> = agents.values().map(|(h, _)| h).collect();
        return Err(CaseError::failed(format!(
            "expected offers from every active agent {hosts:?} within {window:?}; got {offered:?}"
        )));
    }
    ctx.step(format!("offered: {offered:?}"));
    Ok(offered)
}

async fn failover(ctx: CaseCtx) -> Result<(), CaseError> {
    // The highly available layout: a 3-server ZooKeeper ensemble under the 3 masters.
    let config = MesosConfig {
        zookeepers: 3,
        ..MesosConfig::new(3, 2)
    };
    let cluster = MesosCluster::start_config(&ctx, &config).await?;
    let (old, op) = cluster
        .leader()
        .await
        .ok_or_else(|| CaseError::infra("no leader"))?;
    let session = op
        .flag("zk_session_timeout")
        .await?
        .unwrap_or_else(|| "10secs".into());
    let session =
        ordeal::cluster::mesos::api::parse_duration(&session).unwrap_or(Duration::from_secs(10));
    let window = session + Duration::from_secs(30);
    ctx.step(format!(
        "leader is master{}; live zk_session_timeout {session:?}; window {window:?}",
        old + 1
    ));
    let (sched, _events) = Scheduler::subscribe(&cluster.masters[old].1, &framework(300.0)).await?;
    let framework_id = sched.framework_id.clone();
    ctx.step(format!("framework {} subscribed", framework_id.value));

    let victim = if ctx.negative_control() {
        (old + 1) % 3
    } else {
        old
    };
    cluster.masters[victim].0.kill("SIGKILL").await?;
    ctx.fault_injected("kill", &format!("master{}", victim + 1));

    let new = eventually("another master to lead", window, POLL, || async {
        Ok(match cluster.leader().await {
            Some((i, _)) if i != old => Observed::Holds(i),
            Some((i, _)) => Observed::Not(format!("master{} still leads", i + 1)),
            None => Observed::Not("no leader".into()),
        })
    })
    .await?;
    ctx.check_passed(&format!("master{} leads", new + 1));
    eventually(
        "both agents to re-register with the new leader",
        Duration::from_secs(60),
        POLL,
        || async {
            let agents = cluster.agents().await?;
            let active = agents.iter().filter(|a| a.active).count();
            Ok(if active == 2 {
                Observed::Holds(())
            } else {
                Observed::Not(format!("{active} active agents"))
            })
        },
    )
    .await?;
    ctx.check_passed("agents re-registered");
    let mut info = framework(300.0);
    info.id = Some(framework_id.clone());
    let url = cluster.masters[new].1.clone();
    let (again, _events) = Scheduler::subscribe_within(
        "the framework to re-subscribe with its id",
        &url,
        &info,
        Duration::from_secs(30),
        POLL,
    )
    .await?;
    if again.framework_id != framework_id {
        return Err(CaseError::failed(format!(
            "expected the framework to keep id {}; the new leader gave {}",
            framework_id.value, again.framework_id.value
        )));
    }
    ctx.check_passed("framework re-subscribed with its id");
    Ok(())
}
