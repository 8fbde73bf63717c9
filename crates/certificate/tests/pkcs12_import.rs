//! Every PKCS#12 variant and bad input from `scripts/make-test-pfx.py` gives the outcome its
//! manifest entry states, with thumbprints equal to OpenSSL's.

mod common;
use common as fixtures;

use serde_json::Value;
use tenantlink_certificate::{ImportError, import_pkcs12, inspect};
use tenantlink_secret::SecretString;
use time::OffsetDateTime;

fn password_of(entry: &Value) -> Option<SecretString> {
    entry["password"].as_str().map(SecretString::from)
}

fn outcome(result: &Result<impl Sized, ImportError>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(e) => e.kind().to_owned(),
    }
}

#[test]
fn every_fixture_imports_with_the_outcome_its_manifest_states() {
    let fixtures = fixtures::fixtures();
    let now = OffsetDateTime::now_utc();
    let mut failures = Vec::new();
    for entry in &fixtures.entries {
        let file = entry["file"].as_str().unwrap_or_default();
        let expect = entry["expect"].as_str().unwrap_or_default();
        let bytes = fixtures.bytes(entry);
        let mut passwords = vec![password_of(entry)];
        if entry["password"] == "" {
            // The empty password and "no password" must behave alike.
            passwords.push(None);
        }
        for password in passwords {
            let result = import_pkcs12(&bytes, password.as_ref(), now);
            let got = outcome(&result);
            if got != expect {
                failures.push(format!(
                    "{file} (password {:?}): expected {expect}, got {got}: {:?}",
                    password.as_ref().map(|_| "given"),
                    result.as_ref().err().map(ToString::to_string)
                ));
                continue;
            }
            if let Ok(credential) = result {
                let thumbprints = credential.certificate().thumbprints();
                if entry["sha1"] != thumbprints.sha1_hex()
                    || entry["sha256"] != thumbprints.sha256_hex()
                {
                    failures.push(format!(
                        "{file}: thumbprints {} / {} differ from OpenSSL's {} / {}",
                        thumbprints.sha1_hex(),
                        thumbprints.sha256_hex(),
                        entry["sha1"],
                        entry["sha256"]
                    ));
                }
                if entry["chain_len"] != 1 + credential.chain().len() {
                    failures.push(format!("{file}: chain of {}", 1 + credential.chain().len()));
                }
                if credential.certificate().key_bits()
                    != entry["key_bits"].as_u64().map(|b| b as usize)
                {
                    failures.push(format!(
                        "{file}: key bits {:?}",
                        credential.certificate().key_bits()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn inspect_reports_what_it_could_read_and_the_first_problem_import_would_give() {
    let fixtures = fixtures::fixtures();
    let now = OffsetDateTime::now_utc();
    let mut failures = Vec::new();
    for entry in &fixtures.entries {
        let file = entry["file"].as_str().unwrap_or_default();
        let inspection = inspect(&fixtures.bytes(entry), password_of(entry).as_ref(), now);
        let got = inspection.problems.first().map_or("ok", ImportError::kind);
        if got != entry["inspect_expect"] {
            failures.push(format!(
                "{file}: expected {}, got {got} ({:?})",
                entry["inspect_expect"],
                inspection.problems.first().map(ToString::to_string)
            ));
        }
        if inspection.format.as_str() != entry["format"] {
            failures.push(format!("{file}: format {}", inspection.format.as_str()));
        }
        if let Some(certificate) = &inspection.certificate {
            if entry["sha1"] != certificate.thumbprints().sha1_hex() {
                failures.push(format!(
                    "{file}: inspected leaf {}",
                    certificate.thumbprints().sha1_hex()
                ));
            }
            if entry["chain_len"] != inspection.chain_len {
                failures.push(format!(
                    "{file}: inspected chain_len {}",
                    inspection.chain_len
                ));
            }
            if entry["key_type"] != certificate.key_type().as_str() {
                failures.push(format!(
                    "{file}: key type {}",
                    certificate.key_type().as_str()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_pfx_refused_for_policy_reasons_still_shows_its_certificate() {
    let fixtures = fixtures::fixtures();
    let now = OffsetDateTime::now_utc();
    for file in [
        "expired.pfx",
        "not_yet_valid.pfx",
        "rsa_1024.pfx",
        "ec_key.pfx",
        "no_private_key.pfx",
    ] {
        let entry = fixtures.entry(file);
        let inspection = inspect(&fixtures.bytes(entry), password_of(entry).as_ref(), now);
        let certificate = inspection
            .certificate
            .as_ref()
            .unwrap_or_else(|| panic!("{file}: leaf readable"));
        assert_eq!(
            entry["sha256"],
            certificate.thumbprints().sha256_hex(),
            "{file}"
        );
        assert_eq!(
            inspection.has_private_key,
            file != "no_private_key.pfx",
            "{file}"
        );
    }
}

#[test]
fn oversized_iteration_counts_are_refused_before_any_key_derivation() {
    let fixtures = fixtures::fixtures();
    for file in [
        "huge_iterations_mac.pfx",
        "huge_iterations_kdf.pfx",
        "many_parts_iterations.pfx",
    ] {
        let entry = fixtures.entry(file);
        let bytes = fixtures.bytes(entry);
        let result = import_pkcs12(
            &bytes,
            password_of(entry).as_ref(),
            OffsetDateTime::now_utc(),
        );
        // `IterationsTooHigh` comes only from the pre-scan, which derives no key (see the unit
        // tests of `pkcs12::scan`), so the refusal never paid for the millions of rounds asked.
        match result {
            Err(ImportError::IterationsTooHigh { iterations, limit }) => {
                assert!(iterations > limit, "{file}: {iterations} vs {limit}");
                assert!(iterations >= 5_400_000, "{file}: {iterations}");
            }
            other => panic!("{file}: expected iterations_too_high, got {other:?}"),
        }
    }
}

/// A hostile scrypt file is refused by the pre-scan, which runs no key derivation (see the unit
/// tests of `pkcs12::scan`): the parameters asked for would take gigabytes and hours.
#[test]
fn costly_scrypt_and_too_many_parts_are_refused_each_with_its_own_error() {
    let fixtures = fixtures::fixtures();
    let refusal = |file: &str| {
        let entry = fixtures.entry(file);
        import_pkcs12(
            &fixtures.bytes(entry),
            password_of(entry).as_ref(),
            OffsetDateTime::now_utc(),
        )
        .expect_err(file)
    };
    match refusal("scrypt_memory.pfx") {
        ImportError::ScryptMemoryTooHigh {
            n,
            r,
            memory_bytes,
            limit_bytes,
        } => {
            assert_eq!((n, r), (1 << 21, 8));
            assert_eq!((memory_bytes, limit_bytes), (2 << 30, 1 << 30));
        }
        other => panic!("scrypt_memory.pfx: {other:?}"),
    }
    match refusal("scrypt_parallel.pfx") {
        ImportError::ScryptWorkTooHigh { p, work, limit, .. } => {
            assert_eq!((p, work, limit), (16, 1 << 27, 1 << 23));
        }
        other => panic!("scrypt_parallel.pfx: {other:?}"),
    }
    match refusal("scrypt_many_parts.pfx") {
        ImportError::ScryptTotalTooHigh { parts, work, limit } => {
            assert_eq!((parts, work, limit), (3, 3 << 23, 2 << 23));
        }
        other => panic!("scrypt_many_parts.pfx: {other:?}"),
    }
    for file in ["too_many_parts.pfx", "scrypt_flood.pfx"] {
        match refusal(file) {
            ImportError::TooManyEncryptedParts { parts, limit } => {
                assert_eq!((parts, limit), (17, 16), "{file}");
            }
            other => panic!("{file}: {other:?}"),
        }
    }
    let advice = refusal("scrypt_memory.pfx").to_string();
    assert!(
        advice.contains("re-export it with AES-256-CBC and PBKDF2"),
        "{advice}"
    );
}

#[test]
fn a_typical_scrypt_pfx_imports() {
    let fixtures = fixtures::fixtures();
    let entry = fixtures.entry("scrypt_n16384.pfx");
    let credential = import_pkcs12(
        &fixtures.bytes(entry),
        password_of(entry).as_ref(),
        OffsetDateTime::now_utc(),
    )
    .expect("N = 2^14, r = 8, p = 1 is within every limit");
    assert_eq!(
        entry["sha1"],
        credential.certificate().thumbprints().sha1_hex()
    );
}

#[test]
fn wrong_password_and_not_pkcs12_are_worded_differently() {
    let fixtures = fixtures::fixtures();
    let now = OffsetDateTime::now_utc();
    let message = |file: &str| {
        let entry = fixtures.entry(file);
        import_pkcs12(&fixtures.bytes(entry), password_of(entry).as_ref(), now)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert!(message("wrong_password.pfx").contains("wrong password"));
    assert!(message("garbage.pfx").starts_with("not a PKCS#12"));
    assert!(message("truncated.pfx").contains("truncated"));
    assert!(message("pem_as_pfx.pfx").contains("PEM"));
    assert!(message("unsupported_algorithm.pfx").contains("RC2-128"));
    assert!(message("ec_key.pfx").contains("Entra ID accepts only RSA"));
    assert!(message("not_yet_valid.pfx").contains("not valid until"));
}

#[test]
fn the_fixture_set_covers_every_variant_and_every_refusal() {
    let fixtures = fixtures::fixtures();
    let expected: Vec<&str> = fixtures
        .entries
        .iter()
        .filter_map(|e| e["expect"].as_str())
        .collect();
    let accepted = expected.iter().filter(|kind| **kind == "ok").count();
    assert!(accepted >= 14, "only {accepted} importable variants");
    for kind in [
        "wrong_password",
        "password_required",
        "not_pkcs12",
        "no_private_key",
        "key_mismatch",
        "not_rsa",
        "rsa_too_small",
        "expired",
        "not_yet_valid",
        "mac_mismatch",
        "unsupported_algorithm",
        "iterations_too_high",
        "scrypt_memory_too_high",
        "scrypt_work_too_high",
        "scrypt_total_too_high",
        "too_many_encrypted_parts",
        "too_large",
    ] {
        assert!(expected.contains(&kind), "no fixture expects {kind}");
        assert!(
            ImportError::KINDS.contains(&kind),
            "{kind} is not a documented kind"
        );
    }
}

#[test]
fn password_refusals_are_about_the_password_alone() {
    // The same files open with the password they were made with.
    let fixtures = fixtures::fixtures();
    let now = OffsetDateTime::now_utc();
    let mut checked = 0;
    for entry in &fixtures.entries {
        if !matches!(
            entry["expect"].as_str(),
            Some("wrong_password" | "password_required")
        ) {
            continue;
        }
        let correct = entry["correct_password"].as_str().map(SecretString::from);
        let result = import_pkcs12(&fixtures.bytes(entry), correct.as_ref(), now);
        assert!(result.is_ok(), "{}: {:?}", entry["file"], result.err());
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} password cases");
}
