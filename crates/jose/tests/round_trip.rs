//! Sign/verify behaviour with real RSA keys generated at test time.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use serde_json::json;
use tenantlink_jose::{
    Algorithm, JoseError, RsaSigningKey, UnverifiedJws, b64url, numeric_date, sign,
};

fn fresh_key(size: KeySize) -> RsaSigningKey {
    let pair = KeyPair::generate(size).expect("generate RSA key");
    let pkcs8 = pair.as_der().expect("encode PKCS#8");
    RsaSigningKey::from_pkcs8_der(pkcs8.as_ref()).expect("parse PKCS#8")
}

#[test]
fn every_algorithm_round_trips_and_header_carries_alg() {
    let key = fresh_key(KeySize::Rsa2048);
    assert_eq!(key.modulus_bits(), 2048);
    for alg in Algorithm::ALL {
        let mut header = serde_json::Map::new();
        header.insert("typ".into(), json!("JWT"));
        let token = sign(header, &json!({"iss": "me", "exp": 1}), alg, &key).unwrap();
        assert!(!token.contains('='), "{alg}: padding in {token}");
        let parsed = UnverifiedJws::parse(&token).unwrap();
        assert_eq!(parsed.algorithm(), Some(alg));
        assert_eq!(parsed.header_str("typ"), Some("JWT"));
        assert_eq!(parsed.claim_str("iss"), Some("me"));
        parsed.verify_rsa(alg, key.public_key_pkcs1_der()).unwrap();
    }
}

#[test]
fn signature_fails_with_other_key_other_algorithm_or_tampered_claims() {
    let key = fresh_key(KeySize::Rsa2048);
    let other = fresh_key(KeySize::Rsa2048);
    let token = sign(
        serde_json::Map::new(),
        &json!({"sub": "a"}),
        Algorithm::PS256,
        &key,
    )
    .unwrap();
    let parsed = UnverifiedJws::parse(&token).unwrap();
    assert!(matches!(
        parsed.verify_rsa(Algorithm::PS256, other.public_key_pkcs1_der()),
        Err(JoseError::BadSignature(Algorithm::PS256))
    ));
    assert!(
        parsed
            .verify_rsa(Algorithm::RS256, key.public_key_pkcs1_der())
            .is_err()
    );

    let mut segments: Vec<&str> = token.split('.').collect();
    let forged_claims = b64url(br#"{"sub":"b"}"#);
    segments[1] = &forged_claims;
    let forged = UnverifiedJws::parse(&segments.join(".")).unwrap();
    assert!(
        forged
            .verify_rsa(Algorithm::PS256, key.public_key_pkcs1_der())
            .is_err()
    );
}

#[test]
fn padded_segments_verify_over_the_text_as_received() {
    // azure-identity pads every segment with '=' and signs the padded text, so the signature
    // must be checked over the received text, not over a re-encoding.
    let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let key = RsaSigningKey::from_pkcs8_der(pair.as_der().unwrap().as_ref()).unwrap();
    let pad = |s: String| {
        let missing = (4 - s.len() % 4) % 4;
        s + &"=".repeat(missing)
    };
    let header = pad(b64url(br#"{"alg":"RS256","typ":"JWT","x5t":"abc="}"#));
    let claims = pad(b64url(br#"{"exp":1795767829.4801066,"nbf":"1795767229"}"#));
    assert!(
        header.ends_with('=') || claims.ends_with('='),
        "test input must be padded"
    );
    let signing_input = format!("{header}.{claims}");
    let mut signature = vec![0; pair.public_modulus_len()];
    pair.sign(
        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .unwrap();
    let token = format!("{signing_input}.{}", pad(b64url(&signature)));

    let parsed = UnverifiedJws::parse(&token).unwrap();
    parsed
        .verify_rsa(Algorithm::RS256, key.public_key_pkcs1_der())
        .unwrap();
    assert_eq!(parsed.claim_date("exp"), Some(1795767829.4801066));
    assert_eq!(parsed.claim_date("nbf"), Some(1795767229.0));
    assert_eq!(parsed.header_str("x5t"), Some("abc="));
}

#[test]
fn malformed_tokens_are_refused_specifically() {
    assert!(matches!(
        UnverifiedJws::parse("a.b"),
        Err(JoseError::Malformed(_))
    ));
    assert!(matches!(
        UnverifiedJws::parse("a.b.c.d"),
        Err(JoseError::Malformed(_))
    ));
    assert!(matches!(
        UnverifiedJws::parse("..x"),
        Err(JoseError::Malformed(_))
    ));
    assert!(matches!(
        UnverifiedJws::parse("!!.e30.AA"),
        Err(JoseError::BadBase64)
    ));
    let not_object = format!("{}.{}.AA", b64url(b"[1]"), b64url(b"{}"));
    assert!(matches!(
        UnverifiedJws::parse(&not_object),
        Err(JoseError::BadJson("header"))
    ));
}

#[test]
fn numeric_dates_in_all_client_forms() {
    assert_eq!(numeric_date(&json!(1700000000)), Some(1700000000.0));
    assert_eq!(numeric_date(&json!(1700000000.25)), Some(1700000000.25));
    assert_eq!(numeric_date(&json!(" 1700000000 ")), Some(1700000000.0));
    assert_eq!(numeric_date(&json!("soon")), None);
    assert_eq!(numeric_date(&json!(null)), None);
}

#[test]
fn keys_below_2048_bits_never_verify() {
    // aws-lc-rs cannot generate 1024-bit keys, so check the 2048 floor with a truncated key:
    // an obviously invalid public key must fail rather than panic.
    let key = fresh_key(KeySize::Rsa2048);
    let token = sign(serde_json::Map::new(), &json!({}), Algorithm::RS256, &key).unwrap();
    let parsed = UnverifiedJws::parse(&token).unwrap();
    assert!(
        parsed
            .verify_rsa(Algorithm::RS256, &key.public_key_pkcs1_der()[..40])
            .is_err()
    );
}
