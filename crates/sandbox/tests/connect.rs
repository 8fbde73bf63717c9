//! Registering the backup application through Graph (issue #14): applications, service
//! principals, admin consent by app role assignment, the roles each call needs, and the
//! propagation of consent to the token endpoint, on the sandbox clock.

mod common;

use common::{AssertionStyle, Fixture, TestCertificate, aadsts};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
const MAIL_READ: &str = "810c84a8-4a9e-49e6-bf7d-12d183f40d01";
const OWNED_BY: &str = "18a4783c-866b-4cc7-a460-3d5e5662c884";
const MARKER: &str = "tenantlink:backup";
const SETUP_SCOPES: &str = "https://graph.microsoft.com/Application.ReadWrite.All https://graph.microsoft.com/AppRoleAssignment.ReadWrite.All openid offline_access";

/// A delegated token for `alias@<default domain>` with these scopes, through the device flow.
async fn token(fx: &Fixture, alias: &str, scope: &str) -> String {
    let flow = fx.start_device_flow(scope).await;
    let username = format!("{alias}@{}", fx.info().tenant_domain);
    let (status, body) = fx
        .control(
            "/device/approve",
            json!({"user_code": flow["user_code"], "username": username}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = fx.poll_device(flow["device_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// Adds `alias@<default domain>` with one directory role through the control API.
async fn role_user(fx: &Fixture, alias: &str, role: &str) -> Value {
    let (status, user) = fx
        .control("/users", json!({"alias": alias, "roles": [role]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["roles"], json!([role]));
    assert!(user["password"].as_str().is_some_and(|p| !p.is_empty()));
    user
}

async fn setup_token(fx: &Fixture, alias: &str) -> String {
    token(fx, alias, SETUP_SCOPES).await
}

fn new_application_body() -> Value {
    json!({
        "displayName": "tenantlink backup (connected)",
        "signInAudience": "AzureADMyOrg",
        "tags": [MARKER],
        "requiredResourceAccess": [{
            "resourceAppId": GRAPH_APP_ID,
            "resourceAccess": [
                {"id": MAIL_READ, "type": "Role"},
                {"id": OWNED_BY, "type": "Role"},
            ],
        }],
    })
}

async fn create_application(fx: &Fixture, token: &str) -> Value {
    let (status, app) = fx
        .graph(
            Method::POST,
            "/applications",
            token,
            Some(new_application_body()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    app
}

async fn create_service_principal(fx: &Fixture, token: &str, app_id: &str) -> Value {
    let (status, sp) = fx
        .graph(
            Method::POST,
            "/servicePrincipals",
            token,
            Some(json!({"appId": app_id})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sp}");
    sp
}

async fn graph_service_principal(fx: &Fixture, token: &str) -> Value {
    let (status, list) = fx
        .graph(
            Method::GET,
            &format!("/servicePrincipals?$filter=appId eq '{GRAPH_APP_ID}'"),
            token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["value"].as_array().unwrap().len(), 1, "{list}");
    list["value"][0].clone()
}

async fn grant(
    fx: &Fixture,
    token: &str,
    graph_sp: &str,
    principal: &str,
    role: &str,
) -> (StatusCode, Value) {
    fx.graph(
        Method::POST,
        &format!("/servicePrincipals/{graph_sp}/appRoleAssignedTo"),
        token,
        Some(json!({"principalId": principal, "resourceId": graph_sp, "appRoleId": role})),
    )
    .await
}

async fn attach_key(fx: &Fixture, token: &str, object_id: &str, certificate: &TestCertificate) {
    let (status, body) = fx
        .graph(
            Method::PATCH,
            &format!("/applications/{object_id}"),
            token,
            Some(json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": certificate.graph_key()}]})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

async fn app_token(
    fx: &Fixture,
    app_id: &str,
    certificate: &TestCertificate,
) -> (StatusCode, Value) {
    let assertion =
        certificate.assertion(app_id, &fx.token_url(), fx.now(), AssertionStyle::default());
    fx.post_form(
        &fx.token_url(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", app_id),
            ("scope", "https://graph.microsoft.com/.default"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
        ],
    )
    .await
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&tenantlink_jose::b64url_decode_lenient(payload).unwrap()).unwrap()
}

/// The whole setup as tenantlink does it: register, find again by marker, service principal,
/// consent, owner of itself, first key, app-only token with exactly the consented roles.
#[tokio::test]
async fn an_administrator_registers_consents_and_the_application_signs_in() {
    let fx = Fixture::start().await;
    let admin = setup_token(&fx, "admin").await;
    let app = create_application(&fx, &admin).await;
    let (object_id, app_id) = (app["id"].as_str().unwrap(), app["appId"].as_str().unwrap());
    assert_eq!(app["tags"], json!([MARKER]));
    assert_eq!(
        app["requiredResourceAccess"][0]["resourceAccess"][0]["id"],
        MAIL_READ
    );
    assert_eq!(
        app["requiredResourceAccess"][0]["resourceAccess"][0]["type"],
        "Role"
    );

    let (status, found) = fx
        .graph(
            Method::GET,
            &format!("/applications?$filter=tags/any(t:t eq '{MARKER}')"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let ids: Vec<&str> = found["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![object_id], "only the marked application");

    let graph = graph_service_principal(&fx, &admin).await;
    let graph_id = graph["id"].as_str().unwrap();
    let mail_read = graph["appRoles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"] == "Mail.Read")
        .expect("Mail.Read app role");
    assert_eq!(mail_read["id"], MAIL_READ);
    assert_eq!(mail_read["allowedMemberTypes"], json!(["Application"]));

    let sp = create_service_principal(&fx, &admin, app_id).await;
    let sp_id = sp["id"].as_str().unwrap();
    assert_eq!(sp["appId"], app_id);
    for role in [MAIL_READ, OWNED_BY] {
        let (status, assignment) = grant(&fx, &admin, graph_id, sp_id, role).await;
        assert_eq!(status, StatusCode::CREATED, "{assignment}");
        assert_eq!(assignment["principalId"], sp_id);
        assert_eq!(assignment["resourceId"], graph_id);
        assert_eq!(assignment["appRoleId"], role);
        assert_eq!(assignment["principalType"], "ServicePrincipal");
    }
    let (status, granted) = fx
        .graph(
            Method::GET,
            &format!("/servicePrincipals/{sp_id}/appRoleAssignments"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{granted}");
    let mut roles: Vec<&str> = granted["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["appRoleId"].as_str().unwrap())
        .collect();
    roles.sort_unstable();
    assert_eq!(roles, vec![OWNED_BY, MAIL_READ]);

    let (status, body) = fx
        .graph(
            Method::POST,
            &format!("/applications/{object_id}/owners/$ref"),
            &admin,
            Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{sp_id}")})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let certificate = TestCertificate::valid_for_days(fx.now(), 30);
    attach_key(&fx, &admin, object_id, &certificate).await;
    let (status, body) = app_token(&fx, app_id, &certificate).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token_claims = claims(body["access_token"].as_str().unwrap());
    assert_eq!(token_claims["oid"], sp_id, "oid is the service principal");
    let mut token_roles: Vec<&str> = token_claims["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    token_roles.sort_unstable();
    assert_eq!(
        token_roles,
        vec!["Application.ReadWrite.OwnedBy", "Mail.Read"]
    );

    // As owner of itself, the application reads its own registration app-only.
    let app_only = body["access_token"].as_str().unwrap();
    let (status, own) = fx
        .graph(
            Method::GET,
            &format!("/applications/{object_id}?$select=keyCredentials"),
            app_only,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(own["keyCredentials"][0]["key"], certificate.graph_key());

    // The control API's view shows the service principal and exactly what was consented.
    let (status, view) = fx.control_get(&format!("/applications/{app_id}")).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["service_principal"]["id"], sp_id);
    let mut consented: Vec<&str> = view["service_principal"]["app_roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["permission"].as_str().unwrap())
        .collect();
    consented.sort_unstable();
    assert_eq!(
        consented,
        vec!["Application.ReadWrite.OwnedBy", "Mail.Read"]
    );
    assert_eq!(view["tags"], json!([MARKER]));
}

#[tokio::test]
async fn a_plain_user_is_refused_and_nothing_is_created() {
    let fx = Fixture::start().await;
    let user = setup_token(&fx, "user").await;
    let (status, body) = fx
        .graph(
            Method::POST,
            "/applications",
            &user,
            Some(new_application_body()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
    assert_eq!(
        body["error"]["message"],
        "Insufficient privileges to complete the operation."
    );
    assert!(body["error"]["innerError"]["request-id"].is_string());

    let admin = setup_token(&fx, "admin").await;
    let (_, found) = fx
        .graph(
            Method::GET,
            &format!("/applications?$filter=tags/any(t:t eq '{MARKER}')"),
            &admin,
            None,
        )
        .await;
    assert_eq!(found["value"], json!([]));
}

#[tokio::test]
async fn users_may_register_when_the_tenant_allows_it_and_then_own_the_application() {
    let fx = Fixture::start().await;
    let (status, body) = fx
        .control(
            "/tenant/access",
            json!({"users_can_register_applications": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user = setup_token(&fx, "user").await;
    let app = create_application(&fx, &user).await;
    // An owner without a role may create its service principal, but not grant Graph's app roles.
    let sp = create_service_principal(&fx, &user, app["appId"].as_str().unwrap()).await;
    let graph = graph_service_principal(&fx, &user).await;
    let (status, body) = grant(
        &fx,
        &user,
        graph["id"].as_str().unwrap(),
        sp["id"].as_str().unwrap(),
        MAIL_READ,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
}

/// Application administrators register applications but cannot consent to Microsoft Graph's
/// app roles; a Privileged Role Administrator can consent but not register.
#[tokio::test]
async fn each_step_needs_its_own_role() {
    let fx = Fixture::start().await;
    role_user(&fx, "appadmin", "Application Administrator").await;
    role_user(&fx, "cloudappadmin", "Cloud Application Administrator").await;
    role_user(&fx, "roleadmin", "Privileged Role Administrator").await;
    for alias in ["appadmin", "cloudappadmin"] {
        let token = setup_token(&fx, alias).await;
        let app = create_application(&fx, &token).await;
        let sp = create_service_principal(&fx, &token, app["appId"].as_str().unwrap()).await;
        let graph = graph_service_principal(&fx, &token).await;
        let (status, body) = grant(
            &fx,
            &token,
            graph["id"].as_str().unwrap(),
            sp["id"].as_str().unwrap(),
            MAIL_READ,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{alias}: {body}");
        assert_eq!(body["error"]["code"], "Authorization_RequestDenied");

        let role_admin = setup_token(&fx, "roleadmin").await;
        let (status, body) = grant(
            &fx,
            &role_admin,
            graph["id"].as_str().unwrap(),
            sp["id"].as_str().unwrap(),
            MAIL_READ,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let role_admin = setup_token(&fx, "roleadmin").await;
    let (status, body) = fx
        .graph(
            Method::POST,
            "/applications",
            &role_admin,
            Some(new_application_body()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn a_global_administrator_without_the_consent_scope_cannot_grant() {
    let fx = Fixture::start().await;
    let narrow = token(
        &fx,
        "admin",
        "https://graph.microsoft.com/Application.ReadWrite.All",
    )
    .await;
    let app = create_application(&fx, &narrow).await;
    let sp = create_service_principal(&fx, &narrow, app["appId"].as_str().unwrap()).await;
    let graph = graph_service_principal(&fx, &narrow).await;
    let (status, body) = grant(
        &fx,
        &narrow,
        graph["id"].as_str().unwrap(),
        sp["id"].as_str().unwrap(),
        MAIL_READ,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn duplicates_and_unknown_roles_are_refused() {
    let fx = Fixture::start().await;
    let admin = setup_token(&fx, "admin").await;
    let app = create_application(&fx, &admin).await;
    let app_id = app["appId"].as_str().unwrap();
    let sp = create_service_principal(&fx, &admin, app_id).await;
    let (status, body) = fx
        .graph(
            Method::POST,
            "/servicePrincipals",
            &admin,
            Some(json!({"appId": app_id})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already in use"),
        "{body}"
    );

    let graph = graph_service_principal(&fx, &admin).await;
    let (graph_id, sp_id) = (graph["id"].as_str().unwrap(), sp["id"].as_str().unwrap());
    let (status, _) = grant(&fx, &admin, graph_id, sp_id, MAIL_READ).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = grant(&fx, &admin, graph_id, sp_id, MAIL_READ).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["error"]["message"],
        "Permission being assigned already exists on the object"
    );
    let (status, body) = grant(
        &fx,
        &admin,
        graph_id,
        sp_id,
        "00000000-0000-0000-0000-000000000001",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Permission being assigned was not found")
    );

    let (status, body) = fx
        .graph(
            Method::POST,
            "/servicePrincipals",
            &admin,
            Some(json!({"appId": "1d7f9b56-0000-4000-8000-000000000000"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = fx
        .graph(
            Method::POST,
            "/applications",
            &admin,
            Some(json!({"tags": [MARKER]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = fx
        .graph(
            Method::GET,
            "/applications?$filter=startswith(displayName,'tenantlink')",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "Request_UnsupportedQuery");
}

/// After consent, app-only tokens fail until the service principal has propagated, then carry
/// each consented role once its assignment has.
#[tokio::test]
async fn consent_reaches_the_token_endpoint_after_the_propagation_delay() {
    let fx = Fixture::start().await;
    let (status, body) = fx
        .control(
            "/settings",
            json!({"consent_propagation_delay_seconds": 60}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let admin = setup_token(&fx, "admin").await;
    let app = create_application(&fx, &admin).await;
    let (object_id, app_id) = (app["id"].as_str().unwrap(), app["appId"].as_str().unwrap());
    let certificate = TestCertificate::valid_for_days(fx.now(), 30);
    attach_key(&fx, &admin, object_id, &certificate).await;

    // No service principal yet.
    let (status, body) = app_token(&fx, app_id, &certificate).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    let (code, text) = aadsts(&body);
    assert_eq!(code, 7000229);
    assert!(
        text.contains(&format!(
            "The client application {app_id} is missing service principal in the tenant {}",
            fx.info().tenant_id
        )),
        "{text}"
    );

    let sp = create_service_principal(&fx, &admin, app_id).await;
    let graph = graph_service_principal(&fx, &admin).await;
    let (status, _) = grant(
        &fx,
        &admin,
        graph["id"].as_str().unwrap(),
        sp["id"].as_str().unwrap(),
        MAIL_READ,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    fx.advance_clock(59).await;
    let (status, body) = app_token(&fx, app_id, &certificate).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(aadsts(&body).0, 7000229);

    fx.advance_clock(2).await;
    let (status, body) = app_token(&fx, app_id, &certificate).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["roles"],
        json!(["Mail.Read"])
    );

    // A consent granted later shows only once it has propagated in turn.
    let (status, _) = grant(
        &fx,
        &admin,
        graph["id"].as_str().unwrap(),
        sp["id"].as_str().unwrap(),
        OWNED_BY,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, body) = app_token(&fx, app_id, &certificate).await;
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["roles"],
        json!(["Mail.Read"])
    );
    fx.advance_clock(61).await;
    let (_, body) = app_token(&fx, app_id, &certificate).await;
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["roles"],
        json!(["Mail.Read", "Application.ReadWrite.OwnedBy"])
    );
}

#[tokio::test]
async fn deleting_the_application_removes_its_service_principal_and_sign_in() {
    let fx = Fixture::start().await;
    let admin = setup_token(&fx, "admin").await;
    let app = create_application(&fx, &admin).await;
    let (object_id, app_id) = (app["id"].as_str().unwrap(), app["appId"].as_str().unwrap());
    create_service_principal(&fx, &admin, app_id).await;
    let certificate = TestCertificate::valid_for_days(fx.now(), 30);
    attach_key(&fx, &admin, object_id, &certificate).await;
    assert_eq!(app_token(&fx, app_id, &certificate).await.0, StatusCode::OK);

    let plain = setup_token(&fx, "user").await;
    let (status, _) = fx
        .graph(
            Method::DELETE,
            &format!("/applications/{object_id}"),
            &plain,
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a plain user cannot delete it"
    );

    let (status, body) = fx
        .graph(
            Method::DELETE,
            &format!("/applications/{object_id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = fx
        .graph(
            Method::GET,
            &format!("/applications/{object_id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
    let (_, sps) = fx
        .graph(
            Method::GET,
            &format!("/servicePrincipals?$filter=appId eq '{app_id}'"),
            &admin,
            None,
        )
        .await;
    assert_eq!(sps["value"], json!([]));
    let (status, body) = app_token(&fx, app_id, &certificate).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body).0, 700016);
}

#[tokio::test]
async fn revoking_consent_removes_the_role_and_registrations_survive_a_restart() {
    let fx = Fixture::start().await;
    let admin = setup_token(&fx, "admin").await;
    let app = create_application(&fx, &admin).await;
    let (object_id, app_id) = (
        app["id"].as_str().unwrap().to_owned(),
        app["appId"].as_str().unwrap().to_owned(),
    );
    let sp = create_service_principal(&fx, &admin, &app_id).await;
    let graph = graph_service_principal(&fx, &admin).await;
    let (graph_id, sp_id) = (graph["id"].as_str().unwrap(), sp["id"].as_str().unwrap());
    let (_, mail) = grant(&fx, &admin, graph_id, sp_id, MAIL_READ).await;
    grant(&fx, &admin, graph_id, sp_id, OWNED_BY).await;
    let (status, body) = fx
        .graph(
            Method::DELETE,
            &format!(
                "/servicePrincipals/{graph_id}/appRoleAssignedTo/{}",
                mail["id"].as_str().unwrap()
            ),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let certificate = TestCertificate::valid_for_days(fx.now(), 30);
    attach_key(&fx, &admin, &object_id, &certificate).await;

    let fx = fx.restart().await;
    let (status, body) = app_token(&fx, &app_id, &certificate).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["roles"],
        json!(["Application.ReadWrite.OwnedBy"])
    );
    let admin = setup_token(&fx, "admin").await;
    let (_, found) = fx
        .graph(
            Method::GET,
            &format!("/applications?$filter=tags/any(t:t eq '{MARKER}')"),
            &admin,
            None,
        )
        .await;
    assert_eq!(found["value"][0]["id"], object_id.as_str());
}

#[tokio::test]
async fn the_control_api_creates_users_with_roles_and_new_tenants() {
    let fx = Fixture::start().await;
    let (status, body) = fx
        .control("/users", json!({"alias": "x", "roles": ["Chief Wizard"]}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "unknown_role");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Privileged Role Administrator")
    );
    role_user(&fx, "roleadmin", "Privileged Role Administrator").await;
    let (status, body) = fx
        .control("/users", json!({"alias": "roleadmin", "roles": []}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, created) = fx
        .control(
            "/tenants",
            json!({"domain": "fabrikam.onmicrosoft.com", "users": [
                {"alias": "admin", "roles": ["Global Administrator"], "password": "Fabrikam-1"},
                {"alias": "user"},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["users"][0]["username"],
        "admin@fabrikam.onmicrosoft.com"
    );
    assert_eq!(
        created["users"][0]["password"],
        Value::Null,
        "a given password is not echoed"
    );
    assert!(created["users"][1]["password"].is_string());
    let tenant = created["tenant"].as_str().unwrap();

    // The sign-in application works in the new tenant, and its administrator registers there.
    let url = fx.url(&format!("/{tenant}/oauth2/v2.0/devicecode"));
    let (status, flow) = fx
        .post_form(
            &url,
            &[
                ("client_id", &fx.info().public_client_id),
                ("scope", SETUP_SCOPES),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{flow}");
    let (status, body) = fx
        .control(
            "/device/approve",
            json!({"user_code": flow["user_code"], "username": "admin@fabrikam.onmicrosoft.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, tokens) = fx
        .post_form(
            &fx.url(&format!("/{tenant}/oauth2/v2.0/token")),
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", &fx.info().public_client_id),
                ("device_code", flow["device_code"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(claims(token)["tid"], tenant);
    let app = create_application(&fx, token).await;
    assert_eq!(app["publisherDomain"], "fabrikam.onmicrosoft.com");
    let (status, body) = fx
        .control("/tenants", json!({"domain": "fabrikam.onmicrosoft.com"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn the_application_limit_refuses_one_more_and_creates_nothing() {
    let fx = Fixture::start().await;
    // The default tenant holds the backup application and the sign-in client.
    let (status, body) = fx
        .control("/settings", json!({"max_applications_per_tenant": 3}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let admin = setup_token(&fx, "admin").await;
    create_application(&fx, &admin).await;
    let (status, body) = fx
        .graph(
            Method::POST,
            "/applications",
            &admin,
            Some(new_application_body()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "Directory_QuotaExceeded");
    let (_, found) = fx
        .graph(
            Method::GET,
            &format!("/applications?$filter=tags/any(t:t eq '{MARKER}')"),
            &admin,
            None,
        )
        .await;
    assert_eq!(found["value"].as_array().unwrap().len(), 1);
}
