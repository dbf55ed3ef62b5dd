//! Health restarts: liveness, readiness and startup probes, restart policies and the
//! CrashLoopBackOff delays, each on its own cluster of real kubelets. Every window comes from
//! the probe fields the API returns for the created pod (its defaults filled in), the pod's
//! termination grace period, the scripts' own timings and the kubelet's live configuration
//! (`/configz`), plus stated slack for a loaded host.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
    sync::Mutex,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use ordeal::{
    check::{CaseError, Observed, consistently, eventually},
    cluster::kubernetes::{
        KubeCluster, KubeTarget, KubeTimings, Pod,
        k8s_openapi::{
            api::core::v1::{ContainerStatus, Event, Probe},
            apimachinery::pkg::apis::meta::v1::Time,
        },
        pod_node, pod_phase,
    },
    fault::schedule::parse_duration,
    run::{Case, CaseCtx},
};
use serde_json::{Value, json};

const IMAGES: &[&str] = &["k8s-control-plane", "k8s-node", "pause", "workload"];
const POLL: Duration = Duration::from_millis(500);
/// How long a pod may take to be bound and its container started (as `checks::pod_runs`
/// allows for Running).
const START: Duration = Duration::from_secs(60);
/// Added to every window computed from live settings: the kubelet's PLEG relist (1 s), its
/// status sync to the API, and a 2-CPU host shared with other clusters.
const SLACK: Duration = Duration::from_secs(20);
/// The only container of every pod here.
const MAIN: &str = "main";

/// Every health case.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "kubernetes::health::liveness_probes_that_start_failing_restart_the_container_repeatedly",
            "exec (`cat /tmp/health`), HTTP (busybox httpd `/healthz`) and TCP (nc listener) liveness probes that pass for 5 s and then fail: each container is restarted within healthy time + periodSeconds x failureThreshold + timeoutSeconds + grace (read back from the pod) + 20 s, again within that + the kubelet's initial CrashLoopBackOff x 1.5, restartCount never decreases, and a `failed liveness probe` event names the cause",
            liveness_failing,
        )
        .control("the health file is kept, httpd keeps serving it and the nc listener stays up, so no probe fails")
        .source("test/e2e/common/node/container_probe.go \"should be restarted with a exec \\\"cat /tmp/health\\\" liveness probe\", \"should be restarted with a /healthz http liveness probe\", \"should have monotonically increasing restart count\""),
        Case::new(
            "kubernetes::health::passing_liveness_probes_never_restart_the_container",
            "exec, HTTP and TCP liveness probes that keep passing: restartCount stays 0 and the container keeps running for 3 x (periodSeconds x failureThreshold + timeoutSeconds + grace), read back from the pod",
            liveness_passing,
        )
        .control("the exec probe reads a file that does not exist")
        .source("test/e2e/common/node/container_probe.go \"should *not* be restarted with a exec \\\"cat /tmp/health\\\" liveness probe\", \"should *not* be restarted with a tcp:8080 liveness probe\", \"should *not* be restarted with a /healthz http liveness probe\""),
        Case::new(
            "kubernetes::health::exec_probe_running_past_its_timeout_counts_as_a_failure",
            "an exec liveness probe running `sleep 10` with timeoutSeconds 1 (periodSeconds 2, failureThreshold 1) fails by timeout: the container is restarted within periodSeconds x failureThreshold + timeoutSeconds + grace (read back from the pod) + 20 s, and the liveness failure event says the command timed out",
            probe_timeout,
        )
        .control("timeoutSeconds 30, longer than the probe's 10 s sleep, so the probe never times out")
        .source("test/e2e/common/node/container_probe.go \"should be restarted with an exec liveness probe with timeout [MinimumKubeletVersion:1.20]\"; pkg/probe/exec/exec.go (timeout is a Failure)"),
        Case::new(
            "kubernetes::health::omitted_probe_fields_get_the_api_defaults",
            "an exec liveness probe given only its command, whose file goes 5 s after start: the container is killed no earlier than 5 s + 2 x 10 s (3 failures, periodSeconds 10 apart) - 2 s after it started and restarted within 5 s + 3 x 10 s + 1 s + grace + 20 s, and the API returned periodSeconds 10, timeoutSeconds 1, failureThreshold 3, successThreshold 1",
            probe_defaults,
        )
        .control("the probe sets periodSeconds 1 and failureThreshold 1 itself, so the container is killed about 1 s after its file goes")
        .source("V1Probe.md (periodSeconds default 10, timeoutSeconds 1, failureThreshold 3, successThreshold 1); pkg/apis/core/v1/defaults.go SetDefaults_Probe; CHECKS.md K-H10"),
        Case::new(
            "kubernetes::health::readiness_probe_gates_ready_without_restarting",
            "a pod whose exec readiness probe fails until its script creates /tmp/ready 20 s after start is not Ready before then and Ready after (Ready transition no earlier, within periodSeconds x successThreshold + timeoutSeconds + 20 s), a pod whose readiness probe always fails is never Ready, and neither is restarted",
            readiness_gates,
        )
        .control("both readiness probes run `true`, so they pass from the start")
        .source("test/e2e/common/node/container_probe.go \"with readiness probe should not be ready before initial delay and never restart\", \"with readiness probe that fails should never be ready and never restart\"")
        .smoke(),
        Case::new(
            "kubernetes::health::restart_policy_decides_which_exits_restart",
            "containers exiting 0 and 1 after 2 s under restartPolicy Always / OnFailure / Never: Always restarts both, OnFailure only the exit 1 (exit 0 ends Succeeded), Never neither (Succeeded / Failed); exit codes read from lastState / state",
            restart_policy,
        )
        .control("the containers never exit")
        .source("test/e2e/common/node/runtime.go \"should run with the expected status\"; pod-lifecycle.md \"Container restart policy\"")
        .smoke(),
        Case::new(
            "kubernetes::health::crash_looping_container_backs_off_doubling_delays",
            "a container that exits 1 after 1 s under restartPolicy Always is put in CrashLoopBackOff (its waiting state, or the kubelet's `BackOff` event: the pod worker resyncs when the back-off expires, so the waiting state can be up for under a second); the gaps between a run's finishedAt and the next startedAt follow the kubelet's live back-off (10 s, 20 s, 40 s: between each delay and 1.5 x it + 8 s, pod-worker jitter), each longer than the last, and any waiting message seen names a back-off of that series",
            crash_loop,
        )
        .control("restartPolicy Never, so the container is never restarted")
        .source("pod-lifecycle.md \"Container restarts\" (10 s, 20 s, 40 s ... capped at 300 s); test/e2e/common/node/pods.go getRestartDelay; pkg/kubelet/kubelet.go newCrashLoopBackOff"),
        Case::new(
            "kubernetes::health::startup_probe_holds_off_liveness_and_restarts_on_failure",
            "a failing startup probe (failureThreshold 3) restarts the container with no liveness failure recorded, and a startup probe that passes after 15 s keeps an always-failing liveness probe from restarting the container until then; it is restarted after",
            startup_probe,
        )
        .control("the pods have no startup probe")
        .source("test/e2e/common/node/container_probe.go \"should be restarted startup probe fails\", \"should *not* be restarted by liveness probe because startup probe delays it\", \"should be restarted by liveness probe after startup probe enables it\""),
    ]
    .into_iter()
    .map(|c| c.images(IMAGES).timeout(Duration::from_secs(300)))
    .collect()
}

