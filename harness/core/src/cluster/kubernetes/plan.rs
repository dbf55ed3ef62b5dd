//! The cluster as data: the image, entrypoint, arguments and environment of every component,
//! computed before anything starts, so a plan can be printed and tested without Docker.

use std::{net::Ipv4Addr, time::Duration};

use crate::Result;

/// Pod subnets are `10.244.<node index>.0/24`.
pub const POD_SUBNET_PREFIX: &str = "10.244";
/// Every pod subnet together (kube-proxy's `clusterCIDR`).
pub const CLUSTER_CIDR: &str = "10.244.0.0/16";
/// ClusterIP services come from here; the first address is the `kubernetes` service.
pub const SERVICE_CIDR: &str = "10.96.0.0/16";

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

/// The image each component runs. By default the four control-plane components share
/// ordeal's `k8s-control-plane` image; each can be replaced alone by a registry image
/// (`--image kube-apiserver=registry.k8s.io/kube-apiserver:v1.35.4`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeImages {
    /// etcd (`etcd`).
    pub etcd: String,
    /// kube-apiserver (`kube-apiserver`).
    pub apiserver: String,
    /// kube-controller-manager (`kube-controller-manager`).
    pub controller_manager: String,
    /// kube-scheduler (`kube-scheduler`).
    pub scheduler: String,
    /// The node image (`k8s-node`): containerd, kubelet, kube-proxy and ordeal's
    /// `node-entrypoint` contract (`ORDEAL_*` variables, kubelet flags as arguments).
    pub node: String,
    /// The pod sandbox image (`pause`), preloaded into every node.
    pub pause: String,
    /// The workload image (`workload`), preloaded into every node.
    pub workload: String,
}

impl KubeImages {
    /// The image names `resolve` looks up, in field order.
    pub const NAMES: [&'static str; 7] = [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "k8s-node",
        "pause",
        "workload",
    ];

    /// Looks every component up by its image name (see [`Self::NAMES`]).
    pub fn resolve(get: impl Fn(&str) -> Result<String>) -> Result<Self> {
        Ok(Self {
            etcd: get("etcd")?,
            apiserver: get("kube-apiserver")?,
            controller_manager: get("kube-controller-manager")?,
            scheduler: get("kube-scheduler")?,
            node: get("k8s-node")?,
            pause: get("pause")?,
            workload: get("workload")?,
        })
    }

    /// Every distinct reference, for checking that they are present before starting.
    pub fn references(&self) -> Vec<String> {
        let mut refs = vec![
            self.etcd.clone(),
            self.apiserver.clone(),
            self.controller_manager.clone(),
            self.scheduler.clone(),
            self.node.clone(),
            self.pause.clone(),
            self.workload.clone(),
        ];
        refs.sort();
        refs.dedup();
        refs
    }
}

/// How containerd names an image reference after import: Docker's short names get their
/// implicit registry (`ordeal/pause:x` becomes `docker.io/ordeal/pause:x`, `busybox:1.36`
/// becomes `docker.io/library/busybox:1.36`); references naming a registry stay as they are.
pub fn containerd_reference(reference: &str) -> String {
    let first = reference.split('/').next().unwrap_or_default();
    if reference.contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost")
    {
        reference.to_owned()
    } else if reference.contains('/') {
        format!("docker.io/{reference}")
    } else {
        format!("docker.io/library/{reference}")
    }
}

/// The fixed addresses of a cluster on its network's /24.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addresses {
    /// The /24's network address.
    pub subnet: Ipv4Addr,
}

impl Addresses {
    fn host(self, host: u8) -> Ipv4Addr {
        let [a, b, c, _] = self.subnet.octets();
        Ipv4Addr::new(a, b, c, host)
    }

    /// etcd.
    pub fn etcd(self) -> Ipv4Addr {
        self.host(2)
    }

    /// kube-apiserver.
    pub fn apiserver(self) -> Ipv4Addr {
        self.host(3)
    }

    /// kube-controller-manager.
    pub fn controller_manager(self) -> Ipv4Addr {
        self.host(4)
    }

    /// kube-scheduler.
    pub fn scheduler(self) -> Ipv4Addr {
        self.host(5)
    }

    /// Node `index` (1-based): `.11`, `.12`...
    pub fn node(self, index: u8) -> Ipv4Addr {
        self.host(10 + index)
    }
}

