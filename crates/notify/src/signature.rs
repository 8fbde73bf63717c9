//! Standard Webhooks signatures: `v1,` and the base64 HMAC-SHA256, keyed with the secret's
//! bytes, of `{webhook-id}.{webhook-timestamp}.{body}`.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// The prefix of a Standard Webhooks secret; what follows is the key in base64.
pub const SECRET_PREFIX: &str = "whsec_";

/// Standard base64, padded or not: the reference libraries accept both.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The endpoint's secret cannot key a signature. Never carries the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the endpoint's signing secret is not `whsec_` followed by a base64 key")]
    NotBase64,
    #[error("the endpoint's signing secret is empty")]
    Empty,
}

/// The `webhook-signature` header value for one message.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, SignatureError> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = zeroize::Zeroizing::new(
        LENIENT
            .decode(encoded)
            .map_err(|_| SignatureError::NotBase64)?,
    );
    if key.is_empty() {
        return Err(SignatureError::Empty);
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key);
    let mut context = hmac::Context::with_key(&key);
    context.update(id.as_bytes());
    context.update(b".");
    context.update(timestamp.to_string().as_bytes());
    context.update(b".");
    context.update(body.as_bytes());
    let tag = context.sign();
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification (and of its reference libraries'
    /// tests): this secret, id, timestamp and body sign to this value.
    #[test]
    fn the_specification_example_signs_to_its_published_value() {
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_secret_that_is_not_base64_or_is_empty_is_refused_without_showing_it() {
        let err = sign("whsec_not base64!", "id", 1, "{}").unwrap_err();
        assert_eq!(err, SignatureError::NotBase64);
        assert!(!err.to_string().contains("not base64!"));
        assert_eq!(sign("whsec_", "id", 1, "{}"), Err(SignatureError::Empty));
    }

    #[test]
    fn unpadded_base64_is_the_same_key() {
        let padded = sign("whsec_AAECAw==", "id", 1, "{}").unwrap();
        assert_eq!(sign("whsec_AAECAw", "id", 1, "{}").unwrap(), padded);
    }
}
