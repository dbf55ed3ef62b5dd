//! `ordeal certify` against clusters of `ordeal up --keep`, treated as foreign: only the
//! printed kubeconfig or master URL is given. It passes, leaves nothing in the cluster, writes
//! a bundle without credentials; and fails, naming the check, on a cluster broken on purpose.

mod common;

use std::{path::Path, process::Command};

use common::{
    Kept, containers, field, one_at_a_time, ordeal, signal, stderr, stdout, tar_gz_texts,
};

const PRODUCT: &str = "[product]\nvendor = \"Example Corp\"\nname = \"Example Platform\"\n\
version = \"1.0\"\ndescription = \"a cluster of ordeal up, certified as if foreign\"\n\
contact = \"QA <qa@example.invalid>\"\n";

/// Runs `ordeal certify <args> --report-dir <reports>`.
fn certify(args: &[&str], reports: &Path) -> std::process::Output {
    ordeal()
        .arg("certify")
        .args(args)
        .arg("--report-dir")
        .arg(reports)
        .output()
        .unwrap()
}

/// Every file of the bundle named on the `bundle:` line, by path inside it.
fn bundle_files(out: &str) -> Vec<(String, String)> {
    let line = field(out, "bundle:");
    let path = line.split_whitespace().next().unwrap();
    assert!(path.ends_with("-certification.tar.gz"), "{line}");
    tar_gz_texts(Path::new(path))
}

fn file<'a>(files: &'a [(String, String)], name: &str) -> &'a str {
    files
        .iter()
        .find(|(n, _)| n.ends_with(&format!("/{name}")))
        .map(|(_, t)| t.as_str())
        .unwrap_or_else(|| panic!("{name} in the bundle: {:?}", names(files)))
}

fn names(files: &[(String, String)]) -> Vec<&str> {
    files.iter().map(|(n, _)| n.as_str()).collect()
}

/// The certification files are there and the manifest lists every other one.
fn assert_bundle_complete(files: &[(String, String)]) {
    for name in [
        "junit.xml",
        "run.json",
        "index.html",
        "CERTIFICATION.json",
        "VERSIONS.json",
        "RESULTS.txt",
        "PRODUCT.toml",
        "MANIFEST.txt",
    ] {
        file(files, name);
    }
    let manifest = file(files, "MANIFEST.txt");
    assert!(manifest.contains("signed-off-by: "), "{manifest}");
    assert!(
        manifest.contains("product: Example Corp Example Platform 1.0"),
        "{manifest}"
    );
    for (name, _) in files.iter().filter(|(n, _)| !n.ends_with("MANIFEST.txt")) {
        assert!(
            manifest.contains(&format!("  {name}\n")),
            "{name} in {manifest}"
        );
    }
}

/// The containers of `role` in kept run `run`; there is one at least.
fn container(run: &str, role: &str) -> Vec<String> {
    let ids = containers(run, role);
    assert!(!ids.is_empty(), "a {role} container in run {run}");
    ids
}

fn docker_stop(ids: &[String]) {
    let out = Command::new("docker")
        .args(["stop", "-t", "1"])
        .args(ids)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Certifies the cluster of `cluster` (`--kubeconfig F` or `--mesos-master URL`) with a
/// filled-in product file: exit 0, every check of `checks` PASSED, a complete bundle. Returns
/// the bundle's files.
fn certify_passes(
    cluster: &[&str],
    reports: &Path,
    backend: &str,
    checks: &[&str],
) -> Vec<(String, String)> {
    let product = reports.join("product.toml");
    std::fs::write(&product, PRODUCT).unwrap();
    let mut args = cluster.to_vec();
    args.extend(["--product", product.to_str().unwrap()]);
    let out = certify(&args, reports);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    let summary = format!(
        "certify {backend}: PASSED ({} check(s) passed",
        checks.len()
    );
    assert!(text.contains(&summary), "{text}");
    let files = bundle_files(&text);
    assert_bundle_complete(&files);
    let results = file(&files, "RESULTS.txt");
    for check in checks {
        assert!(results.contains(&format!("PASSED  {check} (")), "{results}");
    }
    assert!(results.contains("result: PASSED\n"), "{results}");
    files
}

/// Certifies only the checks matching `filter`: exit 1, the summary names `check` failing
/// with a message that starts with `why`, and the bundle's verdict is FAILED.
fn certify_fails(cluster: &[&str], reports: &Path, filter: &str, check: &str, why: &str) {
    let mut args = cluster.to_vec();
    args.push(filter);
    let out = certify(&args, reports);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}\n{}", stderr(&out));
    assert!(text.contains(&format!("FAILED {check}: {why}")), "{text}");
    let results = file(&bundle_files(&text), "RESULTS.txt").to_owned();
    assert!(results.contains("result: FAILED"), "{results}");
}

