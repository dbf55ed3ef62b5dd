//! Mesos scheduling cases (CHECKS.md §3.7): what the real allocator offers a framework and
//! when, after DECLINE filters, SUPPRESS and REVIVE, and under `--min_allocatable_resources`;
//! what the master does with a launch on an offer that is gone, and with the offers of an
//! agent that goes away.
//! Every window comes from the leading master's live flags (`GET_FLAGS`), plus stated slack.

use std::time::{Duration, Instant};

use ordeal::{
    check::CaseError,
    cluster::mesos::{
        MesosCluster, MesosConfig, MesosTarget, Operator, Scheduler, SchedulerEvents,
        api::{
            CommandInfo, Event, EventType, Filters, Id, Offer, Resource, TaskInfo, TaskState,
            TaskStatus, parse_duration, scalar_sum,
        },
    },
    run::{Case, CaseCtx},
};

use super::tasks::{describe, task};
use crate::chaos::mesos::Pings;

/// Every scheduling case.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "mesos::scheduling::declined_offer_is_not_reoffered_for_refuse_seconds",
            "an offer declined with filters.refuse_seconds = 5 is not re-offered from that agent for 5 s, and is re-offered within max(5 s, allocation_interval) + allocation_interval (live flag) + 5 s slack",
            declined_offer,
        )
        .control("the offer is declined with refuse_seconds = 0")
        .source("include/mesos/v1/mesos.proto `Filters.refuse_seconds` (default 5); src/master/allocator/mesos/hierarchical.cpp `recoverResources` (the filter lasts max(refuse_seconds, allocation_interval), MESOS-4302); src/tests/hierarchical_allocator_tests.cpp \"OfferFilter\""),
        Case::new(
            "mesos::scheduling::suppressed_framework_gets_no_offers_until_it_revives",
            "a framework that SUPPRESSes and then declines its only offer (refuse_seconds = 0) gets no offer for 5 allocation intervals (live flag); after REVIVE it is offered again within one allocation interval + 5 s slack",
            suppress_revive,
        )
        .control("the framework does not SUPPRESS (the declined offer comes back at the next allocation)")
        .smoke()
        .source("include/mesos/v1/scheduler/scheduler.proto `Call.SUPPRESS` / `Call.REVIVE`; src/tests/scheduler_tests.cpp \"SuppressAndReviveOffers\""),
        Case::new(
            "mesos::scheduling::declined_resources_are_reoffered_within_the_default_allocation_interval",
            "resources declined with refuse_seconds = 0 come back at the allocator's next batch allocation: three times in a row, the agent is re-offered within Mesos' default --allocation_interval (1 s, master.md) + 4 s slack. The window is the documented default, not the live flag (which the case reports): the check asserts the default cadence, and its control runs a master with --allocation_interval=60secs. The first offer after SUBSCRIBED is not the measure: adding a framework triggers an allocation at once, whatever the interval",
            reoffer_cadence,
        )
        .control("the master runs with --allocation_interval=60secs")
        .smoke()
        .source("docs/configuration/master.md `--allocation_interval` (default 1secs); src/master/allocator/mesos/hierarchical.cpp (batch allocation every allocation_interval; `recoverResources` does not allocate)"),
        Case::new(
            "mesos::scheduling::resources_below_min_allocatable_resources_are_not_offered",
            "with --min_allocatable_resources=cpus:1;mem:256 (read back from the live flags), the 0.4 cpus left on an agent by a 1.6-cpu task are never offered during 5 allocation intervals + 5 s, while the other, idle agent is re-offered after each decline",
            min_allocatable,
        )
        .control("the master keeps the default --min_allocatable_resources (cpus:0.01|mem:32)")
        .source("docs/configuration/master.md `--min_allocatable_resources` (default cpus:0.01|mem:32); src/master/allocator/mesos/hierarchical.cpp `isAllocatable`"),
        Case::new(
            "mesos::scheduling::launch_on_a_declined_offer_is_dropped_or_lost",
            "a task launched on an offer the framework already declined is refused by the master: TASK_LOST for a framework that is not PARTITION_AWARE and TASK_DROPPED for one that is, both with REASON_INVALID_OFFERS and SOURCE_MASTER, within 5 s, and the master's `master/tasks_lost` and `master/tasks_dropped` metrics each go up by one",
            invalid_offer,
        )
        .control("the offer is not declined before the launch, so it is valid and the task starts")
        .source("CHECKS.md M-O6; src/master/master.cpp `Master::accept` (\"Task launched with invalid offers\"); include/mesos/v1/mesos.proto `TaskState` (TASK_DROPPED for PARTITION_AWARE frameworks)"),
        Case::new(
            "mesos::scheduling::offers_of_an_agent_that_goes_away_are_rescinded",
            "an offer the framework holds is rescinded (RESCIND with its offer id) once its agent's container is SIGKILLed: within agent_ping_timeout x (max_agent_ping_timeouts + 1) (live flags) + 10 s, the bound when the master only notices by missed pings; the master rescinds as soon as it sees the agent disconnect",
            rescinded_offer,
        )
        .control("the agent is not stopped, so its offer stays outstanding")
        .source("CHECKS.md M-O7; src/master/master.cpp `Master::deactivate(Slave*)` (\"Remove and rescind offers\"); src/tests/partition_tests.cpp \"PartitionedSlave\" (offerRescinded)"),
    ]
}

