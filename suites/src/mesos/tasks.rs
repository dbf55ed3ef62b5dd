//! Mesos task cases: command tasks run by the agent through ordeal's command executor
//! (`fixtures/mesos/executor`, installed as the image's `libexec/mesos-executor`), driven by a
//! framework subscribed through the v1 scheduler API.

use std::time::{Duration, Instant};

use ordeal::{
    check::CaseError,
    cluster::mesos::{
        MesosCluster, MesosTarget, Scheduler, SchedulerEvents,
        api::{
            CommandInfo, DurationInfo, EventType, Filters, HealthCheck, HealthCheckType, HttpCheck,
            Id, KillPolicy, Range, Ranges, Resource, TaskInfo, TaskState, TaskStatus, TcpCheck,
            ValueType,
        },
    },
    run::{Case, CaseCtx},
};

/// Every task case.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "mesos::tasks::command_task_starts_runs_and_finishes",
            "a command task goes TASK_STARTING, TASK_RUNNING, TASK_FINISHED (source executor) within 30 s, and its output lands in the sandbox's stdout",
            command_task,
        )
        .control("the task's command exits 3")
        .source("CHECKS.md M-O4; include/mesos/v1/mesos.proto TaskState; docs/scheduler-http-api.md"),
        Case::new(
            "mesos::tasks::invalid_task_gets_task_error",
            "a task whose HTTP health check path lacks the leading '/' is refused by the master with TASK_ERROR (REASON_TASK_INVALID) and never starts",
            invalid_task,
        )
        .control("the health check path is valid")
        .source("CHECKS.md M-O5; src/master/validation.cpp (health check validation); docs/high-availability-framework-guide.md"),
        Case::new(
            "mesos::health::failing_command_check_reports_unhealthy_then_kills_after_consecutive_failures",
            "a COMMAND health check that passes, then fails, yields TASK_RUNNING healthy=true, then consecutive_failures (3) TASK_RUNNING healthy=false updates, then TASK_KILLED with healthy=false",
            failing_command_check,
        )
        .control("the health check never fails")
        .source("CHECKS.md M-H1, M-H2; src/tests/health_check_tests.cpp ConsecutiveFailures; docs/health-checks.md"),
        Case::new(
            "mesos::health::http_check_reports_healthy",
            "an HTTP health check against the task's own server (busybox httpd on its port) reports TASK_RUNNING healthy=true within delay + grace period",
            http_check,
        )
        .control("the check asks for a path the server answers 404")
        .source("CHECKS.md M-H1, M-H7; src/tests/health_check_tests.cpp HealthyTaskViaHTTP; docs/health-checks.md"),
        Case::new(
            "mesos::health::tcp_check_reports_healthy",
            "a TCP health check against the port the task listens on reports TASK_RUNNING healthy=true within delay + grace period",
            tcp_check,
        )
        .control("the check connects to a port nothing listens on")
        .source("CHECKS.md M-H1; src/tests/health_check_tests.cpp HealthyTaskViaTCP; docs/health-checks.md"),
        Case::new(
            "mesos::kill::task_ignoring_sigterm_is_killed_after_its_grace_period",
            "KILL of a task that ignores SIGTERM, with a 2 s kill policy, ends TASK_KILLED by SIGKILL no sooner than 2 s and within 2 s + 10 s",
            kill_with_grace,
        )
        .control("the task exits on SIGTERM")
        .source("include/mesos/v1/mesos.proto KillPolicy.grace_period; src/launcher/executor.cpp (SIGTERM, then SIGKILL)"),
        Case::new(
            "mesos::recovery::killed_agent_process_restarts_and_the_executor_resubscribes",
            "SIGKILL of the agent process (a supervisor restarts it; the container stays): the agent re-registers with the same id within 30 s, the task's process survives, and a KILL then ends the task TASK_KILLED by its re-subscribed executor",
            |ctx| agent_restart(ctx, Restart::Process),
        )
        .control("the framework does not checkpoint (its executor gives up when the agent goes)")
        .source("CHECKS.md M-P8; docs/agent-recovery.md; docs/configuration/agent.md (executor_reregistration_timeout)"),
        Case::new(
            "mesos::recovery::restarted_agent_container_keeps_checkpointed_tasks_running",
            "SIGKILL of the agent container, then `docker start` of it (same address and hostname, same work directory): the agent recovers its checkpoint and re-registers with the same id within 30 s, the task stays TASK_RUNNING with its process alive, and a KILL then ends it TASK_KILLED by its re-subscribed executor",
            |ctx| agent_restart(ctx, Restart::Container),
        )
        .control("the framework does not checkpoint (its executor gives up when the agent goes)")
        .source("CHECKS.md M-P8; docs/agent-recovery.md (checkpointed frameworks survive an agent restart)"),
    ]
}

