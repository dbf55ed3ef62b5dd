//! Resource sharing (CHECKS.md §3.4): ResourceQuota and LimitRange admission, PriorityClass
//! preemption, and the OOM kill of a container over its memory limit. Each case starts its own
//! 2-node cluster; the check bodies work through a [`KubeTarget`] only (its client, namespace
//! and workload image), so `ordeal certify` could run them against another cluster.

use std::{collections::BTreeMap, fmt::Debug, time::Duration};

use ordeal::{
    check::{CaseError, Observed, eventually},
    cluster::kubernetes::{
        KubeCluster, KubeConfig, KubeTarget, api_err,
        k8s_openapi::{
            api::{
                core::v1::{LimitRange, Pod, ResourceQuota},
                scheduling::v1::PriorityClass,
            },
            apimachinery::pkg::api::resource::Quantity,
            serde::{Serialize, de::DeserializeOwned},
        },
        kube::{
            self, Api,
            api::{DeleteParams, ListParams, PostParams},
        },
        node_name, pod_node, pod_phase,
    },
    run::{Case, CaseCtx},
};
use serde_json::{Value, json};

use super::checks;

const IMAGES: &[&str] = &["k8s-control-plane", "k8s-node", "pause", "workload"];
const POLL: Duration = Duration::from_millis(500);
/// Room for a pod to be bound, its sandbox made and its container started on a loaded 2-core
/// host running other clusters (a pod normally runs within a few seconds).
const START_SLACK: Duration = Duration::from_secs(60);
/// kube-scheduler's `podMaxBackoffSeconds` (10 s, the KubeSchedulerConfiguration default; the
/// scheduler is started with no config file): the longest an unschedulable pod waits before
/// the scheduler tries it again.
const SCHEDULER_MAX_BACKOFF: Duration = Duration::from_secs(10);
/// The kubelet's first container restart back-off (10 s, doubling; pod-lifecycle.md and
/// CHECKS.md §3.3; the node's KubeletConfiguration does not change it).
const KUBELET_FIRST_BACKOFF: Duration = Duration::from_secs(10);
/// `terminationGracePeriodSeconds` of every pod [`checks::pod`] makes.
const POD_GRACE: Duration = Duration::from_secs(1);

/// Every resource-sharing case.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "kubernetes::resources::resource_quota_tracks_usage_and_rejects_pods_beyond_it",
            "with a ResourceQuota (requests.cpu 500m, requests.memory 256Mi, pods 3), status.used tracks an admitted pod's requests, a pod beyond the remaining quota is rejected at admission (403 exceeded quota), and usage is released when the pod is deleted",
            resource_quota,
        )
        .control("the ResourceQuota admission plugin is disabled on kube-apiserver (--disable-admission-plugins=ResourceQuota)")
        .source("test/e2e/apimachinery/resource_quota.go \"should create a ResourceQuota and capture the life of a pod.\" (Conformance)")
        .smoke(),
        Case::new(
            "kubernetes::resources::limit_range_defaults_and_rejects_out_of_range_pods",
            "with a LimitRange (min 50m/100Mi, max 500m/500Mi, default 500m/500Mi, defaultRequest 100m/200Mi), a pod without resources gets the defaults, and pods above max or below min are rejected at admission (403)",
            limit_range,
        )
        .control("the LimitRanger admission plugin is disabled on kube-apiserver (--disable-admission-plugins=LimitRanger)")
        .source("test/e2e/scheduling/limit_range.go \"should create a LimitRange with defaults and ensure pod has those defaults applied.\" (Conformance)")
        .smoke(),
        Case::new(
            "kubernetes::resources::high_priority_pod_preempts_a_low_priority_pod",
            "with every node's free CPU (allocatable read from the API, minus live requests) 4/5 taken by a low-priority pod, a high-priority pod that fits only in place of one is scheduled and Running after the scheduler preempts exactly one low-priority pod",
            preemption,
        )
        .control("the high-priority class has preemptionPolicy: Never, so nothing is preempted and the pod stays Pending")
        .source("test/e2e/scheduling/preemption.go \"validates basic preemption works\" (Conformance)"),
        Case::new(
            "kubernetes::resources::container_over_its_memory_limit_is_oom_killed_and_restarted",
            "a container that holds 48 MiB under a 32Mi memory limit is OOMKilled (lastState.terminated.reason) and restarted (restartCount >= 1)",
            oom_killed,
        )
        .control("the memory limit is 256Mi, above the container's peak (under 100 MiB, measured)")
        .source("content/en/docs/concepts/workloads/pods/pod-lifecycle.md (container restarts); test/e2e_node/oomkiller_linux_test.go \"The containers terminated by OOM killer should have the reason set to OOMKilled\""),
    ]
    .into_iter()
    .map(|c| c.images(IMAGES).timeout(Duration::from_secs(300)))
    .collect()
}

