//! Bringing up real Mesos 1.11 inside a case: ZooKeeper, masters (replicated-log registry,
//! ZooKeeper election) and agents, each in its own container.

use std::{net::Ipv4Addr, sync::Arc, time::Duration};

use super::{
    MesosTarget, Operator,
    api::{Agent, Id},
};
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
    /// Agents (the containers running `mesos-agent`).
    pub agents: Vec<Arc<Container>>,
    /// With [`AgentMode::Sandboxed`], the sandbox of each agent: the container that owns its
    /// address, hostname and PID namespace, where its executors and tasks live. Else empty.
    pub sandboxes: Vec<Arc<Container>>,
    /// The internal cluster network.
    pub network: String,
    /// Cluster addresses of the masters, in order.
    pub master_ips: Vec<Ipv4Addr>,
    /// Cluster addresses of the agents, in order (each agent's `hostname` as the master
    /// reports it).
    pub agent_ips: Vec<Ipv4Addr>,
    /// How the agent containers run `mesos-agent`.
    pub agent_mode: AgentMode,
}

/// Agent resources, as `MESOS_RESOURCES` takes them.
pub const AGENT_RESOURCES: &str = "cpus:2;mem:1024;disk:4096;ports:[31000-32000]";

/// What [`MesosCluster::start_config`] brings up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MesosConfig {
    /// ZooKeeper servers: 1 (standalone) or an ensemble (3 or 5).
    pub zookeepers: usize,
    /// Masters (quorum = majority).
    pub masters: usize,
    /// Agents.
    pub agents: usize,
    /// What every agent advertises, as `MESOS_RESOURCES` takes it.
    pub resources: String,
    /// How agent containers run `mesos-agent`.
    pub agent_mode: AgentMode,
    /// Extra environment of every master: any master flag as `MESOS_<FLAG>`
    /// (`MESOS_AGENT_PING_TIMEOUT=2secs`). A variable the cluster sets itself (`MESOS_ZK`,
    /// `MESOS_QUORUM`...) is refused.
    pub master_env: Vec<(String, String)>,
}

impl MesosConfig {
    /// `masters` masters and `agents` plain agents with [`AGENT_RESOURCES`], the masters'
    /// default flags.
    pub fn new(masters: usize, agents: usize) -> Self {
        Self {
            zookeepers: 1,
            masters,
            agents,
            resources: AGENT_RESOURCES.into(),
            agent_mode: AgentMode::Plain,
            master_env: Vec::new(),
        }
    }
}

