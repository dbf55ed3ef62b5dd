//! `ordeal certify`: the non-destructive conformance checks against a cluster ordeal did not
//! start, through the normal runner (JUnit, run.json, HTML), then a certification bundle.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use clap::{ArgGroup, Args};
use ordeal::{
    Error, ExitStatus,
    cluster::{
        external::{ExternalKube, ExternalMesos, certify_name},
        kubernetes::plan::containerd_reference,
    },
    images::{ImageSet, Recipes, default_recipes_dir},
    run::{InterruptCleanup, Outcome, RunOptions, RunSummary, random_seed},
    runtime::RunId,
    timeline::now_rfc3339,
};
use ordeal_suites::certify::{self, Skipped};
use serde::{Deserialize, Serialize};

pub const CERTIFY_HELP: &str = "\
Examples:
  ordeal certify --product-template > product.toml      the file the vendor fills in
  ordeal certify --kubeconfig ~/.kube/config --product product.toml
  ordeal certify --kubeconfig admin.conf --workload-image registry.example/busybox:1.36
  ordeal certify --mesos-master http://10.0.0.5:5050 --product product.toml
  ordeal certify --kubeconfig admin.conf pod_is_scheduled    only checks whose name has it
  ordeal certify --kubeconfig admin.conf --list              the checks it would run
  ordeal certify --kubeconfig admin.conf --allow-disruptive --target node-2   also drain node-2

What it does to the cluster: Kubernetes, it creates the namespace ordeal-certify-<run id>,
runs pods there (some with liveness, readiness and startup probes that fail on purpose, one
crash-looping, one over its 32Mi memory limit), a Deployment and a Service, then deletes the
namespace and waits until it is gone; Mesos, it subscribes frameworks named (and in the role)
ordeal-certify-<run id>, runs short command tasks, then tears every one of them down and
waits until the master has no task of theirs. Nothing else is changed; no node is touched. Disruptive checks only ever
run with --allow-disruptive and the nodes named by --target: for Kubernetes, the targets are
cordoned and the check's own pods evicted from them (a drain), then uncordoned; Mesos has
none yet.

Pods use an image that must already be on the nodes (imagePullPolicy: Never) and have
/bin/sh, echo, sleep, timeout, cat, touch, rm, kill, head, tr, nc (with -l and -e) and
httpd (busybox has them): by default ordeal's `workload` image, which the clusters of
`ordeal up` preload; --workload-image names your own. The health checks read the kubelet's
live configuration (GET nodes/<node>/proxy/configz) for its CrashLoopBackOff.

Reports go to <report-dir>/<run id>/ as for `ordeal run` (junit.xml, run.json, index.html),
and the certification bundle to <report-dir>/<run id>-certification.tar.gz: the reports,
VERSIONS.json (apiserver and kubelets, or Mesos master and agents), RESULTS.txt (every check
run or skipped, and the verdict), PRODUCT.toml (your --product file) and MANIFEST.txt (who
signed off, when, and the SHA-256 of every file). Credentials never go in: the kubeconfig is
not copied, and every text is redacted as `ordeal run --bundle` does.

Exit codes: 0 every check passed (and the cluster was left as found), 1 a check failed,
2 usage error (bad flag; a kubeconfig or product file that is missing or malformed),
3 infrastructure error (the cluster does not answer, or what ordeal created could not be
removed).";

/// `ordeal certify`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("cluster").args(["kubeconfig", "mesos_master"])))]
pub struct CertifyArgs {
    /// Certify the Kubernetes cluster this kubeconfig reaches (its current context).
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// Certify the Mesos cluster of this master (a standby's redirect is followed to the leader).
    #[arg(long, value_name = "URL")]
    mesos_master: Option<String>,
    /// The image pods run, present on every node (default: ordeal's `workload` image).
    #[arg(long, value_name = "REF")]
    workload_image: Option<String>,
    /// The product description the vendor filled in (`ordeal certify --product-template`).
    #[arg(long, value_name = "FILE")]
    product: Option<PathBuf>,
    /// Print the product description template and exit.
    #[arg(long, exclusive = true)]
    product_template: bool,
    /// Who signs the bundle off (default: $USER@hostname).
    #[arg(long, value_name = "WHO")]
    signed_off_by: Option<String>,
    /// Also run disruptive checks (they break the nodes named by --target).
    #[arg(long)]
    allow_disruptive: bool,
    /// A node disruptive checks may break (repeatable; needs --allow-disruptive).
    #[arg(long = "target", value_name = "NODE")]
    targets: Vec<String>,
    /// Where the run's folder and the bundle go.
    #[arg(long, default_value = "reports", value_name = "DIR")]
    report_dir: PathBuf,
    /// Only checks whose name contains FILTER.
    filter: Option<String>,
    /// Skip checks whose name contains SKIP (repeatable).
    #[arg(long, value_name = "SKIP")]
    skip: Vec<String>,
    /// List the checks instead of running them.
    #[arg(long)]
    list: bool,
}

