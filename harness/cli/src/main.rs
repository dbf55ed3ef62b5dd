//! `ordeal`: chaos and conformance harness for Apache Mesos and Kubernetes.
//!
//! Exit codes: 0 passed, 1 a case failed, 2 usage or configuration error, 3 infrastructure
//! error (no Docker engine, missing image, image build failed, cluster did not come up).

use std::{path::PathBuf, process::ExitCode};

use clap::{Args, Parser, Subcommand};
use ordeal::{
    Error, ExitStatus,
    images::{BuildOutcome, ImageSet, Recipes, default_recipes_dir},
    run::{RunOptions, parse_seed, random_seed},
    runtime::{Engine, cleanup},
};
use ordeal_suites::profiles;

mod certify;
mod up;

const EXIT_CODES: &str = "\
Exit codes:
  0  every selected case passed
  1  at least one case failed its check
  2  usage or configuration error (bad flag, unknown profile or suite, malformed file)
  3  infrastructure error (no Docker engine, missing image, image build failed, cluster down)";

/// Chaos and conformance harness for Apache Mesos and Kubernetes, in Docker.
#[derive(Debug, Parser)]
#[command(name = "ordeal", version, after_help = EXIT_CODES, propagate_version = true)]
struct Cli {
    /// More output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run suites: every case is a trial, selected like `cargo test` selects tests.
    #[command(after_help = RUN_HELP)]
    Run(Box<RunArgs>),
    /// Run a recorded run again: the same profile, seed and cases, read from its run.json.
    #[command(after_help = REPLAY_HELP)]
    Replay(ReplayArgs),
    /// Build and list the locally built images (no registry is ever used).
    #[command(subcommand)]
    Images(ImagesCommand),
    /// Remove containers, networks and volumes that runs left behind (found by label).
    #[command(
        after_help = "By default only runs whose ordeal process is gone are cleaned, so a run in \
progress elsewhere on this host is left alone. `ordeal run` does the same at start. Clusters \
kept by `ordeal up --keep` are left to `ordeal down` (or --all). `ordeal clean` also looks into \
the running containers that stay (kept clusters, live runs) and removes the iptables rules and \
bandwidth limits that dead runs left there (tagged `ordeal:<run>:...`)."
    )]
    Clean(CleanArgs),
    /// Bring a cluster up for you to use (kubeconfig or master URL printed); Ctrl-C removes it.
    #[command(subcommand, after_help = up::UP_HELP)]
    Up(up::UpCommand),
    /// Certify a cluster ordeal did not start: the non-destructive conformance checks in a
    /// namespace (Kubernetes) or framework (Mesos) of their own, then a signed-off bundle.
    #[command(after_help = certify::CERTIFY_HELP)]
    Certify(certify::CertifyArgs),
    /// Remove a cluster that `ordeal up --keep` left running.
    #[command(after_help = up::DOWN_HELP)]
    Down(up::DownArgs),
    /// Check scenario files and generate seeded fault schedules.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// List every check: what it asserts, its negative control, its upstream source and
    /// whether `smoke` runs it (every check is in `conformance`).
    #[command(after_help = "Examples:
  ordeal checks                         every check, grouped by suite
  ordeal checks --profile smoke         only the checks the default profile runs
  ordeal checks --markdown              the table the README's check list is made of")]
    Checks {
        /// Only the checks this profile runs.
        #[arg(long)]
        profile: Option<String>,
        /// Print a Markdown table (the README's check list).
        #[arg(long)]
        markdown: bool,
    },
    /// Check that this machine can run a profile: Docker, images, disk, memory, limits.
    #[command(
        after_help = "Each problem comes with the command that fixes it. Exit 0 when every check \
passes, 3 otherwise."
    )]
    Doctor {
        /// Profile whose images and sizes to check.
        #[arg(long, default_value = "smoke")]
        profile: String,
    },
}

