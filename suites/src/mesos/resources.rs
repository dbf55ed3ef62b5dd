//! Mesos resource-sharing cases: how the real hierarchical allocator of Mesos 1.11 divides one
//! agent between frameworks and roles (DRF, role weights, quota limits, dynamic reservations).
//!
//! Each case drives frameworks subscribed through the v1 scheduler API. A *greedy* framework
//! launches one `sleep 3600` task of [`TASK_CPUS`] cpus and [`TASK_MEM`] MB on every offer that
//! fits one, and hands the rest back unfiltered (`refuse_seconds: 0`), so each allocation round
//! gives one task's worth to the framework the allocator prefers; a *watching* framework
//! declines every offer unfiltered and records what it was offered. Windows are counted in
//! allocation rounds of the leader's live `--allocation_interval`.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use ordeal::{
    check::{CaseError, Observed, eventually},
    cluster::mesos::{
        MesosCluster, MesosError, MesosTarget, Operator, QuotaConfig, Scalar, Scheduler,
        SchedulerEvents, WeightInfo,
        api::{CommandInfo, EventType, Filters, Id, Offer, Resource, TaskInfo, scalar_sum},
    },
    run::{Case, CaseCtx},
};

const IMAGES: &[&str] = &["mesos", "zookeeper"];
const POLL: Duration = Duration::from_millis(300);
/// Cpus of every task a greedy framework launches.
const TASK_CPUS: f64 = 0.25;
/// Mem (MB) of every task: small, so cpus is every framework's dominant resource.
const TASK_MEM: f64 = 32.0;
/// Offers handed back unfiltered: re-offered at the next allocation round.
const UNFILTERED: Filters = Filters {
    refuse_seconds: Some(0.0),
};

/// Every resource-sharing case.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "mesos::resources::quota_limit_is_never_exceeded",
            "with UPDATE_QUOTA limiting role q to 1 cpu on a 4-cpu agent, a greedy framework in q launching on every offer holds 1 cpu of tasks and is never offered or allocated more than the limit over 8 further allocation rounds while 3 cpus stay free",
            quota,
        )
        .control("no quota is set for q (it then takes the whole agent)")
        .source("CHECKS.md M-D4; src/tests/hierarchical_allocator_tests.cpp \"QuotaProvidesLimit\"; docs/quota.md \"limits\"")
        .smoke(),
        Case::new(
            "mesos::resources::dynamic_reservation_is_offered_only_to_its_role",
            "after operator RESERVE_RESOURCES of 1 cpu and 256 MB of the agent for role a, a framework in role b is offered none of the reserved resources over 6 allocation rounds, and a framework in role a is offered all of them",
            reservation,
        )
        .control("the resources are reserved for role b instead of a")
        .source("CHECKS.md M-D6; src/tests/hierarchical_allocator_tests.cpp \"ReservedDRF\"; docs/reservation.md \"Offer::Operation::Reserve\"")
        .smoke(),
        Case::new(
            "mesos::resources::role_weights_divide_the_agent_in_proportion",
            "with UPDATE_WEIGHTS a=2, b=1, two greedy frameworks (one in each role) fill a 3-cpu agent with 0.25-cpu tasks split 2:1 (8 and 4 tasks, within one task)",
            |ctx| split(ctx, Split::Weights),
        )
        .control("the weights are not set (both roles at weight 1)")
        .source("CHECKS.md M-D3; src/tests/hierarchical_allocator_tests.cpp \"UpdateWeight\"; docs/weights.md"),
        Case::new(
            "mesos::resources::drf_gives_frameworks_of_one_role_an_equal_share",
            "two greedy frameworks in one role with equal demand fill a 3-cpu agent with 0.25-cpu tasks in equal shares (6 and 6, within one task)",
            |ctx| split(ctx, Split::Drf),
        )
        .control("the two frameworks are put in two roles weighted 3:1")
        .source("CHECKS.md M-D2; src/tests/hierarchical_allocator_tests.cpp \"SameShareFairness\"; docs/app-framework-development-guide.md (DRF)"),
    ]
    .into_iter()
    .map(|c| c.images(IMAGES).timeout(Duration::from_secs(300)))
    .collect()
}

/// The leader's live `--allocation_interval`: one allocation round.
async fn allocation_interval(ctx: &CaseCtx, op: &Operator) -> Result<Duration, CaseError> {
    let interval = super::scheduling::allocation_interval(op).await?;
    ctx.step(format!(
        "live allocation_interval: one allocation round is {interval:?}"
    ));
    Ok(interval)
}

