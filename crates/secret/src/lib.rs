//! The one secret type of tenantlink. Passwords, bearer tokens, device codes, signed assertions,
//! session and API tokens, a database URL that may carry a password: every crate holds them as a
//! [`SecretString`], which is wiped from memory when dropped and prints a fixed redaction in
//! `Debug` and `Display`, so a stray `{:?}`, a `tracing` field or an assertion message cannot leak
//! one. Reading the value takes an explicit [`SecretString::expose`], at the one place that sends,
//! hashes or derives from it.
//!
//! The redaction is the same text whatever the value: not even its length shows.

use std::fmt;

use zeroize::Zeroizing;

/// What `Display` prints instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// A secret text. Zeroized on drop; `Debug` and `Display` never show it.
#[derive(Clone, Default)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The secret itself, for the one place that must send, hash or derive from it. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True for the empty secret (PKCS#12, for one, treats an empty password differently from
    /// none).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretString({REDACTED})")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}