const RUN_HELP: &str = "\
Examples:
  ordeal run                                   the default `smoke` profile
  ordeal run --list                            list the cases it would run
  ordeal run kill                              only cases whose name contains `kill`
  ordeal run --skip pause --seed 42            skip some, fix the seed
  ordeal run --negative-controls               check that every check can fail
  ordeal run --retries 2                       rerun failed cases; passes on a retry are FLAKY
  ordeal run --bundle                          also write reports/<run>.tar.gz (no credentials)
  ordeal run --image workload=busybox:1.36     use an image from your registry (present locally)
  ordeal run --profile conformance chaos::scenario
                                               run a fault schedule drawn from the seed against
                                               Kubernetes and Mesos, then check they recover
  ordeal run --profile conformance --scenario suites/scenarios/agent-partition.toml
                                               run a scenario file instead (its targets pick the
                                               backend: node... Kubernetes, agent/master/leader Mesos)

Reports go to <report-dir>/<run id>/ (junit.xml, run.json, logs/ of failed cases);
<report-dir>/latest points at the newest run.

Exit codes: 0 passed (flaky cases included, listed in the summary), 1 a case failed, 2 usage
error, 3 infrastructure error.";

const REPLAY_HELP: &str = "\
Examples:
  ordeal replay reports/latest/run.json        the newest run again, same seed and cases
  ordeal replay run.json --bundle              from an unpacked evidence bundle, with a new one

Only the random choices repeat (targets, tokens, fault schedules); the timing of the system under
test is its own. A case that executed a fault schedule runs exactly the recorded one again: the
same entries aimed at the same nodes (`agent` and `leader` as they resolved then), not one
drawn anew. A recorded image that differs from the current recipe's is reported, and the
current one is used.

Exit codes: as `ordeal run`; 2 if the file is not a run.json or names a case ordeal lacks.";

#[derive(Debug, Args)]
struct ReplayArgs {
    /// The `run.json` of the run to repeat (in `reports/<run>/` or an evidence bundle).
    #[arg(value_name = "RUN_JSON")]
    run_json: PathBuf,
    /// Where the new run's folder goes.
    #[arg(long, default_value = "reports", value_name = "DIR")]
    report_dir: PathBuf,
    /// Also write the evidence bundle `<report-dir>/<run>.tar.gz`.
    #[arg(long)]
    bundle: bool,
    /// Retries of failed cases, as for `ordeal run`.
    #[arg(long, value_name = "N", default_value_t = 0)]
    retries: u32,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Profile: which cases and timings (`smoke`: the fast subset of every suite; `conformance`: every case).
    #[arg(long, default_value = "smoke", env = "ORDEAL_PROFILE")]
    profile: String,
    /// Run only the cases of these suites that the profile selects (repeatable).
    #[arg(long = "suite", value_name = "SUITE")]
    suites: Vec<String>,
    /// Seed for every random choice (decimal or 0x hex); random if not given, always printed.
    #[arg(long, env = "ORDEAL_SEED", value_parser = seed_arg)]
    seed: Option<u64>,
    /// Where run folders go.
    #[arg(long, default_value = "reports", value_name = "DIR")]
    report_dir: PathBuf,
    /// Run each case's negative control: the case with its effect broken on purpose, which
    /// passes only if the check fails.
    #[arg(long)]
    negative_controls: bool,
    /// Run a failed case up to N more times. One that then passes is reported FLAKY (JUnit
    /// `flakyFailure`, outcome `flaky` in run.json), never as a plain pass; one that fails every
    /// attempt keeps its failure, with the earlier attempts as `rerunFailure`. Negative controls
    /// are never retried.
    #[arg(long, value_name = "N", default_value_t = 0, env = "ORDEAL_RETRIES")]
    retries: u32,
    /// Also write the evidence bundle `<report-dir>/<run>.tar.gz`: JUnit, run.json, the HTML
    /// report, the logs and REPRODUCE.txt, with every credential redacted.
    #[arg(long)]
    bundle: bool,
    /// Run the fault schedule of scenario FILE (suites/scenarios/README.md) against the cluster
    /// its targets name (node... Kubernetes; agent, master, leader... Mesos): selects that
    /// backend's `chaos::scenario` case, which must then recover. Needs a profile with the
    /// `chaos` suite (`--profile conformance`).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Exactly these cases (set by `ordeal replay`).
    #[arg(skip)]
    only: Vec<String>,
    /// Executed schedules to run again, by case (set by `ordeal replay`).
    #[arg(skip)]
    replay: std::collections::BTreeMap<String, ordeal::fault::exec::ExecutedSchedule>,
    /// Use NAME=REFERENCE instead of a built image (the image must be present locally).
    #[arg(long = "image", value_name = "NAME=REF")]
    images: Vec<String>,
    /// Only cases whose name contains FILTER (or equals it, with --exact).
    filter: Option<String>,
    /// List the cases instead of running them.
    #[arg(long)]
    list: bool,
    /// Skip cases whose name contains SKIP (repeatable).
    #[arg(long, value_name = "SKIP")]
    skip: Vec<String>,
    /// Match FILTER and --skip exactly.
    #[arg(long)]
    exact: bool,
    /// Run only one shard of the cases: slice:M/N (round-robin by name) or hash:M/N (by name
    /// hash), for splitting a run across CI jobs; the N shards cover every case exactly once.
    #[arg(long, value_name = "KIND:M/N", value_parser = partition_arg)]
    partition: Option<ordeal::run::Partition>,
    /// Cases run at once (default 1: cases share one Docker engine and the clusters are heavy).
    #[arg(long, value_name = "N", default_value_t = 1)]
    test_threads: usize,
}