/// One container of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// Container name (`etcd`, `apiserver`, `controller-manager`, `scheduler`, `node-1`...).
    pub name: String,
    /// Image reference.
    pub image: String,
    /// Entrypoint override (the component's binary); `None` keeps the image's (nodes).
    pub entrypoint: Option<String>,
    /// Arguments.
    pub args: Vec<String>,
    /// Environment.
    pub env: Vec<(String, String)>,
    /// Address on the cluster network.
    pub ip: Ipv4Addr,
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// etcd, kube-apiserver, kube-controller-manager and kube-scheduler, in start order. Each
/// entrypoint is the binary's absolute path, which is where both ordeal's image and the
/// registry.k8s.io images keep it, so the same arguments serve either. `kcm_extra` is appended
/// to the controller-manager's flags (`--controllers=*,-taint-eviction-controller`, say).
/// `timings: None` leaves node monitoring at kube-controller-manager's defaults.
pub fn control_plane(
    images: &KubeImages,
    at: Addresses,
    timings: Option<KubeTimings>,
    kcm_extra: &[String],
) -> Vec<Component> {
    let etcd = at.etcd();
    let api = at.apiserver();
    let component =
        |name: &str, image: &str, binary: &str, ip: Ipv4Addr, args: Vec<String>| Component {
            name: name.to_owned(),
            image: image.to_owned(),
            entrypoint: Some(format!("/usr/local/bin/{binary}")),
            args,
            env: Vec::new(),
            ip,
        };
    let mut etcd_args = strings(&[
        "--name=etcd",
        "--data-dir=/var/lib/etcd",
        "--unsafe-no-fsync",
        // Addresses, not `localhost`: etcd's default peer URL makes it resolve a name, and a
        // slow embedded DNS answer made it exit at start.
        "--listen-peer-urls=http://127.0.0.1:2380",
        "--initial-advertise-peer-urls=http://127.0.0.1:2380",
        "--initial-cluster=etcd=http://127.0.0.1:2380",
        "--listen-client-urls=http://0.0.0.0:2379",
    ]);
    etcd_args.push(format!("--advertise-client-urls=http://{etcd}:2379"));
    let mut api_args = vec![
        format!("--etcd-servers=http://{etcd}:2379"),
        format!("--advertise-address={api}"),
        format!("--service-cluster-ip-range={SERVICE_CIDR}"),
    ];
    api_args.extend(strings(&[
        "--secure-port=6443",
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
    ]));
    let mut kcm_args = strings(&[
        "--kubeconfig=/pki/kcm.kubeconfig",
        "--root-ca-file=/pki/ca.crt",
        "--service-account-private-key-file=/pki/sa.key",
        "--use-service-account-credentials",
        "--cluster-signing-cert-file=/pki/ca.crt",
        "--cluster-signing-key-file=/pki/ca.key",
        "--leader-elect=false",
    ]);
    if let Some(timings) = timings {
        kcm_args.push(format!(
            "--node-monitor-grace-period={}s",
            timings.node_monitor_grace_period.as_secs()
        ));
        kcm_args.push(format!(
            "--node-monitor-period={}s",
            timings.node_monitor_period.as_secs()
        ));
    }
    kcm_args.extend(kcm_extra.iter().cloned());
    vec![
        component("etcd", &images.etcd, "etcd", etcd, etcd_args),
        component(
            "apiserver",
            &images.apiserver,
            "kube-apiserver",
            api,
            api_args,
        ),
        component(
            "controller-manager",
            &images.controller_manager,
            "kube-controller-manager",
            at.controller_manager(),
            kcm_args,
        ),
        component(
            "scheduler",
            &images.scheduler,
            "kube-scheduler",
            at.scheduler(),
            strings(&[
                "--kubeconfig=/pki/scheduler.kubeconfig",
                "--leader-elect=false",
            ]),
        ),
    ]
}

/// Node `index` (1-based): kubelet's flags as arguments to the node entrypoint, and, with
/// `kube_proxy`, kube-proxy beside it (`ORDEAL_KUBE_PROXY_ARGS`).
pub fn node(images: &KubeImages, at: Addresses, index: u8, kube_proxy: bool) -> Component {
    let name = format!("node-{index}");
    let ip = at.node(index);
    let mut env = vec![
        (
            "ORDEAL_POD_CIDR".to_owned(),
            format!("{POD_SUBNET_PREFIX}.{index}.0/24"),
        ),
        ("ORDEAL_WAIT_IP".to_owned(), ip.to_string()),
        (
            "ORDEAL_SANDBOX_IMAGE".to_owned(),
            containerd_reference(&images.pause),
        ),
    ];
    if kube_proxy {
        env.push((
            "ORDEAL_KUBE_PROXY_ARGS".to_owned(),
            "--config=/pki/kube-proxy.yaml".to_owned(),
        ));
    }
    Component {
        args: vec![
            "--config=/pki/kubelet.yaml".to_owned(),
            format!("--kubeconfig=/pki/{name}.kubeconfig"),
            format!("--hostname-override={name}"),
            format!("--node-ip={ip}"),
        ],
        name,
        image: images.node.clone(),
        entrypoint: None,
        env,
        ip,
    }
}

