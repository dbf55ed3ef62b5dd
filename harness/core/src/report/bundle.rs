//! The evidence bundle: `reports/<run>.tar.gz` with the run's JUnit, `run.json`, HTML report and
//! logs, plus a `REPRODUCE.txt`, and never a credential: every text file is redacted on the way
//! in (private keys, kubeconfig key and token fields, bearer tokens, JWTs, passwords). The
//! certification bundle (`ordeal certify`) is the same archive with its own files and a
//! `MANIFEST.txt` of SHA-256 digests.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::LazyLock,
};

use regex::Regex;

use crate::{Error, Result};

static PEM_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?s)-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)",
    )
    .expect("valid regex")
});
static FIELD: LazyLock<Regex> = LazyLock::new(|| {
    // kubeconfig/YAML/JSON/flag forms: `client-key-data: X`, `"token": "X"`, `--token=X`,
    // `password=X`, `secret: X`.
    Regex::new(
        r#"(?i)(["']?(?:client-key-data|token|id-token|refresh-token|password|passwd|secret|api[-_]?key)["']?\s*[:=]\s*["']?)([^\s"',}]+)"#,
    )
    .expect("valid regex")
});
static BEARER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}").expect("valid regex"));
static JWT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
        .expect("valid regex")
});

/// `text` with every credential replaced by `[redacted]`, and how many were.
pub fn redact(text: &str) -> (String, usize) {
    let mut n = 0;
    let s = PEM_KEY.replace_all(text, |_: &regex::Captures<'_>| {
        n += 1;
        "[redacted private key]"
    });
    let s = JWT.replace_all(&s, |_: &regex::Captures<'_>| {
        n += 1;
        "[redacted token]"
    });
    let s = BEARER.replace_all(&s, |c: &regex::Captures<'_>| {
        n += 1;
        format!("{}[redacted]", &c[1])
    });
    let s = FIELD.replace_all(&s, |c: &regex::Captures<'_>| {
        if c[2].starts_with("[redacted") {
            return c[0].to_owned();
        }
        n += 1;
        format!("{}[redacted]", &c[1])
    });
    (s.into_owned(), n)
}

/// Writes `<run dir>.tar.gz` beside the run's folder (atomically) with everything in it under
/// `<run id>/`, text files redacted, binary files left out. Returns the path and the number of
/// values redacted.
pub fn write_bundle(run_dir: &Path, reproduce: &str) -> Result<(PathBuf, usize)> {
    let (path, redacted, _) = archive(run_dir, "", &[("REPRODUCE.txt", reproduce)], None)?;
    Ok((path, redacted))
}

/// A certification bundle as written: where, how many values were redacted, and the SHA-256 of
/// its `MANIFEST.txt`.
#[derive(Debug, Clone)]
pub struct Certification {
    /// `<run dir>-certification.tar.gz`.
    pub path: PathBuf,
    /// Credential values redacted.
    pub redacted: usize,
    /// SHA-256 (hex) of `MANIFEST.txt`, which lists the SHA-256 of every other file.
    pub manifest_sha256: String,
}

/// Writes `<run dir>-certification.tar.gz`: the run's folder and the `extra` files (name, text)
/// under `<run id>/`, redacted as [`write_bundle`] does, then `MANIFEST.txt`: `header` (who
/// signed off, when), and the SHA-256 of every file as it is in the archive.
pub fn write_certification_bundle(
    run_dir: &Path,
    extra: &[(&str, &str)],
    header: &str,
) -> Result<Certification> {
    let (path, redacted, manifest_sha256) =
        archive(run_dir, "-certification", extra, Some(header))?;
    Ok(Certification {
        path,
        redacted,
        manifest_sha256: manifest_sha256.unwrap_or_default(),
    })
}

