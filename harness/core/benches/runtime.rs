//! Benchmark (not a test): what the runtime layer costs against a real engine.
//!
//! - container start: `ContainerSpec::start` (testcontainers + labels + image check) against
//!   `docker run -d` of the same image and command (the floor), medians of N runs;
//! - network fault injection latency: from the call to the first request that fails, and heal
//!   latency: from the heal call to the first request that succeeds again;
//! - peak RSS of this process.
//!
//! Run: `cargo bench -p ordeal --bench runtime` (needs Docker and `ordeal images build --profile smoke`).

mod common;

use std::{
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use ordeal::{
    fault::{Direction, NetFaults},
    images::{Recipes, default_recipes_dir},
    runtime::{ContainerSpec, Engine, Network, NetworkSpec, RunId, cleanup},
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
    let faults = NetFaults::new(engine.clone(), run.clone(), helper);
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
    cleanup::remove_run(&engine, &run, None).await.unwrap();
    println!(
        "peak RSS of the benchmark process: {} MiB",
        common::peak_rss_kib() / 1024
    );
}
