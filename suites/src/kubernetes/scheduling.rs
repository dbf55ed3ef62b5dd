//! Scheduling predicates (`kubernetes::scheduling::*`, CHECKS.md §3.2): what kube-scheduler
//! must refuse (CPU requests beyond a node's allocatable, unmatched node selectors and
//! affinities, untolerated taints, pod anti-affinity, host-port conflicts, topology spread) and
//! what it must still place. Each case starts its own 2-node cluster.
//!
//! A "stays Pending" assertion never passes on silence alone: the scheduler must first have
//! looked at the pod and said why it cannot place it (condition `PodScheduled=False`, reason
//! `Unschedulable`, with the expected predicate in its message), and the pod must then stay
//! unbound with that condition for a window. With the scheduler stopped the condition never
//! comes, so those checks fail.

use std::{collections::BTreeMap, time::Duration};

use ordeal::{
    check::{CaseError, Observed, consistently, eventually},
    cluster::kubernetes::{
        KubeCluster, KubeTarget, KubeTimings, Node, Pod,
        kube::{
            Api,
            api::{ListParams, Patch, PatchParams},
        },
        node_name, pod_node, pod_phase,
    },
    run::{Case, CaseCtx},
};
use serde_json::{Value, json};

use super::checks;

const IMAGES: &[&str] = &["k8s-control-plane", "k8s-node", "pause", "workload"];
const POLL: Duration = Duration::from_millis(500);
/// The scheduler tries a new pod as soon as it enters its active queue (no backoff for a first
/// attempt), so it is bound or marked unschedulable within a second on an idle host; 30 s is
/// slack for a host shared with other clusters (the window of `pod_is_scheduled`).
const DECIDED_WITHIN: Duration = Duration::from_secs(30);
/// A bound pod's container starts from a preloaded image (`imagePullPolicy: Never`); 60 s is
/// the window the other Kubernetes cases give a pod to reach Running on a loaded host.
const RUNNING_WITHIN: Duration = Duration::from_secs(60);
/// kube-scheduler's `podMaxBackoffSeconds` when it runs without `--config`: the
/// KubeSchedulerConfiguration v1 default (`pkg/scheduler/apis/config/v1/defaults.go`).
const DEFAULT_POD_MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A host port no component of the node uses (the upstream test's port, `predicates.go`).
const HOST_PORT: u16 = 54321;

/// The scheduling cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "kubernetes::scheduling::cpu_requests_beyond_the_remaining_allocatable_stay_pending",
            "with each node's allocatable CPU (read from the API) 70 % requested by a pinned pod, a pod requesting 50 % of the largest node stays Pending (PodScheduled=False/Unschedulable, Insufficient cpu) for 2 x podMaxBackoff + 5 s, a pod requesting exactly the largest remainder is bound and runs, and no node's bound requests exceed its allocatable",
            cpu_requests,
        )
        .control("the big pod requests exactly the largest remainder, so it fits and is bound")
        .source("test/e2e/scheduling/predicates.go \"validates resource limits of pods that are allowed to run [Conformance]\""),
        Case::new(
            "kubernetes::scheduling::node_selector_and_required_node_affinity_admit_only_matching_nodes",
            "with node-2 labelled, pods whose nodeSelector or required node affinity matches the label run on node-2, and pods asking for another value stay Pending (Unschedulable, didn't match Pod's node affinity/selector) for 2 x podMaxBackoff + 5 s",
            node_selector,
        )
        .control("the label is put on no node")
        .source("test/e2e/scheduling/predicates.go \"validates that NodeSelector is respected if matching [Conformance]\", \"... if not matching [Conformance]\", \"validates that required NodeAffinity setting is respected if matching\", \"validates that NodeAffinity is respected if not matching\""),
        Case::new(
            "kubernetes::scheduling::no_schedule_taint_admits_only_tolerating_pods",
            "with node-2 tainted NoSchedule, of two pods required onto node-2 by node affinity the tolerating one runs there and the other stays Pending (Unschedulable, untolerated taint) for 2 x podMaxBackoff + 5 s",
            taints,
        )
        .control("node-2 is not tainted")
        .source("test/e2e/scheduling/predicates.go \"validates that taints-tolerations is respected if matching\" and \"... if not matching\""),
        Case::new(
            "kubernetes::scheduling::required_pod_anti_affinity_keeps_replicas_on_different_nodes",
            "of a 3-replica Deployment with required pod anti-affinity to itself on kubernetes.io/hostname, two replicas are bound to different nodes and the third stays Pending (Unschedulable, didn't match pod anti-affinity rules) for 2 x podMaxBackoff + 5 s on 2 nodes",
            anti_affinity,
        )
        .control("the anti-affinity term selects no pod (app=nobody), so replicas may share a node")
        .source("kubernetes/website content/en/docs/concepts/scheduling-eviction/assign-pod-node.md \"Inter-pod affinity and anti-affinity\"; pkg/scheduler/framework/plugins/interpodaffinity/filtering.go")
        .smoke(),
        Case::new(
            "kubernetes::scheduling::host_port_conflict_keeps_the_second_pod_pending",
            "on node-1, a pod with hostPort 54321/TCP on 0.0.0.0 and one with 54321/UDP both run, and a later pod asking for 54321/TCP on the node's address stays Pending (Unschedulable, didn't have free ports) for 2 x podMaxBackoff + 5 s",
            host_ports,
        )
        .control("the last pod asks for host port 54322 instead, which is free")
        .source("test/e2e/scheduling/predicates.go \"validates that there exists conflict between pods with same hostPort and protocol but one using 0.0.0.0 hostIP [Conformance]\" and \"validates that there is no conflict between pods with same hostPort but different hostIP and protocol\""),
        Case::new(
            "kubernetes::scheduling::topology_spread_max_skew_1_splits_4_replicas_2_and_2",
            "4 replicas with a topology spread constraint (maxSkew 1 over kubernetes.io/hostname, DoNotSchedule) are bound 2 and 2 to the two nodes even though they prefer node-1 (preferred node affinity) and node-2 has a PreferNoSchedule taint",
            topology_spread,
        )
        .control("the spread constraint is omitted, so the preferences skew the replicas")
        .source("test/e2e/scheduling/predicates.go \"PodTopologySpread Filtering validates 4 pods with MaxSkew=1 are evenly distributed into 2 nodes\"")
        .smoke(),
    ]
    .into_iter()
    .map(|c| c.images(IMAGES).timeout(Duration::from_secs(300)))
    .collect()
}