/// A 2-node cluster; for a negative control, kube-apiserver runs with admission `plugin` off.
async fn cluster_without_plugin_if_control(
    ctx: &CaseCtx,
    plugin: &str,
) -> Result<KubeCluster, CaseError> {
    let mut config = KubeConfig::new(2);
    if ctx.negative_control() {
        config
            .apiserver_extra
            .push(format!("--disable-admission-plugins={plugin}"));
    }
    let cluster = KubeCluster::start_config(ctx, &config).await?;
    if ctx.negative_control() {
        let args = cluster.apiserver.args().await?;
        let flag = format!("--disable-admission-plugins={plugin}");
        if !args.contains(&flag) {
            return Err(CaseError::infra(format!(
                "kube-apiserver was not started with {flag}: {args:?}"
            )));
        }
        ctx.fault_injected(
            "admission plugin disabled",
            &format!("kube-apiserver {flag}"),
        );
    }
    Ok(cluster)
}

async fn resource_quota(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = cluster_without_plugin_if_control(&ctx, "ResourceQuota").await?;
    quota_tracks_usage_and_rejects(&ctx, &cluster.target()).await
}

async fn limit_range(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = cluster_without_plugin_if_control(&ctx, "LimitRanger").await?;
    limit_range_defaults_and_rejects(&ctx, &cluster.target()).await
}

async fn preemption(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start_config(&ctx, &KubeConfig::new(2)).await?;
    let policy = if ctx.negative_control() {
        ctx.fault_injected("preemptionPolicy: Never", "the high-priority PriorityClass");
        "Never"
    } else {
        "PreemptLowerPriority"
    };
    high_priority_preempts(&ctx, &cluster.target(), policy).await
}

async fn oom_killed(ctx: CaseCtx) -> Result<(), CaseError> {
    let cluster = KubeCluster::start_config(&ctx, &KubeConfig::new(2)).await?;
    // 32Mi is below the 48 MiB the container holds; 256Mi is above its peak (between 64 and
    // 100 MiB under `docker run --memory`: the shell's buffer grows by doubling).
    let limit = if ctx.negative_control() {
        ctx.fault_injected("memory limit 256Mi", "pod hog");
        "256Mi"
    } else {
        "32Mi"
    };
    oom_killed_and_restarted(&ctx, &cluster.target(), limit).await
}

// ---------------------------------------------------------------------------------------------
// Check bodies.

