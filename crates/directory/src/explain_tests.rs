use super::*;
use std::time::Duration;
use tenantlink_entra::{EntraError, GraphError, TransportError};

fn entra(error: &str, code: u64, text: &str) -> EntraClientError {
    let body = format!(
        r#"{{"error":"{error}","error_description":"AADSTS{code}: {text}\r\nTrace ID: 6f6c4645-0202-4486-b625-fa957dfc4700","error_codes":[{code}]}}"#
    );
    EntraClientError::Entra(Box::new(
        EntraError::parse(401, body.as_bytes()).expect("an Entra error body"),
    ))
}

fn graph(status: u16, code: &str, message: &str) -> EntraClientError {
    let body = format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}}}"#);
    EntraClientError::Graph(Box::new(
        GraphError::parse(status, body.as_bytes()).expect("a Graph error body"),
    ))
}

#[test]
fn a_refused_assertion_key_is_a_credential_rejection_that_says_why() {
    let not_registered = explain(entra(
        "invalid_client",
        700027,
        "Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: 'ABCDEF0123', Configured keys: []]",
    ));
    assert_eq!(not_registered.kind, DirectoryErrorKind::CredentialRejected);
    assert_eq!(not_registered.code.as_deref(), Some("AADSTS700027"));
    assert_eq!(
        not_registered.refusal,
        Some(CredentialRefusal::KeyNotRegistered)
    );
    assert!(
        not_registered
            .message
            .contains("AADSTS700027: Client assertion failed"),
        "Entra's own text is kept: {not_registered:?}"
    );

    let expired = explain(entra(
        "invalid_client",
        700027,
        "Client assertion failed signature validation. [Reason - The key used is expired., Thumbprint of key used by client: 'ABCDEF0123']",
    ));
    assert_eq!(expired.refusal, Some(CredentialRefusal::KeyExpired));
}

#[test]
fn an_unknown_application_and_other_entra_failures_are_classified() {
    let missing = explain(entra(
        "unauthorized_client",
        700016,
        "Application with identifier 'x' was not found in the directory 'contoso'.",
    ));
    assert_eq!(missing.kind, DirectoryErrorKind::ApplicationNotFound);
    assert_eq!(missing.code.as_deref(), Some("AADSTS700016"));
    assert_eq!(missing.refusal, None, "only a refused key has a refusal");

    let other = explain(entra("invalid_request", 90002, "Tenant 'x' not found."));
    assert_eq!(other.kind, DirectoryErrorKind::Other);
    assert_eq!(other.code.as_deref(), Some("AADSTS90002"));
}

#[test]
fn graph_failures_become_the_kinds_the_workflows_act_on_with_graphs_code() {
    let cases = [
        (
            403,
            "Authorization_RequestDenied",
            DirectoryErrorKind::InsufficientPrivileges,
        ),
        (
            404,
            "Request_ResourceNotFound",
            DirectoryErrorKind::ApplicationNotFound,
        ),
        (429, "TooManyRequests", DirectoryErrorKind::Throttled),
        (503, "ServiceUnavailable", DirectoryErrorKind::Unavailable),
        (400, "Request_BadRequest", DirectoryErrorKind::Other),
    ];
    for (status, code, kind) in cases {
        let explained = explain(graph(status, code, "Graph said no."));
        assert_eq!(explained.kind, kind, "{code}");
        assert_eq!(explained.code.as_deref(), Some(code));
        assert_eq!(explained.refusal, None);
    }
    let policy = explain(graph(
        400,
        "BadRequest",
        "Credential lifetime exceeds the max value allowed as per assigned policy.",
    ));
    assert_eq!(policy.kind, DirectoryErrorKind::PolicyRejected);
}

fn graph_waiting(status: u16, code: &str, message: &str, seconds: u64) -> EntraClientError {
    let body = format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}}}"#);
    EntraClientError::Graph(Box::new(
        GraphError::parse(status, body.as_bytes())
            .expect("a Graph error body")
            .with_retry_after(Some(Duration::from_secs(seconds))),
    ))
}

