//! Clusters ordeal did not start (`ordeal certify`): a Kubernetes cluster reached through a
//! kubeconfig, a Mesos cluster through a master's URL. ordeal has no lifecycle over them: it
//! works in a namespace (Kubernetes) or as a framework (Mesos) of its own, named after the run,
//! and removes that at the end, waiting until it is gone.
//!
//! # Known limitations
//! - Only what the API offers: no container is started, no fault is injected (disruptive
//!   checks are opt-in, on named nodes).
//! - A run killed before its end (SIGKILL, Ctrl-C) leaves its namespace or framework; its name
//!   (`ordeal-certify-<run id>`) is printed at the start to remove it by hand.

use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::{
    Api,
    api::{DeleteParams, PostParams},
    config::{KubeConfigOptions, Kubeconfig},
};
use serde::Serialize;
use serde_json::json;

use super::{
    kubernetes::{KubeTarget, client_with, node_name, node_ready, node_schedulable},
    mesos::{MesosTarget, api::Id},
};
use crate::{
    Error, Result,
    check::{CaseError, Observed, eventually},
    runtime::RunId,
};

/// The name of everything a certification run creates in the cluster: the namespace, the
/// framework and its role.
pub fn certify_name(run: &RunId) -> String {
    format!("ordeal-certify-{run}")
}

/// A Kubernetes cluster reached through a kubeconfig.
#[derive(Debug, Clone)]
pub struct ExternalKube {
    target: KubeTarget,
    server: String,
}

/// The versions of a Kubernetes cluster's components, as its API reports them.
#[derive(Debug, Clone, Serialize)]
pub struct KubeVersions {
    /// The apiserver URL (from the kubeconfig).
    pub server: String,
    /// kube-apiserver `/version`: gitVersion.
    pub apiserver: String,
    /// kube-apiserver `/version`: platform.
    pub platform: String,
    /// kube-apiserver `/version`: goVersion.
    pub go: String,
    /// Every node.
    pub nodes: Vec<NodeVersions>,
}

/// One node's versions and state.
#[derive(Debug, Clone, Serialize)]
pub struct NodeVersions {
    /// Node name.
    pub name: String,
    /// kubelet version.
    pub kubelet: String,
    /// Container runtime (`containerd://1.6.20`).
    pub container_runtime: String,
    /// OS image.
    pub os_image: String,
    /// Kernel.
    pub kernel: String,
    /// The Ready condition.
    pub ready: String,
    /// Whether an ordinary pod can be scheduled there.
    pub schedulable: bool,
}

impl ExternalKube {
    /// Connects with `kubeconfig` (text; `source` names it in errors) and checks the apiserver
    /// answers. Checks will run in namespace `namespace` with pods of `image`. A kubeconfig that
    /// does not parse, or names no usable context, is a usage error; an apiserver that does not
    /// answer is an infrastructure error.
    pub async fn connect(
        kubeconfig: &str,
        source: &str,
        namespace: &str,
        image: &str,
    ) -> Result<Self> {
        // The parser's message can span lines (a source excerpt): its first line is the reason.
        let bad = |e: &dyn std::fmt::Display| {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default().to_owned();
            Error::usage(format!("`{source}` is not a usable kubeconfig: {first}"))
        };
        let parsed = Kubeconfig::from_yaml(kubeconfig).map_err(|e| bad(&e))?;
        let config = kube::Config::from_custom_kubeconfig(parsed, &KubeConfigOptions::default())
            .await
            .map_err(|e| bad(&e))?;
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_owned();
        let client = client_with(config)?;
        client.apiserver_version().await.map_err(|e| {
            Error::infra(format!(
                "the Kubernetes apiserver at {server} (from `{source}`) does not answer: {e}"
            ))
        })?;
        Ok(Self {
            target: KubeTarget::new(client, namespace, image),
            server,
        })
    }

    /// The handle checks use.
    pub fn target(&self) -> &KubeTarget {
        &self.target
    }

    /// The apiserver's URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Creates the run's namespace, labelled `ordeal.run=<run>`.
    pub async fn create_namespace(&self, run: &RunId) -> Result<()> {
        let ns = self.target.namespace();
        let object: Namespace = serde_json::from_value(json!({
            "metadata": {"name": ns, "labels": {"ordeal.run": run.as_str()}},
        }))
        .map_err(|e| Error::infra(format!("failed to build namespace `{ns}`: {e}")))?;
        Api::<Namespace>::all(self.target.client())
            .create(&PostParams::default(), &object)
            .await
            .map_err(|e| Error::infra(format!("failed to create namespace `{ns}`: {e}")))?;
        Ok(())
    }

    /// Deletes the run's namespace and waits until the apiserver no longer has it (its pods
    /// terminated, its objects gone), for at most `timeout`.
    pub async fn remove_namespace(&self, timeout: Duration) -> Result<()> {
        let ns = self.target.namespace();
        let api = Api::<Namespace>::all(self.target.client());
        match api.delete(ns, &DeleteParams::foreground()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => {
                return Err(Error::infra(format!(
                    "failed to delete namespace `{ns}`: {e}"
                )));
            }
        }
        eventually(
            &format!("namespace `{ns}` to be gone"),
            timeout,
            Duration::from_millis(500),
            || async {
                Ok(match api.get_opt(ns).await {
                    Ok(None) => Observed::Holds(()),
                    Ok(Some(n)) => {
                        Observed::Not(format!("phase {:?}", n.status.and_then(|s| s.phase)))
                    }
                    Err(e) => Observed::Not(e.to_string()),
                })
            },
        )
        .await
        .map_err(|e| match e {
            CaseError::Failed(m) | CaseError::Infra(m) => {
                Error::infra(format!("failed to remove namespace `{ns}`: {m}"))
            }
        })
    }

