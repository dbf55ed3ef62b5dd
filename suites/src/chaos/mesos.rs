//! Mesos under agent loss and partitions: TASK_UNREACHABLE and TASK_LOST when an agent stops
//! answering the master's pings, the tasks RUNNING again when a partitioned agent comes back,
//! and TASK_GONE_BY_OPERATOR after the operator marks an unreachable agent gone.
//!
//! Every case runs one master with short agent pings (`--agent_ping_timeout=2secs`,
//! `--max_agent_ping_timeouts=3`, set through the environment) and two agents; the windows are
//! computed from the flags the leading master reports (`GET_FLAGS`), not from what was asked.
//! Two frameworks each run one task on agent 2: one declares the `PARTITION_AWARE` capability,
//! the other does not. Both checkpoint, so a broken agent socket alone changes nothing and only
//! the ping timeouts decide (`Master::exited`, Mesos 1.11).

use std::{
    fmt::Write as _,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use ordeal::{
    check::{CaseError, Observed, eventually},
    cluster::mesos::{
        MesosCluster, MesosConfig, Scheduler, SchedulerEvents,
        api::{
            Capability, CommandInfo, EventType, Filters, Flag, FrameworkInfo, Id, Resource,
            TaskInfo, TaskState, TaskStatus, parse_duration,
        },
    },
    fault::Direction,
    run::{Case, CaseCtx},
};

const IMAGES: &[&str] = &["mesos", "zookeeper"];
pub(super) const IMAGES_WITH_FAULTS: &[&str] = &["mesos", "zookeeper", "fault-helper"];
pub(super) const POLL: Duration = Duration::from_millis(200);
/// What the masters are started with (`docs/configuration/master.md`: a duration and a count;
/// the defaults are 15secs and 5).
const PING_TIMEOUT: &str = "2secs";
const MAX_PING_TIMEOUTS: &str = "3";
/// Slack on top of every computed window: the registry write, forwarding the update, polls.
const SLACK: Duration = Duration::from_secs(10);
/// An agent that lost its master retries registration with a backoff capped at
/// `REGISTER_RETRY_INTERVAL_MAX` (1 min, `src/slave/constants.hpp`); after a heal it is back
/// within that, plus slack.
pub(super) const REREGISTER_WINDOW: Duration = Duration::from_secs(75);
/// MARK_AGENT_GONE is one registry write; its updates follow at once.
const GONE_WINDOW: Duration = Duration::from_secs(15);

/// Every chaos case against Mesos.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "chaos::mesos::agent_killed_tasks_unreachable",
            "after SIGKILL of agent 2's container, the partition-aware framework's task there goes TASK_UNREACHABLE and the other framework's TASK_LOST (both REASON_AGENT_REMOVED, from the master) within agent_ping_timeout × (max_agent_ping_timeouts + 1) (live flags) + 10 s of the kill",
            agent_killed,
        )
        .images(IMAGES)
        .control("the kill is aimed at agent 1, which runs none of the tasks")
        .source("CHECKS.md M-P1; src/tests/partition_tests.cpp; include/mesos/v1/mesos.proto (PARTITION_AWARE, TASK_UNREACHABLE)")
        .smoke(),
        Case::new(
            "chaos::mesos::agent_partition_healed_tasks_running",
            "agent 2 cut from the master by iptables: the partition-aware framework's task goes TASK_UNREACHABLE and the other's TASK_LOST within the ping window (live flags) + 10 s; after the heal the agent re-registers within 75 s and both tasks are TASK_RUNNING again",
            partition_healed,
        )
        .images(IMAGES_WITH_FAULTS)
        .control("the partition is healed after agent_ping_timeout / 2, before it can take effect")
        .source("CHECKS.md M-P1, M-P2; src/tests/partition_tests.cpp ReregisterSlavePartitionAware, ReregisterSlaveNotPartitionAware"),
        Case::new(
            "chaos::mesos::mark_agent_gone_tasks_gone_by_operator",
            "once killed agent 2 is unreachable (its task TASK_UNREACHABLE), MARK_AGENT_GONE for it turns the partition-aware framework's task TASK_GONE_BY_OPERATOR (REASON_AGENT_REMOVED_BY_OPERATOR) within 15 s",
            mark_gone,
        )
        .images(IMAGES)
        .control("MARK_AGENT_GONE is aimed at agent 1, which runs no task")
        .source("CHECKS.md M-P5; docs/operator-http-api.md MARK_AGENT_GONE"),
    ]
    .into_iter()
    .map(|c| c.timeout(Duration::from_secs(300)))
    .chain([Case::new(
        "chaos::mesos::leader_killed_tasks_survive_and_framework_reregisters",
        "with 3 masters over 3 ZooKeepers and a checkpointing framework (failover_timeout 300 s) running one task on each of 2 agents, SIGKILL of the leading master's container: another master leads within zk_session_timeout (live GET_FLAGS) + 30 s, the framework re-subscribes to it with its id within 30 s, an explicit RECONCILE then answers TASK_RUNNING for both tasks within 60 s, and no terminal or TASK_UNREACHABLE update ever arrives for them",
        leader_killed,
    )
    .images(IMAGES)
    .control("the kill is aimed at agent 2's container (running one of the tasks) instead of the leading master")
        .source("CHECKS.md M-F1; src/tests/fault_tolerance_tests.cpp; docs/high-availability-framework-guide.md (reconciliation)")
    // Three ZooKeepers and three masters come up slower than one, on a shared host.
    .timeout(Duration::from_secs(480))])
    .collect()
}

/// One master with fast agent pings, two agents.
pub(super) fn config() -> MesosConfig {
    MesosConfig {
        master_env: vec![
            ("MESOS_AGENT_PING_TIMEOUT".into(), PING_TIMEOUT.into()),
            (
                "MESOS_MAX_AGENT_PING_TIMEOUTS".into(),
                MAX_PING_TIMEOUTS.into(),
            ),
        ],
        ..MesosConfig::new(1, 2)
    }
}

