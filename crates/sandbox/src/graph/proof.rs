//! The proof-of-possession token of addKey/removeKey (`GD/concepts/application-rollkey-prooftoken.md`):
//! a JWT signed with one of the application's currently valid certificates, `aud` Azure AD
//! Graph's id `00000002-0000-0000-c000-000000000000` (the docs repository) or Microsoft Graph's
//! `00000003-0000-0000-c000-000000000000` (one published version of the same page; field lessons
//! E) — both are accepted so the client may send either; `iss` the application's object id (not
//! its appId); lifetime (exp − nbf) at most 10 minutes; no '=' padding in header or payload.
//! Graph's resource URL (`https://graph.microsoft.com`) is not a documented value and is refused:
//! accepting it here would let a client ship a proof that Graph may reject.

use super::GraphError;
use crate::tenants::Application;
use serde_json::Value;
use tenantlink_jose::{UnverifiedJws, b64url_decode_lenient};
use time::OffsetDateTime;

const PROOF_AUDIENCES: [&str; 2] = [
    "00000002-0000-0000-c000-000000000000",
    "00000003-0000-0000-c000-000000000000",
];
const MAX_LIFETIME_SECONDS: f64 = 600.0;
/// The tolerance Entra gives client assertions, also applied to proofs (UNCONFIRMED for Graph).
const CLOCK_SKEW_SECONDS: f64 = 300.0;

/// Every failure is Graph's 401 `Authentication_MissingOrMalformed` (Graph says no more); the
/// reason goes to the log so that a test or an operator can see which rule failed.
pub(crate) fn verify(
    proof: &str,
    app: &Application,
    now: OffsetDateTime,
) -> Result<(), GraphError> {
    check(proof, app, now).map_err(|reason| {
        tracing::info!(reason, app_id = %app.app_id, "addKey/removeKey proof rejected");
        GraphError::MissingOrMalformed
    })
}

fn check(proof: &str, app: &Application, now: OffsetDateTime) -> Result<(), &'static str> {
    let jws = parse_unpadded(proof)?;
    check_claims(&jws, app, now)?;
    check_signer(&jws, app, now)
}

fn parse_unpadded(proof: &str) -> Result<UnverifiedJws, &'static str> {
    let mut segments = proof.split('.');
    let (Some(header), Some(payload)) = (segments.next(), segments.next()) else {
        return Err("not a compact JWS");
    };
    if header.contains('=') || payload.contains('=') {
        return Err("padded base64url in header or payload");
    }
    UnverifiedJws::parse(proof).map_err(|_| "malformed")
}

fn check_claims(
    jws: &UnverifiedJws,
    app: &Application,
    now: OffsetDateTime,
) -> Result<(), &'static str> {
    let accepted = |aud: &str| PROOF_AUDIENCES.contains(&aud);
    let audience_ok = match jws.claims.get("aud") {
        Some(Value::String(aud)) => accepted(aud),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).any(accepted),
        _ => false,
    };
    if !audience_ok {
        return Err("aud is neither 00000002-0000-0000-c000-000000000000 nor 00000003-…");
    }
    if jws.claim_str("iss") != Some(app.id.to_string().as_str()) {
        return Err("iss is not the application's object id");
    }
    let nbf = jws.claim_date("nbf").ok_or("missing nbf")?;
    let exp = jws.claim_date("exp").ok_or("missing exp")?;
    if exp - nbf > MAX_LIFETIME_SECONDS {
        return Err("lifetime (exp - nbf) longer than 10 minutes");
    }
    let now_seconds = now.unix_timestamp() as f64;
    if now_seconds < nbf - CLOCK_SKEW_SECONDS || now_seconds > exp + CLOCK_SKEW_SECONDS {
        return Err("outside its validity window");
    }
    Ok(())
}

/// Signed by a `Verify` certificate of the application whose key window holds `now`: an
/// application whose certificates all expired (or are not valid yet) cannot make a proof.
fn check_signer(
    jws: &UnverifiedJws,
    app: &Application,
    now: OffsetDateTime,
) -> Result<(), &'static str> {
    let alg = jws.algorithm().ok_or("unsupported alg")?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenants::seed::new_application;
    use serde_json::json;
    use tenantlink_jose::b64url;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-02 10:00:00 UTC);

    /// An unsigned compact JWS: the claim checks run before (and without) the signature.
    fn token(claims: Value) -> String {
        let header = b64url(json!({"alg": "RS256", "typ": "JWT"}).to_string().as_bytes());
        let payload = b64url(claims.to_string().as_bytes());
        format!("{header}.{payload}.c2ln")
    }

    fn claims_of(app: &Application, aud: Value, lifetime: i64) -> Value {
        let nbf = NOW.unix_timestamp();
        json!({"aud": aud, "iss": app.id.to_string(), "nbf": nbf, "exp": nbf + lifetime})
    }

    fn claim_check(app: &Application, claims: Value) -> Result<(), &'static str> {
        check_claims(&parse_unpadded(&token(claims))?, app, NOW)
    }

    #[test]
    fn both_documented_audiences_are_accepted_and_nothing_else() {
        let app = new_application("roller", false, &[]);
        for aud in PROOF_AUDIENCES {
            assert_eq!(claim_check(&app, claims_of(&app, json!(aud), 600)), Ok(()));
            assert_eq!(
                claim_check(&app, claims_of(&app, json!(["other", aud]), 600)),
                Ok(()),
                "an array holding {aud}"
            );
        }
        for aud in [
            "https://graph.microsoft.com",
            "00000004-0000-0000-c000-000000000000",
        ] {
            assert!(claim_check(&app, claims_of(&app, json!(aud), 600)).is_err());
        }
    }

    #[test]
    fn issuer_must_be_the_object_id_and_lifetime_at_most_ten_minutes() {
        let app = new_application("roller", false, &[]);
        let aud = json!(PROOF_AUDIENCES[0]);
        let mut by_app_id = claims_of(&app, aud.clone(), 600);
        by_app_id["iss"] = json!(app.app_id.to_string());
        assert_eq!(
            claim_check(&app, by_app_id),
            Err("iss is not the application's object id")
        );
        assert_eq!(
            claim_check(&app, claims_of(&app, aud.clone(), 601)),
            Err("lifetime (exp - nbf) longer than 10 minutes")
        );
        let mut stale = claims_of(&app, aud, 600);
        stale["nbf"] = json!(NOW.unix_timestamp() - 3600);
        stale["exp"] = json!(NOW.unix_timestamp() - 3000);
        assert_eq!(claim_check(&app, stale), Err("outside its validity window"));
    }

    #[test]
    fn padded_segments_are_refused() {
        let app = new_application("roller", false, &[]);
        let proof = token(claims_of(&app, json!(PROOF_AUDIENCES[1]), 600));
        let mut parts: Vec<String> = proof.split('.').map(str::to_owned).collect();
        parts[0].push('=');
        assert_eq!(
            parse_unpadded(&parts.join(".")).err(),
            Some("padded base64url in header or payload")
        );
    }

    #[test]
    fn an_application_without_a_valid_certificate_cannot_sign() {
        let app = new_application("roller", false, &[]);
        let jws = parse_unpadded(&token(claims_of(&app, json!(PROOF_AUDIENCES[0]), 600))).unwrap();
        assert_eq!(
            check_signer(&jws, &app, NOW),
            Err("not signed by a currently valid certificate of the application")
        );
    }
}
