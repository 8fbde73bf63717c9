//! HTTPS for the portal: a PEM certificate chain and private key, loaded once at start with
//! errors that name the file at fault. The crypto provider is aws-lc-rs, like everything else.

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The portal's certificate chain and its private key, both PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    pub fn server_config(&self) -> anyhow::Result<Arc<ServerConfig>> {
        let chain = certificates(&self.cert)?;
        let key = private_key(&self.key)?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| anyhow::anyhow!("TLS set-up failed: {e}"))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| {
                anyhow::anyhow!(
                    "the TLS private key {} does not fit the certificate {}: {e}; give the key that belongs to the first certificate in the file",
                    self.key.display(),
                    self.cert.display()
                )
            })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let pem = read(path, "certificate")?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            anyhow::anyhow!(
                "the TLS certificate file {} is not valid PEM: {e}",
                path.display()
            )
        })?;
    if chain.is_empty() {
        anyhow::bail!(
            "the TLS certificate file {} holds no certificate (expected -----BEGIN CERTIFICATE-----)",
            path.display()
        );
    }
    Ok(chain)
}

fn private_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    super::config::layers::refuse_shared_key_file(path, "the TLS private key file")?;
    let pem = zeroize::Zeroizing::new(read(path, "private key")?);
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        anyhow::anyhow!(
            "the TLS private key file {} holds no usable private key ({e}); expected an unencrypted PEM key (-----BEGIN PRIVATE KEY-----, RSA or EC)",
            path.display()
        )
    })
}

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("cannot read the TLS {what} file {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;
    use std::process::Command;

    /// A self-signed certificate and its key made by the `openssl` CLI, plus a second key.
    fn pem_files(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        let other_key = dir.join("other.pem");
        let openssl = |args: &[&str]| {
            let status = Command::new("openssl")
                .args(args)
                .status()
                .expect("openssl");
            assert!(status.success(), "openssl {args:?}");
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ]);
        openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            other_key.to_str().unwrap(),
        ]);
        (cert, key, other_key)
    }

    fn error(files: &TlsFiles) -> String {
        files.server_config().unwrap_err().to_string()
    }

    #[test]
    fn a_matching_pem_pair_loads_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key, other_key) = pem_files(dir.path());
        let good = TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        };
        assert!(good.server_config().is_ok());

        let missing = dir.path().join("missing.pem");
        let e = error(&TlsFiles {
            cert: missing.clone(),
            key: key.clone(),
        });
        assert!(
            e.starts_with(&format!(
                "cannot read the TLS certificate file {}",
                missing.display()
            )),
            "{e}"
        );

        // The key given as the certificate: no certificate in it.
        let e = error(&TlsFiles {
            cert: key.clone(),
            key: key.clone(),
        });
        assert!(
            e.contains(&format!(
                "certificate file {} holds no certificate",
                key.display()
            )),
            "{e}"
        );

        // The certificate given as the key (private to the owner, so its content is judged).
        let cert_as_key = dir.path().join("cert-as-key.pem");
        std::fs::copy(&cert, &cert_as_key).unwrap();
        std::fs::set_permissions(&cert_as_key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = error(&TlsFiles {
            cert: cert.clone(),
            key: cert_as_key.clone(),
        });
        assert!(
            e.contains(&format!(
                "private key file {} holds no usable private key",
                cert_as_key.display()
            )),
            "{e}"
        );

        // A key of another certificate.
        let e = error(&TlsFiles {
            cert: cert.clone(),
            key: other_key.clone(),
        });
        assert!(
            e.contains(&format!(
                "private key {} does not fit the certificate",
                other_key.display()
            )),
            "{e}"
        );
    }

    #[test]
    fn a_private_key_readable_by_group_or_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key, _) = pem_files(dir.path());
        let files = TlsFiles {
            cert,
            key: key.clone(),
        };
        for mode in [0o640, 0o604, 0o620] {
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = error(&files);
            assert_eq!(
                e,
                format!(
                    "the TLS private key file {path} is readable or writable by group or others (mode {mode:o}); run `chmod 600 {path}`",
                    path = key.display()
                )
            );
        }
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(files.server_config().is_ok());
    }
}