// ---------------------------------------------------------------------------------------------
// Pods and what is read back from them.

/// Pod `name` (label `app=<name>`) with one container `main` running `script`, with
/// `restart_policy`, a 1 s termination grace period, and the container fields of `extra`
/// (probes) merged in.
fn pod(t: &KubeTarget, name: &str, script: &str, restart_policy: &str, extra: Value) -> Value {
    let mut container = t.container(script);
    if let (Some(c), Value::Object(extra)) = (container.as_object_mut(), extra) {
        c.extend(extra);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "restartPolicy": restart_policy,
            "terminationGracePeriodSeconds": 1,
            "containers": [container],
        },
    })
}

/// A probe running `command` (exec), every `period` s, failing after `failures` failures.
fn exec_probe(command: &[&str], period: u32, failures: u32, timeout: u32) -> Value {
    json!({
        "exec": {"command": command},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": timeout,
    })
}

/// The timing fields of a probe as the API returned them (its defaults filled in; the
/// fallbacks are those defaults, from `V1Probe`).
#[derive(Debug, Clone, Copy)]
struct ProbeTiming {
    initial_delay: Duration,
    period: Duration,
    timeout: Duration,
    failure_threshold: u32,
    success_threshold: u32,
}

impl ProbeTiming {
    fn of(p: &Probe) -> Self {
        let secs = |v: Option<i32>, default: u64| {
            Duration::from_secs(v.map_or(default, |v| u64::try_from(v).unwrap_or(0)))
        };
        let count = |v: Option<i32>, default: u32| v.map_or(default, |v| v.max(1).unsigned_abs());
        Self {
            initial_delay: secs(p.initial_delay_seconds, 0),
            period: secs(p.period_seconds, 10),
            timeout: secs(p.timeout_seconds, 1),
            failure_threshold: count(p.failure_threshold, 3),
            success_threshold: count(p.success_threshold, 1),
        }
    }

    /// Longest time from a probe's first failure to the kubelet giving up on it:
    /// failureThreshold probes, periodSeconds apart, the last taking up to timeoutSeconds.
    fn to_fail(self) -> Duration {
        self.period * self.failure_threshold + self.timeout
    }

    /// Likewise from the first success to the kubelet acting on it.
    fn to_pass(self) -> Duration {
        self.period * self.success_threshold + self.timeout
    }
}

/// Which probe of the container.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Liveness,
    Readiness,
    Startup,
}

/// The `kind` probe of pod `p`'s container, read back from its spec.
fn probe_of(p: &Pod, kind: Kind) -> Result<ProbeTiming, CaseError> {
    let c = p
        .spec
        .as_ref()
        .and_then(|s| s.containers.iter().find(|c| c.name == MAIN));
    let probe = c.and_then(|c| match kind {
        Kind::Liveness => c.liveness_probe.as_ref(),
        Kind::Readiness => c.readiness_probe.as_ref(),
        Kind::Startup => c.startup_probe.as_ref(),
    });
    probe.map(ProbeTiming::of).ok_or_else(|| {
        CaseError::infra(format!(
            "pod `{}` has no {kind:?} probe in the spec the API returned",
            name_of(p)
        ))
    })
}

/// The pod's termination grace period as the API returned it (default 30 s).
fn grace(p: &Pod) -> Duration {
    let s = p
        .spec
        .as_ref()
        .and_then(|s| s.termination_grace_period_seconds)
        .unwrap_or(30);
    Duration::from_secs(u64::try_from(s).unwrap_or(0))
}

fn name_of(p: &Pod) -> &str {
    p.metadata.name.as_deref().unwrap_or("?")
}

fn status(p: &Pod) -> Option<&ContainerStatus> {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.iter().find(|c| c.name == MAIN))
}

fn restarts(p: &Pod) -> i32 {
    status(p).map_or(0, |c| c.restart_count)
}

/// The pod's Ready condition is True.
fn pod_ready(p: &Pod) -> bool {
    ready_condition(p).is_some_and(|c| c.status == "True")
}

fn ready_condition(
    p: &Pod,
) -> Option<&ordeal::cluster::kubernetes::k8s_openapi::api::core::v1::PodCondition> {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
}

/// Milliseconds since the Unix epoch of an API timestamp (whole seconds on the wire).
fn ms(t: &Time) -> i64 {
    t.0.as_millisecond()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// When the current run of the container started (running or terminated), in ms.
fn started_at(p: &Pod) -> Option<i64> {
    let state = status(p)?.state.as_ref()?;
    state
        .running
        .as_ref()
        .and_then(|r| r.started_at.as_ref())
        .or_else(|| {
            state
                .terminated
                .as_ref()
                .and_then(|t| t.started_at.as_ref())
        })
        .map(ms)
}

/// One line on a pod: phase, Ready, restarts, the container's state and last termination.
fn describe(p: &Pod) -> String {
    let mut out = format!(
        "{}: phase {}, Ready={}, restarts {}",
        name_of(p),
        pod_phase(p).unwrap_or("?"),
        pod_ready(p),
        restarts(p)
    );
    let Some(c) = status(p) else {
        return out + ", no container status";
    };
    if let Some(s) = &c.state {
        if s.running.is_some() {
            out += ", running";
        }
        if let Some(w) = &s.waiting {
            let _ = write!(out, ", waiting {}", w.reason.as_deref().unwrap_or("?"));
        }
        if let Some(t) = &s.terminated {
            let _ = write!(
                out,
                ", terminated exit {} ({})",
                t.exit_code,
                t.reason.as_deref().unwrap_or("?")
            );
        }
    }
    if let Some(t) = c.last_state.as_ref().and_then(|s| s.terminated.as_ref()) {
        let _ = write!(
            out,
            ", last exit {} ({})",
            t.exit_code,
            t.reason.as_deref().unwrap_or("?")
        );
    }
    out
}

/// Waits up to [`START`] until pod `name`'s container has run at least once (running,
/// terminated or restarted) and returns the pod as then read.
async fn started(t: &KubeTarget, name: &str) -> Result<Pod, CaseError> {
    eventually(
        &format!("pod {name}'s container to start"),
        START,
        POLL,
        || async {
            let p = t.pod(name).await?;
            let ran = restarts(&p) > 0 || started_at(&p).is_some();
            Ok(if ran {
                Observed::Holds(p)
            } else {
                Observed::Not(describe(&p))
            })
        },
    )
    .await
}

/// The time left until `deadline_ms` (host clock; the nodes share the host's kernel clock).
fn until(deadline_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(deadline_ms - now_ms()).unwrap_or(0))
}

