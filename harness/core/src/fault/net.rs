//! Partitions, packet loss, latency and bandwidth limits inside targets' network namespaces.

use std::{
    net::Ipv4Addr,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
};

use super::{
    grudge::{self, Grudge},
    helper::{Helpers, Shared},
};
use crate::{
    Error, Result,
    runtime::{Container, Engine, RunId},
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
    helpers: Helpers,
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

/// A node of a partition: its container and its address on the partitioned network.
pub type Node = (Arc<Container>, Ipv4Addr);

impl NetFaults {
    /// Faults for run `run`, with helpers from `helper_image` (ordeal's `fault-helper`:
    /// `iptables`, `tc`, `ordeal-delay`).
    pub fn new(engine: Engine, run: RunId, helper_image: String) -> Self {
        Self {
            helpers: Helpers::new(engine, run, helper_image),
            next_id: Arc::default(),
        }
    }

    fn comment(&self, id: &str) -> String {
        format!("ordeal:{}:{id}", self.helpers.run)
    }

    fn new_id(&self, kind: &str) -> String {
        format!("{kind}{}", self.next_id.fetch_add(1, Ordering::SeqCst))
    }

    /// The helper sharing `target`'s network namespace, started on first use.
    async fn helper(&self, target: &Container) -> Result<Arc<Container>> {
        self.helpers.get(target, Shared::Net).await
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

    /// Drops traffic between `target` and each of `peers` in `direction`. With
    /// [`Direction::Outbound`] this is a one-way partition: `target`'s packets to the peers
    /// are dropped, theirs still arrive (so a TCP connection fails both ways, its answers being
    /// dropped, while datagrams from the peers get through).
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

    /// Applies `grudge` over `nodes` (indices into it): each node drops all traffic to and
    /// from the nodes it holds a grudge against. One fault, healed as one.
    pub async fn cut(&self, nodes: &[Node], grudge: &Grudge, what: &str) -> Result<NetFault> {
        if let Some(bad) = grudge
            .iter()
            .flat_map(|(n, d)| std::iter::once(n).chain(d))
            .find(|i| **i >= nodes.len())
        {
            return Err(Error::usage(format!(
                "a grudge names node {bad}, but there are {} nodes",
                nodes.len()
            )));
        }
        let id = self.new_id("partition");
        let c = self.comment(&id);
        let mut fault = NetFault {
            description: format!("{what} of {} nodes", nodes.len()),
            id,
            targets: Vec::new(),
            heal_extra: None,
            healed: false,
        };
        for (member, dropped) in grudge {
            let mut rules = Vec::new();
            for p in dropped.iter().map(|i| nodes[*i].1) {
                rules.push(format!("-I INPUT -s {p} -m comment --comment {c} -j DROP"));
                rules.push(format!("-I OUTPUT -d {p} -m comment --comment {c} -j DROP"));
            }
            if rules.is_empty() {
                continue;
            }
            let target = &nodes[*member].0;
            // Recorded before the rules go in, so that a heal after a failure here removes
            // what did go in.
            fault.targets.push((target.clone(), c.clone()));
            if let Err(e) = self.apply(target, &rules).await {
                let _ = self.heal(&mut fault).await;
                return Err(e);
            }
        }
        Ok(fault)
    }

    /// Splits `groups` from each other: every member of a group drops all traffic to and from
    /// members of the other groups.
    pub async fn partition(&self, groups: &[Vec<Node>]) -> Result<NetFault> {
        let nodes: Vec<Node> = groups.iter().flatten().cloned().collect();
        let mut next = 0;
        let indices: Vec<Vec<usize>> = groups
            .iter()
            .map(|g| {
                let range = next..next + g.len();
                next += g.len();
                range.collect()
            })
            .collect();
        self.cut(
            &nodes,
            &grudge::groups(&indices),
            &format!("partition into {} groups", groups.len()),
        )
        .await
    }

    /// Splits `nodes` into two halves (Jepsen's `bisect`): the first ⌊n/2⌋, a minority when
    /// `n` is odd, against the rest. Shuffle `nodes` with the case's seed to pick the sides.
    pub async fn partition_halves(&self, nodes: &[Node]) -> Result<NetFault> {
        self.cut(
            nodes,
            &grudge::majority_minority(nodes.len()),
            "majority/minority split",
        )
        .await
    }

    /// Jepsen's `bridge`: `nodes` split in halves that cannot talk to each other, except node
    /// ⌊n/2⌋, which still talks to both (needs at least 3 nodes).
    pub async fn bridge(&self, nodes: &[Node]) -> Result<NetFault> {
        if nodes.len() < 3 {
            return Err(Error::usage(format!(
                "a bridge partition needs at least 3 nodes, got {}",
                nodes.len()
            )));
        }
        self.cut(nodes, &grudge::bridge(nodes.len()), "bridge partition")
            .await
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

    /// Limits the rate of everything `target` sends to `bits_per_sec`: a `tc` token bucket
    /// (`tbf`) as the root qdisc of each of its interfaces but `lo`. Only egress is shaped
    /// (ingress shaping needs an `ifb` device, which this kind of host lacks): to slow what a
    /// node receives, limit its senders. An interface that already has a root qdisc of its
    /// own (another bandwidth fault) makes this fail, changing nothing.
    ///
    /// A qdisc carries no comment, so the fault also adds one no-op rule (no target: it only
    /// counts) per shaped interface, `-A OUTPUT -o <interface>` with the fault's comment; its
    /// qdisc's handle is derived from that comment ([`qdisc_handle`]). `ordeal clean` finds a
    /// dead run's qdiscs through those rules.
    pub async fn bandwidth(&self, target: &Arc<Container>, bits_per_sec: u64) -> Result<NetFault> {
        if bits_per_sec < super::schedule::MIN_RATE {
            return Err(Error::usage(format!(
                "bandwidth {bits_per_sec} bit/s is below the useful floor of 8kbit"
            )));
        }
        let id = self.new_id("bandwidth");
        let c = self.comment(&id);
        let handle = qdisc_handle(&c);
        let helper = self.helper(target).await?;
        let out = helper
            .sh("ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -vx lo")
            .await?;
        let devices: Vec<String> = out.stdout.split_whitespace().map(str::to_owned).collect();
        if devices.is_empty() {
            return Err(Error::infra(format!(
                "`{}` has no network interface but lo to limit",
                target.docker_name()
            )));
        }
        let markers: Vec<String> = devices
            .iter()
            .map(|d| format!("-A OUTPUT -o {d} -m comment --comment {c}"))
            .collect();
        // The markers first: a run that dies in between leaves a marker without a qdisc
        // (harmless), never a qdisc without a marker.
        self.apply(target, &markers).await?;
        // A burst of 20 ms of traffic (at least two full frames) and up to 200 ms of queue.
        let burst = (bits_per_sec / 8 / 50).max(3_028);
        let remove = remove_qdiscs_script(&devices, handle);
        let add = devices
            .iter()
            .map(|d| {
                format!(
                    "tc qdisc add dev {d} root handle {handle:x}: tbf rate {bits_per_sec}bit burst {burst} latency 200ms"
                )
            })
            .collect::<Vec<_>>()
            .join(" && ");
        let mut fault = NetFault {
            description: format!(
                "bandwidth {} out of {}",
                super::schedule::format_rate(bits_per_sec),
                target.name()
            ),
            id,
            targets: vec![(target.clone(), c)],
            heal_extra: Some(remove),
            healed: false,
        };
        let out = helper.sh(&add).await?;
        if !out.success() {
            let _ = self.heal(&mut fault).await;
            return Err(Error::infra(format!(
                "failed to limit the bandwidth of `{}` (another root qdisc there?): {}",
                target.docker_name(),
                out.summary()
            )));
        }
        Ok(fault)
    }

    /// Removes the rules of `fault` (only those: they are found by the fault's own comment).
    /// Healing again, or a target that is gone, is not an error.
    pub async fn heal(&self, fault: &mut NetFault) -> Result<()> {
        for (target, comment) in &fault.targets {
            let Some(helper) = self.helpers.existing(target, Shared::Net).await else {
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

    /// Forgets and removes the helper sharing `target`'s network namespace. A container that
    /// was started again has a new namespace (with none of the old rules): the next fault on it
    /// gets a new helper there.
    pub async fn forget(&self, target: &Container) -> Result<()> {
        self.helpers.forget(target, Shared::Net).await
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

/// The handle of the root qdisc a bandwidth fault tagged `comment` adds: FNV-1a of the comment,
/// folded into tc's 16-bit major numbers (1..=0xfffe), so a dead run's qdisc is recognised
/// from its marker rule alone.
pub fn qdisc_handle(comment: &str) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for b in comment.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    let folded = (h >> 16) ^ (h & 0xffff);
    u16::try_from(folded % 0xfffe).unwrap_or(0) + 1
}

/// A shell script that deletes the root qdisc of each of `devices` whose handle is `handle`
/// (and no other qdisc); a device that is gone, or holds another qdisc, is left alone.
pub(crate) fn remove_qdiscs_script(devices: &[String], handle: u16) -> String {
    let devices = devices.join(" ");
    format!(
        "for d in {devices}; do if tc qdisc show dev $d root 2>/dev/null | grep -q '^qdisc [a-z_]* {handle:x}: root'; then tc qdisc del dev $d root handle {handle:x}: || exit 1; fi; done"
    )
}

/// A `grep` that keeps the `iptables -S` lines carrying exactly `comment`. iptables prints the
/// comment quoted (`--comment "ordeal:r:partition1"`); the closing quote keeps `partition1`
/// from matching `partition10`.
pub(crate) fn grep_rules(comment: &str) -> String {
    format!("grep -F -e '--comment \"{comment}\"' -e '--comment {comment} '")
}

/// A shell script that deletes every rule carrying exactly `comment` from the filter table.
pub(crate) fn remove_rules_script(comment: &str) -> String {
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

    #[test]
    fn qdisc_handles_are_stable_valid_and_differ_between_faults() {
        let a = qdisc_handle("ordeal:20261207-001500-8c1e:bandwidth3");
        assert_eq!(a, qdisc_handle("ordeal:20261207-001500-8c1e:bandwidth3"));
        assert_ne!(a, qdisc_handle("ordeal:20261207-001500-8c1e:bandwidth4"));
        assert_ne!(a, qdisc_handle("ordeal:20261207-001501-0000:bandwidth3"));
        for i in 0..10_000 {
            let h = qdisc_handle(&format!("ordeal:r:bandwidth{i}"));
            assert!((1..=0xfffe).contains(&h), "{h:x}");
        }
        let s = remove_qdiscs_script(&["eth0".into(), "eth1".into()], 0x1a);
        assert!(
            s.contains("for d in eth0 eth1;") && s.contains("root handle 1a:"),
            "{s}"
        );
    }
}