/// Where the scheduler put a pod, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Placement {
    /// Bound to this node.
    Bound(String),
    /// `PodScheduled=False`, reason `Unschedulable`, with this message.
    Unschedulable(String),
    /// Not decided yet (not created, or no verdict from the scheduler).
    Undecided(String),
}

impl Placement {
    fn of(pod: Option<&Pod>) -> Self {
        let Some(pod) = pod else {
            return Self::Undecided("not created yet".into());
        };
        if let Some(node) = pod_node(pod) {
            return Self::Bound(node.to_owned());
        }
        let cond = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled"));
        match cond {
            Some(c) if c.status == "False" && c.reason.as_deref() == Some("Unschedulable") => {
                Self::Unschedulable(c.message.clone().unwrap_or_default())
            }
            Some(c) => Self::Undecided(format!(
                "unbound, PodScheduled={} reason {:?}",
                c.status, c.reason
            )),
            None => Self::Undecided("unbound, no PodScheduled condition".into()),
        }
    }

    fn decided(&self) -> bool {
        !matches!(self, Self::Undecided(_))
    }
}

/// The placement of each named pod, in order.
async fn placements(t: &KubeTarget, names: &[&str]) -> ordeal::Result<Vec<Placement>> {
    let pods = t.pods("").await?;
    Ok(names
        .iter()
        .map(|n| Placement::of(pods.iter().find(|p| p.metadata.name.as_deref() == Some(n))))
        .collect())
}

