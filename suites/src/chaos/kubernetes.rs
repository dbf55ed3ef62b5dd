//! Kubernetes under node loss and partitions: taint-based eviction and its absence.

use std::{collections::BTreeMap, time::Duration};

use ordeal::{
    check::{CaseError, Observed, consistently, eventually},
    cluster::kubernetes::{KubeCluster, KubeTimings},
    fault::Direction,
    run::{Case, CaseCtx},
};

pub(super) const IMAGES: &[&str] = &[
    "k8s-control-plane",
    "k8s-node",
    "pause",
    "workload",
    "fault-helper",
];
pub(super) const POLL: Duration = Duration::from_millis(500);
/// Slack on top of every computed window: scheduling, container start, poll interval.
pub(super) const SLACK: Duration = Duration::from_secs(20);

/// Every chaos case against Kubernetes.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "chaos::kubernetes::node_killed_pods_evicted_and_recreated",
            "after SIGKILL of node-2, its pods (tolerating `unreachable` for T s, read from the live pods) are evicted within node-monitor-grace-period + node-monitor-period + T (live flags) + 20 s, and the Deployment is whole again on node-1",
            node_killed_evicted,
        )
        .images(IMAGES)
        .timeout(Duration::from_secs(300))
        .control("kube-controller-manager runs without its taint-eviction-controller")
        .source("CHECKS.md K-N2, K-N3, K-S6; test/e2e/node/taint_based_evictions.go; test/e2e/network/network_partition.go"),
        Case::new(
            "chaos::kubernetes::partition_healed_before_toleration_no_eviction",
            "node-2 cut from the apiserver goes NotReady and gets the unreachable taint; healed before the pods' tolerationSeconds, it is Ready again, untainted, and no pod was evicted",
            partition_healed,
        )
        .images(IMAGES)
        .timeout(Duration::from_secs(300))
        .control("the partition is held past the pods' tolerationSeconds")
        .source("CHECKS.md K-N4; test/e2e/node/taint_based_evictions.go (post-heal waits)")
        .smoke(),
        Case::new(
            "chaos::kubernetes::node_paused_past_grace_goes_not_ready_and_recovers",
            "node-2's container frozen (docker pause) for node-monitor-grace-period (live) + 10 s goes NotReady within grace + node-monitor-period + 20 s of the pause, and is Ready again within the kubelet's heartbeat interval (live Lease duration / 4, else its 10 s status-update default) + node-monitor-period + 40 s of the unpause",
            node_paused_past_grace,
        )
        .images(IMAGES)
        .timeout(Duration::from_secs(420))
        .control("the pause lasts a quarter of the grace period")
        .source("CHECKS.md K-N1; content/en/docs/concepts/architecture/nodes.md (heartbeats, node-monitor-grace-period)"),
        Case::new(
            "chaos::kubernetes::node_paused_shorter_than_grace_does_not_flap",
            "node-2 frozen for a quarter of node-monitor-grace-period (live) stays Ready throughout and for one more grace period after the unpause, and the same Deployment pods run on it (none evicted or recreated)",
            node_paused_short_no_flap,
        )
        .images(IMAGES)
        .timeout(Duration::from_secs(420))
        .control("the pause lasts node-monitor-grace-period + 10 s")
        .source("CHECKS.md K-N1 (inverse); content/en/docs/concepts/architecture/nodes.md (Lease renewal every 10 s)"),
    ]
}

/// Timings of every Kubernetes chaos case: a 30 s grace period rather than the fast profile's
/// 10 s.
/// - Pauses: the kubelet renews its Lease every quarter of the Lease duration (40 s by
///   default, so every 10 s) and a pause of P delays a renewal by up to P, so a pause shorter
///   than half the grace period can only stay invisible if P + renew interval +
///   node-monitor-period fits in the grace period.
/// - Eviction: on a loaded 2-core host a 10 s grace let the *healthy* node miss a renewal too;
///   with every node NotReady the node lifecycle controller enters full-disruption mode, lifts
///   the taints and evicts nothing (a CI run of the partition control saw exactly that).
pub(super) const CHAOS_TIMINGS: KubeTimings = KubeTimings {
    node_monitor_grace_period: Duration::from_secs(30),
    node_monitor_period: Duration::from_secs(2),
};
/// How far past the grace period a long pause lasts.
const PAUSE_MARGIN: Duration = Duration::from_secs(10);

