//! Bringing a cluster up inside a case, and the calls suites make on it.

use std::{
    net::{IpAddr, Ipv4Addr},
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use k8s_openapi::api::core::v1::{Node, Pod, ServiceAccount};
use kube::{
    Api, Client,
    config::{KubeConfigOptions, Kubeconfig},
};

use super::{
    pki::{Ca, Pair, apiserver_dns_names, kubeconfig, service_account_keys},
    plan::{
        self, Addresses, Component, KubeImages, KubeTimings, kube_proxy_config, kubelet_config,
    },
    target::KubeTarget,
};
use crate::{
    Error, Result,
    check::{CaseError, Observed, eventually},
    progress::Step,
    run::CaseCtx,
    runtime::{Container, ContainerSpec, ExecOutput},
};

/// How to bring a cluster up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeConfig {
    /// Number of kubelet nodes (`node-1`...).
    pub nodes: u8,
    /// Controller-manager timings.
    pub timings: KubeTimings,
    /// Run kube-proxy beside kubelet in every node (off only to break Services on purpose).
    pub kube_proxy: bool,
    /// Host port on 127.0.0.1 that publishes the apiserver; `None` picks a free one.
    pub api_port: Option<u16>,
    /// Extra kube-controller-manager flags (a negative control turns a controller off with
    /// `--controllers=*,-taint-eviction-controller`, say).
    pub kcm_extra: Vec<String>,
    /// Extra kube-apiserver flags, appended last (a negative control turns an admission plugin
    /// off with `--disable-admission-plugins=ResourceQuota`, say).
    pub apiserver_extra: Vec<String>,
}

impl KubeConfig {
    /// `nodes` nodes with kube-proxy, fast timings, any free port.
    pub fn new(nodes: u8) -> Self {
        Self {
            nodes,
            timings: KubeTimings::FAST,
            kube_proxy: true,
            api_port: None,
            kcm_extra: Vec::new(),
            apiserver_extra: Vec::new(),
        }
    }
}

/// A running cluster of one case.
pub struct KubeCluster {
    /// etcd.
    pub etcd: Arc<Container>,
    /// kube-apiserver.
    pub apiserver: Arc<Container>,
    /// kube-controller-manager.
    pub controller_manager: Arc<Container>,
    /// kube-scheduler.
    pub scheduler: Arc<Container>,
    /// Nodes, `node-1` first.
    pub nodes: Vec<Arc<Container>>,
    /// The internal cluster network's name.
    pub network: String,
    /// Node addresses on it, in node order.
    pub node_ips: Vec<Ipv4Addr>,
    /// The apiserver's port on 127.0.0.1.
    pub api_port: u16,
    /// The images the components run.
    pub images: KubeImages,
    ca: Pair,
    admin: Pair,
    client: Client,
}

impl std::fmt::Debug for KubeCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeCluster")
            .field("apiserver", &self.apiserver.docker_name())
            .field("nodes", &self.nodes.len())
            .field("network", &self.network)
            .field("api_port", &self.api_port)
            .field("images", &self.images)
            .finish_non_exhaustive()
    }
}

/// A node's name (empty if it has none).
pub fn node_name(node: &Node) -> &str {
    node.metadata.name.as_deref().unwrap_or_default()
}

/// The taints the node lifecycle controller puts on a node it does not see Ready
/// (`node.kubernetes.io/not-ready`, `node.kubernetes.io/unreachable`), as `key:effect`.
pub fn lifecycle_taints(node: &Node) -> Vec<String> {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
        .filter(|t| {
            t.key == "node.kubernetes.io/not-ready" || t.key == "node.kubernetes.io/unreachable"
        })
        .map(|t| format!("{}:{}", t.key, t.effect))
        .collect()
}

/// A node's Ready condition (`True`, `False`, `Unknown`), or `missing`.
pub fn node_ready(node: &Node) -> &str {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map_or("missing", |c| c.status.as_str())
}

/// A pod's phase (`Pending`, `Running`...), if reported.
pub fn pod_phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref().and_then(|s| s.phase.as_deref())
}

