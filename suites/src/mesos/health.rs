//! Mesos health check cases beyond those in `tasks.rs` (CHECKS.md §3.8): the grace period, a
//! failure after the first success inside it, flapping health and the check timeout, through
//! `TaskInfo.health_check` run by the agent's executor.

use std::time::{Duration, Instant};

use ordeal::{
    check::CaseError,
    cluster::mesos::{
        MesosCluster,
        api::{CommandInfo, HealthCheckType, TaskState, TaskStatus},
    },
    run::{Case, CaseCtx},
};

use super::tasks::{FRAMEWORK, Launched, SANDBOX, describe, health, task};

/// Every health case of this module.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "mesos::health::failures_inside_the_grace_period_are_ignored_until_the_first_success",
            "a COMMAND check (delay 0, interval 1 s, 3 consecutive failures) that fails for the task's first 6 s, inside a 15 s grace period, yields no healthy=false update and no kill: the first health update is TASK_RUNNING healthy=true, at least 3 intervals after TASK_RUNNING",
            grace_period,
        )
        .control("grace_period_seconds is 0, so the early failures count and kill the task")
        .source("docs/health-checks.md \"grace period\"; src/tests/health_check_tests.cpp \"HealthCheckTest.GracePeriod\""),
        Case::new(
            "mesos::health::failures_after_the_first_success_count_inside_the_grace_period",
            "a COMMAND check (interval 1 s, 3 consecutive failures, 60 s grace period) that passes for the task's first 3 s and then fails: TASK_RUNNING healthy=true, then 3 TASK_RUNNING healthy=false, then TASK_KILLED healthy=false, all long before the grace period ends",
            healthy_then_unhealthy,
        )
        .control("the check never passes, so every failure falls inside the grace period before a first success and is ignored")
        .source("CHECKS.md M-H4; src/tests/health_check_tests.cpp \"HealthCheckTest.HealthyToUnhealthyTransitionWithinGracePeriod\"; docs/health-checks.md \"grace period\""),
        Case::new(
            "mesos::health::every_health_change_is_forwarded_as_a_running_update",
            "a COMMAND check (interval 1 s, 5 consecutive failures) on a task that is healthy for 4 s and unhealthy for 2 s, in a loop: the scheduler gets TASK_RUNNING updates whose healthy flag flips true, false, true, false, true (each change forwarded, a healthy run reported once), and the task is never killed",
            flapping,
        )
        .control("the check always passes (the task never removes its file): one healthy=true update and no change after it")
        .source("CHECKS.md M-H6; src/tests/health_check_tests.cpp \"HealthCheckTest.HealthStatusChange\"; docs/health-checks.md"),
        Case::new(
            "mesos::health::check_exceeding_its_timeout_counts_as_a_failure",
            "a COMMAND check `sleep 3` with timeout_seconds 1 (interval 1 s, grace 0, 3 consecutive failures) never reports healthy: 3 TASK_RUNNING healthy=false updates, then TASK_KILLED healthy=false",
            check_timeout,
        )
        .control("timeout_seconds is 10, longer than the check's 3 s sleep")
        .source("src/tests/health_check_tests.cpp \"HealthCheckTest.CheckCommandTimeout\"; include/mesos/v1/mesos.proto `HealthCheck.timeout_seconds`"),
    ]
}

/// The health check's cadence in both cases (seconds).
const INTERVAL: f64 = 1.0;
/// Failures in a row that kill the task.
const FAILURES: u32 = 3;

