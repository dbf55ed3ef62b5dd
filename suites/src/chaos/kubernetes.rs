//! Kubernetes under node loss and partitions: taint-based eviction and its absence.

use std::{collections::BTreeMap, time::Duration};

use ordeal::{
    check::{CaseError, Observed, consistently, eventually},
    cluster::kubernetes::{KubeCluster, KubeTimings},
    fault::Direction,
    run::{Case, CaseCtx},
};

const IMAGES: &[&str] = &[
    "k8s-control-plane",
    "k8s-node",
    "pause",
    "workload",
    "fault-helper",
];
const POLL: Duration = Duration::from_millis(500);
/// Slack on top of every computed window: scheduling, container start, poll interval.
const SLACK: Duration = Duration::from_secs(20);

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
        .control("kube-controller-manager runs without its taint-eviction-controller"),
        Case::new(
            "chaos::kubernetes::partition_healed_before_toleration_no_eviction",
            "node-2 cut from the apiserver goes NotReady and gets the unreachable taint; healed before the pods' tolerationSeconds, it is Ready again, untainted, and no pod was evicted",
            partition_healed,
        )
        .images(IMAGES)
        .timeout(Duration::from_secs(300))
        .control("the partition is held past the pods' tolerationSeconds"),
    ]
}

/// A Deployment of `replicas` pods that tolerate `unreachable` for `toleration` seconds.
fn deployment(
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
struct PodView {
    name: String,
    uid: String,
    node: String,
    phase: String,
    terminating: bool,
    unreachable_toleration: Option<u64>,
}

async fn pods(cluster: &KubeCluster, app: &str) -> ordeal::Result<Vec<PodView>> {
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
fn running_per_node(pods: &[PodView]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for p in pods
        .iter()
        .filter(|p| p.phase == "Running" && !p.terminating)
    {
        *m.entry(p.node.clone()).or_default() += 1;
    }
    m
}

async fn node_state(cluster: &KubeCluster, name: &str) -> ordeal::Result<(String, Vec<String>)> {
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
    let cluster = KubeCluster::start_with(&ctx, 2, KubeTimings::FAST, broken).await?;
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
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
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
        || async {
            let pods = pods(&cluster, "stay").await?;
            let same = pods
                .iter()
                .filter(|p| uids.contains(&p.uid) && p.phase == "Running" && !p.terminating)
                .count();
            Ok(if same == uids.len() && pods.len() == uids.len() {
                Observed::Holds(())
            } else {
                Observed::Not(format!(
                    "{same} of {} original pods Running; pods now {:?}",
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
        },
    )
    .await?;
    ctx.check_passed("no eviction");
    Ok(())
}
