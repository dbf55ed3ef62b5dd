//! `ordeal up` and `ordeal down`: a kept cluster is usable from the host with the printed
//! kubeconfig, survives `ordeal clean`, and `ordeal down` removes every object of it.

mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::{field, labelled, ordeal, signal, stderr, stdout, up_kept};

#[test]
fn up_help_shows_how_to_use_the_kubeconfig() {
    let out = ordeal().args(["up", "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("ordeal up kubernetes --nodes 3 --keep"),
        "{text}"
    );
    assert!(text.contains("export KUBECONFIG="), "{text}");
    let out = ordeal().args(["down", "--help"]).output().unwrap();
    assert!(stdout(&out).contains("ordeal down 20261129"));
}

#[test]
fn bad_up_arguments_are_one_line_usage_errors() {
    for args in [
        ["up", "kubernetes", "--nodes", "0"].as_slice(),
        ["up", "kubernetes", "--image", "kube-proxy=x:1"].as_slice(),
        ["up", "nomad"].as_slice(),
    ] {
        let out = ordeal().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let lines: Vec<&str> = stderr_text(&out);
        assert_eq!(lines.len(), 1, "{args:?}: {lines:?}");
    }
}

fn stderr_text(out: &std::process::Output) -> Vec<&str> {
    std::str::from_utf8(&out.stderr)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("[ordeal] "))
        .collect()
}

#[test]
#[ignore = "needs a Docker engine and built images: run ci/test"]
fn a_kept_cluster_serves_host_kubectl_survives_clean_and_down_removes_everything() {
    let cache = tempfile::tempdir().unwrap();
    let (text, run) = up_kept(&["kubernetes", "--nodes", "2"], cache.path());
    let kubeconfig = field(&text, "kubeconfig:");
    let label = format!("ordeal.run={run}");
    let before = labelled(&label);
    assert!(
        before >= 7,
        "5 containers and networks at least, got {before}"
    );

    // The host's kubectl (copied out of the control-plane image) uses the kubeconfig as is.
    let kubectl = cache.path().join("bin/kubectl");
    let nodes = Command::new(&kubectl)
        .args(["--kubeconfig", &kubeconfig, "get", "nodes", "-o", "name"])
        .output()
        .unwrap();
    assert!(nodes.status.success(), "{}", stderr(&nodes));
    assert_eq!(stdout(&nodes).trim(), "node/node-1\nnode/node-2");

    // `ordeal clean` leaves a kept run alone although its process has exited.
    let out = ordeal().arg("clean").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains(&format!("run {run}")),
        "{}",
        stdout(&out)
    );
    assert_eq!(labelled(&label), before, "clean must not touch a kept run");

    let out = ordeal()
        .args(["down", &run])
        .env("ORDEAL_CACHE", cache.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(labelled(&label), 0, "down removes every labelled object");
    assert!(!std::path::Path::new(&kubeconfig).exists());

    let out = ordeal().args(["down", &run]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown run is a usage error"
    );
}

#[test]
#[ignore = "needs a Docker engine and built images: run ci/test"]
fn without_keep_ctrl_c_removes_the_cluster() {
    let cache = tempfile::tempdir().unwrap();
    let mut child = ordeal()
        .args(["up", "kubernetes", "--nodes", "1"])
        .env("ORDEAL_CACHE", cache.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Read stdout to the end on a thread: a closed pipe would kill ordeal with SIGPIPE when it
    // prints its last line.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut run = None;
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(180)) {
        if let Some(id) = line.strip_prefix("run:") {
            run = Some(id.trim().to_owned());
        }
        if line.starts_with("running: Ctrl-C") {
            break;
        }
    }
    let run = run.expect("run id printed");
    let label = format!("ordeal.run={run}");
    assert!(labelled(&label) > 0);
    signal(&child, libc::SIGINT);
    let deadline = Instant::now() + Duration::from_secs(60);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        assert!(
            Instant::now() < deadline,
            "ordeal up did not end after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(code, Some(0), "Ctrl-C is how a cluster of `ordeal up` ends");
    assert_eq!(labelled(&label), 0, "Ctrl-C removes every labelled object");
    let rest: Vec<String> = rx.iter().collect();
    assert!(
        rest.iter().any(|l| l.starts_with("removed run")),
        "{rest:?}"
    );
}

#[test]
#[ignore = "needs a Docker engine and built images: run ci/test"]
fn mesos_with_three_masters_prints_the_leader_which_lists_both_agents_and_down_removes_everything()
{
    let cache = tempfile::tempdir().unwrap();
    let (text, run) = up_kept(&["mesos", "--masters", "3", "--agents", "2"], cache.path());
    let leader = field(&text, "leader:");
    let label = format!("ordeal.run={run}");
    assert!(
        labelled(&label) >= 8,
        "ZooKeeper, 3 masters, 2 agents and 2 networks at least:\n{text}"
    );
    assert!(leader.starts_with("http://127.0.0.1:"), "{text}");
    let masters: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("master:"))
        .map(str::trim)
        .collect();
    assert_eq!(masters.len(), 3, "{text}");
    assert!(masters.contains(&leader.as_str()), "{text}");

    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(leader_state_and_typed_operator_calls(&leader));

    let out = ordeal()
        .args(["down", &run])
        .env("ORDEAL_CACHE", cache.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(labelled(&label), 0, "down removes every labelled object");
    assert!(!cache.path().join("up").join(&run).exists());
}

/// The printed URL is the leading master's, and its `/master/state` has both agents, active;
/// then ordeal's typed v1 operator client against it: GET_STATE, GET_FRAMEWORKS,
/// UPDATE_WEIGHTS / GET_WEIGHTS and UPDATE_QUOTA / GET_QUOTA round trips.
async fn leader_state_and_typed_operator_calls(leader: &str) {
    use ordeal::cluster::mesos::{Operator, QuotaConfig, Scalar, WeightInfo};
    let url = format!("{leader}/master/state");
    let resp = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "GET {url}: {}", resp.status());
    let state: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(state["version"], "1.11.0", "{state:#}");
    assert_eq!(state["pid"], state["leader"], "not the leader: {state:#}");
    assert_eq!(state["activated_slaves"].as_f64(), Some(2.0), "{state:#}");
    let agents = state["slaves"].as_array().expect("slaves listed");
    assert_eq!(agents.len(), 2, "{state:#}");
    assert!(agents.iter().all(|a| a["active"] == true), "{state:#}");

    let op = Operator::new(leader);
    let state = op.state().await.expect("GET_STATE");
    assert_eq!(state.get_agents.agents.len(), 2, "{state:?}");
    assert!(
        op.frameworks()
            .await
            .expect("GET_FRAMEWORKS")
            .frameworks
            .is_empty()
    );

    let weight = WeightInfo {
        role: "analytics".into(),
        weight: 2.0,
    };
    op.update_weights(std::slice::from_ref(&weight))
        .await
        .expect("UPDATE_WEIGHTS");
    let weights = op.weights().await.expect("GET_WEIGHTS");
    assert!(weights.contains(&weight), "{weights:?}");

    let quota = QuotaConfig {
        role: "batch".into(),
        guarantees: Default::default(),
        limits: [
            ("cpus".to_owned(), Scalar { value: 1.0 }),
            ("mem".to_owned(), Scalar { value: 256.0 }),
        ]
        .into_iter()
        .collect(),
    };
    op.update_quota(std::slice::from_ref(&quota), true)
        .await
        .expect("UPDATE_QUOTA");
    let configs = op.quota().await.expect("GET_QUOTA");
    assert!(configs.contains(&quota), "{configs:?}");
}
