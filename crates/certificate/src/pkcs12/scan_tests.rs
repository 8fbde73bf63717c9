//! The scan refuses costly scrypt parameters and too many encrypted parts by itself: `scan` runs
//! no key derivation at all, so a refusal here is a refusal before any derivation. The hostile
//! files are assembled as DER; their ciphertext is random, as nothing ever decrypts it.

use der::asn1::OctetString;
use der::{Any, Decode, Encode};
use pkcs5::pbes2;
use pkcs12::cms::cert::x509::spki::AlgorithmIdentifierOwned;
use pkcs12::cms::content_info::{CmsVersion, ContentInfo};
use pkcs12::cms::encrypted_data::EncryptedData;
use pkcs12::cms::enveloped_data::EncryptedContentInfo;
use pkcs12::pfx::{Pfx, Version};

use super::super::algorithms::{DATA, ENCRYPTED_DATA, PBES2};
use super::super::{MAX_ENCRYPTED_PARTS, MAX_SCRYPT_MEMORY_BYTES, MAX_SCRYPT_WORK};
use super::scan;
use crate::error::ImportError;

/// PBES2 with scrypt (N = 2^log_n, r, p) and AES-256-CBC.
fn scrypt_algorithm(log_n: u32, r: u16, p: u16) -> AlgorithmIdentifierOwned {
    let mut params = pbes2::Parameters::generate_scrypt_aes256cbc(
        pkcs5::scrypt::Params::new(1, 1, 1).unwrap(),
        &[7; 16],
        [9; 16],
    )
    .unwrap();
    let pbes2::Kdf::Scrypt(scrypt) = &mut params.kdf else {
        unreachable!("built with scrypt")
    };
    scrypt.cost_parameter = 1u64 << log_n;
    scrypt.block_size = r;
    scrypt.parallelization = p;
    pbkdf_algorithm_from(params)
}

fn pbkdf_algorithm_from(params: pbes2::Parameters) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: PBES2,
        parameters: Some(Any::from_der(&params.to_der().unwrap()).unwrap()),
    }
}

/// PBES2 with PBKDF2-HMAC-SHA256 (one iteration) and AES-256-CBC: a cheap part.
fn cheap_algorithm() -> AlgorithmIdentifierOwned {
    pbkdf_algorithm_from(
        pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(1, &[7; 16], [9; 16]).unwrap(),
    )
}

/// A PFX without MAC whose authenticated safe holds one encrypted safe per algorithm.
fn pfx_of(parts: &[AlgorithmIdentifierOwned]) -> Vec<u8> {
    let safes: Vec<ContentInfo> = parts
        .iter()
        .map(|algorithm| {
            let encrypted = EncryptedData {
                version: CmsVersion::V0,
                enc_content_info: EncryptedContentInfo {
                    content_type: DATA,
                    content_enc_alg: algorithm.clone(),
                    encrypted_content: Some(OctetString::new(vec![0x5a; 48]).unwrap()),
                },
                unprotected_attrs: None,
            };
            ContentInfo {
                content_type: ENCRYPTED_DATA,
                content: Any::from_der(&encrypted.to_der().unwrap()).unwrap(),
            }
        })
        .collect();
    let auth_safe = OctetString::new(safes.to_der().unwrap()).unwrap();
    Pfx {
        version: Version::V3,
        auth_safe: ContentInfo {
            content_type: DATA,
            content: Any::from_der(&auth_safe.to_der().unwrap()).unwrap(),
        },
        mac_data: None,
    }
    .to_der()
    .unwrap()
}

#[test]
fn typical_scrypt_parameters_pass_the_scan() {
    // OpenSSL's and RustCrypto's default (2^14) up to the top of what tools write (2^20), and a
    // key plus a certificate safe at that top.
    for log_n in [14, 16, 20] {
        let scanned = scan(&pfx_of(&[scrypt_algorithm(log_n, 8, 1)])).unwrap();
        assert_eq!(scanned.encrypted_parts, 1);
    }
    let top = scrypt_algorithm(20, 8, 1);
    assert!(scan(&pfx_of(&[top.clone(), top])).is_ok());
}

#[test]
fn scrypt_needing_more_than_a_gibibyte_is_refused_by_the_scan() {
    // 2^21 · 8 · 128 bytes = 2 GiB; 2^40 would be 128 TiB.
    for (log_n, r) in [(21, 8), (40, 8), (20, 16)] {
        match scan(&pfx_of(&[scrypt_algorithm(log_n, r, 1)])) {
            Err(ImportError::ScryptMemoryTooHigh {
                n,
                r: got_r,
                memory_bytes,
                limit_bytes,
            }) => {
                assert_eq!((n, got_r), (1 << log_n, u64::from(r)));
                assert_eq!(memory_bytes, 128 * n * got_r);
                assert_eq!(limit_bytes, MAX_SCRYPT_MEMORY_BYTES);
            }
            other => panic!("N = 2^{log_n}, r = {r}: {other:?}"),
        }
    }
}

#[test]
fn scrypt_whose_parallelism_multiplies_the_time_is_refused_by_the_scan() {
    // 1 GiB at a time, but sixteen times over: N·r·p = 2^27.
    match scan(&pfx_of(&[scrypt_algorithm(20, 8, 16)])) {
        Err(ImportError::ScryptWorkTooHigh { work, limit, p, .. }) => {
            assert_eq!((work, limit, p), (1 << 27, MAX_SCRYPT_WORK, 16));
        }
        other => panic!("{other:?}"),
    }
    match scan(&pfx_of(&[scrypt_algorithm(10, 8, 17)])) {
        Err(ImportError::UnsupportedAlgorithm { algorithm }) => {
            assert!(algorithm.contains("p = 17"), "{algorithm}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn many_scrypt_parts_each_within_the_limit_are_refused_together() {
    let top = scrypt_algorithm(20, 8, 1);
    match scan(&pfx_of(&[top.clone(), top.clone(), top])) {
        Err(ImportError::ScryptTotalTooHigh { parts, work, limit }) => {
            assert_eq!((parts, work, limit), (3, 3 << 23, 2 * MAX_SCRYPT_WORK));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn more_encrypted_parts_than_any_export_has_are_refused() {
    let cheap = cheap_algorithm();
    assert!(scan(&pfx_of(&vec![cheap.clone(); MAX_ENCRYPTED_PARTS])).is_ok());
    match scan(&pfx_of(&vec![cheap; MAX_ENCRYPTED_PARTS + 1])) {
        Err(ImportError::TooManyEncryptedParts { parts, limit }) => {
            assert_eq!(
                (parts, limit),
                (MAX_ENCRYPTED_PARTS + 1, MAX_ENCRYPTED_PARTS)
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn scrypt_parameters_outside_the_algorithm_are_malformed() {
    let mut algorithm = scrypt_algorithm(10, 8, 1);
    let mut params =
        pbes2::Parameters::from_der(&algorithm.parameters.unwrap().to_der().unwrap()).unwrap();
    let pbes2::Kdf::Scrypt(scrypt) = &mut params.kdf else {
        unreachable!("built with scrypt")
    };
    scrypt.cost_parameter = 1000;
    algorithm = pbkdf_algorithm_from(params);
    assert!(matches!(
        scan(&pfx_of(&[algorithm])),
        Err(ImportError::Malformed { detail }) if detail.contains("N = 1000")
    ));
    assert!(matches!(
        scan(&pfx_of(&[scrypt_algorithm(10, 0, 1)])),
        Err(ImportError::Malformed { .. })
    ));
}
