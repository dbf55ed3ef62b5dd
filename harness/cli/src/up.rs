//! `ordeal up` and `ordeal down`: a cluster for a person (or another tool) to use, outside any
//! suite, removed on Ctrl-C, or kept until `ordeal down`.

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use clap::{Args, Subcommand};
use ordeal::{
    Error, ExitStatus,
    cluster::{
        kubernetes::{KubeCluster, KubeConfig},
        mesos::{MesosCluster, MesosConfig},
    },
    images::{ImageSet, Recipes, cache_dir, default_recipes_dir},
    run::{CaseCtx, case_rng},
    runtime::{Engine, RunId, cleanup, labels},
    timeline::Timeline,
};

pub const UP_HELP: &str = "\
Examples:
  ordeal up kubernetes                      control plane + 2 nodes; Ctrl-C removes it
  ordeal up kubernetes --nodes 3 --keep     leave it running; `ordeal down` removes it
  ordeal up kubernetes --image kube-apiserver=registry.k8s.io/kube-apiserver:v1.35.4
  ordeal up mesos --masters 3 --agents 2    ZooKeeper, masters and agents
  ordeal up mesos --zookeepers 3 --masters 3   the highly available layout

For Kubernetes, a kubeconfig for https://127.0.0.1:<port> (cluster admin) is written to
~/.cache/ordeal/up/<run id>/kubeconfig, and kubectl 1.35 is copied out of the control-plane
image to ~/.cache/ordeal/bin/kubectl:

  export KUBECONFIG=~/.cache/ordeal/up/<run id>/kubeconfig
  ~/.cache/ordeal/bin/kubectl get nodes

Pods must use images present in the nodes (`workload` is preloaded; imagePullPolicy: Never):
no registry is ever contacted. Every container, network and volume carries
ordeal.run=<run id>; a kept cluster also carries ordeal.keep, so `ordeal clean` and the start
of `ordeal run` leave it alone.

Exit codes: 0 the cluster came up (and was removed on Ctrl-C, unless kept), 2 usage error,
3 infrastructure error (no Docker engine, missing image, the cluster did not come up).";

pub const DOWN_HELP: &str = "\
Examples:
  ordeal down                       remove the kept cluster (when there is exactly one)
  ordeal down 20261129-211502-3f2a  remove that run's cluster

Removes every container, network and volume labelled ordeal.run=<run id>, and the run's
folder under ~/.cache/ordeal/up/. Exit codes: 0 removed, 2 no such run (or several kept runs
and none named), 3 Docker error.";

/// What to bring up.
#[derive(Debug, Subcommand)]
pub enum UpCommand {
    /// Kubernetes 1.35: etcd, kube-apiserver, kube-controller-manager, kube-scheduler (one
    /// container each) and N nodes running containerd, kubelet and kube-proxy.
    #[command(after_help = UP_HELP)]
    Kubernetes(KubeArgs),
    /// Apache Mesos 1.11: ZooKeeper, masters and agents.
    #[command(after_help = UP_HELP)]
    Mesos(MesosArgs),
}

/// `ordeal up kubernetes`.
#[derive(Debug, Args)]
pub struct KubeArgs {
    /// Number of kubelet nodes.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=20))]
    nodes: u8,
    /// Publish the apiserver on this port of 127.0.0.1 (default: a free one).
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    port: Option<u16>,
    #[command(flatten)]
    common: CommonArgs,
}

fn zookeepers(s: &str) -> Result<u8, String> {
    match s.parse::<u8>() {
        Ok(n @ (1 | 3 | 5)) => Ok(n),
        _ => Err("use 1, 3 or 5 (a ZooKeeper ensemble needs an odd size)".into()),
    }
}

/// `ordeal up mesos`.
#[derive(Debug, Args)]
pub struct MesosArgs {
    /// Number of ZooKeeper servers: 1, or an ensemble of 3 or 5.
    #[arg(long, default_value_t = 1, value_parser = zookeepers)]
    zookeepers: u8,
    /// Number of masters (quorum: a majority).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
    masters: u8,
    /// Number of agents.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=20))]
    agents: u8,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Args)]
