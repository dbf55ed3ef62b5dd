//! Containers: a plan ([`ContainerSpec`]) and a running, owned handle ([`Container`]).

use std::{collections::HashMap, net::Ipv4Addr, time::Duration};

use bollard::{
    container::LogOutput,
    exec::{CreateExecOptions, StartExecOptions, StartExecResults},
    models::{
        EndpointIpamConfig, EndpointSettings, NetworkConnectRequest, NetworkDisconnectRequest,
        PortBinding,
    },
    query_parameters::{
        InspectContainerOptions, KillContainerOptionsBuilder, LogsOptionsBuilder,
        RemoveContainerOptionsBuilder, StartContainerOptions, StopContainerOptionsBuilder,
    },
};
use futures::StreamExt;
use testcontainers::{
    ContainerAsync, GenericImage, ImageExt,
    core::{CgroupnsMode, ContainerPort, Mount},
    runners::AsyncRunner,
};

use super::{Engine, RunId, docker::one_line, labels};
use crate::{Error, Result};

/// Default time an exec may take before it counts as hung.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything needed to start one container, as data: printable and testable without Docker.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    /// Short name, unique in the run; the Docker name becomes `ordeal-<run>-<name>`.
    pub name: String,
    /// Full image reference (`ordeal/workload:1a2b3c4d5e6f`).
    pub image: String,
    /// The `ordeal.role` label.
    pub role: String,
    /// Command (arguments to the entrypoint).
    pub cmd: Vec<String>,
    /// Entrypoint override.
    pub entrypoint: Option<String>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Hostname; defaults to `name`.
    pub hostname: Option<String>,
    /// The network the container starts on (its `eth0`).
    pub network: Option<String>,
    /// Further networks, connected right after start with a fixed address.
    pub extra_networks: Vec<(String, Ipv4Addr)>,
    /// Published ports `(host, container)`, always bound to 127.0.0.1.
    pub ports: Vec<(u16, u16)>,
    /// Run as a "system container" (what `--privileged` would give, minus CAP_SYS_RESOURCE, which
    /// this kind of host cannot grant): all capabilities, seccomp/apparmor unconfined, `/proc`
    /// and `/sys` unmasked, all devices allowed, `/dev/kmsg`, a private cgroup namespace.
    pub system: bool,
    /// tmpfs mounts.
    pub tmpfs: Vec<String>,
    /// Extra capabilities (e.g. `NET_ADMIN`).
    pub cap_add: Vec<String>,
    /// Files copied into the container before it starts: `(path, mode, content)`. Never into
    /// a tmpfs path (`/run`, `/tmp`): the copy would land under the mount and be invisible.
    pub files: Vec<(String, u32, Vec<u8>)>,
    /// Anonymous volumes (e.g. `/var/lib/containerd`), removed with the container.
    pub volumes: Vec<String>,
    /// The `ordeal.case` label.
    pub case: Option<String>,
    /// Further labels (e.g. `ordeal.keep`).
    pub labels: Vec<(String, String)>,
    /// PID namespace mode: `container:<docker name>` joins another container's (whose init is
    /// then PID 1 here too).
    pub pid: Option<String>,
    /// Run the engine's init (`docker run --init`) as PID 1: it reaps orphaned processes.
    pub init: bool,
}