/// Every mapping of the rotation's calls: Graph's code verbatim, its message kept, the wait
/// passed on, and the remedy of that kind.
#[test]
fn the_rotations_failures_map_to_their_kinds_codes_and_remedies() {
    struct Case {
        error: EntraClientError,
        call: Call,
        kind: DirectoryErrorKind,
        code: Option<&'static str>,
        message: &'static str,
        retry_after: Option<u64>,
        remediation: &'static str,
    }
    let cases = [
        Case {
            error: graph_waiting(429, "TooManyRequests", "Too many requests.", 45),
            call: Call::KeyWrite,
            kind: DirectoryErrorKind::Throttled,
            code: Some("TooManyRequests"),
            message: "Too many requests.",
            retry_after: Some(45),
            remediation: remediations::THROTTLED,
        },
        Case {
            error: graph_waiting(503, "ServiceUnavailable", "Service unavailable.", 30),
            call: Call::AppOnly,
            kind: DirectoryErrorKind::Unavailable,
            code: Some("ServiceUnavailable"),
            message: "Service unavailable.",
            retry_after: Some(30),
            remediation: remediations::UNAVAILABLE,
        },
        Case {
            error: graph(
                400,
                "Directory_ResourceSizeExceeded",
                "The size of the object has exceeded its limit.",
            ),
            call: Call::KeyWrite,
            kind: DirectoryErrorKind::QuotaExceeded,
            code: Some("Directory_ResourceSizeExceeded"),
            message: "The size of the object has exceeded its limit.",
            retry_after: None,
            remediation: remediations::QUOTA_EXCEEDED,
        },
        Case {
            error: graph(
                401,
                "Authentication_MissingOrMalformed",
                "Access Token missing or malformed.",
            ),
            call: Call::KeyWrite,
            kind: DirectoryErrorKind::ProofRejected,
            code: Some("Authentication_MissingOrMalformed"),
            message: "Access Token missing or malformed.",
            retry_after: None,
            remediation: remediations::PROOF_REJECTED,
        },
        Case {
            error: graph(
                400,
                "Request_BadRequest",
                "Credential lifetime exceeds the max value allowed as per assigned policy. The tenant allows certificates valid for at most 90 days.",
            ),
            call: Call::KeyWrite,
            kind: DirectoryErrorKind::PolicyRejected,
            code: Some("Request_BadRequest"),
            message: "at most 90 days",
            retry_after: None,
            remediation: remediations::POLICY_KEY_LIFETIME,
        },
        Case {
            error: graph(
                400,
                "Request_BadRequest",
                "The certificate must be issued by a trusted certificate authority as per the assigned policy.",
            ),
            call: Call::KeyWrite,
            kind: DirectoryErrorKind::PolicyRejected,
            code: Some("Request_BadRequest"),
            message: "trusted certificate authority",
            retry_after: None,
            remediation: remediations::POLICY_TRUSTED_CA,
        },
        Case {
            error: graph(
                400,
                "Request_BadRequest",
                "Credential type not allowed as per assigned policy.",
            ),
            call: Call::KeyWrite,
            kind: DirectoryErrorKind::PolicyRejected,
            code: Some("Request_BadRequest"),
            message: "not allowed as per assigned policy",
            retry_after: None,
            remediation: remediations::POLICY_OTHER,
        },
        Case {
            error: graph(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            ),
            call: Call::AppOnly,
            kind: DirectoryErrorKind::InsufficientPrivileges,
            code: Some("Authorization_RequestDenied"),
            message: "Insufficient privileges to complete the operation.",
            retry_after: None,
            remediation: remediations::APP_ONLY_PRIVILEGES,
        },
        Case {
            error: EntraClientError::Transport(TransportError::Connect {
                url: "https://graph.microsoft.com/v1.0/applications".into(),
                attempts: 5,
                detail: "connection refused".into(),
            }),
            call: Call::AppOnly,
            kind: DirectoryErrorKind::Unavailable,
            code: None,
            message: "connection refused",
            retry_after: None,
            remediation: remediations::UNAVAILABLE,
        },
    ];
    for case in cases {
        let explained = explain_call(case.error, case.call);
        let code = case.code.unwrap_or("no code");
        assert_eq!(explained.kind, case.kind, "{code}");
        assert_eq!(explained.code.as_deref(), case.code, "{code}");
        assert!(
            explained.message.contains(case.message),
            "{code}: Graph's words are kept: {}",
            explained.message
        );
        assert_eq!(
            explained.retry_after,
            case.retry_after.map(Duration::from_secs),
            "{code}"
        );
        assert_eq!(explained.remediation, case.remediation, "{code}");
        assert_eq!(explained.refusal, None, "{code}");
    }
}

#[test]
fn a_refused_token_on_a_read_is_not_a_refused_proof() {
    let read = explain_call(
        graph(
            401,
            "Authentication_MissingOrMalformed",
            "Access Token missing or malformed.",
        ),
        Call::AppOnly,
    );
    assert_eq!(read.kind, DirectoryErrorKind::Other);
    assert_eq!(
        read.code.as_deref(),
        Some("Authentication_MissingOrMalformed")
    );
}

#[test]
fn delegated_calls_keep_the_generate_workflows_remedies() {
    let throttled = || graph_waiting(429, "TooManyRequests", "Too many requests.", 10);
    let delegated = explain_call(throttled(), Call::Delegated);
    assert_eq!(delegated.kind, DirectoryErrorKind::Throttled);
    assert_eq!(delegated.retry_after, Some(Duration::from_secs(10)));
    assert_eq!(
        delegated.remediation,
        tenantlink_service::remediation::explain(&throttled()).remediation
    );
}

#[test]
fn a_delegated_policy_refusal_keeps_the_generate_workflows_remedy() {
    let error = || {
        graph(
            400,
            "Request_BadRequest",
            "Key credential lifetime exceeds the max value allowed as per assigned policy.",
        )
    };
    let delegated = explain_call(error(), Call::Delegated);
    assert_eq!(delegated.kind, DirectoryErrorKind::PolicyRejected);
    assert_eq!(
        delegated.remediation,
        tenantlink_service::remediation::explain(&error()).remediation
    );
    assert_ne!(delegated.remediation, remediations::POLICY_KEY_LIFETIME);
}

#[test]
fn entras_throttled_and_unavailable_token_answers_carry_their_wait() {
    let body = |error: &str, code: u64| {
        format!(
            r#"{{"error":"{error}","error_description":"AADSTS{code}: A transient error has occurred.","error_codes":[{code}]}}"#
        )
    };
    for (status, kind, remediation) in [
        (429, DirectoryErrorKind::Throttled, remediations::THROTTLED),
        (
            503,
            DirectoryErrorKind::Unavailable,
            remediations::UNAVAILABLE,
        ),
    ] {
        let entra = EntraError::parse(status, body("temporarily_unavailable", 90033).as_bytes())
            .unwrap()
            .with_retry_after(Some(Duration::from_secs(20)));
        let explained = explain_call(EntraClientError::Entra(Box::new(entra)), Call::AppOnly);
        assert_eq!(explained.kind, kind, "HTTP {status}");
        assert_eq!(explained.code.as_deref(), Some("AADSTS90033"));
        assert_eq!(explained.retry_after, Some(Duration::from_secs(20)));
        assert_eq!(explained.remediation, remediation);
    }
}