/// The kubelet's CrashLoopBackOff on a node: first delay and cap.
#[derive(Debug, Clone, Copy)]
struct CrashBackOff {
    initial: Duration,
    max: Duration,
    /// `syncFrequency`: the pod worker never waits longer than this between syncs.
    sync_frequency: Duration,
}

impl CrashBackOff {
    /// The delay before restart `k` (1-based) after the first: the first restart is
    /// immediate, then `initial` doubling up to `max` (`flowcontrol.Backoff.Next`).
    fn before(self, k: u32) -> Duration {
        if k == 0 {
            return Duration::ZERO;
        }
        self.initial
            .saturating_mul(1u32 << (k - 1).min(20))
            .min(self.max)
    }

    /// The longest a restart can come after its back-off has expired: the pod worker requeues
    /// at the expiry (at most `syncFrequency` ahead) jittered by up to half again
    /// (`workerBackOffPeriodJitterFactor` 0.5, `pkg/kubelet/pod_workers.go` completeWork).
    fn jitter(self, delay: Duration) -> Duration {
        delay.min(self.sync_frequency) / 2
    }
}

/// Reads the kubelet's live configuration on `node` and derives its CrashLoopBackOff as
/// `newCrashLoopBackOff` (`pkg/kubelet/kubelet.go`, v1.35.4) does: 10 s doubling to 300 s
/// (`MaxContainerBackOff`); 1 s to 60 s with the alpha gate ReduceDefaultCrashLoopBackOffDecay
/// (off by default); the cap `crashLoopBackOff.maxContainerRestartPeriod` with the gate
/// KubeletCrashLoopBackOffMax (beta, on by default in 1.35).
async fn crash_back_off(
    ctx: &CaseCtx,
    t: &KubeTarget,
    node: &str,
) -> Result<CrashBackOff, CaseError> {
    let config = t.kubelet_config(node).await?;
    let gate =
        |name: &str, default: bool| config["featureGates"][name].as_bool().unwrap_or(default);
    let (mut initial, mut max) = if gate("ReduceDefaultCrashLoopBackOffDecay", false) {
        (Duration::from_secs(1), Duration::from_secs(60))
    } else {
        (Duration::from_secs(10), Duration::from_secs(300))
    };
    if gate("KubeletCrashLoopBackOffMax", true)
        && let Some(m) = config["crashLoopBackOff"]["maxContainerRestartPeriod"]
            .as_str()
            .and_then(parse_duration)
    {
        max = m;
        initial = initial.min(max);
    }
    let sync_frequency = config["syncFrequency"]
        .as_str()
        .and_then(parse_duration)
        .unwrap_or(Duration::from_secs(60));
    let b = CrashBackOff {
        initial,
        max,
        sync_frequency,
    };
    ctx.step(format!(
        "kubelet on {node} (live /configz): CrashLoopBackOff {initial:?} doubling to {max:?}, syncFrequency {sync_frequency:?}, featureGates {}",
        config["featureGates"]
    ));
    Ok(b)
}

fn check_failed(what: &str, seen: impl std::fmt::Display) -> CaseError {
    CaseError::failed(format!("expected {what}; observed {seen}"))
}

// ---------------------------------------------------------------------------------------------
// Liveness.

/// How long the failing workloads serve their health check before they stop.
const HEALTHY: Duration = Duration::from_secs(5);

/// The three liveness pods: exec, HTTP and TCP, whose health check stops after [`HEALTHY`]
/// when `stop`, and keeps passing otherwise. Probes: every 1 s, 2 failures, 5 s timeout (an
/// exec probe can be slow on a loaded host; a timeout counts as a failure).
fn liveness_pods(t: &KubeTarget, stop: bool) -> Vec<(&'static str, Value)> {
    let h = HEALTHY.as_secs();
    let then = |stop_cmd: &str| {
        if stop {
            format!("sleep {h}; {stop_cmd}; exec sleep 3600")
        } else {
            "exec sleep 3600".to_owned()
        }
    };
    let probe = |handler: Value| {
        let mut p = json!({"periodSeconds": 1, "failureThreshold": 2, "timeoutSeconds": 5});
        if let (Some(p), Value::Object(h)) = (p.as_object_mut(), handler) {
            p.extend(h);
        }
        json!({"livenessProbe": p})
    };
    vec![
        (
            "liveness-exec",
            pod(
                t,
                "liveness-exec",
                &format!("touch /tmp/health; {}", then("rm -f /tmp/health")),
                "Always",
                probe(json!({"exec": {"command": ["cat", "/tmp/health"]}})),
            ),
        ),
        (
            "liveness-http",
            pod(
                t,
                "liveness-http",
                &format!(
                    "echo ok > /www/healthz; httpd -p 8080 -h /www; {}",
                    then("rm -f /www/healthz")
                ),
                "Always",
                probe(json!({"httpGet": {"path": "/healthz", "port": 8080}})),
            ),
        ),
        (
            "liveness-tcp",
            pod(
                t,
                "liveness-tcp",
                &format!("nc -ll -p 8081 -e true & {}", then("kill $!")),
                "Always",
                probe(json!({"tcpSocket": {"port": 8081}})),
            ),
        ),
    ]
}

async fn liveness_failing(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    liveness_failing_on(&ctx, &cluster.target()).await
}

