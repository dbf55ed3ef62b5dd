//! [`KubeTarget`]: the narrow handle a Kubernetes check works through (a client, the namespace
//! it may use, the image its pods run), the same for a cluster ordeal started and for one it
//! did not (`ordeal certify`).

use k8s_openapi::{
    NamespaceResourceScope,
    api::{
        apps::v1::Deployment,
        core::v1::{Event, Node, Pod, Service},
    },
};
use kube::{
    Api, Client,
    api::{EvictParams, ListParams, LogParams, Patch, PatchParams, PostParams},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

use super::cluster::{api_err, node_name, node_ready};
use crate::{Error, Result};

/// What a check may use of a Kubernetes cluster: a client, one namespace, and an image that
/// is present on every node (pods never pull: `imagePullPolicy: Never`).
#[derive(Clone)]
pub struct KubeTarget {
    client: Client,
    namespace: String,
    image: String,
}

impl std::fmt::Debug for KubeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeTarget")
            .field("namespace", &self.namespace)
            .field("image", &self.image)
            .finish_non_exhaustive()
    }
}

/// Whether the scheduler may place an ordinary pod on `node`: Ready, not cordoned, and no
/// `NoSchedule` or `NoExecute` taint.
pub fn node_schedulable(node: &Node) -> bool {
    let spec = node.spec.as_ref();
    let cordoned = spec.and_then(|s| s.unschedulable).unwrap_or(false);
    let tainted = spec
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|t| t.iter().any(|t| t.effect != "PreferNoSchedule"));
    node_ready(node) == "True" && !cordoned && !tainted
}

impl KubeTarget {
    /// Checks run through `client`, in `namespace`, with pods of `image` (a reference as the
    /// nodes' container runtime knows it).
    pub fn new(client: Client, namespace: &str, image: &str) -> Self {
        Self {
            client,
            namespace: namespace.to_owned(),
            image: image.to_owned(),
        }
    }

    /// The client.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The namespace checks create their objects in.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// A container of the workload image running `script` with `/bin/sh -c`.
    pub fn container(&self, script: &str) -> Value {
        json!({
            "name": "main",
            "image": self.image,
            "imagePullPolicy": "Never",
            "command": ["/bin/sh", "-c", script],
        })
    }

    /// Creates every object of `manifest` (one object, or an array of them) in the namespace.
    /// Kinds: Pod, Service, Deployment.
    pub async fn apply(&self, manifest: Value) -> Result<()> {
        let objects = match manifest {
            Value::Array(v) => v,
            one => vec![one],
        };
        for o in objects {
            match o["kind"].as_str() {
                Some("Pod") => self.create::<Pod>(o).await?,
                Some("Service") => self.create::<Service>(o).await?,
                Some("Deployment") => self.create::<Deployment>(o).await?,
                other => {
                    return Err(Error::infra(format!(
                        "cannot apply an object of kind {other:?} (Pod, Service, Deployment)"
                    )));
                }
            }
        }
        Ok(())
    }

    async fn create<K>(&self, object: Value) -> Result<()>
    where
        K: kube::Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + Serialize
            + std::fmt::Debug,
    {
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or("?")
            .to_owned();
        let what = format!(
            "create {} `{name}` in namespace `{}`",
            K::kind(&()),
            self.namespace
        );
        let typed: K = serde_json::from_value(object).map_err(|e| api_err(&what, e))?;
        Api::<K>::namespaced(self.client(), &self.namespace)
            .create(&PostParams::default(), &typed)
            .await
            .map_err(|e| api_err(&what, e))?;
        Ok(())
    }

    /// Pods of the namespace matching `selector` (`app=web`), or all with `""`.
    pub async fn pods(&self, selector: &str) -> Result<Vec<Pod>> {
        let pods: Api<Pod> = Api::namespaced(self.client(), &self.namespace);
        let mut params = ListParams::default();
        if !selector.is_empty() {
            params = params.labels(selector);
        }
        Ok(pods
            .list(&params)
            .await
            .map_err(|e| api_err(&format!("list pods `{selector}`"), e))?
            .items)
    }

    /// Pod `name` of the namespace: its spec as the API defaulted it (probe fields filled in)
    /// and its status (`containerStatuses` with `restartCount`, `state`, `lastState`, `ready`).
    pub async fn pod(&self, name: &str) -> Result<Pod> {
        let pods: Api<Pod> = Api::namespaced(self.client(), &self.namespace);
        pods.get(name)
            .await
            .map_err(|e| api_err(&format!("read pod `{name}`"), e))
    }

