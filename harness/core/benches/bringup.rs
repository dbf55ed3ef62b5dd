//! Benchmark (not a test): how long whole clusters take to come up through ordeal, against the
//! same containers started by the bare scripts (the floor).
//!
//! Scenarios, each over a few rounds that alternate ordeal and the bare script (ordeal, bare,
//! ordeal, bare...) so that machine load hits both alike:
//! - `kubernetes`: [`KubeCluster::start_config`] with 2 nodes (etcd, kube-apiserver,
//!   kube-controller-manager, kube-scheduler, nodes with kubelet and kube-proxy) against
//!   `fixtures/kubernetes/bare-up.sh` (`NODES=2 KEEP=0`). Milestones: apiserver `/readyz` ok;
//!   control plane ready (the default service account exists, so kube-controller-manager is
//!   acting); 2 nodes Ready.
//! - `mesos-1`: [`MesosCluster::start`] with ZooKeeper, 1 master and 2 agents against
//!   `fixtures/mesos/bare-up.sh`. Milestones: ZooKeeper serving; a leader elected with both
//!   agents registered.
//! - `mesos-3`: one ZooKeeper, 3 masters (quorum 2) and 2 agents against
//!   `bare-up.sh --ha --zk 1 --no-failover`;
//! - `mesos-3-3zk`: the same on a 3-server ZooKeeper ensemble ([`MesosConfig::zookeepers`])
//!   against `bare-up.sh --ha --no-failover`.
//!
//! A time runs from the call into ordeal (or the spawn of the script) to the moment ordeal's
//! timeline records the milestone (or the script prints it). The table shows, per milestone,
//! the median and range of each side and the ratio of the medians ordeal/bare; then the peak
//! RSS of this process (`VmHWM`: it holds every ordeal cluster, the scripts are children), and
//! the load during the samples (1-minute load average, and containers of others running).
//! Images must be built beforehand ("warm"): building is not measured.
//!
//! Every container, network and volume is labelled: ordeal's with this bench's run id (removed
//! after each sample by the case context, then by label), each bare run's with
//! `<run id>-bare-<scenario>-r<round>`, which the script's own `down` removes. After every
//! sample the bench removes whatever is still labelled with it and reports that as a leak (exit
//! code 1, as for a failed sample).
//!
//! Run: `cargo bench -p ordeal --bench bringup` (needs Docker and
//! `ordeal images build k8s-control-plane k8s-node pause workload mesos zookeeper`).
//! Arguments after `--` keep only the scenarios whose names contain one of them
//! (`cargo bench -p ordeal --bench bringup -- mesos`); `ORDEAL_BENCH_ROUNDS` sets the number of
//! rounds (default 3). If interrupted, `ordeal clean` removes ordeal's part and
//! `fixtures/*/bare-up.sh down <id>` a bare run's.

mod common;

use std::{
    path::{Path, PathBuf},
    process::{ExitCode, Stdio},
    time::{Duration, Instant},
};

