//! Partitions and packet loss with iptables inside targets' network namespaces.

use std::{
    collections::HashMap,
    net::Ipv4Addr,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
};

use tokio::sync::Mutex;

use crate::{
    Error, Result,
    runtime::{Container, ContainerSpec, Engine, RunId},
};

/// Which traffic a rule drops, seen from the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Packets arriving from the peer.
    Inbound,
    /// Packets leaving for the peer.
    Outbound,
    /// Both.
    Both,
}

/// Injects network faults into containers of one run, through helper containers.
#[derive(Clone)]
pub struct NetFaults {
    engine: Engine,
    run: RunId,
    helper_image: String,
    helpers: Arc<Mutex<HashMap<String, Arc<Container>>>>,
    next_id: Arc<AtomicU32>,
}

/// One injected network fault: its rules, by target. Heal it to remove them.
#[derive(Debug)]
pub struct NetFault {
    id: String,
    /// What it is (`partition`, `loss 30%`...).
    pub description: String,
    targets: Vec<(Arc<Container>, String)>,
    /// Extra shell run in the target's helper when healing (stops a delay process).
    heal_extra: Option<String>,
    healed: bool,
}

impl NetFaults {
    /// Faults for run `run`, with helpers from `helper_image` (any image with `iptables` and
    /// `sleep`: ordeal's `base`).
    pub fn new(engine: Engine, run: RunId, helper_image: String) -> Self {
        Self {
            engine,
            run,
            helper_image,
            helpers: Arc::default(),
            next_id: Arc::default(),
        }
    }

    fn comment(&self, id: &str) -> String {
        format!("ordeal:{}:{id}", self.run)
    }

    fn new_id(&self, kind: &str) -> String {
        format!("{kind}{}", self.next_id.fetch_add(1, Ordering::SeqCst))
    }

    /// The helper sharing `target`'s network namespace, started on first use.
    async fn helper(&self, target: &Container) -> Result<Arc<Container>> {
        let mut helpers = self.helpers.lock().await;
        if let Some(h) = helpers.get(target.id()) {
            return Ok(h.clone());
        }
        let mut spec = ContainerSpec::new(
            format!("{}-net", target.name()),
            &self.helper_image,
            "fault-helper",
        )
        .shell("exec sleep infinity");
        spec.network = Some(format!("container:{}", target.id()));
        spec.cap_add = vec!["NET_ADMIN".into(), "NET_RAW".into()];
        let helper = Arc::new(spec.start(&self.engine, &self.run).await?);
        helpers.insert(target.id().to_owned(), helper.clone());
        Ok(helper)
    }

    async fn apply(&self, target: &Container, rules: &[String]) -> Result<String> {
        let helper = self.helper(target).await?;
        let script = rules
            .iter()
            .map(|r| format!("iptables -w {r}"))
            .collect::<Vec<_>>()
            .join(" && ");
        let out = helper.sh(&script).await?;
        if !out.success() {
            return Err(Error::infra(format!(
                "failed to add iptables rules in `{}`: {}",
                target.docker_name(),
                out.summary()
            )));
        }
        Ok(target.id().to_owned())
    }

    /// Drops traffic between `target` and each of `peers` in `direction`.
    pub async fn drop_between(
        &self,
        target: &Arc<Container>,
        peers: &[Ipv4Addr],
        direction: Direction,
    ) -> Result<NetFault> {
        let id = self.new_id("partition");
        let c = self.comment(&id);
        let mut rules = Vec::new();
        for p in peers {
            if matches!(direction, Direction::Inbound | Direction::Both) {
                rules.push(format!("-I INPUT -s {p} -m comment --comment {c} -j DROP"));
            }
            if matches!(direction, Direction::Outbound | Direction::Both) {
                rules.push(format!("-I OUTPUT -d {p} -m comment --comment {c} -j DROP"));
            }
        }
        self.apply(target, &rules).await?;
        Ok(NetFault {
            description: format!("drop {direction:?} between {} and {peers:?}", target.name()),
            id,
            targets: vec![(target.clone(), c)],
            heal_extra: None,
            healed: false,
        })
    }

    /// Splits `groups` from each other: every member of a group drops all traffic to and from
    /// members of the other groups.
    pub async fn partition(&self, groups: &[Vec<(Arc<Container>, Ipv4Addr)>]) -> Result<NetFault> {
        let id = self.new_id("partition");
        let c = self.comment(&id);
        let mut targets = Vec::new();
        for (gi, group) in groups.iter().enumerate() {
            let others: Vec<Ipv4Addr> = groups
                .iter()
                .enumerate()
                .filter(|(gj, _)| *gj != gi)
                .flat_map(|(_, g)| g.iter().map(|(_, ip)| *ip))
                .collect();
            for (member, _) in group {
                let mut rules = Vec::new();
                for p in &others {
                    rules.push(format!("-I INPUT -s {p} -m comment --comment {c} -j DROP"));
                    rules.push(format!("-I OUTPUT -d {p} -m comment --comment {c} -j DROP"));
                }
                self.apply(member, &rules).await?;
                targets.push((member.clone(), c.clone()));
            }
        }
        Ok(NetFault {
            description: format!("partition into {} groups", groups.len()),
            id,
            targets,
            heal_extra: None,
            healed: false,
        })
    }

