//! JUnit XML through `junit-report` (the user's choice of crate).
//!
//! junit-report writes text as raw CDATA and does not filter characters XML forbids, so every
//! string goes through [`sanitize`] first. It has no `<properties>` and no reruns, and writes
//! times with full `f64` precision, which the common JUnit schema (Jenkins' `junit-10.xsd`, the
//! one pytest validates against) refuses; [`enrich`] adds the first two and rounds the times to
//! milliseconds in one streaming pass with quick-xml. Retried cases carry Surefire's elements,
//! which Jenkins, GitLab and junitparser's `xunit2` read: `flakyFailure`/`flakyError` in a case
//! that passed on a retry, `rerunFailure`/`rerunError` in one that failed every attempt.

use std::collections::{BTreeMap, HashMap};

use junit_report::{Duration, ReportBuilder, TestCase, TestSuiteBuilder};
use quick_xml::{
    Reader, Writer,
    events::{BytesEnd, BytesStart, BytesText, Event},
};

use crate::{
    Error, Result,
    run::{Attempt, CaseRecord, Outcome},
    timeline::Stamped,
};

use super::RunMeta;

/// Makes `s` safe inside CDATA: drops ANSI escape sequences and characters XML 1.0 forbids,
/// and breaks up `]]>`.
pub fn sanitize(s: &str) -> String {
    xml_chars(s).replace("]]>", "]]]]><![CDATA[>")
}

/// `s` without ANSI escape sequences and the characters XML 1.0 forbids.
fn xml_chars(s: &str) -> String {
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
    out
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
            let name = c.display_name();
            let msg = sanitize(c.message.as_deref().unwrap_or(""));
            let mut tc = match c.outcome {
                Outcome::Passed | Outcome::Flaky => {
                    TestCase::success(&name, duration(c.duration_s))
                }
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
        let ts = TestSuiteBuilder::new(suite)
            .set_timestamp(started)
            .add_testcases(tests)
            .build();
        report.add_testsuite(ts);
    }
    let mut buf = Vec::new();
    report
        .build()
        .write_xml(&mut buf)
        .map_err(|e| Error::infra(format!("failed to write JUnit XML: {e}")))?;
    let reruns: HashMap<String, (bool, &[Attempt])> = cases
        .iter()
        .filter(|c| !c.attempts.is_empty())
        .map(|c| {
            (
                c.display_name(),
                (c.outcome == Outcome::Flaky, c.attempts.as_slice()),
            )
        })
        .collect();
    enrich(&buf, &properties(meta), &reruns)
        .map_err(|e| Error::infra(format!("failed to write JUnit XML: {e}")))
}

/// The `<property>` pairs of every suite: the run's identity, versions and the timings in force.
fn properties(meta: &RunMeta) -> Vec<(String, String)> {
    let mut props = vec![
        ("ordeal.run".to_owned(), meta.run_id.clone()),
        ("ordeal.seed".to_owned(), meta.seed.to_string()),
        ("ordeal.profile".to_owned(), meta.profile.clone()),
        (
            "ordeal.negative_controls".to_owned(),
            meta.negative_controls.to_string(),
        ),
        ("ordeal.version".to_owned(), meta.ordeal_version.clone()),
        (
            "docker.version".to_owned(),
            format!("{} (API {})", meta.docker_version, meta.docker_api_version),
        ),
    ];
    props.extend(
        meta.images
            .iter()
            .map(|(k, v)| (format!("image.{k}"), v.clone())),
    );
    props.extend(meta.properties.iter().cloned());
    props
}

/// Rewrites junit-report's document: `<properties>` first in every `<testsuite>`, `time`
/// attributes rounded to milliseconds, and Surefire rerun elements in retried cases (keyed by
/// the `<testcase name>`; `true` = flaky).
fn enrich(
    xml: &[u8],
    props: &[(String, String)],
    reruns: &HashMap<String, (bool, &[Attempt])>,
) -> std::result::Result<Vec<u8>, quick_xml::Error> {
    let mut reader = Reader::from_reader(xml);
    let mut writer = Writer::new(Vec::with_capacity(xml.len() + 1024));
    let mut current: Option<String> = None;
    loop {
        match reader.read_event()? {
            Event::Eof => break,
            Event::Start(e) if e.name().as_ref() == b"testsuite" => {
                writer.write_event(Event::Start(round_time(&e)?))?;
                write_properties(&mut writer, props)?;
            }
            Event::Empty(e) if e.name().as_ref() == b"testsuite" => {
                writer.write_event(Event::Start(round_time(&e)?))?;
                write_properties(&mut writer, props)?;
                writer.write_event(Event::End(BytesEnd::new("testsuite")))?;
            }
            Event::Start(e) if e.name().as_ref() == b"testcase" => {
                current = attr(&e, b"name")?;
                writer.write_event(Event::Start(round_time(&e)?))?;
            }
            Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                let name = attr(&e, b"name")?;
                writer.write_event(Event::Start(round_time(&e)?))?;
                write_reruns(&mut writer, name.as_deref().and_then(|n| reruns.get(n)))?;
                writer.write_event(Event::End(BytesEnd::new("testcase")))?;
            }
            Event::End(e) if e.name().as_ref() == b"testcase" => {
                let name = current.take();
                write_reruns(&mut writer, name.as_deref().and_then(|n| reruns.get(n)))?;
                writer.write_event(Event::End(e))?;
            }
            Event::Start(e) if e.name().as_ref() == b"testsuites" => {
                writer.write_event(Event::Start(round_time(&e)?))?;
            }
            other => writer.write_event(other)?,
        }
    }
    Ok(writer.into_inner())
}