use bollard::query_parameters::ListContainersOptions;
use ordeal::{
    cluster::{
        kubernetes::{KubeCluster, KubeConfig},
        mesos::{MesosCluster, MesosConfig},
    },
    images::{ImageSet, Recipes, default_recipes_dir},
    run::{CaseCtx, case_rng},
    runtime::{Engine, RunId, cleanup},
    timeline::{RunEvent, Timeline},
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

/// Rounds unless `ORDEAL_BENCH_ROUNDS` says otherwise.
const ROUNDS: usize = 3;
/// Past this a sample is abandoned (and its containers removed).
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(300);

/// A point of the bring-up that both sides report.
struct Milestone {
    /// Row label.
    label: &'static str,
    /// The step ordeal's timeline records (`RunEvent::Step`, exact message).
    step: &'static str,
    /// A part of the line the bare script prints when it gets there (first match).
    line: &'static str,
}

enum Kind {
    Kubernetes,
    Mesos { masters: usize, zookeepers: usize },
}

struct Scenario {
    name: &'static str,
    title: &'static str,
    kind: Kind,
    milestones: &'static [Milestone],
}

const KUBE_MILESTONES: &[Milestone] = &[
    Milestone {
        label: "apiserver /readyz ok",
        step: "kube-apiserver ready",
        line: "apiserver /readyz",
    },
    Milestone {
        label: "control plane ready (default SA)",
        step: "control plane ready",
        line: "control plane ready",
    },
    Milestone {
        label: "2 nodes Ready",
        step: "2 node(s) Ready",
        line: "2 node(s) Ready",
    },
];

const MESOS_MILESTONES: &[Milestone] = &[
    Milestone {
        label: "ZooKeeper serving",
        step: "ZooKeeper ready",
        line: "zookeeper serving",
    },
    Milestone {
        label: "leader elected, 2 agents registered",
        step: "leader elected, 2 agent(s) registered",
        line: "2 agents registered with the leader",
    },
];

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "kubernetes",
        title: "Kubernetes: control plane + 2 nodes (kube-proxy)",
        kind: Kind::Kubernetes,
        milestones: KUBE_MILESTONES,
    },
    Scenario {
        name: "mesos-1",
        title: "Mesos: 1 ZooKeeper + 1 master + 2 agents",
        kind: Kind::Mesos {
            masters: 1,
            zookeepers: 1,
        },
        milestones: MESOS_MILESTONES,
    },
    Scenario {
        name: "mesos-3",
        title: "Mesos: 1 ZooKeeper + 3 masters (quorum 2) + 2 agents",
        kind: Kind::Mesos {
            masters: 3,
            zookeepers: 1,
        },
        milestones: MESOS_MILESTONES,
    },
    Scenario {
        name: "mesos-3-3zk",
        title: "Mesos: 3 ZooKeepers + 3 masters (quorum 2) + 2 agents",
        kind: Kind::Mesos {
            masters: 3,
            zookeepers: 3,
        },
        milestones: MESOS_MILESTONES,
    },
];

/// One side's samples of one scenario.
#[derive(Default)]
struct Side {
    /// Per successful sample, the time of each milestone.
    samples: Vec<Vec<Duration>>,
    /// 1-minute load average when each sample started.
    load: Vec<f64>,
    /// Containers of others running when each sample started.
    others: Vec<usize>,
    /// Failed samples and leaks, as messages.
    problems: Vec<String>,
}

impl Side {
    fn median(&self, milestone: usize) -> Option<Duration> {
        let mut v: Vec<Duration> = self.samples.iter().map(|s| s[milestone]).collect();
        v.sort();
        v.get(v.len() / 2).copied()
    }

