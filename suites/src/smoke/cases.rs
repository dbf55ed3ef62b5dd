//! The smoke cases.

use std::{net::Ipv4Addr, sync::Arc, time::Duration};

use ordeal::{
    check::{CaseError, Observed, consistently, eventually},
    fault::Direction,
    run::{Case, CaseCtx},
    runtime::{Container, ContainerSpec},
};

const IMAGE: &str = "workload";
const PORT: u16 = 8080;
const POLL: Duration = Duration::from_millis(250);
const WINDOW: Duration = Duration::from_secs(20);

/// Every smoke case.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "smoke::start::server_reachable_from_peer",
            "a started container serves on the private network and a peer container reaches it",
            start_reachable,
        )
        .control("the server container starts without its HTTP server")
        .source("Docker Engine API 1.41 (ContainerCreate, ContainerStart, NetworkCreate); DESIGN.md (runtime contract)"),
        Case::new(
            "smoke::exec::effect_visible_from_peer",
            "a file written by exec in one container is served to a peer container",
            exec_visible,
        )
        .control("the exec writes the token somewhere the server does not serve")
        .source("Docker Engine API 1.41 (ContainerExec); DESIGN.md (runtime contract)"),
        Case::new(
            "smoke::kill::peer_sees_server_gone",
            "SIGKILL stops the server: the peer's requests fail and the exit code is 137",
            kill_seen,
        )
        .control("the kill is not sent")
        .source("Docker Engine API 1.41 (ContainerKill); Jepsen nemesis: kill"),
        Case::new(
            "smoke::pause::peer_requests_hang_until_unpause",
            "a paused server answers no request for the whole pause and answers again after unpause",
            pause_seen,
        )
        .control("the pause is not applied")
        .source("Docker Engine API 1.41 (ContainerPause: cgroup freezer); Jepsen nemesis: pause"),
        Case::new(
            "smoke::network::disconnect_cuts_and_reconnect_restores",
            "a server disconnected from the network is unreachable, and reachable again after reconnect",
            disconnect_seen,
        )
        .control("the disconnect is not done")
        .source("Docker Engine API 1.41 (NetworkDisconnect, NetworkConnect)"),
        Case::new(
            "smoke::partition::cut_peer_loses_server_others_keep_it",
            "iptables rules in the server's namespace cut one peer off while another still reaches it, until healed",
            partition_seen,
        )
        .control("the partition is not applied")
        .source("Jepsen nemesis: partition (iptables DROP per peer); iptables(8)"),
        Case::new(
            "smoke::latency::peer_round_trip_grows_by_the_delay",
            "a 100 ms userspace delay on the server adds 100 ms (within 20%) to a peer's round trip, and heals",
            latency_seen,
        )
        .control("the delay is not applied")
        .source("Jepsen nemesis: latency; ordeal-delay (NFQUEUE, no netem on this kernel)"),
    ]
    .into_iter()
    .map(|c| c.images(&[IMAGE, "fault-helper"]).timeout(Duration::from_secs(180)).smoke())
    .collect()
}

/// A server and a client on a fresh network of the case.
struct Pair {
    server: Arc<Container>,
    client: Arc<Container>,
    network: String,
    server_ip: Ipv4Addr,
    token: String,
}

impl Pair {
    async fn start(ctx: &CaseCtx, serve: bool) -> Result<Self, CaseError> {
        let image = ctx.image(IMAGE)?;
        let net = ctx.network("net", true).await?;
        let token = ctx.token();
        let server_cmd = if serve {
            format!("mkdir -p /www && echo {token} > /www/token && exec httpd -f -p {PORT} -h /www")
        } else {
            format!("mkdir -p /www && echo {token} > /www/token && exec sleep 3600")
        };
        let server = ctx
            .start(
                ContainerSpec::new("server", &image, "workload")
                    .network(&net.name)
                    .shell(server_cmd),
            )
            .await?;
        let client = ctx
            .start(
                ContainerSpec::new("client", &image, "workload")
                    .network(&net.name)
                    .shell("exec sleep 3600"),
            )
            .await?;
        let server_ip = match server.ip(&net.name).await {
            Ok(ip) => ip,
            Err(e) => {
                let (running, code) = server.state().await?;
                if running {
                    return Err(e.into());
                }
                let log = server.logs(5).await.unwrap_or_default();
                let code = code.map_or_else(|| "unknown".to_owned(), |c| c.to_string());
                return Err(CaseError::failed(format!(
                    "expected the server to keep running; it exited with code {code}; last log: {}",
                    log.trim()
                )));
            }
        };
        Ok(Self {
            server,
            client,
            network: net.name,
            server_ip,
            token,
        })
    }

