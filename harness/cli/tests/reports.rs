//! Runs against real containers: reports parse with a real JUnit consumer, and a failing case
//! yields exit 1, a failure message with the observed state, and saved logs.

mod common;

use std::path::Path;

use common::{labelled, ordeal, stderr, stdout};

fn junitparser(xml: &Path) -> String {
    let script = r#"
import sys, junitparser
xml = junitparser.JUnitXml.fromfile(sys.argv[1])
for suite in xml:
    for case in suite:
        kinds = [type(r).__name__ for r in case.result]
        msgs = [r.message or "" for r in case.result]
        print(suite.name, case.classname, case.name, round(case.time, 3), ",".join(kinds), "|".join(msgs), sep="\t")
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(xml)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "junitparser failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "needs a Docker engine and built images: run ci/test"]
fn a_passing_run_writes_junit_that_junitparser_reads_and_run_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = ordeal()
        .args(["run", "--seed", "7", "--report-dir"])
        .arg(dir.path())
        .arg("smoke::start")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let latest = dir.path().join("latest");
    let parsed = junitparser(&latest.join("junit.xml"));
    let rows: Vec<&str> = parsed.lines().collect();
    assert_eq!(rows.len(), 1, "{parsed}");
    let cols: Vec<&str> = rows[0].split('\t').collect();
    assert_eq!(cols[0], "smoke");
    assert_eq!(cols[1], "ordeal.smoke");
    assert_eq!(cols[2], "smoke::start::server_reachable_from_peer");
    assert!(cols[3].parse::<f64>().unwrap() > 0.0, "timed");
    assert_eq!(cols[4], "", "passed: no result element");

    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(latest.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["seed"], 7);
    assert_eq!(run["profile"], "smoke");
    assert_eq!(run["exit_code"], 0);
    assert_eq!(run["cases"][0]["outcome"], "passed");
    assert!(
        run["docker_api_version"]
            .as_str()
            .unwrap()
            .starts_with("1.")
    );
    assert!(
        run["timeline"].as_array().unwrap().len() >= 4,
        "timeline recorded"
    );
    let run_id = run["run_id"].as_str().unwrap();
    assert_eq!(
        labelled(&format!("ordeal.run={run_id}")),
        0,
        "nothing left behind"
    );
}

#[test]
#[ignore = "needs a Docker engine and built images: run ci/test"]
fn a_failing_case_exits_1_with_the_observed_state_and_saved_logs() {
    // The base image has busybox but no `httpd` on PATH: the server dies at once, a real failure.
    let base = common::image_ref("base");
    let dir = tempfile::tempdir().unwrap();
    let out = ordeal()
        .args([
            "run",
            "--seed",
            "9",
            "--image",
            &format!("workload={base}"),
            "--report-dir",
        ])
        .arg(dir.path())
        .arg("smoke::start")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("rerun with --seed 9"),
        "{}",
        stdout(&out)
    );
    let parsed = junitparser(&dir.path().join("latest/junit.xml"));
    assert!(parsed.contains("Failure"), "{parsed}");
    assert!(
        parsed.contains("expected the server to keep running; it exited with code Some(127)"),
        "{parsed}"
    );
    let logs = dir
        .path()
        .join("latest/logs/smoke.start.server_reachable_from_peer");
    let server_log = std::fs::read_to_string(logs.join("server.log")).expect("server log saved");
    assert!(
        server_log.contains("httpd: not found"),
        "the log shows why: {server_log}"
    );
}