#[derive(Debug, Subcommand)]
enum ImagesCommand {
    /// Build images whose recipe changed, with their parents: NAMEs, the images a profile
    /// needs (--profile), or every recipe.
    Build {
        /// Recipes to build.
        names: Vec<String>,
        /// Build what this profile's cases need.
        #[arg(long, conflicts_with = "names")]
        profile: Option<String>,
        /// Rebuild even if the hash tag exists.
        #[arg(long)]
        force: bool,
    },
    /// List recipes, their hash tags and whether each is built.
    List,
}

#[derive(Debug, Subcommand)]
enum ScheduleCommand {
    /// Parse scenario files and print what each schedules; the first error is one line naming
    /// file, line and field (exit 2).
    Check {
        /// Scenario files (see suites/scenarios/README.md).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the schedule a seed generates, as a scenario file (same seed, same bytes).
    Generate {
        /// The seed.
        #[arg(long, value_parser = seed_arg)]
        seed: u64,
        /// No fault starts after this long.
        #[arg(long, default_value = "5m", value_parser = duration_arg)]
        length: std::time::Duration,
        /// Target selectors to pick from (repeatable).
        #[arg(long = "target", default_value = "agent")]
        targets: Vec<String>,
    },
}

fn duration_arg(s: &str) -> Result<std::time::Duration, String> {
    ordeal::fault::schedule::parse_duration(s)
        .ok_or_else(|| format!("`{s}` is not a duration (examples: 90s, 5m, 1m30s)"))
}

#[derive(Debug, Args)]
struct CleanArgs {
    /// Also remove the objects of runs whose process is still alive.
    #[arg(long)]
    all: bool,
    /// Only show what would be removed.
    #[arg(long)]
    dry_run: bool,
}

fn partition_arg(s: &str) -> Result<ordeal::run::Partition, String> {
    ordeal::run::Partition::parse(s).map_err(|e| e.to_string())
}

fn seed_arg(s: &str) -> Result<u64, String> {
    parse_seed(s).map_err(|e| e.to_string())
}

/// Restores the default SIGPIPE action, so `ordeal ... | head` ends quietly like other Unix
/// tools instead of panicking on a closed stdout.
#[expect(
    unsafe_code,
    reason = "one libc call at start-up, before any thread exists"
)]
fn restore_sigpipe() {
    // SAFETY: setting a signal disposition to SIG_DFL is async-signal-safe and runs before
    // the runtime starts any thread.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // One line: the reason, then where to read more.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("error: invalid arguments");
            eprintln!("{first} (see `ordeal --help`)");
            return ExitStatus::Usage.code();
        }
    };
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitStatus::Infra.code();
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(status) => status.code(),
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_status().code()
        }
    }
}

