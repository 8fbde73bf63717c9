//! The setup calls on the wire: what each sends (paths, bodies, the marker filter) and how
//! Graph's answers come back — a refusal as Graph's code and message, a missing service
//! principal as `None`, the application limit recognised.

mod support;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};
use support::Harness;
use tenantlink_entra::{
    Endpoints, Error, GraphClient, GraphErrorKind, NewApplication, graph_codes,
};

#[derive(Default)]
struct Mini {
    /// (method, path?query, body)
    seen: Mutex<Vec<(String, String, Value)>>,
    /// Answers in order; a `None` status drops the connection after recording.
    answers: Mutex<Vec<(u16, Value)>>,
}

async fn handle(State(mini): State<Arc<Mini>>, request: Request) -> Response {
    let method = request.method().to_string();
    let uri = request.uri().to_string();
    let bytes: Bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    mini.seen.lock().unwrap().push((method, uri, body));
    let (status, answer) = mini.answers.lock().unwrap().remove(0);
    (StatusCode::from_u16(status).unwrap(), axum::Json(answer)).into_response()
}

async fn graph_with(answers: Vec<(u16, Value)>) -> (GraphClient, Arc<Mini>) {
    let harness = Harness::start().await;
    let mini = Arc::new(Mini {
        answers: Mutex::new(answers),
        ..Mini::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().fallback(any(handle)).with_state(mini.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let endpoints = Endpoints::explicit(&base, &base).unwrap();
    let graph = GraphClient::new(harness.transport.clone(), endpoints, harness.clock.clone());
    (graph, mini)
}

fn denied() -> Value {
    json!({"error": {"code": "Authorization_RequestDenied",
        "message": "Insufficient privileges to complete the operation.",
        "innerError": {"date": "2026-12-03T06:00:00", "request-id": "r-1"}}})
}

#[tokio::test]
async fn creating_the_application_sends_the_marker_and_the_graph_app_roles() {
    let created = json!({"id": "obj-1", "appId": "app-1", "displayName": "tenantlink backup",
        "tags": ["tenantlink:m-1"]});
    let (graph, mini) = graph_with(vec![(201, created)]).await;
    let roles = vec!["role-a".to_owned(), "role-b".to_owned()];
    let app = graph
        .create_application(
            "tok",
            &NewApplication {
                display_name: "tenantlink backup",
                marker: "tenantlink:m-1",
                graph_app_roles: &roles,
            },
        )
        .await
        .unwrap();
    assert_eq!((app.id.as_str(), app.app_id.as_str()), ("obj-1", "app-1"));
    let seen = mini.seen.lock().unwrap();
    let (method, path, body) = &seen[0];
    assert_eq!(
        (method.as_str(), path.as_str()),
        ("POST", "/v1.0/applications")
    );
    assert_eq!(body["tags"], json!(["tenantlink:m-1"]));
    let access = &body["requiredResourceAccess"][0];
    assert_eq!(
        access["resourceAppId"],
        "00000003-0000-0000-c000-000000000000"
    );
    assert_eq!(
        access["resourceAccess"],
        json!([{"id": "role-a", "type": "Role"}, {"id": "role-b", "type": "Role"}])
    );
}

#[tokio::test]
async fn the_marker_filter_finds_the_application_or_nothing() {
    let found = json!({"value": [{"id": "obj-1", "appId": "app-1", "tags": ["m'1"]}]});
    let (graph, mini) = graph_with(vec![(200, found), (200, json!({"value": []}))]).await;
    let app = graph.application_by_marker("tok", "m'1").await.unwrap();
    assert_eq!(app.map(|a| a.app_id), Some("app-1".to_owned()));
    assert_eq!(
        graph.application_by_marker("tok", "other").await.unwrap(),
        None
    );
    let seen = mini.seen.lock().unwrap();
    let url = url::Url::parse(&format!("http://x{}", seen[0].1)).unwrap();
    let filter = url
        .query_pairs()
        .find(|(name, _)| name == "$filter")
        .map(|(_, value)| value.into_owned());
    // OData doubles a quote inside a literal.
    assert_eq!(filter.as_deref(), Some("tags/any(t:t eq 'm''1')"));
}

#[tokio::test]
async fn a_missing_service_principal_is_none_and_a_refusal_is_graphs_error() {
    let missing = json!({"error": {"code": "Request_ResourceNotFound",
        "message": "Resource 'app-1' does not exist or one of its queried reference-property objects are not present."}});
    let (graph, _) = graph_with(vec![(404, missing), (403, denied())]).await;
    assert_eq!(
        graph
            .service_principal_by_app_id("tok", "app-1")
            .await
            .unwrap(),
        None
    );
    let err = graph
        .create_service_principal("tok", "app-1")
        .await
        .unwrap_err();
    let Error::Graph(graph_error) = err else {
        panic!("expected Graph's refusal, got {err:?}");
    };
    assert_eq!(graph_error.kind, GraphErrorKind::AuthorizationDenied);
    assert_eq!(graph_error.code, graph_codes::AUTHORIZATION_REQUEST_DENIED);
    assert_eq!(
        graph_error.message,
        "Insufficient privileges to complete the operation."
    );
}

#[tokio::test]
async fn grant_and_owner_send_graphs_bodies() {
    let assignment = json!({"id": "as-1", "appRoleId": "role-a", "principalId": "sp-1",
        "resourceId": "graph-sp"});
    let (graph, mini) = graph_with(vec![
        (201, assignment),
        (204, Value::Null),
        (200, json!({"value": [{"id": "sp-1"}]})),
    ])
    .await;
    let granted = graph
        .grant_app_role("tok", "graph-sp", "sp-1", "role-a")
        .await
        .unwrap();
    assert_eq!(granted.app_role_id, "role-a");
    graph.add_owner("tok", "obj-1", "sp-1").await.unwrap();
    assert_eq!(graph.owners("tok", "obj-1").await.unwrap(), vec!["sp-1"]);
    let seen = mini.seen.lock().unwrap();
    assert_eq!(
        seen[0].1,
        "/v1.0/servicePrincipals/graph-sp/appRoleAssignedTo"
    );
    assert_eq!(
        seen[0].2,
        json!({"principalId": "sp-1", "resourceId": "graph-sp", "appRoleId": "role-a"})
    );
    assert_eq!(seen[1].1, "/v1.0/applications/obj-1/owners/$ref");
    let reference = seen[1].2["@odata.id"].as_str().unwrap();
    assert!(
        reference.ends_with("/v1.0/directoryObjects/sp-1"),
        "{reference}"
    );
}

#[tokio::test]
async fn the_application_limit_is_recognised() {
    let limit = json!({"error": {"code": "Directory_QuotaExceeded",
        "message": "The directory object quota limit for the Principal has been exceeded."}});
    let (graph, _) = graph_with(vec![(400, limit)]).await;
    let err = graph
        .create_application(
            "tok",
            &NewApplication {
                display_name: "x",
                marker: "m",
                graph_app_roles: &[],
            },
        )
        .await
        .unwrap_err();
    let Error::Graph(graph_error) = err else {
        panic!("expected Graph's refusal, got {err:?}");
    };
    assert!(graph_error.is_object_limit());
}
