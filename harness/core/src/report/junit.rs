//! JUnit XML through `junit-report` (the user's choice of crate).
//!
//! junit-report writes text as raw CDATA and does not filter characters XML forbids, so every
//! string goes through [`sanitize`] first. It has no `<properties>`: the run's properties are in
//! `run.json` and at the top of each suite's `system-out`.

use std::collections::BTreeMap;

use junit_report::{Duration, ReportBuilder, TestCase, TestSuiteBuilder};

use crate::{
    Error, Result,
    run::{CaseRecord, Outcome},
    timeline::Stamped,
};

use super::RunMeta;

/// Makes `s` safe inside CDATA: drops ANSI escape sequences and characters XML 1.0 forbids,
/// and breaks up `]]>`.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ params final-byte(0x40..=0x7e); other escapes: drop ESC and one char.
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&d) {
                        break;
                    }
                }
            } else {
                chars.next();
            }
            continue;
        }
        let allowed = matches!(c, '\t' | '\n' | '\r')
            || ('\u{20}'..='\u{d7ff}').contains(&c)
            || ('\u{e000}'..='\u{fffd}').contains(&c)
            || c >= '\u{10000}';
        if allowed {
            out.push(c);
        }
    }
    out.replace("]]>", "]]]]><![CDATA[>")
}

fn duration(secs: f64) -> Duration {
    Duration::seconds_f64(secs)
}

/// The JUnit document: one `<testsuite>` per suite, one `<testcase>` per case, failures with the
/// expected-vs-observed message, and the case's timeline as `system-out`.
pub fn junit_xml(meta: &RunMeta, cases: &[CaseRecord], timeline: &[Stamped]) -> Result<Vec<u8>> {
    let mut suites: BTreeMap<&str, Vec<&CaseRecord>> = BTreeMap::new();
    for c in cases {
        suites.entry(c.suite.as_str()).or_default().push(c);
    }
    let started = time::OffsetDateTime::parse(
        &meta.started,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let mut report = ReportBuilder::new();
    for (suite, records) in suites {
        let mut tests = Vec::new();
        for c in records {
            let name = if c.negative_control {
                format!("{}::negative_control", c.name)
            } else {
                c.name.clone()
            };
            let msg = sanitize(c.message.as_deref().unwrap_or(""));
            let mut tc = match c.outcome {
                Outcome::Passed => TestCase::success(&name, duration(c.duration_s)),
                Outcome::Failed => TestCase::failure(&name, duration(c.duration_s), "check", &msg),
                Outcome::Error => {
                    TestCase::error(&name, duration(c.duration_s), "infrastructure", &msg)
                }
            };
            tc.set_classname(&format!("ordeal.{suite}"));
            let mut out: String = timeline
                .iter()
                .filter(|e| e.case == c.name)
                .map(|e| e.line() + "\n")
                .collect();
            for log in &c.logs {
                out.push_str("log saved: ");
                out.push_str(log);
                out.push('\n');
            }
            tc.set_system_out(&sanitize(&out));
            tests.push(tc);
        }
        let props: String = [
            ("run".to_owned(), meta.run_id.clone()),
            ("seed".to_owned(), meta.seed.to_string()),
            ("profile".to_owned(), meta.profile.clone()),
            (
                "docker".to_owned(),
                format!("{} (API {})", meta.docker_version, meta.docker_api_version),
            ),
        ]
        .into_iter()
        .chain(meta.properties.iter().cloned())
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect();
        let ts = TestSuiteBuilder::new(suite)
            .set_timestamp(started)
            .add_testcases(tests)
            .set_system_out(&sanitize(&props))
            .build();
        report.add_testsuite(ts);
    }
    let mut buf = Vec::new();
    report
        .build()
        .write_xml(&mut buf)
        .map_err(|e| Error::infra(format!("failed to write JUnit XML: {e}")))?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_strips_ansi_and_control_characters_and_cdata_ends() {
        assert_eq!(sanitize("\u{1b}[31mred\u{1b}[0m ok"), "red ok");
        assert_eq!(sanitize("a\u{0}b\u{7}c\td\n"), "abc\td\n");
        assert_eq!(sanitize("x]]>y"), "x]]]]><![CDATA[>y");
        assert_eq!(sanitize("ünïcødé ✓"), "ünïcødé ✓");
    }

    fn meta() -> RunMeta {
        RunMeta {
            run_id: "20261125-000000-abcd".into(),
            seed: 7,
            profile: "smoke".into(),
            negative_controls: false,
            ordeal_version: "0".into(),
            docker_version: "20.10".into(),
            docker_api_version: "1.41".into(),
            images: vec![],
            properties: vec![("node-monitor-grace-period".into(), "10s".into())],
            started: "2026-11-25T00:00:00Z".into(),
            finished: "2026-11-25T00:01:00Z".into(),
            duration_s: 60.0,
            exit_code: 1,
        }
    }

    fn case(name: &str, outcome: Outcome, message: Option<&str>) -> CaseRecord {
        CaseRecord {
            name: name.into(),
            suite: name.split("::").next().unwrap().into(),
            outcome,
            duration_s: 1.5,
            message: message.map(Into::into),
            negative_control: false,
            logs: vec![],
        }
    }

    #[test]
    fn one_suite_per_suite_with_failures_errors_and_timings() {
        let cases = [
            case("smoke::a", Outcome::Passed, None),
            case(
                "smoke::b",
                Outcome::Failed,
                Some("expected x; observed \u{1b}[1my\u{1b}[0m"),
            ),
            case("mesos::c", Outcome::Error, Some("docker went away")),
        ];
        let xml = String::from_utf8(junit_xml(&meta(), &cases, &[]).unwrap()).unwrap();
        assert_eq!(xml.matches("<testsuite ").count(), 2, "{xml}");
        assert!(
            xml.contains(r#"name="smoke" "#) || xml.contains(r#"name="smoke""#),
            "{xml}"
        );
        assert!(xml.contains("expected x; observed y"), "{xml}");
        assert!(
            xml.contains("<error") && xml.contains("docker went away"),
            "{xml}"
        );
        assert!(xml.contains(r#"classname="ordeal.smoke""#), "{xml}");
        assert!(
            xml.contains("seed: 7") && xml.contains("node-monitor-grace-period: 10s"),
            "{xml}"
        );
        assert!(!xml.contains('\u{1b}'));
    }
}