/// How agent containers run `mesos-agent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentMode {
    /// `mesos-agent` is the container's process; the container is the node.
    Plain,
    /// A shell loop restarts `mesos-agent` 0.5 s after it dies.
    Supervised,
    /// Two containers per node: a sandbox (init, network and PID namespaces) and the agent
    /// container joining them, whose executors move into the sandbox's cgroups.
    Sandboxed,
}

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
        Self::start_config(ctx, &MesosConfig::new(masters, agents)).await
    }

    /// Like [`Self::start`], with every agent advertising `resources`.
    pub async fn start_with(
        ctx: &CaseCtx,
        masters: usize,
        agents: usize,
        resources: &str,
    ) -> Result<Self> {
        let config = MesosConfig {
            resources: resources.into(),
            ..MesosConfig::new(masters, agents)
        };
        Self::start_config(ctx, &config).await
    }

    /// Like [`Self::start`], but each agent container runs `mesos-agent` under a shell loop
    /// that starts it again 0.5 s after its process dies, as a supervisor on a host would: a
    /// fault can then kill the agent *process* ([`Self::kill_agent_process`]) while its
    /// executors and tasks, which are not its children once it is gone, keep running.
    pub async fn start_restartable(ctx: &CaseCtx, masters: usize, agents: usize) -> Result<Self> {
        Self::start_mode(ctx, masters, agents, AgentMode::Supervised).await
    }

    /// Like [`Self::start`], but each agent is a node of two containers, so that the agent
    /// container can be restarted ([`Self::restart_agent_container`]) the way an agent
    /// service is restarted on a host: a sandbox (`agentN-node`: Docker's init as PID 1, the
    /// address, hostname and PID namespace) and the agent container (`agentN`) joining its
    /// network and PID namespaces. Executors leave the agent container's cgroups for the
    /// sandbox's (`/etc/ordeal/executor-cgroups` says `init`), so killing the agent container ends
    /// `mesos-agent` only; its work and runtime directories stay in the container's layer.
    pub async fn start_sandboxed(ctx: &CaseCtx, masters: usize, agents: usize) -> Result<Self> {
        Self::start_mode(ctx, masters, agents, AgentMode::Sandboxed).await
    }

    /// SIGKILLs agent container `i` and starts the same container again: same address and
    /// hostname (the sandbox's), same work directory. Needs [`Self::start_sandboxed`] for its
    /// tasks to survive.
    pub async fn restart_agent_container(&self, i: usize) -> Result<()> {
        let agent = &self.agents[i];
        agent.kill("KILL").await?;
        agent.start().await
    }

    /// SIGKILLs the `mesos-agent` process in agent container `i` (not the container). Refuses
    /// with [`AgentMode::Plain`], where `mesos-agent` is the container's PID 1 and ignores a
    /// SIGKILL sent from inside: kill the container then.
    pub async fn kill_agent_process(&self, i: usize) -> Result<()> {
        if self.agent_mode == AgentMode::Plain {
            return Err(Error::infra(format!(
                "cannot kill the mesos-agent process in agent{}: it is the container's PID 1, \
                 which ignores a SIGKILL from inside the container (kill the container instead)",
                i + 1
            )));
        }
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

    async fn start_mode(
        ctx: &CaseCtx,
        masters: usize,
        agents: usize,
        agent_mode: AgentMode,
    ) -> Result<Self> {
        let config = MesosConfig {
            agent_mode,
            ..MesosConfig::new(masters, agents)
        };
        Self::start_config(ctx, &config).await
    }

    /// Starts the cluster `config` describes and waits for a leader with every agent
    /// registered. Images: `mesos` (or `mesos-master` and `mesos-agent`), `zookeeper`.
    pub async fn start_config(ctx: &CaseCtx, config: &MesosConfig) -> Result<Self> {
        check_master_env(&config.master_env)?;
        // The `conformance` profile leaves the agent health check at the master's defaults.
        let defaults;
        let config = if ctx.component_defaults() {
            defaults = MesosConfig {
                master_env: without_fast_timings(&config.master_env),
                ..config.clone()
            };
            &defaults
        } else {
            config
        };
        let step = Step::start(format!(
            "{}: Mesos {} ZooKeeper(s) + {} master(s) + {} agent(s)",
            ctx.name(),
            config.zookeepers,
            config.masters,
            config.agents
        ));
        let r = Self::bring_up(ctx, config).await;
        step.finish(if r.is_ok() { "ready" } else { "failed" });
        r
    }

    async fn bring_up(ctx: &CaseCtx, config: &MesosConfig) -> Result<Self> {
        let (n_masters, n_agents) = (config.masters, config.agents);
        let (resources, mode) = (config.resources.as_str(), config.agent_mode);
        let (master_image, agent_image, zk_image) = (
            ctx.image("mesos-master")?,
            ctx.image("mesos-agent")?,
            ctx.image("zookeeper")?,
        );
        // `mgmt` (every container's first interface) and `cluster` (fixed addresses, every
        // Mesos message: processes bind 0.0.0.0 and advertise their cluster address) are
        // internal. Masters alone also join `api`, which publishes their port on 127.0.0.1 (a
        // published port needs a non-internal network), and join it last: `api` brings a
        // default route, and a ZooKeeper dial made before `cluster` is attached would leave by
        // it into Docker's isolation rules and hang in the client's back-off (a 10 s tail in
        // about one bring-up in six), where with internal networks only it fails at once.
        let mgmt = ctx.network("mgmt", true).await?;
        let api = ctx.network("api", false).await?;
        let net = ctx.network("cluster", true).await?;
        let n_zk = config.zookeepers;
        if n_zk == 0 || n_zk > 5 || n_zk.is_multiple_of(2) {
            return Err(Error::usage(format!(
                "{n_zk} ZooKeeper servers: use 1, 3 or 5 (an ensemble needs an odd size)"
            )));
        }
        let zk_ips: Vec<Ipv4Addr> = (0..n_zk)
            .map(|i| net.host(u8::try_from(2 + i).expect("at most 5")))
            .collect();
        let servers = zk_ips
            .iter()
            .enumerate()
            .map(|(i, ip)| format!("{}={ip}", i + 1))
            .collect::<Vec<_>>()
            .join(",");
        let mut zookeepers = Vec::new();
        for (i, ip) in zk_ips.iter().enumerate() {
            let mut zk = ContainerSpec::new(format!("zk{}", i + 1), &zk_image, "zookeeper")
                .network(&mgmt.name)
                .env("ZK_ID", (i + 1).to_string())
                .env("ZK_SERVERS", &servers);
            zk.extra_networks = vec![(net.name.clone(), *ip)];
            zookeepers.push(ctx.start(zk).await?);
        }
        let zk_url = format!(
            "zk://{}/mesos",
            zk_ips
                .iter()
                .map(|ip| format!("{ip}:2181"))
                .collect::<Vec<_>>()
                .join(",")
        );
        // `srvr` answers once the server serves clients: standalone, or in a quorum.
        eventually(
            "every ZooKeeper server to serve (standalone, or leader/follower of a quorum)",
            Duration::from_secs(90),
            Duration::from_millis(200),
            || async {
                for (i, zk) in zookeepers.iter().enumerate() {
                    let out = zk
                        .sh("echo srvr | timeout 2 busybox nc 127.0.0.1 2181")
                        .await;
                    match out {
                        Ok(o) if o.stdout.contains("Mode: ") => {}
                        Ok(o) => return Ok(Observed::Not(format!("zk{}: {}", i + 1, o.summary()))),
                        Err(e) => return Ok(Observed::Not(format!("zk{}: {e}", i + 1))),
                    }
                }
                Ok(Observed::Holds(()))
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
            let mut s = master_spec(&master_image, i, ip, &zk_url, quorum, &config.master_env)
                .network(&mgmt.name);
            s.extra_networks = vec![
                (net.name.clone(), ip),
                (
                    api.name.clone(),
                    api.host(u8::try_from(10 + i).expect("checked above")),
                ),
            ];
            s.ports = vec![(port, 5050)];
            masters.push((ctx.start(s).await?, format!("http://127.0.0.1:{port}")));
            master_ips.push(ip);
        }
        let mut agents = Vec::new();
        let mut agent_ips = Vec::new();
        let mut sandboxes = Vec::new();
        for i in 1..=n_agents {
            let ip = net.host(u8::try_from(20 + i).map_err(|_| Error::usage("too many agents"))?);
            let mut s = agent_spec(&agent_image, i, ip, &zk_url, resources, mode);
            if mode == AgentMode::Sandboxed {
                let mut node =
                    ContainerSpec::new(format!("agent{i}-node"), &agent_image, "mesos-node")
                        .network(&mgmt.name)
                        .cmd(["sleep", "infinity"]);
                node.hostname = Some(format!("agent{i}"));
                node.init = true;
                node.extra_networks = vec![(net.name.clone(), ip)];
                let node = ctx.start(node).await?;
                let shared = format!("container:{}", node.docker_name());
                s = s.network(shared.clone());
                s.pid = Some(shared);
                s.files = vec![(
                    "/etc/ordeal/executor-cgroups".into(),
                    0o644,
                    b"init\n".to_vec(),
                )];
                // To mount the cgroup hierarchies the executors move through.
                s.cap_add = vec!["SYS_ADMIN".into()];
                sandboxes.push(node);
            } else {
                s = s.network(&mgmt.name);
                s.extra_networks = vec![(net.name.clone(), ip)];
            }
            agents.push(ctx.start(s).await?);
            agent_ips.push(ip);
        }
        let cluster = Self {
            zookeepers,
            masters,
            agents,
            sandboxes,
            network: net.name.clone(),
            master_ips,
            agent_ips,
            agent_mode: mode,
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

    /// The handle checks work through: the leading master, framework `framework` in the
    /// default role. An infrastructure error if no master leads.
    pub async fn target(&self, framework: &str) -> Result<MesosTarget> {
        let (i, _) = self
            .leader()
            .await
            .ok_or_else(|| Error::infra("no Mesos master leads"))?;
        Ok(MesosTarget::new(&self.masters[i].1, framework, None))
    }

    /// Holds when the leader lists agent `id` active and re-registered after `since` (the agent
    /// came back with its identity); else says what the leader shows of it.
    pub async fn agent_reregistered_since(
        &self,
        id: &super::api::Id,
        since: std::time::SystemTime,
    ) -> Result<Observed<()>> {
        let agents = self.agents().await?;
        Ok(
            match agents.iter().find(|a| a.agent_info.id.as_ref() == Some(id)) {
                Some(a)
                    if a.active && a.reregistered_time.is_some_and(|t| t.system_time() > since) =>
                {
                    Observed::Holds(())
                }
                Some(a) => Observed::Not(format!(
                    "agent {} active={}, last re-registered {:?}",
                    id.value,
                    a.active,
                    a.reregistered_time.map(|t| t.system_time())
                )),
                None => Observed::Not(format!(
                    "agent {} not among the {} registered agents",
                    id.value,
                    agents.len()
                )),
            },
        )
    }

    /// Registered agents, as the leader sees them.
    pub async fn agents(&self) -> Result<Vec<Agent>> {
        let (_, op) = self
            .leader()
            .await
            .ok_or_else(|| Error::infra("no leading master"))?;
        Ok(op.agents().await?)
    }

    /// The id the leader gave agent `i` (from 0), found by its address.
    pub async fn agent_id(&self, i: usize) -> Result<Id> {
        let ip = self
            .agent_ips
            .get(i)
            .ok_or_else(|| Error::usage(format!("no agent{} in this cluster", i + 1)))?
            .to_string();
        let agents = self.agents().await?;
        agents
            .iter()
            .find(|a| a.agent_info.hostname == ip)
            .and_then(|a| a.agent_info.id.clone())
            .ok_or_else(|| {
                Error::infra(format!(
                    "agent{} ({ip}) is not registered with the leader; registered: {:?}",
                    i + 1,
                    agents
                        .iter()
                        .map(|a| a.agent_info.hostname.as_str())
                        .collect::<Vec<_>>()
                ))
            })
    }
}

/// Variables every master gets from the cluster itself: `master_env` may not set them.
const MASTER_OWN_ENV: &[&str] = &[
    "LIBPROCESS_IP",
    "LIBPROCESS_ADVERTISE_IP",
    "MESOS_HOSTNAME",
    "MESOS_ZK",
    "MESOS_QUORUM",
    "MESOS_WORK_DIR",
    "MESOS_REGISTRY",
];

/// The master flags a case sets only to make timings fast (the agent health check); a run at
/// the components' defaults drops them.
const FAST_TIMING_FLAGS: &[&str] = &["MESOS_AGENT_PING_TIMEOUT", "MESOS_MAX_AGENT_PING_TIMEOUTS"];

/// `env` without the fast-timing flags.
fn without_fast_timings(env: &[(String, String)]) -> Vec<(String, String)> {
    env.iter()
        .filter(|(k, _)| !FAST_TIMING_FLAGS.contains(&k.as_str()))
        .cloned()
        .collect()
}

fn check_master_env(env: &[(String, String)]) -> Result<()> {
    for (k, _) in env {
        if !k.starts_with("MESOS_") {
            return Err(Error::usage(format!(
                "master_env `{k}` is not a master flag (hint: flags are `MESOS_<FLAG>`, e.g. `MESOS_AGENT_PING_TIMEOUT`)"
            )));
        }
        if MASTER_OWN_ENV.contains(&k.as_str()) {
            return Err(Error::usage(format!(
                "master_env `{k}` is set by the cluster itself and cannot be overridden"
            )));
        }
    }
    Ok(())
}

/// Master `i` (1-based) at cluster address `ip`, with `extra` flags. The binary is the
/// entrypoint, found on the image's `PATH`, and every flag is a `MESOS_*` variable, so ordeal's
/// `mesos` image and an upstream one whose entrypoint is `mesos-master`
/// (`--image mesos-master=REF`) start alike.
fn master_spec(
    image: &str,
    i: usize,
    ip: Ipv4Addr,
    zk_url: &str,
    quorum: usize,
    extra: &[(String, String)],
) -> ContainerSpec {
    let mut s = ContainerSpec::new(format!("master{i}"), image, "mesos-master")
        .env("LIBPROCESS_IP", "0.0.0.0")
        .env("LIBPROCESS_ADVERTISE_IP", ip.to_string())
        .env("MESOS_HOSTNAME", ip.to_string())
        .env("MESOS_ZK", zk_url)
        .env("MESOS_QUORUM", quorum.to_string())
        .env("MESOS_WORK_DIR", "/var/lib/mesos/master")
        .env("MESOS_REGISTRY", "replicated_log");
    s.env.extend(extra.iter().cloned());
    s.entrypoint = Some("mesos-master".into());
    s
}

/// Agent `i` (1-based) advertising `ip`, without its networks: `mesos-agent` as the entrypoint
/// (under a restart loop in `sh` when [`AgentMode::Supervised`]), flags as `MESOS_*`.
fn agent_spec(
    image: &str,
    i: usize,
    ip: Ipv4Addr,
    zk_url: &str,
    resources: &str,
    mode: AgentMode,
) -> ContainerSpec {
    let mut s = ContainerSpec::new(format!("agent{i}"), image, "mesos-agent")
        .env("LIBPROCESS_IP", "0.0.0.0")
        .env("LIBPROCESS_ADVERTISE_IP", ip.to_string())
        .env("MESOS_HOSTNAME", ip.to_string())
        .env("MESOS_MASTER", zk_url)
        .env("MESOS_WORK_DIR", "/var/lib/mesos/agent")
        .env("MESOS_RUNTIME_DIR", "/var/run/mesos")
        .env("MESOS_LAUNCHER", "posix")
        .env("MESOS_ISOLATION", "posix/cpu,posix/mem")
        .env("MESOS_SYSTEMD_ENABLE_SUPPORT", "false")
        .env("MESOS_SWITCH_USER", "false")
        .env("MESOS_RESOURCES", resources)
        .env("MESOS_ATTRIBUTES", format!("rack:r{i}"));
    if mode == AgentMode::Supervised {
        s.entrypoint = Some("sh".into());
        s.cmd = vec![
            "-c".into(),
            "while :; do mesos-agent; sleep 0.5; done".into(),
        ];
    } else {
        s.entrypoint = Some("mesos-agent".into());
    }
    s
}

fn up_err(e: CaseError) -> Error {
    match e {
        CaseError::Failed(m) | CaseError::Infra(m) => {
            Error::infra(format!("Mesos cluster did not come up: {m}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::ImageSet;

    #[test]
    fn defaults_drop_only_the_fast_ping_flags() {
        let env = vec![
            ("MESOS_AGENT_PING_TIMEOUT".to_owned(), "2secs".to_owned()),
            ("MESOS_MAX_AGENT_PING_TIMEOUTS".to_owned(), "3".to_owned()),
            ("MESOS_ALLOCATION_INTERVAL".to_owned(), "60secs".to_owned()),
        ];
        assert_eq!(without_fast_timings(&env), env[2..]);
    }

    fn env<'a>(s: &'a ContainerSpec, key: &str) -> Option<&'a str> {
        s.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `--image mesos-master=… --image mesos-agent=…` reach the specs as given, and the specs
    /// only rely on what an upstream image provides: its binary on `PATH`, `MESOS_*` flags.
    #[test]
    fn upstream_images_run_their_binary_with_mesos_flags() {
        let images = ImageSet::from_refs([
            ("mesos", "ordeal/mesos:abc"),
            ("mesos-master", "mesosphere/mesos-master:1.11.0"),
            ("mesos-agent", "mesosphere/mesos-slave:1.11.0"),
        ]);
        let ip = Ipv4Addr::new(10, 1, 0, 11);
        let m = master_spec(
            &images.get("mesos-master").unwrap(),
            1,
            ip,
            "zk://z:2181/mesos",
            2,
            &[],
        );
        assert_eq!(m.image, "mesosphere/mesos-master:1.11.0");
        assert_eq!(m.entrypoint.as_deref(), Some("mesos-master"));
        assert!(
            m.cmd.is_empty(),
            "no argument may depend on ordeal's image: {:?}",
            m.cmd
        );
        assert_eq!(env(&m, "MESOS_QUORUM"), Some("2"));
        assert_eq!(env(&m, "MESOS_ZK"), Some("zk://z:2181/mesos"));
        assert_eq!(env(&m, "LIBPROCESS_ADVERTISE_IP"), Some("10.1.0.11"));
        let a = agent_spec(
            &images.get("mesos-agent").unwrap(),
            2,
            ip,
            "zk://z:2181/mesos",
            AGENT_RESOURCES,
            AgentMode::Plain,
        );
        assert_eq!(a.image, "mesosphere/mesos-slave:1.11.0");
        assert_eq!(a.entrypoint.as_deref(), Some("mesos-agent"));
        assert!(a.cmd.is_empty());
        assert_eq!(env(&a, "MESOS_MASTER"), Some("zk://z:2181/mesos"));
        assert_eq!(env(&a, "MESOS_RESOURCES"), Some(AGENT_RESOURCES));
        assert_eq!(env(&a, "MESOS_ATTRIBUTES"), Some("rack:r2"));
    }

    #[test]
    fn without_overrides_both_roles_use_the_mesos_recipe() {
        let images = ImageSet::from_refs([("mesos", "ordeal/mesos:abc")]);
        assert_eq!(images.get("mesos-master").unwrap(), "ordeal/mesos:abc");
        assert_eq!(images.get("mesos-agent").unwrap(), "ordeal/mesos:abc");
    }

    #[test]
    fn a_supervised_agent_restarts_mesos_agent_under_sh() {
        let a = agent_spec(
            "ordeal/mesos:abc",
            1,
            Ipv4Addr::new(10, 1, 0, 21),
            "zk://z:2181/mesos",
            AGENT_RESOURCES,
            AgentMode::Supervised,
        );
        assert_eq!(a.entrypoint.as_deref(), Some("sh"));
        assert!(a.cmd[1].contains("while :; do mesos-agent;"), "{:?}", a.cmd);
    }

    #[test]
    fn master_env_reaches_every_master_and_no_agent() {
        let extra = vec![
            ("MESOS_AGENT_PING_TIMEOUT".to_owned(), "2secs".to_owned()),
            ("MESOS_MAX_AGENT_PING_TIMEOUTS".to_owned(), "3".to_owned()),
        ];
        check_master_env(&extra).unwrap();
        let ip = Ipv4Addr::new(10, 1, 0, 12);
        let m = master_spec("ordeal/mesos:abc", 2, ip, "zk://z:2181/mesos", 2, &extra);
        assert_eq!(env(&m, "MESOS_AGENT_PING_TIMEOUT"), Some("2secs"));
        assert_eq!(env(&m, "MESOS_MAX_AGENT_PING_TIMEOUTS"), Some("3"));
        assert_eq!(env(&m, "MESOS_QUORUM"), Some("2"));
        let a = agent_spec(
            "ordeal/mesos:abc",
            1,
            Ipv4Addr::new(10, 1, 0, 21),
            "zk://z:2181/mesos",
            AGENT_RESOURCES,
            AgentMode::Plain,
        );
        assert_eq!(env(&a, "MESOS_AGENT_PING_TIMEOUT"), None);
        let c = MesosConfig::new(1, 2);
        assert!(c.master_env.is_empty() && c.agent_mode == AgentMode::Plain);
    }

    #[test]
    fn master_env_refuses_what_the_cluster_sets_and_non_flags() {
        let err = check_master_env(&[("MESOS_ZK".into(), "zk://elsewhere/m".into())])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`MESOS_ZK`") && err.contains("set by the cluster"),
            "{err}"
        );
        let err = check_master_env(&[("AGENT_PING_TIMEOUT".into(), "2secs".into())])
            .unwrap_err()
            .to_string();
        assert!(err.contains("hint"), "{err}");
    }
}