fn attr(e: &BytesStart<'_>, key: &[u8]) -> std::result::Result<Option<String>, quick_xml::Error> {
    for a in e.attributes() {
        let a = a.map_err(quick_xml::Error::from)?;
        if a.key.as_ref() == key {
            return Ok(Some(
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)?
                    .into_owned(),
            ));
        }
    }
    Ok(None)
}

/// The element with its `time` attribute rounded to 3 decimals (Surefire's time format).
fn round_time(e: &BytesStart<'_>) -> std::result::Result<BytesStart<'static>, quick_xml::Error> {
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let mut out = BytesStart::new(name);
    for a in e.attributes() {
        let a = a.map_err(quick_xml::Error::from)?;
        let rounded = (a.key.as_ref() == b"time")
            .then(|| std::str::from_utf8(&a.value).ok()?.parse::<f64>().ok())
            .flatten();
        match rounded {
            Some(t) => out.push_attribute(("time", format!("{:.3}", t.max(0.0)).as_str())),
            // Other attributes are copied as written (already escaped).
            None => out.push_attribute(a),
        }
    }
    Ok(out)
}

fn write_properties(
    w: &mut Writer<Vec<u8>>,
    props: &[(String, String)],
) -> std::result::Result<(), quick_xml::Error> {
    w.write_event(Event::Start(BytesStart::new("properties")))?;
    for (k, v) in props {
        let (k, v) = (sanitize_attr(k), sanitize_attr(v));
        w.write_event(Event::Empty(
            BytesStart::new("property")
                .with_attributes([("name", k.as_str()), ("value", v.as_str())]),
        ))?;
    }
    w.write_event(Event::End(BytesEnd::new("properties")))?;
    Ok(())
}

fn write_reruns(
    w: &mut Writer<Vec<u8>>,
    reruns: Option<&(bool, &[Attempt])>,
) -> std::result::Result<(), quick_xml::Error> {
    let Some((flaky, attempts)) = reruns else {
        return Ok(());
    };
    for a in *attempts {
        let error = a.outcome == Outcome::Error;
        let tag = match (flaky, error) {
            (true, false) => "flakyFailure",
            (true, true) => "flakyError",
            (false, false) => "rerunFailure",
            (false, true) => "rerunError",
        };
        let message = sanitize_attr(a.message.as_deref().unwrap_or(""));
        let kind = if error { "infrastructure" } else { "check" };
        w.write_event(Event::Start(
            BytesStart::new(tag).with_attributes([("message", message.as_str()), ("type", kind)]),
        ))?;
        w.write_event(Event::Start(BytesStart::new("stackTrace")))?;
        w.write_event(Event::Text(BytesText::new(&message)))?;
        w.write_event(Event::End(BytesEnd::new("stackTrace")))?;
        w.write_event(Event::Start(BytesStart::new("system-out")))?;
        let out = format!(
            "attempt {} {} after {:.3} s\n",
            a.attempt,
            a.outcome.word(),
            a.duration_s
        );
        w.write_event(Event::Text(BytesText::new(&out)))?;
        w.write_event(Event::End(BytesEnd::new("system-out")))?;
        w.write_event(Event::End(BytesEnd::new(tag)))?;
    }
    Ok(())
}

/// Attribute values: only the character filter (the writer escapes markup; no CDATA here).
fn sanitize_attr(s: &str) -> String {
    xml_chars(s)
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
            attempts: vec![],
            schedule: None,
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
            xml.contains(r#"<property name="ordeal.seed" value="7"/>"#)
                && xml.contains(r#"<property name="node-monitor-grace-period" value="10s"/>"#),
            "{xml}"
        );
        assert_eq!(xml.matches("<properties>").count(), 2, "one per suite");
        assert!(xml.contains(r#"time="1.500""#), "rounded to ms: {xml}");
        assert!(!xml.contains('\u{1b}'));
    }

    #[test]
    fn retried_cases_carry_flaky_and_rerun_elements() {
        let attempt = |n, outcome, msg: &str| Attempt {
            attempt: n,
            outcome,
            duration_s: 2.0 / 3.0,
            message: Some(msg.into()),
        };
        let mut flaky = case(
            "smoke::f",
            Outcome::Flaky,
            Some("flaky: passed on attempt 2"),
        );
        flaky.attempts = vec![attempt(
            1,
            Outcome::Failed,
            "expected <a> & \"b\"; observed c",
        )];
        let mut failed = case("smoke::g", Outcome::Failed, Some("third"));
        failed.attempts = vec![
            attempt(1, Outcome::Failed, "first"),
            attempt(2, Outcome::Error, "second"),
        ];
        let xml = String::from_utf8(
            junit_xml(
                &meta(),
                &[flaky, failed, case("smoke::h", Outcome::Passed, None)],
                &[],
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(xml.matches("<flakyFailure ").count(), 1, "{xml}");
        assert!(
            xml.contains(r#"message="expected &lt;a&gt; &amp; &quot;b&quot;; observed c""#),
            "{xml}"
        );
        assert_eq!(xml.matches("<rerunFailure ").count(), 1, "{xml}");
        assert_eq!(xml.matches("<rerunError ").count(), 1, "{xml}");
        assert!(xml.contains("attempt 2 error after 0.667 s"), "{xml}");
        // the flaky case is not a failure; the failed one is, once
        assert!(xml.contains(r#"failures="1""#), "{xml}");
        let f = xml.find(r#"name="smoke::f""#).unwrap();
        let g = xml.find(r#"name="smoke::g""#).unwrap();
        assert!(xml[f..g].contains("<flakyFailure") && !xml[f..g].contains("<failure"));
    }
}