    /// The events of the namespace about object `name` (`involvedObject.name`), oldest first
    /// as the API lists them.
    pub async fn events_for(&self, name: &str) -> Result<Vec<Event>> {
        let events: Api<Event> = Api::namespaced(self.client(), &self.namespace);
        Ok(events
            .list(&ListParams::default().fields(&format!("involvedObject.name={name}")))
            .await
            .map_err(|e| api_err(&format!("list the events of `{name}`"), e))?
            .items)
    }

    /// The live configuration of `node`'s kubelet: the `kubeletconfig` object of its
    /// `/configz`, read through the apiserver's node proxy (defaults filled in; `featureGates`
    /// lists only the gates set explicitly).
    pub async fn kubelet_config(&self, node: &str) -> Result<Value> {
        let what = format!("read the kubelet configuration (`/configz`) of node `{node}`");
        let request = http::Request::get(format!("/api/v1/nodes/{node}/proxy/configz"))
            .body(Vec::new())
            .map_err(|e| api_err(&what, e))?;
        let text = self
            .client
            .request_text(request)
            .await
            .map_err(|e| api_err(&what, e))?;
        let mut v: Value = serde_json::from_str(&text).map_err(|e| api_err(&what, e))?;
        match v.get_mut("kubeletconfig").map(Value::take) {
            Some(config) if config.is_object() => Ok(config),
            _ => Err(Error::infra(format!(
                "failed to {what}: no `kubeletconfig` object in {text:.200}"
            ))),
        }
    }

    /// A pod's log, read through the apiserver from its kubelet.
    pub async fn logs(&self, pod: &str) -> Result<String> {
        let pods: Api<Pod> = Api::namespaced(self.client(), &self.namespace);
        pods.logs(pod, &LogParams::default())
            .await
            .map_err(|e| api_err(&format!("read the log of pod `{pod}`"), e))
    }

    /// Every node with its conditions.
    pub async fn nodes(&self) -> Result<Vec<Node>> {
        let nodes: Api<Node> = Api::all(self.client());
        Ok(nodes
            .list(&ListParams::default())
            .await
            .map_err(|e| api_err("list nodes", e))?
            .items)
    }

    /// The names of the nodes an ordinary pod can be scheduled on ([`node_schedulable`]).
    pub async fn schedulable_nodes(&self) -> Result<Vec<String>> {
        Ok(self
            .nodes()
            .await?
            .iter()
            .filter(|n| node_schedulable(n))
            .map(|n| node_name(n).to_owned())
            .collect())
    }

    /// Marks `node` unschedulable (`cordoned`) or schedulable again, as `kubectl cordon` and
    /// `uncordon` do. Disruptive: only for nodes the user named.
    pub async fn cordon(&self, node: &str, cordoned: bool) -> Result<()> {
        let nodes: Api<Node> = Api::all(self.client());
        nodes
            .patch(
                node,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"unschedulable": cordoned}})),
            )
            .await
            .map_err(|e| {
                let verb = if cordoned { "cordon" } else { "uncordon" };
                api_err(&format!("{verb} node `{node}`"), e)
            })?;
        Ok(())
    }

    /// Evicts pod `name` of the namespace through the Eviction API (which honours
    /// PodDisruptionBudgets), as a drain does.
    pub async fn evict(&self, name: &str) -> Result<()> {
        let pods: Api<Pod> = Api::namespaced(self.client(), &self.namespace);
        pods.evict(name, &EvictParams::default())
            .await
            .map_err(|e| api_err(&format!("evict pod `{name}`"), e))?;
        Ok(())
    }

    /// The ClusterIP of Service `name`.
    pub async fn cluster_ip(&self, name: &str) -> Result<String> {
        let services: Api<Service> = Api::namespaced(self.client(), &self.namespace);
        services
            .get(name)
            .await
            .map_err(|e| api_err(&format!("read service `{name}`"), e))?
            .spec
            .and_then(|s| s.cluster_ip)
            .ok_or_else(|| Error::infra(format!("service `{name}` has no ClusterIP")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(ready: &str, unschedulable: bool, taint: Option<&str>) -> Node {
        serde_json::from_value(json!({
            "metadata": {"name": "n"},
            "spec": {
                "unschedulable": unschedulable,
                "taints": taint.map(|e| vec![json!({"key": "k", "effect": e})]).unwrap_or_default(),
            },
            "status": {"conditions": [{"type": "Ready", "status": ready}]},
        }))
        .unwrap()
    }

    #[test]
    fn schedulable_means_ready_uncordoned_and_untainted() {
        assert!(node_schedulable(&node("True", false, None)));
        assert!(node_schedulable(&node(
            "True",
            false,
            Some("PreferNoSchedule")
        )));
        assert!(!node_schedulable(&node("False", false, None)));
        assert!(!node_schedulable(&node("True", true, None)));
        assert!(!node_schedulable(&node("True", false, Some("NoSchedule"))));
        assert!(!node_schedulable(&node("True", false, Some("NoExecute"))));
    }
}
