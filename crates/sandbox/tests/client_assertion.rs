//! Client credentials with a certificate assertion: the accepted wire variations and every
//! rejection, with Entra's codes, statuses and texts.

mod common;

use common::{AssertionStyle, DateStyle, Fixture, TestCertificate, aadsts};
use reqwest::StatusCode;
use serde_json::json;
use tenantlink_jose::Algorithm;
use time::Duration;

async fn fixture_with_certificate() -> (Fixture, TestCertificate) {
    let fx = Fixture::start().await;
    let certificate = TestCertificate::valid_for_days(fx.now(), 30);
    fx.attach(&[&certificate]).await;
    (fx, certificate)
}

fn assertion_with(fx: &Fixture, certificate: &TestCertificate, style: AssertionStyle) -> String {
    certificate.assertion(
        &fx.info().backup_app.app_id,
        &fx.token_url(),
        fx.now(),
        style,
    )
}

#[tokio::test]
async fn accepts_what_real_clients_send() {
    let (fx, certificate) = fixture_with_certificate().await;
    let styles = [
        AssertionStyle::default(),
        // MSAL Python PFX: PS256, padded x5t#S256, fractional dates, no nbf, x5c array.
        AssertionStyle {
            alg: Algorithm::PS256,
            sha256: true,
            padded_thumbprint: true,
            dates: DateStyle::Fractional,
            with_nbf: false,
            x5c: Some(json!([certificate.graph_key()])),
            ..AssertionStyle::default()
        },
        // MSAL.NET: string dates, x5c as one string.
        AssertionStyle {
            dates: DateStyle::String,
            x5c: Some(json!(certificate.graph_key())),
            ..AssertionStyle::default()
        },
        // azure-identity async: 30-minute lifetime.
        AssertionStyle {
            alg: Algorithm::PS256,
            sha256: true,
            lifetime: Duration::minutes(30),
            ..AssertionStyle::default()
        },
    ];
    for style in styles {
        let (status, body) = fx
            .client_credentials(&assertion_with(&fx, &certificate, style.clone()))
            .await;
        assert_eq!(status, StatusCode::OK, "{style:?}: {body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3599);
        assert_eq!(body["ext_expires_in"], 3599);
        assert!(body.get("refresh_token").is_none());
    }
    // A replayed assertion (same jti) is accepted, as MSAL reuses one for minutes.
    let reused = fx.assertion(&certificate);
    for _ in 0..2 {
        assert_eq!(fx.client_credentials(&reused).await.0, StatusCode::OK);
    }
    let (_, body) = fx.client_credentials(&reused).await;
    let payload = body["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&tenantlink_jose::b64url_decode_lenient(payload).unwrap()).unwrap();
    assert_eq!(claims["appid"], fx.info().backup_app.app_id);
    assert_eq!(claims["tid"], fx.info().tenant_id);
    assert_eq!(
        claims["roles"],
        json!([
            "Application.ReadWrite.OwnedBy",
            "User.Read.All",
            "Mail.Read"
        ])
    );
}

#[tokio::test]
async fn key_errors_are_700027_with_entra_texts() {
    let (fx, certificate) = fixture_with_certificate().await;
    let stranger = TestCertificate::valid_for_days(fx.now(), 30);
    let (status, body) = fx.client_credentials(&fx.assertion(&stranger)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (code, text) = aadsts(&body);
    assert_eq!(code, 700027);
    assert!(text.starts_with(&format!(
        "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{}', Please visit",
        stranger.sha1_hex()
    )), "{text}");

    // Signed by another key but naming the registered certificate.
    let mut forged = assertion_with(&fx, &certificate, AssertionStyle::default());
    let other_signature = fx
        .assertion(&stranger)
        .rsplit('.')
        .next()
        .unwrap()
        .to_owned();
    forged = format!("{}.{other_signature}", forged.rsplit_once('.').unwrap().0);
    let (status, body) = fx.client_credentials(&forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (code, text) = aadsts(&body);
    assert_eq!(code, 700027);
    assert!(
        text.contains(
            "[Reason - The provided signature value did not match the expected signature value."
        ),
        "{text}"
    );

    fx.advance_clock(31 * 24 * 3600).await;
    let (status, body) = fx.client_credentials(&fx.assertion(&certificate)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (code, text) = aadsts(&body);
    assert_eq!(code, 700027);
    let start = (fx.now() - Duration::days(32)).date();
    assert!(text.starts_with("AADSTS700027: The certificate with identifier used to sign the client assertion is expired on application. [Reason - The key used is expired., "), "{text}");
    assert!(
        text.contains(&format!(
            "Found key 'Start={:02}/{:02}/{}",
            start.month() as u8,
            start.day(),
            start.year()
        )),
        "{text}"
    );
}

#[tokio::test]
async fn weak_keys_are_refused_with_50032() {
    let fx = Fixture::start().await;
    // Neither rcgen nor aws-lc-rs make or use 1024-bit RSA keys; the openssl CLI does both.
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    let cert = dir.path().join("c.der");
    let openssl = |args: &[&std::ffi::OsStr]| {
        let output = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl CLI is installed");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    };
    let os = |s: &str| std::ffi::OsString::from(s);
    openssl(&[
        &os("req"),
        &os("-x509"),
        &os("-newkey"),
        &os("rsa:1024"),
        &os("-nodes"),
        &os("-subj"),
        &os("/CN=weak"),
        &os("-days"),
        &os("5"),
        &os("-outform"),
        &os("DER"),
        &os("-keyout"),
        key.as_os_str(),
        &os("-out"),
        cert.as_os_str(),
    ]);
    let der = std::fs::read(&cert).unwrap();
    use base64::Engine;
    let graph_key = base64::engine::general_purpose::STANDARD.encode(&der);
    let token = fx.delegated_token(&fx.admin()).await;
    let path = format!("/applications/{}", fx.info().backup_app.object_id);
    let (status, _) = fx
        .graph(reqwest::Method::PATCH, &path, &token, Some(json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": graph_key}]})))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
    let app_id = &fx.info().backup_app.app_id;
    let now = fx.now().unix_timestamp();
    let signing_input = format!(
        "{}.{}",
        tenantlink_jose::b64url(json!({"alg": "RS256", "typ": "JWT", "x5t": tenantlink_jose::b64url(sha1.as_ref())}).to_string().as_bytes()),
        tenantlink_jose::b64url(json!({"aud": fx.token_url(), "iss": app_id, "sub": app_id, "jti": "j", "exp": now + 600, "nbf": now}).to_string().as_bytes())
    );
    let input_file = dir.path().join("input");
    std::fs::write(&input_file, &signing_input).unwrap();
    let signature = openssl(&[
        &os("dgst"),
        &os("-sha256"),
        &os("-sign"),
        key.as_os_str(),
        input_file.as_os_str(),
    ]);
    let assertion = format!("{signing_input}.{}", tenantlink_jose::b64url(&signature));
    let (status, body) = fx.client_credentials(&assertion).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        aadsts(&body),
        (
            50032,
            "AADSTS50032: RSA key size 1024 is less than the minimum required 2048 bits."
                .to_owned()
        )
    );
}

#[tokio::test]
async fn header_and_claim_errors() {
    let (fx, certificate) = fixture_with_certificate().await;
    let app_id = fx.info().backup_app.app_id.clone();

    let (status, body) = fx.client_credentials("not.a-jwt").await;
    assert_eq!((status, aadsts(&body).0), (StatusCode::BAD_REQUEST, 50027));

    // HS256 is named in the header: 5002738.
    let hs = format!(
        "{}.{}.c2ln",
        tenantlink_jose::b64url(br#"{"alg":"HS256","typ":"JWT"}"#),
        tenantlink_jose::b64url(json!({"iss": app_id, "sub": app_id}).to_string().as_bytes())
    );
    let (status, body) = fx.client_credentials(&hs).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (code, text) = aadsts(&body);
    assert_eq!(code, 5002738);
    assert!(
        text.starts_with(
            "AADSTS5002738: Invalid JWT token. 'HS256' is not a supported signature algorithm."
        ),
        "{text}"
    );

    // No thumbprint at all: 5002723.
    let bare = tenantlink_jose::sign(
        serde_json::Map::new(),
        &json!({"iss": app_id}),
        Algorithm::RS256,
        &certificate.key,
    )
    .unwrap();
    let (status, body) = fx.client_credentials(&bare).await;
    assert_eq!(
        (status, aadsts(&body).0),
        (StatusCode::UNAUTHORIZED, 5002723)
    );

    let cases = [
        (
            AssertionStyle {
                issuer: Some("someone-else".into()),
                subject: Some("someone-else".into()),
                ..AssertionStyle::default()
            },
            700021,
        ),
        (
            AssertionStyle {
                subject: Some("someone-else".into()),
                ..AssertionStyle::default()
            },
            50048,
        ),
        (
            AssertionStyle {
                audience: Some("https://login.microsoftonline.com/other/oauth2/v2.0/token".into()),
                ..AssertionStyle::default()
            },
            700212,
        ),
        (
            AssertionStyle {
                lifetime: Duration::minutes(-20),
                ..AssertionStyle::default()
            },
            700024,
        ),
    ];
    for (style, expected) in cases {
        let (status, body) = fx
            .client_credentials(&assertion_with(&fx, &certificate, style.clone()))
            .await;
        assert_eq!(
            (status, aadsts(&body).0),
            (StatusCode::UNAUTHORIZED, expected),
            "{style:?}: {body}"
        );
    }
    let (_, body) = fx
        .client_credentials(&assertion_with(
            &fx,
            &certificate,
            AssertionStyle {
                lifetime: Duration::minutes(-20),
                with_nbf: false,
                ..AssertionStyle::default()
            },
        ))
        .await;
    let text = aadsts(&body).1;
    assert!(
        text.contains(
            "assertion valid from 1970-01-01T00:00:00.0000000Z, expiry time of assertion "
        ),
        "{text}"
    );
    assert!(text.ends_with("Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."), "{text}");
}

#[tokio::test]
async fn request_level_errors() {
    let (fx, certificate) = fixture_with_certificate().await;
    let app_id = fx.info().backup_app.app_id.clone();
    let assertion = fx.assertion(&certificate);
    let base = [
        ("grant_type", "client_credentials"),
        ("client_id", app_id.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    fn with<'a>(
        base: &[(&'a str, &'a str)],
        extra: &[(&'a str, &'a str)],
    ) -> Vec<(&'a str, &'a str)> {
        let mut form = base.to_vec();
        form.extend_from_slice(extra);
        form
    }
    let (status, body) = fx.post_form(&fx.token_url(), &with(&base, &[])).await;
    assert_eq!(
        (status, aadsts(&body).0),
        (StatusCode::UNAUTHORIZED, 7000218)
    );
    let (status, body) = fx
        .post_form(&fx.token_url(), &with(&base, &[("client_secret", "guess")]))
        .await;
    assert_eq!(
        (status, aadsts(&body).0),
        (StatusCode::UNAUTHORIZED, 7000215)
    );
    let (status, body) = fx
        .post_form(
            &fx.token_url(),
            &with(
                &base,
                &[
                    ("client_assertion_type", "urn:other"),
                    ("client_assertion", &assertion),
                ],
            ),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (status, body) = fx
        .post_form(
            &fx.url("/common/oauth2/v2.0/token"),
            &with(
                &base,
                &[
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &assertion),
                ],
            ),
        )
        .await;
    assert_eq!(
        (status, aadsts(&body).0),
        (StatusCode::BAD_REQUEST, 9001023)
    );
    for (scope, code) in [
        ("https://graph.microsoft.com/User.Read.All", 70011),
        ("https://vault.azure.net/.default", 500011),
    ] {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", app_id.as_str()),
            ("scope", scope),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.as_str()),
        ];
        let (status, body) = fx.post_form(&fx.token_url(), &form).await;
        assert_eq!(
            (status, aadsts(&body).0),
            (StatusCode::BAD_REQUEST, code),
            "{scope}"
        );
    }
    let stranger = uuid::Uuid::new_v4().to_string();
    let (status, body) = fx
        .post_form(
            &fx.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &stranger),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str(), aadsts(&body).0),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"), 700016)
    );
}

#[tokio::test]
async fn new_keys_stay_invisible_for_the_propagation_delay() {
    let fx = Fixture::start().await;
    let (status, _) = fx
        .control("/settings", json!({"key_propagation_delay_seconds": 120}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let certificate = TestCertificate::valid_for_days(fx.now(), 30);
    fx.attach(&[&certificate]).await;
    let (status, body) = fx.client_credentials(&fx.assertion(&certificate)).await;
    assert_eq!(
        (status, aadsts(&body).0),
        (StatusCode::UNAUTHORIZED, 700027)
    );
    assert!(aadsts(&body).1.contains("The key was not found."));
    fx.advance_clock(121).await;
    let (status, body) = fx.client_credentials(&fx.assertion(&certificate)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