fn describe(names: &[&str], placed: &[Placement]) -> String {
    names
        .iter()
        .zip(placed)
        .map(|(n, p)| format!("{n}: {p:?}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// How long an unschedulable pod must stay Pending: two retries at the scheduler's maximum
/// backoff plus 5 s slack. The scheduler is checked to run without `--config` (its live
/// command line), so its backoff is the upstream default.
async fn pending_window(ctx: &CaseCtx, cluster: &KubeCluster) -> Result<Duration, CaseError> {
    let args = cluster.scheduler.args().await?;
    if args.iter().any(|a| a.starts_with("--config")) {
        return Err(CaseError::infra(format!(
            "kube-scheduler runs with a --config this case does not read ({args:?}); its backoff is unknown"
        )));
    }
    let window = 2 * DEFAULT_POD_MAX_BACKOFF + Duration::from_secs(5);
    ctx.step(format!(
        "kube-scheduler args {args:?}: no --config, so podMaxBackoffSeconds is the default {DEFAULT_POD_MAX_BACKOFF:?}; a Pending pod is watched for {window:?}"
    ));
    Ok(window)
}

/// Every named pod is first found unschedulable by the scheduler (with `why` in its message)
/// and then stays unbound and unschedulable for `window`.
async fn stays_unschedulable(
    ctx: &CaseCtx,
    t: &KubeTarget,
    names: &[&str],
    why: &str,
    window: Duration,
) -> Result<(), CaseError> {
    let what = format!("the scheduler to decide on {names:?}");
    let placed = eventually(&what, DECIDED_WITHIN, POLL, || async {
        let placed = placements(t, names).await?;
        Ok(if placed.iter().all(Placement::decided) {
            Observed::Holds(placed)
        } else {
            Observed::Not(describe(names, &placed))
        })
    })
    .await?;
    for (name, p) in names.iter().zip(&placed) {
        match p {
            Placement::Unschedulable(msg) if msg.contains(why) => {}
            Placement::Unschedulable(msg) => {
                return Err(CaseError::failed(format!(
                    "expected pod {name} to be unschedulable because {why:?}; the scheduler says {msg:?}"
                )));
            }
            other => {
                return Err(CaseError::failed(format!(
                    "expected pod {name} to stay Pending (unschedulable: {why:?}); observed {other:?}"
                )));
            }
        }
    }
    ctx.check_passed(&format!(
        "the scheduler found {names:?} unschedulable: {}",
        describe(names, &placed)
    ));
    // The reason was checked above; from here on only the verdict must hold. Its message may
    // change (on a loaded host a node can miss a heartbeat and be tainted not-ready for a
    // moment, which the scheduler then names too), but the pod must never be bound.
    let what = format!("{names:?} to stay unbound with PodScheduled=False/Unschedulable");
    consistently(&what, window, POLL, || async {
        let placed = placements(t, names).await?;
        Ok(
            if placed
                .iter()
                .all(|p| matches!(p, Placement::Unschedulable(_)))
            {
                Observed::Holds(())
            } else {
                Observed::Not(describe(names, &placed))
            },
        )
    })
    .await?;
    ctx.check_passed(&format!("{names:?} still unschedulable after {window:?}"));
    Ok(())
}

/// Every named pod is bound (to the node given with it, if any) and then Running.
async fn runs_on(
    ctx: &CaseCtx,
    t: &KubeTarget,
    expected: &[(&str, Option<&str>)],
) -> Result<(), CaseError> {
    let names: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
    let what = format!("the scheduler to decide on {names:?}");
    let placed = eventually(&what, DECIDED_WITHIN, POLL, || async {
        let placed = placements(t, &names).await?;
        Ok(if placed.iter().all(Placement::decided) {
            Observed::Holds(placed)
        } else {
            Observed::Not(describe(&names, &placed))
        })
    })
    .await?;
    for ((name, want), p) in expected.iter().zip(&placed) {
        match (p, want) {
            (Placement::Bound(node), Some(want)) if node != want => {
                return Err(CaseError::failed(format!(
                    "expected pod {name} to be bound to {want}; it was bound to {node}"
                )));
            }
            (Placement::Bound(_), _) => {}
            (other, _) => {
                return Err(CaseError::failed(format!(
                    "expected pod {name} to be bound{}; observed {other:?}",
                    want.map(|w| format!(" to {w}")).unwrap_or_default()
                )));
            }
        }
    }
    let what = format!("{names:?} to be Running");
    eventually(&what, RUNNING_WITHIN, POLL, || async {
        let pods = t.pods("").await?;
        let phases: Vec<Option<&str>> = names
            .iter()
            .map(|n| {
                pods.iter()
                    .find(|p| p.metadata.name.as_deref() == Some(n))
                    .and_then(pod_phase)
            })
            .collect();
        Ok(if phases.iter().all(|p| *p == Some("Running")) {
            Observed::Holds(())
        } else {
            Observed::Not(format!("phases {phases:?}"))
        })
    })
    .await?;
    ctx.check_passed(&format!(
        "{names:?} Running where expected: {}",
        describe(&names, &placed)
    ));
    Ok(())
}

/// The names of the two schedulable nodes, sorted (KubeCluster::start returns once every
/// node is Ready without the lifecycle controller's not-ready taint); fewer is a setup error.
async fn two_nodes(t: &KubeTarget) -> Result<(String, String), CaseError> {
    let mut nodes = t.schedulable_nodes().await?;
    nodes.sort();
    match nodes.as_slice() {
        [a, b, ..] => Ok((a.clone(), b.clone())),
        _ => Err(CaseError::infra(format!(
            "precondition not met: two schedulable nodes; schedulable: {nodes:?}"
        ))),
    }
}

async fn patch_node(t: &KubeTarget, node: &str, patch: Value) -> Result<(), CaseError> {
    let nodes: Api<Node> = Api::all(t.client());
    nodes
        .patch(node, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map_err(|e| CaseError::infra(format!("failed to patch node {node}: {e}")))?;
    Ok(())
}

/// Adds a taint to `node`, keeping the ones it has.
async fn taint(t: &KubeTarget, node: &str, taint: Value) -> Result<(), CaseError> {
    let nodes: Api<Node> = Api::all(t.client());
    let current = nodes
        .get(node)
        .await
        .map_err(|e| CaseError::infra(format!("failed to read node {node}: {e}")))?;
    let mut taints: Vec<Value> = current
        .spec
        .and_then(|s| s.taints)
        .unwrap_or_default()
        .into_iter()
        .map(|t| serde_json::to_value(t).unwrap_or(Value::Null))
        .collect();
    taints.push(taint);
    patch_node(t, node, json!({"spec": {"taints": taints}})).await
}

/// A sleeping pod `name` with `spec` merged into its spec (top-level keys replace).
fn pod(t: &KubeTarget, name: &str, spec: Value) -> Value {
    let mut p = checks::pod(t, name, "exec sleep 3600", None);
    if let Value::Object(extra) = spec {
        for (k, v) in extra {
            p["spec"][k] = v;
        }
    }
    p
}

/// A required node affinity: label `key` In `values`.
fn required_node_affinity(key: &str, values: &[&str]) -> Value {
    json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": key, "operator": "In", "values": values},
        ]}],
    }}})
}