const PRODUCT_TEMPLATE: &str = "\
# The product an ordeal certification is about. Fill in every field (replace each <...>),
# then: ordeal certify --kubeconfig FILE --product THIS_FILE   (or --mesos-master URL)
[product]
vendor = \"<company>\"
name = \"<product name>\"
version = \"<product version>\"
description = \"<one sentence: what the product is, e.g. a Kubernetes distribution>\"
contact = \"<who answers for this certification, e.g. name <email>>\"
# Optional:
website = \"\"
";

/// The vendor's product description.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ProductFile {
    product: Product,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Product {
    vendor: String,
    name: String,
    version: String,
    description: String,
    contact: String,
    #[serde(default)]
    website: String,
}

/// Reads and checks `--product FILE`: a usage error if missing, malformed, or still holding the
/// template's placeholders.
fn read_product(path: &Path) -> Result<(ProductFile, String), Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::usage(format!(
            "cannot read product file `{}`: {e} (hint: `ordeal certify --product-template`)",
            path.display()
        ))
    })?;
    let parsed: ProductFile = toml::from_str(&text).map_err(|e| {
        let first = e.to_string();
        let first = first.lines().next().unwrap_or("malformed").to_owned();
        let at = e
            .span()
            .map(|s| format!(":{}", text[..s.start].lines().count().max(1)))
            .unwrap_or_default();
        Error::usage(format!(
            "`{}{at}` is not a product file: {} (hint: `ordeal certify --product-template`)",
            path.display(),
            e.message().lines().next().unwrap_or(&first)
        ))
    })?;
    let p = &parsed.product;
    for (field, value) in [
        ("vendor", &p.vendor),
        ("name", &p.name),
        ("version", &p.version),
        ("description", &p.description),
        ("contact", &p.contact),
    ] {
        let v = value.trim();
        if v.is_empty() || (v.starts_with('<') && v.ends_with('>')) {
            return Err(Error::usage(format!(
                "`{}`: product.{field} is not filled in ({value:?})",
                path.display()
            )));
        }
    }
    Ok((parsed, text))
}

/// What the bundle says about the cluster and the run.
#[derive(Debug, Serialize)]
struct CertificationRecord {
    ordeal_version: String,
    run_id: String,
    backend: &'static str,
    /// The apiserver URL or the leading master's.
    endpoint: String,
    /// The namespace (Kubernetes) or framework and role (Mesos) the checks used.
    workspace: String,
    workload_image: Option<String>,
    versions: serde_json::Value,
    disruptive: Disruptive,
    checks: Vec<CheckResult>,
    skipped: Vec<SkippedCheck>,
    cleanup: String,
    result: &'static str,
}

#[derive(Debug, Serialize)]
struct Disruptive {
    allowed: bool,
    targets: Vec<String>,
}

#[derive(Debug, Serialize)]
struct CheckResult {
    name: String,
    outcome: String,
    duration_s: f64,
    message: Option<String>,
}

#[derive(Debug, Serialize)]
struct SkippedCheck {
    name: String,
    reason: String,
}

/// The cluster under certification, connected.
#[derive(Clone)]
enum Target {
    Kube(ExternalKube),
    Mesos(ExternalMesos),
}

impl Target {
    /// Removes what the run made in the cluster (`name`: its namespace or framework) and waits
    /// until it is gone; says what it did.
    async fn remove(&self, name: &str) -> Result<String, Error> {
        match self {
            Target::Kube(k) => k
                .remove_namespace(Duration::from_secs(180))
                .await
                .map(|()| format!("namespace {name} deleted and gone")),
            Target::Mesos(m) => m.remove_frameworks(Duration::from_secs(60)).await.map(|n| {
                format!(
                    "{n} framework(s) named {name} torn down; none left, no task of theirs left"
                )
            }),
        }
    }
}

fn signed_off_by(args: &CertifyArgs) -> String {
    if let Some(who) = &args.signed_off_by {
        return who.clone();
    }
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host}")
}

