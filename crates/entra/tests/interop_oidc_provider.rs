//! Interoperability with a third-party authorization server: panva's `oidc-provider` (a
//! certified OpenID Provider, from npm) configured with Entra's paths. The device flow and the
//! certificate client assertion in both profiles must work against it unchanged.
//!
//! Needs `node` and `npm ci` in tests/interop/oidc-provider (scripts/test does both).

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tenantlink_clock::{Sleep, Sleeper, SystemClock};
use tenantlink_entra::{
    AppTokenRequest, AssertionOptions, AssertionProfile, DeviceFlowClient, DeviceFlowError,
    Endpoints, Error, NoJitter, TenantId, TokenClient, Transport, TransportConfig,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

use support::TestCert;

const TENANT: &str = "contoso-interop";
const CLIENT_ID: &str = "aaaaaaaa-0000-0000-0000-000000000001";
const DEVICE_CLIENT_ID: &str = "aaaaaaaa-0000-0000-0000-000000000002";

struct OidcProvider {
    base: String,
    _child: Child,
    _cert_file: tempfile::NamedTempFile,
}

async fn start_oidc_provider(cert: &TestCert) -> OidcProvider {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/oidc-provider");
    assert!(
        dir.join("node_modules/oidc-provider").is_dir(),
        "oidc-provider is not installed: run `npm ci` in {} (scripts/test does it)",
        dir.display()
    );
    let cert_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(cert_file.path(), cert.pem()).unwrap();
    let mut child = Command::new("node")
        .arg("server.mjs")
        .current_dir(&dir)
        .env("TENANT", TENANT)
        .env("CLIENT_ID", CLIENT_ID)
        .env("DEVICE_CLIENT_ID", DEVICE_CLIENT_ID)
        .env("CERT_PEM_FILE", cert_file.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("cannot start `node`: install Node.js (scripts/test does it)");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(port) = line.strip_prefix("LISTENING ") {
                return port.trim().to_owned();
            }
        }
        panic!("oidc-provider exited before listening");
    })
    .await
    .expect("oidc-provider did not start within 60 s");
    // Keep draining its output: a closed pipe would kill the server at its next log line.
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("oidc-provider: {line}");
        }
    });
    OidcProvider {
        base: format!("http://127.0.0.1:{port}"),
        _child: child,
        _cert_file: cert_file,
    }
}

/// The first wait returns at once; the second announces that a poll came back pending and
/// waits for the test (standing in for the person at the verification page) to say go.
#[derive(Debug, Default)]
struct StepSleeper {
    calls: AtomicUsize,
    pending_seen: Notify,
    go: Notify,
}

impl Sleeper for StepSleeper {
    fn sleep(&self, _: Duration) -> Sleep<'_> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            if call == 1 {
                self.pending_seen.notify_one();
                self.go.notified().await;
            }
        })
    }
}

fn clients(base: &str, sleeper: Arc<dyn Sleeper>) -> (Transport, Endpoints) {
    let transport =
        Transport::with_timing(&TransportConfig::default(), sleeper, Arc::new(NoJitter)).unwrap();
    (transport, Endpoints::explicit(base, base).unwrap())
}

async fn device_flow_outcome(action: &str) -> Result<tenantlink_entra::DelegatedSignIn, Error> {
    let cert = TestCert::generate(
        "interop",
        time::OffsetDateTime::now_utc() - time::Duration::hours(1),
        time::Duration::days(30),
    );
    let server = start_oidc_provider(&cert).await;
    let sleeper = Arc::new(StepSleeper::default());
    let (transport, endpoints) = clients(&server.base, sleeper.clone());
    let device = DeviceFlowClient::new(transport, endpoints, Arc::new(SystemClock));
    let tenant = TenantId::parse(TENANT).unwrap();
    let code = device.start(&tenant, DEVICE_CLIENT_ID, &[]).await.unwrap();
    assert!(!code.user_code.is_empty());
    assert!(code.message.contains(&code.user_code));
    let user_code = code.user_code.clone();
    let base = server.base.clone();
    let act = action.to_owned();
    let sleeper_for_user = sleeper.clone();
    let user = tokio::spawn(async move {
        sleeper_for_user.pending_seen.notified().await;
        let status = reqwest::Client::new()
            .post(format!("{base}/test/{act}?user_code={user_code}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 204);
        sleeper_for_user.go.notify_one();
    });
    let outcome = device.wait(&code, std::future::pending()).await;
    user.await.unwrap();
    assert_eq!(
        sleeper.calls.load(Ordering::SeqCst),
        2,
        "one pending poll, then the outcome"
    );
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_flow_completes_against_oidc_provider() {
    let signed_in = device_flow_outcome("approve").await.unwrap();
    assert_eq!(
        signed_in.account.user_principal_name.as_deref(),
        Some("admin@contoso.onmicrosoft.com")
    );
    assert_eq!(
        signed_in.account.object_id.as_deref(),
        Some("0f0f0f0f-1111-2222-3333-444444444444")
    );
    assert_eq!(signed_in.account.tenant_id.as_deref(), Some(TENANT));
    assert!(!signed_in.access_token.expose().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_flow_decline_against_oidc_provider() {
    let err = device_flow_outcome("decline").await.unwrap_err();
    assert!(
        matches!(err, Error::DeviceFlow(DeviceFlowError::Declined(_))),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_assertions_in_both_profiles_authenticate_against_oidc_provider() {
    let now = time::OffsetDateTime::now_utc();
    let cert = TestCert::generate(
        "interop",
        now - time::Duration::hours(1),
        time::Duration::days(30),
    );
    let server = start_oidc_provider(&cert).await;
    let (transport, endpoints) = clients(&server.base, Arc::new(tenantlink_clock::TokioSleeper));
    let tokens = TokenClient::new(transport, endpoints, Arc::new(SystemClock));
    let tenant = TenantId::parse(TENANT).unwrap();
    for profile in [AssertionProfile::Rs256X5t, AssertionProfile::Ps256X5tS256] {
        for include_x5c in [false, true] {
            let request = AppTokenRequest {
                tenant: &tenant,
                client_id: CLIENT_ID,
                scope: "https://graph.microsoft.com/.default",
                assertion: AssertionOptions {
                    profile,
                    include_x5c,
                },
            };
            let token = tokens
                .fetch(request, &cert.signer())
                .await
                .unwrap_or_else(|e| panic!("{profile:?} x5c={include_x5c}: {e}"));
            assert!(!token.access_token.expose().is_empty());
            assert!(token.expires_at > now);
        }
    }
    // A certificate the provider does not know is refused with an OAuth error we parse.
    let stranger = TestCert::generate(
        "stranger",
        now - time::Duration::hours(1),
        time::Duration::days(30),
    );
    let request = AppTokenRequest {
        tenant: &tenant,
        client_id: CLIENT_ID,
        scope: "https://graph.microsoft.com/.default",
        assertion: AssertionOptions::default(),
    };
    let err = tokens.fetch(request, &stranger.signer()).await.unwrap_err();
    let Error::Entra(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.error, "invalid_client");
    assert_eq!(e.http_status, 401);
}