/// A Deployment `name` of `replicas` sleeping pods (label `app=<name>`) with `spec` merged
/// into the pod spec.
fn deployment(t: &KubeTarget, name: &str, replicas: u32, spec: Value) -> Value {
    checks::deployment(name, replicas, pod(t, name, spec)["spec"].clone())
}

/// Placement of every pod matching `selector`, by pod name.
async fn placements_of(
    t: &KubeTarget,
    selector: &str,
) -> ordeal::Result<BTreeMap<String, Placement>> {
    Ok(t.pods(selector)
        .await?
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| {
            (
                p.metadata.name.clone().unwrap_or_default(),
                Placement::of(Some(p)),
            )
        })
        .collect())
}

/// Millicores of a CPU quantity (`2`, `1500m`, `0.5`).
fn cpu_millis(q: &str) -> Option<i64> {
    if let Some(m) = q.strip_suffix('m') {
        return m.parse().ok();
    }
    let (whole, frac) = q.split_once('.').unwrap_or((q, ""));
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut frac = frac.to_owned();
    if frac.len() > 3 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    while frac.len() < 3 {
        frac.push('0');
    }
    Some(whole * 1000 + frac.parse::<i64>().ok()?)
}

/// The CPU requests of a pod's containers, in millicores.
fn requested_cpu(pod: &Pod) -> i64 {
    pod.spec
        .iter()
        .flat_map(|s| &s.containers)
        .filter_map(|c| c.resources.as_ref()?.requests.as_ref()?.get("cpu"))
        .filter_map(|q| cpu_millis(&q.0))
        .sum()
}

