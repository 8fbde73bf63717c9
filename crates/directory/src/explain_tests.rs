use super::*;
use tenantlink_entra::{EntraError, GraphError};

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
        (429, "TooManyRequests", DirectoryErrorKind::Unavailable),
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