/// ResourceQuota: usage tracked, a pod beyond it rejected at admission, usage released.
pub async fn quota_tracks_usage_and_rejects(
    ctx: &CaseCtx,
    t: &KubeTarget,
) -> Result<(), CaseError> {
    let quotas: Api<ResourceQuota> = Api::namespaced(t.client(), t.namespace());
    let hard = [
        ("requests.cpu", "500m"),
        ("requests.memory", "256Mi"),
        ("pods", "3"),
    ];
    create(
        &quotas,
        json!({
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "compute"},
            "spec": {"hard": BTreeMap::from(hard)},
        }),
    )
    .await
    .map_err(|e| api_err("create ResourceQuota `compute`", e))?;
    let nothing = [
        ("requests.cpu", "0"),
        ("requests.memory", "0"),
        ("pods", "0"),
    ];
    // The resourcequota controller computes a new quota's status on its add event (the 5 min
    // --resource-quota-sync-period is only the full resync); 60 s is room for a loaded host.
    quota_used_becomes(
        &quotas,
        hard.len(),
        "quota `compute` to have its status computed with nothing used",
        Duration::from_secs(60),
        &nothing,
    )
    .await?;
    ctx.step("quota `compute` computed: nothing used");

    let pods: Api<Pod> = Api::namespaced(t.client(), t.namespace());
    let requests = json!({"requests": {"cpu": "300m", "memory": "100Mi"}});
    create(&pods, with_resources(t, "within", &requests))
        .await
        .map_err(|e| api_err("create pod `within` (300m, 100Mi)", e))?;
    // The admission plugin charges the quota as it admits the pod; 60 s as above.
    quota_used_becomes(
        &quotas,
        hard.len(),
        "quota `compute` status.used to be requests.cpu 300m, requests.memory 100Mi, pods 1",
        Duration::from_secs(60),
        &[
            ("requests.cpu", "300m"),
            ("requests.memory", "100Mi"),
            ("pods", "1"),
        ],
    )
    .await?;
    ctx.check_passed("status.used tracks pod `within`: 300m, 100Mi, 1 pod");

    match create(&pods, with_resources(t, "beyond", &requests)).await {
        Ok(_) => {
            return Err(CaseError::failed(
                "expected pod `beyond` (requests.cpu 300m, 200m of 500m left) to be rejected at \
                 admission with 403 exceeded quota; observed: it was admitted",
            ));
        }
        Err(kube::Error::Api(s)) if s.code == 403 && s.message.contains("exceeded quota") => {
            ctx.check_passed(&format!("pod `beyond` rejected: {}", s.message));
        }
        Err(kube::Error::Api(s)) => {
            return Err(CaseError::failed(format!(
                "expected pod `beyond` to be rejected with 403 exceeded quota; observed {} {}: {}",
                s.code, s.reason, s.message
            )));
        }
        Err(e) => return Err(api_err("create pod `beyond`", e).into()),
    }

    pods.delete("within", &DeleteParams::default())
        .await
        .map_err(|e| api_err("delete pod `within`", e))?;
    // A deleted pod stops counting once its grace period (1 s) is over; the controller hears of
    // it through its pod informer (replenishment), not the 5 min resync.
    quota_used_becomes(
        &quotas,
        hard.len(),
        "quota `compute` usage to be released after pod `within` is deleted",
        POD_GRACE + Duration::from_secs(60),
        &nothing,
    )
    .await?;
    ctx.check_passed("usage released after the delete");
    Ok(())
}

/// Waits until quota `compute` has its status computed (its `hard` lists the `hard_len`
/// resources it was created with; the admission plugin refuses pods until then, as upstream
/// waits too) and its `status.used` is `want` for each listed resource.
async fn quota_used_becomes(
    quotas: &Api<ResourceQuota>,
    hard_len: usize,
    what: &str,
    window: Duration,
    want: &[(&str, &str)],
) -> Result<(), CaseError> {
    eventually(what, window, POLL, || async {
        let q = quotas
            .get("compute")
            .await
            .map_err(|e| api_err("read quota `compute`", e))?;
        let status = q.status.unwrap_or_default();
        let computed = status.hard.as_ref().is_some_and(|h| h.len() == hard_len);
        Ok(match computed.then(|| status.used.unwrap_or_default()) {
            Some(u) if uses(&u, want) => Observed::Holds(()),
            Some(u) => Observed::Not(format!("used {}", show(&u))),
            None => Observed::Not("status not computed yet".into()),
        })
    })
    .await?;
    Ok(())
}

