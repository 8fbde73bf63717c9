//! Upload a custom certificate end to end, on SQLite and on PostgreSQL: an administrator's own
//! PFX (made with `openssl`), its public certificate attached to the backup application through
//! the sandbox's Graph by the test, imported with its password → active and audited. Then a scan
//! of everything the full run left behind (generate + upload + a failed import) for every secret
//! that passed through it: none may be found.

mod openssl_support;
mod sandbox_process;
mod serve_support;

use reqwest::StatusCode;
use sandbox_process::GraphAdmin;
use serde_json::json;
use serve_support::pfx::UploadCertificate;
use serve_support::scan::{
    Secret, assert_scan_sees_planted_secrets, base64_decode, base64_standard, find_secret_shapes,
    find_secrets,
};
use serve_support::scenario::{active_certificate, assert_failed, certificate_page};
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, log_in};

on_both_backends!(upload_of_an_attached_pfx_activates_it_and_no_secret_is_left_behind);

const PFX_PASSWORD: &str = "Pfx-Import-Secret-93517";
const WRONG_PASSWORD: &str = "Mistyped-Pfx-Secret-44021";

async fn upload_of_an_attached_pfx_activates_it_and_no_secret_is_left_behind(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    assert_scan_sees_planted_secrets();
    let server = deployment.start();
    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin signs in");
    // What the API answered during the run is scanned too.
    let mut answers: Vec<(String, Vec<u8>)> = Vec::new();

    // 1. Generate: the certificate the upload will replace.
    let generated = active_certificate(&server, &admin).await;
    let organization = generated.organization.clone();

    // An API token for automation; it must work, and never be stored or logged.
    let (status, issued) = admin
        .post(
            "/api/v1/tokens",
            json!({"name": "scan-test", "role": "viewer"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let api_token = issued["token"].as_str().expect("token").to_owned();
    let by_token = serve_support::client()
        .get(format!("{}/api/v1/organizations", server.base))
        .bearer_auth(&api_token)
        .send()
        .await
        .unwrap();
    assert_eq!(by_token.status(), StatusCode::OK);

    // 2. The administrator's own certificate, attached in Entra (here: the sandbox's Graph) by
    //    the test, the way the vendor documentation tells an administrator to do it.
    let upload = UploadCertificate::create(&deployment.scratch_dir("pfx"), PFX_PASSWORD);
    let graph = GraphAdmin::sign_in(&server.sandbox).await;
    graph
        .attach(
            &base64_standard(&upload.certificate_der),
            "administrator's own",
        )
        .await;
    let mut on_application = vec![generated.thumbprint.clone(), upload.sha1.clone()];
    on_application.sort();
    assert_eq!(
        graph.thumbprints().await,
        on_application,
        "merged, nothing removed"
    );

    // 3. Upload a custom certificate → Import with the password → active.
    let op = admin.signed_in_operation(&server, "upload").await;
    let (status, done) = admin
        .import(&op, upload.pfx.clone(), Some(PFX_PASSWORD))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{done}");
    assert_eq!(done["step"], "succeeded", "{done}");
    assert_eq!(done["sha1_thumbprint"], upload.sha1.as_str(), "{done}");
    answers.push(("import answer".into(), done.to_string().into_bytes()));

    let page = certificate_page(&admin, &organization).await;
    assert_eq!(page["state"], "valid", "{page}");
    assert_eq!(
        page["active"]["sha1_thumbprint"],
        upload.sha1.as_str(),
        "{page}"
    );
    assert_eq!(page["active"]["source"], "uploaded", "{page}");
    assert!(
        page["previous"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["sha1_thumbprint"] == generated.thumbprint.as_str() && c["active"] == false),
        "the generated certificate is now a previous one: {page}"
    );
    answers.push(("certificate page".into(), page.to_string().into_bytes()));

    let (_, audit) = admin.get("/api/v1/audit").await;
    let entries = audit.as_array().unwrap();
    let activated = entries
        .iter()
        .find(|e| {
            e["action"] == "certificate_activated" && e["thumbprints"][0] == upload.sha1.as_str()
        })
        .unwrap_or_else(|| panic!("activation audited: {audit}"));
    assert_eq!(activated["actor"], "admin");
    assert_eq!(activated["outcome"], "success");
    assert_eq!(
        activated["thumbprints"],
        json!([upload.sha1, generated.thumbprint]),
        "new and replaced thumbprints"
    );
    assert!(
        entries.iter().any(|e| e["action"] == "certificate_uploaded"
            && e["thumbprints"][0] == upload.sha1.as_str()),
        "{audit}"
    );

    // 4. A failed import: the same file with a mistyped password.
    let failed_op = admin.signed_in_operation(&server, "upload").await;
    let (_, failed) = admin
        .import(&failed_op, upload.pfx.clone(), Some(WRONG_PASSWORD))
        .await;
    assert_failed(&failed, "bad_file:wrong_password");
    answers.push((
        "failed import answer".into(),
        failed.to_string().into_bytes(),
    ));
    assert_eq!(
        certificate_page(&admin, &organization).await["active"]["sha1_thumbprint"],
        upload.sha1.as_str()
    );

    // Everything a person or script reads back: operations, audit, pages.
    let (_, audit) = admin.get("/api/v1/audit").await;
    answers.push(("audit".into(), audit.to_string().into_bytes()));
    for path in [
        format!("/organizations/{organization}/settings/system"),
        format!("/operations/{op}"),
        format!("/operations/{failed_op}"),
        "/audit".to_owned(),
    ] {
        let (status, html) = admin.get_text(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        answers.push((format!("page {path}"), html.into_bytes()));
    }
    let (_, operations) = admin
        .get(&format!("/api/v1/organizations/{organization}/operations"))
        .await;
    assert_eq!(operations.as_array().map(Vec::len), Some(3), "{operations}");
    answers.push(("operations".into(), operations.to_string().into_bytes()));

    // 5. The scan. Stop the process first (SIGKILL: the SQLite WAL stays as it was), then read
    //    the database, its WAL and shared memory (or the PostgreSQL dump), stdout and the log.
    let stdout = server.stdout();
    let log_file = server.log_file.clone();
    let master_key_file = server.data_dir.join("master.key");
    server.kill();
    let mut artifacts = deployment.database_contents();
    // The scan reads the right database: the uploaded certificate's public DER is stored there.
    assert!(
        !find_secrets(
            &artifacts,
            &[Secret::bytes("public certificate", &upload.certificate_der)]
        )
        .is_empty(),
        "the uploaded certificate is in the scanned database"
    );
    artifacts.push(("stdout".into(), stdout));
    artifacts.push(("log".into(), std::fs::read(&log_file).expect("log")));
    artifacts.extend(answers);
    assert!(
        artifacts.iter().any(|(name, bytes)| name == "log"
            && String::from_utf8_lossy(bytes).contains("certificate operation failed")),
        "the log recorded the run (else scanning it proves little)"
    );

    let session = admin.cookie.split_once('=').expect("cookie pair").1;
    let master_key_text = std::fs::read_to_string(&master_key_file).expect("master.key");
    let mut secrets = vec![
        Secret::text("PFX password", PFX_PASSWORD),
        Secret::text("mistyped PFX password", WRONG_PASSWORD),
        Secret::text("portal administrator password", ADMIN_PASSWORD),
        Secret::text("session cookie", session),
        Secret::text("API token", &api_token),
        Secret::text("delegated access token", &graph.access_token),
        Secret::text("refresh token", &graph.refresh_token),
        Secret::text("master key (base64)", master_key_text.trim()),
        Secret::bytes("master key", &base64_decode(master_key_text.trim())),
    ];
    secrets.extend(upload.key_secrets());
    let mut found = find_secrets(&artifacts, &secrets);
    found.extend(find_secret_shapes(&artifacts));
    let scanned: Vec<String> = artifacts
        .iter()
        .map(|(name, bytes)| format!("{name} ({} bytes)", bytes.len()))
        .collect();
    assert!(
        found.is_empty(),
        "secrets found: {found:#?}\nscanned: {scanned:#?}"
    );
    eprintln!(
        "scanned {scanned:?} for {} secrets: none found",
        secrets.len()
    );
}
