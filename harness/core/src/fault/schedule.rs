//! Fault schedules: when, what, on which target, for how long.
//!
//! A schedule comes from a scenario file (TOML, see `suites/scenarios/`) or from a seed
//! ([`generate`]); either way the schedule actually executed is stored in `run.json`, and the
//! same seed always yields a byte-identical schedule. Schedules do not know how faults are done
//! (that is the backends' and [`super`]'s business) nor what is checked afterwards.

use std::{fmt::Write as _, path::Path, time::Duration};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One fault of a schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fault {
    /// SIGKILL the target container; with a duration, start it again afterwards.
    Kill,
    /// Stop the target (SIGTERM, then SIGKILL), start it again after the duration.
    Stop,
    /// Restart the target, keeping its address and hostname.
    Restart,
    /// Freeze every process of the target (cgroup freezer).
    Pause,
    /// Cut the target from every other node, both directions.
    Isolate,
    /// Drop packets from the target to the `to` nodes; the other direction still flows.
    PartitionOneWay {
        /// Selector of the nodes the target can no longer send to.
        to: String,
    },
    /// Drop each inbound packet of the target with this probability.
    Loss {
        /// In (0, 1].
        probability: f64,
    },
    /// Delay the target's traffic.
    Latency {
        /// Added delay in milliseconds.
        delay_ms: u64,
    },
    /// Limit the rate of the target's outgoing traffic (token bucket, `tc qdisc tbf`).
    Bandwidth {
        /// Bits per second (scenario files: `rate = "1mbit"`).
        bits_per_sec: u64,
    },
    /// SIGKILL every process of this name in the target (not the container's main process)
    /// and keep it dead until the heal.
    KillProcess {
        /// The process name as the kernel keeps it (`comm`, at most 15 characters).
        process: String,
    },
}

impl Fault {
    /// The kind's name, as written in scenario files.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Kill => "kill",
            Self::Stop => "stop",
            Self::Restart => "restart",
            Self::Pause => "pause",
            Self::Isolate => "isolate",
            Self::PartitionOneWay { .. } => "partition-one-way",
            Self::Loss { .. } => "loss",
            Self::Latency { .. } => "latency",
            Self::Bandwidth { .. } => "bandwidth",
            Self::KillProcess { .. } => "kill-process",
        }
    }
}

/// Every fault kind, for messages.
pub const KINDS: &[&str] = &[
    "kill",
    "stop",
    "restart",
    "pause",
    "isolate",
    "partition-one-way",
    "loss",
    "latency",
    "bandwidth",
    "kill-process",
];

/// One timed fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Offset from the schedule's start, in milliseconds.
    pub at_ms: u64,
    /// What.
    pub fault: Fault,
    /// Target selector: `<role>` (one, chosen by the seed), `<role>:<n>` (1-based),
    /// `<role>:all`, `leader`, or `name:<node>`.
    pub target: String,
    /// How long until the heal, in milliseconds; `None` heals at the end of the schedule.
    pub duration_ms: Option<u64>,
}

/// A whole schedule, sorted by offset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Name (the scenario's, or `generated from seed N`).
    pub name: String,
    /// The seed it was generated from, if any.
    pub seed: Option<u64>,
    /// Faults by offset.
    pub entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawScenario {
    name: String,
    #[serde(default)]
    #[expect(dead_code, reason = "documentation for people; accepted and ignored")]
    description: Option<String>,
    #[serde(default, rename = "fault")]
    faults: Vec<toml::Spanned<RawFault>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFault {
    at: toml::Spanned<String>,
    kind: toml::Spanned<String>,
    target: toml::Spanned<String>,
    #[serde(default)]
    duration: Option<toml::Spanned<String>>,
    #[serde(default)]
    probability: Option<toml::Spanned<f64>>,
    #[serde(default)]
    delay: Option<toml::Spanned<String>>,
    #[serde(default)]
    to: Option<toml::Spanned<String>>,
    #[serde(default)]
    rate: Option<toml::Spanned<String>>,
    #[serde(default)]
    process: Option<toml::Spanned<String>>,
}

/// Parses `10s`, `1m30s`, `500ms`, `2h` (whole numbers with units ms, s, m, h).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            _ => return None,
        };
        total = total.checked_add(unit)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// Parses a rate in bits per second the way `tc` writes it: a whole number with the unit