/// The master's agent health check, as the live flags set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pings {
    /// `agent_ping_timeout`: the period of the pings and how long each waits for its pong.
    pub(super) timeout: Duration,
    /// `max_agent_ping_timeouts`: unanswered pings in a row that make the agent unreachable.
    max: u32,
}

/// The value of flag `name` among a master's `flags`.
fn flag_value(flags: &[Flag], name: &str) -> Result<String, String> {
    flags
        .iter()
        .find(|f| f.name == name)
        .and_then(|f| f.value.clone())
        .ok_or_else(|| format!("the master reports no `{name}` flag"))
}

/// The live `zk_session_timeout` among a master's `flags`, and the text it was read from.
pub(super) fn zk_session_timeout(flags: &[Flag]) -> Result<(Duration, String), String> {
    let raw = flag_value(flags, "zk_session_timeout")?;
    let session = parse_duration(&raw)
        .ok_or_else(|| format!("zk_session_timeout `{raw}` is not a Mesos duration"))?;
    Ok((session, raw))
}

impl Pings {
    pub(super) fn from_flags(flags: &[Flag]) -> Result<Self, String> {
        let t = flag_value(flags, "agent_ping_timeout")?;
        let m = flag_value(flags, "max_agent_ping_timeouts")?;
        Ok(Self {
            timeout: parse_duration(&t)
                .ok_or_else(|| format!("agent_ping_timeout `{t}` is not a Mesos duration"))?,
            max: m
                .parse()
                .map_err(|_| format!("max_agent_ping_timeouts `{m}` is not a count"))?,
        })
    }

    pub(crate) async fn live(cluster: &MesosCluster) -> Result<Self, CaseError> {
        let (_, op) = cluster
            .leader()
            .await
            .ok_or_else(|| CaseError::infra("no leader"))?;
        let flags = op.flags().await?;
        Self::from_flags(&flags).map_err(CaseError::Infra)
    }

    /// From a fault to the agent marked unreachable, at the latest: the pong to the last ping
    /// before the fault may still arrive, so the first unanswered ping goes out up to one
    /// period later, and `max` timeouts of it follow (`SlaveObserver`, Mesos 1.11); plus
    /// [`SLACK`].
    pub(crate) fn unreachable_window(self) -> Duration {
        self.timeout * (self.max + 1) + SLACK
    }

    pub(crate) fn describe(self) -> String {
        format!(
            "agent_ping_timeout {:?} × (max_agent_ping_timeouts {} + 1) + slack {SLACK:?} = {:?}",
            self.timeout,
            self.max,
            self.unreachable_window()
        )
    }
}

/// A framework's status updates as they arrived, and whether its event stream ended.
#[derive(Debug, Default)]
pub(super) struct Recorded {
    updates: Vec<(Instant, TaskStatus)>,
    closed: Option<String>,
}

