//! Building images from recipes, with progress and a log per build.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    process::Command,
};

use super::{Recipe, Recipes, cache_dir};
use crate::{Error, Result, progress::Step, runtime::Engine};

/// What happened to one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildOutcome {
    /// The tag was already present.
    UpToDate(String),
    /// It was built now.
    Built(String),
}

/// Builds `names` (and their ancestors), skipping every image whose hash tag already exists.
/// An empty `names` builds every recipe.
pub async fn build(
    engine: &Engine,
    recipes: &Recipes,
    names: &[String],
    force: bool,
) -> Result<Vec<BuildOutcome>> {
    let wanted: Vec<String> = if names.is_empty() {
        recipes.iter().map(|r| r.name.clone()).collect()
    } else {
        names.to_vec()
    };
    // Ancestors first, each once.
    let mut order: Vec<&Recipe> = Vec::new();
    for name in &wanted {
        for r in recipes.chain(name)? {
            if !order.iter().any(|o| o.name == r.name) {
                order.push(r);
            }
        }
    }
    let mut outcomes = Vec::new();
    for recipe in order {
        let reference = recipes.reference(&recipe.name)?;
        if !force && engine.has_image(&reference).await? {
            eprintln!("[ordeal] image {reference} up to date");
            outcomes.push(BuildOutcome::UpToDate(reference));
            continue;
        }
        let step = Step::start(format!("building image {reference}"));
        let log = log_path(&recipe.name, &reference);
        let result = match &recipe.parent {
            None => build_base(recipe, &reference, &log, &step).await,
            Some(parent) => {
                let parent_ref = recipes.reference(parent)?;
                build_layer(recipe, &reference, &parent_ref, &log, &step).await
            }
        };
        match result {
            Ok(()) => {
                step.finish("done");
                outcomes.push(BuildOutcome::Built(reference));
            }
            Err(e) => {
                step.finish("failed");
                return Err(e);
            }
        }
    }
    Ok(outcomes)
}

fn log_path(name: &str, reference: &str) -> PathBuf {
    let tag = reference.rsplit(':').next().unwrap_or("x");
    cache_dir().join("logs").join(format!("{name}-{tag}.log"))
}

/// `base`: debootstrap a bookworm rootfs with `packages.txt`, then `docker import` it.
async fn build_base(recipe: &Recipe, reference: &str, log: &Path, step: &Step) -> Result<()> {
    let packages = std::fs::read_to_string(recipe.dir.join("packages.txt")).map_err(|e| {
        Error::usage(format!(
            "base recipe `{}` needs packages.txt: {e}",
            recipe.dir.display()
        ))
    })?;
    let include: Vec<&str> = packages
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .collect();
    let mirror = std::env::var("ORDEAL_DEBIAN_MIRROR")
        .unwrap_or_else(|_| "http://deb.debian.org/debian".into());
    let work = cache_dir().join("rootfs");
    std::fs::create_dir_all(&work)
        .map_err(|e| Error::infra(format!("cannot create `{}`: {e}", work.display())))?;
    let rootfs = tempfile::Builder::new()
        .prefix("base-")
        .tempdir_in(&work)
        .map_err(|e| {
            Error::infra(format!(
                "cannot create a rootfs folder in `{}`: {e}",
                work.display()
            ))
        })?;
    let mut debootstrap = Command::new("debootstrap");
    debootstrap
        .arg("--variant=minbase")
        .arg(format!("--include={}", include.join(",")))
        .arg("bookworm")
        .arg(rootfs.path())
        .arg(&mirror);
    run_logged(debootstrap, None, log, step, "debootstrap").await?;
    let script = format!(
        "tar -C {root} -c . | docker import --change 'LABEL ordeal.recipe={name}' --change 'CMD [\"/bin/bash\"]' - {reference}",
        root = shell_quote(&rootfs.path().to_string_lossy()),
        name = recipe.name,
    );
    let mut import = Command::new("sh");
    import.arg("-c").arg(script);
    run_logged(import, None, log, step, "docker import").await
}

/// Any other recipe: run `prepare` if present, then `docker build` FROM the parent's tag.
async fn build_layer(
    recipe: &Recipe,
    reference: &str,
    parent_ref: &str,
    log: &Path,
    step: &Step,
) -> Result<()> {
    let context = tempfile::Builder::new()
        .prefix(&format!("ordeal-ctx-{}-", recipe.name))
        .tempdir()
        .map_err(|e| Error::infra(format!("cannot create a build context: {e}")))?;
    copy_dir(&recipe.dir, context.path())?;
    let prepare = recipe.dir.join("prepare");
    if prepare.is_file() {
        let mut cmd = Command::new(&prepare);
        cmd.env("CONTEXT", context.path())
            .env("ORDEAL_CACHE", cache_dir())
            .env(
                "ORDEAL_ROOT",
                recipe
                    .dir
                    .join("../../..")
                    .canonicalize()
                    .unwrap_or_default(),
            )
            .current_dir(&recipe.dir);
        run_logged(cmd, None, log, step, "prepare").await?;
    }
    let mut cmd = Command::new("docker");
    cmd.args(["build", "--network", "host", "--force-rm", "--build-arg"])
        .arg(format!("BASE={parent_ref}"))
        .args([
            "--label",
            &format!("ordeal.recipe={}", recipe.name),
            "-t",
            reference,
        ])
        .arg(context.path());
    run_logged(cmd, None, log, step, "docker build").await
}

/// Runs `cmd`, appending its output to `log` and showing its last line as progress. A failure
/// becomes one line naming the step, the last output line and the log.
async fn run_logged(
    mut cmd: Command,
    stdin: Option<Vec<u8>>,
    log: &Path,
    step: &Step,
    what: &str,
) -> Result<()> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::infra(format!("cannot create `{}`: {e}", dir.display())))?;
    }
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .await
        .map_err(|e| Error::infra(format!("cannot open `{}`: {e}", log.display())))?;
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd.spawn().map_err(|e| {
        Error::infra(format!(
            "{what} failed to start: {e} (hint: run `ci/setup` to install it)"
        ))
    })?;
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(&data)
            .await
            .map_err(|e| Error::infra(format!("{what}: {e}")))?;
    }
    let mut out = BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut err = BufReader::new(child.stderr.take().expect("piped")).lines();
    let mut last = String::new();
    let (mut out_open, mut err_open) = (true, true);
    while out_open || err_open {
        let line = tokio::select! {
            l = out.next_line(), if out_open => l.ok().flatten().or_else(|| { out_open = false; None }),
            l = err.next_line(), if err_open => l.ok().flatten().or_else(|| { err_open = false; None }),
        };
        if let Some(line) = line {
            step.detail(&line);
            let _ = file.write_all(format!("{line}\n").as_bytes()).await;
            if !line.trim().is_empty() {
                last = line;
            }
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|e| Error::infra(format!("{what}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::infra(format!(
            "{what} failed ({status}): {} (full log: {})",
            crate::runtime::docker::one_line(&last),
            log.display()
        )))
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    let err =
        |p: &Path, e: std::io::Error| Error::infra(format!("cannot copy `{}`: {e}", p.display()));
    std::fs::create_dir_all(to).map_err(|e| err(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| err(from, e))?.flatten() {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| err(&src, e))?;
        }
    }
    Ok(())
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