    /// Drops each inbound packet of `target` with `probability` (iptables `statistic`).
    pub async fn loss(&self, target: &Arc<Container>, probability: f64) -> Result<NetFault> {
        if !(0.0..=1.0).contains(&probability) {
            return Err(Error::usage(format!(
                "loss probability {probability} is not within 0..1"
            )));
        }
        let id = self.new_id("loss");
        let c = self.comment(&id);
        let rule = format!(
            "-I INPUT -m statistic --mode random --probability {probability:.4} -m comment --comment {c} -j DROP"
        );
        self.apply(target, &[rule]).await?;
        Ok(NetFault {
            description: format!("loss {:.0}% into {}", probability * 100.0, target.name()),
            id,
            targets: vec![(target.clone(), c)],
            heal_extra: None,
            healed: false,
        })
    }

    /// Delays every packet `target` sends by `delay`, in userspace (`ordeal-delay` reading an
    /// NFQUEUE queue): this works on kernels without `netem`. The rule uses `--queue-bypass`,
    /// so if the delay process dies, traffic flows undelayed rather than stopping.
    pub async fn latency(
        &self,
        target: &Arc<Container>,
        delay: std::time::Duration,
    ) -> Result<NetFault> {
        let id = self.new_id("latency");
        let c = self.comment(&id);
        let queue = 1000 + self.next_id.fetch_add(1, Ordering::SeqCst) % 60_000;
        let helper = self.helper(target).await?;
        let ms = delay.as_millis();
        let start = format!(
            "nohup ordeal-delay --queue {queue} --delay-ms {ms} >/tmp/ordeal-delay-{queue}.log 2>&1 & \
             for i in $(seq 50); do grep -qs '^ *{queue} ' /proc/net/netfilter/nfnetlink_queue && exit 0; sleep 0.05; done; \
             cat /tmp/ordeal-delay-{queue}.log; exit 1"
        );
        let out = helper.sh(&start).await?;
        if !out.success() {
            return Err(Error::infra(format!(
                "failed to start the delay process in `{}`: {}",
                target.docker_name(),
                out.summary()
            )));
        }
        // Anchored: an unanchored pattern would also match (and kill) the shell running pkill.
        let stop = format!("pkill -f '^ordeal-delay --queue {queue} ' || true");
        let rule = format!(
            "-I OUTPUT -m comment --comment {c} -j NFQUEUE --queue-num {queue} --queue-bypass"
        );
        if let Err(e) = self.apply(target, &[rule]).await {
            let _ = helper.sh(&stop).await;
            return Err(e);
        }
        Ok(NetFault {
            description: format!("latency {ms} ms out of {}", target.name()),
            id,
            targets: vec![(target.clone(), c)],
            heal_extra: Some(stop),
            healed: false,
        })
    }

    /// Removes the rules of `fault` (only those: they are found by the fault's own comment).
    /// Healing again, or a target that is gone, is not an error.
    pub async fn heal(&self, fault: &mut NetFault) -> Result<()> {
        for (target, comment) in &fault.targets {
            let Some(helper) = self.helpers.lock().await.get(target.id()).cloned() else {
                continue;
            };
            let mut script = remove_rules_script(comment);
            if let Some(extra) = &fault.heal_extra {
                script = format!("{script} && {{ {extra}; }}");
            }
            let out = helper.sh(&script).await;
            match out {
                Ok(o) if o.success() => {}
                Ok(o) => {
                    return Err(Error::infra(format!(
                        "failed to remove rules of {} in `{}`: {}",
                        fault.id,
                        target.docker_name(),
                        o.summary()
                    )));
                }
                // The target (and so its namespace and rules) is gone.
                Err(_)
                    if !target
                        .state()
                        .await
                        .map(|(running, _)| running)
                        .unwrap_or(false) => {}
                Err(e) => return Err(e),
            }
        }
        fault.healed = true;
        Ok(())
    }

    /// How many rules tagged `comment` exist in `target` (for tests and `ordeal clean`).
    pub async fn count_rules(&self, target: &Container, fault: &NetFault) -> Result<usize> {
        let Some((_, comment)) = fault.targets.iter().find(|(t, _)| t.id() == target.id()) else {
            return Ok(0);
        };
        let helper = self.helper(target).await?;
        let out = helper
            .sh(&format!("iptables -w -S | {} | wc -l", grep_rules(comment)))
            .await?;
        Ok(out.stdout.trim().parse().unwrap_or(0))
    }
}

impl NetFault {
    /// The fault's id within the run.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether it was healed.
    pub fn is_healed(&self) -> bool {
        self.healed
    }
}

/// A `grep` that keeps the `iptables -S` lines carrying exactly `comment`. iptables prints the
/// comment quoted (`--comment "ordeal:r:partition1"`); the closing quote keeps `partition1`
/// from matching `partition10`.
fn grep_rules(comment: &str) -> String {
    format!("grep -F -e '--comment \"{comment}\"' -e '--comment {comment} '")
}

/// A shell script that deletes every rule carrying exactly `comment` from the filter table.
fn remove_rules_script(comment: &str) -> String {
    // `iptables -S` prints rules as `-A CHAIN ...`; the same text with `-D` deletes one.
    format!(
        "iptables -w -S | {{ {} || true; }} | sed 's/^-A /-D /' | while read -r rule; do eval iptables -w $rule || exit 1; done",
        grep_rules(comment)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_removal_script_matches_only_its_own_comment() {
        let s = remove_rules_script("ordeal:r1:partition1");
        assert!(
            s.contains(r#"-e '--comment "ordeal:r1:partition1"'"#),
            "{s}"
        );
        assert!(s.contains("s/^-A /-D /"));
    }
}