fn init_tracing(verbose: u8) {
    // testcontainers logs an ERROR when its guard finds a container ordeal already removed
    // (Ctrl-C, cleanup by label), and kube's client one for every failed request, which ordeal
    // polls on purpose while a cluster comes up or a fault is on: noise unless debugging.
    let default = match verbose {
        0 => "warn,testcontainers=off,kube_client=off",
        1 => "info,testcontainers=off,kube_client=off",
        _ => "debug",
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn dispatch(command: Command) -> Result<ExitStatus, Error> {
    match command {
        Command::Run(args) => run(*args).await,
        Command::Replay(args) => replay(args).await,
        Command::Images(ImagesCommand::Build {
            names,
            profile,
            force,
        }) => {
            let recipes = Recipes::load(&default_recipes_dir())?;
            let names = match profile {
                Some(p) => profile_images(&p)?,
                None => names,
            };
            for n in &names {
                recipes.get(n)?;
            }
            let engine = Engine::connect().await?;
            let outcomes = ordeal::images::build(&engine, &recipes, &names, force).await?;
            let built = outcomes
                .iter()
                .filter(|o| matches!(o, BuildOutcome::Built(_)))
                .count();
            println!(
                "images: {built} built, {} up to date",
                outcomes.len() - built
            );
            Ok(ExitStatus::Passed)
        }
        Command::Images(ImagesCommand::List) => {
            let recipes = Recipes::load(&default_recipes_dir())?;
            let engine = Engine::connect().await.ok();
            println!(
                "{:<20} {:<40} {:<8} DESCRIPTION",
                "NAME", "REFERENCE", "BUILT"
            );
            for r in recipes.iter() {
                let reference = recipes.reference(&r.name)?;
                let built = match &engine {
                    Some(e) => {
                        if e.has_image(&reference).await? {
                            "yes"
                        } else {
                            "no"
                        }
                    }
                    None => "?",
                };
                println!(
                    "{:<20} {:<40} {:<8} {}",
                    r.name, reference, built, r.description
                );
            }
            Ok(ExitStatus::Passed)
        }
        Command::Clean(args) => clean(args).await,
        Command::Up(command) => up::up(command).await,
        Command::Down(args) => up::down(args).await,
        Command::Certify(args) => certify::certify(args).await,
        Command::Doctor { profile } => doctor(&profile).await,
        Command::Checks { profile, markdown } => {
            let profile = profile.as_deref().map(find_profile).transpose()?;
            let cases: Vec<_> = ordeal_suites::catalog()
                .into_iter()
                .filter(|c| profile.is_none_or(|p| p.selects(c)))
                .collect();
            print!("{}", checks_listing(&cases, markdown));
            Ok(ExitStatus::Passed)
        }
        Command::Schedule(ScheduleCommand::Check { files }) => {
            use ordeal::fault::schedule::{format_duration, load_scenario};
            for f in &files {
                let s = load_scenario(f)?;
                let runs = match ordeal_suites::chaos::scenario::case_for(&s) {
                    Ok(case) => format!("`ordeal run --scenario` runs it as {case}"),
                    Err(e) => format!("not runnable here: {e}"),
                };
                println!(
                    "ok {}: \"{}\", {} fault(s) over {}; {runs}",
                    f.display(),
                    s.name,
                    s.entries.len(),
                    format_duration(s.span())
                );
            }
            Ok(ExitStatus::Passed)
        }
        Command::Schedule(ScheduleCommand::Generate {
            seed,
            length,
            targets,
        }) => {
            use ordeal::fault::schedule::{GenSpec, generate};
            let spec = GenSpec {
                length,
                targets,
                ..GenSpec::default()
            };
            print!("{}", generate(seed, &spec)?.to_toml());
            Ok(ExitStatus::Passed)
        }
    }
}

/// The check list of `ordeal checks`: plain text, or the README's Markdown table.
fn checks_listing(cases: &[ordeal::run::Case], markdown: bool) -> String {
    use std::fmt::Write as _;
    let none = "none";
    let mut out = String::new();
    let smoke = cases.iter().filter(|c| c.smoke).count();
    let controlled = cases.iter().filter(|c| c.control.is_some()).count();
    // Checks per suite and area (`kubernetes::health`), with how many of them `smoke` runs.
    let mut areas: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for c in cases {
        let area: Vec<&str> = c.name.split("::").take(2).collect();
        let e = areas.entry(area.join("::")).or_default();
        e.0 += 1;
        e.1 += usize::from(c.smoke);
    }
    let per_area = areas
        .iter()
        .map(|(a, (n, s))| format!("{a} {n} ({s} smoke)"))
        .collect::<Vec<_>>()
        .join(", ");
    if markdown {
        let _ = writeln!(
            out,
            "{} checks ({smoke} in `smoke`, all in `conformance`); {controlled} have a negative control.\n\nPer suite and area: {per_area}.\n",
            cases.len()
        );
        let _ = writeln!(
            out,
            "| check | smoke | what it asserts | negative control (must fail) | source |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|");
        let cell = |s: &str| s.replace('|', "\\|");
        for c in cases {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                c.name,
                if c.smoke { "yes" } else { "" },
                cell(&c.summary),
                cell(c.control.as_deref().unwrap_or(none)),
                cell(c.source.as_deref().unwrap_or(none)),
            );
        }
    } else {
        for c in cases {
            let _ = writeln!(
                out,
                "{}{}\n  asserts: {}\n  control: {}\n  source:  {}",
                c.name,
                if c.smoke { "  [smoke]" } else { "" },
                c.summary,
                c.control.as_deref().unwrap_or(none),
                c.source.as_deref().unwrap_or(none),
            );
        }
        let _ = writeln!(
            out,
            "\n{} checks, {smoke} in smoke; {controlled} with a negative control\nper suite and area: {per_area}",
            cases.len()
        );
    }
    out
}

fn find_profile(name: &str) -> Result<&'static profiles::Profile, Error> {
    profiles::find(name).ok_or_else(|| {
        Error::usage(format!(
            "unknown profile `{name}` (known: {})",
            profiles::names().join(", ")
        ))
    })
}

