//! Mesos health check cases beyond those in `tasks.rs` (CHECKS.md §3.8): the grace period and
//! the check timeout, through `TaskInfo.health_check` run by the agent's executor.

use std::time::Duration;

use ordeal::{
    check::CaseError,
    cluster::mesos::{
        MesosCluster,
        api::{CommandInfo, HealthCheckType, TaskState},
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