/// Starts certify, sends SIGINT once its first check has started, and returns its exit code.
fn interrupted_certify(cluster: &[&str], reports: &Path) -> Option<i32> {
    use std::io::{BufRead, BufReader};
    let mut child = ordeal()
        .arg("certify")
        .args(cluster)
        .arg("--report-dir")
        .arg(reports)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(60)) {
        let started = line.starts_with("[ordeal] run ");
        seen.push(line);
        if started {
            break;
        }
    }
    assert!(
        seen.iter().any(|l| l.starts_with("[ordeal] run ")),
        "the run started: {seen:?}"
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    signal(&child, libc::SIGINT);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let rest: Vec<String> = rx.try_iter().collect();
            assert!(
                rest.iter()
                    .any(|l| l.contains("deleted and gone") || l.contains("torn down")),
                "says what it removed: {rest:?}"
            );
            return status.code();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "certify ended after SIGINT"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
#[ignore = "needs a Docker engine and built images: run ci/test"]
fn certify_a_kept_kubernetes_cluster_then_fail_it_with_its_scheduler_stopped() {
    let _one = one_at_a_time();
    let reports = tempfile::tempdir().unwrap();
    let cluster = Kept::up(&["kubernetes", "--nodes", "2"]);
    let kubeconfig = field(&cluster.text, "kubeconfig:");
    let kubectl = |args: &[&str]| {
        let out = Command::new(cluster.cache.path().join("bin/kubectl"))
            .args(["--kubeconfig", &kubeconfig])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "kubectl {args:?}: {}", stderr(&out));
        let mut lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    let pods_before = kubectl(&["get", "pods", "-A", "-o", "name"]);
    let namespaces_before = kubectl(&["get", "namespaces", "-o", "name"]);
    let files = certify_passes(
        &["--kubeconfig", &kubeconfig],
        reports.path(),
        "kubernetes",
        &[
            "certify::kubernetes::health::crash_looping_container_backs_off_doubling_delays",
            "certify::kubernetes::health::exec_probe_running_past_its_timeout_counts_as_a_failure",
            "certify::kubernetes::health::liveness_probes_that_start_failing_restart_the_container_repeatedly",
            "certify::kubernetes::health::omitted_probe_fields_get_the_api_defaults",
            "certify::kubernetes::health::passing_liveness_probes_never_restart_the_container",
            "certify::kubernetes::health::readiness_probe_gates_ready_without_restarting",
            "certify::kubernetes::health::restart_policy_decides_which_exits_restart",
            "certify::kubernetes::health::startup_probe_holds_off_liveness_and_restarts_on_failure",
            "certify::kubernetes::pods::pod_runs_and_its_log_is_readable",
            "certify::kubernetes::resources::container_over_its_memory_limit_is_oom_killed_and_restarted",
            "certify::kubernetes::scheduling::deployment_spreads_over_two_nodes",
            "certify::kubernetes::scheduling::pod_is_scheduled",
            "certify::kubernetes::services::pod_reaches_a_cluster_ip_service",
        ],
    );
    let versions = file(&files, "VERSIONS.json");
    assert!(
        versions.contains("\"apiserver\": \"v1.35.4\"")
            && versions.contains("\"kubelet\": \"v1.35.4\""),
        "{versions}"
    );
    // No credential of the kubeconfig, in any form, in any file.
    let kc = std::fs::read_to_string(&kubeconfig).unwrap();
    let secrets: Vec<&str> = kc
        .lines()
        .filter_map(|l| l.split_once("client-key-data:").map(|(_, v)| v.trim()))
        .chain(
            kc.lines()
                .filter_map(|l| l.split_once("token:").map(|(_, v)| v.trim())),
        )
        .filter(|v| v.len() > 8)
        .collect();
    assert!(!secrets.is_empty(), "the kubeconfig holds a client key");
    for (name, text) in &files {
        assert!(
            !text.contains("PRIVATE KEY-----\n"),
            "{name} holds a private key"
        );
        for s in &secrets {
            assert!(
                !text.contains(s),
                "{name} holds a credential of the kubeconfig"
            );
        }
    }

    // Nothing left: the namespace is gone, the pods are the ones there were.
    assert_eq!(
        kubectl(&["get", "namespaces", "-o", "name"]),
        namespaces_before
    );
    assert_eq!(kubectl(&["get", "pods", "-A", "-o", "name"]), pods_before);

    // Ctrl-C in the middle of a check: the namespace is removed before ordeal exits 130.
    let code = interrupted_certify(&["--kubeconfig", &kubeconfig], reports.path());
    assert_eq!(code, Some(130), "Ctrl-C ends certify with 130");
    assert_eq!(
        kubectl(&["get", "namespaces", "-o", "name"]),
        namespaces_before
    );

    // Disruptive: only on named nodes; node-2 drained of the check's pods, uncordoned after.
    let out = certify(
        &[
            "--kubeconfig",
            &kubeconfig,
            "--allow-disruptive",
            "--target",
            "node-9",
        ],
        reports.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("--target `node-9` is not a node of the cluster (known: node-1, node-2)")
    );
    let drain = "certify::kubernetes::disruptive::drained_nodes_pods_come_back_elsewhere";
    let out = certify(
        &[
            "--kubeconfig",
            &kubeconfig,
            "--allow-disruptive",
            "--target",
            "node-2",
            "drained",
        ],
        reports.path(),
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    let files = bundle_files(&text);
    let results = file(&files, "RESULTS.txt");
    assert!(
        results.contains(&format!("PASSED  {drain} (")),
        "{results}\n{text}"
    );
    assert_eq!(
        kubectl(&[
            "get",
            "node",
            "node-2",
            "-o",
            "jsonpath={.spec.unschedulable}"
        ]),
        Vec::<String>::new(),
        "node-2 uncordoned after the drain"
    );
    assert_eq!(
        kubectl(&["get", "namespaces", "-o", "name"]),
        namespaces_before
    );

    // Negative control: the same cluster with its kube-scheduler stopped fails, naming the check
    // (the drain's own is `kubernetes::nodes::drained_nodes_pods_come_back_elsewhere`'s).
    docker_stop(&container(&cluster.run, "k8s-scheduler"));
    certify_fails(
        &["--kubeconfig", &kubeconfig],
        reports.path(),
        "pod_is_scheduled",
        "certify::kubernetes::scheduling::pod_is_scheduled",
        "expected pod bind-me to be bound",
    );
    // The spread check (its topology spread constraint is certify's own, so the suite twin's
    // control does not run it) fails on the same broken cluster.
    certify_fails(
        &["--kubeconfig", &kubeconfig],
        reports.path(),
        "deployment_spreads_over_two_nodes",
        "certify::kubernetes::scheduling::deployment_spreads_over_two_nodes",
        "expected 4 web replicas Running on at least 2 nodes",
    );
    assert_eq!(
        kubectl(&["get", "namespaces", "-o", "name"]),
        namespaces_before
    );

    cluster.down();
}

#[test]
#[ignore = "needs a Docker engine and built images: run ci/test"]
fn certify_a_kept_mesos_cluster_then_fail_it_with_its_agents_stopped() {
    let _one = one_at_a_time();
    let reports = tempfile::tempdir().unwrap();
    let cluster = Kept::up(&["mesos", "--agents", "2"]);
    let leader = field(&cluster.text, "leader:");
    let files = certify_passes(
        &["--mesos-master", &leader],
        reports.path(),
        "mesos",
        &[
            "certify::mesos::offers::subscribed_framework_is_offered_every_active_agents_resources",
            "certify::mesos::tasks::command_task_starts_runs_and_finishes",
            "certify::mesos::tasks::invalid_task_gets_task_error",
            "certify::mesos::health::failing_command_check_reports_unhealthy_then_kills_after_consecutive_failures",
        ],
    );
    let versions = file(&files, "VERSIONS.json");
    assert!(versions.contains("\"master\": \"1.11.0\""), "{versions}");

    // Nothing left: no framework of the run the master still has, no task still running.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let state = ordeal::cluster::mesos::Operator::new(&leader)
            .state()
            .await
            .expect("GET_STATE");
        let ours: Vec<&str> = state
            .get_frameworks
            .frameworks
            .iter()
            .map(|f| f.framework_info.name.as_str())
            .filter(|n| n.starts_with("ordeal-certify-"))
            .collect();
        assert!(ours.is_empty(), "frameworks left: {ours:?}");
        assert!(
            state.get_tasks.tasks.iter().all(|t| t.state.is_terminal()),
            "tasks left: {:?}",
            state.get_tasks.tasks
        );
        assert!(
            !state.get_frameworks.completed_frameworks.is_empty(),
            "the certify frameworks ran and were torn down"
        );
    });

    // Negative controls: with every agent stopped, the task check and the offers check fail
    // and are named (the offers check's `mesos::` twin breaks only the twin's own comparison
    // with what the agents advertise, not the body the two share).
    docker_stop(&container(&cluster.run, "mesos-agent"));
    certify_fails(
        &["--mesos-master", &leader],
        reports.path(),
        "command_task",
        "certify::mesos::tasks::command_task_starts_runs_and_finishes",
        "expected an offer",
    );
    certify_fails(
        &["--mesos-master", &leader],
        reports.path(),
        "offers",
        "certify::mesos::offers::subscribed_framework_is_offered_every_active_agents_resources",
        "expected ",
    );

    cluster.down();
}

#[test]
#[ignore = "needs a Docker engine and built images: run ci/test"]
fn certify_given_a_standby_master_follows_its_redirect_to_the_leader() {
    let _one = one_at_a_time();
    let reports = tempfile::tempdir().unwrap();
    let cluster = Kept::up(&["mesos", "--masters", "3", "--agents", "1"]);
    let leader = field(&cluster.text, "leader:");
    let standby = cluster
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("master:"))
        .map(str::trim)
        .find(|m| *m != leader)
        .expect("a standby master printed")
        .to_owned();
    let out = certify(
        &["--mesos-master", &standby, "invalid_task"],
        reports.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let says = stderr(&out);
    let line = says
        .lines()
        .find(|l| l.contains(": Mesos, leading master "))
        .unwrap_or_else(|| panic!("the leader named: {says}"));
    assert!(!line.contains(&standby), "{line}");
    let results = file(&bundle_files(&stdout(&out)), "RESULTS.txt").to_owned();
    assert!(
        results.contains("result: PASSED (partial selection)"),
        "{results}"
    );
    cluster.down();
}
