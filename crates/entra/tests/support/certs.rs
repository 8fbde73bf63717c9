use rcgen::{CertificateParams, KeyPair, PKCS_RSA_SHA256, RsaKeySize};
use tenantlink_entra::SigningCertificate;
use time::{Duration, OffsetDateTime};

/// A self-signed RSA test certificate made at test time.
pub struct TestCert {
    pub der: Vec<u8>,
    pub pkcs8: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl TestCert {
    pub fn generate(name: &str, not_before: OffsetDateTime, validity: Duration) -> Self {
        Self::generate_sized(name, not_before, validity, RsaKeySize::_2048)
    }

    pub fn generate_sized(
        name: &str,
        not_before: OffsetDateTime,
        validity: Duration,
        size: RsaKeySize,
    ) -> Self {
        let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, size).expect("rsa keygen");
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("params");
        params.not_before = not_before;
        params.not_after = not_before + validity;
        let cert = params.self_signed(&key).expect("self-signed");
        Self {
            der: cert.der().to_vec(),
            pkcs8: key.serialize_der(),
            not_before,
            not_after: not_before + validity,
        }
    }

    pub fn signer(&self) -> SigningCertificate {
        SigningCertificate::from_parts(
            self.der.clone(),
            vec![],
            &self.pkcs8,
            self.not_before,
            self.not_after,
        )
        .expect("signer")
    }

    pub fn pem(&self) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }
}

/// The PKCS#1 RSA public key inside a DER certificate.
pub fn rsa_public_key(der: &[u8]) -> Vec<u8> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("x509");
    cert.public_key().subject_public_key.data.to_vec()
}