/// A Deployment of `replicas` pods that tolerate `unreachable` for `toleration` seconds.
pub(super) fn deployment(
    ctx: &CaseCtx,
    name: &str,
    replicas: u32,
    toleration: u64,
) -> Result<String, CaseError> {
    let image = ctx.image("workload")?;
    Ok(format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 1
      tolerations:
      - {{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: {toleration}}}
      - {{key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: {toleration}}}
      containers:
      - name: main
        image: docker.io/{image}
        imagePullPolicy: Never
        command: ["/bin/sh", "-c", "exec sleep 3600"]
"#
    ))
}

/// What the suites need of a pod, read from `kubectl get pods -o json`.
#[derive(Debug, Clone)]
pub(super) struct PodView {
    name: String,
    uid: String,
    node: String,
    phase: String,
    terminating: bool,
    unreachable_toleration: Option<u64>,
}

/// Holds when the pods of `app` are exactly those with `uids`, all Running and none
/// terminating (nothing evicted, nothing recreated); else says what is there. `note` follows
/// the count of original pods in the message.
async fn same_pods_running(
    cluster: &KubeCluster,
    app: &str,
    uids: &[String],
    note: &str,
) -> ordeal::Result<Observed<()>> {
    let pods = pods(cluster, app).await?;
    let same = pods
        .iter()
        .filter(|p| uids.contains(&p.uid) && p.phase == "Running" && !p.terminating)
        .count();
    Ok(if same == uids.len() && pods.len() == uids.len() {
        Observed::Holds(())
    } else {
        Observed::Not(format!(
            "{same} of {} original pods{note} Running; pods now {:?}",
            uids.len(),
            pods.iter()
                .map(|p| format!(
                    "{}@{} {}{}",
                    p.name,
                    p.node,
                    p.phase,
                    if p.terminating { " terminating" } else { "" }
                ))
                .collect::<Vec<_>>()
        ))
    })
}

pub(super) async fn pods(cluster: &KubeCluster, app: &str) -> ordeal::Result<Vec<PodView>> {
    let out = cluster
        .kubectl(&["get", "pods", "-l", &format!("app={app}"), "-o", "json"])
        .await?;
    if !out.success() {
        return Err(ordeal::Error::infra(out.summary()));
    }
    let v: serde_json::Value = serde_json::from_str(&out.stdout)
        .map_err(|e| ordeal::Error::infra(format!("kubectl get pods: not JSON: {e}")))?;
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    Ok(v["items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|p| PodView {
            name: s(&p["metadata"]["name"]),
            uid: s(&p["metadata"]["uid"]),
            node: s(&p["spec"]["nodeName"]),
            phase: s(&p["status"]["phase"]),
            terminating: !p["metadata"]["deletionTimestamp"].is_null(),
            unreachable_toleration: p["spec"]["tolerations"]
                .as_array()
                .and_then(|ts| {
                    ts.iter()
                        .find(|t| t["key"] == "node.kubernetes.io/unreachable")
                })
                .and_then(|t| t["tolerationSeconds"].as_u64()),
        })
        .collect())
}

/// Per node, the pods that are Running and not terminating.
pub(super) fn running_per_node(pods: &[PodView]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for p in pods
        .iter()
        .filter(|p| p.phase == "Running" && !p.terminating)
    {
        *m.entry(p.node.clone()).or_default() += 1;
    }
    m
}

