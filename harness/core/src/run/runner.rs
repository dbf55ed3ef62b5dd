//! The runner: cases become libtest-mimic trials, so `--list`, filters, `--skip`, `--exact` and
//! `--test-threads` behave as in `cargo test`; results go to the timeline and the reports.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::FutureExt;
use libtest_mimic::{Arguments, Failed, Trial};
use serde::Serialize;

use super::{BoxFuture, Case, CaseCtx, ScheduleInput, case_rng};
use crate::{
    Error, ExitStatus, Result,
    check::CaseError,
    fault::{exec::ExecutedSchedule, schedule::Schedule},
    images::ImageSet,
    report,
    runtime::{Engine, RunId, cleanup},
    timeline::{RunEvent, Timeline, now_rfc3339},
};

/// How a run was asked for.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Profile name (recorded in the reports).
    pub profile: String,
    /// The run's seed.
    pub seed: u64,
    /// Where `<run id>/` goes.
    pub report_dir: PathBuf,
    /// libtest arguments (filters, `--list`, `--skip`, `--exact`, `--test-threads`...).
    pub libtest: Arguments,
    /// Run the negative controls instead of the cases: each passes only if its case fails.
    pub negative_controls: bool,
    /// Image references for the cases.
    pub images: ImageSet,
    /// Timings and settings the profile changed, recorded in the reports.
    pub properties: Vec<(String, String)>,
    /// How many times a failed case is run again (not negative controls). A case that passes
    /// on a retry is [`Outcome::Flaky`], never a plain pass.
    pub retries: u32,
    /// The run's id, when the caller named things after it before the run (`ordeal certify`'s
    /// namespace); a fresh one otherwise.
    pub run_id: Option<RunId>,
    /// Awaited when the run is interrupted, after its Docker objects are removed and before the
    /// process exits 130: removes what the run made outside Docker.
    pub on_interrupt: Option<InterruptCleanup>,
    /// A scenario for the cases that run a fault schedule (`--scenario FILE`).
    pub scenario: Option<Schedule>,
    /// Executed schedules to run again, by case name (`ordeal replay`); they take precedence
    /// over `scenario`.
    pub replay: BTreeMap<String, ExecutedSchedule>,
    /// Clusters run at their components' default timings ([`CaseCtx::component_defaults`]).
    pub component_defaults: bool,
}

/// What an interrupted run removes outside Docker (`ordeal certify`'s namespace or
/// frameworks in a cluster ordeal did not start).
#[derive(Clone)]
pub struct InterruptCleanup(pub Arc<dyn Fn() -> BoxFuture<()> + Send + Sync>);

impl std::fmt::Debug for InterruptCleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InterruptCleanup")
    }
}

/// How one case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The check held (or, for a negative control, the check failed as it must).
    Passed,
    /// The check did not hold (or a negative control passed: the check cannot fail).
    Failed,
    /// The harness or environment broke.
    Error,
    /// The check held only on a retry: earlier attempts failed (see [`CaseRecord::attempts`]).
    Flaky,
}

impl Outcome {
    /// The word used in reports and the timeline.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Error => "error",
            Outcome::Flaky => "flaky",
        }
    }
}

/// An attempt of a case that did not pass and was retried.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// 1 for the first run of the case.
    pub attempt: u32,
    /// [`Outcome::Failed`] or [`Outcome::Error`].
    pub outcome: Outcome,
    /// Wall time in seconds.
    pub duration_s: f64,
    /// Failure or error message.
    pub message: Option<String>,
}

