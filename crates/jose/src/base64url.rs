use crate::JoseError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// base64url without padding, as JWS requires (RFC 7515 §2).
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url with or without `=` padding: MSAL Python and azure-identity pad their
/// thumbprints and even whole segments, and Entra accepts them.
pub fn b64url_decode_lenient(text: &str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| JoseError::BadBase64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_padded_and_unpadded_alike() {
        let bytes = [0xfbu8, 0xff, 0x01, 0x02];
        let unpadded = b64url(&bytes);
        assert!(!unpadded.contains('='));
        assert_eq!(b64url_decode_lenient(&unpadded).unwrap(), bytes);
        assert_eq!(
            b64url_decode_lenient(&format!("{unpadded}==")).unwrap(),
            bytes
        );
    }

    #[test]
    fn rejects_standard_alphabet_characters() {
        assert!(b64url_decode_lenient("ab+/").is_err());
    }
}