/// CPU requests of the non-terminated pods bound to each node, every namespace.
async fn requested_per_node(t: &KubeTarget) -> Result<BTreeMap<String, i64>, CaseError> {
    let pods: Api<Pod> = Api::all(t.client());
    let list = pods
        .list(&ListParams::default())
        .await
        .map_err(|e| CaseError::infra(format!("failed to list pods: {e}")))?;
    let mut used = BTreeMap::new();
    for p in &list.items {
        if matches!(pod_phase(p), Some("Succeeded" | "Failed")) {
            continue;
        }
        if let Some(node) = pod_node(p) {
            *used.entry(node.to_owned()).or_insert(0) += requested_cpu(p);
        }
    }
    Ok(used)
}

fn cpu_request(millis: i64) -> Value {
    json!({"requests": {"cpu": format!("{millis}m")}})
}

async fn cpu_requests(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    let t = cluster.target();
    let window = pending_window(&ctx, &cluster).await?;
    let (node1, node2) = two_nodes(&t).await?;
    let nodes = t.nodes().await?;
    let mut allocatable = BTreeMap::new();
    for n in nodes
        .iter()
        .filter(|n| node_name(n) == node1 || node_name(n) == node2)
    {
        let q = n
            .status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref())
            .and_then(|a| a.get("cpu"))
            .ok_or_else(|| {
                CaseError::infra(format!("node {} has no allocatable cpu", node_name(n)))
            })?;
        let m = cpu_millis(&q.0)
            .ok_or_else(|| CaseError::infra(format!("unparsable cpu quantity {:?}", q.0)))?;
        allocatable.insert(node_name(n).to_owned(), m);
    }
    let used = requested_per_node(&t).await?;
    ctx.step(format!(
        "allocatable cpu (millicores) {allocatable:?}, already requested {used:?}"
    ));
    // One filler per node, pinned there, requesting 70 % of what the node has left.
    let mut fillers = Vec::new();
    let mut remaining = BTreeMap::new();
    for (i, (node, alloc)) in allocatable.iter().enumerate() {
        let left = alloc - used.get(node).copied().unwrap_or(0);
        let fill = left * 7 / 10;
        let name = format!("filler-{}", i + 1);
        let mut spec = json!({"nodeSelector": {"kubernetes.io/hostname": node}});
        spec["containers"] = json!([t.container("exec sleep 3600")]);
        spec["containers"][0]["resources"] = cpu_request(fill);
        t.apply(pod(&t, &name, spec)).await?;
        remaining.insert(node.clone(), left - fill);
        fillers.push((name, node.clone()));
    }
    let expected: Vec<(&str, Option<&str>)> = fillers
        .iter()
        .map(|(n, node)| (n.as_str(), Some(node.as_str())))
        .collect();
    runs_on(&ctx, &t, &expected).await?;
    let largest = allocatable.values().copied().max().unwrap_or(0);
    let most_left = remaining.values().copied().max().unwrap_or(0);
    let big = if ctx.negative_control() {
        ctx.fault_injected("request exactly the largest remainder", "pod big");
        most_left
    } else {
        largest / 2
    };
    if !ctx.negative_control() && big <= most_left {
        return Err(CaseError::infra(format!(
            "precondition not met: 50 % of the largest node ({big}m) fits in a remainder {remaining:?}"
        )));
    }
    ctx.step(format!(
        "remaining cpu per node {remaining:?}; pod big requests {big}m"
    ));
    let mut spec = json!({"containers": [t.container("exec sleep 3600")]});
    spec["containers"][0]["resources"] = cpu_request(big);
    t.apply(pod(&t, "big", spec)).await?;
    stays_unschedulable(&ctx, &t, &["big"], "Insufficient cpu", window).await?;
    // A pod asking for exactly the largest remainder fits: requests may reach allocatable.
    let mut spec = json!({"containers": [t.container("exec sleep 3600")]});
    spec["containers"][0]["resources"] = cpu_request(most_left);
    t.apply(pod(&t, "fit", spec)).await?;
    runs_on(&ctx, &t, &[("fit", None)]).await?;
    let used = requested_per_node(&t).await?;
    for (node, alloc) in &allocatable {
        let u = used.get(node).copied().unwrap_or(0);
        if u > *alloc {
            return Err(CaseError::failed(format!(
                "expected the requests bound to {node} to stay within its allocatable {alloc}m; they are {u}m"
            )));
        }
    }
    ctx.check_passed(&format!(
        "requests per node {used:?} within allocatable {allocatable:?}"
    ));
    Ok(())
}