async fn grace_period(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = MesosCluster::start(&ctx, 1, 1).await?;
    // The check fails until the task creates `ready`: for FAILURES + 3 intervals, so that
    // without the grace period the task would be killed well before.
    let ready_after = (f64::from(FAILURES) + 3.0) * INTERVAL;
    let grace = if ctx.negative_control() {
        ctx.fault_injected("grace_period_seconds = 0", "the task's health check");
        0.0
    } else {
        15.0
    };
    let mut t = Launched::start(&ctx, &cluster.target(FRAMEWORK).await?, |a, i| {
        let mut t = task(
            a,
            i,
            &format!("sleep {ready_after} && touch ready && sleep 600"),
        );
        let mut h = health(HealthCheckType::Command);
        h.command = Some(CommandInfo::shell("test -f ready"));
        h.interval_seconds = Some(INTERVAL);
        h.consecutive_failures = Some(FAILURES);
        h.grace_period_seconds = Some(grace);
        t.health_check = Some(h);
        t
    })
    .await?;
    // `ready` after 6 s, then one interval and a check's timeout (2 s), plus 10 s slack.
    let window = Duration::from_secs_f64(ready_after + INTERVAL + 2.0 + 10.0);
    let first = t
        .until(window, |s| {
            s.state == TaskState::TaskRunning && s.healthy.is_some()
        })
        .await?;
    let failed = cluster.agents[0]
        .sh(&format!("grep -c 'health check failed' {SANDBOX}/stderr"))
        .await
        .map(|o| o.stdout.trim().to_owned())
        .unwrap_or_default();
    let running = t.first(TaskState::TaskRunning);
    let _ = t.sched.kill(&t.task_id, &t.agent_id).await;
    let _ = t.sched.teardown().await;
    let Some(s) = first else {
        return Err(CaseError::failed(format!(
            "expected TASK_RUNNING healthy=true within {window:?}; got {}",
            t.history()
        )));
    };
    if s.healthy != Some(true) {
        return Err(CaseError::failed(format!(
            "expected failures inside the {grace} s grace period to be ignored (first health update healthy=true); got {} ({failed} failed checks logged)",
            describe(&s)
        )));
    }
    // The first success came after enough failed checks to kill the task without grace.
    let at = t
        .updates
        .iter()
        .find(|(_, u)| u.healthy.is_some())
        .map(|(d, _)| *d)
        .unwrap_or_default();
    let min = running.unwrap_or_default() + Duration::from_secs_f64(f64::from(FAILURES) * INTERVAL);
    if at < min {
        return Err(CaseError::failed(format!(
            "expected the first healthy update no sooner than {FAILURES} intervals after TASK_RUNNING ({min:?} after the launch), else no failure was ignored; it came {at:?} after the launch: {}",
            t.history()
        )));
    }
    ctx.step(format!(
        "{failed} failed checks logged by the executor before the first success"
    ));
    ctx.check_passed(&format!(
        "healthy=true {:.2} s after the launch, no unhealthy update before: {}",
        at.as_secs_f64(),
        t.history()
    ));
    Ok(())
}

async fn healthy_then_unhealthy(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = MesosCluster::start(&ctx, 1, 1).await?;
    let healthy_for = 3.0;
    let grace = 60.0;
    let file = if ctx.negative_control() {
        ctx.fault_injected("a check that never passes", "the task's health check");
        "never"
    } else {
        "healthy"
    };
    let mut t = Launched::start(&ctx, &cluster.target(FRAMEWORK).await?, |a, i| {
        let mut t = task(
            a,
            i,
            &format!("touch healthy && sleep {healthy_for} && rm healthy && sleep 600"),
        );
        let mut h = health(HealthCheckType::Command);
        h.command = Some(CommandInfo::shell(format!("test -f {file}")));
        h.interval_seconds = Some(INTERVAL);
        h.consecutive_failures = Some(FAILURES);
        h.grace_period_seconds = Some(grace);
        t.health_check = Some(h);
        t
    })
    .await?;
    // Healthy for 3 s, FAILURES failed checks an interval apart, the kill's default 3 s
    // grace, 10 s slack: about 19 s, a third of the grace period.
    let window = Duration::from_secs_f64(healthy_for + f64::from(FAILURES) * INTERVAL + 3.0 + 10.0);
    let end = t.until(window, |s| s.state.is_terminal()).await?;
    if end.is_none() {
        let _ = t.sched.kill(&t.task_id, &t.agent_id).await;
    }
    let _ = t.sched.teardown().await;
    let healthy = running_health(&t.updates);
    let expected: Vec<bool> = std::iter::once(true)
        .chain(std::iter::repeat_n(false, FAILURES as usize))
        .collect();
    let killed = end
        .as_ref()
        .is_some_and(|s| s.state == TaskState::TaskKilled && s.healthy == Some(false));
    if !killed || healthy != expected {
        return Err(CaseError::failed(format!(
            "expected the failures after the first success to count inside the {grace} s grace period: TASK_RUNNING healthy=true, {FAILURES} x healthy=false, then TASK_KILLED healthy=false, within {window:?}; got {}",
            t.history()
        )));
    }
    let at = t.first(TaskState::TaskKilled).unwrap_or_default();
    ctx.check_passed(&format!(
        "killed {:.2} s after the launch, inside the {grace} s grace period: {}",
        at.as_secs_f64(),
        t.history()
    ));
    Ok(())
}

/// The healthy flags of the TASK_RUNNING updates in `updates`, in order.
fn running_health(updates: &[(Duration, TaskStatus)]) -> Vec<bool> {
    updates
        .iter()
        .filter(|(_, s)| s.state == TaskState::TaskRunning)
        .filter_map(|(_, s)| s.healthy)
        .collect()
}

/// Changes of the healthy flag the flapping case waits for: true, false, true, false, true.
const CHANGES: usize = 5;