/// The image recipes the cases of profile `name` need.
fn profile_images(name: &str) -> Result<Vec<String>, Error> {
    let profile = find_profile(name)?;
    let mut images: Vec<String> = ordeal_suites::catalog()
        .into_iter()
        .filter(|c| profile.selects(c))
        .flat_map(|c| c.images)
        .collect();
    images.sort();
    images.dedup();
    Ok(images)
}

/// When FILTER matches no selected case but matches cases of other suites, says how to
/// select them (`chaos` cases are not in the default profile).
fn outside_selection(
    args: &RunArgs,
    selected: &[ordeal::run::Case],
    profile: &str,
) -> Option<String> {
    let filter = args.filter.as_deref()?;
    let matches = |name: &str| {
        if args.exact {
            name == filter || format!("{name}::negative_control") == filter
        } else {
            name.contains(filter) || format!("{name}::negative_control").contains(filter)
        }
    };
    if selected.iter().any(|c| matches(&c.name)) {
        return None;
    }
    let matching: Vec<ordeal::run::Case> = ordeal_suites::catalog()
        .into_iter()
        .filter(|c| matches(&c.name))
        .collect();
    let mut suites: Vec<&str> = matching.iter().map(|c| c.suite.as_str()).collect();
    suites.dedup();
    let first = suites.first()?;
    let with = profiles::PROFILES
        .iter()
        .find(|p| matching.iter().all(|c| p.selects(c)))
        .map(|p| format!("--profile {}", p.name))
        .unwrap_or_else(|| format!("--suite {first}"));
    Some(format!(
        "no case of profile `{profile}` matches `{filter}`; cases of suite(s) {} do: add {with}",
        suites.join(", ")
    ))
}

