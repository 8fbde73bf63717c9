//! `tenantlink serve` end to end over HTTP: the real binary on SQLite and on PostgreSQL, the
//! in-process sandbox tenant.

mod openssl_support;
mod sandbox_process;
mod serve_support;

use reqwest::StatusCode;
use serde_json::json;
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, client, log_in, openssl_pfx};

on_both_backends!(
    generate_through_device_sign_in_activates_a_certificate_and_errors_change_nothing
);

async fn generate_through_device_sign_in_activates_a_certificate_and_errors_change_nothing(
    backend: Backend,
) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let base = server.base.clone();

    // Health and the OpenAPI document need no sign-in.
    let http = client();
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let openapi: serde_json::Value = http
        .get(format!("{base}/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(openapi["openapi"], "3.1.0");
    assert!(openapi["paths"]["/api/v1/operations/{id}/generate"]["post"].is_object());
    // The notices API and the webhook event body (the payload receivers get) are documented.
    for (path, method) in [
        ("/api/v1/webhooks", "post"),
        ("/api/v1/webhooks/{id}/test", "post"),
        ("/api/v1/notices/settings", "put"),
    ] {
        assert!(
            openapi["paths"][path][method].is_object(),
            "{method} {path}"
        );
    }
    assert!(openapi["components"]["schemas"]["WebhookEventDto"]["properties"]["data"].is_object());

    // Unauthenticated API calls get a 401 problem.
    let response = http
        .get(format!("{base}/api/v1/organizations"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );

    // The sign-in form is labelled Username and Password; a wrong password is refused.
    let login_page = http
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login_page.contains(">Username</label>") && login_page.contains(">Password</label>"));
    assert_eq!(
        log_in(&base, "admin", "wrong-password-123").await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );

    let admin = log_in(&base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin signs in");
    let org = admin.first_organization().await;

    // State-changing requests with the session cookie need the CSRF token.
    assert_eq!(
        admin
            .post_without_csrf(
                &format!("/api/v1/organizations/{org}/operations"),
                json!({"kind": "generate"})
            )
            .await,
        StatusCode::FORBIDDEN
    );

    // Generate: device sign-in approved on the sandbox, then Generate.
    let op = admin.signed_in_operation(&server, "generate").await;
    let (status, done) = admin.generate(&op).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{done}");
    assert_eq!(done["step"], "succeeded", "{done}");
    let thumbprint = done["sha1_thumbprint"].as_str().unwrap().to_owned();
    let (_, page) = admin
        .get(&format!("/api/v1/organizations/{org}/certificate"))
        .await;
    assert_eq!(page["state"], "valid");
    assert_eq!(page["active"]["sha1_thumbprint"], thumbprint.as_str());
    assert_eq!(page["active"]["source"], "generated");
    assert_eq!(page["active"]["days_left"], 364);

    // The fleet view (issue 13) says the same from its one snapshot, and names a bad parameter.
    let (status, fleet) = admin.get("/api/v1/organizations?per_page=10").await;
    assert_eq!(status, StatusCode::OK, "{fleet}");
    assert_eq!(
        (fleet["total"].as_u64(), fleet["per_page"].as_u64()),
        (Some(1), Some(10))
    );
    assert_eq!(fleet["counts"]["healthy"], 1, "{fleet}");
    assert_eq!(fleet["counts"]["all"], 1, "{fleet}");
    let row = &fleet["rows"][0];
    assert_eq!(row["id"], org.as_str());
    assert_eq!(row["state"], "healthy");
    assert_eq!(row["certificate_state"], "valid");
    assert_eq!(row["days_left"], 364);
    assert_eq!(row["valid_to"], page["active"]["valid_to"]);
    assert_eq!(row["renewal"]["state"], "not_due", "{row}");
    let (status, problem) = admin.get("/api/v1/organizations?per_page=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "per_page");
    let (_, none) = admin.get("/api/v1/organizations?state=expired").await;
    assert_eq!(
        (
            none["total"].as_u64(),
            none["rows"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );

    // The .cer download is the public DER certificate.
    let cert_id = page["active"]["id"].as_str().unwrap();
    let cer = http
        .get(format!("{base}/api/v1/certificates/{cert_id}/cer"))
        .header("cookie", &admin.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(cer.headers()["content-type"], "application/pkix-cert");
    assert_eq!(cer.bytes().await.unwrap()[0], 0x30, "DER SEQUENCE");

    // Upload with a wrong password: the operation fails with the explanation; nothing changes.
    let (pfx, upload_thumbprint) = openssl_pfx(&deployment.scratch_dir("pfx"), "pfx-pass-4711");
    let op = admin.signed_in_operation(&server, "upload").await;
    let (status, failed) = admin
        .import(&op, pfx.clone(), Some("not-the-password"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{failed}");
    assert_eq!(failed["step"], "failed");
    assert_eq!(failed["failure"]["code"], "bad_file:wrong_password");

    // Upload of a certificate that is not attached to the application: named error.
    let op = admin.signed_in_operation(&server, "upload").await;
    let (_, failed) = admin.import(&op, pfx, Some("pfx-pass-4711")).await;
    assert_eq!(failed["failure"]["code"], "not_attached", "{failed}");
    let message = failed["failure"]["message"].as_str().unwrap();
    assert!(message.contains(&upload_thumbprint), "{message}");
    assert!(
        failed["failure"]["remediation"]
            .as_str()
            .unwrap()
            .contains("Certificates & secrets")
    );

    let (_, page) = admin
        .get(&format!("/api/v1/organizations/{org}/certificate"))
        .await;
    assert_eq!(
        page["active"]["sha1_thumbprint"],
        thumbprint.as_str(),
        "still the generated one"
    );

    // A Viewer sees the page without buttons and gets 403 from the API.
    let (status, _) = admin
        .post(
            "/api/v1/users",
            json!({"username": "val", "password": "viewer-password-1", "role": "viewer"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let viewer = log_in(&base, "val", "viewer-password-1")
        .await
        .expect("viewer signs in");
    let (status, html) = viewer
        .get_text(&format!("/organizations/{org}/settings/system"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("SSL Certificate") && html.contains(&thumbprint));
    assert!(
        !html.contains("Generate a new certificate")
            && !html.contains("Upload a custom certificate")
    );
    let (status, problem) = viewer
        .post(
            &format!("/api/v1/organizations/{org}/operations"),
            json!({"kind": "generate"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["type"], "/problems/forbidden");

    // The audit log has the activation with its thumbprint.
    let (_, audit) = admin.get("/api/v1/audit").await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "certificate_activated"
                && e["thumbprints"][0] == thumbprint.as_str())
    );

    // Secrets never reach the database or the log: the PFX password, the portal password,
    // the session secret (stored only as a hash). serve_upload.rs scans a full run thoroughly.
    let session_secret = admin.cookie.split_once('=').unwrap().1.to_owned();
    let mut scanned = deployment.database_contents();
    scanned.push(("log".to_owned(), std::fs::read(&server.log_file).unwrap()));
    for (name, bytes) in &scanned {
        for secret in ["pfx-pass-4711", ADMIN_PASSWORD, session_secret.as_str()] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{name} contains a secret"
            );
        }
    }
}
