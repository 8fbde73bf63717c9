//! Every fixture of `scripts/make-test-pfx.py` through `tenantlink cert inspect --json`: exit
//! status, error kind, the exact JSON fields, and thumbprints equal to what OpenSSL computes.

mod cert_support;
mod openssl_support;

use cert_support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// Kinds under which the certificate itself was read, so its identifiers must be printed.
const CERTIFICATE_READABLE: [&str; 6] = [
    "ok",
    "not_rsa",
    "rsa_too_small",
    "expired",
    "not_yet_valid",
    "no_private_key",
];

/// PKCS#12 files whose certificates the OpenSSL 3.0 CLI cannot extract, with the reason; for
/// these the thumbprint is checked against the manifest only (which OpenSSL computed from the
/// certificate before it was packed).
const OPENSSL_CANNOT_EXTRACT: [&str; 1] = [
    // Bags encrypted under an absent (NULL) password and no MAC: `-passin pass:` means the empty
    // password, which derives different keys.
    "null_password_encrypted_nomac.pfx",
];

fn entries() -> Vec<Value> {
    fixtures().manifest["files"]
        .as_array()
        .expect("manifest has a files array")
        .clone()
}

fn inspect_entry(entry: &Value, scratch: &Path) -> Run {
    let file = fixtures().root.join(entry["file"].as_str().unwrap());
    let mut args = vec![
        "cert".to_owned(),
        "inspect".to_owned(),
        path_str(&file).to_owned(),
        "--json".to_owned(),
    ];
    if let Some(password) = entry["password"].as_str() {
        let password_file = write_password_file(scratch, "password.txt", password);
        args.push("--password-file".to_owned());
        args.push(path_str(&password_file).to_owned());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tenantlink(&args)
}

/// SHA-1 and SHA-256 thumbprints of every certificate OpenSSL extracts from a PKCS#12 file, or
/// `None` if it cannot read it (with and without the legacy provider).
fn openssl_pkcs12_thumbprints(
    file: &Path,
    password: Option<&str>,
    scratch: &Path,
) -> Option<BTreeSet<(String, String)>> {
    let password_file =
        write_password_file(scratch, "openssl-password.txt", password.unwrap_or(""));
    let passin = format!("file:{}", path_str(&password_file));
    for extra in [None, Some("-legacy")] {
        let mut args = vec![
            "pkcs12",
            "-in",
            path_str(file),
            "-nokeys",
            "-passin",
            &passin,
        ];
        args.extend(extra);
        let run = openssl(&args);
        if run.code == Some(0) {
            return Some(
                openssl_bundle_fingerprints(&run.stdout_text(), scratch)
                    .into_iter()
                    .collect(),
            );
        }
    }
    None
}

fn openssl_certificate_thumbprints(file: &Path, format: &str) -> (String, String) {
    let inform = if format == "der" { "DER" } else { "PEM" };
    (
        openssl_fingerprint(file, inform, "sha1"),
        openssl_fingerprint(file, inform, "sha256"),
    )
}

#[test]
fn every_fixture_inspects_to_its_expected_outcome_with_openssl_thumbprints() {
    let entries = entries();
    assert!(
        entries.len() >= 30,
        "the manifest lists {} fixtures",
        entries.len()
    );
    let mut failures = Vec::new();
    let mut openssl_checked = 0;
    for entry in &entries {
        let name = entry["file"].as_str().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let run = inspect_entry(entry, scratch.path());
        let expected = entry["inspect_expect"].as_str().unwrap();
        let json = run.json();
        let mut fail = |what: String| failures.push(format!("{name}: {what}"));

        let keys: BTreeSet<&str> = json
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        if keys != INSPECT_FIELDS.into_iter().collect() {
            fail(format!("JSON fields {keys:?}"));
        }

        if expected == "ok" {
            if run.code != Some(0) || json["problems"] != serde_json::json!([]) {
                fail(format!(
                    "expected ok, exit {:?}, stderr {}",
                    run.code, run.stderr
                ));
            }
        } else {
            let last = run.stderr.lines().last().unwrap_or_default();
            if run.code == Some(0) || !last.starts_with(&format!("error: {expected}: ")) {
                fail(format!(
                    "expected error {expected}, exit {:?}, stderr {}",
                    run.code, run.stderr
                ));
            }
            if json["problems"][0]["kind"] != expected {
                fail(format!(
                    "first problem {} instead of {expected}",
                    json["problems"][0]
                ));
            }
            if json["problems"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
            {
                fail("problem without a message".to_owned());
            }
        }

        let printed = (
            json["sha1_thumbprint"].as_str().map(str::to_owned),
            json["sha256_thumbprint"].as_str().map(str::to_owned),
        );
        let (Some(sha1), Some(sha256)) = printed else {
            if CERTIFICATE_READABLE.contains(&expected) {
                fail("no thumbprint although the certificate is readable".to_owned());
            }
            continue;
        };
        if Some(sha1.as_str()) != entry["sha1"].as_str()
            || Some(sha256.as_str()) != entry["sha256"].as_str()
        {
            fail(format!(
                "thumbprints {sha1}/{sha256} differ from the manifest"
            ));
        }
        for field in ["key_type", "key_bits", "chain_len"] {
            if !entry[field].is_null() && json[field] != entry[field] {
                fail(format!(
                    "{field} {} instead of {}",
                    json[field], entry[field]
                ));
            }
        }
        if expected == "ok" && entry["format"] == "pkcs12" && json["has_private_key"] != true {
            fail("importable PFX without has_private_key".to_owned());
        }

        // The same identifiers, computed by OpenSSL now, from the file itself.
        let file = fixtures().root.join(name);
        let format = entry["format"].as_str().unwrap();
        if format == "pkcs12" {
            if OPENSSL_CANNOT_EXTRACT.contains(&name) {
                continue;
            }
            let password = entry["correct_password"].as_str();
            match openssl_pkcs12_thumbprints(&file, password, scratch.path()) {
                Some(set) if set.contains(&(sha1.clone(), sha256.clone())) => openssl_checked += 1,
                Some(set) => fail(format!("{sha1} not among OpenSSL's {set:?}")),
                None => fail("openssl pkcs12 cannot extract the certificates".to_owned()),
            }
        } else {
            if openssl_certificate_thumbprints(&file, format) != (sha1, sha256) {
                fail("thumbprints differ from openssl x509 -fingerprint".to_owned());
            }
            openssl_checked += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        openssl_checked >= 20,
        "only {openssl_checked} fixtures cross-checked with OpenSSL"
    );
}

#[test]
fn every_rejected_pfx_prints_one_error_line_and_what_it_could_read() {
    for entry in entries() {
        let expected = entry["inspect_expect"].as_str().unwrap();
        if expected == "ok" {
            continue;
        }
        let scratch = tempfile::tempdir().unwrap();
        let run = inspect_entry(&entry, scratch.path());
        let message = run.assert_error_kind(expected);
        assert!(!message.is_empty(), "{}", entry["file"]);
        // The record is on stdout even though the file was refused.
        assert!(run.json().is_object(), "{}", entry["file"]);
    }
}

#[test]
fn wrong_password_is_worded_differently_from_not_pkcs12_for_every_fixture_pair() {
    let mut wrong_messages = BTreeSet::new();
    let mut not_pkcs12_messages = BTreeSet::new();
    for entry in entries() {
        let scratch = tempfile::tempdir().unwrap();
        match entry["inspect_expect"].as_str().unwrap() {
            "wrong_password" => {
                wrong_messages.insert(
                    inspect_entry(&entry, scratch.path()).assert_error_kind("wrong_password"),
                );
            }
            "not_pkcs12" => {
                not_pkcs12_messages
                    .insert(inspect_entry(&entry, scratch.path()).assert_error_kind("not_pkcs12"));
            }
            _ => {}
        }
    }
    assert!(!wrong_messages.is_empty() && !not_pkcs12_messages.is_empty());
    for wrong in &wrong_messages {
        assert!(wrong.contains("password"), "{wrong}");
        for not in &not_pkcs12_messages {
            assert_ne!(wrong, not);
            assert!(!not.contains("wrong password"), "{not}");
        }
    }
}
