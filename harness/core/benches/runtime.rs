//! Benchmark (not a test): what the runtime layer costs against a real engine.
//!
//! - container start: `ContainerSpec::start` (testcontainers + labels + image check) against
//!   `docker run -d` of the same image and command (the floor), medians of N runs;
//! - network fault injection latency: from the call to the first request that fails, and heal
//!   latency: from the heal call to the first request that succeeds again;
//! - per fault kind (kill, stop, pause, partition, loss, latency, bandwidth, process kill): from
//!   the request to the first effect a peer sees, timed by a probe loop inside the peer (a
//!   download every few milliseconds, stamped with the shared clock), so docker exec's own
//!   latency is not in the numbers;
//! - peak RSS of this process.
//!
//! Run: `cargo bench -p ordeal --bench runtime` (needs Docker and `ordeal images build --profile smoke`).

mod common;

use std::{
    process::Command,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use ordeal::{
    fault::{Direction, NetFaults, ProcessFaults},
    images::{Recipes, default_recipes_dir},
    runtime::{Container, ContainerSpec, Engine, Network, NetworkSpec, RunId, cleanup},
};

const N: usize = 10;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let engine = Engine::connect().await.expect("Docker engine");
    let recipes = Recipes::load(&default_recipes_dir()).unwrap();
    let workload = recipes.reference("workload").unwrap();
    let helper = recipes.reference("fault-helper").unwrap();
    let run = RunId::generate();
    println!(
        "ordeal runtime benchmark, run {run}, docker {} (API {})",
        engine.version, engine.api_version
    );

    // Container start: ordeal vs the docker CLI.
    let mut ours = Vec::new();
    let mut floor = Vec::new();
    for i in 0..N {
        let t = Instant::now();
        let c = ContainerSpec::new(format!("bench-{i}"), &workload, "bench")
            .shell("exec sleep 600")
            .start(&engine, &run)
            .await
            .unwrap();
        ours.push(t.elapsed());
        c.remove().await.unwrap();

        let t = Instant::now();
        let out = Command::new("docker")
            .args([
                "run",
                "-d",
                "--label",
                &format!("ordeal.run={run}"),
                "--entrypoint",
                "/bin/sh",
                &workload,
                "-c",
                "exec sleep 600",
            ])
            .output()
            .unwrap();
        floor.push(t.elapsed());
        let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Command::new("docker")
            .args(["rm", "-f", &id])
            .output()
            .unwrap();
    }
    let (o, f) = (median(ours), median(floor));
    println!(
        "container start: ordeal {:.0} ms, docker run {:.0} ms (median of {N}); ratio {:.2}",
        ms(o),
        ms(f),
        ms(o) / ms(f)
    );

    // Fault injection latency, observed from a peer.
    let net = Network::create(
        &engine,
        &run,
        &NetworkSpec {
            name: "bench".into(),
            internal: true,
            case: None,
            labels: Vec::new(),
        },
    )
    .await
    .unwrap();
    let server = Arc::new(
        ContainerSpec::new("srv", &workload, "bench")
            .network(&net.name)
            .shell("mkdir -p /www && echo ok > /www/x && exec httpd -f -p 8080 -h /www")
            .start(&engine, &run)
            .await
            .unwrap(),
    );
    let client = ContainerSpec::new("cli", &workload, "bench")
        .network(&net.name)
        .shell("exec sleep 600")
        .start(&engine, &run)
        .await
        .unwrap();
    let (sip, cip) = (
        server.ip(&net.name).await.unwrap(),
        client.ip(&net.name).await.unwrap(),
    );
    let url = format!("http://{sip}:8080/x");
    async fn reach(c: &ordeal::runtime::Container, url: &str) -> bool {
        c.exec(["timeout", "1", "wget", "-q", "-O", "-", url])
            .await
            .map(|o| o.success())
            .unwrap_or(false)
    }
    while !reach(&client, &url).await {}
    let faults = NetFaults::new(engine.clone(), run.clone(), helper.clone());
    // Start the helper once, so the numbers are for rules, not container start.
    let mut warm = faults
        .drop_between(&server, &[cip], Direction::Both)
        .await
        .unwrap();
    faults.heal(&mut warm).await.unwrap();
    let (mut inject, mut heal) = (Vec::new(), Vec::new());
    for _ in 0..N {
        while !reach(&client, &url).await {}
        let t = Instant::now();
        let mut f = faults
            .drop_between(&server, &[cip], Direction::Both)
            .await
            .unwrap();
        let applied = t.elapsed();
        while reach(&client, &url).await {}
        inject.push(applied);
        let t = Instant::now();
        faults.heal(&mut f).await.unwrap();
        while !reach(&client, &url).await {}
        heal.push(t.elapsed());
    }
    println!(
        "partition: rules in place {:.0} ms after the call, traffic back {:.0} ms after heal (medians of {N})",
        ms(median(inject)),
        ms(median(heal))
    );
    per_kind(&engine, &run, &net.name, &workload, &helper).await;
    cleanup::remove_run(&engine, &run, None).await.unwrap();
    println!(
        "peak RSS of the benchmark process: {} MiB",
        common::peak_rss_kib() / 1024
    );
}