pub(super) async fn node_state(
    cluster: &KubeCluster,
    name: &str,
) -> ordeal::Result<(String, Vec<String>)> {
    let out = cluster
        .kubectl(&["get", "node", name, "-o", "json"])
        .await?;
    if !out.success() {
        return Err(ordeal::Error::infra(out.summary()));
    }
    let v: serde_json::Value = serde_json::from_str(&out.stdout)
        .map_err(|e| ordeal::Error::infra(format!("kubectl get node: not JSON: {e}")))?;
    let ready = v["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .and_then(|c| c["status"].as_str())
        .unwrap_or("missing")
        .to_owned();
    let taints = v["spec"]["taints"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|t| {
            format!(
                "{}:{}",
                t["key"].as_str().unwrap_or_default(),
                t["effect"].as_str().unwrap_or_default()
            )
        })
        .collect();
    Ok((ready, taints))
}

/// Waits for `replicas` Running pods of `app` on both nodes and returns them with the
/// `unreachable` tolerationSeconds they carry (live).
async fn spread(
    cluster: &KubeCluster,
    app: &str,
    replicas: usize,
) -> Result<(Vec<PodView>, u64), CaseError> {
    let pods = eventually(
        &format!("{replicas} {app} replicas Running on both nodes"),
        Duration::from_secs(90),
        POLL,
        || async {
            let pods = pods(cluster, app).await?;
            let per = running_per_node(&pods);
            let n: usize = per.values().sum();
            Ok(if n == replicas && per.len() == 2 {
                Observed::Holds(pods)
            } else {
                Observed::Not(format!("{n} Running, per node {per:?}"))
            })
        },
    )
    .await?;
    let toleration = pods
        .iter()
        .filter_map(|p| p.unreachable_toleration)
        .max()
        .ok_or_else(|| CaseError::Infra("the pods carry no unreachable toleration".into()))?;
    Ok((pods, toleration))
}

async fn node_killed_evicted(ctx: CaseCtx) -> Result<(), CaseError> {
    let broken: &[&str] = if ctx.negative_control() {
        &["--controllers=*,-taint-eviction-controller"]
    } else {
        &[]
    };
    let cluster = KubeCluster::start_with(&ctx, 2, CHAOS_TIMINGS, broken).await?;
    if ctx.negative_control() {
        ctx.fault_injected("controller off", "taint-eviction-controller");
    }
    cluster.apply(&deployment(&ctx, "evict", 4, 10)?).await?;
    let (before, toleration) = spread(&cluster, "evict", 4).await?;
    let live = cluster.live_timings().await?;
    let window = live.node_monitor_grace_period
        + live.node_monitor_period
        + Duration::from_secs(toleration)
        + SLACK;
    ctx.step(format!(
        "live: node-monitor-grace-period {:?}, node-monitor-period {:?}, pods tolerate unreachable {toleration} s; window {window:?}",
        live.node_monitor_grace_period, live.node_monitor_period
    ));
    let on_node2: Vec<String> = before
        .iter()
        .filter(|p| p.node == "node-2")
        .map(|p| p.name.clone())
        .collect();
    cluster.nodes[1].kill("SIGKILL").await?;
    ctx.fault_injected("kill", "node-2");
    eventually(
        "the pods of node-2 evicted (terminating) and 4 replicas Running on node-1",
        window,
        POLL,
        || async {
            let pods = pods(&cluster, "evict").await?;
            let evicted = on_node2
                .iter()
                .filter(|n| pods.iter().any(|p| &p.name == *n && p.terminating))
                .count();
            let per = running_per_node(&pods);
            let on1 = per.get("node-1").copied().unwrap_or(0);
            Ok(if evicted == on_node2.len() && on1 == 4 {
                Observed::Holds(())
            } else {
                let (ready, taints) = node_state(&cluster, "node-2").await?;
                Observed::Not(format!(
                    "{evicted} of {} node-2 pods evicted, {on1} Running on node-1; node-2 Ready={ready}, taints {taints:?}",
                    on_node2.len()
                ))
            })
        },
    )
    .await?;
    ctx.check_passed("node-2's pods evicted; Deployment whole on node-1");
    Ok(())
}

async fn partition_healed(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, CHAOS_TIMINGS).await?;
    // Long enough to outlast NotReady + taint + the heal, short enough for a quick case.
    cluster.apply(&deployment(&ctx, "stay", 2, 40)?).await?;
    let (before, toleration) = spread(&cluster, "stay", 2).await?;
    let live = cluster.live_timings().await?;
    let not_ready_window = live.node_monitor_grace_period + live.node_monitor_period + SLACK;
    ctx.step(format!(
        "live: node-monitor-grace-period {:?}, node-monitor-period {:?}, pods tolerate unreachable {toleration} s",
        live.node_monitor_grace_period, live.node_monitor_period
    ));
    let api_ip = cluster.apiserver.ip(&cluster.network).await?;
    let faults = ctx.net_faults()?;
    let mut cut = faults
        .drop_between(&cluster.nodes[1], &[api_ip], Direction::Both)
        .await?;
    ctx.fault_injected("partition", "node-2 | apiserver");
    let cut_at = std::time::Instant::now();
    eventually(
        "node-2 NotReady with the unreachable taint while cut off",
        not_ready_window,
        POLL,
        || async {
            let (ready, taints) = node_state(&cluster, "node-2").await?;
            Ok(
                if ready != "True"
                    && taints
                        .iter()
                        .any(|t| t == "node.kubernetes.io/unreachable:NoExecute")
                {
                    Observed::Holds(())
                } else {
                    Observed::Not(format!("Ready={ready}, taints {taints:?}"))
                },
            )
        },
    )
    .await?;
    ctx.check_passed("node-2 NotReady and tainted unreachable:NoExecute");
    if ctx.negative_control() {
        // Broken on purpose: the partition outlasts the toleration, so eviction is due.
        // Eviction is due `toleration` after the taint (just observed); 20 s more covers the
        // controller's queue and the poll.
        let hold = Duration::from_secs(toleration + 20);
        ctx.step(format!("holding the partition {hold:?} more"));
        tokio::time::sleep(hold).await;
    }
    faults.heal(&mut cut).await?;
    ctx.fault_healed("partition", "node-2 | apiserver");
    ctx.step(format!("healed after {:?}", cut_at.elapsed()));
    eventually(
        "node-2 Ready again without the unreachable taint",
        Duration::from_secs(40),
        POLL,
        || async {
            let (ready, taints) = node_state(&cluster, "node-2").await?;
            Ok(
                if ready == "True"
                    && !taints
                        .iter()
                        .any(|t| t.starts_with("node.kubernetes.io/unreachable"))
                {
                    Observed::Holds(())
                } else {
                    Observed::Not(format!("Ready={ready}, taints {taints:?}"))
                },
            )
        },
    )
    .await?;
    ctx.check_passed("node-2 Ready, untainted");
    let uids: Vec<String> = before.iter().map(|p| p.uid.clone()).collect();
    consistently(
        "no pod evicted: the same pods Running, none terminating",
        Duration::from_secs(5),
        POLL,
        || same_pods_running(&cluster, "stay", &uids, ""),
    )
    .await?;
    ctx.check_passed("no eviction");
    Ok(())
}