impl ContainerSpec {
    /// A spec for `image` named `name` with role `role`.
    pub fn new(name: impl Into<String>, image: impl Into<String>, role: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            image: image.into(),
            role: role.into(),
            ..Self::default()
        }
    }

    /// Sets the command.
    pub fn cmd<I, S>(mut self, cmd: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.cmd = cmd.into_iter().map(Into::into).collect();
        self
    }

    /// Runs `script` with `sh -c`.
    pub fn shell(self, script: impl Into<String>) -> Self {
        let mut s = self.cmd(["-c".to_owned(), script.into()]);
        s.entrypoint = Some("/bin/sh".into());
        s
    }

    /// Starts the container on `network`.
    pub fn network(mut self, network: impl Into<String>) -> Self {
        self.network = Some(network.into());
        self
    }

    /// Sets the `ordeal.case` label.
    pub fn case(mut self, case: impl Into<String>) -> Self {
        self.case = Some(case.into());
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The Docker name of the container in run `run`.
    pub fn docker_name(&self, run: &RunId) -> String {
        format!("ordeal-{run}-{}", self.name)
    }

    /// Starts the container, labelled with `run`. The image must be present: ordeal never pulls.
    pub async fn start(&self, engine: &Engine, run: &RunId) -> Result<Container> {
        engine
            .require_images(std::slice::from_ref(&self.image))
            .await?;
        let (repo, tag) = split_reference(&self.image);
        let mut image = GenericImage::new(repo, tag);
        if let Some(ep) = &self.entrypoint {
            image = image.with_entrypoint(ep);
        }
        // The engine ignores bindings of ports the container does not expose.
        for (_, ctr) in &self.ports {
            image = image.with_exposed_port(ContainerPort::Tcp(*ctr));
        }
        let docker_name = self.docker_name(run);
        // `container:<id>` shares another container's network namespace (fault helpers): the
        // engine then refuses a hostname, and it is not a network testcontainers may create.
        let shared_netns = self
            .network
            .as_deref()
            .filter(|n| n.starts_with("container:"))
            .map(str::to_owned);
        let mut req = image
            .with_container_name(&docker_name)
            .with_labels({
                let mut l = labels::for_object(run, &self.role, self.case.as_deref());
                l.extend(self.labels.iter().cloned());
                l
            })
            .with_cmd(self.cmd.clone())
            .with_startup_timeout(Duration::from_secs(120));
        for (k, v) in &self.env {
            req = req.with_env_var(k, v);
        }
        if shared_netns.is_none() {
            req = req.with_hostname(self.hostname.clone().unwrap_or_else(|| self.name.clone()));
            if let Some(net) = &self.network {
                req = req.with_network(net);
            }
        }
        for cap in &self.cap_add {
            req = req.with_cap_add(cap);
        }
        for (path, mode, content) in &self.files {
            req = req.with_copy_to(
                testcontainers::CopyTargetOptions::new(path.clone()).with_mode(*mode),
                content.clone(),
            );
        }
        for path in &self.tmpfs {
            req = req.with_mount(Mount::tmpfs_mount(path));
        }
        if self.system {
            req = req
                .with_cap_add("ALL")
                .with_cap_drop("SYS_RESOURCE")
                .with_security_opt("seccomp=unconfined")
                .with_security_opt("apparmor=unconfined")
                .with_cgroupns_mode(CgroupnsMode::Private);
        }
        let ports = self.ports.clone();
        let volumes = self.volumes.clone();
        let system = self.system;
        let (pid, init) = (self.pid.clone(), self.init);
        // The modifier runs last: it pins published ports to 127.0.0.1 (testcontainers would bind
        // 0.0.0.0, and publish every EXPOSEd port when none is mapped).
        req = req.with_host_config_modifier(move |hc| {
            if let Some(mode) = &shared_netns {
                hc.network_mode = Some(mode.clone());
            }
            if !volumes.is_empty() {
                hc.binds = Some(volumes.clone());
            }
            if pid.is_some() {
                hc.pid_mode = pid.clone();
            }
            if init {
                hc.init = Some(true);
            }
            hc.publish_all_ports = Some(false);
            hc.port_bindings = Some(
                ports
                    .iter()
                    .map(|(host, ctr)| {
                        (
                            format!("{ctr}/tcp"),
                            Some(vec![PortBinding {
                                host_ip: Some("127.0.0.1".into()),
                                host_port: Some(host.to_string()),
                            }]),
                        )
                    })
                    .collect(),
            );
            if system {
                // The API form of `--security-opt systempaths=unconfined`.
                hc.masked_paths = Some(vec![]);
                hc.readonly_paths = Some(vec![]);
                hc.device_cgroup_rules = Some(vec!["a *:* rwm".into()]);
                // kubelet's OOM watcher reads the kernel log.
                hc.devices = Some(vec![bollard::models::DeviceMapping {
                    path_on_host: Some("/dev/kmsg".into()),
                    path_in_container: Some("/dev/kmsg".into()),
                    cgroup_permissions: Some("rwm".into()),
                }]);
            }
        });
        let inner = req.start().await.map_err(|e| {
            Error::infra(format!(
                "failed to start container `{docker_name}`: {}",
                one_line(&e.to_string())
            ))
        })?;
        let container = Container {
            engine: engine.clone(),
            id: inner.id().to_owned(),
            name: self.name.clone(),
            docker_name,
            inner: Some(inner),
        };
        for (net, ip) in &self.extra_networks {
            container.connect(net, Some(*ip)).await?;
        }
        tracing::debug!(container = %container.docker_name, image = %self.image, "started");
        Ok(container)
    }
}