/// What a framework does with its offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Demand {
    /// Launches one task on every offer it fits in; declines the others unfiltered.
    Greedy,
    /// Declines every offer unfiltered.
    Watch,
}

/// What one framework was offered and holds, as its event loop saw it.
#[derive(Debug, Clone, Default)]
struct Tally {
    /// Offers received.
    offers: u32,
    /// Tasks launched.
    launched: u32,
    /// Tasks launched and not known to have ended.
    live: u32,
    /// The most cpus it held at once: its live tasks plus an offer in hand.
    max_held_cpus: f64,
    /// The most reserved cpus one offer carried, by the role they are reserved for.
    reserved_cpus: BTreeMap<String, f64>,
    /// The most reserved mem one offer carried, by role.
    reserved_mem: BTreeMap<String, f64>,
    /// Terminal updates of its tasks (there should be none).
    ended: Vec<String>,
    /// Why its event stream ended, if it did.
    closed: Option<String>,
}

/// A subscribed framework in a role of its own, its offers handled by a background loop.
struct Framework {
    sched: Scheduler,
    tally: Arc<Mutex<Tally>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Framework {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Framework {
    /// Subscribes framework `name` in `role` at the master `url` (MULTI_ROLE) and starts its
    /// offer loop.
    async fn subscribe(
        ctx: &CaseCtx,
        url: &str,
        name: &str,
        role: &str,
        demand: Demand,
    ) -> Result<Self, CaseError> {
        // RESERVATION_REFINEMENT: offers carry reservations as `reservations` (the master
        // downgrades them to the pre-1.4 `role`/`reservation` fields for frameworks without it).
        let info = MesosTarget::new(url, name, Some(role)).framework_info(
            false,
            0.0,
            &["RESERVATION_REFINEMENT"],
        );
        let (sched, events) = Scheduler::subscribe(url, &info).await?;
        ctx.step(format!(
            "framework {name} ({}) subscribed in role {role}, {demand:?}",
            sched.framework_id.value
        ));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let reader = tokio::spawn(offer_loop(
            sched.clone(),
            events,
            demand,
            format!("{role}-{}", ctx.token()),
            tally.clone(),
        ));
        Ok(Self {
            sched,
            tally,
            reader,
        })
    }

    fn tally(&self) -> Tally {
        self.tally.lock().expect("tally lock").clone()
    }

    /// Ends the framework (its tasks are killed).
    async fn teardown(self) {
        self.reader.abort();
        let _ = self.sched.teardown().await;
    }
}

/// Unreserved scalar `name` of an offer.
fn unreserved(o: &Offer, name: &str) -> f64 {
    o.resources
        .iter()
        .filter(|r| r.name == name && r.reservations.is_empty())
        .filter_map(|r| r.scalar.map(|s| s.value))
        .sum()
}

/// Reserved scalar `name` of an offer, by the role it is reserved for.
fn reserved(o: &Offer, name: &str) -> BTreeMap<String, f64> {
    let mut by_role = BTreeMap::new();
    for r in o.resources.iter().filter(|r| r.name == name) {
        if let (Some(role), Some(s)) = (r.reserved_for(), r.scalar) {
            *by_role.entry(role.to_owned()).or_insert(0.0) += s.value;
        }
    }
    by_role
}

async fn offer_loop(
    sched: Scheduler,
    mut events: SchedulerEvents,
    demand: Demand,
    prefix: String,
    tally: Arc<Mutex<Tally>>,
) {
    let closed = loop {
        let e = match events.next().await {
            Ok(Some(e)) => e,
            Ok(None) => break "the master closed the event stream".to_owned(),
            Err(e) => break e.to_string(),
        };
        if let Some(u) = e.update {
            let _ = sched.acknowledge(&u.status).await;
            if u.status.state.is_terminal() {
                let mut t = tally.lock().expect("tally lock");
                t.live = t.live.saturating_sub(1);
                t.ended.push(format!(
                    "{} {:?} {:?}",
                    u.status.task_id.value, u.status.state, u.status.message
                ));
            }
            continue;
        }
        if e.kind != EventType::Offers {
            continue;
        }
        for o in e.offers.map(|o| o.offers).unwrap_or_default() {
            let launch = {
                let mut t = tally.lock().expect("tally lock");
                t.offers += 1;
                let held = f64::from(t.live) * TASK_CPUS + scalar_sum(&o.resources, "cpus");
                t.max_held_cpus = t.max_held_cpus.max(held);
                for (role, v) in reserved(&o, "cpus") {
                    let m = t.reserved_cpus.entry(role).or_insert(0.0);
                    *m = m.max(v);
                }
                for (role, v) in reserved(&o, "mem") {
                    let m = t.reserved_mem.entry(role).or_insert(0.0);
                    *m = m.max(v);
                }
                let fits = unreserved(&o, "cpus") >= TASK_CPUS - 1e-9
                    && unreserved(&o, "mem") >= TASK_MEM - 1e-9;
                if demand == Demand::Greedy && fits {
                    t.launched += 1;
                    t.live += 1;
                    Some(t.launched)
                } else {
                    None
                }
            };
            let result = match launch {
                Some(n) => {
                    // A MULTI_ROLE framework says which role each resource it uses was
                    // offered to.
                    let allocation = o
                        .allocation_info
                        .clone()
                        .or_else(|| o.resources.iter().find_map(|r| r.allocation_info.clone()));
                    let resources = [("cpus", TASK_CPUS), ("mem", TASK_MEM)]
                        .into_iter()
                        .map(|(name, v)| Resource {
                            allocation_info: allocation.clone(),
                            ..Resource::scalar(name, v)
                        })
                        .collect();
                    let task = TaskInfo {
                        name: "ordeal-greedy".into(),
                        task_id: Id::new(format!("{prefix}-{n}")),
                        agent_id: o.agent_id.clone(),
                        resources,
                        command: Some(CommandInfo::shell("exec sleep 3600")),
                        health_check: None,
                        kill_policy: None,
                    };
                    sched
                        .launch(std::slice::from_ref(&o.id), &[task], UNFILTERED)
                        .await
                }
                None => sched.decline(std::slice::from_ref(&o.id), UNFILTERED).await,
            };
            if let Err(e) = result {
                tally.lock().expect("tally lock").closed = Some(format!("call failed: {e}"));
            }
        }
    };
    tally.lock().expect("tally lock").closed = Some(closed);
}

/// Active tasks per framework, as the leader lists them.
async fn tasks_by_framework(op: &Operator) -> Result<BTreeMap<String, usize>, MesosError> {
    let mut by = BTreeMap::new();
    for t in op.tasks().await?.tasks {
        if !t.state.is_terminal() {
            let f = t.framework_id.map(|f| f.value).unwrap_or_default();
            *by.entry(f).or_insert(0) += 1;
        }
    }
    Ok(by)
}

async fn quota(ctx: CaseCtx) -> Result<(), CaseError> {
    let agent_cpus = 4.0;
    let limit = 1.0;
    let cluster =
        MesosCluster::start_with(&ctx, 1, 1, &format!("cpus:{agent_cpus};mem:1024;disk:1024"))
            .await?;
    let target = cluster.target("ordeal-quota").await?;
    let op = target.operator();
    let round = allocation_interval(&ctx, &op).await?;
    let role = "q";
    if ctx.negative_control() {
        ctx.fault_injected("no UPDATE_QUOTA", &format!("role {role}"));
    } else {
        let config = QuotaConfig {
            role: role.into(),
            guarantees: BTreeMap::new(),
            limits: BTreeMap::from([("cpus".to_owned(), Scalar { value: limit })]),
        };
        op.update_quota(&[config], false).await?;
        let read = op.quota().await?;
        ctx.step(format!(
            "UPDATE_QUOTA {role} limits cpus:{limit}; GET_QUOTA: {read:?}"
        ));
    }
    let f = Framework::subscribe(
        &ctx,
        target.url(),
        "ordeal-quota-greedy",
        role,
        Demand::Greedy,
    )
    .await?;
    // One task per allocation round: limit / TASK_CPUS rounds, 3 × slack for a loaded host,
    // plus 30 s for executors to start.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "small positive"
    )]
    let tasks_at_limit = (limit / TASK_CPUS).round() as u32;
    let fill = round * tasks_at_limit * 3 + Duration::from_secs(30);
    eventually(
        &format!("the greedy framework in {role} to hold {tasks_at_limit} tasks ({limit} cpus)"),
        fill,
        POLL,
        || async {
            let t = f.tally();
            Ok(if t.live >= tasks_at_limit {
                Observed::Holds(())
            } else {
                Observed::Not(format!("{t:?}"))
            })
        },
    )
    .await?;
    // Then more allocation rounds in which most of the agent is free and the framework still
    // wants more.
    let hold = round * 8;
    tokio::time::sleep(hold).await;
    let t = f.tally();
    let on_master = tasks_by_framework(&op).await?;
    let master_tasks = on_master
        .get(&f.sched.framework_id.value)
        .copied()
        .unwrap_or(0);
    ctx.step(format!(
        "after {hold:?} more: framework tally {t:?}; active tasks on the leader by framework {on_master:?}"
    ));
    let master_cpus = f64::from(u32::try_from(master_tasks).unwrap_or(u32::MAX)) * TASK_CPUS;
    f.teardown().await;
    if t.max_held_cpus > limit + 1e-6 || master_cpus > limit + 1e-6 {
        return Err(CaseError::failed(format!(
            "expected role {role} never to hold more than its quota limit of {limit} cpus (agent has {agent_cpus}); \
             its framework held up to {} cpus (tasks + an offer in hand) and the leader lists {master_tasks} of its tasks ({master_cpus} cpus)",
            t.max_held_cpus
        )));
    }
    if t.offers < 2 {
        return Err(CaseError::failed(format!(
            "expected the greedy framework to be offered resources in several rounds; got {} offer(s)",
            t.offers
        )));
    }
    ctx.check_passed(&format!(
        "role {role} held at most {} cpus (limit {limit}) over {} offers; {master_tasks} tasks on the leader",
        t.max_held_cpus, t.offers
    ));
    Ok(())
}

