//! Names and support status of the algorithm identifiers found in PKCS#12 files.

use der::oid::ObjectIdentifier;

pub(crate) const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
pub(crate) const PBE_SHA1_3DES: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.3");
pub(crate) const PBE_SHA1_RC2_40: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.6");
pub(crate) const PBKDF2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.12");

pub(crate) const DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
pub(crate) const ENCRYPTED_DATA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
pub(crate) const SHROUDED_KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");

pub(crate) const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
pub(crate) const SHA224: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.4");
pub(crate) const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
pub(crate) const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
pub(crate) const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// A readable name for an algorithm identifier, for "unsupported algorithm" messages.
pub(crate) fn name(oid: &ObjectIdentifier) -> String {
    let known = match oid.to_string().as_str() {
        "1.2.840.113549.1.12.1.1" => "PBE-SHA1-RC4-128 (pbeWithSHAAnd128BitRC4)",
        "1.2.840.113549.1.12.1.2" => "PBE-SHA1-RC4-40 (pbeWithSHAAnd40BitRC4)",
        "1.2.840.113549.1.12.1.3" => "PBE-SHA1-3DES (pbeWithSHAAnd3-KeyTripleDES-CBC)",
        "1.2.840.113549.1.12.1.4" => "PBE-SHA1-2DES (pbeWithSHAAnd2-KeyTripleDES-CBC)",
        "1.2.840.113549.1.12.1.5" => "PBE-SHA1-RC2-128 (pbeWithSHAAnd128BitRC2-CBC)",
        "1.2.840.113549.1.12.1.6" => "PBE-SHA1-RC2-40 (pbeWithSHAAnd40BitRC2-CBC)",
        "1.2.840.113549.1.5.1" => "PBE-MD2-DES (pbeWithMD2AndDES-CBC)",
        "1.2.840.113549.1.5.3" => "PBE-MD5-DES (pbeWithMD5AndDES-CBC)",
        "1.2.840.113549.1.5.4" => "PBE-MD2-RC2-64 (pbeWithMD2AndRC2-CBC)",
        "1.2.840.113549.1.5.6" => "PBE-MD5-RC2-64 (pbeWithMD5AndRC2-CBC)",
        "1.2.840.113549.1.5.10" => "PBE-SHA1-DES (pbeWithSHA1AndDES-CBC)",
        "1.2.840.113549.1.5.11" => "PBE-SHA1-RC2-64 (pbeWithSHA1AndRC2-CBC)",
        "1.2.840.113549.1.5.13" => "PBES2",
        "1.2.840.113549.1.5.12" => "PBKDF2",
        "1.3.6.1.4.1.11591.4.11" => "scrypt",
        "1.2.840.113549.2.2" => "MD2",
        "1.2.840.113549.2.5" => "MD5",
        "1.3.14.3.2.26" => "SHA-1",
        "2.16.840.1.101.3.4.2.1" => "SHA-256",
        "2.16.840.1.101.3.4.2.2" => "SHA-384",
        "2.16.840.1.101.3.4.2.3" => "SHA-512",
        "2.16.840.1.101.3.4.2.4" => "SHA-224",
        "2.16.840.1.101.3.4.2.5" => "SHA-512/224",
        "2.16.840.1.101.3.4.2.6" => "SHA-512/256",
        "1.2.840.113549.2.7" => "hmacWithSHA1",
        "1.2.840.113549.2.8" => "hmacWithSHA224",
        "1.2.840.113549.2.9" => "hmacWithSHA256",
        "1.2.840.113549.2.10" => "hmacWithSHA384",
        "1.2.840.113549.2.11" => "hmacWithSHA512",
        "2.16.840.1.101.3.4.1.2" => "AES-128-CBC",
        "2.16.840.1.101.3.4.1.22" => "AES-192-CBC",
        "2.16.840.1.101.3.4.1.42" => "AES-256-CBC",
        "2.16.840.1.101.3.4.1.6" => "AES-128-GCM",
        "2.16.840.1.101.3.4.1.46" => "AES-256-GCM",
        "1.2.840.113549.3.7" => "DES-EDE3-CBC",
        "1.3.14.3.2.7" => "DES-CBC",
        "1.2.840.113549.3.2" => "RC2-CBC",
        "1.2.840.113549.3.4" => "RC4",
        "1.2.392.200011.61.1.1.1.2" => "Camellia-128-CBC",
        "1.2.392.200011.61.1.1.1.4" => "Camellia-256-CBC",
        "1.2.156.10197.1.104.2" => "SM4-CBC",
        "1.2.840.113549.1.7.2" => "public-key integrity mode (signedData)",
        "1.2.840.113549.1.7.3" => "public-key privacy mode (envelopedData)",
        _ => return format!("the algorithm with OID {oid}"),
    };
    known.to_owned()
}