struct CommonArgs {
    /// Leave the cluster running when ordeal exits; `ordeal down [RUN_ID]` removes it.
    #[arg(long)]
    keep: bool,
    /// Use NAME=REFERENCE instead of a built image (present locally; never pulled). For
    /// Kubernetes, each of etcd, kube-apiserver, kube-controller-manager, kube-scheduler can
    /// be set alone, e.g. kube-apiserver=registry.k8s.io/kube-apiserver:v1.35.4.
    #[arg(long = "image", value_name = "NAME=REF")]
    images: Vec<String>,
}

/// `ordeal down`.
#[derive(Debug, Args)]
pub struct DownArgs {
    /// The run to remove (printed by `ordeal up`); defaults to the only kept run.
    run: Option<String>,
}

/// Where a run's kubeconfig and notes go.
fn up_dir(run: &RunId) -> PathBuf {
    cache_dir().join("up").join(run.as_str())
}

fn write_private(path: &Path, text: &str) -> Result<(), Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let err = |e: std::io::Error| Error::infra(format!("cannot write `{}`: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(err)?;
        f.write_all(text.as_bytes()).map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)
}

/// Ctrl-C or SIGTERM.
async fn interrupted() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

fn context(engine: Engine, images: ImageSet, keep: bool) -> (RunId, CaseCtx) {
    let run = RunId::generate();
    let mut ctx = CaseCtx::new(
        "up",
        engine,
        run.clone(),
        images,
        Timeline::new(),
        case_rng(0, "up"),
        false,
    );
    if keep {
        ctx = ctx.with_labels(labels::kept());
    }
    (run, ctx)
}

async fn prepare(images: &[String]) -> Result<(Engine, ImageSet), Error> {
    let recipes = Recipes::load(&default_recipes_dir())?;
    let images = ImageSet::new(&recipes, images)?;
    let engine = Engine::connect().await?;
    let cleaned = cleanup::clean(&engine, false).await?;
    let n: usize = cleaned.iter().map(|(_, n)| n).sum();
    if n > 0 {
        eprintln!(
            "[ordeal] removed {n} object(s) left by {} dead run(s)",
            cleaned.len()
        );
    }
    Ok((engine, images))
}

/// Brings the cluster up with `bring_up`; on failure or Ctrl-C meanwhile, removes it.
async fn start<T, F>(ctx: &CaseCtx, bring_up: F) -> Result<T, Error>
where
    F: Future<Output = Result<T, Error>>,
{
    let result = tokio::select! {
        r = bring_up => r,
        () = interrupted() => Err(Error::infra("interrupted while the cluster came up; removed it")),
    };
    if result.is_err() {
        ctx.remove_all().await;
        let _ = cleanup::remove_run(ctx.engine(), ctx.run_id(), None).await;
    }
    result
}

/// After the cluster is up: keep it, or wait for Ctrl-C and remove it.
async fn hold(ctx: &CaseCtx, keep: bool, dir: &Path) -> Result<ExitStatus, Error> {
    let run = ctx.run_id();
    if keep {
        ctx.keep_containers();
        println!("kept: remove it with `ordeal down {run}`");
        return Ok(ExitStatus::Passed);
    }
    println!("running: Ctrl-C removes it (or run `ordeal down {run}` elsewhere)");
    interrupted().await;
    eprintln!("[ordeal] removing run {run}");
    ctx.remove_all().await;
    cleanup::remove_run(ctx.engine(), run, None).await?;
    let _ = std::fs::remove_dir_all(dir);
    println!("removed run {run}");
    Ok(ExitStatus::Passed)
}

/// kubectl from the apiserver container, copied once to `~/.cache/ordeal/bin/kubectl`.
async fn copy_kubectl(cluster: &KubeCluster) -> Option<PathBuf> {
    let path = cache_dir().join("bin/kubectl");
    if path.is_file() {
        return Some(path);
    }
    match cluster
        .apiserver
        .copy_file_out("/usr/local/bin/kubectl", &path, 0o755)
        .await
    {
        Ok(()) => Some(path),
        Err(e) => {
            eprintln!("[ordeal] note: no kubectl copied (the apiserver image has none?): {e}");
            None
        }
    }
}

/// `ordeal up ...`.
pub async fn up(command: UpCommand) -> Result<ExitStatus, Error> {
    match command {
        UpCommand::Kubernetes(args) => up_kubernetes(args).await,
        UpCommand::Mesos(args) => up_mesos(args).await,
    }
}

