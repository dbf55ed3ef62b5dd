//! The bodies of the non-destructive Kubernetes checks. Each works through a [`KubeTarget`]
//! only (a client, a namespace, the workload image), so the same body runs against a cluster
//! a case started (`kubernetes::*`) and against one ordeal did not start (`ordeal certify`).

use std::{collections::BTreeMap, time::Duration};

use ordeal::{
    check::{CaseError, Observed, eventually},
    cluster::kubernetes::{KubeTarget, Pod, pod_node, pod_phase},
    run::CaseCtx,
};
use serde_json::{Value, json};

const POLL: Duration = Duration::from_millis(500);

/// A pod `name` (label `app=<name>`) running `script` in the workload image, on `node` if
/// given (bypassing the scheduler), else wherever the scheduler binds it.
pub fn pod(t: &KubeTarget, name: &str, script: &str, node: Option<&str>) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": pod_spec(t, script, node),
    })
}

/// The spec of a pod running `script` (on `node` if given); it stops 1 s after SIGTERM.
fn pod_spec(t: &KubeTarget, script: &str, node: Option<&str>) -> Value {
    json!({
        "nodeName": node,
        "terminationGracePeriodSeconds": 1,
        "containers": [t.container(script)],
    })
}

/// `pod@node`, for messages.
pub(crate) fn placed(p: &Pod) -> String {
    format!(
        "{}@{}",
        p.metadata.name.as_deref().unwrap_or("?"),
        pod_node(p).unwrap_or("?")
    )
}

/// Holds with `value` when `ok`; else not, with what `seen` says of it.
fn observe<T>(ok: bool, value: T, seen: impl FnOnce(&T) -> String) -> Observed<T> {
    if ok {
        Observed::Holds(value)
    } else {
        Observed::Not(seen(&value))
    }
}

/// A Deployment `name` of `replicas` pods (label `app=<name>`) with pod spec `spec`.
pub(crate) fn deployment(name: &str, replicas: u32, spec: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec},
        },
    })
}

/// A pod of the workload image reaches Running and its log, read through the API, shows the
/// token it printed.
pub async fn pod_runs(ctx: &CaseCtx, t: &KubeTarget) -> Result<(), CaseError> {
    let token = ctx.token();
    t.apply(pod(
        t,
        "hello",
        &format!("echo {token}; exec sleep 3600"),
        None,
    ))
    .await?;
    eventually(
        "pod hello to be Running",
        Duration::from_secs(60),
        POLL,
        || async {
            let pods = t.pods("app=hello").await?;
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
            let log = t.logs("hello").await.unwrap_or_default();
            Ok(observe(log.contains(&token), (), |()| {
                format!("log {log:?}")
            }))
        },
    )
    .await?;
    ctx.check_passed("log read through the API");
    Ok(())
}

/// A 4-replica Deployment runs all its replicas, spread over at least 2 nodes. With `hard`,
/// the replicas carry a topology spread constraint (maxSkew 1 over `kubernetes.io/hostname`,
/// DoNotSchedule, tainted nodes not counted); without, the scheduler's default spreading alone
/// must do it, which is soft: other pods on a node can outweigh it.
pub async fn deployment_spreads(
    ctx: &CaseCtx,
    t: &KubeTarget,
    hard: bool,
) -> Result<(), CaseError> {
    let mut spec = pod_spec(t, "exec sleep 3600", None);
    if hard {
        spec["topologySpreadConstraints"] = json!([{
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "DoNotSchedule",
            "nodeTaintsPolicy": "Honor",
            "labelSelector": {"matchLabels": {"app": "web"}},
        }]);
    }
    t.apply(deployment("web", 4, spec)).await?;
    let per_node = eventually(
        "4 web replicas Running on at least 2 nodes",
        Duration::from_secs(60),
        POLL,
        || async {
            let pods = t.pods("app=web").await?;
            let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
            for p in pods.iter().filter(|p| pod_phase(p) == Some("Running")) {
                *per_node
                    .entry(pod_node(p).unwrap_or_default().to_owned())
                    .or_default() += 1;
            }
            let running: usize = per_node.values().sum();
            Ok(observe(
                running == 4 && per_node.len() >= 2,
                per_node,
                |m| format!("{running} Running, per node {m:?}"),
            ))
        },
    )
    .await?;
    ctx.check_passed(&format!("4 replicas spread over nodes {per_node:?}"));
    Ok(())
}

/// A new pod is bound to a node within 30 s.
pub async fn pod_scheduled(ctx: &CaseCtx, t: &KubeTarget) -> Result<(), CaseError> {
    t.apply(pod(
        t,
        "bind-me",
        &format!("echo {}; exec sleep 3600", ctx.token()),
        None,
    ))
    .await?;
    let node = eventually(
        "pod bind-me to be bound to a node",
        Duration::from_secs(30),
        POLL,
        || async {
            let pods = t.pods("app=bind-me").await?;
            Ok(match pods.first() {
                Some(p) if pod_node(p).is_some() => {
                    Observed::Holds(pod_node(p).unwrap_or_default().to_owned())
                }
                Some(p) => Observed::Not(format!("unbound, phase {:?}", pod_phase(p))),
                None => Observed::Not("no pod".into()),
            })
        },
    )
    .await?;
    ctx.check_passed(&format!("pod bound to {node}"));
    Ok(())
}

