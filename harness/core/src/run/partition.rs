//! Sharding a run across CI jobs: `slice:M/N` deals cases round-robin by name order,
//! `hash:M/N` by a hash of the name (stable when cases are added). Every case lands in exactly
//! one of the N shards.

use crate::{Error, Result};

/// Which shard of a run to execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// The M-th of N round-robin slices over the cases sorted by name (1-based).
    Slice {
        /// Shard number, 1..=N.
        m: u32,
        /// Number of shards.
        n: u32,
    },
    /// Cases whose name hashes to M-1 modulo N.
    Hash {
        /// Shard number, 1..=N.
        m: u32,
        /// Number of shards.
        n: u32,
    },
}

impl Partition {
    /// Parses `slice:M/N` or `hash:M/N`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || {
            Error::usage(format!(
                "invalid partition `{s}`: expected slice:M/N or hash:M/N with 1 <= M <= N"
            ))
        };
        let (kind, frac) = s.split_once(':').ok_or_else(bad)?;
        let (m, n) = frac.split_once('/').ok_or_else(bad)?;
        let (m, n): (u32, u32) = (m.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if n == 0 || m == 0 || m > n {
            return Err(bad());
        }
        match kind {
            "slice" => Ok(Self::Slice { m, n }),
            "hash" => Ok(Self::Hash { m, n }),
            _ => Err(bad()),
        }
    }

    /// Keeps the names of this shard. `names` may come in any order.
    pub fn select<T, F: Fn(&T) -> &str>(&self, items: Vec<T>, name: F) -> Vec<T> {
        match *self {
            Self::Slice { m, n } => {
                let mut sorted: Vec<String> = items.iter().map(|i| name(i).to_owned()).collect();
                sorted.sort();
                items
                    .into_iter()
                    .filter(|i| {
                        let pos = sorted
                            .binary_search_by(|s| s.as_str().cmp(name(i)))
                            .unwrap_or(0);
                        pos as u64 % u64::from(n) == u64::from(m - 1)
                    })
                    .collect()
            }
            Self::Hash { m, n } => items
                .into_iter()
                .filter(|i| fnv1a(name(i)) % u64::from(n) == u64::from(m - 1))
                .collect(),
        }
    }
}

/// FNV-1a: stable across platforms and releases (unlike `std`'s hasher).
fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(k: usize) -> Vec<String> {
        (0..k)
            .map(|i| format!("suite::area::case_{i:03}"))
            .rev()
            .collect()
    }

    #[test]
    fn shards_cover_every_case_exactly_once() {
        for k in [0, 1, 5, 17, 64] {
            for n in 1..=6 {
                for kind in ["slice", "hash"] {
                    let mut seen: Vec<String> = Vec::new();
                    for m in 1..=n {
                        let p = Partition::parse(&format!("{kind}:{m}/{n}")).unwrap();
                        seen.extend(p.select(names(k), |s| s.as_str()));
                    }
                    seen.sort();
                    let mut all = names(k);
                    all.sort();
                    assert_eq!(seen, all, "{kind} over {n} shards of {k} cases");
                }
            }
        }
    }

    #[test]
    fn slices_are_balanced() {
        let sizes: Vec<usize> = (1..=4)
            .map(|m| {
                Partition::Slice { m, n: 4 }
                    .select(names(17), |s| s.as_str())
                    .len()
            })
            .collect();
        assert_eq!(sizes, vec![5, 4, 4, 4]);
    }

    #[test]
    fn malformed_partitions_are_usage_errors() {
        for bad in [
            "",
            "slice",
            "slice:0/3",
            "slice:4/3",
            "slice:1/0",
            "count:1/2",
            "hash:a/b",
            "slice:1-2",
        ] {
            assert!(
                matches!(Partition::parse(bad), Err(Error::Usage(_))),
                "{bad}"
            );
        }
    }
}
