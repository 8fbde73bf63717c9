//! Generated credentials have the profile Entra ID needs, and exported PFX files are read back by
//! tenantlink, the OpenSSL 3 CLI (without -legacy) and python `cryptography`.

mod common;

use std::process::Command;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use tenantlink_certificate::{GenerateOptions, RsaKeySize, export_pkcs12, generate, import_pkcs12};
use tenantlink_secret::SecretString;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

const NOW: OffsetDateTime = datetime!(2026-03-01 12:00:00.25 UTC);

#[test]
fn generated_certificate_has_the_profile_entra_accepts() {
    let options = GenerateOptions {
        subject_cn: "tenantlink backup contoso".into(),
        ..GenerateOptions::default()
    };
    let credential = generate(&options, NOW).expect("generation succeeds");
    let certificate = credential.certificate();
    let (_, parsed) = X509Certificate::from_der(certificate.der()).expect("valid DER");

    assert_eq!(parsed.version().0, 2, "X.509 v3");
    assert_eq!(
        parsed.signature_algorithm.algorithm.to_id_string(),
        "1.2.840.113549.1.1.11",
        "sha256WithRSAEncryption"
    );
    assert_eq!(certificate.subject(), "CN=tenantlink backup contoso");
    assert_eq!(certificate.issuer(), certificate.subject(), "self-signed");
    assert_eq!(certificate.key_bits(), Some(2048));

    let serial = parsed.raw_serial();
    assert_eq!(serial.len(), 16, "16-byte serial");
    assert_eq!(serial[0] & 0x80, 0, "positive serial");

    assert_eq!(certificate.not_before(), datetime!(2026-03-01 11:55:00 UTC));
    assert_eq!(
        certificate.not_after() - certificate.not_before(),
        Duration::days(365)
    );

    let mut saw = (false, false, false);
    for extension in parsed.extensions() {
        match extension.parsed_extension() {
            ParsedExtension::KeyUsage(usage) => {
                assert!(extension.critical, "keyUsage is critical");
                assert!(usage.digital_signature());
                assert_eq!(usage.flags, 1, "digitalSignature only");
                saw.0 = true;
            }
            ParsedExtension::ExtendedKeyUsage(usage) => {
                assert!(usage.client_auth);
                saw.1 = true;
            }
            ParsedExtension::SubjectKeyIdentifier(id) => {
                assert!(!id.0.is_empty());
                saw.2 = true;
            }
            _ => {}
        }
    }
    assert_eq!(
        saw,
        (true, true, true),
        "keyUsage, extendedKeyUsage, SKI present"
    );

    // The self-signature verifies with the certificate's own key.
    let public_key = certificate.rsa_public_key_pkcs1_der().expect("RSA key");
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key)
        .verify(
            parsed.tbs_certificate.as_ref(),
            parsed.signature_value.as_ref(),
        )
        .expect("self-signature verifies");
}

#[test]
fn larger_key_sizes_and_validity_are_honoured() {
    for (size, bits) in [(RsaKeySize::Rsa3072, 3072), (RsaKeySize::Rsa4096, 4096)] {
        let options = GenerateOptions {
            key_size: size,
            validity_days: 30,
            ..GenerateOptions::default()
        };
        let credential = generate(&options, NOW).expect("generation succeeds");
        assert_eq!(credential.certificate().key_bits(), Some(bits));
        assert_eq!(credential.private_key().key_bits(), Some(bits));
        assert_eq!(
            credential.certificate().not_after() - credential.certificate().not_before(),
            Duration::days(30)
        );
    }
}

#[test]
fn two_generated_certificates_have_different_serials_and_keys() {
    let a = generate(&GenerateOptions::default(), NOW).expect("generation succeeds");
    let b = generate(&GenerateOptions::default(), NOW).expect("generation succeeds");
    assert_ne!(a.certificate().serial_hex(), b.certificate().serial_hex());
    assert_ne!(a.private_key().pkcs8_der(), b.private_key().pkcs8_der());
}

#[test]
fn invalid_generation_options_are_refused_with_specific_kinds() {
    let refuse = |options: GenerateOptions| {
        generate(&options, NOW)
            .expect_err("refused")
            .kind()
            .to_owned()
    };
    let defaults = GenerateOptions::default;
    assert_eq!(
        refuse(GenerateOptions {
            subject_cn: " CN= ".into(),
            ..defaults()
        }),
        "empty_subject"
    );
    assert_eq!(
        refuse(GenerateOptions {
            subject_cn: "x".repeat(65),
            ..defaults()
        }),
        "subject_too_long"
    );
    assert_eq!(
        refuse(GenerateOptions {
            validity_days: 0,
            ..defaults()
        }),
        "invalid_validity"
    );
}