/// `bit`, `kbit`, `mbit` or `gbit` (powers of 1000): `512kbit`, `1mbit`, `10mbit`.
pub fn parse_rate(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit())?;
    if digits == 0 {
        return None;
    }
    let n: u64 = text[..digits].parse().ok()?;
    let unit: u64 = match &text[digits..] {
        "bit" => 1,
        "kbit" => 1_000,
        "mbit" => 1_000_000,
        "gbit" => 1_000_000_000,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// Writes a rate the way [`parse_rate`] (and `tc`) reads it, in the largest exact unit.
pub fn format_rate(bits_per_sec: u64) -> String {
    for (unit, size) in [
        ("gbit", 1_000_000_000),
        ("mbit", 1_000_000),
        ("kbit", 1_000),
    ] {
        if bits_per_sec >= size && bits_per_sec.is_multiple_of(size) {
            return format!("{}{unit}", bits_per_sec / size);
        }
    }
    format!("{bits_per_sec}bit")
}

/// The lowest rate a bandwidth fault takes, in bits per second: below a frame per second or so
/// a token bucket starves TCP instead of shaping it.
pub const MIN_RATE: u64 = 8_000;

/// The longest process name the kernel keeps (`TASK_COMM_LEN` - 1): what `pgrep -x` matches.
pub const PROCESS_NAME_MAX: usize = 15;

/// Why `name` cannot name a process to kill, if it cannot.
pub fn check_process_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.contains(['/', ' ', '\'']) || name.chars().any(char::is_control) {
        return Err(format!(
            "`{name}` is not a process name (the name as `ps -o comm` shows it, e.g. mesos-agent)"
        ));
    }
    if name.chars().count() > PROCESS_NAME_MAX {
        let short: String = name.chars().take(PROCESS_NAME_MAX).collect();
        return Err(format!(
            "`{name}` is longer than {PROCESS_NAME_MAX} characters, the kernel's limit for process names: write `{short}`"
        ));
    }
    Ok(())
}

/// Writes a duration the way [`parse_duration`] reads it.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else if !ms.is_multiple_of(60_000) || ms == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{}m", ms / 60_000)
    }
}

