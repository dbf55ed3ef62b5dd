//! Bringing up real Mesos 1.11 inside a case: ZooKeeper, masters (replicated-log registry,
//! ZooKeeper election) and agents, each in its own container.

use std::{net::Ipv4Addr, sync::Arc, time::Duration};

use super::{Operator, api::Agent};
use crate::{
    Error, Result,
    check::{CaseError, Observed, eventually},
    progress::Step,
    run::CaseCtx,
    runtime::{Container, ContainerSpec},
};

/// A running Mesos cluster of one case.
#[derive(Debug)]
pub struct MesosCluster {
    /// ZooKeeper servers.
    pub zookeepers: Vec<Arc<Container>>,
    /// Masters, with the 127.0.0.1 URL of each one's HTTP API.
    pub masters: Vec<(Arc<Container>, String)>,
    /// Agents.
    pub agents: Vec<Arc<Container>>,
    /// The internal cluster network.
    pub network: String,
    /// Cluster addresses of the masters, in order.
    pub master_ips: Vec<Ipv4Addr>,
}

/// Agent resources, as `MESOS_RESOURCES` takes them.
pub const AGENT_RESOURCES: &str = "cpus:2;mem:1024;disk:4096;ports:[31000-32000]";

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Error::infra(format!("no free local port: {e}")))?;
    Ok(l.local_addr()
        .map_err(|e| Error::infra(e.to_string()))?
        .port())
}

impl MesosCluster {
    /// Starts one ZooKeeper, `masters` masters (quorum = majority) and `agents` agents with
    /// [`AGENT_RESOURCES`], and waits for a leader with every agent registered. Images:
    /// `mesos`, `zookeeper`.
    pub async fn start(ctx: &CaseCtx, masters: usize, agents: usize) -> Result<Self> {
        Self::start_with(ctx, masters, agents, AGENT_RESOURCES).await
    }

    /// Like [`Self::start`], with every agent advertising `resources`.
    pub async fn start_with(
        ctx: &CaseCtx,
        masters: usize,
        agents: usize,
        resources: &str,
    ) -> Result<Self> {
        Self::start_inner(ctx, masters, agents, resources, false).await
    }

    /// Like [`Self::start`], but each agent container runs `mesos-agent` under a shell loop
    /// that starts it again 0.5 s after its process dies, as a supervisor on a host would: a
    /// fault can then kill the agent *process* ([`Self::kill_agent_process`]) while its
    /// executors and tasks, which are not its children once it is gone, keep running.
    pub async fn start_restartable(ctx: &CaseCtx, masters: usize, agents: usize) -> Result<Self> {
        Self::start_inner(ctx, masters, agents, AGENT_RESOURCES, true).await
    }

    /// SIGKILLs the `mesos-agent` process in agent container `i` (not the container).
    pub async fn kill_agent_process(&self, i: usize) -> Result<()> {
        let out = self.agents[i].sh("pkill -9 -x mesos-agent").await?;
        if out.code != 0 {
            return Err(Error::infra(format!(
                "no mesos-agent process to kill in agent{}: {}",
                i + 1,
                out.summary()
            )));
        }
        Ok(())
    }

    async fn start_inner(
        ctx: &CaseCtx,
        masters: usize,
        agents: usize,
        resources: &str,
        restartable: bool,
    ) -> Result<Self> {
        let step = Step::start(format!(
            "{}: Mesos {masters} master(s) + {agents} agent(s)",
            ctx.name()
        ));
        let r = Self::bring_up(ctx, masters, agents, resources, restartable).await;
        step.finish(if r.is_ok() { "ready" } else { "failed" });
        r
    }