/// The record of one case, as written to `run.json` and JUnit.
#[derive(Debug, Clone, Serialize)]
pub struct CaseRecord {
    /// Case name.
    pub name: String,
    /// Suite.
    pub suite: String,
    /// Outcome.
    pub outcome: Outcome,
    /// Wall time in seconds.
    pub duration_s: f64,
    /// Failure or error message (expected vs observed).
    pub message: Option<String>,
    /// Whether this was the negative control of the case.
    pub negative_control: bool,
    /// Logs saved for a failed case (of every attempt).
    pub logs: Vec<String>,
    /// Earlier attempts that failed, when the case was retried (`--retries`); the record's own
    /// outcome, duration and message are those of the last attempt.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    /// The fault schedule the case executed (of its last attempt), with the nodes each entry
    /// resolved to and when it was injected and healed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ExecutedSchedule>,
}

impl CaseRecord {
    /// The name as the runner, JUnit and the HTML report show it: a negative control carries
    /// `::negative_control`.
    pub fn display_name(&self) -> String {
        if self.negative_control {
            format!("{}{CONTROL_SUFFIX}", self.name)
        } else {
            self.name.clone()
        }
    }
}

/// The result of a whole run.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Run id.
    pub run: RunId,
    /// Per-case records, in completion order.
    pub cases: Vec<CaseRecord>,
    /// The run's folder.
    pub dir: PathBuf,
    /// Exit status to return.
    pub status: ExitStatus,
}

