//! Bad input: every mistake is one line and the documented exit code. Most need no Docker.

mod common;

use common::{ordeal, stderr, stderr_lines};

fn assert_one_line(out: &std::process::Output, code: i32, needle: &str) {
    // `[ordeal] ...` lines are progress (e.g. removing a dead run's leftovers), not the error.
    let lines: Vec<String> = stderr_lines(out)
        .into_iter()
        .filter(|l| !l.starts_with("[ordeal] "))
        .collect();
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit code; stderr: {}",
        stderr(out)
    );
    assert_eq!(lines.len(), 1, "one line of explanation, got: {lines:#?}");
    assert!(
        lines[0].contains(needle),
        "{:?} should mention {needle:?}",
        lines[0]
    );
    assert!(!stderr(out).contains("panicked"), "no panic");
}

#[test]
fn unknown_profile_is_a_usage_error() {
    let out = ordeal()
        .args(["run", "--profile", "nightly"])
        .output()
        .unwrap();
    assert_one_line(&out, 2, "unknown profile `nightly` (known: smoke");
}

#[test]
fn a_filter_matching_only_other_suites_says_which_profile_has_them() {
    // These chaos cases are not in the default profile's smoke subset: the run selects nothing,
    // and says how to.
    for args in [
        vec!["run", "chaos::mesos::leader", "--list"],
        vec![
            "run",
            "--negative-controls",
            "--exact",
            "chaos::mesos::mark_agent_gone_tasks_gone_by_operator",
            "--list",
        ],
    ] {
        let out = ordeal().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("cases of suite(s) chaos do: add --profile conformance"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let out = ordeal()
        .args(["run", "--profile", "conformance", "chaos::mesos", "--list"])
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("note:"), "{}", stderr(&out));
}

#[test]
fn unknown_suite_is_a_usage_error() {
    let out = ordeal().args(["run", "--suite", "nope"]).output().unwrap();
    assert_one_line(
        &out,
        2,
        "unknown suite `nope` (known: chaos, kubernetes, mesos, smoke",
    );
}

#[test]
fn malformed_seeds_are_usage_errors() {
    for bad in ["abc", "-3", "0x", "99999999999999999999"] {
        let out = ordeal()
            .args(["run", &format!("--seed={bad}")])
            .output()
            .unwrap();
        assert_one_line(&out, 2, "invalid seed");
    }
    let out = ordeal()
        .args(["run"])
        .env("ORDEAL_SEED", "twelve")
        .output()
        .unwrap();
    assert_one_line(&out, 2, "invalid seed `twelve`");
}

#[test]
fn unknown_flags_and_commands_are_usage_errors() {
    let out = ordeal().args(["run", "--frobnicate"]).output().unwrap();
    assert_one_line(&out, 2, "--frobnicate");
    let out = ordeal().args(["explode"]).output().unwrap();
    assert_one_line(&out, 2, "explode");
    let out = ordeal()
        .args(["run", "--test-threads", "0"])
        .output()
        .unwrap();
    assert_one_line(&out, 2, "--test-threads");
}

#[test]
fn malformed_image_overrides_are_usage_errors() {
    let out = ordeal()
        .args(["run", "--image", "workload"])
        .output()
        .unwrap();
    assert_one_line(&out, 2, "expected NAME=REFERENCE");
    let out = ordeal()
        .args(["run", "--image", "nosuch=busybox:1"])
        .output()
        .unwrap();
    assert_one_line(&out, 2, "no image named `nosuch`");
}

#[test]
fn a_dead_docker_socket_is_an_infrastructure_error() {
    let out = ordeal()
        .args(["run"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_one_line(
        &out,
        3,
        "cannot reach the Docker engine at unix:///nonexistent/docker.sock",
    );
    let out = ordeal()
        .args(["clean"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_one_line(&out, 3, "cannot reach the Docker engine");
}

#[test]
fn help_teaches_and_exits_zero() {
    let help = |command: &str, needles: &[&str]| {
        let out = ordeal().args([command, "--help"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        for needle in needles {
            assert!(
                text.contains(needle),
                "{command} --help mentions {needle}: {text}"
            );
        }
    };
    help(
        "run",
        &[
            "--negative-controls",
            "--seed",
            "--scenario",
            "Examples:",
            "Exit codes",
            "reports",
        ],
    );
    help(
        "certify",
        &[
            "ordeal certify --kubeconfig ~/.kube/config --product product.toml",
            "ordeal certify --mesos-master http://10.0.0.5:5050",
            "namespace ordeal-certify-<run id>",
            "--allow-disruptive",
            "-certification.tar.gz",
            "Exit codes",
        ],
    );
}

#[test]
fn list_needs_no_docker_and_names_every_case() {
    let out = ordeal()
        .args(["run", "--list"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("smoke::kill::peer_sees_server_gone: test"),
        "{text}"
    );
    let filtered = ordeal().args(["run", "--list", "pause"]).output().unwrap();
    let text = String::from_utf8_lossy(&filtered.stdout);
    assert_eq!(
        text.lines().filter(|l| l.ends_with(": test")).count(),
        1,
        "{text}"
    );
}

#[test]
#[ignore = "needs a Docker engine: run ci/test"]
fn a_missing_image_is_an_infrastructure_error_and_nothing_is_pulled() {
    let out = ordeal()
        .args([
            "run",
            "--suite",
            "smoke",
            "--image",
            "workload=ordeal-missing/none:0",
        ])
        .output()
        .unwrap();
    assert_one_line(
        &out,
        3,
        "missing image `ordeal-missing/none:0` (hint: run `ordeal images build`",
    );
}

#[test]
fn doctor_names_the_fix_for_a_missing_engine() {
    let out = ordeal()
        .args(["doctor"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = common::stdout(&out);
    assert!(
        text.contains("FAIL cannot reach the Docker engine"),
        "{text}"
    );
    assert!(text.contains("fix: ci/setup"), "{text}");
}

#[test]
#[ignore = "needs a Docker engine and built images: run ci/test"]
fn doctor_passes_on_a_prepared_machine() {
    let out = ordeal()
        .args(["doctor", "--profile", "smoke"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stdout(&out));
    assert!(common::stdout(&out).contains("doctor: ready to run profile `smoke`"));
}

#[test]
fn a_broken_scenario_is_one_line_naming_file_line_and_field() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../suites/scenarios/broken/bad-probability.toml"
    );
    let out = ordeal().args(["schedule", "check", file]).output().unwrap();
    assert_one_line(
        &out,
        2,
        "bad-probability.toml:7: fault[0].probability: 1.5 is not within (0, 1]",
    );
}

#[test]
fn the_same_seed_prints_the_same_schedule_bytes() {
    let generate = |seed: &str| {
        ordeal()
            .args(["schedule", "generate", "--seed", seed, "--length", "10m"])
            .output()
            .unwrap()
    };
    let (a, b, c) = (generate("42"), generate("42"), generate("43"));
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    assert_eq!(a.stdout, b.stdout, "byte-identical");
    assert_ne!(a.stdout, c.stdout);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gen.toml");
    std::fs::write(&path, &a.stdout).unwrap();
    let check = ordeal()
        .args(["schedule", "check"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "a generated schedule is a valid scenario: {}",
        stderr(&check)
    );
}

#[test]
fn partitions_split_the_listed_cases_exactly_once() {
    let list = |extra: &[&str]| -> Vec<String> {
        let out = ordeal()
            .args(["run", "--list"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let mut v: Vec<String> = common::stdout(&out)
            .lines()
            .filter(|l| l.ends_with(": test"))
            .map(str::to_owned)
            .collect();
        v.sort();
        v
    };
    let all = list(&[]);
    assert!(all.len() >= 5);
    for kind in ["slice", "hash"] {
        let mut union: Vec<String> = (1..=3)
            .flat_map(|m| list(&["--partition", &format!("{kind}:{m}/3")]))
            .collect();
        union.sort();
        assert_eq!(union, all, "{kind}: every case in exactly one of 3 shards");
    }
    let out = ordeal()
        .args(["run", "--partition", "slice:4/3"])
        .output()
        .unwrap();
    assert_one_line(&out, 2, "invalid partition `slice:4/3`");
}

#[test]
fn a_closed_stdout_ends_quietly_without_a_panic() {
    use std::io::Read;
    let mut child = ordeal()
        .args(["schedule", "generate", "--seed", "1", "--length", "600m"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then drop: the pipe closes
    let out = child.wait_with_output().unwrap();
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

/// Parses a YAML file with PyYAML (a real parser) and returns it as JSON.
fn yaml(path: &str) -> serde_json::Value {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, json, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(path),
        )
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{path} does not parse: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
#[ignore = "needs python3 with PyYAML: run ci/test-deps (ci/test does)"]
fn the_example_pipelines_parse_and_publish_junit_and_the_run_folder() {
    let gh = yaml("ci/examples/github-actions.yml");
    let steps = gh["jobs"]["smoke"]["steps"]
        .as_array()
        .expect("jobs.smoke.steps");
    for s in steps {
        assert!(
            s.get("run").is_some() != s.get("uses").is_some(),
            "a step has exactly one of run/uses: {s}"
        );
    }
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(
        runs.iter().any(|r| r.contains("--partition \"slice:")),
        "{runs:?}"
    );
    assert!(runs.iter().any(|r| r.contains("ordeal clean")), "{runs:?}");
    let shards = gh["jobs"]["smoke"]["strategy"]["matrix"]["shard"]
        .as_array()
        .unwrap()
        .len();
    assert!(
        runs.iter().any(|r| r.contains(&format!("/{shards}\""))),
        "the slice count matches the matrix ({shards}): {runs:?}"
    );
    assert!(
        steps
            .iter()
            .any(|s| s["with"]["report_paths"] == "reports/latest/junit.xml"),
        "JUnit published"
    );

    let gl = yaml("ci/examples/gitlab-ci.yml");
    let job = &gl["ordeal-smoke"];
    assert_eq!(gl["stages"][0], job["stage"], "the job's stage is declared");
    assert!(job["script"].as_array().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        job["artifacts"]["reports"]["junit"],
        "reports/latest/junit.xml"
    );
    assert_eq!(job["artifacts"]["when"], "always");
}

#[test]
fn replay_refuses_a_file_that_is_not_a_run_json() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("run.json");
    std::fs::write(&bad, "{\"seed\": \"twelve\"}").unwrap();
    let out = ordeal().arg("replay").arg(&bad).output().unwrap();
    assert_one_line(&out, 2, "is not an ordeal run.json");
    let out = ordeal()
        .args(["replay", "/nonexistent/run.json"])
        .output()
        .unwrap();
    assert_one_line(&out, 2, "cannot read `/nonexistent/run.json`");
    std::fs::write(
        &bad,
        r#"{"run_id":"x","seed":1,"profile":"smoke","cases":[{"name":"smoke::gone"}]}"#,
    )
    .unwrap();
    let out = ordeal().arg("replay").arg(&bad).output().unwrap();
    assert_one_line(
        &out,
        2,
        "case `smoke::gone` of the recorded run is not in profile",
    );
}

#[test]
fn certify_mistakes_are_one_line_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let not_yaml = dir.path().join("not-a-kubeconfig");
    std::fs::write(&not_yaml, "just text\n").unwrap();
    let template = dir.path().join("template.toml");
    let out = ordeal()
        .args(["certify", "--product-template"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::write(&template, &out.stdout).unwrap();
    let malformed = dir.path().join("malformed.toml");
    std::fs::write(&malformed, "[product]\nvendor = \n").unwrap();
    let path = |p: &std::path::Path| p.display().to_string();
    for (args, needle) in [
        (
            vec!["certify"],
            "give --kubeconfig FILE or --mesos-master URL",
        ),
        (
            vec!["certify", "--kubeconfig", "k", "--mesos-master", "http://m"],
            "cannot be used with",
        ),
        (
            vec!["certify", "--kubeconfig", "k", "--allow-disruptive"],
            "--allow-disruptive needs the nodes it may break",
        ),
        (
            vec!["certify", "--kubeconfig", "k", "--target", "node-2"],
            "add --allow-disruptive",
        ),
        (
            vec!["certify", "--kubeconfig", "/nonexistent/kubeconfig"],
            "cannot read kubeconfig `/nonexistent/kubeconfig`",
        ),
        (
            vec!["certify", "--kubeconfig", &path(&not_yaml)],
            "is not a usable kubeconfig",
        ),
        (
            vec!["certify", "--mesos-master", "10.0.0.5:5050"],
            "is not a URL",
        ),
        (
            vec![
                "certify",
                "--kubeconfig",
                "k",
                "--product",
                "/nonexistent.toml",
            ],
            "cannot read product file",
        ),
        (
            vec![
                "certify",
                "--kubeconfig",
                "k",
                "--product",
                &path(&malformed),
            ],
            "malformed.toml:2` is not a product file",
        ),
        (
            vec![
                "certify",
                "--kubeconfig",
                "k",
                "--product",
                &path(&template),
            ],
            "product.vendor is not filled in",
        ),
    ] {
        let out = ordeal().args(&args).output().unwrap();
        assert_one_line(&out, 2, needle);
    }
}

#[test]
fn certify_of_a_cluster_that_does_not_answer_is_an_infrastructure_error() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: not-a-real-token}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n",
    )
    .unwrap();
    let out = ordeal()
        .args(["certify", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    assert_one_line(&out, 3, "the Kubernetes apiserver at https://127.0.0.1:1");
    assert!(
        !stderr(&out).contains("not-a-real-token"),
        "{}",
        stderr(&out)
    );
    let out = ordeal()
        .args(["certify", "--mesos-master", "http://127.0.0.1:1"])
        .output()
        .unwrap();
    assert_one_line(&out, 3, "cannot reach a Mesos master at http://127.0.0.1:1");
}

#[test]
fn the_readme_check_list_is_what_ordeal_checks_prints() {
    let out = ordeal().args(["checks", "--markdown"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let (begin, end) = ("<!-- checks:begin -->\n", "<!-- checks:end -->");
    let start = readme
        .find(begin)
        .expect("README has the checks:begin marker")
        + begin.len();
    let stop = readme.find(end).expect("README has the checks:end marker");
    assert!(
        readme[start..stop] == String::from_utf8_lossy(&out.stdout),
        "README's check list is stale: regenerate it with `ordeal checks --markdown`"
    );
}
