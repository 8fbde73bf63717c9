use std::fmt;

use zeroize::Zeroizing;

/// A PKCS#12 password. Zeroized on drop; `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// True for the empty password, which PKCS#12 treats differently from "no password".
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The password text, for the key-derivation functions only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Password {
    fn from(value: String) -> Self {
        Self(Zeroizing::new(value))
    }
}

impl From<&str> for Password {
    fn from(value: &str) -> Self {
        Self(Zeroizing::new(value.to_owned()))
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}
