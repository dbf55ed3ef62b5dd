//! Grudges (Jepsen's word): who cuts itself off from whom. A partition of any shape is a grudge;
//! [`super::NetFaults::cut`] turns one into iptables rules. Nodes are indices into the caller's
//! list, so the shapes are plain data, testable without Docker.

use std::collections::{BTreeMap, BTreeSet};

/// For each node, the nodes it drops all traffic to and from.
pub type Grudge = BTreeMap<usize, BTreeSet<usize>>;

/// Every group cut from every other group; within a group traffic flows.
pub fn groups(groups: &[Vec<usize>]) -> Grudge {
    let mut grudge = Grudge::new();
    for (gi, group) in groups.iter().enumerate() {
        let others: BTreeSet<usize> = groups
            .iter()
            .enumerate()
            .filter(|(gj, _)| *gj != gi)
            .flat_map(|(_, g)| g.iter().copied())
            .collect();
        for member in group {
            grudge.entry(*member).or_default().extend(&others);
        }
    }
    grudge
}

/// Nodes `0..n` in two halves, Jepsen's `bisect`: the first ⌊n/2⌋ (the minority when `n` is
/// odd) and the rest.
pub fn halves(n: usize) -> [Vec<usize>; 2] {
    [(0..n / 2).collect(), (n / 2..n).collect()]
}

/// Nodes `0..n` split into [`halves`]: the minority cut from the majority.
pub fn majority_minority(n: usize) -> Grudge {
    groups(&halves(n))
}

/// Jepsen's `bridge`: [`halves`] cut from each other, except the first node of the second half
/// (node ⌊n/2⌋), the bridge, which still talks to both; with 5 nodes, {0,1} and {3,4} are cut
/// and node 2 sees everyone.
pub fn bridge(n: usize) -> Grudge {
    let bridge = n / 2;
    let mut grudge = groups(&halves(n));
    grudge.remove(&bridge);
    for dropped in grudge.values_mut() {
        dropped.remove(&bridge);
    }
    grudge
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[usize]) -> BTreeSet<usize> {
        v.iter().copied().collect()
    }

    #[test]
    fn five_nodes_split_two_against_three() {
        let g = majority_minority(5);
        assert_eq!(g[&0], set(&[2, 3, 4]));
        assert_eq!(g[&1], set(&[2, 3, 4]));
        for majority in 2..5 {
            assert_eq!(g[&majority], set(&[0, 1]));
        }
        assert_eq!(halves(4), [vec![0, 1], vec![2, 3]]);
    }

    #[test]
    fn the_bridge_sees_both_halves_which_do_not_see_each_other() {
        let g = bridge(5);
        assert!(!g.contains_key(&2), "the bridge drops nothing");
        assert_eq!(g[&0], set(&[3, 4]));
        assert_eq!(g[&1], set(&[3, 4]));
        assert_eq!(g[&3], set(&[0, 1]));
        assert_eq!(g[&4], set(&[0, 1]));
        assert!(
            g.values().all(|d| !d.contains(&2)),
            "nobody drops the bridge"
        );
    }

    #[test]
    fn groups_cut_across_and_never_within() {
        let g = groups(&[vec![0], vec![1, 2], vec![3]]);
        assert_eq!(g[&0], set(&[1, 2, 3]));
        assert_eq!(g[&1], set(&[0, 3]));
        assert_eq!(g[&3], set(&[0, 1, 2]));
    }
}