    fn range(&self, milestone: usize) -> Option<(Duration, Duration)> {
        let v = self.samples.iter().map(|s| s[milestone]);
        Some((v.clone().min()?, v.max()?))
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// Running containers on the engine; between samples none of them is this bench's.
async fn running_containers(engine: &Engine) -> usize {
    engine
        .docker()
        .list_containers(None::<ListContainersOptions>)
        .await
        .map_or(0, |l| l.len())
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// How many objects `run` still has on the engine; removes them.
async fn sweep(engine: &Engine, run: &RunId) -> Result<usize, String> {
    let left: usize = cleanup::inventory(engine, Some(run), None)
        .await
        .map_err(|e| e.to_string())?
        .values()
        .map(cleanup::Leftovers::count)
        .sum();
    if left > 0 {
        cleanup::remove_run(engine, run, None)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(left)
}

/// Brings the scenario's cluster up through ordeal; returns the milestones' times.
async fn ordeal_sample(
    engine: &Engine,
    run: &RunId,
    images: &ImageSet,
    scenario: &Scenario,
    round: usize,
) -> Result<Vec<Duration>, String> {
    let case = format!("bench::{}::r{round}", scenario.name);
    let timeline = Timeline::new();
    let ctx = CaseCtx::new(
        &case,
        engine.clone(),
        run.clone(),
        images.clone(),
        timeline.clone(),
        case_rng(0, &case),
        false,
    );
    let up = async {
        match scenario.kind {
            Kind::Kubernetes => KubeCluster::start_config(&ctx, &KubeConfig::new(2))
                .await
                .map(drop),
            Kind::Mesos {
                masters,
                zookeepers,
            } => {
                let config = MesosConfig {
                    zookeepers,
                    ..MesosConfig::new(masters, 2)
                };
                MesosCluster::start_config(&ctx, &config).await.map(drop)
            }
        }
    };
    let result = tokio::time::timeout(SAMPLE_TIMEOUT, up).await;
    let events = timeline.of_case(&case);
    // The sample's timeline on stderr: where an outlier spent its time.
    for e in &events {
        eprintln!("[timeline] {case} {}", e.line());
    }
    ctx.remove_all().await;
    match result {
        Err(_) => return Err(format!("not up after {SAMPLE_TIMEOUT:?}")),
        Ok(Err(e)) => return Err(e.to_string()),
        Ok(Ok(())) => {}
    }
    scenario
        .milestones
        .iter()
        .map(|m| {
            events
                .iter()
                .find(|e| matches!(&e.event, RunEvent::Step { message } if message == m.step))
                .map(|e| Duration::from_millis(e.mono_ms))
                .ok_or_else(|| format!("the timeline has no step `{}`", m.step))
        })
        .collect()
}

/// Runs the scenario's bare script, run id `id`; returns the milestones' times.
async fn bare_sample(
    scenario: &Scenario,
    images: &ImageSet,
    id: &str,
) -> Result<Vec<Duration>, String> {
    let image = |n: &str| images.get(n).map_err(|e| e.to_string());
    let mut cmd = match scenario.kind {
        Kind::Kubernetes => {
            let mut c = tokio::process::Command::new(fixtures().join("kubernetes/bare-up.sh"));
            c.arg("up")
                .env("ID", id)
                .env("NODES", "2")
                .env("KEEP", "0")
                .env("CP_IMAGE", image("k8s-control-plane")?)
                .env("NODE_IMAGE", image("k8s-node")?)
                .env("PAUSE_IMAGE", image("pause")?)
                .env("WORKLOAD_IMAGE", image("workload")?);
            c
        }
        Kind::Mesos {
            masters,
            zookeepers,
        } => {
            let mut c = tokio::process::Command::new(fixtures().join("mesos/bare-up.sh"));
            c.args(["up", "--id", id, "--no-failover"]);
            if masters == 3 {
                c.arg("--ha");
            } else if masters != 1 {
                return Err(format!("bare-up.sh runs 1 or 3 masters, not {masters}"));
            }
            c.args(["--zk", &zookeepers.to_string()]);
            c.env("MESOS_IMAGE", image("mesos")?)
                .env("ZK_IMAGE", image("zookeeper")?);
            c
        }
    };
    // Its own process group: on a timeout the whole script (a hung `docker exec` included)
    // gets the signal, and bash can run its EXIT trap.
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run the bare script: {e}"))?;
    let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err("the bare script's output is not piped".into());
    };
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let mut found: Vec<Option<Duration>> = vec![None; scenario.milestones.len()];
    let mut transcript = Vec::new();
    let read = async {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let at = start.elapsed();
            for (slot, m) in found.iter_mut().zip(scenario.milestones) {
                if slot.is_none() && line.contains(m.line) {
                    *slot = Some(at);
                }
            }
            transcript.push(line);
        }
    };
    let timed_out = tokio::time::timeout(SAMPLE_TIMEOUT, read).await.is_err();
    let group = child.id().map(|pid| format!("-{pid}"));
    if let (true, Some(group)) = (timed_out, &group) {
        // SIGTERM to the script's group, so its EXIT trap still removes what it started.
        signal(group, "-TERM").await;
    }
    let status = match tokio::time::timeout(Duration::from_secs(60), child.wait()).await {
        Ok(status) => status.map_err(|e| e.to_string())?,
        Err(_) => {
            if let Some(group) = &group {
                signal(group, "-KILL").await;
            }
            child.wait().await.map_err(|e| e.to_string())?
        }
    };
    let errors = errors.await.unwrap_or_default();
    if timed_out || !status.success() {
        let tail: Vec<&str> = transcript
            .iter()
            .map(String::as_str)
            .chain(errors.lines())
            .collect();
        let tail = tail[tail.len().saturating_sub(8)..].join(" | ");
        return Err(format!(
            "{} ({status}): {tail}",
            if timed_out {
                "timed out"
            } else {
                "the bare script failed"
            }
        ));
    }
    found
        .into_iter()
        .zip(scenario.milestones)
        .map(|(t, m)| t.ok_or_else(|| format!("the script never printed `{}`", m.line)))
        .collect()
}

/// Sends `sig` to the process group `group` (`-<pgid>`), one this bench started.
async fn signal(group: &str, sig: &str) {
    let _ = tokio::process::Command::new("kill")
        .args([sig, "--", group])
        .status()
        .await;
}

/// The bare script's own removal of run `id` (idempotent).
async fn bare_down(scenario: &Scenario, id: &str) {
    let script = match scenario.kind {
        Kind::Kubernetes => "kubernetes/bare-up.sh",
        Kind::Mesos { .. } => "mesos/bare-up.sh",
    };
    let _ = tokio::process::Command::new(fixtures().join(script))
        .args(["down", id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
}

fn describe(scenario: &Scenario, times: &[Duration]) -> String {
    scenario
        .milestones
        .iter()
        .zip(times)
        .map(|(m, t)| format!("{} {:.1} s", m.label, secs(*t)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn cell(side: &Side, milestone: usize) -> String {
    match (side.median(milestone), side.range(milestone)) {
        (Some(m), Some((lo, hi))) => {
            format!("{:.1} ({:.1}-{:.1})", secs(m), secs(lo), secs(hi))
        }
        _ => "-".into(),
    }
}

fn load_spread(v: &[f64]) -> String {
    let lo = v.iter().copied().reduce(f64::min);
    let hi = v.iter().copied().reduce(f64::max);
    match (lo, hi) {
        (Some(lo), Some(hi)) => format!("{lo:.1}-{hi:.1}"),
        _ => "-".into(),
    }
}

fn count_spread(v: &[usize]) -> String {
    match (v.iter().min(), v.iter().max()) {
        (Some(lo), Some(hi)) => format!("{lo}-{hi}"),
        _ => "-".into(),
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let rounds = std::env::var("ORDEAL_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(ROUNDS);
    let scenarios: Vec<&Scenario> = SCENARIOS
        .iter()
        .filter(|s| filters.is_empty() || filters.iter().any(|f| s.name.contains(f.as_str())))
        .collect();
    let engine = match Engine::connect().await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let images = Recipes::load(&default_recipes_dir()).and_then(|r| ImageSet::new(&r, &[]));
    let images = match images {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let names = [
        "k8s-control-plane",
        "k8s-node",
        "pause",
        "workload",
        "mesos",
        "zookeeper",
    ];
    let refs: Vec<String> = names.iter().filter_map(|n| images.get(n).ok()).collect();
    if let Err(e) = engine.require_images(&refs).await {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let run = RunId::generate();
    println!(
        "ordeal bring-up benchmark, run {run}, docker {} (API {}), {} CPU(s), {rounds} round(s)",
        engine.version,
        engine.api_version,
        std::thread::available_parallelism().map_or(0, usize::from),
    );

    let mut results: Vec<(Side, Side)> = scenarios.iter().map(|_| Default::default()).collect();
    let mut failed = false;
    for round in 1..=rounds {
        for (scenario, (ours, floor)) in scenarios.iter().zip(results.iter_mut()) {
            // ordeal first, then the bare script, in every round.
            ours.load.push(load_average());
            ours.others.push(running_containers(&engine).await);
            let sample = ordeal_sample(&engine, &run, &images, scenario, round).await;
            let leaked = sweep(&engine, &run).await;
            match sample {
                Ok(t) => {
                    println!(
                        "round {round}/{rounds} {} ordeal: {}",
                        scenario.name,
                        describe(scenario, &t)
                    );
                    ours.samples.push(t);
                }
                Err(e) => {
                    println!(
                        "round {round}/{rounds} {} ordeal FAILED: {e}",
                        scenario.name
                    );
                    ours.problems.push(format!("round {round}: {e}"));
                }
            }
            match leaked {
                Ok(0) => {}
                Ok(n) => ours
                    .problems
                    .push(format!("round {round}: {n} object(s) left behind")),
                Err(e) => ours.problems.push(format!("round {round}: sweep: {e}")),
            }

            let id = format!("{run}-bare-{}-r{round}", scenario.name);
            floor.load.push(load_average());
            floor.others.push(running_containers(&engine).await);
            let sample = bare_sample(scenario, &images, &id).await;
            bare_down(scenario, &id).await;
            let leaked = sweep(&engine, &RunId::from_label(&id)).await;
            match sample {
                Ok(t) => {
                    println!(
                        "round {round}/{rounds} {} bare:   {}",
                        scenario.name,
                        describe(scenario, &t)
                    );
                    floor.samples.push(t);
                }
                Err(e) => {
                    println!("round {round}/{rounds} {} bare FAILED: {e}", scenario.name);
                    floor.problems.push(format!("round {round}: {e}"));
                }
            }
            match leaked {
                Ok(0) => {}
                Ok(n) => floor.problems.push(format!(
                    "round {round}: {n} object(s) left behind by the script"
                )),
                Err(e) => floor.problems.push(format!("round {round}: sweep: {e}")),
            }
        }
    }

    println!();
    println!(
        "bring-up, seconds from the call (ordeal) or the script's spawn (bare) to each milestone;"
    );
    println!("median (min-max) over {rounds} alternating round(s); ratio of the medians");
    println!(
        "{:<38} {:>18} {:>18} {:>11}",
        "milestone", "ordeal", "bare", "ordeal/bare"
    );
    for (scenario, (ours, floor)) in scenarios.iter().zip(&results) {
        println!("{}", scenario.title);
        for (i, m) in scenario.milestones.iter().enumerate() {
            let ratio = match (ours.median(i), floor.median(i)) {
                (Some(o), Some(b)) if !b.is_zero() => format!("{:.2}", secs(o) / secs(b)),
                _ => "-".into(),
            };
            println!(
                "  {:<36} {:>18} {:>18} {:>11}",
                m.label,
                cell(ours, i),
                cell(floor, i),
                ratio
            );
        }
        println!(
            "  {:<36} {:>18} {:>18}",
            "samples ok / rounds",
            format!("{}/{rounds}", ours.samples.len()),
            format!("{}/{rounds}", floor.samples.len())
        );
        println!(
            "  {:<36} {:>18} {:>18}",
            "load average (1 min) at start",
            load_spread(&ours.load),
            load_spread(&floor.load)
        );
        println!(
            "  {:<36} {:>18} {:>18}",
            "others' containers running",
            count_spread(&ours.others),
            count_spread(&floor.others)
        );
    }
    println!(
        "peak RSS of the benchmark process (ordeal's clusters are in it): {} MiB",
        common::peak_rss_kib() / 1024
    );
    for (scenario, (ours, floor)) in scenarios.iter().zip(&results) {
        for (side, problems) in [("ordeal", &ours.problems), ("bare", &floor.problems)] {
            for p in problems.iter() {
                failed = true;
                println!("problem: {} {side}: {p}", scenario.name);
            }
        }
    }
    let left = sweep(&engine, &run).await;
    if !matches!(left, Ok(0)) {
        failed = true;
        println!("problem: run {run} still had objects at the end: {left:?}");
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
