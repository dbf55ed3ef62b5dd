//! Fault schedules against a real cluster: `ordeal run --scenario FILE` records the executed
//! schedule in run.json, `ordeal replay` runs exactly that schedule again (same entries, same
//! resolved nodes), and the negative control fails the recovery check.

mod common;

use std::path::Path;

use common::{labelled, one_at_a_time, ordeal, stderr, stdout};

const CASE: &str = "chaos::scenario::mesos_recovers_after_schedule";

/// Two short faults whose nodes are chosen at run time: a random agent paused, then the leading
/// master slowed down; both shorter than the fast profile's ping window, so recovery is quick.
const SHORT: &str = r#"
name = "a random agent paused, the leader slowed"

[[fault]]
at = "2s"
kind = "pause"
target = "agent"
duration = "4s"

[[fault]]
at = "4s"
kind = "latency"
target = "leader"
delay = "50ms"
duration = "3s"
"#;

fn run_json(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("latest/run.json")).unwrap()).unwrap()
}

/// The planned part of each executed entry (no times, no notes).
fn planned(run: &serde_json::Value) -> Vec<serde_json::Value> {
    let schedule = &run["cases"][0]["schedule"];
    assert!(
        schedule.is_object(),
        "the case recorded its schedule: {run}"
    );
    schedule["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut e = e.clone();
            let o = e.as_object_mut().unwrap();
            for k in ["injected_ms", "healed_ms", "note"] {
                o.remove(k);
            }
            e
        })
        .collect()
}

#[test]
#[ignore = "needs a Docker engine and built images: run ci/test"]
fn a_scenario_run_records_its_executed_schedule_and_replay_runs_exactly_it() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("short.toml");
    std::fs::write(&file, SHORT).unwrap();
    let first = dir.path().join("first");
    let out = ordeal()
        .args([
            "run",
            "--profile",
            "conformance",
            "--seed",
            "21",
            "--scenario",
        ])
        .arg(&file)
        .arg("--report-dir")
        .arg(&first)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let run = run_json(&first);
    assert_eq!(run["cases"].as_array().unwrap().len(), 1, "only {CASE}");
    assert_eq!(run["cases"][0]["name"], CASE);
    let schedule = &run["cases"][0]["schedule"];
    assert_eq!(schedule["name"], "a random agent paused, the leader slowed");
    assert_eq!(schedule["backend"], "mesos");
    let entries = schedule["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["fault"]["kind"], "pause");
    assert_eq!(entries[0]["target"], "agent");
    let agent = entries[0]["resolved"][0].as_str().unwrap();
    assert!(agent == "agent1" || agent == "agent2", "{agent}");
    assert_eq!(entries[1]["fault"]["kind"], "latency");
    assert!(
        entries[1]["resolved"][0]
            .as_str()
            .unwrap()
            .starts_with("master")
    );
    for e in entries {
        let at = e["at_ms"].as_u64().unwrap();
        let injected = e["injected_ms"].as_u64().expect("injected");
        let healed = e["healed_ms"].as_u64().expect("healed");
        assert!(injected >= at && injected < at + 5_000, "{e}");
        assert!(healed >= at + e["duration_ms"].as_u64().unwrap(), "{e}");
    }
    // The timeline has every inject and heal.
    let faults = |kind: &str| {
        run["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == kind && e["target"].as_str().unwrap().contains("schedule #"))
            .count()
    };
    assert_eq!((faults("fault-injected"), faults("fault-healed")), (2, 2));

    let again = dir.path().join("again");
    let out = ordeal()
        .arg("replay")
        .arg(first.join("latest/run.json"))
        .arg("--report-dir")
        .arg(&again)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("the recorded schedule"),
        "{}",
        stderr(&out)
    );
    let replayed = run_json(&again);
    assert_eq!(replayed["seed"], 21);
    assert_eq!(
        planned(&replayed),
        planned(&run),
        "the replay ran the same entries against the same nodes"
    );
    for run in [&run, &replayed] {
        let id = run["run_id"].as_str().unwrap();
        assert_eq!(labelled(&format!("ordeal.run={id}")), 0, "nothing left");
    }
}

#[test]
#[ignore = "needs a Docker engine and built images: run ci/test"]
fn the_schedule_cases_negative_control_fails_recovery() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("short.toml");
    std::fs::write(&file, SHORT).unwrap();
    let out = ordeal()
        .args([
            "run",
            "--profile",
            "conformance",
            "--seed",
            "21",
            "--negative-controls",
            "--scenario",
        ])
        .arg(&file)
        .arg("--report-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the control passes only if the check failed: {}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let run = run_json(dir.path());
    let message = run["cases"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("negative control failed as it must")
            && message.contains("agents active"),
        "{message}"
    );
    let entries = run["cases"][0]["schedule"]["entries"].as_array().unwrap();
    let held = entries.last().unwrap();
    assert_eq!(
        (&held["fault"]["kind"], &held["resolved"][0], &held["held"]),
        (
            &serde_json::json!("kill"),
            &serde_json::json!("agent2"),
            &serde_json::json!(true)
        )
    );
    assert!(held["healed_ms"].is_null(), "never healed: {held}");
}

#[test]
fn a_scenario_that_fits_no_cluster_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mixed.toml");
    std::fs::write(
        &file,
        "name = \"mixed\"\n[[fault]]\nat = \"1s\"\nkind = \"pause\"\ntarget = \"agent\"\n\
         [[fault]]\nat = \"2s\"\nkind = \"pause\"\ntarget = \"node:1\"\n",
    )
    .unwrap();
    let out = ordeal()
        .args(["run", "--profile", "conformance", "--scenario"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("fit neither cluster"), "{err}");
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../suites/scenarios");
    let out = ordeal()
        .args(["run", "--profile", "conformance", "--scenario"])
        .arg(scenarios.join("broken/unknown-kind.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("unknown-kind.toml:"), "{err}");
    let out = ordeal()
        .args(["run", "--scenario"])
        .arg(scenarios.join("node-pause.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("hint: --profile conformance"),
        "{}",
        stderr(&out)
    );
}
