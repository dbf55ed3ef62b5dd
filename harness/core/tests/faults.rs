//! Network and process faults against real containers: the effect is observed from another
//! container, it is gone after heal, and a heal removes only its own fault's rules.

use std::{net::Ipv4Addr, sync::Arc, time::Duration};

use ordeal::{
    Error,
    fault::{Direction, NetFaults, ProcessFaults},
    images::{Recipes, default_recipes_dir},
    runtime::{Container, ContainerSpec, Engine, Network, NetworkSpec, RunId, cleanup},
};

/// Whether `check` holds within `tries` attempts, `every` apart.
async fn within<F, Fut>(tries: usize, every: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..tries {
        if check().await {
            return true;
        }
        tokio::time::sleep(every).await;
    }
    false
}

struct Lab {
    engine: Engine,
    run: RunId,
    faults: NetFaults,
    processes: ProcessFaults,
    nodes: Vec<(Arc<Container>, Ipv4Addr)>,
    /// The network's Docker name.
    net: String,
}

/// A node's default script: serve its name (`/www/id`) over HTTP on port 8080.
fn serve(name: &str) -> String {
    format!("mkdir -p /www && echo {name} > /www/id && exec httpd -f -p 8080 -h /www")
}

impl Lab {
    /// `n` workload containers serving their name over HTTP on one internal network.
    async fn new(n: usize) -> Self {
        Self::with(n, serve).await
    }

    /// `n` workload containers running `script(name)` on one internal network.
    async fn with(n: usize, script: impl Fn(&str) -> String) -> Self {
        let engine = Engine::connect().await.unwrap();
        let run = RunId::generate();
        let recipes = Recipes::load(&default_recipes_dir()).unwrap();
        let (workload, helper) = (
            recipes.reference("workload").unwrap(),
            recipes.reference("fault-helper").unwrap(),
        );
        let spec = NetworkSpec {
            name: "faults".into(),
            internal: true,
            case: None,
            labels: Vec::new(),
        };
        let net = Network::create(&engine, &run, &spec).await.unwrap();
        let mut nodes = Vec::new();
        for i in 0..n {
            let name = format!("n{i}");
            let c = ContainerSpec::new(&name, &workload, "workload")
                .network(&net.name)
                .shell(script(&name))
                .start(&engine, &run)
                .await
                .unwrap();
            let ip = c.ip(&net.name).await.unwrap();
            nodes.push((Arc::new(c), ip));
        }
        let faults = NetFaults::new(engine.clone(), run.clone(), helper.clone());
        let processes = ProcessFaults::new(engine.clone(), run.clone(), helper);
        Self {
            engine,
            run,
            faults,
            processes,
            nodes,
            net: net.name.clone(),
        }
    }

    /// Whether node `from` gets node `to`'s id over HTTP within 2 s.
    async fn reaches(&self, from: usize, to: usize) -> bool {
        self.reaches_port(from, to, 8080).await
    }

    /// Whether node `from` gets node `to`'s id over HTTP on `port` within 2 s.
    async fn reaches_port(&self, from: usize, to: usize, port: u16) -> bool {
        let url = format!("http://{}:{port}/id", self.nodes[to].1);
        let out = self.nodes[from]
            .0
            .exec(["timeout", "2", "wget", "-q", "-O", "-", url.as_str()])
            .await
            .unwrap();
        out.success() && out.stdout.trim() == format!("n{to}")
    }

    async fn eventually_reaches(&self, from: usize, to: usize) -> bool {
        within(20, Duration::from_millis(200), || self.reaches(from, to)).await
    }

