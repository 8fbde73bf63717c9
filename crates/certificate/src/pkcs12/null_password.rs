//! Files whose password is *absent* (NULL) rather than empty, as Java keystores and some older
//! exporters write them. The PKCS#12 key derivation then runs over zero password bytes, while
//! p12-keystore always derives from a NUL-terminated BMPString (the empty password is two zero
//! bytes), so it cannot decrypt such PBE parts. This module decrypts them itself and hands
//! p12-keystore an equivalent PFX without encryption. PBES2 parts need nothing: PBKDF2 sees the
//! same zero bytes for an absent and an empty password.

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use der::asn1::{ContextSpecific, OctetString};
use der::{Any, Decode, Encode};
use pkcs12::cms::cert::x509::spki::AlgorithmIdentifierOwned;
use pkcs12::cms::content_info::ContentInfo;
use pkcs12::cms::encrypted_data::EncryptedData;
use pkcs12::kdf::{Pkcs12KeyType, derive_key};
use pkcs12::pbe_params::{EncryptedPrivateKeyInfo, Pkcs12PbeParams};
use pkcs12::pfx::{Pfx, Version};
use pkcs12::safe_bag::{SafeBag, SafeContents};
use zeroize::Zeroizing;

use super::algorithms::{DATA, ENCRYPTED_DATA, PBE_SHA1_3DES, PBE_SHA1_RC2_40, SHROUDED_KEY_BAG};
use super::scan::Scanned;
use crate::error::ImportError;

const KEY_BAG: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.1");

/// The PFX with every PKCS#12-PBE part decrypted under the absent password, and no MAC (the
/// caller has verified it). Secrets in the result are plaintext: the caller zeroizes it.
pub(crate) fn decrypt_pbe_parts(scanned: &Scanned) -> Result<Zeroizing<Vec<u8>>, ImportError> {
    let safes: Vec<ContentInfo> = Vec::from_der(&scanned.auth_safe_data).map_err(malformed)?;
    let mut plain_safes = Vec::with_capacity(safes.len());
    for safe in safes {
        let bags_der = match safe.content_type {
            ENCRYPTED_DATA => {
                let encrypted = EncryptedData::from_der(&safe.content.to_der().map_err(malformed)?)
                    .map_err(malformed)?;
                let info = encrypted.enc_content_info;
                let ciphertext = info
                    .encrypted_content
                    .as_ref()
                    .map(OctetString::as_bytes)
                    .unwrap_or_default();
                decrypt(&info.content_enc_alg, ciphertext)?
            }
            DATA => Zeroizing::new(
                OctetString::from_der(&safe.content.to_der().map_err(malformed)?)
                    .map_err(malformed)?
                    .into_bytes()
                    .into_vec(),
            ),
            _ => return Err(malformed_detail("unexpected content type")),
        };
        let bags = SafeContents::from_der(&bags_der).map_err(|_| ImportError::WrongPassword)?;
        let mut plain_bags = Vec::with_capacity(bags.len());
        for bag in bags {
            plain_bags.push(if bag.bag_id == SHROUDED_KEY_BAG {
                unshroud(bag)?
            } else {
                unwrapped(bag)?
            });
        }
        let plain = Zeroizing::new(plain_bags.to_der().map_err(malformed)?);
        plain_safes.push(data_content(&plain)?);
    }
    let auth_safe = Zeroizing::new(plain_safes.to_der().map_err(malformed)?);
    let pfx = Pfx {
        version: Version::V3,
        auth_safe: data_content(&auth_safe)?,
        mac_data: None,
    };
    Ok(Zeroizing::new(pfx.to_der().map_err(malformed)?))
}

/// A shrouded key bag under PKCS#12 PBE becomes a plain key bag with the same attributes.
fn unshroud(bag: SafeBag) -> Result<SafeBag, ImportError> {
    let shrouded =
        ContextSpecific::<EncryptedPrivateKeyInfo>::from_der(&bag.bag_value).map_err(malformed)?;
    let algorithm = &shrouded.value.encryption_algorithm;
    if algorithm.oid != PBE_SHA1_3DES && algorithm.oid != PBE_SHA1_RC2_40 {
        return Ok(bag);
    }
    let pkcs8 = decrypt(algorithm, shrouded.value.encrypted_data.as_bytes())?;
    // Check it is one DER value before handing it on; a wrong key yields garbage here.
    Any::from_der(&pkcs8).map_err(|_| ImportError::WrongPassword)?;
    Ok(SafeBag {
        bag_id: KEY_BAG,
        bag_value: pkcs8.to_vec(),
        bag_attributes: bag.bag_attributes,
    })
}

/// `SafeBag` decodes its value with the `[0]` wrapper but encodes by adding one, so a bag passed
/// through unchanged needs the wrapper removed first.
fn unwrapped(bag: SafeBag) -> Result<SafeBag, ImportError> {
    let inner = Any::from_der(&bag.bag_value)
        .map_err(malformed)?
        .value()
        .to_vec();
    Ok(SafeBag {
        bag_value: inner,
        ..bag
    })
}

fn decrypt(
    algorithm: &AlgorithmIdentifierOwned,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, ImportError> {
    let params = algorithm
        .parameters
        .as_ref()
        .ok_or_else(|| malformed_detail("PBE parameters missing"))?
        .to_der()
        .map_err(malformed)?;
    let params = Pkcs12PbeParams::from_der(&params).map_err(malformed)?;
    let salt = params.salt.as_bytes();
    let rounds = params.iterations;
    let derive =
        |purpose, len| Zeroizing::new(derive_key::<sha1::Sha1>(&[], salt, purpose, rounds, len));
    let iv = derive(Pkcs12KeyType::Iv, 8);
    let plaintext = match algorithm.oid {
        PBE_SHA1_3DES => {
            let key = derive(Pkcs12KeyType::EncryptionKey, 24);
            cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
                .map_err(|_| malformed_detail("3DES key length"))?
                .decrypt_padded_vec::<Pkcs7>(ciphertext)
        }
        PBE_SHA1_RC2_40 => {
            let key = derive(Pkcs12KeyType::EncryptionKey, 5);
            cbc::Decryptor::<rc2::Rc2>::new_from_slices(&key, &iv)
                .map_err(|_| malformed_detail("RC2 key length"))?
                .decrypt_padded_vec::<Pkcs7>(ciphertext)
        }
        // PBES2 parts decrypt the same under absent and empty passwords: leave them to p12-keystore.
        _ => return Err(malformed_detail("not a PKCS#12 PBE algorithm")),
    };
    plaintext
        .map(Zeroizing::new)
        .map_err(|_| ImportError::WrongPassword)
}

fn data_content(bytes: &[u8]) -> Result<ContentInfo, ImportError> {
    let octets = OctetString::new(bytes).map_err(malformed)?;
    Ok(ContentInfo {
        content_type: DATA,
        content: Any::from_der(&octets.to_der().map_err(malformed)?).map_err(malformed)?,
    })
}

fn malformed(error: der::Error) -> ImportError {
    malformed_detail(&error.to_string())
}

fn malformed_detail(detail: &str) -> ImportError {
    ImportError::Malformed {
        detail: detail.to_owned(),
    }
}