/// How often node `node`'s kubelet tells the control plane it is alive: a quarter of its live
/// Lease's `leaseDurationSeconds` (the kubelet's fixed renew fraction is 0.25), or, with no Lease
/// in `kube-node-lease`, the kubelet's node-status-update-frequency, which ordeal's kubelet
/// configuration leaves at its 10 s default. Returns the interval and where it came from.
pub(super) async fn heartbeat_interval(
    cluster: &KubeCluster,
    node: &str,
) -> ordeal::Result<(Duration, &'static str)> {
    // The kubelet creates its Lease about when the node turns Ready: allow it 15 s.
    let mut out = None;
    for _ in 0..15 {
        let o = cluster
            .kubectl(&[
                "get",
                "lease",
                "-n",
                "kube-node-lease",
                node,
                "-o",
                "jsonpath={.spec.leaseDurationSeconds}",
            ])
            .await?;
        let found = o.success();
        out = Some(o);
        if found {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let out = out.ok_or_else(|| ordeal::Error::infra("no kubectl get lease ran"))?;
    if !out.success() {
        if out.summary().contains("NotFound") {
            return Ok((
                Duration::from_secs(10),
                "no Lease: kubelet node-status-update-frequency default",
            ));
        }
        return Err(ordeal::Error::infra(out.summary()));
    }
    let secs: u64 = out.stdout.trim().parse().map_err(|e| {
        ordeal::Error::infra(format!(
            "lease `{node}`: leaseDurationSeconds `{}` is not a number: {e}",
            out.stdout.trim()
        ))
    })?;
    Ok((Duration::from_secs(secs) / 4, "live Lease duration / 4"))
}

/// Pauses node-2 for `hold` while `during` runs, then unpauses it: at `hold`, or at once if
/// `during` fails first, so a failed check never leaves a frozen container behind. `during` may
/// go on after the unpause; its result is returned (or the unpause error if only that failed).
/// If the case is dropped (its timeout) while paused, the run's cleanup `docker rm -f`s the
/// frozen container, which the engine allows.
async fn paused_for<T>(
    ctx: &CaseCtx,
    cluster: &KubeCluster,
    hold: Duration,
    during: impl Future<Output = Result<T, CaseError>>,
) -> Result<T, CaseError> {
    let node = &cluster.nodes[1];
    node.pause().await?;
    ctx.fault_injected("pause", "node-2");
    let paused_at = std::time::Instant::now();
    let mut during = std::pin::pin!(during);
    let early = tokio::select! {
        r = &mut during => Some(r),
        () = tokio::time::sleep(hold) => None,
    };
    if let Some(Ok(_)) = early {
        tokio::time::sleep(hold.saturating_sub(paused_at.elapsed())).await;
    }
    let unpaused = node.unpause().await;
    if unpaused.is_ok() {
        ctx.fault_healed("pause", "node-2");
    }
    ctx.step(format!("node-2 unpaused after {:?}", paused_at.elapsed()));
    let result = match early {
        Some(r) => r,
        None => during.await,
    };
    let value = result?;
    unpaused?;
    Ok(value)
}

async fn node_paused_past_grace(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, CHAOS_TIMINGS).await?;
    let live = cluster.live_timings().await?;
    let (renew, renew_from) = heartbeat_interval(&cluster, "node-2").await?;
    let grace = live.node_monitor_grace_period;
    let hold = if ctx.negative_control() {
        // Broken on purpose: too short for the controller to notice.
        grace / 4
    } else {
        grace + PAUSE_MARGIN
    };
    let not_ready_window = grace + live.node_monitor_period + SLACK;
    let ready_window = renew + live.node_monitor_period + 2 * SLACK;
    ctx.step(format!(
        "live: node-monitor-grace-period {grace:?}, node-monitor-period {:?}, kubelet heartbeat {renew:?} ({renew_from}); pause {hold:?}, NotReady within {not_ready_window:?} of the pause, Ready within {ready_window:?} of the unpause",
        live.node_monitor_period
    ));
    let paused_at = std::time::Instant::now();
    let seen = paused_for(&ctx, &cluster, hold, async {
        // The window counts from the pause; in the control it outlasts the pause, which is
        // fine: any NotReady then would still be the pause's doing.
        eventually(
            &format!(
                "node-2 Ready=Unknown/False while paused {hold:?} (grace {grace:?}, monitor period {:?}, window {not_ready_window:?} from the pause)",
                live.node_monitor_period
            ),
            not_ready_window,
            POLL,
            || async {
                let (ready, _) = node_state(&cluster, "node-2").await?;
                Ok(if ready == "Unknown" || ready == "False" {
                    Observed::Holds(paused_at.elapsed())
                } else {
                    Observed::Not(format!(
                        "Ready={ready} {:.1} s after the pause",
                        paused_at.elapsed().as_secs_f64()
                    ))
                })
            },
        )
        .await
    })
    .await?;
    ctx.step(format!("pause -> NotReady: {seen:?}"));
    ctx.check_passed("node-2 NotReady while paused past the grace period");
    let unpaused_at = std::time::Instant::now();
    eventually(
        &format!(
            "node-2 Ready=True again after the unpause (heartbeat {renew:?} + monitor period {:?} + {:?} slack)",
            live.node_monitor_period,
            2 * SLACK
        ),
        ready_window,
        POLL,
        || async {
            let (ready, _) = node_state(&cluster, "node-2").await?;
            Ok(if ready == "True" {
                Observed::Holds(())
            } else {
                Observed::Not(format!("Ready={ready}"))
            })
        },
    )
    .await?;
    ctx.step(format!("unpause -> Ready: {:?}", unpaused_at.elapsed()));
    ctx.check_passed("node-2 Ready again after the unpause");
    Ok(())
}

async fn node_paused_short_no_flap(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, CHAOS_TIMINGS).await?;
    // Tolerations far beyond the case: only a NotReady node could disturb these pods.
    cluster.apply(&deployment(&ctx, "steady", 2, 600)?).await?;
    let (before, _) = spread(&cluster, "steady", 2).await?;
    let live = cluster.live_timings().await?;
    let (renew, renew_from) = heartbeat_interval(&cluster, "node-2").await?;
    let grace = live.node_monitor_grace_period;
    let hold = if ctx.negative_control() {
        // Broken on purpose: long enough for the controller to mark node-2 NotReady.
        grace + PAUSE_MARGIN
    } else {
        grace / 4
    };
    ctx.step(format!(
        "live: node-monitor-grace-period {grace:?}, node-monitor-period {:?}, kubelet heartbeat {renew:?} ({renew_from}); pause {hold:?}",
        live.node_monitor_period
    ));
    if !ctx.negative_control() && hold + renew + live.node_monitor_period >= grace {
        return Err(CaseError::Infra(format!(
            "a pause of {hold:?} + heartbeat {renew:?} + monitor period {:?} does not fit in grace {grace:?}: no flap is not guaranteed",
            live.node_monitor_period
        )));
    }
    let on_node2: Vec<String> = before
        .iter()
        .filter(|p| p.node == "node-2")
        .map(|p| p.uid.clone())
        .collect();
    let uids: Vec<String> = before.iter().map(|p| p.uid.clone()).collect();
    let paused_at = std::time::Instant::now();
    let ready_probe = || async {
        let (ready, _) = node_state(&cluster, "node-2").await?;
        Ok(if ready == "True" {
            Observed::Holds(())
        } else {
            Observed::Not(format!(
                "Ready={ready} {:.1} s after the pause of {hold:?} began (grace {grace:?})",
                paused_at.elapsed().as_secs_f64()
            ))
        })
    };
    paused_for(
        &ctx,
        &cluster,
        hold,
        consistently("node-2 Ready while paused", hold, POLL, ready_probe),
    )
    .await?;
    ctx.check_passed("node-2 Ready throughout the pause");
    consistently(
        &format!("node-2 Ready for one grace period ({grace:?}) after the unpause"),
        grace,
        POLL,
        ready_probe,
    )
    .await?;
    ctx.check_passed("node-2 Ready for one grace period after the unpause");
    let note = format!(" ({} on node-2)", on_node2.len());
    consistently(
        "no pod evicted or recreated: the same pods Running, none terminating",
        Duration::from_secs(5),
        POLL,
        || same_pods_running(&cluster, "steady", &uids, &note),
    )
    .await?;
    ctx.check_passed("no pod evicted or recreated");
    Ok(())
}