    async fn done(self) {
        cleanup::remove_run(&self.engine, &self.run, None)
            .await
            .unwrap();
        assert!(
            cleanup::inventory(&self.engine, Some(&self.run), None)
                .await
                .unwrap()
                .values()
                .all(|l| l.is_empty())
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Docker engine and built images: run ci/test"]
async fn isolating_a_peer_cuts_only_that_peer_and_heal_restores_it() {
    let lab = Lab::new(3).await;
    assert!(
        lab.eventually_reaches(0, 1).await && lab.eventually_reaches(2, 1).await,
        "baseline"
    );
    let target = lab.nodes[1].0.clone();

    let mut f = lab
        .faults
        .drop_between(&target, &[lab.nodes[0].1], Direction::Both)
        .await
        .unwrap();
    assert!(!lab.reaches(0, 1).await, "n0 is cut from n1");
    assert!(lab.reaches(2, 1).await, "n2 is not");
    assert_eq!(lab.faults.count_rules(&target, &f).await.unwrap(), 2);

    lab.faults.heal(&mut f).await.unwrap();
    assert_eq!(lab.faults.count_rules(&target, &f).await.unwrap(), 0);
    assert!(lab.eventually_reaches(0, 1).await, "healed");
    lab.faults.heal(&mut f).await.unwrap();
    assert!(f.is_healed(), "healing twice is harmless");
    lab.done().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Docker engine and built images: run ci/test"]
async fn a_heal_removes_only_its_own_rules() {
    let lab = Lab::new(3).await;
    assert!(lab.eventually_reaches(0, 1).await);
    let target = lab.nodes[1].0.clone();
    let mut from0 = lab
        .faults
        .drop_between(&target, &[lab.nodes[0].1], Direction::Inbound)
        .await
        .unwrap();
    let mut from2 = lab
        .faults
        .drop_between(&target, &[lab.nodes[2].1], Direction::Inbound)
        .await
        .unwrap();
    assert!(!lab.reaches(0, 1).await && !lab.reaches(2, 1).await);

    lab.faults.heal(&mut from0).await.unwrap();
    assert!(lab.eventually_reaches(0, 1).await, "its own rule is gone");
    assert!(!lab.reaches(2, 1).await, "the other fault's rule stays");
    assert_eq!(lab.faults.count_rules(&target, &from2).await.unwrap(), 1);

    lab.faults.heal(&mut from2).await.unwrap();
    assert!(lab.eventually_reaches(2, 1).await);
    lab.done().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Docker engine and built images: run ci/test"]
async fn a_two_group_partition_cuts_across_but_not_within() {
    let lab = Lab::new(3).await;
    assert!(lab.eventually_reaches(1, 2).await && lab.eventually_reaches(0, 1).await);
    let groups = vec![
        vec![lab.nodes[0].clone()],
        vec![lab.nodes[1].clone(), lab.nodes[2].clone()],
    ];
    let mut f = lab.faults.partition(&groups).await.unwrap();
    assert!(
        !lab.reaches(0, 1).await && !lab.reaches(0, 2).await && !lab.reaches(2, 0).await,
        "across: cut"
    );
    assert!(
        lab.reaches(1, 2).await && lab.reaches(2, 1).await,
        "within the majority: fine"
    );
    lab.faults.heal(&mut f).await.unwrap();
    assert!(
        lab.eventually_reaches(0, 1).await && lab.eventually_reaches(2, 0).await,
        "healed"
    );
    lab.done().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Docker engine and built images: run ci/test"]
async fn packet_loss_drops_about_the_requested_share() {
    let lab = Lab::new(2).await;
    assert!(lab.eventually_reaches(0, 1).await);
    let target = lab.nodes[1].0.clone();
    let ping = format!(
        "ping -c 60 -i 0.05 -W 1 {} | grep 'packet loss'",
        lab.nodes[1].1
    );

    let mut f = lab.faults.loss(&target, 0.5).await.unwrap();
    let out = lab.nodes[0].0.sh(&ping).await.unwrap();
    let loss: f64 = out
        .stdout
        .split(',')
        .find(|p| p.contains("packet loss"))
        .and_then(|p| p.trim().split('%').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("ping summary: {}", out.stdout));
    // 60 echo requests at p=0.5: the 99.9% interval of the binomial is about 30%..70%.
    assert!(
        (25.0..=75.0).contains(&loss),
        "observed {loss}% loss for 50% requested"
    );

    lab.faults.heal(&mut f).await.unwrap();
    let out = lab.nodes[0].0.sh(&ping).await.unwrap();
    assert!(
        out.stdout.contains(" 0% packet loss"),
        "healed: {}",
        out.stdout
    );
    lab.done().await;
}

/// Average ping round trip from node `from` to node `to`, in milliseconds.
async fn rtt_ms(lab: &Lab, from: usize, to: usize) -> f64 {
    let out = lab.nodes[from]
        .0
        .sh(&format!("ping -c 20 -i 0.1 -W 2 {}", lab.nodes[to].1))
        .await
        .unwrap();
    // busybox: "round-trip min/avg/max = 0.080/0.112/0.201 ms"
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("min/avg/max"))
        .unwrap_or_else(|| panic!("ping: {}", out.stdout));
    line.split('=')
        .nth(1)
        .unwrap()
        .trim()
        .split('/')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Docker engine and built images: run ci/test"]
async fn latency_adds_the_requested_delay_within_20_percent_and_heals() {
    let lab = Lab::new(2).await;
    assert!(lab.eventually_reaches(0, 1).await);
    let before = rtt_ms(&lab, 0, 1).await;
    let target = lab.nodes[1].0.clone();

    let mut f = lab
        .faults
        .latency(&target, Duration::from_millis(100))
        .await
        .unwrap();
    let during = rtt_ms(&lab, 0, 1).await;
    let added = during - before;
    eprintln!("latency: requested 100 ms, measured +{added:.1} ms ({before:.2} -> {during:.1} ms)");
    assert!(
        (80.0..=120.0).contains(&added),
        "requested 100 ms, measured +{added:.1} ms ({before:.1} -> {during:.1})"
    );
    assert!(lab.reaches(0, 1).await, "delayed, not cut: TCP still works");

    lab.faults.heal(&mut f).await.unwrap();
    let after = rtt_ms(&lab, 0, 1).await;
    assert!(
        after < before + 20.0,
        "healed: {after:.1} ms vs {before:.1} ms before"
    );
    assert_eq!(lab.faults.count_rules(&target, &f).await.unwrap(), 0);
    lab.done().await;
}

/// Whether the SYN of a connection attempt from `from` arrives at `to`: `from` starts one (in
/// the background, for 3 s) and `to` is polled for a half-open connection (SYN_RECV) from it,
/// which it holds while its answers do not get back.
async fn syn_arrives(lab: &Lab, from: usize, to: usize) -> bool {
    let url = format!("http://{}:8080/id", lab.nodes[to].1);
    lab.nodes[from]
        .0
        .sh(&format!(
            "timeout 3 wget -q -O /dev/null {url} >/dev/null 2>&1 &"
        ))
        .await
        .unwrap();
    let peer = format!("{}:", lab.nodes[from].1);
    for _ in 0..10 {
        let out = lab.nodes[to].0.sh("netstat -tn").await.unwrap();
        if out
            .stdout
            .lines()
            .any(|l| l.contains("SYN_RECV") && l.contains(&peer))
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Docker engine and built images: run ci/test"]
async fn a_one_way_partition_drops_one_direction_only() {
    let lab = Lab::new(2).await;
    assert!(lab.eventually_reaches(0, 1).await && lab.eventually_reaches(1, 0).await);
    let a = lab.nodes[0].0.clone();
    // A -> B dropped, B -> A allowed.
    let mut f = lab
        .faults
        .drop_between(&a, &[lab.nodes[1].1], Direction::Outbound)
        .await
        .unwrap();
    assert!(!lab.reaches(0, 1).await, "A's requests never reach B");
    assert!(!syn_arrives(&lab, 0, 1).await, "B never sees A's SYN");
    assert!(
        !lab.reaches(1, 0).await,
        "B's request fails too: A's answer is dropped"
    );
    assert!(
        syn_arrives(&lab, 1, 0).await,
        "but B's packets do arrive at A: A holds B's connection half-open"
    );
    lab.faults.heal(&mut f).await.unwrap();
    assert!(lab.eventually_reaches(0, 1).await && lab.eventually_reaches(1, 0).await);
    assert_eq!(lab.faults.count_rules(&a, &f).await.unwrap(), 0);
    lab.done().await;
}

/// Every ordered pair `(a, b)` of distinct nodes among `0..n`.
fn ordered_pairs(n: usize) -> Vec<(usize, usize)> {
    (0..n)
        .flat_map(|a| (0..n).filter(move |b| *b != a).map(move |b| (a, b)))
        .collect()
}

/// Every ordered pair `(from, to)` of `pairs`, checked concurrently: whether `from` reaches `to`.
async fn reach_all(lab: &Lab, pairs: &[(usize, usize)]) -> Vec<bool> {
    futures::future::join_all(pairs.iter().map(|(a, b)| lab.reaches(*a, *b))).await
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Docker engine and built images: run ci/test"]
async fn a_majority_minority_split_cuts_two_from_three() {
    let lab = Lab::new(5).await;
    let all = ordered_pairs(5);
    assert!(lab.eventually_reaches(0, 4).await);
    assert!(reach_all(&lab, &all).await.iter().all(|r| *r), "baseline");
    let mut f = lab.faults.partition_halves(&lab.nodes).await.unwrap();
    let side = |n: usize| n < 2;
    let got = reach_all(&lab, &all).await;
    for ((a, b), r) in all.iter().zip(&got) {
        assert_eq!(
            *r,
            side(*a) == side(*b),
            "n{a} -> n{b}: minority {{n0, n1}}, majority {{n2, n3, n4}}"
        );
    }
    lab.faults.heal(&mut f).await.unwrap();
    assert!(lab.eventually_reaches(0, 4).await);
    assert!(reach_all(&lab, &all).await.iter().all(|r| *r), "healed");
    lab.done().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Docker engine and built images: run ci/test"]
async fn a_bridge_node_sees_both_halves_which_do_not_see_each_other() {
    let lab = Lab::new(5).await;
    let all = ordered_pairs(5);
    assert!(lab.eventually_reaches(0, 4).await);
    let mut f = lab.faults.bridge(&lab.nodes).await.unwrap();
    // {n0, n1} | n2 | {n3, n4}
    let half = |n: usize| match n {
        0 | 1 => Some(0),
        2 => None,
        _ => Some(1),
    };
    let got = reach_all(&lab, &all).await;
    for ((a, b), r) in all.iter().zip(&got) {
        let expect = match (half(*a), half(*b)) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        };
        assert_eq!(*r, expect, "n{a} -> n{b} with n2 the bridge");
    }
    lab.faults.heal(&mut f).await.unwrap();
    assert!(lab.eventually_reaches(0, 3).await && lab.eventually_reaches(4, 1).await);
    assert!(reach_all(&lab, &all).await.iter().all(|r| *r), "healed");
    assert!(
        matches!(
            lab.faults.bridge(&lab.nodes[..2]).await,
            Err(Error::Usage(_))
        ),
        "a bridge needs 3 nodes"
    );
    lab.done().await;
}

/// Node `from` downloads `bytes` of zeros from node `to` (served from `/www/big`) and returns
/// the throughput in bits per second, timed inside `from` (`/proc/uptime`, 10 ms steps).
async fn throughput(lab: &Lab, from: usize, to: usize, bytes: usize) -> f64 {
    lab.nodes[to]
        .0
        .sh(&format!(
            "[ \"$(wc -c < /www/big 2>/dev/null)\" = {bytes} ] || head -c {bytes} /dev/zero > /www/big"
        ))
        .await
        .unwrap();
    let script = format!(
        "a=$(cut -d' ' -f1 /proc/uptime); timeout 60 wget -q -O /dev/null http://{}:8080/big || exit 1; \
         b=$(cut -d' ' -f1 /proc/uptime); echo $a $b",
        lab.nodes[to].1
    );
    let out = lab.nodes[from].0.sh(&script).await.unwrap();
    assert!(out.success(), "download: {}", out.summary());
    let t: Vec<f64> = out
        .stdout
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let secs = (t[1] - t[0]).max(0.01);
    bytes as f64 * 8.0 / secs
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Docker engine and built images: run ci/test"]
async fn bandwidth_limits_the_targets_egress_within_20_percent_and_heals() {
    let lab = Lab::new(2).await;
    assert!(lab.eventually_reaches(0, 1).await);
    let target = lab.nodes[1].0.clone();
    for (rate, bytes) in [(1_000_000u64, 500_000usize), (8_000_000, 4_000_000)] {
        let before = throughput(&lab, 0, 1, bytes).await;
        let mut f = lab.faults.bandwidth(&target, rate).await.unwrap();
        let during = throughput(&lab, 0, 1, bytes).await;
        eprintln!(
            "bandwidth: requested {:.1} Mbit/s, measured {:.2} Mbit/s (before {:.0} Mbit/s)",
            rate as f64 / 1e6,
            during / 1e6,
            before / 1e6
        );
        assert!(
            (0.8..=1.2).contains(&(during / rate as f64)),
            "requested {rate} bit/s, a peer measured {during:.0} bit/s"
        );
        // A second limit on the same target is refused and changes nothing.
        assert!(lab.faults.bandwidth(&target, rate / 2).await.is_err());
        assert_eq!(
            lab.faults.count_rules(&target, &f).await.unwrap(),
            1,
            "one marker per interface"
        );
        lab.faults.heal(&mut f).await.unwrap();
        let after = throughput(&lab, 0, 1, bytes).await;
        assert!(
            after > 3.0 * rate as f64,
            "healed: {after:.0} bit/s after, {before:.0} before, {rate} limited"
        );
        assert_eq!(lab.faults.count_rules(&target, &f).await.unwrap(), 0);
        lab.faults.heal(&mut f).await.unwrap();
        assert!(f.is_healed(), "healing twice is harmless");
    }
    lab.done().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Docker engine and built images: run ci/test"]
async fn a_killed_process_stays_dead_under_its_supervisor_until_heal() {
    // n1: `busybox httpd` on 8080 is the main process (named `busybox`); `httpd` on 9000 runs
    // under a restart loop that starts it again 0.5 s after it exits.
    let lab = Lab::with(2, |name| {
        format!(
            "mkdir -p /www && echo {name} > /www/id && \
             (while :; do httpd -f -p 9000 -h /www; sleep 0.5; done) & \
             exec busybox httpd -f -p 8080 -h /www"
        )
    })
    .await;
    assert!(lab.eventually_reaches(0, 1).await);
    let target = lab.nodes[1].0.clone();
    let up = within(20, Duration::from_millis(100), || {
        lab.reaches_port(0, 1, 9000)
    })
    .await;
    assert!(up, "baseline: the supervised server answers");

    let mut f = lab.processes.kill_process(&target, "httpd").await.unwrap();
    assert_eq!(f.killed.len(), 1, "{}", f.description);
    assert!(
        !lab.reaches_port(0, 1, 9000).await,
        "the killed server is gone"
    );
    assert!(
        lab.reaches(0, 1).await,
        "the container's other process still serves"
    );
    // Past the supervisor's restart: its restart was killed and the supervisor stopped.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        lab.processes.stopped_supervisors(&f).await.unwrap().len(),
        1,
        "the restart loop tried, and was stopped"
    );
    for _ in 0..5 {
        assert!(!lab.reaches_port(0, 1, 9000).await, "held dead");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(lab.reaches(0, 1).await);

    lab.processes.heal(&mut f).await.unwrap();
    let back = within(30, Duration::from_millis(100), || {
        lab.reaches_port(0, 1, 9000)
    })
    .await;
    assert!(back, "healed: the supervisor started the server again");
    lab.processes.heal(&mut f).await.unwrap();
    assert!(f.is_healed(), "healing twice is harmless");

    // A run that dies mid-hold: removing its helper (what `ordeal clean` does with a dead run's
    // objects) resumes the supervisor it stopped.
    let other = RunId::generate();
    let helper = Recipes::load(&default_recipes_dir())
        .unwrap()
        .reference("fault-helper")
        .unwrap();
    let dying = ProcessFaults::new(lab.engine.clone(), other.clone(), helper);
    let f = dying.kill_process(&target, "httpd").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(dying.stopped_supervisors(&f).await.unwrap().len(), 1);
    assert!(!lab.reaches_port(0, 1, 9000).await, "held dead");
    // As if SIGKILLed: no destructor runs.
    std::mem::forget(f);
    std::mem::forget(dying);
    cleanup::remove_run(&lab.engine, &other, None)
        .await
        .unwrap();
    let back = within(30, Duration::from_millis(100), || {
        lab.reaches_port(0, 1, 9000)
    })
    .await;
    assert!(back, "the dead run's helper went, and its hold with it");

    for (name, why) in [("busybox", "PID 1"), ("nosuchprocess", "no process")] {
        let e = lab.processes.kill_process(&target, name).await.unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{name}: {e}");
        assert!(e.to_string().contains(&format!("`{name}`")), "{why}: {e}");
    }
    assert!(lab.reaches(0, 1).await && lab.reaches_port(0, 1, 9000).await);
    lab.done().await;
}

/// Whether an HTTP server answers `url` for `peer` within 2 s (any status: a 404 is an answer).
async fn answers(peer: &Container, url: &str) -> bool {
    let out = peer
        .exec(["timeout", "2", "wget", "-q", "-O", "/dev/null", url])
        .await
        .unwrap();
    out.success() || out.stderr.contains("server returned error")
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Docker engine and built images: run ci/test"]
async fn a_killed_mesos_agent_stays_down_under_its_pid_1_restart_loop_until_heal() {
    // A restartable agent as `MesosCluster::start_restartable` runs it: `mesos-agent` under a
    // shell loop that is the container's PID 1, which cannot be stopped from inside, so the
    // hold kills each restart on sight. No master: the agent serves HTTP on 5051 regardless.
    let lab = Lab::new(1).await;
    let mesos = Recipes::load(&default_recipes_dir())
        .unwrap()
        .reference("mesos")
        .unwrap();
    let mut spec = ContainerSpec::new("agent", &mesos, "mesos-agent")
        .network(&lab.net)
        .env("LIBPROCESS_IP", "0.0.0.0")
        .env("MESOS_MASTER", "10.255.255.1:5050")
        .env("MESOS_WORK_DIR", "/var/lib/mesos/agent")
        .env("MESOS_RUNTIME_DIR", "/var/run/mesos")
        .env("MESOS_LAUNCHER", "posix")
        .env("MESOS_ISOLATION", "posix/cpu,posix/mem")
        .env("MESOS_SYSTEMD_ENABLE_SUPPORT", "false")
        .env("MESOS_SWITCH_USER", "false");
    spec.entrypoint = Some("sh".into());
    spec.cmd = vec![
        "-c".into(),
        "while :; do mesos-agent; sleep 0.5; done".into(),
    ];
    let agent = Arc::new(spec.start(&lab.engine, &lab.run).await.unwrap());
    let url = format!("http://{}:5051/state", agent.ip(&lab.net).await.unwrap());
    let peer = &lab.nodes[0].0;
    let up = within(100, Duration::from_millis(100), || answers(peer, &url)).await;
    assert!(up, "baseline: the agent answers on 5051");

    let mut f = lab
        .processes
        .kill_process(&agent, "mesos-agent")
        .await
        .unwrap();
    // Across six of the loop's restarts: none gets to answer.
    for _ in 0..15 {
        assert!(!answers(peer, &url).await, "held down: {}", f.description);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        lab.processes
            .stopped_supervisors(&f)
            .await
            .unwrap()
            .is_empty(),
        "a PID 1 supervisor is not stopped"
    );
    let killed = lab.processes.restarts_killed(&f).await.unwrap();
    assert!(
        killed >= 3,
        "the loop restarted it, and the hold killed it, {killed} times"
    );
    assert!(agent.state().await.unwrap().0, "the container runs on");

    lab.processes.heal(&mut f).await.unwrap();
    let back = within(100, Duration::from_millis(100), || answers(peer, &url)).await;
    assert!(back, "healed: the restart loop's next mesos-agent answers");
    lab.done().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Docker engine and built images: run ci/test"]
async fn killed_and_stopped_nodes_are_unreachable_until_started_again() {
    let mut lab = Lab::new(2).await;
    assert!(lab.eventually_reaches(0, 1).await, "baseline");
    let target = lab.nodes[1].0.clone();

    target.kill("SIGKILL").await.unwrap();
    assert!(!lab.reaches(0, 1).await, "a killed node answers nothing");
    assert_eq!(target.state().await.unwrap(), (false, Some(137)));
    target.start().await.unwrap();
    lab.nodes[1].1 = target.ip(&lab.net).await.unwrap();
    assert!(
        lab.eventually_reaches(0, 1).await,
        "started again after the kill"
    );

    target.stop(Duration::from_secs(1)).await.unwrap();
    assert!(!lab.reaches(0, 1).await, "a stopped node answers nothing");
    assert!(!target.state().await.unwrap().0, "stopped");
    target.start().await.unwrap();
    lab.nodes[1].1 = target.ip(&lab.net).await.unwrap();
    assert!(
        lab.eventually_reaches(0, 1).await,
        "started again after the stop"
    );
    lab.done().await;
}