/// The fault kinds measured by [`per_kind`].
#[derive(Debug, Clone, Copy)]
enum Kind {
    Kill,
    Stop,
    Pause,
    Partition,
    Loss,
    Latency,
    Bandwidth,
    KillProcess,
}

impl Kind {
    const ALL: [Kind; 8] = [
        Kind::Kill,
        Kind::Stop,
        Kind::Pause,
        Kind::Partition,
        Kind::Loss,
        Kind::Latency,
        Kind::Bandwidth,
        Kind::KillProcess,
    ];

    /// What the peer sees: its download fails, or takes longer than this many ms.
    fn slower_than_ms(self) -> Option<u64> {
        match self {
            Kind::Latency => Some(50),
            Kind::Bandwidth => Some(100),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Kill => "kill (SIGKILL the container)",
            Kind::Stop => "stop (SIGTERM, 10 s grace)",
            Kind::Pause => "pause",
            Kind::Partition => "partition (drop both ways)",
            Kind::Loss => "loss (probability 1)",
            Kind::Latency => "latency 100 ms",
            Kind::Bandwidth => "bandwidth 1mbit",
            Kind::KillProcess => "kill-process httpd",
        }
    }
}

/// Nanoseconds since the epoch: the clock containers share with this process.
fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// The peer's probe log after `since` (ns): `(start ns, end ns, ok)` per download.
async fn probes(peer: &Container, since: u128) -> Vec<(u128, u128, bool)> {
    let out = peer.sh("tail -n 400 /tmp/probe.log").await.unwrap();
    out.stdout
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let s: u128 = w.next()?.parse().ok()?;
            let e: u128 = w.next()?.parse().ok()?;
            let ok = w.next()? == "ok";
            (s >= since).then_some((s, e, ok))
        })
        .collect()
}

