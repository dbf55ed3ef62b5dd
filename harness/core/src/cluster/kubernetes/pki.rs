//! Per-run PKI: one CA, the apiserver's serving certificate, client certificates for every
//! component (identity = CN user + O group), the service-account key pair, and kubeconfigs.
//! ECDSA P-256 everywhere (Go accepts it; service-account tokens sign with ES256).

use std::net::IpAddr;

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

use crate::{Error, Result};

/// A certificate and its private key, PEM.
#[derive(Clone)]
pub struct Pair {
    /// Certificate, PEM.
    pub cert: String,
    /// Private key, PEM (never written to reports).
    pub key: String,
}

impl std::fmt::Debug for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pair")
            .field("cert", &"<pem>")
            .field("key", &"<redacted>")
            .finish()
    }
}

/// The cluster's certificate authority.
pub struct Ca {
    /// The CA certificate and key.
    pub pair: Pair,
    key: KeyPair,
    params: CertificateParams,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

fn err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::infra(format!("failed to generate {what}: {e}"))
}

fn dn(cn: &str, org: Option<&str>) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::CommonName, cn);
    if let Some(o) = org {
        d.push(DnType::OrganizationName, o);
    }
    d
}

impl Ca {
    /// A fresh CA named `name`.
    pub fn generate(name: &str) -> Result<Self> {
        let key = KeyPair::generate().map_err(|e| err("the CA key", e))?;
        let mut params =
            CertificateParams::new(Vec::<String>::new()).map_err(|e| err("the CA", e))?;
        params.distinguished_name = dn(name, None);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).map_err(|e| err("the CA", e))?;
        Ok(Self {
            pair: Pair {
                cert: cert.pem(),
                key: key.serialize_pem(),
            },
            key,
            params,
        })
    }

    fn sign(&self, what: &str, params: CertificateParams) -> Result<Pair> {
        let key = KeyPair::generate().map_err(|e| err(what, e))?;
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).map_err(|e| err(what, e))?;
        Ok(Pair {
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }

    /// A serving certificate for `cn` valid for `dns` names and `ips`.
    pub fn server(&self, cn: &str, dns: &[&str], ips: &[IpAddr]) -> Result<Pair> {
        let sans: Vec<String> = dns
            .iter()
            .map(|s| (*s).to_owned())
            .chain(ips.iter().map(ToString::to_string))
            .collect();
        let mut params = CertificateParams::new(sans).map_err(|e| err(cn, e))?;
        params.distinguished_name = dn(cn, None);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(cn, params)
    }

    /// A client certificate: Kubernetes reads the user from CN and the group from O.
    pub fn client(&self, user: &str, group: Option<&str>) -> Result<Pair> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| err(user, e))?;
        params.distinguished_name = dn(user, group);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(user, params)
    }
}

/// The service-account signing key pair (PEM private key, PEM public key).
pub fn service_account_keys() -> Result<(String, String)> {
    let key = KeyPair::generate().map_err(|e| err("the service-account key", e))?;
    Ok((key.serialize_pem(), key.public_key_pem()))
}

/// The apiserver serving certificate's DNS names: the in-cluster names plus `extra`.
pub fn apiserver_dns_names<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut names = vec![
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "localhost",
    ];
    names.extend_from_slice(extra);
    names
}

/// A kubeconfig with one cluster, one user and one context, credentials embedded.
pub fn kubeconfig(server: &str, ca: &Pair, client: &Pair, user: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: ordeal\n  cluster:\n    server: {server}\n    certificate-authority-data: {}\nusers:\n- name: {user}\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\ncontexts:\n- name: ordeal\n  context:\n    cluster: ordeal\n    user: {user}\ncurrent-context: ordeal\n",
        b64(&ca.cert),
        b64(&client.cert),
        b64(&client.key)
    )
}

#[cfg(test)]
mod tests {
    use std::{net::Ipv4Addr, process::Command};

    use super::*;

    fn openssl(args: &[&str], dir: &std::path::Path) -> String {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn certificates_chain_to_the_ca_with_the_names_and_identities_kubernetes_reads() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::generate("ordeal-test-ca").unwrap();
        let ips = [
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(10, 96, 0, 1)),
        ];
        let api = ca
            .server(
                "kube-apiserver",
                &apiserver_dns_names(&["control-plane"]),
                &ips,
            )
            .unwrap();
        let kubelet = ca
            .client("system:node:node-1", Some("system:nodes"))
            .unwrap();
        let w = |name: &str, pem: &str| std::fs::write(dir.path().join(name), pem).unwrap();
        w("ca.crt", &ca.pair.cert);
        w("api.crt", &api.cert);
        w("kubelet.crt", &kubelet.cert);

        assert!(
            openssl(
                &["verify", "-CAfile", "ca.crt", "api.crt", "kubelet.crt"],
                dir.path()
            )
            .contains("api.crt: OK")
        );
        let text = openssl(&["x509", "-in", "api.crt", "-noout", "-text"], dir.path());
        for san in [
            "DNS:kubernetes.default.svc.cluster.local",
            "DNS:control-plane",
            "IP Address:10.96.0.1",
            "IP Address:127.0.0.1",
        ] {
            assert!(text.contains(san), "apiserver SAN {san}");
        }
        assert!(text.contains("TLS Web Server Authentication"));
        let subject = openssl(
            &[
                "x509",
                "-in",
                "kubelet.crt",
                "-noout",
                "-subject",
                "-nameopt",
                "RFC2253",
            ],
            dir.path(),
        );
        assert!(
            subject.contains("CN=system:node:node-1") && subject.contains("O=system:nodes"),
            "{subject}"
        );
        let text = openssl(
            &["x509", "-in", "kubelet.crt", "-noout", "-text"],
            dir.path(),
        );
        assert!(
            text.contains("TLS Web Client Authentication") && text.contains("ecdsa-with-SHA256")
        );
    }

    #[test]
    fn kubeconfigs_embed_credentials_and_debug_output_never_shows_keys() {
        let ca = Ca::generate("ca").unwrap();
        let admin = ca
            .client("kubernetes-admin", Some("system:masters"))
            .unwrap();
        let cfg = kubeconfig("https://127.0.0.1:16443", &ca.pair, &admin, "admin");
        assert!(cfg.contains("server: https://127.0.0.1:16443"));
        assert!(cfg.contains("client-key-data: "));
        assert!(!format!("{admin:?} {ca:?}").contains("PRIVATE KEY"));
        let (private, public) = service_account_keys().unwrap();
        assert!(private.contains("PRIVATE KEY") && public.contains("PUBLIC KEY"));
    }
}