/// The node a pod is bound to, if any.
pub fn pod_node(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref().and_then(|s| s.node_name.as_deref())
}

const KUBECONFIG: &str = "/pki/admin.kubeconfig";
/// How often bring-up starts an exited kube-apiserver again before giving up.
const API_RESTARTS: u32 = 2;

fn file(path: &str, content: &str) -> (String, u32, Vec<u8>) {
    (path.to_owned(), 0o644, content.as_bytes().to_vec())
}

fn secret(path: &str, content: &str) -> (String, u32, Vec<u8>) {
    (path.to_owned(), 0o600, content.as_bytes().to_vec())
}

fn cert_files(name: &str, pair: &Pair) -> Vec<(String, u32, Vec<u8>)> {
    vec![
        file(&format!("/pki/{name}.crt"), &pair.cert),
        secret(&format!("/pki/{name}.key"), &pair.key),
    ]
}

fn kubeconfig_file(name: &str, server: &str) -> (String, u32, Vec<u8>) {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: \"{server}\", certificate-authority: /pki/ca.crt}}}}]\nusers: [{{name: u, user: {{client-certificate: /pki/{name}.crt, client-key: /pki/{name}.key}}}}]\ncontexts: [{{name: c, context: {{cluster: c, user: u}}}}]\ncurrent-context: c\n"
    );
    file(&format!("/pki/{name}.kubeconfig"), &text)
}

/// A port on 127.0.0.1 that nothing listens on right now. It is then bound explicitly (never
/// an engine-chosen ephemeral port, which Docker 20.10 re-maps on every network change).
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| Error::infra(format!("failed to find a free port on 127.0.0.1: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| Error::infra(format!("failed to find a free port on 127.0.0.1: {e}")))
}

/// An infrastructure error for a failed API call: "failed to {what}: {e}".
pub fn api_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::infra(format!("failed to {what}: {e}"))
}

/// A kube-rs client for `kubeconfig` (text), as [`client_with`] builds it.
pub async fn client_for(kubeconfig: &str) -> Result<Client> {
    let parsed = Kubeconfig::from_yaml(kubeconfig).map_err(|e| api_err("parse a kubeconfig", e))?;
    let config = kube::Config::from_custom_kubeconfig(parsed, &KubeConfigOptions::default())
        .await
        .map_err(|e| api_err("load a kubeconfig", e))?;
    client_with(config)
}

/// A kube-rs client for a loaded `config`, over rustls with ring, short timeouts so a paused
/// or partitioned apiserver shows up as an error of one poll, not a hang.
pub fn client_with(mut config: kube::Config) -> Result<Client> {
    // testcontainers and kube both bring rustls; name the provider once for the process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(15));
    config.write_timeout = Some(Duration::from_secs(15));
    Client::try_from(config).map_err(|e| api_err("build a Kubernetes client", e))
}

impl KubeCluster {
    /// Starts a control plane and `nodes` nodes (with kube-proxy) for the case, and waits
    /// until every node is Ready. Images: `k8s-control-plane` (or one per component),
    /// `k8s-node`, `pause`, `workload`.
    pub async fn start(ctx: &CaseCtx, nodes: usize, timings: KubeTimings) -> Result<Self> {
        Self::start_with(ctx, nodes, timings, &[]).await
    }

    /// [`start`](Self::start) with extra kube-controller-manager flags (a negative control
    /// turns a controller off with `--controllers=*,-taint-eviction-controller`, say).
    pub async fn start_with(
        ctx: &CaseCtx,
        nodes: usize,
        timings: KubeTimings,
        kcm_extra: &[&str],
    ) -> Result<Self> {
        let nodes = u8::try_from(nodes).map_err(|_| Error::usage("at most 255 nodes"))?;
        let config = KubeConfig {
            timings,
            kcm_extra: kcm_extra.iter().map(|a| (*a).to_owned()).collect(),
            ..KubeConfig::new(nodes)
        };
        Self::start_config(ctx, &config).await
    }