async fn run(args: RunArgs) -> Result<ExitStatus, Error> {
    let profile = find_profile(&args.profile)?;
    let known = ordeal_suites::suite_names();
    for s in &args.suites {
        if !known.contains(s) {
            return Err(Error::usage(format!(
                "unknown suite `{s}` (known: {})",
                known.join(", ")
            )));
        }
    }
    if args.test_threads == 0 {
        return Err(Error::usage("--test-threads must be at least 1"));
    }
    let mut cases: Vec<_> = ordeal_suites::catalog()
        .into_iter()
        .filter(|c| profile.selects(c))
        .filter(|c| args.suites.is_empty() || args.suites.contains(&c.suite))
        .collect();
    if let Some(hint) = outside_selection(&args, &cases, profile.name) {
        eprintln!("[ordeal] note: {hint}");
    }
    if let Some(p) = args.partition {
        cases = p.select(cases, |c| c.name.as_str());
    }
    for c in &mut cases {
        c.timeout *= profile.timeout_factor;
    }
    let scenario = match &args.scenario {
        Some(path) => {
            let schedule = ordeal::fault::schedule::load_scenario(path)?;
            let case = ordeal_suites::chaos::scenario::case_for(&schedule)
                .map_err(|e| Error::usage(format!("{}: {e}", path.display())))?;
            if !cases.iter().any(|c| c.name == case) {
                return Err(Error::usage(format!(
                    "--scenario runs `{case}`, which is not selected (hint: --profile conformance)"
                )));
            }
            cases.retain(|c| c.name == case);
            Some(schedule)
        }
        None => None,
    };
    if !args.only.is_empty() {
        if let Some(missing) = args
            .only
            .iter()
            .find(|n| !cases.iter().any(|c| &c.name == *n))
        {
            return Err(Error::usage(format!(
                "case `{missing}` of the recorded run is not in profile `{}` of this ordeal \
                 (renamed or removed?)",
                profile.name
            )));
        }
        cases.retain(|c| args.only.contains(&c.name));
    }
    let recipes = Recipes::load(&default_recipes_dir())?;
    let images = ImageSet::new(&recipes, &args.images)?;
    let seed = args.seed.unwrap_or_else(random_seed);

    let libtest = libtest_mimic::Arguments {
        filter: args.filter.clone(),
        list: args.list,
        skip: args.skip.clone(),
        exact: args.exact,
        test_threads: Some(args.test_threads),
        ..Default::default()
    };
    let opts = RunOptions {
        profile: profile.name.to_owned(),
        seed,
        report_dir: args.report_dir.clone(),
        libtest,
        negative_controls: args.negative_controls,
        retries: args.retries,
        images,
        scenario,
        replay: args.replay.clone(),
        properties: profile
            .properties
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        run_id: None,
        on_interrupt: None,
        component_defaults: profile.component_defaults,
    };
    let Some(summary) = ordeal::run::run(cases, opts).await? else {
        return Ok(ExitStatus::Passed);
    };
    let count = |o| summary.cases.iter().filter(|c| c.outcome == o).count();
    use ordeal::run::Outcome;
    let (passed, failed, errors, flaky) = (
        count(Outcome::Passed),
        count(Outcome::Failed),
        count(Outcome::Error),
        count(Outcome::Flaky),
    );
    println!();
    if flaky > 0 {
        println!("ordeal: {passed} passed, {failed} failed, {errors} errors, {flaky} flaky");
        for c in summary.cases.iter().filter(|c| c.outcome == Outcome::Flaky) {
            println!(
                "  FLAKY {} ({} failed attempt(s) before it passed)",
                c.name,
                c.attempts.len()
            );
        }
    } else {
        println!("ordeal: {passed} passed, {failed} failed, {errors} errors");
    }
    println!(
        "reports: {}/junit.xml and run.json (also {}/latest)",
        summary.dir.display(),
        args.report_dir.display()
    );
    if summary.status != ExitStatus::Passed {
        println!("note: rerun with --seed {seed} to reproduce the same random choices");
    }
    if args.bundle {
        let reproduce = format!(
            "ordeal {} run {}: profile {}, seed {}, exit code {}\n\n\
             Run the same cases with the same seed (from the folder this bundle unpacks to):\n  \
             ordeal replay {}/run.json\n\nwhich is:\n  ordeal run --profile {} --seed {}{} \
             --exact <each case of run.json>\n",
            env!("CARGO_PKG_VERSION"),
            summary.run,
            profile.name,
            seed,
            summary.status as u8,
            summary.run,
            profile.name,
            seed,
            if args.negative_controls {
                " --negative-controls"
            } else {
                ""
            }
        );
        let (path, redacted) = ordeal::report::write_bundle(&summary.dir, &reproduce)?;
        println!(
            "bundle: {} ({redacted} credential value(s) redacted)",
            path.display()
        );
    }
    Ok(summary.status)
}

/// The fields of a run.json that a replay needs.
#[derive(serde::Deserialize)]
struct Recorded {
    run_id: String,
    seed: u64,
    profile: String,
    #[serde(default)]
    negative_controls: bool,
    #[serde(default)]
    images: Vec<(String, String)>,
    cases: Vec<RecordedCase>,
}

#[derive(serde::Deserialize)]
struct RecordedCase {
    name: String,
    #[serde(default)]
    schedule: Option<ordeal::fault::exec::ExecutedSchedule>,
}