    /// One request from the client for `path` on the server.
    async fn fetch(&self, path: &str) -> Result<Result<String, String>, ordeal::Error> {
        let url = format!("http://{}:{PORT}/{path}", self.server_ip);
        // busybox 1.35 (Debian, static) segfaults with `wget -T`: bound the request with `timeout`.
        let out = self
            .client
            .exec(["timeout", "3", "wget", "-q", "-O", "-", url.as_str()])
            .await?;
        Ok(if out.success() {
            Ok(out.stdout.trim().to_owned())
        } else {
            Err(out.summary())
        })
    }

    /// Waits until the client gets `expected` from `path`.
    async fn expect_served(
        &self,
        ctx: &CaseCtx,
        what: &str,
        path: &str,
        expected: &str,
    ) -> Result<(), CaseError> {
        eventually(what, WINDOW, POLL, || async {
            Ok(match self.fetch(path).await? {
                Ok(body) if body == expected => Observed::Holds(()),
                Ok(body) => Observed::Not(format!("served {body:?}")),
                Err(e) => Observed::Not(format!("request failed ({e})")),
            })
        })
        .await?;
        ctx.check_passed(what);
        Ok(())
    }

    /// Waits until the client's requests fail.
    async fn expect_unreachable(&self, ctx: &CaseCtx, what: &str) -> Result<(), CaseError> {
        eventually(what, WINDOW, POLL, || async {
            Ok(match self.fetch("token").await? {
                Ok(body) => Observed::Not(format!("still served {body:?}")),
                Err(_) => Observed::Holds(()),
            })
        })
        .await?;
        ctx.check_passed(what);
        Ok(())
    }
}

async fn start_reachable(ctx: CaseCtx) -> Result<(), CaseError> {
    let pair = Pair::start(&ctx, !ctx.negative_control()).await?;
    pair.expect_served(
        &ctx,
        "the client to fetch the server's token",
        "token",
        &pair.token,
    )
    .await
}

async fn exec_visible(ctx: CaseCtx) -> Result<(), CaseError> {
    let pair = Pair::start(&ctx, true).await?;
    let fresh = ctx.token();
    let dir = if ctx.negative_control() {
        "/tmp"
    } else {
        "/www"
    };
    ctx.step(format!("exec in server: write {fresh} to {dir}/fresh"));
    let out = pair
        .server
        .sh(&format!("echo {fresh} > {dir}/fresh"))
        .await?;
    if !out.success() {
        return Err(CaseError::Infra(format!(
            "exec in server failed: {}",
            out.summary()
        )));
    }
    pair.expect_served(
        &ctx,
        "the client to fetch the token written by exec",
        "fresh",
        &fresh,
    )
    .await
}

async fn kill_seen(ctx: CaseCtx) -> Result<(), CaseError> {
    let pair = Pair::start(&ctx, true).await?;
    pair.expect_served(
        &ctx,
        "the server to serve before the kill",
        "token",
        &pair.token,
    )
    .await?;
    if !ctx.negative_control() {
        pair.server.kill("SIGKILL").await?;
        ctx.fault_injected("kill", "server");
    }
    pair.expect_unreachable(&ctx, "the client's requests to fail after SIGKILL")
        .await?;
    let state = eventually(
        "the server to have exited with 137",
        WINDOW,
        POLL,
        || async {
            Ok(match pair.server.state().await? {
                (false, Some(137)) => Observed::Holds(()),
                (running, code) => Observed::Not(format!("running={running} exit_code={code:?}")),
            })
        },
    )
    .await;
    state?;
    ctx.check_passed("server exited with 137");
    Ok(())
}

async fn pause_seen(ctx: CaseCtx) -> Result<(), CaseError> {
    let pair = Pair::start(&ctx, true).await?;
    pair.expect_served(
        &ctx,
        "the server to serve before the pause",
        "token",
        &pair.token,
    )
    .await?;
    if !ctx.negative_control() {
        pair.server.pause().await?;
        ctx.fault_injected("pause", "server");
    }
    let held = consistently(
        "every request to the paused server to fail",
        Duration::from_secs(5),
        POLL,
        || async {
            Ok(match pair.fetch("token").await? {
                Ok(body) => Observed::Not(format!("served {body:?} while paused")),
                Err(_) => Observed::Holds(()),
            })
        },
    )
    .await;
    if !ctx.negative_control() {
        pair.server.unpause().await?;
        ctx.fault_healed("pause", "server");
    }
    held?;
    ctx.check_passed("paused server answered nothing for 5 s");
    pair.expect_served(
        &ctx,
        "the server to serve again after unpause",
        "token",
        &pair.token,
    )
    .await
}