/// LimitRange: defaults applied to a pod without resources, pods outside min/max rejected.
pub async fn limit_range_defaults_and_rejects(
    ctx: &CaseCtx,
    t: &KubeTarget,
) -> Result<(), CaseError> {
    let ranges: Api<LimitRange> = Api::namespaced(t.client(), t.namespace());
    // The values of upstream's limit_range.go.
    create(
        &ranges,
        json!({
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": {"name": "limits"},
            "spec": {"limits": [{
                "type": "Container",
                "min": {"cpu": "50m", "memory": "100Mi"},
                "max": {"cpu": "500m", "memory": "500Mi"},
                "default": {"cpu": "500m", "memory": "500Mi"},
                "defaultRequest": {"cpu": "100m", "memory": "200Mi"},
            }]},
        }),
    )
    .await
    .map_err(|e| api_err("create LimitRange `limits`", e))?;
    let pods: Api<Pod> = Api::namespaced(t.client(), t.namespace());
    // The create answer is the pod as admitted (after the mutating admission plugins).
    let admitted = create(&pods, checks::pod(t, "defaulted", "exec sleep 3600", None))
        .await
        .map_err(|e| api_err("create pod `defaulted` (no resources)", e))?;
    let resources = admitted
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.resources.clone())
        .unwrap_or_default();
    let got = |map: &Option<BTreeMap<String, Quantity>>, k: &str| {
        map.as_ref()
            .and_then(|m| m.get(k))
            .and_then(|q| quantity(&q.0))
    };
    let want = [
        ("requests", "cpu", &resources.requests, "100m"),
        ("requests", "memory", &resources.requests, "200Mi"),
        ("limits", "cpu", &resources.limits, "500m"),
        ("limits", "memory", &resources.limits, "500Mi"),
    ];
    let wrong: Vec<String> = want
        .iter()
        .filter(|(_, k, map, v)| {
            !got(map, k).is_some_and(|g| same(g, quantity(v).unwrap_or(f64::NAN)))
        })
        .map(|(kind, k, map, v)| {
            format!(
                "{kind}.{k} {} (want {v})",
                map.as_ref()
                    .and_then(|m| m.get(*k))
                    .map_or("unset", |q| q.0.as_str())
            )
        })
        .collect();
    if !wrong.is_empty() {
        return Err(CaseError::failed(format!(
            "expected pod `defaulted` (no resources) to get the LimitRange defaults (requests \
             100m/200Mi, limits 500m/500Mi); observed {}",
            wrong.join(", ")
        )));
    }
    ctx.check_passed("pod without resources got requests 100m/200Mi, limits 500m/500Mi");

    for (name, resources, expect) in [
        (
            "above-max",
            json!({"limits": {"cpu": "600m", "memory": "200Mi"}}),
            "maximum cpu usage per Container is 500m",
        ),
        (
            "below-min",
            json!({"requests": {"cpu": "10m", "memory": "200Mi"}}),
            "minimum cpu usage per Container is 50m",
        ),
    ] {
        match create(&pods, with_resources(t, name, &resources)).await {
            Ok(_) => {
                return Err(CaseError::failed(format!(
                    "expected pod `{name}` ({resources}) to be rejected at admission with 403 \
                     \"{expect}\"; observed: it was admitted"
                )));
            }
            Err(kube::Error::Api(s)) if s.code == 403 && s.message.contains(expect) => {
                ctx.check_passed(&format!("pod `{name}` rejected: {}", s.message));
            }
            Err(kube::Error::Api(s)) => {
                return Err(CaseError::failed(format!(
                    "expected pod `{name}` to be rejected with 403 \"{expect}\"; observed {} {}: {}",
                    s.code, s.reason, s.message
                )));
            }
            Err(e) => return Err(api_err(&format!("create pod `{name}`"), e).into()),
        }
    }
    Ok(())
}

/// Preemption: each schedulable node's free CPU 4/5 taken by a low-priority pod; a
/// high-priority pod (classes with `preemption_policy`) that fits only in a victim's place runs
/// after exactly one low-priority pod is preempted. The two PriorityClasses are deleted at
/// the end.
pub async fn high_priority_preempts(
    ctx: &CaseCtx,
    t: &KubeTarget,
    preemption_policy: &str,
) -> Result<(), CaseError> {
    let suffix = &ctx.token()[..8];
    let (low, high) = (
        format!("ordeal-low-{suffix}"),
        format!("ordeal-high-{suffix}"),
    );
    let classes: Api<PriorityClass> = Api::all(t.client());
    let result = preempts(ctx, t, &classes, (&low, &high), preemption_policy).await;
    for class in [&low, &high] {
        if let Err(e) = classes.delete(class, &DeleteParams::default()).await {
            ctx.step(format!("could not delete PriorityClass `{class}`: {e}"));
        }
    }
    result
}

