//! Steps the serve scenarios share: an active certificate to start from, and the proof that a
//! failed operation changed nothing and left its explanation in the audit log.

use super::{Server, Session};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The organization's active certificate before the scenario acts.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub organization: String,
    pub thumbprint: String,
    pub certificate: String,
}

/// Generates and activates a certificate through the device sign-in, as an administrator would.
pub async fn active_certificate(server: &Server, admin: &Session) -> Baseline {
    let organization = admin.first_organization().await;
    let op = admin.signed_in_operation(server, "generate").await;
    let (status, done) = admin.generate(&op).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{done}");
    assert_eq!(done["step"], "succeeded", "{done}");
    let page = certificate_page(admin, &organization).await;
    assert_eq!(page["state"], "valid", "{page}");
    Baseline {
        organization,
        thumbprint: done["sha1_thumbprint"]
            .as_str()
            .expect("thumbprint")
            .to_owned(),
        certificate: page["active"]["id"].as_str().expect("active id").to_owned(),
    }
}

pub async fn certificate_page(admin: &Session, organization: &str) -> Value {
    let (status, page) = admin
        .get(&format!("/api/v1/organizations/{organization}/certificate"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

/// The same certificate is active and valid, and no other certificate became active.
pub async fn assert_still_active(admin: &Session, baseline: &Baseline) {
    let page = certificate_page(admin, &baseline.organization).await;
    assert_eq!(page["state"], "valid", "{page}");
    assert_eq!(
        page["active"]["id"],
        baseline.certificate.as_str(),
        "{page}"
    );
    assert_eq!(
        page["active"]["sha1_thumbprint"],
        baseline.thumbprint.as_str(),
        "{page}"
    );
    let (_, org) = admin
        .get(&format!("/api/v1/organizations/{}", baseline.organization))
        .await;
    assert_eq!(
        org["active_certificate"],
        baseline.certificate.as_str(),
        "{org}"
    );
    let others_active: Vec<&Value> = page["previous"]
        .as_array()
        .expect("previous")
        .iter()
        .filter(|c| c["active"] == true)
        .collect();
    assert!(others_active.is_empty(), "{page}");
}

/// The operation is failed with a code starting with `code_prefix`; returns its failure.
pub fn assert_failed(operation: &Value, code_prefix: &str) -> Value {
    assert_eq!(operation["step"], "failed", "{operation}");
    let failure = operation["failure"].clone();
    let code = failure["code"].as_str().expect("failure code");
    assert!(
        code.starts_with(code_prefix),
        "failure code {code:?} should start with {code_prefix:?}: {operation}"
    );
    for field in ["message", "remediation"] {
        assert!(
            failure[field].as_str().is_some_and(|t| t.len() > 20),
            "an explained failure has a {field}: {operation}"
        );
    }
    failure
}

/// The audit log records the failure with its code, as a failure, by the administrator. The
/// operation's task writes the entry just after it stores the failed step (which is what the
/// caller waited for), so the log is read again until the entry is there, within a deadline.
pub async fn assert_failure_audited(admin: &Session, actor: &str, code: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, audit) = admin.get("/api/v1/audit").await;
        assert_eq!(status, StatusCode::OK, "{audit}");
        let found = audit
            .as_array()
            .expect("audit entries")
            .iter()
            .find(|e| {
                e["action"] == "operation_failed"
                    && e["outcome"] == "failure"
                    && e["actor"] == actor
                    && e["detail"].as_str().is_some_and(|d| d.starts_with(code))
            })
            .cloned();
        if let Some(entry) = found {
            return entry;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no audited failure {code:?} by {actor}: {audit}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A finished operation cannot be continued: the API answers 409 with a problem document.
pub async fn assert_refuses_to_continue(admin: &Session, op: &str, action: &str) {
    let (status, problem) = match action {
        "import" => admin.import(op, b"irrelevant".to_vec(), None).await,
        _ => {
            admin
                .post(&format!("/api/v1/operations/{op}/{action}"), json!({}))
                .await
        }
    };
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["type"], "/problems/wrong-step", "{problem}");
    assert!(
        problem["detail"].as_str().is_some_and(|d| d.contains(op)),
        "the problem names the operation: {problem}"
    );
}

/// Starts an operation and returns its id and the user code of its device sign-in.
pub async fn start_operation(admin: &Session, organization: &str, kind: &str) -> (String, String) {
    let (status, op) = admin
        .post(
            &format!("/api/v1/organizations/{organization}/operations"),
            json!({ "kind": kind }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{op}");
    (
        op["id"].as_str().expect("id").to_owned(),
        op["sign_in"]["user_code"]
            .as_str()
            .expect("user code")
            .to_owned(),
    )
}

/// Reads the run until it has ended. Runs go through HTTPS to the sandbox in a debug build on a
/// loaded machine, so the deadline is generous; each poll is short.
pub async fn finished_run(session: &Session, run: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    loop {
        let (status, detail) = session.get(&format!("/api/v1/runs/{run}")).await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        if detail["run"]["status"] != "running" {
            return detail;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run never ended: {detail}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}
