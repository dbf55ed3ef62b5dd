//! `certify`: the non-destructive conformance checks, run against a cluster ordeal did not
//! start (`ordeal certify`). The bodies are the `kubernetes` and `mesos` suites' own
//! ([`crate::kubernetes::checks`], the Mesos task and offer checks), given a target handle
//! instead of a cluster of their own; their negative controls are the suites' (each breaks
//! the cluster ordeal starts for it), so certify cases declare none.

use std::{pin::Pin, time::Duration};

use ordeal::{
    check::CaseError,
    cluster::{kubernetes::KubeTarget, mesos::MesosTarget},
    run::{Case, CaseCtx},
};

use crate::{
    kubernetes::{checks, health, resources},
    mesos,
};

/// A check left out of a certification run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Case name.
    pub name: String,
    /// Why it cannot run on this cluster.
    pub reason: String,
}

const BUDGET: Duration = Duration::from_secs(180);
/// A suite check's body, on the certified cluster.
type Body = fn(CaseCtx, KubeTarget) -> Pin<Box<dyn Future<Output = Result<(), CaseError>> + Send>>;

fn case<F, Fut, T>(name: &str, summary: &str, target: T, body: F) -> Case
where
    T: Clone + Send + Sync + 'static,
    F: Fn(CaseCtx, T) -> Fut + Send + Sync + Copy + 'static,
    Fut: Future<Output = Result<(), CaseError>> + Send + 'static,
{
    Case::new(name, summary, move |ctx| body(ctx, target.clone())).timeout(BUDGET)
}