#[test]
fn exported_pfx_round_trips_through_tenantlink() {
    let credential = generate(&GenerateOptions::default(), NOW).expect("generation succeeds");
    let password = SecretString::from("éxport pässword");
    let pfx = export_pkcs12(&credential, &password).expect("export succeeds");
    let imported = import_pkcs12(&pfx, Some(&password), NOW).expect("re-import succeeds");
    assert_eq!(imported.certificate().der(), credential.certificate().der());
    assert_eq!(
        imported.private_key().pkcs8_der(),
        credential.private_key().pkcs8_der()
    );
    let wrong = import_pkcs12(&pfx, Some(&SecretString::from("other")), NOW).expect_err("refused");
    assert_eq!(wrong.kind(), "wrong_password");
}

#[test]
fn exported_pfx_is_read_by_openssl_3_without_legacy_and_by_python_cryptography() {
    let credential = generate(&GenerateOptions::default(), OffsetDateTime::now_utc())
        .expect("generation succeeds");
    let password = "interop pässword";
    let pfx = export_pkcs12(&credential, &SecretString::from(password)).expect("export succeeds");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("exported.pfx");
    std::fs::write(&path, &pfx).expect("write");

    let info = Command::new("openssl")
        .args(["pkcs12", "-info", "-noout", "-in"])
        .arg(&path)
        .arg("-passin")
        .arg(format!("pass:{password}"))
        .output()
        .expect("openssl runs");
    let info_text = String::from_utf8_lossy(&info.stderr);
    assert!(info.status.success(), "openssl pkcs12 -info: {info_text}");
    assert!(info_text.contains("MAC: sha256"), "{info_text}");
    assert!(
        info_text.contains("PBES2, PBKDF2, AES-256-CBC"),
        "{info_text}"
    );
    assert!(info_text.contains("PRF hmacWithSHA256"), "{info_text}");

    let certs = Command::new("openssl")
        .args(["pkcs12", "-nokeys", "-clcerts", "-in"])
        .arg(&path)
        .arg("-passin")
        .arg(format!("pass:{password}"))
        .output()
        .expect("openssl runs");
    assert!(certs.status.success());
    let pem_path = dir.path().join("leaf.pem");
    std::fs::write(&pem_path, &certs.stdout).expect("write");
    let fingerprint = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(&pem_path)
        .output()
        .expect("openssl runs");
    let fingerprint = String::from_utf8_lossy(&fingerprint.stdout).replace(':', "");
    assert!(
        fingerprint
            .trim()
            .ends_with(&credential.certificate().thumbprints().sha256_hex()),
        "{fingerprint}"
    );

    let script = "import sys\n\
        from cryptography.hazmat.primitives.serialization import pkcs12\n\
        key, cert, extra = pkcs12.load_key_and_certificates(open(sys.argv[1], 'rb').read(), sys.argv[2].encode())\n\
        from cryptography.hazmat.primitives import hashes\n\
        print(key.key_size, cert.fingerprint(hashes.SHA1()).hex().upper())\n";
    let python = Command::new(common::python())
        .args(["-c", script])
        .arg(&path)
        .arg(password)
        .output()
        .expect("python runs");
    assert!(
        python.status.success(),
        "{}",
        String::from_utf8_lossy(&python.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&python.stdout).trim(),
        format!("2048 {}", credential.certificate().thumbprints().sha1_hex())
    );
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let credential = generate(&GenerateOptions::default(), NOW).expect("generation succeeds");
    let password = SecretString::from("hunter2-secret");
    let debug = format!("{password:?} {password} {credential:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    let key = credential.private_key().pkcs8_der();
    // No 8-byte window of the key, in lower- or upper-case hex, appears in the output.
    for window in key.windows(8).step_by(97) {
        let lower: String = window.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!debug.to_lowercase().contains(&lower), "{debug}");
    }
    assert!(debug.contains("redacted"));
}

#[test]
fn public_certificate_exports_match_openssl_and_parse_back() {
    let credential = generate(&GenerateOptions::default(), NOW).expect("generation succeeds");
    let certificate = credential.certificate();
    let dir = tempfile::tempdir().expect("temp dir");
    let der_path = dir.path().join("cert.cer");
    std::fs::write(&der_path, certificate.der()).expect("write");
    let openssl_pem = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-outform", "PEM", "-in"])
        .arg(&der_path)
        .output()
        .expect("openssl runs");
    assert!(openssl_pem.status.success());
    assert_eq!(
        certificate.to_pem(),
        String::from_utf8_lossy(&openssl_pem.stdout)
    );

    let bundle = format!("{}{}", certificate.to_pem(), certificate.to_pem());
    let parsed = tenantlink_certificate::Certificate::from_pem_bundle(&bundle).expect("parses");
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[0], *certificate);

    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(certificate.graph_key())
        .expect("standard base64");
    assert_eq!(decoded, certificate.der());

    let thumbprints = certificate.thumbprints();
    assert_eq!(thumbprints.sha1_hex().len(), 40);
    assert_eq!(thumbprints.sha256_hex().len(), 64);
    assert!(!thumbprints.x5t().contains('=') && !thumbprints.x5t_s256().contains('='));
}