    /// Like [`Self::start`], everything as `config` says.
    pub async fn start_config(ctx: &CaseCtx, config: &KubeConfig) -> Result<Self> {
        let step = Step::start(format!(
            "{}: Kubernetes control plane + {} node(s)",
            ctx.name(),
            config.nodes
        ));
        let result = Self::bring_up(ctx, config).await;
        step.finish(if result.is_ok() { "ready" } else { "failed" });
        result
    }

    async fn bring_up(ctx: &CaseCtx, config: &KubeConfig) -> Result<Self> {
        let images = KubeImages::resolve(|n| ctx.image(n))?;
        ctx.engine().require_images(&images.references()).await?;
        // `mgmt` is every container's first interface and `cluster` carries the fixed
        // addresses and is the one faults partition; both are internal: the cluster talks to
        // nothing but itself. The apiserver alone is also on `api`, which publishes its port on
        // 127.0.0.1 for the harness's client (a published port needs a non-internal network).
        // It joins `api` last: `api` brings a default route, and a process that dialled etcd
        // before `cluster` was attached would send its SYNs out that route into Docker's
        // isolation rules and hang (seen under load as "error creating storage factory"),
        // where with only internal networks the dial fails at once and is retried.
        let mgmt = ctx.network("mgmt", true).await?;
        let api_net = ctx.network("api", false).await?;
        let net = ctx.network("cluster", true).await?;
        let at = Addresses { subnet: net.subnet };
        let api_ip = at.apiserver();
        let server = format!("https://{api_ip}:6443");
        let api_port = match config.api_port {
            Some(p) => p,
            None => free_port()?,
        };

        let ca = Ca::generate("ordeal-kubernetes-ca")?;
        let ips = [
            IpAddr::from([127, 0, 0, 1]),
            IpAddr::from([10, 96, 0, 1]),
            api_ip.into(),
        ];
        let api_cert = ca.server("kube-apiserver", &apiserver_dns_names(&["apiserver"]), &ips)?;
        let (sa_key, sa_pub) = service_account_keys()?;
        let ca_file = file("/pki/ca.crt", &ca.pair.cert);
        let admin = ca.client("kubernetes-admin", Some("system:masters"))?;

        let spec = |c: &Component, network: &str, files: Vec<(String, u32, Vec<u8>)>| {
            let mut s = ContainerSpec::new(&c.name, &c.image, format!("k8s-{}", c.name))
                .cmd(c.args.clone())
                .network(network);
            s.entrypoint.clone_from(&c.entrypoint);
            s.env.clone_from(&c.env);
            s.extra_networks = vec![(net.name.clone(), c.ip)];
            s.files = files;
            s
        };
        // The `conformance` profile leaves node monitoring at the controller-manager's defaults.
        let timings = (!ctx.component_defaults()).then_some(config.timings);
        let [etcd_plan, mut api_plan, kcm_plan, sched_plan]: [Component; 4] =
            plan::control_plane(&images, at, timings, &config.kcm_extra)
                .try_into()
                .map_err(|_| Error::infra("the control-plane plan has four components"))?;
        api_plan.args.extend(config.apiserver_extra.iter().cloned());

        // etcd first, with its networks attached, then kube-apiserver, which retries etcd until it
        // answers but gives up for good after 20 s: started side by side on a loaded host
        // (load 12 on 2 cores), etcd's `cluster` address was attached too late twice in one
        // run and the apiserver exited ("Error creating leases: context deadline exceeded").
        ctx.step("starting etcd and kube-apiserver");
        let kubelet_client = ca.client("kube-apiserver-kubelet-client", Some("system:masters"))?;
        let mut files = vec![
            ca_file.clone(),
            file("/pki/sa.pub", &sa_pub),
            secret("/pki/sa.key", &sa_key),
        ];
        files.extend(cert_files("apiserver", &api_cert));
        files.extend(cert_files("apiserver-kubelet", &kubelet_client));
        files.extend(cert_files("admin", &admin));
        files.push(kubeconfig_file("admin", &server));
        let mut api_spec = spec(&api_plan, &mgmt.name, files);
        api_spec
            .extra_networks
            .push((api_net.name.clone(), api_net.host(2)));
        api_spec.ports = vec![(api_port, 6443)];
        let etcd = ctx.start(spec(&etcd_plan, &mgmt.name, vec![])).await?;
        let apiserver = ctx.start(api_spec).await?;
        let host_kubeconfig = kubeconfig(
            &format!("https://127.0.0.1:{api_port}"),
            &ca.pair,
            &admin,
            "admin",
        );
        let client = client_for(&host_kubeconfig).await?;
        // kube-apiserver gives up for good when etcd does not answer within 20 s of its start.
        // Under load a dial made while its networks were being attached has hung that long
        // (seen once with four runs bringing clusters up at once, etcd serving all along); by
        // the time it has exited every network is attached, so it is started again, twice at
        // most, and the step says so.
        let restarts = AtomicU32::new(0);
        wait_until(
            "kube-apiserver /readyz",
            Duration::from_secs(90),
            || async {
                if let (false, code) = apiserver.state().await? {
                    let n = restarts.fetch_add(1, Ordering::Relaxed) + 1;
                    if n > API_RESTARTS {
                        return Err(Error::infra(format!(
                            "kube-apiserver exited before ready {n} times (last exit {code:?}); \
                             its log is in the case's logs"
                        )));
                    }
                    ctx.step(format!(
                        "kube-apiserver exited before ready (exit {code:?}): starting it again \
                         ({n} of {API_RESTARTS})"
                    ));
                    apiserver.start().await?;
                    return Ok(Observed::Not(format!("kube-apiserver restarted ({n})")));
                }
                let req = http::Request::get("/readyz")
                    .body(Vec::new())
                    .map_err(|e| api_err("build a request", e))?;
                Ok(match client.request_text(req).await {
                    Ok(body) if body.trim() == "ok" => Observed::Holds(()),
                    Ok(body) => Observed::Not(body),
                    Err(e) => Observed::Not(e.to_string()),
                })
            },
        )
        .await?;
        ctx.step("kube-apiserver ready");

        ctx.step("starting kube-controller-manager and kube-scheduler");
        let kcm_cert = ca.client("system:kube-controller-manager", None)?;
        let mut files = vec![
            ca_file.clone(),
            secret("/pki/ca.key", &ca.pair.key),
            secret("/pki/sa.key", &sa_key),
        ];
        files.extend(cert_files("kcm", &kcm_cert));
        files.push(kubeconfig_file("kcm", &server));
        let kcm_spec = spec(&kcm_plan, &mgmt.name, files);
        let sched_cert = ca.client("system:kube-scheduler", None)?;
        let mut files = vec![ca_file.clone()];
        files.extend(cert_files("scheduler", &sched_cert));
        files.push(kubeconfig_file("scheduler", &server));
        let sched_spec = spec(&sched_plan, &mgmt.name, files);
        let (controller_manager, scheduler) =
            futures::future::try_join(ctx.start(kcm_spec), ctx.start(sched_spec)).await?;
        // "Ready": a controller (serviceaccount) has acted, so kcm is connected and syncing.
        let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
        wait_until(
            "the default service account",
            Duration::from_secs(120),
            || async {
                Ok(match accounts.get_opt("default").await {
                    Ok(Some(_)) => Observed::Holds(()),
                    Ok(None) => Observed::Not("not created yet".into()),
                    Err(e) => Observed::Not(e.to_string()),
                })
            },
        )
        .await?;
        ctx.step("control plane ready");

        // Nodes: kubelet, and kube-proxy with one shared identity (system:kube-proxy, bound to
        // system:node-proxier by the bootstrap RBAC).
        let proxy_cert = ca.client("system:kube-proxy", None)?;
        let node_ips: Vec<Ipv4Addr> = (1..=config.nodes).map(|i| at.node(i)).collect();
        let mut node_specs = Vec::new();
        for i in 1..=config.nodes {
            let plan = plan::node(&images, at, i, config.kube_proxy);
            let cert = ca.client(&format!("system:node:{}", plan.name), Some("system:nodes"))?;
            let mut files = vec![
                ca_file.clone(),
                file("/pki/kubelet.yaml", &kubelet_config(timings)),
            ];
            files.extend(cert_files(&plan.name, &cert));
            files.push(kubeconfig_file(&plan.name, &server));
            if config.kube_proxy {
                files.extend(cert_files("kube-proxy", &proxy_cert));
                files.push(kubeconfig_file("kube-proxy", &server));
                files.push(file("/pki/kube-proxy.yaml", &kube_proxy_config(&plan.name)));
            }
            let mut s = spec(&plan, &mgmt.name, files);
            s.role = "k8s-node".into();
            s.system = true;
            s.tmpfs = vec!["/run".into(), "/tmp".into()];
            s.volumes = vec!["/var/lib/containerd".into(), "/var/lib/kubelet".into()];
            node_specs.push((i, s));
        }
        // Nodes come up side by side: start, preload the images, join the overlay.
        let node_ips_ref = &node_ips;
        let images_ref = &images;
        let node_list =
            futures::future::try_join_all(node_specs.into_iter().map(|(index, s)| async move {
                let node = ctx.start(s).await?;
                // ctr exits at once (and the archive stream breaks) while containerd is not
                // serving yet: wait for its socket, and retry an import that fails.
                let wait = node
                    .sh(
                        "for _ in $(seq 300); do [ -S /run/containerd/containerd.sock ] && \
                         ctr version >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1",
                    )
                    .await?;
                if !wait.success() {
                    return Err(Error::infra(format!(
                        "containerd did not start in {}: {}",
                        node.name(),
                        wait.summary()
                    )));
                }
                let mut last = String::new();
                for attempt in 1..=3 {
                    match node
                        .import_images(
                            &[images_ref.pause.as_str(), images_ref.workload.as_str()],
                            ["ctr", "-n", "k8s.io", "images", "import", "-"],
                        )
                        .await
                    {
                        Ok(out) if out.success() => {
                            last.clear();
                            break;
                        }
                        Ok(out) => last = out.summary(),
                        Err(e) => last = e.to_string(),
                    }
                    tracing::debug!(node = node.name(), attempt, "image preload failed: {last}");
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
                if !last.is_empty() {
                    return Err(Error::infra(format!(
                        "failed to preload images into {}: {last}",
                        node.name()
                    )));
                }
                let out = node.sh(&plan::overlay_script(index, node_ips_ref)).await?;
                if !out.success() {
                    return Err(Error::infra(format!(
                        "failed to connect {} to the other nodes' pod subnets: {}",
                        node.name(),
                        out.summary()
                    )));
                }
                Ok(node)
            }))
            .await?;
        let cluster = Self {
            etcd,
            apiserver,
            controller_manager,
            scheduler,
            nodes: node_list,
            network: net.name.clone(),
            node_ips,
            api_port,
            images,
            ca: ca.pair.clone(),
            admin,
            client,
        };
        // Ready, and without the node lifecycle controller's not-ready taint, which a node that
        // has just turned Ready keeps until the controller's next pass (a node-monitor-period):
        // until then the scheduler would not place a pod there.
        let want = usize::from(config.nodes);
        wait_until(
            "every node to be Ready and untainted by the node lifecycle controller",
            Duration::from_secs(120),
            || async {
                let list = cluster.nodes_status().await?;
                let up = |n: &Node| node_ready(n) == "True" && lifecycle_taints(n).is_empty();
                Ok(if list.iter().filter(|n| up(n)).count() == want {
                    Observed::Holds(())
                } else {
                    Observed::Not(
                        list.iter()
                            .map(|n| {
                                format!(
                                    "{}={} {:?}",
                                    node_name(n),
                                    node_ready(n),
                                    lifecycle_taints(n)
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(", "),
                    )
                })
            },
        )
        .await?;
        ctx.step(format!("{} node(s) Ready", config.nodes));
        Ok(cluster)
    }

    /// A kube-rs client acting as cluster admin (the PKI's `kubernetes-admin`, group
    /// `system:masters`), talking to `https://127.0.0.1:<api_port>` and trusting only the
    /// cluster's CA.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// A kubeconfig for the host: cluster admin at `https://127.0.0.1:<api_port>`, with the
    /// credentials embedded, usable by any kubectl as is.
    pub fn host_kubeconfig(&self) -> String {
        kubeconfig(
            &format!("https://127.0.0.1:{}", self.api_port),
            &self.ca,
            &self.admin,
            "admin",
        )
    }

    /// Runs `kubectl ARGS` as cluster admin inside the apiserver container (ordeal's
    /// control-plane image has kubectl; a registry apiserver image does not).
    pub async fn kubectl(&self, args: &[&str]) -> Result<ExecOutput> {
        let mut cmd = vec![
            "kubectl",
            "--kubeconfig",
            KUBECONFIG,
            "--request-timeout=10s",
        ];
        cmd.extend_from_slice(args);
        self.apiserver.exec(cmd).await
    }

    /// Applies `manifest` (YAML) with kubectl inside the apiserver container.
    pub async fn apply(&self, manifest: &str) -> Result<()> {
        let input =
            futures::stream::iter([Ok::<_, String>(bytes::Bytes::from(manifest.to_owned()))]);
        let out = self
            .apiserver
            .exec_with_input(
                ["kubectl", "--kubeconfig", KUBECONFIG, "apply", "-f", "-"],
                input,
                Duration::from_secs(30),
            )
            .await?;
        if out.success() {
            Ok(())
        } else {
            Err(Error::infra(format!(
                "kubectl apply failed: {}",
                out.summary()
            )))
        }
    }

    /// The handle checks work through: the admin client, namespace `default`, and the
    /// `workload` image the nodes were preloaded with.
    pub fn target(&self) -> KubeTarget {
        KubeTarget::new(
            self.client(),
            "default",
            &plan::containerd_reference(&self.images.workload),
        )
    }

    /// Every node with its conditions.
    pub async fn nodes_status(&self) -> Result<Vec<Node>> {
        self.target().nodes().await
    }

    /// Pods in the default namespace matching `selector` (`app=web`), or all with `""`.
    pub async fn pods(&self, selector: &str) -> Result<Vec<Pod>> {
        self.target().pods(selector).await
    }

    /// A pod's log (default namespace), read through the apiserver from its kubelet.
    pub async fn logs(&self, pod: &str) -> Result<String> {
        self.target().logs(pod).await
    }

    /// The controller-manager's timings, read back from the arguments its process was started
    /// with (the engine's record, so it works in images without a shell).
    pub async fn live_timings(&self) -> Result<KubeTimings> {
        let args = self.controller_manager.args().await?;
        let flag = |name: &str, default: Duration| {
            args.iter()
                .find_map(|a| a.strip_prefix(&format!("--{name}=")))
                .and_then(crate::fault::schedule::parse_duration)
                .unwrap_or(default)
        };
        Ok(KubeTimings {
            node_monitor_grace_period: flag(
                "node-monitor-grace-period",
                KubeTimings::DEFAULTS.node_monitor_grace_period,
            ),
            node_monitor_period: flag(
                "node-monitor-period",
                KubeTimings::DEFAULTS.node_monitor_period,
            ),
        })
    }
}

/// `eventually` for bring-up: a timeout is an infrastructure error (the cluster did not come
/// up), never a failed check.
async fn wait_until<F, Fut>(what: &str, timeout: Duration, probe: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Observed<()>>>,
{
    eventually(what, timeout, Duration::from_millis(250), probe)
        .await
        .map_err(|e| match e {
            CaseError::Failed(m) | CaseError::Infra(m) => {
                Error::infra(format!("cluster did not come up: {m}"))
            }
        })
}