async fn up_kubernetes(args: KubeArgs) -> Result<ExitStatus, Error> {
    let started = Instant::now();
    let (engine, images) = prepare(&args.common.images).await?;
    let (run, ctx) = context(engine, images, args.common.keep);
    eprintln!(
        "[ordeal] up {run}: Kubernetes control plane + {} node(s){}",
        args.nodes,
        if args.common.keep { " (kept)" } else { "" }
    );
    let config = KubeConfig {
        api_port: args.port,
        ..KubeConfig::new(args.nodes)
    };
    let cluster = start(&ctx, KubeCluster::start_config(&ctx, &config)).await?;
    let dir = up_dir(&run);
    let kubeconfig = dir.join("kubeconfig");
    write_private(&kubeconfig, &cluster.host_kubeconfig())?;
    let ready = started.elapsed();
    let kubectl = copy_kubectl(&cluster).await;
    println!(
        "ready in {:.1} s: https://127.0.0.1:{} ({} node(s) Ready)",
        ready.as_secs_f64(),
        cluster.api_port,
        args.nodes
    );
    println!("run:        {run}");
    println!("kubeconfig: {}", kubeconfig.display());
    let kubectl = kubectl.map_or_else(|| "kubectl".to_owned(), |p| p.display().to_string());
    println!();
    println!("  export KUBECONFIG={}", kubeconfig.display());
    println!("  {kubectl} get nodes");
    println!();
    hold(&ctx, args.common.keep, &dir).await
}

async fn up_mesos(args: MesosArgs) -> Result<ExitStatus, Error> {
    let started = Instant::now();
    let (engine, images) = prepare(&args.common.images).await?;
    let (run, ctx) = context(engine, images, args.common.keep);
    eprintln!(
        "[ordeal] up {run}: Mesos {} ZooKeeper(s) + {} master(s) + {} agent(s){}",
        args.zookeepers,
        args.masters,
        args.agents,
        if args.common.keep { " (kept)" } else { "" }
    );
    let cluster = start(
        &ctx,
        MesosCluster::start_config(
            &ctx,
            &MesosConfig {
                zookeepers: args.zookeepers.into(),
                ..MesosConfig::new(args.masters.into(), args.agents.into())
            },
        ),
    )
    .await?;
    let dir = up_dir(&run);
    let urls: Vec<&str> = cluster.masters.iter().map(|(_, u)| u.as_str()).collect();
    write_private(&dir.join("masters"), &(urls.join("\n") + "\n"))?;
    // Give the leader's URL: a standby answers /master/state with a 307 to the leader's
    // cluster address, which the host cannot reach. Which master leads is up to the election.
    let leader = cluster.leader().await.map_or(urls[0], |(i, _)| urls[i]);
    println!(
        "ready in {:.1} s: {leader} (leading master of {}, {} agent(s) registered)",
        started.elapsed().as_secs_f64(),
        args.masters,
        args.agents
    );
    println!("run:        {run}");
    println!("leader:     {leader}");
    for url in &urls {
        println!("master:     {url}");
    }
    println!();
    println!("  curl -s {leader}/master/state | head -c 300");
    println!();
    hold(&ctx, args.common.keep, &dir).await
}

/// `ordeal down [RUN_ID]`.
pub async fn down(args: DownArgs) -> Result<ExitStatus, Error> {
    let engine = Engine::connect().await?;
    let run = match args.run {
        Some(id) => RunId::from_label(&id),
        None => {
            let kept: Vec<RunId> = cleanup::inventory(&engine, None, None)
                .await?
                .into_iter()
                .filter(|(_, l)| l.kept)
                .map(|(r, _)| r)
                .collect();
            match kept.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(Error::usage(
                        "no kept cluster to remove (hint: `ordeal up --keep` keeps one; `ordeal clean` removes dead runs)",
                    ));
                }
                many => {
                    return Err(Error::usage(format!(
                        "{} kept clusters: name one (`ordeal down RUN_ID`): {}",
                        many.len(),
                        many.iter()
                            .map(RunId::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
        }
    };
    let found = cleanup::inventory(&engine, Some(&run), None).await?;
    let dir = up_dir(&run);
    if found.is_empty() && !dir.exists() {
        return Err(Error::usage(format!(
            "no run `{run}`: nothing is labelled ordeal.run={run} (hint: `ordeal clean --all --dry-run` lists runs)"
        )));
    }
    let mut removed = 0;
    for leftovers in found.values() {
        removed += cleanup::remove(&engine, leftovers).await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("run {run}: removed {removed} object(s)");
    Ok(ExitStatus::Passed)
}