/// Runs `cases` with `opts`. Returns `Ok(None)` for `--list`.
pub async fn run(cases: Vec<Case>, mut opts: RunOptions) -> Result<Option<RunSummary>> {
    opts.libtest = name_filters(opts.libtest, opts.negative_controls);
    if opts.libtest.list {
        let trials = cases
            .iter()
            .map(|c| trial_for_listing(c, opts.negative_controls))
            .collect();
        let args = opts.libtest.clone();
        let _listed = tokio::task::spawn_blocking(move || libtest_mimic::run(&args, trials))
            .await
            .map_err(|e| Error::infra(format!("listing failed: {e}")))?;
        return Ok(None);
    }
    let cases: Vec<Case> = if opts.negative_controls {
        cases.into_iter().filter(|c| c.control.is_some()).collect()
    } else {
        cases
    };
    let engine = Engine::connect().await?;
    let run_id = opts.run_id.clone().unwrap_or_else(RunId::generate);

    // Leftovers of runs whose process died (SIGKILL, power loss) are removed first.
    let cleaned = cleanup::clean(&engine, false).await?;
    let n: usize = cleaned.iter().map(|(_, n)| n).sum();
    if n > 0 {
        eprintln!(
            "[ordeal] removed {n} object(s) left by {} dead run(s)",
            cleaned.len()
        );
    }

    // Images of the selected cases must exist before anything starts.
    let selected: Vec<&Case> = cases
        .iter()
        .filter(|c| {
            !opts
                .libtest
                .is_filtered_out(&Trial::test(trial_name(c, opts.negative_controls), || {
                    Ok(())
                }))
        })
        .collect();
    let mut needed: Vec<String> = Vec::new();
    for c in &selected {
        for i in &c.images {
            let r = opts.images.get(i)?;
            if !needed.contains(&r) {
                needed.push(r);
            }
        }
    }
    engine.require_images(&needed).await?;

    let dir = opts.report_dir.join(run_id.as_str());
    std::fs::create_dir_all(dir.join("logs")).map_err(|e| {
        Error::infra(format!(
            "cannot create report folder `{}`: {e}",
            dir.display()
        ))
    })?;
    eprintln!(
        "[ordeal] run {run_id}: profile {}, seed {}, {} case(s){}, docker {} (API {})",
        opts.profile,
        opts.seed,
        selected.len(),
        if opts.negative_controls {
            " (negative controls)"
        } else {
            ""
        },
        engine.version,
        engine.api_version
    );

    let timeline = Timeline::new();
    let records: Arc<Mutex<Vec<CaseRecord>>> = Arc::default();
    let started_wall = now_rfc3339();
    let started = Instant::now();

    // Ctrl-C / SIGTERM: remove this run's objects, then exit 130 (the shell convention).
    let interrupted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let interrupt = tokio::spawn(on_interrupt(
        engine.clone(),
        run_id.clone(),
        interrupted.clone(),
        opts.on_interrupt.clone(),
    ));

    let handle = tokio::runtime::Handle::current();
    let trials: Vec<Trial> = cases
        .iter()
        .map(|case| {
            let case = case.clone();
            let ctx_parts = (
                engine.clone(),
                run_id.clone(),
                opts.images.clone(),
                timeline.clone(),
            );
            let records = records.clone();
            let handle = handle.clone();
            let logs_dir = dir.join("logs");
            let (seed, negative) = (opts.seed, opts.negative_controls);
            let component_defaults = opts.component_defaults;
            let retries = if negative { 0 } else { opts.retries };
            let input = opts
                .replay
                .get(&case.name)
                .cloned()
                .map(ScheduleInput::Replay)
                .or_else(|| opts.scenario.clone().map(ScheduleInput::Scenario));
            let name = trial_name(&case, negative);
            let kind = case.suite.clone();
            Trial::test(name, move || {
                let (engine, run_id, images, timeline) = ctx_parts;
                let mut attempts = Vec::new();
                let mut logs = Vec::new();
                let mut attempt = 1;
                let record = loop {
                    let ctx = CaseCtx::new(
                        &case.name,
                        engine.clone(),
                        run_id.clone(),
                        images.clone(),
                        timeline.clone(),
                        case_rng(seed, &case.name),
                        negative,
                    )
                    .with_schedule(input.clone())
                    .with_component_defaults(component_defaults);
                    let dir = if attempt == 1 {
                        logs_dir.clone()
                    } else {
                        logs_dir.join(format!("attempt-{attempt}"))
                    };
                    let mut record = handle.block_on(run_one(&case, ctx, &dir));
                    logs.append(&mut record.logs);
                    if record.outcome == Outcome::Passed || attempt > retries {
                        record.logs = std::mem::take(&mut logs);
                        break record;
                    }
                    attempts.push(Attempt {
                        attempt,
                        outcome: record.outcome,
                        duration_s: record.duration_s,
                        message: record.message.clone(),
                    });
                    attempt += 1;
                    timeline.record(
                        &case.name,
                        RunEvent::Step {
                            message: format!(
                                "retrying (attempt {attempt} of {}) after: {}",
                                retries + 1,
                                record.message.as_deref().unwrap_or(record.outcome.word())
                            ),
                        },
                    );
                };
                let mut record = record;
                if record.outcome == Outcome::Passed && !attempts.is_empty() {
                    record.outcome = Outcome::Flaky;
                    record.message = Some(format!(
                        "flaky: passed on attempt {attempt} of {}; attempt 1 {}: {}",
                        retries + 1,
                        attempts[0].outcome.word(),
                        attempts[0].message.as_deref().unwrap_or("")
                    ));
                }
                record.attempts = attempts;
                let verdict = match record.outcome {
                    Outcome::Passed | Outcome::Flaky => Ok(()),
                    Outcome::Failed | Outcome::Error => {
                        Err(Failed::from(record.message.clone().unwrap_or_default()))
                    }
                };
                records.lock().expect("records lock").push(record);
                verdict
            })
            .with_kind(kind)
        })
        .collect();

    let args = opts.libtest.clone();
    // The verdict comes from the records (libtest-mimic only counts, and cannot tell a failed
    // check from a broken environment).
    let _counts = tokio::task::spawn_blocking(move || libtest_mimic::run(&args, trials))
        .await
        .map_err(|e| Error::infra(format!("runner failed: {e}")))?;
    let was_interrupted = interrupted.load(std::sync::atomic::Ordering::SeqCst);
    if !was_interrupted {
        interrupt.abort();
    }

    // Whatever a case left (shared handles, helpers), the run label finds.
    if let Err(e) = cleanup::remove_run(&engine, &run_id, None).await {
        eprintln!("[ordeal] warning: {e}");
    }

    let cases_done = records.lock().expect("records lock").clone();
    let status = if cases_done.iter().any(|c| c.outcome == Outcome::Error) {
        ExitStatus::Infra
    } else if cases_done.iter().any(|c| c.outcome == Outcome::Failed) {
        ExitStatus::Failed
    } else {
        ExitStatus::Passed
    };
    let meta = report::RunMeta {
        run_id: run_id.to_string(),
        seed: opts.seed,
        profile: opts.profile.clone(),
        negative_controls: opts.negative_controls,
        ordeal_version: env!("CARGO_PKG_VERSION").to_owned(),
        docker_version: engine.version.clone(),
        docker_api_version: engine.api_version.clone(),
        images: opts
            .images
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        properties: opts.properties.clone(),
        started: started_wall,
        finished: now_rfc3339(),
        duration_s: started.elapsed().as_secs_f64(),
        exit_code: status as u8,
    };
    report::write_all(
        &opts.report_dir,
        &dir,
        &meta,
        &cases_done,
        &timeline.snapshot(),
    )?;
    if was_interrupted {
        // The handler finishes its cleanup and exits 130; cases cut short are not a verdict.
        let _ = interrupt.await;
    }
    Ok(Some(RunSummary {
        run: run_id,
        cases: cases_done,
        dir,
        status,
    }))
}

