//! The smoke cases.

use std::{net::Ipv4Addr, sync::Arc, time::Duration};

use ordeal::{
    check::{CaseError, Observed, consistently, eventually},
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
        .control("the server container starts without its HTTP server"),
        Case::new(
            "smoke::exec::effect_visible_from_peer",
            "a file written by exec in one container is served to a peer container",
            exec_visible,
        )
        .control("the exec writes the token somewhere the server does not serve"),
        Case::new(
            "smoke::kill::peer_sees_server_gone",
            "SIGKILL stops the server: the peer's requests fail and the exit code is 137",
            kill_seen,
        )
        .control("the kill is not sent"),
        Case::new(
            "smoke::pause::peer_requests_hang_until_unpause",
            "a paused server answers no request for the whole pause and answers again after unpause",
            pause_seen,
        )
        .control("the pause is not applied"),
        Case::new(
            "smoke::network::disconnect_cuts_and_reconnect_restores",
            "a server disconnected from the network is unreachable, and reachable again after reconnect",
            disconnect_seen,
        )
        .control("the disconnect is not done"),
    ]
    .into_iter()
    .map(|c| c.images(&[IMAGE]).timeout(Duration::from_secs(180)))
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