/// The framework name of these cases.
const FRAMEWORK: &str = "ordeal-scheduling";

/// Offers in flight and scheduling on a busy host: what any window below adds.
const SLACK: Duration = Duration::from_secs(5);

/// The leading master's live `--allocation_interval`.
pub(crate) async fn allocation_interval(op: &Operator) -> Result<Duration, CaseError> {
    let v = op
        .flag("allocation_interval")
        .await?
        .ok_or_else(|| CaseError::infra("the master's GET_FLAGS lists no allocation_interval"))?;
    parse_duration(&v)
        .ok_or_else(|| CaseError::infra(format!("allocation_interval `{v}` does not parse")))
}

/// A subscribed framework that watches its offers.
struct Framework {
    sched: Scheduler,
    events: SchedulerEvents,
}

impl Framework {
    async fn subscribe(ctx: &CaseCtx, target: &MesosTarget) -> Result<Self, CaseError> {
        let (sched, events) =
            Scheduler::subscribe(target.url(), &target.framework_info(false, 0.0, &[])).await?;
        ctx.step(format!("framework {} subscribed", sched.framework_id.value));
        Ok(Self { sched, events })
    }

    /// The first event within `window` that `pick` turns into a value; `None` if none came.
    async fn next_matching<T>(
        &mut self,
        window: Duration,
        mut pick: impl FnMut(Event) -> Option<T>,
    ) -> Result<Option<T>, CaseError> {
        let deadline = tokio::time::Instant::now() + window;
        loop {
            match tokio::time::timeout_at(deadline, self.events.next()).await {
                Err(_) => return Ok(None),
                Ok(Ok(Some(e))) => {
                    if let Some(v) = pick(e) {
                        return Ok(Some(v));
                    }
                }
                Ok(Ok(None)) => return Err(CaseError::infra("the master closed the event stream")),
                Ok(Err(e)) => return Err(CaseError::infra(e)),
            }
        }
    }

    /// The offers of the next OFFERS event within `window`; `None` if none came.
    async fn next_offers(&mut self, window: Duration) -> Result<Option<Vec<Offer>>, CaseError> {
        self.next_matching(window, |e| {
            e.offers
                .filter(|_| e.kind == EventType::Offers)
                .map(|o| o.offers)
                .filter(|o| !o.is_empty())
        })
        .await
    }

    /// Offers until one from every agent in `agents` arrived, within `window`.
    async fn offers_from(
        &mut self,
        agents: usize,
        window: Duration,
    ) -> Result<Vec<Offer>, CaseError> {
        let deadline = Instant::now() + window;
        let mut got: Vec<Offer> = Vec::new();
        while got.len() < agents {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_offers(left).await? {
                Some(offers) => {
                    for o in offers {
                        if !got.iter().any(|g| g.agent_id == o.agent_id) {
                            got.push(o);
                        }
                    }
                }
                None => {
                    return Err(CaseError::failed(format!(
                        "expected offers from {agents} agent(s) within {window:?} of SUBSCRIBED; got {}",
                        got.len()
                    )));
                }
            }
        }
        Ok(got)
    }