async fn reservation(ctx: CaseCtx) -> Result<(), CaseError> {
    let (cpus, mem) = (1.0, 256.0);
    let cluster = MesosCluster::start_with(&ctx, 1, 1, "cpus:2;mem:1024;disk:1024").await?;
    let target = cluster.target("ordeal-reservation").await?;
    let op = target.operator();
    let round = allocation_interval(&ctx, &op).await?;
    let agent = cluster.agent_id(0).await?;
    let owner = if ctx.negative_control() { "b" } else { "a" };
    op.reserve_resources(
        &agent,
        &[
            Resource::reserved("cpus", cpus, owner),
            Resource::reserved("mem", mem, owner),
        ],
    )
    .await?;
    if ctx.negative_control() {
        ctx.fault_injected("RESERVE_RESOURCES for role b instead of a", &agent.value);
    }
    ctx.step(format!(
        "reserved cpus:{cpus};mem:{mem} of agent {} for role {owner}",
        agent.value
    ));

    // Role b alone, so nothing but the reservation keeps the reserved resources from it.
    let b = Framework::subscribe(&ctx, target.url(), "ordeal-role-b", "b", Demand::Watch).await?;
    let rounds = 6;
    let window = round * rounds + Duration::from_secs(5);
    tokio::time::sleep(window).await;
    let tb = b.tally();
    b.teardown().await;
    ctx.step(format!("role b over {window:?}: {tb:?}"));
    if !tb.reserved_cpus.is_empty() || !tb.reserved_mem.is_empty() {
        return Err(CaseError::failed(format!(
            "expected the framework in role b never to be offered resources reserved for role a; \
             it was offered reserved cpus {:?} and mem {:?} (by the role they are reserved for)",
            tb.reserved_cpus, tb.reserved_mem
        )));
    }
    if tb.offers == 0 {
        return Err(CaseError::failed(format!(
            "expected the framework in role b to be offered the agent's unreserved resources within {window:?}; no offer came"
        )));
    }
    ctx.check_passed(&format!(
        "role b got {} offers in {window:?}, none with reserved resources",
        tb.offers
    ));

    let a = Framework::subscribe(&ctx, target.url(), "ordeal-role-a", "a", Demand::Watch).await?;
    let got = eventually(
        "the framework in role a to be offered the resources reserved for it",
        window,
        POLL,
        || async {
            let t = a.tally();
            let c = t.reserved_cpus.get("a").copied().unwrap_or(0.0);
            let m = t.reserved_mem.get("a").copied().unwrap_or(0.0);
            Ok(if c >= cpus - 1e-6 && m >= mem - 1e-6 {
                Observed::Holds(t)
            } else {
                Observed::Not(format!("{t:?}"))
            })
        },
    )
    .await;
    a.teardown().await;
    let t = got?;
    ctx.check_passed(&format!(
        "role a offered its reservation: cpus {:?}, mem {:?}",
        t.reserved_cpus, t.reserved_mem
    ));
    Ok(())
}