fn valid_selector(s: &str) -> bool {
    let role_ok = |r: &str| {
        r.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && r.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    match s.split_once(':') {
        None => role_ok(s),
        Some(("name", n)) => !n.is_empty(),
        Some((role, pick)) => {
            role_ok(role) && (pick == "all" || pick.parse::<u32>().is_ok_and(|n| n >= 1))
        }
    }
}

/// Where in a file: `path:line`.
fn at(path: &Path, text: &str, span: std::ops::Range<usize>) -> String {
    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
    format!("{}:{line}", path.display())
}

/// Parses a scenario file's text. Errors are one line: `file:line: field: what is wrong`.
pub fn parse_scenario(path: &Path, text: &str) -> Result<Schedule> {
    let de = toml::de::Deserializer::parse(text).map_err(|e| {
        let loc = e
            .span()
            .map_or_else(|| path.display().to_string(), |s| at(path, text, s));
        Error::usage(format!("{loc}: {}", one_line(e.message())))
    })?;
    let raw: RawScenario = serde_path_to_error::deserialize(de).map_err(|e| {
        // `Spanned` wrappers show up in the path as an internal key: drop them.
        let field = e
            .path()
            .to_string()
            .replace(".$__serde_spanned_private_value", "");
        let inner = e.into_inner();
        let loc = inner
            .span()
            .map_or_else(|| path.display().to_string(), |s| at(path, text, s));
        let field = if field == "." {
            String::new()
        } else {
            format!("{field}: ")
        };
        Error::usage(format!("{loc}: {field}{}", one_line(inner.message())))
    })?;
    let mut entries = Vec::new();
    for (i, f) in raw.faults.iter().enumerate() {
        let f = f.get_ref();
        let bad = |field: &str, span: std::ops::Range<usize>, why: String| {
            Error::usage(format!(
                "{}: fault[{i}].{field}: {why}",
                at(path, text, span)
            ))
        };
        let dur = |field: &str, v: &toml::Spanned<String>| {
            parse_duration(v.get_ref()).ok_or_else(|| {
                bad(
                    field,
                    v.span(),
                    format!(
                        "`{}` is not a duration (examples: 500ms, 10s, 1m30s)",
                        v.get_ref()
                    ),
                )
            })
        };
        let offset = dur("at", &f.at)?;
        let duration = f
            .duration
            .as_ref()
            .map(|d| dur("duration", d))
            .transpose()?;
        if duration == Some(Duration::ZERO) {
            let d = f.duration.as_ref().expect("checked");
            return Err(bad("duration", d.span(), "must be longer than 0".into()));
        }
        if !valid_selector(f.target.get_ref()) {
            return Err(bad(
                "target",
                f.target.span(),
                format!(
                    "`{}` is not a target (examples: agent, agent:2, agent:all, leader, name:node-1)",
                    f.target.get_ref()
                ),
            ));
        }
        let need = |field: &str, present: bool| {
            if present {
                Ok(())
            } else {
                Err(bad(
                    field,
                    f.kind.span(),
                    format!("`{}` needs `{field}`", f.kind.get_ref()),
                ))
            }
        };
        let fault = match f.kind.get_ref().as_str() {
            "kill" => Fault::Kill,
            "stop" => Fault::Stop,
            "restart" => Fault::Restart,
            "pause" => Fault::Pause,
            "isolate" => Fault::Isolate,
            "partition-one-way" => {
                need("to", f.to.is_some())?;
                let to = f.to.as_ref().expect("checked");
                if !valid_selector(to.get_ref()) {
                    return Err(bad(
                        "to",
                        to.span(),
                        format!("`{}` is not a target", to.get_ref()),
                    ));
                }
                Fault::PartitionOneWay {
                    to: to.get_ref().clone(),
                }
            }
            "loss" => {
                need("probability", f.probability.is_some())?;
                let p = f.probability.as_ref().expect("checked");
                if !(*p.get_ref() > 0.0 && *p.get_ref() <= 1.0) {
                    return Err(bad(
                        "probability",
                        p.span(),
                        format!("{} is not within (0, 1]", p.get_ref()),
                    ));
                }
                Fault::Loss {
                    probability: *p.get_ref(),
                }
            }
            "latency" => {
                need("delay", f.delay.is_some())?;
                let d = dur("delay", f.delay.as_ref().expect("checked"))?;
                Fault::Latency {
                    delay_ms: u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
                }
            }
            "bandwidth" => {
                need("rate", f.rate.is_some())?;
                let r = f.rate.as_ref().expect("checked");
                let bits_per_sec = parse_rate(r.get_ref()).ok_or_else(|| {
                    bad(
                        "rate",
                        r.span(),
                        format!(
                            "`{}` is not a rate (examples: 512kbit, 1mbit, 10mbit)",
                            r.get_ref()
                        ),
                    )
                })?;
                if bits_per_sec < MIN_RATE {
                    return Err(bad(
                        "rate",
                        r.span(),
                        format!("`{}` is below the useful floor of 8kbit", r.get_ref()),
                    ));
                }
                Fault::Bandwidth { bits_per_sec }
            }
            "kill-process" => {
                need("process", f.process.is_some())?;
                let p = f.process.as_ref().expect("checked");
                check_process_name(p.get_ref()).map_err(|why| bad("process", p.span(), why))?;
                Fault::KillProcess {
                    process: p.get_ref().clone(),
                }
            }
            other => {
                return Err(bad(
                    "kind",
                    f.kind.span(),
                    format!("unknown fault kind `{other}` (known: {})", KINDS.join(", ")),
                ));
            }
        };
        let extra = [
            (
                "probability",
                f.probability.as_ref().map(toml::Spanned::span),
                matches!(fault, Fault::Loss { .. }),
            ),
            (
                "delay",
                f.delay.as_ref().map(toml::Spanned::span),
                matches!(fault, Fault::Latency { .. }),
            ),
            (
                "to",
                f.to.as_ref().map(toml::Spanned::span),
                matches!(fault, Fault::PartitionOneWay { .. }),
            ),
            (
                "rate",
                f.rate.as_ref().map(toml::Spanned::span),
                matches!(fault, Fault::Bandwidth { .. }),
            ),
            (
                "process",
                f.process.as_ref().map(toml::Spanned::span),
                matches!(fault, Fault::KillProcess { .. }),
            ),
        ];
        for (field, span, allowed) in extra {
            if let (Some(span), false) = (span, allowed) {
                return Err(bad(
                    field,
                    span,
                    format!("`{field}` does not apply to `{}`", fault.kind()),
                ));
            }
        }
        entries.push(Entry {
            at_ms: u64::try_from(offset.as_millis()).unwrap_or(u64::MAX),
            fault,
            target: f.target.get_ref().clone(),
            duration_ms: duration.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        });
    }
    entries.sort_by_key(|e| e.at_ms);
    Ok(Schedule {
        name: raw.name,
        seed: None,
        entries,
    })
}

/// Reads and parses a scenario file.
pub fn load_scenario(path: &Path) -> Result<Schedule> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("{}: cannot read: {e}", path.display())))?;
    parse_scenario(path, &text)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What a generated schedule may contain.
