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