async fn disconnect_seen(ctx: CaseCtx) -> Result<(), CaseError> {
    let pair = Pair::start(&ctx, true).await?;
    pair.expect_served(
        &ctx,
        "the server to serve before the disconnect",
        "token",
        &pair.token,
    )
    .await?;
    if !ctx.negative_control() {
        pair.server.disconnect(&pair.network).await?;
        ctx.fault_injected("disconnect", "server");
    }
    let cut = pair
        .expect_unreachable(&ctx, "the client's requests to fail while disconnected")
        .await;
    if !ctx.negative_control() {
        pair.server
            .connect(&pair.network, Some(pair.server_ip))
            .await?;
        ctx.fault_healed("disconnect", "server");
    }
    cut?;
    pair.expect_served(
        &ctx,
        "the server to serve again after reconnect (same address)",
        "token",
        &pair.token,
    )
    .await
}

async fn partition_seen(ctx: CaseCtx) -> Result<(), CaseError> {
    let pair = Pair::start(&ctx, true).await?;
    let image = ctx.image(IMAGE)?;
    let other = ctx
        .start(
            ContainerSpec::new("other", &image, "workload")
                .network(&pair.network)
                .shell("exec sleep 3600"),
        )
        .await?;
    pair.expect_served(
        &ctx,
        "the server to serve before the partition",
        "token",
        &pair.token,
    )
    .await?;
    let faults = ctx.net_faults()?;
    let client_ip = pair.client.ip(&pair.network).await?;
    let mut fault = None;
    if !ctx.negative_control() {
        fault = Some(
            faults
                .drop_between(&pair.server, &[client_ip], Direction::Both)
                .await?,
        );
        ctx.fault_injected("partition", "server | client");
    }
    let cut = pair
        .expect_unreachable(&ctx, "the client's requests to fail while partitioned")
        .await;
    let url = format!("http://{}:{PORT}/token", pair.server_ip);
    let other_ok = other
        .exec(["timeout", "3", "wget", "-q", "-O", "-", url.as_str()])
        .await?;
    if let Some(mut f) = fault {
        faults.heal(&mut f).await?;
        ctx.fault_healed("partition", "server | client");
    }
    cut?;
    if other_ok.stdout.trim() != pair.token {
        return Err(CaseError::failed(format!(
            "expected a peer outside the partition to still reach the server; observed {}",
            other_ok.summary()
        )));
    }
    ctx.check_passed("a peer outside the partition still reached the server");
    pair.expect_served(
        &ctx,
        "the client to reach the server again after the heal",
        "token",
        &pair.token,
    )
    .await
}

/// Average ping round trip from `from` to `ip`, in milliseconds.
async fn rtt_ms(from: &Container, ip: Ipv4Addr) -> Result<f64, CaseError> {
    let out = from.sh(&format!("ping -c 10 -i 0.1 -W 2 {ip}")).await?;
    out.stdout
        .lines()
        .find(|l| l.contains("min/avg/max"))
        .and_then(|l| l.split('=').nth(1))
        .and_then(|v| v.trim().split('/').nth(1))
        .and_then(|avg| avg.parse().ok())
        .ok_or_else(|| {
            CaseError::failed(format!(
                "ping from the client got no reply: {}",
                out.summary()
            ))
        })
}

async fn latency_seen(ctx: CaseCtx) -> Result<(), CaseError> {
    const DELAY_MS: f64 = 100.0;
    let pair = Pair::start(&ctx, true).await?;
    pair.expect_served(
        &ctx,
        "the server to serve before the delay",
        "token",
        &pair.token,
    )
    .await?;
    let before = rtt_ms(&pair.client, pair.server_ip).await?;
    let faults = ctx.net_faults()?;
    let mut fault = None;
    if !ctx.negative_control() {
        fault = Some(
            faults
                .latency(&pair.server, Duration::from_millis(100))
                .await?,
        );
        ctx.fault_injected("latency 100ms", "server");
    }
    let during = rtt_ms(&pair.client, pair.server_ip).await;
    if let Some(mut f) = fault {
        faults.heal(&mut f).await?;
        ctx.fault_healed("latency 100ms", "server");
    }
    let added = during? - before;
    let (lo, hi) = (DELAY_MS * 0.8, DELAY_MS * 1.2);
    if !(lo..=hi).contains(&added) {
        return Err(CaseError::failed(format!(
            "expected the round trip to grow by {DELAY_MS} ms (within {lo}..{hi}); observed +{added:.1} ms ({before:.2} -> {:.1} ms)",
            before + added
        )));
    }
    ctx.check_passed(&format!(
        "round trip grew by {added:.1} ms for a 100 ms delay"
    ));
    let after = rtt_ms(&pair.client, pair.server_ip).await?;
    if after > before + 20.0 {
        return Err(CaseError::failed(format!(
            "expected the delay gone after the heal; round trip still {after:.1} ms"
        )));
    }
    ctx.check_passed("round trip back to normal after the heal");
    Ok(())
}