/// The body of `liveness_probes_that_start_failing_restart_the_container_repeatedly`, on any cluster
/// (also `ordeal certify`'s).
pub async fn liveness_failing_on(ctx: &CaseCtx, t: &KubeTarget) -> Result<(), CaseError> {
    let stop = !ctx.negative_control();
    let pods = liveness_pods(t, stop);
    if !stop {
        ctx.fault_injected(
            "health checks kept passing (file kept, httpd serving, nc listening)",
            "liveness-exec, liveness-http, liveness-tcp",
        );
    }
    for (_, p) in &pods {
        t.apply(p.clone()).await?;
    }
    let mut back_off = None;
    for (name, _) in &pods {
        let p = started(t, name).await?;
        let probe = probe_of(&p, Kind::Liveness)?;
        let kill = HEALTHY + probe.initial_delay + probe.to_fail() + grace(&p);
        let b = match back_off {
            Some(b) => b,
            None => {
                let b = crash_back_off(ctx, t, pod_node(&p).unwrap_or("node-1")).await?;
                back_off = Some(b);
                b
            }
        };
        let seen = Mutex::new(Vec::<i32>::new());
        let look = |want: i32| {
            let seen = &seen;
            async move {
                let p = t.pod(name).await?;
                seen.lock().expect("restart counts").push(restarts(&p));
                Ok(if restarts(&p) >= want {
                    Observed::Holds(())
                } else {
                    Observed::Not(describe(&p))
                })
            }
        };
        let first = kill + SLACK;
        eventually(
            &format!(
                "{name} restarted by its failing liveness probe ({probe:?}, healthy {HEALTHY:?})"
            ),
            first,
            POLL,
            || look(1),
        )
        .await?;
        ctx.check_passed(&format!("{name} restarted within {first:?}"));
        let delay = b.before(2);
        let second = kill + delay + b.jitter(delay) + SLACK;
        eventually(
            &format!("{name} restarted a second time (after its {delay:?} back-off)"),
            second,
            POLL,
            || look(2),
        )
        .await?;
        let seen = seen.into_inner().unwrap_or_default();
        if seen.windows(2).any(|w| w[1] < w[0]) {
            return Err(check_failed(
                &format!("{name}'s restartCount never to decrease"),
                format!("{seen:?}"),
            ));
        }
        ctx.check_passed(&format!(
            "{name} restarted again within {second:?}; restartCount non-decreasing"
        ));
        let events = t.events_for(name).await?;
        let messages: Vec<&str> = events.iter().filter_map(|e| e.message.as_deref()).collect();
        if !messages.iter().any(|m| m.contains("failed liveness probe")) {
            return Err(check_failed(
                &format!("an event saying {name}'s container failed its liveness probe"),
                format!("{messages:?}"),
            ));
        }
        ctx.check_passed(&format!("{name}'s restart was for its liveness probe"));
    }
    Ok(())
}

async fn liveness_passing(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    liveness_passing_on(&ctx, &cluster.target()).await
}

