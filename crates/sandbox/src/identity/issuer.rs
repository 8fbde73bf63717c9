//! The sandbox's own token signing: access and ID tokens as RS256 JWTs with a `kid`, the public
//! key served as a JWKS, and verification of the tokens Graph receives. Optionally (a setting)
//! Graph access tokens are HS256 under a MAC key derived from the signing key: Entra's Graph
//! tokens cannot be verified by clients either, and a MAC costs microseconds where an RSA-2048
//! signature costs about half a millisecond.

use crate::SandboxError;
use crate::secrets::write_private_file;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::signature::KeyPair as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::path::Path;
use tenantlink_jose::{Algorithm, RsaSigningKey, UnverifiedJws, b64url};
use zeroize::Zeroizing;

/// How Graph access tokens are signed (a control-API setting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum AccessTokenSigning {
    #[default]
    #[serde(rename = "RS256")]
    Rs256,
    #[serde(rename = "HS256")]
    Hs256,
}

pub(crate) struct TokenIssuer {
    key: RsaSigningKey,
    kid: String,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
    /// HMAC-SHA256 key for HS256 access tokens, derived from the RSA key so that such tokens
    /// also survive restarts; never leaves the process.
    mac: hmac::Key,
    mac_kid: String,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// Loads `token-signing-key.der` (PKCS#8, mode 0600) or creates it, so that tokens issued
    /// before a restart still verify after it.
    pub(crate) fn load_or_create(state_dir: &Path) -> Result<Self, SandboxError> {
        let path = state_dir.join("token-signing-key.der");
        let der = match std::fs::read(&path) {
            Ok(bytes) => Zeroizing::new(bytes),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(|e| SandboxError::KeyGeneration(e.to_string()))?;
                let pkcs8 = pair
                    .as_der()
                    .map_err(|e| SandboxError::KeyGeneration(e.to_string()))?;
                let der = Zeroizing::new(pkcs8.as_ref().to_vec());
                write_private_file(&path, &der).map_err(SandboxError::io("write", &path))?;
                der
            }
            Err(err) => return Err(SandboxError::io("read", &path)(err)),
        };
        let broken = || SandboxError::BrokenSigningKey { path: path.clone() };
        let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).map_err(|_| broken())?;
        let public = pair.public_key();
        let modulus = public.modulus().big_endian_without_leading_zero().to_vec();
        let exponent = public.exponent().big_endian_without_leading_zero().to_vec();
        let key = RsaSigningKey::from_pkcs8_der(&der).map_err(|_| broken())?;
        let kid = b64url(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.public_key_pkcs1_der())
                .as_ref(),
        )[..27]
            .to_owned();
        let mut mac_seed = b"tenantlink sandbox access-token MAC key\0".to_vec();
        mac_seed.extend_from_slice(&der);
        let mac_seed = Zeroizing::new(mac_seed);
        let mac_key = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &mac_seed);
        let mac = hmac::Key::new(hmac::HMAC_SHA256, mac_key.as_ref());
        let mac_kid = format!("{}-mac", &kid[..16]);
        Ok(Self {
            key,
            kid,
            modulus,
            exponent,
            mac,
            mac_kid,
        })
    }

    pub(crate) fn jwks(&self) -> Value {
        json!({"keys": [{
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": b64url(&self.modulus),
            "e": b64url(&self.exponent),
        }]})
    }

    pub(crate) fn sign(&self, claims: &Value) -> String {
        let mut header = Map::new();
        header.insert("typ".into(), Value::String("JWT".into()));
        header.insert("kid".into(), Value::String(self.kid.clone()));
        // Signing with our own freshly loaded 2048-bit key cannot fail short of a broken RNG.
        tenantlink_jose::sign(header, claims, Algorithm::RS256, &self.key)
            .expect("signing with the sandbox key failed")
    }

    /// An HS256 JWT under the sandbox's MAC key.
    pub(crate) fn sign_hs256(&self, claims: &Value) -> String {
        let header = json!({"typ": "JWT", "alg": "HS256", "kid": self.mac_kid});
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let tag = hmac::sign(&self.mac, input.as_bytes());
        format!("{input}.{}", b64url(tag.as_ref()))
    }

    /// The claims of a token this sandbox issued, if its signature and `kid` check out.
    /// Expiry and audience are the caller's business.
    pub(crate) fn verify(&self, token: &str) -> Option<Map<String, Value>> {
        let jws = UnverifiedJws::parse(token).ok()?;
        if jws.header_str("alg") == Some("HS256") && jws.header_str("kid") == Some(&self.mac_kid) {
            let (input, tag) = token.rsplit_once('.')?;
            let tag = tenantlink_jose::b64url_decode_lenient(tag).ok()?;
            hmac::verify(&self.mac, input.as_bytes(), &tag).ok()?;
            return Some(jws.claims);
        }
        if jws.algorithm() != Some(Algorithm::RS256) || jws.header_str("kid") != Some(&self.kid) {
            return None;
        }
        jws.verify_rsa(Algorithm::RS256, self.key.public_key_pkcs1_der())
            .ok()?;
        Some(jws.claims)
    }
}