async fn preempts(
    ctx: &CaseCtx,
    t: &KubeTarget,
    classes: &Api<PriorityClass>,
    (low, high): (&str, &str),
    preemption_policy: &str,
) -> Result<(), CaseError> {
    // KubeCluster::start returns once no node carries the lifecycle controller's not-ready
    // taint, so the nodes the check fills are all the nodes the scheduler can use.
    let nodes = t.schedulable_nodes().await?;
    if nodes.is_empty() {
        return Err(CaseError::infra("no schedulable node"));
    }
    // Free CPU per node: allocatable (from the API) minus the requests of live pods there.
    let all: Vec<Pod> = Api::<Pod>::all(t.client())
        .list(&ListParams::default())
        .await
        .map_err(|e| api_err("list every pod", e))?
        .items;
    let mut free = BTreeMap::new();
    for n in t
        .nodes()
        .await?
        .iter()
        .filter(|n| nodes.contains(&node_name(n).to_owned()))
    {
        let allocatable = n
            .status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref())
            .and_then(|a| a.get("cpu"))
            .and_then(|q| quantity(&q.0))
            .ok_or_else(|| {
                CaseError::infra(format!("node {} reports no allocatable cpu", node_name(n)))
            })?;
        let used: f64 = all
            .iter()
            .filter(|p| pod_node(p) == Some(node_name(n)))
            .filter(|p| !matches!(pod_phase(p), Some("Succeeded" | "Failed")))
            .map(cpu_requests)
            .sum();
        free.insert(node_name(n).to_owned(), millis(allocatable - used));
    }
    // 4/5 of each node's free CPU goes to its low-priority pod (upstream fills nodes to 4/5);
    // the high-priority pod asks for the smallest of those, so it fits in any victim's place
    // and, while the nodes are roughly alike (less than 4x apart), in no remaining 1/5.
    let fill: BTreeMap<String, i64> = free.iter().map(|(n, f)| (n.clone(), f * 4 / 5)).collect();
    let ask = fill.values().copied().min().unwrap_or_default();
    if ask < 100 || free.iter().any(|(n, f)| f - fill[n] >= ask) {
        return Err(CaseError::infra(format!(
            "precondition not met: free CPU per node (millicores) {free:?} leaves no room for \
             the check"
        )));
    }
    ctx.step(format!(
        "free CPU per node (m): {free:?}; low-priority pods request {fill:?}; the high-priority pod {ask}m"
    ));
    for (name, value, policy) in [
        (low, 100, "PreemptLowerPriority"),
        (high, 1000, preemption_policy),
    ] {
        create(
            classes,
            json!({
                "apiVersion": "scheduling.k8s.io/v1",
                "kind": "PriorityClass",
                "metadata": {"name": name},
                "value": value,
                "preemptionPolicy": policy,
            }),
        )
        .await
        .map_err(|e| api_err(&format!("create PriorityClass `{name}`"), e))?;
    }
    let pods: Api<Pod> = Api::namespaced(t.client(), t.namespace());
    for (i, (node, cpu)) in fill.iter().enumerate() {
        let mut pod = with_resources(
            t,
            &format!("low-{}", i + 1),
            &json!({"requests": {"cpu": format!("{cpu}m")}}),
        );
        pod["metadata"]["labels"]["tier"] = json!("low");
        pod["spec"]["priorityClassName"] = json!(low);
        pod["spec"]["nodeSelector"] = json!({"kubernetes.io/hostname": node});
        create(&pods, pod)
            .await
            .map_err(|e| api_err(&format!("create low-priority pod on {node}"), e))?;
    }
    let live_low = || async {
        let pods = t.pods("tier=low").await?;
        Ok::<_, ordeal::Error>(
            pods.iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .filter(|p| pod_phase(p) == Some("Running"))
                .map(checks::placed)
                .collect::<Vec<_>>(),
        )
    };
    let filled = eventually(
        "every low-priority pod to be Running on its node",
        START_SLACK,
        POLL,
        || async {
            let running = live_low().await?;
            Ok(if running.len() == fill.len() {
                Observed::Holds(running)
            } else {
                Observed::Not(format!("Running: {running:?}"))
            })
        },
    )
    .await?;
    ctx.step(format!("low-priority pods Running: {filled:?}"));

    let mut pod = with_resources(t, "high", &json!({"requests": {"cpu": format!("{ask}m")}}));
    pod["spec"]["priorityClassName"] = json!(high);
    create(&pods, pod)
        .await
        .map_err(|e| api_err("create the high-priority pod", e))?;
    // The scheduler preempts at its first attempt; the victim goes within its grace period;
    // the pod is retried within the scheduler's longest back-off, then has to start.
    let window = POD_GRACE + SCHEDULER_MAX_BACKOFF + START_SLACK;
    let (node, left) = eventually(
        "the high-priority pod to be Running, with exactly one low-priority pod preempted",
        window,
        POLL,
        || async {
            let high = t.pods("app=high").await?;
            let high = high.first();
            let phase = high.and_then(pod_phase).unwrap_or("missing");
            let node = high.and_then(pod_node).unwrap_or_default().to_owned();
            let nominated = high
                .and_then(|p| p.status.as_ref())
                .and_then(|s| s.nominated_node_name.clone())
                .unwrap_or_default();
            let left = live_low().await?;
            Ok(if phase == "Running" && left.len() + 1 == fill.len() {
                Observed::Holds((node, left))
            } else {
                Observed::Not(format!(
                    "high-priority pod {phase} on {node:?} (nominated {nominated:?}); \
                     low-priority pods live: {left:?}"
                ))
            })
        },
    )
    .await?;
    ctx.check_passed(&format!(
        "high-priority pod Running on {node}; one low-priority pod preempted, left: {left:?}"
    ));
    Ok(())
}