async fn flapping(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = MesosCluster::start(&ctx, 1, 1).await?;
    let (up, down) = (4.0, 2.0);
    // More failures than a 2 s unhealthy spell can give at 1 s intervals.
    let failures = 5;
    let script = if ctx.negative_control() {
        ctx.fault_injected("a check that always passes", "the task's health check");
        "touch healthy && sleep 600".to_owned()
    } else {
        format!("while true; do touch healthy; sleep {up}; rm -f healthy; sleep {down}; done")
    };
    let mut t = Launched::start(&ctx, &cluster.target(FRAMEWORK).await?, |a, i| {
        let mut t = task(a, i, &script);
        let mut h = health(HealthCheckType::Command);
        h.command = Some(CommandInfo::shell("test -f healthy"));
        h.interval_seconds = Some(INTERVAL);
        h.consecutive_failures = Some(failures);
        t.health_check = Some(h);
        t
    })
    .await?;
    // Changes of the flag among the TASK_RUNNING updates so far, first value included.
    let changes = |updates: &[(Duration, TaskStatus)]| {
        let mut flags = running_health(updates);
        flags.dedup();
        flags
    };
    // Two whole cycles and the first healthy half, each interval late, 10 s slack.
    let window = Duration::from_secs_f64(2.0 * (up + down) + up + 3.0 * INTERVAL + 10.0);
    let deadline = Instant::now() + window;
    let mut end = None;
    while changes(&t.updates).len() < CHANGES {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            break;
        };
        match t.until(left, |_| true).await? {
            Some(s) if s.state.is_terminal() => {
                end = Some(s);
                break;
            }
            Some(_) => {}
            None => break,
        }
    }
    let seen = changes(&t.updates);
    if end.is_none() {
        let _ = t.sched.kill(&t.task_id, &t.agent_id).await;
    }
    let _ = t.sched.teardown().await;
    if end.is_some() || seen.len() < CHANGES || !seen[0] {
        return Err(CaseError::failed(format!(
            "expected each change of health to reach the scheduler as a TASK_RUNNING update (healthy true, false, true, false, true within {window:?}), the task not killed; got changes {seen:?} from {}",
            t.history()
        )));
    }
    // A healthy run is reported once: no two healthy=true updates in a row.
    let flags = running_health(&t.updates);
    if flags.windows(2).any(|w| w[0] && w[1]) {
        return Err(CaseError::failed(format!(
            "expected one healthy=true update per healthy spell; got {}",
            t.history()
        )));
    }
    ctx.check_passed(&format!("healthy flag changes {seen:?}: {}", t.history()));
    Ok(())
}

async fn check_timeout(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = MesosCluster::start(&ctx, 1, 1).await?;
    let sleep = 3.0;
    let timeout = if ctx.negative_control() {
        ctx.fault_injected("timeout_seconds = 10", "the task's health check");
        10.0
    } else {
        1.0
    };
    let mut t = Launched::start(&ctx, &cluster.target(FRAMEWORK).await?, |a, i| {
        let mut t = task(a, i, "sleep 600");
        let mut h = health(HealthCheckType::Command);
        h.command = Some(CommandInfo::shell(format!("sleep {sleep}")));
        h.interval_seconds = Some(INTERVAL);
        h.timeout_seconds = Some(timeout);
        h.consecutive_failures = Some(FAILURES);
        h.grace_period_seconds = Some(0.0);
        t.health_check = Some(h);
        t
    })
    .await?;
    // FAILURES checks of (timeout + interval) each, the kill's default 3 s grace, 10 s slack.
    let window =
        Duration::from_secs_f64(f64::from(FAILURES) * (timeout.min(sleep) + INTERVAL) + 3.0 + 10.0);
    // A healthy report already refutes the check: no need to wait out the window.
    let end = t
        .until(window, |s| s.state.is_terminal() || s.healthy == Some(true))
        .await?
        .filter(|s| s.state.is_terminal());
    let log = cluster.agents[0]
        .sh(&format!(
            "grep 'health check failed' {SANDBOX}/stderr | tail -n 3"
        ))
        .await
        .map(|o| o.stdout.trim().to_owned())
        .unwrap_or_default();
    if end.is_none() {
        let _ = t.sched.kill(&t.task_id, &t.agent_id).await;
    }
    let _ = t.sched.teardown().await;
    let healthy: Vec<Option<bool>> = t
        .updates
        .iter()
        .filter(|(_, s)| s.state == TaskState::TaskRunning && s.healthy.is_some())
        .map(|(_, s)| s.healthy)
        .collect();
    let unhealthy = healthy.iter().filter(|h| **h == Some(false)).count();
    let killed = end
        .as_ref()
        .is_some_and(|s| s.state == TaskState::TaskKilled && s.healthy == Some(false));
    if healthy.contains(&Some(true)) || unhealthy != FAILURES as usize || !killed {
        return Err(CaseError::failed(format!(
            "expected a check outliving its {timeout} s timeout to fail: {FAILURES} TASK_RUNNING healthy=false, then TASK_KILLED healthy=false, within {window:?}, never healthy=true; got {}",
            t.history()
        )));
    }
    ctx.step(format!("executor log: {log}"));
    ctx.check_passed(&format!(
        "{FAILURES} × healthy=false, TASK_KILLED healthy=false: {}",
        t.history()
    ));
    Ok(())
}