async fn node_selector(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    let t = cluster.target();
    let window = pending_window(&ctx, &cluster).await?;
    let (_, node2) = two_nodes(&t).await?;
    let key = "ordeal.test/zone";
    let value = format!("z{}", ctx.token());
    let other = format!("{value}-elsewhere");
    if ctx.negative_control() {
        ctx.fault_injected("label put on no node", &format!("{key}={value}"));
    } else {
        patch_node(&t, &node2, json!({"metadata": {"labels": {key: value}}})).await?;
        ctx.step(format!("labelled {node2} {key}={value}"));
    }
    t.apply(json!([
        pod(&t, "selector-match", json!({"nodeSelector": {key: value}})),
        pod(
            &t,
            "affinity-match",
            json!({"affinity": required_node_affinity(key, &[&value])})
        ),
        pod(&t, "selector-miss", json!({"nodeSelector": {key: other}})),
        pod(
            &t,
            "affinity-miss",
            json!({"affinity": required_node_affinity(key, &[&other])})
        ),
    ]))
    .await?;
    runs_on(
        &ctx,
        &t,
        &[
            ("selector-match", Some(&node2)),
            ("affinity-match", Some(&node2)),
        ],
    )
    .await?;
    stays_unschedulable(
        &ctx,
        &t,
        &["selector-miss", "affinity-miss"],
        "didn't match Pod's node affinity/selector",
        window,
    )
    .await
}

async fn taints(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    let t = cluster.target();
    let window = pending_window(&ctx, &cluster).await?;
    let (_, node2) = two_nodes(&t).await?;
    let key = "ordeal.test/dedicated";
    let value = ctx.token();
    if ctx.negative_control() {
        ctx.fault_injected("taint not applied", &node2);
    } else {
        taint(
            &t,
            &node2,
            json!({"key": key, "value": value, "effect": "NoSchedule"}),
        )
        .await?;
        ctx.step(format!("tainted {node2} {key}={value}:NoSchedule"));
    }
    let pinned = required_node_affinity("kubernetes.io/hostname", &[&node2]);
    t.apply(json!([
        pod(&t, "intolerant", json!({"affinity": pinned})),
        pod(
            &t,
            "tolerant",
            json!({
                "affinity": pinned,
                "tolerations": [{"key": key, "operator": "Equal", "value": value, "effect": "NoSchedule"}],
            })
        ),
    ]))
    .await?;
    runs_on(&ctx, &t, &[("tolerant", Some(&node2))]).await?;
    stays_unschedulable(&ctx, &t, &["intolerant"], "untolerated taint", window).await
}