/// A subscribed framework with one task on one agent. A background reader acknowledges and
/// records every update and declines every further offer; checks read the record.
struct Framework {
    label: &'static str,
    sched: Scheduler,
    task_id: Id,
    agent_id: Id,
    launched: Instant,
    recorded: Arc<Mutex<Recorded>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Framework {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Offers not to come back for the rest of the case.
const REFUSE: Filters = Filters {
    refuse_seconds: Some(3600.0),
};

impl Framework {
    /// Subscribes a checkpointing framework (`PARTITION_AWARE` if `partition_aware`) and
    /// launches a long `sleep` task on the first offer from `agent`, declining the others.
    async fn launch(
        ctx: &CaseCtx,
        cluster: &MesosCluster,
        partition_aware: bool,
        agent: &Id,
    ) -> Result<Self, CaseError> {
        let label = if partition_aware {
            "partition-aware"
        } else {
            "not partition-aware"
        };
        let mut capabilities = vec![Capability {
            kind: "TASK_KILLING_STATE".into(),
        }];
        if partition_aware {
            capabilities.push(Capability {
                kind: "PARTITION_AWARE".into(),
            });
        }
        let info = FrameworkInfo {
            user: "root".into(),
            name: format!("ordeal-chaos-{}", label.replace(' ', "-")),
            id: None,
            roles: vec![],
            failover_timeout: Some(0.0),
            checkpoint: Some(true),
            capabilities,
        };
        let (i, _) = cluster
            .leader()
            .await
            .ok_or_else(|| CaseError::infra("no leader"))?;
        let (sched, mut events) = Scheduler::subscribe(&cluster.masters[i].1, &info).await?;
        let window = Duration::from_secs(30);
        let offer = tokio::time::timeout(window, async {
            loop {
                let e = match events.next().await {
                    Ok(Some(e)) => e,
                    Ok(None) => return Err(CaseError::infra("event stream closed before an offer")),
                    Err(e) => return Err(CaseError::infra(e)),
                };
                if e.kind != EventType::Offers {
                    continue;
                }
                let offers = e.offers.map(|o| o.offers).unwrap_or_default();
                let (mine, others): (Vec<_>, Vec<_>) =
                    offers.into_iter().partition(|o| &o.agent_id == agent);
                let others: Vec<Id> = others.into_iter().map(|o| o.id).collect();
                if !others.is_empty() {
                    sched.decline(&others, REFUSE).await?;
                }
                if let Some(o) = mine.into_iter().next() {
                    return Ok(o);
                }
            }
        })
        .await
        .map_err(|_| {
            CaseError::failed(format!(
                "expected the {label} framework to be offered agent {} within {window:?}; no such offer came",
                agent.value
            ))
        })??;
        let task_id = Id::new(format!("{}-{}", info.name, ctx.token()));
        let task = TaskInfo {
            name: info.name.clone(),
            task_id: task_id.clone(),
            agent_id: offer.agent_id.clone(),
            resources: vec![Resource::scalar("cpus", 0.1), Resource::scalar("mem", 32.0)],
            command: Some(CommandInfo::shell("exec sleep 3600")),
            health_check: None,
            kill_policy: None,
        };
        let launched = Instant::now();
        sched
            .launch(std::slice::from_ref(&offer.id), &[task], REFUSE)
            .await?;
        ctx.step(format!(
            "{label} framework {} launched task {} on agent {} ({})",
            sched.framework_id.value, task_id.value, offer.hostname, offer.agent_id.value
        ));
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let reader = tokio::spawn(read_events(
            sched.clone(),
            events,
            vec![task_id.clone()],
            recorded.clone(),
        ));
        Ok(Self {
            label,
            sched,
            task_id,
            agent_id: offer.agent_id,
            launched,
            recorded,
            reader,
        })
    }

    /// The first update in `state` at or after `since`: when it came after `since`, and what.
    fn first_since(&self, since: Instant, state: TaskState) -> Option<(Duration, TaskStatus)> {
        let r = self.recorded.lock().expect("recorded lock");
        r.updates
            .iter()
            .find(|(at, s)| *at >= since && s.state == state)
            .map(|(at, s)| (at.duration_since(since), s.clone()))
    }

    /// Every update so far, timed from the launch, with `mark` (the fault) placed among them.
    fn history(&self, mark: Option<(&str, Instant)>) -> String {
        let r = self.recorded.lock().expect("recorded lock");
        let mut out = format!("{} framework: ", self.label);
        let mut marked = mark.is_none();
        let mut first = true;
        let mut sep = |out: &mut String| {
            if !std::mem::take(&mut first) {
                out.push_str(", ");
            }
        };
        for (at, s) in &r.updates {
            if let Some((what, m)) = mark.filter(|(_, m)| !marked && *at >= *m) {
                sep(&mut out);
                let _ = write!(out, "[{what} at {:.2}s]", secs(m - self.launched));
                marked = true;
            }
            sep(&mut out);
            let _ = write!(out, "{:.2}s {}", secs(*at - self.launched), describe(s));
        }
        if let Some((what, m)) = mark.filter(|_| !marked) {
            sep(&mut out);
            let _ = write!(
                out,
                "[{what} at {:.2}s] then no update",
                secs(m - self.launched)
            );
        }
        if r.updates.is_empty() && mark.is_none() {
            out.push_str("no update");
        }
        if let Some(why) = &r.closed {
            let _ = write!(out, "; event stream ended: {why}");
        }
        out
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The proto name (`TASK_UNREACHABLE`), as the API writes it.
fn name(state: TaskState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{state:?}"))
}

fn describe(s: &TaskStatus) -> String {
    let mut t = name(s.state);
    if let Some(r) = &s.reason {
        let _ = write!(t, " {r}");
    }
    if let Some(src) = &s.source {
        let _ = write!(t, " {src}");
    }
    t
}

/// Acknowledges and records every update of `tasks`, declines every offer, until the stream
/// ends.
async fn read_events(
    sched: Scheduler,
    mut events: SchedulerEvents,
    tasks: Vec<Id>,
    recorded: Arc<Mutex<Recorded>>,
) {
    let end = loop {
        let e = match events.next().await {
            Ok(Some(e)) => e,
            Ok(None) => break "closed by the master".to_owned(),
            Err(e) => break e.to_string(),
        };
        if let Some(o) = e.offers {
            let ids: Vec<Id> = o.offers.into_iter().map(|o| o.id).collect();
            let _ = sched.decline(&ids, REFUSE).await;
        }
        if let Some(u) = e.update {
            if !tasks.contains(&u.status.task_id) {
                continue;
            }
            let at = Instant::now();
            // Master-made updates (UNREACHABLE, LOST, GONE...) carry no uuid and need no
            // acknowledgement; `acknowledge` skips them.
            let _ = sched.acknowledge(&u.status).await;
            recorded
                .lock()
                .expect("recorded lock")
                .updates
                .push((at, u.status));
        }
    };
    recorded.lock().expect("recorded lock").closed = Some(end);
}

/// The two frameworks with their tasks RUNNING on agent container `agent` (from 0), or just the
/// partition-aware one if `only_partition_aware`.
async fn tasks_on(
    ctx: &CaseCtx,
    cluster: &MesosCluster,
    agent: usize,
    only_partition_aware: bool,
) -> Result<Vec<Framework>, CaseError> {
    let agent_id = cluster.agent_id(agent).await?;
    let mut fws = vec![Framework::launch(ctx, cluster, true, &agent_id).await?];
    if !only_partition_aware {
        fws.push(Framework::launch(ctx, cluster, false, &agent_id).await?);
    }
    let start = Instant::now();
    eventually(
        &format!("every task TASK_RUNNING on agent{}", agent + 1),
        Duration::from_secs(30),
        POLL,
        || async {
            let pending: Vec<String> = fws
                .iter()
                .filter(|f| f.first_since(f.launched, TaskState::TaskRunning).is_none())
                .map(|f| f.history(None))
                .collect();
            Ok(if pending.is_empty() {
                Observed::Holds(())
            } else {
                Observed::Not(pending.join("; "))
            })
        },
    )
    .await?;
    ctx.step(format!(
        "{} task(s) TASK_RUNNING on agent{} within {:.2} s",
        fws.len(),
        agent + 1,
        secs(start.elapsed())
    ));
    Ok(fws)
}

/// What each framework must see after a fault: the state, and the reason it must carry.
type Expect<'a> = (&'a Framework, TaskState, &'a str);

/// Waits until every framework saw its expected update after `since`, for at most `window`
/// counted from `since`; returns how long after `since` each one came.
async fn updates_after(
    what: &str,
    since: (&str, Instant),
    window: Duration,
    expect: &[Expect<'_>],
) -> Result<Vec<(Duration, TaskStatus)>, CaseError> {
    let left = window.saturating_sub(since.1.elapsed());
    let got = eventually(what, left, POLL, || async {
        let seen: Vec<_> = expect
            .iter()
            .map(|(f, state, _)| f.first_since(since.1, *state))
            .collect();
        Ok(if seen.iter().all(Option::is_some) {
            Observed::Holds(seen.into_iter().flatten().collect::<Vec<_>>())
        } else {
            Observed::Not(
                expect
                    .iter()
                    .map(|(f, _, _)| f.history(Some(since)))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
    })
    .await?;
    for ((f, state, reason), (_, s)) in expect.iter().zip(&got) {
        if s.reason.as_deref() != Some(*reason) {
            return Err(CaseError::failed(format!(
                "expected the {} framework's {} to carry {reason}; got {}",
                f.label,
                name(*state),
                describe(s)
            )));
        }
    }
    Ok(got)
}

fn timings(since: &str, expect: &[Expect<'_>], got: &[(Duration, TaskStatus)]) -> String {
    expect
        .iter()
        .zip(got)
        .map(|((f, _, _), (d, s))| {
            format!("{since} → {} ({}) {:.2} s", describe(s), f.label, secs(*d))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Starts the cluster and reads the live ping flags.
async fn cluster(ctx: &CaseCtx) -> Result<(MesosCluster, Pings), CaseError> {
    let cluster = MesosCluster::start_config(ctx, &config()).await?;
    let pings = Pings::live(&cluster).await?;
    let asked = if ctx.component_defaults() {
        "the master's defaults".to_owned()
    } else {
        format!("agent_ping_timeout={PING_TIMEOUT}, max_agent_ping_timeouts={MAX_PING_TIMEOUTS}")
    };
    ctx.step(format!("asked {asked}; live: {}", pings.describe()));
    Ok((cluster, pings))
}

async fn agent_killed(ctx: CaseCtx) -> Result<(), CaseError> {
    let (cluster, pings) = cluster(&ctx).await?;
    let fws = tasks_on(&ctx, &cluster, 1, false).await?;
    let victim = if ctx.negative_control() { 0 } else { 1 };
    let killed = Instant::now();
    cluster.agents[victim].kill("SIGKILL").await?;
    ctx.fault_injected("kill (SIGKILL, container)", &format!("agent{}", victim + 1));
    let expect: [Expect<'_>; 2] = [
        (&fws[0], TaskState::TaskUnreachable, "REASON_AGENT_REMOVED"),
        (&fws[1], TaskState::TaskLost, "REASON_AGENT_REMOVED"),
    ];
    let window = pings.unreachable_window();
    let got = updates_after(
        &format!(
            "TASK_UNREACHABLE for the partition-aware framework's task on agent2 and TASK_LOST for the other's, counted from the kill ({})",
            pings.describe()
        ),
        ("kill", killed),
        window,
        &expect,
    )
    .await?;
    ctx.step(timings("kill", &expect, &got));
    ctx.check_passed("TASK_UNREACHABLE (partition-aware) and TASK_LOST (other) within the window");
    Ok(())
}

async fn partition_healed(ctx: CaseCtx) -> Result<(), CaseError> {
    let (cluster, pings) = cluster(&ctx).await?;
    let fws = tasks_on(&ctx, &cluster, 1, false).await?;
    let agent_id = fws[0].agent_id.clone();
    let faults = ctx.net_faults()?;
    let mut cut = faults
        .drop_between(&cluster.agents[1], &cluster.master_ips, Direction::Both)
        .await?;
    let cut_at = Instant::now();
    ctx.fault_injected("partition", "agent2 | masters");
    if ctx.negative_control() {
        // Broken on purpose: healed long before max_agent_ping_timeouts pings in a row can go
        // unanswered.
        tokio::time::sleep(pings.timeout / 2).await;
        faults.heal(&mut cut).await?;
        ctx.fault_healed("partition", "agent2 | masters");
        ctx.step(format!(
            "healed {:.2} s after the cut",
            secs(cut_at.elapsed())
        ));
    }
    let expect: [Expect<'_>; 2] = [
        (&fws[0], TaskState::TaskUnreachable, "REASON_AGENT_REMOVED"),
        (&fws[1], TaskState::TaskLost, "REASON_AGENT_REMOVED"),
    ];
    let unreachable = updates_after(
        &format!(
            "TASK_UNREACHABLE for the partition-aware framework's task on agent2 and TASK_LOST for the other's, counted from the cut ({})",
            pings.describe()
        ),
        ("cut", cut_at),
        pings.unreachable_window(),
        &expect,
    )
    .await;
    let unreachable = match unreachable {
        Ok(u) => u,
        Err(e) => {
            faults.heal(&mut cut).await?;
            return Err(e);
        }
    };
    ctx.step(timings("cut", &expect, &unreachable));
    ctx.check_passed("TASK_UNREACHABLE (partition-aware) and TASK_LOST (other) while cut off");

    faults.heal(&mut cut).await?;
    let healed = Instant::now();
    ctx.fault_healed("partition", "agent2 | masters");
    ctx.step(format!(
        "healed {:.2} s after the cut",
        secs(healed.duration_since(cut_at))
    ));
    let cut_wall = std::time::SystemTime::now() - healed.duration_since(cut_at);
    eventually(
        &format!(
            "agent2 to re-register (active, re-registered after the cut) within {REREGISTER_WINDOW:?} of the heal (REGISTER_RETRY_INTERVAL_MAX 1 min + slack)"
        ),
        REREGISTER_WINDOW,
        POLL,
        || cluster.agent_reregistered_since(&agent_id, cut_wall),
    )
    .await?;
    let back = healed.elapsed();
    ctx.step(format!("heal → agent2 re-registered {:.2} s", secs(back)));
    ctx.check_passed("agent2 re-registered");

    // The master tells the frameworks on its own when the agent comes back (Mesos's
    // ReregisterSlave* partition tests); explicit reconciliation every 2 s covers it too.
    let mut asked: Option<Instant> = None;
    let running = eventually(
        &format!(
            "TASK_RUNNING again for both frameworks' tasks after the heal (updates or explicit reconciliation), within {REREGISTER_WINDOW:?} of the heal"
        ),
        REREGISTER_WINDOW.saturating_sub(healed.elapsed()),
        POLL,
        || {
            let due = asked.is_none_or(|a| a.elapsed() >= Duration::from_secs(2));
            if due {
                asked = Some(Instant::now());
            }
            let fws = &fws;
            async move {
                let seen: Vec<_> = fws
                    .iter()
                    .map(|f| f.first_since(healed, TaskState::TaskRunning))
                    .collect();
                if seen.iter().all(Option::is_some) {
                    return Ok(Observed::Holds(seen.into_iter().flatten().collect::<Vec<_>>()));
                }
                if due {
                    for f in fws {
                        f.sched
                            .reconcile(&[(f.task_id.clone(), Some(f.agent_id.clone()))])
                            .await?;
                    }
                }
                Ok(Observed::Not(
                    fws.iter()
                        .map(|f| f.history(Some(("heal", healed))))
                        .collect::<Vec<_>>()
                        .join("; "),
                ))
            }
        },
    )
    .await?;
    ctx.step(
        fws.iter()
            .zip(&running)
            .map(|(f, (d, s))| format!("heal → {} ({}) {:.2} s", describe(s), f.label, secs(*d)))
            .collect::<Vec<_>>()
            .join(", "),
    );
    ctx.check_passed("both tasks TASK_RUNNING again after the heal");
    Ok(())
}

async fn mark_gone(ctx: CaseCtx) -> Result<(), CaseError> {
    let (cluster, pings) = cluster(&ctx).await?;
    let fws = tasks_on(&ctx, &cluster, 1, true).await?;
    let pa = &fws[0];
    let agent1 = cluster.agent_id(0).await?;
    let killed = Instant::now();
    cluster.agents[1].kill("SIGKILL").await?;
    ctx.fault_injected("kill (SIGKILL, container)", "agent2");
    let expect: [Expect<'_>; 1] = [(pa, TaskState::TaskUnreachable, "REASON_AGENT_REMOVED")];
    let got = updates_after(
        &format!(
            "TASK_UNREACHABLE for the partition-aware framework's task on agent2, counted from the kill ({})",
            pings.describe()
        ),
        ("kill", killed),
        pings.unreachable_window(),
        &expect,
    )
    .await?;
    ctx.step(timings("kill", &expect, &got));
    ctx.check_passed("agent2 unreachable");

    let (target, name) = if ctx.negative_control() {
        (agent1, "agent1")
    } else {
        (pa.agent_id.clone(), "agent2")
    };
    let (_, op) = cluster
        .leader()
        .await
        .ok_or_else(|| CaseError::infra("no leader"))?;
    let called = Instant::now();
    op.mark_agent_gone(&target).await?;
    // Not a fault: the operator action under test, through the API it is documented for.
    ctx.step(format!("MARK_AGENT_GONE {name} ({})", target.value));
    let expect: [Expect<'_>; 1] = [(
        pa,
        TaskState::TaskGoneByOperator,
        "REASON_AGENT_REMOVED_BY_OPERATOR",
    )];
    let got = updates_after(
        &format!(
            "TASK_GONE_BY_OPERATOR for the partition-aware framework's task on agent2, counted from MARK_AGENT_GONE (window {GONE_WINDOW:?}: one registry write + slack)"
        ),
        ("MARK_AGENT_GONE", called),
        GONE_WINDOW,
        &expect,
    )
    .await?;
    ctx.step(timings("MARK_AGENT_GONE", &expect, &got));
    ctx.check_passed("TASK_GONE_BY_OPERATOR after MARK_AGENT_GONE");
    Ok(())
}

/// Slack on top of the live `zk_session_timeout` for another master to lead: the dead
/// leader's ephemeral znode expires, a standby wins the election and recovers the registry
/// from the replicated log (2 of 3 replicas). Generous: other clusters share the host.
const LEADER_SLACK: Duration = Duration::from_secs(30);
/// From the new leader to the framework re-subscribed with its id.
pub(super) const RESUBSCRIBE_WINDOW: Duration = Duration::from_secs(30);
/// From the re-subscription to TASK_RUNNING for both tasks in answer to RECONCILE: the agents
/// must first detect the new leader and re-register with it (the master does not answer
/// explicit reconciliation for tasks on agents it has only recovered from the registry).
pub(super) const RECONCILE_WINDOW: Duration = Duration::from_secs(60);
/// The framework's failover timeout: far longer than the failover takes.
const FAILOVER_TIMEOUT: f64 = 300.0;

/// The highly available layout: 3 ZooKeeper servers, 3 masters, 2 agents; default flags.
fn leader_config() -> MesosConfig {
    MesosConfig {
        zookeepers: 3,
        ..MesosConfig::new(3, 2)
    }
}

/// A checkpointing, partition-aware framework that survives a master failover; `id` to
/// re-subscribe.
fn ha_framework(id: Option<Id>) -> FrameworkInfo {
    FrameworkInfo {
        user: "root".into(),
        name: "ordeal-chaos-failover".into(),
        id,
        roles: vec![],
        failover_timeout: Some(FAILOVER_TIMEOUT),
        checkpoint: Some(true),
        capabilities: vec![
            Capability {
                kind: "TASK_KILLING_STATE".into(),
            },
            Capability {
                kind: "PARTITION_AWARE".into(),
            },
        ],
    }
}

/// A checkpointing, partition-aware framework ([`ha_framework`]) with one long task RUNNING on
/// each agent; a background reader records every update of the tasks.
pub(super) struct HaTasks {
    pub(super) sched: Scheduler,
    pub(super) framework_id: Id,
    /// The agents' ids, in agent order.
    pub(super) agents: Vec<Id>,
    /// The tasks, task `i` on agent `i`.
    pub(super) tasks: Vec<Id>,
    pub(super) recorded: Arc<Mutex<Recorded>>,
    pub(super) readers: Readers,
}

impl HaTasks {
    /// Subscribes to master `leader` (from 0) and launches task `ordeal-chaos-<name>-<i>` on
    /// each agent's first offer (declining the rest), then waits until every one is RUNNING.
    pub(super) async fn launch(
        ctx: &CaseCtx,
        cluster: &MesosCluster,
        leader: usize,
        name: &str,
    ) -> Result<Self, CaseError> {
        let mut agents = Vec::new();
        for i in 0..cluster.agents.len() {
            agents.push(cluster.agent_id(i).await?);
        }
        let (sched, mut events) =
            Scheduler::subscribe(&cluster.masters[leader].1, &ha_framework(None)).await?;
        let framework_id = sched.framework_id.clone();
        ctx.step(format!(
            "framework {} subscribed to master{} (checkpoint, failover_timeout {FAILOVER_TIMEOUT} s)",
            framework_id.value,
            leader + 1
        ));
        let tasks: Vec<Id> = (1..=agents.len())
            .map(|i| Id::new(format!("ordeal-chaos-{name}-{i}-{}", ctx.token())))
            .collect();
        let mut launched = vec![false; agents.len()];
        let offer_window = Duration::from_secs(30);
        tokio::time::timeout(offer_window, async {
            while launched.iter().any(|l| !l) {
                let e = match events.next().await {
                    Ok(Some(e)) => e,
                    Ok(None) => {
                        return Err(CaseError::infra("event stream closed before the offers"));
                    }
                    Err(e) => return Err(CaseError::infra(e)),
                };
                if e.kind != EventType::Offers {
                    continue;
                }
                for o in e.offers.map(|o| o.offers).unwrap_or_default() {
                    match agents.iter().position(|a| *a == o.agent_id) {
                        Some(i) if !launched[i] => {
                            let task = TaskInfo {
                                name: format!("ordeal-chaos-{name}-{}", i + 1),
                                task_id: tasks[i].clone(),
                                agent_id: o.agent_id.clone(),
                                resources: vec![
                                    Resource::scalar("cpus", 0.1),
                                    Resource::scalar("mem", 32.0),
                                ],
                                command: Some(CommandInfo::shell("exec sleep 3600")),
                                health_check: None,
                                kill_policy: None,
                            };
                            sched
                                .launch(std::slice::from_ref(&o.id), &[task], REFUSE)
                                .await?;
                            launched[i] = true;
                            ctx.step(format!(
                                "launched task{} {} on agent{} ({})",
                                i + 1,
                                tasks[i].value,
                                i + 1,
                                o.agent_id.value
                            ));
                        }
                        _ => {
                            sched
                                .decline(std::slice::from_ref(&o.id), REFUSE)
                                .await?;
                        }
                    }
                }
            }
            Ok(())
        })
        .await
        .map_err(|_| {
            CaseError::failed(format!(
                "expected offers from every agent within {offer_window:?}; launched on agents: {launched:?}"
            ))
        })??;
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let readers = Readers(vec![tokio::spawn(read_events(
            sched.clone(),
            events,
            tasks.clone(),
            recorded.clone(),
        ))]);
        let start = Instant::now();
        eventually(
            "every task TASK_RUNNING",
            Duration::from_secs(30),
            POLL,
            || async {
                let r = recorded.lock().expect("recorded lock");
                let running = tasks
                    .iter()
                    .filter(|t| {
                        r.updates
                            .iter()
                            .any(|(_, s)| s.task_id == **t && s.state == TaskState::TaskRunning)
                    })
                    .count();
                drop(r);
                Ok(if running == tasks.len() {
                    Observed::Holds(())
                } else {
                    Observed::Not(task_history(&recorded, &tasks, start))
                })
            },
        )
        .await?;
        ctx.step(format!(
            "{} tasks TASK_RUNNING within {:.2} s",
            tasks.len(),
            secs(start.elapsed())
        ));
        Ok(Self {
            sched,
            framework_id,
            agents,
            tasks,
            recorded,
            readers,
        })
    }

    /// Re-subscribes the framework with its id to master `leader` (from 0), retrying within
    /// `window`, and records the new stream's updates too.
    pub(super) async fn resubscribe(
        &mut self,
        cluster: &MesosCluster,
        leader: usize,
        window: Duration,
    ) -> Result<(), CaseError> {
        let info = ha_framework(Some(self.framework_id.clone()));
        let (again, events) = Scheduler::subscribe_within(
            &format!(
                "the framework to re-subscribe to master{} with id {}",
                leader + 1,
                self.framework_id.value
            ),
            &cluster.masters[leader].1,
            &info,
            window,
            POLL,
        )
        .await?;
        if again.framework_id != self.framework_id {
            return Err(CaseError::failed(format!(
                "expected the framework to keep id {} on master{}; it gave {}",
                self.framework_id.value,
                leader + 1,
                again.framework_id.value
            )));
        }
        self.readers.0.push(tokio::spawn(read_events(
            again.clone(),
            events,
            self.tasks.clone(),
            self.recorded.clone(),
        )));
        self.sched = again;
        Ok(())
    }
}

/// Asks RECONCILE for `ha`'s tasks through its scheduler every 2 s until the master answers
/// TASK_RUNNING (REASON_RECONCILIATION) for every one, within `window`; returns when each answer
/// came. With `fail_on_lost`, a terminal or TASK_UNREACHABLE update recorded at any time ends
/// the wait with those updates instead (`Ok(Err(..))`). Histories in messages are timed from
/// `zero`.
pub(super) async fn reconciled_running(
    what: &str,
    window: Duration,
    ha: &HaTasks,
    fail_on_lost: bool,
    zero: Instant,
) -> Result<Result<Vec<Instant>, Vec<String>>, CaseError> {
    let HaTasks {
        sched,
        tasks,
        agents,
        recorded,
        ..
    } = ha;
    let first_ask = Instant::now();
    let mut asked: Option<Instant> = None;
    let reconcile: Vec<(Id, Option<Id>)> = tasks
        .iter()
        .cloned()
        .zip(agents.iter().cloned().map(Some))
        .collect();
    eventually(what, window, POLL, || {
        let due = asked.is_none_or(|a| a.elapsed() >= Duration::from_secs(2));
        if due {
            asked = Some(Instant::now());
        }
        let reconcile = &reconcile;
        async move {
            let (answered, bad) = {
                let r = recorded.lock().expect("recorded lock");
                let bad: Vec<String> = r
                    .updates
                    .iter()
                    .filter(|(_, s)| fail_on_lost && lost(s.state))
                    .map(|(_, s)| format!("{} {}", s.task_id.value, describe(s)))
                    .collect();
                let answered = tasks
                    .iter()
                    .filter_map(|t| {
                        r.updates.iter().find(|(at, s)| {
                            *at >= first_ask
                                && s.task_id == *t
                                && s.state == TaskState::TaskRunning
                                && s.reason.as_deref() == Some("REASON_RECONCILIATION")
                        })
                    })
                    .map(|(at, _)| *at)
                    .collect::<Vec<_>>();
                (answered, bad)
            };
            if !bad.is_empty() {
                return Ok(Observed::Holds(Err(bad)));
            }
            if answered.len() == tasks.len() {
                return Ok(Observed::Holds(Ok(answered)));
            }
            if due {
                sched.reconcile(reconcile).await?;
            }
            Ok(Observed::Not(task_history(recorded, tasks, zero)))
        }
    })
    .await
}

/// Background readers, aborted when the case ends.
pub(super) struct Readers(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Readers {
    fn drop(&mut self) {
        for r in &self.0 {
            r.abort();
        }
    }
}

/// A state that means the task did not survive (or was cut off): terminal, or unreachable.
fn lost(state: TaskState) -> bool {
    state.is_terminal() || state == TaskState::TaskUnreachable
}

/// Every recorded update, timed from `zero`, with the task's short name.
pub(super) fn task_history(recorded: &Mutex<Recorded>, tasks: &[Id], zero: Instant) -> String {
    let r = recorded.lock().expect("recorded lock");
    let mut out = r
        .updates
        .iter()
        .map(|(at, s)| {
            let which = tasks
                .iter()
                .position(|t| *t == s.task_id)
                .map_or_else(|| s.task_id.value.clone(), |i| format!("task{}", i + 1));
            let t = if *at >= zero {
                format!("+{:.2}s", secs(*at - zero))
            } else {
                format!("-{:.2}s", secs(zero - *at))
            };
            format!("{t} {which} {}", describe(s))
        })
        .collect::<Vec<_>>()
        .join(", ");
    if out.is_empty() {
        out.push_str("no update");
    }
    out
}

async fn leader_killed(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = MesosCluster::start_config(&ctx, &leader_config()).await?;
    let (old, op) = cluster
        .leader()
        .await
        .ok_or_else(|| CaseError::infra("no leader"))?;
    let (session, raw) = zk_session_timeout(&op.flags().await?)
        .map_err(|e| CaseError::infra(format!("master{}: {e}", old + 1)))?;
    let window = session + LEADER_SLACK;
    let window_text = format!(
        "live zk_session_timeout {session:?} (`{raw}`) + slack {LEADER_SLACK:?} = {window:?}"
    );
    ctx.step(format!("leader is master{}; {window_text}", old + 1));

    // One framework, one long task on each agent.
    let mut ha = HaTasks::launch(&ctx, &cluster, old, "failover").await?;

    let victim = if ctx.negative_control() {
        // Broken on purpose: the leader lives on, and a task's agent dies.
        cluster.agents[1].kill("SIGKILL").await?;
        "agent2".to_owned()
    } else {
        cluster.masters[old].0.kill("SIGKILL").await?;
        format!("master{}", old + 1)
    };
    let killed = Instant::now();
    ctx.fault_injected("kill (SIGKILL, container)", &victim);

    let new = eventually(
        &format!(
            "a master other than master{} to lead after the SIGKILL of {victim} ({window_text})",
            old + 1
        ),
        window,
        POLL,
        || async {
            Ok(match cluster.leader().await {
                Some((i, _)) if i != old => Observed::Holds(i),
                Some((i, _)) => Observed::Not(format!(
                    "master{} still leads {:.2} s after the kill",
                    i + 1,
                    secs(killed.elapsed())
                )),
                None => Observed::Not(format!(
                    "no master leads {:.2} s after the kill",
                    secs(killed.elapsed())
                )),
            })
        },
    )
    .await?;
    let to_leader = killed.elapsed();
    ctx.step(format!(
        "kill → master{} leads {:.2} s (window {window:?})",
        new + 1,
        secs(to_leader)
    ));
    ctx.check_passed(&format!("master{} leads within the window", new + 1));

    ha.resubscribe(&cluster, new, RESUBSCRIBE_WINDOW).await?;
    let to_subscribed = killed.elapsed();
    ctx.step(format!(
        "kill → framework {} re-subscribed to master{} {:.2} s",
        ha.framework_id.value,
        new + 1,
        secs(to_subscribed)
    ));
    ctx.check_passed("framework re-subscribed with its id");

    // Explicit reconciliation, asked again every 2 s until the agents are back and the master
    // answers for both tasks.
    let outcome = reconciled_running(
        &format!(
            "TASK_RUNNING (REASON_RECONCILIATION) for both tasks from master{} in answer to RECONCILE, within {RECONCILE_WINDOW:?} of the re-subscription",
            new + 1
        ),
        RECONCILE_WINDOW,
        &ha,
        true,
        killed,
    )
    .await
    .map_err(|e| match e {
        CaseError::Failed(m) => CaseError::Failed(format!(
            "{m} (updates timed from the kill of {victim})"
        )),
        other => other,
    })?;
    let answered = outcome.map_err(|bad| {
        CaseError::failed(format!(
            "expected no terminal or TASK_UNREACHABLE update for the tasks; got {} (all updates, timed from the kill of {victim}: {})",
            bad.join(", "),
            task_history(&ha.recorded, &ha.tasks, killed)
        ))
    })?;
    let to_running = answered
        .iter()
        .map(|at| at.duration_since(killed))
        .max()
        .unwrap_or_default();
    ctx.step(format!(
        "kill → RECONCILE answered TASK_RUNNING for both tasks {:.2} s",
        secs(to_running)
    ));
    ctx.check_passed("both tasks TASK_RUNNING on the new leader (explicit reconciliation)");

    let bad: Vec<String> = {
        let r = ha.recorded.lock().expect("recorded lock");
        r.updates
            .iter()
            .filter(|(_, s)| lost(s.state))
            .map(|(_, s)| format!("{} {}", s.task_id.value, describe(s)))
            .collect()
    };
    if !bad.is_empty() {
        return Err(CaseError::failed(format!(
            "expected no terminal or TASK_UNREACHABLE update for the tasks at any point; got {} (all updates: {})",
            bad.join(", "),
            task_history(&ha.recorded, &ha.tasks, killed)
        )));
    }
    ctx.step(format!(
        "every update, timed from the kill: {}",
        task_history(&ha.recorded, &ha.tasks, killed)
    ));
    ctx.check_passed("no terminal or TASK_UNREACHABLE update for either task");
    drop(ha);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(name: &str, value: &str) -> Flag {
        Flag {
            name: name.into(),
            value: Some(value.into()),
        }
    }

    #[test]
    fn the_window_comes_from_the_live_flags() {
        let p = Pings::from_flags(&[
            flag("zk_session_timeout", "10secs"),
            flag("agent_ping_timeout", "2secs"),
            flag("max_agent_ping_timeouts", "3"),
        ])
        .unwrap();
        assert_eq!(
            p,
            Pings {
                timeout: Duration::from_secs(2),
                max: 3
            }
        );
        // 2 s × (3 + 1) + 10 s.
        assert_eq!(p.unreachable_window(), Duration::from_secs(18));
        // Mesos's defaults: 15 s × (5 + 1) + 10 s.
        let d = Pings::from_flags(&[
            flag("agent_ping_timeout", "15secs"),
            flag("max_agent_ping_timeouts", "5"),
        ])
        .unwrap();
        assert_eq!(d.unreachable_window(), Duration::from_secs(100));
        assert!(
            d.describe().contains("max_agent_ping_timeouts 5"),
            "{}",
            d.describe()
        );
    }

    #[test]
    fn the_session_timeout_comes_from_the_same_flags() {
        let flags = [
            flag("zk_session_timeout", "10secs"),
            flag("agent_ping_timeout", "2secs"),
        ];
        assert_eq!(
            zk_session_timeout(&flags).unwrap(),
            (Duration::from_secs(10), "10secs".to_owned())
        );
        let e = zk_session_timeout(&flags[1..]).unwrap_err();
        assert!(e.contains("no `zk_session_timeout` flag"), "{e}");
        let e = zk_session_timeout(&[flag("zk_session_timeout", "soon")]).unwrap_err();
        assert!(e.contains("`soon` is not a Mesos duration"), "{e}");
    }

    #[test]
    fn missing_or_malformed_flags_are_refused() {
        let e = Pings::from_flags(&[flag("agent_ping_timeout", "2secs")]).unwrap_err();
        assert!(e.contains("max_agent_ping_timeouts"), "{e}");
        let e = Pings::from_flags(&[
            flag("agent_ping_timeout", "soon"),
            flag("max_agent_ping_timeouts", "3"),
        ])
        .unwrap_err();
        assert!(e.contains("`soon`"), "{e}");
    }

    #[test]
    fn the_masters_get_the_fast_ping_flags() {
        let c = config();
        assert_eq!((c.masters, c.agents), (1, 2));
        assert!(
            c.master_env
                .contains(&("MESOS_AGENT_PING_TIMEOUT".into(), PING_TIMEOUT.into()))
        );
        assert!(c.master_env.contains(&(
            "MESOS_MAX_AGENT_PING_TIMEOUTS".into(),
            MAX_PING_TIMEOUTS.into()
        )));
    }

    #[test]
    fn the_leader_case_runs_the_ha_layout_with_a_framework_that_survives_failover() {
        let c = leader_config();
        assert_eq!((c.zookeepers, c.masters, c.agents), (3, 3, 2));
        assert!(c.master_env.is_empty(), "default master flags");
        let f = ha_framework(None);
        assert_eq!(f.checkpoint, Some(true));
        assert_eq!(f.failover_timeout, Some(300.0));
        let id = Id::new("fw-1");
        assert_eq!(ha_framework(Some(id.clone())).id, Some(id));
        assert!(lost(TaskState::TaskUnreachable) && lost(TaskState::TaskLost));
        assert!(lost(TaskState::TaskKilled) && lost(TaskState::TaskFailed));
        assert!(!lost(TaskState::TaskRunning));
    }

    #[test]
    fn every_case_has_a_control_and_the_partition_case_the_fault_helper() {
        for c in cases() {
            assert!(c.control.is_some(), "{}", c.name);
            assert!(c.name.starts_with("chaos::mesos::"), "{}", c.name);
            let needs_helper = c.name.contains("partition");
            assert_eq!(
                c.images.iter().any(|i| i == "fault-helper"),
                needs_helper,
                "{}",
                c.name
            );
        }
    }
}
