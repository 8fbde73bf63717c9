//! The organization's assertion profile end to end on the real binary and the sandbox, whose
//! backup application is told to accept only PS256 + `x5t#S256`: while the organization signs
//! with RS256 + `x5t` (the default) Generate's proof fails with AADSTS5002738 explained (switch
//! the assertion profile on the organization's page); after switching to `ps256` through the API
//! Generate and Check connection succeed; switched back on the organization's page (form, CSRF),
//! Check connection and a backup run are refused the same way, and with `ps256` the run succeeds.
//! SQLite and PostgreSQL.

mod openssl_support;
mod sandbox_process;
mod serve_support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use serve_support::scenario::finished_run;
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, Server, Session, log_in};

on_both_backends!(a_ps256_only_application_needs_the_ps256_profile_everywhere);

async fn patch(session: &Session, path: &str, body: Value) -> (StatusCode, Value) {
    let response = session
        .client
        .patch(format!("{}{path}", session.base))
        .header("cookie", &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .json(&body)
        .send()
        .await
        .expect("PATCH");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn generate(admin: &Session, server: &Server) -> Value {
    let op = admin.signed_in_operation(server, "generate").await;
    let (status, done) = admin.generate(&op).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{done}");
    done
}

/// The failure text tenantlink shows for a refused signature algorithm, wherever it shows it.
fn assert_explains_the_profile(text: &str) {
    assert!(
        text.contains("Assertion profile on the organization's page"),
        "{text}"
    );
}

async fn a_ps256_only_application_needs_the_ps256_profile_everywhere(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin signs in");
    let org = admin.first_organization().await;
    let org_path = format!("/api/v1/organizations/{org}");
    let (_, organization) = admin.get(&org_path).await;
    assert_eq!(organization["assertion_profile"], "rs256", "{organization}");
    let app_id = organization["app_id"].as_str().expect("app id").to_owned();
    let accepted = server
        .sandbox_control(
            &format!("/applications/{app_id}/assertion_shape"),
            json!({"accept": "ps256"}),
        )
        .await;
    assert_eq!(accepted["accept"], "ps256", "{accepted}");

    // The certificate proof signs with the organization's profile: RS256 is refused.
    let failed = generate(&admin, &server).await;
    assert_eq!(failed["step"], "failed", "{failed}");
    let failure = &failed["failure"];
    assert!(
        failure["code"]
            .as_str()
            .unwrap_or_default()
            .contains("AADSTS5002738"),
        "{failed}"
    );
    assert!(
        failure["message"]
            .as_str()
            .unwrap_or_default()
            .contains("'RS256' is not a supported signature algorithm"),
        "{failed}"
    );
    assert_explains_the_profile(failure["remediation"].as_str().unwrap_or_default());

    // A bad value is refused at the edge, naming the field; the profile is unchanged.
    let (status, problem) = patch(&admin, &org_path, json!({"assertion_profile": "es256"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "assertion_profile", "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("\"es256\" is not an assertion profile"),
        "{problem}"
    );
    let (status, problem) = patch(&admin, &org_path, json!("ps256")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (_, openapi) = admin.get("/api/v1/openapi.json").await;
    let documented = &openapi["paths"]["/api/v1/organizations/{id}"]["patch"];
    assert!(documented["requestBody"].is_object(), "{openapi}");
    assert!(documented["responses"]["422"].is_object(), "{openapi}");

    // Switched through the API: Generate and Check connection succeed.
    let (status, organization) =
        patch(&admin, &org_path, json!({"assertion_profile": "ps256"})).await;
    assert_eq!(status, StatusCode::OK, "{organization}");
    assert_eq!(organization["assertion_profile"], "ps256", "{organization}");
    let done = generate(&admin, &server).await;
    assert_eq!(done["step"], "succeeded", "{done}");
    let check = format!("{org_path}/check");
    let (status, page) = admin.post(&check, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["last_check"]["outcome"], "accepted", "{page}");

    // The organization's page shows the profile and changes it with its form.
    let (status, html) = admin.get_text(&format!("/organizations/{org}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"data-profile="ps256""#), "{html}");
    assert!(html.contains(r#"name="assertion_profile""#), "{html}");
    let form_path = format!("{}/organizations/{org}/assertion_profile", admin.base);
    let without_csrf = admin
        .client
        .post(&form_path)
        .header("cookie", &admin.cookie)
        .form(&[("assertion_profile", "rs256")])
        .send()
        .await
        .unwrap();
    assert_eq!(without_csrf.status(), StatusCode::FORBIDDEN);
    let saved = admin
        .client
        .post(&form_path)
        .header("cookie", &admin.cookie)
        .form(&[
            ("csrf", admin.csrf.as_str()),
            ("assertion_profile", "rs256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, organization) = admin.get(&org_path).await;
    assert_eq!(organization["assertion_profile"], "rs256", "{organization}");

    // Check connection with RS256: refused, Entra's text kept.
    let (status, page) = admin.post(&check, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["last_check"]["outcome"], "refused", "{page}");
    let detail = page["last_check"]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("AADSTS5002738"), "{page}");
    assert!(
        detail.contains("Entra does not accept the signature algorithm"),
        "{page}"
    );

    // Backup runs sign with the organization's profile too.
    let (status, policy) = admin
        .post(
            &format!("{org_path}/policies"),
            json!({"name": "Mail", "schedule": "0 3 * * *"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    let run_path = format!("/api/v1/policies/{}/run", policy["id"].as_str().unwrap());
    let (status, run) = admin.post(&run_path, json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let refused = finished_run(&admin, run["id"].as_str().unwrap()).await;
    assert_eq!(refused["run"]["status"], "failed", "{refused}");
    let job_log = refused["run"]["error_text"].as_str().unwrap_or_default();
    assert!(job_log.contains("AADSTS5002738"), "{refused}");
    assert_explains_the_profile(job_log);

    let (status, _) = patch(&admin, &org_path, json!({"assertion_profile": "ps256"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, run) = admin.post(&run_path, json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let succeeded = finished_run(&admin, run["id"].as_str().unwrap()).await;
    assert_eq!(succeeded["run"]["status"], "success", "{succeeded}");

    // Each change is in the audit log.
    let (_, audit) = admin.get("/api/v1/audit").await;
    let changes: Vec<_> = audit
        .as_array()
        .expect("audit entries")
        .iter()
        .filter(|e| e["action"] == "assertion_profile_changed")
        .collect();
    assert_eq!(changes.len(), 3, "{audit}");
}