/// The VXLAN that carries pod traffic between nodes: its id, and the /24 of its addresses
/// (`.<node index>`), inside the node containers only.
pub const OVERLAY_VNI: u32 = 4244;
/// See [`OVERLAY_VNI`].
pub const OVERLAY_PREFIX: &str = "10.245.0";

/// The shell script that connects node `index` (1-based) to every other node's pod subnet.
///
/// Pod traffic between nodes is carried in VXLAN (UDP between the nodes' cluster addresses),
/// not routed bare over the cluster network: that network is `--internal`, and Docker drops
/// bridged packets whose destination is outside an internal network's subnet (a pod IP) when
/// the host has `bridge-nf-call-iptables=1`. The outer packets stay inside the subnet, so
/// node-to-node partitions by cluster address still cut pod traffic, and the routes, which go
/// through `vxlan0` rather than the cluster interface, survive a network reconnect.
pub fn overlay_script(index: u8, node_ips: &[Ipv4Addr]) -> String {
    let me = usize::from(index) - 1;
    let local = node_ips[me];
    use std::fmt::Write as _;
    let mut script = format!(
        "set -e; ip link add vxlan0 type vxlan id {OVERLAY_VNI} local {local} dstport 4789; \
ip addr add {OVERLAY_PREFIX}.{index}/24 dev vxlan0; ip link set vxlan0 up"
    );
    for (j, peer) in node_ips.iter().enumerate() {
        if j != me {
            let n = j + 1;
            let _ = write!(
                script,
                "; bridge fdb append 00:00:00:00:00:00 dev vxlan0 dst {peer}; \
ip route replace {POD_SUBNET_PREFIX}.{n}.0/24 via {OVERLAY_PREFIX}.{n} dev vxlan0"
            );
        }
    }
    script
}

/// The KubeletConfiguration every node gets (see `shared/KUBERNETES.md` §3.4).
///
/// With shortened node-monitor `timings`, the node lease is shortened with them. The kubelet
/// renews its lease every quarter of `nodeLeaseDurationSeconds` (40 s by default, so every
/// 10 s), and the node lifecycle controller marks a node whose lease is older than the grace
/// period Unknown and taints it `unreachable`: with a 10 s grace period a healthy idle node
/// flapped twice in 80 s (seen from `ordeal up`, which left certify's spread check one
/// schedulable node). The lease is set to 4/5 of the grace period, which renews it 5 times per
/// grace period: the kubelet's own ratio at the 50 s default (40 s lease, 10 s renewals).
/// At the components' defaults (`None`) the kubelet keeps its own.
pub fn kubelet_config(timings: Option<KubeTimings>) -> String {
    use std::fmt::Write as _;
    let mut config = KUBELET_CONFIG.to_owned();
    if let Some(t) = timings {
        let lease = (t.node_monitor_grace_period.as_secs() * 4 / 5).max(1);
        let _ = writeln!(config, "nodeLeaseDurationSeconds: {lease}");
    }
    config
}