/// Splits `repo:tag` (a registry host with a port keeps its colon).
pub fn split_reference(reference: &str) -> (String, String) {
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo.to_owned(), tag.to_owned()),
        _ => (reference.to_owned(), "latest".to_owned()),
    }
}

/// What an exec printed and how it ended.
#[derive(Debug, Clone)]
pub struct ExecOutput {
    /// Exit code (`-1` if the engine did not report one).
    pub code: i64,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl ExecOutput {
    /// Whether the command exited 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// One line for failure messages: `exit 1: <stderr or stdout>`.
    pub fn summary(&self) -> String {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        format!("exit {}: {}", self.code, one_line(text))
    }
}

/// A running container owned by the run. It wraps testcontainers' RAII guard, so dropping the
/// last handle removes the container; the case context instead removes its containers
/// explicitly, after capturing their logs, and cleanup by label catches anything else.
#[derive(Debug)]
pub struct Container {
    engine: Engine,
    id: String,
    name: String,
    docker_name: String,
    inner: Option<ContainerAsync<GenericImage>>,
}

impl Container {
    /// Short name from the spec.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Docker name.
    pub fn docker_name(&self) -> &str {
        &self.docker_name
    }

    /// Docker id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A handle on a container this process did not start (another run's, a kept cluster's),
    /// by Docker id or name. Dropping it leaves the container alone.
    pub async fn attach(engine: &Engine, id: &str) -> Result<Self> {
        let info = engine
            .docker()
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| {
                Error::infra(format!(
                    "failed to inspect `{id}`: {}",
                    one_line(&e.to_string())
                ))
            })?;
        let docker_name = info
            .name
            .unwrap_or_else(|| id.to_owned())
            .trim_start_matches('/')
            .to_owned();
        Ok(Self {
            engine: engine.clone(),
            id: info.id.unwrap_or_else(|| id.to_owned()),
            name: docker_name.clone(),
            docker_name,
            inner: None,
        })
    }

    fn err(&self, what: &str, e: impl std::fmt::Display) -> Error {
        Error::infra(format!(
            "failed to {what} `{}`: {}",
            self.docker_name,
            one_line(&e.to_string())
        ))
    }