    /// The next status update of `task` within `window`; `None` if none came.
    async fn next_update(
        &mut self,
        task: &Id,
        window: Duration,
    ) -> Result<Option<TaskStatus>, CaseError> {
        self.next_matching(window, |e| {
            e.update.map(|u| u.status).filter(|s| &s.task_id == task)
        })
        .await
    }

    async fn decline(&mut self, offers: &[Offer], refuse_seconds: f64) -> Result<(), CaseError> {
        let ids: Vec<Id> = offers.iter().map(|o| o.id.clone()).collect();
        self.sched
            .decline(
                &ids,
                Filters {
                    refuse_seconds: Some(refuse_seconds),
                },
            )
            .await?;
        Ok(())
    }
}

fn hosts(offers: &[Offer]) -> Vec<&str> {
    offers.iter().map(|o| o.hostname.as_str()).collect()
}

async fn declined_offer(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = MesosCluster::start(&ctx, 1, 1).await?;
    let target = cluster.target(FRAMEWORK).await?;
    let interval = allocation_interval(&target.operator()).await?;
    // The default of `Filters.refuse_seconds` (mesos.proto), sent explicitly.
    let refuse = Duration::from_secs(5);
    let sent = if ctx.negative_control() {
        ctx.fault_injected("decline with refuse_seconds = 0", "the framework's DECLINE");
        Duration::ZERO
    } else {
        refuse
    };
    let mut fw = Framework::subscribe(&ctx, &target).await?;
    let first = fw.offers_from(1, interval + SLACK).await?;
    let agent = first[0].agent_id.clone();
    let declined = Instant::now();
    fw.decline(&first, sent.as_secs_f64()).await?;
    ctx.step(format!(
        "declined the offer of {} with refuse_seconds {}; live allocation_interval {interval:?}",
        first[0].hostname,
        sent.as_secs_f64()
    ));
    // The allocator keeps the filter max(refuse_seconds, allocation_interval) (MESOS-4302),
    // then offers the agent at its next batch allocation, one interval later at most.
    let window = refuse.max(interval) + interval + SLACK;
    let deadline = declined + window;
    let back = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match fw.next_offers(left).await? {
            Some(offers) if offers.iter().any(|o| o.agent_id == agent) => {
                break Some(declined.elapsed());
            }
            Some(_) => {}
            None => break None,
        }
    };
    let _ = fw.sched.teardown().await;
    match back {
        Some(t) if t < refuse => Err(CaseError::failed(format!(
            "expected the declined agent not to be re-offered for refuse_seconds ({refuse:?}); re-offered {:.2} s after the DECLINE",
            t.as_secs_f64()
        ))),
        Some(t) => {
            ctx.check_passed(&format!(
                "re-offered {:.2} s after the DECLINE (not before {refuse:?}, within {window:?})",
                t.as_secs_f64()
            ));
            Ok(())
        }
        None => Err(CaseError::failed(format!(
            "expected the declined agent to be re-offered within {window:?} (refuse_seconds {refuse:?}, allocation_interval {interval:?}, slack {SLACK:?}); no offer came"
        ))),
    }
}