async fn replay(args: ReplayArgs) -> Result<ExitStatus, Error> {
    let text = std::fs::read_to_string(&args.run_json)
        .map_err(|e| Error::usage(format!("cannot read `{}`: {e}", args.run_json.display())))?;
    let rec: Recorded = serde_json::from_str(&text).map_err(|e| {
        Error::usage(format!(
            "`{}` is not an ordeal run.json: {e}",
            args.run_json.display()
        ))
    })?;
    if rec.cases.is_empty() {
        return Err(Error::usage(format!(
            "`{}` records no case to replay",
            args.run_json.display()
        )));
    }
    let recipes = Recipes::load(&default_recipes_dir())?;
    for (name, recorded) in &rec.images {
        if let Ok(current) = recipes.reference(name)
            && &current != recorded
        {
            eprintln!(
                "[ordeal] note: image {name} was {recorded} in run {}, is {current} now \
                 (its recipe changed); using {current}",
                rec.run_id
            );
        }
    }
    eprintln!(
        "[ordeal] replaying run {}: profile {}, seed {}, {} case(s)",
        rec.run_id,
        rec.profile,
        rec.seed,
        rec.cases.len()
    );
    let mut replay = std::collections::BTreeMap::new();
    for c in &rec.cases {
        if let Some(s) = &c.schedule {
            eprintln!(
                "[ordeal] {}: the recorded schedule \"{}\" ({} fault(s), targets as resolved then)",
                c.name,
                s.name,
                s.entries.len()
            );
            replay.insert(c.name.clone(), s.clone());
        }
    }
    let mut only: Vec<String> = rec.cases.into_iter().map(|c| c.name).collect();
    only.dedup();
    run(RunArgs {
        profile: rec.profile,
        suites: Vec::new(),
        seed: Some(rec.seed),
        report_dir: args.report_dir,
        negative_controls: rec.negative_controls,
        retries: args.retries,
        bundle: args.bundle,
        scenario: None,
        only,
        replay,
        images: Vec::new(),
        filter: None,
        list: false,
        skip: Vec::new(),
        exact: false,
        partition: None,
        test_threads: 1,
    })
    .await
}

async fn clean(args: CleanArgs) -> Result<ExitStatus, Error> {
    let engine = Engine::connect().await?;
    let inventory = cleanup::inventory(&engine, None, None).await?;
    let mut total = 0;
    for (run, leftovers) in &inventory {
        let orphaned = leftovers.orphaned();
        if !args.all && leftovers.kept {
            println!(
                "run {run}: {} object(s), kept by `ordeal up --keep`: left alone (remove with `ordeal down {run}`)",
                leftovers.count()
            );
            continue;
        }
        if !args.all && !orphaned {
            println!(
                "run {run}: {} object(s), owner process alive: left alone (use --all)",
                leftovers.count()
            );
            continue;
        }
        if args.dry_run {
            println!(
                "run {run}: would remove {} container(s), {} network(s), {} volume(s)",
                leftovers.containers.len(),
                leftovers.networks.len(),
                leftovers.volumes.len()
            );
            continue;
        }
        let n = cleanup::remove(&engine, leftovers).await?;
        println!("run {run}: removed {n} object(s)");
        total += n;
    }
    if inventory.is_empty() {
        println!("nothing to clean: no object labelled ordeal.run");
    } else if !args.dry_run {
        println!("removed {total} object(s)");
    }
    // What dead runs left inside the containers that stay (with --all none stays).
    if !args.all && inventory.values().any(|l| !l.orphaned()) {
        scrub_surviving(&engine, args.dry_run).await?;
    }
    Ok(ExitStatus::Passed)
}

/// Removes dead runs' rules and qdiscs from the containers of live and kept runs.
async fn scrub_surviving(engine: &Engine, dry_run: bool) -> Result<(), Error> {
    let helper = Recipes::load(&default_recipes_dir())?.reference("fault-helper")?;
    if !engine.has_image(&helper).await? {
        eprintln!(
            "[ordeal] note: containers of live and kept runs were not searched for rules of dead runs: \
             image `{helper}` is missing (hint: run `ordeal images build`)"
        );
        return Ok(());
    }
    for s in ordeal::fault::scrub::scrub(engine, &helper, dry_run).await? {
        let verb = if dry_run { "would remove" } else { "removed" };
        let qdiscs = if s.qdiscs > 0 {
            format!(" (bandwidth limits on {} interface(s))", s.qdiscs)
        } else {
            String::new()
        };
        println!(
            "run {}: {verb} {} rule(s){qdiscs} it left in `{}`, a container that stays",
            s.run, s.rules, s.container
        );
    }
    Ok(())
}