async fn anti_affinity(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    let t = cluster.target();
    let window = pending_window(&ctx, &cluster).await?;
    two_nodes(&t).await?;
    let selects = if ctx.negative_control() {
        ctx.fault_injected("anti-affinity term selects app=nobody", "deployment anti");
        "nobody"
    } else {
        "anti"
    };
    t.apply(deployment(
        &t,
        "anti",
        3,
        json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": {"matchLabels": {"app": selects}},
            "topologyKey": "kubernetes.io/hostname",
        }]}}}),
    ))
    .await?;
    let why = "didn't match pod anti-affinity rules";
    // Holds with the bound nodes when 2 replicas are bound to distinct nodes and the third is
    // unschedulable for anti-affinity; else says what it saw.
    // (`strict`: the third must name anti-affinity; the first look checks that, later ones
    // only that it stays unschedulable, as in `stays_unschedulable`.)
    let verdict = |placed: &BTreeMap<String, Placement>, strict: bool| {
        let bound: Vec<&String> = placed
            .values()
            .filter_map(|p| match p {
                Placement::Bound(n) => Some(n),
                _ => None,
            })
            .collect();
        let refused = placed
            .values()
            .filter(|p| matches!(p, Placement::Unschedulable(m) if !strict || m.contains(why)))
            .count();
        let ok = placed.len() == 3 && bound.len() == 2 && bound[0] != bound[1] && refused == 1;
        if ok {
            Observed::Holds(format!("{placed:?}"))
        } else {
            Observed::Not(format!("{placed:?}"))
        }
    };
    let first = eventually(
        "3 replicas decided by the scheduler",
        DECIDED_WITHIN,
        POLL,
        || async {
            let placed = placements_of(&t, "app=anti").await?;
            Ok(
                if placed.len() == 3 && placed.values().all(Placement::decided) {
                    Observed::Holds(placed)
                } else {
                    Observed::Not(format!("{placed:?}"))
                },
            )
        },
    )
    .await?;
    match verdict(&first, true) {
        Observed::Holds(seen) => ctx.check_passed(&format!(
            "2 replicas on different nodes, the third unschedulable: {seen}"
        )),
        Observed::Not(seen) => {
            return Err(CaseError::failed(format!(
                "expected 2 replicas bound to different nodes and the third unschedulable ({why:?}); observed {seen}"
            )));
        }
    }
    consistently(
        "2 replicas on different nodes and the third unschedulable",
        window,
        POLL,
        || async {
            let placed = placements_of(&t, "app=anti").await?;
            Ok(match verdict(&placed, false) {
                Observed::Holds(_) => Observed::Holds(()),
                Observed::Not(s) => Observed::Not(s),
            })
        },
    )
    .await?;
    ctx.check_passed(&format!(
        "the third replica still unschedulable after {window:?}"
    ));
    Ok(())
}

async fn host_ports(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    let t = cluster.target();
    let window = pending_window(&ctx, &cluster).await?;
    let (node1, _) = two_nodes(&t).await?;
    let node_ip = t
        .nodes()
        .await?
        .iter()
        .find(|n| node_name(n) == node1)
        .and_then(|n| n.status.as_ref()?.addresses.as_ref())
        .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
        .map(|a| a.address.clone())
        .ok_or_else(|| CaseError::infra(format!("node {node1} has no InternalIP")))?;
    let port_pod = |name: &str, host_ip: &str, port: u16, protocol: &str| {
        let mut spec = json!({"nodeSelector": {"kubernetes.io/hostname": node1}});
        spec["containers"] = json!([t.container("exec sleep 3600")]);
        spec["containers"][0]["ports"] = json!([{
            "containerPort": 8080, "hostPort": port, "hostIP": host_ip, "protocol": protocol,
        }]);
        pod(&t, name, spec)
    };
    t.apply(json!([
        port_pod("tcp-any", "", HOST_PORT, "TCP"),
        port_pod("udp-any", "", HOST_PORT, "UDP"),
    ]))
    .await?;
    runs_on(
        &ctx,
        &t,
        &[("tcp-any", Some(&node1)), ("udp-any", Some(&node1))],
    )
    .await?;
    let port = if ctx.negative_control() {
        ctx.fault_injected("another host port (54322)", "pod tcp-node-ip");
        HOST_PORT + 1
    } else {
        HOST_PORT
    };
    t.apply(port_pod("tcp-node-ip", &node_ip, port, "TCP"))
        .await?;
    ctx.step(format!(
        "pod tcp-node-ip asks for {node_ip}:{port}/TCP on {node1}"
    ));
    stays_unschedulable(&ctx, &t, &["tcp-node-ip"], "didn't have free ports", window).await
}

