//! The proof-of-possession token of addKey/removeKey: a JWT signed with one of the application's
//! currently valid certificates, `aud` 00000002-0000-0000-c000-000000000000, `iss` the
//! application's object id, lifetime (exp − nbf) at most 10 minutes, no '=' padding.

use super::GraphError;
use crate::tenants::Application;
use serde_json::Value;
use tenantlink_jose::{UnverifiedJws, b64url_decode_lenient};
use time::OffsetDateTime;

const PROOF_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";
const MAX_LIFETIME_SECONDS: f64 = 600.0;

/// Every failure is Graph's 401 `Authentication_MissingOrMalformed`; the reason goes to the log.
pub(crate) fn verify(
    proof: &str,
    app: &Application,
    now: OffsetDateTime,
) -> Result<(), GraphError> {
    check(proof, app, now).map_err(|reason| {
        tracing::info!(reason, "addKey/removeKey proof rejected");
        GraphError::MissingOrMalformed
    })
}

fn check(proof: &str, app: &Application, now: OffsetDateTime) -> Result<(), &'static str> {
    let mut segments = proof.split('.');
    let (Some(header), Some(payload)) = (segments.next(), segments.next()) else {
        return Err("not a compact JWS");
    };
    if header.contains('=') || payload.contains('=') {
        return Err("padded base64url in header or payload");
    }
    let jws = UnverifiedJws::parse(proof).map_err(|_| "malformed")?;
    let alg = jws.algorithm().ok_or("unsupported alg")?;
    let audience_ok = match jws.claims.get("aud") {
        Some(Value::String(aud)) => aud == PROOF_AUDIENCE,
        Some(Value::Array(items)) => items.iter().any(|a| a.as_str() == Some(PROOF_AUDIENCE)),
        _ => false,
    };
    if !audience_ok {
        return Err("wrong audience");
    }
    if jws.claim_str("iss") != Some(app.id.to_string().as_str()) {
        return Err("iss is not the application's object id");
    }
    let nbf = jws.claim_date("nbf").ok_or("missing nbf")?;
    let exp = jws.claim_date("exp").ok_or("missing exp")?;
    if exp - nbf > MAX_LIFETIME_SECONDS {
        return Err("lifetime longer than 10 minutes");
    }
    let now_seconds = now.unix_timestamp() as f64;
    if now_seconds < nbf - 300.0 || now_seconds > exp + 300.0 {
        return Err("outside its validity window");
    }
    let named = jws
        .header_str("x5t#S256")
        .or_else(|| jws.header_str("x5t"))
        .and_then(|t| b64url_decode_lenient(t).ok());
    let verified = app
        .key_credentials
        .iter()
        .filter(|k| k.usage == "Verify" && k.start <= now && now <= k.end)
        .filter_map(|k| k.certificate())
        .filter(|c| {
            named
                .as_ref()
                .is_none_or(|t| &c.sha1 == t || &c.sha256 == t)
        })
        .any(|c| {
            c.rsa_public_key
                .as_deref()
                .is_some_and(|key| jws.verify_rsa(alg, key).is_ok())
        });
    if verified {
        Ok(())
    } else {
        Err("not signed by a currently valid certificate of the application")
    }
}
