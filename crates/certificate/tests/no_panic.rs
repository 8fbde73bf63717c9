//! Damaged input never panics: every single-byte corruption and every truncation of real PFX
//! files ends in a result (usually a specific error), for import and inspect alike.

mod common;

use tenantlink_certificate::{import_pkcs12, inspect};
use tenantlink_secret::SecretString;
use time::OffsetDateTime;

fn exercise(file: &str, stride: usize) -> usize {
    let fixtures = common::fixtures();
    let entry = fixtures.entry(file);
    let original = fixtures.bytes(entry);
    let password = entry["password"].as_str().map(SecretString::from);
    let now = OffsetDateTime::now_utc();
    let mut refused = 0;
    for position in (0..original.len()).step_by(stride) {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut damaged = original.clone();
            damaged[position] ^= mask;
            if import_pkcs12(&damaged, password.as_ref(), now).is_err() {
                refused += 1;
            }
            let _ = inspect(&damaged, password.as_ref(), now);
        }
        let truncated = &original[..position];
        assert!(import_pkcs12(truncated, password.as_ref(), now).is_err());
        let _ = inspect(truncated, password.as_ref(), now);
    }
    refused
}

#[test]
fn corrupting_an_unprotected_pfx_never_panics() {
    // No MAC and no encryption: corruption reaches the certificate and key parsers directly.
    assert!(exercise("unencrypted_nomac.pfx", 1) > 0);
}

#[test]
fn corrupting_a_protected_pfx_never_panics() {
    assert!(exercise("openssl3_default.pfx", 37) > 0);
    assert!(exercise("openssl_legacy.pfx", 37) > 0);
}

#[test]
fn corrupting_a_hostile_pfx_never_panics_nor_makes_it_costly() {
    // Every flip of N, r or p leaves it not a power of two, negative or larger: still refused.
    // (Not `scrypt_many_parts.pfx`: a flip that hides one of its three parts leaves two at the
    // per-file limit, which is allowed and takes seconds by design.)
    for (file, stride) in [
        ("scrypt_memory.pfx", 7),
        ("scrypt_parallel.pfx", 7),
        ("too_many_parts.pfx", 211),
        ("scrypt_flood.pfx", 49_999),
    ] {
        assert!(exercise(file, stride) > 0, "{file}");
    }
}

#[test]
fn corrupting_pem_and_der_certificates_never_panics() {
    // These are never PKCS#12, so every import is refused; inspect parses them as certificates.
    assert!(exercise("pem_as_pfx.pfx", 3) > 0);
    assert!(exercise("certificate.cer", 1) > 0);
}
