use crate::{Algorithm, JoseError, JsonObject, RsaSigningKey, b64url, b64url_decode_lenient};
use aws_lc_rs::signature::UnparsedPublicKey;
use serde_json::Value;

/// Signs `claims` under `header` (to which `alg` is added) and returns the compact form.
pub fn sign(
    mut header: JsonObject,
    claims: &Value,
    alg: Algorithm,
    key: &RsaSigningKey,
) -> Result<String, JoseError> {
    header.insert("alg".into(), Value::String(alg.name().into()));
    let header_json = serde_json::to_vec(&header).map_err(|_| JoseError::BadJson("header"))?;
    let claims_json = serde_json::to_vec(claims).map_err(|_| JoseError::BadJson("claims"))?;
    let mut token = format!("{}.{}", b64url(&header_json), b64url(&claims_json));
    let signature = key.sign(alg, token.as_bytes())?;
    token.push('.');
    token.push_str(&b64url(&signature));
    Ok(token)
}

/// A compact JWS split and decoded, whose signature has not been checked yet.
#[derive(Debug, Clone)]
pub struct UnverifiedJws {
    pub header: JsonObject,
    pub claims: JsonObject,
    signing_input: String,
    signature: Vec<u8>,
}

impl UnverifiedJws {
    /// Splits and decodes a token. The signature is later checked over the text exactly as
    /// received, so a client that padded its segments still verifies.
    pub fn parse(token: &str) -> Result<Self, JoseError> {
        let token = token.trim();
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed(
                "expected three dot-separated segments",
            ));
        };
        if header.is_empty() || claims.is_empty() || signature.is_empty() {
            return Err(JoseError::Malformed("a segment is empty"));
        }
        Ok(Self {
            header: decode_object(header, "header")?,
            claims: decode_object(claims, "claims")?,
            signing_input: format!("{header}.{claims}"),
            signature: b64url_decode_lenient(signature)?,
        })
    }

    /// The algorithm the header names, if it is one of ours.
    pub fn algorithm(&self) -> Option<Algorithm> {
        self.header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(Algorithm::from_name)
    }

    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A NumericDate claim in any of the forms real clients send (see [`numeric_date`]).
    pub fn claim_date(&self, name: &str) -> Option<f64> {
        self.claims.get(name).and_then(numeric_date)
    }

    /// Checks the signature with an RSA public key in PKCS#1 `RSAPublicKey` DER form.
    /// Keys shorter than 2048 bits never verify.
    pub fn verify_rsa(
        &self,
        alg: Algorithm,
        rsa_public_key_pkcs1_der: &[u8],
    ) -> Result<(), JoseError> {
        UnparsedPublicKey::new(alg.verification_parameters(), rsa_public_key_pkcs1_der)
            .verify(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| JoseError::BadSignature(alg))
    }
}

fn decode_object(segment: &str, what: &'static str) -> Result<JsonObject, JoseError> {
    let bytes = b64url_decode_lenient(segment)?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JoseError::BadJson(what)),
    }
}

/// Reads a NumericDate leniently: MSAL Python sends floats (`time.time() + 600`), MSAL.NET
/// sends numeric strings, everyone else integers.
pub fn numeric_date(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|seconds| seconds.is_finite())
}
