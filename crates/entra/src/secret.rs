//! Bearer tokens and other secrets the client handles: they redact themselves in `Debug` and
//! `Display` and are wiped from memory when dropped, so a stray `{:?}` or a log line cannot leak
//! them.

use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: String) -> Self {
                Self(value)
            }

            /// The secret itself, for putting on the wire. Never log it.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(<redacted, {} chars>)"), self.0.len())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("<redacted>")
            }
        }
    };
}

secret_string!(
    /// An app-only access token obtained with a client assertion.
    AccessToken
);
secret_string!(
    /// A delegated access token from a device sign-in: lives only as long as the operation.
    DelegatedToken
);
secret_string!(
    /// The `device_code` of a device authorization: whoever holds it can redeem the sign-in.
    DeviceCodeSecret
);
secret_string!(
    /// A signed JWT (client assertion or proof of possession): a bearer credential while valid.
    SignedJwt
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print_their_value() {
        let token = AccessToken::new("eyJ.secret.value".to_owned());
        assert!(!format!("{token:?}").contains("secret"));
        assert!(!format!("{token}").contains("secret"));
        assert_eq!(token.expose(), "eyJ.secret.value");
    }
}
