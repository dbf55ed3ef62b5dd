//! Reports: `junit.xml`, `run.json`, `index.html` and `reports/latest`, written atomically.

mod bundle;
mod html;
mod junit;

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use serde::Serialize;

pub use bundle::{Certification, bundle_texts, redact, write_bundle, write_certification_bundle};
pub use html::html;
pub use junit::{junit_xml, sanitize};

use crate::{Error, Result, run::CaseRecord, timeline::Stamped};

/// Everything about a run that is not a case.
#[derive(Debug, Clone, Serialize)]
pub struct RunMeta {
    /// Run id.
    pub run_id: String,
    /// Seed.
    pub seed: u64,
    /// Profile.
    pub profile: String,
    /// Whether the negative controls ran.
    pub negative_controls: bool,
    /// ordeal's version.
    pub ordeal_version: String,
    /// Docker engine version.
    pub docker_version: String,
    /// Docker API version.
    pub docker_api_version: String,
    /// Image references used, by recipe name.
    pub images: Vec<(String, String)>,
    /// Timings and settings in force.
    pub properties: Vec<(String, String)>,
    /// RFC 3339 start.
    pub started: String,
    /// RFC 3339 end.
    pub finished: String,
    /// Wall time in seconds.
    pub duration_s: f64,
    /// The exit code the run ends with.
    pub exit_code: u8,
}

#[derive(Serialize)]
struct RunJson<'a> {
    #[serde(flatten)]
    meta: &'a RunMeta,
    cases: &'a [CaseRecord],
    timeline: &'a [Stamped],
}

/// Writes `junit.xml`, `run.json` and `index.html` into `dir`, then points `<root>/latest` at it.
pub fn write_all(
    root: &Path,
    dir: &Path,
    meta: &RunMeta,
    cases: &[CaseRecord],
    timeline: &[Stamped],
) -> Result<()> {
    let xml = junit_xml(meta, cases, timeline)?;
    write_atomic(&dir.join("junit.xml"), &xml)?;
    let json = serde_json::to_vec_pretty(&RunJson {
        meta,
        cases,
        timeline,
    })
    .map_err(|e| Error::infra(format!("failed to encode run.json: {e}")))?;
    write_atomic(&dir.join("run.json"), &json)?;
    write_atomic(
        &dir.join("index.html"),
        html(meta, cases, timeline).as_bytes(),
    )?;
    point_latest(root, dir)
}

/// Writes `data` to `path` through a temporary file in the same folder and a rename, so a
/// reader never sees half a report.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let err =
        |e: std::io::Error| Error::infra(format!("failed to write `{}`: {e}", path.display()));
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    tmp.write_all(data).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Atomically repoints the `latest` symlink in `root` at `dir` (relative, so the folder can move).
fn point_latest(root: &Path, dir: &Path) -> Result<()> {
    let target: PathBuf = dir
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.to_path_buf());
    let tmp = root.join(format!(".latest-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&target, &tmp)
        .and_then(|()| std::fs::rename(&tmp, root.join("latest")))
        .map_err(|e| Error::infra(format!("failed to update `{}/latest`: {e}", root.display())))
}
