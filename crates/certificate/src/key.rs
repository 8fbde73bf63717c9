use std::fmt;

use der::asn1::{BitString, OctetString, UintRef};
use der::{Any, Decode, Reader, SliceReader, Tag, TagNumber};
use pkcs12::cms::cert::x509::spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use crate::certificate::{KeyType, bit_length, strip_leading_zeros};
use crate::error::ImportError;

/// A PKCS#8 private key. Zeroized on drop; `Debug` shows only its algorithm and size.
#[derive(Clone)]
pub struct PrivateKey {
    pkcs8: Zeroizing<Vec<u8>>,
    key_type: KeyType,
    key_bits: Option<usize>,
    /// The public part, in the same form as `Certificate::public_identity`, so that the
    /// certificate belonging to this key can be found whatever order a PFX lists them in.
    public_identity: Option<Vec<u8>>,
}

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_ED25519: &str = "1.3.101.112";

impl PrivateKey {
    /// Parses an unencrypted PKCS#8 (`PrivateKeyInfo` / `OneAsymmetricKey`) DER key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, ImportError> {
        let pkcs8 = Zeroizing::new(der.to_vec());
        let (algorithm, private_key) =
            parse_pkcs8(&pkcs8).map_err(|e| ImportError::InvalidPrivateKey {
                detail: e.to_string(),
            })?;
        let private_key = Zeroizing::new(private_key.into_bytes());
        let (key_type, key_bits, public_identity) = match algorithm.oid.to_string().as_str() {
            OID_RSA => {
                let modulus = parse_rsa_modulus(&private_key).map_err(|e| {
                    ImportError::InvalidPrivateKey {
                        detail: format!("RSA key: {e}"),
                    }
                })?;
                let modulus = strip_leading_zeros(&modulus).to_vec();
                (KeyType::Rsa, Some(bit_length(&modulus)), Some(modulus))
            }
            // The curve size is read from the certificate; the key only needs its public point.
            OID_EC => (KeyType::Ec, None, parse_ec_public_point(&private_key)),
            OID_ED25519 => {
                let public =
                    aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8)
                        .ok()
                        .map(|pair| {
                            use aws_lc_rs::signature::KeyPair as _;
                            pair.public_key().as_ref().to_vec()
                        });
                (KeyType::Ed25519, Some(256), public)
            }
            _ => (KeyType::Other, None, None),
        };
        Ok(Self {
            pkcs8,
            key_type,
            key_bits,
            public_identity,
        })
    }

    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    pub fn key_bits(&self) -> Option<usize> {
        self.key_bits
    }

    /// True when the certificate carries this key's public half.
    pub fn matches(&self, certificate: &crate::Certificate) -> bool {
        self.public_identity.as_deref().is_some_and(|identity| {
            !identity.is_empty() && identity == certificate.public_identity()
        })
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("key_type", &self.key_type)
            .field("key_bits", &self.key_bits)
            .field("pkcs8", &"<redacted>")
            .finish()
    }
}

fn parse_pkcs8(der: &[u8]) -> der::Result<(AlgorithmIdentifierOwned, OctetString)> {
    let mut reader = SliceReader::new(der)?;
    let parsed = reader.sequence(|r| {
        let _version: u8 = r.decode()?;
        let algorithm: AlgorithmIdentifierOwned = r.decode()?;
        let private_key: OctetString = r.decode()?;
        // Attributes [0] and, in PKCS#8 v2, the public key [1]: not needed here.
        while !r.is_finished() {
            let _: Any = r.decode()?;
        }
        Ok::<_, der::Error>((algorithm, private_key))
    })?;
    reader.finish()?;
    Ok(parsed)
}

fn parse_rsa_modulus(rsa_private_key: &[u8]) -> der::Result<Vec<u8>> {
    let mut reader = SliceReader::new(rsa_private_key)?;
    let modulus = reader.sequence(|r| {
        let _version: UintRef<'_> = r.decode()?;
        let modulus: UintRef<'_> = r.decode()?;
        let modulus = modulus.as_bytes().to_vec();
        while !r.is_finished() {
            let _: Any = r.decode()?;
        }
        Ok::<_, der::Error>(modulus)
    })?;
    reader.finish()?;
    Ok(modulus)
}

/// SEC1 `ECPrivateKey` carries the public point in its optional `[1]` field.
fn parse_ec_public_point(ec_private_key: &[u8]) -> Option<Vec<u8>> {
    let mut reader = SliceReader::new(ec_private_key).ok()?;
    reader
        .sequence(|r| {
            let mut public = None;
            while !r.is_finished() {
                let field: Any = r.decode()?;
                if let Tag::ContextSpecific { number, .. } = der::Tagged::tag(&field)
                    && number == TagNumber(1)
                {
                    let bits = BitString::from_der(field.value())?;
                    public = Some(bits.raw_bytes().to_vec());
                }
            }
            Ok::<_, der::Error>(public)
        })
        .ok()
        .flatten()
}