const KUBELET_CONFIG: &str = "apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /kubelet
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
failSwapOn: false
oomScoreAdj: 0
imageGCHighThresholdPercent: 100
evictionHard: {nodefs.available: \"0%\", nodefs.inodesFree: \"0%\", imagefs.available: \"0%\"}
authentication: {anonymous: {enabled: false}, webhook: {enabled: true}, x509: {clientCAFile: /pki/ca.crt}}
authorization: {mode: Webhook}
clusterDomain: cluster.local
";

/// kube-proxy's configuration on node `node`: iptables mode (this kernel has no IPVS), and
/// every conntrack value 0, which leaves the kernel's VM-wide settings (`nf_conntrack_max`, the
/// hash size, the TCP timeouts) alone.
pub fn kube_proxy_config(node: &str) -> String {
    format!(
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {{kubeconfig: /pki/kube-proxy.kubeconfig}}
hostnameOverride: {node}
clusterCIDR: {CLUSTER_CIDR}
conntrack: {{maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}}
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::{ImageSet, Recipes, default_recipes_dir};

    const AT: Addresses = Addresses {
        subnet: Ipv4Addr::new(10, 213, 7, 0),
    };

    fn upstream() -> KubeImages {
        let recipes = Recipes::load(&default_recipes_dir()).unwrap();
        let set = ImageSet::new(
            &recipes,
            &[
                "etcd=registry.k8s.io/etcd:3.6.5-0".to_owned(),
                "kube-apiserver=registry.k8s.io/kube-apiserver:v1.35.4".to_owned(),
                "kube-controller-manager=registry.k8s.io/kube-controller-manager:v1.35.4"
                    .to_owned(),
                "kube-scheduler=registry.k8s.io/kube-scheduler:v1.35.4".to_owned(),
                "k8s-node=registry.example:5000/ordeal-node:1.35.4".to_owned(),
                "pause=registry.k8s.io/pause:3.10".to_owned(),
            ],
        )
        .unwrap();
        KubeImages::resolve(|n| set.get(n)).unwrap()
    }

    #[test]
    fn by_default_every_control_plane_component_runs_ordeals_image() {
        let recipes = Recipes::load(&default_recipes_dir()).unwrap();
        let set = ImageSet::new(&recipes, &[]).unwrap();
        let images = KubeImages::resolve(|n| set.get(n)).unwrap();
        let cp = recipes.reference("k8s-control-plane").unwrap();
        for c in control_plane(&images, AT, Some(KubeTimings::FAST), &[]) {
            assert_eq!(c.image, cp, "{}", c.name);
        }
        assert_eq!(images.node, recipes.reference("k8s-node").unwrap());
        assert_eq!(images.references().len(), 4, "cp, node, pause, workload");
    }

    #[test]
    fn without_timings_node_monitoring_is_left_at_the_defaults() {
        let images = upstream();
        let flags = |timings| {
            control_plane(&images, AT, timings, &[])
                .into_iter()
                .find(|c| c.name == "controller-manager")
                .unwrap()
                .args
                .into_iter()
                .filter(|a| a.starts_with("--node-monitor"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            flags(Some(KubeTimings::FAST)),
            [
                "--node-monitor-grace-period=10s",
                "--node-monitor-period=2s"
            ]
        );
        assert!(flags(None).is_empty());
    }

    #[test]
    fn registry_images_are_mapped_per_component_with_the_binary_as_entrypoint() {
        let images = upstream();
        let extra = ["--controllers=*,-taint-eviction-controller".to_owned()];
        let plan = control_plane(&images, AT, Some(KubeTimings::FAST), &extra);
        let got: Vec<(&str, &str, Option<&str>)> = plan
            .iter()
            .map(|c| (c.name.as_str(), c.image.as_str(), c.entrypoint.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "etcd",
                    "registry.k8s.io/etcd:3.6.5-0",
                    Some("/usr/local/bin/etcd")
                ),
                (
                    "apiserver",
                    "registry.k8s.io/kube-apiserver:v1.35.4",
                    Some("/usr/local/bin/kube-apiserver")
                ),
                (
                    "controller-manager",
                    "registry.k8s.io/kube-controller-manager:v1.35.4",
                    Some("/usr/local/bin/kube-controller-manager")
                ),
                (
                    "scheduler",
                    "registry.k8s.io/kube-scheduler:v1.35.4",
                    Some("/usr/local/bin/kube-scheduler")
                ),
            ]
        );
        // Arguments are flags only (the binary is the entrypoint), wired to the fixed addresses.
        for c in &plan {
            assert!(c.args.iter().all(|a| a.starts_with("--")), "{:?}", c.args);
        }
        assert!(
            plan[0]
                .args
                .contains(&"--advertise-client-urls=http://10.213.7.2:2379".into())
        );
        assert!(
            plan[1]
                .args
                .contains(&"--etcd-servers=http://10.213.7.2:2379".into())
        );
        assert!(
            plan[1]
                .args
                .contains(&"--advertise-address=10.213.7.3".into())
        );
        assert!(
            plan[1]
                .args
                .contains(&"--service-cluster-ip-range=10.96.0.0/16".into())
        );
        assert!(
            plan[2]
                .args
                .contains(&"--node-monitor-grace-period=10s".into())
        );
        assert!(plan[2].args.contains(&"--node-monitor-period=2s".into()));
        assert_eq!(
            plan[2].args.last(),
            Some(&extra[0]),
            "extra kcm flags come last"
        );
        assert!(
            plan[3]
                .args
                .contains(&"--kubeconfig=/pki/scheduler.kubeconfig".into())
        );
        // The workload image was not overridden: it stays ordeal's.
        assert!(images.workload.starts_with("ordeal/workload:"));
        assert_eq!(images.references().len(), 7);
    }

    #[test]
    fn the_node_lease_renews_five_times_per_shortened_grace_period_and_is_left_at_defaults() {
        let lease = |t: Option<KubeTimings>| {
            kubelet_config(t)
                .lines()
                .find_map(|l| l.strip_prefix("nodeLeaseDurationSeconds: "))
                .map(|v| v.parse::<u64>().unwrap())
        };
        assert_eq!(
            lease(None),
            None,
            "the kubelet's own 40 s at component defaults"
        );
        assert_eq!(
            lease(Some(KubeTimings::FAST)),
            Some(8),
            "renewed every 2 s, grace 10 s"
        );
        let chaos = KubeTimings {
            node_monitor_grace_period: Duration::from_secs(30),
            ..KubeTimings::FAST
        };
        assert_eq!(lease(Some(chaos)), Some(24));
        assert_eq!(
            lease(Some(KubeTimings::DEFAULTS)),
            Some(40),
            "the kubelet's ratio"
        );
        assert!(
            kubelet_config(Some(KubeTimings::FAST))
                .ends_with("cluster.local\nnodeLeaseDurationSeconds: 8\n")
        );
    }

    #[test]
    fn a_node_runs_kubelet_with_its_identity_and_kube_proxy_only_when_asked() {
        let images = upstream();
        let n = node(&images, AT, 2, true);
        assert_eq!(n.name, "node-2");
        assert_eq!(n.image, "registry.example:5000/ordeal-node:1.35.4");
        assert_eq!(n.entrypoint, None, "the node image's entrypoint runs");
        assert_eq!(n.ip, Ipv4Addr::new(10, 213, 7, 12));
        assert_eq!(
            n.args,
            [
                "--config=/pki/kubelet.yaml",
                "--kubeconfig=/pki/node-2.kubeconfig",
                "--hostname-override=node-2",
                "--node-ip=10.213.7.12"
            ]
        );
        let env = |c: &Component, k: &str| {
            c.env
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(env(&n, "ORDEAL_POD_CIDR").unwrap(), "10.244.2.0/24");
        assert_eq!(
            env(&n, "ORDEAL_SANDBOX_IMAGE").unwrap(),
            "registry.k8s.io/pause:3.10"
        );
        assert_eq!(
            env(&n, "ORDEAL_KUBE_PROXY_ARGS").unwrap(),
            "--config=/pki/kube-proxy.yaml"
        );
        assert_eq!(
            env(&node(&images, AT, 1, false), "ORDEAL_KUBE_PROXY_ARGS"),
            None
        );
        let proxy = kube_proxy_config("node-2");
        assert!(proxy.contains("mode: iptables") && proxy.contains("hostnameOverride: node-2"));
        assert!(
            proxy.contains("maxPerCore: 0"),
            "VM-wide conntrack left alone"
        );
    }

    #[test]
    fn the_overlay_reaches_every_other_nodes_pod_subnet_through_vxlan() {
        let ips = [AT.node(1), AT.node(2), AT.node(3)];
        let script = overlay_script(2, &ips);
        assert!(
            script.contains("vxlan id 4244 local 10.213.7.12 dstport 4789"),
            "{script}"
        );
        assert!(script.contains("ip addr add 10.245.0.2/24 dev vxlan0"));
        for (peer, n) in [("10.213.7.11", 1), ("10.213.7.13", 3)] {
            assert!(
                script.contains(&format!("dev vxlan0 dst {peer}")),
                "{script}"
            );
            assert!(
                script.contains(&format!(
                    "ip route replace 10.244.{n}.0/24 via 10.245.0.{n} dev vxlan0"
                )),
                "{script}"
            );
        }
        assert!(
            !script.contains("10.244.2.0/24"),
            "no route to its own subnet"
        );
    }

    #[test]
    fn containerd_names_short_references_with_their_implicit_registry() {
        assert_eq!(
            containerd_reference("ordeal/pause:abc"),
            "docker.io/ordeal/pause:abc"
        );
        assert_eq!(
            containerd_reference("busybox:1.36"),
            "docker.io/library/busybox:1.36"
        );
        assert_eq!(
            containerd_reference("registry.k8s.io/pause:3.10"),
            "registry.k8s.io/pause:3.10"
        );
        assert_eq!(containerd_reference("localhost/x:1"), "localhost/x:1");
        assert_eq!(
            containerd_reference("registry.example:5000/x:1"),
            "registry.example:5000/x:1"
        );
    }

    #[test]
    fn unknown_component_names_are_usage_errors_that_list_the_known_ones() {
        let recipes = Recipes::load(&default_recipes_dir()).unwrap();
        let err = ImageSet::new(&recipes, &["kube-proxy=x:1".to_owned()]).unwrap_err();
        assert_eq!(err.exit_status(), crate::ExitStatus::Usage);
        assert!(err.to_string().contains("kube-apiserver"), "{err}");
    }
}
