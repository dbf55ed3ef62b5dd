//! [`MesosTarget`]: the narrow handle a Mesos check works through (the leading master's URL and
//! the framework name and role it subscribes with), the same for a cluster ordeal started and
//! for one it did not (`ordeal certify`).

use super::{
    Operator,
    api::{Capability, FrameworkInfo},
    client::MesosError,
};
use crate::{Error, Result};

/// What a check may use of a Mesos cluster: the leading master, and its own framework name and
/// (optionally) role, so what it leaves is recognisable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MesosTarget {
    url: String,
    framework: String,
    role: Option<String>,
}

/// The base URL a master's redirect `location` names: `//host:port/api/v1` (Mesos writes no
/// scheme) or a full URL, without the path.
pub fn redirect_base(location: &str) -> String {
    let with_scheme = if location.starts_with("//") {
        format!("http:{location}")
    } else {
        location.to_owned()
    };
    let (scheme, rest) = with_scheme
        .split_once("://")
        .unwrap_or(("http", with_scheme.as_str()));
    let host = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{host}")
}

impl MesosTarget {
    /// Checks talk to the master at `url` and subscribe as `framework`, in `role` if given
    /// (with the MULTI_ROLE capability), else in the default role.
    pub fn new(url: &str, framework: &str, role: Option<&str>) -> Self {
        Self {
            url: url.trim_end_matches('/').to_owned(),
            framework: framework.to_owned(),
            role: role.map(str::to_owned),
        }
    }

    /// The leading master among what `url` answers: `url` itself, or the master a standby
    /// redirects to. An error is an infrastructure error naming what answered what.
    pub async fn leader_of(url: &str) -> Result<String> {
        let url = url.trim_end_matches('/');
        match Operator::new(url).master().await {
            Ok(_) => Ok(url.to_owned()),
            Err(MesosError::NotLeader { location, .. }) => {
                let leader = redirect_base(&location);
                match Operator::new(&leader).master().await {
                    Ok(_) => Ok(leader),
                    Err(e) => Err(Error::infra(format!(
                        "{url} is a standby master and the leader it names does not answer: {e} \
                         (hint: give the leader's URL)"
                    ))),
                }
            }
            Err(e) => Err(Error::infra(format!(
                "cannot reach a Mesos master at {url}: {e}"
            ))),
        }
    }

    /// The leading master's base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The framework name checks subscribe with.
    pub fn framework(&self) -> &str {
        &self.framework
    }

    /// The role checks subscribe in, if not the default.
    pub fn role(&self) -> Option<&str> {
        self.role.as_deref()
    }

    /// The operator API of the leading master.
    pub fn operator(&self) -> Operator {
        Operator::new(&self.url)
    }

    /// The framework's info: the target's name and role, `checkpoint`, `failover_timeout`
    /// seconds, and `capabilities` (MULTI_ROLE added with a role).
    pub fn framework_info(
        &self,
        checkpoint: bool,
        failover_timeout: f64,
        capabilities: &[&str],
    ) -> FrameworkInfo {
        let mut caps: Vec<Capability> = capabilities
            .iter()
            .map(|c| Capability {
                kind: (*c).to_owned(),
            })
            .collect();
        if self.role.is_some() {
            caps.push(Capability {
                kind: "MULTI_ROLE".into(),
            });
        }
        FrameworkInfo {
            user: "root".into(),
            name: self.framework.clone(),
            id: None,
            roles: self.role.iter().cloned().collect(),
            failover_timeout: Some(failover_timeout),
            checkpoint: Some(checkpoint),
            capabilities: caps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_location_becomes_a_base_url() {
        assert_eq!(
            redirect_base("//master-2:5050/api/v1"),
            "http://master-2:5050"
        );
        assert_eq!(
            redirect_base("https://m.example:443/master/state"),
            "https://m.example:443"
        );
        assert_eq!(redirect_base("//10.0.0.2:5050"), "http://10.0.0.2:5050");
    }

    #[test]
    fn a_role_adds_multi_role() {
        let t = MesosTarget::new("http://127.0.0.1:5050/", "ordeal-certify-x", Some("r"));
        assert_eq!(t.url(), "http://127.0.0.1:5050");
        let info = t.framework_info(true, 0.0, &["TASK_KILLING_STATE"]);
        assert_eq!(info.roles, ["r"]);
        let kinds: Vec<&str> = info.capabilities.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(kinds, ["TASK_KILLING_STATE", "MULTI_ROLE"]);
        let plain = MesosTarget::new("http://m", "f", None).framework_info(false, 1.0, &[]);
        assert!(plain.roles.is_empty() && plain.capabilities.is_empty());
    }
}