/// `ordeal certify ...`.
pub async fn certify(args: CertifyArgs) -> Result<ExitStatus, Error> {
    if args.product_template {
        print!("{PRODUCT_TEMPLATE}");
        return Ok(ExitStatus::Passed);
    }
    if args.allow_disruptive && args.targets.is_empty() {
        return Err(Error::usage(
            "--allow-disruptive needs the nodes it may break: add --target NODE (repeatable)",
        ));
    }
    if !args.targets.is_empty() && !args.allow_disruptive {
        return Err(Error::usage(
            "--target names nodes for disruptive checks: add --allow-disruptive to run them",
        ));
    }
    if args.workload_image.is_some() && args.mesos_master.is_some() {
        return Err(Error::usage(
            "--workload-image is for Kubernetes (Mesos command tasks run on the agents' own filesystem)",
        ));
    }
    let product = args.product.as_deref().map(read_product).transpose()?;
    let run = RunId::generate();
    let name = certify_name(&run);
    let started = Instant::now();

    let (target, workload) = match (&args.kubeconfig, &args.mesos_master) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::usage(format!("cannot read kubeconfig `{}`: {e}", path.display()))
            })?;
            let image = match &args.workload_image {
                Some(i) => i.clone(),
                None => containerd_reference(
                    &Recipes::load(&default_recipes_dir())?.reference("workload")?,
                ),
            };
            let kube =
                ExternalKube::connect(&text, &path.display().to_string(), &name, &image).await?;
            (Target::Kube(kube), Some(image))
        }
        (None, Some(url)) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Error::usage(format!(
                    "--mesos-master `{url}` is not a URL (e.g. http://10.0.0.5:5050)"
                )));
            }
            (
                Target::Mesos(ExternalMesos::connect(url, &name).await?),
                None,
            )
        }
        (None, None) => {
            return Err(Error::usage(
                "certify what? give --kubeconfig FILE or --mesos-master URL (see `ordeal certify --help`)",
            ));
        }
    };

    // What the cluster is, and which checks can run on it.
    let (backend, endpoint, workspace, versions, cases, skipped) = match &target {
        Target::Kube(k) => {
            let versions = k.versions().await?;
            let schedulable: Vec<String> = versions
                .nodes
                .iter()
                .filter(|n| n.schedulable)
                .map(|n| n.name.clone())
                .collect();
            let nodes: Vec<&str> = versions.nodes.iter().map(|n| n.name.as_str()).collect();
            known_targets(&args.targets, &nodes, "a node")?;
            let (cases, skipped) = certify::kubernetes(k.target(), &schedulable, &args.targets);
            let versions = serde_json::to_value(&versions)
                .map_err(|e| Error::infra(format!("failed to encode versions: {e}")))?;
            (
                "kubernetes",
                k.server().to_owned(),
                format!("namespace {name}"),
                versions,
                cases,
                skipped,
            )
        }
        Target::Mesos(m) => {
            let versions = m.versions().await?;
            let agents: Vec<&str> = versions
                .agents
                .iter()
                .map(|a| a.hostname.as_str())
                .collect();
            known_targets(&args.targets, &agents, "an agent")?;
            let versions = serde_json::to_value(&versions)
                .map_err(|e| Error::infra(format!("failed to encode versions: {e}")))?;
            (
                "mesos",
                m.target().url().to_owned(),
                format!("framework and role {name}"),
                versions,
                certify::mesos(m.target()),
                Vec::new(),
            )
        }
    };
    if args.allow_disruptive && backend == "mesos" {
        eprintln!(
            "[ordeal] note: no disruptive Mesos check yet; agents {} recorded, left untouched",
            args.targets.join(", ")
        );
    }
    let libtest = libtest_mimic::Arguments {
        filter: args.filter.clone(),
        list: args.list,
        skip: args.skip.clone(),
        test_threads: Some(1),
        ..Default::default()
    };
    let mut opts = options(
        &args,
        &run,
        libtest,
        workload.as_deref(),
        backend,
        &endpoint,
        &workspace,
    );
    // Ctrl-C or SIGTERM: the runner removes its Docker objects (none here), then this.
    let (outside, label) = (target.clone(), name.clone());
    opts.on_interrupt = Some(InterruptCleanup(Arc::new(move || {
        let (target, name) = (outside.clone(), label.clone());
        Box::pin(async move {
            match target.remove(&name).await {
                Ok(note) => eprintln!("[ordeal] {note}"),
                Err(e) => eprintln!("[ordeal] {e}"),
            }
        })
    })));
    if args.list {
        ordeal::run::run(cases, opts).await?;
        for s in &skipped {
            println!("{}: skipped ({})", s.name, s.reason);
        }
        return Ok(ExitStatus::Passed);
    }

    // From here on the cluster holds something of ours: remove it whatever happens.
    match &target {
        Target::Kube(k) => {
            k.create_namespace(&run).await?;
            eprintln!(
                "[ordeal] certify {run}: Kubernetes at {endpoint}, in namespace {name} (removed \
                 at the end or on Ctrl-C; if this run is SIGKILLed: kubectl delete namespace {name})"
            );
        }
        Target::Mesos(_) => eprintln!(
            "[ordeal] certify {run}: Mesos, leading master {endpoint}, as framework {name}"
        ),
    }
    for s in &skipped {
        eprintln!("[ordeal] skipped {}: {}", s.name, s.reason);
    }
    let summary = ordeal::run::run(cases, opts).await;
    let removing = Instant::now();
    let cleanup = target.remove(&name).await;
    let summary = match summary {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(ExitStatus::Passed),
        Err(e) => {
            cleanup?;
            return Err(e);
        }
    };
    let cleanup_note = match &cleanup {
        Ok(note) => format!("{note} ({:.1} s)", removing.elapsed().as_secs_f64()),
        Err(e) => format!("FAILED: {e}"),
    };
    println!("cleanup: {cleanup_note}");

    let record = record(
        &run,
        backend,
        &endpoint,
        &workspace,
        workload,
        versions,
        &args,
        &summary,
        &skipped,
        &cleanup_note,
        cleanup.is_ok(),
    );
    let bundle = write_bundle(&args, &summary, &record, product.as_ref(), started)?;
    // Every check not failed or in error passed (perhaps as flaky).
    let failed: Vec<&CheckResult> = record
        .checks
        .iter()
        .filter(|c| c.outcome == "failed" || c.outcome == "error")
        .collect();
    println!();
    println!(
        "certify {}: {} ({} check(s) passed, {} failed, {} skipped) in {:.1} s",
        record.backend,
        record.result,
        record.checks.len() - failed.len(),
        failed.len(),
        record.skipped.len(),
        started.elapsed().as_secs_f64()
    );
    for c in failed {
        println!(
            "  FAILED {}: {}",
            c.name,
            c.message.as_deref().unwrap_or("")
        );
    }
    println!("reports: {}/junit.xml and run.json", summary.dir.display());
    println!(
        "bundle:  {} ({} credential value(s) redacted; MANIFEST.txt sha256 {})",
        bundle.path.display(),
        bundle.redacted,
        bundle.manifest_sha256
    );
    cleanup?;
    Ok(summary.status)
}