/// Which split case runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Split {
    /// Two frameworks in one role: equal shares.
    Drf,
    /// One framework in each of roles a (weight 2) and b (weight 1): shares 2:1.
    Weights,
}

async fn split(ctx: CaseCtx, which: Split) -> Result<(), CaseError> {
    let agent_cpus = 3.0;
    let cluster =
        MesosCluster::start_with(&ctx, 1, 1, &format!("cpus:{agent_cpus};mem:1024;disk:1024"))
            .await?;
    let target = cluster.target("ordeal-split").await?;
    let op = target.operator();
    let round = allocation_interval(&ctx, &op).await?;
    let control = ctx.negative_control();
    // Roles of the two frameworks, the weights the check expects shares in, and the weights
    // set with UPDATE_WEIGHTS (none: every role weighs 1).
    let (roles, expect, set): ([&str; 2], [f64; 2], Vec<WeightInfo>) = match which {
        Split::Drf => {
            let set = if control {
                ctx.fault_injected("frameworks in roles a, b weighted 3:1", "UPDATE_WEIGHTS");
                vec![weight("a", 3.0), weight("b", 1.0)]
            } else {
                vec![]
            };
            let roles = if control { ["a", "b"] } else { ["r", "r"] };
            (roles, [1.0, 1.0], set)
        }
        Split::Weights => {
            let set = if control {
                ctx.fault_injected("no UPDATE_WEIGHTS (both roles weigh 1)", "roles a, b");
                vec![]
            } else {
                vec![weight("a", 2.0), weight("b", 1.0)]
            };
            (["a", "b"], [2.0, 1.0], set)
        }
    };
    if !set.is_empty() {
        op.update_weights(&set).await?;
        ctx.step(format!(
            "UPDATE_WEIGHTS {set:?}; GET_WEIGHTS: {:?}",
            op.weights().await?
        ));
    }
    let mut frameworks = Vec::new();
    for (i, role) in roles.iter().enumerate() {
        let name = format!("ordeal-split-{}", i + 1);
        frameworks
            .push(Framework::subscribe(&ctx, target.url(), &name, role, Demand::Greedy).await?);
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "small positive"
    )]
    let capacity = (agent_cpus / TASK_CPUS).round() as usize;
    // One task per allocation round, 3 × slack for a loaded host, plus 30 s for executors.
    let fill = round * u32::try_from(capacity).unwrap_or(u32::MAX) * 3 + Duration::from_secs(30);
    let ids: Vec<String> = frameworks
        .iter()
        .map(|f| f.sched.framework_id.value.clone())
        .collect();
    let counts = eventually(
        &format!("the two frameworks to fill the agent with {capacity} tasks"),
        fill,
        POLL,
        || async {
            let by = tasks_by_framework(&op).await?;
            let counts: Vec<usize> = ids
                .iter()
                .map(|id| by.get(id).copied().unwrap_or(0))
                .collect();
            let total: usize = counts.iter().sum();
            Ok(if total >= capacity {
                Observed::Holds(counts)
            } else {
                let tallies: Vec<Tally> = frameworks.iter().map(Framework::tally).collect();
                Observed::Not(format!("{total} tasks {counts:?}; tallies {tallies:?}"))
            })
        },
    )
    .await?;
    // Two more rounds: nothing more is offered that fits a task.
    tokio::time::sleep(round * 2).await;
    let by = tasks_by_framework(&op).await?;
    let counts2: Vec<usize> = ids
        .iter()
        .map(|id| by.get(id).copied().unwrap_or(0))
        .collect();
    let tallies: Vec<Tally> = frameworks.iter().map(Framework::tally).collect();
    ctx.step(format!(
        "tasks per framework when full {counts:?}, {:?} later {counts2:?}; tallies {tallies:?}",
        round * 2
    ));
    for f in frameworks {
        f.teardown().await;
    }
    let total: usize = counts2.iter().sum();
    let sum: f64 = expect.iter().sum();
    #[expect(clippy::cast_precision_loss, reason = "a dozen tasks")]
    let want: Vec<f64> = expect.iter().map(|w| total as f64 * w / sum).collect();
    #[expect(clippy::cast_precision_loss, reason = "a dozen tasks")]
    let off = counts2
        .iter()
        .zip(&want)
        .any(|(c, w)| (*c as f64 - w).abs() > 1.0 + 1e-9);
    let shares = roles
        .iter()
        .zip(&counts2)
        .map(|(r, c)| format!("{r}: {c}"))
        .collect::<Vec<_>>()
        .join(", ");
    if off {
        return Err(CaseError::failed(format!(
            "expected the {total} tasks split {expect:?} ({want:?}, within one task); the frameworks hold {shares}"
        )));
    }
    ctx.check_passed(&format!("{total} tasks split {shares} (expected {want:?})"));
    Ok(())
}

fn weight(role: &str, weight: f64) -> WeightInfo {
    WeightInfo {
        role: role.into(),
        weight,
    }
}