    /// Runs `cmd` inside the container and waits for it (at most [`EXEC_TIMEOUT`]).
    pub async fn exec<I, S>(&self, cmd: I) -> Result<ExecOutput>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.exec_timeout(cmd, EXEC_TIMEOUT).await
    }

    /// Runs `sh -c script` inside the container.
    pub async fn sh(&self, script: &str) -> Result<ExecOutput> {
        self.exec(["sh", "-c", script]).await
    }

    /// Like [`Self::exec`] with an explicit timeout.
    pub async fn exec_timeout<I, S>(&self, cmd: I, timeout: Duration) -> Result<ExecOutput>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let cmd: Vec<String> = cmd.into_iter().map(Into::into).collect();
        let shown = cmd.join(" ");
        // bollard directly: testcontainers' ExecResult is not Sync, which would make every case
        // future that execs non-Send.
        let run = async {
            let docker = self.engine.docker();
            let exec = docker
                .create_exec(
                    &self.id,
                    CreateExecOptions::<String> {
                        cmd: Some(cmd),
                        attach_stdout: Some(true),
                        attach_stderr: Some(true),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| self.err("exec in", e))?;
            let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
            if let StartExecResults::Attached { mut output, .. } = docker
                .start_exec(&exec.id, None::<StartExecOptions>)
                .await
                .map_err(|e| self.err("exec in", e))?
            {
                while let Some(frame) = output.next().await {
                    match frame.map_err(|e| self.err("read exec output of", e))? {
                        LogOutput::StdErr { message } => stderr.extend_from_slice(&message),
                        other => stdout.extend_from_slice(&other.into_bytes()),
                    }
                }
            }
            // The exit code appears shortly after the streams close.
            let mut code = None;
            for _ in 0..50 {
                code = docker
                    .inspect_exec(&exec.id)
                    .await
                    .map_err(|e| self.err("inspect exec in", e))?
                    .exit_code;
                if code.is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(ExecOutput {
                code: code.unwrap_or(-1),
                stdout: String::from_utf8_lossy(&stdout).into_owned(),
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
            })
        };
        tokio::time::timeout(timeout, run).await.map_err(|_| {
            Error::infra(format!(
                "exec `{shown}` in `{}` did not finish within {timeout:?}",
                self.docker_name
            ))
        })?
    }

    /// Runs `cmd` with `input` streamed to its standard input (e.g. `ctr images import -` fed
    /// by `docker save`), waiting at most `timeout`.
    pub async fn exec_with_input<I, S, St>(
        &self,
        cmd: I,
        mut input: St,
        timeout: Duration,
    ) -> Result<ExecOutput>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
        St: futures::Stream<Item = std::result::Result<bytes::Bytes, String>> + Unpin + Send,
    {
        use tokio::io::AsyncWriteExt;
        let cmd: Vec<String> = cmd.into_iter().map(Into::into).collect();
        let shown = cmd.join(" ");
        let run = async {
            let docker = self.engine.docker();
            let exec = docker
                .create_exec(
                    &self.id,
                    CreateExecOptions::<String> {
                        cmd: Some(cmd),
                        attach_stdin: Some(true),
                        attach_stdout: Some(true),
                        attach_stderr: Some(true),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| self.err("exec in", e))?;
            let StartExecResults::Attached {
                mut output,
                input: mut stdin,
            } = docker
                .start_exec(&exec.id, None::<StartExecOptions>)
                .await
                .map_err(|e| self.err("exec in", e))?
            else {
                return Err(self.err("exec in", "the engine did not attach"));
            };
            let feed = async {
                while let Some(chunk) = input.next().await {
                    let chunk = chunk.map_err(|e| self.err("stream input into", e))?;
                    stdin
                        .write_all(&chunk)
                        .await
                        .map_err(|e| self.err("stream input into", e))?;
                }
                stdin
                    .shutdown()
                    .await
                    .map_err(|e| self.err("close input of", e))
            };
            let collect = async {
                let (mut out, mut err) = (Vec::new(), Vec::new());
                while let Some(frame) = output.next().await {
                    match frame.map_err(|e| self.err("read exec output of", e))? {
                        LogOutput::StdErr { message } => err.extend_from_slice(&message),
                        other => out.extend_from_slice(&other.into_bytes()),
                    }
                }
                Ok::<_, Error>((out, err))
            };
            let (fed, collected) = tokio::join!(feed, collect);
            fed?;
            let (stdout, stderr) = collected?;
            let mut code = None;
            for _ in 0..50 {
                code = docker
                    .inspect_exec(&exec.id)
                    .await
                    .map_err(|e| self.err("inspect exec in", e))?
                    .exit_code;
                if code.is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(ExecOutput {
                code: code.unwrap_or(-1),
                stdout: String::from_utf8_lossy(&stdout).into_owned(),
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
            })
        };
        tokio::time::timeout(timeout, run).await.map_err(|_| {
            Error::infra(format!(
                "exec `{shown}` in `{}` did not finish within {timeout:?}",
                self.docker_name
            ))
        })?
    }

    /// Streams the engine's images `references` (a `docker save` archive) into `cmd`'s standard
    /// input inside this container, e.g. `["ctr", "-n", "k8s.io", "images", "import", "-"]`.
    pub async fn import_images<I, S>(&self, references: &[&str], cmd: I) -> Result<ExecOutput>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let archive = self
            .engine
            .docker()
            .export_images(references)
            .map(|c| c.map_err(|e| e.to_string()));
        self.exec_with_input(cmd, Box::pin(archive), Duration::from_secs(300))
            .await
    }

    /// Sends `signal` (e.g. `SIGKILL`) to the container's main process.
    pub async fn kill(&self, signal: &str) -> Result<()> {
        let opts = KillContainerOptionsBuilder::default()
            .signal(signal)
            .build();
        self.engine
            .docker()
            .kill_container(&self.id, Some(opts))
            .await
            .map_err(|e| self.err("kill", e))
    }

    /// Freezes every process of the container (cgroup freezer).
    pub async fn pause(&self) -> Result<()> {
        self.engine
            .docker()
            .pause_container(&self.id)
            .await
            .map_err(|e| self.err("pause", e))
    }

    /// Thaws a paused container.
    pub async fn unpause(&self) -> Result<()> {
        self.engine
            .docker()
            .unpause_container(&self.id)
            .await
            .map_err(|e| self.err("unpause", e))
    }

    /// Stops the container (SIGTERM, then SIGKILL after `grace`).
    pub async fn stop(&self, grace: Duration) -> Result<()> {
        let secs = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        self.engine
            .docker()
            .stop_container(
                &self.id,
                Some(StopContainerOptionsBuilder::default().t(secs).build()),
            )
            .await
            .map_err(|e| self.err("stop", e))
    }

    /// Starts a stopped container again (same name, same addresses on networks with fixed IPs).
    pub async fn start(&self) -> Result<()> {
        self.engine
            .docker()
            .start_container(&self.id, None::<StartContainerOptions>)
            .await
            .map_err(|e| self.err("start", e))
    }

    /// Whether the main process runs, and its exit code if it does not.
    pub async fn state(&self) -> Result<(bool, Option<i64>)> {
        let info = self
            .engine
            .docker()
            .inspect_container(&self.id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| self.err("inspect", e))?;
        let state = info.state.unwrap_or_default();
        Ok((state.running.unwrap_or(false), state.exit_code))
    }

    /// The main process's arguments as the engine started it (after the entrypoint): how a
    /// component was configured, readable even in images without a shell.
    pub async fn args(&self) -> Result<Vec<String>> {
        let info = self
            .engine
            .docker()
            .inspect_container(&self.id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| self.err("inspect", e))?;
        Ok(info.args.unwrap_or_default())
    }

    /// Copies one regular file out of the container (the engine's archive API) to `dest`, with
    /// `mode`, e.g. a binary to run on the host. The archive is streamed through a temporary
    /// file next to `dest`, never held in memory, and `dest` appears complete or not at all.
    pub async fn copy_file_out(&self, path: &str, dest: &std::path::Path, mode: u32) -> Result<()> {
        use std::io::{Seek, Write};
        let fail = |e: &dyn std::fmt::Display| self.err(&format!("copy `{path}` from"), e);
        let dir = dest.parent().unwrap_or(std::path::Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        let mut archive = tempfile::tempfile_in(dir).map_err(|e| fail(&e))?;
        let opts = bollard::query_parameters::DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let mut stream = self
            .engine
            .docker()
            .download_from_container(&self.id, Some(opts));
        while let Some(chunk) = stream.next().await {
            archive
                .write_all(&chunk.map_err(|e| fail(&e))?)
                .map_err(|e| fail(&e))?;
        }
        archive.rewind().map_err(|e| fail(&e))?;
        let mut out = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(&e))?;
        extract_first_file(&mut archive, out.as_file_mut()).map_err(|e| fail(&e))?;
        {
            use std::os::unix::fs::PermissionsExt;
            out.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(|e| fail(&e))?;
        }
        out.persist(dest).map_err(|e| fail(&e.error))?;
        Ok(())
    }

    /// The container's IPv4 address on `network`.
    pub async fn ip(&self, network: &str) -> Result<Ipv4Addr> {
        let info = self
            .engine
            .docker()
            .inspect_container(&self.id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| self.err("inspect", e))?;
        let nets: HashMap<String, EndpointSettings> = info
            .network_settings
            .and_then(|n| n.networks)
            .unwrap_or_default();
        nets.get(network)
            .and_then(|ep| ep.ip_address.as_deref())
            .and_then(|ip| ip.parse().ok())
            .ok_or_else(|| {
                Error::infra(format!(
                    "`{}` has no address on network `{network}`",
                    self.docker_name
                ))
            })
    }

    /// Detaches the container from `network` (the container keeps running).
    pub async fn disconnect(&self, network: &str) -> Result<()> {
        let req = NetworkDisconnectRequest {
            container: self.id.clone(),
            force: Some(true),
        };
        self.engine
            .docker()
            .disconnect_network(network, req)
            .await
            .map_err(|e| self.err(&format!("disconnect from `{network}`"), e))
    }

    /// Attaches the container to `network`, with a fixed address if given.
    pub async fn connect(&self, network: &str, ip: Option<Ipv4Addr>) -> Result<()> {
        let req = NetworkConnectRequest {
            container: self.id.clone(),
            endpoint_config: Some(EndpointSettings {
                ipam_config: ip.map(|ip| EndpointIpamConfig {
                    ipv4_address: Some(ip.to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        self.engine
            .docker()
            .connect_network(network, req)
            .await
            .map_err(|e| self.err(&format!("connect to `{network}`"), e))
    }

    /// The container's log (stdout and stderr interleaved), at most the last `tail` lines.
    pub async fn logs(&self, tail: usize) -> Result<String> {
        logs_of(&self.engine, &self.id, tail).await
    }

    /// Removes the container and its anonymous volumes, after running its
    /// [`labels::ON_REMOVE`] script if it has one.
    pub async fn remove(mut self) -> Result<()> {
        run_on_remove(&self.engine, &self.id).await;
        if let Some(inner) = self.inner.take() {
            // `rm` marks the guard as dropped, so its destructor does not race this removal.
            if inner.rm().await.is_ok() {
                return Ok(());
            }
        }
        remove_container(&self.engine, &self.id).await
    }
}

/// Copies the content of the first regular file of a ustar/PAX archive (what the engine's
/// archive API returns for one file) from `archive` to `out`. PAX extended headers are skipped.
fn extract_first_file(
    archive: &mut impl std::io::Read,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    use std::io::{Error, ErrorKind, Read};
    let bad = |m: &str| Error::new(ErrorKind::InvalidData, m.to_owned());
    let mut header = [0u8; 512];
    loop {
        archive.read_exact(&mut header)?;
        if header.iter().all(|b| *b == 0) {
            return Err(bad("no regular file in the archive"));
        }
        let field = std::str::from_utf8(&header[124..136]).map_err(|_| bad("bad tar size"))?;
        let size = u64::from_str_radix(field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
            .map_err(|_| bad("bad tar size"))?;
        if header[156] == b'0' || header[156] == 0 {
            let copied = std::io::copy(&mut archive.take(size), out)?;
            return if copied == size {
                Ok(())
            } else {
                Err(bad("truncated archive"))
            };
        }
        let padded = size.div_ceil(512) * 512;
        std::io::copy(&mut archive.take(padded), &mut std::io::sink())?;
    }
}

/// The last `tail` log lines of container `id`.
pub async fn logs_of(engine: &Engine, id: &str, tail: usize) -> Result<String> {
    let opts = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .timestamps(true)
        .tail(&tail.to_string())
        .build();
    let mut stream = engine.docker().logs(id, Some(opts));
    let mut out = String::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(frame) => out.push_str(&String::from_utf8_lossy(&frame.into_bytes())),
            Err(e) => {
                return Err(Error::infra(format!(
                    "failed to read logs of `{id}`: {}",
                    one_line(&e.to_string())
                )));
            }
        }
    }
    Ok(out)
}

/// Runs the [`labels::ON_REMOVE`] script of container `id`, if it has one and runs (at most
/// 10 s; its outcome is only logged: removal goes ahead whatever happens).
async fn run_on_remove(engine: &Engine, id: &str) {
    let Ok(info) = engine
        .docker()
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
    else {
        return;
    };
    let running = info.state.as_ref().and_then(|s| s.running) == Some(true);
    let Some(script) = info
        .config
        .and_then(|c| c.labels)
        .and_then(|mut l| l.remove(labels::ON_REMOVE))
    else {
        return;
    };
    if !running {
        return;
    }
    let handle = Container {
        engine: engine.clone(),
        id: id.to_owned(),
        name: id.to_owned(),
        docker_name: id.to_owned(),
        inner: None,
    };
    match handle
        .exec_timeout(["sh", "-c", script.as_str()], Duration::from_secs(10))
        .await
    {
        Ok(out) if out.success() => {}
        Ok(out) => tracing::warn!(container = %id, "on-remove script: {}", out.summary()),
        Err(e) => tracing::warn!(container = %id, "on-remove script: {e}"),
    }
}

/// Removes container `id` with its anonymous volumes, after running its
/// [`labels::ON_REMOVE`] script if it has one; a container already gone is fine.
pub async fn remove_container(engine: &Engine, id: &str) -> Result<()> {
    run_on_remove(engine, id).await;
    let opts = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    match engine.docker().remove_container(id, Some(opts)).await {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        // 409: removal already in progress.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        }) => Ok(()),
        Err(e) => Err(Error::infra(format!(
            "failed to remove container `{id}`: {}",
            one_line(&e.to_string())
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_entry(kind: u8, name: &str, data: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        h[156] = kind;
        h.extend_from_slice(data);
        h.resize(512 + data.len().div_ceil(512) * 512, 0);
        h
    }

    #[test]
    fn the_first_regular_file_of_an_archive_is_found_after_pax_headers() {
        let mut archive = tar_entry(b'x', "PaxHeaders/kubectl", b"30 mtime=1.5\n");
        archive.extend(tar_entry(b'0', "kubectl", b"\x7fELF binary"));
        archive.extend(vec![0u8; 1024]);
        let mut out = Vec::new();
        extract_first_file(&mut archive.as_slice(), &mut out).unwrap();
        assert_eq!(out, b"\x7fELF binary");
        assert!(extract_first_file(&mut [0u8; 1024].as_slice(), &mut Vec::new()).is_err());
    }

    #[test]
    fn references_split_on_the_last_colon_unless_it_is_a_registry_port() {
        assert_eq!(
            split_reference("ordeal/workload:abc"),
            ("ordeal/workload".into(), "abc".into())
        );
        assert_eq!(
            split_reference("busybox"),
            ("busybox".into(), "latest".into())
        );
        assert_eq!(
            split_reference("registry.local:5000/pause"),
            ("registry.local:5000/pause".into(), "latest".into())
        );
        assert_eq!(
            split_reference("registry.local:5000/pause:3.10"),
            ("registry.local:5000/pause".into(), "3.10".into())
        );
    }
}