/// With `--negative-controls` every trial is named `<case>::negative_control`; an `--exact`
/// FILTER or `--skip` naming the case itself is made to name its control, so
/// `--negative-controls --exact <case>` runs that case's control rather than nothing.
fn name_filters(mut args: Arguments, negative: bool) -> Arguments {
    if negative && args.exact {
        let control = |f: String| {
            if f.ends_with(CONTROL_SUFFIX) {
                f
            } else {
                format!("{f}{CONTROL_SUFFIX}")
            }
        };
        args.filter = args.filter.map(control);
        args.skip = args.skip.into_iter().map(control).collect();
    }
    args
}

const CONTROL_SUFFIX: &str = "::negative_control";

fn trial_name(case: &Case, negative: bool) -> String {
    if negative {
        format!("{}{CONTROL_SUFFIX}", case.name)
    } else {
        case.name.clone()
    }
}

fn trial_for_listing(case: &Case, negative: bool) -> Trial {
    Trial::test(trial_name(case, negative), || Ok(()))
        .with_kind(case.suite.clone())
        .with_ignored_flag(negative && case.control.is_none())
}

async fn run_one(case: &Case, ctx: CaseCtx, logs_dir: &std::path::Path) -> CaseRecord {
    let start = Instant::now();
    ctx.record(RunEvent::CaseStarted);
    let negative = ctx.negative_control();
    let body = (case.run)(ctx.clone());
    // Panics inside a case become errors, and its resources are still removed.
    let result = match tokio::time::timeout(
        case.timeout,
        std::panic::AssertUnwindSafe(body).catch_unwind(),
    )
    .await
    {
        Err(_) => Err(CaseError::Infra(format!(
            "case exceeded its time budget of {:?}",
            case.timeout
        ))),
        Ok(Err(panic)) => Err(CaseError::Infra(format!(
            "case panicked: {}",
            panic_message(&panic)
        ))),
        Ok(Ok(r)) => r,
    };
    let (outcome, message) = match (negative, result) {
        (false, Ok(())) => (Outcome::Passed, None),
        (false, Err(CaseError::Failed(m))) => (Outcome::Failed, Some(m)),
        (_, Err(CaseError::Infra(m))) => (Outcome::Error, Some(m)),
        (true, Err(CaseError::Failed(m))) => (
            Outcome::Passed,
            Some(format!("negative control failed as it must: {m}")),
        ),
        (true, Ok(())) => (
            Outcome::Failed,
            Some(format!(
                "negative control passed: the check did not notice that {}",
                case.control.as_deref().unwrap_or("the cluster was broken")
            )),
        ),
    };
    let schedule = ctx.recorded_schedule();
    let logs = ctx.finish(outcome != Outcome::Passed, logs_dir).await;
    ctx.record(RunEvent::CaseFinished {
        outcome: outcome.word().into(),
        message: message.clone(),
    });
    CaseRecord {
        name: case.name.clone(),
        suite: case.suite.clone(),
        outcome,
        duration_s: start.elapsed().as_secs_f64(),
        message,
        negative_control: negative,
        logs,
        attempts: Vec::new(),
        schedule,
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

async fn on_interrupt(
    engine: Engine,
    run: RunId,
    flag: Arc<std::sync::atomic::AtomicBool>,
    outside: Option<InterruptCleanup>,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    flag.store(true, std::sync::atomic::Ordering::SeqCst);
    eprintln!("\n[ordeal] interrupted: removing the objects of run {run}");
    // A second signal while cleaning up is ignored; a bounded wait keeps Ctrl-C responsive.
    // Several passes: a case may be starting a container, or an engine removal may still be in
    // progress (a network with an endpoint left cannot go yet).
    let sweep = async {
        let mut removed = 0;
        let mut last = Ok(());
        for _ in 0..10 {
            match cleanup::remove_run(&engine, &run, None).await {
                Ok(n) => {
                    removed += n;
                    last = Ok(());
                }
                Err(e) => last = Err(e),
            }
            let left = cleanup::inventory(&engine, Some(&run), None).await?;
            if left.values().all(|l| l.is_empty()) {
                return last.map(|()| removed);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        last.map(|()| removed)
    };
    let removed = tokio::time::timeout(Duration::from_secs(60), sweep).await;
    match removed {
        Ok(Ok(n)) => eprintln!("[ordeal] removed {n} object(s)"),
        Ok(Err(e)) => eprintln!("[ordeal] {e} (hint: `ordeal clean`)"),
        Err(_) => eprintln!("[ordeal] cleanup timed out (hint: `ordeal clean`)"),
    }
    if let Some(cleanup) = outside
        && tokio::time::timeout(Duration::from_secs(180), (cleanup.0)())
            .await
            .is_err()
    {
        eprintln!("[ordeal] removing what the run made outside Docker timed out");
    }
    std::process::exit(130);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(filter: &str, skip: &[&str]) -> Arguments {
        Arguments {
            filter: Some(filter.to_owned()),
            skip: skip.iter().map(|s| (*s).to_owned()).collect(),
            exact: true,
            ..Default::default()
        }
    }

    fn selects(args: &Arguments, trial: &str) -> bool {
        !args.is_filtered_out(&Trial::test(trial.to_owned(), || Ok(())))
    }

    #[test]
    fn exact_case_name_selects_its_negative_control() {
        let args = name_filters(exact("mesos::tasks::kill", &[]), true);
        assert!(selects(&args, "mesos::tasks::kill::negative_control"));
        assert!(!selects(&args, "mesos::tasks::kill_all::negative_control"));
    }

    #[test]
    fn exact_control_name_is_kept_and_skip_follows() {
        let args = name_filters(
            exact(
                "a::b::negative_control",
                &["a::c", "a::d::negative_control"],
            ),
            true,
        );
        assert_eq!(args.filter.as_deref(), Some("a::b::negative_control"));
        assert_eq!(
            args.skip,
            ["a::c::negative_control", "a::d::negative_control"]
        );
    }

    #[test]
    fn filters_are_untouched_without_controls_or_exact() {
        let args = name_filters(exact("a::b", &["a::c"]), false);
        assert_eq!(args.filter.as_deref(), Some("a::b"));
        assert!(!selects(&args, "a::b::negative_control"));
        let mut substring = exact("kill", &[]);
        substring.exact = false;
        let args = name_filters(substring, true);
        assert_eq!(args.filter.as_deref(), Some("kill"));
        assert!(selects(&args, "mesos::tasks::kill::negative_control"));
    }
}
