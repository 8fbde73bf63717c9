//! `entra token --cert-pem … --key-pem …`: a certificate and its private key as PEM files, as
//! other tools export them (OpenSSL, Key Vault, certbot), so an operator can check such a key
//! against Entra without first packing it into a PFX. Same checks as a PFX import: the key must
//! belong to a certificate in the file and the certificate must be acceptable to Entra now.

use std::path::Path;

use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use tenantlink_certificate::{Certificate, Credential, PrivateKey, certificate_problems};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::common::usage;
use crate::cli::KindedError;

fn kinded(kind: &'static str, message: String) -> anyhow::Error {
    anyhow::Error::new(KindedError { kind, message })
}

/// Reads the certificate (plus any chain) from `cert_path` and the unencrypted private key
/// (PKCS#8 or PKCS#1 RSA) from `key_path`; the two may be the same file.
pub fn load(cert_path: &Path, key_path: &Path, now: OffsetDateTime) -> anyhow::Result<Credential> {
    let cert_text = std::fs::read_to_string(cert_path)
        .map_err(|e| usage(format!("cannot read {}: {e}", cert_path.display())))?;
    let mut certificates = Certificate::from_pem_bundle(&cert_text)
        .map_err(|e| kinded(e.kind(), format!("{}: {e}", cert_path.display())))?;
    let key_text = Zeroizing::new(
        std::fs::read(key_path)
            .map_err(|e| usage(format!("cannot read {}: {e}", key_path.display())))?,
    );
    let key = private_key(&key_text)
        .map_err(|(kind, message)| kinded(kind, format!("{}: {message}", key_path.display())))?;
    let leaf = certificates
        .iter()
        .position(|c| key.matches(c))
        .ok_or_else(|| {
            kinded(
                "key_mismatch",
                format!(
                    "the private key in {} belongs to no certificate in {}; give the certificate that was issued for this key",
                    key_path.display(),
                    cert_path.display()
                ),
            )
        })?;
    let certificate = certificates.remove(leaf);
    if let Some(problem) = certificate_problems(&certificate, now).into_iter().next() {
        return Err(kinded(
            problem.kind(),
            format!("{}: {problem}", cert_path.display()),
        ));
    }
    Credential::new(certificate, key, certificates).map_err(|e| kinded(e.kind(), e.to_string()))
}

type KeyError = (&'static str, String);

fn private_key(pem: &[u8]) -> Result<PrivateKey, KeyError> {
    // rustls skips encrypted keys silently; say what to do instead of "no key found".
    if contains(pem, b"-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err((
            "encrypted_key",
            "the private key is encrypted; PEM keys are read only unencrypted, so pack the certificate and key into a PFX (`openssl pkcs12 -export -in CERT.pem -inkey KEY.pem -out app.pfx`) and use --cert with --password-file".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
        (
            "no_private_key",
            format!(
                "no PEM private key found ({e}); give a file with a -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY----- block"
            ),
        )
    })?;
    let pkcs8 = match &key {
        PrivateKeyDer::Pkcs8(der) => Zeroizing::new(der.secret_pkcs8_der().to_vec()),
        PrivateKeyDer::Pkcs1(der) => pkcs1_rsa_to_pkcs8(der.secret_pkcs1_der()),
        _ => {
            return Err((
                "not_rsa",
                "the private key is not RSA; Entra ID accepts only RSA keys for application certificates, so use an RSA certificate (2048 bits or more)".into(),
            ));
        }
    };
    PrivateKey::from_pkcs8_der(&pkcs8).map_err(|e| (e.kind(), e.to_string()))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Wraps a PKCS#1 `RSAPrivateKey` in a PKCS#8 `PrivateKeyInfo` (version 0, rsaEncryption with
/// NULL parameters), the form the certificate library takes: the key bytes are unchanged.
fn pkcs1_rsa_to_pkcs8(pkcs1: &[u8]) -> Zeroizing<Vec<u8>> {
    // SEQUENCE { INTEGER 0, SEQUENCE { OID 1.2.840.113549.1.1.1, NULL } }, without the outer tag.
    const VERSION_AND_ALGORITHM: [u8; 18] = [
        0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
        0x01, 0x05, 0x00,
    ];
    let mut octets = Zeroizing::new(vec![0x04]);
    push_length(&mut octets, pkcs1.len());
    octets.extend_from_slice(pkcs1);
    let mut out = Zeroizing::new(vec![0x30]);
    push_length(&mut out, VERSION_AND_ALGORITHM.len() + octets.len());
    out.extend_from_slice(&VERSION_AND_ALGORITHM);
    out.extend_from_slice(&octets);
    out
}

/// DER definite length.
fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    out.push(0x80 | (bytes.len() - first) as u8);
    out.extend_from_slice(&bytes[first..]);
}

#[cfg(test)]
mod tests {
    use super::push_length;

    #[test]
    fn der_lengths() {
        let encode = |n| {
            let mut v = Vec::new();
            push_length(&mut v, n);
            v
        };
        assert_eq!(encode(5), [5]);
        assert_eq!(encode(0x7f), [0x7f]);
        assert_eq!(encode(0x80), [0x81, 0x80]);
        assert_eq!(encode(1190), [0x82, 0x04, 0xa6]);
    }
}