/// The body of `passing_liveness_probes_never_restart_the_container`, on any cluster.
pub async fn liveness_passing_on(ctx: &CaseCtx, t: &KubeTarget) -> Result<(), CaseError> {
    // Probes: every 2 s, 3 failures, 2 s timeout.
    let probe = |handler: Value| {
        let mut p = json!({"periodSeconds": 2, "failureThreshold": 3, "timeoutSeconds": 2});
        if let (Some(p), Value::Object(h)) = (p.as_object_mut(), handler) {
            p.extend(h);
        }
        json!({"livenessProbe": p})
    };
    let exec_file = if ctx.negative_control() {
        ctx.fault_injected("exec liveness probe reads a missing file", "pass-exec");
        "/tmp/missing"
    } else {
        "/tmp/health"
    };
    let pods = [
        pod(
            t,
            "pass-exec",
            "touch /tmp/health; exec sleep 3600",
            "Always",
            probe(json!({"exec": {"command": ["cat", exec_file]}})),
        ),
        pod(
            t,
            "pass-http",
            "echo ok > /www/healthz; httpd -f -p 8080 -h /www",
            "Always",
            probe(json!({"httpGet": {"path": "/healthz", "port": 8080}})),
        ),
        pod(
            t,
            "pass-tcp",
            "exec nc -ll -p 8081 -e true",
            "Always",
            probe(json!({"tcpSocket": {"port": 8081}})),
        ),
    ];
    let names = ["pass-exec", "pass-http", "pass-tcp"];
    for p in pods {
        t.apply(p).await?;
    }
    let mut window = Duration::ZERO;
    for name in names {
        let p = started(t, name).await?;
        let probe = probe_of(&p, Kind::Liveness)?;
        window = window.max(3 * (probe.initial_delay + probe.to_fail() + grace(&p)));
    }
    ctx.step(format!(
        "observing for {window:?}: 3 x what a failing probe needs to restart the container"
    ));
    consistently(
        "pass-exec, pass-http and pass-tcp running with restartCount 0",
        window,
        POLL,
        || async {
            for name in names {
                let p = t.pod(name).await?;
                let running = status(&p)
                    .and_then(|c| c.state.as_ref())
                    .is_some_and(|s| s.running.is_some());
                if restarts(&p) != 0 || !running {
                    return Ok(Observed::Not(describe(&p)));
                }
            }
            Ok(Observed::Holds(()))
        },
    )
    .await?;
    ctx.check_passed(&format!("no restart in {window:?} with passing probes"));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Probe timeout.

/// How long the timing-out probe's command runs.
const PROBE_SLEEP: u32 = 10;

async fn probe_timeout(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    probe_timeout_on(&ctx, &cluster.target()).await
}

/// The body of `exec_probe_running_past_its_timeout_counts_as_a_failure`, on any cluster.
pub async fn probe_timeout_on(ctx: &CaseCtx, t: &KubeTarget) -> Result<(), CaseError> {
    let name = "probe-timeout";
    let timeout = if ctx.negative_control() {
        ctx.fault_injected(
            &format!("liveness timeoutSeconds 30, above the probe's {PROBE_SLEEP} s"),
            name,
        );
        30
    } else {
        1
    };
    let sleep = format!("sleep {PROBE_SLEEP}");
    t.apply(pod(
        t,
        name,
        "exec sleep 3600",
        "Always",
        json!({"livenessProbe": {
            "exec": {"command": ["sh", "-c", sleep]},
            "periodSeconds": 2,
            "failureThreshold": 1,
            "timeoutSeconds": timeout,
        }}),
    ))
    .await?;
    let p = started(t, name).await?;
    let probe = probe_of(&p, Kind::Liveness)?;
    let window = probe.initial_delay + probe.to_fail() + grace(&p) + SLACK;
    eventually(
        &format!("{name} restarted by its liveness probe timing out ({probe:?})"),
        window,
        POLL,
        || async {
            let p = t.pod(name).await?;
            Ok(if restarts(&p) >= 1 {
                Observed::Holds(())
            } else {
                Observed::Not(describe(&p))
            })
        },
    )
    .await?;
    ctx.check_passed(&format!("{name} restarted within {window:?}"));
    let events = t.events_for(name).await?;
    let messages: Vec<&str> = events.iter().filter_map(|e| e.message.as_deref()).collect();
    if !messages
        .iter()
        .any(|m| m.contains("Liveness probe failed") && m.contains("timed out"))
    {
        return Err(check_failed(
            &format!("an event saying {name}'s liveness probe failed because it timed out"),
            format!("{messages:?}"),
        ));
    }
    ctx.check_passed(&format!("{name}'s liveness probe failed by timing out"));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Probe defaults.

/// `SetDefaults_Probe`: periodSeconds, timeoutSeconds, failureThreshold, successThreshold.
const PROBE_DEFAULTS: [(&str, i32); 4] = [
    ("periodSeconds", 10),
    ("timeoutSeconds", 1),
    ("failureThreshold", 3),
    ("successThreshold", 1),
];

async fn probe_defaults(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    probe_defaults_on(&ctx, &cluster.target()).await
}

/// The body of `omitted_probe_fields_get_the_api_defaults`, on any cluster.
pub async fn probe_defaults_on(ctx: &CaseCtx, t: &KubeTarget) -> Result<(), CaseError> {
    let name = "probe-defaults";
    let mut probe = json!({"exec": {"command": ["cat", "/tmp/health"]}});
    if ctx.negative_control() {
        ctx.fault_injected(
            "the probe sets periodSeconds 1 and failureThreshold 1",
            name,
        );
        probe["periodSeconds"] = json!(1);
        probe["failureThreshold"] = json!(1);
    }
    let h = HEALTHY.as_secs();
    t.apply(pod(
        t,
        name,
        &format!("touch /tmp/health; sleep {h}; rm -f /tmp/health; exec sleep 3600"),
        "Always",
        json!({"livenessProbe": probe}),
    ))
    .await?;
    let p = started(t, name).await?;
    let [(_, period), (_, timeout), (_, failures), _] = PROBE_DEFAULTS;
    let secs = |n: i32| Duration::from_secs(u64::try_from(n).unwrap_or(0));
    let per = secs(period);
    let fails = failures.unsigned_abs();
    // The first failing probe comes after the file goes, the kill with the third, two periods
    // on; timestamps are whole seconds, hence 2 s off the earliest.
    let earliest = HEALTHY + per * (fails - 1) - Duration::from_secs(2);
    let latest = HEALTHY + per * fails + secs(timeout) + grace(&p) + SLACK;
    let last = eventually(
        &format!("{name} restarted by its liveness probe (file gone after {HEALTHY:?})"),
        latest,
        POLL,
        || async {
            let p = t.pod(name).await?;
            let last = status(&p)
                .and_then(|c| c.last_state.as_ref())
                .and_then(|s| s.terminated.as_ref())
                .and_then(|t| Some((ms(t.started_at.as_ref()?), ms(t.finished_at.as_ref()?))));
            Ok(match last {
                Some(run) if restarts(&p) >= 1 => Observed::Holds(run),
                _ => Observed::Not(describe(&p)),
            })
        },
    )
    .await?;
    let ran = Duration::from_millis(u64::try_from(last.1 - last.0).unwrap_or(0));
    if ran < earliest {
        return Err(check_failed(
            &format!(
                "{name}'s first run to be killed no earlier than {earliest:?} after it started \
                 (file gone after {HEALTHY:?}, then {fails} failures {per:?} apart)"
            ),
            format!("killed {ran:?} after it started"),
        ));
    }
    ctx.check_passed(&format!(
        "{name} killed {ran:?} after it started (no earlier than {earliest:?}) and restarted"
    ));
    let p = t.pod(name).await?;
    let spec = p
        .spec
        .as_ref()
        .and_then(|s| s.containers.iter().find(|c| c.name == MAIN))
        .and_then(|c| c.liveness_probe.clone())
        .ok_or_else(|| CaseError::infra(format!("{name} has no liveness probe in its spec")))?;
    let got = [
        spec.period_seconds,
        spec.timeout_seconds,
        spec.failure_threshold,
        spec.success_threshold,
    ];
    let wrong: Vec<String> = PROBE_DEFAULTS
        .iter()
        .zip(got)
        .filter(|((_, want), got)| *got != Some(*want))
        .map(|((field, want), got)| format!("{field} {got:?} (default {want})"))
        .collect();
    if !wrong.is_empty() {
        return Err(check_failed(
            "the API to fill in the probe's omitted fields with their defaults",
            wrong.join(", "),
        ));
    }
    ctx.check_passed("the API filled in periodSeconds 10, timeoutSeconds 1, failureThreshold 3, successThreshold 1");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Readiness.

/// When the `ready-later` pod's script creates the file its readiness probe reads.
const READY_AFTER: Duration = Duration::from_secs(20);

async fn readiness_gates(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    readiness_gates_on(&ctx, &cluster.target()).await
}

/// The body of `readiness_probe_gates_ready_without_restarting`, on any cluster.
pub async fn readiness_gates_on(ctx: &CaseCtx, t: &KubeTarget) -> Result<(), CaseError> {
    let command: &[&str] = if ctx.negative_control() {
        ctx.fault_injected("readiness probes run `true`", "ready-later, never-ready");
        &["true"]
    } else {
        &["cat", "/tmp/ready"]
    };
    let readiness = json!({"readinessProbe": exec_probe(command, 1, 1, 5)});
    t.apply(pod(
        t,
        "ready-later",
        &format!(
            "sleep {}; touch /tmp/ready; exec sleep 3600",
            READY_AFTER.as_secs()
        ),
        "Always",
        readiness.clone(),
    ))
    .await?;
    t.apply(pod(
        t,
        "never-ready",
        "exec sleep 3600",
        "Always",
        readiness,
    ))
    .await?;
    let later = started(t, "ready-later").await?;
    started(t, "never-ready").await?;
    let probe = probe_of(&later, Kind::Readiness)?;
    let start_ms =
        started_at(&later).ok_or_else(|| CaseError::infra("ready-later has no startedAt"))?;
    let file_ms = start_ms + i64::try_from(READY_AFTER.as_millis()).unwrap_or(0);
    // Hold until 1 s before the file exists: startedAt is rounded to whole seconds.
    let hold = until(file_ms - 1000);
    if hold < Duration::from_secs(5) {
        return Err(CaseError::infra(format!(
            "the pods were seen started only {:?} before ready-later's file appears; too late to observe it unready",
            hold
        )));
    }
    let unready = |names: &'static [&'static str]| async move {
        for name in names {
            let p = t.pod(name).await?;
            let container_ready = status(&p).is_some_and(|c| c.ready);
            if pod_ready(&p) || container_ready || restarts(&p) != 0 {
                return Ok(Observed::Not(describe(&p)));
            }
        }
        Ok(Observed::Holds(()))
    };
    consistently(
        "ready-later and never-ready not Ready and not restarted while their readiness probes fail",
        hold,
        POLL,
        || unready(&["ready-later", "never-ready"]),
    )
    .await?;
    ctx.check_passed(&format!(
        "neither pod Ready nor restarted for {hold:?} of failing readiness"
    ));
    let window = until(file_ms) + probe.to_pass() + SLACK;
    let p = eventually(
        "ready-later Ready, not restarted, once /tmp/ready exists",
        window,
        POLL,
        || async {
            let p = t.pod("ready-later").await?;
            Ok(if pod_ready(&p) && restarts(&p) == 0 {
                Observed::Holds(p)
            } else {
                Observed::Not(describe(&p))
            })
        },
    )
    .await?;
    let became = ready_condition(&p)
        .and_then(|c| c.last_transition_time.as_ref())
        .map_or(0, ms);
    if became < file_ms - 1000 {
        return Err(check_failed(
            "ready-later's Ready transition no earlier than its file",
            format!(
                "Ready at {:.1} s after container start, file at {READY_AFTER:?}",
                (became - start_ms) as f64 / 1000.0
            ),
        ));
    }
    ctx.check_passed(&format!(
        "ready-later Ready {:.1} s after container start (file at {READY_AFTER:?}), restartCount 0",
        (became - start_ms) as f64 / 1000.0
    ));
    let never = t.pod("never-ready").await?;
    let observed = unready(&["never-ready"]).await?;
    if let Observed::Not(seen) = observed {
        return Err(check_failed(
            "never-ready still not Ready, not restarted",
            seen,
        ));
    }
    ctx.check_passed(&format!(
        "never-ready never Ready and never restarted: {}",
        describe(&never)
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Restart policies.

/// How long the containers of the restart-policy pods run before they exit.
const RUN: Duration = Duration::from_secs(2);

async fn restart_policy(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    restart_policy_on(&ctx, &cluster.target()).await
}

/// The body of `restart_policy_decides_which_exits_restart`, on any cluster.
pub async fn restart_policy_on(ctx: &CaseCtx, t: &KubeTarget) -> Result<(), CaseError> {
    let exits = !ctx.negative_control();
    if !exits {
        ctx.fault_injected("containers never exit (`exec sleep 3600`)", "all rp-* pods");
    }
    // (name, restartPolicy, exit code, restarted?) — pod-lifecycle.md: Always restarts on any
    // exit, OnFailure on a non-zero one, Never on none.
    let mut cases = Vec::new();
    for policy in ["Always", "OnFailure", "Never"] {
        for code in [0, 1] {
            let restarted = policy == "Always" || (policy == "OnFailure" && code != 0);
            let name = format!("rp-{}-{code}", policy.to_lowercase());
            cases.push((name, policy, code, restarted));
        }
    }
    for (name, policy, code, _) in &cases {
        let script = if exits {
            format!("sleep {}; exit {code}", RUN.as_secs())
        } else {
            "exec sleep 3600".to_owned()
        };
        t.apply(pod(t, name, &script, policy, json!({}))).await?;
    }
    for (name, ..) in &cases {
        started(t, name).await?;
    }
    let judge = |p: &Pod, code: i32, restarted: bool| -> bool {
        let Some(c) = status(p) else { return false };
        if restarted {
            c.restart_count >= 1
                && c.last_state
                    .as_ref()
                    .and_then(|s| s.terminated.as_ref())
                    .is_some_and(|t| t.exit_code == code)
        } else {
            let terminated = c
                .state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .is_some_and(|t| t.exit_code == code);
            let phase = if code == 0 { "Succeeded" } else { "Failed" };
            c.restart_count == 0 && terminated && pod_phase(p) == Some(phase)
        }
    };
    let all = || async {
        let mut wrong = Vec::new();
        for (name, _, code, restarted) in &cases {
            let p = t.pod(name).await?;
            if !judge(&p, *code, *restarted) {
                wrong.push(describe(&p));
            }
        }
        Ok(if wrong.is_empty() {
            Observed::Holds(())
        } else {
            Observed::Not(wrong.join("; "))
        })
    };
    let window = RUN + SLACK;
    eventually(
        "Always to restart exit 0 and 1, OnFailure only exit 1, Never none (Succeeded / Failed)",
        window,
        POLL,
        all,
    )
    .await?;
    ctx.check_passed("each policy restarted exactly the exits it names");
    // A restart the policy allowed comes at once (the first restart has no back-off), so it
    // would show within another run of the container plus a PLEG relist and a status sync.
    let hold = RUN + Duration::from_secs(5);
    consistently(
        "the pods the policy does not restart to stay terminated with restartCount 0",
        hold,
        POLL,
        all,
    )
    .await?;
    ctx.check_passed(&format!("no unwanted restart in a further {hold:?}"));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// CrashLoopBackOff.

/// One run of the container: when it started and finished (ms).
#[derive(Debug, Default, Clone, Copy)]
struct Run {
    start: Option<i64>,
    finish: Option<i64>,
}

/// Adds what pod `p` shows of its runs (indexed by restartCount: run 0 is the first) and the
/// CrashLoopBackOff waiting message, if any.
fn record(runs: &mut BTreeMap<i32, Run>, messages: &mut BTreeSet<String>, p: &Pod) {
    let Some(c) = status(p) else { return };
    let n = c.restart_count;
    if let Some(s) = &c.state {
        if let Some(r) = &s.running {
            runs.entry(n).or_default().start = r.started_at.as_ref().map(ms);
        }
        if let Some(t) = &s.terminated {
            let run = runs.entry(n).or_default();
            run.start = t.started_at.as_ref().map(ms).or(run.start);
            run.finish = t.finished_at.as_ref().map(ms).or(run.finish);
        }
        if let Some(w) = &s.waiting
            && w.reason.as_deref() == Some("CrashLoopBackOff")
            && let Some(m) = &w.message
        {
            messages.insert(m.clone());
        }
    }
    // Waiting for its back-off, the container has no current run: lastState is run n itself.
    // Running (or just terminated), lastState is the run before.
    let waiting = c.state.as_ref().is_some_and(|s| s.waiting.is_some());
    let last = if waiting { n } else { n - 1 };
    if last >= 0
        && let Some(t) = c.last_state.as_ref().and_then(|s| s.terminated.as_ref())
    {
        let run = runs.entry(last).or_default();
        run.start = t.started_at.as_ref().map(ms).or(run.start);
        run.finish = t.finished_at.as_ref().map(ms).or(run.finish);
    }
}

/// Go's `time.Duration` text for whole seconds (`10s`, `1m20s`, `5m0s`).
fn go_secs(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{}s", s / 60, s % 60)
    }
}

/// Whether `e` is the kubelet holding a container back (`events.BackOffStartContainer`, "Back-off
/// restarting failed container ... in pod ...").
fn is_back_off(e: &Event) -> bool {
    e.reason.as_deref() == Some("BackOff")
        && e.message
            .as_deref()
            .is_some_and(|m| m.starts_with("Back-off restarting failed container"))
}

/// How many back-off gaps (after the immediate first restart) the case measures.
const GAPS: u32 = 3;
/// Tolerance on each measured gap beyond the pod-worker jitter: timestamps are whole seconds,
/// the PLEG relists every 1 s, and container start is slow on a loaded host.
const GAP_TOLERANCE: Duration = Duration::from_secs(8);

async fn crash_loop(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    crash_loop_on(&ctx, &cluster.target()).await
}

/// The body of `crash_looping_container_backs_off_doubling_delays`, on any cluster.
pub async fn crash_loop_on(ctx: &CaseCtx, t: &KubeTarget) -> Result<(), CaseError> {
    let policy = if ctx.negative_control() {
        ctx.fault_injected("restartPolicy Never", "crash");
        "Never"
    } else {
        "Always"
    };
    let run = Duration::from_secs(1);
    t.apply(pod(
        t,
        "crash",
        &format!("sleep {}; exit 1", run.as_secs()),
        policy,
        json!({}),
    ))
    .await?;
    let p = started(t, "crash").await?;
    let b = crash_back_off(ctx, t, pod_node(&p).unwrap_or("node-1")).await?;
    let state = Mutex::new((BTreeMap::<i32, Run>::new(), BTreeSet::<String>::new()));
    let look = || async {
        let p = t.pod("crash").await?;
        let mut s = state.lock().expect("runs");
        let (runs, messages) = &mut *s;
        record(runs, messages, &p);
        Ok::<_, ordeal::Error>(p)
    };
    // Two runs and the immediate first restart, then the wait. Since v1.35
    // (kubernetes/kubernetes#133066) the pod worker resyncs a backed-off pod when its
    // back-off expires (`completeWork`, `MinBackoffExpiration`), and that sync both reports the waiting state and starts the
    // container: the state can be up for well under a poll (CI saw none in 69 s and three
    // restarts). The kubelet records a `BackOff` event every time it holds the container
    // back (`doBackOff`), so either one is the evidence. Both can lag on a loaded host, so
    // they have the first two back-offs to show in.
    let window = (1..=2).fold(2 * run + SLACK, |w, k| {
        let d = b.before(k);
        w + d + b.jitter(d) + run
    });
    let how = eventually(
        "crash in CrashLoopBackOff (waiting state or the kubelet's BackOff event)",
        window,
        POLL,
        || async {
            let p = look().await?;
            let waiting = status(&p)
                .and_then(|c| c.state.as_ref())
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.clone());
            if waiting.as_deref() == Some("CrashLoopBackOff") {
                return Ok(Observed::Holds(
                    "waiting reason CrashLoopBackOff".to_string(),
                ));
            }
            let events = t.events_for("crash").await?;
            Ok(match events.iter().find(|e| is_back_off(e)) {
                Some(e) => Observed::Holds(format!(
                    "kubelet event BackOff: {}",
                    e.message.as_deref().unwrap_or_default()
                )),
                None => Observed::Not(format!("{}; no BackOff event", describe(&p))),
            })
        },
    )
    .await?;
    ctx.check_passed(&how);
    let mut window = SLACK;
    for k in 1..=GAPS {
        let d = b.before(k);
        window += d + b.jitter(d) + run + GAP_TOLERANCE;
    }
    let last = i32::try_from(GAPS).unwrap_or(3) + 1;
    eventually(
        &format!("restart {last} with every run's start and finish recorded"),
        window,
        POLL,
        || async {
            let p = look().await?;
            let s = state.lock().expect("runs");
            let done = (1..last).all(|k| s.0.get(&k).is_some_and(|r| r.finish.is_some()))
                && s.0.get(&last).is_some_and(|r| r.start.is_some());
            Ok(if done {
                Observed::Holds(())
            } else {
                Observed::Not(format!("{}; runs {:?}", describe(&p), s.0))
            })
        },
    )
    .await?;
    let (runs, messages) = state.into_inner().unwrap_or_default();
    let mut gaps = Vec::new();
    for k in 1..last {
        let (Some(finish), Some(next)) = (runs[&k].finish, runs[&(k + 1)].start) else {
            return Err(CaseError::infra(format!("run {k} incomplete: {runs:?}")));
        };
        gaps.push(Duration::from_millis(
            u64::try_from(next - finish).unwrap_or(0),
        ));
    }
    ctx.step(format!(
        "gaps between a run's finish and the next start (restarts 2..{last}): {gaps:?}; back-off messages {messages:?}"
    ));
    for (i, gap) in gaps.iter().enumerate() {
        let k = u32::try_from(i).unwrap_or(0) + 1;
        let d = b.before(k);
        let low = d.saturating_sub(Duration::from_secs(1));
        let high = d + b.jitter(d) + GAP_TOLERANCE;
        if *gap < low || *gap > high {
            return Err(check_failed(
                &format!("back-off gap {k} between {low:?} and {high:?} (delay {d:?})"),
                format!("{gap:?}; all gaps {gaps:?}"),
            ));
        }
        if i > 0 && *gap <= gaps[i - 1] {
            return Err(check_failed(
                "each back-off gap longer than the one before",
                format!("{gaps:?}"),
            ));
        }
    }
    // Every back-off the kubelet named in a waiting message seen is one of the expected delays
    // (the waiting state can be up too briefly for any poll to see it, so none need have been
    // seen; the last poll can come after the next run died).
    let expected: Vec<String> = (1..=GAPS + 1).map(|k| go_secs(b.before(k))).collect();
    let named: Vec<&str> = messages
        .iter()
        .filter_map(|m| m.strip_prefix("back-off "))
        .filter_map(|m| m.split(' ').next())
        .collect();
    if named.iter().any(|n| !expected.iter().any(|e| e == n)) {
        return Err(check_failed(
            &format!("CrashLoopBackOff messages naming back-offs among {expected:?}"),
            format!("{messages:?}"),
        ));
    }
    ctx.check_passed(&format!(
        "back-off gaps {gaps:?} follow {:?} doubling",
        b.initial
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Startup probes.

/// When the `startup-later` pod's script creates the file its startup probe reads.
const STARTED_AFTER: Duration = Duration::from_secs(15);

async fn startup_probe(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    startup_probe_on(&ctx, &cluster.target()).await
}

/// The body of `startup_probe_holds_off_liveness_and_restarts_on_failure`, on any cluster.
pub async fn startup_probe_on(ctx: &CaseCtx, t: &KubeTarget) -> Result<(), CaseError> {
    let with_startup = !ctx.negative_control();
    if !with_startup {
        ctx.fault_injected("no startup probe", "startup-never, startup-later");
    }
    // An always-failing liveness probe: every 1 s, 1 failure.
    let liveness = exec_probe(&["cat", "/tmp/alive"], 1, 1, 5);
    let probes = |failures: u32| {
        let mut p = json!({"livenessProbe": liveness});
        if with_startup {
            p["startupProbe"] = exec_probe(&["cat", "/tmp/started"], 1, failures, 5);
        }
        p
    };
    t.apply(pod(
        t,
        "startup-never",
        "exec sleep 3600",
        "Always",
        probes(3),
    ))
    .await?;
    // failureThreshold 60: 60 s for the file, which comes after 15.
    t.apply(pod(
        t,
        "startup-later",
        &format!(
            "sleep {}; touch /tmp/started; exec sleep 3600",
            STARTED_AFTER.as_secs()
        ),
        "Always",
        probes(60),
    ))
    .await?;
    let later = started(t, "startup-later").await?;
    let start_ms =
        started_at(&later).ok_or_else(|| CaseError::infra("startup-later has no startedAt"))?;
    let file_ms = start_ms + i64::try_from(STARTED_AFTER.as_millis()).unwrap_or(0);
    let hold = until(file_ms - 1000);
    consistently(
        "startup-later not restarted while its startup probe has not yet passed",
        hold,
        POLL,
        || async {
            let p = t.pod("startup-later").await?;
            Ok(if restarts(&p) == 0 {
                Observed::Holds(())
            } else {
                Observed::Not(describe(&p))
            })
        },
    )
    .await?;
    ctx.check_passed(&format!(
        "startup-later's failing liveness held off for {hold:?} before its startup probe passed"
    ));
    let liveness_timing = probe_of(&later, Kind::Liveness)?;
    let startup_timing = probe_of(&later, Kind::Startup)?;
    let window = until(file_ms)
        + startup_timing.to_pass()
        + liveness_timing.to_fail()
        + grace(&later)
        + SLACK;
    eventually(
        "startup-later restarted by its liveness probe once the startup probe passed",
        window,
        POLL,
        || async {
            let p = t.pod("startup-later").await?;
            Ok(if restarts(&p) >= 1 {
                Observed::Holds(())
            } else {
                Observed::Not(describe(&p))
            })
        },
    )
    .await?;
    ctx.check_passed("startup-later restarted after its startup probe passed");
    let never = started(t, "startup-never").await?;
    let startup = probe_of(&never, Kind::Startup)?;
    let window = startup.initial_delay + startup.to_fail() + grace(&never) + SLACK;
    eventually(
        "startup-never restarted by its failing startup probe",
        window,
        POLL,
        || async {
            let p = t.pod("startup-never").await?;
            Ok(if restarts(&p) >= 1 {
                Observed::Holds(())
            } else {
                Observed::Not(describe(&p))
            })
        },
    )
    .await?;
    let events = t.events_for("startup-never").await?;
    let messages: Vec<&str> = events.iter().filter_map(|e| e.message.as_deref()).collect();
    let startup_failed = messages.iter().any(|m| m.contains("failed startup probe"));
    let liveness_failed = messages.iter().any(|m| m.contains("Liveness probe failed"));
    if !startup_failed || liveness_failed {
        return Err(check_failed(
            "startup-never killed for its startup probe, its liveness probe never run",
            format!("{messages:?}"),
        ));
    }
    ctx.check_passed("startup-never restarted for its startup probe; no liveness failure recorded");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_back_off_doubles_from_the_second_restart_up_to_the_cap() {
        let b = CrashBackOff {
            initial: Duration::from_secs(10),
            max: Duration::from_secs(300),
            sync_frequency: Duration::from_secs(60),
        };
        let secs: Vec<u64> = (0..8).map(|k| b.before(k).as_secs()).collect();
        assert_eq!(secs, [0, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(b.jitter(Duration::from_secs(20)), Duration::from_secs(10));
        assert_eq!(b.jitter(Duration::from_secs(300)), Duration::from_secs(30));
    }

    fn crash_pod(restarts: i32, state: Value, last: Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "crash"},
            "status": {"containerStatuses": [{
                "name": "main", "image": "w", "imageID": "", "ready": false,
                "restartCount": restarts, "state": state, "lastState": last,
            }]},
        }))
        .unwrap()
    }

    fn term(start: &str, finish: &str) -> Value {
        json!({"terminated": {"exitCode": 1, "startedAt": start, "finishedAt": finish}})
    }

    #[test]
    fn runs_are_indexed_by_restart_count_whether_running_or_waiting() {
        let (mut runs, mut messages) = (BTreeMap::new(), BTreeSet::new());
        let waiting = json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed container=main"}});
        // Run 1 running: lastState is run 0.
        let p = crash_pod(
            1,
            json!({"running": {"startedAt": "2026-01-01T00:00:03Z"}}),
            term("2026-01-01T00:00:00Z", "2026-01-01T00:00:02Z"),
        );
        record(&mut runs, &mut messages, &p);
        // Waiting after run 1: lastState is run 1 itself.
        let p = crash_pod(
            1,
            waiting,
            term("2026-01-01T00:00:03Z", "2026-01-01T00:00:04Z"),
        );
        record(&mut runs, &mut messages, &p);
        assert_eq!(runs[&0].finish, Some(1_767_225_602_000));
        assert_eq!(runs[&1].start, Some(1_767_225_603_000));
        assert_eq!(runs[&1].finish, Some(1_767_225_604_000));
        assert!(!runs.contains_key(&2));
        assert_eq!(messages.len(), 1);
    }

    #[test]
    fn only_the_kubelets_back_off_event_counts_as_back_off() {
        let event = |reason: &str, message: &str| -> Event {
            serde_json::from_value(json!({
                "metadata": {"name": "crash.1"},
                "involvedObject": {"name": "crash"},
                "reason": reason,
                "message": message,
            }))
            .expect("event")
        };
        assert!(is_back_off(&event(
            "BackOff",
            "Back-off restarting failed container crash in pod crash_ns(uid)"
        )));
        assert!(!is_back_off(&event(
            "BackOff",
            "Back-off pulling image \"workload\""
        )));
        assert!(!is_back_off(&event("Started", "Started container crash")));
    }

    #[test]
    fn go_duration_text() {
        assert_eq!(go_secs(Duration::from_secs(10)), "10s");
        assert_eq!(go_secs(Duration::from_secs(80)), "1m20s");
        assert_eq!(go_secs(Duration::from_secs(300)), "5m0s");
    }
}