async fn suppress_revive(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = MesosCluster::start(&ctx, 1, 1).await?;
    let target = cluster.target(FRAMEWORK).await?;
    let interval = allocation_interval(&target.operator()).await?;
    let mut fw = Framework::subscribe(&ctx, &target).await?;
    // The agent's resources are all in this one offer: nothing else is left to offer.
    let first = fw.offers_from(1, interval + SLACK).await?;
    if ctx.negative_control() {
        ctx.fault_injected("no SUPPRESS", "the framework");
    } else {
        fw.sched.suppress(&[]).await?;
    }
    // Declined without a filter, the resources would come back at the next allocation.
    fw.decline(&first, 0.0).await?;
    let quiet = interval * 5;
    ctx.step(format!(
        "declined the only offer with refuse_seconds 0; watching {quiet:?} (5 × live allocation_interval {interval:?})"
    ));
    let watched = Instant::now();
    if let Some(offers) = fw.next_offers(quiet).await? {
        let _ = fw.sched.teardown().await;
        return Err(CaseError::failed(format!(
            "expected no offer for {quiet:?} after SUPPRESS; offered {:?} {:.2} s after the decline",
            hosts(&offers),
            watched.elapsed().as_secs_f64()
        )));
    }
    ctx.check_passed(&format!("no offer for {quiet:?} while suppressed"));
    let revived = Instant::now();
    fw.sched.revive(&[]).await?;
    let window = interval + SLACK;
    let again = fw.next_offers(window).await?;
    let _ = fw.sched.teardown().await;
    match again {
        Some(offers) => {
            ctx.check_passed(&format!(
                "offered {:?} {:.2} s after REVIVE",
                hosts(&offers),
                revived.elapsed().as_secs_f64()
            ));
            Ok(())
        }
        None => Err(CaseError::failed(format!(
            "expected an offer within {window:?} of REVIVE; none came"
        ))),
    }
}

/// `--allocation_interval`'s default (docs/configuration/master.md: `1secs`).
const DEFAULT_ALLOCATION_INTERVAL: Duration = Duration::from_secs(1);

async fn reoffer_cadence(ctx: CaseCtx) -> Result<(), CaseError> {
    let mut config = MesosConfig::new(1, 1);
    if ctx.negative_control() {
        config
            .master_env
            .push(("MESOS_ALLOCATION_INTERVAL".into(), "60secs".into()));
    }
    let cluster = MesosCluster::start_config(&ctx, &config).await?;
    if ctx.negative_control() {
        ctx.fault_injected("--allocation_interval=60secs", "master1");
    }
    let target = cluster.target(FRAMEWORK).await?;
    let live = allocation_interval(&target.operator()).await?;
    let mut fw = Framework::subscribe(&ctx, &target).await?;
    let subscribed = Instant::now();
    // Adding a framework allocates at once, so this bound holds whatever the interval.
    let mut offers = fw
        .offers_from(1, live.min(DEFAULT_ALLOCATION_INTERVAL) + SLACK)
        .await?;
    ctx.step(format!(
        "first offer {:.2} s after SUBSCRIBED; live allocation_interval {live:?}",
        subscribed.elapsed().as_secs_f64()
    ));
    // 4 s: the tick lands anywhere in the interval, and a busy host delays the offer; three
    // rounds in a row, so a 60 s cadence cannot pass by a lucky tick.
    let window = DEFAULT_ALLOCATION_INTERVAL + Duration::from_secs(4);
    let mut took = Vec::new();
    for round in 1..=3 {
        let declined = Instant::now();
        fw.decline(&offers, 0.0).await?;
        match fw.next_offers(window).await? {
            Some(o) => {
                took.push(format!("{:.2}", declined.elapsed().as_secs_f64()));
                offers = o;
            }
            None => {
                let _ = fw.sched.teardown().await;
                return Err(CaseError::failed(format!(
                    "expected declined resources re-offered within {window:?} (default allocation_interval {DEFAULT_ALLOCATION_INTERVAL:?} + 4 s) in round {round}; none came (live allocation_interval {live:?}; earlier rounds took [{}] s)",
                    took.join(", ")
                )));
            }
        }
    }
    let _ = fw.sched.teardown().await;
    ctx.check_passed(&format!(
        "re-offered after {} s (window {window:?}; live allocation_interval {live:?})",
        took.join(", ")
    ));
    Ok(())
}