/// The Kubernetes checks for a cluster whose schedulable nodes are `schedulable`, and the
/// ones that cannot run on it. With `disruptive` nodes (`--allow-disruptive --target`), also
/// the disruptive check, which cordons and drains them.
pub fn kubernetes(
    target: &KubeTarget,
    schedulable: &[String],
    disruptive: &[String],
) -> (Vec<Case>, Vec<Skipped>) {
    let mut cases = vec![
        case(
            "certify::kubernetes::pods::pod_runs_and_its_log_is_readable",
            "a pod of the workload image reaches Running and its log is read through the API",
            target.clone(),
            |ctx, t| async move { checks::pod_runs(&ctx, &t).await },
        ),
        case(
            "certify::kubernetes::scheduling::pod_is_scheduled",
            "a new pod is bound to a node within 30 s",
            target.clone(),
            |ctx, t| async move { checks::pod_scheduled(&ctx, &t).await },
        ),
    ];
    // The health checks and the OOM check are the suite cases of the same names, with their
    // summaries and budgets, run on the certified cluster: pods of the check's own in the
    // namespace, with the windows the suite reads from each pod and the kubelet's /configz.
    let mirrored: [(&str, Body); 9] = [
        (
            "kubernetes::health::liveness_probes_that_start_failing_restart_the_container_repeatedly",
            |ctx, t| Box::pin(async move { health::liveness_failing_on(&ctx, &t).await }),
        ),
        (
            "kubernetes::health::passing_liveness_probes_never_restart_the_container",
            |ctx, t| Box::pin(async move { health::liveness_passing_on(&ctx, &t).await }),
        ),
        (
            "kubernetes::health::exec_probe_running_past_its_timeout_counts_as_a_failure",
            |ctx, t| Box::pin(async move { health::probe_timeout_on(&ctx, &t).await }),
        ),
        (
            "kubernetes::health::omitted_probe_fields_get_the_api_defaults",
            |ctx, t| Box::pin(async move { health::probe_defaults_on(&ctx, &t).await }),
        ),
        (
            "kubernetes::health::readiness_probe_gates_ready_without_restarting",
            |ctx, t| Box::pin(async move { health::readiness_gates_on(&ctx, &t).await }),
        ),
        (
            "kubernetes::health::restart_policy_decides_which_exits_restart",
            |ctx, t| Box::pin(async move { health::restart_policy_on(&ctx, &t).await }),
        ),
        (
            "kubernetes::health::crash_looping_container_backs_off_doubling_delays",
            |ctx, t| Box::pin(async move { health::crash_loop_on(&ctx, &t).await }),
        ),
        (
            "kubernetes::health::startup_probe_holds_off_liveness_and_restarts_on_failure",
            |ctx, t| Box::pin(async move { health::startup_probe_on(&ctx, &t).await }),
        ),
        (
            "kubernetes::resources::container_over_its_memory_limit_is_oom_killed_and_restarted",
            |ctx, t| {
                Box::pin(async move { resources::oom_killed_and_restarted(&ctx, &t, "32Mi").await })
            },
        ),
    ];
    let suite: Vec<Case> = health::cases()
        .into_iter()
        .chain(resources::cases())
        .collect();
    for (name, body) in mirrored {
        let twin = suite
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("certify mirrors suite case {name}, which exists"));
        cases.push(
            case(
                &format!("certify::{name}"),
                &twin.summary,
                target.clone(),
                body,
            )
            .timeout(twin.timeout),
        );
    }
    let mut skipped = Vec::new();
    let spread = "certify::kubernetes::scheduling::deployment_spreads_over_two_nodes";
    if schedulable.len() >= 2 {
        cases.push(case(
            spread,
            "a 4-replica Deployment with a topology spread constraint (maxSkew 1 over kubernetes.io/hostname, DoNotSchedule, tainted nodes not counted) runs all replicas, on at least 2 nodes. The constraint, not the default spreading, because the other checks' pods in the namespace can outweigh the default's soft score (seen: all 4 on one node)",
            target.clone(),
            |ctx, t| async move { checks::deployment_spreads(&ctx, &t, true).await },
        ));
    } else {
        skipped.push(Skipped {
            name: spread.into(),
            reason: format!(
                "the cluster has {} schedulable node(s) (Ready, not cordoned, not tainted NoSchedule/NoExecute); spreading needs 2",
                schedulable.len()
            ),
        });
    }
    // Server and client on two different nodes where there are two, so the Service is
    // reached across nodes; else both wherever the scheduler puts them.
    let nodes: Option<(String, String)> = match schedulable {
        [a, b, ..] => Some((a.clone(), b.clone())),
        _ => None,
    };
    cases.push(case(
        "certify::kubernetes::services::pod_reaches_a_cluster_ip_service",
        "a client pod gets a token from a server pod through a ClusterIP Service (on two nodes where there are two)",
        (target.clone(), nodes),
        |ctx, (t, nodes)| async move {
            let (server, client) = match &nodes {
                Some((a, b)) => (Some(b.as_str()), Some(a.as_str())),
                None => (None, None),
            };
            checks::service_reachable(&ctx, &t, server, client).await
        },
    ));
    if !disruptive.is_empty() {
        let drain = "certify::kubernetes::disruptive::drained_nodes_pods_come_back_elsewhere";
        let others = schedulable
            .iter()
            .filter(|n| !disruptive.contains(n))
            .count();
        match disruptive.iter().find(|n| !schedulable.contains(n)) {
            Some(n) => skipped.push(Skipped {
                name: drain.into(),
                reason: format!("target node {n} is not schedulable: its pods cannot be drained"),
            }),
            None if others == 0 => skipped.push(Skipped {
                name: drain.into(),
                reason: "no schedulable node besides the targets to take the drained pods".into(),
            }),
            None => cases.push(case(
                drain,
                "disruptive: with the target nodes cordoned and the pods of a 2-replica Deployment that prefers them evicted, both replicas run again on other nodes within 60 s; the targets are uncordoned after",
                (target.clone(), disruptive.to_vec()),
                |ctx, (t, nodes)| async move {
                    checks::drained_pods_come_back_elsewhere(&ctx, &t, &nodes, || async { Ok(()) })
                        .await
                },
            )),
        }
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    (cases, skipped)
}

