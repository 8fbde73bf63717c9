//! "Not attached" end to end on the real binary and the in-process sandbox: after the active
//! certificate's key is removed from the application through the sandbox's Microsoft Graph,
//! **Check connection** asks Entra once and the certificate page and API say "not attached",
//! explained, with Generate / Upload as what to do. SQLite and PostgreSQL.

mod openssl_support;
mod sandbox_process;
mod serve_support;

use reqwest::StatusCode;
use sandbox_process::GraphAdmin;
use serde_json::{Value, json};
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, log_in};

const CHECK_BUTTON: &str = r#"<button type="submit">Check connection</button>"#;

on_both_backends!(removing_the_key_in_entra_then_check_connection_says_not_attached);

async fn removing_the_key_in_entra_then_check_connection_says_not_attached(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin signs in");
    let org = admin.first_organization().await;
    let check = format!("/api/v1/organizations/{org}/check");
    let page_path = format!("/api/v1/organizations/{org}/certificate");

    // Nothing to check before a certificate is active.
    let (status, problem) = admin.post(&check, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Generate a new certificate"),
        "{problem}"
    );

    let op = admin.signed_in_operation(&server, "generate").await;
    let (status, done) = admin.generate(&op).await;
    assert_eq!(
        (status, &done["step"]),
        (StatusCode::ACCEPTED, &json!("succeeded")),
        "{done}"
    );
    let thumbprint = done["sha1_thumbprint"]
        .as_str()
        .expect("thumbprint")
        .to_owned();

    // The activation's proof is on the page; a check while attached is accepted.
    let (_, page) = admin.get(&page_path).await;
    assert_eq!(page["state"], "valid", "{page}");
    assert_eq!(page["last_check"]["outcome"], "accepted", "{page}");
    assert_eq!(page["last_check"]["source"], "activation", "{page}");
    let (status, page) = admin.post(&check, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["state"], "valid", "{page}");
    assert_eq!(page["last_check"]["source"], "connection_check", "{page}");

    // A tenant administrator deletes the key in Entra ID (Graph PATCH without it).
    let graph = GraphAdmin::sign_in(&server.sandbox).await;
    remove_key(&graph, &thumbprint).await;
    assert!(!graph.thumbprints().await.contains(&thumbprint));

    let (status, page) = admin.post(&check, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["state"], "not_attached", "{page}");
    assert_eq!(page["active"]["sha1_thumbprint"], thumbprint.as_str());
    assert_eq!(page["active"]["state"], "not_attached");
    let last = &page["last_check"];
    assert_eq!(last["outcome"], "key_not_registered", "{page}");
    assert_eq!(last["source"], "connection_check");
    assert!(last["checked_at"].as_str().is_some_and(|t| !t.is_empty()));
    let explanation = last["explanation"].as_str().unwrap_or_default();
    assert!(explanation.contains("Not attached"), "{explanation}");
    assert!(explanation.contains(&thumbprint), "{explanation}");
    let remediation = last["remediation"].as_str().unwrap_or_default();
    assert!(
        remediation.contains("Generate a new certificate"),
        "{remediation}"
    );
    assert!(
        remediation.contains("Upload a custom certificate"),
        "{remediation}"
    );
    assert!(
        last["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("AADSTS700027"),
        "{page}"
    );

    // The recorded answer is what every later view shows, in the API and on the page.
    let (_, again) = admin.get(&page_path).await;
    assert_eq!(again["state"], "not_attached");
    let (status, html) = admin
        .get_text(&format!("/organizations/{org}/settings/system"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"data-state="not_attached""#), "{html}");
    assert!(html.contains("Not attached") && html.contains("Last checked"));
    assert!(
        html.contains(&format!(r#"href="/organizations/{org}""#)),
        "the breadcrumb links back to the organization page: {html}"
    );
    assert!(
        html.contains(CHECK_BUTTON),
        "an administrator has the button"
    );

    // Viewers see the state but may not check.
    let (status, _) = admin
        .post(
            "/api/v1/users",
            json!({"username": "val", "password": "viewer-password-1", "role": "viewer"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let viewer = log_in(&server.base, "val", "viewer-password-1")
        .await
        .expect("viewer signs in");
    let (status, _) = viewer.post(&check, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, html) = viewer
        .get_text(&format!("/organizations/{org}/settings/system"))
        .await;
    assert!(html.contains("Not attached") && !html.contains(CHECK_BUTTON));

    let (_, audit) = admin.get("/api/v1/audit?limit=50").await;
    let checks: Vec<&Value> = audit
        .as_array()
        .expect("audit list")
        .iter()
        .filter(|e| e["action"] == "connection_checked")
        .collect();
    assert_eq!(checks.len(), 2, "{audit}");
    assert_eq!(checks[0]["outcome"], "failure", "newest first: {audit}");
    assert_eq!(checks[0]["thumbprints"], json!([thumbprint]));
}

/// Read–merge–write without the certificate: every other key is sent back unchanged.
async fn remove_key(graph: &GraphAdmin, thumbprint: &str) {
    let keys: Vec<Value> = graph
        .key_credentials()
        .await
        .into_iter()
        .filter(|k| {
            !k["customKeyIdentifier"]
                .as_str()
                .unwrap_or_default()
                .eq_ignore_ascii_case(thumbprint)
        })
        .collect();
    graph.put_key_credentials(keys).await;
}