/// Every `--target` must name one of `known` (`what`: "a node").
fn known_targets(targets: &[String], known: &[&str], what: &str) -> Result<(), Error> {
    match targets.iter().find(|t| !known.contains(&t.as_str())) {
        Some(unknown) => Err(Error::usage(format!(
            "--target `{unknown}` is not {what} of the cluster (known: {})",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

fn options(
    args: &CertifyArgs,
    run: &RunId,
    libtest: libtest_mimic::Arguments,
    workload: Option<&str>,
    backend: &str,
    endpoint: &str,
    workspace: &str,
) -> RunOptions {
    let mut properties = vec![
        ("certify.backend".to_owned(), backend.to_owned()),
        ("certify.endpoint".to_owned(), endpoint.to_owned()),
        ("certify.workspace".to_owned(), workspace.to_owned()),
        (
            "certify.disruptive".to_owned(),
            if args.allow_disruptive {
                format!("allowed on {}", args.targets.join(", "))
            } else {
                "no".to_owned()
            },
        ),
    ];
    if let Some(image) = workload {
        properties.push(("certify.workload-image".to_owned(), image.to_owned()));
    }
    RunOptions {
        component_defaults: false,
        profile: "certify".into(),
        seed: random_seed(),
        report_dir: args.report_dir.clone(),
        libtest,
        negative_controls: false,
        images: ImageSet::from_refs(workload.map(|w| ("workload", w))),
        properties,
        retries: 0,
        run_id: Some(run.clone()),
        on_interrupt: None,
        scenario: None,
        replay: Default::default(),
    }
}

#[expect(clippy::too_many_arguments, reason = "one record, assembled once")]
fn record(
    run: &RunId,
    backend: &'static str,
    endpoint: &str,
    workspace: &str,
    workload: Option<String>,
    versions: serde_json::Value,
    args: &CertifyArgs,
    summary: &RunSummary,
    skipped: &[Skipped],
    cleanup: &str,
    cleaned: bool,
) -> CertificationRecord {
    let mut checks: Vec<CheckResult> = summary
        .cases
        .iter()
        .map(|c| CheckResult {
            name: c.name.clone(),
            outcome: c.outcome.word().to_owned(),
            duration_s: c.duration_s,
            message: c.message.clone(),
        })
        .collect();
    checks.sort_by(|a, b| a.name.cmp(&b.name));
    let passed = summary
        .cases
        .iter()
        .all(|c| matches!(c.outcome, Outcome::Passed | Outcome::Flaky));
    CertificationRecord {
        ordeal_version: env!("CARGO_PKG_VERSION").to_owned(),
        run_id: run.to_string(),
        backend,
        endpoint: endpoint.to_owned(),
        workspace: workspace.to_owned(),
        workload_image: workload,
        versions,
        disruptive: Disruptive {
            allowed: args.allow_disruptive,
            targets: args.targets.clone(),
        },
        checks,
        skipped: skipped
            .iter()
            .map(|s| SkippedCheck {
                name: s.name.clone(),
                reason: s.reason.clone(),
            })
            .collect(),
        cleanup: cleanup.to_owned(),
        result: match (passed && cleaned, summary.cases.is_empty()) {
            (false, _) => "FAILED",
            (true, true) => "NOTHING RUN",
            // A selection (FILTER, --skip) is not a certification of the whole suite.
            (true, false) if args.filter.is_some() || !args.skip.is_empty() => {
                "PASSED (partial selection)"
            }
            (true, false) => "PASSED",
        },
    }
}

fn results_text(r: &CertificationRecord) -> String {
    use std::fmt::Write;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "ordeal {} certification of a {} cluster at {}",
        r.ordeal_version, r.backend, r.endpoint
    );
    let _ = writeln!(t, "run {}, {}", r.run_id, r.workspace);
    let _ = writeln!(t);
    for c in &r.checks {
        let _ = write!(
            t,
            "{:<7} {} ({:.1} s)",
            c.outcome.to_uppercase(),
            c.name,
            c.duration_s
        );
        if let Some(m) = c.message.as_deref().filter(|_| c.outcome != "passed") {
            let _ = write!(t, ": {m}");
        }
        let _ = writeln!(t);
    }
    for s in &r.skipped {
        let _ = writeln!(t, "SKIPPED {}: {}", s.name, s.reason);
    }
    let _ = writeln!(t);
    let _ = writeln!(t, "cleanup: {}", r.cleanup);
    let _ = writeln!(t, "result: {}", r.result);
    t
}

fn write_bundle(
    args: &CertifyArgs,
    summary: &RunSummary,
    record: &CertificationRecord,
    product: Option<&(ProductFile, String)>,
    started: Instant,
) -> Result<ordeal::report::Certification, Error> {
    let json = serde_json::to_string_pretty(record)
        .map_err(|e| Error::infra(format!("failed to encode the certification record: {e}")))?;
    let versions = serde_json::to_string_pretty(&record.versions)
        .map_err(|e| Error::infra(format!("failed to encode versions: {e}")))?;
    let results = results_text(record);
    let product_text = match product {
        Some((_, text)) => text.clone(),
        None => format!(
            "# No product description was given (ordeal certify --product FILE): the template.\n{PRODUCT_TEMPLATE}"
        ),
    };
    let product_line = product.map_or_else(
        || "product: not described (no --product)".to_owned(),
        |(p, _)| {
            format!(
                "product: {} {} {} (contact: {})",
                p.product.vendor, p.product.name, p.product.version, p.product.contact
            )
        },
    );
    let header = format!(
        "ordeal certification bundle\n\
         {product_line}\n\
         cluster: {} at {}\n\
         result: {}\n\
         run: {}\n\
         signed-off-by: {}\n\
         date: {}\n\
         ordeal: {}\n\
         took: {:.1} s\n\
         \n\
         This manifest is a record, not a cryptographic signature: keep its SHA-256 (printed\n\
         by ordeal certify) with your sign-off to detect any later change to the bundle.",
        record.backend,
        record.endpoint,
        record.result,
        record.run_id,
        signed_off_by(args),
        now_rfc3339(),
        record.ordeal_version,
        started.elapsed().as_secs_f64()
    );
    ordeal::report::write_certification_bundle(
        &summary.dir,
        &[
            ("CERTIFICATION.json", &json),
            ("VERSIONS.json", &versions),
            ("RESULTS.txt", &results),
            ("PRODUCT.toml", &product_text),
        ],
        &header,
    )
}