/// A client pod (on `client_node`) receives a token from a server pod (on `server_node`)
/// through a ClusterIP Service, knowing only the ClusterIP. The workload image needs `nc`.
pub async fn service_reachable(
    ctx: &CaseCtx,
    t: &KubeTarget,
    server_node: Option<&str>,
    client_node: Option<&str>,
) -> Result<(), CaseError> {
    let token = ctx.token();
    // The server answers every connection on 8080 with the token; the Service maps 80 to it.
    t.apply(json!([
        pod(
            t,
            "echo",
            &format!("while true; do echo {token} | nc -l -p 8080; done"),
            server_node,
        ),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "echo"},
            "spec": {"selector": {"app": "echo"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    ]))
    .await?;
    let cluster_ip = t.cluster_ip("echo").await?;
    ctx.step(format!("service echo has ClusterIP {cluster_ip}"));
    // The client knows only the ClusterIP; it prints what it receives.
    t.apply(pod(
        t,
        "client",
        &format!(
            "while true; do echo \"got $(timeout 2 nc {cluster_ip} 80 </dev/null)\"; sleep 0.5; done"
        ),
        client_node,
    ))
    .await?;
    let placed = eventually(
        "echo and client to be Running",
        Duration::from_secs(60),
        POLL,
        || async {
            let pods = t.pods("app in (echo, client)").await?;
            let running: Vec<String> = pods
                .iter()
                .filter(|p| pod_phase(p) == Some("Running"))
                .map(placed)
                .collect();
            Ok(observe(running.len() == 2, running.join(", "), |_| {
                format!("Running: {running:?}")
            }))
        },
    )
    .await?;
    ctx.step(format!("Running: {placed}"));
    let what = format!("the client to receive the token through service echo ({cluster_ip}:80)");
    eventually(&what, Duration::from_secs(30), POLL, || async {
        let log = t.logs("client").await.unwrap_or_default();
        Ok(observe(log.contains(&token), (), |()| {
            let last = log.lines().last().unwrap_or("(no output yet)");
            format!("client's last line: {last:?}")
        }))
    })
    .await?;
    ctx.check_passed(&format!("token received through the ClusterIP ({placed})"));
    Ok(())
}

/// Disruptive (`ordeal certify` runs it only with `--allow-disruptive --target NODE...`): with
/// `targets` cordoned and the pods of a 2-replica Deployment that prefers them evicted from them
/// (a drain of the check's own pods), both replicas are Running again on other nodes within
/// 60 s. `before_drain` runs once the replicas run on the targets (a negative control breaks
/// the cluster there). The targets are uncordoned at the end, whatever happened.
pub async fn drained_pods_come_back_elsewhere<F, Fut>(
    ctx: &CaseCtx,
    t: &KubeTarget,
    targets: &[String],
    before_drain: F,
) -> Result<(), CaseError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), CaseError>>,
{
    // The future is lazy: nothing of `before_drain` runs until the drain awaits it.
    let result = drain(ctx, t, targets, before_drain()).await;
    let mut healed = Ok(());
    for node in targets {
        match t.cordon(node, false).await {
            Ok(()) => ctx.fault_healed("cordon", node),
            Err(e) => healed = Err(CaseError::from(e)),
        }
    }
    result.and(healed)
}

async fn drain(
    ctx: &CaseCtx,
    t: &KubeTarget,
    targets: &[String],
    before_drain: impl Future<Output = Result<(), CaseError>>,
) -> Result<(), CaseError> {
    let mut spec = pod_spec(t, "exec sleep 3600", None);
    spec["affinity"] = json!({"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
        "weight": 100,
        "preference": {"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": targets},
        ]},
    }]}});
    t.apply(deployment("drain", 2, spec)).await?;
    // Where the live replicas run: (pod, node) of each Running pod not being deleted.
    let placed = || async {
        let pods = t.pods("app=drain").await?;
        Ok::<_, ordeal::Error>(
            pods.iter()
                .filter(|p| pod_phase(p) == Some("Running"))
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .map(|p| {
                    (
                        p.metadata.name.clone().unwrap_or_default(),
                        pod_node(p).unwrap_or_default().to_owned(),
                    )
                })
                .collect::<Vec<_>>(),
        )
    };
    let on_targets =
        |pods: &[(String, String)]| pods.iter().filter(|(_, n)| targets.contains(n)).count();
    let before = eventually(
        "the Deployment's 2 replicas to be Running",
        Duration::from_secs(60),
        POLL,
        || async {
            let pods = placed().await?;
            Ok(observe(pods.len() == 2, pods, |p| {
                format!("Running: {p:?}")
            }))
        },
    )
    .await?;
    if on_targets(&before) != 2 {
        return Err(CaseError::infra(format!(
            "precondition not met: the replicas run on {before:?}, not all on the targets \
             {targets:?} their affinity prefers (no room there?)"
        )));
    }
    before_drain.await?;
    for node in targets {
        t.cordon(node, true).await?;
        ctx.fault_injected("cordon", node);
    }
    for (pod, node) in &before {
        t.evict(pod).await?;
        ctx.fault_injected("evict", &format!("{pod} from {node}"));
    }
    let after = eventually(
        "both replicas Running again, on nodes other than the drained ones",
        Duration::from_secs(60),
        POLL,
        || async {
            let pods = placed().await?;
            let fresh = pods.iter().all(|p| !before.contains(p));
            Ok(observe(
                pods.len() == 2 && on_targets(&pods) == 0 && fresh,
                pods,
                |p| format!("{p:?}"),
            ))
        },
    )
    .await?;
    ctx.check_passed(&format!("replicas rescheduled after the drain: {after:?}"));
    Ok(())
}
