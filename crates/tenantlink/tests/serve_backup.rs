//! Issue 6 end to end on the embedded defaults (and on PostgreSQL), over the REST API of the real
//! binary: a policy backs up the sandbox's sample mail; the sandbox clock passes the
//! certificate's end; the next scheduled run fails with AADSTS700027 ("The key used is
//! expired." and the thumbprint), the organization is broken and the banner says expired; a new
//! certificate is generated; Run now succeeds and reads exactly what changed in the mailboxes
//! since the last successful run.

mod openssl_support;
mod sandbox_process;
mod serve_support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use serve_support::scenario::finished_run;
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, Server, Session, log_in};
use std::time::{Duration, Instant};

/// Waits for the scheduler to start and finish the policy's `count`-th run; returns its detail.
async fn scheduled_run(session: &Session, policy: &str, count: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (status, runs) = session
            .get(&format!("/api/v1/policies/{policy}/runs"))
            .await;
        assert_eq!(status, StatusCode::OK, "{runs}");
        let runs = runs.as_array().expect("a job log");
        if runs.len() >= count {
            let newest = runs[0]["id"].as_str().expect("run id").to_owned();
            return finished_run(session, &newest).await;
        }
        assert!(
            Instant::now() < deadline,
            "the scheduler did not start run {count}: {runs:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn generate_certificate(admin: &Session, server: &Server) -> String {
    let op = admin.signed_in_operation(server, "generate").await;
    let (status, done) = admin.generate(&op).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{done}");
    assert_eq!(done["step"], "succeeded", "{done}");
    done["sha1_thumbprint"]
        .as_str()
        .expect("thumbprint")
        .to_owned()
}

async fn add_user(admin: &Session, name: &str, role: &str) -> String {
    let password = format!("{name}-password-4711");
    let (status, body) = admin
        .post(
            "/api/v1/users",
            json!({"username": name, "password": password, "role": role}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    password
}

on_both_backends!(
    a_policy_fails_on_certificate_expiry_and_recovers_with_a_new_certificate_reading_only_changes
);

async fn a_policy_fails_on_certificate_expiry_and_recovers_with_a_new_certificate_reading_only_changes(
    backend: Backend,
) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let base = server.base.clone();
    let admin = log_in(&base, "admin", ADMIN_PASSWORD).await.expect("admin");
    let org = admin.first_organization().await;
    let first_thumbprint = generate_certificate(&admin, &server).await;

    let viewer_password = add_user(&admin, "val", "viewer").await;
    let operator_password = add_user(&admin, "otto", "operator").await;
    let viewer = log_in(&base, "val", &viewer_password)
        .await
        .expect("viewer");
    let operator = log_in(&base, "otto", &operator_password)
        .await
        .expect("operator");
    let policies = format!("/api/v1/organizations/{org}/policies");

    // A schedule that does not parse: a problem naming the error; nothing is created.
    let (status, problem) = admin
        .post(&policies, json!({"name": "Mail", "schedule": "every 2m"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["type"], "/problems/invalid-input");
    assert_eq!(problem["field"], "schedule");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("\"every 2m\"") && detail.contains("shorter than the minimum"),
        "{detail}"
    );
    // Operators may run policies, not create them.
    let (status, problem) = operator
        .post(&policies, json!({"name": "Mail", "schedule": "0 3 * * *"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["type"], "/problems/forbidden");
    let (_, listed) = admin.get(&policies).await;
    assert_eq!(listed, json!([]), "nothing was created");

    // One message that the first run backs up and a later change edits.
    let user = server.sandbox_admin();
    let added = server
        .sandbox_control(
            "/mail",
            json!({"user": user, "subject": "Quarterly report", "sender": "cfo@example.com", "body": "Numbers."}),
        )
        .await;
    let report_id = added["message"]["id"]
        .as_str()
        .expect("message id")
        .to_owned();

    // Daily at 03:00 UTC: not due before the clock moves, so the first run is Run now's.
    let (status, policy) = admin
        .post(&policies, json!({"name": "Mail", "schedule": "0 3 * * *"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    assert_eq!(policy["all_users"], true);
    assert!(policy["next_due_at"].is_string(), "{policy}");
    let policy_id = policy["id"].as_str().unwrap().to_owned();
    let run_path = format!("/api/v1/policies/{policy_id}/run");

    // Viewers cannot run; Operators can. The users listing is held for 1.5 s by a sandbox
    // fault, so a second Run now meets the first still running.
    let (status, problem) = viewer.post(&run_path, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    server
        .sandbox_control(
            "/faults",
            json!({"route": "/v1.0/users*", "method": "GET", "kind": "latency", "latency_ms": 1500, "count": 1}),
        )
        .await;
    let (status, run) = operator.post(&run_path, json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    assert_eq!(run["status"], "running");
    assert_eq!(run["trigger"], "manual");
    let (status, problem) = admin.post(&run_path, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("already running"),
        "{problem}"
    );
    let first = finished_run(&admin, run["id"].as_str().unwrap()).await;
    assert_eq!(first["run"]["status"], "success", "{first}");
    let sandbox_users = server.sandbox["users"].as_array().unwrap().len();
    assert_eq!(first["run"]["users"], sandbox_users, "{first}");
    let backed_up = first["run"]["items_new"].as_i64().unwrap();
    assert!(
        backed_up > sandbox_users as i64,
        "every mailbox's sample mail plus the added message: {first}"
    );
    let (_, connection) = admin
        .get(&format!("/api/v1/organizations/{org}/connection"))
        .await;
    assert_eq!(connection["state"], "connected", "{connection}");
    assert_listed_connection(&admin, &org, "connected").await;

    // Past the certificate's end (365 days): the policy's 03:00 is overdue, the scheduler runs
    // it, and Entra refuses the expired key.
    server
        .sandbox_control("/clock", json!({"advance_seconds": 366 * 86_400}))
        .await;
    // Sessions are eight hours long on the same clock: sign in again.
    let admin = log_in(&base, "admin", ADMIN_PASSWORD).await.expect("admin");
    let failed = scheduled_run(&admin, &policy_id, 2).await;
    let failed_run = &failed["run"];
    assert_eq!(failed_run["trigger"], "scheduled", "{failed}");
    assert_eq!(failed_run["status"], "failed", "{failed}");
    let job_log = failed_run["error_text"].as_str().unwrap();
    assert!(job_log.contains("AADSTS700027"), "{job_log}");
    assert!(job_log.contains("The key used is expired."), "{job_log}");
    assert!(job_log.contains(&first_thumbprint), "{job_log}");
    assert_eq!(failed["credential_problem"], true);
    let settings = format!("/organizations/{org}/settings/system");
    assert_eq!(failed["certificate_page"], settings.as_str());

    let (_, connection) = admin
        .get(&format!("/api/v1/organizations/{org}/connection"))
        .await;
    assert_eq!(connection["state"], "broken", "{connection}");
    assert_listed_connection(&admin, &org, "broken").await;
    assert!(
        connection["last_error"]
            .as_str()
            .unwrap()
            .contains("AADSTS700027")
    );
    let (_, certificate) = admin
        .get(&format!("/api/v1/organizations/{org}/certificate"))
        .await;
    assert_eq!(certificate["state"], "expired");

    // The pages say it too: banner on the organization and policy pages, the job log on the
    // run's page with the way to the certificate page.
    for page in [
        format!("/organizations/{org}"),
        format!("/policies/{policy_id}"),
    ] {
        let (status, html) = admin.get_text(&page).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(
            html.contains(r#"id="certificate-banner""#),
            "{page}: {html}"
        );
        assert!(html.contains(r#"data-state="expired""#), "{page}");
        assert!(html.contains(&format!(r#"href="{settings}""#)), "{page}");
    }
    let (_, html) = admin.get_text(&format!("/organizations/{org}")).await;
    assert!(html.contains(r#"id="connection""#) && html.contains(r#"data-state="broken""#));
    let (_, html) = admin
        .get_text(&format!("/runs/{}", failed_run["id"].as_str().unwrap()))
        .await;
    assert!(html.contains("The key used is expired."), "{html}");
    assert!(html.contains(&first_thumbprint), "{html}");
    assert!(html.contains(r#"id="remediation-link""#), "{html}");

    // The administrator generates a new certificate; the mailboxes change meanwhile.
    let second_thumbprint = generate_certificate(&admin, &server).await;
    assert_ne!(second_thumbprint, first_thumbprint);
    server
        .sandbox_control(
            "/mail",
            json!({"user": user, "subject": "New contract", "sender": "legal@example.com", "body": "Sign."}),
        )
        .await;
    server
        .sandbox_control(
            &format!("/mail/{report_id}"),
            json!({"subject": "Quarterly report (revised)"}),
        )
        .await;

    let (status, run) = admin.post(&run_path, json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let recovered = finished_run(&admin, run["id"].as_str().unwrap()).await;
    assert_eq!(recovered["run"]["status"], "success", "{recovered}");
    assert_eq!(
        (
            recovered["run"]["items_new"].as_i64(),
            recovered["run"]["items_changed"].as_i64()
        ),
        (Some(1), Some(1)),
        "only what changed since the last successful run: {recovered}"
    );
    let (_, connection) = admin
        .get(&format!("/api/v1/organizations/{org}/connection"))
        .await;
    assert_eq!(connection["state"], "connected", "{connection}");
    assert_listed_connection(&admin, &org, "connected").await;
    let (_, html) = admin.get_text(&format!("/organizations/{org}")).await;
    assert!(
        !html.contains(r#"id="certificate-banner""#),
        "the banner is gone"
    );

    let (_, log) = admin
        .get(&format!("/api/v1/policies/{policy_id}/runs"))
        .await;
    let statuses: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["success", "failed", "success"], "newest first");
    let (_, audit) = admin.get("/api/v1/audit").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"policy_created"), "{actions:?}");
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "policy_run_started")
            .count(),
        2,
        "the operator's and the administrator's Run now: {actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_decide_the_buttons_and_the_api_documents_the_policy_routes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let base = server.base.clone();
    let admin = log_in(&base, "admin", ADMIN_PASSWORD).await.expect("admin");
    let org = admin.first_organization().await;
    let viewer_password = add_user(&admin, "val", "viewer").await;
    let operator_password = add_user(&admin, "otto", "operator").await;
    let viewer = log_in(&base, "val", &viewer_password)
        .await
        .expect("viewer");
    let operator = log_in(&base, "otto", &operator_password)
        .await
        .expect("operator");

    let (status, policy) = admin
        .post(
            &format!("/api/v1/organizations/{org}/policies"),
            json!({"name": "Executives", "schedule": "", "users": [server.sandbox_admin()]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    assert_eq!(policy["all_users"], false);
    // A misspelt field is refused rather than read as "all users".
    let (status, _) = admin
        .post(
            &format!("/api/v1/organizations/{org}/policies"),
            json!({"name": "Typo", "user": [server.sandbox_admin()]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, listed) = admin
        .get(&format!("/api/v1/organizations/{org}/policies"))
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "only Executives");
    assert_eq!(policy["next_due_at"], Value::Null, "blank: Run now only");
    let id = policy["id"].as_str().unwrap();

    // No certificate yet: the banner says so, on the organizations list's target page too.
    let (_, html) = viewer.get_text("/organizations").await;
    assert!(
        html.contains(&format!(r#"href="/organizations/{org}""#)),
        "{html}"
    );
    let (_, html) = viewer.get_text(&format!("/organizations/{org}")).await;
    assert!(html.contains(r#"id="certificate-banner""#) && html.contains(r#"data-state="none""#));
    assert!(html.contains("Executives"));
    assert!(!html.contains(">Run now<") && !html.contains(">Delete<") && !html.contains(">Edit<"));
    let (_, html) = operator.get_text(&format!("/organizations/{org}")).await;
    assert!(html.contains(">Run now<") && !html.contains(">Delete<") && !html.contains(">Edit<"));
    let (_, html) = admin.get_text(&format!("/organizations/{org}")).await;
    assert!(html.contains(">Run now<") && html.contains(">Delete<") && html.contains(">Edit<"));

    // The server refuses what the buttons hide.
    let (status, _) = operator
        .post(&format!("/api/v1/policies/{id}/disable"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let response = operator
        .client
        .delete(format!("{base}/api/v1/policies/{id}"))
        .header("cookie", &operator.cookie)
        .header("x-csrf-token", &operator.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Without a certificate, Run now fails with the explanation and the certificate link.
    let (status, run) = operator
        .post(&format!("/api/v1/policies/{id}/run"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let failed = finished_run(&admin, run["id"].as_str().unwrap()).await;
    assert_eq!(failed["run"]["status"], "failed");
    assert!(
        failed["run"]["error_text"]
            .as_str()
            .unwrap()
            .contains("The organization has no active certificate."),
        "{failed}"
    );
    assert_eq!(failed["credential_problem"], true);

    // Administrators change and delete.
    let response = admin
        .client
        .put(format!("{base}/api/v1/policies/{id}"))
        .header("cookie", &admin.cookie)
        .header("x-csrf-token", &admin.csrf)
        .json(&json!({"name": "Executives", "schedule": "every 12h", "enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let edited: Value = response.json().await.unwrap();
    assert_eq!(
        (
            edited["schedule"].as_str(),
            edited["enabled"].as_bool(),
            edited["all_users"].as_bool()
        ),
        (Some("every 12h"), Some(false), Some(true))
    );
    let response = admin
        .client
        .delete(format!("{base}/api/v1/policies/{id}"))
        .header("cookie", &admin.cookie)
        .header("x-csrf-token", &admin.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, _) = admin.get(&format!("/api/v1/policies/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The portal's forms work without JavaScript: a refused schedule comes back in the form
    // with its explanation (422), a valid one redirects to the new policy, Run now to its run.
    let form = |fields: &[(&str, &str)], session: &Session| {
        let mut body: Vec<(String, String)> = vec![("csrf".into(), session.csrf.clone())];
        body.extend(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        body
    };
    let response = admin
        .client
        .post(format!("{base}/organizations/{org}/policies"))
        .header("cookie", &admin.cookie)
        .form(&form(
            &[
                ("name", "Form"),
                ("schedule", "every 2m"),
                ("scope", "all"),
                ("enabled", "on"),
            ],
            &admin,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"id="form-error""#) && html.contains("shorter than the minimum"));
    assert!(
        html.contains(r#"value="every 2m""#),
        "what was typed stays in the form"
    );
    let response = admin
        .client
        .post(format!("{base}/organizations/{org}/policies"))
        .header("cookie", &admin.cookie)
        .form(&form(
            &[
                ("name", "Form"),
                ("schedule", ""),
                ("scope", "users"),
                ("users", &server.sandbox_admin()),
            ],
            &admin,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/policies/"), "{location}");
    let (_, created) = admin.get(&format!("/api/v1{location}")).await;
    assert_eq!(
        (created["enabled"].as_bool(), created["all_users"].as_bool()),
        (Some(false), Some(false))
    );
    let response = operator
        .client
        .post(format!("{base}{location}/run"))
        .header("cookie", &operator.cookie)
        .form(&form(&[], &operator))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let run_page = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(run_page.starts_with("/runs/"), "{run_page}");
    finished_run(&admin, run_page.trim_start_matches("/runs/")).await;
    let response = viewer
        .client
        .post(format!("{base}{location}/run"))
        .header("cookie", &viewer.cookie)
        .form(&form(&[], &viewer))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "the server refuses what it hides"
    );

    let (_, openapi) = admin.get("/api/v1/openapi.json").await;
    for (path, method) in [
        ("/api/v1/organizations/{id}/policies", "post"),
        ("/api/v1/policies/{id}", "put"),
        ("/api/v1/policies/{id}", "delete"),
        ("/api/v1/policies/{id}/enable", "post"),
        ("/api/v1/policies/{id}/disable", "post"),
        ("/api/v1/policies/{id}/run", "post"),
        ("/api/v1/policies/{id}/runs", "get"),
        ("/api/v1/runs/{id}", "get"),
    ] {
        assert!(
            openapi["paths"][path][method].is_object(),
            "{method} {path}"
        );
    }
}

/// The organizations list (API and page) shows the organization with this connection state.
async fn assert_listed_connection(admin: &Session, org: &str, state: &str) {
    let (_, list) = admin.get("/api/v1/organizations").await;
    let listed = list["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == org)
        .unwrap_or_else(|| panic!("{org} listed: {list}"));
    assert_eq!(listed["connection"], state, "{listed}");
    let (_, one) = admin.get(&format!("/api/v1/organizations/{org}")).await;
    assert_eq!(one["connection"], state, "{one}");
    let (_, html) = admin.get_text("/organizations").await;
    assert!(
        html.contains(&format!(r#"data-connection="{state}""#)),
        "the organizations page shows {state}: {html}"
    );
}
