//! Runs against real containers: reports parse with a real JUnit consumer, and a failing case
//! yields exit 1, a failure message with the observed state, and saved logs.

mod common;

use std::path::Path;

use common::{labelled, ordeal, stderr, stdout};

/// Validates `xml` against the common JUnit schema (Jenkins xunit's junit-10.xsd, fetched by
/// `ci/test-deps`) and reads it with junitparser, a real consumer.
fn junitparser(xml: &Path) -> String {
    let xsd = std::env::var("ORDEAL_JUNIT_XSD").unwrap_or_else(|_| {
        format!(
            "{}/.cache/ordeal/junit-10.xsd",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    assert!(
        Path::new(&xsd).is_file(),
        "JUnit schema missing at {xsd}: run ci/test-deps (ci/test does)"
    );
    let script = r#"
import sys, junitparser, xmlschema
xmlschema.XMLSchema(sys.argv[2]).validate(sys.argv[1])
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
        .arg(&xsd)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "schema validation or junitparser failed: {}",
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
        parsed.contains("expected the server to keep running; it exited with code 127"),
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

/// Renders `page` in headless Chromium and returns the DOM after layout, plus a screenshot.
fn chromium(page: &Path, png: &Path) -> String {
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1200,1000",
    ];
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.display());
    let run = |extra: &str| {
        std::process::Command::new("chromium")
            .args(flags)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(extra)
            .arg(&url)
            .output()
            .expect("chromium installed by ci/setup")
    };
    let shot = run(&format!("--screenshot={}", png.display()));
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let dom = run("--dump-dom");
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    String::from_utf8_lossy(&dom.stdout).into_owned()
}

#[test]
#[ignore = "needs a Docker engine, built images and chromium: run ci/test"]
fn the_html_report_of_a_failing_run_renders_the_failure_and_its_timeline() {
    let base = common::image_ref("base");
    let dir = tempfile::tempdir().unwrap();
    let out = ordeal()
        .args([
            "run",
            "--seed",
            "11",
            "--image",
            &format!("workload={base}"),
            "--report-dir",
        ])
        .arg(dir.path())
        .arg("smoke::start")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let page = dir.path().join("latest/index.html").canonicalize().unwrap();
    let png = dir.path().join("report.png");
    let dom = chromium(&page, &png);
    for needle in [
        "0 passed, 1 failed, 0 errors",
        "smoke::start::server_reachable_from_peer",
        "expected vs observed",
        "expected the server to keep running; it exited with code 127",
        "container server started",
        "case failed",
        "rerun with --seed 11",
    ] {
        assert!(dom.contains(needle), "rendered page shows {needle:?}");
    }
    assert!(
        dom.contains("aria-label=\"case timeline\""),
        "the timeline is drawn"
    );
    let size = std::fs::metadata(&png).unwrap().len();
    assert!(size > 20_000, "a real screenshot ({size} bytes)");
}

#[test]
#[ignore = "needs a Docker engine and built images: run ci/test"]
fn a_bundle_holds_the_evidence_without_credentials_and_replays_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = ordeal()
        .args(["run", "--seed", "11", "--bundle", "--report-dir"])
        .arg(dir.path())
        .arg("smoke::exec")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let line = stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("bundle: ").map(str::to_owned))
        .expect("the bundle's path is printed");
    let path = line.split(" (").next().unwrap();
    assert!(path.ends_with(".tar.gz"), "{path}");
    let mut names = Vec::new();
    for (name, text) in common::tar_gz_texts(std::path::Path::new(path)) {
        for secret in ["PRIVATE KEY-----\n", "client-key-data: L", "Bearer ey"] {
            assert!(!text.contains(secret), "{name} holds {secret:?}");
        }
        names.push(name.split_once('/').unwrap().1.to_owned());
    }
    for want in ["junit.xml", "run.json", "index.html", "REPRODUCE.txt"] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }

    let run_json = dir.path().join("latest/run.json");
    let first: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&run_json).unwrap()).unwrap();
    let copy = dir.path().join("first-run.json");
    std::fs::copy(&run_json, &copy).unwrap();
    let out = ordeal()
        .arg("replay")
        .arg(&copy)
        .arg("--report-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let again: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("latest/run.json")).unwrap())
            .unwrap();
    assert_ne!(again["run_id"], first["run_id"], "a new run");
    assert_eq!(again["seed"], 11);
    assert_eq!(again["profile"], first["profile"]);
    assert_eq!(again["cases"][0]["name"], first["cases"][0]["name"]);
    assert_eq!(again["cases"].as_array().unwrap().len(), 1);
}