    async fn bring_up(
        ctx: &CaseCtx,
        n_masters: usize,
        n_agents: usize,
        resources: &str,
        restartable: bool,
    ) -> Result<Self> {
        let (mesos, zk_image) = (ctx.image("mesos")?, ctx.image("zookeeper")?);
        // `mgmt` carries the published master ports (so it cannot be internal); `cluster` is
        // internal and carries every Mesos message: processes bind 0.0.0.0 and advertise their
        // cluster address.
        let mgmt = ctx.network("mgmt", false).await?;
        let net = ctx.network("cluster", true).await?;
        let zk_ip = net.host(2);
        let mut zk = ContainerSpec::new("zk1", &zk_image, "zookeeper")
            .network(&mgmt.name)
            .env("ZK_ID", "1");
        zk.extra_networks = vec![(net.name.clone(), zk_ip)];
        let zookeeper = ctx.start(zk).await?;
        let zk_url = format!("zk://{zk_ip}:2181/mesos");
        eventually(
            "ZooKeeper to answer ruok",
            Duration::from_secs(60),
            Duration::from_millis(200),
            || async {
                let out = zookeeper.sh("echo ruok | busybox nc 127.0.0.1 2181").await;
                Ok(match out {
                    Ok(o) if o.stdout.contains("imok") => Observed::Holds(()),
                    Ok(o) => Observed::Not(o.summary()),
                    Err(e) => Observed::Not(e.to_string()),
                })
            },
        )
        .await
        .map_err(up_err)?;
        ctx.step("ZooKeeper ready");

        let quorum = n_masters / 2 + 1;
        let mut masters = Vec::new();
        let mut master_ips = Vec::new();
        for i in 1..=n_masters {
            let ip = net.host(u8::try_from(10 + i).map_err(|_| Error::usage("too many masters"))?);
            let port = free_port()?;
            let mut s = ContainerSpec::new(format!("master{i}"), &mesos, "mesos-master")
                .network(&mgmt.name)
                .cmd(["mesos-master"])
                .env("LIBPROCESS_IP", "0.0.0.0")
                .env("LIBPROCESS_ADVERTISE_IP", ip.to_string())
                .env("MESOS_HOSTNAME", ip.to_string())
                .env("MESOS_ZK", &zk_url)
                .env("MESOS_QUORUM", quorum.to_string())
                .env("MESOS_WORK_DIR", "/var/lib/mesos/master")
                .env("MESOS_REGISTRY", "replicated_log");
            s.extra_networks = vec![(net.name.clone(), ip)];
            s.ports = vec![(port, 5050)];
            masters.push((ctx.start(s).await?, format!("http://127.0.0.1:{port}")));
            master_ips.push(ip);
        }
        let mut agents = Vec::new();
        for i in 1..=n_agents {
            let ip = net.host(u8::try_from(20 + i).map_err(|_| Error::usage("too many agents"))?);
            let cmd: Vec<&str> = if restartable {
                vec!["sh", "-c", "while :; do mesos-agent; sleep 0.5; done"]
            } else {
                vec!["mesos-agent"]
            };
            let mut s = ContainerSpec::new(format!("agent{i}"), &mesos, "mesos-agent")
                .network(&mgmt.name)
                .cmd(cmd)
                .env("LIBPROCESS_IP", "0.0.0.0")
                .env("LIBPROCESS_ADVERTISE_IP", ip.to_string())
                .env("MESOS_HOSTNAME", ip.to_string())
                .env("MESOS_MASTER", &zk_url)
                .env("MESOS_WORK_DIR", "/var/lib/mesos/agent")
                .env("MESOS_RUNTIME_DIR", "/var/run/mesos")
                .env("MESOS_LAUNCHER", "posix")
                .env("MESOS_ISOLATION", "posix/cpu,posix/mem")
                .env("MESOS_SYSTEMD_ENABLE_SUPPORT", "false")
                .env("MESOS_SWITCH_USER", "false")
                .env("MESOS_RESOURCES", resources)
                .env("MESOS_ATTRIBUTES", format!("rack:r{i}"));
            s.extra_networks = vec![(net.name.clone(), ip)];
            agents.push(ctx.start(s).await?);
        }
        let cluster = Self {
            zookeepers: vec![zookeeper],
            masters,
            agents,
            network: net.name.clone(),
            master_ips,
        };
        let want = n_agents;
        eventually(
            "a leading master with every agent registered",
            Duration::from_secs(90),
            Duration::from_millis(300),
            || async {
                Ok(match cluster.leader().await {
                    Some((_, op)) => match op.agents().await {
                        Ok(a) if a.iter().filter(|a| a.active).count() == want => {
                            Observed::Holds(())
                        }
                        Ok(a) => Observed::Not(format!("{} of {want} agents registered", a.len())),
                        Err(e) => Observed::Not(e.to_string()),
                    },
                    None => Observed::Not("no master is leading yet".into()),
                })
            },
        )
        .await
        .map_err(up_err)?;
        ctx.step(format!("leader elected, {n_agents} agent(s) registered"));
        Ok(cluster)
    }

    /// The leading master (its index and operator client), if one answers as leader.
    pub async fn leader(&self) -> Option<(usize, Operator)> {
        for (i, (_, url)) in self.masters.iter().enumerate() {
            let op = Operator::new(url);
            if op.master().await.is_ok() {
                return Some((i, op));
            }
        }
        None
    }

    /// Registered agents, as the leader sees them.
    pub async fn agents(&self) -> Result<Vec<Agent>> {
        let (_, op) = self
            .leader()
            .await
            .ok_or_else(|| Error::infra("no leading master"))?;
        Ok(op.agents().await?)
    }
}

fn up_err(e: CaseError) -> Error {
    match e {
        CaseError::Failed(m) | CaseError::Infra(m) => {
            Error::infra(format!("Mesos cluster did not come up: {m}"))
        }
    }
}