/// A framework with one task launched on the first offer, recording every update.
pub(crate) struct Launched {
    pub(crate) sched: Scheduler,
    events: SchedulerEvents,
    pub(crate) task_id: Id,
    pub(crate) agent_id: Id,
    accepted: Instant,
    pub(crate) updates: Vec<(Duration, TaskStatus)>,
}

impl Launched {
    /// Subscribes a checkpointing framework, takes the first offer and launches
    /// `task(agent, task_id)` on it.
    pub(crate) async fn start(
        ctx: &CaseCtx,
        target: &MesosTarget,
        task: impl FnOnce(Id, Id) -> TaskInfo,
    ) -> Result<Self, CaseError> {
        Self::start_with(ctx, target, true, task).await
    }

    /// Like [`Self::start`]; `checkpoint` is the framework's.
    async fn start_with(
        ctx: &CaseCtx,
        target: &MesosTarget,
        checkpoint: bool,
        task: impl FnOnce(Id, Id) -> TaskInfo,
    ) -> Result<Self, CaseError> {
        let info = target.framework_info(checkpoint, 0.0, &["TASK_KILLING_STATE"]);
        let (sched, mut events) = Scheduler::subscribe(target.url(), &info).await?;
        let offer = tokio::time::timeout(Duration::from_secs(15), async {
            loop {
                match events.next().await {
                    Ok(Some(e)) if e.kind == EventType::Offers => {
                        if let Some(o) = e.offers.and_then(|o| o.offers.into_iter().next()) {
                            return Ok(o);
                        }
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        return Err(CaseError::infra("event stream closed before an offer"));
                    }
                    Err(e) => return Err(CaseError::infra(e)),
                }
            }
        })
        .await
        .map_err(|_| CaseError::failed("expected an offer within 15 s; none came"))??;
        let task_id = Id::new(format!("task-{}", ctx.token()));
        let mut t = task(offer.agent_id.clone(), task_id.clone());
        // A framework in a role of its own (MULTI_ROLE) says which role each resource it
        // uses was offered to.
        if target.role().is_some() {
            let allocation = offer.allocation_info.clone().or_else(|| {
                offer
                    .resources
                    .iter()
                    .find_map(|r| r.allocation_info.clone())
            });
            for r in &mut t.resources {
                r.allocation_info.clone_from(&allocation);
            }
        }
        let accepted = Instant::now();
        sched
            .launch(
                std::slice::from_ref(&offer.id),
                &[t],
                Filters {
                    refuse_seconds: Some(60.0),
                },
            )
            .await?;
        ctx.step(format!(
            "task {} launched on agent {}",
            task_id.value, offer.hostname
        ));
        Ok(Self {
            sched,
            events,
            task_id,
            agent_id: offer.agent_id,
            accepted,
            updates: Vec::new(),
        })
    }

    /// The next update of the task within `window` (acknowledged), `None` if none came.
    async fn next(&mut self, window: Duration) -> Result<Option<TaskStatus>, CaseError> {
        let deadline = tokio::time::Instant::now() + window;
        loop {
            let e = match tokio::time::timeout_at(deadline, self.events.next()).await {
                Err(_) => return Ok(None),
                Ok(Ok(Some(e))) => e,
                Ok(Ok(None)) => return Err(CaseError::infra("the master closed the event stream")),
                Ok(Err(e)) => return Err(CaseError::infra(e)),
            };
            let Some(status) = e.update.map(|u| u.status) else {
                continue;
            };
            if status.task_id != self.task_id {
                continue;
            }
            self.sched.acknowledge(&status).await?;
            self.updates.push((self.accepted.elapsed(), status.clone()));
            return Ok(Some(status));
        }
    }

