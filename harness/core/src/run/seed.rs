//! One seed per run drives every random choice, through ChaCha8 (portable across platforms and
//! rand versions, unlike `StdRng`).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{Error, Result};

/// Parses a seed as given on the command line or in `ORDEAL_SEED`: a decimal u64, or hex with
/// `0x`.
pub fn parse_seed(s: &str) -> Result<u64> {
    let t = s.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse(),
    };
    parsed.map_err(|_| {
        Error::usage(format!(
            "invalid seed `{s}`: expected an unsigned 64-bit integer (decimal, or hex with 0x)"
        ))
    })
}

/// A fresh random seed for runs that were not given one.
pub fn random_seed() -> u64 {
    rand::random()
}

/// The generator for one case: the run seed mixed with the case name (FNV-1a), so a case draws
/// the same numbers whatever other cases run or in which order.
pub fn case_rng(seed: u64, case: &str) -> ChaCha8Rng {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in case.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    ChaCha8Rng::seed_from_u64(seed ^ h)
}

#[cfg(test)]
mod tests {
    use rand::RngExt;

    use super::*;

    #[test]
    fn seeds_parse_in_decimal_and_hex_and_reject_junk() {
        assert_eq!(parse_seed("42").unwrap(), 42);
        assert_eq!(parse_seed("0xff").unwrap(), 255);
        assert_eq!(parse_seed("18446744073709551615").unwrap(), u64::MAX);
        for bad in ["", "-1", "12abc", "0x", "18446744073709551616", "1.5"] {
            let e = parse_seed(bad).unwrap_err();
            assert!(e.to_string().starts_with("invalid seed"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_same_seed_and_case_draw_the_same_numbers() {
        let a: Vec<u32> = (0..4)
            .map(|_| 0)
            .scan(case_rng(7, "smoke::x"), |r, _| Some(r.random()))
            .collect();
        let b: Vec<u32> = (0..4)
            .map(|_| 0)
            .scan(case_rng(7, "smoke::x"), |r, _| Some(r.random()))
            .collect();
        let c: Vec<u32> = (0..4)
            .map(|_| 0)
            .scan(case_rng(7, "smoke::y"), |r, _| Some(r.random()))
            .collect();
        let d: Vec<u32> = (0..4)
            .map(|_| 0)
            .scan(case_rng(8, "smoke::x"), |r, _| Some(r.random()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn chacha8_output_is_pinned() {
        // Guards replayability across dependency upgrades: this value must never change.
        let v: u64 = case_rng(1, "").random();
        assert_eq!(
            v, PINNED,
            "ChaCha8 stream changed: recorded seeds would no longer replay"
        );
    }
    const PINNED: u64 = 13_347_252_108_486_012_146;
}
