//! HTTPS for the sandbox: a local CA kept in the state directory (`ca.pem`, key in `ca-key.pem`
//! with mode 0600) and a fresh server certificate per start for the listening host names.
//! MSAL and azure-identity refuse plain-http authorities, so clients trust `ca.pem` instead.

use crate::SandboxError;
use crate::secrets::write_private_file;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tenantlink_clock::{Clock, SystemClock};
use time::Duration;

pub(crate) struct LocalCa {
    pub cert_path: PathBuf,
    key: KeyPair,
}

impl std::fmt::Debug for LocalCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCa")
            .field("cert_path", &self.cert_path)
            .finish_non_exhaustive()
    }
}

impl LocalCa {
    pub(crate) fn load_or_create(state_dir: &Path) -> Result<Self, SandboxError> {
        let cert_path = state_dir.join("ca.pem");
        let key_path = state_dir.join("ca-key.pem");
        if cert_path.exists() && key_path.exists() {
            let broken = |reason: String| SandboxError::BrokenCa {
                path: cert_path.clone(),
                reason,
            };
            let cert_pem = std::fs::read_to_string(&cert_path)
                .map_err(SandboxError::io("read", &cert_path))?;
            let key_pem =
                std::fs::read_to_string(&key_path).map_err(SandboxError::io("read", &key_path))?;
            let key = KeyPair::from_pem(&key_pem).map_err(|e| broken(e.to_string()))?;
            if !cert_pem.contains("-----BEGIN CERTIFICATE-----") {
                return Err(broken("ca.pem holds no certificate".to_owned()));
            }
            return Ok(Self { cert_path, key });
        }
        let key = KeyPair::generate().map_err(|e| SandboxError::Tls(e.to_string()))?;
        let mut params = ca_params();
        let now = SystemClock.now();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(3650);
        let cert = params
            .self_signed(&key)
            .map_err(|e| SandboxError::Tls(e.to_string()))?;
        write_private_file(&key_path, key.serialize_pem().as_bytes())
            .map_err(SandboxError::io("write", &key_path))?;
        std::fs::write(&cert_path, cert.pem()).map_err(SandboxError::io("write", &cert_path))?;
        Ok(Self { cert_path, key })
    }

    /// A rustls server configuration with a new leaf certificate for `hosts` (names or IPs).
    pub(crate) fn server_config(
        &self,
        hosts: &[String],
    ) -> Result<Arc<rustls::ServerConfig>, SandboxError> {
        let tls = |e: &dyn std::fmt::Display| SandboxError::Tls(e.to_string());
        // The issuer name and key identifier follow from the CA's fixed parameters and its key,
        // so rebuilding them matches the stored ca.pem without parsing it.
        let issuer = Issuer::new(ca_params(), &self.key);
        let leaf_key = KeyPair::generate().map_err(|e| tls(&e))?;
        let mut params = CertificateParams::new(hosts.to_vec()).map_err(|e| tls(&e))?;
        params.distinguished_name = name("tenantlink sandbox");
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let now = SystemClock.now();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(365);
        let leaf = params.signed_by(&leaf_key, &issuer).map_err(|e| tls(&e))?;
        let chain = vec![leaf.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls(&e))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| tls(&e))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name("tenantlink sandbox local CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}
