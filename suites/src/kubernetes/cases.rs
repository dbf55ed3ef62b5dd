//! The Kubernetes cases.

use std::{collections::BTreeMap, time::Duration};

use ordeal::{
    check::{CaseError, Observed, consistently, eventually},
    cluster::kubernetes::{KubeCluster, KubeTimings},
    run::{Case, CaseCtx},
};

const IMAGES: &[&str] = &["k8s-control-plane", "k8s-node", "pause", "workload"];
const POLL: Duration = Duration::from_millis(500);

/// Every Kubernetes case.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "kubernetes::pods::pod_runs_and_its_log_is_readable",
            "a pod of the workload image reaches Running on a node and its log is read through the API",
            pod_runs,
        )
        .control("every kubelet is frozen (node containers paused)"),
        Case::new(
            "kubernetes::scheduling::deployment_spreads_over_both_nodes",
            "a 4-replica Deployment runs all replicas, on both nodes",
            deployment_spreads,
        )
        .control("node-2 carries a NoSchedule taint"),
        Case::new(
            "kubernetes::scheduling::pod_is_scheduled",
            "a new pod is bound to a node within 30 s",
            pod_scheduled,
        )
        .control("the kube-scheduler container is stopped"),
        Case::new(
            "kubernetes::nodes::killed_node_goes_not_ready_within_the_window",
            "a node container killed with SIGKILL is NotReady within node-monitor-grace-period + node-monitor-period (live flags) + 10 s, and the other node stays Ready",
            killed_node_not_ready,
        )
        .control("the kill is aimed at no node"),
    ]
    .into_iter()
    .map(|c| c.images(IMAGES).timeout(Duration::from_secs(300)))
    .collect()
}

fn pod_manifest(name: &str, token: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: {name}}}}}
spec:
  containers:
  - name: main
    image: docker.io/IMAGE
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", "echo {token}; exec sleep 3600"]
"#
    )
}

fn with_image(manifest: &str, ctx: &CaseCtx) -> Result<String, CaseError> {
    Ok(manifest.replace("IMAGE", &ctx.image("workload")?))
}

async fn pod_runs(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    if ctx.negative_control() {
        for n in &cluster.nodes {
            n.pause().await?;
        }
        ctx.fault_injected("pause", "all nodes");
    }
    let token = ctx.token();
    cluster
        .apply(&with_image(&pod_manifest("hello", &token), &ctx)?)
        .await?;
    eventually(
        "pod hello to be Running",
        Duration::from_secs(60),
        POLL,
        || async {
            let pods = cluster.pods("app=hello").await?;
            Ok(match pods.first().and_then(|p| p.status.phase.clone()) {
                Some(phase) if phase == "Running" => Observed::Holds(()),
                other => Observed::Not(format!(
                    "phase {other:?} on {:?}",
                    pods.first().and_then(|p| p.spec.node_name.clone())
                )),
            })
        },
    )
    .await?;
    ctx.check_passed("pod hello Running");
    eventually(
        "the pod's log, read through the API, to show its token",
        Duration::from_secs(30),
        POLL,
        || async {
            let log = cluster.logs("hello").await.unwrap_or_default();
            Ok(if log.contains(&token) {
                Observed::Holds(())
            } else {
                Observed::Not(format!("log {log:?}"))
            })
        },
    )
    .await?;
    ctx.check_passed("log read through the API");
    Ok(())
}

async fn deployment_spreads(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    if ctx.negative_control() {
        let out = cluster
            .kubectl(&["taint", "node", "node-2", "ordeal=broken:NoSchedule"])
            .await?;
        if !out.success() {
            return Err(CaseError::Infra(out.summary()));
        }
        ctx.fault_injected("taint NoSchedule", "node-2");
    }
    let manifest = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: main
        image: docker.io/IMAGE
        imagePullPolicy: Never
        command: ["/bin/sh", "-c", "exec sleep 3600"]
"#;
    cluster.apply(&with_image(manifest, &ctx)?).await?;
    eventually(
        "4 web replicas Running on both nodes",
        Duration::from_secs(60),
        POLL,
        || async {
            let pods = cluster.pods("app=web").await?;
            let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
            for p in pods
                .iter()
                .filter(|p| p.status.phase.as_deref() == Some("Running"))
            {
                *per_node
                    .entry(p.spec.node_name.clone().unwrap_or_default())
                    .or_default() += 1;
            }
            let running: usize = per_node.values().sum();
            Ok(if running == 4 && per_node.len() == 2 {
                Observed::Holds(())
            } else {
                Observed::Not(format!("{running} Running, per node {per_node:?}"))
            })
        },
    )
    .await?;
    ctx.check_passed("4 replicas spread over node-1 and node-2");
    Ok(())
}

async fn pod_scheduled(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    if ctx.negative_control() {
        cluster.scheduler.stop(Duration::from_secs(1)).await?;
        ctx.fault_injected("stop", "kube-scheduler");
    }
    cluster
        .apply(&with_image(&pod_manifest("bind-me", &ctx.token()), &ctx)?)
        .await?;
    eventually(
        "pod bind-me to be bound to a node",
        Duration::from_secs(30),
        POLL,
        || async {
            let pods = cluster.pods("app=bind-me").await?;
            Ok(match pods.first() {
                Some(p) if p.spec.node_name.is_some() => Observed::Holds(()),
                Some(p) => Observed::Not(format!("unbound, phase {:?}", p.status.phase)),
                None => Observed::Not("no pod".into()),
            })
        },
    )
    .await?;
    ctx.check_passed("pod bound");
    Ok(())
}

async fn killed_node_not_ready(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    let live = cluster.live_timings().await?;
    let window =
        live.node_monitor_grace_period + live.node_monitor_period + Duration::from_secs(10);
    ctx.step(format!(
        "live controller-manager flags: node-monitor-grace-period {:?}, node-monitor-period {:?}; window {window:?}",
        live.node_monitor_grace_period, live.node_monitor_period
    ));
    if !ctx.negative_control() {
        cluster.nodes[1].kill("SIGKILL").await?;
        ctx.fault_injected("kill", "node-2");
    }
    let status = |name: &'static str| {
        let cluster = &cluster;
        async move {
            let nodes = cluster.nodes_status().await?;
            Ok::<_, ordeal::Error>(
                nodes
                    .iter()
                    .find(|n| n.metadata.name == name)
                    .map_or("missing".to_owned(), |n| n.ready().to_owned()),
            )
        }
    };
    let what = "node-2 to be NotReady (Ready != True) after the kill";
    eventually(what, window, POLL, || async {
        let s = status("node-2").await?;
        Ok(if s == "True" {
            Observed::Not(format!("node-2 Ready={s}"))
        } else {
            Observed::Holds(())
        })
    })
    .await?;
    ctx.check_passed("node-2 NotReady within the window");
    consistently(
        "node-1 to stay Ready",
        Duration::from_secs(3),
        POLL,
        || async {
            let s = status("node-1").await?;
            Ok(if s == "True" {
                Observed::Holds(())
            } else {
                Observed::Not(format!("node-1 Ready={s}"))
            })
        },
    )
    .await?;
    ctx.check_passed("node-1 still Ready");
    Ok(())
}