async fn min_allocatable(ctx: CaseCtx) -> Result<(), CaseError> {
    let mut config = MesosConfig::new(1, 2);
    if ctx.negative_control() {
        ctx.fault_injected(
            "default --min_allocatable_resources",
            "master1 (no override)",
        );
    } else {
        config.master_env.push((
            "MESOS_MIN_ALLOCATABLE_RESOURCES".into(),
            "cpus:1;mem:256".into(),
        ));
    }
    let cluster = MesosCluster::start_config(&ctx, &config).await?;
    let target = cluster.target(FRAMEWORK).await?;
    let op = target.operator();
    let interval = allocation_interval(&op).await?;
    let min = op
        .flag("min_allocatable_resources")
        .await?
        .unwrap_or_else(|| "(unset)".into());
    ctx.step(format!(
        "live min_allocatable_resources `{min}`, allocation_interval {interval:?}"
    ));
    let mut fw = Framework::subscribe(&ctx, &target).await?;
    let offers = fw.offers_from(2, interval + SLACK).await?;
    let (busy, idle) = (&offers[0], &offers[1]);
    // Leaves the busy agent 2 - 1.6 = 0.4 cpus: under cpus:1, over the default's cpus:0.01.
    let (cpus, mem) = (1.6, 256.0);
    if scalar_sum(&busy.resources, "cpus") < cpus {
        return Err(CaseError::infra(format!(
            "agent {} offers fewer than {cpus} cpus",
            busy.hostname
        )));
    }
    let task = TaskInfo {
        name: "ordeal-filler".into(),
        task_id: Id::new(format!("filler-{}", ctx.token())),
        agent_id: busy.agent_id.clone(),
        resources: vec![Resource::scalar("cpus", cpus), Resource::scalar("mem", mem)],
        command: Some(CommandInfo::shell("sleep 600")),
        health_check: None,
        kill_policy: None,
    };
    // No filter on what the task leaves, nor on the declined agent: both go back to the
    // allocator at once.
    let no_filter = Filters {
        refuse_seconds: Some(0.0),
    };
    fw.sched
        .launch(std::slice::from_ref(&busy.id), &[task], no_filter)
        .await?;
    fw.decline(std::slice::from_ref(idle), 0.0).await?;
    ctx.step(format!(
        "launched a {cpus}-cpu task on {}; declined {} with refuse_seconds 0",
        busy.hostname, idle.hostname
    ));
    let watch = interval * 5 + SLACK;
    let started = Instant::now();
    let mut idle_offers = 0u32;
    let mut remainder = None;
    while let Some(left) = watch.checked_sub(started.elapsed()) {
        let Some(offers) = fw.next_offers(left).await? else {
            break;
        };
        for o in &offers {
            if o.agent_id == busy.agent_id {
                remainder.get_or_insert((
                    started.elapsed(),
                    scalar_sum(&o.resources, "cpus"),
                    scalar_sum(&o.resources, "mem"),
                ));
            } else {
                idle_offers += 1;
            }
        }
        fw.decline(&offers, 0.0).await?;
    }
    let _ = fw.sched.teardown().await;
    if let Some((at, c, m)) = remainder {
        return Err(CaseError::failed(format!(
            "expected what is left on {} to stay unoffered under min_allocatable_resources `{min}`; offered cpus {c:.2}, mem {m} {:.2} s after the launch",
            busy.hostname,
            at.as_secs_f64()
        )));
    }
    if idle_offers == 0 {
        return Err(CaseError::failed(format!(
            "expected the idle agent {} to be re-offered during {watch:?}; it was not (the allocator is not allocating)",
            idle.hostname
        )));
    }
    ctx.check_passed(&format!(
        "the busy agent's remainder never offered in {watch:?}; the idle agent offered {idle_offers} time(s)"
    ));
    Ok(())
}