/// The archive behind both bundles; with a manifest `header`, ends with `MANIFEST.txt` and
/// returns its digest.
fn archive(
    run_dir: &Path,
    suffix: &str,
    extra: &[(&str, &str)],
    header: Option<&str>,
) -> Result<(PathBuf, usize, Option<String>)> {
    use sha2::{Digest, Sha256};
    let name = run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::infra(format!("not a run folder: `{}`", run_dir.display())))?;
    let out = run_dir.with_file_name(format!("{name}{suffix}.tar.gz"));
    let err = |e: std::io::Error| Error::infra(format!("failed to write `{}`: {e}", out.display()));
    let mut files = Vec::new();
    collect(run_dir, &mut files).map_err(err)?;
    files.sort();
    let dir = out.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    let gz = flate2::write::GzEncoder::new(tmp, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut redacted = 0;
    let mut digests = Vec::new();
    let add = |tar: &mut tar::Builder<_>, path: String, data: &[u8]| -> std::io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        );
        h.set_cksum();
        tar.append_data(&mut h, path, data)
    };
    let texts = files.iter().filter_map(|f| {
        let rel = f.strip_prefix(run_dir).unwrap_or(f).display().to_string();
        // Only text goes in: a binary file cannot be checked for credentials.
        let text = String::from_utf8(std::fs::read(f).ok()?).ok()?;
        Some((rel, text))
    });
    let extra = extra
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()));
    for (rel, text) in texts.chain(extra) {
        let (clean, n) = redact(&text);
        redacted += n;
        let path = format!("{name}/{rel}");
        digests.push(format!("{}  {path}", hex::encode(Sha256::digest(&clean))));
        add(&mut tar, path, clean.as_bytes()).map_err(err)?;
    }
    let manifest = header.map(|h| {
        let mut text = h.trim_end().to_owned();
        text.push_str("\n\nSHA-256 of every other file of this bundle, as archived:\n");
        for d in &digests {
            text.push_str(d);
            text.push('\n');
        }
        text
    });
    let digest = match &manifest {
        Some(text) => {
            let (clean, n) = redact(text);
            redacted += n;
            add(&mut tar, format!("{name}/MANIFEST.txt"), clean.as_bytes()).map_err(err)?;
            Some(hex::encode(Sha256::digest(clean.as_bytes())))
        }
        None => None,
    };
    let gz = tar.into_inner().map_err(err)?;
    let mut tmp = gz.finish().map_err(err)?;
    tmp.flush().map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(&out).map_err(|e| err(e.error))?;
    Ok((out, redacted, digest))
}

