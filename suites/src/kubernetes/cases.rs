//! The Kubernetes cases.

use std::{collections::BTreeMap, time::Duration};

use ordeal::{
    check::{CaseError, Observed, consistently, eventually},
    cluster::kubernetes::{
        KubeCluster, KubeConfig, KubeTimings, k8s_openapi::api::core::v1::Service, kube, node_name,
        node_ready, plan::containerd_reference, pod_node, pod_phase,
    },
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
        Case::new(
            "kubernetes::services::pod_reaches_a_cluster_ip_service_on_the_other_node",
            "a pod on node-1 gets a token from a pod on node-2 through a ClusterIP Service (kube-proxy's iptables rules)",
            service_reachable,
        )
        .control("kube-proxy is not started on any node"),
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
    image: IMAGE
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", "echo {token}; exec sleep 3600"]
"#
    )
}

fn with_image(manifest: &str, ctx: &CaseCtx) -> Result<String, CaseError> {
    Ok(manifest.replace("IMAGE", &containerd_reference(&ctx.image("workload")?)))
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
            Ok(match pods.first().and_then(pod_phase) {
                Some("Running") => Observed::Holds(()),
                other => Observed::Not(format!(
                    "phase {other:?} on {:?}",
                    pods.first().and_then(pod_node)
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
        image: IMAGE
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
            for p in pods.iter().filter(|p| pod_phase(p) == Some("Running")) {
                *per_node
                    .entry(pod_node(p).unwrap_or_default().to_owned())
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
                Some(p) if pod_node(p).is_some() => Observed::Holds(()),
                Some(p) => Observed::Not(format!("unbound, phase {:?}", pod_phase(p))),
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
                    .find(|n| node_name(n) == name)
                    .map_or("missing".to_owned(), |n| node_ready(n).to_owned()),
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

async fn service_reachable(ctx: CaseCtx) -> Result<(), CaseError> {
    let config = KubeConfig {
        kube_proxy: !ctx.negative_control(),
        ..KubeConfig::new(2)
    };
    let cluster = KubeCluster::start_config(&ctx, &config).await?;
    if ctx.negative_control() {
        ctx.fault_injected("kube-proxy not started", "all nodes");
    }
    let token = ctx.token();
    // The server answers every connection on 8080 with the token; the Service maps 80 to it.
    let server = format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: echo, labels: {{app: echo}}}}
spec:
  nodeName: node-2
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: IMAGE
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", "while true; do echo {token} | nc -l -p 8080; done"]
---
apiVersion: v1
kind: Service
metadata: {{name: echo}}
spec:
  selector: {{app: echo}}
  ports: [{{port: 80, targetPort: 8080}}]
"#
    );
    cluster.apply(&with_image(&server, &ctx)?).await?;
    let services: kube::Api<Service> = kube::Api::default_namespaced(cluster.client());
    let cluster_ip = services
        .get("echo")
        .await
        .map_err(|e| CaseError::Infra(format!("failed to read service echo: {e}")))?
        .spec
        .and_then(|s| s.cluster_ip)
        .ok_or_else(|| CaseError::Infra("service echo has no ClusterIP".into()))?;
    ctx.step(format!("service echo has ClusterIP {cluster_ip}"));
    // The client, on the other node, knows only the ClusterIP; it prints what it receives.
    let client = format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: client, labels: {{app: client}}}}
spec:
  nodeName: node-1
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: IMAGE
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", "while true; do echo \"got $(timeout 2 nc {cluster_ip} 80 </dev/null)\"; sleep 0.5; done"]
"#
    );
    cluster.apply(&with_image(&client, &ctx)?).await?;
    eventually(
        "echo (node-2) and client (node-1) to be Running",
        Duration::from_secs(60),
        POLL,
        || async {
            let pods = cluster.pods("app in (echo, client)").await?;
            let running: Vec<String> = pods
                .iter()
                .filter(|p| pod_phase(p) == Some("Running"))
                .map(|p| {
                    format!(
                        "{}@{}",
                        p.metadata.name.as_deref().unwrap_or("?"),
                        pod_node(p).unwrap_or("?")
                    )
                })
                .collect();
            Ok(if running.len() == 2 {
                Observed::Holds(())
            } else {
                Observed::Not(format!("Running: {running:?}"))
            })
        },
    )
    .await?;
    let what =
        format!("the client on node-1 to receive the token through service echo ({cluster_ip}:80)");
    eventually(&what, Duration::from_secs(30), POLL, || async {
        let log = cluster.logs("client").await.unwrap_or_default();
        Ok(if log.contains(&token) {
            Observed::Holds(())
        } else {
            let last = log.lines().last().unwrap_or("(no output yet)").to_owned();
            Observed::Not(format!("client's last line: {last:?}"))
        })
    })
    .await?;
    ctx.check_passed("token received through the ClusterIP from the other node");
    Ok(())
}
