use std::fmt::Write as _;

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The certificate identifiers Entra ID, Windows and JOSE use, computed once from the DER.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Thumbprints {
    sha1: [u8; 20],
    sha256: [u8; 32],
}

impl Thumbprints {
    pub fn of_der(der: &[u8]) -> Self {
        let mut sha1 = [0u8; 20];
        // SHA-1 here is an identifier Entra and Windows display, not a security decision.
        sha1.copy_from_slice(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref());
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(digest::digest(&digest::SHA256, der).as_ref());
        Self { sha1, sha256 }
    }

    pub fn sha1(&self) -> &[u8; 20] {
        &self.sha1
    }

    pub fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }

    /// 40 upper-case hex characters, as Entra ID and Windows display it.
    pub fn sha1_hex(&self) -> String {
        upper_hex(&self.sha1)
    }

    /// 64 upper-case hex characters.
    pub fn sha256_hex(&self) -> String {
        upper_hex(&self.sha256)
    }

    /// JOSE `x5t`: base64url of the SHA-1 thumbprint, without padding.
    pub fn x5t(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.sha1)
    }

    /// JOSE `x5t#S256`: base64url of the SHA-256 thumbprint, without padding.
    pub fn x5t_s256(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.sha256)
    }
}

pub(crate) fn upper_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02X}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_of_known_input_match_independent_digests() {
        // "abc" digests are the FIPS 180 test vectors.
        let t = Thumbprints::of_der(b"abc");
        assert_eq!(t.sha1_hex(), "A9993E364706816ABA3E25717850C26C9CD0D89D");
        assert_eq!(
            t.sha256_hex(),
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
        );
        assert_eq!(t.x5t(), "qZk-NkcGgWq6PiVxeFDCbJzQ2J0");
        assert_eq!(t.x5t_s256(), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    }
}
