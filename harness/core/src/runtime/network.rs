//! User-defined Docker networks with fixed subnets, labelled with their run.

use std::{collections::HashMap, net::Ipv4Addr};

use bollard::{
    models::{Ipam, IpamConfig, NetworkCreateRequest},
    query_parameters::ListNetworksOptions,
};

use super::{Engine, RunId, docker::one_line, labels};
use crate::{Error, Result};

/// The /16 that ordeal carves its /24 networks from. Chosen away from Docker's default pools
/// (172.17+/16, 192.168.x) and from common corporate VPN ranges.
const POOL: [u8; 2] = [10, 213];

/// What to create.
#[derive(Debug, Clone)]
pub struct NetworkSpec {
    /// Short name; the Docker name becomes `ordeal-<run>-<name>`.
    pub name: String,
    /// `--internal`: no route out of the network. Cluster networks are internal, so partitioning
    /// them never cuts the management path or published ports.
    pub internal: bool,
    /// The `ordeal.case` label, if the network belongs to one case.
    pub case: Option<String>,
    /// Further labels (e.g. `ordeal.keep`).
    pub labels: Vec<(String, String)>,
}

/// A created network.
#[derive(Debug, Clone)]
pub struct Network {
    /// Docker name.
    pub name: String,
    /// The /24 subnet's network address.
    pub subnet: Ipv4Addr,
}

impl Network {
    /// The address `.host` in this network's /24 (1 is the gateway; use 2..=254).
    pub fn host(&self, host: u8) -> Ipv4Addr {
        let [a, b, c, _] = self.subnet.octets();
        Ipv4Addr::new(a, b, c, host)
    }

    /// Creates a network on the first free /24 of the pool. Retries on the next /24 if another
    /// process took the same one in the meantime.
    pub async fn create(engine: &Engine, run: &RunId, spec: &NetworkSpec) -> Result<Self> {
        let name = format!("ordeal-{run}-{}", spec.name);
        const ATTEMPTS: u32 = 16;
        for attempt in 1..=ATTEMPTS {
            let used = used_subnets(engine).await?;
            let third = (0..=255u8)
                .find(|c| !used.contains(&Ipv4Addr::new(POOL[0], POOL[1], *c, 0)))
                .ok_or_else(|| {
                    Error::infra(format!(
                        "no free /24 left in {}.{}.0.0/16 for network `{name}` (hint: `ordeal clean --all`)",
                        POOL[0], POOL[1]
                    ))
                })?;
            let subnet = Ipv4Addr::new(POOL[0], POOL[1], third, 0);
            let request = NetworkCreateRequest {
                name: name.clone(),
                driver: Some("bridge".into()),
                internal: Some(spec.internal),
                labels: Some({
                    let mut l = labels::for_object(run, "network", spec.case.as_deref());
                    l.extend(spec.labels.iter().cloned());
                    l
                }),
                ipam: Some(Ipam {
                    config: Some(vec![IpamConfig {
                        subnet: Some(format!("{subnet}/24")),
                        gateway: Some(Ipv4Addr::new(POOL[0], POOL[1], third, 1).to_string()),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                ..Default::default()
            };
            match engine.docker().create_network(request).await {
                Ok(_) => {
                    tracing::debug!(network = %name, %subnet, "created network");
                    return Ok(Self { name, subnet });
                }
                // Another process took the subnet meanwhile; the engine's list catches up shortly.
                Err(e) if e.to_string().contains("overlap") && attempt < ATTEMPTS => {
                    tracing::debug!(network = %name, %subnet, "subnet taken meanwhile: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => {
                    return Err(Error::infra(format!(
                        "failed to create network `{name}`: {}",
                        one_line(&e.to_string())
                    )));
                }
            }
        }
        Err(Error::infra(format!(
            "failed to create network `{name}`: subnet pool contended"
        )))
    }
}

/// Every IPv4 subnet (network address) any Docker network on the engine uses.
async fn used_subnets(engine: &Engine) -> Result<Vec<Ipv4Addr>> {
    let nets = engine
        .docker()
        .list_networks(None::<ListNetworksOptions>)
        .await
        .map_err(|e| {
            Error::infra(format!(
                "failed to list networks: {}",
                one_line(&e.to_string())
            ))
        })?;
    let mut used = Vec::new();
    for net in nets {
        for cfg in net.ipam.and_then(|i| i.config).unwrap_or_default() {
            if let Some((addr, _len)) = cfg.subnet.as_deref().and_then(|s| s.split_once('/'))
                && let Ok(ip) = addr.parse::<Ipv4Addr>()
            {
                used.push(ip);
            }
        }
    }
    Ok(used)
}

/// Labels filter for `list_*` calls: `{"label": ["k=v", ...]}`.
pub(crate) fn label_filter(pairs: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_owned(),
        pairs
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    (*k).to_owned()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect(),
    )])
}