/// One doctor finding.
struct Finding {
    ok: bool,
    what: String,
    fix: Option<String>,
}

async fn doctor(profile: &str) -> Result<ExitStatus, Error> {
    let images = profile_images(profile)?;
    let mut findings = Vec::new();
    let engine = match Engine::connect().await {
        Ok(e) => {
            let api_ok = e
                .api_version
                .split_once('.')
                .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
                .is_some_and(|v| v >= (1, 41));
            findings.push(Finding {
                ok: api_ok,
                what: format!(
                    "Docker engine {} (API {}) at {}",
                    e.version, e.api_version, e.host
                ),
                fix: (!api_ok)
                    .then(|| "install Docker 20.10 or newer: apt-get install docker.io".into()),
            });
            Some(e)
        }
        Err(err) => {
            findings.push(Finding {
                ok: false,
                what: err.to_string(),
                fix: Some("ci/setup".into()),
            });
            None
        }
    };
    let recipes = Recipes::load(&default_recipes_dir())?;
    for name in images.iter().filter(|_| engine.is_some()) {
        let reference = recipes.reference(name)?;
        let present = match &engine {
            Some(e) => e.has_image(&reference).await?,
            None => false,
        };
        findings.push(Finding {
            ok: present,
            what: format!(
                "image {reference} ({})",
                if present { "built" } else { "missing" }
            ),
            fix: (!present).then(|| format!("ordeal images build --profile {profile}")),
        });
    }
    for tool in ["debootstrap", "docker"] {
        let found = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
        findings.push(Finding {
            ok: found,
            what: format!("`{tool}` on PATH{}", if found { "" } else { ": not found" }),
            fix: (!found).then(|| "ci/setup".into()),
        });
    }
    if let Some(free) = free_disk_gib(&ordeal::images::cache_dir()) {
        findings.push(Finding {
            ok: free >= 10.0,
            what: format!("{free:.0} GiB free for images and caches"),
            fix: (free < 10.0)
                .then(|| "docker system prune (or free space on the Docker data disk)".into()),
        });
    }
    if let Some(mem) = meminfo_gib("MemAvailable") {
        findings.push(Finding {
            ok: mem >= 4.0,
            what: format!("{mem:.1} GiB memory available"),
            fix: (mem < 4.0)
                .then(|| "stop other workloads; the cluster profiles need about 4 GiB".into()),
        });
    }
    // kubelet and containerd in every node container watch many files: two nodes run at the
    // kernel default of 128 instances; much larger topologies need more.
    let needs_kubelet = images.iter().any(|i| i.starts_with("k8s"));
    if let Some(n) =
        read_number("/proc/sys/fs/inotify/max_user_instances").filter(|_| needs_kubelet)
    {
        findings.push(Finding {
            ok: n >= 128,
            what: format!(
                "fs.inotify.max_user_instances = {n} (enough for a few nodes; 512 for more than 4)"
            ),
            fix: (n < 128).then(|| "sysctl -w fs.inotify.max_user_instances=512".into()),
        });
    }
    let mut bad = 0;
    for f in &findings {
        println!("{} {}", if f.ok { "ok  " } else { "FAIL" }, f.what);
        if let Some(fix) = &f.fix {
            println!("     fix: {fix}");
            bad += 1;
        }
    }
    println!();
    if bad == 0 {
        println!("doctor: ready to run profile `{profile}`");
        Ok(ExitStatus::Passed)
    } else {
        println!("doctor: {bad} problem(s) to fix before running profile `{profile}`");
        Ok(ExitStatus::Infra)
    }
}

fn read_number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn meminfo_gib(key: &str) -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: f64 = text
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024.0 / 1024.0)
}

fn free_disk_gib(path: &std::path::Path) -> Option<f64> {
    // `df` rather than statvfs keeps this crate free of unsafe code.
    let mut dir = path.to_path_buf();
    while !dir.exists() {
        dir = dir.parent()?.to_path_buf();
    }
    let out = std::process::Command::new("df")
        .args(["-Pk"])
        .arg(&dir)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let kib: f64 = text
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some(kib / 1024.0 / 1024.0)
}