/// Injection latency per fault kind: for each sample a fresh server (a supervised `httpd`
/// serving 64 KiB, its main process a shell that exits on SIGTERM), the peer's probe loop
/// pointed at it, the fault's helper already started (its start is reported apart), then the
/// request, and the first probe started after it that shows the effect.
async fn per_kind(engine: &Engine, run: &RunId, net: &str, workload: &str, helper: &str) {
    let peer = ContainerSpec::new("probe", helper, "bench")
        .network(net)
        .shell(
            "touch /tmp/url; while :; do s=$(date +%s%N); \
             if timeout 1 busybox wget -q -O /dev/null \"$(cat /tmp/url)\"; then r=ok; else r=fail; fi; \
             echo \"$s $(date +%s%N) $r\" >> /tmp/probe.log; done",
        )
        .start(engine, run)
        .await
        .unwrap();
    let faults = NetFaults::new(engine.clone(), run.clone(), helper.to_owned());
    let processes = ProcessFaults::new(engine.clone(), run.clone(), helper.to_owned());
    let peer_ip = peer.ip(net).await.unwrap();
    let mut helper_start = Vec::new();
    let mut periods = Vec::new();
    println!("inject -> effect seen by a peer, per kind (medians of {N}):");
    for kind in Kind::ALL {
        let (mut effect, mut call) = (Vec::new(), Vec::new());
        // Latency and bandwidth: how long the first affected download took, and how many of
        // them failed (1 s timeout).
        let (mut slowed, mut failed) = (Vec::new(), 0);
        for i in 0..N {
            let server = Arc::new(
                ContainerSpec::new(format!("{kind:?}-{i}").to_lowercase(), workload, "bench")
                    .network(net)
                    .shell(
                        "mkdir -p /www && head -c 65536 /dev/zero > /www/x && \
                         (while :; do httpd -f -p 8080 -h /www; sleep 0.5; done) & \
                         trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done",
                    )
                    .start(engine, run)
                    .await
                    .unwrap(),
            );
            let ip = server.ip(net).await.unwrap();
            peer.sh(&format!("echo http://{ip}:8080/x > /tmp/url"))
                .await
                .unwrap();
            // Serving, and the helper this kind needs started (timed once per target).
            let t = Instant::now();
            match kind {
                Kind::KillProcess => {
                    let _ = processes.kill_process(&server, "nosuchprocess").await;
                }
                Kind::Kill | Kind::Stop | Kind::Pause => {}
                _ => {
                    let mut warm = faults
                        .drop_between(&server, &["10.255.255.1".parse().unwrap()], Direction::Both)
                        .await
                        .unwrap();
                    faults.heal(&mut warm).await.unwrap();
                }
            }
            if !matches!(kind, Kind::Kill | Kind::Stop | Kind::Pause) {
                helper_start.push(t.elapsed());
            }
            let ready = now_ns();
            loop {
                let p = probes(&peer, ready).await;
                if p.iter()
                    .filter(|(s, e, ok)| *ok && e - s < 50_000_000)
                    .count()
                    >= 3
                {
                    periods.extend(
                        p.windows(2)
                            .map(|w| Duration::from_nanos((w[1].0 - w[0].0) as u64)),
                    );
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let t0 = now_ns();
            let t = Instant::now();
            let mut net_fault = None;
            let mut proc_fault = None;
            match kind {
                Kind::Kill => server.kill("SIGKILL").await.unwrap(),
                Kind::Stop => server.stop(Duration::from_secs(10)).await.unwrap(),
                Kind::Pause => server.pause().await.unwrap(),
                Kind::Partition => {
                    net_fault = Some(
                        faults
                            .drop_between(&server, &[peer_ip], Direction::Both)
                            .await
                            .unwrap(),
                    );
                }
                Kind::Loss => net_fault = Some(faults.loss(&server, 1.0).await.unwrap()),
                Kind::Latency => {
                    net_fault = Some(
                        faults
                            .latency(&server, Duration::from_millis(100))
                            .await
                            .unwrap(),
                    );
                }
                Kind::Bandwidth => {
                    net_fault = Some(faults.bandwidth(&server, 1_000_000).await.unwrap());
                }
                Kind::KillProcess => {
                    proc_fault = Some(processes.kill_process(&server, "httpd").await.unwrap());
                }
            }
            call.push(t.elapsed());
            let deadline = Instant::now() + Duration::from_secs(15);
            let seen = loop {
                // A download slowed past its 1 s timeout fails: that is the effect too.
                let hit = probes(&peer, t0).await.into_iter().find(|(s, e, ok)| {
                    !ok || kind
                        .slower_than_ms()
                        .is_some_and(|ms| e - s > u128::from(ms) * 1_000_000)
                });
                if let Some((s, e, ok)) = hit {
                    if kind.slower_than_ms().is_some() {
                        slowed.push(Duration::from_nanos((e - s) as u64));
                        failed += usize::from(!ok);
                    }
                    break Duration::from_nanos((s - t0) as u64);
                }
                assert!(
                    Instant::now() < deadline,
                    "{kind:?}: no effect seen in 15 s"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            effect.push(seen);
            if let Some(mut f) = net_fault {
                faults.heal(&mut f).await.unwrap();
            }
            if let Some(mut f) = proc_fault {
                processes.heal(&mut f).await.unwrap();
            }
            if let Ok(s) = Arc::try_unwrap(server) {
                s.remove().await.unwrap();
            }
        }
        let detail = if slowed.is_empty() {
            String::new()
        } else {
            format!(
                "; first affected download {:.0} ms, {failed} of {N} timed out",
                ms(median(slowed))
            )
        };
        println!(
            "  {:<30} effect {:>6.0} ms after the request (call returned after {:.0} ms{detail})",
            kind.label(),
            ms(median(effect)),
            ms(median(call))
        );
    }
    println!(
        "  (first fault in a target: its helper starts, {:.0} ms median; a probe every {:.1} ms \
         median, the resolution of these numbers)",
        ms(median(helper_start)),
        ms(median(periods))
    );
    peer.remove().await.unwrap();
}
