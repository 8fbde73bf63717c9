//! The listener's limits and the embedded sandbox's control API, against the real binary: a
//! client that never finishes its headers is dropped after the header timeout, connections
//! past the limit are closed while the others are served, the control API wants its secret,
//! and an absurd clock move is refused while the service keeps serving.

mod openssl_support;
mod sandbox_process;
#[allow(unused_imports)] // the support module re-exports more than this file uses
mod serve_support;

use serde_json::json;
use serve_support::{ADMIN_PASSWORD, Server, ServerOptions, log_in, sign_in_form};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Longest the tests wait for an event that must happen (a close, an answer).
const BOUND: Duration = Duration::from_secs(20);

fn start(env: &[(&str, &str)]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        &dir.path().join("data"),
        ServerOptions {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..ServerOptions::default()
        },
    );
    (dir, server)
}

fn address(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Reads until the peer closes; `None` if it is still open after [`BOUND`].
async fn read_until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(BOUND, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| received)
}

/// One keep-alive request on `stream`; true when `/healthz` answered.
async fn healthz(stream: &mut TcpStream) -> bool {
    let request = b"GET /healthz HTTP/1.1\r\nHost: tenantlink\r\n\r\n";
    if stream.write_all(request).await.is_err() {
        return false;
    }
    let mut received = Vec::new();
    let answered = tokio::time::timeout(BOUND, async {
        let mut buf = [0u8; 1024];
        while !received.ends_with(b"ok") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
        true
    })
    .await;
    answered == Ok(true) && received.starts_with(b"HTTP/1.1 200")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_never_finishes_its_headers_is_dropped_after_the_header_timeout() {
    let (_dir, server) = start(&[("TENANTLINK_HEADER_READ_TIMEOUT_SECONDS", "1")]);
    let mut slow = TcpStream::connect(address(&server)).await.unwrap();
    let started = Instant::now();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: tenant")
        .await
        .unwrap();
    let received = read_until_closed(&mut slow)
        .await
        .expect("the server closes a connection whose headers never finish");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed by the header timeout, not at once: {:?}",
        started.elapsed()
    );
    // hyper answers 408 to a request whose head timed out, or just closes.
    assert!(
        received.is_empty() || received.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&received)
    );

    // Another client that says nothing at all is dropped too, and a prompt one is served.
    let mut silent = TcpStream::connect(address(&server)).await.unwrap();
    assert!(read_until_closed(&mut silent).await.is_some());
    let mut prompt = TcpStream::connect(address(&server)).await.unwrap();
    assert!(healthz(&mut prompt).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_past_the_limit_are_closed_and_the_others_served() {
    let (_dir, server) = start(&[
        ("TENANTLINK_MAX_CONNECTIONS", "16"),
        ("TENANTLINK_HEADER_READ_TIMEOUT_SECONDS", "120"),
    ]);
    // 16 kept-alive connections, each answered once, so each holds its place.
    let mut held = Vec::new();
    for _ in 0..16 {
        let mut stream = TcpStream::connect(address(&server)).await.unwrap();
        assert!(healthz(&mut stream).await);
        held.push(stream);
    }
    let mut over = TcpStream::connect(address(&server)).await.unwrap();
    assert!(!healthz(&mut over).await, "the 17th is closed unanswered");
    assert_eq!(read_until_closed(&mut over).await, Some(Vec::new()));
    // The 16 are still served.
    assert!(healthz(&mut held[0]).await);

    // Closing one frees its place: a new connection is served again (each try waits for
    // its answer or its close; the place comes back once the server has seen the close).
    drop(held.pop());
    let deadline = Instant::now() + BOUND;
    loop {
        let mut again = TcpStream::connect(address(&server)).await.unwrap();
        if healthz(&mut again).await {
            break;
        }
        assert!(Instant::now() < deadline, "a freed place is never reused");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_embedded_sandbox_wants_its_secret_and_refuses_an_absurd_clock_move() {
    let (_dir, server) = start(&[]);
    let control_base = server.sandbox["control_base"].as_str().unwrap().to_owned();
    assert!(
        server.sandbox["control_secret"].as_str().unwrap().len() >= 32,
        "serve publishes a generated secret in sandbox.json"
    );
    let mode = {
        use std::os::unix::fs::PermissionsExt as _;
        let path = server.data_dir.join("sandbox").join("sandbox.json");
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode, 0o600);

    // Without the secret: refused, and the clock did not move.
    let anonymous = server
        .sandbox_client()
        .post(format!("{control_base}/clock"))
        .json(&json!({"advance_seconds": 86400}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), reqwest::StatusCode::UNAUTHORIZED);
    let (status, clock) = server
        .sandbox_control_status("/clock", json!({"advance_seconds": 0}))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(clock["offset_seconds"], 0.0);

    let (status, refused) = server
        .sandbox_control_status("/clock", json!({"advance_seconds": 1e12}))
        .await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"], "clock_out_of_range");

    // The service (which reads the same clock) keeps serving and signing in.
    let health = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(health.status(), reqwest::StatusCode::OK);
    let session = log_in(&server.base, "admin", ADMIN_PASSWORD).await.unwrap();
    let (status, _) = session.get("/api/v1/organizations").await;
    assert_eq!(status, reqwest::StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn secure_cookies_behind_a_proxy_get_the_host_prefix_and_hsts() {
    let (_dir, server) = start(&[("TENANTLINK_SECURE_COOKIES", "true")]);
    let client = serve_support::client();
    // The sign-in form's CSRF cookie follows the same rule as the session cookie.
    let form = sign_in_form::SignInForm::open(&client, &server.base).await;
    assert!(
        form.cookie.starts_with("__Host-tenantlink_login_csrf="),
        "{}",
        form.cookie
    );
    let response = form
        .post(
            &client,
            &server.base,
            &[("username", "admin"), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let set_cookie = sign_in_form::session_set_cookie(&response).expect("session cookie");
    assert!(
        set_cookie.starts_with("__Host-tenantlink_session="),
        "{set_cookie}"
    );
    let attributes: Vec<&str> = set_cookie.split(';').map(str::trim).collect();
    for needed in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(attributes.contains(&needed), "{needed}: {set_cookie}");
    }
    assert!(!set_cookie.contains("Domain"), "{set_cookie}");
    // The prefixed cookie is the one the portal reads.
    let session = log_in(&server.base, "admin", ADMIN_PASSWORD).await.unwrap();
    let (status, _) = session.get("/api/v1/me").await;
    assert_eq!(status, reqwest::StatusCode::OK);

    // Without the setting, plain HTTP gets neither.
    let (_plain_dir, plain) = start(&[]);
    let page = reqwest::get(format!("{}/login", plain.base)).await.unwrap();
    assert!(page.headers().get("strict-transport-security").is_none());
}
