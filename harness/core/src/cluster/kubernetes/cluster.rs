//! Bringing a cluster up inside a case, and the calls suites make on it.

use std::{net::Ipv4Addr, sync::Arc, time::Duration};

use serde::Deserialize;

use super::pki::{Ca, Pair, apiserver_dns_names, service_account_keys};
use crate::{
    Error, Result,
    check::{CaseError, Observed, eventually},
    progress::Step,
    run::CaseCtx,
    runtime::{Container, ContainerSpec, ExecOutput},
};

/// Timings set on the controller-manager (and read back from its live command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KubeTimings {
    /// `--node-monitor-grace-period`: silence before a node is NotReady.
    pub node_monitor_grace_period: Duration,
    /// `--node-monitor-period`: how often the controller checks.
    pub node_monitor_period: Duration,
}

impl KubeTimings {
    /// The fast profile: seconds instead of the 50 s default.
    pub const FAST: Self = Self {
        node_monitor_grace_period: Duration::from_secs(10),
        node_monitor_period: Duration::from_secs(2),
    };
    /// Kubernetes 1.35's defaults.
    pub const DEFAULTS: Self = Self {
        node_monitor_grace_period: Duration::from_secs(50),
        node_monitor_period: Duration::from_secs(5),
    };
}

/// A running cluster of one case.
#[derive(Debug)]
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
}

/// A node as `kubectl get nodes -o json` shows it (the fields the suites read).
#[derive(Debug, Clone, Deserialize)]
pub struct Node {
    /// Metadata.
    pub metadata: Meta,
    /// Status.
    pub status: NodeStatus,
}

/// Object metadata.
#[derive(Debug, Clone, Deserialize)]
pub struct Meta {
    /// Name.
    pub name: String,
}

/// Node status.
#[derive(Debug, Clone, Deserialize)]
pub struct NodeStatus {
    /// Conditions.
    #[serde(default)]
    pub conditions: Vec<NodeCondition>,
}

/// One node condition.
#[derive(Debug, Clone, Deserialize)]
pub struct NodeCondition {
    /// `Ready`, `MemoryPressure`...
    #[serde(rename = "type")]
    pub kind: String,
    /// `True`, `False`, `Unknown`.
    pub status: String,
}

impl Node {
    /// The Ready condition's status (`True`, `False`, `Unknown`), or `missing`.
    pub fn ready(&self) -> &str {
        self.status
            .conditions
            .iter()
            .find(|c| c.kind == "Ready")
            .map_or("missing", |c| c.status.as_str())
    }
}

/// A pod as `kubectl get pods -o json` shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct Pod {
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    #[serde(default)]
    pub spec: PodSpec,
    /// Status.
    #[serde(default)]
    pub status: PodStatus,
}

/// The part of a pod spec the suites read.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct PodSpec {
    /// Node it was scheduled to.
    #[serde(default, rename = "nodeName")]
    pub node_name: Option<String>,
}

/// The part of a pod status the suites read.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct PodStatus {
    /// `Pending`, `Running`, `Succeeded`, `Failed`.
    #[serde(default)]
    pub phase: Option<String>,
}

#[derive(Deserialize)]
struct List<T> {
    items: Vec<T>,
}

const KUBECONFIG: &str = "/pki/admin.kubeconfig";
const SUBNET_PREFIX: &str = "10.244";

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

fn kubelet_config() -> String {
    "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfailCgroupV1: false\ncgroupDriver: cgroupfs\ncgroupRoot: /kubelet\ncontainerRuntimeEndpoint: unix:///run/containerd/containerd.sock\nfailSwapOn: false\noomScoreAdj: 0\nimageGCHighThresholdPercent: 100\nevictionHard: {nodefs.available: \"0%\", nodefs.inodesFree: \"0%\", imagefs.available: \"0%\"}\nauthentication: {anonymous: {enabled: false}, webhook: {enabled: true}, x509: {clientCAFile: /pki/ca.crt}}\nauthorization: {mode: Webhook}\nclusterDomain: cluster.local\n".to_owned()
}

