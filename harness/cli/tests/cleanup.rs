//! Nothing leaks: after SIGKILL, `ordeal clean` and the next `ordeal run` remove a dead run's
//! objects; Ctrl-C (SIGINT) removes them before exiting.

mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Child, Stdio},
    time::{Duration, Instant},
};

use common::{labelled, ordeal};

/// Starts `ordeal run` on a slow case and returns it with its run id, once it has containers.
fn start_run(report_dir: &std::path::Path) -> (Child, String) {
    let mut child = ordeal()
        .args(["run", "--seed", "1", "--report-dir"])
        .arg(report_dir)
        .arg("smoke::pause")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("[ordeal] run ") {
                let _ = tx.send(rest.split(':').next().unwrap_or_default().to_owned());
            }
        }
    });
    let run = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("run header printed");
    let deadline = Instant::now() + Duration::from_secs(60);
    while labelled(&format!("ordeal.run={run}")) < 3 {
        assert!(
            Instant::now() < deadline,
            "run {run} never started its containers"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, run)
}

fn signal(child: &Child, sig: i32) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY-free: `kill` through the CLI keeps this crate free of unsafe code.
    let status = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
#[ignore = "needs a Docker engine and built images: run ci/test"]
fn sigkill_leftovers_are_removed_by_clean_and_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();

    // 1. SIGKILL mid-run, then `ordeal clean`.
    let (mut child, run) = start_run(dir.path());
    signal(&child, libc::SIGKILL);
    child.wait().unwrap();
    let label = format!("ordeal.run={run}");
    assert!(
        labelled(&label) >= 3,
        "SIGKILL leaves the network and containers behind"
    );
    let out = ordeal().arg("clean").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("run {run}: removed")));
    assert_eq!(
        labelled(&label),
        0,
        "clean removed every object of the dead run"
    );

    // 2. SIGKILL mid-run, then the next `ordeal run` cleans at start (it selects no case here).
    let (mut child, run) = start_run(dir.path());
    signal(&child, libc::SIGKILL);
    child.wait().unwrap();
    let label = format!("ordeal.run={run}");
    assert!(labelled(&label) >= 3);
    let out = ordeal()
        .args(["run", "--report-dir"])
        .arg(dir.path())
        .arg("no-case-matches-this")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("dead run(s)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        labelled(&label),
        0,
        "the next run removed the dead run's objects"
    );
}

#[test]
#[ignore = "needs a Docker engine and built images: run ci/test"]
fn ctrl_c_removes_the_runs_objects_before_exiting() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, run) = start_run(dir.path());
    signal(&child, libc::SIGINT);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "interrupted runs exit 130");
    assert_eq!(
        labelled(&format!("ordeal.run={run}")),
        0,
        "nothing left after Ctrl-C"
    );
}

#[test]
#[ignore = "needs a Docker engine: run ci/test"]
fn clean_leaves_live_runs_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, run) = start_run(dir.path());
    let out = ordeal().arg("clean").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("run {run}:")));
    assert!(
        labelled(&format!("ordeal.run={run}")) >= 3,
        "a live run's objects stay"
    );
    signal(&child, libc::SIGTERM);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        labelled(&format!("ordeal.run={run}")),
        0,
        "SIGTERM cleans up too"
    );
}
