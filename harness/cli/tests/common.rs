//! Shared helpers of the binary's integration tests.
#![allow(dead_code)]

use std::process::{Command, Output};

/// The `ordeal` binary under test.
pub fn ordeal() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ordeal"));
    cmd.env_remove("ORDEAL_SEED")
        .env_remove("ORDEAL_PROFILE")
        .env("NO_COLOR", "1");
    cmd
}

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Non-empty stderr lines.
pub fn stderr_lines(out: &Output) -> Vec<String> {
    stderr(out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// How many containers, networks and volumes carry `filter` (e.g. `ordeal.run=<id>`).
pub fn labelled(filter: &str) -> usize {
    let mut n = 0;
    for kind in [
        ["ps", "-aq"].as_slice(),
        ["network", "ls", "-q"].as_slice(),
        ["volume", "ls", "-q"].as_slice(),
    ] {
        let out = Command::new("docker")
            .args(kind)
            .args(["--filter", &format!("label={filter}")])
            .output()
            .expect("docker CLI");
        assert!(
            out.status.success(),
            "docker {kind:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        n += String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count();
    }
    n
}

/// The reference recipe `name` currently hashes to (from `ordeal images list`).
pub fn image_ref(name: &str) -> String {
    let out = ordeal()
        .args(["images", "list"])
        .output()
        .expect("ordeal images list");
    stdout(&out)
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("recipe {name} listed"))
        .to_owned()
}

/// Sends signal `sig` (`libc::SIGINT`...) to `child`.
pub fn signal(child: &std::process::Child, sig: i32) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY-free: `kill` through the CLI keeps this crate free of unsafe code.
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// The value after `key` on a line of `text` (`run:        <id>`).
pub fn field(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("`{key}` printed in:\n{text}"))
}

/// Runs `ordeal up <args> --keep` with its cache in `cache`; returns stdout and the run id.
pub fn up_kept(args: &[&str], cache: &std::path::Path) -> (String, String) {
    let out = ordeal()
        .arg("up")
        .args(args)
        .arg("--keep")
        .env("ORDEAL_CACHE", cache)
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    let run = field(&text, "run:");
    (text, run)
}

/// Every file of a `.tar.gz` archive, as (path inside it, text).
pub fn tar_gz_texts(path: &std::path::Path) -> Vec<(String, String)> {
    ordeal::report::bundle_texts(path).expect("a readable bundle")
}

/// Holds the Docker tests of one test binary to one at a time (each binary that includes this
/// module has its own lock). On a 2-core machine side-by-side clusters starve each other (the
/// schedule cases bring up 9 containers each; the certify drain check once failed beside
/// another cluster), and each cleanup test's `ordeal clean` would also clean another's dead run.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The ids of the running containers of run `run` with role `role` (`ordeal.role`).
pub fn containers(run: &str, role: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-q", "--filter"])
        .arg(format!("label=ordeal.run={run}"))
        .arg("--filter")
        .arg(format!("label=ordeal.role={role}"))
        .output()
        .expect("docker CLI");
    stdout(&out).split_whitespace().map(str::to_owned).collect()
}

/// A cluster of `ordeal up --keep` (its cache in a temporary folder), removed with `ordeal
/// down` when the test ends, passed or not.
pub struct Kept {
    /// What `ordeal up` printed.
    pub text: String,
    /// Its run id.
    pub run: String,
    /// Its `ORDEAL_CACHE` (kubectl is in `bin/`).
    pub cache: tempfile::TempDir,
}

impl Kept {
    /// `ordeal up <args> --keep`.
    pub fn up(args: &[&str]) -> Self {
        let cache = tempfile::tempdir().unwrap();
        let (text, run) = up_kept(args, cache.path());
        Self { text, run, cache }
    }

    /// Removes it; every object labelled with its run is gone.
    pub fn down(self) {
        let label = format!("ordeal.run={}", self.run);
        drop(self);
        assert_eq!(labelled(&label), 0, "down removed the cluster");
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        let _ = ordeal()
            .args(["down", &self.run])
            .env("ORDEAL_CACHE", self.cache.path())
            .output();
    }
}
