use super::*;

fn graph(status: u16, code: &str, message: &str) -> GraphError {
    let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
    GraphError::parse(status, body.as_bytes()).expect("a Graph error body")
}

#[test]
fn graph_errors_keep_the_message_and_request_ids() {
    let body = br#"{"error":{"code":"Authentication_MissingOrMalformed","message":"Access Token missing or malformed.","innerError":{"date":"2020-11-15T01:32:03","request-id":"r-1","client-request-id":"c-1"}}}"#;
    let e = GraphError::parse(401, body).unwrap();
    assert_eq!(e.kind, GraphErrorKind::MissingOrMalformedToken);
    assert_eq!(e.code, codes::AUTHENTICATION_MISSING_OR_MALFORMED);
    assert_eq!(e.message, "Access Token missing or malformed.");
    assert_eq!(e.request_id.as_deref(), Some("r-1"));
    assert_eq!(e.client_request_id.as_deref(), Some("c-1"));
    assert_eq!(e.date.as_deref(), Some("2020-11-15T01:32:03"));
    assert_eq!(e.retry_after, None, "parsing a body knows no header");
    assert_eq!(
        graph(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation."
        )
        .kind,
        GraphErrorKind::AuthorizationDenied
    );
    assert_eq!(
        graph(
            404,
            "Request_ResourceNotFound",
            "Resource 'x' does not exist."
        )
        .kind,
        GraphErrorKind::NotFound
    );
    assert!(GraphError::parse(502, b"<html>Bad gateway</html>").is_none());
}

#[test]
fn a_full_application_is_told_apart_from_other_bad_requests() {
    let full = graph(
        400,
        "Directory_ResourceSizeExceeded",
        "The size of the object has exceeded its limit. Please reduce the number of values and retry your request.",
    );
    assert!(full.is_quota_exceeded());
    assert_eq!(full.policy_restriction(), None);
    assert!(full.summary().contains("as many keys"));
    let bad = graph(
        400,
        "Request_BadRequest",
        "Invalid value specified for property 'key'.",
    );
    assert_eq!(bad.kind, GraphErrorKind::BadRequest);
    assert!(!bad.is_quota_exceeded());
}

#[test]
fn tenant_policy_refusals_name_the_restriction() {
    let lifetime = graph(
        400,
        "Request_BadRequest",
        "Key credential lifetime exceeds the max value allowed as per assigned policy.",
    );
    assert_eq!(lifetime.kind, GraphErrorKind::CredentialPolicyViolation);
    assert_eq!(
        lifetime.policy_restriction(),
        Some(PolicyRestriction::KeyLifetime)
    );
    assert!(
        lifetime
            .to_string()
            .contains("Key credential lifetime exceeds")
    );
    let issuer = graph(
        400,
        "Request_BadRequest",
        "The certificate is not issued by a trusted certificate authority as required by the app management policy.",
    );
    assert_eq!(issuer.kind, GraphErrorKind::CredentialPolicyViolation);
    assert_eq!(
        issuer.policy_restriction(),
        Some(PolicyRestriction::TrustedCertificateAuthority)
    );
    let other = graph(
        400,
        "BadRequest",
        "Credential type not allowed as per assigned policy.",
    );
    assert_eq!(other.policy_restriction(), Some(PolicyRestriction::Other));
    let denied = graph(
        403,
        "Authorization_RequestDenied",
        "Blocked by a conditional access policy.",
    );
    assert_eq!(
        denied.kind,
        GraphErrorKind::AuthorizationDenied,
        "a permission refusal that mentions a policy is still a permission refusal"
    );
}

#[test]
fn throttled_and_unavailable_answers_carry_their_wait() {
    let throttled = graph(429, "TooManyRequests", "Too many requests.")
        .with_retry_after(Some(Duration::from_secs(30)));
    assert_eq!(throttled.kind, GraphErrorKind::Throttled);
    assert!(throttled.is_throttled() && !throttled.is_unavailable());
    assert_eq!(throttled.retry_after, Some(Duration::from_secs(30)));
    assert!(throttled.to_string().ends_with("(Retry-After 30 s)"));

    let gateway = GraphError::without_body(503, "c-9".into(), Some(Duration::from_secs(5)));
    assert!(gateway.is_unavailable());
    assert_eq!(gateway.code, "", "no code is invented");
    assert_eq!(gateway.kind, GraphErrorKind::Other);
    assert_eq!(gateway.retry_after, Some(Duration::from_secs(5)));
    assert_eq!(gateway.client_request_id.as_deref(), Some("c-9"));
    assert_eq!(
        GraphError::without_body(429, "c".into(), None).kind,
        GraphErrorKind::Throttled
    );
}