/// OOM: a container holding 48 MiB under a memory limit of `limit` is OOMKilled and restarted.
pub async fn oom_killed_and_restarted(
    ctx: &CaseCtx,
    t: &KubeTarget,
    limit: &str,
) -> Result<(), CaseError> {
    // The shell keeps 48 MiB (50331648 bytes) in a variable, says so, and stays.
    let script = "x=$(head -c 50331648 /dev/zero | tr '\\0' x); echo \"holding ${#x} bytes\"; \
                  exec sleep 3600";
    let mut pod = checks::pod(t, "hog", script, None);
    pod["spec"]["containers"][0]["resources"] =
        json!({"requests": {"memory": limit}, "limits": {"memory": limit}});
    let pods: Api<Pod> = Api::namespaced(t.client(), t.namespace());
    create(&pods, pod)
        .await
        .map_err(|e| api_err(&format!("create pod `hog` (memory limit {limit})"), e))?;
    // The first OOM kill comes as soon as the container starts; its restart waits the
    // kubelet's first back-off.
    let window = START_SLACK + KUBELET_FIRST_BACKOFF;
    let outcome = eventually(
        "container `main` of pod `hog` to be OOMKilled and restarted",
        window,
        POLL,
        || async {
            let pods = t.pods("app=hog").await?;
            let status = pods
                .first()
                .and_then(|p| p.status.as_ref())
                .and_then(|s| s.container_statuses.as_ref())
                .and_then(|c| c.first());
            let restarts = status.map_or(0, |s| s.restart_count);
            let last = status
                .and_then(|s| s.last_state.as_ref())
                .and_then(|s| s.terminated.as_ref())
                .map(|t| (t.reason.clone().unwrap_or_default(), t.exit_code));
            let now = status
                .and_then(|s| s.state.as_ref())
                .map_or("unknown".to_owned(), |s| {
                    if s.running.is_some() {
                        "running".to_owned()
                    } else if let Some(w) = &s.waiting {
                        format!("waiting ({})", w.reason.clone().unwrap_or_default())
                    } else if let Some(t) = &s.terminated {
                        format!("terminated ({})", t.reason.clone().unwrap_or_default())
                    } else {
                        "unknown".to_owned()
                    }
                });
            Ok(match last {
                Some((reason, _)) if reason == "OOMKilled" && restarts >= 1 => {
                    Observed::Holds((reason, restarts))
                }
                other => Observed::Not(format!(
                    "state {now}, lastState.terminated {other:?}, restartCount {restarts}"
                )),
            })
        },
    )
    .await;
    let (reason, restarts) = match outcome {
        Ok(v) => v,
        // What the container printed tells whether it got to hold the memory at all.
        Err(CaseError::Failed(m)) => {
            let log = t.logs("hog").await.unwrap_or_default();
            return Err(CaseError::Failed(format!(
                "{m}; the container's log: {:?}",
                log.trim()
            )));
        }
        Err(e) => return Err(e),
    };
    ctx.check_passed(&format!(
        "lastState.terminated.reason {reason}, restartCount {restarts}"
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// Creates `object` through `api`, returning the object as admitted, or the API's error
/// untouched (a check looks at a rejection's code and message).
async fn create<K>(api: &Api<K>, object: Value) -> Result<K, kube::Error>
where
    K: Clone + DeserializeOwned + Serialize + Debug,
{
    let typed: K = serde_json::from_value(object).map_err(kube::Error::SerdeError)?;
    api.create(&PostParams::default(), &typed).await
}

/// A pod `name` (label `app=<name>`) that sleeps, with container `resources`.
fn with_resources(t: &KubeTarget, name: &str, resources: &Value) -> Value {
    let mut pod = checks::pod(t, name, "exec sleep 3600", None);
    pod["spec"]["containers"][0]["resources"] = resources.clone();
    pod
}

/// The CPU (cores) a pod's containers request.
fn cpu_requests(p: &Pod) -> f64 {
    p.spec.as_ref().map_or(0.0, |s| {
        s.containers
            .iter()
            .filter_map(|c| c.resources.as_ref()?.requests.as_ref()?.get("cpu"))
            .filter_map(|q| quantity(&q.0))
            .sum()
    })
}

/// Cores as whole millicores, rounded down.
fn millis(cores: f64) -> i64 {
    // Millicores of a node fit an i64 by far; the cast only drops the fraction.
    (cores * 1000.0).floor() as i64
}

/// Whether two quantities are equal up to rounding.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Whether quota usage `used` is `want` (resource, quantity) for each listed resource (a
/// resource not listed in `used` counts as 0).
fn uses(used: &BTreeMap<String, Quantity>, want: &[(&str, &str)]) -> bool {
    want.iter().all(|(k, v)| {
        let got = used.get(*k).map_or("0", |q| q.0.as_str());
        quantity(got).is_some_and(|g| same(g, quantity(v).unwrap_or(f64::NAN)))
    })
}

/// `k: v` pairs of a quantity map, for messages.
fn show(m: &BTreeMap<String, Quantity>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}: {}", v.0))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A Kubernetes quantity (`500m`, `100Mi`, `2`, `1.5G`, `1e3`) in base units (cores, bytes).
fn quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let suffixes: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("Ti", 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("Pi", 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("Ei", 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    for (s, factor) in suffixes {
        if let Some(n) = q.strip_suffix(s) {
            return n.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    q.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_read_in_base_units() {
        assert_eq!(quantity("500m"), Some(0.5));
        assert_eq!(quantity("2"), Some(2.0));
        assert_eq!(quantity("100Mi"), Some(100.0 * 1024.0 * 1024.0));
        assert_eq!(quantity("1G"), Some(1e9));
        assert_eq!(quantity("1e3"), Some(1000.0));
        assert_eq!(quantity("0"), Some(0.0));
        assert_eq!(quantity("x"), None);
        assert!(same(quantity("300m").unwrap(), 0.3));
        assert!(same(quantity("0.3").unwrap(), quantity("300m").unwrap()));
        assert_eq!(millis(quantity("2").unwrap() - 0.3), 1700);
    }
}
