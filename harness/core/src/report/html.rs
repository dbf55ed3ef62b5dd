//! `index.html`: one self-contained page (no scripts, no network) with the run's summary and,
//! per case, a timeline that lines up steps, faults and check outcomes on one time axis.

use std::fmt::Write as _;

use super::RunMeta;
use crate::{
    fault::{exec::ExecutedSchedule, exec::describe as describe_fault},
    run::{CaseRecord, Outcome},
    timeline::{RunEvent, Stamped},
};

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5em 0} th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #eee;vertical-align:top}
th{background:#f6f6f6} .passed{color:#176f2c;font-weight:600} .failed{color:#b3261e;font-weight:600} .error{color:#8a5a00;font-weight:600} .flaky{color:#6a1b9a;font-weight:600}
.badge{display:inline-block;padding:.1em .6em;border-radius:1em;color:#fff} .b-passed{background:#2e7d32} .b-failed{background:#c62828} .b-error{background:#b26a00} .b-flaky{background:#6a1b9a}
.msg{font-family:ui-monospace,monospace;white-space:pre-wrap;background:#fff4f4;border-left:3px solid #c62828;padding:.5em}
.meta td:first-child{color:#666;width:14em} svg{background:#fafafa;border:1px solid #eee} .mono{font-family:ui-monospace,monospace;font-size:12px}
.legend span{margin-right:1.2em} .k-fault{color:#c62828} .k-check{color:#2e7d32} .k-step{color:#555}
"#;

/// The whole page.
pub fn html(meta: &RunMeta, cases: &[CaseRecord], timeline: &[Stamped]) -> String {
    let (passed, failed, errors) = (
        cases
            .iter()
            .filter(|c| c.outcome == Outcome::Passed)
            .count(),
        cases
            .iter()
            .filter(|c| c.outcome == Outcome::Failed)
            .count(),
        cases.iter().filter(|c| c.outcome == Outcome::Error).count(),
    );
    let flaky = cases.iter().filter(|c| c.outcome == Outcome::Flaky).count();
    let verdict = if errors > 0 {
        "error"
    } else if failed > 0 {
        "failed"
    } else if flaky > 0 {
        "flaky"
    } else {
        "passed"
    };
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ordeal run {id}</title><style>{STYLE}</style></head><body>",
        id = escape(&meta.run_id)
    );
    let _ = write!(
        o,
        "<h1>ordeal run {} <span class=\"badge b-{verdict}\">{verdict}</span></h1><p>{passed} passed, {failed} failed, {errors} errors, {flaky} flaky in {:.1} s</p>",
        escape(&meta.run_id),
        meta.duration_s
    );
    o.push_str("<table class=\"meta\">");
    let mut rows: Vec<(String, String)> = vec![
        ("profile".into(), meta.profile.clone()),
        (
            "seed".into(),
            format!("{} (rerun with --seed {})", meta.seed, meta.seed),
        ),
        (
            "negative controls".into(),
            meta.negative_controls.to_string(),
        ),
        ("started".into(), meta.started.clone()),
        (
            "docker".into(),
            format!("{} (API {})", meta.docker_version, meta.docker_api_version),
        ),
        ("ordeal".into(), meta.ordeal_version.clone()),
    ];
    rows.extend(meta.properties.iter().cloned());
    rows.extend(
        meta.images
            .iter()
            .map(|(k, v)| (format!("image {k}"), v.clone())),
    );
    for (k, v) in rows {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"mono\">{}</td></tr>",
            escape(&k),
            escape(&v)
        );
    }
    o.push_str("</table><h2>Cases</h2><table><tr><th>case</th><th>outcome</th><th>duration</th><th>message</th></tr>");
    for (i, c) in cases.iter().enumerate() {
        let w = c.outcome.word();
        let _ = write!(
            o,
            "<tr><td><a href=\"#case-{i}\">{}</a></td><td class=\"{w}\">{w}</td><td>{:.1} s</td><td class=\"mono\">{}</td></tr>",
            escape(&c.display_name()),
            c.duration_s,
            escape(c.message.as_deref().unwrap_or(""))
        );
    }
    o.push_str("</table>");
    for (i, c) in cases.iter().enumerate() {
        let events: Vec<&Stamped> = timeline.iter().filter(|e| e.case == c.name).collect();
        let w = c.outcome.word();
        let _ = write!(
            o,
            "<h2 id=\"case-{i}\">{} <span class=\"badge b-{w}\">{w}</span></h2>",
            escape(&c.display_name())
        );
        if let Some(m) = &c.message {
            let label = if c.outcome == Outcome::Passed {
                "note"
            } else {
                "expected vs observed"
            };
            let _ = write!(
                o,
                "<p><b>{label}</b></p><div class=\"msg\">{}</div>",
                escape(m)
            );
        }
        for a in &c.attempts {
            let _ = write!(
                o,
                "<p><b>attempt {} {}</b> after {:.1} s</p><div class=\"msg\">{}</div>",
                a.attempt,
                a.outcome.word(),
                a.duration_s,
                escape(a.message.as_deref().unwrap_or(""))
            );
        }
        if let Some(sched) = &c.schedule {
            schedule_table(&mut o, sched);
        }
        o.push_str(&svg_timeline(&events));
        o.push_str("<table><tr><th>t</th><th>wall clock</th><th>event</th></tr>");
        let t0 = events.first().map_or(0, |e| e.mono_ms);
        for e in &events {
            let (class, text) = describe(&e.event);
            let _ = write!(
                o,
                "<tr><td class=\"mono\">+{:.3} s</td><td class=\"mono\">{}</td><td class=\"{class}\">{}</td></tr>",
                (e.mono_ms - t0) as f64 / 1000.0,
                escape(&e.wall),
                escape(&text)
            );
        }
        o.push_str("</table>");
        if !c.logs.is_empty() {
            o.push_str("<p><b>logs</b>: ");
            for log in &c.logs {
                let rel = log
                    .split("/logs/")
                    .nth(1)
                    .map_or_else(|| log.clone(), |r| format!("logs/{r}"));
                let _ = write!(o, "<a href=\"{}\">{}</a> ", escape(&rel), escape(&rel));
            }
            o.push_str("</p>");
        }
    }
    o.push_str("</body></html>\n");
    o
}

/// The executed fault schedule: per entry the plan, the nodes it hit and when.
fn schedule_table(o: &mut String, s: &ExecutedSchedule) {
    let secs = |ms: Option<u64>| {
        ms.map_or_else(
            || "-".to_owned(),
            |ms| format!("+{:.2} s", ms as f64 / 1000.0),
        )
    };
    let _ = write!(
        o,
        "<p><b>fault schedule</b> \"{}\" on {} (started {})</p><table><tr><th>#</th><th>planned</th><th>fault</th><th>target</th><th>resolved</th><th>in place</th><th>healed</th></tr>",
        escape(&s.name),
        escape(&s.backend),
        escape(s.started.as_deref().unwrap_or("-"))
    );
    for (i, e) in s.entries.iter().enumerate() {
        let mut resolved = e.resolved.join(", ");
        if !e.resolved_to.is_empty() {
            let _ = write!(resolved, " → {}", e.resolved_to.join(", "));
        }
        let healed = if e.held {
            "never (held)".to_owned()
        } else {
            secs(e.healed_ms)
        };
        let _ = write!(
            o,
            "<tr><td>{i}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}{}</td></tr>",
            secs(Some(e.at_ms)),
            escape(&describe_fault(&e.fault)),
            escape(&e.target),
            escape(&resolved),
            secs(e.injected_ms),
            escape(&healed),
            e.note
                .as_deref()
                .map(|n| format!(" ({})", escape(n)))
                .unwrap_or_default()
        );
    }
    o.push_str("</table>");
}

fn describe(e: &RunEvent) -> (&'static str, String) {
    match e {
        RunEvent::CaseStarted => ("k-step", "case started".into()),
        RunEvent::Step { message } => ("k-step", message.clone()),
        RunEvent::ContainerStarted { name, image } => {
            ("k-step", format!("container {name} started ({image})"))
        }
        RunEvent::FaultInjected { fault, target } => {
            ("k-fault", format!("fault injected: {fault} {target}"))
        }
        RunEvent::FaultHealed { fault, target } => {
            ("k-fault", format!("fault healed: {fault} {target}"))
        }
        RunEvent::CheckPassed { what } => ("k-check", format!("check held: {what}")),
        RunEvent::CaseFinished { outcome, message } => (
            if outcome == "passed" {
                "k-check"
            } else {
                "k-fault"
            },
            match message {
                Some(m) => format!("case {outcome}: {m}"),
                None => format!("case {outcome}"),
            },
        ),
    }
}

/// A horizontal time axis: fault windows as red bars, checks as green marks, steps as grey
/// ticks, the end as a green or red mark.
fn svg_timeline(events: &[&Stamped]) -> String {
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return String::new();
    };
    let (t0, t1) = (first.mono_ms, last.mono_ms.max(first.mono_ms + 1));
    let (w, left, right) = (1000.0, 10.0, 990.0);
    let x = |t: u64| left + (t - t0) as f64 / (t1 - t0) as f64 * (right - left);
    let mut s = format!(
        "<svg viewBox=\"0 0 {w} 70\" width=\"100%\" role=\"img\" aria-label=\"case timeline\">"
    );
    let _ = write!(
        s,
        "<line x1=\"{left}\" y1=\"40\" x2=\"{right}\" y2=\"40\" stroke=\"#999\"/>"
    );
    // Fault windows: from each injection to its heal (or the end).
    for (i, e) in events.iter().enumerate() {
        if let RunEvent::FaultInjected { fault, target } = &e.event {
            let end = events[i..]
                .iter()
                .find(|h| matches!(&h.event, RunEvent::FaultHealed { fault: f, target: t } if f == fault && t == target))
                .map_or(t1, |h| h.mono_ms);
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"30\" width=\"{:.1}\" height=\"20\" fill=\"#c62828\" opacity=\"0.35\"><title>{} {}</title></rect>",
                x(e.mono_ms),
                (x(end) - x(e.mono_ms)).max(2.0),
                escape(fault),
                escape(target)
            );
        }
    }
    for e in events {
        let (color, h) = match &e.event {
            RunEvent::CheckPassed { .. } => ("#2e7d32", 16.0),
            RunEvent::CaseFinished { outcome, .. } if outcome == "passed" => ("#2e7d32", 22.0),
            RunEvent::CaseFinished { .. } => ("#c62828", 22.0),
            RunEvent::FaultInjected { .. } | RunEvent::FaultHealed { .. } => ("#c62828", 14.0),
            _ => ("#777", 8.0),
        };
        let (_, text) = describe(&e.event);
        let _ = write!(
            s,
            "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"{color}\" stroke-width=\"2\"><title>{3}</title></line>",
            x(e.mono_ms),
            40.0 - h,
            40.0 + h,
            escape(&text)
        );
    }
    let _ = write!(
        s,
        "<text x=\"{left}\" y=\"68\" font-size=\"11\" fill=\"#555\">0 s</text><text x=\"{right}\" y=\"68\" font-size=\"11\" fill=\"#555\" text-anchor=\"end\">{:.1} s</text></svg>",
        (t1 - t0) as f64 / 1000.0
    );
    s.push_str("<div class=\"legend\"><span class=\"k-fault\">■ fault window</span><span class=\"k-check\">| check held</span><span class=\"k-step\">| step</span></div>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_markup_out() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(escape("a\u{1b}[31mb"), "a[31mb");
    }

    #[test]
    fn the_page_shows_the_failing_case_with_its_fault_window_and_evidence() {
        let meta = RunMeta {
            run_id: "r1".into(),
            seed: 5,
            profile: "smoke".into(),
            negative_controls: false,
            ordeal_version: "0.1.0".into(),
            docker_version: "20.10".into(),
            docker_api_version: "1.41".into(),
            images: vec![("workload".into(), "ordeal/workload:abc".into())],
            properties: vec![],
            started: "2026-11-25T00:00:00Z".into(),
            finished: "2026-11-25T00:00:10Z".into(),
            duration_s: 10.0,
            exit_code: 1,
        };
        let stamp = |ms, event| Stamped {
            wall: format!("t{ms}"),
            mono_ms: ms,
            case: "smoke::kill::x".into(),
            event,
        };
        let timeline = vec![
            stamp(0, RunEvent::CaseStarted),
            stamp(
                1000,
                RunEvent::FaultInjected {
                    fault: "kill".into(),
                    target: "server".into(),
                },
            ),
            stamp(
                9000,
                RunEvent::CaseFinished {
                    outcome: "failed".into(),
                    message: Some("expected <gone>".into()),
                },
            ),
        ];
        let cases = vec![CaseRecord {
            name: "smoke::kill::x".into(),
            suite: "smoke".into(),
            outcome: Outcome::Failed,
            duration_s: 9.0,
            message: Some("expected <gone>; observed still served".into()),
            negative_control: false,
            logs: vec!["/r/logs/smoke.kill.x/server.log".into()],
            attempts: vec![],
            schedule: None,
        }];
        let page = html(&meta, &cases, &timeline);
        assert!(page.contains("badge b-failed\">failed"), "run verdict");
        assert!(
            page.contains("expected &lt;gone&gt;; observed still served"),
            "evidence, escaped"
        );
        assert!(
            page.contains("<rect x=\"118.9\""),
            "fault window starts at 1/9 of the axis: {page}"
        );
        assert!(
            page.contains("href=\"logs/smoke.kill.x/server.log\""),
            "relative log link"
        );
        assert!(page.contains("rerun with --seed 5"));
        assert!(!page.contains("fault schedule"), "no schedule, no table");
        let mut with_schedule = cases[0].clone();
        let mut sched = ExecutedSchedule::plan(
            &crate::fault::schedule::Schedule {
                name: "s".into(),
                seed: None,
                entries: vec![crate::fault::schedule::Entry {
                    at_ms: 2_000,
                    fault: crate::fault::schedule::Fault::Loss { probability: 0.3 },
                    target: "agent".into(),
                    duration_ms: Some(5_000),
                }],
            },
            "mesos",
        );
        sched.entries[0].resolved = vec!["agent2".into()];
        sched.entries[0].injected_ms = Some(2_040);
        sched.entries[0].healed_ms = Some(7_010);
        with_schedule.schedule = Some(sched);
        let page = html(&meta, &[with_schedule], &timeline);
        assert!(
            page.contains("<td>loss 30%</td><td class=\"mono\">agent</td><td class=\"mono\">agent2</td><td class=\"mono\">+2.04 s</td><td class=\"mono\">+7.01 s</td>"),
            "the executed schedule: {page}"
        );
        assert!(!page.contains("<script"), "no scripts");
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "no network"
        );
    }
}
