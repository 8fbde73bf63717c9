//! Compact JWS (RFC 7515) with RSA, as Entra ID uses it: client assertions, Graph
//! proof-of-possession tokens and the sandbox's access tokens.
//!
//! Written by hand rather than with `jsonwebtoken` because (a) that crate re-parses the DER key on
//! every signature (about 3× slower than a cached `aws_lc_rs` key pair, see
//! `shared/reference/rust-stack.md`), and (b) Entra's clients send tokens no strict JWT library
//! accepts: padded base64url segments, fractional or string NumericDates. Parsing here is lenient
//! in exactly those ways; signing is strict (no padding, integer dates chosen by the caller).
//!
//! Pure: no I/O, no clock.

mod algorithm;
mod base64url;
mod jws;
mod key;

pub use algorithm::Algorithm;
pub use base64url::{b64url, b64url_decode_lenient};
pub use jws::{UnverifiedJws, numeric_date, sign};
pub use key::RsaSigningKey;

use serde_json::{Map, Value};

/// A JSON object: a JWS header or claim set.
pub type JsonObject = Map<String, Value>;

/// Why a token could not be built, parsed or verified.
#[derive(Debug, thiserror::Error)]
pub enum JoseError {
    #[error("the private key is not a usable RSA PKCS#8 key: {0}")]
    InvalidKey(String),
    #[error("the token is not a compact JWS: {0}")]
    Malformed(&'static str),
    #[error("a token segment is not valid base64url")]
    BadBase64,
    #[error("the token {0} is not a JSON object")]
    BadJson(&'static str),
    #[error("the RSA public key is not a valid PKCS#1 RSAPublicKey")]
    InvalidPublicKey,
    #[error("the signature does not verify with the given key and {0}")]
    BadSignature(Algorithm),
    #[error("signing failed")]
    SigningFailed,
}