/// Every file of a bundle (or any `.tar.gz`) at `path`, as (path inside it, text): to read a
/// bundle back, as its tests do.
pub fn bundle_texts(path: &Path) -> Result<Vec<(String, String)>> {
    let err = |e: std::io::Error| Error::infra(format!("failed to read `{}`: {e}", path.display()));
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(path).map_err(err)?);
    let mut files = Vec::new();
    for e in tar::Archive::new(gz).entries().map_err(err)? {
        let mut e = e.map_err(err)?;
        let name = e.path().map_err(err)?.display().to_string();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut e, &mut text).map_err(err)?;
        files.push((name, text));
    }
    Ok(files)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let ty = e.file_type()?;
        if ty.is_dir() {
            collect(&e.path(), out)?;
        } else if ty.is_file() {
            out.push(e.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIGx0\nAbCd\n-----END EC PRIVATE KEY-----";
    const JWT_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlLXZhbHVl";

    fn planted() -> String {
        format!(
            "cert ok: -----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n{KEY}\n\
             users: [{{name: u, user: {{client-key-data: TFMwdExTMUNSVWRKVGlCRlF5\n\
             token: abcdef0123456789, \"password\": \"hunter22\"}}}}]\n\
             Authorization: Bearer s3cr3t-t0ken-value\nflag --token=zzzzzzzzzz\njwt {JWT_TOKEN}\n\
             -----BEGIN RSA PRIVATE KEY-----\ncut off"
        )
    }

    fn leaks(s: &str) -> Vec<&'static str> {
        [
            "PRIVATE KEY-----\nM",
            "MHcCAQEEIGx0",
            "TFMwdExTMUNSVWRKVGlCRlF5",
            "abcdef0123456789",
            "hunter22",
            "s3cr3t-t0ken-value",
            "zzzzzzzzzz",
            "eyJhbGciOiJSUzI1NiJ9",
            "cut off",
        ]
        .into_iter()
        .filter(|needle| s.contains(needle))
        .collect()
    }

    /// Every file of the archive at `path`, as (name, text), each checked for leaks.
    fn entries(path: &Path) -> Vec<(String, String)> {
        let files = bundle_texts(path).unwrap();
        for (name, text) in &files {
            assert_eq!(leaks(text), Vec::<&str>::new(), "{name}: {text}");
        }
        files
    }

    #[test]
    fn every_planted_credential_is_redacted_and_public_text_kept() {
        let (clean, n) = redact(&planted());
        assert_eq!(leaks(&clean), Vec::<&str>::new(), "{clean}");
        assert!(n >= 8, "{n}: {clean}");
        assert!(
            clean.contains("BEGIN CERTIFICATE"),
            "certificates are public"
        );
        assert!(
            clean.contains("users: [{name: u"),
            "structure kept: {clean}"
        );
        let (again, m) = redact(&clean);
        assert_eq!((again.as_str(), m), (clean.as_str(), 0), "idempotent");
    }

    #[test]
    fn the_bundle_holds_the_run_folder_and_no_credential() {
        let root = tempfile::tempdir().unwrap();
        let run = root.path().join("20261129-000000-abcd");
        std::fs::create_dir_all(run.join("logs/case")).unwrap();
        std::fs::write(run.join("junit.xml"), "<testsuites/>").unwrap();
        std::fs::write(run.join("run.json"), "{\"seed\": 1}").unwrap();
        std::fs::write(run.join("logs/case/apiserver.log"), planted()).unwrap();
        std::fs::write(run.join("logs/case/core"), [0xff_u8, 0xfe, 0, 1]).unwrap();
        let (path, n) = write_bundle(&run, "ordeal replay run.json\n").unwrap();
        assert_eq!(path, root.path().join("20261129-000000-abcd.tar.gz"));
        assert!(n >= 8);
        let mut names: Vec<String> = entries(&path).into_iter().map(|(n, _)| n).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "20261129-000000-abcd/REPRODUCE.txt",
                "20261129-000000-abcd/junit.xml",
                "20261129-000000-abcd/logs/case/apiserver.log",
                "20261129-000000-abcd/run.json",
            ]
        );
    }

    #[test]
    fn the_certification_bundle_ends_with_a_manifest_of_every_file() {
        use sha2::{Digest, Sha256};
        let root = tempfile::tempdir().unwrap();
        let run = root.path().join("20261129-000000-abcd");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("junit.xml"), "<testsuites/>").unwrap();
        let product = format!("[product]\nname = \"x\"\n{}", planted());
        let cert = write_certification_bundle(
            &run,
            &[("PRODUCT.toml", &product)],
            "signed-off-by: tester",
        )
        .unwrap();
        assert_eq!(
            cert.path,
            root.path()
                .join("20261129-000000-abcd-certification.tar.gz")
        );
        assert!(cert.redacted >= 8);
        let mut files = entries(&cert.path);
        let (last, manifest) = files.pop().unwrap();
        assert_eq!(last, "20261129-000000-abcd/MANIFEST.txt");
        assert!(
            manifest.starts_with("signed-off-by: tester\n"),
            "{manifest}"
        );
        assert_eq!(cert.manifest_sha256, hex::encode(Sha256::digest(&manifest)));
        for (name, text) in &files {
            let line = format!("{}  {name}", hex::encode(Sha256::digest(text)));
            assert!(manifest.contains(&line), "{line} in {manifest}");
        }
        assert_eq!(files.len(), 2, "{files:?}");
    }
}