/// The Mesos checks.
pub fn mesos(target: &MesosTarget) -> Vec<Case> {
    let mut cases = vec![
        case(
            "certify::mesos::offers::subscribed_framework_is_offered_every_active_agents_resources",
            "a framework that subscribes is offered, within 15 s, resources of every agent the leader lists active (cpus and mem > 0, at most what the agent advertises)",
            target.clone(),
            |ctx, t| async move { offers_within_advertised(&ctx, &t).await },
        ),
        case(
            "certify::mesos::tasks::command_task_starts_runs_and_finishes",
            "a command task goes TASK_STARTING, TASK_RUNNING, TASK_FINISHED (source executor) within 30 s",
            target.clone(),
            |ctx, t| async move { mesos::tasks::command_task_runs(&ctx, &t, 0).await.map(drop) },
        ),
        case(
            "certify::mesos::tasks::invalid_task_gets_task_error",
            "a task whose HTTP health check path lacks the leading '/' gets TASK_ERROR (REASON_TASK_INVALID) from the master",
            target.clone(),
            |ctx, t| async move { mesos::tasks::invalid_task_refused(&ctx, &t, "health").await },
        ),
        case(
            "certify::mesos::health::failing_command_check_reports_unhealthy_then_kills_after_consecutive_failures",
            "a COMMAND health check that passes, then fails, yields healthy=true, then 3 healthy=false updates, then TASK_KILLED healthy=false",
            target.clone(),
            |ctx, t| async move { mesos::tasks::command_check_kills(&ctx, &t, "test -f healthy").await },
        ),
    ];
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

async fn offers_within_advertised(ctx: &CaseCtx, t: &MesosTarget) -> Result<(), CaseError> {
    let offered = mesos::cases::offers_from_every_agent(ctx, t, Duration::from_secs(15)).await?;
    for (agent, o) in &offered {
        let (cpus, mem) = o.advertised;
        let fits = |got: f64, max: f64| got > 0.0 && got <= max + 1e-6;
        if !fits(o.cpus, cpus) || !fits(o.mem, mem) {
            return Err(CaseError::failed(format!(
                "expected agent {agent} to offer cpus in (0, {cpus}] and mem in (0, {mem}] (what it advertises); offered cpus {}, mem {}",
                o.cpus, o.mem
            )));
        }
    }
    ctx.check_passed(&format!(
        "every active agent offered resources within what it advertises: {}",
        offered.keys().cloned().collect::<Vec<_>>().join(", ")
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_in_the_certify_suite() {
        let t = MesosTarget::new("http://m", "f", None);
        let mut names: Vec<String> = mesos(&t).into_iter().map(|c| c.name).collect();
        assert!(names.iter().all(|n| n.starts_with("certify::mesos::")));
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    fn kube_target() -> KubeTarget {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config =
            ordeal::cluster::kubernetes::kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        let client = ordeal::cluster::kubernetes::kube::Client::try_from(config).unwrap();
        KubeTarget::new(client, "ns", "workload:1")
    }

    #[tokio::test]
    async fn one_schedulable_node_skips_the_spread_with_its_reason() {
        let t = kube_target();
        let (cases, skipped) = kubernetes(&t, &["node-1".into()], &[]);
        assert_eq!(cases.len(), 12);
        assert_eq!(skipped.len(), 1);
        assert!(
            skipped[0]
                .name
                .ends_with("deployment_spreads_over_two_nodes")
        );
        assert!(
            skipped[0].reason.contains("1 schedulable node(s)"),
            "{}",
            skipped[0].reason
        );
        let two = ["node-1".to_owned(), "node-2".to_owned()];
        let (cases, skipped) = kubernetes(&t, &two, &[]);
        assert_eq!((cases.len(), skipped.len()), (13, 0));
    }

    /// The health and resources checks are the suite's bodies: each has the suite case of the
    /// same name, whose negative control is the check's.
    #[tokio::test]
    async fn health_and_resources_checks_are_suite_cases_with_controls() {
        let t = kube_target();
        let two = ["node-1".to_owned(), "node-2".to_owned()];
        let (cases, _) = kubernetes(&t, &two, &[]);
        let suite = crate::kubernetes::cases();
        let mirrored: Vec<&str> = cases
            .iter()
            .filter_map(|c| c.name.strip_prefix("certify::"))
            .filter(|n| n.contains("::health::") || n.contains("::resources::"))
            .collect();
        assert_eq!(mirrored.len(), 9, "{mirrored:?}");
        for name in mirrored {
            let case = suite.iter().find(|c| c.name == name);
            assert!(
                case.is_some_and(|c| c.control.is_some()),
                "{name}: a suite case with a negative control"
            );
        }
    }

    #[tokio::test]
    async fn the_drain_runs_only_on_named_schedulable_nodes_with_somewhere_to_go() {
        let t = kube_target();
        let two = ["node-1".to_owned(), "node-2".to_owned()];
        let drain = |cases: &[Case]| cases.iter().any(|c| c.name.contains("::disruptive::"));
        let (cases, _) = kubernetes(&t, &two, &["node-2".into()]);
        assert!(drain(&cases));
        let (cases, skipped) = kubernetes(&t, &two, &two);
        assert!(!drain(&cases));
        assert!(
            skipped[0].reason.contains("no schedulable node besides"),
            "{skipped:?}"
        );
        let (cases, skipped) = kubernetes(&t, &two[..1], &["node-2".into()]);
        assert!(!drain(&cases));
        assert!(
            skipped
                .iter()
                .any(|s| s.reason.contains("node-2 is not schedulable")),
            "{skipped:?}"
        );
    }
}