    /// The apiserver's and every node's versions.
    pub async fn versions(&self) -> Result<KubeVersions> {
        let info = self
            .target
            .client()
            .apiserver_version()
            .await
            .map_err(|e| Error::infra(format!("failed to read the apiserver's /version: {e}")))?;
        let nodes = self
            .target
            .nodes()
            .await?
            .iter()
            .map(|n| {
                let i = n.status.as_ref().and_then(|s| s.node_info.as_ref());
                let field = |f: fn(&k8s_openapi::api::core::v1::NodeSystemInfo) -> &String| {
                    i.map(|i| f(i).clone()).unwrap_or_default()
                };
                NodeVersions {
                    name: node_name(n).to_owned(),
                    kubelet: field(|i| &i.kubelet_version),
                    container_runtime: field(|i| &i.container_runtime_version),
                    os_image: field(|i| &i.os_image),
                    kernel: field(|i| &i.kernel_version),
                    ready: node_ready(n).to_owned(),
                    schedulable: node_schedulable(n),
                }
            })
            .collect();
        Ok(KubeVersions {
            server: self.server.clone(),
            apiserver: info.git_version,
            platform: info.platform,
            go: info.go_version,
            nodes,
        })
    }
}

/// A Mesos cluster reached through a master's URL.
#[derive(Debug, Clone)]
pub struct ExternalMesos {
    target: MesosTarget,
}

/// The versions of a Mesos cluster's components, as its operator API reports them.
#[derive(Debug, Clone, Serialize)]
pub struct MesosVersions {
    /// The leading master's URL.
    pub leader: String,
    /// Its version (`GET_VERSION`).
    pub master: String,
    /// Its hostname.
    pub master_hostname: Option<String>,
    /// Every registered agent.
    pub agents: Vec<AgentVersions>,
}

/// One agent.
#[derive(Debug, Clone, Serialize)]
pub struct AgentVersions {
    /// Hostname.
    pub hostname: String,
    /// Mesos version.
    pub version: Option<String>,
    /// Whether the master counts it active.
    pub active: bool,
}

impl ExternalMesos {
    /// Finds the leading master from `url` (following a standby's redirect); checks will
    /// subscribe as framework `name` in role `name`.
    pub async fn connect(url: &str, name: &str) -> Result<Self> {
        let leader = MesosTarget::leader_of(url).await?;
        Ok(Self {
            target: MesosTarget::new(&leader, name, Some(name)),
        })
    }

    /// The handle checks use.
    pub fn target(&self) -> &MesosTarget {
        &self.target
    }

    /// The leader's and every agent's versions.
    pub async fn versions(&self) -> Result<MesosVersions> {
        let op = self.target.operator();
        let master = op.master().await?;
        let agents = op
            .agents()
            .await?
            .into_iter()
            .map(|a| AgentVersions {
                hostname: a.agent_info.hostname,
                version: a.version,
                active: a.active,
            })
            .collect();
        Ok(MesosVersions {
            leader: self.target.url().to_owned(),
            master: op.version().await?,
            master_hostname: master.hostname,
            agents,
        })
    }

    /// What the run left in the cluster: its frameworks the master still has (active or
    /// disconnected, not completed) and their tasks that are not terminal.
    pub async fn leftovers(&self) -> Result<(Vec<Id>, Vec<String>)> {
        let state = self.target.operator().state().await?;
        let ours: Vec<Id> = state
            .get_frameworks
            .frameworks
            .iter()
            .filter(|f| f.framework_info.name == self.target.framework())
            .filter_map(|f| f.framework_info.id.clone())
            .collect();
        let tasks = state
            .get_tasks
            .tasks
            .iter()
            .filter(|t| t.framework_id.as_ref().is_some_and(|f| ours.contains(f)))
            .filter(|t| !t.state.is_terminal())
            .map(|t| format!("{} {:?}", t.task_id.value, t.state))
            .collect();
        Ok((ours, tasks))
    }

    /// Tears down every framework of the run the master still has, and waits until none is
    /// left, for at most `timeout`. Returns how many it tore down.
    pub async fn remove_frameworks(&self, timeout: Duration) -> Result<usize> {
        let op = self.target.operator();
        let (ours, _) = self.leftovers().await?;
        for id in &ours {
            op.teardown(id).await?;
        }
        eventually(
            "the run's frameworks and tasks to be gone",
            timeout,
            Duration::from_millis(500),
            || async {
                let (frameworks, tasks) = self.leftovers().await?;
                Ok(if frameworks.is_empty() && tasks.is_empty() {
                    Observed::Holds(())
                } else {
                    Observed::Not(format!("frameworks {frameworks:?}, tasks {tasks:?}"))
                })
            },
        )
        .await
        .map_err(|e| match e {
            CaseError::Failed(m) | CaseError::Infra(m) => Error::infra(format!(
                "failed to remove framework `{}`: {m}",
                self.target.framework()
            )),
        })?;
        Ok(ours.len())
    }
}