async fn topology_spread(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start(&ctx, 2, KubeTimings::FAST).await?;
    let t = cluster.target();
    let (node1, node2) = two_nodes(&t).await?;
    // Both runs: everything pulls the replicas to node-1 except the hard constraint.
    taint(
        &t,
        &node2,
        json!({"key": "ordeal.test/avoid", "value": "yes", "effect": "PreferNoSchedule"}),
    )
    .await?;
    let mut spec = json!({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
        "weight": 100,
        "preference": {"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node1]},
        ]},
    }]}}});
    if ctx.negative_control() {
        ctx.fault_injected("spread constraint omitted", "deployment spread");
    } else {
        spec["topologySpreadConstraints"] = json!([{
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "spread"}},
        }]);
    }
    t.apply(deployment(&t, "spread", 4, spec)).await?;
    let placed = eventually("4 replicas bound", DECIDED_WITHIN, POLL, || async {
        let placed = placements_of(&t, "app=spread").await?;
        Ok(
            if placed.len() == 4 && placed.values().all(|p| matches!(p, Placement::Bound(_))) {
                Observed::Holds(placed)
            } else {
                Observed::Not(format!("{placed:?}"))
            },
        )
    })
    .await?;
    let mut per_node: BTreeMap<&str, usize> = [(node1.as_str(), 0), (node2.as_str(), 0)].into();
    for p in placed.values() {
        if let Placement::Bound(n) = p {
            *per_node.entry(n).or_default() += 1;
        }
    }
    if per_node.values().any(|&c| c != 2) {
        return Err(CaseError::failed(format!(
            "expected the 4 replicas bound 2 and 2 to {node1} and {node2}; observed {per_node:?}"
        )));
    }
    ctx.check_passed(&format!("replicas per node {per_node:?}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quantities_in_millicores() {
        assert_eq!(cpu_millis("2"), Some(2000));
        assert_eq!(cpu_millis("1500m"), Some(1500));
        assert_eq!(cpu_millis("0.5"), Some(500));
        assert_eq!(cpu_millis("1.25"), Some(1250));
        assert_eq!(cpu_millis(".1"), Some(100));
        assert_eq!(cpu_millis("1.2345"), None);
        assert_eq!(cpu_millis("x"), None);
    }

    #[test]
    fn placement_needs_the_schedulers_unschedulable_verdict() {
        let pod = |v: Value| -> Pod { serde_json::from_value(v).unwrap() };
        assert_eq!(
            Placement::of(Some(&pod(
                json!({"spec": {"nodeName": "node-1", "containers": []}})
            ))),
            Placement::Bound("node-1".into())
        );
        let refused = pod(json!({"status": {"conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/2 nodes are available: 2 Insufficient cpu.",
        }]}}));
        assert_eq!(
            Placement::of(Some(&refused)),
            Placement::Unschedulable("0/2 nodes are available: 2 Insufficient cpu.".into())
        );
        // A pod nobody looked at (the scheduler is down) is not a verdict.
        assert!(!Placement::of(Some(&pod(json!({"status": {"phase": "Pending"}})))).decided());
        assert!(!Placement::of(None).decided());
    }
}