impl KubeCluster {
    /// Starts a control plane and `nodes` nodes for the case, and waits until every node is
    /// Ready. Images: `k8s-control-plane`, `k8s-node`, `pause`, `workload`.
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
        let step = Step::start(format!(
            "{}: Kubernetes control plane + {nodes} node(s)",
            ctx.name()
        ));
        let result = Self::bring_up(ctx, nodes, timings, kcm_extra).await;
        step.finish(if result.is_ok() { "ready" } else { "failed" });
        result
    }

    async fn bring_up(
        ctx: &CaseCtx,
        nodes: usize,
        timings: KubeTimings,
        kcm_extra: &[&str],
    ) -> Result<Self> {
        let (cp_image, node_image) = (ctx.image("k8s-control-plane")?, ctx.image("k8s-node")?);
        let (pause_image, workload_image) = (ctx.image("pause")?, ctx.image("workload")?);
        // Both networks are internal: the cluster talks to nothing but itself. `mgmt` is every
        // container's first interface; `cluster` carries the fixed addresses and is the one
        // faults partition.
        let mgmt = ctx.network("mgmt", true).await?;
        let net = ctx.network("cluster", true).await?;
        let ip = |host: u8| net.host(host);
        let api_ip = ip(3);
        let server = format!("https://{api_ip}:6443");

        let ca = Ca::generate("ordeal-kubernetes-ca")?;
        let ips = [
            std::net::IpAddr::from([127, 0, 0, 1]),
            std::net::IpAddr::from([10, 96, 0, 1]),
            api_ip.into(),
        ];
        let api_cert = ca.server("kube-apiserver", &apiserver_dns_names(&["apiserver"]), &ips)?;
        let (sa_key, sa_pub) = service_account_keys()?;
        let ca_file = file("/pki/ca.crt", &ca.pair.cert);

        let spec = |name: &str, host: u8, files: Vec<(String, u32, Vec<u8>)>, cmd: Vec<String>| {
            let mut s = ContainerSpec::new(name, &cp_image, format!("k8s-{name}"))
                .cmd(cmd)
                .network(&mgmt.name);
            s.extra_networks = vec![(net.name.clone(), ip(host))];
            s.files = files;
            s
        };
        let args = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();

        ctx.step("starting etcd");
        let etcd = ctx
            .start(spec(
                "etcd",
                2,
                vec![],
                args(&[
                    "etcd",
                    "--name=etcd",
                    "--data-dir=/var/lib/etcd",
                    "--unsafe-no-fsync",
                    // Addresses, not `localhost`: etcd's default peer URL makes it resolve a
                    // name, and a slow embedded DNS answer made it exit at start.
                    "--listen-peer-urls=http://127.0.0.1:2380",
                    "--initial-advertise-peer-urls=http://127.0.0.1:2380",
                    "--initial-cluster=etcd=http://127.0.0.1:2380",
                    "--listen-client-urls=http://0.0.0.0:2379",
                    &format!("--advertise-client-urls=http://{}:2379", ip(2)),
                ]),
            ))
            .await?;

        ctx.step("starting kube-apiserver");
        let admin = ca.client("kubernetes-admin", Some("system:masters"))?;
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
        let api_spec = spec(
            "apiserver",
            3,
            files,
            args(&[
                "kube-apiserver",
                &format!("--etcd-servers=http://{}:2379", ip(2)),
                &format!("--advertise-address={api_ip}"),
                "--secure-port=6443",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--client-ca-file=/pki/ca.crt",
                "--tls-cert-file=/pki/apiserver.crt",
                "--tls-private-key-file=/pki/apiserver.key",
                "--kubelet-client-certificate=/pki/apiserver-kubelet.crt",
                "--kubelet-client-key=/pki/apiserver-kubelet.key",
                "--kubelet-preferred-address-types=InternalIP,Hostname",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                "--allow-privileged=true",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--service-account-key-file=/pki/sa.pub",
                "--service-account-signing-key-file=/pki/sa.key",
            ]),
        );
        let apiserver = ctx.start(api_spec).await?;
        wait_kubectl(
            &apiserver,
            &["get", "--raw=/readyz"],
            "kube-apiserver /readyz",
            Duration::from_secs(90),
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
        let mut kcm_args: Vec<String> = [
            "kube-controller-manager",
            "--kubeconfig=/pki/kcm.kubeconfig",
            "--root-ca-file=/pki/ca.crt",
            "--service-account-private-key-file=/pki/sa.key",
            "--use-service-account-credentials",
            "--cluster-signing-cert-file=/pki/ca.crt",
            "--cluster-signing-key-file=/pki/ca.key",
            "--leader-elect=false",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
        kcm_args.push(format!(
            "--node-monitor-grace-period={}s",
            timings.node_monitor_grace_period.as_secs()
        ));
        kcm_args.push(format!(
            "--node-monitor-period={}s",
            timings.node_monitor_period.as_secs()
        ));
        kcm_args.extend(kcm_extra.iter().map(|a| (*a).to_owned()));
        let kcm_refs: Vec<&str> = kcm_args.iter().map(String::as_str).collect();
        let controller_manager = ctx
            .start(spec("controller-manager", 4, files, args(&kcm_refs)))
            .await?;
        let sched_cert = ca.client("system:kube-scheduler", None)?;
        let mut files = vec![ca_file.clone()];
        files.extend(cert_files("scheduler", &sched_cert));
        files.push(kubeconfig_file("scheduler", &server));
        let scheduler = ctx
            .start(spec(
                "scheduler",
                5,
                files,
                args(&[
                    "kube-scheduler",
                    "--kubeconfig=/pki/scheduler.kubeconfig",
                    "--leader-elect=false",
                ]),
            ))
            .await?;
        wait_kubectl(
            &apiserver,
            &["get", "serviceaccount", "default"],
            "the default service account",
            Duration::from_secs(120),
        )
        .await?;
        ctx.step("control plane ready");

        // Nodes.
        let sandbox = format!("docker.io/{pause_image}");
        let mut node_list = Vec::new();
        let mut node_ips = Vec::new();
        for i in 1..=nodes {
            let name = format!("node-{i}");
            let host = u8::try_from(10 + i).map_err(|_| Error::usage("at most 200 nodes"))?;
            let node_ip = ip(host);
            let cert = ca.client(&format!("system:node:{name}"), Some("system:nodes"))?;
            let mut files = vec![
                ca_file.clone(),
                file("/pki/kubelet.yaml", &kubelet_config()),
            ];
            files.extend(cert_files(&name, &cert));
            files.push(kubeconfig_file(&name, &server));
            let mut s = ContainerSpec::new(&name, &node_image, "k8s-node")
                .network(&mgmt.name)
                .env("ORDEAL_POD_CIDR", format!("{SUBNET_PREFIX}.{i}.0/24"))
                .env("ORDEAL_WAIT_IP", node_ip.to_string())
                .env("ORDEAL_SANDBOX_IMAGE", &sandbox)
                .cmd(args(&[
                    "--config=/pki/kubelet.yaml",
                    &format!("--kubeconfig=/pki/{name}.kubeconfig"),
                    &format!("--hostname-override={name}"),
                    &format!("--node-ip={node_ip}"),
                ]));
            s.system = true;
            s.tmpfs = vec!["/run".into(), "/tmp".into()];
            s.volumes = vec!["/var/lib/containerd".into(), "/var/lib/kubelet".into()];
            s.extra_networks = vec![(net.name.clone(), node_ip)];
            s.files = files;
            node_list.push(ctx.start(s).await?);
            node_ips.push(node_ip);
        }
        for (i, node) in node_list.iter().enumerate() {
            let out = node
                .import_images(
                    &[pause_image.as_str(), workload_image.as_str()],
                    ["ctr", "-n", "k8s.io", "images", "import", "-"],
                )
                .await?;
            if !out.success() {
                return Err(Error::infra(format!(
                    "failed to preload images into {}: {}",
                    node.name(),
                    out.summary()
                )));
            }
            for (j, other) in node_ips.iter().enumerate() {
                if i != j {
                    let route = format!(
                        "ip route replace {SUBNET_PREFIX}.{}.0/24 via {other}",
                        j + 1
                    );
                    let out = node.sh(&route).await?;
                    if !out.success() {
                        return Err(Error::infra(format!(
                            "failed to add a pod route on {}: {}",
                            node.name(),
                            out.summary()
                        )));
                    }
                }
            }
        }
        let cluster = Self {
            etcd,
            apiserver,
            controller_manager,
            scheduler,
            nodes: node_list,
            network: net.name.clone(),
            node_ips,
        };
        let want = nodes;
        eventually(
            "every node to be Ready",
            Duration::from_secs(120),
            Duration::from_millis(500),
            || async {
                let list = cluster.nodes_status().await?;
                let ready = list.iter().filter(|n| n.ready() == "True").count();
                Ok(if ready == want {
                    Observed::Holds(())
                } else {
                    Observed::Not(
                        list.iter()
                            .map(|n| format!("{}={}", n.metadata.name, n.ready()))
                            .collect::<Vec<_>>()
                            .join(", "),
                    )
                })
            },
        )
        .await
        .map_err(|e| match e {
            CaseError::Failed(m) | CaseError::Infra(m) => {
                Error::infra(format!("cluster did not come up: {m}"))
            }
        })?;
        ctx.step(format!("{nodes} node(s) Ready"));
        Ok(cluster)
    }

    /// Runs `kubectl ARGS` as cluster admin inside the apiserver container.
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

    /// Applies `manifest` (YAML).
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

    async fn json<T: for<'de> Deserialize<'de>>(&self, args: &[&str]) -> Result<T> {
        let mut a = args.to_vec();
        a.extend_from_slice(&["-o", "json"]);
        let out = self.kubectl(&a).await?;
        if !out.success() {
            return Err(Error::infra(format!(
                "kubectl {} failed: {}",
                args.join(" "),
                out.summary()
            )));
        }
        serde_json::from_str(&out.stdout)
            .map_err(|e| Error::infra(format!("kubectl {}: unexpected JSON: {e}", args.join(" "))))
    }

    /// Every node with its conditions.
    pub async fn nodes_status(&self) -> Result<Vec<Node>> {
        Ok(self.json::<List<Node>>(&["get", "nodes"]).await?.items)
    }

    /// Pods in the default namespace matching `selector` (`app=web`), or all with `""`.
    pub async fn pods(&self, selector: &str) -> Result<Vec<Pod>> {
        let mut args = vec!["get", "pods"];
        if !selector.is_empty() {
            args.extend_from_slice(&["-l", selector]);
        }
        Ok(self.json::<List<Pod>>(&args).await?.items)
    }

    /// A pod's log.
    pub async fn logs(&self, pod: &str) -> Result<String> {
        let out = self.kubectl(&["logs", pod]).await?;
        if out.success() {
            Ok(out.stdout)
        } else {
            Err(Error::infra(format!(
                "kubectl logs {pod}: {}",
                out.summary()
            )))
        }
    }

    /// The controller-manager's timings, read back from its live command line.
    pub async fn live_timings(&self) -> Result<KubeTimings> {
        let out = self
            .controller_manager
            .sh("tr '\\0' '\\n' < /proc/1/cmdline")
            .await?;
        let flag = |name: &str, default: Duration| {
            out.stdout
                .lines()
                .find_map(|l| l.strip_prefix(&format!("--{name}=")))
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

async fn wait_kubectl(
    apiserver: &Container,
    args: &[&str],
    what: &str,
    timeout: Duration,
) -> Result<()> {
    let mut cmd = vec![
        "kubectl",
        "--kubeconfig",
        KUBECONFIG,
        "--request-timeout=5s",
    ];
    cmd.extend_from_slice(args);
    eventually(what, timeout, Duration::from_millis(250), || async {
        let out = apiserver.exec(cmd.clone()).await?;
        Ok(if out.success() {
            Observed::Holds(())
        } else {
            Observed::Not(out.summary())
        })
    })
    .await
    .map_err(|e| match e {
        CaseError::Failed(m) | CaseError::Infra(m) => {
            Error::infra(format!("cluster did not come up: {m}"))
        }
    })
}