#[derive(Debug, Clone)]
pub struct GenSpec {
    /// Total length: no fault starts after it.
    pub length: Duration,
    /// Gap between one fault's start and the next's: uniform in this range.
    pub gap: (Duration, Duration),
    /// How long each fault holds: uniform in this range.
    pub hold: (Duration, Duration),
    /// Fault kinds with weights. Any kind but `partition-one-way` and `kill-process` (which
    /// need a second target or a process name). The default mix leaves out `bandwidth` so
    /// that a seed gives the schedule it gave before that kind existed.
    pub mix: Vec<(&'static str, u32)>,
    /// Target selectors to pick from.
    pub targets: Vec<String>,
}

impl Default for GenSpec {
    fn default() -> Self {
        Self {
            length: Duration::from_secs(300),
            gap: (Duration::from_secs(20), Duration::from_secs(60)),
            hold: (Duration::from_secs(5), Duration::from_secs(30)),
            mix: vec![
                ("kill", 1),
                ("pause", 2),
                ("isolate", 2),
                ("loss", 1),
                ("latency", 1),
            ],
            targets: vec!["agent".into()],
        }
    }
}

/// A whole number of seconds in `lo..=hi` (schedules read better in seconds).
fn between(rng: &mut ChaCha8Rng, (lo, hi): (Duration, Duration)) -> Duration {
    let (lo, hi) = (lo.as_secs(), hi.as_secs().max(lo.as_secs()));
    Duration::from_secs(rng.random_range(lo..=hi))
}

/// A schedule drawn from `seed`: the same seed and spec always give the same schedule.
pub fn generate(seed: u64, spec: &GenSpec) -> Result<Schedule> {
    let total: u32 = spec.mix.iter().map(|(_, w)| w).sum();
    if total == 0 || spec.targets.is_empty() {
        return Err(Error::usage(
            "a generated schedule needs at least one fault kind with a weight and one target",
        ));
    }
    if let Some((k, _)) = spec
        .mix
        .iter()
        .find(|(k, _)| !KINDS.contains(k) || matches!(*k, "partition-one-way" | "kill-process"))
    {
        return Err(Error::usage(format!(
            "cannot generate fault kind `{k}` (generated kinds: kill, stop, restart, pause, isolate, loss, latency, bandwidth)"
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut entries = Vec::new();
    let mut t = between(&mut rng, spec.gap);
    while t < spec.length {
        let mut pick = rng.random_range(0..total);
        let kind = spec
            .mix
            .iter()
            .find(|(_, w)| {
                if pick < *w {
                    true
                } else {
                    pick -= w;
                    false
                }
            })
            .map(|(k, _)| *k)
            .expect("weights sum");
        let fault = match kind {
            "kill" => Fault::Kill,
            "stop" => Fault::Stop,
            "restart" => Fault::Restart,
            "pause" => Fault::Pause,
            "isolate" => Fault::Isolate,
            "loss" => Fault::Loss {
                probability: f64::from(rng.random_range(10u32..=50)) / 100.0,
            },
            "bandwidth" => Fault::Bandwidth {
                bits_per_sec: [256_000, 1_000_000, 10_000_000][rng.random_range(0..3usize)],
            },
            _ => Fault::Latency {
                delay_ms: rng.random_range(50u64..=300),
            },
        };
        let target = spec.targets[rng.random_range(0..spec.targets.len())].clone();
        let hold = between(&mut rng, spec.hold);
        entries.push(Entry {
            at_ms: t.as_millis() as u64,
            fault,
            target,
            duration_ms: (!matches!(kind, "restart")).then_some(hold.as_millis() as u64),
        });
        t += between(&mut rng, spec.gap);
    }
    Ok(Schedule {
        name: format!("generated from seed {seed}"),
        seed: Some(seed),
        entries,
    })
}

impl Schedule {
    /// The schedule as a scenario file, which [`parse_scenario`] reads back to the same schedule.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "name = {:?}", self.name);
        if let Some(seed) = self.seed {
            let _ = writeln!(
                out,
                "description = \"generated by `ordeal schedule generate --seed {seed}`\""
            );
        }
        for e in &self.entries {
            let _ = writeln!(out, "\n[[fault]]");
            let _ = writeln!(
                out,
                "at = \"{}\"",
                format_duration(Duration::from_millis(e.at_ms))
            );
            let _ = writeln!(out, "kind = \"{}\"", e.fault.kind());
            let _ = writeln!(out, "target = {:?}", e.target);
            if let Some(d) = e.duration_ms {
                let _ = writeln!(
                    out,
                    "duration = \"{}\"",
                    format_duration(Duration::from_millis(d))
                );
            }
            match &e.fault {
                Fault::Loss { probability } => {
                    let _ = writeln!(out, "probability = {probability}");
                }
                Fault::Latency { delay_ms } => {
                    let _ = writeln!(
                        out,
                        "delay = \"{}\"",
                        format_duration(Duration::from_millis(*delay_ms))
                    );
                }
                Fault::PartitionOneWay { to } => {
                    let _ = writeln!(out, "to = {to:?}");
                }
                Fault::Bandwidth { bits_per_sec } => {
                    let _ = writeln!(out, "rate = \"{}\"", format_rate(*bits_per_sec));
                }
                Fault::KillProcess { process } => {
                    let _ = writeln!(out, "process = {process:?}");
                }
                Fault::Kill | Fault::Stop | Fault::Restart | Fault::Pause | Fault::Isolate => {}
            }
        }
        out
    }

    /// When the last fault heals (or starts, if it never heals by itself).
    pub fn span(&self) -> Duration {
        let end = self
            .entries
            .iter()
            .map(|e| e.at_ms + e.duration_ms.unwrap_or(0))
            .max()
            .unwrap_or(0);
        Duration::from_millis(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_format_both_ways() {
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        for bad in ["", "10", "s", "1.5s", "10 s", "10sec", "-1s"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
        for d in [
            Duration::from_millis(1500),
            Duration::from_secs(45),
            Duration::from_secs(120),
            Duration::ZERO,
        ] {
            assert_eq!(parse_duration(&format_duration(d)), Some(d));
        }
    }

    #[test]
    fn a_scenario_parses_into_a_sorted_schedule() {
        let text = r#"
name = "agent partition heals"
description = "isolate one agent for 30 s, then a lossy link"

[[fault]]
at = "1m"
kind = "loss"
target = "agent:2"
probability = 0.3
duration = "20s"

[[fault]]
at = "10s"
kind = "isolate"
target = "agent:1"
duration = "30s"
"#;
        let s = parse_scenario(Path::new("x.toml"), text).unwrap();
        assert_eq!(s.entries.len(), 2);
        assert_eq!(s.entries[0].fault, Fault::Isolate);
        assert_eq!(s.entries[0].at_ms, 10_000);
        assert_eq!(s.entries[1].fault, Fault::Loss { probability: 0.3 });
        assert_eq!(s.span(), Duration::from_secs(80));
        let again = parse_scenario(Path::new("y.toml"), &s.to_toml()).unwrap();
        assert_eq!(again.entries, s.entries, "to_toml round-trips");
    }

    #[test]
    fn the_same_seed_gives_a_byte_identical_schedule() {
        let spec = GenSpec {
            targets: vec!["agent".into(), "master:1".into()],
            ..GenSpec::default()
        };
        let a = generate(42, &spec).unwrap();
        let b = generate(42, &spec).unwrap();
        assert_eq!(a.to_toml(), b.to_toml());
        assert_eq!(
            serde_json::to_vec(&a).unwrap(),
            serde_json::to_vec(&b).unwrap()
        );
        assert_ne!(a.to_toml(), generate(43, &spec).unwrap().to_toml());
        assert!(
            a.entries.len() >= 4,
            "300 s with 20-60 s gaps: {}",
            a.entries.len()
        );
        assert!(a.entries.windows(2).all(|w| w[0].at_ms < w[1].at_ms));
        assert!(a.entries.iter().all(|e| e.at_ms < 300_000));
        let back = parse_scenario(Path::new("gen.toml"), &a.to_toml()).unwrap();
        assert_eq!(
            back.entries, a.entries,
            "a generated schedule is a valid scenario file"
        );
    }

    #[test]
    fn a_stored_schedule_round_trips_through_json() {
        let s = generate(7, &GenSpec::default()).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        let back: Schedule = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn rates_parse_and_format_like_tc() {
        assert_eq!(parse_rate("1mbit"), Some(1_000_000));
        assert_eq!(parse_rate("512kbit"), Some(512_000));
        assert_eq!(parse_rate("3gbit"), Some(3_000_000_000));
        assert_eq!(parse_rate("800bit"), Some(800));
        for bad in [
            "", "1", "mbit", "1.5mbit", "1 mbit", "1Mbit", "1mbps", "-1kbit",
        ] {
            assert_eq!(parse_rate(bad), None, "{bad:?}");
        }
        for bits in [800, 512_000, 1_000_000, 1_500_000, 2_000_000_000] {
            assert_eq!(parse_rate(&format_rate(bits)), Some(bits));
        }
        assert_eq!(format_rate(1_500_000), "1500kbit");
    }

    #[test]
    fn bandwidth_and_kill_process_parse_and_round_trip() {
        let text = r#"
name = "slow link, then the agent process dies"

[[fault]]
at = "5s"
kind = "bandwidth"
target = "agent:1"
rate = "1mbit"
duration = "20s"

[[fault]]
at = "30s"
kind = "kill-process"
target = "agent:2"
process = "mesos-agent"
duration = "10s"
"#;
        let s = parse_scenario(Path::new("x.toml"), text).unwrap();
        assert_eq!(
            s.entries[0].fault,
            Fault::Bandwidth {
                bits_per_sec: 1_000_000
            }
        );
        assert_eq!(
            s.entries[1].fault,
            Fault::KillProcess {
                process: "mesos-agent".into()
            }
        );
        let again = parse_scenario(Path::new("y.toml"), &s.to_toml()).unwrap();
        assert_eq!(again.entries, s.entries, "to_toml round-trips");
        let slow = text.replace("1mbit", "800bit");
        let err = parse_scenario(Path::new("s.toml"), &slow)
            .unwrap_err()
            .to_string();
        assert!(err.contains("fault[0].rate: `800bit` is below"), "{err}");
        let long = text.replace("mesos-agent", "kube-controller-manager");
        let err = parse_scenario(Path::new("z.toml"), &long)
            .unwrap_err()
            .to_string();
        assert!(err.contains("fault[1].process:"), "{err}");
        assert!(err.contains("write `kube-controller`"), "{err}");
    }

    #[test]
    fn the_default_mix_still_gives_the_schedules_seeds_gave_before_bandwidth() {
        let spec = GenSpec {
            length: Duration::from_secs(180),
            ..GenSpec::default()
        };
        // `ordeal schedule generate --seed 42 --length 3m` before the `bandwidth` kind existed.
        let kinds: Vec<(u64, &str)> = generate(42, &spec)
            .unwrap()
            .entries
            .iter()
            .map(|e| (e.at_ms / 1000, e.fault.kind()))
            .collect();
        assert_eq!(
            kinds,
            [(47, "pause"), (92, "loss"), (118, "loss"), (158, "pause")]
        );
        let spec = GenSpec {
            mix: vec![("bandwidth", 1)],
            ..GenSpec::default()
        };
        let s = generate(42, &spec).unwrap();
        assert!(
            s.entries
                .iter()
                .all(|e| matches!(e.fault, Fault::Bandwidth { bits_per_sec } if bits_per_sec > 0))
        );
        let spec = GenSpec {
            mix: vec![("kill-process", 1)],
            ..GenSpec::default()
        };
        assert!(
            generate(1, &spec).is_err(),
            "needs a process name per target"
        );
    }

    #[test]
    fn generation_rejects_empty_mixes_and_unknown_kinds() {
        let spec = GenSpec {
            mix: vec![("kill", 0)],
            ..GenSpec::default()
        };
        assert!(generate(1, &spec).is_err());
        let spec = GenSpec {
            mix: vec![("explode", 1)],
            ..GenSpec::default()
        };
        assert!(
            generate(1, &spec)
                .unwrap_err()
                .to_string()
                .contains("`explode`")
        );
    }
}

#[cfg(test)]
mod corpus {
    use std::path::PathBuf;

    use super::*;

    fn scenarios() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../suites/scenarios")
    }

    #[test]
    fn every_broken_file_gets_its_one_line_error() {
        let dir = scenarios().join("broken");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let expect = text
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("# expect: "))
                .expect("first line: # expect: ...");
            let err =
                load_scenario(&path).expect_err(&format!("{} must not parse", path.display()));
            let msg = err.to_string();
            assert!(
                matches!(err, Error::Usage(_)),
                "{msg}: a usage error (exit 2)"
            );
            assert!(!msg.contains('\n'), "one line: {msg}");
            assert!(
                msg.contains(expect),
                "{}:\n  got:      {msg}\n  expected: …{expect}…",
                path.display()
            );
            n += 1;
        }
        assert!(n >= 15, "the corpus has {n} files");
    }

    #[test]
    fn every_example_scenario_parses() {
        let mut n = 0;
        for entry in std::fs::read_dir(scenarios()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let s = load_scenario(&path).unwrap_or_else(|e| panic!("{e}"));
                assert!(!s.entries.is_empty(), "{}", path.display());
                n += 1;
            }
        }
        assert!(n >= 3);
    }
}