async fn invalid_offer(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = MesosCluster::start(&ctx, 1, 1).await?;
    let target = cluster.target(FRAMEWORK).await?;
    let op = target.operator();
    let interval = allocation_interval(&op).await?;
    let declined = !ctx.negative_control();
    if !declined {
        ctx.fault_injected("no DECLINE before the launch", "the framework");
    }
    let mut seen = Vec::new();
    for (capabilities, expected, metric) in [
        (&[][..], TaskState::TaskLost, "master/tasks_lost"),
        (
            &["PARTITION_AWARE"][..],
            TaskState::TaskDropped,
            "master/tasks_dropped",
        ),
    ] {
        let info = target.framework_info(false, 0.0, capabilities);
        let (sched, events) = Scheduler::subscribe(target.url(), &info).await?;
        let mut fw = Framework { sched, events };
        let offers = fw.offers_from(1, interval + SLACK).await?;
        let offer = &offers[0];
        if declined {
            // Filtered for a minute: the allocator cannot hand the agent back in between.
            fw.decline(&offers, 60.0).await?;
        }
        let before = op.metric(metric).await?.unwrap_or(0.0);
        let task = task(
            offer.agent_id.clone(),
            Id::new(format!("invalid-offer-{}-{}", seen.len(), ctx.token())),
            "sleep 600",
        );
        fw.sched
            .launch(
                std::slice::from_ref(&offer.id),
                std::slice::from_ref(&task),
                Filters::default(),
            )
            .await?;
        let update = fw.next_update(&task.task_id, SLACK).await?;
        let after = op.metric(metric).await?.unwrap_or(0.0);
        let _ = fw.sched.teardown().await;
        let kind = if capabilities.is_empty() {
            "a framework that is not PARTITION_AWARE"
        } else {
            "a PARTITION_AWARE framework"
        };
        let Some(u) = update else {
            return Err(CaseError::failed(format!(
                "expected {expected:?} for a launch on a declined offer by {kind} within {SLACK:?}; no update came"
            )));
        };
        let got = describe(&u);
        if u.state != expected
            || u.reason.as_deref() != Some("REASON_INVALID_OFFERS")
            || u.source.as_deref() != Some("SOURCE_MASTER")
        {
            return Err(CaseError::failed(format!(
                "expected {expected:?} REASON_INVALID_OFFERS from the master for a launch on a declined offer by {kind}; got {got} (source {:?})",
                u.source
            )));
        }
        if after < before + 1.0 {
            return Err(CaseError::failed(format!(
                "expected `{metric}` to go up by one; it went from {before} to {after}"
            )));
        }
        ctx.step(format!("{kind}: {got}; {metric} {before} -> {after}"));
        seen.push(format!("{expected:?}"));
    }
    ctx.check_passed(&format!(
        "launches on declined offers refused with {} (REASON_INVALID_OFFERS)",
        seen.join(" and ")
    ));
    Ok(())
}

async fn rescinded_offer(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = MesosCluster::start(&ctx, 1, 1).await?;
    let target = cluster.target(FRAMEWORK).await?;
    let op = target.operator();
    let interval = allocation_interval(&op).await?;
    let pings = Pings::live(&cluster).await?;
    let mut fw = Framework::subscribe(&ctx, &target).await?;
    let offers = fw.offers_from(1, interval + SLACK).await?;
    let offer = offers[0].id.clone();
    let killed = Instant::now();
    if ctx.negative_control() {
        ctx.fault_injected("the agent is left running", "agent1");
    } else {
        // The container, not the process: `mesos-agent` is its PID 1, which ignores a
        // SIGKILL sent from inside.
        cluster.agents[0].kill("KILL").await?;
        ctx.fault_injected("SIGKILL of the agent's container", "agent1");
    }
    // The master rescinds when it removes the agent at the latest: once it is unreachable.
    let window = pings.unreachable_window();
    let rescinded = fw
        .next_matching(window.saturating_sub(killed.elapsed()), |e| {
            e.rescind
                .filter(|r| e.kind == EventType::Rescind && r.offer_id == offer)
                .map(|_| killed.elapsed())
        })
        .await?;
    let _ = fw.sched.teardown().await;
    let Some(at) = rescinded else {
        return Err(CaseError::failed(format!(
            "expected offer {} rescinded within {window:?} of the agent going away ({}); no RESCIND came",
            offer.value,
            pings.describe()
        )));
    };
    ctx.check_passed(&format!(
        "offer {} rescinded {:.2} s after the agent was killed (window {window:?})",
        offer.value,
        at.as_secs_f64()
    ));
    Ok(())
}