    /// Reads updates until `done` holds for one, for at most `window`.
    pub(crate) async fn until(
        &mut self,
        window: Duration,
        done: impl Fn(&TaskStatus) -> bool,
    ) -> Result<Option<TaskStatus>, CaseError> {
        let deadline = Instant::now() + window;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.next(left).await? {
                Some(s) if done(&s) => return Ok(Some(s)),
                Some(s) if s.state.is_terminal() => return Ok(None),
                Some(_) => {}
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The updates so far, for failure messages and the timeline.
    pub(crate) fn history(&self) -> String {
        if self.updates.is_empty() {
            return "no update".into();
        }
        self.updates
            .iter()
            .map(|(t, s)| format!("{:.2}s {}", t.as_secs_f64(), describe(s)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// When the first update in `state` came, after the launch.
    pub(crate) fn first(&self, state: TaskState) -> Option<Duration> {
        self.updates
            .iter()
            .find(|(_, s)| s.state == state)
            .map(|(t, _)| *t)
    }
}

pub(crate) fn describe(s: &TaskStatus) -> String {
    let mut t = format!("{:?}", s.state);
    if let Some(h) = s.healthy {
        t = format!("{t} healthy={h}");
    }
    if let Some(r) = &s.reason {
        t = format!("{t} {r}");
    }
    if let Some(m) = s.message.as_deref().filter(|m| !m.is_empty()) {
        t = format!("{t} '{m}'");
    }
    t
}

fn resources(port: Option<u64>) -> Vec<Resource> {
    let mut r = vec![Resource::scalar("cpus", 0.1), Resource::scalar("mem", 32.0)];
    if let Some(p) = port {
        r.push(Resource {
            name: "ports".into(),
            kind: ValueType::Ranges,
            scalar: None,
            ranges: Some(Ranges {
                range: vec![Range { begin: p, end: p }],
            }),
            reservations: vec![],
            allocation_info: None,
        });
    }
    r
}

pub(crate) fn task(agent: Id, id: Id, command: &str) -> TaskInfo {
    TaskInfo {
        name: "ordeal".into(),
        task_id: id,
        agent_id: agent,
        resources: resources(None),
        command: Some(CommandInfo::shell(command)),
        health_check: None,
        kill_policy: None,
    }
}

pub(crate) fn health(kind: HealthCheckType) -> HealthCheck {
    HealthCheck {
        kind,
        command: None,
        http: None,
        tcp: None,
        delay_seconds: Some(0.0),
        interval_seconds: Some(1.0),
        timeout_seconds: Some(2.0),
        consecutive_failures: Some(3),
        grace_period_seconds: Some(10.0),
    }
}

/// The framework name of the task cases on clusters ordeal starts.
pub(crate) const FRAMEWORK: &str = "ordeal-tasks";

async fn command_task(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = MesosCluster::start(&ctx, 1, 1).await?;
    let exit = if ctx.negative_control() { 3 } else { 0 };
    let token = command_task_runs(&ctx, &cluster.target(FRAMEWORK).await?, exit).await?;
    let out = cluster.agents[0]
        .sh("cat /var/lib/mesos/agent/slaves/*/frameworks/*/executors/*/runs/latest/stdout")
        .await?;
    if !out.stdout.contains(&token) {
        return Err(CaseError::failed(format!(
            "expected the sandbox's stdout to hold the task's output `{token}`; it holds: {}",
            out.summary()
        )));
    }
    ctx.check_passed("output in the sandbox");
    Ok(())
}

/// A command task that prints a token and ends with `exit` goes TASK_STARTING, TASK_RUNNING,
/// TASK_FINISHED, every update from its executor, within 30 s; returns the token it printed.
pub(crate) async fn command_task_runs(
    ctx: &CaseCtx,
    target: &MesosTarget,
    exit: u8,
) -> Result<String, CaseError> {
    let token = format!("ordeal-{}", ctx.token());
    let command = if exit == 0 {
        format!("echo {token}; sleep 1")
    } else {
        format!("echo {token}; exit {exit}")
    };
    let mut t = Launched::start(ctx, target, |a, i| task(a, i, &command)).await?;
    let window = Duration::from_secs(30);
    t.until(window, |s| s.state.is_terminal()).await?;
    let _ = t.sched.teardown().await;
    let states: Vec<TaskState> = t.updates.iter().map(|(_, s)| s.state).collect();
    let want = [
        TaskState::TaskStarting,
        TaskState::TaskRunning,
        TaskState::TaskFinished,
    ];
    if states != want {
        return Err(CaseError::failed(format!(
            "expected TASK_STARTING, TASK_RUNNING, TASK_FINISHED within {window:?} of the launch; got {}",
            t.history()
        )));
    }
    if let Some((_, s)) = t
        .updates
        .iter()
        .find(|(_, s)| s.source.as_deref() != Some("SOURCE_EXECUTOR"))
    {
        return Err(CaseError::failed(format!(
            "expected every update from SOURCE_EXECUTOR; got {} from {:?}",
            describe(s),
            s.source
        )));
    }
    ctx.step(format!(
        "launch to TASK_RUNNING {:.0} ms; updates: {}",
        t.first(TaskState::TaskRunning)
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3,
        t.history()
    ));
    ctx.check_passed("TASK_STARTING, TASK_RUNNING, TASK_FINISHED");
    Ok(token)
}

async fn invalid_task(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = MesosCluster::start(&ctx, 1, 1).await?;
    let path = if ctx.negative_control() {
        "/health"
    } else {
        "health"
    };
    invalid_task_refused(&ctx, &cluster.target(FRAMEWORK).await?, path).await
}

/// A task whose HTTP health check has path `path` (`health`, without the leading `/`, is
/// invalid) gets TASK_ERROR REASON_TASK_INVALID from the master as its first update.
pub(crate) async fn invalid_task_refused(
    ctx: &CaseCtx,
    target: &MesosTarget,
    path: &str,
) -> Result<(), CaseError> {
    let mut t = Launched::start(ctx, target, |a, i| {
        let mut t = task(a, i, "sleep 30");
        let mut h = health(HealthCheckType::Http);
        h.http = Some(HttpCheck {
            port: 31_000,
            path: Some(path.into()),
        });
        t.health_check = Some(h);
        t
    })
    .await?;
    let first = t.next(Duration::from_secs(15)).await?;
    let _ = t.sched.teardown().await;
    match first {
        Some(s)
            if s.state == TaskState::TaskError
                && s.reason.as_deref() == Some("REASON_TASK_INVALID") =>
        {
            ctx.check_passed(&format!("refused: {}", describe(&s)));
            Ok(())
        }
        _ => Err(CaseError::failed(format!(
            "expected TASK_ERROR REASON_TASK_INVALID as the first update within 15 s; got {}",
            t.history()
        ))),
    }
}

async fn failing_command_check(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = MesosCluster::start(&ctx, 1, 1).await?;
    let check = if ctx.negative_control() {
        "true"
    } else {
        "test -f healthy"
    };
    command_check_kills(&ctx, &cluster.target(FRAMEWORK).await?, check).await
}

/// A task that is healthy for 4 s under COMMAND health check `check` (`test -f healthy`
/// fails once the task removes the file): TASK_RUNNING healthy=true, then 3 (consecutive
/// failures) TASK_RUNNING healthy=false, then TASK_KILLED healthy=false. Needs only `sh`.
pub(crate) async fn command_check_kills(
    ctx: &CaseCtx,
    target: &MesosTarget,
    check: &str,
) -> Result<(), CaseError> {
    let mut t = Launched::start(ctx, target, |a, i| {
        let mut t = task(a, i, "touch healthy && sleep 4 && rm healthy && sleep 120");
        let mut h = health(HealthCheckType::Command);
        h.command = Some(CommandInfo::shell(check));
        t.health_check = Some(h);
        t
    })
    .await?;
    // Healthy within the grace period, then 3 failures 1 s apart (+ check time), then the
    // kill (sleep honours SIGTERM): 4 + 3 × (1 + 2) + 3 s, rounded up.
    let window = Duration::from_secs(40);
    let end = t.until(window, |s| s.state.is_terminal()).await?;
    let _ = t.sched.teardown().await;
    let Some(end) = end.filter(|s| s.state == TaskState::TaskKilled) else {
        return Err(CaseError::failed(format!(
            "expected TASK_KILLED after 3 failed health checks within {window:?}; got {}",
            t.history()
        )));
    };
    let running: Vec<Option<bool>> = t
        .updates
        .iter()
        .filter(|(_, s)| s.state == TaskState::TaskRunning)
        .map(|(_, s)| s.healthy)
        .collect();
    let healthy_first = running.iter().position(|h| *h == Some(true));
    let unhealthy = running.iter().filter(|h| **h == Some(false)).count();
    if healthy_first.is_none() || unhealthy != 3 || end.healthy != Some(false) {
        return Err(CaseError::failed(format!(
            "expected TASK_RUNNING healthy=true, then 3 TASK_RUNNING healthy=false, then TASK_KILLED healthy=false; got {}",
            t.history()
        )));
    }
    ctx.step(t.history());
    ctx.check_passed("healthy, 3 × unhealthy, TASK_KILLED healthy=false");
    Ok(())
}

/// Launches a task serving its sandbox's `www/` with busybox httpd on a port of the offer,
/// with health check `h(port)`, and waits for TASK_RUNNING healthy=true.
async fn healthy_server(
    ctx: &CaseCtx,
    h: impl FnOnce(u32) -> HealthCheck,
) -> Result<(), CaseError> {
    let cluster = MesosCluster::start(ctx, 1, 1).await?;
    let port = 31_000 + ctx.random_u64() % 1000;
    let check = h(u32::try_from(port).expect("port fits"));
    let mut t = Launched::start(ctx, &cluster.target(FRAMEWORK).await?, |a, i| {
        let mut t = task(
            a,
            i,
            &format!(
                "mkdir -p www && echo ok > www/health && exec busybox httpd -f -p {port} -h www"
            ),
        );
        t.resources = resources(Some(port));
        t.health_check = Some(check);
        t
    })
    .await?;
    // delay 0 + grace period 10 s + a check's timeout 2 s + slack.
    let window = Duration::from_secs(20);
    let got = t
        .until(window, |s| {
            s.state == TaskState::TaskRunning && s.healthy.is_some()
        })
        .await?;
    let result = match got {
        Some(s) if s.healthy == Some(true) => {
            ctx.check_passed(&format!("{} after the launch", t.history()));
            Ok(())
        }
        _ => Err(CaseError::failed(format!(
            "expected TASK_RUNNING healthy=true within {window:?}; got {}",
            t.history()
        ))),
    };
    let _ = t.sched.kill(&t.task_id, &t.agent_id).await;
    result
}

async fn http_check(ctx: CaseCtx) -> Result<(), CaseError> {
    let path = if ctx.negative_control() {
        "/missing"
    } else {
        "/health"
    };
    healthy_server(&ctx, |port| {
        let mut h = health(HealthCheckType::Http);
        h.http = Some(HttpCheck {
            port,
            path: Some(path.into()),
        });
        h
    })
    .await
}

async fn tcp_check(ctx: CaseCtx) -> Result<(), CaseError> {
    let negative = ctx.negative_control();
    healthy_server(&ctx, |port| {
        let mut h = health(HealthCheckType::Tcp);
        // Port 1 is privileged and unused in the agent container.
        h.tcp = Some(TcpCheck {
            port: if negative { 1 } else { port },
        });
        h
    })
    .await
}

async fn kill_with_grace(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = MesosCluster::start(&ctx, 1, 1).await?;
    let grace = Duration::from_secs(2);
    let command = if ctx.negative_control() {
        "sleep 120"
    } else {
        "trap '' TERM; sleep 120"
    };
    let mut t = Launched::start(&ctx, &cluster.target(FRAMEWORK).await?, |a, i| {
        let mut t = task(a, i, command);
        t.kill_policy = Some(KillPolicy {
            grace_period: Some(DurationInfo::from_duration(grace)),
        });
        t
    })
    .await?;
    if t.until(Duration::from_secs(30), |s| {
        s.state == TaskState::TaskRunning
    })
    .await?
    .is_none()
    {
        return Err(CaseError::failed(format!(
            "expected TASK_RUNNING within 30 s; got {}",
            t.history()
        )));
    }
    let asked = Instant::now();
    t.sched.kill(&t.task_id, &t.agent_id).await?;
    ctx.step("KILL sent");
    let window = grace + Duration::from_secs(10);
    let end = t.until(window, |s| s.state.is_terminal()).await?;
    let took = asked.elapsed();
    match end {
        Some(s)
            if s.state == TaskState::TaskKilled
                && took >= grace
                && s.message.as_deref() == Some("Command terminated with signal Killed") =>
        {
            ctx.check_passed(&format!(
                "TASK_KILLED by SIGKILL {:.2} s after KILL (grace {grace:?})",
                took.as_secs_f64()
            ));
            Ok(())
        }
        _ => Err(CaseError::failed(format!(
            "expected TASK_KILLED 'Command terminated with signal Killed' between {grace:?} and {window:?} after KILL; after {:.2} s got {}",
            took.as_secs_f64(),
            t.history()
        ))),
    }
}

pub(crate) const SANDBOX: &str =
    "/var/lib/mesos/agent/slaves/*/frameworks/*/executors/*/runs/latest";

/// What goes down in a recovery case.
#[derive(Debug, Clone, Copy)]
enum Restart {
    /// `mesos-agent` is SIGKILLed inside its container, and a supervisor loop starts it again.
    Process,
    /// The agent container is SIGKILLed and started again ([`MesosCluster::start_sandboxed`]).
    Container,
}

async fn agent_restart(ctx: CaseCtx, restart: Restart) -> Result<(), CaseError> {
    let cluster = match restart {
        Restart::Process => MesosCluster::start_restartable(&ctx, 1, 1).await?,
        Restart::Container => MesosCluster::start_sandboxed(&ctx, 1, 1).await?,
    };
    let checkpoint = !ctx.negative_control();
    let mut t = Launched::start_with(
        &ctx,
        &cluster.target(FRAMEWORK).await?,
        checkpoint,
        |a, i| task(a, i, "echo $$ > task.pid; exec sleep 3600"),
    )
    .await?;
    if t.until(Duration::from_secs(30), |s| {
        s.state == TaskState::TaskRunning
    })
    .await?
    .is_none()
    {
        return Err(CaseError::failed(format!(
            "expected TASK_RUNNING within 30 s; got {}",
            t.history()
        )));
    }
    let agent_id = t.agent_id.clone();
    // Evidence for the report (not a check): what the running executor costs.
    if let Ok(o) = cluster.agents[0]
        .sh("ps -o rss=,vsz= -C mesos-executor")
        .await
    {
        ctx.step(format!(
            "executor RSS/VSZ (KiB): {}",
            o.stdout.split_whitespace().collect::<Vec<_>>().join(" / ")
        ));
    }
    let killed_at = std::time::SystemTime::now();
    let killed = Instant::now();
    match restart {
        Restart::Process => {
            cluster.kill_agent_process(0).await?;
            ctx.fault_injected("kill -9", "mesos-agent process in agent1");
        }
        Restart::Container => {
            cluster.restart_agent_container(0).await?;
            ctx.fault_injected("docker kill + docker start", "agent container agent1");
        }
    }
    let window = Duration::from_secs(30);
    ordeal::check::eventually(
        "the restarted agent to re-register with the same id",
        window,
        Duration::from_millis(300),
        || cluster.agent_reregistered_since(&agent_id, killed_at),
    )
    .await?;
    ctx.step(format!(
        "agent re-registered {:.2} s after the kill",
        killed.elapsed().as_secs_f64()
    ));
    // Give the restarted agent its executor re-registration timeout (2 s) to settle, then
    // look at the task process and at what the scheduler heard meanwhile.
    if let Some(s) = t
        .until(Duration::from_secs(3), |s| s.state.is_terminal())
        .await?
    {
        return Err(CaseError::failed(format!(
            "expected the task to survive the agent's restart; it ended {} (updates: {})",
            describe(&s),
            t.history()
        )));
    }
    let alive = cluster.agents[0]
        .sh(&format!("kill -0 $(cat {SANDBOX}/task.pid)"))
        .await?;
    if alive.code != 0 {
        return Err(CaseError::failed(format!(
            "expected the task's process to survive the agent's restart; it is gone ({}); updates: {}",
            alive.summary(),
            t.history()
        )));
    }
    t.sched.kill(&t.task_id, &t.agent_id).await?;
    ctx.step("KILL sent");
    let end = t
        .until(Duration::from_secs(15), |s| s.state.is_terminal())
        .await?;
    let log = cluster.agents[0]
        .sh(&format!("tail -n 12 {SANDBOX}/stderr"))
        .await
        .map(|o| o.stdout)
        .unwrap_or_default();
    match end {
        Some(s)
            if s.state == TaskState::TaskKilled
                && s.source.as_deref() == Some("SOURCE_EXECUTOR") =>
        {
            ctx.step(format!("executor log:\n{log}"));
            ctx.check_passed("agent back with the same id, task alive, killed by its executor");
            Ok(())
        }
        _ => Err(CaseError::failed(format!(
            "expected TASK_KILLED from the re-subscribed executor within 15 s of the KILL; got {}; executor log: {log}",
            t.history()
        ))),
    }
}
