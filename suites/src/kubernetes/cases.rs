//! The Kubernetes cases: each starts its own cluster, breaks it on purpose for its negative
//! control, and runs the shared check body of [`super::checks`] (or, for the node kill, its own).

use std::time::Duration;

use ordeal::{
    check::{CaseError, Observed, consistently, eventually},
    cluster::kubernetes::{KubeCluster, KubeConfig, KubeTimings, node_name, node_ready},
    run::{Case, CaseCtx},
};

use super::checks;

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
        .control("every kubelet is frozen (node containers paused)")
        .source("test/e2e/common/node/pods.go \"should be submitted and removed\"; kubectl logs (pods/log subresource)"),
        Case::new(
            "kubernetes::scheduling::deployment_spreads_over_both_nodes",
            "a 4-replica Deployment runs all replicas, on both nodes",
            deployment_spreads,
        )
        .control("node-2 carries a NoSchedule taint")
        .source("pkg/scheduler/framework/plugins/podtopologyspread (default system spreading); test/e2e/apps/deployment.go"),
        Case::new(
            "kubernetes::scheduling::pod_is_scheduled",
            "a new pod is bound to a node within 30 s",
            pod_scheduled,
        )
        .control("the kube-scheduler container is stopped")
        .source("CHECKS.md K-S5; test/e2e/scheduling/predicates.go"),
        Case::new(
            "kubernetes::nodes::killed_node_goes_not_ready_within_the_window",
            "a node container killed with SIGKILL is NotReady within node-monitor-grace-period + node-monitor-period (live flags) + 10 s, and the other node stays Ready",
            killed_node_not_ready,
        )
        .control("the kill is aimed at no node")
        .source("CHECKS.md K-N1; pkg/controller/nodelifecycle (node-monitor-grace-period); content/en/docs/concepts/architecture/nodes.md"),
        Case::new(
            "kubernetes::services::pod_reaches_a_cluster_ip_service_on_the_other_node",
            "a pod on node-1 gets a token from a pod on node-2 through a ClusterIP Service (kube-proxy's iptables rules)",
            service_reachable,
        )
        .control("kube-proxy is not started on any node")
        .source("test/e2e/network/service.go \"should serve a basic endpoint from pods\"; kube-proxy iptables mode"),
        Case::new(
            "kubernetes::nodes::drained_nodes_pods_come_back_elsewhere",
            "with node-2 cordoned and the pods of a 2-replica Deployment that prefers it evicted, both replicas run again on node-1 within 60 s (the drain `ordeal certify --allow-disruptive` does)",
            drained_node,
        )
        .control("kube-controller-manager is stopped once the replicas run, so nothing recreates them")
        .source("kubectl drain (cordon + Eviction API); content/en/docs/tasks/administer-cluster/safely-drain-node.md"),
    ]
    .into_iter()
    .map(|c| c.images(IMAGES).timeout(Duration::from_secs(300)).smoke())
    .chain(super::health::cases())
    .collect()
}

async fn pod_runs(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    if ctx.negative_control() {
        for n in &cluster.nodes {
            n.pause().await?;
        }
        ctx.fault_injected("pause", "all nodes");
    }
    checks::pod_runs(&ctx, &cluster.target()).await
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
    checks::deployment_spreads(&ctx, &cluster.target(), false).await
}

async fn pod_scheduled(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    if ctx.negative_control() {
        cluster.scheduler.stop(Duration::from_secs(1)).await?;
        ctx.fault_injected("stop", "kube-scheduler");
    }
    checks::pod_scheduled(&ctx, &cluster.target()).await
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
    checks::service_reachable(&ctx, &cluster.target(), Some("node-2"), Some("node-1")).await
}

async fn drained_node(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    let negative = ctx.negative_control();
    checks::drained_pods_come_back_elsewhere(
        &ctx,
        &cluster.target(),
        &["node-2".to_owned()],
        || async {
            if negative {
                cluster
                    .controller_manager
                    .stop(Duration::from_secs(1))
                    .await?;
                ctx.fault_injected("stop", "kube-controller-manager");
            }
            Ok(())
        },
    )
    .await
}
